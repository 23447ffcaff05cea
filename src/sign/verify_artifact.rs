//! `sigctl verify-artifact`: an artefact (or its SHA-256) against its
//! Sigstore bundle, judged by the policy (signing.toml at HEAD) or by trust
//! given on the command line (a trusted root and an identity or a key).
//!
//! The Sigstore-level checks are sigstore-verify's (pinned 0.15.1): the
//! certificate chain to the trusted root's Fulcio CAs at every verified
//! signing time, the SCT, the transparency log entry (inclusion proof,
//! checkpoint, signed entry timestamp, consistency with the bundle), RFC 3161
//! timestamps against the trusted root's timestamp authorities, the signature
//! over the artefact or the DSSE envelope and the in-toto subject digest.
//! sigctl's policy sits on top: who may have signed (a keyless identity's
//! issuer and subject, or an hsm identity's declared certificate), revocations,
//! and the time a certificate is judged at.
//!
//! Time. A keyless certificate lives ten minutes: it is judged at every
//! verified time (a Rekor integrated time authenticated by its SET, an RFC
//! 3161 timestamp), never at the current time; a bundle with neither is
//! refused. An hsm certificate is judged at its bundle's verified times when
//! the bundle carries evidence and the policy names a trusted root to check
//! it with; otherwise at the current time, and the result says so.
//!
//! Exit codes (chosen by `cli`): a refusal (`VerifyError::Refused`: the
//! bundle is malformed, does not verify, or was signed by someone the policy
//! does not name) is 1; a fault (`TrustedRoot`, `Fault`: an unreadable file, a
//! trusted root that cannot be used, a policy that does not parse) is 2.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::Digest;
use sigstore_types::bundle::{SignatureContent, VerificationMaterialContent};
use sigstore_types::{Bundle, HashAlgorithm};
use sigstore_verify::{
    CertificateError, Policy, PublicKeyVerificationPolicy, TimestampError, TransparencyLogError,
    VerificationPolicy, VerificationResult, Verifier,
};
use time::OffsetDateTime;

use super::artifact::digest_file;
use super::{PolicyView, SignError};
use crate::diag::Code;
use crate::error::Error;
use crate::policy::CertInput;
use crate::policy::raw::Custody;
use crate::repo::Repo;
use crate::signature::x509;

/// Why a bundle does not verify (a refusal: exit 1).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is not a valid Sigstore bundle: {0}")]
    Malformed(String),
    #[error("the bundle cannot be verified: {0}")]
    Unsupported(String),
    #[error(
        "the bundle holds a DSSE envelope and neither a transparency log entry nor a timestamp; sigctl verifies such a bundle only as a message signature over the artefact"
    )]
    NotMessageSignature,
    #[error(
        "the bundle names no certificate (only a public key hint), so its signer cannot be matched to signing.toml (verify it with --trusted-root and --key)"
    )]
    NoCertificate,
    #[error(
        "the bundle is signed with a managed key (a public key hint, no certificate), so it names no identity: verify it with --key PUB.pem"
    )]
    KeyBundle,
    #[error("the artefact's {algorithm} digest does not match the bundle: the file was changed")]
    DigestMismatch { algorithm: String },
    #[error(
        "the artefact (sha256 {sha256}) is no subject of the bundle's in-toto statement ({subjects})"
    )]
    SubjectMismatch { sha256: String, subjects: String },
    #[error("the artefact does not match the bundle: {0}")]
    ArtifactMismatch(String),
    #[error("the signature does not verify with the bundle's certificate")]
    BadSignature,
    #[error("the signature does not verify: {0}")]
    SignatureInvalid(String),
    #[error("the bundle's certificate ({subject}) belongs to no identity of signing.toml")]
    UnknownSigner { subject: String },
    #[error("wrong identity: the bundle was signed by {found}, {expected}")]
    WrongIdentity { found: String, expected: String },
    #[error(
        "signing.toml names no [sigstore] trusted_root, so the keyless certificate of {found} cannot be checked"
    )]
    NoTrustedRoot { found: String },
    #[error("the signer `{identity}` is revoked ({reason}, {at})")]
    Revoked {
        identity: String,
        reason: &'static str,
        at: String,
    },
    #[error("the certificate of `{identity}` is not valid now ({why})")]
    CertificateInvalid { identity: String, why: String },
    #[error(
        "the certificate of `{identity}` was not valid at the signing time {at} ({time_source}): {why}"
    )]
    CertificateInvalidAt {
        identity: String,
        at: String,
        time_source: &'static str,
        why: String,
    },
    #[error("the certificate does not chain to the trusted root at the signing time: {0}")]
    Chain(String),
    #[error("the certificate was not valid at the signing time: {0}")]
    CertificateTime(String),
    #[error("the certificate's signed certificate timestamp (SCT) does not verify: {0}")]
    Sct(String),
    #[error(
        "the transparency log entry is from log {log_id}, which the trusted root does not list (a bundle from another Sigstore instance?)"
    )]
    UnknownLog { log_id: String },
    #[error("the transparency log inclusion proof does not verify: {0}")]
    InclusionProof(String),
    #[error("the transparency log checkpoint does not verify: {0}")]
    Checkpoint(String),
    #[error("the transparency log's signed entry timestamp (SET) does not verify: {0}")]
    Set(String),
    #[error("the transparency log entry does not describe this bundle: {0}")]
    EntryMismatch(String),
    #[error("the transparency log's integrated time is refused: {0}")]
    IntegratedTime(String),
    #[error("the transparency log entry is malformed: {0}")]
    MalformedEntry(String),
    #[error("the RFC 3161 timestamp does not verify against the trusted root: {0}")]
    Timestamp(String),
    #[error("the bundle has no verified signing time: {0}")]
    NoTrustedTime(String),
}

