//! `sigctl audit`: the evidence pack an auditor asks for, from the
//! repository alone. Each signing event (from `refs/notes/signing`, each
//! record authenticated by the signature on the notes commit that added it),
//! each identity with its owner, the commit that introduced it and who
//! approved that commit, its certificate lifecycle and last use, every
//! `signing.toml` change and its signer, exceptions and revocations, and the
//! findings, each with the control it evidences.
//!
//! Computes; never prints (the CLI renders human, JSON or Markdown).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use time::OffsetDateTime;

use super::{NOTES_REF, Record};
use crate::error::Result;
use crate::policy::raw::RawPolicy;
use crate::policy::rules::expiry::DEFAULT_RENEW_BEFORE;
use crate::policy::timestamp::Timestamp;
use crate::policy::{self};
use crate::repo::{ObjectId, Repo};
use crate::signature::{cms, x509};
use crate::verify::{self, Verdict, VerifyOptions};

/// Controls the evidence maps to.
pub mod control {
    /// NIST CSF 2.0: identities and credentials are managed.
    pub const CSF_PR_AA_01: &str = "NIST CSF 2.0 PR.AA-01";
    /// NIST CSF 2.0: identities are proofed and bound to credentials.
    pub const CSF_PR_AA_02: &str = "NIST CSF 2.0 PR.AA-02";
    /// NIST CSF 2.0: access permissions are defined in a policy, managed, enforced and reviewed.
    pub const CSF_PR_AA_05: &str = "NIST CSF 2.0 PR.AA-05";
    /// OWASP NHI Top 10 (2025): improper offboarding.
    pub const NHI_OFFBOARDING: &str = "OWASP NHI1:2025 Improper Offboarding";
    /// OWASP NHI Top 10 (2025): secret leakage.
    pub const NHI_SECRET_LEAKAGE: &str = "OWASP NHI2:2025 Secret Leakage";
    /// OWASP NHI Top 10 (2025): overprivileged NHI.
    pub const NHI_OVERPRIVILEGED: &str = "OWASP NHI5:2025 Overprivileged NHI";
    /// OWASP NHI Top 10 (2025): long-lived secrets.
    pub const NHI_LONG_LIVED: &str = "OWASP NHI7:2025 Long-Lived Secrets";
}

