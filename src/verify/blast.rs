//! The blast radius of a revocation: every commit, tag and recorded artefact
//! an identity's key signed (since a time), and the refs and releases that
//! hold them.
//!
//! Found as verify finds signers: each signature checked cryptographically,
//! then matched by the key material the identity has in HEAD's policy (so a
//! second identity with the same key is caught, and a signature by anyone
//! else is not), or by the name the policy of the object's parent gives its
//! signer (what a revocation reaches in `rules::not_revoked`). Every ref but
//! notes is walked (branches, tags, remotes, a detached HEAD); tags of tags
//! are followed; artefacts come from the records in `refs/notes/signing`.
//! Computes; never prints.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use serde::Serialize;
use time::OffsetDateTime;

use super::policy_at::{Engine, Resolved, material};
use super::rules::{Signed, identify, signer_material};
use super::signer::{Checked, Signer, check_signature, effective_time};
use crate::error::{Error, Result};
use crate::policy::timestamp::Timestamp;
use crate::provenance::{Event, NOTES_REF, Record};
use crate::repo::walk::{CommitInfo, IdMap};
use crate::repo::{ObjectId, Repo};
use crate::signature::openpgp;

/// Whose signatures, from when.
#[derive(Debug, Clone)]
pub struct BlastOptions {
    /// The identity (a key of `[identities]` in HEAD's policy).
    pub identity: String,
    /// Only signatures made at or after this time (None: all of them).
    pub since: Option<OffsetDateTime>,
    /// From when the revocation makes signatures invalid.
    pub invalid_from: OffsetDateTime,
}

/// A signed commit or tag in the blast radius.
#[derive(Debug, Clone, Serialize)]
pub struct BlastObject {
    /// The object id.
    pub id: String,
    /// `commit` or `tag`.
    pub kind: &'static str,
    /// A tag's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Who the policy in force names as its signer (None: no policy there
    /// knows the key).
    pub identity: Option<String>,
    /// `key` (the identity's key material signed it) or `name` (the policy
    /// in force names the revoked identity as its signer, with other
    /// material: an earlier certificate).
    pub matched_by: &'static str,
    pub signed_at: String,
    pub time_source: &'static str,
    /// Whether `sigctl verify` refuses it once the revocation is committed.
    pub invalid_after_revocation: bool,
    /// The refs that contain it (a commit: the branches and tags it is in;
    /// a tag: the refs that name it).
    pub refs: Vec<String>,
}

/// A recorded artefact in the blast radius.
#[derive(Debug, Clone, Serialize)]
pub struct BlastArtifact {
    pub name: Option<String>,
    pub sha256: Option<String>,
    /// The git blob id of its content (its record is attached there).
    pub blob: String,
    pub identity: String,
    pub signed_at: String,
    pub time_source: String,
    pub invalid_after_revocation: bool,
    /// The ref it was signed for.
    #[serde(rename = "ref")]
    pub refname: Option<String>,
    /// The release (tag) it was signed with, by name when a ref names it.
    pub release: Option<String>,
}

/// A record of a signed commit or tag that no ref reaches (pushed
/// elsewhere, rewritten, or deleted here).
#[derive(Debug, Clone, Serialize)]
pub struct BlastRecord {
    pub object: String,
    /// `commit` or `tag`.
    pub event: &'static str,
    pub identity: String,
    pub signed_at: String,
    #[serde(rename = "ref")]
    pub refname: Option<String>,
    /// Whether this repository holds the object.
    pub present: bool,
}

/// A ref that holds part of the blast radius.
#[derive(Debug, Clone, Serialize)]
pub struct BlastRef {
    #[serde(rename = "ref")]
    pub refname: String,
    /// Commits of the radius it contains.
    pub commits: usize,
    /// Whether the ref names a tag of the radius.
    pub signed_tag: bool,
}

/// What was read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scanned {
    pub refs: usize,
    pub commits: usize,
    pub tags: usize,
    pub records: usize,
}

