//! The policy as sign, verify, audit and review judge by it: which files
//! are part of it, and the predicates over it (a ref's environment, who an
//! environment admits, who administers it, what is revoked from when, which
//! commits are excepted). Pure: a parsed `signing.toml` and an instant in,
//! answers out; callers bring the files.
//!
//! The policy in force at a commit is `signing.toml` in its tree *plus every
//! file that file names* ([`trust_files`]): changing any of them changes the
//! policy. Keeping that list in one place is what keeps `sign`'s refusals,
//! `verify`'s verdicts and `audit`'s evidence from drifting apart.

use time::OffsetDateTime;

use super::raw::{OneOrMore, RawIdentity, RawPolicy, RawRevocation, RevocationReason};
use super::ref_pattern;

/// What a file named by the policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TrustFile {
    /// `identities.*.certificate`
    Certificate,
    /// `identities.*.x509.ca`
    CaCertificates,
    /// `identities.*.openpgp_key`
    OpenPgpKey,
    /// `[sigstore] trusted_root`
    SigstoreTrustedRoot,
    /// `[sigstore] signing_config`
    SigstoreSigningConfig,
    /// `suppliers.*.public_keys`
    SupplierKey,
    /// `suppliers.*.trusted_root`
    SupplierTrustedRoot,
}

impl TrustFile {
    pub fn as_str(self) -> &'static str {
        match self {
            TrustFile::Certificate => "certificate",
            TrustFile::CaCertificates => "x509.ca",
            TrustFile::OpenPgpKey => "openpgp_key",
            TrustFile::SigstoreTrustedRoot => "sigstore.trusted_root",
            TrustFile::SigstoreSigningConfig => "sigstore.signing_config",
            TrustFile::SupplierKey => "suppliers.public_keys",
            TrustFile::SupplierTrustedRoot => "suppliers.trusted_root",
        }
    }
}

/// Every file the policy names, as (what, path in the repository): part of
/// the policy, so a change to any of them needs an admin.
pub fn trust_files(raw: &RawPolicy) -> Vec<(TrustFile, &str)> {
    let mut out = Vec::new();
    if let Some(sg) = &raw.sigstore {
        out.push((
            TrustFile::SigstoreTrustedRoot,
            sg.trusted_root.get().as_str(),
        ));
        if let Some(sc) = &sg.signing_config {
            out.push((TrustFile::SigstoreSigningConfig, sc.get().as_str()));
        }
    }
    for id in raw.identities.values() {
        if let Some(c) = &id.certificate {
            match c.get() {
                OneOrMore::One(p) => out.push((TrustFile::Certificate, p.as_str())),
                OneOrMore::More(all) => {
                    for p in all {
                        out.push((TrustFile::Certificate, p.get().as_str()));
                    }
                }
            }
        }
        if let Some(x) = &id.x509 {
            out.push((TrustFile::CaCertificates, x.get().ca.get().as_str()));
        }
        if let Some(p) = &id.openpgp_key {
            out.push((TrustFile::OpenPgpKey, p.get().as_str()));
        }
    }
    for s in raw.suppliers.values() {
        for k in &s.public_keys {
            out.push((TrustFile::SupplierKey, k.get().as_str()));
        }
        if let Some(r) = &s.trusted_root {
            out.push((TrustFile::SupplierTrustedRoot, r.get().as_str()));
        }
    }
    out
}

/// The environment a ref belongs to (the most specific matching pattern).
pub fn environment_of(raw: &RawPolicy, refname: &str) -> Option<String> {
    raw.environments
        .iter()
        .flat_map(|(name, env)| env.refs.iter().map(move |p| (name.get(), p.get())))
        .filter(|(_, p)| ref_pattern::matches(p, refname))
        .max_by_key(|(_, p)| ref_pattern::specificity(p))
        .map(|(n, _)| n.clone())
}

/// The declared identity of that name.
pub fn identity<'a>(raw: &'a RawPolicy, name: &str) -> Option<&'a RawIdentity> {
    raw.identities
        .iter()
        .find(|(k, _)| k.get() == name)
        .map(|(_, v)| v.get())
}

