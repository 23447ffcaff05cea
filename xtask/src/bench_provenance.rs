//! `cargo xtask bench provenance`: `sigctl provenance show FILE` on a notes
//! ref holding 100,000 records (a lookup by content id, not a scan), against
//! `git notes show`; and the cost of appending one record to that ref
//! (in process: the notes tree edit, objects and the compare-and-swap; the
//! token signature of the notes commit is measured apart, in `bench sign`).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::bench::{git, ms, time_median, time_median_exiting};
use crate::util::{Result, say};

const RECORDS: usize = 100_000;

/// A record as sigctl writes it (the library's own type, so the bench
/// follows the format).
fn record(i: usize, blob: &gix::ObjectId, sha256: &str) -> String {
    use sigctl::provenance::{CertificateRef, Event, RECORD_VERSION, Record, Subject};
    let fp = "ab".repeat(32);
    Record {
        record: RECORD_VERSION,
        event: Event::Artifact,
        identity: "release".into(),
        owner: "release".into(),
        custody: "hsm".into(),
        key: Some("pkcs11:token=release;object=release".into()),
        key_fingerprint: format!("sha256:{fp}"),
        certificate: Some(CertificateRef {
            serial: "20:00".into(),
            issuer: "CN=Bench CA".into(),
            subject: "CN=release".into(),
            fingerprint_sha256: fp,
            not_after: "2027-01-01T00:00:00Z".into(),
            der: None,
        }),
        keyless: None,
        tlog: None,
        subject: Subject {
            object: None,
            name: Some(format!("artefact-{i}.tar")),
            sha256: Some(sha256.into()),
            blob: Some(blob.to_string()),
            release: None,
            certificate_for: None,
        },
        refname: Some(format!("refs/tags/v{i}")),
        signature_sha256: sha256.into(),
        signed_at: "2026-11-27T00:00:00Z".into(),
        time_source: "signer clock (untrusted)".into(),
        policy_blob: None,
        sigctl: "0.1.0".into(),
        approved_by: Vec::new(),
    }
    .line()
}

fn content(i: usize) -> String {
    format!("release artefact {i}\n")
}

pub fn run(sigctl: &Path, dir: &Path) -> Result {
    use gix::objs::Write;
    use sha2::Digest;
    say(&format!(
        "\n== provenance: a notes ref of {RECORDS} records"
    ));
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    git(dir, &["init", "-q", "-b", "main"])?;
    let t = Instant::now();
    let repo = gix::open(dir).map_err(|e| e.to_string())?;
    let objects = &repo.objects;
    let err = |e: &dyn std::fmt::Display| format!("{e:#}");
    let mut state =
        gix::note::plumbing::State::new(gix::ObjectId::empty_tree(gix::hash::Kind::Sha1), objects)
            .map_err(|e| err(&e))?;
    for i in 0..RECORDS {
        let data = content(i);
        let blob = gix::objs::compute_hash(
            gix::hash::Kind::Sha1,
            gix::object::Kind::Blob,
            data.as_bytes(),
        )
        .map_err(|e| err(&e))?;
        let sha = sigctl::signature::x509::hex(&sha2::Sha256::digest(data.as_bytes()));
        let line = format!("{}\n", record(i, &blob, &sha));
        let note = objects
            .write_buf(gix::object::Kind::Blob, line.as_bytes())
            .map_err(|e| err(&e))?;
        state.edit(blob, Some(note), objects).map_err(|e| err(&e))?;
    }
    let tree = state.write(objects).map_err(|e| err(&e))?;
    let commit = format!(
        "tree {tree}\nauthor bench <bench@example.com> 1780000000 +0000\ncommitter bench <bench@example.com> 1780000000 +0000\n\n100k records\n"
    );
    let commit = objects
        .write_buf(gix::object::Kind::Commit, commit.as_bytes())
        .map_err(|e| err(&e))?;
    git(
        dir,
        &["update-ref", "refs/notes/signing", &commit.to_string()],
    )?;
    git(dir, &["repack", "-adq"])?;
    git(dir, &["prune"])?;
    say(&format!(
        "(generated in {:.1} s)",
        t.elapsed().as_secs_f64()
    ));

    // a copy of one artefact, somewhere else: found by its content
    let file = dir.join("downloaded.tar");
    std::fs::write(&file, content(77_777)).map_err(|e| e.to_string())?;
    let file_arg = file.display().to_string();
    // the generated notes commits are unsigned: show authenticates the
    // note's history and marks the records (exit 1), which is the cost to see
    let show = time_median_exiting(
        sigctl,
        dir,
        &[],
        &["provenance", "show", &file_arg, "--format", "json"],
        21,
        &[0, 1],
    )?;
    say(&format!(
        "sigctl provenance show FILE ({RECORDS} records): median {} of 21 runs (process start included)",
        ms(show)
    ));
    let blob = git(dir, &["hash-object", &file_arg])?;
    let theirs = time_median(
        Path::new("git"),
        dir,
        &[],
        &["notes", "--ref", "signing", "show", blob.trim()],
        21,
    )?;
    say(&format!(
        "git notes --ref signing show <blob id>: median {} of 21 runs",
        ms(theirs)
    ));

    // append one record, 20 times, to the 100k-record ref
    let repo = sigctl::repo::Repo::discover(dir).map_err(|e| e.to_string())?;
    let author = sigctl::repo::notes::NotesAuthor {
        name: "sigctl",
        email: "bench@sigctl.invalid",
        time: 1_780_000_000,
    };
    let mut times = Vec::new();
    for i in 0..20 {
        let data = format!("appended artefact {i}\n");
        let target = gix::objs::compute_hash(
            gix::hash::Kind::Sha1,
            gix::object::Kind::Blob,
            data.as_bytes(),
        )
        .map_err(|e| err(&e))?;
        let line = record(RECORDS + i, &target, "00").into_bytes();
        let t = Instant::now();
        repo.append_notes::<sigctl::error::Error>(
            "refs/notes/signing",
            &[(target, line)],
            &author,
            "bench append",
            &mut |_| {
                Ok("-----BEGIN SIGNED MESSAGE-----\nAA==\n-----END SIGNED MESSAGE-----\n".into())
            },
        )
        .map_err(|e| e.to_string())?;
        times.push(t.elapsed());
    }
    times.sort();
    let median: Duration = times[times.len() / 2];
    say(&format!(
        "append one record (notes tree edit, objects, compare-and-swap; signature aside): median {} of 20",
        ms(median)
    ));
    Ok(())
}
