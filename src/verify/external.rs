//! `sigctl verify --policy FILE`: a policy held outside the repository it
//! judges. The file is checked as `sigctl check` checks a signing.toml (its
//! diagnostics, before anything is judged), and every file it names
//! (certificates, OpenPGP key files, CA files, the Sigstore trusted root) is
//! read from the file's own directory, never from the repository: paths
//! that leave that directory are refused as check refuses paths that leave
//! a repository.
//!
//! Reads files; never reads the repository, never prints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::check::{CheckReport, read_certificate, read_policy};
use crate::diag::Severity;
use crate::error::{Error, Result};
use crate::policy::{self, CertInput, Inputs, load};

/// A policy file outside the repository, checked, with the files it names.
#[derive(Clone)]
pub struct ExternalPolicy {
    /// The file as given.
    pub path: PathBuf,
    bytes: Vec<u8>,
    /// The trust files the policy names, by the path as written, read from
    /// the policy file's directory.
    pub(super) files: HashMap<String, Vec<u8>>,
    /// What the check found short of an error (an expiring certificate…).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for ExternalPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalPolicy")
            .field("path", &self.path)
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ExternalPolicy {
    /// The parsed policy (it parsed when it was loaded).
    pub(super) fn raw(&self) -> policy::raw::RawPolicy {
        load::parse(&self.path.display().to_string(), &self.bytes)
            .result
            .expect("because `load` refused a policy that does not parse")
    }
}

/// Read and check the policy file at `path`: `Ok(Err(report))` when the
/// check finds errors (the caller shows them and judges nothing).
pub fn load(
    path: &Path,
    now: OffsetDateTime,
) -> Result<std::result::Result<ExternalPolicy, CheckReport>> {
    let name = path.display().to_string();
    let bytes = match read_policy(path) {
        Ok(b) => b,
        Err(Error::NoPolicy { .. }) => {
            return Err(Error::Usage(format!(
                "the policy file {name} does not exist"
            )));
        }
        Err(e) => return Err(e),
    };
    // trust files are resolved against the file's directory, canonical so
    // that a symlink out of it is seen for what it is
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::fs::canonicalize(&parent).map_err(|e| Error::Unreadable {
        path: parent.clone(),
        message: e.to_string(),
    })?;
    let parsed = load::parse(&name, &bytes);
    let mut files = HashMap::new();
    let diagnostics = match &parsed.result {
        Ok(raw) => {
            let mut inputs = Inputs::default();
            for rel in policy::referenced_paths(raw) {
                let input = read_certificate(&dir, &rel);
                if let CertInput::Bytes(b) = &input {
                    files.insert(rel.clone(), b.clone());
                }
                inputs.certificates.insert(rel, input);
            }
            policy::validate(raw, &parsed.source, &inputs, now)
        }
        Err(d) => vec![d.clone()],
    };
    if parsed.result.is_err() || diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Ok(Err(CheckReport {
            policy_file: name,
            diagnostics,
            sources: vec![parsed.source],
        }));
    }
    Ok(Ok(ExternalPolicy {
        path: path.to_path_buf(),
        bytes,
        files,
        warnings: diagnostics
            .iter()
            .map(|d| format!("{name}: {}", d.message))
            .collect(),
    }))
}
