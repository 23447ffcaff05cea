//! Unit tests of the verification rules on real signatures from other tools.
use super::*;
use crate::policy;
use crate::repo::walk::split_commit_signature;
use crate::signature::{fulcio, openpgp, x509};
use signer::{REKOR_TIME, Signer, effective_time};

/// `rules::authorise` with no other parent and no tip: the identity.
fn authorise(
    policy: &Resolved,
    _tips: &[Rc<Resolved>],
    checked: &Checked,
    envs: &[String],
    _changes_policy: bool,
) -> std::result::Result<Arc<str>, (Reason, String)> {
    rules::authorise(policy, &[], &[], checked, envs).map(|s| s.identity)
}

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn checked(name: &str) -> Checked {
    let raw = std::fs::read(format!("{TESTDATA}/gitsign/{name}.commit")).unwrap_or_default();
    let (sig, payload) = split_commit_signature(&raw).unwrap_or_default();
    check_signature(&sig, &payload, 0).unwrap_or_else(|e| panic!("{name}: {}", e.1))
}

fn resolved(identity: &str, with_trust: bool) -> Resolved {
    let policy = format!(
        "version = 1\n[policy]\nadmins = [\"o\"]\n[owners.o]\ncontact = \"o@example.com\"\n\
         [environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"keyless\"]\n\
         [identities.dev]\nowner = \"o\"\nenvironments = [\"dev\"]\ncustody = \"keyless\"\nkeyless = {identity}\n"
    );
    let raw = policy::load::parse("signing.toml", policy.as_bytes())
        .result
        .unwrap_or_else(|d| panic!("{}", d.message));
    let trust = with_trust.then(|| {
        fulcio::TrustedRoot::from_json(
            &std::fs::read(format!(
                "{TESTDATA}/trust/sigstore-public-good.trusted_root.json"
            ))
            .unwrap_or_default(),
        )
        .unwrap_or_default()
    });
    let keyless = raw
        .identities
        .iter()
        .filter_map(|(n, id)| {
            id.keyless.as_ref().map(|k| {
                (
                    n.get().as_str().into(),
                    k.issuer.get().clone(),
                    k.subject.get().clone(),
                )
            })
        })
        .collect();
    let mut r = Resolved::bare(0, Rc::new(raw));
    r.keyless = keyless;
    r.trust = trust;
    r
}

const CTADEU: &str = "2a9386b15d6f644d949eeb18e03a959fc7d71282";

#[test]
fn a_gitsign_commit_is_authorised_by_its_keyless_identity_only() {
    let c = checked(CTADEU);
    let ok = resolved(
        "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
        true,
    );
    assert_eq!(
        authorise(&ok, &[], &c, &["dev".to_owned()], false).map_err(|e| e.0),
        Ok("dev".into())
    );

    let other = resolved(
        "{ issuer = \"https://github.com/login/oauth\", subject = \"someone@example.com\" }",
        true,
    );
    assert_eq!(
        authorise(&other, &[], &c, &[], false).map_err(|e| e.0),
        Err(Reason::UnknownSigner)
    );

    let other_issuer = resolved(
        "{ issuer = \"https://accounts.google.com\", subject = \"ctadeu@gmail.com\" }",
        true,
    );
    assert_eq!(
        authorise(&other_issuer, &[], &c, &[], false).map_err(|e| e.0),
        Err(Reason::UnknownSigner)
    );

    let untrusted = resolved(
        "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
        false,
    );
    assert_eq!(
        authorise(&untrusted, &[], &c, &[], false).map_err(|e| e.0),
        Err(Reason::UnknownSigner)
    );
}

#[test]
fn a_keyless_signature_outside_its_ten_minutes_is_refused() {
    let mut c = checked(CTADEU);
    c.signed_at += time::Duration::hours(1);
    let ok = resolved(
        "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
        true,
    );
    assert_eq!(
        authorise(&ok, &[], &c, &[], false).map_err(|e| e.0),
        Err(Reason::CertificateInvalidAtSigning)
    );
}

