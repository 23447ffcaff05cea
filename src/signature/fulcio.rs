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
    /// SHA-256 of the file it was read from (zero: built in code), naming
    /// it in the verify cache's memo of checks made under it.
    pub id: [u8; 32],
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
        use sha2::Digest;
        Ok(Self {
            cas,
            tlogs,
            tsas,
            windows,
            id: sha2::Sha256::digest(bytes).into(),
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

/// What chain building reads of a certificate, parsed once.
struct CertView {
    der: Vec<u8>,
    subject: Vec<u8>,
    issuer: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    /// basicConstraints CA, and keyCertSign when it restricts its key usage
    is_ca: bool,
    /// SubjectPublicKeyInfo, DER
    spki: Vec<u8>,
    /// the TBSCertificate exactly as embedded, and the issuer's signature over it
    tbs: Vec<u8>,
    signature: Vec<u8>,
    signature_algorithm: const_oid::ObjectIdentifier,
}

impl CertView {
    fn parse(der: &[u8]) -> Option<CertView> {
        let (_, c) = X509Certificate::from_der(der).ok()?;
        let v = c.validity();
        let ca = matches!(c.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        let usage = match c.key_usage() {
            Ok(Some(ku)) => ku.value.key_cert_sign(),
            Ok(None) => true,
            Err(_) => false,
        };
        Some(CertView {
            der: der.to_vec(),
            subject: c.subject().as_raw().to_vec(),
            issuer: c.issuer().as_raw().to_vec(),
            not_before: v.not_before.to_datetime(),
            not_after: v.not_after.to_datetime(),
            is_ca: ca && usage,
            spki: c.public_key().raw.to_vec(),
            tbs: tbs_raw(der)?.to_vec(),
            signature: c.signature_value.data.to_vec(),
            signature_algorithm: const_oid::ObjectIdentifier::from_bytes(
                c.signature_algorithm.algorithm.as_bytes(),
            )
            .ok()?,
        })
    }

    fn valid_at(&self, at: OffsetDateTime) -> bool {
        at >= self.not_before && at <= self.not_after
    }

    /// Whether `issuer`'s key signed this certificate.
    fn signed_by(&self, issuer: &CertView) -> bool {
        super::cms::verify_signature(
            &issuer.spki,
            &self.signature_algorithm,
            &self.tbs,
            &self.signature,
        )
        .is_ok()
    }
}

/// A trusted root's certificates parsed once per thread (every keyless
/// commit of a history chains to the same few).
fn ca_view(der: &[u8]) -> Option<std::rc::Rc<CertView>> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;
    thread_local! {
        static SEEN: RefCell<HashMap<Vec<u8>, Option<Rc<CertView>>>> = RefCell::new(HashMap::new());
    }
    if let Some(v) = SEEN.with(|m| m.borrow().get(der).cloned()) {
        return v;
    }
    let v = CertView::parse(der).map(Rc::new);
    SEEN.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 64 {
            m.clear();
        }
        m.insert(der.to_vec(), v.clone());
    });
    v
}

/// The TBSCertificate bytes exactly as embedded.
fn tbs_raw(cert: &[u8]) -> Option<&[u8]> {
    let (inner, _) = super::der_tlv::split(cert, 0x30)?;
    let (_, _, tbs) = super::der_tlv::element(inner)?;
    Some(tbs)
}

/// Whether `issuer` signed `cert`.
#[cfg(test)]
fn signed_by(cert: &[u8], issuer: &[u8]) -> bool {
    match (CertView::parse(cert), CertView::parse(issuer)) {
        (Some(c), Some(i)) => c.signed_by(&i),
        _ => false,
    }
}

/// Chain `leaf` to a CA of `root` through `intermediates` (certificates the
/// signature carried) and the root's own chain, every link valid at `at`.
pub fn verify_chain(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    root: &TrustedRoot,
    at: OffsetDateTime,
) -> Result<(), String> {
    use std::rc::Rc;
    let leaf = CertView::parse(leaf).ok_or("a certificate in the chain does not parse")?;
    if !leaf.valid_at(at) {
        return Err("the certificate was not valid at the signing time".into());
    }
    let mut pool: Vec<Rc<CertView>> = root.cas.iter().filter_map(|c| ca_view(c)).collect();
    pool.extend(
        intermediates
            .iter()
            .filter_map(|c| CertView::parse(c).map(Rc::new)),
    );
    // the chain ends at a CA of the trusted root that could issue at `at`
    let anchored = |der: &[u8]| -> Result<(), String> {
        if root.ca_valid_at(der, at) {
            Ok(())
        } else {
            Err(
                "the certificate authority it chains to was not valid at the signing time (validFor in the trusted root): a retired CA vouches for nothing new"
                    .into(),
            )
        }
    };
    let is_root_ca = |der: &[u8]| root.cas.iter().any(|c| c.as_slice() == der);
    let mut current = Rc::new(leaf);
    for _ in 0..6 {
        if is_root_ca(&current.der) {
            return anchored(&current.der);
        }
        // only a CA may issue: a leaf's key signing a certificate for
        // another name is a forgery, not a chain
        let next = pool
            .iter()
            .filter(|c| c.subject == current.issuer)
            .find(|c| c.is_ca && current.signed_by(c) && c.valid_at(at))
            .cloned()
            .ok_or(
                "the certificate does not chain to the trusted root's certificate authorities",
            )?;
        if next.der == current.der {
            break;
        }
        current = next;
    }
    if is_root_ca(&current.der) {
        anchored(&current.der)
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
            id: [0; 32],
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
