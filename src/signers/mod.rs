//! `sigctl signers`: a census of a history's signatures, by the signature
//! alone (no policy): every distinct signer with its format, counts, first
//! and last seen, refs and committers; the unsigned and the invalid apart.
//! One in-process walk ([`Repo::commits_parents_first_with`]) while workers
//! on every core check each signature; no git process. `starter` turns a
//! census into a starter `signing.toml` (`sigctl init --from-history`).

pub mod starter;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde::Serialize;
use sha2::Digest;

use crate::error::{Error, Result};
use crate::repo::walk::IdMap;
use crate::repo::{ObjectId, Repo};
use crate::signature::{openpgp, x509};

/// What the census reads besides the history.
#[derive(Debug, Default, Clone)]
pub struct CensusOptions {
    /// Specs as `verify` takes them (refs, commits, `A..B`); none: every
    /// ref but notes (and HEAD when detached).
    pub specs: Vec<String>,
    /// An allowed-signers file (`ssh-keygen -Y`): names SSH keys.
    pub allowed_signers: Option<String>,
    /// An OpenPGP key file: verifies OpenPGP signatures, names their keys.
    pub openpgp_keys: Option<Vec<u8>>,
}

/// The census of a history.
#[derive(Debug, Clone, Serialize)]
pub struct Census {
    /// The refs (or specs) whose history was read.
    pub refs: Vec<String>,
    pub commits: usize,
    pub tags: usize,
    pub signed_commits: usize,
    pub signed_tags: usize,
    pub signers: Vec<SignerSummary>,
    /// Commits without a signature, oldest first.
    pub unsigned: Vec<Unsigned>,
    /// Annotated tags without a signature.
    pub unsigned_tags: usize,
    /// Signatures that do not verify (attributed to nobody).
    pub invalid: Vec<Invalid>,
}

/// One distinct signer.
#[derive(Debug, Clone, Serialize)]
pub struct SignerSummary {
    /// `ssh`, `openpgp`, `x509` or `keyless`.
    pub format: &'static str,
    /// `SHA256:…` (SSH), the primary fingerprint or issuer key ID (OpenPGP),
    /// `issuer subject` (keyless), the subject (X.509).
    pub id: String,
    /// The OpenSSH public key line (SSH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Names from the allowed-signers file (principals, comment) or the
    /// OpenPGP key's user IDs.
    pub names: Vec<String>,
    /// Certificate issuer: the OIDC issuer (keyless), the issuer DN (X.509).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// False for OpenPGP signatures whose key was not given: well-formed,
    /// named by the issuer they claim, not checked.
    pub verified: bool,
    pub commits: usize,
    pub tags: usize,
    /// Committer (tagger) time, RFC 3339.
    pub first_seen: String,
    pub last_seen: String,
    pub refs: Vec<String>,
    /// `Name <email>` of the committers and taggers it appears with.
    pub committers: Vec<String>,
    #[serde(skip)]
    pub first: i64,
    #[serde(skip)]
    pub last: i64,
    /// The signer certificate (X.509, keyless: the last seen).
    #[serde(skip)]
    pub certificate: Option<Vec<u8>>,
    /// The OpenPGP certificate from the key file (binary packets).
    #[serde(skip)]
    pub openpgp_certificate: Option<Vec<u8>>,
    /// Committer e-mails with their counts, most frequent first.
    #[serde(skip)]
    pub emails: Vec<(String, usize)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unsigned {
    pub commit: String,
    pub committer: String,
    pub time: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Invalid {
    pub object: String,
    /// `commit` or `tag`.
    pub kind: &'static str,
    pub reason: String,
    pub committer: String,
    pub time: String,
}

/// Who signed, by the signature alone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    Ssh(Vec<u8>),
    Pgp { id: String, verified: bool },
    Keyless { issuer: String, subject: String },
    Cert { subject: String, issuer: String },
}

/// Who signed, by verify's own reading of the signature (the same formats,
/// limits and checks: signature over the payload; chains are a policy's
/// business), then, for OpenPGP, the key files given.
fn check(
    sig: &[u8],
    payload: &[u8],
    keys: &[openpgp::PublicKey],
) -> std::result::Result<(Seen, Option<Vec<u8>>), String> {
    use crate::verify::signer::{Signer, check_signature};
    let checked = check_signature(sig, payload, 0).map_err(|(_, why)| why)?;
    let cert_named = |leaf: &[u8], subject: String| {
        let issuer = x509::parse(leaf).map(|f| f.issuer).unwrap_or_default();
        (Seen::Cert { subject, issuer }, Some(leaf.to_vec()))
    };
    Ok(match checked.signer {
        Signer::Keyless(k) => {
            let leaf = k.certs.first().cloned().unwrap_or_default();
            match k.identity.issuer.clone() {
                Some(issuer) => (
                    Seen::Keyless {
                        issuer,
                        subject: k.identity.subject.clone(),
                    },
                    Some(leaf),
                ),
                None => cert_named(&leaf, k.subject.clone()),
            }
        }
        Signer::Cert { subject, certs, .. } => cert_named(
            certs.first().map(Vec::as_slice).unwrap_or_default(),
            subject.to_string(),
        ),
        Signer::Ssh { blob } => (Seen::Ssh(blob.to_vec()), None),
        Signer::Pgp { sig, payload } => {
            let issuer = openpgp::issuer(&sig).unwrap_or_else(|| "unknown".into());
            if keys.iter().any(|k| k.fingerprint.ends_with(&issuer)) {
                let v = openpgp::verify(&sig, &payload, keys).map_err(|e| e.to_string())?;
                (
                    Seen::Pgp {
                        id: v.primary,
                        verified: true,
                    },
                    None,
                )
            } else {
                (
                    Seen::Pgp {
                        id: issuer,
                        verified: false,
                    },
                    None,
                )
            }
        }
    })
}

/// `SHA256:…` as `ssh-keygen -l` prints it.
pub fn ssh_fingerprint(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(blob))
    )
}

