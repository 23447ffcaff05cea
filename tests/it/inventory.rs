//! `sigctl inventory` over real repositories made by git: an HSM identity
//! on a SoftHSM token with a record from a real `sigctl sign artifact`,
//! SSH and keyless identities, broken and missing policies, the programme
//! findings (each with a case that triggers it and one that does not),
//! `--merge` of inventories made apart, CSV formula neutralisation, and
//! the human and Markdown reports.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::hsm::setup;
use crate::util::{Run, SIGCTL, TestRepo};

const NOW: &str = "2026-11-01T12:00:00Z";

/// Run sigctl in `dir` with no HOME of a repository's.
fn sigctl_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(SIGCTL)
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("sigctl runs");
    Run::from(out)
}

fn inventory(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["inventory", "--format", "json", "--now", NOW];
    all.extend_from_slice(args);
    let run = sigctl_in(dir, &all);
    assert!(run.code == 0 || run.code == 1, "{}", run.snapshot());
    (run.code, run.json())
}

fn ps(p: &Path) -> String {
    p.display().to_string()
}

fn codes(inv: &Value) -> Vec<String> {
    inv["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn identity<'a>(inv: &'a Value, repo: &str, name: &str) -> &'a Value {
    inv["identities"]
        .as_array()
        .and_then(|ids| {
            ids.iter()
                .find(|i| i["repository"] == repo && i["name"] == name)
        })
        .unwrap_or_else(|| panic!("no identity {name} of {repo}: {inv:#}"))
}

fn repository<'a>(inv: &'a Value, path: &str) -> &'a Value {
    inv["repositories"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["path"] == path))
        .unwrap_or_else(|| panic!("no repository {path}: {inv:#}"))
}

/// A public key line from a fresh ssh-keygen key in HOME.
fn ssh_key(repo: &TestRepo, name: &str) -> String {
    let path = repo.home().join(name);
    let _ = std::fs::remove_file(&path);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success());
    let line = std::fs::read_to_string(path.with_extension("pub")).expect("public key");
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The head of a policy: one owner (with its contact) that is admin, a
/// prod environment (class prod, hsm and keyless) and a dev one.
fn head(owner: &str, contact: &str) -> String {
    format!(
        "version = 1\n\n[policy]\nadmins = [\"{owner}\"]\n\n[owners.{owner}]\ncontact = \"{contact}\"\n\n\
         [environments.prod]\nrefs = [\"refs/tags/v*\"]\ncustody = [\"hsm\", \"keyless\"]\nclass = \"prod\"\n\n\
         [environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"unmanaged\", \"keyless\"]\nclass = \"dev\"\n"
    )
}

fn ssh_identity(name: &str, owner: &str, key: &str) -> String {
    format!(
        "\n[identities.{name}]\nowner = \"{owner}\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nssh_key = \"{key}\"\n"
    )
}

fn keyless_identity(name: &str, owner: &str, env: &str, subject: &str) -> String {
    format!(
        "\n[identities.{name}]\nowner = \"{owner}\"\nenvironments = [\"{env}\"]\ncustody = \"keyless\"\n\
         keyless = {{ issuer = \"https://token.actions.githubusercontent.com\", subject = \"{subject}\" }}\n"
    )
}

fn hsm_identity(name: &str, owner: &str, uri: &str, cert: &str) -> String {
    format!(
        "\n[identities.{name}]\nowner = \"{owner}\"\npurpose = \"Sign releases\"\nenvironments = [\"prod\"]\n\
         custody = \"hsm\"\nkey = \"{uri}\"\ncertificate = \"{cert}\"\nrenew_before = \"30d\"\n"
    )
}

/// A repository holding `policy` and `files`, committed.
fn repo_with(policy: &str, files: &[(&str, Vec<u8>)]) -> TestRepo {
    let r = TestRepo::new();
    r.write("README", "a project\n");
    r.write("signing.toml", policy);
    for (p, b) in files {
        r.write(p, b);
    }
    r.commit("policy");
    r
}

/// A certificate from the repository's test CA, valid 2026-01-01 to `end`.
fn cert(r: &TestRepo, name: &str, end: &str) -> Vec<u8> {
    r.certificate(name, "20260101000000Z", end, true)
}

