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
use crate::sign::{self, PolicyView, SignError};
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
    let result = (|| -> Result<(String, sign::Cleared, sign::Key), SignError> {
        let view = PolicyView::load(repo)?;
        let key = view.signing_identity_for(key);
        let cleared = sign::clear(repo, &view, &key, refname.as_deref(), now)?;
        let key = sign::open_key(&cleared, access, now)?;
        let signed = key.sign_cms(payload, now)?;
        crate::interrupt::test_point("signed");
        // the last moment to stop with nothing written (git then writes no object)
        crate::interrupt::checkpoint()?;
        record(repo, &view, &key, payload, &signed, refname.as_deref(), now)?;
        crate::interrupt::test_point("recorded");
        Ok((signed.armored, cleared, key))
    })();
    match result {
        Ok((armored, cleared, key)) => {
            let fpr = key_id(&key.facts.der);
            let status = format!(
                "[GNUPG:] KEY_CONSIDERED {fpr} 0\n[GNUPG:] BEGIN_SIGNING H8\n[GNUPG:] SIG_CREATED D 19 8 00 {} {fpr}\n",
                now.unix_timestamp()
            );
            let mut stderr = match key.keyless_identity() {
                Some((issuer, subject)) => format!(
                    "sigctl: signed as identity `{}` (keyless: {subject}, issuer {issuer})\n",
                    cleared.name
                ),
                None => format!(
                    "sigctl: signed as identity `{}` ({})\n",
                    cleared.name, key.facts.subject
                ),
            };
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

/// Record the signing event under the id the object will have once git
/// writes it (a tag: the payload then the signature; a commit: the
/// signature as a `gpgsig` header), signed by the same key. If the record
/// cannot be written, the signature is not handed to git either.
fn record(
    repo: &Repo,
    view: &PolicyView,
    key: &sign::Key,
    payload: &[u8],
    signed: &sign::CmsSigned,
    refname: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), SignError> {
    let armored = &signed.armored;
    use crate::provenance::{self, Event, Record, Subject};
    let is_tag = payload.starts_with(b"object ");
    let object = if is_tag {
        [payload, armored.as_bytes()].concat()
    } else {
        crate::repo::walk::insert_signature_header(payload, armored.as_bytes())
    };
    let id = repo.object_id_of(is_tag, &object)?;
    let r = Record::new(
        view,
        key,
        if is_tag { Event::Tag } else { Event::Commit },
        Subject {
            object: Some(id.to_string()),
            name: None,
            sha256: None,
            blob: None,
            release: None,
            certificate_for: None,
        },
        refname,
        armored.as_bytes(),
        now,
    )
    .logged(signed.logged.as_ref())
    .timestamped(signed.timestamped);
    provenance::append(repo, &[(id, r)], key, now).map(|_| ())
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

/// Verify `sig` over `payload` against the policy in force.
pub fn verify(repo: &Repo, sig: &[u8], payload: &[u8], now: OffsetDateTime) -> Outcome {
    let mut status = String::from("[GNUPG:] NEWSIG\n");
    let verified = match cms::verify_detached(sig, payload) {
        Ok(v) => v,
        Err(e) => {
            // the signer of an unverifiable signature is not known: gpgsm's null key id
            status.push_str(
                "[GNUPG:] BADSIG 0000000000000000000000000000000000000000 unknown\n[GNUPG:] TRUST_NEVER 0 shell\n",
            );
            return Outcome {
                code: 1,
                stdout: Vec::new(),
                status,
                stderr: format!("sigctl: BAD signature: {e}\n"),
            };
        }
    };
    let fpr = key_id(&verified.certificate);
    // a Fulcio certificate has an empty subject: its identity is the SAN
    let subject = match crate::signature::fulcio::identity(&verified.certificate) {
        Ok(id) if id.issuer.is_some() => id.subject,
        _ => x509::parse(&verified.certificate)
            .map(|f| f.subject)
            .unwrap_or_default(),
    };
    let judged = crate::verify::judge_object(repo, sig, payload);
    let at = judged
        .as_ref()
        .map_or(verified.signing_time.unwrap_or(now), |j| j.signed_at);
    let source = judged.as_ref().map_or("", |j| j.time_source);
    let (authorised, reasons) = match judged {
        Ok(j) => (Some(j.identity), Vec::new()),
        Err((reason, message)) => (None, vec![format!("{}: {message}", reason.as_str())]),
    };
    match authorised {
        Some(identity) => {
            let date = at.date();
            status.push_str(&format!(
                "[GNUPG:] GOODSIG {fpr} {}\n[GNUPG:] VALIDSIG {fpr} {date} {} 0 - - - - - {fpr}\n[GNUPG:] TRUST_FULLY 0 shell\n",
                subject,
                at.unix_timestamp()
            ));
            Outcome {
                code: 0,
                stdout: Vec::new(),
                status,
                stderr: format!(
                    "sigctl: Good signature from identity `{identity}` ({}), signed {} (time: {source})\n",
                    subject,
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
        stdout: Vec::new(),
        status,
        stderr: format!("sigctl: signature not authorised by signing.toml: {why}\n"),
    }
}

/// Run the gpg-compatible front-end on parsed arguments, reading stdin and
/// the signature file, and return the outcome.
/// The largest commit or tag git may hand over on stdin.
const MAX_PAYLOAD: u64 = 64 * 1024 * 1024;

pub fn run(args: &GpgArgs, access: &TokenAccess, now: OffsetDateTime) -> Outcome {
    let fail = |code: u8, msg: String| Outcome {
        code,
        stdout: Vec::new(),
        status: String::new(),
        stderr: msg,
    };
    let mut payload = Vec::new();
    if let Err(e) = std::io::stdin()
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut payload)
    {
        return fail(
            2,
            format!("sigctl: error: cannot read the payload from stdin: {e}\n"),
        );
    }
    if payload.len() as u64 > MAX_PAYLOAD {
        return fail(
            2,
            format!(
                "sigctl: error: the payload on stdin is larger than {MAX_PAYLOAD} bytes: not a commit or tag sigctl signs or verifies\n"
            ),
        );
    }
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(2, error_text(&e)),
    };
    match &args.mode {
        GpgMode::Sign { key } => sign(&repo, access, key, &payload, now),
        GpgMode::Verify { signature } => {
            match crate::files::read(signature, crate::files::SIGNATURE) {
                Ok(sig) => verify(&repo, &sig, &payload, now),
                Err(e) => fail(
                    2,
                    format!("sigctl: error: cannot read {}: {e}\n", signature.display()),
                ),
            }
        }
    }
}

/// Write an outcome where git expects it: the status lines on the status
/// fd (1 or 2), the signature on stdout, human text on stderr.
pub fn emit(args: &GpgArgs, o: &Outcome) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    if args.status_fd == Some(1) {
        let _ = out.write_all(o.status.as_bytes());
        let _ = out.write_all(&o.stdout);
        let _ = err.write_all(o.stderr.as_bytes());
    } else {
        let _ = out.write_all(&o.stdout);
        let _ = err.write_all(o.stderr.as_bytes());
        let _ = err.write_all(o.status.as_bytes());
    }
    let _ = out.flush();
    let _ = err.flush();
}
