//! `sigctl verify`: histories made by the real git and signed with SSH keys
//! that `ssh-keygen` makes in the test, judged against the rules of
//! PRODUCT.md ("Verification semantics").
//!
//! One test per rule, the rejected case first. Each asserts the verdict and
//! reason of the offending object in the JSON report and the exit code; a few
//! snapshot the human report with object ids replaced by commit messages.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use sigctl::policy::timestamp::Timestamp;
use sigctl::signature::ssh;

use crate::util::{Run, TestRepo, redact};

/// The first commit of every history: 2026-06-01T00:00:00Z.
pub(crate) const START: i64 = time::macros::datetime!(2026-06-01 0:00 UTC).unix_timestamp();
pub(crate) const HOUR: i64 = 3_600;
pub(crate) const DAY: i64 = 86_400;

/// `START` plus `n` days.
pub(crate) fn day(n: i64) -> i64 {
    START + n * DAY
}

/// RFC 3339, as signing.toml takes it.
pub(crate) fn rfc3339(t: i64) -> String {
    Timestamp(time::OffsetDateTime::from_unix_timestamp(t).expect("a valid instant")).to_string()
}

/// Everything in a policy but its identities: `sec` administers it, `dev`
/// signs branches, only prod identities sign `v*` tags.
pub(crate) const POLICY_HEAD: &str = r#"version = 1

[policy]
admins = ["sec"]

[owners.sec]
contact = "sec@example.com"

[owners.dev]
contact = "dev@example.com"

[environments.dev]
refs = ["refs/heads/*"]
custody = ["unmanaged"]

[environments.prod]
refs = ["refs/tags/v*"]
custody = ["unmanaged"]
"#;

/// A person with an SSH key (the key is in HOME, never in the repository).
pub(crate) struct Person {
    pub(crate) owner: String,
    pub(crate) environments: Vec<String>,
    pub(crate) private_key: PathBuf,
    pub(crate) public_key: String,
}

/// A repository whose history the test writes commit by commit, at a clock it
/// controls (one hour per commit unless `at` says otherwise).
pub(crate) struct History {
    pub(crate) repo: TestRepo,
    pub(crate) people: RefCell<BTreeMap<String, Person>>,
    pub(crate) now: Cell<i64>,
    /// (object id, label) for every commit and tag made, for `scrub`.
    pub(crate) labels: RefCell<Vec<(String, String)>>,
}

impl History {
    pub(crate) fn new() -> Self {
        Self {
            repo: TestRepo::new(),
            people: RefCell::default(),
            now: Cell::new(START),
            labels: RefCell::default(),
        }
    }

    /// A person with a new ed25519 key.
    pub(crate) fn person(&self, name: &str, owner: &str, environments: &[&str]) -> &Self {
        self.keygen(name, owner, environments, &["-t", "ed25519"])
    }

    /// A person with a new ECDSA P-256 key.
    pub(crate) fn person_ecdsa(&self, name: &str, owner: &str, environments: &[&str]) -> &Self {
        self.keygen(name, owner, environments, &["-t", "ecdsa", "-b", "256"])
    }

