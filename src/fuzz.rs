//! Mutational fuzzing on the stable toolchain: each target is a parser or
//! verifier fed the real signed data in `tests/data` and `tests/fixtures`,
//! mutated (bit flips, interesting bytes, truncation, deletion, duplication,
//! splicing two seeds), for a time budget. A panic is a finding: the input is
//! written to `target/fuzz-findings/` and the run fails. Inputs that once
//! crashed live in `tests/fuzz/<target>/` and are replayed first.
//!
//! `cargo test` runs every target for `SIGCTL_FUZZ_SECS` seconds (default
//! 1); `cargo xtask fuzz [TARGET] [--secs N]` runs longer and prints the
//! figures. `SIGCTL_FUZZ_SEED` repeats a run.
#![allow(clippy::print_stderr)] // the figures and the seed, for a rerun

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A small, seedable generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Every file under `dirs` (relative to the repository) whose name passes `keep`.
fn seeds(dirs: &[&str], keep: &dyn Fn(&Path) -> bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.iter().map(|d| Path::new(ROOT).join(d)).collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if keep(&p)
            && let Ok(b) = std::fs::read(&p)
        {
            out.push(b);
        }
    }
    out.sort();
    out
}

fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                const INTERESTING: [u8; 8] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x30, 0x0a, 0x20];
                let i = rng.below(len);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => v.truncate(rng.below(len + 1)),
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                v.drain(a..b);
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(256)).min(len);
                let chunk = v[a..b].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            5 if !other.is_empty() => {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            6 => {
                let at = rng.below(len + 1);
                let junk: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                v.splice(at..at, junk);
            }
            _ if len >= 4 => {
                // a length field, somewhere: set to an extreme
                let i = rng.below(len - 3);
                let x = [0u8, 0xff, 0x7f, 0x80][rng.below(4)];
                v[i..i + 4].fill(x);
            }
            _ => {}
        }
    }
    v
}

/// Run `target` over mutations of `corpus` for `budget`; `Err` names the
/// file holding the input that panicked.
fn run(
    name: &str,
    corpus: &[Vec<u8>],
    budget: Duration,
    target: &dyn Fn(&[u8]),
) -> Result<(), String> {
    assert!(!corpus.is_empty(), "no seeds for fuzz target {name}");
    let seed = std::env::var("SIGCTL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            use std::hash::{BuildHasher, Hasher};
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        })
        | 1;
    let mut rng = Rng(seed);
    let try_one = |input: &[u8]| catch_unwind(AssertUnwindSafe(|| target(input))).is_err();
    let mut found = None;
    // the regressions first, then the seeds as they are
    let regressions = seeds(&[&format!("tests/fuzz/{name}")], &|_| true);
    for input in regressions.iter().chain(corpus) {
        if try_one(input) {
            found = Some(input.clone());
            break;
        }
    }
    let started = Instant::now();
    let mut executions = 0u64;
    while found.is_none() && started.elapsed() < budget {
        for _ in 0..64 {
            let a = &corpus[rng.below(corpus.len())];
            let b = &corpus[rng.below(corpus.len())];
            let input = mutate(&mut rng, a, b);
            executions += 1;
            if try_one(&input) {
                found = Some(input);
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "fuzz {name}: {executions} executions in {:.1} s ({:.0}/s) from {} seeds, seed {seed}, {} finding(s)",
        elapsed.as_secs_f64(),
        executions as f64 / elapsed.as_secs_f64().max(1e-9),
        corpus.len(),
        usize::from(found.is_some())
    );
    match found {
        None => Ok(()),
        Some(input) => {
            let dir = Path::new(ROOT).join("target/fuzz-findings");
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("{name}-{seed}.bin"));
            let _ = std::fs::write(&path, &input);
            Err(format!(
                "fuzz {name}: a panic on the input saved at {} (seed {seed}); copy it to tests/fuzz/{name}/ as a regression, then fix",
                path.display()
            ))
        }
    }
}

fn budget() -> Duration {
    let secs = std::env::var("SIGCTL_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs.max(0.0))
}

fn ext(p: &Path, wanted: &[&str]) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| wanted.contains(&e))
}

/// The signed objects (commits and tags) of every format.
fn objects() -> Vec<Vec<u8>> {
    seeds(&["tests/data", "tests/fixtures"], &|p| {
        ext(p, &["commit", "tag"])
    })
}

/// The binary inside an ASCII armour (its base64 lines; a `=` checksum line
/// of OpenPGP dropped).
fn unarmour(text: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let text = std::str::from_utf8(text).ok()?;
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.starts_with('=') && !l.contains(':'))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn armour(label: &str, bin: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bin);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s.into_bytes()
}