#[test]
fn every_identity_with_its_certificate_and_recorded_use() {
    // an HSM identity on a real token, its certificate from the test CA,
    // one signing event recorded by a real `sign artifact`
    let s = setup();
    s.repo.write("dist/app.tar", b"release payload\n");
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "artifact", "dist/app.tar", "--identity", "release"],
    );
    // an SSH identity, a keyless one
    let ssh = TestRepo::new();
    let key = ssh_key(&ssh, "alice");
    let ssh = {
        let policy = head("dev", "dev@example.com") + &ssh_identity("alice", "dev", &key);
        ssh.write("signing.toml", policy);
        ssh.commit("policy");
        ssh
    };
    let keyless = repo_with(
        &(head("ci", "ci@example.com")
            + &keyless_identity("ci-release", "ci", "prod", "repo:acme/app:ref:refs/tags/v1")),
        &[],
    );
    let (a, b, c) = (ps(&s.repo.path()), ps(&ssh.path()), ps(&keyless.path()));
    // the clock, not --now: the token's certificate is valid from yesterday for 90 days
    let run = sigctl_in(&ssh.path(), &["inventory", "--format", "json", &a, &b, &c]);
    let inv = run.json();
    assert_eq!(inv["format"], "sigctl-inventory");
    assert_eq!(inv["version"], 1);
    for p in [&a, &b, &c] {
        assert_eq!(repository(&inv, p)["status"], "ok", "{inv:#}");
    }
    let release = identity(&inv, &a, "release");
    assert_eq!(release["custody"], "hsm");
    assert_eq!(release["owner"], "release");
    assert!(release["contact"].is_string(), "{release:#}");
    assert_eq!(
        release["key_reference"],
        "pkcs11:token=sigctl;object=release"
    );
    assert_eq!(release["classes"], serde_json::json!(["prod"]));
    let cert = &release["certificates"][0];
    assert!(
        cert["issuer"]
            .as_str()
            .unwrap_or_default()
            .contains("Test HSM CA"),
        "{cert}"
    );
    assert!(
        cert["serial"].is_string() && cert["not_after"].is_string(),
        "{cert}"
    );
    assert_eq!(cert["status"], "valid");
    let days = release["days_to_expiry"].as_i64().unwrap_or_default();
    assert!((87..=89).contains(&days), "{release:#}");
    assert!(release["renewal_due"].is_string());
    // the signed commit of the setup and the artefact
    assert_eq!(release["events_90d"], 2, "{release:#}");
    assert!(release["last_used"].is_string(), "{release:#}");
    assert_eq!(release["status"], serde_json::json!(["ok"]), "{release:#}");
    // the key's fingerprint is its certificate's public key
    assert_eq!(
        release["key_fingerprint"].as_str().map(str::len),
        Some(64),
        "{release:#}"
    );
    let alice = identity(&inv, &b, "alice");
    assert!(
        alice["key_reference"]
            .as_str()
            .unwrap_or_default()
            .starts_with("ssh-ed25519 SHA256:"),
        "{alice:#}"
    );
    assert_eq!(alice["status"], serde_json::json!(["unused"]));
    let ci = identity(&inv, &c, "ci-release");
    assert_eq!(ci["custody"], "keyless");
    assert_eq!(
        ci["key_reference"],
        "keyless https://token.actions.githubusercontent.com repo:acme/app:ref:refs/tags/v1"
    );
    assert!(ci["key_fingerprint"].is_null());
    // a record added by hand counts as no use, and says so
    s.hsm.git_ok(
        &s.repo,
        &[
            "notes",
            "--ref",
            "refs/notes/signing",
            "append",
            "-m",
            "{\"not\": \"a record\"}",
            "HEAD",
        ],
    );
    let run = sigctl_in(&ssh.path(), &["inventory", "--format", "json", &a]);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    let inv = run.json();
    assert_eq!(codes(&inv), ["unauthenticated-record"], "{inv:#}");
    assert_eq!(identity(&inv, &a, "release")["events_90d"], 2);
}

