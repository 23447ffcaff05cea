//! Signing use cases: decide whether an identity may sign (before the token
//! is touched), then sign commits and tags (CMS) and artefacts (bundles).
//!
//! Returns values and typed errors; never prints.

pub mod artifact;
pub mod tag;
pub mod verify_artifact;

use std::collections::BTreeMap;

use der::Decode;
use time::OffsetDateTime;

use crate::check::read_certificate;
use crate::error::Error;
use crate::policy::pkcs11_uri::{self, Pkcs11Uri};
use crate::policy::raw::{Custody, RawIdentity, RawPolicy, RevocationReason};
use crate::policy::{self, CertInput};
use crate::repo::Repo;
use crate::signature::cms::{self, CmsSigner};
use crate::signature::x509::{self, CertFacts};
use crate::signer::adapter::{TokenP256, TokenP384};
use crate::signer::{KeyAlgorithm, KeyInfo, SignerError, Token, TokenAccess};

/// Why sigctl refuses to sign, or could not.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SignError {
    #[error("identity `{name}` is not in signing.toml ({})", if known.is_empty() { "it declares none".to_owned() } else { format!("it declares {}", known.join(", ")) })]
    #[diagnostic(
        code(unknown_identity),
        help("name an identity of the policy (for git: `git config user.signingkey <identity>`)")
    )]
    UnknownIdentity { name: String, known: Vec<String> },

    #[error(
        "identity `{name}` has custody `{custody}`; only hsm identities sign through a PKCS#11 token"
    )]
    #[diagnostic(code(not_hsm))]
    NotHsm { name: String, custody: &'static str },

    #[error("identity `{name}` is revoked ({reason}, {at}): it signs nothing")]
    #[diagnostic(code(revoked), help("sign with the identity that superseded it"))]
    Revoked {
        name: String,
        reason: &'static str,
        at: String,
    },

    #[error("identity `{name}` has no usable certificate: {why}")]
    #[diagnostic(
        code(no_certificate),
        help(
            "issue one: `sigctl cert request --identity {name}`, then `sigctl cert import --identity {name} <file>`"
        )
    )]
    NoCertificate { name: String, why: String },

    #[error("the certificate of identity `{name}` expired on {date}")]
    #[diagnostic(
        code(certificate_expired),
        help("renew it: `sigctl cert request --identity {name}`")
    )]
    CertificateExpired { name: String, date: String },

    #[error("the certificate of identity `{name}` is not valid before {date}")]
    #[diagnostic(code(certificate_not_yet_valid))]
    CertificateNotYetValid { name: String, date: String },

    #[error("identity `{name}` may not sign `{refname}`: that ref belongs to environment `{env}`, and the identity signs for {}", if envs.is_empty() { "no environment".to_owned() } else { envs.join(", ") })]
    #[diagnostic(
        code(wrong_environment),
        help(
            "sign with an identity of environment `{env}`, or record an approved exception in signing.toml"
        )
    )]
    WrongEnvironment {
        name: String,
        refname: String,
        env: String,
        envs: Vec<String>,
    },

    #[error(
        "the certificate of identity `{name}` is not for the key on the token (certificate key sha256:{cert}, token key sha256:{token})"
    )]
    #[diagnostic(
        code(certificate_key_mismatch),
        help(
            "import the certificate issued for this key: `sigctl cert import --identity {name} <file>`"
        )
    )]
    KeyMismatch {
        name: String,
        cert: String,
        token: String,
    },

    #[error("identity `{name}`: the key URI is not usable: {why}")]
    #[diagnostic(code(invalid_key_uri))]
    BadUri { name: String, why: String },

    #[error("signing.toml does not parse: {message}")]
    #[diagnostic(code(invalid_policy), help("run `sigctl check` for the details"))]
    InvalidPolicy { message: String },

    #[error("signing failed: {0}")]
    #[diagnostic(code(signing_failed))]
    Cms(String),

    #[error("{0}")]
    #[diagnostic(code(verification_failed))]
    Verify(String),

    #[error(transparent)]
    #[diagnostic(code(interrupted))]
    Interrupted(#[from] crate::interrupt::Interrupted),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Token(#[from] SignerError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Repo(#[from] Error),
}

impl SignError {
    /// Whether this is a refusal by policy (exit 1) rather than an environment fault (exit 2).
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            SignError::Token(_)
                | SignError::Repo(_)
                | SignError::Cms(_)
                | SignError::InvalidPolicy { .. }
        )
    }
}

/// The policy a signing operation obeys: signing.toml at HEAD, or the work
/// tree's on an unborn branch; certificates from the work tree.
pub struct PolicyView {
    pub raw: RawPolicy,
    /// Blob id of the signing.toml in force (None: not committed yet).
    pub blob: Option<String>,
}

/// The work tree's signing.toml: a regular file within the policy limit.
fn read_worktree_policy(repo: &Repo) -> Result<Vec<u8>, Error> {
    let path = repo.root().join(policy::FILE_NAME);
    crate::files::read(&path, crate::files::POLICY).map_err(|e| match e {
        crate::files::ReadError::NotFound { path } => Error::NoPolicy { path },
        e => e.into(),
    })
}

