//! The risk of each review change and the control it touches.
//!
//! The rules, one per code (the code names the risk, so a reviewer and a CI
//! gate read the same level):
//!
//! - **high**: a change that lets a weaker key, a weaker time or more people
//!   sign what ships, or that makes the policy unreadable: `policy-unreadable`,
//!   `custody-weakened`, `prod-environment-granted`, `prod-refs-broadened`,
//!   `prod-refs-removed` (a removed production environment: one per ref),
//!   `prod-custody-widened`, `prod-class-removed`, `trusted-time-disabled`,
//!   `admin-added`, `trusted-root-replaced`, `revocation-removed`.
//! - **medium**: a change of who or what signs outside production, or of the
//!   key material an identity is bound to: `identity-added`,
//!   `identity-owner-changed`, `identity-key-changed`, `certificate-replaced`,
//!   `environment-granted`, `environment-refs-broadened`,
//!   `environment-custody-widened`, `environment-removed`, `admin-removed`,
//!   `renew-before-shortened`, `exception-added`, `signing-config-changed`.
//! - **low**: a change that only narrows or records: `identity-removed`,
//!   `environment-dropped`, `environment-added`, `environment-refs-narrowed`,
//!   `owner-changed`, `revocation-added`, `exception-removed`.
//!
//! An environment is a production one when its `class` is `prod` or its
//! `custody` allows `hsm` only.
//!
//! Controls: the NIST CSF 2.0 / OWASP NHI Top 10 mapping `sigctl audit` uses.

use serde::Serialize;

use crate::diag::Code;
use crate::provenance::audit::control;

/// How much a change needs a reviewer's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

/// The risk of a review code (non-review codes: high, they should not occur).
pub fn risk(code: Code) -> Risk {
    use Code::*;
    match code {
        IdentityAdded
        | IdentityOwnerChanged
        | IdentityKeyChanged
        | CertificateReplaced
        | EnvironmentGranted
        | EnvironmentRefsBroadened
        | EnvironmentCustodyWidened
        | EnvironmentRemoved
        | AdminRemoved
        | RenewBeforeShortened
        | ExceptionAdded
        | SigningConfigChanged => Risk::Medium,
        IdentityRemoved
        | EnvironmentDropped
        | EnvironmentAdded
        | EnvironmentRefsNarrowed
        | OwnerChanged
        | RevocationAdded
        | ExceptionRemoved => Risk::Low,
        _ => Risk::High,
    }
}

/// The control a change touches.
pub fn control(code: Code) -> &'static str {
    use Code::*;
    match code {
        CustodyWeakened => control::NHI_SECRET_LEAKAGE,
        ProdEnvironmentGranted | EnvironmentGranted | ExceptionAdded => control::NHI_OVERPRIVILEGED,
        IdentityKeyChanged | CertificateReplaced | TrustedRootReplaced | SigningConfigChanged
        | TrustedTimeDisabled => control::CSF_PR_AA_02,
        ProdClassRemoved => control::NHI_OVERPRIVILEGED,
        RenewBeforeShortened => control::NHI_LONG_LIVED,
        IdentityRemoved | RevocationAdded | RevocationRemoved => control::NHI_OFFBOARDING,
        IdentityAdded => control::CSF_PR_AA_01,
        _ => control::CSF_PR_AA_05,
    }
}
