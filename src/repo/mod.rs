//! Everything that touches git goes through here; the only module that
//! reads or writes through gix (others use its `ObjectId` value, re-exported).
//!
//! It reads objects, the index and config, and writes repository-local
//! config. It never judges anything: callers get bytes and ids.

pub mod blobs;
pub mod git_config;
pub mod notes;
pub mod objects;
pub mod walk;

/// Object ids are plain values the rest of sigctl passes around.
pub use gix::ObjectId;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// An open repository with a work tree.
#[derive(Clone)]
pub struct Repo {
    pub(crate) inner: gix::Repository,
    root: PathBuf,
}

impl Repo {
    /// Find the repository containing `path` (a directory or a file).
    pub fn discover(path: &Path) -> Result<Self> {
        let start = if path.is_file() {
            path.parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        } else {
            path.to_path_buf()
        };
        let start = if start.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            start
        };
        // messages name a real place, not `.`
        let start = std::path::absolute(&start).unwrap_or(start);
        if !start.exists() {
            return Err(Error::Repository {
                path: start,
                message: "no such directory".into(),
            });
        }
        use gix::discover::upwards::Error as Up;
        if let Err(e) = gix::discover::upwards(&start)
            && matches!(
                e.downcast_any_ref::<Up>(),
                Some(
                    Up::NoGitRepository { .. }
                        | Up::NoGitRepositoryWithinCeiling { .. }
                        | Up::NoGitRepositoryWithinFs { .. }
                )
            )
        {
            return Err(Error::NotARepository { path: start });
        }
        // objects are what they are: replace refs never substitute one
        // object for another under sigctl (as GIT_NO_REPLACE_OBJECTS)
        let mut trust = gix::sec::trust::Mapping::<gix::open::Options>::default();
        for options in [&mut trust.full, &mut trust.reduced] {
            *options = std::mem::take(options).config_overrides(["core.useReplaceRefs=false"]);
        }
        let inner = gix::ThreadSafeRepository::discover_opts(&start, Default::default(), trust)
            .map(gix::Repository::from)
            .map_err(|e| Error::Repository {
                path: start.clone(),
                message: open_error_text(&e),
            })?;
        let root = match inner.workdir() {
            Some(w) => w.to_path_buf(),
            None => {
                return Err(Error::Repository {
                    path: start,
                    message: "it is a bare repository; sigctl needs a work tree".into(),
                });
            }
        };
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        Ok(Self { inner, root })
    }

    /// Open the repository at exactly `path` (a work tree or a git
    /// directory, bare or not), never one above it: `inventory` names
    /// repositories, it does not search upwards from them. A bare
    /// repository's `root` is its git directory: read it through its
    /// objects (HEAD's tree), never a work tree.
    pub fn open_exact(path: &Path) -> Result<Self> {
        let mut options = gix::open::Options::isolated();
        options = options.config_overrides(["core.useReplaceRefs=false"]);
        let inner = gix::ThreadSafeRepository::open_opts(path, options)
            .map(gix::Repository::from)
            .map_err(|e| Error::Repository {
                path: path.to_path_buf(),
                message: open_error_text(&e),
            })?;
        let root = inner
            .workdir()
            .map_or_else(|| inner.git_dir().to_path_buf(), Path::to_path_buf);
        Ok(Self { inner, root })
    }

    /// Whether the repository has no work tree.
    pub fn is_bare(&self) -> bool {
        self.inner.workdir().is_none()
    }

    /// The work tree's root directory (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How many commits `.git/shallow` lists (0: a complete clone).
    pub fn shallow_boundary(&self) -> usize {
        let path = self.inner.common_dir().join("shallow");
        crate::files::read(&path, crate::files::OWN_FILE)
            .map(|b| b.split(|c| *c == b'\n').filter(|l| !l.is_empty()).count())
            .unwrap_or(0)
    }

    /// The directory of the repository's own files (`.git`, shared by worktrees).
    pub fn common_dir(&self) -> &Path {
        self.inner.common_dir()
    }
}

/// Why a repository could not be opened, in words: the error and its
/// causes by their messages (gix's own carry Rust debug structures).
fn open_error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = Vec::new();
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = at {
        chain.push(err.to_string());
        at = err.source();
    }
    let all = chain.join(": ");
    if all.contains("Object format is not enabled") || all.contains("objectFormat") {
        return "it uses SHA-256 object names (extensions.objectFormat = sha256); sigctl reads SHA-1 repositories only"
            .into();
    }
    all
}

pub(crate) fn git_err(e: impl std::fmt::Display) -> Error {
    Error::Git(e.to_string())
}
