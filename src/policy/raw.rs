//! The serde mirror of `signing.toml`: every value spanned, unknown keys denied.
//!
//! This is phase one of loading (conventions §4): it only describes the
//! file's shape. Meaning (references, custody, lifecycle) is checked by
//! `policy::rules`. The JSON Schema in `schema/` is generated from these types.

use std::collections::BTreeMap;
use std::ops::Range;

use schemars::JsonSchema;
use serde::Deserialize;

use super::duration::Duration;
use super::timestamp::Timestamp;

/// A value with the byte span it came from.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Sp<T>(pub toml::Spanned<T>);

impl<T> Sp<T> {
    pub fn span(&self) -> Range<usize> {
        self.0.span()
    }
    pub fn get(&self) -> &T {
        self.0.get_ref()
    }
}

impl<T> std::ops::Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.get_ref()
    }
}

impl<T: PartialEq> PartialEq for Sp<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}
impl<T: Eq> Eq for Sp<T> {}
impl<T: PartialOrd> PartialOrd for Sp<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.get().partial_cmp(other.get())
    }
}
impl<T: Ord> Ord for Sp<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.get().cmp(other.get())
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A name used as a table key, with the span of the key.
pub type Name = Sp<String>;

/// `signing.toml`, version 1.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "signing.toml",
    description = "sigctl signing policy: identities, owners, environments, exceptions and revocations"
)]
pub struct RawPolicy {
    /// Format version; only 1 exists.
    pub version: Sp<i64>,
    pub policy: Sp<RawPolicySection>,
    /// Teams or people that own identities.
    #[serde(default)]
    pub owners: BTreeMap<Name, Sp<RawOwner>>,
    /// Named environments (dev, test, prod) and the refs that belong to them.
    #[serde(default)]
    pub environments: BTreeMap<Name, Sp<RawEnvironment>>,
    /// Signing identities.
    #[serde(default)]
    pub identities: BTreeMap<Name, Sp<RawIdentity>>,
    /// Time-boxed, approved deviations from the environment rules.
    #[serde(default)]
    pub exceptions: Vec<Sp<RawException>>,
    /// Identities whose signatures must no longer be trusted.
    #[serde(default)]
    pub revocations: Vec<Sp<RawRevocation>>,
    /// Sigstore trust material for keyless identities.
    #[serde(default)]
    pub sigstore: Option<Sp<RawSigstore>>,
    /// An internal certificate authority: an hsm identity whose key issues
    /// the successor certificates of the others (`sigctl ca issue`).
    #[serde(default)]
    pub ca: Option<Sp<RawCa>>,
    /// Suppliers: whose signatures on third-party artefacts are accepted,
    /// and what evidence comes with them (`sigctl verify-artifact --supplier`).
    #[serde(default)]
    pub suppliers: BTreeMap<Name, Sp<RawSupplier>>,
}

/// Where keyless (Fulcio) certificates must chain to.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSigstore {
    /// Path in the repository of a Sigstore `trusted_root.json` (the public-good one, or your own instance's).
    pub trusted_root: Sp<String>,
    /// Path in the repository of a Sigstore `signing_config.json` (v0.2): the Fulcio, Rekor, TSA and OIDC endpoints keyless signing uses.
    pub signing_config: Option<Sp<String>>,
}

/// Who may change this policy.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicySection {
    /// Owners whose identities may sign changes to signing.toml.
    pub admins: Vec<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOwner {
    /// Where to reach the owner (mail address or URL).
    pub contact: Sp<String>,
    /// People (mail addresses) in the owning team.
    #[serde(default)]
    pub members: Vec<Sp<String>>,
}

/// A custody class: where an identity's private key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Custody {
    /// In a PKCS#11 token (HSM, cloud KMS), generated non-extractable.
    Hsm,
    /// No long-lived key: Sigstore keyless (OIDC identity, short-lived certificate).
    Keyless,
    /// A key sigctl does not manage (an SSH key on a laptop).
    Unmanaged,
}

