//! Sigstore keyless (Fulcio) certificates: chain a leaf to the certificate
//! authorities of a `trusted_root.json`, and read the identity it binds (the
//! SAN and the OIDC issuer extension).
//!
//! Pure: bytes and an instant in, facts out.

use der::Decode;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The certificate authorities of a Sigstore trusted root.
#[derive(Debug, Clone, Default)]
pub struct TrustedRoot {
    /// Every CA certificate (roots and intermediates), DER.
    pub cas: Vec<Vec<u8>>,
    /// The Rekor logs' keys (`tlogs`), for transparency-log evidence.
    pub tlogs: Vec<super::rekor::LogKey>,
    /// The timestamp authorities (`timestampAuthorities`), for RFC 3161
    /// tokens; none when the file is not one sigstore-rust reads.
    pub tsas: Vec<sigstore_types::TsaAuthority>,
    /// When each certificate authority may have issued (`validFor`), by
    /// certificate: a chain anchored in a CA is valid only for a signing
    /// time inside one of its windows. A CA without a window: always.
    pub windows: Vec<(Vec<u8>, Option<OffsetDateTime>, Option<OffsetDateTime>)>,
}

impl TrustedRoot {
    /// Whether the CA certificate `der` may vouch for a signature made at `at`.
    pub fn ca_valid_at(&self, der: &[u8], at: OffsetDateTime) -> bool {
        let mut windows = self.windows.iter().filter(|(d, _, _)| d == der).peekable();
        windows.peek().is_none()
            || windows.any(|(_, from, until)| {
                from.is_none_or(|f| f <= at) && until.is_none_or(|u| at <= u)
            })
    }
}

impl TrustedRoot {
    /// Parse a `trusted_root.json` (protobuf-specs TrustedRoot, JSON form).
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        use base64::Engine;
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let time_at = |ca: &serde_json::Value, p: &str| {
            ca.pointer(p)
                .and_then(|s| s.as_str())
                .and_then(|s| crate::policy::timestamp::Timestamp::parse(s).ok())
                .map(|t| t.0)
        };
        let mut cas = Vec::new();
        let mut windows = Vec::new();
        for ca in v
            .get("certificateAuthorities")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            let (from, until) = (time_at(ca, "/validFor/start"), time_at(ca, "/validFor/end"));
            let first = cas.len();
            for c in ca
                .pointer("/certChain/certificates")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(raw) = c.get("rawBytes").and_then(|r| r.as_str()) {
                    let der = base64::engine::general_purpose::STANDARD
                        .decode(raw)
                        .map_err(|e| format!("bad certificate in the trusted root: {e}"))?;
                    cas.push(der);
                }
            }
            for der in &cas[first..] {
                windows.push((der.clone(), from, until));
            }
        }
        if cas.is_empty() {
            return Err("the trusted root names no certificate authority".into());
        }
        let mut tlogs = Vec::new();
        for log in v
            .get("tlogs")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
        {
            let b64 = |p: &str| {
                log.pointer(p)
                    .and_then(|r| r.as_str())
                    .and_then(|r| base64::engine::general_purpose::STANDARD.decode(r).ok())
            };
            let (Some(key_id), Some(spki)) = (b64("/logId/keyId"), b64("/publicKey/rawBytes"))
            else {
                continue;
            };
            tlogs.push(super::rekor::LogKey {
                key_id,
                spki,
                valid_from: time_at(log, "/publicKey/validFor/start"),
                valid_until: time_at(log, "/publicKey/validFor/end"),
            });
        }
        let tsas = std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| sigstore_trust_root::TrustedRoot::from_json(t).ok())
            .map(|r| r.tsa_authorities())
            .unwrap_or_default();
        Ok(Self {
            cas,
            tlogs,
            tsas,
            windows,
        })
    }
}

/// Who a Fulcio certificate says signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessIdentity {
    /// The SAN: a mail address or a URI (a workflow identity).
    pub subject: String,
    /// The OIDC issuer (extension 1.3.6.1.4.1.57264.1.8, else the older .1.1).
    pub issuer: Option<String>,
}

