//! `sigctl verify-artifact` on real Sigstore bundles: the whole corpus of
//! `tests/data/bundles` (the sigstore-conformance bundle-verify suite, the
//! sigstore-python test bundles and our tampered copies) gets its recorded
//! verdict in the policy-free mode; refusals say what failed; the policy mode
//! matches a keyless signer to signing.toml with the trusted root it names
//! (from HEAD); an hsm bundle with an RFC 3161 timestamp is judged at the
//! timestamp's time.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use sha2::Digest;

use sigctl::clock::{Clock, SystemClock};

use crate::util::{Run, SIGCTL, TestRepo};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
/// The identity the conformance suite expects when a case names none.
const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ACTIONS: &str = "https://token.actions.githubusercontent.com";
const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// `_fail` cases whose trust material, not their bundle, cannot be used:
/// sigctl stops with exit 2 (a fault of what it was given) rather than 1.
const UNUSABLE_TRUST: &[(&str, &str)] = &[
    (
        "trust-root-tlog-missing-validity-start_fail",
        "the trusted root does not parse",
    ),
    (
        "managed-key-wrong-key_fail",
        "key.pub is not a PEM public key",
    ),
];

fn data(rel: &str) -> String {
    format!("{DATA}/{rel}")
}

fn public_good() -> String {
    data("trust/sigstore-public-good.trusted_root.json")
}

fn staging() -> String {
    data("trust/sigstore-staging.trusted_root.json")
}

