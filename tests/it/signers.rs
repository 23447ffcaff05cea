//! `sigctl signers` and `sigctl init --from-history`: a census of histories
//! signed by SSH keys made in the test and of real objects signed by other
//! tools (tests/data), and the starter policy it writes, checked and then
//! verified.

use serde_json::Value;
use sigctl::signature::ssh;

use crate::util::TestRepo;
use crate::verify::{History, START, alice_and_bob, result_of, rfc3339};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn fingerprint(h: &History, who: &str) -> String {
    sigctl::signers::ssh_fingerprint(&ssh::key_blob(&h.public_key(who)).expect("a key line"))
}

/// Alice signs, someone commits unsigned, Bob signs, Alice signs tag v1;
/// a copy of Bob's commit with another message is on branch `forged`.
fn mixed() -> (History, [String; 5]) {
    let h = alice_and_bob();
    let a = h.signed("alice", "one");
    let u = h.unsigned("two");
    let b = h.signed("bob", "three");
    let t = h.tag(Some("alice"), "v1");
    let raw = h
        .git(&["cat-file", "commit", &b])
        .replace("three", "tampered");
    let f = h.forge(&raw, "forged", "forged");
    let allowed = format!("alice@example.com {}\n", h.public_key("alice"));
    h.repo.write("../home/allowed_signers", allowed);
    (h, [a, u, b, t, f])
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_str().expect("a string"))
        .collect()
}

