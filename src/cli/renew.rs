//! `sigctl renew --identity X [--import CERT]` and `sigctl ca issue`.
//!
//! Renewal without disruption: a successor key is generated on the same
//! token under the same label (told apart by its id), its certificate
//! request printed; once the CA's certificate for it comes back, it is
//! listed *next to* the current certificate, each valid in its window, so
//! signing moves to the successor while what the predecessor signed keeps
//! verifying. Nothing is written until the certificate carries the
//! successor key.

use std::path::{Path, PathBuf};

use der::Decode;

use super::key::{csr, report};
use super::{EXIT_OK, fail, out, token};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::lifecycle::policy_file::{self, PolicyFile};
use crate::policy::edit::append_to_identity;
use crate::policy::pkcs11_uri::Pkcs11Uri;
use crate::repo::Repo;
use crate::sign::{PolicyView, SignError, sha2_256};
use crate::signature::x509;
use crate::signer::pkcs11::{KeyInfo, Token};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The identity whose certificate is renewed
    #[arg(long)]
    identity: String,
    /// The CA's certificate for the successor key: added next to the current one
    #[arg(long, value_name = "CERT")]
    import: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum CaCommand {
    /// Issue the successor certificate of an identity with the policy's internal CA
    Issue(IssueArgs),
}

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The identity whose successor key is certified
    #[arg(long)]
    identity: String,
    /// Who approved the issuance (recorded in provenance)
    #[arg(long = "approved-by", value_name = "WHO", required = true)]
    approved_by: Vec<String>,
}

