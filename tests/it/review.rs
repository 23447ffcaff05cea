//! `sigctl review BASE..HEAD`: the semantic diff of signing.toml between two
//! commits (each change's code, risk, control and line), who signed each
//! policy change, and the exit code a CI gate reads. Real repositories made
//! by the real git; signed histories from `verify`'s SSH helpers.

use serde_json::Value;

use crate::util::{Run, TestRepo, redact};
use crate::verify::rooted;

/// A policy with an hsm release identity (prod), a keyless CI identity and a
/// developer with an SSH key.
const BASE: &str = r#"version = 1

[policy]
admins = ["sec"]

[owners.sec]
contact = "sec@example.com"

[owners.dev]
contact = "dev@example.com"

[environments.dev]
refs = ["refs/heads/*"]
custody = ["unmanaged", "keyless"]

[environments.prod]
refs = ["refs/tags/v*"]
custody = ["hsm"]
require_trusted_time = true
class = "prod"

[identities.release]
owner = "sec"
environments = ["prod"]
custody = "hsm"
key = "pkcs11:token=t;object=release"
certificate = "certs/release.pem"
renew_before = "60d"

[identities.ci]
owner = "dev"
environments = ["dev"]
custody = "keyless"
keyless = { issuer = "https://token.actions.githubusercontent.com", subject = "https://github.com/o/r/.github/workflows/ci.yml@refs/heads/main" }

[identities.bob]
owner = "dev"
environments = ["dev"]
custody = "unmanaged"
ssh_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJvYmJvYmJvYmJvYmJvYmJvYmJvYmJvYmJvYmJvYmJvYmJv bob"

[[revocations]]
identity = "old"
reason = "retired"
revoked_at = "2026-01-01T00:00:00Z"

[identities.old]
owner = "dev"
environments = []
custody = "unmanaged"
ssh_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9sZG9sZG9sZG9sZG9sZG9sZG9sZG9sZG9sZG9sZG9s old"
"#;

/// A repository whose first commit holds BASE (and its certificate), whose
/// second holds `head` (after `prepare`); unsigned.
fn two_commits(head: &str, prepare: impl FnOnce(&TestRepo)) -> TestRepo {
    let repo = TestRepo::new();
    let cert = repo.certificate("release", "20260101000000Z", "20280101000000Z", true);
    repo.write("certs/release.pem", cert);
    repo.write("signing.toml", BASE);
    repo.commit("base");
    prepare(&repo);
    repo.write("signing.toml", head);
    repo.commit("head");
    repo
}

fn review(repo: &TestRepo, format: &str) -> Run {
    repo.sigctl(&["review", "HEAD~1..HEAD", "--format", format, "--no-cache"])
}

fn changes(run: &Run) -> Vec<Value> {
    run.json()["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The one change with `code`.
#[track_caller]
fn change(run: &Run, code: &str) -> Value {
    let hits: Vec<Value> = changes(run)
        .into_iter()
        .filter(|c| c["code"] == code)
        .collect();
    assert_eq!(hits.len(), 1, "one `{code}` change: {}", run.stdout);
    hits.into_iter().next().unwrap_or_default()
}

/// The line of `needle`'s first occurrence in `text` (1-based).
fn line_of(text: &str, needle: &str) -> u64 {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in the policy"));
    text[..at].matches('\n').count() as u64 + 1
}

#[test]
fn an_unchanged_policy_has_no_change() {
    let repo = two_commits(BASE, |_| {});
    let run = review(&repo, "json");
    assert!(changes(&run).is_empty(), "{}", run.stdout);
    // the unsigned policy commit in range is still no admin's change
    assert_eq!(
        run.json()["policy_commits"].as_array().map(Vec::len),
        Some(0),
        "{}",
        run.stdout
    );
}

#[test]
fn custody_weakened_is_high_on_its_line() {
    let head = BASE.replace(
        "custody = \"keyless\"\nkeyless",
        "custody = \"unmanaged\"\nkeyless",
    );
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "json");
    let c = change(&run, "custody-weakened");
    assert_eq!(c["risk"], "high");
    assert_eq!(c["subject"], "ci");
    assert_eq!(c["control"], "OWASP NHI2:2025 Secret Leakage");
    assert_eq!(
        c["line"],
        line_of(&head, "custody = \"unmanaged\"\nkeyless")
    );
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert_eq!(run.json()["blocking"], true);
}

#[test]
fn identity_gaining_prod_is_high_and_gaining_dev_is_medium() {
    let head = BASE
        .replace(
            "owner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"",
            "owner = \"dev\"\nenvironments = [\"dev\", \"prod\"]\ncustody = \"unmanaged\"",
        )
        .replace("environments = []", "environments = [\"dev\"]");
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "json");
    let prod = change(&run, "prod-environment-granted");
    assert_eq!(
        (prod["risk"].as_str(), prod["subject"].as_str()),
        (Some("high"), Some("bob"))
    );
    assert_eq!(prod["control"], "OWASP NHI5:2025 Overprivileged NHI");
    assert_eq!(
        prod["line"],
        line_of(&head, "\"prod\"]\ncustody = \"unmanaged\"")
    );
    let dev = change(&run, "environment-granted");
    assert_eq!(
        (dev["risk"].as_str(), dev["subject"].as_str()),
        (Some("medium"), Some("old"))
    );
}

