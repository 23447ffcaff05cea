//! The command-line front-end: the only code that reads argv and the
//! environment, writes to the terminal and picks exit codes (0 clean,
//! 1 findings, 2 usage or environment error).

mod check;
mod exception;
mod hook;
mod init;
mod inventory;
mod key;
mod provenance;
mod renew;
mod review;
mod revoke;
mod sign;
mod signers;
mod token;
mod verify;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status: nothing wrong.
pub const EXIT_OK: u8 = 0;
/// Exit status: findings (policy violations, invalid input).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: usage or environment error.
pub const EXIT_ERROR: u8 = 2;

/// Git-native signing-as-code: one signing.toml policy per repository.
#[derive(Debug, Parser)]
#[command(
    name = "sigctl",
    version,
    about,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate signing.toml: schema, references, custody, certificate lifecycle, shadow keys
    Check(check::Args),
    /// Write a starter signing.toml and configure this repository for signing
    Init(init::Args),
    /// Keys on a PKCS#11 token
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Certificates of token keys
    #[command(subcommand)]
    Cert(key::CertCommand),
    /// Sign tags and artefacts with an identity's token key
    #[command(subcommand)]
    Sign(sign::SignCommand),
    /// Authenticate every commit and tag in a range against the policy in force at its parents
    Verify(verify::Args),
    /// Git hooks: pre-commit checks what is staged, pre-push verifies what a push publishes
    #[command(subcommand)]
    Hook(hook::HookCommand),
    /// Verify an artefact against its Sigstore bundle and signing.toml
    VerifyArtifact(sign::VerifyArtifactArgs),
    /// Signing records in git notes (refs/notes/signing)
    #[command(subcommand)]
    Provenance(provenance::ProvenanceCommand),
    /// The evidence pack: signing events, identities and their approvals, policy changes, exceptions, revocations
    Audit(provenance::AuditArgs),
    /// What a signing.toml pull request changes: a semantic diff with risks, and who signed each policy change
    Review(review::Args),
    /// Every signing identity of many repositories: owners, custody, certificates, renewal, last use
    Inventory(inventory::Args),
    /// Renew an identity's certificate without disruption: a successor key, its CSR, its certificate next to the current one
    Renew(renew::Args),
    /// Revoke an identity in signing.toml and show what its key signed
    Revoke(revoke::Args),
    /// Who signed a history: every signer with its format, counts, dates, refs and committers; the unsigned and the invalid
    Signers(signers::Args),
    /// Emergency exceptions in signing.toml
    #[command(subcommand)]
    Exception(exception::ExceptionCommand),
    /// The policy's internal certificate authority (a key in the HSM)
    #[command(subcommand)]
    Ca(renew::CaCommand),
}

/// Run the CLI on `args` (argv including the program name). When git calls
/// sigctl as its x509 program, answer in gpg's protocol instead.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    if crate::gpg::args::is_gpg_shape(&args) {
        let code = run_gpg(&args);
        return ExitCode::from(after_signal(code));
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Check(a) => check::run(a),
        Command::Init(a) => init::run(a),
        Command::Key(c) => key::run_key(c),
        Command::Cert(c) => key::run_cert(c),
        Command::Sign(c) => sign::run(c),
        Command::Verify(a) => verify::run(a),
        Command::Hook(c) => hook::run(c),
        Command::VerifyArtifact(a) => sign::run_verify_artifact(a),
        Command::Provenance(c) => provenance::run(c),
        Command::Audit(a) => provenance::run_audit(a),
        Command::Review(a) => review::run(a),
        Command::Inventory(a) => inventory::run(a),
        Command::Renew(a) => renew::run(a),
        Command::Revoke(a) => revoke::run(a),
        Command::Signers(a) => signers::run(a),
        Command::Exception(c) => exception::run(c),
        Command::Ca(c) => renew::run_ca(c),
    };
    ExitCode::from(after_signal(code))
}

/// A signal held while the command ran (see `interrupt`): say whether the
/// command stopped before publishing or finished first, and exit 128 + its
/// number.
fn after_signal(code: u8) -> u8 {
    let Some(sig) = crate::interrupt::pending() else {
        return code;
    };
    let what = if code == EXIT_OK {
        "the operation in progress was finished first (nothing is half-written)"
    } else {
        "the operation stopped; what it had written was taken back"
    };
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("sigctl: {} received: {what}\n", sig.name()).as_bytes());
    sig.exit_code()
}

fn run_gpg(args: &[OsString]) -> u8 {
    use crate::clock::{Clock, SystemClock};
    let parsed = match crate::gpg::args::parse(args) {
        Ok(p) => p,
        Err(e) => {
            let _ = std::io::stderr()
                .lock()
                .write_all(format!("sigctl: {e}\n").as_bytes());
            return EXIT_ERROR;
        }
    };
    let prompt = token::prompt_pin;
    let repo = crate::repo::Repo::discover(std::path::Path::new(".")).ok();
    let access = token::access(repo.as_ref(), &prompt);
    let outcome = crate::gpg::run(&parsed, &access, SystemClock.now());
    crate::gpg::emit(&parsed, &outcome);
    outcome.code
}

/// Write to stdout; a closed pipe is not an error.
pub(crate) fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes()).and_then(|()| o.flush());
}

/// Write an operational error to stderr, in the house style, and return exit 2.
pub(crate) fn fail(e: &crate::error::Error) -> u8 {
    let mut msg = format!("error: {e}\n");
    if let Some(help) = miette::Diagnostic::help(e) {
        msg.push_str(&format!("hint: {help}\n"));
    }
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(msg.as_bytes());
    EXIT_ERROR
}

/// Whether stdout is a terminal that wants colour.
pub(crate) fn color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Parse `--now`.
pub(crate) fn parse_now(s: &str) -> Result<time::OffsetDateTime, String> {
    crate::policy::timestamp::Timestamp::parse(s).map(|t| t.0)
}