impl BundleError {
    /// The stable reason code (`--format json`).
    pub fn code(&self) -> Code {
        use BundleError as B;
        match self {
            B::Malformed(_) => Code::MalformedBundle,
            B::Unsupported(_) | B::NotMessageSignature => Code::UnsupportedSignature,
            B::DigestMismatch { .. } | B::SubjectMismatch { .. } | B::ArtifactMismatch(_) => {
                Code::ArtifactMismatch
            }
            B::BadSignature | B::SignatureInvalid(_) => Code::BadSignature,
            B::UnknownSigner { .. }
            | B::WrongIdentity { .. }
            | B::NoTrustedRoot { .. }
            | B::NoCertificate
            | B::KeyBundle => Code::UnknownSigner,
            B::Revoked { .. } => Code::RevokedKey,
            B::CertificateInvalid { .. }
            | B::CertificateInvalidAt { .. }
            | B::Chain(_)
            | B::CertificateTime(_) => Code::CertificateInvalidAtSigning,
            B::Sct(_) => Code::InvalidSct,
            B::UnknownLog { .. }
            | B::InclusionProof(_)
            | B::Checkpoint(_)
            | B::Set(_)
            | B::EntryMismatch(_)
            | B::IntegratedTime(_)
            | B::MalformedEntry(_) => Code::InvalidTlogEntry,
            B::Timestamp(_) => Code::InvalidTimestamp,
            B::NoTrustedTime(_) => Code::UntrustedTime,
        }
    }
}

/// Why verify-artifact gives no verdict on the bundle, or refuses it.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The bundle is refused (exit 1).
    #[error(transparent)]
    Refused(#[from] BundleError),
    /// The trusted root cannot be used (exit 2): the verifier's trust
    /// material is at fault, not the bundle.
    #[error("the trusted root {name} cannot be used: {message}")]
    TrustedRoot { name: String, message: String },
    /// Anything else that stops verification (exit 2): an unreadable file,
    /// a policy that does not parse, a usage error.
    #[error(transparent)]
    Fault(#[from] SignError),
}

impl From<Error> for VerifyError {
    fn from(e: Error) -> Self {
        VerifyError::Fault(SignError::Repo(e))
    }
}

/// What is verified: a file, or a SHA-256 digest given as `sha256:HEX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artefact {
    File(PathBuf),
    Sha256([u8; 32]),
}

impl Artefact {
    /// `sha256:` and 64 hexadecimal digits is a digest; anything else a path.
    pub fn from_arg(arg: &Path) -> Self {
        let digest = arg
            .to_str()
            .and_then(|s| s.strip_prefix("sha256:"))
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| {
                let mut out = [0u8; 32];
                for (i, o) in out.iter_mut().enumerate() {
                    *o = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
                }
                Some(out)
            });
        match digest {
            Some(d) => Artefact::Sha256(d),
            None => Artefact::File(arg.to_path_buf()),
        }
    }

    /// How the artefact is named in messages.
    pub fn name(&self) -> String {
        match self {
            Artefact::File(p) => p.display().to_string(),
            Artefact::Sha256(d) => format!("sha256:{}", x509::hex(d)),
        }
    }
}

/// Who must have signed, when signing.toml is not read.
#[derive(Debug, Clone)]
pub enum Expected {
    /// A keyless certificate for this subject (SAN, e-mail or URI, exactly)
    /// from this OIDC issuer.
    Identity { subject: String, issuer: String },
    /// This public key (SubjectPublicKeyInfo DER).
    Key { spki: Vec<u8> },
}

/// Trust given on the command line instead of signing.toml.
#[derive(Debug, Clone)]
pub struct Explicit<'a> {
    /// `trusted_root.json` bytes, and how to name the file.
    pub trusted_root: &'a [u8],
    pub trusted_root_name: String,
    pub expected: Expected,
}

/// Where the time a signature is judged at comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// An RFC 3161 timestamp verified against the trusted root's TSAs.
    Rfc3161,
    /// A Rekor v1 integrated time authenticated by its signed entry timestamp.
    Rekor,
    /// No verified time: the certificate was judged at the current time.
    None,
}

impl TimeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeSource::Rfc3161 => "rfc3161",
            TimeSource::Rekor => "rekor",
            TimeSource::None => "none (checked now)",
        }
    }
}

/// Who signed, as the bundle shows it.
#[derive(Debug, Clone)]
pub enum Signer {
    /// A Fulcio certificate: its subjectAltName and OIDC issuer.
    Keyless { san: String, issuer: String },
    /// A certificate declared for an hsm identity: its subject.
    Certificate { subject: String },
    /// The public key given with `--key`: SHA-256 of its SubjectPublicKeyInfo.
    Key { sha256: String },
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::Keyless { san, issuer } => write!(f, "{san} (issuer {issuer})"),
            Signer::Certificate { subject } => f.write_str(subject),
            Signer::Key { sha256 } => write!(f, "key sha256:{sha256}"),
        }
    }
}

/// What the bundle signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A signature over the artefact's digest.
    MessageSignature,
    /// An in-toto statement in a DSSE envelope; the name of the subject
    /// whose digest is the artefact's (empty when it has none).
    InToto { subject: String },
}

/// The transparency log entry a verified bundle carries.
#[derive(Debug, Clone)]
pub struct TlogEntry {
    pub log_index: u64,
    /// `hashedrekord 0.0.1`, `dsse 0.0.1`, …
    pub kind: String,
}

/// A verified artefact.
#[derive(Debug, Clone)]
pub struct VerifiedArtifact {
    /// The policy identity (None without a policy).
    pub identity: Option<String>,
    /// Its custody (`hsm`, `keyless`); None without a policy.
    pub custody: Option<&'static str>,
    pub signer: Signer,
    /// The certificate's subject, or the keyless SAN: how the signer is named.
    pub subject: String,
    /// SHA-256 of the artefact, lowercase hex.
    pub sha256: String,
    pub content: Content,
    /// The time the certificate was judged at, and where it came from: the
    /// first of `times` (RFC 3161 before Rekor), or the current time.
    pub time_source: TimeSource,
    pub signed_at: OffsetDateTime,
    /// Every verified time, by source.
    pub times: Vec<(TimeSource, OffsetDateTime)>,
    pub tlog: Option<TlogEntry>,
    /// What was checked, in words.
    pub checked: Vec<String>,
    pub notes: Vec<String>,
}

