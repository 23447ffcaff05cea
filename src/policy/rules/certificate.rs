//! A declared certificate is readable, parses, carries the pinned key and
//! allows code signing.

use crate::diag::{Code, Diagnostic};
use crate::policy::{CertInput, Ctx, MAX_CERTIFICATE_BYTES};

pub const DOC: &str = "A `certificate` is a readable PEM or DER certificate inside the repository \
(`bad-certificate`; a path that does not exist yet is `certificate-missing`, a warning, \
between `sigctl key generate` and `sigctl cert import`); its public key is the one \
`public_key` pins (`certificate-key-mismatch`); it has the codeSigning extended key usage \
(`no-code-signing-eku`, warning).";

pub fn check(cx: &mut Ctx) {
    for (name, id) in &cx.policy.identities {
        let certs = id.certificates();
        if certs.is_empty() {
            if id.key.is_some() {
                let d = Diagnostic::at(
                    Code::CertificateMissing,
                    cx.src,
                    name.span(),
                    format!("identity `{}` has a key but no certificate", name.get()),
                )
                .label("no `certificate`")
                .help(format!(
                    "add `certificate = \"certs/{0}.pem\"`, then `sigctl cert request --identity {0}`",
                    name.get()
                ));
                cx.push(d);
            }
            continue;
        }
        for cert in &certs {
            certificate(cx, name, id, cert);
        }
    }
}

/// One certificate of an identity.
fn certificate(
    cx: &mut Ctx,
    name: &crate::policy::raw::Name,
    id: &crate::policy::raw::RawIdentity,
    cert: &crate::policy::raw::Sp<String>,
) {
    {
        let path = cert.get();
        let bad = |why: String| {
            Diagnostic::at(
                Code::BadCertificate,
                cx.src,
                cert.span(),
                format!("identity `{}`: certificate `{path}` {why}", name.get()),
            )
        };
        let d = match cx.inputs.certificates.get(path.as_str()) {
            None | Some(CertInput::Bytes(_)) => None,
            Some(CertInput::Missing) => Some(
                Diagnostic::at(
                    Code::CertificateMissing,
                    cx.src,
                    cert.span(),
                    format!("identity `{}`: certificate `{path}` does not exist yet", name.get()),
                )
                .label("no such file")
                .help(format!(
                    "issue it with `sigctl cert request --identity {0}` and `sigctl cert import --identity {0} <file>`, or fix the path",
                    name.get()
                )),
            ),
            Some(CertInput::NotAFile) => Some(bad("is not a file".into()).label("a directory, not a file").help("point `certificate` at the PEM or DER file itself")),
            Some(CertInput::TooLarge(n)) => Some(
                bad(format!("is {n} bytes, over the {MAX_CERTIFICATE_BYTES} byte limit"))
                    .label("too large for a certificate")
                    .help("point `certificate` at the certificate file, not an archive or bundle"),
            ),
            Some(CertInput::OutsideRepository) => Some(
                bad("is outside the repository".into())
                    .label("not a path inside the repository")
                    .help("commit the certificate and give its path relative to the repository root, such as `certs/release.pem`"),
            ),
            Some(CertInput::Unreadable(e)) => Some(bad(format!("cannot be read: {e}")).label("unreadable").help("check the file's permissions")),
        };
        if let Some(d) = d {
            cx.push(d);
            return;
        }
        let Some(parsed) = cx.certs.get(path.as_str()) else {
            return;
        };
        let facts = match parsed {
            Ok(f) => f.clone(),
            Err(e) => {
                let d = bad(format!("is not a certificate: {e}"))
                    .label("does not parse")
                    .help("give a PEM (`-----BEGIN CERTIFICATE-----`) or DER X.509 certificate");
                cx.push(d);
                return;
            }
        };
        if let Some(pin) = &id.public_key
            && !crate::policy::view::pin_admits(id, &facts.public_key_sha256)
        {
            {
                let d = Diagnostic::at(
                    Code::CertificateKeyMismatch,
                    cx.src,
                    pin.span(),
                    format!("identity `{}`: certificate `{path}` carries a different public key", name.get()),
                )
                .label(format!("certificate key is sha256:{}", facts.public_key_sha256))
                .help("import the certificate issued for this identity's key, or correct `public_key`");
                cx.push(d);
            }
        }
        if facts.code_signing == Some(false) {
            let d = Diagnostic::at(
                Code::NoCodeSigningEku,
                cx.src,
                cert.span(),
                format!("identity `{}`: certificate `{path}` does not allow code signing", name.get()),
            )
            .label("no codeSigning extended key usage")
            .help("request the next certificate with the codeSigning EKU (sigctl cert request asks for it)");
            cx.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::CertInput;
    use crate::policy::rules::testing::{HSM, codes_with, fixture_cert, snapshot_with};

    const PATH: &str = "certs/release-2026.pem";

    #[test]
    fn garbage_directory_and_huge_files_are_errors() {
        for input in [
            CertInput::Bytes(b"not a certificate".to_vec()),
            CertInput::NotAFile,
            CertInput::TooLarge(10 << 20),
            CertInput::OutsideRepository,
        ] {
            assert_eq!(
                codes_with(HSM, PATH, input.clone()),
                ["bad-certificate"],
                "{input:?}"
            );
        }
        insta::assert_snapshot!(snapshot_with(
            HSM,
            PATH,
            CertInput::Bytes(b"\x30\x82garbage".to_vec())
        ));
    }

    #[test]
    fn a_missing_file_is_a_warning() {
        assert_eq!(
            codes_with(HSM, PATH, CertInput::Missing),
            ["certificate-missing"]
        );
    }

    #[test]
    fn pinned_key_must_match() {
        let p = HSM.replace("renew_before", "public_key = \"sha256:00\"\nrenew_before");
        assert_eq!(
            codes_with(&p, PATH, fixture_cert("leaf.pem")),
            ["certificate-key-mismatch"]
        );
        insta::assert_snapshot!(snapshot_with(&p, PATH, fixture_cert("leaf.pem")));
    }

    #[test]
    fn der_certificates_are_read_too() {
        assert!(codes_with(HSM, PATH, fixture_cert("leaf.der")).is_empty());
    }

    #[test]
    fn missing_code_signing_eku_is_a_warning() {
        assert_eq!(
            codes_with(HSM, PATH, fixture_cert("leaf-no-codesign.pem")),
            ["no-code-signing-eku"]
        );
    }
}
