//! Git notes: read the note on an object, append lines to notes by
//! compare-and-swap of the notes ref (with retry), and read a notes ref's
//! history (which commit added which lines) for audits.

use gix::ObjectId;
use gix::refs::transaction::PreviousValue;

use super::walk::{IdMap, insert_signature_header, split_commit_signature};
use super::{Repo, git_err};
use crate::error::{Error, Result};

/// Attempts before giving up on a notes ref others keep moving.
const MAX_ATTEMPTS: u32 = 200;

/// Who writes a notes commit, and when.
pub struct NotesAuthor<'a> {
    pub name: &'a str,
    pub email: &'a str,
    /// Seconds since the epoch.
    pub time: i64,
}

/// One commit of a notes ref, as an audit needs it.
pub struct NotesCommit {
    pub id: ObjectId,
    pub parents: Vec<ObjectId>,
    /// `(signature, signed payload)`, when signed.
    pub signature: Option<(Vec<u8>, Vec<u8>)>,
    /// Lines this commit added to each note (none for a merge: a merge
    /// vouches for nothing of its own).
    pub added: Vec<(ObjectId, Vec<u8>)>,
}

impl Repo {
    /// The tip commit and tree of a notes ref, if it exists.
    fn notes_tip(&self, notes_ref: &str) -> Result<Option<(ObjectId, ObjectId)>> {
        let Some(mut r) = self.inner.try_find_reference(notes_ref).map_err(git_err)? else {
            return Ok(None);
        };
        let commit = r.peel_to_commit().map_err(git_err)?;
        let tree = commit.tree_id().map_err(git_err)?.detach();
        Ok(Some((commit.id, tree)))
    }

    /// The note attached to `target` under `notes_ref`.
    pub fn note(&self, notes_ref: &str, target: &ObjectId) -> Result<Option<Vec<u8>>> {
        let Some((_, tree)) = self.notes_tip(notes_ref)? else {
            return Ok(None);
        };
        let mut state = gix::note::plumbing::State::new(tree, &self.inner.objects)
            .map_err(|e| Error::Git(format!("{notes_ref}: {e:#}")))?;
        let Some(blob) = state
            .get(target, &self.inner.objects)
            .map_err(|e| Error::Git(format!("{notes_ref}: {e:#}")))?
        else {
            return Ok(None);
        };
        Ok(Some(self.note_blob(&blob)?))
    }

