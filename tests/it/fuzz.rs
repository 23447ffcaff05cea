//! Fuzzing on the stable toolchain: every parser that takes outside bytes,
//! fed mutations of the real signed objects in `tests/data` and
//! `tests/fixtures` (bit flips, interesting bytes, truncation, splicing of
//! two seeds, length-field changes, duplicated and deleted DER elements or
//! byte runs, inserted bytes). Armoured formats are mutated in binary and
//! re-armoured, so the mutations reach the parser, not only base64.
//!
//! Each target first replays its checked-in regressions
//! (`tests/fuzz/<target>/*.bin`, every panic ever found) and its seeds, then
//! mutates for `SIGCTL_FUZZ_SECS` seconds (default 2: `cargo test` and
//! `cargo xtask ci` run every target briefly; `cargo xtask fuzz` runs longer).
//! A panic is caught, its input saved under the test's temporary directory
//! and the target fails naming the file: check it in under
//! `tests/fuzz/<target>/`, then fix. `SIGCTL_FUZZ_SEED` replays a run. The
//! figures of each run (executions, time, seed, findings) are written to
//! `<CARGO_TARGET_TMPDIR>/fuzz/<target>.summary` for `cargo xtask fuzz`.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use sigctl::repo::walk::{split_commit_signature, split_tag_signature};
use sigctl::signature::{cms, der_tlv, fulcio, openpgp, ssh, x509};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// xorshift64*: small, fast, reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// How a target's input is shaped, for the mutations that know structure.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Der,
    Bytes,
    /// JSON whose strings carry base64 DER (bundles, trusted roots): half
    /// the mutations edit one value (a certificate, a signature, a key) in
    /// decoded form, or drop or repeat one member, and re-encode.
    Json,
}

/// One structural edit of a JSON document (`None`: not JSON).
fn mutate_json(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut doc: serde_json::Value = serde_json::from_slice(input).ok()?;
    let mut count = 0usize;
    count_nodes(&doc, &mut count);
    let target = rng.below(count.max(1));
    let mut seen = 0usize;
    edit_node(&mut doc, target, &mut seen, rng, seeds);
    serde_json::to_vec(&doc).ok()
}

fn count_nodes(v: &serde_json::Value, n: &mut usize) {
    *n += 1;
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| count_nodes(x, n)),
        serde_json::Value::Object(o) => o.values().for_each(|x| count_nodes(x, n)),
        _ => {}
    }
}

fn edit_node(
    v: &mut serde_json::Value,
    target: usize,
    seen: &mut usize,
    rng: &mut Rng,
    seeds: &[Vec<u8>],
) -> bool {
    use serde_json::Value;
    if *seen == target {
        let b64 = base64::engine::general_purpose::STANDARD;
        match v {
            Value::String(s) => {
                let edited = match b64.decode(s.as_bytes()) {
                    Ok(bytes) if !bytes.is_empty() => {
                        b64.encode(mutate(rng, &bytes, seeds, Shape::Der))
                    }
                    _ => String::from_utf8_lossy(&mutate(rng, s.as_bytes(), seeds, Shape::Bytes))
                        .into_owned(),
                };
                *s = edited;
            }
            Value::Array(a) if !a.is_empty() => {
                let i = rng.below(a.len());
                if rng.below(2) == 0 {
                    a.remove(i);
                } else {
                    let copy = a[i].clone();
                    a.insert(i, copy);
                }
            }
            Value::Object(o) if !o.is_empty() => {
                let keys: Vec<String> = o.keys().cloned().collect();
                let k = rng.pick(&keys).clone();
                if rng.below(2) == 0 {
                    o.remove(&k);
                } else {
                    o.insert(k, Value::Null);
                }
            }
            Value::Number(_) => {
                *v =
                    serde_json::json!(*rng.pick(&[-1i64, 0, 1, i64::MAX, i64::MIN, 4_294_967_296]));
            }
            _ => *v = Value::String("x".into()),
        }
        return true;
    }
    *seen += 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|x| edit_node(x, target, seen, rng, seeds)),
        Value::Object(o) => o
            .values_mut()
            .any(|x| edit_node(x, target, seen, rng, seeds)),
        _ => false,
    }
}

