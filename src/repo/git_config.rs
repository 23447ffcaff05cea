//! Repository-local git config edits (for `init`), written atomically.
//!
//! Never touches the global or system config.

use super::{Repo, git_err};
use crate::error::{Error, Result};

impl Repo {
    /// The repository-local config with `settings` (`section[.sub].key`, value)
    /// applied, as bytes ready to write, and the path they belong at.
    /// Returns `None` when every setting already has its value.
    pub fn local_config_with(
        &self,
        settings: &[(&str, &str)],
    ) -> Result<Option<(std::path::PathBuf, Vec<u8>)>> {
        let path = self.common_dir().join("config");
        let mut file =
            gix::config::File::from_path_no_includes(path.clone(), gix::config::Source::Local)
                .map_err(|e| Error::Unreadable {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
        let mut changed = false;
        for (key, value) in settings {
            let current = file.string(*key).map(|v| v.to_string());
            if current.as_deref() == Some(*value) {
                continue;
            }
            let (section, sub, name) = split_key(key);
            let sub = sub.map(gix::bstr::BStr::new);
            file.set_raw_value_by(section, sub, name, *value)
                .map_err(git_err)?;
            changed = true;
        }
        if !changed {
            return Ok(None);
        }
        let mut out = Vec::new();
        file.write_to(&mut out).map_err(git_err)?;
        Ok(Some((path, out)))
    }
}

fn split_key(key: &str) -> (&str, Option<&str>, &str) {
    let (section, rest) = key.split_once('.').unwrap_or((key, ""));
    match rest.rsplit_once('.') {
        Some((sub, name)) => (section, Some(sub), name),
        None => (section, None, rest),
    }
}

impl Repo {
    /// A config value as git resolves it (local, global, system).
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.inner
            .config_snapshot()
            .string(key)
            .map(|v| v.to_string())
    }
}
