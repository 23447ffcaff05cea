//! `cargo xtask bench`: the figures the issues ask for, measured on
//! generated data with a release build, and printed. Nothing here passes or
//! fails on speed; the numbers go into issue notes.
//!
//! - check: `sigctl check` on a policy of 1,000 identities, each with its own
//!   key and certificate (wall time, peak memory)
//! - history: `sigctl check --history` on 10,000 commits holding 1,000
//!   distinct blobs, against `git log -p --all | grep -c PRIVATE`
//! - sign: `git commit -S` through sigctl + SoftHSM2 against an SSH file key
//!   and an unsigned commit (median of 20), `sigctl renew` (generate, find,
//!   import), and `sigctl sign artifact` on a
//!   1 GiB file against `sha256sum`
//! - verify: see `bench_verify.rs`
//! - provenance: see `bench_provenance.rs`
//! - verify-artifact: see `bench_verify_artifact.rs`
//! - keyless: see `bench_keyless.rs`
//! - inventory: see `bench_inventory.rs`
//! - revoke: the blast radius on 10,000 SSH-signed commits, see
//!   `bench_verify.rs` (`run_revoke`)

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{self, Result, say};

/// The path given after `--baseline`, which is no bench name.
fn baseline_arg(args: &[String]) -> Option<&std::path::Path> {
    args.iter()
        .position(|a| a == "--baseline")
        .and_then(|i| args.get(i + 1))
        .map(std::path::Path::new)
}

