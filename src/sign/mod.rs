//! Signing use cases: decide whether an identity may sign (before the token
//! is touched), then sign commits and tags (CMS) and artefacts (bundles).
//!
//! Returns values and typed errors; never prints.

pub mod artifact;
pub mod release;
pub mod supplier;
pub mod tag;
pub mod verify_artifact;

use der::Decode;
use time::OffsetDateTime;

use crate::check::read_certificate;
use crate::error::Error;
use crate::policy::pkcs11_uri::{self, Pkcs11Uri};
use crate::policy::raw::{Custody, RawIdentity, RawPolicy};
use crate::policy::{self, CertInput};
use crate::repo::Repo;
use crate::signature::cms::{self, CmsSigner};
use crate::signature::fulcio::TrustedRoot;
use crate::signature::signing_config::SigningConfig;
use crate::signature::x509::{self, CertFacts};
use crate::signer::adapter::{KeyP256, KeyP384};
use crate::signer::keyless::{self, KeylessError, Logged, Net, Services, Session};
use crate::signer::oidc::{IdentityToken, TokenError};
use crate::signer::{KeyAlgorithm, KeyInfo, MessageSigner, SignerError, Token, TokenAccess};

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
        "identity `{name}` has custody `{custody}`; sigctl signs only for hsm identities (a PKCS#11 token) and keyless ones (Sigstore)"
    )]
    #[diagnostic(code(not_hsm))]
    NotHsm { name: String, custody: &'static str },

    #[error("keyless identity `{name}` cannot sign: {why}")]
    #[diagnostic(
        code(keyless_unconfigured),
        help(
            "declare `keyless = {{ issuer = \"…\", subject = \"…\" }}` on the identity and a `[sigstore]` section naming `trusted_root` and `signing_config` files committed beside signing.toml; `sigctl check` says what is wrong"
        )
    )]
    KeylessUnconfigured { name: String, why: String },

    #[error("a trusted time is needed (RFC 3161), but there is no timestamp authority: {why}")]
    #[diagnostic(
        code(no_timestamp_authority),
        help(
            "name a signing config with a TSA in `[sigstore] signing_config`, or sign for a ref whose environment does not require trusted time"
        )
    )]
    NoTimestampAuthority { why: String },

    #[error(transparent)]
    #[diagnostic(code(identity_token))]
    IdentityToken(#[from] TokenError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    NoToken(#[from] keyless::NoToken),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Keyless(#[from] KeylessError),

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
        match self {
            SignError::IdentityToken(e) => e.is_refusal(),
            SignError::Keyless(e) => matches!(
                e,
                KeylessError::CertificateIdentity { .. } | KeylessError::Untrusted { .. }
            ),
            _ => !matches!(
                self,
                SignError::Token(_)
                    | SignError::Repo(_)
                    | SignError::Cms(_)
                    | SignError::InvalidPolicy { .. }
                    | SignError::NoToken(_)
            ),
        }
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
    /// unset, the one hsm or keyless identity whose owner lists that address. Otherwise
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
            .filter(|(_, id)| matches!(id.custody.get(), Custody::Hsm | Custody::Keyless))
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

    /// The TSA of the policy's signing config, for token signatures that
    /// need a trusted time (refused when there is none).
    pub fn timestamp_authority(
        &self,
        repo: &Repo,
        now: OffsetDateTime,
    ) -> Result<String, SignError> {
        let none = |why: String| SignError::NoTimestampAuthority { why };
        match sigstore_files(repo, self) {
            Ok(Some((_, Some(config)))) => Services::tsa_of(&config, now)
                .ok_or_else(|| none("its signing config lists no TSA valid now (tsaUrls)".into())),
            Ok(_) => Err(none(
                "signing.toml names no `[sigstore] signing_config` (whose tsaUrls name one)".into(),
            )),
            Err(why) => Err(none(why)),
        }
    }

    pub fn environment_of(&self, refname: &str) -> Option<String> {
        policy::view::environment_of(&self.raw, refname)
    }

    /// Every certificate of every identity: (identity, DER or PEM bytes),
    /// a renewed identity's predecessor and successor both (for verifying
    /// signers, each in its own window).
    pub fn certificates(&self, repo: &Repo) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for (name, id) in &self.raw.identities {
            for path in id.certificates() {
                if let CertInput::Bytes(b) = self.trust_file(repo, path.get()) {
                    out.push((name.get().clone(), b));
                }
            }
        }
        out
    }
}

