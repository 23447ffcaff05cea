//! The HTML reports (`inventory --format html`, `audit --format html`): a
//! snapshot of a small inventory, hostile strings that stay text, and the
//! pages opened in a real headless browser (Debian's `chromium`): the page
//! renders (the DOM the browser built has the title and one `cert-bar` per
//! certificate), the browser's console logged nothing, and the page asked
//! for nothing over the network (chromium's own net log). Two control pages
//! prove those two detectors see what they look for.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sigctl::inventory::model::Inventory;
use sigctl::render::inventory_html;

use crate::util::hsm;

/// Three identities of two owners in two repositories, five certificates
/// (one expired, one in its renewal window, one not yet in it, one without
/// dates, one renewed), an overdue and an open exception, findings.
fn sample() -> Inventory {
    let cert =
        |path: &str, nb: Option<&str>, na: Option<&str>, renew: Option<&str>, status: &str| {
            json!({
                "path": path, "subject": format!("CN={path}"), "issuer": "CN=Example CA",
                "serial": "0a1b", "fingerprint_sha256": null,
                "not_before": nb, "not_after": na, "renew_from": renew, "status": status
            })
        };
    let identity = |repo: &str,
                    name: &str,
                    owner: &str,
                    contact: Option<&str>,
                    envs: &[&str],
                    custody: &str,
                    certs: Vec<Value>,
                    days: Option<i64>,
                    status: &[&str]| {
        json!({
            "repository": repo, "name": name, "owner": owner, "contact": contact,
            "purpose": null, "environments": envs, "classes": [], "custody": custody,
            "key_reference": null, "key_fingerprint": null, "certificates": certs,
            "days_to_expiry": days, "renewal_due": null, "last_used": "2026-10-30T09:00:00Z",
            "events_90d": 4, "status": status
        })
    };
    let v = json!({
        "format": "sigctl-inventory",
        "version": 1,
        "generated_at": "2026-11-01T12:00:00Z",
        "repositories": [
            {"path": "repos/app", "head": "0123456789abcdef0123", "policy_blob": "fedcba9876543210fedc",
             "status": "ok", "identities": 2},
            {"path": "repos/lib", "head": null, "policy_blob": null, "status": "ok", "identities": 1}
        ],
        "identities": [
            identity("repos/app", "release", "release-team", Some("https://example.com/release-team"),
                &["prod"], "hsm",
                vec![
                    cert("certs/release-2025.pem", Some("2025-09-01T00:00:00Z"), Some("2026-09-01T00:00:00Z"),
                         Some("2026-08-02T00:00:00Z"), "expired"),
                    cert("certs/release.pem", Some("2026-08-15T00:00:00Z"), Some("2027-08-15T00:00:00Z"),
                         Some("2027-07-16T00:00:00Z"), "valid"),
                ],
                Some(286), &["ok"]),
            identity("repos/app", "nightly", "release-team", Some("https://example.com/release-team"),
                &["dev", "prod"], "hsm",
                vec![cert("certs/nightly.pem", Some("2026-02-01T00:00:00Z"), Some("2026-11-20T00:00:00Z"),
                          Some("2026-10-21T00:00:00Z"), "renewal-due")],
                Some(18), &["renew-due"]),
            identity("repos/lib", "lib-release", "lib-team", None, &["prod"], "hsm",
                vec![
                    cert("certs/lib.pem", Some("2026-06-01T00:00:00Z"), Some("2027-03-01T00:00:00Z"),
                         Some("2027-01-30T00:00:00Z"), "valid"),
                    cert("certs/broken.pem", None, None, None, "unreadable"),
                ],
                Some(119), &["ok"]),
        ],
        "exceptions": [
            {"repository": "repos/app", "id": "EX-7", "identity": "nightly", "environments": ["prod"],
             "owner": "release-team", "approved_by": ["ciso"], "reason": "token replacement in progress",
             "expires": "2026-10-15T00:00:00Z", "days_left": -17, "review": "https://example.com/issues/7"},
            {"repository": "repos/lib", "id": "EX-9", "identity": "lib-release", "environments": ["prod"],
             "owner": "lib-team", "approved_by": ["ciso", "cto"], "reason": "vendor audit",
             "expires": "2026-12-01T00:00:00Z", "days_left": 29, "review": null}
        ],
        "suppliers": [],
        "findings": [
            {"severity": "warning", "code": "certificate-renewal-due",
             "message": "the certificate of `nightly` is due for renewal", "repositories": ["repos/app"],
             "identities": ["nightly"], "control": "OWASP NHI7:2025 Long-Lived Secrets"},
            {"severity": "error", "code": "exception-overdue",
             "message": "exception EX-7 expired 17 days ago", "repositories": ["repos/app"],
             "identities": ["nightly"], "control": "NIST CSF 2.0 PR.AA-05"}
        ]
    });
    serde_json::from_value(v).expect("the sample is an inventory")
}