pub fn run(args: &[String]) -> Result {
    let keep = args.iter().any(|a| a == "--keep");
    // `--baseline PATH`: another sigctl binary measured on the same histories
    let baseline = args
        .iter()
        .position(|a| a == "--baseline")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    let only = args
        .iter()
        .map(String::as_str)
        .find(|a| !a.starts_with("--") && Some(std::path::Path::new(a)) != baseline_arg(args));
    util::install_deps()?;
    ensure_gnu_time()?;
    let sigctl = util::build_sigctl(true)?;
    let dir = std::env::temp_dir().join(format!("sigctl-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    say(&format!(
        "machine: {} cores; sigctl release build; data in {}",
        cores(),
        dir.display()
    ));
    let res = (|| {
        if only.is_none_or(|o| o == "check") {
            bench_check(&sigctl, &dir.join("check"))?;
        }
        if only.is_none_or(|o| o == "history") {
            bench_history(&sigctl, &dir.join("history"))?;
        }
        if only.is_none_or(|o| o == "sign") {
            bench_sign(&sigctl, &dir.join("sign"))?;
        }
        if only.is_none_or(|o| o == "verify") {
            crate::bench_verify::run(&sigctl, &dir, baseline.as_deref())?;
        }
        if only.is_none_or(|o| o == "signers") {
            crate::bench_verify::run_signers(&sigctl, &dir.join("signers"))?;
        }
        if only.is_none_or(|o| o == "provenance") {
            crate::bench_provenance::run(&sigctl, &dir.join("provenance"))?;
        }
        if only.is_none_or(|o| o == "verify-artifact") {
            crate::bench_verify_artifact::run(&sigctl, &dir.join("verify-artifact"))?;
        }
        if only.is_none_or(|o| o == "inventory") {
            crate::bench_inventory::run(&sigctl, &dir.join("inventory"))?;
        }
        if only.is_none_or(|o| o == "revoke") {
            crate::bench_verify::run_revoke(&sigctl, &dir.join("revoke"))?;
        }
        if only.is_none_or(|o| o == "keyless") {
            crate::bench_keyless::run(&sigctl, &dir.join("keyless"))?;
        }
        Ok(())
    })();
    if keep {
        say(&format!("(kept {})", dir.display()));
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    res
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn ensure_gnu_time() -> Result {
    if Path::new("/usr/bin/time").exists() {
        return Ok(());
    }
    say("installing GNU time (peak memory figures)");
    let st = Command::new("apt-get")
        .args(["install", "-y", "-qq", "time"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| e.to_string())?;
    if st.success() {
        Ok(())
    } else {
        Err("apt-get install time failed".into())
    }
}

pub(crate) fn git(repo: &Path, args: &[&str]) -> Result<String> {
    util::output(
        Command::new("git")
            .args(args)
            .current_dir(repo)
            .env("GIT_CONFIG_NOSYSTEM", "1"),
    )
}

/// Run `cmd` `n` times; median wall time and the largest peak RSS (KiB), via GNU time.
pub(crate) fn measure(dir: &Path, shell: &str, n: usize) -> Result<(Duration, u64)> {
    let mut times = Vec::new();
    let mut peak = 0u64;
    for _ in 0..n {
        let start = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M", "sh", "-c", shell])
            .current_dir(dir)
            .output()
            .map_err(|e| e.to_string())?;
        times.push(start.elapsed());
        let err = String::from_utf8_lossy(&out.stderr);
        let kib = err
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<u64>().ok())
            .unwrap_or(0);
        peak = peak.max(kib);
    }
    times.sort();
    Ok((times[times.len() / 2], peak))
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

const IDENTITIES: usize = 1000;

fn bench_check(sigctl: &Path, dir: &Path) -> Result {
    say(&format!(
        "\n== check: {IDENTITIES} identities, each with its own key and certificate"
    ));
    let repo = dir.join("repo");
    let ca = dir.join("ca");
    for d in [&repo.join("certs"), &ca.join("new")] {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    git(&repo, &["init", "-q", "-b", "main"])?;
    std::fs::write(ca.join("index"), "").map_err(|e| e.to_string())?;
    std::fs::write(ca.join("serial"), "1000\n").map_err(|e| e.to_string())?;
    std::fs::write(
        ca.join("ca.cnf"),
        "[ca]\ndefault_ca = ca\n[ca]\ndir = .\ndatabase = index\nnew_certs_dir = new\nserial = serial\n\
         default_md = sha256\npolicy = any\nunique_subject = no\ndefault_days = 365\n[any]\ncommonName = supplied\n\
         [codesign]\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = codeSigning\n",
    )
    .map_err(|e| e.to_string())?;
    let o = |args: &[&str]| util::output(Command::new("openssl").args(args).current_dir(&ca));
    o(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-subj",
        "/CN=Bench CA",
        "-days",
        "3650",
        "-out",
        "ca.pem",
    ])?;
    // a key of its own for each identity (one key under two identities is `shared-key`)
    let csrs: Vec<String> = (1..=IDENTITIES)
        .map(|n| format!("leaf-{n:04}.csr"))
        .collect();
    for csr in &csrs {
        o(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-subj",
            "/CN=bench leaf",
            "-out",
            csr,
        ])?;
    }
    // one `openssl ca` signs every request: distinct serials, distinct certificates
    let mut args: Vec<String> = "ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -extensions codesign -notext -out all.pem -infiles"
        .split(' ')
        .map(String::from)
        .collect();
    args.extend(csrs);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    o(&refs)?;
    let mut policy = String::from(
        "version = 1\n\n[policy]\nadmins = [\"security\"]\n\n[owners.security]\ncontact = \"security@example.com\"\n\n\
         [environments.prod]\nrefs = [\"refs/tags/v*\"]\ncustody = [\"hsm\"]\n",
    );
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(ca.join("new"))
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for cert in entries {
        n += 1;
        let name = format!("id-{n:04}");
        std::fs::copy(&cert, repo.join(format!("certs/{name}.pem"))).map_err(|e| e.to_string())?;
        let _ = write!(
            policy,
            "\n[identities.{name}]\nowner = \"security\"\nenvironments = [\"prod\"]\ncustody = \"hsm\"\n\
             key = \"pkcs11:token=release;object={name}\"\ncertificate = \"certs/{name}.pem\"\nrenew_before = \"30d\"\n"
        );
    }
    std::fs::write(repo.join("signing.toml"), &policy).map_err(|e| e.to_string())?;
    git(&repo, &["add", "-A"])?;
    git(
        &repo,
        &[
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@example.com",
            "commit",
            "-q",
            "-m",
            "policy",
        ],
    )?;
    say(&format!(
        "{n} certificates, signing.toml of {} bytes",
        policy.len()
    ));

    let cmd = format!("{} check >/dev/null", sigctl.display());
    let check_status = Command::new(sigctl)
        .arg("check")
        .current_dir(&repo)
        .output()
        .map_err(|e| e.to_string())?;
    if !check_status.status.success() {
        return Err(format!(
            "sigctl check failed: {}",
            String::from_utf8_lossy(&check_status.stdout)
        ));
    }
    let (wall, peak) = measure(&repo, &cmd, 11)?;
    say(&format!(
        "sigctl check: median {} of 11 runs, peak RSS {} KiB ({:.1} MiB)",
        ms(wall),
        peak,
        peak as f64 / 1024.0
    ));
    Ok(())
}

const COMMITS: usize = 10_000;
const BLOBS: usize = 1_000;

fn bench_history(sigctl: &Path, dir: &Path) -> Result {
    say(&format!(
        "\n== check --history: {COMMITS} commits, {BLOBS} distinct blobs"
    ));
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).map_err(|e| e.to_string())?;
    git(&repo, &["init", "-q", "-b", "main"])?;
    let key = util::output(Command::new("openssl").args([
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]))?;
    let policy = "version = 1\n\n[policy]\nadmins = [\"dev\"]\n\n[owners.dev]\ncontact = \"dev@example.com\"\n\n\
                  [environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"keyless\"]\n\n[identities.dev]\nowner = \"dev\"\n\
                  environments = [\"dev\"]\ncustody = \"keyless\"\nkeyless = { issuer = \"https://accounts.example.com\", subject = \"dev@example.com\" }\n";
    let mut stream: Vec<u8> = Vec::new();
    let blob = |stream: &mut Vec<u8>, mark: usize, data: &[u8]| {
        let _ = write!(
            DataWriter(stream),
            "blob\nmark :{mark}\ndata {}\n",
            data.len()
        );
        stream.extend_from_slice(data);
        stream.push(b'\n');
    };
    blob(&mut stream, 1, policy.as_bytes());
    // 1,000 distinct text blobs of ~2 KiB (one of them holds a private key)
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..BLOBS {
        let mut text = format!("# file content {i}\n");
        for _ in 0..40 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let _ = writeln!(
                text,
                "line {x:016x} {:x} lorem ipsum dolor sit amet",
                x.rotate_left(17)
            );
        }
        if i == BLOBS / 2 {
            text.push_str(&key);
        }
        blob(&mut stream, 2 + i, text.as_bytes());
    }
    for c in 0..COMMITS {
        let when = 1_700_000_000 + c as u64 * 60;
        let _ = write!(
            DataWriter(&mut stream),
            "commit refs/heads/main\nmark :{}\ncommitter Bench <bench@example.com> {when} +0000\ndata 11\ncommit {:04}\n",
            100_000 + c,
            c % 10_000
        );
        if c == 0 {
            stream.extend_from_slice(b"M 100644 :1 signing.toml\n");
        } else {
            let _ = writeln!(DataWriter(&mut stream), "from :{}", 100_000 + c - 1);
        }
        let _ = writeln!(
            DataWriter(&mut stream),
            "M 100644 :{} src/d{:02}/f{:03}.txt",
            2 + c % BLOBS,
            (c * 7) % 32,
            c % 50
        );
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&repo)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        stdin.write_all(&stream).map_err(|e| e.to_string())?;
    }
    if !child.wait().map_err(|e| e.to_string())?.success() {
        return Err("git fast-import failed".into());
    }
    git(&repo, &["reset", "-q", "--hard", "main"])?;
    // the key was committed, then removed: only history holds it now
    let holding = git(&repo, &["grep", "-l", "PRIVATE KEY"])?;
    for path in holding.lines() {
        git(&repo, &["rm", "-q", path])?;
    }
    git(
        &repo,
        &[
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@example.com",
            "commit",
            "-q",
            "-m",
            "remove the key",
        ],
    )?;
    let tip_key = Command::new("git")
        .args(["grep", "-q", "PRIVATE"])
        .current_dir(&repo)
        .status()
        .map_err(|e| e.to_string())?;
    let count = git(&repo, &["rev-list", "--count", "--all"])?;
    let blobs = git(&repo, &["rev-list", "--objects", "--all"])?;
    say(&format!(
        "{} commits, {} objects reachable; key at the tip: {}",
        count.trim(),
        blobs.lines().count(),
        tip_key.success()
    ));

    let s = sigctl.display();
    let out = Command::new(sigctl)
        .args(["check", "--history", "--format", "json"])
        .current_dir(&repo)
        .output()
        .map_err(|e| e.to_string())?;
    let found = String::from_utf8_lossy(&out.stdout)
        .matches("\"shadow-key\"")
        .count();
    let (ours, our_peak) = measure(&repo, &format!("{s} check --history >/dev/null"), 5)?;
    let grep = String::from_utf8_lossy(
        &Command::new("sh")
            .args(["-c", "git log -p --all | grep -c PRIVATE"])
            .current_dir(&repo)
            .output()
            .map_err(|e| e.to_string())?
            .stdout,
    )
    .trim()
    .to_owned();
    let (theirs, _) = measure(&repo, "git log -p --all | grep -c PRIVATE >/dev/null", 3)?;
    say(&format!(
        "sigctl check --history: median {} of 5 runs, peak RSS {:.1} MiB, {found} shadow-key finding(s)",
        ms(ours),
        our_peak as f64 / 1024.0
    ));
    say(&format!(
        "git log -p --all | grep -c PRIVATE: median {} of 3 runs ({grep} matching lines)",
        ms(theirs)
    ));
    say(&format!(
        "ratio: sigctl is {:.1}x faster",
        theirs.as_secs_f64() / ours.as_secs_f64()
    ));
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Time `git <args>` `n` times in `repo` with `envs`.
/// Median wall time of `n` runs of `program args` in `dir` with `envs`; fails if any run fails.
/// `sigctl renew` on the sign bench's repository and token: the successor
/// key generated (once), its request again (the key found), and `--import`
/// of the CA's certificate (the policy and file restored between runs).
fn bench_renew(sigctl: &Path, repo: &Path, ca: &Path, envs: &[(&str, String)]) -> Result {
    say("\n== renew: sigctl renew latency (SoftHSM2, the sign bench's repository)");
    let start = Instant::now();
    let csr = util::output(
        Command::new(sigctl)
            .args(["renew", "--identity", "release"])
            .current_dir(repo)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str()))),
    )?;
    let generated = start.elapsed();
    std::fs::write(ca.join("next.csr"), csr).map_err(|e| e.to_string())?;
    util::issue_code_signing(ca, "next.csr", "next.pem", 60)?;
    let found = time_median(sigctl, repo, envs, &["renew", "--identity", "release"], 5)?;
    let next = ca.join("next.pem").display().to_string();
    let mut imports = Vec::new();
    for _ in 0..5 {
        git(repo, &["checkout", "-q", "--", "signing.toml"])?;
        git(repo, &["clean", "-q", "-f", "certs"])?;
        let t = Instant::now();
        util::output(
            Command::new(sigctl)
                .args(["renew", "--identity", "release", "--import", &next])
                .current_dir(repo)
                .envs(envs.iter().map(|(k, v)| (*k, v.as_str()))),
        )?;
        imports.push(t.elapsed());
    }
    imports.sort();
    git(repo, &["checkout", "-q", "--", "signing.toml"])?;
    git(repo, &["clean", "-q", "-f", "certs"])?;
    say(&format!(
        "sigctl renew (successor key generated on the token, CSR): {}",
        ms(generated)
    ));
    say(&format!(
        "sigctl renew (successor found, CSR):                      median {} of 5",
        ms(found)
    ));
    say(&format!(
        "sigctl renew --import (checked, policy edited):           median {} of 5",
        ms(imports[2])
    ));
    Ok(())
}