/// How a cleared identity's key is held.
pub enum Custodian {
    /// On a PKCS#11 token, with the certificate the policy declares.
    Hsm {
        uri: Pkcs11Uri,
        cert: Box<x509_cert::Certificate>,
        facts: CertFacts,
    },
    /// Sigstore keyless: the identity Fulcio must certify, where to ask,
    /// and the trusted root what comes back must chain to.
    Keyless {
        issuer: String,
        subject: String,
        services: Services,
        root: TrustedRoot,
    },
}

/// An identity cleared to sign.
pub struct Cleared {
    pub name: String,
    pub custody: Custodian,
    /// A TSA to timestamp token signatures with (the signing config's).
    pub tsa: Option<String>,
    /// Notes for the user (a ref outside every environment, …).
    pub notes: Vec<String>,
}

/// The `[sigstore]` files of the policy in force: its trusted root and its
/// signing config, parsed.
type SigstoreFiles = (TrustedRoot, Option<SigningConfig>);

fn sigstore_files(repo: &Repo, view: &PolicyView) -> Result<Option<SigstoreFiles>, String> {
    let Some(sig) = &view.raw.sigstore else {
        return Ok(None);
    };
    let read = |path: &str| match view.trust_file(repo, path) {
        CertInput::Bytes(b) => Ok(b),
        CertInput::Missing => Err(format!("`{path}` does not exist")),
        CertInput::TooLarge(n) => Err(format!("`{path}` is {n} bytes")),
        CertInput::NotAFile => Err(format!("`{path}` is not a file")),
        CertInput::OutsideRepository => Err(format!("`{path}` is outside the repository")),
        CertInput::Unreadable(e) => Err(format!("`{path}`: {e}")),
    };
    let root = TrustedRoot::from_json(&read(sig.trusted_root.get())?)
        .map_err(|e| format!("the trusted root `{}`: {e}", sig.trusted_root.get()))?;
    let config = match &sig.signing_config {
        Some(p) => Some(
            SigningConfig::from_json(&read(p.get())?)
                .map_err(|e| format!("the signing config `{}` {e}", p.get()))?,
        ),
        None => None,
    };
    Ok(Some((root, config)))
}

/// Every check that can refuse a signature before a key is touched or a
/// token sent anywhere.
pub fn clear(
    repo: &Repo,
    view: &PolicyView,
    name: &str,
    refname: Option<&str>,
    now: OffsetDateTime,
) -> Result<Cleared, SignError> {
    let id = view.identity(name)?;
    if let Some(rev) = policy::view::revocations(&view.raw, name).next() {
        let reason = rev.reason.get().as_str();
        return Err(SignError::Revoked {
            name: name.to_owned(),
            reason,
            at: rev.revoked_at.get().to_string(),
        });
    }
    let custody = match id.custody.get() {
        Custody::Keyless => clear_keyless(repo, view, name, id, now)?,
        _ => clear_hsm(repo, view, name, id, now)?,
    };
    // a token signature is timestamped for a ref whose environment
    // requires trusted time (keyless signatures have the log's time)
    let trusted_time = refname
        .and_then(|r| view.environment_of(r))
        .is_some_and(|env| policy::view::requires_trusted_time(&view.raw, &env));
    let tsa = match &custody {
        Custodian::Hsm { .. } if trusted_time => Some(view.timestamp_authority(repo, now)?),
        _ => None,
    };
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
    Ok(Cleared {
        name: name.to_owned(),
        custody,
        tsa,
        notes,
    })
}

