//! What the specs name, and which verified branch refs reach each commit
//! (each spec is judged by its own environment).

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::Result;
use crate::repo::walk::{CommitInfo, IdMap, Tip};
use crate::repo::{ObjectId, Repo};

use super::policy_at::{Resolved, environment_of};

/// Which verified refs reach each commit: each spec is judged by its own
/// environment, and a commit reachable from several meets all of theirs.
pub(super) struct Reach {
    words: usize,
    bits: Vec<u64>,
}

impl Reach {
    pub(super) fn new(commits: &[CommitInfo], seeds: &[(ObjectId, usize)], n: usize) -> Self {
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

    pub(super) fn of(&self, i: usize) -> &[u64] {
        &self.bits[i * self.words..(i + 1) * self.words]
    }

    pub(super) fn has(set: &[u64], bit: usize) -> bool {
        set[bit / 64] & (1 << (bit % 64)) != 0
    }
}

/// What the specs name: tips, whether each is a range, the ranges' bases,
/// and HEAD when it is not a tip (its revocations count once it verifies,
/// so a tag verified alone meets those of the branch it is on).
pub(super) struct Specs {
    pub tips: Vec<Tip>,
    pub ranged: Vec<bool>,
    pub bases: Vec<ObjectId>,
    pub head: Option<ObjectId>,
}

impl Specs {
    pub(super) fn resolve(repo: &Repo, specs: &[String]) -> Result<Specs> {
        let mut out = Specs {
            tips: Vec::new(),
            ranged: Vec::new(),
            bases: Vec::new(),
            head: None,
        };
        let head = ["HEAD".to_owned()];
        for s in if specs.is_empty() { &head[..] } else { specs } {
            let (tip, base) = repo.resolve_spec(s)?;
            out.tips.push(tip);
            out.ranged.push(base.is_some());
            out.bases.extend(base);
        }
        out.head = repo
            .resolve_commit_id("HEAD")
            .ok()
            .filter(|h| !out.tips.iter().any(|t| t.commit == *h));
        Ok(out)
    }

    pub(super) fn commits(&self) -> Vec<ObjectId> {
        self.tips.iter().map(|t| t.commit).collect()
    }

    /// The tips of plain specs (not ranges): their whole history is verified.
    pub(super) fn plain(&self) -> Vec<ObjectId> {
        self.tips
            .iter()
            .zip(&self.ranged)
            .filter(|(_, r)| !**r)
            .map(|(t, _)| t.commit)
            .collect()
    }

    /// The branch ref each tip stands for (a remote-tracking branch is
    /// judged as the branch it tracks; tags and bare commits: none), with a
    /// warning for one that no tip's policy puts in an environment.
    pub(super) fn branches(
        &self,
        tip_policies: &[(usize, Rc<Resolved>)],
        warnings: &mut Vec<String>,
    ) -> Vec<Option<String>> {
        let mut out = Vec::new();
        for t in &self.tips {
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
            out.push(branch);
        }
        out
    }
}

/// Per commit: the (interned) set of verified branch refs that reach it,
/// and whether a spec (not only HEAD) reaches it, so it is reported.
pub(super) struct RefSets {
    pub ids: Vec<u32>,
    pub refs: Vec<Rc<[String]>>,
    pub reported: Vec<bool>,
}

impl RefSets {
    pub(super) fn new(
        commits: &[CommitInfo],
        specs: &Specs,
        branches: &[Option<String>],
    ) -> RefSets {
        let mut seeds: Vec<(ObjectId, usize)> = specs
            .tips
            .iter()
            .enumerate()
            .map(|(i, t)| (t.commit, i))
            .collect();
        if let Some(h) = specs.head {
            seeds.push((h, specs.tips.len()));
        }
        let reach = Reach::new(commits, &seeds, seeds.len());
        let mut interned: HashMap<Vec<String>, u32> = HashMap::new();
        let mut out = RefSets {
            ids: Vec::with_capacity(commits.len()),
            refs: Vec::new(),
            reported: Vec::with_capacity(commits.len()),
        };
        // neighbours in the walk are mostly reached by the same refs
        let mut last: Option<(&[u64], u32, bool)> = None;
        for i in 0..commits.len() {
            let bits = reach.of(i);
            if let Some((b, id, reported)) = last
                && b == bits
            {
                out.ids.push(id);
                out.reported.push(reported);
                continue;
            }
            let mut refs: Vec<String> = branches
                .iter()
                .enumerate()
                .filter(|(b, r)| r.is_some() && Reach::has(bits, *b))
                .filter_map(|(_, r)| r.clone())
                .collect();
            refs.sort();
            refs.dedup();
            let id = *interned.entry(refs.clone()).or_insert_with(|| {
                out.refs.push(refs.into());
                (out.refs.len() - 1) as u32
            });
            let reported = (0..specs.tips.len()).any(|b| Reach::has(bits, b));
            out.ids.push(id);
            out.reported.push(reported);
            last = Some((bits, id, reported));
        }
        out
    }
}
