//! Exceptions are approved, uniquely named, and reviewed once expired.

use std::collections::BTreeSet;

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;

pub const DOC: &str = "Each exception has a unique `id` (`duplicate-name`) and at least one \
approver (`unapproved-exception`); an exception past `expires` is an error until it carries \
a `review` of the event (`stale-exception`).";

pub fn check(cx: &mut Ctx) {
    let mut ids = BTreeSet::new();
    for ex in &cx.policy.exceptions {
        if !ids.insert(ex.id.get().as_str()) {
            let d = Diagnostic::at(
                Code::DuplicateName,
                cx.src,
                ex.id.span(),
                format!("exception id `{}` is used twice", ex.id.get()),
            )
            .label("used again here")
            .help("give each exception its own id, such as the incident number");
            cx.push(d);
        }
        if ex.approved_by.iter().all(|a| a.get().trim().is_empty()) {
            let d = Diagnostic::at(
                Code::UnapprovedException,
                cx.src,
                ex.id.span(),
                format!("exception `{}` has no approver", ex.id.get()),
            )
            .label("no `approved_by`")
            .help("list who approved it in `approved_by`; an exception nobody approved is a hole in the policy");
            cx.push(d);
        }
        let expires = ex.expires.get().0;
        if cx.now >= expires && ex.review.as_ref().is_none_or(|r| r.get().trim().is_empty()) {
            let d = Diagnostic::at(
                Code::StaleException,
                cx.src,
                ex.expires.span(),
                format!(
                    "exception `{}` expired on {} and has no review",
                    ex.id.get(),
                    ex.expires.get()
                ),
            )
            .label("expired")
            .help("record the post-event review in `review = \"<link>\"`, or remove the exception");
            cx.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::testing::{
        EXCEPTION, MINIMAL, at, codes, codes_at_now, snapshot_at_now,
    };

    #[test]
    fn an_expired_exception_needs_a_review() {
        let p = format!("{MINIMAL}{EXCEPTION}");
        assert!(codes(&p).is_empty());
        let later = at("2026-12-02T00:00:00Z");
        assert_eq!(codes_at_now(&p, later), ["stale-exception"]);
        insta::assert_snapshot!(snapshot_at_now(&p, later));
        let reviewed = p.replace(
            "reason =",
            "review = \"https://tracker.example.com/INC-4711\"\nreason =",
        );
        assert!(codes_at_now(&reviewed, later).is_empty());
    }

    #[test]
    fn exceptions_need_approvers_and_unique_ids() {
        let p = format!("{MINIMAL}{EXCEPTION}")
            .replace("approved_by = [\"sam@example.com\"]", "approved_by = []");
        assert_eq!(codes(&p), ["unapproved-exception"]);
        let p = format!("{MINIMAL}{EXCEPTION}{EXCEPTION}");
        assert_eq!(codes(&p), ["duplicate-name"]);
    }
}
