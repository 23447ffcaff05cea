//! `cargo xtask bench verify`: `sigctl verify` on generated histories of
//! 10,000 and 100,000 SSH-signed commits (Ed25519 and ECDSA P-256) and
//! 10,000 CMS-signed (P-256, a certificate in the tree) and 2,000
//! OpenPGP-signed by gpg (RSA-3072, the key file in the tree), cold and with a
//! warm cache, with peak memory; against the crypto-only cost of the same
//! signatures (the same libraries sigctl uses, on every core) and against
//! `git log --show-signature` with an allowed-signers file.
//!
//! The histories are written in process (objects through gix, one repack):
//! signing 100,000 commits through `git commit -S` would take hours.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::bench::{git, measure, ms};
use crate::util::{Result, say};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Ed25519,
    P256,
    Cms,
    /// OpenPGP RSA-3072, signed by gpg (one process per commit, as git does)
    Pgp,
}

impl Scheme {
    fn label(self) -> &'static str {
        match self {
            Scheme::Ed25519 => "Ed25519 SSH-signed",
            Scheme::P256 => "ECDSA P-256 SSH-signed",
            Scheme::Cms => "CMS-signed (ECDSA P-256, X.509)",
            Scheme::Pgp => "OpenPGP-signed (RSA-3072, gpg)",
        }
    }
}

/// The signer of a generated history.
struct Signer {
    scheme: Scheme,
    ed: ed25519_dalek::SigningKey,
    ec: p256::ecdsa::SigningKey,
    /// CMS: the certificate (PEM) and when it starts being valid
    cert: Option<(String, x509_cert::Certificate, i64)>,
    /// OpenPGP: gpg's home (the key, no passphrase) and the armoured public key
    pgp: Option<(std::path::PathBuf, String)>,
}