impl Custody {
    pub fn as_str(self) -> &'static str {
        match self {
            Custody::Hsm => "hsm",
            Custody::Keyless => "keyless",
            Custody::Unmanaged => "unmanaged",
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    /// Ref globs (`refs/tags/v*`, `refs/heads/main`) whose signatures must come from this environment.
    pub refs: Vec<Sp<String>>,
    /// Custody classes allowed for identities signing here.
    pub custody: Vec<Sp<Custody>>,
    /// Accept only a transparency-log or RFC 3161 time, never a time the signer chose.
    #[serde(default)]
    pub require_trusted_time: Option<Sp<bool>>,
    /// Trust class (`dev`, `test`, `prod`), for key separation: an identity may not sign
    /// for environments of two different classes. An environment without a class is not
    /// constrained.
    #[serde(default)]
    pub class: Option<Sp<EnvironmentClass>>,
}

/// An environment's trust class: a key that signs for one class signs for no other, so a
/// lower-trust environment is no path to production trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentClass {
    /// Development: everyday branches, laptops.
    Dev,
    /// Testing and staging.
    Test,
    /// Production: releases and what ships.
    Prod,
}

impl EnvironmentClass {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentClass::Dev => "dev",
            EnvironmentClass::Test => "test",
            EnvironmentClass::Prod => "prod",
        }
    }
}

/// `[suppliers.NAME]`: a supplier of third-party artefacts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSupplier {
    /// Who to reach about its signatures (an address or URL).
    pub contact: Sp<String>,
    /// Keyless signers accepted on its artefacts: OIDC issuer and
    /// certificate subject, exactly (its release workflow, its maintainers).
    #[serde(default)]
    pub keyless: Vec<Sp<RawKeyless>>,
    /// Paths in the repository of PEM public keys accepted on its artefacts.
    #[serde(default)]
    pub public_keys: Vec<Sp<String>>,
    /// The evidence expected with each artefact: `bundle` (a Sigstore
    /// bundle, always), `provenance` (an in-toto attestation bundle naming
    /// the artefact), `sbom` (an SPDX or CycloneDX document).
    #[serde(default)]
    pub evidence: Vec<Sp<Evidence>>,
    /// Path in the repository of the Sigstore trusted root its signatures
    /// chain to; default `[sigstore] trusted_root`.
    #[serde(default)]
    pub trusted_root: Option<Sp<String>>,
}

/// Evidence a supplier gives with an artefact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    Bundle,
    Provenance,
    Sbom,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Bundle => "bundle",
            Evidence::Provenance => "provenance",
            Evidence::Sbom => "sbom",
        }
    }
}

/// `[ca]`: the internal certificate authority.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCa {
    /// The hsm identity whose key and (CA) certificate issue certificates.
    pub identity: Sp<String>,
    /// How long an issued certificate is valid (`90d`, `12w`); default 90d.
    #[serde(default)]
    pub validity: Option<Sp<Duration>>,
}

/// A string, or a list of them: `"a"` or `["a", "b"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneOrMore {
    One(String),
    More(Vec<Sp<String>>),
}

