//! Provenance: every signing event recorded under `refs/notes/signing`.
//!
//! A record is one JSON line (so git's `cat_sort_uniq` notes merge unions
//! them) attached to what was signed: the tag object, the commit, or the git
//! blob id of an artefact's content (so a copy of the file finds it). The
//! notes commit that adds records is signed by the identity that made them,
//! with the same token key: a record cannot be forged without that key, and
//! `sigctl audit` checks it.
//!
//! Commits: git asks its x509 program to sign before the commit exists, but
//! the commit's id follows from the payload and the signature (git inserts
//! the signature as a `gpgsig` header, `add_header_signature`), so sigctl
//! computes it and records the event right away, under that id, in the
//! same run. A commit git then fails to write leaves a record whose object
//! is absent, which `sigctl audit` reports.

pub mod audit;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use time::OffsetDateTime;

use crate::policy::timestamp::Timestamp;
use crate::repo::notes::NotesAuthor;
use crate::repo::{ObjectId, Repo};
use crate::sign::{Key, PolicyView, SignError};
use crate::signature::x509;
use crate::signer::keyless::Logged;

/// The notes ref records live under.
pub const NOTES_REF: &str = "refs/notes/signing";

/// The record format's version (field `record`).
pub const RECORD_VERSION: u32 = 1;

/// What kind of signing event a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    Commit,
    Tag,
    Artifact,
    /// A certificate the internal CA issued (`sigctl ca issue`).
    Certificate,
}

/// The certificate a signature was made under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CertificateRef {
    /// Serial number, lowercase hex with colons.
    pub serial: String,
    pub issuer: String,
    pub subject: String,
    /// SHA-256 of the certificate DER, lowercase hex.
    pub fingerprint_sha256: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// The certificate itself, DER in base64 (keyless: it exists nowhere
    /// else in the repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub der: Option<String>,
}

/// The identity a keyless certificate binds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeylessRef {
    /// The OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8).
    pub issuer: String,
    /// The certified subject: a mail address or a workflow URI.
    pub subject: String,
}

/// The transparency-log entry of a keyless signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlogRef {
    /// The entry's index in the log.
    pub log_index: i64,
    /// The log's id (SHA-256 of its key), lowercase hex.
    pub log_id: String,
    /// When the log integrated the entry, RFC 3339 (its signed entry
    /// timestamp verified).
    pub integrated_time: String,
}

/// What was signed: an object (`object`), or an artefact (`name`, `sha256`, `blob`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Subject {
    /// The signed commit or tag object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The artefact's file name (no directories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// SHA-256 of the artefact's content, lowercase hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The git blob id of the artefact's content: what the record is attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// The release's tag object, for an artefact signed with it (`sigctl
    /// sign release`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The identity an issued certificate is for (`sigctl ca issue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_for: Option<String>,
}

/// One signing event. Field names are public: documented, never renamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "sigctl provenance record")]
pub struct Record {
    /// Record format version (1).
    pub record: u32,
    pub event: Event,
    /// The signing identity (a key of `[identities]` in signing.toml).
    pub identity: String,
    /// The identity's owner.
    pub owner: String,
    /// The identity's custody class (`hsm`, `keyless`, `unmanaged`).
    pub custody: String,
    /// The key reference: a PKCS#11 URI (never with a PIN).
    pub key: Option<String>,
    /// SHA-256 of the public key's SubjectPublicKeyInfo DER, `sha256:<hex>`.
    pub key_fingerprint: String,
    pub certificate: Option<CertificateRef>,
    pub subject: Subject,
    /// keyless: the identity the certificate binds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyless: Option<KeylessRef>,
    /// keyless: the Rekor entry of the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlog: Option<TlogRef>,
    /// The ref signed for (`refs/tags/v1.0.0`, the branch of a commit).
    #[serde(rename = "ref")]
    pub refname: Option<String>,
    /// SHA-256 of the signature bytes as stored (armoured CMS, or the raw
    /// signature of an artefact bundle), lowercase hex.
    pub signature_sha256: String,
    /// When it was signed, RFC 3339 UTC.
    pub signed_at: String,
    /// Where `signed_at` comes from.
    pub time_source: String,
    /// Blob id of the signing.toml in force (null: not committed yet).
    pub policy_blob: Option<String>,
    /// The sigctl version that signed.
    pub sigctl: String,
    /// Who approved the event (a certificate's issuance).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_by: Vec<String>,
}

