//! Human output: one miette report per diagnostic, with a snippet of the
//! policy and a label under the offending key or value.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use crate::diag::{Diagnostic, Severity, SourceFile};

struct Report<'a> {
    diag: &'a Diagnostic,
    source: Option<NamedSource<String>>,
    url: String,
    /// The diagnostic's span in `source` (moved when a long line is clipped).
    span: Option<std::ops::Range<usize>>,
}

/// Lines longer than this are shown as a window around the finding.
const MAX_LINE: usize = 160;
/// How much of a clipped line is shown before the finding.
const LEAD: usize = 40;

/// When the finding's line or a context line is longer than `MAX_LINE`
/// bytes: the text with every line before the context kept empty (so line
/// numbers hold), the context lines clipped to a window marked with `…`,
/// and the span moved into it. `None` when every shown line is short.
fn clip_long_lines(
    text: &str,
    span: std::ops::Range<usize>,
) -> Option<(String, std::ops::Range<usize>)> {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let prev = (line_start > 0).then(|| {
        let end = line_start - 1;
        let begin = text[..end].rfind('\n').map_or(0, |i| i + 1);
        begin..end
    });
    let next = (line_end < text.len()).then(|| {
        let begin = line_end + 1;
        begin..text[begin..].find('\n').map_or(text.len(), |i| begin + i)
    });
    let long = |r: &std::ops::Range<usize>| r.len() > MAX_LINE;
    if !long(&(line_start..line_end))
        && !prev.as_ref().is_some_and(long)
        && !next.as_ref().is_some_and(long)
    {
        return None;
    }
    let floor = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let mut out = String::new();
    let first_shown = prev.as_ref().map_or(line_start, |p| p.start);
    out.extend(std::iter::repeat_n(
        '\n',
        text[..first_shown].matches('\n').count(),
    ));
    let head = |r: &std::ops::Range<usize>, out: &mut String| {
        let end = floor(r.end.min(r.start + MAX_LINE));
        out.push_str(&text[r.start..end]);
        if end < r.end {
            out.push('…');
        }
    };
    if let Some(p) = &prev {
        head(p, &mut out);
        out.push('\n');
    }
    let from = floor(start.saturating_sub(LEAD).max(line_start));
    let to = floor(line_end.min(from + MAX_LINE));
    if from > line_start {
        out.push('…');
    }
    let new_start = out.len() + (start - from);
    out.push_str(&text[from..to]);
    let new_end = new_start + span.end.min(to).saturating_sub(start);
    if to < line_end {
        out.push('…');
    }
    if let Some(n) = &next {
        out.push('\n');
        head(n, &mut out);
    }
    Some((out, new_start..new_end))
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.url))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span.clone()?;
        self.source.as_ref()?;
        let label = (!self.diag.label.is_empty()).then(|| self.diag.label.clone());
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            label, span,
        ))))
    }
}

/// Render diagnostics as miette reports without colour (stable for snapshots
/// and for logs); `sources` gives the text of files whose snippets may be
/// shown (already redacted). A diagnostic without a span, or whose file is
/// not among `sources`, gets a `file:line:column` line instead of a snippet.
pub fn diagnostics(diags: &[Diagnostic], sources: &[SourceFile], width: usize) -> String {
    render(diags, sources, width, GraphicalTheme::unicode_nocolor())
}

/// As `diagnostics`, in colour for a terminal.
pub fn diagnostics_colored(diags: &[Diagnostic], sources: &[SourceFile], width: usize) -> String {
    render(diags, sources, width, GraphicalTheme::unicode())
}

fn render(
    diags: &[Diagnostic],
    sources: &[SourceFile],
    width: usize,
    theme: GraphicalTheme,
) -> String {
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_context_lines(1);
    let mut out = String::new();
    for d in diags {
        let file = d
            .span
            .as_ref()
            .and_then(|_| sources.iter().find(|s| s.name == d.file));
        // a long line is shown as a window around the finding (miette pads
        // with format widths, which stop at 65,535)
        let window = file
            .zip(d.span.clone())
            .and_then(|(f, span)| clip_long_lines(&f.text, span));
        let source = file.map(|s| {
            let text = window
                .as_ref()
                .map_or_else(|| s.text.clone(), |w| w.0.clone());
            NamedSource::new(s.name.clone(), text)
        });
        let url = if source.is_some() {
            d.code.to_string()
        } else {
            format!("{} ({}:{}:{})", d.code, d.file, d.line, d.column)
        };
        let report = Report {
            diag: d,
            source,
            url,
            span: window.map(|w| w.1).or_else(|| d.span.clone()),
        };
        let mut one = String::new();
        if handler.render_report(&mut one, &report).is_err() {
            one = format!(
                "{}: {} at {}:{}:{}\n",
                d.code, d.message, d.file, d.line, d.column
            );
        }
        // miette counts columns in bytes of what it was given; sigctl (and
        // its JSON) in characters of the file
        if let (Some(src), Some(span)) = (&report.source, &report.span) {
            let text = src.inner().as_bytes();
            let at = span.start.min(text.len());
            let shown = at - memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1) + 1;
            if shown != d.column {
                one = one.replacen(
                    &format!("[{}:{}:{shown}]", d.file, d.line),
                    &format!("[{}:{}:{}]", d.file, d.line, d.column),
                    1,
                );
            }
        }
        out.push_str(&one);
        out.push('\n');
    }
    out
}

