//! Keyless signing against the local Sigstore stack (the Sigstore
//! project's own mock Fulcio, Rekor and TSA, and `openssl ts`, on loopback),
//! judged by sigctl's verifier, stock git, openssl and Sigstore's own
//! verifiers (sigstore-python, sigstore-js).

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::{Value, json};

use crate::util::sigstore::{
    self, Identity, Mode, Scope, Service, TEST_ISSUER, Thresholds, email_token, mint_token, now,
    stack,
};
use crate::util::{Run, SIGCTL, TestRepo};

const ALICE: &str = "alice@example.com";

/// A repository whose policy has one keyless identity, `alice`, signing
/// for branches (dev) and release tags (prod, which requires trusted time),
/// trusting the stack; its signing config names `scope`'s port. The first
/// commit (the trust root) is unsigned and pinned.
struct Keyless {
    repo: TestRepo,
    scope: Scope,
}

fn policy(subject: &str, issuer: &str) -> String {
    format!(
        r#"version = 1

[policy]
admins = ["team"]

[owners.team]
contact = "alice@example.com"
members = ["alice@example.com"]

[sigstore]
trusted_root = "sigstore/trusted_root.json"
signing_config = "sigstore/signing_config.json"

[environments.dev]
refs = ["refs/heads/*"]
custody = ["keyless"]

[environments.prod]
refs = ["refs/tags/v*"]
custody = ["keyless"]
require_trusted_time = true

[identities.alice]
owner = "team"
purpose = "Commits and releases"
environments = ["dev", "prod"]
custody = "keyless"
keyless = {{ issuer = "{issuer}", subject = "{subject}" }}
"#
    )
}

impl Keyless {
    fn new(label: &str) -> Self {
        Self::with_identity(label, ALICE, TEST_ISSUER)
    }

    fn with_identity(label: &str, subject: &str, issuer: &str) -> Self {
        Self::on(stack().scope(label), subject, Some(issuer))
    }

    /// On `scope`; `issuer` None: the scope's own OIDC provider.
    fn on(scope: Scope, subject: &str, issuer: Option<&str>) -> Self {
        let own = scope.oidc_url();
        let issuer = issuer.unwrap_or(&own);
        let repo = TestRepo::new();
        repo.write("signing.toml", policy(subject, issuer));
        std::fs::create_dir_all(repo.path().join("sigstore")).expect("dir");
        std::fs::copy(
            stack().trusted_root(),
            repo.path().join("sigstore/trusted_root.json"),
        )
        .expect("trusted root");
        std::fs::copy(
            scope.signing_config(),
            repo.path().join("sigstore/signing_config.json"),
        )
        .expect("signing config");
        let check = repo.sigctl(&["check"]);
        assert_eq!(check.code, 0, "{}", check.snapshot());
        for (k, v) in [
            ("gpg.format", "x509"),
            ("gpg.x509.program", SIGCTL),
            ("user.signingkey", "alice"),
        ] {
            repo.git(&["config", k, v]);
        }
        let k = Keyless { repo, scope };
        // the trust root, signed keyless under its own policy (the work tree's)
        if subject.contains('@') {
            k.repo.git(&["add", "-A"]);
            let token = mint_token(issuer, Identity::Email(subject), "sigstore", now() + 600);
            let c = k.git(&["commit", "-S", "-q", "-m", "policy"], Some(&token));
            assert_eq!(c.code, 0, "{}", c.snapshot());
        } else {
            k.repo.commit("policy");
        }
        let root = k.head();
        k.repo.git(&["config", "sigctl.trustRoot", &root]);
        k
    }

    /// A command in the repository, isolated like TestRepo's, with `token`
    /// as SIGSTORE_ID_TOKEN (none: the variable unset) and no CI ambient.
    fn command(&self, program: &str, args: &[&str], token: Option<&str>) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(self.repo.path())
            .env("HOME", self.repo.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env("SIGCTL_SIGSTORE_TIMEOUT", "5")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
            .env_remove("SIGSTORE_ID_TOKEN");
        if let Some(t) = token {
            cmd.env("SIGSTORE_ID_TOKEN", t);
        }
        cmd
    }

    fn run(&self, program: &str, args: &[&str], token: Option<&str>) -> Run {
        Run::from(
            self.command(program, args, token)
                .output()
                .expect("the program runs"),
        )
    }

    fn sigctl(&self, args: &[&str], token: Option<&str>) -> Run {
        self.run(SIGCTL, args, token)
    }

    fn git(&self, args: &[&str], token: Option<&str>) -> Run {
        self.run("git", args, token)
    }

    fn head(&self) -> String {
        self.repo.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    fn notes(&self) -> String {
        self.git(&["rev-parse", "-q", "--verify", "refs/notes/signing"], None)
            .stdout
            .trim()
            .to_owned()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.repo.path().join(rel)
    }

    /// The state a failed signing must leave untouched.
    fn state(&self) -> (String, String, String, Vec<String>) {
        let mut files: Vec<String> = std::fs::read_dir(self.repo.path())
            .expect("repo")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        (
            self.head(),
            self.notes(),
            self.repo.git(&["tag", "-l"]),
            files,
        )
    }
}

/// The commit's CMS signature (the `gpgsig` header) as PEM.
fn commit_signature(k: &Keyless, rev: &str) -> (Vec<u8>, Vec<u8>) {
    let raw = k.repo.git(&["cat-file", "commit", rev]);
    sigctl::repo::walk::split_commit_signature(raw.as_bytes()).expect("a signed commit")
}

/// A commit or tag signature re-packed as a Sigstore bundle over the
/// SHA-256 of its signed attributes (what its Rekor entry logs), so
/// Sigstore's own verifiers can judge it: certificate, signature, the log
/// entry with the body it stands for.
fn as_bundle(sig: &[u8], payload: &[u8]) -> (Value, String) {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let v = sigctl::signature::cms::verify_detached(sig, payload).expect("a valid CMS signature");
    let der = sigctl::signature::cms::dearmor(sig).expect("PEM");
    let (attrs, signature) = sigctl::signature::cms::signed_parts(&der).expect("signed parts");
    let (entry_pb, body) = v.rekor.expect("the Rekor entry is embedded");
    let e = sigctl::signature::rekor::LogEntry::decode(&entry_pb).expect("a log entry");
    let digest = sigstore::hex(&sha2_256(&attrs));
    let proof = e.proof.as_ref().map(|p| {
        json!({
            "logIndex": p.log_index.to_string(),
            "rootHash": b64(&p.root_hash),
            "treeSize": p.tree_size.to_string(),
            "hashes": p.hashes.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            "checkpoint": { "envelope": p.checkpoint },
        })
    });
    let mut entry = json!({
        "logIndex": e.log_index.to_string(),
        "logId": { "keyId": b64(&e.key_id) },
        "kindVersion": { "kind": e.kind, "version": e.version },
        "integratedTime": e.integrated_time.to_string(),
        "inclusionPromise": { "signedEntryTimestamp": b64(&e.set) },
        "canonicalizedBody": b64(&body),
    });
    if let Some(p) = proof {
        entry["inclusionProof"] = p;
    }
    (
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": { "rawBytes": b64(&v.certificate) },
                "tlogEntries": [entry],
            },
            "messageSignature": {
                "messageDigest": { "algorithm": "SHA2_256", "digest": b64(&sha2_256(&attrs)) },
                "signature": b64(&signature),
            },
        }),
        format!("sha256:{digest}"),
    )
}

