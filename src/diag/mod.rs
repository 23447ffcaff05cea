//! Findings as data: a code, a severity, a message, where, and how to fix it.
//!
//! Pure: no IO, no printing. `render` turns these into miette reports or JSON.

pub mod code;
pub mod source_map;

use std::ops::Range;

pub use code::Code;
use serde::Serialize;
pub use source_map::SourceFile;

/// How bad a finding is. Errors fail `check`; warnings fail it only with `--deny-warnings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, located in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// File name as shown to the user.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// Byte span in the file's `SourceFile`, when the report carries its text.
    pub span: Option<Range<usize>>,
    /// The text under the span.
    pub label: String,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A finding at a span of a source file the report keeps.
    pub fn at(
        code: Code,
        src: &SourceFile,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = src.line_col(span.start);
        Self {
            code,
            severity: code.severity(),
            message: message.into(),
            file: src.name.clone(),
            line,
            column,
            span: Some(span),
            label: String::new(),
            help: None,
        }
    }

    /// A finding at a line and column of a file whose text is not shown (it may hold a secret).
    pub fn at_line(
        code: Code,
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code,
            severity: code.severity(),
            message: message.into(),
            file: file.into(),
            line,
            column,
            span: None,
            label: String::new(),
            help: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// The same finding at another severity (a check that could not be made
    /// is a warning where the finding itself would be an error).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}
