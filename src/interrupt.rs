//! SIGINT, SIGTERM and SIGHUP while sigctl writes.
//!
//! Before a command reaches a token login, a signal kills it the usual way:
//! nothing has been written yet. From `arm()` on (just before the login),
//! the three signals are only recorded: a token call in flight is never cut
//! (SoftHSM2 killed mid-login can empty its token file), and the command
//! either stops at its next `checkpoint()` (before it publishes anything:
//! its normal failure path takes back what it wrote) or, once past the
//! point of no return, finishes. `cli::run` then exits with 128 + the
//! signal's number (130, 143, 129) and says which of the two happened.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The signal received since `arm()` (0: none).
fn received() -> &'static Arc<AtomicUsize> {
    static RECEIVED: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    RECEIVED.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

static ARMED: AtomicBool = AtomicBool::new(false);

/// Record SIGINT, SIGTERM and SIGHUP instead of dying (idempotent).
pub fn arm() {
    if ARMED.swap(true, Ordering::SeqCst) {
        return;
    }
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        // a signal that cannot be held keeps its default action: the
        // process dies as it would have without sigctl's help
        let _ = signal_hook::flag::register_usize(sig, Arc::clone(received()), sig as usize);
    }
}

/// The signal received since `arm()`, if any.
pub fn pending() -> Option<Signal> {
    match received().load(Ordering::SeqCst) {
        0 => None,
        n => Some(Signal(n as i32)),
    }
}

/// A signal sigctl held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal(pub i32);

impl Signal {
    pub fn name(self) -> &'static str {
        match self.0 {
            SIGINT => "SIGINT",
            SIGTERM => "SIGTERM",
            SIGHUP => "SIGHUP",
            _ => "a signal",
        }
    }
    /// The shell's convention: 128 + the signal's number.
    pub fn exit_code(self) -> u8 {
        128u8.saturating_add(self.0.clamp(0, 127) as u8)
    }
}

/// Why a command stopped at a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by {}: stopped before anything was published; nothing was changed", .0.name())]
pub struct Interrupted(pub Signal);

/// Stop here if a signal came in (the caller's failure path undoes its writes).
pub fn checkpoint() -> Result<(), Interrupted> {
    match pending() {
        Some(s) => Err(Interrupted(s)),
        None => Ok(()),
    }
}

/// Fault injection for the tests of interruption: in debug builds only,
/// `SIGCTL_TEST_SIGNAL_AT=<step>:<INT|TERM|HUP>` makes the process send
/// itself that signal when it reaches `step`. Release builds ignore it.
pub fn test_point(step: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    let Ok(spec) = std::env::var("SIGCTL_TEST_SIGNAL_AT") else {
        return;
    };
    let Some((at, sig)) = spec.split_once(':') else {
        return;
    };
    if at != step {
        return;
    }
    let sig = match sig {
        "INT" => SIGINT,
        "TERM" => SIGTERM,
        "HUP" => SIGHUP,
        _ => return,
    };
    let _ = signal_hook::low_level::raise(sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(Signal(SIGINT).exit_code(), 130);
        assert_eq!(Signal(SIGTERM).exit_code(), 143);
        assert_eq!(Signal(SIGHUP).exit_code(), 129);
        assert_eq!(Signal(SIGTERM).name(), "SIGTERM");
    }
}
