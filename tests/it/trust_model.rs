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

/// A root listing Alice, Bob and `who` (owner `owner`); a branch `old`
/// forked there with a commit by Bob; on main, Alice removes `who`. HEAD is
/// main.
fn removed_after_a_fork(who: &str, owner: &str) -> (History, String) {
    let h = alice_and_bob();
    h.person(who, owner, &["dev"]);
    h.policy(&["alice", "bob", who], "");
    let root = h.signed("alice", "root");
    h.git(&["checkout", "-q", "-b", "old"]);
    h.repo.write("old.txt", "old\n");
    h.signed("bob", "bob on the old branch");
    h.git(&["checkout", "-q", "main"]);
    h.policy(&["alice", "bob"], "");
    h.signed("alice", &format!("alice removes {who}"));
    (h, root)
}

#[test]
fn an_exception_does_not_cover_an_unsigned_merge_that_restores_a_replaced_policy() {
    // Attack: Alice (admin) removes Carol on main. An unsigned merge of a
    // branch forked before that keeps the branch's signing.toml (Carol is
    // back); an admin's tip then excepts the merge as "just an unsigned
    // merge". Its policy is one parent's, but the other parent's history had
    // replaced it: a policy change, which no exception covers.
    let (h, root) = removed_after_a_fork("carol", "dev");
    h.git(&["merge", "-q", "--no-ff", "--no-commit", "old"]);
    h.git(&["checkout", "old", "--", "signing.toml"]);
    let merge = h.unsigned("unsigned merge keeping the old policy");
    h.policy(
        &["alice", "bob", "carol"],
        &exception("INC-9", "alice", "\"dev\"", day(3650), &[&merge]),
    );
    let tip = h.signed("alice", "alice excepts the merge");

    let run = h.verify(&["--trust-root", &root]);
    exits(&run, 1);
    expect(&run, &merge, "unsigned", "unsigned");
    expect(&run, &tip, "invalid", "broken-chain");
}

// ---------------------------------------------------------------------------
// R1, R2: the policy is signing.toml plus every file it references

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn testdata(path: &str) -> Vec<u8> {
    std::fs::read(format!("{TESTDATA}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A self-signed CA in HOME (`name.pem`); its PEM.
fn self_signed_ca(h: &History, name: &str) -> Vec<u8> {
    h.repo.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &format!("{name}.key"),
        "-subj",
        &format!("/CN={name}"),
        "-days",
        "3650",
        "-out",
        &format!("{name}.pem"),
    ]);
    std::fs::read(h.repo.home().join(format!("{name}.pem"))).expect("the CA")
}

/// A policy with Alice and Bob, and custody `hsm` allowed in both environments.
pub(crate) fn policy_allowing_hsm(h: &History, extra: &str) -> String {
    h.policy_text(&["alice", "bob"], extra).replace(
        "custody = [\"unmanaged\"]",
        "custody = [\"unmanaged\", \"hsm\"]",
    )
}

#[test]
fn a_developer_cannot_replace_a_file_the_policy_references() {
    // Attack: signing.toml names other files that decide who is trusted (a
    // Sigstore trusted root, a CA, an OpenPGP key, a certificate). Bob (no
    // admin) swaps one for his own in an ordinary signed commit, leaving
    // signing.toml byte for byte as it was: the policy changed all the same.
    struct TrustFile {
        kind: &'static str,
        path: &'static str,
        extra: &'static str,
        original: Vec<u8>,
        replacement: Vec<u8>,
    }
    let h0 = History::new();
    let variants = || -> Vec<TrustFile> {
        vec![
            TrustFile {
                kind: "sigstore trusted_root",
                path: "trust/root.json",
                extra: "\n[sigstore]\ntrusted_root = \"trust/root.json\"\n",
                original: testdata("trust/sigstore-public-good.trusted_root.json"),
                replacement: br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[],"certificateAuthorities":[],"ctlogs":[],"timestampAuthorities":[]}"#.to_vec(),
            },
            TrustFile {
                kind: "x509 ca",
                path: "certs/ca.pem",
                extra: "\n[identities.ci]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"hsm\"\nx509 = { ca = \"certs/ca.pem\", subject = \"ci\" }\n",
                original: self_signed_ca(&h0, "corporate-ca"),
                replacement: self_signed_ca(&h0, "bobs-ca"),
            },
            TrustFile {
                kind: "openpgp key",
                path: "keys/web.asc",
                extra: "\n[identities.web]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nopenpgp_key = \"keys/web.asc\"\n",
                original: testdata(
                    "openpgp/github-web-flow-968479A1AFF927E37D1A566BB5690EEEBB952194.asc",
                ),
                replacement: testdata(
                    "openpgp/github-web-flow-5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23.asc",
                ),
            },
            TrustFile {
                kind: "hsm certificate",
                path: "certs/release.pem",
                extra: "\n[identities.release]\nowner = \"sec\"\nenvironments = [\"prod\"]\ncustody = \"hsm\"\nkey = \"pkcs11:token=release;object=release\"\ncertificate = \"certs/release.pem\"\n",
                original: h0
                    .repo
                    .certificate("release", "20260101000000Z", "20310101000000Z", true),
                replacement: h0
                    .repo
                    .certificate("bobs-release", "20260101000000Z", "20310101000000Z", true),
            },
        ]
    };
    for f in variants() {
        let h = alice_and_bob();
        h.repo.write(f.path, &f.original);
        h.repo
            .write("signing.toml", policy_allowing_hsm(&h, f.extra));
        let root = h.signed("alice", "root");

        // Bob replaces the file
        h.repo.write(f.path, &f.replacement);
        let replaced = h.signed("bob", "bob replaces a trust file");
        let run = h.verify(&[]);
        exits(&run, 1);
        let r = result_of(&run, &replaced);
        assert_eq!(
            (r["verdict"].as_str(), r["reason"].as_str()),
            (Some("invalid"), Some("policy-change-without-admin")),
            "{}: bob replaced {}: {}",
            f.kind,
            f.path,
            run.stdout
        );

        // nor may he delete it
        h.git(&["reset", "-q", "--hard", &root]);
        h.git(&["rm", "-q", f.path]);
        let deleted = h.signed("bob", "bob deletes a trust file");
        let run = h.verify(&[]);
        exits(&run, 1);
        let r = result_of(&run, &deleted);
        assert_eq!(
            r["reason"].as_str(),
            Some("policy-change-without-admin"),
            "{}: bob deleted {}: {}",
            f.kind,
            f.path,
            run.stdout
        );

        // kept: Alice (an admin) may replace it
        h.git(&["reset", "-q", "--hard", &root]);
        h.repo.write(f.path, &f.replacement);
        let by_alice = h.signed("alice", "alice replaces a trust file");
        let run = h.verify(&[]);
        exits(&run, 0);
        expect(&run, &by_alice, "valid", "authorised");

        // kept: and Bob may change any file the policy does not name
        h.git(&["reset", "-q", "--hard", &root]);
        h.repo.write("certs/README", "certificates live here\n");
        h.repo.write("src/lib.rs", "// work\n");
        let work = h.signed("bob", "bob's ordinary work");
        let run = h.verify(&[]);
        exits(&run, 0);
        expect(&run, &work, "valid", "authorised");
    }
}