/// Everything the key signed, and where it is.
#[derive(Debug, Clone, Serialize)]
pub struct BlastRadius {
    pub identity: String,
    /// The key material matched, described (never a private key).
    pub key_material: Vec<String>,
    pub since: Option<String>,
    pub invalid_from: String,
    pub commits: Vec<BlastObject>,
    pub tags: Vec<BlastObject>,
    pub artifacts: Vec<BlastArtifact>,
    pub recorded_objects: Vec<BlastRecord>,
    pub refs: Vec<BlastRef>,
    /// Tags that contain a commit of the radius, are a tag of it, or
    /// carry one of its artefacts.
    pub releases: Vec<String>,
    /// Signatures by the same key before `since`: not listed. Their times
    /// are mostly the signer's claim, which a thief can back-date.
    pub earlier: usize,
    pub scanned: Scanned,
}

impl BlastRadius {
    /// Objects and artefacts listed.
    pub fn total(&self) -> usize {
        self.commits.len() + self.tags.len() + self.artifacts.len() + self.recorded_objects.len()
    }
}

/// The identity's key material in `policy`, and its OpenPGP keys.
struct Target<'p> {
    name: String,
    material: Vec<String>,
    pgp: Option<&'p [openpgp::PublicKey]>,
}

impl Target<'_> {
    fn hit(&self, m: &[String]) -> bool {
        m.iter().any(|m| self.material.contains(m))
    }
}

/// Who signed `checked` under the first of `policies` that knows it, at the
/// time it judges; the signer's material (by the target's keys for OpenPGP).
fn attribute(
    policies: &[Rc<Resolved>],
    checked: &Checked,
    target: &Target,
) -> (Option<Signed>, OffsetDateTime, &'static str, Vec<String>) {
    let mut found = None;
    for p in policies {
        let Ok((at, trusted)) = effective_time(p, checked) else {
            continue;
        };
        if let Ok(s) = identify(p, checked, at) {
            let source = if trusted {
                match checked.signer {
                    Signer::Keyless(_) => super::signer::REKOR_TIME,
                    _ => super::signer::TSA_TIME,
                }
            } else {
                checked.time_source
            };
            found = Some((s, at, source));
            break;
        }
    }
    let (signed, at, source) = match found {
        Some((s, at, src)) => (Some(s), at, src),
        None => (None, checked.signed_at, checked.time_source),
    };
    let material = match (&checked.signer, &signed) {
        (Signer::Pgp { .. }, Some(s)) if s.pgp_primary.is_some() => signer_material(checked, s),
        (Signer::Pgp { sig, payload }, _) => target
            .pgp
            .and_then(|keys| openpgp::verify(sig, payload, keys).ok())
            .map(|v| vec![material::pgp(&v.primary)])
            .unwrap_or_default(),
        (_, _) => signer_material(
            checked,
            &Signed {
                identity: "".into(),
                pgp_primary: None,
            },
        ),
    };
    (signed, at, source, material)
}

/// A ref, with the tag objects it names (outermost first) and its commit.
struct RefTip {
    name: String,
    tags: Vec<ObjectId>,
    commit: ObjectId,
}

fn ref_tips(repo: &Repo) -> Result<Vec<RefTip>> {
    let mut out = Vec::new();
    let mut names: Vec<String> = repo
        .refs_under("refs/")?
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| !n.starts_with("refs/notes/"))
        .collect();
    if repo.current_branch().is_none() {
        names.push("HEAD".into());
    }
    for name in names {
        let Ok(id) = repo.resolve_object(&name) else {
            continue;
        };
        // a chain of tags ends at a commit (or at something else: skipped)
        let (tags, id) = repo.peel_tags(id);
        if repo.commit_info(&id).is_ok() {
            out.push(RefTip {
                name,
                tags,
                commit: id,
            });
        }
    }
    Ok(out)
}

fn ts(t: OffsetDateTime) -> String {
    Timestamp(t).to_string()
}

