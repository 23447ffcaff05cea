//! `sigctl check` against real repositories, certificates from openssl and
//! keys from openssl and ssh-keygen.

use std::process::Command;

use crate::util::{HSM_POLICY, TestRepo, redact};

fn codes(run: &crate::util::Run) -> Vec<String> {
    run.json()["diagnostics"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A repo with HSM_POLICY and a certificate valid 2026-01-01 .. 2027-01-01.
fn hsm_repo(code_signing: bool) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("signing.toml", HSM_POLICY);
    let cert = repo.certificate(
        "release",
        "20260101000000Z",
        "20270101000000Z",
        code_signing,
    );
    repo.write("certs/release.pem", cert);
    repo.commit("policy");
    repo
}

#[test]
fn a_valid_certificate_is_clean() {
    let repo = hsm_repo(true);
    let run = repo.sigctl(&["check", "--now", "2026-06-01T00:00:00Z"]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    assert_eq!(run.stdout, "signing.toml: ok\n");
    let json = repo.sigctl(&["check", "--now", "2026-06-01T00:00:00Z", "--format", "json"]);
    assert_eq!(
        json.json(),
        serde_json::json!({"ok": true, "diagnostics": []})
    );
}

#[test]
fn renewal_window_is_a_warning_that_deny_warnings_turns_into_failure() {
    let repo = hsm_repo(true);
    let run = repo.sigctl(&["check", "--now", "2026-12-15T00:00:00Z", "--format", "json"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.json(),
        serde_json::json!({"ok": true, "diagnostics": [{
            "severity": "warning",
            "code": "renewal-due",
            "message": "certificate `certs/release.pem` of identity `release` is due for renewal since 2026-12-02: it expires on 2027-01-01 (17 days left)",
            "file": "signing.toml",
            "line": 19,
            "column": 16
        }]})
    );
    let denied = repo.sigctl(&[
        "check",
        "--now",
        "2026-12-15T00:00:00Z",
        "--deny-warnings",
        "--format",
        "json",
    ]);
    assert_eq!(denied.code, 1);
    assert_eq!(denied.json()["ok"], false);
    insta::assert_snapshot!(
        repo.sigctl(&["check", "--now", "2026-12-15T00:00:00Z"])
            .snapshot()
    );
}

#[test]
fn an_expired_certificate_fails() {
    let repo = hsm_repo(true);
    let run = repo.sigctl(&["check", "--now", "2027-01-02T00:00:00Z"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.snapshot());
    let json = repo.sigctl(&["check", "--now", "2027-01-02T00:00:00Z", "--format", "json"]);
    assert_eq!(codes(&json), ["certificate-expired"]);
    assert_eq!(
        (
            json.json()["diagnostics"][0]["line"].as_u64(),
            json.json()["diagnostics"][0]["column"].as_u64()
        ),
        (Some(18), Some(15))
    );
}

#[test]
fn a_certificate_not_yet_valid_and_one_without_code_signing_are_warnings() {
    let repo = hsm_repo(false);
    let run = repo.sigctl(&["check", "--now", "2025-06-01T00:00:00Z", "--format", "json"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        codes(&run),
        ["no-code-signing-eku", "certificate-not-yet-valid"]
    );
}

#[test]
fn der_certificates_are_read() {
    let repo = hsm_repo(true);
    let der = repo.openssl(&["x509", "-in", "ca/release.crt", "-outform", "DER"]);
    repo.write("certs/release.pem", der);
    let run = repo.sigctl(&["check", "--now", "2026-06-01T00:00:00Z"]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
}

#[test]
fn a_certificate_pinned_to_another_key_is_an_error() {
    let repo = hsm_repo(true);
    let other = repo.certificate("other", "20260101000000Z", "20270101000000Z", true);
    repo.write("certs/other.pem", &other);
    // pin the key of `other`, then point at release's certificate
    let spki = repo.openssl(&["x509", "-in", "ca/other.crt", "-pubkey", "-noout"]);
    std::fs::write(repo.home().join("other.pub"), spki).expect("write");
    let der = repo.openssl(&["pkey", "-pubin", "-in", "other.pub", "-outform", "DER"]);
    let digest = repo.openssl_stdin(&["dgst", "-sha256", "-r"], &der);
    let hex = String::from_utf8_lossy(&digest)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned();
    let pinned = HSM_POLICY.replace(
        "renew_before",
        &format!("public_key = \"sha256:{hex}\"\nrenew_before"),
    );
    repo.write("signing.toml", &pinned);
    let now = ["check", "--now", "2026-06-01T00:00:00Z", "--format", "json"];
    assert_eq!(codes(&repo.sigctl(&now)), ["certificate-key-mismatch"]);
    repo.write("certs/release.pem", &other);
    assert!(
        codes(&repo.sigctl(&now)).is_empty(),
        "openssl's SPKI digest must match sigctl's"
    );
}

#[test]
fn a_certificate_key_under_two_identities_is_a_shared_key() {
    let repo = hsm_repo(true);
    let policy = format!(
        "{HSM_POLICY}\n[identities.release-copy]\nowner = \"security\"\nenvironments = [\"prod\"]\n\
         custody = \"hsm\"\nkey = \"pkcs11:token=release;object=release-copy\"\n\
         certificate = \"certs/copy.pem\"\n"
    );
    repo.write("signing.toml", &policy);
    // another file, the same key
    repo.write("certs/copy.pem", repo.read("certs/release.pem"));
    let now = ["check", "--now", "2026-06-01T00:00:00Z", "--format", "json"];
    let run = repo.sigctl(&now);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(codes(&run), ["shared-key"]);
    let d = &run.json()["diagnostics"][0];
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(26), Some(15)),
        "{d}"
    );
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.contains("`release-copy`") && m.contains("`release`")),
        "{d}"
    );
    // a certificate for a key of its own
    let own = repo.certificate("copy", "20260101000000Z", "20270101000000Z", true);
    repo.write("certs/copy.pem", own);
    let run = repo.sigctl(&now);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(codes(&run).is_empty(), "{}", run.stdout);
}

#[test]
fn check_takes_a_subdirectory_or_the_policy_file() {
    let repo = hsm_repo(true);
    std::fs::create_dir_all(repo.path().join("deep/er")).expect("dirs");
    let from_sub = repo.sigctl_in(
        &repo.path().join("deep/er"),
        &["check", "--now", "2026-06-01T00:00:00Z"],
    );
    assert_eq!(from_sub.code, 0, "{}", from_sub.snapshot());
    let file = repo.path().join("signing.toml");
    let by_file = repo.sigctl_in(
        &repo.home(),
        &[
            "check",
            "--now",
            "2026-06-01T00:00:00Z",
            &file.display().to_string(),
        ],
    );
    assert_eq!(by_file.code, 0, "{}", by_file.snapshot());
}

#[test]
fn every_template_passes_check() {
    for template in ["minimal", "hsm-release", "keyless-team"] {
        let repo = TestRepo::new();
        let init = repo.sigctl(&["init", "--template", template]);
        assert_eq!(init.code, 0, "{template}: {}", init.snapshot());
        let run = repo.sigctl(&["check", "--format", "json"]);
        assert_eq!(run.code, 0, "{template}: {}", run.stdout);
        let errors: Vec<_> = run.json()["diagnostics"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|d| d["severity"] == "error")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        assert!(errors.is_empty(), "{template}: {errors:?}");
    }
}

/// Private keys as real tools write them: (file name, bytes, kind sigctl reports).
fn real_keys(repo: &TestRepo) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut keys = Vec::new();
    let pkcs8 = repo.openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]);
    std::fs::write(repo.home().join("k.pem"), &pkcs8).expect("write");
    keys.push(("pkcs8.pem", pkcs8, "PKCS#8 private key"));
    keys.push((
        "sec1.pem",
        repo.openssl(&["ec", "-in", "k.pem"]),
        "SEC1 EC private key",
    ));
    let rsa = repo.openssl(&["genrsa", "-traditional", "1024"]);
    std::fs::write(repo.home().join("pkcs1.key"), &rsa).expect("write");
    keys.push(("pkcs1.key", rsa, "PKCS#1 RSA private key"));
    keys.push((
        "encrypted.pem",
        repo.openssl(&["pkey", "-in", "k.pem", "-aes256", "-passout", "pass:secret"]),
        "encrypted PKCS#8 private key",
    ));
    keys.push((
        "legacy-encrypted.pem",
        repo.openssl(&["ec", "-in", "k.pem", "-aes256", "-passout", "pass:secret"]),
        "encrypted PEM private key",
    ));
    keys.push((
        "key.der",
        repo.openssl(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", "k.pem", "-outform", "DER",
        ]),
        "DER PKCS#8 private key",
    ));
    keys.push((
        "sec1.der",
        repo.openssl(&["ec", "-in", "k.pem", "-outform", "DER"]),
        "DER SEC1 EC private key",
    ));
    keys.push((
        "rsa.der",
        repo.openssl(&["rsa", "-traditional", "-in", "pkcs1.key", "-outform", "DER"]),
        "DER PKCS#1 RSA private key",
    ));
    repo.openssl(&[
        "req", "-x509", "-key", "k.pem", "-subj", "/CN=p12", "-days", "2", "-out", "p12.crt",
    ]);
    keys.push((
        "bundle.p12",
        repo.openssl(&[
            "pkcs12",
            "-export",
            "-inkey",
            "k.pem",
            "-in",
            "p12.crt",
            "-passout",
            "pass:secret",
        ]),
        "PKCS#12 file",
    ));
    let ssh = repo.home().join("id_ed25519");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(&ssh)
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success());
    keys.push((
        "id_ed25519",
        std::fs::read(&ssh).expect("ssh key"),
        "OpenSSH private key",
    ));
    keys
}

