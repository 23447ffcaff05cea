//! `sigctl verify --policy FILE`: a history judged against a policy held
//! outside the repository (a dependency, a supplier, a repository before it
//! adopts sigctl). Real repositories made by the real git, SSH-signed (the
//! helpers of `verify.rs`) and OpenPGP-signed by gpg; the attacker's moves
//! first: a signing.toml of its own, trust files at the same paths, replace
//! refs, revoked keys, tags outside their environment.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::Run;
use crate::verify::{History, alice_and_bob, day, exits, expect, result_of, revocation};

/// The policy directory outside the repository: `policy/signing.toml` in
/// HOME, listing `names`, then `extra`; its path.
fn external(h: &History, names: &[&str], extra: &str) -> PathBuf {
    let dir = h.repo.home().join("policy");
    std::fs::create_dir_all(&dir).expect("the policy directory");
    let path = dir.join("signing.toml");
    std::fs::write(&path, h.policy_text(names, extra)).expect("the external policy");
    path
}

fn verify_with(h: &History, policy: &Path, args: &[&str]) -> Run {
    let p = policy.display().to_string();
    let mut all = vec!["--policy", p.as_str()];
    all.extend(args);
    h.verify(&all)
}

/// `sigctl verify --policy FILE ARGS` whatever its exit code.
fn verify_raw(h: &History, policy: &Path, args: &[&str]) -> Run {
    let p = policy.display().to_string();
    let mut all = vec!["verify", "--policy", p.as_str()];
    all.extend(args);
    h.repo.sigctl(&all)
}

#[test]
fn a_repository_without_signing_toml_is_judged_commit_by_commit() {
    let h = alice_and_bob();
    h.repo.write("README", "upstream\n");
    let first = h.signed("alice", "first");
    let by_bob = h.signed("bob", "bob");
    let unsigned = h.unsigned("unsigned");
    let after = h.signed("alice", "after the unsigned one");

    // only Alice: Bob is unknown, the unsigned commit is unsigned, and the
    // commit after them is judged on its own (no broken chain)
    let policy = external(&h, &["alice"], "");
    let run = verify_with(&h, &policy, &[]);
    exits(&run, 1);
    expect(&run, &first, "valid", "authorised");
    expect(&run, &by_bob, "invalid", "unknown-signer");
    expect(&run, &unsigned, "unsigned", "unsigned");
    expect(&run, &after, "valid", "authorised");
    let doc = run.json();
    assert_eq!(doc["trust_root"], serde_json::Value::Null, "{}", run.stdout);
    assert_eq!(doc["policy"], policy.display().to_string().as_str());
    assert_eq!(doc["summary"]["total"], 4);

    // a start: --trust-root, or a range
    let run = verify_with(&h, &policy, &["--trust-root", &after]);
    exits(&run, 0);
    assert_eq!(run.json()["summary"]["total"], 1);
    assert_eq!(run.json()["trust_root"], after.as_str());
    let run = verify_with(&h, &policy, &[&format!("{unsigned}..HEAD")]);
    exits(&run, 0);
    assert_eq!(run.json()["summary"]["total"], 1);

    // the human report names the policy
    let human = verify_raw(&h, &policy, &[&format!("{unsigned}..HEAD")]);
    assert_eq!(human.code, 0, "{}", human.snapshot());
    assert!(
        human.stdout.contains("against policy"),
        "{}",
        human.snapshot()
    );
}

#[test]
fn the_repositorys_own_signing_toml_widens_nothing() {
    // Attack: the judged repository carries a signing.toml that lists
    // Mallory (and makes her admin), hoping the external policy defers to it
    let h = alice_and_bob();
    h.person("mallory", "sec", &["dev", "prod"]);
    h.policy(&["alice", "bob", "mallory"], "");
    let root = h.signed("mallory", "mallory's own policy");
    let work = h.signed("mallory", "mallory's work");
    let by_alice = h.signed("alice", "alice");
    // in-tree, the repository vouches for itself
    exits(&h.verify(&[]), 0);

    let policy = external(&h, &["alice", "bob"], "");
    let run = verify_with(&h, &policy, &[]);
    exits(&run, 1);
    expect(&run, &root, "invalid", "unknown-signer");
    expect(&run, &work, "invalid", "unknown-signer");
    expect(&run, &by_alice, "valid", "authorised");
    // nor does the repository's trust-root setting choose the start
    h.git(&["config", "sigctl.trustRoot", &by_alice]);
    let run = verify_with(&h, &policy, &[]);
    exits(&run, 1);
    assert_eq!(run.json()["summary"]["total"], 3);

    // a commit that edits the repository's signing.toml is judged like any
    // other: no admin rule (history cannot change an external policy)
    h.policy(&["alice"], "");
    let edit = h.signed("bob", "bob edits the repository's signing.toml");
    let run = verify_with(&h, &policy, &["--trust-root", &by_alice]);
    exits(&run, 0);
    expect(&run, &edit, "valid", "authorised");
}

