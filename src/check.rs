//! `sigctl check`: load the policy, run every rule, scan for shadow keys.
//!
//! Reads the files the policy names and the repository; returns a report,
//! never prints.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use time::OffsetDateTime;

use crate::diag::{Code, Diagnostic, Severity, SourceFile};
use crate::error::{Error, Result};
use crate::lifecycle::shadow_keys;
use crate::policy::{self, CertInput, Inputs, MAX_CERTIFICATE_BYTES, load};
use crate::repo::Repo;

/// What `check` needs.
pub struct CheckContext<'a> {
    pub repo: &'a Repo,
    /// The policy file to check (normally `<root>/signing.toml`).
    pub policy_path: PathBuf,
    pub now: OffsetDateTime,
}

/// How `check` runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// Also scan every blob ever committed for private keys.
    pub history: bool,
}

/// The outcome: diagnostics in file order, with the sources they point into.
#[derive(Debug)]
pub struct CheckReport {
    pub policy_file: String,
    pub diagnostics: Vec<Diagnostic>,
    /// Redacted texts that diagnostics may show snippets of.
    pub sources: Vec<SourceFile>,
}

impl CheckReport {
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
    /// Whether the check passes (with `deny_warnings`, warnings fail it too).
    pub fn ok(&self, deny_warnings: bool) -> bool {
        self.errors() == 0 && (!deny_warnings || self.warnings() == 0)
    }
}

/// The policy path for `sigctl check [PATH]`: a file as given, or a
/// directory's repository root + `signing.toml`.
pub fn policy_path(repo: &Repo, given: Option<&Path>) -> PathBuf {
    match given {
        Some(p) if p.is_file() => p.to_path_buf(),
        _ => repo.root().join(policy::FILE_NAME),
    }
}

/// Run every check.
pub fn check(cx: &CheckContext, opts: CheckOptions) -> Result<CheckReport> {
    let root = cx.repo.root();
    let name = display_name(root, &cx.policy_path);
    let bytes = read_policy(&cx.policy_path)?;
    let parsed = load::parse(&name, &bytes);
    let mut diagnostics = match &parsed.result {
        Ok(raw) => {
            let mut inputs = Inputs::default();
            for path in policy::referenced_paths(raw) {
                let input = read_certificate(root, &path);
                inputs.certificates.insert(path, input);
            }
            policy::validate(raw, &parsed.source, &inputs, cx.now)
        }
        Err(d) => vec![d.clone()],
    };
    diagnostics.extend(shadow_key_scan(cx.repo, opts)?);
    Ok(CheckReport {
        policy_file: name,
        diagnostics,
        sources: vec![parsed.source],
    })
}

fn display_name(root: &Path, path: &Path) -> String {
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    canon
        .strip_prefix(root)
        .map_or_else(|_| path.display().to_string(), |p| p.display().to_string())
}

pub(crate) fn read_policy(path: &Path) -> Result<Vec<u8>> {
    let unreadable = |message: String| Error::Unreadable {
        path: path.to_path_buf(),
        message,
    };
    match std::fs::metadata(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoPolicy {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(unreadable(e.to_string())),
    }
    // regular files only (a FIFO would block); one byte past the limit is
    // enough for the file-too-large diagnostic
    let (file, _) = crate::files::open(
        path,
        crate::files::Kind {
            limit: u64::MAX,
            ..crate::files::POLICY
        },
    )?;
    let mut bytes = Vec::new();
    file.take(load::MAX_POLICY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(e.to_string()))?;
    Ok(bytes)
}

/// `rel` joined to the repository root, when it is a plain relative path
/// (not absolute, no `..`).
pub fn resolve_in_repo(root: &Path, rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.is_absolute()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    Some(root.join(p))
}

/// Read a certificate named in the policy, refusing paths that leave the repository.
pub fn read_certificate(root: &Path, rel: &str) -> CertInput {
    let Some(full) = resolve_in_repo(root, rel) else {
        return CertInput::OutsideRepository;
    };
    let meta = match std::fs::metadata(&full) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return CertInput::Missing,
        Err(e) => return CertInput::Unreadable(e.to_string()),
    };
    // a symlink may still lead out of the repository
    match std::fs::canonicalize(&full) {
        Ok(c) if c.starts_with(root) => {}
        Ok(_) => return CertInput::OutsideRepository,
        Err(e) => return CertInput::Unreadable(e.to_string()),
    }
    if meta.len() > MAX_CERTIFICATE_BYTES {
        return CertInput::TooLarge(meta.len());
    }
    match crate::files::read(&full, crate::files::TRUST_FILE) {
        Ok(b) => CertInput::Bytes(b),
        Err(crate::files::ReadError::NotRegular {
            what: "a directory",
            ..
        }) => CertInput::NotAFile,
        Err(crate::files::ReadError::TooLarge { .. }) => {
            CertInput::TooLarge(MAX_CERTIFICATE_BYTES + 1)
        }
        Err(e) => CertInput::Unreadable(e.to_string()),
    }
}

fn shadow_key_scan(repo: &Repo, opts: CheckOptions) -> Result<Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut tracked_blobs = HashSet::new();
    for f in repo.tracked_files()? {
        tracked_blobs.insert(f.blob);
        for k in shadow_keys::scan(&f.data) {
            out.push(shadow_key(&f.path, &k, None));
        }
    }
    if opts.history {
        let (found, _) = repo.scan_all_blobs(shadow_keys::scan)?;
        let found: Vec<_> = found
            .into_iter()
            .filter(|(id, _)| !tracked_blobs.contains(id))
            .collect();
        let wanted = found.iter().map(|(id, _)| *id).collect();
        let located = repo.locate_blobs(&wanted)?;
        for (blob, keys) in found {
            for k in keys {
                out.push(match located.get(&blob) {
                    Some((commit, path)) => shadow_key(path, &k, Some(commit.to_string())),
                    None => unreachable_shadow_key(&blob.to_string(), &k),
                });
            }
        }
    }
    Ok(out)
}

fn unreachable_shadow_key(blob: &str, k: &shadow_keys::Finding) -> Diagnostic {
    Diagnostic::at_line(
        Code::ShadowKey,
        format!("<object {blob}>"),
        k.line,
        k.column,
        format!("{} in git object {blob}, which no branch or tag reaches (amended, reset or only staged)", k.kind),
    )
    .label("private key material")
    .help(
        "treat the key as compromised and revoke it; then drop the object with \
         `git reflog expire --expire=now --all && git gc --prune=now`",
    )
}

fn shadow_key(path: &str, k: &shadow_keys::Finding, commit: Option<String>) -> Diagnostic {
    let (message, help) = match &commit {
        None => (
            format!("{} in tracked file `{path}`", k.kind),
            "remove the file from the repository (`git rm --cached`), revoke the key, and keep keys in an HSM \
             (`sigctl key generate`); a key that was committed must be treated as compromised",
        ),
        Some(c) => (
            format!("{} in history: commit {c}, file `{path}`", k.kind),
            "this key was committed and must be treated as compromised: revoke it and rotate; rewriting \
             history does not un-publish it",
        ),
    };
    Diagnostic::at_line(Code::ShadowKey, path, k.line, k.column, message)
        .label("private key material")
        .help(help)
}
