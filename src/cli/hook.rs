//! `sigctl hook install|uninstall`, and what the hooks run (`hook run`).

use std::io::{Read, Write};

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, fail, out};
use crate::clock::{Clock, SystemClock};
use crate::hooks::{self, Done, Hook};
use crate::render::human;
use crate::repo::Repo;

#[derive(Debug, clap::Subcommand)]
pub enum HookCommand {
    /// Install the git hooks (both when none is named), beside any hook already there
    Install {
        /// The pre-commit hook: check the staged policy and look for staged private keys
        #[arg(long)]
        pre_commit: bool,
        /// The pre-push hook: verify what a push publishes
        #[arg(long)]
        pre_push: bool,
        /// Both hooks
        #[arg(long)]
        all: bool,
    },
    /// Remove sigctl's hooks, putting back the hooks they chained
    Uninstall,
    /// What an installed hook runs (git calls it)
    #[command(hide = true)]
    Run {
        #[command(subcommand)]
        hook: RunHook,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum RunHook {
    PreCommit,
    PrePush {
        /// The remote's name (or URL)
        remote: Option<String>,
        /// The remote's URL
        url: Option<String>,
    },
}

fn err(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

pub fn run(c: HookCommand) -> u8 {
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    match c {
        HookCommand::Install {
            pre_commit,
            pre_push,
            all,
        } => {
            let mut which = Vec::new();
            if pre_commit || all {
                which.push(Hook::PreCommit);
            }
            if pre_push || all {
                which.push(Hook::PrePush);
            }
            if which.is_empty() {
                which = Hook::ALL.to_vec();
            }
            let program = match std::env::current_exe() {
                Ok(p) => p.display().to_string(),
                Err(e) => {
                    return fail(&crate::error::Error::Usage(format!(
                        "cannot tell where this sigctl is: {e}"
                    )));
                }
            };
            match hooks::install(&repo, &program, &which) {
                Ok(done) => {
                    for (h, path, d) in done {
                        out(&format!(
                            "{}: {}\n",
                            h.name(),
                            match d {
                                Done::Installed => format!("installed {}", path.display()),
                                Done::Chained => format!(
                                    "installed {}; the hook that was there runs after it ({}{})",
                                    path.display(),
                                    path.display(),
                                    hooks::CHAINED_SUFFIX
                                ),
                                Done::Updated => format!("updated {}", path.display()),
                                _ => format!("already installed ({})", path.display()),
                            }
                        ));
                    }
                    EXIT_OK
                }
                Err(e) => fail(&e),
            }
        }
        HookCommand::Uninstall => match hooks::uninstall(&repo) {
            Ok(done) => {
                for (h, path, d) in done {
                    let what = match d {
                        Done::Removed => format!("removed {}", path.display()),
                        Done::Restored => {
                            format!("removed; the chained hook is back at {}", path.display())
                        }
                        Done::NotOurs => format!("{} is not sigctl's: left alone", path.display()),
                        _ => "not installed".to_owned(),
                    };
                    out(&format!("{}: {what}\n", h.name()));
                }
                EXIT_OK
            }
            Err(e) => fail(&e),
        },
        HookCommand::Run {
            hook: RunHook::PreCommit,
        } => pre_commit(&repo),
        HookCommand::Run {
            hook: RunHook::PrePush { remote, .. },
        } => pre_push(&repo, remote.as_deref().unwrap_or("origin")),
    }
}

fn pre_commit(repo: &Repo) -> u8 {
    let found = match hooks::pre_commit(repo, SystemClock.now()) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    let r = &found.report;
    if !r.diagnostics.is_empty() {
        err(&human::diagnostics(&r.diagnostics, &r.sources, 100));
    }
    for n in &found.notes {
        err(&format!("sigctl pre-commit: note: {n}\n"));
    }
    if r.ok(false) {
        EXIT_OK
    } else {
        err(&format!(
            "sigctl pre-commit: {}; the commit was stopped (fix it, or bypass with SIGCTL_SKIP=1 / --no-verify: verify will still refuse it)\n",
            human::summary(&r.diagnostics, &r.policy_file)
        ));
        EXIT_FINDINGS
    }
}

fn pre_push(repo: &Repo, remote: &str) -> u8 {
    let mut input = String::new();
    // git gives the pushed refs on stdin; a terminal gives nothing to wait for
    let stdin = std::io::stdin();
    if !std::io::IsTerminal::is_terminal(&stdin)
        && stdin
            .lock()
            .take(16 << 20)
            .read_to_string(&mut input)
            .is_err()
    {
        err("sigctl pre-push: the refs git pushes could not be read\n");
        return EXIT_ERROR;
    }
    let mut pushed = match hooks::parse_pushed(&input) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    // the pre-commit framework reads git's lines itself and passes one ref
    // in its environment
    let mut remote = remote.to_owned();
    if pushed.is_empty()
        && let Ok(local) = std::env::var("PRE_COMMIT_TO_REF")
    {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        pushed.push(hooks::Pushed {
            local_ref: var("PRE_COMMIT_LOCAL_BRANCH"),
            local,
            remote_ref: var("PRE_COMMIT_REMOTE_BRANCH"),
            remote: match var("PRE_COMMIT_FROM_REF") {
                r if r.is_empty() => "0".repeat(40),
                r => r,
            },
        });
        if let Ok(r) = std::env::var("PRE_COMMIT_REMOTE_NAME") {
            remote = r;
        }
    }
    let remote = remote.as_str();
    let opts = match hooks::push_options(repo, remote, &pushed, super::verify::cache_key()) {
        Ok(Some(o)) => o,
        Ok(None) => return EXIT_OK,
        Err(e) => return fail(&e),
    };
    let report = match crate::verify::verify(
        repo,
        &opts,
        repo.config_string("sigctl.trustRoot"),
        SystemClock.now(),
        None,
    ) {
        Ok(r) => r,
        // nothing pushed, nor anything before it, carries a policy
        Err(crate::error::Error::NoPolicyInHistory) => {
            err(
                "sigctl pre-push: note: no commit of what is pushed, nor of its history, has a signing.toml: nothing to verify\n",
            );
            return EXIT_OK;
        }
        Err(e) => return fail(&e),
    };
    if report.results.is_empty() || report.ok() {
        return EXIT_OK;
    }
    err(&human::verify(&report));
    err(
        "sigctl pre-push: the push was stopped: the commits above would not verify on the remote ref (bypass with SIGCTL_SKIP=1 / --no-verify: verify will still refuse them)\n",
    );
    EXIT_FINDINGS
}