    pub(crate) fn keygen(
        &self,
        name: &str,
        owner: &str,
        environments: &[&str],
        kind: &[&str],
    ) -> &Self {
        let private_key = self.repo.home().join(name);
        let out = Command::new("ssh-keygen")
            .args(["-q", "-N", "", "-C", name, "-f"])
            .arg(&private_key)
            .args(kind)
            .env("HOME", self.repo.home())
            .output()
            .expect("ssh-keygen runs");
        assert!(
            out.status.success(),
            "ssh-keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let public_key = std::fs::read_to_string(private_key.with_extension("pub"))
            .expect("the public key")
            .trim()
            .to_owned();
        self.people.borrow_mut().insert(
            name.to_owned(),
            Person {
                owner: owner.to_owned(),
                environments: environments.iter().map(|e| (*e).to_owned()).collect(),
                private_key,
                public_key,
            },
        );
        self
    }

    pub(crate) fn public_key(&self, name: &str) -> String {
        self.people.borrow()[name].public_key.clone()
    }

    /// The policy listing the identities `names` (their keys), then `extra`.
    pub(crate) fn policy_text(&self, names: &[&str], extra: &str) -> String {
        let people = self.people.borrow();
        let mut s = POLICY_HEAD.to_owned();
        for name in names {
            let p = &people[*name];
            let envs: Vec<String> = p.environments.iter().map(|e| format!("{e:?}")).collect();
            s.push_str(&format!(
                "\n[identities.{name}]\nowner = {:?}\nenvironments = [{}]\ncustody = \"unmanaged\"\nssh_key = {:?}\n",
                p.owner,
                envs.join(", "),
                p.public_key
            ));
        }
        s.push_str(extra);
        s
    }

    /// Write signing.toml (staged by the next commit).
    pub(crate) fn policy(&self, names: &[&str], extra: &str) -> &Self {
        self.repo
            .write("signing.toml", self.policy_text(names, extra));
        self
    }

    /// The time of the next commit or tag.
    pub(crate) fn at(&self, t: i64) -> &Self {
        self.now.set(t);
        self
    }

    /// git at the history's clock; stdout.
    pub(crate) fn git(&self, args: &[&str]) -> String {
        self.git_stdin(args, None)
    }

    pub(crate) fn git_stdin(&self, args: &[&str], input: Option<&[u8]>) -> String {
        use std::io::Write;
        let date = format!("{} +0000", self.now.get());
        let mut child = Command::new("git")
            .args(args)
            .current_dir(self.repo.path())
            .env("HOME", self.repo.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("NO_COLOR", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("git runs");
        let mut stdin = child.stdin.take().expect("stdin");
        if let Some(input) = input {
            stdin.write_all(input).expect("write stdin");
        }
        drop(stdin);
        let out = child.wait_with_output().expect("git finishes");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `-c` options that make git sign with `who`'s SSH key.
    pub(crate) fn signing(&self, who: &str) -> [String; 4] {
        let key = self.people.borrow()[who].private_key.display().to_string();
        [
            "-c".into(),
            "gpg.format=ssh".into(),
            "-c".into(),
            format!("user.signingkey={key}"),
        ]
    }

    /// Stage everything and commit, signed by `who`; the new commit id.
    pub(crate) fn signed(&self, who: &str, msg: &str) -> String {
        self.git(&["add", "-A"]);
        let sign = self.signing(who);
        let mut args: Vec<&str> = sign.iter().map(String::as_str).collect();
        args.extend(["commit", "-q", "-S", "--allow-empty", "-m", msg]);
        self.git(&args);
        self.made("HEAD", msg)
    }

    /// Stage everything and commit without a signature.
    pub(crate) fn unsigned(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.made("HEAD", msg)
    }

    /// Merge `branch` into the current branch with a merge commit signed by `who`.
    pub(crate) fn signed_merge(&self, who: &str, branch: &str, msg: &str) -> String {
        let sign = self.signing(who);
        let mut args: Vec<&str> = sign.iter().map(String::as_str).collect();
        args.extend(["merge", "-q", "--no-ff", "-S", "-m", msg, branch]);
        self.git(&args);
        self.made("HEAD", msg)
    }

    /// An annotated tag at HEAD, signed by `who` (unsigned for `None`); the tag object id.
    pub(crate) fn tag(&self, who: Option<&str>, name: &str) -> String {
        let msg = format!("release {name}");
        match who {
            Some(who) => {
                let sign = self.signing(who);
                let mut args: Vec<&str> = sign.iter().map(String::as_str).collect();
                args.extend(["tag", "-s", name, "-m", &msg]);
                self.git(&args);
            }
            None => {
                self.git(&["tag", "-a", name, "-m", &msg]);
            }
        }
        self.made(&format!("refs/tags/{name}"), &format!("tag {name}"))
    }

    pub(crate) fn made(&self, rev: &str, label: &str) -> String {
        let id = self.git(&["rev-parse", rev]).trim().to_owned();
        self.labels
            .borrow_mut()
            .push((id.clone(), label.to_owned()));
        self.now.set(self.now.get() + HOUR);
        id
    }

    /// Write a raw commit object and point `refs/heads/<branch>` at it.
    pub(crate) fn forge(&self, raw: &str, branch: &str, label: &str) -> String {
        let id = self
            .git_stdin(
                &[
                    "hash-object",
                    "-t",
                    "commit",
                    "-w",
                    "--literally",
                    "--stdin",
                ],
                Some(raw.as_bytes()),
            )
            .trim()
            .to_owned();
        self.git(&["update-ref", &format!("refs/heads/{branch}"), &id]);
        self.labels
            .borrow_mut()
            .push((id.clone(), label.to_owned()));
        id
    }

    /// `sigctl verify ARGS --format json`.
    pub(crate) fn verify(&self, args: &[&str]) -> Run {
        let mut all = vec!["verify"];
        all.extend(args);
        all.extend(["--format", "json"]);
        let run = self.repo.sigctl(&all);
        assert!(
            run.code == 0 || run.code == 1,
            "verify {args:?} neither passed nor failed: {}",
            run.snapshot()
        );
        run
    }

    /// `sigctl verify ARGS`, human report, ids replaced by labels.
    pub(crate) fn verify_human(&self, args: &[&str]) -> String {
        let mut all = vec!["verify"];
        all.extend(args);
        self.scrub(&self.repo.sigctl(&all).snapshot())
    }

    /// Temp paths and object ids (full, or the 12-digit abbreviation) replaced.
    pub(crate) fn scrub(&self, s: &str) -> String {
        let mut s = redact(s, &self.repo);
        for (id, label) in self.labels.borrow().iter() {
            s = s
                .replace(id.as_str(), &format!("<{label}>"))
                .replace(&id[..12], &format!("<{label}>"));
        }
        s
    }
}

/// The one result for `id`.
#[track_caller]
pub(crate) fn result_of(run: &Run, id: &str) -> Value {
    let doc = run.json();
    let hits: Vec<Value> = doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["object"] == id)
        .cloned()
        .collect();
    assert_eq!(hits.len(), 1, "one result for {id}: {}", run.stdout);
    hits.into_iter().next().expect("one result")
}

/// Assert the verdict and reason of `id`; its result.
#[track_caller]
pub(crate) fn expect(run: &Run, id: &str, verdict: &str, reason: &str) -> Value {
    let r = result_of(run, id);
    assert_eq!(
        (r["verdict"].as_str(), r["reason"].as_str()),
        (Some(verdict), Some(reason)),
        "{id}: {}",
        run.stdout
    );
    r
}

#[track_caller]
pub(crate) fn exits(run: &Run, code: i32) {
    assert_eq!(run.code, code, "{}", run.snapshot());
    assert!(run.stderr.is_empty(), "{}", run.snapshot());
    assert_eq!(run.json()["ok"], code == 0, "{}", run.stdout);
}

/// Alice administers (owner `sec`, dev and prod); Bob develops (owner `dev`, dev only).
pub(crate) fn alice_and_bob() -> History {
    let h = History::new();
    h.person("alice", "sec", &["dev", "prod"])
        .person("bob", "dev", &["dev"]);
    h
}

/// A history whose root (signed by Alice) lists Alice and Bob.
pub(crate) fn rooted() -> (History, String) {
    let h = alice_and_bob();
    h.policy(&["alice", "bob"], "");
    let root = h.signed("alice", "root");
    (h, root)
}

pub(crate) fn exception(
    id: &str,
    identity: &str,
    envs: &str,
    expires: i64,
    commits: &[&str],
) -> String {
    let commits: Vec<String> = commits.iter().map(|c| format!("{c:?}")).collect();
    format!(
        "\n[[exceptions]]\nid = {id:?}\nidentity = {identity:?}\nenvironments = [{envs}]\nowner = \"sec\"\n\
         approved_by = [\"sam@example.com\"]\nreason = \"audited\"\nexpires = {}\ncommits = [{}]\n",
        rfc3339(expires),
        commits.join(", ")
    )
}

pub(crate) fn revocation(
    identity: &str,
    reason: &str,
    revoked_at: i64,
    since: Option<i64>,
) -> String {
    let mut s = format!(
        "\n[[revocations]]\nidentity = {identity:?}\nreason = {reason:?}\nrevoked_at = {}\n",
        rfc3339(revoked_at)
    );
    if let Some(since) = since {
        s.push_str(&format!("compromised_since = {}\n", rfc3339(since)));
    }
    s
}

/// The (signature, payload) of a raw commit as git hands them to the
/// signature program: the `gpgsig` header (continuations unindented), and
/// the object without it.
pub(crate) fn split_commit(raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut sig, mut payload) = (Vec::new(), Vec::new());
    let (mut in_header, mut in_sig) = (true, false);
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if in_header {
            if line == b"\n" {
                in_header = false;
            } else if let Some(first) = line.strip_prefix(b"gpgsig ") {
                in_sig = true;
                sig.extend_from_slice(first);
                continue;
            } else if in_sig && line.starts_with(b" ") {
                sig.extend_from_slice(&line[1..]);
                continue;
            }
            in_sig = false;
        }
        payload.extend_from_slice(line);
    }
    (sig, payload)
}

/// A raw commit with its `gpgsig` header (all lines) replaced by `with(header)`.
pub(crate) fn replace_gpgsig(raw: &str, with: impl Fn(&str) -> String) -> String {
    let start = raw.find("\ngpgsig ").expect("a gpgsig header") + 1;
    let mut end = start;
    for (i, line) in raw[start..].split_inclusive('\n').enumerate() {
        if i > 0 && !line.starts_with(' ') {
            break;
        }
        end += line.len();
    }
    format!("{}{}{}", &raw[..start], with(&raw[start..end]), &raw[end..])
}

// ---------------------------------------------------------------------------
// the chain

#[test]
fn an_unsigned_commit_breaks_the_chain_until_an_exception_at_the_tip_lists_it() {
    let (h, root) = rooted();
    let unsigned = h.unsigned("unsigned");
    let after = h.signed("alice", "after");

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &unsigned, "unsigned", "unsigned");
    let r = expect(&run, &after, "invalid", "broken-chain");
    assert!(
        r["message"]
            .as_str()
            .is_some_and(|m| m.contains(&unsigned[..12])),
        "broken-chain names the first failing ancestor: {r}"
    );
    expect(&run, &root, "valid", "authorised");
    insta::assert_snapshot!("unsigned_breaks_the_chain", h.verify_human(&[]));

