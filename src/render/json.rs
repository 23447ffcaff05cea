//! JSON output. Field names are a public contract, documented in
//! `docs/json.md`; change them only with a new format version.

use serde::Serialize;

use crate::diag::{Code, Diagnostic, Severity};

/// `sigctl check --format json`.
#[derive(Debug, Serialize)]
pub struct CheckJson<'a> {
    pub ok: bool,
    pub diagnostics: Vec<DiagnosticJson<'a>>,
}

/// One finding.
#[derive(Debug, Serialize)]
pub struct DiagnosticJson<'a> {
    pub severity: Severity,
    pub code: Code,
    pub message: &'a str,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
}

impl<'a> From<&'a Diagnostic> for DiagnosticJson<'a> {
    fn from(d: &'a Diagnostic) -> Self {
        Self {
            severity: d.severity,
            code: d.code,
            message: &d.message,
            file: &d.file,
            line: d.line,
            column: d.column,
        }
    }
}

/// Render a check report as pretty JSON with a trailing newline.
pub fn check(ok: bool, diags: &[Diagnostic]) -> String {
    let doc = CheckJson {
        ok,
        diagnostics: diags.iter().map(DiagnosticJson::from).collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|_| "{\"ok\": false, \"diagnostics\": []}".to_owned());
    s.push('\n');
    s
}
