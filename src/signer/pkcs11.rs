//! PKCS#11 tokens through cryptoki: find the module, the token and the key a
//! URI names; generate keys on the token (sensitive, never extractable);
//! sign digests. Module quirks live here and nowhere else.
//!
//! Key material never leaves the token: this module only ever reads public
//! keys and asks the token to sign.

use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::Encode;
use sha2::Digest;

use super::pin::{Pin, PinOrigin};
use super::{KeyAlgorithm, SignerError};
use crate::policy::pkcs11_uri::Pkcs11Uri;

/// Where SoftHSM2 usually lives, tried last.
pub const DEFAULT_MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
];

/// The environment variable naming the module.
pub const MODULE_ENV: &str = "SIGCTL_PKCS11_MODULE";

/// The PKCS#11 module: the URI's `module-path`, else `SIGCTL_PKCS11_MODULE`,
/// else git config `sigctl.pkcs11Module`, else the usual SoftHSM2 paths.
pub fn resolve_module(
    uri: &Pkcs11Uri,
    env: Option<String>,
    git_config: Option<String>,
) -> Result<PathBuf, SignerError> {
    let explicit = uri
        .query
        .get("module-path")
        .cloned()
        .map(|p| (p, "the key URI's module-path"))
        .or_else(|| env.map(|p| (p, "SIGCTL_PKCS11_MODULE")))
        .or_else(|| git_config.map(|p| (p, "git config sigctl.pkcs11Module")));
    if let Some((path, from)) = explicit {
        let path = PathBuf::from(path);
        let what = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => None,
            Ok(m) if m.is_dir() => Some("is a directory, not a library"),
            Ok(_) => Some("is not a regular file (a device, FIFO or socket), not a library"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist"),
            Err(_) => Some("cannot be read"),
        };
        if let Some(what) = what {
            return Err(SignerError::ModuleMissing {
                path,
                from: from.to_owned(),
                what,
            });
        }
        return Ok(path);
    }
    DEFAULT_MODULES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or(SignerError::NoModule)
}

/// A public key read from the token, with what is needed to use it.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub algorithm: KeyAlgorithm,
    /// SubjectPublicKeyInfo DER.
    pub spki: Vec<u8>,
    /// The raw public key: SEC1 point (EC), 32 bytes (Ed25519), PKCS#1 DER (RSA).
    pub raw: Vec<u8>,
}

/// An open session on one token.
pub struct Token {
    // kept alive for the session's sake; one context per token opened
    _ctx: Pkcs11,
    session: Session,
    pub label: String,
    slot: Slot,
}

fn ck(op: &'static str) -> impl Fn(CkError) -> SignerError {
    move |e| SignerError::Pkcs11 {
        op,
        message: e.to_string(),
    }
}

