//! Renderers: the only code that formats findings for people or machines.
//!
//! Commands build plain report values; these functions turn them into text.
//! They return strings; the front-end decides where they go.

pub mod audit;
pub mod audit_html;
pub mod html;
pub mod human;
pub mod inventory;
pub mod inventory_html;
pub mod json;
pub mod signers;

/// Output formats a report command accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}
