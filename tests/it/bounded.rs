//! Files that are not what they seem: FIFOs that would block, `/dev/zero`
//! behind a symlink, sparse giants. Every read is of a regular file within
//! the limit of its kind; nothing hangs, nothing reads a gigabyte.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::hsm::{SoftHsm, setup};
use crate::util::{HSM_POLICY, Run, TestRepo};

const ARTEFACT: &str = "dist/app.tar";
const BUNDLE: &str = "dist/app.tar.sigstore.json";

/// Run `cmd` with a deadline: a run that outlives it is killed and fails
/// the test (a hang, or a read of gigabytes).
fn within(mut cmd: Command, what: &str) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("waits").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after 20 s (a hang or an unbounded read)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    Run::from(out)
}

fn sigctl(hsm: &SoftHsm, dir: &Path, args: &[&str]) -> Run {
    let mut cmd = hsm.command(crate::util::SIGCTL, dir);
    cmd.args(args);
    within(cmd, &format!("sigctl {args:?}"))
}

fn mkfifo(path: &Path) {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).expect("dirs");
    }
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(st.success());
}

fn refused(run: &Run, code: i32, says: &str) {
    assert_eq!(run.code, code, "{}", run.snapshot());
    assert!(
        run.stderr.contains(says),
        "wanted `{says}`:\n{}",
        run.snapshot()
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.snapshot());
}

#[test]
fn a_pin_source_that_is_a_device_is_refused_unread() {
    let s = setup();
    let policy = s.repo.read("signing.toml");
    let key = "key = \"pkcs11:token=sigctl;object=release\"";
    assert!(policy.contains(key));
    s.repo.write(
        "signing.toml",
        policy.replace(
            key,
            &key.replace("release\"", "release?pin-source=file:/dev/zero\""),
        ),
    );
    s.hsm
        .git_ok(&s.repo, &["commit", "-q", "-S", "-am", "pin source"]);
    s.repo.write(ARTEFACT, b"app\n");
    let run = sigctl(
        &s.hsm.pin(None),
        &s.repo.path(),
        &["sign", "artifact", ARTEFACT, "--identity", "release"],
    );
    refused(&run, 2, "/dev/zero: it is a device, not a regular file");
    assert!(!s.repo.path().join(BUNDLE).exists());
}

#[test]
fn bundles_that_are_devices_or_fifos_are_refused_unread() {
    let s = setup();
    s.repo.write(ARTEFACT, b"app\n");
    // --bundle /dev/zero
    let run = sigctl(
        &s.hsm,
        &s.repo.path(),
        &["verify-artifact", ARTEFACT, "--bundle", "/dev/zero"],
    );
    refused(&run, 2, "/dev/zero: it is a device");
    // a committed bundle that is a symlink to /dev/zero survives a clone
    symlink("/dev/zero", s.repo.path().join(BUNDLE)).expect("symlink");
    s.hsm.git_ok(&s.repo, &["add", "-A"]);
    s.hsm
        .git_ok(&s.repo, &["commit", "-q", "-S", "-m", "a bundle"]);
    let clone = s.repo.dir.path().join("clone");
    s.hsm
        .git_ok(&s.repo, &["clone", "-q", ".", &clone.display().to_string()]);
    let run = sigctl(&s.hsm, &clone, &["verify-artifact", ARTEFACT]);
    refused(&run, 2, "it is a symbolic link");
    // signing over a bundle that is a link to /dev/zero: refused, left alone
    let run = sigctl(
        &s.hsm,
        &s.repo.path(),
        &["sign", "artifact", ARTEFACT, "--identity", "release"],
    );
    refused(&run, 2, "it is a symbolic link (it is a device");
    assert!(
        std::fs::symlink_metadata(s.repo.path().join(BUNDLE))
            .expect("still there")
            .file_type()
            .is_symlink()
    );
    // a FIFO where the bundle goes, or given as --bundle
    std::fs::remove_file(s.repo.path().join(BUNDLE)).expect("rm");
    mkfifo(&s.repo.path().join(BUNDLE));
    let run = sigctl(
        &s.hsm,
        &s.repo.path(),
        &["sign", "artifact", ARTEFACT, "--identity", "release"],
    );
    refused(&run, 2, "is a FIFO");
    let run = sigctl(&s.hsm, &s.repo.path(), &["verify-artifact", ARTEFACT]);
    refused(&run, 2, "is a FIFO");
}

