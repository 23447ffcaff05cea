//! The local Sigstore stack is real enough to judge sigctl's keyless signing
//! by: sigstore-python signs against it and verifies offline (and refuses a
//! changed file or another identity), sigstore-js agrees, `openssl ts`
//! accepts both TSAs' answers, the token routes behave as GitHub Actions and
//! Dex do, and every fault does what its name says. No sigctl signing here:
//! only the independent tools.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::util::Run;
use crate::util::sigstore::{
    self, GITHUB_ISSUER, Identity, Mode, Service, TEST_ISSUER, Thresholds, Tsa, email_token, hex,
    http, js_verify, js_verify_identity, jwt_claims, mint_token, now, openssl_ts_verify_digest,
    openssl_ts_verify_reply, python_sign, python_verify_identity, python_verify_identity_with,
    stack,
};

const ALICE: &str = "alice@example.com";
const SHORT: Duration = Duration::from_secs(20);

fn ok(run: &Run, what: &str) {
    assert_eq!(
        run.code, 0,
        "{what} failed:\n{}\n{}",
        run.stdout, run.stderr
    );
}

fn refused(run: &Run, what: &str, reason: &str) {
    assert_ne!(run.code, 0, "{what} passed:\n{}", run.stdout);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains(reason),
        "{what}: refused, but not for `{reason}`:\n{all}"
    );
}

fn bundle_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("bundle")).expect("bundle JSON")
}

fn leaf_der(bundle: &Value) -> Vec<u8> {
    let raw = bundle["verificationMaterial"]["certificate"]["rawBytes"]
        .as_str()
        .expect("a v0.3 bundle with a certificate");
    STANDARD.decode(raw).expect("base64")
}

fn san(der: &[u8]) -> (Vec<String>, Vec<String>) {
    let (_, cert) = X509Certificate::from_der(der).expect("certificate");
    let mut emails = Vec::new();
    let mut uris = Vec::new();
    for n in cert
        .subject_alternative_name()
        .expect("SAN parses")
        .expect("a SAN")
        .value
        .general_names
        .iter()
    {
        match n {
            GeneralName::RFC822Name(e) => emails.push((*e).to_owned()),
            GeneralName::URI(u) => uris.push((*u).to_owned()),
            _ => {}
        }
    }
    (emails, uris)
}

fn serial(der: &[u8]) -> String {
    X509Certificate::from_der(der)
        .expect("certificate")
        .1
        .raw_serial_as_string()
}

fn sha256_file(p: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(p).expect("file")))
}

fn openssl(dir: &Path, args: &[&str]) -> Run {
    Run::from(
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs"),
    )
}

struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }
    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write");
        p
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

#[test]
fn sigstore_python_signs_against_the_stack_and_verifies_offline() {
    let s = stack();
    let w = Work::new();
    let file = w.file("a.txt", b"release notes\n");
    let bundle = w.path("a.txt.sigstore.json");
    ok(
        &python_sign(&s.trust_config(), &email_token(ALICE), &file, &bundle),
        "sigstore sign",
    );

    let file_arg = file.to_str().expect("utf-8");
    ok(
        &python_verify_identity(&bundle, file_arg, ALICE, TEST_ISSUER),
        "verify identity",
    );
    let digest = format!("sha256:{}", sha256_file(&file));
    ok(
        &python_verify_identity(&bundle, &digest, ALICE, TEST_ISSUER),
        "verify identity by digest",
    );
    ok(
        &js_verify_identity(
            &bundle,
            &file,
            &s.trusted_root(),
            Thresholds::KEYLESS,
            ALICE,
            TEST_ISSUER,
        ),
        "sigstore-js",
    );

    // What a real Fulcio, Rekor and TSA would have put in the bundle.
    let b = bundle_json(&bundle);
    let leaf = leaf_der(&b);
    assert_eq!(san(&leaf), (vec![ALICE.to_owned()], vec![]), "an email SAN");
    assert_ne!(serial(&leaf), "11:18:20:04", "a serial of its own");
    let entry = &b["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["kind"], "hashedrekord");
    let body = STANDARD
        .decode(entry["canonicalizedBody"].as_str().expect("body"))
        .expect("base64");
    let body: Value = serde_json::from_slice(&body).expect("body JSON");
    let pem = STANDARD
        .decode(
            body["spec"]["signature"]["publicKey"]["content"]
                .as_str()
                .expect("key"),
        )
        .expect("base64");
    assert!(!pem.contains(&b'\r'), "Rekor stores LF PEM");
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "one RFC 3161 timestamp"
    );

    // Refusals, each for its reason.
    let changed = w.file("changed.txt", b"release notes, changed\n");
    refused(
        &python_verify_identity(
            &bundle,
            changed.to_str().expect("utf-8"),
            ALICE,
            TEST_ISSUER,
        ),
        "a changed file",
        "digest mismatch",
    );
    refused(
        &js_verify(&bundle, &changed, &s.trusted_root(), Thresholds::KEYLESS),
        "sigstore-js on a changed file",
        "SIGNATURE_ERROR",
    );
    refused(
        &python_verify_identity(&bundle, file_arg, "mallory@example.com", TEST_ISSUER),
        "another identity",
        "SANs do not match",
    );
    refused(
        &python_verify_identity(&bundle, file_arg, ALICE, "https://other.example"),
        "another issuer",
        "OIDCIssuer does not match",
    );
    refused(
        &js_verify_identity(
            &bundle,
            &file,
            &s.trusted_root(),
            Thresholds::KEYLESS,
            "mallory@example.com",
            TEST_ISSUER,
        ),
        "sigstore-js, another identity",
        "UNTRUSTED_SIGNER_ERROR",
    );
}