fn ssh_key_line(blob: &[u8]) -> String {
    let kind = blob
        .get(..4)
        .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
        .and_then(|n| blob.get(4..4 + n))
        .map_or_else(
            || "ssh-unknown".into(),
            |k| String::from_utf8_lossy(k).into_owned(),
        );
    format!(
        "{kind} {}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

/// Key blob ─▶ names (principals, then the comment) from an allowed-signers file.
fn allowed_signers(text: &str) -> BTreeMap<Vec<u8>, Vec<String>> {
    let mut out: BTreeMap<Vec<u8>, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words
            .iter()
            .position(|w| w.starts_with("ssh-") || w.starts_with("ecdsa-") || w.starts_with("sk-"))
        else {
            continue;
        };
        let Some(blob) = words
            .get(at + 1)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        else {
            continue;
        };
        let names = out.entry(blob).or_default();
        if at > 0 {
            names.extend(words[0].split(',').map(str::to_owned));
        }
        let comment = words[at + 2..].join(" ");
        if !comment.is_empty() {
            names.push(comment);
        }
    }
    out
}

/// `Name <email>` of a `committer `/`tagger ` header line.
fn person(raw: &[u8], header: &[u8]) -> String {
    for line in raw.split(|b| *b == b'\n') {
        if line.is_empty() {
            break;
        }
        if let Some(rest) = line.strip_prefix(header) {
            let s = String::from_utf8_lossy(rest);
            return match s.rfind('>') {
                Some(end) => s[..=end].to_owned(),
                None => s.into_owned(),
            };
        }
    }
    String::new()
}

/// The e-mail of `Name <email>`.
pub fn email_of(person: &str) -> Option<&str> {
    let start = person.rfind('<')?;
    let e = person[start + 1..].trim_end_matches('>');
    e.contains('@').then_some(e)
}

pub fn rfc3339(t: i64) -> String {
    crate::policy::timestamp::Timestamp(
        time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    )
    .to_string()
}

/// A tip to census: its name, its commit, the tag objects on the way.
struct Tip {
    name: String,
    commit: ObjectId,
    tags: Vec<ObjectId>,
}

fn tips(repo: &Repo, specs: &[String]) -> Result<(Vec<Tip>, Vec<ObjectId>)> {
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut hide = Vec::new();
    if specs.is_empty() {
        names = repo
            .refs_under("refs/")?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !n.starts_with("refs/notes/"))
            .collect();
        if names.is_empty() || repo.current_branch().is_none() {
            names.push("HEAD".into());
        }
    } else {
        for spec in specs {
            let (tip, base) = repo.resolve_spec(spec)?;
            if let Some(b) = base {
                hide.push(b);
                out.push(Tip {
                    name: spec.clone(),
                    commit: tip.commit,
                    tags: Vec::new(),
                });
            } else {
                names.push(tip.refname.unwrap_or_else(|| spec.clone()));
            }
        }
    }
    for name in names {
        let Ok(id) = repo.resolve_object(&name) else {
            if specs.is_empty() && name == "HEAD" {
                continue; // an unborn branch
            }
            return Err(Error::Usage(format!("`{name}` names no object")));
        };
        // a chain of tags ends at a commit (or at something else: skipped)
        let (tags, id) = repo.peel_tags(id);
        if repo.commit_info(&id).is_ok() {
            out.push(Tip {
                name,
                commit: id,
                tags,
            });
        }
    }
    Ok((out, hide))
}

