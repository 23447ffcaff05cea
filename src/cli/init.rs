//! `sigctl init [--template NAME] [--force]`.

use std::path::PathBuf;

use super::{EXIT_OK, fail, out};
use crate::init::{self, InitContext, InitOptions};
use crate::repo::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Starter policy: minimal, hsm-release or keyless-team
    #[arg(long, default_value = "minimal")]
    template: String,
    /// Replace an existing signing.toml
    #[arg(long)]
    force: bool,
    /// Also write CI templates: `github` (.github/workflows/) or `gitlab` (.gitlab/sigctl.gitlab-ci.yml); an existing signing.toml is kept
    #[arg(long, value_name = "CI", value_parser = ["github", "gitlab"])]
    ci: Option<String>,
    /// The repository (any directory in it)
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
}

pub fn run(a: Args) -> u8 {
    let start = a.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = match Repo::discover(&start) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .map_or_else(|| "sigctl".to_owned(), |p| p.display().to_string());
    let cx = InitContext {
        repo: &repo,
        program,
    };
    let opts = InitOptions {
        template: a.template,
        force: a.force,
        ci: a.ci,
    };
    let report = match init::init(&cx, &opts) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let mut text = String::new();
    for f in &report.written {
        text.push_str(&format!("wrote {f}\n"));
    }
    for f in &report.unchanged {
        text.push_str(&format!("kept {f} (already up to date)\n"));
    }
    for (k, v) in &report.configured {
        text.push_str(&format!("set {k} = {v} (repository config)\n"));
    }
    if report.written.is_empty() && report.configured.is_empty() {
        text.push_str("nothing to do: already initialised\n");
    }
    text.push_str("next: edit signing.toml, then run `sigctl check`\n");
    out(&text);
    EXIT_OK
}