fn sha256_arg(path: &str) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let digest = sha2::Sha256::digest(&bytes);
    format!(
        "sha256:{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Run sigctl with `args` in `dir` (no repository: the policy-free mode
/// reads none), with HOME and git config isolated.
fn sigctl_in(dir: &Path, args: &[String]) -> Run {
    std::process::Command::new(SIGCTL)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .output()
        .expect("sigctl runs")
        .into()
}

/// One verify-artifact run of the corpus and the exit code it must give.
struct Case {
    what: String,
    args: Vec<String>,
    want: i32,
}

fn explicit_args(artefact: &str, bundle: &str, root: &str, who: &[String]) -> Vec<String> {
    let mut args = vec![
        "verify-artifact".to_owned(),
        artefact.to_owned(),
        "--bundle".to_owned(),
        bundle.to_owned(),
        "--trusted-root".to_owned(),
        root.to_owned(),
    ];
    args.extend(who.iter().cloned());
    args
}

fn identity(subject: &str, issuer: &str) -> Vec<String> {
    vec![
        "--certificate-identity".to_owned(),
        subject.to_owned(),
        "--certificate-oidc-issuer".to_owned(),
        issuer.to_owned(),
    ]
}

/// The manifest's view of a file (only what the cases need).
#[derive(Debug, Clone, serde::Deserialize)]
struct Entry {
    path: String,
    kind: String,
    expected: String,
    signer: Option<String>,
    issuer: Option<String>,
    trust: Option<String>,
    artefact: Option<String>,
    artefact_digest: Option<String>,
    key: Option<String>,
    derived_from: Option<String>,
}

#[derive(serde::Deserialize)]
struct Manifest {
    file: Vec<Entry>,
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(data("manifest.toml")).expect("manifest.toml");
    toml::from_str::<Manifest>(&text)
        .expect("manifest.toml parses")
        .file
}

fn verdict(expected: &str) -> i32 {
    match expected {
        "valid" => 0,
        "invalid" => 1,
        other => panic!("unknown verdict {other}"),
    }
}

/// A conformance case, by the suite's own rules (its README): `_fail` must
/// fail; without `artifact` the artefact is `a.txt`; without
/// `identity`/`issuer` the beacon workflow; without `trusted_root.json` the
/// public-good root; with `key.pub` that key. Each case runs twice, on the
/// file and on its `sha256:` digest, as upstream does.
fn conformance_cases(entries: &[Entry]) -> Vec<Case> {
    let dir = data("bundles/conformance");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("conformance dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 70, "the suite has 70 cases");
    let mut cases = Vec::new();
    for name in names {
        let case = format!("{dir}/{name}");
        let has = |f: &str| Path::new(&format!("{case}/{f}")).exists();
        let read = |f: &str| {
            std::fs::read_to_string(format!("{case}/{f}"))
                .expect("case file")
                .trim()
                .to_owned()
        };
        let bundle = format!("{case}/bundle.sigstore.json");
        let artefact = if has("artifact") {
            format!("{case}/artifact")
        } else {
            format!("{dir}/a.txt")
        };
        let root = if has("trusted_root.json") {
            format!("{case}/trusted_root.json")
        } else {
            public_good()
        };
        let who = if has("key.pub") {
            vec!["--key".to_owned(), format!("{case}/key.pub")]
        } else {
            identity(
                &if has("identity") {
                    read("identity")
                } else {
                    BEACON.into()
                },
                &if has("issuer") {
                    read("issuer")
                } else {
                    ACTIONS.into()
                },
            )
        };
        let mut want = if name.ends_with("_fail") { 1 } else { 0 };
        // the manifest records the same verdict
        let rel = format!("bundles/conformance/{name}/bundle.sigstore.json");
        let entry = entries
            .iter()
            .find(|e| e.path == rel)
            .unwrap_or_else(|| panic!("{rel} is not in manifest.toml"));
        assert_eq!(verdict(&entry.expected), want, "{rel}: manifest vs name");
        if UNUSABLE_TRUST.iter().any(|(n, _)| *n == name) {
            want = 2;
        }
        for input in [artefact.clone(), sha256_arg(&artefact)] {
            let by = if input.starts_with("sha256:") {
                "digest"
            } else {
                "file"
            };
            cases.push(Case {
                what: format!("conformance/{name} ({by})"),
                args: explicit_args(&input, &bundle, &root, &who),
                want,
            });
        }
    }
    cases
}

/// The identity a manifest entry names (a placeholder where it names none:
/// such a bundle is invalid whoever is expected).
fn entry_who(e: &Entry) -> Vec<String> {
    match &e.key {
        Some(k) => vec!["--key".to_owned(), data(k)],
        None => identity(
            e.signer.as_deref().unwrap_or("nobody@example.com"),
            e.issuer.as_deref().unwrap_or("https://example.com"),
        ),
    }
}

fn entry_inputs(e: &Entry) -> Vec<String> {
    match (&e.artefact, &e.artefact_digest) {
        (Some(a), _) => vec![data(a), sha256_arg(&data(a))],
        (None, Some(d)) => vec![d.clone()],
        (None, None) => panic!("{}: no artefact", e.path),
    }
}

/// The sigstore-python bundles and the tampered copies, from the manifest.
fn manifest_cases(entries: &[Entry]) -> Vec<Case> {
    let mut cases = Vec::new();
    for e in entries {
        if e.kind == "sigstore-bundle" && e.path.starts_with("bundles/sigstore-python/") {
            for input in entry_inputs(e) {
                cases.push(Case {
                    what: format!("{} ({input})", e.path),
                    args: explicit_args(
                        &input,
                        &data(&e.path),
                        &data(e.trust.as_deref().expect("trust")),
                        &entry_who(e),
                    ),
                    want: verdict(&e.expected),
                });
            }
        }
        if !e.path.starts_with("bundles/tampered/") {
            continue;
        }
        let from = e.derived_from.as_deref().expect("derived_from");
        assert_eq!(e.expected, "invalid", "{}", e.path);
        if e.kind == "sigstore-bundle" {
            // a changed bundle, verified as its original would be
            let original = entries
                .iter()
                .find(|o| o.path == from)
                .expect("the original bundle");
            for input in entry_inputs(original) {
                cases.push(Case {
                    what: format!("{} ({input})", e.path),
                    args: explicit_args(
                        &input,
                        &data(&e.path),
                        &data(original.trust.as_deref().expect("trust")),
                        &entry_who(original),
                    ),
                    want: 1,
                });
            }
        } else {
            // a changed artefact, against every valid bundle of the original
            let bundles: Vec<&Entry> = entries
                .iter()
                .filter(|o| {
                    o.kind == "sigstore-bundle"
                        && o.expected == "valid"
                        && o.artefact.as_deref() == Some(from)
                })
                .collect();
            assert!(!bundles.is_empty(), "{}: no bundle signs {from}", e.path);
            for b in bundles {
                cases.push(Case {
                    what: format!("{} against {}", e.path, b.path),
                    args: explicit_args(
                        &data(&e.path),
                        &data(&b.path),
                        &data(b.trust.as_deref().expect("trust")),
                        &entry_who(b),
                    ),
                    want: 1,
                });
            }
        }
    }
    cases
}

/// Every file of tests/data/bundles that is a bundle (by name).
fn bundle_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("dir").filter_map(|e| e.ok()) {
        let p = e.path();
        if p.is_dir() {
            bundle_files(&p, out);
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".sigstore") || n.ends_with(".sigstore.json"))
        {
            out.push(p);
        }
    }
}