#[test]
fn an_artefact_that_is_a_device_or_fifo_is_refused() {
    let s = setup();
    symlink("/dev/zero", s.repo.path().join("zero.bin")).expect("symlink");
    let run = sigctl(
        &s.hsm,
        &s.repo.path(),
        &["sign", "artifact", "zero.bin", "--identity", "release"],
    );
    refused(&run, 2, "is a device");
    mkfifo(&s.repo.path().join("pipe.bin"));
    let run = sigctl(
        &s.hsm,
        &s.repo.path(),
        &["sign", "artifact", "pipe.bin", "--identity", "release"],
    );
    refused(&run, 2, "is a FIFO");
}

/// On an unborn branch the policy is read from the work tree.
#[test]
fn a_policy_that_is_a_device_or_fifo_is_refused_on_an_unborn_branch() {
    for kind in ["device", "FIFO"] {
        let repo = TestRepo::new();
        let hsm = SoftHsm::new(&repo);
        let policy = repo.path().join("signing.toml");
        if kind == "device" {
            symlink("/dev/zero", &policy).expect("symlink");
        } else {
            mkfifo(&policy);
        }
        let says = format!("is a {kind}");
        for args in [
            &["check"][..],
            &["check", "--format", "json"],
            &["init", "--template", "hsm-release"],
        ] {
            let run = sigctl(&hsm, &repo.path(), args);
            refused(&run, 2, &says);
        }
        std::fs::create_dir_all(repo.path().join("dist")).expect("dist");
        std::fs::write(repo.path().join(ARTEFACT), b"x").expect("artefact");
        let run = sigctl(
            &hsm,
            &repo.path(),
            &["sign", "artifact", ARTEFACT, "--identity", "release"],
        );
        refused(&run, 2, &says);
    }
}

#[test]
fn a_certificate_that_is_a_fifo_is_refused_by_check() {
    let repo = TestRepo::new();
    repo.write("signing.toml", HSM_POLICY);
    mkfifo(&repo.path().join("certs/release.pem"));
    let hsm = SoftHsm::new(&repo);
    let run = sigctl(&hsm, &repo.path(), &["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(run.stdout.contains("FIFO"), "{}", run.snapshot());
}

/// The verify cache is an optimisation: an unusable one is ignored (with a
/// warning) and rebuilt, never a hang, never a read of gigabytes.
#[test]
fn an_unusable_verify_cache_or_key_is_ignored_not_read() {
    let s = setup();
    let cache = s.repo.path().join(".git/sigctl/verify-cache");
    let key = s.repo.home().join(".cache/sigctl/cache.key");
    let ok = sigctl(&s.hsm, &s.repo.path(), &["verify"]);
    assert_eq!(ok.code, 0, "{}", ok.snapshot());
    assert!(cache.is_file() && key.is_file());
    let reset = |p: &Path| {
        let _ = std::fs::remove_file(p);
    };
    type Make<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Make); 3] = [
        ("/dev/zero", &|p| symlink("/dev/zero", p).expect("symlink")),
        ("FIFO", &|p| mkfifo(p)),
        ("sparse 3 GB", &|p| {
            let f = std::fs::File::create(p).expect("create");
            f.set_len(3 << 30).expect("sparse");
        }),
    ];
    for (name, make) in cases {
        for target in [&cache, &key] {
            reset(target);
            make(target);
            let run = sigctl(&s.hsm, &s.repo.path(), &["verify"]);
            assert_eq!(
                run.code,
                0,
                "{name} as {}: {}",
                target.display(),
                run.snapshot()
            );
            assert!(
                run.stdout.lines().any(|l| l.starts_with("ok:")),
                "{}",
                run.snapshot()
            );
            reset(target);
        }
    }
}

