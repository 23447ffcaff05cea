//! One repository's part of the inventory, read from HEAD through gix (a
//! work tree's uncommitted state is not the programme's; a bare mirror
//! reads the same): its policy, the certificates the policy names, its
//! identities with their lifecycle and use (authenticated provenance
//! records, as `audit` judges them), its exceptions, private keys in HEAD's
//! tree, and the findings about it. Whatever fails becomes the
//! repository's status and a finding; nothing here stops the inventory.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use time::OffsetDateTime;

use super::code;
use super::find::{Target, TargetKind};
use super::model::{Certificate, Exception, Finding, Identity, Repository, Supplier};
use crate::diag::{Code, Severity};
use crate::lifecycle::shadow_keys;
use crate::policy::raw::{RawIdentity, RawPolicy};
use crate::policy::{self, CertInput, Inputs, MAX_CERTIFICATE_BYTES, load};
use crate::provenance::NOTES_REF;
use crate::provenance::audit::{self, Authenticator};
use crate::repo::{ObjectId, Repo};
use crate::signature::x509;

/// Signing records this old or newer count as recent use.
pub const RECENT_DAYS: i64 = 90;

/// What one target adds to the inventory.
#[derive(Debug, Clone)]
pub struct Part {
    pub repository: Repository,
    pub identities: Vec<Identity>,
    pub exceptions: Vec<Exception>,
    pub suppliers: Vec<Supplier>,
    pub findings: Vec<Finding>,
}

impl Part {
    fn new(display: &str) -> Self {
        Self {
            repository: Repository {
                path: display.to_owned(),
                head: None,
                policy_blob: None,
                status: "ok".into(),
                identities: 0,
            },
            identities: Vec::new(),
            exceptions: Vec::new(),
            suppliers: Vec::new(),
            findings: Vec::new(),
        }
    }

    fn find(&mut self, f: code::Def, message: String, identities: Vec<String>) {
        self.findings.push(Finding {
            severity: f.severity.into(),
            code: f.code.into(),
            message,
            repositories: vec![self.repository.path.clone()],
            identities,
            control: f.control.into(),
        });
    }

    /// The repository could not be inventoried: `status`, and why.
    fn failed(mut self, status: &str, f: code::Def, message: String) -> Self {
        self.repository.status = status.into();
        self.find(f, message, Vec::new());
        self
    }
}

/// Read one target; a panic while reading (a corrupt object gix chokes on)
/// becomes an unreadable repository, not the end of the inventory.
pub fn read_target(t: &Target, now: OffsetDateTime) -> Part {
    let part = Part::new(&t.display);
    match &t.kind {
        TargetKind::NotARepository(why) => part.failed(
            "not-a-repository",
            code::NOT_A_REPOSITORY,
            format!("{}: {why}", t.display),
        ),
        TargetKind::Unreadable(why) => part.failed(
            "unreadable",
            code::UNREADABLE_DIRECTORY,
            format!("cannot read {}: {why}", t.display),
        ),
        TargetKind::Repository => {
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                read_repository(Part::new(&t.display), &t.path, now)
            }));
            read.unwrap_or_else(|_| {
                Part::new(&t.display).failed(
                    "unreadable",
                    code::UNREADABLE_REPOSITORY,
                    format!(
                        "reading {} failed unexpectedly (a damaged object?)",
                        t.display
                    ),
                )
            })
        }
    }
}

