//! History for `verify`: resolve what to verify, walk commits parents
//! first, and hand out each commit's signature and signed payload, read once.

use std::collections::{HashMap, HashSet};

use gix::ObjectId;

use super::{Repo, git_err};
use crate::error::{Error, Result};

/// One commit as verification needs it.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: String,
    pub parents: Vec<String>,
    pub tree: String,
    /// Committer time (seconds since the epoch): the signer's own claim.
    pub committer_time: i64,
    /// Whether the commit carries a signature header (the bytes are read
    /// when checked: holding every signature of a long history costs memory).
    pub signed: bool,
    /// More than one `gpgsig` header: refused rather than guessed at.
    pub duplicate_signature: bool,
}

/// A signed tag object.
#[derive(Debug, Clone)]
pub struct TagInfo {
    pub id: String,
    pub name: String,
    /// The commit the tag (eventually) points at.
    pub target: String,
    pub tagger_time: i64,
    pub signature: Option<(Vec<u8>, Vec<u8>)>,
}

/// What a verification range names.
#[derive(Debug, Clone)]
pub struct Tip {
    /// The full ref name, when the spec named a ref (`refs/heads/main`).
    pub refname: Option<String>,
    pub commit: String,
    /// The tag object, when the ref is an annotated tag.
    pub tag: Option<String>,
}

impl Repo {
    /// Resolve `spec` (a ref, a commit, or `A..B`) to its tip and, for `A..B`, the excluded base.
    pub fn resolve_spec(&self, spec: &str) -> Result<(Tip, Option<String>)> {
        if let Some((a, b)) = spec.split_once("..") {
            let base = self.resolve_commit(if a.is_empty() { "HEAD" } else { a })?;
            let (tip, _) = self.resolve_spec(if b.is_empty() { "HEAD" } else { b })?;
            return Ok((tip, Some(base)));
        }
        let refname = self.full_ref_name(spec);
        let commit = self.resolve_commit(spec)?;
        let tag = match &refname {
            Some(r) if r.starts_with("refs/tags/") => self.annotated_tag(r)?,
            _ => None,
        };
        Ok((
            Tip {
                refname,
                commit,
                tag,
            },
            None,
        ))
    }

    fn full_ref_name(&self, spec: &str) -> Option<String> {
        if spec == "HEAD" {
            return self.current_branch();
        }
        let r = self.inner.try_find_reference(spec).ok().flatten()?;
        Some(r.name().as_bstr().to_string())
    }

    fn annotated_tag(&self, refname: &str) -> Result<Option<String>> {
        let Some(mut r) = self.inner.try_find_reference(refname).map_err(git_err)? else {
            return Ok(None);
        };
        let Some(id) = r.target().try_id().map(|i| i.to_owned()) else {
            return Ok(None);
        };
        let _ = &mut r;
        let obj = self.inner.find_object(id).map_err(git_err)?;
        Ok((obj.kind == gix::object::Kind::Tag).then(|| id.to_string()))
    }

