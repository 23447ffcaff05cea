//! `sigctl init`: write a starter policy and configure the repository so
//! later signing works. Idempotent; all-or-nothing.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::policy::{self, schema};
use crate::repo::Repo;
use crate::templates;

/// Where `init` puts the schema inside a repository, for the `#:schema` line.
pub const SCHEMA_IN_REPO: &str = ".sigctl/signing.schema.json";

/// What `init` needs.
pub struct InitContext<'a> {
    pub repo: &'a Repo,
    /// The program git should run as `gpg.x509.program` (normally this executable).
    pub program: String,
}

/// How `init` runs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub template: String,
    pub force: bool,
    /// `github` or `gitlab`: also write that CI's templates (and keep an
    /// existing signing.toml rather than refuse).
    pub ci: Option<String>,
    /// `--from-history`: this policy (and the files it names) instead of a
    /// template; an existing signing.toml is never replaced.
    pub starter: Option<crate::signers::starter::Starter>,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            template: "minimal".into(),
            force: false,
            ci: None,
            starter: None,
        }
    }
}

/// What `init` did.
#[derive(Debug, Default)]
pub struct InitReport {
    /// Files written, relative to the repository root.
    pub written: Vec<String>,
    /// Files that already had the right content.
    pub unchanged: Vec<String>,
    /// Config keys set (`key`, `value`).
    pub configured: Vec<(String, String)>,
}

/// The public-good Sigstore instance's trusted root and signing config
/// (as sigstore-python 4.5.1 embeds them), where the templates name them.
const SIGSTORE_FILES: [(&str, &[u8]); 2] = [
    (
        ".sigctl/sigstore/trusted_root.json",
        include_bytes!("../templates/sigstore/public-good.trusted_root.json"),
    ),
    (
        ".sigctl/sigstore/signing_config.json",
        include_bytes!("../templates/sigstore/public-good.signing_config.json"),
    ),
];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The repository-local settings `init` makes.
pub fn settings(program: &str) -> Vec<(&'static str, String)> {
    vec![
        ("gpg.format", "x509".to_owned()),
        ("gpg.x509.program", program.to_owned()),
        // provenance records are one JSON object per line: concatenating notes merges them
        ("notes.signing.mergeStrategy", "cat_sort_uniq".to_owned()),
    ]
}

/// For each remote, a fetch refspec that brings its provenance records
/// into `refs/notes/sigctl/remotes/<remote>/signing` (never over the local
/// records): `sigctl provenance sync` merges them (cat_sort_uniq) and pushes.
/// No push refspec: a configured one would change what a plain `git push` does.
pub fn notes_refspecs(remotes: &[String]) -> Vec<(String, String)> {
    remotes
        .iter()
        .map(|r| {
            (
                format!("remote.{r}.fetch"),
                format!("+refs/notes/signing:refs/notes/sigctl/remotes/{r}/signing"),
            )
        })
        .collect()
}

/// The starter policy text for `template`, with the user's mail address.
pub fn render_template(template: &str, email: Option<&str>) -> Result<String> {
    let text = templates::policy(template).ok_or_else(|| Error::UnknownTemplate {
        name: template.to_owned(),
        available: templates::names(),
    })?;
    let text = text.replacen(
        "#:schema ../schema/signing.schema.json",
        &format!("#:schema ./{SCHEMA_IN_REPO}"),
        1,
    );
    Ok(match email {
        Some(e) if is_plain_email(e) => text.replace(templates::PLACEHOLDER_EMAIL, e),
        _ => text,
    })
}

fn is_plain_email(e: &str) -> bool {
    e.contains('@')
        && !e
            .chars()
            .any(|c| c.is_control() || matches!(c, '"' | '\\' | ' '))
}

