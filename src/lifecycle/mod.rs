//! Identity lifecycle: what keys exist where they should not, revocation
//! (the policy edit and its blast radius) and emergency exceptions.

pub mod ca;
pub mod exceptions;
pub mod policy_file;
pub mod render;
pub mod revoke;
pub mod shadow_keys;