pub(crate) fn time_median(
    program: &Path,
    dir: &Path,
    envs: &[(&str, String)],
    args: &[&str],
    n: usize,
) -> Result<Duration> {
    time_median_exiting(program, dir, envs, args, n, &[0])
}

/// As `time_median`, for a command whose expected exit codes are `codes`.
pub(crate) fn time_median_exiting(
    program: &Path,
    dir: &Path,
    envs: &[(&str, String)],
    args: &[&str],
    n: usize,
    codes: &[i32],
) -> Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..n {
        let start = Instant::now();
        let out = Command::new(program)
            .args(args)
            .current_dir(dir)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .map_err(|e| e.to_string())?;
        times.push(start.elapsed());
        if !out.status.code().is_some_and(|c| codes.contains(&c)) {
            return Err(format!(
                "{} {args:?} failed: {}",
                program.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(median(times))
}

fn time_git(repo: &Path, envs: &[(&str, String)], args: &[&str], n: usize) -> Result<Duration> {
    time_median(Path::new("git"), repo, envs, args, n)
}

const PIN: &str = "135790";

fn bench_sign(sigctl: &Path, dir: &Path) -> Result {
    say("\n== sign: git commit -S latency (median of 20) and artefact throughput");
    let repo = dir.join("repo");
    let ca = dir.join("ca");
    for d in [&repo, &ca, &dir.join("tokens")] {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let envs = [
        ("SOFTHSM2_CONF", conf.display().to_string()),
        ("SIGCTL_PKCS11_PIN", PIN.to_owned()),
        ("HOME", dir.display().to_string()),
    ];
    let run = |program: &Path, args: &[&str], cwd: &Path| {
        util::output(
            Command::new(program)
                .args(args)
                .current_dir(cwd)
                .envs(envs.iter().map(|(k, v)| (*k, v.as_str()))),
        )
    };
    run(
        Path::new("softhsm2-util"),
        &[
            "--init-token",
            "--free",
            "--label",
            "sigctl",
            "--so-pin",
            "24680",
            "--pin",
            PIN,
        ],
        dir,
    )?;
    git(&repo, &["init", "-q", "-b", "main"])?;
    git(&repo, &["config", "user.name", "Bench"])?;
    git(&repo, &["config", "user.email", "bench@example.com"])?;
    run(sigctl, &["init", "--template", "hsm-release"], &repo)?;
    run(sigctl, &["key", "generate", "--identity", "release"], &repo)?;
    let csr = run(
        sigctl,
        &[
            "cert",
            "request",
            "--identity",
            "release",
            "--subject",
            "CN=release",
        ],
        &repo,
    )?;
    std::fs::write(ca.join("r.csr"), csr).map_err(|e| e.to_string())?;
    util::throwaway_ca(&ca, "CA")?;
    util::issue_code_signing(&ca, "r.csr", "r.pem", 30)?;
    run(
        sigctl,
        &[
            "cert",
            "import",
            "--identity",
            "release",
            &ca.join("r.pem").display().to_string(),
        ],
        &repo,
    )?;
    git(&repo, &["add", "-A"])?;
    git(&repo, &["commit", "-q", "-m", "policy"])?;

    let commit = ["commit", "-q", "--allow-empty", "-m", "bench"];
    let unsigned = time_git(&repo, &envs, &commit, 20)?;
    let x509 = time_git(
        &repo,
        &envs,
        &[
            "-c",
            "user.signingkey=release",
            "commit",
            "-q",
            "--allow-empty",
            "-S",
            "-m",
            "bench",
        ],
        20,
    )?;
    let key = dir.join("id_ed25519");
    util::output(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key),
    )?;
    let ssh = time_git(
        &repo,
        &envs,
        &[
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("user.signingkey={}", key.display()),
            "commit",
            "-q",
            "--allow-empty",
            "-S",
            "-m",
            "bench",
        ],
        20,
    )?;
    let check = time_git(&repo, &envs, &["verify-commit", "HEAD~20"], 1);
    say(&format!(
        "git commit (unsigned):                 median {}",
        ms(unsigned)
    ));
    say(&format!(
        "git commit -S, SSH ed25519 file key:   median {}",
        ms(ssh)
    ));
    say(&format!(
        "git commit -S, sigctl + SoftHSM2:      median {}",
        ms(x509)
    ));
    say(&format!(
        "ratio sigctl/SSH: {:.2}x; signing cost over an unsigned commit: sigctl {}, ssh-keygen {}",
        x509.as_secs_f64() / ssh.as_secs_f64(),
        ms(x509.saturating_sub(unsigned)),
        ms(ssh.saturating_sub(unsigned))
    ));
    if check.is_err() {
        return Err("the sigctl-signed commits do not verify".into());
    }

    bench_keyless_commit(sigctl, dir, &envs, x509)?;
    bench_renew(sigctl, &repo, &ca, &envs)?;

    // artefact: hashing is the only work
    let file = dir.join("artefact.bin");
    util::output(Command::new("sh").args([
        "-c",
        &format!("head -c 1073741824 /dev/urandom > {}", file.display()),
    ]))?;
    let time_cmd = |program: &Path, args: &[&str]| time_median(program, &repo, &envs, args, 3);
    let f = file.display().to_string();
    let sha = time_cmd(Path::new("sha256sum"), &[&f])?;
    let ours = time_cmd(sigctl, &["sign", "artifact", &f, "--identity", "release"])?;
    let gib = |d: Duration| 1.0 / d.as_secs_f64();
    say(&format!(
        "sha256sum, 1 GiB:                      median {} ({:.2} GiB/s)",
        ms(sha),
        gib(sha)
    ));
    say(&format!(
        "sigctl sign artifact, 1 GiB:           median {} ({:.2} GiB/s)",
        ms(ours),
        gib(ours)
    ));
    say(&format!(
        "ratio sigctl/sha256sum: {:.2}x",
        ours.as_secs_f64() / sha.as_secs_f64()
    ));
    Ok(())
}

/// `write!` into a byte vector.
struct DataWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for DataWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Keyless `git commit -S` against the local Sigstore stack: the total, and
/// sigctl's own time (the total less what the stack spent answering, which
/// it counts per request), against the HSM path's median.
fn bench_keyless_commit(
    sigctl: &Path,
    dir: &Path,
    envs: &[(&str, String)],
    hsm: Duration,
) -> Result {
    let stack = dir.join("stack");
    crate::sigstore_stack::run(&[stack.display().to_string()])?;
    let result = (|| -> Result {
        let url = std::fs::read_to_string(stack.join("url")).map_err(|e| e.to_string())?;
        let url = url.trim();
        let repo = dir.join("keyless");
        std::fs::create_dir_all(repo.join("sigstore")).map_err(|e| e.to_string())?;
        for f in ["trusted_root.json", "signing_config.json"] {
            std::fs::copy(stack.join(f), repo.join("sigstore").join(f))
                .map_err(|e| e.to_string())?;
        }
        std::fs::write(
            repo.join("signing.toml"),
            "version = 1\n\n[policy]\nadmins = [\"team\"]\n\n[owners.team]\ncontact = \"bench@example.com\"\nmembers = [\"bench@example.com\"]\n\n[sigstore]\ntrusted_root = \"sigstore/trusted_root.json\"\nsigning_config = \"sigstore/signing_config.json\"\n\n[environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"keyless\"]\n\n[identities.bench]\nowner = \"team\"\npurpose = \"bench\"\nenvironments = [\"dev\"]\ncustody = \"keyless\"\nkeyless = { issuer = \"https://oidc.example.test\", subject = \"bench@example.com\" }\n",
        )
        .map_err(|e| e.to_string())?;
        git(&repo, &["init", "-q", "-b", "main"])?;
        git(&repo, &["config", "user.name", "Bench"])?;
        git(&repo, &["config", "user.email", "bench@example.com"])?;
        git(&repo, &["add", "-A"])?;
        git(&repo, &["commit", "-q", "-m", "policy"])?;
        let program = sigctl.display().to_string();
        git(&repo, &["config", "gpg.format", "x509"])?;
        git(&repo, &["config", "gpg.x509.program", &program])?;
        let mut envs: Vec<(&str, String)> = envs.to_vec();
        envs.push((
            "SIGSTORE_ID_TOKEN",
            crate::demo::demo_token("https://oidc.example.test", "bench@example.com"),
        ));
        let busy = || -> Result<f64> {
            let state = crate::sigstore_stack::control_state(url)?;
            Ok(state["busy_ms"]
                .as_object()
                .map(|m| m.values().filter_map(|v| v.as_f64()).sum())
                .unwrap_or(0.0))
        };
        let n = 20;
        let before = busy()?;
        let total = time_git(
            &repo,
            &envs,
            &[
                "-c",
                "gpg.format=x509",
                "-c",
                &format!("gpg.x509.program={program}"),
                "-c",
                "user.signingkey=bench",
                "commit",
                "-q",
                "--allow-empty",
                "-S",
                "-m",
                "bench",
            ],
            n,
        )?;
        let stack_ms = (busy()? - before) / n as f64;
        let own = total.saturating_sub(Duration::from_secs_f64(stack_ms / 1000.0));
        git(&repo, &["verify-commit", "HEAD"])
            .map_err(|e| format!("the keyless commits do not verify: {e}"))?;
        say(&format!(
            "git commit -S, sigctl keyless (local Sigstore stack): median {}; the stack's share {:.1} ms (mean: Fulcio, 2 Rekor entries, per commit); sigctl's own {}",
            ms(total),
            stack_ms,
            ms(own)
        ));
        say(&format!(
            "ratio keyless/HSM: total {:.2}x, sigctl's own {:.2}x (target < 2x)",
            total.as_secs_f64() / hsm.as_secs_f64(),
            own.as_secs_f64() / hsm.as_secs_f64()
        ));
        Ok(())
    })();
    if let Ok(pid) = std::fs::read_to_string(stack.join("pid")) {
        let _ = Command::new("kill").arg(pid.trim()).status();
    }
    result
}
