//! `sigctl signers`: the census as text, JSON (`{"version": 1, …}`, the
//! fields of `signers::Census`) and Markdown.

use std::fmt::Write as _;

use crate::signers::{Census, SignerSummary};

/// At most this many unsigned or invalid objects are listed in text.
const SHOWN: usize = 20;

fn who(s: &SignerSummary) -> String {
    let mut w = match s.format {
        "ssh" | "openpgp" => s.id.clone(),
        "keyless" => format!(
            "{} (issuer {})",
            s.subject.as_deref().unwrap_or_default(),
            s.issuer.as_deref().unwrap_or_default()
        ),
        _ => format!(
            "{} (issuer {})",
            s.subject.as_deref().unwrap_or_default(),
            s.issuer.as_deref().unwrap_or_default()
        ),
    };
    if !s.names.is_empty() {
        let _ = write!(w, " ({})", s.names.join(", "));
    }
    if !s.verified {
        w.push_str(" [not verified: no key given]");
    }
    w
}

fn flat(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub fn human(c: &Census) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} commits ({} signed, {} unsigned, {} invalid), {} tags ({} signed) on {} ref(s)",
        c.commits,
        c.signed_commits,
        c.unsigned.len(),
        c.invalid.iter().filter(|i| i.kind == "commit").count(),
        c.tags,
        c.signed_tags,
        c.refs.len()
    );
    if c.signers.is_empty() {
        t.push_str("no signatures\n");
    }
    for s in &c.signers {
        let _ = writeln!(t, "\n{} {}", s.format, flat(&who(s)));
        let _ = writeln!(t, "  commits:    {}", s.commits);
        let _ = writeln!(t, "  tags:       {}", s.tags);
        let _ = writeln!(t, "  first seen: {}", s.first_seen);
        let _ = writeln!(t, "  last seen:  {}", s.last_seen);
        let _ = writeln!(t, "  refs:       {}", flat(&s.refs.join(", ")));
        let _ = writeln!(t, "  committers: {}", flat(&s.committers.join(", ")));
    }
    if !c.unsigned.is_empty() {
        let _ = writeln!(t, "\nunsigned commits: {}", c.unsigned.len());
        for u in c.unsigned.iter().take(SHOWN) {
            let _ = writeln!(t, "  {} {} {}", u.commit, u.time, flat(&u.committer));
        }
        if c.unsigned.len() > SHOWN {
            let _ = writeln!(
                t,
                "  … and {} more (--format json lists them all)",
                c.unsigned.len() - SHOWN
            );
        }
    }
    if c.unsigned_tags > 0 {
        let _ = writeln!(t, "\nunsigned tags: {}", c.unsigned_tags);
    }
    if !c.invalid.is_empty() {
        let _ = writeln!(
            t,
            "\ninvalid signatures (attributed to nobody): {}",
            c.invalid.len()
        );
        for i in c.invalid.iter().take(SHOWN) {
            let _ = writeln!(
                t,
                "  {} {} {} {}: {}",
                i.kind,
                i.object,
                i.time,
                flat(&i.committer),
                flat(&i.reason)
            );
        }
        if c.invalid.len() > SHOWN {
            let _ = writeln!(
                t,
                "  … and {} more (--format json lists them all)",
                c.invalid.len() - SHOWN
            );
        }
    }
    t
}

pub fn json(c: &Census) -> String {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        version: u32,
        #[serde(flatten)]
        census: &'a Census,
    }
    let mut s = serde_json::to_string_pretty(&Doc {
        version: 1,
        census: c,
    })
    .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
    s.push('\n');
    s
}

/// A Markdown cell: pipes and line breaks escaped.
fn cell(s: &str) -> String {
    flat(s)
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn markdown(c: &Census) -> String {
    let mut t = String::from("## Signers\n\n");
    let _ = writeln!(
        t,
        "{} commits ({} signed, {} unsigned), {} tags ({} signed), {} invalid signature(s), on {} ref(s).\n",
        c.commits,
        c.signed_commits,
        c.unsigned.len(),
        c.tags,
        c.signed_tags,
        c.invalid.len(),
        c.refs.len()
    );
    if !c.signers.is_empty() {
        t.push_str(
            "| format | signer | commits | tags | first seen | last seen | refs | committers |\n",
        );
        t.push_str("|---|---|---:|---:|---|---|---|---|\n");
        for s in &c.signers {
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                s.format,
                cell(&who(s)),
                s.commits,
                s.tags,
                s.first_seen,
                s.last_seen,
                cell(&s.refs.join(", ")),
                cell(&s.committers.join(", "))
            );
        }
    }
    if !c.invalid.is_empty() {
        t.push_str("\n### Invalid signatures\n\n| object | kind | reason |\n|---|---|---|\n");
        for i in c.invalid.iter().take(SHOWN) {
            let _ = writeln!(t, "| `{}` | {} | {} |", i.object, i.kind, cell(&i.reason));
        }
    }
    t
}
