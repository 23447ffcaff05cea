//! The trust root: the commit the chain of authentication starts from.

use crate::error::Result;
use crate::repo::ObjectId;
use crate::repo::walk::{CommitInfo, IdSet};

use super::policy_at::Engine;

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
