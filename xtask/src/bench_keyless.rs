//! `cargo xtask bench keyless`: `sigctl verify` on 10,000 Sigstore keyless
//! commits signed as gitsign signs them (issue 11), cold and with a warm
//! cache, against one verifier process per commit (`git verify-commit` with
//! sigctl as git's x509 program) over a sample, in the same run, and
//! against the crypto-only cost of the three ECDSA signatures each commit
//! carries (ring, as sigctl verifies them, on every core). The run fails
//! unless `sigctl verify` calls every commit valid at its Rekor integrated
//! time, and every sampled `git verify-commit` agrees.
//!
//! Every commit has its own ephemeral P-256 key and its own Fulcio-style
//! certificate (empty subject, a critical SAN: a mail address, or a workflow
//! URI for one commit in four; the OIDC issuer in 1.3.6.1.4.1.57264.1.8 as
//! a UTF8String and in the legacy 1.3.6.1.4.1.57264.1.1 as the raw string;
//! EKU codeSigning; valid for ten minutes around the commit), issued by a
//! generated intermediate under a generated root, both P-384 and signing
//! with ecdsa-with-SHA384 as the public-good instance's do. The detached CMS
//! signature (sigctl's own builder) carries in its unsigned attribute
//! 1.3.6.1.4.1.57264.3.1 a Rekor TransparencyLogEntry (sigctl's encoder, no
//! body, no inclusion proof) whose signed entry timestamp a generated P-256
//! log key made over the hashedrekord body gitsign logs. The root, the
//! intermediate and the log key are in a generated `trusted_root.json`
//! committed in the tree and named by `[sigstore] trusted_root`; the
//! environment requires a trusted time, so a commit judged at a time its
//! signer chose fails. Not generated: the certificate's SCTs (sigctl does
//! not check them).
//!
//! The histories are written in process (objects through gix, one repack),
//! as in `bench_verify.rs`.

use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use sha2::Digest;
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, profile::BuilderProfile};
use x509_cert::der::Encode;
use x509_cert::der::asn1::{Ia5String, OctetString, Utf8StringRef};
use x509_cert::der::referenced::OwnedToRef;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned as SubjectPublicKeyInfo;
use x509_cert::time::{Time, Validity};

use crate::bench::{git, measure, ms};
use crate::util::{Result, say};

/// Commits in the history (the first introduces signing.toml).
const COMMITS: usize = 10_000;
/// Commits verified one process each.
const SAMPLE: usize = 200;
/// The first commit's time (2026-05-28); one commit a minute after it.
const START: i64 = 1_780_000_000;
/// The targets issue 11 states.
const TARGET_RATE: f64 = 5_000.0;
const TARGET_RATIO: f64 = 100.0;

const MAIL_ISSUER: &str = "https://accounts.example.com";
const MAIL_SUBJECT: &str = "dev@example.com";
const CI_ISSUER: &str = "https://token.actions.githubusercontent.com";
const CI_SUBJECT: &str =
    "https://github.com/example/app/.github/workflows/release.yml@refs/heads/main";