#[test]
fn replace_refs_stay_ignored() {
    // Attack: `git replace` swaps Mallory's commit for one Alice signed
    let h = alice_and_bob();
    h.person("mallory", "dev", &["dev"]);
    h.repo.write("a", "1\n");
    let base = h.signed("alice", "base");
    let bad = h.signed("mallory", "mallory");
    h.git(&["checkout", "-q", "-b", "side", &base]);
    h.repo.write("a", "2\n");
    let good = h.signed("alice", "alice instead");
    h.git(&["checkout", "-q", "main"]);
    h.git(&["replace", &bad, &good]);
    let policy = external(&h, &["alice"], "");
    let run = verify_with(&h, &policy, &["main"]);
    exits(&run, 1);
    expect(&run, &bad, "invalid", "unknown-signer");
}

#[test]
fn an_identity_revoked_in_the_external_policy_signs_nothing_after_the_revocation() {
    let h = alice_and_bob();
    let before = h.at(day(1)).signed("bob", "before");
    let after = h.at(day(5)).signed("bob", "after");
    let policy = external(
        &h,
        &["alice", "bob"],
        &revocation("bob", "key-compromise", day(4), Some(day(3))),
    );
    let run = verify_with(&h, &policy, &[]);
    exits(&run, 1);
    expect(&run, &before, "valid", "authorised");
    expect(&run, &after, "invalid", "revoked-key");
}

#[test]
fn tags_are_judged_by_the_external_policys_environments() {
    let h = alice_and_bob();
    h.signed("alice", "work");
    let by_bob = h.tag(Some("bob"), "v1");
    let by_alice = h.tag(Some("alice"), "v2");
    // the repository's own policy would let Bob tag releases
    h.person("x", "sec", &["dev"]);
    let policy = external(&h, &["alice", "bob"], "");
    let run = verify_with(&h, &policy, &["v1", "v2"]);
    exits(&run, 1);
    expect(&run, &by_bob, "invalid", "wrong-environment");
    expect(&run, &by_alice, "valid", "authorised");
}

