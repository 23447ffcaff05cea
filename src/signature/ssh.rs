//! SSH signatures (SSHSIG, OpenSSH's PROTOCOL.sshsig) as git writes them with
//! `gpg.format=ssh`: namespace `git`, SHA-256 or SHA-512 of the payload.
//!
//! Pure: bytes in, the signer's public key blob out.

use base64::Engine;
use sha2::Digest;

/// Why an SSH signature is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshSigError {
    #[error("not an SSH SIGNATURE block: {0}")]
    Malformed(String),
    #[error("the signature's namespace is `{0}`, not `git`")]
    Namespace(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("the signature does not verify with its key")]
    BadSignature,
}

/// A verified SSH signature: the signer's public key, as the wire blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub public_key: Vec<u8>,
    pub key_type: String,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32, SshSigError> {
        let b = self
            .0
            .get(..4)
            .ok_or_else(|| SshSigError::Malformed("truncated".into()))?;
        self.0 = &self.0[4..];
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<&'a [u8], SshSigError> {
        let n = self.u32()? as usize;
        let s = self
            .0
            .get(..n)
            .ok_or_else(|| SshSigError::Malformed("truncated".into()))?;
        self.0 = &self.0[n..];
        Ok(s)
    }
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// The binary SSHSIG inside an armoured `SSH SIGNATURE` block.
pub fn dearmor(text: &[u8]) -> Result<Vec<u8>, SshSigError> {
    let text = std::str::from_utf8(text).map_err(|_| SshSigError::Malformed("not UTF-8".into()))?;
    let start = text
        .find("-----BEGIN SSH SIGNATURE-----")
        .ok_or_else(|| SshSigError::Malformed("no BEGIN line".into()))?;
    let rest = &text[start + "-----BEGIN SSH SIGNATURE-----".len()..];
    let end = rest
        .find("-----END SSH SIGNATURE-----")
        .ok_or_else(|| SshSigError::Malformed("no END line".into()))?;
    let b64: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| SshSigError::Malformed("bad base64".into()))
}

/// Verify an armoured SSH signature over `message` in namespace `git`.
pub fn verify(armored: &[u8], message: &[u8]) -> Result<Verified, SshSigError> {
    let raw = dearmor(armored)?;
    let mut r = Reader(
        raw.strip_prefix(b"SSHSIG")
            .ok_or_else(|| SshSigError::Malformed("no SSHSIG magic".into()))?,
    );
    if r.u32()? != 1 {
        return Err(SshSigError::Unsupported(
            "SSHSIG version other than 1".into(),
        ));
    }
    let public_key = r.string()?.to_vec();
    let namespace = r.string()?;
    let reserved = r.string()?;
    let hash_alg = r.string()?;
    let signature = r.string()?;
    if namespace != b"git" {
        return Err(SshSigError::Namespace(
            String::from_utf8_lossy(namespace).into_owned(),
        ));
    }
    let digest = match hash_alg {
        b"sha256" => sha2::Sha256::digest(message).to_vec(),
        b"sha512" => sha2::Sha512::digest(message).to_vec(),
        other => {
            return Err(SshSigError::Unsupported(format!(
                "hash {}",
                String::from_utf8_lossy(other)
            )));
        }
    };
    let mut signed = b"SSHSIG".to_vec();
    put_string(&mut signed, namespace);
    put_string(&mut signed, reserved);
    put_string(&mut signed, hash_alg);
    put_string(&mut signed, &digest);

    let mut key = Reader(&public_key);
    let key_type = String::from_utf8_lossy(key.string()?).into_owned();
    let mut sig = Reader(signature);
    let sig_type = sig.string()?;
    let sig_blob = sig.string()?;
    match key_type.as_str() {
        "ssh-ed25519" => {
            if sig_type != b"ssh-ed25519" {
                return Err(SshSigError::BadSignature);
            }
            let pk: [u8; 32] = key
                .string()?
                .try_into()
                .map_err(|_| SshSigError::Malformed("ed25519 key length".into()))?;
            let vk = ed25519_key(&pk)?;
            let s: [u8; 64] = sig_blob.try_into().map_err(|_| SshSigError::BadSignature)?;
            vk.verify_strict(&signed, &ed25519_dalek::Signature::from_bytes(&s))
                .map_err(|_| SshSigError::BadSignature)?;
        }
        "ecdsa-sha2-nistp256" => {
            if sig_type != b"ecdsa-sha2-nistp256" {
                return Err(SshSigError::BadSignature);
            }
            let _curve = key.string()?;
            verify_p256(key.string()?, sig_blob, &signed)?;
        }
        "sk-ecdsa-sha2-nistp256@openssh.com" => {
            if sig_type != b"sk-ecdsa-sha2-nistp256@openssh.com" {
                return Err(SshSigError::BadSignature);
            }
            let _curve = key.string()?;
            let point = key.string()?;
            let application = key.string()?;
            let sk_signed = security_key_data(application, &mut sig, &signed)?;
            verify_p256(point, sig_blob, &sk_signed)?;
        }
        "sk-ssh-ed25519@openssh.com" => {
            if sig_type != b"sk-ssh-ed25519@openssh.com" {
                return Err(SshSigError::BadSignature);
            }
            let pk: [u8; 32] = key
                .string()?
                .try_into()
                .map_err(|_| SshSigError::Malformed("ed25519 key length".into()))?;
            let application = key.string()?;
            let s: [u8; 64] = sig_blob.try_into().map_err(|_| SshSigError::BadSignature)?;
            let sk_signed = security_key_data(application, &mut sig, &signed)?;
            let vk = ed25519_key(&pk)?;
            vk.verify_strict(&sk_signed, &ed25519_dalek::Signature::from_bytes(&s))
                .map_err(|_| SshSigError::BadSignature)?;
        }
        "ssh-rsa" => {
            let e = key.string()?;
            let n = key.string()?;
            let pk = rsa::PublicKey::new(
                rsa::BoxedUint::from_be_slice_vartime(strip_mpint(n)),
                rsa::BoxedUint::from_be_slice_vartime(strip_mpint(e)),
            )
            .map_err(|_| SshSigError::Malformed("bad RSA key".into()))?;
            let ok = match sig_type {
                b"rsa-sha2-256" => pk.pkcs1v15_verify::<sha2::Sha256>(&signed, sig_blob),
                b"rsa-sha2-512" => pk.pkcs1v15_verify::<sha2::Sha512>(&signed, sig_blob),
                other => {
                    return Err(SshSigError::Unsupported(format!(
                        "RSA signature type {}",
                        String::from_utf8_lossy(other)
                    )));
                }
            };
            ok.map_err(|_| SshSigError::BadSignature)?;
        }
        other => return Err(SshSigError::Unsupported(format!("SSH key type {other}"))),
    }
    Ok(Verified {
        public_key,
        key_type,
    })
}

