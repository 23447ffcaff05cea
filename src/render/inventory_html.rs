//! `sigctl inventory --format html`: the inventory as one self-contained
//! page (see [`super::html`]): a summary, the renewal timeline of every
//! certificate, identities by owner and environment, exceptions with the
//! days they have left, findings with their controls, and the repositories
//! and suppliers read. Pure: the report in, the page out.

use std::fmt::Write as _;

use super::html::{self, Bar, ExceptionRow, FindingRow, IdentityRow, push_esc};
use crate::inventory::model::{Identity, Inventory};

/// The page's title (also its `<h1>`).
pub const TITLE: &str = "sigctl inventory";

/// The whole page. Same inventory, same bytes.
pub fn render(inv: &Inventory) -> String {
    let certificates: usize = inv.identities.iter().map(|i| i.certificates.len()).sum();
    let mut b = String::with_capacity(4096 + inv.identities.len() * 1200);
    b.push_str("<header>\n<h1>");
    push_esc(&mut b, TITLE);
    b.push_str("</h1>\n<p class=\"meta\">Generated ");
    push_esc(&mut b, &inv.generated_at);
    let _ = write!(b, " by sigctl {}", env!("CARGO_PKG_VERSION"));
    b.push_str(" (format ");
    push_esc(&mut b, &inv.format);
    let _ = writeln!(b, " v{}).</p>", inv.version);
    let open = inv.exceptions.iter().filter(|x| x.days_left >= 0).count();
    let overdue = inv.exceptions.len() - open;
    let errors = inv
        .findings
        .iter()
        .filter(|f| f.severity == "error")
        .count();
    let expired = inv
        .identities
        .iter()
        .flat_map(|i| &i.certificates)
        .filter(|c| c.status == "expired")
        .count();
    let due = inv
        .identities
        .iter()
        .flat_map(|i| &i.certificates)
        .filter(|c| c.status == "renewal-due")
        .count();
    html::summary(
        &mut b,
        &[
            (inv.repositories.len(), "repositories"),
            (inv.identities.len(), "identities"),
            (certificates, "certificates"),
            (expired, "expired"),
            (due, "due for renewal"),
            (open, "open exceptions"),
            (overdue, "overdue exceptions"),
            (errors, "error findings"),
            (inv.findings.len() - errors, "warnings"),
        ],
    );
    b.push_str("</header>\n");

    let multi = inv.repositories.len() > 1;
    b.push_str("<section id=\"timeline\">\n<h2>Renewal timeline</h2>\n");
    let bars: Vec<Bar<'_>> = inv
        .identities
        .iter()
        .flat_map(|i| {
            i.certificates.iter().map(move |c| Bar {
                identity: &i.name,
                certificate: &c.path,
                repository: multi.then_some(i.repository.as_str()),
                not_before: c.not_before.as_deref(),
                not_after: c.not_after.as_deref(),
                renew_from: c.renew_from.as_deref(),
                status: &c.status,
            })
        })
        .collect();
    html::timeline(&mut b, &bars, &inv.generated_at);
    b.push_str("</section>\n");

    b.push_str("<section id=\"identities\">\n<h2>Identities by owner and environment</h2>\n");
    let rows: Vec<IdentityRow<'_>> = inv
        .identities
        .iter()
        .map(|i| IdentityRow {
            repository: multi.then_some(i.repository.as_str()),
            name: &i.name,
            owner: &i.owner,
            contact: i.contact.as_deref(),
            environments: &i.environments,
            custody: &i.custody,
            certificate: certificate_summary(i),
            last_used: i.last_used.as_deref(),
            status: i.status.iter().map(String::as_str).collect(),
        })
        .collect();
    html::identities_by_owner(&mut b, &rows);
    b.push_str("</section>\n");

    b.push_str("<section id=\"exceptions\">\n<h2>Exceptions</h2>\n");
    let rows: Vec<ExceptionRow<'_>> = inv
        .exceptions
        .iter()
        .map(|x| ExceptionRow {
            repository: multi.then_some(x.repository.as_str()),
            id: &x.id,
            identity: &x.identity,
            environments: &x.environments,
            owner: &x.owner,
            approved_by: &x.approved_by,
            reason: &x.reason,
            expires: &x.expires,
            days_left: x.days_left,
            review: x.review.as_deref(),
        })
        .collect();
    html::exceptions(&mut b, &rows);
    b.push_str("</section>\n");

    b.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    let rows: Vec<FindingRow<'_>> = inv
        .findings
        .iter()
        .map(|f| FindingRow {
            severity: &f.severity,
            code: &f.code,
            message: &f.message,
            about: f
                .repositories
                .iter()
                .chain(&f.identities)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            control: &f.control,
        })
        .collect();
    html::findings(&mut b, &rows);
    b.push_str("</section>\n");

    repositories(&mut b, inv);
    suppliers(&mut b, inv);
    html::document(TITLE, &b)
}

