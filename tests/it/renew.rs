//! `sigctl renew`: a successor key on the same SoftHSM2 token, its CSR
//! signed by an openssl CA, its certificate listed next to the current one;
//! signing moves to it while what the predecessor signed keeps verifying.
//! Refusals leave signing.toml and the work tree byte for byte as they were.

use crate::util::Run;
use crate::util::hsm::{self, Setup, files, openssl_date};

/// An HSM setup whose `release` owner is also an admin, so the renewal
/// commit (signed by the old key) is an authorised policy change.
fn renewable() -> Setup {
    hsm::setup_then(hsm::PIN, |repo| {
        let p = repo.read("signing.toml");
        repo.write(
            "signing.toml",
            p.replace(
                "admins = [\"security\"]",
                "admins = [\"security\", \"release\"]",
            ),
        );
    })
}

fn renew(s: &Setup) -> Run {
    s.hsm.sigctl(&s.repo, &["renew", "--identity", "release"])
}

fn import(s: &Setup, cert: &std::path::Path) -> Run {
    s.hsm.sigctl(
        &s.repo,
        &[
            "renew",
            "--identity",
            "release",
            "--import",
            &cert.display().to_string(),
        ],
    )
}

/// The SHA-256 of a PEM certificate's or request's public key, by openssl.
fn spki_sha256(s: &Setup, kind: &str, pem: &[u8]) -> String {
    let path = s.repo.home().join(format!("spki-{kind}.pem"));
    std::fs::write(&path, pem).expect("write");
    let pubkey = s.repo.openssl(&[
        kind,
        "-in",
        &path.display().to_string(),
        "-noout",
        "-pubkey",
    ]);
    let der = s
        .repo
        .openssl_stdin(&["pkey", "-pubin", "-outform", "DER"], &pubkey);
    use sha2::Digest;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn renewal_adds_the_successor_next_to_the_current_certificate_and_signing_moves_to_it() {
    let s = renewable();
    let before_policy = s.repo.read("signing.toml");
    let old_cert = std::fs::read(s.repo.path().join("certs/release.pem")).expect("cert");
    // a signed commit with the current key
    s.repo.write("a.txt", "before\n");
    s.hsm.git_ok(&s.repo, &["add", "a.txt"]);
    s.hsm
        .git_ok(&s.repo, &["commit", "-S", "-q", "-m", "before renewal"]);
    // and an artefact, bundled with the current key
    s.repo.write("dist/old.tar", "signed before the renewal\n");
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "artifact", "dist/old.tar", "--identity", "release"],
    );

    let req = renew(&s);
    assert_eq!(req.code, 0, "{}", req.snapshot());
    assert!(
        req.stdout
            .starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "stdout is the request alone: {}",
        req.stdout
    );
    assert!(
        req.stderr.contains("generated the successor key"),
        "{}",
        req.stderr
    );
    // openssl checks the request's self-signature; its key is a new one
    let csr_path = s.repo.home().join("successor.csr");
    std::fs::write(&csr_path, &req.stdout).expect("csr");
    s.repo.openssl(&[
        "req",
        "-in",
        &csr_path.display().to_string(),
        "-verify",
        "-noout",
    ]);
    let new_key = spki_sha256(&s, "req", req.stdout.as_bytes());
    assert_ne!(new_key, spki_sha256(&s, "x509", &old_cert));
    // asked again: the same successor, no third key
    let again = renew(&s);
    assert_eq!(again.code, 0, "{}", again.snapshot());
    assert!(
        again.stderr.contains("found the successor key"),
        "{}",
        again.stderr
    );
    assert_eq!(spki_sha256(&s, "req", again.stdout.as_bytes()), new_key);
    // nothing in the repository changed yet
    assert_eq!(s.repo.read("signing.toml"), before_policy);

    // the CA signs it, valid from now for 180 days (outlasting the current 90)
    let cert = s.ca.issue(
        "release-next",
        req.stdout.as_bytes(),
        &openssl_date(0),
        &openssl_date(180),
    );
    let imported = import(&s, &cert);
    assert_eq!(imported.code, 0, "{}", imported.snapshot());
    assert!(
        imported.stdout.contains("policy change"),
        "{}",
        imported.stdout
    );
    let after = s.repo.read("signing.toml");
    let line = after
        .lines()
        .find(|l| l.starts_with("certificate = ["))
        .unwrap_or_else(|| panic!("a certificate list: {after}"));
    let successor = line
        .split('"')
        .nth(3)
        .unwrap_or_else(|| panic!("two paths: {line}"))
        .to_owned();
    assert!(
        line.starts_with("certificate = [\"certs/release.pem\", \"certs/release-"),
        "{line}"
    );
    // everything else, comments included, as it was
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("certificate = "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&after), strip(&before_policy));
    let check = s.hsm.sigctl(&s.repo, &["check"]);
    assert_eq!(check.code, 0, "{}", check.snapshot());

    // the renewal, signed by the old key (an admin's), then a commit that
    // signs with the successor
    s.hsm.git_ok(&s.repo, &["add", "-A"]);
    s.hsm
        .git_ok(&s.repo, &["commit", "-S", "-q", "-m", "renew release"]);
    s.repo.write("a.txt", "after\n");
    s.hsm.git_ok(&s.repo, &["add", "a.txt"]);
    s.hsm
        .git_ok(&s.repo, &["commit", "-S", "-q", "-m", "after renewal"]);
    let root = s
        .hsm
        .git_ok(&s.repo, &["rev-list", "--max-parents=0", "HEAD"]);
    let v = s.hsm.sigctl(
        &s.repo,
        &["verify", "--trust-root", root.trim(), "--format", "json"],
    );
    assert_eq!(v.code, 0, "{}", v.snapshot());
    assert_eq!(v.json()["ok"], true, "{}", v.stdout);
    // git agrees, and the last commit's signer is the successor certificate
    let git = s.hsm.git(&s.repo, &["verify-commit", "HEAD"]);
    assert_eq!(git.code, 0, "{}", git.snapshot());
    let show = s
        .hsm
        .sigctl(&s.repo, &["provenance", "show", "HEAD", "--format", "json"]);
    let serial_new =
        s.ca.openssl(&["x509", "-in", "release-next.pem", "-noout", "-serial"]);
    let serial_new = String::from_utf8_lossy(&serial_new)
        .trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase();
    let shown = show.stdout.to_ascii_lowercase().replace(':', "");
    assert!(
        shown.contains(&serial_new),
        "{serial_new} in {}",
        show.stdout
    );
    // the predecessor's commit still verifies by its own certificate
    let first = s
        .hsm
        .sigctl(&s.repo, &["verify", "--trust-root", root.trim(), "HEAD~2"]);
    assert_eq!(first.code, 0, "{}", first.snapshot());
    assert!(s.repo.path().join(&successor).exists());
    // artefacts: the old bundle still verifies by its own certificate, a new
    // one is made with the successor and verifies too
    let old = s.hsm.sigctl(&s.repo, &["verify-artifact", "dist/old.tar"]);
    assert_eq!(old.code, 0, "{}", old.snapshot());
    s.repo.write("dist/new.tar", "signed after the renewal\n");
    s.hsm.sigctl_ok(
        &s.repo,
        &["sign", "artifact", "dist/new.tar", "--identity", "release"],
    );
    let new = s.hsm.sigctl(
        &s.repo,
        &["verify-artifact", "dist/new.tar", "--format", "json"],
    );
    assert_eq!(new.code, 0, "{}", new.snapshot());
}

