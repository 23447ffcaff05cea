//! `sigctl verify [REF | A..B]… [--trust-root COMMIT] [--policy FILE]`.

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, color, fail, out};
use crate::clock::{Clock, SystemClock};
use crate::render::{Format, human, json};
use crate::repo::Repo;
use crate::verify::{self, VerifyOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Refs, commits or `A..B` ranges to verify (default HEAD)
    specs: Vec<String>,
    /// The commit authentication starts from (default: git config sigctl.trustRoot, else the commit that introduced signing.toml)
    #[arg(long, value_name = "COMMIT")]
    trust_root: Option<String>,
    /// Judge every commit and tag by this policy file instead of the repository's signing.toml (files it names are read beside it); default range: the whole history
    #[arg(long, value_name = "FILE")]
    policy: Option<std::path::PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Neither read nor update the signature cache in .git/sigctl/
    #[arg(long)]
    no_cache: bool,
}

/// Where the cache key lives: the user's cache directory, outside every repository.
pub(crate) fn cache_key_dir() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?;
    Some(base.join("sigctl"))
}

/// The verify cache's key (None: no cache). A key file that is there but
/// unusable is named in a warning on stderr; verification goes on without
/// the cache.
pub(crate) fn cache_key() -> Option<Vec<u8>> {
    let dir = cache_key_dir()?;
    let key = verify::cache::key(&dir);
    if key.is_none()
        && let Some(warning) = verify::cache::key_problem(&dir)
    {
        let mut err = std::io::stderr().lock();
        let _ = std::io::Write::write_all(&mut err, format!("warning: {warning}\n").as_bytes());
    }
    key
}

pub fn run(a: Args) -> u8 {
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let specs_shown = a.specs.clone();
    // an external policy is checked before anything is judged
    let policy = match &a.policy {
        None => None,
        Some(path) => match verify::external::load(path, SystemClock.now()) {
            Ok(Ok(p)) => Some(std::sync::Arc::new(p)),
            Ok(Err(report)) => {
                let text = if color() {
                    human::diagnostics_colored(&report.diagnostics, &report.sources, 100)
                } else {
                    human::diagnostics(&report.diagnostics, &report.sources, 100)
                };
                let mut err = std::io::stderr().lock();
                let _ = std::io::Write::write_all(&mut err, text.as_bytes());
                let _ = std::io::Write::write_all(
                    &mut err,
                    format!(
                        "error: the policy file {} has errors: nothing was verified\n",
                        path.display()
                    )
                    .as_bytes(),
                );
                return EXIT_ERROR;
            }
            Err(e) => return fail(&e),
        },
    };
    // the repository's own trust-root setting belongs to its signing.toml
    let config_trust_root = if policy.is_some() {
        None
    } else {
        repo.config_string("sigctl.trustRoot")
    };
    let opts = VerifyOptions {
        specs: a.specs,
        trust_root: a.trust_root,
        cache_key: if a.no_cache { None } else { cache_key() },
        as_refs: Vec::new(),
        exclude: Vec::new(),
        policy,
    };
    // a one-line progress display on a terminal, for long histories only
    let on_terminal = {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal()
    };
    let draw = |stage: &str, done: usize, total: usize| {
        if total >= 5_000 {
            let mut err = std::io::stderr().lock();
            let _ = std::io::Write::write_all(
                &mut err,
                format!("\r\x1b[2Ksigctl verify: {stage} {done}/{total}").as_bytes(),
            );
        }
    };
    let progress: Option<verify::Progress> = if on_terminal { Some(&draw) } else { None };
    let result = verify::verify(&repo, &opts, config_trust_root, SystemClock.now(), progress);
    if on_terminal {
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), b"\r\x1b[2K");
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    // "0 of 0 valid" is no verdict: an empty range verified nothing
    if report.results.is_empty() {
        return fail(&crate::error::Error::Usage(format!(
            "nothing to verify: {} names no commit and no tag, and verifying nothing is no success (an empty range: skip the call when there is nothing new)",
            if specs_shown.is_empty() {
                "HEAD".to_owned()
            } else {
                specs_shown.join(" ")
            }
        )));
    }
    match a.format {
        Format::Json => {
            // a closed pipe is not an error
            let _ = json::write_verify(&report, &mut std::io::stdout().lock());
        }
        Format::Human => out(&human::verify(&report)),
    }
    if report.ok() { EXIT_OK } else { EXIT_FINDINGS }
}
