//! `sigctl sign release TAG FILE…`: the signed annotated tag and every
//! artefact's bundle in one step, all or nothing, with the artefacts'
//! records tied to the tag.

use std::path::PathBuf;

use time::OffsetDateTime;

use super::artifact::{ArtifactReport, checked_files, make_bundles, write_all_or_nothing};
use super::tag::TagRequest;
use super::{PolicyView, SignError, clear, open_key};
use crate::error::Error;
use crate::provenance::{self, Event, Record, Subject};
use crate::repo::Repo;
use crate::signer::TokenAccess;

/// What a release made.
#[derive(Debug)]
pub struct ReleaseReport {
    pub refname: String,
    pub tag: String,
    pub commit: String,
    pub identity: String,
    pub artefacts: Vec<ArtifactReport>,
    pub notes: Vec<String>,
}

/// Sign the tag and every artefact with one key, then write: the tag object
/// and the bundles' temporary files, one notes commit with every record,
/// the bundles renamed into place, the tag ref last. A failure at any step
/// leaves no tag ref, no bundle and no record.
pub fn sign_release(
    repo: &Repo,
    access: &TokenAccess,
    req: &TagRequest,
    files: &[PathBuf],
    timestamp: bool,
    now: OffsetDateTime,
) -> Result<ReleaseReport, SignError> {
    let refname = format!("refs/tags/{}", req.name);
    repo.validate_ref_name(&refname)?;
    if repo.ref_exists(&refname)? {
        return Err(SignError::Repo(Error::Git(format!(
            "tag `{}` already exists; sigctl never moves a tag (delete it first if you mean to)",
            req.name
        ))));
    }
    let files = checked_files(files)?;
    let commit = repo.resolve_commit(req.rev.unwrap_or("HEAD"))?;
    let view = PolicyView::load(repo)?;
    let mut cleared = clear(repo, &view, req.identity, Some(&refname), now)?;
    if timestamp && cleared.tsa.is_none() && matches!(cleared.custody, super::Custodian::Hsm { .. })
    {
        cleared.tsa = Some(view.timestamp_authority(repo, now)?);
    }
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
    let object = format!("{payload}{}", signed.armored);
    let tag_id = repo.object_id_of(true, object.as_bytes())?;
    let tag = tag_id.to_string();
    let (made, mut records) = make_bundles(&view, &key, &files, Some(&refname), Some(&tag), now)?;
    records.push((
        tag_id,
        Record::new(
            &view,
            &key,
            Event::Tag,
            Subject {
                object: Some(tag.clone()),
                name: None,
                sha256: None,
                blob: None,
                release: None,
                certificate_for: None,
            },
            Some(&refname),
            signed.armored.as_bytes(),
            now,
        )
        .logged(signed.logged.as_ref())
        .timestamped(signed.timestamped),
    ));
    crate::interrupt::test_point("signed");
    // the last moment to stop with nothing written
    crate::interrupt::checkpoint()?;
    let written = repo.write_tag_object(object.as_bytes())?;
    if written != tag {
        return Err(SignError::Cms(format!(
            "the tag object was written as {written}, not {tag}"
        )));
    }
    let bundles: Vec<(PathBuf, String)> = made
        .iter()
        .map(|m| (m.bundle.clone(), m.json.clone()))
        .collect();
    write_all_or_nothing(
        &bundles,
        || provenance::append(repo, &records, &key, now),
        || repo.create_tag_ref(req.name, &tag).map_err(SignError::from),
        |notes| {
            provenance::retract(repo, notes, &cleared.name, now);
        },
    )?;
    Ok(ReleaseReport {
        refname,
        tag,
        commit,
        identity: cleared.name,
        artefacts: made.into_iter().map(|m| m.report()).collect(),
        notes: cleared.notes,
    })
}