    /// Every commit reachable from `tips` but not from `hide`, parents before children.
    pub fn commits_parents_first(
        &self,
        tips: &[String],
        hide: &[String],
    ) -> Result<Vec<CommitInfo>> {
        let hidden = self.ancestors(hide)?;
        let mut infos: HashMap<String, CommitInfo> = HashMap::new();
        let mut stack: Vec<String> = tips
            .iter()
            .filter(|t| !hidden.contains(*t))
            .cloned()
            .collect();
        while let Some(id) = stack.pop() {
            if infos.contains_key(&id) || hidden.contains(&id) {
                continue;
            }
            let info = self.commit_info(&id)?;
            for p in &info.parents {
                if !infos.contains_key(p) && !hidden.contains(p) {
                    stack.push(p.clone());
                }
            }
            infos.insert(id, info);
        }
        // Kahn's algorithm: a commit comes after all of its parents in the
        // set; among the ready ones the oldest (then the smallest id) first,
        // so the order is the same on every run
        let key = |id: &str| (infos[id].committer_time, id.to_owned());
        let mut pending: HashMap<&str, usize> = HashMap::new();
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for (id, info) in &infos {
            let inside: Vec<&str> = info
                .parents
                .iter()
                .filter(|p| infos.contains_key(*p))
                .map(String::as_str)
                .collect();
            pending.insert(id.as_str(), inside.len());
            for p in inside {
                children.entry(p).or_default().push(id.as_str());
            }
        }
        let mut ready: std::collections::BTreeSet<(i64, String)> = pending
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| key(id))
            .collect();
        let mut order = Vec::with_capacity(infos.len());
        while let Some(next) = ready.pop_first() {
            let id = next.1;
            for c in children.get(id.as_str()).into_iter().flatten() {
                if let Some(n) = pending.get_mut(c) {
                    *n -= 1;
                    if *n == 0 {
                        ready.insert(key(c));
                    }
                }
            }
            order.push(id);
        }
        let mut out = Vec::with_capacity(order.len());
        for id in order {
            if let Some(info) = infos.remove(&id) {
                out.push(info);
            }
        }
        Ok(out)
    }

    /// Every commit reachable from `from` (inclusive).
    pub fn ancestors(&self, from: &[String]) -> Result<HashSet<String>> {
        let mut seen = HashSet::new();
        let mut stack: Vec<String> = from.to_vec();
        let mut buf = Vec::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let oid = ObjectId::from_hex(id.as_bytes()).map_err(git_err)?;
            use gix::objs::FindExt;
            let iter = self
                .inner
                .objects
                .find_commit_iter(&oid, &mut buf)
                .map_err(git_err)?;
            for p in iter.parent_ids() {
                stack.push(p.to_string());
            }
        }
        Ok(seen)
    }

    /// Parse one commit.
    pub fn commit_info(&self, id: &str) -> Result<CommitInfo> {
        let oid = ObjectId::from_hex(id.as_bytes())
            .map_err(|_| Error::Git(format!("`{id}` is not an object id")))?;
        let commit = self.inner.find_commit(oid).map_err(git_err)?;
        let decoded = commit.decode().map_err(git_err)?;
        let parents = decoded.parents().map(|p| p.to_string()).collect();
        let tree = decoded.tree().to_string();
        let committer_time = decoded
            .committer()
            .ok()
            .and_then(|c| c.time().ok())
            .map_or(0, |t| t.seconds);
        let signatures = decoded
            .extra_headers
            .iter()
            .filter(|(k, _)| &k[..] == b"gpgsig" || &k[..] == b"gpgsig-sha256")
            .count();
        Ok(CommitInfo {
            id: id.to_owned(),
            parents,
            tree,
            committer_time,
            signed: signatures > 0,
            duplicate_signature: signatures > 1,
        })
    }

    /// `(armoured signature, signed payload)` of a commit, or `None`.
    pub fn commit_signature(&self, id: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let oid = ObjectId::from_hex(id.as_bytes())
            .map_err(|_| Error::Git(format!("`{id}` is not an object id")))?;
        let commit = self.inner.find_commit(oid).map_err(git_err)?;
        Ok(commit
            .signature()
            .map_err(git_err)?
            .map(|(sig, signed)| (sig.to_vec(), signed.to_bstring().to_vec())))
    }

    /// Read each commit's signature and apply `f` to it, on every core; each
    /// signature is dropped once `f` has seen it.
    pub fn map_signatures<T: Send>(
        &self,
        ids: &[&str],
        f: impl Fn(&str, Option<(Vec<u8>, Vec<u8>)>) -> T + Sync,
    ) -> Vec<(String, T)> {
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, 16);
        let chunk = ids.len().div_ceil(threads).max(1);
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .chunks(chunk)
                .map(|part| {
                    let repo = Repo {
                        inner: self.inner.clone(),
                        root: self.root().to_path_buf(),
                    };
                    s.spawn(move || {
                        part.iter()
                            .map(|id| {
                                (
                                    id.to_string(),
                                    f(id, repo.commit_signature(id).ok().flatten()),
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }

    /// Parse a tag object: its signature is the armoured block at the end of the message.
    pub fn tag_info(&self, id: &str) -> Result<TagInfo> {
        let oid = ObjectId::from_hex(id.as_bytes())
            .map_err(|_| Error::Git(format!("`{id}` is not an object id")))?;
        let obj = self.inner.find_object(oid).map_err(git_err)?;
        let data = obj.data.clone();
        let tag = obj.try_into_tag().map_err(git_err)?;
        let decoded = tag.decode().map_err(git_err)?;
        let name = decoded.name.to_string();
        let tagger_time = decoded
            .tagger()
            .ok()
            .flatten()
            .and_then(|t| t.time().ok())
            .map_or(0, |t| t.seconds);
        let target = self.resolve_commit(&decoded.target().to_string())?;
        let signature = split_tag_signature(&data);
        Ok(TagInfo {
            id: id.to_owned(),
            name,
            target,
            tagger_time,
            signature,
        })
    }
}

/// `(signature, payload)` of a tag object: the payload is everything before the
/// last line that starts an armoured signature block.
pub fn split_tag_signature(data: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    const ARMORS: &[&[u8]] = &[
        b"-----BEGIN SIGNED MESSAGE-----",
        b"-----BEGIN SSH SIGNATURE-----",
        b"-----BEGIN PGP SIGNATURE-----",
    ];
    let mut at = None;
    let mut offset = 0;
    for line in data.split_inclusive(|b| *b == b'\n') {
        if ARMORS.iter().any(|a| line.starts_with(a)) {
            at = Some(offset);
        }
        offset += line.len();
    }
    let at = at?;
    Some((data[at..].to_vec(), data[..at].to_vec()))
}

/// `(signature, payload)` of a raw commit object, as git hands them to a
/// verifier: the `gpgsig` header (continuation lines unindented) and the
/// object without it. `None` when unsigned.
pub fn split_commit_signature(raw: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (mut sig, mut payload) = (Vec::new(), Vec::new());
    let mut in_sig = false;
    let mut in_header = true;
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if in_header && line == b"\n" {
            in_header = false;
        }
        if in_header && (line.starts_with(b"gpgsig ") || line.starts_with(b"gpgsig-sha256 ")) {
            in_sig = true;
            let at = line.iter().position(|b| *b == b' ').map_or(0, |i| i + 1);
            sig.extend_from_slice(&line[at..]);
        } else if in_sig && in_header && line.starts_with(b" ") {
            sig.extend_from_slice(&line[1..]);
        } else {
            in_sig = false;
            payload.extend_from_slice(line);
        }
    }
    (!sig.is_empty()).then_some((sig, payload))
}