/// Verify `file` against its bundle and the policy (the original entry
/// point; `verify_with_policy` also takes a digest).
pub fn verify_artifact(
    repo: &Repo,
    file: &Path,
    bundle_bytes: &[u8],
    now: OffsetDateTime,
) -> Result<VerifiedArtifact, VerifyError> {
    verify_with_policy(repo, &Artefact::File(file.to_path_buf()), bundle_bytes, now)
}

fn parse_bundle(bytes: &[u8]) -> Result<Bundle, BundleError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| BundleError::Malformed("not UTF-8".into()))?;
    let bundle = Bundle::from_json(text).map_err(|e| BundleError::Malformed(e.to_string()))?;
    if let VerificationMaterialContent::X509CertificateChain { certificates } =
        &bundle.verification_material.content
        && certificates.is_empty()
    {
        return Err(BundleError::Malformed(
            "its certificate chain is empty".into(),
        ));
    }
    Ok(bundle)
}

/// What a keyless bundle must not be, said before sigstore-verify's checks
/// (each also fails there, for a reason that names the symptom rather than
/// the cause): a chain that carries a root (roots come from the trusted root
/// only), a signing key where a certificate is expected, a log entry from a
/// log the trusted root does not list.
fn keyless_shape(
    bundle: &Bundle,
    root: &sigstore_verify::trust_root::TrustedRoot,
) -> Result<(), BundleError> {
    match &bundle.verification_material.content {
        VerificationMaterialContent::X509CertificateChain { certificates } => {
            for c in certificates {
                if let Ok(f) = x509::parse(c.raw_bytes.as_bytes())
                    && f.subject == f.issuer
                {
                    return Err(BundleError::Malformed(format!(
                        "its certificate chain carries a root certificate ({}); roots come from the trusted root only",
                        f.subject
                    )));
                }
            }
        }
        VerificationMaterialContent::PublicKey { .. } => return Err(BundleError::KeyBundle),
        _ => {}
    }
    unknown_logs(bundle, root)
}

/// A log entry from a log the trusted root does not list.
fn unknown_logs(
    bundle: &Bundle,
    root: &sigstore_verify::trust_root::TrustedRoot,
) -> Result<(), BundleError> {
    use base64::Engine;
    for e in &bundle.verification_material.tlog_entries {
        let id = e.log_id.key_id.as_bytes();
        if !root.tlogs.iter().any(|t| t.log_id.key_id.as_bytes() == id) {
            return Err(BundleError::UnknownLog {
                log_id: base64::engine::general_purpose::STANDARD.encode(id),
            });
        }
    }
    Ok(())
}

fn leaf_certificate(bundle: &Bundle) -> Option<Vec<u8>> {
    match &bundle.verification_material.content {
        VerificationMaterialContent::Certificate(c) => Some(c.raw_bytes.as_bytes().to_vec()),
        VerificationMaterialContent::X509CertificateChain { certificates } => certificates
            .first()
            .map(|c| c.raw_bytes.as_bytes().to_vec()),
        _ => None,
    }
}

fn has_evidence(bundle: &Bundle) -> bool {
    !bundle.verification_material.tlog_entries.is_empty()
        || !bundle
            .verification_material
            .timestamp_verification_data
            .rfc3161_timestamps
            .is_empty()
}

/// Verify an artefact against its bundle and the policy at HEAD.
pub fn verify_with_policy(
    repo: &Repo,
    artefact: &Artefact,
    bundle_bytes: &[u8],
    now: OffsetDateTime,
) -> Result<VerifiedArtifact, VerifyError> {
    let view = PolicyView::load(repo)?;
    let bundle = parse_bundle(bundle_bytes)?;
    let Some(cert_der) = leaf_certificate(&bundle) else {
        return Err(BundleError::NoCertificate.into());
    };
    let facts = x509::parse(&cert_der).map_err(|e| BundleError::Malformed(e.to_string()))?;
    // a certificate declared for an hsm identity names its signer by itself
    let declared = view.certificates(repo).into_iter().find(|(name, der)| {
        crate::policy::view::identity(&view.raw, name)
            .is_some_and(|id| *id.custody.get() == Custody::Hsm)
            && x509::parse(der).is_ok_and(|f| f.fingerprint_sha256 == facts.fingerprint_sha256)
    });
    if let Some((identity, _)) = declared {
        return verify_hsm(repo, &view, artefact, &bundle, identity, facts, now);
    }
    // a certificate without a Fulcio issuer extension is no keyless one
    let fulcio = bundle
        .signing_certificate()
        .and_then(|c| sigstore_verify::crypto::parse_certificate_info(c).ok())
        .is_some_and(|i| i.issuer.is_some());
    if !fulcio {
        return Err(BundleError::UnknownSigner {
            subject: facts.subject,
        }
        .into());
    }
    verify_keyless(repo, &view, artefact, &bundle)
}

/// The revocation of `identity`, as a refusal.
fn not_revoked(view: &PolicyView, identity: &str) -> Result<(), BundleError> {
    match crate::policy::view::revocations(&view.raw, identity).next() {
        None => Ok(()),
        Some(rev) => Err(BundleError::Revoked {
            identity: identity.to_owned(),
            reason: rev.reason.get().as_str(),
            at: rev.revoked_at.get().to_string(),
        }),
    }
}

