//! The incremental cache of `verify`, under `.git/sigctl/verify-cache`.
//!
//! A commit id names its content, so everything that follows from the
//! content alone never changes for that id: its parents, tree and committer
//! time (a warm walk reads no object), the `signing.toml` blob of its tree,
//! and what its signature says (who made it, when they claim, or why it is
//! bad). None of it needs a policy in its key: policies, the trust root and
//! the chain are applied afresh on every run.
//!
//! One line per commit (`c ID GENERATION TREE TIME FLAGS POLICY PARENTS
//! CHECK`; a generation number of 0 is unknown), and
//! one per distinct certificate chain (`x CHAIN-ID DER,…`, before its first
//! use), between a format line naming the sigctl version and an HMAC-SHA256 over
//! everything before it, keyed by a secret kept outside the repository (in
//! the user's cache directory). Anything that does not check out (corrupt,
//! truncated, another version, edited, or written by someone without the key:
//! a shared CI cache, a copied repository) is ignored whole, never trusted.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::repo::ObjectId;
use sha2::Digest;

use crate::repo::walk::{CommitInfo, IdMap};

const FORMAT: &str = "sigctl-verify-cache";
const VERSION: u32 = 6;

/// What the cache knows of one commit: the facts its content fixes (the
/// walk needs no object read), the `signing.toml` blob of its tree, and what
/// its signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub commit: CommitInfo,
    pub policy: Option<ObjectId>,
    pub check: Stored,
}

/// A signature check in storable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Unsigned, or a signature whose check is not stored (OpenPGP
    /// signatures are checked against each policy afresh).
    Unchecked,
    /// A keyless CMS signature whose signer's signature verified: read
    /// again (certificates, log entry) without checking that signature;
    /// chain, log and identity are judged under each policy afresh.
    Verified,
    Ssh {
        key: Arc<[u8]>,
        signed_at: i64,
        time_source: u8,
    },
    Cert {
        fingerprint: Arc<str>,
        subject: Arc<str>,
        /// leaf first, then the certificates the signature carried; one
        /// `x CHAIN-ID DER,DER…` line per distinct chain in the file
        certs: Arc<[Vec<u8>]>,
        signed_at: i64,
        time_source: u8,
    },
    Failed {
        reason: String,
        message: String,
    },
}

/// Where the cache of a repository lives.
pub fn path(common_dir: &Path) -> PathBuf {
    common_dir.join("sigctl").join("verify-cache")
}

/// The cache as read: the authenticated text, an index from commit id to
/// its line, and each line parsed only when asked for (a push of ten commits
/// onto a long history reads ten lines in full, and the walk only the
/// parents of the rest).
#[derive(Default)]
pub struct Cache {
    /// The lines between the format line and the footer (authenticated).
    data: Vec<u8>,
    /// commit id → the span of its `c` line (without the newline) and its
    /// generation number (0: unknown)
    index: IdMap<(usize, usize, u32)>,
    /// chain id → the span of its DER list
    chains: HashMap<String, (usize, usize)>,
    memo: std::cell::RefCell<Memo>,
}

/// A certificate chain as stored: leaf first, DER.
type Chain = Arc<[Vec<u8>]>;

/// What parsed lines share: SSH keys, names and chains, read once.
#[derive(Default)]
struct Memo {
    keys: HashMap<String, Arc<[u8]>>,
    names: HashMap<String, Arc<str>>,
    chains: HashMap<String, Arc<[Vec<u8>]>>,
}

impl Cache {
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn contains(&self, id: &ObjectId) -> bool {
        self.index.contains_key(id)
    }

    fn line(&self, id: &ObjectId) -> Option<&str> {
        std::str::from_utf8(self.bytes(id)?).ok()
    }

    fn bytes(&self, id: &ObjectId) -> Option<&[u8]> {
        let &(a, b, _) = self.index.get(id)?;
        self.data.get(a..b)
    }

