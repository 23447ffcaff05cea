//! `sigctl verify`: authenticate history against the policy in force at
//! each commit's parents, as a chain from a trust root.
//!
//! Reads objects through `repo` (in process, each commit once, each
//! signing.toml blob parsed once) and returns a `VerifyReport`; never prints.

pub mod cache;
pub mod report;

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::repo::ObjectId;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::policy::raw::{RawPolicy, RevocationReason};
use crate::policy::{self, ref_pattern};
use crate::repo::Repo;
use crate::repo::walk::{CommitInfo, IdMap, IdSet};
use crate::signature::{self, cms, fulcio, openpgp, ssh, x509};
pub use report::{Kind, ObjectResult, Reason, Verdict, VerifyReport};

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Refs, commits or `A..B` ranges (default `HEAD`).
    pub specs: Vec<String>,
    /// `--trust-root`.
    pub trust_root: Option<String>,
    /// The key of the signature cache under `.git/sigctl/` (from outside the
    /// repository); `None`: no cache.
    pub cache_key: Option<Vec<u8>>,
}

/// A policy as it stood in one tree, resolved for fast lookups.
struct Resolved {
    raw: Rc<RawPolicy>,
    blob: ObjectId,
    /// certificate SHA-256 fingerprint → identity
    by_cert: HashMap<String, Arc<str>>,
    /// SSH public key blob → identity
    by_ssh: HashMap<Vec<u8>, Arc<str>>,
    /// identity → (not before, not after) of its certificate
    validity: HashMap<String, (OffsetDateTime, OffsetDateTime)>,
    /// keyless identities: (name, issuer, subject)
    keyless: Vec<(Arc<str>, String, String)>,
    /// identities with an OpenPGP key file: (name, its keys)
    by_pgp: Vec<(Arc<str>, Vec<openpgp::PublicKey>)>,
    /// identities anchored at a CA: (name, the CA certificates, the subject)
    anchored: Vec<(Arc<str>, fulcio::TrustedRoot, String)>,
    /// the Sigstore trusted root the policy names, if any
    trust: Option<fulcio::TrustedRoot>,
}

/// A Sigstore keyless signer (boxed: rare, and large).
#[derive(Clone)]
struct KeylessSigner {
    fingerprint: String,
    subject: String,
    /// leaf first, then the certificates the signature carried
    certs: Vec<Vec<u8>>,
    identity: fulcio::KeylessIdentity,
    /// the embedded Rekor entry and the body it stands for
    rekor: Option<(Vec<u8>, Vec<u8>)>,
}

/// Who signed, by the signature alone.
#[derive(Clone)]
enum Signer {
    /// A Sigstore keyless (Fulcio) certificate: who it names counts only once
    /// it chains to the policy's trusted root.
    Keyless(Box<KeylessSigner>),
    Cert {
        fingerprint: Arc<str>,
        subject: Arc<str>,
        /// leaf first, then the certificates the signature carried (for
        /// identities anchored at a CA); shared by every commit of a signer
        certs: Arc<[Vec<u8>]>,
    },
    Ssh {
        blob: Arc<[u8]>,
    },
    /// OpenPGP: who signed is known only against a policy's keys, so the
    /// check happens there.
    Pgp {
        sig: Vec<u8>,
        payload: Vec<u8>,
    },
}

#[derive(Clone)]
struct Checked {
    signer: Signer,
    signed_at: OffsetDateTime,
    time_source: &'static str,
}

struct Engine<'a> {
    repo: &'a Repo,
    policies: IdMap<Rc<RawPolicy>>,
    trees: IdMap<Option<Rc<Resolved>>>,
    fingerprints: IdMap<Option<x509::CertFacts>>,
    /// tree id → blob id of its signing.toml
    policy_blobs: IdMap<Option<ObjectId>>,
    /// policy blob + certificate blobs → resolution
    resolutions: HashMap<String, Rc<Resolved>>,
}

impl<'a> Engine<'a> {
    fn new(repo: &'a Repo) -> Self {
        Engine {
            repo,
            policies: IdMap::default(),
            trees: IdMap::default(),
            fingerprints: IdMap::default(),
            policy_blobs: IdMap::default(),
            resolutions: HashMap::new(),
        }
    }

    fn policy_of_tree(&mut self, tree: &ObjectId) -> Result<Option<Rc<Resolved>>> {
        if let Some(r) = self.trees.get(tree) {
            return Ok(r.clone());
        }
        let resolved = match self.policy_blob(tree)? {
            None => None,
            Some(blob) => {
                let raw = match self.policies.get(&blob) {
                    Some(p) => Some(p.clone()),
                    None => {
                        let bytes = self.repo.blob_by_id(&blob)?;
                        let parsed = policy::load::parse(policy::FILE_NAME, &bytes)
                            .result
                            .ok()
                            .map(Rc::new);
                        if let Some(p) = &parsed {
                            self.policies.insert(blob, p.clone());
                        }
                        parsed
                    }
                };
                match raw {
                    // a policy that does not parse authorises nobody
                    None => None,
                    Some(raw) => {
                        // trees that share the policy blob and its certificate
                        // blobs share one resolution
                        let mut key = blob.to_string();
                        let file = |key: &mut String, sep: &str, path: &str| -> Result<()> {
                            key.push_str(sep);
                            if let Some(b) = self.repo.blob_in_tree(tree, path)? {
                                key.push_str(&b.to_string());
                            }
                            Ok(())
                        };
                        if let Some(sg) = &raw.sigstore {
                            file(&mut key, ":sigstore:", sg.trusted_root.get())?;
                        }
                        for id in raw.identities.values() {
                            if let Some(path) = &id.openpgp_key {
                                file(&mut key, ":pgp:", path.get())?;
                            }
                            if let Some(path) = &id.certificate {
                                file(&mut key, ":", path.get())?;
                            }
                            if let Some(x) = &id.x509 {
                                file(&mut key, ":ca:", x.get().ca.get())?;
                            }
                        }
                        match self.resolutions.get(&key) {
                            Some(r) => Some(r.clone()),
                            None => {
                                let r = Rc::new(self.resolve(tree, raw, blob)?);
                                self.resolutions.insert(key, r.clone());
                                Some(r)
                            }
                        }
                    }
                }
            }
        };
        self.trees.insert(*tree, resolved.clone());
        Ok(resolved)
    }

    /// The blob id of signing.toml in a tree (memoised).
    fn policy_blob(&mut self, tree: &ObjectId) -> Result<Option<ObjectId>> {
        if let Some(b) = self.policy_blobs.get(tree) {
            return Ok(*b);
        }
        let b = self.repo.blob_in_tree(tree, policy::FILE_NAME)?;
        self.policy_blobs.insert(*tree, b);
        Ok(b)
    }

