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

/// `sigctl verify --format json`, serialised straight from the report
/// (no intermediate JSON tree: long histories stay cheap).
pub fn verify(report: &crate::verify::VerifyReport) -> String {
    use crate::verify::{Kind, Verdict};

    #[derive(Serialize)]
    struct Result<'a> {
        object: &'a str,
        kind: Kind,
        verdict: Verdict,
        identity: Option<&'a str>,
        reason: &'a str,
        message: &'a str,
        signed_at: Option<String>,
        time_source: &'a str,
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
        trust_root: &'a str,
        trust_root_pinned: bool,
        results: Vec<Result<'a>>,
        summary: Summary,
        warnings: &'a [String],
    }
    let doc = Doc {
        ok: report.ok(),
        trust_root: &report.trust_root,
        trust_root_pinned: report.trust_root_pinned,
        results: report
            .results
            .iter()
            .map(|r| Result {
                object: &r.object,
                kind: r.kind,
                verdict: r.verdict,
                identity: r.identity.as_deref(),
                reason: r.reason.as_str(),
                message: &r.message,
                signed_at: r
                    .signed_at
                    .map(|t| crate::policy::timestamp::Timestamp(t).to_string()),
                time_source: r.time_source,
            })
            .collect(),
        summary: Summary {
            total: report.results.len(),
            valid: report.count(Verdict::Valid),
            invalid: report.count(Verdict::Invalid),
            unsigned: report.count(Verdict::Unsigned),
        },
        warnings: &report.warnings,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