    /// A commit's generation number, when the cache knows it.
    pub fn generation(&self, id: &ObjectId) -> Option<u32> {
        self.index.get(id).map(|e| e.2).filter(|g| *g > 0)
    }

    /// What the cache knows of a commit's place in the graph (no check):
    /// the line up to its parents, which is all ASCII when sigctl wrote it.
    pub fn commit(&self, id: &ObjectId) -> Option<CommitInfo> {
        let line = self.bytes(id)?;
        let mut f = line.splitn(10, |&b| b == b' ');
        let hex = |b: &[u8]| ObjectId::from_hex(b).ok();
        if f.next()? != b"c" {
            return None;
        }
        let id = hex(f.next()?)?;
        let _generation = f.next()?;
        let tree = hex(f.next()?)?;
        let committer_time: i64 = std::str::from_utf8(f.next()?).ok()?.parse().ok()?;
        let (signed, duplicate_signature) = match f.next()? {
            b"-" => (false, false),
            b"s" => (true, false),
            b"d" => (true, true),
            _ => return None,
        };
        let _policy = f.next()?;
        let parents = match f.next()? {
            b"-" => Vec::new(),
            p => p
                .split(|&b| b == b',')
                .map(hex)
                .collect::<Option<Vec<_>>>()?,
        };
        Some(CommitInfo {
            id,
            parents,
            tree,
            committer_time,
            signed,
            duplicate_signature,
        })
    }

    /// The whole entry of a commit. A line that does not parse (no file
    /// sigctl wrote has one) is as good as absent: the commit is read again.
    pub fn get(&self, id: &ObjectId) -> Option<Entry> {
        let line = self.line(id)?;
        let mut memo = self.memo.borrow_mut();
        let Memo {
            keys,
            names,
            chains,
        } = &mut *memo;
        let mut chain = |cid: &str| -> Option<Chain> {
            if let Some(c) = chains.get(cid) {
                return Some(c.clone());
            }
            let &(a, b) = self.chains.get(cid)?;
            let ders = std::str::from_utf8(self.data.get(a..b)?).ok()?;
            let ders: Arc<[Vec<u8>]> = ders
                .split(',')
                .map(unhex)
                .collect::<Option<Vec<_>>>()?
                .into();
            chains.insert(cid.to_owned(), ders.clone());
            Some(ders)
        };
        parse_line(line, keys, names, &mut chain)
    }

    /// Every entry (tests).
    #[cfg(test)]
    fn entries(&self) -> IdMap<Entry> {
        self.index
            .keys()
            .filter_map(|id| self.get(id).map(|e| (*id, e)))
            .collect()
    }
}

/// Load the cache; an absent, corrupt, foreign or unauthenticated file
/// yields an empty cache. Read whole and authenticated first (the HMAC at
/// the end must match everything before it), then indexed by commit id;
/// nothing is trusted unless the HMAC matches.
///
/// Errors: the path is there but no regular file (a FIFO, a device, a
/// directory): the caller says so and verifies without a cache.
pub fn load(path: &Path, key: &[u8]) -> Result<Cache, crate::files::ReadError> {
    use std::io::Read;
    let (file, limit) = match crate::files::open(path, crate::files::CACHE) {
        Ok(f) => f,
        Err(e) if e.is_not_found() => return Ok(Cache::default()),
        Err(e) => return Err(e),
    };
    let mut data = Vec::new();
    if file.take(limit).read_to_end(&mut data).is_err() {
        return Ok(Cache::default());
    }
    Ok(parse(data, key).unwrap_or_default())
}

