//! `sigctl verify`: authenticate history against the policy in force at
//! each commit's parents, as a chain from a trust root.
//!
//! Reads objects through `repo` (in process, each commit once, each
//! signing.toml blob parsed once) and returns a `VerifyReport`; never prints.
//!
//! - `specs`: what the specs name, and which verified refs reach each commit;
//! - `walk`: the walk and the signature checks (every core, the cache);
//! - `signer`: who signed, by the signature alone;
//! - `policy_at`: the policy in force at a tree (signing.toml and the files
//!   it names);
//! - `rules`: one function per rule, and the commit rule (admins, merges);
//! - `judge`: every commit, parents first, as a chain; exceptions and HEAD's
//!   revocations settled over passes;
//! - `trust_root`: where the chain starts, and specs that never reach it;
//! - `blast`: what a revoked identity's key signed, and where it is;
//! - this file: `verify` (composes the above), tags, and one object for git
//!   (`judge_object`).

pub mod blast;
pub mod cache;
pub mod external;
pub mod report;

mod judge;
mod policy_at;
mod rules;
pub(crate) mod signer;
mod specs;
mod trust_root;
mod walk;

use std::rc::Rc;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::repo::walk::{CommitInfo, IdMap};
use crate::repo::{ObjectId, Repo};
pub use report::{Kind, ObjectResult, Reason, Verdict, VerifyReport};

use judge::{Judge, PolicyHistory};
use policy_at::{Engine, PolicyId, Resolved, environment_of};
use rules::{Judged, ParentView};
use signer::{Checked, check_signature, to_stored, with_trusted_time};
use specs::{Groups, Specs};

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Refs, commits or `A..B` ranges (default `HEAD`).
    pub specs: Vec<String>,
    /// `--trust-root`.
    pub trust_root: Option<String>,
    /// The key of the signature cache under `.git/sigctl/` (from outside the
    /// repository); `None`: no cache.
    pub cache_key: Option<Vec<u8>>,
    /// Per spec, the ref it is verified for instead of the one it names (a
    /// pre-push hook verifies a local commit for the remote ref it will
    /// become: that ref's environment applies).
    pub as_refs: Vec<Option<String>>,
    /// Refs or commits whose history is left out (already published).
    pub exclude: Vec<String>,
    /// `--policy FILE`: judge every commit and tag by this policy alone, on
    /// its own (no chain, no admin rule: history cannot change it); the
    /// repository's signing.toml is never read.
    pub policy: Option<std::sync::Arc<external::ExternalPolicy>>,
}

/// Progress callback: `(stage, done, total)`. The engine never prints; the
/// front-end draws what it likes (a bar on a terminal, nothing elsewhere).
pub type Progress<'a> = &'a dyn Fn(&str, usize, usize);

/// The policy in force at a commit's tree (its tree from the cache if known).
fn policy_at_commit(
    engine: &mut Engine,
    known: &dyn Fn(&ObjectId) -> Option<CommitInfo>,
    commit: &ObjectId,
) -> Result<Option<Rc<Resolved>>> {
    let tree = match known(commit) {
        Some(info) => info.tree,
        None => engine.repo.commit_info(commit)?.tree,
    };
    engine.policy_of_tree(&tree)
}

