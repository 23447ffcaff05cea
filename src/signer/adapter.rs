//! A signing key (a token key that never leaves the token, or a keyless
//! session's ephemeral key) as a RustCrypto signer, so x509-cert (CSRs)
//! and cms (SignedData) can sign with it.

use der::asn1::AnyRef;
use spki::{AlgorithmIdentifier, SignatureAlgorithmIdentifier};

use super::{KeyInfo, MessageSigner, Token};
use crate::policy::pkcs11_uri::Pkcs11Uri;

/// A token key, addressed by its URI, as a [`MessageSigner`].
pub struct TokenKey<'a> {
    pub token: &'a Token,
    pub uri: &'a Pkcs11Uri,
    pub key: &'a KeyInfo,
}

impl MessageSigner for TokenKey<'_> {
    fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        self.token
            .sign(self.uri, self.key, msg)
            .map_err(|e| e.to_string())
    }
}

macro_rules! token_signer {
    ($name:ident, $curve:ident, $oid:expr) => {
        /// A token key on this curve, for RustCrypto builders.
        pub struct $name<'a> {
            pub signer: &'a dyn MessageSigner,
            pub vk: $curve::ecdsa::VerifyingKey,
        }

        impl<'a> $name<'a> {
            /// `point`: the public key as a SEC1 point.
            pub fn new(signer: &'a dyn MessageSigner, point: &[u8]) -> Option<Self> {
                let vk = $curve::ecdsa::VerifyingKey::from_sec1_bytes(point).ok()?;
                Some(Self { signer, vk })
            }
        }

        impl signature::Keypair for $name<'_> {
            type VerifyingKey = $curve::ecdsa::VerifyingKey;
            fn verifying_key(&self) -> Self::VerifyingKey {
                self.vk
            }
        }

        impl signature::Signer<$curve::ecdsa::DerSignature> for $name<'_> {
            fn try_sign(
                &self,
                msg: &[u8],
            ) -> Result<$curve::ecdsa::DerSignature, signature::Error> {
                let der = self
                    .signer
                    .sign_message(msg)
                    .map_err(|e| signature::Error::from_source(std::io::Error::other(e)))?;
                $curve::ecdsa::DerSignature::from_bytes(&der).map_err(|_| signature::Error::new())
            }
        }

        impl SignatureAlgorithmIdentifier for $name<'_> {
            type Params = AnyRef<'static>;
            const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
                AlgorithmIdentifier {
                    oid: $oid,
                    parameters: None,
                };
        }
    };
}

token_signer!(KeyP256, p256, ecdsa::ECDSA_SHA256_OID);
token_signer!(KeyP384, p384, ecdsa::ECDSA_SHA384_OID);
