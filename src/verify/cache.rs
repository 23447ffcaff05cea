//! The incremental cache of signature checks, under `.git/sigctl/`.
//!
//! A commit id names its signature and payload, so what a signature says
//! (who made it, when they claim, or why it is bad) never changes for that id
//! and needs no policy in its key: policies are applied afresh on every run.
//! The file carries a format line with the sigctl version and a SHA-256 over
//! its contents; anything that does not check out (corrupt, truncated,
//! another version, edited) is ignored whole, never half-trusted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

const FORMAT: &str = "sigctl-verify-cache";
const VERSION: u32 = 1;

/// What a signature check found, in storable form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    Cert {
        fingerprint: String,
        subject: String,
        signed_at: i64,
        time_source: String,
    },
    Ssh {
        key: String,
        signed_at: i64,
        time_source: String,
    },
    Failed {
        reason: String,
        message: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    sigctl: String,
}

#[derive(Serialize, Deserialize)]
struct Line {
    id: String,
    #[serde(flatten)]
    entry: Entry,
}

#[derive(Serialize, Deserialize)]
struct Footer {
    sha256: String,
}

/// Where the cache of a repository lives.
pub fn path(common_dir: &Path) -> PathBuf {
    common_dir.join("sigctl").join("verify-cache.jsonl")
}

/// Load the cache; an absent, corrupt or foreign file yields an empty cache.
pub fn load(path: &Path) -> HashMap<String, Entry> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    parse(&text).unwrap_or_default()
}

fn parse(text: &str) -> Option<HashMap<String, Entry>> {
    let body_end = text.trim_end_matches('\n').rfind('\n')? + 1;
    let (body, footer) = text.split_at(body_end);
    let footer: Footer = serde_json::from_str(footer.trim()).ok()?;
    if footer.sha256 != hex(&sha2::Sha256::digest(body.as_bytes())) {
        return None;
    }
    let mut lines = body.lines();
    let header: Header = serde_json::from_str(lines.next()?).ok()?;
    if header.format != FORMAT
        || header.version != VERSION
        || header.sigctl != env!("CARGO_PKG_VERSION")
    {
        return None;
    }
    let mut map = HashMap::new();
    for l in lines {
        let line: Line = serde_json::from_str(l).ok()?;
        map.insert(line.id, line.entry);
    }
    Some(map)
}

/// Write the cache through a temporary file and a rename. Failure to write a
/// cache is not an error of verification: the caller may ignore it.
pub fn save(path: &Path, entries: &HashMap<String, Entry>) -> std::io::Result<()> {
    let mut body = serde_json::to_string(&Header {
        format: FORMAT.into(),
        version: VERSION,
        sigctl: env!("CARGO_PKG_VERSION").into(),
    })
    .map_err(std::io::Error::other)?;
    body.push('\n');
    let mut ids: Vec<&String> = entries.keys().collect();
    ids.sort();
    for id in ids {
        let line = Line {
            id: id.clone(),
            entry: entries[id].clone(),
        };
        body.push_str(&serde_json::to_string(&line).map_err(std::io::Error::other)?);
        body.push('\n');
    }
    let footer = serde_json::to_string(&Footer {
        sha256: hex(&sha2::Sha256::digest(body.as_bytes())),
    })
    .map_err(std::io::Error::other)?;
    body.push_str(&footer);
    body.push('\n');
    crate::init::write_atomically(path, body.as_bytes())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_trip_holds_and_any_edit_voids_the_whole_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("c.jsonl");
        let mut m = HashMap::new();
        m.insert(
            "a".repeat(40),
            Entry::Ssh {
                key: "00".into(),
                signed_at: 5,
                time_source: "committer".into(),
            },
        );
        m.insert(
            "b".repeat(40),
            Entry::Failed {
                reason: "bad-signature".into(),
                message: "x".into(),
            },
        );
        save(&p, &m).expect("save");
        assert_eq!(load(&p), m);
        let text = std::fs::read_to_string(&p).expect("read");
        // flip a verdict: the checksum no longer matches, nothing is trusted
        std::fs::write(&p, text.replace("bad-signature", "bad-signaturX")).expect("write");
        assert!(load(&p).is_empty());
        std::fs::write(&p, &text[..text.len() / 2]).expect("write");
        assert!(load(&p).is_empty());
        std::fs::write(&p, text.replace(env!("CARGO_PKG_VERSION"), "0.0.0-other")).expect("write");
        assert!(load(&p).is_empty());
        std::fs::write(&p, "garbage").expect("write");
        assert!(load(&p).is_empty());
    }
}
