//! `sigctl hook`: real git hooks in real repositories — installed beside
//! existing ones, run by git on commit and push, removed without a trace.

use std::process::Command;

use crate::util::hsm;
use crate::util::{Run, SIGCTL, TestRepo};

fn hooks_dir(repo: &TestRepo) -> std::path::PathBuf {
    repo.path().join(".git/hooks")
}

/// git in `repo` with extra environment, isolated like TestRepo's own.
fn git_env(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(repo.path())
        .env("HOME", repo.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .env_remove("SIGCTL_SKIP");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from(cmd.output().expect("git runs"))
}

#[test]
fn install_is_idempotent_keeps_an_existing_hook_and_uninstall_restores_it() {
    let repo = TestRepo::new();
    repo.write("a.txt", "a\n");
    repo.commit("first");
    // someone's own pre-commit hook: it must keep running
    let dir = hooks_dir(&repo);
    std::fs::create_dir_all(&dir).expect("hooks dir");
    let theirs = "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/their-hook-ran\"\n";
    std::fs::write(dir.join("pre-commit"), theirs).expect("write");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("pre-commit"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
    }
    let first = repo.sigctl(&["hook", "install"]);
    assert_eq!(first.code, 0, "{}", first.snapshot());
    assert!(
        first.stdout.contains("pre-commit: installed") && first.stdout.contains("runs after it"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("pre-push: installed"),
        "{}",
        first.stdout
    );
    let again = repo.sigctl(&["hook", "install", "--all"]);
    assert!(
        again.stdout.contains("pre-commit: already installed"),
        "{}",
        again.stdout
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("pre-commit.sigctl-chained")).expect("chained"),
        theirs
    );
    // a commit runs sigctl's hook, then theirs
    repo.write("b.txt", "b\n");
    repo.git(&["add", "b.txt"]);
    let c = git_env(&repo, &["commit", "-q", "-m", "second"], &[]);
    assert_eq!(c.code, 0, "{}", c.snapshot());
    assert!(
        repo.path().join(".git/their-hook-ran").exists(),
        "the chained hook ran"
    );
    assert!(
        c.stderr.contains("no signing.toml is staged"),
        "{}",
        c.stderr
    );
    // uninstall: theirs is back, ours is gone, nothing else left
    let un = repo.sigctl(&["hook", "uninstall"]);
    assert_eq!(un.code, 0, "{}", un.snapshot());
    assert_eq!(
        std::fs::read_to_string(dir.join("pre-commit")).expect("theirs"),
        theirs
    );
    assert!(!dir.join("pre-push").exists());
    assert!(!dir.join("pre-commit.sigctl-chained").exists());
    let un2 = repo.sigctl(&["hook", "uninstall"]);
    assert!(
        un2.stdout.contains("pre-commit: ") && un2.stdout.contains("not sigctl's"),
        "{}",
        un2.stdout
    );
    assert!(
        un2.stdout.contains("pre-push: not installed"),
        "{}",
        un2.stdout
    );
}

#[test]
fn core_hooks_path_is_honoured() {
    let repo = TestRepo::new();
    repo.git(&["config", "core.hooksPath", "githooks"]);
    let r = repo.sigctl(&["hook", "install", "--pre-commit"]);
    assert_eq!(r.code, 0, "{}", r.snapshot());
    assert!(repo.path().join("githooks/pre-commit").exists());
    assert!(!repo.path().join("githooks/pre-push").exists());
    assert!(!hooks_dir(&repo).join("pre-commit").exists());
}

#[test]
fn a_staged_private_key_blocks_the_commit_and_is_never_shown() {
    let repo = TestRepo::new();
    repo.write("a.txt", "a\n");
    repo.commit("first");
    repo.sigctl(&["hook", "install", "--pre-commit"]);
    let key = repo.openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]);
    let key_text = String::from_utf8_lossy(&key).into_owned();
    repo.write("deploy/key.pem", &key);
    repo.git(&["add", "deploy/key.pem"]);
    let c = git_env(&repo, &["commit", "-q", "-m", "oops"], &[]);
    assert_ne!(c.code, 0, "{}", c.snapshot());
    assert!(c.stderr.contains("deploy/key.pem"), "{}", c.stderr);
    let body = key_text.lines().nth(1).expect("a key body line");
    assert!(
        !c.stderr.contains(body) && !c.stdout.contains(body),
        "the key is never shown"
    );
    assert_eq!(
        repo.git(&["rev-list", "--count", "HEAD"]).trim(),
        "1",
        "no commit made"
    );
    // bypassed on purpose: said so, and the commit is made
    let skip = git_env(
        &repo,
        &["commit", "-q", "-m", "skip"],
        &[("SIGCTL_SKIP", "1")],
    );
    assert_eq!(skip.code, 0, "{}", skip.snapshot());
    assert!(skip.stderr.contains("SIGCTL_SKIP=1"), "{}", skip.stderr);
}

