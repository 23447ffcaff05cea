//! OpenPGP detached signatures (RFC 4880 v4) as git writes them with
//! `gpg.format=openpgp`, for identities that declare an OpenPGP public key:
//! typically a forge's web-flow key, so merges made in its web interface can
//! be authorised. RSA keys and subkeys; SHA-1/224/256/384/512.
//!
//! A key file is not a bag of keys: a subkey signs for its primary key only
//! when the primary says so (RFC 4880 §5.2.1, §5.2.4, §11.1), as GnuPG
//! checks on import. `read_keys` keeps
//! - every RSA primary key (a valid key revocation, 0x20, makes it and its
//!   subkeys sign nothing);
//! - an RSA subkey only with a valid subkey binding signature (0x18) by its
//!   primary whose newest one has the signing key flag (0x02) and carries a
//!   valid embedded primary key binding signature (0x19, the "back
//!   signature") by the subkey itself. It signs from its creation time until
//!   the key expiration time of that newest binding, and not after a subkey
//!   revocation (0x28) by the primary: never when the revocation gives no
//!   reason or says "compromised", from the revocation's time when it says
//!   "superseded" or "retired".
//!
//! Signatures the module cannot check (other algorithms, other hashes,
//! unknown critical subpackets in a binding) bind nothing: such a subkey is
//! left out, never taken on trust. The primary key's own expiry is not
//! checked (as before). Copies of one key or subkey in a file are merged, so
//! appending an old unrevoked copy does not undo a revocation.
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
    #[error("{0}")]
    OverBounds(String),
}

/// A public key (primary or subkey) read from a key file.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// Upper-case hex SHA-1 fingerprint (v4).
    pub fingerprint: String,
    /// The fingerprint of the primary key this key belongs to.
    pub primary: String,
    rsa: Rsa,
    validity: Validity,
}

/// An RSA public key: modulus and exponent, big-endian.
#[derive(Debug, Clone)]
struct Rsa {
    n: Vec<u8>,
    e: Vec<u8>,
}

/// When a key may sign, from its self-signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Validity {
    /// A primary key: whatever the time (its expiry is not checked).
    Primary,
    /// A bound signing subkey: signatures created at or after `from` and
    /// before `until` and `revoked` (seconds; `None`: no limit).
    Subkey {
        from: i64,
        until: Option<i64>,
        revoked: Option<i64>,
    },
    /// Revoked for good (a revoked primary, or a hard subkey revocation).
    Never,
}

impl PublicKey {
    fn key_id(&self) -> &str {
        &self.fingerprint[self.fingerprint.len() - 16..]
    }

    /// Whether this key may have made a signature created at `at` (the
    /// hashed creation time; a subkey needs one).
    fn signs_at(&self, at: Option<i64>) -> bool {
        match self.validity {
            Validity::Primary => true,
            Validity::Never => false,
            Validity::Subkey {
                from,
                until,
                revoked,
            } => at.is_some_and(|t| {
                t >= from && until.is_none_or(|u| t < u) && revoked.is_none_or(|r| t < r)
            }),
        }
    }
}

/// What a verified signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The primary key's fingerprint (what identities name).
    pub primary: String,
    /// The signing key's fingerprint (a subkey's, when a subkey signed).
    pub signing_key: String,
    /// The signature creation time the signer claims (seconds; from the
    /// hashed area only).
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

/// The RSA key of a v4 key packet, `None` for other algorithms.
fn rsa_material(body: &[u8]) -> Result<Option<Rsa>, PgpError> {
    let algo = *body
        .get(5)
        .ok_or_else(|| PgpError::Malformed("short key".into()))?;
    if !matches!(algo, 1..=3) {
        return Ok(None); // not RSA
    }
    let (n, rest) = mpi(&body[6..])?;
    let (e, _) = mpi(rest)?;
    Ok(Some(Rsa {
        n: n.to_vec(),
        e: e.to_vec(),
    }))
}

/// A key packet as hashed into fingerprints and key signatures: 0x99, a
/// two-octet length, the body.
fn key_hash_prefix(body: &[u8]) -> Result<[u8; 3], PgpError> {
    let len = u16::try_from(body.len())
        .map_err(|_| PgpError::Malformed("key packet too long".into()))?
        .to_be_bytes();
    Ok([0x99, len[0], len[1]])
}

fn fingerprint(body: &[u8]) -> Result<String, PgpError> {
    let mut h = sha1::Sha1::new();
    h.update(key_hash_prefix(body)?);
    h.update(body);
    Ok(hex_upper(&h.finalize()))
}

/// The creation time in a v4 key packet.
fn key_created(body: &[u8]) -> Result<i64, PgpError> {
    let b = body
        .get(1..5)
        .ok_or_else(|| PgpError::Malformed("short key".into()))?;
    Ok(i64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
}

/// One certificate of a key file: a v4 primary key with every signature
/// packet that follows any copy of it, and its v4 subkeys, each with the
/// signatures that directly follow any copy of it.
struct Cert<'a> {
    fingerprint: String,
    primary: &'a [u8],
    sigs: Vec<&'a [u8]>,
    subkeys: Vec<Subkey<'a>>,
}

