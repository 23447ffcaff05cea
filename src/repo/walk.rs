//! History for `verify`: resolve what to verify, walk commits parents
//! first, and hand out each commit's signature and signed payload, read once.

use gix::ObjectId;

use super::{Repo, git_err};
use crate::error::{Error, Result};

/// Object-id keyed maps and sets, hashed by the id's own bytes (already uniform).
pub type IdMap<V> = gix::hashtable::HashMap<ObjectId, V>;
pub type IdSet = gix::hashtable::HashSet<ObjectId>;

/// One commit as verification needs it: everything here follows from the
/// commit's content, so it may be cached under its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: ObjectId,
    pub parents: Vec<ObjectId>,
    pub tree: ObjectId,
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
    pub id: ObjectId,
    pub name: String,
    /// The commit the tag (eventually) points at.
    pub target: ObjectId,
    /// What the tag names directly, when that is another tag object (a
    /// tag of a tag).
    pub inner_tag: Option<ObjectId>,
    pub tagger_time: i64,
    pub signature: Option<(Vec<u8>, Vec<u8>)>,
}

/// What a verification range names.
#[derive(Debug, Clone)]
pub struct Tip {
    /// The full ref name, when the spec named a ref (`refs/heads/main`).
    pub refname: Option<String>,
    pub commit: ObjectId,
    /// The tag object, when the ref is an annotated tag.
    pub tag: Option<String>,
}

