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
pub(super) struct KeylessSigner {
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
pub(super) enum Signer {
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
pub(super) struct Checked {
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
pub(super) fn check_signature(
    sig: &[u8],
    payload: &[u8],
    claimed: i64,
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
        let v = cms::verify_detached(sig, payload).map_err(|e| match e {
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
    Err((
        Reason::BadSignature,
        "the signature is not in a format sigctl knows".into(),
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
        // a timestamped signature's trusted time depends on the policy's
        // trusted root: checked afresh, like a keyless one
        None
        | Some(Ok(Checked {
            signer:
                Signer::Keyless(_)
                | Signer::Pgp { .. }
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
        return match signature::rekor::verify(entry, body, &trust.tlogs) {
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
        && let Some(at) = tsa_time(&ts.0, &ts.1, &trust.tsas)
    {
        return Ok((at, true));
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