    fn resolve(&mut self, tree: &ObjectId, raw: Rc<RawPolicy>, blob: ObjectId) -> Result<Resolved> {
        let mut by_cert = HashMap::new();
        let mut by_ssh = HashMap::new();
        let mut validity = HashMap::new();
        let mut keyless = Vec::new();
        let mut by_pgp = Vec::new();
        let mut anchored = Vec::new();
        for (name, id) in &raw.identities {
            let shared: Arc<str> = name.get().as_str().into();
            if let Some(path) = &id.certificate
                && let Some(cert_blob) = self.repo.blob_in_tree(tree, path.get())?
            {
                if !self.fingerprints.contains_key(&cert_blob) {
                    let facts = x509::parse(&self.repo.blob_by_id(&cert_blob)?).ok();
                    self.fingerprints.insert(cert_blob, facts);
                }
                if let Some(Some(f)) = self.fingerprints.get(&cert_blob) {
                    by_cert.insert(f.fingerprint_sha256.clone(), shared.clone());
                    validity.insert(name.get().clone(), (f.not_before, f.not_after));
                }
            }
            if let Some(k) = &id.ssh_key
                && let Some(b) = ssh::key_blob(k.get())
            {
                by_ssh.insert(b, shared.clone());
            }
            if let Some(path) = &id.openpgp_key
                && let Some(b) = self.repo.blob_in_tree(tree, path.get())?
                && let Ok(keys) = openpgp::read_keys(&self.repo.blob_by_id(&b)?)
            {
                by_pgp.push((shared.clone(), keys));
            }
            // a CA file that is missing or holds no CA anchors nothing
            if let Some(x) = &id.x509
                && let Some(b) = self.repo.blob_in_tree(tree, x.get().ca.get())?
                && let Ok(cas) = x509::ca_certificates(&self.repo.blob_by_id(&b)?)
            {
                anchored.push((
                    shared.clone(),
                    fulcio::TrustedRoot {
                        cas,
                        tlogs: Vec::new(),
                    },
                    x.get().subject.get().clone(),
                ));
            }
            if let Some(kl) = &id.keyless {
                keyless.push((
                    shared.clone(),
                    kl.issuer.get().clone(),
                    kl.subject.get().clone(),
                ));
            }
        }
        // a trusted root that is missing or does not parse trusts nothing
        let trust = match &raw.sigstore {
            Some(sg) => match self.repo.blob_in_tree(tree, sg.trusted_root.get())? {
                Some(b) => fulcio::TrustedRoot::from_json(&self.repo.blob_by_id(&b)?).ok(),
                None => None,
            },
            None => None,
        };
        Ok(Resolved {
            raw,
            blob,
            by_cert,
            by_ssh,
            validity,
            keyless,
            by_pgp,
            anchored,
            trust,
        })
    }
}

fn ts(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// What a signer certificate says (its facts, and the keyless identity it
/// binds, if any), parsed once per certificate and thread: a history repeats
/// a handful of certificates.
fn certificate_facts(
    der: &[u8],
) -> std::result::Result<(x509::CertFacts, Option<fulcio::KeylessIdentity>), (Reason, String)> {
    use std::cell::RefCell;
    type Facts = (x509::CertFacts, Option<fulcio::KeylessIdentity>);
    thread_local! {
        static SEEN: RefCell<HashMap<Vec<u8>, Facts>> = RefCell::new(HashMap::new());
    }
    let key = {
        use sha2::Digest;
        sha2::Sha256::digest(der).to_vec()
    };
    if let Some(f) = SEEN.with(|m| m.borrow().get(&key).cloned()) {
        return Ok(f);
    }
    let facts = x509::parse(der).map_err(|e| (Reason::BadSignature, e.to_string()))?;
    let keyless = fulcio::identity(der)
        .ok()
        .filter(|identity| identity.issuer.is_some());
    let f = (facts, keyless);
    SEEN.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 256 {
            m.clear();
        }
        m.insert(key, f.clone());
    });
    Ok(f)
}

/// Check a signature cryptographically: who made it, and when they say.
fn check_signature(
    sig: &[u8],
    payload: &[u8],
    claimed: i64,
) -> std::result::Result<Checked, (Reason, String)> {
    if sig.starts_with(b"-----BEGIN SIGNED MESSAGE-----")
        || sig.starts_with(b"-----BEGIN PKCS7-----")
    {
        let v = cms::verify_detached(sig, payload).map_err(|e| match e {
            cms::CmsError::Unsupported(u) => (Reason::UnsupportedSignature, u),
            other => (Reason::BadSignature, other.to_string()),
        })?;
        let (facts, keyless) = certificate_facts(&v.certificate)?;
        let (signed_at, time_source) = match v.signing_time {
            Some(t) => (t, "signing-time attribute (untrusted)"),
            None => (ts(claimed), "committer date (untrusted)"),
        };
        let signer = match keyless {
            Some(identity) => {
                let mut certs = vec![v.certificate];
                certs.extend(v.chain);
                Signer::Keyless(Box::new(KeylessSigner {
                    fingerprint: facts.fingerprint_sha256,
                    subject: facts.subject,
                    certs,
                    identity,
                    rekor: v.rekor,
                }))
            }
            _ => {
                let mut certs = vec![v.certificate];
                certs.extend(v.chain);
                Signer::Cert {
                    fingerprint: facts.fingerprint_sha256.into(),
                    subject: facts.subject.into(),
                    certs: certs.into(),
                }
            }
        };
        return Ok(Checked {
            signer,
            signed_at,
            time_source,
        });
    }
    if sig.starts_with(b"-----BEGIN SSH SIGNATURE-----") {
        let v = ssh::verify(sig, payload).map_err(|e| match e {
            ssh::SshSigError::Unsupported(u) => (Reason::UnsupportedSignature, u),
            other => (Reason::BadSignature, other.to_string()),
        })?;
        return Ok(Checked {
            signer: Signer::Ssh {
                blob: v.public_key.into(),
            },
            signed_at: ts(claimed),
            time_source: "committer date (untrusted)",
        });
    }
    if sig.starts_with(b"-----BEGIN PGP SIGNATURE-----") {
        openpgp::well_formed(sig).map_err(|e| match e {
            openpgp::PgpError::Unsupported(u) => (Reason::UnsupportedSignature, u),
            other => (Reason::BadSignature, other.to_string()),
        })?;
        return Ok(Checked {
            signed_at: ts(openpgp::created(sig).unwrap_or(claimed)),
            time_source: "signature creation time (untrusted)",
            signer: Signer::Pgp {
                sig: sig.to_vec(),
                payload: payload.to_vec(),
            },
        });
    }
    Err((
        Reason::BadSignature,
        "the signature is not in a format sigctl knows".into(),
    ))
}

type Check = std::result::Result<Checked, (Reason, String)>;

/// Stored in the cache by position: append only.
const TIME_SOURCES: &[&str] = &[
    "signing-time attribute (untrusted)",
    "committer date (untrusted)",
    "signature creation time (untrusted)",
    REKOR_TIME,
];