#[test]
fn the_openssl_tsa_in_a_keyless_bundle_passes_both_judges() {
    let s = stack();
    let scope = s.scope("openssl-tsa");
    let w = Work::new();
    let file = w.file("b.bin", b"\x00binary\xff");
    let bundle = w.path("b.sigstore.json");
    ok(
        &python_sign(
            &scope.trust_config_openssl_tsa(),
            &email_token(ALICE),
            &file,
            &bundle,
        ),
        "sigstore sign with the openssl TSA",
    );
    assert_eq!(scope.requests(Service::OpensslTsa), 1);
    assert_eq!(scope.requests(Service::Tsa), 0);
    ok(
        &python_verify_identity(&bundle, file.to_str().expect("utf-8"), ALICE, TEST_ISSUER),
        "verify identity",
    );
    ok(
        &js_verify(&bundle, &file, &s.trusted_root(), Thresholds::KEYLESS),
        "sigstore-js",
    );

    // The timestamp in the bundle is openssl's, over SHA-256 of the signature.
    let b = bundle_json(&bundle);
    let token = STANDARD
        .decode(
            b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
                ["signedTimestamp"]
                .as_str()
                .expect("a timestamp"),
        )
        .expect("base64");
    let signature = STANDARD
        .decode(
            b["messageSignature"]["signature"]
                .as_str()
                .expect("signature"),
        )
        .expect("base64");
    let token_path = w.file("timestamp.tsr", &token);
    let digest = hex(&Sha256::digest(&signature));
    ok(
        &openssl_ts_verify_digest(&token_path, &digest, &s.tsa_chain(Tsa::Openssl)),
        "openssl ts -verify of the bundle's timestamp",
    );
    refused(
        &openssl_ts_verify_digest(&token_path, &"00".repeat(32), &s.tsa_chain(Tsa::Openssl)),
        "the token over other bytes",
        "message imprint mismatch",
    );
    refused(
        &openssl_ts_verify_digest(&token_path, &digest, &s.tsa_chain(Tsa::Mock)),
        "the token against the other TSA",
        "Verification: FAILED",
    );
}

#[test]
fn a_github_actions_token_certifies_the_workflow() {
    let s = stack();
    let scope = s.scope("gha");
    let reply = http(
        "GET",
        &format!("{}?audience=sigstore", scope.gha_url()),
        &[("Authorization", "Bearer runner-request-token")],
        b"",
        SHORT,
    )
    .expect("GET /gha");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let token = reply.json()["value"].as_str().expect("value").to_owned();
    let claims = jwt_claims(&token);
    assert_eq!(claims["iss"], GITHUB_ISSUER);
    assert_eq!(claims["aud"], "sigstore");
    let workflow = format!(
        "https://github.com/{}",
        claims["job_workflow_ref"]
            .as_str()
            .expect("job_workflow_ref")
    );

    let w = Work::new();
    let file = w.file("c.txt", b"built in CI\n");
    let bundle = w.path("c.sigstore.json");
    ok(
        &python_sign(&scope.trust_config(), &token, &file, &bundle),
        "sigstore sign with the workflow's token",
    );
    let leaf = leaf_der(&bundle_json(&bundle));
    assert_eq!(san(&leaf), (vec![], vec![workflow.clone()]), "a URI SAN");
    ok(
        &python_verify_identity(
            &bundle,
            file.to_str().expect("utf-8"),
            &workflow,
            GITHUB_ISSUER,
        ),
        "verify identity of the workflow",
    );
}