/// The sample's certificates with both dates: the bars the timeline draws.
const SAMPLE_BARS: usize = 4;

fn redact_version(page: &str) -> String {
    page.replace(
        concat!("sigctl ", env!("CARGO_PKG_VERSION")),
        "sigctl [VERSION]",
    )
}

#[test]
fn a_small_inventory_page() {
    let page = inventory_html::render(&sample());
    assert_eq!(page, inventory_html::render(&sample()), "deterministic");
    assert_eq!(
        page.matches("<rect class=\"cert-bar\"").count(),
        SAMPLE_BARS
    );
    insta::assert_snapshot!(redact_version(&page));
}

/// Policy strings that try to become markup, script or a link.
#[test]
fn hostile_strings_stay_text() {
    let mut inv = sample();
    let script = "</script><script>alert(1)</script>";
    let img = "\"><img src=x onerror=alert(1)>";
    inv.identities[0].name = script.into();
    inv.identities[0].owner = img.into();
    inv.identities[0].contact = Some("javascript:alert(document.domain)".into());
    inv.identities[0].certificates[0].path = format!("{img}.pem");
    inv.exceptions[0].reason = format!("<style>body{{display:none}}</style>{script}");
    inv.exceptions[0].review = Some("JavaScript:fetch('https://evil.example')".into());
    inv.exceptions[1].review = Some("data:text/html,<script>alert(1)</script>".into());
    inv.findings[0].message = "<a href=\"https://evil.example\">click</a>".into();
    let page = inventory_html::render(&inv);
    for tag in [
        "<script",
        "<img",
        "<style>body",
        "<a href=\"https://evil",
        "<a href=\"javascript",
        "<a href=\"data",
    ] {
        assert!(
            !page.to_lowercase().contains(&tag.to_lowercase()),
            "{tag} in the page"
        );
    }
    // the hostile strings are there, as text
    assert!(page.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("data-certificate=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.pem\""));
    assert!(page.contains("javascript:alert(document.domain)"));
    // the only link left is the one https URL: release-team's contact
    assert_eq!(page.matches("<a href=").count(), 1, "{page}");
    assert!(page.contains("<a href=\"https://example.com/release-team\""));

    // and the browser agrees: no element it built came from those strings
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("hostile.html");
    std::fs::write(&file, &page).expect("write the page");
    let run = Chromium::dump_dom(&file, dir.path());
    run.assert_clean();
    for tag in ["<script", "<img", "<a href=\"javascript", "<a href=\"data"] {
        assert!(
            !run.dom.to_lowercase().contains(tag),
            "{tag} in the DOM:\n{}",
            run.dom
        );
    }
    assert_eq!(
        run.dom.matches("<rect class=\"cert-bar\"").count(),
        SAMPLE_BARS
    );
}