fn header() -> String {
    format!(
        "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"sigctl\":\"{}\"}}\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn parse(mut data: Vec<u8>, key: &[u8]) -> Option<Cache> {
    let header = header();
    if !data.starts_with(header.as_bytes()) || !data.ends_with(b"\n") {
        return None;
    }
    // the footer is the last line
    let body_end = data[..data.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    if body_end < header.len() {
        return None;
    }
    let footer = std::str::from_utf8(&data[body_end..]).ok()?;
    let footer = footer
        .strip_prefix("{\"hmac-sha256\":\"")?
        .strip_suffix("\"}\n")?;
    let mut mac = Hmac::new(key);
    mac.update(&data[..body_end]);
    if !constant_time_eq(footer.as_bytes(), hex(&mac.finish()).as_bytes()) {
        return None;
    }
    data.truncate(body_end);
    data.drain(..header.len());
    let mut index = IdMap::default();
    let mut chains = HashMap::new();
    let mut at = 0;
    while at < data.len() {
        let end = at + memchr::memchr(b'\n', &data[at..])?;
        if (end - at) as u64 >= crate::files::CACHE_LINE {
            return None;
        }
        let line = &data[at..end];
        let field = |from: usize| {
            let len = memchr::memchr(b' ', line.get(from..)?)?;
            Some((from, from + len))
        };
        match line.get(..2) {
            Some(b"c ") => {
                let (a, b) = field(2)?;
                let id = ObjectId::from_hex(&line[a..b]).ok()?;
                let (c, d) = field(b + 1)?;
                let generation: u32 = std::str::from_utf8(&line[c..d]).ok()?.parse().ok()?;
                index.insert(id, (at, end, generation));
            }
            Some(b"x ") => {
                let (a, b) = field(2)?;
                let cid = std::str::from_utf8(&line[a..b]).ok()?.to_owned();
                chains.insert(cid, (at + b + 1, end));
            }
            _ => return None,
        }
        at = end + 1;
    }
    Some(Cache {
        data,
        index,
        chains,
        memo: Default::default(),
    })
}

/// One line, read through a cap: `None` on an error or a longer line (not a
/// file sigctl wrote; a file of zeros has no newline at all, and must not
/// become one string the size of the file).
fn read_line(input: &mut impl std::io::BufRead, line: &mut String) -> Option<usize> {
    use std::io::{BufRead, Read};
    let n = BufRead::read_line(&mut Read::take(input, crate::files::CACHE_LINE), line).ok()?;
    (n as u64 != crate::files::CACHE_LINE || line.ends_with('\n')).then_some(n)
}

fn oid(s: &str) -> Option<ObjectId> {
    ObjectId::from_hex(s.as_bytes()).ok()
}

fn opt_oid(s: &str) -> Option<Option<ObjectId>> {
    if s == "-" {
        Some(None)
    } else {
        oid(s).map(Some)
    }
}

/// The graph part of a `c` line: the commit, its policy blob, and the
/// check's kind and rest.
fn parse_commit(line: &str) -> Option<(CommitInfo, Option<ObjectId>, &str, &str)> {
    let mut f = line.splitn(10, ' ');
    if f.next()? != "c" {
        return None;
    }
    let id = oid(f.next()?)?;
    let _generation: u32 = f.next()?.parse().ok()?;
    let tree = oid(f.next()?)?;
    let committer_time: i64 = f.next()?.parse().ok()?;
    let (signed, duplicate_signature) = match f.next()? {
        "-" => (false, false),
        "s" => (true, false),
        "d" => (true, true),
        _ => return None,
    };
    let policy = opt_oid(f.next()?)?;
    let parents = match f.next()? {
        "-" => Vec::new(),
        p => p.split(',').map(oid).collect::<Option<Vec<_>>>()?,
    };
    let kind = f.next()?;
    let rest = f.next().unwrap_or("");
    Some((
        CommitInfo {
            id,
            parents,
            tree,
            committer_time,
            signed,
            duplicate_signature,
        },
        policy,
        kind,
        rest,
    ))
}

/// `c ID GENERATION TREE TIME FLAGS POLICY PARENTS CHECK…`
fn parse_line(
    line: &str,
    keys: &mut HashMap<String, Arc<[u8]>>,
    names: &mut HashMap<String, Arc<str>>,
    chains: &mut dyn FnMut(&str) -> Option<Chain>,
) -> Option<Entry> {
    let (commit, policy, kind, rest) = parse_commit(line)?;
    let check = match kind {
        "-" => Stored::Unchecked,
        "v" => Stored::Verified,
        "ssh" => {
            let mut r = rest.splitn(3, ' ');
            let hexkey = r.next()?;
            let key = match keys.get(hexkey) {
                Some(k) => k.clone(),
                None => {
                    let k: Arc<[u8]> = unhex(hexkey)?.into();
                    keys.insert(hexkey.to_owned(), k.clone());
                    k
                }
            };
            Stored::Ssh {
                key,
                signed_at: r.next()?.parse().ok()?,
                time_source: r.next()?.parse().ok()?,
            }
        }
        "cert" => {
            let mut r = rest.splitn(5, ' ');
            let fp = r.next()?;
            let signed_at = r.next()?.parse().ok()?;
            let time_source = r.next()?.parse().ok()?;
            let chain = r.next()?;
            let subject_json = r.next()?;
            let mut intern = |s: &str, v: String| -> Arc<str> {
                match names.get(s) {
                    Some(n) => n.clone(),
                    None => {
                        let n: Arc<str> = v.into();
                        names.insert(s.to_owned(), n.clone());
                        n
                    }
                }
            };
            let subject: String = serde_json::from_str(subject_json).ok()?;
            Stored::Cert {
                fingerprint: intern(fp, fp.to_owned()),
                subject: intern(subject_json, subject),
                // a chain line comes before its first use, or the file is not ours
                certs: chains(chain)?,
                signed_at,
                time_source,
            }
        }
        "fail" => {
            let (reason, message) = rest.split_once(' ')?;
            Stored::Failed {
                reason: reason.to_owned(),
                message: serde_json::from_str(message).ok()?,
            }
        }
        _ => return None,
    };
    Some(Entry {
        commit,
        policy,
        check,
    })
}

/// Names a certificate chain (the same leaf may come with other certificates).
fn chain_id(certs: &[Vec<u8>]) -> String {
    let mut h = sha2::Sha256::new();
    for c in certs {
        h.update((c.len() as u64).to_be_bytes());
        h.update(c);
    }
    hex(&h.finalize())
}

fn write_line(
    out: &mut String,
    e: &Entry,
    generation: u32,
    written: &mut std::collections::HashSet<String>,
) -> std::fmt::Result {
    let chain = match &e.check {
        Stored::Cert { certs, .. } => chain_id(certs),
        _ => String::new(),
    };
    if let Stored::Cert { certs, .. } = &e.check
        && written.insert(chain.clone())
    {
        write!(out, "x {chain} ")?;
        for (n, der) in certs.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(&hex(der));
        }
        out.push('\n');
    }
    let c = &e.commit;
    let flags = match (c.signed, c.duplicate_signature) {
        (false, _) => "-",
        (true, false) => "s",
        (true, true) => "d",
    };
    write!(
        out,
        "c {} {generation} {} {} {flags} ",
        c.id, c.tree, c.committer_time
    )?;
    match &e.policy {
        Some(p) => write!(out, "{p} ")?,
        None => out.push_str("- "),
    }
    if c.parents.is_empty() {
        out.push('-');
    }
    for (n, p) in c.parents.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        write!(out, "{p}")?;
    }
    let json = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    match &e.check {
        Stored::Unchecked => out.push_str(" -"),
        Stored::Verified => out.push_str(" v"),
        Stored::Ssh {
            key,
            signed_at,
            time_source,
        } => write!(out, " ssh {} {signed_at} {time_source}", hex(key))?,
        Stored::Cert {
            fingerprint,
            subject,
            signed_at,
            time_source,
            ..
        } => write!(
            out,
            " cert {fingerprint} {signed_at} {time_source} {chain} {}",
            json(subject)
        )?,
        Stored::Failed { reason, message } => write!(out, " fail {reason} {}", json(message))?,
    }
    out.push('\n');
    Ok(())
}