#[test]
fn every_bundle_of_the_corpus_gets_its_recorded_verdict() {
    let entries = manifest();
    let mut cases = conformance_cases(&entries);
    cases.extend(manifest_cases(&entries));
    // every bundle on disk is among the cases
    let mut on_disk = Vec::new();
    bundle_files(Path::new(&data("bundles")), &mut on_disk);
    for b in &on_disk {
        let b = b.display().to_string();
        assert!(
            cases.iter().any(|c| c.args.contains(&b)),
            "{b} is verified by no case"
        );
    }
    assert_eq!(on_disk.len(), 70 + 10 + 1, "bundles in tests/data/bundles");
    // run them all, on every core; collect every mismatch before judging
    let cwd = tempfile::tempdir().expect("a directory outside any repository");
    let next = AtomicUsize::new(0);
    let mismatches = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, usize::from) * 2;
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let run = sigctl_in(cwd.path(), &case.args);
                    // a verdict is an exit code and the matching report
                    let reported = match run.code {
                        0 => run.stdout.starts_with("OK: ") && run.stderr.is_empty(),
                        1 => run.stderr.starts_with("FAILED: ") && run.stdout.is_empty(),
                        2 => run.stderr.starts_with("error: ") && run.stdout.is_empty(),
                        _ => false,
                    };
                    if run.code != case.want || !reported {
                        mismatches
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(format!(
                                "{}: want exit {}, got\n{}",
                                case.what,
                                case.want,
                                run.snapshot()
                            ));
                    }
                }
            });
        }
    });
    let mismatches = mismatches
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    assert!(
        mismatches.is_empty(),
        "{} of {} runs did not give the recorded verdict:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
    // the two exit-2 cases are faults of the trust material given
    for (name, why) in UNUSABLE_TRUST {
        assert!(
            cases
                .iter()
                .any(|c| c.what.starts_with(&format!("conformance/{name}")) && c.want == 2),
            "{name}: {why}"
        );
    }
}

// ---------------------------------------------------------------------------
// What a refusal says

/// verify-artifact on a conformance case in the policy-free mode, with the
/// case's own material, and `extra` replacing the expected signer.
fn conformance(name: &str, artefact: Option<&str>, who: Option<Vec<String>>) -> Run {
    let case = data(&format!("bundles/conformance/{name}"));
    let has = |f: &str| Path::new(&format!("{case}/{f}")).exists();
    let artefact = artefact.map(str::to_owned).unwrap_or_else(|| {
        if has("artifact") {
            format!("{case}/artifact")
        } else {
            data("bundles/conformance/a.txt")
        }
    });
    let root = if has("trusted_root.json") {
        format!("{case}/trusted_root.json")
    } else {
        public_good()
    };
    let who = who.unwrap_or_else(|| {
        if has("key.pub") {
            vec!["--key".to_owned(), format!("{case}/key.pub")]
        } else {
            identity(BEACON, ACTIONS)
        }
    });
    let dir = tempfile::tempdir().expect("tmp");
    sigctl_in(
        dir.path(),
        &explicit_args(
            &artefact,
            &format!("{case}/bundle.sigstore.json"),
            &root,
            &who,
        ),
    )
}

fn refused(run: &Run, code: i32, needle: &str) {
    assert_eq!(run.code, code, "{}", run.snapshot());
    assert!(
        run.stderr.contains(needle),
        "{needle:?} in\n{}",
        run.snapshot()
    );
    assert_eq!(run.stdout, "", "{}", run.snapshot());
}

#[test]
fn each_failure_class_is_refused_in_words() {
    for (case, needle) in [
        (
            "message-digest-mismatch_fail",
            "the artefact's SHA-256 digest does not match the bundle",
        ),
        ("signature-mismatch_fail", "the signature does not verify"),
        (
            "bundle-from-wrong-instance_fail",
            "which the trusted root does not list (a bundle from another Sigstore instance?)",
        ),
        (
            "bundle-with-root-cert_fail",
            "its certificate chain carries a root certificate",
        ),
        (
            "invalid-ct-key_fail",
            "the certificate's signed certificate timestamp (SCT) does not verify",
        ),
        (
            "inclusion-proof-corrupted-hash_fail",
            "the transparency log inclusion proof does not verify",
        ),
        (
            "set-invalid-signature_fail",
            "the transparency log's signed entry timestamp (SET) does not verify",
        ),
        (
            "invalid-checkpoint-signature_fail",
            "the transparency log checkpoint does not verify",
        ),
        (
            "integrated-time-in-future_fail",
            "the certificate was not valid at the signing time: a certificate of the chain expired at 2026-05-07T15:28:10Z, before the signing time 2026-05-07T15:34:11Z",
        ),
        (
            "wrong-hashedrekord-cert-and-sig_fail",
            "the transparency log entry does not describe this bundle",
        ),
        (
            "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
            "the RFC 3161 timestamp does not verify against the trusted root",
        ),
        (
            "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
            "is outside the validity period of the authority that signed it",
        ),
        (
            "rekor2-no-timestamp_fail",
            "the bundle has no verified signing time",
        ),
        (
            "dsse-invalid-sig_fail",
            "DSSE signature verification failed",
        ),
        (
            "bundle-malformed-json_fail",
            "the bundle is not a valid Sigstore bundle",
        ),
        (
            "bundle-empty-certificate-chain_fail",
            "its certificate chain is empty",
        ),
        (
            "managed-key-no-key_fail",
            "the bundle is signed with a managed key (a public key hint, no certificate), so it names no identity: verify it with --key PUB.pem",
        ),
    ] {
        let run = conformance(case, None, None);
        refused(&run, 1, needle);
        assert!(run.stderr.starts_with("FAILED: "), "{case}");
    }
}