/// Describe key material for people (public facts only).
pub(crate) fn describe(m: &str) -> String {
    if let Some(hex) = m.strip_prefix("ssh:") {
        let blob: Vec<u8> = (0..hex.len())
            .step_by(2)
            .filter_map(|i| hex.get(i..i + 2))
            .filter_map(|b| u8::from_str_radix(b, 16).ok())
            .collect();
        let kind = blob
            .get(4..)
            .zip(blob.get(..4))
            .and_then(|(rest, len)| {
                let n = u32::from_be_bytes(len.try_into().ok()?) as usize;
                rest.get(..n)
            })
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_else(|| "ssh".into());
        use base64::Engine;
        use sha2::Digest;
        let fp =
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(&blob));
        return format!("{kind} SHA256:{fp}");
    }
    if let Some(h) = m.strip_prefix("spki:") {
        return format!("public key sha256:{h}");
    }
    if let Some(k) = m.strip_prefix("keyless:") {
        let (issuer, subject) = k.split_once('\n').unwrap_or((k, ""));
        return format!("keyless {subject} (issuer {issuer})");
    }
    if let Some(p) = m.strip_prefix("pgp:") {
        return format!("OpenPGP key {p}");
    }
    if let Some(s) = m.strip_prefix("x509:") {
        return format!("X.509 certificates for {s}");
    }
    m.to_owned()
}