#[test]
fn lifecycle_status_shadow_keys_and_exceptions() {
    let r = TestRepo::new();
    let (current, due, expired) = (
        cert(&r, "current", "20270101000000Z"),
        cert(&r, "due", "20261115000000Z"),
        cert(&r, "old", "20261001000000Z"),
    );
    let key = ssh_key(&r, "leaked");
    // the private half of `leaked` committed by mistake
    let private = std::fs::read(r.home().join("leaked")).expect("key");
    let policy = head("ops", "ops@example.com")
        + &hsm_identity(
            "current",
            "ops",
            "pkcs11:token=t;object=current",
            "certs/current.pem",
        )
        + &hsm_identity("due", "ops", "pkcs11:token=t;object=due", "certs/due.pem")
        + &hsm_identity("old", "ops", "pkcs11:token=t;object=old", "certs/old.pem")
        + &hsm_identity(
            "lost",
            "ops",
            "pkcs11:token=t;object=lost",
            "certs/lost.pem",
        )
        + &ssh_identity("leaked", "ops", &key)
        + "\n[[exceptions]]\nid = \"INC-1\"\nidentity = \"leaked\"\nenvironments = [\"prod\"]\nowner = \"ops\"\n\
           approved_by = [\"sam@example.com\"]\nreason = \"hotfix\"\nexpires = 2026-10-01T00:00:00Z\n\
           \n[[revocations]]\nidentity = \"old\"\nreason = \"retired\"\nrevoked_at = 2026-09-01T00:00:00Z\n";
    r.write("signing.toml", policy);
    r.write("certs/current.pem", current);
    r.write("certs/due.pem", due);
    r.write("certs/old.pem", expired);
    r.write("deploy/id_ed25519", private);
    r.commit("policy");
    let p = ps(&r.path());
    let (code, inv) = inventory(&r.path(), &[&p]);
    assert_eq!(code, 1);
    let status = |n: &str| identity(&inv, &p, n)["status"].clone();
    assert_eq!(status("current"), serde_json::json!(["unused"]));
    assert_eq!(status("due"), serde_json::json!(["renew-due", "unused"]));
    assert_eq!(status("old"), serde_json::json!(["revoked", "expired"]));
    assert_eq!(
        status("leaked"),
        serde_json::json!(["shadow-key", "unused"])
    );
    assert_eq!(identity(&inv, &p, "due")["days_to_expiry"], 13);
    assert_eq!(identity(&inv, &p, "old")["days_to_expiry"], -32);
    assert_eq!(
        identity(&inv, &p, "lost")["certificates"][0]["status"],
        "unreadable"
    );
    let mut c = codes(&inv);
    c.sort();
    assert_eq!(
        c,
        [
            "certificate-expired",
            "certificate-renewal-due",
            "exception-expired-without-review",
            "shadow-key",
            "unreadable-certificate",
        ],
        "{inv:#}"
    );
    let x = &inv["exceptions"][0];
    assert_eq!(
        (x["id"].as_str(), x["days_left"].as_i64()),
        (Some("INC-1"), Some(-32))
    );
    // no secret is printed: the key's body is nowhere in any format
    let body = String::from_utf8_lossy(&std::fs::read(r.home().join("leaked")).expect("key"))
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    for format in ["human", "json", "csv", "markdown"] {
        let run = sigctl_in(
            &r.path(),
            &["inventory", "--now", NOW, "--format", format, &p],
        );
        assert!(!run.stdout.contains(&body), "{format}");
    }
}

