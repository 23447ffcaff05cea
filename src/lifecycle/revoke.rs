//! `sigctl revoke`: add a `[[revocations]]` entry to signing.toml (comments
//! and layout kept) and compute the blast radius of the key
//! (`verify::blast`). Nothing is written unless every step before it
//! succeeded; an identity already revoked is left as it is.

use serde::Serialize;
use time::OffsetDateTime;

use super::policy_file::{self, EditError};
use crate::policy::edit::{self, NewRevocation};
use crate::policy::raw::RevocationReason;
use crate::policy::timestamp::Timestamp;
use crate::policy::view;
use crate::repo::Repo;
use crate::verify::blast::{self, BlastOptions, BlastRadius};

/// What to revoke.
#[derive(Debug, Clone)]
pub struct RevokeOptions {
    pub identity: String,
    pub reason: RevocationReason,
    /// `compromised_since` (key-compromise only).
    pub since: Option<OffsetDateTime>,
}

/// The revocation as signing.toml holds it.
#[derive(Debug, Clone, Serialize)]
pub struct RevocationEntry {
    pub identity: String,
    pub reason: &'static str,
    pub revoked_at: String,
    pub compromised_since: Option<String>,
}

/// What `revoke` did and found.
#[derive(Debug, Clone, Serialize)]
pub struct RevokeOutcome {
    /// Whether signing.toml was changed (false: the identity was already revoked).
    pub changed: bool,
    pub revocation: RevocationEntry,
    /// Who may sign the commit of the change: admin owners and their identities.
    pub admins: Vec<String>,
    pub blast_radius: BlastRadius,
}

/// Revoke `opts.identity` at `now` (whole seconds).
pub fn revoke(
    repo: &Repo,
    opts: &RevokeOptions,
    now: OffsetDateTime,
) -> Result<RevokeOutcome, EditError> {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let file = policy_file::read_for_edit(repo)?;
    if view::identity(&file.raw, &opts.identity).is_none() {
        let known: Vec<&str> = file
            .raw
            .identities
            .keys()
            .map(|k| k.get().as_str())
            .collect();
        return Err(EditError::usage(
            format!(
                "unknown identity `{}`: signing.toml declares no such identity",
                opts.identity
            ),
            format!(
                "the declared identities: {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
    if let Some(since) = opts.since {
        if opts.reason != RevocationReason::KeyCompromise {
            return Err(EditError::usage(
                format!(
                    "--since is for a key compromise, not `{}`",
                    opts.reason.as_str()
                ),
                "a superseded or offboarded key's signatures stay valid up to the revocation: leave --since out, or use --reason key-compromise",
            ));
        }
        if since > now {
            return Err(EditError::usage(
                format!("--since {} is in the future", Timestamp(since)),
                "give the time the key may first have been out of your hands, at or before now",
            ));
        }
    }
    let admins = policy_file::admins(&file.raw);
    // already revoked: say so, change nothing, show what that revocation reaches
    if let Some(existing) = view::revocations(&file.raw, &opts.identity).next() {
        let since = existing.compromised_since.as_ref().map(|s| s.get().0);
        let blast_radius = blast::blast_radius(
            repo,
            &BlastOptions {
                identity: opts.identity.clone(),
                since,
                invalid_from: view::revoked_from(existing),
            },
        )?;
        return Ok(RevokeOutcome {
            changed: false,
            revocation: RevocationEntry {
                identity: opts.identity.clone(),
                reason: existing.reason.get().as_str(),
                revoked_at: existing.revoked_at.get().to_string(),
                compromised_since: since.map(|s| Timestamp(s).to_string()),
            },
            admins,
            blast_radius,
        });
    }
    let new = NewRevocation {
        identity: opts.identity.clone(),
        reason: opts.reason,
        revoked_at: now,
        compromised_since: opts.since,
    };
    let text = edit::add_revocation(&file.text, &new)?;
    let raw = policy_file::validate(repo, &file, &text, now)?;
    let invalid_from = view::revocations(&raw, &opts.identity)
        .next()
        .map_or(now, view::revoked_from);
    // everything that can fail before the write does
    let blast_radius = blast::blast_radius(
        repo,
        &BlastOptions {
            identity: opts.identity.clone(),
            since: opts.since,
            invalid_from,
        },
    )?;
    policy_file::write(&file, &text)?;
    Ok(RevokeOutcome {
        changed: true,
        revocation: RevocationEntry {
            identity: opts.identity.clone(),
            reason: opts.reason.as_str(),
            revoked_at: Timestamp(now).to_string(),
            compromised_since: opts.since.map(|s| Timestamp(s).to_string()),
        },
        admins,
        blast_radius,
    })
}