/// `sha256:<hex>` of the SubjectPublicKeyInfo of certificate `HOME/ca/<name>.crt`.
pub(crate) fn spki_pin(h: &History, name: &str) -> String {
    use sha2::Digest;
    let pem = h.repo.openssl(&[
        "x509",
        "-in",
        &format!("ca/{name}.crt"),
        "-pubkey",
        "-noout",
    ]);
    let der = h
        .repo
        .openssl_stdin(&["pkey", "-pubin", "-outform", "DER"], &pem);
    let digest = sha2::Sha256::digest(&der);
    format!(
        "sha256:{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Stage everything and commit, signed with a detached CMS signature by the
/// key of certificate `HOME/ca/<cert>.crt` (made by openssl, as git's x509
/// program makes it: PEM `SIGNED MESSAGE` over the commit without the
/// header); the branch moves to the signed commit. Its id.
pub(crate) fn cms_signed(h: &History, cert: &str, msg: &str) -> String {
    let unsigned = h.unsigned(msg);
    let raw = h.git(&["cat-file", "commit", &unsigned]);
    let home = h.repo.home();
    std::fs::write(home.join("payload"), raw.as_bytes()).expect("payload");
    h.repo.openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-nosmimecap",
        "-md",
        "sha256",
        "-in",
        "payload",
        "-signer",
        &format!("ca/{cert}.crt"),
        "-inkey",
        &format!("ca/{cert}.key"),
        "-outform",
        "DER",
        "-out",
        "sig.der",
    ]);
    let der = std::fs::read(home.join("sig.der")).expect("the signature");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut armour = "-----BEGIN SIGNED MESSAGE-----\n".to_owned();
    for line in b64.as_bytes().chunks(64) {
        armour.push_str(std::str::from_utf8(line).expect("base64"));
        armour.push('\n');
    }
    armour.push_str("-----END SIGNED MESSAGE-----");
    let header = format!("gpgsig {}", armour.replace('\n', "\n "));
    let end = raw.find("\n\n").expect("the end of the headers");
    let signed = format!("{}\n{}{}", &raw[..end], header, &raw[end..]);
    h.forge(&signed, &branch(h), &format!("{msg} (CMS)"))
}

#[test]
fn a_public_key_pin_that_does_not_match_the_certificate_authorises_nothing() {
    // Attack: the identity's certificate is swapped for one with another key
    // (or the pin names a key the certificate never carried): the pin says
    // which key the identity is, and a certificate without it vouches for
    // nothing. (The CMS signature is made with openssl, not on a token: an
    // hsm identity needs only its certificate to be verified.)
    let h = alice_and_bob();
    let carol = h
        .repo
        .certificate("carol", "20260101000000Z", "20310101000000Z", true);
    h.repo
        .certificate("other", "20260101000000Z", "20310101000000Z", true);
    h.repo.write("certs/carol.pem", &carol);
    let identity = |pin: &str| {
        format!(
            "\n[identities.carol]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"hsm\"\n\
             key = \"pkcs11:token=carol;object=carol\"\ncertificate = \"certs/carol.pem\"\npublic_key = {pin:?}\n"
        )
    };
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(&h, &identity(&spki_pin(&h, "other"))),
    );
    let root = h.signed("alice", "root: carol pinned to another key");
    let by_carol = cms_signed(&h, "carol", "carol signs with her certificate");

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &by_carol, "invalid", "certificate-key-mismatch");

    // kept: pinned to the key her certificate carries, the same signature passes
    h.git(&["reset", "-q", "--hard", &root]);
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(&h, &identity(&spki_pin(&h, "carol"))),
    );
    h.signed("alice", "alice pins carol's real key");
    let by_carol = cms_signed(&h, "carol", "carol signs again");
    let run = h.verify(&[]);
    exits(&run, 0);
    let r = expect(&run, &by_carol, "valid", "authorised");
    assert_eq!(r["identity"], "carol", "{r}");
}