#[test]
fn private_keys_in_tracked_files_are_shadow_keys_and_never_printed() {
    let repo = hsm_repo(true);
    let keys = real_keys(&repo);
    for (name, bytes, _) in &keys {
        repo.write(&format!("keys/{name}"), bytes);
    }
    // an untracked key is not the repository's
    repo.write("untracked.pem", &keys[0].1);
    repo.git(&["add", "keys"]);
    // a key inside a config file, at line 4
    let pem = String::from_utf8_lossy(&keys[0].1).into_owned();
    repo.write(
        "deploy/config.yaml",
        format!("deploy:\n  host: x\n  key: |\n{pem}"),
    );
    repo.git(&["add", "deploy/config.yaml"]);

    let run = repo.sigctl(&["check", "--now", "2026-06-01T00:00:00Z", "--format", "json"]);
    assert_eq!(run.code, 1);
    let diags = run.json()["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let found: Vec<(String, String)> = diags
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap_or("").to_owned(),
                d["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for (name, _, kind) in &keys {
        let file = format!("keys/{name}");
        assert!(
            found.iter().any(|(f, m)| *f == file && m.starts_with(kind)),
            "{file} ({kind}) not reported: {found:?}"
        );
    }
    assert!(
        diags
            .iter()
            .any(|d| d["file"] == "deploy/config.yaml" && d["line"] == 4 && d["column"] == 1)
    );
    assert!(!found.iter().any(|(f, _)| f == "untracked.pem"));
    assert!(diags.iter().all(|d| d["code"] == "shadow-key"));

    let human = repo.sigctl(&["check", "--now", "2026-06-01T00:00:00Z"]);
    for (_, bytes, _) in &keys {
        let text = String::from_utf8_lossy(bytes);
        for line in text
            .lines()
            .filter(|l| l.len() > 20 && !l.starts_with("-----"))
        {
            assert!(
                !human.stdout.contains(line) && !run.stdout.contains(line),
                "key material printed"
            );
        }
    }
    insta::assert_snapshot!(redact(&human.snapshot(), &repo));
}

#[test]
fn history_scan_finds_a_key_that_was_committed_and_removed() {
    let repo = hsm_repo(true);
    let key = repo.openssl(&["genpkey", "-algorithm", "ED25519"]);
    repo.write("old/secret.pem", &key);
    repo.commit("oops");
    let leaked = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    repo.git(&["rm", "-q", "old/secret.pem"]);
    repo.commit("remove the key");
    // and one only on another branch
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write(
        "side.key",
        repo.openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout"]),
    );
    repo.commit("side");
    let side = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    repo.git(&["checkout", "-q", "main"]);

    let now = ["check", "--now", "2026-06-01T00:00:00Z", "--format", "json"];
    let plain = repo.sigctl(&now);
    assert_eq!(plain.code, 0, "{}", plain.stdout);
    let mut with_history = now.to_vec();
    with_history.push("--history");
    let run = repo.sigctl(&with_history);
    assert_eq!(run.code, 1);
    let msgs: Vec<String> = run.json()["diagnostics"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| format!("{} {}", d["file"], d["message"]))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains(&format!("commit {leaked}, file `old/secret.pem`"))),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains(&format!("commit {side}, file `side.key`"))),
        "{msgs:?}"
    );
}
