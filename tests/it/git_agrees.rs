//! git's x509 program agrees with `sigctl verify` (issue 9): sigctl is git's
//! `gpg.x509.program`, and `%G?`, `git verify-commit` and `git verify-tag`
//! judge one CMS signature by `sigctl::verify::judge_object`, the commit rule
//! of `sigctl verify` without the walk and without environments. For every
//! trust-model case with CMS-signed commits (made by openssl, as git's x509
//! program makes them; the identities are hsm-custody ones with certificates
//! from the test CA), each commit's verdict from `sigctl verify --format
//! json` is set against git's `%G?`:
//!
//! - `authorised` → `G`;
//! - a commit-level refusal (`unknown-signer`, `policy-change-without-admin`,
//!   `revoked-key`, `certificate-key-mismatch`, `bad-signature`,
//!   `certificate-invalid-at-signing`) → anything but `G` (and where a test
//!   names the refusal it expects, `git verify-commit`/`verify-tag` must give
//!   the same reason code);
//! - a verdict that depends on the walk or on a ref (`broken-chain`,
//!   `wrong-environment`, `foreign-history`, `not-descendant-of-trust-root`,
//!   `unsigned`, `tag-name-mismatch`) is out of the x509 program's reach: git
//!   hands it one signature and its payload, never the chain from the trust
//!   root or the ref being verified. Those objects are skipped.
//!
//! Tags are compared the same way, with `git verify-tag` passing for `G`.
//!
//! openssl stamps each CMS signature with the real clock (its signing-time
//! attribute, which sigctl takes as the signing time): revocations by time
//! are set in the past of the real clock, so every signature made after the
//! revocation's commit is after `compromised_since`; the "kept" checks of
//! the same key are made before the revocation exists.

use std::collections::BTreeMap;
use std::process::Command;

use base64::Engine;

use crate::trust_model::{cms_signed, policy_allowing_hsm, spki_pin};
use crate::util::SIGCTL;
use crate::verify::{HOUR, History, alice_and_bob, day, revocation};

/// Verdicts that depend on the walk (the chain from the trust root) or on
/// the ref verified (its environment, a tag's name): git's x509 program
/// never sees either, so they are not compared.
const WALK_OR_REF: [&str; 6] = [
    "broken-chain",
    "wrong-environment",
    "foreign-history",
    "not-descendant-of-trust-root",
    "unsigned",
    "tag-name-mismatch",
];

/// Refusals by the commit rule itself, which the x509 program applies too.
const COMMIT_RULE: [&str; 6] = [
    "unknown-signer",
    "policy-change-without-admin",
    "revoked-key",
    "certificate-key-mismatch",
    "bad-signature",
    "certificate-invalid-at-signing",
];

/// Alice and Bob (SSH, from `policy_allowing_hsm`, unused here), with git
/// reading x509 signatures through the sigctl binary under test.
fn cms_history() -> History {
    let h = alice_and_bob();
    h.git(&["config", "gpg.format", "x509"]);
    h.git(&["config", "gpg.x509.program", SIGCTL]);
    h
}

/// An hsm identity `name` whose certificate (a new key, from the test CA,
/// its key in HOME/ca) is written to certs/<name>.pem; its TOML, with
/// `more` (extra lines) appended.
fn hsm_identity(h: &History, name: &str, owner: &str, envs: &[&str], more: &str) -> String {
    let pem = h
        .repo
        .certificate(name, "20260101000000Z", "20310101000000Z", true);
    h.repo.write(&format!("certs/{name}.pem"), pem);
    hsm_identity_with(name, owner, envs, &format!("certs/{name}.pem"), more)
}

/// The TOML of an hsm identity using the certificate at `certificate`.
fn hsm_identity_with(
    name: &str,
    owner: &str,
    envs: &[&str],
    certificate: &str,
    more: &str,
) -> String {
    let envs: Vec<String> = envs.iter().map(|e| format!("{e:?}")).collect();
    format!(
        "\n[identities.{name}]\nowner = {owner:?}\nenvironments = [{}]\ncustody = \"hsm\"\n\
         key = \"pkcs11:token={name};object={name}\"\ncertificate = {certificate:?}\n{more}",
        envs.join(", ")
    )
}

/// Sam: an admin (owner `sec`) signing with CMS in every environment.
fn sam(h: &History) -> String {
    hsm_identity(h, "sam", "sec", &["dev", "prod"], "")
}

