//! Token access from the front-end: the module and PIN sources, and the
//! terminal prompt (the only place sigctl asks a person for a PIN).

use crate::repo::Repo;
use crate::signer::TokenAccess;
use crate::signer::pin::{EnvPin, PIN_ENV, Pin};
use crate::signer::pkcs11::MODULE_ENV;

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
    }
}
