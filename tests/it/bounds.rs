//! Cost bounds (R11 in docs/threat-model.md): a real signature made on a SoftHSM2
//! token, padded with certificates it does not need (they sit outside what
//! the signature covers, so it still verifies), is refused as
//! `signature-over-bounds` with the bound it broke, never checked at length.

use serde_json::Value;

use crate::util::hsm::{SoftHsm, setup};

fn rev(hsm: &SoftHsm, repo: &crate::util::TestRepo, r: &str) -> String {
    hsm.git_ok(repo, &["rev-parse", r]).trim().to_owned()
}

/// A DER element with `tag` around `body`.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}

/// The elements inside the constructed element `el`.
fn children(el: &[u8]) -> Vec<Vec<u8>> {
    let (_, header, whole) = sigctl::signature::der_tlv::element(el).expect("an element");
    let mut rest = &whole[header..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (_, _, child) = sigctl::signature::der_tlv::element(rest).expect("a child");
        out.push(child.to_vec());
        rest = &rest[child.len()..];
    }
    out
}

/// A CMS ContentInfo whose certificate set carries its certificates
/// `copies` times over.
fn padded(ci: &[u8], copies: usize) -> Vec<u8> {
    let top = children(ci); // contentType, [0] EXPLICIT SignedData
    let sd = children(&top[1]).remove(0);
    let mut body = Vec::new();
    for el in children(&sd) {
        if el[0] == 0xa0 {
            let certs: Vec<u8> = children(&el).concat();
            body.extend(tlv(0xa0, &certs.repeat(copies)));
        } else {
            body.extend(el);
        }
    }
    let explicit = tlv(0xa0, &tlv(0x30, &body));
    tlv(0x30, &[top[0].clone(), explicit].concat())
}

/// HEAD's commit object with its signature padded, written as a new commit
/// on a branch `name`; the new commit's id.
fn pad_head(s: &crate::util::hsm::Setup, name: &str, copies: usize) -> String {
    let object = s.hsm.git_ok(&s.repo, &["cat-file", "commit", "HEAD"]);
    let (payload, sig) = sigctl::repo::walk::split_commit_signature(object.as_bytes())
        .map(|(sig, payload)| (payload, sig))
        .expect("HEAD is signed");
    let der = sigctl::signature::cms::dearmor(&sig).expect("a CMS signature");
    let armoured = sigctl::signature::cms::armor(&padded(&der, copies));
    let forged = sigctl::repo::walk::insert_signature_header(&payload, armoured.as_bytes());
    let path = s.repo.home().join(format!("{name}.commit"));
    std::fs::write(&path, forged).expect("write the object");
    let id = s
        .hsm
        .git_ok(
            &s.repo,
            &[
                "hash-object",
                "-t",
                "commit",
                "-w",
                &path.display().to_string(),
            ],
        )
        .trim()
        .to_owned();
    s.hsm.git_ok(&s.repo, &["branch", "-f", name, &id]);
    id
}

fn result_of(run: &crate::util::Run, id: &str) -> Value {
    assert!(run.code < 2, "{}", run.snapshot());
    run.json()["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["object"] == id).cloned())
        .unwrap_or_else(|| panic!("no result for {id}: {}", run.stdout))
}

#[test]
fn a_signature_padded_with_certificates_is_refused_over_the_limits() {
    let s = setup();
    let head = rev(&s.hsm, &s.repo, "HEAD");
    // the commit to pad: its parent is the trust root
    s.hsm.git_ok(
        &s.repo,
        &["commit", "-S", "-q", "--allow-empty", "-m", "two"],
    );
    let trust_root = [
        "--trust-root",
        head.as_str(),
        "--no-cache",
        "--format",
        "json",
    ];
    // control: the signature as made verifies, and so does a copy carrying
    // its certificate twice (the padding is outside what it signs)
    let twice = pad_head(&s, "twice", 2);
    assert_ne!(twice, head);
    let run = s
        .hsm
        .sigctl(&s.repo, &[&["verify", "twice"][..], &trust_root].concat());
    assert_eq!(
        result_of(&run, &twice)["reason"],
        "authorised",
        "{}",
        run.snapshot()
    );

    // over the certificate bound, under the size bound
    let many = pad_head(&s, "many", 20);
    let run = s
        .hsm
        .sigctl(&s.repo, &[&["verify", "many"][..], &trust_root].concat());
    assert_eq!(run.code, 1, "{}", run.snapshot());
    let r = result_of(&run, &many);
    assert_eq!(r["reason"], "signature-over-bounds", "{r:#}");
    assert!(
        r["message"]
            .as_str()
            .unwrap_or("")
            .contains("20 certificates; sigctl reads at most 8"),
        "{r:#}"
    );

    // a thousand certificates: over the size bound, refused before decoding
    let huge = pad_head(&s, "huge", 1_000);
    let run = s
        .hsm
        .sigctl(&s.repo, &[&["verify", "huge"][..], &trust_root].concat());
    assert_eq!(run.code, 1, "{}", run.snapshot());
    let r = result_of(&run, &huge);
    assert_eq!(r["reason"], "signature-over-bounds", "{r:#}");
    assert!(
        r["message"]
            .as_str()
            .unwrap_or("")
            .contains("sigctl reads signatures of at most 65536 bytes"),
        "{r:#}"
    );
    let human = s.hsm.sigctl(
        &s.repo,
        &["verify", "huge", "--trust-root", &head, "--no-cache"],
    );
    assert_eq!(human.code, 1, "{}", human.snapshot());
    assert!(
        human.stdout.contains("signature-over-bounds"),
        "{}",
        human.snapshot()
    );

    // git's own view (sigctl as its x509 program) refuses it too
    let git = s.hsm.git(&s.repo, &["verify-commit", &many]);
    assert_ne!(git.code, 0, "{}", git.snapshot());
}
