//! Provenance in git notes (`refs/notes/signing`), on a real SoftHSM2 token
//! and the real git: every signing event is recorded under what it signed,
//! appends survive concurrent signers, clones merge their records, and
//! `sigctl audit` tells an authenticated record from a hand-added one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::Digest;

use crate::util::SIGCTL;
use crate::util::hsm::{SoftHsm, files, setup};

const NOTES: &str = "refs/notes/signing";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The note on `object` as records (one JSON object per line).
fn records(hsm: &SoftHsm, dir: &Path, object: &str) -> Vec<Value> {
    let run = hsm.run_in("git", dir, &["notes", "--ref", NOTES, "show", object]);
    if run.code != 0 {
        return Vec::new();
    }
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn rev(hsm: &SoftHsm, dir: &Path, r: &str) -> String {
    let run = hsm.run_in("git", dir, &["rev-parse", r]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    run.stdout.trim().to_owned()
}

/// The armoured signature in a raw commit object's `gpgsig` header.
fn gpgsig(object: &str) -> String {
    let mut sig = String::new();
    let mut inside = false;
    for line in object.lines() {
        if let Some(first) = line.strip_prefix("gpgsig ") {
            inside = true;
            sig.push_str(first);
            sig.push('\n');
        } else if inside && line.starts_with(' ') {
            sig.push_str(&line[1..]);
            sig.push('\n');
        } else if inside {
            break;
        }
    }
    sig
}

fn audit(hsm: &SoftHsm, dir: &Path) -> (i32, Value) {
    let run = hsm.run_in(SIGCTL, dir, &["audit", "--format", "json"]);
    assert!(run.code == 0 || run.code == 1, "{}", run.snapshot());
    (run.code, run.json())
}

#[test]
fn every_signing_event_is_recorded_under_what_it_signed() {
    let s = setup();
    let dir = s.repo.path();
    // the first commit (setup's `git commit -S`) and one more
    s.hsm.git_ok(
        &s.repo,
        &["commit", "-S", "-q", "--allow-empty", "-m", "two"],
    );
    for c in ["HEAD~1", "HEAD"] {
        let id = rev(&s.hsm, &dir, c);
        let recs = records(&s.hsm, &dir, &id);
        assert_eq!(recs.len(), 1, "{c}: {recs:?}");
        let r = &recs[0];
        assert_eq!(r["event"], "commit");
        assert_eq!(r["identity"], "release");
        assert_eq!(r["owner"], "release");
        assert_eq!(r["custody"], "hsm");
        assert_eq!(r["subject"]["object"], id.as_str());
        assert_eq!(r["ref"], "refs/heads/main");
        // the signature git stored is the one recorded
        let object = s.hsm.git_ok(&s.repo, &["cat-file", "commit", &id]);
        assert_eq!(
            r["signature_sha256"],
            hex(&sha2::Sha256::digest(gpgsig(&object).as_bytes())).as_str(),
            "{object}"
        );
        assert!(r["key"].as_str().is_some_and(|k| k.starts_with("pkcs11:")));
        assert!(!r.to_string().to_lowercase().contains("pin-value"));
        assert!(
            r["key_fingerprint"]
                .as_str()
                .is_some_and(|f| f.starts_with("sha256:") && f.len() == 71)
        );
        assert_eq!(r["record"], 1);
        assert_eq!(r["sigctl"], env!("CARGO_PKG_VERSION"));
    }
    // the policy in force when HEAD was signed: HEAD~1's signing.toml
    let head = rev(&s.hsm, &dir, "HEAD");
    assert_eq!(
        records(&s.hsm, &dir, &head)[0]["policy_blob"],
        rev(&s.hsm, &dir, "HEAD~1:signing.toml").as_str()
    );

    // tags: `sigctl sign tag` and `git tag -s`, each on the tag object
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "tag", "v1.0", "--identity", "release", "-m", "one"],
    );
    s.hsm
        .git_ok(&s.repo, &["tag", "-s", "v1.1", "-m", "one one"]);
    for t in ["v1.0", "v1.1"] {
        let id = rev(&s.hsm, &dir, t);
        let recs = records(&s.hsm, &dir, &id);
        assert_eq!(recs.len(), 1, "{t}: {recs:?}");
        assert_eq!(recs[0]["event"], "tag");
        assert_eq!(recs[0]["subject"]["object"], id.as_str());
        assert_eq!(recs[0]["ref"], format!("refs/tags/{t}").as_str());
    }

    // an artefact: found from the file alone, wherever it was copied
    s.repo.write("dist/app.tar", b"release payload\n");
    s.hsm.sigctl_ok(
        &s.repo,
        &[
            "sign",
            "artifact",
            "dist/app.tar",
            "--identity",
            "release",
            "--ref",
            "refs/tags/v1.0",
        ],
    );
    let copy = s.repo.home().join("downloaded-app.tar");
    std::fs::copy(dir.join("dist/app.tar"), &copy).expect("copy");
    let show = s.hsm.run_in(
        SIGCTL,
        &s.repo.home(),
        &[
            "provenance",
            "show",
            &copy.display().to_string(),
            "--format",
            "json",
        ],
    );
    // outside the repository there are no notes to read
    assert_eq!(show.code, 2, "{}", show.snapshot());
    let show = s.hsm.sigctl(
        &s.repo,
        &[
            "provenance",
            "show",
            &copy.display().to_string(),
            "--format",
            "json",
        ],
    );
    assert_eq!(show.code, 0, "{}", show.snapshot());
    let recs = show.json()["records"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(recs.len(), 1, "{}", show.stdout);
    let r = &recs[0];
    assert_eq!(r["event"], "artifact");
    assert_eq!(r["subject"]["name"], "app.tar");
    assert_eq!(
        r["subject"]["sha256"],
        hex(&sha2::Sha256::digest(b"release payload\n")).as_str()
    );
    let blob = s.hsm.git_ok(&s.repo, &["hash-object", "dist/app.tar"]);
    assert_eq!(r["subject"]["blob"], blob.trim());
    // the raw signature in the bundle is the one recorded
    let bundle: Value =
        serde_json::from_str(&s.repo.read("dist/app.tar.sigstore.json")).expect("bundle JSON");
    use base64::Engine;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(
            bundle["messageSignature"]["signature"]
                .as_str()
                .unwrap_or(""),
        )
        .expect("base64 signature");
    assert_eq!(
        r["signature_sha256"],
        hex(&sha2::Sha256::digest(&sig)).as_str()
    );

    // by object name too, and a human rendering
    let human = s.hsm.sigctl(&s.repo, &["provenance", "show", "v1.0"]);
    assert_eq!(human.code, 0, "{}", human.snapshot());
    assert!(
        human.stdout.contains("tag signed by identity `release`"),
        "{}",
        human.stdout
    );

    // every record is authenticated: its notes commit is signed by the identity
    let notes_commit = s.hsm.git_ok(&s.repo, &["cat-file", "commit", NOTES]);
    assert!(
        notes_commit.contains("gpgsig -----BEGIN SIGNED MESSAGE-----"),
        "{notes_commit}"
    );
    let (code, a) = audit(&s.hsm, &dir);
    assert_eq!(code, 0, "{a:#}");
    let events = a["signing_events"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| format!("{} {}", e["record"]["event"], e["attached_to"]))
        .collect();
    assert_eq!(events.len(), 5, "{kinds:#?}");
    assert!(events.iter().all(|e| e["authenticated"] == true), "{a:#}");
    let release = a["identities"]
        .as_array()
        .and_then(|ids| ids.iter().find(|i| i["name"] == "release").cloned())
        .expect("release in the audit");
    assert_eq!(release["events"], 5);
    assert_eq!(
        release["introduced"]["commit"],
        rev(&s.hsm, &dir, "HEAD~1").as_str()
    );
    assert_eq!(release["introduced"]["signed_by"], "release");

    // the Markdown evidence pack names the controls
    let md = s.hsm.sigctl(&s.repo, &["audit", "--format", "markdown"]);
    assert_eq!(md.code, 0, "{}", md.snapshot());
    for needle in [
        "## Signing events",
        "## Identities",
        "NIST CSF 2.0 PR.AA",
        "OWASP NHI",
    ] {
        assert!(
            md.stdout.contains(needle),
            "{needle} missing:\n{}",
            md.stdout
        );
    }
}

#[test]
fn a_record_matches_its_json_schema() {
    let s = setup();
    let id = rev(&s.hsm, &s.repo.path(), "HEAD");
    let rec = records(&s.hsm, &s.repo.path(), &id).remove(0);
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/provenance-record.schema.json"),
        )
        .expect("schema"),
    )
    .expect("schema JSON");
    let props: BTreeSet<String> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect();
    let fields: BTreeSet<String> = rec.as_object().expect("object").keys().cloned().collect();
    // an hsm record carries every property but the keyless ones and an
    // issuance's approvals
    let keyless_only: BTreeSet<String> =
        ["approved_by", "keyless", "tlog"].map(String::from).into();
    assert_eq!(
        props.difference(&fields).cloned().collect::<BTreeSet<_>>(),
        keyless_only
    );
    assert!(fields.is_subset(&props), "{fields:?}");
    for req in schema["required"].as_array().expect("required") {
        assert!(
            rec.get(req.as_str().unwrap_or("")).is_some(),
            "{req} missing"
        );
    }
}

