//! `sigctl key generate` and `sigctl cert request|import`: identity lifecycle on a token.

use std::path::PathBuf;
use std::str::FromStr;

use der::{Decode, EncodePem};
use x509_cert::builder::{Builder, RequestBuilder};

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, fail, out, token};
use crate::clock::{Clock, SystemClock};
use crate::gpg::error_text;
use crate::repo::Repo;
use crate::sign::{PolicyView, SignError, sha2_256};
use crate::signature::x509;
use crate::signer::adapter::{KeyP256, KeyP384, TokenKey};
use crate::signer::{KeyAlgorithm, SignerError};

#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Generate the identity's key pair on its token (private key sensitive, never extractable)
    Generate {
        /// The identity whose `key` URI names the token and label
        #[arg(long)]
        identity: String,
        #[arg(long, value_enum, default_value = "p256")]
        algorithm: KeyAlgorithm,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum CertCommand {
    /// Print a PEM certificate request signed by the identity's token key (codeSigning requested)
    Request {
        #[arg(long)]
        identity: String,
        /// Subject distinguished name, RFC 4514 (`CN=release,O=Example`)
        #[arg(long)]
        subject: String,
    },
    /// Check that a certificate carries the token key, then store it where signing.toml says
    Import {
        #[arg(long)]
        identity: String,
        /// The certificate (PEM or DER)
        file: PathBuf,
    },
}

/// A PEM certificate request for `subject`, signed by the token key `uri`
/// names, asking for codeSigning and digitalSignature.
pub(super) fn csr(
    tok: &crate::signer::pkcs11::Token,
    uri: &crate::policy::pkcs11_uri::Pkcs11Uri,
    key: &crate::signer::pkcs11::KeyInfo,
    subject: x509_cert::name::Name,
) -> Result<String, SignError> {
    let mut builder = RequestBuilder::new(subject).map_err(|e| SignError::Cms(e.to_string()))?;
    let eku =
        x509_cert::ext::pkix::ExtendedKeyUsage(vec![const_oid::db::rfc5280::ID_KP_CODE_SIGNING]);
    builder
        .add_extension(&eku)
        .map_err(|e| SignError::Cms(e.to_string()))?;
    let ku =
        x509_cert::ext::pkix::KeyUsage(x509_cert::ext::pkix::KeyUsages::DigitalSignature.into());
    builder
        .add_extension(&ku)
        .map_err(|e| SignError::Cms(e.to_string()))?;
    let unsupported = || {
        SignError::Token(SignerError::UnsupportedKey {
            what: format!(
                "certificate requests for {} keys (use ECDSA P-256 or P-384)",
                key.algorithm
            ),
        })
    };
    let signer = TokenKey {
        token: tok,
        uri,
        key,
    };
    let req = match key.algorithm {
        KeyAlgorithm::P256 => builder.build::<_, p256::ecdsa::DerSignature>(
            &KeyP256::new(&signer, &key.raw).ok_or_else(unsupported)?,
        ),
        KeyAlgorithm::P384 => builder.build::<_, p384::ecdsa::DerSignature>(
            &KeyP384::new(&signer, &key.raw).ok_or_else(unsupported)?,
        ),
        _ => return Err(unsupported()),
    }
    .map_err(|e| SignError::Cms(e.to_string()))?;
    req.to_pem(der::pem::LineEnding::LF)
        .map_err(|e| SignError::Cms(e.to_string()))
}

pub(super) fn report(e: SignError) -> u8 {
    let mut err = std::io::stderr().lock();
    let _ = std::io::Write::write_all(&mut err, error_text(&e).replace("sigctl: ", "").as_bytes());
    if e.is_refusal() {
        EXIT_FINDINGS
    } else {
        EXIT_ERROR
    }
}

pub fn run_key(c: KeyCommand) -> u8 {
    let KeyCommand::Generate {
        identity,
        algorithm,
    } = c;
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let result = (|| -> Result<String, SignError> {
        let view = PolicyView::load_worktree(&repo)?;
        let uri = view.key_uri(&identity)?;
        let prompt = token::prompt_pin;
        let access = token::access(Some(&repo), &prompt);
        let tok = access.open(&uri, true, true)?;
        if tok.key_exists(&uri)? {
            return Err(SignerError::KeyExists {
                token: tok.label.clone(),
                object: uri.attr("object").unwrap_or("(by id)").to_owned(),
            }
            .into());
        }
        let key = tok.generate(&uri, algorithm)?;
        let (sensitive, extractable, _) = tok.private_key_protection(&uri)?;
        let fp = x509::hex(&sha2_256(&key.spki));
        Ok(format!(
            "generated an {algorithm} key for identity `{identity}` on token `{}` (sensitive: {sensitive}, extractable: {extractable})\n\
             public key sha256:{fp}\n\
             pin it in signing.toml: public_key = \"sha256:{fp}\"\n\
             next: sigctl cert request --identity {identity} --subject 'CN={identity}'\n",
            tok.label
        ))
    })();
    match result {
        Ok(text) => {
            out(&text);
            EXIT_OK
        }
        Err(e) => report(e),
    }
}

pub fn run_cert(c: CertCommand) -> u8 {
    let repo = match Repo::discover(std::path::Path::new(".")) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let prompt = token::prompt_pin;
    let access = token::access(Some(&repo), &prompt);
    let result = match c {
        CertCommand::Request { identity, subject } => (|| -> Result<String, SignError> {
            let view = PolicyView::load_worktree(&repo)?;
            let uri = view.key_uri(&identity)?;
            let name = x509_cert::name::Name::from_str(&subject)
                .map_err(|e| SignError::Cms(format!("bad --subject `{subject}`: {e}")))?;
            let tok = access.open(&uri, false, true)?;
            let key = tok.public_key(&uri)?;
            csr(&tok, &uri, &key, name)
        })(),
        CertCommand::Import { identity, file } => (|| -> Result<String, SignError> {
            let view = PolicyView::load_worktree(&repo)?;
            let uri = view.key_uri(&identity)?;
            let id = view.identity(&identity)?;
            // the first path; a renewal's successor goes next to it (`sigctl renew --import`)
            let dest =
                id.certificates()
                    .into_iter()
                    .next()
                    .ok_or_else(|| SignError::NoCertificate {
                        name: identity.clone(),
                        why: "the identity declares no `certificate` path to import to".into(),
                    })?;
            let bytes = crate::files::read(&file, crate::files::KEY_INPUT)
                .map_err(crate::error::Error::from)?;
            let facts = x509::parse(&bytes).map_err(|e| SignError::NoCertificate {
                name: identity.clone(),
                why: format!("{}: {e}", file.display()),
            })?;
            let now = SystemClock.now();
            if now >= facts.not_after {
                return Err(SignError::CertificateExpired {
                    name: identity.clone(),
                    date: facts.not_after.date().to_string(),
                });
            }
            let want = facts.public_key_sha256.clone();
            let tok = match access
                .open(&uri, false, false)
                .and_then(|t| t.key_for(&uri, &want).map(|(k, _)| (t, k)))
            {
                Ok(found) => found,
                // some tokens show public keys only after login
                Err(SignerError::KeyMissing { .. }) => {
                    let t = access.open(&uri, false, true)?;
                    let (k, _) = t.key_for(&uri, &want)?;
                    (t, k)
                }
                Err(e) => return Err(e.into()),
            };
            let token_fp = x509::hex(&sha2_256(&tok.1.spki));
            if token_fp != facts.public_key_sha256 {
                return Err(SignError::KeyMismatch {
                    name: identity.clone(),
                    cert: facts.public_key_sha256.clone(),
                    token: token_fp,
                });
            }
            let path = crate::check::resolve_in_repo(repo.root(), dest.get()).ok_or_else(|| {
                SignError::NoCertificate {
                    name: identity.clone(),
                    why: format!("`{}` is not a path inside the repository", dest.get()),
                }
            })?;
            let cert = x509_cert::Certificate::from_der(&facts.der)
                .map_err(|e| SignError::Cms(e.to_string()))?;
            let pem = cert
                .to_pem(der::pem::LineEnding::LF)
                .map_err(|e| SignError::Cms(e.to_string()))?;
            crate::init::write_atomically(&path, pem.as_bytes()).map_err(|e| {
                crate::error::Error::Unwritable {
                    path: path.clone(),
                    message: e.to_string(),
                }
            })?;
            let mut text = format!(
                "imported the certificate of identity `{identity}` to {}\n  subject {}\n  issuer  {}\n  valid   {} to {}\n",
                dest.get(),
                facts.subject,
                facts.issuer,
                facts.not_before.date(),
                facts.not_after.date()
            );
            if facts.code_signing == Some(false) {
                text.push_str(
                    "warning: the certificate does not allow code signing (no codeSigning EKU)\n",
                );
            }
            text.push_str("next: commit it with signing.toml, then sign: git commit -S\n");
            Ok(text)
        })(),
    };
    match result {
        Ok(text) => {
            out(&text);
            EXIT_OK
        }
        Err(e) => report(e),
    }
}
