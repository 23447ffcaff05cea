//! `sigctl sign tag|artifact` and `sigctl verify-artifact`.

use std::path::PathBuf;

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, fail, out, token};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::gpg::error_text;
use crate::render::{Format, human, json};
use crate::repo::Repo;
use crate::sign::verify_artifact::{self, Artefact, Expected, Explicit, VerifyError};
use crate::sign::{SignError, artifact, tag};

#[derive(Debug, clap::Subcommand)]
pub enum SignCommand {
    /// Make a signed annotated tag (refused if the tag exists)
    Tag {
        /// Tag name (`v1.2.3`)
        name: String,
        /// What to tag (default HEAD)
        rev: Option<String>,
        #[arg(long)]
        identity: String,
        /// Tag message
        #[arg(short, long)]
        message: String,
    },
    /// Write FILE.sigstore.json for each file: a Sigstore bundle signed on the token
    Artifact {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        identity: String,
        /// The ref the artefacts are released from (`refs/tags/v1.2.3`): its environment must admit the identity
        #[arg(long = "ref", value_name = "REF")]
        refname: Option<String>,
        /// Add an RFC 3161 timestamp from the signing config's TSA to an HSM signature (always done for a ref whose environment requires trusted time)
        #[arg(long)]
        timestamp: bool,
    },
    /// A release in one step: the signed annotated tag and each file's bundle, all or nothing
    Release {
        /// Tag name (`v1.2.3`)
        name: String,
        /// The release's artefacts
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        identity: String,
        /// Tag message
        #[arg(short, long)]
        message: String,
        /// What to tag (default HEAD)
        #[arg(long)]
        rev: Option<String>,
        /// RFC 3161 timestamps for HSM signatures (always for a ref whose environment requires trusted time)
        #[arg(long)]
        timestamp: bool,
        /// The release summary's format (JSON: for a CI job to attach to the release page)
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
}

fn report(e: SignError) -> u8 {
    let mut err = std::io::stderr().lock();
    let _ = std::io::Write::write_all(&mut err, error_text(&e).replace("sigctl: ", "").as_bytes());
    if e.is_refusal() {
        EXIT_FINDINGS
    } else {
        EXIT_ERROR
    }
}

pub fn run(c: SignCommand) -> u8 {
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let prompt = token::prompt_pin;
    let access = token::access(Some(&repo), &prompt);
    let now = SystemClock.now();
    let tagger = || match (
        repo.config_string("user.name"),
        repo.config_string("user.email"),
    ) {
        (Some(n), Some(e)) => Ok(format!("{n} <{e}>")),
        _ => Err(Error::Git(
            "no tagger: set `git config user.name` and `git config user.email`".into(),
        )),
    };
    match c {
        SignCommand::Release {
            name,
            files,
            identity,
            message,
            rev,
            timestamp,
            format,
        } => {
            let tagger = match tagger() {
                Ok(t) => t,
                Err(e) => return fail(&e),
            };
            let req = tag::TagRequest {
                name: &name,
                rev: rev.as_deref(),
                identity: &identity,
                message: &message,
                tagger,
            };
            match crate::sign::release::sign_release(&repo, &access, &req, &files, timestamp, now) {
                Ok(r) => {
                    out(&match format {
                        Format::Json => release_json(&r),
                        Format::Human => release_human(&r),
                    });
                    EXIT_OK
                }
                Err(e) => report(e),
            }
        }
        SignCommand::Tag {
            name,
            rev,
            identity,
            message,
        } => {
            let tagger = match (
                repo.config_string("user.name"),
                repo.config_string("user.email"),
            ) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                _ => {
                    return fail(&Error::Git(
                        "no tagger: set `git config user.name` and `git config user.email`".into(),
                    ));
                }
            };
            let req = tag::TagRequest {
                name: &name,
                rev: rev.as_deref(),
                identity: &identity,
                message: &message,
                tagger,
            };
            match tag::sign_tag(&repo, &access, &req, now) {
                Ok(r) => {
                    let mut text = format!(
                        "signed tag {} -> {} as identity `{}` (tag object {})\n",
                        r.refname,
                        &r.commit[..12.min(r.commit.len())],
                        r.identity,
                        r.tag
                    );
                    for n in r.notes {
                        text.push_str(&format!("note: {n}\n"));
                    }
                    out(&text);
                    EXIT_OK
                }
                Err(e) => report(e),
            }
        }
        SignCommand::Artifact {
            files,
            identity,
            refname,
            timestamp,
        } => {
            match artifact::sign_artifacts(
                &repo,
                &access,
                &identity,
                &files,
                refname.as_deref(),
                timestamp,
                now,
            ) {
                Ok(reports) => {
                    let mut text = String::new();
                    for r in reports {
                        text.push_str(&format!(
                            "signed {} (sha256 {}) as identity `{identity}` -> {}\n",
                            r.file.display(),
                            r.sha256,
                            r.bundle.display()
                        ));
                    }
                    out(&text);
                    EXIT_OK
                }
                Err(e) => report(e),
            }
        }
    }
}

