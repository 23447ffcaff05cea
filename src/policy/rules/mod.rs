//! Every `check` rule, one module each, registered in `RULES`.
//!
//! To add a rule: write `rules/<name>.rs` with a doc comment, `pub fn check(cx: &mut Ctx)`
//! and its tests; add a `Code` in `diag/code.rs`; add one line to `RULES`.

mod admins;
mod ca;
mod certificate;
mod custody;
mod exceptions;
pub mod expiry;
mod key_uri;
mod references;
mod revocations;
mod separation;
mod signer;
mod suppliers;
mod trust_files;
mod version;

#[cfg(test)]
pub(crate) mod testing;

use super::Ctx;

/// One rule: a name (for docs) and its check.
pub struct Rule {
    pub name: &'static str,
    pub doc: &'static str,
    pub check: fn(&mut Ctx),
}

/// Every rule, in the order they run.
pub static RULES: &[Rule] = &[
    Rule {
        name: "version",
        doc: version::DOC,
        check: version::check,
    },
    Rule {
        name: "references",
        doc: references::DOC,
        check: references::check,
    },
    Rule {
        name: "admins",
        doc: admins::DOC,
        check: admins::check,
    },
    Rule {
        name: "signer",
        doc: signer::DOC,
        check: signer::check,
    },
    Rule {
        name: "custody",
        doc: custody::DOC,
        check: custody::check,
    },
    Rule {
        name: "key-uri",
        doc: key_uri::DOC,
        check: key_uri::check,
    },
    Rule {
        name: "certificate",
        doc: certificate::DOC,
        check: certificate::check,
    },
    Rule {
        name: "key-separation",
        doc: separation::DOC,
        check: separation::check,
    },
    Rule {
        name: "expiry",
        doc: expiry::DOC,
        check: expiry::check,
    },
    Rule {
        name: "exceptions",
        doc: exceptions::DOC,
        check: exceptions::check,
    },
    Rule {
        name: "revocations",
        doc: revocations::DOC,
        check: revocations::check,
    },
    Rule {
        name: "ca",
        doc: ca::DOC,
        check: ca::check,
    },
    Rule {
        name: "suppliers",
        doc: suppliers::DOC,
        check: suppliers::check,
    },
    Rule {
        name: "trust-files",
        doc: trust_files::DOC,
        check: trust_files::check,
    },
];
