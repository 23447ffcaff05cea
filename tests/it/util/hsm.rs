//! SoftHSM2 tokens for the signing tests: a fresh token per test (its own
//! token directory and config inside the TestRepo's temp dir), a runner that
//! gives sigctl and git the token's environment (SOFTHSM2_CONF, the PIN only
//! through SIGCTL_PKCS11_PIN), an openssl CA that signs the token's CSRs, and
//! `setup`, which takes a repository from nothing to a signed first commit.
//!
//! Every command runs without a controlling terminal (`setsid`), so a
//! missing PIN can never turn into a prompt that waits forever.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;

use super::{Run, SIGCTL, TestRepo};

/// Debian's SoftHSM2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN `SoftHsm::new` gives the token.
pub const PIN: &str = "1234";
/// The security officer's PIN.
pub const SO_PIN: &str = "5678";
/// The token label the hsm-release template's key URI names.
pub const LABEL: &str = "sigctl";

/// One SoftHSM2 token directory and config, and how commands reach it.
/// Clones share the transcript.
#[derive(Clone)]
pub struct SoftHsm {
    /// `<tmp>/softhsm`: holds `softhsm2.conf` and `tokens/`.
    pub dir: PathBuf,
    /// The SOFTHSM2_CONF given to commands.
    pub conf: PathBuf,
    /// SIGCTL_PKCS11_PIN (None: unset).
    pub pin: Option<String>,
    /// SIGCTL_PKCS11_MODULE (None: unset, sigctl finds SoftHSM2 itself).
    pub module: Option<String>,
    home: PathBuf,
    /// Everything every command run through this printed, in order.
    transcript: Rc<RefCell<String>>,
}

