//! `sigctl inventory PATH… | --from FILE | --merge FILE…`.

use super::fail;
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InventoryFormat {
    Human,
    Json,
    Csv,
    Markdown,
    Html,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repositories, or directories searched for them
    paths: Vec<std::path::PathBuf>,
    /// A file with one path per line
    #[arg(long, value_name = "FILE")]
    from: Option<std::path::PathBuf>,
    /// Combine inventories made elsewhere (their JSON) instead of reading repositories
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["paths", "from"])]
    merge: Vec<std::path::PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    format: InventoryFormat,
    /// Count days and windows from this time (RFC 3339) instead of the clock
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

pub fn run(a: Args) -> u8 {
    let _ = a;
    fail(&Error::Usage("sigctl inventory is not built yet".to_owned()))
}
