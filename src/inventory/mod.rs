//! `sigctl inventory`: every signing identity of many repositories, with
//! its owner, custody, certificates and their renewal windows, its recent
//! use, and the findings that only show across repositories.
//!
//! [`model`] is the report (JSON is its stable form: `inventory --merge`
//! reads it back); collection, rendering and the HTML report build on it.
//! [`find`] turns paths into repositories, [`collect`] reads each one (in
//! parallel, one gix handle per repository, no git process), [`programme`]
//! computes the cross-repository findings, [`merge`] combines inventories
//! made elsewhere. Computes; never prints.

pub mod code;
pub mod collect;
pub mod find;
pub mod merge;
pub mod model;
pub mod programme;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use time::OffsetDateTime;

use model::Inventory;

/// Read every repository `paths` names or holds (see [`find`]) and build
/// the inventory at `now`. Bad input is a finding, never an error.
pub fn inventory(paths: &[PathBuf], now: OffsetDateTime) -> Inventory {
    let targets = find::targets(paths);
    let parts = read_all(&targets, now);
    assemble(parts, now)
}

/// Read the targets on every core: a shared work queue, each worker with
/// its own repository handles; results in the order of `targets`.
fn read_all(targets: &[find::Target], now: OffsetDateTime) -> Vec<collect::Part> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 64)
        .min(targets.len().max(1));
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<collect::Part>>> = Mutex::new(vec![None; targets.len()]);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(t) = targets.get(i) else { break };
                    let part = collect::read_target(t, now);
                    if let Ok(mut slots) = slots.lock() {
                        slots[i] = Some(part);
                    }
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// The inventory of these parts: their repositories, identities,
/// exceptions and findings in order, then the programme findings.
pub fn assemble(parts: Vec<collect::Part>, now: OffsetDateTime) -> Inventory {
    let mut inv = Inventory {
        format: model::FORMAT.into(),
        version: model::VERSION,
        generated_at: crate::policy::timestamp::Timestamp(now).to_string(),
        repositories: Vec::new(),
        identities: Vec::new(),
        exceptions: Vec::new(),
        suppliers: Vec::new(),
        findings: Vec::new(),
    };
    for p in parts {
        inv.repositories.push(p.repository);
        inv.identities.extend(p.identities);
        inv.exceptions.extend(p.exceptions);
        inv.suppliers.extend(p.suppliers);
        inv.findings.extend(p.findings);
    }
    let programme = programme::findings(&inv);
    inv.findings.extend(programme);
    inv
}

impl Inventory {
    /// Error-level findings (exit 1 when there are).
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == "error")
            .count()
    }
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == "warning")
            .count()
    }
}
