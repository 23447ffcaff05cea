//! `sigctl signers [SPECS…]`: the census of a history's signatures.

use std::path::PathBuf;

use super::{EXIT_OK, fail, out};
use crate::error::Error;
use crate::repo::Repo;
use crate::signers::CensusOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignersFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Refs, commits or ranges (A..B) whose history to read [default: every ref but notes]
    #[arg(value_name = "SPEC")]
    specs: Vec<String>,
    /// Name SSH keys from this allowed-signers file (principals, comment)
    #[arg(long, value_name = "FILE")]
    allowed_signers: Option<PathBuf>,
    /// Verify OpenPGP signatures with the keys of this file and name them by their user IDs
    #[arg(long, value_name = "FILE")]
    openpgp_keys: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    format: SignersFormat,
}

/// The census options from the files given (read bounded); a usage error
/// when one cannot be read.
pub(super) fn options(
    specs: Vec<String>,
    allowed_signers: Option<&PathBuf>,
    openpgp_keys: Option<&PathBuf>,
) -> Result<CensusOptions, Error> {
    let allowed_signers = match allowed_signers {
        Some(p) => Some(
            crate::files::read_to_string(p, crate::files::POLICY)
                .map_err(|e| Error::Usage(format!("--allowed-signers {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let openpgp_keys = match openpgp_keys {
        Some(p) => Some(
            crate::files::read(p, crate::files::POLICY)
                .map_err(|e| Error::Usage(format!("--openpgp-keys {}: {e}", p.display())))?,
        ),
        None => None,
    };
    Ok(CensusOptions {
        specs,
        allowed_signers,
        openpgp_keys,
    })
}

pub fn run(a: Args) -> u8 {
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let opts = match options(a.specs, a.allowed_signers.as_ref(), a.openpgp_keys.as_ref()) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let census = match crate::signers::census(&repo, &opts) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let text = match a.format {
        SignersFormat::Human => crate::render::signers::human(&census),
        SignersFormat::Json => crate::render::signers::json(&census),
        SignersFormat::Markdown => crate::render::signers::markdown(&census),
    };
    out(&text);
    EXIT_OK
}
