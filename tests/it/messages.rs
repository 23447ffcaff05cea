//! What a user reads when something around sigctl is wrong: what is wrong,
//! where, and what to do; never a Rust debug structure, never a secret.

use std::os::unix::ffi::OsStrExt;

use crate::util::hsm::setup;
use crate::util::{HSM_POLICY, Run, TestRepo};

fn plain(run: &Run) {
    for debug in ["Message {", "Os {", "kind:", "Caused by", "panicked"] {
        assert!(
            !run.stderr.contains(debug),
            "a debug structure:\n{}",
            run.snapshot()
        );
    }
}

#[test]
fn a_sha256_repository_is_named_as_such() {
    let repo = TestRepo::new();
    std::fs::remove_dir_all(repo.path().join(".git")).expect("rm");
    repo.git(&["init", "-q", "--object-format=sha256", "-b", "main"]);
    for args in [&["verify"][..], &["check"], &["audit"]] {
        let run = repo.sigctl(args);
        assert_eq!(run.code, 2, "{}", run.snapshot());
        assert!(run.stderr.contains("SHA-256"), "{}", run.snapshot());
        plain(&run);
    }
}

#[test]
fn a_missing_path_is_named_as_such() {
    let repo = TestRepo::new();
    let run = repo.sigctl(&["check", "no/such/dir"]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(
        run.stderr.contains("no such directory"),
        "{}",
        run.snapshot()
    );
    plain(&run);
}

#[test]
fn a_shallow_clone_says_so_and_how_to_deepen_it() {
    let repo = TestRepo::new();
    repo.write("signing.toml", HSM_POLICY);
    repo.commit("policy");
    for i in 0..3 {
        repo.write("f", format!("{i}\n"));
        repo.commit(&format!("c{i}"));
    }
    let url = format!("file://{}", repo.path().display());
    let shallow = repo.dir.path().join("shallow");
    repo.git(&[
        "clone",
        "-q",
        "--depth",
        "2",
        &url,
        &shallow.display().to_string(),
    ]);
    for args in [&["verify"][..], &["audit"]] {
        let run = repo.sigctl_in(&shallow, args);
        assert_eq!(run.code, 2, "{}", run.snapshot());
        assert!(run.stderr.contains("shallow clone"), "{}", run.snapshot());
        assert!(
            run.stderr.contains("git fetch --unshallow"),
            "{}",
            run.snapshot()
        );
        assert!(
            !run.stderr.contains("could not be found"),
            "{}",
            run.snapshot()
        );
        plain(&run);
    }
}

#[test]
fn a_pin_in_the_environment_loses_its_trailing_newline() {
    let s = setup();
    let pin = format!("{}\n", crate::util::hsm::PIN);
    let with_newline = s.hsm.pin(Some(&pin));
    with_newline.sigctl_ok(
        &s.repo,
        &["sign", "tag", "v1", "--identity", "release", "-m", "x"],
    );
}

#[test]
fn a_pin_that_is_not_utf8_is_named_as_such() {
    let s = setup();
    let out = s
        .hsm
        .pin(None)
        .command(crate::util::SIGCTL, &s.repo.path())
        .env(
            "SIGCTL_PKCS11_PIN",
            std::ffi::OsStr::from_bytes(b"12\xff34"),
        )
        .args(["sign", "tag", "v1", "--identity", "release", "-m", "x"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    assert!(!stderr.contains("no PIN"), "{stderr}");
}

#[test]
fn a_module_path_that_is_a_directory_or_device_is_named_as_such() {
    let s = setup();
    for (module, says) in [
        ("/tmp", "is a directory, not a library"),
        ("/dev/null", "is not a regular file"),
        ("/nonexistent.so", "does not exist"),
    ] {
        let run = s.hsm.module(module).sigctl(
            &s.repo,
            &["sign", "tag", "v1", "--identity", "release", "-m", "x"],
        );
        assert_eq!(run.code, 2, "{}", run.snapshot());
        assert!(run.stderr.contains(says), "{module}: {}", run.snapshot());
    }
}

/// After `--` everything is an operand: a file named `--verify` is signed
/// (or refused as a file), never read as git's gpg interface.
#[test]
fn an_operand_named_verify_after_double_dash_is_a_file() {
    let s = setup();
    let run = s.hsm.sigctl(
        &s.repo,
        &[
            "sign",
            "artifact",
            "--identity",
            "release",
            "--",
            "--verify",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(!run.stderr.contains("payload"), "{}", run.snapshot());
    assert!(run.stderr.contains("--verify"), "{}", run.snapshot());
    s.repo.write("--verify", b"a file\n");
    s.hsm.sigctl_ok(
        &s.repo,
        &[
            "sign",
            "artifact",
            "--identity",
            "release",
            "--",
            "--verify",
        ],
    );
}

#[test]
fn provenance_sync_says_when_the_fetch_failed() {
    let s = setup();
    s.hsm.git_ok(
        &s.repo,
        &["remote", "add", "gone", "/nonexistent/repository.git"],
    );
    let run = s.hsm.sigctl(&s.repo, &["provenance", "sync", "gone"]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(
        run.stderr.contains("cannot fetch gone's records"),
        "{}",
        run.snapshot()
    );
    assert!(
        !run.stderr.contains("non-fast-forward"),
        "{}",
        run.snapshot()
    );
}

/// 100,000 nested arrays: the toml parser stops at its depth limit; the
/// diagnostic says the nesting is too deep, on a clipped snippet.
#[test]
fn a_policy_nested_100000_deep_is_a_located_diagnostic() {
    let repo = TestRepo::new();
    repo.write(
        "signing.toml",
        format!("version = 1\na = {}\n", "[".repeat(100_000)),
    );
    let run = repo.sigctl(&["check"]);
    plain(&run);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(run.stdout.contains("nest too deep"), "{}", run.snapshot());
    assert!(run.stdout.len() < 4000, "{}", run.snapshot());
}

/// Signing refuses a key URI carrying a PIN, however spelled, and no output
/// (sigctl's or git's) shows it (real git, real SoftHSM2 token).
#[test]
fn sign_refuses_a_pin_in_the_key_uri_in_any_spelling_without_showing_it() {
    const SECRET: &str = "27182818";
    let s = setup();
    let from = "key = \"pkcs11:token=sigctl;object=release\"";
    let policy = s.repo.read("signing.toml");
    assert!(policy.contains(from), "{policy}");
    s.repo.write("a.txt", "artefact\n");
    for part in [
        format!("pin-{}={SECRET}", "value"),
        format!("pin%2Dvalue={SECRET}"),
        format!("PIN-VALUE={SECRET}"),
    ] {
        let with_pin = policy.replacen(
            from,
            &format!("key = \"pkcs11:token=sigctl;object=release?{part}\""),
            1,
        );
        s.repo.write("signing.toml", &with_pin);
        s.hsm.git_ok(&s.repo, &["commit", "-q", "-a", "-m", "pin"]);
        let run = s.hsm.sigctl(
            &s.repo,
            &["sign", "artifact", "a.txt", "--identity", "release"],
        );
        plain(&run);
        assert_eq!(run.code, 1, "{part}\n{}", run.snapshot());
        let git = s
            .hsm
            .git(&s.repo, &["commit", "-S", "-q", "--allow-empty", "-m", "x"]);
        assert_ne!(git.code, 0, "{part}");
        s.hsm.git_ok(&s.repo, &["reset", "-q", "--hard", "HEAD~1"]);
    }
    assert!(
        !s.hsm.transcript().contains(SECRET),
        "{}",
        s.hsm.transcript()
    );
}

/// A PIN in a key URI of the policy at HEAD, or in a record someone wrote
/// into the notes by hand, is masked by `audit` and `provenance show` too.
#[test]
fn audit_and_provenance_show_never_print_a_pin_from_policy_or_notes() {
    const SECRET: &str = "31415926";
    let s = setup();
    let head = s.hsm.git_ok(&s.repo, &["rev-parse", "HEAD"]);
    let genuine = s
        .hsm
        .git_ok(&s.repo, &["notes", "--ref=signing", "show", head.trim()]);
    let line = genuine.lines().next().expect("a record").to_owned();
    let with_pin = line.replacen(
        "object=release",
        &format!("object=release?pin-{}={SECRET}", "value"),
        1,
    );
    assert_ne!(with_pin, line, "{line}");
    s.hsm.git_ok(
        &s.repo,
        &[
            "notes",
            "--ref=signing",
            "append",
            "-m",
            &with_pin,
            head.trim(),
        ],
    );
    let policy = s.repo.read("signing.toml");
    s.repo.write(
        "signing.toml",
        policy.replacen(
            "object=release\"",
            &format!("object=release?pin-{}={SECRET}\"", "value"),
            1,
        ),
    );
    s.hsm
        .git_ok(&s.repo, &["commit", "-q", "-a", "-m", "a pin"]);
    for args in [
        &["audit"][..],
        &["audit", "--format", "json"],
        &["audit", "--format", "markdown"],
        &["provenance", "show", "HEAD~1"],
        &["provenance", "show", "HEAD~1", "--format", "json"],
    ] {
        let run = s.hsm.sigctl(&s.repo, args);
        plain(&run);
        assert!(
            !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
            "{args:?} printed the PIN:\n{}",
            run.snapshot()
        );
    }
}

#[test]
fn an_empty_pin_in_the_environment_is_refused_before_login() {
    let s = setup();
    for empty in ["", "\n"] {
        let run = s.hsm.pin(Some(empty)).sigctl(
            &s.repo,
            &["sign", "tag", "v1", "--identity", "release", "-m", "x"],
        );
        assert_eq!(run.code, 2, "{}", run.snapshot());
        assert!(
            run.stderr.contains("is set but empty"),
            "{}",
            run.snapshot()
        );
    }
    // no attempt was spent: the right PIN still works
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "tag", "v1", "--identity", "release", "-m", "x"],
    );
}
