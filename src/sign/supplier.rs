//! `sigctl verify-artifact --supplier NAME`: a third-party artefact judged
//! against what `[suppliers.NAME]` accepts, from the policy at HEAD: its
//! bundle signed by one of the supplier's signers under its trusted root,
//! and the evidence the supplier is expected to give (an in-toto
//! provenance bundle naming the artefact, an SBOM).

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::verify_artifact::{
    Artefact, BundleError, Content, Expected, Explicit, VerifiedArtifact, VerifyError,
    verify_explicit,
};
use super::{PolicyView, SignError};
use crate::error::Error;
use crate::policy::CertInput;
use crate::policy::raw::Evidence;
use crate::repo::Repo;

/// One piece of evidence and what became of it.
#[derive(Debug, Clone)]
pub struct EvidenceCheck {
    pub kind: Evidence,
    /// Where it was looked for or found.
    pub path: Option<PathBuf>,
    pub ok: bool,
    pub detail: String,
}

/// The verdict on a supplier's artefact.
#[derive(Debug, Clone)]
pub struct SupplierVerdict {
    pub supplier: String,
    /// The bundle, verified, and which accepted signer it matched.
    pub artefact: VerifiedArtifact,
    pub accepted_signer: String,
    pub evidence: Vec<EvidenceCheck>,
}

impl SupplierVerdict {
    /// Every expected piece of evidence is there and verifies.
    pub fn ok(&self) -> bool {
        self.evidence.iter().all(|e| e.ok)
    }
}

/// Where evidence files are looked for when not given.
pub struct EvidencePaths<'a> {
    pub provenance: Option<&'a Path>,
    pub sbom: Option<&'a Path>,
}

fn usage(message: String) -> VerifyError {
    VerifyError::Fault(SignError::Repo(Error::Usage(message)))
}

