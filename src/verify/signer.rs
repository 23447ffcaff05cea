//! Who signed a commit or tag, by the signature alone: the checks that need
//! no policy (CMS, SSH, OpenPGP well-formedness, keyless certificates), and
//! their storable form for the cache.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;

use super::cache;
use super::policy_at::Resolved;
use super::report::Reason;
use crate::signature::{self, cms, fulcio, openpgp, ssh, x509};

/// A Sigstore keyless signer (boxed: rare, and large).
#[derive(Clone)]
pub(crate) struct KeylessSigner {
    pub fingerprint: String,
    pub subject: String,
    /// leaf first, then the certificates the signature carried
    pub certs: Vec<Vec<u8>>,
    pub identity: fulcio::KeylessIdentity,
    /// the embedded Rekor entry and the body it stands for
    pub rekor: Option<(Vec<u8>, Vec<u8>)>,
}

/// Who signed, by the signature alone.
#[derive(Clone)]
pub(crate) enum Signer {
    /// A Sigstore keyless (Fulcio) certificate: who it names counts only once
    /// it chains to the policy's trusted root.
    Keyless(Box<KeylessSigner>),
    Cert {
        fingerprint: Arc<str>,
        subject: Arc<str>,
        /// leaf first, then the certificates the signature carried (for
        /// identities anchored at a CA); shared by every commit of a signer
        certs: Arc<[Vec<u8>]>,
        /// an RFC 3161 token over the signature, and the signature
        timestamp: Option<Arc<(Vec<u8>, Vec<u8>)>>,
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
pub(crate) struct Checked {
    pub signer: Signer,
    pub signed_at: OffsetDateTime,
    pub time_source: &'static str,
}

pub(super) fn ts(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// What a signer certificate says (its facts, and the keyless identity it
/// binds, if any), parsed once per certificate and thread: a history repeats
/// a handful of certificates.
pub(super) fn certificate_facts(
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

/// The largest signature header read (a gitsign signature with its Rekor
/// entry is about 7 KiB; a 1,000-certificate CMS bag is half a megabyte).
pub const MAX_SIGNATURE_BYTES: usize = 64 * 1024;

/// Check a signature cryptographically: who made it, and when they say.
pub(crate) fn check_signature(
    sig: &[u8],
    payload: &[u8],
    claimed: i64,
) -> std::result::Result<Checked, (Reason, String)> {
    read_signature(sig, payload, claimed, true)
}

/// [`check_signature`]; `verify`: false only for a keyless CMS signature the
/// authenticated cache recorded as verified for this very commit (its
/// chain, log and identity are still judged under each policy).
pub(super) fn read_signature(
    sig: &[u8],
    payload: &[u8],
    claimed: i64,
    verify: bool,
) -> std::result::Result<Checked, (Reason, String)> {
    // bounded work per signature, whatever a history carries
    if sig.len() > MAX_SIGNATURE_BYTES {
        return Err((
            Reason::SignatureOverBounds,
            format!(
                "the signature is {} bytes; sigctl reads signatures of at most {MAX_SIGNATURE_BYTES} bytes (real ones are under 16 KiB)",
                sig.len()
            ),
        ));
    }
    if sig.starts_with(b"-----BEGIN SIGNED MESSAGE-----")
        || sig.starts_with(b"-----BEGIN PKCS7-----")
    {
        let v = cms::read_detached(sig, payload, verify).map_err(|e| match e {
            cms::CmsError::Unsupported(u) => (Reason::UnsupportedSignature, u),
            cms::CmsError::OverBounds(m) => (Reason::SignatureOverBounds, m),
            other => (Reason::BadSignature, other.to_string()),
        })?;
        let (facts, keyless) = certificate_facts(&v.certificate)?;
        let (signed_at, time_source) = match v.signing_time {
            Some(t) => (t, "signing-time attribute (untrusted)"),
            None => (ts(claimed), "committer date (untrusted)"),
        };
        let timestamp = v.timestamp.map(Arc::new);
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
                    timestamp,
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
            openpgp::PgpError::OverBounds(m) => (Reason::SignatureOverBounds, m),
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
    // no armour sigctl reads (CMS, SSH, OpenPGP): refused as unsupported,
    // never guessed at
    Err((
        Reason::UnsupportedSignature,
        "the signature is not in a format sigctl reads (CMS, SSH or OpenPGP)".into(),
    ))
}

pub(super) type Check = std::result::Result<Checked, (Reason, String)>;

/// Stored in the cache by position: append only.
pub(super) const TIME_SOURCES: &[&str] = &[
    "signing-time attribute (untrusted)",
    "committer date (untrusted)",
    "signature creation time (untrusted)",
    REKOR_TIME,
    TSA_TIME,
];

/// The storable form of a check; keyless and OpenPGP checks are not stored
/// (their certificates or signatures would have to be, to check them again
/// under each policy).
pub(super) fn to_stored(c: Option<&Check>) -> cache::Stored {
    let source = |s: &str| TIME_SOURCES.iter().position(|t| *t == s).unwrap_or(0) as u8;
    match c {
        // a keyless signature that verified: read again without the crypto
        // (chain, log and identity are judged under each policy)
        Some(Ok(Checked {
            signer: Signer::Keyless(_),
            ..
        })) => cache::Stored::Verified,
        // a timestamped signature's trusted time depends on the policy's
        // trusted root: checked afresh
        None
        | Some(Ok(Checked {
            signer:
                Signer::Pgp { .. }
                | Signer::Cert {
                    timestamp: Some(_), ..
                },
            ..
        })) => cache::Stored::Unchecked,
        Some(Ok(Checked {
            signer:
                Signer::Cert {
                    fingerprint,
                    subject,
                    certs,
                    timestamp: None,
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

pub(super) fn from_stored(e: &cache::Stored) -> Option<Check> {
    let source = |n: &u8| TIME_SOURCES.get(usize::from(*n)).copied();
    Some(match e {
        cache::Stored::Unchecked | cache::Stored::Verified => return None,
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
                timestamp: None,
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
pub(super) struct Shared {
    keys: std::collections::HashSet<Arc<[u8]>>,
    /// by fingerprint: each distinct chain that came with that leaf
    pub certs: HashMap<Arc<str>, Vec<Signer>>,
}

impl Shared {
    pub fn intern(&mut self, check: &mut Check) {
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

/// The checks of a signature against a policy's trusted root (a Rekor
/// entry's promise, a certificate chain at a time, an RFC 3161 token), by
/// the SHA-256 of exactly what they read: pure functions of their inputs,
/// made once per policy, on every core before the judgement (`prewarm`)
/// and looked up during it.
#[derive(Default)]
pub(super) struct TrustMemo {
    rekor: HashMap<[u8; 32], std::result::Result<Option<OffsetDateTime>, String>>,
    chain: HashMap<[u8; 32], std::result::Result<(), String>>,
    tsa: HashMap<[u8; 32], Option<OffsetDateTime>>,
}

impl TrustMemo {
    /// One line per check: `r KEY ok UNIX|none|err JSON`, `c KEY ok|err
    /// JSON`, `t KEY UNIX|none`.
    pub fn lines(&self) -> Vec<String> {
        let hex = crate::signature::x509::hex;
        let json = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let mut out = Vec::with_capacity(self.rekor.len() + self.chain.len() + self.tsa.len());
        for (k, v) in &self.rekor {
            out.push(match v {
                Ok(Some(t)) => format!("r {} ok {}", hex(k), t.unix_timestamp()),
                Ok(None) => format!("r {} none", hex(k)),
                Err(e) => format!("r {} err {}", hex(k), json(e)),
            });
        }
        for (k, v) in &self.chain {
            out.push(match v {
                Ok(()) => format!("c {} ok", hex(k)),
                Err(e) => format!("c {} err {}", hex(k), json(e)),
            });
        }
        for (k, v) in &self.tsa {
            out.push(match v {
                Some(t) => format!("t {} {}", hex(k), t.unix_timestamp()),
                None => format!("t {} none", hex(k)),
            });
        }
        out
    }

    /// Add what `lines` wrote (a line that does not parse is skipped).
    pub fn absorb(&mut self, lines: &[String]) {
        let key = |h: &str| -> Option<[u8; 32]> {
            let b: Vec<u8> = (0..h.len())
                .step_by(2)
                .map(|i| h.get(i..i + 2).and_then(|x| u8::from_str_radix(x, 16).ok()))
                .collect::<Option<_>>()?;
            b.try_into().ok()
        };
        let time = |s: &str| {
            s.parse::<i64>()
                .ok()
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        };
        for l in lines {
            let mut parts = l.splitn(4, ' ');
            let (Some(kind), Some(k)) = (parts.next(), parts.next().and_then(key)) else {
                continue;
            };
            let (what, rest) = (parts.next(), parts.next());
            match (kind, what, rest) {
                ("r", Some("ok"), Some(t)) => {
                    if let Some(t) = time(t) {
                        self.rekor.insert(k, Ok(Some(t)));
                    }
                }
                ("r", Some("none"), None) => {
                    self.rekor.insert(k, Ok(None));
                }
                ("r", Some("err"), Some(e)) => {
                    if let Ok(e) = serde_json::from_str(e) {
                        self.rekor.insert(k, Err(e));
                    }
                }
                ("c", Some("ok"), None) => {
                    self.chain.insert(k, Ok(()));
                }
                ("c", Some("err"), Some(e)) => {
                    if let Ok(e) = serde_json::from_str(e) {
                        self.chain.insert(k, Err(e));
                    }
                }
                ("t", Some("none"), None) => {
                    self.tsa.insert(k, None);
                }
                ("t", Some(t), None) => {
                    if let Some(t) = time(t) {
                        self.tsa.insert(k, Some(t));
                    }
                }
                _ => {}
            }
        }
    }
}

fn memo_key(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

fn rekor_key(entry: &[u8], body: &[u8]) -> [u8; 32] {
    memo_key(&[b"rekor", entry, body])
}

fn chain_key(certs: &[Vec<u8>], at: OffsetDateTime) -> [u8; 32] {
    let at = at.unix_timestamp().to_be_bytes();
    let mut parts: Vec<&[u8]> = vec![b"chain", &at];
    parts.extend(certs.iter().map(Vec::as_slice));
    memo_key(&parts)
}

fn tsa_key(token: &[u8], signature: &[u8]) -> [u8; 32] {
    memo_key(&[b"tsa", token, signature])
}

/// A Rekor entry's promise under `parent`'s trusted root, once.
fn rekor_checked(
    parent: &Resolved,
    trust: &fulcio::TrustedRoot,
    entry: &[u8],
    body: &[u8],
) -> std::result::Result<Option<OffsetDateTime>, String> {
    let key = rekor_key(entry, body);
    if let Some(r) = parent.memo.borrow().rekor.get(&key) {
        return r.clone();
    }
    let r = signature::rekor::verify(entry, body, &trust.tlogs);
    parent.memo.borrow_mut().rekor.insert(key, r.clone());
    r
}

/// A keyless certificate chain to `parent`'s trusted root at `at`, once.
pub(super) fn chain_checked(
    parent: &Resolved,
    trust: &fulcio::TrustedRoot,
    certs: &[Vec<u8>],
    at: OffsetDateTime,
) -> std::result::Result<(), String> {
    let key = chain_key(certs, at);
    if let Some(r) = parent.memo.borrow().chain.get(&key) {
        return r.clone();
    }
    let r = match certs.split_first() {
        Some((leaf, rest)) => fulcio::verify_chain(leaf, rest, trust, at),
        None => Err("no certificate".into()),
    };
    parent.memo.borrow_mut().chain.insert(key, r.clone());
    r
}

/// Whether a check's verdict depends on a policy's trusted root.
pub(super) fn needs_trust_root(c: &Checked) -> bool {
    matches!(
        c.signer,
        Signer::Keyless(_)
            | Signer::Cert {
                timestamp: Some(_),
                ..
            }
    )
}

/// What `prewarm` computes for one signature.
type Warmed = (
    Option<(
        [u8; 32],
        std::result::Result<Option<OffsetDateTime>, String>,
    )>,
    Option<([u8; 32], std::result::Result<(), String>)>,
    Option<([u8; 32], Option<OffsetDateTime>)>,
);

/// The checks the judgement will ask of `checks` under `parent`, made on
/// every core now: the judgement itself goes commit by commit.
pub(super) fn prewarm(repo: &crate::repo::Repo, parent: &Resolved, checks: &[&Checked]) {
    let Some(trust) = &parent.trust else {
        return;
    };
    // what an earlier run (the verify cache's memo) already knows is not redone
    let checks: Vec<&Checked> = {
        let memo = parent.memo.borrow();
        checks
            .iter()
            .filter(|c| match &c.signer {
                Signer::Keyless(k) => {
                    let at = match &k.rekor {
                        Some((entry, body)) => match memo.rekor.get(&rekor_key(entry, body)) {
                            None => return true,
                            Some(Err(_)) => return false,
                            Some(Ok(Some(t))) => *t,
                            Some(Ok(None)) => c.signed_at,
                        },
                        None => c.signed_at,
                    };
                    !memo.chain.contains_key(&chain_key(&k.certs, at))
                }
                Signer::Cert {
                    timestamp: Some(ts),
                    ..
                } => !memo.tsa.contains_key(&tsa_key(&ts.0, &ts.1)),
                _ => false,
            })
            .copied()
            .collect()
    };
    let warmed: Vec<Warmed> = repo.par_map(&checks, |_, c| match &c.signer {
        Signer::Keyless(k) => {
            let rekor = k.rekor.as_ref().map(|(entry, body)| {
                (
                    rekor_key(entry, body),
                    signature::rekor::verify(entry, body, &trust.tlogs),
                )
            });
            // the time `authorise` will judge the chain at
            let at = match &rekor {
                Some((_, Err(_))) => return (rekor, None, None),
                Some((_, Ok(Some(t)))) => *t,
                _ => c.signed_at,
            };
            let chain = k.certs.split_first().map(|(leaf, rest)| {
                (
                    chain_key(&k.certs, at),
                    fulcio::verify_chain(leaf, rest, trust, at),
                )
            });
            (rekor, chain, None)
        }
        Signer::Cert {
            timestamp: Some(ts),
            ..
        } => (
            None,
            None,
            Some((tsa_key(&ts.0, &ts.1), tsa_time(&ts.0, &ts.1, &trust.tsas))),
        ),
        _ => (None, None, None),
    });
    let mut memo = parent.memo.borrow_mut();
    for (rekor, chain, tsa) in warmed {
        if let Some((k, r)) = rekor {
            memo.rekor.insert(k, r);
        }
        if let Some((k, r)) = chain {
            memo.chain.insert(k, r);
        }
        if let Some((k, r)) = tsa {
            memo.tsa.insert(k, r);
        }
    }
}

/// The time a signature is judged at under a policy, and whether the signer
/// could not have chosen it: a keyless signature with a Rekor entry whose
/// promise a log key of the policy's trusted root signed is judged at the
/// entry's integrated time; an entry that does not verify is refused.
pub(super) fn effective_time(
    parent: &Resolved,
    checked: &Checked,
) -> std::result::Result<(OffsetDateTime, bool), (Reason, String)> {
    if let Signer::Keyless(k) = &checked.signer
        && let Some((entry, body)) = &k.rekor
        && let Some(trust) = &parent.trust
    {
        return match rekor_checked(parent, trust, entry, body) {
            Ok(Some(at)) => Ok((at, true)),
            // a log the policy does not trust: the signer's own time, untrusted
            Ok(None) => Ok((checked.signed_at, false)),
            Err(e) => Err((Reason::BadSignature, e)),
        };
    }
    // a certificate signature with an RFC 3161 token that a timestamp
    // authority of the policy's trusted root signed, over this signature:
    // the token's time; any other token is no evidence (untrusted time)
    if let Signer::Cert {
        timestamp: Some(ts),
        ..
    } = &checked.signer
        && let Some(trust) = &parent.trust
    {
        let key = tsa_key(&ts.0, &ts.1);
        let known = parent.memo.borrow().tsa.get(&key).copied();
        let at = match known {
            Some(at) => at,
            None => {
                let at = tsa_time(&ts.0, &ts.1, &trust.tsas);
                parent.memo.borrow_mut().tsa.insert(key, at);
                at
            }
        };
        if let Some(at) = at {
            return Ok((at, true));
        }
    }
    Ok((checked.signed_at, false))
}

/// The time of an RFC 3161 token over `signature`, if one of `tsas`
/// signed it within its validity.
fn tsa_time(
    token: &[u8],
    signature: &[u8],
    tsas: &[sigstore_types::TsaAuthority],
) -> Option<OffsetDateTime> {
    let token = sigstore_types::TimestampToken::new(token.to_vec());
    let sig = sigstore_types::SignatureBytes::new(signature.to_vec());
    tsas.iter().find_map(|a| {
        let t = sigstore_sign::tsa::verify_timestamp_for_authority(&token, &sig, a).ok()?;
        OffsetDateTime::from_unix_timestamp(t.as_second()).ok()
    })
}

/// `checked`, judged at its trusted time under `policy` when it has one.
pub(super) fn with_trusted_time(policy: &Resolved, mut checked: Checked) -> Checked {
    if let Ok((at, true)) = effective_time(policy, &checked) {
        checked.signed_at = at;
        checked.time_source = match checked.signer {
            Signer::Keyless(_) => REKOR_TIME,
            _ => TSA_TIME,
        };
    }
    checked
}

pub(super) const REKOR_TIME: &str = "Rekor integrated time";
pub(super) const TSA_TIME: &str = "RFC 3161 timestamp";
