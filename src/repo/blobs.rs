//! File contents for shadow-key scans: the tracked files now, and every
//! distinct blob ever committed (each read once).

use std::collections::HashSet;
use std::io::Read;

use gix::ObjectId;
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

    /// Visit every distinct blob reachable from any ref, oldest commit first,
    /// with the first commit and path it appears at. Each distinct tree and
    /// blob is read once.
    pub fn history_blobs(
        &self,
        mut visit: impl FnMut(ObjectId, &str, ObjectId, &[u8]),
    ) -> Result<HistoryStats> {
        let repo = &self.inner;
        let mut tips = Vec::new();
        let refs = repo.references().map_err(git_err)?;
        for r in refs.all().map_err(git_err)? {
            let Ok(mut r) = r else { continue };
            let Ok(id) = r.peel_to_id() else { continue };
            let Ok(obj) = repo.find_object(id) else {
                continue;
            };
            if let Ok(c) = obj.peel_to_kind(gix::object::Kind::Commit) {
                tips.push(c.id);
            }
        }
        if let Ok(head) = repo.head_id() {
            tips.push(head.detach());
        }
        tips.sort();
        tips.dedup();
        let mut commits = Vec::new();
        if !tips.is_empty() {
            for info in repo.rev_walk(tips).all().map_err(git_err)? {
                commits.push(info.map_err(git_err)?.id);
            }
        }
        commits.reverse();

        let mut stats = HistoryStats {
            commits: commits.len(),
            ..HistoryStats::default()
        };
        let mut seen_trees: HashSet<ObjectId> = HashSet::new();
        let mut seen_blobs: HashSet<ObjectId> = HashSet::new();
        let mut stack: Vec<(ObjectId, String)> = Vec::new();
        for commit in commits {
            let tree = {
                let c = repo.find_commit(commit).map_err(git_err)?;
                c.tree_id().map_err(git_err)?.detach()
            };
            stack.push((tree, String::new()));
            while let Some((tree, prefix)) = stack.pop() {
                if !seen_trees.insert(tree) {
                    continue;
                }
                stats.trees += 1;
                let data = repo.find_object(tree).map_err(git_err)?.detach().data;
                for entry in gix::objs::TreeRefIter::from_bytes(&data, repo.object_hash()) {
                    let entry = entry.map_err(git_err)?;
                    let name = entry.filename.to_string();
                    let path = if prefix.is_empty() {
                        name
                    } else {
                        format!("{prefix}/{name}")
                    };
                    match entry.mode.kind() {
                        EntryKind::Tree => stack.push((entry.oid.to_owned(), path)),
                        EntryKind::Blob | EntryKind::BlobExecutable => {
                            let id = entry.oid.to_owned();
                            if !seen_blobs.insert(id) {
                                continue;
                            }
                            stats.blobs += 1;
                            let obj = repo.find_object(id).map_err(git_err)?;
                            let data = &obj.data[..obj.data.len().min(MAX_SCAN_BYTES as usize)];
                            visit(commit, &path, id, data);
                        }
                        EntryKind::Link | EntryKind::Commit => {}
                    }
                }
            }
        }
        Ok(stats)
    }
}

/// What a history scan read.
#[derive(Debug, Default, Clone, Copy)]
pub struct HistoryStats {
    pub commits: usize,
    pub trees: usize,
    pub blobs: usize,
}

fn read_capped(path: &std::path::Path) -> Option<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut data = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_SCAN_BYTES)
        .read_to_end(&mut data)
        .ok()?;
    Some(data)
}

fn capped(mut data: Vec<u8>) -> Vec<u8> {
    data.truncate(MAX_SCAN_BYTES as usize);
    data
}
