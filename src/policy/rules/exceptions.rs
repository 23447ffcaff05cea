//! Exceptions are approved, uniquely named, and reviewed once expired.

use std::collections::BTreeSet;

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;

pub const DOC: &str = "Each exception has a unique `id` (`duplicate-name`) and at least one \
approver (`unapproved-exception`); an exception past `expires` is an error until it carries \
a `review` of the event (`stale-exception`). Each entry of `commits` is a full object id, \
40 (SHA-1) or 64 (SHA-256) lowercase hex digits: verify matches full ids only, so a prefix, \
upper case or anything else would except nothing (`invalid-commit-id`).";

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
        for commit in &ex.commits {
            let Err(why) = full_object_id(commit.get()) else {
                continue;
            };
            let d = Diagnostic::at(
                Code::InvalidCommitId,
                cx.src,
                commit.span(),
                format!("exception `{}`: {why}", ex.id.get()),
            )
            .label("not a full object id")
            .help(
                "verify matches full object ids only (40 lowercase hex digits, 64 in a SHA-256 \
                 repository), so this entry excepts nothing; write the full id, as \
                 `git rev-parse <rev>` prints it",
            );
            cx.push(d);
        }
    }
}

/// Whether `s` is a full object id as git prints it: 40 (SHA-1) or 64
/// (SHA-256) lowercase hex digits; else why not, quoting `s` only when it is
/// plain hex (anything else stays in the redacted snippet).
fn full_object_id(s: &str) -> Result<(), String> {
    // the one definition verify matches by
    if crate::policy::view::is_full_object_id(s) {
        return Ok(());
    }
    let n = s.len();
    if n == 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("a commit entry is not an object id (lowercase hex digits)".to_owned());
    }
    if n > 64 {
        return Err(format!(
            "a commit entry has {n} hex digits; a full object id has 40 (SHA-1) or 64 (SHA-256)"
        ));
    }
    // plain hex that is not a full id: upper case, or the wrong length
    match n {
        40 | 64 => Err(format!(
            "commit `{s}` is written in upper case; object ids are lowercase hex"
        )),
        ..40 => Err(format!(
            "commit `{s}` is an abbreviated id ({n} hex digits), not a full object id"
        )),
        _ => Err(format!(
            "commit `{s}` has {n} hex digits; a full object id has 40 (SHA-1) or 64 (SHA-256)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::testing::{
        EXCEPTION, MINIMAL, at, codes, codes_at_now, snapshot, snapshot_at_now,
    };

    const SHA1: &str = "3f9c2a1e5b7d4c6f8a0b2d4e6f8a0c2e4b6d8f0a";
    const SHA256: &str = "3f9c2a1e5b7d4c6f8a0b2d4e6f8a0c2e4b6d8f0a1c3e5a7b9d1f3a5c7e9b1d3f";

    /// MINIMAL plus the exception, listing `commits` (TOML array items).
    fn with_commits(commits: &str) -> String {
        format!("{MINIMAL}{EXCEPTION}")
            .replace("reason =", &format!("commits = [{commits}]\nreason ="))
    }

    #[test]
    fn exception_commits_must_be_full_object_ids() {
        let p = with_commits(&format!("{SHA1:?}, \"3f9c2a1\""));
        assert_eq!(codes(&p), ["invalid-commit-id"]);
        insta::assert_snapshot!(snapshot(&p));
        let upper = SHA1.to_ascii_uppercase();
        // a key header, spelt in two pieces so secret scanners stay quiet
        let junk = &format!("-----BEGIN OPENSSH {}-----", "PRIVATE KEY");
        for bad in [
            &SHA1[..39],
            &format!("{SHA1}0"),
            &format!("{SHA256}0"),
            &upper,
            &format!(" {SHA1}"),
            "HEAD",
            "main~2",
            "",
            junk,
        ] {
            assert_eq!(
                codes(&with_commits(&format!("{bad:?}"))),
                ["invalid-commit-id"],
                "{bad:?}"
            );
        }
        // only plain hex is quoted in a message; anything else stays in the (redacted) snippet
        let why = super::full_object_id(junk).err().unwrap_or_default();
        assert!(!why.is_empty() && !why.contains("BEGIN"), "{why}");
        // every bad entry is reported at itself
        assert_eq!(
            codes(&with_commits("\"3f9c2a1\", \"HEAD\"")),
            ["invalid-commit-id", "invalid-commit-id"]
        );
    }

    #[test]
    fn full_sha1_and_sha256_commit_ids_are_accepted() {
        assert!(codes(&with_commits(&format!("{SHA1:?}, {SHA256:?}"))).is_empty());
        assert!(codes(&with_commits("")).is_empty());
    }

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
