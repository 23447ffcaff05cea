//! The local Sigstore stack (`tests/sigstore-stack/stack.js`: Fulcio, Rekor,
//! two TSAs and token routes on loopback) and the independent judges of what
//! is signed against it: sigstore-python 4.5.1, sigstore-js
//! (`@sigstore/verify` 3.1.1) and `openssl ts`.
//!
//! One stack per test process, started on first use ([`stack`]) and ended
//! when the process ends (it exits when its stdin, held here, closes). Its
//! root port is shared by every test and never faulted; a test that injects
//! faults takes a [`Scope`] of its own: another port onto the same CA, logs
//! and TSAs, with its own faults, counters and signing configs.
//!
//! Nothing here skips: without node, the stack's node modules or the
//! sigstore-python venv the helpers panic and say to run `cargo xtask deps`.
//!
//! `openssl ts -verify` against either TSA:
//!
//! ```text
//! openssl ts -verify -in REPLY.tsr -queryfile QUERY.tsq -CAfile ROOT.pem -untrusted LEAF.pem
//! openssl ts -verify -in REPLY.tsr -digest HEX -CAfile ROOT.pem -untrusted LEAF.pem
//! ```
//!
//! with `ROOT.pem`/`LEAF.pem` from [`Stack::tsa_chain`]: [`openssl_ts_verify_reply`],
//! [`openssl_ts_verify_digest`]. A bundle's `rfc3161Timestamps[].signedTimestamp`
//! is such a REPLY (a whole DER TimeStampResp, status and token); the digest
//! it stamps is the SHA-256 of the signature bytes. (A bare token, as CMS
//! carries it in an unsigned attribute, takes `-token_in`.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Run;

/// The stack's sources and node modules.
pub const STACK_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sigstore-stack");

/// An OIDC issuer for minted tokens (nothing is fetched from it).
pub const TEST_ISSUER: &str = "https://oidc.example.test";
/// GitHub Actions' issuer, which the /gha route's tokens carry.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

const FIX: &str = "run `cargo xtask deps` (or `cargo xtask judges`) first";

// ------------------------------------------------------------------ the stack

/// The shared stack.
pub struct Stack {
    /// `http://127.0.0.1:PORT`, the root scope (never faulted).
    pub url: String,
    /// Where its files are (trusted_root.json, …).
    pub dir: PathBuf,
    process: Mutex<StackProcess>,
}

/// A running `stack.js` whose stdin this process holds.
pub struct StackProcess {
    pub child: Child,
    stdin: Option<ChildStdin>,
    pub url: String,
    pub dir: PathBuf,
}

impl StackProcess {
    /// Start `stack.js` writing into `dir`; returns once it serves.
    /// Panics (with its stderr) when node or the node modules are missing or
    /// it does not come up within 60 s.
    pub fn start(dir: &Path) -> Self {
        require_node_modules();
        std::fs::create_dir_all(dir).expect("stack dir");
        let log = dir.join("stack.log");
        let mut child = Command::new("node")
            .arg(Path::new(STACK_SRC).join("stack.js"))
            .arg(dir)
            .arg("--exit-with-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("stack.log"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run node ({e}): the Sigstore stack needs node 20.17+; {FIX}")
            });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the Sigstore stack did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        let url = ready["url"].as_str().expect("url").to_owned();
        Self {
            stdin: child.stdin.take(),
            child,
            url,
            dir: dir.to_path_buf(),
        }
    }

    /// Close the stack's stdin, as the end of this process would.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }
}

static STACK: OnceLock<Stack> = OnceLock::new();

/// The stack of this test process, started on first use.
pub fn stack() -> &'static Stack {
    STACK.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sigstore-stack");
        remove_dead_stacks(&base);
        let dir = base.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        let process = StackProcess::start(&dir);
        Stack {
            url: process.url.clone(),
            dir,
            process: Mutex::new(process),
        }
    })
}

/// Directories of stacks whose test process is gone (named by its pid).
fn remove_dead_stacks(base: &Path) {
    for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let name = entry.file_name();
        if let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok())
            && pid != std::process::id()
            && !Path::new("/proc").join(pid.to_string()).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn require_node_modules() {
    let modules = Path::new(STACK_SRC).join("node_modules/@sigstore/mock");
    assert!(
        modules.is_dir(),
        "{} is missing: the Sigstore stack's node modules are not installed; {FIX}",
        modules.display()
    );
}

