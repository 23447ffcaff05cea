//! The inventory's finding codes: stable, kebab-case, never renamed or
//! reused. The expiry, exception, record and revocation codes are
//! `audit`'s own, with the same meaning.

use crate::provenance::audit::control;

/// A finding kind: its code, severity and the control it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Def {
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: &'static str,
    pub control: &'static str,
    /// What it flags (for the documentation).
    pub description: &'static str,
    /// Across repositories: `--merge` recomputes these.
    pub programme: bool,
}

const fn def(
    code: &'static str,
    severity: &'static str,
    control: &'static str,
    description: &'static str,
) -> Def {
    Def {
        code,
        severity,
        control,
        description,
        programme: false,
    }
}

const fn programme(
    code: &'static str,
    severity: &'static str,
    control: &'static str,
    description: &'static str,
) -> Def {
    Def {
        programme: true,
        ..def(code, severity, control, description)
    }
}

pub const NOT_A_REPOSITORY: Def = def(
    "not-a-repository",
    "error",
    control::CSF_PR_AA_01,
    "a path given that is no repository and holds none",
);
pub const UNREADABLE_DIRECTORY: Def = def(
    "unreadable-directory",
    "error",
    control::CSF_PR_AA_01,
    "a directory the search could not list",
);
pub const UNREADABLE_REPOSITORY: Def = def(
    "unreadable-repository",
    "error",
    control::CSF_PR_AA_01,
    "a repository that does not open, or whose HEAD or tree cannot be read",
);
pub const NO_POLICY: Def = def(
    "no-policy",
    "warning",
    control::CSF_PR_AA_05,
    "a repository without a signing.toml at HEAD (or without a commit)",
);
pub const BROKEN_POLICY: Def = def(
    "broken-policy",
    "error",
    control::CSF_PR_AA_05,
    "a signing.toml at HEAD that does not load (syntax, schema, size, encoding)",
);
pub const POLICY_HAS_ERRORS: Def = def(
    "policy-has-errors",
    "error",
    control::CSF_PR_AA_05,
    "a signing.toml that loads but fails `sigctl check` (other than the findings below)",
);
pub const UNREADABLE_CERTIFICATE: Def = def(
    "unreadable-certificate",
    "error",
    control::CSF_PR_AA_02,
    "a certificate the policy names that is missing at HEAD, too large or does not parse",
);
pub const SHADOW_KEY: Def = def(
    "shadow-key",
    "error",
    control::NHI_SECRET_LEAKAGE,
    "private key material in a file of HEAD's tree",
);
pub const CERTIFICATE_EXPIRED: Def = def(
    "certificate-expired",
    "error",
    control::NHI_LONG_LIVED,
    "an identity whose latest certificate has expired",
);
pub const CERTIFICATE_RENEWAL_DUE: Def = def(
    "certificate-renewal-due",
    "warning",
    control::NHI_LONG_LIVED,
    "an identity whose current certificate is inside its renewal window",
);
pub const EXCEPTION_EXPIRED_WITHOUT_REVIEW: Def = def(
    "exception-expired-without-review",
    "error",
    control::CSF_PR_AA_05,
    "an exception past its expiry that carries no review",
);
pub const UNAUTHENTICATED_RECORD: Def = def(
    "unauthenticated-record",
    "error",
    control::CSF_PR_AA_02,
    "lines of refs/notes/signing that are no record, or that no notes commit signed with a declared certificate added",
);
pub const SIGNED_AFTER_REVOCATION: Def = def(
    "signed-after-revocation",
    "error",
    control::NHI_OFFBOARDING,
    "authenticated signing records of an identity made after its revocation took effect",
);
pub const IDENTITY_IN_SEVERAL_REPOSITORIES: Def = programme(
    "identity-in-several-repositories",
    "warning",
    control::CSF_PR_AA_01,
    "one key (by its public key's SHA-256, whatever the identity is called) in more than one repository",
);
pub const OWNER_HOLDS_PROD_EVERYWHERE: Def = programme(
    "owner-holds-prod-everywhere",
    "warning",
    control::NHI_OVERPRIVILEGED,
    "one owner contact holding a prod-class identity in every repository read (two or more)",
);
pub const HSM_KEY_SHARED_ACROSS_OWNERS: Def = programme(
    "hsm-key-shared-across-owners",
    "error",
    control::CSF_PR_AA_05,
    "one PKCS#11 key (token and object) referenced from several repositories by different owners",
);

/// Every code, in the order of the documentation.
pub const ALL: &[Def] = &[
    NOT_A_REPOSITORY,
    UNREADABLE_DIRECTORY,
    UNREADABLE_REPOSITORY,
    NO_POLICY,
    BROKEN_POLICY,
    POLICY_HAS_ERRORS,
    UNREADABLE_CERTIFICATE,
    SHADOW_KEY,
    CERTIFICATE_EXPIRED,
    CERTIFICATE_RENEWAL_DUE,
    EXCEPTION_EXPIRED_WITHOUT_REVIEW,
    UNAUTHENTICATED_RECORD,
    SIGNED_AFTER_REVOCATION,
    IDENTITY_IN_SEVERAL_REPOSITORIES,
    OWNER_HOLDS_PROD_EVERYWHERE,
    HSM_KEY_SHARED_ACROSS_OWNERS,
];

/// Whether `code` is a programme (cross-repository) finding.
pub fn is_programme(code: &str) -> bool {
    ALL.iter().any(|d| d.programme && d.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_with_a_known_severity() {
        let mut seen = std::collections::HashSet::new();
        for d in ALL {
            assert!(seen.insert(d.code), "{} twice", d.code);
            assert!(d.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
            assert!(matches!(d.severity, "error" | "warning"));
        }
    }
}
