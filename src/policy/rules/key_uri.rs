//! `key` is an RFC 7512 PKCS#11 URI that names a key and carries no PIN.

use crate::diag::{Code, Diagnostic};
use crate::policy::{Ctx, pkcs11_uri};

pub const DOC: &str = "`key` is an RFC 7512 PKCS#11 URI that names the key by `object=` or `id=` \
(`invalid-key-uri`) and never carries a `pin-value`: a PIN in the repository is a shadow \
credential (`pin-in-uri`).";

pub fn check(cx: &mut Ctx) {
    for (name, id) in &cx.policy.identities {
        let Some(key) = &id.key else { continue };
        match pkcs11_uri::parse(key.get()) {
            Ok(uri) if uri.has_pin_value => {
                let d = Diagnostic::at(
                    Code::PinInUri,
                    cx.src,
                    key.span(),
                    format!(
                        "identity `{}`: the key URI carries a `pin-value`",
                        name.get()
                    ),
                )
                .label("PIN in the repository")
                .help(
                    "remove `pin-value` and change the token PIN now: it is in git history; \
                     give the PIN through SIGCTL_PKCS11_PIN or `pin-source=file:…` instead",
                );
                cx.push(d);
            }
            Ok(_) => {}
            Err(e) => {
                let d = Diagnostic::at(
                    Code::InvalidKeyUri,
                    cx.src,
                    key.span(),
                    format!(
                        "identity `{}`: `key` is not a usable PKCS#11 URI: {e}",
                        name.get()
                    ),
                )
                .label("not a PKCS#11 URI")
                .help("write it as `pkcs11:token=<token label>;object=<key label>` (RFC 7512)");
                cx.push(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::testing::{HSM, codes, snapshot};

    #[test]
    fn a_pin_in_the_uri_is_an_error_and_is_never_shown() {
        let p = HSM.replace(
            "object=release-2026\"",
            concat!("object=release-2026?pin-", "value=987654\""),
        );
        assert_eq!(codes(&p), ["pin-in-uri"]);
        let shown = snapshot(&p);
        assert!(!shown.contains("987654"), "{shown}");
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn a_malformed_uri_is_an_error() {
        let p = HSM.replace(
            "pkcs11:token=release;object=release-2026",
            "pkcs12:token=release",
        );
        assert_eq!(codes(&p), ["invalid-key-uri"]);
        let p = HSM.replace(
            "pkcs11:token=release;object=release-2026",
            "pkcs11:token=release",
        );
        assert_eq!(codes(&p), ["invalid-key-uri"]);
        insta::assert_snapshot!(snapshot(&p));
    }
}
