//! File contents for shadow-key scans: the tracked files now, and every
//! distinct blob ever committed (each read once).

use std::collections::{HashMap, HashSet};
use std::io::Read;

use gix::ObjectId;
use gix::objs::FindExt;
use gix::objs::tree::EntryKind;

use super::{Repo, git_err};
use crate::error::Result;

/// Larger files are scanned only up to this many bytes: key material sits in small text files.
pub const MAX_SCAN_BYTES: u64 = 64 * 1024 * 1024;

/// One tracked file's content, as the work tree has it (or the index, when
/// the file is absent from the work tree).
pub struct TrackedFile {
    pub path: String,
    pub blob: ObjectId,
    pub data: Vec<u8>,
}

impl Repo {
    /// Every regular file in the index, with its content. Symlinks and submodules are skipped.
    pub fn tracked_files(&self) -> Result<Vec<TrackedFile>> {
        let index = self.inner.index_or_empty().map_err(git_err)?;
        let mut out = Vec::new();
        for entry in index.entries() {
            use gix::index::entry::Mode;
            if !(entry.mode == Mode::FILE || entry.mode == Mode::FILE_EXECUTABLE) {
                continue;
            }
            let path = entry.path(&index).to_string();
            let on_disk = self.root().join(&path);
            let data = match read_capped(&on_disk) {
                Some(d) => d,
                None => match self.inner.find_object(entry.id) {
                    Ok(o) => capped(o.detach().data),
                    Err(_) => continue,
                },
            };
            out.push(TrackedFile {
                path,
                blob: entry.id,
                data,
            });
        }
        Ok(out)
    }