#[test]
fn bad_input_is_a_finding_and_the_rest_goes_on() {
    let good = repo_with(
        &(head("dev", "dev@example.com")
            + &keyless_identity("ci", "dev", "dev", "repo:acme/app:ref:refs/heads/main")),
        &[],
    );
    let broken = repo_with("version = 1\n[policy\nadmins = []\n", &[]);
    let missing = repo_with("", &[]);
    std::fs::remove_file(missing.path().join("signing.toml")).expect("rm");
    missing.commit("no policy");
    let empty = TestRepo::new();
    let check_errors = repo_with(
        &(head("dev", "dev@example.com") + &ssh_identity("x", "nobody", "ssh-ed25519 AAAA")),
        &[],
    );
    let bare = good.dir.path().join("bare.git");
    let st = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(good.path())
        .arg(&bare)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git clone");
    assert!(st.success());
    let plain = good.dir.path().join("plain");
    std::fs::create_dir_all(plain.join("sub")).expect("dir");
    let nowhere = good.dir.path().join("nowhere");
    let paths: Vec<String> = [
        good.path(),
        broken.path(),
        missing.path(),
        empty.path(),
        check_errors.path(),
        bare.clone(),
        plain.clone(),
        nowhere.clone(),
    ]
    .iter()
    .map(|p| ps(p))
    .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let (code, inv) = inventory(good.dir.path(), &args);
    assert_eq!(code, 1);
    let status = |p: &str| {
        repository(&inv, p)["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(status(&paths[0]), "ok");
    assert_eq!(status(&paths[1]), "broken-policy");
    assert_eq!(status(&paths[2]), "no-policy");
    assert_eq!(status(&paths[3]), "no-policy");
    assert_eq!(status(&paths[4]), "ok");
    // a bare mirror is read from HEAD like any clone
    assert_eq!(status(&paths[5]), "ok");
    assert_eq!(identity(&inv, &paths[5], "ci")["owner"], "dev");
    assert_eq!(status(&paths[6]), "not-a-repository");
    assert_eq!(status(&paths[7]), "not-a-repository");
    let of = |p: &str| -> Vec<String> {
        inv["findings"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter(|f| f["repositories"][0] == p)
                    .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(of(&paths[1]), ["broken-policy"]);
    assert_eq!(of(&paths[2]), ["no-policy"]);
    assert_eq!(of(&paths[4]), ["policy-has-errors"]);
    assert_eq!(of(&paths[6]), ["not-a-repository"]);
    // an unreadable directory in a search is reported, the others are read
    let search = good.dir.path().join("search");
    std::fs::create_dir_all(search.join("locked")).expect("dir");
    let st = Command::new("git")
        .args(["clone", "-q"])
        .arg(good.path())
        .arg(search.join("app"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git clone");
    assert!(st.success());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        search.join("locked"),
        std::fs::Permissions::from_mode(0o000),
    )
    .expect("chmod");
    let locked_readable = std::fs::read_dir(search.join("locked")).is_ok(); // root reads anyway
    let (_, inv) = inventory(good.dir.path(), &[&ps(&search)]);
    std::fs::set_permissions(
        search.join("locked"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    assert_eq!(repository(&inv, &ps(&search.join("app")))["status"], "ok");
    if !locked_readable {
        assert_eq!(
            repository(&inv, &ps(&search.join("locked")))["status"],
            "unreadable"
        );
    }
}

#[test]
fn a_key_in_several_repositories_is_found_by_its_fingerprint() {
    let a = TestRepo::new();
    let shared = ssh_key(&a, "shared");
    let other = ssh_key(&a, "other");
    let one = repo_with(
        &(head("dev", "a@example.com") + &ssh_identity("deploy", "dev", &shared)),
        &[],
    );
    let two = repo_with(
        &(head("dev", "b@example.com") + &ssh_identity("ci-bot", "dev", &shared)),
        &[],
    );
    let three = repo_with(
        &(head("dev", "c@example.com") + &ssh_identity("deploy", "dev", &other)),
        &[],
    );
    let (p1, p2, p3) = (ps(&one.path()), ps(&two.path()), ps(&three.path()));
    let (_, inv) = inventory(a.dir.path(), &[&p1, &p2, &p3]);
    let found: Vec<&Value> = inv["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|f| f["code"] == "identity-in-several-repositories")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(found.len(), 1, "{inv:#}");
    let mut both = [p1.clone(), p2.clone()];
    both.sort();
    assert_eq!(found[0]["repositories"], serde_json::json!(both));
    assert_eq!(
        found[0]["identities"],
        serde_json::json!(["ci-bot", "deploy"])
    );
    assert_eq!(found[0]["severity"], "warning");
    // the same name with another key is no finding
    let (_, inv) = inventory(a.dir.path(), &[&p1, &p3]);
    assert!(
        !codes(&inv).contains(&"identity-in-several-repositories".to_owned()),
        "{inv:#}"
    );
}

#[test]
fn one_owner_with_prod_identities_everywhere() {
    let prod = |subject: &str, contact: &str| {
        repo_with(
            &(head("ops", contact) + &keyless_identity("release", "ops", "prod", subject)),
            &[],
        )
    };
    let one = prod("repo:acme/one:ref:refs/tags/v1", "ops@example.com");
    let two = prod("repo:acme/two:ref:refs/tags/v1", "OPS@example.com");
    let dev_only = repo_with(
        &(head("ops", "ops@example.com")
            + &keyless_identity("dev", "ops", "dev", "repo:acme/three:ref:refs/heads/main")),
        &[],
    );
    let (p1, p2, p3) = (ps(&one.path()), ps(&two.path()), ps(&dev_only.path()));
    let (code, inv) = inventory(one.dir.path(), &[&p1, &p2]);
    assert_eq!(code, 0, "a warning: {inv:#}");
    assert_eq!(codes(&inv), ["owner-holds-prod-everywhere"], "{inv:#}");
    assert!(
        inv["findings"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with(
                "ops@example.com holds a prod identity in every one of the 2 repositories"
            )
    );
    // where the owner holds only a dev identity, no finding
    let (_, inv) = inventory(one.dir.path(), &[&p1, &p2, &p3]);
    assert!(codes(&inv).is_empty(), "{inv:#}");
    // nor with a single repository
    let (_, inv) = inventory(one.dir.path(), &[&p1]);
    assert!(codes(&inv).is_empty(), "{inv:#}");
}

#[test]
fn one_token_key_under_different_owners() {
    let make = |contact: &str| {
        let r = TestRepo::new();
        let c = cert(&r, "release", "20270101000000Z");
        let policy = head("rel", contact)
            + &hsm_identity(
                "release",
                "rel",
                "pkcs11:token=shared;object=release",
                "certs/release.pem",
            );
        r.write("signing.toml", policy);
        r.write("certs/release.pem", c);
        r.commit("policy");
        r
    };
    let (a, b, c) = (
        make("a@example.com"),
        make("b@example.com"),
        make("a@example.com"),
    );
    let (pa, pb, pc) = (ps(&a.path()), ps(&b.path()), ps(&c.path()));
    let (code, inv) = inventory(a.dir.path(), &[&pa, &pb]);
    assert_eq!(code, 1);
    assert_eq!(codes(&inv), ["hsm-key-shared-across-owners"], "{inv:#}");
    assert_eq!(inv["findings"][0]["severity"], "error");
    // the same owner in both: no such finding (it holds prod everywhere, though)
    let (code, inv) = inventory(a.dir.path(), &[&pa, &pc]);
    assert_eq!(
        (code, codes(&inv)),
        (0, vec!["owner-holds-prod-everywhere".to_owned()]),
        "{inv:#}"
    );
}

fn sorted(mut v: Value) -> Value {
    for key in ["repositories", "identities", "exceptions", "findings"] {
        if let Some(a) = v[key].as_array_mut() {
            a.sort_by_key(|x| x.to_string());
        }
    }
    v
}

#[test]
fn merge_is_the_inventory_of_all() {
    let a = TestRepo::new();
    let shared = ssh_key(&a, "shared");
    let one = repo_with(
        &(head("dev", "a@example.com") + &ssh_identity("deploy", "dev", &shared)),
        &[],
    );
    let two = repo_with(
        &(head("dev", "b@example.com") + &ssh_identity("bot", "dev", &shared)),
        &[],
    );
    let broken = repo_with("version = [\n", &[]);
    let (p1, p2, p3) = (ps(&one.path()), ps(&two.path()), ps(&broken.path()));
    let dir = a.dir.path();
    let save = |name: &str, args: &[&str]| -> PathBuf {
        let mut all = vec!["inventory", "--format", "json", "--now", NOW];
        all.extend_from_slice(args);
        let run = sigctl_in(dir, &all);
        let path = dir.join(name);
        std::fs::write(&path, &run.stdout).expect("write");
        path
    };
    let x = save("a.json", &[&p1]);
    let y = save("bc.json", &[&p2, &p3]);
    // apart, neither sees the shared key
    let (_, whole) = inventory(dir, &[&p1, &p2, &p3]);
    assert!(codes(&whole).contains(&"identity-in-several-repositories".to_owned()));
    let (code, merged) = inventory(dir, &["--merge", &ps(&x), &ps(&y)]);
    assert_eq!(code, 1, "the broken policy is kept");
    assert_eq!(sorted(merged), sorted(whole));
    // what is not an inventory is an error naming the file
    std::fs::write(
        dir.join("junk.json"),
        "{\"format\": \"sarif\", \"version\": 1}",
    )
    .expect("w");
    std::fs::write(dir.join("cut.json"), "{\"format\": \"sigctl-inventory\"").expect("w");
    std::fs::write(
        dir.join("v9.json"),
        "{\"format\": \"sigctl-inventory\", \"version\": 9}",
    )
    .expect("w");
    for bad in ["junk.json", "cut.json", "v9.json"] {
        let run = sigctl_in(dir, &["inventory", "--merge", &ps(&x), bad]);
        assert_eq!(run.code, 2, "{}", run.snapshot());
        assert!(run.stderr.contains(bad), "{}", run.stderr);
    }
    // one CI job per repository, each inventorying `.`: told apart by file
    let save_in = |repo: &TestRepo, name: &str| -> PathBuf {
        let run = sigctl_in(
            &repo.path(),
            &["inventory", "--format", "json", "--now", NOW, "."],
        );
        let path = dir.join(name);
        std::fs::write(&path, &run.stdout).expect("write");
        path
    };
    let (c1, c2) = (save_in(&one, "ci-one.json"), save_in(&two, "ci-two.json"));
    let (_, merged) = inventory(dir, &["--merge", &ps(&c1), &ps(&c2)]);
    let paths: Vec<&str> = merged["repositories"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["path"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(paths, [".".to_owned(), format!("{}:.", ps(&c2))]);
    assert!(codes(&merged).contains(&"identity-in-several-repositories".to_owned()));
}

#[test]
fn from_a_list_and_csv_cells_are_no_formulas() {
    let r = repo_with(
        &(head("dev", "=cmd|' /C calc'!A0")
            + &ssh_identity(
                "bot",
                "dev",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPKnD6Tc6eK0z4yU4E0bJx9YlQ9oH7d6N2p8j2y5f3Qb",
            )),
        &[],
    );
    let list = r.dir.path().join("repos.txt");
    std::fs::write(
        &list,
        format!("# our repositories\n{}  # the app\n\n", ps(&r.path())),
    )
    .expect("list");
    let run = sigctl_in(
        r.dir.path(),
        &[
            "inventory",
            "--now",
            NOW,
            "--format",
            "csv",
            "--from",
            &ps(&list),
        ],
    );
    let lines: Vec<&str> = run.stdout.split("\r\n").collect();
    assert!(
        lines[0].starts_with("repository,identity,owner,contact,"),
        "{}",
        run.stdout
    );
    assert_eq!(
        lines.len(),
        3,
        "header, one row, and the last CRLF: {}",
        run.stdout
    );
    assert!(lines[1].contains(",'=cmd|' /C calc'!A0,"), "{}", lines[1]);
    // html: one self-contained page (the browser tests are in html.rs)
    let run = sigctl_in(
        r.dir.path(),
        &["inventory", "--format", "html", &ps(&r.path())],
    );
    assert!(
        run.stdout.starts_with("<!DOCTYPE html>"),
        "{}",
        run.snapshot()
    );
    assert!(!run.stdout.contains("<script"), "{}", run.stdout);
}

/// `text` with the temp directories and 40-hex ids replaced.
fn redact(text: &str, dirs: &[(&Path, &str)]) -> String {
    let mut t = text.to_owned();
    for (d, name) in dirs {
        t = t.replace(&ps(d), name);
    }
    let mut out = String::new();
    let mut run = String::new();
    for ch in t.chars() {
        if ch.is_ascii_hexdigit() && ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            run.push(ch);
            continue;
        }
        out.push_str(if run.len() == 40 { "[ID]" } else { &run });
        run.clear();
        out.push(ch);
    }
    out.push_str(if run.len() == 40 { "[ID]" } else { &run });
    out
}

#[test]
fn human_and_markdown_reports() {
    let app = TestRepo::new();
    let c = cert(&app, "release", "20261115000000Z");
    let policy = head("ops", "ops@example.com")
        + &hsm_identity(
            "release",
            "ops",
            "pkcs11:token=rel;object=release",
            "certs/release.pem",
        )
        + &keyless_identity("ci", "ops", "prod", "repo:acme/app:ref:refs/tags/v1");
    app.write("signing.toml", policy);
    app.write("certs/release.pem", c);
    app.commit("policy");
    let lib = repo_with(
        &(head("ops", "ops@example.com")
            + &keyless_identity("ci", "ops", "prod", "repo:acme/lib:ref:refs/tags/v1")),
        &[],
    );
    let none = repo_with("version = 1\n", &[]);
    // side by side under one directory, named relative to it: the table's
    // widths do not depend on where the temporary directories are
    let work = tempfile::tempdir().expect("tempdir");
    for (from, name) in [(&app, "app"), (&lib, "lib"), (&none, "none")] {
        let st = Command::new("git")
            .args(["clone", "-q"])
            .arg(from.path())
            .arg(work.path().join(name))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .expect("git clone");
        assert!(st.success());
    }
    for format in ["human", "markdown"] {
        let args = [
            "inventory",
            "--now",
            NOW,
            "--format",
            format,
            "app",
            "lib",
            "none",
        ];
        let run = sigctl_in(work.path(), &args);
        let shown = redact(&run.snapshot(), &[]);
        insta::assert_snapshot!(format!("inventory_{format}"), shown);
    }
}