#[test]
fn an_unknown_signature_format_is_refused_not_a_crash() {
    let h = alice_and_bob();
    let genuine = h.signed("alice", "genuine");
    let raw = h.git(&["cat-file", "commit", &genuine]);
    let odd = crate::verify::replace_gpgsig(&raw, |_| {
        "gpgsig -----BEGIN FUTURE SIGNATURE-----\n AAAA\n -----END FUTURE SIGNATURE-----\n"
            .to_owned()
    });
    let forged = h.forge(&odd, "odd", "odd");
    let policy = external(&h, &["alice"], "");
    let run = verify_with(&h, &policy, &["odd"]);
    exits(&run, 1);
    let r = result_of(&run, &forged);
    // a format sigctl does not read: unsupported, in-tree and external alike
    assert_eq!(
        (r["reason"].as_str(), r["message"].as_str()),
        (
            Some("unsupported-signature"),
            Some("the signature is not in a format sigctl reads (CMS, SSH or OpenPGP)")
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_policy_file_with_errors_judges_nothing() {
    let h = alice_and_bob();
    h.signed("alice", "work");
    // an unknown key: check's diagnostic, with file, line and column
    let policy = external(&h, &["alice"], "\nsurprise = true\n");
    let run = verify_raw(&h, &policy, &["--format", "json"]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(run.stdout.is_empty(), "{}", run.snapshot());
    let line = h
        .policy_text(&["alice"], "\nsurprise = true\n")
        .lines()
        .count();
    assert!(
        run.stderr.contains(&format!("signing.toml:{line}:1")),
        "{}",
        run.snapshot()
    );
    assert!(
        run.stderr.contains("nothing was verified"),
        "{}",
        run.snapshot()
    );

    // missing
    let missing = h.repo.home().join("nowhere/signing.toml");
    let run = verify_raw(&h, &missing, &[]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(run.stderr.contains("does not exist"), "{}", run.snapshot());
    assert!(!run.stderr.contains("sigctl init"), "{}", run.snapshot());

    // a directory is no policy file
    let run = verify_raw(&h, &h.repo.home(), &[]);
    assert_eq!(run.code, 2, "{}", run.snapshot());

    // a path that leaves the policy's directory
    for path in ["../outside.asc", "/etc/hostname"] {
        std::fs::write(h.repo.home().join("outside.asc"), "x").expect("a file outside");
        let extra = format!(
            "\n[identities.web]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nopenpgp_key = {path:?}\n"
        );
        let policy = external(&h, &["alice"], &extra);
        let run = verify_raw(&h, &policy, &[]);
        assert_eq!(run.code, 2, "{path}: {}", run.snapshot());
        assert!(run.stderr.contains("outside"), "{path}: {}", run.snapshot());
    }
}

/// gpg in HOME (the history's), without agent prompts.
fn gpg(h: &History, args: &[&str]) -> Vec<u8> {
    let out = Command::new("gpg")
        .args([
            "--batch",
            "--quiet",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .env("HOME", h.repo.home())
        .env("GNUPGHOME", h.repo.home().join(".gnupg"))
        .output()
        .expect("gpg runs");
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn trust_files_come_from_the_policys_directory_never_from_the_repository() {
    // Attack: the judged repository holds, at the path the external policy
    // names for a key file, a key of its own choosing
    let h = alice_and_bob();
    std::fs::create_dir_all(h.repo.home().join(".gnupg")).expect("GNUPGHOME");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            h.repo.home().join(".gnupg"),
            std::fs::Permissions::from_mode(0o700),
        )
        .expect("GNUPGHOME mode");
    }
    gpg(
        &h,
        &[
            "--quick-gen-key",
            "Release <release@example.com>",
            "rsa2048",
            "sign",
            "never",
        ],
    );
    let ours = gpg(&h, &["--armor", "--export", "release@example.com"]);
    let theirs = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/openpgp/github-web-flow-968479A1AFF927E37D1A566BB5690EEEBB952194.asc"
    ))
    .expect("the web-flow key");
    let extra = "\n[identities.release]\nowner = \"sec\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nopenpgp_key = \"keys/release.asc\"\n";

    // the repository holds the web-flow key where the policy names its own
    h.repo.write("keys/release.asc", &theirs);
    h.git(&["add", "-A"]);
    h.git(&[
        "-c",
        "gpg.format=openpgp",
        "-c",
        "user.signingkey=release@example.com",
        "commit",
        "-q",
        "-S",
        "-m",
        "gpg-signed",
    ]);
    let signed = h.made("HEAD", "gpg-signed");

    let dir = h.repo.home().join("policy");
    std::fs::create_dir_all(dir.join("keys")).expect("keys");
    std::fs::write(dir.join("keys/release.asc"), &ours).expect("our key");
    let policy = external(&h, &["alice"], extra);
    let run = verify_with(&h, &policy, &[]);
    exits(&run, 0);
    expect(&run, &signed, "valid", "authorised");
    assert_eq!(result_of(&run, &signed)["identity"], "release");

    // and the other way round: the repository's copy of the real key does
    // not stand in for a file the policy's directory holds otherwise
    std::fs::write(dir.join("keys/release.asc"), &theirs).expect("their key");
    h.repo.write("keys/release.asc", &ours);
    let run = verify_with(&h, &policy, &[]);
    exits(&run, 1);
    expect(&run, &signed, "invalid", "unknown-signer");

    // missing beside the policy, present in the repository: a check error
    std::fs::remove_file(dir.join("keys/release.asc")).expect("removed");
    let run = verify_raw(&h, &policy, &[]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
}

#[test]
fn the_cache_serves_a_second_run_and_never_mixes_in_tree_and_external_verdicts() {
    let h = alice_and_bob();
    h.person("mallory", "sec", &["dev"]);
    h.policy(&["alice", "mallory"], "");
    let root = h.signed("alice", "root");
    let by_mallory = h.signed("mallory", "mallory");
    let policy = external(&h, &["alice"], "");

    let first = verify_with(&h, &policy, &[]);
    exits(&first, 1);
    expect(&first, &by_mallory, "invalid", "unknown-signer");
    let cache = h.repo.path().join(".git/sigctl");
    assert!(cache.exists(), "the cache was written");
    // in-tree, from the same cache: Mallory is in the repository's policy
    let in_tree = h.verify(&[]);
    exits(&in_tree, 0);
    expect(&in_tree, &by_mallory, "valid", "authorised");
    // and external again: the same verdicts as the first run
    let second = verify_with(&h, &policy, &[]);
    exits(&second, 1);
    assert_eq!(first.json()["results"], second.json()["results"]);
    expect(&second, &root, "valid", "authorised");
    // without the cache: the same
    let uncached = verify_with(&h, &policy, &["--no-cache"]);
    assert_eq!(first.json()["results"], uncached.json()["results"]);
}

#[test]
fn verify_help_is_stable() {
    let repo = crate::util::TestRepo::new();
    insta::assert_snapshot!("verify_help", repo.sigctl(&["verify", "--help"]).snapshot());
}