struct Subkey<'a> {
    fingerprint: String,
    body: &'a [u8],
    sigs: Vec<&'a [u8]>,
}

/// Group packets into certificates, merging copies of one primary key and of
/// one subkey (by fingerprint). Packets before the first primary key, and
/// under v3/v5/v6 keys, are ignored.
fn certificates<'a>(pkts: &[(u8, &'a [u8])]) -> Result<Vec<Cert<'a>>, PgpError> {
    let mut certs: Vec<Cert<'a>> = Vec::new();
    let mut cur: Option<usize> = None;
    let mut sub: Option<usize> = None;
    for &(tag, body) in pkts {
        match tag {
            6 => {
                sub = None;
                cur = None;
                if body.first() != Some(&4) {
                    continue; // v3/v5/v6 keys: not read
                }
                let fpr = fingerprint(body)?;
                cur = Some(match certs.iter().position(|c| c.fingerprint == fpr) {
                    Some(i) => i,
                    None => {
                        certs.push(Cert {
                            fingerprint: fpr,
                            primary: body,
                            sigs: Vec::new(),
                            subkeys: Vec::new(),
                        });
                        certs.len() - 1
                    }
                });
            }
            14 => {
                sub = None;
                let Some(c) = cur.and_then(|i| certs.get_mut(i)) else {
                    continue;
                };
                if body.first() != Some(&4) {
                    continue;
                }
                let fpr = fingerprint(body)?;
                sub = Some(match c.subkeys.iter().position(|s| s.fingerprint == fpr) {
                    Some(i) => i,
                    None => {
                        c.subkeys.push(Subkey {
                            fingerprint: fpr,
                            body,
                            sigs: Vec::new(),
                        });
                        c.subkeys.len() - 1
                    }
                });
            }
            // user IDs and attributes: their certifications are not read
            13 | 17 => sub = None,
            2 => {
                let Some(c) = cur.and_then(|i| certs.get_mut(i)) else {
                    continue;
                };
                c.sigs.push(body);
                if let Some(s) = sub.and_then(|i| c.subkeys.get_mut(i)) {
                    s.sigs.push(body);
                }
            }
            _ => {}
        }
    }
    Ok(certs)
}

/// The RSA primary key of `cert` and the signing subkeys it binds (see the
/// module documentation); nothing when the primary is not RSA, since no
/// binding could then be checked.
fn cert_keys(cert: &Cert) -> Result<Vec<PublicKey>, PgpError> {
    let Some(rsa) = rsa_material(cert.primary)? else {
        return Ok(Vec::new());
    };
    let primary_prefix = key_hash_prefix(cert.primary)?;
    // a key revocation (0x20) is over the primary key alone: wherever it sits
    let revoked = cert.sigs.iter().any(|b| {
        Sig::parse(b).is_ok_and(|sig| {
            sig.sig_type == 0x20 && sig.verified_by(&rsa, &[&primary_prefix, cert.primary])
        })
    });
    let mut keys = vec![PublicKey {
        fingerprint: cert.fingerprint.clone(),
        primary: cert.fingerprint.clone(),
        rsa: rsa.clone(),
        validity: if revoked {
            Validity::Never
        } else {
            Validity::Primary
        },
    }];
    for sub in &cert.subkeys {
        let Some(sub_rsa) = rsa_material(sub.body)? else {
            continue;
        };
        let sub_prefix = key_hash_prefix(sub.body)?;
        let pair: [&[u8]; 4] = [&primary_prefix, cert.primary, &sub_prefix, sub.body];
        let created = key_created(sub.body)?;
        let Some(validity) = subkey_validity(&rsa, &sub_rsa, &pair, created, &sub.sigs, &cert.sigs)
        else {
            continue;
        };
        keys.push(PublicKey {
            fingerprint: sub.fingerprint.clone(),
            primary: cert.fingerprint.clone(),
            rsa: sub_rsa,
            validity: if revoked { Validity::Never } else { validity },
        });
    }
    Ok(keys)
}

