//! Operational errors: what stops a command before it can judge anything
//! (exit 2). Findings are not errors; they are diagnostics in a report.

use std::path::PathBuf;

/// An error that ends a command with exit status 2.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("{path} is not inside a git repository")]
    #[diagnostic(
        code(not_a_repository),
        help("run sigctl inside a git repository, or create one with `git init`")
    )]
    NotARepository { path: PathBuf },

    #[error("cannot open the git repository at {path}: {message}")]
    #[diagnostic(code(repository))]
    Repository { path: PathBuf, message: String },

    #[error("no signing.toml at {path}")]
    #[diagnostic(code(no_policy), help("create one with `sigctl init`"))]
    NoPolicy { path: PathBuf },

    #[error("cannot read {path}: {message}")]
    #[diagnostic(code(unreadable))]
    Unreadable { path: PathBuf, message: String },

    #[error("{0}")]
    #[diagnostic(code(interrupted))]
    Interrupted(String),

    #[error(
        "{path} is a shallow clone: its history stops at {boundary} commit(s) whose parents it does not hold, and sigctl judges every commit against the history before it"
    )]
    #[diagnostic(
        code(shallow_clone),
        help(
            "fetch the whole history: `git fetch --unshallow` (in CI: a full clone, e.g. actions/checkout with `fetch-depth: 0`, or GIT_DEPTH=0 on GitLab); a depth that reaches the commit that introduced signing.toml is not enough, as every parent of a judged commit must be present"
        )
    )]
    Shallow { path: PathBuf, boundary: usize },

    #[error("cannot write {path}: {message}")]
    #[diagnostic(code(unwritable))]
    Unwritable { path: PathBuf, message: String },

    #[error("{path} already exists")]
    #[diagnostic(code(policy_exists), help("pass --force to replace it"))]
    PolicyExists { path: PathBuf },

    #[error("unknown template `{name}`")]
    #[diagnostic(code(unknown_template), help("available templates: {available}"))]
    UnknownTemplate { name: String, available: String },

    #[error("no commit in this history has a signing.toml: nothing to verify against")]
    #[diagnostic(code(no_policy_in_history), help("adopt a policy with `sigctl init`"))]
    NoPolicyInHistory,

    #[error("git: {0}")]
    #[diagnostic(code(git))]
    Git(String),

    #[error("{0}")]
    #[diagnostic(code(usage))]
    Usage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