#[test]
fn a_certificate_for_another_key_changes_nothing() {
    let s = renewable();
    let req = renew(&s);
    assert_eq!(req.code, 0, "{}", req.snapshot());
    let before = files(&s.repo.path());
    // a certificate for a key that is on no token
    let foreign = s.ca.issue_foreign("stranger");
    let r = import(&s, &foreign);
    assert_ne!(r.code, 0, "{}", r.snapshot());
    assert!(r.stderr.contains("release"), "{}", r.stderr);
    assert!(files(&s.repo.path()) == before, "nothing written");
    // the current certificate again: no successor
    let current = s.repo.path().join("certs/release.pem");
    let r = import(&s, &current);
    assert_ne!(r.code, 0, "{}", r.snapshot());
    assert!(r.stderr.contains("already lists"), "{}", r.stderr);
    assert!(files(&s.repo.path()) == before, "nothing written");
    // an expired one for the successor key
    let expired = s.ca.issue(
        "release-expired",
        req.stdout.as_bytes(),
        &openssl_date(-10),
        &openssl_date(-1),
    );
    let r = import(&s, &expired);
    assert_ne!(r.code, 0, "{}", r.snapshot());
    assert!(files(&s.repo.path()) == before, "nothing written");
}

#[test]
fn local_edits_to_the_policy_are_refused_not_merged() {
    let s = renewable();
    let req = renew(&s);
    let cert = s.ca.issue_current("release-next", req.stdout.as_bytes());
    let edited = format!("{}\n# my local note\n", s.repo.read("signing.toml"));
    s.repo.write("signing.toml", &edited);
    let before = files(&s.repo.path());
    let r = import(&s, &cert);
    assert_eq!(r.code, 2, "{}", r.snapshot());
    assert!(r.stderr.contains("local changes"), "{}", r.stderr);
    assert!(files(&s.repo.path()) == before, "nothing written");
    // staged but not committed: refused too
    s.hsm.git_ok(&s.repo, &["add", "signing.toml"]);
    let before = files(&s.repo.path());
    let r = import(&s, &cert);
    assert_eq!(r.code, 2, "{}", r.snapshot());
    assert!(files(&s.repo.path()) == before, "nothing written");
}