/// The storable form of a check; keyless and OpenPGP checks are not stored
/// (their certificates or signatures would have to be, to check them again
/// under each policy).
fn to_stored(c: Option<&Check>) -> cache::Stored {
    let source = |s: &str| TIME_SOURCES.iter().position(|t| *t == s).unwrap_or(0) as u8;
    match c {
        None
        | Some(Ok(Checked {
            signer: Signer::Keyless(_) | Signer::Pgp { .. },
            ..
        })) => cache::Stored::Unchecked,
        Some(Ok(Checked {
            signer:
                Signer::Cert {
                    fingerprint,
                    subject,
                    certs,
                },
            signed_at,
            time_source,
        })) => cache::Stored::Cert {
            fingerprint: fingerprint.clone(),
            subject: subject.clone(),
            certs: certs.clone(),
            signed_at: signed_at.unix_timestamp(),
            time_source: source(time_source),
        },
        Some(Ok(Checked {
            signer: Signer::Ssh { blob },
            signed_at,
            time_source,
        })) => cache::Stored::Ssh {
            key: blob.clone(),
            signed_at: signed_at.unix_timestamp(),
            time_source: source(time_source),
        },
        Some(Err((reason, message))) => cache::Stored::Failed {
            reason: reason.as_str().to_owned(),
            message: message.clone(),
        },
    }
}

fn from_stored(e: &cache::Stored) -> Option<Check> {
    let source = |n: &u8| TIME_SOURCES.get(usize::from(*n)).copied();
    Some(match e {
        cache::Stored::Unchecked => return None,
        cache::Stored::Cert {
            fingerprint,
            subject,
            certs,
            signed_at,
            time_source,
        } => Ok(Checked {
            signer: Signer::Cert {
                fingerprint: fingerprint.clone(),
                subject: subject.clone(),
                certs: certs.clone(),
            },
            signed_at: ts(*signed_at),
            time_source: source(time_source)?,
        }),
        cache::Stored::Ssh {
            key,
            signed_at,
            time_source,
        } => Ok(Checked {
            signer: Signer::Ssh { blob: key.clone() },
            signed_at: ts(*signed_at),
            time_source: source(time_source)?,
        }),
        cache::Stored::Failed { reason, message } => Err((Reason::parse(reason)?, message.clone())),
    })
}

/// One allocation per signer, not per commit: the SSH key and the
/// certificate chain of a check are replaced by an earlier check's.
#[derive(Default)]
struct Shared {
    keys: std::collections::HashSet<Arc<[u8]>>,
    /// by fingerprint: each distinct chain that came with that leaf
    certs: HashMap<Arc<str>, Vec<Signer>>,
}

impl Shared {
    fn intern(&mut self, check: &mut Check) {
        match check {
            Ok(Checked {
                signer: Signer::Ssh { blob },
                ..
            }) => match self.keys.get(blob) {
                Some(k) => *blob = k.clone(),
                None => {
                    self.keys.insert(blob.clone());
                }
            },
            Ok(Checked { signer, .. }) => {
                if let Signer::Cert {
                    fingerprint, certs, ..
                } = &*signer
                {
                    let seen = self.certs.entry(fingerprint.clone()).or_default();
                    let same = seen
                        .iter()
                        .find(|s| matches!(s, Signer::Cert { certs: c, .. } if c[..] == certs[..]));
                    match same {
                        Some(first) => *signer = first.clone(),
                        None => seen.push(signer.clone()),
                    }
                }
            }
            _ => {}
        }
    }
}

/// What the walk learnt of the commits it read (those not in the cache):
/// their signature checks and the signing.toml blob of their trees.
#[derive(Default)]
struct Fresh {
    checks: IdMap<Check>,
    policy_blobs: Vec<(ObjectId, Option<ObjectId>)>,
}

/// Walk (see [`Repo::commits_parents_first`]) while workers on the other
/// cores check each signature the walk reads and look up the signing.toml of
/// its tree: each commit is read once, and the walk and the crypto overlap.
fn walk_checking(
    repo: &Repo,
    tips: &[ObjectId],
    bases: &[ObjectId],
    known: &dyn Fn(&ObjectId) -> Option<CommitInfo>,
) -> Result<(Vec<CommitInfo>, Fresh)> {
    struct Job {
        id: ObjectId,
        tree: ObjectId,
        claimed: i64,
        signature: Option<(Vec<u8>, Vec<u8>)>,
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 16);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(4096);
    let rx = std::sync::Mutex::new(rx);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = &rx;
                let repo = repo.clone();
                s.spawn(move || {
                    let mut fresh = Fresh::default();
                    let mut shared = Shared::default();
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok(job) = job else { break };
                        let blob = repo
                            .blob_in_tree(&job.tree, policy::FILE_NAME)
                            .ok()
                            .flatten();
                        fresh.policy_blobs.push((job.tree, blob));
                        if let Some((sig, payload)) = job.signature {
                            let mut check = check_signature(&sig, &payload, job.claimed);
                            shared.intern(&mut check);
                            fresh.checks.insert(job.id, check);
                        }
                    }
                    fresh
                })
            })
            .collect();
        let walked = repo.commits_parents_first_with(tips, bases, known, &|info, raw| {
            let signature = (info.signed && !info.duplicate_signature)
                .then(|| crate::repo::walk::split_commit_signature(raw))
                .flatten();
            let _ = tx.send(Job {
                id: info.id,
                tree: info.tree,
                claimed: info.committer_time,
                signature,
            });
        });
        drop(tx);
        let mut fresh = Fresh::default();
        for h in handles {
            let part = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            fresh.checks.extend(part.checks);
            fresh.policy_blobs.extend(part.policy_blobs);
        }
        Ok((walked?, fresh))
    })
}

/// Every commit's signature check, from the walk's workers or the cache (a
/// signed commit in neither, such as a cached keyless one, is checked now on
/// every core); and the signing.toml blob of every commit's tree. Returns
/// the checks aligned with `commits` and whether anything was new.
fn check_all(
    engine: &mut Engine,
    commits: &[CommitInfo],
    cached: &IdMap<cache::Entry>,
    mut fresh: Fresh,
) -> (Vec<Option<Check>>, bool) {
    let mut out: Vec<Option<Check>> = Vec::with_capacity(commits.len());
    out.resize_with(commits.len(), || None);
    let mut todo: Vec<(usize, ObjectId, i64)> = Vec::new();
    let mut trees: Vec<ObjectId> = Vec::new();
    let mut new = !fresh.policy_blobs.is_empty();
    for (tree, blob) in fresh.policy_blobs.drain(..) {
        engine.policy_blobs.insert(tree, blob);
    }
    for (n, c) in commits.iter().enumerate() {
        let entry = cached.get(&c.id);
        if let Some(e) = entry {
            engine.policy_blobs.entry(c.tree).or_insert(e.policy);
        } else if !engine.policy_blobs.contains_key(&c.tree) {
            trees.push(c.tree);
        }
        if !c.signed || c.duplicate_signature {
            continue;
        }
        if let Some(check) = fresh.checks.remove(&c.id) {
            out[n] = Some(check);
            continue;
        }
        match entry.and_then(|e| from_stored(&e.check)) {
            Some(check) => out[n] = Some(check),
            None => todo.push((n, c.id, c.committer_time)),
        }
    }
    new |= !todo.is_empty() || !trees.is_empty();
    let blobs = engine.repo.par_map(&trees, |repo, tree| {
        repo.blob_in_tree(tree, policy::FILE_NAME).ok().flatten()
    });
    for (tree, blob) in trees.into_iter().zip(blobs) {
        engine.policy_blobs.insert(tree, blob);
    }
    let done = engine.repo.par_map(&todo, |repo, (_, id, claimed)| {
        match repo.commit_signature(id) {
            Ok(Some((sig, payload))) => check_signature(&sig, &payload, *claimed),
            _ => Err((
                Reason::BadSignature,
                "the signature could not be read".into(),
            )),
        }
    });
    for ((n, _, _), check) in todo.into_iter().zip(done) {
        out[n] = Some(check);
    }
    // one allocation per signer, not per commit (across the workers too)
    let mut shared = Shared::default();
    for check in out.iter_mut().flatten() {
        shared.intern(check);
    }
    (out, new)
}

