//! Text for `revoke` and `exception`: human, Markdown and JSON. Returns
//! strings; never prints (the CLI does).

use std::fmt::Write as _;

use super::exceptions::{ExceptionOutcome, ExceptionRow};
use super::revoke::RevokeOutcome;
use crate::verify::blast::{BlastObject, BlastRadius};

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn json<T: serde::Serialize>(v: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// `revoke --format json`.
pub fn revoke_json(o: &RevokeOutcome) -> String {
    json(o)
}

fn verdict(invalid: bool) -> &'static str {
    if invalid {
        "invalid once committed"
    } else {
        "stays valid"
    }
}

fn objects(out: &mut String, title: &str, list: &[BlastObject]) {
    let _ = writeln!(out, "  {title} ({}):", list.len());
    for o in list {
        let name = o
            .name
            .as_deref()
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        let who = o
            .identity
            .as_deref()
            .unwrap_or("no identity of the policy in force");
        let _ = writeln!(
            out,
            "    {}{name}  {}  by {who} ({} match, {})  {}",
            short(&o.id),
            o.signed_at,
            o.matched_by,
            o.time_source,
            verdict(o.invalid_after_revocation)
        );
        if !o.refs.is_empty() {
            let _ = writeln!(out, "      in {}", o.refs.join(", "));
        }
    }
}