/// git at the history's repository, whatever its exit code: (code, stdout, stderr).
fn git_status(h: &History, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("git")
        .args(args)
        .current_dir(h.repo.path())
        .env("HOME", h.repo.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The reason code sigctl, as git's x509 program, gave on stderr for a
/// signature it did not accept (`?` if none).
fn program_reason(stderr: &str) -> String {
    const REFUSED: &str = "sigctl: signature not authorised by signing.toml: ";
    if let Some(rest) = stderr.lines().find_map(|l| l.strip_prefix(REFUSED)) {
        return rest.split(':').next().unwrap_or_default().to_owned();
    }
    if stderr.contains("sigctl: BAD signature") {
        return "bad-signature".to_owned();
    }
    format!("? ({})", stderr.trim())
}

/// What each side said of every object `sigctl verify SPECS` reported.
struct Agreed {
    /// object id → (verdict, reason) from `sigctl verify --format json`
    verify: BTreeMap<String, (String, String)>,
    /// object id → `%G?` of a commit, `G` or `-` (fails) for a tag (`git
    /// verify-tag`); and, where git refused, the reason its x509 program gave
    /// (`git verify-commit` / `git verify-tag`)
    git: BTreeMap<String, (String, String)>,
}

impl Agreed {
    /// Assert what both said of `id`: verify's verdict and reason, and
    /// whether git's program accepted it.
    #[track_caller]
    fn expect(&self, h: &History, id: &str, verdict: &str, reason: &str, git_accepts: bool) {
        let label = h.scrub(id);
        let (v, r) = self
            .verify
            .get(id)
            .unwrap_or_else(|| panic!("verify reported nothing of {label}"));
        assert_eq!(
            (v.as_str(), r.as_str()),
            (verdict, reason),
            "sigctl verify on {label}"
        );
        let (g, why) = &self.git[id];
        assert_eq!(g == "G", git_accepts, "git on {label}: %G? {g} ({why})");
        if !git_accepts {
            assert_eq!(
                why, reason,
                "the reason git's x509 program gave for {label}"
            );
        }
    }
}

/// `sigctl verify SPECS --format json` and git (`git log --format='%H %G?'
/// SPECS` for commits, `git verify-tag` for tags) on the same objects;
/// panics, with a table of both, where they disagree on a commit-level
/// verdict.
#[track_caller]
fn agree(h: &History, specs: &[&str]) -> Agreed {
    let run = h.verify(specs);
    let mut args = vec!["log", "--format=%H %G?"];
    args.extend(specs);
    let log = h.git(&args);
    let percent_g: BTreeMap<&str, &str> = log.lines().filter_map(|l| l.split_once(' ')).collect();

    let mut agreed = Agreed {
        verify: BTreeMap::new(),
        git: BTreeMap::new(),
    };
    let mut table = String::new();
    let mut disagree = Vec::new();
    let mut compared = 0;
    for r in run.json()["results"].as_array().expect("results") {
        let id = r["object"].as_str().expect("object").to_owned();
        let verdict = r["verdict"].as_str().unwrap_or_default().to_owned();
        let reason = r["reason"].as_str().unwrap_or_default().to_owned();
        let git = match r["kind"].as_str() {
            Some("commit") => percent_g
                .get(id.as_str())
                .unwrap_or_else(|| {
                    panic!("git log {specs:?} does not list {}: {log}", h.scrub(&id))
                })
                .to_string(),
            Some("tag") => {
                let (code, _, _) = git_status(h, &["verify-tag", &id]);
                if code == 0 { "G" } else { "-" }.to_owned()
            }
            other => panic!("unknown kind {other:?}: {r}"),
        };
        let why = if git == "G" {
            String::new()
        } else {
            let verify = if r["kind"] == "tag" {
                "verify-tag"
            } else {
                "verify-commit"
            };
            program_reason(&git_status(h, &[verify, &id]).2)
        };
        let verdict_says = if WALK_OR_REF.contains(&reason.as_str()) {
            None
        } else if reason == "authorised" && verdict == "valid" {
            Some(true)
        } else if COMMIT_RULE.contains(&reason.as_str()) && verdict == "invalid" {
            Some(false)
        } else {
            panic!("a verdict this test does not know how to compare: {r}")
        };
        let mark = match verdict_says {
            None => "  (walk or ref: not compared)",
            Some(ok) if ok == (git == "G") => "",
            Some(_) => "  <-- DISAGREE",
        };
        if verdict_says.is_some() {
            compared += 1;
            if !mark.is_empty() {
                disagree.push(h.scrub(&id));
            }
        }
        table.push_str(&format!(
            "{:<60} verify {verdict}/{reason}, git {git} {why}{mark}\n",
            h.scrub(&id)
        ));
        agreed.verify.insert(id.clone(), (verdict, reason));
        agreed.git.insert(id, (git, why));
    }
    assert!(
        disagree.is_empty(),
        "git's x509 program and `sigctl verify {specs:?}` disagree on {disagree:?}:\n{table}\nverify: {}",
        h.scrub(&run.stdout)
    );
    assert!(compared > 0, "nothing compared:\n{table}");
    agreed
}

/// The armoured detached CMS signature (PEM `SIGNED MESSAGE`, as git's
/// x509 program makes it) over `payload` by certificate `HOME/ca/<cert>.crt`.
fn cms_armour(h: &History, cert: &str, payload: &[u8]) -> String {
    let home = h.repo.home();
    std::fs::write(home.join("tag-payload"), payload).expect("payload");
    h.repo.openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-nosmimecap",
        "-md",
        "sha256",
        "-in",
        "tag-payload",
        "-signer",
        &format!("ca/{cert}.crt"),
        "-inkey",
        &format!("ca/{cert}.key"),
        "-outform",
        "DER",
        "-out",
        "tag-sig.der",
    ]);
    let der = std::fs::read(home.join("tag-sig.der")).expect("the signature");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut armour = "-----BEGIN SIGNED MESSAGE-----\n".to_owned();
    for line in b64.as_bytes().chunks(64) {
        armour.push_str(std::str::from_utf8(line).expect("base64"));
        armour.push('\n');
    }
    armour.push_str("-----END SIGNED MESSAGE-----\n");
    armour
}

