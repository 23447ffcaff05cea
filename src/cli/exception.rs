//! `sigctl exception add|close|list`.

use super::fail;
use crate::error::Error;

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
}

#[derive(Debug, clap::Args)]
pub struct CloseArgs {
    /// The exception's id
    id: String,
    /// Where its review is recorded
    #[arg(long, value_name = "URL")]
    review: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "human")]
    format: super::revoke::BlastFormat,
}

pub fn run(c: ExceptionCommand) -> u8 {
    let _ = c;
    fail(&Error::Usage(
        "sigctl exception is not built yet".to_owned(),
    ))
}