#[test]
fn the_openssl_tsa_answers_a_real_openssl_ts_query() {
    let s = stack();
    let w = Work::new();
    let dir = w.dir.path();
    w.file("data.txt", b"timestamp me\n");
    w.file("other.txt", b"not me\n");
    ok(
        &openssl(
            dir,
            &[
                "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "q.tsq",
            ],
        ),
        "openssl ts -query",
    );
    let reply = http(
        "POST",
        &format!("{}{}", s.url(), Tsa::Openssl.path()),
        &[("Content-Type", "application/timestamp-query")],
        &std::fs::read(w.path("q.tsq")).expect("query"),
        SHORT,
    )
    .expect("POST the query");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/timestamp-reply")
    );
    let tsr = w.file("r.tsr", &reply.body);
    let chain = s.tsa_chain(Tsa::Openssl);
    let verified = openssl_ts_verify_reply(&tsr, &w.path("q.tsq"), &chain);
    ok(&verified, "openssl ts -verify");
    assert!(verified.stdout.contains("Verification: OK"));

    let text = openssl(dir, &["ts", "-reply", "-in", "r.tsr", "-text"]);
    ok(&text, "openssl ts -reply -text");
    assert!(text.stdout.contains("Status: Granted."), "{}", text.stdout);
    assert!(text.stdout.contains("Hash Algorithm: sha256"));
    assert!(text.stdout.contains("Accuracy: 0x01 seconds"));

    // Over other data, the same reply does not verify.
    ok(
        &openssl(
            dir,
            &[
                "ts",
                "-query",
                "-data",
                "other.txt",
                "-sha256",
                "-out",
                "other.tsq",
            ],
        ),
        "openssl ts -query (other data)",
    );
    refused(
        &openssl_ts_verify_reply(&tsr, &w.path("other.tsq"), &chain),
        "a reply for other data",
        "Verification: FAILED",
    );

    // The trusted root lists this TSA as [leaf, root], with its uri.
    let root: Value =
        serde_json::from_slice(&std::fs::read(s.trusted_root()).expect("root")).expect("JSON");
    let authority = root["timestampAuthorities"]
        .as_array()
        .expect("TSAs")
        .iter()
        .find(|a| a["uri"] == format!("{}{}", s.url(), Tsa::Openssl.path()))
        .expect("the openssl TSA in the trusted root");
    let pem_der = |p: &Path| {
        let out = openssl(
            dir,
            &[
                "x509",
                "-in",
                p.to_str().expect("utf-8"),
                "-outform",
                "DER",
                "-out",
                "c.der",
            ],
        );
        ok(&out, "openssl x509");
        std::fs::read(w.path("c.der")).expect("DER")
    };
    let listed: Vec<Vec<u8>> = authority["certChain"]["certificates"]
        .as_array()
        .expect("chain")
        .iter()
        .map(|c| {
            STANDARD
                .decode(c["rawBytes"].as_str().expect("raw"))
                .expect("base64")
        })
        .collect();
    assert_eq!(listed, vec![pem_der(&chain.leaf), pem_der(&chain.root)]);
}

