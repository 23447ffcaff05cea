//! `[suppliers.NAME]`: whom to ask, whose signatures count, what evidence.

use crate::diag::{Code, Diagnostic};
use crate::policy::{CertInput, Ctx};

pub const DOC: &str = "A supplier names a `contact`, at least one accepted signer (`keyless` \
issuer and subject, or `public_keys`: PEM public key files in the repository that parse), and \
a Sigstore trusted root, its own `trusted_root` or `[sigstore] trusted_root` (`bad-supplier`).";

pub fn check(cx: &mut Ctx) {
    for (name, s) in &cx.policy.suppliers {
        let mut bad = Vec::new();
        if s.contact.get().trim().is_empty() {
            bad.push((
                s.contact.span(),
                "an empty `contact`".to_owned(),
                "say whom to reach about its signatures",
            ));
        }
        if s.keyless.is_empty() && s.public_keys.is_empty() {
            bad.push((
                name.span(),
                "no accepted signer".to_owned(),
                "list its release workflow's `keyless = [{ issuer = \"…\", subject = \"…\" }]` or its `public_keys`",
            ));
        }
        for k in &s.keyless {
            if crate::signature::signing_config::check_url(k.get().issuer.get()).is_err()
                || k.get().subject.get().trim().is_empty()
            {
                bad.push((
                    k.span(),
                    "a keyless signer whose issuer is not an https URL or whose subject is empty"
                        .to_owned(),
                    "give the OIDC issuer URL and the certificate subject exactly",
                ));
            }
        }
        for k in &s.public_keys {
            let parsed = match cx.inputs.certificates.get(k.get().as_str()) {
                Some(CertInput::Bytes(b)) => std::str::from_utf8(b)
                    .ok()
                    .and_then(|t| sigstore_types::DerPublicKey::from_pem(t).ok())
                    .is_some(),
                // not read (a test without files): nothing to say
                None => true,
                Some(_) => false,
            };
            if !parsed {
                bad.push((
                    k.span(),
                    format!(
                        "public key `{}` is missing or not a PEM public key",
                        k.get()
                    ),
                    "commit the supplier's public key (`-----BEGIN PUBLIC KEY-----`) at that path",
                ));
            }
        }
        if s.trusted_root.is_none() && cx.policy.sigstore.is_none() {
            bad.push((
                name.span(),
                "no trusted root to check its signatures against".to_owned(),
                "add `trusted_root = \"…\"` to the supplier, or `[sigstore] trusted_root`",
            ));
        }
        for (span, why, help) in bad {
            let d = Diagnostic::at(
                Code::BadSupplier,
                cx.src,
                span,
                format!("supplier `{}`: {why}", name.get()),
            )
            .label("supplier")
            .help(help.to_owned());
            cx.push(d);
        }
    }
}
