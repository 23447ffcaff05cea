//! `cargo xtask demo`: sigctl's main job end to end on a throwaway repository
//! and a throwaway SoftHSM2 token.
//!
//! A policy, a key born on the token, a certificate from a throwaway CA, a
//! signed commit through `git commit -S`, a signed release tag, a signed
//! artefact, each verified; then what failures look like. Everything happens
//! in a temporary directory that is removed afterwards (`--keep` keeps it).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Result, say};

/// The demo token's PIN: a throwaway token, made and destroyed by the demo.
const DEMO_PIN: &str = "246810";

pub fn run(args: &[String]) -> Result {
    let keep = args.iter().any(|a| a == "--keep");
    util::install_deps()?;
    let sigctl = util::build_sigctl(false)?;
    let dir = std::env::temp_dir().join(format!("sigctl-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = Demo::new(&sigctl, &dir).and_then(|d| d.run());
    // the local Sigstore stack the demo started, if it did
    if let Ok(pid) = std::fs::read_to_string(dir.join("sigstore/pid")) {
        let _ = Command::new("kill").arg(pid.trim()).status();
    }
    if keep || result.is_err() {
        say(&format!("\n(the demo's files are in {})", dir.display()));
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

struct Demo {
    sigctl: PathBuf,
    dir: PathBuf,
    repo: PathBuf,
    ca: PathBuf,
}

impl Demo {
    fn new(sigctl: &Path, dir: &Path) -> Result<Self> {
        let d = Self {
            sigctl: sigctl.to_path_buf(),
            dir: dir.to_path_buf(),
            repo: dir.join("repo"),
            ca: dir.join("ca"),
        };
        for p in [&d.repo, &d.ca, &dir.join("tokens")] {
            std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
        }
        std::fs::write(
            dir.join("softhsm2.conf"),
            format!(
                "directories.tokendir = {}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        Ok(d)
    }

    /// The environment every command of the demo runs in: its own HOME, its
    /// own token, the PIN in SIGCTL_PKCS11_PIN (never on a command line).
    fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("HOME", &self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env("SOFTHSM2_CONF", self.dir.join("softhsm2.conf"))
            .env("SIGCTL_PKCS11_PIN", DEMO_PIN)
    }

    fn git(&self, args: &[&str]) -> Result<String> {
        util::output(self.env(Command::new("git").args(args).current_dir(&self.repo)))
    }

    /// Run a command in the repo, show it and what it printed, insist on the exit code.
    fn show(&self, program: &Path, shown: &str, args: &[&str], want: i32) -> Result {
        say(&format!("$ {shown} {}", args.join(" ")));
        let out = self
            .env(Command::new(program).args(args).current_dir(&self.repo))
            .output()
            .map_err(|e| e.to_string())?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !text.trim().is_empty() {
            say(text.trim_end());
        }
        let code = out.status.code().unwrap_or(-1);
        if code != 0 {
            say(&format!("(exit {code})"));
        }
        if code == want {
            Ok(())
        } else {
            Err(format!(
                "`{shown} {}` exited {code}, expected {want}",
                args.join(" ")
            ))
        }
    }

    fn sig(&self, args: &[&str], want: i32) -> Result {
        self.show(&self.sigctl, "sigctl", args, want)
    }

    fn run(&self) -> Result {
        step(
            "1. A throwaway HSM: a SoftHSM2 token labelled `sigctl` (its PIN lives only in SIGCTL_PKCS11_PIN)",
        );
        util::output(self.env(Command::new("softhsm2-util").args([
            "--init-token",
            "--free",
            "--label",
            "sigctl",
            "--so-pin",
            "13579",
            "--pin",
            DEMO_PIN,
        ])))?;

        step("2. A new repository and a starter policy for HSM-backed release signing");
        self.git(&["init", "-q", "-b", "main"])?;
        self.git(&["config", "user.name", "Demo Releaser"])?;
        self.git(&["config", "user.email", "releaser@example.com"])?;
        self.sig(&["init", "--template", "hsm-release"], 0)?;
        // the policy's keyless admin signs with Sigstore: this demo's
        // instance is a local stack (Fulcio, Rekor, TSA on loopback), whose
        // trust files take the place of the public-good ones init wrote
        let stack = self.dir.join("sigstore");
        crate::sigstore_stack::run(&[stack.display().to_string()])?;
        for f in ["trusted_root.json", "signing_config.json"] {
            std::fs::copy(stack.join(f), self.repo.join(".sigctl/sigstore").join(f))
                .map_err(|e| format!("{f}: {e}"))?;
        }
        say(
            "(a local Sigstore stack stands in for the public-good instance: its trusted root and signing config",
        );
        say(
            " replace the public-good ones in .sigctl/sigstore/, which signing.toml's [sigstore] names)",
        );
        say(
            "\nThe policy says: identity `release` (owner `release`) signs release tags (refs/tags/v*, environment",
        );
        say(
            "prod) and branches (dev) with key `pkcs11:token=sigctl;object=release`, certificate certs/release.pem.",
        );
        self.sig(&["check"], 0)?;

        step("3. The release key is born inside the token and never leaves it");
        self.sig(&["key", "generate", "--identity", "release"], 0)?;

        step(
            "4. A certificate request signed by the token key; a throwaway CA issues the certificate",
        );
        let csr = util::output(
            self.env(
                Command::new(&self.sigctl)
                    .args([
                        "cert",
                        "request",
                        "--identity",
                        "release",
                        "--subject",
                        "CN=release,O=Demo",
                    ])
                    .current_dir(&self.repo),
            ),
        )?;
        say("$ sigctl cert request --identity release --subject CN=release,O=Demo > release.csr");
        std::fs::write(self.ca.join("release.csr"), csr).map_err(|e| e.to_string())?;
        let cert = self.issue()?;
        self.sig(
            &[
                "cert",
                "import",
                "--identity",
                "release",
                &cert.display().to_string(),
            ],
            0,
        )?;
        self.sig(&["check"], 0)?;

        step("5. git signs through sigctl: `git commit -S` (user.signingkey names the identity)");
        self.git(&["config", "user.signingkey", "release"])?;
        self.git(&["add", "-A"])?;
        self.show(
            Path::new("git"),
            "git",
            &["commit", "-q", "-S", "-m", "Adopt a signing policy"],
            0,
        )?;
        self.show(Path::new("git"), "git", &["verify-commit", "HEAD"], 0)?;
        self.show(
            Path::new("git"),
            "git",
            &["log", "--format=%h %G? %GS  %s", "-1"],
            0,
        )?;

        step("6. A signed release tag, verified by stock git");
        self.sig(
            &[
                "sign",
                "tag",
                "v1.0.0",
                "--identity",
                "release",
                "-m",
                "Release 1.0.0",
            ],
            0,
        )?;
        self.show(Path::new("git"), "git", &["verify-tag", "v1.0.0"], 0)?;

        step(
            "7. sigctl verify: every commit and the tag, against the policy in force at each parent",
        );
        let root = self.git(&["rev-list", "--max-parents=0", "HEAD"])?;
        self.git(&["config", "sigctl.trustRoot", root.trim()])?;
        self.sig(&["verify", "HEAD", "v1.0.0"], 0)?;

        step("8. A signed release artefact: a Sigstore bundle next to it");
        std::fs::create_dir_all(self.repo.join("dist")).map_err(|e| e.to_string())?;
        std::fs::write(
            self.repo.join("dist/app-1.0.0.tar"),
            b"pretend this is a release tarball\n",
        )
        .map_err(|e| e.to_string())?;
        self.sig(
            &[
                "sign",
                "artifact",
                "dist/app-1.0.0.tar",
                "--identity",
                "release",
                "--ref",
                "refs/tags/v1.0.0",
            ],
            0,
        )?;
        self.sig(&["verify-artifact", "dist/app-1.0.0.tar"], 0)?;

        step("9. What failure looks like");
        say(
            "-- an unsigned commit slips onto main: it fails, and so would everything built on it:",
        );
        self.show(
            Path::new("git"),
            "git",
            &[
                "commit",
                "-q",
                "--allow-empty",
                "--no-gpg-sign",
                "-m",
                "sneaky",
            ],
            0,
        )?;
        self.sig(&["verify"], 1)?;
        self.git(&["reset", "-q", "--hard", "HEAD~1"])?;
        say("");
        say("-- the artefact is changed after signing:");
        std::fs::write(
            self.repo.join("dist/app-1.0.0.tar"),
            b"pretend this is a release tarball!\n",
        )
        .map_err(|e| e.to_string())?;
        self.sig(&["verify-artifact", "dist/app-1.0.0.tar"], 1)?;
        say("\n-- a wrong PIN: nothing is signed, nothing is written:");
        say("$ SIGCTL_PKCS11_PIN=000000 sigctl sign tag v1.0.1 --identity release -m oops");
        let out = self
            .env(
                Command::new(&self.sigctl)
                    .args([
                        "sign",
                        "tag",
                        "v1.0.1",
                        "--identity",
                        "release",
                        "-m",
                        "oops",
                    ])
                    .current_dir(&self.repo),
            )
            .env("SIGCTL_PKCS11_PIN", "000000")
            .output()
            .map_err(|e| e.to_string())?;
        say(String::from_utf8_lossy(&out.stderr).trim_end());
        if out.status.code() != Some(2) || !self.git(&["tag", "-l", "v1.0.1"])?.trim().is_empty() {
            return Err("a wrong PIN must fail with exit 2 and leave no tag".into());
        }
        say("\n-- the same policy after the certificate expired (check as a CI gate would):");
        self.sig(&["check", "--now", "2099-01-01T00:00:00Z"], 1)?;
        say("\n-- someone commits a private key: check names the file, never the key:");
        let key = util::output(Command::new("openssl").args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ]))?;
        std::fs::write(self.repo.join("deploy.pem"), key).map_err(|e| e.to_string())?;
        self.git(&["add", "deploy.pem"])?;
        self.sig(&["check", "--format", "json"], 1)?;
        self.git(&["rm", "-q", "--cached", "deploy.pem"])?;
        std::fs::remove_file(self.repo.join("deploy.pem")).map_err(|e| e.to_string())?;

        step("10. Provenance: every signing event above is a record in refs/notes/signing");
        std::fs::write(
            self.repo.join("dist/app-1.0.0.tar"),
            b"pretend this is a release tarball\n",
        )
        .map_err(|e| e.to_string())?;
        say("-- a copy of the artefact, downloaded elsewhere, finds its record by content:");
        let downloads = self.dir.join("downloads");
        std::fs::create_dir_all(&downloads).map_err(|e| e.to_string())?;
        let copy = downloads.join("app.tar");
        std::fs::copy(self.repo.join("dist/app-1.0.0.tar"), &copy).map_err(|e| e.to_string())?;
        self.sig(&["provenance", "show", &copy.display().to_string()], 0)?;
        say("\n-- the evidence pack, for the auditor:");
        self.sig(&["audit", "--format", "markdown"], 0)?;

        self.keyless()?;
        self.workflow()?;
        self.review()?;
        self.report()?;
        self.renew()?;

        say(
            "\nDone: key generated on the token, certificate issued and imported, commit and tag signed through",
        );
        say(
            "stock git, history verified from its trust root, artefact signed and verified, five failures caught,",
        );
        say(
            "every signing event on record in refs/notes/signing, authenticated by the key that made it, and a",
        );
        say(
            "keyless commit and artefact (Fulcio certificate, Rekor entry) that Sigstore's own verifier accepts;",
        );
        say(
            "a push of an unsigned commit stopped by the pre-push hook before it left, and a pull request",
        );
        say(
            "that weakens the policy shown to its reviewer as high risk and unauthorised; the audit and the",
        );
        say(
            "inventory as HTML pages, and a renewal that lists the successor certificate next to the current one.",
        );
        Ok(())
    }

    /// Keyless signing against a local Sigstore stack (Fulcio, Rekor, a
    /// TSA on loopback), judged by sigstore-python.
    fn keyless(&self) -> Result {
        step(
            "11. Keyless: the policy's admin `security-admin` signs with an OIDC identity, no key to keep",
        );
        self.keyless_steps(&self.dir.join("sigstore"))
    }

    fn keyless_steps(&self, stack: &Path) -> Result {
        std::fs::write(self.repo.join("CHANGELOG"), b"1.0.0: first release\n")
            .map_err(|e| e.to_string())?;
        // a token as GitHub's OAuth would issue for the admin; the local
        // stack does not check its signature, sigctl reads and matches it
        let token = demo_token("https://github.com/login/oauth", "releaser@example.com");
        say(
            "$ export SIGSTORE_ID_TOKEN=…   (an identity token for releaser@example.com from https://github.com/login/oauth)",
        );
        self.git(&["config", "user.signingkey", "security-admin"])?;
        self.git(&["add", "-A"])?;
        let keyless = |cmd: &mut Command| {
            cmd.env("SIGSTORE_ID_TOKEN", &token);
        };
        say("$ git config user.signingkey security-admin && git commit -q -S -m \"Changelog\"");
        let mut commit = Command::new("git");
        commit
            .args(["commit", "-q", "-S", "-m", "Changelog"])
            .current_dir(&self.repo);
        self.env(&mut commit);
        keyless(&mut commit);
        let out = commit.output().map_err(|e| e.to_string())?;
        let said = String::from_utf8_lossy(&out.stderr);
        if !said.trim().is_empty() {
            say(said.trim_end());
        }
        if !out.status.success() {
            return Err("the keyless commit failed".into());
        }
        self.show(Path::new("git"), "git", &["verify-commit", "HEAD"], 0)?;
        self.sig(&["verify", "HEAD"], 0)?;
        self.sig(&["provenance", "show", "HEAD"], 0)?;

        say(
            "\n-- a keyless artefact bundle (Sigstore v0.3: certificate, Rekor entry, RFC 3161 timestamp):",
        );
        std::fs::write(self.repo.join("dist/notes.txt"), b"release notes\n")
            .map_err(|e| e.to_string())?;
        say("$ sigctl sign artifact dist/notes.txt --identity security-admin");
        let mut sign = Command::new(&self.sigctl);
        sign.args([
            "sign",
            "artifact",
            "dist/notes.txt",
            "--identity",
            "security-admin",
        ])
        .current_dir(&self.repo);
        self.env(&mut sign);
        keyless(&mut sign);
        let out = sign.output().map_err(|e| e.to_string())?;
        say(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .trim_end());
        if !out.status.success() {
            return Err("keyless artefact signing failed".into());
        }
        let venv_sigstore = crate::sigstore_stack::python_judge();
        let judge = |file: &str, want: i32| -> Result {
            self.show(
                &venv_sigstore,
                "sigstore",
                &[
                    "--trust-config",
                    &stack.join("trust_config.json").display().to_string(),
                    "verify",
                    "identity",
                    "--offline",
                    "--cert-identity",
                    "releaser@example.com",
                    "--cert-oidc-issuer",
                    "https://github.com/login/oauth",
                    "--bundle",
                    "dist/notes.txt.sigstore.json",
                    file,
                ],
                want,
            )
        };
        self.sig(&["verify-artifact", "dist/notes.txt"], 0)?;
        say(
            "-- Sigstore's own verifier (sigstore-python 4.5.1) agrees, offline, with the stack's trust config:",
        );
        judge("dist/notes.txt", 0)?;
        say("-- and refuses the file once changed:");
        std::fs::write(self.repo.join("dist/notes.txt"), b"release notes!\n")
            .map_err(|e| e.to_string())?;
        judge("dist/notes.txt", 1)?;
        say("\n-- a token for someone else is refused before anything is sent:");
        let wrong = demo_token("https://github.com/login/oauth", "mallory@example.com");
        say(
            "$ SIGSTORE_ID_TOKEN=<mallory's token> sigctl sign artifact dist/notes.txt --identity security-admin",
        );
        let mut refused = Command::new(&self.sigctl);
        refused
            .args([
                "sign",
                "artifact",
                "dist/notes.txt",
                "--identity",
                "security-admin",
            ])
            .current_dir(&self.repo);
        self.env(&mut refused);
        refused.env("SIGSTORE_ID_TOKEN", &wrong);
        let out = refused.output().map_err(|e| e.to_string())?;
        say(String::from_utf8_lossy(&out.stderr).trim_end());
        if out.status.code() != Some(1) {
            return Err("a token for another identity must be refused with exit 1".into());
        }
        Ok(())
    }

    /// The hooks: a push of an unsigned commit is stopped before it leaves.
    fn workflow(&self) -> Result {
        step("12. In the workflow: git hooks stop what would not verify before it is published");
        let remote = self.dir.join("remote.git");
        util::output(
            Command::new("git")
                .args(["init", "-q", "--bare"])
                .arg(&remote),
        )?;
        self.git(&["remote", "add", "origin", &remote.display().to_string()])?;
        self.sig(&["hook", "install"], 0)?;
        self.show(
            Path::new("git"),
            "git",
            &["push", "-q", "origin", "main"],
            0,
        )?;
        say("\n-- an unsigned commit, then a push:");
        self.show(
            Path::new("git"),
            "git",
            &[
                "commit",
                "-q",
                "--allow-empty",
                "--no-gpg-sign",
                "-m",
                "unsigned",
            ],
            0,
        )?;
        self.show(
            Path::new("git"),
            "git",
            &["push", "-q", "origin", "main"],
            1,
        )?;
        self.git(&["reset", "-q", "--hard", "HEAD~1"])?;
        Ok(())
    }

    /// A pull request that weakens the policy, as its reviewer sees it.
    fn review(&self) -> Result {
        step(
            "13. A pull request that weakens the policy, as its reviewer sees it: `sigctl review`",
        );
        say(
            "-- on a branch, `release`'s owner lets an SSH key on a laptop sign releases, and signs that with the HSM key:",
        );
        self.git(&["switch", "-q", "-c", "laptop-release"])?;
        let path = self.repo.join("signing.toml");
        let policy = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let prod = "refs = [\"refs/tags/v*\"]\ncustody = [\"hsm\"]";
        if !policy.contains(prod) {
            return Err("the demo's policy has no prod environment to widen".into());
        }
        let widened = policy.replacen(
            prod,
            "refs = [\"refs/tags/v*\"]\ncustody = [\"hsm\", \"unmanaged\"]",
            1,
        ) + "\n[identities.laptop]\nowner = \"release\"\npurpose = \"Release from my laptop\"\nenvironments = [\"prod\"]\ncustody = \"unmanaged\"\nssh_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOexvT/whdCwI8cJtY8E9iMNwxhMVZlS5baUuEP8K21d laptop\"\n";
        std::fs::write(&path, widened).map_err(|e| e.to_string())?;
        self.git(&["add", "signing.toml"])?;
        // the pre-commit hook warns: release is no admin
        self.show(
            Path::new("git"),
            "git",
            &[
                "-c",
                "user.signingkey=release",
                "commit",
                "-q",
                "-S",
                "-m",
                "Release from a laptop",
            ],
            0,
        )?;
        say("");
        self.sig(&["review", "--base", "main"], 1)?;
        self.git(&["switch", "-q", "main"])?;
        self.git(&["branch", "-q", "-D", "laptop-release"])?;
        Ok(())
    }

    /// The evidence pack as one HTML page, and a screenshot of it taken by
    /// headless chromium (the README's docs/report.png comes from here).
    fn report(&self) -> Result {
        step(
            "14. The audit as one self-contained HTML page (no script, nothing loaded), and a screenshot",
        );
        say("$ sigctl audit --format html > report.html");
        self.page(&["audit", "--format", "html"], "report")?;
        say("\n-- and the inventory of the repository (one or many: `sigctl inventory DIR…`):");
        say("$ sigctl inventory . --format html > inventory.html");
        self.page(&["inventory", ".", "--format", "html"], "inventory")?;
        say("$ sigctl inventory .");
        let inv = self.capture(&["inventory", "."], &[0, 1])?;
        say(String::from_utf8_lossy(&inv.stdout).trim_end());
        Ok(())
    }

    /// Run sigctl in the demo repository; its output, when it exits with
    /// one of `ok`.
    fn capture(&self, args: &[&str], ok: &[i32]) -> Result<std::process::Output> {
        let out = self
            .env(
                Command::new(&self.sigctl)
                    .args(args)
                    .current_dir(&self.repo),
            )
            .output()
            .map_err(|e| e.to_string())?;
        match out.status.code() {
            Some(c) if ok.contains(&c) => Ok(out),
            _ => Err(format!(
                "sigctl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }

    /// A report command's HTML page as NAME.html, and headless chromium's
    /// screenshot of it as NAME.png, in the demo directory.
    fn page(&self, args: &[&str], name: &str) -> Result {
        // findings (exit 1) still make a page
        let out = self.capture(args, &[0, 1])?;
        let page = self.dir.join(format!("{name}.html"));
        std::fs::write(&page, &out.stdout).map_err(|e| e.to_string())?;
        let png = self.dir.join(format!("{name}.png"));
        say(&format!(
            "$ chromium --headless --screenshot={name}.png --window-size=1280,1600 {name}.html"
        ));
        screenshot(&page, &png, &self.dir.join("chromium"))?;
        say(&format!(
            "wrote {} and {} (kept with --keep)",
            page.display(),
            png.display()
        ));
        Ok(())
    }

    /// Renewal without disruption: a successor key on the token, its
    /// certificate next to the current one (shown, then put back: the
    /// commit would be an admin's).
    fn renew(&self) -> Result {
        step(
            "15. Renewal without disruption: a successor key, its certificate next to the current one",
        );
        say("$ sigctl renew --identity release > next.csr");
        let out = self.capture(&["renew", "--identity", "release"], &[0])?;
        say(String::from_utf8_lossy(&out.stderr).trim_end());
        std::fs::write(self.ca.join("next.csr"), &out.stdout).map_err(|e| e.to_string())?;
        let cert = util::issue_code_signing(&self.ca, "next.csr", "next.pem", 180)?;
        say("(the throwaway CA issued next.pem: codeSigning, 180 days)");
        self.sig(
            &[
                "renew",
                "--identity",
                "release",
                "--import",
                &cert.display().to_string(),
            ],
            0,
        )?;
        self.show(Path::new("git"), "git", &["diff", "--stat"], 0)?;
        self.sig(&["check"], 0)?;
        say("(put back: committing it is a policy change an admin signs)");
        self.git(&["checkout", "-q", "--", "signing.toml"])?;
        self.git(&["clean", "-q", "-f", "certs"])?;
        Ok(())
    }

    fn issue(&self) -> Result<PathBuf> {
        util::throwaway_ca(&self.ca, "Demo Release CA")?;
        let cert = util::issue_code_signing(&self.ca, "release.csr", "release.pem", 90)?;
        say("(the throwaway CA issued release.pem: codeSigning, 90 days)");
        Ok(cert)
    }
}

/// A PNG of `page` as headless chromium draws it at 1280x1600. Its own
/// profile and HOME under `scratch`; `--no-sandbox` because containers
/// often lack the namespaces chromium's sandbox needs (the page runs no
/// script and its CSP forbids every load).
pub(crate) fn screenshot(page: &Path, png: &Path, scratch: &Path) -> Result {
    std::fs::create_dir_all(scratch).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(png);
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--window-size=1280,1600",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.join("profile").display()
        ))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .env("HOME", scratch)
        .output()
        .map_err(|e| format!("cannot run chromium (cargo xtask deps installs it): {e}"))?;
    if !out.status.success() || !png.exists() {
        return Err(format!(
            "chromium wrote no screenshot ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // the profile is chromium's, not the demo's
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

fn step(title: &str) {
    say(&format!("\n== {title}"));
}

/// An unsigned-looking JWT with the claims Fulcio reads (the local stack
/// does not check signatures; sigctl checks issuer, subject and expiry).
pub(crate) fn demo_token(issuer: &str, email: &str) -> String {
    use base64::Engine;
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    use sigctl::clock::Clock;
    let now = sigctl::clock::SystemClock.now().unix_timestamp();
    format!(
        "{}.{}.{}",
        b64(r#"{"alg":"ES256","typ":"JWT"}"#),
        b64(&format!(
            r#"{{"iss":"{issuer}","sub":"{email}","email":"{email}","email_verified":true,"aud":"sigstore","iat":{now},"nbf":{now},"exp":{}}}"#,
            now + 600
        )),
        b64("demo")
    )
}