impl Token {
    /// Load `module`, find the token the URI names (by `token`, `serial` or
    /// `slot-id`; the only token when it names none) and open a session.
    pub fn open(module: &Path, uri: &Pkcs11Uri, read_write: bool) -> Result<Self, SignerError> {
        // A file-backed token (SoftHSM2) can be missing from the slot list of
        // a process that started while another one rewrote the token's files:
        // look again, from a fresh module context, before calling it missing.
        let mut attempt = 0u64;
        loop {
            match Self::open_once(module, uri, read_write) {
                Err(SignerError::TokenMissing { .. }) if attempt < 4 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(25 * attempt));
                }
                other => return other,
            }
        }
    }

    fn open_once(module: &Path, uri: &Pkcs11Uri, read_write: bool) -> Result<Self, SignerError> {
        let ctx = Pkcs11::new(module).map_err(|e| SignerError::ModuleLoad {
            path: module.to_path_buf(),
            message: e.to_string(),
        })?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => {
                return Err(SignerError::ModuleLoad {
                    path: module.to_path_buf(),
                    message: e.to_string(),
                });
            }
        }
        let slots = ctx.get_slots_with_token().map_err(ck("listing slots"))?;
        let want_label = uri.attr("token");
        let want_serial = uri.attr("serial");
        let want_slot = uri.attr("slot-id").and_then(|s| s.parse::<u64>().ok());
        let mut available = Vec::new();
        let mut chosen = None;
        for slot in slots {
            let Ok(info) = ctx.get_token_info(slot) else {
                continue;
            };
            // SoftHSM keeps a free, uninitialised slot: not a token anyone can use
            if !info.token_initialized() {
                continue;
            }
            let label = info.label().trim_end().to_owned();
            let matches = want_label.is_none_or(|l| l == label)
                && want_serial.is_none_or(|s| s == info.serial_number().trim_end())
                && want_slot.is_none_or(|id| id == slot.id());
            available.push(label.clone());
            if matches && chosen.is_none() {
                chosen = Some((slot, label, info));
            }
        }
        if want_label.is_none()
            && want_serial.is_none()
            && want_slot.is_none()
            && available.len() > 1
        {
            return Err(SignerError::AmbiguousToken { available });
        }
        let Some((slot, label, info)) = chosen else {
            return Err(SignerError::TokenMissing {
                token: want_label.unwrap_or("(any)").to_owned(),
                available,
            });
        };
        if info.user_pin_locked() {
            return Err(SignerError::PinLocked { token: label });
        }
        let session = if read_write {
            ctx.open_rw_session(slot)
        } else {
            ctx.open_ro_session(slot)
        }
        .map_err(ck("opening a session"))?;
        Ok(Self {
            _ctx: ctx,
            session,
            label,
            slot,
        })
    }

    /// Log in as the user.
    pub fn login(&self, pin: &Pin, origin: &PinOrigin) -> Result<(), SignerError> {
        let auth = AuthPin::from(pin.expose().to_owned());
        // SoftHSM2 rewrites its token file at login: a process logging in
        // while another one writes can read it half-written and get
        // CKR_GENERAL_ERROR or CKR_USER_PIN_NOT_INITIALIZED. Try again a few
        // times, then say the token is busy (the caller reopens it); a wrong
        // PIN is never retried.
        let transient = |r: &Result<(), CkError>| {
            matches!(
                r,
                Err(CkError::Pkcs11(
                    RvError::GeneralError | RvError::UserPinNotInitialized,
                    _
                ))
            )
        };
        let mut result = self.session.login(UserType::User, Some(&auth));
        for attempt in 1..=3u64 {
            if !transient(&result) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20 * attempt));
            result = self.session.login(UserType::User, Some(&auth));
        }
        if transient(&result) {
            return Err(SignerError::Busy {
                token: self.label.clone(),
            });
        }
        match result {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
                _,
            )) => Err(SignerError::PinIncorrect {
                token: self.label.clone(),
                origin: origin.to_string(),
            }),
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(SignerError::PinLocked {
                token: self.label.clone(),
            }),
            Err(e) => Err(ck("logging in")(e)),
        }
    }

    fn template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
        let mut t = vec![Attribute::Class(class)];
        if let Some(label) = uri.attr("object") {
            t.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = uri.path.get("id") {
            t.push(Attribute::Id(id.clone()));
        }
        t
    }

    fn find_one(
        &self,
        uri: &Pkcs11Uri,
        class: ObjectClass,
    ) -> Result<Option<ObjectHandle>, SignerError> {
        let found = self
            .session
            .find_objects(&Self::template(uri, class))
            .map_err(ck("finding objects"))?;
        Ok(found.into_iter().next())
    }

    /// Whether any key object with the URI's label or id exists already.
    pub fn key_exists(&self, uri: &Pkcs11Uri) -> Result<bool, SignerError> {
        Ok(self.find_one(uri, ObjectClass::PRIVATE_KEY)?.is_some()
            || self.find_one(uri, ObjectClass::PUBLIC_KEY)?.is_some())
    }

    /// The public key of the key pair the URI names.
    pub fn public_key(&self, uri: &Pkcs11Uri) -> Result<KeyInfo, SignerError> {
        let Some(handle) = self.find_one(uri, ObjectClass::PUBLIC_KEY)? else {
            return Err(self.key_missing(uri));
        };
        self.read_public(handle)
    }

    /// Every key pair the URI names (by its public key object), each with
    /// the URI narrowed to it by its id: a renewed identity keeps its
    /// predecessor and successor under one label.
    pub fn keys(&self, uri: &Pkcs11Uri) -> Result<Vec<(KeyInfo, Pkcs11Uri)>, SignerError> {
        let found = self
            .session
            .find_objects(&Self::template(uri, ObjectClass::PUBLIC_KEY))
            .map_err(ck("finding objects"))?;
        let mut out = Vec::new();
        for handle in found {
            let info = self.read_public(handle)?;
            let id = self
                .session
                .get_attributes(handle, &[AttributeType::Id])
                .map_err(ck("reading the key id"))?
                .into_iter()
                .find_map(|a| match a {
                    Attribute::Id(id) => Some(id),
                    _ => None,
                });
            let mut narrowed = uri.clone();
            if let Some(id) = id {
                narrowed.path.insert("id".to_owned(), id);
            }
            out.push((info, narrowed));
        }
        Ok(out)
    }

    /// The key pair among [`Token::keys`] whose public key has SHA-256
    /// `spki_sha256` (hex); without one, the first (the caller compares it
    /// with the certificate and says what differs).
    pub fn key_for(
        &self,
        uri: &Pkcs11Uri,
        spki_sha256: &str,
    ) -> Result<(KeyInfo, Pkcs11Uri), SignerError> {
        let mut keys = self.keys(uri)?;
        let at = keys
            .iter()
            .position(|(k, _)| {
                crate::signature::x509::hex(&sha2::Sha256::digest(&k.spki)) == spki_sha256
            })
            .unwrap_or(0);
        if keys.is_empty() {
            return Err(self.key_missing(uri));
        }
        Ok(keys.swap_remove(at))
    }

    fn key_missing(&self, uri: &Pkcs11Uri) -> SignerError {
        SignerError::KeyMissing {
            token: self.label.clone(),
            object: uri.attr("object").unwrap_or("(by id)").to_owned(),
        }
    }

    fn read_public(&self, handle: ObjectHandle) -> Result<KeyInfo, SignerError> {
        let attrs = self
            .session
            .get_attributes(
                handle,
                &[
                    AttributeType::KeyType,
                    AttributeType::EcParams,
                    AttributeType::EcPoint,
                    AttributeType::Modulus,
                    AttributeType::PublicExponent,
                ],
            )
            .map_err(ck("reading the public key"))?;
        let mut key_type = None;
        let (mut params, mut point, mut modulus, mut exponent) = (None, None, None, None);
        for a in attrs {
            match a {
                Attribute::KeyType(k) => key_type = Some(k),
                Attribute::EcParams(p) => params = Some(p),
                Attribute::EcPoint(p) => point = Some(p),
                Attribute::Modulus(m) => modulus = Some(m),
                Attribute::PublicExponent(e) => exponent = Some(e),
                _ => {}
            }
        }
        let unsupported = |what: &str| SignerError::UnsupportedKey {
            what: what.to_owned(),
        };
        match key_type {
            Some(KeyType::EC) => {
                let params = params.ok_or_else(|| unsupported("an EC key without parameters"))?;
                let point = unwrap_octet_string(
                    &point.ok_or_else(|| unsupported("an EC key without a point"))?,
                );
                let algorithm = KeyAlgorithm::from_ec_params(&params)
                    .ok_or_else(|| unsupported("an EC curve other than P-256 or P-384"))?;
                let spki = ec_spki(algorithm, &point)?;
                Ok(KeyInfo {
                    algorithm,
                    spki,
                    raw: point,
                })
            }
            Some(KeyType::EC_EDWARDS) => {
                let point = unwrap_octet_string(
                    &point.ok_or_else(|| unsupported("an EdDSA key without a point"))?,
                );
                let spki = spki_der(const_oid::db::rfc8410::ID_ED_25519, None, &point)?;
                Ok(KeyInfo {
                    algorithm: KeyAlgorithm::Ed25519,
                    spki,
                    raw: point,
                })
            }
            Some(KeyType::RSA) => {
                let n = modulus.ok_or_else(|| unsupported("an RSA key without a modulus"))?;
                let e = exponent.ok_or_else(|| unsupported("an RSA key without an exponent"))?;
                let pkcs1 = rsa_pkcs1(&n, &e)?;
                let spki = spki_der(
                    const_oid::db::rfc5912::RSA_ENCRYPTION,
                    Some(der::asn1::Null),
                    &pkcs1,
                )?;
                Ok(KeyInfo {
                    algorithm: KeyAlgorithm::Rsa3072,
                    spki,
                    raw: pkcs1,
                })
            }
            _ => Err(unsupported("a key type other than EC, EdDSA or RSA")),
        }
    }

    /// Sign `message` with the private key the URI names. ECDSA and RSA hash
    /// in software (SoftHSM has no CKM_ECDSA_SHA256); Ed25519 signs the message.
    /// Returns the signature in the form X.509 and CMS use (DER for ECDSA).
    pub fn sign(
        &self,
        uri: &Pkcs11Uri,
        key: &KeyInfo,
        message: &[u8],
    ) -> Result<Vec<u8>, SignerError> {
        match key.algorithm {
            KeyAlgorithm::P256 => self.sign_prehashed(uri, key, &sha2::Sha256::digest(message)),
            KeyAlgorithm::P384 => self.sign_prehashed(uri, key, &sha2::Sha384::digest(message)),
            KeyAlgorithm::Ed25519 => {
                let handle = self.private(uri)?;
                let mech = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
                self.session
                    .sign(&mech, handle, message)
                    .map_err(ck("signing"))
            }
            KeyAlgorithm::Rsa3072 => {
                let handle = self.private(uri)?;
                self.session
                    .sign(&Mechanism::Sha256RsaPkcs, handle, message)
                    .map_err(ck("signing"))
            }
        }
    }

    /// Sign a digest (ECDSA only: the hash matches the curve).
    pub fn sign_prehashed(
        &self,
        uri: &Pkcs11Uri,
        key: &KeyInfo,
        digest: &[u8],
    ) -> Result<Vec<u8>, SignerError> {
        let handle = self.private(uri)?;
        let raw = self
            .session
            .sign(&Mechanism::Ecdsa, handle, digest)
            .map_err(ck("signing"))?;
        let bad = |_| SignerError::Pkcs11 {
            op: "signing",
            message: "the token returned a malformed ECDSA signature".into(),
        };
        match key.algorithm {
            KeyAlgorithm::P256 => Ok(p256::ecdsa::Signature::from_slice(&raw)
                .map_err(bad)?
                .to_der()
                .as_bytes()
                .to_vec()),
            KeyAlgorithm::P384 => Ok(p384::ecdsa::Signature::from_slice(&raw)
                .map_err(bad)?
                .to_der()
                .as_bytes()
                .to_vec()),
            _ => Err(SignerError::UnsupportedKey {
                what: format!("prehashed signing with {}", key.algorithm),
            }),
        }
    }

    fn private(&self, uri: &Pkcs11Uri) -> Result<ObjectHandle, SignerError> {
        self.find_one(uri, ObjectClass::PRIVATE_KEY)?
            .ok_or_else(|| self.key_missing(uri))
    }

    /// Generate a key pair on the token, labelled and identified as the URI
    /// says. The private key is sensitive and never extractable.
    pub fn generate(
        &self,
        uri: &Pkcs11Uri,
        algorithm: KeyAlgorithm,
    ) -> Result<KeyInfo, SignerError> {
        let label = uri.attr("object").map(|l| l.as_bytes().to_vec());
        let id = uri.path.get("id").cloned().unwrap_or_else(|| {
            let digest = sha2::Sha256::digest(label.clone().unwrap_or_default());
            digest[..16].to_vec()
        });
        let mut public = vec![
            Attribute::Token(true),
            Attribute::Verify(true),
            Attribute::Private(false),
            Attribute::Id(id.clone()),
        ];
        let mut private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Id(id),
        ];
        if let Some(l) = label {
            public.push(Attribute::Label(l.clone()));
            private.push(Attribute::Label(l));
        }
        let mech = match algorithm {
            KeyAlgorithm::P256 | KeyAlgorithm::P384 => {
                public.push(Attribute::EcParams(algorithm.ec_params().to_vec()));
                Mechanism::EccKeyPairGen
            }
            KeyAlgorithm::Ed25519 => {
                public.push(Attribute::EcParams(ED25519_PARAMS.to_vec()));
                Mechanism::EccEdwardsKeyPairGen
            }
            KeyAlgorithm::Rsa3072 => {
                public.push(Attribute::ModulusBits(3072.into()));
                public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
                Mechanism::RsaPkcsKeyPairGen
            }
        };
        let mechanisms = self
            ._ctx
            .get_mechanism_list(self.slot)
            .map_err(ck("listing mechanisms"))?;
        if !mechanisms.contains(&mech.mechanism_type()) {
            return Err(SignerError::UnsupportedKey {
                what: format!("{algorithm} key generation on token `{}`", self.label),
            });
        }
        let (pub_handle, _) = self
            .session
            .generate_key_pair(&mech, &public, &private)
            .map_err(ck("generating the key pair"))?;
        self.read_public(pub_handle)
    }

    /// The private key's protection attributes: (sensitive, extractable, never extractable).
    pub fn private_key_protection(
        &self,
        uri: &Pkcs11Uri,
    ) -> Result<(bool, bool, bool), SignerError> {
        let handle = self.private(uri)?;
        let attrs = self
            .session
            .get_attributes(
                handle,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::NeverExtractable,
                ],
            )
            .map_err(ck("reading key attributes"))?;
        let (mut s, mut e, mut n) = (false, true, false);
        for a in attrs {
            match a {
                Attribute::Sensitive(v) => s = v,
                Attribute::Extractable(v) => e = v,
                Attribute::NeverExtractable(v) => n = v,
                _ => {}
            }
        }
        Ok((s, e, n))
    }
}

