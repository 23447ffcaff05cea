//! Someone must be able to change the policy: admins exist and own identities.

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;

pub const DOC: &str = "`policy.admins` names at least one owner (`no-admins`), and each admin \
owner owns at least one identity, or it could never sign a change to the policy \
(`admin-without-identity`, warning).";

pub fn check(cx: &mut Ctx) {
    let admins = &cx.policy.policy.admins;
    if admins.is_empty() {
        let d = Diagnostic::at(Code::NoAdmins, cx.src, cx.policy.policy.span(), "`policy.admins` is empty")
            .label("no admin owner")
            .help("name the owner whose identities may change signing.toml, such as `admins = [\"security\"]`");
        cx.push(d);
    }
    for admin in admins {
        let owns = cx
            .policy
            .identities
            .values()
            .any(|i| i.owner.get() == admin.get());
        let declared = cx.policy.owners.keys().any(|o| o.get() == admin.get());
        if declared && !owns {
            let d = Diagnostic::at(
                Code::AdminWithoutIdentity,
                cx.src,
                admin.span(),
                format!("admin owner `{}` owns no identity", admin.get()),
            )
            .label("cannot sign a policy change")
            .help(format!(
                "declare an identity with `owner = \"{}\"`, or no one of this owner can ever approve a change to signing.toml",
                admin.get()
            ));
            cx.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::testing::{MINIMAL, codes, snapshot};

    #[test]
    fn empty_admins_is_an_error() {
        let p = MINIMAL.replace("admins = [\"security\"]", "admins = []");
        assert_eq!(codes(&p), ["no-admins"]);
        insta::assert_snapshot!(snapshot(&p));
    }

    #[test]
    fn admin_owning_nothing_is_a_warning() {
        let p = MINIMAL
            .replace(
                "admins = [\"security\"]",
                "admins = [\"release\", \"nobody-signs\"]",
            )
            .replace(
                "[owners.release]",
                "[owners.nobody-signs]\ncontact = \"x@example.com\"\n\n[owners.release]",
            );
        assert_eq!(codes(&p), ["admin-without-identity"]);
        insta::assert_snapshot!(snapshot(&p));
    }
}