#[test]
fn a_broken_staged_policy_blocks_the_commit_with_its_diagnostic() {
    let repo = TestRepo::new();
    repo.sigctl(&["init", "--template", "minimal"]);
    repo.commit("policy");
    repo.sigctl(&["hook", "install", "--pre-commit"]);
    // the work tree is fine; the index holds a broken version
    let good = repo.read("signing.toml");
    repo.write(
        "signing.toml",
        format!("{good}\n[identities.x]\nowner = \"nobody\"\n"),
    );
    repo.git(&["add", "signing.toml"]);
    repo.write("signing.toml", &good);
    let c = git_env(&repo, &["commit", "-q", "-m", "policy change"], &[]);
    assert_ne!(c.code, 0, "{}", c.snapshot());
    assert!(c.stderr.contains("signing.toml"), "{}", c.stderr);
    assert!(c.stderr.contains("the commit was stopped"), "{}", c.stderr);
}

#[test]
fn pre_push_verifies_what_is_pushed_for_the_remote_ref() {
    let s = hsm::setup();
    let remote = s.repo.home().join("remote.git");
    let init = Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&remote)
        .output()
        .expect("git");
    assert!(init.status.success());
    s.hsm.git_ok(
        &s.repo,
        &["remote", "add", "origin", &remote.display().to_string()],
    );
    let root = s.hsm.git_ok(&s.repo, &["rev-parse", "HEAD"]);
    s.hsm
        .git_ok(&s.repo, &["config", "sigctl.trustRoot", root.trim()]);
    s.hsm.sigctl_ok(&s.repo, &["hook", "install", "--pre-push"]);
    // signed: the push goes through
    let ok = s.hsm.git(&s.repo, &["push", "-q", "origin", "main"]);
    assert_eq!(ok.code, 0, "{}", ok.snapshot());
    // an unsigned commit on top: refused, named, and nothing pushed
    s.hsm.git_ok(
        &s.repo,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "--no-gpg-sign",
            "-m",
            "sneaky",
        ],
    );
    let sneaky = s.hsm.git_ok(&s.repo, &["rev-parse", "HEAD"]);
    let refused = s.hsm.git(&s.repo, &["push", "-q", "origin", "main"]);
    assert_ne!(refused.code, 0, "{}", refused.snapshot());
    assert!(
        refused.stderr.contains(&sneaky.trim()[..12]),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("the push was stopped"),
        "{}",
        refused.stderr
    );
    let remote_main = Command::new("git")
        .args(["--git-dir"])
        .arg(&remote)
        .args(["rev-parse", "main"])
        .output()
        .expect("git");
    assert_eq!(
        String::from_utf8_lossy(&remote_main.stdout).trim(),
        root.trim()
    );
    // a new branch pushes only what the remote lacks; deleting a ref pushes nothing
    s.hsm.git_ok(&s.repo, &["reset", "-q", "--hard", "HEAD~1"]);
    let topic = s
        .hsm
        .git(&s.repo, &["push", "-q", "origin", "main:refs/heads/topic"]);
    assert_eq!(topic.code, 0, "{}", topic.snapshot());
    let delete = s
        .hsm
        .git(&s.repo, &["push", "-q", "origin", ":refs/heads/topic"]);
    assert_eq!(delete.code, 0, "{}", delete.snapshot());
}