#[test]
fn a_wrong_identity_shows_the_expected_and_the_found_signer() {
    let run = conformance(
        "happy-path-v0.3",
        None,
        Some(identity(
            "https://github.com/example/project/.github/workflows/release.yml@refs/heads/main",
            ACTIONS,
        )),
    );
    refused(
        &run,
        1,
        &format!(
            "wrong identity: the bundle was signed by {BEACON} (issuer {ACTIONS}), expected https://github.com/example/project/.github/workflows/release.yml@refs/heads/main (issuer {ACTIONS})"
        ),
    );
    // the issuer must match as well as the subject
    let run = conformance(
        "happy-path-v0.3",
        None,
        Some(identity(BEACON, "https://github.com/login/oauth")),
    );
    refused(&run, 1, "expected");
    assert!(
        run.stderr
            .contains("(issuer https://github.com/login/oauth)")
    );
}

#[test]
fn an_in_toto_attestation_binds_the_artefact_by_its_subject_digest() {
    let ok = conformance("happy-path-intoto-in-dsse-v3", None, None);
    assert_eq!(ok.code, 0, "{}", ok.snapshot());
    assert!(
        ok.stdout.contains(
            "content: an in-toto statement (DSSE); its subject `a.txt` has the artefact's digest"
        ),
        "{}",
        ok.stdout
    );
    // another file is no subject of the statement
    let other = data("bundles/sigstore-python/bundle_v3.txt");
    let run = conformance("happy-path-intoto-in-dsse-v3", Some(&other), None);
    refused(
        &run,
        1,
        "(sha256 5e6ae9de58c1177bea615b4fcbfb2fd688e8c4b51c2e56b6a38e817833ec24a2) is no subject of the bundle's in-toto statement (`a.txt` sha256 a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf)",
    );
    // the payload changed after signing
    let dir = tempfile::tempdir().expect("tmp");
    let run = sigctl_in(
        dir.path(),
        &explicit_args(
            &data("bundles/conformance/a.txt"),
            &data(
                "bundles/tampered/happy-path-intoto-in-dsse-v3.payload-byte-flipped.sigstore.json",
            ),
            &public_good(),
            &identity(BEACON, ACTIONS),
        ),
    );
    refused(&run, 1, "DSSE signature verification failed");
}

#[test]
fn a_trusted_root_without_the_signers_ca_refuses_the_chain() {
    // the public-good root with staging's Fulcio CAs in place of its own
    let mut root: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(public_good()).expect("root")).expect("json");
    let stage: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(staging()).expect("root")).expect("json");
    root["certificateAuthorities"] = stage["certificateAuthorities"].clone();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("root.json");
    std::fs::write(&path, root.to_string()).expect("write");
    let run = sigctl_in(
        dir.path(),
        &explicit_args(
            &data("bundles/conformance/a.txt"),
            &data("bundles/conformance/happy-path-v0.3/bundle.sigstore.json"),
            &path.display().to_string(),
            &identity(BEACON, ACTIONS),
        ),
    );
    refused(
        &run,
        1,
        "the certificate does not chain to the trusted root at the signing time",
    );
}

#[test]
fn the_policy_free_mode_reads_no_repository_and_reports_the_time_source() {
    // outside any repository, in a directory holding a signing.toml that
    // would refuse everything: it is not read
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("signing.toml"), "not a policy").expect("write");
    let run = conformance("happy-path-v0.3", None, None);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    let run = sigctl_in(
        dir.path(),
        &explicit_args(
            &data("bundles/conformance/a.txt"),
            &data("bundles/conformance/happy-path-v0.3/bundle.sigstore.json"),
            &public_good(),
            &identity(BEACON, ACTIONS),
        ),
    );
    assert_eq!(run.code, 0, "{}", run.snapshot());
    assert!(run.stdout.contains("(rekor)\n"), "{}", run.stdout);
    // Rekor v2 has no integrated time: the RFC 3161 timestamp is the time
    let v2 = conformance("rekor2-happy-path", None, None);
    assert_eq!(v2.code, 0, "{}", v2.snapshot());
    assert!(v2.stdout.contains("(rfc3161)\n"), "{}", v2.stdout);
    // a managed key
    let key = conformance("managed-key-happy-path", None, None);
    assert_eq!(key.code, 0, "{}", key.snapshot());
    assert!(
        key.stdout.contains("signed by key sha256:"),
        "{}",
        key.stdout
    );
    let mut all = String::new();
    for (what, run) in [
        ("keyless, Rekor v1", &run),
        ("keyless, Rekor v2 and RFC 3161", &v2),
        ("managed key", &key),
    ] {
        all.push_str(&format!(
            "=== {what}\n{}",
            run.snapshot().replace(DATA, "[DATA]")
        ));
    }
    insta::assert_snapshot!(all);
}

