//! A review as text: human (terminal), Markdown (a pull request comment),
//! JSON, SARIF 2.1.0.

use std::fmt::Write as _;

use super::{Review, Risk};
use crate::policy;

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn verdict_line(r: &Review) -> String {
    match &r.verify.error {
        Some(e) => format!("verify could not run: {e}"),
        None if r.verify.valid + r.verify.invalid + r.verify.unsigned == 0 => {
            format!(
                "verify {}..{}: no commit in range",
                short(&r.base),
                short(&r.head)
            )
        }
        None => format!(
            "verify {}..{}: {} valid, {} invalid, {} unsigned{}",
            short(&r.base),
            short(&r.head),
            r.verify.valid,
            r.verify.invalid,
            r.verify.unsigned,
            if r.verify.ok { " (passes)" } else { " (fails)" }
        ),
    }
}

/// One policy-changing commit; `quote` shows the identity's name.
fn commit_line(c: &super::PolicyCommit, quote: &dyn Fn(&str) -> String) -> String {
    let who = match (&c.identity, c.signed_by_admin) {
        (None, _) if c.reason == Some("unsigned") => "unsigned".to_owned(),
        (None, _) => "signer not identified".to_owned(),
        (Some(i), true) => format!("signed by {}, an admin of the parent policy", quote(i)),
        (Some(i), false) => format!("signed by {}, not an admin of the parent policy", quote(i)),
    };
    let verify = match c.reason {
        Some(r) if r != c.rule => format!(" (commit rule: {}; verify over the range: {r})", c.rule),
        Some(r) => format!(" (verify: {r})"),
        None => format!(" (commit rule: {})", c.rule),
    };
    format!(
        "{} {}: {who}{verify}",
        short(&c.commit),
        if c.authorised {
            "authorised"
        } else {
            "NOT authorised"
        }
    )
}

/// Said when the diff starts where HEAD's branch left BASE, not at BASE.
fn fork_note(r: &Review) -> Option<String> {
    (r.diff_base != r.base).then(|| {
        format!(
            "(BASE moved on since HEAD's branch left it: the policy is compared with {}, where they part)",
            short(&r.diff_base)
        )
    })
}

fn outcome(r: &Review) -> &'static str {
    if r.blocking() {
        "needs attention: a high-risk change or an unauthorised policy change"
    } else {
        "no high-risk change, every policy change signed by an admin"
    }
}

/// For a terminal.
pub fn human(r: &Review) -> String {
    let mut s = format!(
        "review of {} {}..{}: {} change(s) ({} high, {} medium, {} low)\n",
        policy::FILE_NAME,
        short(&r.base),
        short(&r.head),
        r.changes.len(),
        r.count(Risk::High),
        r.count(Risk::Medium),
        r.count(Risk::Low)
    );
    for note in fork_note(r).iter().chain(&r.notes) {
        let _ = writeln!(s, "{note}");
    }
    for c in &r.changes {
        let _ = writeln!(
            s,
            "  {:<6} {} (line {}): {}\n         control: {}",
            c.risk.as_str(),
            c.code,
            c.line,
            c.message,
            c.control
        );
        for (k, v) in &c.details {
            let _ = writeln!(s, "         {k}: {v}");
        }
    }
    let _ = writeln!(s, "policy-changing commits: {}", r.policy_commits.len());
    for c in &r.policy_commits {
        let _ = writeln!(s, "  {}", commit_line(c, &|i| format!("`{i}`")));
    }
    let _ = writeln!(s, "{}", verdict_line(r));
    let _ = writeln!(s, "{}", outcome(r));
    s
}

/// Text for Markdown prose and table cells: no markup, link, HTML or
/// cell break from a policy's strings.
fn md_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                o.push('\\');
                o.push(c);
            }
            '\n' | '\r' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Text inside HTML (`<summary>`): entities only.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('[', "&#91;")
        .replace(']', "&#93;")
        .replace('`', "&#96;")
        .replace('*', "&#42;")
        .replace('_', "&#95;")
}

fn icon(r: Risk) -> &'static str {
    match r {
        Risk::High => "🔴 high",
        Risk::Medium => "🟠 medium",
        Risk::Low => "🟢 low",
    }
}

/// Where a SARIF consumer sends a reader to learn about the tool (the
/// validator asks for one): the project's home, as Cargo.toml and the CI
/// templates name it.
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// Where Markdown stops adding rows and details: a GitHub comment holds
/// 65536 characters, and one change's section is well under 4 KiB.
const MARKDOWN_BUDGET: usize = 56_000;