/// The policy's trusted root (from where the policy came), parsed; None when
/// the policy names none.
fn policy_trusted_root(
    repo: &Repo,
    view: &PolicyView,
) -> Result<Option<(String, Trust)>, VerifyError> {
    let Some(sg) = &view.raw.sigstore else {
        return Ok(None);
    };
    let path = sg.get().trusted_root.get().clone();
    let name = format!("`{path}` (signing.toml [sigstore] trusted_root)");
    let fault = |message: String| VerifyError::TrustedRoot {
        name: name.clone(),
        message: format!("{message}; run `sigctl check`"),
    };
    let bytes = match view.trust_file(repo, &path) {
        CertInput::Bytes(b) => b,
        CertInput::Missing => return Err(fault("it does not exist".into())),
        CertInput::NotAFile => return Err(fault("it is not a file".into())),
        CertInput::TooLarge(n) => return Err(fault(format!("it is {n} bytes"))),
        CertInput::OutsideRepository => {
            return Err(fault("it is outside the repository".into()));
        }
        CertInput::Unreadable(e) => return Err(fault(e)),
    };
    let verifier = verifier_for(&bytes).map_err(fault)?;
    Ok(Some((name, verifier)))
}

/// A verifier over a trusted root's bytes, or why the root cannot be used.
fn verifier_for(bytes: &[u8]) -> Result<Trust, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_owned())?;
    let root = sigstore_verify::trust_root::TrustedRoot::from_json(text)
        .map_err(|e| format!("it is not a Sigstore trusted root: {e}"))?;
    let verifier = Verifier::new(&root).map_err(|e| e.to_string())?;
    Ok(Trust { root, verifier })
}

/// A usable trusted root.
struct Trust {
    root: sigstore_verify::trust_root::TrustedRoot,
    verifier: Verifier,
}

/// An hsm identity's bundle: the certificate is the one signing.toml
/// declares; with a transparency log entry or RFC 3161 timestamp (and a
/// trusted root to check it), the certificate is judged at the verified
/// time, otherwise now.
fn verify_hsm(
    repo: &Repo,
    view: &PolicyView,
    artefact: &Artefact,
    bundle: &Bundle,
    identity: String,
    facts: x509::CertFacts,
    now: OffsetDateTime,
) -> Result<VerifiedArtifact, VerifyError> {
    not_revoked(view, &identity)?;
    if let Some(id) = crate::policy::view::identity(&view.raw, &identity)
        && !crate::policy::view::pin_admits(id, &facts.public_key_sha256)
    {
        return Err(BundleError::UnknownSigner {
            subject: format!(
                "{}, key sha256:{} is not the key signing.toml pins for `{identity}`",
                facts.subject, facts.public_key_sha256
            ),
        }
        .into());
    }
    let mut notes = Vec::new();
    if has_evidence(bundle) {
        match policy_trusted_root(repo, view)? {
            Some((root, trust)) => {
                unknown_logs(bundle, &trust.root)?;
                return verify_hsm_with_evidence(
                    (&trust.verifier, &root),
                    artefact,
                    bundle,
                    identity,
                    facts,
                    now,
                );
            }
            None => notes.push(
                "the bundle's transparency log entry or timestamp was not checked: signing.toml names no [sigstore] trusted_root".to_owned(),
            ),
        }
    }
    let SignatureContent::MessageSignature(ms) = &bundle.content else {
        return Err(BundleError::NotMessageSignature.into());
    };
    let hash = ms
        .message_digest
        .as_ref()
        .map_or(HashAlgorithm::Sha2256, |md| md.algorithm);
    let (hash, name) = match hash {
        HashAlgorithm::Sha2384 => (HashAlgorithm::Sha2384, "SHA-384"),
        HashAlgorithm::Sha2256 => (HashAlgorithm::Sha2256, "SHA-256"),
        other => {
            return Err(BundleError::Malformed(format!("digest algorithm {other:?}")).into());
        }
    };
    let digest = match (artefact, hash) {
        (Artefact::File(file), _) => digest_file(file, hash)?,
        (Artefact::Sha256(d), HashAlgorithm::Sha2256) => d.to_vec(),
        (Artefact::Sha256(_), _) => {
            return Err(Error::Usage(format!(
                "the bundle signs the artefact's {name} digest; give the file itself, not its sha256"
            ))
            .into());
        }
    };
    if let Some(md) = &ms.message_digest
        && md.digest.as_bytes() != digest.as_slice()
    {
        return Err(BundleError::DigestMismatch {
            algorithm: name.into(),
        }
        .into());
    }
    verify_prehash(&facts, &digest, ms.signature.as_bytes())
        .map_err(|_| BundleError::BadSignature)?;
    if now >= facts.not_after || now < facts.not_before {
        return Err(BundleError::CertificateInvalid {
            identity,
            why: format!(
                "valid {} to {}",
                facts.not_before.date(),
                facts.not_after.date()
            ),
        }
        .into());
    }
    let sha256 = match (artefact, hash) {
        (_, HashAlgorithm::Sha2256) => x509::hex(&digest),
        (Artefact::File(file), _) => x509::hex(&digest_file(file, HashAlgorithm::Sha2256)?),
        (Artefact::Sha256(d), _) => x509::hex(d),
    };
    notes.push(
        "the bundle carries no timestamp; the certificate was checked against the current time"
            .to_owned(),
    );
    Ok(VerifiedArtifact {
        identity: Some(identity),
        custody: Some("hsm"),
        signer: Signer::Certificate {
            subject: facts.subject.clone(),
        },
        subject: facts.subject,
        sha256,
        content: Content::MessageSignature,
        time_source: TimeSource::None,
        signed_at: now,
        times: Vec::new(),
        tlog: None,
        checked: vec![
            "the certificate is the one signing.toml declares".to_owned(),
            format!("signature over the artefact's {name} digest"),
        ],
        notes,
    })
}