#[test]
fn json_output_reports_the_verdict_the_signer_and_the_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut args = explicit_args(
        &sha256_arg(&data("bundles/conformance/a.txt")),
        &data("bundles/conformance/happy-path-v0.3/bundle.sigstore.json"),
        &public_good(),
        &identity(BEACON, ACTIONS),
    );
    args.extend(["--format".to_owned(), "json".to_owned()]);
    let run = sigctl_in(dir.path(), &args);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    let v = run.json();
    assert_eq!(v["verified"], true);
    assert_eq!(
        v["sha256"],
        "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
    );
    assert_eq!(v["signer"]["kind"], "keyless");
    assert_eq!(v["signer"]["subject"], BEACON);
    assert_eq!(v["signer"]["issuer"], ACTIONS);
    assert_eq!(v["identity"], serde_json::Value::Null);
    assert_eq!(v["time_source"], "rekor");
    assert_eq!(v["content"], "message-signature");
    assert!(v["tlog"]["log_index"].as_u64().is_some());
    // a refusal is a verdict too: on stdout, exit 1
    let mut args = explicit_args(
        &data("bundles/tampered/a.txt.byte-flipped"),
        &data("bundles/conformance/happy-path-v0.3/bundle.sigstore.json"),
        &public_good(),
        &identity(BEACON, ACTIONS),
    );
    args.extend(["--format".to_owned(), "json".to_owned()]);
    let run = sigctl_in(dir.path(), &args);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    let v = run.json();
    assert_eq!(v["verified"], false);
    assert_eq!(v["reason"], "artifact-mismatch");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("digest does not match")),
        "{v}"
    );
}

#[test]
fn faults_are_exit_2_and_say_what_could_not_be_used() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = data("bundles/conformance/a.txt");
    let b = data("bundles/conformance/happy-path-v0.3/bundle.sigstore.json");
    let who = identity(BEACON, ACTIONS);
    // a trusted root that is no trusted root
    std::fs::write(dir.path().join("root.json"), "{}").expect("write");
    let run = sigctl_in(
        dir.path(),
        &explicit_args(
            &a,
            &b,
            &dir.path().join("root.json").display().to_string(),
            &who,
        ),
    );
    refused(&run, 2, "cannot be used: it is not a Sigstore trusted root");
    // a bundle that is not there
    let run = sigctl_in(
        dir.path(),
        &explicit_args(&a, "missing.sigstore.json", &public_good(), &who),
    );
    refused(&run, 2, "missing.sigstore.json: it does not exist");
    // a digest has no bundle beside it
    let run = sigctl_in(
        dir.path(),
        &[
            "verify-artifact".to_owned(),
            sha256_arg(&a),
            "--trusted-root".to_owned(),
            public_good(),
        ]
        .into_iter()
        .chain(who.iter().cloned())
        .collect::<Vec<_>>(),
    );
    refused(&run, 2, "give --bundle PATH");
    // half an identity is a usage error
    let run = sigctl_in(
        dir.path(),
        &explicit_args(
            &a,
            &b,
            &public_good(),
            &["--certificate-identity".to_owned(), BEACON.to_owned()],
        ),
    );
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(
        run.stderr.contains("--certificate-oidc-issuer"),
        "{}",
        run.stderr
    );
    // --trusted-root alone names nobody to expect
    let run = sigctl_in(dir.path(), &explicit_args(&a, &b, &public_good(), &[]));
    assert_eq!(run.code, 2, "{}", run.snapshot());
    // a bundle that is not JSON is refused, not a fault
    std::fs::write(dir.path().join("junk.json"), "\u{0}\u{1}junk").expect("write");
    let run = sigctl_in(
        dir.path(),
        &explicit_args(&a, "junk.json", &public_good(), &who),
    );
    refused(&run, 1, "the bundle is not a valid Sigstore bundle");
}

