//! `sigctl check [PATH]`.

use std::path::PathBuf;

use time::OffsetDateTime;

use super::{EXIT_FINDINGS, EXIT_OK, color, fail, out, parse_now};
use crate::check::{self, CheckContext, CheckOptions};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::render::{Format, human, json};
use crate::repo::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The repository (any directory in it) or the policy file to check
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Judge certificate and exception dates as of this instant (RFC 3339) instead of now
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    now: Option<OffsetDateTime>,
    /// Fail on warnings too
    #[arg(long)]
    deny_warnings: bool,
    /// Also scan every blob ever committed for private keys
    #[arg(long)]
    history: bool,
}

pub fn run(a: Args) -> u8 {
    let start = a.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = match Repo::discover(&start) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let now = match a.now {
        Some(t) => FixedClock(t).now(),
        None => SystemClock.now(),
    };
    let cx = CheckContext {
        repo: &repo,
        policy_path: check::policy_path(&repo, a.path.as_deref()),
        now,
    };
    let report = match check::check(&cx, CheckOptions { history: a.history }) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let ok = report.ok(a.deny_warnings);
    match a.format {
        Format::Json => out(&json::check(ok, &report.diagnostics)),
        Format::Human => {
            let text = if color() {
                human::diagnostics_colored(&report.diagnostics, &report.sources, 100)
            } else {
                human::diagnostics(&report.diagnostics, &report.sources, 100)
            };
            out(&text);
            out(&format!(
                "{}\n",
                human::summary(&report.diagnostics, &report.policy_file)
            ));
        }
    }
    if ok { EXIT_OK } else { EXIT_FINDINGS }
}