/// DER OID of Ed25519 (1.3.101.112), as CKA_EC_PARAMS.
const ED25519_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// CKA_EC_POINT is a DER OCTET STRING around the point (most modules); take the point.
fn unwrap_octet_string(v: &[u8]) -> Vec<u8> {
    if v.first() == Some(&0x04)
        && let Ok(os) = <der::asn1::OctetString as der::Decode>::from_der(v)
    {
        return os.as_bytes().to_vec();
    }
    v.to_vec()
}

fn ec_spki(algorithm: KeyAlgorithm, point: &[u8]) -> Result<Vec<u8>, SignerError> {
    use spki::EncodePublicKey;
    fn bad<E>(_: E) -> SignerError {
        SignerError::UnsupportedKey {
            what: "an EC point that is not on its curve".into(),
        }
    }
    let doc = match algorithm {
        KeyAlgorithm::P256 => p256::PublicKey::from_sec1_bytes(point)
            .map_err(bad)?
            .to_public_key_der(),
        KeyAlgorithm::P384 => p384::PublicKey::from_sec1_bytes(point)
            .map_err(bad)?
            .to_public_key_der(),
        _ => return Err(bad(())),
    };
    doc.map(|d| d.as_bytes().to_vec())
        .map_err(|e| SignerError::Pkcs11 {
            op: "encoding the public key",
            message: e.to_string(),
        })
}

