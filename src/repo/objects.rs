//! Reading files at HEAD, resolving revisions and refs, writing tag objects.

use gix::refs::transaction::PreviousValue;

use super::{Repo, git_err};
use crate::error::{Error, Result};

impl Repo {
    /// The blob at `path` in HEAD's tree: `(blob id, bytes)`; `None` on an
    /// unborn branch or when HEAD has no such file.
    pub fn file_at_head(&self, path: &str) -> Result<Option<(String, Vec<u8>)>> {
        let Ok(tree) = self.inner.head_tree() else {
            return Ok(None);
        };
        let Some(entry) = tree.lookup_entry_by_path(path).map_err(git_err)? else {
            return Ok(None);
        };
        if entry.mode().is_link() {
            return Err(Error::Git(format!(
                "`{path}` is a symbolic link in HEAD's tree: sigctl reads the policy and the files it names only as regular files"
            )));
        }
        if !entry.mode().is_blob() {
            return Ok(None);
        }
        let id = entry.object_id();
        match self.blob_within(&id, crate::files::TRUST_FILE.limit)? {
            Some(data) => Ok(Some((id.to_string(), data))),
            None => Err(Error::Git(format!(
                "`{path}` in HEAD's tree is larger than {} bytes: not a policy or trust file",
                crate::files::TRUST_FILE.limit
            ))),
        }
    }

    /// The full name of the branch HEAD points at (`refs/heads/main`), if any.
    pub fn current_branch(&self) -> Option<String> {
        self.inner
            .head_name()
            .ok()
            .flatten()
            .map(|n| n.as_bstr().to_string())
    }

    /// The commit a revision names.
    pub fn resolve_commit(&self, rev: &str) -> Result<String> {
        self.resolve_commit_id(rev).map(|id| id.to_string())
    }

    /// The object a revision names, not peeled (a tag name: the tag object).
    pub fn resolve_object(&self, rev: &str) -> Result<gix::ObjectId> {
        self.inner
            .rev_parse_single(rev)
            .map(|id| id.detach())
            .map_err(|e| Error::Git(format!("cannot resolve `{rev}`: {e}")))
    }

    /// [`Repo::resolve_commit`], as an object id.
    pub fn resolve_commit_id(&self, rev: &str) -> Result<gix::ObjectId> {
        let id = self
            .inner
            .rev_parse_single(rev)
            .map_err(|e| Error::Git(format!("cannot resolve `{rev}`: {e}")))?;
        let obj = id.object().map_err(git_err)?;
        let commit = obj
            .peel_to_kind(gix::object::Kind::Commit)
            .map_err(|_| Error::Git(format!("`{rev}` is not a commit")))?;
        Ok(commit.id)
    }

    /// Whether a reference exists.
    pub fn ref_exists(&self, name: &str) -> Result<bool> {
        Ok(self
            .inner
            .try_find_reference(name)
            .map_err(git_err)?
            .is_some())
    }

    /// Write a tag object into the object database (no ref names it yet).
    pub fn write_tag_object(&self, object: &[u8]) -> Result<String> {
        use gix::objs::Write;
        let id = self
            .inner
            .objects
            .write_buf(gix::object::Kind::Tag, object)
            .map_err(git_err)?;
        Ok(id.to_string())
    }

    /// Create `refs/tags/<name>` for `id`, only if the ref does not exist
    /// (compare-and-swap): never moves a tag.
    pub fn create_tag_ref(&self, name: &str, id: &str) -> Result<()> {
        let oid = gix::ObjectId::from_hex(id.as_bytes()).map_err(git_err)?;
        self.inner
            .reference(
                format!("refs/tags/{name}").as_str(),
                oid,
                PreviousValue::MustNotExist,
                format!("sigctl: signed tag {name}"),
            )
            .map_err(|e| Error::Git(format!("cannot create refs/tags/{name}: {e}")))?;
        Ok(())
    }
}

impl Repo {
    /// The id git gives a commit (`tag == false`) or tag object of these bytes.
    pub fn object_id_of(&self, tag: bool, data: &[u8]) -> Result<gix::ObjectId> {
        let kind = if tag {
            gix::object::Kind::Tag
        } else {
            gix::object::Kind::Commit
        };
        gix::objs::compute_hash(self.inner.object_hash(), kind, data).map_err(git_err)
    }

    /// Delete `name` if it still points at `id` (undo of a ref just made).
    pub fn delete_ref_if(&self, name: &str, id: &str) -> Result<()> {
        use gix::refs::transaction::{Change, PreviousValue, RefEdit, RefLog};
        let oid = gix::ObjectId::from_hex(id.as_bytes()).map_err(git_err)?;
        let edit = RefEdit {
            change: Change::Delete {
                expected: PreviousValue::MustExistAndMatch(gix::refs::Target::Object(oid)),
                log: RefLog::AndReference,
            },
            name: gix::refs::FullName::try_from(name).map_err(git_err)?,
            deref: false,
        };
        self.inner
            .edit_references([edit])
            .map(|_| ())
            .map_err(|e| Error::Git(format!("cannot remove {name}: {e:#}")))
    }