    // Alice (an admin) lists the unsigned commit in an exception at the tip
    h.policy(
        &["alice", "bob"],
        &exception("INC-7", "bob", "\"dev\"", day(365), &[&unsigned]),
    );
    let excepting = h.signed("alice", "except the unsigned commit");
    let run = h.verify(&[]);
    exits(&run, 0);
    let r = expect(&run, &unsigned, "valid", "unsigned");
    assert!(
        r["message"]
            .as_str()
            .is_some_and(|m| m.contains("exception")),
        "{r}"
    );
    expect(&run, &after, "valid", "authorised");
    expect(&run, &excepting, "valid", "authorised");
}

#[test]
fn an_exception_for_a_commit_counts_only_at_the_tip() {
    let (h, _) = rooted();
    let unsigned = h.unsigned("unsigned");
    h.policy(
        &["alice", "bob"],
        &exception("INC-7", "bob", "\"dev\"", day(365), &[&unsigned]),
    );
    let excepting = h.signed("alice", "except the unsigned commit");
    // the tip withdraws the exception: the chain is broken again
    h.policy(&["alice", "bob"], "");
    let withdrawn = h.signed("alice", "withdraw the exception");

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &unsigned, "unsigned", "unsigned");
    expect(&run, &excepting, "invalid", "broken-chain");
    expect(&run, &withdrawn, "invalid", "broken-chain");

    let run = h.verify(&[&excepting]);
    exits(&run, 0);
}

#[test]
fn a_key_outside_the_policy_is_an_unknown_signer() {
    let (h, root) = rooted();
    h.person("mallory", "dev", &["dev"]);
    let forged = h.signed("mallory", "by mallory");

    let run = h.verify(&[]);
    exits(&run, 1);
    let r = expect(&run, &forged, "invalid", "unknown-signer");
    assert_eq!(r["identity"], Value::Null, "{r}");

    h.git(&["reset", "-q", "--hard", &root]);
    let good = h.signed("bob", "by bob");
    let run = h.verify(&[]);
    exits(&run, 0);
    let r = expect(&run, &good, "valid", "authorised");
    assert_eq!(r["identity"], "bob", "{r}");
}

#[test]
fn a_policy_change_must_be_signed_by_an_admins_identity() {
    let (h, root) = rooted();
    h.person("bob-laptop", "dev", &["dev"]);

    // Bob (owner dev, not an admin) adds a second key of his own
    h.policy(&["alice", "bob", "bob-laptop"], "");
    let by_bob = h.signed("bob", "bob adds his laptop key");
    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &by_bob, "invalid", "policy-change-without-admin");

    // nor may he delete the policy
    h.git(&["reset", "-q", "--hard", &root]);
    h.git(&["rm", "-q", "signing.toml"]);
    let deleted = h.signed("bob", "bob deletes the policy");
    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &deleted, "invalid", "policy-change-without-admin");

    // Alice (owner sec, an admin) may, and the new key then signs
    h.git(&["reset", "-q", "--hard", &root]);
    h.policy(&["alice", "bob", "bob-laptop"], "");
    let by_alice = h.signed("alice", "alice adds bob's laptop key");
    let laptop = h.signed("bob-laptop", "from the laptop");
    let run = h.verify(&[]);
    exits(&run, 0);
    expect(&run, &by_alice, "valid", "authorised");
    let r = expect(&run, &laptop, "valid", "authorised");
    assert_eq!(r["identity"], "bob-laptop", "{r}");
}

#[test]
fn a_signer_added_by_the_commit_it_signs_is_unknown() {
    let h = alice_and_bob();
    h.person("dave", "sec", &["dev", "prod"]);
    h.policy(&["alice", "bob"], "");
    let root = h.signed("alice", "root");

    // the policy at the parent lacks Dave, even though his own commit adds him as an admin
    h.policy(&["alice", "bob", "dave"], "");
    let himself = h.signed("dave", "dave adds himself");
    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &himself, "invalid", "unknown-signer");

    h.git(&["reset", "-q", "--hard", &root]);
    h.policy(&["alice", "bob", "dave"], "");
    let added = h.signed("alice", "alice adds dave");
    let by_dave = h.signed("dave", "dave's first commit");
    let run = h.verify(&[]);
    exits(&run, 0);
    expect(&run, &added, "valid", "authorised");
    expect(&run, &by_dave, "valid", "authorised");
}

#[test]
fn a_policy_that_is_deleted_vouches_for_nothing() {
    let (h, _) = rooted();
    h.git(&["rm", "-q", "signing.toml"]);
    let deleted = h.signed("alice", "alice deletes the policy");
    let next = h.signed("alice", "after the policy");

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &next, "invalid", "no-policy");
    expect(&run, &deleted, "valid", "authorised");
}

// ---------------------------------------------------------------------------
// revocations

#[test]
fn a_key_compromise_revokes_retroactively_by_signing_time() {
    let (h, root) = rooted();
    let before = h.at(day(10)).signed("bob", "bob before the theft");
    let stolen = h.at(day(25)).signed("bob", "signed with the stolen key");
    // before anyone knows, the stolen key's commit passes
    let run = h.verify(&[]);
    exits(&run, 0);
    expect(&run, &stolen, "valid", "authorised");

    // on day 32 Alice revokes Bob's key, compromised since day 20
    h.policy(
        &["alice", "bob"],
        &revocation("bob", "key-compromise", day(32), Some(day(20))),
    );
    let revoking = h.at(day(32)).signed("alice", "revoke bob");
    let run = h.verify(&[]);
    exits(&run, 1);
    let r = expect(&run, &stolen, "invalid", "revoked-key");
    assert!(
        r["message"]
            .as_str()
            .is_some_and(|m| m.contains(&rfc3339(day(20)))),
        "{r}"
    );
    let r = expect(&run, &revoking, "invalid", "broken-chain");
    assert!(
        r["message"]
            .as_str()
            .is_some_and(|m| m.contains(&stolen[..12])),
        "{r}"
    );
    expect(&run, &before, "valid", "authorised");
    expect(&run, &root, "valid", "authorised");
}

#[test]
fn a_back_dated_signature_after_the_revocation_landed_is_refused() {
    let (h, _) = rooted();
    let before = h.at(day(10)).signed("bob", "bob before the theft");
    h.policy(
        &["alice", "bob"],
        &revocation("bob", "key-compromise", day(32), Some(day(20))),
    );
    let revoking = h.at(day(32)).signed("alice", "revoke bob");
    // made after the revocation landed, claiming day 15 (before compromised_since)
    let backdated = h.at(day(15)).signed("bob", "back-dated by the thief");

    let run = h.verify(&[]);
    exits(&run, 1);
    let r = expect(&run, &backdated, "invalid", "revoked-key");
    assert!(
        r["message"]
            .as_str()
            .is_some_and(|m| m.contains("already revoked")),
        "refused by the parent's revocation, not by its claimed time: {r}"
    );
    expect(&run, &revoking, "valid", "authorised");
    expect(&run, &before, "valid", "authorised");
}