fn spki_der(
    oid: const_oid::ObjectIdentifier,
    params: Option<der::asn1::Null>,
    key: &[u8],
) -> Result<Vec<u8>, SignerError> {
    let enc = |e: der::Error| SignerError::Pkcs11 {
        op: "encoding the public key",
        message: e.to_string(),
    };
    let spki = spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid,
            parameters: params.map(der::Any::from),
        },
        subject_public_key: der::asn1::BitString::from_bytes(key).map_err(enc)?,
    };
    spki.to_der().map_err(enc)
}

fn rsa_pkcs1(n: &[u8], e: &[u8]) -> Result<Vec<u8>, SignerError> {
    let enc = |e: der::Error| SignerError::Pkcs11 {
        op: "encoding the public key",
        message: e.to_string(),
    };
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    let mut body = der::asn1::UintRef::new(n)
        .map_err(enc)?
        .to_der()
        .map_err(enc)?;
    body.extend(
        der::asn1::UintRef::new(e)
            .map_err(enc)?
            .to_der()
            .map_err(enc)?,
    );
    let header = der::Header::new(
        der::Tag::Sequence,
        der::Length::try_from(body.len()).map_err(enc)?,
    );
    let mut out = header.to_der().map_err(enc)?;
    out.extend(body);
    Ok(out)
}
