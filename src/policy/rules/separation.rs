//! Key separation: one key belongs to one identity, and one identity signs
//! for environments of one class only.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::diag::{Code, Diagnostic};
use crate::policy::raw::{EnvironmentClass, Name, RawIdentity};
use crate::policy::{CertInput, Ctx, pkcs11_uri};
use crate::signature::{openpgp, ssh};

pub const DOC: &str = "Key separation. One key belongs to one identity (`shared-key`, reported at \
the key of the later identity, naming the earlier): the same SSH key (the key itself, whatever \
its comment), the same PKCS#11 key (the same `token` and the same `id` or `object` label), a \
certificate for the same public key (or the same `public_key` pin), the same keyless issuer and \
subject, the same OpenPGP key (file or key fingerprint), or the same x509 CA and subject under two \
identities would blur who signed, which environments the key may sign for and what a revocation \
reaches. An identity whose environments declare different `class`es (`dev`, `test`, `prod`) is an \
error (`mixed-environment-classes`): a prod key that also signs dev is a path from a \
lower-trust environment to production trust. Environments without a `class` are not constrained.";

pub fn check(cx: &mut Ctx) {
    mixed_classes(cx);
    shared_keys(cx);
}

fn mixed_classes(cx: &mut Ctx) {
    let classes: BTreeMap<&str, Option<EnvironmentClass>> = cx
        .policy
        .environments
        .iter()
        .map(|(k, e)| (k.get().as_str(), e.class.as_ref().map(|c| *c.get())))
        .collect();
    for (name, id) in &cx.policy.identities {
        // unknown environments are `references`' business
        let mut classed: Vec<(&str, EnvironmentClass)> = Vec::new();
        for env in &id.environments {
            if let Some(Some(class)) = classes.get(env.get().as_str())
                && !classed.iter().any(|(n, _)| n == env.get())
            {
                classed.push((env.get(), *class));
            }
        }
        let mut distinct: Vec<EnvironmentClass> = Vec::new();
        for (_, c) in &classed {
            if !distinct.contains(c) {
                distinct.push(*c);
            }
        }
        let (Some(first), Some(last)) = (id.environments.first(), id.environments.last()) else {
            continue;
        };
        if distinct.len() < 2 {
            continue;
        }
        let listed: Vec<String> = classed
            .iter()
            .map(|(n, c)| format!("`{n}` (class {})", c.as_str()))
            .collect();
        let kinds: Vec<&str> = distinct.iter().map(|c| c.as_str()).collect();
        let d = Diagnostic::at(
            Code::MixedEnvironmentClasses,
            cx.src,
            first.span().start..last.span().end,
            format!(
                "identity `{}` signs for environments of different classes: {}",
                name.get(),
                listed.join(", ")
            ),
        )
        .label(format!("classes {}", kinds.join(" and ")))
        .help(format!(
            "a key signs for one class of environment only, so that a lower-trust environment \
             is no path to production trust: split `{}` into one identity per class, each with \
             its own key, or correct the environments' `class`",
            name.get()
        ));
        cx.push(d);
    }
}

/// What makes two signers the same key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Material {
    /// The decoded OpenSSH key blob (type and key, no comment).
    Ssh(Vec<u8>),
    /// A PKCS#11 key: its token's label and its `id` or its `object` label (`by`).
    Pkcs11 {
        token: Option<Vec<u8>>,
        by: &'static str,
        value: Vec<u8>,
    },
    /// SHA-256 of a SubjectPublicKeyInfo (a certificate's key, or a `public_key` pin).
    Spki(String),
    Keyless {
        issuer: String,
        subject: String,
    },
    /// An OpenPGP key file, by normalised path.
    OpenpgpFile(String),
    /// An OpenPGP key or subkey, by fingerprint.
    OpenpgpKey(String),
    X509 {
        ca: String,
        subject: String,
    },
}