/// What to audit.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub trust_root: Option<String>,
    pub cache_key: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub generated_at: String,
    pub head: String,
    pub policy_blob: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub signing_events: Vec<SigningEvent>,
    pub identities: Vec<IdentityEvidence>,
    pub policy_changes: Vec<PolicyChange>,
    pub exceptions: Vec<ExceptionEvidence>,
    pub revocations: Vec<RevocationEvidence>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SigningEvent {
    /// The object the record is attached to (tag, commit, artefact blob).
    pub attached_to: String,
    pub record: Record,
    /// Whether a notes commit signed with the record's certificate, which a
    /// policy of this history declares for the record's identity, added it.
    pub authenticated: bool,
    pub authentication: String,
    pub controls: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommitRef {
    pub commit: String,
    /// Who signed it, when an identity of the policy in force did.
    pub signed_by: Option<String>,
    pub verdict: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateLifecycle {
    pub path: String,
    pub subject: String,
    pub serial: String,
    pub fingerprint_sha256: String,
    pub not_before: String,
    pub not_after: String,
    /// Start of the renewal window.
    pub renew_from: String,
    /// `valid`, `renewal-due` or `expired` at the audit time.
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityEvidence {
    pub name: String,
    pub owner: String,
    pub owner_contact: Option<String>,
    pub purpose: Option<String>,
    pub custody: String,
    pub environments: Vec<String>,
    pub key: Option<String>,
    /// The certificate that expires last (the current one).
    pub certificate: Option<CertificateLifecycle>,
    /// Every certificate the identity lists (a renewal's successor next to
    /// the current one), each in its own window.
    pub certificates: Vec<CertificateLifecycle>,
    /// The commit whose signing.toml first listed the identity (as it is now listed), and its signer: the approval.
    pub introduced: Option<CommitRef>,
    /// The latest signing event recorded for it.
    pub last_used: Option<String>,
    pub events: usize,
    pub revoked: bool,
    pub controls: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyChange {
    pub commit: CommitRef,
    pub at: String,
    pub policy_blob: Option<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub controls: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExceptionEvidence {
    pub id: String,
    pub identity: String,
    pub environments: Vec<String>,
    pub owner: String,
    pub approved_by: Vec<String>,
    pub reason: String,
    pub expires: String,
    pub expired: bool,
    pub review: Option<String>,
    pub commits: Vec<String>,
    pub controls: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevocationEvidence {
    pub identity: String,
    pub reason: String,
    pub revoked_at: String,
    pub compromised_since: Option<String>,
    /// Recorded signing events at or after the time the revocation takes effect.
    pub events_after: usize,
    pub controls: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `error` or `warning`.
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    pub control: &'static str,
}

impl Audit {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == "error")
            .count()
    }
}

/// The identity each certificate fingerprint was declared for, by some
/// version of signing.toml in the history (`(identity, fingerprint)` pairs).
/// What the policy's history declares: `(identity, certificate
/// fingerprint)` for token identities, `(identity, "keyless:ISSUER|SUBJECT")`
/// for keyless ones, and the Sigstore trusted roots keyless certificates
/// must chain to.
#[derive(Default)]
struct Declared {
    pairs: HashSet<(String, String)>,
    roots: Vec<crate::signature::fulcio::TrustedRoot>,
}

impl Declared {
    fn new() -> Self {
        Self::default()
    }
    fn contains(&self, pair: &(String, String)) -> bool {
        self.pairs.contains(pair)
    }
}

/// The key `Declared` holds a keyless identity under.
fn keyless_key(issuer: &str, subject: &str) -> String {
    format!("keyless:{issuer}|{subject}")
}

/// The keyless identity a notes commit's CMS signature proves: a Fulcio
/// certificate chained to one of `roots` at the time its embedded Rekor
/// entry (checked against that root's logs) vouches for.
fn keyless_signer(
    v: &crate::signature::cms::Verified,
    roots: &[crate::signature::fulcio::TrustedRoot],
) -> Option<String> {
    use crate::signature::{fulcio, rekor};
    let id = fulcio::identity(&v.certificate).ok()?;
    let issuer = id.issuer?;
    let (entry, body) = v.rekor.as_ref()?;
    roots.iter().find_map(|root| {
        let at = rekor::verify(entry, body, &root.tlogs).ok()??;
        fulcio::verify_chain(&v.certificate, &v.chain, root, at).ok()?;
        Some(keyless_key(&issuer, &id.subject))
    })
}

/// Every `(identity, certificate fingerprint)` any version of the policy in
/// `commits` declared, including a certificate renewed in place (a new
/// certs/… blob under the same signing.toml).
/// `policy_blob` gives each commit's signing.toml blob (the caller may
/// already know it).
fn declared_certificates(
    repo: &Repo,
    commits: &[crate::repo::walk::CommitInfo],
    policy_blob: &dyn Fn(&crate::repo::walk::CommitInfo) -> Result<Option<ObjectId>>,
    memo: &mut HashMap<ObjectId, Option<RawPolicy>>,
) -> Result<Declared> {
    let mut declared = Declared::new();
    let mut seen_certs: HashSet<(String, ObjectId)> = HashSet::new();
    let mut seen_roots: HashSet<ObjectId> = HashSet::new();
    for c in commits {
        let Some(own) = policy_blob(c)? else {
            continue;
        };
        if let Some(p) = raw_policy(repo, &own, memo) {
            if let Some(sig) = &p.sigstore
                && let Some(blob) = repo.blob_in_tree(&c.tree, sig.trusted_root.get())?
                && seen_roots.insert(blob)
                && let Ok(root) =
                    crate::signature::fulcio::TrustedRoot::from_json(&repo.blob_by_id(&blob)?)
            {
                declared.roots.push(root);
            }
            for (name, id) in &p.identities {
                if let Some(k) = &id.keyless {
                    declared.pairs.insert((
                        name.get().clone(),
                        keyless_key(k.get().issuer.get(), k.get().subject.get()),
                    ));
                }
                for path in id.certificates() {
                    if let Some(cert) = repo.blob_in_tree(&c.tree, path.get())?
                        && seen_certs.insert((name.get().clone(), cert))
                        && let Ok(facts) = x509::parse(&repo.blob_by_id(&cert)?)
                    {
                        declared
                            .pairs
                            .insert((name.get().clone(), facts.fingerprint_sha256));
                    }
                }
            }
        }
    }
    Ok(declared)
}

/// Whether a record is genuine: added by a notes commit whose signature
/// verifies with the certificate the record names, which some version of
/// the policy declared for the record's identity. The one rule `audit` and
/// `provenance show` apply.
pub struct Authenticator {
    /// (annotated object, line) ─▶ fingerprint of the notes commit's signer
    authentic: HashMap<(ObjectId, Vec<u8>), String>,
    /// lines added by a notes commit with no valid signature
    unsigned: HashSet<(ObjectId, Vec<u8>)>,
    /// certificate fingerprint ─▶ the keyless identity it proved
    keyless: HashMap<String, String>,
    declared: Declared,
}

impl Authenticator {
    fn new(repo: &Repo, declared: Declared, only: Option<&ObjectId>) -> Result<Self> {
        let mut authentic = HashMap::new();
        let mut unsigned = HashSet::new();
        let mut keyless = HashMap::new();
        for nc in repo.notes_history_of(NOTES_REF, only)? {
            let signer = nc.signature.as_ref().and_then(|(sig, payload)| {
                let v = cms::verify_detached(sig, payload).ok()?;
                let fp = x509::parse(&v.certificate).ok()?.fingerprint_sha256;
                if let Some(k) = keyless_signer(&v, &declared.roots) {
                    keyless.insert(fp.clone(), k);
                }
                Some(fp)
            });
            for (target, line) in nc.added {
                match &signer {
                    Some(fp) => {
                        authentic.insert((target, line), fp.clone());
                    }
                    None => {
                        unsigned.insert((target, line));
                    }
                }
            }
        }
        Ok(Self {
            authentic,
            unsigned,
            keyless,
            declared,
        })
    }

    /// For `provenance show` of the note of `target`: that note's history
    /// alone, and the certificates HEAD's history declared (none on an
    /// unborn branch: nothing is authenticated then).
    pub fn for_note(repo: &Repo, target: &ObjectId) -> Result<Self> {
        let declared = match repo.resolve_commit_id("HEAD") {
            Ok(head) => {
                let commits = repo.commits_parents_first(&[head], &[], &|_| None)?;
                let blob = |c: &crate::repo::walk::CommitInfo| {
                    repo.blob_in_tree(&c.tree, policy::FILE_NAME)
                };
                declared_certificates(repo, &commits, &blob, &mut HashMap::new())?
            }
            Err(_) => Declared::new(),
        };
        Self::new(repo, declared, Some(target))
    }

    /// For every record of the notes ref: the certificates the history of
    /// `head` declared (`inventory` reads many repositories this way,
    /// without `audit`'s verification of that history).
    pub fn for_history(repo: &Repo, head: ObjectId) -> Result<Self> {
        let commits = repo.commits_parents_first(&[head], &[], &|_| None)?;
        let blob =
            |c: &crate::repo::walk::CommitInfo| repo.blob_in_tree(&c.tree, policy::FILE_NAME);
        let declared = declared_certificates(repo, &commits, &blob, &mut HashMap::new())?;
        Self::new(repo, declared, None)
    }

    /// `(authenticated, why)` of one note line on `target`.
    pub fn judge(&self, target: ObjectId, line: &[u8], record: &Record) -> (bool, String) {
        let key = (target, line.to_vec());
        let cert_fp = record
            .certificate
            .as_ref()
            .map(|c| c.fingerprint_sha256.clone());
        match self.authentic.get(&key) {
            Some(fp) if Some(fp) != cert_fp.as_ref() => (
                false,
                "the notes commit that added it is signed with another certificate than the record names".to_owned(),
            ),
            Some(fp)
                if !self.declared.contains(&(record.identity.clone(), fp.clone()))
                    && !self.keyless.get(fp).is_some_and(|k| {
                        self.declared
                            .contains(&(record.identity.clone(), k.clone()))
                    }) =>
            {
                (
                    false,
                    format!(
                        "signed with a certificate no version of signing.toml declares for `{}` (nor a keyless certificate of its identity, chained to its trusted root and logged)",
                        record.identity
                    ),
                )
            }
            Some(_) => (
                true,
                format!("added by a notes commit signed by `{}`", record.identity),
            ),
            None if self.unsigned.contains(&key) => (
                false,
                "the notes commit that added it carries no valid signature".to_owned(),
            ),
            None => (
                false,
                "no signed notes commit added it (a merge or a rewrite brought it in)".to_owned(),
            ),
        }
    }
}

/// One line of a note, judged: the record it holds (`None`: the line is
/// not a provenance record) and whether it is authenticated, and why.
pub struct JudgedRecord {
    pub target: ObjectId,
    pub record: Option<Record>,
    pub authenticated: bool,
    pub why: String,
}

/// Every line of every note under `refs/notes/signing`, judged by `auth`
/// (in the order of the annotated objects, then of the lines).
pub fn judged_records(repo: &Repo, auth: &Authenticator) -> Result<Vec<JudgedRecord>> {
    let mut out = Vec::new();
    for (target, note) in repo.all_notes(NOTES_REF)? {
        for line in note.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            out.push(match Record::parse(line) {
                None => JudgedRecord {
                    target,
                    record: None,
                    authenticated: false,
                    why: "not a provenance record".to_owned(),
                },
                Some(record) => {
                    let (authenticated, why) = auth.judge(target, line, &record);
                    JudgedRecord {
                        target,
                        record: Some(record),
                        authenticated,
                        why,
                    }
                }
            });
        }
    }
    Ok(out)
}

/// A certificate's lifecycle at `now`: its window, the start of its
/// renewal window (`renew_before`, default 30 days, ahead of notAfter) and
/// its status (`valid`, `renewal-due`, `expired`).
pub fn certificate_lifecycle(
    path: &str,
    f: &x509::CertFacts,
    renew_before: Option<crate::policy::duration::Duration>,
    now: OffsetDateTime,
) -> CertificateLifecycle {
    let window = renew_before.unwrap_or(DEFAULT_RENEW_BEFORE);
    let renew_from = f.not_after - window.as_time();
    let status = if now >= f.not_after {
        "expired"
    } else if now >= renew_from {
        "renewal-due"
    } else {
        "valid"
    };
    CertificateLifecycle {
        path: path.to_owned(),
        subject: f.subject.clone(),
        serial: f.serial.clone(),
        fingerprint_sha256: f.fingerprint_sha256.clone(),
        not_before: ts(f.not_before),
        not_after: ts(f.not_after),
        renew_from: ts(renew_from),
        status: status.into(),
    }
}

pub(crate) fn ts(t: OffsetDateTime) -> String {
    Timestamp(t).to_string()
}

fn raw_policy(
    repo: &Repo,
    blob: &ObjectId,
    memo: &mut HashMap<ObjectId, Option<RawPolicy>>,
) -> Option<RawPolicy> {
    memo.entry(*blob)
        .or_insert_with(|| {
            let bytes = repo.blob_by_id(blob).ok()?;
            policy::load::parse(policy::FILE_NAME, &bytes).result.ok()
        })
        .clone()
}

/// Build the evidence pack.
pub fn audit(
    repo: &Repo,
    opts: &AuditOptions,
    config_trust_root: Option<String>,
    now: OffsetDateTime,
) -> Result<Audit> {
    let head = repo.resolve_commit_id("HEAD")?;
    let head_info = repo.commit_info(&head)?;
    let head_blob = repo.blob_in_tree(&head_info.tree, policy::FILE_NAME)?;
    let mut memo = HashMap::new();
    let head_policy = head_blob
        .as_ref()
        .and_then(|b| raw_policy(repo, b, &mut memo));
    let in_period = |t: &OffsetDateTime| {
        opts.since.is_none_or(|s| *t >= s) && opts.until.is_none_or(|u| *t < u)
    };

    // the history as verify judges it: who signed each commit, and whether validly
    let report = verify::verify(
        repo,
        &VerifyOptions {
            specs: vec!["HEAD".into()],
            trust_root: opts.trust_root.clone(),
            cache_key: opts.cache_key.clone(),
            as_refs: Vec::new(),
            exclude: Vec::new(),
            policy: None,
        },
        config_trust_root,
        now,
        None,
    )?;
    let judged: HashMap<String, &verify::ObjectResult> = report
        .results
        .iter()
        .map(|r| (r.object.to_string(), r))
        .collect();
    let commit_ref = |id: &ObjectId| -> CommitRef {
        match judged.get(&id.to_string()) {
            Some(r) => CommitRef {
                commit: id.to_string(),
                signed_by: r.identity.as_ref().map(|i| i.to_string()),
                verdict: match r.verdict {
                    Verdict::Valid => "valid",
                    Verdict::Invalid => "invalid",
                    Verdict::Unsigned => "unsigned",
                }
                .into(),
                reason: r.reason.as_str().into(),
            },
            None => CommitRef {
                commit: id.to_string(),
                signed_by: None,
                verdict: "not-verified".into(),
                reason: "before the trust root".into(),
            },
        }
    };

    // every signing.toml change, the identities it added and removed, and
    // every certificate any version declared
    let commits = repo.commits_parents_first(&[head], &[], &|_| None)?;
    let mut blob_of: HashMap<ObjectId, Option<ObjectId>> = HashMap::new();
    let mut policy_changes = Vec::new();
    let mut introduced: HashMap<String, ObjectId> = HashMap::new();
    // the policy is signing.toml and every file it names: a change to any
    // of them is a policy change (the verify engine's own definition)
    let mut key_of: HashMap<ObjectId, Option<String>> = HashMap::new();
    for c in &commits {
        let own = repo.blob_in_tree(&c.tree, policy::FILE_NAME)?;
        blob_of.insert(c.id, own);
        let own_key = match own {
            None => None,
            Some(b) => {
                let mut key = b.to_string();
                if let Some(p) = raw_policy(repo, &b, &mut memo) {
                    for (what, path) in policy::view::trust_files(&p) {
                        key.push_str(&format!("\n{}:{path}=", what.as_str()));
                        if let Some(f) = repo.blob_in_tree(&c.tree, path)? {
                            key.push_str(&f.to_string());
                        }
                    }
                }
                Some(key)
            }
        };
        let parent_key = c
            .parents
            .first()
            .and_then(|p| key_of.get(p).cloned().flatten());
        key_of.insert(c.id, own_key.clone());
        let parent_blob = c
            .parents
            .first()
            .and_then(|p| blob_of.get(p).copied().flatten());
        if own_key == parent_key {
            continue;
        }
        let names =
            |b: Option<ObjectId>, memo: &mut HashMap<ObjectId, Option<RawPolicy>>| -> Vec<String> {
                b.and_then(|b| raw_policy(repo, &b, memo))
                    .map(|p| p.identities.keys().map(|k| k.get().clone()).collect())
                    .unwrap_or_default()
            };
        let before = names(parent_blob, &mut memo);
        let after = names(own, &mut memo);
        let added: Vec<String> = after
            .iter()
            .filter(|n| !before.contains(n))
            .cloned()
            .collect();
        let removed: Vec<String> = before
            .iter()
            .filter(|n| !after.contains(n))
            .cloned()
            .collect();
        for n in &added {
            introduced.insert(n.clone(), c.id);
        }
        let at = OffsetDateTime::from_unix_timestamp(c.committer_time)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        if in_period(&at) {
            policy_changes.push(PolicyChange {
                commit: commit_ref(&c.id),
                at: ts(at),
                policy_blob: own.map(|b| b.to_string()),
                added,
                removed,
                controls: vec![control::CSF_PR_AA_05],
            });
        }
    }

    // the records, each authenticated by the notes commit that added it
    let known = |c: &crate::repo::walk::CommitInfo| Ok(blob_of.get(&c.id).copied().flatten());
    let declared = declared_certificates(repo, &commits, &known, &mut memo)?;
    let authenticator = Authenticator::new(repo, declared, None)?;
    let mut signing_events = Vec::new();
    let mut findings = Vec::new();
    let mut last_used: HashMap<String, (String, usize)> = HashMap::new();
    for judged in judged_records(repo, &authenticator)? {
        let target = judged.target;
        let Some(record) = judged.record else {
            findings.push(Finding {
                severity: "error",
                code: "unparsable-record",
                message: format!("a note line on {target} is not a provenance record"),
                control: control::CSF_PR_AA_02,
            });
            continue;
        };
        let (authenticated, why) = (judged.authenticated, judged.why);
        let signed_at = Timestamp::parse(&record.signed_at).ok().map(|t| t.0);
        if !authenticated {
            findings.push(Finding {
                severity: "error",
                code: "unauthenticated-record",
                message: format!("record of `{}` on {target}: {why}", record.identity),
                control: control::CSF_PR_AA_02,
            });
        }
        if matches!(record.event, super::Event::Commit | super::Event::Tag)
            && !repo.has_object(&target)
        {
            findings.push(Finding {
                    severity: "warning",
                    code: "record-without-object",
                    message: format!(
                        "a {} record of `{}` names {target}, which this repository does not hold (a signing git did not complete, or an object not fetched)",
                        if record.event == super::Event::Tag { "tag" } else { "commit" },
                        record.identity
                    ),
                    control: control::CSF_PR_AA_02,
                });
        }
        if authenticated {
            let e = last_used
                .entry(record.identity.clone())
                .or_insert((String::new(), 0));
            e.1 += 1;
            if record.signed_at > e.0 {
                e.0 = record.signed_at.clone();
            }
        }
        if signed_at.is_some_and(|t| !in_period(&t)) {
            continue;
        }
        signing_events.push(SigningEvent {
            attached_to: target.to_string(),
            record,
            authenticated,
            authentication: why,
            controls: vec![control::CSF_PR_AA_02, control::NHI_SECRET_LEAKAGE],
        });
    }
    signing_events.sort_by(|a, b| {
        (&a.record.signed_at, &a.attached_to).cmp(&(&b.record.signed_at, &b.attached_to))
    });

    // identities, exceptions and revocations of the policy at HEAD
    let mut identities = Vec::new();
    let mut exceptions = Vec::new();
    let mut revocations = Vec::new();
    if let Some(p) = &head_policy {
        let revoked: HashSet<&str> = p
            .revocations
            .iter()
            .map(|r| r.identity.get().as_str())
            .collect();
        for (name, id) in &p.identities {
            let name = name.get().clone();
            let id = id.get();
            let owner = id.owner.get().clone();
            let owner_contact = p
                .owners
                .iter()
                .find(|(k, _)| k.get() == &owner)
                .map(|(_, o)| o.get().contact.get().clone());
            // every certificate the identity lists, each in its own window;
            // the one that expires last is the identity's current one, and
            // the only one whose renewal or expiry is a finding
            let mut certificates = Vec::new();
            for path in id.certificates() {
                let Some(b) = repo.blob_in_tree(&head_info.tree, path.get())? else {
                    continue;
                };
                let Ok(f) = x509::parse(&repo.blob_by_id(&b)?) else {
                    continue;
                };
                certificates.push((
                    f.not_after,
                    certificate_lifecycle(
                        path.get(),
                        &f,
                        id.renew_before.as_ref().map(|r| *r.get()),
                        now,
                    ),
                ));
            }
            let certificate = certificates
                .iter()
                .max_by_key(|(na, _)| *na)
                .map(|(_, c)| c.clone());
            if let Some(c) = &certificate {
                match c.status.as_str() {
                    "expired" => findings.push(Finding {
                        severity: "error",
                        code: "certificate-expired",
                        message: format!(
                            "the certificate of `{name}` expired on {}",
                            &c.not_after[..10.min(c.not_after.len())]
                        ),
                        control: control::NHI_LONG_LIVED,
                    }),
                    "renewal-due" => findings.push(Finding {
                        severity: "warning",
                        code: "certificate-renewal-due",
                        message: format!(
                            "the certificate of `{name}` is due for renewal since {} (expires {})",
                            &c.renew_from[..10.min(c.renew_from.len())],
                            &c.not_after[..10.min(c.not_after.len())]
                        ),
                        control: control::NHI_LONG_LIVED,
                    }),
                    _ => {}
                }
            }
            let certificates: Vec<CertificateLifecycle> =
                certificates.into_iter().map(|(_, c)| c).collect();
            let intro = introduced.get(&name).map(&commit_ref);
            if let Some(i) = &intro
                && i.verdict != "valid"
            {
                findings.push(Finding {
                    severity: "error",
                    code: "identity-not-approved",
                    message: format!(
                        "identity `{name}` came in with commit {}, which does not verify ({})",
                        &i.commit[..12],
                        i.reason
                    ),
                    control: control::CSF_PR_AA_05,
                });
            }
            let used = last_used.get(&name);
            identities.push(IdentityEvidence {
                certificates,
                name: name.clone(),
                owner,
                owner_contact,
                purpose: id.purpose.as_ref().map(|p| p.get().clone()),
                custody: id.custody.get().as_str().into(),
                environments: id.environments.iter().map(|e| e.get().clone()).collect(),
                // a PIN in the URI (check's `pin-in-uri`) is never shown
                key: id
                    .key
                    .as_ref()
                    .map(|k| crate::lifecycle::shadow_keys::redact(k.get())),
                certificate,
                introduced: intro,
                last_used: used.map(|u| u.0.clone()),
                events: used.map_or(0, |u| u.1),
                revoked: revoked.contains(name.as_str()),
                controls: vec![control::CSF_PR_AA_01, control::NHI_OVERPRIVILEGED],
            });
        }
        for x in &p.exceptions {
            let expired = now >= x.expires.get().0;
            if expired && x.review.is_none() {
                findings.push(Finding {
                    severity: "error",
                    code: "exception-expired-without-review",
                    message: format!("exception `{}` expired without a review", x.id.get()),
                    control: control::CSF_PR_AA_05,
                });
            }
            exceptions.push(ExceptionEvidence {
                id: x.id.get().clone(),
                identity: x.identity.get().clone(),
                environments: x.environments.iter().map(|e| e.get().clone()).collect(),
                owner: x.owner.get().clone(),
                approved_by: x.approved_by.iter().map(|a| a.get().clone()).collect(),
                reason: x.reason.get().clone(),
                expires: x.expires.get().to_string(),
                expired,
                review: x.review.as_ref().map(|r| r.get().clone()),
                commits: x.commits.iter().map(|c| c.get().clone()).collect(),
                controls: vec![control::CSF_PR_AA_05, control::NHI_OVERPRIVILEGED],
            });
        }
        for r in &p.revocations {
            let from = policy::view::revoked_from(r.get());
            let events_after = signing_events
                .iter()
                .filter(|e| e.record.identity == *r.identity.get())
                .filter(|e| Timestamp::parse(&e.record.signed_at).is_ok_and(|t| t.0 >= from))
                .count();
            if events_after > 0 {
                findings.push(Finding {
                    severity: "error",
                    code: "signed-after-revocation",
                    message: format!(
                        "`{}` signed {events_after} time(s) after its revocation took effect ({})",
                        r.identity.get(),
                        ts(from)
                    ),
                    control: control::NHI_OFFBOARDING,
                });
            }
            revocations.push(RevocationEvidence {
                identity: r.identity.get().clone(),
                reason: r.reason.get().as_str().into(),
                revoked_at: r.revoked_at.get().to_string(),
                compromised_since: r.compromised_since.as_ref().map(|c| c.get().to_string()),
                events_after,
                controls: vec![control::NHI_OFFBOARDING, control::CSF_PR_AA_01],
            });
        }
    }
    for change in &policy_changes {
        if change.commit.verdict != "valid" && change.commit.verdict != "not-verified" {
            findings.push(Finding {
                severity: "error",
                code: "policy-change-not-authorised",
                message: format!(
                    "signing.toml changed in {}, which does not verify ({})",
                    &change.commit.commit[..12],
                    change.commit.reason
                ),
                control: control::CSF_PR_AA_05,
            });
        }
    }
    Ok(Audit {
        generated_at: ts(now),
        head: head.to_string(),
        policy_blob: head_blob.map(|b| b.to_string()),
        since: opts.since.map(ts),
        until: opts.until.map(ts),
        signing_events,
        identities,
        policy_changes,
        exceptions,
        revocations,
        findings,
    })
}
