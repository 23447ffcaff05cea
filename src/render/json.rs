//! JSON output. Field names are a public contract, documented in
//! `docs/json.md`; change them only with a new format version.

use serde::Serialize;

use crate::diag::{Code, Diagnostic, Severity};

/// `sigctl check --format json`.
#[derive(Debug, Serialize)]
pub struct CheckJson<'a> {
    pub ok: bool,
    pub diagnostics: Vec<DiagnosticJson<'a>>,
}

/// One finding.
#[derive(Debug, Serialize)]
pub struct DiagnosticJson<'a> {
    pub severity: Severity,
    pub code: Code,
    pub message: &'a str,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
}

impl<'a> From<&'a Diagnostic> for DiagnosticJson<'a> {
    fn from(d: &'a Diagnostic) -> Self {
        Self {
            severity: d.severity,
            code: d.code,
            message: &d.message,
            file: &d.file,
            line: d.line,
            column: d.column,
        }
    }
}

/// Render a check report as pretty JSON with a trailing newline.
pub fn check(ok: bool, diags: &[Diagnostic]) -> String {
    let doc = CheckJson {
        ok,
        diagnostics: diags.iter().map(DiagnosticJson::from).collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|_| "{\"ok\": false, \"diagnostics\": []}".to_owned());
    s.push('\n');
    s
}

/// `sigctl verify --format json`, serialised straight from the report into
/// `out` (no intermediate JSON tree or string: long histories stay cheap).
pub fn write_verify(
    report: &crate::verify::VerifyReport,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use crate::verify::{Kind, ObjectResult, Verdict};

    #[derive(Serialize)]
    struct One<'a> {
        object: String,
        kind: Kind,
        verdict: Verdict,
        identity: Option<&'a str>,
        reason: &'a str,
        message: &'a str,
        signed_at: Option<String>,
        time_source: &'a str,
    }
    /// The results, serialised one by one as the writer takes them.
    struct Results<'a>(&'a [ObjectResult]);
    impl Serialize for Results<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(|r| {
                One {
                    object: r.object.to_string(),
                    kind: r.kind,
                    verdict: r.verdict,
                    identity: r.identity.as_deref(),
                    reason: r.reason.as_str(),
                    message: &r.message,
                    signed_at: r
                        .signed_at
                        .map(|t| crate::policy::timestamp::Timestamp(t).to_string()),
                    time_source: r.time_source,
                }
            }))
        }
    }
    #[derive(Serialize)]
    struct Summary {
        total: usize,
        valid: usize,
        invalid: usize,
        unsigned: usize,
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        ok: bool,
        trust_root: Option<&'a str>,
        trust_root_pinned: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        policy: Option<&'a str>,
        results: Results<'a>,
        summary: Summary,
        warnings: &'a [String],
    }
    let doc = Doc {
        ok: report.ok(),
        trust_root: report.trust_root.as_deref(),
        trust_root_pinned: report.trust_root_pinned,
        policy: report.policy.as_deref(),
        results: Results(&report.results),
        summary: Summary {
            total: report.results.len(),
            valid: report.count(Verdict::Valid),
            invalid: report.count(Verdict::Invalid),
            unsigned: report.count(Verdict::Unsigned),
        },
        warnings: &report.warnings,
    };
    let mut w = std::io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut w, &doc).map_err(std::io::Error::other)?;
    std::io::Write::write_all(&mut w, b"\n")?;
    std::io::Write::flush(&mut w)
}

/// `sigctl verify-artifact --format json`: the verdict on one bundle
/// (`verified: false` with `reason` and `message` when it is refused).
pub fn verify_artifact(
    name: &str,
    outcome: Result<
        &crate::sign::verify_artifact::VerifiedArtifact,
        &crate::sign::verify_artifact::BundleError,
    >,
) -> String {
    use crate::sign::verify_artifact::{Content, Signer};
    let ts = |t: time::OffsetDateTime| crate::policy::timestamp::Timestamp(t).to_string();
    let doc = match outcome {
        Ok(v) => {
            let signer = match &v.signer {
                Signer::Keyless { san, issuer } => serde_json::json!({
                    "kind": "keyless", "subject": san, "issuer": issuer,
                }),
                Signer::Certificate { subject } => serde_json::json!({
                    "kind": "certificate", "subject": subject,
                }),
                Signer::Key { sha256 } => serde_json::json!({
                    "kind": "key", "sha256": sha256,
                }),
            };
            let (content, in_toto_subject) = match &v.content {
                Content::MessageSignature => ("message-signature", None),
                Content::InToto { subject } => ("in-toto", Some(subject.as_str())),
            };
            serde_json::json!({
                "verified": true,
                "artifact": name,
                "sha256": v.sha256,
                "identity": v.identity,
                "custody": v.custody,
                "signer": signer,
                "content": content,
                "in_toto_subject": in_toto_subject,
                "time_source": v.time_source.as_str(),
                "signed_at": ts(v.signed_at),
                "times": v.times.iter().map(|(s, t)| serde_json::json!({
                    "source": s.as_str(), "time": ts(*t),
                })).collect::<Vec<_>>(),
                "tlog": v.tlog.as_ref().map(|t| serde_json::json!({
                    "log_index": t.log_index, "kind": t.kind,
                })),
                "checked": v.checked,
                "notes": v.notes,
            })
        }
        Err(e) => serde_json::json!({
            "verified": false,
            "artifact": name,
            "reason": e.code(),
            "message": e.to_string(),
        }),
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}