fn sha2_256(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

#[test]
fn a_keyless_commit_through_git_verifies_with_its_log_time_and_sigstore_agrees() {
    let k = Keyless::new("commit");
    k.repo.write("a.txt", "one\n");
    k.repo.git(&["add", "a.txt"]);
    let token = email_token(ALICE);
    let certified = k.scope.requests(Service::Fulcio);
    let commit = k.git(&["commit", "-S", "-q", "-m", "keyless"], Some(&token));
    assert_eq!(commit.code, 0, "{}", commit.snapshot());
    assert_eq!(
        k.scope.requests(Service::Fulcio) - certified,
        1,
        "a certificate per run"
    );

    // sigctl judges it at the Rekor integrated time
    let v = k.sigctl(&["verify", "--format", "json"], None);
    assert_eq!(v.code, 0, "{}", v.snapshot());
    let head = k.head();
    let result = v.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["object"] == head.as_str())
        .cloned()
        .expect("HEAD judged");
    assert_eq!(result["verdict"], "valid");
    assert_eq!(result["identity"], "alice");
    assert_eq!(result["time_source"], "Rekor integrated time");
    // stock git, through sigctl as its x509 program
    let g = k.git(&["verify-commit", "HEAD"], None);
    assert_eq!(g.code, 0, "{}", g.snapshot());
    assert!(g.stderr.contains(ALICE), "{}", g.stderr);

    // openssl: the CMS verifies over the payload, chained to the stack's Fulcio root
    let (sig, payload) = commit_signature(&k, "HEAD");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("sig.der"),
        sigctl::signature::cms::dearmor(&sig).expect("PEM"),
    )
    .expect("write");
    std::fs::write(dir.path().join("payload"), &payload).expect("write");
    let ossl = Run::from(
        Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(dir.path().join("sig.der"))
            .arg("-content")
            .arg(dir.path().join("payload"))
            .arg("-CAfile")
            .arg(stack().fulcio_root_pem())
            .args(["-purpose", "any", "-out", "/dev/null"])
            .output()
            .expect("openssl"),
    );
    assert_eq!(ossl.code, 0, "{}", ossl.snapshot());

    // sigstore-python: the certificate, SCT, log entry and signature, by digest
    let (bundle, digest) = as_bundle(&sig, &payload);
    let b = dir.path().join("commit.sigstore.json");
    std::fs::write(&b, bundle.to_string()).expect("write");
    let py = sigstore::python_verify_identity(&b, &digest, ALICE, TEST_ISSUER);
    assert_eq!(py.code, 0, "{}", py.snapshot());
    let other = sigstore::python_verify_identity(&b, &digest, "mallory@example.com", TEST_ISSUER);
    assert_eq!(other.code, 1, "{}", other.snapshot());
    // a commit with another payload does not verify under that signature
    let mut changed = payload.clone();
    changed.extend_from_slice(b"x");
    assert!(sigctl::signature::cms::verify_detached(&sig, &changed).is_err());
}

