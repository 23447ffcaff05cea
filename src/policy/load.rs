//! Phase one: bytes of `signing.toml` → `RawPolicy`, or a diagnostic that
//! points at the offending byte.
//!
//! Pure: the caller reads the file (with the size cap) and hands the bytes in.

use super::raw::RawPolicy;
use crate::diag::{Code, Diagnostic, SourceFile};
use crate::lifecycle::shadow_keys;

/// Policies larger than this are refused unread: no real policy comes near it.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

/// The outcome of parsing: the (redacted) source for rendering, and the
/// model or the one diagnostic that stopped parsing.
#[derive(Debug)]
pub struct Parsed {
    pub source: SourceFile,
    pub result: Result<RawPolicy, Diagnostic>,
}

/// Parse `bytes` read from `name`.
pub fn parse(name: &str, bytes: &[u8]) -> Parsed {
    if bytes.len() > MAX_POLICY_BYTES {
        let source = SourceFile::new(name, "");
        // no snippet: there is nothing useful to show of a file this size
        let d = Diagnostic::at_line(
            Code::FileTooLarge,
            name,
            1,
            1,
            format!("{name} is larger than the {MAX_POLICY_BYTES} byte limit for a policy"),
        )
        .label("file starts here")
        .help("a signing policy is a few kilobytes; check that the right file is at the repository root");
        return Parsed {
            source,
            result: Err(d),
        };
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let lossy = String::from_utf8_lossy(bytes);
            let source = SourceFile::new(name, shadow_keys::redact(&lossy));
            // the lossy text has the same bytes up to the first invalid one
            let at = e.valid_up_to();
            let d = Diagnostic::at(
                Code::InvalidUtf8,
                &source,
                at..at + 1,
                format!("{name} is not valid UTF-8"),
            )
            .label("invalid byte sequence here")
            .help("save the file as UTF-8");
            return Parsed {
                source,
                result: Err(d),
            };
        }
    };
    let mut source = SourceFile::new(name, shadow_keys::redact(text));
    let result = toml::from_str::<RawPolicy>(text).map_err(|e| toml_error(&source, &e));
    if let Ok(raw) = &result {
        source = mask_pins(source, raw);
    }
    Parsed { source, result }
}

/// Mask every `key` value whose decoded text carries a PIN: the raw text may
/// spell it with TOML escapes that text-level redaction cannot see.
fn mask_pins(source: SourceFile, raw: &RawPolicy) -> SourceFile {
    let spans: Vec<_> = raw
        .identities
        .values()
        .filter_map(|id| id.key.as_ref())
        .filter(|k| k.get().to_ascii_lowercase().contains("pin-value"))
        .map(|k| k.span())
        .collect();
    if spans.is_empty() {
        return source;
    }
    let mut bytes = source.text.into_bytes();
    for span in spans {
        // keep the quotes, mask what is between them
        let inner = span.start.saturating_add(1)..span.end.saturating_sub(1);
        for b in bytes.get_mut(inner).into_iter().flatten() {
            if !matches!(*b, b'\n' | b'\r') {
                *b = b'*';
            }
        }
    }
    // multi-byte characters inside the span became several `*`: still valid UTF-8
    SourceFile::new(source.name, String::from_utf8_lossy(&bytes).into_owned())
}

fn toml_error(source: &SourceFile, e: &toml::de::Error) -> Diagnostic {
    let message = e.message().trim().to_owned();
    let (code, help) = classify(&message);
    let span = e.span().unwrap_or(0..0);
    // a zero-width span at end of file still needs a character to point at
    let span = if span.is_empty() && span.start > 0 && span.start >= source.text.len() {
        // point at the last character, not into the middle of it
        let last = source.text.char_indices().next_back().map_or(0, |(i, _)| i);
        last..source.text.len()
    } else {
        span
    };
    // toml's messages may quote the offending value: keep it, but never a secret
    let shown = plain_types(&shadow_keys::redact(&message));
    Diagnostic::at(
        code,
        source,
        span,
        format!("invalid {}: {shown}", source.name),
    )
    .label(short_label(code, &shown))
    .help(help)
}

/// serde names Rust types ("expected i64", "expected struct RawKeyless"):
/// say what a policy author wrote or should write instead.
fn plain_types(message: &str) -> String {
    let mut out = message.to_owned();
    while let Some(at) = out.find("struct Raw") {
        let word_end = out[at + "struct Raw".len()..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(out.len(), |n| at + "struct Raw".len() + n);
        out.replace_range(at..word_end, "a table");
    }
    for (rust, toml) in [
        ("expected i64", "expected an integer"),
        ("expected u64", "expected an integer"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
        ("expected a boolean", "expected true or false"),
        ("invalid type: sequence", "invalid type: array"),
        ("invalid type: map", "invalid type: table"),
        ("expected a string", "expected a quoted string"),
    ] {
        out = out.replace(rust, toml);
    }
    out
}

fn classify(message: &str) -> (Code, &'static str) {
    if message.starts_with("unknown field") {
        (
            Code::UnknownField,
            "remove the key or fix its spelling; the keys are documented in schema/signing.schema.json",
        )
    } else if message.starts_with("invalid type") {
        (
            Code::WrongType,
            "give the value the type the key expects (see schema/signing.schema.json)",
        )
    } else if message.starts_with("missing field") {
        (
            Code::MissingField,
            "add the key; every table of this kind needs it",
        )
    } else if message.starts_with("duplicate key") || message.starts_with("duplicate field") {
        (
            Code::DuplicateKey,
            "define each key and table once; merge the two definitions",
        )
    } else if message.starts_with("unknown variant")
        || message.starts_with("invalid value")
        || message.starts_with("invalid length")
        || message.starts_with("invalid duration")
        || message.starts_with("invalid date-time")
    {
        (
            Code::InvalidValue,
            "use one of the values the key accepts (see schema/signing.schema.json)",
        )
    } else if message.starts_with("cannot recurse further") {
        // the toml parser stops at its own depth limit (about 80 levels of
        // arrays and inline tables) before its stack could overflow
        (
            Code::TomlSyntax,
            "arrays and inline tables nest too deep here; a signing policy needs two or three levels",
        )
    } else {
        (
            Code::TomlSyntax,
            "fix the TOML syntax at this point (https://toml.io)",
        )
    }
}

fn short_label(code: Code, message: &str) -> String {
    match code {
        Code::TomlSyntax => message.lines().next().unwrap_or(message).to_owned(),
        Code::UnknownField => "unknown key".to_owned(),
        Code::WrongType => "wrong type".to_owned(),
        Code::MissingField => "in this table".to_owned(),
        Code::DuplicateKey => "defined again here".to_owned(),
        _ => "not accepted here".to_owned(),
    }
}