    /// Scan every distinct blob in the object database (each read once, on
    /// every core) with `scan`, returning the blobs for which it found
    /// something. Commits and trees are not read: their headers say they are
    /// not blobs. Use [`Repo::locate_blobs`] to say where the found ones are.
    pub fn scan_all_blobs<T: Send>(
        &self,
        scan: impl Fn(&[u8]) -> Vec<T> + Sync,
    ) -> Result<(Found<T>, HistoryStats)> {
        let (ids, objects) = self.blob_candidates()?;
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, 8);
        let chunk = ids.len().div_ceil(threads).max(1);
        let scan = &scan;
        let results: Vec<Result<(Found<T>, usize)>> = std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .chunks(chunk)
                .map(|part| {
                    let mut repo = self.inner.clone();
                    // blobs come in pack order: keep the last ones decoded, the next delta's base
                    repo.objects.set_pack_cache(|| {
                        Box::<gix::odb::pack::cache::lru::StaticLinkedList<64>>::default()
                    });
                    s.spawn(move || -> Result<(Found<T>, usize)> {
                        let mut found = Vec::new();
                        let mut blobs = 0;
                        let mut buf = Vec::new();
                        for id in part {
                            blobs += 1;
                            let blob = repo.objects.find_blob(id, &mut buf).map_err(git_err)?;
                            let hits =
                                scan(&blob.data[..blob.data.len().min(MAX_SCAN_BYTES as usize)]);
                            if !hits.is_empty() {
                                found.push((*id, hits));
                            }
                        }
                        Ok((found, blobs))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(git_err("a scanning thread failed")))
                })
                .collect()
        });
        let mut found = Vec::new();
        let mut stats = HistoryStats {
            objects,
            ..HistoryStats::default()
        };
        for r in results {
            let (f, n) = r?;
            found.extend(f);
            stats.blobs += n;
        }
        found.sort_by_key(|(id, _)| *id);
        Ok((found, stats))
    }

    /// Ids of every blob in the object database, and the count of distinct
    /// objects. Packed objects are classified from their entry headers alone,
    /// following delta chains by offset (nothing is inflated); loose objects
    /// and anything a pack cannot place are asked of the object database.
    /// They come in pack order, so that delta bases are read (and cached) before
    /// the deltas built on them.
    fn blob_candidates(&self) -> Result<(Vec<ObjectId>, usize)> {
        use gix::odb::pack;
        use pack::data::entry::Header;
        let hash = self.inner.object_hash();
        let mut blobs: Vec<(usize, u64, ObjectId)> = Vec::new();
        let mut classified: HashSet<ObjectId> = HashSet::new();
        let pack_dir = self.common_dir().join("objects/pack");
        let mut idx_paths: Vec<_> = std::fs::read_dir(&pack_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        idx_paths.sort();
        for (pack_no, idx_path) in idx_paths.into_iter().enumerate() {
            if idx_path.extension().is_none_or(|e| e != "idx") {
                continue;
            }
            let (Ok(idx), Ok(data)) = (
                pack::index::File::at(&idx_path, hash),
                pack::data::File::at(idx_path.with_extension("pack"), hash),
            ) else {
                continue; // the generic path below still reads it
            };
            // kind of the object at each pack offset, memoised along delta chains
            let mut kind_at: HashMap<u64, Option<gix::object::Kind>> = HashMap::new();
            for e in idx.iter() {
                let mut chain = Vec::new();
                let mut offset = e.pack_offset;
                let kind = loop {
                    if let Some(k) = kind_at.get(&offset) {
                        break *k;
                    }
                    chain.push(offset);
                    let Ok(entry) = data.entry(offset) else {
                        break None;
                    };
                    match entry.header {
                        Header::Blob => break Some(gix::object::Kind::Blob),
                        Header::Tree => break Some(gix::object::Kind::Tree),
                        Header::Commit => break Some(gix::object::Kind::Commit),
                        Header::Tag => break Some(gix::object::Kind::Tag),
                        Header::OfsDelta { base_distance } => {
                            match Header::verified_base_pack_offset(offset, base_distance) {
                                Some(base) => offset = base,
                                None => break None,
                            }
                        }
                        Header::RefDelta { base_id } => match idx.lookup(base_id) {
                            Some(i) => offset = idx.pack_offset_at_index(i),
                            None => break None,
                        },
                    }
                    if chain.len() > 10_000 {
                        break None; // a cycle in a corrupt pack
                    }
                };
                for o in chain {
                    kind_at.insert(o, kind);
                }
                if let Some(kind) = kind
                    && classified.insert(e.oid)
                    && kind == gix::object::Kind::Blob
                {
                    blobs.push((pack_no, e.pack_offset, e.oid));
                }
            }
        }
        let mut objects = classified.len();
        for id in self.inner.objects.iter().map_err(git_err)? {
            let Ok(id) = id else { continue };
            if classified.contains(&id) {
                continue;
            }
            classified.insert(id);
            objects += 1;
            if self.inner.find_header(id).map_err(git_err)?.kind() == gix::object::Kind::Blob {
                blobs.push((usize::MAX, 0, id));
            }
        }
        blobs.sort_unstable();
        Ok((blobs.into_iter().map(|(_, _, id)| id).collect(), objects))
    }

    /// The first commit (oldest first) and path at which each of `wanted`
    /// appears in the history reachable from any ref. Blobs no ref reaches
    /// are absent from the answer. Each commit and distinct tree is read once,
    /// and the walk stops when every blob is placed.
    pub fn locate_blobs(
        &self,
        wanted: &HashSet<ObjectId>,
    ) -> Result<HashMap<ObjectId, (ObjectId, String)>> {
        let mut located = HashMap::new();
        if wanted.is_empty() {
            return Ok(located);
        }
        let repo = &self.inner;
        let mut stack: Vec<ObjectId> = Vec::new();
        let refs = repo.references().map_err(git_err)?;
        for r in refs.all().map_err(git_err)? {
            let Ok(mut r) = r else { continue };
            let Ok(id) = r.peel_to_id() else { continue };
            let Ok(obj) = repo.find_object(id) else {
                continue;
            };
            if let Ok(c) = obj.peel_to_kind(gix::object::Kind::Commit) {
                stack.push(c.id);
            }
        }
        if let Ok(head) = repo.head_id() {
            stack.push(head.detach());
        }
        // every reachable commit with its root tree, each decoded once
        let mut seen_commits: HashSet<ObjectId> = HashSet::new();
        let mut commits: Vec<(ObjectId, ObjectId)> = Vec::new();
        let mut buf = Vec::new();
        while let Some(id) = stack.pop() {
            if !seen_commits.insert(id) {
                continue;
            }
            let iter = repo
                .objects
                .find_commit_iter(&id, &mut buf)
                .map_err(git_err)?;
            let mut tree = None;
            for token in iter {
                match token.map_err(git_err)? {
                    gix::objs::commit::ref_iter::Token::Tree { id } => tree = Some(id),
                    gix::objs::commit::ref_iter::Token::Parent { id } => stack.push(id),
                    _ => break,
                }
            }
            if let Some(tree) = tree {
                commits.push((id, tree));
            }
        }
        // oldest first (parents were pushed after children), so a blob is
        // placed at the first commit that holds it
        commits.reverse();
        let mut seen_trees: HashSet<ObjectId> = HashSet::new();
        let mut trees: Vec<(ObjectId, String)> = Vec::new();
        for (commit, tree) in commits {
            trees.push((tree, String::new()));
            while let Some((tree, prefix)) = trees.pop() {
                if !seen_trees.insert(tree) {
                    continue;
                }
                for entry in repo
                    .objects
                    .find_tree_iter(&tree, &mut buf)
                    .map_err(git_err)?
                {
                    let entry = entry.map_err(git_err)?;
                    let kind = entry.mode.kind();
                    let id = entry.oid.to_owned();
                    let path = || {
                        let name = entry.filename.to_string();
                        if prefix.is_empty() {
                            name
                        } else {
                            format!("{prefix}/{name}")
                        }
                    };
                    match kind {
                        EntryKind::Tree => trees.push((id, path())),
                        EntryKind::Blob | EntryKind::BlobExecutable if wanted.contains(&id) => {
                            located.entry(id).or_insert_with(|| (commit, path()));
                        }
                        _ => {}
                    }
                }
            }
            if located.len() == wanted.len() {
                break;
            }
        }
        Ok(located)
    }
}

/// Blobs in which a scan found something, with what it found.
pub type Found<T> = Vec<(ObjectId, Vec<T>)>;

/// What a history scan read.
#[derive(Debug, Default, Clone, Copy)]
pub struct HistoryStats {
    /// Distinct objects in the database.
    pub objects: usize,
    /// Of which blobs, each read once.
    pub blobs: usize,
}

fn read_capped(path: &std::path::Path) -> Option<Vec<u8>> {
    // not a link (it names something else); opened as a regular file only
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let scan = crate::files::Kind {
        what: "file to scan",
        limit: u64::MAX,
    };
    let (file, _) = crate::files::open(path, scan).ok()?;
    let mut data = Vec::new();
    file.take(MAX_SCAN_BYTES).read_to_end(&mut data).ok()?;
    Some(data)
}

fn capped(mut data: Vec<u8>) -> Vec<u8> {
    data.truncate(MAX_SCAN_BYTES as usize);
    data
}
