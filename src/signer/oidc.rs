//! An OIDC identity token for keyless signing, read before anything is
//! sent: who it says the signer is, as Fulcio will certify it, and whether
//! that is the identity the policy names. The token's signature is Fulcio's
//! to check; sigctl only refuses to send a token that cannot give the
//! identity asked for (another identity, expired, not yet valid), with the
//! claims in words. The token is a bearer credential: it is never printed,
//! and `IdentityToken` has no `Debug` or `Display`.

use base64::Engine;
use serde::Deserialize;
use zeroize::Zeroizing;

/// A token as given (environment, CI, login). Deliberately neither `Debug` nor `Display`.
pub struct IdentityToken {
    raw: Zeroizing<String>,
    claims: Claims,
}

/// What a token says, without the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub audience: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub expires: Option<i64>,
    /// `nbf`, seconds since the epoch.
    pub not_before: Option<i64>,
    /// GitHub Actions: `job_workflow_ref` (`org/repo/.github/workflows/x.yml@refs/…`).
    pub job_workflow_ref: Option<String>,
    /// GitLab CI: `ci_config_ref_uri`.
    pub ci_config_ref_uri: Option<String>,
    /// Sigstore's Dex federates other issuers: `federated_claims.connector_id`.
    pub federated_issuer: Option<String>,
}

#[derive(Deserialize)]
struct RawClaims {
    iss: String,
    sub: String,
    email: Option<String>,
    email_verified: Option<bool>,
    #[serde(default)]
    aud: Audience,
    exp: Option<i64>,
    nbf: Option<i64>,
    job_workflow_ref: Option<String>,
    ci_config_ref_uri: Option<String>,
    federated_claims: Option<Federated>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

#[derive(Deserialize)]
struct Federated {
    connector_id: Option<String>,
}

/// Why a token is not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the identity token is not a JWT sigctl can read: {0}")]
    Malformed(String),
    #[error(
        "the identity token is for {got} but identity `{identity}` is {want}: sign with a token for that identity (token: {claims})"
    )]
    WrongIdentity {
        identity: String,
        got: String,
        want: String,
        claims: String,
    },
    #[error(
        "the identity token is for audience {got}, not `sigstore`: sigctl does not send a token meant for another service to Fulcio (token: {claims})"
    )]
    WrongAudience { got: String, claims: String },
    #[error("the identity token expired at {at} (token: {claims}): get a fresh one")]
    Expired { at: String, claims: String },
    #[error(
        "the identity token is not valid before {at} (token: {claims}): check this machine's clock"
    )]
    NotYetValid { at: String, claims: String },
}

impl TokenError {
    /// A token for another identity, or out of its time: a refusal (exit 1),
    /// not a fault.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, TokenError::Malformed(_))
    }
}

impl IdentityToken {
    /// Read a compact JWT (`header.payload.signature`), trimmed of spaces and
    /// a trailing newline (as a CI variable or a file gives it).
    pub fn from_jwt(jwt: &str) -> Result<Self, TokenError> {
        let raw = Zeroizing::new(jwt.trim().to_owned());
        let mut parts = raw.split('.');
        let (Some(_header), Some(payload), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed(
                "it does not have three dot-separated parts".into(),
            ));
        };
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| TokenError::Malformed("its payload is not base64url".into()))?;
        let c: RawClaims = serde_json::from_slice(&json).map_err(|e| {
            TokenError::Malformed(format!(
                "its payload is not the claims of an identity token ({e})"
            ))
        })?;
        let claims = Claims {
            issuer: c.iss,
            subject: c.sub,
            email: c.email,
            email_verified: c.email_verified,
            audience: match c.aud {
                Audience::One(a) => vec![a],
                Audience::Many(v) => v,
                Audience::None => Vec::new(),
            },
            expires: c.exp,
            not_before: c.nbf,
            job_workflow_ref: c.job_workflow_ref,
            ci_config_ref_uri: c.ci_config_ref_uri,
            federated_issuer: c.federated_claims.and_then(|f| f.connector_id),
        };
        Ok(Self { raw, claims })
    }

    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The token, for the one request that sends it.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// Refuse, before anything is sent, a token that cannot be certified as
    /// `(issuer, subject)` or is out of its time at `now` (seconds).
    pub fn check_for(
        &self,
        identity: &str,
        issuer: &str,
        subject: &str,
        now: i64,
    ) -> Result<(), TokenError> {
        let c = &self.claims;
        let (got_issuer, got_subject) = c.certified_identity();
        if got_issuer != issuer || got_subject != subject {
            return Err(TokenError::WrongIdentity {
                identity: identity.to_owned(),
                got: format!("issuer {got_issuer}, subject {got_subject}"),
                want: format!("issuer {issuer}, subject {subject}"),
                claims: c.describe(),
            });
        }
        // a token for another service would be handed to Fulcio (and to
        // whoever the signing config names): only Sigstore's audience goes
        if !c.audience.iter().any(|a| a == "sigstore") {
            return Err(TokenError::WrongAudience {
                got: if c.audience.is_empty() {
                    "none".to_owned()
                } else {
                    c.audience.join(", ")
                },
                claims: c.describe(),
            });
        }
        if let Some(exp) = c.expires
            && exp <= now
        {
            return Err(TokenError::Expired {
                at: rfc3339(exp),
                claims: c.describe(),
            });
        }
        if let Some(nbf) = c.not_before
            && nbf > now + 60
        {
            return Err(TokenError::NotYetValid {
                at: rfc3339(nbf),
                claims: c.describe(),
            });
        }
        Ok(())
    }
}