fn verify_hsm_with_evidence(
    verifier: (&Verifier, &str),
    artefact: &Artefact,
    bundle: &Bundle,
    identity: String,
    facts: x509::CertFacts,
    now: OffsetDateTime,
) -> Result<VerifiedArtifact, VerifyError> {
    // the certificate is pinned by the policy, not chained to Fulcio; the
    // log entry (if any) and the timestamps are checked in full
    let mut policy = VerificationPolicy::any_identity().skip_certificate_chain();
    if bundle.verification_material.tlog_entries.is_empty() {
        policy = policy.skip_tlog_unsafe();
    }
    let (result, sha256) = run(verifier, artefact, bundle, &policy)?;
    let times = times_of(&result, bundle, PolicyKind::Certificate);
    for (source, at) in &times {
        if *at < facts.not_before || *at > facts.not_after {
            return Err(BundleError::CertificateInvalidAt {
                identity,
                at: crate::policy::timestamp::Timestamp(*at).to_string(),
                time_source: source.as_str(),
                why: format!(
                    "valid {} to {}",
                    crate::policy::timestamp::Timestamp(facts.not_before),
                    crate::policy::timestamp::Timestamp(facts.not_after)
                ),
            }
            .into());
        }
    }
    let mut checked = vec!["the certificate is the one signing.toml declares".to_owned()];
    checked.extend(evidence_checked(&result, bundle));
    let (time_source, signed_at) = primary_time(&times, now);
    Ok(VerifiedArtifact {
        identity: Some(identity),
        custody: Some("hsm"),
        signer: Signer::Certificate {
            subject: facts.subject.clone(),
        },
        subject: facts.subject,
        content: content_of(bundle, &sha256),
        sha256,
        time_source,
        signed_at,
        times,
        tlog: tlog_of(bundle),
        checked,
        notes: Vec::new(),
    })
}