/// A security key signs SHA-256(application) ‖ flags ‖ counter ‖ SHA-256(data);
/// flags and counter follow the signature blob.
fn security_key_data(
    application: &[u8],
    sig: &mut Reader,
    signed: &[u8],
) -> Result<Vec<u8>, SshSigError> {
    let flags = *sig.0.first().ok_or(SshSigError::BadSignature)?;
    sig.0 = &sig.0[1..];
    let counter = sig.u32()?;
    let mut out = sha2::Sha256::digest(application).to_vec();
    out.push(flags);
    out.extend_from_slice(&counter.to_be_bytes());
    out.extend_from_slice(&sha2::Sha256::digest(signed));
    Ok(out)
}

/// An Ed25519 public key, decompressed once per thread and key (a history
/// repeats a handful of keys; decompressing costs a fifth of a verification).
fn ed25519_key(pk: &[u8; 32]) -> Result<ed25519_dalek::VerifyingKey, SshSigError> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static KEYS: RefCell<HashMap<[u8; 32], ed25519_dalek::VerifyingKey>> =
            RefCell::new(HashMap::new());
    }
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if let Some(k) = keys.get(pk) {
            return Ok(*k);
        }
        let k =
            ed25519_dalek::VerifyingKey::from_bytes(pk).map_err(|_| SshSigError::BadSignature)?;
        if keys.len() >= 256 {
            keys.clear();
        }
        keys.insert(*pk, k);
        Ok(k)
    })
}

/// ECDSA P-256 with SHA-256 over `message`; the SSH signature blob is two
/// mpints. ring checks the point (uncompressed, on the curve) and verifies.
fn verify_p256(point: &[u8], sig_blob: &[u8], message: &[u8]) -> Result<(), SshSigError> {
    let mut rs = Reader(sig_blob);
    let (r, s) = (rs.string()?, rs.string()?);
    let mut fixed = [0u8; 64];
    for (src, at) in [(r, 0), (s, 32)] {
        let src = strip_mpint(src);
        if src.len() > 32 {
            return Err(SshSigError::BadSignature);
        }
        fixed[at + 32 - src.len()..at + 32].copy_from_slice(src);
    }
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(message, &fixed)
        .map_err(|_| SshSigError::BadSignature)
}

fn strip_mpint(b: &[u8]) -> &[u8] {
    let mut b = b;
    while b.first() == Some(&0) {
        b = &b[1..];
    }
    b
}

/// The wire blob of an `authorized_keys`-style line (`ssh-ed25519 AAAA… comment`).
pub fn key_blob(line: &str) -> Option<Vec<u8>> {
    let b64 = line.split_whitespace().nth(1)?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ssh");

    #[test]
    fn real_git_ssh_signatures_verify_and_tampered_ones_do_not() {
        let Ok(dir) = std::fs::read_dir(TESTDATA) else {
            panic!("the shared testdata is missing at {TESTDATA}");
        };
        let mut checked = 0;
        for e in dir.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "commit") {
                continue;
            }
            let raw = std::fs::read(&p).unwrap_or_default();
            let (sig, payload) =
                crate::repo::walk::split_commit_signature(&raw).unwrap_or_default();
            let v = verify(&sig, &payload).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let pub_line = std::fs::read_to_string(p.with_extension("pub")).unwrap_or_default();
            assert_eq!(Some(v.public_key), key_blob(&pub_line), "{}", p.display());
            checked += 1;
        }
        assert!(checked >= 6, "only {checked} commits");
        for e in std::fs::read_dir(format!("{TESTDATA}/tampered"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let raw = std::fs::read(e.path()).unwrap_or_default();
            let (sig, payload) =
                crate::repo::walk::split_commit_signature(&raw).unwrap_or_default();
            assert_eq!(
                verify(&sig, &payload),
                Err(SshSigError::BadSignature),
                "{}",
                e.path().display()
            );
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(verify(b"", b"x").is_err());
        assert!(
            verify(
                b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
                b"x"
            )
            .is_err()
        );
        assert!(
            verify(
                b"-----BEGIN SSH SIGNATURE-----\n!!\n-----END SSH SIGNATURE-----\n",
                b"x"
            )
            .is_err()
        );
    }
}
