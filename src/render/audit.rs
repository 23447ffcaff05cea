//! Provenance records and the audit evidence pack, for people (text,
//! Markdown) and machines (JSON, the report's own field names).

use std::fmt::Write as _;

use crate::provenance::audit::{Audit, CommitRef};
use crate::provenance::{Event, Record};

/// `sigctl provenance show --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    Human,
    Json,
}

/// `sigctl audit --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Human,
    Json,
    Markdown,
    /// One self-contained page (`render::audit_html`).
    Html,
}

/// `{"records": [ … ]}`.
/// A record as `provenance show` prints it, with audit's verdict on it.
#[derive(Debug, serde::Serialize)]
pub struct Shown {
    #[serde(flatten)]
    pub record: Record,
    pub authenticated: bool,
    pub authentication: String,
}

pub fn show_json(records: &[Shown]) -> String {
    let mut s = serde_json::to_string_pretty(&serde_json::json!({ "records": records }))
        .unwrap_or_default();
    s.push('\n');
    s
}

fn event(e: Event) -> &'static str {
    match e {
        Event::Commit => "commit",
        Event::Tag => "tag",
        Event::Artifact => "artefact",
        Event::Certificate => "certificate",
    }
}

fn short(id: &str) -> &str {
    &id[..12.min(id.len())]
}

/// One block per record.
pub fn show_human(what: &str, records: &[Shown]) -> String {
    let mut s = format!("{what}: {} signing record(s)\n", records.len());
    for shown in records {
        let r = &shown.record;
        let _ = writeln!(
            s,
            "\n  {} signed by identity `{}` (owner {}, custody {})",
            event(r.event),
            r.identity,
            r.owner,
            r.custody
        );
        if let Some(name) = &r.subject.name {
            let _ = writeln!(
                s,
                "    artefact {name}, sha256 {}",
                r.subject.sha256.as_deref().unwrap_or("?")
            );
        }
        if let Some(object) = &r.subject.object {
            let _ = writeln!(s, "    object   {object}");
        }
        let _ = writeln!(
            s,
            "    key      {} ({})",
            r.key.as_deref().unwrap_or(if r.keyless.is_some() {
                "ephemeral"
            } else {
                "-"
            }),
            r.key_fingerprint
        );
        if let Some(k) = &r.keyless {
            let _ = writeln!(s, "    keyless  {} (issuer {})", k.subject, k.issuer);
        }
        if let Some(c) = &r.certificate {
            let _ = writeln!(
                s,
                "    cert     {}(serial {}, issuer {}, expires {})",
                if c.subject.is_empty() {
                    String::new()
                } else {
                    format!("{} ", c.subject)
                },
                c.serial,
                c.issuer,
                c.not_after
            );
        }
        if let Some(t) = &r.tlog {
            let _ = writeln!(
                s,
                "    tlog     index {}, integrated {} (log {})",
                t.log_index,
                t.integrated_time,
                short(&t.log_id)
            );
        }
        if let Some(refname) = &r.refname {
            let _ = writeln!(s, "    ref      {refname}");
        }
        let _ = writeln!(s, "    signed   {} ({})", r.signed_at, r.time_source);
        let _ = writeln!(
            s,
            "    policy   signing.toml {}",
            r.policy_blob.as_deref().map_or("(not committed)", short)
        );
        let _ = writeln!(s, "    by       sigctl {}", r.sigctl);
        if shown.authenticated {
            let _ = writeln!(s, "    authenticated: {}", shown.authentication);
        } else {
            let _ = writeln!(
                s,
                "    NOT AUTHENTICATED: {} (what this record says is not evidence)",
                shown.authentication
            );
        }
    }
    s
}