/// "2 certificates; expires in 45 days (renew from 2026-10-01)".
fn certificate_summary(i: &Identity) -> String {
    let mut s = match i.certificates.len() {
        0 => "no certificate".to_owned(),
        1 => "1 certificate".to_owned(),
        n => format!("{n} certificates"),
    };
    match i.days_to_expiry {
        Some(d) if d < 0 => {
            let _ = write!(s, "; expired {} days ago", -d);
        }
        Some(d) => {
            let _ = write!(s, "; expires in {d} days");
        }
        None => {}
    }
    if let Some(r) = &i.renewal_due {
        let _ = write!(s, " (renew from {})", html::day(r));
    }
    s
}

fn repositories(b: &mut String, inv: &Inventory) {
    b.push_str("<section id=\"repositories\">\n<h2>Repositories</h2>\n");
    if inv.repositories.is_empty() {
        b.push_str("<p class=\"empty\">No repositories.</p>\n</section>\n");
        return;
    }
    b.push_str("<table>\n<thead><tr><th>repository</th><th>status</th><th>HEAD</th><th>signing.toml</th><th>identities</th></tr></thead>\n<tbody>\n");
    for r in &inv.repositories {
        b.push_str("<tr><td>");
        push_esc(b, &r.path);
        b.push_str("</td><td>");
        html::badges(b, &[r.status.as_str()]);
        b.push_str("</td><td><code>");
        push_esc(b, r.head.as_deref().map_or("-", short));
        b.push_str("</code></td><td><code>");
        push_esc(b, r.policy_blob.as_deref().map_or("-", short));
        let _ = writeln!(
            b,
            "</code></td><td class=\"num\">{}</td></tr>",
            r.identities
        );
    }
    b.push_str("</tbody>\n</table>\n</section>\n");
}