/// An annotated tag `name` on HEAD, made by hand as `git tag -s` makes it
/// with an x509 program (the payload, then the CMS signature by `cert`'s
/// key), written by `git mktag`; refs/tags/<name> points at it. Its id.
fn cms_tag(h: &History, cert: &str, name: &str) -> String {
    let commit = h.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let payload = format!(
        "object {commit}\ntype commit\ntag {name}\ntagger Test User <test@example.com> {} +0000\n\nrelease {name}\n",
        h.now.get()
    );
    let armour = cms_armour(h, cert, payload.as_bytes());
    let object = format!("{payload}{armour}");
    let id = h
        .git_stdin(&["mktag"], Some(object.as_bytes()))
        .trim()
        .to_owned();
    h.git(&["update-ref", &format!("refs/tags/{name}"), &id]);
    h.labels
        .borrow_mut()
        .push((id.clone(), format!("tag {name}")));
    h.now.set(h.now.get() + HOUR);
    id
}

// ---------------------------------------------------------------------------
// R1: the policy is signing.toml plus every file it references

#[test]
fn a_non_admin_replacing_a_certificate_the_policy_names_is_refused_by_both() {
    let h = cms_history();
    let ids = [
        sam(&h),
        hsm_identity(&h, "carol", "dev", &["dev"], ""),
        hsm_identity(&h, "release", "sec", &["prod"], ""),
    ]
    .concat();
    h.repo.write("signing.toml", policy_allowing_hsm(&h, &ids));
    let root = cms_signed(&h, "sam", "root");
    let other = h
        .repo
        .certificate("carols-release", "20260101000000Z", "20310101000000Z", true);

    // Carol (no admin) swaps release's certificate for one whose key she
    // holds, signing.toml untouched
    h.git(&["checkout", "-q", "-b", "replaced"]);
    h.repo.write("certs/release.pem", &other);
    let replaced = cms_signed(&h, "carol", "carol replaces release's certificate");
    // nor may she delete it
    h.git(&["checkout", "-q", "-b", "deleted", &root]);
    std::fs::remove_file(h.repo.path().join("certs/release.pem")).expect("rm");
    let deleted = cms_signed(&h, "carol", "carol deletes release's certificate");

    // kept: Sam (an admin) may replace it, and Carol may change other files
    h.git(&["checkout", "-q", "main"]);
    h.repo.write("certs/release.pem", &other);
    let by_sam = cms_signed(&h, "sam", "sam replaces release's certificate");
    h.repo.write("certs/README", "certificates live here\n");
    let work = cms_signed(&h, "carol", "carol's ordinary work");

    let a = agree(&h, &["main", "replaced", "deleted"]);
    a.expect(
        &h,
        &replaced,
        "invalid",
        "policy-change-without-admin",
        false,
    );
    a.expect(
        &h,
        &deleted,
        "invalid",
        "policy-change-without-admin",
        false,
    );
    a.expect(&h, &root, "valid", "authorised", true);
    a.expect(&h, &by_sam, "valid", "authorised", true);
    a.expect(&h, &work, "valid", "authorised", true);
}