fn read_repository(mut part: Part, path: &Path, now: OffsetDateTime) -> Part {
    let shown = part.repository.path.clone();
    let repo = match Repo::open_exact(path) {
        Ok(r) => r,
        Err(e) => {
            return part.failed("unreadable", code::UNREADABLE_REPOSITORY, e.to_string());
        }
    };
    let Ok(head) = repo.resolve_commit_id("HEAD") else {
        return part.failed(
            "no-policy",
            code::NO_POLICY,
            format!("{shown}: HEAD names no commit (an empty repository), so no signing.toml"),
        );
    };
    part.repository.head = Some(head.to_string());
    let tree = match repo.commit_info(&head) {
        Ok(c) => c.tree,
        Err(e) => {
            let message = format!("{shown}: cannot read HEAD's commit: {e}");
            return part.failed("unreadable", code::UNREADABLE_REPOSITORY, message);
        }
    };
    let blob = match repo.blob_in_tree(&tree, policy::FILE_NAME) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return part.failed(
                "no-policy",
                code::NO_POLICY,
                format!("{shown}: no signing.toml at HEAD ({head})"),
            );
        }
        Err(e) => {
            let message = format!("{shown}: cannot read HEAD's tree: {e}");
            return part.failed("unreadable", code::UNREADABLE_REPOSITORY, message);
        }
    };
    part.repository.policy_blob = Some(blob.to_string());
    // one byte past the limit is enough for load's file-too-large message
    let bytes = match repo.blob_within(&blob, load::MAX_POLICY_BYTES as u64) {
        Ok(Some(b)) => b,
        Ok(None) => vec![b' '; load::MAX_POLICY_BYTES + 1],
        Err(e) => {
            let message = format!("{shown}: cannot read signing.toml: {e}");
            return part.failed("unreadable", code::UNREADABLE_REPOSITORY, message);
        }
    };
    let parsed = load::parse(policy::FILE_NAME, &bytes);
    let raw = match parsed.result {
        Ok(raw) => raw,
        Err(d) => {
            let message = format!(
                "{shown}: signing.toml at HEAD does not load (line {}, column {}): {}",
                d.line, d.column, d.message
            );
            return part.failed("broken-policy", code::BROKEN_POLICY, message);
        }
    };
    let mut inputs = Inputs::default();
    for p in policy::referenced_paths(&raw) {
        let input = trust_file(&repo, &tree, &p);
        inputs.certificates.insert(p, input);
    }
    policy_errors(&mut part, &raw, &parsed.source, &inputs, now);
    let leaked = shadow_keys_at(&mut part, &repo, &tree);
    let used = usage(&mut part, &repo, head, &raw, now);
    for (name, id) in &raw.identities {
        let identity = identity(
            &mut part,
            &raw,
            name.get(),
            id.get(),
            &inputs,
            &leaked,
            &used,
            now,
        );
        part.identities.push(identity);
    }
    part.repository.identities = part.identities.len();
    exceptions(&mut part, &raw, now);
    suppliers(&mut part, &raw, &repo);
    part
}

/// The suppliers the policy declares, with the evidence last verified for
/// each (`verify-artifact --supplier` notes it in this clone's
/// `.git/sigctl/supplier-evidence.jsonl`; local, informational).
fn suppliers(part: &mut Part, raw: &RawPolicy, repo: &Repo) {
    if raw.suppliers.is_empty() {
        return;
    }
    let log = crate::files::read(
        &repo
            .common_dir()
            .join("sigctl")
            .join("supplier-evidence.jsonl"),
        crate::files::INVENTORY,
    )
    .unwrap_or_default();
    let mut last: std::collections::BTreeMap<String, String> = Default::default();
    for line in log.split(|b| *b == b'\n') {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line)
            && let (Some(s), Some(at)) = (v["supplier"].as_str(), v["at"].as_str())
        {
            let e = last.entry(s.to_owned()).or_default();
            if at > e.as_str() {
                *e = at.to_owned();
            }
        }
    }
    for (name, s) in &raw.suppliers {
        let s = s.get();
        let mut accepts: Vec<String> = s
            .keyless
            .iter()
            .map(|k| format!("keyless {} {}", k.get().issuer.get(), k.get().subject.get()))
            .collect();
        accepts.extend(
            s.public_keys
                .iter()
                .map(|k| format!("public key {}", k.get())),
        );
        part.suppliers.push(Supplier {
            repository: part.repository.path.clone(),
            name: name.get().clone(),
            contact: Some(s.contact.get().clone()),
            accepts,
            evidence: s
                .evidence
                .iter()
                .map(|e| e.get().as_str().to_owned())
                .collect(),
            last_seen: last.get(name.get()).cloned(),
        });
    }
}