#[test]
fn a_superseded_key_is_revoked_from_revoked_at_and_a_removed_one_is_not_retroactive() {
    let (h, _) = rooted();
    let early = h.at(day(10)).signed("bob", "bob on day 10");
    let late = h.at(day(25)).signed("bob", "bob on day 25");
    h.policy(
        &["alice", "bob"],
        &revocation("bob", "superseded", day(30), None),
    );
    h.at(day(30)).signed("alice", "bob's key superseded");
    let after = h.at(day(35)).signed("bob", "bob on day 35");

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &after, "invalid", "revoked-key");
    expect(&run, &early, "valid", "authorised");
    expect(&run, &late, "valid", "authorised");

    // removing Bob: what he signed while listed stays valid, nothing after
    let (h, _) = rooted();
    let listed = h.at(day(10)).signed("bob", "bob while listed");
    h.policy(&["alice"], "");
    let removal = h.at(day(20)).signed("alice", "remove bob");
    let unlisted = h.at(day(25)).signed("bob", "bob after removal");
    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &unlisted, "invalid", "unknown-signer");
    expect(&run, &listed, "valid", "authorised");
    expect(&run, &removal, "valid", "authorised");
}

#[test]
fn a_refusal_by_signing_time_reports_the_time_it_judged() {
    let (h, _) = rooted();
    let stolen = h.at(day(25)).signed("bob", "signed with the stolen key");
    h.policy(
        &["alice", "bob"],
        &revocation("bob", "key-compromise", day(32), Some(day(20))),
    );
    h.at(day(32)).signed("alice", "revoke bob");

    let run = h.verify(&[]);
    exits(&run, 1);
    let r = expect(&run, &stolen, "invalid", "revoked-key");
    // PRODUCT.md: the signing time used for revocation "is the best available
    // of …; the report says which one was used"
    assert_eq!(
        (&r["signed_at"], &r["time_source"]),
        (
            &Value::from(rfc3339(day(25))),
            &Value::from("committer date (untrusted)")
        ),
        "{r}"
    );
}

#[test]
fn revocations_at_the_tip_apply_whichever_order_the_refs_are_named_in() {
    let (h, _) = rooted();
    let stolen = h.at(day(25)).signed("bob", "signed with the stolen key");
    h.tag(Some("alice"), "v1.0");
    h.policy(
        &["alice", "bob"],
        &revocation("bob", "key-compromise", day(32), Some(day(20))),
    );
    h.at(day(32)).signed("alice", "revoke bob");

    let run = h.verify(&["main", "v1.0"]);
    exits(&run, 1);
    expect(&run, &stolen, "invalid", "revoked-key");

    let run = h.verify(&["v1.0", "main"]);
    exits(&run, 1);
    expect(&run, &stolen, "invalid", "revoked-key");
}

// ---------------------------------------------------------------------------
// environments

#[test]
fn a_dev_identity_cannot_sign_a_release_tag() {
    let (h, root) = rooted();
    let by_bob = h.tag(Some("bob"), "v1.0");
    let run = h.verify(&["v1.0"]);
    exits(&run, 1);
    let r = expect(&run, &by_bob, "invalid", "wrong-environment");
    assert_eq!(r["kind"], "tag", "{r}");
    expect(&run, &root, "valid", "authorised");
    insta::assert_snapshot!("dev_identity_signs_release_tag", h.verify_human(&["v1.0"]));

    let unsigned = h.tag(None, "v1.1");
    let run = h.verify(&["v1.1"]);
    exits(&run, 1);
    expect(&run, &unsigned, "unsigned", "unsigned");

    let by_alice = h.tag(Some("alice"), "v1.2");
    let run = h.verify(&["v1.2"]);
    exits(&run, 0);
    let r = expect(&run, &by_alice, "valid", "authorised");
    assert_eq!(
        (&r["kind"], &r["identity"]),
        (&Value::from("tag"), &Value::from("alice")),
        "{r}"
    );
}

