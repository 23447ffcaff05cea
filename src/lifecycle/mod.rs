//! Identity lifecycle: what keys exist where they should not, and (later)
//! inventory, renewal and revocation.

pub mod ca;
pub mod shadow_keys;