fn suppliers(b: &mut String, inv: &Inventory) {
    if inv.suppliers.is_empty() {
        return;
    }
    b.push_str("<section id=\"suppliers\">\n<h2>Suppliers</h2>\n<table>\n<thead><tr><th>supplier</th><th>repository</th><th>contact</th><th>accepts</th><th>evidence</th><th>last seen</th></tr></thead>\n<tbody>\n");
    for s in &inv.suppliers {
        b.push_str("<tr><td>");
        push_esc(b, &s.name);
        b.push_str("</td><td>");
        push_esc(b, &s.repository);
        b.push_str("</td><td>");
        html::link_or_text(b, s.contact.as_deref().unwrap_or("-"));
        b.push_str("</td><td>");
        push_esc(b, &s.accepts.join(", "));
        b.push_str("</td><td>");
        push_esc(b, &s.evidence.join(", "));
        b.push_str("</td><td>");
        push_esc(
            b,
            &s.last_seen.as_deref().map_or("never".to_owned(), html::day),
        );
        b.push_str("</td></tr>\n");
    }
    b.push_str("</tbody>\n</table>\n</section>\n");
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::model::{Certificate, Exception, Finding};

    fn cert(path: &str, nb: &str, na: &str, renew: &str, status: &str) -> Certificate {
        Certificate {
            path: path.into(),
            subject: Some(format!("CN={path}")),
            issuer: Some("CN=CA".into()),
            serial: Some("01".into()),
            fingerprint_sha256: None,
            not_before: Some(nb.into()),
            not_after: Some(na.into()),
            renew_from: Some(renew.into()),
            status: status.into(),
        }
    }

    fn identity(n: usize, owner: &str, certificates: Vec<Certificate>) -> Identity {
        Identity {
            repository: format!("repos/r{}", n % 7),
            name: format!("id-{n}"),
            owner: owner.into(),
            contact: None,
            purpose: None,
            environments: vec!["prod".into(), format!("env-{}", n % 3)],
            classes: vec![],
            custody: "hsm".into(),
            key_reference: None,
            key_fingerprint: None,
            certificates,
            days_to_expiry: Some(30),
            renewal_due: None,
            last_used: None,
            events_90d: 0,
            status: vec!["ok".into()],
        }
    }

    fn inventory(identities: Vec<Identity>) -> Inventory {
        Inventory {
            format: crate::inventory::model::FORMAT.into(),
            version: crate::inventory::model::VERSION,
            generated_at: "2026-11-01T12:00:00Z".into(),
            repositories: vec![],
            identities,
            exceptions: vec![Exception {
                repository: "repos/r0".into(),
                id: "EX-1".into(),
                identity: "id-0".into(),
                environments: vec!["prod".into()],
                owner: "alice".into(),
                approved_by: vec!["bob".into()],
                reason: "migration".into(),
                expires: "2026-10-20T00:00:00Z".into(),
                days_left: -12,
                review: None,
            }],
            suppliers: vec![],
            findings: vec![Finding {
                severity: "warning".into(),
                code: "identity-in-several-repositories".into(),
                message: "m".into(),
                repositories: vec![],
                identities: vec![],
                control: "NIST CSF 2.0 PR.AA-01".into(),
            }],
        }
    }

    #[test]
    fn one_bar_per_dated_certificate_and_the_overdue_exception_highlighted() {
        let inv = inventory(vec![
            identity(
                0,
                "alice",
                vec![
                    cert(
                        "a.pem",
                        "2026-01-01T00:00:00Z",
                        "2026-10-01T00:00:00Z",
                        "2026-09-01T00:00:00Z",
                        "expired",
                    ),
                    cert(
                        "b.pem",
                        "2026-09-01T00:00:00Z",
                        "2027-09-01T00:00:00Z",
                        "2027-08-01T00:00:00Z",
                        "valid",
                    ),
                ],
            ),
            identity(
                1,
                "bob",
                vec![cert(
                    "c.pem",
                    "2026-01-01T00:00:00Z",
                    "2026-11-20T00:00:00Z",
                    "2026-10-20T00:00:00Z",
                    "renewal-due",
                )],
            ),
        ]);
        let page = render(&inv);
        assert_eq!(page.matches("<rect class=\"cert-bar\"").count(), 3);
        assert_eq!(page.matches("<rect class=\"renew-window\"").count(), 3);
        assert!(
            page.contains("<tr class=\"overdue\"><td>EX-1</td>"),
            "{page}"
        );
        assert!(page.contains("overdue by 12 days"));
        assert!(page.contains("<h3>Owner alice"));
        assert!(page.find("<h3>Owner alice") < page.find("<h3>Owner bob"));
        assert_eq!(render(&inv), page, "deterministic");
    }

    #[test]
    fn ten_thousand_identities_render_in_linear_time() {
        let ids: Vec<Identity> = (0..10_000)
            .map(|n| {
                identity(
                    n,
                    &format!("owner-{}", n % 500),
                    vec![cert(
                        "x.pem",
                        "2026-01-01T00:00:00Z",
                        "2027-01-01T00:00:00Z",
                        "2026-12-01T00:00:00Z",
                        "valid",
                    )],
                )
            })
            .collect();
        let inv = inventory(ids);
        let t = std::time::Instant::now();
        let page = render(&inv);
        let took = t.elapsed();
        assert_eq!(page.matches("<rect class=\"cert-bar\"").count(), 10_000);
        // an unoptimised build; the release build takes a fraction of this
        assert!(took.as_secs_f64() < 3.0, "{took:?}");
    }
}
