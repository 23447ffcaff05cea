//! The local Sigstore stack and the independent judges of keyless signing.
//!
//! - `cargo xtask sigstore-stack DIR [--port N]`: start `tests/sigstore-stack/stack.js`
//!   detached (its own session, output in `DIR/stack.log`), wait until it
//!   answers, and leave it running: `trusted_root.json`, `signing_config.json`,
//!   `trust_config.json`, `url` and `pid` are in DIR; `kill $(cat DIR/pid)` stops it.
//! - `cargo xtask judges`: the stack's node modules (`npm ci` from the lockfile)
//!   and the workflow tools' (lefthook, @microsoft/sarif-multitool, tests/workflow-tools)
//!   and a virtualenv with sigstore-python (`<target>/judges/venv`), as
//!   `cargo xtask deps` and `ci` install them.
//!
//! Both installs are idempotent: a stamp (the lockfile's or requirements'
//! SHA-256) says what is installed, so a second run costs two file reads.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::util::{self, Result, say};

/// Where the stack's sources and node modules live, from the root.
const STACK_DIR: &str = "tests/sigstore-stack";
/// The pinned sigstore-python and its dependencies.
const REQUIREMENTS: &str = "tests/sigstore-stack/judges-requirements.txt";
/// The judges' virtualenv under the target directory (the tests find it there).
const VENV: &str = "judges/venv";
const STAMP: &str = ".sigctl-stamp";

/// Where the workflow tools (lefthook, Microsoft's SARIF validator) live.
const TOOLS_DIR: &str = "tests/workflow-tools";
/// The SARIF validator's binary, whose exec bit an install script would set.
const SARIF_MULTITOOL: &str = "node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool";

/// Node modules (the stack's, the workflow tools') and the sigstore-python
/// venv, each only when missing or stale.
pub fn install() -> Result {
    check_node()?;
    install_node_modules(STACK_DIR)?;
    install_node_modules(TOOLS_DIR)?;
    // install scripts stay off (lefthook's would write git hooks into this
    // repository); the one script the validator's platform package has is a
    // chmod, done here
    let multitool = util::root().join(TOOLS_DIR).join(SARIF_MULTITOOL);
    if multitool.is_file() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&multitool, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", multitool.display()))?;
    }
    install_venv()
}

/// `cargo xtask judges`
pub fn judges(args: &[String]) -> Result {
    if let Some(a) = args.first() {
        return Err(format!("judges takes no argument (got `{a}`)"));
    }
    install()?;
    say(&format!(
        "sigstore-python: {}\nsigstore-js:     node {}",
        venv().join("bin/sigstore").display(),
        util::root().join(STACK_DIR).join("verify.js").display()
    ));
    Ok(())
}

/// sigstore-python's command in the judges' venv.
pub fn python_judge() -> PathBuf {
    venv().join("bin/sigstore")
}

fn venv() -> PathBuf {
    util::target_dir().join(VENV)
}

fn sha256_hex(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn stamped(dir: &Path, want: &str) -> bool {
    std::fs::read_to_string(dir.join(STAMP)).is_ok_and(|s| s.trim() == want)
}

/// node ^20.17 or ≥ 22.9, as `@sigstore/mock` 0.12.1 and `@sigstore/verify` 3.1.1 ask.
/// node ^20.17 or ≥ 22.9, as `@sigstore/mock` 0.12.1 and `@sigstore/verify`
/// 3.1.1 ask. A machine without one (Debian bookworm's nodejs is 18) gets a
/// private node 20 from the npm registry (the `node` package carries the
/// binary) under the target directory; `util::path_env` puts it first on
/// the PATH of every command xtask runs.
fn check_node() -> Result {
    if node_version_ok("node") {
        return Ok(());
    }
    let local = util::local_node_bin().join("node");
    if !local.exists() {
        if !util::have("npm") {
            util::apt_install(&["nodejs", "npm"])?;
        }
        let prefix = util::target_dir().join("node");
        std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
        say("installing node 20 from the npm registry (the machine's node is missing or too old)");
        util::output(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&prefix)
                .arg(LOCAL_NODE),
        )?;
    }
    if node_version_ok(&local.display().to_string()) {
        Ok(())
    } else {
        Err(format!(
            "no node ^20.17 or >= 22.9 for the local Sigstore stack, and {LOCAL_NODE} from the npm registry did not install one at {}",
            local.display()
        ))
    }
}

/// The node the stack falls back to.
const LOCAL_NODE: &str = "node@20.20.2";

fn node_version_ok(node: &str) -> bool {
    let Ok(out) = util::output(Command::new(node).arg("--version")) else {
        return false;
    };
    let version = out.trim().trim_start_matches('v');
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major == 20 && minor >= 17) || (major == 22 && minor >= 9) || major > 22
}

