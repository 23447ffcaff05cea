//! Which repositories an inventory reads: each path given is a repository
//! (a work tree with `.git`, or a bare repository), or a directory searched
//! for them. The search never enters `.git`, `node_modules` or `target`,
//! never follows a symbolic link, and stops at a repository (its nested
//! repositories and submodules are its own business). What cannot be read
//! or holds no repository becomes a target that says why, so the inventory
//! reports it instead of stopping.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One thing to inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The path as given or found (given directory joined with what the
    /// search found under it).
    pub display: String,
    pub path: PathBuf,
    pub kind: TargetKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    Repository,
    /// Neither a repository nor a directory holding one: why.
    NotARepository(String),
    /// A directory the search could not list: why.
    Unreadable(String),
}

/// Directories the search never enters.
const SKIPPED: &[&str] = &[".git", "node_modules", "target"];

/// How deep a search goes below a given directory (a guard against
/// pathological trees; repositories sit a few levels down).
const MAX_DEPTH: usize = 32;

/// Whether `dir` is a repository: a work tree (`.git` directory or file)
/// or a bare repository (`HEAD`, `objects/`, `refs/`).
pub fn is_repository(dir: &Path) -> bool {
    let dot_git = dir.join(".git");
    if std::fs::symlink_metadata(&dot_git).is_ok() {
        return true;
    }
    dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir()
}

/// Expand the given paths into targets, each repository once (by its
/// canonical path), in the order given and found (the search sorts each
/// directory's entries).
pub fn targets(given: &[PathBuf]) -> Vec<Target> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for path in given {
        let display = path.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.push(Target {
                    display,
                    path: path.clone(),
                    kind: TargetKind::NotARepository("no such file or directory".into()),
                });
                continue;
            }
            Err(e) => {
                out.push(Target {
                    display,
                    path: path.clone(),
                    kind: TargetKind::Unreadable(e.to_string()),
                });
                continue;
            }
        };
        if !meta.is_dir() {
            out.push(Target {
                display,
                path: path.clone(),
                kind: TargetKind::NotARepository(
                    "a file, not a repository or a directory holding repositories".into(),
                ),
            });
            continue;
        }
        if !search(path, &display, 0, &mut seen, &mut out) {
            out.push(Target {
                display,
                path: path.clone(),
                kind: TargetKind::NotARepository(
                    "not a repository, and no repository below it".into(),
                ),
            });
        }
    }
    out
}

/// Search `dir` for repositories into `out`; whether it found one (or
/// reported why it could not look).
fn search(
    dir: &Path,
    display: &str,
    depth: usize,
    seen: &mut HashSet<PathBuf>,
    out: &mut Vec<Target>,
) -> bool {
    if is_repository(dir) {
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if seen.insert(canonical) {
            out.push(Target {
                display: display.to_owned(),
                path: dir.to_path_buf(),
                kind: TargetKind::Repository,
            });
        }
        return true;
    }
    if depth >= MAX_DEPTH {
        return false;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.push(Target {
                display: display.to_owned(),
                path: dir.to_path_buf(),
                kind: TargetKind::Unreadable(e.to_string()),
            });
            // said so: not also "no repository below it"
            return true;
        }
    };
    let mut subdirs: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            (!SKIPPED.contains(&name.as_str())).then(|| (name, e.path()))
        })
        .collect();
    subdirs.sort();
    let mut found = false;
    for (name, path) in subdirs {
        let shown = if display.ends_with('/') {
            format!("{display}{name}")
        } else {
            format!("{display}/{name}")
        };
        found |= search(&path, &shown, depth + 1, seen, out);
    }
    found
}

/// The paths of a `--from` list: one a line, `#` starts a comment, blank
/// lines ignored, surrounding whitespace trimmed.
pub fn parse_list(text: &str) -> Vec<PathBuf> {
    text.lines()
        .map(|l| l.split_once('#').map_or(l, |(before, _)| before).trim())
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_has_comments_and_blank_lines() {
        assert_eq!(
            parse_list("# repos\n a \n\nb # the second\n#c\n"),
            [PathBuf::from("a"), PathBuf::from("b")]
        );
    }

    #[test]
    fn the_search_skips_internals_and_stops_at_repositories() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for p in [
            "one/.git",
            "one/inner/.git",
            "deps/node_modules/x/.git",
            "target/y/.git",
            "bare.git/objects",
            "bare.git/refs",
            "empty",
        ] {
            std::fs::create_dir_all(d.join(p)).expect("mkdir");
        }
        std::fs::write(d.join("bare.git/HEAD"), "ref: refs/heads/main\n").expect("HEAD");
        let t = targets(&[d.to_path_buf()]);
        let shown: Vec<&str> = t
            .iter()
            .map(|t| {
                t.display
                    .strip_prefix(&*d.display().to_string())
                    .unwrap_or(&t.display)
            })
            .collect();
        assert_eq!(shown, ["/bare.git", "/one"]);
        assert!(t.iter().all(|t| t.kind == TargetKind::Repository));
        // given twice, read once; a directory without any: said so
        let t = targets(&[d.join("one"), d.join("one/"), d.join("empty")]);
        assert_eq!(t.len(), 2);
        assert!(matches!(t[1].kind, TargetKind::NotARepository(_)));
    }
}
