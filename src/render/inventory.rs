//! The inventory for people (a terminal table, Markdown) and machines (the
//! model as JSON, CSV with one row per identity). Pure: an `Inventory` in,
//! text out.

use std::fmt::Write as _;

use crate::inventory::model::{Finding, Identity, Inventory};

/// The model, pretty-printed: the documented field names are the contract.
pub fn json(inv: &Inventory) -> String {
    let mut s = serde_json::to_string_pretty(inv).unwrap_or_default();
    s.push('\n');
    s
}

fn summary(inv: &Inventory) -> String {
    format!(
        "{} repositor{}, {} identit{}, {} error(s), {} warning(s)",
        inv.repositories.len(),
        if inv.repositories.len() == 1 {
            "y"
        } else {
            "ies"
        },
        inv.identities.len(),
        if inv.identities.len() == 1 {
            "y"
        } else {
            "ies"
        },
        inv.errors(),
        inv.warnings()
    )
}

/// `2026-11-01T12:00:00Z` ─▶ `2026-11-01`.
fn day(t: &str) -> &str {
    t.get(..10).unwrap_or(t)
}

/// The identity's current certificate's notAfter, or `-`.
fn expires(i: &Identity) -> String {
    match (i.days_to_expiry, i.renewal_due.as_deref()) {
        (Some(d), _) => {
            let not_after = i
                .certificates
                .iter()
                .filter_map(|c| c.not_after.as_deref())
                .max()
                .unwrap_or("");
            format!("{} ({d}d)", day(not_after))
        }
        (None, _) => "-".into(),
    }
}

fn or_dash(s: Option<&str>) -> String {
    s.map_or_else(|| "-".to_owned(), str::to_owned)
}

