//! The JSON Schema of `signing.toml`, generated from `raw::RawPolicy`.

use super::raw::RawPolicy;

/// Where the schema is published, for `#:schema` lines and `$id`.
pub const SCHEMA_PATH: &str = "schema/signing.schema.json";

/// The schema as pretty JSON with a trailing newline (the committed file's bytes).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawPolicy);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
