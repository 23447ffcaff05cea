//! Each identity has exactly one signer, its custody matches it, and the
//! signer's own fields are well formed.

use base64::Engine;

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;
use crate::policy::raw::Custody;

pub const DOC: &str = "Each identity has exactly one signer: `key` (+ `certificate`) for custody \
`hsm`, `keyless` for custody `keyless`, or `ssh_key`, `openpgp_key` or `x509` for custody `unmanaged` \
(`ambiguous-signer`, `custody-mismatch`). `ssh_key` is one OpenSSH public key line \
(`invalid-ssh-key`); a keyless issuer is an https URL and its subject is not empty \
(`invalid-keyless`).";

pub fn check(cx: &mut Ctx) {
    for (name_sp, id) in &cx.policy.identities {
        let name = name_sp.get();
        let signers: Vec<(&str, Custody)> = [
            id.key.as_ref().map(|_| ("key", Custody::Hsm)),
            id.keyless.as_ref().map(|_| ("keyless", Custody::Keyless)),
            id.ssh_key.as_ref().map(|_| ("ssh_key", Custody::Unmanaged)),
            id.openpgp_key
                .as_ref()
                .map(|_| ("openpgp_key", Custody::Unmanaged)),
            id.x509.as_ref().map(|_| ("x509", Custody::Unmanaged)),
        ]
        .into_iter()
        .flatten()
        .collect();
        match signers.as_slice() {
            [] => {
                let d = Diagnostic::at(
                    Code::AmbiguousSigner,
                    cx.src,
                    name_sp.span(),
                    format!("identity `{name}` has no signer"),
                )
                .label("no key, keyless or ssh_key")
                .help(expected_signer(*id.custody.get()));
                cx.push(d);
            }
            [(field, custody)] => {
                if custody != id.custody.get() {
                    let d = Diagnostic::at(
                        Code::CustodyMismatch,
                        cx.src,
                        id.custody.span(),
                        format!(
                            "identity `{name}` declares custody `{}` but signs with `{field}`",
                            id.custody.get().as_str()
                        ),
                    )
                    .label(format!("`{field}` means custody `{}`", custody.as_str()))
                    .help(format!(
                        "set `custody = \"{}\"`, or {}",
                        custody.as_str(),
                        expected_signer(*id.custody.get())
                    ));
                    cx.push(d);
                }
            }
            many => {
                let fields: Vec<_> = many.iter().map(|(f, _)| format!("`{f}`")).collect();
                let d = Diagnostic::at(
                    Code::AmbiguousSigner,
                    cx.src,
                    name_sp.span(),
                    format!(
                        "identity `{name}` has {} signers: {}",
                        many.len(),
                        fields.join(", ")
                    ),
                )
                .label("more than one signer")
                .help("split it into one identity per key; each identity has exactly one signer");
                cx.push(d);
            }
        }
        if id.key.is_none()
            && let Some(cert) = &id.certificate
        {
            let d = Diagnostic::at(
                    Code::AmbiguousSigner,
                    cx.src,
                    cert.span(),
                    format!("identity `{name}` has a certificate but no `key`"),
                )
                .label("certificate without key")
                .help("a certificate belongs to an hsm identity: add its PKCS#11 `key` URI, or remove the certificate");
            cx.push(d);
        }
        if let Some(ssh) = &id.ssh_key
            && let Err(why) = check_ssh_key(ssh.get())
        {
            let d = Diagnostic::at(Code::InvalidSshKey, cx.src, ssh.span(), format!("identity `{name}`: `ssh_key` {why}"))
                    .label("not an OpenSSH public key")
                    .help("paste one line of the key's `.pub` file, such as `ssh-ed25519 AAAAC3Nz… you@example.com`");
            cx.push(d);
        }
        if let Some(kl) = &id.keyless {
            // https, or http on loopback (a local Sigstore stack's provider)
            if crate::signature::signing_config::check_url(kl.issuer.get()).is_err() {
                let d = Diagnostic::at(
                    Code::InvalidKeyless,
                    cx.src,
                    kl.issuer.span(),
                    format!("identity `{name}`: keyless issuer is not an https URL"),
                )
                .label("not an https URL")
                .help("give the OIDC issuer URL, such as `https://token.actions.githubusercontent.com`");
                cx.push(d);
            }
            if kl.subject.get().trim().is_empty() {
                let d = Diagnostic::at(Code::InvalidKeyless, cx.src, kl.subject.span(), format!("identity `{name}`: keyless subject is empty"))
                    .label("empty subject")
                    .help("give the subject the issuer vouches for: a mail address or a workflow identity");
                cx.push(d);
            }
        }
    }
}