#[test]
fn environment_widening_is_detected() {
    let head = BASE
        .replace("refs = [\"refs/tags/v*\"]", "refs = [\"refs/tags/*\"]")
        .replace("require_trusted_time = true\n", "")
        .replace(
            "custody = [\"unmanaged\", \"keyless\"]",
            "custody = [\"unmanaged\", \"keyless\"]\n",
        )
        .replace(
            "refs = [\"refs/heads/*\"]",
            "refs = [\"refs/heads/*\", \"refs/pull/*\"]",
        )
        .replace("custody = [\"hsm\"]", "custody = [\"hsm\", \"keyless\"]");
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "json");
    let broad = change(&run, "prod-refs-broadened");
    assert_eq!(broad["risk"], "high");
    assert_eq!(broad["line"], line_of(&head, "\"refs/tags/*\""));
    assert_eq!(change(&run, "prod-refs-removed")["risk"], "high");
    let tt = change(&run, "trusted-time-disabled");
    assert_eq!(
        (tt["risk"].as_str(), tt["subject"].as_str()),
        (Some("high"), Some("prod"))
    );
    assert_eq!(change(&run, "prod-custody-widened")["risk"], "high");
    let dev = change(&run, "environment-refs-broadened");
    assert_eq!(
        (dev["risk"].as_str(), dev["subject"].as_str()),
        (Some("medium"), Some("dev"))
    );
}

#[test]
fn admins_owners_and_renewal_changes_are_detected() {
    let head = BASE
        .replace("admins = [\"sec\"]", "admins = [\"dev\"]")
        .replace(
            "contact = \"dev@example.com\"",
            "contact = \"dev@example.com\"\nmembers = [\"eve@example.com\"]",
        )
        .replace("renew_before = \"60d\"\n", "")
        .replace(
            "owner = \"sec\"\nenvironments = [\"prod\"]",
            "owner = \"dev\"\nenvironments = [\"prod\"]",
        );
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "json");
    let added = change(&run, "admin-added");
    assert_eq!(
        (added["risk"].as_str(), added["subject"].as_str()),
        (Some("high"), Some("dev"))
    );
    assert_eq!(change(&run, "admin-removed")["risk"], "medium");
    let owner = change(&run, "owner-changed");
    assert_eq!(owner["details"]["members added"], "eve@example.com");
    assert_eq!(owner["risk"], "low");
    let renew = change(&run, "renew-before-shortened");
    assert_eq!(renew["risk"], "medium");
    assert!(
        renew["message"]
            .as_str()
            .is_some_and(|m| m.contains("60d → 30d")),
        "{renew}"
    );
    assert_eq!(change(&run, "identity-owner-changed")["subject"], "release");
}

#[test]
fn identities_added_removed_and_rekeyed() {
    let head = BASE
        .replace("AAAAIGJvYmJv", "AAAAIGJvYmJX")
        .replace(
            "[[revocations]]",
            "[identities.carol]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nssh_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNhcm9sY2Fyb2xjYXJvbGNhcm9sY2Fyb2xjYXJvbGNh carol\"\n\n[[revocations]]",
        )
        .replace("[identities.ci]", "[identities.ci2]");
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "json");
    let added: Vec<Value> = changes(&run)
        .into_iter()
        .filter(|c| c["code"] == "identity-added")
        .collect();
    assert_eq!(
        added.len(),
        2,
        "carol, and ci under its new name: {}",
        run.stdout
    );
    let carol = added
        .iter()
        .find(|c| c["subject"] == "carol")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (carol["subject"].as_str(), carol["risk"].as_str()),
        (Some("carol"), Some("medium"))
    );
    assert_eq!(carol["line"], line_of(&head, "[identities.carol]"));
    assert_eq!(carol["control"], "NIST CSF 2.0 PR.AA-01");
    assert!(
        carol["details"]["admin"].is_null(),
        "carol's owner is no admin: {carol}"
    );
    assert!(
        carol["details"]["ssh_key"]
            .as_str()
            .is_some_and(|k| k.ends_with("carol")),
        "{carol}"
    );
    let gone = change(&run, "identity-removed");
    assert_eq!(
        (gone["subject"].as_str(), gone["risk"].as_str()),
        (Some("ci"), Some("low"))
    );
    let key = change(&run, "identity-key-changed");
    assert_eq!(key["subject"], "bob");
    assert!(
        key["details"]["after"]
            .as_str()
            .is_some_and(|a| a.contains("AAAAIGJvYmJX")),
        "{key}"
    );
}