#[test]
fn the_mock_tsa_takes_der_echoes_the_nonce_and_stamps_whole_seconds() {
    let s = stack();
    let w = Work::new();
    let dir = w.dir.path();
    w.file("data.txt", b"timestamp me too\n");
    ok(
        &openssl(
            dir,
            &[
                "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "q.tsq",
            ],
        ),
        "openssl ts -query",
    );
    let reply = http(
        "POST",
        &format!("{}{}", s.url(), Tsa::Mock.path()),
        &[("Content-Type", "application/timestamp-query")],
        &std::fs::read(w.path("q.tsq")).expect("query"),
        SHORT,
    )
    .expect("POST the query");
    assert!((200..300).contains(&reply.status), "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/timestamp-reply")
    );
    let tsr = w.file("r.tsr", &reply.body);
    ok(
        &openssl_ts_verify_reply(&tsr, &w.path("q.tsq"), &s.tsa_chain(Tsa::Mock)),
        "openssl ts -verify (it checks the nonce)",
    );

    let line = |text: &str, prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{text}"))
            .trim()
            .to_owned()
    };
    let query = openssl(dir, &["ts", "-query", "-in", "q.tsq", "-text"]);
    let answer = openssl(dir, &["ts", "-reply", "-in", "r.tsr", "-text"]);
    assert_eq!(
        line(&answer.stdout, "Nonce:"),
        line(&query.stdout, "Nonce:"),
        "the nonce echoed"
    );
    let time = line(&answer.stdout, "Time stamp:");
    assert!(!time.contains('.'), "whole seconds: {time}");
}

#[test]
fn the_trust_files_describe_the_stack() {
    let s = stack();
    let read = |p: PathBuf| -> Value {
        serde_json::from_slice(&std::fs::read(&p).expect("file")).expect("JSON")
    };
    let root = read(s.trusted_root());
    assert_eq!(
        root["mediaType"],
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
    );
    let start = root["certificateAuthorities"][0]["validFor"]["start"]
        .as_str()
        .expect("validFor.start");
    let start = time::OffsetDateTime::parse(start, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    let back = time::OffsetDateTime::from_unix_timestamp(now()).expect("now") - start;
    assert!(
        back > time::Duration::hours(23) && back < time::Duration::hours(25),
        "validFor.start a day back: {back}"
    );
    for log in ["tlogs", "ctlogs"] {
        let l = &root[log][0];
        let key = STANDARD
            .decode(l["publicKey"]["rawBytes"].as_str().expect("key"))
            .expect("base64");
        assert_eq!(
            l["logId"]["keyId"],
            STANDARD.encode(Sha256::digest(&key)),
            "{log}: the log id is the key's SHA-256"
        );
        assert_eq!(l["publicKey"]["keyDetails"], "PKIX_ECDSA_P256_SHA_256");
    }
    assert_ne!(
        root["tlogs"][0]["publicKey"]["rawBytes"], root["ctlogs"][0]["publicKey"]["rawBytes"],
        "one key per service"
    );
    let tsas = root["timestampAuthorities"].as_array().expect("TSAs");
    assert_eq!(tsas.len(), 2);
    for a in tsas
        .iter()
        .chain(root["certificateAuthorities"].as_array().expect("CAs"))
    {
        assert!(
            a["uri"].as_str().is_some_and(|u| u.starts_with(s.url())),
            "a uri on every authority: {a}"
        );
    }
    for a in tsas {
        assert_eq!(
            a["certChain"]["certificates"].as_array().map(Vec::len),
            Some(2)
        );
    }

    let config = read(s.signing_config());
    assert_eq!(
        config["mediaType"],
        "application/vnd.dev.sigstore.signingconfig.v0.2+json"
    );
    for (key, url) in [
        ("caUrls", s.url().to_owned()),
        ("rekorTlogUrls", s.url().to_owned()),
        ("oidcUrls", s.url().to_owned()),
        ("tsaUrls", format!("{}{}", s.url(), Tsa::Mock.path())),
    ] {
        assert_eq!(config[key][0]["url"], url.as_str(), "{key}");
        assert_eq!(config[key][0]["majorApiVersion"], 1, "{key}");
    }
    assert_eq!(config["rekorTlogConfig"]["selector"], "ANY");
    assert_eq!(config["tsaConfig"]["selector"], "ANY");
    assert_eq!(
        read(s.signing_config_openssl_tsa())["tsaUrls"][0]["url"],
        format!("{}{}", s.url(), Tsa::Openssl.path()).as_str()
    );

    let trust = read(s.trust_config());
    assert_eq!(
        trust["mediaType"],
        "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
    );
    assert_eq!(trust["trustedRoot"], root);
    assert_eq!(trust["signingConfig"], config);
    assert_eq!(
        std::fs::read_to_string(s.dir.join("url"))
            .expect("url")
            .trim(),
        s.url()
    );
    assert_eq!(
        std::fs::read_to_string(s.dir.join("pid"))
            .expect("pid")
            .trim(),
        s.pid().to_string()
    );
}

/// A P-256 key, its SPKI PEM, and a proof of possession over `message`.
fn key_and_proof(seed: u8, message: &str) -> (p256::ecdsa::SigningKey, String, String) {
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::EncodePublicKey;
    let key = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).expect("scalar");
    let pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::CRLF)
        .expect("PEM");
    let sig: p256::ecdsa::Signature = key.sign(message.as_bytes());
    (key, pem, STANDARD.encode(sig.to_der().as_bytes()))
}

