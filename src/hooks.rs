//! Git hooks: installed beside (never over) the repository's own hooks, and
//! what they run: `pre-commit` checks what is staged (the policy and the
//! files it names as the index has them, private keys in any staged file);
//! `pre-push` verifies exactly what a push publishes, for the remote refs it
//! will become.
//!
//! Returns values and typed errors; never prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::check::CheckReport;
use crate::diag::{Code, Diagnostic};
use crate::error::{Error, Result};
use crate::lifecycle::shadow_keys;
use crate::policy::{self, CertInput, Inputs, load};
use crate::repo::Repo;

/// A hook sigctl installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    PreCommit,
    PrePush,
}

impl Hook {
    pub const ALL: [Hook; 2] = [Hook::PreCommit, Hook::PrePush];

    pub fn name(self) -> &'static str {
        match self {
            Hook::PreCommit => "pre-commit",
            Hook::PrePush => "pre-push",
        }
    }
}

/// The line that marks a hook file as sigctl's.
pub const MARKER: &str = "# sigctl hook: managed by `sigctl hook install`";
/// Where a hook that was there before sigctl's is kept (and run after it).
pub const CHAINED_SUFFIX: &str = ".sigctl-chained";

/// What happened to one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Installed,
    /// Installed; the hook that was there runs after sigctl's.
    Chained,
    Updated,
    Unchanged,
    Removed,
    /// Removed; the chained hook is back in its place.
    Restored,
    /// Not sigctl's: left alone.
    NotOurs,
    Absent,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The hook script: sigctl first, then the chained hook with the same
/// arguments (and, for pre-push, the same standard input).
pub fn script(hook: Hook, program: &str) -> String {
    let program = quote(program);
    let skip = "if [ \"${SIGCTL_SKIP:-}\" = \"1\" ]; then\n  echo \"sigctl: SIGCTL_SKIP=1: the sigctl hook was skipped (sigctl verify still refuses what it would have)\" >&2\n";
    match hook {
        Hook::PreCommit => format!(
            "#!/bin/sh\n{MARKER}; `sigctl hook uninstall` removes it\n{skip}else\n  {program} hook run pre-commit || exit $?\nfi\nif [ -x \"$0{CHAINED_SUFFIX}\" ]; then\n  exec \"$0{CHAINED_SUFFIX}\" \"$@\"\nfi\nexit 0\n"
        ),
        Hook::PrePush => format!(
            "#!/bin/sh\n{MARKER}; `sigctl hook uninstall` removes it\ninput=$(cat)\n{skip}else\n  printf '%s\\n' \"$input\" | {program} hook run pre-push \"$@\" || exit $?\nfi\nif [ -x \"$0{CHAINED_SUFFIX}\" ]; then\n  printf '%s\\n' \"$input\" | \"$0{CHAINED_SUFFIX}\" \"$@\"\n  exit $?\nfi\nexit 0\n"
        ),
    }
}

