//! `sigctl audit --format html`: the evidence pack as one self-contained
//! page (see [`super::html`]): the certificates' renewal timeline,
//! identities by owner and environment, exceptions with the days they have
//! left, findings with their controls, then the signing events, the
//! signing.toml changes and the revocations. Pure: the report in, the page
//! out.

use std::fmt::Write as _;

use super::html::{self, Bar, ExceptionRow, FindingRow, IdentityRow, push_esc};
use crate::provenance::Event;
use crate::provenance::audit::{Audit, CommitRef};

/// The page's title (also its `<h1>`).
pub const TITLE: &str = "sigctl audit";

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Whole days from `from` to `to` (RFC 3339), negative when `to` is past.
fn days_between(from: &str, to: &str) -> i64 {
    match (html::parse_time(from), html::parse_time(to)) {
        (Some(a), Some(b)) => (b - a).whole_days(),
        _ => 0,
    }
}

fn approval(c: &Option<CommitRef>) -> String {
    match c {
        Some(c) => format!(
            "{} signed by {} ({})",
            short(&c.commit),
            c.signed_by.as_deref().unwrap_or("nobody the policy knows"),
            c.verdict
        ),
        None => "before the verified history".into(),
    }
}

/// The whole page. Same report, same bytes.
pub fn render(a: &Audit) -> String {
    let mut b = String::with_capacity(8192 + a.signing_events.len() * 400);
    b.push_str("<header>\n<h1>");
    push_esc(&mut b, TITLE);
    b.push_str("</h1>\n<p class=\"meta\">Repository HEAD <code>");
    push_esc(&mut b, &a.head);
    b.push_str("</code>, signing.toml blob <code>");
    push_esc(&mut b, a.policy_blob.as_deref().unwrap_or("absent"));
    b.push_str("</code>; ");
    push_esc(
        &mut b,
        &match (&a.since, &a.until) {
            (None, None) => "whole history".to_owned(),
            (since, until) => format!(
                "from {} until {}",
                since.as_deref().unwrap_or("the start"),
                until.as_deref().unwrap_or("now")
            ),
        },
    );
    b.push_str("; generated ");
    push_esc(&mut b, &a.generated_at);
    let _ = writeln!(b, " by sigctl {}.</p>", env!("CARGO_PKG_VERSION"));
    let errors = a.errors();
    let overdue = a
        .exceptions
        .iter()
        .filter(|x| days_between(&a.generated_at, &x.expires) < 0)
        .count();
    html::summary(
        &mut b,
        &[
            (a.signing_events.len(), "signing events"),
            (a.identities.len(), "identities"),
            (a.policy_changes.len(), "signing.toml changes"),
            (a.exceptions.len() - overdue, "open exceptions"),
            (overdue, "overdue exceptions"),
            (a.revocations.len(), "revocations"),
            (errors, "error findings"),
            (a.findings.len() - errors, "warnings"),
        ],
    );
    b.push_str("</header>\n");

    b.push_str("<section id=\"timeline\">\n<h2>Renewal timeline</h2>\n");
    // every certificate an identity lists: a renewal shows both bars
    let bars: Vec<Bar<'_>> = a
        .identities
        .iter()
        .flat_map(|i| {
            i.certificates.iter().map(move |c| Bar {
                identity: &i.name,
                certificate: &c.path,
                repository: None,
                not_before: Some(&c.not_before),
                not_after: Some(&c.not_after),
                renew_from: Some(&c.renew_from),
                status: &c.status,
            })
        })
        .collect();
    html::timeline(&mut b, &bars, &a.generated_at);
    b.push_str("</section>\n");

    b.push_str("<section id=\"identities\">\n<h2>Identities by owner and environment</h2>\n");
    let rows: Vec<IdentityRow<'_>> = a
        .identities
        .iter()
        .map(|i| IdentityRow {
            repository: None,
            name: &i.name,
            owner: &i.owner,
            contact: i.owner_contact.as_deref(),
            environments: &i.environments,
            custody: &i.custody,
            certificate: match &i.certificate {
                Some(c) => format!(
                    "{}: until {} (renew from {}); approved in {}",
                    c.status,
                    html::day(&c.not_after),
                    html::day(&c.renew_from),
                    approval(&i.introduced)
                ),
                None => format!("no certificate; approved in {}", approval(&i.introduced)),
            },
            last_used: i.last_used.as_deref(),
            status: if i.revoked {
                vec!["revoked"]
            } else {
                i.certificate
                    .as_ref()
                    .map(|c| vec![c.status.as_str()])
                    .unwrap_or_default()
            },
        })
        .collect();
    html::identities_by_owner(&mut b, &rows);
    b.push_str("</section>\n");

    b.push_str("<section id=\"exceptions\">\n<h2>Exceptions</h2>\n");
    let rows: Vec<ExceptionRow<'_>> = a
        .exceptions
        .iter()
        .map(|x| ExceptionRow {
            repository: None,
            id: &x.id,
            identity: &x.identity,
            environments: &x.environments,
            owner: &x.owner,
            approved_by: &x.approved_by,
            reason: &x.reason,
            expires: &x.expires,
            days_left: days_between(&a.generated_at, &x.expires),
            review: x.review.as_deref(),
        })
        .collect();
    html::exceptions(&mut b, &rows);
    b.push_str("</section>\n");

    b.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    let rows: Vec<FindingRow<'_>> = a
        .findings
        .iter()
        .map(|f| FindingRow {
            severity: f.severity,
            code: f.code,
            message: &f.message,
            about: String::new(),
            control: f.control,
        })
        .collect();
    html::findings(&mut b, &rows);
    b.push_str("</section>\n");

    events(&mut b, a);
    changes(&mut b, a);
    revocations(&mut b, a);
    html::document(&format!("{TITLE} of {}", short(&a.head)), &b)
}