#[test]
fn a_keyless_artefact_bundle_is_accepted_by_sigstore_python_and_sigstore_js() {
    let k = Keyless::new("artefact");
    let file = k.repo.write("dist/app.tar", "release bytes\n");
    let token = email_token(ALICE);
    let s = k.sigctl(
        &["sign", "artifact", "dist/app.tar", "--identity", "alice"],
        Some(&token),
    );
    assert_eq!(s.code, 0, "{}", s.snapshot());
    let bundle = k.path("dist/app.tar.sigstore.json");
    let json: Value =
        serde_json::from_slice(&std::fs::read(&bundle).expect("bundle")).expect("JSON");
    assert_eq!(
        json["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        json["verificationMaterial"]["tlogEntries"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(
        json["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
            ["signedTimestamp"]
            .is_string(),
        "{json:#}"
    );
    let f = file.display().to_string();
    // sigctl itself, against the policy's keyless identity and trusted root
    let mine = k.sigctl(
        &["verify-artifact", "dist/app.tar", "--format", "json"],
        None,
    );
    assert_eq!(mine.code, 0, "{}", mine.snapshot());
    assert!(mine.stdout.contains("alice"), "{}", mine.stdout);
    let py = sigstore::python_verify_identity(&bundle, &f, ALICE, TEST_ISSUER);
    assert_eq!(py.code, 0, "{}", py.snapshot());
    let js = sigstore::js_verify_identity(
        &bundle,
        &file,
        &stack().trusted_root(),
        Thresholds::KEYLESS,
        ALICE,
        TEST_ISSUER,
    );
    assert_eq!(js.code, 0, "{}", js.snapshot());
    // refused: another identity, a changed file
    let wrong = sigstore::python_verify_identity(&bundle, &f, "mallory@example.com", TEST_ISSUER);
    assert_eq!(wrong.code, 1, "{}", wrong.snapshot());
    std::fs::write(&file, "release bytes!\n").expect("write");
    let changed = sigstore::python_verify_identity(&bundle, &f, ALICE, TEST_ISSUER);
    assert_eq!(changed.code, 1, "{}", changed.snapshot());
    let mine = k.sigctl(&["verify-artifact", "dist/app.tar"], None);
    assert_eq!(mine.code, 1, "{}", mine.snapshot());
}

#[test]
fn a_keyless_tag_verifies_and_every_event_is_recorded_with_its_log_entry() {
    let k = Keyless::new("tag");
    let token = email_token(ALICE);
    let t = k.sigctl(
        &[
            "sign",
            "tag",
            "v1.0.0",
            "--identity",
            "alice",
            "-m",
            "Release 1.0.0",
        ],
        Some(&token),
    );
    assert_eq!(t.code, 0, "{}", t.snapshot());
    let g = k.git(&["verify-tag", "v1.0.0"], None);
    assert_eq!(g.code, 0, "{}", g.snapshot());
    // prod requires trusted time: the tag's Rekor time is one
    let v = k.sigctl(&["verify", "v1.0.0"], None);
    assert_eq!(v.code, 0, "{}", v.snapshot());

    let show = k.sigctl(&["provenance", "show", "v1.0.0", "--format", "json"], None);
    assert_eq!(show.code, 0, "{}", show.snapshot());
    let text = show.stdout.clone();
    assert!(!text.contains(&token), "the token is never recorded");
    let rec = &show.json()["records"][0];
    assert_eq!(rec["custody"], "keyless", "{rec:#}");
    assert_eq!(rec["keyless"]["issuer"], TEST_ISSUER);
    assert_eq!(rec["keyless"]["subject"], ALICE);
    assert!(rec["tlog"]["log_index"].is_i64(), "{rec:#}");
    assert_eq!(rec["time_source"], "rekor integrated time");
    assert_eq!(rec["signed_at"], rec["tlog"]["integrated_time"]);
    assert!(rec["certificate"]["der"].is_string());
    assert_eq!(rec["authenticated"], true, "{rec:#}");
    let audit = k.sigctl(&["audit", "--format", "json"], None);
    assert!(!audit.stdout.contains(&token));
}

#[test]
fn a_token_for_another_identity_or_expired_is_refused_before_anything_is_sent() {
    let k = Keyless::new("refusals");
    k.repo.write("a.txt", "one\n");
    k.repo.git(&["add", "a.txt"]);
    let before = k.state();
    let certified = k.scope.requests(Service::Fulcio);
    let mallory = email_token("mallory@example.com");
    let expired = mint_token(TEST_ISSUER, Identity::Email(ALICE), "sigstore", now() - 60);
    let elsewhere = mint_token(
        TEST_ISSUER,
        Identity::Email(ALICE),
        "sts.amazonaws.com",
        now() + 600,
    );
    for (what, token) in [
        ("another identity", &mallory),
        ("expired", &expired),
        ("another audience", &elsewhere),
    ] {
        let s = k.sigctl(
            &["sign", "tag", "v1.0.0", "--identity", "alice", "-m", "r"],
            Some(token),
        );
        assert_eq!(s.code, 1, "{what}: {}", s.snapshot());
        assert!(
            !s.stderr.contains(token.as_str()),
            "{what}: the token is never shown"
        );
        let c = k.git(&["commit", "-S", "-q", "-m", "x"], Some(token));
        assert_ne!(c.code, 0, "{what}");
        let a = k.sigctl(
            &["sign", "artifact", "a.txt", "--identity", "alice"],
            Some(token),
        );
        assert_eq!(a.code, 1, "{what}: {}", a.snapshot());
        assert_eq!(k.state(), before, "{what}: nothing written");
    }
    assert_eq!(
        k.scope.requests(Service::Fulcio),
        certified,
        "no token was sent"
    );
    let s = k.sigctl(
        &["sign", "tag", "v1.0.0", "--identity", "alice", "-m", "r"],
        Some(&mallory),
    );
    assert!(
        s.stderr.contains("mallory@example.com") && s.stderr.contains(ALICE),
        "{}",
        s.stderr
    );
    let e = k.sigctl(
        &["sign", "tag", "v1.0.0", "--identity", "alice", "-m", "r"],
        Some(&expired),
    );
    assert!(e.stderr.contains("expired"), "{}", e.stderr);
    // not a JWT at all: a fault, named, not shown
    let junk = "not-a-token-value";
    let j = k.sigctl(
        &["sign", "tag", "v1.0.0", "--identity", "alice", "-m", "r"],
        Some(junk),
    );
    assert_eq!(j.code, 2, "{}", j.snapshot());
    assert!(!j.stderr.contains(junk), "{}", j.stderr);
    // no token anywhere, no terminal: says where a token comes from
    let none = k.sigctl(
        &["sign", "tag", "v1.0.0", "--identity", "alice", "-m", "r"],
        None,
    );
    assert_eq!(none.code, 2, "{}", none.snapshot());
    assert!(none.stderr.contains("SIGSTORE_ID_TOKEN"), "{}", none.stderr);
    assert_eq!(k.state(), before);
}

#[test]
fn a_service_down_slow_garbage_or_lying_leaves_nothing_behind() {
    let k = Keyless::new("faults");
    k.repo.write("a.txt", "one\n");
    k.repo.git(&["add", "a.txt"]);
    let before = k.state();
    let token = email_token(ALICE);
    let cases = [
        (Service::Fulcio, Mode::Down, 2, "Fulcio"),
        (Service::Fulcio, Mode::Unavailable, 2, "Fulcio"),
        (Service::Fulcio, Mode::Garbage, 2, "Fulcio"),
        (Service::Fulcio, Mode::Slow, 2, "did not answer within"),
        (
            Service::Fulcio,
            Mode::Mismatch,
            2,
            "for the key it was asked to certify",
        ),
        (Service::Rekor, Mode::Down, 2, "Rekor"),
        (Service::Rekor, Mode::Garbage, 2, "Rekor"),
        (
            Service::Rekor,
            Mode::Mismatch,
            2,
            "does not match what was signed",
        ),
        (Service::Tsa, Mode::Down, 2, "TSA"),
        (Service::Tsa, Mode::Garbage, 2, "TSA"),
    ];
    k.scope.slow_secs(8.0);
    for (service, mode, code, says) in cases {
        k.scope.reset();
        k.scope.slow_secs(8.0);
        k.scope.fault(service, mode);
        // a commit or tag signature needs no timestamp (its log entry has the time)
        let cms = service != Service::Tsa;
        let tag = &["sign", "tag", "v1.0.0", "--identity", "alice", "-m", "r"][..];
        let artefact = &["sign", "artifact", "a.txt", "--identity", "alice"][..];
        let runs = if cms {
            vec![tag, artefact]
        } else {
            vec![artefact]
        };
        for args in runs {
            let s = k.sigctl(args, Some(&token));
            assert_eq!(
                s.code,
                code,
                "{service:?} {mode:?} {args:?}: {}",
                s.snapshot()
            );
            assert!(
                s.stderr.contains(says),
                "{service:?} {mode:?}: `{says}` not in {}",
                s.stderr
            );
            assert!(!s.stderr.contains(&token));
            assert!(!s.stderr.contains("panicked"), "{}", s.stderr);
        }
        if cms {
            let c = k.git(&["commit", "-S", "-q", "-m", "x"], Some(&token));
            assert_ne!(c.code, 0, "{service:?} {mode:?}");
        }
        assert_eq!(k.state(), before, "{service:?} {mode:?}: nothing written");
    }
    k.scope.reset();
}

#[test]
fn a_certificate_that_does_not_chain_to_the_policy_root_is_refused() {
    let k = Keyless::new("untrusted");
    // the policy trusts another instance's root (the public-good one)
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/trust/sigstore-public-good.trusted_root.json"),
        k.path("sigstore/trusted_root.json"),
    )
    .expect("copy");
    k.repo.git(&["add", "-A"]);
    k.repo.git(&["commit", "-q", "-m", "another root"]);
    let before = k.state();
    let s = k.sigctl(
        &["sign", "tag", "v1.0.0", "--identity", "alice", "-m", "r"],
        Some(&email_token(ALICE)),
    );
    assert_eq!(s.code, 1, "{}", s.snapshot());
    assert!(
        s.stderr.contains("does not chain to the trusted root"),
        "{}",
        s.stderr
    );
    assert_eq!(k.state(), before);
}

#[test]
fn github_actions_ambient_identity_signs_as_its_workflow() {
    let workflow = "octo/app/.github/workflows/release.yml@refs/heads/main";
    let subject = format!("https://github.com/{workflow}");
    let k = Keyless::with_identity("gha", &subject, sigstore::GITHUB_ISSUER);
    let jwt = sigstore::mint_jwt(&json!({
        "iss": sigstore::GITHUB_ISSUER,
        "aud": "sigstore",
        "sub": subject,
        "job_workflow_ref": workflow,
        "iat": now(), "nbf": now(), "exp": now() + 600,
    }));
    k.scope.set_gha_token(Some(&jwt));
    k.repo.write("dist/app.tar", "ci bytes\n");
    let mut cmd = k.command(
        SIGCTL,
        &["sign", "artifact", "dist/app.tar", "--identity", "alice"],
        None,
    );
    cmd.env("GITHUB_ACTIONS", "true")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", k.scope.gha_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-request-token");
    let s = Run::from(cmd.output().expect("sigctl"));
    assert_eq!(s.code, 0, "{}", s.snapshot());
    let py = sigstore::python_verify_identity(
        &k.path("dist/app.tar.sigstore.json"),
        &k.path("dist/app.tar").display().to_string(),
        &subject,
        sigstore::GITHUB_ISSUER,
    );
    assert_eq!(py.code, 0, "{}", py.snapshot());
}

