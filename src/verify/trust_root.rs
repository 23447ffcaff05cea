//! The trust root: the commit the chain of authentication starts from.

use crate::error::{Error, Result};
use crate::repo::walk::{CommitInfo, IdSet, Tip};
use crate::repo::{ObjectId, Repo};

use super::policy_at::Engine;
use super::report::{Kind, ObjectResult, Reason};

/// The trust root and whether it was pinned. Unpinned, it is the commit
/// that introduced signing.toml in the history of the plain specs and of the
/// ranges' bases, never in the commits a range brings (nor HEAD's): an
/// attacker's pull request cannot bring its own root. `walked`: that
/// history when the walk already is it.
pub(super) fn choose(
    engine: &mut Engine,
    pinned: Option<String>,
    plain: &[ObjectId],
    bases: &[ObjectId],
    walked: Option<&[CommitInfo]>,
    known: &dyn Fn(&ObjectId) -> Option<CommitInfo>,
    warnings: &mut Vec<String>,
) -> Result<(ObjectId, bool)> {
    if let Some(r) = pinned {
        return Ok((engine.repo.resolve_commit_id(&r)?, true));
    }
    let root = match walked {
        Some(history) => introducing_commit(engine, history)?,
        None => {
            let mut sources = plain.to_vec();
            sources.extend(bases.iter().copied());
            let history = engine.repo.commits_parents_first(&sources, &[], known)?;
            introducing_commit(engine, &history)?
        }
    };
    let root = root.ok_or_else(|| {
        if bases.is_empty() {
            Error::NoPolicyInHistory
        } else {
            Error::Git("no trust root: no commit before the range's base has a signing.toml, and a trust root is never taken from the commits a range brings; pin one with --trust-root COMMIT or `git config sigctl.trustRoot COMMIT`".into())
        }
    })?;
    warnings.push(format!(
        "trust root {} is the commit that introduced signing.toml, found by walking history: pin it with --trust-root or `git config sigctl.trustRoot {}`",
        root.to_hex_with_len(12),
        root
    ));
    Ok((root, false))
}

/// A result for each spec whose tip is neither the trust root nor one of
/// its descendants: such a spec must fail, never pass as "0 of 0".
/// `commits`: the walk less the trust root's ancestors (`pre`).
pub(super) fn stray_tips(
    repo: &Repo,
    tips: &[Tip],
    root: &ObjectId,
    commits: &[CommitInfo],
    pre: &IdSet,
    known: &dyn Fn(&ObjectId) -> Option<CommitInfo>,
) -> Result<Vec<ObjectResult>> {
    let mut out: Vec<ObjectResult> = Vec::new();
    for t in tips {
        let c = t.commit;
        let descends = c == *root
            || commits.iter().any(|w| w.id == c)
            || (!pre.contains(&c) && repo.ancestors(&[c], known)?.contains(root));
        if !descends && !out.iter().any(|r| r.object == c) {
            let mut r = ObjectResult::new(c, Kind::Commit);
            r.reason = Reason::NotDescendantOfTrustRoot;
            r.message = format!(
                "{} is not the trust root {} nor descended from it",
                t.refname.as_deref().unwrap_or("the spec's commit"),
                root.to_hex_with_len(12)
            )
            .into();
            out.push(r);
        }
    }
    Ok(out)
}

/// The first commit (parents first) whose tree has signing.toml while none
/// of its parents' trees has: the commit that introduced the policy.
pub(super) fn introducing_commit(
    engine: &mut Engine,
    commits: &[CommitInfo],
) -> Result<Option<ObjectId>> {
    let inside: IdSet = commits.iter().map(|c| c.id).collect();
    let mut with_policy = IdSet::default();
    for c in commits {
        if engine.policy_blob(&c.tree)?.is_some() {
            let mut parent_has = false;
            for p in &c.parents {
                parent_has |= if inside.contains(p) {
                    with_policy.contains(p)
                } else {
                    // a parent outside the walk (behind a range's base)
                    let tree = engine.repo.commit_info(p)?.tree;
                    engine.policy_blob(&tree)?.is_some()
                };
            }
            with_policy.insert(c.id);
            if !parent_has {
                return Ok(Some(c.id));
            }
        }
    }
    Ok(None)
}
