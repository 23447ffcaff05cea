//! Signers: the only modules that touch keys. PKCS#11 tokens today
//! (`pkcs11`), Sigstore keyless later; all behind `KeySigner`.
//!
//! Nothing here prints, prompts or reads the environment: the front-end
//! passes the PIN sources and a prompt callback in.

pub mod adapter;
pub mod keyless;
pub mod oidc;
pub mod pin;
pub mod pkcs11;

use std::fmt;
use std::path::PathBuf;

use crate::policy::pkcs11_uri::Pkcs11Uri;
pub use pkcs11::{KeyInfo, Token};

/// A key that signs whole messages (hashing them itself): ECDSA signatures
/// come back DER-encoded. Implemented by token keys and keyless sessions.
pub trait MessageSigner {
    fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>, String>;
}

/// Key algorithms sigctl generates and signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 with SHA-256 (the default)
    P256,
    /// ECDSA on NIST P-384 with SHA-384
    P384,
    /// Ed25519
    Ed25519,
    /// RSA 3072 with PKCS#1 v1.5 and SHA-256
    Rsa3072,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyAlgorithm::P256 => "ECDSA P-256",
            KeyAlgorithm::P384 => "ECDSA P-384",
            KeyAlgorithm::Ed25519 => "Ed25519",
            KeyAlgorithm::Rsa3072 => "RSA-3072",
        })
    }
}

const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

impl KeyAlgorithm {
    /// CKA_EC_PARAMS (a DER OID) of an EC curve.
    pub fn ec_params(self) -> &'static [u8] {
        match self {
            KeyAlgorithm::P384 => P384_PARAMS,
            _ => P256_PARAMS,
        }
    }

    pub fn from_ec_params(params: &[u8]) -> Option<Self> {
        match params {
            P256_PARAMS => Some(KeyAlgorithm::P256),
            P384_PARAMS => Some(KeyAlgorithm::P384),
            _ => None,
        }
    }
}

/// Why a token operation failed. Every message names what is wrong and how
/// to fix it, and none holds a PIN.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SignerError {
    #[error("no PKCS#11 module found")]
    #[diagnostic(
        code(no_module),
        help(
            "install SoftHSM2 (`apt-get install softhsm2`) or your HSM's module, and name it with SIGCTL_PKCS11_MODULE, `module-path=` in the key URI, or `git config sigctl.pkcs11Module <path>`"
        )
    )]
    NoModule,

    #[error("the PKCS#11 module {path} named by {from} {what}")]
    #[diagnostic(
        code(module_missing),
        help(
            "install the module or correct the path (a module is a shared library file, e.g. /usr/lib/softhsm/libsofthsm2.so)"
        )
    )]
    ModuleMissing {
        path: PathBuf,
        from: String,
        /// "does not exist", "is a directory, not a library", …
        what: &'static str,
    },

    #[error("cannot load the PKCS#11 module {path}: {message}")]
    #[diagnostic(
        code(module_broken),
        help(
            "the file is not a working PKCS#11 library for this machine; reinstall it or name another"
        )
    )]
    ModuleLoad { path: PathBuf, message: String },

    #[error("no token `{token}` (tokens present: {})", if available.is_empty() { "none".to_owned() } else { available.join(", ") })]
    #[diagnostic(
        code(token_missing),
        help(
            "plug the token in, or initialise it (SoftHSM2: `softhsm2-util --init-token --free --label <label>`), or fix `token=` in the key URI"
        )
    )]
    TokenMissing {
        token: String,
        available: Vec<String>,
    },

    #[error("the key URI names no token and several are present: {}", available.join(", "))]
    #[diagnostic(code(token_ambiguous), help("add `token=<label>` to the key URI"))]
    AmbiguousToken { available: Vec<String> },

    #[error("the PIN for token `{token}` is incorrect (it came from {origin})")]
    #[diagnostic(
        code(pin_incorrect),
        help("give the right PIN; on most tokens repeated failures lock it")
    )]
    PinIncorrect { token: String, origin: String },

    #[error("token `{token}` is locked: too many wrong PINs")]
    #[diagnostic(
        code(pin_locked),
        help(
            "ask the token's security officer to unlock it (SoftHSM2: `softhsm2-util --init-pin` with the SO PIN)"
        )
    )]
    PinLocked { token: String },

    #[error(transparent)]
    #[diagnostic(code(no_pin))]
    Pin(#[from] pin::PinError),

    #[error("no key `{object}` on token `{token}`")]
    #[diagnostic(
        code(key_missing),
        help(
            "generate it with `sigctl key generate --identity <name>`, or fix `object=` in the key URI"
        )
    )]
    KeyMissing { token: String, object: String },

    #[error("a key `{object}` already exists on token `{token}`")]
    #[diagnostic(
        code(key_exists),
        help(
            "sigctl never overwrites a key: choose another `object=` label, or delete the old key on the token yourself"
        )
    )]
    KeyExists { token: String, object: String },

    #[error("unsupported: {what}")]
    #[diagnostic(code(unsupported_key))]
    UnsupportedKey { what: String },

    #[error("PKCS#11 error while {op}: {message}")]
    #[diagnostic(code(pkcs11))]
    Pkcs11 { op: &'static str, message: String },

    #[error("token `{token}` kept failing to log in while other processes used it")]
    #[diagnostic(
        code(token_busy),
        help(
            "try again; with SoftHSM2, many processes starting at once can read its token files mid-write"
        )
    )]
    Busy { token: String },
}

