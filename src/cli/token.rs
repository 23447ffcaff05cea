//! Token access from the front-end: the module and PIN sources, and the
//! terminal prompt (the only place sigctl asks a person for a PIN).

use crate::repo::Repo;
use crate::signer::keyless::{DEFAULT_TIMEOUT, LoginPrompt};
use crate::signer::pin::{EnvPin, PIN_ENV, Pin};
use crate::signer::pkcs11::MODULE_ENV;
use crate::signer::{KeylessAccess, TokenAccess};

/// Ask for the PIN on the controlling terminal, without echo; `None` without a terminal.
pub fn prompt_pin(message: &str) -> Option<Pin> {
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_err()
    {
        return None;
    }
    rpassword::prompt_password(message)
        .ok()
        .filter(|p| !p.is_empty())
        .map(Pin::new)
}

/// Build the token access for `repo` (its git config may name the module).
pub fn access<'a>(repo: Option<&Repo>, prompt: &'a dyn Fn(&str) -> Option<Pin>) -> TokenAccess<'a> {
    TokenAccess {
        module_env: std::env::var(MODULE_ENV).ok().filter(|v| !v.is_empty()),
        module_config: repo.and_then(|r| r.config_string("sigctl.pkcs11Module")),
        pin_env: match std::env::var(PIN_ENV) {
            Ok(v) => Some(EnvPin::Set(v)),
            Err(std::env::VarError::NotUnicode(_)) => Some(EnvPin::NotUtf8),
            Err(std::env::VarError::NotPresent) => None,
        },
        prompt: Some(prompt),
        keyless: KeylessAccess {
            token_env: std::env::var(TOKEN_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty()),
            prompt: std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .is_ok()
                .then_some(&TtyLogin as &dyn LoginPrompt),
            timeout: std::env::var(TIMEOUT_ENV)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
                .map_or(DEFAULT_TIMEOUT, std::time::Duration::from_secs_f64),
        },
    }
}

/// Where a keyless identity's token comes from first.
pub const TOKEN_ENV: &str = "SIGSTORE_ID_TOKEN";
/// How long to wait for each Sigstore service, in seconds.
pub const TIMEOUT_ENV: &str = "SIGCTL_SIGSTORE_TIMEOUT";

/// An interactive Sigstore login on the controlling terminal (stdout may be
/// git's signature channel: nothing goes there).
struct TtyLogin;

impl LoginPrompt for TtyLogin {
    fn show_url(&self, url: &str) {
        use std::io::Write;
        let text = format!(
            "sigctl: log in to get a Sigstore certificate: open\n  {url}\nsigctl: then enter the code the provider shows\n"
        );
        match std::fs::OpenOptions::new().write(true).open("/dev/tty") {
            Ok(mut tty) => {
                let _ = tty.write_all(text.as_bytes());
            }
            Err(_) => {
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            }
        }
    }

    fn read_code(&self) -> Option<String> {
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(tty), &mut line).ok()?;
        let code = line.trim().to_owned();
        (!code.is_empty()).then_some(code)
    }
}