/// Rows as columns padded to their widest cell.
fn table(rows: &[Vec<String>], indent: &str) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = indent.to_owned();
        for (c, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < r.len() {
                let pad = width[c] - cell.chars().count() + 2;
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A terminal report: the summary, repositories, identities, exceptions, findings.
pub fn human(inv: &Inventory) -> String {
    let mut s = format!("inventory at {}: {}\n", inv.generated_at, summary(inv));
    s.push_str("\nrepositories\n");
    let mut rows = vec![vec!["PATH".into(), "STATUS".into(), "IDENTITIES".into()]];
    for r in &inv.repositories {
        rows.push(vec![
            r.path.clone(),
            r.status.clone(),
            r.identities.to_string(),
        ]);
    }
    s.push_str(&table(&rows, "  "));
    if !inv.identities.is_empty() {
        s.push_str("\nidentities\n");
        let mut rows = vec![
            [
                "REPOSITORY",
                "IDENTITY",
                "OWNER",
                "ENVIRONMENTS",
                "CUSTODY",
                "EXPIRES",
                "RENEW FROM",
                "LAST USED",
                "90D",
                "STATUS",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for i in &inv.identities {
            rows.push(vec![
                i.repository.clone(),
                i.name.clone(),
                i.owner.clone(),
                i.environments.join(","),
                i.custody.clone(),
                expires(i),
                or_dash(i.renewal_due.as_deref().map(day)),
                or_dash(i.last_used.as_deref().map(day)),
                i.events_90d.to_string(),
                i.status.join(","),
            ]);
        }
        s.push_str(&table(&rows, "  "));
    }
    if !inv.exceptions.is_empty() {
        s.push_str("\nexceptions\n");
        let mut rows = vec![
            [
                "REPOSITORY",
                "ID",
                "IDENTITY",
                "ENVIRONMENTS",
                "EXPIRES",
                "DAYS",
                "REVIEW",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for x in &inv.exceptions {
            rows.push(vec![
                x.repository.clone(),
                x.id.clone(),
                x.identity.clone(),
                x.environments.join(","),
                day(&x.expires).to_owned(),
                x.days_left.to_string(),
                or_dash(x.review.as_deref()),
            ]);
        }
        s.push_str(&table(&rows, "  "));
    }
    if inv.findings.is_empty() {
        s.push_str("\nno findings\n");
    } else {
        s.push_str("\nfindings\n");
        for f in &inv.findings {
            let _ = writeln!(s, "  {}[{}]: {}", f.severity, f.code, f.message);
            let _ = writeln!(s, "      control: {}", f.control);
        }
    }
    s
}

/// A cell safe in a spreadsheet: text a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`, and tab or carriage return, first) gets a leading
/// `'`; integers are left as they are (a negative day count is no formula).
pub fn neutralise(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<i64>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
fn csv_field(cell: &str) -> String {
    let cell = neutralise(cell);
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "repository",
    "identity",
    "owner",
    "contact",
    "purpose",
    "environments",
    "classes",
    "custody",
    "key_reference",
    "key_fingerprint",
    "certificate_issuer",
    "certificate_serial",
    "certificate_not_after",
    "days_to_expiry",
    "renewal_due",
    "last_used",
    "events_90d",
    "status",
];

/// One row per identity after a header row (RFC 4180, CRLF line ends).
/// Lists inside a cell are joined with `;` (several certificates: in the
/// order the identity lists them).
pub fn csv(inv: &Inventory) -> String {
    let mut out = String::new();
    let mut row = |cells: Vec<String>| {
        let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    };
    row(CSV_COLUMNS.iter().map(|c| (*c).to_owned()).collect());
    for i in &inv.identities {
        let certs = |f: fn(&crate::inventory::model::Certificate) -> Option<&str>| {
            i.certificates
                .iter()
                .map(|c| f(c).unwrap_or(""))
                .collect::<Vec<_>>()
                .join(";")
        };
        row(vec![
            i.repository.clone(),
            i.name.clone(),
            i.owner.clone(),
            i.contact.clone().unwrap_or_default(),
            i.purpose.clone().unwrap_or_default(),
            i.environments.join(";"),
            i.classes.join(";"),
            i.custody.clone(),
            i.key_reference.clone().unwrap_or_default(),
            i.key_fingerprint.clone().unwrap_or_default(),
            certs(|c| c.issuer.as_deref()),
            certs(|c| c.serial.as_deref()),
            certs(|c| c.not_after.as_deref()),
            i.days_to_expiry.map(|d| d.to_string()).unwrap_or_default(),
            i.renewal_due.clone().unwrap_or_default(),
            i.last_used.clone().unwrap_or_default(),
            i.events_90d.to_string(),
            i.status.join(";"),
        ]);
    }
    out
}

/// A Markdown table cell: pipes escaped, no line breaks, no HTML.
fn md(cell: &str) -> String {
    cell.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\r', '\n'], " ")
}

fn md_finding(s: &mut String, f: &Finding) {
    let _ = writeln!(
        s,
        "- **{}** `{}`: {} ({})",
        f.severity,
        f.code,
        md(&f.message),
        md(&f.control)
    );
}

/// A summary table per repository, the identities, then the findings.
pub fn markdown(inv: &Inventory) -> String {
    let mut s = format!(
        "## Signing inventory\n\nAt {}: {}.\n\n",
        inv.generated_at,
        summary(inv)
    );
    s.push_str(
        "| Repository | Status | Identities | Errors | Warnings |\n|---|---|---:|---:|---:|\n",
    );
    for r in &inv.repositories {
        let count = |sev: &str| {
            inv.findings
                .iter()
                .filter(|f| {
                    f.severity == sev && f.repositories.len() == 1 && f.repositories[0] == r.path
                })
                .count()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            md(&r.path),
            md(&r.status),
            r.identities,
            count("error"),
            count("warning")
        );
    }
    if !inv.identities.is_empty() {
        s.push_str(
            "\n### Identities\n\n| Repository | Identity | Owner | Environments | Custody | Expires | Renew from | Last used | 90 d | Status |\n\
             |---|---|---|---|---|---|---|---|---:|---|\n",
        );
        for i in &inv.identities {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
                md(&i.repository),
                md(&i.name).replace('`', "'"),
                md(&i.owner),
                md(&i.environments.join(", ")),
                md(&i.custody),
                md(&expires(i)),
                md(&or_dash(i.renewal_due.as_deref().map(day))),
                md(&or_dash(i.last_used.as_deref().map(day))),
                i.events_90d,
                md(&i.status.join(", "))
            );
        }
    }
    s.push_str("\n### Findings\n\n");
    if inv.findings.is_empty() {
        s.push_str("None.\n");
    }
    for f in &inv.findings {
        md_finding(&mut s, f);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_fields_quoted() {
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "+1");
        assert_eq!(csv_field("-12"), "-12");
        assert_eq!(csv_field("-1+2"), "'-1+2");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
