//! Where a token PIN comes from: the environment, a `pin-source` file, or a
//! prompt on the terminal. Never argv, config files or logs.
//!
//! A `Pin` has no `Debug` or `Display`; it is wiped when dropped.

use std::path::PathBuf;

use zeroize::Zeroizing;

/// The environment variable that may carry the PIN.
pub const PIN_ENV: &str = "SIGCTL_PKCS11_PIN";

/// A token PIN. Deliberately neither `Debug` nor `Display`.
pub struct Pin(Zeroizing<String>);

impl Pin {
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }
    /// The secret, for the one call that hands it to the token.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

/// Where the PIN came from, for messages (never the PIN itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinOrigin {
    Env,
    File(PathBuf),
    Prompt,
}

impl std::fmt::Display for PinOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinOrigin::Env => write!(f, "the {PIN_ENV} environment variable"),
            PinOrigin::File(p) => write!(f, "the pin-source file {}", p.display()),
            PinOrigin::Prompt => f.write_str("the terminal prompt"),
        }
    }
}

/// How the front-end may ask a person for the PIN (the library never prompts itself).
pub type Prompt<'a> = &'a dyn Fn(&str) -> Option<Pin>;

/// `SIGCTL_PKCS11_PIN` as the process found it (no `Debug`: it holds the PIN).
#[derive(Clone)]
pub enum EnvPin {
    Set(String),
    /// Set, but not UTF-8 (a PIN is text).
    NotUtf8,
}

/// Why no PIN could be had.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("cannot read the pin-source file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(
        "{PIN_ENV} is set but is not UTF-8 text: a PKCS#11 PIN is text; set it again (its value is not shown)"
    )]
    NotUtf8,
    #[error("{PIN_ENV} is set but empty: give the token's PIN there, or unset it to be asked")]
    Empty,
    #[error(
        "no PIN for token `{token}`: set {PIN_ENV}, add `pin-source=file:<path>` to the key URI, or run on a terminal"
    )]
    None { token: String },
}

/// Find the PIN: `pin_source` (the URI's `pin-source`), then the environment, then `prompt`.
pub fn resolve(
    token: &str,
    pin_source: Option<&str>,
    env: Option<EnvPin>,
    prompt: Option<Prompt>,
) -> Result<(Pin, PinOrigin), PinError> {
    if let Some(src) = pin_source {
        let path = PathBuf::from(src.strip_prefix("file:").unwrap_or(src));
        let text = crate::files::read_to_string(&path, crate::files::PIN_FILE).map_err(|e| {
            PinError::File {
                path: path.clone(),
                message: e.to_string(),
            }
        })?;
        let text = Zeroizing::new(text);
        let pin = text.trim_end_matches(['\r', '\n']).to_owned();
        return Ok((Pin::new(pin), PinOrigin::File(path)));
    }
    match env {
        // a newline from `echo` or a heredoc is no part of a PIN (as for
        // pin-source): trimmed before the token counts a failed login
        Some(EnvPin::Set(v)) => {
            let v = Zeroizing::new(v);
            let pin = v.trim_end_matches(['\r', '\n']);
            // an empty PIN would only burn one of the token's attempts
            if pin.is_empty() {
                return Err(PinError::Empty);
            }
            return Ok((Pin::new(pin.to_owned()), PinOrigin::Env));
        }
        Some(EnvPin::NotUtf8) => return Err(PinError::NotUtf8),
        None => {}
    }
    if let Some(ask) = prompt
        && let Some(pin) = ask(&format!("PIN for token `{token}`: "))
    {
        return Ok((pin, PinOrigin::Prompt));
    }
    Err(PinError::None {
        token: token.to_owned(),
    })
}