/// `sigctl verify-artifact FILE|sha256:HEX [--bundle B] [--trusted-root T
/// (--certificate-identity ID --certificate-oidc-issuer URL | --key PUB.pem)]
/// [--format human|json]`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("expected").args(["certificate_identity", "key"])))]
pub struct VerifyArtifactArgs {
    /// The artefact, or `sha256:HEX` (64 hex digits) to verify by its SHA-256 digest
    file: PathBuf,
    /// The bundle (default FILE.sigstore.json; required with sha256:HEX)
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Verify without signing.toml, against this Sigstore trusted_root.json; with --certificate-identity and --certificate-oidc-issuer (keyless), or --key
    #[arg(long, value_name = "FILE", requires = "expected")]
    trusted_root: Option<PathBuf>,
    /// The keyless signer: the certificate's subjectAltName (e-mail or URI), exactly
    #[arg(
        long,
        value_name = "ID",
        requires_all = ["trusted_root", "certificate_oidc_issuer"],
        conflicts_with = "key"
    )]
    certificate_identity: Option<String>,
    /// The OIDC issuer the keyless certificate names (Fulcio extension 1.3.6.1.4.1.57264.1.8, else 1.1), exactly
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    certificate_oidc_issuer: Option<String>,
    /// The public key (PEM) a managed-key bundle must be signed with
    #[arg(long, value_name = "PUB.pem", requires = "trusted_root")]
    key: Option<PathBuf>,
    /// A vendored artefact: judge it by what `[suppliers.NAME]` accepts (its signers, its evidence)
    #[arg(long, value_name = "NAME", conflicts_with = "trusted_root")]
    supplier: Option<String>,
    /// The supplier's in-toto provenance bundle (default FILE.intoto.sigstore.json)
    #[arg(long, value_name = "BUNDLE", requires = "supplier")]
    provenance: Option<PathBuf>,
    /// The supplier's SBOM (default FILE.spdx.json or FILE.cdx.json)
    #[arg(long, value_name = "FILE", requires = "supplier")]
    sbom: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

/// Read a file named on the command line, or the error to show.
fn read_arg(path: &std::path::Path, kind: crate::files::Kind) -> Result<Vec<u8>, u8> {
    crate::files::read(path, kind).map_err(|e| fail(&e.into()))
}