/// When a subkey signs, or `None` when it does not count: `pair` is what
/// key signatures over the primary key and the subkey hash (each key packet
/// with its 0x99 prefix), `created` the subkey's creation time, `bindings`
/// the signatures right after the subkey and `all` every signature of the
/// certificate (revocations count wherever they are).
fn subkey_validity(
    primary: &Rsa,
    sub: &Rsa,
    pair: &[&[u8]],
    created: i64,
    bindings: &[&[u8]],
    all: &[&[u8]],
) -> Option<Validity> {
    // the newest valid binding signature (0x18) by the primary
    let mut newest: Option<(i64, Sig)> = None;
    for b in bindings {
        let Ok(sig) = Sig::parse(b) else { continue };
        if sig.sig_type != 0x18 || sig.unknown_critical() {
            continue;
        }
        let Some(at) = sig.created() else { continue };
        if newest.as_ref().is_some_and(|(t, _)| *t > at) || !sig.verified_by(primary, pair) {
            continue;
        }
        newest = Some((at, sig));
    }
    let (bound_at, binding) = newest?;
    // key flags from the hashed area only; none: not for signing
    let signs = binding
        .hashed_subpacket(27)
        .and_then(|f| f.first())
        .is_some_and(|f| f & 0x02 != 0);
    if !signs {
        return None;
    }
    // the back signature (0x19) by the subkey, hashed or not: it is a signature itself
    let back = binding
        .hashed
        .iter()
        .chain(&binding.unhashed)
        .filter(|(k, _)| k & 0x7f == 32)
        .any(|(_, emb)| {
            Sig::parse(emb).is_ok_and(|sig| {
                sig.sig_type == 0x19 && !sig.unknown_critical() && sig.verified_by(sub, pair)
            })
        });
    if !back {
        return None;
    }
    let seconds = |kind: u8| {
        binding
            .hashed_subpacket(kind)
            .and_then(|d| <[u8; 4]>::try_from(d).ok())
            .map(|d| i64::from(u32::from_be_bytes(d)))
            .filter(|&s| s != 0)
    };
    // key expiration (9) counts from the subkey's creation; the binding's own
    // expiration (3) from the binding's
    let until = match (
        seconds(9).map(|s| created + s),
        seconds(3).map(|s| bound_at + s),
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut revoked: Option<i64> = None;
    for b in all {
        let Ok(sig) = Sig::parse(b) else { continue };
        if sig.sig_type != 0x28 || !sig.verified_by(primary, pair) {
            continue;
        }
        // reason for revocation (29): superseded (1) and retired (3) date
        // from the revocation; none, "no reason" (0), compromised (2) or
        // anything else: for good
        let soft = sig
            .hashed_subpacket(29)
            .and_then(|r| r.first())
            .is_some_and(|r| matches!(r, 1 | 3));
        match sig.created() {
            Some(at) if soft => revoked = Some(revoked.map_or(at, |r| r.min(at))),
            _ => return Some(Validity::Never),
        }
    }
    Some(Validity::Subkey {
        from: created,
        until,
        revoked,
    })
}

/// Every RSA primary key, and every RSA subkey its primary binds for
/// signing, in an armoured (or binary) public key file (see the module
/// documentation).
pub fn read_keys(data: &[u8]) -> Result<Vec<PublicKey>, PgpError> {
    let bin = if data.starts_with(b"-----") {
        dearmor(data)?
    } else {
        data.to_vec()
    };
    let pkts = packets(&bin)?;
    let mut keys = Vec::new();
    for cert in certificates(&pkts)? {
        keys.extend(cert_keys(&cert)?);
    }
    if keys.is_empty() {
        return Err(PgpError::Unsupported("no RSA key in the key file".into()));
    }
    Ok(keys)
}

/// A v4 signature packet, split.
struct Sig<'a> {
    sig_type: u8,
    pk_algo: u8,
    hash_algo: u8,
    /// The packet from its version octet to the end of the hashed subpackets.
    hashed_part: &'a [u8],
    /// Subpackets as `(type octet with its critical bit, body)`.
    hashed: Vec<(u8, &'a [u8])>,
    unhashed: Vec<(u8, &'a [u8])>,
    /// The RSA signature value (the first MPI).
    s: &'a [u8],
}

impl<'a> Sig<'a> {
    fn parse(sig: &'a [u8]) -> Result<Self, PgpError> {
        let bad = || PgpError::Malformed("truncated signature".into());
        if sig.first() != Some(&4) {
            return Err(PgpError::Unsupported(
                "signature packets other than v4".into(),
            ));
        }
        let (sig_type, pk_algo, hash_algo) = (
            *sig.get(1).ok_or_else(bad)?,
            *sig.get(2).ok_or_else(bad)?,
            *sig.get(3).ok_or_else(bad)?,
        );
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
        // the left 16 bits of the hash (a hint only: GitHub's 2017 web-flow
        // signatures carry wrong ones over valid RSA signatures, and GnuPG
        // accepts them), then the signature
        let (s, _) = mpi(rest.get(2..).ok_or_else(bad)?)?;
        Ok(Sig {
            sig_type,
            pk_algo,
            hash_algo,
            hashed_part: &sig[..hashed_end],
            hashed: subpackets(hashed)?,
            unhashed: subpackets(unhashed)?,
            s,
        })
    }

    fn hashed_subpacket(&self, kind: u8) -> Option<&'a [u8]> {
        self.hashed
            .iter()
            .find(|(k, _)| k & 0x7f == kind)
            .map(|(_, d)| *d)
    }

    /// The signature creation time, from the hashed area only (one in the
    /// unhashed area is anybody's claim).
    fn created(&self) -> Option<i64> {
        self.hashed_subpacket(2)
            .and_then(|d| <[u8; 4]>::try_from(d).ok())
            .map(|d| i64::from(u32::from_be_bytes(d)))
    }

    /// The issuer hint: a key ID, or (preferred) a v4 fingerprint's tail.
    fn issuer(&self) -> Option<String> {
        let mut issuer = None;
        for (kind, data) in self.hashed.iter().chain(&self.unhashed) {
            match kind & 0x7f {
                16 if data.len() == 8 => issuer = issuer.or(Some(hex_upper(data))),
                33 if data.len() == 21 => issuer = Some(hex_upper(&data[1..])),
                _ => {}
            }
        }
        issuer
    }

    /// A hashed subpacket marked critical whose meaning a key signature
    /// check here does not know: the signature must not be relied on.
    fn unknown_critical(&self) -> bool {
        // creation, signature expiry, exportable, key expiry, preferences,
        // issuer, primary user ID, key flags, features, embedded signature,
        // issuer fingerprint
        const KNOWN: &[u8] = &[2, 3, 4, 9, 11, 16, 21, 22, 23, 25, 27, 30, 32, 33, 34, 39];
        self.hashed
            .iter()
            .any(|(k, _)| k & 0x80 != 0 && !KNOWN.contains(&(k & 0x7f)))
    }

    /// The hash the signature is over: `data`, then the hashed part of the
    /// packet and the v4 trailer.
    fn digest(&self, data: &[&[u8]]) -> Result<Vec<u8>, PgpError> {
        fn run<D: Digest>(data: &[&[u8]], sig: &[u8], trailer: &[u8]) -> Vec<u8> {
            let mut h = D::new();
            for d in data {
                h.update(d);
            }
            h.update(sig);
            h.update(trailer);
            h.finalize().to_vec()
        }
        let len = u32::try_from(self.hashed_part.len())
            .map_err(|_| PgpError::Malformed("signature too long".into()))?
            .to_be_bytes();
        let trailer = [0x04, 0xff, len[0], len[1], len[2], len[3]];
        let (sig, t) = (self.hashed_part, &trailer[..]);
        Ok(match self.hash_algo {
            2 => run::<sha1::Sha1>(data, sig, t),
            8 => run::<sha2::Sha256>(data, sig, t),
            9 => run::<sha2::Sha384>(data, sig, t),
            10 => run::<sha2::Sha512>(data, sig, t),
            11 => run::<sha2::Sha224>(data, sig, t),
            other => return Err(PgpError::Unsupported(format!("hash algorithm {other}"))),
        })
    }

    /// Whether `key` made this signature over `data`; false for any
    /// algorithm or hash this module does not check.
    fn verified_by(&self, key: &Rsa, data: &[&[u8]]) -> bool {
        matches!(self.pk_algo, 1 | 3)
            && self
                .digest(data)
                .is_ok_and(|hash| key.verifies(self.hash_algo, &hash, self.s))
    }
}

impl Rsa {
    /// PKCS #1 v1.5 signature `s` over a precomputed `hash`.
    fn verifies(&self, hash_algo: u8, hash: &[u8], s: &[u8]) -> bool {
        use rsa::traits::PublicKeyParts;
        let Ok(pk) = rsa::PublicKey::new(
            rsa::BoxedUint::from_be_slice_vartime(&self.n),
            rsa::BoxedUint::from_be_slice_vartime(&self.e),
        ) else {
            return false;
        };
        // an MPI drops leading zero octets; PKCS #1 wants the modulus's length
        let mut padded;
        let s = match pk.size().checked_sub(s.len()) {
            Some(0) | None => s,
            Some(pad) => {
                padded = vec![0; pad];
                padded.extend_from_slice(s);
                &padded[..]
            }
        };
        match hash_algo {
            2 => pk.pkcs1v15_verify_prehash::<sha1::Sha1>(hash, s),
            8 => pk.pkcs1v15_verify_prehash::<sha2::Sha256>(hash, s),
            9 => pk.pkcs1v15_verify_prehash::<sha2::Sha384>(hash, s),
            10 => pk.pkcs1v15_verify_prehash::<sha2::Sha512>(hash, s),
            11 => pk.pkcs1v15_verify_prehash::<sha2::Sha224>(hash, s),
            _ => return false,
        }
        .is_ok()
    }
}

/// Verify an armoured detached signature over `message` with one of `keys`.
/// A key counts only if it could sign at the signature's (hashed) creation
/// time: a subkey before its creation, after its expiry or revocation, or
/// any key of a revoked primary, is no key for it (`UnknownKey`).
pub fn verify(armored: &[u8], message: &[u8], keys: &[PublicKey]) -> Result<Verified, PgpError> {
    let bin = dearmor(armored)?;
    let pkts = packets(&bin)?;
    let body = pkts
        .iter()
        .find(|(t, _)| *t == 2)
        .map(|(_, b)| *b)
        .ok_or_else(|| PgpError::Malformed("no signature packet".into()))?;
    let sig = Sig::parse(body)?;
    if sig.sig_type != 0x00 {
        return Err(PgpError::Unsupported(format!(
            "signature type {:#04x}",
            sig.sig_type
        )));
    }
    if !matches!(sig.pk_algo, 1 | 3) {
        return Err(PgpError::Unsupported(format!(
            "public-key algorithm {}",
            sig.pk_algo
        )));
    }
    let created = sig.created();
    let issuer = sig.issuer();
    let hash = sig.digest(&[message])?;
    let candidates: Vec<&PublicKey> = keys
        .iter()
        .filter(|k| {
            issuer
                .as_deref()
                .is_none_or(|i| k.fingerprint.ends_with(i) || k.key_id() == i)
        })
        .filter(|k| k.signs_at(created))
        .collect();
    if candidates.is_empty() {
        return Err(PgpError::UnknownKey);
    }
    for k in candidates {
        if k.rsa.verifies(sig.hash_algo, &hash, sig.s) {
            return Ok(Verified {
                primary: k.primary.clone(),
                signing_key: k.fingerprint.clone(),
                created,
            });
        }
    }
    Err(PgpError::BadSignature)
}

/// The most packets a git signature may hold (one per signer).
pub const MAX_SIGNATURE_PACKETS: usize = 4;

/// Whether armoured bytes hold a v4 signature packet this module can check
/// (without verifying it).
pub fn well_formed(armored: &[u8]) -> Result<(), PgpError> {
    let bin = dearmor(armored)?;
    let pkts = packets(&bin)?;
    if pkts.len() > MAX_SIGNATURE_PACKETS {
        return Err(PgpError::OverBounds(format!(
            "the signature holds {} packets; sigctl reads at most {MAX_SIGNATURE_PACKETS}",
            pkts.len()
        )));
    }
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

/// The issuer a signature names (a v4 fingerprint, else a key ID; upper-case
/// hex), read without verifying it: a name for a signer whose key is not given.
pub fn issuer(armored: &[u8]) -> Option<String> {
    let bin = dearmor(armored).ok()?;
    let pkts = packets(&bin).ok()?;
    let sig = pkts.iter().find(|(t, _)| *t == 2)?.1;
    Sig::parse(sig).ok()?.issuer()
}

/// One certificate of a key file: its primary fingerprint, its user IDs and
/// its packets (binary), as `certificate_armor` writes them.
#[derive(Debug, Clone)]
pub struct KeyCertificate {
    pub primary: String,
    pub user_ids: Vec<String>,
    pub packets: Vec<u8>,
}

/// Every certificate of an armoured (or binary) key file, split at its
/// primary keys (a key file made by `gpg --export` of several people).
pub fn certificates_of(data: &[u8]) -> Result<Vec<KeyCertificate>, PgpError> {
    let bin = if data.starts_with(b"-----") {
        dearmor(data)?
    } else {
        data.to_vec()
    };
    let pkts = packets(&bin)?;
    // a packet's header ends where its body starts; it begins where the last body ended
    let base = bin.as_ptr() as usize;
    let mut starts = Vec::with_capacity(pkts.len());
    let mut at = 0usize;
    for (_, body) in &pkts {
        starts.push(at);
        at = body.as_ptr() as usize - base + body.len();
    }
    let mut out: Vec<KeyCertificate> = Vec::new();
    for (i, (tag, body)) in pkts.iter().enumerate() {
        match tag {
            6 => out.push(KeyCertificate {
                primary: fingerprint(body)?,
                user_ids: Vec::new(),
                packets: Vec::new(),
            }),
            13 => {
                if let Some(c) = out.last_mut() {
                    c.user_ids.push(String::from_utf8_lossy(body).into_owned());
                }
            }
            _ => {}
        }
        let end = starts.get(i + 1).copied().unwrap_or(bin.len());
        if let Some(c) = out.last_mut() {
            c.packets.extend_from_slice(&bin[starts[i]..end]);
        }
    }
    Ok(out)
}

/// ASCII armour of a public key block (RFC 4880 6.2, with its CRC-24).
pub fn armor_public_key(packets: &[u8]) -> String {
    let mut crc: u32 = 0x00b7_04ce;
    for b in packets {
        crc ^= u32::from(*b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4cfb;
            }
        }
    }
    let crc = crc & 0x00ff_ffff;
    let b64 = base64::engine::general_purpose::STANDARD.encode(packets);
    let mut s = String::from("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    let c = crc.to_be_bytes();
    s.push('=');
    s.push_str(&base64::engine::general_purpose::STANDARD.encode(&c[1..]));
    s.push_str("\n-----END PGP PUBLIC KEY BLOCK-----\n");
    s
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

    // Copies of the real corpus (tests/data/openpgp) and fixtures made with gpg:
    // tests/fixtures/openpgp/PROVENANCE.md says where each file comes from.
    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/openpgp/",
                $name
            ))
            .as_slice()
        };
    }

    const JUNIO: &str = "96E07AF25771955980DAD10020D04E5A713660A7";
    const JUNIO_SIGNING_SUBKEY: &str = "E1F036B1FEE7221FC778ECEFB0B5E88696AFE6CB";
    const WEB_FLOW_2024: &str = "968479A1AFF927E37D1A566BB5690EEEBB952194";
    const WEB_FLOW_2017: &str = "5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23";

    fn keys_of(files: &[&[u8]]) -> Vec<PublicKey> {
        files
            .iter()
            .flat_map(|f| read_keys(f).unwrap_or_default())
            .collect()
    }

    fn real_keys() -> Vec<PublicKey> {
        keys_of(&[
            fixture!("junio-gpg-pub-96E07AF25771955980DAD10020D04E5A713660A7.asc"),
            fixture!("github-web-flow-968479A1AFF927E37D1A566BB5690EEEBB952194.asc"),
            fixture!("github-web-flow-5DE3E0509C47EA3CF04A42D34AEE18F83AFDEB23.asc"),
        ])
    }

    fn commit(raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
        split_commit_signature(raw).unwrap_or_default()
    }

    fn tag(raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
        split_tag_signature(raw).unwrap_or_default()
    }

    fn fingerprints(keys: &[PublicKey]) -> Vec<&str> {
        keys.iter().map(|k| k.fingerprint.as_str()).collect()
    }

    #[test]
    fn real_web_flow_and_git_release_signatures_verify_by_the_key_that_made_them() {
        let keys = real_keys();
        // (object, signing key, primary): Junio signs tags with a subkey
        let cases = [
            (
                "v2.0.0 tag (SHA-1)",
                tag(fixture!("18a07354e33f86c8349ffdc300d9087876658264.tag")),
                JUNIO_SIGNING_SUBKEY,
                JUNIO,
            ),
            (
                "v2.55.0 tag",
                tag(fixture!("5ce91c059e41090e7d2cffad39c04af8acf98dc1.tag")),
                JUNIO_SIGNING_SUBKEY,
                JUNIO,
            ),
            (
                "19ea34ef",
                commit(fixture!("19ea34ef1addae1b15e448643852d83dc6a8cf55.commit")),
                WEB_FLOW_2024,
                WEB_FLOW_2024,
            ),
            (
                "cde02c7a",
                commit(fixture!("cde02c7a5ea01dcf896ee1894d2daf8b81325410.commit")),
                WEB_FLOW_2024,
                WEB_FLOW_2024,
            ),
            (
                "ff05b31b",
                commit(fixture!("ff05b31bf850e797856efa8f76212b41b5c1ea58.commit")),
                WEB_FLOW_2024,
                WEB_FLOW_2024,
            ),
            (
                "5c5ad796 (2023, key expired 2024)",
                commit(fixture!("5c5ad796d592cf311cce1348695819494d1855cc.commit")),
                WEB_FLOW_2017,
                WEB_FLOW_2017,
            ),
            (
                "6778dab0 (2017)",
                commit(fixture!("6778dab00588534427292ee55e131fe23b35e7db.commit")),
                WEB_FLOW_2017,
                WEB_FLOW_2017,
            ),
        ];
        for (name, (sig, payload), signing, primary) in cases {
            assert!(!sig.is_empty(), "{name}: no signature");
            let v = verify(&sig, &payload, &keys).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (v.signing_key.as_str(), v.primary.as_str()),
                (signing, primary),
                "{name}"
            );
            assert_eq!(v.created, created(&sig), "{name}");
        }
        for (name, (sig, payload)) in [
            (
                "tag",
                tag(fixture!(
                    "tampered/5ce91c059e41090e7d2cffad39c04af8acf98dc1.tagger-time-changed.tag"
                )),
            ),
            (
                "commit",
                commit(fixture!(
                    "tampered/cde02c7a5ea01dcf896ee1894d2daf8b81325410.body-byte-flipped.commit"
                )),
            ),
        ] {
            assert_eq!(
                verify(&sig, &payload, &keys),
                Err(PgpError::BadSignature),
                "{name}"
            );
        }
    }

    #[test]
    fn junio_key_file_yields_the_primary_and_its_two_signing_subkeys_not_the_encryption_one() {
        let keys = read_keys(fixture!(
            "junio-gpg-pub-96E07AF25771955980DAD10020D04E5A713660A7.asc"
        ))
        .unwrap_or_default();
        let fprs = fingerprints(&keys);
        assert_eq!(fprs.len(), 3, "{fprs:?}");
        assert_eq!(fprs[0], JUNIO);
        assert_eq!(fprs[1], JUNIO_SIGNING_SUBKEY);
        assert!(fprs[2].ends_with("7594EEC7B3F7CAC9"), "{fprs:?}");
        // 86B76D5D833262C4 is bound with key flags 0x0C (encryption only)
        assert!(!fprs.iter().any(|f| f.ends_with("86B76D5D833262C4")));
        assert!(keys.iter().all(|k| k.primary == JUNIO));
        // the signing subkey, created 2011-10-03, expires 513612006 s later
        // (gpg: "16y104d14h0m", 2028-01-11) by its binding of 2020-01-13
        assert_eq!(
            keys[1].validity,
            Validity::Subkey {
                from: 1_317_620_281,
                until: Some(1_317_620_281 + 513_612_006),
                revoked: None
            }
        );
        let web = read_keys(fixture!(
            "github-web-flow-968479A1AFF927E37D1A566BB5690EEEBB952194.asc"
        ))
        .unwrap_or_default();
        assert_eq!(fingerprints(&web), [WEB_FLOW_2024]);
    }

    #[test]
    fn a_signature_by_a_key_not_given_is_refused() {
        let junio = read_keys(fixture!(
            "junio-gpg-pub-96E07AF25771955980DAD10020D04E5A713660A7.asc"
        ))
        .unwrap_or_default();
        let (sig, payload) = commit(fixture!("cde02c7a5ea01dcf896ee1894d2daf8b81325410.commit"));
        assert_eq!(verify(&sig, &payload, &junio), Err(PgpError::UnknownKey));
        assert!(verify(b"garbage", b"x", &junio).is_err());
        assert!(read_keys(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n-----END PGP PUBLIC KEY BLOCK-----\n").is_err());
    }

    // ---- adversarial fixtures: tests/fixtures/openpgp/gen (regenerate.sh) ----

    const PAYLOAD: &[u8] = fixture!("gen/payload");

    /// A fingerprint of gen/fingerprints by its name there.
    fn fpr(name: &str) -> String {
        String::from_utf8_lossy(fixture!("gen/fingerprints"))
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ').map(str::to_owned))
            .unwrap_or_else(|| panic!("no fingerprint {name}"))
    }

    fn check(key_file: &[u8], sig: &[u8]) -> Result<(String, String), PgpError> {
        let keys = read_keys(key_file)?;
        verify(sig, PAYLOAD, &keys).map(|v| (v.signing_key, v.primary))
    }

    #[test]
    fn a_subkey_appended_without_a_binding_or_with_another_primarys_binding_signs_nothing() {
        let sig = fixture!("gen/mallory-sub.sig");
        // control: in its own key file the subkey signs for mallory
        assert_eq!(
            check(fixture!("gen/mallory.asc"), sig),
            Ok((fpr("mallory_sub"), fpr("mallory")))
        );
        // spliced into alice's key file with no binding signature
        let unbound = fixture!("gen/unbound-subkey.asc");
        assert_eq!(
            fingerprints(&read_keys(unbound).unwrap_or_default()),
            [fpr("alice")]
        );
        assert_eq!(check(unbound, sig), Err(PgpError::UnknownKey));
        // ... or with mallory's binding signature, which is not alice's
        assert_eq!(
            check(fixture!("gen/foreign-binding.asc"), sig),
            Err(PgpError::UnknownKey)
        );
        // alice's own signature still verifies with the spliced file
        assert_eq!(
            check(unbound, fixture!("gen/alice.sig")),
            Ok((fpr("alice"), fpr("alice")))
        );
    }

    #[test]
    fn a_signing_subkey_needs_its_back_signature_and_the_signing_key_flag() {
        let sig = fixture!("gen/carol-sub.sig");
        let ok = Ok((fpr("carol_sub"), fpr("carol")));
        assert_eq!(check(fixture!("gen/carol.asc"), sig), ok);
        // the binding with its embedded 0x19 signature removed
        assert_eq!(
            check(fixture!("gen/no-backsig.asc"), sig),
            Err(PgpError::UnknownKey)
        );
        // the newest binding says authentication only
        assert_eq!(
            check(fixture!("gen/carol-auth-only.asc"), sig),
            Err(PgpError::UnknownKey)
        );
        // bindings made by pgp_packets.py: with signing flags (control),
        // without key flags, with an unknown critical subpacket
        assert_eq!(check(fixture!("gen/crafted-flags-sign.asc"), sig), ok);
        assert_eq!(
            check(fixture!("gen/crafted-no-key-flags.asc"), sig),
            Err(PgpError::UnknownKey)
        );
        assert_eq!(
            check(fixture!("gen/crafted-critical-unknown.asc"), sig),
            Err(PgpError::UnknownKey)
        );
    }

    /// `bin` with every packet re-encoded, after `edit(tag, body)`.
    fn rebuild(bin: &[u8], mut edit: impl FnMut(u8, &mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        for (tag, body) in packets(bin).unwrap_or_default() {
            let mut body = body.to_vec();
            edit(tag, &mut body);
            out.push(0xc0 | tag);
            let len = u32::try_from(body.len()).unwrap_or_default();
            out.push(0xff);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&body);
        }
        out
    }

    #[test]
    fn a_binding_with_an_algorithm_or_hash_not_checked_here_binds_nothing() {
        let sig = fixture!("gen/carol-sub.sig");
        let carol = dearmor(fixture!("gen/carol.asc")).unwrap_or_default();
        // re-encoded untouched: still accepted (the helper is sound)
        assert_eq!(
            check(&rebuild(&carol, |_, _| {}), sig),
            Ok((fpr("carol_sub"), fpr("carol")))
        );
        // binding's public-key algorithm octet: EdDSA (22); hash: MD5 (1)
        for (at, value) in [(2, 22), (3, 1)] {
            let edited = rebuild(&carol, |tag, body| {
                if tag == 2 && body.get(1) == Some(&0x18) {
                    body[at] = value;
                }
            });
            assert_eq!(
                check(&edited, sig),
                Err(PgpError::UnknownKey),
                "octet {at} = {value}"
            );
        }
    }

    #[test]
    fn a_revoked_subkey_signs_nothing_after_a_soft_revocation_and_nothing_at_all_after_a_hard_one()
    {
        let (before, after) = (
            fixture!("gen/dave-sub-before.sig"),
            fixture!("gen/dave-sub-after.sig"),
        );
        let ok = Ok((fpr("dave_sub"), fpr("dave")));
        assert_eq!(check(fixture!("gen/dave.asc"), before), ok);
        assert_eq!(check(fixture!("gen/dave.asc"), after), ok);
        // reason "no reason" (0) and "compromised" (2): every signature
        for file in [
            fixture!("gen/dave-revoked-no-reason.asc"),
            fixture!("gen/dave-revoked-compromised.asc"),
        ] {
            assert_eq!(check(file, before), Err(PgpError::UnknownKey));
            assert_eq!(check(file, after), Err(PgpError::UnknownKey));
        }
        // "superseded" (1) at T0+1d: what was signed before still stands
        let superseded = fixture!("gen/dave-revoked-superseded.asc");
        assert_eq!(check(superseded, before), ok);
        assert_eq!(check(superseded, after), Err(PgpError::UnknownKey));
        // an older, unrevoked copy of the key appended to the file undoes nothing
        let mut both = dearmor(fixture!("gen/dave-revoked-compromised.asc")).unwrap_or_default();
        both.extend(dearmor(fixture!("gen/dave.asc")).unwrap_or_default());
        assert_eq!(check(&both, before), Err(PgpError::UnknownKey));
        let mut both = dearmor(fixture!("gen/dave.asc")).unwrap_or_default();
        both.extend(dearmor(superseded).unwrap_or_default());
        assert_eq!(check(&both, after), Err(PgpError::UnknownKey));
    }

    #[test]
    fn a_revoked_primary_key_and_its_subkeys_sign_nothing() {
        let (by_primary, by_sub) = (fixture!("gen/erin.sig"), fixture!("gen/erin-sub.sig"));
        let erin = fixture!("gen/erin.asc");
        assert_eq!(check(erin, by_primary), Ok((fpr("erin"), fpr("erin"))));
        assert_eq!(check(erin, by_sub), Ok((fpr("erin_sub"), fpr("erin"))));
        let revoked = fixture!("gen/erin-revoked.asc");
        // the key file still reads (the policy check names its keys)
        assert_eq!(read_keys(revoked).map(|k| k.len()), Ok(2));
        assert_eq!(check(revoked, by_primary), Err(PgpError::UnknownKey));
        assert_eq!(check(revoked, by_sub), Err(PgpError::UnknownKey));
        let mut both = dearmor(revoked).unwrap_or_default();
        both.extend(dearmor(erin).unwrap_or_default());
        assert_eq!(check(&both, by_primary), Err(PgpError::UnknownKey));
    }

    #[test]
    fn a_subkey_signs_only_between_its_creation_and_its_expiry() {
        let expiring = fixture!("gen/frank-expiring.asc");
        let ok = Ok((fpr("frank_sub"), fpr("frank")));
        assert_eq!(
            check(expiring, fixture!("gen/frank-sub-before-expiry.sig")),
            ok
        );
        assert_eq!(
            check(expiring, fixture!("gen/frank-sub-after-expiry.sig")),
            Err(PgpError::UnknownKey)
        );
        assert_eq!(
            check(expiring, fixture!("gen/frank-sub-before-creation.sig")),
            Err(PgpError::UnknownKey)
        );
        // renewed by a newer binding without expiry: the newest binding counts
        assert_eq!(
            check(
                fixture!("gen/frank-renewed.asc"),
                fixture!("gen/frank-sub-after-expiry.sig")
            ),
            ok
        );
    }

    #[test]
    fn a_subkey_signature_without_a_hashed_creation_time_is_refused() {
        let keys = read_keys(fixture!("gen/frank-renewed.asc")).unwrap_or_default();
        let sub = keys.iter().find(|k| k.fingerprint == fpr("frank_sub"));
        assert!(sub.is_some_and(|k| k.signs_at(Some(1_767_229_200)) && !k.signs_at(None)));
        assert!(keys[0].signs_at(None), "a primary key (as before)");
    }
}