#[test]
fn the_inventory_page_renders_in_a_browser_without_errors_or_network() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("inventory.html");
    std::fs::write(&file, inventory_html::render(&sample())).expect("write the page");
    let run = Chromium::dump_dom(&file, dir.path());
    run.assert_clean();
    assert!(
        run.dom.contains("<title>sigctl inventory</title>"),
        "{}",
        run.dom
    );
    assert!(run.dom.contains("<h1>sigctl inventory</h1>"));
    // one bar per certificate with dates, named after it, and its window
    let bars: Vec<&str> = run
        .dom
        .match_indices("<rect class=\"cert-bar\"")
        .map(|(i, _)| &run.dom[i..])
        .collect();
    assert_eq!(bars.len(), SAMPLE_BARS, "{}", run.dom);
    for (identity, path) in [
        ("release", "certs/release-2025.pem"),
        ("release", "certs/release.pem"),
        ("nightly", "certs/nightly.pem"),
        ("lib-release", "certs/lib.pem"),
    ] {
        let attrs = format!("data-identity=\"{identity}\" data-certificate=\"{path}\"");
        assert_eq!(run.dom.matches(&attrs).count(), 1, "{attrs}");
    }
    assert_eq!(
        run.dom.matches("<rect class=\"renew-window\"").count(),
        SAMPLE_BARS
    );
    assert!(run.dom.contains("<line class=\"today\""));
    assert!(run.dom.contains("<tr class=\"overdue\"><td>EX-7</td>"));
    // the certificate without dates is listed, not drawn
    assert!(run.dom.contains("certs/broken.pem"));

    // a screenshot, as the demo takes one for the README
    let png = dir.path().join("inventory.png");
    let shot = Chromium::screenshot(&file, &png, dir.path());
    shot.assert_clean();
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(240), "{took:?}");
}