/// Read the identity a Fulcio certificate binds.
pub fn identity(leaf: &[u8]) -> Result<KeylessIdentity, String> {
    let (_, cert) = X509Certificate::from_der(leaf).map_err(|e| e.to_string())?;
    let subject = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .and_then(|san| {
            san.value.general_names.iter().find_map(|n| match n {
                GeneralName::RFC822Name(e) => Some((*e).to_owned()),
                GeneralName::URI(u) => Some((*u).to_owned()),
                _ => None,
            })
        })
        .ok_or("the certificate names no subject (SAN)")?;
    let mut v2 = None;
    let mut v1 = None;
    for ext in cert.extensions() {
        match ext.oid.to_id_string().as_str() {
            // DER UTF8String
            "1.3.6.1.4.1.57264.1.8" => {
                v2 = der::asn1::Utf8StringRef::from_der(ext.value)
                    .ok()
                    .map(|s| s.as_str().to_owned());
            }
            // the raw string, unencoded
            "1.3.6.1.4.1.57264.1.1" => v1 = std::str::from_utf8(ext.value).ok().map(str::to_owned),
            _ => {}
        }
    }
    Ok(KeylessIdentity {
        subject,
        issuer: v2.or(v1),
    })
}

/// The TBSCertificate bytes exactly as embedded.
fn tbs_raw(cert: &[u8]) -> Option<&[u8]> {
    let (inner, _) = super::der_tlv::split(cert, 0x30)?;
    let (_, _, tbs) = super::der_tlv::element(inner)?;
    Some(tbs)
}

/// Whether `issuer` signed `cert`.
fn signed_by(cert: &[u8], issuer: &[u8]) -> bool {
    let (Ok(c), Ok(i)) = (
        x509_cert::Certificate::from_der(cert),
        x509_cert::Certificate::from_der(issuer),
    ) else {
        return false;
    };
    let Some(tbs) = tbs_raw(cert) else {
        return false;
    };
    let Ok(spki) = der::Encode::to_der(i.tbs_certificate().subject_public_key_info()) else {
        return false;
    };
    // the same verification as a CMS signer's (ring's ECDSA, about 4x
    // RustCrypto's: chain building checks up to a few dozen candidates)
    let sig = c.signature().raw_bytes();
    let alg = c.signature_algorithm().oid;
    super::cms::verify_signature(&spki, &alg, tbs, sig).is_ok()
}

