//! OpenPGP detached signatures (RFC 4880 v4) as git writes them with
//! `gpg.format=openpgp`, for identities that declare an OpenPGP public key:
//! typically a forge's web-flow key, so merges made in its web interface can
//! be authorised. RSA keys and subkeys; SHA-1/224/256/384/512.
//!
//! Pure: armoured bytes in, the signing key's fingerprint and claimed time out.

use base64::Engine;
use sha2::Digest;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgpError {
    #[error("malformed OpenPGP data: {0}")]
    Malformed(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("no key of the given key file made this signature")]
    UnknownKey,
}

/// A public key (primary or subkey) read from a key file.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// Upper-case hex SHA-1 fingerprint (v4).
    pub fingerprint: String,
    /// The fingerprint of the primary key this key belongs to.
    pub primary: String,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl PublicKey {
    fn key_id(&self) -> &str {
        &self.fingerprint[self.fingerprint.len() - 16..]
    }
}

/// What a verified signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The primary key's fingerprint (what identities name).
    pub primary: String,
    /// The signing key's fingerprint (a subkey's, when a subkey signed).
    pub signing_key: String,
    /// The signature creation time the signer claims (seconds).
    pub created: Option<i64>,
}

/// The binary inside ASCII armour (the CRC-24 line is skipped; the
/// signature's own check is what counts).
pub fn dearmor(text: &[u8]) -> Result<Vec<u8>, PgpError> {
    let text = std::str::from_utf8(text).map_err(|_| PgpError::Malformed("not UTF-8".into()))?;
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN PGP"));
    lines
        .next()
        .ok_or_else(|| PgpError::Malformed("no BEGIN line".into()))?;
    // armour headers end at the first empty line
    let mut body = String::new();
    let mut in_headers = true;
    for l in lines {
        let l = l.trim_end();
        if l.starts_with("-----END PGP") {
            break;
        }
        if in_headers {
            if l.is_empty() {
                in_headers = false;
            } else if !l.contains(": ") {
                in_headers = false;
                body.push_str(l);
            }
            continue;
        }
        if l.starts_with('=') && l.len() == 5 {
            continue; // CRC-24
        }
        body.push_str(l);
    }
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| PgpError::Malformed("bad base64".into()))
}

/// Split packets: `(tag, body)`.
fn packets(mut data: &[u8]) -> Result<Vec<(u8, &[u8])>, PgpError> {
    let bad = || PgpError::Malformed("truncated packet".into());
    let mut out = Vec::new();
    while let Some(&first) = data.first() {
        if first & 0x80 == 0 {
            return Err(PgpError::Malformed("not a packet header".into()));
        }
        let (tag, len, header) = if first & 0x40 != 0 {
            // new format
            let tag = first & 0x3f;
            let b0 = usize::from(*data.get(1).ok_or_else(bad)?);
            match b0 {
                0..=191 => (tag, b0, 2),
                192..=223 => {
                    let b1 = usize::from(*data.get(2).ok_or_else(bad)?);
                    (tag, ((b0 - 192) << 8) + b1 + 192, 3)
                }
                255 => {
                    let b = data.get(2..6).ok_or_else(bad)?;
                    (
                        tag,
                        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
                        6,
                    )
                }
                _ => return Err(PgpError::Unsupported("partial body lengths".into())),
            }
        } else {
            let tag = (first >> 2) & 0x0f;
            match first & 0x03 {
                0 => (tag, usize::from(*data.get(1).ok_or_else(bad)?), 2),
                1 => {
                    let b = data.get(1..3).ok_or_else(bad)?;
                    (tag, usize::from(u16::from_be_bytes([b[0], b[1]])), 3)
                }
                2 => {
                    let b = data.get(1..5).ok_or_else(bad)?;
                    (
                        tag,
                        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
                        5,
                    )
                }
                _ => return Err(PgpError::Unsupported("indeterminate packet length".into())),
            }
        };
        let end = (header as usize).checked_add(len).ok_or_else(bad)?;
        out.push((tag, data.get(header as usize..end).ok_or_else(bad)?));
        data = &data[end..];
    }
    Ok(out)
}