// ---------------------------------------------------------------------------
// R4: merges, without rollback

#[test]
fn a_non_admin_merge_cannot_keep_a_policy_an_admin_replaced() {
    // Attack: Alice (admin) removes Carol from main's policy. Bob (no admin,
    // still listed) merges a branch forked before the removal and keeps that
    // branch's signing.toml: the merge is authorised through the old branch's
    // policy (unchanged there), and Carol is back.
    let h = alice_and_bob();
    h.person("carol", "dev", &["dev"]);
    h.policy(&["alice", "bob", "carol"], "");
    let root = h.signed("alice", "root");
    h.git(&["checkout", "-q", "-b", "feature"]);
    h.repo.write("feature.txt", "feature\n");
    let work = h.signed("bob", "feature: bob's work");
    h.git(&["checkout", "-q", "main"]);
    h.policy(&["alice", "bob"], "");
    let removal = h.signed("alice", "alice removes carol");

    h.git(&["merge", "-q", "--no-ff", "--no-commit", "feature"]);
    h.git(&["checkout", "feature", "--", "signing.toml"]);
    let merge = h.signed("bob", "bob merges feature, keeping its signing.toml");
    let carol = h.signed("carol", "carol is back");

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &merge, "invalid", "policy-change-without-admin");
    assert_ne!(
        result_of(&run, &carol)["verdict"],
        "valid",
        "{}",
        run.stdout
    );
    expect(&run, &removal, "valid", "authorised");
    expect(&run, &work, "valid", "authorised");
    expect(&run, &root, "valid", "authorised");
}

#[test]
fn a_merge_is_judged_by_the_policy_it_keeps() {
    // Attack: Alice (admin) removes Dave, an admin of the old policy, from
    // main. Dave merges a branch forked before that into main, keeping
    // main's policy (nothing restored, no revocation dropped): authorised
    // through the old branch's policy, where he is still an admin. The
    // merge keeps main's policy, which does not authorise him.
    let (h, root) = removed_after_a_fork("dave", "sec");
    let merge = h.signed_merge("dave", "old", "dave merges, keeping main's policy");

    let run = h.verify(&["--trust-root", &root, "main"]);
    exits(&run, 1);
    expect(&run, &merge, "invalid", "unknown-signer");

    // kept: the same merge signed by Bob, whom main's policy lists
    h.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let merge = h.signed_merge("bob", "old", "bob merges, keeping main's policy");
    let run = h.verify(&["--trust-root", &root, "main"]);
    exits(&run, 0);
    expect(&run, &merge, "valid", "authorised");
}

#[test]
fn a_revoked_thief_cannot_merge_an_old_policy_back_into_main() {
    // Attack: Carol's key is stolen; Alice revokes it at main's tip. The
    // thief commits on an old commit (whose policy has no revocation) and
    // merges it with main keeping the old signing.toml: either main into
    // her branch, then pushed as main (a fast-forward), or her branch into
    // main. Revocations are monotonic: main's revocation applies to the
    // merge, and dropping it is a policy change no admin made.
    for thief_first in [true, false] {
        let h = alice_and_bob();
        h.person("carol", "dev", &["dev"]);
        h.policy(&["alice", "bob", "carol"], "");
        let root = h.at(day(0)).signed("alice", "root");
        h.at(day(1)).signed("carol", "carol's work");
        h.policy(
            &["alice", "bob", "carol"],
            &revocation("carol", "key-compromise", day(10), Some(day(5))),
        );
        h.at(day(10)).signed("alice", "alice revokes carol");

        h.git(&["checkout", "-q", "-b", "old", &root]);
        h.repo.write("backdoor.txt", "backdoor\n");
        h.at(day(12)).signed("carol", "the thief's commit");
        if thief_first {
            h.git(&["merge", "-q", "--no-ff", "--no-commit", "main"]);
        } else {
            h.git(&["checkout", "-q", "main"]);
            h.git(&["merge", "-q", "--no-ff", "--no-commit", "old"]);
        }
        h.git(&["checkout", "old", "--", "signing.toml"]);
        let merge = h
            .at(day(12) + HOUR)
            .signed("carol", "merge, keeping the old signing.toml");
        if thief_first {
            h.git(&["checkout", "-q", "main"]);
            h.git(&["merge", "-q", "--ff-only", "old"]);
        }
        assert!(!h.repo.read("signing.toml").contains("[[revocations]]"));

        let run = h.verify(&["main"]);
        exits(&run, 1);
        let r = result_of(&run, &merge);
        assert_eq!(
            r["verdict"], "invalid",
            "thief's branch first: {thief_first}: {r}"
        );
        assert!(
            ["revoked-key", "policy-change-without-admin"]
                .contains(&r["reason"].as_str().unwrap_or("")),
            "thief's branch first: {thief_first}: {r}"
        );
    }
}