/// The DER element starting at some offset near `at`, if any: `(offset, header, len)`.
fn der_element(data: &[u8], rng: &mut Rng) -> Option<(usize, usize, usize)> {
    for _ in 0..32 {
        let at = rng.below(data.len());
        if let Some((_, header, whole)) = der_tlv::element(&data[at..])
            && whole.len() > header
        {
            return Some((at, header, whole.len()));
        }
    }
    None
}

fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>], shape: Shape) -> Vec<u8> {
    if shape == Shape::Json
        && rng.below(2) == 0
        && let Some(edited) = mutate_json(rng, input, seeds)
    {
        return edited;
    }
    const INTERESTING: &[u8] = &[0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xc0, 0xff];
    let mut d = input.to_vec();
    for _ in 0..=rng.below(4) {
        if d.is_empty() {
            d.push(rng.next() as u8);
        }
        let len = d.len();
        match rng.below(9) {
            0 => {
                let i = rng.below(len);
                d[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len);
                d[i] = *rng.pick(INTERESTING);
            }
            2 => d.truncate(rng.below(len)),
            3 => {
                // splice: a prefix of this input, a suffix of another seed
                let other = rng.pick(seeds);
                let (i, j) = (rng.below(len), rng.below(other.len()));
                d.truncate(i);
                d.extend_from_slice(&other[j..]);
            }
            4 => {
                // a length field: a DER length, or a u32/u16 big-endian one
                match (shape, der_element(&d, rng)) {
                    (Shape::Der, Some((at, header, _))) => {
                        let i = at + 1 + rng.below(header - 1);
                        d[i] = match rng.below(4) {
                            0 => d[i].wrapping_add(1),
                            1 => d[i].wrapping_sub(1),
                            2 => *rng.pick(INTERESTING),
                            _ => rng.next() as u8,
                        };
                    }
                    _ => {
                        let i = rng.below(len);
                        let v = match rng.below(4) {
                            0 => u32::MAX,
                            1 => 0,
                            2 => (len as u32).wrapping_add(rng.below(8) as u32),
                            _ => rng.next() as u32,
                        };
                        let bytes = v.to_be_bytes();
                        let width = if rng.below(2) == 0 { 4 } else { 2 };
                        for (k, b) in bytes[4 - width..].iter().enumerate() {
                            if let Some(slot) = d.get_mut(i + k) {
                                *slot = *b;
                            }
                        }
                    }
                }
            }
            5 => {
                // duplicate an element (a packet, a certificate) or a run of bytes
                let (at, n) = match (shape, der_element(&d, rng)) {
                    (Shape::Der, Some((at, _, n))) => (at, n),
                    _ => {
                        let at = rng.below(len);
                        (at, 1 + rng.below((len - at).min(512)))
                    }
                };
                let copy = d[at..at + n].to_vec();
                for _ in 0..=rng.below(3) {
                    d.splice(at..at, copy.iter().copied());
                }
            }
            6 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(256));
                d.drain(at..at + n);
            }
            7 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                d.splice(at..at, bytes);
            }
            _ => {
                // overwrite a run with bytes from another seed
                let other = rng.pick(seeds);
                let (i, j) = (rng.below(len), rng.below(other.len()));
                let n = (len - i).min(other.len() - j).min(64);
                d[i..i + n].copy_from_slice(&other[j..j + n]);
            }
        }
    }
    d
}

fn budget() -> Duration {
    let secs = std::env::var("SIGCTL_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs.max(0.0))
}

fn seed_value(name: &str) -> u64 {
    std::env::var("SIGCTL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            // a different stream per target and run
            let mut h = 0xcbf2_9ce4_8422_2325u64 ^ u64::from(std::process::id());
            for b in name.bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
            h | 1
        })
}