/// What the front-end supplies so a token can be opened and logged in to.
pub struct TokenAccess<'a> {
    /// SIGCTL_PKCS11_MODULE, if set.
    pub module_env: Option<String>,
    /// git config sigctl.pkcs11Module, if set.
    pub module_config: Option<String>,
    /// SIGCTL_PKCS11_PIN, if set.
    pub pin_env: Option<pin::EnvPin>,
    /// Asks a person for the PIN, when there is a terminal.
    pub prompt: Option<pin::Prompt<'a>>,
    /// How keyless identities get their identity token.
    pub keyless: KeylessAccess<'a>,
}

/// What the front-end supplies so a keyless identity can get a token.
pub struct KeylessAccess<'a> {
    /// SIGSTORE_ID_TOKEN, if set.
    pub token_env: Option<String>,
    /// Shows the login URL and reads the code, when there is a terminal.
    pub prompt: Option<&'a dyn keyless::LoginPrompt>,
    /// How long to wait for each Sigstore service (SIGCTL_SIGSTORE_TIMEOUT).
    pub timeout: std::time::Duration,
}

impl TokenAccess<'_> {
    /// Open the token the URI names and, when `login`, log in with the PIN from
    /// its sources.
    pub fn open(
        &self,
        uri: &Pkcs11Uri,
        read_write: bool,
        login: bool,
    ) -> Result<Token, SignerError> {
        let module =
            pkcs11::resolve_module(uri, self.module_env.clone(), self.module_config.clone())?;
        let mut token = Token::open(&module, uri, read_write)?;
        if login {
            // the PIN is asked for once, whatever happens next
            let (pin, origin) = pin::resolve(
                &token.label,
                uri.query.get("pin-source").map(String::as_str),
                self.pin_env.clone(),
                self.prompt,
            )?;
            // from here on a signal is held, never cuts a token call
            crate::interrupt::arm();
            crate::interrupt::test_point("login");
            let mut attempt = 0u64;
            loop {
                match token.login(&pin, &origin) {
                    // a busy file-backed token: a fresh module context reads it anew
                    Err(SignerError::Busy { .. }) if attempt < 3 => {
                        attempt += 1;
                        drop(token);
                        std::thread::sleep(std::time::Duration::from_millis(50 * attempt));
                        token = Token::open(&module, uri, read_write)?;
                    }
                    other => {
                        other?;
                        break;
                    }
                }
            }
        }
        Ok(token)
    }
}
