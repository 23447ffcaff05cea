//! `sigctl sign tag`: a signed annotated tag, written only when signing
//! succeeded (no stray ref).

use time::OffsetDateTime;

use super::{PolicyView, SignError, clear, open_key, sign_cms};
use crate::error::Error;
use crate::provenance::{self, Event, Record, Subject};
use crate::repo::Repo;
use crate::signer::TokenAccess;

/// What to tag, and how.
pub struct TagRequest<'a> {
    pub name: &'a str,
    /// The revision to tag (default HEAD).
    pub rev: Option<&'a str>,
    pub identity: &'a str,
    pub message: &'a str,
    /// `Name <email>` of the tagger.
    pub tagger: String,
}

/// What was made.
#[derive(Debug)]
pub struct TagReport {
    pub refname: String,
    pub tag: String,
    pub commit: String,
    pub identity: String,
    pub notes: Vec<String>,
}

pub fn sign_tag(
    repo: &Repo,
    access: &TokenAccess,
    req: &TagRequest,
    now: OffsetDateTime,
) -> Result<TagReport, SignError> {
    let refname = format!("refs/tags/{}", req.name);
    repo.validate_ref_name(&refname)?;
    if repo.ref_exists(&refname)? {
        return Err(SignError::Repo(Error::Git(format!(
            "tag `{}` already exists; sigctl never moves a tag (delete it first if you mean to)",
            req.name
        ))));
    }
    let commit = repo.resolve_commit(req.rev.unwrap_or("HEAD"))?;
    let view = PolicyView::load(repo)?;
    let cleared = clear(repo, &view, req.identity, Some(&refname), now)?;
    let (token, key) = open_key(&cleared, access)?;
    let mut message = req.message.to_owned();
    if !message.ends_with('\n') {
        message.push('\n');
    }
    let payload = format!(
        "object {commit}\ntype commit\ntag {}\ntagger {} {} +0000\n\n{message}",
        req.name,
        req.tagger,
        now.unix_timestamp()
    );
    let signature = sign_cms(&cleared, &token, &key, payload.as_bytes(), now)?;
    let object = format!("{payload}{signature}");
    let tag = repo.write_tag(req.name, object.as_bytes())?;
    // the event's record, signed by the same key; without it, no tag either
    let id = repo.object_id_of(true, object.as_bytes())?;
    let record = Record::new(
        &view,
        &cleared,
        &key,
        Event::Tag,
        Subject {
            object: Some(tag.clone()),
            name: None,
            sha256: None,
            blob: None,
        },
        Some(&refname),
        signature.as_bytes(),
        now,
    );
    if let Err(e) = provenance::append(repo, &[(id, record)], &cleared, &token, &key, now) {
        let _ = repo.delete_ref_if(&refname, &tag);
        return Err(e);
    }
    Ok(TagReport {
        refname,
        tag,
        commit,
        identity: cleared.name,
        notes: cleared.notes,
    })
}