impl PolicyView {
    pub fn load(repo: &Repo) -> Result<Self, SignError> {
        let (blob, bytes) = match repo.file_at_head(policy::FILE_NAME)? {
            Some((id, b)) => (Some(id), b),
            None => (None, read_worktree_policy(repo)?),
        };
        Self::from_bytes(&bytes, blob)
    }

    /// The work tree's signing.toml (for lifecycle commands that edit it).
    pub fn load_worktree(repo: &Repo) -> Result<Self, SignError> {
        Self::from_bytes(&read_worktree_policy(repo)?, None)
    }

    fn from_bytes(bytes: &[u8], blob: Option<String>) -> Result<Self, SignError> {
        let parsed = policy::load::parse(policy::FILE_NAME, bytes);
        match parsed.result {
            Ok(raw) => Ok(Self { raw, blob }),
            Err(d) => Err(SignError::InvalidPolicy {
                message: format!("{} (line {}, column {})", d.message, d.line, d.column),
            }),
        }
    }

    pub fn identity(&self, name: &str) -> Result<&RawIdentity, SignError> {
        self.raw
            .identities
            .iter()
            .find(|(k, _)| k.get() == name)
            .map(|(_, v)| v.get())
            .ok_or_else(|| SignError::UnknownIdentity {
                name: name.to_owned(),
                known: self
                    .raw
                    .identities
                    .keys()
                    .map(|k| k.get().clone())
                    .collect(),
            })
    }

    /// The identity git means by `key` (its `user.signingkey`): the identity
    /// of that name; or, when git passes `Name <email>` because signingkey is
    /// unset, the one hsm identity whose owner lists that address. Otherwise
    /// `key` unchanged, for `clear` to refuse by name.
    pub fn signing_identity_for(&self, key: &str) -> String {
        if self.raw.identities.keys().any(|k| k.get() == key) {
            return key.to_owned();
        }
        let Some(email) = key.rsplit_once('<').and_then(|(_, e)| e.strip_suffix('>')) else {
            return key.to_owned();
        };
        let candidates: Vec<&String> = self
            .raw
            .identities
            .iter()
            .filter(|(_, id)| *id.custody.get() == Custody::Hsm)
            .filter(|(_, id)| {
                self.raw.owners.iter().any(|(o, owner)| {
                    o.get() == id.owner.get() && owner.members.iter().any(|m| m.get() == email)
                })
            })
            .map(|(k, _)| k.get())
            .collect();
        match candidates.as_slice() {
            [one] => (*one).clone(),
            _ => key.to_owned(),
        }
    }

    /// The PKCS#11 URI of an hsm identity's key (refusing a PIN in it).
    pub fn key_uri(&self, name: &str) -> Result<Pkcs11Uri, SignError> {
        let id = self.identity(name)?;
        if *id.custody.get() != Custody::Hsm {
            return Err(SignError::NotHsm {
                name: name.to_owned(),
                custody: id.custody.get().as_str(),
            });
        }
        let bad = |why: String| SignError::BadUri {
            name: name.to_owned(),
            why,
        };
        let key = id.key.as_ref().ok_or_else(|| bad("no `key`".into()))?;
        let uri = pkcs11_uri::parse(key.get()).map_err(|e| bad(e.to_string()))?;
        if uri.has_pin_value {
            return Err(bad(
                "it carries a pin-value; remove it and give the PIN through SIGCTL_PKCS11_PIN"
                    .into(),
            ));
        }
        Ok(uri)
    }

    /// The environment a ref belongs to: the most specific matching pattern wins.
    /// A file the policy names, from where the policy itself came: HEAD's
    /// tree when signing.toml is committed (the policy in force for what is
    /// signed next is HEAD's, trust files included), else the work tree.
    pub fn trust_file(&self, repo: &Repo, path: &str) -> CertInput {
        if self.blob.is_none() {
            return read_certificate(repo.root(), path);
        }
        match repo.file_at_head(path) {
            Ok(None) => CertInput::Missing,
            Ok(Some((_, b))) if b.len() as u64 > policy::MAX_CERTIFICATE_BYTES => {
                CertInput::TooLarge(b.len() as u64)
            }
            Ok(Some((_, b))) => CertInput::Bytes(b),
            Err(e) => CertInput::Unreadable(e.to_string()),
        }
    }

    pub fn environment_of(&self, refname: &str) -> Option<String> {
        policy::view::environment_of(&self.raw, refname)
    }

    /// Certificates of every identity, keyed by the policy path (for verifying signers).
    pub fn certificates(&self, repo: &Repo) -> BTreeMap<String, Vec<u8>> {
        self.raw
            .identities
            .iter()
            .filter_map(|(name, id)| {
                let path = id.certificate.as_ref()?;
                match self.trust_file(repo, path.get()) {
                    CertInput::Bytes(b) => Some((name.get().clone(), b)),
                    _ => None,
                }
            })
            .collect()
    }
}