/// The time a signature is judged at under a policy, and whether the signer
/// could not have chosen it: a keyless signature with a Rekor entry whose
/// promise a log key of the policy's trusted root signed is judged at the
/// entry's integrated time; an entry that does not verify is refused.
fn effective_time(
    parent: &Resolved,
    checked: &Checked,
) -> std::result::Result<(OffsetDateTime, bool), (Reason, String)> {
    if let Signer::Keyless(k) = &checked.signer
        && let Some((entry, body)) = &k.rekor
        && let Some(trust) = &parent.trust
    {
        return match signature::rekor::verify(entry, body, &trust.tlogs) {
            Ok(Some(at)) => Ok((at, true)),
            // a log the policy does not trust: the signer's own time, untrusted
            Ok(None) => Ok((checked.signed_at, false)),
            Err(e) => Err((Reason::BadSignature, e)),
        };
    }
    Ok((checked.signed_at, false))
}

/// `checked`, judged at its trusted time under `policy` when it has one.
fn with_trusted_time(policy: &Resolved, mut checked: Checked) -> Checked {
    if let Ok((at, true)) = effective_time(policy, &checked) {
        checked.signed_at = at;
        checked.time_source = REKOR_TIME;
    }
    checked
}

const REKOR_TIME: &str = "Rekor integrated time";

/// The CA-anchored identity a certificate is for: it names the identity's
/// subject and chains to its CA at the signing time.
fn anchored(
    parent: &Resolved,
    subject: &str,
    certs: &[Vec<u8>],
    at: OffsetDateTime,
) -> std::result::Result<Arc<str>, (Reason, String)> {
    let unknown = || {
        (
            Reason::UnknownSigner,
            format!("the signer ({subject}) is no identity of the policy in force"),
        )
    };
    let (leaf, chain) = certs.split_first().ok_or_else(unknown)?;
    let names = x509::names(leaf);
    let mut last = None;
    for (name, cas, want) in &parent.anchored {
        if !names.iter().any(|n| n == want) {
            continue;
        }
        match fulcio::verify_chain(leaf, chain, cas, at) {
            Ok(()) => return Ok(name.clone()),
            Err(e) => {
                last = Some((
                    Reason::CertificateInvalidAtSigning,
                    format!("identity `{name}`: {e}"),
                ))
            }
        }
    }
    Err(last.unwrap_or_else(unknown))
}

/// Why an identity cannot vouch for a signature under a policy.
fn authorise(
    parent: &Resolved,
    tips: &[Rc<Resolved>],
    checked: &Checked,
    envs: &[String],
    changes_policy: bool,
) -> std::result::Result<Arc<str>, (Reason, String)> {
    let (at, trusted) = effective_time(parent, checked)?;
    let identity = match &checked.signer {
        Signer::Cert {
            fingerprint,
            subject,
            certs,
        } => match parent.by_cert.get(&**fingerprint) {
            Some(name) => name.clone(),
            None => anchored(parent, subject, certs, at)?,
        },
        Signer::Keyless(k) => match parent.by_cert.get(&k.fingerprint) {
            Some(name) => name.clone(),
            None => {
                let KeylessSigner {
                    subject,
                    certs,
                    identity,
                    ..
                } = &**k;
                let trust = parent.trust.as_ref().ok_or_else(|| {
                    (
                        Reason::UnknownSigner,
                        format!(
                            "a Sigstore keyless signature by {} ({subject}), but the policy in force names no `sigstore.trusted_root` to check it against",
                            identity.subject
                        ),
                    )
                })?;
                let name = parent
                    .keyless
                    .iter()
                    .find(|(_, issuer, subj)| *subj == identity.subject && Some(issuer) == identity.issuer.as_ref())
                    .map(|(n, _, _)| n.clone())
                    .ok_or_else(|| {
                        (
                            Reason::UnknownSigner,
                            format!(
                                "the keyless signer {} (issuer {}) is no identity of the policy in force",
                                identity.subject,
                                identity.issuer.as_deref().unwrap_or("unknown")
                            ),
                        )
                    })?;
                fulcio::verify_chain(&certs[0], &certs[1..], trust, at).map_err(|e| {
                    (
                        Reason::CertificateInvalidAtSigning,
                        format!("keyless identity `{name}`: {e}"),
                    )
                })?;
                name
            }
        },
        Signer::Pgp { sig, payload } => {
            let mut last = (
                Reason::UnknownSigner,
                "the OpenPGP signer is no identity of the policy in force".to_owned(),
            );
            let mut found = None;
            for (name, keys) in &parent.by_pgp {
                match openpgp::verify(sig, payload, keys) {
                    Ok(_) => {
                        found = Some(name.clone());
                        break;
                    }
                    Err(openpgp::PgpError::UnknownKey) => {}
                    Err(
                        e @ (openpgp::PgpError::BadSignature | openpgp::PgpError::Malformed(_)),
                    ) => {
                        last = (Reason::BadSignature, e.to_string());
                    }
                    Err(e) => last = (Reason::UnsupportedSignature, e.to_string()),
                }
            }
            found.ok_or(last)?
        }
        Signer::Ssh { blob } => parent.by_ssh.get(&**blob).cloned().ok_or_else(|| {
            (
                Reason::UnknownSigner,
                "the signer's SSH key is no identity of the policy in force".to_owned(),
            )
        })?,
    };
    // a revocation the parent policy already holds: nothing, whatever the time
    if parent
        .raw
        .revocations
        .iter()
        .any(|r| **r.identity.get() == *identity)
    {
        return Err((
            Reason::RevokedKey,
            format!("identity `{identity}` was already revoked by the policy in force"),
        ));
    }
    // revocations at the tips apply to the whole range, by signing time
    for r in tips
        .iter()
        .flat_map(|t| t.raw.revocations.iter())
        .filter(|r| **r.identity.get() == *identity)
    {
        let from = match (r.reason.get(), &r.compromised_since) {
            (RevocationReason::KeyCompromise, Some(since)) => since.get().0,
            _ => r.revoked_at.get().0,
        };
        if at >= from {
            return Err((
                Reason::RevokedKey,
                format!(
                    "identity `{identity}` is revoked for signatures from {}",
                    policy::timestamp::Timestamp(from)
                ),
            ));
        }
    }
    if let Some((nb, na)) = parent.validity.get(&*identity)
        && (at < *nb || at >= *na)
    {
        return Err((
            Reason::CertificateInvalidAtSigning,
            format!(
                "the certificate of `{identity}` was not valid at {} (valid {} to {})",
                policy::timestamp::Timestamp(at),
                nb.date(),
                na.date()
            ),
        ));
    }
    let id = parent
        .raw
        .identities
        .iter()
        .find(|(k, _)| **k.get() == *identity)
        .map(|(_, v)| v.get())
        .ok_or_else(|| {
            (
                Reason::UnknownSigner,
                format!("identity `{identity}` is not declared"),
            )
        })?;
    for env in envs {
        let listed = id.environments.iter().any(|e| e.get() == env);
        let excepted = parent.raw.exceptions.iter().any(|x| {
            **x.identity.get() == *identity
                && x.environments.iter().any(|e| e.get() == env)
                && at < x.expires.get().0
        });
        if !listed && !excepted {
            return Err((
                Reason::WrongEnvironment,
                format!("identity `{identity}` does not sign for environment `{env}`"),
            ));
        }
        let trusted_time_required = parent.raw.environments.iter().any(|(k, e)| {
            k.get() == env.as_str() && e.require_trusted_time.as_ref().is_some_and(|b| *b.get())
        });
        if trusted_time_required && !trusted {
            return Err((
                Reason::UntrustedTime,
                format!(
                    "environment `{env}` requires a transparency-log or RFC 3161 time; this signature has only a time its signer chose"
                ),
            ));
        }
    }
    if changes_policy {
        let owner = id.owner.get();
        if !parent.raw.policy.admins.iter().any(|a| a.get() == owner) {
            return Err((
                Reason::PolicyChangeWithoutAdmin,
                format!(
                    "signing.toml changed, but `{identity}` (owner `{owner}`) is not owned by an admin of the previous policy"
                ),
            ));
        }
    }
    Ok(identity)
}

