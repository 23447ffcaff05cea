//! The walk and the signature checks: each commit read once, its signature
//! checked on every core while the walk goes on, or taken from the cache.

use crate::error::Result;
use crate::policy;
use crate::repo::ObjectId;
use crate::repo::Repo;
use crate::repo::walk::{CommitInfo, IdMap, IdSet};

use super::cache;
use super::policy_at::Engine;
use super::report::Reason;
use super::signer::{Check, Shared, check_signature, from_stored, read_signature};

/// What the walk learnt of the commits it read (those not in the cache):
/// their signature checks and the signing.toml blob of their trees.
#[derive(Default)]
pub(super) struct Fresh {
    pub checks: IdMap<Check>,
    pub policy_blobs: Vec<(ObjectId, Option<ObjectId>)>,
}

/// Walk (see [`Repo::commits_parents_first`]) while workers on the other
/// cores check each signature the walk reads and look up the signing.toml of
/// its tree: each commit is read once, and the walk and the crypto overlap.
pub(super) fn walk_checking(
    repo: &Repo,
    tips: &[ObjectId],
    bases: &[ObjectId],
    known: &dyn Fn(&ObjectId) -> Option<CommitInfo>,
    generation: &dyn Fn(&ObjectId) -> Option<u32>,
) -> Result<(Vec<CommitInfo>, IdSet, Fresh)> {
    struct Job {
        id: ObjectId,
        tree: ObjectId,
        claimed: i64,
        signature: Option<(Vec<u8>, Vec<u8>)>,
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 16);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(4096);
    let rx = std::sync::Mutex::new(rx);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = &rx;
                let repo = repo.clone();
                s.spawn(move || {
                    let mut fresh = Fresh::default();
                    let mut shared = Shared::default();
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok(job) = job else { break };
                        let blob = repo
                            .blob_in_tree(&job.tree, policy::FILE_NAME)
                            .ok()
                            .flatten();
                        fresh.policy_blobs.push((job.tree, blob));
                        if let Some((sig, payload)) = job.signature {
                            let mut check = check_signature(&sig, &payload, job.claimed);
                            shared.intern(&mut check);
                            fresh.checks.insert(job.id, check);
                        }
                    }
                    fresh
                })
            })
            .collect();
        let walked =
            repo.commits_parents_first_with(tips, bases, known, generation, &|info, raw| {
                let signature = (info.signed && !info.duplicate_signature)
                    .then(|| crate::repo::walk::split_commit_signature(raw))
                    .flatten();
                let _ = tx.send(Job {
                    id: info.id,
                    tree: info.tree,
                    claimed: info.committer_time,
                    signature,
                });
            });
        drop(tx);
        let mut fresh = Fresh::default();
        for h in handles {
            let part = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            fresh.checks.extend(part.checks);
            fresh.policy_blobs.extend(part.policy_blobs);
        }
        let (walked, hidden) = walked?;
        Ok((walked, hidden, fresh))
    })
}

/// Every commit's signature check, from the walk's workers or the cache (a
/// signed commit in neither, such as a cached keyless one, is checked now on
/// every core); and the signing.toml blob of every commit's tree. Returns
/// the checks aligned with `commits` and whether anything was new.
pub(super) fn check_all(
    engine: &mut Engine,
    commits: &[CommitInfo],
    cached: &cache::Cache,
    mut fresh: Fresh,
) -> (Vec<Option<Check>>, bool) {
    let mut out: Vec<Option<Check>> = Vec::with_capacity(commits.len());
    out.resize_with(commits.len(), || None);
    let mut todo: Vec<(usize, ObjectId, i64, bool)> = Vec::new();
    let mut trees: Vec<ObjectId> = Vec::new();
    let mut new = !fresh.policy_blobs.is_empty();
    for (tree, blob) in fresh.policy_blobs.drain(..) {
        engine.policy_blobs.insert(tree, blob);
    }
    for (n, c) in commits.iter().enumerate() {
        let entry = cached.get(&c.id);
        if let Some(e) = &entry {
            engine.policy_blobs.entry(c.tree).or_insert(e.policy);
        } else if !engine.policy_blobs.contains_key(&c.tree) {
            trees.push(c.tree);
        }
        if !c.signed || c.duplicate_signature {
            continue;
        }
        if let Some(check) = fresh.checks.remove(&c.id) {
            out[n] = Some(check);
            continue;
        }
        match entry.as_ref().and_then(|e| from_stored(&e.check)) {
            Some(check) => out[n] = Some(check),
            None => todo.push((
                n,
                c.id,
                c.committer_time,
                // verified before: read again without the signature check
                !entry.is_some_and(|e| e.check == cache::Stored::Verified),
            )),
        }
    }
    new |= !todo.is_empty() || !trees.is_empty();
    let blobs = engine.repo.par_map(&trees, |repo, tree| {
        repo.blob_in_tree(tree, policy::FILE_NAME).ok().flatten()
    });
    for (tree, blob) in trees.into_iter().zip(blobs) {
        engine.policy_blobs.insert(tree, blob);
    }
    let done = engine
        .repo
        .par_map(&todo, |repo, (_, id, claimed, verify)| {
            match repo.commit_signature(id) {
                Ok(Some((sig, payload))) => read_signature(&sig, &payload, *claimed, *verify),
                _ => Err((
                    Reason::BadSignature,
                    "the signature could not be read".into(),
                )),
            }
        });
    for ((n, _, _, _), check) in todo.into_iter().zip(done) {
        out[n] = Some(check);
    }
    // one allocation per signer, not per commit (across the workers too)
    let mut shared = Shared::default();
    for check in out.iter_mut().flatten() {
        shared.intern(check);
    }
    (out, new)
}
