//! `sigctl sign artifact`: Sigstore bundles (v0.3, messageSignature, the
//! certificate as verification material) for signatures made on a token,
//! built with the sigstore-rust crates. Verification lives in
//! `sign::verify_artifact` (re-exported here).

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::Digest;
use sigstore_bundle::{BundleV03, VerificationMaterialV03};
use sigstore_types::bundle::{MessageDigest, MessageSignature, SignatureContent};
use sigstore_types::{DerCertificate, DigestBytes, HashAlgorithm, SignatureBytes};
use time::OffsetDateTime;

pub use super::verify_artifact::{BundleError, VerifiedArtifact, verify_artifact};
use super::{PolicyView, SignError, clear, open_key};
use crate::error::Error;
use crate::provenance::{self, Event, Record, Subject};
use crate::repo::Repo;
use crate::signature::x509;
use crate::signer::{KeyAlgorithm, SignerError, TokenAccess};

/// One signed artefact.
#[derive(Debug)]
pub struct ArtifactReport {
    pub file: PathBuf,
    pub bundle: PathBuf,
    pub sha256: String,
}

/// Hash a file, streaming (hashing is the only work; the file is read once).
pub fn digest_file(path: &Path, hash: HashAlgorithm) -> Result<Vec<u8>, Error> {
    let unreadable = |e: std::io::Error| Error::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let (mut f, _) = crate::files::open(path, crate::files::ARTEFACT)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut h256 = sha2::Sha256::new();
    let mut h384 = sha2::Sha384::new();
    let sha384 = matches!(hash, HashAlgorithm::Sha2384);
    loop {
        let n = f.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        if sha384 {
            h384.update(&buf[..n]);
        } else {
            h256.update(&buf[..n]);
        }
    }
    Ok(if sha384 {
        h384.finalize().to_vec()
    } else {
        h256.finalize().to_vec()
    })
}

/// What one read of an artefact yields.
pub struct FileDigests {
    /// The digest the signature is over (SHA-256 or SHA-384, by the key's curve).
    pub signed: Vec<u8>,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// The git blob id of the content.
    pub blob: crate::repo::ObjectId,
}

/// Hash a file once for everything signing needs: the signed digest, its
/// SHA-256 and its git blob id (provenance is attached to the blob id).
pub fn digest_file_all(path: &Path, hash: HashAlgorithm) -> Result<FileDigests, Error> {
    use std::sync::Arc;
    use std::sync::mpsc::sync_channel;
    let unreadable = |e: std::io::Error| Error::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let (mut f, _) = crate::files::open(path, crate::files::ARTEFACT)?;
    let len = f.metadata().map_err(unreadable)?.len();
    let sha384 = matches!(hash, HashAlgorithm::Sha2384);
    // the file is read once; the SHA-2 and the blob id (SHA-1) hash on two cores
    let (to_sha2, sha2_in) = sync_channel::<Arc<Vec<u8>>>(4);
    let (to_sha1, sha1_in) = sync_channel::<Arc<Vec<u8>>>(4);
    let (read, sha2, blob) = std::thread::scope(|s| {
        let sha2 = s.spawn(move || {
            let mut h256 = sha2::Sha256::new();
            let mut h384 = sha2::Sha384::new();
            for chunk in sha2_in {
                h256.update(&chunk[..]);
                if sha384 {
                    h384.update(&chunk[..]);
                }
            }
            (h256.finalize().to_vec(), h384.finalize().to_vec())
        });
        let sha1 = s.spawn(move || {
            let mut blob = sha1::Sha1::new();
            blob.update(format!("blob {len}\0").as_bytes());
            for chunk in sha1_in {
                blob.update(&chunk[..]);
            }
            blob.finalize().to_vec()
        });
        let mut read = 0u64;
        let result = loop {
            let mut buf = vec![0u8; 1 << 20];
            let n = match f.read(&mut buf) {
                Ok(n) => n,
                Err(e) => break Err(unreadable(e)),
            };
            if n == 0 {
                break Ok(read);
            }
            read += n as u64;
            buf.truncate(n);
            let chunk = Arc::new(buf);
            if to_sha2.send(chunk.clone()).is_err() || to_sha1.send(chunk).is_err() {
                break Err(Error::Unreadable {
                    path: path.to_path_buf(),
                    message: "hashing stopped".into(),
                });
            }
        };
        drop((to_sha2, to_sha1));
        let sha2 = sha2.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        let blob = sha1.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (result, sha2, blob)
    });
    if read? != len {
        return Err(Error::Unreadable {
            path: path.to_path_buf(),
            message: "the file changed while it was read".into(),
        });
    }
    let (sha256, sha384_digest) = sha2;
    Ok(FileDigests {
        signed: if sha384 {
            sha384_digest
        } else {
            sha256.clone()
        },
        sha256: x509::hex(&sha256),
        blob: crate::repo::ObjectId::from_bytes_or_panic(&blob),
    })
}

