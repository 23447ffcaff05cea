//! sigctl: git-native signing-as-code.
//!
//! A `signing.toml` at a repository's root declares signing identities, their
//! owners, environments, key custody and renewal windows; sigctl checks it,
//! verifies history against it and signs through it. This crate is the
//! library; `src/main.rs` is a thin front-end over [`cli`]. See
//! `ARCHITECTURE.md` for the map.

pub mod check;
pub mod cli;
pub mod clock;
pub mod diag;
pub mod docs;
pub mod error;
pub mod files;
pub mod gpg;
pub mod hooks;
pub mod init;
pub mod interrupt;
pub mod inventory;
pub mod lifecycle;
pub mod policy;
pub mod provenance;
pub mod render;
pub mod repo;
pub mod review;
pub mod sign;
pub mod signature;
pub mod signer;
pub mod signers;
pub mod tempfiles;
pub mod templates;
pub mod verify;