fn clear_keyless(
    repo: &Repo,
    view: &PolicyView,
    name: &str,
    id: &RawIdentity,
    now: OffsetDateTime,
) -> Result<Custodian, SignError> {
    let unconfigured = |why: String| SignError::KeylessUnconfigured {
        name: name.to_owned(),
        why,
    };
    let kl = id
        .keyless
        .as_ref()
        .ok_or_else(|| unconfigured("it declares no `keyless = { issuer, subject }`".into()))?;
    let (root, config) = match sigstore_files(repo, view).map_err(unconfigured)? {
        Some((root, Some(config))) => (root, config),
        Some((_, None)) => {
            return Err(unconfigured(
                "`[sigstore]` names no `signing_config` (where Fulcio and Rekor are)".into(),
            ));
        }
        _ => {
            return Err(unconfigured(
                "signing.toml has no `[sigstore]` section (a trusted root and a signing config)"
                    .into(),
            ));
        }
    };
    let gaps = config.keyless_gaps();
    if !gaps.is_empty() {
        return Err(unconfigured(format!(
            "the signing config lacks {}",
            gaps.join(" and ")
        )));
    }
    let services = Services::from_config(&config, now)?;
    Ok(Custodian::Keyless {
        issuer: kl.get().issuer.get().clone(),
        subject: kl.get().subject.get().clone(),
        services,
        root,
    })
}

fn clear_hsm(
    repo: &Repo,
    view: &PolicyView,
    name: &str,
    id: &RawIdentity,
    now: OffsetDateTime,
) -> Result<Custodian, SignError> {
    let uri = view.key_uri(name)?;
    let no_cert = |why: String| SignError::NoCertificate {
        name: name.to_owned(),
        why,
    };
    let paths = id.certificates();
    if paths.is_empty() {
        return Err(no_cert("the identity declares no `certificate`".into()));
    }
    // the certificate valid now that expires last (a renewal's successor
    // once it is valid); failing that, the reason the last one cannot serve
    let mut candidates = Vec::new();
    let mut last_err = None;
    for path in &paths {
        match certificate_at(view, repo, name, path.get(), now) {
            Ok(c) => candidates.push(c),
            Err(e) => last_err = Some(e),
        }
    }
    match candidates.into_iter().max_by_key(|(f, _)| f.not_after) {
        Some((facts, cert)) => Ok(Custodian::Hsm {
            uri,
            cert: Box::new(cert),
            facts,
        }),
        None => Err(last_err.unwrap_or_else(|| no_cert("no usable certificate".into()))),
    }
}