impl Signer {
    fn new(scheme: Scheme, dir: &Path) -> Result<Self> {
        let ed = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let ec = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).map_err(|e| e.to_string())?;
        let cert = if scheme == Scheme::Cms {
            Some(certificate(&ec, dir)?)
        } else {
            None
        };
        let pgp = if scheme == Scheme::Pgp {
            Some(gpg_key(dir)?)
        } else {
            None
        };
        Ok(Signer {
            scheme,
            ed,
            ec,
            cert,
            pgp,
        })
    }

    /// The first commit's time: inside the certificate's validity.
    fn start(&self) -> i64 {
        self.cert.as_ref().map_or(1_780_000_000, |c| c.2 + 60)
    }

    fn policy(&self) -> String {
        let identity = match self.scheme {
            Scheme::Cms => "custody = \"hsm\"\nkey = \"pkcs11:token=bench;object=bench\"\n\
                            certificate = \"bench.pem\"\n"
                .to_owned(),
            Scheme::Pgp => "custody = \"unmanaged\"\nopenpgp_key = \"bench.asc\"\n".to_owned(),
            _ => format!(
                "custody = \"unmanaged\"\nssh_key = \"{}\"\n",
                self.ssh_public_line()
            ),
        };
        format!(
            "version = 1\n\n[policy]\nadmins = [\"dev\"]\n\n[owners.dev]\ncontact = \"dev@example.com\"\n\n\
             [environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"unmanaged\", \"hsm\"]\n\n\
             [identities.dev]\nowner = \"dev\"\nenvironments = [\"dev\"]\n{identity}"
        )
    }

    fn ssh_public_blob(&self) -> Vec<u8> {
        let mut pk = Vec::new();
        match self.scheme {
            Scheme::P256 => {
                string(&mut pk, b"ecdsa-sha2-nistp256");
                string(&mut pk, b"nistp256");
                string(
                    &mut pk,
                    self.ec.verifying_key().to_sec1_point(false).as_bytes(),
                );
            }
            _ => {
                string(&mut pk, b"ssh-ed25519");
                string(&mut pk, self.ed.verifying_key().as_bytes());
            }
        }
        pk
    }

    /// `<type> <base64>` of the SSH public key.
    fn ssh_public_line(&self) -> String {
        use base64::Engine;
        let kind = match self.scheme {
            Scheme::P256 => "ecdsa-sha2-nistp256",
            _ => "ssh-ed25519",
        };
        format!(
            "{kind} {}",
            base64::engine::general_purpose::STANDARD.encode(self.ssh_public_blob())
        )
    }

    /// The armoured signature git would store for `message`.
    fn sign(&self, message: &[u8], at: i64) -> Result<String> {
        match self.scheme {
            Scheme::Cms => {
                let (_, cert, _) = self.cert.as_ref().ok_or("no certificate")?;
                let at =
                    time::OffsetDateTime::from_unix_timestamp(at).map_err(|e| e.to_string())?;
                let der = sigctl::signature::cms::sign_detached_p256(&self.ec, cert, message, at)
                    .map_err(|e| e.to_string())?;
                Ok(sigctl::signature::cms::armor(&der).trim_end().to_owned())
            }
            Scheme::Pgp => {
                let (home, _) = self.pgp.as_ref().ok_or("no gpg key")?;
                gpg_sign(home, message)
            }
            _ => Ok(self.sshsig(message)),
        }
    }

    /// SSHSIG over `message`, armoured as git writes it.
    fn sshsig(&self, message: &[u8]) -> String {
        use base64::Engine;
        use sha2::Digest;
        let mut signed = b"SSHSIG".to_vec();
        string(&mut signed, b"git");
        string(&mut signed, b"");
        string(&mut signed, b"sha512");
        string(&mut signed, &sha2::Sha512::digest(message));
        let mut sig = Vec::new();
        match self.scheme {
            Scheme::P256 => {
                use p256::ecdsa::signature::Signer as _;
                let s: p256::ecdsa::Signature = self.ec.sign(&signed);
                let (r, s) = s.split_bytes();
                let mut rs = Vec::new();
                string(&mut rs, &mpint(&r));
                string(&mut rs, &mpint(&s));
                string(&mut sig, b"ecdsa-sha2-nistp256");
                string(&mut sig, &rs);
            }
            _ => {
                use ed25519_dalek::Signer as _;
                string(&mut sig, b"ssh-ed25519");
                string(&mut sig, &self.ed.sign(&signed).to_bytes());
            }
        }
        let mut blob = b"SSHSIG".to_vec();
        blob.extend_from_slice(&1u32.to_be_bytes());
        string(&mut blob, &self.ssh_public_blob());
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

    /// A bare signature over `message` with the same key and algorithm: what
    /// the crypto-only baseline verifies.
    fn raw(&self, message: &[u8]) -> Vec<u8> {
        match self.scheme {
            Scheme::Ed25519 => {
                use ed25519_dalek::Signer as _;
                self.ed.sign(message).to_bytes().to_vec()
            }
            _ => {
                use p256::ecdsa::signature::Signer as _;
                let s: p256::ecdsa::Signature = self.ec.sign(message);
                s.to_bytes().to_vec()
            }
        }
    }

    /// Verify every `(message, signature)` on every core, as sigctl does
    /// (ed25519-dalek; ring for P-256): the floor sigctl cannot go under.
    fn crypto_only(&self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<Duration> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let ed = self.ed.verifying_key();
        let point = self.ec.verifying_key().to_sec1_point(false);
        let point = point.as_bytes();
        let scheme = self.scheme;
        let t = Instant::now();
        let ok = std::thread::scope(|s| {
            let handles: Vec<_> = pairs
                .chunks(pairs.len().div_ceil(threads).max(1))
                .map(|part| {
                    s.spawn(move || {
                        part.iter().all(|(m, sig)| match scheme {
                            Scheme::Ed25519 => ed25519_dalek::Signature::from_slice(sig)
                                .is_ok_and(|sig| ed.verify_strict(m, &sig).is_ok()),
                            _ => ring::signature::UnparsedPublicKey::new(
                                &ring::signature::ECDSA_P256_SHA256_FIXED,
                                point,
                            )
                            .verify(m, sig)
                            .is_ok(),
                        })
                    })
                })
                .collect();
            handles.into_iter().all(|h| h.join().unwrap_or(false))
        });
        let took = t.elapsed();
        if !ok {
            return Err("the crypto-only baseline failed to verify".into());
        }
        Ok(took)
    }
}