/// The blast radius of revoking `opts.identity` in HEAD's policy.
pub fn blast_radius(repo: &Repo, opts: &BlastOptions) -> Result<BlastRadius> {
    let head = repo.resolve_commit_id("HEAD")?;
    let head_tree = repo.commit_info(&head)?.tree;
    let mut engine = Engine::new(repo);
    let head_policy = engine.policy_of_tree(&head_tree)?.ok_or_else(|| {
        Error::Usage("HEAD's signing.toml does not parse: nothing to revoke from".into())
    })?;
    let target = Target {
        name: opts.identity.clone(),
        material: head_policy
            .materials
            .get(&opts.identity)
            .cloned()
            .unwrap_or_default(),
        pgp: head_policy
            .by_pgp
            .iter()
            .find(|(n, _)| **n == *opts.identity)
            .map(|(_, k)| k.as_slice()),
    };
    let in_window = |at: OffsetDateTime| opts.since.is_none_or(|s| at >= s);
    let mut earlier = 0usize;

    // every ref but notes, and the commits they reach
    let tips = ref_tips(repo)?;
    let mut tip_commits: Vec<ObjectId> = tips.iter().map(|t| t.commit).collect();
    tip_commits.sort();
    tip_commits.dedup();
    let none = |_: &ObjectId| None;
    let no_generation = |_: &ObjectId| None;
    let (commits, _, fresh) =
        super::walk::walk_checking(repo, &tip_commits, &[], &none, &no_generation)?;
    let (checks, _) = super::walk::check_all(
        &mut engine,
        &commits,
        &super::cache::Cache::default(),
        fresh,
    );
    let index: IdMap<usize> = commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect();

    // which refs contain each commit: bitsets, children first
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
    let refs_of = |i: usize| -> Vec<usize> {
        (0..tips.len())
            .filter(|r| bits[i * words + r / 64] & (1 << (r % 64)) != 0)
            .collect()
    };

    // the policies a commit is judged by: its parents' (a root: its own)
    let policies_for = |engine: &mut Engine, c: &CommitInfo| -> Result<Vec<Rc<Resolved>>> {
        let mut out = Vec::new();
        let trees: Vec<ObjectId> = if c.parents.is_empty() {
            vec![c.tree]
        } else {
            let mut t = Vec::new();
            for p in &c.parents {
                match index.get(p) {
                    Some(&j) => t.push(commits[j].tree),
                    None => t.push(repo.commit_info(p)?.tree),
                }
            }
            t
        };
        for t in trees {
            if let Some(p) = engine.policy_of_tree(&t)? {
                out.push(p);
            }
        }
        Ok(out)
    };

    let mut hit_commits: Vec<(usize, BlastObject)> = Vec::new();
    for (i, c) in commits.iter().enumerate() {
        let Some(Ok(checked)) = &checks[i] else {
            continue;
        };
        let policies = policies_for(&mut engine, c)?;
        let (signed, at, source, mat) = attribute(&policies, checked, &target);
        let by_key = target.hit(&mat);
        let by_name = signed.as_ref().is_some_and(|s| *s.identity == *target.name);
        if !by_key && !by_name {
            continue;
        }
        if !in_window(at) {
            earlier += 1;
            continue;
        }
        hit_commits.push((
            i,
            BlastObject {
                id: c.id.to_string(),
                kind: "commit",
                name: None,
                identity: signed.map(|s| s.identity.to_string()),
                matched_by: if by_key { "key" } else { "name" },
                signed_at: ts(at),
                time_source: source,
                invalid_after_revocation: at >= opts.invalid_from,
                refs: refs_of(i)
                    .into_iter()
                    .map(|r| tips[r].name.clone())
                    .collect(),
            },
        ));
    }

    // tag objects the refs name (and the tags they tag)
    let mut tag_refs: BTreeMap<ObjectId, BTreeSet<String>> = BTreeMap::new();
    for t in &tips {
        for id in &t.tags {
            tag_refs.entry(*id).or_default().insert(t.name.clone());
        }
    }
    let mut hit_tags = Vec::new();
    let mut tag_names: HashMap<String, String> = HashMap::new();
    for (id, refs) in &tag_refs {
        let Ok(tag) = repo.tag_info(&id.to_string()) else {
            continue;
        };
        tag_names.insert(id.to_string(), tag.name.clone());
        let Some((sig, payload)) = &tag.signature else {
            continue;
        };
        let Ok(checked) = check_signature(sig, payload, tag.tagger_time) else {
            continue;
        };
        let policies = match repo.commit_info(&tag.target) {
            Ok(info) => engine.policy_of_tree(&info.tree)?.into_iter().collect(),
            Err(_) => Vec::new(),
        };
        let (signed, at, source, mat) = attribute(&policies, &checked, &target);
        let by_key = target.hit(&mat);
        let by_name = signed.as_ref().is_some_and(|s| *s.identity == *target.name);
        if !by_key && !by_name {
            continue;
        }
        if !in_window(at) {
            earlier += 1;
            continue;
        }
        hit_tags.push(BlastObject {
            id: id.to_string(),
            kind: "tag",
            name: Some(tag.name.clone()),
            identity: signed.map(|s| s.identity.to_string()),
            matched_by: if by_key { "key" } else { "name" },
            signed_at: ts(at),
            time_source: source,
            invalid_after_revocation: at >= opts.invalid_from,
            refs: refs.iter().cloned().collect(),
        });
    }

    // provenance records: artefacts, and signed objects no ref reaches
    let seen: BTreeSet<String> = commits
        .iter()
        .map(|c| c.id.to_string())
        .chain(tag_refs.keys().map(ObjectId::to_string))
        .collect();
    let mut artifacts = Vec::new();
    let mut recorded = Vec::new();
    let mut records = 0usize;
    for (target_blob, note) in repo.all_notes(NOTES_REF)? {
        for line in note.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let Ok(record) = serde_json::from_slice::<Record>(line) else {
                continue;
            };
            records += 1;
            let mut mat = Vec::new();
            if let Some(h) = record.key_fingerprint.strip_prefix("sha256:") {
                mat.push(material::spki(&h.to_ascii_lowercase()));
            }
            if let Some(k) = &record.keyless {
                mat.push(material::keyless(&k.issuer, &k.subject));
            }
            if !(record.identity == target.name || target.hit(&mat)) {
                continue;
            }
            let (when, source) = match &record.tlog {
                Some(t) => (
                    t.integrated_time.clone(),
                    "Rekor integrated time".to_owned(),
                ),
                None => (record.signed_at.clone(), record.time_source.clone()),
            };
            // a record whose time does not parse is listed: nothing is missed
            let at = Timestamp::parse(&when).ok().map(|t| t.0);
            if let Some(at) = at
                && !in_window(at)
            {
                earlier += 1;
                continue;
            }
            let invalid = at.is_none_or(|at| at >= opts.invalid_from);
            match record.event {
                // a certificate the key issued as the internal CA is signed by it too
                Event::Artifact | Event::Certificate => artifacts.push(BlastArtifact {
                    name: record.subject.name.clone(),
                    sha256: record.subject.sha256.clone(),
                    blob: record
                        .subject
                        .blob
                        .clone()
                        .unwrap_or_else(|| target_blob.to_string()),
                    identity: record.identity.clone(),
                    signed_at: when,
                    time_source: source,
                    invalid_after_revocation: invalid,
                    refname: record.refname.clone(),
                    release: record
                        .subject
                        .release
                        .as_ref()
                        .map(|r| tag_names.get(r).cloned().unwrap_or_else(|| r.clone())),
                }),
                Event::Commit | Event::Tag => {
                    let object = record
                        .subject
                        .object
                        .clone()
                        .unwrap_or_else(|| target_blob.to_string());
                    if seen.contains(&object) {
                        continue;
                    }
                    let present =
                        ObjectId::from_hex(object.as_bytes()).is_ok_and(|id| repo.has_object(&id));
                    recorded.push(BlastRecord {
                        object,
                        event: if record.event == Event::Commit {
                            "commit"
                        } else {
                            "tag"
                        },
                        identity: record.identity.clone(),
                        signed_at: when,
                        refname: record.refname.clone(),
                        present,
                    });
                }
            }
        }
    }
    artifacts.sort_by(|a, b| (&a.signed_at, &a.blob).cmp(&(&b.signed_at, &b.blob)));
    artifacts.dedup_by(|a, b| a.blob == b.blob && a.signed_at == b.signed_at);
    recorded.sort_by(|a, b| (&a.signed_at, &a.object).cmp(&(&b.signed_at, &b.object)));
    recorded.dedup_by(|a, b| a.object == b.object);

    // refs and releases
    let mut per_ref: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    for (i, _) in &hit_commits {
        for r in refs_of(*i) {
            per_ref.entry(tips[r].name.clone()).or_default().0 += 1;
        }
    }
    for t in &hit_tags {
        for r in &t.refs {
            per_ref.entry(r.clone()).or_default().1 = true;
        }
    }
    let mut releases: BTreeSet<String> = per_ref
        .keys()
        .filter_map(|r| r.strip_prefix("refs/tags/"))
        .map(str::to_owned)
        .collect();
    releases.extend(artifacts.iter().filter_map(|a| a.release.clone()));

    let mut hit_commits: Vec<BlastObject> = hit_commits.into_iter().map(|(_, o)| o).collect();
    hit_commits.sort_by(|a, b| a.signed_at.cmp(&b.signed_at));
    hit_tags.sort_by(|a, b| a.signed_at.cmp(&b.signed_at));
    Ok(BlastRadius {
        identity: opts.identity.clone(),
        key_material: target.material.iter().map(|m| describe(m)).collect(),
        since: opts.since.map(ts),
        invalid_from: ts(opts.invalid_from),
        commits: hit_commits,
        tags: hit_tags,
        artifacts,
        recorded_objects: recorded,
        refs: per_ref
            .into_iter()
            .map(|(refname, (commits, signed_tag))| BlastRef {
                refname,
                commits,
                signed_tag,
            })
            .collect(),
        releases: releases.into_iter().collect(),
        earlier,
        scanned: Scanned {
            refs: tips.len(),
            commits: commits.len(),
            tags: tag_refs.len(),
            records,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn material_is_described_by_public_facts() {
        // an ssh-ed25519 blob: type string, then 32 key bytes
        let mut blob = Vec::new();
        blob.extend_from_slice(&11u32.to_be_bytes());
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&32u32.to_be_bytes());
        blob.extend_from_slice(&[1u8; 32]);
        let d = describe(&super::material::ssh(&blob));
        assert!(d.starts_with("ssh-ed25519 SHA256:"), "{d}");
        assert_eq!(describe("spki:ab"), "public key sha256:ab");
        assert_eq!(
            describe("keyless:https://issuer\nme@example.com"),
            "keyless me@example.com (issuer https://issuer)"
        );
    }
}