// ---------------------------------------------------------------------------
// The policy mode

/// A repository whose signing.toml declares keyless identities (`extra`
/// appended) and names the public-good root, committed; a.txt and the
/// happy-path bundle beside it.
fn keyless_repo(extra: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "signing.toml",
        format!(
            r#"version = 1

[policy]
admins = ["security"]

[owners.security]
contact = "security@example.com"

[owners.ci]
contact = "ci@example.com"

[environments.prod]
refs = ["refs/tags/v*"]
custody = ["keyless"]

[identities.release-workflow]
owner = "ci"
environments = ["prod"]
custody = "keyless"
keyless = {{ issuer = "{ACTIONS}", subject = "https://github.com/example/project/.github/workflows/release.yml@refs/heads/main" }}
{extra}
[sigstore]
trusted_root = "trust/public-good.json"
"#
        ),
    );
    repo.write(
        "trust/public-good.json",
        std::fs::read(public_good()).expect("root"),
    );
    repo.write(
        "dist/a.txt",
        std::fs::read(data("bundles/conformance/a.txt")).expect("a.txt"),
    );
    repo.write(
        "dist/a.txt.sigstore.json",
        std::fs::read(data(
            "bundles/conformance/happy-path-v0.3/bundle.sigstore.json",
        ))
        .expect("bundle"),
    );
    repo.commit("policy and a release");
    repo
}

