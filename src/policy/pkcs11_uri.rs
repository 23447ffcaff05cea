//! RFC 7512 PKCS#11 URIs: `pkcs11:token=release;object=release-2026?module-path=…`.
//!
//! Pure parsing. The signer backend resolves a parsed URI against a module;
//! this module only says what the URI names. A `pin-value` is parsed only to
//! be refused: its value is dropped at once and never shown.

use std::collections::BTreeMap;

/// A parsed PKCS#11 URI, values percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pkcs11Uri {
    /// Path attributes (`token`, `object`, `id`, `slot-id`, …).
    pub path: BTreeMap<String, Vec<u8>>,
    /// Query attributes (`module-path`, `pin-source`, …), never `pin-value`.
    pub query: BTreeMap<String, String>,
    /// Whether the URI carried a `pin-value` (refused by policy checks).
    pub has_pin_value: bool,
}

impl Pkcs11Uri {
    /// A path attribute as text, when it is UTF-8.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.path
            .get(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

const PATH_ATTRS: &[&str] = &[
    "token",
    "manufacturer",
    "serial",
    "model",
    "library-manufacturer",
    "library-description",
    "library-version",
    "object",
    "type",
    "id",
    "slot-description",
    "slot-manufacturer",
    "slot-id",
];
const QUERY_ATTRS: &[&str] = &["pin-source", "pin-value", "module-name", "module-path"];

/// Why a string is not a usable PKCS#11 URI. Messages never contain attribute values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("does not start with `pkcs11:`")]
    Scheme,
    #[error("an attribute has no `=` (write `name=value`, separated by `;`)")]
    NoEquals,
    #[error("unknown attribute `{0}`")]
    UnknownAttribute(String),
    #[error("attribute `{0}` is given twice")]
    Repeated(String),
    #[error("attribute `{0}` has a bad percent-encoding")]
    BadEncoding(String),
    #[error("names no key: give `object=` (the key's label) or `id=`")]
    NoObject,
}

/// Parse `s` as an RFC 7512 URI.
pub fn parse(s: &str) -> Result<Pkcs11Uri, UriError> {
    let rest = s.strip_prefix("pkcs11:").ok_or(UriError::Scheme)?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut uri = Pkcs11Uri::default();
    for (part, is_query) in path
        .split(';')
        .map(|p| (p, false))
        .chain(query.split('&').map(|p| (p, true)))
    {
        if part.is_empty() {
            continue;
        }
        let (name, value) = part.split_once('=').ok_or(UriError::NoEquals)?;
        let name = name.to_ascii_lowercase();
        // a PIN is a PIN however its name is spelt (`pin%2Dvalue`, spaces):
        // it is reported as one (change the PIN), never as an unknown name
        let plain_name = percent_decode(&name)
            .and_then(|b| String::from_utf8(b).ok())
            .map(|n| n.trim().to_ascii_lowercase());
        if name == "pin-value" || plain_name.as_deref() == Some("pin-value") {
            uri.has_pin_value = true;
            continue;
        }
        let vendor = name.starts_with("x-");
        let decoded = percent_decode(value).ok_or_else(|| UriError::BadEncoding(name.clone()))?;
        if is_query {
            if !vendor && !QUERY_ATTRS.contains(&name.as_str()) {
                return Err(UriError::UnknownAttribute(truncate(&name)));
            }
            let text =
                String::from_utf8(decoded).map_err(|_| UriError::BadEncoding(name.clone()))?;
            if uri.query.insert(name.clone(), text).is_some() {
                return Err(UriError::Repeated(name));
            }
        } else {
            if !vendor && !PATH_ATTRS.contains(&name.as_str()) {
                return Err(UriError::UnknownAttribute(truncate(&name)));
            }
            if uri.path.insert(name.clone(), decoded).is_some() {
                return Err(UriError::Repeated(name));
            }
        }
    }
    if !uri.has_pin_value && !uri.path.contains_key("object") && !uri.path.contains_key("id") {
        return Err(UriError::NoObject);
    }
    Ok(uri)
}

fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_path_and_query_attributes() {
        let u = parse("pkcs11:token=release;object=release%202026;id=%01%02?module-path=/usr/lib/x.so&pin-source=file:/run/pin")
            .expect("valid uri");
        assert_eq!(u.attr("token"), Some("release"));
        assert_eq!(u.attr("object"), Some("release 2026"));
        assert_eq!(u.path.get("id").map(Vec::as_slice), Some(&[1u8, 2][..]));
        assert_eq!(
            u.query.get("module-path").map(String::as_str),
            Some("/usr/lib/x.so")
        );
        assert!(!u.has_pin_value);
    }

    #[test]
    fn pin_value_is_flagged_and_never_kept() {
        let u = parse(concat!("pkcs11:object=k?pin-", "value=123456")).expect("parses");
        assert!(u.has_pin_value);
        assert!(!format!("{u:?}").contains("123456"));
    }

    #[test]
    fn rejects_malformed_uris_without_echoing_values() {
        assert_eq!(parse("token=x"), Err(UriError::Scheme));
        assert_eq!(parse("pkcs11:token=x"), Err(UriError::NoObject));
        assert_eq!(
            parse("pkcs11:object=a;object=b"),
            Err(UriError::Repeated("object".into()))
        );
        assert_eq!(
            parse("pkcs11:objekt=a"),
            Err(UriError::UnknownAttribute("objekt".into()))
        );
        assert_eq!(
            parse("pkcs11:object=%zz"),
            Err(UriError::BadEncoding("object".into()))
        );
        assert_eq!(parse("pkcs11:object"), Err(UriError::NoEquals));
        assert!(parse("pkcs11:object=a;x-vendor=1").is_ok());
    }
}