/// The bundle path for an artefact.
pub fn bundle_path(file: &Path) -> PathBuf {
    let mut name = file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".sigstore.json");
    file.with_file_name(name)
}

/// A bundle path sigctl may write: absent, or a regular file (not a link)
/// within the bundle limit, which it can put back if the signing fails.
fn check_replaceable(bundle: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(bundle) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Unreadable {
            path: bundle.to_path_buf(),
            message: e.to_string(),
        }),
        Ok(m) if m.file_type().is_symlink() => Err(Error::Unwritable {
            path: bundle.to_path_buf(),
            message: format!(
                "it is a symbolic link{}; sigctl replaces only a regular file: remove it and sign again",
                crate::files::open(bundle, crate::files::BUNDLE)
                    .err()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ),
        }),
        Ok(_) => crate::files::open(bundle, crate::files::BUNDLE)
            .map(|_| ())
            .map_err(|e| Error::Unwritable {
                path: bundle.to_path_buf(),
                message: format!("{e}; remove it and sign again"),
            }),
    }
}

/// Sign every file, then write every bundle (each through a temporary file
/// and a rename); if anything fails, no bundle is left behind.
pub fn sign_artifacts(
    repo: &Repo,
    access: &TokenAccess,
    identity: &str,
    files: &[PathBuf],
    refname: Option<&str>,
    timestamp: bool,
    now: OffsetDateTime,
) -> Result<Vec<ArtifactReport>, SignError> {
    let files = checked_files(files)?;
    let view = PolicyView::load(repo)?;
    let mut cleared = clear(repo, &view, identity, refname, now)?;
    if timestamp && cleared.tsa.is_none() && matches!(cleared.custody, super::Custodian::Hsm { .. })
    {
        cleared.tsa = Some(view.timestamp_authority(repo, now)?);
    }
    let key = open_key(&cleared, access, now)?;
    let (made, records) = make_bundles(&view, &key, &files, refname, None, now)?;
    // all signatures made: now write, all or nothing
    let bundles: Vec<(PathBuf, String)> = made
        .iter()
        .map(|m| (m.bundle.clone(), m.json.clone()))
        .collect();
    crate::interrupt::test_point("signed");
    // the last moment to stop with nothing written
    crate::interrupt::checkpoint()?;
    // the records (signed by the same key) before the bundles are published;
    // a bundle that cannot be put in place takes the records back
    write_all_or_nothing(
        &bundles,
        || provenance::append(repo, &records, &key, now),
        || Ok(()),
        |notes| {
            provenance::retract(repo, notes, &cleared.name, now);
        },
    )?;
    Ok(made.into_iter().map(Made::report).collect())
}

/// Provenance records, each with the object it is attached to.
pub(super) type Records = Vec<(crate::repo::ObjectId, Record)>;

/// A bundle made for one artefact, not yet written.
pub(super) struct Made {
    pub file: PathBuf,
    pub bundle: PathBuf,
    pub json: String,
    pub sha256: String,
}

impl Made {
    pub(super) fn report(self) -> ArtifactReport {
        ArtifactReport {
            file: self.file,
            bundle: self.bundle,
            sha256: self.sha256,
        }
    }
}

/// The artefacts to sign: regular files whose bundle path sigctl may write,
/// each once however named.
pub(super) fn checked_files(files: &[PathBuf]) -> Result<Vec<PathBuf>, SignError> {
    for f in files {
        // a regular file (a FIFO or a device would block or never end)
        crate::files::open(f, crate::files::ARTEFACT).map_err(Error::from)?;
        check_replaceable(&bundle_path(f))?;
    }
    // the same file named twice (or by two paths) is signed once
    let mut seen = std::collections::HashSet::new();
    Ok(files
        .iter()
        .filter(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| (*f).clone())))
        .cloned()
        .collect())
}

