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
    ///
    /// `git -c KEY=VALUE` wins, as in git: git hands it to the hooks and
    /// programs it runs in `GIT_CONFIG_PARAMETERS`, which gix does not read
    /// (it reads `GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`).
    pub fn config_string(&self, key: &str) -> Option<String> {
        if let Some(v) = std::env::var("GIT_CONFIG_PARAMETERS")
            .ok()
            .and_then(|p| command_line_value(&p, key))
        {
            return Some(v);
        }
        self.inner
            .config_snapshot()
            .string(key)
            .map(|v| v.to_string())
    }
}

/// The last value `params` (git's `GIT_CONFIG_PARAMETERS`: shell-quoted
/// `'key'='value'` or older `'key=value'` entries, space separated) gives
/// `key`; a key without a value is `true`. Section and name compare without
/// case, a subsection exactly. Malformed text gives nothing (the files decide).
fn command_line_value(params: &str, key: &str) -> Option<String> {
    let want = normalise_key(key)?;
    let mut found = None;
    let mut rest = params;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return found;
        }
        let (word, after) = sq_word(rest)?;
        let (name, value, after) = match after.strip_prefix('=') {
            Some(v) => {
                let (value, after) = sq_word(v)?;
                (word, Some(value), after)
            }
            None => match word.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned()), after),
                None => (word, None, after),
            },
        };
        if normalise_key(&name).as_ref() == Some(&want) {
            found = Some(value.unwrap_or_else(|| "true".to_owned()));
        }
        rest = after;
    }
}

/// `section.sub.name` with section and name lower-cased.
fn normalise_key(key: &str) -> Option<(String, Option<String>, String)> {
    let (section, rest) = key.split_once('.')?;
    let (sub, name) = match rest.rsplit_once('.') {
        Some((sub, name)) => (Some(sub.to_owned()), name),
        None => (None, rest),
    };
    Some((section.to_ascii_lowercase(), sub, name.to_ascii_lowercase()))
}

/// One shell-quoted word as git's `sq_quote` writes it (`'...'` segments
/// joined by `\'`), up to whitespace or a `=` outside quotes.
fn sq_word(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    let mut any = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => {
                any = true;
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => out.push(c),
                        None => return None,
                    }
                }
            }
            '\\' => {
                any = true;
                out.push(chars.next()?.1);
            }
            c if c.is_whitespace() || c == '=' => return any.then_some((out, &s[i..])),
            _ => return None,
        }
    }
    any.then_some((out, ""))
}

#[cfg(test)]
mod tests {
    use super::command_line_value;

    #[test]
    fn git_dash_c_parameters() {
        // as git 2.31+ writes them
        let p = "'user.signingkey'='release' 'core.editor'='vi'";
        assert_eq!(
            command_line_value(p, "user.signingkey").as_deref(),
            Some("release")
        );
        assert_eq!(
            command_line_value(p, "User.SigningKey").as_deref(),
            Some("release")
        );
        assert_eq!(command_line_value(p, "user.name"), None);
        // the last one wins; quotes inside values; old format; bare key
        let p =
            "'user.signingkey'='a' 'user.signingkey'='it'\\''s' 'sigctl.trustroot=abc' 'x.flag'";
        assert_eq!(
            command_line_value(p, "user.signingkey").as_deref(),
            Some("it's")
        );
        assert_eq!(
            command_line_value(p, "sigctl.trustRoot").as_deref(),
            Some("abc")
        );
        assert_eq!(command_line_value(p, "x.flag").as_deref(), Some("true"));
        // subsections are case-sensitive
        let p = "'remote.Origin.url'='u'";
        assert_eq!(
            command_line_value(p, "remote.Origin.url").as_deref(),
            Some("u")
        );
        assert_eq!(command_line_value(p, "remote.origin.url"), None);
        // malformed: nothing
        assert_eq!(
            command_line_value("'user.signingkey'='unterminated", "user.signingkey"),
            None
        );
        assert_eq!(
            command_line_value("user.signingkey=bare", "user.signingkey"),
            None
        );
    }
}
