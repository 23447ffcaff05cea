//! A token key as a RustCrypto signer, so x509-cert (CSRs) and cms
//! (SignedData) can sign with a key that never leaves the token.

use der::asn1::AnyRef;
use spki::{AlgorithmIdentifier, SignatureAlgorithmIdentifier};

use super::{KeyInfo, Token};
use crate::policy::pkcs11_uri::Pkcs11Uri;

macro_rules! token_signer {
    ($name:ident, $curve:ident, $oid:expr) => {
        /// A token key on this curve, for RustCrypto builders.
        pub struct $name<'a> {
            pub token: &'a Token,
            pub uri: &'a Pkcs11Uri,
            pub key: &'a KeyInfo,
            pub vk: $curve::ecdsa::VerifyingKey,
        }

        impl<'a> $name<'a> {
            pub fn new(token: &'a Token, uri: &'a Pkcs11Uri, key: &'a KeyInfo) -> Option<Self> {
                let vk = $curve::ecdsa::VerifyingKey::from_sec1_bytes(&key.raw).ok()?;
                Some(Self {
                    token,
                    uri,
                    key,
                    vk,
                })
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
                    .token
                    .sign(self.uri, self.key, msg)
                    .map_err(signature::Error::from_source)?;
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

token_signer!(TokenP256, p256, ecdsa::ECDSA_SHA256_OID);
token_signer!(TokenP384, p384, ecdsa::ECDSA_SHA384_OID);