type Outcome = std::result::Result<(Seen, Option<Vec<u8>>), String>;

/// Count who signed what in `opts.specs`' history.
pub fn census(repo: &Repo, opts: &CensusOptions) -> Result<Census> {
    let keys = match &opts.openpgp_keys {
        Some(data) => {
            openpgp::read_keys(data).map_err(|e| Error::Usage(format!("--openpgp-keys: {e}")))?
        }
        None => Vec::new(),
    };
    let key_certs = match &opts.openpgp_keys {
        Some(data) => openpgp::certificates_of(data).unwrap_or_default(),
        None => Vec::new(),
    };
    let names = opts
        .allowed_signers
        .as_deref()
        .map(allowed_signers)
        .unwrap_or_default();
    let (tips, hide) = tips(repo, &opts.specs)?;
    let shallow: crate::repo::walk::IdSet =
        crate::files::read(&repo.common_dir().join("shallow"), crate::files::OWN_FILE)
            .map(|b| {
                b.split(|c| *c == b'\n')
                    .filter_map(|l| ObjectId::from_hex(l).ok())
                    .collect()
            })
            .unwrap_or_default();
    let mut tip_commits: Vec<ObjectId> = tips.iter().map(|t| t.commit).collect();
    tip_commits.sort();
    tip_commits.dedup();

    // the walk, and the signature checks on every core while it goes on
    struct Job {
        id: ObjectId,
        committer: String,
        signature: Option<(Vec<u8>, Vec<u8>)>,
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 16);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(4096);
    let rx = std::sync::Mutex::new(rx);
    let keys_ref = &keys;
    let (commits, mut seen) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = &rx;
                s.spawn(move || {
                    let mut part: IdMap<(String, Option<Outcome>)> = IdMap::default();
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok(job) = job else { break };
                        let outcome = job
                            .signature
                            .map(|(sig, payload)| check(&sig, &payload, keys_ref));
                        part.insert(job.id, (job.committer, outcome));
                    }
                    part
                })
            })
            .collect();
        // a shallow clone's boundary commits: read whole, their parents absent
        let boundary = |id: &ObjectId| {
            if !shallow.contains(id) {
                return None;
            }
            let mut info = repo.commit_info(id).ok()?;
            info.parents.clear();
            Some(info)
        };
        let walked = repo.commits_parents_first_with(
            &tip_commits,
            &hide,
            &boundary,
            &|_| None,
            &|info, raw| {
                let signature = if info.duplicate_signature {
                    Some((Vec::new(), Vec::new()))
                } else if info.signed {
                    crate::repo::walk::split_commit_signature(raw)
                } else {
                    None
                };
                let _ = tx.send(Job {
                    id: info.id,
                    committer: person(raw, b"committer "),
                    signature,
                });
            },
        );
        drop(tx);
        let mut all: IdMap<(String, Option<Outcome>)> = IdMap::default();
        for h in handles {
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        walked.map(|(w, _)| (w, all))
    })?;

    // the boundary commits the walk took whole: their signatures now
    let boundary: Vec<ObjectId> = commits
        .iter()
        .filter(|c| !seen.contains_key(&c.id))
        .map(|c| c.id)
        .collect();
    let checked = repo.par_map(&boundary, |repo, id| match repo.commit_signature(id) {
        Ok(Some((sig, payload))) => (
            person(&payload, b"committer "),
            Some(check(&sig, &payload, &keys)),
        ),
        // unsigned (its committer unread: a shallow boundary)
        _ => (String::new(), None),
    });
    seen.extend(boundary.into_iter().zip(checked));

    // which tips reach each commit: bitsets, children first
    let index: IdMap<usize> = commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let words = tips.len().div_ceil(64).max(1);
    let mut bits = vec![0u64; commits.len() * words];
    for (r, t) in tips.iter().enumerate() {
        if let Some(&i) = index.get(&t.commit) {
            bits[i * words + r / 64] |= 1 << (r % 64);
        }
    }
    for (i, c) in commits.iter().enumerate().rev() {
        for p in &c.parents {
            if let Some(&j) = index.get(p) {
                for w in 0..words {
                    let b = bits[i * words + w];
                    bits[j * words + w] |= b;
                }
            }
        }
    }

    struct Acc {
        summary: SignerSummary,
        refs: Vec<u64>,
        refnames: BTreeSet<String>,
        committers: BTreeMap<String, usize>,
    }
    let mut by_signer: BTreeMap<Seen, Acc> = BTreeMap::new();
    let mut add = |seen: Seen,
                   cert: Option<Vec<u8>>,
                   committer: &str,
                   at: i64,
                   tag: Option<&str>,
                   refbits: Option<&[u64]>| {
        let acc = by_signer.entry(seen.clone()).or_insert_with(|| {
            let (format, id, public_key, issuer, subject, verified, names_of) = match &seen {
                Seen::Ssh(blob) => (
                    "ssh",
                    ssh_fingerprint(blob),
                    Some(ssh_key_line(blob)),
                    None,
                    None,
                    true,
                    names.get(blob).cloned().unwrap_or_default(),
                ),
                Seen::Pgp { id, verified } => (
                    "openpgp",
                    id.clone(),
                    None,
                    None,
                    None,
                    *verified,
                    key_certs
                        .iter()
                        .find(|c| c.primary == *id)
                        .map(|c| c.user_ids.clone())
                        .unwrap_or_default(),
                ),
                Seen::Keyless { issuer, subject } => (
                    "keyless",
                    format!("{issuer} {subject}"),
                    None,
                    Some(issuer.clone()),
                    Some(subject.clone()),
                    true,
                    Vec::new(),
                ),
                Seen::Cert { subject, issuer } => (
                    "x509",
                    subject.clone(),
                    None,
                    Some(issuer.clone()),
                    Some(subject.clone()),
                    true,
                    Vec::new(),
                ),
            };
            let openpgp_certificate = match &seen {
                Seen::Pgp { id, verified: true } => key_certs
                    .iter()
                    .find(|c| c.primary == *id)
                    .map(|c| c.packets.clone()),
                _ => None,
            };
            Acc {
                summary: SignerSummary {
                    format,
                    id,
                    public_key,
                    names: names_of,
                    issuer,
                    subject,
                    verified,
                    commits: 0,
                    tags: 0,
                    first_seen: String::new(),
                    last_seen: String::new(),
                    refs: Vec::new(),
                    committers: Vec::new(),
                    first: at,
                    last: at,
                    certificate: None,
                    openpgp_certificate,
                    emails: Vec::new(),
                },
                refs: vec![0; words],
                refnames: BTreeSet::new(),
                committers: BTreeMap::new(),
            }
        });
        let s = &mut acc.summary;
        match tag {
            Some(name) => {
                s.tags += 1;
                acc.refnames.insert(name.to_owned());
            }
            None => s.commits += 1,
        }
        if let Some(b) = refbits {
            for (w, v) in acc.refs.iter_mut().zip(b) {
                *w |= v;
            }
        }
        s.first = s.first.min(at);
        s.last = s.last.max(at);
        if cert.is_some() {
            s.certificate = cert;
        }
        if !committer.is_empty() {
            *acc.committers.entry(committer.to_owned()).or_default() += 1;
        }
    };

    let mut census = Census {
        refs: tips.iter().map(|t| t.name.clone()).collect(),
        commits: commits.len(),
        tags: 0,
        signed_commits: 0,
        signed_tags: 0,
        signers: Vec::new(),
        unsigned: Vec::new(),
        unsigned_tags: 0,
        invalid: Vec::new(),
    };
    for (i, c) in commits.iter().enumerate() {
        let (committer, outcome) = seen.remove(&c.id).unwrap_or_default();
        match outcome {
            None => census.unsigned.push(Unsigned {
                commit: c.id.to_string(),
                committer,
                time: rfc3339(c.committer_time),
            }),
            Some(Ok((who, cert))) => {
                census.signed_commits += 1;
                add(
                    who,
                    cert,
                    &committer,
                    c.committer_time,
                    None,
                    Some(&bits[i * words..(i + 1) * words]),
                );
            }
            Some(Err(reason)) => census.invalid.push(Invalid {
                object: c.id.to_string(),
                kind: "commit",
                reason: if c.duplicate_signature {
                    "more than one signature header".into()
                } else {
                    reason
                },
                committer,
                time: rfc3339(c.committer_time),
            }),
        }
    }

    // tag objects, each once (a tag of a tag counts both)
    let mut tag_ids: Vec<(ObjectId, String)> = Vec::new();
    for t in &tips {
        for id in &t.tags {
            if !tag_ids.iter().any(|(x, _)| x == id) {
                tag_ids.push((*id, t.name.clone()));
            }
        }
    }
    let tag_checks = repo.par_map(&tag_ids, |repo, (id, _)| {
        let info = repo.tag_info(&id.to_string()).ok()?;
        let tagger = info
            .signature
            .as_ref()
            .map(|(_, payload)| person(payload, b"tagger "))
            .unwrap_or_default();
        let outcome = info
            .signature
            .as_ref()
            .map(|(sig, payload)| check(sig, payload, &keys));
        Some((info.tagger_time, tagger, outcome))
    });
    for ((id, refname), checked) in tag_ids.iter().zip(tag_checks) {
        let Some((at, tagger, outcome)) = checked else {
            continue;
        };
        census.tags += 1;
        match outcome {
            None => census.unsigned_tags += 1,
            Some(Ok((who, cert))) => {
                census.signed_tags += 1;
                add(who, cert, &tagger, at, Some(refname), None);
            }
            Some(Err(reason)) => census.invalid.push(Invalid {
                object: id.to_string(),
                kind: "tag",
                reason,
                committer: tagger,
                time: rfc3339(at),
            }),
        }
    }

    for (_, mut acc) in by_signer {
        let s = &mut acc.summary;
        for (r, t) in tips.iter().enumerate() {
            if acc.refs[r / 64] & (1 << (r % 64)) != 0 {
                acc.refnames.insert(t.name.clone());
            }
        }
        s.refs = acc.refnames.into_iter().collect();
        let mut emails: BTreeMap<String, usize> = BTreeMap::new();
        for (p, n) in &acc.committers {
            if let Some(e) = email_of(p) {
                *emails.entry(e.to_ascii_lowercase()).or_default() += n;
            }
        }
        let mut emails: Vec<(String, usize)> = emails.into_iter().collect();
        emails.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        s.emails = emails;
        s.committers = acc.committers.into_keys().collect();
        s.first_seen = rfc3339(s.first);
        s.last_seen = rfc3339(s.last);
        census.signers.push(acc.summary);
    }
    // most signatures first, then by id: a stable order
    census.signers.sort_by(|a, b| {
        (b.commits + b.tags)
            .cmp(&(a.commits + a.tags))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(census)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_signers_lines_name_keys_by_principals_and_comment() {
        let blob = crate::signature::ssh::key_blob(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1hcmtlZC1rZXktZm9yLXRlc3Rz",
        )
        .expect("a blob");
        let names = allowed_signers(
            "# comment\nalice@example.com,al@example.com namespaces=\"git\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1hcmtlZC1rZXktZm9yLXRlc3Rz alice laptop\n",
        );
        assert_eq!(
            names.get(&blob).map(Vec::as_slice),
            Some(
                &[
                    "alice@example.com".to_owned(),
                    "al@example.com".to_owned(),
                    "alice laptop".to_owned()
                ][..]
            )
        );
        assert_eq!(
            email_of("Alice <alice@example.com>"),
            Some("alice@example.com")
        );
        assert_eq!(
            person(
                b"tree x\ncommitter A B <a@b.c> 1 +0000\n\nmsg",
                b"committer "
            ),
            "A B <a@b.c>"
        );
    }
}