/// Every file under `dir` (recursively) whose name passes `keep`.
fn files(dir: &str, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    fn walk(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, keep, out);
            } else if keep(&p) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(ROOT).join(dir), keep, &mut out);
    out.sort();
    out
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn ends(p: &Path, suffixes: &[&str]) -> bool {
    let name = p.to_string_lossy();
    suffixes.iter().any(|s| name.ends_with(s))
}

/// Replay the regressions and seeds, then mutate until the budget is spent;
/// fail on any panic, with the inputs saved.
fn fuzz(name: &str, seeds: Vec<Vec<u8>>, shape: Shape, exec: &dyn Fn(&[u8])) {
    assert!(!seeds.is_empty(), "{name}: no seeds");
    let regressions: Vec<Vec<u8>> = files(&format!("tests/fuzz/{name}"), &|p| ends(p, &[".bin"]))
        .iter()
        .map(|p| read(p))
        .collect();
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
    std::fs::create_dir_all(&out_dir).expect("the fuzz output directory");
    let seed = seed_value(name);
    let mut rng = Rng(seed);
    let started = Instant::now();
    let deadline = started + budget();
    let mut findings: Vec<PathBuf> = Vec::new();
    let mut execs: u64 = 0;
    let mut run = |input: &[u8], findings: &mut Vec<PathBuf>| {
        execs += 1;
        if std::panic::catch_unwind(AssertUnwindSafe(|| exec(input))).is_err() {
            let path = out_dir.join(format!("{name}-{}.bin", findings.len()));
            std::fs::write(&path, input).expect("save the input");
            findings.push(path);
        }
    };
    for input in regressions.iter().chain(&seeds) {
        run(input, &mut findings);
    }
    while Instant::now() < deadline && findings.len() < 20 {
        let base = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, base, &seeds, shape);
        run(&input, &mut findings);
    }
    let secs = started.elapsed().as_secs_f64();
    std::fs::write(
        out_dir.join(format!("{name}.summary")),
        format!(
            "{name}: {execs} executions in {secs:.1} s ({:.0}/s), {} seeds, {} regressions, seed {seed}, {} panics\n",
            execs as f64 / secs.max(1e-9),
            seeds.len(),
            regressions.len(),
            findings.len()
        ),
    )
    .expect("write the summary");
    assert!(
        findings.is_empty(),
        "{name}: {} inputs panicked (seed {seed}); check them in under tests/fuzz/{name}/: {findings:#?}",
        findings.len()
    );
}

/// `(signature, payload)` of every signed commit and tag under `dirs`.
fn signed_objects(dirs: &[&str]) -> Vec<(Vec<u8>, Vec<u8>)> {
    dirs.iter()
        .flat_map(|d| files(d, &|p| ends(p, &[".commit", ".tag"])))
        .filter_map(|p| {
            let raw = read(&p);
            if ends(&p, &[".tag"]) {
                split_tag_signature(&raw)
            } else {
                split_commit_signature(&raw)
            }
        })
        .collect()
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s.into_bytes()
}

fn public_good() -> fulcio::TrustedRoot {
    fulcio::TrustedRoot::from_json(&read(
        &Path::new(ROOT).join("tests/data/trust/sigstore-public-good.trusted_root.json"),
    ))
    .expect("the public-good trusted root")
}

fn at(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).expect("an instant")
}

#[test]
fn policy_load() {
    let mut seeds: Vec<Vec<u8>> = files("templates", &|p| ends(p, &[".toml"]))
        .iter()
        .map(|p| read(p))
        .collect();
    seeds.push(crate::util::HSM_POLICY.as_bytes().to_vec());
    fuzz("policy_load", seeds, Shape::Bytes, &|input| {
        let parsed = sigctl::policy::load::parse("signing.toml", input);
        let diagnostics = match &parsed.result {
            Ok(raw) => {
                let _ = sigctl::policy::view::trust_files(raw);
                for name in raw.identities.keys() {
                    let _ = sigctl::policy::view::is_admin(raw, name.get());
                }
                let _ = sigctl::policy::view::environment_of(raw, "refs/tags/v1.0");
                // every rule, as `check` runs them
                sigctl::policy::validate(
                    raw,
                    &parsed.source,
                    &sigctl::policy::Inputs::default(),
                    time::OffsetDateTime::UNIX_EPOCH,
                )
            }
            Err(d) => vec![d.clone()],
        };
        // and what `check` prints (a snippet renderer once panicked on a
        // long line)
        let _ = sigctl::render::human::diagnostics(
            &diagnostics,
            std::slice::from_ref(&parsed.source),
            100,
        );
    });
}

