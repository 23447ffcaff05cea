//! The policy in force at a tree: signing.toml *and every file it names*
//! (certificates, CA files, OpenPGP key files, the Sigstore trusted root),
//! resolved once per distinct set of blobs for fast lookups. Two trees hold
//! the same policy exactly when all those blobs are the same: that is what
//! "a commit changes the policy" means.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::error::Result;
use crate::policy::raw::RawPolicy;
use crate::policy::{self, view};
use crate::repo::walk::IdMap;
use crate::repo::{ObjectId, Repo};
use crate::signature::{fulcio, openpgp, ssh, x509};

/// The identity of a policy (signing.toml + the blobs it names), interned.
pub(super) type PolicyId = u32;

/// A revocation, bound to the key material its identity had in the policy
/// that holds it (so it reaches any identity that signs with that material).
pub(super) struct Revoked {
    pub identity: Arc<str>,
    pub material: Vec<String>,
    /// Signatures from this time on are revoked (by a tip's policy).
    pub from: OffsetDateTime,
}

/// A policy as it stood in one tree, resolved for fast lookups.
pub(super) struct Resolved {
    pub id: PolicyId,
    pub raw: Rc<RawPolicy>,
    /// certificate SHA-256 fingerprint → identity
    pub by_cert: HashMap<String, Arc<str>>,
    /// certificates that do not carry their identity's `public_key` pin
    pub pin_mismatch: HashMap<String, Arc<str>>,
    /// SSH public key blob → identity
    pub by_ssh: HashMap<Vec<u8>, Arc<str>>,
    /// certificate SHA-256 fingerprint → its (not before, not after): an
    /// identity may list several, each valid in its own window
    pub validity: HashMap<String, (OffsetDateTime, OffsetDateTime)>,
    /// keyless identities: (name, issuer, subject)
    pub keyless: Vec<(Arc<str>, String, String)>,
    /// identities with an OpenPGP key file: (name, its keys)
    pub by_pgp: Vec<(Arc<str>, Vec<openpgp::PublicKey>)>,
    /// identities anchored at a CA: (name, the CA certificates, the subject)
    pub anchored: Vec<(Arc<str>, fulcio::TrustedRoot, String)>,
    /// the Sigstore trusted root the policy names, if any
    pub trust: Option<fulcio::TrustedRoot>,
    /// the revocations this policy holds
    pub revoked: Vec<Revoked>,
    /// identity → its key material (what a revocation of it would bind)
    pub materials: HashMap<String, Vec<String>>,
    /// keyless and timestamp checks under `trust`, each made once
    pub memo: std::cell::RefCell<super::signer::TrustMemo>,
}

impl Resolved {
    /// Whether this policy holds a revocation naming `identity`.
    pub fn revokes_name(&self, identity: &str) -> bool {
        self.revoked.iter().any(|r| &*r.identity == identity)
    }

    /// A policy with nothing resolved yet.
    pub fn bare(id: PolicyId, raw: Rc<RawPolicy>) -> Resolved {
        Resolved {
            id,
            raw,
            by_cert: HashMap::new(),
            pin_mismatch: HashMap::new(),
            by_ssh: HashMap::new(),
            validity: HashMap::new(),
            keyless: Vec::new(),
            by_pgp: Vec::new(),
            anchored: Vec::new(),
            trust: None,
            revoked: Vec::new(),
            materials: HashMap::new(),
            memo: Default::default(),
        }
    }
}

/// Key material in one vocabulary for identities and signers: a revocation
/// of one identity reaches another that lists the same material.
pub(super) mod material {
    use crate::signature::x509;

    pub fn spki(public_key_sha256: &str) -> String {
        format!("spki:{public_key_sha256}")
    }
    pub fn ssh(blob: &[u8]) -> String {
        format!("ssh:{}", x509::hex(blob))
    }
    pub fn keyless(issuer: &str, subject: &str) -> String {
        format!("keyless:{issuer}\n{subject}")
    }
    pub fn pgp(primary: &str) -> String {
        format!("pgp:{}", primary.to_ascii_uppercase())
    }
    pub fn x509_subject(subject: &str) -> String {
        format!("x509:{subject}")
    }
}

pub(super) struct Engine<'a> {
    pub repo: &'a Repo,
    policies: IdMap<Option<Rc<RawPolicy>>>,
    trees: IdMap<Option<Rc<Resolved>>>,
    /// tree id → its policy's identity (None: no signing.toml)
    tree_ids: IdMap<Option<PolicyId>>,
    fingerprints: IdMap<Option<x509::CertFacts>>,
    /// tree id → blob id of its signing.toml
    pub policy_blobs: IdMap<Option<ObjectId>>,
    /// policy key (signing.toml blob + the blobs of the files it names) → its id
    ids: HashMap<(ObjectId, Vec<Option<ObjectId>>), PolicyId>,
    /// signing.toml blob → its policy's id when it names no file
    blob_only: IdMap<Option<PolicyId>>,
    /// policy id → resolution (None: it does not parse)
    resolutions: HashMap<PolicyId, Option<Rc<Resolved>>>,
    /// `verify --policy FILE`: the one policy of every tree, whatever the
    /// tree holds (its revocations apply by time only, through the tips)
    external: Option<Rc<Resolved>>,
}