/// Verify what `opts` names.
pub fn verify(
    repo: &Repo,
    opts: &VerifyOptions,
    config_trust_root: Option<String>,
    now: OffsetDateTime,
    progress: Option<Progress>,
) -> Result<VerifyReport> {
    let report = |stage: &str, done: usize, total: usize| {
        if let Some(p) = progress {
            p(stage, done, total);
        }
    };
    // a shallow clone lacks the parents every judgement needs: say so,
    // rather than fail on the first object that is not there
    let boundary = repo.shallow_boundary();
    if boundary > 0 {
        return Err(Error::Shallow {
            path: repo.root().to_path_buf(),
            boundary,
        });
    }
    let specs = Specs::resolve(repo, &opts.specs, &opts.as_refs, &opts.exclude)?;
    let tip_commits = specs.commits();
    let mut walk_tips = tip_commits.clone();
    walk_tips.extend(specs.head);
    let mut warnings = Vec::new();

    // an external policy: one policy for every tree; its revocations apply
    // by time (through the tips), as the revocations of a verified tip do
    let (mut engine, external_full) = match &opts.policy {
        Some(ext) => {
            warnings.extend(ext.warnings.iter().cloned());
            let (e, full) = Engine::external(repo, ext);
            (e, Some(full))
        }
        None => (Engine::new(repo), None),
    };
    // the authenticated cache: what is known of commits already seen
    let cache_path = cache::path(repo.common_dir());
    let cached = match &opts.cache_key {
        Some(k) => cache::load(&cache_path, k).unwrap_or_else(|e| {
            warnings.push(format!(
                "the verify cache {} was not read ({e}); verifying without it",
                cache_path.display()
            ));
            cache::Cache::default()
        }),
        None => cache::Cache::default(),
    };
    let known = |id: &ObjectId| cached.commit(id);
    // one walk: everything the specs (and HEAD) reach, less what the bases
    // reach (`base_ancestors`: what the range trusts)
    let (all, base_ancestors, fresh) =
        walk::walk_checking(repo, &walk_tips, &specs.bases, &known, &|id| {
            cached.generation(id)
        })?;

    let walked = (specs.bases.is_empty() && specs.head.is_none()).then_some(&all[..]);
    // an external policy starts where it is told (--trust-root, a range's
    // base) or judges the whole history; no signing.toml in the repository
    // chooses anything
    let chosen = match (&opts.policy, &opts.trust_root) {
        (Some(_), None) => None,
        (Some(_), Some(r)) => Some((repo.resolve_commit_id(r)?, true)),
        (None, _) => Some(trust_root::choose(
            &mut engine,
            opts.trust_root.clone().or(config_trust_root),
            &specs.plain(),
            &specs.bases,
            walked,
            &known,
            &mut warnings,
        )?),
    };
    let (commits, stray) = match &chosen {
        Some((root, _)) => {
            let root_info = match known(root) {
                Some(i) => i,
                None => repo.commit_info(root)?,
            };
            // history before the trust root predates the policy: not verified
            let pre = repo.ancestors(&root_info.parents, &known)?;
            let commits: Vec<CommitInfo> =
                all.into_iter().filter(|c| !pre.contains(&c.id)).collect();
            let stray = trust_root::stray_tips(repo, &specs.tips, root, &commits, &pre, &known)?;
            (commits, stray)
        }
        None => (all, Vec::new()),
    };
    let root = chosen.map(|(r, _)| r);
    let pinned = chosen.is_some_and(|(_, p)| p);

    // the policies at the tips: their revocations reach the whole range (by
    // time), their exceptions count once the tip itself verifies
    let mut tip_policies: Vec<(usize, Rc<Resolved>)> = Vec::new();
    for (i, t) in tip_commits.iter().enumerate() {
        if let Some(full) = &external_full {
            tip_policies.push((i, full.clone()));
        } else if let Some(p) = policy_at_commit(&mut engine, &known, t)? {
            tip_policies.push((i, p));
        }
    }
    let head_policy = match (&specs.head, &external_full) {
        (Some(_), Some(full)) => Some(full.clone()),
        (Some(h), None) => policy_at_commit(&mut engine, &known, h)?,
        (None, _) => None,
    };
    let branches = specs.branches(&tip_policies, &mut warnings);
    let index: IdMap<usize> = commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let groups = Groups::new(&commits, &index, &specs, &branches);

    report("checking signatures", 0, commits.len());
    let (checks, fresh) = walk::check_all(&mut engine, &commits, &cached, fresh);
    report("checking signatures", commits.len(), commits.len());
    if let Some(k) = opts.cache_key.as_ref().filter(|_| fresh) {
        // what was cached, and each new commit as it is written, with its
        // generation number (history outside the walk, before the trust
        // root or a range's base, is read for them within a budget: 0, unknown,
        // beyond it)
        let walked = |id: &ObjectId| {
            index
                .get(id)
                .map(|&i| commits[i].clone())
                .or_else(|| cached.commit(id))
        };
        let cached_generation = |id: &ObjectId| cached.generation(id);
        let mut numbers = crate::repo::walk::Generations {
            repo,
            known: &walked,
            cached: &cached_generation,
            memo: IdMap::default(),
            budget: crate::repo::walk::GENERATION_BUDGET + commits.len(),
        };
        let mut generations = Vec::new();
        for c in commits.iter().filter(|c| !cached.contains(&c.id)) {
            generations.push(numbers.of(&c.id).ok().flatten().unwrap_or(0));
        }
        drop(numbers);
        let new = commits
            .iter()
            .enumerate()
            .filter(|(_, c)| !cached.contains(&c.id))
            .zip(generations)
            .map(|((n, c), g)| {
                (
                    std::borrow::Cow::Owned(cache::Entry {
                        commit: c.clone(),
                        policy: engine.policy_blobs.get(&c.tree).copied().flatten(),
                        check: to_stored(checks[n].as_ref()),
                    }),
                    g,
                )
            });
        // a cache that cannot be written only costs time next run
        let _ = cache::save(&cache_path, &cached, new, k);
    }
    // the walk's commits, then the cache's (a range's base, history before
    // the trust root)
    let known = |id: &ObjectId| {
        index
            .get(id)
            .map(|&i| commits[i].clone())
            .or_else(|| cached.commit(id))
    };
    let mut own = Vec::with_capacity(commits.len());
    for c in &commits {
        own.push(engine.policy_id(&c.tree)?);
    }
    // keyless and timestamped signatures: their log entry, chain and token
    // checks under their (first) parent's policy, on every core, before the
    // judgement asks for them one commit at a time
    let mut by_policy: std::collections::HashMap<PolicyId, (ObjectId, Vec<&Checked>)> =
        std::collections::HashMap::new();
    for (n, c) in commits.iter().enumerate() {
        let Some(Ok(checked)) = &checks[n] else {
            continue;
        };
        if !signer::needs_trust_root(checked) {
            continue;
        }
        let Some(&p) = c.parents.first().and_then(|p| index.get(p)) else {
            continue;
        };
        if let Some(pid) = own[p] {
            by_policy
                .entry(pid)
                .or_insert_with(|| (commits[p].tree, Vec::new()))
                .1
                .push(checked);
        }
    }
    // what earlier runs checked under the same trusted roots (authenticated
    // like the cache) is not checked again
    let trust_path = cache::trust_path(repo.common_dir());
    let remembered = match (&opts.cache_key, by_policy.is_empty()) {
        (Some(k), false) => cache::load_trust(&trust_path, k),
        _ => Default::default(),
    };
    let mut warmed: Vec<Rc<Resolved>> = Vec::new();
    for (tree, group) in by_policy.values() {
        if let Some(policy) = engine.policy_of_tree(tree)? {
            if let Some(lines) = policy.trust.as_ref().and_then(|t| remembered.get(&t.id)) {
                policy.memo.borrow_mut().absorb(lines);
            }
            signer::prewarm(repo, &policy, group);
            warmed.push(policy);
        }
    }
    drop(by_policy);
    let mut judge = Judge {
        root,
        external: opts.policy.is_some(),
        base_ancestors,
        own,
        groups,
        history: PolicyHistory::default(),
        known: &known,
        index: &index,
    };
    let total = commits.len();
    let (pass, revoking) = judge.settle(
        &mut engine,
        &commits,
        &checks,
        &tip_commits,
        &tip_policies,
        specs.head.map(|h| (h, head_policy)),
        now,
        &|n| report("judging", n, total),
    );
    let mut results = pass.results;
    results.extend(stray);
    // the checks made under each trusted root, for the next run
    if let Some(k) = &opts.cache_key {
        save_trust_memo(&trust_path, k, &warmed, &remembered);
    }
    drop(warmed);

    // tags named by the specs: the tag object itself
    for tip in &specs.tips {
        let Some(refname) = tip.refname.as_ref().filter(|r| r.starts_with("refs/tags/")) else {
            continue;
        };
        let Some(tag_id) = &tip.tag else {
            // a lightweight tag carries no signature of its own
            let env = tip_policies
                .iter()
                .find_map(|(_, p)| environment_of(&p.raw, refname));
            match env {
                Some(env) => {
                    let mut result = ObjectResult::new(tip.commit, Kind::Tag);
                    result.verdict = Verdict::Unsigned;
                    result.reason = Reason::Unsigned;
                    result.message = format!(
                        "{refname} is a lightweight tag: environment `{env}` needs a signed tag object (`sigctl sign tag` or `git tag -s`)"
                    ).into();
                    results.push(result);
                }
                None => warnings.push(format!("{refname} is a lightweight tag outside every environment: only its commits are verified")),
            }
            continue;
        };
        results.push(judge_tag(&mut engine, refname, tag_id, &revoking, |c| {
            pass.states
                .iter()
                .any(|s| s.get(c).is_some_and(|s| !s.valid))
        })?);
    }

    Ok(VerifyReport {
        trust_root: root.map(|r| r.to_string()),
        trust_root_pinned: pinned,
        policy: opts.policy.as_ref().map(|p| p.path.display().to_string()),
        results,
        warnings,
    })
}