fn blast_human(out: &mut String, b: &BlastRadius) {
    let window = match &b.since {
        Some(s) => format!("since {s}"),
        None => "ever".to_owned(),
    };
    let _ = writeln!(
        out,
        "\nblast radius: what the key of `{}` signed {window}",
        b.identity
    );
    if b.key_material.is_empty() {
        let _ = writeln!(out, "  key material: none declared (matched by name only)");
    }
    for m in &b.key_material {
        let _ = writeln!(out, "  key: {m}");
    }
    objects(out, "commits", &b.commits);
    objects(out, "tags", &b.tags);
    let _ = writeln!(out, "  artefacts ({}):", b.artifacts.len());
    for a in &b.artifacts {
        let name = a.name.as_deref().unwrap_or("(unnamed)");
        let sha = a.sha256.as_deref().map(short).unwrap_or("?");
        let release = a
            .release
            .as_deref()
            .map(|r| format!(", release {r}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    {name}  sha256:{sha}…  {}  by {}{release}  {}",
            a.signed_at,
            a.identity,
            verdict(a.invalid_after_revocation)
        );
    }
    if !b.recorded_objects.is_empty() {
        let _ = writeln!(
            out,
            "  recorded objects no ref here reaches ({}):",
            b.recorded_objects.len()
        );
        for r in &b.recorded_objects {
            let _ = writeln!(
                out,
                "    {} {}  {}  by {}{}",
                r.event,
                short(&r.object),
                r.signed_at,
                r.identity,
                if r.present {
                    ""
                } else {
                    " (not in this repository)"
                }
            );
        }
    }
    if b.refs.is_empty() {
        let _ = writeln!(out, "  refs holding them: none");
    } else {
        let _ = writeln!(out, "  refs holding them:");
        for r in &b.refs {
            let tag = if r.signed_tag {
                ", its tag signed by the key"
            } else {
                ""
            };
            let _ = writeln!(out, "    {}  {} commit(s){tag}", r.refname, r.commits);
        }
    }
    let releases = if b.releases.is_empty() {
        "none".to_owned()
    } else {
        b.releases.join(", ")
    };
    let _ = writeln!(out, "  releases (tags) affected: {releases}");
    if b.earlier > 0 {
        let _ = writeln!(
            out,
            "  not listed: {} earlier signature(s) by this key, dated before {}; a date the signer chose can be back-dated",
            b.earlier,
            b.since.as_deref().unwrap_or("the window")
        );
    }
    let _ = writeln!(
        out,
        "  scanned {} ref(s), {} commit(s), {} tag(s), {} provenance record(s)",
        b.scanned.refs, b.scanned.commits, b.scanned.tags, b.scanned.records
    );
}

/// `revoke`, for a terminal.
pub fn revoke_human(o: &RevokeOutcome) -> String {
    let mut out = String::new();
    let r = &o.revocation;
    let since = r
        .compromised_since
        .as_deref()
        .map(|s| format!(", compromised since {s}"))
        .unwrap_or_default();
    if o.changed {
        let _ = writeln!(
            out,
            "revoked `{}` in signing.toml: {} at {}{since}",
            r.identity, r.reason, r.revoked_at
        );
    } else {
        let _ = writeln!(
            out,
            "`{}` is already revoked ({} at {}{since}): signing.toml is unchanged",
            r.identity, r.reason, r.revoked_at
        );
    }
    blast_human(&mut out, &o.blast_radius);
    if o.changed {
        let _ = writeln!(
            out,
            "\nnext: the revocation is a policy change; it counts once committed, signed by an identity of an admin: {}",
            o.admins.join("; ")
        );
        let _ = writeln!(
            out,
            "  git commit -S -m \"revoke {}\" signing.toml",
            r.identity
        );
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `revoke --format markdown`: for an incident ticket.
pub fn revoke_markdown(o: &RevokeOutcome) -> String {
    let mut out = String::new();
    let r = &o.revocation;
    let b = &o.blast_radius;
    let _ = writeln!(out, "## Revocation of `{}`\n", r.identity);
    let _ = writeln!(
        out,
        "| reason | revoked at | compromised since | signing.toml |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} |\n",
        r.reason,
        r.revoked_at,
        r.compromised_since.as_deref().unwrap_or("—"),
        if o.changed {
            "changed (commit it, signed by an admin)"
        } else {
            "unchanged (already revoked)"
        }
    );
    let _ = writeln!(
        out,
        "Key material: {}\n",
        if b.key_material.is_empty() {
            "none declared".to_owned()
        } else {
            b.key_material
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let _ = writeln!(out, "### Signed objects\n");
    if b.commits.is_empty() && b.tags.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(
            out,
            "| kind | object | signed at | by | match | after revocation | in |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for o in b.commits.iter().chain(&b.tags) {
            let obj = match &o.name {
                Some(n) => format!("`{}` {}", short(&o.id), md_cell(n)),
                None => format!("`{}`", short(&o.id)),
            };
            let _ = writeln!(
                out,
                "| {} | {obj} | {} | {} | {} | {} | {} |",
                o.kind,
                o.signed_at,
                md_cell(o.identity.as_deref().unwrap_or("—")),
                o.matched_by,
                verdict(o.invalid_after_revocation),
                md_cell(&o.refs.join(", "))
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "### Artefacts\n");
    if b.artifacts.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(
            out,
            "| name | sha256 | signed at | by | release | after revocation |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for a in &b.artifacts {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} |",
                md_cell(a.name.as_deref().unwrap_or("—")),
                a.sha256.as_deref().unwrap_or("—"),
                a.signed_at,
                md_cell(&a.identity),
                md_cell(a.release.as_deref().unwrap_or("—")),
                verdict(a.invalid_after_revocation)
            );
        }
        out.push('\n');
    }
    if !b.recorded_objects.is_empty() {
        let _ = writeln!(out, "### Recorded objects no ref reaches\n");
        for r in &b.recorded_objects {
            let _ = writeln!(
                out,
                "- {} `{}` signed {} by {}",
                r.event,
                r.object,
                r.signed_at,
                md_cell(&r.identity)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "### Refs and releases\n");
    for r in &b.refs {
        let _ = writeln!(
            out,
            "- `{}`: {} commit(s){}",
            r.refname,
            r.commits,
            if r.signed_tag {
                ", tag signed by the key"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "\nReleases affected: {}",
        if b.releases.is_empty() {
            "none".to_owned()
        } else {
            b.releases.join(", ")
        }
    );
    if b.earlier > 0 {
        let _ = writeln!(
            out,
            "\nNot listed: {} earlier signature(s) by this key (dates a signer chose can be back-dated).",
            b.earlier
        );
    }
    if o.changed {
        let _ = writeln!(
            out,
            "\nNext: commit signing.toml signed by an identity of an admin: {}.",
            o.admins.join("; ")
        );
    }
    out
}

/// `exception add|close`, for a terminal.
pub fn exception_human(verb: &str, o: &ExceptionOutcome) -> String {
    let mut out = String::new();
    if !o.changed {
        let _ = writeln!(
            out,
            "exception `{}` is already closed (expired {}, review {}): signing.toml is unchanged",
            o.id,
            o.expires,
            o.review.as_deref().unwrap_or("none")
        );
        return out;
    }
    let review = o
        .review
        .as_deref()
        .map(|r| format!(", review {r}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{verb} exception `{}` in signing.toml: expires {}{review}",
        o.id, o.expires
    );
    let _ = writeln!(
        out,
        "next: this is a policy change; it counts once committed, signed by an identity of an admin: {}",
        o.admins.join("; ")
    );
    out
}

/// `exception list --format json`.
pub fn list_json(rows: &[ExceptionRow]) -> String {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        exceptions: &'a [ExceptionRow],
    }
    json(&Doc { exceptions: rows })
}

fn days(d: i64) -> String {
    match d {
        0 => "today".into(),
        d if d > 0 => format!("{d} day(s) left"),
        d => format!("{} day(s) ago", -d),
    }
}

/// `exception list`, for a terminal: open ones first, then past ones.
pub fn list_human(rows: &[ExceptionRow]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        return "no exceptions in signing.toml\n".into();
    }
    for (title, open) in [("open", true), ("past", false)] {
        let part: Vec<&ExceptionRow> = rows
            .iter()
            .filter(|r| (r.state == "open") == open)
            .collect();
        let _ = writeln!(out, "{title} ({}):", part.len());
        for r in part {
            let _ = writeln!(
                out,
                "  {}  {} for {}  expires {} ({})  owner {}  approved by {}",
                r.id,
                r.identity,
                r.environments.join(", "),
                r.expires,
                days(r.days_left),
                r.owner,
                r.approved_by.join(", ")
            );
            let _ = writeln!(out, "    reason: {}", r.reason);
            match (&r.review, r.state) {
                (Some(rv), _) => {
                    let _ = writeln!(out, "    review: {rv}");
                }
                (None, "needs-review") => {
                    let _ = writeln!(
                        out,
                        "    review: missing (`sigctl check` fails until it is recorded: `sigctl exception close {} --review URL`)",
                        r.id
                    );
                }
                _ => {}
            }
            if !r.commits.is_empty() {
                let _ = writeln!(out, "    commits: {}", r.commits.join(", "));
            }
        }
    }
    out
}

/// `exception list --format markdown`.
pub fn list_markdown(rows: &[ExceptionRow]) -> String {
    let mut out = String::from(
        "| id | identity | environments | owner | approved by | reason | expires | days | state | review |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&r.id),
            md_cell(&r.identity),
            md_cell(&r.environments.join(", ")),
            md_cell(&r.owner),
            md_cell(&r.approved_by.join(", ")),
            md_cell(&r.reason),
            r.expires,
            r.days_left,
            r.state,
            md_cell(r.review.as_deref().unwrap_or("—"))
        );
    }
    out
}
