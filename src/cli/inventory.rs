//! `sigctl inventory PATH… | --from FILE | --merge FILE…`.

use super::fail;
use crate::error::Error;
use crate::render::inventory as render;

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
    use crate::clock::{Clock, SystemClock};
    let now = match a.now.as_deref().map(super::parse_now) {
        None => SystemClock.now(),
        Some(Ok(t)) => t,
        Some(Err(e)) => return fail(&Error::Usage(format!("--now: {e}"))),
    };
    let inv = if a.merge.is_empty() {
        let mut paths = a.paths;
        if let Some(list) = &a.from {
            match crate::files::read_to_string(list, crate::files::PATH_LIST) {
                Ok(text) => paths.extend(crate::inventory::find::parse_list(&text)),
                Err(e) => return fail(&e.into()),
            }
        }
        if paths.is_empty() && a.from.is_none() {
            paths.push(std::path::PathBuf::from("."));
        }
        if paths.is_empty() {
            return fail(&Error::Usage("the --from list names no path".to_owned()));
        }
        crate::inventory::inventory(&paths, now)
    } else {
        let mut inputs = Vec::new();
        for file in &a.merge {
            match crate::inventory::merge::read(file) {
                Ok(inv) => inputs.push((file.display().to_string(), inv)),
                Err(e) => return fail(&e),
            }
        }
        crate::inventory::merge::merge(inputs, now)
    };
    let text = match a.format {
        InventoryFormat::Human => render::human(&inv),
        InventoryFormat::Json => render::json(&inv),
        InventoryFormat::Csv => render::csv(&inv),
        InventoryFormat::Markdown => render::markdown(&inv),
        InventoryFormat::Html => crate::render::inventory_html::render(&inv),
    };
    super::out(&text);
    if inv.errors() > 0 {
        super::EXIT_FINDINGS
    } else {
        super::EXIT_OK
    }
}
