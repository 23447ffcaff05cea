//! Edits of `signing.toml` text that keep its comments and layout: a new
//! `[[revocations]]` or `[[exceptions]]` entry appended as a block (every
//! other byte of the file stays as it was), an exception closed in place.
//!
//! Pure: text and values in, text out. The caller reads and writes the
//! file, checks the result with the policy loader, and brings the time.

use time::OffsetDateTime;
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use super::raw::RevocationReason;
use super::timestamp::Timestamp;

/// A revocation to add.
#[derive(Debug, Clone)]
pub struct NewRevocation {
    pub identity: String,
    pub reason: RevocationReason,
    pub revoked_at: OffsetDateTime,
    pub compromised_since: Option<OffsetDateTime>,
}

/// An exception to add.
#[derive(Debug, Clone)]
pub struct NewException {
    pub id: String,
    pub identity: String,
    pub environments: Vec<String>,
    pub owner: String,
    pub approved_by: Vec<String>,
    pub reason: String,
    pub expires: OffsetDateTime,
    pub review: Option<String>,
    pub commits: Vec<String>,
}

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("signing.toml does not parse: {0}")]
    Parse(String),
    #[error("`{0}` in signing.toml is neither an array of tables nor an array of inline tables")]
    Shape(&'static str),
    #[error("no exception has id `{0}`")]
    NoSuchException(String),
    #[error("no identity `{0}` in signing.toml")]
    NoSuchIdentity(String),
}

fn datetime(t: OffsetDateTime) -> Value {
    let text = Timestamp(t).to_string();
    match text.parse::<toml_edit::Datetime>() {
        Ok(d) => Value::from(d),
        // RFC 3339 from `Timestamp` always parses; a string is the same instant to the loader
        Err(_) => Value::from(text),
    }
}

fn strings(items: &[String]) -> Value {
    let mut a = Array::new();
    for i in items {
        a.push(i.as_str());
    }
    Value::Array(a)
}

fn revocation_table(r: &NewRevocation) -> Table {
    let mut t = Table::new();
    t.insert("identity", Item::Value(r.identity.as_str().into()));
    t.insert("reason", Item::Value(r.reason.as_str().into()));
    t.insert("revoked_at", Item::Value(datetime(r.revoked_at)));
    if let Some(since) = r.compromised_since {
        t.insert("compromised_since", Item::Value(datetime(since)));
    }
    t
}

fn exception_table(x: &NewException) -> Table {
    let mut t = Table::new();
    t.insert("id", Item::Value(x.id.as_str().into()));
    t.insert("identity", Item::Value(x.identity.as_str().into()));
    t.insert("environments", Item::Value(strings(&x.environments)));
    t.insert("owner", Item::Value(x.owner.as_str().into()));
    t.insert("approved_by", Item::Value(strings(&x.approved_by)));
    t.insert("reason", Item::Value(x.reason.as_str().into()));
    t.insert("expires", Item::Value(datetime(x.expires)));
    if let Some(r) = &x.review {
        t.insert("review", Item::Value(r.as_str().into()));
    }
    if !x.commits.is_empty() {
        t.insert("commits", Item::Value(strings(&x.commits)));
    }
    t
}

/// `text` with a `[[revocations]]` entry added.
pub fn add_revocation(text: &str, r: &NewRevocation) -> Result<String, EditError> {
    append_entry(text, "revocations", revocation_table(r))
}

/// `text` with an `[[exceptions]]` entry added.
pub fn add_exception(text: &str, x: &NewException) -> Result<String, EditError> {
    append_entry(text, "exceptions", exception_table(x))
}

/// Append `table` to the array `key`: as a `[[key]]` block at the end of the
/// file (the file's own bytes untouched), or, when the file spells the
/// array inline (`key = [{ … }]`), as one more inline table in it.
fn append_entry(text: &str, key: &'static str, table: Table) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.message().trim().to_owned()))?;
    match doc.get_mut(key) {
        None | Some(Item::ArrayOfTables(_)) => {
            let mut block = DocumentMut::new();
            let mut aot = ArrayOfTables::new();
            aot.push(table);
            block.insert(key, Item::ArrayOfTables(aot));
            let mut block = block.to_string();
            let crlf = text.contains("\r\n");
            if crlf {
                block = block.replace('\n', "\r\n");
            }
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut out = text.to_owned();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(nl);
            }
            if !out.is_empty() {
                out.push_str(nl);
            }
            out.push_str(&block);
            Ok(out)
        }
        Some(Item::Value(Value::Array(a))) if a.iter().all(|v| v.is_inline_table()) => {
            let mut inline = InlineTable::new();
            for (k, v) in table.iter() {
                if let Some(v) = v.as_value() {
                    inline.insert(k, v.clone());
                }
            }
            a.push(Value::InlineTable(inline));
            Ok(doc.to_string())
        }
        Some(_) => Err(EditError::Shape(key)),
    }
}