/// The closing line: counts of errors and warnings.
pub fn summary(diags: &[Diagnostic], file: &str) -> String {
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    match (errors, warnings) {
        (0, 0) => format!("{file}: ok"),
        _ => format!(
            "{file}: {errors} {}, {warnings} {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        ),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// `sigctl verify` for a terminal: a summary line, then one line per failure.
pub fn verify(report: &crate::verify::VerifyReport) -> String {
    use crate::verify::Verdict;
    let mut s = String::new();
    for w in &report.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    let total = report.results.len();
    let valid = report.count(Verdict::Valid);
    let from = match (&report.trust_root, &report.policy) {
        (Some(root), None) => format!("from trust root {}", &root[..12.min(root.len())]),
        (Some(root), Some(p)) => {
            format!("from {} against policy {p}", &root[..12.min(root.len())])
        }
        (None, Some(p)) => format!("over the whole history against policy {p}"),
        (None, None) => "over the whole history".to_owned(),
    };
    s.push_str(&format!(
        "{}: {valid} of {total} objects valid ({} invalid, {} unsigned) {from}\n",
        if report.ok() { "ok" } else { "FAILED" },
        report.count(Verdict::Invalid),
        report.count(Verdict::Unsigned),
    ));
    for r in report
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Valid)
    {
        let kind = match r.kind {
            crate::verify::Kind::Commit => "commit",
            crate::verify::Kind::Tag => "tag",
        };
        s.push_str(&format!(
            "  {} {kind} {}: {}\n",
            r.object.to_hex_with_len(12),
            r.reason.as_str(),
            r.message
        ));
    }
    s
}

/// `sigctl verify-artifact`, verified: the first line names the artefact,
/// its SHA-256 and the signer; then the time the certificate was judged at
/// and its source, what was checked, and notes.
pub fn verify_artifact(name: &str, v: &crate::sign::verify_artifact::VerifiedArtifact) -> String {
    use crate::sign::verify_artifact::{Content, Signer, TimeSource};
    let ts = |t: time::OffsetDateTime| crate::policy::timestamp::Timestamp(t).to_string();
    let signer = match (&v.identity, &v.signer) {
        (Some(id), Signer::Keyless { san, issuer }) => {
            format!("identity `{id}` ({san}, issuer {issuer})")
        }
        (Some(id), signer) => format!("identity `{id}` ({signer})"),
        (None, signer) => signer.to_string(),
    };
    let mut s = format!("OK: {name} (sha256 {}) signed by {signer}\n", v.sha256);
    if let Content::InToto { subject } = &v.content {
        if subject.is_empty() {
            s.push_str(
                "content: an in-toto statement (DSSE) with a subject of the artefact's digest\n",
            );
        } else {
            s.push_str(&format!(
                "content: an in-toto statement (DSSE); its subject `{subject}` has the artefact's digest\n"
            ));
        }
    }
    if v.time_source == TimeSource::None {
        s.push_str(&format!("time: {}\n", TimeSource::None.as_str()));
    } else {
        let mut shown = Vec::new();
        for src in [TimeSource::Rfc3161, TimeSource::Rekor] {
            if let Some(t) = v
                .times
                .iter()
                .filter(|(s, _)| *s == src)
                .map(|(_, t)| *t)
                .min()
            {
                shown.push(format!("{} ({})", ts(t), src.as_str()));
            }
        }
        s.push_str(&format!("time: {}\n", shown.join(", ")));
    }
    if !v.checked.is_empty() {
        s.push_str(&format!("checked: {}\n", v.checked.join("; ")));
    }
    for n in &v.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}
