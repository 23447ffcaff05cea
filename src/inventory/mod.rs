//! `sigctl inventory`: every signing identity of many repositories, with
//! its owner, custody, certificates and their renewal windows, its recent
//! use, and the findings that only show across repositories.
//!
//! [`model`] is the report (JSON is its stable form: `inventory --merge`
//! reads it back); collection, rendering and the HTML report build on it.

pub mod model;