pub fn run(a: Args) -> u8 {
    let repo = match Repo::discover(Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let prompt = token::prompt_pin;
    let access = token::access(Some(&repo), &prompt);
    let result = match &a.import {
        None => successor_request(&repo, &access, &a.identity),
        Some(file) => import(&repo, &access, &a.identity, file),
    };
    match result {
        Ok(text) => {
            out(&text);
            EXIT_OK
        }
        Err(e) => report(e),
    }
}

/// The identity's listed certificates, parsed (unreadable ones left out).
fn listed(repo: &Repo, view: &PolicyView, name: &str) -> Result<Vec<x509::CertFacts>, SignError> {
    let id = view.identity(name)?;
    let mut out = Vec::new();
    for path in id.certificates() {
        if let crate::policy::CertInput::Bytes(b) = view.trust_file(repo, path.get())
            && let Ok(f) = x509::parse(&b)
        {
            out.push(f);
        }
    }
    if out.is_empty() {
        return Err(SignError::NoCertificate {
            name: name.to_owned(),
            why: "it lists no readable certificate to renew (issue the first one with `sigctl cert request` and `sigctl cert import`)".into(),
        });
    }
    Ok(out)
}

/// The token's key under the identity's URI that no listed certificate
/// carries: the successor, when one was generated already.
fn successor_on(
    tok: &Token,
    uri: &Pkcs11Uri,
    listed: &[x509::CertFacts],
) -> Result<Option<(KeyInfo, Pkcs11Uri)>, SignError> {
    Ok(tok.keys(uri)?.into_iter().find(|(k, _)| {
        let fp = x509::hex(&sha2_256(&k.spki));
        !listed.iter().any(|c| c.public_key_sha256 == fp)
    }))
}

/// Generate (or find) the successor key and print its certificate request.
fn successor_request(
    repo: &Repo,
    access: &crate::signer::TokenAccess,
    name: &str,
) -> Result<String, SignError> {
    let view = PolicyView::load_worktree(repo)?;
    let uri = view.key_uri(name)?;
    let listed = listed(repo, &view, name)?;
    let current = listed
        .iter()
        .max_by_key(|c| c.not_after)
        .cloned()
        .ok_or_else(|| SignError::NoCertificate {
            name: name.to_owned(),
            why: "no certificate".into(),
        })?;
    let tok = access.open(&uri, true, true)?;
    let (current_key, _) = tok.key_for(&uri, &current.public_key_sha256)?;
    let (key, narrowed, made) = match successor_on(&tok, &uri, &listed)? {
        Some((k, u)) => (k, u, false),
        None => {
            // same label, an id of its own
            let mut seed = uri.attr("object").unwrap_or("").as_bytes().to_vec();
            seed.extend_from_slice(b"#successor#");
            seed.extend_from_slice(&SystemClock.now().unix_timestamp_nanos().to_be_bytes());
            let mut succ = uri.clone();
            succ.path
                .insert("id".to_owned(), sha2_256(&seed)[..16].to_vec());
            let k = tok.generate(&succ, current_key.algorithm)?;
            (k, succ, true)
        }
    };
    let subject = x509_cert::Certificate::from_der(&current.der)
        .map_err(|e| SignError::Cms(e.to_string()))?
        .tbs_certificate()
        .subject()
        .clone();
    let request = csr(&tok, &narrowed, &key, subject)?;
    let fp = x509::hex(&sha2_256(&key.spki));
    let (sensitive, extractable, _) = tok.private_key_protection(&narrowed)?;
    let mut text = String::new();
    text.push_str(&request);
    eprint_note(&format!(
        "{} the successor key of identity `{name}` on token `{}` ({}, sensitive: {sensitive}, extractable: {extractable})\n\
         public key sha256:{fp}\n\
         the current certificate (serial {}) stays valid until {}: nothing changes until the new one is imported\n\
         next: have your CA sign the request above, then `sigctl renew --identity {name} --import CERT`\n",
        if made { "generated" } else { "found" },
        tok.label,
        key.algorithm,
        current.serial,
        current.not_after.date()
    ));
    Ok(text)
}

/// What a terminal reader is told beside stdout's request (stdout is the
/// CSR alone, for a pipe to the CA).
fn eprint_note(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Add the successor's certificate next to the current one.
fn import(
    repo: &Repo,
    access: &crate::signer::TokenAccess,
    name: &str,
    file: &Path,
) -> Result<String, SignError> {
    let view = PolicyView::load_worktree(repo)?;
    let uri = view.key_uri(name)?;
    let listed = listed(repo, &view, name)?;
    let bytes = crate::files::read(file, crate::files::KEY_INPUT).map_err(Error::from)?;
    let facts = x509::parse(&bytes).map_err(|e| SignError::NoCertificate {
        name: name.to_owned(),
        why: format!("{}: {e}", file.display()),
    })?;
    let now = SystemClock.now();
    if now >= facts.not_after {
        return Err(SignError::CertificateExpired {
            name: name.to_owned(),
            date: facts.not_after.date().to_string(),
        });
    }
    let refuse = |why: String| SignError::NoCertificate {
        name: name.to_owned(),
        why,
    };
    if listed
        .iter()
        .any(|c| c.public_key_sha256 == facts.public_key_sha256)
    {
        return Err(refuse(format!(
            "{} carries a key the identity already lists: it is no successor (run `sigctl renew --identity {name}` for a new key)",
            file.display()
        )));
    }
    // the certificate must carry the successor key, on this token
    let tok = access.open(&uri, false, true)?;
    // any key under the identity's URI that no listed certificate carries
    // may be the one certified (an abandoned successor may sit beside it)
    let unlisted: Vec<String> = tok
        .keys(&uri)?
        .into_iter()
        .map(|(k, _)| x509::hex(&sha2_256(&k.spki)))
        .filter(|fp| !listed.iter().any(|c| &c.public_key_sha256 == fp))
        .collect();
    match unlisted.first() {
        Some(_) if unlisted.contains(&facts.public_key_sha256) => {}
        Some(other) => {
            return Err(SignError::KeyMismatch {
                name: name.to_owned(),
                cert: facts.public_key_sha256.clone(),
                token: other.clone(),
            });
        }
        None => {
            return Err(refuse(format!(
                "no successor key on token `{}`: run `sigctl renew --identity {name}` first",
                tok.label
            )));
        }
    }
    drop(tok);
    let next = next_to_current(repo, &view, name, &facts)?;
    let rel = next.rel.clone();
    next.save(repo, now)?;
    Ok(added_text(&view, name, &rel, &facts, &listed))
}

/// The successor's certificate placed next to the current one: the policy
/// as read, its edited text and the certificate file, not written yet.
struct Next {
    old: PolicyFile,
    text: String,
    path: PathBuf,
    rel: String,
    pem: Vec<u8>,
}

fn edit_error(e: policy_file::EditError) -> SignError {
    SignError::Repo(Error::Usage(e.to_string()))
}

fn next_to_current(
    repo: &Repo,
    view: &PolicyView,
    name: &str,
    facts: &x509::CertFacts,
) -> Result<Next, SignError> {
    let refuse = |why: String| SignError::NoCertificate {
        name: name.to_owned(),
        why,
    };
    // an edit starts only from HEAD's policy (local changes are refused)
    let old = policy_file::read_for_edit(repo).map_err(edit_error)?;
    // beside the current certificate, named by the new one's expiry
    let id = view.identity(name)?;
    let first = id
        .certificates()
        .into_iter()
        .next()
        .map(|p| p.get().clone())
        .unwrap_or_else(|| format!("certs/{name}.pem"));
    let rel = successor_path(&first, facts);
    let path = crate::check::resolve_in_repo(repo.root(), &rel)
        .ok_or_else(|| refuse(format!("`{rel}` is not a path inside the repository")))?;
    if std::fs::symlink_metadata(&path).is_ok() {
        return Err(refuse(format!("{rel} exists already: nothing written")));
    }
    let cert =
        x509_cert::Certificate::from_der(&facts.der).map_err(|e| SignError::Cms(e.to_string()))?;
    let pem = der::EncodePem::to_pem(&cert, der::pem::LineEnding::LF)
        .map_err(|e| SignError::Cms(e.to_string()))?
        .into_bytes();
    let mut text = append_to_identity(&old.text, name, "certificate", &rel)
        .map_err(|e| edit_error(e.into()))?;
    if id.public_key.is_some() {
        text = append_to_identity(
            &text,
            name,
            "public_key",
            &format!("sha256:{}", facts.public_key_sha256),
        )
        .map_err(|e| edit_error(e.into()))?;
    }
    Ok(Next {
        old,
        text,
        path,
        rel,
        pem,
    })
}

impl Next {
    /// The certificate first, then the policy, checked as `sigctl check`
    /// would with the certificate in place; the certificate removed again
    /// when the policy is refused or cannot be written.
    fn save(self, repo: &Repo, now: time::OffsetDateTime) -> Result<(), SignError> {
        crate::init::write_atomically(&self.path, &self.pem).map_err(|e| {
            SignError::Repo(Error::Unwritable {
                path: self.path.clone(),
                message: e.to_string(),
            })
        })?;
        let done = policy_file::validate(repo, &self.old, &self.text, now)
            .and_then(|_| policy_file::write(&self.old, &self.text));
        if let Err(e) = done {
            let _ = std::fs::remove_file(&self.path);
            return Err(edit_error(e));
        }
        Ok(())
    }
}

/// What `renew --import` and `ca issue` say once the successor is listed.
fn added_text(
    view: &PolicyView,
    name: &str,
    rel: &str,
    facts: &x509::CertFacts,
    listed: &[x509::CertFacts],
) -> String {
    let current = listed.iter().max_by_key(|c| c.not_after);
    let admins = view
        .raw
        .policy
        .admins
        .iter()
        .map(|a| a.get().clone())
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "added the successor certificate of identity `{name}` as {rel}, next to the current one\n  subject {}\n  issuer  {}\n  serial  {}\n  valid   {} to {}\n",
        facts.subject,
        facts.issuer,
        facts.serial,
        facts.not_before.date(),
        facts.not_after.date()
    );
    if let Some(c) = current {
        text.push_str(&format!(
            "  both verify while their windows overlap ({} to {}); sigctl signs with the new key from {}\n",
            facts.not_before.date(),
            c.not_after.date(),
            facts.not_before.date()
        ));
    }
    if facts.code_signing == Some(false) {
        text.push_str(
            "warning: the certificate does not allow code signing (no codeSigning EKU)\n",
        );
    }
    text.push_str(&format!(
        "this is a policy change: commit signing.toml and {rel}, signed by an identity of an admin ({admins})\n"
    ));
    text
}

/// `certs/release.pem` → `certs/release-2027-03-01.pem` (the new expiry).
fn successor_path(first: &str, facts: &x509::CertFacts) -> String {
    let p = Path::new(first);
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "certificate".into());
    let file = format!("{stem}-{}.pem", facts.not_after.date());
    match p.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => format!("{}/{file}", d.display()),
        None => file,
    }
}