/// A keyless bundle: the full Sigstore verification against the policy's
/// trusted root, then the certificate's issuer and SAN against the policy's
/// keyless identities.
fn verify_keyless(
    repo: &Repo,
    view: &PolicyView,
    artefact: &Artefact,
    bundle: &Bundle,
) -> Result<VerifiedArtifact, VerifyError> {
    let Some((root, trust)) = policy_trusted_root(repo, view)? else {
        let found = bundle
            .signing_certificate()
            .and_then(|c| sigstore_verify::crypto::parse_certificate_info(c).ok())
            .map_or_else(
                || "an unknown signer".to_owned(),
                |i| keyless_name(i.identity.as_ref().map(|s| s.as_str()), i.issuer.as_deref()),
            );
        return Err(BundleError::NoTrustedRoot { found }.into());
    };
    keyless_shape(bundle, &trust.root)?;
    let (result, sha256) = run(
        (&trust.verifier, &root),
        artefact,
        bundle,
        &VerificationPolicy::any_identity(),
    )?;
    let san = result.identity().map(|s| s.as_str().to_owned());
    let issuer = result.issuer().map(str::to_owned);
    let declared: Vec<(&String, &crate::policy::raw::RawKeyless)> = view
        .raw
        .identities
        .iter()
        .filter(|(_, id)| *id.custody.get() == Custody::Keyless)
        .filter_map(|(name, id)| Some((name.get(), id.keyless.as_ref()?.get())))
        .collect();
    let matching: Vec<&String> = declared
        .iter()
        .filter(|(_, k)| {
            Some(k.subject.get()) == san.as_ref() && Some(k.issuer.get()) == issuer.as_ref()
        })
        .map(|(name, _)| *name)
        .collect();
    let Some(identity) = matching.first().map(|n| (*n).clone()) else {
        let expected = if declared.is_empty() {
            "and signing.toml declares no keyless identity".to_owned()
        } else {
            format!(
                "which is no keyless identity of signing.toml (it declares {})",
                declared
                    .iter()
                    .map(|(name, k)| format!(
                        "`{name}`: {} (issuer {})",
                        k.subject.get(),
                        k.issuer.get()
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        return Err(BundleError::WrongIdentity {
            found: keyless_name(san.as_deref(), issuer.as_deref()),
            expected,
        }
        .into());
    };
    // one subject declared twice: revoked under either name is revoked
    for name in &matching {
        not_revoked(view, name)?;
    }
    Ok(keyless_result(
        Some(identity),
        &result,
        bundle,
        sha256,
        san.unwrap_or_default(),
        issuer.unwrap_or_default(),
    ))
}

fn keyless_name(san: Option<&str>, issuer: Option<&str>) -> String {
    format!(
        "{} (issuer {})",
        san.unwrap_or("a certificate without subjectAltName"),
        issuer.unwrap_or("none")
    )
}

fn keyless_result(
    identity: Option<String>,
    result: &VerificationResult,
    bundle: &Bundle,
    sha256: String,
    san: String,
    issuer: String,
) -> VerifiedArtifact {
    let times = times_of(result, bundle, PolicyKind::Certificate);
    let mut checked = Vec::new();
    if result.certificate_verified() {
        checked.push("certificate chain to the trusted root at every signing time".to_owned());
    }
    if result.sct_verified() {
        checked.push("SCT".to_owned());
    }
    checked.extend(evidence_checked(result, bundle));
    // a keyless certificate is always judged at a verified time: sigstore-verify
    // refuses a bundle without one, so `times` is never empty here
    let (time_source, signed_at) = primary_time(&times, OffsetDateTime::UNIX_EPOCH);
    VerifiedArtifact {
        custody: identity.as_ref().map(|_| "keyless"),
        identity,
        subject: san.clone(),
        signer: Signer::Keyless { san, issuer },
        content: content_of(bundle, &sha256),
        sha256,
        time_source,
        signed_at,
        times,
        tlog: tlog_of(bundle),
        checked,
        notes: Vec::new(),
    }
}

/// Verify without a policy: the trusted root, and the identity or key, come
/// from the command line. signing.toml is not read.
pub fn verify_explicit(
    artefact: &Artefact,
    bundle_bytes: &[u8],
    trust: &Explicit<'_>,
) -> Result<VerifiedArtifact, VerifyError> {
    let given = verifier_for(trust.trusted_root).map_err(|message| VerifyError::TrustedRoot {
        name: trust.trusted_root_name.clone(),
        message,
    })?;
    let verifier = &given.verifier;
    let bundle = parse_bundle(bundle_bytes)?;
    match &trust.expected {
        Expected::Identity { subject, issuer } => {
            keyless_shape(&bundle, &given.root)?;
            let (result, sha256) = run(
                (verifier, &trust.trusted_root_name),
                artefact,
                &bundle,
                &VerificationPolicy::any_identity(),
            )?;
            let san = result.identity().map(|s| s.as_str().to_owned());
            let found_issuer = result.issuer().map(str::to_owned);
            if san.as_ref() != Some(subject) || found_issuer.as_ref() != Some(issuer) {
                return Err(BundleError::WrongIdentity {
                    found: keyless_name(san.as_deref(), found_issuer.as_deref()),
                    expected: format!("expected {subject} (issuer {issuer})"),
                }
                .into());
            }
            Ok(keyless_result(
                None,
                &result,
                &bundle,
                sha256,
                subject.clone(),
                issuer.clone(),
            ))
        }
        Expected::Key { spki } => {
            if leaf_certificate(&bundle).is_some() {
                return Err(BundleError::Unsupported(
                    "the bundle carries a certificate, not a public key hint: verify it by identity (--certificate-identity and --certificate-oidc-issuer)".into(),
                )
                .into());
            }
            unknown_logs(&bundle, &given.root)?;
            let key = sigstore_types::DerPublicKey::new(spki.clone());
            let (result, sha256) = run(
                (verifier, &trust.trusted_root_name),
                artefact,
                &bundle,
                &PublicKeyVerificationPolicy::new(key),
            )?;
            let times = times_of(&result, &bundle, PolicyKind::PublicKey);
            let (time_source, signed_at) = primary_time(&times, OffsetDateTime::UNIX_EPOCH);
            let fp = x509::hex(&sha2::Sha256::digest(spki));
            let mut checked = vec!["the key given with --key".to_owned()];
            checked.extend(evidence_checked(&result, &bundle));
            Ok(VerifiedArtifact {
                identity: None,
                custody: None,
                subject: format!("key sha256:{fp}"),
                signer: Signer::Key { sha256: fp },
                content: content_of(&bundle, &sha256),
                sha256,
                time_source,
                signed_at,
                times,
                tlog: tlog_of(&bundle),
                checked,
                notes: Vec::new(),
            })
        }
    }
}

#[derive(Clone, Copy)]
enum PolicyKind {
    Certificate,
    PublicKey,
}

/// Every verified time, by source. sigstore-verify 0.15.1 lists them in a
/// fixed order (pinned): on the certificate path the RFC 3161 timestamps
/// first, then the integrated times; on the public-key path the other way
/// round. Every timestamp of the bundle was verified (one that does not
/// verify refuses the bundle), so their count tells them apart.
fn times_of(
    result: &VerificationResult,
    bundle: &Bundle,
    kind: PolicyKind,
) -> Vec<(TimeSource, OffsetDateTime)> {
    let all = result.verified_timestamps();
    let n_tsa = bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps
        .len()
        .min(all.len());
    let split = match kind {
        PolicyKind::Certificate => n_tsa,
        PolicyKind::PublicKey => all.len() - n_tsa,
    };
    let to_time = |nanos: i128| {
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    let (first, second) = all.split_at(split);
    let (tsa, rekor) = match kind {
        PolicyKind::Certificate => (first, second),
        PolicyKind::PublicKey => (second, first),
    };
    let mut out: Vec<(TimeSource, OffsetDateTime)> = tsa
        .iter()
        .map(|t| (TimeSource::Rfc3161, to_time(t.as_nanosecond())))
        .collect();
    out.extend(
        rekor
            .iter()
            .map(|t| (TimeSource::Rekor, to_time(t.as_nanosecond()))),
    );
    out
}

/// The time named first: the earliest RFC 3161 time, else the earliest
/// integrated time, else `fallback` (no verified time).
fn primary_time(
    times: &[(TimeSource, OffsetDateTime)],
    fallback: OffsetDateTime,
) -> (TimeSource, OffsetDateTime) {
    [TimeSource::Rfc3161, TimeSource::Rekor]
        .into_iter()
        .find_map(|s| {
            times
                .iter()
                .filter(|(src, _)| *src == s)
                .map(|(_, t)| *t)
                .min()
                .map(|t| (s, t))
        })
        .unwrap_or((TimeSource::None, fallback))
}

/// What the evidence checks covered, in words.
fn evidence_checked(result: &VerificationResult, bundle: &Bundle) -> Vec<String> {
    let mut out = Vec::new();
    let entries = &bundle.verification_material.tlog_entries;
    if let Some(e) = entries.first() {
        let mut what = Vec::new();
        if result.tlog_verified() {
            what.push("inclusion proof");
            what.push("checkpoint");
        }
        if e.inclusion_promise.is_some() && e.integrated_time.is_some() {
            what.push("signed entry timestamp");
        }
        what.push("consistent with the bundle");
        out.push(format!(
            "transparency log entry (log index {}: {})",
            e.log_index.get(),
            what.join(", ")
        ));
    }
    let n = bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps
        .len();
    match n {
        0 => {}
        1 => out.push("RFC 3161 timestamp by a TSA of the trusted root".to_owned()),
        n => out.push(format!(
            "{n} RFC 3161 timestamps by TSAs of the trusted root"
        )),
    }
    out.push(match &bundle.content {
        SignatureContent::DsseEnvelope(_) => {
            "DSSE envelope signature and the in-toto subject digest".to_owned()
        }
        _ => "signature over the artefact".to_owned(),
    });
    out
}

fn tlog_of(bundle: &Bundle) -> Option<TlogEntry> {
    bundle
        .verification_material
        .tlog_entries
        .first()
        .map(|e| TlogEntry {
            log_index: e.log_index.get(),
            kind: format!("{} {}", e.kind_version.kind(), e.kind_version.version()),
        })
}

fn content_of(bundle: &Bundle, sha256: &str) -> Content {
    match &bundle.content {
        SignatureContent::DsseEnvelope(env) => Content::InToto {
            subject: serde_json::from_slice::<sigstore_types::Statement>(env.payload.as_bytes())
                .ok()
                .and_then(|s| {
                    s.subject
                        .into_iter()
                        .find(|sub| sub.digest.sha256.is_some_and(|d| d.to_hex() == sha256))
                        .map(|sub| sub.name)
                })
                .unwrap_or_default(),
        },
        _ => Content::MessageSignature,
    }
}

/// A reader that hashes (SHA-256) what passes through it.
struct Sha256Reader<R> {
    inner: R,
    hash: sha2::Sha256,
}

impl<R: Read> Read for Sha256Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// sigstore-verify over the artefact (streamed from the file, hashed on the
/// way, or its digest): the result and the artefact's SHA-256, or the
/// refusal in sigctl's words.
fn run(
    (verifier, root): (&Verifier, &str),
    artefact: &Artefact,
    bundle: &Bundle,
    policy: &(impl Policy + ?Sized),
) -> Result<(VerificationResult, String), VerifyError> {
    let outcome = match artefact {
        Artefact::File(path) => {
            let (file, _) =
                crate::files::open(path, crate::files::ARTEFACT).map_err(Error::from)?;
            let mut reader = Sha256Reader {
                inner: file,
                hash: sha2::Sha256::new(),
            };
            let r = verifier.verify_reader(&mut reader, bundle, policy);
            (r, x509::hex(&reader.hash.finalize()))
        }
        Artefact::Sha256(d) => (
            verifier.verify(sigstore_types::Sha256Hash::new(*d), bundle, policy),
            x509::hex(d),
        ),
    };
    match outcome {
        (Ok(result), sha256) => Ok((result, sha256)),
        (Err(e), sha256) => Err(refusal(e, artefact, bundle, &sha256, root)),
    }
}

/// A sigstore-verify error in sigctl's words: what failed and why.
fn refusal(
    e: sigstore_verify::Error,
    artefact: &Artefact,
    bundle: &Bundle,
    sha256: &str,
    root: &str,
) -> VerifyError {
    let trust_fault = |message: String| VerifyError::TrustedRoot {
        name: root.to_owned(),
        message,
    };
    use sigstore_verify::Error as E;
    let b = match e {
        E::IdentityMismatch { expected, actual } => BundleError::WrongIdentity {
            found: actual.map_or_else(|| "no identity".to_owned(), |a| a.to_string()),
            expected: format!("expected {expected}"),
        },
        E::IssuerMismatch { expected, actual } => BundleError::WrongIdentity {
            found: format!("issuer {}", actual.as_deref().unwrap_or("none")),
            expected: format!("expected issuer {expected}"),
        },
        E::SignatureInvalid(d) => BundleError::SignatureInvalid(d),
        E::ArtifactMismatch(d) => artifact_mismatch(d, bundle, sha256),
        E::UnsupportedArtifact(d) => {
            return match artefact {
                Artefact::Sha256(_) => VerifyError::Fault(SignError::Repo(Error::Usage(format!(
                    "this bundle cannot be verified from the artefact's sha256 ({d}); give the file itself"
                )))),
                Artefact::File(_) => BundleError::Unsupported(d).into(),
            };
        }
        E::Certificate(c) => match c {
            CertificateError::Malformed(d) => {
                BundleError::Malformed(format!("the certificate does not parse: {d}"))
            }
            CertificateError::ChainInvalid(d) => chain_error(&d),
            CertificateError::NoValidAuthority { time } => BundleError::Chain(format!(
                "no certificate authority of the trusted root is valid at {time}"
            )),
            CertificateError::Sct(d) => BundleError::Sct(d),
            other => BundleError::CertificateTime(other.to_string()),
        },
        E::TransparencyLog(t) => match t {
            TransparencyLogError::UnknownLog { log_id } => BundleError::UnknownLog { log_id },
            TransparencyLogError::InclusionProof(d) => BundleError::InclusionProof(d),
            TransparencyLogError::Checkpoint(d) => BundleError::Checkpoint(d),
            TransparencyLogError::InclusionPromise(d) => BundleError::Set(d),
            TransparencyLogError::EntryMismatch(d) => BundleError::EntryMismatch(d),
            TransparencyLogError::IntegratedTime(d) => BundleError::IntegratedTime(d),
            TransparencyLogError::MalformedEntry(d) => BundleError::MalformedEntry(d),
            other => BundleError::MalformedEntry(other.to_string()),
        },
        E::Timestamp(t) => match t {
            TimestampError::NoVerifiedTimestamp(d) => BundleError::NoTrustedTime(d),
            other => BundleError::Timestamp(other.to_string()),
        },
        E::InvalidBundle(d) => BundleError::Malformed(d),
        E::Bundle(e) => BundleError::Malformed(e.to_string()),
        E::Types(e) => BundleError::Malformed(e.to_string()),
        E::UnsupportedBundle(d) => BundleError::Unsupported(d),
        E::InvalidTrustRoot(d) => return trust_fault(d),
        E::TrustRoot(e) => return trust_fault(e.to_string()),
        E::TrustedCertificate(e) => return trust_fault(e.to_string()),
        E::ArtifactRead(e) => {
            return VerifyError::Fault(SignError::Repo(Error::Unreadable {
                path: match artefact {
                    Artefact::File(p) => p.clone(),
                    Artefact::Sha256(_) => PathBuf::from(artefact.name()),
                },
                message: e.to_string(),
            }));
        }
        E::Crypto(e) => BundleError::Unsupported(e.to_string()),
        other => BundleError::Unsupported(other.to_string()),
    };
    b.into()
}

/// A chain error from webpki: its `UnixTime(N)` shown as RFC 3339; an
/// expired or not-yet-valid certificate is a time failure, not a chain one.
fn chain_error(detail: &str) -> BundleError {
    let mut text = String::new();
    let mut rest = detail;
    while let Some(i) = rest.find("UnixTime(") {
        let after = &rest[i + "UnixTime(".len()..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let shown = digits
            .parse::<i64>()
            .ok()
            .and_then(|n| OffsetDateTime::from_unix_timestamp(n).ok())
            .filter(|_| after[digits.len()..].starts_with(')'));
        match shown {
            Some(t) => {
                text.push_str(&rest[..i]);
                text.push_str(&crate::policy::timestamp::Timestamp(t).to_string());
                rest = &after[digits.len() + 1..];
            }
            None => {
                text.push_str(&rest[..i + "UnixTime(".len()]);
                rest = after;
            }
        }
    }
    text.push_str(rest);
    let text = text.replace("certificate chain validation failed: ", "");
    // `Name { field: value, field: value }`
    let field = |name: &str| {
        let start = text.find(&format!("{name}: "))? + name.len() + 2;
        let value = &text[start..];
        Some(value[..value.find([',', ' '])?].to_owned())
    };
    let at = field("time").unwrap_or_else(|| "?".into());
    if text.starts_with("CertExpired") {
        BundleError::CertificateTime(format!(
            "a certificate of the chain expired at {}, before the signing time {at}",
            field("not_after").unwrap_or_else(|| "?".into())
        ))
    } else if text.starts_with("CertNotValidYet") {
        BundleError::CertificateTime(format!(
            "a certificate of the chain is valid only from {}, after the signing time {at}",
            field("not_before").unwrap_or_else(|| "?".into())
        ))
    } else {
        BundleError::Chain(text)
    }
}

/// The artefact does not match: its digest is not the bundle's message
/// digest, it is no subject of the in-toto statement, or the log entry
/// records another digest.
fn artifact_mismatch(detail: String, bundle: &Bundle, sha256: &str) -> BundleError {
    match &bundle.content {
        SignatureContent::MessageSignature(ms) => match &ms.message_digest {
            Some(md) if md.algorithm == HashAlgorithm::Sha2256 => {
                if x509::hex(md.digest.as_bytes()) != sha256 {
                    BundleError::DigestMismatch {
                        algorithm: "SHA-256".into(),
                    }
                } else {
                    BundleError::EntryMismatch(format!(
                        "the log entry records another artefact digest ({detail})"
                    ))
                }
            }
            Some(md) if detail.contains("message digest") => BundleError::DigestMismatch {
                algorithm: match md.algorithm {
                    HashAlgorithm::Sha2384 => "SHA-384".into(),
                    HashAlgorithm::Sha2512 => "SHA-512".into(),
                    other => format!("{other:?}"),
                },
            },
            _ => BundleError::ArtifactMismatch(detail),
        },
        SignatureContent::DsseEnvelope(env) => {
            match serde_json::from_slice::<sigstore_types::Statement>(env.payload.as_bytes()) {
                Ok(st) => {
                    let subjects = st
                        .subject
                        .iter()
                        .map(|s| {
                            format!(
                                "`{}` sha256 {}",
                                s.name,
                                s.digest
                                    .sha256
                                    .map_or_else(|| "none".to_owned(), |d| d.to_hex())
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    if st
                        .subject
                        .iter()
                        .any(|s| s.digest.sha256.is_some_and(|d| d.to_hex() == sha256))
                    {
                        BundleError::EntryMismatch(format!(
                            "the log entry records another digest ({detail})"
                        ))
                    } else {
                        BundleError::SubjectMismatch {
                            sha256: sha256.to_owned(),
                            subjects,
                        }
                    }
                }
                Err(_) => BundleError::ArtifactMismatch(detail),
            }
        }
        _ => BundleError::ArtifactMismatch(detail),
    }
}

pub(crate) fn verify_prehash(facts: &x509::CertFacts, digest: &[u8], sig: &[u8]) -> Result<(), ()> {
    use der::Decode;
    use signature::hazmat::PrehashVerifier;
    use spki::DecodePublicKey;
    let cert = x509_cert::Certificate::from_der(&facts.der).map_err(|_| ())?;
    let spki =
        der::Encode::to_der(cert.tbs_certificate().subject_public_key_info()).map_err(|_| ())?;
    if let Ok(vk) = p256::ecdsa::VerifyingKey::from_public_key_der(&spki) {
        let s = p256::ecdsa::DerSignature::from_bytes(sig).map_err(|_| ())?;
        let s = p256::ecdsa::Signature::try_from(s).map_err(|_| ())?;
        return vk.verify_prehash(digest, &s).map_err(|_| ());
    }
    if let Ok(vk) = p384::ecdsa::VerifyingKey::from_public_key_der(&spki) {
        let s = p384::ecdsa::DerSignature::from_bytes(sig).map_err(|_| ())?;
        let s = p384::ecdsa::Signature::try_from(s).map_err(|_| ())?;
        return vk.verify_prehash(digest, &s).map_err(|_| ());
    }
    Err(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sha256_argument_is_a_digest_and_anything_else_a_path() {
        let hex = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
        let a = Artefact::from_arg(Path::new(&format!("sha256:{hex}")));
        assert_eq!(a.name(), format!("sha256:{hex}"));
        assert!(matches!(a, Artefact::Sha256(d) if d[0] == 0xa0 && d[31] == 0xbf));
        // upper case is hex too; the name is shown lower case
        let upper = Artefact::from_arg(Path::new(&format!("sha256:{}", hex.to_uppercase())));
        assert_eq!(upper, a);
        for path in [
            "sha256:abc",
            &format!("sha256:{hex}0"),
            &format!("sha256:{}g", &hex[..63]),
            &format!("sha512:{hex}"),
            "dist/app.tar",
        ] {
            assert_eq!(
                Artefact::from_arg(Path::new(path)),
                Artefact::File(PathBuf::from(path)),
                "{path}"
            );
        }
    }

    #[test]
    fn the_primary_time_is_rfc3161_then_rekor_then_the_fallback() {
        let t =
            |s: i64| OffsetDateTime::from_unix_timestamp(s).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let times = [
            (TimeSource::Rekor, t(5)),
            (TimeSource::Rfc3161, t(9)),
            (TimeSource::Rfc3161, t(7)),
        ];
        assert_eq!(primary_time(&times, t(1)), (TimeSource::Rfc3161, t(7)));
        assert_eq!(primary_time(&times[..1], t(1)), (TimeSource::Rekor, t(5)));
        assert_eq!(primary_time(&[], t(1)), (TimeSource::None, t(1)));
        assert_eq!(TimeSource::None.as_str(), "none (checked now)");
    }
}