/// Write the policy and schema, and set the config, or change nothing.
pub fn init(cx: &InitContext, opts: &InitOptions) -> Result<InitReport> {
    let root = cx.repo.root();
    let email = cx.repo.config_string("user.email");
    let policy_text = match &opts.starter {
        Some(s) => s.policy.clone(),
        None => render_template(&opts.template, email.as_deref())?,
    };
    let policy_path = root.join(policy::FILE_NAME);
    let schema_path = root.join(SCHEMA_IN_REPO);

    let mut report = InitReport::default();
    let mut plan: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    if let Some(starter) = &opts.starter {
        match crate::files::read(&policy_path, crate::files::POLICY) {
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
            Ok(_) => {
                return Err(Error::Usage(format!(
                    "{} already exists: `init --from-history` never replaces it (move it away to start again)",
                    policy_path.display()
                )));
            }
        }
        for (rel, bytes) in &starter.files {
            let path = root.join(rel);
            match crate::files::read(&path, crate::files::TRUST_FILE) {
                Ok(b) if &b == bytes => report.unchanged.push(rel.clone()),
                Ok(_) => {
                    return Err(Error::Unwritable {
                        path,
                        message: "it exists with other content; sigctl does not overwrite it"
                            .into(),
                    });
                }
                Err(e) if e.is_not_found() => plan.push((path, bytes.clone())),
                Err(e) => return Err(e.into()),
            }
        }
    }
    match crate::files::read(&policy_path, crate::files::POLICY) {
        Ok(existing) if existing == policy_text.as_bytes() => {
            report.unchanged.push(policy::FILE_NAME.into())
        }
        // adding CI to a repository that has its policy: the policy stays
        Ok(_) if !opts.force && opts.ci.is_some() => {
            report.unchanged.push(policy::FILE_NAME.into())
        }
        Ok(_) if !opts.force => return Err(Error::PolicyExists { path: policy_path }),
        Ok(_) => plan.push((policy_path.clone(), policy_text.into_bytes())),
        Err(e) if e.is_not_found() => plan.push((policy_path.clone(), policy_text.into_bytes())),
        // a FIFO, a device, a giant: neither read nor replaced
        Err(e) => return Err(e.into()),
    }
    let schema_text = schema::json_schema();
    let schema_now = match crate::files::read(&schema_path, crate::files::OWN_FILE) {
        Ok(b) => Some(b),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e.into()),
    };
    if schema_now.as_deref() == Some(schema_text.as_bytes()) {
        report.unchanged.push(SCHEMA_IN_REPO.into());
    } else {
        plan.push((schema_path, schema_text.into_bytes()));
    }

    // a template with keyless identities names the public-good Sigstore
    // instance's trust files: written when absent, never replaced (a
    // refreshed or private-instance file stays)
    for (rel, bytes) in SIGSTORE_FILES {
        if !plan
            .iter()
            .any(|(p, text)| p == &policy_path && contains(text, rel.as_bytes()))
        {
            continue;
        }
        let path = root.join(rel);
        match crate::files::read(&path, crate::files::TRUST_FILE) {
            Ok(_) => report.unchanged.push((*rel).into()),
            Err(e) if e.is_not_found() => plan.push((path, bytes.to_vec())),
            Err(e) => return Err(e.into()),
        }
    }

    if let Some(ci) = &opts.ci {
        let files = templates::ci(ci).ok_or_else(|| Error::UnknownTemplate {
            name: format!("--ci {ci}"),
            available: "github, gitlab".into(),
        })?;
        for (rel, text) in files {
            let path = root.join(rel);
            match crate::files::read(&path, crate::files::OWN_FILE) {
                Ok(b) if b == text.as_bytes() => report.unchanged.push((*rel).into()),
                Ok(_) if !opts.force => {
                    return Err(Error::Unwritable {
                        path,
                        message: "it exists with other content; sigctl does not overwrite it (--force replaces it)".into(),
                    });
                }
                Ok(_) => plan.push((path, text.as_bytes().to_vec())),
                Err(e) if e.is_not_found() => plan.push((path, text.as_bytes().to_vec())),
                Err(e) => return Err(e.into()),
            }
        }
    }

    let mut wanted = settings(&cx.program);
    if opts.starter.is_some() {
        // the history's signers sign their own way (SSH, OpenPGP, gitsign):
        // making sigctl the repository's signing program would break that
        wanted.retain(|(k, _)| !k.starts_with("gpg."));
    }
    let pairs: Vec<(&str, &str)> = wanted.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let fetch = notes_refspecs(&cx.repo.remote_names());
    let added: Vec<(&str, &str)> = fetch
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let config = cx.repo.local_config_with(&pairs, &added)?;
    if config.is_some() {
        report.configured = wanted
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .chain(fetch)
            .collect();
    }

    // a signal from here on is held until every file and the config are
    // written (a few renames): init never stops half-way
    crate::interrupt::arm();
    if let Err(e) = crate::interrupt::checkpoint() {
        return Err(Error::Interrupted(e.to_string()));
    }
    crate::interrupt::test_point("init-write");
    commit_all(root, plan, config, &mut report)?;
    Ok(report)
}

/// Write every file through a temporary file and rename; the config through
/// git's own `config.lock` protocol. If any step fails, undo the ones before.
fn commit_all(
    root: &Path,
    plan: Vec<(PathBuf, Vec<u8>)>,
    config: Option<(PathBuf, Vec<u8>)>,
    report: &mut InitReport,
) -> Result<()> {
    let mut done: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
    let undo = |done: &[(PathBuf, Option<Vec<u8>>)]| {
        for (path, old) in done.iter().rev() {
            let _ = match old {
                Some(bytes) => std::fs::write(path, bytes),
                None => std::fs::remove_file(path),
            };
        }
    };
    let mut created_dirs = Vec::new();
    for (path, bytes) in &plan {
        // both were read above: absent, or regular files within their limits
        let old = crate::files::read(path, crate::files::OWN_FILE).ok();
        let res = (|| -> std::io::Result<()> {
            if let Some(dir) = path.parent()
                && !dir.exists()
            {
                std::fs::create_dir_all(dir)?;
                created_dirs.push(dir.to_path_buf());
            }
            write_via_temp(path, |w| w.write_all(bytes))
        })();
        if let Err(e) = res {
            undo(&done);
            for d in created_dirs.iter().rev() {
                let _ = std::fs::remove_dir(d);
            }
            return Err(Error::Unwritable {
                path: path.clone(),
                message: e.to_string(),
            });
        }
        done.push((path.clone(), old));
        report.written.push(
            path.strip_prefix(root)
                .unwrap_or(path)
                .display()
                .to_string(),
        );
    }
    if let Some((path, bytes)) = config
        && let Err(e) = write_via_lock(&path, &bytes)
    {
        undo(&done);
        for d in created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        return Err(Error::Unwritable {
            path,
            message: e.to_string(),
        });
    }
    Ok(())
}

/// Write `bytes` to `path` through a temporary file in the same directory and
/// a rename, creating the directory if needed: readers see the old file or
/// the new one, never a part.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, |w| w.write_all(bytes))
}

/// [`write_atomically`], the content written by `write` as it goes (nothing
/// held in memory whole).
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_via_temp(path, write)
}

fn write_via_temp(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    crate::tempfiles::clean_stale(path);
    let tmp = crate::tempfiles::name_for(path, 0);
    let res = (|| {
        let f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut w = std::io::BufWriter::new(f);
        write(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// git's protocol: create `<file>.lock` exclusively, write, rename over.
fn write_via_lock(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let lock = path.with_extension("lock");
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock)?;
    let res = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&lock, path));
    if res.is_err() {
        let _ = std::fs::remove_file(&lock);
    }
    res
}