#[test]
fn the_odd_dex_issuer_does_not_pass_for_github() {
    let c = checked("589347413c5ce7c8fe1b3400eb0173f0d74077a8");
    let github = resolved(
        "{ issuer = \"https://github.com/login/oauth\", subject = \"billy@chainguard.dev\" }",
        true,
    );
    assert_eq!(
        authorise(&github, &[], &c, &[], false).map_err(|e| e.0),
        Err(Reason::UnknownSigner)
    );
}

fn pgp_checked(path: &str) -> Checked {
    let raw = std::fs::read(format!("{TESTDATA}/openpgp/{path}")).unwrap_or_default();
    let (sig, payload) = split_commit_signature(&raw).unwrap_or_default();
    check_signature(&sig, &payload, 0).unwrap_or_else(|e| panic!("{path}: {}", e.1))
}

fn with_pgp_key(key_file: &str) -> Resolved {
    let mut r = resolved(
        "{ issuer = \"https://github.com/login/oauth\", subject = \"nobody@example.com\" }",
        false,
    );
    let keys = openpgp::read_keys(
        &std::fs::read(format!("{TESTDATA}/openpgp/{key_file}")).unwrap_or_default(),
    )
    .unwrap_or_default();
    r.by_pgp.push(("dev".into(), keys));
    r
}

#[test]
fn a_web_flow_merge_is_authorised_by_the_forge_key_only() {
    let new_key = with_pgp_key("github-web-flow-968479A1AFF927E37D1A566BB5690EEEBB952194.asc");
    let c = pgp_checked("cde02c7a5ea01dcf896ee1894d2daf8b81325410.commit");
    assert_eq!(
        authorise(&new_key, &[], &c, &[], false).map_err(|e| e.0),
        Ok("dev".into())
    );
    assert_eq!(c.time_source, "signature creation time (untrusted)");
    let junio = with_pgp_key("junio-gpg-pub-96E07AF25771955980DAD10020D04E5A713660A7.asc");
    assert_eq!(
        authorise(&junio, &[], &c, &[], false).map_err(|e| e.0),
        Err(Reason::UnknownSigner)
    );
    let tampered =
        pgp_checked("tampered/cde02c7a5ea01dcf896ee1894d2daf8b81325410.body-byte-flipped.commit");
    assert_eq!(
        authorise(&new_key, &[], &tampered, &[], false).map_err(|e| e.0),
        Err(Reason::BadSignature)
    );
}

fn smime_checked(name: &str) -> Checked {
    let raw = std::fs::read(format!("{TESTDATA}/smimesign/{name}.commit")).unwrap_or_default();
    let (sig, payload) = split_commit_signature(&raw).unwrap_or_default();
    check_signature(&sig, &payload, 0).unwrap_or_else(|e| panic!("{name}: {}", e.1))
}

fn anchored_at(ca: &[u8], subject: &str) -> Resolved {
    let mut r = resolved(
        "{ issuer = \"https://a.example\", subject = \"nobody\" }",
        false,
    );
    r.anchored.push((
        "dev".into(),
        fulcio::TrustedRoot {
            cas: x509::ca_certificates(ca).unwrap_or_else(|e| panic!("{e}")),
            tlogs: Vec::new(),
            tsas: Vec::new(),
            windows: Vec::new(),
            id: [0; 32],
        },
        subject.to_owned(),
    ));
    r
}

