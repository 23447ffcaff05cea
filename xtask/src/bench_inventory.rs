//! `cargo xtask bench inventory`: `sigctl inventory` over 1,000 generated
//! repositories of 300 commits each (the issue's target: under a minute on
//! two cores). Each repository comes from one `git fast-import` stream: a
//! policy with two token identities (certificates made by openssl once and
//! copied into every repository) and a keyless one, 300 commits over 20
//! source files, and a notes ref of 5 provenance records (unsigned notes
//! commits: the records are read and judged, and counted unauthenticated).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::bench::measure;
use crate::util::{self, Result, say};

const REPOSITORIES: usize = 1000;
const COMMITS: usize = 300;
const RECORDS: usize = 5;

fn policy(i: usize) -> String {
    format!(
        "version = 1\n\n[policy]\nadmins = [\"security\"]\n\n\
         [owners.security]\ncontact = \"security@example.com\"\n\n\
         [owners.team]\ncontact = \"team{}@example.com\"\n\n\
         [environments.prod]\nrefs = [\"refs/tags/v*\"]\ncustody = [\"hsm\", \"keyless\"]\nclass = \"prod\"\n\n\
         [environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"hsm\", \"keyless\"]\nclass = \"dev\"\n\n\
         [identities.release]\nowner = \"security\"\npurpose = \"Sign releases\"\nenvironments = [\"prod\"]\n\
         custody = \"hsm\"\nkey = \"pkcs11:token=release;object=release\"\ncertificate = \"certs/release.pem\"\n\n\
         [identities.build-{i}]\nowner = \"team\"\nenvironments = [\"dev\"]\ncustody = \"hsm\"\n\
         key = \"pkcs11:token=build;object=build-{i}\"\ncertificate = \"certs/build.pem\"\n\n\
         [identities.ci]\nowner = \"team\"\nenvironments = [\"dev\"]\ncustody = \"keyless\"\n\
         keyless = {{ issuer = \"https://token.actions.githubusercontent.com\", subject = \"repo:acme/r{i}:ref:refs/heads/main\" }}\n",
        i % 10
    )
}

fn record(i: usize, n: usize) -> String {
    use sigctl::provenance::{Event, RECORD_VERSION, Record, Subject};
    Record {
        record: RECORD_VERSION,
        event: Event::Commit,
        identity: "release".into(),
        owner: "security".into(),
        custody: "hsm".into(),
        key: Some("pkcs11:token=release;object=release".into()),
        key_fingerprint: format!("sha256:{}", "ab".repeat(32)),
        certificate: None,
        keyless: None,
        tlog: None,
        subject: Subject {
            object: None,
            name: Some(format!("r{i}-{n}.tar")),
            sha256: Some("cd".repeat(32)),
            blob: None,
            release: None,
            certificate_for: None,
        },
        refname: Some(format!("refs/tags/v{n}")),
        signature_sha256: "ef".repeat(32),
        signed_at: format!("2026-11-{:02}T00:00:00Z", 10 + n),
        time_source: "signer clock (untrusted)".into(),
        policy_blob: None,
        sigctl: "0.1.0".into(),
        approved_by: Vec::new(),
    }
    .line()
}

fn data(out: &mut Vec<u8>, bytes: &[u8]) {
    let _ = writeln!(out, "data {}", bytes.len());
    out.extend_from_slice(bytes);
    out.push(b'\n');
}

/// The fast-import stream of repository `i`.
fn stream(i: usize, release: &[u8], build: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    let when = 1_780_000_000u64;
    for (mark, bytes) in [
        (1, policy(i).into_bytes()),
        (2, release.to_vec()),
        (3, build.to_vec()),
    ] {
        let _ = write!(s, "blob\nmark :{mark}\n");
        data(&mut s, &bytes);
    }
    for c in 0..COMMITS {
        let _ = write!(
            s,
            "commit refs/heads/main\nmark :{}\ncommitter bench <bench@example.com> {} +0000\n",
            100 + c,
            when + c as u64 * 60
        );
        data(&mut s, format!("change {c}").as_bytes());
        if c == 0 {
            s.extend_from_slice(b"M 100644 :1 signing.toml\nM 100644 :2 certs/release.pem\nM 100644 :3 certs/build.pem\n");
        }
        let _ = writeln!(s, "M 100644 inline src/file{}.txt", c % 20);
        data(&mut s, format!("repository {i}, change {c}\n").as_bytes());
    }
    let _ = write!(
        s,
        "commit refs/notes/signing\ncommitter bench <bench@example.com> {when} +0000\n"
    );
    data(&mut s, b"records");
    for n in 0..RECORDS {
        let _ = writeln!(s, "N inline :{}", 100 + COMMITS - 1 - n);
        data(&mut s, format!("{}\n", record(i, n)).as_bytes());
    }
    s
}

fn make(dir: &Path, i: usize, release: &[u8], build: &[u8]) -> Result {
    let repo = dir.join(format!("r{i:04}"));
    std::fs::create_dir_all(&repo).map_err(|e| e.to_string())?;
    crate::bench::git(&repo, &["init", "-q", "-b", "main"])?;
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(&stream(i, release, build))
        .map_err(|e| e.to_string())?;
    if !child.wait().map_err(|e| e.to_string())?.success() {
        return Err(format!("git fast-import failed in {}", repo.display()));
    }
    // a checkout, as a clone has (the inventory reads HEAD, not the work tree)
    crate::bench::git(&repo, &["reset", "-q", "--hard"])?;
    Ok(())
}

pub fn run(sigctl: &Path, dir: &Path) -> Result {
    say(&format!(
        "\n== inventory: {REPOSITORIES} repositories of {COMMITS} commits, {RECORDS} records each"
    ));
    let ca = dir.join("ca");
    std::fs::create_dir_all(&ca).map_err(|e| e.to_string())?;
    util::throwaway_ca(&ca, "Bench Inventory CA")?;
    let mut certs = Vec::new();
    for name in ["release", "build"] {
        util::output(Command::new("openssl").current_dir(&ca).args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={name}"),
            "-out",
            &format!("{name}.csr"),
        ]))?;
        let pem =
            util::issue_code_signing(&ca, &format!("{name}.csr"), &format!("{name}.pem"), 200)?;
        certs.push(std::fs::read(pem).map_err(|e| e.to_string())?);
    }
    let repos = dir.join("repos");
    let t = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let failed: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= REPOSITORIES {
                        break;
                    }
                    if let Err(e) = make(&repos, i, &certs[0], &certs[1])
                        && let Ok(mut f) = failed.lock()
                    {
                        f.get_or_insert(e);
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    say(&format!(
        "(generated in {:.1} s)",
        t.elapsed().as_secs_f64()
    ));
    let shell = format!(
        "'{}' inventory repos --format json > inventory.json",
        sigctl.display()
    );
    let (wall, peak) = measure(dir, &shell, 3)?;
    let out = std::fs::read(dir.join("inventory.json")).map_err(|e| e.to_string())?;
    let inv: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
    let count = |k: &str| inv[k].as_array().map_or(0, Vec::len);
    say(&format!(
        "sigctl inventory ({} repositories, {} identities, {} findings): median {:.2} s of 3 runs, peak RSS {} MiB, on {workers} cores",
        count("repositories"),
        count("identities"),
        count("findings"),
        wall.as_secs_f64(),
        peak / 1024
    ));
    Ok(())
}