pub fn run_verify_artifact(a: VerifyArtifactArgs) -> u8 {
    let artefact = Artefact::from_arg(&a.file);
    let name = artefact.name();
    // the policy mode needs a repository; the explicit mode never reads one
    let repo = match a.trusted_root {
        Some(_) => None,
        None => match Repo::discover(std::path::Path::new(".")) {
            Ok(r) => Some(r),
            Err(e) => return fail(&e),
        },
    };
    let explicit_bundle = a.bundle.is_some();
    let bundle = match (a.bundle, &artefact) {
        (Some(b), _) => b,
        (None, Artefact::File(f)) => artifact::bundle_path(f),
        (None, Artefact::Sha256(_)) => {
            return fail(&Error::Usage(format!(
                "{name} names the artefact by its digest, so there is no FILE.sigstore.json beside it: give --bundle PATH"
            )));
        }
    };
    // the default bundle sits beside the artefact, often as it came in a
    // checkout: a symbolic link there (to /dev/zero, to a file outside the
    // repository) is not a bundle sigctl wrote
    if !explicit_bundle
        && std::fs::symlink_metadata(&bundle).is_ok_and(|m| m.file_type().is_symlink())
    {
        return fail(&Error::Unreadable {
            path: bundle,
            message: "it is a symbolic link; a bundle is a regular file (give --bundle PATH to read one elsewhere)".into(),
        });
    }
    let bytes = match read_arg(&bundle, crate::files::BUNDLE) {
        Ok(b) => b,
        Err(code) => return code,
    };
    if let (Some(repo), Some(supplier)) = (&repo, &a.supplier) {
        return supplier_verdict(
            repo,
            supplier,
            &artefact,
            &name,
            &bytes,
            &a.provenance,
            &a.sbom,
            a.format,
        );
    }
    let outcome = match (&repo, &a.trusted_root) {
        (Some(repo), _) => {
            verify_artifact::verify_with_policy(repo, &artefact, &bytes, SystemClock.now())
        }
        (None, Some(root)) => {
            let root_bytes = match read_arg(root, crate::files::TRUST_FILE) {
                Ok(b) => b,
                Err(code) => return code,
            };
            let expected = match (a.certificate_identity, a.certificate_oidc_issuer, &a.key) {
                (Some(subject), Some(issuer), None) => Expected::Identity { subject, issuer },
                (None, None, Some(key)) => {
                    let pem = match read_arg(key, crate::files::TRUST_FILE) {
                        Ok(b) => b,
                        Err(code) => return code,
                    };
                    let spki = std::str::from_utf8(&pem)
                        .map_err(|_| "it is not UTF-8".to_owned())
                        .and_then(|t| {
                            sigstore_types::DerPublicKey::from_pem(t).map_err(|e| e.to_string())
                        });
                    match spki {
                        Ok(k) => Expected::Key {
                            spki: k.as_bytes().to_vec(),
                        },
                        Err(why) => {
                            return fail(&Error::Unreadable {
                                path: key.clone(),
                                message: format!("it is not a PEM public key: {why}"),
                            });
                        }
                    }
                }
                // clap's groups allow nothing else
                _ => {
                    return fail(&Error::Usage(
                        "--trusted-root needs --certificate-identity and --certificate-oidc-issuer, or --key".into(),
                    ));
                }
            };
            verify_artifact::verify_explicit(
                &artefact,
                &bytes,
                &Explicit {
                    trusted_root: &root_bytes,
                    trusted_root_name: root.display().to_string(),
                    expected,
                },
            )
        }
        (None, None) => return EXIT_ERROR,
    };
    match outcome {
        Ok(v) => {
            out(&match a.format {
                Format::Human => human::verify_artifact(&name, &v),
                Format::Json => json::verify_artifact(&name, Ok(&v)),
            });
            EXIT_OK
        }
        Err(VerifyError::Refused(e)) => {
            match a.format {
                Format::Json => out(&json::verify_artifact(&name, Err(&e))),
                Format::Human => {
                    let mut err = std::io::stderr().lock();
                    let _ = std::io::Write::write_all(
                        &mut err,
                        format!("FAILED: {name}: {e}\n").as_bytes(),
                    );
                }
            }
            EXIT_FINDINGS
        }
        Err(VerifyError::Fault(SignError::Repo(e))) => fail(&e),
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = std::io::Write::write_all(&mut err, format!("error: {e}\n").as_bytes());
            EXIT_ERROR
        }
    }
}