/// `git replace` can make a history cyclic; replace refs are never read.
#[test]
fn a_cycle_made_with_a_replace_ref_ends_every_walk() {
    let s = setup();
    for i in 0..3 {
        s.repo.write("f", format!("{i}\n"));
        s.hsm.git_ok(&s.repo, &["add", "f"]);
        s.hsm
            .git_ok(&s.repo, &["commit", "-q", "-S", "-m", &format!("c{i}")]);
    }
    let first = s.hsm.git_ok(&s.repo, &["rev-parse", "HEAD~2"]);
    let head = s.hsm.git_ok(&s.repo, &["rev-parse", "HEAD"]);
    s.hsm
        .git_ok(&s.repo, &["replace", "-f", first.trim(), head.trim()]);
    for args in [
        &["verify"][..],
        &["verify", "--no-cache", "HEAD~1..HEAD"],
        &["audit"],
        &["check", "--history"],
        &["provenance", "show", "HEAD"],
    ] {
        let run = sigctl(&s.hsm, &s.repo.path(), args);
        assert!(matches!(run.code, 0 | 1), "{args:?}: {}", run.snapshot());
    }
}

// --- what the cases above leave out --------------------------------------------------

/// A run of sigctl in `repo` with the isolation of `TestRepo` and a deadline.
fn plain(repo: &TestRepo, args: &[&str]) -> Run {
    let hsm = SoftHsm::new(repo);
    sigctl(&hsm, &repo.path(), args)
}

/// `init` compares what is already there with what it would write: a FIFO
/// in either place must be refused, not waited on.
#[test]
fn init_refuses_a_fifo_schema_copy_and_writes_nothing() {
    let repo = TestRepo::new();
    mkfifo(&repo.path().join(".sigctl/signing.schema.json"));
    let run = plain(&repo, &["init"]);
    refused(&run, 2, "signing.schema.json: it is a FIFO");
    assert!(!repo.path().join("signing.toml").exists());
    mkfifo(&repo.path().join("signing.toml"));
    let run = plain(&repo, &["init", "--force"]);
    refused(&run, 2, "signing.toml: it is a FIFO");
}

#[test]
fn cert_import_refuses_a_fifo_or_device_instead_of_reading_it() {
    let repo = TestRepo::new();
    repo.write("signing.toml", HSM_POLICY);
    let fifo = repo.home().join("release.pem");
    mkfifo(&fifo);
    for file in [fifo.display().to_string(), "/dev/zero".to_owned()] {
        let run = plain(&repo, &["cert", "import", "--identity", "release", &file]);
        refused(&run, 2, &format!("{file}: it is a"));
    }
}

/// git hands its x509 program the signature as a file: a FIFO or a device
/// there is refused (exit 2), and git reports it.
#[test]
fn gpg_verify_refuses_a_fifo_or_device_signature_file() {
    let repo = TestRepo::new();
    let fifo = repo.home().join("sig");
    mkfifo(&fifo);
    for file in [fifo.display().to_string(), "/dev/zero".to_owned()] {
        let run = plain(&repo, &["--status-fd=1", "--verify", &file, "-"]);
        refused(&run, 2, "not a regular file");
    }
}

/// A committed symlink's blob is its link text, which may be any bytes (a
/// whole policy here): signing never takes it for the file.
#[test]
fn a_policy_committed_as_a_symlink_is_not_read_as_its_link_text() {
    let repo = TestRepo::new();
    symlink(HSM_POLICY, repo.path().join("signing.toml")).expect("symlink");
    repo.write(ARTEFACT, "x");
    repo.commit("a policy as a link text");
    let tree = repo.git(&["ls-tree", "HEAD", "signing.toml"]);
    assert!(tree.starts_with("120000 "), "{tree}");
    let run = plain(
        &repo,
        &["sign", "artifact", ARTEFACT, "--identity", "release"],
    );
    refused(&run, 2, "symbolic link");
}