const TRUSTED_ROOT: &str = "trusted_root.json";
const REKOR_TIME: &str = "Rekor integrated time";

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A certificate profile that adds nothing of its own: the extensions are
/// the bench's, added one by one.
struct Profile {
    subject: Name,
    issuer: Name,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: x509_cert::spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: x509_cert::spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

fn validity(from: i64, until: i64) -> Result<Validity> {
    let t = |s: i64| {
        Time::try_from(SystemTime::UNIX_EPOCH + Duration::from_secs(s.max(0) as u64)).map_err(err)
    };
    Ok(Validity::new(t(from)?, t(until)?))
}

fn ski(spki: &SubjectPublicKeyInfo) -> Result<SubjectKeyIdentifier> {
    SubjectKeyIdentifier::try_from(spki.owned_to_ref()).map_err(err)
}

/// The generated Sigstore instance: a root and an intermediate CA (P-384)
/// and a Rekor log key (P-256).
struct Instance {
    root: Certificate,
    intermediate: Certificate,
    intermediate_key: p384::ecdsa::SigningKey,
    intermediate_name: Name,
    intermediate_ski: SubjectKeyIdentifier,
    log_key: p256::ecdsa::SigningKey,
    /// the log key's SPKI (DER) and its id, SHA-256 of it
    log_spki: Vec<u8>,
    log_id: Vec<u8>,
}

impl Instance {
    fn new() -> Result<Self> {
        let root_key = p384::ecdsa::SigningKey::from_slice(&[3u8; 48]).map_err(err)?;
        let intermediate_key = p384::ecdsa::SigningKey::from_slice(&[5u8; 48]).map_err(err)?;
        let log_key = p256::ecdsa::SigningKey::from_slice(&[11u8; 32]).map_err(err)?;
        let (from, until) = (START - 365 * 86_400, START + 10 * 365 * 86_400);
        let root_name =
            Name::from_str("CN=sigstore-bench,O=sigstore-bench.example").map_err(err)?;
        let root_spki = SubjectPublicKeyInfo::from_key(root_key.verifying_key()).map_err(err)?;
        let root_ski = ski(&root_spki)?;
        let mut b = CertificateBuilder::new(
            Profile {
                subject: root_name.clone(),
                issuer: root_name.clone(),
            },
            SerialNumber::new(&[0x01, 0x5e, 0xed]).map_err(err)?,
            validity(from, until)?,
            root_spki,
        )
        .map_err(err)?;
        b.add_extension(&BasicConstraints {
            ca: true,
            path_len_constraint: Some(1),
        })
        .map_err(err)?;
        b.add_extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))
            .map_err(err)?;
        b.add_extension(&root_ski).map_err(err)?;
        let root = b
            .build::<_, p384::ecdsa::DerSignature>(&root_key)
            .map_err(err)?;

