//! The trust material a policy names for verification: OpenPGP key files and
//! the Sigstore trusted root.

use crate::diag::{Code, Diagnostic};
use crate::policy::raw::Sp;
use crate::policy::{CertInput, Ctx};
use crate::signature::{fulcio, openpgp, signing_config, x509};

pub const DOC: &str = "An `openpgp_key` names a readable armoured key file with an RSA key \
(`bad-openpgp-key`); an `x509.ca` names a readable file of CA certificates (`bad-ca-file`); `[sigstore] trusted_root` names a readable Sigstore trusted_root.json with \
certificate authorities (`bad-trusted-root`); `[sigstore] signing_config` names a Sigstore signing \
config v0.2 with https endpoints, and a Fulcio and a Rekor when keyless identities sign \
(`bad-signing-config`); keyless identities without a trusted root can never \
be verified (`keyless-without-trusted-root`, warning).";

/// Why a referenced file cannot be used, or its bytes.
fn bytes<'a>(cx: &'a Ctx, path: &str) -> Result<&'a [u8], String> {
    match cx.inputs.certificates.get(path) {
        Some(CertInput::Bytes(b)) => Ok(b),
        Some(CertInput::Missing) | None => Err("does not exist".into()),
        Some(CertInput::NotAFile) => Err("is not a file".into()),
        Some(CertInput::TooLarge(n)) => Err(format!("is {n} bytes, too large")),
        Some(CertInput::OutsideRepository) => Err("is outside the repository".into()),
        Some(CertInput::Unreadable(e)) => Err(format!("cannot be read: {e}")),
    }
}

fn report(cx: &mut Ctx, code: Code, at: &Sp<String>, message: String, label: &str, help: &str) {
    let d = Diagnostic::at(code, cx.src, at.span(), message)
        .label(label)
        .help(help);
    cx.push(d);
}

/// The signing config: a Sigstore signing config v0.2 with https endpoints
/// and, when the policy has keyless identities, a Fulcio and a Rekor.
fn signing_config(cx: &mut Ctx, path: &Sp<String>) {
    let keyless = cx.policy.identities.values().any(|id| id.keyless.is_some());
    let problem = match bytes(cx, path.get()) {
        Ok(b) => match signing_config::SigningConfig::from_json(b) {
            Ok(c) if keyless && !c.keyless_gaps().is_empty() => Some(format!(
                "has no {}: keyless identities cannot sign through it",
                c.keyless_gaps().join(" and no ")
            )),
            Ok(_) => None,
            Err(e) => Some(e),
        },
        Err(e) => Some(e),
    };
    if let Some(why) = problem {
        report(
            cx,
            Code::BadSigningConfig,
            path,
            format!("Sigstore signing config `{}` {why}", path.get()),
            "unusable signing config",
            "commit the signing_config.json (v0.2) of your Sigstore instance (for the public instance, the one its TUF repository publishes)",
        );
    }
}