#[test]
fn pre_push_lines_that_are_not_gits_are_an_error_not_a_pass() {
    let repo = TestRepo::new();
    repo.write("a.txt", "a\n");
    repo.commit("first");
    let mut child = Command::new(SIGCTL)
        .args(["hook", "run", "pre-push", "origin"])
        .current_dir(repo.path())
        .env("HOME", repo.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sigctl");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"refs/heads/main not-enough-fields\n")
        .expect("write");
    let out = Run::from(child.wait_with_output().expect("runs"));
    assert_eq!(out.code, 2, "{}", out.snapshot());
    assert!(out.stderr.contains("not a pre-push line"), "{}", out.stderr);
}

#[test]
fn a_policy_change_staged_by_a_non_admin_gets_a_warning_that_it_will_not_verify() {
    let s = hsm::setup();
    s.hsm
        .sigctl_ok(&s.repo, &["hook", "install", "--pre-commit"]);
    let policy = s.repo.read("signing.toml");
    s.repo.write(
        "signing.toml",
        policy.replace("renew_before = \"30d\"", "renew_before = \"45d\""),
    );
    s.hsm.git_ok(&s.repo, &["add", "signing.toml"]);
    // `release` (owner release) is no admin: the policy's admins are `security`
    let c = s
        .hsm
        .git(&s.repo, &["commit", "-q", "-S", "-m", "longer renewal"]);
    assert_eq!(c.code, 0, "a warning, not a refusal: {}", c.snapshot());
    assert!(
        c.stderr.contains("not owned by an admin (security)")
            && c.stderr.contains("policy-change-without-admin"),
        "{}",
        c.stderr
    );
    // and verify agrees
    let v = s.hsm.sigctl(&s.repo, &["verify"]);
    assert_eq!(v.code, 1, "{}", v.snapshot());
    // `git -c user.signingkey=…` is the identity that signs, so the hook
    // judges that one (git passes it in GIT_CONFIG_PARAMETERS)
    s.repo.write(
        "signing.toml",
        s.repo
            .read("signing.toml")
            .replace("renew_before = \"45d\"", "renew_before = \"40d\""),
    );
    s.hsm.git_ok(&s.repo, &["add", "signing.toml"]);
    s.hsm
        .git_ok(&s.repo, &["config", "user.signingkey", "someone-else"]);
    let c = s.hsm.git(
        &s.repo,
        &[
            "-c",
            "user.signingkey=release",
            "commit",
            "-q",
            "-S",
            "-m",
            "shorter",
        ],
    );
    assert_eq!(c.code, 0, "{}", c.snapshot());
    assert!(
        c.stderr
            .contains("your signing identity `release` is not owned by an admin"),
        "{}",
        c.stderr
    );
}

#[test]
fn the_pre_commit_framework_runs_sigctl_check_from_this_repository() {
    let pre_commit = crate::util::sigstore::venv().join("bin/pre-commit");
    assert!(
        pre_commit.exists(),
        "pre-commit is not in the judges' venv ({}): run `cargo xtask deps`",
        pre_commit.display()
    );
    let repo = TestRepo::new();
    repo.write("a.txt", "a\n");
    repo.commit("first");
    let path = path_with_sigctl();
    let try_repo = |hook: &str| {
        Run::from(
            Command::new(&pre_commit)
                .args(["try-repo", env!("CARGO_MANIFEST_DIR"), hook])
                .current_dir(repo.path())
                .env("HOME", repo.home())
                .env("PRE_COMMIT_HOME", repo.home().join("pre-commit"))
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("PATH", &path)
                .env("NO_COLOR", "1")
                .output()
                .expect("pre-commit runs"),
        )
    };
    repo.write("b.txt", "b\n");
    repo.git(&["add", "b.txt"]);
    let clean = try_repo("sigctl-check");
    assert_eq!(clean.code, 0, "{}", clean.snapshot());
    assert!(clean.stdout.contains("sigctl check"), "{}", clean.stdout);
    let key = repo.openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]);
    repo.write("id.pem", &key);
    repo.git(&["add", "id.pem"]);
    let blocked = try_repo("sigctl-check");
    assert_eq!(blocked.code, 1, "{}", blocked.snapshot());
    assert!(blocked.stdout.contains("id.pem"), "{}", blocked.stdout);
}

