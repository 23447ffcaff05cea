//! `sigctl exception add|close|list`: emergency exceptions edited with the
//! file's comments and layout kept, refused on bad input or local changes
//! (the file byte-identical), listed open and past with days left.

use crate::util::Run;
use crate::verify::{History, alice_and_bob, day, rfc3339};

const COMMENTS: &str =
    "\n# incident handling below\n[owners.ops]   # on call\ncontact = \"ops@example.com\"\n";

fn repo() -> History {
    let h = alice_and_bob();
    h.policy(&["alice", "bob"], COMMENTS);
    h.signed("alice", "root");
    h
}

fn sigctl(h: &History, args: &[&str]) -> Run {
    h.repo.sigctl(args)
}

fn add_args(id: &str, expires: &str) -> Vec<String> {
    [
        "exception",
        "add",
        "--id",
        id,
        "--identity",
        "bob",
        "--environment",
        "prod",
        "--owner",
        "sec",
        "--approved-by",
        "sam@example.com",
        "--approved-by",
        "kim@example.com",
        "--reason",
        "hotfix for CVE-1",
        "--expires",
        expires,
        "--now",
        &rfc3339(day(1)),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn run_args(h: &History, args: &[String]) -> Run {
    let v: Vec<&str> = args.iter().map(String::as_str).collect();
    sigctl(h, &v)
}

#[track_caller]
fn refused(h: &History, args: &[String], says: &str) {
    let before = std::fs::read(h.repo.path().join("signing.toml")).expect("policy");
    let run = run_args(h, args);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(run.stderr.contains(says), "{}", run.snapshot());
    assert_eq!(
        before,
        std::fs::read(h.repo.path().join("signing.toml")).expect("policy")
    );
}

#[test]
fn an_exception_is_added_as_a_block_and_closed_in_place_with_comments_kept() {
    let h = repo();
    let old = h.repo.read("signing.toml");
    let run = run_args(&h, &add_args("INC-4711", "7d"));
    assert_eq!(run.code, 0, "{}", run.snapshot());
    assert!(run.stdout.contains("admin: sec (alice)"), "{}", run.stdout);
    let added = h.repo.read("signing.toml");
    assert_eq!(
        added,
        format!(
            "{old}\n[[exceptions]]\nid = \"INC-4711\"\nidentity = \"bob\"\nenvironments = [\"prod\"]\nowner = \"sec\"\n\
             approved_by = [\"sam@example.com\", \"kim@example.com\"]\nreason = \"hotfix for CVE-1\"\nexpires = {}\n",
            rfc3339(day(8))
        )
    );
    assert_eq!(sigctl(&h, &["check", "--now", &rfc3339(day(2))]).code, 0);
    h.at(day(1)).signed("alice", "exception INC-4711");

    // listed as open, with days left
    let list = sigctl(
        &h,
        &[
            "exception",
            "list",
            "--format",
            "json",
            "--now",
            &rfc3339(day(2)),
        ],
    );
    assert_eq!(list.code, 0, "{}", list.snapshot());
    let doc = list.json();
    assert_eq!(doc["exceptions"][0]["state"], "open");
    assert_eq!(doc["exceptions"][0]["days_left"], 6);

    // closing needs a review; with one, expires becomes now and review is recorded
    refused(
        &h,
        &["exception", "close", "INC-4711", "--now", &rfc3339(day(3))].map(str::to_owned),
        "needs its post-event review",
    );
    let close = sigctl(
        &h,
        &[
            "exception",
            "close",
            "INC-4711",
            "--review",
            "https://tracker.example.com/INC-4711",
            "--now",
            &rfc3339(day(3)),
        ],
    );
    assert_eq!(close.code, 0, "{}", close.snapshot());
    let closed = h.repo.read("signing.toml");
    assert_eq!(
        closed,
        added.replace(
            &format!("expires = {}\n", rfc3339(day(8))),
            &format!(
                "expires = {}\nreview = \"https://tracker.example.com/INC-4711\"\n",
                rfc3339(day(3))
            )
        )
    );
    assert_eq!(sigctl(&h, &["check", "--now", &rfc3339(day(4))]).code, 0);
    h.at(day(3)).signed("alice", "close INC-4711");
    // closing again changes nothing
    let again = sigctl(
        &h,
        &["exception", "close", "INC-4711", "--now", &rfc3339(day(4))],
    );
    assert_eq!(again.code, 0, "{}", again.snapshot());
    assert!(again.stdout.contains("already closed"), "{}", again.stdout);
    assert_eq!(closed, h.repo.read("signing.toml"));

    // one open, one past: the human list
    let run = run_args(&h, &add_args("INC-4712", "2026-06-30T00:00:00Z"));
    assert_eq!(run.code, 0, "{}", run.snapshot());
    let list = sigctl(&h, &["exception", "list", "--now", &rfc3339(day(4))]);
    insta::assert_snapshot!("exception_list_human", list.snapshot());
    let md = sigctl(
        &h,
        &[
            "exception",
            "list",
            "--format",
            "markdown",
            "--now",
            &rfc3339(day(4)),
        ],
    );
    assert!(
        md.stdout.contains("| INC-4712 | bob | prod |"),
        "{}",
        md.stdout
    );
}

#[test]
fn bad_input_duplicates_and_local_changes_are_refused_byte_identical() {
    let h = repo();
    assert_eq!(run_args(&h, &add_args("INC-1", "7d")).code, 0);
    h.at(day(1)).signed("alice", "INC-1");
    refused(
        &h,
        &add_args("INC-1", "7d"),
        "an exception with id `INC-1` already exists",
    );
    refused(&h, &add_args("INC-2", "soon"), "invalid expiry `soon`");
    refused(
        &h,
        &add_args("INC-2", "2026-01-01T00:00:00Z"),
        "not in the future",
    );
    let mut unknown = add_args("INC-2", "7d");
    unknown[5] = "carol".into();
    refused(&h, &unknown, "unknown identity `carol`");
    let mut env = add_args("INC-2", "7d");
    env[7] = "staging".into();
    refused(&h, &env, "unknown environment `staging`");
    let mut owner = add_args("INC-2", "7d");
    owner[9] = "nobody".into();
    refused(&h, &owner, "unknown owner `nobody`");
    // a commit that is no full id: check would refuse it, so nothing is written
    let mut commit = add_args("INC-2", "7d");
    commit.extend(["--commit".into(), "abc123".into()]);
    refused(&h, &commit, "would not pass `sigctl check`");
    refused(
        &h,
        &["exception", "close", "INC-9", "--review", "r"].map(str::to_owned),
        "no exception has id `INC-9`",
    );
    // local changes
    let path = h.repo.path().join("signing.toml");
    let mut text = std::fs::read_to_string(&path).expect("policy");
    text.push_str("# scratch\n");
    std::fs::write(&path, text).expect("write");
    refused(&h, &add_args("INC-3", "7d"), "local changes");
    // list still reads a policy with local changes
    assert_eq!(sigctl(&h, &["exception", "list"]).code, 0);
}
