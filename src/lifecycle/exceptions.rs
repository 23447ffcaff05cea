//! `sigctl exception add|close|list`: emergency exceptions in signing.toml,
//! each with an owner, approvals, a reason, an expiry and a post-event
//! review. Added as a block and closed in place (comments and layout kept),
//! checked as `sigctl check` would before anything is written.

use serde::Serialize;
use time::OffsetDateTime;

use super::policy_file::{self, EditError};
use crate::policy::duration::Duration;
use crate::policy::edit::{self, NewException};
use crate::policy::timestamp::Timestamp;
use crate::policy::view;
use crate::repo::Repo;

/// `--expires`: RFC 3339, or a duration (`7d`, `12h`, `2w`) from `now`.
pub fn parse_expiry(s: &str, now: OffsetDateTime) -> Result<OffsetDateTime, EditError> {
    if let Ok(d) = s.trim().parse::<Duration>() {
        return Ok(now + d.as_time());
    }
    Timestamp::parse(s).map(|t| t.0).map_err(|_| {
        EditError::usage(
            format!("invalid expiry `{s}`"),
            "give an RFC 3339 date-time with an offset (2026-12-01T00:00:00Z) or a duration from now (7d, 12h, 2w)",
        )
    })
}

fn names<'a>(it: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = it.map(String::as_str).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// What an add or close did.
#[derive(Debug, Clone, Serialize)]
pub struct ExceptionOutcome {
    pub id: String,
    /// Whether signing.toml was changed (false: already closed).
    pub changed: bool,
    pub expires: String,
    pub review: Option<String>,
    pub admins: Vec<String>,
}

/// Add `x` (whole seconds), refusing what check would refuse.
pub fn add(
    repo: &Repo,
    mut x: NewException,
    now: OffsetDateTime,
) -> Result<ExceptionOutcome, EditError> {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    x.expires = x.expires.replace_nanosecond(0).unwrap_or(x.expires);
    let file = policy_file::read_for_edit(repo)?;
    let raw = &file.raw;
    if raw.exceptions.iter().any(|e| *e.id.get() == x.id) {
        return Err(EditError::usage(
            format!("an exception with id `{}` already exists", x.id),
            "give each exception its own id (the incident's number); close the old one with `sigctl exception close`",
        ));
    }
    if view::identity(raw, &x.identity).is_none() {
        return Err(EditError::usage(
            format!("unknown identity `{}`", x.identity),
            format!(
                "the declared identities: {}",
                names(raw.identities.keys().map(|k| k.get()))
            ),
        ));
    }
    for env in &x.environments {
        if !raw.environments.keys().any(|k| k.get() == env) {
            return Err(EditError::usage(
                format!("unknown environment `{env}`"),
                format!(
                    "the declared environments: {}",
                    names(raw.environments.keys().map(|k| k.get()))
                ),
            ));
        }
    }
    if !raw.owners.keys().any(|k| *k.get() == x.owner) {
        return Err(EditError::usage(
            format!("unknown owner `{}`", x.owner),
            format!(
                "the declared owners: {}",
                names(raw.owners.keys().map(|k| k.get()))
            ),
        ));
    }
    if x.approved_by.iter().any(|a| a.trim().is_empty()) || x.reason.trim().is_empty() {
        return Err(EditError::usage(
            "an approver or the reason is empty",
            "an exception names who approved it and why it exists",
        ));
    }
    if x.expires <= now {
        return Err(EditError::usage(
            format!(
                "the exception would expire at {}, which is not in the future",
                Timestamp(x.expires)
            ),
            "give a later --expires (or a duration such as 7d)",
        ));
    }
    let text = edit::add_exception(&file.text, &x)?;
    policy_file::validate(repo, &file, &text, now)?;
    policy_file::write(&file, &text)?;
    Ok(ExceptionOutcome {
        id: x.id,
        changed: true,
        expires: Timestamp(x.expires).to_string(),
        review: x.review,
        admins: policy_file::admins(raw),
    })
}