        let intermediate_name =
            Name::from_str("CN=sigstore-bench-intermediate,O=sigstore-bench.example")
                .map_err(err)?;
        let spki = SubjectPublicKeyInfo::from_key(intermediate_key.verifying_key()).map_err(err)?;
        let intermediate_ski = ski(&spki)?;
        let mut b = CertificateBuilder::new(
            Profile {
                subject: intermediate_name.clone(),
                issuer: root_name,
            },
            SerialNumber::new(&[0x02, 0x5e, 0xed]).map_err(err)?,
            validity(from, until)?,
            spki,
        )
        .map_err(err)?;
        b.add_extension(&BasicConstraints {
            ca: true,
            path_len_constraint: Some(0),
        })
        .map_err(err)?;
        b.add_extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))
            .map_err(err)?;
        b.add_extension(&ExtendedKeyUsage(vec![
            const_oid::db::rfc5280::ID_KP_CODE_SIGNING,
        ]))
        .map_err(err)?;
        b.add_extension(&intermediate_ski).map_err(err)?;
        b.add_extension(&AuthorityKeyIdentifier {
            key_identifier: Some(root_ski.0.clone()),
            ..Default::default()
        })
        .map_err(err)?;
        let intermediate = b
            .build::<_, p384::ecdsa::DerSignature>(&root_key)
            .map_err(err)?;

        use p256::pkcs8::EncodePublicKey;
        let log_spki = log_key
            .verifying_key()
            .to_public_key_der()
            .map_err(err)?
            .as_bytes()
            .to_vec();
        let log_id = sha2::Sha256::digest(&log_spki).to_vec();
        Ok(Self {
            root,
            intermediate,
            intermediate_key,
            intermediate_name,
            intermediate_ski,
            log_key,
            log_spki,
            log_id,
        })
    }

    /// The `trusted_root.json` (protobuf-specs TrustedRoot, JSON form) of
    /// this instance: its CA chain (intermediate, then root) and its log.
    fn trusted_root(&self) -> Result<String> {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let start = "2025-05-28T00:00:00Z";
        Ok(format!(
            r#"{{
  "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "tlogs": [
    {{
      "baseUrl": "https://rekor.sigstore-bench.example",
      "hashAlgorithm": "SHA2_256",
      "publicKey": {{
        "rawBytes": "{}",
        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        "validFor": {{ "start": "{start}" }}
      }},
      "logId": {{ "keyId": "{}" }}
    }}
  ],
  "certificateAuthorities": [
    {{
      "subject": {{ "organization": "sigstore-bench.example", "commonName": "sigstore-bench" }},
      "uri": "https://fulcio.sigstore-bench.example",
      "certChain": {{
        "certificates": [
          {{ "rawBytes": "{}" }},
          {{ "rawBytes": "{}" }}
        ]
      }},
      "validFor": {{ "start": "{start}" }}
    }}
  ],
  "ctlogs": [],
  "timestampAuthorities": []
}}
"#,
            b64(&self.log_spki),
            b64(&self.log_id),
            b64(&self.intermediate.to_der().map_err(err)?),
            b64(&self.root.to_der().map_err(err)?),
        ))
    }

    /// A Fulcio-style certificate for `key`, issued at `at` for ten minutes,
    /// binding `(issuer, subject)`; a subject with a scheme is a URI SAN.
    fn leaf(
        &self,
        n: usize,
        key: &p256::ecdsa::SigningKey,
        (issuer, subject): (&str, &str),
        at: i64,
    ) -> Result<Certificate> {
        let spki = SubjectPublicKeyInfo::from_key(key.verifying_key()).map_err(err)?;
        let leaf_ski = ski(&spki)?;
        // 20 bytes, positive, distinct per commit (Fulcio's are random)
        let mut serial = sha2::Sha256::digest(format!("serial {n}")).to_vec();
        serial.truncate(20);
        serial[0] = (serial[0] & 0x7f) | 0x01;
        let mut b = CertificateBuilder::new(
            Profile {
                subject: Name::default(),
                issuer: self.intermediate_name.clone(),
            },
            SerialNumber::new(&serial).map_err(err)?,
            validity(at, at + 600)?,
            spki,
        )
        .map_err(err)?;
        b.add_extension(&KeyUsage(KeyUsages::DigitalSignature.into()))
            .map_err(err)?;
        b.add_extension(&ExtendedKeyUsage(vec![
            const_oid::db::rfc5280::ID_KP_CODE_SIGNING,
        ]))
        .map_err(err)?;
        b.add_extension(&leaf_ski).map_err(err)?;
        b.add_extension(&AuthorityKeyIdentifier {
            key_identifier: Some(self.intermediate_ski.0.clone()),
            ..Default::default()
        })
        .map_err(err)?;
        let name = Ia5String::new(subject).map_err(err)?;
        let san = if subject.contains("://") {
            GeneralName::UniformResourceIdentifier(name)
        } else {
            GeneralName::Rfc822Name(name)
        };
        // critical: the subject is empty
        b.add_extension(&SubjectAltName(vec![san])).map_err(err)?;
        // the OIDC issuer: legacy, the raw string; current, a DER UTF8String
        b.add_extension(Extension {
            extn_id: const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1"),
            critical: false,
            extn_value: OctetString::new(issuer.as_bytes()).map_err(err)?,
        })
        .map_err(err)?;
        b.add_extension((
            const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8"),
            false,
            &Utf8StringRef::new(issuer).map_err(err)?,
        ))
        .map_err(err)?;
        b.build::<_, p384::ecdsa::DerSignature>(&self.intermediate_key)
            .map_err(err)
    }

    /// Commit `n`'s ephemeral key (deterministic, distinct per commit)
    /// and its certificate, issued just before the commit's time.
    fn ephemeral(&self, n: usize) -> Result<Ephemeral> {
        let seed = sha2::Sha256::digest(format!("ephemeral key {n}"));
        let key = p256::ecdsa::SigningKey::from_slice(&seed).map_err(err)?;
        let who = if n % 4 == 3 {
            (CI_ISSUER, CI_SUBJECT)
        } else {
            (MAIL_ISSUER, MAIL_SUBJECT)
        };
        let cert = self.leaf(n, &key, who, commit_time(n) - 20)?;
        Ok(Ephemeral { key, cert })
    }

    /// The armoured gitsign-style signature of commit `n` over `message`,
    /// made at the commit's time with its ephemeral key, logged two seconds
    /// later; and the three ECDSA signatures it carries.
    fn sign(&self, n: usize, eph: &Ephemeral, message: &[u8]) -> Result<(String, Signatures)> {
        use p256::ecdsa::signature::Signer as _;
        use sigctl::signature::{cms, rekor};
        let when = commit_time(n);
        let at = time::OffsetDateTime::from_unix_timestamp(when).map_err(err)?;
        let der = cms::sign_detached_p256(&eph.key, &eph.cert, message, at).map_err(err)?;
        let (attrs, signature) = cms::signed_parts(&der).map_err(err)?;
        let leaf = eph.cert.to_der().map_err(err)?;
        let body = rekor::gitsign_body(&attrs, &signature, &leaf);
        let (log_index, integrated_time) = (100_000_000 + n as i64, when + 2);
        // the signed entry timestamp: over Rekor's canonical JSON of the entry
        let payload = format!(
            r#"{{"body":"{}","integratedTime":{integrated_time},"logID":"{}","logIndex":{log_index}}}"#,
            base64::engine::general_purpose::STANDARD.encode(&body),
            hex(&self.log_id),
        );
        let set: p256::ecdsa::DerSignature = self.log_key.sign(payload.as_bytes());
        let entry = rekor::LogEntry {
            log_index,
            key_id: self.log_id.clone(),
            kind: "hashedrekord".into(),
            version: "0.0.1".into(),
            integrated_time,
            set: set.as_bytes().to_vec(),
            proof: None,
        };
        let value = OctetString::new(entry.encode())
            .map_err(err)?
            .to_der()
            .map_err(err)?;
        let der = cms::add_unsigned_attribute(
            &der,
            const_oid::ObjectIdentifier::new_unwrap(rekor::ATTRIBUTE_OID),
            &value,
        )
        .map_err(err)?;
        let sigs = Signatures {
            cms: (
                attrs,
                signature,
                eph.key
                    .verifying_key()
                    .to_sec1_point(false)
                    .as_bytes()
                    .to_vec(),
            ),
            cert: (
                eph.cert.tbs_certificate().to_der().map_err(err)?,
                eph.cert.signature().raw_bytes().to_vec(),
            ),
            set: (payload.into_bytes(), set.as_bytes().to_vec()),
        };
        Ok((cms::armor(&der).trim_end().to_owned(), sigs))
    }

    /// The time each of the three verifications takes over every commit's
    /// signatures, on every core, with ring as sigctl verifies (ECDSA over
    /// the CMS signed attributes; the intermediate's over the leaf's TBS;
    /// the log's over the SET payload): the floor under `sigctl verify`.
    fn crypto_only(&self, sigs: &[Signatures]) -> Result<[Duration; 3]> {
        use ring::signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, UnparsedPublicKey};
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let intermediate = self
            .intermediate_key
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec();
        let log = self
            .log_key
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec();
        let one = |s: &Signatures, kind: usize| match kind {
            0 => UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &s.cms.2)
                .verify(&s.cms.0, &s.cms.1)
                .is_ok(),
            1 => UnparsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, &intermediate)
                .verify(&s.cert.0, &s.cert.1)
                .is_ok(),
            _ => UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &log)
                .verify(&s.set.0, &s.set.1)
                .is_ok(),
        };
        let mut out = [Duration::ZERO; 3];
        for (kind, slot) in out.iter_mut().enumerate() {
            let t = Instant::now();
            let ok = std::thread::scope(|sc| {
                let handles: Vec<_> = sigs
                    .chunks(sigs.len().div_ceil(threads).max(1))
                    .map(|part| {
                        let one = &one;
                        sc.spawn(move || part.iter().all(|s| one(s, kind)))
                    })
                    .collect();
                handles.into_iter().all(|h| h.join().unwrap_or(false))
            });
            *slot = t.elapsed();
            if !ok {
                return Err(format!(
                    "the crypto-only baseline failed to verify a signature of kind {kind}"
                ));
            }
        }
        Ok(out)
    }
}

