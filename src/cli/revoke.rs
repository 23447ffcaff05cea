//! `sigctl revoke --identity X --reason R --since T`.

use super::fail;
use crate::error::Error;

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
    /// Why: key-compromise, superseded or offboarded
    #[arg(long)]
    reason: String,
    /// From when its signatures are no longer trusted (RFC 3339; default now)
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    format: BlastFormat,
}

pub fn run(a: Args) -> u8 {
    let _ = a;
    fail(&Error::Usage("sigctl revoke is not built yet".to_owned()))
}