pub fn check(cx: &mut Ctx) {
    for (name, id) in &cx.policy.identities {
        let Some(path) = &id.openpgp_key else {
            continue;
        };
        let problem = match bytes(cx, path.get()) {
            Ok(b) => openpgp::read_keys(b).err().map(|e| e.to_string()),
            Err(e) => Some(e),
        };
        if let Some(why) = problem {
            report(
                cx,
                Code::BadOpenpgpKey,
                path,
                format!(
                    "identity `{}`: OpenPGP key file `{}` {why}",
                    name.get(),
                    path.get()
                ),
                "unusable key file",
                "commit the armoured public key (`gpg --export --armor <fingerprint>`) and give its path",
            );
        }
    }
    for (name, id) in &cx.policy.identities {
        let Some(x) = &id.x509 else {
            continue;
        };
        let path = &x.get().ca;
        let problem = match bytes(cx, path.get()) {
            Ok(b) => x509::ca_certificates(b).err(),
            Err(e) => Some(e),
        };
        if let Some(why) = problem {
            report(
                cx,
                Code::BadCaFile,
                path,
                format!("identity `{}`: CA file `{}` {why}", name.get(), path.get()),
                "unusable trust anchors",
                "commit the issuing CA's certificate (PEM; several may follow each other) and give its path",
            );
        }
    }
    match &cx.policy.sigstore {
        Some(sg) => {
            let path = &sg.trusted_root;
            let problem = match bytes(cx, path.get()) {
                Ok(b) => fulcio::TrustedRoot::from_json(b).err(),
                Err(e) => Some(e),
            };
            if let Some(sc) = &sg.signing_config {
                signing_config(cx, sc);
            }
            if let Some(why) = problem {
                report(
                    cx,
                    Code::BadTrustedRoot,
                    path,
                    format!("Sigstore trusted root `{}` {why}", path.get()),
                    "unusable trusted root",
                    "commit the trusted_root.json of your Sigstore instance (for the public instance, the one its TUF repository publishes)",
                );
            }
        }
        None => {
            let keyless: Vec<_> = cx
                .policy
                .identities
                .iter()
                .filter(|(_, id)| id.keyless.is_some())
                .map(|(n, _)| n.clone())
                .collect();
            if let Some(first) = keyless.first() {
                let d = Diagnostic::at(
                    Code::KeylessWithoutTrustedRoot,
                    cx.src,
                    first.span(),
                    if keyless.len() == 1 {
                        format!(
                            "keyless identity `{}`, but no `[sigstore] trusted_root`: its signatures cannot be verified",
                            first.get()
                        )
                    } else {
                        format!(
                            "{} keyless identities, but no `[sigstore] trusted_root`: their signatures cannot be verified",
                            keyless.len()
                        )
                    },
                )
                .label("keyless identity")
                .help("add `[sigstore]` with `trusted_root = \"<path to trusted_root.json>\"` and commit that file");
                cx.push(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::CertInput;
    use crate::policy::rules::testing::{MINIMAL, codes, codes_with, snapshot};

    #[test]
    fn keyless_identities_need_a_trusted_root() {
        assert!(codes(MINIMAL).is_empty());
        let p = MINIMAL.replace(
            "[sigstore]\ntrusted_root = \"sigstore/trusted_root.json\"\n",
            "",
        );
        assert_eq!(codes(&p), ["keyless-without-trusted-root"]);
        insta::assert_snapshot!(snapshot(&p));
    }

    #[test]
    fn a_missing_or_garbage_trusted_root_is_an_error() {
        let p = MINIMAL.to_owned();
        assert_eq!(
            codes_with(&p, "sigstore/trusted_root.json", CertInput::Missing),
            ["bad-trusted-root"]
        );
        assert_eq!(
            codes_with(
                &p,
                "sigstore/trusted_root.json",
                CertInput::Bytes(b"{}".to_vec())
            ),
            ["bad-trusted-root"]
        );
    }

    #[test]
    fn a_signing_config_must_be_one_with_what_keyless_needs() {
        let p = MINIMAL.replace(
            "trusted_root = \"sigstore/trusted_root.json\"\n",
            "trusted_root = \"sigstore/trusted_root.json\"\nsigning_config = \"sigstore/signing_config.json\"\n",
        );
        assert_ne!(p, MINIMAL);
        let good = include_bytes!(
            "../../../tests/data/trust/sigstore-public-good.signing_config.v0.2.json"
        );
        let config = "sigstore/signing_config.json";
        assert!(codes_with(&p, config, CertInput::Bytes(good.to_vec())).is_empty());
        let no_rekor = String::from_utf8_lossy(good).replacen("\"rekorTlogUrls\"", "\"x\"", 1);
        for bad in [
            CertInput::Missing,
            CertInput::Bytes(b"{}".to_vec()),
            CertInput::Bytes(no_rekor.into_bytes()),
        ] {
            assert_eq!(codes_with(&p, config, bad), ["bad-signing-config"]);
        }
    }

    #[test]
    fn a_garbage_openpgp_key_file_is_an_error() {
        let p = MINIMAL.replace(
            "ssh_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJevw6pBm4PadGwWX7fOUgQ99MAxIq3Nwyd9443PkGT7 sam@example.com\"",
            "openpgp_key = \"keys/sam.asc\"",
        );
        assert_eq!(
            codes_with(&p, "keys/sam.asc", CertInput::Bytes(b"not a key".to_vec())),
            ["bad-openpgp-key"]
        );
        assert_eq!(
            codes_with(&p, "keys/sam.asc", CertInput::Missing),
            ["bad-openpgp-key"]
        );
    }

    #[test]
    fn an_x509_identity_needs_a_file_of_certificate_authorities() {
        let p = MINIMAL.replace(
            "ssh_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJevw6pBm4PadGwWX7fOUgQ99MAxIq3Nwyd9443PkGT7 sam@example.com\"",
            "x509 = { ca = \"certs/corp-ca.pem\", subject = \"sam@example.com\" }",
        );
        let root = include_bytes!("../../../tests/fixtures/chain/root.der").to_vec();
        let leaf = include_bytes!("../../../tests/fixtures/chain/leaf.der").to_vec();
        assert!(codes_with(&p, "certs/corp-ca.pem", CertInput::Bytes(root)).is_empty());
        for bad in [
            CertInput::Missing,
            CertInput::Bytes(b"not a certificate".to_vec()),
            // a leaf anchors nothing
            CertInput::Bytes(leaf),
        ] {
            assert_eq!(codes_with(&p, "certs/corp-ca.pem", bad), ["bad-ca-file"]);
        }
        // x509 and ssh_key together: two signers
        let both = MINIMAL.replace(
            "custody = \"unmanaged\"",
            "custody = \"unmanaged\"\nx509 = { ca = \"certs/corp-ca.pem\", subject = \"sam@example.com\" }",
        );
        let root = include_bytes!("../../../tests/fixtures/chain/root.der").to_vec();
        assert_eq!(
            codes_with(&both, "certs/corp-ca.pem", CertInput::Bytes(root)),
            ["ambiguous-signer"]
        );
    }
}
