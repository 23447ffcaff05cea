//! `sigctl exception add|close|list`.

use time::OffsetDateTime;

use super::revoke::{BlastFormat, fail_edit, now};
use super::{EXIT_OK, fail, out, parse_now};
use crate::lifecycle::{exceptions, render};
use crate::policy::edit::NewException;
use crate::repo::Repo;

#[derive(Debug, clap::Subcommand)]
pub enum ExceptionCommand {
    /// Add an emergency exception to signing.toml (comments and layout kept)
    Add(AddArgs),
    /// Close an exception: it expires now, with its review recorded
    Close(CloseArgs),
    /// The exceptions of the policy, open and past, with days left
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Its id (a ticket, `INC-4711`)
    #[arg(long)]
    id: String,
    #[arg(long)]
    identity: String,
    #[arg(long = "environment", value_name = "ENV", required = true)]
    environments: Vec<String>,
    #[arg(long)]
    owner: String,
    #[arg(long = "approved-by", value_name = "WHO", required = true)]
    approved_by: Vec<String>,
    #[arg(long)]
    reason: String,
    /// When it ends (RFC 3339, or a duration such as 7d)
    #[arg(long, value_name = "TIME")]
    expires: String,
    /// Where it is reviewed (a tracker URL)
    #[arg(long, value_name = "URL")]
    review: Option<String>,
    /// A failing commit the chain may pass through (repeatable)
    #[arg(long = "commit", value_name = "COMMIT")]
    commits: Vec<String>,
    /// Take this instant (RFC 3339) as now
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    now: Option<OffsetDateTime>,
}

#[derive(Debug, clap::Args)]
pub struct CloseArgs {
    /// The exception's id
    id: String,
    /// Where its review is recorded (needed unless it has one)
    #[arg(long, value_name = "URL")]
    review: Option<String>,
    /// Take this instant (RFC 3339) as now
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    now: Option<OffsetDateTime>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "human")]
    format: BlastFormat,
    /// Count days left from this instant (RFC 3339) instead of now
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    now: Option<OffsetDateTime>,
}

pub fn run(c: ExceptionCommand) -> u8 {
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    match c {
        ExceptionCommand::Add(a) => {
            let now = now(a.now);
            let expires = match exceptions::parse_expiry(&a.expires, now) {
                Ok(t) => t,
                Err(e) => return fail_edit(&e),
            };
            let x = NewException {
                id: a.id,
                identity: a.identity,
                environments: a.environments,
                owner: a.owner,
                approved_by: a.approved_by,
                reason: a.reason,
                expires,
                review: a.review,
                commits: a.commits,
            };
            match exceptions::add(&repo, x, now) {
                Ok(o) => out(&render::exception_human("added", &o)),
                Err(e) => return fail_edit(&e),
            }
        }
        ExceptionCommand::Close(a) => {
            match exceptions::close(&repo, &a.id, a.review.as_deref(), now(a.now)) {
                Ok(o) => out(&render::exception_human("closed", &o)),
                Err(e) => return fail_edit(&e),
            }
        }
        ExceptionCommand::List(a) => {
            let rows = match exceptions::list(&repo, now(a.now)) {
                Ok(r) => r,
                Err(e) => return fail_edit(&e),
            };
            out(&match a.format {
                BlastFormat::Human => render::list_human(&rows),
                BlastFormat::Json => render::list_json(&rows),
                BlastFormat::Markdown => render::list_markdown(&rows),
            });
        }
    }
    EXIT_OK
}