/// How an environment stands with an identity at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The identity lists the environment.
    Listed,
    /// An unexpired exception (its id) stands in for the environment.
    Excepted(String),
    Refused,
}

/// Whether `identity` may sign for `env` at `at`: listed, or an exception
/// of this policy, unexpired at `at`, names both.
pub fn admits(raw: &RawPolicy, identity: &str, env: &str, at: OffsetDateTime) -> Admission {
    if self::identity(raw, identity)
        .is_some_and(|id| id.environments.iter().any(|e| e.get() == env))
    {
        return Admission::Listed;
    }
    raw.exceptions
        .iter()
        .find(|x| {
            x.identity.get() == identity
                && x.environments.iter().any(|e| e.get() == env)
                && at < x.expires.get().0
        })
        .map_or(Admission::Refused, |x| {
            Admission::Excepted(x.id.get().clone())
        })
}

/// Whether `env` accepts only a time its signer could not choose.
pub fn requires_trusted_time(raw: &RawPolicy, env: &str) -> bool {
    raw.environments
        .iter()
        .any(|(k, e)| k.get() == env && e.require_trusted_time.as_ref().is_some_and(|b| *b.get()))
}

/// Whether `identity` is owned by one of the policy's admins.
pub fn is_admin(raw: &RawPolicy, identity: &str) -> bool {
    self::identity(raw, identity).is_some_and(|id| {
        let owner = id.owner.get();
        raw.policy.admins.iter().any(|a| a.get() == owner)
    })
}

/// The revocations naming `identity`.
pub fn revocations<'a>(
    raw: &'a RawPolicy,
    identity: &'a str,
) -> impl Iterator<Item = &'a RawRevocation> + 'a {
    raw.revocations
        .iter()
        .map(|r| r.get())
        .filter(move |r| r.identity.get() == identity)
}

/// From when a revocation taints signatures (when a later policy holds it):
/// `compromised_since` for a key compromise that names one, else
/// `revoked_at`.
pub fn revoked_from(r: &RawRevocation) -> OffsetDateTime {
    match (r.reason.get(), &r.compromised_since) {
        (RevocationReason::KeyCompromise, Some(since)) => since.get().0,
        _ => r.revoked_at.get().0,
    }
}