/// `verify-artifact --supplier NAME`: the bundle and the evidence the
/// supplier owes; a verified artefact is noted in .git/sigctl's local
/// evidence log (what `inventory` shows as last seen).
#[allow(clippy::too_many_arguments)]
fn supplier_verdict(
    repo: &Repo,
    supplier: &str,
    artefact: &Artefact,
    name: &str,
    bundle: &[u8],
    provenance: &Option<PathBuf>,
    sbom: &Option<PathBuf>,
    format: Format,
) -> u8 {
    use crate::sign::supplier::{EvidencePaths, verify_supplier};
    let now = SystemClock.now();
    let paths = EvidencePaths {
        provenance: provenance.as_deref(),
        sbom: sbom.as_deref(),
    };
    match verify_supplier(repo, supplier, artefact, bundle, &paths, now) {
        Ok(v) => {
            let ok = v.ok();
            let evidence: Vec<serde_json::Value> = v
                .evidence
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "kind": e.kind.as_str(),
                        "path": e.path.as_ref().map(|p| p.display().to_string()),
                        "ok": e.ok,
                        "detail": e.detail,
                    })
                })
                .collect();
            match format {
                Format::Json => {
                    let doc = serde_json::json!({
                        "artifact": name,
                        "supplier": v.supplier,
                        "ok": ok,
                        "sha256": v.artefact.sha256,
                        "accepted_signer": v.accepted_signer,
                        "signer": v.artefact.subject,
                        "evidence": evidence,
                    });
                    out(&format!(
                        "{}\n",
                        serde_json::to_string_pretty(&doc).unwrap_or_default()
                    ));
                }
                Format::Human => {
                    let mut text = format!(
                        "{}: {name} (sha256 {}) from supplier `{}`, signed by {}\n",
                        if ok { "OK" } else { "FAILED" },
                        v.artefact.sha256,
                        v.supplier,
                        v.accepted_signer
                    );
                    for e in &v.evidence {
                        text.push_str(&format!(
                            "  {} {}: {}{}\n",
                            if e.ok { "ok     " } else { "MISSING" },
                            e.kind.as_str(),
                            e.detail,
                            e.path
                                .as_ref()
                                .map(|p| format!(" ({})", p.display()))
                                .unwrap_or_default()
                        ));
                    }
                    out(&text);
                }
            }
            if ok {
                let line = serde_json::json!({
                    "supplier": v.supplier,
                    "artifact": name,
                    "sha256": v.artefact.sha256,
                    "signer": v.accepted_signer,
                    "evidence": v.evidence.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
                    "at": crate::policy::timestamp::Timestamp(now).to_string(),
                });
                let _ = append_evidence_log(repo, &line.to_string());
                EXIT_OK
            } else {
                EXIT_FINDINGS
            }
        }
        Err(VerifyError::Refused(e)) => {
            match format {
                Format::Json => out(&json::verify_artifact(name, Err(&e))),
                Format::Human => {
                    let mut err = std::io::stderr().lock();
                    let _ = std::io::Write::write_all(
                        &mut err,
                        format!("FAILED: {name} from supplier `{supplier}`: {e}\n").as_bytes(),
                    );
                }
            }
            EXIT_FINDINGS
        }
        Err(VerifyError::Fault(SignError::Repo(e))) => fail(&e),
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = std::io::Write::write_all(&mut err, format!("error: {e}\n").as_bytes());
            EXIT_ERROR
        }
    }
}

/// One line appended to `.git/sigctl/supplier-evidence.jsonl` (local to
/// this clone, informational: what inventory reports as last seen).
fn append_evidence_log(repo: &Repo, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = repo.common_dir().join("sigctl");
    std::fs::create_dir_all(&dir)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("supplier-evidence.jsonl"))?;
    writeln!(f, "{line}")
}

fn release_human(r: &crate::sign::release::ReleaseReport) -> String {
    let mut text = format!(
        "released {} -> {} as identity `{}` (tag object {})\n",
        r.refname,
        &r.commit[..12.min(r.commit.len())],
        r.identity,
        r.tag
    );
    for a in &r.artefacts {
        text.push_str(&format!(
            "  {} (sha256 {}) -> {}\n",
            a.file.display(),
            a.sha256,
            a.bundle.display()
        ));
    }
    for n in &r.notes {
        text.push_str(&format!("note: {n}\n"));
    }
    text
}

/// The release summary a CI job attaches to the release page.
fn release_json(r: &crate::sign::release::ReleaseReport) -> String {
    let v = serde_json::json!({
        "tag": r.refname,
        "tag_object": r.tag,
        "commit": r.commit,
        "identity": r.identity,
        "artefacts": r.artefacts.iter().map(|a| serde_json::json!({
            "file": a.file.display().to_string(),
            "sha256": a.sha256,
            "bundle": a.bundle.display().to_string(),
        })).collect::<Vec<_>>(),
        "notes": r.notes,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