/// Write the cache through a temporary file and a rename: what `old` holds
/// (its lines as they are), then `new`'s entries with their generation
/// numbers (0: unknown). Failure to write a cache is not an error of
/// verification: the caller may ignore it.
pub fn save<'e>(
    path: &Path,
    old: &Cache,
    new: impl IntoIterator<Item = (std::borrow::Cow<'e, Entry>, u32)>,
    key: &[u8],
) -> std::io::Result<()> {
    crate::init::write_atomically_with(path, |w| {
        let mut mac = Hmac::new(key);
        let header = header();
        mac.update(header.as_bytes());
        w.write_all(header.as_bytes())?;
        mac.update(&old.data);
        w.write_all(&old.data)?;
        let mut written: std::collections::HashSet<String> = old.chains.keys().cloned().collect();
        let mut line = String::new();
        for (e, generation) in new {
            if old.contains(&e.commit.id) {
                continue;
            }
            line.clear();
            write_line(&mut line, &e, generation, &mut written).map_err(std::io::Error::other)?;
            mac.update(line.as_bytes());
            w.write_all(line.as_bytes())?;
        }
        writeln!(w, "{{\"hmac-sha256\":\"{}\"}}", hex(&mac.finish()))
    })?;
    // the format-1 file of earlier versions: never read again
    let _ = std::fs::remove_file(path.with_file_name("verify-cache.jsonl"));
    Ok(())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// The cache key: 32 random bytes in `dir/cache.key` (mode 0600), made on
/// first use. `None` when it can be neither read nor made: no caching then.
pub fn key(dir: &Path) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("cache.key");
    match crate::files::read(&path, crate::files::CACHE_KEY) {
        Ok(k) => return (k.len() == 32).then_some(k),
        Err(e) if e.is_not_found() => {}
        // a FIFO, a device, a giant: no cache rather than a hang
        Err(_) => return None,
    }
    std::fs::create_dir_all(dir).ok()?;
    let mut k = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .ok()?
        .read_exact(&mut k)
        .ok()?;
    crate::tempfiles::clean_stale(&path);
    let tmp = crate::tempfiles::name_for(&path, 0);
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
        return crate::files::read(&path, crate::files::CACHE_KEY)
            .ok()
            .filter(|k| k.len() == 32);
    }
    let _ = std::fs::remove_file(&tmp);
    Some(k)
}