/// An HSM identity whose release tags (prod) require trusted time, with the
/// policy trusting the stack and its signing config naming the openssl TSA.
fn hsm_with_tsa(scope: &Scope) -> crate::util::hsm::Setup {
    crate::util::hsm::setup_then(crate::util::hsm::PIN, |repo| {
        let dir = repo.path().join(".sigctl/sigstore");
        std::fs::copy(stack().trusted_root(), dir.join("trusted_root.json")).expect("root");
        std::fs::copy(
            scope.signing_config_openssl_tsa(),
            dir.join("signing_config.json"),
        )
        .expect("config");
        let policy = repo.read("signing.toml");
        let policy = policy.replacen(
            "class = \"prod\"",
            "class = \"prod\"\nrequire_trusted_time = true",
            1,
        );
        repo.write("signing.toml", policy);
    })
}

#[test]
fn hsm_bundles_for_trusted_time_carry_a_timestamp_sigstore_js_and_openssl_accept() {
    let scope = stack().scope("hsm-tsa");
    let s = hsm_with_tsa(&scope);
    let file = s.repo.write("dist/app.tar", "release bytes\n");
    s.hsm.sigctl_ok(
        &s.repo,
        &[
            "sign",
            "artifact",
            "dist/app.tar",
            "--identity",
            "release",
            "--ref",
            "refs/tags/v1.0.0",
        ],
    );
    assert_eq!(scope.requests(Service::OpensslTsa), 1);
    let bundle = s.repo.path().join("dist/app.tar.sigstore.json");
    // sigctl: the certificate judged at the TSA's time, from the policy's trusted root
    let mine = s.hsm.sigctl(
        &s.repo,
        &["verify-artifact", "dist/app.tar", "--format", "json"],
    );
    assert_eq!(mine.code, 0, "{}", mine.snapshot());
    assert!(
        mine.stdout.to_lowercase().contains("rfc3161")
            || mine.stdout.to_lowercase().contains("rfc 3161"),
        "{}",
        mine.stdout
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(&bundle).expect("bundle")).expect("JSON");
    let stamp = json["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
        ["signedTimestamp"]
        .as_str()
        .expect("an RFC 3161 timestamp")
        .to_owned();
    // sigstore-js: a certificate and a verified time, no log, against the
    // stack's trusted root with the HSM's CA added
    let dir = tempfile::tempdir().expect("dir");
    let mut with_ca: Value =
        serde_json::from_slice(&std::fs::read(stack().trusted_root()).expect("root"))
            .expect("JSON");
    let ca_pem = std::fs::read_to_string(s.ca.pem()).expect("CA");
    let ca_b64: String = ca_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    with_ca["certificateAuthorities"]
        .as_array_mut()
        .expect("CAs")
        .push(json!({
            "subject": { "commonName": "Test HSM CA" },
            "uri": "https://ca.example.test",
            "certChain": { "certificates": [{ "rawBytes": ca_b64 }] },
            "validFor": { "start": "2020-01-01T00:00:00Z" },
        }));
    let root = dir.path().join("trusted_root_with_ca.json");
    std::fs::write(&root, with_ca.to_string()).expect("write");
    let js = sigstore::js_verify(&bundle, &file, &root, Thresholds::TSA_ONLY);
    assert_eq!(js.code, 0, "{}", js.snapshot());
    // openssl ts: the token is over the signature, by the stack's TSA
    let b64 = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("base64")
    };
    std::fs::write(dir.path().join("reply.der"), b64(&stamp)).expect("write");
    let sig = b64(json["messageSignature"]["signature"]
        .as_str()
        .expect("signature"));
    std::fs::write(dir.path().join("sig.bin"), &sig).expect("write");
    let chain = stack().tsa_chain(sigstore::Tsa::Openssl);
    let ts = |data: &Path| {
        Run::from(
            Command::new("openssl")
                .args(["ts", "-verify", "-in"])
                .arg(dir.path().join("reply.der"))
                .arg("-data")
                .arg(data)
                .arg("-CAfile")
                .arg(&chain.root)
                .arg("-untrusted")
                .arg(&chain.leaf)
                .output()
                .expect("openssl"),
        )
    };
    let ok = ts(&dir.path().join("sig.bin"));
    assert_eq!(ok.code, 0, "{}", ok.snapshot());
    std::fs::write(dir.path().join("other.bin"), b"other bytes").expect("write");
    assert_ne!(
        ts(&dir.path().join("other.bin")).code,
        0,
        "a token over other bytes"
    );
    // sigstore-python refuses any bundle without a log entry, by design
    let py = sigstore::python_verify_identity(&bundle, &file.display().to_string(), "x", "y");
    assert_eq!(py.code, 1, "{}", py.snapshot());
    // a changed file: sigstore-js refuses
    std::fs::write(&file, "release bytes!\n").expect("write");
    let changed = sigstore::js_verify(&bundle, &file, &root, Thresholds::TSA_ONLY);
    assert_ne!(changed.code, 0, "{}", changed.snapshot());
    // a trusted root without that TSA: refused
    let mut bare: Value =
        serde_json::from_slice(&std::fs::read(&root).expect("root")).expect("JSON");
    bare["timestampAuthorities"] = json!([]);
    let bare_root = dir.path().join("no-tsa.json");
    std::fs::write(&bare_root, bare.to_string()).expect("write");
    std::fs::write(&file, "release bytes\n").expect("write");
    let untrusted = sigstore::js_verify(&bundle, &file, &bare_root, Thresholds::TSA_ONLY);
    assert_ne!(untrusted.code, 0, "{}", untrusted.snapshot());
}