#[test]
fn a_feature_branch_forked_before_an_admin_change_merges_keeping_the_newer_policy() {
    // kept: the everyday merge after an admin changed main's policy
    let h = alice_and_bob();
    h.person("dave", "dev", &["dev"]);
    h.policy(&["alice", "bob"], "");
    h.signed("alice", "root");
    h.git(&["checkout", "-q", "-b", "feature"]);
    h.repo.write("feature.txt", "feature\n");
    let work = h.signed("bob", "feature: bob's work");
    h.git(&["checkout", "-q", "main"]);
    h.policy(&["alice", "bob", "dave"], "");
    let added = h.signed("alice", "alice adds dave");
    let merge = h.signed_merge("bob", "feature", "bob merges feature");
    let by_dave = h.signed("dave", "dave after the merge");

    let run = h.verify(&[]);
    exits(&run, 0);
    expect(&run, &work, "valid", "authorised");
    expect(&run, &added, "valid", "authorised");
    expect(&run, &merge, "valid", "authorised");
    expect(&run, &by_dave, "valid", "authorised");
}

#[test]
fn a_fork_whose_admin_changed_its_policy_merges_upstream_keeping_its_own_policy() {
    // kept: a fork administers its own policy and keeps merging upstream
    let h = alice_and_bob();
    h.person("dave", "dev", &["dev"]);
    h.policy(&["alice", "bob"], "");
    h.signed("alice", "root");
    h.repo.write("upstream.txt", "upstream\n");
    let upstream = h.signed("bob", "upstream work");
    h.git(&["checkout", "-q", "-b", "fork", "HEAD~1"]);
    h.policy(&["alice", "bob", "dave"], "");
    let added = h.signed("alice", "fork: alice adds dave");
    h.repo.write("fork.txt", "fork\n");
    h.signed("dave", "fork: dave's work");
    let merge = h.signed_merge("dave", "main", "fork: dave merges upstream");
    assert!(h.repo.read("signing.toml").contains("[identities.dave]"));

    let run = h.verify(&["fork"]);
    exits(&run, 0);
    expect(&run, &upstream, "valid", "authorised");
    expect(&run, &added, "valid", "authorised");
    let r = expect(&run, &merge, "valid", "authorised");
    assert_eq!(r["identity"], "dave", "{r}");
}

// ---------------------------------------------------------------------------
// R6: the trust root, and ranges

/// On a new orphan branch `orphan`: Mallory's own policy, naming her the
/// admin, and two commits she signs. (root, child).
fn orphan_history(h: &History) -> (String, String) {
    h.person("mallory", "sec", &["dev", "prod"]);
    h.git(&["checkout", "-q", "--orphan", "orphan"]);
    h.git(&["rm", "-rqf", "--ignore-unmatch", "."]);
    h.policy(&["mallory"], "");
    let o1 = h.signed("mallory", "orphan root: mallory's policy");
    h.repo.write("evil.txt", "evil\n");
    let o2 = h.signed("mallory", "orphan: mallory's work");
    (o1, o2)
}

#[test]
fn a_range_cannot_bring_its_own_trust_root() {
    // Attack: `verify main..pr` with no pinned root, where the pull request
    // brings an orphan root commit with its own signing.toml (merged with
    // --allow-unrelated-histories). The trust root is looked for in main's
    // history only: the orphan's commits are foreign.
    let (h, root) = rooted();
    h.signed("bob", "main: bob's work");
    h.git(&["checkout", "-q", "-b", "pr"]);
    let pr_work = h.signed("bob", "pr: bob's work");
    let (o1, o2) = orphan_history(&h);
    h.git(&["checkout", "-q", "-f", "pr"]);
    h.git(&[
        "merge",
        "-q",
        "--no-ff",
        "--no-commit",
        "-s",
        "ours",
        "--allow-unrelated-histories",
        "orphan",
    ]);
    h.git(&["checkout", "orphan", "--", "signing.toml", "evil.txt"]);
    let merge = h.signed("mallory", "pr: merge mallory's history and policy");

    let run = h.verify(&["main..pr"]);
    exits(&run, 1);
    let doc = run.json();
    assert_eq!(
        (&doc["trust_root"], &doc["trust_root_pinned"]),
        (&Value::from(root.as_str()), &Value::Bool(false)),
        "{}",
        run.stdout
    );
    expect(&run, &o1, "invalid", "foreign-history");
    assert_eq!(result_of(&run, &o2)["verdict"], "invalid", "{}", run.stdout);
    assert_eq!(
        result_of(&run, &merge)["verdict"],
        "invalid",
        "{}",
        run.stdout
    );
    expect(&run, &pr_work, "valid", "authorised");
}