/// The first commit (parents first) whose tree has signing.toml while none
/// of its parents' trees has: the commit that introduced the policy.
fn introducing_commit(engine: &mut Engine, commits: &[CommitInfo]) -> Result<Option<ObjectId>> {
    let inside: IdSet = commits.iter().map(|c| c.id).collect();
    let mut with_policy = IdSet::default();
    for c in commits {
        if engine.policy_blob(&c.tree)?.is_some() {
            let mut parent_has = false;
            for p in &c.parents {
                parent_has |= if inside.contains(p) {
                    with_policy.contains(p)
                } else {
                    // a parent outside the walk (behind a range's base)
                    let tree = engine.repo.commit_info(p)?.tree;
                    engine.policy_blob(&tree)?.is_some()
                };
            }
            with_policy.insert(c.id);
            if !parent_has {
                return Ok(Some(c.id));
            }
        }
    }
    Ok(None)
}

/// The environment a ref belongs to under a policy (the most specific pattern).
fn environment_of(policy: &RawPolicy, refname: &str) -> Option<String> {
    policy
        .environments
        .iter()
        .flat_map(|(name, env)| env.refs.iter().map(move |p| (name.get(), p.get())))
        .filter(|(_, p)| ref_pattern::matches(p, refname))
        .max_by_key(|(_, p)| ref_pattern::specificity(p))
        .map(|(n, _)| n.clone())
}

/// Verify what `opts` names.
/// Progress callback: `(stage, done, total)`. The engine never prints; the
/// front-end draws what it likes (a bar on a terminal, nothing elsewhere).
pub type Progress<'a> = &'a dyn Fn(&str, usize, usize);