/// Why `dir/cache.key` is there but unusable (a FIFO, a device, a symlink
/// to one, the wrong size), for a warning; `None` when it is absent or a
/// key. [`key`] gives no cache for such a file rather than waiting on it.
pub fn key_problem(dir: &Path) -> Option<String> {
    let path = dir.join("cache.key");
    let why = match crate::files::read(&path, crate::files::CACHE_KEY) {
        Ok(k) if k.len() == 32 => return None,
        Ok(k) => format!("it is {} bytes, not a 32-byte key", k.len()),
        Err(e) if e.is_not_found() => return None,
        Err(e) => e.to_string(),
    };
    Some(format!(
        "the verify cache key {} is unusable ({why}); verifying without the cache \
         (remove the file: sigctl makes a new key)",
        path.display()
    ))
}

/// Where the trust memo (keyless and timestamp checks per trusted root)
/// lives, beside the cache.
pub fn trust_path(common_dir: &Path) -> PathBuf {
    common_dir.join("sigctl").join("verify-trust")
}

const TRUST_FORMAT: &str = "sigctl-verify-trust";

fn trust_header() -> String {
    format!(
        "{{\"format\":\"{TRUST_FORMAT}\",\"version\":{VERSION},\"sigctl\":\"{}\"}}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The most memo lines kept (about 100 bytes each).
const MAX_TRUST_LINES: usize = 1 << 21;

/// Load the trust memo: per trusted root (the SHA-256 of its file), the
/// lines `TrustMemo` wrote. Absent, foreign or unauthenticated: empty.
pub fn load_trust(path: &Path, key: &[u8]) -> HashMap<[u8; 32], Vec<String>> {
    use std::io::Read;
    let Ok((file, limit)) = crate::files::open(path, crate::files::CACHE) else {
        return HashMap::new();
    };
    let mut input = std::io::BufReader::with_capacity(1 << 16, file.take(limit));
    let mut parse = || -> Option<HashMap<[u8; 32], Vec<String>>> {
        let mut mac = Hmac::new(key);
        let mut line = String::new();
        read_line(&mut input, &mut line)?;
        if line != trust_header() {
            return None;
        }
        mac.update(line.as_bytes());
        let mut out: HashMap<[u8; 32], Vec<String>> = HashMap::new();
        loop {
            line.clear();
            if read_line(&mut input, &mut line)? == 0 {
                return None;
            }
            if let Some(footer) = line.strip_prefix("{\"hmac-sha256\":\"") {
                let footer = footer.trim_end().strip_suffix("\"}")?;
                return constant_time_eq(footer.as_bytes(), hex(&mac.finish()).as_bytes())
                    .then_some(out);
            }
            mac.update(line.as_bytes());
            let (root, rest) = line.strip_suffix('\n')?.split_once(' ')?;
            let root: [u8; 32] = unhex(root)?.try_into().ok()?;
            out.entry(root).or_default().push(rest.to_owned());
        }
    };
    parse().unwrap_or_default()
}

/// Save the trust memo (`lines` per trusted root), authenticated like the cache.
pub fn save_trust(
    path: &Path,
    key: &[u8],
    lines: &[([u8; 32], Vec<String>)],
) -> std::io::Result<()> {
    crate::init::write_atomically_with(path, |w| {
        let mut mac = Hmac::new(key);
        let header = trust_header();
        mac.update(header.as_bytes());
        w.write_all(header.as_bytes())?;
        let mut n = 0;
        for (root, ls) in lines {
            let root = hex(root);
            for l in ls {
                if n >= MAX_TRUST_LINES {
                    break;
                }
                n += 1;
                let line = format!("{root} {l}\n");
                mac.update(line.as_bytes());
                w.write_all(line.as_bytes())?;
            }
        }
        writeln!(w, "{{\"hmac-sha256\":\"{}\"}}", hex(&mac.finish()))
    })
}

/// HMAC-SHA256 (RFC 2104), streaming.
struct Hmac {
    inner: sha2::Sha256,
    outer: sha2::Sha256,
}

impl Hmac {
    fn new(key: &[u8]) -> Self {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&sha2::Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut inner = sha2::Sha256::new();
        inner.update(k.map(|b| b ^ 0x36));
        let mut outer = sha2::Sha256::new();
        outer.update(k.map(|b| b ^ 0x5c));
        Hmac { inner, outer }
    }

    fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.outer.update(self.inner.finalize());
        self.outer.finalize().to_vec()
    }
}

#[cfg(test)]
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut m = Hmac::new(key);
    m.update(message);
    m.finish()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
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

    fn commit(byte: u8, parents: &[u8]) -> CommitInfo {
        let id = |b: u8| ObjectId::from_bytes_or_panic(&[b; 20]);
        CommitInfo {
            id: id(byte),
            parents: parents.iter().map(|p| id(*p)).collect(),
            tree: id(byte ^ 0xff),
            committer_time: 1_700_000_000 + i64::from(byte),
            signed: byte != 3,
            duplicate_signature: byte == 4,
        }
    }

    #[test]
    fn a_round_trip_holds_and_any_edit_voids_the_whole_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("c");
        let mut m = IdMap::default();
        let key_blob: Arc<[u8]> = vec![0u8, 1, 2, 0xff].into();
        let entries = [
            Entry {
                commit: commit(1, &[]),
                policy: Some(ObjectId::from_bytes_or_panic(&[7; 20])),
                check: Stored::Ssh {
                    key: key_blob.clone(),
                    signed_at: 5,
                    time_source: 1,
                },
            },
            Entry {
                commit: commit(2, &[1]),
                policy: None,
                check: Stored::Failed {
                    reason: "bad-signature".into(),
                    message: "x \"quoted\" y".into(),
                },
            },
            Entry {
                commit: commit(3, &[1, 2]),
                policy: None,
                check: Stored::Unchecked,
            },
            // the same leaf with another chain keeps its own chain
            Entry {
                commit: commit(5, &[4]),
                policy: None,
                check: Stored::Cert {
                    fingerprint: "ab".into(),
                    subject: "CN=a b, O=\"c\"".into(),
                    certs: vec![vec![0x30, 0x01]].into(),
                    signed_at: 7,
                    time_source: 1,
                },
            },
            Entry {
                commit: commit(4, &[3]),
                policy: None,
                check: Stored::Cert {
                    fingerprint: "ab".into(),
                    subject: "CN=a b, O=\"c\"".into(),
                    certs: vec![vec![0x30, 0x01], vec![0x30, 0x02, 0xff]].into(),
                    signed_at: -3,
                    time_source: 0,
                },
            },
        ];
        for e in entries {
            m.insert(e.commit.id, e);
        }
        let key = [9u8; 32];
        save(
            &p,
            &Cache::default(),
            m.values().map(|e| {
                (
                    std::borrow::Cow::Borrowed(e),
                    u32::from(e.commit.id.as_bytes()[0]),
                )
            }),
            &key,
        )
        .expect("save");
        let loaded = load(&p, &key).expect("a regular cache");
        assert_eq!(loaded.entries(), m);
        assert_eq!(loaded.commit(&commit(3, &[]).id), Some(commit(3, &[1, 2])));
        // saved again with one more: the old lines are kept as they are
        let more = Entry {
            commit: commit(6, &[5]),
            policy: None,
            check: Stored::Cert {
                fingerprint: "ab".into(),
                subject: "CN=a b, O=\"c\"".into(),
                certs: vec![vec![0x30, 0x01]].into(),
                signed_at: 8,
                time_source: 1,
            },
        };
        let p2 = dir.path().join("c2");
        assert_eq!(loaded.generation(&commit(5, &[]).id), Some(5));
        save(&p2, &loaded, [(std::borrow::Cow::Borrowed(&more), 0)], &key).expect("save");
        let again = load(&p2, &key).expect("a regular cache");
        assert_eq!(again.generation(&more.commit.id), None, "0 is unknown");
        assert_eq!(again.generation(&commit(5, &[]).id), Some(5));
        m.insert(more.commit.id, more);
        assert_eq!(again.entries(), m);
        // written by someone without the key: ignored
        assert!(load(&p, &[8u8; 32]).expect("a regular cache").is_empty());
        let text = std::fs::read_to_string(&p).expect("read");
        let text2 = std::fs::read_to_string(&p2).expect("read");
        assert_eq!(
            text2.matches("x ").count(),
            text.matches("x ").count(),
            "a chain is written once"
        );
        // flip a verdict: the checksum no longer matches, nothing is trusted
        std::fs::write(&p, text.replace("bad-signature", "bad-signaturX")).expect("write");
        assert!(load(&p, &key).expect("a regular cache").is_empty());
        // drop a parent: the walk would change, so nothing is trusted
        std::fs::write(&p, text.replacen(",02020202", ",", 1)).expect("write");
        assert!(load(&p, &key).expect("a regular cache").is_empty());
        std::fs::write(&p, &text[..text.len() / 2]).expect("write");
        assert!(load(&p, &key).expect("a regular cache").is_empty());
        std::fs::write(&p, text.replace(env!("CARGO_PKG_VERSION"), "0.0.0-other")).expect("write");
        assert!(load(&p, &key).expect("a regular cache").is_empty());
        std::fs::write(&p, "garbage").expect("write");
        assert!(load(&p, &key).expect("a regular cache").is_empty());
    }
}