/// Save what `policies` checked under their trusted roots (read from files:
/// a root built in code has no id), when it adds to what was `remembered`.
fn save_trust_memo(
    path: &std::path::Path,
    key: &[u8],
    policies: &[Rc<Resolved>],
    remembered: &std::collections::HashMap<[u8; 32], Vec<String>>,
) {
    let mut by_root: std::collections::BTreeMap<[u8; 32], std::collections::BTreeSet<String>> =
        Default::default();
    for p in policies {
        let Some(t) = p.trust.as_ref().filter(|t| t.id != [0; 32]) else {
            continue;
        };
        by_root
            .entry(t.id)
            .or_default()
            .extend(p.memo.borrow().lines());
    }
    let known: usize = remembered.values().map(Vec::len).sum();
    let now: usize = by_root.values().map(std::collections::BTreeSet::len).sum();
    if now <= known {
        return;
    }
    // roots this run did not use keep what they had
    for (root, lines) in remembered {
        by_root
            .entry(*root)
            .or_default()
            .extend(lines.iter().cloned());
    }
    let lines: Vec<([u8; 32], Vec<String>)> = by_root
        .into_iter()
        .map(|(r, l)| (r, l.into_iter().collect()))
        .collect();
    // a memo that cannot be written only costs time next run
    let _ = cache::save_trust(path, key, &lines);
}