/// One of the two TSAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tsa {
    /// `@sigstore/mock`'s TSA at `/api/v1/timestamp` (in `signing_config.json`).
    Mock,
    /// The real `openssl ts -reply` at `/openssl-tsa/api/v1/timestamp`
    /// (in `signing_config_openssl_tsa.json`).
    Openssl,
}

impl Tsa {
    pub fn path(self) -> &'static str {
        match self {
            Tsa::Mock => "/api/v1/timestamp",
            Tsa::Openssl => "/openssl-tsa/api/v1/timestamp",
        }
    }
}

/// A TSA's certificates as PEM files: the signer and the root.
#[derive(Debug, Clone)]
pub struct TsaChain {
    pub leaf: PathBuf,
    pub root: PathBuf,
}

impl Stack {
    pub fn url(&self) -> &str {
        &self.url
    }
    pub fn trusted_root(&self) -> PathBuf {
        self.dir.join("trusted_root.json")
    }
    /// Fulcio, Rekor, the mock TSA and the OIDC routes of the root scope.
    pub fn signing_config(&self) -> PathBuf {
        self.dir.join("signing_config.json")
    }
    /// The same with the openssl TSA.
    pub fn signing_config_openssl_tsa(&self) -> PathBuf {
        self.dir.join("signing_config_openssl_tsa.json")
    }
    /// sigstore-python's `--trust-config`: the trusted root and `signing_config.json`.
    pub fn trust_config(&self) -> PathBuf {
        self.dir.join("trust_config.json")
    }
    /// The Fulcio root certificate (PEM), for openssl.
    pub fn fulcio_root_pem(&self) -> PathBuf {
        self.dir.join("fulcio_root.pem")
    }
    pub fn tsa_chain(&self, tsa: Tsa) -> TsaChain {
        let d = self.dir.join(match tsa {
            Tsa::Mock => "mock-tsa",
            Tsa::Openssl => "openssl-tsa",
        });
        TsaChain {
            leaf: d.join("leaf.pem"),
            root: d.join("root.pem"),
        }
    }
    /// The stack's process id.
    pub fn pid(&self) -> u32 {
        self.process.lock().map_or(0, |p| p.child.id())
    }

    /// A new scope: another port with its own faults, counters and trust
    /// files (signing configs naming its port). `label` shows in its name.
    pub fn scope(&self, label: &str) -> Scope {
        let created = http_json(
            "POST",
            &format!("{}/scopes", self.url),
            &json!({ "label": label }),
        );
        let url = created["url"].as_str().expect("scope url").to_owned();
        let name = created["scope"].as_str().expect("scope name").to_owned();
        let dir = tempfile::tempdir().expect("scope dir");
        let rewrite = |v: &mut Value| {
            for key in ["caUrls", "oidcUrls", "rekorTlogUrls", "tsaUrls"] {
                for service in v[key].as_array_mut().into_iter().flatten() {
                    let u = service["url"]
                        .as_str()
                        .expect("url")
                        .replace(&self.url, &url);
                    service["url"] = Value::String(u);
                }
            }
        };
        let read = |p: PathBuf| -> Value {
            serde_json::from_slice(&std::fs::read(&p).expect("stack file")).expect("JSON")
        };
        let write = |name: &str, v: &Value| {
            std::fs::write(
                dir.path().join(name),
                serde_json::to_vec_pretty(v).expect("JSON"),
            )
            .expect("write");
        };
        let mut sc = read(self.signing_config());
        rewrite(&mut sc);
        let mut sc_ossl = read(self.signing_config_openssl_tsa());
        rewrite(&mut sc_ossl);
        let mut tc = read(self.trust_config());
        tc["signingConfig"] = sc.clone();
        let mut tc_ossl = tc.clone();
        tc_ossl["signingConfig"] = sc_ossl.clone();
        write("signing_config.json", &sc);
        write("signing_config_openssl_tsa.json", &sc_ossl);
        write("trust_config.json", &tc);
        write("trust_config_openssl_tsa.json", &tc_ossl);
        Scope { name, url, dir }
    }
}

// ------------------------------------------------------------------ scopes and faults

