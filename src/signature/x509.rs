//! Certificate facts via x509-parser: subject, issuer, serial, fingerprints,
//! validity, extended key usage.
//!
//! Pure: bytes in, facts out. Chain building and trust decisions live with
//! the verifiers that need them.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

/// What sigctl needs to know about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    /// Serial number, lowercase hex with colons as openssl prints it.
    pub serial: String,
    /// SHA-256 of the certificate DER, lowercase hex.
    pub fingerprint_sha256: String,
    /// SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex.
    pub public_key_sha256: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// `None`: no extended key usage extension (any usage); `Some(b)`: whether codeSigning is listed.
    pub code_signing: Option<bool>,
    /// `None`: no basicConstraints; `Some(b)`: whether it says CA.
    pub is_ca: Option<bool>,
    /// The DER itself (the leaf when a PEM file holds a chain).
    pub der: Vec<u8>,
}

/// Why bytes are not a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("no certificate found: the file is neither PEM nor DER")]
    NotACertificate,
    #[error("the PEM block is a `{0}`, not a CERTIFICATE")]
    WrongPemLabel(String),
    #[error("the certificate does not parse: {0}")]
    Malformed(String),
}

const PEM_CERT_BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// Parse the first certificate of a PEM file, or a DER certificate.
pub fn parse(bytes: &[u8]) -> Result<CertFacts, CertError> {
    let der = if bytes.first() == Some(&0x30) {
        bytes.to_vec()
    } else if let Some(at) = memchr::memmem::find(bytes, PEM_CERT_BEGIN) {
        let (_, pem) = x509_parser::pem::parse_x509_pem(&bytes[at..])
            .map_err(|e| CertError::Malformed(format!("bad PEM: {e}")))?;
        pem.contents
    } else if let Some(at) = memchr::memmem::find(bytes, b"-----BEGIN ") {
        let label: String = bytes[at + 11..]
            .iter()
            .take_while(|b| **b != b'-' && **b != b'\n')
            .take(40)
            .map(|b| char::from(*b))
            .collect();
        return Err(CertError::WrongPemLabel(label));
    } else {
        return Err(CertError::NotACertificate);
    };
    facts(&der)
}

fn facts(der: &[u8]) -> Result<CertFacts, CertError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| CertError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertError::Malformed(format!(
            "{} bytes after the certificate",
            rest.len()
        )));
    }
    let code_signing = match cert.extended_key_usage() {
        Ok(Some(eku)) => Some(eku.value.code_signing || eku.value.any),
        Ok(None) => None,
        Err(e) => return Err(CertError::Malformed(format!("extended key usage: {e}"))),
    };
    let serial = cert
        .raw_serial()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let is_ca = match cert.basic_constraints() {
        Ok(Some(bc)) => Some(bc.value.ca),
        _ => None,
    };
    Ok(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial,
        fingerprint_sha256: hex(&Sha256::digest(der)),
        public_key_sha256: hex(&Sha256::digest(cert.public_key().raw)),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        code_signing,
        is_ca,
        der: der.to_vec(),
    })
}

/// Every CA certificate in a file of trust anchors (PEM blocks one after
/// another, or one DER certificate), DER. A certificate that is no CA
/// (basicConstraints) is refused: anchors issue, they do not sign commits.
pub fn ca_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut ders = Vec::new();
    if bytes.first() == Some(&0x30) {
        ders.push(bytes.to_vec());
    } else {
        let mut rest = bytes;
        while let Some(at) = memchr::memmem::find(rest, PEM_CERT_BEGIN) {
            let (after, pem) = x509_parser::pem::parse_x509_pem(&rest[at..])
                .map_err(|e| format!("holds a bad PEM block: {e}"))?;
            ders.push(pem.contents);
            rest = after;
        }
    }
    if ders.is_empty() {
        return Err("holds no certificate".into());
    }
    for der in &ders {
        let (_, c) = X509Certificate::from_der(der)
            .map_err(|e| format!("holds a certificate that does not parse: {e}"))?;
        if !matches!(c.basic_constraints(), Ok(Some(bc)) if bc.value.ca) {
            return Err(format!(
                "holds `{}`, which is not a certificate authority",
                c.subject()
            ));
        }
    }
    Ok(ders)
}

/// The names a certificate binds: subjectAltName mail addresses and URIs,
/// the subject's emailAddress attributes and common names.
pub fn names(der: &[u8]) -> Vec<String> {
    use x509_parser::prelude::GeneralName;
    let Ok((_, c)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::RFC822Name(m) => out.push((*m).to_owned()),
                GeneralName::URI(u) => out.push((*u).to_owned()),
                _ => {}
            }
        }
    }
    for attr in c
        .subject()
        .iter_email()
        .chain(c.subject().iter_common_name())
    {
        if let Ok(v) = attr.as_str() {
            out.push(v.to_owned());
        }
    }
    out
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_clear_error_not_a_panic() {
        assert_eq!(parse(b""), Err(CertError::NotACertificate));
        assert_eq!(parse(b"hello"), Err(CertError::NotACertificate));
        assert!(matches!(
            parse(&[0x30, 0x82, 0xff]),
            Err(CertError::Malformed(_))
        ));
        assert!(matches!(
            parse(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
            Err(CertError::Malformed(_))
        ));
        assert_eq!(
            parse(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            Err(CertError::WrongPemLabel("PUBLIC KEY".into()))
        );
    }
}
