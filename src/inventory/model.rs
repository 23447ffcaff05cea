//! The inventory report: what `sigctl inventory` collects, prints in every
//! format, and reads back with `--merge` (JSON, `format`/`version` checked).

use serde::{Deserialize, Serialize};

/// The `format` field of an inventory's JSON.
pub const FORMAT: &str = "sigctl-inventory";
/// The JSON's version; `--merge` refuses another.
pub const VERSION: u32 = 1;

/// A whole inventory: one or many repositories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub format: String,
    pub version: u32,
    /// RFC 3339, the time every "days to" and "last 90 days" is counted from.
    pub generated_at: String,
    pub repositories: Vec<Repository>,
    pub identities: Vec<Identity>,
    pub exceptions: Vec<Exception>,
    pub suppliers: Vec<Supplier>,
    /// Per repository problems and the programme-level findings.
    pub findings: Vec<Finding>,
}

/// One repository read (or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repository {
    /// As given or found (a path, or the name a merged JSON gave it).
    pub path: String,
    /// HEAD's commit id, when there is one.
    pub head: Option<String>,
    /// The signing.toml blob at HEAD.
    pub policy_blob: Option<String>,
    /// `ok`, `no-policy`, `broken-policy`, `not-a-repository`, `unreadable`.
    pub status: String,
    pub identities: usize,
}

/// One identity of one repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// The repository's `path`.
    pub repository: String,
    pub name: String,
    pub owner: String,
    pub contact: Option<String>,
    pub purpose: Option<String>,
    pub environments: Vec<String>,
    /// The environments' classes (`prod`, …), sorted, without duplicates.
    pub classes: Vec<String>,
    /// `hsm`, `keyless`, `unmanaged`.
    pub custody: String,
    /// What names the key: a PKCS#11 URI, `ssh-ed25519 SHA256:…`, an
    /// OpenPGP fingerprint, `keyless ISSUER SUBJECT`, an X.509 CA + subject.
    pub key_reference: Option<String>,
    /// SHA-256 of the public key (SPKI DER, or the SSH key blob), hex, when
    /// known: the same key in two repositories has the same value.
    pub key_fingerprint: Option<String>,
    /// Every certificate the identity lists, each in its own window.
    pub certificates: Vec<Certificate>,
    /// Days until the last certificate still valid expires (negative: past).
    pub days_to_expiry: Option<i64>,
    /// When renewal is due (`renew_before` ahead of that expiry), RFC 3339.
    pub renewal_due: Option<String>,
    /// The latest signing record for it in refs/notes/signing, RFC 3339.
    pub last_used: Option<String>,
    /// Signing records in the 90 days before `generated_at`.
    pub events_90d: usize,
    /// Most severe first: `revoked`, `expired`, `shadow-key`, `renew-due`,
    /// `unused`, or `ok` alone.
    pub status: Vec<String>,
}

/// One certificate of an identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// Its path in the repository.
    pub path: String,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub serial: Option<String>,
    pub fingerprint_sha256: Option<String>,
    /// RFC 3339.
    pub not_before: Option<String>,
    pub not_after: Option<String>,
    /// Start of the renewal window (not_after − renew_before), RFC 3339.
    pub renew_from: Option<String>,
    /// `valid`, `renewal-due`, `expired`, `not-yet-valid`, `unreadable`.
    pub status: String,
}

/// An exception a policy holds (open or past its expiry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    pub repository: String,
    pub id: String,
    pub identity: String,
    pub environments: Vec<String>,
    pub owner: String,
    pub approved_by: Vec<String>,
    pub reason: String,
    /// RFC 3339.
    pub expires: String,
    /// Days until it expires (negative: overdue).
    pub days_left: i64,
    pub review: Option<String>,
}

/// A supplier a policy declares (`[suppliers.NAME]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supplier {
    pub repository: String,
    pub name: String,
    pub contact: Option<String>,
    /// The identities or keys whose signatures on its artefacts are accepted.
    pub accepts: Vec<String>,
    /// The evidence expected: `bundle`, `provenance`, `sbom`.
    pub evidence: Vec<String>,
    /// The latest verified evidence on record, RFC 3339.
    pub last_seen: Option<String>,
}

/// A finding: about one repository, or across repositories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `error` or `warning`.
    pub severity: String,
    /// A stable code (`identity-in-several-repositories`, `broken-policy`, …).
    pub code: String,
    pub message: String,
    pub repositories: Vec<String>,
    pub identities: Vec<String>,
    /// The control it touches (NIST CSF 2.0 / OWASP NHI, as `audit`).
    pub control: String,
}