    /// Append `lines` to the note of each target (a line already there is
    /// not repeated) in one notes commit, signed through `sign` (which gets
    /// the commit payload and returns the armoured signature), and move
    /// `notes_ref` to it by compare-and-swap. A writer that lost the race
    /// reads the new tip and tries again, so concurrent appends all land.
    /// On error nothing is changed (a written but unreferenced object at most).
    pub fn append_notes<E: From<Error>>(
        &self,
        notes_ref: &str,
        edits: &[(ObjectId, Vec<u8>)],
        author: &NotesAuthor,
        message: &str,
        sign: &mut dyn FnMut(&[u8]) -> std::result::Result<String, E>,
    ) -> std::result::Result<ObjectId, E> {
        use gix::objs::Write;
        let objects = &self.inner.objects;
        let err = |e: &dyn std::fmt::Display| Error::Git(format!("{notes_ref}: {e:#}"));
        for attempt in 0..MAX_ATTEMPTS {
            let tip = self.notes_tip(notes_ref)?;
            let tree = tip.map_or_else(|| ObjectId::empty_tree(self.inner.object_hash()), |t| t.1);
            let mut state = gix::note::plumbing::State::new(tree, objects).map_err(|e| err(&e))?;
            for (target, lines) in edits {
                let mut data = match state.get(target, objects).map_err(|e| err(&e))? {
                    Some(b) => self.blob_by_id(&b)?,
                    None => Vec::new(),
                };
                let mut changed = false;
                for line in lines.split_inclusive(|b| *b == b'\n') {
                    let line = line.strip_suffix(b"\n").unwrap_or(line);
                    if line.is_empty() || data.split(|b| *b == b'\n').any(|l| l == line) {
                        continue;
                    }
                    if !data.is_empty() && !data.ends_with(b"\n") {
                        data.push(b'\n');
                    }
                    data.extend_from_slice(line);
                    data.push(b'\n');
                    changed = true;
                }
                if changed {
                    let blob = objects
                        .write_buf(gix::object::Kind::Blob, &data)
                        .map_err(|e| err(&e))?;
                    state
                        .edit(*target, Some(blob), objects)
                        .map_err(|e| err(&e))?;
                }
            }
            let new_tree = state.write(objects).map_err(|e| err(&e))?;
            let mut payload = format!("tree {new_tree}\n");
            if let Some((parent, _)) = tip {
                payload.push_str(&format!("parent {parent}\n"));
            }
            let ident = format!("{} <{}> {} +0000", author.name, author.email, author.time);
            payload.push_str(&format!(
                "author {ident}\ncommitter {ident}\n\n{}\n",
                message.trim_end()
            ));
            let signature = sign(payload.as_bytes())?;
            let object = insert_signature_header(payload.as_bytes(), signature.as_bytes());
            let commit = objects
                .write_buf(gix::object::Kind::Commit, &object)
                .map_err(|e| err(&e))?;
            let expected = match tip {
                Some((parent, _)) => {
                    PreviousValue::MustExistAndMatch(gix::refs::Target::Object(parent))
                }
                None => PreviousValue::MustNotExist,
            };
            if self.cas_ref(notes_ref, commit, expected, author)? {
                return Ok(commit);
            }
            // lost the race: back off a little (spread by process and attempt), retry
            let jitter = (u64::from(std::process::id()) * 7 + u64::from(attempt) * 13) % 7 + 1;
            std::thread::sleep(std::time::Duration::from_millis(jitter));
        }
        Err(Error::Git(format!(
            "{notes_ref} kept moving: gave up after {MAX_ATTEMPTS} attempts"
        ))
        .into())
    }

    /// Take back the notes commit `ours` (just made by `append_notes`) when
    /// what it records was not published after all: `notes_ref` goes back
    /// to its parent, only if nobody appended on top of it since. `Ok(false)`:
    /// someone did, and the record stays (it records a signature that was made).
    pub fn retract_notes(
        &self,
        notes_ref: &str,
        ours: ObjectId,
        author: &NotesAuthor,
    ) -> Result<bool> {
        if self.notes_tip(notes_ref)?.map(|t| t.0) != Some(ours) {
            return Ok(false);
        }
        match self.commit_info(&ours)?.parents.first() {
            Some(parent) => self.cas_ref(
                notes_ref,
                *parent,
                PreviousValue::MustExistAndMatch(gix::refs::Target::Object(ours)),
                author,
            ),
            None => self
                .delete_ref_if(notes_ref, &ours.to_string())
                .map(|()| true),
        }
    }

