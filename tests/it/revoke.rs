//! `sigctl revoke`: the signing.toml edit (comments and layout kept, refused
//! over local changes, nothing written on any failure) and the blast radius
//! over SSH-signed histories made by the real git, and over a SoftHSM token's
//! commit and artefact record.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::{Run, hsm};
use crate::verify::{DAY, History, alice_and_bob, day, expect, rfc3339};

/// A comment and an odd layout that must survive the edit.
const COMMENTS: &str =
    "\n# keep this comment\n[owners.ops]   # and this one\ncontact = \"ops@example.com\"\n";

/// `sigctl revoke ARGS --format json`, expected to succeed.
fn revoke_json(h: &History, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["revoke"];
    all.extend(args);
    all.extend(["--format", "json"]);
    let run = h.repo.sigctl(&all);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    let doc = run.json();
    (run, doc)
}

fn ids(doc: &Value, list: &str) -> BTreeSet<String> {
    doc["blast_radius"][list]
        .as_array()
        .unwrap_or_else(|| panic!("{list}: {doc}"))
        .iter()
        .map(|o| o["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Alice administers, Bob's key is stolen on day 2: Bob signs before and
/// after it, on main, on a branch merged in, and a tag; Alice tags a
/// descendant as the release v1.0.
struct Stolen {
    h: History,
    before: String,
    after: String,
    side: String,
    merge: String,
    bob_tag: String,
    release: String,
}

fn stolen() -> Stolen {
    let h = alice_and_bob();
    h.policy(&["alice", "bob"], COMMENTS);
    h.signed("alice", "root");
    let before = h.at(day(1)).signed("bob", "before");
    h.git(&["branch", "side"]);
    let after = h.at(day(3)).signed("bob", "after");
    h.git(&["checkout", "-q", "side"]);
    let side = h.at(day(3) + 600).signed("bob", "side");
    h.git(&["checkout", "-q", "main"]);
    let merge = h
        .at(day(3) + 1200)
        .signed_merge("bob", "side", "merge side");
    let bob_tag = h.at(day(3) + 1800).tag(Some("bob"), "bob-mark");
    // a tag of that tag: the signed inner tag is still found, under both names
    h.git(&["tag", "-a", "outer", "-m", "nested", "bob-mark"]);
    h.at(day(4)).signed("alice", "descendant");
    let release = h.at(day(4) + 600).tag(Some("alice"), "v1.0");
    Stolen {
        h,
        before,
        after,
        side,
        merge,
        bob_tag,
        release,
    }
}

#[test]
fn a_key_compromise_lists_what_the_key_signed_since_t_and_verify_then_refuses_exactly_that() {
    let s = stolen();
    let h = &s.h;
    let old = h.repo.read("signing.toml");
    let (_, doc) = revoke_json(
        h,
        &[
            "--identity",
            "bob",
            "--reason",
            "key-compromise",
            "--since",
            &rfc3339(day(2)),
            "--now",
            &rfc3339(day(5)),
        ],
    );
    assert_eq!(doc["changed"], true);
    // every commit the key signed since T: on main, on the merged branch, the merge
    let want: BTreeSet<String> = [&s.after, &s.side, &s.merge].into_iter().cloned().collect();
    assert_eq!(ids(&doc, "commits"), want, "{doc:#}");
    assert_eq!(ids(&doc, "tags"), [s.bob_tag.clone()].into(), "{doc:#}");
    assert_eq!(
        doc["blast_radius"]["tags"][0]["refs"],
        serde_json::json!(["refs/tags/bob-mark", "refs/tags/outer"]),
        "{doc:#}"
    );
    assert_eq!(doc["blast_radius"]["earlier"], 1, "{doc:#}");
    for c in doc["blast_radius"]["commits"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert_eq!(c["identity"], "bob");
        assert_eq!(c["matched_by"], "key");
        assert_eq!(c["invalid_after_revocation"], true);
        let refs: Vec<&str> = c["refs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        // the release tagged on a descendant holds each of them
        assert!(refs.contains(&"refs/tags/v1.0"), "{c}");
        assert!(refs.contains(&"refs/heads/main"), "{c}");
    }
    let releases: Vec<&str> = doc["blast_radius"]["releases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(releases, ["bob-mark", "outer", "v1.0"]);
    assert!(
        doc["blast_radius"]["key_material"][0]
            .as_str()
            .is_some_and(|m| m.starts_with("ssh-ed25519 SHA256:")),
        "{doc:#}"
    );
    // the edit: the whole file as it was, then the block
    let new = h.repo.read("signing.toml");
    assert_eq!(
        new,
        format!(
            "{old}\n[[revocations]]\nidentity = \"bob\"\nreason = \"key-compromise\"\nrevoked_at = {}\ncompromised_since = {}\n",
            rfc3339(day(5)),
            rfc3339(day(2))
        )
    );
    assert_eq!(h.repo.sigctl(&["check", "--now", &rfc3339(day(5))]).code, 0);
    // committed by the admin: verify refuses what the key signed after T, not before
    h.at(day(5)).signed("alice", "revoke bob");
    let run = h.verify(&["HEAD", "v1.0", "bob-mark"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    expect(&run, &s.before, "valid", "authorised");
    expect(&run, &s.after, "invalid", "revoked-key");
    expect(&run, &s.side, "invalid", "revoked-key");
    expect(&run, &s.merge, "invalid", "revoked-key");
    let _ = &s.release;
}

#[test]
fn the_human_report_names_the_objects_refs_releases_and_admins() {
    let s = stolen();
    let h = &s.h;
    let run = h.repo.sigctl(&[
        "revoke",
        "--identity",
        "bob",
        "--reason",
        "key-compromise",
        "--since",
        &rfc3339(day(2)),
        "--now",
        &rfc3339(day(5)),
    ]);
    let text = h.scrub(&run.snapshot());
    // the key fingerprint changes with every run
    let text: String = text
        .lines()
        .map(|l| match l.find("SHA256:") {
            Some(i) => format!("{}SHA256:[FINGERPRINT]", &l[..i]),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("revoke_human", text);
    h.at(day(5)).signed("alice", "revoke bob");
    let md = h.repo.sigctl(&[
        "revoke",
        "--identity",
        "bob",
        "--reason",
        "key-compromise",
        "--format",
        "markdown",
    ]);
    assert_eq!(md.code, 0, "{}", md.snapshot());
    assert!(md.stdout.contains("already revoked"), "{}", md.stdout);
    assert!(md.stdout.contains("| commit |"), "{}", md.stdout);
}

#[test]
fn a_second_identity_with_the_same_key_is_in_the_blast_radius() {
    let h = alice_and_bob();
    let bob_key = h.public_key("bob");
    let twin = format!(
        "\n[identities.bobby]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nssh_key = {bob_key:?}\n"
    );
    h.policy(&["alice", "bob"], &twin);
    h.signed("alice", "root");
    // bob's key signs; the policy names whichever identity holds it
    let c = h.at(day(3)).signed("bob", "by the shared key");
    let (_, doc) = revoke_json(
        &h,
        &[
            "--identity",
            "bob",
            "--reason",
            "key-compromise",
            "--since",
            &rfc3339(day(2)),
            "--now",
            &rfc3339(day(5)),
        ],
    );
    assert_eq!(ids(&doc, "commits"), [c.clone()].into(), "{doc:#}");
    assert_eq!(doc["blast_radius"]["commits"][0]["matched_by"], "key");
    // and a revoked identity whose key signs nothing is matched by nothing else
    let h2 = alice_and_bob();
    h2.policy(&["alice", "bob"], "");
    h2.signed("alice", "root");
    h2.at(day(3)).signed("alice", "alice only");
    let (_, doc) = revoke_json(
        &h2,
        &[
            "--identity",
            "bob",
            "--reason",
            "offboarded",
            "--now",
            &rfc3339(day(5)),
        ],
    );
    assert!(ids(&doc, "commits").is_empty(), "{doc:#}");
    assert!(
        h2.repo
            .read("signing.toml")
            .contains("reason = \"offboarded\"")
    );
}

#[test]
fn without_since_every_signature_is_listed_and_only_later_ones_become_invalid() {
    let h = alice_and_bob();
    h.policy(&["alice", "bob"], "");
    h.signed("alice", "root");
    let old = h.at(day(1)).signed("bob", "old");
    let (_, doc) = revoke_json(
        &h,
        &[
            "--identity",
            "bob",
            "--reason",
            "superseded",
            "--now",
            &rfc3339(day(5)),
        ],
    );
    let c = &doc["blast_radius"]["commits"][0];
    assert_eq!(c["id"], old.as_str());
    assert_eq!(c["invalid_after_revocation"], false, "{doc:#}");
    assert_eq!(doc["revocation"]["compromised_since"], Value::Null);
}

/// What a refused revoke must leave: exit 2, a message, the file unchanged.
#[track_caller]
fn refused(h: &History, args: &[&str], says: &str) {
    let before = std::fs::read(h.repo.path().join("signing.toml")).expect("policy");
    let mut all = vec!["revoke"];
    all.extend(args);
    let run = h.repo.sigctl(&all);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(run.stderr.contains(says), "{}", run.snapshot());
    assert!(!run.stderr.contains("panicked"), "{}", run.snapshot());
    let after = std::fs::read(h.repo.path().join("signing.toml")).expect("policy");
    assert_eq!(before, after, "signing.toml changed");
    let stray: Vec<_> = std::fs::read_dir(h.repo.path())
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("sigctl-tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn bad_input_and_local_changes_are_refused_with_the_file_byte_identical() {
    let h = alice_and_bob();
    h.policy(&["alice", "bob"], COMMENTS);
    h.signed("alice", "root");
    let since = rfc3339(day(0) + DAY / 2);
    refused(
        &h,
        &["--identity", "carol", "--reason", "key-compromise"],
        "unknown identity `carol`",
    );
    refused(
        &h,
        &["--identity", "bob", "--reason", "lost"],
        "unknown revocation reason `lost`",
    );
    refused(
        &h,
        &[
            "--identity",
            "bob",
            "--reason",
            "key-compromise",
            "--since",
            "yesterday",
        ],
        "--since",
    );
    refused(
        &h,
        &[
            "--identity",
            "bob",
            "--reason",
            "superseded",
            "--since",
            &since,
        ],
        "--since is for a key compromise",
    );
    refused(
        &h,
        &[
            "--identity",
            "bob",
            "--reason",
            "key-compromise",
            "--since",
            "2999-01-01T00:00:00Z",
        ],
        "in the future",
    );
    // a local edit in the work tree, then the same staged
    let path = h.repo.path().join("signing.toml");
    let mut edited = std::fs::read_to_string(&path).expect("policy");
    edited.push_str("# a local note\n");
    std::fs::write(&path, &edited).expect("write");
    refused(
        &h,
        &["--identity", "bob", "--reason", "key-compromise"],
        "local changes (in the work tree)",
    );
    h.git(&["add", "signing.toml"]);
    refused(
        &h,
        &["--identity", "bob", "--reason", "key-compromise"],
        "local changes (staged in the index)",
    );
    h.git(&["reset", "-q", "--hard"]);
    // already revoked: said, nothing changed
    let (_, first) = revoke_json(&h, &["--identity", "bob", "--reason", "retired"]);
    assert_eq!(first["changed"], true);
    h.signed("alice", "revoke bob");
    let before = std::fs::read(&path).expect("policy");
    let (_, again) = revoke_json(&h, &["--identity", "bob", "--reason", "key-compromise"]);
    assert_eq!(again["changed"], false);
    assert_eq!(again["revocation"]["reason"], "retired");
    assert_eq!(before, std::fs::read(&path).expect("policy"));
}

#[test]
fn a_symlinked_policy_is_not_written_through() {
    // a policy whose signing.toml is a link: never written through
    let h = alice_and_bob();
    h.policy(&["alice", "bob"], "");
    h.signed("alice", "root");
    let real = h.repo.path().join("real.toml");
    std::fs::rename(h.repo.path().join("signing.toml"), &real).expect("move");
    std::os::unix::fs::symlink("real.toml", h.repo.path().join("signing.toml")).expect("link");
    let run = h
        .repo
        .sigctl(&["revoke", "--identity", "bob", "--reason", "retired"]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(
        std::fs::symlink_metadata(h.repo.path().join("signing.toml"))
            .expect("link")
            .file_type()
            .is_symlink()
    );
}

#[test]
fn an_hsm_identitys_commits_and_artefact_records_are_in_its_blast_radius() {
    let s = hsm::setup();
    s.repo.write("app.bin", b"the artefact\n");
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "artifact", "app.bin", "--identity", "release"],
    );
    let head = s.repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let before = std::fs::read(s.repo.path().join("signing.toml")).expect("policy");
    let run = s.hsm.sigctl(
        &s.repo,
        &[
            "revoke",
            "--identity",
            "release",
            "--reason",
            "key-compromise",
            "--since",
            "2026-01-01T00:00:00Z",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.snapshot());
    let doc = run.json();
    let commits: Vec<&str> = doc["blast_radius"]["commits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(commits, [head.as_str()], "{doc:#}");
    let art = &doc["blast_radius"]["artifacts"][0];
    assert_eq!(art["name"], "app.bin", "{doc:#}");
    assert_eq!(art["identity"], "release");
    assert!(
        doc["blast_radius"]["key_material"][0]
            .as_str()
            .is_some_and(|m| m.starts_with("public key sha256:"))
    );
    let after = std::fs::read(s.repo.path().join("signing.toml")).expect("policy");
    assert!(after.starts_with(&before));
    let text = String::from_utf8_lossy(&after);
    assert!(
        text.contains("identity = \"release\"\nreason = \"key-compromise\""),
        "{text}"
    );
    // the output names the admins who must sign the change
    assert!(
        doc["admins"][0]
            .as_str()
            .is_some_and(|a| a.starts_with("security")),
        "{doc:#}"
    );
}