impl Repo {
    /// Resolve `spec` (a ref, a commit, or `A..B`) to its tip and, for `A..B`, the excluded base.
    pub fn resolve_spec(&self, spec: &str) -> Result<(Tip, Option<ObjectId>)> {
        if let Some((a, b)) = spec.split_once("..") {
            let a = if a.is_empty() { "HEAD" } else { a };
            let base_ref = self.full_ref_name(a)?;
            let base = self.resolve_commit_id(base_ref.as_deref().unwrap_or(a))?;
            let (tip, _) = self.resolve_spec(if b.is_empty() { "HEAD" } else { b })?;
            return Ok((tip, Some(base)));
        }
        let refname = self.full_ref_name(spec)?;
        // by the ref found, so the commit and the ref name cannot disagree
        let commit = match &refname {
            Some(r) if spec != "HEAD" => self.resolve_commit_id(r)?,
            _ => self.resolve_commit_id(spec)?,
        };
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

    /// The full name of the ref a spec names, if it names one. A short name
    /// that more than one ref answers to (a branch and a tag `main`) is
    /// refused: a verdict must not depend on which one git's order picks.
    fn full_ref_name(&self, spec: &str) -> Result<Option<String>> {
        if spec == "HEAD" {
            return Ok(self.current_branch());
        }
        if !spec.starts_with("refs/") {
            let found: Vec<String> = [
                format!("refs/{spec}"),
                format!("refs/tags/{spec}"),
                format!("refs/heads/{spec}"),
                format!("refs/remotes/{spec}"),
                format!("refs/remotes/{spec}/HEAD"),
            ]
            .into_iter()
            .filter(|name| {
                self.inner
                    .try_find_reference(name.as_str())
                    .ok()
                    .flatten()
                    .is_some()
            })
            .collect();
            if found.len() > 1 {
                return Err(Error::Git(format!(
                    "`{spec}` is ambiguous: it names {}; give the full ref name",
                    found.join(" and ")
                )));
            }
        }
        let Some(r) = self.inner.try_find_reference(spec).ok().flatten() else {
            return Ok(None);
        };
        Ok(Some(r.name().as_bstr().to_string()))
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

    /// Every commit reachable from `tips` but not from `hide`, parents
    /// before children. `known` answers for commits already read (from an
    /// authenticated cache), so a warm walk reads no object.
    pub fn commits_parents_first(
        &self,
        tips: &[ObjectId],
        hide: &[ObjectId],
        known: &dyn Fn(&ObjectId) -> Option<CommitInfo>,
    ) -> Result<Vec<CommitInfo>> {
        self.commits_parents_first_with(tips, hide, known, &|_| None, &|_, _| {})
            .map(|(walked, _)| walked)
    }

    /// [`Repo::commits_parents_first`], handing each commit read from the
    /// object database (not `known`) to `fresh` with its raw bytes, as it
    /// is read: the caller can check signatures while the walk goes on.
    ///
    /// Also returns the commits found reachable from `hide`: every parent
    /// of a returned commit that is not itself returned is among them. With
    /// generation numbers for the commits near the tips (`generation`,
    /// from an authenticated cache), only that neighbourhood of `hide`'s
    /// history is painted; without, all of it.
    pub fn commits_parents_first_with(
        &self,
        tips: &[ObjectId],
        hide: &[ObjectId],
        known: &dyn Fn(&ObjectId) -> Option<CommitInfo>,
        generation: &dyn Fn(&ObjectId) -> Option<u32>,
        fresh: &dyn Fn(&CommitInfo, &[u8]),
    ) -> Result<(Vec<CommitInfo>, IdSet)> {
        let hidden = match self.hidden_by_generation(tips, hide, known, generation)? {
            Some(h) => h,
            None => self.ancestors(hide, known)?,
        };
        let mut infos: Vec<CommitInfo> = Vec::new();
        let mut index: IdMap<u32> = IdMap::default();
        let mut stack: Vec<ObjectId> = tips
            .iter()
            .filter(|t| !hidden.contains(*t))
            .copied()
            .collect();
        let mut buf = Vec::new();
        while let Some(id) = stack.pop() {
            if index.contains_key(&id) || hidden.contains(&id) {
                continue;
            }
            let info = match known(&id) {
                Some(i) => i,
                None => {
                    let info = self.read_commit(id, &mut buf)?;
                    fresh(&info, &buf);
                    info
                }
            };
            for p in &info.parents {
                if !index.contains_key(p) && !hidden.contains(p) {
                    stack.push(*p);
                }
            }
            index.insert(id, infos.len() as u32);
            infos.push(info);
        }
        // Kahn's algorithm: a commit comes after all of its parents in the
        // set; among the ready ones the oldest (then the smallest id) first,
        // so the order is the same on every run. Edges as index arrays: a
        // long history costs a few bytes per commit here.
        let n = infos.len();
        let mut pending = vec![0u32; n];
        let mut edges: Vec<(u32, u32)> = Vec::with_capacity(n);
        for (child, info) in infos.iter().enumerate() {
            for p in &info.parents {
                if let Some(&parent) = index.get(p) {
                    pending[child] += 1;
                    edges.push((parent, child as u32));
                }
            }
        }
        drop(index);
        edges.sort_unstable();
        let mut first_edge = vec![0u32; n + 1];
        for (parent, _) in &edges {
            first_edge[*parent as usize + 1] += 1;
        }
        for i in 0..n {
            first_edge[i + 1] += first_edge[i];
        }
        let key = |i: u32| (infos[i as usize].committer_time, infos[i as usize].id, i);
        let mut ready: std::collections::BTreeSet<(i64, ObjectId, u32)> = (0..n as u32)
            .filter(|i| pending[*i as usize] == 0)
            .map(key)
            .collect();
        let mut rank = vec![0u32; n];
        let mut next = 0u32;
        while let Some((_, _, i)) = ready.pop_first() {
            rank[i as usize] = next;
            next += 1;
            let (from, to) = (first_edge[i as usize], first_edge[i as usize + 1]);
            for (_, child) in &edges[from as usize..to as usize] {
                let c = *child as usize;
                pending[c] -= 1;
                if pending[c] == 0 {
                    ready.insert(key(*child));
                }
            }
        }
        // every commit is ranked (parents inside the set form no cycle):
        // put each in its place, in place
        for i in 0..n {
            while rank[i] as usize != i {
                let r = rank[i] as usize;
                infos.swap(i, r);
                rank.swap(i, r);
            }
        }
        Ok((infos, hidden))
    }

    /// The commits reachable from `hide` that a walk from `tips` meets,
    /// found by painting both histories at once, highest generation first,
    /// until no commit in the queue is reached from `tips` alone: a commit
    /// reachable from `hide` has a path from it of higher generations, all
    /// painted before the commit itself is taken. Commits the cache does
    /// not number (new ones) are numbered from their parents, reading at
    /// most [`GENERATION_BUDGET`] of them. `None` when that is not enough,
    /// or a number does not rise from parent to child (the caller paints
    /// all of `hide`'s history instead).
    fn hidden_by_generation(
        &self,
        tips: &[ObjectId],
        hide: &[ObjectId],
        known: &dyn Fn(&ObjectId) -> Option<CommitInfo>,
        generation: &dyn Fn(&ObjectId) -> Option<u32>,
    ) -> Result<Option<IdSet>> {
        const TIP: u8 = 1;
        const HIDDEN: u8 = 2;
        if hide.is_empty() {
            return Ok(Some(IdSet::default()));
        }
        let mut numbers = Generations {
            repo: self,
            known,
            cached: generation,
            memo: IdMap::default(),
            budget: GENERATION_BUDGET,
        };
        let mut flags: IdMap<u8> = IdMap::default();
        let mut queue: std::collections::BinaryHeap<(u32, ObjectId)> = Default::default();
        // commits in the queue reached from `tips` alone
        let mut open: IdSet = IdSet::default();
        for (ids, flag) in [(tips, TIP), (hide, HIDDEN)] {
            for id in ids {
                let Some(g) = numbers.of(id)? else {
                    return Ok(None);
                };
                let f = flags.entry(*id).or_insert(0);
                *f |= flag;
                queue.push((g, *id));
            }
        }
        for (id, f) in &flags {
            if *f == TIP {
                open.insert(*id);
            }
        }
        let mut done: IdMap<u8> = IdMap::default();
        while !open.is_empty() {
            let Some((g, id)) = queue.pop() else { break };
            let f = flags.get(&id).copied().unwrap_or(0);
            if done.get(&id) == Some(&f) {
                continue;
            }
            done.insert(id, f);
            open.remove(&id);
            let parents = match known(&id) {
                Some(c) => c.parents,
                None => numbers.parents(&id)?,
            };
            for p in parents {
                let Some(pg) = numbers.of(&p)? else {
                    return Ok(None);
                };
                if pg >= g {
                    return Ok(None);
                }
                let pf = flags.entry(p).or_insert(0);
                let merged = *pf | f;
                if merged != *pf {
                    *pf = merged;
                    if merged == TIP {
                        open.insert(p);
                    } else {
                        open.remove(&p);
                    }
                    queue.push((pg, p));
                }
            }
        }
        Ok(Some(
            flags
                .into_iter()
                .filter(|(_, f)| f & HIDDEN != 0)
                .map(|(id, _)| id)
                .collect(),
        ))
    }

    /// Every commit reachable from `from` (inclusive).
    pub fn ancestors(
        &self,
        from: &[ObjectId],
        known: &dyn Fn(&ObjectId) -> Option<CommitInfo>,
    ) -> Result<IdSet> {
        let mut seen = IdSet::default();
        let mut stack: Vec<ObjectId> = from.to_vec();
        let mut buf = Vec::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            match known(&id) {
                Some(i) => stack.extend(i.parents),
                None => {
                    use gix::objs::FindExt;
                    let iter = self
                        .inner
                        .objects
                        .find_commit_iter(&id, &mut buf)
                        .map_err(git_err)?;
                    stack.extend(iter.parent_ids());
                }
            }
        }
        Ok(seen)
    }

    /// Parse one commit.
    pub fn commit_info(&self, id: &ObjectId) -> Result<CommitInfo> {
        self.read_commit(*id, &mut Vec::new())
    }

    fn read_commit(&self, id: ObjectId, buf: &mut Vec<u8>) -> Result<CommitInfo> {
        use gix::objs::FindExt;
        use gix::objs::commit::ref_iter::Token;
        let iter = self
            .inner
            .objects
            .find_commit_iter(&id, buf)
            .map_err(git_err)?;
        let mut info = CommitInfo {
            id,
            parents: Vec::new(),
            tree: ObjectId::null(id.kind()),
            committer_time: 0,
            signed: false,
            duplicate_signature: false,
        };
        for token in iter {
            match token.map_err(git_err)? {
                Token::Tree { id } => info.tree = id,
                Token::Parent { id } => info.parents.push(id),
                Token::Committer { signature } => {
                    info.committer_time = signature.time().map_or(0, |t| t.seconds);
                }
                // git reads only the header of the repository's object
                // format: `gpgsig-sha256` in a SHA-1 repository is no signature
                Token::ExtraHeader((k, _)) if k == signature_header(id.kind()) => {
                    info.duplicate_signature = info.signed;
                    info.signed = true;
                }
                Token::Message(_) => break,
                _ => {}
            }
        }
        Ok(info)
    }

    /// `(armoured signature, signed payload)` of a commit, or `None`.
    pub fn commit_signature(&self, id: &ObjectId) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let commit = self.inner.find_commit(*id).map_err(git_err)?;
        Ok(commit
            .signature()
            .map_err(git_err)?
            .map(|(sig, signed)| (sig.to_vec(), signed.to_bstring().to_vec())))
    }