/// A target: its name, its seeds, and what it calls.
type Target = (&'static str, Vec<Vec<u8>>, Box<dyn Fn(&[u8])>);

/// Every target.
pub fn targets() -> Vec<Target> {
    let signatures = || -> Vec<Vec<u8>> {
        objects()
            .iter()
            .filter_map(|o| {
                crate::repo::walk::split_commit_signature(o)
                    .or_else(|| crate::repo::walk::split_tag_signature(o))
                    .map(|(sig, _)| sig)
            })
            .collect()
    };
    // signatures are fuzzed as the binary inside their armour (a mutated
    // armour mostly stops at base64), armoured again for each call
    let of_kind = |armour: &'static [u8]| -> Vec<Vec<u8>> {
        signatures()
            .into_iter()
            .filter(|s| s.starts_with(armour))
            .filter_map(|s| unarmour(&s))
            .collect()
    };
    vec![
        (
            "policy",
            seeds(&["templates", "tests/fixtures"], &|p| ext(p, &["toml"])),
            Box::new(|b: &[u8]| {
                let parsed = crate::policy::load::parse("signing.toml", b);
                let diags = match &parsed.result {
                    Ok(raw) => crate::policy::validate(
                        raw,
                        &parsed.source,
                        &crate::policy::Inputs::default(),
                        time::OffsetDateTime::UNIX_EPOCH,
                    ),
                    Err(d) => vec![d.clone()],
                };
                let _ = crate::render::human::diagnostics(
                    &diags,
                    std::slice::from_ref(&parsed.source),
                    100,
                );
            }),
        ),
        (
            "object",
            objects(),
            Box::new(|b: &[u8]| {
                let _ = crate::repo::walk::split_commit_signature(b);
                let _ = crate::repo::walk::split_tag_signature(b);
            }),
        ),
        (
            "cms",
            [
                of_kind(b"-----BEGIN SIGNED MESSAGE-----"),
                of_kind(b"-----BEGIN PKCS7-----"),
            ]
            .concat(),
            Box::new(|b: &[u8]| {
                let b = armour("SIGNED MESSAGE", b);
                let _ = crate::signature::cms::verify_detached(&b, b"payload");
                let _ = crate::verify::signer::check_for_fuzzing(&b, b"payload");
            }),
        ),
        (
            "ssh",
            of_kind(b"-----BEGIN SSH SIGNATURE-----"),
            Box::new(|b: &[u8]| {
                let b = armour("SSH SIGNATURE", b);
                let _ = crate::signature::ssh::verify(&b, b"payload");
                let _ = crate::verify::signer::check_for_fuzzing(&b, b"payload");
            }),
        ),
        (
            "openpgp",
            [
                of_kind(b"-----BEGIN PGP SIGNATURE-----"),
                seeds(&["tests/data/openpgp", "tests/fixtures/openpgp"], &|p| {
                    ext(p, &["asc", "gpg", "pub"])
                })
                .iter()
                .filter_map(|k| unarmour(k))
                .collect(),
            ]
            .concat(),
            Box::new(|bin: &[u8]| {
                let b = armour("PGP SIGNATURE", bin);
                let _ = crate::signature::openpgp::well_formed(&b);
                let _ = crate::signature::openpgp::created(&b);
                // the same bytes as a key file (binary keys are read too)
                if let Ok(keys) = crate::signature::openpgp::read_keys(bin) {
                    let _ = crate::signature::openpgp::verify(&b, b"payload", &keys);
                }
                let _ = crate::verify::signer::check_for_fuzzing(&b, b"payload");
            }),
        ),
        (
            "bundle",
            seeds(&["tests/data/bundles", "tests/data/trust"], &|p| {
                ext(p, &["json"])
            }),
            Box::new(|b: &[u8]| {
                // what verify-artifact reads of a bundle before any key is used
                use sigstore_types::bundle::VerificationMaterialContent as V;
                if let Ok(text) = std::str::from_utf8(b)
                    && let Ok(bundle) = sigstore_types::Bundle::from_json(text)
                {
                    let leaf = match &bundle.verification_material.content {
                        V::Certificate(c) => Some(c.raw_bytes.as_bytes().to_vec()),
                        V::X509CertificateChain { certificates } => certificates
                            .first()
                            .map(|c| c.raw_bytes.as_bytes().to_vec()),
                        _ => None,
                    };
                    if let Some(leaf) = leaf {
                        let _ = crate::signature::x509::parse(&leaf);
                        let _ = crate::signature::fulcio::identity(&leaf);
                    }
                }
                let _ = crate::signature::fulcio::TrustedRoot::from_json(b);
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str) {
        let Some((_, corpus, target)) = targets().into_iter().find(|t| t.0 == name) else {
            panic!("no fuzz target {name}");
        };
        if let Err(e) = run(name, &corpus, budget(), target.as_ref()) {
            panic!("{e}");
        }
    }

    #[test]
    fn fuzz_policy() {
        one("policy");
    }
    #[test]
    fn fuzz_object() {
        one("object");
    }
    #[test]
    fn fuzz_cms() {
        one("cms");
    }
    #[test]
    fn fuzz_ssh() {
        one("ssh");
    }
    #[test]
    fn fuzz_openpgp() {
        one("openpgp");
    }
    #[test]
    fn fuzz_bundle() {
        one("bundle");
    }

    #[test]
    fn every_target_has_seeds() {
        for (name, corpus, _) in targets() {
            assert!(corpus.len() >= 2, "{name}: {} seeds", corpus.len());
        }
    }

    #[test]
    fn a_panicking_target_is_a_finding() {
        let corpus = vec![b"seed".to_vec()];
        let r = run("selftest", &corpus, Duration::from_millis(50), &|b| {
            assert!(b != b"seed", "boom");
        });
        assert!(r.is_err());
        if let Ok(rd) = std::fs::read_dir(Path::new(ROOT).join("target/fuzz-findings")) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with("selftest-") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}