/// PATH with this build's sigctl first (hook managers call `sigctl` by name).
fn path_with_sigctl() -> std::ffi::OsString {
    let bin = std::path::Path::new(SIGCTL)
        .parent()
        .expect("sigctl's directory")
        .to_path_buf();
    std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH")
}

/// An HSM repository (signed main, trust root configured) with a bare
/// `origin`; returns the root commit and the remote's path.
fn with_origin(s: &hsm::Setup) -> (String, std::path::PathBuf) {
    let remote = s.repo.home().join("remote.git");
    let init = Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&remote)
        .output()
        .expect("git");
    assert!(init.status.success());
    s.hsm.git_ok(
        &s.repo,
        &["remote", "add", "origin", &remote.display().to_string()],
    );
    let root = s
        .hsm
        .git_ok(&s.repo, &["rev-parse", "HEAD"])
        .trim()
        .to_owned();
    s.hsm
        .git_ok(&s.repo, &["config", "sigctl.trustRoot", &root]);
    (root, remote)
}

fn remote_head(remote: &std::path::Path) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(remote)
        .args(["rev-parse", "main"])
        .output()
        .expect("git");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An unsigned commit on top of HEAD; returns its id.
fn sneak_unsigned(s: &hsm::Setup) -> String {
    s.hsm.git_ok(
        &s.repo,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "--no-gpg-sign",
            "-m",
            "sneaky",
        ],
    );
    s.hsm
        .git_ok(&s.repo, &["rev-parse", "HEAD"])
        .trim()
        .to_owned()
}

#[test]
fn the_pre_commit_framework_runs_sigctl_verify_push() {
    let pre_commit = crate::util::sigstore::venv().join("bin/pre-commit");
    assert!(pre_commit.exists(), "run `cargo xtask deps`");
    let s = hsm::setup();
    let (root, _) = with_origin(&s);
    let sneaky = sneak_unsigned(&s);
    let try_push = |to: &str| {
        let out = s
            .hsm
            .command(&pre_commit.display().to_string(), &s.repo.path())
            .args(["try-repo", env!("CARGO_MANIFEST_DIR"), "sigctl-verify-push"])
            .args([
                "--hook-stage",
                "pre-push",
                "--from-ref",
                &root,
                "--to-ref",
                to,
            ])
            .env("PRE_COMMIT_HOME", s.repo.home().join("pre-commit"))
            .env("PRE_COMMIT_REMOTE_NAME", "origin")
            .env("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/main")
            .env("PATH", path_with_sigctl())
            .output()
            .expect("pre-commit runs");
        Run::from(out)
    };
    let refused = try_push(&sneaky);
    assert_eq!(refused.code, 1, "{}", refused.snapshot());
    assert!(refused.stdout.contains(&sneaky[..12]), "{}", refused.stdout);
    // nothing new: passes
    let fine = try_push(&root);
    assert_eq!(fine.code, 0, "{}", fine.snapshot());
}

/// lefthook 2.1.17's binary (tests/workflow-tools, `cargo xtask deps`).
fn lefthook() -> std::path::PathBuf {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/workflow-tools/node_modules/lefthook-linux-x64/bin/lefthook");
    assert!(
        bin.is_file(),
        "lefthook is not installed ({}): run `cargo xtask deps`",
        bin.display()
    );
    bin
}

