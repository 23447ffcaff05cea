//! `sigctl verify`: authenticate history against the policy in force at
//! each commit's parents, as a chain from a trust root.
//!
//! Reads objects through `repo` (in process, each commit once, each
//! signing.toml blob parsed once) and returns a `VerifyReport`; never prints.
//!
//! - `walk`: the walk and the signature checks (every core, the cache);
//! - `signer`: who signed, by the signature alone;
//! - `policy_at`: the policy in force at a tree (signing.toml and the files
//!   it names);
//! - `rules`: one function per rule, and the commit rule (admins, merges);
//! - `trust_root`: where the chain starts;
//! - this file: the judgement of a history, its tags, and of one object
//!   for git (`judge_object`).

pub mod cache;
pub mod report;

mod policy_at;
mod rules;
mod signer;
mod trust_root;
mod walk;

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::repo::walk::{CommitInfo, IdMap, IdSet, Tip};
use crate::repo::{ObjectId, Repo};
pub use report::{Kind, ObjectResult, Reason, Verdict, VerifyReport};

use policy_at::{Engine, PolicyId, Resolved, environment_of};
use rules::{Judged, ParentView};
use signer::{Check, Checked, check_signature, to_stored, with_trusted_time};

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
}

/// Progress callback: `(stage, done, total)`. The engine never prints; the
/// front-end draws what it likes (a bar on a terminal, nothing elsewhere).
pub type Progress<'a> = &'a dyn Fn(&str, usize, usize);

/// Where a commit stands in the chain.
#[derive(Clone, Copy)]
struct State {
    valid: bool,
    /// valid by its own signature (not by an exception)
    signed_valid: bool,
    /// the first failing commit on its way to the trust root
    first_failure: Option<ObjectId>,
}

/// The policies each commit's history has held (what a merge may not
/// restore without an admin of the parent that replaced them), computed
/// only when a merge asks, each commit once.
#[derive(Default)]
struct PolicyHistory {
    sets: IdMap<Rc<[PolicyId]>>,
}

impl PolicyHistory {
    /// The policies `commit`'s history (itself included) has held.
    fn of(
        &mut self,
        engine: &mut Engine,
        known: &dyn Fn(&ObjectId) -> Option<CommitInfo>,
        commit: &ObjectId,
    ) -> Rc<[PolicyId]> {
        // parents first, without recursion: history depth is the attacker's
        let mut stack = vec![(*commit, false)];
        while let Some((id, expanded)) = stack.pop() {
            if self.sets.contains_key(&id) {
                continue;
            }
            let Some(info) = known(&id).or_else(|| engine.repo.commit_info(&id).ok()) else {
                // a missing object (a shallow clone): nothing known before it
                self.sets.insert(id, Rc::from(Vec::new()));
                continue;
            };
            if !expanded {
                stack.push((id, true));
                stack.extend(
                    info.parents
                        .iter()
                        .filter(|p| !self.sets.contains_key(*p))
                        .map(|p| (*p, false)),
                );
                continue;
            }
            let own = engine.policy_id(&info.tree).ok().flatten();
            let parents: Vec<Rc<[PolicyId]>> = info
                .parents
                .iter()
                .filter_map(|p| self.sets.get(p).cloned())
                .collect();
            let set = match parents.as_slice() {
                [one] if own.is_none_or(|o| one.contains(&o)) => one.clone(),
                _ => {
                    let mut ids: Vec<PolicyId> =
                        parents.iter().flat_map(|s| s.iter().copied()).collect();
                    ids.extend(own);
                    ids.sort_unstable();
                    ids.dedup();
                    ids.into()
                }
            };
            self.sets.insert(id, set);
        }
        self.sets
            .get(commit)
            .cloned()
            .unwrap_or_else(|| Rc::from(Vec::new()))
    }
}

/// Which verified refs reach each commit: each spec is judged by its own
/// environment, and a commit reachable from several meets all of theirs.
struct Reach {
    words: usize,
    bits: Vec<u64>,
}

impl Reach {
    fn new(commits: &[CommitInfo], seeds: &[(ObjectId, usize)], n: usize) -> Self {
        let words = n.div_ceil(64).max(1);
        let mut bits = vec![0u64; commits.len() * words];
        let index: IdMap<usize> = commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        for (id, bit) in seeds {
            if let Some(i) = index.get(id) {
                bits[i * words + bit / 64] |= 1 << (bit % 64);
            }
        }
        for (i, c) in commits.iter().enumerate().rev() {
            for p in &c.parents {
                if let Some(&j) = index.get(p) {
                    for w in 0..words {
                        let v = bits[i * words + w];
                        bits[j * words + w] |= v;
                    }
                }
            }
        }
        Reach { words, bits }
    }