const BEACON_IDENTITY: &str = r#"
[identities.conformance-beacon]
owner = "ci"
environments = ["prod"]
custody = "keyless"
keyless = { issuer = "https://token.actions.githubusercontent.com", subject = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main" }
"#;

#[test]
fn a_keyless_bundle_verifies_against_the_policy_identity_and_its_trusted_root() {
    let repo = keyless_repo(BEACON_IDENTITY);
    let ok = repo.sigctl(&["verify-artifact", "dist/a.txt"]);
    assert_eq!(ok.code, 0, "{}", ok.snapshot());
    assert!(
        ok.stdout
            .starts_with("OK: dist/a.txt (sha256 a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf) signed by identity `conformance-beacon` ("),
        "{}",
        ok.stdout
    );
    // the trusted root is HEAD's: the work tree's copy is neither needed…
    std::fs::remove_file(repo.path().join("trust/public-good.json")).expect("rm");
    let from_head = repo.sigctl(&["verify-artifact", "dist/a.txt"]);
    assert_eq!(from_head.code, 0, "{}", from_head.snapshot());
    // …nor believed: an edited, uncommitted root changes nothing
    repo.write("trust/public-good.json", "{}");
    assert_eq!(repo.sigctl(&["verify-artifact", "dist/a.txt"]).code, 0);
    // by digest, in JSON
    let json = repo.sigctl(&[
        "verify-artifact",
        &sha256_arg(&data("bundles/conformance/a.txt")),
        "--bundle",
        "dist/a.txt.sigstore.json",
        "--format",
        "json",
    ]);
    assert_eq!(json.code, 0, "{}", json.snapshot());
    let v = json.json();
    assert_eq!(v["identity"], "conformance-beacon");
    assert_eq!(v["custody"], "keyless");
    assert_eq!(v["time_source"], "rekor");
    assert_eq!(v["signed_at"], "2024-03-19T17:26:26Z");
    insta::assert_snapshot!(ok.snapshot());
}

#[test]
fn a_keyless_signer_the_policy_does_not_declare_is_refused_with_both_names() {
    let repo = keyless_repo("");
    let run = repo.sigctl(&["verify-artifact", "dist/a.txt"]);
    refused(
        &run,
        1,
        &format!(
            "wrong identity: the bundle was signed by {BEACON} (issuer {ACTIONS}), which is no keyless identity of signing.toml (it declares `release-workflow`: https://github.com/example/project/.github/workflows/release.yml@refs/heads/main (issuer {ACTIONS}))"
        ),
    );
    insta::assert_snapshot!(run.snapshot());
}

#[test]
fn a_revoked_keyless_identity_is_refused() {
    let repo = keyless_repo(&format!(
        "{BEACON_IDENTITY}\n[[revocations]]\nidentity = \"conformance-beacon\"\nreason = \"retired\"\nrevoked_at = 2026-01-01T00:00:00Z\n"
    ));
    let run = repo.sigctl(&["verify-artifact", "dist/a.txt"]);
    refused(
        &run,
        1,
        "the signer `conformance-beacon` is revoked (retired, 2026-01-01T00:00:00Z)",
    );
}

#[test]
fn a_keyless_bundle_under_a_policy_without_a_trusted_root_is_refused() {
    let repo = keyless_repo(BEACON_IDENTITY);
    let text = repo.read("signing.toml");
    let cut = text.find("[sigstore]").expect("section");
    repo.write("signing.toml", &text[..cut]);
    repo.commit("no trusted root");
    let run = repo.sigctl(&["verify-artifact", "dist/a.txt"]);
    refused(
        &run,
        1,
        &format!(
            "signing.toml names no [sigstore] trusted_root, so the keyless certificate of {BEACON} (issuer {ACTIONS}) cannot be checked"
        ),
    );
    // a trusted root the policy names but that is not there is a fault
    repo.write(
        "signing.toml",
        format!(
            "{}[sigstore]\ntrusted_root = \"trust/gone.json\"\n",
            &text[..cut]
        ),
    );
    repo.commit("a missing trusted root");
    let run = repo.sigctl(&["verify-artifact", "dist/a.txt"]);
    refused(
        &run,
        2,
        "`trust/gone.json` (signing.toml [sigstore] trusted_root) cannot be used: it does not exist",
    );
}

// ---------------------------------------------------------------------------
// hsm bundles with an RFC 3161 timestamp

/// A TSA without a server: `openssl ts` with a P-256 root and a leaf with the
/// critical timeStamping EKU, in `dir`.
struct Tsa {
    dir: PathBuf,
}

impl Tsa {
    fn new(home: &Path) -> Self {
        let dir = home.join("tsa");
        std::fs::create_dir_all(&dir).expect("tsa dir");
        let t = Tsa { dir };
        t.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "root.key",
            "-subj",
            "/CN=Test TSA Root",
            "-days",
            "3650",
            "-out",
            "root.pem",
        ]);
        t.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-subj",
            "/CN=Test TSA",
            "-out",
            "tsa.csr",
        ]);
        std::fs::write(
            t.dir.join("ext.cnf"),
            "extendedKeyUsage = critical,timeStamping\nkeyUsage = critical,digitalSignature\n",
        )
        .expect("ext");
        t.openssl(&[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-days",
            "3650",
            "-extfile",
            "ext.cnf",
            "-out",
            "tsa.pem",
        ]);
        std::fs::write(
            t.dir.join("tsa.cnf"),
            "[tsa]\ndefault_tsa = tsa_config\n[tsa_config]\nserial = tsaserial\n\
             crypto_device = builtin\nsigner_cert = tsa.pem\nsigner_key = tsa.key\n\
             signer_digest = sha256\ndefault_policy = 1.2.3.4.1\nother_policies = 1.2.3.4.2\n\
             digests = sha256\naccuracy = secs:1\nordering = no\ntsa_name = no\n\
             ess_cert_id_chain = no\ness_cert_id_alg = sha256\nclock_precision_digits = 0\n",
        )
        .expect("cnf");
        std::fs::write(t.dir.join("tsaserial"), "01\n").expect("serial");
        t
    }

    fn openssl(&self, args: &[&str]) -> Vec<u8> {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn der(&self, pem: &str) -> Vec<u8> {
        self.openssl(&["x509", "-in", pem, "-outform", "DER"])
    }

    /// A timestamp response over `data` (DER TimeStampResp).
    fn stamp(&self, data: &[u8]) -> Vec<u8> {
        std::fs::write(self.dir.join("data.bin"), data).expect("data");
        self.openssl(&[
            "ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-out", "req.tsq",
        ]);
        self.openssl(&[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "req.tsq",
            "-out",
            "resp.tsr",
        ]);
        std::fs::read(self.dir.join("resp.tsr")).expect("resp.tsr")
    }

    /// A trusted root whose one timestamp authority is this TSA.
    fn trusted_root(&self) -> String {
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [],
            "certificateAuthorities": [],
            "ctlogs": [],
            "timestampAuthorities": [{
                "subject": {"organization": "Test", "commonName": "Test TSA"},
                "uri": "https://tsa.example.com",
                "certChain": {"certificates": [
                    {"rawBytes": B64.encode(self.der("tsa.pem"))},
                    {"rawBytes": B64.encode(self.der("root.pem"))},
                ]},
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            }],
        })
        .to_string()
    }
}

/// A v0.3 bundle as `sign artifact` writes it (the certificate, a message
/// signature), with `timestamp` as its RFC 3161 timestamp when given.
fn hsm_bundle(cert_der: &[u8], artefact: &[u8], sig: &[u8], timestamp: Option<&[u8]>) -> String {
    let mut material = serde_json::json!({
        "certificate": {"rawBytes": B64.encode(cert_der)},
        "tlogEntries": [],
    });
    if let Some(ts) = timestamp {
        material["timestampVerificationData"] =
            serde_json::json!({"rfc3161Timestamps": [{"signedTimestamp": B64.encode(ts)}]});
    }
    serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": material,
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(sha2::Sha256::digest(artefact))},
            "signature": B64.encode(sig),
        },
    })
    .to_string()
}