/// Sign every file with `key` and make its bundle and record (attached to
/// the content's blob id); `release`: the tag object of the release the
/// artefacts belong to.
pub(super) fn make_bundles(
    view: &PolicyView,
    key: &super::Key,
    files: &[PathBuf],
    refname: Option<&str>,
    release: Option<&str>,
    now: OffsetDateTime,
) -> Result<(Vec<Made>, Records), SignError> {
    let hash = match key.algorithm {
        KeyAlgorithm::P256 => HashAlgorithm::Sha2256,
        KeyAlgorithm::P384 => HashAlgorithm::Sha2384,
        other => {
            return Err(SignError::Token(SignerError::UnsupportedKey {
                what: format!("artefact bundles with {other} keys (use ECDSA P-256 or P-384)"),
            }));
        }
    };
    let mut made = Vec::new();
    let mut records = Vec::new();
    for f in files {
        let digests = digest_file_all(f, hash)?;
        let digest = digests.signed;
        let sig = key.sign_prehashed(&digest)?;
        // keyless: the Rekor entry (over the SHA-256 the signature is over)
        let logged = key.log(&digest, &sig)?;
        // the signing config's TSA, if it names one
        let stamp = key.timestamp(&sig)?;
        let stamped_at = stamp
            .as_deref()
            .and_then(crate::signer::keyless::token_of_response)
            .and_then(|t| crate::signature::tsa::gen_time(&t));
        let sha256 = digests.sha256;
        records.push((
            digests.blob,
            Record::new(
                view,
                key,
                Event::Artifact,
                Subject {
                    object: None,
                    name: f.file_name().map(|n| n.to_string_lossy().into_owned()),
                    sha256: Some(sha256.clone()),
                    blob: Some(digests.blob.to_string()),
                    release: release.map(str::to_owned),
                    certificate_for: None,
                },
                refname,
                &sig,
                now,
            )
            .timestamped(stamped_at)
            .logged(logged.as_ref()),
        ));
        let mut bundle = BundleV03::new(
            VerificationMaterialV03::Certificate(DerCertificate::new(key.facts.der.clone())),
            SignatureContent::MessageSignature(
                MessageSignature::new(SignatureBytes::new(sig))
                    .with_message_digest(MessageDigest::new(hash, DigestBytes::new(digest))),
            ),
        );
        if let Some(l) = logged {
            bundle = bundle.with_tlog_entry(l.bundle_entry);
        }
        if let Some(ts) = stamp {
            bundle = bundle.with_rfc3161_timestamp(sigstore_types::TimestampToken::new(ts));
        }
        let mut json = bundle
            .into_bundle()
            .to_json_pretty()
            .map_err(|e| SignError::Cms(e.to_string()))?;
        json.push('\n');
        made.push(Made {
            file: f.clone(),
            bundle: bundle_path(f),
            json,
            sha256,
        });
    }
    Ok((made, records))
}

/// Write every `(path, text)` through a temporary file, then `record`, then
/// rename each temporary file into place. If any step fails, remove every
/// temporary file, put back what each renamed path held before (or remove
/// it) and `retract` what `record` wrote, so nothing changes.
pub(super) fn write_all_or_nothing(
    files: &[(PathBuf, String)],
    record: impl FnOnce() -> Result<crate::repo::ObjectId, SignError>,
    publish: impl FnOnce() -> Result<(), SignError>,
    retract: impl FnOnce(crate::repo::ObjectId),
) -> Result<(), SignError> {
    let mut temps: Vec<PathBuf> = Vec::new();
    let mut renamed: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
    let undo = |temps: &[PathBuf], renamed: &[(PathBuf, Option<Vec<u8>>)]| {
        for t in temps {
            let _ = std::fs::remove_file(t);
        }
        for (path, old) in renamed.iter().rev() {
            let _ = match old {
                Some(bytes) => std::fs::write(path, bytes),
                None => std::fs::remove_file(path),
            };
        }
    };
    for (n, (path, text)) in files.iter().enumerate() {
        crate::tempfiles::clean_stale(path);
        let tmp = crate::tempfiles::name_for(path, n);
        if let Err(e) = std::fs::write(&tmp, text) {
            let _ = std::fs::remove_file(&tmp);
            undo(&temps, &[]);
            return Err(Error::Unwritable {
                path: path.clone(),
                message: e.to_string(),
            }
            .into());
        }
        temps.push(tmp);
    }
    let notes = match record() {
        Ok(n) => n,
        Err(e) => {
            undo(&temps, &[]);
            return Err(e);
        }
    };
    crate::interrupt::test_point("recorded");
    for (n, (path, _)) in files.iter().enumerate() {
        // checked before signing: absent, or a regular file within the limit
        let old = crate::files::read(path, crate::files::BUNDLE).ok();
        if let Err(e) = std::fs::rename(&temps[n], path) {
            undo(&temps[n..], &renamed);
            retract(notes);
            return Err(Error::Unwritable {
                path: path.clone(),
                message: e.to_string(),
            }
            .into());
        }
        renamed.push((path.clone(), old));
    }
    // what else the event publishes (a release's tag ref), last
    if let Err(e) = publish() {
        undo(&[], &renamed);
        retract(notes);
        return Err(e);
    }
    crate::interrupt::test_point("published");
    Ok(())
}
