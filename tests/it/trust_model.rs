//! The trust model of `sigctl verify` (issue 9, /work/spec-trust.md R1–R10):
//! one test per attack on it, each built with the real git and keys that
//! `ssh-keygen` (or `openssl`) makes in the test, asserting the verdict,
//! reason and exit code the rules require; and the legitimate counterparts
//! ("kept") that must go on passing, and the false rejections the rules end.
//!
//! Written ahead of the implementation: against a tree without the issue-9
//! hardening most of these fail, each reproducing its hole.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::Value;

use crate::util::Run;
use crate::verify::{
    HOUR, History, alice_and_bob, day, exception, exits, expect, result_of, revocation, rooted,
};

/// (verdict, reason) of every object in a JSON report.
fn verdicts(run: &Run) -> BTreeMap<String, (String, String)> {
    run.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["object"].as_str().unwrap_or_default().to_owned(),
                (
                    r["verdict"].as_str().unwrap_or_default().to_owned(),
                    r["reason"].as_str().unwrap_or_default().to_owned(),
                ),
            )
        })
        .collect()
}

/// The current branch's short name.
fn branch(h: &History) -> String {
    h.git(&["symbolic-ref", "--short", "HEAD"])
        .trim()
        .to_owned()
}

/// Replace the first `from` (which must occur) in `text`.
#[track_caller]
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "no {from:?} in {text}");
    text.replacen(from, to, 1)
}

// ---------------------------------------------------------------------------
// R3: exceptions — the tip never vouches for itself

#[test]
fn an_admin_signed_tip_excepting_an_earlier_unsigned_commit_by_full_id_lets_the_chain_pass() {
    // kept: the legitimate use of an exception
    let (h, root) = rooted();
    let unsigned = h.unsigned("unsigned hotfix");
    let after = h.signed("bob", "bob after the hotfix");
    h.policy(
        &["alice", "bob"],
        &exception("INC-7", "bob", "\"dev\"", day(3650), &[&unsigned]),
    );
    let tip = h.signed("alice", "alice excepts the hotfix by its full id");

    let run = h.verify(&[]);
    exits(&run, 0);
    expect(&run, &unsigned, "valid", "unsigned");
    expect(&run, &after, "valid", "authorised");
    expect(&run, &tip, "valid", "authorised");
    expect(&run, &root, "valid", "authorised");
}

#[test]
fn an_exception_by_short_prefix_matches_nothing() {
    // Attack: a commit's id depends on its content, so a tip cannot list its
    // own full id; with prefixes honoured it could list a ground short one
    // (or any commit it cannot know the full id of). Only full ids count, so
    // a prefix of a failing commit's id excepts nothing: the chain stays
    // broken, even under an admin's signature.
    for len in [7, 12, 39] {
        let (h, _) = rooted();
        let unsigned = h.unsigned("unsigned");
        h.policy(
            &["alice", "bob"],
            &exception("INC-7", "bob", "\"dev\"", day(3650), &[&unsigned[..len]]),
        );
        let tip = h.signed("alice", "except by a prefix");

        let run = h.verify(&[]);
        exits(&run, 1);
        let r = result_of(&run, &unsigned);
        assert_eq!(
            (r["verdict"].as_str(), r["reason"].as_str()),
            (Some("unsigned"), Some("unsigned")),
            "a {len}-hex prefix excepted {unsigned}: {r}"
        );
        expect(&run, &tip, "invalid", "broken-chain");
    }
}

#[test]
fn a_failing_tip_cannot_except_an_earlier_commit() {
    // Attack: a tip that fails by its own signature (unsigned; signed by a
    // key no policy knows; signed by a non-admin while changing the policy)
    // carries a signing.toml adding a new admin and an exception for an
    // earlier unsigned commit. Its policy is unauthenticated: the exception
    // counts for nothing, the earlier commit stays failing.
    let variants: [(&str, Option<&str>, &str, &str); 3] = [
        ("unsigned tip", None, "unsigned", "unsigned"),
        (
            "tip by mallory",
            Some("mallory"),
            "invalid",
            "unknown-signer",
        ),
        (
            "tip by bob",
            Some("bob"),
            "invalid",
            "policy-change-without-admin",
        ),
    ];
    for (what, signer, verdict, reason) in variants {
        let (h, _) = rooted();
        h.person("mallory", "sec", &["dev", "prod"]);
        let unsigned = h.unsigned("unsigned");
        h.policy(
            &["alice", "bob", "mallory"],
            &exception("INC-9", "mallory", "\"dev\"", day(3650), &[&unsigned]),
        );
        let tip = match signer {
            None => h.unsigned("adds mallory as an admin and excepts the unsigned commit"),
            Some(who) => h.signed(
                who,
                "adds mallory as an admin and excepts the unsigned commit",
            ),
        };

        let run = h.verify(&[]);
        exits(&run, 1);
        let r = result_of(&run, &unsigned);
        assert_eq!(
            (r["verdict"].as_str(), r["reason"].as_str()),
            (Some("unsigned"), Some("unsigned")),
            "{what}: its exception counted: {}",
            run.stdout
        );
        expect(&run, &tip, verdict, reason);
    }
}

#[test]
fn a_tip_cannot_except_the_unsigned_commit_that_made_its_signer_an_admin() {
    // Attack (the tip vouching for itself through its parent): an unsigned
    // commit adds mallory as an admin; mallory, authorised by that very
    // policy, signs a tip whose exception lists the unsigned commit. Without
    // the rules the whole history verifies: a complete takeover by anyone
    // who can push. The excepted commit changed the policy (exceptions never
    // cover that), and the tip is not valid by its own signature.
    let (h, root) = rooted();
    h.person("mallory", "sec", &["dev", "prod"]);
    h.policy(&["alice", "bob", "mallory"], "");
    let takeover = h.unsigned("unsigned: adds mallory as an admin");
    h.policy(
        &["alice", "bob", "mallory"],
        &exception("INC-1", "mallory", "\"dev\"", day(3650), &[&takeover]),
    );
    let tip = h.signed("mallory", "mallory excepts the commit that admitted her");

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &takeover, "unsigned", "unsigned");
    expect(&run, &tip, "invalid", "broken-chain");
    expect(&run, &root, "valid", "authorised");
}

#[test]
fn an_exception_does_not_cover_a_policy_change() {
    // Attack: an unsigned commit changes signing.toml (Bob's laptop key
    // added, no admin involved); an admin later excepts it as "just an
    // unsigned commit". An exception lets the chain pass an unsigned
    // commit, never an unauthorised policy change.
    let (h, root) = rooted();
    h.person("bob-laptop", "dev", &["dev"]);
    h.policy(&["alice", "bob", "bob-laptop"], "");
    let change = h.unsigned("unsigned: adds bob's laptop key");
    h.policy(
        &["alice", "bob", "bob-laptop"],
        &exception("INC-2", "bob", "\"dev\"", day(3650), &[&change]),
    );
    let tip = h.signed("alice", "alice excepts it");
    let laptop = h.signed("bob-laptop", "from the laptop");

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &change, "unsigned", "unsigned");
    expect(&run, &tip, "invalid", "broken-chain");
    expect(&run, &laptop, "invalid", "broken-chain");
    expect(&run, &root, "valid", "authorised");
}