fn utc(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[test]
fn an_hsm_bundle_with_a_timestamp_is_judged_at_the_timestamps_time() {
    let repo = TestRepo::new();
    let tsa = Tsa::new(&repo.home());
    repo.write("trust/root.json", tsa.trusted_root());
    repo.write(
        "signing.toml",
        format!(
            "{}\n[sigstore]\ntrusted_root = \"trust/root.json\"\n",
            crate::util::HSM_POLICY
        ),
    );
    let artefact = b"release 1.0\n".to_vec();
    repo.write("dist/app.tar", &artefact);
    // a certificate that expires seconds from now: signed and stamped at once
    let now = SystemClock.now();
    let expires = now + time::Duration::seconds(8);
    let pem = repo.certificate(
        "release",
        &utc(now - time::Duration::hours(1)),
        &utc(expires),
        true,
    );
    repo.write("certs/release.pem", &pem);
    let sig = repo.openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        "ca/release.key",
        &repo.path().join("dist/app.tar").display().to_string(),
    ]);
    let cert_der = repo.openssl_stdin(&["x509", "-outform", "DER"], &pem);
    let stamped = hsm_bundle(&cert_der, &artefact, &sig, Some(&tsa.stamp(&sig)));
    repo.write("dist/app.tar.sigstore.json", &stamped);
    repo.write(
        "dist/bare.sigstore.json",
        hsm_bundle(&cert_der, &artefact, &sig, None),
    );
    // a timestamp over other bytes than the signature
    repo.write(
        "dist/other.sigstore.json",
        hsm_bundle(&cert_der, &artefact, &sig, Some(&tsa.stamp(b"other bytes"))),
    );
    repo.commit("release");
    let verify =
        |bundle: &str| repo.sigctl(&["verify-artifact", "dist/app.tar", "--bundle", bundle]);
    // the timestamped bundle verifies, with its time source
    let ok = verify("dist/app.tar.sigstore.json");
    assert_eq!(ok.code, 0, "{}", ok.snapshot());
    assert!(ok.stdout.contains(" (rfc3161)\n"), "{}", ok.stdout);
    assert!(
        ok.stdout
            .contains("RFC 3161 timestamp by a TSA of the trusted root")
    );
    // the bare one, while the certificate is valid (a slow machine may be past it)
    let bare = verify("dist/bare.sigstore.json");
    if SystemClock.now() + time::Duration::seconds(1) < expires {
        assert_eq!(bare.code, 0, "{}", bare.snapshot());
        assert!(
            bare.stdout.contains("time: none (checked now)\n"),
            "{}",
            bare.stdout
        );
    }
    // a certificate signing.toml does not declare (no Fulcio issuer either)
    let intruder = repo.certificate("intruder", "20260101000000Z", "20360101000000Z", true);
    let intruder_sig = repo.openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        "ca/intruder.key",
        &repo.path().join("dist/app.tar").display().to_string(),
    ]);
    let intruder_der = repo.openssl_stdin(&["x509", "-outform", "DER"], &intruder);
    repo.write(
        "dist/intruder.sigstore.json",
        hsm_bundle(&intruder_der, &artefact, &intruder_sig, None),
    );
    refused(
        &verify("dist/intruder.sigstore.json"),
        1,
        "the bundle's certificate (CN=intruder) belongs to no identity of signing.toml",
    );
    let other = verify("dist/other.sigstore.json");
    refused(
        &other,
        1,
        "the RFC 3161 timestamp does not verify against the trusted root",
    );
    // once it has expired: the timestamped bundle still verifies (judged at
    // the timestamp), the bare one does not (judged now)
    while SystemClock.now() <= expires + time::Duration::seconds(1) {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let later = verify("dist/app.tar.sigstore.json");
    assert_eq!(later.code, 0, "{}", later.snapshot());
    let json = repo.sigctl(&["verify-artifact", "dist/app.tar", "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.snapshot());
    let v = json.json();
    assert_eq!(v["identity"], "release");
    assert_eq!(v["custody"], "hsm");
    assert_eq!(v["time_source"], "rfc3161");
    let bare = verify("dist/bare.sigstore.json");
    refused(&bare, 1, "the certificate of `release` is not valid now");
    // the same bundle under a trusted root without that TSA
    repo.write(
        "trust/root.json",
        std::fs::read(public_good()).expect("root"),
    );
    repo.commit("another trusted root");
    let untrusted = verify("dist/app.tar.sigstore.json");
    refused(
        &untrusted,
        1,
        "the RFC 3161 timestamp does not verify against the trusted root",
    );
}
