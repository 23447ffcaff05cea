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
    pub(super) fn new(
        commits: &[CommitInfo],
        index: &IdMap<usize>,
        seeds: &[(ObjectId, usize)],
        n: usize,
    ) -> Self {
        let words = n.div_ceil(64).max(1);
        let mut bits = vec![0u64; commits.len() * words];
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
    pub(super) fn resolve(
        repo: &Repo,
        specs: &[String],
        as_refs: &[Option<String>],
        exclude: &[String],
    ) -> Result<Specs> {
        let mut out = Specs {
            tips: Vec::new(),
            ranged: Vec::new(),
            bases: Vec::new(),
            head: None,
        };
        let head = ["HEAD".to_owned()];
        for (n, s) in if specs.is_empty() { &head[..] } else { specs }
            .iter()
            .enumerate()
        {
            let (mut tip, base) = repo.resolve_spec(s)?;
            if let Some(Some(refname)) = as_refs.get(n) {
                repo.validate_ref_name(refname)?;
                // a tag pushed as an object id: that object, if it is a tag
                let object = s.rsplit("..").next().unwrap_or(s);
                tip.tag = match refname.starts_with("refs/tags/") {
                    true => tip
                        .tag
                        .clone()
                        .or_else(|| repo.tag_info(object).ok().map(|_| object.to_owned())),
                    false => None,
                };
                tip.refname = Some(refname.clone());
            }
            let excluded = !exclude.is_empty() && base.is_none();
            out.tips.push(tip);
            out.ranged.push(base.is_some() || excluded);
            out.bases.extend(base);
        }
        for e in exclude {
            out.bases.push(repo.resolve_commit_id(e)?);
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

/// The specs grouped by the branch whose environment they apply (tags,
/// bare commits and HEAD: none, the base rule). Each group is judged on its
/// own, over the commits its specs reach: a commit's chain is judged with
/// the environment of the ref it is verified for, so verifying several
/// specs together gives what verifying each alone gives.
pub(super) struct Groups {
    pub reach: Reach,
    /// per group: the branch ref (none or one) and its spec bits
    pub groups: Vec<(Rc<[String]>, Vec<usize>)>,
    /// spec bit (HEAD last) → its group
    pub of_spec: Vec<usize>,
    /// per commit: whether a spec (not only HEAD) reaches it
    pub reported: Vec<bool>,
}

impl Groups {
    pub(super) fn new(
        commits: &[CommitInfo],
        index: &IdMap<usize>,
        specs: &Specs,
        branches: &[Option<String>],
    ) -> Groups {
        let mut seeds: Vec<(ObjectId, usize)> = specs
            .tips
            .iter()
            .enumerate()
            .map(|(i, t)| (t.commit, i))
            .collect();
        if let Some(h) = specs.head {
            seeds.push((h, specs.tips.len()));
        }
        let reach = Reach::new(commits, index, &seeds, seeds.len());
        let mut by_branch: HashMap<Option<&str>, usize> = HashMap::new();
        let mut groups: Vec<(Rc<[String]>, Vec<usize>)> = Vec::new();
        let mut of_spec = Vec::with_capacity(seeds.len());
        for bit in 0..seeds.len() {
            let branch = branches.get(bit).and_then(|b| b.as_deref());
            let g = *by_branch.entry(branch).or_insert_with(|| {
                groups.push((branch.map(str::to_owned).into_iter().collect(), Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(bit);
            of_spec.push(g);
        }
        let reported = (0..commits.len())
            .map(|i| (0..specs.tips.len()).any(|b| Reach::has(reach.of(i), b)))
            .collect();
        Groups {
            reach,
            groups,
            of_spec,
            reported,
        }
    }

    /// Whether group `g` reaches commit `n`.
    pub(super) fn reaches(&self, g: usize, n: usize) -> bool {
        let bits = self.reach.of(n);
        self.groups[g].1.iter().any(|b| Reach::has(bits, *b))
    }
}