#[test]
fn the_audit_page_of_a_real_repository_renders_in_a_browser() {
    let s = hsm::setup();
    let json = s.hsm.sigctl(&s.repo, &["audit", "--format", "json"]);
    let audit: Value = json.json();
    // one bar per certificate every identity lists
    let with_certificate: usize = audit["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .map(|i| i["certificates"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(with_certificate >= 1, "{audit:#}");
    let head = audit["head"].as_str().expect("head").to_owned();

    let html = s.hsm.sigctl(&s.repo, &["audit", "--format", "html"]);
    assert_eq!(html.code, json.code, "{}", html.stderr);
    assert!(html.stdout.starts_with("<!DOCTYPE html>"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("audit.html");
    std::fs::write(&file, &html.stdout).expect("write the page");
    let run = Chromium::dump_dom(&file, dir.path());
    run.assert_clean();
    let title = format!("<title>sigctl audit of {}</title>", &head[..12]);
    assert!(run.dom.contains(&title), "{title} not in\n{}", run.dom);
    assert_eq!(
        run.dom.matches("<rect class=\"cert-bar\"").count(),
        with_certificate,
        "{}",
        run.dom
    );
    assert!(
        run.dom
            .contains("data-identity=\"release\" data-certificate=\"certs/release.pem\"")
    );
    assert!(
        run.dom
            .contains("<h2>Identities by owner and environment</h2>")
    );
}

/// The detectors the tests above rely on see what they look for: a page
/// without the CSP that loads an image from the network and logs an error,
/// and a page whose CSP blocks a load.
#[test]
fn the_browser_checks_catch_console_errors_and_network_requests() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let loose = dir.path().join("loose.html");
    std::fs::write(
        &loose,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>loose</title></head><body>\
         <img src=\"http://sigctl-test.invalid/x.png\"><script>console.error(\"boom\")</script></body></html>",
    )
    .expect("write");
    let run = Chromium::dump_dom(&loose, dir.path());
    assert!(
        run.console.iter().any(|l| l.contains("boom")),
        "{}",
        run.stderr
    );
    assert!(
        run.page_requests
            .iter()
            .any(|u| u.contains("sigctl-test.invalid")),
        "{:?}",
        run.page_requests
    );

    let strict = dir.path().join("strict.html");
    std::fs::write(
        &strict,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"><title>strict</title></head>\
         <body><img src=\"http://sigctl-test.invalid/x.png\"></body></html>",
    )
    .expect("write");
    let run = Chromium::dump_dom(&strict, dir.path());
    assert!(
        run.console
            .iter()
            .any(|l| l.contains("Content Security Policy")),
        "{}",
        run.stderr
    );
    assert!(run.page_requests.is_empty(), "{:?}", run.page_requests);
}

/// What one chromium run showed.
struct Chromium {
    /// `--dump-dom`: the DOM as the browser built it, serialised.
    dom: String,
    stderr: String,
    /// The page's console messages (chromium logs each as a `…:CONSOLE…]` line).
    console: Vec<String>,
    /// URLs the page asked the network for (its net log's requests started
    /// from the `file://` page, not the browser's own).
    page_requests: Vec<String>,
}

/// Generous: a cold chromium on a loaded two-core machine.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

impl Chromium {
    fn dump_dom(page: &Path, work: &Path) -> Self {
        Self::run(page, work, &["--dump-dom".to_owned()])
    }

    fn screenshot(page: &Path, png: &Path, work: &Path) -> Self {
        Self::run(
            page,
            work,
            &[
                format!("--screenshot={}", png.display()),
                "--window-size=1280,1600".to_owned(),
                "--hide-scrollbars".to_owned(),
            ],
        )
    }

    fn run(page: &Path, work: &Path, action: &[String]) -> Self {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let scratch: PathBuf = work.join(format!("chromium-{n}"));
        std::fs::create_dir_all(scratch.join("home")).expect("chromium's scratch directory");
        let netlog = scratch.join("net.json");
        let mut cmd = Command::new("chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            // nothing leaves the machine even if something tried
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.join("profile").display()
        ))
        .arg(format!("--log-net-log={}", netlog.display()))
        .args(action)
        .arg(format!("file://{}", page.display()))
        .env("HOME", scratch.join("home"))
        .env_remove("DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::from(
            std::fs::File::create(scratch.join("stdout")).expect("stdout file"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(scratch.join("stderr")).expect("stderr file"),
        ));
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!(
                    "chromium is not installed: run `cargo xtask deps` (Debian package `chromium`)"
                )
            }
            Err(e) => panic!("cannot start chromium: {e}"),
        };
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for chromium") {
                break status;
            }
            if started.elapsed() > BROWSER_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "chromium did not finish in {BROWSER_TIMEOUT:?}:\n{}",
                    std::fs::read_to_string(scratch.join("stderr")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let dom = std::fs::read_to_string(scratch.join("stdout")).unwrap_or_default();
        let stderr = std::fs::read_to_string(scratch.join("stderr")).unwrap_or_default();
        assert!(status.success(), "chromium failed ({status}):\n{stderr}");
        let console = stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect();
        let page_requests = page_requests(&netlog);
        Self {
            dom,
            stderr,
            console,
            page_requests,
        }
    }

    /// Nothing on the console (no script error, no CSP violation, no
    /// warning of any kind), no request from the page, and chromium said
    /// nothing that looks like a page error.
    fn assert_clean(&self) {
        assert!(
            self.console.is_empty(),
            "console messages:\n{}",
            self.console.join("\n")
        );
        assert!(
            !self.stderr.contains("Uncaught") && !self.stderr.contains("Content Security Policy"),
            "{}",
            self.stderr
        );
        assert!(
            self.page_requests.is_empty(),
            "the page asked for {:?}",
            self.page_requests
        );
    }
}

/// URLs of the requests the page started (not the browser's own update or
/// time checks): in chromium's net log, `URL_REQUEST_START_JOB` events whose
/// network isolation key or initiator is the `file://` page.
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog)
        .unwrap_or_else(|e| panic!("chromium wrote no net log at {}: {e}", netlog.display()));
    let log: Value = serde_json::from_str(&text).expect("chromium's net log is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    assert!(
        start_job.is_number(),
        "the net log names no URL_REQUEST_START_JOB event"
    );
    log["events"]
        .as_array()
        .expect("net log events")
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| {
            let p = &e["params"];
            let nik = p["network_isolation_key"].as_str().unwrap_or("");
            let initiator = p["initiator"].as_str().unwrap_or("");
            nik.contains("file://") || initiator == "null" || initiator.starts_with("file:")
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .filter(|u| !u.starts_with("file:"))
        .collect()
}
