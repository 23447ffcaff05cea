//! The verdicts of `sigctl verify`, as data. JSON field names and reason
//! codes are public: documented in README, never renamed.

use serde::Serialize;

use crate::diag::Code;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Commit,
    Tag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    Invalid,
    Unsigned,
}

/// Why an object got its verdict: one stable code per verification rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Signed by an identity the policy in force authorises.
    Authorised,
    /// No signature.
    Unsigned,
    /// The signature does not verify over the object, is garbled, or is duplicated.
    BadSignature,
    /// A signature format or algorithm sigctl does not verify yet.
    UnsupportedSignature,
    /// The signer is no identity of the parent's policy.
    UnknownSigner,
    /// The identity does not sign for the ref's environment.
    WrongEnvironment,
    /// signing.toml changed, signed by an identity no admin owns.
    PolicyChangeWithoutAdmin,
    /// The identity was revoked for this signature.
    RevokedKey,
    /// The certificate was not valid at signing time.
    CertificateInvalidAtSigning,
    /// The environment requires a trusted time the signature lacks.
    UntrustedTime,
    /// Not descended from the trust root.
    ForeignHistory,
    /// A parent failed: the chain from the trust root is broken.
    BrokenChain,
    /// No policy in force.
    NoPolicy,
    /// The signer's certificate does not carry the key its identity's
    /// `public_key` pins.
    CertificateKeyMismatch,
    /// A spec's tip is neither the trust root nor descended from it.
    NotDescendantOfTrustRoot,
    /// A tag object whose `tag` header names another tag than its ref.
    TagNameMismatch,
    /// A signature over the bounds of work sigctl does per signature.
    SignatureOverBounds,
}

impl Reason {
    /// Every reason, for parsing stored codes back.
    pub const ALL: &'static [Reason] = &[
        Reason::Authorised,
        Reason::Unsigned,
        Reason::BadSignature,
        Reason::UnsupportedSignature,
        Reason::UnknownSigner,
        Reason::WrongEnvironment,
        Reason::PolicyChangeWithoutAdmin,
        Reason::RevokedKey,
        Reason::CertificateInvalidAtSigning,
        Reason::UntrustedTime,
        Reason::ForeignHistory,
        Reason::BrokenChain,
        Reason::NoPolicy,
        Reason::CertificateKeyMismatch,
        Reason::NotDescendantOfTrustRoot,
        Reason::TagNameMismatch,
        Reason::SignatureOverBounds,
    ];

    pub fn parse(s: &str) -> Option<Reason> {
        Self::ALL.iter().copied().find(|r| r.as_str() == s)
    }

    /// The registered code of a failure (`authorised` is no finding).
    pub fn code(self) -> Option<Code> {
        Some(match self {
            Reason::Authorised => return None,
            Reason::Unsigned => Code::Unsigned,
            Reason::BadSignature => Code::BadSignature,
            Reason::UnsupportedSignature => Code::UnsupportedSignature,
            Reason::UnknownSigner => Code::UnknownSigner,
            Reason::WrongEnvironment => Code::WrongEnvironment,
            Reason::PolicyChangeWithoutAdmin => Code::PolicyChangeWithoutAdmin,
            Reason::RevokedKey => Code::RevokedKey,
            Reason::CertificateInvalidAtSigning => Code::CertificateInvalidAtSigning,
            Reason::UntrustedTime => Code::UntrustedTime,
            Reason::ForeignHistory => Code::ForeignHistory,
            Reason::BrokenChain => Code::BrokenChain,
            Reason::NoPolicy => Code::NoPolicy,
            Reason::CertificateKeyMismatch => Code::CertificateKeyMismatch,
            Reason::NotDescendantOfTrustRoot => Code::NotDescendantOfTrustRoot,
            Reason::TagNameMismatch => Code::TagNameMismatch,
            Reason::SignatureOverBounds => Code::SignatureOverBounds,
        })
    }

    pub fn as_str(self) -> &'static str {
        self.code().map_or("authorised", Code::as_str)
    }
}

/// One verified object.
#[derive(Debug, Clone)]
pub struct ObjectResult {
    pub object: crate::repo::ObjectId,
    pub kind: Kind,
    pub verdict: Verdict,
    /// Shared with the policy that names it: one allocation per identity.
    pub identity: Option<std::sync::Arc<str>>,
    pub reason: Reason,
    pub message: std::borrow::Cow<'static, str>,
    pub signed_at: Option<OffsetDateTime>,
    pub time_source: &'static str,
}

impl ObjectResult {
    /// Record a refusal: its reason and message, and the time it judged at.
    pub fn refuse(
        &mut self,
        reason: Reason,
        message: String,
        judged_at: Option<(OffsetDateTime, &'static str)>,
    ) {
        if let Some((at, source)) = judged_at {
            self.signed_at = Some(at);
            self.time_source = source;
        }
        self.verdict = if reason == Reason::Unsigned {
            Verdict::Unsigned
        } else {
            Verdict::Invalid
        };
        self.reason = reason;
        self.message = message.into();
    }

    pub fn new(object: crate::repo::ObjectId, kind: Kind) -> Self {
        Self {
            object,
            kind,
            verdict: Verdict::Invalid,
            identity: None,
            reason: Reason::NoPolicy,
            message: std::borrow::Cow::Borrowed(""),
            signed_at: None,
            time_source: "none",
        }
    }
}

/// Everything `verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// None: an external policy over the whole history (no start).
    pub trust_root: Option<String>,
    pub trust_root_pinned: bool,
    /// `--policy FILE`: the external policy every object was judged by.
    pub policy: Option<String>,
    pub results: Vec<ObjectResult>,
    pub warnings: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.results.iter().all(|r| r.verdict == Verdict::Valid)
    }
    pub fn count(&self, v: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == v).count()
    }
}
