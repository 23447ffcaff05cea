//! An identity's custody class is allowed in every environment it signs for.

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;

pub const DOC: &str = "An identity's custody class is in the `custody` list of each of its \
environments, so a lower-trust key is no path into a higher-trust environment \
(`custody-not-allowed`).";

pub fn check(cx: &mut Ctx) {
    for (name, id) in &cx.policy.identities {
        let custody = *id.custody.get();
        for env_name in &id.environments {
            let Some((_, env)) = cx
                .policy
                .environments
                .iter()
                .find(|(k, _)| k.get() == env_name.get())
            else {
                continue; // `references` reports it
            };
            if env.custody.iter().any(|c| *c.get() == custody) {
                continue;
            }
            let allowed: Vec<_> = env
                .custody
                .iter()
                .map(|c| format!("`{}`", c.get().as_str()))
                .collect();
            let d = Diagnostic::at(
                Code::CustodyNotAllowed,
                cx.src,
                env_name.span(),
                format!(
                    "identity `{}` has custody `{}`, which environment `{}` does not allow",
                    name.get(),
                    custody.as_str(),
                    env_name.get()
                ),
            )
            .label(format!("allows {}", if allowed.is_empty() { "no custody".to_owned() } else { allowed.join(", ") }))
            .help(format!(
                "move the key to an allowed custody class, or remove `{}` from this identity's environments",
                env_name.get()
            ));
            cx.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::testing::{MINIMAL, codes, snapshot};

    #[test]
    fn an_unmanaged_key_cannot_sign_for_prod() {
        let p = MINIMAL.replace(
            "environments = [\"dev\"]",
            "environments = [\"dev\", \"prod\"]",
        );
        assert_eq!(codes(&p), ["custody-not-allowed"]);
        insta::assert_snapshot!(snapshot(&p));
    }
}