/// A pull request comment: a summary table first, then one collapsible
/// section per change.
pub fn markdown(r: &Review) -> String {
    let mut s = format!(
        "## sigctl review: `{}` {}..{}\n\n**{}**\n\n",
        policy::FILE_NAME,
        short(&r.base),
        short(&r.head),
        outcome(r)
    );
    for note in fork_note(r).iter().chain(&r.notes) {
        let _ = writeln!(s, "{}\n", md_escape(note));
    }
    s.push_str("| risk | code | subject | line | control |\n|---|---|---|---|---|\n");
    for (i, c) in r.changes.iter().enumerate() {
        if s.len() > MARKDOWN_BUDGET / 2 {
            let _ = writeln!(
                s,
                "| | … | {} more change(s): see `sigctl review --format json` | | |",
                r.changes.len() - i
            );
            break;
        }
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} |",
            icon(c.risk),
            c.code,
            md_escape(&c.subject),
            c.line,
            md_escape(c.control)
        );
    }
    if r.changes.is_empty() {
        s.push_str("| | no change | | | |\n");
    }
    s.push_str("\n### Policy-changing commits\n\n");
    if r.policy_commits.is_empty() {
        s.push_str("None.\n");
    }
    for c in &r.policy_commits {
        // the commit id, verdict and reason are sigctl's own words; the name is the policy's
        let _ = writeln!(
            s,
            "- {}",
            commit_line(c, &|i| format!("<code>{}</code>", html_escape(i)))
        );
    }
    let _ = writeln!(s, "\n{}\n", md_escape(&verdict_line(r)));
    if !r.changes.is_empty() {
        s.push_str("### Changes\n\n");
    }
    for (i, c) in r.changes.iter().enumerate() {
        if s.len() > MARKDOWN_BUDGET {
            let _ = writeln!(
                s,
                "… {} more change(s) not detailed here (a pull request comment holds 65536 characters): see `sigctl review --format json`.",
                r.changes.len() - i
            );
            break;
        }
        let _ = writeln!(
            s,
            "<details><summary>{} <code>{}</code>: {}</summary>\n",
            icon(c.risk),
            c.code,
            html_escape(&c.message)
        );
        let _ = writeln!(
            s,
            "- line {}, column {} of `{}`",
            c.line,
            c.column,
            policy::FILE_NAME
        );
        let _ = writeln!(s, "- control: {}", md_escape(c.control));
        for (k, v) in &c.details {
            let _ = writeln!(s, "- {}: {}", md_escape(k), md_escape(v));
        }
        s.push_str("\n</details>\n\n");
    }
    s
}

/// JSON: the review as data.
pub fn json(r: &Review) -> String {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("blocking".into(), serde_json::Value::Bool(r.blocking()));
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

fn sarif_level(risk: Risk) -> &'static str {
    match risk {
        Risk::High => "error",
        Risk::Medium => "warning",
        Risk::Low => "note",
    }
}

/// SARIF 2.1.0: each change a result on the line of signing.toml it
/// concerns; each unauthorised policy commit a result too.
pub fn sarif(r: &Review) -> String {
    use serde_json::json;
    let mut codes: Vec<crate::diag::Code> = r.changes.iter().map(|c| c.code).collect();
    let unauthorised = r.policy_commits.iter().any(|c| !c.authorised);
    codes.sort();
    codes.dedup();
    let mut rules: Vec<serde_json::Value> = codes
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": {"text": c.description()},
                "defaultConfiguration": {"level": sarif_level(super::risk::risk(*c))},
                "properties": {"risk": super::risk::risk(*c).as_str(), "control": super::risk::control(*c)}
            })
        })
        .collect();
    let pcwa = crate::diag::Code::PolicyChangeWithoutAdmin;
    if unauthorised {
        rules.push(json!({
            "id": pcwa.as_str(),
            "shortDescription": {"text": pcwa.description()},
            "defaultConfiguration": {"level": "error"}
        }));
    }
    let location = |line: usize, column: usize| {
        json!([{"physicalLocation": {
            "artifactLocation": {"uri": policy::FILE_NAME, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": line, "startColumn": column}
        }}])
    };
    let mut results: Vec<serde_json::Value> = r
        .changes
        .iter()
        .map(|c| {
            json!({
                "ruleId": c.code.as_str(),
                "ruleIndex": codes.iter().position(|x| *x == c.code).unwrap_or(0),
                "level": sarif_level(c.risk),
                "message": {"text": c.message},
                "locations": location(c.line, c.column),
                "properties": {"risk": c.risk.as_str(), "control": c.control, "subject": c.subject, "details": c.details}
            })
        })
        .collect();
    for c in r.policy_commits.iter().filter(|c| !c.authorised) {
        results.push(json!({
            "ruleId": pcwa.as_str(),
            "ruleIndex": codes.len(),
            "level": "error",
            "message": {"text": format!("policy change {}", commit_line(c, &|i| format!("`{i}`")))},
            "locations": location(1, 1),
            "properties": {"commit": c.commit}
        }));
    }
    let doc = json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sigctl",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the repository root"}}},
            "results": results
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
