//! The `signing.toml` model and its rules.
//!
//! Pure: bytes, the referenced certificate files and the time come in;
//! the model and diagnostics go out. Nothing here reads files or the clock.

pub mod duration;
pub mod edit;
pub mod load;
pub mod pkcs11_uri;
pub mod raw;
pub mod ref_pattern;
pub mod rules;
pub mod schema;
pub mod timestamp;
pub mod view;

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::diag::{Diagnostic, SourceFile};
use crate::signature::x509::{self, CertError, CertFacts};
pub use raw::RawPolicy;

/// The name of the policy file at a repository's root.
pub const FILE_NAME: &str = "signing.toml";

/// A certificate file as the caller found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertInput {
    Bytes(Vec<u8>),
    Missing,
    NotAFile,
    TooLarge(u64),
    /// The path leaves the repository (absolute, or through `..`).
    OutsideRepository,
    Unreadable(String),
}

/// Certificates are capped like policies: a real one is a few kilobytes.
pub const MAX_CERTIFICATE_BYTES: u64 = 1024 * 1024;

/// Files the policy refers to, keyed by the path as written in the policy
/// (certificates, OpenPGP key files, the Sigstore trusted root).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub certificates: BTreeMap<String, CertInput>,
}

/// Everything a rule may look at.
pub struct Ctx<'a> {
    pub policy: &'a RawPolicy,
    pub src: &'a SourceFile,
    pub inputs: &'a Inputs,
    /// Certificates parsed once, keyed like `inputs.certificates`.
    pub certs: BTreeMap<&'a str, Result<CertFacts, CertError>>,
    pub now: OffsetDateTime,
    pub out: Vec<Diagnostic>,
}

impl Ctx<'_> {
    pub fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }
}

/// Phase two: run every rule over a parsed policy. Diagnostics come back in
/// file order.
pub fn validate(
    policy: &RawPolicy,
    src: &SourceFile,
    inputs: &Inputs,
    now: OffsetDateTime,
) -> Vec<Diagnostic> {
    let certs = inputs
        .certificates
        .iter()
        .filter_map(|(path, input)| match input {
            CertInput::Bytes(b) => Some((path.as_str(), x509::parse(b))),
            _ => None,
        })
        .collect();
    let mut cx = Ctx {
        policy,
        src,
        inputs,
        certs,
        now,
        out: Vec::new(),
    };
    for rule in rules::RULES {
        (rule.check)(&mut cx);
    }
    let mut out = cx.out;
    out.sort_by_key(|d| (d.line, d.column, d.code));
    out.dedup();
    out
}

/// Every file a policy names (certificates, OpenPGP key files, the Sigstore
/// trusted root), for the caller to read into `Inputs`.
pub fn referenced_paths(policy: &RawPolicy) -> Vec<String> {
    view::trust_files(policy)
        .into_iter()
        .map(|(_, path)| path.to_owned())
        .collect()
}