/// Close exception `id` at `now`: it expires now (unless it already has)
/// with its review recorded.
pub fn close(
    repo: &Repo,
    id: &str,
    review: Option<&str>,
    now: OffsetDateTime,
) -> Result<ExceptionOutcome, EditError> {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let file = policy_file::read_for_edit(repo)?;
    let raw = &file.raw;
    let Some(x) = raw
        .exceptions
        .iter()
        .map(|x| x.get())
        .find(|x| *x.id.get() == id)
    else {
        return Err(EditError::usage(
            format!("no exception has id `{id}`"),
            format!(
                "the exceptions: {}",
                names(raw.exceptions.iter().map(|x| x.id.get()))
            ),
        ));
    };
    let have_review = x.review.as_ref().map(|r| r.get().clone());
    if review.is_none() && have_review.is_none() {
        return Err(EditError::usage(
            format!("closing `{id}` needs its post-event review"),
            "pass --review URL (where the review is recorded): `sigctl check` refuses an expired exception without one",
        ));
    }
    let expired = x.expires.get().0 <= now;
    if expired && (review.is_none() || review == have_review.as_deref()) {
        return Ok(ExceptionOutcome {
            id: id.to_owned(),
            changed: false,
            expires: x.expires.get().to_string(),
            review: have_review,
            admins: policy_file::admins(raw),
        });
    }
    let text = edit::close_exception(&file.text, id, now, review)?;
    let new = policy_file::validate(repo, &file, &text, now)?;
    policy_file::write(&file, &text)?;
    let closed = new
        .exceptions
        .iter()
        .map(|x| x.get())
        .find(|x| *x.id.get() == id);
    Ok(ExceptionOutcome {
        id: id.to_owned(),
        changed: true,
        expires: closed.map_or_else(
            || Timestamp(now).to_string(),
            |x| x.expires.get().to_string(),
        ),
        review: closed.and_then(|x| x.review.as_ref().map(|r| r.get().clone())),
        admins: policy_file::admins(raw),
    })
}

/// One exception as `list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ExceptionRow {
    pub id: String,
    pub identity: String,
    pub environments: Vec<String>,
    pub owner: String,
    pub approved_by: Vec<String>,
    pub reason: String,
    pub expires: String,
    pub review: Option<String>,
    pub commits: Vec<String>,
    /// `open` (unexpired), `past` (expired, reviewed) or `needs-review`
    /// (expired without a review: `sigctl check` fails on it).
    pub state: &'static str,
    /// Whole days until it expires (negative: days since).
    pub days_left: i64,
}

/// Every exception of the work tree's policy, in file order.
pub fn list(repo: &Repo, now: OffsetDateTime) -> Result<Vec<ExceptionRow>, EditError> {
    let file = policy_file::read(repo)?;
    Ok(file
        .raw
        .exceptions
        .iter()
        .map(|x| x.get())
        .map(|x| {
            let expires = x.expires.get().0;
            let open = expires > now;
            let seconds = (expires - now).whole_seconds();
            ExceptionRow {
                id: x.id.get().clone(),
                identity: x.identity.get().clone(),
                environments: x.environments.iter().map(|e| e.get().clone()).collect(),
                owner: x.owner.get().clone(),
                approved_by: x.approved_by.iter().map(|e| e.get().clone()).collect(),
                reason: x.reason.get().clone(),
                expires: x.expires.get().to_string(),
                review: x.review.as_ref().map(|r| r.get().clone()),
                commits: x.commits.iter().map(|e| e.get().clone()).collect(),
                state: match (open, x.review.is_some()) {
                    (true, _) => "open",
                    (false, true) => "past",
                    (false, false) => "needs-review",
                },
                days_left: seconds.div_euclid(86_400),
            }
        })
        .collect())
}