fn is_ours(path: &Path) -> Option<bool> {
    match crate::files::read(path, crate::files::OWN_FILE) {
        Ok(b) => Some(String::from_utf8_lossy(&b).contains(MARKER)),
        Err(e) if e.is_not_found() => None,
        // a hook that is not a readable regular file is not ours
        Err(_) => Some(false),
    }
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn write_executable(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = crate::tempfiles::name_for(path, 0);
    std::fs::write(&tmp, text)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Install `hooks` calling `program`: idempotent; an existing hook that is
/// not sigctl's is kept as `NAME.sigctl-chained` and run after sigctl's.
/// Every conflict is found before anything is written.
pub fn install(repo: &Repo, program: &str, hooks: &[Hook]) -> Result<Vec<(Hook, PathBuf, Done)>> {
    let dir = repo.hooks_dir();
    let unwritable = |path: &Path, e: std::io::Error| Error::Unwritable {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut plan = Vec::new();
    for &h in hooks {
        let path = dir.join(h.name());
        let chained = dir.join(format!("{}{CHAINED_SUFFIX}", h.name()));
        let want = script(h, program);
        let done = match is_ours(&path) {
            None if exists(&path) => {
                return Err(Error::Unwritable {
                    path,
                    message: "it is a dangling link; remove it or point it at a hook".into(),
                });
            }
            None => Done::Installed,
            Some(true) => {
                let now = crate::files::read(&path, crate::files::OWN_FILE).unwrap_or_default();
                if now == want.as_bytes() {
                    Done::Unchanged
                } else {
                    Done::Updated
                }
            }
            Some(false) if exists(&chained) => {
                return Err(Error::Unwritable {
                    path: path.clone(),
                    message: format!(
                        "a hook is there and {} already holds another: sigctl will not overwrite either; merge them by hand",
                        chained.display()
                    ),
                });
            }
            Some(false) => Done::Chained,
        };
        plan.push((h, path, chained, want, done));
    }
    std::fs::create_dir_all(&dir).map_err(|e| unwritable(&dir, e))?;
    let mut out = Vec::new();
    for (h, path, chained, want, done) in plan {
        match done {
            Done::Unchanged => {}
            Done::Chained => {
                std::fs::rename(&path, &chained).map_err(|e| unwritable(&path, e))?;
                if let Err(e) = write_executable(&path, &want) {
                    let _ = std::fs::rename(&chained, &path);
                    return Err(unwritable(&path, e));
                }
            }
            _ => write_executable(&path, &want).map_err(|e| unwritable(&path, e))?,
        }
        out.push((h, path, done));
    }
    Ok(out)
}

/// Remove sigctl's hooks, putting back the hooks they chained.
pub fn uninstall(repo: &Repo) -> Result<Vec<(Hook, PathBuf, Done)>> {
    let dir = repo.hooks_dir();
    let mut out = Vec::new();
    for h in Hook::ALL {
        let path = dir.join(h.name());
        let chained = dir.join(format!("{}{CHAINED_SUFFIX}", h.name()));
        let done = match is_ours(&path) {
            None => Done::Absent,
            Some(false) => Done::NotOurs,
            Some(true) => {
                let fail = |e: std::io::Error| Error::Unwritable {
                    path: path.clone(),
                    message: e.to_string(),
                };
                if exists(&chained) {
                    std::fs::rename(&chained, &path).map_err(fail)?;
                    Done::Restored
                } else {
                    std::fs::remove_file(&path).map_err(fail)?;
                    Done::Removed
                }
            }
        };
        out.push((h, path, done));
    }
    Ok(out)
}

/// What `pre-commit` found.
pub struct PreCommit {
    /// The staged policy checked, and private keys in staged files.
    pub report: CheckReport,
    /// Notes for the committer (no policy staged; a policy change the
    /// configured identity cannot sign).
    pub notes: Vec<String>,
}

/// The largest staged file scanned for private keys; a larger one is named
/// as not scanned (a warning), never passed in silence.
pub const MAX_STAGED_SCAN: u64 = crate::repo::blobs::MAX_SCAN_BYTES;

/// Check what is staged: `signing.toml` and the files it names as the
/// index holds them, and every staged file whose content HEAD does not hold for
/// private keys.
pub fn pre_commit(repo: &Repo, now: OffsetDateTime) -> Result<PreCommit> {
    let staged: BTreeMap<String, gix::ObjectId> = repo.staged_files()?.into_iter().collect();
    let mut notes = Vec::new();
    let mut diagnostics = Vec::new();
    let mut sources = Vec::new();
    let head = repo.file_at_head(policy::FILE_NAME).ok().flatten();
    match staged.get(policy::FILE_NAME) {
        None => notes.push(
            "no signing.toml is staged: there is no policy to check (private keys are still looked for)"
                .to_owned(),
        ),
        Some(id) => {
            let bytes = repo
                .blob_within(id, load::MAX_POLICY_BYTES as u64)?
                .unwrap_or_else(|| vec![b'#'; load::MAX_POLICY_BYTES + 1]);
            let parsed = load::parse(policy::FILE_NAME, &bytes);
            match &parsed.result {
                Ok(raw) => {
                    let mut inputs = Inputs::default();
                    for path in policy::referenced_paths(raw) {
                        let input = match staged.get(&path) {
                            None => CertInput::Missing,
                            Some(b) => match repo.blob_within(b, policy::MAX_CERTIFICATE_BYTES)? {
                                Some(bytes) => CertInput::Bytes(bytes),
                                None => CertInput::TooLarge(policy::MAX_CERTIFICATE_BYTES + 1),
                            },
                        };
                        inputs.certificates.insert(path, input);
                    }
                    diagnostics.extend(policy::validate(raw, &parsed.source, &inputs, now));
                    if let Some(note) = admin_note(repo, head.as_ref(), id, raw, &staged) {
                        notes.push(note);
                    }
                }
                Err(d) => diagnostics.push(d.clone()),
            }
            sources.push(parsed.source);
        }
    }
    // private keys in what this commit adds: content HEAD already holds, at
    // any path, is history (`sigctl check` names it where it is); one read
    // per tree of HEAD, not a lookup per staged file
    let head_blobs = match repo
        .resolve_commit_id("HEAD")
        .ok()
        .and_then(|h| repo.commit_info(&h).ok())
    {
        Some(c) => repo.tree_blob_ids(&c.tree)?,
        None => Default::default(),
    };
    for (path, id) in &staged {
        if head_blobs.contains(id) {
            continue;
        }
        match repo.blob_within(id, MAX_STAGED_SCAN)? {
            Some(data) => {
                for k in shadow_keys::scan(&data) {
                    diagnostics.push(
                        Diagnostic::at_line(
                            Code::ShadowKey,
                            path,
                            k.line,
                            k.column,
                            format!("{} in staged file `{path}`", k.kind),
                        )
                        .label("private key material")
                        .help(
                            "unstage it (`git restore --staged`), revoke the key, and keep keys in an HSM (`sigctl key generate`)",
                        ),
                    );
                }
            }
            None => diagnostics.push(
                Diagnostic::at_line(
                    Code::ShadowKey,
                    path,
                    1,
                    1,
                    format!(
                        "staged file `{path}` is larger than {MAX_STAGED_SCAN} bytes and was not scanned for private keys"
                    ),
                )
                .help("keep large binaries out of the repository, or scan them yourself")
                .with_severity(crate::diag::Severity::Warning),
            ),
        }
    }
    Ok(PreCommit {
        report: CheckReport {
            policy_file: policy::FILE_NAME.to_owned(),
            diagnostics,
            sources,
        },
        notes,
    })
}

/// A staged policy change (signing.toml or a file it names differs from
/// HEAD's) that the configured signing identity cannot authorise.
fn admin_note(
    repo: &Repo,
    head: Option<&(String, Vec<u8>)>,
    staged_policy: &gix::ObjectId,
    staged_raw: &policy::raw::RawPolicy,
    staged: &BTreeMap<String, gix::ObjectId>,
) -> Option<String> {
    let (head_blob, head_bytes) = head?;
    let head_raw = load::parse(policy::FILE_NAME, head_bytes).result.ok()?;
    let head_tree = repo
        .resolve_commit_id("HEAD")
        .ok()
        .and_then(|h| repo.commit_info(&h).ok())?;
    let files_changed = policy::referenced_paths(staged_raw)
        .into_iter()
        .chain(policy::referenced_paths(&head_raw))
        .any(|p| staged.get(&p).copied() != repo.blob_in_tree(&head_tree.tree, &p).ok().flatten());
    let same_policy =
        gix::ObjectId::from_hex(head_blob.as_bytes()).is_ok_and(|h| h == *staged_policy);
    if same_policy && !files_changed {
        return None;
    }
    let admins: Vec<String> = head_raw
        .policy
        .admins
        .iter()
        .map(|a| a.get().clone())
        .collect();
    match repo.config_string("user.signingkey") {
        Some(id) if policy::view::is_admin(&head_raw, &id) => None,
        Some(id) => Some(format!(
            "this commit changes the policy, and your signing identity `{id}` is not owned by an admin ({}): it will not verify (policy-change-without-admin); have an admin sign it",
            admins.join(", ")
        )),
        None => Some(format!(
            "this commit changes the policy, and no user.signingkey is set: an identity owned by an admin ({}) must sign it",
            admins.join(", ")
        )),
    }
}

/// One line git gives a pre-push hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub local_ref: String,
    pub local: String,
    pub remote_ref: String,
    pub remote: String,
}

fn is_zero(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b == b'0')
}

/// Parse git's pre-push lines (blank lines ignored).
pub fn parse_pushed(input: &str) -> Result<Vec<Pushed>> {
    input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [lr, ls, rr, rs] => Ok(Pushed {
                    local_ref: (*lr).to_owned(),
                    local: (*ls).to_owned(),
                    remote_ref: (*rr).to_owned(),
                    remote: (*rs).to_owned(),
                }),
                _ => Err(Error::Usage(format!(
                    "not a pre-push line (local-ref local-sha remote-ref remote-sha): `{}`",
                    l.chars().take(200).collect::<String>()
                ))),
            }
        })
        .collect()
}