fn mpi(data: &[u8]) -> Result<(&[u8], &[u8]), PgpError> {
    let bad = || PgpError::Malformed("truncated MPI".into());
    let b = data.get(..2).ok_or_else(bad)?;
    let bits = usize::from(u16::from_be_bytes([b[0], b[1]]));
    let bytes = bits.div_ceil(8);
    Ok((data.get(2..2 + bytes).ok_or_else(bad)?, &data[2 + bytes..]))
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Every RSA key and subkey in an armoured (or binary) public key file.
pub fn read_keys(data: &[u8]) -> Result<Vec<PublicKey>, PgpError> {
    let bin = if data.starts_with(b"-----") {
        dearmor(data)?
    } else {
        data.to_vec()
    };
    let mut keys = Vec::new();
    let mut primary = String::new();
    for (tag, body) in packets(&bin)? {
        if tag != 6 && tag != 14 {
            continue;
        }
        if body.first() != Some(&4) {
            continue; // v3/v5/v6 keys: not read
        }
        let mut h = sha1::Sha1::new();
        h.update([0x99]);
        h.update((body.len() as u16).to_be_bytes());
        h.update(body);
        let fingerprint = hex_upper(&h.finalize());
        if tag == 6 {
            primary = fingerprint.clone();
        }
        let algo = *body
            .get(5)
            .ok_or_else(|| PgpError::Malformed("short key".into()))?;
        if !matches!(algo, 1..=3) {
            continue; // not RSA
        }
        let (n, rest) = mpi(&body[6..])?;
        let (e, _) = mpi(rest)?;
        keys.push(PublicKey {
            fingerprint,
            primary: primary.clone(),
            n: n.to_vec(),
            e: e.to_vec(),
        });
    }
    if keys.is_empty() {
        return Err(PgpError::Unsupported("no RSA key in the key file".into()));
    }
    Ok(keys)
}

/// Verify an armoured detached signature over `message` with one of `keys`.
pub fn verify(armored: &[u8], message: &[u8], keys: &[PublicKey]) -> Result<Verified, PgpError> {
    let bin = dearmor(armored)?;
    let pkts = packets(&bin)?;
    let sig = pkts
        .iter()
        .find(|(t, _)| *t == 2)
        .map(|(_, b)| *b)
        .ok_or_else(|| PgpError::Malformed("no signature packet".into()))?;
    let bad = || PgpError::Malformed("truncated signature".into());
    if sig.first() != Some(&4) {
        return Err(PgpError::Unsupported(
            "signature packets other than v4".into(),
        ));
    }
    let (sig_type, pk_algo, hash_algo) = (sig[1], sig[2], sig[3]);
    if sig_type != 0x00 {
        return Err(PgpError::Unsupported(format!(
            "signature type {sig_type:#04x}"
        )));
    }
    if !matches!(pk_algo, 1 | 3) {
        return Err(PgpError::Unsupported(format!(
            "public-key algorithm {pk_algo}"
        )));
    }
    let hashed_len = usize::from(u16::from_be_bytes([
        *sig.get(4).ok_or_else(bad)?,
        *sig.get(5).ok_or_else(bad)?,
    ]));
    let hashed_end = 6 + hashed_len;
    let hashed = sig.get(6..hashed_end).ok_or_else(bad)?;
    let unhashed_len = usize::from(u16::from_be_bytes([
        *sig.get(hashed_end).ok_or_else(bad)?,
        *sig.get(hashed_end + 1).ok_or_else(bad)?,
    ]));
    let unhashed = sig
        .get(hashed_end + 2..hashed_end + 2 + unhashed_len)
        .ok_or_else(bad)?;
    let rest = &sig[hashed_end + 2 + unhashed_len..];
    let left16 = rest.get(..2).ok_or_else(bad)?;
    let (s, _) = mpi(&rest[2..])?;

    let mut issuer = None;
    let mut created = None;
    for (kind, data) in subpackets(hashed)?.into_iter().chain(subpackets(unhashed)?) {
        match kind & 0x7f {
            2 if data.len() == 4 => {
                created = Some(i64::from(u32::from_be_bytes([
                    data[0], data[1], data[2], data[3],
                ])))
            }
            16 if data.len() == 8 => issuer = issuer.or(Some(hex_upper(data))),
            33 if data.len() == 21 => issuer = Some(hex_upper(&data[1..])),
            _ => {}
        }
    }
    // the hashed material: message, then the hashed part of the packet, then the trailer
    let mut trailer = sig[..hashed_end].to_vec();
    trailer.extend_from_slice(&[0x04, 0xff]);
    trailer.extend_from_slice(&(hashed_end as u32).to_be_bytes());
    let digest = |m: &[u8], t: &[u8]| -> Result<Vec<u8>, PgpError> {
        Ok(match hash_algo {
            2 => sha1::Sha1::new()
                .chain_update(m)
                .chain_update(t)
                .finalize()
                .to_vec(),
            8 => sha2::Sha256::new()
                .chain_update(m)
                .chain_update(t)
                .finalize()
                .to_vec(),
            9 => sha2::Sha384::new()
                .chain_update(m)
                .chain_update(t)
                .finalize()
                .to_vec(),
            10 => sha2::Sha512::new()
                .chain_update(m)
                .chain_update(t)
                .finalize()
                .to_vec(),
            11 => sha2::Sha224::new()
                .chain_update(m)
                .chain_update(t)
                .finalize()
                .to_vec(),
            other => return Err(PgpError::Unsupported(format!("hash algorithm {other}"))),
        })
    };
    let hash = digest(message, &trailer)?;
    // the left 16 bits are a hint only: GitHub's 2017 web-flow signatures
    // carry wrong ones over valid RSA signatures, and GnuPG accepts them
    let _ = left16;
    let candidates: Vec<&PublicKey> = keys
        .iter()
        .filter(|k| {
            issuer
                .as_deref()
                .is_none_or(|i| k.fingerprint.ends_with(i) || k.key_id() == i)
        })
        .collect();
    if candidates.is_empty() {
        return Err(PgpError::UnknownKey);
    }
    for k in candidates {
        let Ok(pk) = rsa::PublicKey::new(
            rsa::BoxedUint::from_be_slice_vartime(&k.n),
            rsa::BoxedUint::from_be_slice_vartime(&k.e),
        ) else {
            continue;
        };
        let ok = match hash_algo {
            2 => pk.pkcs1v15_verify_prehash::<sha1::Sha1>(&hash, s),
            8 => pk.pkcs1v15_verify_prehash::<sha2::Sha256>(&hash, s),
            9 => pk.pkcs1v15_verify_prehash::<sha2::Sha384>(&hash, s),
            10 => pk.pkcs1v15_verify_prehash::<sha2::Sha512>(&hash, s),
            _ => pk.pkcs1v15_verify_prehash::<sha2::Sha224>(&hash, s),
        };
        if ok.is_ok() {
            return Ok(Verified {
                primary: k.primary.clone(),
                signing_key: k.fingerprint.clone(),
                created,
            });
        }
    }
    Err(PgpError::BadSignature)
}

/// Whether armoured bytes hold a v4 signature packet this module can check
/// (without verifying it).
pub fn well_formed(armored: &[u8]) -> Result<(), PgpError> {
    let bin = dearmor(armored)?;
    let pkts = packets(&bin)?;
    let sig = pkts
        .iter()
        .find(|(t, _)| *t == 2)
        .map(|(_, b)| *b)
        .ok_or_else(|| PgpError::Malformed("no signature packet".into()))?;
    if sig.len() < 10 {
        return Err(PgpError::Malformed("truncated signature".into()));
    }
    if sig[0] != 4 {
        return Err(PgpError::Unsupported(
            "signature packets other than v4".into(),
        ));
    }
    Ok(())
}

/// The creation time a signature claims, read without verifying it.
pub fn created(armored: &[u8]) -> Option<i64> {
    let bin = dearmor(armored).ok()?;
    let pkts = packets(&bin).ok()?;
    let sig = pkts.iter().find(|(t, _)| *t == 2)?.1;
    let hashed_len = usize::from(u16::from_be_bytes([*sig.get(4)?, *sig.get(5)?]));
    subpackets(sig.get(6..6 + hashed_len)?)
        .ok()?
        .into_iter()
        .find(|(k, d)| k & 0x7f == 2 && d.len() == 4)
        .map(|(_, d)| i64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]])))
}