/// Verify `bundle` (and the expected evidence) for supplier `name`.
pub fn verify_supplier(
    repo: &Repo,
    name: &str,
    artefact: &Artefact,
    bundle: &[u8],
    paths: &EvidencePaths<'_>,
    _now: OffsetDateTime,
) -> Result<SupplierVerdict, VerifyError> {
    let view = PolicyView::load(repo)?;
    let Some(supplier) = view
        .raw
        .suppliers
        .iter()
        .find(|(k, _)| k.get() == name)
        .map(|(_, s)| s.get().clone())
    else {
        let known: Vec<String> = view.raw.suppliers.keys().map(|k| k.get().clone()).collect();
        return Err(usage(format!(
            "signing.toml at HEAD declares no supplier `{name}` (suppliers: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    };
    let root_path = supplier
        .trusted_root
        .as_ref()
        .map(|r| r.get().clone())
        .or_else(|| {
            view.raw
                .sigstore
                .as_ref()
                .map(|s| s.get().trusted_root.get().clone())
        })
        .ok_or_else(|| {
            usage(format!(
                "supplier `{name}` has no trusted root, nor has `[sigstore]`"
            ))
        })?;
    let root = match view.trust_file(repo, &root_path) {
        CertInput::Bytes(b) => b,
        _ => {
            return Err(VerifyError::TrustedRoot {
                name: root_path,
                message: "it cannot be read at HEAD".into(),
            });
        }
    };
    // every signer the supplier is accepted for, by keyless identity or key
    let mut signers: Vec<(String, Expected)> = Vec::new();
    for k in &supplier.keyless {
        let (issuer, subject) = (k.get().issuer.get().clone(), k.get().subject.get().clone());
        signers.push((
            format!("{subject} (issuer {issuer})"),
            Expected::Identity { subject, issuer },
        ));
    }
    for k in &supplier.public_keys {
        if let CertInput::Bytes(b) = view.trust_file(repo, k.get())
            && let Some(key) = std::str::from_utf8(&b)
                .ok()
                .and_then(|t| sigstore_types::DerPublicKey::from_pem(t).ok())
        {
            signers.push((
                format!("public key {}", k.get()),
                Expected::Key {
                    spki: key.as_bytes().to_vec(),
                },
            ));
        }
    }
    let judge = |bytes: &[u8]| -> Result<(VerifiedArtifact, String), VerifyError> {
        let mut last = None;
        for (label, expected) in &signers {
            let trust = Explicit {
                trusted_root: &root,
                trusted_root_name: root_path.clone(),
                expected: expected.clone(),
            };
            match verify_explicit(artefact, bytes, &trust) {
                Ok(v) => return Ok((v, label.clone())),
                // the artefact itself does not match: no other signer helps
                Err(VerifyError::Refused(BundleError::DigestMismatch { algorithm })) => {
                    return Err(BundleError::DigestMismatch { algorithm }.into());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(VerifyError::Refused(BundleError::WrongIdentity { found, .. })) => {
                BundleError::WrongIdentity {
                    found,
                    expected: format!(
                        "a signer supplier `{name}` is accepted for: {}",
                        signers
                            .iter()
                            .map(|(l, _)| l.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                }
                .into()
            }
            Some(e) => e,
            None => usage(format!("supplier `{name}` lists no usable signer")),
        })
    };
    let (verified, accepted_signer) = judge(bundle)?;
    if matches!(verified.content, Content::InToto { .. }) {
        return Err(BundleError::Unsupported(
            "the artefact's bundle is an attestation, not a signature over the artefact".into(),
        )
        .into());
    }
    let file = match artefact {
        Artefact::File(f) => Some(f.clone()),
        Artefact::Sha256(_) => None,
    };
    let beside = |suffixes: &[&str]| -> Option<PathBuf> {
        let f = file.as_ref()?;
        suffixes
            .iter()
            .map(|s| {
                let mut p = f.clone().into_os_string();
                p.push(s);
                PathBuf::from(p)
            })
            .find(|p| p.is_file())
    };
    let mut evidence = vec![EvidenceCheck {
        kind: Evidence::Bundle,
        path: None,
        ok: true,
        detail: format!("signed by {accepted_signer}"),
    }];
    let mut expected: Vec<Evidence> = supplier.evidence.iter().map(|e| *e.get()).collect();
    expected.sort();
    expected.dedup();
    for kind in expected {
        match kind {
            Evidence::Bundle => {}
            Evidence::Provenance => {
                let path = paths
                    .provenance
                    .map(Path::to_path_buf)
                    .or_else(|| beside(&[".intoto.sigstore.json", ".provenance.sigstore.json"]));
                evidence.push(match path {
                    None => EvidenceCheck {
                        kind,
                        path: None,
                        ok: false,
                        detail: "no provenance attestation (give --provenance, or put FILE.intoto.sigstore.json beside it)".into(),
                    },
                    Some(p) => {
                        let outcome = crate::files::read(&p, crate::files::BUNDLE)
                            .map_err(|e| usage(e.to_string()))
                            .and_then(|b| judge(&b));
                        match outcome {
                            Ok((v, by)) => match v.content {
                                Content::InToto { subject } if !subject.is_empty() => EvidenceCheck {
                                    kind,
                                    path: Some(p),
                                    ok: true,
                                    detail: format!("an in-toto attestation naming it (`{subject}`), signed by {by}"),
                                },
                                _ => EvidenceCheck {
                                    kind,
                                    path: Some(p),
                                    ok: false,
                                    detail: "not an in-toto attestation whose subject is this artefact".into(),
                                },
                            },
                            Err(e) => EvidenceCheck {
                                kind,
                                path: Some(p),
                                ok: false,
                                detail: e.to_string(),
                            },
                        }
                    }
                });
            }
            Evidence::Sbom => {
                let path = paths
                    .sbom
                    .map(Path::to_path_buf)
                    .or_else(|| beside(&[".spdx.json", ".cdx.json", ".sbom.json"]));
                evidence.push(match path {
                    None => EvidenceCheck {
                        kind,
                        path: None,
                        ok: false,
                        detail: "no SBOM (give --sbom, or put FILE.spdx.json or FILE.cdx.json beside it)".into(),
                    },
                    Some(p) => {
                        let what = crate::files::read(&p, crate::files::BUNDLE)
                            .ok()
                            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                            .and_then(|v| {
                                if v.get("spdxVersion").is_some() {
                                    Some("SPDX")
                                } else if v.get("bomFormat").and_then(|f| f.as_str()) == Some("CycloneDX") {
                                    Some("CycloneDX")
                                } else {
                                    None
                                }
                            });
                        match what {
                            Some(w) => EvidenceCheck {
                                kind,
                                path: Some(p),
                                ok: true,
                                detail: format!("a {w} document"),
                            },
                            None => EvidenceCheck {
                                kind,
                                path: Some(p),
                                ok: false,
                                detail: "not an SPDX or CycloneDX JSON document".into(),
                            },
                        }
                    }
                });
            }
        }
    }
    Ok(SupplierVerdict {
        supplier: name.to_owned(),
        artefact: verified,
        accepted_signer,
        evidence,
    })
}