#[test]
fn renew_without_a_certificate_or_for_a_keyless_identity_is_a_clear_error() {
    let s = renewable();
    let r = s
        .hsm
        .sigctl(&s.repo, &["renew", "--identity", "security-admin"]);
    assert_ne!(r.code, 0, "{}", r.snapshot());
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let r = s.hsm.sigctl(&s.repo, &["renew", "--identity", "nobody"]);
    assert_ne!(r.code, 0, "{}", r.snapshot());
    assert!(r.stderr.contains("nobody"), "{}", r.stderr);
}

/// `renewable()` plus an internal CA: an hsm identity `internal-ca` whose
/// key is on the token and whose certificate the test CA issued with
/// basicConstraints CA:TRUE, named by `[ca]`, committed.
fn with_internal_ca() -> Setup {
    with_ca_certificate(true)
}

/// [`with_internal_ca`], the CA identity's certificate a CA's or (`false`)
/// a plain code-signing leaf.
fn with_ca_certificate(is_ca: bool) -> Setup {
    let s = renewable();
    let p = s.repo.read("signing.toml");
    s.repo.write(
        "signing.toml",
        format!(
            "{p}\n[ca]\nidentity = \"internal-ca\"\nvalidity = \"120d\"\n\n[identities.internal-ca]\nowner = \"security\"\npurpose = \"Issue renewals\"\nenvironments = []\ncustody = \"hsm\"\nkey = \"pkcs11:token=sigctl;object=internal-ca\"\ncertificate = \"certs/internal-ca.pem\"\n"
        ),
    );
    s.hsm
        .sigctl_ok(&s.repo, &["key", "generate", "--identity", "internal-ca"]);
    let csr = s
        .hsm
        .sigctl_ok(
            &s.repo,
            &[
                "cert",
                "request",
                "--identity",
                "internal-ca",
                "--subject",
                "CN=Internal Code Signing CA,O=Example",
            ],
        )
        .stdout;
    std::fs::write(s.ca.dir.join("internal-ca.csr"), &csr).expect("csr");
    std::fs::write(
        s.ca.dir.join("ca-ext.cnf"),
        "[v3_ca]\nbasicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign, digitalSignature\n",
    )
    .expect("ext");
    if is_ca {
        s.ca.openssl(&[
            "x509",
            "-req",
            "-in",
            "internal-ca.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "365",
            "-extfile",
            "ca-ext.cnf",
            "-extensions",
            "v3_ca",
            "-out",
            "internal-ca.pem",
        ]);
    } else {
        s.ca.issue_current("internal-ca", csr.as_bytes());
    }
    s.hsm.sigctl_ok(
        &s.repo,
        &[
            "cert",
            "import",
            "--identity",
            "internal-ca",
            &s.ca.dir.join("internal-ca.pem").display().to_string(),
        ],
    );
    s.hsm.git_ok(&s.repo, &["add", "-A"]);
    s.hsm
        .git_ok(&s.repo, &["commit", "-S", "-q", "-m", "an internal CA"]);
    s
}

