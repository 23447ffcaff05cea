//! Every file sigctl reads goes through here: only regular files, opened so
//! that a FIFO cannot block (`O_NONBLOCK`; checked on the open handle, not
//! the path), and never more than the limit of its kind, even if the file
//! grows while it is read (a sparse file, `/dev/zero` behind a symlink).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What a file is for, and how large it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Named in messages: "the policy", "the bundle", …
    pub what: &'static str,
    pub limit: u64,
}

const MIB: u64 = 1024 * 1024;

/// `signing.toml`.
pub const POLICY: Kind = Kind {
    what: "policy",
    limit: MIB,
};
/// A certificate, CA bundle, OpenPGP key or trusted root the policy names.
pub const TRUST_FILE: Kind = Kind {
    what: "trust file",
    limit: MIB,
};
/// A `pin-source` file: a PIN and a newline.
pub const PIN_FILE: Kind = Kind {
    what: "pin-source file",
    limit: 4096,
};
/// A Sigstore bundle (a certificate chain, a signature, log entries).
pub const BUNDLE: Kind = Kind {
    what: "bundle",
    limit: 16 * MIB,
};
/// A detached signature git hands to `--verify`.
pub const SIGNATURE: Kind = Kind {
    what: "signature",
    limit: 16 * MIB,
};
/// A certificate or CSR answer given to `sigctl key`.
pub const KEY_INPUT: Kind = Kind {
    what: "certificate file",
    limit: MIB,
};
/// The verify cache (about 200 bytes a commit: 1 GiB is millions of commits).
pub const CACHE: Kind = Kind {
    what: "verify cache",
    limit: 1024 * MIB,
};
/// One line of the verify cache, read through this cap (the longest sigctl
/// writes, a certificate chain in hex, is far shorter; a file of zeros has
/// no newline at all).
pub const CACHE_LINE: u64 = MIB;
/// The verify cache's key.
pub const CACHE_KEY: Kind = Kind {
    what: "cache key",
    limit: 64,
};
/// A file sigctl wrote itself and reads back (`init`'s schema, …).
pub const OWN_FILE: Kind = Kind {
    what: "file",
    limit: 16 * MIB,
};
/// An inventory's JSON read back by `inventory --merge` (a few kilobytes a
/// repository: 256 MiB is far more than any programme).
pub const INVENTORY: Kind = Kind {
    what: "inventory",
    limit: 256 * MIB,
};
/// A list of paths (`inventory --from`), one a line.
pub const PATH_LIST: Kind = Kind {
    what: "path list",
    limit: 16 * MIB,
};
/// An artefact to sign: streamed, never held whole; any size.
pub const ARTEFACT: Kind = Kind {
    what: "artefact",
    limit: u64::MAX,
};

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("it does not exist")]
    NotFound { path: PathBuf },
    #[error("it is {what}, not a regular file (sigctl reads a {kind} only from a regular file)")]
    NotRegular {
        path: PathBuf,
        what: &'static str,
        kind: &'static str,
    },
    #[error("it is larger than a {kind} may be ({limit} bytes at most)")]
    TooLarge {
        path: PathBuf,
        kind: &'static str,
        limit: u64,
    },
    #[error("{source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound { .. })
    }
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::NotFound { path }
            | ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::Io { path, .. } => path,
        }
    }
}

/// "cannot read PATH: why".
impl From<ReadError> for crate::error::Error {
    fn from(e: ReadError) -> Self {
        crate::error::Error::Unreadable {
            path: e.path().to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// Open `path` for reading if it is a regular file within `kind`'s limit
/// now; the handle, and how many bytes at most to read from it.
pub fn open(path: &Path, kind: Kind) -> Result<(File, u64), ReadError> {
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ReadError::Io {
            path: path.to_path_buf(),
            source,
        },
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let t = meta.file_type();
    let what = if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() || t.is_block_device() {
        Some("a device")
    } else {
        Some("not a file")
    };
    if let Some(what) = what {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            what,
            kind: kind.what,
        });
    }
    if meta.len() > kind.limit {
        return Err(too_large(path, kind));
    }
    Ok((file, kind.limit))
}

/// The whole of `path`, a regular file of at most `kind.limit` bytes.
pub fn read(path: &Path, kind: Kind) -> Result<Vec<u8>, ReadError> {
    let (file, limit) = open(path, kind)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(too_large(path, kind));
    }
    Ok(bytes)
}

/// As `read`, as UTF-8 text.
pub fn read_to_string(path: &Path, kind: Kind) -> Result<String, ReadError> {
    String::from_utf8(read(path, kind)?).map_err(|_| ReadError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"),
    })
}

fn too_large(path: &Path, kind: Kind) -> ReadError {
    ReadError::TooLarge {
        path: path.to_path_buf(),
        kind: kind.what,
        limit: kind.limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_oversized_files_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            read(Path::new("/dev/zero"), POLICY),
            Err(ReadError::NotRegular {
                what: "a device",
                ..
            })
        ));
        assert!(matches!(
            read(dir.path(), POLICY),
            Err(ReadError::NotRegular {
                what: "a directory",
                ..
            })
        ));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 65]).expect("write");
        assert!(matches!(
            read(&big, CACHE_KEY),
            Err(ReadError::TooLarge { .. })
        ));
        assert!(read(&dir.path().join("none"), POLICY).is_err_and(|e| e.is_not_found()));
        std::fs::write(&big, b"ok").expect("write");
        assert_eq!(read(&big, CACHE_KEY).expect("read"), b"ok");
    }
}
