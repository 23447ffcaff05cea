//! Rekor (v1) transparency-log evidence embedded in a gitsign signature:
//! the unsigned CMS attribute 1.3.6.1.4.1.57264.3.1 holds a protobuf
//! `dev.sigstore.rekor.v1.TransparencyLogEntry` without its body. The body
//! is rebuilt as gitsign writes it (a `hashedrekord` 0.0.1 of the signed
//! attributes' SHA-256, the CMS signature and the leaf certificate), and the
//! inclusion promise (the signed entry timestamp, SET) is checked against a
//! Rekor key of the trusted root: then the entry's integrated time is a time
//! the signer did not choose.
//!
//! Pure: bytes in, a time or why not out.

use base64::Engine;
use sha2::Digest;
use time::OffsetDateTime;

/// The unsigned attribute gitsign stores the log entry in.
pub const ATTRIBUTE_OID: &str = "1.3.6.1.4.1.57264.3.1";

/// A Rekor log's key, from a trusted root's `tlogs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    /// The log id: SHA-256 of the key's SPKI.
    pub key_id: Vec<u8>,
    /// SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
    /// Entries integrated before this time are not vouched for by this key.
    pub valid_from: Option<OffsetDateTime>,
    /// Nor entries integrated after this one (a retired log key).
    pub valid_until: Option<OffsetDateTime>,
}

/// The parts of a TransparencyLogEntry a promise covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Entry {
    log_index: i64,
    key_id: Vec<u8>,
    integrated_time: i64,
    set: Vec<u8>,
    kind: String,
    version: String,
}

/// Read a protobuf varint.
fn varint(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (first, rest) = b.split_first()?;
        *b = rest;
        v |= u64::from(first & 0x7f) << shift;
        if first & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A protobuf field's value: a varint, or length-delimited bytes.
type Value<'a> = Result<u64, &'a [u8]>;

/// The fields of one protobuf message: `(field number, value)`.
fn fields(mut b: &[u8]) -> Option<Vec<(u64, Value<'_>)>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => out.push((field, Ok(varint(&mut b)?))),
            2 => {
                let len = usize::try_from(varint(&mut b)?).ok()?;
                let (v, rest) = (b.get(..len)?, b.get(len..)?);
                b = rest;
                out.push((field, Err(v)));
            }
            1 => b = b.get(8..)?,
            5 => b = b.get(4..)?,
            _ => return None,
        }
    }
    Some(out)
}

fn parse_entry(pb: &[u8]) -> Option<Entry> {
    let mut e = Entry::default();
    for (field, value) in fields(pb)? {
        match (field, value) {
            (1, Ok(v)) => e.log_index = i64::try_from(v).ok()?,
            (2, Err(m)) => {
                for (f, v) in fields(m)? {
                    if let (1, Err(id)) = (f, v) {
                        e.key_id = id.to_vec();
                    }
                }
            }
            (3, Err(m)) => {
                for (f, v) in fields(m)? {
                    match (f, v) {
                        (1, Err(s)) => e.kind = String::from_utf8_lossy(s).into_owned(),
                        (2, Err(s)) => e.version = String::from_utf8_lossy(s).into_owned(),
                        _ => {}
                    }
                }
            }
            (4, Ok(v)) => e.integrated_time = i64::try_from(v).ok()?,
            (5, Err(m)) => {
                for (f, v) in fields(m)? {
                    if let (1, Err(set)) = (f, v) {
                        e.set = set.to_vec();
                    }
                }
            }
            _ => {}
        }
    }
    Some(e)
}

/// The `hashedrekord` 0.0.1 body gitsign logs for a CMS signature:
/// canonical JSON over the signed attributes' SHA-256 (as DER with the SET
/// tag), the signature and the leaf certificate as PEM.
pub fn gitsign_body(signed_attrs: &[u8], signature: &[u8], leaf: &[u8]) -> Vec<u8> {
    hashedrekord_body(&sha2::Sha256::digest(signed_attrs), signature, leaf)
}