impl<'de> Deserialize<'de> for OneOrMore {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OneOrMore;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMore, E> {
                Ok(OneOrMore::One(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<OneOrMore, E> {
                Ok(OneOrMore::One(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<OneOrMore, A::Error> {
                let mut all = Vec::new();
                while let Some(x) = seq.next_element::<Sp<String>>()? {
                    all.push(x);
                }
                Ok(OneOrMore::More(all))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for OneOrMore {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OneOrMore".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1}
            ]
        })
    }
}

impl Sp<OneOrMore> {
    /// Every string, each with its own span (a lone string: the value's).
    pub fn all(&self) -> Vec<Sp<String>> {
        match self.get() {
            OneOrMore::One(s) => vec![Sp(toml::Spanned::new(self.span(), s.clone()))],
            OneOrMore::More(v) => v.clone(),
        }
    }
}

impl RawIdentity {
    /// Every certificate path the identity lists, in order.
    pub fn certificates(&self) -> Vec<Sp<String>> {
        self.certificate.as_ref().map(Sp::all).unwrap_or_default()
    }

    /// Every `public_key` pin, in order.
    pub fn pins(&self) -> Vec<Sp<String>> {
        self.public_key.as_ref().map(Sp::all).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIdentity {
    /// The owner (a key of `[owners]`).
    pub owner: Sp<String>,
    /// What this identity signs, for people reading the inventory.
    #[serde(default)]
    pub purpose: Option<Sp<String>>,
    /// Environments this identity may sign for.
    pub environments: Vec<Sp<String>>,
    /// Where the private key lives; must match the signer given.
    pub custody: Sp<Custody>,
    /// RFC 7512 PKCS#11 URI of the private key (custody `hsm`). Never a PIN.
    #[serde(default)]
    pub key: Option<Sp<String>>,
    /// Path in the repository of the identity's certificate, PEM or DER
    /// (custody `hsm`); or several paths, each certificate valid in its own
    /// window (a renewal lists the successor next to the current one).
    #[serde(default)]
    pub certificate: Option<Sp<OneOrMore>>,
    /// SHA-256 of the certificate's SubjectPublicKeyInfo (`sha256:<hex>`):
    /// pins the key the certificate must carry; or several, one per key
    /// (each listed certificate must carry one of them).
    #[serde(default)]
    pub public_key: Option<Sp<OneOrMore>>,
    /// Renewal window before the certificate's notAfter (`30d`, `12w`, `720h`); default 30d.
    #[serde(default)]
    pub renew_before: Option<Sp<Duration>>,
    /// Sigstore keyless identity (custody `keyless`).
    #[serde(default)]
    pub keyless: Option<Sp<RawKeyless>>,
    /// OpenSSH public key line (custody `unmanaged`).
    #[serde(default)]
    pub ssh_key: Option<Sp<String>>,
    /// Path in the repository of an armoured OpenPGP public key (custody
    /// `unmanaged`): a forge's web-flow key, a release manager's key.
    #[serde(default)]
    pub openpgp_key: Option<Sp<String>>,
    /// An X.509 identity anchored at a certificate authority (custody
    /// `unmanaged`): any certificate for `subject` that chains to `ca` at the
    /// signing time (smimesign and corporate S/MIME certificates).
    #[serde(default)]
    pub x509: Option<Sp<RawX509>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawX509 {
    /// Path in the repository of the trust anchors: one or more CA certificates, PEM (or one DER).
    pub ca: Sp<String>,
    /// Who the certificate must name: a mail address or URI in its subjectAltName, its subject's
    /// emailAddress, or its subject's common name.
    pub subject: Sp<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKeyless {
    /// OIDC issuer URL (https).
    pub issuer: Sp<String>,
    /// The subject the issuer vouches for (a mail address or workflow URI).
    pub subject: Sp<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawException {
    /// A unique id, such as the incident number.
    pub id: Sp<String>,
    /// The identity allowed to sign outside its environments.
    pub identity: Sp<String>,
    /// The environments it may sign for while the exception lasts.
    pub environments: Vec<Sp<String>>,
    /// The owner accountable for the exception.
    pub owner: Sp<String>,
    /// Who approved it (mail addresses).
    pub approved_by: Vec<Sp<String>>,
    /// Why it exists.
    pub reason: Sp<String>,
    /// When it stops applying (RFC 3339 date-time).
    pub expires: Sp<Timestamp>,
    /// Post-event review (a URL or reference); required once the exception has expired.
    #[serde(default)]
    pub review: Option<Sp<String>>,
    /// Failing commit ids the authentication chain may pass through.
    #[serde(default)]
    pub commits: Vec<Sp<String>>,
}

/// Why an identity was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationReason {
    /// The key may be in someone else's hands: with `compromised_since`,
    /// what it signed from then on is invalid.
    KeyCompromise,
    /// A successor key took over.
    Superseded,
    /// The identity is no longer used.
    Retired,
    /// Its owner left (a person, a team, a pipeline taken down).
    Offboarded,
}

impl RevocationReason {
    /// Every reason, in the order the documentation lists them.
    pub const ALL: [RevocationReason; 4] = [
        RevocationReason::KeyCompromise,
        RevocationReason::Superseded,
        RevocationReason::Retired,
        RevocationReason::Offboarded,
    ];

    /// As signing.toml spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::KeyCompromise => "key-compromise",
            RevocationReason::Superseded => "superseded",
            RevocationReason::Retired => "retired",
            RevocationReason::Offboarded => "offboarded",
        }
    }

    /// The reason spelt `s`, as signing.toml spells it.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRevocation {
    /// The revoked identity.
    pub identity: Sp<String>,
    pub reason: Sp<RevocationReason>,
    /// When the revocation took effect (RFC 3339 date-time).
    pub revoked_at: Sp<Timestamp>,
    /// For `key-compromise`: signatures made from this time on are invalid.
    #[serde(default)]
    pub compromised_since: Option<Sp<Timestamp>>,
}
