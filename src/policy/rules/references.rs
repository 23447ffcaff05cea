//! Every owner, environment and identity name resolves; no name is listed twice.

use std::collections::BTreeSet;

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;
use crate::policy::raw::Sp;
use crate::policy::ref_pattern;

pub const DOC: &str = "Every owner, environment and identity that a policy names is declared \
(`dangling-reference`); a list names each entry once (`duplicate-name`); environment ref \
patterns are `refs/…` globs (`invalid-ref-pattern`).";

pub fn check(cx: &mut Ctx) {
    let p = cx.policy;
    let owners: BTreeSet<&str> = p.owners.keys().map(|k| k.get().as_str()).collect();
    let envs: BTreeSet<&str> = p.environments.keys().map(|k| k.get().as_str()).collect();
    let idents: BTreeSet<&str> = p.identities.keys().map(|k| k.get().as_str()).collect();

    resolve(cx, &p.policy.admins, &owners, "owner", "policy.admins");
    for (name, env) in &p.environments {
        duplicates(cx, &env.refs, &format!("environment `{}` refs", name.get()));
        for r in &env.refs {
            if let Err(why) = ref_pattern::validate(r.get()) {
                let d = Diagnostic::at(
                    Code::InvalidRefPattern,
                    cx.src,
                    r.span(),
                    format!("`{}` is not a ref pattern", r.get()),
                )
                .label("not a ref pattern")
                .help(why);
                cx.push(d);
            }
        }
    }
    for (name, id) in &p.identities {
        let what = format!("identity `{}`", name.get());
        resolve(cx, std::slice::from_ref(&id.owner), &owners, "owner", &what);
        resolve(cx, &id.environments, &envs, "environment", &what);
        duplicates(cx, &id.environments, &format!("{what} environments"));
    }
    for ex in &p.exceptions {
        let what = format!("exception `{}`", ex.id.get());
        resolve(
            cx,
            std::slice::from_ref(&ex.identity),
            &idents,
            "identity",
            &what,
        );
        resolve(cx, std::slice::from_ref(&ex.owner), &owners, "owner", &what);
        resolve(cx, &ex.environments, &envs, "environment", &what);
        duplicates(cx, &ex.environments, &format!("{what} environments"));
    }
}

fn resolve(cx: &mut Ctx, names: &[Sp<String>], declared: &BTreeSet<&str>, kind: &str, whose: &str) {
    for n in names {
        if declared.contains(n.get().as_str()) {
            continue;
        }
        let known = if declared.is_empty() {
            format!(
                "no {kind} is declared yet: add a `[{kind}s.{}]` table",
                n.get()
            )
        } else {
            let list: Vec<_> = declared.iter().map(|s| format!("`{s}`")).collect();
            format!(
                "declared {kind}s: {}; or add a `[{kind}s.{}]` table",
                list.join(", "),
                n.get()
            )
        };
        let d = Diagnostic::at(
            Code::DanglingReference,
            cx.src,
            n.span(),
            format!("{whose} names {kind} `{}`, which is not declared", n.get()),
        )
        .label(format!("no such {kind}"))
        .help(known);
        cx.push(d);
    }
}

fn duplicates(cx: &mut Ctx, names: &[Sp<String>], whose: &str) {
    let mut seen = BTreeSet::new();
    for n in names {
        if !seen.insert(n.get().as_str()) {
            let d = Diagnostic::at(
                Code::DuplicateName,
                cx.src,
                n.span(),
                format!("{whose} list `{}` twice", n.get()),
            )
            .label("listed again here")
            .help("remove the repeated entry");
            cx.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::testing::{MINIMAL, codes, snapshot};

    #[test]
    fn unknown_owner_environment_and_identity_are_errors() {
        let p = MINIMAL.replace("owner = \"release\"", "owner = \"relaese\"");
        assert_eq!(codes(&p), ["dangling-reference"]);
        let p = MINIMAL.replace(
            "environments = [\"prod\"]",
            "environments = [\"prod\", \"staging\"]",
        );
        assert_eq!(codes(&p), ["dangling-reference"]);
        let p = MINIMAL.replace("admins = [\"security\"]", "admins = [\"secuirty\"]");
        assert!(codes(&p).contains(&"dangling-reference".to_owned()));
        insta::assert_snapshot!(snapshot(
            &MINIMAL.replace("owner = \"release\"", "owner = \"relaese\"")
        ));
    }

    #[test]
    fn duplicates_and_bad_ref_patterns_are_errors() {
        let p = MINIMAL.replace(
            "environments = [\"prod\"]",
            "environments = [\"prod\", \"prod\"]",
        );
        assert_eq!(codes(&p), ["duplicate-name"]);
        let p = MINIMAL.replace("refs = [\"refs/tags/v*\"]", "refs = [\"tags/v*\"]");
        assert_eq!(codes(&p), ["invalid-ref-pattern"]);
        insta::assert_snapshot!(snapshot(&p));
    }
}