impl Claims {
    /// The `(issuer, subject)` Fulcio will write into the certificate, as
    /// `verify` reads them back: a federated issuer's own name; a verified
    /// e-mail; a GitHub Actions or GitLab CI workflow URI; else `sub`.
    pub fn certified_identity(&self) -> (String, String) {
        let issuer = self
            .federated_issuer
            .clone()
            .unwrap_or_else(|| self.issuer.clone());
        let subject = if let Some(w) = &self.job_workflow_ref
            && self.issuer == "https://token.actions.githubusercontent.com"
        {
            format!("https://github.com/{w}")
        } else if let Some(c) = &self.ci_config_ref_uri
            && self.issuer.starts_with("https://gitlab.")
        {
            format!("https://{c}")
        } else if let Some(e) = &self.email
            && self.email_verified != Some(false)
        {
            e.clone()
        } else {
            self.subject.clone()
        };
        (issuer, subject)
    }

    /// Issuer, subject, expiry and audience, for messages.
    pub fn describe(&self) -> String {
        let (issuer, subject) = self.certified_identity();
        format!(
            "issuer {issuer}, subject {subject}, expires {}, audience {}",
            self.expires.map_or_else(|| "never".to_owned(), rfc3339),
            if self.audience.is_empty() {
                "none".to_owned()
            } else {
                self.audience.join(", ")
            }
        )
    }
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token as a test mints it (the signature is Fulcio's to check).
    fn jwt(claims: serde_json::Value) -> String {
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.{}",
            b64(br#"{"alg":"ES256","typ":"JWT"}"#),
            b64(claims.to_string().as_bytes()),
            b64(b"not checked here")
        )
    }

    const NOW: i64 = 1_790_000_000;

    #[test]
    fn an_email_token_is_certified_as_its_verified_email() {
        let t = IdentityToken::from_jwt(&format!(
            "{}\n",
            jwt(serde_json::json!({
                "iss": "https://accounts.google.com", "sub": "1234",
                "email": "sam@example.com", "email_verified": true,
                "aud": "sigstore", "exp": NOW + 300
            }))
        ))
        .expect("a token");
        assert_eq!(
            t.claims().certified_identity(),
            (
                "https://accounts.google.com".to_owned(),
                "sam@example.com".to_owned()
            )
        );
        assert_eq!(
            t.check_for("sam", "https://accounts.google.com", "sam@example.com", NOW),
            Ok(())
        );
        let e = t
            .check_for("ops", "https://accounts.google.com", "ops@example.com", NOW)
            .expect_err("another identity");
        assert!(e.is_refusal());
        let shown = e.to_string();
        assert!(shown.contains("subject sam@example.com"), "{shown}");
        assert!(shown.contains("audience sigstore"), "{shown}");
        // the token itself is never in a message
        assert!(!shown.contains(t.expose()), "{shown}");
    }

    #[test]
    fn ci_tokens_are_certified_as_their_workflow() {
        let gha = IdentityToken::from_jwt(&jwt(serde_json::json!({
            "iss": "https://token.actions.githubusercontent.com",
            "sub": "repo:acme/app:ref:refs/tags/v1.0",
            "job_workflow_ref": "acme/app/.github/workflows/release.yml@refs/tags/v1.0",
            "aud": ["sigstore"], "exp": NOW + 300
        })))
        .expect("a token");
        assert_eq!(
            gha.claims().certified_identity().1,
            "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0"
        );
        let gitlab = IdentityToken::from_jwt(&jwt(serde_json::json!({
            "iss": "https://gitlab.com", "sub": "project_path:acme/app:ref_type:tag:ref:v1.0",
            "ci_config_ref_uri": "gitlab.com/acme/app//.gitlab-ci.yml@refs/tags/v1.0",
            "aud": "sigstore", "exp": NOW + 300
        })))
        .expect("a token");
        assert_eq!(
            gitlab.claims().certified_identity().1,
            "https://gitlab.com/acme/app//.gitlab-ci.yml@refs/tags/v1.0"
        );
        // Sigstore's Dex: the federated issuer is the one certified
        let dex = IdentityToken::from_jwt(&jwt(serde_json::json!({
            "iss": "https://oauth2.sigstore.dev/auth", "sub": "CgQ",
            "email": "sam@example.com", "email_verified": true,
            "federated_claims": {"connector_id": "https://github.com/login/oauth"},
            "aud": "sigstore", "exp": NOW + 300
        })))
        .expect("a token");
        assert_eq!(
            dex.claims().certified_identity(),
            (
                "https://github.com/login/oauth".to_owned(),
                "sam@example.com".to_owned()
            )
        );
    }

    #[test]
    fn expired_early_and_garbage_tokens_are_refused() {
        let claims = |exp: i64, nbf: i64| {
            jwt(serde_json::json!({
                "iss": "https://issuer.example", "sub": "sam", "aud": "sigstore",
                "exp": exp, "nbf": nbf
            }))
        };
        // a token for another service is never handed to Fulcio
        let other = IdentityToken::from_jwt(&jwt(serde_json::json!({
            "iss": "https://issuer.example", "sub": "sam", "aud": ["sts.amazonaws.com"],
            "exp": NOW + 300
        })))
        .expect("a token");
        let e = other
            .check_for("sam", "https://issuer.example", "sam", NOW)
            .expect_err("another audience");
        assert!(
            matches!(e, TokenError::WrongAudience { .. }) && e.is_refusal(),
            "{e}"
        );
        assert!(e.to_string().contains("sts.amazonaws.com"), "{e}");
        let none = IdentityToken::from_jwt(&jwt(serde_json::json!({
            "iss": "https://issuer.example", "sub": "sam", "exp": NOW + 300
        })))
        .expect("a token");
        assert!(matches!(
            none.check_for("sam", "https://issuer.example", "sam", NOW),
            Err(TokenError::WrongAudience { .. })
        ));
        let expired = IdentityToken::from_jwt(&claims(NOW - 1, NOW - 600)).expect("a token");
        let e = expired
            .check_for("sam", "https://issuer.example", "sam", NOW)
            .expect_err("expired");
        assert!(matches!(e, TokenError::Expired { .. }), "{e}");
        let early = IdentityToken::from_jwt(&claims(NOW + 900, NOW + 600)).expect("a token");
        assert!(matches!(
            early.check_for("sam", "https://issuer.example", "sam", NOW),
            Err(TokenError::NotYetValid { .. })
        ));
        // an unverified e-mail is not what Fulcio certifies
        let unverified = IdentityToken::from_jwt(&jwt(serde_json::json!({
            "iss": "https://issuer.example", "sub": "sam", "email": "x@example.com",
            "email_verified": false
        })))
        .expect("a token");
        assert_eq!(unverified.claims().certified_identity().1, "sam");
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "a.!!!.c",
            &format!(
                "a.{}.c",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b"[]")
            ),
        ] {
            let e = IdentityToken::from_jwt(bad).err().expect("refused");
            assert!(!e.is_refusal(), "{bad}: {e}");
        }
    }
}