// ---------------------------------------------------------------------------
// R2: public_key pins

#[test]
fn a_certificate_without_its_pinned_key_is_refused_by_both() {
    let h = cms_history();
    h.repo
        .certificate("other", "20260101000000Z", "20310101000000Z", true);
    let sam = sam(&h);
    let carol = |pin: &str| {
        hsm_identity_with(
            "carol",
            "dev",
            &["dev"],
            "certs/carol.pem",
            &format!("public_key = {pin:?}\n"),
        )
    };
    let pem = h
        .repo
        .certificate("carol", "20260101000000Z", "20310101000000Z", true);
    h.repo.write("certs/carol.pem", pem);
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(&h, &format!("{sam}{}", carol(&spki_pin(&h, "other")))),
    );
    let root = cms_signed(&h, "sam", "root: carol pinned to another key");

    h.git(&["checkout", "-q", "-b", "mismatch"]);
    let mismatch = cms_signed(&h, "carol", "carol signs with her certificate");

    // kept: Sam pins the key her certificate carries; the same certificate signs
    h.git(&["checkout", "-q", "main"]);
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(&h, &format!("{sam}{}", carol(&spki_pin(&h, "carol")))),
    );
    let repinned = cms_signed(&h, "sam", "sam pins carol's real key");
    let by_carol = cms_signed(&h, "carol", "carol signs again");

    let a = agree(&h, &["main", "mismatch"]);
    a.expect(&h, &mismatch, "invalid", "certificate-key-mismatch", false);
    a.expect(&h, &root, "valid", "authorised", true);
    a.expect(&h, &repinned, "valid", "authorised", true);
    a.expect(&h, &by_carol, "valid", "authorised", true);
}

// ---------------------------------------------------------------------------
// R4: merges, without rollback

#[test]
fn a_non_admin_merge_keeping_a_policy_an_admin_replaced_is_refused_by_both() {
    // Sam (admin) removes Dave from main's policy; Carol (no admin) merges a
    // branch forked before the removal and keeps its signing.toml.
    let h = cms_history();
    let sam = sam(&h);
    let carol = hsm_identity(&h, "carol", "dev", &["dev"], "");
    let dave = hsm_identity(&h, "dave", "dev", &["dev"], "");
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(&h, &format!("{sam}{carol}{dave}")),
    );
    let root = cms_signed(&h, "sam", "root");
    h.git(&["checkout", "-q", "-b", "feature"]);
    h.repo.write("feature.txt", "feature\n");
    let work = cms_signed(&h, "carol", "feature: carol's work");
    h.git(&["checkout", "-q", "main"]);
    // (certs/dave.pem stays in the tree, no longer named by the policy)
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(&h, &format!("{sam}{carol}")),
    );
    let removal = cms_signed(&h, "sam", "sam removes dave");

    h.git(&["merge", "-q", "--no-ff", "--no-commit", "feature"]);
    h.git(&["checkout", "feature", "--", "signing.toml"]);
    let merge = cms_signed(
        &h,
        "carol",
        "carol merges feature, keeping its signing.toml",
    );
    // verify: broken-chain (walk: not compared); git judges it alone
    cms_signed(&h, "dave", "dave is back");

    let a = agree(&h, &[]);
    a.expect(&h, &merge, "invalid", "policy-change-without-admin", false);
    a.expect(&h, &removal, "valid", "authorised", true);
    a.expect(&h, &work, "valid", "authorised", true);
    a.expect(&h, &root, "valid", "authorised", true);
}