impl Record {
    /// A record of a signature made through an identity's key.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        view: &PolicyView,
        key: &Key,
        event: Event,
        subject: Subject,
        refname: Option<&str>,
        signature: &[u8],
        now: OffsetDateTime,
    ) -> Record {
        let id = view.identity(&key.name).ok();
        let facts = &key.facts;
        let keyless = key.keyless_identity().map(|(issuer, subject)| KeylessRef {
            issuer: issuer.to_owned(),
            subject: subject.to_owned(),
        });
        Record {
            record: RECORD_VERSION,
            event,
            identity: key.name.clone(),
            owner: id.map(|i| i.owner.get().clone()).unwrap_or_default(),
            custody: key.custody.as_str().to_owned(),
            // as signing.toml writes it: a URI that held a PIN never clears
            key: id
                .filter(|_| !key.is_keyless())
                .and_then(|i| i.key.as_ref())
                .map(|k| k.get().clone()),
            key_fingerprint: format!("sha256:{}", x509::hex(&sha2::Sha256::digest(&key.spki))),
            certificate: Some(CertificateRef {
                serial: facts.serial.clone(),
                issuer: facts.issuer.clone(),
                subject: facts.subject.clone(),
                fingerprint_sha256: facts.fingerprint_sha256.clone(),
                not_after: Timestamp(facts.not_after).to_string(),
                der: key.is_keyless().then(|| {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.encode(&facts.der)
                }),
            }),
            keyless,
            tlog: None,
            subject,
            refname: refname.map(str::to_owned),
            signature_sha256: x509::hex(&sha2::Sha256::digest(signature)),
            signed_at: Timestamp(now).to_string(),
            time_source: "signer clock (untrusted)".into(),
            policy_blob: view.blob.clone(),
            sigctl: env!("CARGO_PKG_VERSION").into(),
            approved_by: Vec::new(),
        }
    }

    /// The signature's Rekor entry: its integrated time is the signing time.
    pub fn logged(mut self, logged: Option<&Logged>) -> Record {
        if let Some(l) = logged {
            self.tlog = Some(TlogRef {
                log_index: l.entry.log_index,
                log_id: x509::hex(&l.entry.key_id),
                integrated_time: Timestamp(l.integrated_time).to_string(),
            });
            self.signed_at = Timestamp(l.integrated_time).to_string();
            self.time_source = "rekor integrated time".into();
        }
        self
    }

    /// The signature's RFC 3161 timestamp time.
    pub fn timestamped(mut self, at: Option<OffsetDateTime>) -> Record {
        if let Some(t) = at {
            self.signed_at = Timestamp(t).to_string();
            self.time_source = "rfc3161 timestamp".into();
        }
        self
    }

    /// The record as its note line (no newline).
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parse a note line; `None` for what is not a record.
    /// A record from one note line. sigctl never records a PIN, but a note
    /// may hold anything: a key URI carrying one is masked.
    pub fn parse(line: &[u8]) -> Option<Record> {
        let mut record: Record = serde_json::from_slice(line).ok()?;
        record.key = record
            .key
            .map(|k| crate::lifecycle::shadow_keys::redact(&k));
        Some(record)
    }
}

/// The JSON Schema of a record, pretty, with a trailing newline (the
/// committed file's bytes).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Record);
    let mut value = serde_json::to_value(&schema).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "$id".into(),
            serde_json::Value::String(SCHEMA_PATH.to_owned()),
        );
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Where the record schema is published.
pub const SCHEMA_PATH: &str = "schema/provenance-record.schema.json";

/// Append `records` (each with the object it is attached to) in one notes
/// commit signed by the identity that made them, with the same key (a
/// keyless notes commit gets its own Rekor entry).
pub fn append(
    repo: &Repo,
    records: &[(ObjectId, Record)],
    key: &Key,
    now: OffsetDateTime,
) -> Result<ObjectId, SignError> {
    let edits: Vec<(ObjectId, Vec<u8>)> = records
        .iter()
        .map(|(target, r)| (*target, r.line().into_bytes()))
        .collect();
    let email = format!("{}@sigctl.invalid", key.name);
    let author = NotesAuthor {
        name: "sigctl",
        email: &email,
        time: now.unix_timestamp(),
    };
    let message = match records {
        [(target, r)] => format!(
            "sigctl: {} {} signed by {}",
            match r.event {
                Event::Commit => "commit",
                Event::Tag => "tag",
                Event::Artifact => "artefact",
                Event::Certificate => "certificate",
            },
            r.subject.name.clone().unwrap_or_else(|| target.to_string()),
            r.identity
        ),
        _ => format!("sigctl: {} signing events by {}", records.len(), key.name),
    };
    repo.append_notes(NOTES_REF, &edits, &author, &message, &mut |payload| {
        key.sign_cms_stamped(payload, now, false).map(|s| s.armored)
    })
}

/// Take back the notes commit `append` made when what it records was not
/// published after all (the tag ref or a bundle could not be written).
/// `false`: someone appended on top of it since, and the record stays: it
/// still records a signature the key made.
pub fn retract(repo: &Repo, commit: ObjectId, identity: &str, now: OffsetDateTime) -> bool {
    let email = format!("{identity}@sigctl.invalid");
    let author = NotesAuthor {
        name: "sigctl",
        email: &email,
        time: now.unix_timestamp(),
    };
    repo.retract_notes(NOTES_REF, commit, &author)
        .unwrap_or(false)
}