#[test]
fn lefthook_runs_sigctls_hooks_from_the_documented_snippet() {
    let s = hsm::setup();
    let (root, remote) = with_origin(&s);
    s.repo.write(
        "lefthook.yml",
        include_str!("../../templates/hooks/lefthook.yml"),
    );
    let lefthook_run = |args: &[&str]| {
        let out = s
            .hsm
            .command(&lefthook().display().to_string(), &s.repo.path())
            .args(args)
            .env("PATH", path_with_sigctl())
            .output()
            .expect("lefthook runs");
        Run::from(out)
    };
    let install = lefthook_run(&["install"]);
    assert_eq!(install.code, 0, "{}", install.snapshot());
    let hook = std::fs::read_to_string(hooks_dir(&s.repo).join("pre-push")).expect("pre-push");
    assert!(hook.contains("lefthook"), "{hook}");
    // git runs lefthook, lefthook runs sigctl (found on PATH)
    let git = |args: &[&str]| {
        let out = s
            .hsm
            .command("git", &s.repo.path())
            .args(args)
            .env("PATH", path_with_sigctl())
            .output()
            .expect("git runs");
        Run::from(out)
    };
    // pre-commit: a staged private key blocks the commit, named, not shown
    let key = s.repo.openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]);
    s.repo.write("deploy.pem", &key);
    git(&["add", "deploy.pem"]);
    let blocked = git(&["commit", "-q", "-S", "-m", "oops"]);
    assert_ne!(blocked.code, 0, "{}", blocked.snapshot());
    let said = format!("{}{}", blocked.stdout, blocked.stderr);
    assert!(said.contains("deploy.pem"), "{said}");
    let body: String = String::from_utf8_lossy(&key)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(
        !said.contains(&body[..24]),
        "the key is never shown: {said}"
    );
    git(&["rm", "-q", "--cached", "deploy.pem"]);
    // pre-push: signed goes through; an unsigned commit on top is refused
    let ok = git(&["push", "-q", "origin", "main"]);
    assert_eq!(ok.code, 0, "{}", ok.snapshot());
    assert_eq!(remote_head(&remote), root);
    let sneaky = sneak_unsigned(&s);
    let refused = git(&["push", "-q", "origin", "main"]);
    assert_ne!(refused.code, 0, "{}", refused.snapshot());
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(said.contains(&sneaky[..12]), "{said}");
    assert_eq!(remote_head(&remote), root, "nothing was pushed");
}

/// No test of a hook may see a panic: exit 101 or Rust's panic text.
#[track_caller]
fn no_panic(run: &Run) {
    assert_ne!(run.code, 101, "{}", run.snapshot());
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
        "{}",
        run.snapshot()
    );
}

/// A P-256 private key in PEM, made by openssl.
fn a_private_key(repo: &TestRepo) -> Vec<u8> {
    repo.openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ])
}