#[test]
fn the_internal_ca_issues_the_successor_and_the_issuance_is_on_record() {
    let s = with_internal_ca();
    let check = s.hsm.sigctl(&s.repo, &["check"]);
    assert!(!check.stdout.contains("bad-ca"), "{}", check.snapshot());
    // no successor yet: refused, nothing written
    let before = files(&s.repo.path());
    let early = s.hsm.sigctl(
        &s.repo,
        &[
            "ca",
            "issue",
            "--identity",
            "release",
            "--approved-by",
            "ciso@example.com",
        ],
    );
    assert_ne!(early.code, 0, "{}", early.snapshot());
    assert!(early.stderr.contains("sigctl renew"), "{}", early.stderr);
    assert!(files(&s.repo.path()) == before, "nothing written");

    let req = renew(&s);
    assert_eq!(req.code, 0, "{}", req.snapshot());
    let issued = s.hsm.sigctl(
        &s.repo,
        &[
            "ca",
            "issue",
            "--identity",
            "release",
            "--approved-by",
            "ciso@example.com",
        ],
    );
    assert_eq!(issued.code, 0, "{}", issued.snapshot());
    assert!(
        issued.stdout.contains("approved by ciso@example.com"),
        "{}",
        issued.stdout
    );
    let policy = s.repo.read("signing.toml");
    let rel = policy
        .lines()
        .find(|l| l.starts_with("certificate = [\"certs/release.pem\""))
        .and_then(|l| l.split('"').nth(3))
        .unwrap_or_else(|| panic!("the successor listed: {policy}"))
        .to_owned();
    let cert = s.repo.path().join(&rel);
    // openssl: chains to the test CA through the internal CA, codeSigning,
    // and carries the successor key the request had
    let verified = std::process::Command::new("openssl")
        .args(["verify", "-purpose", "any", "-CAfile"])
        .arg(s.ca.pem())
        .arg("-untrusted")
        .arg(s.ca.dir.join("internal-ca.pem"))
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    let text = s.repo.openssl(&[
        "x509",
        "-in",
        &cert.display().to_string(),
        "-noout",
        "-text",
    ]);
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("Code Signing"), "{text}");
    assert!(text.contains("CA:FALSE"), "{text}");
    let pem = std::fs::read(&cert).expect("cert");
    assert_eq!(
        spki_sha256(&s, "x509", &pem),
        spki_sha256(&s, "req", req.stdout.as_bytes())
    );
    // the issuance is a record on the certificate's content, by the CA
    let show = s.hsm.sigctl(
        &s.repo,
        &[
            "provenance",
            "show",
            &cert.display().to_string(),
            "--format",
            "json",
        ],
    );
    assert_eq!(show.code, 0, "{}", show.snapshot());
    assert!(
        show.stdout.contains("\"event\": \"certificate\"")
            || show.stdout.contains("\"event\":\"certificate\""),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("ciso@example.com"), "{}", show.stdout);
    assert!(show.stdout.contains("\"internal-ca\""), "{}", show.stdout);
    // the policy checks, the renewal commits, the successor signs
    let check = s.hsm.sigctl(&s.repo, &["check"]);
    assert_eq!(check.code, 0, "{}", check.snapshot());
    s.hsm.git_ok(&s.repo, &["add", "-A"]);
    s.hsm.git_ok(
        &s.repo,
        &["commit", "-S", "-q", "-m", "renew release via the CA"],
    );
    s.repo.write("b.txt", "after\n");
    s.hsm.git_ok(&s.repo, &["add", "b.txt"]);
    s.hsm.git_ok(
        &s.repo,
        &["commit", "-S", "-q", "-m", "signed by the successor"],
    );
    let root = s
        .hsm
        .git_ok(&s.repo, &["rev-list", "--max-parents=0", "HEAD"]);
    let v = s
        .hsm
        .sigctl(&s.repo, &["verify", "--trust-root", root.trim()]);
    assert_eq!(v.code, 0, "{}", v.snapshot());
}

#[test]
fn a_ca_identity_without_a_ca_certificate_issues_nothing() {
    let s = with_ca_certificate(false);
    let check = s.hsm.sigctl(&s.repo, &["check"]);
    assert!(check.stdout.contains("bad-ca"), "{}", check.snapshot());
    let req = renew(&s);
    assert_eq!(req.code, 0, "{}", req.snapshot());
    let before = files(&s.repo.path());
    let notes = s.hsm.git(
        &s.repo,
        &["rev-parse", "-q", "--verify", "refs/notes/signing"],
    );
    let r = s.hsm.sigctl(
        &s.repo,
        &[
            "ca",
            "issue",
            "--identity",
            "release",
            "--approved-by",
            "ciso@example.com",
        ],
    );
    assert_ne!(r.code, 0, "{}", r.snapshot());
    assert!(
        r.stderr.contains("no certificate authority"),
        "{}",
        r.stderr
    );
    assert!(files(&s.repo.path()) == before, "nothing written");
    let after = s.hsm.git(
        &s.repo,
        &["rev-parse", "-q", "--verify", "refs/notes/signing"],
    );
    assert_eq!(notes.stdout, after.stdout, "no record");
}
