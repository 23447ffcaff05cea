//! The building blocks of sigctl's HTML reports (`inventory --format html`,
//! `audit --format html`): one self-contained page, escaped text, a renewal
//! timeline in inline SVG, and the tables both reports share.
//!
//! Every string that comes from a policy or a repository goes through
//! [`esc`]; only `http(s)` URLs become links ([`link_or_text`]). The page
//! holds no script and loads nothing: its Content-Security-Policy allows
//! only the inline style sheet (by hash), and no element has a `src`,
//! `style` attribute or external `href`. Output is a function of the input
//! alone (no clock, no map iteration order), so snapshots hold. Never does
//! IO.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

/// The page's only style sheet, allowed by its hash in the CSP.
pub const CSS: &str = "\
:root{color-scheme:light;--ok:#3f8f5a;--due:#d08a00;--bad:#b3261e;--muted:#666;--line:#d8d8d8}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0;padding:24px 32px;color:#1d1d1f;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
p.meta{color:var(--muted);margin:0 0 8px}
ul.summary{list-style:none;padding:0;margin:8px 0;display:flex;flex-wrap:wrap;gap:8px}
ul.summary li{border:1px solid var(--line);border-radius:6px;padding:4px 10px}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid var(--line)}
th{font-weight:600;background:#f5f5f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.date,td.num{white-space:nowrap}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.badge{display:inline-block;border-radius:4px;padding:0 6px;margin:0 2px 2px 0;font-size:12px;background:#eee}
.badge.error,.badge.expired,.badge.revoked,.badge.shadow-key{background:#fbe3e1;color:var(--bad)}
.badge.warning,.badge.renewal-due,.badge.renew-due,.badge.unused{background:#fdf0d5;color:#7a5200}
.badge.ok,.badge.valid{background:#e3f1e7;color:#24623a}
tr.overdue td{background:#fbe3e1}
tr.overdue td.days{color:var(--bad);font-weight:600}
tr.error td.severity{color:var(--bad);font-weight:600}
tr.warning td.severity{color:#7a5200;font-weight:600}
.timeline{overflow-x:auto}
svg.timeline{display:block;font:11px system-ui,sans-serif}
svg .tick{stroke:var(--line)}
svg .tick-label{fill:var(--muted)}
svg .row-label{fill:#1d1d1f}
svg .cert-bar{fill:var(--ok)}
svg .cert-bar[data-status=renewal-due]{fill:var(--due)}
svg .cert-bar[data-status=expired]{fill:var(--bad)}
svg .cert-bar[data-status=not-yet-valid]{fill:#8a8fb8}
svg .renew-window{fill:#000;fill-opacity:.22}
svg .today{stroke:#1d1d1f;stroke-width:1.5;stroke-dasharray:4 3}
svg .today-label{fill:#1d1d1f;font-weight:600}
.legend span{display:inline-block;margin-right:14px;color:var(--muted)}
.legend i{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}
.legend i.valid{background:var(--ok)}.legend i.due{background:var(--due)}.legend i.expired{background:var(--bad)}
.legend i.window{background:repeating-linear-gradient(90deg,var(--ok) 0 3px,#2c6440 3px 6px)}
.legend i.today{border-left:2px dashed #1d1d1f;width:2px}
.empty{color:var(--muted)}
";

/// The Content-Security-Policy: nothing may load, no script may run; the
/// one inline style sheet is allowed by its SHA-256.
pub fn csp() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(CSS));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; font-src 'none'; \
         connect-src 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// `s` with `& < > " '` escaped: safe in text and in quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_esc(&mut out, s);
    out
}

/// Append `s`, escaped, to `out`.
pub fn push_esc(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// Whether `url` may become a link: `http://` or `https://` and nothing a
/// browser would strip or reinterpret (whitespace, controls). Anything else
/// (`javascript:`, `data:`, relative paths) stays text.
pub fn linkable(url: &str) -> bool {
    let lower = url
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A link when [`linkable`], else escaped text.
pub fn link_or_text(out: &mut String, s: &str) {
    if linkable(s) {
        out.push_str("<a href=\"");
        push_esc(out, s);
        out.push_str("\" rel=\"noopener noreferrer\">");
        push_esc(out, s);
        out.push_str("</a>");
    } else {
        push_esc(out, s);
    }
}

/// The whole page: `title` (escaped) and `body` (already HTML).
pub fn document(title: &str, body: &str) -> String {
    let mut s = String::with_capacity(body.len() + CSS.len() + 1024);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        s,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        esc(&csp())
    );
    s.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        s,
        "<meta name=\"generator\" content=\"sigctl {}\">",
        env!("CARGO_PKG_VERSION")
    );
    s.push_str("<title>");
    push_esc(&mut s, title);
    s.push_str("</title>\n<style>");
    s.push_str(CSS);
    s.push_str("</style>\n</head>\n<body>\n");
    s.push_str(body);
    s.push_str("</body>\n</html>\n");
    s
}

/// An RFC 3339 time, or `None`.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).ok()
}

/// `YYYY-MM-DD` of an RFC 3339 time, or the text as it is.
pub fn day(s: &str) -> String {
    match parse_time(s) {
        Some(t) => t.to_offset(time::UtcOffset::UTC).date().to_string(),
        None => s.to_owned(),
    }
}

/// One certificate of the timeline.
#[derive(Debug, Clone)]
pub struct Bar<'a> {
    pub identity: &'a str,
    /// The certificate's path (or another name for it).
    pub certificate: &'a str,
    /// The repository, when the report spans several.
    pub repository: Option<&'a str>,
    pub not_before: Option<&'a str>,
    pub not_after: Option<&'a str>,
    pub renew_from: Option<&'a str>,
    pub status: &'a str,
}

const WIDTH: f64 = 1100.0;
const LABEL: f64 = 300.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 34.0;
const ROW: f64 = 20.0;
const BAR: f64 = 12.0;
const MAX_LABEL_CHARS: usize = 46;

/// Months since year 0 of a date's month.
fn month_index(d: Date) -> i64 {
    i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1
}

fn month_start(index: i64) -> Option<OffsetDateTime> {
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    Some(
        Date::from_calendar_date(year, month, 1)
            .ok()?
            .midnight()
            .assume_utc(),
    )
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// The renewal timeline: one `rect.cert-bar` per certificate with both
/// dates (from not-before to not-after), its renewal window (renew-from to
/// not-after) shaded as a `rect.renew-window`, a dashed line for `today`,
/// ticks by month (or by a multiple of months on long spans). Certificates
/// without dates are listed under it, not drawn. Sorted by expiry.
pub fn timeline(out: &mut String, bars: &[Bar<'_>], today: &str) {
    let now = parse_time(today);
    let mut drawn = Vec::with_capacity(bars.len());
    let mut undated = Vec::new();
    for b in bars {
        match (
            b.not_before.and_then(parse_time),
            b.not_after.and_then(parse_time),
        ) {
            (Some(nb), Some(na)) if nb <= na => {
                drawn.push((b, nb, na, b.renew_from.and_then(parse_time)))
            }
            _ => undated.push(b),
        }
    }
    drawn.sort_by(|a, b| {
        (a.2, a.0.identity, a.0.repository, a.0.certificate).cmp(&(
            b.2,
            b.0.identity,
            b.0.repository,
            b.0.certificate,
        ))
    });
    out.push_str("<div class=\"timeline\">\n");
    if drawn.is_empty() {
        out.push_str("<p class=\"empty\">No certificate with a validity period to draw.</p>\n");
    } else {
        svg(out, &drawn, now);
        out.push_str(
            "<p class=\"legend\"><span><i class=\"valid\"></i>valid</span><span><i class=\"due\"></i>renewal due</span>\
             <span><i class=\"expired\"></i>expired</span><span><i class=\"window\"></i>renewal window (shaded)</span>\
             <span><i class=\"today\"></i>today</span></p>\n",
        );
    }
    out.push_str("</div>\n");
    if !undated.is_empty() {
        out.push_str("<p>Certificates without a readable validity period (not drawn):</p>\n<ul class=\"undated\">\n");
        for b in undated {
            out.push_str("<li><code>");
            push_esc(out, b.identity);
            out.push_str("</code>: ");
            push_esc(out, b.certificate);
            if let Some(r) = b.repository {
                out.push_str(" in ");
                push_esc(out, r);
            }
            out.push_str(" <span class=\"badge ");
            push_esc(out, b.status);
            out.push_str("\">");
            push_esc(out, b.status);
            out.push_str("</span></li>\n");
        }
        out.push_str("</ul>\n");
    }
}

type Drawn<'b, 'a> = (
    &'b Bar<'a>,
    OffsetDateTime,
    OffsetDateTime,
    Option<OffsetDateTime>,
);

fn svg(out: &mut String, drawn: &[Drawn<'_, '_>], now: Option<OffsetDateTime>) {
    let mut lo = drawn
        .iter()
        .map(|d| d.1)
        .min()
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut hi = drawn
        .iter()
        .map(|d| d.2)
        .max()
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    if let Some(n) = now {
        lo = lo.min(n);
        hi = hi.max(n);
    }
    let first = month_index(lo.to_offset(time::UtcOffset::UTC).date());
    let last = month_index(hi.to_offset(time::UtcOffset::UTC).date()) + 1;
    let (Some(start), Some(end)) = (month_start(first), month_start(last)) else {
        return;
    };
    let months = (last - first).max(1);
    let step = [1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200]
        .into_iter()
        .find(|s| months / s <= 14)
        .unwrap_or(months);
    let span = (end - start).as_seconds_f64().max(1.0);
    let x = |t: OffsetDateTime| -> f64 {
        LABEL + ((t - start).as_seconds_f64() / span).clamp(0.0, 1.0) * (WIDTH - LABEL - RIGHT)
    };
    let height = TOP + ROW * drawn.len() as f64 + 8.0;
    let _ = writeln!(
        out,
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"certificate renewal timeline\">"
    );
    // month ticks, aligned on multiples of the step (January for years)
    let mut m = if step < 12 {
        first
    } else {
        first + (step - first.rem_euclid(step)) % step
    };
    while m <= last {
        if let Some(t) = month_start(m) {
            let tx = x(t);
            let label = if step < 12 {
                format!("{}-{:02}", t.year(), u8::from(t.month()))
            } else {
                t.year().to_string()
            };
            let _ = writeln!(
                out,
                "<line class=\"tick\" x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\"/>\
                 <text class=\"tick-label\" x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
                TOP - 6.0,
                height - 4.0,
                TOP - 10.0
            );
        }
        m += step;
    }
    for (row, (b, nb, na, renew)) in drawn.iter().enumerate() {
        let y = TOP + ROW * row as f64;
        let by = y + (ROW - BAR) / 2.0;
        let label = match b.repository {
            Some(r) => format!("{} · {} ({})", b.identity, b.certificate, r),
            None => format!("{} · {}", b.identity, b.certificate),
        };
        out.push_str("<text class=\"row-label\" x=\"");
        let _ = write!(
            out,
            "{:.1}\" y=\"{:.1}\" text-anchor=\"end\">",
            LABEL - 8.0,
            y + ROW / 2.0 + 4.0
        );
        push_esc(out, &truncate(&label, MAX_LABEL_CHARS));
        out.push_str("<title>");
        push_esc(out, &label);
        out.push_str("</title></text>\n");
        let (x0, x1) = (x(*nb), x(*na));
        out.push_str("<rect class=\"cert-bar\" data-identity=\"");
        push_esc(out, b.identity);
        out.push_str("\" data-certificate=\"");
        push_esc(out, b.certificate);
        out.push_str("\" data-status=\"");
        push_esc(out, b.status);
        let _ = write!(
            out,
            "\" x=\"{x0:.1}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{BAR}\" rx=\"2\"><title>",
            (x1 - x0).max(1.0)
        );
        push_esc(out, &label);
        let _ = write!(out, ": {} to {}", nb.date(), na.date());
        if let Some(r) = renew {
            let _ = write!(out, ", renew from {}", r.date());
        }
        out.push_str(" (");
        push_esc(out, b.status);
        out.push_str(")</title></rect>\n");
        if let Some(r) = renew {
            let r = (*r).clamp(*nb, *na);
            let rx = x(r);
            let _ = writeln!(
                out,
                "<rect class=\"renew-window\" x=\"{rx:.1}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{BAR}\"/>",
                (x1 - rx).max(0.0)
            );
        }
    }
    if let Some(n) = now {
        let nx = x(n);
        let _ = writeln!(
            out,
            "<line class=\"today\" x1=\"{nx:.1}\" y1=\"{:.1}\" x2=\"{nx:.1}\" y2=\"{:.1}\"/>\
             <text class=\"today-label\" x=\"{nx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">today {}</text>",
            TOP - 4.0,
            height - 2.0,
            TOP - 22.0,
            n.date()
        );
    }
    out.push_str("</svg>\n");
}

/// One identity, as the "by owner and environment" tables show it.
#[derive(Debug, Clone)]
pub struct IdentityRow<'a> {
    pub repository: Option<&'a str>,
    pub name: &'a str,
    pub owner: &'a str,
    pub contact: Option<&'a str>,
    pub environments: &'a [String],
    pub custody: &'a str,
    /// The certificate's state and expiry, already worded.
    pub certificate: String,
    pub last_used: Option<&'a str>,
    pub status: Vec<&'a str>,
}

/// Identities grouped by owner (a heading each, with the owner's contact),
/// then by environment (an identity in two environments is in both groups;
/// one in none under "(no environment)"). Groups sorted by name; identities
/// keep their order within a group.
pub fn identities_by_owner(out: &mut String, rows: &[IdentityRow<'_>]) {
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">No identities.</p>\n");
        return;
    }
    type Group<'r, 'a> = (usize, BTreeMap<&'r str, Vec<&'r IdentityRow<'a>>>);
    let mut owners: BTreeMap<&str, Group<'_, '_>> = BTreeMap::new();
    for r in rows {
        let (count, envs) = owners.entry(r.owner).or_default();
        *count += 1;
        if r.environments.is_empty() {
            envs.entry("(no environment)").or_default().push(r);
        }
        for e in r.environments {
            envs.entry(e.as_str()).or_default().push(r);
        }
    }
    let multi_repo = rows
        .iter()
        .any(|r| r.repository.is_some() && r.repository != rows[0].repository);
    for (owner, (count, envs)) in owners {
        out.push_str("<section class=\"owner\">\n<h3>Owner ");
        push_esc(out, owner);
        if let Some(c) = envs.values().flatten().find_map(|r| r.contact) {
            out.push_str(" <span class=\"meta\">(");
            link_or_text(out, c);
            out.push_str(")</span>");
        }
        let _ = writeln!(
            out,
            " <span class=\"badge\">{count} identit{}</span></h3>",
            if count == 1 { "y" } else { "ies" }
        );
        out.push_str("<table>\n<thead><tr><th>environment</th><th>identity</th>");
        if multi_repo {
            out.push_str("<th>repository</th>");
        }
        out.push_str("<th>custody</th><th>certificate</th><th>last used</th><th>status</th></tr></thead>\n<tbody>\n");
        for (env, ids) in envs {
            for (i, r) in ids.iter().enumerate() {
                out.push_str("<tr><td>");
                if i == 0 {
                    out.push_str("<strong>");
                    push_esc(out, env);
                    out.push_str("</strong>");
                }
                out.push_str("</td><td><code>");
                push_esc(out, r.name);
                out.push_str("</code></td>");
                if multi_repo {
                    out.push_str("<td>");
                    push_esc(out, r.repository.unwrap_or(""));
                    out.push_str("</td>");
                }
                out.push_str("<td>");
                push_esc(out, r.custody);
                out.push_str("</td><td>");
                push_esc(out, &r.certificate);
                out.push_str("</td><td>");
                push_esc(out, r.last_used.map_or("never".to_owned(), day).as_str());
                out.push_str("</td><td>");
                badges(out, &r.status);
                out.push_str("</td></tr>\n");
            }
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }
}

/// `<span class="badge WORD">WORD</span>` for each word.
pub fn badges(out: &mut String, words: &[&str]) {
    for w in words {
        out.push_str("<span class=\"badge ");
        push_esc(out, w);
        out.push_str("\">");
        push_esc(out, w);
        out.push_str("</span>");
    }
}

/// One exception.
#[derive(Debug, Clone)]
pub struct ExceptionRow<'a> {
    pub repository: Option<&'a str>,
    pub id: &'a str,
    pub identity: &'a str,
    pub environments: &'a [String],
    pub owner: &'a str,
    pub approved_by: &'a [String],
    pub reason: &'a str,
    pub expires: &'a str,
    pub days_left: i64,
    pub review: Option<&'a str>,
}

/// Exceptions, the most urgent first; an overdue one (days left < 0) is a
/// highlighted `tr.overdue`.
pub fn exceptions(out: &mut String, rows: &[ExceptionRow<'_>]) {
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">No exceptions.</p>\n");
        return;
    }
    let mut sorted: Vec<&ExceptionRow<'_>> = rows.iter().collect();
    sorted.sort_by_key(|r| r.days_left);
    let multi_repo = rows.iter().any(|r| r.repository.is_some());
    out.push_str("<table class=\"exceptions\">\n<thead><tr><th>id</th>");
    if multi_repo {
        out.push_str("<th>repository</th>");
    }
    out.push_str("<th>identity</th><th>environments</th><th>owner</th><th>approved by</th><th>reason</th><th>expires</th><th>days left</th><th>review</th></tr></thead>\n<tbody>\n");
    for r in sorted {
        out.push_str(if r.days_left < 0 {
            "<tr class=\"overdue\"><td>"
        } else {
            "<tr><td>"
        });
        push_esc(out, r.id);
        out.push_str("</td>");
        if multi_repo {
            out.push_str("<td>");
            push_esc(out, r.repository.unwrap_or(""));
            out.push_str("</td>");
        }
        out.push_str("<td><code>");
        push_esc(out, r.identity);
        out.push_str("</code></td><td>");
        push_esc(out, &r.environments.join(", "));
        out.push_str("</td><td>");
        push_esc(out, r.owner);
        out.push_str("</td><td>");
        push_esc(out, &r.approved_by.join(", "));
        out.push_str("</td><td>");
        push_esc(out, r.reason);
        out.push_str("</td><td class=\"date\">");
        push_esc(out, &day(r.expires));
        out.push_str("</td><td class=\"num days\">");
        if r.days_left < 0 {
            let _ = write!(out, "overdue by {} days", -r.days_left);
        } else {
            let _ = write!(out, "{}", r.days_left);
        }
        out.push_str("</td><td>");
        match r.review {
            Some(v) => link_or_text(out, v),
            None => out.push('-'),
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// One finding.
#[derive(Debug, Clone)]
pub struct FindingRow<'a> {
    pub severity: &'a str,
    pub code: &'a str,
    pub message: &'a str,
    /// Repositories and identities it names, already joined.
    pub about: String,
    pub control: &'a str,
}

/// Findings, errors first, each with its code and the control it touches.
pub fn findings(out: &mut String, rows: &[FindingRow<'_>]) {
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">No findings.</p>\n");
        return;
    }
    let mut sorted: Vec<&FindingRow<'_>> = rows.iter().collect();
    sorted.sort_by_key(|r| r.severity != "error");
    let about = rows.iter().any(|r| !r.about.is_empty());
    out.push_str(
        "<table class=\"findings\">\n<thead><tr><th>severity</th><th>code</th><th>finding</th>",
    );
    if about {
        out.push_str("<th>about</th>");
    }
    out.push_str("<th>control</th></tr></thead>\n<tbody>\n");
    for r in sorted {
        out.push_str("<tr class=\"");
        push_esc(out, r.severity);
        out.push_str("\"><td class=\"severity\">");
        push_esc(out, r.severity);
        out.push_str("</td><td><code>");
        push_esc(out, r.code);
        out.push_str("</code></td><td>");
        push_esc(out, r.message);
        out.push_str("</td>");
        if about {
            out.push_str("<td>");
            push_esc(out, &r.about);
            out.push_str("</td>");
        }
        out.push_str("<td>");
        push_esc(out, r.control);
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// `<ul class="summary">` of `(count, what)` pairs.
pub fn summary(out: &mut String, items: &[(usize, &str)]) {
    out.push_str("<ul class=\"summary\">");
    for (n, what) in items {
        let _ = write!(out, "<li><strong>{n}</strong> ");
        push_esc(out, what);
        out.push_str("</li>");
    }
    out.push_str("</ul>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        let hostile = "</script><img src=x onerror=alert(1)>\"' &amp;";
        let e = esc(hostile);
        assert_eq!(
            e,
            "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39; &amp;amp;"
        );
        assert!(!e.contains(['<', '>', '"', '\'']));
    }

    #[test]
    fn only_http_urls_are_links() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>",
            "https://example.com/a b",
            "https://example.com/\nx",
            "//evil.example",
            "vbscript:x",
        ] {
            let mut out = String::new();
            link_or_text(&mut out, bad);
            assert!(!out.contains("<a"), "{bad:?} became a link: {out}");
        }
        let mut out = String::new();
        link_or_text(&mut out, "https://example.com/?a=1&b=\"2\"");
        assert_eq!(
            out,
            "<a href=\"https://example.com/?a=1&amp;b=&quot;2&quot;\" rel=\"noopener noreferrer\">https://example.com/?a=1&amp;b=&quot;2&quot;</a>"
        );
    }

    #[test]
    fn the_csp_forbids_loads_and_allows_the_style_sheet_by_hash() {
        let page = document("t", "");
        let csp = csp();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!csp.contains("unsafe"));
        assert!(page.contains(&esc(&csp)));
        // the only tags that could load or run something are absent
        for tag in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
            assert!(!page.contains(tag), "{tag}");
        }
    }

    fn bar<'a>(id: &'a str, nb: Option<&'a str>, na: Option<&'a str>) -> Bar<'a> {
        Bar {
            identity: id,
            certificate: "certs/x.pem",
            repository: None,
            not_before: nb,
            not_after: na,
            renew_from: na.map(|_| "2026-10-01T00:00:00Z"),
            status: "valid",
        }
    }

    #[test]
    fn the_timeline_draws_dated_certificates_and_lists_the_rest() {
        let bars = [
            bar(
                "a",
                Some("2026-01-01T00:00:00Z"),
                Some("2026-12-01T00:00:00Z"),
            ),
            bar("b", None, Some("2026-12-01T00:00:00Z")),
            bar(
                "c",
                Some("2025-06-01T00:00:00Z"),
                Some("2026-03-01T00:00:00Z"),
            ),
        ];
        let mut out = String::new();
        timeline(&mut out, &bars, "2026-11-01T12:00:00Z");
        assert_eq!(out.matches("<rect class=\"cert-bar\"").count(), 2);
        assert_eq!(out.matches("<rect class=\"renew-window\"").count(), 2);
        assert_eq!(out.matches("<line class=\"today\"").count(), 1);
        assert!(out.contains("today 2026-11-01"));
        // sorted by expiry: c before a
        assert!(out.find("data-identity=\"c\"") < out.find("data-identity=\"a\""));
        assert!(out.contains("<ul class=\"undated\">\n<li><code>b</code>"));
        // monthly ticks over 19 months: every second month
        assert!(
            out.contains(">2025-06<") && out.contains(">2026-12<"),
            "{out}"
        );
    }

    #[test]
    fn ticks_stay_few_on_long_spans() {
        let bars = [bar(
            "a",
            Some("1990-01-01T00:00:00Z"),
            Some("2099-12-31T00:00:00Z"),
        )];
        let mut out = String::new();
        timeline(&mut out, &bars, "2026-11-01T12:00:00Z");
        assert!(out.matches("class=\"tick\"").count() <= 15);
    }
}
