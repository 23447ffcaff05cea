//! Hostile input: what a careless or malicious `signing.toml` (or a file it
//! names) does to `sigctl check`. Every case must end in a located diagnostic
//! or a clear exit-2 error, never a panic, and never print a secret.
//!
//! The first half runs the real binary in real repositories; the second half
//! drives the parsers in the library with `proptest`.

use std::time::{Duration, Instant};

use crate::util::{HSM_POLICY, Run, TestRepo, redact};

/// Every run judges dates as of this instant.
const NOW: &str = "2026-06-01T00:00:00Z";

/// An exception for `release` in prod, valid until 2026-12-01 (after `NOW`).
const EXCEPTION: &str = r#"
[[exceptions]]
id = "INC-1"
identity = "release"
environments = ["prod"]
owner = "security"
approved_by = ["sam@example.com"]
reason = "hotfix"
expires = 2026-12-01T00:00:00Z
"#;

/// A repository whose `signing.toml` is `policy`; nothing committed.
fn repo_with(policy: impl AsRef<[u8]>) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("signing.toml", policy);
    repo
}

/// `HSM_POLICY` with one replacement that must apply.
fn hsm_with(from: &str, to: &str) -> String {
    assert!(HSM_POLICY.contains(from), "HSM_POLICY has no {from:?}");
    HSM_POLICY.replacen(from, to, 1)
}

fn json_check(repo: &TestRepo) -> Run {
    repo.sigctl(&["check", "--now", NOW, "--format", "json"])
}

fn human_check(repo: &TestRepo) -> Run {
    repo.sigctl(&["check", "--now", NOW])
}

