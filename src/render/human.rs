//! Human output: one miette report per diagnostic, with a snippet of the
//! policy and a label under the offending key or value.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use crate::diag::{Diagnostic, Severity, SourceFile};

struct Report<'a> {
    diag: &'a Diagnostic,
    source: Option<NamedSource<String>>,
    url: String,
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
        let span = self.diag.span.clone()?;
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
        let source = file.map(|s| NamedSource::new(s.name.clone(), s.text.clone()));
        let url = if source.is_some() {
            d.code.to_string()
        } else {
            format!("{} ({}:{}:{})", d.code, d.file, d.line, d.column)
        };
        let report = Report {
            diag: d,
            source,
            url,
        };
        let mut one = String::new();
        if handler.render_report(&mut one, &report).is_err() {
            one = format!(
                "{}: {} at {}:{}:{}\n",
                d.code, d.message, d.file, d.line, d.column
            );
        }
        // miette counts columns in bytes; sigctl (and its JSON) in characters
        if let (Some(f), Some(span)) = (file, &d.span) {
            let bytes = f.byte_column(span.start);
            if bytes != d.column {
                one = one.replacen(
                    &format!("[{}:{}:{bytes}]", d.file, d.line),
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
    s.push_str(&format!(
        "{}: {valid} of {total} objects valid ({} invalid, {} unsigned) from trust root {}\n",
        if report.ok() { "ok" } else { "FAILED" },
        report.count(Verdict::Invalid),
        report.count(Verdict::Unsigned),
        &report.trust_root[..12.min(report.trust_root.len())]
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