/// A signed tag object verified under `refname`: it names that ref, and is
/// signed by an identity the tagged commit's policy admits to the tag's
/// environment, unrevoked at every verified tip and at HEAD.
fn judge_tag(
    engine: &mut Engine,
    refname: &str,
    tag_id: &str,
    revoking: &[Rc<Resolved>],
    target_fails: impl Fn(&ObjectId) -> bool,
) -> Result<ObjectResult> {
    let repo = engine.repo;
    let tag = repo.tag_info(tag_id)?;
    let mut result = ObjectResult::new(tag.id, Kind::Tag);
    let mut judged_at: Option<(OffsetDateTime, &'static str)> = None;
    let outcome: std::result::Result<(Arc<str>, Checked), (Reason, String)> = (|| {
        let Some((sig, payload)) = &tag.signature else {
            return Err((
                Reason::Unsigned,
                format!("tag `{}` is not signed", tag.name),
            ));
        };
        let served_as = refname.strip_prefix("refs/tags/").unwrap_or(refname);
        if tag.name != served_as {
            return Err((
                Reason::TagNameMismatch,
                format!(
                    "the tag object names `{}` but is served as {refname}: a signed tag cannot be moved to another name",
                    tag.name
                ),
            ));
        }
        let checked = check_signature(sig, payload, tag.tagger_time)?;
        judged_at = Some((checked.signed_at, checked.time_source));
        let tree = repo
            .commit_info(&tag.target)
            .map_err(|e| (Reason::NoPolicy, e.to_string()))?
            .tree;
        let pol = engine
            .policy_of_tree(&tree)
            .map_err(|e| (Reason::NoPolicy, e.to_string()))?
            .ok_or_else(|| {
                (
                    Reason::NoPolicy,
                    "the tagged commit has no signing.toml".to_owned(),
                )
            })?;
        let envs: Vec<String> = environment_of(&pol.raw, refname).into_iter().collect();
        let signed = rules::authorise(&pol, &[&pol], revoking, &checked, &envs)?;
        if target_fails(&tag.target) {
            return Err((
                Reason::BrokenChain,
                "the tagged commit does not verify".into(),
            ));
        }
        Ok((signed.identity, with_trusted_time(&pol, checked)))
    })();
    match outcome {
        Ok((identity, checked)) => {
            result.verdict = Verdict::Valid;
            result.identity = Some(identity);
            result.reason = Reason::Authorised;
            result.message = format!(
                "tag `{}` signed by an identity its environment admits",
                tag.name
            )
            .into();
            result.signed_at = Some(checked.signed_at);
            result.time_source = checked.time_source;
        }
        Err((reason, message)) => result.refuse(reason, message, judged_at),
    }
    Ok(result)
}

/// How one signed object stands with the policy that governs it, without a
/// walk: what git asks its verifier (`git verify-commit`, `%G?`), so git and
/// `sigctl verify` judge a signature by the same rules.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub identity: String,
    pub signed_at: OffsetDateTime,
    pub time_source: &'static str,
}

/// Judge a signature over a commit or tag payload by the commit rule of
/// `sigctl verify`: the policy of each parent (a root commit: its own tree;
/// a tag: the tagged commit's tree) may authorise the signer, a policy
/// change needs an admin, a merge may not roll a policy back, and the
/// revocations of every parent apply, and those of HEAD's policy by time
/// once HEAD's own signature passes the same rule. No environment applies
/// (git names no ref) and the chain is not walked.
pub fn judge_object(
    repo: &Repo,
    sig: &[u8],
    payload: &[u8],
) -> std::result::Result<Judgement, (Reason, String)> {
    judge(repo, sig, payload, true)
}