#[test]
fn hsm_signatures_are_timestamped_only_when_trusted_time_is_asked_for() {
    let scope = stack().scope("hsm-tsa-when");
    let s = hsm_with_tsa(&scope);
    s.repo.write("a.bin", "a\n");
    s.repo.write("b.bin", "b\n");
    // dev (branches) does not require trusted time: no TSA call
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "artifact", "a.bin", "--identity", "release"],
    );
    assert_eq!(scope.requests(Service::OpensslTsa), 0);
    let a: Value = serde_json::from_str(&s.repo.read("a.bin.sigstore.json")).expect("JSON");
    assert!(
        a["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{a:#}"
    );
    // asked for
    s.hsm.sigctl_ok(
        &s.repo,
        &[
            "sign",
            "artifact",
            "b.bin",
            "--identity",
            "release",
            "--timestamp",
        ],
    );
    assert_eq!(scope.requests(Service::OpensslTsa), 1);
    // a release tag (prod requires trusted time): the CMS carries the token
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "tag", "v1.0.0", "--identity", "release", "-m", "r"],
    );
    assert_eq!(scope.requests(Service::OpensslTsa), 2);
    // sigctl verify judges the tag at the TSA's time (prod requires trusted time)
    let v = s
        .hsm
        .sigctl(&s.repo, &["verify", "v1.0.0", "--format", "json"]);
    assert_eq!(v.code, 0, "{}", v.snapshot());
    let tag_result = v.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["kind"] == "tag")
        .cloned()
        .expect("the tag judged");
    assert_eq!(
        tag_result["time_source"], "RFC 3161 timestamp",
        "{tag_result:#}"
    );
    let tag = s.repo.git(&["cat-file", "tag", "v1.0.0"]);
    let (sig, _) = sigctl::repo::walk::split_tag_signature(tag.as_bytes()).expect("a signed tag");
    let der = sigctl::signature::cms::dearmor(&sig).expect("PEM");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("sig.der"), der).expect("write");
    let printed = Run::from(
        Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(dir.path().join("sig.der"))
            .output()
            .expect("openssl"),
    );
    assert!(
        printed.stdout.contains("id-smime-aa-timeStampToken"),
        "{}",
        printed.stdout
    );
    // the TSA down: the release tag is not made, nothing written
    scope.fault(Service::OpensslTsa, Mode::Down);
    let r = s.hsm.sigctl(
        &s.repo,
        &["sign", "tag", "v1.0.1", "--identity", "release", "-m", "r"],
    );
    assert_eq!(r.code, 2, "{}", r.snapshot());
    assert!(r.stderr.contains("TSA"), "{}", r.stderr);
    assert!(s.repo.git(&["tag", "-l", "v1.0.1"]).trim().is_empty());
    scope.reset();
}

