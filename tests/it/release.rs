//! `sigctl sign release`: the tag and every artefact's bundle, all or nothing.

use serde_json::Value;

use crate::util::hsm;

#[test]
fn a_release_signs_the_tag_and_every_artefact_tied_to_it() {
    let s = hsm::setup();
    s.repo.write("dist/app.tar", "app bytes\n");
    s.repo.write("dist/app.sbom.json", "{}\n");
    let r = s.hsm.sigctl_ok(
        &s.repo,
        &[
            "sign",
            "release",
            "v1.0.0",
            "dist/app.tar",
            "dist/app.sbom.json",
            "--identity",
            "release",
            "-m",
            "Release 1.0.0",
            "--format",
            "json",
        ],
    );
    let summary = r.json();
    assert_eq!(summary["tag"], "refs/tags/v1.0.0");
    assert_eq!(summary["artefacts"].as_array().map(Vec::len), Some(2));
    let tag_object = summary["tag_object"]
        .as_str()
        .expect("tag object")
        .to_owned();
    // the tag: stock git and sigctl agree
    s.hsm.git_ok(&s.repo, &["verify-tag", "v1.0.0"]);
    s.hsm.sigctl_ok(&s.repo, &["verify", "v1.0.0"]);
    // each artefact verifies, and its record names the release's tag
    for f in ["dist/app.tar", "dist/app.sbom.json"] {
        s.hsm.sigctl_ok(&s.repo, &["verify-artifact", f]);
        let show = s
            .hsm
            .sigctl_ok(&s.repo, &["provenance", "show", f, "--format", "json"]);
        let rec: Value = show.json()["records"][0].clone();
        assert_eq!(rec["subject"]["release"], tag_object.as_str(), "{rec:#}");
        assert_eq!(rec["ref"], "refs/tags/v1.0.0");
        assert_eq!(rec["authenticated"], true);
    }
    // one notes commit for the whole release
    let notes = s
        .hsm
        .git_ok(&s.repo, &["rev-list", "--count", "refs/notes/signing"]);
    let before = s
        .hsm
        .git_ok(&s.repo, &["rev-list", "--count", "refs/notes/signing^"]);
    assert_eq!(
        notes.trim().parse::<u32>().unwrap_or(0),
        before.trim().parse::<u32>().unwrap_or(0) + 1
    );
}

#[test]
fn a_release_that_cannot_publish_its_tag_leaves_no_bundle_and_no_record() {
    let s = hsm::setup();
    s.repo.write("dist/app.tar", "app bytes\n");
    let notes_before = s
        .hsm
        .git(
            &s.repo,
            &["rev-parse", "-q", "--verify", "refs/notes/signing"],
        )
        .stdout;
    // a tag `v1.0.0/blocked`: the ref `v1.0.0` cannot be written beside it
    let head = s.hsm.git_ok(&s.repo, &["rev-parse", "HEAD"]);
    s.hsm.git_ok(
        &s.repo,
        &["update-ref", "refs/tags/v1.0.0/blocked", head.trim()],
    );
    let r = s.hsm.sigctl(
        &s.repo,
        &[
            "sign",
            "release",
            "v1.0.0",
            "dist/app.tar",
            "--identity",
            "release",
            "-m",
            "r",
        ],
    );
    assert_ne!(r.code, 0, "{}", r.snapshot());
    assert!(
        !s.repo.path().join("dist/app.tar.sigstore.json").exists(),
        "no bundle"
    );
    let notes_after = s
        .hsm
        .git(
            &s.repo,
            &["rev-parse", "-q", "--verify", "refs/notes/signing"],
        )
        .stdout;
    assert_eq!(notes_after, notes_before, "no record");
    let leftovers: Vec<_> = std::fs::read_dir(s.repo.path().join("dist"))
        .expect("dist")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, vec!["app.tar".to_owned()], "no temporary file");
}