fn events(b: &mut String, a: &Audit) {
    b.push_str("<section id=\"events\">\n<h2>Signing events</h2>\n");
    if a.signing_events.is_empty() {
        b.push_str("<p class=\"empty\">No signing events.</p>\n</section>\n");
        return;
    }
    b.push_str("<table>\n<thead><tr><th>signed at</th><th>event</th><th>subject</th><th>identity</th><th>key</th><th>authenticated</th><th>controls</th></tr></thead>\n<tbody>\n");
    for e in &a.signing_events {
        let r = &e.record;
        b.push_str(if e.authenticated {
            "<tr><td>"
        } else {
            "<tr class=\"error\"><td>"
        });
        push_esc(b, &r.signed_at);
        b.push_str("</td><td>");
        b.push_str(match r.event {
            Event::Commit => "commit",
            Event::Tag => "tag",
            Event::Artifact => "artefact",
            Event::Certificate => "certificate",
        });
        b.push_str("</td><td>");
        match &r.subject.name {
            Some(n) => push_esc(b, n),
            None => {
                b.push_str("<code>");
                push_esc(b, short(&e.attached_to));
                b.push_str("</code>");
            }
        }
        b.push_str("</td><td><code>");
        push_esc(b, &r.identity);
        b.push_str("</code></td><td><code>");
        push_esc(b, short(r.key_fingerprint.trim_start_matches("sha256:")));
        b.push_str("</code></td><td>");
        if e.authenticated {
            b.push_str("yes");
        } else {
            b.push_str("<strong>no</strong>: ");
            push_esc(b, &e.authentication);
        }
        b.push_str("</td><td>");
        push_esc(b, &e.controls.join("; "));
        b.push_str("</td></tr>\n");
    }
    b.push_str("</tbody>\n</table>\n</section>\n");
}

fn changes(b: &mut String, a: &Audit) {
    b.push_str("<section id=\"changes\">\n<h2>signing.toml changes</h2>\n");
    if a.policy_changes.is_empty() {
        b.push_str("<p class=\"empty\">No changes.</p>\n</section>\n");
        return;
    }
    b.push_str("<table>\n<thead><tr><th>at</th><th>commit</th><th>signed by</th><th>verdict</th><th>identities added</th><th>removed</th><th>controls</th></tr></thead>\n<tbody>\n");
    for c in &a.policy_changes {
        b.push_str("<tr><td>");
        push_esc(b, &c.at);
        b.push_str("</td><td><code>");
        push_esc(b, short(&c.commit.commit));
        b.push_str("</code></td><td>");
        push_esc(b, c.commit.signed_by.as_deref().unwrap_or("-"));
        b.push_str("</td><td>");
        push_esc(b, &c.commit.verdict);
        b.push_str("</td><td>");
        push_esc(b, &c.added.join(", "));
        b.push_str("</td><td>");
        push_esc(b, &c.removed.join(", "));
        b.push_str("</td><td>");
        push_esc(b, &c.controls.join("; "));
        b.push_str("</td></tr>\n");
    }
    b.push_str("</tbody>\n</table>\n</section>\n");
}

fn revocations(b: &mut String, a: &Audit) {
    b.push_str("<section id=\"revocations\">\n<h2>Revocations</h2>\n");
    if a.revocations.is_empty() {
        b.push_str("<p class=\"empty\">No revocations.</p>\n</section>\n");
        return;
    }
    b.push_str("<table>\n<thead><tr><th>identity</th><th>reason</th><th>revoked at</th><th>compromised since</th><th>events after</th><th>controls</th></tr></thead>\n<tbody>\n");
    for r in &a.revocations {
        b.push_str("<tr><td><code>");
        push_esc(b, &r.identity);
        b.push_str("</code></td><td>");
        push_esc(b, &r.reason);
        b.push_str("</td><td>");
        push_esc(b, &r.revoked_at);
        b.push_str("</td><td>");
        push_esc(b, r.compromised_since.as_deref().unwrap_or("-"));
        let _ = write!(b, "</td><td class=\"num\">{}</td><td>", r.events_after);
        push_esc(b, &r.controls.join("; "));
        b.push_str("</td></tr>\n");
    }
    b.push_str("</tbody>\n</table>\n</section>\n");
}
