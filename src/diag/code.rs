//! Every stable diagnostic code, with its one-line description.
//!
//! Codes are part of the public contract (JSON output, docs): never rename or
//! reuse one. `docs/codes.md` is generated from this list by `cargo xtask docs`.

use serde::Serialize;

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $desc:literal;)*) => {
        /// A stable, kebab-case diagnostic code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant),* }

        impl Code {
            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The kebab-case name shown to users and in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code),* }
            }

            /// What the code flags, in one line.
            pub fn description(self) -> &'static str {
                match self { $(Code::$variant => $desc),* }
            }

            /// The severity a finding with this code has.
            pub fn severity(self) -> super::Severity {
                match self { $(Code::$variant => super::Severity::$severity),* }
            }
        }
    };
}

codes! {
    // the file itself
    TomlSyntax = "toml-syntax", Error, "signing.toml is not valid TOML";
    UnknownField = "unknown-field", Error, "a key that signing.toml version 1 does not define";
    WrongType = "wrong-type", Error, "a value of the wrong type (a string where a list belongs, …)";
    MissingField = "missing-field", Error, "a required key is absent";
    DuplicateKey = "duplicate-key", Error, "a key or table defined twice";
    InvalidValue = "invalid-value", Error, "a value outside what the key accepts (a bad duration, custody class, date, …)";
    InvalidUtf8 = "invalid-utf8", Error, "the file is not UTF-8";
    FileTooLarge = "file-too-large", Error, "a policy or certificate file over the size limit";
    UnsupportedVersion = "unsupported-version", Error, "a `version` this sigctl does not understand";
    // references and structure
    DanglingReference = "dangling-reference", Error, "an owner, environment or identity name that is not declared";
    DuplicateName = "duplicate-name", Error, "two exceptions with one id, two revocations of one identity, or a name listed twice";
    NoAdmins = "no-admins", Error, "`policy.admins` is empty, so no one could ever change the policy";
    AdminWithoutIdentity = "admin-without-identity", Warning, "an admin owner that owns no identity, so it cannot sign a policy change";
    InvalidRefPattern = "invalid-ref-pattern", Error, "a ref pattern that is not a `refs/…` glob";
    // signers and custody
    AmbiguousSigner = "ambiguous-signer", Error, "an identity without exactly one signer (key+certificate, keyless or ssh_key)";
    CustodyMismatch = "custody-mismatch", Error, "an identity whose `custody` does not match its signer";
    CustodyNotAllowed = "custody-not-allowed", Error, "an identity whose custody class one of its environments does not allow";
    InvalidKeyUri = "invalid-key-uri", Error, "a `key` that is not an RFC 7512 PKCS#11 URI";
    PinInUri = "pin-in-uri", Error, "a PKCS#11 URI carrying `pin-value`: a secret in the repository";
    InvalidSshKey = "invalid-ssh-key", Error, "an `ssh_key` that is not an OpenSSH public key line";
    InvalidKeyless = "invalid-keyless", Error, "a keyless identity whose issuer is not an https URL or whose subject is empty";
    BadOpenpgpKey = "bad-openpgp-key", Error, "an `openpgp_key` file that is missing or holds no usable (RSA) public key";
    BadTrustedRoot = "bad-trusted-root", Error, "a `sigstore.trusted_root` file that is missing or is not a Sigstore trusted root";
    BadSigningConfig = "bad-signing-config", Error, "a `sigstore.signing_config` file that is missing, is not a Sigstore signing config v0.2, names a non-https endpoint, or lacks the Fulcio and Rekor keyless identities need";
    BadCaFile = "bad-ca-file", Error, "an `x509.ca` file that is missing or holds no certificate authority";
    KeylessWithoutTrustedRoot = "keyless-without-trusted-root", Warning, "keyless identities, but no `[sigstore] trusted_root` to check their certificates against";
    ShadowKey = "shadow-key", Error, "private key material in a tracked file or in history";
    // key separation
    SharedKey = "shared-key", Error, "one key (SSH key, PKCS#11 key, certificate public key, keyless issuer+subject, OpenPGP key, x509 CA+subject) under two identities";
    MixedEnvironmentClasses = "mixed-environment-classes", Error, "an identity whose environments declare different `class`es (a prod key that also signs dev)";
    // certificates
    CertificateMissing = "certificate-missing", Warning, "a declared certificate file that does not exist yet";
    BadCertificate = "bad-certificate", Error, "a certificate that cannot be read or parsed";
    CertificateKeyMismatch = "certificate-key-mismatch", Error, "a certificate whose public key is not the one the identity pins";
    NoCodeSigningEku = "no-code-signing-eku", Warning, "a certificate without the codeSigning extended key usage";
    CertificateExpired = "certificate-expired", Error, "a certificate past its notAfter";
    CertificateNotYetValid = "certificate-not-yet-valid", Warning, "a certificate whose notBefore is still ahead";
    RenewalDue = "renewal-due", Warning, "a certificate inside its renewal window (`renew_before`)";
    BadSupplier = "bad-supplier", Error, "a supplier without a contact, an accepted signer (keyless or a readable public key) or a trusted root";
    BadCa = "bad-ca", Error, "a `[ca] identity` that names no hsm identity with a certificate authority's certificate";
    CertificateSuperseded = "certificate-superseded", Warning, "an expired certificate still listed next to its valid successor: remove it";
    // exceptions and revocations
    StaleException = "stale-exception", Error, "an exception past `expires` that carries no `review`";
    UnapprovedException = "unapproved-exception", Error, "an exception with no `approved_by`";
    InvalidCommitId = "invalid-commit-id", Error, "an exception `commits` entry that is not a full object id (40 or 64 lowercase hex): a prefix, upper case or junk matches no commit";
    UnknownRevokedIdentity = "unknown-revoked-identity", Error, "a revocation that names no declared identity";
    InvalidRevocation = "invalid-revocation", Error, "a revocation whose dates or reason contradict each other";
    IdentityRevoked = "identity-revoked", Warning, "a revoked identity that still lists environments to sign for";
    // `sigctl verify` verdicts (a commit or tag's `reason`; `certificate-key-mismatch` above is one too)
    Unsigned = "unsigned", Error, "verify: a commit or tag in range carries no signature";
    BadSignature = "bad-signature", Error, "verify: a signature that does not verify over the object, is garbled, or is duplicated";
    UnsupportedSignature = "unsupported-signature", Error, "verify: a signature format or algorithm sigctl does not verify";
    UnknownSigner = "unknown-signer", Error, "verify: the signer is no identity of the policy in force at the parent";
    WrongEnvironment = "wrong-environment", Error, "verify: the identity does not sign for the environment of a verified ref (by the parent policy's names)";
    PolicyChangeWithoutAdmin = "policy-change-without-admin", Error, "verify: the policy (signing.toml or a file it names) changed, restored a replaced policy or dropped a revocation, signed by no admin of the parent's policy";
    RevokedKey = "revoked-key", Error, "verify: the signing key is revoked (in a parent's policy, or from its time at a verified tip or HEAD), under any identity";
    CertificateInvalidAtSigning = "certificate-invalid-at-signing", Error, "verify: the certificate was not valid, or did not chain to its anchor, at signing time";
    UntrustedTime = "untrusted-time", Error, "verify: the environment requires a Rekor or RFC 3161 time the signature lacks";
    ForeignHistory = "foreign-history", Error, "verify: a commit in range that does not descend from the trust root";
    BrokenChain = "broken-chain", Error, "verify: every authorising parent fails: the chain from the trust root is broken";
    NoPolicy = "no-policy", Error, "verify: no parent has a signing.toml that parses";
    NotDescendantOfTrustRoot = "not-descendant-of-trust-root", Error, "verify: a spec whose tip is neither the trust root nor descended from it";
    TagNameMismatch = "tag-name-mismatch", Error, "verify: a tag object whose `tag` header names another tag than the ref it is verified under";
    SignatureOverBounds = "signature-over-bounds", Error, "verify: a signature larger or with more certificates, attributes or packets than sigctl reads (bounded work per signature)";
    // `sigctl verify-artifact` reasons (`--format json`; `bad-signature`, `unknown-signer`, `revoked-key`,
    // `certificate-invalid-at-signing`, `untrusted-time` and `unsupported-signature` above are some too)
    MalformedBundle = "malformed-bundle", Error, "verify-artifact: a bundle that is not a well-formed Sigstore bundle (JSON, media type, base64, a missing or empty part), or that names no certificate where the policy needs one";
    ArtifactMismatch = "artifact-mismatch", Error, "verify-artifact: the artefact is not what the bundle signs (message digest, or no subject of the in-toto statement)";
    InvalidSct = "invalid-sct", Error, "verify-artifact: the keyless certificate's signed certificate timestamp is missing or does not verify with the trusted root's CT logs";
    InvalidTlogEntry = "invalid-tlog-entry", Error, "verify-artifact: a transparency log entry from an unknown log, with a bad inclusion proof, checkpoint or signed entry timestamp, an integrated time outside the certificate, or that does not describe the bundle";
    InvalidTimestamp = "invalid-timestamp", Error, "verify-artifact: an RFC 3161 timestamp that does not verify against the trusted root's timestamp authorities (wrong TSA, other bytes, outside its validity)";
    // `sigctl review` changes between two policies (high risk: error, medium and low: warning)
    PolicyUnreadable = "policy-unreadable", Error, "review, high: BASE's or HEAD's signing.toml is missing, too large or does not parse";
    CustodyWeakened = "custody-weakened", Error, "review, high: an identity's custody weakened (hsm → keyless or unmanaged, keyless → unmanaged)";
    ProdEnvironmentGranted = "prod-environment-granted", Error, "review, high: an identity gained a production environment (class prod, or hsm-only custody)";
    ProdRefsBroadened = "prod-refs-broadened", Error, "review, high: a production environment gained a ref pattern";
    ProdRefsRemoved = "prod-refs-removed", Error, "review, high: a production environment lost a ref pattern (those refs leave its protection)";
    ProdCustodyWidened = "prod-custody-widened", Error, "review, high: a production environment allows a weaker custody class";
    ProdClassRemoved = "prod-class-removed", Error, "review, high: an environment is no longer of class prod (key separation from dev and test lapses)";
    TrustedTimeDisabled = "trusted-time-disabled", Error, "review, high: an environment no longer requires a trusted time";
    AdminAdded = "admin-added", Error, "review, high: an owner became a policy admin";
    TrustedRootReplaced = "trusted-root-replaced", Error, "review, high: the Sigstore trusted root was replaced, added or removed";
    RevocationRemoved = "revocation-removed", Error, "review, high: a revocation was removed or weakened";
    IdentityAdded = "identity-added", Warning, "review, medium: a signing identity was added";
    IdentityOwnerChanged = "identity-owner-changed", Warning, "review, medium: an identity changed owner";
    IdentityKeyChanged = "identity-key-changed", Warning, "review, medium: an identity's key, certificate path, key pin, keyless, SSH, OpenPGP or X.509 signer changed";
    CertificateReplaced = "certificate-replaced", Warning, "review, medium: an identity's certificate file holds another certificate";
    EnvironmentGranted = "environment-granted", Warning, "review, medium: an identity gained a (non-production) environment";
    EnvironmentRefsBroadened = "environment-refs-broadened", Warning, "review, medium: a non-production environment gained a ref pattern";
    EnvironmentCustodyWidened = "environment-custody-widened", Warning, "review, medium: a non-production environment allows a weaker custody class";
    EnvironmentRemoved = "environment-removed", Warning, "review, medium: an environment was removed (its refs fall to another or to none)";
    AdminRemoved = "admin-removed", Warning, "review, medium: an owner is no longer a policy admin";
    RenewBeforeShortened = "renew-before-shortened", Warning, "review, medium: an identity's renewal window shortened or removed";
    ExceptionAdded = "exception-added", Warning, "review, medium: an exception was added or extended";
    SigningConfigChanged = "signing-config-changed", Warning, "review, medium: the Sigstore signing config changed";
    IdentityRemoved = "identity-removed", Warning, "review, low: a signing identity was removed";
    EnvironmentDropped = "environment-dropped", Warning, "review, low: an identity lost an environment";
    EnvironmentAdded = "environment-added", Warning, "review, low: an environment was added";
    EnvironmentRefsNarrowed = "environment-refs-narrowed", Warning, "review, low: a non-production environment lost a ref pattern";
    OwnerChanged = "owner-changed", Warning, "review, low: an owner was added, removed, or changed contact or members";
    RevocationAdded = "revocation-added", Warning, "review, low: an identity was revoked";
    ExceptionRemoved = "exception-removed", Warning, "review, low: an exception was removed";
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
                "{c} is not kebab-case"
            );
            assert!(!c.description().is_empty());
        }
    }
}