    /// Apply `f` to every item on every core, each thread with its own
    /// handle on the repository; results in the order of `items`.
    pub fn par_map<I: Sync, T: Send>(
        &self,
        items: &[I],
        f: impl Fn(&Repo, &I) -> T + Sync,
    ) -> Vec<T> {
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, 16);
        if items.len() < 64 || threads == 1 {
            return items.iter().map(|i| f(self, i)).collect();
        }
        let chunk = items.len().div_ceil(threads).max(1);
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|part| {
                    let repo = Repo {
                        inner: self.inner.clone(),
                        root: self.root().to_path_buf(),
                    };
                    s.spawn(move || part.iter().map(|i| f(&repo, i)).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    }

    /// Peel `id` through a chain of tag objects (at most 16): the tags met,
    /// outermost first, and what the chain ends at (a commit, or anything
    /// else for the caller to refuse).
    pub fn peel_tags(&self, mut id: ObjectId) -> (Vec<ObjectId>, ObjectId) {
        let mut tags = Vec::new();
        while tags.len() < 16 {
            let Ok(t) = self.tag_info(&id.to_string()) else {
                break;
            };
            tags.push(id);
            match t.inner_tag {
                Some(inner) => id = inner,
                None => {
                    id = t.target;
                    break;
                }
            }
        }
        (tags, id)
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
        let target = self.resolve_commit_id(&decoded.target().to_string())?;
        let inner_tag = (decoded.target_kind == gix::object::Kind::Tag).then(|| decoded.target());
        let signature = split_tag_signature(&data);
        Ok(TagInfo {
            id: oid,
            name,
            target,
            inner_tag,
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

/// A commit object as git writes it when signing `payload`: the signature
/// as a `gpgsig` header (continuation lines indented by one space) after
/// the other headers (git's `add_header_signature`). The inverse of
/// [`split_commit_signature`].
pub fn insert_signature_header(payload: &[u8], signature: &[u8]) -> Vec<u8> {
    let at = payload
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(payload.len(), |i| i + 1);
    let mut out = Vec::with_capacity(payload.len() + signature.len() + 64);
    out.extend_from_slice(&payload[..at]);
    for (n, line) in signature.split_inclusive(|b| *b == b'\n').enumerate() {
        if n == 0 {
            out.extend_from_slice(b"gpgsig");
        }
        out.push(b' ');
        out.extend_from_slice(line);
    }
    out.extend_from_slice(&payload[at..]);
    out
}

/// The commit header git reads a signature from, for an object format.
pub fn signature_header(kind: gix::hash::Kind) -> &'static str {
    match kind {
        gix::hash::Kind::Sha1 => "gpgsig",
        _ => "gpgsig-sha256",
    }
}

/// `(signature, payload)` of a raw commit object in a SHA-1 repository, as
/// git hands them to a verifier: the `gpgsig` header (continuation lines
/// unindented) and the object without it (a `gpgsig-sha256` header stays in
/// the payload, as git leaves it). `None` when unsigned.
pub fn split_commit_signature(raw: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (mut sig, mut payload) = (Vec::new(), Vec::new());
    let mut in_sig = false;
    let mut in_header = true;
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if in_header && line == b"\n" {
            in_header = false;
        }
        if in_header && line.starts_with(b"gpgsig ") {
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

/// How many commits without a cached generation number a range walk numbers
/// by reading them before it paints all of the base's history instead.
pub const GENERATION_BUDGET: usize = 10_000;

/// Generation numbers: 1 for a commit without parents, else one more than
/// its parents' largest; from the cache where it has them, else computed.
pub struct Generations<'a> {
    pub repo: &'a Repo,
    pub known: &'a dyn Fn(&ObjectId) -> Option<CommitInfo>,
    pub cached: &'a dyn Fn(&ObjectId) -> Option<u32>,
    pub memo: IdMap<u32>,
    /// commits that may still be read to number them
    pub budget: usize,
}

impl Generations<'_> {
    fn parents(&self, id: &ObjectId) -> Result<Vec<ObjectId>> {
        match (self.known)(id) {
            Some(c) => Ok(c.parents),
            None => Ok(self.repo.commit_info(id)?.parents),
        }
    }

    /// `id`'s number; `None` when the budget runs out first.
    pub fn of(&mut self, id: &ObjectId) -> Result<Option<u32>> {
        if let Some(g) = self.memo.get(id).copied().or_else(|| (self.cached)(id)) {
            return Ok(Some(g));
        }
        // parents first, without recursion (a long line of new commits)
        let mut stack: Vec<(ObjectId, Option<Vec<ObjectId>>)> = vec![(*id, None)];
        while let Some((c, parents)) = stack.pop() {
            if self.memo.contains_key(&c) {
                continue;
            }
            let parents = match parents {
                Some(p) => p,
                None => {
                    if self.budget == 0 {
                        return Ok(None);
                    }
                    self.budget -= 1;
                    self.parents(&c)?
                }
            };
            let mut max = 0u32;
            let mut missing = Vec::new();
            for p in &parents {
                match self.memo.get(p).copied().or_else(|| (self.cached)(p)) {
                    Some(g) => max = max.max(g),
                    None => missing.push(*p),
                }
            }
            if missing.is_empty() {
                self.memo.insert(c, max.saturating_add(1));
            } else {
                stack.push((c, Some(parents)));
                stack.extend(missing.into_iter().map(|p| (p, None)));
            }
        }
        Ok(self.memo.get(id).copied())
    }
}