/// Whether a certificate may issue others: basicConstraints CA, and
/// keyCertSign when it restricts its key usage.
fn is_ca(cert: &[u8]) -> bool {
    X509Certificate::from_der(cert).is_ok_and(|(_, c)| {
        let ca = matches!(c.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        let usage = match c.key_usage() {
            Ok(Some(ku)) => ku.value.key_cert_sign(),
            Ok(None) => true,
            Err(_) => false,
        };
        ca && usage
    })
}

fn valid_at(cert: &[u8], at: OffsetDateTime) -> bool {
    X509Certificate::from_der(cert).is_ok_and(|(_, c)| {
        let v = c.validity();
        at >= v.not_before.to_datetime() && at <= v.not_after.to_datetime()
    })
}

fn subject_and_issuer(cert: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let c = x509_cert::Certificate::from_der(cert).ok()?;
    Some((
        der::Encode::to_der(c.tbs_certificate().subject()).ok()?,
        der::Encode::to_der(c.tbs_certificate().issuer()).ok()?,
    ))
}

/// Chain `leaf` to a CA of `root` through `intermediates` (certificates the
/// signature carried) and the root's own chain, every link valid at `at`.
pub fn verify_chain(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    root: &TrustedRoot,
    at: OffsetDateTime,
) -> Result<(), String> {
    if !valid_at(leaf, at) {
        return Err("the certificate was not valid at the signing time".into());
    }
    let pool: Vec<&Vec<u8>> = root.cas.iter().chain(intermediates.iter()).collect();
    let mut current = leaf.to_vec();
    // the chain ends at a CA of the trusted root that could issue at `at`
    let anchored = |der: &Vec<u8>| -> Result<(), String> {
        if root.ca_valid_at(der, at) {
            Ok(())
        } else {
            Err(
                "the certificate authority it chains to was not valid at the signing time (validFor in the trusted root): a retired CA vouches for nothing new"
                    .into(),
            )
        }
    };
    for _ in 0..6 {
        if root.cas.contains(&current) {
            return anchored(&current);
        }
        let (_, issuer_name) =
            subject_and_issuer(&current).ok_or("a certificate in the chain does not parse")?;
        // only a CA may issue: a leaf's key signing a certificate for
        // another name is a forgery, not a chain
        let next = pool
            .iter()
            .filter(|c| subject_and_issuer(c).is_some_and(|(s, _)| s == issuer_name))
            .find(|c| is_ca(c) && signed_by(&current, c) && valid_at(c, at))
            .ok_or(
                "the certificate does not chain to the trusted root's certificate authorities",
            )?;
        if **next == current {
            break;
        }
        current = (*next).clone();
    }
    if root.cas.contains(&current) {
        anchored(&current)
    } else {
        Err("the certificate chain does not end at the trusted root".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::walk::{split_commit_signature, split_tag_signature};
    use crate::signature::cms;

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

    #[test]
    fn every_real_gitsign_object_chains_to_the_public_good_root_with_its_identity() {
        let root = TrustedRoot::from_json(
            &std::fs::read(format!(
                "{TESTDATA}/trust/sigstore-public-good.trusted_root.json"
            ))
            .unwrap_or_default(),
        )
        .expect("trusted root");
        let manifest: toml::Value = toml::from_str(
            &std::fs::read_to_string(format!("{TESTDATA}/manifest.toml")).unwrap_or_default(),
        )
        .unwrap_or(toml::Value::Table(Default::default()));
        let mut checked = 0;
        for f in manifest
            .get("file")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten()
        {
            let kind = f.get("kind").and_then(|v| v.as_str()).unwrap_or("");
            let path = f.get("path").and_then(|v| v.as_str()).unwrap_or("");
            if !matches!(kind, "gitsign-commit" | "gitsign-tag") || path.contains("tampered") {
                continue;
            }
            let raw = std::fs::read(format!("{TESTDATA}/{path}")).unwrap_or_default();
            let (sig, payload) = if kind == "gitsign-tag" {
                split_tag_signature(&raw)
            } else {
                split_commit_signature(&raw)
            }
            .unwrap_or_default();
            let v = cms::verify_detached(&sig, &payload).unwrap_or_else(|e| panic!("{path}: {e}"));
            let at = v.signing_time.unwrap_or(OffsetDateTime::UNIX_EPOCH);
            verify_chain(&v.certificate, &v.chain, &root, at)
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            let id = identity(&v.certificate).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(
                Some(id.subject.as_str()),
                f.get("signer").and_then(|v| v.as_str()),
                "{path}"
            );
            let want_issuer = f
                .get("issuer_ext_1_8")
                .or_else(|| f.get("issuer_ext_1_1"))
                .and_then(|v| v.as_str());
            assert_eq!(id.issuer.as_deref(), want_issuer, "{path}");
            // a minute after the ten-minute certificate expired, the chain no longer holds
            assert!(
                verify_chain(
                    &v.certificate,
                    &v.chain,
                    &root,
                    at + time::Duration::minutes(11)
                )
                .is_err(),
                "{path}"
            );
            checked += 1;
        }
        assert_eq!(checked, 13);
    }

    #[test]
    fn a_certificate_signed_with_a_leaf_key_does_not_chain() {
        let root = TrustedRoot {
            cas: vec![include_bytes!("../../tests/fixtures/chain/root.der").to_vec()],
            tlogs: Vec::new(),
            tsas: Vec::new(),
            windows: Vec::new(),
        };
        let leaf = include_bytes!("../../tests/fixtures/chain/leaf.der");
        let forged = include_bytes!("../../tests/fixtures/chain/forged.der");
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(verify_chain(leaf, &[], &root, at), Ok(()));
        // a CA whose validFor ended before the signing time vouches for nothing
        let mut retired = root.clone();
        retired.windows = vec![(
            root.cas[0].clone(),
            None,
            Some(at - time::Duration::days(1)),
        )];
        assert!(verify_chain(leaf, &[], &retired, at).is_err());
        retired.windows.push((root.cas[0].clone(), Some(at), None));
        assert_eq!(
            verify_chain(leaf, &[], &retired, at),
            Ok(()),
            "another window covers it"
        );
        // the leaf's key did sign the forged certificate, but the leaf is no CA
        assert!(signed_by(forged, leaf));
        assert!(verify_chain(forged, &[leaf.to_vec()], &root, at).is_err());
    }

    #[test]
    fn a_certificate_from_another_ca_does_not_chain() {
        let root = TrustedRoot::from_json(
            &std::fs::read(format!(
                "{TESTDATA}/trust/sigstore-public-good.trusted_root.json"
            ))
            .unwrap_or_default(),
        )
        .expect("trusted root");
        let other = include_bytes!("../../tests/fixtures/certs/leaf.der");
        let at = OffsetDateTime::from_unix_timestamp(1_790_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert!(verify_chain(other, &[], &root, at).is_err());
        assert!(TrustedRoot::from_json(b"{}").is_err());
        assert!(TrustedRoot::from_json(b"garbage").is_err());
    }
}