/// Replace the value of `key` in `t` (keeping the spacing and comment
/// around the old value), or add the key.
fn set(t: &mut dyn toml_edit::TableLike, key: &str, mut value: Value) {
    if let Some(old) = t.get_mut(key).and_then(Item::as_value_mut) {
        *value.decor_mut() = old.decor().clone();
        *old = value;
    } else {
        t.insert(key, Item::Value(value));
    }
}

/// `text` with exception `id` closed: `expires` set to `at` (when it was
/// later), and `review` recorded when given.
pub fn close_exception(
    text: &str,
    id: &str,
    at: OffsetDateTime,
    review: Option<&str>,
) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.message().trim().to_owned()))?;
    let expires_later = |t: &dyn toml_edit::TableLike| {
        t.get("expires")
            .and_then(Item::as_value)
            .and_then(|v| match v {
                Value::Datetime(d) => Timestamp::parse(&d.value().to_string()).ok(),
                Value::String(s) => Timestamp::parse(s.value()).ok(),
                _ => None,
            })
            .is_none_or(|e| e.0 > at)
    };
    let is = |t: &dyn toml_edit::TableLike| {
        t.get("id")
            .and_then(Item::as_value)
            .and_then(Value::as_str)
            .is_some_and(|v| v == id)
    };
    let edit = |t: &mut dyn toml_edit::TableLike| {
        if expires_later(&*t) {
            set(t, "expires", datetime(at));
        }
        if let Some(r) = review {
            set(t, "review", r.into());
        }
    };
    match doc.get_mut("exceptions") {
        Some(Item::ArrayOfTables(aot)) => {
            let t = aot
                .iter_mut()
                .find(|t| is(*t))
                .ok_or_else(|| EditError::NoSuchException(id.to_owned()))?;
            edit(t);
        }
        Some(Item::Value(Value::Array(a))) => {
            let t = a
                .iter_mut()
                .filter_map(Value::as_inline_table_mut)
                .find(|t| is(*t))
                .ok_or_else(|| EditError::NoSuchException(id.to_owned()))?;
            edit(t);
        }
        None => return Err(EditError::NoSuchException(id.to_owned())),
        Some(_) => return Err(EditError::Shape("exceptions")),
    }
    Ok(doc.to_string())
}