#[test]
fn a_range_over_history_without_a_policy_has_no_trust_root() {
    // Attack: as above, but main has no signing.toml at all: the only policy
    // in sight is the one the range brings. No trust root: exit 2, saying
    // how to pin one.
    let h = alice_and_bob();
    h.repo.write("README", "no policy here\n");
    h.signed("alice", "main: no policy");
    // the pull request is only the merge: under the old rules, exit 0
    h.git(&["checkout", "-q", "-b", "pr"]);
    orphan_history(&h);
    h.git(&["checkout", "-q", "-f", "pr"]);
    let sign = h.signing("mallory");
    let mut args: Vec<&str> = sign.iter().map(String::as_str).collect();
    args.extend([
        "merge",
        "-q",
        "--no-ff",
        "-S",
        "--allow-unrelated-histories",
        "-m",
        "pr: merge mallory's history",
        "orphan",
    ]);
    h.git(&args);

    for format in ["json", "human"] {
        let run = h.repo.sigctl(&["verify", "main..pr", "--format", format]);
        assert_eq!(run.code, 2, "{}", run.snapshot());
        assert!(run.stdout.is_empty(), "{}", run.snapshot());
        assert!(run.stderr.contains("--trust-root"), "{}", run.snapshot());
    }
}

/// The results whose reason is `not-descendant-of-trust-root`.
fn not_descendant(run: &Run) -> Vec<Value> {
    run.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["reason"] == "not-descendant-of-trust-root")
        .cloned()
        .collect()
}

#[test]
fn a_ref_behind_the_trust_root_is_reported_not_passed() {
    // Attack: a ref moved back to a commit before the pinned trust root.
    // Everything before the root is "not verified", so the report was
    // "0 of 0 verified", exit 0: a rollback to before the policy passed.
    let h = alice_and_bob();
    h.repo.write("README", "before the policy\n");
    let pre = h.signed("alice", "before the policy");
    h.policy(&["alice", "bob"], "");
    let root = h.signed("alice", "root: introduces signing.toml");
    h.signed("bob", "bob's work");
    h.git(&["branch", "old", &pre]);

    let run = h.verify(&["old", "--trust-root", &root]);
    exits(&run, 1);
    let hits = not_descendant(&run);
    assert_eq!(hits.len(), 1, "{}", run.stdout);
    assert!(
        hits.iter().all(|r| r["verdict"] != "valid"),
        "{}",
        run.stdout
    );

    // pinned in git config, the same; and next to a good branch
    h.git(&["config", "sigctl.trustRoot", &root]);
    let run = h.verify(&["old"]);
    exits(&run, 1);
    assert_eq!(not_descendant(&run).len(), 1, "{}", run.stdout);
    let run = h.verify(&["main", "old"]);
    exits(&run, 1);
    assert_eq!(not_descendant(&run).len(), 1, "{}", run.stdout);
    expect(&run, &root, "valid", "authorised");

    // kept: the trust root itself, and its descendants
    exits(&h.verify(&[&root]), 0);
    exits(&h.verify(&["main"]), 0);
}

// ---------------------------------------------------------------------------
// R7: objects are what they are

/// An unsigned commit at main's tip, and a signed commit with the same
/// parent that `git replace` shows in its place. (unsigned, signed).
fn replaced() -> (History, String, String) {
    let (h, _) = rooted();
    h.git(&["checkout", "-q", "-b", "side"]);
    h.repo.write("work.txt", "work\n");
    let signed = h.signed("alice", "work");
    h.git(&["checkout", "-q", "main"]);
    h.repo.write("work.txt", "work\n");
    let unsigned = h.unsigned("work");
    h.git(&["branch", "-q", "-D", "side"]);
    h.git(&["replace", &unsigned, &signed]);
    assert!(
        h.git(&["cat-file", "commit", &unsigned])
            .contains("gpgsig "),
        "git shows the replacement"
    );
    (h, unsigned, signed)
}

#[test]
fn a_replace_ref_does_not_change_what_is_verified() {
    // Attack: `git replace <unsigned> <signed>` (refs/replace/* is fetched
    // and pushed like any ref): git shows the signed commit under the
    // unsigned one's id. Verification reads objects as they are.
    let (h, unsigned, _) = replaced();
    let run = h.verify(&["--no-cache"]);
    exits(&run, 1);
    expect(&run, &unsigned, "unsigned", "unsigned");
}

#[test]
fn nothing_a_replace_ref_showed_is_cached() {
    // Attack: one run with the replace ref in place and the cache on (the
    // default: its key under HOME/.cache/sigctl); the replace ref is then
    // deleted, and the poisoned cache must not outlive it.
    let (h, unsigned, _) = replaced();
    let with_replace = h.verify(&[]);
    let cache = sigctl::verify::cache::path(&h.repo.path().join(".git"));
    assert!(cache.exists(), "the run wrote the cache");
    h.git(&["replace", "-d", &unsigned]);

    let run = h.verify(&[]);
    exits(&run, 1);
    expect(&run, &unsigned, "unsigned", "unsigned");
    assert_eq!(
        verdicts(&run),
        verdicts(&h.verify(&["--no-cache"])),
        "cached and uncached runs agree"
    );
    // and the run with the replace ref in place saw the true object too
    exits(&with_replace, 1);
    expect(&with_replace, &unsigned, "unsigned", "unsigned");
}

