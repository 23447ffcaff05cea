//! `sigctl provenance show|sync` and `sigctl audit`.

use std::path::Path;

use super::{EXIT_FINDINGS, EXIT_OK, fail, out};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::provenance::{NOTES_REF, Record, audit};
use crate::render::audit as render;
use crate::repo::Repo;

#[derive(Debug, clap::Subcommand)]
pub enum ProvenanceCommand {
    /// Show the signing records of an object or a file (looked up by the file's content)
    Show {
        /// A commit, tag or other revision, or a file path
        target: String,
        #[arg(long, value_enum, default_value = "human")]
        format: render::ShowFormat,
    },
    /// Fetch REMOTE's records, merge them into refs/notes/signing (union, cat_sort_uniq) and push the result
    Sync {
        /// The remote (default origin)
        #[arg(default_value = "origin")]
        remote: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only events and changes from this time on (RFC 3339, or a date YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only events and changes before this time (RFC 3339, or a date YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    format: render::AuditFormat,
    /// The commit authentication starts from (as for `sigctl verify`)
    #[arg(long, value_name = "COMMIT")]
    trust_root: Option<String>,
}

fn open() -> Result<Repo, u8> {
    Repo::discover(Path::new(".")).map_err(|e| fail(&e))
}

pub fn run(c: ProvenanceCommand) -> u8 {
    let repo = match open() {
        Ok(r) => r,
        Err(code) => return code,
    };
    match c {
        ProvenanceCommand::Show { target, format } => show(&repo, &target, format),
        ProvenanceCommand::Sync { remote } => match sync(&repo, &remote) {
            Ok(text) => {
                out(&text);
                EXIT_OK
            }
            Err(e) => fail(&e),
        },
    }
}

fn show(repo: &Repo, target: &str, format: render::ShowFormat) -> u8 {
    let path = Path::new(target);
    // a file is looked up by its content: wherever it was copied, same blob id
    let (id, described) = if path.is_file() {
        match crate::sign::artifact::digest_file_all(path, sigstore_types::HashAlgorithm::Sha2256) {
            Ok(d) => (
                d.blob,
                format!("{target} (content {}, sha256 {})", d.blob, d.sha256),
            ),
            Err(e) => return fail(&e),
        }
    } else {
        match repo.resolve_object(target) {
            Ok(id) => (id, format!("{target} ({id})")),
            Err(e) => {
                return fail(&Error::Usage(format!(
                    "`{target}` is neither a file nor a revision: {e}"
                )));
            }
        }
    };
    let note = match repo.note(NOTES_REF, &id) {
        Ok(n) => n.unwrap_or_default(),
        Err(e) => return fail(&e),
    };
    let lines: Vec<(&[u8], Record)> = note
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| Record::parse(l).map(|r| (l, r)))
        .collect();
    // what is shown is authenticated by audit's own rule, or marked
    let authenticator = if lines.is_empty() {
        None
    } else {
        match audit::Authenticator::for_note(repo, &id) {
            Ok(a) => Some(a),
            Err(e) => return fail(&e),
        }
    };
    let records: Vec<render::Shown> = lines
        .into_iter()
        .map(|(line, record)| {
            let (authenticated, authentication) = authenticator
                .as_ref()
                .map_or((false, String::new()), |a| a.judge(id, line, &record));
            render::Shown {
                record,
                authenticated,
                authentication,
            }
        })
        .collect();
    match format {
        render::ShowFormat::Json => out(&render::show_json(&records)),
        render::ShowFormat::Human => out(&render::show_human(&described, &records)),
    }
    if records.iter().any(|r| !r.authenticated) {
        return EXIT_FINDINGS;
    }
    if records.is_empty() {
        if matches!(format, render::ShowFormat::Human) {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr().lock(),
                format!("no provenance record for {described}\n").as_bytes(),
            );
        }
        return EXIT_FINDINGS;
    }
    EXIT_OK
}

/// Fetch, merge (union) and push the records of `remote`.
fn sync(repo: &Repo, remote: &str) -> Result<String, Error> {
    let theirs = format!("refs/notes/sigctl/remotes/{remote}/signing");
    let git = |args: &[&str]| -> Result<String, Error> {
        let o = std::process::Command::new("git")
            .args(args)
            .current_dir(repo.root())
            .output()
            .map_err(|e| Error::Git(format!("cannot run git: {e}")))?;
        if !o.status.success() {
            return Err(Error::Git(format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let mut said = String::new();
    // their records (absent on a remote nobody has pushed to yet)
    let fetched = match git(&[
        "fetch",
        "--quiet",
        remote,
        &format!("+{NOTES_REF}:{theirs}"),
    ]) {
        Ok(_) => true,
        Err(Error::Git(m)) if m.contains("couldn't find remote ref") => false,
        // an unreachable remote, refused credentials, …: pushing now would
        // only fail as a non-fast-forward and hide why
        Err(Error::Git(m)) => {
            return Err(Error::Git(format!(
                "cannot fetch {remote}'s records ({m}); nothing was merged or pushed"
            )));
        }
        Err(e) => return Err(e),
    };
    if fetched {
        git(&[
            "notes",
            "--ref",
            NOTES_REF,
            "merge",
            "--quiet",
            "--strategy",
            "cat_sort_uniq",
            &theirs,
        ])?;
        said.push_str(&format!("merged {remote}'s records into {NOTES_REF}\n"));
    }
    if repo.ref_exists(NOTES_REF)? {
        git(&[
            "push",
            "--quiet",
            remote,
            &format!("{NOTES_REF}:{NOTES_REF}"),
        ])?;
        said.push_str(&format!("pushed {NOTES_REF} to {remote}\n"));
    }
    Ok(said)
}

fn parse_time(s: &str) -> Result<time::OffsetDateTime, String> {
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_owned()
    };
    crate::policy::timestamp::Timestamp::parse(&full).map(|t| t.0)
}

pub fn run_audit(a: AuditArgs) -> u8 {
    let repo = match open() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut opts = audit::AuditOptions {
        trust_root: a.trust_root,
        cache_key: super::verify::cache_key(),
        ..Default::default()
    };
    for (flag, value, slot) in [
        ("--since", &a.since, &mut opts.since),
        ("--until", &a.until, &mut opts.until),
    ] {
        if let Some(v) = value {
            match parse_time(v) {
                Ok(t) => *slot = Some(t),
                Err(e) => return fail(&Error::Usage(format!("{flag} {v}: {e}"))),
            }
        }
    }
    let report = match audit::audit(
        &repo,
        &opts,
        repo.config_string("sigctl.trustRoot"),
        SystemClock.now(),
    ) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    out(&match a.format {
        render::AuditFormat::Json => render::audit_json(&report),
        render::AuditFormat::Markdown => render::audit_markdown(&report),
        render::AuditFormat::Html => crate::render::audit_html::render(&report),
        render::AuditFormat::Human => render::audit_human(&report),
    });
    if report.errors() > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}