/// A service of the stack, as faults name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Fulcio,
    Rekor,
    /// The mock TSA.
    Tsa,
    /// The openssl TSA.
    OpensslTsa,
    /// /gha, /auth, /token, /keys, discovery.
    Oidc,
}

impl Service {
    pub fn key(self) -> &'static str {
        match self {
            Service::Fulcio => "fulcio",
            Service::Rekor => "rekor",
            Service::Tsa => "tsa",
            Service::OpensslTsa => "openssl_tsa",
            Service::Oidc => "oidc",
        }
    }
}

/// How a service misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ok,
    /// The connection is closed without an answer.
    Down,
    /// HTTP 503.
    Unavailable,
    /// The answer comes after `slow_secs` (default 60 s).
    Slow,
    /// HTTP 200 with bytes that are neither JSON nor DER.
    Garbage,
    /// A valid-looking answer about something else: Fulcio certifies another
    /// key, Rekor logs another body, a TSA stamps other bytes (not for Oidc).
    Mismatch,
}

impl Mode {
    pub fn key(self) -> &'static str {
        match self {
            Mode::Ok => "ok",
            Mode::Down => "down",
            Mode::Unavailable => "unavailable",
            Mode::Slow => "slow",
            Mode::Garbage => "garbage",
            Mode::Mismatch => "mismatch",
        }
    }
}

/// A port of the stack of one's own. Its files name its port.
pub struct Scope {
    pub name: String,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    dir: tempfile::TempDir,
}

impl Scope {
    pub fn url(&self) -> &str {
        &self.url
    }
    /// Signing config v0.2 with this scope's Fulcio, Rekor, mock TSA, OIDC.
    pub fn signing_config(&self) -> PathBuf {
        self.dir.path().join("signing_config.json")
    }
    /// The same with the openssl TSA.
    pub fn signing_config_openssl_tsa(&self) -> PathBuf {
        self.dir.path().join("signing_config_openssl_tsa.json")
    }
    /// sigstore-python's `--trust-config` for signing through this scope.
    pub fn trust_config(&self) -> PathBuf {
        self.dir.path().join("trust_config.json")
    }
    pub fn trust_config_openssl_tsa(&self) -> PathBuf {
        self.dir.path().join("trust_config_openssl_tsa.json")
    }
    /// ACTIONS_ID_TOKEN_REQUEST_URL: claims may be added as query parameters.
    pub fn gha_url(&self) -> String {
        format!("{}/gha", self.url)
    }
    /// The Dex-style issuer: `/auth` and `/token` below it (the signing config's oidcUrls).
    pub fn oidc_url(&self) -> String {
        self.url.clone()
    }
    /// POST /control; panics unless the stack accepts it. Returns the new state.
    pub fn control(&self, body: &Value) -> Value {
        http_json("POST", &format!("{}/control", self.url), body)
    }
    /// GET /control: faults, slow_secs, request counters.
    pub fn state(&self) -> Value {
        let r =
            http("GET", &format!("{}/control", self.url), &[], b"", TIMEOUT).expect("GET /control");
        assert_eq!(r.status, 200, "GET /control: {}", r.text());
        serde_json::from_slice(&r.body).expect("control JSON")
    }
    pub fn fault(&self, service: Service, mode: Mode) {
        self.control(&json!({ service.key(): mode.key() }));
    }
    /// How long `Mode::Slow` waits before answering.
    pub fn slow_secs(&self, secs: f64) {
        self.control(&json!({ "slow_secs": secs }));
    }
    /// Every service ok, counters zero, no registered tokens or claims.
    pub fn reset(&self) {
        self.control(&json!({ "reset": true }));
    }
    /// Requests `service` received in this scope.
    pub fn requests(&self, service: Service) -> u64 {
        self.state()["requests"][service.key()]
            .as_u64()
            .expect("counter")
    }
    /// What /gha returns instead of a minted token (None: mint again).
    pub fn set_gha_token(&self, jwt: Option<&str>) {
        self.control(&json!({ "gha_token": jwt }));
    }
    /// What /token returns as id_token instead of a minted one.
    pub fn set_id_token(&self, jwt: Option<&str>) {
        self.control(&json!({ "id_token": jwt }));
    }
    /// Claims added to every token /gha and /token mint.
    pub fn set_claims(&self, claims: &Value) {
        self.control(&json!({ "claims": claims }));
    }
}

// ------------------------------------------------------------------ tokens

