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
    /// Write a starter policy from the signatures in this history (`sigctl signers`): SPECs as verify takes them [default: every ref]; never replaces signing.toml
    #[arg(long, value_name = "SPEC", num_args = 0.., conflicts_with_all = ["template", "force"])]
    from_history: Option<Vec<String>>,
    /// With --from-history: name SSH keys from this allowed-signers file
    #[arg(long, value_name = "FILE", requires = "from_history")]
    allowed_signers: Option<PathBuf>,
    /// With --from-history: verify OpenPGP signatures with these keys and write each signer's key file
    #[arg(long, value_name = "FILE", requires = "from_history")]
    openpgp_keys: Option<PathBuf>,
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
    let mut summary = String::new();
    let starter = match &a.from_history {
        None => None,
        Some(specs) => {
            let census_opts = match super::signers::options(
                specs.clone(),
                a.allowed_signers.as_ref(),
                a.openpgp_keys.as_ref(),
            ) {
                Ok(o) => o,
                Err(e) => return fail(&e),
            };
            let census = match crate::signers::census(&repo, &census_opts) {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            match crate::signers::starter::starter(&census) {
                Some(s) => {
                    summary = format!(
                        "from {} commits and {} tags: {} signer(s), {} unsigned commit(s), {} invalid signature(s)\n",
                        census.commits,
                        census.tags,
                        census.signers.len(),
                        census.unsigned.len(),
                        census.invalid.len()
                    );
                    Some(s)
                }
                None => {
                    return fail(&crate::error::Error::Usage(format!(
                        "no signature in this history ({} commits, {} tags): no policy to build from it; nothing written",
                        census.commits, census.tags
                    )));
                }
            }
        }
    };
    let opts = InitOptions {
        template: a.template,
        force: a.force,
        ci: a.ci,
        starter,
    };
    let report = match init::init(&cx, &opts) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let mut text = summary;
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