/// One certificate of an identity, if it can sign now.
fn certificate_at(
    view: &PolicyView,
    repo: &Repo,
    name: &str,
    path: &str,
    now: OffsetDateTime,
) -> Result<(CertFacts, x509_cert::Certificate), SignError> {
    let no_cert = |why: String| SignError::NoCertificate {
        name: name.to_owned(),
        why,
    };
    let bytes = match view.trust_file(repo, path) {
        CertInput::Bytes(b) => b,
        CertInput::Missing => return Err(no_cert(format!("`{path}` does not exist"))),
        other => {
            return Err(no_cert(format!(
                "`{}` cannot be used: {}",
                path,
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
    let cert = x509_cert::Certificate::from_der(&facts.der).map_err(|e| no_cert(e.to_string()))?;
    Ok((facts, cert))
}

/// What holds an opened key.
enum Holder {
    Token {
        token: Token,
        info: KeyInfo,
        uri: Pkcs11Uri,
    },
    Keyless(Box<Session>),
}

/// A key that signs for a cleared identity, whatever its custody: with its
/// certificate, and what provenance records about it. Commits, tags,
/// artefacts and notes commits are all signed through it.
pub struct Key {
    pub name: String,
    pub custody: Custody,
    pub cert: x509_cert::Certificate,
    pub facts: CertFacts,
    pub algorithm: KeyAlgorithm,
    /// SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
    point: Vec<u8>,
    holder: Holder,
    /// hsm: the TSA and the network to reach it.
    tsa: Option<(Net, String)>,
}

impl Key {
    /// The raw public key (an EC point), for the certificate builders.
    pub fn point(&self) -> &[u8] {
        &self.point
    }
}

impl MessageSigner for Key {
    fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        match &self.holder {
            Holder::Token { token, info, uri } => {
                token.sign(uri, info, msg).map_err(|e| e.to_string())
            }
            Holder::Keyless(s) => s.sign(msg).map_err(|e| e.to_string()),
        }
    }
}

/// A CMS signature made through a [`Key`], with its trusted time if any.
pub struct CmsSigned {
    /// PEM `SIGNED MESSAGE`, as git stores it.
    pub armored: String,
    /// keyless: the Rekor entry embedded in it.
    pub logged: Option<Logged>,
    /// hsm with a TSA: the RFC 3161 time embedded in it.
    pub timestamped: Option<OffsetDateTime>,
}

impl Key {
    pub fn is_keyless(&self) -> bool {
        matches!(self.holder, Holder::Keyless(_))
    }

    /// The keyless identity `(issuer, subject)` the certificate binds.
    pub fn keyless_identity(&self) -> Option<(&str, &str)> {
        match &self.holder {
            Holder::Keyless(s) => Some((&s.issuer, &s.subject)),
            Holder::Token { .. } => None,
        }
    }

    /// An ECDSA signature (DER) over a digest of the curve's hash.
    pub fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.holder {
            Holder::Token { token, info, uri } => Ok(token.sign_prehashed(uri, info, digest)?),
            Holder::Keyless(s) => Ok(s.sign_digest(digest)?),
        }
    }

    /// keyless: enter a signature over a SHA-256 digest in Rekor.
    pub fn log(&self, digest: &[u8], signature: &[u8]) -> Result<Option<Logged>, SignError> {
        match &self.holder {
            Holder::Keyless(s) => Ok(Some(s.log(digest, signature)?)),
            Holder::Token { .. } => Ok(None),
        }
    }

    /// An RFC 3161 TimeStampResp over `signature`, from the signing
    /// config's TSA (keyless and hsm alike), if it names one.
    pub fn timestamp(&self, signature: &[u8]) -> Result<Option<Vec<u8>>, SignError> {
        match (&self.holder, &self.tsa) {
            (Holder::Keyless(s), _) => Ok(s.timestamp(signature)?),
            (Holder::Token { .. }, Some((net, url))) => {
                Ok(Some(keyless::timestamp(net, url, signature)?))
            }
            (Holder::Token { .. }, None) => Ok(None),
        }
    }

    /// A detached CMS signature over `payload`, PEM-armoured for git:
    /// keyless ones carry their Rekor entry (gitsign's unsigned attribute),
    /// token ones an RFC 3161 timestamp token when the policy names a TSA.
    pub fn sign_cms(&self, payload: &[u8], now: OffsetDateTime) -> Result<CmsSigned, SignError> {
        self.sign_cms_stamped(payload, now, true)
    }

    /// [`Key::sign_cms`]; `stamp`: whether a token signature gets the TSA's
    /// timestamp (a notes commit needs none; a keyless one is always logged).
    pub fn sign_cms_stamped(
        &self,
        payload: &[u8],
        now: OffsetDateTime,
        stamp: bool,
    ) -> Result<CmsSigned, SignError> {
        let unsupported = || {
            SignError::Token(SignerError::UnsupportedKey {
                what: format!(
                    "CMS signatures with {} keys (use ECDSA P-256 or P-384)",
                    self.algorithm
                ),
            })
        };
        let signer = match self.algorithm {
            KeyAlgorithm::P256 => {
                CmsSigner::P256(KeyP256::new(self, &self.point).ok_or_else(unsupported)?)
            }
            KeyAlgorithm::P384 => {
                CmsSigner::P384(KeyP384::new(self, &self.point).ok_or_else(unsupported)?)
            }
            _ => return Err(unsupported()),
        };
        let cms_err = |e: cms::CmsError| SignError::Cms(e.to_string());
        let mut der = cms::sign_detached(&signer, &self.cert, payload, now).map_err(cms_err)?;
        let (attrs, signature) = cms::signed_parts(&der).map_err(cms_err)?;
        let mut logged = None;
        let mut timestamped = None;
        if self.is_keyless() {
            let l = self
                .log(&sha2_256(&attrs), &signature)?
                .ok_or_else(|| SignError::Cms("no log entry".into()))?;
            let value = der::Encode::to_der(
                &der::asn1::OctetString::new(l.entry.encode())
                    .map_err(|e| SignError::Cms(e.to_string()))?,
            )
            .map_err(|e| SignError::Cms(e.to_string()))?;
            der = cms::add_unsigned_attribute(
                &der,
                const_oid::ObjectIdentifier::new_unwrap(crate::signature::rekor::ATTRIBUTE_OID),
                &value,
            )
            .map_err(cms_err)?;
            logged = Some(l);
        } else if let Some(resp) = stamp
            .then(|| self.timestamp(&signature))
            .transpose()?
            .flatten()
        {
            let token = keyless::token_of_response(&resp).ok_or_else(|| {
                SignError::Keyless(KeylessError::BadAnswer {
                    service: "the TSA",
                    url: self
                        .tsa
                        .as_ref()
                        .map(|(_, u)| u.clone())
                        .unwrap_or_default(),
                    what: "a granted timestamp",
                    message: "no TimeStampToken in the response".into(),
                })
            })?;
            der = cms::add_unsigned_attribute(&der, cms::TIMESTAMP_TOKEN_OID, &token)
                .map_err(cms_err)?;
            timestamped = crate::signature::tsa::gen_time(&token);
        }
        Ok(CmsSigned {
            armored: cms::armor(&der),
            logged,
            timestamped,
        })
    }
}

/// Open the key of a cleared identity: log in to its token and check the
/// certificate carries the token's key; or, keyless, get an identity token,
/// refuse it unless it is the policy's identity and unexpired, then make an
/// ephemeral key and get its certificate.
pub fn open_key(
    cleared: &Cleared,
    access: &TokenAccess,
    now: OffsetDateTime,
) -> Result<Key, SignError> {
    let keyless_access = &access.keyless;
    match &cleared.custody {
        Custodian::Hsm { uri, cert, facts } => {
            let token = access.open(uri, false, true)?;
            // the key the certificate carries, among those under the URI
            // (a renewal keeps the successor next to its predecessor)
            let (info, uri) = token.key_for(uri, &facts.public_key_sha256)?;
            let uri = &uri;
            let token_fp = x509::hex(&sha2_256(&info.spki));
            if token_fp != facts.public_key_sha256 {
                return Err(SignError::KeyMismatch {
                    name: cleared.name.clone(),
                    cert: facts.public_key_sha256.clone(),
                    token: token_fp,
                });
            }
            let tsa = match &cleared.tsa {
                Some(url) => Some((
                    Net::new(keyless_access.timeout, url.starts_with("https://"))?,
                    url.clone(),
                )),
                None => None,
            };
            Ok(Key {
                name: cleared.name.clone(),
                custody: Custody::Hsm,
                cert: (**cert).clone(),
                facts: facts.clone(),
                algorithm: info.algorithm,
                spki: info.spki.clone(),
                point: info.raw.clone(),
                holder: Holder::Token {
                    token,
                    info,
                    uri: uri.clone(),
                },
                tsa,
            })
        }
        Custodian::Keyless {
            issuer,
            subject,
            services,
            root,
        } => {
            let net = Net::new(keyless_access.timeout, services.any_https())?;
            let (jwt, _origin) = net.identity_token(
                keyless_access.token_env.clone(),
                services.oidc.as_deref(),
                keyless_access.prompt,
            )?;
            let token = IdentityToken::from_jwt(&jwt)?;
            token.check_for(&cleared.name, issuer, subject, now.unix_timestamp())?;
            // from here on a signal is held (nothing is cut half-way)
            crate::interrupt::arm();
            crate::interrupt::test_point("login");
            let session = Session::start(net, services, &token, (issuer, subject), root, now)?;
            let facts = x509::parse(&session.leaf).map_err(|e| SignError::Cms(e.to_string()))?;
            let cert = x509_cert::Certificate::from_der(&session.leaf)
                .map_err(|e| SignError::Cms(e.to_string()))?;
            Ok(Key {
                name: cleared.name.clone(),
                custody: Custody::Keyless,
                cert,
                facts,
                algorithm: KeyAlgorithm::P256,
                spki: session.spki.clone(),
                point: session.point.clone(),
                holder: Holder::Keyless(Box::new(session)),
                tsa: None,
            })
        }
    }
}

pub(crate) fn sha2_256(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}