fn signing_cert(url: &str, token: &str, pem: &str, proof: &str) -> sigstore::HttpReply {
    let body = json!({
        "credentials": { "oidcIdentityToken": token },
        "publicKeyRequest": { "publicKey": { "algorithm": "", "content": pem }, "proofOfPossession": proof },
    });
    http(
        "POST",
        &format!("{url}/api/v2/signingCert"),
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
        SHORT,
    )
    .expect("POST signingCert")
}

fn chain_of(reply: &sigstore::HttpReply) -> Vec<Vec<u8>> {
    reply.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .expect("chain")
        .iter()
        .map(|p| {
            let pem = p.as_str().expect("PEM");
            let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            STANDARD.decode(b64).expect("base64")
        })
        .collect()
}

fn spki_of(der: &[u8]) -> Vec<u8> {
    X509Certificate::from_der(der)
        .expect("certificate")
        .1
        .public_key()
        .raw
        .to_vec()
}

#[test]
fn fulcio_checks_the_claims_and_the_proof_of_possession() {
    use p256::pkcs8::EncodePublicKey;
    let s = stack();
    let token = email_token(ALICE);
    let (key, pem, proof) = key_and_proof(3, ALICE);
    let good = signing_cert(s.url(), &token, &pem, &proof);
    assert_eq!(good.status, 201, "{}", good.text());
    let chain = chain_of(&good);
    assert_eq!(chain.len(), 2, "leaf and root");
    assert_eq!(san(&chain[0]), (vec![ALICE.to_owned()], vec![]));
    assert_eq!(
        spki_of(&chain[0]),
        key.verifying_key()
            .to_public_key_der()
            .expect("SPKI")
            .as_bytes(),
        "the certificate is for the key that proved possession"
    );

    // A bare subject: a URI SAN, the proof over `sub`.
    let sub = "spiffe://example.test/builder";
    let token = mint_token(TEST_ISSUER, Identity::Subject(sub), "sigstore", now() + 600);
    let (_, pem, proof) = key_and_proof(4, sub);
    let r = signing_cert(s.url(), &token, &pem, &proof);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(san(&chain_of(&r)[0]), (vec![], vec![sub.to_owned()]));

    // What real Fulcio refuses.
    let (_, pem, proof) = key_and_proof(5, "someone-else@example.com");
    let r = signing_cert(s.url(), &email_token(ALICE), &pem, &proof);
    assert_eq!(r.status, 400, "a proof over another identity: {}", r.text());
    let (_, pem, proof) = key_and_proof(6, ALICE);
    let other_aud = mint_token(
        TEST_ISSUER,
        Identity::Email(ALICE),
        "not-sigstore",
        now() + 600,
    );
    let r = signing_cert(s.url(), &other_aud, &pem, &proof);
    assert_eq!(r.status, 401, "another audience: {}", r.text());
    let expired = mint_token(TEST_ISSUER, Identity::Email(ALICE), "sigstore", now() - 60);
    let r = signing_cert(s.url(), &expired, &pem, &proof);
    assert_eq!(r.status, 401, "an expired token: {}", r.text());
    let mut unverified = jwt_claims(&email_token(ALICE));
    unverified["email_verified"] = json!(false);
    let r = signing_cert(s.url(), &sigstore::mint_jwt(&unverified), &pem, &proof);
    assert_eq!(r.status, 401, "an unverified email: {}", r.text());
}

