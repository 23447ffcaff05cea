//! `cargo xtask demo`: sigctl's main job end to end on a throwaway repository.
//!
//! Today: `sigctl init`, a certificate from a throwaway CA, `sigctl check`,
//! and what a failing check looks like. Everything happens in a temporary
//! directory that is removed afterwards (`--keep` keeps it).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Result, say};

pub fn run(args: &[String]) -> Result {
    let keep = args.iter().any(|a| a == "--keep");
    util::install_deps()?;
    let sigctl = util::build_sigctl(false)?;
    let dir = std::env::temp_dir().join(format!("sigctl-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = demo(&sigctl, &dir);
    if keep || result.is_err() {
        say(&format!("\n(the demo's files are in {})", dir.display()));
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn demo(sigctl: &Path, dir: &Path) -> Result {
    let repo = dir.join("repo");
    let ca = dir.join("ca");
    std::fs::create_dir_all(&repo).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&ca).map_err(|e| e.to_string())?;
    let git = |args: &[&str]| {
        util::output(isolated(
            Command::new("git").args(args).current_dir(&repo),
            dir,
        ))
    };

    step("1. A new repository, and a starter policy for HSM-backed release signing");
    git(&["init", "-q", "-b", "main"])?;
    git(&["config", "user.name", "Demo Releaser"])?;
    git(&["config", "user.email", "releaser@example.com"])?;
    show(
        sigctl,
        &repo,
        dir,
        &["init", "--template", "hsm-release"],
        0,
    )?;

    step("2. sigctl check: the release identity's certificate is declared but not issued yet");
    show(sigctl, &repo, dir, &["check"], 0)?;

    step("3. A throwaway CA issues the release certificate (codeSigning, 90 days)");
    let cert = issue_certificate(&ca)?;
    std::fs::create_dir_all(repo.join("certs")).map_err(|e| e.to_string())?;
    std::fs::copy(&cert, repo.join("certs/release.pem")).map_err(|e| e.to_string())?;
    say(&util::output(
        Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-subject",
                "-enddate",
                "-ext",
                "extendedKeyUsage",
                "-in",
            ])
            .arg(&cert),
    )?);
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "Adopt sigctl signing policy"])?;

    step("4. sigctl check: clean");
    show(sigctl, &repo, dir, &["check"], 0)?;

    step(
        "5. The same policy 80 days from now: the certificate is inside its 30-day renewal window",
    );
    let end = not_after(&cert)?;
    show(
        sigctl,
        &repo,
        dir,
        &["check", "--now", &shift(&end, -10)?],
        0,
    )?;

    step("6. ... and after it expired: check fails, as a CI gate would");
    show(sigctl, &repo, dir, &["check", "--now", &shift(&end, 3)?], 1)?;

    step("7. Someone commits a private key: check names the file and line, never the key");
    let key = util::output(Command::new("openssl").args([
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]))?;
    std::fs::write(repo.join("deploy.pem"), key).map_err(|e| e.to_string())?;
    git(&["add", "deploy.pem"])?;
    show(sigctl, &repo, dir, &["check", "--format", "json"], 1)?;

    say("\nThe demo ran: init, a certificate, check (clean, renewal due, expired, shadow key).");
    Ok(())
}

fn isolated<'a>(cmd: &'a mut Command, dir: &Path) -> &'a mut Command {
    cmd.env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
}

fn step(title: &str) {
    say(&format!("\n== {title}"));
}

/// Run sigctl in the repo, print what it printed, and insist on the exit code.
fn show(sigctl: &Path, repo: &Path, dir: &Path, args: &[&str], want: i32) -> Result {
    say(&format!("$ sigctl {}", args.join(" ")));
    let out = isolated(Command::new(sigctl).args(args).current_dir(repo), dir)
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    say(text.trim_end());
    let code = out.status.code().unwrap_or(-1);
    say(&format!("(exit {code})"));
    if code == want {
        Ok(())
    } else {
        Err(format!(
            "sigctl {} exited {code}, expected {want}",
            args.join(" ")
        ))
    }
}

fn issue_certificate(ca: &Path) -> Result<PathBuf> {
    let o = |args: &[&str]| util::output(Command::new("openssl").args(args).current_dir(ca));
    o(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-subj",
        "/CN=Demo Release CA",
        "-days",
        "365",
        "-out",
        "ca.pem",
    ])?;
    o(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "release.key",
        "-subj",
        "/CN=release/O=Demo",
        "-out",
        "release.csr",
    ])?;
    std::fs::write(
        ca.join("ext.cnf"),
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
    )
    .map_err(|e| e.to_string())?;
    o(&[
        "x509",
        "-req",
        "-in",
        "release.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "90",
        "-extfile",
        "ext.cnf",
        "-out",
        "release.pem",
    ])?;
    // the demo's key is thrown away: issue 3's flow keeps it in an HSM instead
    let _ = std::fs::remove_file(ca.join("release.key"));
    Ok(ca.join("release.pem"))
}

fn not_after(cert: &Path) -> Result<time::OffsetDateTime> {
    let out = util::output(
        Command::new("openssl")
            .args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in"])
            .arg(cert),
    )?;
    // notAfter=2027-02-25 03:40:11Z
    let iso = out.trim().trim_start_matches("notAfter=").replace(' ', "T");
    time::OffsetDateTime::parse(&iso, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{iso}: {e}"))
}

/// `t` moved by `days`, as RFC 3339.
fn shift(t: &time::OffsetDateTime, days: i64) -> Result<String> {
    (*t + time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| e.to_string())
}