#[test]
fn commit_object() {
    let seeds: Vec<Vec<u8>> = ["tests/data", "tests/fixtures"]
        .iter()
        .flat_map(|d| files(d, &|p| ends(p, &[".commit", ".tag"])))
        .map(|p| read(&p))
        .collect();
    fuzz("commit_object", seeds, Shape::Bytes, &|input| {
        for (sig, payload) in [split_commit_signature(input), split_tag_signature(input)]
            .into_iter()
            .flatten()
        {
            // the way back gives a commit whose signature splits out again
            let again = sigctl::repo::walk::insert_signature_header(&payload, &sig);
            let _ = split_commit_signature(&again);
        }
    });
}

#[test]
fn cms() {
    let objects = signed_objects(&["tests/data/smimesign", "tests/data/gitsign"]);
    let payloads: Vec<Vec<u8>> = objects.iter().map(|(_, p)| p.clone()).collect();
    let seeds: Vec<Vec<u8>> = objects
        .iter()
        .filter_map(|(sig, _)| cms::dearmor(sig).ok())
        .collect();
    let root = public_good();
    fuzz("cms", seeds, Shape::Der, &|der| {
        // DER as is and armoured, over each real payload (its own verifies)
        let armoured = pem(cms::ARMOR_LABEL, der);
        for payload in &payloads {
            for sig in [der, &armoured[..]] {
                if let Ok(v) = cms::verify_detached(sig, payload) {
                    let _ = x509::parse(&v.certificate);
                    let _ = fulcio::identity(&v.certificate);
                    let _ =
                        fulcio::verify_chain(&v.certificate, &v.chain, &root, at(1_700_000_000));
                    if let Some((entry, body)) = &v.rekor {
                        let _ = sigctl::signature::rekor::verify(entry, body, &root.tlogs);
                    }
                }
            }
        }
    });
}

#[test]
fn x509_certificate() {
    let mut seeds: Vec<Vec<u8>> = files("tests/fixtures", &|p| ends(p, &[".der"]))
        .iter()
        .map(|p| read(p))
        .collect();
    for p in files("tests", &|p| ends(p, &[".pem"])) {
        seeds.extend(x509::ca_certificates(&read(&p)).unwrap_or_default());
    }
    let root = public_good();
    seeds.extend(root.cas.iter().cloned());
    fuzz("x509_certificate", seeds, Shape::Der, &|der| {
        let _ = x509::parse(der);
        let _ = x509::names(der);
        let _ = fulcio::identity(der);
        let _ = fulcio::verify_chain(der, &[der.to_vec()], &root, at(1_700_000_000));
        let _ = x509::ca_certificates(&pem("CERTIFICATE", der));
    });
}

#[test]
fn ssh_signature() {
    let objects = signed_objects(&["tests/data/ssh"]);
    let payloads: Vec<Vec<u8>> = objects.iter().map(|(_, p)| p.clone()).collect();
    let seeds: Vec<Vec<u8>> = objects
        .iter()
        .filter_map(|(sig, _)| ssh::dearmor(sig).ok())
        .collect();
    fuzz("ssh_signature", seeds, Shape::Bytes, &|raw| {
        let armoured = pem("SSH SIGNATURE", raw);
        for payload in &payloads {
            let _ = ssh::verify(&armoured, payload);
        }
    });
}