    /// Whether the object database holds `id`.
    pub fn has_object(&self, id: &gix::ObjectId) -> bool {
        self.inner.has_object(id)
    }

    /// Refuse a ref name git would refuse.
    pub fn validate_ref_name(&self, name: &str) -> Result<()> {
        gix::refs::FullName::try_from(name)
            .map(|_| ())
            .map_err(|e| Error::Git(format!("`{name}` is not a valid ref name: {e}")))
    }
}

impl Repo {
    /// The id of the blob at `path` in `tree`.
    pub fn blob_in_tree(&self, tree: &gix::ObjectId, path: &str) -> Result<Option<gix::ObjectId>> {
        let Ok(tree) = self.inner.find_tree(*tree) else {
            return Ok(None);
        };
        let Some(entry) = tree.lookup_entry_by_path(path).map_err(git_err)? else {
            return Ok(None);
        };
        Ok(entry.mode().is_blob().then(|| entry.object_id()))
    }

    /// A blob's bytes, by id.
    pub fn blob_by_id(&self, id: &gix::ObjectId) -> Result<Vec<u8>> {
        Ok(self.inner.find_object(*id).map_err(git_err)?.detach().data)
    }

    /// A blob's bytes when it is at most `limit` bytes (its header says so
    /// before anything is inflated); None when it is larger.
    pub fn blob_within(&self, id: &gix::ObjectId, limit: u64) -> Result<Option<Vec<u8>>> {
        let header = self.inner.find_header(*id).map_err(git_err)?;
        if header.size() > limit {
            return Ok(None);
        }
        self.blob_by_id(id).map(Some)
    }
}

impl Repo {
    /// Every regular file staged in the index: `(path, blob id)`.
    pub fn staged_files(&self) -> Result<Vec<(String, gix::ObjectId)>> {
        let index = self.inner.index_or_empty().map_err(git_err)?;
        Ok(index
            .entries()
            .iter()
            .filter(|e| {
                use gix::index::entry::Mode;
                e.mode == Mode::FILE || e.mode == Mode::FILE_EXECUTABLE
            })
            .map(|e| (e.path(&index).to_string(), e.id))
            .collect())
    }

    /// The refs under `prefix` (`refs/remotes/origin/`), peeled to commits.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, gix::ObjectId)>> {
        let refs = self.inner.references().map_err(git_err)?;
        let mut out = Vec::new();
        for r in refs.prefixed(prefix).map_err(git_err)? {
            let Ok(mut r) = r else { continue };
            let name = r.name().as_bstr().to_string();
            if let Ok(id) = r.peel_to_id() {
                out.push((name, id.detach()));
            }
        }
        Ok(out)
    }

    /// Where git runs this repository's hooks: `core.hooksPath` (relative
    /// to the work tree's root), else the hooks directory of the git dir.
    pub fn hooks_dir(&self) -> std::path::PathBuf {
        match self
            .config_string("core.hooksPath")
            .filter(|p| !p.is_empty())
        {
            Some(p) => {
                let p = std::path::PathBuf::from(p);
                if p.is_absolute() {
                    p
                } else {
                    self.root().join(p)
                }
            }
            None => self.common_dir().join("hooks"),
        }
    }
}

impl Repo {
    /// Every blob id in `tree`, all the way down (one read per tree).
    pub fn tree_blob_ids(
        &self,
        tree: &gix::ObjectId,
    ) -> Result<std::collections::HashSet<gix::ObjectId>> {
        let mut recorder = gix::traverse::tree::Recorder::default();
        self.inner
            .find_tree(*tree)
            .map_err(git_err)?
            .traverse()
            .breadthfirst(&mut recorder)
            .map_err(git_err)?;
        Ok(recorder
            .records
            .into_iter()
            .filter(|e| e.mode.is_blob())
            .map(|e| e.oid)
            .collect())
    }

    /// Every regular file in `tree`, all the way down, as (path, blob id):
    /// symbolic links and submodules are not files.
    pub fn tree_files(&self, tree: &gix::ObjectId) -> Result<Vec<(String, gix::ObjectId)>> {
        let mut recorder = gix::traverse::tree::Recorder::default();
        self.inner
            .find_tree(*tree)
            .map_err(git_err)?
            .traverse()
            .breadthfirst(&mut recorder)
            .map_err(git_err)?;
        Ok(recorder
            .records
            .into_iter()
            .filter(|e| e.mode.is_blob())
            .map(|e| (e.filepath.to_string(), e.oid))
            .collect())
    }
}
