//! `sigctl review BASE..HEAD | --base REF [HEAD]`.

use super::{EXIT_FINDINGS, EXIT_OK, fail, out};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::repo::Repo;
use crate::review::{self, ReviewOptions, render};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReviewFormat {
    Human,
    Markdown,
    Json,
    Sarif,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `BASE..HEAD`, or HEAD alone with --base (default HEAD)
    range: Option<String>,
    /// The base to review against (instead of `BASE..HEAD`)
    #[arg(long, value_name = "REF")]
    base: Option<String>,
    /// The commit authentication starts from (as for `sigctl verify`)
    #[arg(long, value_name = "COMMIT")]
    trust_root: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    format: ReviewFormat,
    /// Neither read nor update the signature cache in .git/sigctl/
    #[arg(long)]
    no_cache: bool,
}

pub fn run(a: Args) -> u8 {
    if a.range.as_deref().is_some_and(|r| r.contains("...")) {
        return fail(&Error::Usage(
            "`BASE...HEAD` is a symmetric difference: review compares BASE's policy with HEAD's, give `BASE..HEAD`".to_owned(),
        ));
    }
    let (base, head) = match (a.range.as_deref(), a.base) {
        (Some(r), None) if r.contains("..") => {
            let (b, h) = r.split_once("..").unwrap_or((r, ""));
            let b = if b.is_empty() { "HEAD" } else { b };
            let h = if h.is_empty() { "HEAD" } else { h };
            (b.to_owned(), h.to_owned())
        }
        (Some(r), Some(b)) if !r.contains("..") => (b, r.to_owned()),
        (None, Some(b)) => (b, "HEAD".to_owned()),
        (Some(r), Some(_)) => {
            return fail(&Error::Usage(format!(
                "give either `BASE..HEAD` or --base, not both ({r})"
            )));
        }
        _ => {
            return fail(&Error::Usage(
                "name what to review: `sigctl review BASE..HEAD` or `sigctl review --base REF [HEAD]`".to_owned(),
            ));
        }
    };
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let opts = ReviewOptions {
        base,
        head,
        trust_root: a.trust_root,
        cache_key: if a.no_cache {
            None
        } else {
            super::verify::cache_key()
        },
    };
    let r = match review::review(
        &repo,
        &opts,
        repo.config_string("sigctl.trustRoot"),
        SystemClock.now(),
    ) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    out(&match a.format {
        ReviewFormat::Human => render::human(&r),
        ReviewFormat::Markdown => render::markdown(&r),
        ReviewFormat::Json => render::json(&r),
        ReviewFormat::Sarif => render::sarif(&r),
    });
    if r.blocking() { EXIT_FINDINGS } else { EXIT_OK }
}