#[test]
fn on_a_terminal_without_a_token_the_login_goes_to_the_terminal_and_stdout_stays_clean() {
    use std::io::{Read, Write};
    // the stack's Dex-style provider issues tokens as itself, for alice
    let k = Keyless::on(stack().scope("login"), ALICE, None);
    let scope = &k.scope;
    k.repo.write("dist/app.tar", "bytes\n");
    // `script` gives sigctl a terminal; what is typed goes through it
    let shell = format!(
        "{SIGCTL} sign artifact dist/app.tar --identity alice 2>{}",
        k.repo.home().join("stderr").display()
    );
    let mut child = k
        .command("script", &["-qfec", &shell, "/dev/null"], None)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script");
    let mut out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let url = loop {
        if let Ok(chunk) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            seen.extend(chunk);
        }
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some(start) = text.find(&format!("{}/auth?", scope.url())) {
            let rest = &text[start..];
            if let Some(end) = rest.find(char::is_whitespace) {
                break rest[..end].to_owned();
            }
        }
        assert!(std::time::Instant::now() < deadline, "no login URL: {text}");
    };
    // the provider redirects to the out-of-band URI with the code
    let reply = sigstore::http("GET", &url, &[], b"", std::time::Duration::from_secs(5))
        .expect("the provider answers");
    assert_eq!(reply.status, 302);
    let location = reply.header("location").expect("a redirect").to_owned();
    assert!(
        location.starts_with("urn:ietf:wg:oauth:2.0:oob"),
        "{location}"
    );
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("a code")
        .to_owned();
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{code}\n").as_bytes())
        .expect("type the code");
    let status = child.wait().expect("script ends");
    drop(stdin);
    while let Ok(chunk) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
        seen.extend(chunk);
    }
    let terminal = String::from_utf8_lossy(&seen).into_owned();
    assert!(status.success(), "{terminal}");
    assert!(
        terminal.contains("log in to get a Sigstore certificate"),
        "{terminal}"
    );
    // stderr (where git's status goes) holds no prompt, and the bundle is made
    let stderr = std::fs::read_to_string(k.repo.home().join("stderr")).unwrap_or_default();
    assert!(!stderr.contains("/auth?"), "{stderr}");
    let py = sigstore::python_verify_identity_with(
        &scope.trust_config(),
        &k.path("dist/app.tar.sigstore.json"),
        &k.path("dist/app.tar").display().to_string(),
        ALICE,
        &scope.oidc_url(),
    );
    assert_eq!(py.code, 0, "{}", py.snapshot());
}

/// `der` (a CMS SignedData) with its id-aa-timeStampToken replaced by
/// `token` (unsigned attributes are outside the signature: anyone can edit
/// them).
fn with_timestamp_token(der: &[u8], token: &[u8]) -> Vec<u8> {
    use der::{Decode, Encode};
    let ci = cms::content_info::ContentInfo::from_der(der).expect("CMS");
    let mut sd: cms::signed_data::SignedData = ci.content.decode_as().expect("SignedData");
    let mut infos = sd.signer_infos.0.into_vec();
    let attrs = infos[0].unsigned_attrs.take().expect("unsigned attributes");
    let kept: Vec<x509_cert::attr::Attribute> = attrs
        .into_vec()
        .into_iter()
        .filter(|a| a.oid != sigctl::signature::cms::TIMESTAMP_TOKEN_OID)
        .collect();
    infos[0].unsigned_attrs =
        (!kept.is_empty()).then(|| der::asn1::SetOfVec::try_from(kept).expect("set"));
    sd.signer_infos =
        cms::signed_data::SignerInfos(der::asn1::SetOfVec::try_from(infos).expect("set"));
    let bare = cms::content_info::ContentInfo {
        content_type: ci.content_type,
        content: der::Any::encode_from(&sd).expect("encode"),
    }
    .to_der()
    .expect("DER");
    sigctl::signature::cms::add_unsigned_attribute(
        &bare,
        sigctl::signature::cms::TIMESTAMP_TOKEN_OID,
        token,
    )
    .expect("attribute")
}

/// The timestamp token inside a tag's CMS signature.
fn tag_token(s: &crate::util::hsm::Setup, tag: &str) -> (Vec<u8>, Vec<u8>) {
    let raw = s.repo.git(&["cat-file", "tag", tag]);
    let (sig, payload) =
        sigctl::repo::walk::split_tag_signature(raw.as_bytes()).expect("a signed tag");
    let v = sigctl::signature::cms::verify_detached(&sig, &payload).expect("valid");
    let der = sigctl::signature::cms::dearmor(&sig).expect("PEM");
    (v.timestamp.expect("a timestamp token").0, der)
}