fn pgp_keys() -> Vec<openpgp::PublicKey> {
    files("tests/data/openpgp", &|p| ends(p, &[".asc"]))
        .iter()
        .flat_map(|p| openpgp::read_keys(&read(p)).unwrap_or_default())
        .collect()
}

#[test]
fn openpgp_signature() {
    let objects = signed_objects(&["tests/data/openpgp", "tests/fixtures/openpgp"]);
    let payloads: Vec<Vec<u8>> = objects.iter().map(|(_, p)| p.clone()).collect();
    let seeds: Vec<Vec<u8>> = objects
        .iter()
        .filter_map(|(sig, _)| openpgp::dearmor(sig).ok())
        .collect();
    let keys = pgp_keys();
    assert!(!keys.is_empty());
    fuzz("openpgp_signature", seeds, Shape::Bytes, &|raw| {
        let armoured = pem("PGP SIGNATURE", raw);
        let _ = openpgp::well_formed(&armoured);
        let _ = openpgp::created(&armoured);
        for payload in &payloads {
            let _ = openpgp::verify(&armoured, payload, &keys);
        }
    });
}

#[test]
fn openpgp_key() {
    let seeds: Vec<Vec<u8>> = ["tests/data/openpgp", "tests/fixtures/openpgp"]
        .iter()
        .flat_map(|d| files(d, &|p| ends(p, &[".asc", ".gpg", ".pgp"])))
        .filter_map(|p| openpgp::dearmor(&read(&p)).ok())
        .collect();
    let objects = signed_objects(&["tests/data/openpgp"]);
    fuzz("openpgp_key", seeds, Shape::Bytes, &|bin| {
        if let Ok(keys) = openpgp::read_keys(bin) {
            for (sig, payload) in &objects {
                let _ = openpgp::verify(sig, payload, &keys);
            }
        }
    });
}

#[test]
fn sigstore_bundle() {
    let seeds: Vec<Vec<u8>> = files("tests/data/bundles", &|p| {
        ends(p, &[".sigstore", ".sigstore.json"])
    })
    .iter()
    .map(|p| read(p))
    .collect();
    // the artefact the conformance bundles sign, in a repository with a policy
    let repo = crate::util::TestRepo::new();
    repo.write("signing.toml", crate::util::HSM_POLICY);
    repo.commit("policy");
    let artefact = Path::new(ROOT).join("tests/data/bundles/conformance/a.txt");
    let opened = sigctl::repo::Repo::discover(&repo.path()).expect("the repository");
    // and without a policy, through every Sigstore check, under both roots
    use sigctl::sign::verify_artifact::{Artefact, Expected, Explicit, verify_explicit};
    let roots: Vec<Vec<u8>> = [
        "tests/data/trust/sigstore-public-good.trusted_root.json",
        "tests/data/trust/sigstore-staging.trusted_root.json",
    ]
    .iter()
    .map(|p| read(&Path::new(ROOT).join(p)))
    .collect();
    let by_file = Artefact::File(artefact.clone());
    fuzz("sigstore_bundle", seeds, Shape::Json, &|json| {
        let _ =
            sigctl::sign::artifact::verify_artifact(&opened, &artefact, json, at(1_780_000_000));
        for root in &roots {
            let _ = verify_explicit(
                &by_file,
                json,
                &Explicit {
                    trusted_root: root,
                    trusted_root_name: "root".into(),
                    expected: Expected::Identity {
                        subject: "nobody@example.com".into(),
                        issuer: "https://example.com".into(),
                    },
                },
            );
        }
    });
}

#[test]
fn trusted_root() {
    let seeds: Vec<Vec<u8>> = files("tests/data/trust", &|p| ends(p, &[".json"]))
        .iter()
        .map(|p| read(p))
        .collect();
    fuzz("trusted_root", seeds, Shape::Json, &|json| {
        if let Ok(root) = fulcio::TrustedRoot::from_json(json) {
            for ca in &root.cas {
                let _ = fulcio::verify_chain(ca, &[], &root, at(1_700_000_000));
            }
        }
    });
}