#[test]
fn a_lightweight_tag_in_a_release_environment_is_not_a_signed_release() {
    let (h, _) = rooted();
    h.signed("bob", "bob's work");
    // no tag object, so nothing that could be signed by a prod identity
    h.git(&["tag", "v2.0"]);
    let run = h.verify(&["v2.0"]);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(
        run.json()["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(|r| r["verdict"] != "valid"),
        "{}",
        run.stdout
    );

    h.tag(Some("alice"), "v2.1");
    exits(&h.verify(&["v2.1"]), 0);
}

#[test]
fn a_branch_needs_identities_of_its_environment_unless_an_unexpired_exception_stands_in() {
    let h = alice_and_bob();
    h.person("release", "sec", &["prod"]);
    h.policy(&["alice", "bob", "release"], "");
    let root = h.signed("alice", "root");
    let on_main = h.signed("release", "release identity on a branch");
    let run = h.verify(&["main"]);
    exits(&run, 1);
    expect(&run, &on_main, "invalid", "wrong-environment");

    // an exception in the parent policy that expired before the signature
    h.git(&["reset", "-q", "--hard", &root]);
    h.policy(
        &["alice", "bob", "release"],
        &exception("INC-8", "release", "\"dev\"", day(5), &[]),
    );
    h.at(day(1)).signed("alice", "expiring exception");
    let expired = h
        .at(day(6))
        .signed("release", "after the exception expired");
    let run = h.verify(&["main"]);
    exits(&run, 1);
    expect(&run, &expired, "invalid", "wrong-environment");

    h.git(&["reset", "-q", "--hard", &root]);
    h.policy(
        &["alice", "bob", "release"],
        &exception("INC-8", "release", "\"dev\"", day(365), &[]),
    );
    h.at(day(1)).signed("alice", "exception");
    let excepted = h.at(day(6)).signed("release", "under the exception");
    let run = h.verify(&["main"]);
    exits(&run, 0);
    expect(&run, &excepted, "valid", "authorised");
}

#[test]
fn the_most_specific_ref_pattern_decides_a_branchs_environment() {
    let h = History::new();
    h.person("alice", "sec", &["dev", "prod", "release-branches"])
        .person("bob", "dev", &["dev"])
        .person("release", "sec", &["prod", "release-branches"]);
    let policy = h.policy_text(&["alice", "bob", "release"], "").replacen(
        "[environments.prod]",
        "[environments.release-branches]\nrefs = [\"refs/heads/release/*\"]\ncustody = [\"unmanaged\"]\n\n[environments.prod]",
        1,
    );
    h.repo.write("signing.toml", policy);
    h.signed("alice", "root");
    h.git(&["checkout", "-q", "-b", "release/1.x"]);
    let by_bob = h.signed("bob", "bob on a release branch");
    let run = h.verify(&["release/1.x"]);
    exits(&run, 1);
    expect(&run, &by_bob, "invalid", "wrong-environment");

    h.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let by_release = h.signed("release", "release on a release branch");
    let run = h.verify(&["release/1.x"]);
    exits(&run, 0);
    expect(&run, &by_release, "valid", "authorised");
}

#[test]
fn a_ref_in_no_environment_gets_the_base_rule_and_a_warning() {
    let h = alice_and_bob();
    let policy = h.policy_text(&["alice", "bob"], "").replacen(
        "refs = [\"refs/heads/*\"]",
        "refs = [\"refs/heads/main\"]",
        1,
    );
    h.repo.write("signing.toml", policy);
    h.signed("alice", "root");
    h.git(&["checkout", "-q", "-b", "topic"]);
    h.signed("bob", "topic");
    let warned = |run: &Run, refname: &str| {
        run.json()["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains(refname)))
    };
    let run = h.verify(&["topic", "--no-cache"]);
    exits(&run, 0);
    assert!(warned(&run, "refs/heads/topic"), "{}", run.stdout);

    // a remote-tracking ref matches no environment either
    h.git(&["update-ref", "refs/remotes/origin/topic", "topic"]);
    let run = h.verify(&["origin/topic", "--no-cache"]);
    exits(&run, 0);
    assert!(warned(&run, "refs/remotes/origin/topic"), "{}", run.stdout);
}

#[test]
fn an_environment_that_requires_trusted_time_refuses_ssh_signatures() {
    let h = alice_and_bob();
    let policy = h.policy_text(&["alice", "bob"], "").replacen(
        "refs = [\"refs/tags/v*\"]\ncustody = [\"unmanaged\"]\n",
        "refs = [\"refs/tags/v*\"]\ncustody = [\"unmanaged\"]\nrequire_trusted_time = true\n",
        1,
    );
    assert!(policy.contains("require_trusted_time"));
    h.repo.write("signing.toml", policy);
    let root = h.signed("alice", "root");
    let tag = h.tag(Some("alice"), "v1.0");

    let run = h.verify(&["v1.0"]);
    exits(&run, 1);
    expect(&run, &tag, "invalid", "untrusted-time");
    // dev does not require it
    expect(&run, &root, "valid", "authorised");
    exits(&h.verify(&["main"]), 0);
}

// ---------------------------------------------------------------------------
// forged objects and histories

#[test]
fn a_changed_payload_under_a_valid_signature_is_a_bad_signature() {
    let (h, _) = rooted();
    let genuine = h.signed("alice", "ship 1.0");
    let raw = h.git(&["cat-file", "commit", &genuine]);
    let changed = raw.replacen("ship 1.0", "ship 2.0", 1);
    assert_ne!(raw, changed);
    let tampered = h.forge(&changed, "main", "tampered");
    assert_eq!(
        split_commit(raw.as_bytes()).0,
        split_commit(changed.as_bytes()).0,
        "the same signature"
    );

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &tampered, "invalid", "bad-signature");

    let run = h.verify(&[&genuine]);
    exits(&run, 0);
    expect(&run, &genuine, "valid", "authorised");
}

#[test]
fn duplicated_or_garbage_signature_headers_are_refused_without_a_panic() {
    let (h, _) = rooted();
    let genuine = h.signed("alice", "genuine");
    let raw = h.git(&["cat-file", "commit", &genuine]);
    let armour = |body: &str| {
        format!("gpgsig -----BEGIN SSH SIGNATURE-----\n {body}\n -----END SSH SIGNATURE-----\n")
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "duplicated",
            replace_gpgsig(&raw, |sig| format!("{sig}{sig}")),
            "bad-signature",
        ),
        (
            // no armour sigctl reads: unsupported (still refused)
            "garbage",
            replace_gpgsig(&raw, |_| "gpgsig garbage\n".into()),
            "unsupported-signature",
        ),
        (
            "bad-base64",
            replace_gpgsig(&raw, |_| armour("!!not base64!!")),
            "bad-signature",
        ),
        (
            // "SSHSIG", version 1, then a key length far past the end
            "truncated",
            replace_gpgsig(&raw, |_| armour("U1NIU0lHAAAAAf////8=")),
            "bad-signature",
        ),
        (
            "empty-armour",
            replace_gpgsig(&raw, |_| armour("")),
            "bad-signature",
        ),
        (
            "openpgp",
            replace_gpgsig(&raw, |_| {
                "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEz\n -----END PGP SIGNATURE-----\n"
                    .into()
            }),
            "bad-signature",
        ),
    ];
    for (name, forged, reason) in cases {
        assert_ne!(forged, raw, "{name}");
        let id = h.forge(&forged, name, name);
        let run = h.verify(&[name]);
        assert_eq!(run.code, 1, "{name}: {}", run.snapshot());
        assert!(run.stderr.is_empty(), "{name}: {}", run.snapshot());
        expect(&run, &id, "invalid", reason);
    }
}

#[test]
fn a_signature_made_for_another_namespace_is_a_bad_signature() {
    let (h, _) = rooted();
    let genuine = h.signed("alice", "genuine");
    let raw = h.git(&["cat-file", "commit", &genuine]);
    let (_, payload) = split_commit(raw.as_bytes());
    let resign = |namespace: &str| -> String {
        let key = h.people.borrow()["alice"].private_key.clone();
        let mut child = Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", namespace, "-f"])
            .arg(&key)
            .env("HOME", h.repo.home())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ssh-keygen runs");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(&payload).expect("write stdin");
        }
        let out = child.wait_with_output().expect("ssh-keygen finishes");
        assert!(
            out.status.success(),
            "ssh-keygen -Y sign: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sig = String::from_utf8(out.stdout).expect("armoured");
        let header = format!("gpgsig {}\n", sig.trim_end().replace('\n', "\n "));
        replace_gpgsig(&raw, |_| header.clone())
    };
    // Alice's own signature over this very commit, but for `file`, not `git`
    let other = h.forge(&resign("file"), "file-namespace", "file namespace");
    let run = h.verify(&["file-namespace"]);
    exits(&run, 1);
    expect(&run, &other, "invalid", "bad-signature");

    // the same, made for `git`, is what git itself makes
    let same = h.forge(&resign("git"), "git-namespace", "git namespace");
    assert_eq!(same, genuine, "ssh-keygen -Y sign -n git is what git ran");
    let run = h.verify(&["git-namespace"]);
    exits(&run, 0);
    expect(&run, &same, "valid", "authorised");
}

