//! `sigctl sign artifact` and `sigctl verify-artifact`: Sigstore bundles
//! (v0.3, messageSignature, the certificate as verification material) for
//! signatures made on a token.

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use time::OffsetDateTime;

use super::{PolicyView, SignError, clear, open_key};
use crate::error::Error;
use crate::repo::Repo;
use crate::signature::x509;
use crate::signer::{KeyAlgorithm, SignerError, TokenAccess};

/// The bundle media type sigctl writes.
pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A Sigstore bundle, in protobuf-specs' JSON form (the fields sigctl uses).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    pub message_signature: MessageSignature,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    pub certificate: RawBytes,
    #[serde(default)]
    pub tlog_entries: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    pub raw_bytes: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    pub message_digest: MessageDigest,
    pub signature: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MessageDigest {
    pub algorithm: String,
    pub digest: String,
}

/// One signed artefact.
#[derive(Debug)]
pub struct ArtifactReport {
    pub file: PathBuf,
    pub bundle: PathBuf,
    pub sha256: String,
}

/// Hash a file, streaming (hashing is the only work; the file is read once).
pub fn digest_file(path: &Path, algorithm: KeyAlgorithm) -> Result<Vec<u8>, Error> {
    let unreadable = |e: std::io::Error| Error::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut f = std::fs::File::open(path).map_err(unreadable)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut h256 = sha2::Sha256::new();
    let mut h384 = sha2::Sha384::new();
    loop {
        let n = f.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        match algorithm {
            KeyAlgorithm::P384 => h384.update(&buf[..n]),
            _ => h256.update(&buf[..n]),
        }
    }
    Ok(match algorithm {
        KeyAlgorithm::P384 => h384.finalize().to_vec(),
        _ => h256.finalize().to_vec(),
    })
}

/// The bundle path for an artefact.
pub fn bundle_path(file: &Path) -> PathBuf {
    let mut name = file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".sigstore.json");
    file.with_file_name(name)
}

/// Sign every file, then write every bundle (each through a temporary file
/// and a rename); if anything fails, no bundle is left behind.
pub fn sign_artifacts(
    repo: &Repo,
    access: &TokenAccess,
    identity: &str,
    files: &[PathBuf],
    refname: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<ArtifactReport>, SignError> {
    for f in files {
        let meta = std::fs::metadata(f).map_err(|e| Error::Unreadable {
            path: f.clone(),
            message: e.to_string(),
        })?;
        if !meta.is_file() {
            return Err(Error::Unreadable {
                path: f.clone(),
                message: "not a regular file".into(),
            }
            .into());
        }
    }
    let view = PolicyView::load(repo)?;
    let cleared = clear(repo, &view, identity, refname, now)?;
    let (token, key) = open_key(&cleared, access)?;
    let algorithm = match key.algorithm {
        KeyAlgorithm::P256 => "SHA2_256",
        KeyAlgorithm::P384 => "SHA2_384",
        other => {
            return Err(SignError::Token(SignerError::UnsupportedKey {
                what: format!("artefact bundles with {other} keys (use ECDSA P-256 or P-384)"),
            }));
        }
    };
    let mut made = Vec::new();
    for f in files {
        let digest = digest_file(f, key.algorithm)?;
        let sig = token.sign_prehashed(&cleared.uri, &key, &digest)?;
        let bundle = Bundle {
            media_type: MEDIA_TYPE.into(),
            verification_material: VerificationMaterial {
                certificate: RawBytes {
                    raw_bytes: B64.encode(&cleared.facts.der),
                },
                tlog_entries: Vec::new(),
                timestamp_verification_data: None,
            },
            message_signature: MessageSignature {
                message_digest: MessageDigest {
                    algorithm: algorithm.into(),
                    digest: B64.encode(&digest),
                },
                signature: B64.encode(&sig),
            },
        };
        let mut json =
            serde_json::to_string_pretty(&bundle).map_err(|e| SignError::Cms(e.to_string()))?;
        json.push('\n');
        made.push((f.clone(), bundle_path(f), json, x509::hex(&digest)));
    }
    // all signatures made: now write, all or nothing
    let mut temps = Vec::new();
    for (_, bundle, json, _) in &made {
        let tmp = bundle.with_file_name(format!(
            ".{}.sigctl-tmp-{}",
            bundle
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        if let Err(e) = std::fs::write(&tmp, json) {
            let _ = std::fs::remove_file(&tmp);
            for t in &temps {
                let _ = std::fs::remove_file(t);
            }
            return Err(Error::Unwritable {
                path: bundle.clone(),
                message: e.to_string(),
            }
            .into());
        }
        temps.push(tmp);
    }
    let mut reports = Vec::new();
    for ((file, bundle, _, sha256), tmp) in made.into_iter().zip(temps) {
        std::fs::rename(&tmp, &bundle).map_err(|e| Error::Unwritable {
            path: bundle.clone(),
            message: e.to_string(),
        })?;
        reports.push(ArtifactReport {
            file,
            bundle,
            sha256,
        });
    }
    Ok(reports)
}

/// Why a bundle does not verify.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is not valid JSON of a Sigstore bundle: {0}")]
    Malformed(String),
    #[error("unsupported bundle media type `{0}`")]
    MediaType(String),
    #[error("the artefact's {algorithm} digest does not match the bundle: the file was changed")]
    DigestMismatch { algorithm: String },
    #[error("the signature does not verify with the bundle's certificate")]
    BadSignature,
    #[error("the bundle's certificate belongs to no identity of signing.toml")]
    UnknownSigner,
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
    let bundle: Bundle = serde_json::from_slice(bundle_bytes)
        .map_err(|e| fail(BundleError::Malformed(e.to_string())))?;
    let known = [
        MEDIA_TYPE,
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
    ];
    if !known.contains(&bundle.media_type.as_str()) {
        return Err(fail(BundleError::MediaType(bundle.media_type)));
    }
    let b64 = |s: &str| {
        B64.decode(s)
            .map_err(|e| fail(BundleError::Malformed(e.to_string())))
    };
    let cert_der = b64(&bundle.verification_material.certificate.raw_bytes)?;
    let facts = x509::parse(&cert_der).map_err(|e| fail(BundleError::Malformed(e.to_string())))?;
    let md = &bundle.message_signature.message_digest;
    let algorithm = match md.algorithm.as_str() {
        "SHA2_256" => KeyAlgorithm::P256,
        "SHA2_384" => KeyAlgorithm::P384,
        other => {
            return Err(fail(BundleError::Malformed(format!(
                "digest algorithm {other}"
            ))));
        }
    };
    let digest = digest_file(file, algorithm)?;
    if b64(&md.digest)? != digest {
        return Err(fail(BundleError::DigestMismatch {
            algorithm: md.algorithm.clone(),
        }));
    }
    let sig = b64(&bundle.message_signature.signature)?;
    verify_prehash(&facts, &digest, &sig).map_err(|_| fail(BundleError::BadSignature))?;
    let view = PolicyView::load(repo)?;
    let certs = view.certificates(repo);
    let identity = certs
        .iter()
        .find(|(_, der)| {
            x509::parse(der).is_ok_and(|f| f.fingerprint_sha256 == facts.fingerprint_sha256)
        })
        .map(|(name, _)| name.clone())
        .ok_or_else(|| fail(BundleError::UnknownSigner))?;
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
    Ok(VerifiedArtifact {
        identity,
        subject: facts.subject,
        sha256: x509::hex(&digest_file(file, KeyAlgorithm::P256)?),
    })
}

fn verify_prehash(facts: &x509::CertFacts, digest: &[u8], sig: &[u8]) -> Result<(), ()> {
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