#[test]
fn the_census_counts_each_signer_the_unsigned_and_the_invalid_apart() {
    let (h, [a, u, _b, _t, f]) = mixed();
    let allowed = h.repo.home().join("allowed_signers").display().to_string();
    let run = h
        .repo
        .sigctl(&["signers", "--allowed-signers", &allowed, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    let doc = run.json();
    assert_eq!(doc["version"], 1);
    assert_eq!(
        strs(&doc["refs"]),
        ["refs/heads/forged", "refs/heads/main", "refs/tags/v1"]
    );
    assert_eq!(doc["commits"], 4);
    assert_eq!(doc["signed_commits"], 2);
    assert_eq!(doc["tags"], 1);
    assert_eq!(doc["signed_tags"], 1);
    assert_eq!(doc["unsigned_tags"], 0);
    let unsigned = doc["unsigned"].as_array().expect("unsigned");
    assert_eq!(unsigned.len(), 1);
    assert_eq!(unsigned[0]["commit"], u.as_str());
    assert_eq!(unsigned[0]["committer"], "Test User <test@example.com>");
    assert_eq!(unsigned[0]["time"], rfc3339(START + 3_600).as_str());
    let invalid = doc["invalid"].as_array().expect("invalid");
    assert_eq!(invalid.len(), 1, "{invalid:?}");
    assert_eq!(invalid[0]["object"], f.as_str());
    assert_eq!(invalid[0]["kind"], "commit");
    let signers = doc["signers"].as_array().expect("signers");
    assert_eq!(signers.len(), 2, "the forged copy is attributed to nobody");
    let alice = &signers[0];
    assert_eq!(alice["format"], "ssh");
    assert_eq!(alice["id"], fingerprint(&h, "alice").as_str());
    let key = h.public_key("alice");
    assert!(key.starts_with(alice["public_key"].as_str().expect("key")));
    assert_eq!(strs(&alice["names"]), ["alice@example.com", "alice"]);
    assert_eq!(alice["verified"], true);
    assert_eq!(
        (alice["commits"].as_u64(), alice["tags"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(alice["first_seen"], rfc3339(START).as_str());
    assert_eq!(alice["last_seen"], rfc3339(START + 3 * 3_600).as_str());
    assert_eq!(
        strs(&alice["refs"]),
        ["refs/heads/forged", "refs/heads/main", "refs/tags/v1"]
    );
    assert_eq!(strs(&alice["committers"]), ["Test User <test@example.com>"]);
    let bob = &signers[1];
    assert_eq!(bob["id"], fingerprint(&h, "bob").as_str());
    assert!(bob["names"].as_array().expect("names").is_empty());
    assert_eq!(
        (bob["commits"].as_u64(), bob["tags"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(strs(&bob["refs"]), ["refs/heads/main", "refs/tags/v1"]);
    assert!(alice.get("issuer").is_none() && alice.get("subject").is_none());
    let _ = a;

    // a range reads only what it brings
    let range = h
        .repo
        .sigctl(&["signers", &format!("{u}..main"), "--format", "json"]);
    assert_eq!(range.code, 0, "{}", range.snapshot());
    assert_eq!(range.json()["commits"], 1);

    let human = h
        .repo
        .sigctl(&["signers", "--allowed-signers", &allowed])
        .snapshot();
    let human = h
        .scrub(&human)
        .replace(&fingerprint(&h, "alice"), "<alice's key>")
        .replace(&fingerprint(&h, "bob"), "<bob's key>");
    insta::assert_snapshot!("signers_human", human);
    let md = h.repo.sigctl(&["signers", "--format", "markdown"]);
    assert_eq!(md.code, 0);
    assert!(md.stdout.contains("| ssh | SHA256:"), "{}", md.stdout);
    // usage errors
    assert_eq!(h.repo.sigctl(&["signers", "--format", "xml"]).code, 2);
    assert_eq!(h.repo.sigctl(&["signers", "no-such-ref"]).code, 2);
}

/// A repository holding real signed commits from tests/data, each on its own
/// branch, their missing parents a shallow boundary.
fn real_objects(files: &[&str]) -> (TestRepo, Vec<String>) {
    let repo = TestRepo::new();
    let mut ids = Vec::new();
    for f in files {
        let raw = std::fs::read(format!("{TESTDATA}/{f}")).expect("the object");
        let id = repo
            .git_input(&["hash-object", "-t", "commit", "-w", "--stdin"], &raw)
            .trim()
            .to_owned();
        repo.git(&["update-ref", &format!("refs/heads/b-{}", &id[..8]), &id]);
        ids.push(id);
    }
    let shallow: String = ids.iter().map(|i| format!("{i}\n")).collect();
    repo.write(".git/shallow", shallow);
    (repo, ids)
}

#[test]
fn real_signatures_of_gitsign_smimesign_and_github_are_told_apart() {
    let (repo, ids) = real_objects(&[
        "gitsign/0a6ecec6bf104dc016dd2e02857d4a70260bb5e6.commit",
        "smimesign/c872390b6d9d804a3fe57ee07da5791c68d7ce0b.commit",
        "smimesign/1502d64d026b9cb1dacb7a3d90c4fa9d5abe7ab8.commit",
        "openpgp/19ea34ef1addae1b15e448643852d83dc6a8cf55.commit",
    ]);
    let key =
        format!("{TESTDATA}/openpgp/github-web-flow-968479A1AFF927E37D1A566BB5690EEEBB952194.asc");
    let run = repo.sigctl(&["signers", "--openpgp-keys", &key, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    let doc = run.json();
    assert_eq!(doc["commits"], 4);
    assert_eq!(doc["signed_commits"], 3);
    let signers = doc["signers"].as_array().expect("signers");
    let by = |format: &str| -> &Value {
        signers
            .iter()
            .find(|s| s["format"] == format)
            .unwrap_or_else(|| panic!("a {format} signer: {signers:?}"))
    };
    let keyless = by("keyless");
    assert_eq!(keyless["issuer"], "https://accounts.google.com");
    assert_eq!(keyless["subject"], "jason@chainguard.dev");
    assert_eq!(
        strs(&keyless["committers"]),
        ["Jason Hall <jason@chainguard.dev>"]
    );
    let x509 = by("x509");
    assert!(
        x509["issuer"]
            .as_str()
            .unwrap_or_default()
            .contains("Siemens"),
        "{x509}"
    );
    let pgp = by("openpgp");
    assert_eq!(pgp["id"], "968479A1AFF927E37D1A566BB5690EEEBB952194");
    assert_eq!(pgp["verified"], true);
    assert_eq!(strs(&pgp["names"]), ["GitHub <noreply@github.com>"]);
    let invalid = doc["invalid"].as_array().expect("invalid");
    assert_eq!(invalid.len(), 1);
    assert_eq!(
        invalid[0]["object"],
        ids[2].as_str(),
        "the pre-PR-29 smimesign signature"
    );

    // without the key: named by its issuer, not verified
    let bare = repo.sigctl(&["signers", "--format", "json"]).json();
    let pgp = bare["signers"]
        .as_array()
        .expect("signers")
        .iter()
        .find(|s| s["format"] == "openpgp")
        .cloned()
        .expect("openpgp");
    assert_eq!(pgp["verified"], false);
    assert!(
        "968479A1AFF927E37D1A566BB5690EEEBB952194".ends_with(pgp["id"].as_str().unwrap_or("-"))
    );

    // the starter policy: keyless with the Sigstore files, the web-flow key written
    let init = repo.sigctl(&["init", "--from-history", "--openpgp-keys", &key]);
    assert_eq!(init.code, 0, "{}", init.snapshot());
    let policy = repo.read("signing.toml");
    assert!(policy.contains("custody = \"keyless\""), "{policy}");
    assert!(
        policy.contains("subject = \"jason@chainguard.dev\""),
        "{policy}"
    );
    assert!(
        policy.contains("openpgp_key = \".sigctl/openpgp/noreply.asc\""),
        "{policy}"
    );
    assert!(policy.contains("# x509 = { ca = "), "{policy}");
    assert!(
        repo.path()
            .join(".sigctl/sigstore/trusted_root.json")
            .exists()
    );
    let check = repo.sigctl(&["check"]);
    assert_eq!(check.code, 0, "{}\n{policy}", check.snapshot());
}

#[test]
fn init_from_history_writes_a_policy_check_accepts_and_verify_then_holds_to() {
    let h = alice_and_bob();
    h.signed("alice", "one");
    h.unsigned("two");
    h.signed("bob", "three");
    let allowed = h.repo.home().join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("alice@example.com {}\n", h.public_key("alice")),
    )
    .expect("allowed signers");
    let allowed = allowed.display().to_string();
    let init = h
        .repo
        .sigctl(&["init", "--from-history", "--allowed-signers", &allowed]);
    assert_eq!(init.code, 0, "{}", init.snapshot());
    assert!(
        init.stdout.contains("2 signer(s), 1 unsigned commit(s)"),
        "{}",
        init.stdout
    );
    let policy = h.repo.read("signing.toml");
    assert!(policy.contains("[identities.alice]"), "{policy}");
    assert!(
        policy.contains("[identities.test]"),
        "bob is named from his committer: {policy}"
    );
    assert!(policy.contains("admins = [\"example-com\"]"), "{policy}");
    assert!(policy.contains(&format!(
        "ssh_key = \"{}\"",
        h.public_key("bob").rsplit_once(' ').expect("a comment").0
    )));
    assert!(policy.contains("# Unsigned commits (1)"), "{policy}");
    // the repository keeps signing its own way
    let config = std::fs::read_to_string(h.repo.path().join(".git/config")).expect("config");
    assert!(!config.contains("x509"), "no gpg.format set: {config}");
    let check = h.repo.sigctl(&["check"]);
    assert_eq!(check.code, 0, "{}", check.snapshot());

    // adopted: Alice signs the policy in, Bob and Alice sign on
    let root = h.signed("alice", "adopt signing.toml");
    let b = h.signed("bob", "after");
    let a = h.signed("alice", "after too");
    let run = h.verify(&["--trust-root", &root]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    for id in [&root, &b, &a] {
        assert_eq!(result_of(&run, id)["verdict"], "valid", "{}", run.stdout);
    }
}

#[test]
fn init_from_history_never_replaces_a_policy_and_writes_nothing_without_signatures() {
    let repo = TestRepo::new();
    repo.commit("unsigned");
    let none = repo.sigctl(&["init", "--from-history"]);
    assert_eq!(none.code, 2, "{}", none.snapshot());
    assert!(
        none.stderr.contains("no signature in this history"),
        "{}",
        none.stderr
    );
    assert!(!repo.path().join("signing.toml").exists());
    assert!(!repo.path().join(".sigctl").exists());

    let (h, _) = mixed();
    h.repo.write("signing.toml", "# ours\n");
    let run = h.repo.sigctl(&["init", "--from-history"]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(run.stderr.contains("never replaces it"), "{}", run.stderr);
    assert_eq!(h.repo.read("signing.toml"), "# ours\n");
    // --force is no way around it
    assert_eq!(
        h.repo.sigctl(&["init", "--from-history", "--force"]).code,
        2
    );
}
