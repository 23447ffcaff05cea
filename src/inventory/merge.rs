//! `sigctl inventory --merge FILE…`: inventories made elsewhere (one per
//! repository in CI) combined into one. Each file must be an inventory of
//! this format and version; their repositories, identities, exceptions,
//! suppliers and per-repository findings are concatenated, and the
//! programme findings are computed again over the whole.
//!
//! Repositories are known by their `path`. Two files naming the same path
//! for different repositories (every CI job inventories `.`) are told apart
//! by the file's name (`FILE:path`); the same repository in two files
//! (same path, HEAD and policy) is kept once.

use std::path::Path;

use time::OffsetDateTime;

use super::model::{self, Inventory};
use crate::error::Error;

fn malformed(path: &Path, message: impl Into<String>) -> Error {
    Error::Unreadable {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Read one inventory's JSON, checking its `format` and `version`.
pub fn read(path: &Path) -> Result<Inventory, Error> {
    let bytes = crate::files::read(path, crate::files::INVENTORY)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| malformed(path, format!("it is not JSON: {e}")))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(model::FORMAT) => {}
        Some(other) => {
            return Err(malformed(
                path,
                format!("it is a `{other}`, not a `{}`", model::FORMAT),
            ));
        }
        None => {
            return Err(malformed(
                path,
                format!("it has no `format` field: not a `{}`", model::FORMAT),
            ));
        }
    }
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(model::VERSION) => {}
        v => {
            return Err(malformed(
                path,
                format!(
                    "its version is {}, and this sigctl reads version {}",
                    v.map_or_else(|| "missing".to_owned(), |v| v.to_string()),
                    model::VERSION
                ),
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| malformed(path, format!("it is malformed: {e}")))
}

/// Combine `inputs` (each with the file it came from) at `now`.
pub fn merge(inputs: Vec<(String, Inventory)>, now: OffsetDateTime) -> Inventory {
    let mut out = super::assemble(Vec::new(), now);
    // path ─▶ (head, policy blob) of the repository already holding it
    let mut taken: std::collections::HashMap<String, (Option<String>, Option<String>)> =
        std::collections::HashMap::new();
    for (file, inv) in inputs {
        let mut rename: std::collections::HashMap<String, Option<String>> =
            std::collections::HashMap::new();
        for r in &inv.repositories {
            let new = match taken.get(&r.path) {
                None => Some(r.path.clone()),
                Some(same) if *same == (r.head.clone(), r.policy_blob.clone()) => None,
                Some(_) => Some(format!("{file}:{}", r.path)),
            };
            if let Some(n) = &new {
                taken.insert(n.clone(), (r.head.clone(), r.policy_blob.clone()));
            }
            rename.insert(r.path.clone(), new);
        }
        let to = |path: &str| rename.get(path).cloned().unwrap_or(Some(path.to_owned()));
        for mut r in inv.repositories {
            if let Some(p) = to(&r.path) {
                r.path = p;
                out.repositories.push(r);
            }
        }
        for mut i in inv.identities {
            if let Some(p) = to(&i.repository) {
                i.repository = p;
                out.identities.push(i);
            }
        }
        for mut x in inv.exceptions {
            if let Some(p) = to(&x.repository) {
                x.repository = p;
                out.exceptions.push(x);
            }
        }
        for mut s in inv.suppliers {
            if let Some(p) = to(&s.repository) {
                s.repository = p;
                out.suppliers.push(s);
            }
        }
        for mut f in inv.findings {
            if super::code::is_programme(&f.code) {
                continue;
            }
            let repos: Vec<Option<String>> = f.repositories.iter().map(|r| to(r)).collect();
            if repos.iter().all(Option::is_none) && !repos.is_empty() {
                continue;
            }
            f.repositories = repos.into_iter().flatten().collect();
            for (old, new) in &rename {
                if let Some(new) = new
                    && new != old
                {
                    f.message = f
                        .message
                        .replacen(&format!("{old}: "), &format!("{new}: "), 1);
                }
            }
            out.findings.push(f);
        }
    }
    let programme = super::programme::findings(&out);
    out.findings.extend(programme);
    out
}