/// A file the policy names, from HEAD's tree.
fn trust_file(repo: &Repo, tree: &ObjectId, path: &str) -> CertInput {
    match repo.blob_in_tree(tree, path) {
        Ok(None) => CertInput::Missing,
        Err(e) => CertInput::Unreadable(e.to_string()),
        Ok(Some(b)) => match repo.blob_within(&b, MAX_CERTIFICATE_BYTES) {
            Ok(Some(bytes)) => CertInput::Bytes(bytes),
            Ok(None) => CertInput::TooLarge(MAX_CERTIFICATE_BYTES + 1),
            Err(e) => CertInput::Unreadable(e.to_string()),
        },
    }
}

/// `sigctl check`'s errors, but for those the inventory reports in its own
/// terms (expiry, unreadable certificates, stale exceptions).
fn policy_errors(
    part: &mut Part,
    raw: &RawPolicy,
    source: &crate::diag::SourceFile,
    inputs: &Inputs,
    now: OffsetDateTime,
) {
    const OWN: &[Code] = &[
        Code::CertificateExpired,
        Code::BadCertificate,
        Code::StaleException,
        Code::ShadowKey,
    ];
    let errors: Vec<_> = policy::validate(raw, source, inputs, now)
        .into_iter()
        .filter(|d| d.severity == Severity::Error && !OWN.contains(&d.code))
        .collect();
    if let Some(first) = errors.first() {
        let message = format!(
            "{}: `sigctl check` finds {} error(s) in signing.toml; the first, line {}: {} ({})",
            part.repository.path,
            errors.len(),
            first.line,
            first.message,
            first.code.as_str()
        );
        part.find(code::POLICY_HAS_ERRORS, message, Vec::new());
    }
}

/// Private keys in HEAD's tree: a finding per file; the SHA-256 of the
/// public halves sigctl can tell (to mark the identity whose key leaked).
fn shadow_keys_at(part: &mut Part, repo: &Repo, tree: &ObjectId) -> BTreeSet<String> {
    let mut public = BTreeSet::new();
    let files = match repo.tree_files(tree) {
        Ok(f) => f,
        Err(e) => {
            let message = format!(
                "{}: HEAD's tree not scanned for private keys: {e}",
                part.repository.path
            );
            part.find(code::UNREADABLE_REPOSITORY, message, Vec::new());
            return public;
        }
    };
    for (path, blob) in files {
        let Ok(Some(data)) = repo.blob_within(&blob, crate::repo::blobs::MAX_SCAN_BYTES) else {
            continue;
        };
        let found = shadow_keys::scan(&data);
        let Some(first) = found.first() else { continue };
        for f in &found {
            if let Some(fp) = shadow_keys::public_key_sha256(&data, f) {
                public.insert(fp);
            }
        }
        let message = format!(
            "{}: {} in `{path}` at HEAD (line {}){}",
            part.repository.path,
            first.kind,
            first.line,
            if found.len() > 1 {
                format!(", and {} more", found.len() - 1)
            } else {
                String::new()
            }
        );
        part.find(code::SHADOW_KEY, message, Vec::new());
    }
    public
}

/// An identity's recorded use: its latest authenticated record and how
/// many fall in the recent window.
#[derive(Debug, Default, Clone)]
struct Usage {
    last: Option<String>,
    recent: usize,
}

