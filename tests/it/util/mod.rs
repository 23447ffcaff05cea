//! `TestRepo`: a temporary repository made by the real git, with an isolated
//! HOME and no system config, and helpers to run sigctl and openssl in it.

#![allow(dead_code)]

pub mod hsm;
pub mod sigstore;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const SIGCTL: &str = env!("CARGO_BIN_EXE_sigctl");

pub struct TestRepo {
    pub dir: tempfile::TempDir,
}

/// What a sigctl run produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A finished process: its exit code (-1 when a signal ended it) and output.
impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Exit code, stdout and stderr as one text for snapshots.
    pub fn snapshot(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl TestRepo {
    /// An empty repository on branch main.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let r = Self { dir };
        std::fs::create_dir_all(r.home()).expect("home");
        r.git(&["init", "-q", "-b", "main"]);
        r.git(&["config", "user.name", "Test User"]);
        r.git(&["config", "user.email", "test@example.com"]);
        r
    }

    /// A directory outside the repository for keys, CAs and HOME.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn isolate<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", "2026-11-01T12:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-11-01T12:00:00Z")
            .env("NO_COLOR", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
    }

    /// Run git in the repository; panic on failure.
    pub fn git(&self, args: &[&str]) -> String {
        std::fs::create_dir_all(self.path()).expect("repo dir");
        let out = self
            .isolate(Command::new("git").args(args).current_dir(self.path()))
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run git in the repository with `input` on stdin; panic on failure.
    pub fn git_input(&self, args: &[&str], input: &[u8]) -> String {
        use std::io::Write;
        std::fs::create_dir_all(self.path()).expect("repo dir");
        let mut child = self
            .isolate(
                Command::new("git")
                    .args(args)
                    .current_dir(self.path())
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped()),
            )
            .spawn()
            .expect("git runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("git reads its input");
        let out = child.wait_with_output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("dirs");
        }
        std::fs::write(&p, content).expect("write");
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_default()
    }

    /// Stage everything and commit.
    pub fn commit(&self, msg: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
    }

    /// Run sigctl in the repository.
    pub fn sigctl(&self, args: &[&str]) -> Run {
        self.sigctl_in(&self.path(), args)
    }

    pub fn sigctl_in(&self, dir: &Path, args: &[&str]) -> Run {
        let out: Output = self
            .isolate(Command::new(SIGCTL).args(args).current_dir(dir))
            .output()
            .expect("sigctl runs");
        Run::from(out)
    }

    /// Run openssl in HOME; panic on failure; stdout.
    pub fn openssl(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.home())
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Run openssl in HOME with `input` on stdin; stdout.
    pub fn openssl_stdin(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut child = Command::new("openssl")
            .args(args)
            .current_dir(self.home())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("openssl runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        let out = child.wait_with_output().expect("openssl finishes");
        assert!(out.status.success(), "openssl {args:?}");
        out.stdout
    }

    /// A CA in HOME/ca (made once per repo).
    fn ensure_ca(&self) -> PathBuf {
        let ca = self.home().join("ca");
        if !ca.join("ca.pem").exists() {
            std::fs::create_dir_all(ca.join("new")).expect("ca dir");
            std::fs::write(ca.join("index"), "").expect("index");
            std::fs::write(ca.join("serial"), "1000\n").expect("serial");
            std::fs::write(
                ca.join("ca.cnf"),
                "[ca]\ndefault_ca = ca\n[ca]\ndir = .\ndatabase = index\nnew_certs_dir = new\nserial = serial\n\
                 default_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n\
                 [codesign]\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = codeSigning\n\
                 [mail]\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = emailProtection\n",
            )
            .expect("cnf");
            self.openssl(&[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca/ca.key",
                "-subj",
                "/CN=Test CA",
                "-days",
                "3650",
                "-out",
                "ca/ca.pem",
            ]);
        }
        ca
    }

    /// A leaf certificate from the test CA, valid `start`..`end`
    /// (`YYYYMMDDHHMMSSZ`), with the codeSigning EKU unless `code_signing` is false.
    /// Returns the PEM. The leaf's private key stays in HOME, outside the repository.
    pub fn certificate(&self, name: &str, start: &str, end: &str, code_signing: bool) -> Vec<u8> {
        let ca = self.ensure_ca();
        let key = format!("ca/{name}.key");
        let csr = format!("ca/{name}.csr");
        let crt = format!("ca/{name}.crt");
        self.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-subj",
            &format!("/CN={name}"),
            "-out",
            &csr,
        ]);
        let out = Command::new("openssl")
            .args([
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-cert",
                "ca.pem",
                "-keyfile",
                "ca.key",
                "-extensions",
                if code_signing { "codesign" } else { "mail" },
                "-startdate",
                start,
                "-enddate",
                end,
                "-notext",
                "-in",
                &format!("{name}.csr"),
                "-out",
                &format!("{name}.crt"),
            ])
            .current_dir(&ca)
            .output()
            .expect("openssl ca runs");
        assert!(
            out.status.success(),
            "openssl ca: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(self.home().join(crt)).expect("certificate")
    }
}

/// An hsm-custody policy whose one identity `release` uses `certs/release.pem`.
pub const HSM_POLICY: &str = r#"version = 1

[policy]
admins = ["security"]

[owners.security]
contact = "security@example.com"

[environments.prod]
refs = ["refs/tags/v*"]
custody = ["hsm"]

[identities.release]
owner = "security"
environments = ["prod"]
custody = "hsm"
key = "pkcs11:token=release;object=release"
certificate = "certs/release.pem"
renew_before = "30d"
"#;

/// Replace temp paths and ids so snapshots change only with behaviour.
pub fn redact(s: &str, repo: &TestRepo) -> String {
    s.replace(&repo.dir.path().display().to_string(), "[TMP]")
}