/// A SoftHSM2 config whose token directory is `tokens`.
pub fn write_conf(conf: &Path, tokens: &Path) {
    std::fs::create_dir_all(tokens).expect("token dir");
    std::fs::write(
        conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("softhsm2.conf");
}

impl SoftHsm {
    /// A token labelled `sigctl` with user PIN `pin` in a fresh token directory
    /// next to the repository; commands get that PIN.
    pub fn with_pin(repo: &TestRepo, pin: &str) -> Self {
        let dir = repo.dir.path().join("softhsm");
        let conf = dir.join("softhsm2.conf");
        write_conf(&conf, &dir.join("tokens"));
        let hsm = Self {
            dir,
            conf,
            pin: Some(pin.to_owned()),
            module: None,
            home: repo.home(),
            transcript: Rc::default(),
        };
        let out = Command::new("softhsm2-util")
            .args([
                "--init-token",
                "--free",
                "--label",
                LABEL,
                "--pin",
                pin,
                "--so-pin",
                SO_PIN,
            ])
            .env("SOFTHSM2_CONF", &hsm.conf)
            .output()
            .expect("softhsm2-util runs (apt-get install softhsm2)");
        assert!(
            out.status.success(),
            "softhsm2-util --init-token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        hsm
    }

    /// A token with the default PIN.
    pub fn new(repo: &TestRepo) -> Self {
        Self::with_pin(repo, PIN)
    }

    /// The same token, commands given `pin` (None: no SIGCTL_PKCS11_PIN at all).
    pub fn pin(&self, pin: Option<&str>) -> Self {
        Self {
            pin: pin.map(str::to_owned),
            ..self.clone()
        }
    }

    /// The same token, commands given SIGCTL_PKCS11_MODULE=`module`.
    pub fn module(&self, module: impl AsRef<Path>) -> Self {
        Self {
            module: Some(module.as_ref().display().to_string()),
            ..self.clone()
        }
    }

    /// Commands see SoftHSM2 through `conf` instead (another token directory).
    pub fn conf(&self, conf: impl AsRef<Path>) -> Self {
        Self {
            conf: conf.as_ref().to_path_buf(),
            ..self.clone()
        }
    }

    /// The same token, for commands in another repository (its HOME).
    pub fn for_repo(&self, repo: &TestRepo) -> Self {
        Self {
            home: repo.home(),
            ..self.clone()
        }
    }

    /// Everything printed so far by commands run through this token (and its clones).
    pub fn transcript(&self) -> String {
        self.transcript.borrow().clone()
    }

    /// A command with TestRepo's isolation plus the token's environment,
    /// stdin closed, and no controlling terminal.
    pub fn command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = if Path::new("/usr/bin/setsid").exists() {
            let mut c = Command::new("/usr/bin/setsid");
            c.args(["-w", program]);
            c
        } else {
            Command::new(program)
        };
        cmd.current_dir(dir)
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", "2026-11-01T12:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-11-01T12:00:00Z")
            .env("NO_COLOR", "1")
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_ASKPASS")
            .env_remove("SSH_ASKPASS")
            .stdin(Stdio::null());
        match &self.pin {
            Some(p) => cmd.env("SIGCTL_PKCS11_PIN", p),
            None => cmd.env_remove("SIGCTL_PKCS11_PIN"),
        };
        match &self.module {
            Some(m) => cmd.env("SIGCTL_PKCS11_MODULE", m),
            None => cmd.env_remove("SIGCTL_PKCS11_MODULE"),
        };
        cmd
    }

    /// Run `program` (sigctl, git, pkcs11-tool, …) in `dir` with the token's environment.
    pub fn run_in(&self, program: &str, dir: &Path, args: &[&str]) -> Run {
        let out = self
            .command(program, dir)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"));
        let run = Run::from(out);
        self.transcript.borrow_mut().push_str(&format!(
            "$ {program} {}\n{}{}",
            args.join(" "),
            run.stdout,
            run.stderr
        ));
        run
    }

    /// Start `program` in `dir` with the token's environment, output captured
    /// (for concurrent runs).
    pub fn spawn(&self, program: &str, dir: &Path, args: &[&str]) -> std::process::Child {
        self.command(program, dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} starts: {e}"))
    }

    /// Run sigctl in the repository.
    pub fn sigctl(&self, repo: &TestRepo, args: &[&str]) -> Run {
        self.run_in(SIGCTL, &repo.path(), args)
    }

    /// Run sigctl in the repository; panic unless it exits 0.
    pub fn sigctl_ok(&self, repo: &TestRepo, args: &[&str]) -> Run {
        let run = self.sigctl(repo, args);
        assert_eq!(run.code, 0, "sigctl {args:?}\n{}", run.snapshot());
        run
    }

    /// Run git (the one on PATH) in the repository.
    pub fn git(&self, repo: &TestRepo, args: &[&str]) -> Run {
        self.git_with("git", repo, args)
    }

    /// Run a particular git binary in the repository.
    pub fn git_with(&self, git: &str, repo: &TestRepo, args: &[&str]) -> Run {
        std::fs::create_dir_all(repo.path()).expect("repo dir");
        self.run_in(git, &repo.path(), args)
    }

    /// Run git in the repository; panic unless it exits 0; stdout.
    pub fn git_ok(&self, repo: &TestRepo, args: &[&str]) -> String {
        let run = self.git(repo, args);
        assert_eq!(run.code, 0, "git {args:?}\n{}", run.snapshot());
        run.stdout
    }

    /// pkcs11-tool (OpenSC) on SoftHSM2's module, with the token's config.
    pub fn pkcs11_tool(&self, args: &[&str]) -> Run {
        let mut all = vec!["--module", MODULE];
        all.extend_from_slice(args);
        self.run_in("pkcs11-tool", &self.dir, &all)
    }
}

/// `YYYYMMDDHHMMSSZ` (openssl ca's date form) of now plus `days`. Signing
/// judges certificates by the real clock, so these must be relative to it.
pub fn openssl_date(days: i64) -> String {
    use sigctl::clock::Clock;
    let t = sigctl::clock::SystemClock.now() + time::Duration::days(days);
    let f = time::macros::format_description!("[year][month][day][hour][minute][second]Z");
    t.format(&f).expect("a date")
}

/// An openssl CA in HOME/hsm-ca that signs CSRs made on the token.
pub struct Ca {
    pub dir: PathBuf,
}

impl Ca {
    /// The CA of `repo` (made on first use).
    pub fn of(repo: &TestRepo) -> Self {
        let dir = repo.home().join("hsm-ca");
        let ca = Self { dir };
        if !ca.pem().exists() {
            std::fs::create_dir_all(ca.dir.join("new")).expect("ca dir");
            std::fs::write(ca.dir.join("index"), "").expect("index");
            std::fs::write(ca.dir.join("serial"), "2000\n").expect("serial");
            std::fs::write(
                ca.dir.join("ca.cnf"),
                "[ca]\ndefault_ca = ca\n[ca]\ndir = .\ndatabase = index\nnew_certs_dir = new\nserial = serial\n\
                 default_md = sha256\npolicy = any\nunique_subject = no\npreserve = yes\n\
                 [any]\ncommonName = supplied\norganizationName = optional\n\
                 [codesign]\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = codeSigning\n",
            )
            .expect("ca.cnf");
            ca.openssl(&[
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
                "/CN=Test HSM CA",
                "-days",
                "3650",
                "-out",
                "ca.pem",
            ]);
        }
        ca
    }

    pub fn pem(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Run openssl in the CA's directory; panic on failure; stdout.
    pub fn openssl(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Issue a codeSigning certificate for the PEM `csr`, valid `start`..`end`
    /// (`YYYYMMDDHHMMSSZ`); the certificate's path (`<name>.pem` in the CA).
    pub fn issue(&self, name: &str, csr: &[u8], start: &str, end: &str) -> PathBuf {
        let csr_path = format!("{name}.csr");
        let crt_path = format!("{name}.pem");
        std::fs::write(self.dir.join(&csr_path), csr).expect("csr");
        self.openssl(&[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-extensions",
            "codesign",
            "-startdate",
            start,
            "-enddate",
            end,
            "-notext",
            "-in",
            &csr_path,
            "-out",
            &crt_path,
        ]);
        self.dir.join(crt_path)
    }

    /// Issue a certificate valid from yesterday for 90 days.
    pub fn issue_current(&self, name: &str, csr: &[u8]) -> PathBuf {
        self.issue(name, csr, &openssl_date(-1), &openssl_date(89))
    }

    /// A current certificate for a fresh software key (not on any token).
    pub fn issue_foreign(&self, name: &str) -> PathBuf {
        let key = format!("{name}.key");
        let csr = self.openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-subj",
            &format!("/CN={name}"),
        ]);
        self.issue_current(name, &csr)
    }
}

/// A repository from nothing to a signed first commit.
pub struct Setup {
    pub repo: TestRepo,
    pub hsm: SoftHsm,
    pub ca: Ca,
    /// The CSR `sigctl cert request` printed.
    pub csr: Vec<u8>,
}

/// `sigctl init --template hsm-release`, `key generate`, `cert request`, a
/// CA-signed certificate (valid from yesterday for 90 days), `cert import`,
/// `user.signingkey release`, and `git commit -S` of it all.
pub fn setup() -> Setup {
    setup_with_pin(PIN)
}

pub fn setup_with_pin(pin: &str) -> Setup {
    setup_then(pin, |_| {})
}

/// [`setup_with_pin`], with `prepare` changing the work tree (the policy,
/// its trust files) before the first commit.
pub fn setup_then(pin: &str, prepare: impl FnOnce(&TestRepo)) -> Setup {
    let repo = TestRepo::new();
    let hsm = SoftHsm::with_pin(&repo, pin);
    hsm.sigctl_ok(&repo, &["init", "--template", "hsm-release"]);
    hsm.sigctl_ok(&repo, &["key", "generate", "--identity", "release"]);
    let csr = hsm
        .sigctl_ok(
            &repo,
            &[
                "cert",
                "request",
                "--identity",
                "release",
                "--subject",
                "CN=release,O=Example",
            ],
        )
        .stdout
        .into_bytes();
    let ca = Ca::of(&repo);
    let cert = ca.issue_current("release", &csr);
    hsm.sigctl_ok(
        &repo,
        &[
            "cert",
            "import",
            "--identity",
            "release",
            &cert.display().to_string(),
        ],
    );
    hsm.git_ok(&repo, &["config", "user.signingkey", "release"]);
    prepare(&repo);
    hsm.git_ok(&repo, &["add", "-A"]);
    hsm.git_ok(&repo, &["commit", "-S", "-q", "-m", "policy"]);
    Setup { repo, hsm, ca, csr }
}

/// Every file under `dir` with its content (for "nothing was written").
pub fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                walk(root, &p, into);
            } else if ft.is_file() {
                let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
                into.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut m = BTreeMap::new();
    walk(dir, dir, &mut m);
    m
}