/// What verify is asked, for a push: per pushed ref, what it adds over what
/// the remote has (the remote's old value when this repository has it, else
/// everything not on the remote's tracking refs), judged for the remote ref.
pub fn push_options(
    repo: &Repo,
    remote: &str,
    pushed: &[Pushed],
    cache_key: Option<Vec<u8>>,
) -> Result<Option<crate::verify::VerifyOptions>> {
    let mut specs = Vec::new();
    let mut as_refs = Vec::new();
    let mut new_history = false;
    for p in pushed {
        if is_zero(&p.local) {
            continue; // a deleted ref publishes nothing
        }
        let known = !is_zero(&p.remote) && repo.resolve_commit_id(&p.remote).is_ok();
        if known {
            specs.push(format!("{}..{}", p.remote, p.local));
        } else {
            specs.push(p.local.clone());
            new_history = true;
        }
        as_refs.push(Some(p.remote_ref.clone()));
    }
    if specs.is_empty() {
        return Ok(None);
    }
    let exclude = if new_history {
        repo.refs_under(&format!("refs/remotes/{remote}/"))?
            .into_iter()
            .map(|(_, id)| id.to_string())
            .collect()
    } else {
        Vec::new()
    };
    Ok(Some(crate::verify::VerifyOptions {
        specs,
        trust_root: None,
        cache_key,
        as_refs,
        exclude,
        policy: None,
    }))
}
