//! `sigctl sign tag`: a signed annotated tag, written only when signing
//! succeeded (no stray ref).

use time::OffsetDateTime;

use super::SignError;
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

/// A signed annotated tag: a release without artefacts (the same order:
/// tag object, record, tag ref last).
pub fn sign_tag(
    repo: &Repo,
    access: &TokenAccess,
    req: &TagRequest,
    now: OffsetDateTime,
) -> Result<TagReport, SignError> {
    let r = super::release::sign_release(repo, access, req, &[], false, now)?;
    Ok(TagReport {
        refname: r.refname,
        tag: r.tag,
        commit: r.commit,
        identity: r.identity,
        notes: r.notes,
    })
}
