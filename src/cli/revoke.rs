//! `sigctl revoke --identity X --reason R [--since T]`.

use std::io::Write;

use time::OffsetDateTime;

use super::{EXIT_ERROR, EXIT_OK, fail, out, parse_now};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::lifecycle::policy_file::EditError;
use crate::lifecycle::{render, revoke};
use crate::policy::raw::RevocationReason;
use crate::repo::Repo;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BlastFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The identity to revoke
    #[arg(long)]
    identity: String,
    /// Why: key-compromise, superseded or offboarded (or retired)
    #[arg(long)]
    reason: String,
    /// For a key compromise: from when its signatures are no longer trusted (RFC 3339); default: from the revocation on
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    format: BlastFormat,
    /// Take this instant (RFC 3339) as now: the revocation's time
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    now: Option<OffsetDateTime>,
}

/// Print an edit refusal in the house style; exit 2.
pub(crate) fn fail_edit(e: &EditError) -> u8 {
    let mut msg = format!("error: {e}\n");
    if let Some(help) = miette::Diagnostic::help(e) {
        msg.push_str(&format!("hint: {help}\n"));
    }
    let _ = std::io::stderr().lock().write_all(msg.as_bytes());
    EXIT_ERROR
}

pub(crate) fn now(given: Option<OffsetDateTime>) -> OffsetDateTime {
    match given {
        Some(t) => FixedClock(t).now(),
        None => SystemClock.now(),
    }
}

pub fn run(a: Args) -> u8 {
    let Some(reason) = RevocationReason::parse(a.reason.trim()) else {
        return fail_edit(&EditError::usage(
            format!("unknown revocation reason `{}`", a.reason),
            "give one of key-compromise, superseded, offboarded, retired",
        ));
    };
    let since = match a
        .since
        .as_deref()
        .map(crate::policy::timestamp::Timestamp::parse)
    {
        None => None,
        Some(Ok(t)) => Some(t.0),
        Some(Err(e)) => {
            return fail_edit(&EditError::usage(
                format!("--since: {e}"),
                "the time the key may first have been out of your hands, such as 2026-05-20T00:00:00Z",
            ));
        }
    };
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let opts = revoke::RevokeOptions {
        identity: a.identity,
        reason,
        since,
    };
    let outcome = match revoke::revoke(&repo, &opts, now(a.now)) {
        Ok(o) => o,
        Err(e) => return fail_edit(&e),
    };
    out(&match a.format {
        BlastFormat::Human => render::revoke_human(&outcome),
        BlastFormat::Json => render::revoke_json(&outcome),
        BlastFormat::Markdown => render::revoke_markdown(&outcome),
    });
    EXIT_OK
}