/// The records of refs/notes/signing, authenticated as `audit` does (by
/// the notes commit that added each, against the certificates HEAD's
/// history declared): use per identity; findings for records that are not
/// authentic and for use after a revocation.
fn usage(
    part: &mut Part,
    repo: &Repo,
    head: ObjectId,
    raw: &RawPolicy,
    now: OffsetDateTime,
) -> HashMap<String, Usage> {
    let mut out: HashMap<String, Usage> = HashMap::new();
    if !repo.ref_exists(NOTES_REF).unwrap_or(false) {
        return out;
    }
    let judged =
        Authenticator::for_history(repo, head).and_then(|auth| audit::judged_records(repo, &auth));
    let judged = match judged {
        Ok(j) => j,
        Err(e) => {
            let message = format!("{}: {NOTES_REF} not read: {e}", part.repository.path);
            part.find(code::UNAUTHENTICATED_RECORD, message, Vec::new());
            return out;
        }
    };
    let since = now - time::Duration::days(RECENT_DAYS);
    let (mut unauthentic, mut first_why) = (0, None);
    let mut after_revocation: Vec<(String, usize)> = Vec::new();
    for j in judged {
        let Some(record) = j.record.filter(|_| j.authenticated) else {
            unauthentic += 1;
            first_why.get_or_insert_with(|| format!("on {}: {}", j.target, j.why));
            continue;
        };
        let at = policy::timestamp::Timestamp::parse(&record.signed_at)
            .ok()
            .map(|t| t.0);
        let u = out.entry(record.identity.clone()).or_default();
        if u.last.as_ref().is_none_or(|l| record.signed_at > *l) {
            u.last = Some(record.signed_at.clone());
        }
        if at.is_some_and(|t| t >= since && t <= now) {
            u.recent += 1;
        }
        let revoked = policy::view::revocations(raw, &record.identity)
            .map(policy::view::revoked_from)
            .min();
        if let (Some(from), Some(t)) = (revoked, at)
            && t >= from
        {
            match after_revocation
                .iter_mut()
                .find(|(n, _)| *n == record.identity)
            {
                Some((_, n)) => *n += 1,
                None => after_revocation.push((record.identity.clone(), 1)),
            }
        }
    }
    if unauthentic > 0 {
        let message = format!(
            "{}: {unauthentic} line(s) of {NOTES_REF} are no authenticated signing record (the first {}); they count as no use",
            part.repository.path,
            first_why.unwrap_or_default()
        );
        part.find(code::UNAUTHENTICATED_RECORD, message, Vec::new());
    }
    after_revocation.sort();
    for (name, n) in after_revocation {
        let message = format!(
            "{}: `{name}` signed {n} time(s) after its revocation took effect",
            part.repository.path
        );
        part.find(code::SIGNED_AFTER_REVOCATION, message, vec![name]);
    }
    out
}

fn ts(t: OffsetDateTime) -> String {
    policy::timestamp::Timestamp(t).to_string()
}

/// Whole days from `now` to `t`, rounded down (negative: past).
pub fn days_until(now: OffsetDateTime, t: OffsetDateTime) -> i64 {
    (t - now).whole_seconds().div_euclid(86_400)
}

/// The certificate files an identity lists.
fn certificate_paths(id: &RawIdentity) -> Vec<String> {
    id.certificates()
        .into_iter()
        .map(|c| c.get().clone())
        .collect()
}

/// What names an identity's key, and the SHA-256 of its public key when
/// the policy tells it.
fn key_of(
    id: &RawIdentity,
    certs: &[(Certificate, Option<x509::CertFacts>)],
    inputs: &Inputs,
) -> (Option<String>, Option<String>) {
    if let Some(k) = &id.keyless {
        let k = k.get();
        return (
            Some(format!("keyless {} {}", k.issuer.get(), k.subject.get())),
            None,
        );
    }
    if let Some(line) = &id.ssh_key {
        let blob = crate::signature::ssh::key_blob(line.get());
        let kind = line
            .get()
            .split_whitespace()
            .next()
            .unwrap_or("ssh")
            .to_owned();
        return match blob {
            Some(b) => {
                use base64::Engine as _;
                use sha2::Digest as _;
                let digest = sha2::Sha256::digest(&b);
                let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest);
                (
                    Some(format!("{kind} SHA256:{b64}")),
                    Some(x509::hex(&digest)),
                )
            }
            None => (Some(kind), None),
        };
    }
    if let Some(path) = &id.openpgp_key {
        let fp = match inputs.certificates.get(path.get().as_str()) {
            Some(CertInput::Bytes(b)) => crate::signature::openpgp::read_keys(b)
                .ok()
                .and_then(|keys| keys.first().map(|k| k.primary.clone())),
            _ => None,
        };
        return match fp {
            Some(fp) => (Some(format!("openpgp {fp}")), Some(fp.to_ascii_lowercase())),
            None => (Some(format!("openpgp {}", path.get())), None),
        };
    }
    if let Some(x) = &id.x509 {
        let x = x.get();
        return (
            Some(format!("x509 {} {}", x.subject.get(), x.ca.get())),
            None,
        );
    }
    // a PIN in the URI (check's `pin-in-uri`) is never shown
    let reference = id.key.as_ref().map(|k| shadow_keys::redact(k.get()));
    let fingerprint = certs
        .iter()
        .find_map(|(_, f)| f.as_ref().map(|f| f.public_key_sha256.clone()))
        .or_else(|| {
            id.pins().first().map(|p| {
                let p = p.get().trim().to_ascii_lowercase();
                p.strip_prefix("sha256:").unwrap_or(&p).to_owned()
            })
        });
    (reference, fingerprint)
}