/// Append `value` to the string-or-array `key` of identity `identity` (a
/// renewal's successor certificate or pin): a lone string becomes an array
/// of both, the key keeps its place and trailing comment; added when absent.
pub fn append_to_identity(
    text: &str,
    identity: &str,
    key: &str,
    value: &str,
) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.to_string()))?;
    let table = doc
        .get_mut("identities")
        .and_then(|t| t.get_mut(identity))
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| EditError::NoSuchIdentity(identity.to_owned()))?;
    let mut array = Array::new();
    match table.get(key).and_then(Item::as_value) {
        Some(Value::String(s)) => array.push(s.value().as_str()),
        Some(Value::Array(a)) => array = a.clone(),
        _ => {}
    }
    array.push(value);
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(v) => {
            let decor = v.decor().clone();
            *v = Value::Array(array);
            *v.decor_mut() = decor;
        }
        None => {
            table.insert(key, Item::Value(Value::Array(array)));
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        Timestamp::parse(s)
            .map(|t| t.0)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    const POLICY: &str = "# the policy\nversion = 1 # one\n\n[policy]\nadmins = [\"sec\"]  # who\n\n\
        [[exceptions]]\nid = \"INC-1\"\nidentity = \"bob\"\nenvironments = [\"prod\"]\nowner = \"sec\"\n\
        approved_by = [\"s@example.com\"]\nreason = \"hotfix\"\nexpires   = 2026-12-01T00:00:00Z # soon\n\n\
        # trailing words\n[identities.bob]\nowner = \"sec\"\n";

    fn revocation() -> NewRevocation {
        NewRevocation {
            identity: "bob".into(),
            reason: RevocationReason::KeyCompromise,
            revoked_at: at("2026-11-02T10:00:00Z"),
            compromised_since: Some(at("2026-10-01T00:00:00Z")),
        }
    }

    #[test]
    fn a_revocation_is_a_block_after_the_untouched_file() {
        let out = add_revocation(POLICY, &revocation()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out,
            format!(
                "{POLICY}\n[[revocations]]\nidentity = \"bob\"\nreason = \"key-compromise\"\n\
                 revoked_at = 2026-11-02T10:00:00Z\ncompromised_since = 2026-10-01T00:00:00Z\n"
            )
        );
        // no trailing newline, CRLF files
        let bare = add_revocation("version = 1", &revocation()).unwrap_or_default();
        assert!(
            bare.starts_with("version = 1\n\n[[revocations]]\n"),
            "{bare}"
        );
        let crlf = add_revocation("version = 1\r\n", &revocation()).unwrap_or_default();
        assert!(!crlf.replace("\r\n", "").contains('\n'), "{crlf:?}");
    }

    #[test]
    fn values_are_escaped_and_inline_arrays_grow_in_place() {
        let x = NewException {
            id: "INC-\"2\"\n".into(),
            identity: "bob".into(),
            environments: vec!["prod".into()],
            owner: "sec".into(),
            approved_by: vec!["a@example.com".into(), "b@example.com".into()],
            reason: "quote \" and \\ backslash".into(),
            expires: at("2026-12-01T00:00:00Z"),
            review: None,
            commits: vec![],
        };
        let out = add_exception(POLICY, &x).unwrap_or_else(|e| panic!("{e}"));
        let back: toml::Value = toml::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back["exceptions"][1]["id"].as_str(), Some("INC-\"2\"\n"));
        assert_eq!(
            back["exceptions"][1]["reason"].as_str(),
            Some("quote \" and \\ backslash")
        );
        let inline = "version = 1\nrevocations = [{ identity = \"a\", reason = \"retired\", revoked_at = 2026-01-01T00:00:00Z }] # kept\n";
        let out = add_revocation(inline, &revocation()).unwrap_or_else(|e| panic!("{e}"));
        assert!(out.ends_with("# kept\n"), "{out}");
        let back: toml::Value = toml::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back["revocations"][1]["identity"].as_str(), Some("bob"));
        assert_eq!(
            add_revocation("revocations = 3\n", &revocation()),
            Err(EditError::Shape("revocations"))
        );
    }

    #[test]
    fn closing_changes_only_the_exceptions_lines() {
        let out = close_exception(
            POLICY,
            "INC-1",
            at("2026-11-02T10:00:00Z"),
            Some("https://tracker.example.com/INC-1"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out,
            POLICY.replace(
                "expires   = 2026-12-01T00:00:00Z # soon\n",
                "expires   = 2026-11-02T10:00:00Z # soon\nreview = \"https://tracker.example.com/INC-1\"\n"
            )
        );
        // already past: expiry kept, review recorded
        let late = close_exception(POLICY, "INC-1", at("2027-01-01T00:00:00Z"), Some("r"))
            .unwrap_or_default();
        assert!(late.contains("2026-12-01T00:00:00Z # soon"), "{late}");
        assert_eq!(
            close_exception(POLICY, "INC-9", at("2026-11-02T10:00:00Z"), None),
            Err(EditError::NoSuchException("INC-9".into()))
        );
    }

    #[test]
    fn a_certificate_becomes_a_list_and_comments_stay() {
        let text = "# the release key\n[identities.release]\ncertificate = \"certs/a.pem\"   # current\nrenew_before = \"30d\"\n";
        let out =
            super::append_to_identity(text, "release", "certificate", "certs/b.pem").expect("edit");
        assert_eq!(
            out,
            "# the release key\n[identities.release]\ncertificate = [\"certs/a.pem\", \"certs/b.pem\"]   # current\nrenew_before = \"30d\"\n"
        );
        let out =
            super::append_to_identity(&out, "release", "certificate", "certs/c.pem").expect("edit");
        assert!(out.contains("[\"certs/a.pem\", \"certs/b.pem\", \"certs/c.pem\"]"));
        assert!(super::append_to_identity(text, "nobody", "certificate", "x").is_err());
    }
}