/// `npm ci` in `dir` (from the root) unless its node_modules match the lockfile.
fn install_node_modules(dir_name: &str) -> Result {
    let dir = util::root().join(dir_name);
    let lock = sha256_hex(&dir.join("package-lock.json"))?;
    let modules = dir.join("node_modules");
    if stamped(&modules, &lock) {
        return Ok(());
    }
    say(&format!("installing {dir_name}'s node modules (npm ci)"));
    let status = Command::new("npm")
        .envs(util::path_env())
        // no install scripts: lefthook's would install git hooks into this
        // repository (its binary comes as a platform package, no script needed)
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(&dir)
        .status()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if !status.success() {
        return Err(format!("npm ci in {dir_name} failed ({status})"));
    }
    std::fs::write(modules.join(STAMP), format!("{lock}\n")).map_err(|e| e.to_string())
}

/// A virtualenv with the pinned sigstore-python, unless it is already there.
fn install_venv() -> Result {
    let requirements = util::root().join(REQUIREMENTS);
    let want = sha256_hex(&requirements)?;
    let venv = venv();
    if stamped(&venv, &want) && venv.join("bin/sigstore").is_file() {
        return Ok(());
    }
    say(&format!(
        "installing sigstore-python into {}",
        venv.display()
    ));
    let _ = std::fs::remove_dir_all(&venv);
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let make = || {
        Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !make() {
        // Debian's python3 has no venv (ensurepip) without python3-venv.
        let _ = std::fs::remove_dir_all(&venv);
        util::apt_install(&["python3-venv"])?;
        if !make() {
            return Err(format!(
                "python3 -m venv {} failed even with python3-venv",
                venv.display()
            ));
        }
    }
    let pip = venv.join("bin/pip");
    let status = Command::new(&pip)
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", pip.display()))?;
    if !status.success() {
        return Err(format!("pip install -r {REQUIREMENTS} failed ({status})"));
    }
    let version = util::output(Command::new(venv.join("bin/sigstore")).arg("--version"))?;
    if !version.contains("4.5.1") {
        return Err(format!(
            "the venv's sigstore says `{}`, not 4.5.1",
            version.trim()
        ));
    }
    std::fs::write(venv.join(STAMP), format!("{want}\n")).map_err(|e| e.to_string())
}

/// `cargo xtask sigstore-stack DIR [--port N]`
pub fn run(args: &[String]) -> Result {
    let mut dir = None;
    let mut port = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => {
                let p = it.next().ok_or("--port needs a number")?;
                p.parse::<u16>()
                    .map_err(|_| format!("--port: `{p}` is not a port"))?;
                port = Some(p.clone());
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if dir.is_none() => dir = Some(PathBuf::from(s)),
            s => return Err(format!("one DIR only (got `{s}` too)")),
        }
    }
    let dir = dir.ok_or("usage: cargo xtask sigstore-stack DIR [--port N]")?;
    let url = start(&dir, port.as_deref())?;
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let pid = std::fs::read_to_string(dir.join("pid")).unwrap_or_default();
    say(&format!(
        "local Sigstore stack at {url} (pid {})\n  {}\n  {}\n  {}\nstop it with: kill $(cat {})",
        pid.trim(),
        dir.join("trusted_root.json").display(),
        dir.join("signing_config.json").display(),
        dir.join("trust_config.json").display(),
        dir.join("pid").display()
    ));
    Ok(())
}

/// Start the stack detached (its own session; output in `dir/stack.log`)
/// writing its files into `dir`, and return its URL once it answers.
/// `kill $(cat dir/pid)` stops it.
pub fn start(dir: &Path, port: Option<&str>) -> Result<String> {
    check_node()?;
    install_node_modules(STACK_DIR)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    for stale in ["url", "pid"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    let log = std::fs::File::create(dir.join("stack.log")).map_err(|e| e.to_string())?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new("setsid");
    cmd.envs(util::path_env());
    cmd.arg("node")
        .arg(util::root().join(STACK_DIR).join("stack.js"))
        .arg(&dir);
    if let Some(p) = port {
        cmd.args(["--port", p]);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start the stack (setsid node): {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        if let Ok(url) = std::fs::read_to_string(dir.join("url"))
            && answers(url.trim())
        {
            break url.trim().to_owned();
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("stack.log")).unwrap_or_default();
            return Err(format!("the stack exited ({status}):\n{log}"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the stack did not answer within 30 s; see {}",
                dir.join("stack.log").display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ok(url)
}

/// GET {url}/control: the stack's state (faults, request counts, the
/// milliseconds each service spent answering).
pub fn control_state(url: &str) -> Result<serde_json::Value> {
    let addr = url.strip_prefix("http://").ok_or("not an http URL")?;
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    // HTTP/1.0: the body comes whole, not chunked
    let request = format!("GET /control HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or("no HTTP body")?;
    serde_json::from_str(body).map_err(|e| format!("the stack's state: {e}"))
}

/// Whether GET {url}/control answers 200.
fn answers(url: &str) -> bool {
    let Some(addr) = url.strip_prefix("http://") else {
        return false;
    };
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /control HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.1 200")
}
