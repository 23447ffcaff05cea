//! Repository-local git config edits (for `init`), written atomically.
//!
//! Never touches the global or system config.

use super::{Repo, git_err};
use crate::error::{Error, Result};

impl Repo {
    /// The repository-local config with `settings` (`section[.sub].key`, value)
    /// applied, as bytes ready to write, and the path they belong at.
    /// Returns `None` when every setting already has its value.
    /// `additions` are multi-valued keys (`remote.origin.fetch`): the value
    /// is added unless the key already holds it.
    pub fn local_config_with(
        &self,
        settings: &[(&str, &str)],
        additions: &[(&str, &str)],
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
        for (key, value) in additions {
            let present = file.strings(*key).is_some_and(|vs| {
                vs.iter()
                    .any(|v| AsRef::<[u8]>::as_ref(v) == value.as_bytes())
            });
            if present {
                continue;
            }
            let (section, sub, name) = split_key(key);
            file.section_mut_or_create_new(section, sub.map(gix::bstr::BStr::new))
                .map_err(git_err)?
                .push(name, Some(gix::bstr::BStr::new(value)))
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
    /// The names of the configured remotes.
    pub fn remote_names(&self) -> Vec<String> {
        self.inner
            .remote_names()
            .into_iter()
            .map(|n| n.to_string())
            .collect()
    }

    /// A config value as git resolves it (local, global, system).
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.inner
            .config_snapshot()
            .string(key)
            .map(|v| v.to_string())
    }
}