#[test]
fn a_feature_branch_merged_keeping_the_newer_admin_policy_is_accepted_by_both() {
    // kept: a feature branch forked before Sam (admin) added Dave merges
    // into main keeping main's newer policy, signed by Carol (no admin)
    let h = cms_history();
    let sam = sam(&h);
    let carol = hsm_identity(&h, "carol", "dev", &["dev"], "");
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(&h, &format!("{sam}{carol}")),
    );
    let root = cms_signed(&h, "sam", "root");
    h.git(&["checkout", "-q", "-b", "feature"]);
    h.repo.write("feature.txt", "feature\n");
    let work = cms_signed(&h, "carol", "feature: carol's work");
    h.git(&["checkout", "-q", "main"]);
    let dave = hsm_identity(&h, "dave", "dev", &["dev"], "");
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(&h, &format!("{sam}{carol}{dave}")),
    );
    let added = cms_signed(&h, "sam", "sam adds dave");
    h.git(&["merge", "-q", "--no-ff", "--no-commit", "feature"]);
    let merge = cms_signed(&h, "carol", "carol merges feature");
    assert!(h.repo.read("signing.toml").contains("[identities.dave]"));
    let by_dave = cms_signed(&h, "dave", "dave after the merge");

    let a = agree(&h, &[]);
    for id in [&root, &work, &added, &merge, &by_dave] {
        a.expect(&h, id, "valid", "authorised", true);
    }
}

// ---------------------------------------------------------------------------
// R5: revocations reach everything

#[test]
fn a_key_revoked_under_one_name_signing_as_another_is_refused_by_both() {
    // One certificate declared as two identities, `release` and `release2`
    // (`sigctl check` refuses that policy; verify still judges it). The
    // revocation names one; the thief signs with the key, which is just as
    // much the other's.
    for revoked in ["release", "release2"] {
        let h = cms_history();
        let sam = sam(&h);
        let both = format!(
            "{}{}",
            hsm_identity(&h, "release", "dev", &["dev", "prod"], ""),
            hsm_identity_with("release2", "dev", &["dev", "prod"], "certs/release.pem", "")
        );
        h.repo.write(
            "signing.toml",
            policy_allowing_hsm(&h, &format!("{sam}{both}")),
        );
        h.at(day(0));
        let root = cms_signed(&h, "sam", "root");

        // kept: before the revocation, the key signs (on a branch dropped after)
        h.git(&["checkout", "-q", "-b", "before"]);
        h.at(day(2));
        let before = cms_signed(&h, "release", "release, unrevoked");
        agree(&h, &["before"]).expect(&h, &before, "valid", "authorised", true);
        h.git(&["checkout", "-q", "main"]);
        h.git(&["branch", "-q", "-D", "before"]);

        h.repo.write(
            "signing.toml",
            policy_allowing_hsm(
                &h,
                &format!(
                    "{sam}{both}{}",
                    revocation(revoked, "key-compromise", day(10), Some(day(5)))
                ),
            ),
        );
        h.at(day(10));
        let revocation_commit = cms_signed(&h, "sam", &format!("sam revokes `{revoked}`"));
        h.at(day(12));
        let stolen = cms_signed(&h, "release", "the thief");

        let a = agree(&h, &[]);
        a.expect(&h, &stolen, "invalid", "revoked-key", false);
        a.expect(&h, &revocation_commit, "valid", "authorised", true);
        a.expect(&h, &root, "valid", "authorised", true);
    }
}

#[test]
fn a_tag_by_a_key_revoked_at_head_is_refused_by_both() {
    // The release key is stolen; Sam revokes it at main's tip (key-compromise
    // since day 5). The thief tags an old commit, whose own policy has no
    // revocation; `sigctl verify v1.0` and `git verify-tag v1.0` both meet
    // the revocation at HEAD (main).
    let h = cms_history();
    let sam = sam(&h);
    let release = hsm_identity(&h, "release", "sec", &["prod"], "");
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(&h, &format!("{sam}{release}")),
    );
    h.at(day(0));
    cms_signed(&h, "sam", "root");
    h.repo.write("work.txt", "work\n");
    h.at(day(1));
    let old = cms_signed(&h, "sam", "sam's work");

    // kept: before the revocation, the key's tag verifies with both
    h.at(day(3));
    let before = cms_tag(&h, "release", "v0.9");
    agree(&h, &["v0.9"]).expect(&h, &before, "valid", "authorised", true);
    let (code, _, stderr) = git_status(&h, &["verify-tag", "v0.9"]);
    assert_eq!(code, 0, "git verify-tag v0.9: {stderr}");
    h.git(&["tag", "-d", "v0.9"]);

    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(
            &h,
            &format!(
                "{sam}{release}{}",
                revocation("release", "key-compromise", day(10), Some(day(5)))
            ),
        ),
    );
    h.at(day(10));
    cms_signed(&h, "sam", "sam revokes the release key");

    h.git(&["checkout", "-q", "--detach", &old]);
    h.at(day(7));
    let stolen = cms_tag(&h, "release", "v1.0");
    h.git(&["checkout", "-q", "main"]);

    let a = agree(&h, &["v1.0"]);
    a.expect(&h, &stolen, "invalid", "revoked-key", false);
    let (code, _, stderr) = git_status(&h, &["verify-tag", "v1.0"]);
    assert_ne!(code, 0, "git verify-tag v1.0 passed: {stderr}");
    assert!(stderr.contains("revoked-key"), "{stderr}");
}