/// How a key was recognised, for the message and the advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ssh,
    Pkcs11,
    Certificate,
    Pin,
    Keyless,
    Openpgp,
    X509,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Ssh => "the same SSH key",
            Kind::Pkcs11 => "the same PKCS#11 key (same token, same key id or label)",
            Kind::Certificate => "a certificate for the same public key",
            Kind::Pin => "the same pinned public key",
            Kind::Keyless => "the same keyless issuer and subject",
            Kind::Openpgp => "the same OpenPGP key",
            Kind::X509 => "the same x509 CA and subject",
        }
    }

    fn help(self, second: &str, first: &str) -> String {
        let fix = match self {
            Kind::Ssh => format!("give `{second}` a key of its own (`ssh-keygen -t ed25519`)"),
            Kind::Pkcs11 | Kind::Certificate | Kind::Pin => format!(
                "give `{second}` a key of its own (`sigctl key generate --identity {second}`, \
                 then `sigctl cert request` and `sigctl cert import`)"
            ),
            Kind::Keyless => format!(
                "let `{second}` sign as an OIDC subject of its own (such as a separate workflow)"
            ),
            Kind::Openpgp => format!("give `{second}` an OpenPGP key of its own"),
            Kind::X509 => format!("give `{second}` a certificate subject of its own"),
        };
        format!(
            "{fix}, or fold it into `{first}`: a key under two identities blurs who signed, \
             which environments it may sign for and what a revocation reaches"
        )
    }
}

/// The key material an identity declares, each with the span of the field that declares it.
fn materials(cx: &Ctx, id: &RawIdentity) -> Vec<(Material, Range<usize>, Kind)> {
    let mut out = Vec::new();
    if let Some(uri) = &id.key
        && let Ok(parsed) = pkcs11_uri::parse(uri.get())
    {
        let token = parsed.path.get("token").cloned();
        for by in ["id", "object"] {
            if let Some(value) = parsed.path.get(by) {
                out.push((
                    Material::Pkcs11 {
                        token: token.clone(),
                        by,
                        value: value.clone(),
                    },
                    uri.span(),
                    Kind::Pkcs11,
                ));
            }
        }
    }
    for cert in id.certificates() {
        if let Some(Ok(facts)) = cx.certs.get(cert.get().as_str()) {
            out.push((
                Material::Spki(facts.public_key_sha256.clone()),
                cert.span(),
                Kind::Certificate,
            ));
        }
    }
    for pin in id.pins() {
        let pin_text = pin.get().trim().to_ascii_lowercase();
        let hex = pin_text.strip_prefix("sha256:").unwrap_or(&pin_text);
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.push((Material::Spki(hex.to_owned()), pin.span(), Kind::Pin));
        }
    }
    if let Some(line) = &id.ssh_key
        && let Some(blob) = ssh::key_blob(line.get())
        && !blob.is_empty()
    {
        out.push((Material::Ssh(blob), line.span(), Kind::Ssh));
    }
    if let Some(kl) = &id.keyless {
        out.push((
            Material::Keyless {
                issuer: kl.issuer.get().clone(),
                subject: kl.subject.get().clone(),
            },
            kl.span(),
            Kind::Keyless,
        ));
    }
    if let Some(path) = &id.openpgp_key {
        out.push((
            Material::OpenpgpFile(normal_path(path.get())),
            path.span(),
            Kind::Openpgp,
        ));
        if let Some(CertInput::Bytes(b)) = cx.inputs.certificates.get(path.get().as_str())
            && let Ok(keys) = openpgp::read_keys(b)
        {
            for k in keys {
                out.push((
                    Material::OpenpgpKey(k.fingerprint),
                    path.span(),
                    Kind::Openpgp,
                ));
            }
        }
    }
    if let Some(x) = &id.x509 {
        out.push((
            Material::X509 {
                ca: normal_path(x.get().ca.get()),
                subject: x.get().subject.get().clone(),
            },
            x.span(),
            Kind::X509,
        ));
    }
    out
}

