//! git's `gpg.x509.program` protocol: sigctl answers like gpgsm.
//!
//! Sign: `--status-fd=2 -bsau KEY`, payload on stdin, armoured signature on
//! stdout, `[GNUPG:] SIG_CREATED` on the status fd. Verify: `--status-fd=1
//! --verify SIGFILE -`, payload on stdin, `NEWSIG` then `GOODSIG`,
//! `VALIDSIG` and a `TRUST_*` line, exit 0 — only when the signature is
//! valid *and* the policy in force authorises the signer; otherwise
//! `BADSIG`/`ERRSIG` and exit 1, so `%G?` and `git verify-commit` agree with
//! `sigctl verify`. Plumbing: exact output, no colour, no progress.

pub mod args;

use std::io::{Read, Write};

use sha1::Digest;
use time::OffsetDateTime;

use crate::repo::Repo;
use crate::sign::{self, PolicyAt, PolicyView, SignError};
use crate::signature::{cms, x509};
use crate::signer::TokenAccess;
pub use args::{GpgArgs, GpgMode};

/// What the gpg front-end did, for the binary to turn into an exit code.
pub struct Outcome {
    pub code: u8,
    /// Bytes for stdout.
    pub stdout: Vec<u8>,
    /// Status lines (for the status fd).
    pub status: String,
    /// Human text for stderr.
    pub stderr: String,
}

fn key_id(cert_der: &[u8]) -> String {
    x509::hex(&sha1::Sha1::digest(cert_der)).to_uppercase()
}

/// Sign `payload` as identity `key` (git's user.signingkey).
pub fn sign(
    repo: &Repo,
    access: &TokenAccess,
    key: &str,
    payload: &[u8],
    now: OffsetDateTime,
) -> Outcome {
    let refname = refname_of(repo, payload);
    let result = (|| -> Result<(String, sign::Cleared), SignError> {
        let view = PolicyView::load(repo)?;
        let key = view.signing_identity_for(key);
        let cleared = sign::clear(repo, &view, &key, refname.as_deref(), now)?;
        let (token, info) = sign::open_key(&cleared, access)?;
        let armored = sign::sign_cms(&cleared, &token, &info, payload, now)?;
        Ok((armored, cleared))
    })();
    match result {
        Ok((armored, cleared)) => {
            let fpr = key_id(&cleared.facts.der);
            let status = format!(
                "[GNUPG:] KEY_CONSIDERED {fpr} 0\n[GNUPG:] BEGIN_SIGNING H8\n[GNUPG:] SIG_CREATED D 19 8 00 {} {fpr}\n",
                now.unix_timestamp()
            );
            let mut stderr = format!(
                "sigctl: signed as identity `{}` ({})\n",
                cleared.name, cleared.facts.subject
            );
            for n in &cleared.notes {
                stderr.push_str(&format!("sigctl: note: {n}\n"));
            }
            Outcome {
                code: 0,
                stdout: armored.into_bytes(),
                status,
                stderr,
            }
        }
        Err(e) => Outcome {
            code: if e.is_refusal() { 1 } else { 2 },
            stdout: Vec::new(),
            status: String::new(),
            stderr: error_text(&e),
        },
    }
}

/// The error with its hint, never a secret.
pub fn error_text(e: &dyn miette::Diagnostic) -> String {
    let mut s = format!("sigctl: error: {e}\n");
    if let Some(h) = e.help() {
        s.push_str(&format!("sigctl: hint: {h}\n"));
    }
    s
}

/// The ref a payload is being signed for: `refs/tags/NAME` for a tag object,
/// else the branch HEAD points at.
fn refname_of(repo: &Repo, payload: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(payload);
    let header = text.split("\n\n").next().unwrap_or("");
    if header.starts_with("object ") {
        return header
            .lines()
            .find_map(|l| l.strip_prefix("tag "))
            .map(|name| format!("refs/tags/{name}"));
    }
    repo.current_branch()
}

/// The trees whose policy may authorise a payload: each parent of a commit
/// (the root commit: its own tree), or the object a tag points at.
fn policy_trees(payload: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(payload);
    let header = text.split("\n\n").next().unwrap_or("");
    let field = |name: &str| -> Vec<String> {
        header
            .lines()
            .filter_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .collect()
    };
    if header.starts_with("object ") {
        return field("object ");
    }
    let parents = field("parent ");
    if parents.is_empty() {
        field("tree ")
    } else {
        parents
    }
}

