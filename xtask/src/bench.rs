//! `cargo xtask bench`: the figures the issues ask for, measured on
//! generated data with a release build, printed. No pass/fail on speed.

pub fn run(_args: &[String]) -> crate::util::Result {
    Err("not yet".into())
}