fn expected_signer(custody: Custody) -> &'static str {
    match custody {
        Custody::Hsm => "give an hsm identity a PKCS#11 `key` URI and a `certificate` path",
        Custody::Keyless => {
            "give a keyless identity `keyless = { issuer = \"https://…\", subject = \"…\" }`"
        }
        Custody::Unmanaged => "give an unmanaged identity an `ssh_key` public key line",
    }
}

/// Key types git can sign with through ssh-keygen.
const SSH_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

fn check_ssh_key(line: &str) -> Result<(), String> {
    let mut parts = line.split_whitespace();
    let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else {
        return Err("is not `<type> <base64> [comment]`".to_owned());
    };
    if !SSH_KEY_TYPES.contains(&kind) {
        return Err(format!(
            "has unsupported key type `{}`",
            kind.chars().take(40).collect::<String>()
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .map_err(|_| "is not valid base64".to_owned())?;
    let len = bytes
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("is truncated")?;
    if bytes.get(4..4 + len) != Some(kind.as_bytes()) {
        return Err(format!("encodes a key whose type is not `{kind}`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::testing::{MINIMAL, codes, snapshot};

    const SSH: &str = "ssh_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJevw6pBm4PadGwWX7fOUgQ99MAxIq3Nwyd9443PkGT7 sam@example.com\"";

    #[test]
    fn two_signers_is_an_error() {
        let p = MINIMAL.replace(
            SSH,
            &format!("{SSH}\nkeyless = {{ issuer = \"https://a.example\", subject = \"s\" }}"),
        );
        assert_eq!(codes(&p), ["ambiguous-signer"]);
        insta::assert_snapshot!(snapshot(&p));
    }

    #[test]
    fn no_signer_is_an_error() {
        assert_eq!(codes(&MINIMAL.replace(SSH, "")), ["ambiguous-signer"]);
    }

    #[test]
    fn custody_must_match_the_signer() {
        let p = MINIMAL.replace("custody = \"unmanaged\"", "custody = \"hsm\"");
        assert_eq!(codes(&p), ["custody-mismatch"]);
        insta::assert_snapshot!(snapshot(&p));
    }

    #[test]
    fn bad_ssh_keys_are_errors() {
        for bad in [
            "ssh-ed25519",
            "ssh-dss AAAA",
            "ssh-ed25519 !!!!",
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIJevw6pBm4PadGwWX7fOUgQ99MAxIq3Nwyd9443PkGT7",
        ] {
            let p = MINIMAL.replace(SSH, &format!("ssh_key = \"{bad}\""));
            assert_eq!(codes(&p), ["invalid-ssh-key"], "{bad}");
        }
    }

    #[test]
    fn keyless_needs_an_https_issuer_and_a_subject() {
        let p = MINIMAL.replace(
            "https://accounts.example.com",
            "http://accounts.example.com",
        );
        assert_eq!(codes(&p), ["invalid-keyless"]);
        let p = MINIMAL.replace("subject = \"release@example.com\"", "subject = \" \"");
        assert_eq!(codes(&p), ["invalid-keyless"]);
    }
}
