//! Signature and certificate formats. Pure: bytes in, facts out.

pub mod cms;
pub mod der_tlv;
pub mod fulcio;
pub mod openpgp;
pub mod rekor;
pub mod signing_config;
pub mod ssh;
pub mod tsa;
pub mod x509;