#[test]
fn a_graft_does_not_hide_a_commit_from_verification() {
    // Attack: `.git/info/grafts` (still honoured by git) gives a signed
    // commit a parent other than its own, hiding the unsigned commit it
    // sits on. Verification reads the parents the commit object names.
    let (h, root) = rooted();
    h.repo.write("x.txt", "unsigned\n");
    let unsigned = h.unsigned("unsigned");
    let tip = h.signed("alice", "signed, on the unsigned commit");
    h.repo.write(".git/info/grafts", format!("{tip} {root}\n"));
    let shown = h.git(&["log", "--format=%H"]);
    assert!(!shown.contains(&unsigned), "git honours the graft: {shown}");

    let run = h.verify(&["--no-cache"]);
    exits(&run, 1);
    expect(&run, &unsigned, "unsigned", "unsigned");
    expect(&run, &tip, "invalid", "broken-chain");
}

#[test]
fn a_gpgsig_sha256_header_in_a_sha1_repository_is_not_a_signature() {
    // Attack: git reads `gpgsig` in a SHA-1 repository, never
    // `gpgsig-sha256`, so a commit whose only signature header is
    // gpgsig-sha256 is unsigned to git (`%G?` N). Carrying a valid SSH
    // signature there must not make it signed to sigctl.
    let (h, _) = rooted();
    let genuine = h.signed("alice", "genuine");
    let raw = h.git(&["cat-file", "commit", &genuine]);
    let renamed = edit(&raw, "\ngpgsig ", "\ngpgsig-sha256 ");
    let forged = h.forge(&renamed, "sha256-header", "gpgsig-sha256 only");
    assert_eq!(
        h.git(&["log", "-1", "--format=%G?", "sha256-header"])
            .trim(),
        "N",
        "git sees no signature"
    );

    let run = h.verify(&["sha256-header"]);
    exits(&run, 1);
    expect(&run, &forged, "unsigned", "unsigned");

    // kept: the genuine commit
    exits(&h.verify(&["main"]), 0);
}

// ---------------------------------------------------------------------------
// R5: revocations reach everything

#[test]
fn a_tag_verified_alone_meets_the_revocations_at_head() {
    // Attack: the release key is stolen; Alice revokes it at main's tip
    // (key-compromise since day 5). The thief signs a tag on an old commit,
    // whose own policy has no revocation, and `sigctl verify v1.0` is run
    // alone (HEAD = main): the revocation at HEAD applies.
    let h = alice_and_bob();
    h.person("release", "sec", &["prod"]);
    h.policy(&["alice", "bob", "release"], "");
    h.at(day(0)).signed("alice", "root");
    let old = h.at(day(1)).signed("bob", "bob's work");
    h.policy(
        &["alice", "bob", "release"],
        &revocation("release", "key-compromise", day(10), Some(day(5))),
    );
    h.at(day(10))
        .signed("alice", "alice revokes the release key");

    h.git(&["checkout", "-q", "--detach", &old]);
    let before = h.at(day(3)).tag(Some("release"), "v0.9");
    let stolen = h.at(day(7)).tag(Some("release"), "v1.0");
    h.git(&["checkout", "-q", "main"]);

    let run = h.verify(&["v1.0"]);
    exits(&run, 1);
    expect(&run, &stolen, "invalid", "revoked-key");

    // kept: signed before compromised_since
    let run = h.verify(&["v0.9"]);
    exits(&run, 0);
    expect(&run, &before, "valid", "authorised");
}

#[test]
fn a_key_revoked_under_one_name_is_revoked_under_every_name() {
    // Attack: one SSH key declared as two identities, `release` and
    // `release2`. The revocation names one; the thief's signature matches
    // the key, which is just as much the other's. The revocation binds the
    // key material, whichever name the signature is matched to.
    for revoked in ["release", "release2"] {
        let h = alice_and_bob();
        h.person("release", "dev", &["dev", "prod"]);
        let copy = format!(
            "\n[identities.release2]\nowner = \"dev\"\nenvironments = [\"dev\", \"prod\"]\ncustody = \"unmanaged\"\nssh_key = {:?}\n",
            h.public_key("release")
        );
        h.policy(&["alice", "bob", "release"], &copy);
        h.at(day(0)).signed("alice", "root");
        let early = h.at(day(2)).signed("release", "before the theft");
        h.policy(
            &["alice", "bob", "release"],
            &format!(
                "{copy}{}",
                revocation(revoked, "key-compromise", day(10), Some(day(5)))
            ),
        );
        h.at(day(10)).signed("alice", "alice revokes one name");
        let stolen = h.at(day(12)).signed("release", "the thief");

        let run = h.verify(&[]);
        exits(&run, 1);
        let r = result_of(&run, &stolen);
        assert_eq!(
            (r["verdict"].as_str(), r["reason"].as_str()),
            (Some("invalid"), Some("revoked-key")),
            "revoked as `{revoked}`: {r}"
        );
        expect(&run, &early, "valid", "authorised");
    }
}

// ---------------------------------------------------------------------------
// R8: tags

