//! `cargo xtask bench`: the figures the issues ask for, measured on
//! generated data with a release build, and printed. Nothing here passes or
//! fails on speed; the numbers go into issue notes.
//!
//! - check: `sigctl check` on a policy of 1,000 identities, each with its own
//!   certificate (wall time, peak memory)
//! - history: `sigctl check --history` on 10,000 commits holding 1,000
//!   distinct blobs, against `git log -p --all | grep -c PRIVATE`
//! - sign: `git commit -S` through sigctl + SoftHSM2 against an SSH file key
//!   and an unsigned commit (median of 20), and `sigctl sign artifact` on a
//!   1 GiB file against `sha256sum`

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{self, Result, say};

pub fn run(args: &[String]) -> Result {
    let keep = args.iter().any(|a| a == "--keep");
    let only = args
        .iter()
        .map(String::as_str)
        .find(|a| !a.starts_with("--"));
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
            bench_verify(&sigctl, &dir.join("verify"), 10_000)?;
            bench_verify(&sigctl, &dir.join("verify-100k"), 100_000)?;
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

fn git(repo: &Path, args: &[&str]) -> Result<String> {
    util::output(
        Command::new("git")
            .args(args)
            .current_dir(repo)
            .env("GIT_CONFIG_NOSYSTEM", "1"),
    )
}

/// Run `cmd` `n` times; median wall time and the largest peak RSS (KiB), via GNU time.
fn measure(dir: &Path, shell: &str, n: usize) -> Result<(Duration, u64)> {
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

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

const IDENTITIES: usize = 1000;

fn bench_check(sigctl: &Path, dir: &Path) -> Result {
    say(&format!(
        "\n== check: {IDENTITIES} identities, each with its own certificate"
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
        "leaf.csr",
    ])?;
    // one `openssl ca` signs the CSR a thousand times: distinct serials, distinct certificates
    let mut args: Vec<String> = "ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -extensions codesign -notext -out all.pem -infiles"
        .split(' ')
        .map(String::from)
        .collect();
    args.extend(std::iter::repeat_n("leaf.csr".to_owned(), IDENTITIES));
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
fn time_median(
    program: &Path,
    dir: &Path,
    envs: &[(&str, String)],
    args: &[&str],
    n: usize,
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
        if !out.status.success() {
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

/// SSHSIG over `message` with an Ed25519 key, armoured as git writes it.
fn sshsig(key: &ed25519_dalek::SigningKey, message: &[u8]) -> String {
    use base64::Engine;
    use ed25519_dalek::Signer;
    use sha2::Digest;
    fn string(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        out.extend_from_slice(s);
    }
    let mut pk = Vec::new();
    string(&mut pk, b"ssh-ed25519");
    string(&mut pk, key.verifying_key().as_bytes());
    let mut signed = b"SSHSIG".to_vec();
    string(&mut signed, b"git");
    string(&mut signed, b"");
    string(&mut signed, b"sha512");
    string(&mut signed, &sha2::Sha512::digest(message));
    let mut sig = Vec::new();
    string(&mut sig, b"ssh-ed25519");
    string(&mut sig, &key.sign(&signed).to_bytes());
    let mut blob = b"SSHSIG".to_vec();
    blob.extend_from_slice(&1u32.to_be_bytes());
    string(&mut blob, &pk);
    string(&mut blob, b"git");
    string(&mut blob, b"");
    string(&mut blob, b"sha512");
    string(&mut blob, &sig);
    let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
    let mut out = String::from("-----BEGIN SSH SIGNATURE-----\n");
    for chunk in b64.as_bytes().chunks(70) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END SSH SIGNATURE-----");
    out
}

/// `ssh-ed25519 <base64> comment` of a key.
fn ssh_public_line(key: &ed25519_dalek::SigningKey) -> String {
    use base64::Engine;
    let mut pk = Vec::new();
    pk.extend_from_slice(&11u32.to_be_bytes());
    pk.extend_from_slice(b"ssh-ed25519");
    pk.extend_from_slice(&32u32.to_be_bytes());
    pk.extend_from_slice(key.verifying_key().as_bytes());
    format!(
        "ssh-ed25519 {} bench@example.com",
        base64::engine::general_purpose::STANDARD.encode(pk)
    )
}

/// A repository of `n` SSH-signed commits (Ed25519), written in process.
fn signed_history(dir: &Path, n: usize, key: &ed25519_dalek::SigningKey) -> Result {
    use gix::objs::Write;
    git(dir, &["init", "-q", "-b", "main"])?;
    let policy = format!(
        "version = 1\n\n[policy]\nadmins = [\"dev\"]\n\n[owners.dev]\ncontact = \"dev@example.com\"\n\n\
         [environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"unmanaged\"]\n\n[identities.dev]\nowner = \"dev\"\n\
         environments = [\"dev\"]\ncustody = \"unmanaged\"\nssh_key = \"{}\"\n",
        ssh_public_line(key)
    );
    let repo = gix::open(dir).map_err(|e| e.to_string())?;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let policy_blob = repo
        .objects
        .write_buf(gix::object::Kind::Blob, policy.as_bytes())
        .map_err(|e| err(&e))?;
    let mut parent: Option<gix::ObjectId> = None;
    for i in 0..n {
        let file = format!("file {i}\n");
        let blob = repo
            .objects
            .write_buf(gix::object::Kind::Blob, file.as_bytes())
            .map_err(|e| err(&e))?;
        // tree: signing.toml + one changing file
        let mut tree = Vec::new();
        tree.extend_from_slice(b"100644 data.txt\0");
        tree.extend_from_slice(blob.as_bytes());
        tree.extend_from_slice(b"100644 signing.toml\0");
        tree.extend_from_slice(policy_blob.as_bytes());
        let tree_id = repo
            .objects
            .write_buf(gix::object::Kind::Tree, &tree)
            .map_err(|e| err(&e))?;
        let when = 1_780_000_000 + i as u64 * 60;
        let mut payload = format!("tree {tree_id}\n");
        if let Some(p) = parent {
            payload.push_str(&format!("parent {p}\n"));
        }
        payload.push_str(&format!(
            "author Bench <bench@example.com> {when} +0000\ncommitter Bench <bench@example.com> {when} +0000\n"
        ));
        let body = format!("\ncommit {i}\n");
        let sig = sshsig(key, format!("{payload}{body}").as_bytes());
        let header = format!("gpgsig {}\n", sig.replace('\n', "\n "));
        let object = format!("{payload}{header}{body}");
        let id = repo
            .objects
            .write_buf(gix::object::Kind::Commit, object.as_bytes())
            .map_err(|e| err(&e))?;
        parent = Some(id);
    }
    if let Some(tip) = parent {
        git(dir, &["update-ref", "refs/heads/main", &tip.to_string()])?;
    }
    git(dir, &["repack", "-adq"])?;
    git(dir, &["prune"])?;
    Ok(())
}

fn bench_verify(sigctl: &Path, dir: &Path, n: usize) -> Result {
    say(&format!("\n== verify: {n} Ed25519 SSH-signed commits"));
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let t = Instant::now();
    signed_history(dir, n, &key)?;
    say(&format!(
        "(generated in {:.1} s)",
        t.elapsed().as_secs_f64()
    ));
    let cmd = format!(
        "rm -rf .git/sigctl && {} verify --format json >/dev/null",
        sigctl.display()
    );
    let warm_cmd = format!("{} verify --format json >/dev/null", sigctl.display());
    let check = Command::new(sigctl)
        .args(["verify", "--format", "json"])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&check.stdout);
    let valid = text.matches("\"verdict\": \"valid\"").count();
    let (ours, peak) = measure(dir, &cmd, 3)?;
    say(&format!(
        "sigctl verify, cold: median {} of 3 runs = {:.0} commits/s, peak RSS {:.1} MiB, {valid} of {n} valid",
        ms(ours),
        n as f64 / ours.as_secs_f64(),
        peak as f64 / 1024.0
    ));
    let (warm, warm_peak) = measure(dir, &warm_cmd, 3)?;
    say(&format!(
        "sigctl verify, warm cache: median {} of 3 runs = {:.0} commits/s, peak RSS {:.1} MiB",
        ms(warm),
        n as f64 / warm.as_secs_f64(),
        warm_peak as f64 / 1024.0
    ));
    // git spends two ssh-keygen processes per commit: time a sample
    let signers = dir.join("allowed_signers");
    std::fs::write(
        &signers,
        format!(
            "bench@example.com {}\n",
            ssh_public_line(&key)
                .rsplit_once(' ')
                .map_or("", |(k, _)| k)
        ),
    )
    .map_err(|e| e.to_string())?;
    let sample = 300.min(n);
    let git_cmd = format!(
        "git -c gpg.ssh.allowedSignersFile={} log --show-signature -{sample} >/dev/null 2>&1",
        signers.display()
    );
    let (theirs, _) = measure(dir, &git_cmd, 1)?;
    let git_rate = sample as f64 / theirs.as_secs_f64();
    say(&format!(
        "git log --show-signature (allowed signers), {sample} commits: {} = {git_rate:.0} commits/s",
        ms(theirs)
    ));
    say(&format!(
        "ratio: sigctl verify is {:.0}x faster per commit",
        (n as f64 / ours.as_secs_f64()) / git_rate
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