#[test]
fn sixteen_concurrent_signers_on_one_clone_lose_no_record() {
    let s = setup();
    let dir = s.repo.path();
    // the same content under 16 names: one note, sixteen appends racing for it
    let names: Vec<String> = (0..16).map(|i| format!("out/a{i}.bin")).collect();
    for n in &names {
        s.repo.write(n, b"the same artefact\n");
    }
    let children: Vec<_> = names
        .iter()
        .map(|n| {
            s.hsm.spawn(
                SIGCTL,
                &dir,
                &["sign", "artifact", n, "--identity", "release"],
            )
        })
        .collect();
    for (n, c) in names.iter().zip(children) {
        let out = c.wait_with_output().expect("sigctl finishes");
        assert!(
            out.status.success(),
            "{n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let blob = s.hsm.git_ok(&s.repo, &["hash-object", &names[0]]);
    let recs = records(&s.hsm, &dir, blob.trim());
    assert_eq!(recs.len(), 16, "{recs:#?}");
    let sigs: BTreeSet<String> = recs
        .iter()
        .map(|r| r["signature_sha256"].to_string())
        .collect();
    assert_eq!(sigs.len(), 16, "sixteen distinct signatures");
    let (code, a) = audit(&s.hsm, &dir);
    assert_eq!(code, 0, "{a:#}");
    let artefacts = a["signing_events"].as_array().map(|e| {
        e.iter()
            .filter(|e| e["record"]["event"] == "artifact")
            .count()
    });
    assert_eq!(artefacts, Some(16));
}

#[test]
fn two_clones_record_independently_and_end_with_the_union() {
    let s = setup();
    let a_dir = s.repo.path();
    let origin = s.repo.home().join("origin.git");
    let run = s.hsm.run_in(
        "git",
        &s.repo.home(),
        &["init", "-q", "--bare", &origin.display().to_string()],
    );
    assert_eq!(run.code, 0, "{}", run.snapshot());
    s.hsm.git_ok(
        &s.repo,
        &["remote", "add", "origin", &origin.display().to_string()],
    );
    // init (again, idempotent) adds the notes fetch refspec for the new remote
    s.hsm
        .sigctl_ok(&s.repo, &["init", "--template", "hsm-release"]);
    let fetch = s
        .hsm
        .git_ok(&s.repo, &["config", "--get-all", "remote.origin.fetch"]);
    assert!(
        fetch.contains("+refs/notes/signing:refs/notes/sigctl/remotes/origin/signing"),
        "{fetch}"
    );
    s.hsm.git_ok(&s.repo, &["push", "-q", "origin", "main"]);
    s.hsm.sigctl_ok(&s.repo, &["provenance", "sync"]);

    // clone B, configured for signing by hand (its signing.toml is not a template's)
    let b_dir: PathBuf = s.repo.home().join("b");
    let run = s.hsm.run_in(
        "git",
        &s.repo.home(),
        &[
            "clone",
            "-q",
            "-b",
            "main",
            &origin.display().to_string(),
            "b",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.snapshot());
    for (k, v) in [
        ("user.name", "Clone B"),
        ("user.email", "b@example.com"),
        ("notes.signing.mergeStrategy", "cat_sort_uniq"),
    ] {
        assert_eq!(s.hsm.run_in("git", &b_dir, &["config", k, v]).code, 0);
    }
    let sync_b = s.hsm.run_in(SIGCTL, &b_dir, &["provenance", "sync"]);
    assert_eq!(sync_b.code, 0, "{}", sync_b.snapshot());

    // each signs the same release artefact, and one of its own
    let sign = |dir: &Path, file: &str, content: &[u8]| {
        std::fs::create_dir_all(dir.join("dist")).expect("dist");
        std::fs::write(dir.join(file), content).expect("write");
        let run = s.hsm.run_in(
            SIGCTL,
            dir,
            &["sign", "artifact", file, "--identity", "release"],
        );
        assert_eq!(run.code, 0, "{}", run.snapshot());
    };
    sign(&a_dir, "dist/shared.tar", b"shared release\n");
    sign(&a_dir, "dist/only-a.tar", b"built by A\n");
    sign(&b_dir, "dist/shared.tar", b"shared release\n");
    sign(&b_dir, "dist/only-b.tar", b"built by B\n");

    // A publishes, B merges and publishes, A takes B's
    for dir in [&a_dir, &b_dir, &a_dir] {
        let run = s.hsm.run_in(SIGCTL, dir, &["provenance", "sync"]);
        assert_eq!(run.code, 0, "{}", run.snapshot());
    }
    let list = |dir: &Path| {
        let run = s.hsm.run_in("git", dir, &["notes", "--ref", NOTES, "list"]);
        assert_eq!(run.code, 0, "{}", run.snapshot());
        run.stdout
    };
    assert_eq!(list(&a_dir), list(&b_dir));
    for dir in [&a_dir, &b_dir] {
        let blob = |content: &[u8]| {
            let p = dir.join("probe");
            std::fs::write(&p, content).expect("probe");
            let id = rev_hash(&s.hsm, dir, &p);
            let _ = std::fs::remove_file(&p);
            id
        };
        assert_eq!(records(&s.hsm, dir, &blob(b"shared release\n")).len(), 2);
        assert_eq!(records(&s.hsm, dir, &blob(b"built by A\n")).len(), 1);
        assert_eq!(records(&s.hsm, dir, &blob(b"built by B\n")).len(), 1);
        let (code, a) = audit(&s.hsm, dir);
        assert_eq!(code, 0, "{a:#}");
        assert!(
            a["signing_events"]
                .as_array()
                .is_some_and(|e| e.iter().all(|e| e["authenticated"] == true)),
            "{a:#}"
        );
    }
}

fn rev_hash(hsm: &SoftHsm, dir: &Path, file: &Path) -> String {
    let run = hsm.run_in("git", dir, &["hash-object", &file.display().to_string()]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    run.stdout.trim().to_owned()
}

#[test]
fn a_record_added_by_hand_is_reported_unauthenticated() {
    let s = setup();
    let dir = s.repo.path();
    let head = rev(&s.hsm, &dir, "HEAD");
    let genuine = records(&s.hsm, &dir, &head).remove(0);
    let (code, _) = audit(&s.hsm, &dir);
    assert_eq!(code, 0);

    // a well-formed record claiming a release artefact, written with git notes
    s.repo.write("evil.bin", b"not what release signed\n");
    let blob = s.hsm.git_ok(&s.repo, &["hash-object", "evil.bin"]);
    let mut forged = genuine.clone();
    forged["event"] = "artifact".into();
    forged["subject"] = serde_json::json!({"name": "evil.bin", "blob": blob.trim()});
    s.hsm.git_ok(
        &s.repo,
        &[
            "notes",
            "--ref",
            NOTES,
            "add",
            "-m",
            &forged.to_string(),
            blob.trim(),
        ],
    );
    // and the genuine line replayed onto another object
    s.hsm.git_ok(
        &s.repo,
        &[
            "notes",
            "--ref",
            NOTES,
            "add",
            "-m",
            &genuine.to_string(),
            "HEAD^{tree}",
        ],
    );
    let (code, a) = audit(&s.hsm, &dir);
    assert_eq!(code, 1, "{a:#}");
    let events = a["signing_events"].as_array().cloned().unwrap_or_default();
    let bad: Vec<&Value> = events
        .iter()
        .filter(|e| e["authenticated"] == false)
        .collect();
    assert_eq!(bad.len(), 2, "{a:#}");
    assert!(
        events
            .iter()
            .any(|e| e["attached_to"] == head.as_str() && e["authenticated"] == true),
        "the genuine record still stands: {a:#}"
    );
    let findings = a["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        findings
            .iter()
            .filter(|f| f["code"] == "unauthenticated-record")
            .count(),
        2,
        "{a:#}"
    );
    let human = s.hsm.sigctl(&s.repo, &["audit"]);
    assert_eq!(human.code, 1);
    assert!(human.stdout.contains("UNAUTHENTICATED"), "{}", human.stdout);

    // `provenance show` applies the same rule: never a forgery shown as genuine
    s.repo.write("evil.bin", b"not what release signed\n");
    for target in ["evil.bin", "HEAD^{tree}"] {
        let shown = s.hsm.sigctl(&s.repo, &["provenance", "show", target]);
        assert_eq!(shown.code, 1, "{}", shown.snapshot());
        assert!(
            shown.stdout.contains("NOT AUTHENTICATED"),
            "{}",
            shown.snapshot()
        );
        let json = s
            .hsm
            .sigctl(&s.repo, &["provenance", "show", target, "--format", "json"]);
        assert_eq!(json.code, 1, "{}", json.snapshot());
        assert_eq!(
            json.json()["records"][0]["authenticated"],
            false,
            "{}",
            json.stdout
        );
    }
    // the genuine record is shown as such
    let shown = s.hsm.sigctl(&s.repo, &["provenance", "show", "HEAD"]);
    assert_eq!(shown.code, 0, "{}", shown.snapshot());
    assert!(shown.stdout.contains("authenticated:"), "{}", shown.stdout);
    assert!(
        !shown.stdout.contains("NOT AUTHENTICATED"),
        "{}",
        shown.stdout
    );
    let json = s
        .hsm
        .sigctl(&s.repo, &["provenance", "show", "HEAD", "--format", "json"]);
    assert_eq!(
        json.json()["records"][0]["authenticated"],
        true,
        "{}",
        json.stdout
    );
}

#[test]
fn records_signed_with_a_certificate_renewed_in_place_stay_authenticated() {
    let s = setup();
    let dir = s.repo.path();
    // a new certificate for the same token key, imported over the old file:
    // signing.toml itself does not change
    let renewed = s.ca.issue_current("release-renewed", &s.csr);
    s.hsm.sigctl_ok(
        &s.repo,
        &[
            "cert",
            "import",
            "--identity",
            "release",
            &renewed.display().to_string(),
        ],
    );
    s.hsm.git_ok(&s.repo, &["add", "-A"]);
    s.hsm.git_ok(
        &s.repo,
        &["commit", "-S", "-q", "-m", "renew the certificate"],
    );
    let renewal = rev(&s.hsm, &dir, "HEAD");
    s.repo.write("dist/app.tar", b"after renewal\n");
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "artifact", "dist/app.tar", "--identity", "release"],
    );
    let (code, a) = audit(&s.hsm, &dir);
    let events = a["signing_events"].as_array().cloned().unwrap_or_default();
    let fingerprints: BTreeSet<String> = events
        .iter()
        .map(|e| e["record"]["certificate"]["fingerprint_sha256"].to_string())
        .collect();
    assert_eq!(fingerprints.len(), 2, "old and renewed certificate: {a:#}");
    assert!(events.iter().all(|e| e["authenticated"] == true), "{a:#}");
    // the certificate file is part of the policy: replacing it is a policy
    // change, and `release` (owner `release`) is no admin of the template
    let errors: Vec<&Value> = a["findings"]
        .as_array()
        .map(|f| f.iter().filter(|f| f["severity"] == "error").collect())
        .unwrap_or_default();
    assert_eq!(code, 1, "{a:#}");
    assert_eq!(errors.len(), 1, "{a:#}");
    assert_eq!(errors[0]["code"], "policy-change-not-authorised", "{a:#}");
    let message = errors[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&renewal[..12]), "{message}");
    assert!(message.contains("policy-change-without-admin"), "{message}");
}

#[test]
fn a_failed_signing_writes_no_record() {
    let s = setup();
    let dir = s.repo.path();
    let before_ref = rev(&s.hsm, &dir, NOTES);
    s.repo.write("dist/app.tar", b"payload\n");
    let before = files(&dir);
    let wrong = s.hsm.pin(Some("999999"));
    let art = wrong.sigctl(
        &s.repo,
        &["sign", "artifact", "dist/app.tar", "--identity", "release"],
    );
    assert_eq!(art.code, 2, "{}", art.snapshot());
    let tag = wrong.sigctl(
        &s.repo,
        &["sign", "tag", "v9", "--identity", "release", "-m", "x"],
    );
    assert_eq!(tag.code, 2, "{}", tag.snapshot());
    let commit = wrong.git(&s.repo, &["commit", "-S", "-q", "--allow-empty", "-m", "x"]);
    assert_ne!(commit.code, 0, "{}", commit.snapshot());
    assert_eq!(rev(&s.hsm, &dir, NOTES), before_ref);
    // git itself writes COMMIT_EDITMSG before it asks for a signature
    let after = files(&dir);
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .filter(|p| !p.ends_with("COMMIT_EDITMSG"))
        .collect();
    assert!(changed.is_empty(), "written: {changed:?}");
    let show = s
        .hsm
        .sigctl(&s.repo, &["provenance", "show", "dist/app.tar"]);
    assert_eq!(show.code, 1, "{}", show.snapshot());
    assert!(
        show.stderr.contains("no provenance record"),
        "{}",
        show.snapshot()
    );
}

#[test]
fn provenance_show_of_nothing_known_is_an_error() {
    let s = setup();
    let run = s
        .hsm
        .sigctl(&s.repo, &["provenance", "show", "no-such-thing"]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(
        run.stderr.contains("neither a file nor a revision"),
        "{}",
        run.snapshot()
    );
    let bad = s.hsm.sigctl(&s.repo, &["audit", "--since", "yesterday"]);
    assert_eq!(bad.code, 2, "{}", bad.snapshot());
    assert!(
        bad.stderr.contains("--since yesterday"),
        "{}",
        bad.snapshot()
    );
}

/// `provenance show TARGET --format json`: exit code and `(authenticated,
/// authentication)` per record, in note order.
fn shown(s: &crate::util::hsm::Setup, target: &str) -> (i32, Vec<(bool, String)>) {
    let run = s
        .hsm
        .sigctl(&s.repo, &["provenance", "show", target, "--format", "json"]);
    assert!(run.code == 0 || run.code == 1, "{}", run.snapshot());
    let verdicts = run.json()["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["authenticated"]
                    .as_bool()
                    .unwrap_or_else(|| panic!("no verdict: {r}")),
                r["authentication"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (run.code, verdicts)
}

#[test]
fn provenance_show_refuses_a_record_added_by_a_notes_commit_another_identity_signed() {
    let s = setup();
    let dir = s.repo.path();
    // a second identity on the same token, declared like release
    let policy = s.repo.read("signing.toml");
    s.repo.write(
        "signing.toml",
        format!(
            "{policy}\n[identities.ops]\nowner = \"release\"\nenvironments = [\"prod\", \"dev\"]\ncustody = \"hsm\"\nkey = \"pkcs11:token=sigctl;object=ops\"\ncertificate = \"certs/ops.pem\"\n"
        ),
    );
    s.hsm
        .sigctl_ok(&s.repo, &["key", "generate", "--identity", "ops"]);
    let csr = s
        .hsm
        .sigctl_ok(
            &s.repo,
            &[
                "cert",
                "request",
                "--identity",
                "ops",
                "--subject",
                "CN=ops",
            ],
        )
        .stdout;
    let cert = s.ca.issue_current("ops", csr.as_bytes());
    s.hsm.sigctl_ok(
        &s.repo,
        &[
            "cert",
            "import",
            "--identity",
            "ops",
            &cert.display().to_string(),
        ],
    );
    s.hsm.git_ok(&s.repo, &["add", "-A"]);
    s.hsm
        .git_ok(&s.repo, &["commit", "-S", "-q", "-m", "add ops"]);
    let head = rev(&s.hsm, &dir, "HEAD");
    // control: ops's own records are authenticated
    s.repo.write("dist/ops.tar", b"by ops\n");
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "artifact", "dist/ops.tar", "--identity", "ops"],
    );
    assert_eq!(shown(&s, "dist/ops.tar").0, 0);

    // ops signs a notes commit that adds a record claiming `release`
    let mut claim = records(&s.hsm, &dir, &head).remove(0);
    claim["signed_at"] = "2026-01-02T00:00:00Z".into();
    s.hsm.git_ok(
        &s.repo,
        &[
            "notes",
            "--ref=signing",
            "append",
            "-m",
            &claim.to_string(),
            "HEAD",
        ],
    );
    let unsigned = rev(&s.hsm, &dir, NOTES);
    let tree = rev(&s.hsm, &dir, &format!("{unsigned}^{{tree}}"));
    let parent = rev(&s.hsm, &dir, &format!("{unsigned}^"));
    let signed = s
        .hsm
        .git_ok(
            &s.repo,
            &[
                "commit-tree",
                "-Sops",
                "-p",
                &parent,
                "-m",
                "Notes added by 'git notes append'",
                &tree,
            ],
        )
        .trim()
        .to_owned();
    let object = s.hsm.git_ok(&s.repo, &["cat-file", "commit", &signed]);
    assert!(
        object.contains("gpgsig -----BEGIN SIGNED MESSAGE-----"),
        "{object}"
    );
    s.hsm.git_ok(&s.repo, &["update-ref", NOTES, &signed]);
    let (code, verdicts) = shown(&s, "HEAD");
    assert_eq!(code, 1, "{verdicts:?}");
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    let bad: Vec<_> = verdicts.iter().filter(|v| !v.0).collect();
    assert_eq!(bad.len(), 1, "{verdicts:?}");
    assert!(
        bad[0]
            .1
            .contains("another certificate than the record names"),
        "{verdicts:?}"
    );
    // audit, whose authentication show reuses, agrees
    let (code, a) = audit(&s.hsm, &dir);
    assert_eq!(code, 1, "{a:#}");
    assert_eq!(
        a["signing_events"]
            .as_array()
            .map(|e| e.iter().filter(|e| e["authenticated"] == false).count()),
        Some(1),
        "{a:#}"
    );
}
