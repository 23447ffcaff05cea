//! `[suppliers.NAME]` and `sigctl verify-artifact --supplier NAME`: a
//! vendored artefact judged by the supplier's accepted signers and the
//! evidence it owes. Real data made by other people's tools: the
//! sigstore-conformance suite's `a.txt`, its message-signature bundle and
//! its in-toto (DSSE) attestation, both by the conformance beacon workflow
//! on public-good Sigstore.

use crate::util::{Run, TestRepo};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ACTIONS: &str = "https://token.actions.githubusercontent.com";

fn data(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A consumer repository whose policy accepts `subject` for supplier
/// `beacon`, expecting `evidence`, with the artefact and its bundles vendored.
fn consumer(subject: &str, evidence: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "trust/public-good.json",
        data("trust/sigstore-public-good.trusted_root.json"),
    );
    repo.write(
        "signing.toml",
        format!(
            "version = 1\n\n[policy]\nadmins = [\"sec\"]\n\n[owners.sec]\ncontact = \"sec@example.com\"\n\n\
             [sigstore]\ntrusted_root = \"trust/public-good.json\"\n\n\
             # the conformance beacon stands in for a vendor's release workflow\n\
             [suppliers.beacon]\ncontact = \"https://github.com/sigstore-conformance\"\n\
             keyless = [{{ issuer = \"{ACTIONS}\", subject = \"{subject}\" }}]\n\
             evidence = [{evidence}]\n"
        ),
    );
    repo.write("vendor/a.txt", data("bundles/conformance/a.txt"));
    repo.write(
        "vendor/a.txt.sigstore.json",
        data("bundles/conformance/happy-path-v0.3/bundle.sigstore.json"),
    );
    repo.write(
        "vendor/a.txt.intoto.sigstore.json",
        data("bundles/conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json"),
    );
    repo.commit("vendor a.txt from the beacon");
    repo
}

fn verify(repo: &TestRepo, extra: &[&str]) -> Run {
    let mut args = vec!["verify-artifact", "vendor/a.txt", "--supplier", "beacon"];
    args.extend_from_slice(extra);
    repo.sigctl(&args)
}

#[test]
fn a_vendored_artefact_with_its_bundle_and_provenance_is_accepted() {
    let repo = consumer(BEACON, "\"bundle\", \"provenance\"");
    let check = repo.sigctl(&["check"]);
    assert!(
        !check.stdout.contains("bad-supplier"),
        "{}",
        check.snapshot()
    );
    let run = verify(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    assert!(run.stdout.starts_with("OK: vendor/a.txt"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("provenance: an in-toto attestation naming it"),
        "{}",
        run.stdout
    );
    let json = verify(&repo, &["--format", "json"]);
    let doc = json.json();
    assert_eq!(doc["ok"], true, "{doc}");
    assert_eq!(doc["evidence"][1]["kind"], "provenance");
    // the local evidence log records it (inventory's "last seen")
    let log = std::fs::read_to_string(repo.path().join(".git/sigctl/supplier-evidence.jsonl"))
        .expect("the evidence log");
    assert!(log.contains("\"supplier\":\"beacon\""), "{log}");
    // inventory lists the supplier and when its evidence was last verified
    let inv = repo.sigctl(&["inventory", ".", "--format", "json"]);
    let doc = inv.json();
    let s = &doc["suppliers"][0];
    assert_eq!(s["name"], "beacon", "{doc}");
    assert_eq!(
        s["evidence"],
        serde_json::json!(["bundle", "provenance"]),
        "{doc}"
    );
    assert!(s["last_seen"].is_string(), "{doc}");
    assert!(
        s["accepts"][0].as_str().is_some_and(|a| a.contains(BEACON)),
        "{doc}"
    );
}

#[test]
fn missing_or_wrong_evidence_fails_and_names_it() {
    let repo = consumer(BEACON, "\"bundle\", \"provenance\", \"sbom\"");
    let run = verify(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(run.stdout.contains("MISSING sbom"), "{}", run.stdout);
    // an SBOM beside it: accepted when it is SPDX or CycloneDX JSON
    repo.write(
        "vendor/a.txt.spdx.json",
        "{\"spdxVersion\": \"SPDX-2.3\", \"name\": \"a\"}",
    );
    let run = verify(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    repo.write("vendor/a.txt.spdx.json", "{\"hello\": 1}");
    let run = verify(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    // the artefact's own bundle given as its provenance: no attestation
    let run = verify(
        &repo,
        &[
            "--provenance",
            "vendor/a.txt.sigstore.json",
            "--sbom",
            "/dev/null",
        ],
    );
    assert_ne!(run.code, 0, "{}", run.snapshot());
    // no provenance file at all
    std::fs::remove_file(repo.path().join("vendor/a.txt.intoto.sigstore.json")).expect("rm");
    repo.write("vendor/a.txt.spdx.json", "{\"spdxVersion\": \"SPDX-2.3\"}");
    let run = verify(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(run.stdout.contains("MISSING provenance"), "{}", run.stdout);
}

#[test]
fn another_signer_or_a_changed_artefact_is_refused() {
    // the policy accepts someone else
    let repo = consumer(
        "https://github.com/acme/tool/.github/workflows/release.yml@refs/heads/main",
        "\"bundle\"",
    );
    let run = verify(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(
        run.stderr.contains("acme/tool"),
        "names what is accepted: {}",
        run.stderr
    );
    // the right signer, a changed artefact
    let repo = consumer(BEACON, "\"bundle\"");
    repo.write("vendor/a.txt", "not what was signed\n");
    let run = verify(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(run.stderr.contains("changed"), "{}", run.stderr);
    // an unknown supplier is a usage error
    let run = repo.sigctl(&["verify-artifact", "vendor/a.txt", "--supplier", "nobody"]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(
        run.stderr.contains("beacon"),
        "lists the suppliers: {}",
        run.stderr
    );
}

#[test]
fn check_refuses_a_supplier_without_a_signer_or_trust() {
    let repo = TestRepo::new();
    repo.write(
        "signing.toml",
        "version = 1\n[policy]\nadmins = [\"sec\"]\n[owners.sec]\ncontact = \"s@example.com\"\n\
         [suppliers.nobody]\ncontact = \"\"\nevidence = [\"bundle\"]\n",
    );
    let run = repo.sigctl(&["check"]);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(run.stdout.contains("bad-supplier"), "{}", run.stdout);
    assert!(run.stdout.contains("no accepted signer"), "{}", run.stdout);
    assert!(run.stdout.contains("no trusted root"), "{}", run.stdout);
    // an evidence kind sigctl does not know is a schema error
    repo.write(
        "signing.toml",
        "version = 1\n[policy]\nadmins = [\"sec\"]\n[owners.sec]\ncontact = \"s@example.com\"\n\
         [suppliers.x]\ncontact = \"x\"\nevidence = [\"vibes\"]\n",
    );
    let run = repo.sigctl(&["check"]);
    assert_ne!(run.code, 0, "{}", run.snapshot());
}