/// An identity cleared to sign: its key URI and certificate.
pub struct Cleared {
    pub name: String,
    pub uri: Pkcs11Uri,
    pub cert: x509_cert::Certificate,
    pub facts: CertFacts,
    /// Notes for the user (a ref outside every environment, …).
    pub notes: Vec<String>,
}

/// Every check that can refuse a signature without touching the token.
pub fn clear(
    repo: &Repo,
    view: &PolicyView,
    name: &str,
    refname: Option<&str>,
    now: OffsetDateTime,
) -> Result<Cleared, SignError> {
    let id = view.identity(name)?;
    if let Some(rev) = policy::view::revocations(&view.raw, name).next() {
        let reason = match rev.reason.get() {
            RevocationReason::KeyCompromise => "key-compromise",
            RevocationReason::Superseded => "superseded",
            RevocationReason::Retired => "retired",
        };
        return Err(SignError::Revoked {
            name: name.to_owned(),
            reason,
            at: rev.revoked_at.get().to_string(),
        });
    }
    let uri = view.key_uri(name)?;
    let no_cert = |why: String| SignError::NoCertificate {
        name: name.to_owned(),
        why,
    };
    let path = id
        .certificate
        .as_ref()
        .ok_or_else(|| no_cert("the identity declares no `certificate`".into()))?;
    let bytes = match view.trust_file(repo, path.get()) {
        CertInput::Bytes(b) => b,
        CertInput::Missing => return Err(no_cert(format!("`{}` does not exist", path.get()))),
        other => {
            return Err(no_cert(format!(
                "`{}` cannot be used: {}",
                path.get(),
                match other {
                    CertInput::NotAFile => "it is not a file".to_owned(),
                    CertInput::TooLarge(n) => format!("it is {n} bytes"),
                    CertInput::OutsideRepository => "it is outside the repository".to_owned(),
                    CertInput::Unreadable(e) => e,
                    CertInput::Bytes(_) | CertInput::Missing => String::new(),
                }
            )));
        }
    };
    let facts = x509::parse(&bytes).map_err(|e| no_cert(e.to_string()))?;
    if now >= facts.not_after {
        return Err(SignError::CertificateExpired {
            name: name.to_owned(),
            date: facts.not_after.date().to_string(),
        });
    }
    if now < facts.not_before {
        return Err(SignError::CertificateNotYetValid {
            name: name.to_owned(),
            date: facts.not_before.date().to_string(),
        });
    }
    let mut notes = Vec::new();
    if let Some(refname) = refname {
        match view.environment_of(refname) {
            Some(env) => {
                let admission = policy::view::admits(&view.raw, name, &env, now);
                if admission == policy::view::Admission::Refused {
                    return Err(SignError::WrongEnvironment {
                        name: name.to_owned(),
                        refname: refname.to_owned(),
                        env,
                        envs: id.environments.iter().map(|e| e.get().clone()).collect(),
                    });
                }
                if let policy::view::Admission::Excepted(x) = admission {
                    notes.push(format!(
                        "signing `{refname}` under exception `{x}` for environment `{env}`"
                    ));
                }
            }
            None => notes.push(format!(
                "`{refname}` matches no environment of signing.toml: only the base rule applies"
            )),
        }
    }
    let cert = x509_cert::Certificate::from_der(&facts.der).map_err(|e| no_cert(e.to_string()))?;
    Ok(Cleared {
        name: name.to_owned(),
        uri,
        cert,
        facts,
        notes,
    })
}

/// Open the token for a cleared identity, log in, and check that the
/// certificate carries the token's key.
pub fn open_key(cleared: &Cleared, access: &TokenAccess) -> Result<(Token, KeyInfo), SignError> {
    let token = access.open(&cleared.uri, false, true)?;
    let key = token.public_key(&cleared.uri)?;
    let token_fp = x509::hex(&sha2_256(&key.spki));
    if token_fp != cleared.facts.public_key_sha256 {
        return Err(SignError::KeyMismatch {
            name: cleared.name.clone(),
            cert: cleared.facts.public_key_sha256.clone(),
            token: token_fp,
        });
    }
    Ok((token, key))
}

pub(crate) fn sha2_256(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

/// A detached CMS signature over `payload`, PEM-armoured for git.
pub fn sign_cms(
    cleared: &Cleared,
    token: &Token,
    key: &KeyInfo,
    payload: &[u8],
    now: OffsetDateTime,
) -> Result<String, SignError> {
    let unsupported = || {
        SignError::Token(SignerError::UnsupportedKey {
            what: format!(
                "CMS signatures with {} keys (use ECDSA P-256 or P-384)",
                key.algorithm
            ),
        })
    };
    let signer = match key.algorithm {
        KeyAlgorithm::P256 => {
            CmsSigner::P256(TokenP256::new(token, &cleared.uri, key).ok_or_else(unsupported)?)
        }
        KeyAlgorithm::P384 => {
            CmsSigner::P384(TokenP384::new(token, &cleared.uri, key).ok_or_else(unsupported)?)
        }
        _ => return Err(unsupported()),
    };
    let der = cms::sign_detached(&signer, &cleared.cert, payload, now)
        .map_err(|e| SignError::Cms(e.to_string()))?;
    Ok(cms::armor(&der))
}