#[test]
fn rekor_stores_canonical_entries_and_serves_them_back() {
    let s = stack();
    let root_pem = std::fs::read_to_string(s.fulcio_root_pem()).expect("PEM");
    let crlf = root_pem.replace('\n', "\r\n");
    let proposed = |digest: &str| {
        json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": { "hash": { "algorithm": "sha256", "value": digest } },
                "signature": { "content": STANDARD.encode(b"not checked"), "publicKey": { "content": STANDARD.encode(&crlf) } }
            }
        })
    };
    let post = |url: &str, body: &Value| {
        http(
            "POST",
            &format!("{url}/api/v1/log/entries"),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
            SHORT,
        )
        .expect("POST entries")
    };
    let digest = "ab".repeat(32);
    let r = post(s.url(), &proposed(&digest));
    assert_eq!(r.status, 201, "{}", r.text());
    let answer = r.json();
    let (uuid, entry) = answer
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("one entry");
    let body: Value = serde_json::from_slice(
        &STANDARD
            .decode(entry["body"].as_str().expect("body"))
            .expect("base64"),
    )
    .expect("JSON");
    assert_eq!(body["spec"]["data"]["hash"]["value"], digest.as_str());
    let stored = STANDARD
        .decode(
            body["spec"]["signature"]["publicKey"]["content"]
                .as_str()
                .expect("key"),
        )
        .expect("base64");
    assert_eq!(
        String::from_utf8(stored).expect("PEM"),
        root_pem,
        "the PEM as real Rekor canonicalises it (LF)"
    );
    assert!(entry["verification"]["signedEntryTimestamp"].is_string());

    for url in [
        format!("{}/api/v1/log/entries/{uuid}", s.url()),
        format!(
            "{}/api/v1/log/entries?logIndex={}",
            s.url(),
            entry["logIndex"]
        ),
    ] {
        let got = http("GET", &url, &[], b"", SHORT).expect("GET entry");
        assert_eq!(got.status, 200, "{url}: {}", got.text());
        assert_eq!(&got.json()[uuid], entry, "{url}");
    }
    let missing = http(
        "GET",
        &format!("{}/api/v1/log/entries/{}", s.url(), "0".repeat(64)),
        &[],
        b"",
        SHORT,
    )
    .expect("GET");
    assert_eq!(missing.status, 404);

    // mismatch: a signed entry for another body than the one proposed.
    let scope = s.scope("rekor-mismatch");
    scope.fault(Service::Rekor, Mode::Mismatch);
    let r = post(scope.url(), &proposed(&digest));
    assert_eq!(r.status, 201, "{}", r.text());
    let answer = r.json();
    let entry = answer
        .as_object()
        .and_then(|o| o.values().next())
        .expect("entry");
    let body: Value = serde_json::from_slice(
        &STANDARD
            .decode(entry["body"].as_str().expect("body"))
            .expect("base64"),
    )
    .expect("JSON");
    assert_ne!(body["spec"]["data"]["hash"]["value"], digest.as_str());
}