#[test]
fn history_from_a_foreign_root_is_refused_against_a_pinned_trust_root() {
    let (h, root) = rooted();
    h.signed("bob", "real work");
    // a rewritten history: same policy, same signer, another root
    h.git(&["checkout", "-q", "--orphan", "rewritten"]);
    let foreign = h.signed("alice", "foreign root");
    let foreign_child = h.signed("alice", "foreign child");

    let run = h.verify(&["rewritten", "--trust-root", &root]);
    exits(&run, 1);
    let doc = run.json();
    assert_eq!(
        (&doc["trust_root"], &doc["trust_root_pinned"]),
        (&Value::from(root.as_str()), &Value::Bool(true)),
        "{}",
        run.stdout
    );
    expect(&run, &foreign, "invalid", "foreign-history");
    let r = expect(&run, &foreign_child, "invalid", "broken-chain");
    assert!(
        r["message"]
            .as_str()
            .is_some_and(|m| m.contains(&foreign[..12])),
        "{r}"
    );
    insta::assert_snapshot!(
        "foreign_history",
        h.verify_human(&["rewritten", "--trust-root", &root])
    );

    // pinned in git config, the same
    h.git(&["config", "sigctl.trustRoot", &root]);
    let run = h.verify(&["rewritten"]);
    exits(&run, 1);
    expect(&run, &foreign, "invalid", "foreign-history");

    // the real history passes against the pin
    let run = h.verify(&["main"]);
    exits(&run, 0);
    assert_eq!(run.json()["trust_root_pinned"], true);

    // unpinned, the rewritten root is found by walking, with a warning saying so
    h.git(&["config", "--unset", "sigctl.trustRoot"]);
    let run = h.verify(&["rewritten"]);
    exits(&run, 0);
    let doc = run.json();
    assert_eq!(doc["trust_root"], foreign.as_str());
    assert_eq!(doc["trust_root_pinned"], false);
    assert!(
        doc["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("--trust-root")),
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------
// merges

#[test]
fn a_merge_is_authorised_by_the_policy_of_any_parent() {
    let h = alice_and_bob();
    h.person_ecdsa("carol", "dev", &["dev"])
        .person("mallory", "dev", &["dev"]);
    h.policy(&["alice", "bob"], "");
    h.signed("alice", "root");
    h.git(&["checkout", "-q", "-b", "a"]);
    h.policy(&["alice", "bob", "carol"], "");
    let added = h.signed("alice", "a: alice adds carol");
    h.git(&["checkout", "-q", "main"]);
    h.repo.write("work.txt", "b\n");
    let work = h.signed("bob", "b: bob's work");

    // a key in neither parent's policy
    h.git(&["checkout", "-q", "-b", "bad-merge"]);
    let bad = h.signed_merge("mallory", "a", "merge by mallory");
    let run = h.verify(&["bad-merge"]);
    exits(&run, 1);
    expect(&run, &bad, "invalid", "unknown-signer");
    expect(&run, &added, "valid", "authorised");
    expect(&run, &work, "valid", "authorised");

    // Carol (ECDSA P-256) is in parent a's policy only: enough
    h.git(&["checkout", "-q", "-b", "good-merge", &work]);
    let good = h.signed_merge("carol", "a", "merge by carol");
    let run = h.verify(&["good-merge"]);
    exits(&run, 0);
    let r = expect(&run, &good, "valid", "authorised");
    assert_eq!(r["identity"], "carol", "{r}");
}

#[test]
fn a_merge_of_a_signed_tag_keeps_the_mergetag_in_the_signed_payload() {
    let (h, _) = rooted();
    h.git(&["checkout", "-q", "-b", "topic"]);
    h.repo.write("topic.txt", "topic\n");
    h.signed("bob", "topic work");
    h.tag(Some("alice"), "topic-1");
    h.git(&["checkout", "-q", "main"]);
    h.signed("alice", "main work");
    // `git merge <signed tag>` records the tag in a multi-line mergetag header
    let merge = h.signed_merge("alice", "topic-1", "merge topic-1");
    let raw = h.git(&["cat-file", "commit", &merge]);
    assert!(raw.contains("\nmergetag object "), "{raw}");

    let run = h.verify(&[]);
    exits(&run, 0);
    expect(&run, &merge, "valid", "authorised");

    // the mergetag is covered by the merge's signature
    let changed = raw.replacen("topic-1", "topic-2", 1);
    assert_ne!(changed, raw);
    let forged = h.forge(&changed, "forged", "forged merge");
    let run = h.verify(&["forged"]);
    exits(&run, 1);
    expect(&run, &forged, "invalid", "bad-signature");
}

// ---------------------------------------------------------------------------
// real signatures made by other people's git

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// The git object id of `data` as a `kind` object.
fn object_id(kind: &str, data: &[u8]) -> String {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(format!("{kind} {}\0", data.len()).as_bytes());
    h.update(data);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn real_ssh_signed_commits_and_tags_verify_and_tampered_copies_do_not() {
    let manifest: toml::Table = toml::from_str(
        &std::fs::read_to_string(format!("{TESTDATA}/manifest.toml")).expect("the manifest"),
    )
    .expect("the manifest parses");
    let mut seen = BTreeMap::<(String, String), usize>::new();
    for f in manifest["file"].as_array().expect("[[file]]") {
        let kind = f["kind"].as_str().unwrap_or_default();
        if kind != "ssh-commit" && kind != "ssh-tag" {
            continue;
        }
        let path = f["path"].as_str().expect("path");
        let expected = f["expected"].as_str().expect("expected");
        let raw = std::fs::read(format!("{TESTDATA}/{path}")).expect("the object");
        let (object_kind, (sig, payload)) = if kind == "ssh-tag" {
            let split = sigctl::repo::walk::split_tag_signature(&raw).expect("a tag signature");
            ("tag", split)
        } else {
            ("commit", split_commit(&raw))
        };
        assert!(sig.starts_with(b"-----BEGIN SSH SIGNATURE-----"), "{path}");
        let verified = ssh::verify(&sig, &payload);
        match expected {
            "valid" => {
                // byte-exact git objects: the file name is the object id
                let name = path.rsplit('/').next().unwrap_or_default();
                assert_eq!(
                    Some(object_id(object_kind, &raw).as_str()),
                    name.split('.').next(),
                    "{path}"
                );
                let v = verified.unwrap_or_else(|e| panic!("{path}: {e}"));
                let pubkey = f["pubkey"].as_str().expect("pubkey");
                let line =
                    std::fs::read_to_string(format!("{TESTDATA}/{pubkey}")).expect("the key");
                assert_eq!(Some(v.public_key), ssh::key_blob(&line), "{path}");
                assert_eq!(
                    line.split_whitespace().next(),
                    Some(v.key_type.as_str()),
                    "{path}"
                );
                if object_kind == "tag" {
                    // one changed byte of the tag message
                    let mut changed = payload.clone();
                    let at = changed.len() - 2;
                    changed[at] ^= 1;
                    assert_eq!(
                        ssh::verify(&sig, &changed),
                        Err(ssh::SshSigError::BadSignature),
                        "{path}"
                    );
                }
            }
            _ => assert_eq!(verified, Err(ssh::SshSigError::BadSignature), "{path}"),
        }
        *seen
            .entry((kind.to_owned(), expected.to_owned()))
            .or_default() += 1;
    }
    let count = |k: &str, e: &str| seen.get(&(k.to_owned(), e.to_owned())).copied();
    assert_eq!(count("ssh-commit", "valid"), Some(6), "{seen:?}");
    assert_eq!(count("ssh-tag", "valid"), Some(1), "{seen:?}");
    assert_eq!(count("ssh-commit", "invalid"), Some(2), "{seen:?}");
}

// ---------------------------------------------------------------------------
// ranges

#[test]
fn a_range_reports_only_the_commits_after_its_base() {
    let (h, root) = rooted();
    let c1 = h.signed("alice", "c1");
    let c2 = h.signed("bob", "c2");
    let c3 = h.signed("alice", "c3");

    let objects = |run: &Run| -> BTreeSet<String> {
        run.json()["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["object"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let run = h.verify(&[&format!("{c1}..{c3}")]);
    exits(&run, 0);
    assert_eq!(objects(&run), BTreeSet::from([c2.clone(), c3.clone()]));
    assert_eq!(run.json()["trust_root"], root.as_str());

    let run = h.verify(&["main~2..main"]);
    exits(&run, 0);
    assert_eq!(objects(&run), BTreeSet::from([c2.clone(), c3.clone()]));

    // the base is taken as verified: a failure before it is not reported
    let u = h.unsigned("unsigned");
    let c5 = h.signed("alice", "c5");
    let run = h.verify(&[&format!("{u}..{c5}")]);
    exits(&run, 0);
    assert_eq!(objects(&run), BTreeSet::from([c5.clone()]));
    let run = h.verify(&[&format!("{c3}..{c5}")]);
    exits(&run, 1);
    expect(&run, &u, "unsigned", "unsigned");
    expect(&run, &c5, "invalid", "broken-chain");
}

#[test]
fn a_range_whose_first_commit_rewrites_the_policy_is_judged_by_the_policy_before_it() {
    let (h, root) = rooted();
    let base = h.signed("alice", "base");
    h.person("mallory", "sec", &["dev", "prod"]);
    // a pull request whose first commit lists Mallory as an admin, signed by her
    h.policy(&["alice", "bob", "mallory"], "");
    let takeover = h.signed("mallory", "mallory adds herself");
    let next = h.signed("mallory", "and carries on");

    for spec in [format!("{base}..main"), "main~2..main".to_owned()] {
        let run = h.verify(&[&spec]);
        exits(&run, 1);
        assert_eq!(run.json()["trust_root"], root.as_str(), "{}", run.stdout);
        expect(&run, &takeover, "invalid", "unknown-signer");
        expect(&run, &next, "invalid", "broken-chain");
    }
}

// ---------------------------------------------------------------------------
// the report and the cache

/// Bob's branch with an unsigned commit merged into Alice's main, and a tag.
fn mixed() -> (History, Vec<String>) {
    let (h, root) = rooted();
    h.git(&["checkout", "-q", "-b", "topic"]);
    let b1 = h.signed("bob", "topic: bob");
    let u = h.unsigned("topic: unsigned");
    h.git(&["checkout", "-q", "main"]);
    let m1 = h.signed("alice", "main: alice");
    let m2 = h.signed("bob", "main: bob");
    let merge = h.signed_merge("alice", "topic", "merge topic");
    let tag = h.tag(Some("alice"), "v1.0");
    (h, vec![root, b1, u, m1, m2, merge, tag])
}

#[test]
fn the_json_report_has_one_result_per_object_and_its_documented_fields() {
    let (h, ids) = mixed();
    let (root, unsigned, merge, tag) = (&ids[0], &ids[2], &ids[5], &ids[6]);
    let run = h.verify(&["main", "v1.0"]);
    exits(&run, 1);
    expect(&run, unsigned, "unsigned", "unsigned");
    // the merge is authorised through its first parent, whatever the second's chain
    expect(&run, merge, "valid", "authorised");
    expect(&run, tag, "valid", "authorised");

    let doc = run.json();
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object().expect("an object").keys().cloned().collect()
    };
    let set =
        |names: &[&str]| -> BTreeSet<String> { names.iter().map(|n| (*n).to_owned()).collect() };
    assert_eq!(
        keys(&doc),
        set(&[
            "ok",
            "trust_root",
            "trust_root_pinned",
            "results",
            "summary",
            "warnings"
        ])
    );
    assert_eq!(
        keys(&doc["summary"]),
        set(&["total", "valid", "invalid", "unsigned"])
    );
    assert_eq!(doc["trust_root"], root.as_str());
    assert!(
        doc["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().all(Value::is_string))
    );

    let results = doc["results"].as_array().expect("results");
    let reasons = set(&[
        "authorised",
        "unsigned",
        "bad-signature",
        "unsupported-signature",
        "unknown-signer",
        "wrong-environment",
        "policy-change-without-admin",
        "revoked-key",
        "certificate-invalid-at-signing",
        "untrusted-time",
        "foreign-history",
        "broken-chain",
        "no-policy",
    ]);
    let fields = set(&[
        "object",
        "kind",
        "verdict",
        "identity",
        "reason",
        "message",
        "signed_at",
        "time_source",
    ]);
    for r in results {
        assert_eq!(keys(r), fields, "{r}");
        assert!(
            reasons.contains(r["reason"].as_str().unwrap_or_default()),
            "{r}"
        );
        assert!(
            ["valid", "invalid", "unsigned"].contains(&r["verdict"].as_str().unwrap_or_default()),
            "{r}"
        );
        assert!(
            r["message"].is_string() && r["time_source"].is_string(),
            "{r}"
        );
        if r["verdict"] == "valid" {
            assert!(
                r["identity"].is_string() && r["signed_at"].is_string(),
                "{r}"
            );
        }
    }

    // exactly one result per commit in range and per tag named
    let mut expected: Vec<String> = h
        .git(&["rev-list", "main"])
        .lines()
        .map(str::to_owned)
        .collect();
    expected.push(tag.clone());
    expected.sort();
    let mut got: Vec<String> = results
        .iter()
        .map(|r| r["object"].as_str().unwrap_or_default().to_owned())
        .collect();
    got.sort();
    assert_eq!(got, expected);
    let kinds: Vec<&str> = results
        .iter()
        .filter(|r| r["object"] == tag.as_str())
        .map(|r| r["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["tag"]);

    let summary = &doc["summary"];
    let count = |v: &str| results.iter().filter(|r| r["verdict"] == v).count();
    assert_eq!(summary["total"], results.len());
    assert_eq!(
        (&summary["valid"], &summary["invalid"], &summary["unsigned"]),
        (
            &Value::from(count("valid")),
            &Value::from(count("invalid")),
            &Value::from(count("unsigned"))
        )
    );
    assert_eq!(doc["ok"], count("valid") == results.len());
}

#[test]
fn verdicts_are_the_same_on_every_run() {
    let (h, _) = mixed();
    let verdicts = |run: &Run| -> BTreeMap<String, (String, String)> {
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
    };
    let first = h.verify(&["main", "v1.0"]);
    exits(&first, 1);
    for _ in 0..2 {
        let again = h.verify(&["main", "v1.0"]);
        assert_eq!(again.code, first.code);
        assert_eq!(verdicts(&again), verdicts(&first));
    }
}

#[test]
fn the_report_lists_objects_in_the_same_order_on_every_run() {
    let (h, _) = mixed();
    let first = h.verify(&["main", "v1.0", "--no-cache"]);
    // a history with two branches: the order among siblings must not vary
    for _ in 0..8 {
        let again = h.verify(&["main", "v1.0", "--no-cache"]);
        assert_eq!(h.scrub(&again.stdout), h.scrub(&first.stdout));
    }
}

#[test]
fn a_warm_cache_gives_the_report_a_cold_run_gives() {
    let (h, _) = mixed();
    let cold = h.verify(&["main", "v1.0"]);
    exits(&cold, 1);
    let cache = sigctl::verify::cache::path(&h.repo.path().join(".git"));
    assert!(cache.exists(), "the first run writes the cache");
    let warm = h.verify(&["main", "v1.0"]);
    let uncached = h.verify(&["main", "v1.0", "--no-cache"]);
    for run in [&warm, &uncached] {
        assert_eq!(run.code, cold.code, "{}", run.snapshot());
        let sorted = |run: &Run| -> Vec<String> {
            let mut v: Vec<String> = run.json()["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(Value::to_string)
                .collect();
            v.sort();
            v
        };
        assert_eq!(sorted(run), sorted(&cold));
        assert_eq!(run.json()["summary"], cold.json()["summary"]);
    }
}

#[test]
fn a_forged_cache_entry_does_not_change_a_verdict() {
    use sigctl::verify::cache;
    let (h, _) = rooted();
    h.person("mallory", "dev", &["dev"]);
    let forged = h.signed("mallory", "by mallory");
    let run = h.verify(&["--no-cache"]);
    exits(&run, 1);
    expect(&run, &forged, "invalid", "unknown-signer");

    // whoever can write under .git (a shared CI cache, a copied or downloaded
    // repository) writes a well-formed cache saying Alice signed it
    let alice = ssh::key_blob(&h.public_key("alice")).expect("alice's key blob");
    let oid = |rev: &str| {
        gix::ObjectId::from_hex(h.repo.git(&["rev-parse", rev]).trim().as_bytes()).expect("id")
    };
    let id = oid(&forged);
    let entry = cache::Entry {
        commit: sigctl::repo::walk::CommitInfo {
            id,
            parents: vec![oid(&format!("{forged}^"))],
            tree: oid(&format!("{forged}^{{tree}}")),
            committer_time: day(0),
            signed: true,
            duplicate_signature: false,
        },
        policy: None,
        check: cache::Stored::Ssh {
            key: alice.into(),
            signed_at: day(0),
            time_source: 1,
        },
    };
    let path = cache::path(&h.repo.path().join(".git"));
    // without the key, which lives outside the repository
    cache::save(
        &path,
        &cache::Cache::default(),
        [(std::borrow::Cow::Borrowed(&entry), 1)],
        &[0x42; 32],
    )
    .expect("write the cache");

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &forged, "invalid", "unknown-signer");
}

// ---------------------------------------------------------------------------
// errors

#[test]
fn no_signing_toml_in_history_is_an_error() {
    let h = alice_and_bob();
    h.repo.write("README", "hello\n");
    h.signed("alice", "no policy here");
    let run = h.repo.sigctl(&["verify"]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(run.stdout.is_empty(), "{}", run.snapshot());
    assert!(run.stderr.contains("signing.toml"), "{}", run.snapshot());
    insta::assert_snapshot!("no_signing_toml", h.scrub(&run.snapshot()));
}

#[test]
fn an_unknown_ref_or_trust_root_is_an_error() {
    let (h, _) = rooted();
    for args in [
        &["verify", "no-such-branch"][..],
        &["verify", "no-such-branch..main"],
        &["verify", "--trust-root", "no-such-commit"],
        &["verify", "--format", "json", "no-such-branch"],
    ] {
        let run = h.repo.sigctl(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.snapshot());
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.snapshot());
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.snapshot()
        );
    }
    let run = h.repo.sigctl(&["verify", "no-such-branch"]);
    insta::assert_snapshot!("unknown_ref", h.scrub(&run.snapshot()));
}

/// Work per signature is bounded: a signature header over 64 KiB, a CMS bag
/// of more than 16 certificates, are refused unread with their own reason.
#[test]
fn signatures_over_the_bounds_are_refused_with_their_own_reason() {
    let (h, _) = rooted();
    let genuine = h.signed("alice", "genuine");
    let raw = h.git(&["cat-file", "commit", &genuine]);
    // 10 certificates (9 and the signer) in the bag of an otherwise ordinary CMS signature
    let home = h.repo.home();
    let key = home.join("bounds.key");
    let _ = h.repo.openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        &key.display().to_string(),
    ]);
    let cert = |cn: &str| -> Vec<u8> {
        h.repo.openssl(&[
            "req",
            "-x509",
            "-key",
            &key.display().to_string(),
            "-subj",
            &format!("/CN={cn}"),
            "-days",
            "30",
        ])
    };
    let signer = home.join("bounds-signer.pem");
    std::fs::write(&signer, cert("signer")).expect("write");
    let bag = home.join("bounds-bag.pem");
    let many: Vec<u8> = (0..9).flat_map(|i| cert(&format!("c{i}"))).collect();
    std::fs::write(&bag, many).expect("write");
    let content = home.join("bounds-content");
    std::fs::write(&content, b"x").expect("write");
    let pem = String::from_utf8(h.repo.openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-in",
        &content.display().to_string(),
        "-signer",
        &signer.display().to_string(),
        "-inkey",
        &key.display().to_string(),
        "-certfile",
        &bag.display().to_string(),
        "-outform",
        "PEM",
    ]))
    .expect("PEM")
    .replace("CMS-----", "SIGNED MESSAGE-----");
    let header = |armour: &str| {
        let mut lines = armour.trim_end().lines();
        let mut s = format!("gpgsig {}\n", lines.next().unwrap_or_default());
        for l in lines {
            s.push_str(&format!(" {l}\n"));
        }
        s
    };
    let big_body = "A".repeat(70 * 1024);
    let cases = [
        ("many-certificates", header(&pem)),
        (
            "huge",
            header(&format!(
                "-----BEGIN SSH SIGNATURE-----\n{big_body}\n-----END SSH SIGNATURE-----\n"
            )),
        ),
    ];
    for (name, sig) in cases {
        let forged = replace_gpgsig(&raw, |_| sig.clone());
        let id = h.forge(&forged, name, name);
        let run = h.verify(&[name]);
        assert_eq!(run.code, 1, "{name}: {}", run.snapshot());
        expect(&run, &id, "invalid", "signature-over-bounds");
    }
}

#[test]
fn an_empty_range_is_no_success() {
    let (h, _) = rooted();
    for spec in ["..", "HEAD..HEAD", "main..main"] {
        let run = h.repo.sigctl(&["verify", spec]);
        assert_eq!(run.code, 2, "{spec}: {}", run.snapshot());
        assert!(
            run.stderr.contains("nothing to verify"),
            "{}",
            run.snapshot()
        );
        assert!(run.stdout.is_empty(), "{}", run.snapshot());
    }
}