/// Verify `sig` over `payload` against the policy in force.
pub fn verify(repo: &Repo, sig: &[u8], payload: &[u8], now: OffsetDateTime) -> Outcome {
    let mut status = String::from("[GNUPG:] NEWSIG\n");
    let verified = match cms::verify_detached(sig, payload) {
        Ok(v) => v,
        Err(e) => {
            let (fpr, subject) = signer_hint(sig);
            status.push_str(&format!(
                "[GNUPG:] BADSIG {fpr} {subject}\n[GNUPG:] TRUST_NEVER 0 shell\n"
            ));
            return Outcome {
                code: 1,
                stdout: status.clone().into_bytes(),
                status,
                stderr: format!("sigctl: BAD signature: {e}\n"),
            };
        }
    };
    let fpr = key_id(&verified.certificate);
    let facts = match x509::parse(&verified.certificate) {
        Ok(f) => f,
        Err(e) => {
            return errsig(
                status,
                &fpr,
                now,
                format!("the signer certificate does not parse: {e}"),
            );
        }
    };
    let at = verified.signing_time.unwrap_or(now);
    let mut reasons = Vec::new();
    let mut authorised = None;
    for tree in policy_trees(payload) {
        let policy = match PolicyAt::load(repo, &tree) {
            Ok(Some(p)) => p,
            Ok(None) => {
                reasons.push(format!("{} has no signing.toml", short(&tree)));
                continue;
            }
            Err(e) => {
                reasons.push(format!("{}: {e}", short(&tree)));
                continue;
            }
        };
        let Some(identity) = policy.identity_with_certificate(&facts.fingerprint_sha256) else {
            reasons.push(format!(
                "the signer ({}) is no identity of the policy at {}",
                facts.subject,
                short(&tree)
            ));
            continue;
        };
        if let Some(why) = revoked_at(&policy.view, &identity, at) {
            reasons.push(why);
            continue;
        }
        if at < facts.not_before || at >= facts.not_after {
            reasons.push(format!(
                "the certificate of `{identity}` was not valid at the signing time {}",
                crate::policy::timestamp::Timestamp(at)
            ));
            continue;
        }
        authorised = Some(identity);
        break;
    }
    match authorised {
        Some(identity) => {
            let date = at.date();
            status.push_str(&format!(
                "[GNUPG:] GOODSIG {fpr} {}\n[GNUPG:] VALIDSIG {fpr} {date} {} 0 - - - - - {fpr}\n[GNUPG:] TRUST_FULLY 0 shell\n",
                facts.subject,
                at.unix_timestamp()
            ));
            Outcome {
                code: 0,
                stdout: status.clone().into_bytes(),
                status,
                stderr: format!(
                    "sigctl: Good signature from identity `{identity}` ({}), signed {} (time from the signer)\n",
                    facts.subject,
                    crate::policy::timestamp::Timestamp(at)
                ),
            }
        }
        None => errsig(status, &fpr, at, reasons.join("; ")),
    }
}

fn errsig(mut status: String, fpr: &str, at: OffsetDateTime, why: String) -> Outcome {
    status.push_str(&format!(
        "[GNUPG:] ERRSIG {fpr} 19 8 00 {} 9\n[GNUPG:] TRUST_NEVER 0 shell\n",
        at.unix_timestamp()
    ));
    Outcome {
        code: 1,
        stdout: status.clone().into_bytes(),
        status,
        stderr: format!("sigctl: signature not authorised by signing.toml: {why}\n"),
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn revoked_at(view: &PolicyView, identity: &str, at: OffsetDateTime) -> Option<String> {
    use crate::policy::raw::RevocationReason;
    let rev = view
        .raw
        .revocations
        .iter()
        .find(|r| r.identity.get() == identity)?;
    let from = match (rev.reason.get(), &rev.compromised_since) {
        (RevocationReason::KeyCompromise, Some(since)) => since.get().0,
        _ => rev.revoked_at.get().0,
    };
    (at >= from).then(|| {
        format!(
            "identity `{identity}` is revoked for signatures from {}",
            crate::policy::timestamp::Timestamp(from)
        )
    })
}

/// Best-effort key id and subject of an unverifiable signature, for BADSIG.
fn signer_hint(sig: &[u8]) -> (String, String) {
    let _ = sig;
    (
        "0000000000000000000000000000000000000000".into(),
        "unknown".into(),
    )
}

/// Run the gpg-compatible front-end on parsed arguments, reading stdin and
/// the signature file, and return the outcome.
pub fn run(args: &GpgArgs, access: &TokenAccess, now: OffsetDateTime) -> Outcome {
    let fail = |code: u8, msg: String| Outcome {
        code,
        stdout: Vec::new(),
        status: String::new(),
        stderr: msg,
    };
    let mut payload = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut payload) {
        return fail(
            2,
            format!("sigctl: error: cannot read the payload from stdin: {e}\n"),
        );
    }
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(2, error_text(&e)),
    };
    match &args.mode {
        GpgMode::Sign { key } => sign(&repo, access, key, &payload, now),
        GpgMode::Verify { signature } => match std::fs::read(signature) {
            Ok(sig) => verify(&repo, &sig, &payload, now),
            Err(e) => fail(
                2,
                format!("sigctl: error: cannot read {}: {e}\n", signature.display()),
            ),
        },
    }
}

/// Write an outcome where git expects it: the status lines on the status
/// fd (1 or 2), the signature on stdout, human text on stderr.
pub fn emit(args: &GpgArgs, o: &Outcome) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    if args.status_fd == Some(1) {
        let _ = out.write_all(o.status.as_bytes());
        if o.stdout != o.status.as_bytes() {
            let _ = out.write_all(&o.stdout);
        }
        let _ = err.write_all(o.stderr.as_bytes());
    } else {
        let _ = out.write_all(&o.stdout);
        let _ = err.write_all(o.stderr.as_bytes());
        let _ = err.write_all(o.status.as_bytes());
    }
    let _ = out.flush();
    let _ = err.flush();
}