/// Seconds since the epoch (tokens live in real time: the stack checks `exp`).
pub fn now() -> i64 {
    use sigctl::clock::Clock;
    sigctl::clock::SystemClock.now().unix_timestamp()
}

/// Whose token: an email (`email`, `email_verified`, an opaque `sub`), or a
/// bare subject (`sub` only: Fulcio certifies it as a URI).
#[derive(Debug, Clone, Copy)]
pub enum Identity<'a> {
    Email(&'a str),
    Subject(&'a str),
}

/// An ES256 JWT with exactly these claims (a fixed test key: nothing checks it).
pub fn mint_jwt(claims: &Value) -> String {
    use p256::ecdsa::signature::Signer as _;
    let key = p256::ecdsa::SigningKey::from_slice(&[0x5a; 32]).expect("a P-256 scalar");
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": "sigctl-test" });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

/// An identity token as an OIDC provider would issue it to `identity`:
/// `iss`, `aud`, `iat` and `nbf` now, `exp`.
pub fn mint_token(issuer: &str, identity: Identity<'_>, audience: &str, exp: i64) -> String {
    let t = now();
    let mut claims = json!({ "iss": issuer, "aud": audience, "iat": t, "nbf": t, "exp": exp });
    match identity {
        Identity::Email(email) => {
            let opaque = hex(&Sha256::digest(email.as_bytes())[..12]);
            claims["sub"] = Value::String(opaque);
            claims["email"] = Value::String(email.to_owned());
            claims["email_verified"] = Value::Bool(true);
        }
        Identity::Subject(sub) => claims["sub"] = Value::String(sub.to_owned()),
    }
    mint_jwt(&claims)
}

/// A token for `email` from [`TEST_ISSUER`], audience `sigstore`, valid ten minutes.
pub fn email_token(email: &str) -> String {
    mint_token(TEST_ISSUER, Identity::Email(email), "sigstore", now() + 600)
}

/// The claims of a JWT (unverified).
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------------ judges

/// The sigstore-python virtualenv `cargo xtask deps` makes (`<target>/judges/venv`).
pub fn venv() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("judges/venv")
}

/// Run the venv's `sigstore` with `args` and `env`; panics when the venv is missing.
pub fn sigstore_python(args: &[&str], env: &[(&str, &str)]) -> Run {
    let bin = venv().join("bin/sigstore");
    assert!(
        bin.is_file(),
        "{} is missing: sigstore-python 4.5.1 is not installed; {FIX}",
        bin.display()
    );
    let mut cmd = Command::new(&bin);
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200")
        .env_remove("SIGSTORE_IDENTITY_TOKEN")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from(cmd.output().expect("sigstore-python runs"))
}

/// `sigstore --trust-config TC sign --bundle BUNDLE FILE` with `token`
/// (through SIGSTORE_IDENTITY_TOKEN, never argv).
pub fn python_sign(trust_config: &Path, token: &str, file: &Path, bundle: &Path) -> Run {
    sigstore_python(
        &[
            "--trust-config",
            path_str(trust_config),
            "sign",
            "--overwrite",
            "--bundle",
            path_str(bundle),
            path_str(file),
        ],
        &[("SIGSTORE_IDENTITY_TOKEN", token)],
    )
}

/// `sigstore --trust-config <the stack's> verify identity --offline`:
/// `artifact` is a path or `sha256:<hex>`.
pub fn python_verify_identity(bundle: &Path, artifact: &str, identity: &str, issuer: &str) -> Run {
    python_verify_identity_with(&stack().trust_config(), bundle, artifact, identity, issuer)
}

/// The same against another trust config.
pub fn python_verify_identity_with(
    trust_config: &Path,
    bundle: &Path,
    artifact: &str,
    identity: &str,
    issuer: &str,
) -> Run {
    sigstore_python(
        &[
            "--trust-config",
            path_str(trust_config),
            "verify",
            "identity",
            "--offline",
            "--cert-identity",
            identity,
            "--cert-oidc-issuer",
            issuer,
            "--bundle",
            path_str(bundle),
            artifact,
        ],
        &[],
    )
}

/// The least verified evidence sigstore-js demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub tlog: u32,
    pub ctlog: u32,
    pub timestamp: u32,
}

