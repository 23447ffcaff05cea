//! The incremental cache of signature checks, under `.git/sigctl/`.
//!
//! A commit id names its signature and payload, so what a signature says
//! (who made it, when they claim, or why it is bad) never changes for that id
//! and needs no policy in its key: policies are applied afresh on every run.
//! The file carries a format line with the sigctl version and an HMAC-SHA256
//! over its contents, keyed by a secret kept outside the repository (in the
//! user's cache directory). Anything that does not check out (corrupt,
//! truncated, another version, edited, or written by someone without the key:
//! a shared CI cache, a copied repository) is ignored whole, never trusted.

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
    #[serde(rename = "hmac-sha256")]
    hmac: String,
}

/// Where the cache of a repository lives.
pub fn path(common_dir: &Path) -> PathBuf {
    common_dir.join("sigctl").join("verify-cache.jsonl")
}

/// Load the cache; an absent, corrupt, foreign or unauthenticated file
/// yields an empty cache.
pub fn load(path: &Path, key: &[u8]) -> HashMap<String, Entry> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    parse(&text, key).unwrap_or_default()
}

fn parse(text: &str, key: &[u8]) -> Option<HashMap<String, Entry>> {
    let body_end = text.trim_end_matches('\n').rfind('\n')? + 1;
    let (body, footer) = text.split_at(body_end);
    let footer: Footer = serde_json::from_str(footer.trim()).ok()?;
    if !constant_time_eq(
        footer.hmac.as_bytes(),
        hex(&hmac_sha256(key, body.as_bytes())).as_bytes(),
    ) {
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
pub fn save(path: &Path, entries: &HashMap<String, Entry>, key: &[u8]) -> std::io::Result<()> {
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
        hmac: hex(&hmac_sha256(key, body.as_bytes())),
    })
    .map_err(std::io::Error::other)?;
    body.push_str(&footer);
    body.push('\n');
    crate::init::write_atomically(path, body.as_bytes())
}

/// The cache key: 32 random bytes in `dir/cache.key` (mode 0600), made on
/// first use. `None` when it can be neither read nor made: no caching then.
pub fn key(dir: &Path) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("cache.key");
    if let Ok(k) = std::fs::read(&path) {
        return (k.len() == 32).then_some(k);
    }
    std::fs::create_dir_all(dir).ok()?;
    let mut k = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .ok()?
        .read_exact(&mut k)
        .ok()?;
    let tmp = dir.join(format!(".cache.key.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .ok()?;
    f.write_all(&k).ok()?;
    drop(f);
    // a concurrent first run may have won: keep whichever key landed first
    if std::fs::hard_link(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return std::fs::read(&path).ok().filter(|k| k.len() == 32);
    }
    let _ = std::fs::remove_file(&tmp);
    Some(k)
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = sha2::Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = sha2::Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

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
        let key = [9u8; 32];
        save(&p, &m, &key).expect("save");
        assert_eq!(load(&p, &key), m);
        // written by someone without the key: ignored
        assert!(load(&p, &[8u8; 32]).is_empty());
        let text = std::fs::read_to_string(&p).expect("read");
        // flip a verdict: the checksum no longer matches, nothing is trusted
        std::fs::write(&p, text.replace("bad-signature", "bad-signaturX")).expect("write");
        assert!(load(&p, &key).is_empty());
        std::fs::write(&p, &text[..text.len() / 2]).expect("write");
        assert!(load(&p, &key).is_empty());
        std::fs::write(&p, text.replace(env!("CARGO_PKG_VERSION"), "0.0.0-other")).expect("write");
        assert!(load(&p, &key).is_empty());
        std::fs::write(&p, "garbage").expect("write");
        assert!(load(&p, &key).is_empty());
    }
}
