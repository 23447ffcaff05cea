//! Temporary files sigctl writes beside their destination before a rename:
//! `.NAME.sigctl-tmp-PID-N`. Nothing ever reads one back. A run killed with
//! SIGKILL may leave one; the next run writing into that directory removes
//! those of processes that no longer exist.

use std::path::{Path, PathBuf};

const MARK: &str = ".sigctl-tmp-";

/// The temporary file for `path` (the `n`th of this process in one step).
pub fn name_for(path: &Path, n: usize) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{MARK}{}-{n}", std::process::id()))
}

/// Remove the temporary files of `path` (`.NAME.sigctl-tmp-PID-N` beside
/// it) left by processes that are gone: regular files only, never this
/// process's, never a live process's, never another file's.
pub fn clean_stale(path: &Path) {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mine = format!(".{name}{MARK}");
    let me = std::process::id();
    for e in entries.flatten() {
        let entry = e.file_name();
        let Some(pid) = entry
            .to_str()
            .and_then(|n| n.strip_prefix(&mine))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temporaries_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mine = name_for(&dir.path().join("a.json"), 0);
        // pid 1 is alive; 4194304 is above Linux's pid_max
        let live = dir.path().join(".a.json.sigctl-tmp-1-0");
        let dead = dir.path().join(".a.json.sigctl-tmp-4194304-0");
        let other = dir.path().join("a.json");
        for p in [&mine, &live, &dead, &other] {
            std::fs::write(p, b"x").expect("write");
        }
        // another file's temporary, of a dead process: not ours to remove
        let others = dir.path().join(".b.json.sigctl-tmp-4194304-0");
        std::fs::write(&others, b"x").expect("write");
        clean_stale(&dir.path().join("a.json"));
        assert!(mine.exists() && live.exists() && other.exists() && others.exists());
        assert!(!dead.exists());
    }
}