#[test]
fn a_replaced_certificate_names_both_fingerprints() {
    let repo = two_commits(BASE, |repo| {
        let new = repo.certificate("release2", "20260601000000Z", "20290101000000Z", true);
        repo.write("certs/release.pem", new);
    });
    let run = review(&repo, "json");
    let c = change(&run, "certificate-replaced");
    assert_eq!(
        (c["subject"].as_str(), c["risk"].as_str()),
        (Some("release"), Some("medium"))
    );
    let (old, new) = (
        c["details"]["old"].as_str().unwrap_or(""),
        c["details"]["new"].as_str().unwrap_or(""),
    );
    assert!(
        old.starts_with("sha256:") && new.starts_with("sha256:") && old != new,
        "{c}"
    );
    assert!(new.contains("2029-01-01"), "the new validity: {new}");
    assert!(new.contains("issuer"), "{new}");
}

#[test]
fn exceptions_and_revocations() {
    let head = BASE.replace(
        "[[revocations]]\nidentity = \"old\"\nreason = \"retired\"\nrevoked_at = \"2026-01-01T00:00:00Z\"\n",
        "[[exceptions]]\nid = \"INC-7\"\nidentity = \"bob\"\nenvironments = [\"prod\"]\nowner = \"sec\"\napproved_by = [\"ciso@example.com\"]\nreason = \"hotfix\"\nexpires = \"2026-12-01T00:00:00Z\"\n\n[[revocations]]\nidentity = \"bob\"\nreason = \"superseded\"\nrevoked_at = \"2026-02-01T00:00:00Z\"\n",
    );
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "json");
    let x = change(&run, "exception-added");
    assert_eq!(
        (x["subject"].as_str(), x["risk"].as_str()),
        (Some("INC-7"), Some("medium"))
    );
    assert_eq!(x["details"]["approved by"], "ciso@example.com");
    assert_eq!(x["details"]["production environments"], "prod");
    assert_eq!(x["line"], line_of(&head, "\"INC-7\""));
    let removed = change(&run, "revocation-removed");
    assert_eq!(
        (removed["subject"].as_str(), removed["risk"].as_str()),
        (Some("old"), Some("high"))
    );
    assert_eq!(removed["control"], "OWASP NHI1:2025 Improper Offboarding");
    assert_eq!(change(&run, "revocation-added")["subject"], "bob");
}

#[test]
fn a_replaced_trusted_root_is_high() {
    let with_root = |root: &str| {
        BASE.replace(
            "[identities.release]",
            &format!("[sigstore]\ntrusted_root = \"{root}\"\n\n[identities.release]"),
        )
    };
    let repo = TestRepo::new();
    repo.write("trust/root.json", "{\"a\": 1}");
    repo.write("signing.toml", with_root("trust/root.json"));
    repo.commit("base");
    repo.write("trust/root.json", "{\"a\": 2}");
    repo.commit("head");
    let run = review(&repo, "json");
    let c = change(&run, "trusted-root-replaced");
    assert_eq!(c["risk"], "high");
    assert_eq!(
        c["line"],
        line_of(&with_root("trust/root.json"), "\"trust/root.json\"")
    );
    assert_eq!(run.code, 1);
}

#[test]
fn a_broken_base_policy_is_a_finding_not_a_crash() {
    let repo = TestRepo::new();
    repo.write("signing.toml", "version = 1\n[policy\nadmins = \n");
    repo.commit("broken");
    repo.write("signing.toml", BASE);
    repo.commit("fixed");
    let run = review(&repo, "json");
    assert_eq!(run.code, 1, "{}", run.snapshot());
    let c = change(&run, "policy-unreadable");
    assert_eq!(c["risk"], "high");
    assert!(
        c["subject"].as_str().is_some_and(|s| s.starts_with("BASE")),
        "{c}"
    );
    assert_eq!(
        c["details"]["at"], "line 2, column 8 of BASE's policy",
        "{c}"
    );
    // verify still judges the range (the unsigned commit)
    assert_eq!(run.json()["verify"]["ok"], false);
    assert_eq!(run.json()["verify"]["unsigned"], 1);
}

#[test]
fn a_base_without_a_policy_is_a_finding_and_verify_says_why_it_cannot_run() {
    let repo = TestRepo::new();
    repo.write("README", "no policy yet\n");
    repo.commit("before");
    repo.write("signing.toml", BASE);
    repo.commit("policy");
    let run = review(&repo, "json");
    assert_eq!(run.code, 1, "{}", run.snapshot());
    let c = change(&run, "policy-unreadable");
    assert!(
        c["message"]
            .as_str()
            .is_some_and(|m| m.contains("no signing.toml")),
        "{c}"
    );
    let doc = run.json();
    assert_eq!(doc["verify"]["ok"], false);
    assert!(
        doc["verify"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{doc}"
    );
    assert_eq!(doc["policy_commits"][0]["authorised"], false, "{doc}");
}

#[test]
fn a_broken_head_policy_is_a_finding_on_its_line() {
    let repo = two_commits("version = 1\n\n[policy]\nadmins = [\"sec\"\n", |_| {});
    let run = review(&repo, "sarif");
    assert_eq!(run.code, 1, "{}", run.snapshot());
    let doc = run.json();
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "policy-unreadable");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
}