/// One commit's ephemeral key and Fulcio-style certificate.
struct Ephemeral {
    key: p256::ecdsa::SigningKey,
    cert: Certificate,
}

/// The three ECDSA signatures a keyless commit carries, with what each is over.
struct Signatures {
    /// the CMS signed attributes (as a SET), the signature, the leaf key (SEC1)
    cms: (Vec<u8>, Vec<u8>, Vec<u8>),
    /// the leaf certificate's TBS and the intermediate's signature over it
    cert: (Vec<u8>, Vec<u8>),
    /// the SET payload and the log's signature over it
    set: (Vec<u8>, Vec<u8>),
}

/// Commit `n`'s author and committer time: one commit a minute.
fn commit_time(n: usize) -> i64 {
    START + n as i64 * 60
}

/// Every commit's ephemeral key and certificate, made on every core (a
/// P-384 signature each: most of the generation time).
fn ephemerals(inst: &Instance, n: usize) -> Result<Vec<Ephemeral>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per = n.div_ceil(threads).max(1);
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..n)
            .step_by(per)
            .map(|from| {
                sc.spawn(move || {
                    (from..(from + per).min(n))
                        .map(|i| inst.ephemeral(i))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for h in handles {
            all.extend(h.join().map_err(|_| "a generator thread panicked")??);
        }
        Ok(all)
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn policy() -> String {
    format!(
        "version = 1\n\n[policy]\nadmins = [\"dev\"]\n\n[owners.dev]\ncontact = \"dev@example.com\"\n\n\
         [environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"keyless\"]\nrequire_trusted_time = true\n\n\
         [identities.dev]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"keyless\"\n\
         keyless = {{ issuer = \"{MAIL_ISSUER}\", subject = \"{MAIL_SUBJECT}\" }}\n\n\
         [identities.release]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"keyless\"\n\
         keyless = {{ issuer = \"{CI_ISSUER}\", subject = \"{CI_SUBJECT}\" }}\n\n\
         [sigstore]\ntrusted_root = \"trust/{TRUSTED_ROOT}\"\n"
    )
}

/// A repository of `n` keyless-signed commits, written in process; the
/// commit ids, oldest first, and the signatures each carries.
fn keyless_history(
    dir: &Path,
    n: usize,
    inst: &Instance,
) -> Result<(Vec<String>, Vec<Signatures>)> {
    use gix::objs::Write;
    git(dir, &["init", "-q", "-b", "main"])?;
    let repo = gix::open(dir).map_err(err)?;
    let write = |kind, data: &[u8]| repo.objects.write_buf(kind, data).map_err(err);
    let policy_blob = write(gix::object::Kind::Blob, policy().as_bytes())?;
    let root_blob = write(gix::object::Kind::Blob, inst.trusted_root()?.as_bytes())?;
    let mut trust = format!("100644 {TRUSTED_ROOT}\0").into_bytes();
    trust.extend_from_slice(root_blob.as_bytes());
    let trust_tree = write(gix::object::Kind::Tree, &trust)?;
    let ephemeral = ephemerals(inst, n)?;
    let mut ids = Vec::with_capacity(n);
    let mut all = Vec::with_capacity(n);
    let mut parent: Option<gix::ObjectId> = None;
    for (i, eph) in ephemeral.iter().enumerate() {
        let file = write(gix::object::Kind::Blob, format!("file {i}\n").as_bytes())?;
        // tree entries sorted: data.txt, signing.toml, trust/
        let mut tree = b"100644 data.txt\0".to_vec();
        tree.extend_from_slice(file.as_bytes());
        tree.extend_from_slice(b"100644 signing.toml\0");
        tree.extend_from_slice(policy_blob.as_bytes());
        tree.extend_from_slice(b"40000 trust\0");
        tree.extend_from_slice(trust_tree.as_bytes());
        let tree_id = write(gix::object::Kind::Tree, &tree)?;
        let when = commit_time(i);
        let mut payload = format!("tree {tree_id}\n");
        if let Some(p) = parent {
            payload.push_str(&format!("parent {p}\n"));
        }
        payload.push_str(&format!(
            "author Bench <bench@example.com> {when} +0000\ncommitter Bench <bench@example.com> {when} +0000\n"
        ));
        let body = format!("\ncommit {i}\n");
        let (sig, sigs) = inst.sign(i, eph, format!("{payload}{body}").as_bytes())?;
        all.push(sigs);
        let header = format!("gpgsig {}\n", sig.replace('\n', "\n "));
        let object = format!("{payload}{header}{body}");
        let id = write(gix::object::Kind::Commit, object.as_bytes())?;
        ids.push(id.to_string());
        parent = Some(id);
    }
    if let Some(tip) = parent {
        git(dir, &["update-ref", "refs/heads/main", &tip.to_string()])?;
    }
    git(dir, &["repack", "-adq"])?;
    git(dir, &["prune"])?;
    Ok((ids, all))
}

/// `sigctl verify --format json` must call every commit valid, judged at
/// its Rekor integrated time; the counts, or why not.
fn check_verdicts(sigctl: &Path, dir: &Path, n: usize) -> Result {
    let out = Command::new(sigctl)
        .args(["verify", "--format", "json"])
        .current_dir(dir)
        .output()
        .map_err(err)?;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "sigctl verify wrote no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let results = doc
        .get("results")
        .and_then(|r| r.as_array())
        .ok_or("sigctl verify: no results")?;
    let field = |r: &serde_json::Value, k: &str| {
        r.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let good = results
        .iter()
        .filter(|r| field(r, "verdict") == "valid" && field(r, "time_source") == REKOR_TIME)
        .count();
    if good != n || results.len() != n || !out.status.success() {
        let first = results
            .iter()
            .find(|r| field(r, "verdict") != "valid" || field(r, "time_source") != REKOR_TIME)
            .map(|r| {
                format!(
                    "{}: {} {} ({}), time source `{}`",
                    field(r, "object"),
                    field(r, "verdict"),
                    field(r, "reason"),
                    field(r, "message"),
                    field(r, "time_source")
                )
            })
            .unwrap_or_default();
        return Err(format!(
            "sigctl verify (exit {:?}) found {good} of {n} commits valid at their Rekor integrated time ({} results); first other: {first}; stderr: {}",
            out.status.code(),
            results.len(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    say(&format!(
        "sigctl verify: {good} of {n} commits valid, every one judged at its {REKOR_TIME}"
    ));
    Ok(())
}

/// One `git verify-commit` per commit of `sample`, sigctl as git's x509
/// program; the total wall time. Fails unless each says valid at its Rekor
/// integrated time.
fn per_commit_processes(sigctl: &Path, dir: &Path, sample: &[&String]) -> Result<Duration> {
    let program = format!("gpg.x509.program={}", sigctl.display());
    let t = Instant::now();
    for id in sample {
        let out = Command::new("git")
            .args(["-c", &program, "verify-commit", id])
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .map_err(err)?;
        let said = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || !said.contains(REKOR_TIME) {
            return Err(format!(
                "git verify-commit {id} with sigctl as its x509 program (exit {:?}): {said}",
                out.status.code()
            ));
        }
    }
    Ok(t.elapsed())
}

pub fn run(sigctl: &Path, dir: &Path) -> Result {
    say(&format!(
        "\n== keyless: {COMMITS} Sigstore keyless commits (gitsign-style: a key and a Fulcio-style certificate each, a Rekor entry)"
    ));
    std::fs::create_dir_all(dir).map_err(err)?;
    let t = Instant::now();
    let inst = Instance::new()?;
    let (ids, sigs) = keyless_history(dir, COMMITS, &inst)?;
    say(&format!(
        "(generated in {:.1} s; root and intermediate P-384, leaves P-256, log key P-256)",
        t.elapsed().as_secs_f64()
    ));
    // the generated policy and trust material pass sigctl's own rules
    git(dir, &["reset", "-q", "--hard", "main"])?;
    let check = Command::new(sigctl)
        .arg("check")
        .current_dir(dir)
        .output()
        .map_err(err)?;
    if !check.status.success() {
        return Err(format!(
            "sigctl check refuses the generated policy: {}",
            String::from_utf8_lossy(&check.stdout)
        ));
    }
    check_verdicts(sigctl, dir, COMMITS)?;

    let mut runs: Vec<[Duration; 3]> = (0..3)
        .map(|_| inst.crypto_only(&sigs))
        .collect::<Result<_>>()?;
    drop(sigs);
    let mut median = |k: usize| {
        runs.sort_by_key(|r| r[k]);
        runs[1][k]
    };
    let [cms_t, cert_t, set_t] = [median(0), median(1), median(2)];
    let crypto = cms_t + cert_t + set_t;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / COMMITS as f64;
    say(&format!(
        "crypto only (ring, every core; medians of 3): CMS P-256 {}, leaf certificate P-384 {}, SET P-256 {} = {} = {:.0} commits/s ({:.0} + {:.0} + {:.0} us a commit of wall time)",
        ms(cms_t),
        ms(cert_t),
        ms(set_t),
        ms(crypto),
        COMMITS as f64 / crypto.as_secs_f64(),
        per(cms_t),
        per(cert_t),
        per(set_t)
    ));

    let cold_cmd = format!(
        "rm -rf .git/sigctl && {} verify --format json >/dev/null",
        sigctl.display()
    );
    let (cold, cold_peak) = measure(dir, &cold_cmd, 3)?;
    let cold_rate = COMMITS as f64 / cold.as_secs_f64();
    say(&format!(
        "sigctl verify, cold: median {} of 3 = {cold_rate:.0} commits/s ({:.2}x the crypto-only time), peak RSS {:.1} MiB",
        ms(cold),
        cold.as_secs_f64() / crypto.as_secs_f64(),
        cold_peak as f64 / 1024.0
    ));
    let warm_cmd = format!("{} verify --format json >/dev/null", sigctl.display());
    let (warm, warm_peak) = measure(dir, &warm_cmd, 3)?;
    let warm_rate = COMMITS as f64 / warm.as_secs_f64();
    say(&format!(
        "sigctl verify, warm cache: median {} of 3 = {warm_rate:.0} commits/s, peak RSS {:.1} MiB",
        ms(warm),
        warm_peak as f64 / 1024.0
    ));

    // a sample spread over the history
    let step = (ids.len() / SAMPLE).max(1);
    let sample: Vec<&String> = ids.iter().step_by(step).take(SAMPLE).collect();
    let theirs = per_commit_processes(sigctl, dir, &sample)?;
    let process_rate = sample.len() as f64 / theirs.as_secs_f64();
    say(&format!(
        "git verify-commit, one process per commit (sigctl as gpg.x509.program), {} commits: {} = {process_rate:.0} commits/s ({:.1} ms a commit)",
        sample.len(),
        ms(theirs),
        theirs.as_secs_f64() * 1000.0 / sample.len() as f64
    ));
    let (cold_ratio, warm_ratio) = (cold_rate / process_rate, warm_rate / process_rate);
    say(&format!(
        "ratio: sigctl verify is {cold_ratio:.0}x the per-commit process cold, {warm_ratio:.0}x warm"
    ));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    say(&format!(
        "targets (issue 11), on {cores} cores: >= {TARGET_RATE:.0} commits/s: cold {} ({cold_rate:.0}), warm {} ({warm_rate:.0}); >= {TARGET_RATIO:.0}x the per-commit process: cold {} ({cold_ratio:.0}x), warm {} ({warm_ratio:.0}x)",
        verdict(cold_rate >= TARGET_RATE),
        verdict(warm_rate >= TARGET_RATE),
        verdict(cold_ratio >= TARGET_RATIO),
        verdict(warm_ratio >= TARGET_RATIO)
    ));
    Ok(())
}
