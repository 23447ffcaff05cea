//! Signing on a real PKCS#11 token (SoftHSM2): commits and tags through git
//! and `sigctl sign tag`, artefact bundles, and everything that must stop a
//! signature — policy refusals (exit 1, before the token is touched) and
//! token faults (exit 2) — with nothing written when it stops. Signatures are
//! checked independently with openssl, and the PIN never shows.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;

use crate::util::hsm::{self, Setup, SoftHsm, files, setup};
use crate::util::{Run, TestRepo, redact};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// The git on PATH, and Debian's older git when it is another binary.
fn gits() -> Vec<&'static str> {
    let mut v = vec!["git"];
    if Path::new("/usr/bin/git").exists() {
        let version = |g: &str| {
            Command::new(g)
                .arg("--version")
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default()
        };
        if version("/usr/bin/git") != version("git") {
            v.push("/usr/bin/git");
        }
    }
    v
}

/// Temp paths, the binary's path, and every run of 12+ hex digits (object
/// ids, key fingerprints) replaced, so snapshots change only with behaviour.
fn scrub(s: &str, repo: &TestRepo) -> String {
    let s = redact(s, repo).replace(crate::util::SIGCTL, "[SIGCTL]");
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 12 {
            out.push_str("[HEX]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Several runs as one snapshot text.
fn transcript(repo: &TestRepo, runs: &[(&str, &Run)]) -> String {
    runs.iter()
        .map(|(what, run)| format!("=== {what}\n{}", scrub(&run.snapshot(), repo)))
        .collect()
}

fn tag_exists(s: &Setup, name: &str) -> bool {
    s.hsm
        .git(
            &s.repo,
            &["rev-parse", "-q", "--verify", &format!("refs/tags/{name}")],
        )
        .code
        == 0
}

fn head(s: &Setup) -> String {
    s.hsm
        .git_ok(&s.repo, &["rev-parse", "HEAD"])
        .trim()
        .to_owned()
}

/// Files under the repository named like sigctl's temporary files.
fn temp_files(repo: &TestRepo) -> Vec<PathBuf> {
    files(&repo.path())
        .into_keys()
        .filter(|p| p.to_string_lossy().contains(".sigctl-tmp-"))
        .collect()
}

/// Nothing in the repository (work tree and .git) changed between two listings.
fn assert_nothing_written(
    before: &std::collections::BTreeMap<PathBuf, Vec<u8>>,
    after: &std::collections::BTreeMap<PathBuf, Vec<u8>>,
) {
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    assert!(changed.is_empty(), "files written or changed: {changed:?}");
}

/// Replace `from` (which must occur) in signing.toml and commit it unsigned.
/// Commit `certs/release.pem` with `bytes`: the policy in force for what is
/// signed next is HEAD's, certificate included.
fn commit_certificate(s: &Setup, bytes: &[u8]) {
    s.repo.write("certs/release.pem", bytes);
    s.hsm
        .git_ok(&s.repo, &["commit", "-q", "-am", "replace the certificate"]);
}

fn edit_policy(s: &Setup, from: &str, to: &str) {
    let policy = s.repo.read("signing.toml");
    assert!(policy.contains(from), "signing.toml has no {from:?}");
    s.repo.write("signing.toml", policy.replacen(from, to, 1));
    s.hsm
        .git_ok(&s.repo, &["commit", "-q", "-am", "edit policy"]);
}

const ARTEFACT: &str = "dist/app.tar";
const BUNDLE: &str = "dist/app.tar.sigstore.json";

/// Sign an artefact for `refs/tags/v1.0`, a tag `v1.0`, and a commit through
/// git as `identity` with `hsm`; each must fail with `exit`, say `says`, and
/// leave the repository as it was (no bundle, no tag, no temp file, HEAD
/// unmoved). Returns the sigctl runs and git's run for a snapshot.
fn assert_stopped(s: &Setup, hsm: &SoftHsm, identity: &str, exit: i32, says: &str) -> String {
    s.repo.write(ARTEFACT, b"release payload\n");
    hsm.git_ok(&s.repo, &["config", "user.signingkey", identity]);
    let head_before = head(s);
    let before = files(&s.repo.path());
    let art = hsm.sigctl(
        &s.repo,
        &[
            "sign",
            "artifact",
            ARTEFACT,
            "--identity",
            identity,
            "--ref",
            "refs/tags/v1.0",
        ],
    );
    let tag = hsm.sigctl(
        &s.repo,
        &["sign", "tag", "v1.0", "--identity", identity, "-m", "v1.0"],
    );
    let after = files(&s.repo.path());
    for (what, run) in [("sign artifact", &art), ("sign tag", &tag)] {
        assert_eq!(run.code, exit, "{what}: {}", run.snapshot());
        assert!(
            run.stderr.contains(says),
            "{what} should say {says:?}: {}",
            run.snapshot()
        );
        assert_eq!(run.stdout, "", "{what} printed to stdout");
        assert!(!run.stderr.contains("panicked"), "{what} panicked");
    }
    assert_nothing_written(&before, &after);
    assert!(!s.repo.path().join(BUNDLE).exists(), "a bundle was written");
    assert!(!tag_exists(s, "v1.0"), "a tag was written");
    assert_eq!(temp_files(&s.repo), Vec::<PathBuf>::new());
    let commit = hsm.git(&s.repo, &["commit", "-S", "-q", "--allow-empty", "-m", "x"]);
    assert_ne!(commit.code, 0, "git commit -S: {}", commit.snapshot());
    // git 2.4x relays the program's stderr after "gpg failed to sign the data:"
    if commit.stderr.contains("gpg failed to sign the data:") {
        assert!(commit.stderr.contains(says), "{}", commit.snapshot());
    }
    assert_eq!(head(s), head_before, "git made a commit");
    hsm.git_ok(&s.repo, &["config", "user.signingkey", "release"]);
    transcript(
        &s.repo,
        &[
            ("sign artifact", &art),
            ("sign tag", &tag),
            ("git commit -S", &commit),
        ],
    )
}

// ---------------------------------------------------------------------------
// 1. End to end through git

#[test]
fn commits_and_tags_signed_on_the_token_verify_with_git() {
    let s = setup();
    let gits = gits();
    // a second commit signed by each git binary
    for git in &gits {
        let run = s.hsm.git_with(
            git,
            &s.repo,
            &["commit", "-S", "-q", "--allow-empty", "-m", git],
        );
        assert_eq!(run.code, 0, "{git} commit -S: {}", run.snapshot());
    }
    for git in &gits {
        let root = format!("HEAD~{}", gits.len());
        for rev in ["HEAD", "HEAD~1", root.as_str()] {
            let run = s.hsm.git_with(git, &s.repo, &["verify-commit", rev]);
            assert_eq!(run.code, 0, "{git} verify-commit {rev}: {}", run.snapshot());
            assert!(
                run.stderr
                    .contains("Good signature from identity `release` (O=Example, CN=release)"),
                "{}",
                run.snapshot()
            );
        }
        let log = s.hsm.git_with(git, &s.repo, &["log", "--format=%G?"]);
        assert_eq!(log.code, 0);
        assert_eq!(log.stdout, "G\n".repeat(gits.len() + 1), "{git} log %G?");
    }

    let tag = s.hsm.sigctl_ok(
        &s.repo,
        &[
            "sign",
            "tag",
            "v1.0",
            "HEAD~1",
            "--identity",
            "release",
            "-m",
            "release 1.0",
        ],
    );
    let target = s.hsm.git_ok(&s.repo, &["rev-parse", "HEAD~1"]);
    assert!(
        tag.stdout.starts_with(&format!(
            "signed tag refs/tags/v1.0 -> {} as identity `release`",
            &target[..12]
        )),
        "{}",
        tag.stdout
    );
    assert_eq!(s.hsm.git_ok(&s.repo, &["cat-file", "-t", "v1.0"]), "tag\n");
    assert_eq!(
        s.hsm.git_ok(&s.repo, &["rev-parse", "v1.0^{commit}"]),
        target
    );
    s.hsm
        .git_ok(&s.repo, &["tag", "-s", "v1.1", "-m", "release 1.1"]);
    for git in &gits {
        for t in ["v1.0", "v1.1"] {
            let run = s.hsm.git_with(git, &s.repo, &["verify-tag", t]);
            assert_eq!(run.code, 0, "{git} verify-tag {t}: {}", run.snapshot());
            assert!(
                run.stderr
                    .contains("Good signature from identity `release`")
            );
        }
    }
    let message = s.hsm.git_ok(
        &s.repo,
        &["tag", "-l", "--format=%(contents:subject)", "v1.0"],
    );
    assert_eq!(message, "release 1.0\n");
    // a second `sign tag` never moves the tag
    let again = s.hsm.sigctl(
        &s.repo,
        &[
            "sign",
            "tag",
            "v1.0",
            "--identity",
            "release",
            "-m",
            "again",
        ],
    );
    assert_eq!(again.code, 2, "{}", again.snapshot());
    assert!(again.stderr.contains("tag `v1.0` already exists"));
    assert_eq!(
        s.hsm.git_ok(&s.repo, &["rev-parse", "v1.0^{commit}"]),
        target
    );
}

// ---------------------------------------------------------------------------
// 2. Independent verification with openssl

/// A git object's header fields and body split, the signature header
/// (`gpgsig`) removed: (payload git signs, the signature's PEM).
fn split_commit(object: &str) -> (String, String) {
    let (header, body) = object.split_once("\n\n").expect("a commit has a body");
    let mut payload = String::new();
    let mut sig = String::new();
    let mut in_sig = false;
    for line in format!("{header}\n").split_inclusive('\n') {
        if let Some(first) = line.strip_prefix("gpgsig ") {
            in_sig = true;
            sig.push_str(first);
        } else if in_sig && line.starts_with(' ') {
            sig.push_str(&line[1..]);
        } else {
            in_sig = false;
            payload.push_str(line);
        }
    }
    payload.push('\n');
    payload.push_str(body);
    (payload, sig)
}

/// DER of a PEM `-----BEGIN SIGNED MESSAGE-----` block.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    B64.decode(body).expect("base64 signature")
}

/// `openssl cms -verify` of a detached DER signature over `payload`, trusting the CA.
fn openssl_cms_verify(dir: &Path, ca: &Path, der: &[u8], payload: &[u8]) -> (bool, String) {
    std::fs::write(dir.join("sig.der"), der).expect("sig.der");
    std::fs::write(dir.join("payload"), payload).expect("payload");
    let out = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(dir.join("sig.der"))
        .arg("-content")
        .arg(dir.join("payload"))
        .arg("-CAfile")
        .arg(ca)
        .args(["-purpose", "any", "-out", "/dev/null"])
        .output()
        .expect("openssl runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn openssl_verifies_commit_and_tag_signatures_and_rejects_a_changed_byte() {
    let s = setup();
    s.hsm.sigctl_ok(
        &s.repo,
        &[
            "sign",
            "tag",
            "v1.0",
            "--identity",
            "release",
            "-m",
            "release 1.0",
        ],
    );
    s.hsm
        .git_ok(&s.repo, &["tag", "-s", "v1.1", "-m", "release 1.1"]);
    let work = s.repo.home();
    let ca = s.ca.pem();

    let commit = s.hsm.git_ok(&s.repo, &["cat-file", "commit", "HEAD"]);
    let (payload, sig) = split_commit(&commit);
    assert!(
        sig.starts_with("-----BEGIN SIGNED MESSAGE-----\n")
            && sig.ends_with("-----END SIGNED MESSAGE-----\n"),
        "{sig}"
    );
    assert!(!payload.contains("gpgsig") && !payload.contains("SIGNED MESSAGE"));
    assert!(
        payload.starts_with("tree ") && payload.ends_with("\n\npolicy\n"),
        "{payload}"
    );
    let der = pem_der(&sig);
    let (ok, err) = openssl_cms_verify(&work, &ca, &der, payload.as_bytes());
    assert!(ok, "openssl cms -verify of the commit: {err}");
    assert!(err.contains("Verification successful"), "{err}");

    let mut changed = payload.clone().into_bytes();
    let at = changed.len() - 2; // the `y` of `policy`
    changed[at] ^= 0x01;
    let (ok, err) = openssl_cms_verify(&work, &ca, &der, &changed);
    assert!(!ok, "openssl accepted a changed commit: {err}");

    for tag in ["v1.0", "v1.1"] {
        let object = s.hsm.git_ok(&s.repo, &["cat-file", "tag", tag]);
        let at = object
            .find("-----BEGIN SIGNED MESSAGE-----")
            .unwrap_or_else(|| panic!("{tag} has no signature: {object}"));
        let (payload, sig) = object.split_at(at);
        assert!(payload.starts_with("object "), "{payload}");
        assert!(sig.ends_with("-----END SIGNED MESSAGE-----\n"), "{sig}");
        let der = pem_der(sig);
        let (ok, err) = openssl_cms_verify(&work, &ca, &der, payload.as_bytes());
        assert!(ok, "openssl cms -verify of tag {tag}: {err}");
        let mut changed = payload.as_bytes().to_vec();
        changed[7] ^= 0x01; // a hex digit of the object id
        let (ok, err) = openssl_cms_verify(&work, &ca, &der, &changed);
        assert!(!ok, "openssl accepted a changed tag {tag}: {err}");
    }

    // the signer certificate in the CMS is the one in the repository
    std::fs::write(work.join("sig.der"), &der).expect("sig.der");
    let certs = s.ca.openssl(&[
        "pkcs7",
        "-inform",
        "DER",
        "-in",
        &work.join("sig.der").display().to_string(),
        "-print_certs",
    ]);
    let certs = String::from_utf8_lossy(&certs);
    assert!(
        certs.contains("subject=O = Example, CN = release"),
        "{certs}"
    );
}

// ---------------------------------------------------------------------------
// 3. Artefacts

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleView {
    media_type: String,
    verification_material: serde_json::Value,
    message_signature: serde_json::Value,
}

#[test]
fn artefact_bundles_verify_with_openssl_and_sigctl_and_reject_changes() {
    let s = setup();
    let content = b"release payload: \x00\x01\x02 binary bytes\n".repeat(100);
    let file = s.repo.write(ARTEFACT, &content);
    let run = s.hsm.sigctl_ok(
        &s.repo,
        &[
            "sign",
            "artifact",
            ARTEFACT,
            "--identity",
            "release",
            "--ref",
            "refs/tags/v1.0",
        ],
    );
    assert!(
        run.stdout
            .starts_with(&format!("signed {ARTEFACT} (sha256 ")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(&format!("-> {BUNDLE}\n")),
        "{}",
        run.stdout
    );
    assert_eq!(temp_files(&s.repo), Vec::<PathBuf>::new());
    let bundle_text = s.repo.read(BUNDLE);
    let bundle: BundleView = serde_json::from_str(&bundle_text).expect("bundle JSON");
    assert_eq!(
        bundle.media_type,
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let field = |v: &serde_json::Value, k: &str| -> Vec<u8> {
        B64.decode(v[k].as_str().unwrap_or_else(|| panic!("no {k}: {v}")))
            .expect("base64")
    };
    let sig = field(&bundle.message_signature, "signature");
    let digest = field(&bundle.message_signature["messageDigest"], "digest");
    assert_eq!(
        bundle.message_signature["messageDigest"]["algorithm"],
        "SHA2_256"
    );
    use sha2::Digest;
    assert_eq!(digest, sha2::Sha256::digest(&content).to_vec());
    let cert = field(&bundle.verification_material["certificate"], "rawBytes");
    let repo_cert = s.ca.openssl(&[
        "x509",
        "-in",
        &s.repo
            .path()
            .join("certs/release.pem")
            .display()
            .to_string(),
        "-outform",
        "DER",
    ]);
    assert_eq!(
        cert, repo_cert,
        "the bundle carries the identity's certificate"
    );

    let work = s.repo.home();
    std::fs::write(work.join("cert.der"), &cert).expect("cert.der");
    std::fs::write(work.join("sig.der"), &sig).expect("sig.der");
    let pubkey = s.ca.openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        &work.join("cert.der").display().to_string(),
        "-pubkey",
        "-noout",
    ]);
    std::fs::write(work.join("pub.pem"), pubkey).expect("pub.pem");
    let dgst = |f: &Path, sig: &Path| {
        Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(work.join("pub.pem"))
            .arg("-signature")
            .arg(sig)
            .arg(f)
            .output()
            .expect("openssl runs")
    };
    let out = dgst(&file, &work.join("sig.der"));
    assert!(
        out.status.success(),
        "openssl dgst -verify: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Verified OK\n");

    let ok = s.hsm.sigctl(&s.repo, &["verify-artifact", ARTEFACT]);
    assert_eq!(ok.code, 0, "{}", ok.snapshot());
    assert!(
        ok.stdout.starts_with(&format!(
            "OK: {ARTEFACT} (sha256 {}) signed by identity `release` (O=Example, CN=release)\n",
            hex(&digest)
        )),
        "{}",
        ok.stdout
    );

    // one byte of the artefact changed
    let mut changed = content.clone();
    changed[5] ^= 0x20;
    s.repo.write(ARTEFACT, &changed);
    let changed_run = s.hsm.sigctl(&s.repo, &["verify-artifact", ARTEFACT]);
    assert_eq!(changed_run.code, 1, "{}", changed_run.snapshot());
    assert!(changed_run.stderr.contains("the file was changed"));
    assert_eq!(changed_run.stdout, "");
    assert!(
        !dgst(&file, &work.join("sig.der")).status.success(),
        "openssl accepted a changed artefact"
    );
    s.repo.write(ARTEFACT, &content);

    // one byte of the signature changed (inside r: DER 30 len 02 len r…)
    let mut bad_sig = sig.clone();
    bad_sig[10] ^= 0x01;
    let tampered = bundle_text.replace(
        bundle.message_signature["signature"]
            .as_str()
            .expect("signature"),
        &B64.encode(&bad_sig),
    );
    assert_ne!(tampered, bundle_text);
    s.repo.write("dist/tampered.json", &tampered);
    let bad_run = s.hsm.sigctl(
        &s.repo,
        &[
            "verify-artifact",
            ARTEFACT,
            "--bundle",
            "dist/tampered.json",
        ],
    );
    assert_eq!(bad_run.code, 1, "{}", bad_run.snapshot());
    assert!(
        bad_run
            .stderr
            .contains("the signature does not verify with the bundle's certificate"),
        "{}",
        bad_run.snapshot()
    );
    std::fs::write(work.join("bad.der"), &bad_sig).expect("bad.der");
    assert!(
        !dgst(&file, &work.join("bad.der")).status.success(),
        "openssl accepted a changed signature"
    );
    // the original still verifies
    assert_eq!(
        s.hsm.sigctl(&s.repo, &["verify-artifact", ARTEFACT]).code,
        0
    );
    insta::assert_snapshot!(transcript(
        &s.repo,
        &[
            ("one byte of the artefact changed", &changed_run),
            ("one byte of the signature changed", &bad_run),
        ]
    ));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------------------
// 4. The key stays on the token

#[test]
fn the_private_key_is_sensitive_and_never_extractable() {
    let repo = TestRepo::new();
    let hsm = SoftHsm::new(&repo);
    hsm.sigctl_ok(&repo, &["init", "--template", "hsm-release"]);
    let run = hsm.sigctl_ok(&repo, &["key", "generate", "--identity", "release"]);
    assert!(
        run.stdout.contains("(sensitive: true, extractable: false)"),
        "{}",
        run.stdout
    );
    let again = hsm.sigctl(&repo, &["key", "generate", "--identity", "release"]);
    assert_eq!(again.code, 2, "{}", again.snapshot());
    assert!(
        again
            .stderr
            .contains("a key `release` already exists on token `sigctl`")
    );

    let list = hsm.pkcs11_tool(&[
        "--login",
        "--pin",
        hsm::PIN,
        "--list-objects",
        "--type",
        "privkey",
    ]);
    assert_eq!(list.code, 0, "{}", list.snapshot());
    assert_eq!(
        list.stdout.matches("Private Key Object").count(),
        1,
        "{}",
        list.stdout
    );
    assert!(
        list.stdout.contains("Private Key Object; EC"),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout.contains("label:      release"),
        "{}",
        list.stdout
    );
    let access: Vec<&str> = list
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Access:"))
        .unwrap_or_else(|| panic!("no Access line: {}", list.stdout))
        .split(',')
        .map(str::trim)
        .collect();
    assert!(access.contains(&"sensitive"), "{access:?}");
    assert!(access.contains(&"always sensitive"), "{access:?}");
    assert!(access.contains(&"never extractable"), "{access:?}");
    assert!(!access.contains(&"extractable"), "{access:?}");
}

// ---------------------------------------------------------------------------
// 5. The PIN never shows

#[test]
fn the_pin_never_appears_in_output_files_or_config() {
    const SECRET: &str = "73519468";
    const WRONG: &str = "86420975";
    let s = hsm::setup_with_pin(SECRET);
    s.hsm.git_ok(&s.repo, &["verify-commit", "HEAD"]);
    s.hsm.git_ok(&s.repo, &["log", "--format=%G? %s"]);
    s.hsm.git_ok(
        &s.repo,
        &["commit", "-S", "-q", "--allow-empty", "-m", "two"],
    );
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "tag", "v1.0", "--identity", "release", "-m", "v1.0"],
    );
    s.hsm.git_ok(&s.repo, &["tag", "-s", "v1.1", "-m", "v1.1"]);
    s.hsm.git_ok(&s.repo, &["verify-tag", "v1.0"]);
    s.hsm.git_ok(&s.repo, &["verify-tag", "v1.1"]);
    s.repo.write(ARTEFACT, b"payload\n");
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "artifact", ARTEFACT, "--identity", "release"],
    );
    s.hsm.sigctl_ok(&s.repo, &["verify-artifact", ARTEFACT]);
    s.hsm.sigctl(&s.repo, &["check"]);
    let wrong = s.hsm.pin(Some(WRONG));
    assert_eq!(
        wrong
            .sigctl(
                &s.repo,
                &["sign", "artifact", ARTEFACT, "--identity", "release"]
            )
            .code,
        2
    );
    assert_eq!(
        wrong
            .sigctl(
                &s.repo,
                &["sign", "tag", "v2", "--identity", "release", "-m", "x"]
            )
            .code,
        2
    );
    assert_ne!(
        wrong
            .git(&s.repo, &["commit", "-S", "--allow-empty", "-m", "three"])
            .code,
        0
    );
    let config = s
        .hsm
        .git_ok(&s.repo, &["config", "--list", "--show-origin"]);
    assert!(!config.contains(SECRET), "{config}");

    let transcript = s.hsm.transcript();
    assert!(transcript.contains("Good signature"), "{transcript}");
    assert!(transcript.contains("is incorrect"), "{transcript}");
    for pin in [SECRET, WRONG] {
        assert!(
            !transcript.contains(pin),
            "the PIN was printed:\n{transcript}"
        );
    }
    // every file of the work tree, .git and HOME (certificates, CA, config)
    for dir in [s.repo.path(), s.repo.home()] {
        let all = files(&dir);
        assert!(all.keys().any(|p| p.starts_with(".git/objects")) || dir == s.repo.home());
        for (path, bytes) in all {
            for pin in [SECRET, WRONG] {
                assert!(
                    !bytes.windows(pin.len()).any(|w| w == pin.as_bytes()),
                    "the PIN is in {}",
                    dir.join(path).display()
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 6. Token faults: exit 2, a message naming the fault, nothing written

#[test]
fn a_wrong_pin_is_an_error_and_writes_nothing() {
    let s = setup();
    let shown = assert_stopped(
        &s,
        &s.hsm.pin(Some("9999")),
        "release",
        2,
        "the PIN for token `sigctl` is incorrect (it came from the SIGCTL_PKCS11_PIN environment variable)",
    );
    assert!(!shown.contains("9999"), "{shown}");
    insta::assert_snapshot!(shown);
}

/// SoftHSM2 never locks a user PIN: it only sets CKF_USER_PIN_COUNT_LOW. So
/// the `pin_locked` path cannot be reached with it; this checks that many
/// wrong PINs stay a plain exit-2 error and the right PIN still works.
#[test]
fn repeated_wrong_pins_stay_errors_and_softhsm_never_locks() {
    let s = setup();
    let wrong = s.hsm.pin(Some("0000"));
    s.repo.write(ARTEFACT, b"payload\n");
    for _ in 0..12 {
        let run = wrong.sigctl(
            &s.repo,
            &["sign", "artifact", ARTEFACT, "--identity", "release"],
        );
        assert_eq!(run.code, 2, "{}", run.snapshot());
        assert!(run.stderr.contains("is incorrect"), "{}", run.snapshot());
    }
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "artifact", ARTEFACT, "--identity", "release"],
    );
}

#[test]
fn a_missing_token_is_an_error_and_writes_nothing() {
    let s = setup();
    let empty = s.repo.dir.path().join("empty-softhsm");
    hsm::write_conf(&empty.join("softhsm2.conf"), &empty.join("tokens"));
    let shown = assert_stopped(
        &s,
        &s.hsm.conf(empty.join("softhsm2.conf")),
        "release",
        2,
        "no token `sigctl`",
    );
    insta::assert_snapshot!(shown);
    // SoftHSM2 always offers one uninitialised token with an empty label;
    // listing it as `` makes the message read "tokens present: )"
    assert!(
        !shown.contains("(tokens present: )"),
        "the message lists an empty token label:\n{shown}"
    );
}

#[test]
fn a_missing_module_is_an_error_and_writes_nothing() {
    let s = setup();
    let shown = assert_stopped(
        &s,
        &s.hsm.module("/nonexistent.so"),
        "release",
        2,
        "the PKCS#11 module /nonexistent.so named by SIGCTL_PKCS11_MODULE does not exist",
    );
    insta::assert_snapshot!(shown);
}

#[test]
fn a_module_that_is_not_a_library_is_an_error_and_writes_nothing() {
    let s = setup();
    let fake = s.repo.home().join("not-a-module.so");
    std::fs::write(&fake, "this is a text file, not a PKCS#11 library\n").expect("fake");
    let shown = assert_stopped(
        &s,
        &s.hsm.module(&fake),
        "release",
        2,
        &format!("cannot load the PKCS#11 module {}", fake.display()),
    );
    insta::assert_snapshot!(shown);
}

#[test]
fn a_key_missing_from_the_token_is_an_error_and_writes_nothing() {
    let s = setup();
    edit_policy(
        &s,
        "[identities.security-admin]",
        "[identities.stray]\nowner = \"release\"\nenvironments = [\"prod\", \"dev\"]\ncustody = \"hsm\"\n\
         key = \"pkcs11:token=sigctl;object=absent\"\ncertificate = \"certs/release.pem\"\n\n\
         [identities.security-admin]",
    );
    let shown = assert_stopped(&s, &s.hsm, "stray", 2, "no key `absent` on token `sigctl`");
    insta::assert_snapshot!(shown);
}

#[test]
fn no_pin_and_no_terminal_is_an_error_and_writes_nothing() {
    let s = setup();
    let shown = assert_stopped(
        &s,
        &s.hsm.pin(None),
        "release",
        2,
        "no PIN for token `sigctl`: set SIGCTL_PKCS11_PIN",
    );
    insta::assert_snapshot!(shown);
}

/// All or nothing: when one bundle cannot be written (a directory stands at
/// its path), no bundle and no temporary file may be left behind, whichever
/// of the artefacts is blocked.
#[test]
fn a_bundle_that_cannot_be_written_leaves_no_bundle_and_no_temp_file() {
    let s = setup();
    let mut problems = Vec::new();
    for blocked in ["dist/a", "dist/b"] {
        s.repo.write("dist/a", b"a\n");
        s.repo.write("dist/b", b"b\n");
        s.repo
            .write(&format!("{blocked}.sigstore.json/keep"), b"in the way\n");
        let before = files(&s.repo.path());
        let run = s.hsm.sigctl(
            &s.repo,
            &[
                "sign",
                "artifact",
                "dist/a",
                "dist/b",
                "--identity",
                "release",
            ],
        );
        assert_eq!(run.code, 2, "{}", run.snapshot());
        assert!(
            run.stderr
                .contains(&format!("cannot write {blocked}.sigstore.json")),
            "{}",
            run.snapshot()
        );
        let after = files(&s.repo.path());
        let written: Vec<&PathBuf> = after
            .keys()
            .filter(|p| before.get(*p) != after.get(*p))
            .collect();
        if !written.is_empty() {
            problems.push(format!(
                "{blocked}.sigstore.json blocked: exit 2, yet written: {written:?}"
            ));
        }
        std::fs::remove_dir_all(s.repo.path().join("dist")).expect("clean dist");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The same artefact named twice: either one bundle and exit 0, or an error
/// and no bundle — never an error about a missing file with a bundle written.
#[test]
fn the_same_artefact_named_twice_is_consistent() {
    let s = setup();
    s.repo.write(ARTEFACT, b"payload\n");
    let run = s.hsm.sigctl(
        &s.repo,
        &[
            "sign",
            "artifact",
            ARTEFACT,
            ARTEFACT,
            "--identity",
            "release",
        ],
    );
    let bundle = s.repo.path().join(BUNDLE).exists();
    assert_eq!(temp_files(&s.repo), Vec::<PathBuf>::new());
    assert_eq!(
        run.code == 0,
        bundle,
        "exit {} but the bundle {}: {}",
        run.code,
        if bundle { "was written" } else { "is missing" },
        run.snapshot()
    );
    assert!(
        !run.stderr.contains("No such file or directory"),
        "a confusing error: {}",
        run.snapshot()
    );
    if run.code == 0 {
        assert_eq!(
            s.hsm.sigctl(&s.repo, &["verify-artifact", ARTEFACT]).code,
            0
        );
    }
}

// ---------------------------------------------------------------------------
// 7. Refusals: exit 1 before the token is touched, nothing written. The runs
//    name a module that does not exist: touching the token would be exit 2.

fn untouchable(s: &Setup) -> SoftHsm {
    s.hsm.module("/nonexistent.so")
}

#[test]
fn an_unknown_identity_is_refused() {
    let s = setup();
    let shown = assert_stopped(
        &s,
        &untouchable(&s),
        "nobody",
        1,
        "identity `nobody` is not in signing.toml (it declares release, security-admin)",
    );
    insta::assert_snapshot!(shown);
}

#[test]
fn a_revoked_identity_is_refused() {
    let s = setup();
    let policy = s.repo.read("signing.toml");
    s.repo.write(
        "signing.toml",
        format!(
            "{policy}\n[[revocations]]\nidentity = \"release\"\nreason = \"superseded\"\nrevoked_at = 2026-01-01T00:00:00Z\n"
        ),
    );
    s.hsm
        .git_ok(&s.repo, &["commit", "-q", "-am", "revoke release"]);
    let shown = assert_stopped(
        &s,
        &untouchable(&s),
        "release",
        1,
        "identity `release` is revoked (superseded, 2026-01-01T00:00:00Z): it signs nothing",
    );
    insta::assert_snapshot!(shown);
}

#[test]
fn an_expired_or_not_yet_valid_certificate_is_refused() {
    let s = setup();
    let current = s.repo.read("certs/release.pem");
    let expired =
        s.ca.issue("expired", &s.csr, "20250101000000Z", "20250401000000Z");
    let import = s.hsm.sigctl(
        &s.repo,
        &[
            "cert",
            "import",
            "--identity",
            "release",
            &expired.display().to_string(),
        ],
    );
    assert_eq!(import.code, 1, "{}", import.snapshot());
    assert!(
        import
            .stderr
            .contains("the certificate of identity `release` expired on 2025-04-01"),
        "{}",
        import.snapshot()
    );
    assert_eq!(s.repo.read("certs/release.pem"), current, "import wrote");

    commit_certificate(&s, &std::fs::read(&expired).expect("expired"));
    let shown_expired = assert_stopped(
        &s,
        &untouchable(&s),
        "release",
        1,
        "the certificate of identity `release` expired on 2025-04-01",
    );

    let future =
        s.ca.issue("future", &s.csr, "20300101000000Z", "20310101000000Z");
    commit_certificate(&s, &std::fs::read(&future).expect("future"));
    let shown_future = assert_stopped(
        &s,
        &untouchable(&s),
        "release",
        1,
        "the certificate of identity `release` is not valid before 2030-01-01",
    );
    insta::assert_snapshot!(format!(
        "{}{}{shown_expired}{shown_future}",
        "=== cert import of an expired certificate\n",
        scrub(&import.snapshot(), &s.repo)
    ));
}

#[test]
fn a_dev_identity_cannot_sign_a_release_tag() {
    let s = setup();
    edit_policy(
        &s,
        "environments = [\"prod\", \"dev\"]\ncustody = \"hsm\"",
        "environments = [\"dev\"]\ncustody = \"hsm\"",
    );
    let says = "identity `release` may not sign `refs/tags/v1.0`: that ref belongs to environment `prod`, and the identity signs for dev";
    let hsm = untouchable(&s);
    s.repo.write(ARTEFACT, b"payload\n");
    let before = files(&s.repo.path());
    let tag = hsm.sigctl(
        &s.repo,
        &["sign", "tag", "v1.0", "--identity", "release", "-m", "v1.0"],
    );
    let art = hsm.sigctl(
        &s.repo,
        &[
            "sign",
            "artifact",
            ARTEFACT,
            "--identity",
            "release",
            "--ref",
            "refs/tags/v1.0",
        ],
    );
    assert_nothing_written(&before, &files(&s.repo.path()));
    for run in [&tag, &art] {
        assert_eq!(run.code, 1, "{}", run.snapshot());
        assert!(run.stderr.contains(says), "{}", run.snapshot());
    }
    assert!(!tag_exists(&s, "v1.0"));
    assert!(!s.repo.path().join(BUNDLE).exists());
    // nor through git
    let git_tag = s.hsm.git(&s.repo, &["tag", "-s", "v2.0", "-m", "v2.0"]);
    assert_ne!(git_tag.code, 0, "{}", git_tag.snapshot());
    assert!(
        git_tag
            .stderr
            .contains("identity `release` may not sign `refs/tags/v2.0`")
    );
    assert!(!tag_exists(&s, "v2.0"));
    assert_eq!(temp_files(&s.repo), Vec::<PathBuf>::new());
    // the same identity still signs for dev: commits on main
    s.hsm.git_ok(
        &s.repo,
        &["commit", "-S", "-q", "--allow-empty", "-m", "dev"],
    );
    assert_eq!(s.hsm.git_ok(&s.repo, &["log", "-1", "--format=%G?"]), "G\n");
    insta::assert_snapshot!(transcript(
        &s.repo,
        &[
            ("sign tag", &tag),
            ("sign artifact --ref refs/tags/v1.0", &art),
            ("git tag -s v2.0", &git_tag),
        ]
    ));
}

#[test]
fn a_certificate_for_another_key_is_refused() {
    let s = setup();
    let current = s.repo.read("certs/release.pem");
    let foreign = s.ca.issue_foreign("foreign");
    let import = s.hsm.sigctl(
        &s.repo,
        &[
            "cert",
            "import",
            "--identity",
            "release",
            &foreign.display().to_string(),
        ],
    );
    assert_eq!(import.code, 1, "{}", import.snapshot());
    let says = "the certificate of identity `release` is not for the key on the token";
    assert!(import.stderr.contains(says), "{}", import.snapshot());
    assert_eq!(s.repo.read("certs/release.pem"), current, "import wrote");

    // committed past `cert import`: signing reads the token key and refuses
    commit_certificate(&s, &std::fs::read(&foreign).expect("foreign"));
    let shown = assert_stopped(&s, &s.hsm, "release", 1, says);
    insta::assert_snapshot!(format!(
        "=== cert import\n{}{shown}",
        scrub(&import.snapshot(), &s.repo)
    ));
}

// ---------------------------------------------------------------------------
// 8. git's view stays honest

/// A commit signed on the token, but whose parent belongs to a repository
/// whose policy does not know the signer: git must not show it as good.
#[test]
fn a_signature_outside_the_parents_policy_is_not_good_in_git() {
    let s = setup();
    // repository B: the same template without the `release` identity
    let b = TestRepo::new();
    let hb = s.hsm.for_repo(&b);
    hb.sigctl_ok(&b, &["init", "--template", "hsm-release"]);
    let policy = b.read("signing.toml");
    let start = policy
        .find("# Generate the key on the token")
        .expect("template comment");
    let end = policy
        .find("[identities.security-admin]")
        .expect("security-admin");
    b.write(
        "signing.toml",
        format!("{}{}", &policy[..start], &policy[end..]),
    );
    assert!(!b.read("signing.toml").contains("[identities.release]"));
    hb.git_ok(&b, &["add", "-A"]);
    hb.git_ok(&b, &["commit", "-q", "-m", "policy without release"]);

    // in A, a commit on top of B's commit, signed as `release` (A's policy allows it)
    let b_path = b.path().display().to_string();
    s.hsm.git_ok(
        &s.repo,
        &["fetch", "-q", &b_path, "main:refs/remotes/b/main"],
    );
    let tree = s
        .hsm
        .git_ok(&s.repo, &["rev-parse", "refs/remotes/b/main^{tree}"]);
    let foreign = s.hsm.git_ok(
        &s.repo,
        &[
            "commit-tree",
            "-S",
            "-p",
            "refs/remotes/b/main",
            "-m",
            "signed elsewhere",
            tree.trim(),
        ],
    );
    let foreign = foreign.trim();
    s.hsm
        .git_ok(&s.repo, &["update-ref", "refs/heads/for-b", foreign]);
    assert!(
        s.hsm
            .git_ok(&s.repo, &["cat-file", "commit", foreign])
            .contains("gpgsig -----BEGIN SIGNED MESSAGE-----"),
        "commit-tree -S made no signature"
    );
    let a_path = s.repo.path().display().to_string();
    hb.git_ok(&b, &["fetch", "-q", &a_path, "for-b:refs/heads/for-b"]);

    // A's own commits stay good
    assert_eq!(s.hsm.git_ok(&s.repo, &["log", "-1", "--format=%G?"]), "G\n");
    let mut shown = Vec::new();
    for git in gits() {
        let verify = hb.git_with(git, &b, &["verify-commit", "for-b"]);
        assert_ne!(verify.code, 0, "{git} verify-commit: {}", verify.snapshot());
        assert!(
            verify
                .stderr
                .contains("signature not authorised by signing.toml: unknown-signer: the signer (O=Example, CN=release) is no identity of the policy in force"),
            "{}",
            verify.snapshot()
        );
        let status = hb.git_with(git, &b, &["log", "-1", "--format=%G?", "for-b"]);
        assert_eq!(status.code, 0);
        assert_ne!(status.stdout, "G\n", "{git} shows the commit as good");
        assert_ne!(
            status.stdout, "U\n",
            "{git} shows the commit as good (untrusted)"
        );
        shown.push((format!("{git} verify-commit"), verify));
        shown.push((format!("{git} log --format=%G?"), status));
    }
    // the parent's policy decides in A as well
    let in_a = s.hsm.git(&s.repo, &["verify-commit", "for-b"]);
    assert_ne!(in_a.code, 0, "{}", in_a.snapshot());
    let runs: Vec<(&str, &Run)> = shown.iter().map(|(w, r)| (w.as_str(), r)).collect();
    insta::assert_snapshot!(transcript(&b, &runs));
}