/// A repository path without empty or `.` segments (`./certs//ca.pem` is `certs/ca.pem`).
fn normal_path(p: &str) -> String {
    p.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn shared_keys(cx: &mut Ctx) {
    // file order, so the identity reported is the later one
    let mut identities: Vec<(&Name, &RawIdentity)> = cx
        .policy
        .identities
        .iter()
        .map(|(n, id)| (n, id.get()))
        .collect();
    identities.sort_by_key(|(n, _)| n.span().start);
    let mut owner: BTreeMap<Material, &str> = BTreeMap::new();
    let mut reported: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut found = Vec::new();
    for (name, id) in identities {
        let this = name.get().as_str();
        for (material, span, kind) in materials(cx, id) {
            match owner.get(&material) {
                Some(&first) if first != this => {
                    if reported.insert((this, first)) {
                        found.push((this, first, span, kind));
                    }
                }
                Some(_) => {}
                None => {
                    owner.insert(material, this);
                }
            }
        }
    }
    for (second, first, span, kind) in found {
        let d = Diagnostic::at(
            Code::SharedKey,
            cx.src,
            span,
            format!(
                "identity `{second}` signs with {} as identity `{first}`",
                kind.what()
            ),
        )
        .label(format!("also the key of `{first}`"))
        .help(kind.help(second, first));
        cx.push(d);
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::CertInput;
    use crate::policy::rules::testing::{
        HSM, MINIMAL, codes, codes_with, codes_with_all, fixture_cert, snapshot, snapshot_with_all,
    };

    const SAM_KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJevw6pBm4PadGwWX7fOUgQ99MAxIq3Nwyd9443PkGT7";
    const OTHER_KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF1K+Yj1Y3X2+yRmAbXpyXbnywybHRBl5GH6Sbb1PwRm";
    const CERT: &str = "certs/release-2026.pem";

    /// MINIMAL plus an unmanaged identity `sam-laptop` in dev signing with `ssh_key`.
    fn with_laptop(ssh_key: &str) -> String {
        format!(
            "{MINIMAL}\n[identities.sam-laptop]\nowner = \"security\"\nenvironments = [\"dev\"]\n\
             custody = \"unmanaged\"\nssh_key = \"{ssh_key}\"\n"
        )
    }

    /// HSM plus an identity `release-copy` with `key` and `certificate`.
    fn with_copy(key: &str, certificate: &str) -> String {
        format!(
            "{HSM}\n[identities.release-copy]\nowner = \"security\"\nenvironments = [\"prod\"]\n\
             custody = \"hsm\"\nkey = \"{key}\"\ncertificate = \"{certificate}\"\n"
        )
    }

    #[test]
    fn one_ssh_key_under_two_identities_is_an_error() {
        // the same key with another comment is the same key
        let p = with_laptop(&format!("{SAM_KEY} sam@laptop"));
        assert_eq!(codes(&p), ["shared-key"]);
        insta::assert_snapshot!(snapshot(&p));
        assert_eq!(codes(&with_laptop(SAM_KEY)), ["shared-key"]);
    }

    #[test]
    fn another_ssh_key_is_accepted() {
        assert!(codes(&with_laptop(&format!("{OTHER_KEY} sam@laptop"))).is_empty());
    }

    #[test]
    fn one_pkcs11_key_under_two_identities_is_an_error() {
        // attribute order and percent-encoding do not make another key
        let p = with_copy(
            "pkcs11:object=release%2D2026;token=release",
            "certs/copy.pem",
        );
        assert_eq!(
            codes_with(&p, CERT, fixture_cert("leaf.pem")),
            ["shared-key"]
        );
        insta::assert_snapshot!(snapshot_with_all(&p, &[(CERT, fixture_cert("leaf.pem"))]));
        // the same id on the same token, whatever the label
        let by_id = |a: &str, b: &str| {
            with_copy(b, "certs/copy.pem").replace("pkcs11:token=release;object=release-2026", a)
        };
        let p = by_id(
            "pkcs11:token=release;object=release-2026;id=%01%02",
            "pkcs11:token=release;object=another;id=%01%02",
        );
        assert_eq!(
            codes_with(&p, CERT, fixture_cert("leaf.pem")),
            ["shared-key"]
        );
        // the module and PIN source say where the token is, not which key
        let p = with_copy(
            "pkcs11:token=release;object=release-2026?module-path=/usr/lib/other.so",
            "certs/copy.pem",
        );
        assert_eq!(
            codes_with(&p, CERT, fixture_cert("leaf.pem")),
            ["shared-key"]
        );
    }

    #[test]
    fn another_pkcs11_key_is_accepted() {
        for other in [
            "pkcs11:token=release;object=release-2027",
            "pkcs11:token=staging;object=release-2026",
            "pkcs11:token=release;id=%01",
        ] {
            let p = with_copy(other, "certs/copy.pem");
            assert!(
                codes_with(&p, CERT, fixture_cert("leaf.pem")).is_empty(),
                "{other}"
            );
        }
    }

    #[test]
    fn certificates_for_one_public_key_under_two_identities_are_an_error() {
        // two files, one PEM and one DER, for one key
        let p = with_copy("pkcs11:token=release;object=release-2027", "certs/copy.der");
        let files = [
            (CERT, fixture_cert("leaf.pem")),
            ("certs/copy.der", fixture_cert("leaf.der")),
        ];
        assert_eq!(codes_with_all(&p, &files), ["shared-key"]);
        insta::assert_snapshot!(snapshot_with_all(&p, &files));
        // one file named twice
        let p = with_copy("pkcs11:token=release;object=release-2027", CERT);
        assert_eq!(
            codes_with(&p, CERT, fixture_cert("leaf.pem")),
            ["shared-key"]
        );
        // one pinned key, the certificates not issued yet
        let pin = "public_key = \"sha256:04f2b30eb897d323821ab8e8fca629fbdc2425f590a66b393c9607874f4723e6\"\n";
        let p = with_copy("pkcs11:token=release;object=release-2027", "certs/copy.pem")
            .replace("renew_before", &format!("{pin}renew_before"))
            + pin;
        assert_eq!(codes(&p), ["shared-key"]);
    }

    #[test]
    fn certificates_for_other_public_keys_are_accepted() {
        let p = with_copy("pkcs11:token=release;object=release-2027", "certs/copy.pem");
        let files = [
            (CERT, fixture_cert("leaf.pem")),
            ("certs/copy.pem", fixture_cert("leaf-no-codesign.pem")),
        ];
        // (the second certificate only lacks the codeSigning EKU)
        assert_eq!(codes_with_all(&p, &files), ["no-code-signing-eku"]);
    }

    #[test]
    fn one_keyless_subject_under_two_identities_is_an_error() {
        let ci = |issuer: &str, subject: &str| {
            format!(
                "{MINIMAL}\n[identities.release-ci]\nowner = \"release\"\nenvironments = [\"prod\"]\n\
                 custody = \"keyless\"\nkeyless = {{ issuer = \"{issuer}\", subject = \"{subject}\" }}\n"
            )
        };
        let p = ci("https://accounts.example.com", "release@example.com");
        assert_eq!(codes(&p), ["shared-key"]);
        insta::assert_snapshot!(snapshot(&p));
        // accepted: another subject, or the same subject from another issuer
        assert!(codes(&ci("https://accounts.example.com", "ci@example.com")).is_empty());
        assert!(
            codes(&ci(
                "https://token.actions.githubusercontent.com",
                "release@example.com"
            ))
            .is_empty()
        );
    }

    fn testdata(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/openpgp/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("the test data {path}: {e}"))
    }

    #[test]
    fn one_openpgp_key_under_two_identities_is_an_error() {
        let web_flow = testdata("github-web-flow-968479A1AFF927E37D1A566BB5690EEEBB952194.asc");
        let junio = testdata("junio-gpg-pub-96E07AF25771955980DAD10020D04E5A713660A7.asc");
        let two = |a: &str, b: &str| {
            MINIMAL.replace(
                &format!("ssh_key = \"{SAM_KEY} sam@example.com\""),
                &format!(
                    "openpgp_key = \"{a}\"\n\n[identities.web-flow]\nowner = \"security\"\n\
                     environments = [\"dev\"]\ncustody = \"unmanaged\"\nopenpgp_key = \"{b}\""
                ),
            )
        };
        // one file under two identities
        let p = two("keys/web-flow.asc", "./keys/web-flow.asc");
        let files = [
            ("keys/web-flow.asc", CertInput::Bytes(web_flow.clone())),
            ("./keys/web-flow.asc", CertInput::Bytes(web_flow.clone())),
        ];
        assert_eq!(codes_with_all(&p, &files), ["shared-key"]);
        // one key in two files
        let p = two("keys/a.asc", "keys/b.asc");
        let files = [
            ("keys/a.asc", CertInput::Bytes(web_flow.clone())),
            ("keys/b.asc", CertInput::Bytes(web_flow.clone())),
        ];
        assert_eq!(codes_with_all(&p, &files), ["shared-key"]);
        // accepted: two keys
        let files = [
            ("keys/a.asc", CertInput::Bytes(web_flow)),
            ("keys/b.asc", CertInput::Bytes(junio)),
        ];
        assert!(codes_with_all(&p, &files).is_empty());
    }

    #[test]
    fn one_x509_ca_and_subject_under_two_identities_is_an_error() {
        let two = |subject: &str| {
            MINIMAL.replace(
                &format!("ssh_key = \"{SAM_KEY} sam@example.com\""),
                &format!(
                    "x509 = {{ ca = \"certs/corp-ca.pem\", subject = \"sam@example.com\" }}\n\n\
                     [identities.sam-smime]\nowner = \"security\"\nenvironments = [\"dev\"]\n\
                     custody = \"unmanaged\"\nx509 = {{ ca = \"certs/corp-ca.pem\", subject = \"{subject}\" }}"
                ),
            )
        };
        let root =
            CertInput::Bytes(include_bytes!("../../../tests/fixtures/chain/root.der").to_vec());
        assert_eq!(
            codes_with(&two("sam@example.com"), "certs/corp-ca.pem", root.clone()),
            ["shared-key"]
        );
        assert!(codes_with(&two("alice@example.com"), "certs/corp-ca.pem", root).is_empty());
    }

    /// MINIMAL with classes on its environments and `release` also in dev.
    fn classed(prod: &str, dev: &str) -> String {
        MINIMAL
            .replace(
                "custody = [\"hsm\", \"keyless\"]\n",
                &format!("custody = [\"hsm\", \"keyless\"]\n{prod}"),
            )
            .replace(
                "custody = [\"hsm\", \"keyless\", \"unmanaged\"]\n",
                &format!("custody = [\"hsm\", \"keyless\", \"unmanaged\"]\n{dev}"),
            )
            .replace(
                "environments = [\"prod\"]",
                "environments = [\"prod\", \"dev\"]",
            )
    }

    #[test]
    fn an_identity_in_environments_of_two_classes_is_an_error() {
        let p = classed("class = \"prod\"\n", "class = \"dev\"\n");
        assert_eq!(codes(&p), ["mixed-environment-classes"]);
        insta::assert_snapshot!(snapshot(&p));
        let p = classed("class = \"prod\"\n", "class = \"test\"\n");
        assert_eq!(codes(&p), ["mixed-environment-classes"]);
    }

    #[test]
    fn environments_of_one_class_or_without_a_class_are_accepted() {
        assert!(codes(&classed("class = \"prod\"\n", "class = \"prod\"\n")).is_empty());
        assert!(codes(&classed("class = \"prod\"\n", "")).is_empty());
        assert!(codes(&classed("", "class = \"dev\"\n")).is_empty());
        assert!(codes(&classed("", "")).is_empty());
        // classes on environments, each identity in one class
        let p = MINIMAL
            .replace(
                "custody = [\"hsm\", \"keyless\"]\n",
                "custody = [\"hsm\", \"keyless\"]\nclass = \"prod\"\n",
            )
            .replace(
                "custody = [\"hsm\", \"keyless\", \"unmanaged\"]\n",
                "custody = [\"hsm\", \"keyless\", \"unmanaged\"]\nclass = \"dev\"\n",
            );
        assert!(codes(&p).is_empty());
    }

    #[test]
    fn an_unknown_class_is_an_invalid_value() {
        let p = classed("class = \"production\"\n", "");
        assert_eq!(codes(&p), ["invalid-value"]);
    }
}