#[test]
fn a_timestamp_moved_from_another_signature_or_from_an_unknown_tsa_is_no_trusted_time() {
    let scope = stack().scope("tsa-swap");
    let s = hsm_with_tsa(&scope);
    for t in ["v1.0.0", "v1.0.1"] {
        s.hsm.sigctl_ok(
            &s.repo,
            &["sign", "tag", t, "--identity", "release", "-m", t],
        );
    }
    s.hsm.sigctl_ok(&s.repo, &["verify", "v1.0.0", "v1.0.1"]);
    let (token0, _) = tag_token(&s, "v1.0.0");
    let (_, der1) = tag_token(&s, "v1.0.1");
    // v1.0.1's signature carrying v1.0.0's token: the token covers another
    // signature, so v1.0.1 has no trusted time, and prod requires one
    let forged = with_timestamp_token(&der1, &token0);
    let raw = s.repo.git(&["cat-file", "tag", "v1.0.1"]);
    let (_, payload) =
        sigctl::repo::walk::split_tag_signature(raw.as_bytes()).expect("a signed tag");
    let object = [
        payload.clone(),
        sigctl::signature::cms::armor(&forged).into_bytes(),
    ]
    .concat();
    // the signature itself still verifies: only the timestamp is foreign
    assert!(
        sigctl::signature::cms::verify_detached(
            sigctl::signature::cms::armor(&forged).as_bytes(),
            &payload
        )
        .is_ok()
    );
    let id = s
        .repo
        .git_input(&["hash-object", "-t", "tag", "-w", "--stdin"], &object);
    s.repo.git(&["update-ref", "refs/tags/v1.0.1", id.trim()]);
    let v = s
        .hsm
        .sigctl(&s.repo, &["verify", "v1.0.1", "--format", "json"]);
    assert_eq!(v.code, 1, "{}", v.snapshot());
    let tag = v.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["kind"] == "tag")
        .cloned()
        .expect("the tag");
    assert_eq!(tag["verdict"], "invalid", "{tag:#}");
    assert_eq!(tag["reason"], "untrusted-time", "{tag:#}");
    assert_ne!(tag["time_source"], "RFC 3161 timestamp", "{tag:#}");

    // a token from a TSA the trusted root does not list: no trusted time
    // (the mock TSA is in the root; a root without TSAs stands for a policy
    // that trusts none)
    let mut root: Value = serde_json::from_slice(
        &std::fs::read(s.repo.path().join(".sigctl/sigstore/trusted_root.json")).expect("root"),
    )
    .expect("JSON");
    root["timestampAuthorities"] = json!([]);
    s.repo
        .write(".sigctl/sigstore/trusted_root.json", root.to_string());
    s.hsm.git_ok(&s.repo, &["add", "-A"]);
    // a policy change: the admin (keyless `security-admin`) signs it
    let admin = mint_token(
        "https://github.com/login/oauth",
        Identity::Email("test@example.com"),
        "sigstore",
        now() + 600,
    );
    let mut commit = s.hsm.command("git", &s.repo.path());
    commit
        .args([
            "-c",
            "user.signingkey=security-admin",
            "commit",
            "-S",
            "-q",
            "-m",
            "trust no TSA",
        ])
        .env("SIGSTORE_ID_TOKEN", &admin);
    let c = Run::from(commit.output().expect("git"));
    assert_eq!(c.code, 0, "{}", c.snapshot());
    s.hsm.sigctl_ok(&s.repo, &["verify", "HEAD"]);
    let sign = s.hsm.sigctl(
        &s.repo,
        &["sign", "tag", "v1.0.2", "--identity", "release", "-m", "x"],
    );
    assert_eq!(sign.code, 0, "{}", sign.snapshot());
    let v = s
        .hsm
        .sigctl(&s.repo, &["verify", "v1.0.2", "--format", "json"]);
    assert_eq!(v.code, 1, "{}", v.snapshot());
    let tag = v.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["kind"] == "tag")
        .cloned()
        .expect("the tag");
    assert_eq!(tag["reason"], "untrusted-time", "{tag:#}");
}