/// [`judge_object`]; `with_head`: whether HEAD's revocations apply.
fn judge(
    repo: &Repo,
    sig: &[u8],
    payload: &[u8],
    with_head: bool,
) -> std::result::Result<Judgement, (Reason, String)> {
    let text = String::from_utf8_lossy(payload);
    let header = text.split("\n\n").next().unwrap_or("");
    let field = |name: &str| -> Vec<String> {
        header
            .lines()
            .filter_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .collect()
    };
    let claimed = header
        .lines()
        .find_map(|l| {
            l.strip_prefix("committer ")
                .or_else(|| l.strip_prefix("tagger "))
        })
        .and_then(|l| l.rsplit(' ').nth(1))
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0);
    let checked = check_signature(sig, payload, claimed)?;
    let mut engine = Engine::new(repo);
    let err = |e: Error| (Reason::NoPolicy, e.to_string());
    let oid = |s: &String| ObjectId::from_hex(s.as_bytes()).ok();
    // HEAD's revocations, once HEAD's own signature passes the commit rule
    // (one step: git's program has no walk); never for HEAD itself
    let mut tips: Vec<Rc<Resolved>> = Vec::new();
    if with_head
        && let Ok(head) = repo.resolve_commit_id("HEAD")
        && let Ok(info) = repo.commit_info(&head)
        && let Ok(Some((head_sig, head_payload))) = repo.commit_signature(&head)
        && head_payload != payload
        && judge(repo, &head_sig, &head_payload, false).is_ok()
        && let Ok(Some(p)) = engine.policy_of_tree(&info.tree)
    {
        tips.push(p);
    }
    let is_tag = header.starts_with("object ");
    // (parent commit, its tree); the commit's own tree
    let (parent_commits, own_tree): (Vec<(Option<ObjectId>, ObjectId)>, Option<ObjectId>) =
        if is_tag {
            let trees = field("object ")
                .iter()
                .filter_map(|o| repo.resolve_commit_id(o).ok())
                .filter_map(|c| repo.commit_info(&c).ok().map(|i| (None, i.tree)))
                .collect();
            (trees, None)
        } else {
            let parents = field("parent ");
            let own = field("tree ").first().and_then(oid);
            if parents.is_empty() {
                (own.map(|t| (None, t)).into_iter().collect(), None)
            } else {
                let trees = parents
                    .iter()
                    .filter_map(oid)
                    .filter_map(|p| repo.commit_info(&p).ok().map(|i| (Some(p), i.tree)))
                    .collect();
                (trees, own)
            }
        };
    let mut parents = Vec::new();
    let mut ids = Vec::new();
    for (commit, tree) in &parent_commits {
        parents.push(ParentView {
            policy: engine.policy_of_tree(tree).map_err(err)?,
            valid: true,
        });
        ids.push(*commit);
    }
    // a tag or a root commit does not change the policy it is judged by
    let (own, own_policy) = match &own_tree {
        Some(t) => (
            engine.policy_id(t).map_err(err)?,
            engine.policy_of_tree(t).map_err(err)?,
        ),
        None => {
            let p = parents.first().and_then(|p| p.policy.clone());
            (p.as_ref().map(|p| p.id), p)
        }
    };
    let known = |_: &ObjectId| None;
    let mut history = PolicyHistory::default();
    let mut replaced = |j: usize, policy: PolicyId| -> bool {
        ids.get(j)
            .copied()
            .flatten()
            .is_some_and(|p| history.of(&mut engine, &known, &p).contains(&policy))
    };
    let none: Rc<[String]> = Rc::from(Vec::new());
    match rules::judge_commit(
        own,
        own_policy.as_deref(),
        &parents,
        &tips,
        &checked,
        &mut |_| none.clone(),
        &mut replaced,
    ) {
        Judged::Ok(signed, i) => {
            let checked = match parents[i].policy.as_deref() {
                Some(p) => with_trusted_time(p, checked),
                None => checked,
            };
            Ok(Judgement {
                identity: signed.identity.to_string(),
                signed_at: checked.signed_at,
                time_source: checked.time_source,
            })
        }
        Judged::Chain(_) => Err((Reason::BrokenChain, "a parent does not verify".to_owned())),
        Judged::Refused(reason, message) => Err((reason, message)),
    }
}

#[cfg(test)]
mod tests;