#[test]
fn an_smimesign_commit_is_authorised_through_the_ca_its_identity_anchors() {
    let certum = std::fs::read(format!(
        "{TESTDATA}/smimesign/certum-trusted-network-ca.pem"
    ))
    .unwrap_or_default();
    let c = smime_checked("9f553393e2739b0d63ba5a2e29d1c51d22ebc07e");
    // the manifest's signing time, inside the certificate's validity
    assert_eq!(
        authorise(
            &anchored_at(&certum, "mateusz@klatt.ie"),
            &[],
            &c,
            &[],
            false
        )
        .map_err(|e| e.1),
        Ok("dev".into())
    );
    // another name under the same CA is someone else
    assert_eq!(
        authorise(
            &anchored_at(&certum, "someone@klatt.ie"),
            &[],
            &c,
            &[],
            false
        )
        .map_err(|e| e.0),
        Err(Reason::UnknownSigner)
    );
    // the same name under another CA does not chain
    let other = include_bytes!("../../tests/fixtures/chain/root.der");
    assert_eq!(
        authorise(&anchored_at(other, "mateusz@klatt.ie"), &[], &c, &[], false).map_err(|e| e.0),
        Err(Reason::CertificateInvalidAtSigning)
    );
    // a claimed time after the certificate expired
    let mut late = c.clone();
    late.signed_at =
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    assert_eq!(
        authorise(
            &anchored_at(&certum, "mateusz@klatt.ie"),
            &[],
            &late,
            &[],
            false
        )
        .map_err(|e| e.0),
        Err(Reason::CertificateInvalidAtSigning)
    );
    // a leaf is no trust anchor
    assert!(x509::ca_certificates(include_bytes!("../../tests/fixtures/chain/leaf.der")).is_err());
}

#[test]
fn a_gitsign_rekor_entry_gives_a_trusted_time_and_a_forged_one_is_refused() {
    let policy = resolved(
        "{ issuer = \"https://accounts.google.com\", subject = \"billy@chainguard.dev\" }",
        true,
    );
    let c = checked("dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8");
    let (at, trusted) = effective_time(&policy, &c).unwrap_or_else(|e| panic!("{}", e.1));
    assert!(trusted);
    // the manifest's integratedTime
    assert_eq!(
        policy::timestamp::Timestamp(at).to_string(),
        "2026-08-05T14:17:17Z"
    );
    assert_eq!(
        authorise(&policy, &[], &c, &[], false).map_err(|e| e.1),
        Ok("dev".into())
    );
    assert_eq!(
        with_trusted_time(&policy, c.clone()).time_source,
        REKOR_TIME
    );
    // without the log's key the entry proves nothing, and costs nothing
    let mut no_logs = resolved(
        "{ issuer = \"https://accounts.google.com\", subject = \"billy@chainguard.dev\" }",
        true,
    );
    if let Some(t) = no_logs.trust.as_mut() {
        t.tlogs.clear();
    }
    assert_eq!(effective_time(&no_logs, &c).map(|t| t.1), Ok(false));
    // a log key the trusted root retired before the entry: refused
    let mut retired = resolved(
        "{ issuer = \"https://accounts.google.com\", subject = \"billy@chainguard.dev\" }",
        true,
    );
    if let Some(t) = retired.trust.as_mut() {
        for l in &mut t.tlogs {
            l.valid_until = Some(at - time::Duration::days(1));
        }
    }
    assert_eq!(
        effective_time(&retired, &c).map_err(|e| e.0),
        Err(Reason::BadSignature)
    );
    // a certificate authority the trusted root retired before the signing
    // time vouches for nothing: not the policy's identity then
    let mut ca_retired = resolved(
        "{ issuer = \"https://accounts.google.com\", subject = \"billy@chainguard.dev\" }",
        true,
    );
    if let Some(t) = ca_retired.trust.as_mut() {
        let cas = t.cas.clone();
        t.windows = cas
            .into_iter()
            .map(|d| (d, None, Some(at - time::Duration::days(1))))
            .collect();
    }
    assert!(authorise(&ca_retired, &[], &c, &[], false).is_err());
    // an entry for another signature (its body changed) is refused
    let mut forged = c.clone();
    if let Signer::Keyless(k) = &mut forged.signer
        && let Some((_, body)) = k.rekor.as_mut()
    {
        let at = body.len() / 2;
        body[at] ^= 1;
    }
    assert_eq!(
        authorise(&policy, &[], &forged, &[], false).map_err(|e| e.0),
        Err(Reason::BadSignature)
    );
    // a commit without an entry keeps its signer's time
    let plain = checked(CTADEU);
    let ctadeu = resolved(
        "{ issuer = \"https://github.com/login/oauth\", subject = \"ctadeu@gmail.com\" }",
        true,
    );
    assert_eq!(effective_time(&ctadeu, &plain).map(|t| t.1), Ok(false));
}