fn subpackets(mut data: &[u8]) -> Result<Vec<(u8, &[u8])>, PgpError> {
    let bad = || PgpError::Malformed("truncated subpacket".into());
    let mut out = Vec::new();
    while let Some(&b0) = data.first() {
        let (len, header) = match b0 {
            0..=191 => (usize::from(b0), 1),
            192..=254 => {
                let b1 = usize::from(*data.get(1).ok_or_else(bad)?);
                (((usize::from(b0) - 192) << 8) + b1 + 192, 2)
            }
            255 => {
                let b = data.get(1..5).ok_or_else(bad)?;
                (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize, 5)
            }
        };
        if len == 0 {
            return Err(bad());
        }
        let body = data.get(header..header + len).ok_or_else(bad)?;
        out.push((body[0], &body[1..]));
        data = &data[header + len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::walk::{split_commit_signature, split_tag_signature};

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/openpgp");

    fn keys() -> Vec<PublicKey> {
        let mut all = Vec::new();
        for e in std::fs::read_dir(DIR).into_iter().flatten().flatten() {
            if e.path().extension().is_some_and(|x| x == "asc") {
                all.extend(
                    read_keys(&std::fs::read(e.path()).unwrap_or_default()).unwrap_or_default(),
                );
            }
        }
        all
    }

    fn object(path: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
        let raw = std::fs::read(path).unwrap_or_default();
        if path.extension().is_some_and(|x| x == "tag") {
            split_tag_signature(&raw)
        } else {
            split_commit_signature(&raw)
        }
        .unwrap_or_default()
    }

    #[test]
    fn real_web_flow_and_git_release_signatures_verify_and_tampered_ones_do_not() {
        let keys = keys();
        assert!(keys.len() >= 3, "{} keys", keys.len());
        let mut n = 0;
        let mut failures = Vec::new();
        for e in std::fs::read_dir(DIR).into_iter().flatten().flatten() {
            let p = e.path();
            if !p.extension().is_some_and(|x| x == "commit" || x == "tag") {
                continue;
            }
            let (sig, payload) = object(&p);
            let v = match verify(&sig, &payload, &keys) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{}: {e}", p.display()));
                    continue;
                }
            };
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let want = if name.ends_with(".tag") {
                "96E07AF25771955980DAD10020D04E5A713660A7"
            } else {
                ""
            };
            if !want.is_empty() {
                assert_eq!(v.primary, want, "{name}");
            }
            n += 1;
        }
        assert!(failures.is_empty(), "{failures:#?}");
        assert_eq!(n, 7);
        for e in std::fs::read_dir(format!("{DIR}/tampered"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let (sig, payload) = object(&e.path());
            assert!(
                verify(&sig, &payload, &keys).is_err(),
                "{}",
                e.path().display()
            );
        }
    }

    #[test]
    fn a_signature_by_a_key_not_given_is_refused() {
        let junio: Vec<PublicKey> = keys()
            .into_iter()
            .filter(|k| k.primary.starts_with("96E07AF2"))
            .collect();
        let (sig, payload) = object(
            &std::path::Path::new(DIR).join("cde02c7a5ea01dcf896ee1894d2daf8b81325410.commit"),
        );
        assert_eq!(verify(&sig, &payload, &junio), Err(PgpError::UnknownKey));
        assert!(verify(b"garbage", b"x", &junio).is_err());
        assert!(read_keys(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n-----END PGP PUBLIC KEY BLOCK-----\n").is_err());
    }
}