pub fn run_ca(c: CaCommand) -> u8 {
    let CaCommand::Issue(a) = c;
    let repo = match Repo::discover(Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let prompt = token::prompt_pin;
    let access = token::access(Some(&repo), &prompt);
    match ca_issue(&repo, &access, &a.identity, &a.approved_by) {
        Ok(text) => {
            out(&text);
            EXIT_OK
        }
        Err(e) => report(e),
    }
}

/// Certify the identity's successor key with the policy's CA, list the
/// certificate next to the current one, and record the issuance (who
/// approved it) in provenance, signed by the CA's key.
fn ca_issue(
    repo: &Repo,
    access: &crate::signer::TokenAccess,
    name: &str,
    approved_by: &[String],
) -> Result<String, SignError> {
    let now = SystemClock.now();
    let view = PolicyView::load_worktree(repo)?;
    let ca = view.raw.ca.as_ref().ok_or_else(|| {
        SignError::from(Error::Usage(
            "signing.toml has no `[ca]`: name the hsm identity that issues certificates (`[ca] identity = \"…\"`)".to_owned(),
        ))
    })?;
    let ca_name = ca.get().identity.get().clone();
    if ca_name == name {
        return Err(Error::Usage(format!(
            "`{name}` is the CA itself: it does not certify itself"
        ))
        .into());
    }
    let days = ca
        .get()
        .validity
        .as_ref()
        .map_or(90, |d| (d.get().as_time().whole_days()).max(1) as u64);
    if approved_by.iter().all(|w| w.trim().is_empty()) {
        return Err(
            Error::Usage("--approved-by names who approved the issuance".to_owned()).into(),
        );
    }
    let uri = view.key_uri(name)?;
    let listed = listed(repo, &view, name)?;
    let current = listed
        .iter()
        .max_by_key(|c| c.not_after)
        .cloned()
        .ok_or_else(|| SignError::NoCertificate {
            name: name.to_owned(),
            why: "no certificate".into(),
        })?;
    let tok = access.open(&uri, false, true)?;
    let Some((successor, _)) = successor_on(&tok, &uri, &listed)? else {
        return Err(SignError::NoCertificate {
            name: name.to_owned(),
            why: format!(
                "no successor key on token `{}`: run `sigctl renew --identity {name}` first",
                tok.label
            ),
        });
    };
    drop(tok);
    let subject = x509_cert::Certificate::from_der(&current.der)
        .map_err(|e| SignError::Cms(e.to_string()))?
        .tbs_certificate()
        .subject()
        .clone();
    // the CA's key, cleared like any signer's (unrevoked, certificate valid)
    let cleared = crate::sign::clear(repo, &view, &ca_name, None, now)?;
    let ca_key = crate::sign::open_key(&cleared, access, now)?;
    if ca_key.facts.is_ca != Some(true) {
        return Err(Error::Usage(format!(
            "the CA identity `{ca_name}`'s certificate is no certificate authority (basicConstraints CA:TRUE): it cannot issue"
        ))
        .into());
    }
    let start = std::time::SystemTime::from(now - time::Duration::seconds(60));
    let cert = crate::lifecycle::ca::issue(&ca_key, subject, &successor.spki, start, days)?;
    let der = der::Encode::to_der(&cert).map_err(|e| SignError::Cms(e.to_string()))?;
    let facts = x509::parse(&der).map_err(|e| SignError::Cms(e.to_string()))?;
    let next = next_to_current(repo, &view, name, &facts)?;
    // the record first (what it records is published after it), then the files
    let blob = git_blob_id(&next.pem);
    let mut record = crate::provenance::Record::new(
        &view,
        &ca_key,
        crate::provenance::Event::Certificate,
        crate::provenance::Subject {
            object: None,
            name: Some(next.rel.clone()),
            sha256: Some(x509::hex(&sha2_256(&der))),
            blob: Some(blob.to_string()),
            release: None,
            certificate_for: Some(name.to_owned()),
        },
        None,
        &der,
        now,
    );
    record.approved_by = approved_by.to_vec();
    let notes = crate::provenance::append(repo, &[(blob, record)], &ca_key, now)?;
    let rel = next.rel.clone();
    if let Err(e) = next.save(repo, now) {
        crate::provenance::retract(repo, notes, &ca_name, now);
        return Err(e);
    }
    let mut text = format!(
        "issued by the policy's CA `{ca_name}` for {days} days, approved by {}; recorded in refs/notes/signing\n",
        approved_by.join(", ")
    );
    text.push_str(&added_text(&view, name, &rel, &facts, &listed));
    Ok(text)
}

/// The git blob id of `bytes` (what provenance attaches a file's record to).
fn git_blob_id(bytes: &[u8]) -> crate::repo::ObjectId {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    crate::repo::ObjectId::from_bytes_or_panic(&h.finalize())
}