    /// Move `name` to `to` if it still holds what `expected` says. `Ok(false)`:
    /// someone else moved it first.
    fn cas_ref(
        &self,
        name: &str,
        to: ObjectId,
        expected: PreviousValue,
        author: &NotesAuthor,
    ) -> Result<bool> {
        use gix::refs::transaction::{Change, LogChange, RefEdit, RefLog};
        let full = gix::refs::FullName::try_from(name).map_err(git_err)?;
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: "sigctl: provenance".into(),
                },
                expected: expected.clone(),
                new: gix::refs::Target::Object(to),
            },
            name: full,
            deref: false,
        };
        let time = gix::date::Time::new(author.time, 0);
        let mut buf = gix::date::parse::TimeBuf::default();
        let committer = gix::actor::SignatureRef {
            name: author.name.into(),
            email: author.email.into(),
            time: time.to_str(&mut buf),
        };
        match self.inner.edit_references_as([edit], Some(committer)) {
            Ok(_) => Ok(true),
            Err(e) => {
                // did someone else move it? then retry; else a real error
                let now = self.notes_tip(name)?.map(|t| t.0);
                let before = match expected {
                    PreviousValue::MustExistAndMatch(gix::refs::Target::Object(p)) => Some(p),
                    _ => None,
                };
                if now != before {
                    Ok(false)
                } else {
                    Err(Error::Git(format!("cannot update {name}: {e:#}")))
                }
            }
        }
    }

    /// Every note at the tip of `notes_ref`: `(annotated object, note bytes)`.
    pub fn all_notes(&self, notes_ref: &str) -> Result<Vec<(ObjectId, Vec<u8>)>> {
        let Some((_, tree)) = self.notes_tip(notes_ref)? else {
            return Ok(Vec::new());
        };
        let (mut map, mut budget) = (IdMap::default(), MAX_NOTES_ENTRIES);
        self.flatten_notes(tree, String::new(), &mut map, &mut budget)?;
        let mut out = Vec::with_capacity(map.len());
        for (target, blob) in map {
            out.push((target, self.note_blob(&blob)?));
        }
        out.sort_by_key(|(t, _)| *t);
        Ok(out)
    }

    /// Every commit of `notes_ref`'s history, parents first, with the lines
    /// each (non-merge) commit added.
    pub fn notes_history(&self, notes_ref: &str) -> Result<Vec<NotesCommit>> {
        self.notes_history_of(notes_ref, None)
    }

    /// As `notes_history`, or, with `only`, the lines each commit added to
    /// the note of that one object: one note lookup per notes tree (a
    /// commit's parent tree is its parent's tree, looked up once), and a
    /// commit's signature read only where that note changed.
    pub fn notes_history_of(
        &self,
        notes_ref: &str,
        only: Option<&ObjectId>,
    ) -> Result<Vec<NotesCommit>> {
        let Some((tip, _)) = self.notes_tip(notes_ref)? else {
            return Ok(Vec::new());
        };
        let commits = self.commits_parents_first(&[tip], &[], &|_| None)?;
        let tree_of: IdMap<ObjectId> = commits.iter().map(|c| (c.id, c.tree)).collect();
        let mut note_of: IdMap<Option<ObjectId>> = IdMap::default();
        let mut note_in = |tree: ObjectId, target: &ObjectId| -> Result<Option<ObjectId>> {
            if let Some(n) = note_of.get(&tree) {
                return Ok(*n);
            }
            let n = self.note_blob_in(tree, target)?;
            note_of.insert(tree, n);
            Ok(n)
        };
        let mut out = Vec::with_capacity(commits.len());
        let mut buf = Vec::new();
        for c in commits {
            let added = match c.parents.as_slice() {
                // a merge vouches for nothing of its own
                [_, _, ..] => Vec::new(),
                parents => {
                    let parent_tree = match parents.first() {
                        Some(p) => Some(match tree_of.get(p) {
                            Some(t) => *t,
                            None => self.commit_info(p)?.tree,
                        }),
                        None => None,
                    };
                    match only {
                        None => self.note_lines_added(parent_tree, c.tree)?,
                        Some(target) => {
                            let new = note_in(c.tree, target)?;
                            let old = match parent_tree {
                                Some(t) => note_in(t, target)?,
                                None => None,
                            };
                            self.note_lines_added_to(old, new, target)?
                        }
                    }
                }
            };
            let signature = if only.is_some() && added.is_empty() {
                None
            } else {
                use gix::objs::FindExt;
                let _ = self
                    .inner
                    .objects
                    .find_commit_iter(&c.id, &mut buf)
                    .map_err(git_err)?;
                split_commit_signature(&buf)
            };
            out.push(NotesCommit {
                id: c.id,
                parents: c.parents,
                signature,
                added,
            });
        }
        Ok(out)
    }

    /// The blob of the note of `target` in the notes tree `tree`.
    fn note_blob_in(&self, tree: ObjectId, target: &ObjectId) -> Result<Option<ObjectId>> {
        let objects = &self.inner.objects;
        let err = |e: &dyn std::fmt::Display| Error::Git(format!("notes tree {tree}: {e:#}"));
        let mut state = gix::note::plumbing::State::new(tree, objects).map_err(|e| err(&e))?;
        state.get(target, objects).map_err(|e| err(&e))
    }

    /// Lines of the note blob `new` of `target` that `old` lacks.
    fn note_lines_added_to(
        &self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        target: &ObjectId,
    ) -> Result<Vec<(ObjectId, Vec<u8>)>> {
        let Some(blob) = new else {
            return Ok(Vec::new());
        };
        let before = match old {
            Some(b) if b == blob => return Ok(Vec::new()),
            Some(b) => self.note_blob(&b)?,
            None => Vec::new(),
        };
        let before: std::collections::HashSet<&[u8]> = before.split(|b| *b == b'\n').collect();
        let data = self.note_blob(&blob)?;
        let mut out: Vec<(ObjectId, Vec<u8>)> = data
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty() && !before.contains(l))
            .map(|l| (*target, l.to_vec()))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Lines in the notes of `new` that the same note in `old` lacks.
    /// Subtrees both sides share are skipped whole.
    fn note_lines_added(
        &self,
        old: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<Vec<(ObjectId, Vec<u8>)>> {
        let (mut old_notes, mut new_notes) = (IdMap::default(), IdMap::default());
        let mut budget = MAX_NOTES_ENTRIES;
        self.diff_notes_trees(
            old,
            new,
            String::new(),
            &mut old_notes,
            &mut new_notes,
            &mut budget,
        )?;
        let mut out = Vec::new();
        for (target, blob) in new_notes {
            if old_notes.get(&target) == Some(&blob) {
                continue;
            }
            let before = match old_notes.get(&target) {
                Some(b) => self.note_blob(b)?,
                None => Vec::new(),
            };
            let before: std::collections::HashSet<&[u8]> = before.split(|b| *b == b'\n').collect();
            let data = self.note_blob(&blob)?;
            for line in data.split(|b| *b == b'\n') {
                if !line.is_empty() && !before.contains(line) {
                    out.push((target, line.to_vec()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Collect the notes under two trees, descending only where the trees
    /// differ. Iterative, and a subtree is entered only when its path still
    /// spells the start of an object id, so a notes history pushed by
    /// anyone cannot nest deeper than an id is long.
    fn diff_notes_trees(
        &self,
        old: Option<ObjectId>,
        new: ObjectId,
        prefix: String,
        old_notes: &mut IdMap<ObjectId>,
        new_notes: &mut IdMap<ObjectId>,
        budget: &mut usize,
    ) -> Result<()> {
        let mut work = vec![(old, new, prefix)];
        while let Some((old, new, prefix)) = work.pop() {
            if old == Some(new) {
                continue;
            }
            let old_entries: std::collections::HashMap<String, (ObjectId, bool)> = match old {
                Some(t) => self
                    .walked_entries(t, budget)?
                    .into_iter()
                    .map(|(n, id, t)| (n, (id, t)))
                    .collect(),
                None => Default::default(),
            };
            let new_entries = self.walked_entries(new, budget)?;
            let new_names: std::collections::HashMap<&str, bool> = new_entries
                .iter()
                .map(|(n, _, t)| (n.as_str(), *t))
                .collect();
            for (name, id, is_tree) in &new_entries {
                let same = old_entries.get(name);
                if *is_tree {
                    let Some(path) = fanout_path(&prefix, name) else {
                        continue;
                    };
                    match same {
                        Some((old_id, true)) => work.push((Some(*old_id), *id, path)),
                        _ => self.flatten_notes(*id, path, new_notes, budget)?,
                    }
                } else if same.is_none_or(|(old_id, _)| old_id != id) {
                    note_entry(&prefix, name, *id, new_notes);
                }
            }
            for (name, (id, is_tree)) in &old_entries {
                match (is_tree, new_names.get(name.as_str())) {
                    (true, Some(true)) => {} // descended above
                    (true, _) => {
                        if let Some(path) = fanout_path(&prefix, name) {
                            self.flatten_notes(*id, path, old_notes, budget)?;
                        }
                    }
                    (false, _) => note_entry(&prefix, name, *id, old_notes),
                }
            }
        }
        Ok(())
    }

    /// Every note under `tree` (paths are the annotated id in hex, split by
    /// fanout). Iterative and bounded as `diff_notes_trees`.
    fn flatten_notes(
        &self,
        tree: ObjectId,
        prefix: String,
        out: &mut IdMap<ObjectId>,
        budget: &mut usize,
    ) -> Result<()> {
        let mut work = vec![(tree, prefix)];
        while let Some((tree, prefix)) = work.pop() {
            for (name, id, is_tree) in self.walked_entries(tree, budget)? {
                if is_tree {
                    if let Some(path) = fanout_path(&prefix, &name) {
                        work.push((id, path));
                    }
                } else {
                    note_entry(&prefix, &name, id, out);
                }
            }
        }
        Ok(())
    }

    /// A note's bytes; a note over `MAX_NOTE_BYTES` (anyone can push one)
    /// reads as empty: it holds no record sigctl wrote.
    fn note_blob(&self, blob: &ObjectId) -> Result<Vec<u8>> {
        Ok(self.blob_within(blob, MAX_NOTE_BYTES)?.unwrap_or_default())
    }

    /// `tree_entries`, charged to a walk's `budget` of entries: fanout
    /// directories that share subtrees can make a few objects claim 256^k
    /// notes, and such a walk stops with an error instead of running on.
    fn walked_entries(
        &self,
        tree: ObjectId,
        budget: &mut usize,
    ) -> Result<Vec<(String, ObjectId, bool)>> {
        let entries = self.tree_entries(tree)?;
        *budget = budget.checked_sub(entries.len()).ok_or_else(|| {
            Error::Git(format!(
                "refs/notes/signing: a notes tree of more than {MAX_NOTES_ENTRIES} entries to walk (fanout directories that share subtrees?): not notes sigctl wrote; remove or replace that notes ref"
            ))
        })?;
        Ok(entries)
    }

    fn tree_entries(&self, tree: ObjectId) -> Result<Vec<(String, ObjectId, bool)>> {
        let tree = self.inner.find_tree(tree).map_err(git_err)?;
        let decoded = tree.decode().map_err(git_err)?;
        Ok(decoded
            .entries
            .iter()
            .map(|e| (e.filename.to_string(), e.oid.to_owned(), e.mode.is_tree()))
            .collect())
    }
}

/// Tree entries one notes walk reads at most: far beyond any real notes ref
/// (one per note, plus fanout).
const MAX_NOTES_ENTRIES: usize = 1 << 22;

/// The largest note read: a record is a line of about a kilobyte.
const MAX_NOTE_BYTES: u64 = 16 * 1024 * 1024;

/// The path of a fanout subtree, when `prefix + name` can still grow into
/// an object id: a non-empty run of hex digits shorter than an id.
fn fanout_path(prefix: &str, name: &str) -> Option<String> {
    (!name.is_empty()
        && prefix.len() + name.len() < 40
        && name.bytes().all(|b| b.is_ascii_hexdigit()))
    .then(|| format!("{prefix}{name}"))
}

/// A blob entry at `prefix + name` is a note when the path spells an object id.
fn note_entry(prefix: &str, name: &str, blob: ObjectId, out: &mut IdMap<ObjectId>) {
    let hex = format!("{prefix}{name}");
    if let Ok(target) = ObjectId::from_hex(hex.as_bytes()) {
        out.insert(target, blob);
    }
}
