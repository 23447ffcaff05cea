//! `sigctl renew --identity X` and `sigctl ca issue`.

use super::fail;
use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The identity whose certificate is renewed
    #[arg(long)]
    identity: String,
    /// The CA's certificate for the successor key: added next to the current one
    #[arg(long, value_name = "CERT")]
    import: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum CaCommand {
    /// Issue the successor certificate of an identity with the policy's internal CA
    Issue(IssueArgs),
}

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The identity whose successor key is certified
    #[arg(long)]
    identity: String,
    /// Who approved the issuance (recorded in provenance)
    #[arg(long = "approved-by", value_name = "WHO", required = true)]
    approved_by: Vec<String>,
}

pub fn run(a: Args) -> u8 {
    let _ = a;
    fail(&Error::Usage("sigctl renew is not built yet".to_owned()))
}

pub fn run_ca(c: CaCommand) -> u8 {
    let _ = c;
    fail(&Error::Usage("sigctl ca is not built yet".to_owned()))
}
