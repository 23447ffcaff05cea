//! `cargo xtask fuzz [TARGET] [--secs N] [--release]`: run the fuzz targets
//! of `tests/it/fuzz.rs` (stable toolchain, no cargo-fuzz) for N seconds
//! each (default 60), one after the other, and print each run's figures
//! (executions, time, seed, panics). A panic fails the run and names the
//! saved input. `SIGCTL_FUZZ_SEED=S` replays a run.

use std::path::PathBuf;
use std::process::Command;

use crate::util;

/// Every target, as named by its test function.
pub const TARGETS: &[&str] = &[
    "policy_load",
    "commit_object",
    "cms",
    "x509_certificate",
    "ssh_signature",
    "openpgp_signature",
    "openpgp_key",
    "sigstore_bundle",
    "trusted_root",
];

pub fn run(args: &[String]) -> util::Result {
    let mut secs = "60".to_owned();
    let mut release = false;
    let mut targets: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--secs" => secs = it.next().cloned().ok_or("--secs needs a number")?,
            "--release" => release = true,
            t => match TARGETS.iter().find(|x| **x == t) {
                Some(known) => targets.push(known),
                None => {
                    return Err(format!(
                        "unknown fuzz target or flag `{t}` (targets: {})",
                        TARGETS.join(", ")
                    ));
                }
            },
        }
    }
    secs.parse::<f64>()
        .map_err(|_| format!("--secs {secs}: not a number of seconds"))?;
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| util::root().join("target"), PathBuf::from);
    let summaries = target_dir.join("tmp").join("fuzz");
    let mut failed = Vec::new();
    for t in &targets {
        let _ = std::fs::remove_file(summaries.join(format!("{t}.summary")));
        let mut cmd = Command::new(util::cargo());
        cmd.args(["test", "--quiet", "--test", "it"]);
        if release {
            cmd.arg("--release");
        }
        cmd.args([&format!("fuzz::{t}"), "--", "--exact", "--test-threads=1"])
            .env("SIGCTL_FUZZ_SECS", &secs)
            .current_dir(util::root());
        util::say(&format!("$ SIGCTL_FUZZ_SECS={secs} {cmd:?}"));
        let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            failed.push(*t);
        }
    }
    util::say("\nfuzz figures:");
    for t in &targets {
        match std::fs::read_to_string(summaries.join(format!("{t}.summary"))) {
            Ok(s) => util::say(s.trim_end()),
            Err(_) => util::say(&format!("{t}: no figures (the run did not finish)")),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed: {}", failed.join(", ")))
    }
}
