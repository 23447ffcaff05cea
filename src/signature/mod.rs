//! Signature and certificate formats. Pure: bytes in, facts out.

pub mod x509;
