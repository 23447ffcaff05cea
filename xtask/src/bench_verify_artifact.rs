//! `cargo xtask bench verify-artifact`: `sigctl verify-artifact` over the
//! real bundles of `tests/data/bundles` (the 70 sigstore-conformance cases,
//! the 10 sigstore-python bundles, the tampered bundle and the 2 tampered
//! artefacts), one process per bundle as a user or CI would run it, in the
//! policy-free mode with each case's trusted root and identity or key. Every
//! run must give its recorded verdict; the figure is the total wall time of
//! the pass (median of 5, after one warm-up pass).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::bench::ms;
use crate::util::{Result, root, say};

const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ACTIONS: &str = "https://token.actions.githubusercontent.com";
/// Conformance `_fail` cases whose trust material cannot be used (exit 2).
const UNUSABLE_TRUST: &[&str] = &[
    "trust-root-tlog-missing-validity-start_fail",
    "managed-key-wrong-key_fail",
];
const ROUNDS: usize = 5;

#[derive(serde::Deserialize)]
struct Entry {
    path: String,
    kind: String,
    expected: String,
    signer: Option<String>,
    issuer: Option<String>,
    trust: Option<String>,
    artefact: Option<String>,
    artefact_digest: Option<String>,
    derived_from: Option<String>,
}

#[derive(serde::Deserialize)]
struct Manifest {
    file: Vec<Entry>,
}

struct Run {
    what: String,
    args: Vec<String>,
    want: i32,
}

fn args(artefact: &str, bundle: &Path, trust: &Path, who: Vec<String>) -> Vec<String> {
    let mut a = vec![
        "verify-artifact".to_owned(),
        artefact.to_owned(),
        "--bundle".to_owned(),
        bundle.display().to_string(),
        "--trusted-root".to_owned(),
        trust.display().to_string(),
    ];
    a.extend(who);
    a
}

fn identity(subject: &str, issuer: &str) -> Vec<String> {
    vec![
        "--certificate-identity".to_owned(),
        subject.to_owned(),
        "--certificate-oidc-issuer".to_owned(),
        issuer.to_owned(),
    ]
}

/// One run per bundle of the corpus (and per tampered artefact).
fn corpus(data: &Path) -> Result<Vec<Run>> {
    let mut runs = Vec::new();
    let conf = data.join("bundles/conformance");
    let mut names: Vec<String> = std::fs::read_dir(&conf)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let case = conf.join(&name);
        let read = |f: &str| std::fs::read_to_string(case.join(f)).map(|s| s.trim().to_owned());
        let artefact = if case.join("artifact").exists() {
            case.join("artifact")
        } else {
            conf.join("a.txt")
        };
        let trust = if case.join("trusted_root.json").exists() {
            case.join("trusted_root.json")
        } else {
            data.join("trust/sigstore-public-good.trusted_root.json")
        };
        let who = if case.join("key.pub").exists() {
            vec![
                "--key".to_owned(),
                case.join("key.pub").display().to_string(),
            ]
        } else {
            identity(
                &read("identity").unwrap_or_else(|_| BEACON.into()),
                &read("issuer").unwrap_or_else(|_| ACTIONS.into()),
            )
        };
        let want = match (
            name.ends_with("_fail"),
            UNUSABLE_TRUST.contains(&name.as_str()),
        ) {
            (_, true) => 2,
            (true, false) => 1,
            (false, false) => 0,
        };
        runs.push(Run {
            what: format!("conformance/{name}"),
            args: args(
                &artefact.display().to_string(),
                &case.join("bundle.sigstore.json"),
                &trust,
                who,
            ),
            want,
        });
    }
    let text = std::fs::read_to_string(data.join("manifest.toml")).map_err(|e| e.to_string())?;
    let entries = toml::from_str::<Manifest>(&text)
        .map_err(|e| e.to_string())?
        .file;
    let want = |e: &Entry| if e.expected == "valid" { 0 } else { 1 };
    let who = |e: &Entry| {
        identity(
            e.signer.as_deref().unwrap_or("nobody@example.com"),
            e.issuer.as_deref().unwrap_or("https://example.com"),
        )
    };
    let input = |e: &Entry| match (&e.artefact, &e.artefact_digest) {
        (Some(a), _) => data.join(a).display().to_string(),
        (None, Some(d)) => d.clone(),
        (None, None) => String::new(),
    };
    let trust = |e: &Entry| data.join(e.trust.as_deref().unwrap_or_default());
    for e in &entries {
        let from = e
            .derived_from
            .as_deref()
            .and_then(|f| entries.iter().find(|o| o.path == f));
        if e.kind == "sigstore-bundle" && e.path.starts_with("bundles/sigstore-python/") {
            runs.push(Run {
                what: e.path.clone(),
                args: args(&input(e), &data.join(&e.path), &trust(e), who(e)),
                want: want(e),
            });
        } else if e.kind == "sigstore-bundle" && e.path.starts_with("bundles/tampered/") {
            let o = from.ok_or("a tampered bundle without its original")?;
            runs.push(Run {
                what: e.path.clone(),
                args: args(&input(o), &data.join(&e.path), &trust(o), who(o)),
                want: 1,
            });
        } else if e.path.starts_with("bundles/tampered/") {
            // a tampered artefact against the first valid bundle of its original
            let b = entries
                .iter()
                .find(|b| {
                    b.kind == "sigstore-bundle"
                        && b.expected == "valid"
                        && b.artefact.as_deref() == e.derived_from.as_deref()
                })
                .ok_or("a tampered artefact without a bundle")?;
            runs.push(Run {
                what: e.path.clone(),
                args: args(
                    &data.join(&e.path).display().to_string(),
                    &data.join(&b.path),
                    &trust(b),
                    who(b),
                ),
                want: 1,
            });
        }
    }
    Ok(runs)
}

/// One pass: every run, one process each; fails on a wrong verdict.
fn pass(sigctl: &Path, dir: &Path, runs: &[Run]) -> Result<Duration> {
    let start = Instant::now();
    for r in runs {
        let out = Command::new(sigctl)
            .args(&r.args)
            .current_dir(dir)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.code() != Some(r.want) {
            return Err(format!(
                "{}: exit {:?}, recorded verdict exit {}: {}",
                r.what,
                out.status.code(),
                r.want,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(start.elapsed())
}

pub fn run(sigctl: &Path, dir: &Path) -> Result {
    let data: PathBuf = root().join("tests/data");
    let runs = corpus(&data)?;
    say(&format!(
        "\n== verify-artifact: {} real bundles, one process each (policy-free mode)",
        runs.len()
    ));
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    pass(sigctl, dir, &runs)?;
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| pass(sigctl, dir, &runs))
        .collect::<Result<_>>()?;
    times.sort();
    let median = times[ROUNDS / 2];
    let valid = runs.iter().filter(|r| r.want == 0).count();
    say(&format!(
        "verify-artifact over the corpus: {} total, median of {ROUNDS} ({} per bundle; {valid} verified, {} refused, every verdict as recorded; fastest {}, slowest {})",
        ms(median),
        ms(median / runs.len() as u32),
        runs.len() - valid,
        ms(times[0]),
        ms(times[ROUNDS - 1]),
    ));
    Ok(())
}
