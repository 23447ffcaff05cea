//! `[ca]` names an hsm identity whose certificate is a certificate authority.

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;
use crate::policy::raw::Custody;

pub const DOC: &str = "`[ca] identity` names a declared identity of custody `hsm` whose \
certificate is a certificate authority (basicConstraints CA); anything else cannot issue \
the certificates `sigctl ca issue` makes (`bad-ca`; no basicConstraints is no CA).";

pub fn check(cx: &mut Ctx) {
    let Some(ca) = &cx.policy.ca else {
        return;
    };
    let name = &ca.get().identity;
    let bad = |why: String, label: &str, help: &str| {
        Diagnostic::at(Code::BadCa, cx.src, name.span(), why)
            .label(label.to_owned())
            .help(help.to_owned())
    };
    let Some((_, id)) = cx
        .policy
        .identities
        .iter()
        .find(|(k, _)| k.get() == name.get())
    else {
        let d = bad(
            format!(
                "`[ca] identity` names `{}`, which is no declared identity",
                name.get()
            ),
            "unknown identity",
            "declare the CA as an identity with custody `hsm`, its `key` and its CA certificate",
        );
        cx.push(d);
        return;
    };
    if *id.custody.get() != Custody::Hsm {
        let d = bad(
            format!("the CA identity `{}` is not of custody `hsm`", name.get()),
            "not an hsm identity",
            "a CA's key lives in an HSM: give it custody `hsm` and a PKCS#11 `key`",
        );
        cx.push(d);
        return;
    }
    for cert in id.certificates() {
        if let Some(Ok(facts)) = cx.certs.get(cert.get().as_str())
            && facts.is_ca != Some(true)
        {
            let d = bad(
                format!(
                    "the CA identity `{}` has certificate `{}`, which is no certificate authority",
                    name.get(),
                    cert.get()
                ),
                "not a CA certificate",
                "give the CA identity a certificate with basicConstraints CA:TRUE",
            );
            cx.push(d);
        }
    }
}
