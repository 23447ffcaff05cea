//! `cargo xtask <task>`: everything beyond plain cargo.
//!
//! - `schema`: regenerate `schema/signing.schema.json` and
//!   `schema/provenance-record.schema.json` from the Rust model
//! - `docs`: regenerate `docs/codes.md` from the code registry and rule docs
//! - `deps`: install the system tools the tests and demo use (git, openssl,
//!   ssh-keygen, …), the local Sigstore stack's node modules and the
//!   sigstore-python judge
//! - `ci`: deps, then fmt, clippy, every test: the one command CI runs
//! - `demo`: sigctl's main job end to end on a throwaway repository
//! - `fuzz [TARGET] [--secs N] [--release]`: the fuzz targets of
//!   `tests/it/fuzz.rs`, N seconds each (default 60), with their figures;
//!   `ci` runs every target for 2 seconds inside `cargo test`
//! - `bench [NAME] [--keep] [--baseline PATH]`: measured figures (release
//!   build), printed; NAME is one of check, history, sign, verify,
//!   provenance, verify-artifact, keyless (all when omitted); `--baseline`
//!   also times another sigctl binary on the same verify histories
//! - `sigstore-stack DIR [--port N]`: start the local Sigstore stack
//!   (Fulcio, Rekor, TSAs on loopback) detached; its trust files, `url` and
//!   `pid` in DIR (`kill $(cat DIR/pid)` stops it)
//! - `judges`: install the independent verifiers (sigstore-python in
//!   `<target>/judges/venv`, sigstore-js in `tests/sigstore-stack`)

mod bench;
mod bench_inventory;
mod bench_keyless;
mod bench_provenance;
mod bench_verify;
mod bench_verify_artifact;
mod demo;
mod fuzz;
mod sigstore_stack;
mod util;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    let result = match task {
        "schema" => write_generated(
            "schema/signing.schema.json",
            &sigctl::policy::schema::json_schema(),
        )
        .and_then(|()| {
            write_generated(
                sigctl::provenance::SCHEMA_PATH,
                &sigctl::provenance::json_schema(),
            )
        }),
        "docs" => write_generated("docs/codes.md", &sigctl::docs::codes_markdown()),
        "deps" => util::install_deps(),
        "ci" => ci(),
        "demo" => demo::run(rest),
        "bench" => bench::run(rest),
        "fuzz" => fuzz::run(rest),
        "sigstore-stack" => sigstore_stack::run(rest),
        "judges" => sigstore_stack::judges(rest),
        _ => {
            util::say(
                "usage: cargo xtask <schema|docs|deps|ci|demo|bench|fuzz|sigstore-stack DIR|judges>",
            );
            return ExitCode::from(if task == "help" { 0 } else { 2 });
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            util::say(&format!("xtask {task}: error: {e}"));
            ExitCode::FAILURE
        }
    }
}

fn write_generated(path: &str, text: &str) -> util::Result {
    let full = util::root().join(path);
    if std::fs::read_to_string(&full).ok().as_deref() == Some(text) {
        util::say(&format!("{path} is up to date"));
        return Ok(());
    }
    if let Some(dir) = full.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&full, text).map_err(|e| format!("{path}: {e}"))?;
    util::say(&format!("wrote {path}"));
    Ok(())
}

/// The README's test command: install what the tests need, then fmt, clippy and every test.
fn ci() -> util::Result {
    util::install_deps()?;
    let cargo = util::cargo();
    util::run(&cargo, &["fmt", "--all", "--", "--check"])?;
    util::run(
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    let (passed, failed) =
        util::run_counting_tests(&cargo, &["test", "--workspace", "--no-fail-fast"])?;
    // one plain closing line, whatever the test binaries printed last
    util::say(&format!("{passed} passed, {failed} failed"));
    if failed > 0 {
        return Err(format!("{failed} tests failed"));
    }
    Ok(())
}