#[test]
fn a_tag_object_served_under_another_name_is_a_tag_name_mismatch() {
    // Attack: the signed tag object of v1.0 (its `tag` header says v1.0) is
    // pointed at by refs/tags/v2.0, passing an old signed release off as
    // the new one.
    let (h, _) = rooted();
    let tag = h.tag(Some("alice"), "v1.0");
    h.signed("alice", "later work");
    h.git(&["update-ref", "refs/tags/v2.0", &tag]);

    let run = h.verify(&["v2.0"]);
    exits(&run, 1);
    let r = expect(&run, &tag, "invalid", "tag-name-mismatch");
    assert_eq!(r["kind"], "tag", "{r}");

    // kept: the tag under its own name
    let run = h.verify(&["v1.0"]);
    exits(&run, 0);
    expect(&run, &tag, "valid", "authorised");
}

#[test]
fn a_short_spec_naming_a_branch_and_a_tag_is_refused() {
    // Attack: a tag called `main` next to the branch `main`: which one
    // `verify main` judged depended on git's lookup order, and the report
    // said `main`. A short spec naming both is refused, naming both.
    let (h, _) = rooted();
    h.signed("bob", "bob's work");
    h.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    h.tag(Some("alice"), "main");
    h.git(&["checkout", "-q", "main"]);

    for format in ["json", "human"] {
        let run = h.repo.sigctl(&["verify", "main", "--format", format]);
        assert_eq!(run.code, 2, "{}", run.snapshot());
        assert!(run.stdout.is_empty(), "{}", run.snapshot());
        assert!(
            run.stderr.contains("refs/heads/main") && run.stderr.contains("refs/tags/main"),
            "{}",
            run.snapshot()
        );
    }

    // kept: full ref names
    exits(&h.verify(&["refs/heads/main"]), 0);
    exits(&h.verify(&["refs/tags/main"]), 0);
}

// ---------------------------------------------------------------------------
// R3: expiry

#[test]
fn an_expired_exception_does_not_let_the_chain_pass() {
    // Attack: an exception for an unsigned commit (full id, admin-signed)
    // that expired long ago keeps excusing it forever. `sigctl verify` has
    // no --now: the expiry (day 100, 2026-09-09) is in the past of the real
    // clock, the kept case's (ten years on) in its future.
    for (expires, passes) in [(day(100), false), (day(3650), true)] {
        let (h, _) = rooted();
        let unsigned = h.at(day(1)).unsigned("unsigned");
        let bob = h.at(day(2)).signed("bob", "bob's work");
        h.policy(
            &["alice", "bob"],
            &exception("INC-3", "bob", "\"dev\"", expires, &[&unsigned]),
        );
        let tip = h
            .at(day(3))
            .signed("alice", "alice excepts the unsigned commit");

        let run = h.verify(&[]);
        if passes {
            exits(&run, 0);
            expect(&run, &unsigned, "valid", "unsigned");
            expect(&run, &tip, "valid", "authorised");
        } else {
            exits(&run, 1);
            expect(&run, &unsigned, "unsigned", "unsigned");
            expect(&run, &bob, "invalid", "broken-chain");
            expect(&run, &tip, "invalid", "broken-chain");
        }
    }
}

// ---------------------------------------------------------------------------
// R10: environments — false rejections

/// `dev` is main only (Alice); `feature` is refs/heads/feature* (Alice and
/// Bob). Alice administers.
fn main_and_feature() -> History {
    let h = History::new();
    h.person("alice", "sec", &["dev", "feature", "prod"])
        .person("bob", "dev", &["feature"]);
    let policy = edit(
        &h.policy_text(&["alice", "bob"], ""),
        "refs = [\"refs/heads/*\"]\ncustody = [\"unmanaged\"]\n",
        "refs = [\"refs/heads/main\"]\ncustody = [\"unmanaged\"]\n\n\
         [environments.feature]\nrefs = [\"refs/heads/feature*\"]\ncustody = [\"unmanaged\"]\n",
    );
    h.repo.write("signing.toml", policy);
    h
}

#[test]
fn verifying_two_branches_together_equals_verifying_each_alone() {
    // False rejection: each verified ref is judged by its own environment.
    // Bob's commits are only on feature, which admits him; main admits only
    // Alice. Together, Bob's commits must not meet main's environment.
    let h = main_and_feature();
    let root = h.signed("alice", "root");
    h.git(&["checkout", "-q", "-b", "feature"]);
    let f1 = h.signed("bob", "feature: bob 1");
    let f2 = h.signed("bob", "feature: bob 2");
    h.git(&["checkout", "-q", "main"]);
    let m1 = h.signed("alice", "main: alice");

    exits(&h.verify(&["main"]), 0);
    exits(&h.verify(&["feature"]), 0);
    for specs in [["main", "feature"], ["feature", "main"]] {
        let run = h.verify(&specs);
        exits(&run, 0);
        for id in [&root, &f1, &f2, &m1] {
            expect(&run, id, "valid", "authorised");
        }
    }

    // the rule still bites where it should: Bob's commits reachable from main
    h.signed_merge("alice", "feature", "alice merges feature into main");
    let run = h.verify(&["main", "feature"]);
    exits(&run, 1);
    expect(&run, &f1, "invalid", "wrong-environment");
}