#[allow(clippy::too_many_arguments)]
fn identity(
    part: &mut Part,
    raw: &RawPolicy,
    name: &str,
    id: &RawIdentity,
    inputs: &Inputs,
    leaked: &BTreeSet<String>,
    used: &HashMap<String, Usage>,
    now: OffsetDateTime,
) -> Identity {
    let owner = id.owner.get().clone();
    let contact = raw
        .owners
        .iter()
        .find(|(k, _)| *k.get() == owner)
        .map(|(_, o)| o.get().contact.get().clone());
    let environments: Vec<String> = id.environments.iter().map(|e| e.get().clone()).collect();
    let classes: BTreeSet<String> = raw
        .environments
        .iter()
        .filter(|(k, _)| environments.contains(k.get()))
        .filter_map(|(_, e)| e.get().class.as_ref().map(|c| c.get().as_str().to_owned()))
        .collect();
    let renew_before = id.renew_before.as_ref().map(|r| *r.get());
    let mut certs: Vec<(Certificate, Option<x509::CertFacts>)> = Vec::new();
    for path in &certificate_paths(id) {
        let path = path.as_str();
        let facts = match inputs.certificates.get(path) {
            Some(CertInput::Bytes(b)) => x509::parse(b).map_err(|e| e.to_string()),
            Some(CertInput::Missing) | None => Err("it is not in HEAD's tree".to_owned()),
            Some(CertInput::TooLarge(_)) => {
                Err("it is larger than a certificate may be".to_owned())
            }
            Some(CertInput::NotAFile) => Err("it is a directory".to_owned()),
            Some(CertInput::OutsideRepository) => Err("the path leaves the repository".to_owned()),
            Some(CertInput::Unreadable(why)) => Err(why.clone()),
        };
        match facts {
            Ok(f) => {
                let c = audit::certificate_lifecycle(path, &f, renew_before, now);
                let status = if now < f.not_before {
                    "not-yet-valid".to_owned()
                } else {
                    c.status
                };
                certs.push((
                    Certificate {
                        path: path.to_owned(),
                        subject: Some(c.subject),
                        issuer: Some(f.issuer.clone()),
                        serial: Some(c.serial),
                        fingerprint_sha256: Some(c.fingerprint_sha256),
                        not_before: Some(c.not_before),
                        not_after: Some(c.not_after),
                        renew_from: Some(c.renew_from),
                        status,
                    },
                    Some(f),
                ));
            }
            Err(why) => {
                let message = format!(
                    "{}: the certificate of `{name}`, `{path}`, cannot be read: {why}",
                    part.repository.path
                );
                part.find(code::UNREADABLE_CERTIFICATE, message, vec![name.to_owned()]);
                certs.push((
                    Certificate {
                        path: path.to_owned(),
                        subject: None,
                        issuer: None,
                        serial: None,
                        fingerprint_sha256: None,
                        not_before: None,
                        not_after: None,
                        renew_from: None,
                        status: "unreadable".into(),
                    },
                    None,
                ));
            }
        }
    }
    // the identity stands or falls with its latest certificate still valid
    // (or, when every one has expired, its latest)
    let readable = || certs.iter().filter_map(|(c, f)| f.as_ref().map(|f| (c, f)));
    let current = readable()
        .filter(|(c, _)| c.status != "expired")
        .max_by_key(|(_, f)| f.not_after)
        .or_else(|| readable().max_by_key(|(_, f)| f.not_after));
    let days_to_expiry = current.map(|(_, f)| days_until(now, f.not_after));
    let renewal_due = current.and_then(|(c, _)| c.renew_from.clone());
    let current_status = current.map(|(c, _)| c.status.clone());
    if let Some((c, f)) = current {
        match c.status.as_str() {
            "expired" => part.find(
                code::CERTIFICATE_EXPIRED,
                format!(
                    "{}: the certificate of `{name}` expired on {}",
                    part.repository.path,
                    f.not_after.date()
                ),
                vec![name.to_owned()],
            ),
            "renewal-due" => part.find(
                code::CERTIFICATE_RENEWAL_DUE,
                format!(
                    "{}: the certificate of `{name}` is due for renewal since {} (expires {}, in {} day(s))",
                    part.repository.path,
                    c.renew_from.as_deref().and_then(|r| r.get(..10)).unwrap_or_default(),
                    f.not_after.date(),
                    days_until(now, f.not_after)
                ),
                vec![name.to_owned()],
            ),
            _ => {}
        }
    }
    let (key_reference, key_fingerprint) = key_of(id, &certs, inputs);
    let usage = used.get(name).cloned().unwrap_or_default();
    let revoked = policy::view::revocations(raw, name).next().is_some();
    let mut status = Vec::new();
    if revoked {
        status.push("revoked");
    }
    if current_status.as_deref() == Some("expired") {
        status.push("expired");
    }
    if key_fingerprint.as_ref().is_some_and(|k| leaked.contains(k)) {
        status.push("shadow-key");
    }
    if current_status.as_deref() == Some("renewal-due") {
        status.push("renew-due");
    }
    if usage.recent == 0 && !revoked {
        status.push("unused");
    }
    if status.is_empty() {
        status.push("ok");
    }
    Identity {
        repository: part.repository.path.clone(),
        name: name.to_owned(),
        owner,
        contact,
        purpose: id.purpose.as_ref().map(|p| p.get().clone()),
        environments,
        classes: classes.into_iter().collect(),
        custody: id.custody.get().as_str().into(),
        key_reference,
        key_fingerprint,
        certificates: certs.into_iter().map(|(c, _)| c).collect(),
        days_to_expiry,
        renewal_due,
        last_used: usage.last,
        events_90d: usage.recent,
        status: status.into_iter().map(str::to_owned).collect(),
    }
}