#[test]
fn a_warm_run_remembers_keyless_checks_and_a_forged_memo_is_ignored() {
    let k = Keyless::new("memo");
    let token = email_token(ALICE);
    for n in 0..3 {
        k.repo.write("a.txt", format!("{n}\n"));
        k.repo.git(&["add", "a.txt"]);
        let c = k.git(&["commit", "-S", "-q", "-m", "keyless"], Some(&token));
        assert_eq!(c.code, 0, "{}", c.snapshot());
    }
    // a commit whose Rekor entry was taken from another commit: refused
    let head = k.head();
    let raw = k.repo.git(&["cat-file", "commit", "HEAD"]);
    let prev = k.repo.git(&["cat-file", "commit", "HEAD~1"]);
    let (sig, payload) =
        sigctl::repo::walk::split_commit_signature(raw.as_bytes()).expect("signed");
    let (prev_sig, _) =
        sigctl::repo::walk::split_commit_signature(prev.as_bytes()).expect("signed");
    let entry_of = |sig: &[u8]| {
        sigctl::signature::cms::verify_detached(sig, &payload)
            .ok()
            .and_then(|v| v.rekor)
    };
    assert!(entry_of(&sig).is_some());
    let prev_entry = {
        let v = sigctl::signature::cms::verify_detached(
            &prev_sig,
            sigctl::repo::walk::split_commit_signature(prev.as_bytes())
                .expect("signed")
                .1
                .as_slice(),
        )
        .expect("valid");
        v.rekor.expect("an entry").0
    };
    let der = sigctl::signature::cms::dearmor(&sig).expect("PEM");
    let forged = {
        use der::{Decode, Encode};
        let ci = cms::content_info::ContentInfo::from_der(&der).expect("CMS");
        let mut sd: cms::signed_data::SignedData = ci.content.decode_as().expect("SignedData");
        let mut infos = sd.signer_infos.0.into_vec();
        infos[0].unsigned_attrs = None;
        sd.signer_infos =
            cms::signed_data::SignerInfos(der::asn1::SetOfVec::try_from(infos).expect("set"));
        let bare = cms::content_info::ContentInfo {
            content_type: ci.content_type,
            content: der::Any::encode_from(&sd).expect("encode"),
        }
        .to_der()
        .expect("DER");
        let value = der::asn1::OctetString::new(prev_entry)
            .expect("octets")
            .to_der()
            .expect("DER");
        sigctl::signature::cms::add_unsigned_attribute(
            &bare,
            const_oid::ObjectIdentifier::new_unwrap(sigctl::signature::rekor::ATTRIBUTE_OID),
            &value,
        )
        .expect("attribute")
    };
    let armored = sigctl::signature::cms::armor(&forged);
    let object = sigctl::repo::walk::insert_signature_header(&payload, armored.as_bytes());
    let id = k
        .repo
        .git_input(&["hash-object", "-t", "commit", "-w", "--stdin"], &object);
    let id = id.trim().to_owned();
    assert_ne!(id, head);
    k.repo.git(&["update-ref", "refs/heads/forged", &id]);

    let verdicts = |run: &Run| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = run.json()["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                (
                    r["object"].as_str().unwrap_or("").to_owned(),
                    format!("{} {} {}", r["verdict"], r["reason"], r["time_source"]),
                )
            })
            .collect();
        v.sort();
        v
    };
    let spec = ["verify", "main", "forged", "--format", "json"];
    let cold = k.sigctl(&spec, None);
    assert_eq!(cold.code, 1, "{}", cold.snapshot());
    let memo = k.repo.path().join(".git/sigctl/verify-trust");
    assert!(memo.exists(), "the memo was written");
    let warm = k.sigctl(&spec, None);
    assert_eq!(verdicts(&warm), verdicts(&cold), "a warm run judges alike");
    let forged_verdict = verdicts(&cold)
        .into_iter()
        .find(|(o, _)| *o == id)
        .expect("the forged commit judged")
        .1;
    assert!(forged_verdict.contains("invalid"), "{forged_verdict}");
    // a memo edited to say every check passed is not authentic: ignored
    let text = std::fs::read_to_string(&memo).expect("memo");
    let edited: String = text
        .lines()
        .map(|l| {
            if let Some((head, _)) = l.split_once(" err ") {
                format!("{head} ok 1700000000")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert_ne!(edited, text, "the memo holds the refusal");
    std::fs::write(&memo, edited).expect("write");
    let after = k.sigctl(&spec, None);
    assert_eq!(
        verdicts(&after),
        verdicts(&cold),
        "a forged memo changes nothing"
    );
}

#[test]
fn a_fulcio_that_answers_without_end_is_not_read_past_a_mebibyte() {
    use std::io::{Read, Write};
    let k = Keyless::new("huge");
    // a "Fulcio" on loopback that answers 8 MiB to anything
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(4) {
            let mut s = stream;
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let n = 8 << 20;
            let _ = s.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {n}\r\n\r\n")
                    .as_bytes(),
            );
            let chunk = vec![b' '; 1 << 16];
            for _ in 0..(n / chunk.len()) {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
    });
    let mut config: Value = serde_json::from_slice(
        &std::fs::read(k.path("sigstore/signing_config.json")).expect("config"),
    )
    .expect("JSON");
    config["caUrls"][0]["url"] = json!(format!("http://127.0.0.1:{port}"));
    k.repo
        .write("sigstore/signing_config.json", config.to_string());
    k.repo.git(&["add", "-A"]);
    let token = email_token(ALICE);
    let c = k.git(
        &["commit", "-S", "-q", "-m", "another Fulcio"],
        Some(&token),
    );
    assert_eq!(c.code, 0, "{}", c.snapshot());
    let before = k.state();
    let s = k.sigctl(
        &["sign", "tag", "v1.0.0", "--identity", "alice", "-m", "r"],
        Some(&token),
    );
    assert_eq!(s.code, 2, "{}", s.snapshot());
    assert!(s.stderr.contains("more than 1048576 bytes"), "{}", s.stderr);
    assert_eq!(k.state(), before, "nothing written");
}

/// The `sigctl …` command lines of a CI template (a `run:` block's lines,
/// a GitLab `script:` item), as a shell would run them.
fn template_commands(template: &str) -> Vec<String> {
    template
        .lines()
        .map(|l| l.trim().trim_start_matches("- ").trim())
        .filter(|l| l.starts_with("sigctl "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_ci_templates_commands_run_against_a_real_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/ci");
    let bin = Path::new(SIGCTL)
        .parent()
        .expect("sigctl's dir")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    for (template, version, risky) in [
        ("github-actions/sigctl-verify.yml", None, false),
        ("github-actions/sigctl-review.yml", None, true),
        ("github-actions/sigctl-release.yml", Some("v1.0.0"), false),
        ("gitlab-ci.yml", Some("v2.0.0"), false),
    ] {
        let k = Keyless::new(&format!("ci-{}", template.replace('/', "-")));
        let text = std::fs::read_to_string(root.join(template)).expect("template");
        let commands = template_commands(&text);
        assert!(!commands.is_empty(), "{template} runs no sigctl command");
        k.repo.write("dist/app.tar", "release bytes\n");
        let trust_root = k.head();
        // the pull request's base, as the forge's checkout names it
        k.repo
            .git(&["update-ref", "refs/remotes/origin/main", &trust_root]);
        if risky {
            // a pull request that lets unmanaged keys sign releases, unsigned
            let widened = k.repo.read("signing.toml").replacen(
                "refs = [\"refs/tags/v*\"]\ncustody = [\"keyless\"]",
                "refs = [\"refs/tags/v*\"]\ncustody = [\"keyless\", \"unmanaged\"]",
                1,
            );
            k.repo.write("signing.toml", widened);
            k.repo.commit("let unmanaged keys release");
        }
        let token = email_token(ALICE);
        for cmd in commands {
            let mut sh = k.command("sh", &["-c", &cmd], Some(&token));
            sh.env("PATH", &path)
                .env("SIGCTL_TRUST_ROOT", &trust_root)
                .env("SIGCTL_RELEASE_IDENTITY", "alice")
                .env("BASE_REF", "main")
                .env("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main");
            if let Some(v) = version {
                sh.env("VERSION", v).env("RELEASE_VERSION", v);
            }
            let run = Run::from(sh.output().expect("sh"));
            assert_eq!(run.code, 0, "{template}: `{cmd}`\n{}", run.snapshot());
        }
        if text.contains("sigctl review") {
            // the comment and the SARIF were written, whatever the verdict
            let md = k.repo.read("sigctl-review.md");
            assert!(md.contains("| risk | code |"), "{template}: {md}");
            let sarif: Value = serde_json::from_str(&k.repo.read("sigctl-review.sarif"))
                .unwrap_or_else(|e| panic!("{template}: sigctl-review.sarif: {e}"));
            let results = sarif["runs"][0]["results"].as_array().map_or(0, Vec::len);
            if risky {
                assert!(md.contains("NOT authorised: unsigned"), "{template}: {md}");
                assert!(
                    md.contains("environment-custody-widened"),
                    "{template}: {md}"
                );
                assert!(results >= 2, "{template}: {sarif}");
                // the job's last step fails the check
                let gate = k.sigctl(&["review", "--base", "origin/main"], None);
                assert_eq!(gate.code, 1, "{template}: {}", gate.snapshot());
            } else {
                assert_eq!(results, 0, "{template}: {sarif}");
            }
        }
        if let Some(v) = version {
            let summary: Value = serde_json::from_str(&k.repo.read("release.json"))
                .unwrap_or_else(|e| panic!("{template}: release.json: {e}"));
            assert_eq!(summary["tag"], format!("refs/tags/{v}").as_str());
            let verified = k.sigctl(&["verify", v], None);
            assert_eq!(verified.code, 0, "{template}: {}", verified.snapshot());
            let artefact = k.sigctl(&["verify-artifact", "dist/app.tar"], None);
            assert_eq!(artefact.code, 0, "{template}: {}", artefact.snapshot());
        }
    }
}
