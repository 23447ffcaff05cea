//! `sigctl verify-artifact`: an artefact against its Sigstore bundle and
//! the policy.

use std::path::Path;

use sigstore_types::bundle::{SignatureContent, VerificationMaterialContent};
use sigstore_types::{Bundle, HashAlgorithm};
use time::OffsetDateTime;

use super::artifact::digest_file;
use super::{PolicyView, SignError};
use crate::repo::Repo;
use crate::signature::x509;

/// Why a bundle does not verify.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is not a valid Sigstore bundle: {0}")]
    Malformed(String),
    #[error("the bundle holds no message signature over the artefact (a DSSE attestation?)")]
    NotMessageSignature,
    #[error(
        "the bundle names no certificate (only a public key hint), so its signer cannot be matched to signing.toml"
    )]
    NoCertificate,
    #[error("the artefact's {algorithm} digest does not match the bundle: the file was changed")]
    DigestMismatch { algorithm: String },
    #[error("the signature does not verify with the bundle's certificate")]
    BadSignature,
    #[error("the bundle's certificate ({subject}) belongs to no identity of signing.toml")]
    UnknownSigner { subject: String },
    #[error("the signer `{identity}` is revoked")]
    Revoked { identity: String },
    #[error("the certificate of `{identity}` is not valid now ({why})")]
    CertificateInvalid { identity: String, why: String },
}

/// A verified artefact.
#[derive(Debug)]
pub struct VerifiedArtifact {
    pub identity: String,
    pub subject: String,
    pub sha256: String,
}

/// Verify `file` against its bundle and the policy.
pub fn verify_artifact(
    repo: &Repo,
    file: &Path,
    bundle_bytes: &[u8],
    now: OffsetDateTime,
) -> Result<VerifiedArtifact, SignError> {
    let fail = |e: BundleError| SignError::Verify(e.to_string());
    let text = std::str::from_utf8(bundle_bytes)
        .map_err(|_| fail(BundleError::Malformed("not UTF-8".into())))?;
    let bundle =
        Bundle::from_json(text).map_err(|e| fail(BundleError::Malformed(e.to_string())))?;
    // sigstore_bundle::validate_bundle would refuse a bundle with neither a
    // tlog entry nor a timestamp, which is what a token signature without a
    // TSA is: parsing checks the shape, the checks below the content
    let cert_der = match &bundle.verification_material.content {
        VerificationMaterialContent::Certificate(c) => c.raw_bytes.as_bytes().to_vec(),
        VerificationMaterialContent::X509CertificateChain { certificates } => certificates
            .first()
            .map(|c| c.raw_bytes.as_bytes().to_vec())
            .ok_or_else(|| fail(BundleError::NoCertificate))?,
        _ => return Err(fail(BundleError::NoCertificate)),
    };
    let SignatureContent::MessageSignature(ms) = &bundle.content else {
        return Err(fail(BundleError::NotMessageSignature));
    };
    let facts = x509::parse(&cert_der).map_err(|e| fail(BundleError::Malformed(e.to_string())))?;
    let hash = ms
        .message_digest
        .as_ref()
        .map_or(HashAlgorithm::Sha2256, |md| md.algorithm);
    let (hash, name) = match hash {
        HashAlgorithm::Sha2384 => (HashAlgorithm::Sha2384, "SHA-384"),
        HashAlgorithm::Sha2256 => (HashAlgorithm::Sha2256, "SHA-256"),
        other => {
            return Err(fail(BundleError::Malformed(format!(
                "digest algorithm {other:?}"
            ))));
        }
    };
    let digest = digest_file(file, hash)?;
    if let Some(md) = &ms.message_digest
        && md.digest.as_bytes() != digest.as_slice()
    {
        return Err(fail(BundleError::DigestMismatch {
            algorithm: name.into(),
        }));
    }
    verify_prehash(&facts, &digest, ms.signature.as_bytes())
        .map_err(|_| fail(BundleError::BadSignature))?;
    let view = PolicyView::load(repo)?;
    let identity = view
        .certificates(repo)
        .iter()
        .find(|(_, der)| {
            x509::parse(der).is_ok_and(|f| f.fingerprint_sha256 == facts.fingerprint_sha256)
        })
        .map(|(name, _)| name.clone())
        .ok_or_else(|| {
            fail(BundleError::UnknownSigner {
                subject: facts.subject.clone(),
            })
        })?;
    if view
        .raw
        .revocations
        .iter()
        .any(|r| r.identity.get() == &identity)
    {
        return Err(fail(BundleError::Revoked { identity }));
    }
    if now >= facts.not_after || now < facts.not_before {
        return Err(fail(BundleError::CertificateInvalid {
            identity,
            why: format!(
                "valid {} to {}",
                facts.not_before.date(),
                facts.not_after.date()
            ),
        }));
    }
    let sha256 = if matches!(hash, HashAlgorithm::Sha2256) {
        x509::hex(&digest)
    } else {
        x509::hex(&digest_file(file, HashAlgorithm::Sha2256)?)
    };
    Ok(VerifiedArtifact {
        identity,
        subject: facts.subject,
        sha256,
    })
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
