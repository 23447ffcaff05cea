//! Revocations name real identities, have coherent dates, and revoked
//! identities stop claiming environments.

use std::collections::BTreeSet;

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;
use crate::policy::raw::RevocationReason;

pub const DOC: &str = "A revocation names a declared identity (`unknown-revoked-identity`; keep \
revoked identities declared so verification can apply the revocation), once \
(`duplicate-name`); `compromised_since` goes with `key-compromise` and is not after \
`revoked_at` (`invalid-revocation`); a revoked identity that still lists environments is \
reported (`identity-revoked`, warning).";

pub fn check(cx: &mut Ctx) {
    let mut seen = BTreeSet::new();
    for rev in &cx.policy.revocations {
        let who = rev.identity.get();
        let identity = cx.policy.identities.iter().find(|(k, _)| k.get() == who);
        let Some((_, id)) = identity else {
            let d = Diagnostic::at(
                Code::UnknownRevokedIdentity,
                cx.src,
                rev.identity.span(),
                format!("revocation names identity `{who}`, which is not declared"),
            )
            .label("no such identity")
            .help("keep a revoked identity declared (with `environments = []`) so its old signatures can be judged, or fix the name");
            cx.push(d);
            continue;
        };
        if !seen.insert(who.as_str()) {
            let d = Diagnostic::at(
                Code::DuplicateName,
                cx.src,
                rev.identity.span(),
                format!("identity `{who}` is revoked twice"),
            )
            .label("revoked again here")
            .help("keep one revocation per identity, with the earliest `compromised_since`");
            cx.push(d);
        }
        match (rev.reason.get(), &rev.compromised_since) {
            (RevocationReason::KeyCompromise, Some(since))
                if since.get() > rev.revoked_at.get() =>
            {
                let d = Diagnostic::at(
                    Code::InvalidRevocation,
                    cx.src,
                    since.span(),
                    format!("revocation of `{who}`: `compromised_since` is after `revoked_at`"),
                )
                .label("after the revocation")
                .help("the compromise began before it was noticed: set `compromised_since` at or before `revoked_at`");
                cx.push(d);
            }
            (
                RevocationReason::Superseded
                | RevocationReason::Retired
                | RevocationReason::Offboarded,
                Some(since),
            ) => {
                let d = Diagnostic::at(
                    Code::InvalidRevocation,
                    cx.src,
                    since.span(),
                    format!("revocation of `{who}`: `compromised_since` given for a revocation that is not a key compromise"),
                )
                .label("only for key-compromise")
                .help("set `reason = \"key-compromise\"` if the key was compromised, or remove `compromised_since`");
                cx.push(d);
            }
            _ => {}
        }
        if !id.environments.is_empty() {
            let d = Diagnostic::at(
                Code::IdentityRevoked,
                cx.src,
                rev.identity.span(),
                format!("identity `{who}` is revoked ({}) but still lists environments", reason(*rev.reason.get())),
            )
            .label("revoked")
            .help(format!(
                "set `environments = []` on identity `{who}` so the inventory shows it retired; keep it declared for verification"
            ));
            cx.push(d);
        }
    }
}

fn reason(r: RevocationReason) -> &'static str {
    r.as_str()
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::testing::{MINIMAL, codes, snapshot};

    const REV: &str = "\n[[revocations]]\nidentity = \"sam\"\nreason = \"key-compromise\"\nrevoked_at = 2026-06-01T00:00:00Z\ncompromised_since = 2026-05-20T00:00:00Z\n";

    #[test]
    fn revoking_an_unknown_identity_is_an_error() {
        let p = format!("{MINIMAL}{}", REV.replace("\"sam\"", "\"samm\""));
        assert_eq!(codes(&p), ["unknown-revoked-identity"]);
        insta::assert_snapshot!(snapshot(&p));
    }

    #[test]
    fn a_revoked_identity_still_signing_is_reported() {
        let p = format!("{MINIMAL}{REV}");
        assert_eq!(codes(&p), ["identity-revoked"]);
        insta::assert_snapshot!(snapshot(&p));
        let retired = p.replace("environments = [\"dev\"]", "environments = []");
        assert!(codes(&retired).is_empty());
    }

    #[test]
    fn incoherent_dates_and_reasons_are_errors() {
        let retired = |s: &str| {
            format!("{MINIMAL}{s}").replace("environments = [\"dev\"]", "environments = []")
        };
        assert_eq!(
            codes(&retired(&REV.replace("2026-05-20", "2026-06-20"))),
            ["invalid-revocation"]
        );
        assert_eq!(
            codes(&retired(&REV.replace("key-compromise", "superseded"))),
            ["invalid-revocation"]
        );
        assert_eq!(codes(&retired(&format!("{REV}{REV}"))), ["duplicate-name"]);
    }
}
