//! Durations as policy authors write them: `30d`, `12w`, `720h`.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, de};

/// A whole number of hours, days or weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration {
    seconds: i64,
    text: (u32, char),
}

impl Duration {
    pub const fn days(n: u32) -> Self {
        Self {
            seconds: n as i64 * 86_400,
            text: (n, 'd'),
        }
    }

    pub fn as_time(self) -> time::Duration {
        time::Duration::seconds(self.seconds)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.text.0, self.text.1)
    }
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration `{0}`: expected a whole number followed by h, d or w, such as `30d`, `12w` or `720h`"
)]
pub struct DurationError(String);

impl FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DurationError(s.to_owned());
        let unit = s.chars().last().ok_or_else(err)?;
        let digits = &s[..s.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let n: u32 = digits.parse().map_err(|_| err())?;
        let per = match unit {
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(err()),
        };
        // 100 years is far beyond any renewal window; refuse the rest as typos.
        let seconds = i64::from(n) * per;
        if seconds > 100 * 366 * 86_400 {
            return Err(err());
        }
        Ok(Self {
            seconds,
            text: (n, unit),
        })
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+[hdw]$",
            "description": "A whole number of hours (h), days (d) or weeks (w), such as 30d",
            "examples": ["30d", "12w", "720h"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hours_days_weeks() {
        assert_eq!(
            "720h".parse::<Duration>().map(|d| d.seconds),
            Ok(720 * 3600)
        );
        assert_eq!(
            "30d".parse::<Duration>().map(|d| d.seconds),
            Ok(30 * 86_400)
        );
        assert_eq!(
            "12w".parse::<Duration>().map(|d| d.seconds),
            Ok(12 * 604_800)
        );
        assert_eq!(
            "12w".parse::<Duration>().map(|d| d.to_string()).as_deref(),
            Ok("12w")
        );
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "d",
            "30",
            "30x",
            "-3d",
            "3.5d",
            "30 d",
            "d30",
            "99999999999d",
            "٣d",
            "30dd",
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?} parsed");
        }
    }
}