/// The canonical `hashedrekord` 0.0.1 body (keys sorted, as Rekor stores
/// it) of a signature over a SHA-256 `digest`, with the leaf certificate as
/// LF-terminated PEM (Rekor re-encodes the PEM it is sent this way).
pub fn hashedrekord_body(digest: &[u8], signature: &[u8], leaf: &[u8]) -> Vec<u8> {
    let b64 = &base64::engine::general_purpose::STANDARD;
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.encode(leaf).as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    format!(
        r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"sha256","value":"{}"}}}},"signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}}"#,
        super::x509::hex(digest),
        b64.encode(signature),
        b64.encode(pem.as_bytes())
    )
    .into_bytes()
}

/// Check the entry's inclusion promise over `body` with a key of `logs`;
/// the integrated time it vouches for. `Ok(None)`: the entry is from a log
/// `logs` does not name (no evidence either way).
pub fn verify(
    entry_pb: &[u8],
    body: &[u8],
    logs: &[LogKey],
) -> Result<Option<OffsetDateTime>, String> {
    let e = parse_entry(entry_pb).ok_or("the embedded Rekor entry does not parse")?;
    if e.kind != "hashedrekord" || e.version != "0.0.1" {
        return Err(format!(
            "a Rekor entry of kind {} {} (sigctl checks hashedrekord 0.0.1)",
            e.kind, e.version
        ));
    }
    if e.log_index < 0 {
        return Err("the Rekor entry has a negative log index".into());
    }
    let at = OffsetDateTime::from_unix_timestamp(e.integrated_time)
        .map_err(|_| "the Rekor entry's integrated time is out of range")?;
    let Some(log) = logs.iter().find(|l| l.key_id == e.key_id) else {
        return Ok(None);
    };
    if log.valid_from.is_some_and(|from| at < from) {
        return Err("the Rekor entry predates its log key".into());
    }
    if log.valid_until.is_some_and(|until| at > until) {
        return Err(
            "the Rekor entry is dated after its log key was retired (validFor.end in the trusted root)"
                .into(),
        );
    }
    let payload = format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        base64::engine::general_purpose::STANDARD.encode(body),
        e.integrated_time,
        super::x509::hex(&e.key_id),
        e.log_index
    );
    let info = spki::SubjectPublicKeyInfoRef::try_from(log.spki.as_slice())
        .map_err(|_| "the Rekor key in the trusted root does not parse")?;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        info.subject_public_key.raw_bytes(),
    )
    .verify(payload.as_bytes(), &e.set)
    .map_err(|_| "the Rekor entry's signed entry timestamp does not verify: the entry or the signature was changed")?;
    Ok(Some(at))
}

/// A whole TransparencyLogEntry as gitsign embeds it (no body), for
/// writing one: keyless commit and tag signatures carry the entry Rekor
/// returned in the same unsigned attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogEntry {
    pub log_index: i64,
    /// The log id: SHA-256 of the log key's SPKI.
    pub key_id: Vec<u8>,
    pub kind: String,
    pub version: String,
    pub integrated_time: i64,
    /// The signed entry timestamp (the inclusion promise).
    pub set: Vec<u8>,
    pub proof: Option<InclusionProof>,
}

/// `dev.sigstore.rekor.v1.InclusionProof`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InclusionProof {
    pub log_index: i64,
    pub root_hash: Vec<u8>,
    pub tree_size: i64,
    pub hashes: Vec<Vec<u8>>,
    /// The signed checkpoint (note format).
    pub checkpoint: String,
}

impl LogEntry {
    /// Read every field gitsign writes; None if anything else is there.
    pub fn decode(pb: &[u8]) -> Option<Self> {
        let e = parse_entry(pb)?;
        let mut proof = None;
        for (field, value) in fields(pb)? {
            match (field, value) {
                (1..=5, _) => {}
                (6, Err(m)) => {
                    let mut p = InclusionProof::default();
                    for (f, v) in fields(m)? {
                        match (f, v) {
                            (1, Ok(i)) => p.log_index = i64::try_from(i).ok()?,
                            (2, Err(h)) => p.root_hash = h.to_vec(),
                            (3, Ok(n)) => p.tree_size = i64::try_from(n).ok()?,
                            (4, Err(h)) => p.hashes.push(h.to_vec()),
                            (5, Err(c)) => {
                                for (cf, cv) in fields(c)? {
                                    if let (1, Err(env)) = (cf, cv) {
                                        p.checkpoint = String::from_utf8(env.to_vec()).ok()?;
                                    }
                                }
                            }
                            _ => return None,
                        }
                    }
                    proof = Some(p);
                }
                _ => return None,
            }
        }
        Some(Self {
            log_index: e.log_index,
            key_id: e.key_id,
            kind: e.kind,
            version: e.version,
            integrated_time: e.integrated_time,
            set: e.set,
            proof,
        })
    }

