//! Helpers for xtask: run commands, find the workspace, install system tools.

use std::path::PathBuf;
use std::process::Command;

pub type Result<T = ()> = std::result::Result<T, String>;

#[allow(clippy::print_stdout)] // xtask is a front-end
pub fn say(s: &str) {
    println!("{s}");
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else `target/` at the root.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// Where `sigstore_stack` installs a private node when the machine's is too old.
pub fn local_node_bin() -> PathBuf {
    target_dir().join("node/node_modules/node/bin")
}

/// PATH with the private node first, when there is one (for every command
/// xtask runs: the tests start node by name).
pub fn path_env() -> Vec<(&'static str, std::ffi::OsString)> {
    let bin = local_node_bin();
    if !bin.join("node").exists() {
        return Vec::new();
    }
    let mut paths = vec![bin];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths)
        .map(|p| vec![("PATH", p)])
        .unwrap_or_default()
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Run a command in the workspace root, inheriting output; fail on non-zero exit.
pub fn run(program: &str, args: &[&str]) -> Result {
    say(&format!("$ {program} {}", args.join(" ")));
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .envs(path_env())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Run `cargo test …`, echoing its output, and add up its `test result:` lines.
pub fn run_counting_tests(program: &str, args: &[&str]) -> Result<(u64, u64)> {
    use std::io::{BufRead, BufReader};
    say(&format!("$ {program} {}", args.join(" ")));
    let mut child = Command::new(program)
        .args(args)
        .current_dir(root())
        .envs(path_env())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let (mut passed, mut failed) = (0, 0);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            say(&line);
            if let Some(rest) = line.strip_prefix("test result: ") {
                let count = |word: &str| {
                    rest.split(';')
                        .find_map(|part| {
                            part.trim().strip_suffix(word).map(|n| {
                                n.trim()
                                    .trim_start_matches("ok. ")
                                    .trim_start_matches("FAILED. ")
                                    .parse::<u64>()
                                    .unwrap_or(0)
                            })
                        })
                        .unwrap_or(0)
                };
                passed += count("passed");
                failed += count("failed");
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() && failed == 0 {
        return Err(format!("`{program} {}` failed ({status})", args.join(" ")));
    }
    Ok((passed, failed))
}

pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Debian packages providing the tools tests and the demo call, by the command that shows each is there.
const DEPS: &[(&str, &[&str])] = &[
    ("git", &["git"]),
    ("openssl", &["openssl"]),
    ("ssh-keygen", &["openssh-client"]),
    ("softhsm2-util", &["softhsm2"]),
    ("pkcs11-tool", &["opensc"]),
    ("setsid", &["util-linux"]),
    ("python3", &["python3"]),
    // the HTML reports' browser tests and the demo's screenshot; a font,
    // since apt_install leaves out recommends (text would be boxes)
    ("chromium", &["chromium", "fonts-liberation"]),
];

/// Install missing tools with apt-get (as root, or through sudo), then the
/// local Sigstore stack's node modules and the sigstore-python judge.
pub fn install_deps() -> Result {
    let missing: Vec<&str> = DEPS
        .iter()
        .filter(|(cmd, _)| !have(cmd))
        .flat_map(|(_, pkgs)| pkgs.iter().copied())
        .collect();
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    crate::sigstore_stack::install()
}

/// `apt-get update` and install `packages` (as root, or through sudo).
pub fn apt_install(packages: &[&str]) -> Result {
    say(&format!("installing {}", packages.join(" ")));
    let sudo = if is_root() { vec![] } else { vec!["sudo"] };
    let apt = |args: &[&str]| -> Result {
        let mut all: Vec<&str> = sudo.clone();
        all.push("apt-get");
        all.extend_from_slice(args);
        let status = Command::new(all[0])
            .args(&all[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("apt-get {} failed", args.join(" ")))
        }
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(packages.iter().copied());
    apt(&args)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Run a command and capture stdout; fail with its stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Build sigctl (release unless `debug`) and return the binary's path.
pub fn build_sigctl(release: bool) -> Result<PathBuf> {
    let mut args = vec!["build", "--quiet", "--package", "sigctl", "--bin", "sigctl"];
    if release {
        args.push("--release");
    }
    run(&cargo(), &args)?;
    Ok(target_dir()
        .join(if release { "release" } else { "debug" })
        .join("sigctl"))
}

/// A throwaway CA in `dir` (ca.key, ca.pem): for demos and benchmarks only.
pub fn throwaway_ca(dir: &std::path::Path, cn: &str) -> Result {
    let subj = format!("/CN={cn}");
    output(Command::new("openssl").current_dir(dir).args([
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
        &subj,
        "-days",
        "365",
        "-out",
        "ca.pem",
    ]))?;
    std::fs::write(
        dir.join("ext.cnf"),
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Have the throwaway CA in `dir` issue a code-signing certificate for
/// `dir/<csr>`, valid `days`, written to `dir/<out>`.
pub fn issue_code_signing(
    dir: &std::path::Path,
    csr: &str,
    out: &str,
    days: u32,
) -> Result<PathBuf> {
    let days = days.to_string();
    output(Command::new("openssl").current_dir(dir).args([
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        &days,
        "-extfile",
        "ext.cnf",
        "-out",
        out,
    ]))?;
    Ok(dir.join(out))
}
