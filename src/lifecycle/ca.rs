//! The internal certificate authority (`[ca]`): an hsm identity whose key
//! issues the successor certificates of the others, codeSigning only.

use std::time::SystemTime;

use der::Decode;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

use crate::sign::{Key, SignError};
use crate::signer::KeyAlgorithm;
use crate::signer::adapter::{KeyP256, KeyP384};

/// A code-signing leaf issued by the CA: the subject and key of the
/// identity, the CA's name as issuer, key identifiers both ways.
struct CodeSigningLeaf {
    issuer: Name,
    subject: Name,
}

impl BuilderProfile for CodeSigningLeaf {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut ext: Vec<Extension> = Vec::new();
        let subject = tbs.subject();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let aki = SubjectKeyIdentifier::try_from(issuer_spk)?;
        ext.push(
            AuthorityKeyIdentifier {
                key_identifier: Some(aki.0),
                ..Default::default()
            }
            .to_extension(subject, &ext)?,
        );
        ext.push(ski.to_extension(subject, &ext)?);
        ext.push(
            BasicConstraints {
                ca: false,
                path_len_constraint: None,
            }
            .to_extension(subject, &ext)?,
        );
        ext.push(KeyUsage(KeyUsages::DigitalSignature.into()).to_extension(subject, &ext)?);
        ext.push(
            ExtendedKeyUsage(vec![const_oid::db::rfc5280::ID_KP_CODE_SIGNING])
                .to_extension(subject, &ext)?,
        );
        Ok(ext)
    }
}

/// Issue a codeSigning certificate for `spki` (DER) and `subject`, valid
/// from `not_before` for `days`, signed by the CA's `key` (whose certificate
/// names the issuer). The serial is 16 random bytes.
pub fn issue(
    ca: &Key,
    subject: Name,
    spki: &[u8],
    not_before: SystemTime,
    days: u64,
) -> Result<Certificate, SignError> {
    let fail = |e: String| SignError::Cms(format!("issuing the certificate: {e}"));
    let spki = SubjectPublicKeyInfoOwned::from_der(spki).map_err(|e| fail(e.to_string()))?;
    let not_after = not_before + std::time::Duration::from_secs(days * 86_400);
    let validity = Validity::new(
        Time::try_from(not_before).map_err(|e| fail(e.to_string()))?,
        Time::try_from(not_after).map_err(|e| fail(e.to_string()))?,
    );
    let mut serial = [0u8; 16];
    getrandom::getrandom(&mut serial).map_err(|e| fail(e.to_string()))?;
    serial[0] &= 0x7f; // positive
    serial[0] |= 0x10; // and 16 bytes long
    let serial = SerialNumber::new(&serial).map_err(|e| fail(e.to_string()))?;
    let profile = CodeSigningLeaf {
        issuer: ca.cert.tbs_certificate().subject().clone(),
        subject,
    };
    let builder = CertificateBuilder::new(profile, serial, validity, spki)
        .map_err(|e| fail(e.to_string()))?;
    let unsupported = || {
        fail(format!(
            "a CA key of type {} (use ECDSA P-256 or P-384)",
            ca.algorithm
        ))
    };
    let cert = match ca.algorithm {
        KeyAlgorithm::P256 => builder.build::<_, p256::ecdsa::DerSignature>(
            &KeyP256::new(ca, ca.point()).ok_or_else(unsupported)?,
        ),
        KeyAlgorithm::P384 => builder.build::<_, p384::ecdsa::DerSignature>(
            &KeyP384::new(ca, ca.point()).ok_or_else(unsupported)?,
        ),
        _ => return Err(unsupported()),
    }
    .map_err(|e| fail(e.to_string()))?;
    Ok(cert)
}