// ---------------------------------------------------------------------------
// Revocations whose reach depends on the walk or on the ref verified. git's
// x509 program has neither: it applies the revocations of HEAD's policy once
// HEAD's own signature passes the commit rule (one step), and knows no other
// tip.

#[test]
fn a_revocation_at_a_head_that_does_not_verify() {
    // Carol (no admin) commits a revocation of the release key at main's
    // tip: a policy change without an admin, so HEAD does not verify, and
    // its revocations count for neither: a tag by the release key on an
    // older commit passes both (an unauthorised commit at HEAD cannot make
    // valid signatures fail).
    let h = cms_history();
    let sam = sam(&h);
    let carol = hsm_identity(&h, "carol", "dev", &["dev"], "");
    let release = hsm_identity(&h, "release", "sec", &["prod"], "");
    let ids = format!("{sam}{carol}{release}");
    h.repo.write("signing.toml", policy_allowing_hsm(&h, &ids));
    h.at(day(0));
    cms_signed(&h, "sam", "root");
    h.repo.write("work.txt", "work\n");
    let old = cms_signed(&h, "sam", "sam's work");
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(
            &h,
            &format!(
                "{ids}{}",
                revocation("release", "key-compromise", day(10), Some(day(5)))
            ),
        ),
    );
    let head = cms_signed(&h, "carol", "carol (no admin) revokes the release key");
    h.git(&["checkout", "-q", "--detach", &old]);
    let tag = cms_tag(&h, "release", "v1.0");
    h.git(&["checkout", "-q", "main"]);

    agree(&h, &["main"]).expect(&h, &head, "invalid", "policy-change-without-admin", false);
    let a = agree(&h, &["v1.0"]);
    a.expect(&h, &tag, "valid", "authorised", true);
}

#[test]
fn a_revocation_at_a_verified_tip_other_than_head() {
    // On feature, the release key signs a commit (signing time after
    // compromised_since), then Sam (admin) revokes the key. `sigctl verify
    // feature` meets the revocation at its tip; git's program meets it
    // only when HEAD is feature (then both refuse).
    let h = cms_history();
    let sam = sam(&h);
    let release = hsm_identity(&h, "release", "dev", &["dev"], "");
    let ids = format!("{sam}{release}");
    h.repo.write("signing.toml", policy_allowing_hsm(&h, &ids));
    h.at(day(0));
    cms_signed(&h, "sam", "root");
    h.git(&["checkout", "-q", "-b", "feature"]);
    h.repo.write("work.txt", "work\n");
    let stolen = cms_signed(&h, "release", "the thief, on feature");
    h.repo.write(
        "signing.toml",
        policy_allowing_hsm(
            &h,
            &format!(
                "{ids}{}",
                revocation("release", "key-compromise", day(10), Some(day(5)))
            ),
        ),
    );
    h.at(day(10));
    cms_signed(&h, "sam", "sam revokes the release key on feature");

    // HEAD = feature: both refuse
    agree(&h, &["feature"]).expect(&h, &stolen, "invalid", "revoked-key", false);
    // HEAD = main: `sigctl verify feature` still meets the revocation at
    // the tip it verifies; git's program, which is told no ref, judges by
    // main's policy, where the key is not revoked (documented in README)
    h.git(&["checkout", "-q", "main"]);
    let run = h.verify(&["feature"]);
    crate::verify::expect(&run, &stolen, "invalid", "revoked-key");
    let log = h.git(&["log", "--format=%H %G?", "feature"]);
    assert!(log.contains(&format!("{stolen} G")), "{log}");
}
