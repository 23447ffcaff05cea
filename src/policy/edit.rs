//! Editing `signing.toml` in a work tree, comments and layout kept
//! (`toml_edit`), all or nothing.
//!
//! An edit starts only from the policy HEAD holds: local changes (in the
//! work tree or the index) are refused rather than merged, since the edit
//! is a policy change an admin signs and reviews as one. The edited text
//! must parse as a policy before anything is written; files that go with
//! it (a certificate) are written first and removed again when the policy
//! cannot be, so a failure leaves the repository as it was.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::repo::Repo;

use super::{FILE_NAME, load};

/// `signing.toml` opened for an edit.
pub struct PolicyEdit {
    path: PathBuf,
    original: Vec<u8>,
    pub doc: toml_edit::DocumentMut,
}

impl PolicyEdit {
    /// The work tree's policy, when it is exactly HEAD's (and so is the
    /// index's).
    pub fn open(repo: &Repo) -> Result<Self> {
        let path = repo.root().join(FILE_NAME);
        let original = crate::files::read(&path, crate::files::TRUST_FILE).map_err(|e| {
            if e.is_not_found() {
                Error::NoPolicy { path: path.clone() }
            } else {
                Error::from(e)
            }
        })?;
        let local = |what: &str| {
            Error::Usage(format!(
                "{FILE_NAME} has local changes ({what}): commit or discard them first, so this edit is the only change an admin signs"
            ))
        };
        match repo.file_at_head(FILE_NAME)? {
            Some((id, head)) => {
                if head != original {
                    return Err(local("the work tree differs from HEAD"));
                }
                let staged = repo
                    .staged_files()?
                    .into_iter()
                    .find(|(p, _)| p == FILE_NAME)
                    .map(|(_, b)| b.to_string());
                if staged.as_deref() != Some(id.as_str()) {
                    return Err(local("the index differs from HEAD"));
                }
            }
            None => return Err(local("HEAD has no committed policy")),
        }
        let text = std::str::from_utf8(&original)
            .map_err(|_| Error::Usage(format!("{FILE_NAME} is not UTF-8")))?;
        let doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e| Error::Usage(format!("{FILE_NAME} does not parse: {e}")))?;
        Ok(Self {
            path,
            original,
            doc,
        })
    }

    /// The identity's table (`[identities.NAME]`).
    pub fn identity_mut(&mut self, name: &str) -> Result<&mut toml_edit::Table> {
        self.doc
            .get_mut("identities")
            .and_then(|t| t.get_mut(name))
            .and_then(toml_edit::Item::as_table_mut)
            .ok_or_else(|| Error::Usage(format!("no identity `{name}` in {FILE_NAME}")))
    }

    /// The edited text, checked to parse as a policy.
    pub fn text(&self) -> Result<String> {
        let text = self.doc.to_string();
        let parsed = load::parse(FILE_NAME, text.as_bytes());
        if let Err(d) = &parsed.result {
            return Err(Error::Usage(format!(
                "the edited {FILE_NAME} would not parse ({}): nothing written",
                d.message
            )));
        }
        Ok(text)
    }

    /// Write `files` (new files only: none may exist), then the policy; on
    /// any failure remove what was written and leave the policy as it was.
    pub fn save(self, files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
        let text = self.text()?;
        let unwritable = |path: &Path, e: std::io::Error| Error::Unwritable {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut written: Vec<&Path> = Vec::new();
        let undo = |written: &[&Path]| {
            for p in written {
                let _ = std::fs::remove_file(p);
            }
        };
        for (path, bytes) in files {
            if path.exists() {
                undo(&written);
                return Err(Error::Usage(format!(
                    "{} exists already: nothing written",
                    path.display()
                )));
            }
            if let Err(e) = crate::init::write_atomically(path, bytes) {
                undo(&written);
                return Err(unwritable(path, e));
            }
            written.push(path);
        }
        // the policy last: before it, the edit is nowhere
        if let Err(e) = crate::init::write_atomically(&self.path, text.as_bytes()) {
            undo(&written);
            let _ = crate::init::write_atomically(&self.path, &self.original);
            return Err(unwritable(&self.path, e));
        }
        Ok(())
    }
}

/// Append `value` to the string-or-array `key` of `table`: a lone string
/// becomes an array of both; the key is added when absent.
pub fn append_string(table: &mut toml_edit::Table, key: &str, value: &str) {
    let item = table.get(key).cloned();
    let mut array = toml_edit::Array::new();
    match item.as_ref().and_then(toml_edit::Item::as_value) {
        Some(toml_edit::Value::String(s)) => array.push(s.value().as_str()),
        Some(toml_edit::Value::Array(a)) => array = a.clone(),
        _ => {}
    }
    array.push(value);
    match table.get_mut(key).and_then(toml_edit::Item::as_value_mut) {
        // keep the key's place and its trailing comment
        Some(v) => {
            let decor = v.decor().clone();
            *v = toml_edit::Value::Array(array);
            *v.decor_mut() = decor;
        }
        None => {
            table.insert(key, toml_edit::value(array));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::append_string;

    #[test]
    fn a_string_becomes_a_list_and_comments_stay() {
        let text = "# the release key\n[identities.release]\ncertificate = \"certs/a.pem\"   # current\nrenew_before = \"30d\"\n";
        let mut doc: toml_edit::DocumentMut = text.parse().expect("toml");
        let t = doc["identities"]["release"].as_table_mut().expect("table");
        append_string(t, "certificate", "certs/b.pem");
        let out = doc.to_string();
        assert_eq!(
            out,
            "# the release key\n[identities.release]\ncertificate = [\"certs/a.pem\", \"certs/b.pem\"]   # current\nrenew_before = \"30d\"\n"
        );
        let t = doc["identities"]["release"].as_table_mut().expect("table");
        append_string(t, "certificate", "certs/c.pem");
        assert!(
            doc.to_string()
                .contains("[\"certs/a.pem\", \"certs/b.pem\", \"certs/c.pem\"]")
        );
    }
}
