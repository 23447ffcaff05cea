//! `sigctl sign tag`: a signed annotated tag, written only when signing
//! succeeded (no stray ref).

use time::OffsetDateTime;

use super::{PolicyView, SignError, clear, open_key};
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
    let key = open_key(&cleared, access, now)?;
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
    let signed = key.sign_cms(payload.as_bytes(), now)?;
    let signature = &signed.armored;
    crate::interrupt::test_point("signed");
    // the last moment to stop with nothing written
    crate::interrupt::checkpoint()?;
    let object = format!("{payload}{signature}");
    // the record first, the tag ref last: a published tag always has its
    // record, even after kill -9 (a record whose tag never appeared still
    // records a signature the key made)
    let tag = repo.write_tag_object(object.as_bytes())?;
    let id = repo.object_id_of(true, object.as_bytes())?;
    let record = Record::new(
        &view,
        &key,
        Event::Tag,
        Subject {
            object: Some(tag.clone()),
            name: None,
            sha256: None,
            blob: None,
            release: None,
        },
        Some(&refname),
        signature.as_bytes(),
        now,
    )
    .logged(signed.logged.as_ref())
    .timestamped(signed.timestamped);
    let notes = provenance::append(repo, &[(id, record)], &key, now)?;
    crate::interrupt::test_point("recorded");
    if let Err(e) = repo.create_tag_ref(req.name, &tag) {
        provenance::retract(repo, notes, &cleared.name, now);
        return Err(e.into());
    }
    crate::interrupt::test_point("published");
    Ok(TagReport {
        refname,
        tag,
        commit,
        identity: cleared.name,
        notes: cleared.notes,
    })
}