#[test]
fn renaming_an_environment_does_not_make_earlier_commits_wrong_environment() {
    // False rejection: an admin renames `dev` to `development` (same refs,
    // identities updated). Commits made under the old name were judged by
    // the names of their parents' policy, and still are.
    let (h, root) = rooted();
    let b1 = h.signed("bob", "bob under dev");
    let b2 = h.signed("alice", "alice under dev");
    let renamed = h
        .policy_text(&["alice", "bob"], "")
        .replace("[environments.dev]", "[environments.development]")
        .replace("environments = [\"dev\"", "environments = [\"development\"");
    assert!(
        !renamed.contains("\"dev\"]") && !renamed.contains("\"dev\","),
        "{renamed}"
    );
    h.repo.write("signing.toml", renamed);
    let rename = h.signed("alice", "alice renames dev to development");
    let b3 = h.signed("bob", "bob under development");

    let run = h.verify(&[]);
    exits(&run, 0);
    for id in [&root, &b1, &b2, &rename, &b3] {
        expect(&run, id, "valid", "authorised");
    }
}

// ---------------------------------------------------------------------------
// properties: several specs together are the union of each alone, and the
// cache changes nothing

mod properties {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    const BRANCHES: [&str; 3] = ["main", "feature/a", "feature/b"];
    const SIGNERS: [Option<&str>; 4] = [Some("alice"), Some("bob"), Some("bob"), None];

    #[derive(Debug, Clone)]
    enum Op {
        /// On branch .0, a commit by SIGNERS[.1].
        Commit(usize, usize),
        /// On branch .0, merge branch .1, signed by Alice (false) or Bob (true).
        Merge(usize, usize, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..BRANCHES.len(), 0..SIGNERS.len()).prop_map(|(b, s)| Op::Commit(b, s)),
            1 => (0..BRANCHES.len(), 0..BRANCHES.len(), any::<bool>())
                .prop_filter("another branch", |(a, b, _)| a != b)
                .prop_map(|(a, b, bob)| Op::Merge(a, b, bob)),
        ]
    }

    /// Per object: whether it is valid.
    fn valid(run: &Run) -> BTreeMap<String, bool> {
        verdicts(run)
            .into_iter()
            .map(|(id, (verdict, _))| (id, verdict == "valid"))
            .collect()
    }

    fn build(ops: &[Op]) -> (History, String) {
        let h = main_and_feature();
        let root = h.signed("alice", "root");
        for b in &BRANCHES[1..] {
            h.git(&["branch", b]);
        }
        for (n, op) in ops.iter().enumerate() {
            match *op {
                Op::Commit(b, s) => {
                    h.git(&["checkout", "-q", BRANCHES[b]]);
                    let msg = format!(
                        "{n}: {} on {}",
                        SIGNERS[s].unwrap_or("unsigned"),
                        BRANCHES[b]
                    );
                    match SIGNERS[s] {
                        Some(who) => h.signed(who, &msg),
                        None => h.unsigned(&msg),
                    };
                }
                Op::Merge(into, from, bob) => {
                    h.git(&["checkout", "-q", BRANCHES[into]]);
                    let who = if bob { "bob" } else { "alice" };
                    // an empty history merges cleanly; "already up to date" makes nothing
                    h.signed_merge(
                        who,
                        BRANCHES[from],
                        &format!("{n}: {who} merges {}", BRANCHES[from]),
                    );
                }
            }
        }
        h.git(&["checkout", "-q", "main"]);
        (h, root)
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 8,
            max_shrink_iters: 16,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn verifying_specs_together_is_the_union_of_verifying_each_alone_with_or_without_the_cache(
            ops in vec(op(), 3..8)
        ) {
            let (h, root) = build(&ops);
            let pin = ["--trust-root", root.as_str()];
            let args = |specs: &[&str], cache: bool| -> Vec<String> {
                let mut a: Vec<String> = specs.iter().map(|s| (*s).to_owned()).collect();
                a.extend(pin.iter().map(|s| (*s).to_owned()));
                if !cache {
                    a.push("--no-cache".into());
                }
                a
            };
            let run = |specs: &[&str], cache: bool| -> Run {
                let a = args(specs, cache);
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                h.verify(&a)
            };

            let alone: Vec<Run> = BRANCHES.iter().map(|b| run(&[b], false)).collect();
            let together = run(&BRANCHES, false);

            // a commit fails together iff it fails in some run of one spec
            let mut union: BTreeMap<String, bool> = BTreeMap::new();
            for r in &alone {
                for (id, ok) in valid(r) {
                    *union.entry(id).or_insert(true) &= ok;
                }
            }
            prop_assert_eq!(
                valid(&together),
                union,
                "together: {}\nalone: {:?}",
                h.scrub(&together.stdout),
                alone.iter().map(|r| h.scrub(&r.stdout)).collect::<Vec<_>>()
            );
            let worst = alone.iter().map(|r| r.code).max().unwrap_or(0);
            prop_assert_eq!(together.code, worst);

            // the cache, cold then warm, changes no verdict or reason
            let cold = run(&BRANCHES, true);
            let warm = run(&BRANCHES, true);
            prop_assert_eq!(verdicts(&cold), verdicts(&together));
            prop_assert_eq!(verdicts(&warm), verdicts(&together));
            // nor does a cache written by the run of all specs, read by one
            for (b, r) in BRANCHES.iter().zip(&alone) {
                let cached = run(&[b], true);
                prop_assert_eq!(verdicts(&cached), verdicts(r), "{}", b);
            }
        }
    }
}
