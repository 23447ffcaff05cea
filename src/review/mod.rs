//! `sigctl review BASE..HEAD`: what a reviewer of a `signing.toml` pull
//! request needs in one page. The semantic diff of the policy between BASE
//! and HEAD (each change with a stable code, a risk and the control it
//! touches, on the line of HEAD's signing.toml it concerns), whether each
//! policy-changing commit in the range is signed by an admin of its parent's
//! policy, and what `verify` says about the range.
//!
//! Computes; never prints (`render` formats it, `cli::review` prints).

pub mod diff;
pub mod render;
pub mod risk;

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use crate::diag::Code;
use crate::error::Result;
use crate::policy::{self, view};
use crate::repo::{ObjectId, Repo};
use crate::verify::{self, Reason, Verdict, VerifyOptions};

pub use diff::Side;
pub use risk::Risk;

/// One change between the two policies.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub code: Code,
    pub risk: Risk,
    pub control: &'static str,
    /// What changed: an identity, environment, owner, exception id, or a side.
    pub subject: String,
    pub message: String,
    /// 1-based line and column in HEAD's signing.toml (1:1 when the change
    /// has no place there, such as a removal).
    pub line: usize,
    pub column: usize,
    /// Before/after facts (certificate fingerprints, signer fields, approvals).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

impl Change {
    pub fn new(code: Code, subject: &str, message: String, line: usize, column: usize) -> Self {
        Self {
            code,
            risk: risk::risk(code),
            control: risk::control(code),
            subject: printable(subject),
            message: printable(&message),
            line,
            column,
            details: BTreeMap::new(),
        }
    }
    pub fn detail(&mut self, k: &str, v: String) -> &mut Self {
        self.details.insert(k.to_owned(), printable(&v));
        self
    }
}