pub fn verify(
    repo: &Repo,
    opts: &VerifyOptions,
    config_trust_root: Option<String>,
    _now: OffsetDateTime,
    progress: Option<Progress>,
) -> Result<VerifyReport> {
    let report = |stage: &str, done: usize, total: usize| {
        if let Some(p) = progress {
            p(stage, done, total);
        }
    };
    let specs = if opts.specs.is_empty() {
        vec!["HEAD".to_owned()]
    } else {
        opts.specs.clone()
    };
    let mut tips = Vec::new();
    let mut bases = Vec::new();
    for s in &specs {
        let (tip, base) = repo.resolve_spec(s)?;
        tips.push(tip);
        bases.extend(base);
    }
    let tip_commits: Vec<ObjectId> = tips.iter().map(|t| t.commit).collect();
    let mut warnings = Vec::new();

    let mut engine = Engine::new(repo);
    // the authenticated cache: what is known of commits already seen
    let cache_path = cache::path(repo.common_dir());
    let cached = match &opts.cache_key {
        Some(k) => cache::load(&cache_path, k),
        None => IdMap::default(),
    };
    let known = |id: &ObjectId| cached.get(id).map(|e| e.commit.clone());
    // one walk: everything the specs reach, less what their bases already reach
    let (all, fresh) = walk_checking(repo, &tip_commits, &bases, &known)?;

    // the trust root
    let (root, pinned) = match opts.trust_root.clone().or(config_trust_root) {
        Some(r) => (repo.resolve_commit_id(&r)?, true),
        None => {
            let mut root = introducing_commit(&mut engine, &all)?;
            if root.is_none() && !bases.is_empty() {
                // the policy came in before the range's base
                let full = repo.commits_parents_first(&tip_commits, &[], &known)?;
                root = introducing_commit(&mut engine, &full)?;
            }
            let root = root.ok_or_else(|| {
                Error::Git(
                    "no commit in this history has a signing.toml: nothing to verify against"
                        .into(),
                )
            })?;
            warnings.push(format!(
                "trust root {} is the commit that introduced signing.toml, found by walking history: pin it with --trust-root or `git config sigctl.trustRoot {}`",
                root.to_hex_with_len(12),
                root
            ));
            (root, false)
        }
    };
    let root_info = match known(&root) {
        Some(i) => i,
        None => repo.commit_info(&root)?,
    };
    // history before the trust root predates the policy: not verified
    let pre = repo.ancestors(&root_info.parents, &known)?;
    let commits: Vec<CommitInfo> = all.into_iter().filter(|c| !pre.contains(&c.id)).collect();
    let base_ancestors = repo.ancestors(&bases, &known)?;
    drop(pre);

    // the policies at the tips: their revocations and exceptions speak for the whole range
    let mut tip_policies: Vec<Rc<Resolved>> = Vec::new();
    for t in &tip_commits {
        let tree = repo.commit_info(t)?.tree;
        if let Some(p) = engine.policy_of_tree(&tree)? {
            tip_policies.push(p);
        }
    }
    let excepted: std::collections::HashSet<String> = tip_policies
        .iter()
        .flat_map(|p| p.raw.exceptions.iter())
        .flat_map(|x| x.commits.iter().map(|c| c.get().clone()))
        .collect();
    let is_excepted = |id: &ObjectId| {
        !excepted.is_empty() && {
            let id = id.to_string();
            excepted
                .iter()
                .any(|e| e.len() >= 7 && id.starts_with(e.as_str()))
        }
    };

    // the environment of each verified branch (tags are judged on the tag
    // object); a remote-tracking branch is judged as the branch it tracks
    let mut branch_envs: Vec<String> = Vec::new();
    for t in &tips {
        let Some(r) = &t.refname else { continue };
        if r.starts_with("refs/tags/") {
            continue;
        }
        let as_branch = match r
            .strip_prefix("refs/remotes/")
            .and_then(|rest| rest.split_once('/'))
        {
            Some((_, branch)) => format!("refs/heads/{branch}"),
            None => r.clone(),
        };
        match tip_policies
            .iter()
            .find_map(|p| environment_of(&p.raw, &as_branch))
        {
            Some(env) => branch_envs.push(env),
            None => warnings.push(format!(
                "{r} matches no environment of signing.toml: only the base rule applies"
            )),
        }
    }

    report("checking signatures", 0, commits.len());
    let (mut checks, fresh) = check_all(&mut engine, &commits, &cached, fresh);
    report("checking signatures", commits.len(), commits.len());
    if let Some(k) = opts.cache_key.as_ref().filter(|_| fresh) {
        // what was cached, and each new commit as it is written
        let new = commits
            .iter()
            .enumerate()
            .filter(|(_, c)| !cached.contains_key(&c.id))
            .map(|(n, c)| {
                std::borrow::Cow::Owned(cache::Entry {
                    commit: c.clone(),
                    policy: engine.policy_blobs.get(&c.tree).copied().flatten(),
                    check: to_stored(checks[n].as_ref()),
                })
            });
        // a cache that cannot be written only costs time next run
        let _ = cache::save(
            &cache_path,
            cached.values().map(std::borrow::Cow::Borrowed).chain(new),
            k,
        );
    }
    drop(cached);
    let by_id: IdMap<&CommitInfo> = commits.iter().map(|c| (c.id, c)).collect();
    // per commit: valid?, and the first failing ancestor
    let mut state: IdMap<(bool, Option<ObjectId>)> =
        IdMap::with_capacity_and_hasher(commits.len(), Default::default());
    let mut results = Vec::with_capacity(commits.len());
    for (n, c) in commits.iter().enumerate() {
        if n % 2048 == 0 {
            report("judging", n, commits.len());
        }
        let descends = c.id == root
            || c.parents
                .iter()
                .any(|p| state.contains_key(p) || base_ancestors.contains(p));
        let mut result = ObjectResult::new(c.id, Kind::Commit);
        let mut judged_at: Option<(OffsetDateTime, &'static str)> = None;
        let outcome: std::result::Result<(Arc<str>, Checked), (Reason, String)> = (|| {
            if !descends {
                return Err((
                    Reason::ForeignHistory,
                    format!(
                        "not descended from the trust root {}",
                        root.to_hex_with_len(12)
                    ),
                ));
            }
            if c.duplicate_signature {
                return Err((
                    Reason::BadSignature,
                    "the commit carries more than one gpgsig header".into(),
                ));
            }
            if !c.signed {
                return Err((Reason::Unsigned, "the commit is not signed".into()));
            }
            let checked = checks[n].take().unwrap_or_else(|| {
                Err((Reason::BadSignature, "the signature was not checked".into()))
            })?;
            judged_at = Some((checked.signed_at, checked.time_source));
            let own_blob = engine
                .policy_blob(&c.tree)
                .map_err(|e| (Reason::NoPolicy, e.to_string()))?;
            // the policies that may vouch: the parents' (the trust root: its own)
            let candidates: Vec<(Option<ObjectId>, ObjectId)> = if c.id == root {
                vec![(None, c.tree)]
            } else {
                c.parents
                    .iter()
                    .filter_map(|p| {
                        let tree = by_id
                            .get(p)
                            .map(|pc| pc.tree)
                            .or_else(|| repo.commit_info(p).ok().map(|i| i.tree))?;
                        Some((Some(*p), tree))
                    })
                    .collect()
            };
            let mut last = (Reason::NoPolicy, "no parent has a signing.toml".to_owned());
            let mut chain_failure = None;
            for (parent, tree) in candidates {
                let Some(pol) = engine
                    .policy_of_tree(&tree)
                    .map_err(|e| (Reason::NoPolicy, e.to_string()))?
                else {
                    continue;
                };
                let changes_policy = parent.is_some() && own_blob != Some(pol.blob);
                match authorise(&pol, &tip_policies, &checked, &branch_envs, changes_policy) {
                    Ok(identity) => {
                        let parent_valid = match &parent {
                            None => true,
                            Some(p) => {
                                state
                                    .get(p)
                                    .map(|s| s.0)
                                    .unwrap_or(base_ancestors.contains(p))
                                    || is_excepted(p)
                            }
                        };
                        if parent_valid {
                            return Ok((identity, with_trusted_time(&pol, checked)));
                        }
                        let first = parent
                            .as_ref()
                            .and_then(|p| state.get(p).and_then(|s| s.1))
                            .or(parent);
                        chain_failure = first;
                    }
                    Err(e) => last = e,
                }
            }
            if let Some(first) = chain_failure {
                return Err((
                    Reason::BrokenChain,
                    format!(
                        "the chain from the trust root is broken at {}",
                        first.to_hex_with_len(12)
                    ),
                ));
            }
            Err(last)
        })();
        match outcome {
            Ok((identity, checked)) => {
                result.verdict = Verdict::Valid;
                result.identity = Some(identity);
                result.reason = Reason::Authorised;
                result.message = "signed by an identity the policy in force authorises".into();
                result.signed_at = Some(checked.signed_at);
                result.time_source = checked.time_source;
                state.insert(c.id, (true, None));
            }
            Err((reason, message)) => {
                if let Some((at, source)) = judged_at {
                    result.signed_at = Some(at);
                    result.time_source = source;
                }
                let excepted_here = is_excepted(&c.id);
                result.verdict = if reason == Reason::Unsigned {
                    Verdict::Unsigned
                } else {
                    Verdict::Invalid
                };
                result.reason = reason;
                result.message = message.into();
                if excepted_here {
                    result.verdict = Verdict::Valid;
                    result.message = format!(
                        "{} (excepted by an exception of the policy at the tip)",
                        result.message
                    )
                    .into();
                    state.insert(c.id, (true, None));
                } else {
                    let first = if reason == Reason::BrokenChain {
                        c.parents
                            .iter()
                            .find_map(|p| state.get(p).and_then(|s| s.1))
                    } else {
                        Some(c.id)
                    };
                    state.insert(c.id, (false, first.or(Some(c.id))));
                }
            }
        }
        results.push(result);
    }

    // tags named by the specs: the tag object itself
    for tip in &tips {
        let Some(refname) = tip.refname.as_ref().filter(|r| r.starts_with("refs/tags/")) else {
            continue;
        };
        let Some(tag_id) = &tip.tag else {
            // a lightweight tag carries no signature of its own
            let env = tip_policies
                .iter()
                .find_map(|p| environment_of(&p.raw, refname));
            match env {
                Some(env) => {
                    let mut result = ObjectResult::new(tip.commit, Kind::Tag);
                    result.verdict = Verdict::Unsigned;
                    result.reason = Reason::Unsigned;
                    result.message = format!(
                        "{refname} is a lightweight tag: environment `{env}` needs a signed tag object (`sigctl sign tag` or `git tag -s`)"
                    ).into();
                    results.push(result);
                }
                None => warnings.push(format!("{refname} is a lightweight tag outside every environment: only its commits are verified")),
            }
            continue;
        };
        let tag = repo.tag_info(tag_id)?;
        let mut result = ObjectResult::new(tag.id, Kind::Tag);
        let mut judged_at: Option<(OffsetDateTime, &'static str)> = None;
        let outcome: std::result::Result<(Arc<str>, Checked), (Reason, String)> = (|| {
            let Some((sig, payload)) = &tag.signature else {
                return Err((
                    Reason::Unsigned,
                    format!("tag `{}` is not signed", tag.name),
                ));
            };
            let checked = check_signature(sig, payload, tag.tagger_time)?;
            judged_at = Some((checked.signed_at, checked.time_source));
            let tree = repo
                .commit_info(&tag.target)
                .map_err(|e| (Reason::NoPolicy, e.to_string()))?
                .tree;
            let pol = engine
                .policy_of_tree(&tree)
                .map_err(|e| (Reason::NoPolicy, e.to_string()))?
                .ok_or_else(|| {
                    (
                        Reason::NoPolicy,
                        "the tagged commit has no signing.toml".to_owned(),
                    )
                })?;
            let env = environment_of(&pol.raw, refname);
            let envs: Vec<String> = env.into_iter().collect();
            let identity = authorise(&pol, &tip_policies, &checked, &envs, false)?;
            if state.get(&tag.target).is_some_and(|s| !s.0) {
                return Err((
                    Reason::BrokenChain,
                    "the tagged commit does not verify".into(),
                ));
            }
            Ok((identity, with_trusted_time(&pol, checked)))
        })();
        match outcome {
            Ok((identity, checked)) => {
                result.verdict = Verdict::Valid;
                result.identity = Some(identity);
                result.reason = Reason::Authorised;
                result.message = format!(
                    "tag `{}` signed by an identity its environment admits",
                    tag.name
                )
                .into();
                result.signed_at = Some(checked.signed_at);
                result.time_source = checked.time_source;
            }
            Err((reason, message)) => {
                if let Some((at, source)) = judged_at {
                    result.signed_at = Some(at);
                    result.time_source = source;
                }
                result.verdict = if reason == Reason::Unsigned {
                    Verdict::Unsigned
                } else {
                    Verdict::Invalid
                };
                result.reason = reason;
                result.message = message.into();
            }
        }
        results.push(result);
    }

    Ok(VerifyReport {
        trust_root: root.to_string(),
        trust_root_pinned: pinned,
        results,
        warnings,
    })
}

/// How one signed object stands with the policy that governs it, without a
/// walk: what git asks its verifier (`git verify-commit`, `%G?`), so git and
/// `sigctl verify` judge a signature by the same rules.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub identity: String,
    pub signed_at: OffsetDateTime,
    pub time_source: &'static str,
}

/// Judge a signature over a commit or tag payload: the policy of each parent
/// (a root commit: its own tree; a tag: the tagged commit's tree) may
/// authorise the signer. No environment applies: git names no ref.
pub fn judge_object(
    repo: &Repo,
    sig: &[u8],
    payload: &[u8],
) -> std::result::Result<Judgement, (Reason, String)> {
    let text = String::from_utf8_lossy(payload);
    let header = text.split("\n\n").next().unwrap_or("");
    let field = |name: &str| -> Vec<String> {
        header
            .lines()
            .filter_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .collect()
    };
    let claimed = header
        .lines()
        .find_map(|l| {
            l.strip_prefix("committer ")
                .or_else(|| l.strip_prefix("tagger "))
        })
        .and_then(|l| l.rsplit(' ').nth(1))
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0);
    let checked = check_signature(sig, payload, claimed)?;
    let mut engine = Engine::new(repo);
    let err = |e: Error| (Reason::NoPolicy, e.to_string());
    let oid = |s: &String| ObjectId::from_hex(s.as_bytes()).ok();
    let (candidates, own_tree): (Vec<ObjectId>, Option<ObjectId>) = if header.starts_with("object ")
    {
        let trees = field("object ")
            .iter()
            .filter_map(|o| repo.resolve_commit_id(o).ok())
            .filter_map(|c| repo.commit_info(&c).ok().map(|i| i.tree))
            .collect();
        (trees, None)
    } else {
        let parents = field("parent ");
        let own = field("tree ").first().and_then(oid);
        if parents.is_empty() {
            (own.into_iter().collect(), None)
        } else {
            let trees = parents
                .iter()
                .filter_map(oid)
                .filter_map(|p| repo.commit_info(&p).ok().map(|i| i.tree))
                .collect();
            (trees, own)
        }
    };
    let own_blob = match &own_tree {
        Some(t) => engine.policy_blob(t).map_err(err)?,
        None => None,
    };
    let mut last = (
        Reason::NoPolicy,
        "no signing.toml governs this object".to_owned(),
    );
    for tree in candidates {
        let Some(pol) = engine.policy_of_tree(&tree).map_err(err)? else {
            continue;
        };
        let changes_policy = own_tree.is_some() && own_blob != Some(pol.blob);
        match authorise(&pol, &[], &checked, &[], changes_policy) {
            Ok(identity) => {
                let checked = with_trusted_time(&pol, checked);
                return Ok(Judgement {
                    identity: identity.to_string(),
                    signed_at: checked.signed_at,
                    time_source: checked.time_source,
                });
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::walk::split_commit_signature;

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata");

    fn checked(name: &str) -> Checked {
        let raw = std::fs::read(format!("{TESTDATA}/gitsign/{name}.commit")).unwrap_or_default();
        let (sig, payload) = split_commit_signature(&raw).unwrap_or_default();
        check_signature(&sig, &payload, 0).unwrap_or_else(|e| panic!("{name}: {}", e.1))
    }

    fn resolved(identity: &str, with_trust: bool) -> Resolved {
        let policy = format!(
            "version = 1\n[policy]\nadmins = [\"o\"]\n[owners.o]\ncontact = \"o@example.com\"\n\
             [environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"keyless\"]\n\
             [identities.dev]\nowner = \"o\"\nenvironments = [\"dev\"]\ncustody = \"keyless\"\nkeyless = {identity}\n"
        );
        let raw = policy::load::parse("signing.toml", policy.as_bytes())
            .result
            .unwrap_or_else(|d| panic!("{}", d.message));
        let trust = with_trust.then(|| {
            fulcio::TrustedRoot::from_json(
                &std::fs::read(format!(
                    "{TESTDATA}/trust/sigstore-public-good.trusted_root.json"
                ))
                .unwrap_or_default(),
            )
            .unwrap_or_default()
        });
        let keyless = raw
            .identities
            .iter()
            .filter_map(|(n, id)| {
                id.keyless.as_ref().map(|k| {
                    (
                        n.get().as_str().into(),
                        k.issuer.get().clone(),
                        k.subject.get().clone(),
                    )
                })
            })
            .collect();
        Resolved {
            raw: Rc::new(raw),
            blob: ObjectId::null(gix::hash::Kind::Sha1),
            by_cert: HashMap::new(),
            by_ssh: HashMap::new(),
            validity: HashMap::new(),
            keyless,
            by_pgp: Vec::new(),
            anchored: Vec::new(),
            trust,
        }
    }

    const CTADEU: &str = "2a9386b15d6f644d949eeb18e03a959fc7d71282";

    #[test]
    fn a_gitsign_commit_is_authorised_by_its_keyless_identity_only() {
        let c = checked(CTADEU);
        let ok = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
            true,
        );
        assert_eq!(
            authorise(&ok, &[], &c, &["dev".to_owned()], false).map_err(|e| e.0),
            Ok("dev".into())
        );

        let other = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"someone@example.com\" }",
            true,
        );
        assert_eq!(
            authorise(&other, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );

        let other_issuer = resolved(
            "{ issuer = \"https://accounts.google.com\", subject = \"ctadeu@gmail.com\" }",
            true,
        );
        assert_eq!(
            authorise(&other_issuer, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );

        let untrusted = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
            false,
        );
        assert_eq!(
            authorise(&untrusted, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );
    }

    #[test]
    fn a_keyless_signature_outside_its_ten_minutes_is_refused() {
        let mut c = checked(CTADEU);
        c.signed_at += time::Duration::hours(1);
        let ok = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
            true,
        );
        assert_eq!(
            authorise(&ok, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::CertificateInvalidAtSigning)
        );
    }

    #[test]
    fn the_odd_dex_issuer_does_not_pass_for_github() {
        let c = checked("589347413c5ce7c8fe1b3400eb0173f0d74077a8");
        let github = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"billy@chainguard.dev\" }",
            true,
        );
        assert_eq!(
            authorise(&github, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );
    }

    fn pgp_checked(path: &str) -> Checked {
        let raw = std::fs::read(format!("{TESTDATA}/openpgp/{path}")).unwrap_or_default();
        let (sig, payload) = split_commit_signature(&raw).unwrap_or_default();
        check_signature(&sig, &payload, 0).unwrap_or_else(|e| panic!("{path}: {}", e.1))
    }

    fn with_pgp_key(key_file: &str) -> Resolved {
        let mut r = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"nobody@example.com\" }",
            false,
        );
        let keys = openpgp::read_keys(
            &std::fs::read(format!("{TESTDATA}/openpgp/{key_file}")).unwrap_or_default(),
        )
        .unwrap_or_default();
        r.by_pgp.push(("dev".into(), keys));
        r
    }

    #[test]
    fn a_web_flow_merge_is_authorised_by_the_forge_key_only() {
        let new_key = with_pgp_key("github-web-flow-968479A1AFF927E37D1A566BB5690EEEBB952194.asc");
        let c = pgp_checked("cde02c7a5ea01dcf896ee1894d2daf8b81325410.commit");
        assert_eq!(
            authorise(&new_key, &[], &c, &[], false).map_err(|e| e.0),
            Ok("dev".into())
        );
        assert_eq!(c.time_source, "signature creation time (untrusted)");
        let junio = with_pgp_key("junio-gpg-pub-96E07AF25771955980DAD10020D04E5A713660A7.asc");
        assert_eq!(
            authorise(&junio, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );
        let tampered = pgp_checked(
            "tampered/cde02c7a5ea01dcf896ee1894d2daf8b81325410.body-byte-flipped.commit",
        );
        assert_eq!(
            authorise(&new_key, &[], &tampered, &[], false).map_err(|e| e.0),
            Err(Reason::BadSignature)
        );
    }

    fn smime_checked(name: &str) -> Checked {
        let raw = std::fs::read(format!("{TESTDATA}/smimesign/{name}.commit")).unwrap_or_default();
        let (sig, payload) = split_commit_signature(&raw).unwrap_or_default();
        check_signature(&sig, &payload, 0).unwrap_or_else(|e| panic!("{name}: {}", e.1))
    }

    fn anchored_at(ca: &[u8], subject: &str) -> Resolved {
        let mut r = resolved(
            "{ issuer = \"https://a.example\", subject = \"nobody\" }",
            false,
        );
        r.anchored.push((
            "dev".into(),
            fulcio::TrustedRoot {
                cas: x509::ca_certificates(ca).unwrap_or_else(|e| panic!("{e}")),
                tlogs: Vec::new(),
            },
            subject.to_owned(),
        ));
        r
    }

    #[test]
    fn an_smimesign_commit_is_authorised_through_the_ca_its_identity_anchors() {
        let certum = std::fs::read(format!(
            "{TESTDATA}/smimesign/certum-trusted-network-ca.pem"
        ))
        .unwrap_or_default();
        let c = smime_checked("9f553393e2739b0d63ba5a2e29d1c51d22ebc07e");
        // the manifest's signing time, inside the certificate's validity
        assert_eq!(
            authorise(
                &anchored_at(&certum, "mateusz@klatt.ie"),
                &[],
                &c,
                &[],
                false
            )
            .map_err(|e| e.1),
            Ok("dev".into())
        );
        // another name under the same CA is someone else
        assert_eq!(
            authorise(
                &anchored_at(&certum, "someone@klatt.ie"),
                &[],
                &c,
                &[],
                false
            )
            .map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );
        // the same name under another CA does not chain
        let other = include_bytes!("../../tests/fixtures/chain/root.der");
        assert_eq!(
            authorise(&anchored_at(other, "mateusz@klatt.ie"), &[], &c, &[], false)
                .map_err(|e| e.0),
            Err(Reason::CertificateInvalidAtSigning)
        );
        // a claimed time after the certificate expired
        let mut late = c.clone();
        late.signed_at = OffsetDateTime::from_unix_timestamp(1_700_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            authorise(
                &anchored_at(&certum, "mateusz@klatt.ie"),
                &[],
                &late,
                &[],
                false
            )
            .map_err(|e| e.0),
            Err(Reason::CertificateInvalidAtSigning)
        );
        // a leaf is no trust anchor
        assert!(
            x509::ca_certificates(include_bytes!("../../tests/fixtures/chain/leaf.der")).is_err()
        );
    }

    #[test]
    fn a_gitsign_rekor_entry_gives_a_trusted_time_and_a_forged_one_is_refused() {
        let policy = resolved(
            "{ issuer = \"https://accounts.google.com\", subject = \"billy@chainguard.dev\" }",
            true,
        );
        let c = checked("dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8");
        let (at, trusted) = effective_time(&policy, &c).unwrap_or_else(|e| panic!("{}", e.1));
        assert!(trusted);
        // the manifest's integratedTime
        assert_eq!(
            policy::timestamp::Timestamp(at).to_string(),
            "2026-08-05T14:17:17Z"
        );
        assert_eq!(
            authorise(&policy, &[], &c, &[], false).map_err(|e| e.1),
            Ok("dev".into())
        );
        assert_eq!(
            with_trusted_time(&policy, c.clone()).time_source,
            REKOR_TIME
        );
        // without the log's key the entry proves nothing, and costs nothing
        let mut no_logs = resolved(
            "{ issuer = \"https://accounts.google.com\", subject = \"billy@chainguard.dev\" }",
            true,
        );
        if let Some(t) = no_logs.trust.as_mut() {
            t.tlogs.clear();
        }
        assert_eq!(effective_time(&no_logs, &c).map(|t| t.1), Ok(false));
        // an entry for another signature (its body changed) is refused
        let mut forged = c.clone();
        if let Signer::Keyless(k) = &mut forged.signer
            && let Some((_, body)) = k.rekor.as_mut()
        {
            let at = body.len() / 2;
            body[at] ^= 1;
        }
        assert_eq!(
            authorise(&policy, &[], &forged, &[], false).map_err(|e| e.0),
            Err(Reason::BadSignature)
        );
        // a commit without an entry keeps its signer's time
        let plain = checked(CTADEU);
        let ctadeu = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
            true,
        );
        assert_eq!(effective_time(&ctadeu, &plain).map(|t| t.1), Ok(false));
    }
}