fn codes(run: &Run) -> Vec<String> {
    run.json()["diagnostics"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Check in both formats: exit `exit`, exactly one diagnostic with `code`, at
/// `line`:`column` (1-based) in the JSON and in the human report's location.
/// Returns the human run.
fn finds(repo: &TestRepo, exit: i32, code: &str, line: u64, column: u64) -> Run {
    let json = json_check(repo);
    assert_eq!(json.code, exit, "{}", json.snapshot());
    assert!(json.stderr.is_empty(), "{}", json.snapshot());
    let doc = json.json();
    assert_eq!(doc["ok"], exit == 0, "{}", json.stdout);
    let hits: Vec<_> = doc["diagnostics"]
        .as_array()
        .map(|a| a.iter().filter(|d| d["code"] == code).collect())
        .unwrap_or_default();
    assert_eq!(hits.len(), 1, "one `{code}` expected: {}", json.stdout);
    assert_eq!(hits[0]["file"], "signing.toml", "{}", json.stdout);
    assert_eq!(
        (hits[0]["line"].as_u64(), hits[0]["column"].as_u64()),
        (Some(line), Some(column)),
        "where `{code}` points: {}",
        json.stdout
    );
    let human = human_check(repo);
    assert_eq!(human.code, exit, "{}", human.snapshot());
    assert!(
        human
            .stdout
            .contains(&format!("signing.toml:{line}:{column}")),
        "the human report must point at {line}:{column} as the JSON does:\n{}",
        human.snapshot()
    );
    human
}

/// A run that stopped before judging anything: exit 2, nothing on stdout, one
/// `error:` on stderr containing `says`.
fn refuses(run: &Run, says: &str) {
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(run.stdout.is_empty(), "{}", run.snapshot());
    assert!(run.stderr.starts_with("error: "), "{}", run.snapshot());
    assert!(run.stderr.contains(says), "{}", run.snapshot());
    assert!(!run.stderr.contains("panicked"), "{}", run.snapshot());
}

fn assert_never_shows(runs: &[&Run], secrets: &[&str]) {
    for run in runs {
        for secret in secrets {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "`{secret}` was printed:\n{}",
                run.snapshot()
            );
        }
    }
}

// --- the file is not the TOML we expect --------------------------------------

#[test]
fn an_unterminated_string_is_a_syntax_error_at_the_end_of_the_line() {
    let repo = repo_with(hsm_with(
        "contact = \"security@example.com\"",
        "contact = \"security@example.com",
    ));
    let run = finds(&repo, 1, "toml-syntax", 7, 32);
    assert_eq!(codes(&json_check(&repo)), ["toml-syntax"]);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn a_missing_bracket_is_a_syntax_error_after_the_table_name() {
    let repo = repo_with(hsm_with("[owners.security]", "[owners.security"));
    let run = finds(&repo, 1, "toml-syntax", 6, 17);
    assert_eq!(codes(&json_check(&repo)), ["toml-syntax"]);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn a_string_version_is_a_wrong_type_at_the_value() {
    let repo = repo_with(hsm_with("version = 1", "version = \"1\""));
    let run = finds(&repo, 1, "wrong-type", 1, 11);
    assert_eq!(codes(&json_check(&repo)), ["wrong-type"]);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn admins_as_a_string_is_a_wrong_type_at_the_value() {
    let repo = repo_with(hsm_with("admins = [\"security\"]", "admins = \"security\""));
    let run = finds(&repo, 1, "wrong-type", 4, 10);
    assert_eq!(codes(&json_check(&repo)), ["wrong-type"]);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn a_misspelt_key_in_an_identity_is_an_unknown_field_at_the_key() {
    let repo = repo_with(hsm_with(
        "environments = [\"prod\"]\ncustody = \"hsm\"",
        "enviroments = [\"prod\"]\ncustody = \"hsm\"",
    ));
    let run = finds(&repo, 1, "unknown-field", 15, 1);
    assert_eq!(codes(&json_check(&repo)), ["unknown-field"]);
    assert!(
        run.stdout.contains("`enviroments`") && run.stdout.contains("`environments`"),
        "the message names the bad key and the right one:\n{}",
        run.stdout
    );
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn an_identity_table_defined_twice_is_a_duplicate_key_at_the_second() {
    let repo = repo_with(format!(
        "{HSM_POLICY}\n[identities.release]\nowner = \"security\"\n"
    ));
    let run = finds(&repo, 1, "duplicate-key", 21, 13);
    assert_eq!(codes(&json_check(&repo)), ["duplicate-key"]);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn two_exceptions_with_one_id_are_a_duplicate_name_at_the_second_id() {
    let repo = repo_with(format!("{HSM_POLICY}{EXCEPTION}{EXCEPTION}"));
    let run = finds(&repo, 1, "duplicate-name", 31, 6);
    assert_eq!(
        codes(&json_check(&repo)),
        ["certificate-missing", "duplicate-name"]
    );
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn an_identity_without_owner_is_a_missing_field_at_its_table() {
    let repo = repo_with(hsm_with(
        "[identities.release]\nowner = \"security\"\n",
        "[identities.release]\n",
    ));
    let run = finds(&repo, 1, "missing-field", 13, 1);
    assert_eq!(codes(&json_check(&repo)), ["missing-field"]);
    assert!(run.stdout.contains("`owner`"), "{}", run.stdout);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn non_utf8_bytes_mid_line_are_invalid_utf8_at_the_first_bad_byte() {
    let policy = HSM_POLICY.as_bytes();
    let at = HSM_POLICY.find("rity@example.com").expect("contact line");
    let mut bytes = policy[..at].to_vec();
    bytes.extend_from_slice(b"\xff\xfe");
    bytes.extend_from_slice(&policy[at..]);
    let repo = repo_with(bytes);
    // `contact = "secu` is 15 characters: the bad byte is the 16th
    let run = finds(&repo, 1, "invalid-utf8", 7, 16);
    assert_eq!(codes(&json_check(&repo)), ["invalid-utf8"]);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn a_ten_megabyte_policy_is_refused_quickly_and_never_printed() {
    let filler = "# filler that sigctl must never echo back\n";
    let repo = repo_with(filler.repeat(10 * 1024 * 1024 / filler.len() + 1));
    let started = Instant::now();
    let run = finds(&repo, 1, "file-too-large", 1, 1);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(10),
        "two checks of a 10 MB file took {elapsed:?}"
    );
    assert_eq!(codes(&json_check(&repo)), ["file-too-large"]);
    for out in [&run.stdout, &run.stderr, &json_check(&repo).stdout] {
        assert!(out.len() < 4096, "{} bytes of output", out.len());
        assert!(!out.contains("filler"), "{out}");
    }
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

// --- the environment is wrong: exit 2 ----------------------------------------

#[test]
fn a_directory_named_signing_toml_is_an_error_not_a_finding() {
    let repo = TestRepo::new();
    std::fs::create_dir_all(repo.path().join("signing.toml")).expect("dir");
    refuses(&json_check(&repo), "it is a directory, not a regular file");
    let run = human_check(&repo);
    refuses(&run, "it is a directory, not a regular file");
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn no_signing_toml_is_an_error_with_a_hint() {
    let repo = TestRepo::new();
    refuses(&json_check(&repo), "no signing.toml at");
    let run = human_check(&repo);
    refuses(&run, "no signing.toml at");
    assert!(run.stderr.contains("sigctl init"), "{}", run.stderr);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn outside_any_repository_is_an_error_with_a_hint() {
    let repo = TestRepo::new();
    let outside = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(outside.path().join("signing.toml"), HSM_POLICY).expect("write");
    refuses(
        &repo.sigctl_in(outside.path(), &["check", "--format", "json"]),
        "is not inside a git repository",
    );
    let run = repo.sigctl_in(outside.path(), &["check"]);
    refuses(&run, "is not inside a git repository");
    assert!(run.stderr.contains("git init"), "{}", run.stderr);
    let shown =
        redact(&run.snapshot(), &repo).replace(&outside.path().display().to_string(), "[OUTSIDE]");
    insta::assert_snapshot!(shown);
}

#[test]
fn a_bad_now_is_a_usage_error() {
    let repo = repo_with(HSM_POLICY);
    let run = repo.sigctl(&["check", "--now", "yesterday"]);
    refuses(&run, "--now");
    assert!(run.stderr.contains("RFC 3339"), "{}", run.stderr);
    let local = repo.sigctl(&["check", "--now", "2026-06-01T00:00:00"]);
    refuses(&local, "--now");
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

// --- certificates the policy names -------------------------------------------

#[test]
fn a_garbage_certificate_is_a_bad_certificate_at_its_path() {
    let repo = repo_with(HSM_POLICY);
    repo.write("certs/release.pem", "this is not a certificate\n");
    let run = finds(&repo, 1, "bad-certificate", 18, 15);
    assert_eq!(codes(&json_check(&repo)), ["bad-certificate"]);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn a_directory_where_the_certificate_belongs_is_a_bad_certificate() {
    let repo = repo_with(HSM_POLICY);
    std::fs::create_dir_all(repo.path().join("certs/release.pem")).expect("dir");
    let run = finds(&repo, 1, "bad-certificate", 18, 15);
    assert_eq!(codes(&json_check(&repo)), ["bad-certificate"]);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn a_certificate_path_escaping_the_repository_is_refused_unread() {
    let repo = repo_with(hsm_with(
        "certificate = \"certs/release.pem\"",
        "certificate = \"certs/../../outside.pem\"",
    ));
    // a perfectly good certificate: only the path is wrong
    let cert = repo.certificate("release", "20260101000000Z", "20270101000000Z", true);
    std::fs::write(repo.dir.path().join("outside.pem"), cert).expect("write");
    let run = finds(&repo, 1, "bad-certificate", 18, 15);
    assert_eq!(codes(&json_check(&repo)), ["bad-certificate"]);
    assert!(
        run.stdout.contains("outside the repository"),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[cfg(unix)]
#[test]
fn a_certificate_symlink_leading_out_of_the_repository_is_refused() {
    let repo = repo_with(HSM_POLICY);
    let cert = repo.certificate("release", "20260101000000Z", "20270101000000Z", true);
    let outside = repo.dir.path().join("outside.pem");
    std::fs::write(&outside, cert).expect("write");
    std::fs::create_dir_all(repo.path().join("certs")).expect("dir");
    std::os::unix::fs::symlink(&outside, repo.path().join("certs/release.pem")).expect("symlink");
    let run = finds(&repo, 1, "bad-certificate", 18, 15);
    assert_eq!(codes(&json_check(&repo)), ["bad-certificate"]);
    assert!(
        run.stdout.contains("outside the repository"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_oversized_certificate_is_refused_unread() {
    let repo = repo_with(HSM_POLICY);
    repo.write("certs/release.pem", vec![b'A'; 2 * 1024 * 1024]);
    let run = finds(&repo, 1, "bad-certificate", 18, 15);
    let json = json_check(&repo);
    assert_eq!(codes(&json), ["bad-certificate"]);
    assert!(
        json.json()["diagnostics"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2097152 bytes, over the 1048576 byte limit")),
        "{}",
        json.stdout
    );
    assert!(!run.stdout.contains("AAAA"), "{}", run.stdout);
}

// --- values outside what a key accepts -----------------------------------------

#[test]
fn a_duration_with_words_is_an_invalid_value_at_the_value() {
    let repo = repo_with(hsm_with(
        "renew_before = \"30d\"",
        "renew_before = \"30 days\"",
    ));
    let run = finds(&repo, 1, "invalid-value", 19, 16);
    assert_eq!(codes(&json_check(&repo)), ["invalid-value"]);
    assert!(
        run.stdout.contains("`30d`"),
        "the message shows the right form:\n{}",
        run.stdout
    );
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

#[test]
fn a_local_date_time_in_an_exception_is_an_invalid_value_at_the_value() {
    let repo = repo_with(format!(
        "{HSM_POLICY}{}",
        EXCEPTION.replace("2026-12-01T00:00:00Z", "2026-12-01T00:00:00")
    ));
    let run = finds(&repo, 1, "invalid-value", 28, 11);
    assert_eq!(codes(&json_check(&repo)), ["invalid-value"]);
    assert!(run.stdout.contains("offset"), "{}", run.stdout);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

// --- secrets ---------------------------------------------------------------------

const PIN: &str = "31337424242";

#[test]
fn a_pin_in_the_key_uri_is_an_error_and_never_printed() {
    let repo = repo_with(hsm_with(
        "object=release\"",
        &format!("object=release?pin-value={PIN}\""),
    ));
    let run = finds(&repo, 1, "pin-in-uri", 17, 7);
    let json = json_check(&repo);
    assert_eq!(codes(&json), ["pin-in-uri", "certificate-missing"]);
    assert_never_shows(&[&run, &json], &[PIN]);
    insta::assert_snapshot!(redact(&run.snapshot(), &repo));
}

/// The URI parser reads attribute names case-insensitively, so the redaction
/// must too: `PIN-VALUE=` is caught as a PIN and must be masked like one.
#[test]
fn a_pin_in_upper_case_is_never_printed() {
    let repo = repo_with(hsm_with(
        "object=release\"",
        &format!("object=release?PIN-VALUE={PIN}\""),
    ));
    let json = json_check(&repo);
    assert_eq!(codes(&json), ["pin-in-uri", "certificate-missing"]);
    assert_never_shows(&[&json, &human_check(&repo)], &[PIN]);
}

/// A percent-encoded name is still a PIN: reported as one (change the PIN),
/// not as an unknown attribute.
#[test]
fn a_percent_encoded_pin_name_is_a_pin_in_the_uri() {
    for name in [
        "pin%2Dvalue",
        "pin%2dvalue",
        "%70in-%76alue",
        "pin-value%20",
    ] {
        let repo = repo_with(hsm_with(
            "object=release\"",
            &format!("object=release?{name}={PIN}\""),
        ));
        let json = json_check(&repo);
        assert_eq!(
            codes(&json),
            ["pin-in-uri", "certificate-missing"],
            "{name}"
        );
        assert_never_shows(&[&json, &human_check(&repo)], &[PIN]);
    }
}

/// TOML escapes spell the same URI: the value carries a `pin-value` that the
/// raw text shown in the snippet does not literally contain.
#[test]
fn a_pin_behind_a_toml_escape_is_never_printed() {
    let repo = repo_with(hsm_with(
        "object=release\"",
        &format!("object=release?pin\\u002Dvalue={PIN}\""),
    ));
    let json = json_check(&repo);
    assert_eq!(codes(&json), ["pin-in-uri", "certificate-missing"]);
    assert_never_shows(&[&json, &human_check(&repo)], &[PIN]);
}

/// Every spelling of a PIN-bearing attribute that a renderer may show, in a
/// line a diagnostic points at: the whole value is masked, whatever the
/// quoting, spacing, case, TOML escape or percent-encoding of the name.
#[test]
fn a_pin_is_masked_whole_in_every_spelling() {
    let name = ["pin", "value"].join("-");
    let spellings = [
        format!("{name} = \"{PIN} {PIN}\""),
        format!("{name}=\"{PIN}\""),
        format!("\"{name}\" = \"{PIN}\""),
        format!("'{}' = '{PIN}'", name.to_uppercase()),
        format!("\"pin%2Dvalue\" = \"{PIN}\""),
        format!("\"pin%2dvalue\"={PIN}"),
        format!("\"pin\\u002Dvalue\" = \"{PIN}\""),
        format!("\"%70in-value\" = \"{PIN}\""),
        format!("{name} = {PIN}"),
        format!("{name} =\t\"{PIN}\""),
    ];
    for line in &spellings {
        // an unknown key in the identity table: check points at this line
        let repo = repo_with(hsm_with(
            "renew_before = \"30d\"\n",
            &format!("renew_before = \"30d\"\n{line}\n"),
        ));
        let human = human_check(&repo);
        let json = json_check(&repo);
        assert_ne!(human.code, 0, "{line}: {}", human.snapshot());
        assert_never_shows(&[&human, &json], &[PIN]);
    }
    // and inside the key URI, percent-encoded
    for uri in [
        format!("object=release?pin%2Dvalue={PIN}\""),
        format!("object=release;pin%2dvalue=%33%31{PIN}\""),
    ] {
        let repo = repo_with(hsm_with("object=release\"", &uri));
        assert_never_shows(&[&human_check(&repo), &json_check(&repo)], &[PIN]);
    }
}

#[test]
fn a_private_key_pasted_into_the_policy_is_found_and_never_printed() {
    let repo = TestRepo::new();
    let key = String::from_utf8(repo.openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]))
    .expect("PEM is ASCII");
    let body: Vec<&str> = key
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.trim().is_empty())
        .collect();
    assert!(body.len() >= 2, "{key}");
    // every line, and each half of every line, must stay unseen
    let mut secrets: Vec<&str> = body.clone();
    for line in &body {
        let half = line.len() / 2;
        secrets.extend(
            [&line[..half], &line[half..]]
                .into_iter()
                .filter(|s| s.len() >= 16),
        );
    }
    let commented: String = key.lines().map(|l| format!("# {l}\n")).collect();
    // (name, policy, the policy finding with its place, where the key starts)
    #[allow(clippy::type_complexity)] // (name, policy, TOML error code and place, shadow-key place)
    let cases: [(&str, String, Option<(&str, u64, u64)>, (u64, u64)); 4] = [
        (
            "private_key_in_a_comment",
            format!("{HSM_POLICY}{commented}"),
            None,
            (20, 3),
        ),
        (
            "private_key_as_an_unknown_key",
            format!("{HSM_POLICY}private_key = \"\"\"\n{key}\"\"\"\n"),
            Some(("unknown-field", 20, 1)),
            (21, 1),
        ),
        (
            "private_key_as_a_value_of_the_wrong_type",
            format!("{HSM_POLICY}keyless = \"\"\"\n{key}\"\"\"\n"),
            Some(("wrong-type", 20, 11)),
            (21, 1),
        ),
        (
            "private_key_pasted_raw",
            format!("{HSM_POLICY}{key}"),
            Some(("toml-syntax", 20, 12)),
            (20, 1),
        ),
    ];
    for (name, policy, finding, (line, column)) in cases {
        repo.write("signing.toml", &policy);
        repo.git(&["add", "signing.toml"]);
        let run = finds(&repo, 1, "shadow-key", line, column);
        if let Some((code, line, column)) = finding {
            finds(&repo, 1, code, line, column);
        }
        let json = json_check(&repo);
        assert_never_shows(&[&run, &json], &secrets);
        insta::assert_snapshot!(name, redact(&run.snapshot(), &repo));
    }
}

// --- the two formats agree ---------------------------------------------------------

/// JSON columns count characters (docs); the human report's `file:line:column`
/// must give the same place when a line holds non-ASCII text before the error.
#[test]
fn human_and_json_agree_on_the_column_after_non_ascii_text() {
    let wrong_type = hsm_with("admins = [\"security\"]", "admins = [\"sécurité\", 1]");
    let mut bad_utf8 = hsm_with("secu", "sécu").into_bytes();
    let at = bad_utf8
        .windows(4)
        .position(|w| w == b"rity")
        .expect("contact");
    bad_utf8.splice(at..at, *b"\xff");
    for (policy, code, line, column) in [
        (wrong_type.into_bytes(), "wrong-type", 4, 23),
        (bad_utf8, "invalid-utf8", 4, 16),
    ] {
        let repo = repo_with(policy);
        finds(&repo, 1, code, line, column);
    }
}

// --- messages a policy author can act on -------------------------------------------

/// Wrong-type messages come from serde; a policy author knows TOML's types
/// (integer, string, array, table), not sigctl's Rust ones.
#[test]
fn a_wrong_type_message_names_no_rust_type() {
    for (policy, line, column) in [
        (hsm_with("version = 1", "version = \"1\""), 1, 11),
        (
            hsm_with(
                "renew_before = \"30d\"",
                "renew_before = \"30d\"\nkeyless = \"https://accounts.example.com\"",
            ),
            20,
            11,
        ),
    ] {
        let repo = repo_with(policy);
        finds(&repo, 1, "wrong-type", line, column);
        let json = json_check(&repo);
        let message = json.json()["diagnostics"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for rust in ["i64", "struct", "Raw"] {
            assert!(!message.contains(rust), "`{rust}` in: {message}");
        }
    }
}

// --- property tests: the parsers never panic ------------------------------------------

mod props {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use sigctl::diag::Diagnostic;
    use sigctl::lifecycle::shadow_keys;
    use sigctl::policy::timestamp::Timestamp;
    use sigctl::policy::{self, CertInput, Inputs, load};
    use sigctl::render::human;
    use sigctl::signature::x509;
    use time::OffsetDateTime;

    use crate::util::HSM_POLICY;

    const LEAF_PEM: &[u8] = include_bytes!("../fixtures/certs/leaf.pem");
    const LEAF_DER: &[u8] = include_bytes!("../fixtures/certs/leaf.der");

    /// Starts that lead the certificate parser past its first checks.
    const CERT_PREFIXES: &[&[u8]] = &[
        b"",
        b"\x30",
        b"\x30\x82",
        b"-----BEGIN CERTIFICATE-----\n",
        b"-----BEGIN ",
    ];
    /// Starts that lead the shadow-key scanner into its DER decoder.
    const DER_PREFIXES: &[&[u8]] = &[b"", b"\x30", b"\x30\x81", b"\x30\x82"];

    /// 256 cases each (proptest's default; `PROPTEST_CASES` raises it for a
    /// longer hunt). A failure is reported with its minimal input; nothing is
    /// written next to the tests.
    fn config() -> ProptestConfig {
        ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Bytes that matter to TOML and to sigctl, weighted over arbitrary ones.
    fn byte() -> impl Strategy<Value = u8> {
        const SIGNIFICANT: &[u8] = b"[]{}=\"'#\n\r\t ,.:-_\\0123456789tfTZe";
        prop_oneof![
            1 => any::<u8>(),
            3 => proptest::sample::select(SIGNIFICANT),
            2 => 0x20u8..0x7f,
        ]
    }

    #[derive(Debug, Clone)]
    enum Edit {
        Insert(usize, u8),
        Delete(usize),
        Replace(usize, u8),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<usize>(), byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
            any::<usize>().prop_map(Edit::Delete),
            (any::<usize>(), byte()).prop_map(|(i, b)| Edit::Replace(i, b)),
        ]
    }

    fn apply(base: &[u8], edits: &[Edit]) -> Vec<u8> {
        let mut out = base.to_vec();
        for e in edits {
            match *e {
                Edit::Insert(i, b) => out.insert(i % (out.len() + 1), b),
                Edit::Delete(i) if !out.is_empty() => {
                    let at = i % out.len();
                    out.remove(at);
                }
                Edit::Replace(i, b) if !out.is_empty() => {
                    let at = i % out.len();
                    out[at] = b;
                }
                _ => {}
            }
        }
        out
    }

    /// Pieces of policies, valid and not, glued at random.
    fn token_soup() -> impl Strategy<Value = String> {
        const TOKENS: &[&str] = &[
            "version",
            " = ",
            "=",
            "1",
            "\"1\"",
            "\n",
            "\n",
            "\n",
            "[",
            "]",
            "[[",
            "]]",
            "policy",
            "admins",
            "owners",
            "security",
            "contact",
            "members",
            "environments",
            "prod",
            "identities",
            "release",
            "exceptions",
            "revocations",
            ".",
            "\"",
            "'",
            "\"\"\"",
            "'''",
            "{",
            "}",
            ",",
            "#",
            "owner",
            "custody",
            "hsm",
            "keyless",
            "unmanaged",
            "key",
            "pkcs11:token=a;object=b",
            "?pin-value=1234",
            "PIN-VALUE=",
            "certificate",
            "certs/release.pem",
            "../x",
            "renew_before",
            "30d",
            "99999999999w",
            "public_key",
            "sha256:00",
            "ssh_key",
            "ssh-ed25519 AAAA",
            "issuer",
            "subject",
            "https://e.example",
            "refs",
            "refs/tags/v*",
            "refs/**",
            "id",
            "identity",
            "approved_by",
            "reason",
            "review",
            "expires",
            "revoked_at",
            "compromised_since",
            "key-compromise",
            "2026-12-01T00:00:00Z",
            "2026-12-01T00:00:00",
            "2026-12-01",
            "9999-12-31T23:59:59Z",
            "0000-01-01T00:00:00-23:59",
            "true",
            "-1",
            "1e400",
            "nan",
            "é",
            "😀",
            "\r\n",
            "\\",
            "\\u0000",
            "\\uD800",
            " ",
            "\t",
            "\u{feff}",
            "\0",
            concat!("-----", "BEGIN ", "PRIVATE KEY", "-----"),
            concat!("-----", "END ", "PRIVATE KEY", "-----"),
            "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg",
        ];
        vec(proptest::sample::select(TOKENS), 0..200).prop_map(|t| t.concat())
    }

    /// Parse `bytes`; when they parse, validate them twice: with no inputs at
    /// the epoch, and with the fixture certificate inside its renewal window.
    fn judged(bytes: &[u8]) -> (policy::load::Parsed, Vec<Diagnostic>) {
        let parsed = load::parse("signing.toml", bytes);
        let diags = match &parsed.result {
            Ok(raw) => {
                let mut all = policy::validate(
                    raw,
                    &parsed.source,
                    &Inputs::default(),
                    OffsetDateTime::UNIX_EPOCH,
                );
                let mut inputs = Inputs::default();
                for path in policy::referenced_paths(raw) {
                    inputs
                        .certificates
                        .insert(path, CertInput::Bytes(LEAF_PEM.to_vec()));
                }
                let late = Timestamp::parse("2026-12-15T00:00:00Z").expect("instant").0;
                all.extend(policy::validate(raw, &parsed.source, &inputs, late));
                all
            }
            Err(d) => vec![d.clone()],
        };
        (parsed, diags)
    }

    /// Parse, validate and render `bytes`; every diagnostic lies within the text.
    fn survives(bytes: &[u8]) -> Result<(), TestCaseError> {
        let (parsed, diags) = judged(bytes);
        let text = &parsed.source.text;
        let lines: Vec<&str> = text.split('\n').collect();
        for d in &diags {
            prop_assert!(
                d.line >= 1 && d.line <= lines.len(),
                "{}: line {} of {} in {text:?}",
                d.code,
                d.line,
                lines.len()
            );
            let width = lines[d.line - 1].chars().count();
            prop_assert!(
                d.column >= 1 && d.column <= width + 1,
                "{}: column {} on line {} of {width} characters in {text:?}",
                d.code,
                d.column,
                d.line
            );
            if let Some(span) = &d.span {
                prop_assert!(
                    span.start <= span.end && span.end <= text.len(),
                    "{}: span {span:?} of {} bytes",
                    d.code,
                    text.len()
                );
            }
        }
        // what the CLI prints next must not panic either
        let _ = human::diagnostics(&diags, std::slice::from_ref(&parsed.source), 100);
        Ok(())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn the_policy_loader_survives_arbitrary_bytes(bytes in vec(any::<u8>(), 0..4096)) {
            survives(&bytes)?;
        }

        #[test]
        fn the_policy_loader_survives_arbitrary_text(chars in vec(any::<char>(), 0..1024)) {
            survives(String::from_iter(chars).as_bytes())?;
        }

        #[test]
        fn the_policy_loader_survives_token_soup(text in token_soup()) {
            survives(text.as_bytes())?;
        }

        #[test]
        fn the_policy_loader_survives_a_mutated_policy(edits in vec(edit(), 1..=4)) {
            survives(&apply(HSM_POLICY.as_bytes(), &edits))?;
        }

        #[test]
        fn the_policy_loader_survives_a_truncated_policy(
            at in 0..=HSM_POLICY.len(),
            tail in proptest::option::of(any::<char>()),
        ) {
            let mut text = HSM_POLICY.as_bytes()[..at].to_vec();
            if let Some(c) = tail {
                text.extend_from_slice(c.to_string().as_bytes());
            }
            survives(&text)?;
        }

        #[test]
        fn the_certificate_parser_survives_arbitrary_bytes(
            prefix in proptest::sample::select(CERT_PREFIXES),
            bytes in vec(any::<u8>(), 0..4096),
        ) {
            let _ = x509::parse(&[prefix, &bytes[..]].concat());
        }

        #[test]
        fn the_certificate_parser_survives_a_mutated_certificate(
            pem in any::<bool>(),
            edits in vec(edit(), 1..=4),
        ) {
            let _ = x509::parse(&apply(if pem { LEAF_PEM } else { LEAF_DER }, &edits));
        }

        #[test]
        fn the_shadow_key_scanner_survives_arbitrary_bytes(
            prefix in proptest::sample::select(DER_PREFIXES),
            bytes in vec(any::<u8>(), 0..4096),
        ) {
            let data = [prefix, &bytes[..]].concat();
            let lines = data.iter().filter(|b| **b == b'\n').count() + 1;
            for f in shadow_keys::scan(&data) {
                prop_assert!(f.offset <= data.len(), "{f:?}");
                prop_assert!(f.line >= 1 && f.line <= lines && f.column >= 1, "{f:?}");
            }
        }

        #[test]
        fn redaction_keeps_offsets_and_hides_every_key_it_finds(
            before in vec(byte(), 0..64),
            label in proptest::sample::select(&["PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "CERTIFICATE"][..]),
            body in vec(proptest::sample::select(&b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n"[..]), 0..256),
            after in vec(byte(), 0..64),
        ) {
            let body = String::from_utf8(body).expect("ASCII");
            let text = format!(
                "{}-----BEGIN {label}-----\n{body}\n-----END {label}-----\n{}",
                String::from_utf8_lossy(&before),
                String::from_utf8_lossy(&after),
            );
            let red = shadow_keys::redact(&text);
            prop_assert_eq!(red.len(), text.len());
            prop_assert_eq!(red.matches('\n').count(), text.matches('\n').count());
            if !shadow_keys::scan(text.as_bytes()).is_empty() {
                for line in body.lines().filter(|l| l.len() >= 8) {
                    prop_assert!(!red.contains(line), "{line:?} still in {red:?}");
                }
            }
        }
    }

    /// A syntax error at the very end of a file points at its last character;
    /// when that character is several bytes long the column must still count
    /// characters, not bytes.
    #[test]
    fn an_error_at_the_end_after_a_multibyte_character_stays_on_the_line() {
        for last in ["é", "😀"] {
            let text = format!("version = 1\n[a]\nb = \"{last}");
            let (_, diags) = judged(text.as_bytes());
            let d = diags.first().expect("a diagnostic");
            assert_eq!(d.code.as_str(), "toml-syntax");
            // `b = "` is 5 characters: the last one is column 6, the end column 7
            assert_eq!(d.line, 3, "{d:?}");
            assert!(
                (6..=7).contains(&d.column),
                "{last:?}: column {} on a line of 6 characters",
                d.column
            );
        }
    }
}

/// miette cannot pad past column 65,535 (Rust's format width limit): a
/// finding far along one line is shown in a clipped window, with the true
/// column in the header, never a panic.
#[test]
fn a_finding_past_column_65535_is_shown_clipped() {
    let pad = " ".repeat(70_000);
    let repo = repo_with(hsm_with(
        "admins = [\"security\"]\n",
        &format!("admins = [\"security\"]\n{pad}bogus = 1\n"),
    ));
    let run = finds(&repo, 1, "unknown-field", 5, 70_001);
    let human = human_check(&repo);
    assert_eq!(human.code, 1, "{}", human.snapshot());
    assert!(!human.stderr.contains("panicked"), "{}", human.stderr);
    assert!(
        human.stdout.contains("[signing.toml:5:70001]"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("bogus"), "{}", human.stdout);
    let widest = human
        .stdout
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    assert!(widest < 300, "a line of {widest} characters");
    drop(run);
}

/// A notes history is anyone's to push: trees nested 30,000 deep (made with
/// git fast-import) must not overflow the stack of `audit` or `provenance`.
#[test]
fn notes_trees_nested_30000_deep_are_no_crash() {
    let repo = repo_with(HSM_POLICY);
    repo.commit("policy");
    let path = format!("{}/x", vec!["ab"; 30_000].join("/"));
    let mut stream = String::new();
    for (i, body) in ["1", "2"].iter().enumerate() {
        stream.push_str(&format!(
            "commit refs/notes/signing\ncommitter T <t@example.com> {} +0000\ndata 2\nn\n\
             M 100644 inline {path}\ndata 2\n{body}\n\n",
            1_700_000_000 + i
        ));
    }
    repo.git_input(&["fast-import", "--quiet"], stream.as_bytes());
    for args in [
        &["audit"][..],
        &["audit", "--format", "json"],
        &["provenance", "show", "HEAD"],
    ] {
        let run = repo.sigctl(args);
        assert!(
            matches!(run.code, 0..=2),
            "{args:?} exit {}: {}",
            run.code,
            run.snapshot()
        );
        assert!(!run.stderr.contains("overflow"), "{}", run.snapshot());
        assert!(!run.stderr.contains("Usage:"), "{}", run.snapshot());
        assert!(!run.stderr.contains("panicked"), "{}", run.snapshot());
    }
}