/// An RSA-3072 signing key in a fresh gpg home under `dir` (no
/// passphrase), and its armoured public key.
fn gpg_key(dir: &Path) -> Result<(std::path::PathBuf, String)> {
    use std::os::unix::fs::PermissionsExt;
    let home = dir.with_extension("gnupg");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| e.to_string())?;
    let gpg = |args: &[&str]| {
        crate::util::output(
            Command::new("gpg")
                .env("GNUPGHOME", &home)
                .args([
                    "--batch",
                    "--quiet",
                    "--pinentry-mode",
                    "loopback",
                    "--passphrase",
                    "",
                ])
                .args(args),
        )
    };
    gpg(&[
        "--quick-gen-key",
        "Bench <bench@example.com>",
        "rsa3072",
        "sign",
        "never",
    ])?;
    let key = gpg(&["--armor", "--export", "bench@example.com"])?;
    Ok((home, key))
}

/// A detached armoured OpenPGP signature by gpg, as git stores it.
fn gpg_sign(home: &Path, message: &[u8]) -> Result<String> {
    use std::io::Write;
    let mut child = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args([
            "--batch",
            "--quiet",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args([
            "--detach-sign",
            "--armor",
            "--local-user",
            "bench@example.com",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run gpg: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(message)
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "gpg --detach-sign: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// An SSH mpint of a big-endian unsigned integer.
fn mpint(b: &[u8]) -> Vec<u8> {
    let b = &b[b.iter().take_while(|x| **x == 0).count()..];
    let mut out = Vec::with_capacity(b.len() + 1);
    if b.first().is_some_and(|x| x & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(b);
    out
}

/// A self-signed code-signing certificate for `key`, made by openssl.
fn certificate(
    key: &p256::ecdsa::SigningKey,
    dir: &Path,
) -> Result<(String, x509_cert::Certificate, i64)> {
    use p256::pkcs8::EncodePrivateKey;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let key_path = dir.join("bench-key.pem");
    let pem = key
        .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
        .map_err(|e| e.to_string())?;
    std::fs::write(&key_path, pem.as_bytes()).map_err(|e| e.to_string())?;
    let cert_path = dir.join("bench.pem");
    crate::util::output(Command::new("openssl").args([
        "req",
        "-new",
        "-x509",
        "-key",
        &key_path.to_string_lossy(),
        "-subj",
        "/CN=bench release/O=sigctl bench",
        "-addext",
        "extendedKeyUsage=codeSigning",
        "-addext",
        "keyUsage=digitalSignature",
        "-days",
        "3650",
        "-out",
        &cert_path.to_string_lossy(),
    ]))?;
    let _ = std::fs::remove_file(&key_path);
    let text = std::fs::read_to_string(&cert_path).map_err(|e| e.to_string())?;
    use x509_cert::der::DecodePem;
    let cert = x509_cert::Certificate::from_pem(&text).map_err(|e| e.to_string())?;
    let not_before = cert
        .tbs_certificate()
        .validity()
        .not_before
        .to_unix_duration()
        .as_secs() as i64;
    Ok((text, cert, not_before))
}

/// A repository of `n` signed commits, written in process; returns the
/// `(payload, bare signature)` pairs of the crypto-only baseline.
fn signed_history(dir: &Path, n: usize, signer: &Signer) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    use gix::objs::Write;
    git(dir, &["init", "-q", "-b", "main"])?;
    let repo = gix::open(dir).map_err(|e| e.to_string())?;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let blob = |data: &[u8]| {
        repo.objects
            .write_buf(gix::object::Kind::Blob, data)
            .map_err(|e| err(&e))
    };
    let policy_blob = blob(signer.policy().as_bytes())?;
    let cert_blob = match &signer.cert {
        Some((pem, _, _)) => Some(blob(pem.as_bytes())?),
        None => None,
    };
    let pgp_blob = match &signer.pgp {
        Some((_, key)) => Some(blob(key.as_bytes())?),
        None => None,
    };
    let mut pairs = Vec::with_capacity(n);
    let mut parent: Option<gix::ObjectId> = None;
    for i in 0..n {
        let file = blob(format!("file {i}\n").as_bytes())?;
        // tree: (the certificate,) one changing file, signing.toml; sorted
        let mut tree = Vec::new();
        if let Some(k) = pgp_blob {
            tree.extend_from_slice(b"100644 bench.asc\0");
            tree.extend_from_slice(k.as_bytes());
        }
        if let Some(c) = cert_blob {
            tree.extend_from_slice(b"100644 bench.pem\0");
            tree.extend_from_slice(c.as_bytes());
        }
        tree.extend_from_slice(b"100644 data.txt\0");
        tree.extend_from_slice(file.as_bytes());
        tree.extend_from_slice(b"100644 signing.toml\0");
        tree.extend_from_slice(policy_blob.as_bytes());
        let tree_id = repo
            .objects
            .write_buf(gix::object::Kind::Tree, &tree)
            .map_err(|e| err(&e))?;
        let when = signer.start() + i as i64 * 60;
        let mut payload = format!("tree {tree_id}\n");
        if let Some(p) = parent {
            payload.push_str(&format!("parent {p}\n"));
        }
        payload.push_str(&format!(
            "author Bench <bench@example.com> {when} +0000\ncommitter Bench <bench@example.com> {when} +0000\n"
        ));
        let body = format!("\ncommit {i}\n");
        let message = format!("{payload}{body}");
        let sig = signer.sign(message.as_bytes(), when)?;
        if signer.scheme != Scheme::Pgp {
            pairs.push((message.clone().into_bytes(), signer.raw(message.as_bytes())));
        }
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
    Ok(pairs)
}

pub fn run(sigctl: &Path, dir: &Path, baseline: Option<&Path>) -> Result {
    for (scheme, n) in [
        (Scheme::Ed25519, 10_000),
        (Scheme::P256, 10_000),
        (Scheme::Cms, 10_000),
        (Scheme::Ed25519, 100_000),
        (Scheme::P256, 100_000),
        // gpg signs each commit in a process of its own: a smaller history
        (Scheme::Pgp, 2_000),
    ] {
        // SIGCTL_BENCH_VERIFY_N=10000: only the histories of that size
        if let Ok(only) = std::env::var("SIGCTL_BENCH_VERIFY_N")
            && only.parse() != Ok(n)
        {
            continue;
        }
        let name = format!(
            "verify-{}-{n}",
            scheme.label().split(' ').next().unwrap_or("x")
        );
        one(sigctl, &dir.join(name), scheme, n, baseline)?;
    }
    Ok(())
}

/// `sigctl signers` (the census) on a 10,000-commit Ed25519 SSH history.
pub fn run_signers(sigctl: &Path, dir: &Path) -> Result {
    let n = 10_000;
    say(&format!(
        "\n== signers: {n} {} commits",
        Scheme::Ed25519.label()
    ));
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let signer = Signer::new(Scheme::Ed25519, dir)?;
    drop(signed_history(dir, n, &signer)?);
    let out = Command::new(sigctl)
        .args(["signers", "--format", "json"])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains(&format!("\"signed_commits\": {n}")) {
        return Err(format!(
            "sigctl signers did not count {n} signed commits: {text:.400}"
        ));
    }
    let cmd = format!("{} signers --format json >/dev/null", sigctl.display());
    let (wall, peak) = measure(dir, &cmd, 3)?;
    say(&format!(
        "sigctl signers: median {} of 3 = {:.0} commits/s, peak RSS {:.1} MiB",
        ms(wall),
        n as f64 / wall.as_secs_f64(),
        peak as f64 / 1024.0
    ));
    Ok(())
}

fn one(sigctl: &Path, dir: &Path, scheme: Scheme, n: usize, baseline: Option<&Path>) -> Result {
    say(&format!("\n== verify: {n} {} commits", scheme.label()));
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let signer = Signer::new(scheme, dir)?;
    let t = Instant::now();
    let pairs = signed_history(dir, n, &signer)?;
    say(&format!(
        "(generated in {:.1} s)",
        t.elapsed().as_secs_f64()
    ));
    // OpenPGP has no crypto-only baseline here (RSA through sigctl's own
    // reader): the ratio to the crypto is left out
    let crypto = if scheme == Scheme::Pgp {
        Duration::from_secs(1)
    } else {
        let mut runs: Vec<Duration> = (0..3)
            .map(|_| signer.crypto_only(&pairs))
            .collect::<Result<_>>()?;
        runs.sort();
        let crypto = runs[1];
        say(&format!(
            "crypto only (verify each signature, every core): median {} of 3 = {:.0} commits/s",
            ms(crypto),
            n as f64 / crypto.as_secs_f64()
        ));
        crypto
    };
    drop(pairs);
    let check = Command::new(sigctl)
        .args(["verify", "--format", "json"])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&check.stdout);
    let valid = text.matches("\"verdict\": \"valid\"").count();
    if valid != n {
        return Err(format!(
            "sigctl verify found {valid} of {n} commits valid: {}",
            String::from_utf8_lossy(&check.stderr)
        ));
    }
    let cold_cmd = format!(
        "rm -rf .git/sigctl && {} verify --format json >/dev/null",
        sigctl.display()
    );
    let (cold, cold_peak) = measure(dir, &cold_cmd, 3)?;
    let cold_rate = n as f64 / cold.as_secs_f64();
    let vs_crypto = if scheme == Scheme::Pgp {
        String::new()
    } else {
        format!(
            " ({:.2}x the crypto-only time)",
            cold.as_secs_f64() / crypto.as_secs_f64()
        )
    };
    say(&format!(
        "sigctl verify, cold: median {} of 3 = {cold_rate:.0} commits/s{vs_crypto}, peak RSS {:.1} MiB, {valid} of {n} valid",
        ms(cold),
        cold_peak as f64 / 1024.0
    ));
    let warm_cmd = format!("{} verify --format json >/dev/null", sigctl.display());
    let (warm, warm_peak) = measure(dir, &warm_cmd, 3)?;
    say(&format!(
        "sigctl verify, warm cache: median {} of 3 = {:.0} commits/s, peak RSS {:.1} MiB",
        ms(warm),
        n as f64 / warm.as_secs_f64(),
        warm_peak as f64 / 1024.0
    ));
    // the pre-push hook: the last 10 commits pushed over the remote's
    // HEAD~10, the cache warm (issue 12's target: under 100 ms on 100k)
    let head = crate::bench::git(dir, &["rev-parse", "HEAD"])?;
    let base = crate::bench::git(dir, &["rev-parse", "HEAD~10"])?;
    let push_cmd = format!(
        "printf 'refs/heads/main {} refs/heads/main {}\\n' | {} hook run pre-push origin",
        head.trim(),
        base.trim(),
        sigctl.display()
    );
    let ok = Command::new("sh")
        .args(["-c", &push_cmd])
        .current_dir(dir)
        .status()
        .map_err(|e| e.to_string())?;
    if !ok.success() {
        return Err("the pre-push hook refused a push of valid commits".into());
    }
    let (unpinned, _) = measure(dir, &format!("{push_cmd} 2>/dev/null"), 5)?;
    // as the README sets a repository up: the trust root pinned (unpinned,
    // every run walks the whole history to find it)
    let root = crate::bench::git(dir, &["rev-list", "--max-parents=0", "HEAD"])?;
    crate::bench::git(dir, &["config", "sigctl.trustRoot", root.trim()])?;
    let (push, _) = measure(dir, &push_cmd, 5)?;
    crate::bench::git(dir, &["config", "--unset", "sigctl.trustRoot"])?;
    say(&format!(
        "pre-push hook, 10 new commits on {n}, warm cache, trust root pinned: median {} of 5 (target under 100 ms); unpinned {}",
        ms(push),
        ms(unpinned)
    ));
    if let Some(base) = baseline {
        // the other binary on the same history, interleaved with this one
        // round by round (cold, then warm on its own cache), medians
        let rounds = if n >= 100_000 { 5 } else { 9 };
        let cold_of = |bin: &Path| {
            format!(
                "rm -rf .git/sigctl && {} verify --format json >/dev/null",
                bin.display()
            )
        };
        let warm_of = |bin: &Path| format!("{} verify --format json >/dev/null", bin.display());
        let mut times: [Vec<Duration>; 4] = Default::default();
        let mut peaks = [0u64; 2];
        for _ in 0..rounds {
            for (k, bin) in [sigctl, base].into_iter().enumerate() {
                let (cold, peak) = measure(dir, &cold_of(bin), 1)?;
                let (warm, _) = measure(dir, &warm_of(bin), 1)?;
                times[2 * k].push(cold);
                times[2 * k + 1].push(warm);
                peaks[k] = peaks[k].max(peak);
            }
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let [mut a, mut b, mut c, mut d] = times;
        let (ours_cold, ours_warm, base_cold, base_warm) = (
            median(&mut a),
            median(&mut b),
            median(&mut c),
            median(&mut d),
        );
        let pct = |x: Duration, y: Duration| (x.as_secs_f64() / y.as_secs_f64() - 1.0) * 100.0;
        say(&format!(
            "against {} ({rounds} interleaved rounds, medians): cold {} vs {} ({:+.1}%), warm {} vs {} ({:+.1}%), peak RSS {:.1} vs {:.1} MiB",
            base.display(),
            ms(ours_cold),
            ms(base_cold),
            pct(ours_cold, base_cold),
            ms(ours_warm),
            ms(base_warm),
            pct(ours_warm, base_warm),
            peaks[0] as f64 / 1024.0,
            peaks[1] as f64 / 1024.0,
        ));
        // leave this build's cache behind, as before
        measure(dir, &cold_of(sigctl), 1)?;
    }
    if scheme == Scheme::Cms {
        // git verifies x509 signatures through gpgsm, which needs a keyring
        // of its own: the ratio is reported for the SSH histories
        return Ok(());
    }
    // git spends two ssh-keygen processes per commit (one gpg for
    // OpenPGP, the key imported): time a sample
    let sample = 300.min(n);
    let (git_cmd, how) = match &signer.pgp {
        Some((home, _)) => (
            format!(
                "GNUPGHOME={} git log --show-signature -{sample} >/dev/null 2>&1",
                home.display()
            ),
            "gpg, the key imported",
        ),
        None => {
            let signers = dir.join("allowed_signers");
            std::fs::write(
                &signers,
                format!("bench@example.com {}\n", signer.ssh_public_line()),
            )
            .map_err(|e| e.to_string())?;
            (
                format!(
                    "git -c gpg.ssh.allowedSignersFile={} log --show-signature -{sample} >/dev/null 2>&1",
                    signers.display()
                ),
                "allowed signers",
            )
        }
    };
    let (theirs, _) = measure(dir, &git_cmd, 1)?;
    let git_rate = sample as f64 / theirs.as_secs_f64();
    say(&format!(
        "git log --show-signature ({how}), {sample} commits: {} = {git_rate:.0} commits/s",
        ms(theirs)
    ));
    say(&format!(
        "ratio: sigctl verify (cold) is {:.0}x faster per commit; warm {:.0}x",
        cold_rate / git_rate,
        (n as f64 / warm.as_secs_f64()) / git_rate
    ));
    // the same history judged against a policy held outside it (issue 14)
    let outside = dir.with_extension("policy");
    std::fs::create_dir_all(&outside).map_err(|e| e.to_string())?;
    let file = outside.join("signing.toml");
    std::fs::write(&file, signer.policy()).map_err(|e| e.to_string())?;
    if let Some((_, key)) = &signer.pgp {
        // trust material sits beside the policy file, never in the repository
        std::fs::write(outside.join("bench.asc"), key).map_err(|e| e.to_string())?;
    }
    let ext = format!(
        "{} verify --policy {} --format json",
        sigctl.display(),
        file.display()
    );
    let check = Command::new("sh")
        .args(["-c", &ext])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let valid = String::from_utf8_lossy(&check.stdout)
        .matches("\"verdict\": \"valid\"")
        .count();
    if valid != n {
        return Err(format!(
            "sigctl verify --policy found {valid} of {n} commits valid: {}",
            String::from_utf8_lossy(&check.stderr)
        ));
    }
    let (ext_cold, _) = measure(dir, &format!("rm -rf .git/sigctl && {ext} >/dev/null"), 3)?;
    let (ext_warm, _) = measure(dir, &format!("{ext} >/dev/null"), 3)?;
    let (ext_cold_rate, ext_warm_rate) = (
        n as f64 / ext_cold.as_secs_f64(),
        n as f64 / ext_warm.as_secs_f64(),
    );
    say(&format!(
        "sigctl verify --policy FILE: cold median {} of 3 = {ext_cold_rate:.0} commits/s, warm {} = {ext_warm_rate:.0} commits/s; ratio to git log --show-signature: cold {:.0}x, warm {:.0}x (target for SSH: 200x)",
        ms(ext_cold),
        ms(ext_warm),
        ext_cold_rate / git_rate,
        ext_warm_rate / git_rate
    ));
    Ok(())
}

/// `cargo xtask bench revoke`: `sigctl revoke --format json` (the blast
/// radius) on 10,000 Ed25519 SSH-signed commits, the key revoked from the
/// middle of the history: median wall time and peak memory. Each run
/// starts from HEAD's signing.toml (`git checkout`, a few ms, included).
pub fn run_revoke(sigctl: &Path, dir: &Path) -> Result {
    let n = 10_000;
    say(&format!(
        "\n== revoke: blast radius on {n} Ed25519 SSH-signed commits"
    ));
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let signer = Signer::new(Scheme::Ed25519, dir)?;
    let t = Instant::now();
    signed_history(dir, n, &signer)?;
    git(dir, &["checkout", "-q", "-f", "main"])?;
    say(&format!(
        "(generated in {:.1} s)",
        t.elapsed().as_secs_f64()
    ));
    let mid = signer.start() + (n as i64 / 2) * 60;
    let since = crate::util::output(Command::new("date").args([
        "-u",
        "-d",
        &format!("@{mid}"),
        "+%Y-%m-%dT%H:%M:%SZ",
    ]))?
    .trim()
    .to_owned();
    let cmd = format!(
        "git checkout -q -- signing.toml && {} revoke --identity dev --reason key-compromise --since {since} --format json",
        sigctl.display()
    );
    let out = Command::new("sh")
        .args(["-c", &cmd])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let listed = text.matches("\"kind\": \"commit\"").count();
    if !out.status.success() || listed != n / 2 {
        return Err(format!(
            "sigctl revoke listed {listed} of the {} commits signed since {since}: {}",
            n / 2,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let (median, peak) = measure(dir, &format!("{cmd} >/dev/null"), 5)?;
    say(&format!(
        "sigctl revoke (edit + blast radius, {listed} of {n} commits listed): median {} of 5 = {:.0} commits/s, peak RSS {:.1} MiB",
        ms(median),
        n as f64 / median.as_secs_f64(),
        peak as f64 / 1024.0
    ));
    Ok(())
}