#[test]
fn a_missing_head_policy_is_a_finding() {
    let repo = TestRepo::new();
    repo.write("signing.toml", BASE);
    repo.commit("base");
    repo.git(&["rm", "-q", "signing.toml"]);
    repo.commit("gone");
    let run = review(&repo, "human");
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(run.stdout.contains("policy-unreadable"), "{}", run.stdout);
    assert!(
        run.stdout.contains("no signing.toml in the commit"),
        "{}",
        run.stdout
    );
}

#[test]
fn usage_errors_exit_2() {
    let repo = two_commits(BASE, |_| {});
    let none = repo.sigctl(&["review"]);
    assert_eq!(none.code, 2, "{}", none.snapshot());
    assert!(none.stderr.contains("BASE..HEAD"), "{}", none.stderr);
    let both = repo.sigctl(&["review", "HEAD~1..HEAD", "--base", "HEAD~1"]);
    assert_eq!(both.code, 2, "{}", both.snapshot());
    let three = repo.sigctl(&["review", "HEAD~1...HEAD"]);
    assert_eq!(three.code, 2, "{}", three.snapshot());
    assert!(three.stderr.contains("BASE..HEAD"), "{}", three.stderr);
    let unknown = repo.sigctl(&["review", "nope..HEAD"]);
    assert_eq!(unknown.code, 2, "{}", unknown.snapshot());
    let outside = TestRepo::new();
    let dir = tempfile::tempdir().expect("a directory");
    let run = outside.sigctl_in(dir.path(), &["review", "--base", "HEAD~1"]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
}

#[test]
fn base_flag_is_the_same_review() {
    let head = BASE.replace("admins = [\"sec\"]", "admins = [\"sec\", \"dev\"]");
    let repo = two_commits(&head, |_| {});
    let a = review(&repo, "json");
    let b = repo.sigctl(&[
        "review",
        "--base",
        "HEAD~1",
        "--format",
        "json",
        "--no-cache",
    ]);
    assert_eq!(a.json()["changes"], b.json()["changes"]);
    assert_eq!(b.code, 1);
}

#[test]
fn an_admin_signed_low_risk_change_passes() {
    let (h, _root) = rooted();
    let base = h.git(&["rev-parse", "HEAD"]).trim().to_owned();
    h.policy(
        &["alice", "bob"],
        "\n[owners.docs]\ncontact = \"docs@example.com\"\n",
    );
    let change = h.signed("alice", "add docs owner");
    let run = h.repo.sigctl(&[
        "review",
        &format!("{base}..HEAD"),
        "--format",
        "json",
        "--no-cache",
    ]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    let doc = run.json();
    assert_eq!(doc["blocking"], false);
    let commits = doc["policy_commits"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(commits.len(), 1, "{doc}");
    assert_eq!(commits[0]["commit"], change.as_str());
    assert_eq!(commits[0]["identity"], "alice");
    assert_eq!(commits[0]["signed_by_admin"], true);
    assert_eq!(commits[0]["authorised"], true);
    assert_eq!(doc["verify"]["ok"], true);
    assert_eq!(doc["changes"][0]["code"], "owner-changed");
}

#[test]
fn a_policy_change_by_a_non_admin_is_unauthorised() {
    let (h, _root) = rooted();
    let base = h.git(&["rev-parse", "HEAD"]).trim().to_owned();
    h.policy(
        &["alice", "bob"],
        "\n[owners.docs]\ncontact = \"docs@example.com\"\n",
    );
    let change = h.signed("bob", "bob edits the policy");
    let run = h.repo.sigctl(&[
        "review",
        &format!("{base}..HEAD"),
        "--format",
        "json",
        "--no-cache",
    ]);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    let doc = run.json();
    let commits = doc["policy_commits"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(commits.len(), 1, "{doc}");
    assert_eq!(commits[0]["commit"], change.as_str());
    assert_eq!(commits[0]["identity"], "bob");
    assert_eq!(commits[0]["signed_by_admin"], false);
    assert_eq!(commits[0]["authorised"], false);
    assert_eq!(commits[0]["reason"], "policy-change-without-admin");
    assert_eq!(commits[0]["rule"], "policy-change-without-admin");
    assert_eq!(doc["verify"]["ok"], false);
    // no high-risk change: the signer alone blocks
    assert!(
        doc["changes"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["risk"] != "high"))
    );

    let human = h.scrub(
        &h.repo
            .sigctl(&["review", &format!("{base}..HEAD"), "--no-cache"])
            .snapshot(),
    );
    insta::assert_snapshot!(
        "review_non_admin_human",
        human
            .replace(&base, "<base>")
            .replace(&base[..12], "<base>")
    );
    let md = h.scrub(
        &h.repo
            .sigctl(&[
                "review",
                &format!("{base}..HEAD"),
                "--format",
                "markdown",
                "--no-cache",
            ])
            .snapshot(),
    );
    insta::assert_snapshot!(
        "review_non_admin_markdown",
        md.replace(&base[..12], "<base>")
    );
}

#[test]
fn human_and_markdown_reports() {
    let head = BASE
        .replace(
            "custody = \"keyless\"\nkeyless",
            "custody = \"unmanaged\"\nkeyless",
        )
        .replace("renew_before = \"60d\"", "renew_before = \"7d\"");
    let repo = two_commits(&head, |_| {});
    let ids = |s: &str| {
        let base = repo.git(&["rev-parse", "HEAD~1"]).trim().to_owned();
        let headid = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
        redact(s, &repo)
            .replace(&base[..12], "<base>")
            .replace(&headid[..12], "<head>")
    };
    let human = review(&repo, "human");
    assert_eq!(human.code, 1);
    insta::assert_snapshot!("review_human", ids(&human.snapshot()));
    let md = review(&repo, "markdown");
    assert_eq!(md.code, 1);
    let table = md.stdout.find("| risk | code |").unwrap_or(usize::MAX);
    let details = md.stdout.find("<details>").unwrap_or(0);
    assert!(
        table < details,
        "the summary table comes first: {}",
        md.stdout
    );
    insta::assert_snapshot!("review_markdown", ids(&md.snapshot()));
}

#[test]
fn sarif_puts_each_finding_on_its_line() {
    let head = BASE.replace(
        "custody = \"keyless\"\nkeyless",
        "custody = \"unmanaged\"\nkeyless",
    );
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "sarif");
    assert_eq!(run.code, 1, "{}", run.snapshot());
    let doc = run.json();
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(
        doc["$schema"],
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    );
    let run0 = &doc["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "sigctl");
    let results = run0["results"].as_array().cloned().unwrap_or_default();
    let weakened = results
        .iter()
        .find(|r| r["ruleId"] == "custody-weakened")
        .unwrap_or_else(|| panic!("custody-weakened: {doc}"));
    assert_eq!(weakened["level"], "error");
    let loc = &weakened["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "signing.toml");
    assert_eq!(
        loc["region"]["startLine"],
        line_of(&head, "custody = \"unmanaged\"\nkeyless")
    );
    assert_eq!(loc["region"]["startColumn"], 11);
    let rules = run0["tool"]["driver"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for r in &results {
        let i = r["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(rules.get(i).map(|x| &x["id"]), Some(&r["ruleId"]), "{r}");
        assert_eq!(rules[i]["defaultConfiguration"]["level"], r["level"], "{r}");
    }
    // the unsigned policy commit is a result too
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "policy-change-without-admin"),
        "{doc}"
    );
}

#[test]
fn policy_strings_cannot_inject_markup_or_escapes() {
    let head = BASE.replace(
        "[[revocations]]",
        "[[exceptions]]\nid = \"</details><img src=x onerror=alert(1)> [link](https://evil.example) | cell\"\nidentity = \"bob\"\nenvironments = [\"dev\"]\nowner = \"sec\"\napproved_by = [\"ciso@example.com\"]\nreason = \"line one\\nline two \\u001b[31mred\"\nexpires = \"2026-12-01T00:00:00Z\"\n\n[[revocations]]",
    );
    let repo = two_commits(&head, |_| {});
    let md = review(&repo, "markdown");
    assert_eq!(md.code, 1, "{}", md.snapshot());
    assert!(!md.stdout.contains("<img"), "{}", md.stdout);
    assert!(!md.stdout.contains("[link]("), "{}", md.stdout);
    assert_eq!(
        md.stdout.matches("</details>").count(),
        md.stdout.matches("<details>").count()
    );
    assert!(!md.stdout.contains('\u{1b}'), "{}", md.stdout);
    // every table row keeps its five cells
    for row in md.stdout.lines().filter(|l| l.starts_with("| ")) {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 6, "{row}");
    }
    let human = review(&repo, "human");
    assert!(!human.stdout.contains('\u{1b}'), "{}", human.stdout);
    assert!(
        human.stdout.contains("line one\\nline two"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_prod_environment_losing_its_class_or_removed_is_high() {
    let head = BASE.replace("class = \"prod\"\n", "class = \"dev\"\n");
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "json");
    let c = change(&run, "prod-class-removed");
    assert_eq!(
        (c["subject"].as_str(), c["risk"].as_str()),
        (Some("prod"), Some("high"))
    );
    assert_eq!(c["line"], line_of(&head, "class = \"dev\""));

    let gone = BASE
        .replace(
            "[environments.prod]\nrefs = [\"refs/tags/v*\"]\ncustody = [\"hsm\"]\nrequire_trusted_time = true\nclass = \"prod\"\n",
            "",
        )
        .replace("environments = [\"prod\"]", "environments = []");
    let repo = two_commits(&gone, |_| {});
    let run = review(&repo, "json");
    let c = change(&run, "prod-refs-removed");
    assert!(
        c["message"]
            .as_str()
            .is_some_and(|m| m.contains("refs/tags/v*")),
        "{c}"
    );
    assert_eq!(change(&run, "environment-removed")["risk"], "medium");
}

#[test]
fn an_exception_says_how_long_it_lasts() {
    let head = BASE.replace(
        "[[revocations]]",
        "[[exceptions]]\nid = \"INC-9\"\nidentity = \"bob\"\nenvironments = [\"prod\"]\nowner = \"sec\"\napproved_by = [\"a@example.com\", \"b@example.com\"]\nreason = \"hotfix\"\nexpires = \"2099-01-01T00:00:00Z\"\n\n[[revocations]]",
    );
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "json");
    let x = change(&run, "exception-added");
    assert_eq!(x["details"]["approved by"], "a@example.com, b@example.com");
    let lasts = x["details"]["lasts"].as_str().unwrap_or("");
    let days: i64 = lasts
        .split(' ')
        .next()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    assert!(days > 365 * 50, "{lasts}");
}

#[test]
fn an_empty_range_is_no_change_and_passes() {
    let repo = two_commits(BASE, |_| {});
    let run = repo.sigctl(&["review", "HEAD..HEAD", "--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    assert!(run.stdout.contains("0 change(s)"), "{}", run.stdout);
    assert!(run.stdout.contains("no commit in range"), "{}", run.stdout);
}

#[test]
fn a_new_identity_of_an_admin_owner_says_it_can_change_the_policy() {
    let head = BASE.replace(
        "[[revocations]]",
        "[identities.sec2]\nowner = \"sec\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nssh_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNlYzJzZWMyc2VjMnNlYzJzZWMyc2VjMnNlYzJzZWMy sec2\"\n\n[[revocations]]",
    );
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "json");
    let c = change(&run, "identity-added");
    assert!(
        c["details"]["admin"]
            .as_str()
            .is_some_and(|a| a.contains("can sign changes")),
        "{c}"
    );
}

/// A policy near the size limit with thousands of identities, all renamed:
/// the diff stays linear (a quadratic one would take minutes here).
#[test]
fn a_large_policy_diff_is_linear() {
    let many = |prefix: &str| {
        let mut s = BASE.to_owned();
        for i in 0..6_000 {
            s.push_str(&format!(
                "\n[identities.{prefix}{i}]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nssh_key = \"ssh-ed25519 AAAA{i}\"\n"
            ));
        }
        s
    };
    let repo = TestRepo::new();
    repo.write("signing.toml", many("a"));
    repo.commit("base");
    repo.write("signing.toml", many("b"));
    repo.commit("head");
    let started = std::time::Instant::now();
    let run = review(&repo, "json");
    let took = started.elapsed();
    let all = changes(&run);
    assert_eq!(
        all.iter().filter(|c| c["code"] == "identity-added").count(),
        6_000
    );
    assert_eq!(
        all.iter()
            .filter(|c| c["code"] == "identity-removed")
            .count(),
        6_000
    );
    assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
}

/// A merge that keeps one parent's policy changes nothing itself (as verify
/// judges): only the commit that made the change is reviewed for its signer.
#[test]
fn a_merge_keeping_a_parents_policy_is_no_policy_change() {
    let (h, _root) = rooted();
    let base = h.git(&["rev-parse", "HEAD"]).trim().to_owned();
    h.git(&["checkout", "-q", "-b", "topic"]);
    h.repo.write("README", "topic work\n");
    h.signed("bob", "topic work");
    h.git(&["checkout", "-q", "main"]);
    h.policy(
        &["alice", "bob"],
        "\n[owners.docs]\ncontact = \"docs@example.com\"\n",
    );
    let change = h.signed("alice", "alice adds an owner");
    h.git(&["checkout", "-q", "topic"]);
    let merge = h.signed_merge("bob", "main", "bob merges main");
    let run = h.repo.sigctl(&[
        "review",
        &format!("{base}..HEAD"),
        "--format",
        "json",
        "--no-cache",
    ]);
    let doc = run.json();
    let commits = doc["policy_commits"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(commits.len(), 1, "{doc}");
    assert_eq!(commits[0]["commit"], change.as_str());
    assert_eq!(commits[0]["authorised"], true);
    assert!(commits.iter().all(|c| c["commit"] != merge.as_str()));
    assert_eq!(run.code, 0, "{}", run.snapshot());
}

#[test]
fn an_unreadable_new_certificate_is_said() {
    let repo = two_commits(BASE, |repo| {
        repo.write("certs/release.pem", "not a certificate");
    });
    let run = review(&repo, "json");
    let c = change(&run, "certificate-replaced");
    assert!(
        c["details"]["new"]
            .as_str()
            .is_some_and(|n| n.starts_with("unreadable")),
        "{c}"
    );
    assert!(
        c["details"]["old"]
            .as_str()
            .is_some_and(|o| o.starts_with("sha256:")),
        "{c}"
    );
}

/// The Markdown comment stays under GitHub's 65536 characters, however large the diff.
#[test]
fn markdown_fits_a_pull_request_comment() {
    let many = |prefix: &str| {
        let mut s = BASE.to_owned();
        for i in 0..2_000 {
            s.push_str(&format!(
                "\n[identities.{prefix}{i}]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nssh_key = \"ssh-ed25519 AAAA{i}\"\n"
            ));
        }
        s
    };
    let repo = TestRepo::new();
    repo.write("signing.toml", many("a"));
    repo.commit("base");
    repo.write("signing.toml", many("b"));
    repo.commit("head");
    let md = review(&repo, "markdown");
    assert!(
        md.stdout.chars().count() < 65_536,
        "{} characters",
        md.stdout.chars().count()
    );
    assert!(
        md.stdout.contains("more change(s)"),
        "says what it left out"
    );
    assert_eq!(
        md.stdout.matches("<details>").count(),
        md.stdout.matches("</details>").count()
    );
}

/// verify judges the range with the environment of the ref HEAD names, as
/// `sigctl verify BASE..BRANCH` would: a dev identity's commit on a release
/// tag's range is refused for the tag's environment.
#[test]
fn verify_sees_the_ref_head_names() {
    let (h, _root) = rooted();
    let base = h.git(&["rev-parse", "HEAD"]).trim().to_owned();
    h.repo.write("README", "a fix\n");
    h.signed("bob", "bob's fix");
    h.git(&["tag", "v1.0"]);
    let on_main = h.repo.sigctl(&[
        "review",
        &format!("{base}..main"),
        "--format",
        "json",
        "--no-cache",
    ]);
    assert_eq!(on_main.json()["verify"]["ok"], true, "{}", on_main.stdout);
    let on_tag = h.repo.sigctl(&[
        "review",
        &format!("{base}..v1.0"),
        "--format",
        "json",
        "--no-cache",
    ]);
    assert_eq!(on_tag.json()["verify"]["ok"], false, "{}", on_tag.stdout);
    // no policy change: verify's verdict alone does not block
    assert_eq!(on_tag.code, 0, "{}", on_tag.snapshot());
}

/// BASE moved on since the pull request's branch left it (main added a
/// revocation): the diff starts where they part, so the branch is not shown
/// undoing main's change.
#[test]
fn a_base_that_moved_on_is_compared_at_the_fork_point() {
    let repo = TestRepo::new();
    repo.write("signing.toml", BASE);
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let head = BASE.replace("admins = [\"sec\"]", "admins = [\"sec\", \"dev\"]");
    repo.write("signing.toml", &head);
    repo.commit("topic: dev becomes admin");
    repo.git(&["checkout", "-q", "main"]);
    let revoked = BASE.replace(
        "[[revocations]]",
        "[[revocations]]\nidentity = \"bob\"\nreason = \"retired\"\nrevoked_at = \"2026-03-01T00:00:00Z\"\n\n[[revocations]]",
    );
    repo.write("signing.toml", revoked);
    repo.commit("main: bob retired");
    let fork = repo.git(&["merge-base", "main", "topic"]).trim().to_owned();
    let run = repo.sigctl(&["review", "main..topic", "--format", "json", "--no-cache"]);
    let doc = run.json();
    assert_eq!(doc["diff_base"], fork.as_str(), "{doc}");
    let all = changes(&run);
    let codes: Vec<&str> = all.iter().filter_map(|c| c["code"].as_str()).collect();
    assert_eq!(codes, ["admin-added"], "{doc}");
    let human = repo.sigctl(&["review", "main..topic", "--no-cache"]);
    assert!(human.stdout.contains("BASE moved on"), "{}", human.stdout);
}

/// The admin check is the commit rule on the policy commit's own signature:
/// an admin's policy change after an unsigned commit is authorised, while
/// verify over the range still reports the broken chain.
#[test]
fn an_admin_change_after_a_broken_link_is_authorised_and_verify_says_broken_chain() {
    let (h, _root) = rooted();
    let base = h.git(&["rev-parse", "HEAD"]).trim().to_owned();
    h.repo.write("README", "unsigned\n");
    h.unsigned("an unsigned commit");
    h.policy(
        &["alice", "bob"],
        "\n[owners.docs]\ncontact = \"docs@example.com\"\n",
    );
    let change = h.signed("alice", "alice adds an owner");
    let run = h.repo.sigctl(&[
        "review",
        &format!("{base}..HEAD"),
        "--format",
        "json",
        "--no-cache",
    ]);
    let doc = run.json();
    let commits = doc["policy_commits"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(commits.len(), 1, "{doc}");
    let c = &commits[0];
    assert_eq!(c["commit"], change.as_str());
    assert_eq!(
        (c["identity"].as_str(), c["rule"].as_str()),
        (Some("alice"), Some("authorised")),
        "{c}"
    );
    assert_eq!(
        (c["signed_by_admin"].as_bool(), c["authorised"].as_bool()),
        (Some(true), Some(true)),
        "{c}"
    );
    assert_eq!(c["reason"], "broken-chain", "{c}");
    assert_eq!(doc["verify"]["ok"], false);
    assert_eq!(
        run.code,
        0,
        "verify's verdict alone does not block: {}",
        run.snapshot()
    );
    let human = h
        .repo
        .sigctl(&["review", &format!("{base}..HEAD"), "--no-cache"]);
    assert!(
        human
            .stdout
            .contains("commit rule: authorised; verify over the range: broken-chain"),
        "{}",
        human.stdout
    );
}

/// A repository that does not use sigctl: nothing to review, said, exit 0.
#[test]
fn no_policy_on_either_side_is_nothing_to_review() {
    let repo = TestRepo::new();
    repo.write("README", "one\n");
    repo.commit("one");
    repo.write("README", "two\n");
    repo.commit("two");
    let run = review(&repo, "json");
    assert_eq!(run.code, 0, "{}", run.snapshot());
    assert!(changes(&run).is_empty(), "{}", run.stdout);
    assert!(
        run.json()["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("no policy")),
        "{}",
        run.stdout
    );
    let human = review(&repo, "human");
    assert!(
        human
            .stdout
            .contains("neither BASE nor HEAD has a signing.toml"),
        "{}",
        human.stdout
    );
}

/// Microsoft's SARIF validator (`@microsoft/sarif-multitool` 5.7.0, from
/// tests/workflow-tools, installed by `cargo xtask deps`).
fn sarif_validator() -> std::path::PathBuf {
    let tool = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/workflow-tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
    assert!(
        tool.is_file(),
        "the SARIF validator is not installed ({}): run `cargo xtask deps`",
        tool.display()
    );
    tool
}

/// The validator's verdict on `sarif`: its results (rule, level, message).
fn validate_sarif(repo: &TestRepo, sarif: &str) -> Vec<(String, String, String)> {
    let input = repo.home().join("review.sarif");
    let output = repo.home().join("validation.sarif");
    std::fs::write(&input, sarif).expect("write sarif");
    let out = std::process::Command::new(sarif_validator())
        .arg("validate")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["--log", "ForceOverwrite"])
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .output()
        .expect("Sarif.Multitool runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("Analysis completed successfully"),
        "the validator ran: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict: Value =
        serde_json::from_slice(&std::fs::read(&output).expect("the validator's log"))
            .expect("the validator's log is JSON");
    verdict["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap_or("").to_owned(),
                r["level"].as_str().unwrap_or("warning").to_owned(),
                r["message"]["text"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| r["message"].to_string()),
            )
        })
        .collect()
}

#[test]
fn sarif_passes_microsofts_validator() {
    // many kinds of finding at once: weakened custody, a shortened renewal,
    // an exception, a revocation removed, an unsigned policy change
    let head = BASE
        .replace(
            "custody = \"keyless\"\nkeyless",
            "custody = \"unmanaged\"\nkeyless",
        )
        .replace("renew_before = \"60d\"", "renew_before = \"7d\"")
        .replace(
            "[[revocations]]\nidentity = \"old\"\nreason = \"retired\"\nrevoked_at = \"2026-01-01T00:00:00Z\"\n",
            "[[exceptions]]\nid = \"INC-7\"\nidentity = \"bob\"\nenvironments = [\"prod\"]\nowner = \"sec\"\napproved_by = [\"ciso@example.com\"]\nreason = \"hotfix\"\nexpires = \"2026-12-01T00:00:00Z\"\n",
        );
    let repo = two_commits(&head, |_| {});
    let run = review(&repo, "sarif");
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(
        run.json()["runs"][0]["results"]
            .as_array()
            .is_some_and(|r| r.len() >= 5),
        "{}",
        run.stdout
    );
    let verdict = validate_sarif(&repo, &run.stdout);
    assert_eq!(
        verdict,
        vec![],
        "the validator's findings on:\n{}",
        run.stdout
    );

    // and a broken policy's finding (no identity, a line in BASE's text)
    let broken = TestRepo::new();
    broken.write("signing.toml", "version = 1\n[policy\nadmins = \n");
    broken.commit("broken");
    broken.write("signing.toml", BASE);
    broken.commit("fixed");
    let run = review(&broken, "sarif");
    assert_eq!(run.code, 1, "{}", run.snapshot());
    let verdict = validate_sarif(&broken, &run.stdout);
    assert_eq!(
        verdict,
        vec![],
        "the validator's findings on:\n{}",
        run.stdout
    );
}

#[test]
fn the_sarif_validator_is_a_judge_that_can_fail() {
    // the same check refuses a log that breaks the schema
    let repo = TestRepo::new();
    let verdict = validate_sarif(
        &repo,
        r#"{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[{"message":{}}]}]}"#,
    );
    assert!(
        verdict.iter().any(|(_, level, _)| level == "error"),
        "{verdict:?}"
    );
}