fn exceptions(part: &mut Part, raw: &RawPolicy, now: OffsetDateTime) {
    for x in &raw.exceptions {
        let expires = x.expires.get().0;
        let review = x.review.as_ref().map(|r| r.get().clone());
        if now >= expires && review.is_none() {
            let message = format!(
                "{}: exception `{}` (identity `{}`) expired on {} without a review",
                part.repository.path,
                x.id.get(),
                x.identity.get(),
                expires.date()
            );
            part.find(
                code::EXCEPTION_EXPIRED_WITHOUT_REVIEW,
                message,
                vec![x.identity.get().clone()],
            );
        }
        part.exceptions.push(Exception {
            repository: part.repository.path.clone(),
            id: x.id.get().clone(),
            identity: x.identity.get().clone(),
            environments: x.environments.iter().map(|e| e.get().clone()).collect(),
            owner: x.owner.get().clone(),
            approved_by: x.approved_by.iter().map(|a| a.get().clone()).collect(),
            reason: x.reason.get().clone(),
            expires: ts(expires),
            days_left: days_until(now, expires),
            review,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_down() {
        let t = |s: &str| {
            policy::timestamp::Timestamp::parse(s)
                .map(|t| t.0)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let now = t("2026-11-01T12:00:00Z");
        assert_eq!(days_until(now, t("2026-11-02T11:00:00Z")), 0);
        assert_eq!(days_until(now, t("2026-11-03T12:00:00Z")), 2);
        assert_eq!(days_until(now, t("2026-11-01T11:00:00Z")), -1);
    }
}
