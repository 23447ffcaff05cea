//! The work tree's `signing.toml` as `revoke` and `exception` edit it: read
//! only when it is what HEAD holds (an edit is never merged into local
//! changes), the edited text checked as `sigctl check` would before it is
//! written, and written atomically (temporary file + rename, the file's
//! permissions kept), so a failure leaves the file byte for byte as it was.

use std::collections::BTreeSet;
use std::path::PathBuf;

use time::OffsetDateTime;

use crate::check;
use crate::diag::Severity;
use crate::policy::{self, Inputs, RawPolicy, load};
use crate::repo::Repo;

/// Why an edit of signing.toml was refused (exit 2; nothing is written).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EditError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Repo(#[from] crate::error::Error),

    #[error("HEAD has no signing.toml: sigctl edits only a committed policy")]
    #[diagnostic(
        code(policy_not_committed),
        help("commit signing.toml first (`sigctl init` writes one)")
    )]
    NotCommitted,

    #[error(
        "signing.toml has local changes ({0}): sigctl edits only the policy HEAD holds, never on top of uncommitted changes"
    )]
    #[diagnostic(
        code(policy_has_local_changes),
        help(
            "commit them (signed by an admin) or set them aside with `git stash`, then run this again"
        )
    )]
    LocalChanges(&'static str),

    #[error("signing.toml in the work tree is not a regular file")]
    #[diagnostic(
        code(policy_not_a_file),
        help("replace the link with the file itself; sigctl never writes through a link")
    )]
    NotAFile,

    #[error("signing.toml does not parse: {0}")]
    #[diagnostic(
        code(policy_invalid),
        help("fix it first: `sigctl check` points at the error")
    )]
    Invalid(String),

    #[error("the edited signing.toml would not pass `sigctl check`:\n{0}")]
    #[diagnostic(
        code(edit_invalid),
        help("nothing was written; correct the values given (or the policy) and run this again")
    )]
    EditInvalid(String),

    #[error("{0}")]
    #[diagnostic(code(edit))]
    Edit(#[from] policy::edit::EditError),

    #[error("{message}")]
    #[diagnostic(code(usage), help("{help}"))]
    Usage { message: String, help: String },

    #[error("signing.toml changed while sigctl was editing it: nothing was written")]
    #[diagnostic(code(policy_changed), help("run the command again"))]
    ChangedMeanwhile,

    #[error("cannot write {path}: {message}")]
    #[diagnostic(code(unwritable))]
    Unwritable { path: PathBuf, message: String },
}

impl EditError {
    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Self {
        EditError::Usage {
            message: message.into(),
            help: help.into(),
        }
    }
}

/// The policy as it stands in the work tree.
pub struct PolicyFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub text: String,
    pub raw: RawPolicy,
}

/// Read the work tree's signing.toml (it must parse).
pub fn read(repo: &Repo) -> Result<PolicyFile, EditError> {
    let path = repo.root().join(policy::FILE_NAME);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if !m.file_type().is_file() => return Err(EditError::NotAFile),
        _ => {}
    }
    let bytes = check::read_policy(&path)?;
    let parsed = load::parse(policy::FILE_NAME, &bytes);
    let raw = parsed.result.map_err(|d| EditError::Invalid(d.message))?;
    let text =
        String::from_utf8(bytes.clone()).map_err(|_| EditError::Invalid("not UTF-8".to_owned()))?;
    Ok(PolicyFile {
        path,
        bytes,
        text,
        raw,
    })
}

/// [`read`], refusing a policy that differs from HEAD's in the work tree
/// or the index.
pub fn read_for_edit(repo: &Repo) -> Result<PolicyFile, EditError> {
    let Some((head_blob, head_bytes)) = repo.file_at_head(policy::FILE_NAME)? else {
        return Err(EditError::NotCommitted);
    };
    let staged = repo
        .staged_files()?
        .into_iter()
        .find(|(p, _)| p == policy::FILE_NAME)
        .map(|(_, id)| id.to_string());
    if staged.as_deref() != Some(head_blob.as_str()) {
        return Err(EditError::LocalChanges("staged in the index"));
    }
    let file = read(repo)?;
    if file.bytes != head_bytes {
        return Err(EditError::LocalChanges("in the work tree"));
    }
    Ok(file)
}

/// The errors `sigctl check` finds in `text` (its policy rules, with the
/// files it names read from the work tree), as `code: message` lines.
fn errors(repo: &Repo, text: &str, now: OffsetDateTime) -> Result<BTreeSet<String>, EditError> {
    let parsed = load::parse(policy::FILE_NAME, text.as_bytes());
    let raw = match &parsed.result {
        Ok(raw) => raw,
        Err(d) => return Ok([format!("{}: {}", d.code.as_str(), d.message)].into()),
    };
    let mut inputs = Inputs::default();
    for path in policy::referenced_paths(raw) {
        let input = check::read_certificate(repo.root(), &path);
        inputs.certificates.insert(path, input);
    }
    Ok(policy::validate(raw, &parsed.source, &inputs, now)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.code.as_str(), d.message))
        .collect())
}

/// Refuse `new` when it has an error `sigctl check` would report that the
/// current policy does not have; the parsed new policy otherwise.
pub fn validate(
    repo: &Repo,
    old: &PolicyFile,
    new: &str,
    now: OffsetDateTime,
) -> Result<RawPolicy, EditError> {
    let before = errors(repo, &old.text, now)?;
    let after = errors(repo, new, now)?;
    let added: Vec<String> = after.difference(&before).cloned().collect();
    if !added.is_empty() {
        return Err(EditError::EditInvalid(
            added
                .iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    load::parse(policy::FILE_NAME, new.as_bytes())
        .result
        .map_err(|d| EditError::EditInvalid(format!("  {}: {}", d.code.as_str(), d.message)))
}

/// Replace the file with `new`: a temporary file beside it with the same
/// permissions, synced, renamed over it, but only if the file still holds
/// what was read.
pub fn write(old: &PolicyFile, new: &str) -> Result<(), EditError> {
    use std::io::Write;
    let unwritable = |e: std::io::Error| EditError::Unwritable {
        path: old.path.clone(),
        message: e.to_string(),
    };
    let perms = std::fs::metadata(&old.path)
        .map_err(unwritable)?
        .permissions();
    crate::tempfiles::clean_stale(&old.path);
    let tmp = crate::tempfiles::name_for(&old.path, 0);
    let res = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(unwritable)?;
        f.write_all(new.as_bytes()).map_err(unwritable)?;
        f.set_permissions(perms).map_err(unwritable)?;
        f.sync_all().map_err(unwritable)?;
        drop(f);
        // the narrowest window: someone else's edit since we read is kept
        if std::fs::read(&old.path).map_err(unwritable)? != old.bytes {
            return Err(EditError::ChangedMeanwhile);
        }
        std::fs::rename(&tmp, &old.path).map_err(unwritable)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Who may sign the commit of a policy change: each admin owner, with the
/// identities it owns (`security (alice, ci-admin)`).
pub fn admins(raw: &RawPolicy) -> Vec<String> {
    raw.policy
        .admins
        .iter()
        .map(|a| {
            let ids: Vec<&str> = raw
                .identities
                .iter()
                .filter(|(_, id)| id.owner.get() == a.get())
                .map(|(n, _)| n.get().as_str())
                .collect();
            if ids.is_empty() {
                format!("{} (owns no identity)", a.get())
            } else {
                format!("{} ({})", a.get(), ids.join(", "))
            }
        })
        .collect()
}