impl Thresholds {
    /// sigstore-js's defaults: a log entry, an SCT, a verified time.
    pub const KEYLESS: Thresholds = Thresholds {
        tlog: 1,
        ctlog: 1,
        timestamp: 1,
    };
    /// A certificate and an RFC 3161 timestamp, no log (HSM + TSA bundles).
    pub const TSA_ONLY: Thresholds = Thresholds {
        tlog: 0,
        ctlog: 0,
        timestamp: 1,
    };
}

/// `node verify.js`: @sigstore/verify 3.1.1 offline against `trusted_root`.
pub fn js_verify(
    bundle: &Path,
    artifact: &Path,
    trusted_root: &Path,
    thresholds: Thresholds,
) -> Run {
    js_verify_run(bundle, artifact, trusted_root, thresholds, None)
}

/// The same, requiring the certificate's SAN and OIDC issuer.
pub fn js_verify_identity(
    bundle: &Path,
    artifact: &Path,
    trusted_root: &Path,
    thresholds: Thresholds,
    identity: &str,
    issuer: &str,
) -> Run {
    js_verify_run(
        bundle,
        artifact,
        trusted_root,
        thresholds,
        Some((identity, issuer)),
    )
}

fn js_verify_run(
    bundle: &Path,
    artifact: &Path,
    trusted_root: &Path,
    t: Thresholds,
    identity: Option<(&str, &str)>,
) -> Run {
    require_node_modules();
    let mut cmd = Command::new("node");
    cmd.arg(Path::new(STACK_SRC).join("verify.js"))
        .arg("--bundle")
        .arg(bundle)
        .arg("--trusted-root")
        .arg(trusted_root)
        .arg("--artifact")
        .arg(artifact)
        .args(["--tlog", &t.tlog.to_string()])
        .args(["--ctlog", &t.ctlog.to_string()])
        .args(["--timestamp", &t.timestamp.to_string()]);
    if let Some((id, iss)) = identity {
        cmd.args(["--identity", id, "--issuer", iss]);
    }
    Run::from(cmd.output().expect("node runs verify.js"))
}

/// `openssl ts -verify` of a TimeStampResp against its query and a TSA chain.
pub fn openssl_ts_verify_reply(reply: &Path, query: &Path, chain: &TsaChain) -> Run {
    openssl_run(&[
        "ts",
        "-verify",
        "-in",
        path_str(reply),
        "-queryfile",
        path_str(query),
        "-CAfile",
        path_str(&chain.root),
        "-untrusted",
        path_str(&chain.leaf),
    ])
}

/// `openssl ts -verify` of a TimeStampResp (DER, as a bundle's
/// `signedTimestamp`) over a digest given in hex.
pub fn openssl_ts_verify_digest(reply: &Path, digest_hex: &str, chain: &TsaChain) -> Run {
    openssl_run(&[
        "ts",
        "-verify",
        "-in",
        path_str(reply),
        "-digest",
        digest_hex,
        "-CAfile",
        path_str(&chain.root),
        "-untrusted",
        path_str(&chain.leaf),
    ])
}

fn openssl_run(args: &[&str]) -> Run {
    Run::from(
        Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs"),
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

// ------------------------------------------------------------------ HTTP

const TIMEOUT: Duration = Duration::from_secs(20);

/// An HTTP answer.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One HTTP/1.1 request to a loopback `http://` URL, `Connection: close`.
/// An error when the connection fails, closes without an answer or times out.
pub fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<HttpReply> {
    use std::io::{Error, ErrorKind};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| Error::new(ErrorKind::InvalidInput, "http:// only"))?;
    let (host, path) = rest
        .find('/')
        .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let mut s = TcpStream::connect(host)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| Error::new(ErrorKind::UnexpectedEof, "no HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| Error::new(ErrorKind::InvalidData, "bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Ok(HttpReply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..i])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || b.len() < i + 2 + size {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[(i + 4 + size).min(b.len())..];
    }
    out
}

/// POST or GET JSON; panics unless 2xx. Returns the JSON answer.
pub fn http_json(method: &str, url: &str, body: &Value) -> Value {
    let bytes = if method == "GET" {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let r = http(
        method,
        url,
        &[("Content-Type", "application/json")],
        &bytes,
        TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    assert!(
        (200..300).contains(&r.status),
        "{method} {url}: {} {}",
        r.status,
        r.text()
    );
    r.json()
}
