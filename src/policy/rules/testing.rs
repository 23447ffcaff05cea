//! One helper for every rule test: inline TOML in, codes or rendered diagnostics out.

use time::OffsetDateTime;

use crate::diag::Diagnostic;
use crate::policy::timestamp::Timestamp;
use crate::policy::{CertInput, Inputs, load, validate};
use crate::render::human;

/// A valid policy with a keyless and an unmanaged identity.
pub const MINIMAL: &str = r#"version = 1

[policy]
admins = ["security"]

[owners.security]
contact = "security@example.com"
members = ["sam@example.com"]

[owners.release]
contact = "release@example.com"

[environments.prod]
refs = ["refs/tags/v*"]
custody = ["hsm", "keyless"]

[environments.dev]
refs = ["refs/heads/*"]
custody = ["hsm", "keyless", "unmanaged"]

[identities.release]
owner = "release"
environments = ["prod"]
custody = "keyless"
keyless = { issuer = "https://accounts.example.com", subject = "release@example.com" }

[identities.sam]
owner = "security"
environments = ["dev"]
custody = "unmanaged"
ssh_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJevw6pBm4PadGwWX7fOUgQ99MAxIq3Nwyd9443PkGT7 sam@example.com"

[sigstore]
trusted_root = "sigstore/trusted_root.json"
"#;

/// A valid policy with an hsm identity whose certificate is `certs/release-2026.pem`.
pub const HSM: &str = r#"version = 1

[policy]
admins = ["security"]

[owners.security]
contact = "security@example.com"

[environments.prod]
refs = ["refs/tags/v*"]
custody = ["hsm"]

[identities.release-2026]
owner = "security"
purpose = "Sign release tags and binaries"
environments = ["prod"]
custody = "hsm"
key = "pkcs11:token=release;object=release-2026"
certificate = "certs/release-2026.pem"
renew_before = "30d"
"#;

/// An exception for `sam` in prod, expiring 2026-12-01.
pub const EXCEPTION: &str = r#"
[[exceptions]]
id = "INC-4711"
identity = "sam"
environments = ["prod"]
owner = "release"
approved_by = ["sam@example.com"]
reason = "Emergency hotfix for a CVE"
expires = 2026-12-01T00:00:00Z
"#;

/// The instant tests run at unless they say otherwise.
pub fn now() -> OffsetDateTime {
    at("2026-11-27T00:00:00Z")
}

pub fn at(s: &str) -> OffsetDateTime {
    Timestamp::parse(s)
        .map(|t| t.0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn fixture_cert(name: &str) -> CertInput {
    let bytes: &[u8] = match name {
        "leaf.pem" => include_bytes!("../../../tests/fixtures/certs/leaf.pem"),
        "leaf.der" => include_bytes!("../../../tests/fixtures/certs/leaf.der"),
        "leaf-no-codesign.pem" => {
            include_bytes!("../../../tests/fixtures/certs/leaf-no-codesign.pem")
        }
        // valid 2026-11-27 .. 2036-11-24, another key: a successor's window
        "ca.pem" => include_bytes!("../../../tests/fixtures/certs/ca.pem"),
        _ => b"",
    };
    CertInput::Bytes(bytes.to_vec())
}

fn run(
    policy: &str,
    files: &[(&str, CertInput)],
    now: OffsetDateTime,
) -> (Vec<Diagnostic>, load::Parsed) {
    let parsed = load::parse("signing.toml", policy.as_bytes());
    let mut inputs = Inputs::default();
    // a trusted root of the right shape (its CA is the fixture leaf: shape is all check reads)
    let trusted_root = format!(
        "{{\"certificateAuthorities\": [{{\"certChain\": {{\"certificates\": [{{\"rawBytes\": \"{}\"}}]}}}}]}}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            include_bytes!("../../../tests/fixtures/certs/leaf.der")
        )
    );
    inputs.certificates.insert(
        "sigstore/trusted_root.json".to_owned(),
        CertInput::Bytes(trusted_root.into_bytes()),
    );
    for (path, input) in files {
        inputs
            .certificates
            .insert((*path).to_owned(), input.clone());
    }
    let diags = match &parsed.result {
        Ok(raw) => validate(raw, &parsed.source, &inputs, now),
        Err(d) => vec![d.clone()],
    };
    (diags, parsed)
}

fn codes_of(d: &[Diagnostic]) -> Vec<String> {
    d.iter().map(|d| d.code.to_string()).collect()
}

fn render(policy: &str, files: &[(&str, CertInput)], now: OffsetDateTime) -> String {
    let (diags, parsed) = run(policy, files, now);
    human::diagnostics(&diags, std::slice::from_ref(&parsed.source), 100)
}

pub fn codes(policy: &str) -> Vec<String> {
    codes_of(&run(policy, &[], now()).0)
}
pub fn codes_at_now(policy: &str, t: OffsetDateTime) -> Vec<String> {
    codes_of(&run(policy, &[], t).0)
}
pub fn codes_with(policy: &str, path: &str, input: CertInput) -> Vec<String> {
    codes_of(&run(policy, &[(path, input)], now()).0)
}
/// Codes with several referenced files (certificates, key files, CA files).
pub fn codes_with_all(policy: &str, files: &[(&str, CertInput)]) -> Vec<String> {
    codes_of(&run(policy, files, now()).0)
}
/// Codes with several referenced files at a time.
pub fn codes_all_at(policy: &str, files: &[(&str, CertInput)], t: OffsetDateTime) -> Vec<String> {
    codes_of(&run(policy, files, t).0)
}
pub fn codes_at(policy: &str, path: &str, input: CertInput, t: OffsetDateTime) -> Vec<String> {
    codes_of(&run(policy, &[(path, input)], t).0)
}
pub fn snapshot(policy: &str) -> String {
    render(policy, &[], now())
}
pub fn snapshot_at_now(policy: &str, t: OffsetDateTime) -> String {
    render(policy, &[], t)
}
pub fn snapshot_with(policy: &str, path: &str, input: CertInput) -> String {
    render(policy, &[(path, input)], now())
}
pub fn snapshot_with_all(policy: &str, files: &[(&str, CertInput)]) -> String {
    render(policy, files, now())
}
pub fn snapshot_at(policy: &str, path: &str, input: CertInput, t: OffsetDateTime) -> String {
    render(policy, &[(path, input)], t)
}

#[test]
fn the_fixture_policies_are_clean() {
    assert!(codes(MINIMAL).is_empty(), "{}", snapshot(MINIMAL));
    assert!(codes_with(HSM, "certs/release-2026.pem", fixture_cert("leaf.pem")).is_empty());
}