/// An unusable cache key means verifying without the cache, and saying so.
#[test]
fn an_unusable_cache_key_is_reported_as_a_warning() {
    let repo = TestRepo::new();
    repo.write("signing.toml", HSM_POLICY);
    repo.commit("policy");
    let key = repo.home().join(".cache/sigctl/cache.key");
    mkfifo(&key);
    let run = plain(&repo, &["verify", "--format", "json"]);
    assert_eq!(run.code, 1, "unsigned: {}", run.snapshot());
    assert!(
        run.stderr.contains("warning") && run.stderr.contains("cache.key"),
        "{}",
        run.snapshot()
    );
}

/// A cache under the size limit whose first line never ends (zeros) is read
/// one capped line at a time: verify runs in a 1 GiB address space with a
/// 900 MB sparse cache, ignores it (not a file sigctl wrote) and rebuilds it.
#[test]
fn a_cache_line_that_never_ends_is_not_read_whole() {
    let repo = TestRepo::new();
    repo.write("signing.toml", HSM_POLICY);
    repo.commit("policy");
    let first = plain(&repo, &["verify"]);
    assert_eq!(first.code, 1, "{}", first.snapshot());
    let cache = repo.path().join(".git/sigctl/verify-cache");
    std::fs::remove_file(&cache).expect("rm");
    std::fs::File::create(&cache)
        .and_then(|f| f.set_len(900 << 20))
        .expect("sparse");
    let hsm = SoftHsm::new(&repo);
    let mut cmd = hsm.command("/bin/sh", &repo.path());
    cmd.args([
        "-c",
        "ulimit -v 1048576 && exec \"$0\" verify --format json",
        crate::util::SIGCTL,
    ]);
    let run = within(cmd, "sigctl verify in 1 GiB");
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert_eq!(
        run.json()["results"],
        plain(&repo, &["verify", "--format", "json"]).json()["results"],
        "the same verdicts"
    );
    let rebuilt = std::fs::metadata(&cache).expect("cache");
    assert!(rebuilt.len() < 1 << 20, "rebuilt: {} bytes", rebuilt.len());
}

/// Fanout directories that share subtrees make a notes tree of a few objects
/// claim 256^k notes: every walk of it stops within a budget, with an error.
#[test]
fn a_notes_tree_of_shared_subtrees_is_walked_within_a_budget() {
    let repo = TestRepo::new();
    repo.write("signing.toml", HSM_POLICY);
    repo.commit("policy");
    let blob = repo.git_input(&["hash-object", "-w", "--stdin"], b"{}\n");
    let level = |child: &str, mode: &str, kind: &str| -> String {
        let listing: String = (0..256)
            .map(|i| format!("{mode} {kind} {}\t{i:02x}\n", child.trim()))
            .collect();
        repo.git_input(&["mktree"], listing.as_bytes())
            .trim()
            .to_owned()
    };
    let mut tree = level(&blob, "100644", "blob");
    for _ in 0..5 {
        tree = level(&tree, "040000", "tree");
    }
    let commit = repo.git_input(&["commit-tree", &tree, "-m", "notes"], b"");
    repo.git(&["update-ref", "refs/notes/signing", commit.trim()]);
    let hsm = SoftHsm::new(&repo);
    for args in [&["audit"][..], &["provenance", "show", "HEAD"]] {
        let run = sigctl(&hsm, &repo.path(), args);
        assert!(matches!(run.code, 0..=2), "{args:?}: {}", run.snapshot());
        assert!(!run.stderr.contains("panicked"), "{}", run.snapshot());
    }
}
