//! Instants in the policy: a TOML offset date-time or an RFC 3339 string.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, de};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant with an explicit offset (local date-times are refused: they are ambiguous).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub OffsetDateTime);

impl Timestamp {
    /// Parse RFC 3339 (`2026-12-01T00:00:00Z`).
    pub fn parse(s: &str) -> Result<Self, String> {
        OffsetDateTime::parse(s.trim(), &Rfc3339).map(Self).map_err(|_| {
            format!("invalid date-time `{s}`: expected RFC 3339 with an offset, such as 2026-12-01T00:00:00Z")
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.to_offset(time::UtcOffset::UTC).format(&Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}", self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::Datetime(dt) => Self::parse(&dt.to_string()).map_err(de::Error::custom),
            toml::Value::String(s) => Self::parse(&s).map_err(de::Error::custom),
            other => Err(de::Error::custom(format!(
                "invalid type: {}, expected a date-time such as 2026-12-01T00:00:00Z",
                other.type_str()
            ))),
        }
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 date-time with an offset, such as 2026-12-01T00:00:00Z"
        })
    }
}