    /// The protobuf encoding, fields in number order and zero values
    /// omitted, as Go's and Rust's protobuf libraries write it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint_field(&mut out, 1, self.log_index);
        let mut log_id = Vec::new();
        put_bytes_field(&mut log_id, 1, &self.key_id);
        put_bytes_field(&mut out, 2, &log_id);
        let mut kv = Vec::new();
        put_bytes_field(&mut kv, 1, self.kind.as_bytes());
        put_bytes_field(&mut kv, 2, self.version.as_bytes());
        put_bytes_field(&mut out, 3, &kv);
        put_varint_field(&mut out, 4, self.integrated_time);
        let mut promise = Vec::new();
        put_bytes_field(&mut promise, 1, &self.set);
        put_bytes_field(&mut out, 5, &promise);
        if let Some(p) = &self.proof {
            let mut m = Vec::new();
            put_varint_field(&mut m, 1, p.log_index);
            put_bytes_field(&mut m, 2, &p.root_hash);
            put_varint_field(&mut m, 3, p.tree_size);
            for h in &p.hashes {
                put_key(&mut m, 4, 2);
                put_varint(&mut m, h.len() as u64);
                m.extend_from_slice(h);
            }
            let mut cp = Vec::new();
            put_bytes_field(&mut cp, 1, p.checkpoint.as_bytes());
            put_bytes_field(&mut m, 5, &cp);
            put_bytes_field(&mut out, 6, &m);
        }
        out
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u64, wire: u64) {
    put_varint(out, (field << 3) | wire);
}

fn put_varint_field(out: &mut Vec<u8>, field: u64, v: i64) {
    if v != 0 {
        put_key(out, field, 0);
        put_varint(out, v as u64);
    }
}

fn put_bytes_field(out: &mut Vec<u8>, field: u64, v: &[u8]) {
    if !v.is_empty() {
        put_key(out, field, 2);
        put_varint(out, v.len() as u64);
        out.extend_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every real gitsign entry decodes whole and encodes back to its own bytes.
    #[test]
    fn real_gitsign_entries_round_trip() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/gitsign");
        let (mut checked, mut proofs) = (0, 0);
        for e in std::fs::read_dir(dir).expect("the gitsign data").flatten() {
            if !e.path().is_file() {
                continue; // tampered/
            }
            let raw = std::fs::read(e.path()).expect("read");
            let Some((sig, payload)) = crate::repo::walk::split_commit_signature(&raw)
                .or_else(|| crate::repo::walk::split_tag_signature(&raw))
            else {
                continue;
            };
            let Ok(v) = crate::signature::cms::verify_detached(&sig, &payload) else {
                continue;
            };
            let Some((entry, _)) = v.rekor else { continue };
            let decoded = LogEntry::decode(&entry)
                .unwrap_or_else(|| panic!("{}: does not decode", e.path().display()));
            assert_eq!(decoded.kind, "hashedrekord");
            assert_eq!(decoded.encode(), entry, "{}", e.path().display());
            checked += 1;
            proofs += usize::from(decoded.proof.is_some());
        }
        assert!(checked >= 3, "only {checked} entries");
        assert!(proofs >= 1, "no entry with an inclusion proof");
    }

    #[test]
    fn varints_and_fields_parse_and_garbage_does_not() {
        let mut b: &[u8] = &[0xac, 0x02];
        assert_eq!(varint(&mut b), Some(300));
        assert!(fields(&[0x0a, 0x05, 0x01]).is_none(), "length past the end");
        assert!(fields(&[0x0b]).is_none(), "wire type 3");
        assert!(parse_entry(&[0xff; 12]).is_none());
        assert!(verify(&[0x08, 0x01], b"{}", &[]).is_err(), "no kind");
    }
}