pub fn audit_json(a: &Audit) -> String {
    let mut s = serde_json::to_string_pretty(a).unwrap_or_default();
    s.push('\n');
    s
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

pub fn audit_human(a: &Audit) -> String {
    let mut s = format!(
        "sigctl audit of {} (signing.toml {}), {}\n",
        short(&a.head),
        a.policy_blob.as_deref().map_or("absent", short),
        period(a)
    );
    let _ = writeln!(s, "\nsigning events: {}", a.signing_events.len());
    for e in &a.signing_events {
        let _ = writeln!(
            s,
            "  {} {} {} by {} ({}){}",
            e.record.signed_at,
            event(e.record.event),
            e.record
                .subject
                .name
                .clone()
                .unwrap_or_else(|| short(&e.attached_to).to_owned()),
            e.record.identity,
            e.record.key_fingerprint,
            if e.authenticated {
                String::new()
            } else {
                format!(" UNAUTHENTICATED: {}", e.authentication)
            }
        );
    }
    let _ = writeln!(s, "\nidentities: {}", a.identities.len());
    for i in &a.identities {
        let _ = writeln!(
            s,
            "  {} (owner {}, {}, {}) approved in {}; last used {}{}",
            i.name,
            i.owner,
            i.custody,
            i.environments.join("/"),
            approval(&i.introduced),
            i.last_used.as_deref().unwrap_or("never"),
            i.certificate
                .as_ref()
                .map(|c| format!("; certificate {} until {}", c.status, c.not_after))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(s, "\nsigning.toml changes: {}", a.policy_changes.len());
    for c in &a.policy_changes {
        let _ = writeln!(
            s,
            "  {} {} (+{} -{})",
            c.at,
            approval(&Some(c.commit.clone())),
            c.added.join(","),
            c.removed.join(",")
        );
    }
    let _ = writeln!(
        s,
        "\nexceptions: {}, revocations: {}",
        a.exceptions.len(),
        a.revocations.len()
    );
    let _ = writeln!(s, "\nfindings: {}", a.findings.len());
    for f in &a.findings {
        let _ = writeln!(
            s,
            "  {} [{}] {} ({})",
            f.severity, f.code, f.message, f.control
        );
    }
    s
}

fn period(a: &Audit) -> String {
    match (&a.since, &a.until) {
        (None, None) => "whole history".into(),
        (since, until) => format!(
            "from {} until {}",
            since.as_deref().unwrap_or("the start"),
            until.as_deref().unwrap_or("now")
        ),
    }
}

/// A Markdown cell: no pipes or newlines breaking the table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn audit_markdown(a: &Audit) -> String {
    let mut s = String::from("# Signing audit\n\n");
    let _ = writeln!(
        s,
        "Repository HEAD `{}`, signing.toml blob `{}`; {}; generated {} by sigctl {}.\n",
        a.head,
        a.policy_blob.as_deref().unwrap_or("absent"),
        period(a),
        a.generated_at,
        env!("CARGO_PKG_VERSION")
    );
    let errors = a.errors();
    let _ = writeln!(
        s,
        "**{} finding(s), {errors} error(s).** {} signing event(s), {} identit{}, {} signing.toml change(s).\n",
        a.findings.len(),
        a.signing_events.len(),
        a.identities.len(),
        if a.identities.len() == 1 { "y" } else { "ies" },
        a.policy_changes.len()
    );

    s.push_str("## Signing events\n\n");
    s.push_str("| signed at | event | subject | identity | key | certificate | authenticated | controls |\n|---|---|---|---|---|---|---|---|\n");
    for e in &a.signing_events {
        let r = &e.record;
        let subject = match (&r.subject.name, &r.subject.sha256) {
            (Some(n), Some(h)) => format!("{n} (sha256 `{}`)", short(h)),
            _ => format!("`{}`", short(&e.attached_to)),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | `{}` | {} `{}` | {} | {} | {} |",
            r.signed_at,
            event(r.event),
            cell(&subject),
            r.identity,
            cell(r.key.as_deref().unwrap_or("-")),
            short(r.key_fingerprint.trim_start_matches("sha256:")),
            cell(
                &r.certificate
                    .as_ref()
                    .map(|c| format!("serial {}, {}", c.serial, c.issuer))
                    .unwrap_or_else(|| "-".into())
            ),
            if e.authenticated {
                "yes".to_owned()
            } else {
                format!("**no**: {}", cell(&e.authentication))
            },
            e.controls.join("; ")
        );
    }

    s.push_str("\n## Identities\n\n");
    s.push_str("| identity | owner | custody | environments | approved in | certificate | last used | controls |\n|---|---|---|---|---|---|---|---|\n");
    for i in &a.identities {
        let _ = writeln!(
            s,
            "| `{}`{} | {} | {} | {} | {} | {} | {} | {} |",
            i.name,
            if i.revoked { " (revoked)" } else { "" },
            cell(&match &i.owner_contact {
                Some(c) => format!("{} ({c})", i.owner),
                None => i.owner.clone(),
            }),
            i.custody,
            i.environments.join(", "),
            cell(&approval(&i.introduced)),
            cell(
                &i.certificate
                    .as_ref()
                    .map(|c| format!(
                        "{}: {} to {}, renew from {}",
                        c.status, c.not_before, c.not_after, c.renew_from
                    ))
                    .unwrap_or_else(|| "-".into())
            ),
            i.last_used
                .as_deref()
                .map_or("never".to_owned(), |l| format!("{l} ({} events)", i.events)),
            i.controls.join("; ")
        );
    }

    s.push_str("\n## signing.toml changes\n\n");
    s.push_str("| at | commit | signed by | verdict | identities added | removed | controls |\n|---|---|---|---|---|---|---|\n");
    for c in &a.policy_changes {
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} | {} |",
            c.at,
            short(&c.commit.commit),
            c.commit.signed_by.as_deref().unwrap_or("-"),
            c.commit.verdict,
            c.added.join(", "),
            c.removed.join(", "),
            c.controls.join("; ")
        );
    }

    s.push_str("\n## Exceptions\n\n");
    if a.exceptions.is_empty() {
        s.push_str("None.\n");
    } else {
        s.push_str("| id | identity | environments | owner | approved by | reason | expires | review | controls |\n|---|---|---|---|---|---|---|---|---|\n");
        for x in &a.exceptions {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {} | {} | {}{} | {} | {} |",
                cell(&x.id),
                x.identity,
                x.environments.join(", "),
                x.owner,
                cell(&x.approved_by.join(", ")),
                cell(&x.reason),
                x.expires,
                if x.expired { " (expired)" } else { "" },
                cell(x.review.as_deref().unwrap_or("-")),
                x.controls.join("; ")
            );
        }
    }

    s.push_str("\n## Revocations\n\n");
    if a.revocations.is_empty() {
        s.push_str("None.\n");
    } else {
        s.push_str("| identity | reason | revoked at | compromised since | events after | controls |\n|---|---|---|---|---|---|\n");
        for r in &a.revocations {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} | {} |",
                r.identity,
                r.reason,
                r.revoked_at,
                r.compromised_since.as_deref().unwrap_or("-"),
                r.events_after,
                r.controls.join("; ")
            );
        }
    }

    s.push_str("\n## Findings\n\n");
    if a.findings.is_empty() {
        s.push_str("None.\n");
    } else {
        s.push_str("| severity | code | finding | control |\n|---|---|---|---|\n");
        for f in &a.findings {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} |",
                f.severity,
                f.code,
                cell(&f.message),
                f.control
            );
        }
    }
    s
}