/// Whether `hex` is a full object id (SHA-1 or SHA-256): the only form an
/// exception may list, since an id prefix can be ground to match.
/// Lower case, as git prints it: what `sigctl check` accepts is exactly what
/// verify matches.
pub fn is_full_object_id(hex: &str) -> bool {
    (hex.len() == 40 || hex.len() == 64)
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The commits the policy's exceptions let the chain pass through at `now`:
/// full ids of unexpired exceptions. Only meaningful from a
/// policy that is itself authenticated.
pub fn excepted_commits(raw: &RawPolicy, now: OffsetDateTime) -> Vec<String> {
    raw.exceptions
        .iter()
        .filter(|x| x.expires.get().0 > now)
        .flat_map(|x| x.commits.iter())
        .map(|c| c.get().trim())
        .filter(|c| is_full_object_id(c))
        .map(str::to_owned)
        .collect()
}

/// Whether a certificate whose public key has SHA-256 `spki_sha256` (hex)
/// may stand for `identity`: true unless the identity pins other keys only.
pub fn pin_admits(identity: &RawIdentity, spki_sha256: &str) -> bool {
    let pins = identity.pins();
    pins.is_empty()
        || pins.iter().any(|pin| {
            let want = pin.get().trim().to_ascii_lowercase();
            want.strip_prefix("sha256:").unwrap_or(&want) == spki_sha256
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(extra: &str) -> RawPolicy {
        let text = format!(
            "version = 1\n[policy]\nadmins = [\"sec\"]\n[owners.sec]\ncontact = \"s@example.com\"\n\
             [owners.dev]\ncontact = \"d@example.com\"\n\
             [environments.dev]\nrefs = [\"refs/heads/*\"]\ncustody = [\"unmanaged\"]\n\
             [environments.prod]\nrefs = [\"refs/heads/main\", \"refs/tags/v*\"]\ncustody = [\"unmanaged\"]\nrequire_trusted_time = true\n\
             [identities.alice]\nowner = \"sec\"\nenvironments = [\"dev\", \"prod\"]\ncustody = \"unmanaged\"\nssh_key = \"ssh-ed25519 AAAA\"\n\
             [identities.bob]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nssh_key = \"ssh-ed25519 BBBB\"\n{extra}"
        );
        crate::policy::load::parse("signing.toml", text.as_bytes())
            .result
            .unwrap_or_else(|d| panic!("{}", d.message))
    }

    fn at(s: &str) -> OffsetDateTime {
        crate::policy::timestamp::Timestamp::parse(s)
            .map(|t| t.0)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_most_specific_pattern_names_the_environment() {
        let p = policy("");
        assert_eq!(
            environment_of(&p, "refs/heads/main").as_deref(),
            Some("prod")
        );
        assert_eq!(
            environment_of(&p, "refs/heads/feature").as_deref(),
            Some("dev")
        );
        assert_eq!(environment_of(&p, "refs/notes/x"), None);
    }

    #[test]
    fn an_exception_admits_until_it_expires() {
        let p = policy(
            "[[exceptions]]\nid = \"INC-1\"\nidentity = \"bob\"\nenvironments = [\"prod\"]\nowner = \"sec\"\n\
             approved_by = [\"s@example.com\"]\nreason = \"hotfix\"\nexpires = 2026-12-01T00:00:00Z\n\
             commits = [\"0123456\", \"0123456789abcdef0123456789abcdef01234567\"]\n",
        );
        assert_eq!(
            admits(&p, "alice", "prod", at("2026-11-01T00:00:00Z")),
            Admission::Listed
        );
        assert_eq!(
            admits(&p, "bob", "prod", at("2026-11-01T00:00:00Z")),
            Admission::Excepted("INC-1".into())
        );
        assert_eq!(
            admits(&p, "bob", "prod", at("2026-12-01T00:00:00Z")),
            Admission::Refused
        );
        // a prefix is never an excepted commit; an expired exception excepts nothing
        assert_eq!(
            excepted_commits(&p, at("2026-11-01T00:00:00Z")),
            ["0123456789abcdef0123456789abcdef01234567"]
        );
        assert!(excepted_commits(&p, at("2026-12-02T00:00:00Z")).is_empty());
    }

    #[test]
    fn admins_trusted_time_and_revocations() {
        let p = policy(
            "[[revocations]]\nidentity = \"bob\"\nreason = \"key-compromise\"\nrevoked_at = 2026-07-01T00:00:00Z\n\
             compromised_since = 2026-06-15T00:00:00Z\n",
        );
        assert!(is_admin(&p, "alice") && !is_admin(&p, "bob") && !is_admin(&p, "nobody"));
        assert!(requires_trusted_time(&p, "prod") && !requires_trusted_time(&p, "dev"));
        let r: Vec<_> = revocations(&p, "bob").collect();
        assert_eq!(r.len(), 1);
        assert_eq!(revoked_from(r[0]), at("2026-06-15T00:00:00Z"));
        assert_eq!(revocations(&p, "alice").count(), 0);
    }

    #[test]
    fn every_named_file_is_part_of_the_policy() {
        let p = policy(
            "[identities.web]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nopenpgp_key = \"keys/web.asc\"\n\
             [identities.corp]\nowner = \"dev\"\nenvironments = [\"dev\"]\ncustody = \"unmanaged\"\nx509 = { ca = \"certs/ca.pem\", subject = \"a@example.com\" }\n\
             [sigstore]\ntrusted_root = \"trust/root.json\"\n",
        );
        let mut files = trust_files(&p);
        files.sort();
        assert_eq!(
            files,
            [
                (TrustFile::CaCertificates, "certs/ca.pem"),
                (TrustFile::OpenPgpKey, "keys/web.asc"),
                (TrustFile::SigstoreTrustedRoot, "trust/root.json"),
            ]
        );
    }
}