#[test]
fn hooks_outside_a_repository_are_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let repo = TestRepo::new();
    for args in [
        &["hook", "run", "pre-commit"][..],
        &["hook", "run", "pre-push", "origin"],
        &["hook", "install"],
        &["hook", "uninstall"],
    ] {
        let run = repo.sigctl_in(dir.path(), args);
        no_panic(&run);
        assert_eq!(run.code, 2, "{args:?}: {}", run.snapshot());
        assert!(
            run.stderr.to_lowercase().contains("repository"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn an_unborn_branch_and_a_detached_head_are_checked_like_any_other() {
    // the very first commit: HEAD names a branch that does not exist yet
    let repo = TestRepo::new();
    repo.sigctl(&["hook", "install", "--pre-commit"]);
    repo.write("deploy.pem", a_private_key(&repo));
    repo.git(&["add", "deploy.pem"]);
    let first = git_env(&repo, &["commit", "-q", "-m", "first"], &[]);
    no_panic(&first);
    assert_ne!(first.code, 0, "{}", first.snapshot());
    assert!(first.stderr.contains("deploy.pem"), "{}", first.stderr);
    repo.git(&["rm", "-q", "--cached", "deploy.pem"]);
    std::fs::remove_file(repo.path().join("deploy.pem")).expect("rm");
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    let ok = git_env(&repo, &["commit", "-q", "-m", "first"], &[]);
    assert_eq!(ok.code, 0, "{}", ok.snapshot());
    // a detached HEAD
    repo.git(&["checkout", "-q", "--detach"]);
    repo.write("keys/id.pem", a_private_key(&repo));
    repo.git(&["add", "keys/id.pem"]);
    let detached = git_env(&repo, &["commit", "-q", "-m", "detached"], &[]);
    no_panic(&detached);
    assert_ne!(detached.code, 0, "{}", detached.snapshot());
    assert!(
        detached.stderr.contains("keys/id.pem"),
        "{}",
        detached.stderr
    );
}

#[test]
fn a_merge_concluded_with_a_broken_policy_is_refused() {
    let repo = TestRepo::new();
    let init = repo.sigctl(&["init"]);
    assert_eq!(init.code, 0, "{}", init.snapshot());
    let text = repo.read("signing.toml");
    repo.commit("policy");
    repo.sigctl(&["hook", "install", "--pre-commit"]);
    repo.git(&["switch", "-q", "-c", "topic"]);
    repo.write("signing.toml", format!("{text}\n# topic\n"));
    repo.git(&["commit", "-q", "--no-verify", "-am", "topic"]);
    repo.git(&["switch", "-q", "main"]);
    repo.write("signing.toml", format!("{text}\n# main\n"));
    repo.git(&["commit", "-q", "--no-verify", "-am", "main"]);
    // the merge stops on the conflict; the conflict is "resolved" with
    // the markers left in, which is no TOML
    let merge = git_env(&repo, &["merge", "-q", "topic"], &[]);
    assert_ne!(merge.code, 0, "a conflict: {}", merge.snapshot());
    repo.git(&["add", "signing.toml"]);
    let conclude = git_env(&repo, &["commit", "-q", "--no-edit"], &[]);
    no_panic(&conclude);
    assert_ne!(conclude.code, 0, "{}", conclude.snapshot());
    assert!(
        conclude.stderr.contains("signing.toml"),
        "{}",
        conclude.stderr
    );
    assert!(
        repo.path().join(".git/MERGE_HEAD").exists(),
        "the merge is still in progress"
    );
}

#[test]
fn hooks_in_the_middle_of_a_rebase_judge_what_is_staged() {
    let repo = TestRepo::new();
    repo.write("a.txt", "base\n");
    repo.commit("base");
    repo.git(&["switch", "-q", "-c", "topic"]);
    repo.write("a.txt", "topic\n");
    repo.commit("topic");
    repo.git(&["switch", "-q", "main"]);
    repo.write("a.txt", "main\n");
    repo.commit("main");
    repo.git(&["switch", "-q", "topic"]);
    let rebase = git_env(&repo, &["rebase", "-q", "main"], &[]);
    assert_ne!(rebase.code, 0, "a conflict: {}", rebase.snapshot());
    assert!(repo.path().join(".git/rebase-merge").exists());
    // HEAD is detached at main's tip; what is staged is judged all the same
    repo.write("a.txt", "resolved\n");
    repo.write("id.pem", a_private_key(&repo));
    repo.git(&["add", "a.txt", "id.pem"]);
    let pre_commit = repo.sigctl(&["hook", "run", "pre-commit"]);
    no_panic(&pre_commit);
    assert_eq!(pre_commit.code, 1, "{}", pre_commit.snapshot());
    assert!(
        pre_commit.stderr.contains("id.pem"),
        "{}",
        pre_commit.stderr
    );
    // a pre-push from here: the repository has no policy, nothing to judge
    let head = repo.git(&["rev-parse", "HEAD"]);
    let push = Command::new(SIGCTL)
        .args(["hook", "run", "pre-push", "origin"])
        .current_dir(repo.path())
        .env("HOME", repo.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            let line = format!("HEAD {} refs/heads/topic {}\n", head.trim(), "0".repeat(40));
            c.stdin.take().expect("stdin").write_all(line.as_bytes())?;
            c.wait_with_output()
        })
        .expect("sigctl runs");
    let push = Run::from(push);
    no_panic(&push);
    assert_eq!(push.code, 0, "{}", push.snapshot());
    assert!(push.stderr.contains("nothing to verify"), "{}", push.stderr);
}

#[test]
fn a_staged_file_too_large_to_scan_is_named_not_passed_in_silence() {
    let repo = TestRepo::new();
    repo.write("a.txt", "a\n");
    repo.commit("first");
    repo.sigctl(&["hook", "install", "--pre-commit"]);
    // 64 MiB + 1: one byte past what the hook reads
    let big = repo.path().join("big.bin");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(64 * 1024 * 1024 + 1).expect("size");
    repo.git(&["add", "big.bin"]);
    let c = git_env(&repo, &["commit", "-q", "-m", "big"], &[]);
    no_panic(&c);
    assert_eq!(c.code, 0, "a warning, not a refusal: {}", c.snapshot());
    assert!(
        c.stderr.contains("big.bin") && c.stderr.contains("not scanned"),
        "{}",
        c.stderr
    );
}