#[test]
fn faults_do_what_they_say_in_their_scope_only() {
    let s = stack();
    let a = s.scope("faults-a");
    let b = s.scope("faults-b");
    let post = |url: &str, path: &str, body: &[u8], timeout: Duration| {
        http(
            "POST",
            &format!("{url}{path}"),
            &[("Content-Type", "application/json")],
            body,
            timeout,
        )
    };
    let fulcio = "/api/v2/signingCert";

    // down: the connection closes without an answer; nobody else notices.
    a.fault(Service::Fulcio, Mode::Down);
    assert!(post(a.url(), fulcio, b"{}", SHORT).is_err(), "no answer");
    for other in [s.url(), b.url()] {
        let r = post(other, fulcio, b"{}", SHORT).expect("an answer elsewhere");
        assert_eq!(r.status, 401, "no token, refused as usual: {}", r.text());
    }
    assert_eq!(a.requests(Service::Fulcio), 1);
    assert_eq!(b.requests(Service::Fulcio), 1);

    // unavailable: 503.
    a.fault(Service::Rekor, Mode::Unavailable);
    let r = post(a.url(), "/api/v1/log/entries", b"{}", SHORT).expect("answer");
    assert_eq!(r.status, 503);

    // garbage: 200, neither JSON nor DER.
    a.fault(Service::Fulcio, Mode::Garbage);
    let r = post(a.url(), fulcio, b"{}", SHORT).expect("answer");
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_slice::<Value>(&r.body).is_err(),
        "not JSON"
    );
    a.fault(Service::OpensslTsa, Mode::Garbage);
    let r = post(a.url(), Tsa::Openssl.path(), b"\x30\x00", SHORT).expect("answer");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/timestamp-reply")
    );
    let w = Work::new();
    w.file("garbage.tsr", &r.body);
    let parsed = openssl(
        w.dir.path(),
        &["ts", "-reply", "-in", "garbage.tsr", "-text"],
    );
    assert_ne!(parsed.code, 0, "openssl reads no TimeStampResp in it");

    // slow: no answer within a client's timeout; with a short delay, a late real answer.
    a.fault(Service::Tsa, Mode::Slow);
    let started = Instant::now();
    assert!(
        post(
            a.url(),
            Tsa::Mock.path(),
            b"\x30\x00",
            Duration::from_secs(1)
        )
        .is_err(),
        "no answer within a second"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(a.state()["slow_secs"], 60);
    a.slow_secs(0.5);
    a.fault(Service::Oidc, Mode::Slow);
    let started = Instant::now();
    let r = http("GET", &format!("{}/keys", a.url()), &[], b"", SHORT).expect("answer");
    assert!(started.elapsed() >= Duration::from_millis(450));
    assert_eq!(r.status, 200, "then the real answer");
    assert!(r.json()["keys"].is_array());

    // the control route refuses what it does not know, and reset restores everything.
    for bad in [
        json!({ "fulcio": "sideways" }),
        json!({ "oidc": "mismatch" }),
        json!({ "nosuch": "ok" }),
    ] {
        let r = post(a.url(), "/control", bad.to_string().as_bytes(), SHORT).expect("answer");
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    a.reset();
    let state = a.state();
    for service in ["fulcio", "rekor", "tsa", "openssl_tsa", "oidc"] {
        assert_eq!(state[service], "ok", "{service} after reset");
        assert_eq!(state["requests"][service], 0);
    }
    let root = http("GET", &format!("{}/control", s.url()), &[], b"", SHORT)
        .expect("root control")
        .json();
    assert_eq!(root["fulcio"], "ok", "the root scope was never faulted");
}

#[test]
fn sigstore_python_meets_the_faults() {
    let s = stack();
    let w = Work::new();
    let file = w.file("d.txt", b"faulty services\n");
    let file_arg = file.to_str().expect("utf-8");

    for (service, mode) in [
        (Service::Fulcio, Mode::Down),
        (Service::Fulcio, Mode::Garbage),
        (Service::Rekor, Mode::Garbage),
    ] {
        let scope = s.scope("python-fails");
        scope.fault(service, mode);
        let bundle = w.path("failed.sigstore.json");
        let run = python_sign(&scope.trust_config(), &email_token(ALICE), &file, &bundle);
        assert_ne!(run.code, 0, "{service:?} {mode:?}: signing went through");
        assert!(!bundle.exists(), "{service:?} {mode:?}: no bundle");
        assert_eq!(scope.requests(service), 1);
    }

    // A certificate for another key, a log entry for another body: sigstore-python
    // signs without noticing, and both judges refuse the bundle.
    for (service, mode, reason) in [
        (Service::Fulcio, Mode::Mismatch, "Signature is invalid"),
        (Service::Rekor, Mode::Mismatch, "inconsistent"),
    ] {
        let scope = s.scope("python-mismatch");
        scope.fault(service, mode);
        let bundle = w.path("mismatch.sigstore.json");
        ok(
            &python_sign(&scope.trust_config(), &email_token(ALICE), &file, &bundle),
            "sign through a lying service",
        );
        refused(
            &python_verify_identity_with(&s.trust_config(), &bundle, file_arg, ALICE, TEST_ISSUER),
            &format!("{service:?} {mode:?}"),
            reason,
        );
        let js = js_verify(&bundle, &file, &s.trusted_root(), Thresholds::KEYLESS);
        assert_ne!(js.code, 0, "sigstore-js accepts {service:?} {mode:?}");
    }

    // A timestamp over other bytes: sigstore-js refuses it (sigstore-python
    // 4.5.1 skips a timestamp that does not verify when the log entry gives a time).
    let scope = s.scope("tsa-mismatch");
    scope.fault(Service::Tsa, Mode::Mismatch);
    let bundle = w.path("tsa.sigstore.json");
    ok(
        &python_sign(&scope.trust_config(), &email_token(ALICE), &file, &bundle),
        "sign with a lying TSA",
    );
    refused(
        &js_verify(&bundle, &file, &s.trusted_root(), Thresholds::KEYLESS),
        "a timestamp over other bytes",
        "TIMESTAMP_ERROR",
    );
}

#[test]
fn the_token_routes_behave_like_github_actions_and_dex() {
    let s = stack();
    let scope = s.scope("oidc");
    let get = |url: String, headers: &[(&str, &str)]| {
        http("GET", &url, headers, b"", SHORT).expect("GET")
    };

    // GitHub Actions: the request token as a Bearer, the audience as asked,
    // claims from the query.
    let r = get(format!("{}?audience=sigstore", scope.gha_url()), &[]);
    assert_eq!(r.status, 401, "no ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    let bearer = [("Authorization", "Bearer request-token")];
    let r = get(
        format!("{}?repository=acme/app&audience=sigstore", scope.gha_url()),
        &bearer,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let claims = jwt_claims(r.json()["value"].as_str().expect("value"));
    assert_eq!(claims["aud"], "sigstore");
    assert_eq!(claims["repository"], "acme/app");
    assert_eq!(claims["sub"], "repo:acme/app:ref:refs/heads/main");
    assert_eq!(
        claims["job_workflow_ref"],
        "acme/app/.github/workflows/release.yml@refs/heads/main"
    );
    assert!(claims["exp"].as_i64().expect("exp") > now());
    let registered = email_token("ci@example.com");
    scope.set_gha_token(Some(&registered));
    let r = get(format!("{}?audience=sigstore", scope.gha_url()), &bearer);
    assert_eq!(
        r.json()["value"],
        registered.as_str(),
        "the registered token"
    );

    // Dex: /auth redirects with a code and the state; /token checks PKCE.
    let verifier = "a-verifier-of-at-least-43-characters-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:9/callback";
    let auth = get(
        format!(
            "{}/auth?client_id=sigstore&redirect_uri={}&response_type=code&scope=openid%20email&code_challenge={challenge}&code_challenge_method=S256&state=st4te&nonce=n0nce",
            scope.oidc_url(),
            "http%3A%2F%2F127.0.0.1%3A9%2Fcallback"
        ),
        &[],
    );
    assert_eq!(auth.status, 302, "{}", auth.text());
    let location = auth.header("location").expect("Location").to_owned();
    assert!(location.starts_with(&format!("{redirect}?")), "{location}");
    assert!(location.contains("state=st4te"), "{location}");
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("code")
        .to_owned();
    let token = |code: &str, verifier: &str| {
        let form = format!(
            "grant_type=authorization_code&code={code}&code_verifier={verifier}&client_id=sigstore&redirect_uri={}",
            "http%3A%2F%2F127.0.0.1%3A9%2Fcallback"
        );
        http(
            "POST",
            &format!("{}/token", scope.oidc_url()),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
            SHORT,
        )
        .expect("POST /token")
    };
    let r = token(&code, "a-wrong-verifier-of-at-least-43-characters-000");
    assert_eq!(r.status, 400, "a wrong PKCE verifier: {}", r.text());
    // the code is spent after one exchange, good or bad
    let r = token(&code, verifier);
    assert_eq!(r.status, 400, "a spent code: {}", r.text());

    let auth = get(
        format!(
            "{}/auth?client_id=sigstore&redirect_uri={}&response_type=code&code_challenge={challenge}&code_challenge_method=S256&state=s2&nonce=n0nce",
            scope.oidc_url(),
            "http%3A%2F%2F127.0.0.1%3A9%2Fcallback"
        ),
        &[],
    );
    let location = auth.header("location").expect("Location").to_owned();
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("code")
        .to_owned();
    let r = token(&code, verifier);
    assert_eq!(r.status, 200, "{}", r.text());
    let claims = jwt_claims(r.json()["id_token"].as_str().expect("id_token"));
    assert_eq!(claims["iss"], scope.oidc_url().as_str());
    assert_eq!(claims["aud"], "sigstore");
    assert_eq!(claims["email"], ALICE);
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["nonce"], "n0nce");

    let discovery = get(
        format!("{}/.well-known/openid-configuration", scope.oidc_url()),
        &[],
    );
    assert_eq!(
        discovery.json()["token_endpoint"],
        format!("{}/token", scope.oidc_url()).as_str()
    );
}

#[test]
fn a_stack_exits_when_its_parent_lets_go_of_its_stdin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut process = sigstore::StackProcess::start(dir.path());
    let r = http("GET", &format!("{}/control", process.url), &[], b"", SHORT).expect("answers");
    assert_eq!(r.status, 200);
    process.close_stdin();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = process.child.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "the stack outlived its stdin");
        std::thread::sleep(Duration::from_millis(50));
    }
}