/// Policy text as it may be shown: control characters (a newline in a
/// reason, an escape sequence in a name) spelled out, never sent to a
/// terminal or a comment as they are.
pub fn printable(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A commit in the range that changes the policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyCommit {
    pub commit: String,
    /// The identity verify found for the signature, if any.
    pub identity: Option<String>,
    /// The signer is an admin of every parent's policy.
    pub signed_by_admin: bool,
    /// The commit rule on this signature alone (`authorised`, or the code
    /// that refuses it): the parents' policies name the signer and, the
    /// policy changing, an admin of theirs: what `git verify-commit` says.
    pub rule: &'static str,
    /// verify's verdict and reason for this commit over the range (its chain
    /// and the ref's environment too; None: verify did not run).
    pub verdict: Option<Verdict>,
    pub reason: Option<&'static str>,
    /// The commit rule passes and the signer is an admin of every parent's policy.
    pub authorised: bool,
}

/// What `verify BASE..HEAD` says.
#[derive(Debug, Clone, Serialize)]
pub struct VerifySummary {
    /// Whether every commit and tag is valid; false too when verify could not run.
    pub ok: bool,
    pub valid: usize,
    pub invalid: usize,
    pub unsigned: usize,
    /// Why verify could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The review.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub base: String,
    pub head: String,
    /// What the reader should know that is no change (no policy at all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The commit whose policy the diff starts from: BASE, or where HEAD's
    /// branch left BASE's history when BASE moved on since (the merge base),
    /// so changes made on BASE's side are not shown as undone by HEAD.
    pub diff_base: String,
    pub changes: Vec<Change>,
    pub policy_commits: Vec<PolicyCommit>,
    pub verify: VerifySummary,
}

impl Review {
    /// A high-risk change, or a policy change no admin signed.
    pub fn blocking(&self) -> bool {
        self.changes.iter().any(|c| c.risk == Risk::High)
            || self.policy_commits.iter().any(|c| !c.authorised)
    }
    pub fn count(&self, r: Risk) -> usize {
        self.changes.iter().filter(|c| c.risk == r).count()
    }
}

/// Read one side: the policy at `commit` and the files it names.
pub fn side(repo: &Repo, label: &str, commit: &ObjectId) -> Result<Side> {
    let label = format!(
        "{label} ({})",
        &commit.to_string()[..12.min(commit.to_string().len())]
    );
    let info = repo.commit_info(commit)?;
    let mut side = Side {
        label,
        text: String::new(),
        policy: Err(String::new()),
        files: BTreeMap::new(),
        time: Some(info.committer_time),
        error_at: None,
        absent: false,
    };
    let Some(blob) = repo.blob_in_tree(&info.tree, policy::FILE_NAME)? else {
        side.policy = Err(format!("no {} in the commit", policy::FILE_NAME));
        side.absent = true;
        return Ok(side);
    };
    let bytes = match repo.blob_within(&blob, policy::load::MAX_POLICY_BYTES as u64) {
        Ok(Some(b)) => b,
        Ok(None) => {
            side.policy = Err(format!(
                "{} is over the policy size limit",
                policy::FILE_NAME
            ));
            return Ok(side);
        }
        Err(e) => {
            side.policy = Err(format!("{} cannot be read: {e}", policy::FILE_NAME));
            return Ok(side);
        }
    };
    side.text = String::from_utf8_lossy(&bytes).into_owned();
    let parsed = policy::load::parse(policy::FILE_NAME, &bytes);
    side.policy = parsed.result.map_err(|d| {
        side.error_at = Some((d.line, d.column));
        format!("{} ({})", d.message, d.label)
    });
    if let Ok(p) = &side.policy {
        for (_, path) in view::trust_files(p) {
            if let Ok(Some(id)) = repo.blob_in_tree(&info.tree, path)
                && let Ok(Some(b)) = repo.blob_within(&id, crate::files::TRUST_FILE.limit)
            {
                side.files.insert(path.to_owned(), b);
            }
        }
    }
    Ok(side)
}

/// The policy's identity in a tree: signing.toml's blob and every named file's.
/// (`paths` memoises the files each signing.toml blob names.)
fn policy_key(
    repo: &Repo,
    tree: &ObjectId,
    paths: &mut BTreeMap<ObjectId, Vec<String>>,
) -> Result<Vec<Option<ObjectId>>> {
    let Some(blob) = repo.blob_in_tree(tree, policy::FILE_NAME)? else {
        return Ok(Vec::new());
    };
    let mut key = vec![Some(blob)];
    if let std::collections::btree_map::Entry::Vacant(slot) = paths.entry(blob) {
        let named = match repo.blob_within(&blob, policy::load::MAX_POLICY_BYTES as u64)? {
            Some(bytes) => match policy::load::parse(policy::FILE_NAME, &bytes).result {
                Ok(p) => view::trust_files(&p)
                    .into_iter()
                    .map(|(_, path)| path.to_owned())
                    .collect(),
                Err(_) => Vec::new(),
            },
            None => Vec::new(),
        };
        slot.insert(named);
    }
    for path in paths.get(&blob).into_iter().flatten() {
        key.push(repo.blob_in_tree(tree, path)?);
    }
    Ok(key)
}

fn raw_at(repo: &Repo, tree: &ObjectId) -> Option<policy::raw::RawPolicy> {
    let blob = repo.blob_in_tree(tree, policy::FILE_NAME).ok()??;
    let bytes = repo
        .blob_within(&blob, policy::load::MAX_POLICY_BYTES as u64)
        .ok()??;
    policy::load::parse(policy::FILE_NAME, &bytes).result.ok()
}

/// The signer verify names in a policy-change refusal (it identified the
/// signer, then refused it: the result carries no identity).
fn refused_signer(reason: Reason, message: &str) -> Option<String> {
    if reason != Reason::PolicyChangeWithoutAdmin {
        return None;
    }
    let before = message.split("` is not owned by an admin").next()?;
    if before.len() == message.len() {
        return None;
    }
    before.rsplit_once('`').map(|(_, who)| who.to_owned())
}

/// Where the range's commits leave BASE's history: BASE itself when HEAD
/// descends from it (or the range is empty), else the one boundary commit
/// that no other boundary descends from (the merge base). Several such
/// (criss-cross histories): BASE, as given.
fn fork_point(
    repo: &Repo,
    range: &[crate::repo::walk::CommitInfo],
    base: ObjectId,
) -> Result<ObjectId> {
    let inside: std::collections::HashSet<ObjectId> = range.iter().map(|c| c.id).collect();
    let mut boundary: Vec<ObjectId> = range
        .iter()
        .flat_map(|c| c.parents.iter().copied())
        .filter(|p| !inside.contains(p))
        .collect();
    boundary.sort();
    boundary.dedup();
    if boundary.is_empty() || boundary.contains(&base) {
        return Ok(base);
    }
    if boundary.len() == 1 {
        return Ok(boundary[0]);
    }
    let mut best = Vec::new();
    for b in &boundary {
        let others: Vec<ObjectId> = boundary.iter().filter(|o| *o != b).copied().collect();
        if !repo.ancestors(&others, &|_| None)?.contains(b) {
            best.push(*b);
        }
    }
    Ok(if best.len() == 1 { best[0] } else { base })
}

/// How to review.
#[derive(Debug, Clone, Default)]
pub struct ReviewOptions {
    pub base: String,
    pub head: String,
    pub trust_root: Option<String>,
    pub cache_key: Option<Vec<u8>>,
}

/// Review `base..head`.
pub fn review(
    repo: &Repo,
    opts: &ReviewOptions,
    config_trust_root: Option<String>,
    now: OffsetDateTime,
) -> Result<Review> {
    let base_id = repo.resolve_commit_id(&opts.base)?;
    let head_id = repo.resolve_commit_id(&opts.head)?;
    let commits = repo.commits_parents_first(&[head_id], &[base_id], &|_| None)?;
    let diff_base = fork_point(repo, &commits, base_id)?;
    let base = side(repo, "BASE", &diff_base)?;
    let head = side(repo, "HEAD", &head_id)?;
    let changes = diff::diff(&base, &head);
    let mut notes = Vec::new();
    if base.absent && head.absent {
        notes.push(format!(
            "neither BASE nor HEAD has a {}: no policy to review",
            policy::FILE_NAME
        ));
    }

    // the names as given: a branch's environment applies as `verify` would apply it
    let range = format!("{}..{}", opts.base, opts.head);
    let report = verify::verify(
        repo,
        &VerifyOptions {
            specs: vec![range],
            trust_root: opts.trust_root.clone(),
            cache_key: opts.cache_key.clone(),
            as_refs: Vec::new(),
            exclude: Vec::new(),
            policy: None,
        },
        config_trust_root,
        now,
        None,
    );
    let (results, summary) = match report {
        Ok(r) => {
            let summary = VerifySummary {
                ok: r.ok(),
                valid: r.count(Verdict::Valid),
                invalid: r.count(Verdict::Invalid),
                unsigned: r.count(Verdict::Unsigned),
                error: None,
            };
            let by_id: BTreeMap<ObjectId, verify::ObjectResult> =
                r.results.into_iter().map(|x| (x.object, x)).collect();
            (by_id, summary)
        }
        Err(e) => (
            BTreeMap::new(),
            VerifySummary {
                ok: false,
                valid: 0,
                invalid: 0,
                unsigned: 0,
                error: Some(e.to_string()),
            },
        ),
    };

    let mut policy_commits = Vec::new();
    let mut paths = BTreeMap::new();
    for c in &commits {
        let own = policy_key(repo, &c.tree, &mut paths)?;
        let mut parent_trees = Vec::new();
        // as verify judges: a commit that keeps a parent's policy (a merge
        // bringing in a change made on one side) changes nothing itself
        let mut kept = false;
        for p in &c.parents {
            let tree = repo.commit_info(p)?.tree;
            kept |= policy_key(repo, &tree, &mut paths)? == own;
            parent_trees.push(tree);
        }
        let changed = !kept;
        if !changed {
            continue;
        }
        let result = results.get(&c.id);
        // the commit rule alone, as git's verifier judges one signature: the
        // parents' policies name the signer, and a policy change needs an
        // admin of them (no chain, no environment)
        let judged = match repo.commit_signature(&c.id)? {
            None => Err((Reason::Unsigned, String::new())),
            Some((sig, payload)) => verify::judge_object(repo, &sig, &payload),
        };
        let (identity, rule) = match &judged {
            Ok(j) => (Some(j.identity.clone()), Reason::Authorised),
            Err((reason, message)) => (refused_signer(*reason, message), *reason),
        };
        let identity = identity.or_else(|| {
            result.and_then(|r| {
                r.identity
                    .as_deref()
                    .map(str::to_owned)
                    .or_else(|| refused_signer(r.reason, &r.message))
            })
        });
        let signed_by_admin = identity.as_deref().is_some_and(|who| {
            !parent_trees.is_empty()
                && parent_trees
                    .iter()
                    .all(|t| raw_at(repo, t).is_some_and(|p| view::is_admin(&p, who)))
        });
        policy_commits.push(PolicyCommit {
            commit: c.id.to_string(),
            identity,
            signed_by_admin,
            rule: rule.as_str(),
            verdict: result.map(|r| r.verdict),
            reason: result.map(|r| r.reason.as_str()),
            authorised: rule == Reason::Authorised && signed_by_admin,
        });
    }
    Ok(Review {
        notes,
        diff_base: diff_base.to_string(),
        base: base_id.to_string(),
        head: head_id.to_string(),
        changes,
        policy_commits,
        verify: summary,
    })
}
