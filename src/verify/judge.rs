//! The judgement of a history: every commit, parents first, by the commit
//! rule (`rules::judge_commit`), as a chain from the trust root; exceptions
//! and HEAD's revocations settled over passes.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::repo::ObjectId;
use crate::repo::walk::{CommitInfo, IdMap, IdSet};

use super::policy_at::{Engine, PolicyId, Resolved, environment_of};
use super::report::{Kind, ObjectResult, Reason, Verdict};
use super::rules::{self, Judged, ParentView};
use super::signer::{Check, Checked, with_trusted_time};
use super::specs::Groups;

/// Where a commit stands in the chain.
#[derive(Clone, Copy)]
pub(super) struct State {
    pub valid: bool,
    /// valid by its own signature (not by an exception)
    pub signed_valid: bool,
    /// the first failing commit on its way to the trust root
    pub first_failure: Option<ObjectId>,
}

/// The policies each commit's history has held (what a merge may not
/// restore without an admin of the parent that replaced them), computed
/// only when a merge asks, each commit once.
#[derive(Default)]
pub(super) struct PolicyHistory {
    sets: IdMap<Rc<[PolicyId]>>,
}

impl PolicyHistory {
    /// The policies `commit`'s history (itself included) has held.
    pub(super) fn of(
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

/// What the judgement of a history needs besides the commits.
pub(super) struct Judge<'r> {
    /// None: an external policy over the whole history
    pub root: Option<ObjectId>,
    /// `verify --policy FILE`: each commit judged on its own by that policy
    /// (no chain, no foreign history, no admin rule: history cannot change it)
    pub external: bool,
    pub base_ancestors: IdSet,
    /// per commit: the policy of its own tree
    pub own: Vec<Option<PolicyId>>,
    /// the specs by the branch environment they apply, and what each reaches
    pub groups: Groups,
    pub history: PolicyHistory,
    pub known: &'r dyn Fn(&ObjectId) -> Option<CommitInfo>,
    /// commit id → its position in the walk
    pub index: &'r IdMap<usize>,
}

/// One pass over the history: every commit, parents first, once per group
/// of specs; a commit's result is its first refusal in any group.
pub(super) struct Pass {
    pub results: Vec<ObjectResult>,
    /// per group: where each commit it reaches stands
    pub states: Vec<IdMap<State>>,
}

impl Judge<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run(
        &mut self,
        engine: &mut Engine,
        commits: &[CommitInfo],
        checks: &[Option<Check>],
        tips: &[Rc<Resolved>],
        excepted: &IdSet,
        progress: &dyn Fn(usize),
    ) -> Pass {
        let by_id = self.index;
        // one group (the usual case): results in walk order as they come;
        // several: per commit, the first refusal in any group
        let single = self.groups.groups.len() == 1;
        let mut results: Vec<ObjectResult> = Vec::new();
        let mut combined: Vec<Option<ObjectResult>> = Vec::new();
        if single {
            results.reserve(commits.len());
        } else {
            combined.resize_with(commits.len(), || None);
        }
        let mut states = Vec::with_capacity(self.groups.groups.len());
        let mut env_memo: HashMap<(PolicyId, u32), Rc<[String]>> = HashMap::new();
        for g in 0..self.groups.groups.len() {
            let refs = self.groups.groups[g].0.clone();
            let mut state: IdMap<State> =
                IdMap::with_capacity_and_hasher(commits.len(), Default::default());
            for (n, c) in commits.iter().enumerate() {
                if !self.groups.reaches(g, n) {
                    continue;
                }
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
                    by_id,
                    commits,
                    &state,
                    (&refs, g as u32),
                    &mut env_memo,
                );
                match outcome {
                    Ok((identity, checked)) => {
                        result.verdict = Verdict::Valid;
                        result.identity = Some(identity);
                        result.reason = Reason::Authorised;
                        result.message =
                            "signed by an identity the policy in force authorises".into();
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
                        result.refuse(reason, message, judged_at);
                        // an exception passes a failing commit, but never a
                        // policy change nor history foreign to the trust root
                        if excepted.contains(&c.id)
                            && reason != Reason::ForeignHistory
                            && self.keeps_policy(engine, c, n, &state)
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
                if !self.groups.reported[n] {
                    continue;
                }
                if single {
                    results.push(result);
                } else if combined[n]
                    .as_ref()
                    .is_none_or(|r| r.verdict == Verdict::Valid && result.verdict != Verdict::Valid)
                {
                    combined[n] = Some(result);
                }
            }
            states.push(state);
        }
        if !single {
            results = combined.into_iter().flatten().collect();
        }
        Pass { results, states }
    }

    /// Whether a failing commit changed no policy, so that an exception may
    /// pass it: its policy is that of a valid parent, and it restores no
    /// policy another parent's history replaced nor drops a revocation
    /// another parent holds (the merge rule, without a signer to be admin).
    fn keeps_policy(
        &mut self,
        engine: &mut Engine,
        c: &CommitInfo,
        n: usize,
        state: &IdMap<State>,
    ) -> bool {
        if self.external {
            // history cannot change an external policy
            return true;
        }
        let own = self.own[n];
        let mut same = false;
        let mut others = Vec::new();
        for p in &c.parents {
            let tree = (self.known)(p)
                .map(|i| i.tree)
                .or_else(|| engine.repo.commit_info(p).ok().map(|i| i.tree));
            let Some(tree) = tree else { return false };
            let id = engine.policy_id(&tree).ok().flatten();
            let valid = state
                .get(p)
                .map_or(self.base_ancestors.contains(p), |s| s.valid);
            if id == own {
                same |= valid;
            } else {
                others.push((*p, tree));
            }
        }
        if !same {
            return false;
        }
        let own_policy = engine.policy_of_tree(&c.tree).ok().flatten();
        for (p, tree) in others {
            if let Some(o) = own
                && self.history.of(engine, self.known, &p).contains(&o)
            {
                return false;
            }
            let drops = engine
                .policy_of_tree(&tree)
                .ok()
                .flatten()
                .is_some_and(|q| {
                    q.revoked.iter().any(|r| {
                        !own_policy
                            .as_ref()
                            .is_some_and(|o| o.revokes_name(&r.identity))
                    })
                });
            if drops {
                return false;
            }
        }
        true
    }

    /// Judge until the exceptions and HEAD's revocations settle:
    /// exceptions count only from tips that verify by their own signature,
    /// and HEAD's revocations only once HEAD verifies (each pass can only
    /// drop exceptions or add revocations). The last pass, and the policies
    /// whose revocations applied by time.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn settle(
        &mut self,
        engine: &mut Engine,
        commits: &[CommitInfo],
        checks: &[Option<Check>],
        tip_commits: &[ObjectId],
        tip_policies: &[(usize, Rc<Resolved>)],
        head: Option<(ObjectId, Option<Rc<Resolved>>)>,
        now: OffsetDateTime,
        progress: &dyn Fn(usize),
    ) -> (Pass, Vec<Rc<Resolved>>) {
        let exceptions = commit_exceptions(tip_policies, now);
        let mut trusted_tips: Vec<bool> = vec![true; tip_commits.len()];
        let mut with_head = false;
        loop {
            let excepted: IdSet = exceptions
                .iter()
                .filter(|(t, _)| trusted_tips[*t])
                .map(|(_, c)| *c)
                .collect();
            let mut revoking: Vec<Rc<Resolved>> =
                tip_policies.iter().map(|(_, p)| p.clone()).collect();
            if with_head && let Some((_, Some(p))) = &head {
                revoking.push(p.clone());
            }
            let pass = self.run(engine, commits, checks, &revoking, &excepted, progress);
            // a tip as its own spec judges it (HEAD: the last spec bit)
            let verifies = |bit: usize, id: &ObjectId, own_signature: bool| match pass.states
                [self.groups.of_spec[bit]]
                .get(id)
            {
                Some(s) => s.valid && (s.signed_valid || !own_signature),
                None => self.base_ancestors.contains(id),
            };
            let mut changed = false;
            // an external policy's exceptions are the user's own: they need
            // no tip to vouch for them
            for (t, _) in exceptions.iter().filter(|_| !self.external) {
                if trusted_tips[*t] && !verifies(*t, &tip_commits[*t], true) {
                    trusted_tips[*t] = false;
                    changed = true;
                }
            }
            if !with_head
                && let Some((h, Some(p))) = &head
                && !p.revoked.is_empty()
                && verifies(tip_commits.len(), h, false)
            {
                with_head = true;
                changed = true;
            }
            if !changed {
                return (pass, revoking);
            }
        }
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
        (refs, group): (&Rc<[String]>, u32),
        env_memo: &mut HashMap<(PolicyId, u32), Rc<[String]>>,
    ) -> std::result::Result<
        (Arc<str>, Checked),
        (Reason, String, Option<(OffsetDateTime, &'static str)>),
    > {
        let no_time = |(r, m): (Reason, String)| (r, m, None);
        let descends = self.external
            || Some(c.id) == self.root
            || c.parents
                .iter()
                .any(|p| state.contains_key(p) || self.base_ancestors.contains(p));
        if !descends {
            return Err(no_time((
                Reason::ForeignHistory,
                format!(
                    "not descended from the trust root {}",
                    self.root
                        .map_or_else(String::new, |r| r.to_hex_with_len(12).to_string())
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
        // the commit's own resolved policy: the trust root's authority, and
        // what a merge keeps (a commit of one parent needs only its id)
        let own_policy = if Some(c.id) == self.root || c.parents.len() > 1 || self.external {
            engine
                .policy_of_tree(&c.tree)
                .map_err(|e| fail((Reason::NoPolicy, e.to_string())))?
        } else {
            None
        };
        // the policies that may vouch: the parents' (the trust root: its own)
        let mut parents = Vec::with_capacity(c.parents.len().max(1));
        let mut parent_ids = Vec::with_capacity(c.parents.len());
        if Some(c.id) == self.root || self.external {
            // the trust root vouches for itself; under an external policy
            // every commit is judged on its own, by that policy
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
        let refs = refs.clone();
        let mut envs = |pol: &Resolved| -> Rc<[String]> {
            env_memo
                .entry((pol.id, group))
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
pub(super) fn commit_exceptions(
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