    fn of(&self, i: usize) -> &[u64] {
        &self.bits[i * self.words..(i + 1) * self.words]
    }

    fn has(set: &[u64], bit: usize) -> bool {
        set[bit / 64] & (1 << (bit % 64)) != 0
    }
}

/// What the judgement of a history needs besides the commits.
struct Judge<'r> {
    root: ObjectId,
    base_ancestors: IdSet,
    /// per commit: the policy of its own tree
    own: Vec<Option<PolicyId>>,
    /// per commit: the set of verified branch refs that reach it (interned)
    refsets: Vec<u32>,
    refset_refs: Vec<Rc<[String]>>,
    /// per commit: whether a spec (not only HEAD) reaches it
    reported: Vec<bool>,
    history: PolicyHistory,
    known: &'r dyn Fn(&ObjectId) -> Option<CommitInfo>,
}

/// One pass over the history: every commit, parents first.
struct Pass {
    results: Vec<ObjectResult>,
    state: IdMap<State>,
}

impl Judge<'_> {
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        engine: &mut Engine,
        commits: &[CommitInfo],
        checks: &[Option<Check>],
        tips: &[Rc<Resolved>],
        excepted: &IdSet,
        progress: &dyn Fn(usize),
    ) -> Pass {
        let by_id: IdMap<usize> = commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        let mut state: IdMap<State> =
            IdMap::with_capacity_and_hasher(commits.len(), Default::default());
        let mut results = Vec::with_capacity(commits.len());
        let mut env_memo: HashMap<(PolicyId, u32), Rc<[String]>> = HashMap::new();
        for (n, c) in commits.iter().enumerate() {
            if n % 2048 == 0 {
                progress(n);
            }
            let mut result = ObjectResult::new(c.id, Kind::Commit);
            let outcome = self.judge_one(
                engine,
                c,
                n,
                &checks[n],
                tips,
                &by_id,
                commits,
                &state,
                &mut env_memo,
            );
            let parent_valid = |state: &IdMap<State>, p: &ObjectId| {
                // an exception shows in the state: it never covers a
                // commit it could not pass (a policy change, foreign history)
                state
                    .get(p)
                    .map_or(self.base_ancestors.contains(p), |s| s.valid)
            };
            match outcome {
                Ok((identity, checked)) => {
                    result.verdict = Verdict::Valid;
                    result.identity = Some(identity);
                    result.reason = Reason::Authorised;
                    result.message = "signed by an identity the policy in force authorises".into();
                    result.signed_at = Some(checked.signed_at);
                    result.time_source = checked.time_source;
                    state.insert(
                        c.id,
                        State {
                            valid: true,
                            signed_valid: true,
                            first_failure: None,
                        },
                    );
                }
                Err((reason, message, judged_at)) => {
                    if let Some((at, source)) = judged_at {
                        result.signed_at = Some(at);
                        result.time_source = source;
                    }
                    result.verdict = if reason == Reason::Unsigned {
                        Verdict::Unsigned
                    } else {
                        Verdict::Invalid
                    };
                    result.reason = reason;
                    result.message = message.into();
                    // an exception passes a failing commit, but never a
                    // policy change nor history foreign to the trust root
                    let mut keeps_policy = || {
                        c.parents.iter().any(|p| {
                            parent_valid(&state, p)
                                && by_id.get(p).map_or_else(
                                    || {
                                        engine
                                            .repo
                                            .commit_info(p)
                                            .ok()
                                            .and_then(|i| engine.policy_id(&i.tree).ok())
                                            .flatten()
                                    },
                                    |&i| self.own[i],
                                ) == self.own[n]
                        })
                    };
                    if excepted.contains(&c.id)
                        && reason != Reason::ForeignHistory
                        && keeps_policy()
                    {
                        result.verdict = Verdict::Valid;
                        result.message = format!(
                            "{} (excepted by an exception of an authenticated policy at a verified tip)",
                            result.message
                        )
                        .into();
                        state.insert(
                            c.id,
                            State {
                                valid: true,
                                signed_valid: false,
                                first_failure: None,
                            },
                        );
                    } else {
                        let first = if reason == Reason::BrokenChain {
                            c.parents
                                .iter()
                                .find_map(|p| state.get(p).and_then(|s| s.first_failure))
                        } else {
                            Some(c.id)
                        };
                        state.insert(
                            c.id,
                            State {
                                valid: false,
                                signed_valid: false,
                                first_failure: first.or(Some(c.id)),
                            },
                        );
                    }
                }
            }
            if self.reported[n] {
                results.push(result);
            }
        }
        Pass { results, state }
    }

    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn judge_one(
        &mut self,
        engine: &mut Engine,
        c: &CommitInfo,
        n: usize,
        check: &Option<Check>,
        tips: &[Rc<Resolved>],
        by_id: &IdMap<usize>,
        commits: &[CommitInfo],
        state: &IdMap<State>,
        env_memo: &mut HashMap<(PolicyId, u32), Rc<[String]>>,
    ) -> std::result::Result<
        (Arc<str>, Checked),
        (Reason, String, Option<(OffsetDateTime, &'static str)>),
    > {
        let no_time = |(r, m): (Reason, String)| (r, m, None);
        let descends = c.id == self.root
            || c.parents
                .iter()
                .any(|p| state.contains_key(p) || self.base_ancestors.contains(p));
        if !descends {
            return Err(no_time((
                Reason::ForeignHistory,
                format!(
                    "not descended from the trust root {}",
                    self.root.to_hex_with_len(12)
                ),
            )));
        }
        if c.duplicate_signature {
            return Err(no_time((
                Reason::BadSignature,
                "the commit carries more than one gpgsig header".into(),
            )));
        }
        if !c.signed {
            return Err(no_time((
                Reason::Unsigned,
                "the commit is not signed".into(),
            )));
        }
        let checked = match check {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(no_time(e.clone())),
            None => {
                return Err(no_time((
                    Reason::BadSignature,
                    "the signature was not checked".into(),
                )));
            }
        };
        let judged_at = Some((checked.signed_at, checked.time_source));
        let fail = |e: (Reason, String)| (e.0, e.1, judged_at);
        let own = self.own[n];
        let own_policy = engine
            .policy_of_tree(&c.tree)
            .map_err(|e| fail((Reason::NoPolicy, e.to_string())))?;
        // the policies that may vouch: the parents' (the trust root: its own)
        let mut parents = Vec::with_capacity(c.parents.len().max(1));
        let mut parent_ids = Vec::with_capacity(c.parents.len());
        if c.id == self.root {
            parents.push(ParentView {
                policy: own_policy.clone(),
                valid: true,
            });
        } else {
            for p in &c.parents {
                let tree = match by_id.get(p) {
                    Some(&i) => commits[i].tree,
                    None => match (self.known)(p) {
                        Some(info) => info.tree,
                        None => {
                            engine
                                .repo
                                .commit_info(p)
                                .map_err(|e| fail((Reason::NoPolicy, e.to_string())))?
                                .tree
                        }
                    },
                };
                let policy = engine
                    .policy_of_tree(&tree)
                    .map_err(|e| fail((Reason::NoPolicy, e.to_string())))?;
                let valid = state
                    .get(p)
                    .map_or(self.base_ancestors.contains(p), |s| s.valid);
                parents.push(ParentView { policy, valid });
                parent_ids.push(*p);
            }
        }
        let refset = self.refsets[n];
        let refs = self.refset_refs[refset as usize].clone();
        let mut envs = |pol: &Resolved| -> Rc<[String]> {
            env_memo
                .entry((pol.id, refset))
                .or_insert_with(|| {
                    let mut e: Vec<String> = refs
                        .iter()
                        .filter_map(|r| environment_of(&pol.raw, r))
                        .collect();
                    e.sort();
                    e.dedup();
                    e.into()
                })
                .clone()
        };
        let known = self.known;
        let history = &mut self.history;
        let mut replaced = |j: usize, policy: PolicyId| -> bool {
            parent_ids
                .get(j)
                .is_some_and(|p| history.of(engine, known, p).contains(&policy))
        };
        match rules::judge_commit(
            own,
            own_policy.as_deref(),
            &parents,
            tips,
            checked,
            &mut envs,
            &mut replaced,
        ) {
            Judged::Ok(signed, i) => {
                let pol = parents[i].policy.as_deref();
                let checked = match pol {
                    Some(p) => with_trusted_time(p, checked.clone()),
                    None => checked.clone(),
                };
                Ok((signed.identity, checked))
            }
            Judged::Chain(i) => {
                let first = parent_ids
                    .get(i)
                    .and_then(|p| state.get(p).and_then(|s| s.first_failure).or(Some(*p)));
                Err(fail((
                    Reason::BrokenChain,
                    format!(
                        "the chain from the trust root is broken at {}",
                        first.map_or_else(|| "?".to_owned(), |f| f.to_hex_with_len(12).to_string())
                    ),
                )))
            }
            Judged::Refused(reason, message) => Err(fail((reason, message))),
        }
    }
}

/// The exceptions of the policies at the verified tips that list commits:
/// (tip index, excepted commit). Full ids only, and only unexpired ones.
fn commit_exceptions(
    tip_policies: &[(usize, Rc<Resolved>)],
    now: OffsetDateTime,
) -> Vec<(usize, ObjectId)> {
    let mut out = Vec::new();
    for (tip, p) in tip_policies {
        // full ids only: a prefix can be ground to match
        for hex in crate::policy::view::excepted_commits(&p.raw, now) {
            if let Ok(id) = ObjectId::from_hex(hex.as_bytes()) {
                out.push((*tip, id));
            }
        }
    }
    out
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
    let specs = if opts.specs.is_empty() {
        vec!["HEAD".to_owned()]
    } else {
        opts.specs.clone()
    };
    let mut tips: Vec<Tip> = Vec::new();
    let mut ranged: Vec<bool> = Vec::new();
    let mut bases = Vec::new();
    for s in &specs {
        let (tip, base) = repo.resolve_spec(s)?;
        tips.push(tip);
        ranged.push(base.is_some());
        bases.extend(base);
    }
    let tip_commits: Vec<ObjectId> = tips.iter().map(|t| t.commit).collect();
    // HEAD's revocations reach what is verified, once HEAD itself verifies:
    // a tag verified alone meets the revocations of the branch it is on
    let head = repo
        .resolve_commit_id("HEAD")
        .ok()
        .filter(|h| !tip_commits.contains(h));
    let mut walk_tips = tip_commits.clone();
    walk_tips.extend(head);
    let mut warnings = Vec::new();

    let mut engine = Engine::new(repo);
    // the authenticated cache: what is known of commits already seen
    let cache_path = cache::path(repo.common_dir());
    let cached = match &opts.cache_key {
        Some(k) => cache::load(&cache_path, k),
        None => IdMap::default(),
    };
    let known = |id: &ObjectId| cached.get(id).map(|e| e.commit.clone());
    // one walk: everything the specs (and HEAD) reach, less what the bases reach
    let (all, fresh) = walk::walk_checking(repo, &walk_tips, &bases, &known)?;

    let (root, pinned) = match opts.trust_root.clone().or(config_trust_root) {
        Some(r) => (repo.resolve_commit_id(&r)?, true),
        None => {
            // from the history of the plain specs and of the ranges' bases,
            // never from commits a range brings (nor from HEAD's)
            let plain: Vec<ObjectId> = tips
                .iter()
                .zip(&ranged)
                .filter(|(_, r)| !**r)
                .map(|(t, _)| t.commit)
                .collect();
            let root = if bases.is_empty() && head.is_none() {
                trust_root::introducing_commit(&mut engine, &all)?
            } else {
                let mut sources = plain;
                sources.extend(bases.iter().copied());
                let history = repo.commits_parents_first(&sources, &[], &known)?;
                trust_root::introducing_commit(&mut engine, &history)?
            };
            let root = root.ok_or_else(|| {
                Error::Git(if bases.is_empty() {
                    "no commit in this history has a signing.toml: nothing to verify against"
                        .into()
                } else {
                    "no trust root: no commit before the range's base has a signing.toml, and a trust root is never taken from the commits a range brings; pin one with --trust-root COMMIT or `git config sigctl.trustRoot COMMIT`".into()
                })
            })?;
            warnings.push(format!(
                "trust root {} is the commit that introduced signing.toml, found by walking history: pin it with --trust-root or `git config sigctl.trustRoot {}`",
                root.to_hex_with_len(12),
                root
            ));
            (root, false)
        }
    };
    let root_info = match known(&root) {
        Some(i) => i,
        None => repo.commit_info(&root)?,
    };
    // history before the trust root predates the policy: not verified
    let pre = repo.ancestors(&root_info.parents, &known)?;
    let commits: Vec<CommitInfo> = all.into_iter().filter(|c| !pre.contains(&c.id)).collect();
    let base_ancestors = repo.ancestors(&bases, &known)?;

    // a spec that reaches nothing descended from the trust root fails
    let mut stray: Vec<ObjectResult> = Vec::new();
    {
        let walked: IdSet = commits.iter().map(|c| c.id).collect();
        for t in &tips {
            let c = t.commit;
            let descends = c == root
                || walked.contains(&c)
                || (!pre.contains(&c) && repo.ancestors(&[c], &known)?.contains(&root));
            if !descends && !stray.iter().any(|r| r.object == c) {
                let mut r = ObjectResult::new(c, Kind::Commit);
                r.reason = Reason::NotDescendantOfTrustRoot;
                r.message = format!(
                    "{} is not the trust root {} nor descended from it",
                    t.refname.as_deref().unwrap_or("the spec's commit"),
                    root.to_hex_with_len(12)
                )
                .into();
                stray.push(r);
            }
        }
    }
    drop(pre);

    // the policies at the tips: their revocations reach the whole range (by
    // time), their exceptions count once the tip itself verifies
    let mut tip_policies: Vec<(usize, Rc<Resolved>)> = Vec::new();
    for (i, t) in tip_commits.iter().enumerate() {
        let tree = match known(t) {
            Some(info) => info.tree,
            None => repo.commit_info(t)?.tree,
        };
        if let Some(p) = engine.policy_of_tree(&tree)? {
            tip_policies.push((i, p));
        }
    }
    let head_policy = match head {
        Some(h) => {
            let tree = match known(&h) {
                Some(info) => info.tree,
                None => repo.commit_info(&h)?.tree,
            };
            engine.policy_of_tree(&tree)?
        }
        None => None,
    };

    // the branch refs whose environments each commit must meet; a
    // remote-tracking branch is judged as the branch it tracks
    let mut branch_of: Vec<Option<String>> = Vec::new();
    for t in &tips {
        let branch = t
            .refname
            .as_ref()
            .filter(|r| !r.starts_with("refs/tags/"))
            .map(|r| {
                match r
                    .strip_prefix("refs/remotes/")
                    .and_then(|rest| rest.split_once('/'))
                {
                    Some((_, branch)) => format!("refs/heads/{branch}"),
                    None => r.clone(),
                }
            });
        if let Some(b) = &branch
            && !tip_policies
                .iter()
                .any(|(_, p)| environment_of(&p.raw, b).is_some())
        {
            warnings.push(format!(
                "{} matches no environment of signing.toml: only the base rule applies",
                t.refname.as_deref().unwrap_or(b)
            ));
        }
        branch_of.push(branch);
    }
    let mut seeds: Vec<(ObjectId, usize)> = tip_commits
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i))
        .collect();
    if let Some(h) = head {
        seeds.push((h, tips.len()));
    }
    let reach = Reach::new(&commits, &seeds, seeds.len());
    let mut refset_ids: HashMap<Vec<String>, u32> = HashMap::new();
    let mut refset_refs: Vec<Rc<[String]>> = Vec::new();
    let mut refsets = Vec::with_capacity(commits.len());
    let mut reported = Vec::with_capacity(commits.len());
    for i in 0..commits.len() {
        let bits = reach.of(i);
        let mut refs: Vec<String> = branch_of
            .iter()
            .enumerate()
            .filter(|(b, r)| r.is_some() && Reach::has(bits, *b))
            .filter_map(|(_, r)| r.clone())
            .collect();
        refs.sort();
        refs.dedup();
        let id = *refset_ids.entry(refs.clone()).or_insert_with(|| {
            refset_refs.push(refs.into());
            (refset_refs.len() - 1) as u32
        });
        refsets.push(id);
        reported.push((0..tips.len()).any(|b| Reach::has(bits, b)));
    }
    drop(reach);

    report("checking signatures", 0, commits.len());
    let (checks, fresh) = walk::check_all(&mut engine, &commits, &cached, fresh);
    report("checking signatures", commits.len(), commits.len());
    if let Some(k) = opts.cache_key.as_ref().filter(|_| fresh) {
        // what was cached, and each new commit as it is written
        let new = commits
            .iter()
            .enumerate()
            .filter(|(_, c)| !cached.contains_key(&c.id))
            .map(|(n, c)| {
                std::borrow::Cow::Owned(cache::Entry {
                    commit: c.clone(),
                    policy: engine.policy_blobs.get(&c.tree).copied().flatten(),
                    check: to_stored(checks[n].as_ref()),
                })
            });
        // a cache that cannot be written only costs time next run
        let _ = cache::save(
            &cache_path,
            cached.values().map(std::borrow::Cow::Borrowed).chain(new),
            k,
        );
    }
    let mut own = Vec::with_capacity(commits.len());
    for c in &commits {
        own.push(engine.policy_id(&c.tree)?);
    }
    let mut judge = Judge {
        root,
        base_ancestors,
        own,
        refsets,
        refset_refs,
        reported,
        history: PolicyHistory::default(),
        known: &known,
    };

    // exceptions count only from tips that verify by their own signature,
    // and HEAD's revocations only once HEAD verifies: judge until neither
    // changes (each pass can only remove exceptions or add revocations)
    let exceptions = commit_exceptions(&tip_policies, now);
    let mut trusted_tips: Vec<bool> = vec![true; tips.len()];
    let mut with_head = false;
    let total = commits.len();
    let pass = loop {
        let excepted: IdSet = exceptions
            .iter()
            .filter(|(t, _)| trusted_tips[*t])
            .map(|(_, c)| *c)
            .collect();
        let mut revoking: Vec<Rc<Resolved>> = tip_policies.iter().map(|(_, p)| p.clone()).collect();
        if with_head && let Some(p) = &head_policy {
            revoking.push(p.clone());
        }
        let pass = judge.run(&mut engine, &commits, &checks, &revoking, &excepted, &|n| {
            report("judging", n, total)
        });
        let verifies = |id: &ObjectId, own_signature: bool| match pass.state.get(id) {
            Some(s) => s.valid && (s.signed_valid || !own_signature),
            None => judge.base_ancestors.contains(id),
        };
        let mut changed = false;
        for (t, _) in &exceptions {
            if trusted_tips[*t] && !verifies(&tip_commits[*t], true) {
                trusted_tips[*t] = false;
                changed = true;
            }
        }
        if !with_head
            && let (Some(h), Some(p)) = (&head, &head_policy)
            && !p.revoked.is_empty()
            && verifies(h, false)
        {
            with_head = true;
            changed = true;
        }
        if !changed {
            break pass;
        }
    };
    let Pass { mut results, state } = pass;
    let mut revoking: Vec<Rc<Resolved>> = tip_policies.iter().map(|(_, p)| p.clone()).collect();
    if with_head && let Some(p) = &head_policy {
        revoking.push(p.clone());
    }
    results.extend(stray);

    // tags named by the specs: the tag object itself
    for tip in &tips {
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
            state.get(c).is_some_and(|s| !s.valid)
        })?);
    }

    Ok(VerifyReport {
        trust_root: root.to_string(),
        trust_root_pinned: pinned,
        results,
        warnings,
    })
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
        Err((reason, message)) => {
            if let Some((at, source)) = judged_at {
                result.signed_at = Some(at);
                result.time_source = source;
            }
            result.verdict = if reason == Reason::Unsigned {
                Verdict::Unsigned
            } else {
                Verdict::Invalid
            };
            result.reason = reason;
            result.message = message.into();
        }
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
/// revocations of every parent and of HEAD's policy apply. No environment
/// applies (git names no ref) and the chain is not walked.
pub fn judge_object(
    repo: &Repo,
    sig: &[u8],
    payload: &[u8],
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
    let mut tips: Vec<Rc<Resolved>> = Vec::new();
    if let Ok(head) = repo.resolve_commit_id("HEAD")
        && let Ok(info) = repo.commit_info(&head)
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
mod tests {
    use super::*;
    use crate::policy;
    use crate::repo::walk::split_commit_signature;
    use crate::signature::{fulcio, openpgp, x509};
    use signer::{REKOR_TIME, Signer, effective_time};

    /// `rules::authorise` with no other parent and no tip: the identity.
    fn authorise(
        policy: &Resolved,
        _tips: &[Rc<Resolved>],
        checked: &Checked,
        envs: &[String],
        _changes_policy: bool,
    ) -> std::result::Result<Arc<str>, (Reason, String)> {
        rules::authorise(policy, &[], &[], checked, envs).map(|s| s.identity)
    }

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata");

    fn checked(name: &str) -> Checked {
        let raw = std::fs::read(format!("{TESTDATA}/gitsign/{name}.commit")).unwrap_or_default();
        let (sig, payload) = split_commit_signature(&raw).unwrap_or_default();
        check_signature(&sig, &payload, 0).unwrap_or_else(|e| panic!("{name}: {}", e.1))
    }

    fn resolved(identity: &str, with_trust: bool) -> Resolved {
        let policy = format!(
            "version = 1\n[policy]\nadmins = [\"o\"]\n[owners.o]\ncontact = \"o@example.com\"\n\
             [environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"keyless\"]\n\
             [identities.dev]\nowner = \"o\"\nenvironments = [\"dev\"]\ncustody = \"keyless\"\nkeyless = {identity}\n"
        );
        let raw = policy::load::parse("signing.toml", policy.as_bytes())
            .result
            .unwrap_or_else(|d| panic!("{}", d.message));
        let trust = with_trust.then(|| {
            fulcio::TrustedRoot::from_json(
                &std::fs::read(format!(
                    "{TESTDATA}/trust/sigstore-public-good.trusted_root.json"
                ))
                .unwrap_or_default(),
            )
            .unwrap_or_default()
        });
        let keyless = raw
            .identities
            .iter()
            .filter_map(|(n, id)| {
                id.keyless.as_ref().map(|k| {
                    (
                        n.get().as_str().into(),
                        k.issuer.get().clone(),
                        k.subject.get().clone(),
                    )
                })
            })
            .collect();
        let mut r = Resolved::bare(raw);
        r.keyless = keyless;
        r.trust = trust;
        r
    }

    const CTADEU: &str = "2a9386b15d6f644d949eeb18e03a959fc7d71282";

    #[test]
    fn a_gitsign_commit_is_authorised_by_its_keyless_identity_only() {
        let c = checked(CTADEU);
        let ok = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
            true,
        );
        assert_eq!(
            authorise(&ok, &[], &c, &["dev".to_owned()], false).map_err(|e| e.0),
            Ok("dev".into())
        );

        let other = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"someone@example.com\" }",
            true,
        );
        assert_eq!(
            authorise(&other, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );

        let other_issuer = resolved(
            "{ issuer = \"https://accounts.google.com\", subject = \"ctadeu@gmail.com\" }",
            true,
        );
        assert_eq!(
            authorise(&other_issuer, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );

        let untrusted = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
            false,
        );
        assert_eq!(
            authorise(&untrusted, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );
    }

    #[test]
    fn a_keyless_signature_outside_its_ten_minutes_is_refused() {
        let mut c = checked(CTADEU);
        c.signed_at += time::Duration::hours(1);
        let ok = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
            true,
        );
        assert_eq!(
            authorise(&ok, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::CertificateInvalidAtSigning)
        );
    }

    #[test]
    fn the_odd_dex_issuer_does_not_pass_for_github() {
        let c = checked("589347413c5ce7c8fe1b3400eb0173f0d74077a8");
        let github = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"billy@chainguard.dev\" }",
            true,
        );
        assert_eq!(
            authorise(&github, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );
    }

    fn pgp_checked(path: &str) -> Checked {
        let raw = std::fs::read(format!("{TESTDATA}/openpgp/{path}")).unwrap_or_default();
        let (sig, payload) = split_commit_signature(&raw).unwrap_or_default();
        check_signature(&sig, &payload, 0).unwrap_or_else(|e| panic!("{path}: {}", e.1))
    }

    fn with_pgp_key(key_file: &str) -> Resolved {
        let mut r = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"nobody@example.com\" }",
            false,
        );
        let keys = openpgp::read_keys(
            &std::fs::read(format!("{TESTDATA}/openpgp/{key_file}")).unwrap_or_default(),
        )
        .unwrap_or_default();
        r.by_pgp.push(("dev".into(), keys));
        r
    }

    #[test]
    fn a_web_flow_merge_is_authorised_by_the_forge_key_only() {
        let new_key = with_pgp_key("github-web-flow-968479A1AFF927E37D1A566BB5690EEEBB952194.asc");
        let c = pgp_checked("cde02c7a5ea01dcf896ee1894d2daf8b81325410.commit");
        assert_eq!(
            authorise(&new_key, &[], &c, &[], false).map_err(|e| e.0),
            Ok("dev".into())
        );
        assert_eq!(c.time_source, "signature creation time (untrusted)");
        let junio = with_pgp_key("junio-gpg-pub-96E07AF25771955980DAD10020D04E5A713660A7.asc");
        assert_eq!(
            authorise(&junio, &[], &c, &[], false).map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );
        let tampered = pgp_checked(
            "tampered/cde02c7a5ea01dcf896ee1894d2daf8b81325410.body-byte-flipped.commit",
        );
        assert_eq!(
            authorise(&new_key, &[], &tampered, &[], false).map_err(|e| e.0),
            Err(Reason::BadSignature)
        );
    }

    fn smime_checked(name: &str) -> Checked {
        let raw = std::fs::read(format!("{TESTDATA}/smimesign/{name}.commit")).unwrap_or_default();
        let (sig, payload) = split_commit_signature(&raw).unwrap_or_default();
        check_signature(&sig, &payload, 0).unwrap_or_else(|e| panic!("{name}: {}", e.1))
    }

    fn anchored_at(ca: &[u8], subject: &str) -> Resolved {
        let mut r = resolved(
            "{ issuer = \"https://a.example\", subject = \"nobody\" }",
            false,
        );
        r.anchored.push((
            "dev".into(),
            fulcio::TrustedRoot {
                cas: x509::ca_certificates(ca).unwrap_or_else(|e| panic!("{e}")),
                tlogs: Vec::new(),
            },
            subject.to_owned(),
        ));
        r
    }

    #[test]
    fn an_smimesign_commit_is_authorised_through_the_ca_its_identity_anchors() {
        let certum = std::fs::read(format!(
            "{TESTDATA}/smimesign/certum-trusted-network-ca.pem"
        ))
        .unwrap_or_default();
        let c = smime_checked("9f553393e2739b0d63ba5a2e29d1c51d22ebc07e");
        // the manifest's signing time, inside the certificate's validity
        assert_eq!(
            authorise(
                &anchored_at(&certum, "mateusz@klatt.ie"),
                &[],
                &c,
                &[],
                false
            )
            .map_err(|e| e.1),
            Ok("dev".into())
        );
        // another name under the same CA is someone else
        assert_eq!(
            authorise(
                &anchored_at(&certum, "someone@klatt.ie"),
                &[],
                &c,
                &[],
                false
            )
            .map_err(|e| e.0),
            Err(Reason::UnknownSigner)
        );
        // the same name under another CA does not chain
        let other = include_bytes!("../../tests/fixtures/chain/root.der");
        assert_eq!(
            authorise(&anchored_at(other, "mateusz@klatt.ie"), &[], &c, &[], false)
                .map_err(|e| e.0),
            Err(Reason::CertificateInvalidAtSigning)
        );
        // a claimed time after the certificate expired
        let mut late = c.clone();
        late.signed_at = OffsetDateTime::from_unix_timestamp(1_700_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            authorise(
                &anchored_at(&certum, "mateusz@klatt.ie"),
                &[],
                &late,
                &[],
                false
            )
            .map_err(|e| e.0),
            Err(Reason::CertificateInvalidAtSigning)
        );
        // a leaf is no trust anchor
        assert!(
            x509::ca_certificates(include_bytes!("../../tests/fixtures/chain/leaf.der")).is_err()
        );
    }

    #[test]
    fn a_gitsign_rekor_entry_gives_a_trusted_time_and_a_forged_one_is_refused() {
        let policy = resolved(
            "{ issuer = \"https://accounts.google.com\", subject = \"billy@chainguard.dev\" }",
            true,
        );
        let c = checked("dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8");
        let (at, trusted) = effective_time(&policy, &c).unwrap_or_else(|e| panic!("{}", e.1));
        assert!(trusted);
        // the manifest's integratedTime
        assert_eq!(
            policy::timestamp::Timestamp(at).to_string(),
            "2026-08-05T14:17:17Z"
        );
        assert_eq!(
            authorise(&policy, &[], &c, &[], false).map_err(|e| e.1),
            Ok("dev".into())
        );
        assert_eq!(
            with_trusted_time(&policy, c.clone()).time_source,
            REKOR_TIME
        );
        // without the log's key the entry proves nothing, and costs nothing
        let mut no_logs = resolved(
            "{ issuer = \"https://accounts.google.com\", subject = \"billy@chainguard.dev\" }",
            true,
        );
        if let Some(t) = no_logs.trust.as_mut() {
            t.tlogs.clear();
        }
        assert_eq!(effective_time(&no_logs, &c).map(|t| t.1), Ok(false));
        // an entry for another signature (its body changed) is refused
        let mut forged = c.clone();
        if let Signer::Keyless(k) = &mut forged.signer
            && let Some((_, body)) = k.rekor.as_mut()
        {
            let at = body.len() / 2;
            body[at] ^= 1;
        }
        assert_eq!(
            authorise(&policy, &[], &forged, &[], false).map_err(|e| e.0),
            Err(Reason::BadSignature)
        );
        // a commit without an entry keeps its signer's time
        let plain = checked(CTADEU);
        let ctadeu = resolved(
            "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
            true,
        );
        assert_eq!(effective_time(&ctadeu, &plain).map(|t| t.1), Ok(false));
    }
}
