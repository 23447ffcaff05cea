//! `sigctl sign tag|artifact` and `sigctl verify-artifact`.

use std::path::PathBuf;

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, fail, out, token};
use crate::clock::{Clock, SystemClock};
use crate::gpg::error_text;
use crate::repo::Repo;
use crate::sign::{SignError, artifact, tag};

#[derive(Debug, clap::Subcommand)]
pub enum SignCommand {
    /// Make a signed annotated tag (refused if the tag exists)
    Tag {
        /// Tag name (`v1.2.3`)
        name: String,
        /// What to tag (default HEAD)
        rev: Option<String>,
        #[arg(long)]
        identity: String,
        /// Tag message
        #[arg(short, long)]
        message: String,
    },
    /// Write FILE.sigstore.json for each file: a Sigstore bundle signed on the token
    Artifact {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        identity: String,
        /// The ref the artefacts are released from (`refs/tags/v1.2.3`): its environment must admit the identity
        #[arg(long = "ref", value_name = "REF")]
        refname: Option<String>,
        /// Add an RFC 3161 timestamp from the signing config's TSA to an HSM signature (always done for a ref whose environment requires trusted time)
        #[arg(long)]
        timestamp: bool,
    },
}

fn report(e: SignError) -> u8 {
    let mut err = std::io::stderr().lock();
    let _ = std::io::Write::write_all(&mut err, error_text(&e).replace("sigctl: ", "").as_bytes());
    if e.is_refusal() {
        EXIT_FINDINGS
    } else {
        EXIT_ERROR
    }
}

pub fn run(c: SignCommand) -> u8 {
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let prompt = token::prompt_pin;
    let access = token::access(Some(&repo), &prompt);
    let now = SystemClock.now();
    match c {
        SignCommand::Tag {
            name,
            rev,
            identity,
            message,
        } => {
            let tagger = match (
                repo.config_string("user.name"),
                repo.config_string("user.email"),
            ) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                _ => {
                    return fail(&crate::error::Error::Git(
                        "no tagger: set `git config user.name` and `git config user.email`".into(),
                    ));
                }
            };
            let req = tag::TagRequest {
                name: &name,
                rev: rev.as_deref(),
                identity: &identity,
                message: &message,
                tagger,
            };
            match tag::sign_tag(&repo, &access, &req, now) {
                Ok(r) => {
                    let mut text = format!(
                        "signed tag {} -> {} as identity `{}` (tag object {})\n",
                        r.refname,
                        &r.commit[..12.min(r.commit.len())],
                        r.identity,
                        r.tag
                    );
                    for n in r.notes {
                        text.push_str(&format!("note: {n}\n"));
                    }
                    out(&text);
                    EXIT_OK
                }
                Err(e) => report(e),
            }
        }
        SignCommand::Artifact {
            files,
            identity,
            refname,
            timestamp,
        } => {
            match artifact::sign_artifacts(
                &repo,
                &access,
                &identity,
                &files,
                refname.as_deref(),
                timestamp,
                now,
            ) {
                Ok(reports) => {
                    let mut text = String::new();
                    for r in reports {
                        text.push_str(&format!(
                            "signed {} (sha256 {}) as identity `{identity}` -> {}\n",
                            r.file.display(),
                            r.sha256,
                            r.bundle.display()
                        ));
                    }
                    out(&text);
                    EXIT_OK
                }
                Err(e) => report(e),
            }
        }
    }
}

/// `sigctl verify-artifact FILE [--bundle B]`.
#[derive(Debug, clap::Args)]
pub struct VerifyArtifactArgs {
    file: PathBuf,
    /// The bundle (default FILE.sigstore.json)
    #[arg(long)]
    bundle: Option<PathBuf>,
}

pub fn run_verify_artifact(a: VerifyArtifactArgs) -> u8 {
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let explicit = a.bundle.is_some();
    let bundle = a.bundle.unwrap_or_else(|| artifact::bundle_path(&a.file));
    // the default bundle sits beside the artefact, often as it came in a
    // checkout: a symbolic link there (to /dev/zero, to a file outside the
    // repository) is not a bundle sigctl wrote
    if !explicit && std::fs::symlink_metadata(&bundle).is_ok_and(|m| m.file_type().is_symlink()) {
        return fail(&crate::error::Error::Unreadable {
            path: bundle,
            message: "it is a symbolic link; a bundle is a regular file (give --bundle PATH to read one elsewhere)".into(),
        });
    }
    let bytes = match crate::files::read(&bundle, crate::files::BUNDLE) {
        Ok(b) => b,
        Err(e) => return fail(&e.into()),
    };
    match artifact::verify_artifact(&repo, &a.file, &bytes, SystemClock.now()) {
        Ok(v) => {
            out(&format!(
                "OK: {} (sha256 {}) signed by identity `{}` ({})\nnote: the bundle carries no timestamp; the certificate was checked against the current time\n",
                a.file.display(),
                v.sha256,
                v.identity,
                v.subject
            ));
            EXIT_OK
        }
        Err(SignError::Repo(e)) => fail(&e),
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = std::io::Write::write_all(
                &mut err,
                format!("FAILED: {}: {e}\n", a.file.display()).as_bytes(),
            );
            EXIT_FINDINGS
        }
    }
}