/// The files of a policy: from a tree of the repository, or (an external
/// policy) the bytes read beside the policy file, by the path the policy names.
enum Source<'s> {
    Tree(&'s ObjectId),
    Files(&'s HashMap<String, Vec<u8>>),
}

/// The id of the external policy (the only one an external engine knows).
pub(super) const EXTERNAL_ID: PolicyId = 0;

impl<'a> Engine<'a> {
    pub fn new(repo: &'a Repo) -> Self {
        Engine {
            repo,
            policies: IdMap::default(),
            trees: IdMap::default(),
            tree_ids: IdMap::default(),
            fingerprints: IdMap::default(),
            policy_blobs: IdMap::default(),
            ids: HashMap::new(),
            blob_only: IdMap::default(),
            resolutions: HashMap::new(),
            external: None,
        }
    }

    /// An engine for `verify --policy FILE`: every tree's policy is the
    /// external one, as it would resolve with revocations left out (they
    /// apply by time, through the tips: see [`Engine::external_policy`]);
    /// the repository's own signing.toml and trust files are never read.
    /// Returns the engine and the full policy (revocations included).
    pub fn external(repo: &'a Repo, ext: &super::external::ExternalPolicy) -> (Self, Rc<Resolved>) {
        let mut engine = Engine::new(repo);
        let raw = Rc::new(ext.raw());
        let full = engine
            .resolve(Source::Files(&ext.files), raw, EXTERNAL_ID)
            .expect("because resolving from files reads no object");
        // the same files resolved again: cheaper than cloning the keys
        let mut parent = engine
            .resolve(Source::Files(&ext.files), full.raw.clone(), EXTERNAL_ID)
            .expect("because resolving from files reads no object");
        parent.revoked.clear();
        engine.external = Some(Rc::new(parent));
        (engine, Rc::new(full))
    }

    /// The parsed signing.toml blob (None: it does not parse).
    fn raw(&mut self, blob: &ObjectId) -> Result<Option<Rc<RawPolicy>>> {
        if let Some(p) = self.policies.get(blob) {
            return Ok(p.clone());
        }
        // a blob over the limit is a policy that does not parse
        let parsed = self
            .repo
            .blob_within(blob, crate::files::POLICY.limit)?
            .and_then(|bytes| policy::load::parse(policy::FILE_NAME, &bytes).result.ok())
            .map(Rc::new);
        self.policies.insert(*blob, parsed.clone());
        Ok(parsed)
    }

    /// The identity of the policy in a tree: None when the tree has no
    /// signing.toml. A signing.toml that does not parse still has one (it
    /// differs from every policy that does).
    pub fn policy_id(&mut self, tree: &ObjectId) -> Result<Option<PolicyId>> {
        if self.external.is_some() {
            return Ok(Some(EXTERNAL_ID));
        }
        if let Some(id) = self.tree_ids.get(tree) {
            return Ok(*id);
        }
        let id = match self.policy_blob(tree)? {
            None => None,
            // a policy that names no file is its blob alone
            Some(blob) if matches!(self.blob_only.get(&blob), Some(Some(_))) => {
                self.blob_only.get(&blob).copied().flatten()
            }
            Some(blob) => {
                // the blob fixes which files the policy names: their blobs,
                // in that order, complete the key
                let mut files = Vec::new();
                if let Some(raw) = self.raw(&blob)? {
                    for (_, path) in view::trust_files(&raw) {
                        files.push(self.repo.blob_in_tree(tree, path)?);
                    }
                }
                let no_files = files.is_empty();
                let next = self.ids.len() as PolicyId;
                let id = *self.ids.entry((blob, files)).or_insert(next);
                self.blob_only.insert(blob, no_files.then_some(id));
                Some(id)
            }
        };
        self.tree_ids.insert(*tree, id);
        Ok(id)
    }

    /// The policy in force in a tree, resolved (None: no signing.toml, or
    /// one that does not parse: it authorises nobody).
    pub fn policy_of_tree(&mut self, tree: &ObjectId) -> Result<Option<Rc<Resolved>>> {
        if let Some(e) = &self.external {
            return Ok(Some(e.clone()));
        }
        if let Some(r) = self.trees.get(tree) {
            return Ok(r.clone());
        }
        let resolved = match self.policy_id(tree)? {
            None => None,
            Some(id) => match self.resolutions.get(&id) {
                Some(r) => r.clone(),
                None => {
                    let blob = self.policy_blob(tree)?;
                    let raw = match &blob {
                        Some(b) => self.raw(b)?,
                        None => None,
                    };
                    let r = match raw {
                        Some(raw) => Some(Rc::new(self.resolve(Source::Tree(tree), raw, id)?)),
                        None => None,
                    };
                    self.resolutions.insert(id, r.clone());
                    r
                }
            },
        };
        self.trees.insert(*tree, resolved.clone());
        Ok(resolved)
    }

    /// The blob id of signing.toml in a tree (memoised).
    pub fn policy_blob(&mut self, tree: &ObjectId) -> Result<Option<ObjectId>> {
        if let Some(b) = self.policy_blobs.get(tree) {
            return Ok(*b);
        }
        let b = self.repo.blob_in_tree(tree, policy::FILE_NAME)?;
        self.policy_blobs.insert(*tree, b);
        Ok(b)
    }

    /// A trust file the policy names (None: missing).
    fn file(&self, src: &Source, path: &str) -> Result<Option<Vec<u8>>> {
        match src {
            Source::Tree(tree) => match self.repo.blob_in_tree(tree, path)? {
                Some(b) => Ok(Some(
                    self.repo
                        .blob_within(&b, crate::files::TRUST_FILE.limit)?
                        .unwrap_or_default(),
                )),
                None => Ok(None),
            },
            Source::Files(files) => Ok(files.get(path).cloned()),
        }
    }

    /// The facts of a certificate the policy names (memoised by blob in a tree).
    fn cert_facts(&mut self, src: &Source, path: &str) -> Result<Option<x509::CertFacts>> {
        let Source::Tree(tree) = src else {
            return Ok(self.file(src, path)?.and_then(|b| x509::parse(&b).ok()));
        };
        let Some(cert_blob) = self.repo.blob_in_tree(tree, path)? else {
            return Ok(None);
        };
        if !self.fingerprints.contains_key(&cert_blob) {
            let facts = x509::parse(
                &self
                    .repo
                    .blob_within(&cert_blob, crate::files::TRUST_FILE.limit)?
                    .unwrap_or_default(),
            )
            .ok();
            self.fingerprints.insert(cert_blob, facts);
        }
        Ok(self.fingerprints.get(&cert_blob).cloned().flatten())
    }

    fn resolve(&mut self, src: Source, raw: Rc<RawPolicy>, id: PolicyId) -> Result<Resolved> {
        let mut r = Resolved::bare(id, raw.clone());
        let mut materials: HashMap<String, Vec<String>> = HashMap::new();
        for (name, ident) in &raw.identities {
            let shared: Arc<str> = name.get().as_str().into();
            let mut material = Vec::new();
            for path in ident.certificates() {
                if let Some(f) = self.cert_facts(&src, path.get())? {
                    material.push(material::spki(&f.public_key_sha256));
                    if !view::pin_admits(ident, &f.public_key_sha256) {
                        // a certificate without the pinned key is no one's
                        r.pin_mismatch
                            .insert(f.fingerprint_sha256.clone(), shared.clone());
                    } else {
                        r.by_cert
                            .insert(f.fingerprint_sha256.clone(), shared.clone());
                        r.validity
                            .insert(f.fingerprint_sha256.clone(), (f.not_before, f.not_after));
                    }
                }
            }
            if let Some(k) = &ident.ssh_key
                && let Some(b) = ssh::key_blob(k.get())
            {
                material.push(material::ssh(&b));
                r.by_ssh.insert(b, shared.clone());
            }
            if let Some(path) = &ident.openpgp_key
                && let Some(b) = self.file(&src, path.get())?
                && let Ok(keys) = openpgp::read_keys(&b)
            {
                for k in &keys {
                    material.push(material::pgp(&k.primary));
                }
                r.by_pgp.push((shared.clone(), keys));
            }
            // a CA file that is missing or holds no CA anchors nothing
            if let Some(x) = &ident.x509 {
                material.push(material::x509_subject(x.get().subject.get()));
                if let Some(b) = self.file(&src, x.get().ca.get())?
                    && let Ok(cas) = x509::ca_certificates(&b)
                {
                    r.anchored.push((
                        shared.clone(),
                        fulcio::TrustedRoot {
                            cas,
                            tlogs: Vec::new(),
                            tsas: Vec::new(),
                            windows: Vec::new(),
                            id: [0; 32],
                        },
                        x.get().subject.get().clone(),
                    ));
                }
            }
            if let Some(kl) = &ident.keyless {
                material.push(material::keyless(kl.issuer.get(), kl.subject.get()));
                r.keyless.push((
                    shared.clone(),
                    kl.issuer.get().clone(),
                    kl.subject.get().clone(),
                ));
            }
            materials.insert(name.get().clone(), material);
        }
        // a trusted root that is missing or does not parse trusts nothing
        if let Some(sg) = &raw.sigstore
            && let Some(b) = self.file(&src, sg.trusted_root.get())?
        {
            r.trust = fulcio::TrustedRoot::from_json(&b).ok();
        }
        for rev in &raw.revocations {
            let from = view::revoked_from(rev.get());
            r.revoked.push(Revoked {
                identity: rev.identity.get().as_str().into(),
                material: materials
                    .get(rev.identity.get())
                    .cloned()
                    .unwrap_or_default(),
                from,
            });
        }
        r.materials = materials;
        Ok(r)
    }
}

/// The environment a ref belongs to under a policy (the most specific pattern).
pub(super) fn environment_of(policy: &RawPolicy, refname: &str) -> Option<String> {
    view::environment_of(policy, refname)
}
