//! Sigstore keyless signing: an OIDC identity token buys a short-lived
//! Fulcio certificate for an ephemeral P-256 key that exists in this
//! process's memory only; every signature made with it is entered in Rekor,
//! and may be timestamped by an RFC 3161 TSA.
//!
//! The sigstore-rust clients do the talking (their API is async: one
//! current-thread runtime per session). sigctl checks what comes back before
//! it is used: the certificate carries this key, names the identity the
//! policy expects and chains to the policy's trusted root; the Rekor entry
//! is over exactly what was signed and its signed entry timestamp verifies
//! with a log key of the trusted root; a timestamp is over the signature.
//!
//! Nothing here prints, prompts or reads the environment. No error text
//! holds the token.

use std::time::Duration;

use sigstore_sign::rekor::{HashedRekord, RekorClient};
use sigstore_sign::reqwest;
use sigstore_sign::tsa::TimestampClient;
use sigstore_sign::types::{KindVersion, SignatureBytes, TransparencyLogEntry};
use time::OffsetDateTime;

use super::oidc::IdentityToken;
use crate::signature::fulcio::{self, TrustedRoot};
use crate::signature::rekor;
use crate::signature::signing_config::{Service, SigningConfig};

/// How long sigctl waits for Fulcio, Rekor, a TSA or an OIDC provider to
/// answer, unless told otherwise (`SIGCTL_SIGSTORE_TIMEOUT`, seconds).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why keyless signing (or a timestamp) failed. Every message names the
/// service and what it did; none holds the identity token.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum KeylessError {
    #[error("the signing config names no usable {what} valid now")]
    #[diagnostic(
        code(no_service),
        help(
            "add one to the signing config signing.toml's [sigstore] names (the public-good one lists Fulcio, Rekor, a TSA and the OIDC provider)"
        )
    )]
    NoService { what: &'static str },

    #[error("{service} at {url} did not answer within {secs} s")]
    #[diagnostic(
        code(sigstore_timeout),
        help(
            "try again, or allow longer with SIGCTL_SIGSTORE_TIMEOUT=<seconds>; nothing was written"
        )
    )]
    Timeout {
        service: &'static str,
        url: String,
        secs: u64,
    },

    #[error("{service} at {url} failed: {message}")]
    #[diagnostic(
        code(sigstore_unavailable),
        help("nothing was written; try again later")
    )]
    Service {
        service: &'static str,
        url: String,
        message: String,
    },

    #[error("{service} at {url} answered with something that is not {what}: {message}")]
    #[diagnostic(
        code(sigstore_bad_answer),
        help("the service is not a working {service}, or not the one the signing config means")
    )]
    BadAnswer {
        service: &'static str,
        url: String,
        what: &'static str,
        message: String,
    },

    #[error(
        "Fulcio issued a certificate for {got}, not for {want}: the identity token and the policy disagree"
    )]
    #[diagnostic(code(certificate_identity))]
    CertificateIdentity { got: String, want: String },

    #[error(
        "Fulcio's certificate does not chain to the trusted root signing.toml names ({why}): it is another instance's, or the trusted root is out of date"
    )]
    #[diagnostic(code(certificate_untrusted))]
    Untrusted { why: String },

    #[error("the Rekor entry does not match what was signed: {why}")]
    #[diagnostic(
        code(log_entry_mismatch),
        help("the log answered for other bytes; nothing was written")
    )]
    LogMismatch { why: String },

    #[error("the Rekor entry cannot be trusted: {why}")]
    #[diagnostic(code(log_entry_untrusted))]
    LogUntrusted { why: String },

    #[error("cannot make an ephemeral key: {0}")]
    #[diagnostic(code(ephemeral_key))]
    Key(String),
}

/// The endpoints one signing uses, chosen from a signing config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services {
    pub fulcio: String,
    pub rekor: String,
    pub tsa: Option<String>,
    pub oidc: Option<String>,
}

fn valid_now(s: &Service, now: OffsetDateTime) -> bool {
    let parse = |t: &Option<String>| {
        t.as_deref().and_then(|t| {
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    parse(&s.valid_from).is_none_or(|from| from <= now)
        && parse(&s.valid_until).is_none_or(|until| now < until)
}

fn pick(list: &[Service], versions: &[u32], now: OffsetDateTime) -> Option<String> {
    list.iter()
        .filter(|s| versions.contains(&s.major_api_version) && valid_now(s, now))
        // the newest start first, as the Sigstore clients choose
        .max_by(|a, b| a.valid_from.cmp(&b.valid_from))
        .map(|s| s.url.trim_end_matches('/').to_owned())
}

impl Services {
    /// Fulcio (API v1 or v2 services both answer /api/v2), a Rekor v1 log,
    /// and a TSA and an OIDC provider when listed.
    pub fn from_config(cfg: &SigningConfig, now: OffsetDateTime) -> Result<Self, KeylessError> {
        Ok(Self {
            fulcio: pick(&cfg.ca, &[1, 2], now).ok_or(KeylessError::NoService {
                what: "certificate authority (caUrls)",
            })?,
            rekor: pick(&cfg.rekor, &[1], now).ok_or(KeylessError::NoService {
                what: "Rekor v1 transparency log (rekorTlogUrls with majorApiVersion 1)",
            })?,
            tsa: Self::tsa_of(cfg, now),
            oidc: pick(&cfg.oidc, &[1], now),
        })
    }

    /// The TSA a signing config lists, valid now.
    pub fn tsa_of(cfg: &SigningConfig, now: OffsetDateTime) -> Option<String> {
        pick(&cfg.tsa, &[1], now)
    }
}

/// A runtime and an HTTP client with sigctl's timeout, for one command.
pub struct Net {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    timeout: Duration,
}

impl Services {
    /// Whether any endpoint is https (else all are http on loopback, which
    /// the signing config allows for a local stack).
    pub fn any_https(&self) -> bool {
        [
            Some(&self.fulcio),
            Some(&self.rekor),
            self.tsa.as_ref(),
            self.oidc.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(|u| u.starts_with("https://"))
    }
}

impl Net {
    /// `tls`: whether any endpoint is https. Without, the client loads no
    /// certificate roots (reading the system's store costs more than the
    /// whole signature against a local stack).
    pub fn new(timeout: Duration, tls: bool) -> Result<Self, KeylessError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| KeylessError::Key(format!("cannot start the network runtime: {e}")))?;
        // sigctl's own deadline (below) fires first and says so; the
        // client's is a backstop (its error text loses the cause)
        let mut builder = reqwest::Client::builder()
            .timeout(timeout + Duration::from_secs(5))
            .connect_timeout(timeout + Duration::from_secs(5))
            .user_agent(concat!("sigctl/", env!("CARGO_PKG_VERSION")));
        if !tls {
            builder = builder.tls_certs_only(Vec::new());
        }
        let http = builder
            .build()
            .map_err(|e| KeylessError::Key(format!("cannot start the HTTP client: {e}")))?;
        Ok(Self { rt, http, timeout })
    }

    /// Run one request to `service` at `url`, within the timeout.
    fn call<T, E: std::fmt::Display>(
        &self,
        service: &'static str,
        url: &str,
        secret: Option<&str>,
        fut: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, KeylessError> {
        let timeout = self.timeout;
        let outcome = self
            .rt
            .block_on(async { tokio::time::timeout(timeout, fut).await });
        match outcome {
            Err(_) => Err(KeylessError::Timeout {
                service,
                url: url.to_owned(),
                secs: timeout.as_secs(),
            }),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let message = clean_message(&e.to_string(), secret);
                if message.contains("operation timed out") || message.contains("TimedOut") {
                    return Err(KeylessError::Timeout {
                        service,
                        url: url.to_owned(),
                        secs: timeout.as_secs(),
                    });
                }
                Err(KeylessError::Service {
                    service,
                    url: url.to_owned(),
                    message,
                })
            }
        }
    }
}

/// A service's error text as sigctl shows it: the token masked if a server
/// echoed it, control characters dropped, at most 300 characters.
fn clean_message(text: &str, secret: Option<&str>) -> String {
    let mut t = text.to_owned();
    if let Some(s) = secret.filter(|s| !s.is_empty()) {
        t = t.replace(s, "[identity token]");
    }
    // anything shaped like a JWT
    let masked: Vec<String> = t
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .filter(|w| w.starts_with("eyJ") && w.matches('.').count() >= 2)
        .map(str::to_owned)
        .collect();
    for w in masked {
        t = t.replace(&w, "[token]");
    }
    let t: String = t
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = t.chars().take(300).collect();
    if t.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// A Rekor entry made for one signature, checked.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The entry as gitsign embeds it in CMS (no body).
    pub entry: rekor::LogEntry,
    /// The entry as a Sigstore bundle carries it (with its body).
    pub bundle_entry: TransparencyLogEntry,
    /// The time the log vouches for (its signed entry timestamp verified).
    pub integrated_time: OffsetDateTime,
}

/// One keyless signing session: the ephemeral key and its certificate.
pub struct Session {
    net: Net,
    key: p256::ecdsa::SigningKey,
    /// The key's SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
    /// The SEC1 point (for RustCrypto verifying keys).
    pub point: Vec<u8>,
    /// The Fulcio leaf certificate, DER.
    pub leaf: Vec<u8>,
    /// The rest of the chain Fulcio sent, DER.
    pub chain: Vec<Vec<u8>>,
    pub issuer: String,
    pub subject: String,
    services: Services,
    logs: Vec<rekor::LogKey>,
}

impl Session {
    /// Make the ephemeral key, get its certificate for `token`, and check it
    /// names `(issuer, subject)` and chains to `root` now.
    pub fn start(
        net: Net,
        services: &Services,
        token: &IdentityToken,
        (issuer, subject): (&str, &str),
        root: &TrustedRoot,
        now: OffsetDateTime,
    ) -> Result<Self, KeylessError> {
        // the ephemeral key: the OS's randomness, RustCrypto's ECDSA
        // (RFC 6979 nonces), in this process's memory only
        let key = ephemeral_key()?;
        let vk = key.verifying_key();
        let spki = {
            use p256::pkcs8::EncodePublicKey;
            vk.to_public_key_der()
                .map_err(|e| KeylessError::Key(e.to_string()))?
                .as_bytes()
                .to_vec()
        };
        let point = vk.to_sec1_point(false).as_bytes().to_vec();
        let fulcio_url = &services.fulcio;
        let mut ders = net.call(
            "Fulcio",
            fulcio_url,
            Some(token.expose()),
            request_certificate(&net, fulcio_url, token, &key, &spki),
        )?;
        if ders.is_empty() {
            return Err(KeylessError::BadAnswer {
                service: "Fulcio",
                url: fulcio_url.clone(),
                what: "a certificate chain",
                message: "no certificate".into(),
            });
        }
        let leaf = ders.remove(0);
        let facts = crate::signature::x509::parse(&leaf).map_err(|e| KeylessError::BadAnswer {
            service: "Fulcio",
            url: fulcio_url.clone(),
            what: "a certificate",
            message: e.to_string(),
        })?;
        let ours = crate::signature::x509::hex(&crate::sign::sha2_256(&spki));
        if facts.public_key_sha256 != ours {
            return Err(KeylessError::BadAnswer {
                service: "Fulcio",
                url: fulcio_url.clone(),
                what: "a certificate for the key it was asked to certify",
                message: format!(
                    "it certifies key sha256:{}, not sha256:{ours}",
                    facts.public_key_sha256
                ),
            });
        }
        let id = fulcio::identity(&leaf).map_err(|e| KeylessError::BadAnswer {
            service: "Fulcio",
            url: fulcio_url.clone(),
            what: "a Fulcio certificate",
            message: e,
        })?;
        let got_issuer = id.issuer.unwrap_or_default();
        if got_issuer != issuer || id.subject != subject {
            return Err(KeylessError::CertificateIdentity {
                got: format!("issuer {got_issuer}, subject {}", id.subject),
                want: format!("issuer {issuer}, subject {subject}"),
            });
        }
        // Fulcio's clock may run a little ahead of ours: the certificate
        // is judged from when it starts, within five minutes of now
        let at = if facts.not_before > now && facts.not_before - now < time::Duration::minutes(5) {
            facts.not_before
        } else {
            now
        };
        fulcio::verify_chain(&leaf, &ders, root, at)
            .map_err(|why| KeylessError::Untrusted { why })?;
        Ok(Self {
            net,
            key,
            spki,
            point,
            leaf,
            chain: ders,
            issuer: got_issuer,
            subject: id.subject,
            services: services.clone(),
            logs: root.tlogs.clone(),
        })
    }

    /// An ECDSA P-256 signature (DER) over `message` (hashed with SHA-256).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeylessError> {
        use signature::Signer;
        let sig: p256::ecdsa::DerSignature = self
            .key
            .try_sign(message)
            .map_err(|e| KeylessError::Key(e.to_string()))?;
        Ok(sig.as_bytes().to_vec())
    }

    /// An ECDSA P-256 signature (DER) over a SHA-256 digest.
    pub fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, KeylessError> {
        use signature::hazmat::PrehashSigner;
        let sig: p256::ecdsa::Signature = self
            .key
            .sign_prehash(digest)
            .map_err(|e| KeylessError::Key(e.to_string()))?;
        Ok(sig.to_der().as_bytes().to_vec())
    }

    /// Enter `signature` over `digest` (SHA-256) in Rekor as a hashedrekord
    /// with the certificate, and check the answer: the entry's body is what
    /// was sent, its signed entry timestamp verifies with a log key of the
    /// trusted root, and its time lies within the certificate's validity.
    pub fn log(&self, digest: &[u8], signature: &[u8]) -> Result<Logged, KeylessError> {
        let url = &self.services.rekor;
        let body = rekor::hashedrekord_body(digest, signature, &self.leaf);
        let request: HashedRekord =
            serde_json::from_slice(&body).map_err(|e| KeylessError::Key(e.to_string()))?;
        let client = RekorClient::builder(url.as_str())
            .with_http_client(self.net.http.clone())
            .build()
            .map_err(|e| KeylessError::Key(e.to_string()))?;
        let answer = self
            .net
            .call("Rekor", url, None, client.create_entry(request))?;
        let bad = |message: String| KeylessError::BadAnswer {
            service: "Rekor",
            url: url.clone(),
            what: "a log entry",
            message,
        };
        let bundle_entry = answer
            .to_bundle_entry(KindVersion::HashedRekordV001)
            .map_err(|e| bad(e.to_string()))?;
        let entry = entry_of(&bundle_entry).map_err(bad)?;
        let logged_body = bundle_entry.canonicalized_body.as_bytes();
        if logged_body != body.as_slice() {
            let why = match serde_json::from_slice::<serde_json::Value>(logged_body) {
                Ok(v) => format!(
                    "the log holds a {} entry over sha256 {}",
                    v.pointer("/kind").and_then(|k| k.as_str()).unwrap_or("?"),
                    v.pointer("/spec/data/hash/value")
                        .and_then(|k| k.as_str())
                        .unwrap_or("?")
                ),
                Err(_) => "the log's entry body is not the one sent".to_owned(),
            };
            return Err(KeylessError::LogMismatch { why });
        }
        let at = match rekor::verify(&entry.encode(), &body, &self.logs) {
            Ok(Some(at)) => at,
            Ok(None) => {
                return Err(KeylessError::LogUntrusted {
                    why: format!(
                        "log id {} is not a log of the trusted root signing.toml names",
                        crate::signature::x509::hex(&entry.key_id)
                    ),
                });
            }
            Err(why) => return Err(KeylessError::LogUntrusted { why }),
        };
        let facts = crate::signature::x509::parse(&self.leaf)
            .map_err(|e| KeylessError::Key(e.to_string()))?;
        if at < facts.not_before || at > facts.not_after {
            return Err(KeylessError::LogUntrusted {
                why: format!(
                    "its integrated time {} lies outside the certificate's validity",
                    crate::policy::timestamp::Timestamp(at)
                ),
            });
        }
        Ok(Logged {
            entry,
            bundle_entry,
            integrated_time: at,
        })
    }

    /// An RFC 3161 timestamp over `signature` from the signing config's
    /// TSA, if it lists one.
    pub fn timestamp(&self, signature: &[u8]) -> Result<Option<Vec<u8>>, KeylessError> {
        match &self.services.tsa {
            Some(url) => timestamp(&self.net, url, signature).map(Some),
            None => Ok(None),
        }
    }
}

/// A P-256 key from the OS's random numbers.
fn ephemeral_key() -> Result<p256::ecdsa::SigningKey, KeylessError> {
    for _ in 0..8 {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(bytes.as_mut())
            .map_err(|e| KeylessError::Key(format!("no randomness from the OS: {e}")))?;
        // out of range (about 2^-32 of draws): draw again
        if let Ok(k) = p256::ecdsa::SigningKey::from_slice(bytes.as_ref()) {
            return Ok(k);
        }
    }
    Err(KeylessError::Key("the OS's randomness looks broken".into()))
}

/// The most of a Fulcio answer sigctl reads.
const MAX_FULCIO_ANSWER: usize = 1 << 20;

/// Fulcio v2 `signingCert`: the token, the public key as PEM, and the proof
/// of possession (a signature over the token's e-mail, else its subject, as
/// the Sigstore clients send it); the chain back as DER, leaf first.
async fn request_certificate(
    net: &Net,
    url: &str,
    token: &IdentityToken,
    key: &p256::ecdsa::SigningKey,
    spki: &[u8],
) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine;
    use signature::Signer;
    let b64 = &base64::engine::general_purpose::STANDARD;
    let claims = token.claims();
    let proved = claims.email.as_deref().unwrap_or(&claims.subject);
    let pop: p256::ecdsa::DerSignature =
        key.try_sign(proved.as_bytes()).map_err(|e| e.to_string())?;
    let pem = der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, spki)
        .map_err(|e| e.to_string())?;
    let body = serde_json::json!({
        "credentials": { "oidcIdentityToken": token.expose() },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": pem },
            "proofOfPossession": b64.encode(pop.as_bytes()),
        },
    });
    let response = net
        .http
        .post(format!("{url}/api/v2/signingCert"))
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("HTTP error: {e}"))?;
    let status = response.status();
    // a certificate chain is a few KiB: a server sending more is not read on
    let mut response = response;
    let mut text = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("HTTP error: {e}"))?
    {
        text.extend_from_slice(&chunk);
        if text.len() > MAX_FULCIO_ANSWER {
            return Err(format!(
                "invalid Fulcio response: more than {MAX_FULCIO_ANSWER} bytes"
            ));
        }
    }
    if !status.is_success() {
        return Err(format!(
            "HTTP {}: {}",
            status.as_u16(),
            String::from_utf8_lossy(&text[..text.len().min(600)])
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| format!("invalid Fulcio response: not JSON ({e})"))?;
    let chain = v
        .pointer("/signedCertificateEmbeddedSct/chain/certificates")
        .or_else(|| v.pointer("/signedCertificateDetachedSct/chain/certificates"))
        .and_then(|c| c.as_array())
        .ok_or("invalid Fulcio response: no certificate chain")?;
    chain
        .iter()
        .map(|c| {
            let pem = c
                .as_str()
                .ok_or("invalid Fulcio response: a certificate is not PEM")?;
            certificate_pem(pem).ok_or_else(|| {
                "invalid Fulcio response: a certificate is not PEM `CERTIFICATE`".to_owned()
            })
        })
        .collect()
}

/// The DER of one PEM `CERTIFICATE`, whatever its line breaks (CRLF, long
/// lines: Fulcio instances differ).
fn certificate_pem(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN CERTIFICATE-----")?
        .trim_end()
        .strip_suffix("-----END CERTIFICATE-----")?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Shows a person where to log in, and reads back the code the provider
/// shows them (out-of-band OAuth: sigctl opens no browser and listens on no
/// port). The front-end writes to the terminal or stderr, never stdout.
pub trait LoginPrompt {
    fn show_url(&self, url: &str);
    fn read_code(&self) -> Option<String>;
}

struct Callback<'a>(&'a dyn LoginPrompt);

impl sigstore_sign::oidc::templates::HtmlTemplates for Callback<'_> {
    fn success_html(&self) -> &str {
        "sigctl: logged in; return to the terminal"
    }
    fn error_html(&self, _error: &str) -> String {
        "sigctl: login failed; return to the terminal".into()
    }
}

impl sigstore_sign::oidc::oauth::AuthCallback for Callback<'_> {
    fn auth_url_ready(&self, url: &str, _mode: sigstore_sign::oidc::oauth::AuthMode) {
        self.0.show_url(url);
    }
    fn prompt_for_code(&self) -> std::io::Result<sigstore_sign::oidc::token::SecretString> {
        self.0
            .read_code()
            .map(sigstore_sign::oidc::token::SecretString::new)
            .ok_or_else(|| std::io::Error::other("no code was entered"))
    }
}

/// Where an identity token came from (for messages; never the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOrigin {
    Environment,
    Ambient,
    Login,
}

impl std::fmt::Display for TokenOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenOrigin::Environment => "SIGSTORE_ID_TOKEN",
            TokenOrigin::Ambient => "the CI's ambient identity",
            TokenOrigin::Login => "an interactive login",
        })
    }
}

/// Why no identity token could be had.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum NoToken {
    #[error(
        "no identity token: SIGSTORE_ID_TOKEN is not set, no CI identity was found, and there is no terminal to log in on"
    )]
    #[diagnostic(
        code(no_identity_token),
        help(
            "set SIGSTORE_ID_TOKEN, or run in GitHub Actions with `permissions: id-token: write`, or in GitLab CI with `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`, or on a terminal"
        )
    )]
    Nowhere,
    #[error(transparent)]
    #[diagnostic(transparent)]
    Service(#[from] KeylessError),
}

impl Net {
    /// An identity token: `env` (SIGSTORE_ID_TOKEN) if given, else the CI's
    /// ambient identity (GitHub Actions, GitLab, Buildkite, CircleCI), else
    /// an interactive login at `oidc_url` through `prompt`.
    pub fn identity_token(
        &self,
        env: Option<String>,
        oidc_url: Option<&str>,
        prompt: Option<&dyn LoginPrompt>,
    ) -> Result<(String, TokenOrigin), NoToken> {
        if let Some(t) = env.filter(|t| !t.trim().is_empty()) {
            return Ok((t.trim().to_owned(), TokenOrigin::Environment));
        }
        let ambient = self.call(
            "the CI's identity service",
            "(ambient)",
            None,
            sigstore_sign::oidc::IdentityToken::detect_ambient(),
        )?;
        if let Some(t) = ambient {
            return Ok((t.expose_secret().to_owned(), TokenOrigin::Ambient));
        }
        let (Some(url), Some(prompt)) = (oidc_url, prompt) else {
            return Err(NoToken::Nowhere);
        };
        let client = sigstore_sign::oidc::OAuthClient::with_http_client(
            sigstore_sign::oidc::OAuthConfig::dex(url),
            self.http.clone(),
        );
        let options = sigstore_sign::oidc::oauth::AuthOptions::new().with_force_oob(true);
        // a person types: no timeout but the provider's
        let token = self
            .rt
            .block_on(client.authenticate_with_options(Callback(prompt), options))
            .map_err(|e| KeylessError::Service {
                service: "the OIDC provider",
                url: url.to_owned(),
                message: clean_message(&e.to_string(), None),
            })?;
        Ok((token.expose_secret().to_owned(), TokenOrigin::Login))
    }
}

/// An RFC 3161 TimeStampResp (DER) over SHA-256(`signature`) from the TSA
/// at `url`; the client checks the imprint and the nonce.
pub fn timestamp(net: &Net, url: &str, signature: &[u8]) -> Result<Vec<u8>, KeylessError> {
    let client = TimestampClient::builder(url)
        .with_http_client(net.http.clone())
        .build()
        .map_err(|e| KeylessError::Key(e.to_string()))?;
    let sig = SignatureBytes::new(signature.to_vec());
    let token = net.call("the TSA", url, None, client.timestamp_signature(&sig))?;
    Ok(token.as_bytes().to_vec())
}

/// The TimeStampToken (a CMS ContentInfo) inside a TimeStampResp, for the
/// CMS unsigned attribute id-aa-timeStampToken.
pub fn token_of_response(resp: &[u8]) -> Option<Vec<u8>> {
    use crate::signature::der_tlv;
    let (tag, header, whole) = der_tlv::element(resp)?;
    if tag != 0x30 {
        return None;
    }
    let body = &whole[header..];
    let (_, _, status) = der_tlv::element(body)?;
    let (tag, _, token) = der_tlv::element(&body[status.len()..])?;
    (tag == 0x30).then(|| token.to_vec())
}

/// sigctl's embedded form of a bundle's log entry.
fn entry_of(e: &TransparencyLogEntry) -> Result<rekor::LogEntry, String> {
    use base64::Engine;
    let v = serde_json::to_value(e).map_err(|e| e.to_string())?;
    let b64 = |p: &str| -> Result<Vec<u8>, String> {
        let s = v
            .pointer(p)
            .and_then(|s| s.as_str())
            .ok_or_else(|| format!("no {p}"))?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("{p}: {e}"))
    };
    let int = |p: &str| -> Result<i64, String> {
        match v.pointer(p) {
            Some(serde_json::Value::String(s)) => s.parse().map_err(|_| format!("{p}: `{s}`")),
            Some(serde_json::Value::Number(n)) => n.as_i64().ok_or_else(|| format!("{p}: {n}")),
            _ => Err(format!("no {p}")),
        }
    };
    let proof = match v.pointer("/inclusionProof") {
        Some(_) => Some(rekor::InclusionProof {
            log_index: int("/inclusionProof/logIndex")?,
            root_hash: b64("/inclusionProof/rootHash")?,
            tree_size: int("/inclusionProof/treeSize")?,
            hashes: v
                .pointer("/inclusionProof/hashes")
                .and_then(|h| h.as_array())
                .into_iter()
                .flatten()
                .filter_map(|h| h.as_str())
                .map(|h| {
                    base64::engine::general_purpose::STANDARD
                        .decode(h)
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<_, _>>()?,
            checkpoint: v
                .pointer("/inclusionProof/checkpoint/envelope")
                .and_then(|c| c.as_str())
                .unwrap_or_default()
                .to_owned(),
        }),
        None => None,
    };
    Ok(rekor::LogEntry {
        log_index: int("/logIndex")?,
        key_id: b64("/logId/keyId")?,
        kind: "hashedrekord".into(),
        version: "0.0.1".into(),
        integrated_time: int("/integratedTime")?,
        set: b64("/inclusionPromise/signedEntryTimestamp")?,
        proof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_echoing_the_token_does_not_get_it_shown() {
        let secret = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        let shown = clean_message(&format!("bad token {secret}\n(retry)"), Some(secret));
        assert!(!shown.contains(secret), "{shown}");
        let other = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ5In0.";
        let shown = clean_message(&format!("got \"{other}\""), None);
        assert!(!shown.contains(other), "{shown}");
        assert!(!shown.contains('\n'));
    }

    #[test]
    fn a_response_without_a_token_has_none() {
        // status granted, then a token SEQUENCE
        let resp = [
            0x30, 0x09, 0x30, 0x03, 0x02, 0x01, 0x00, 0x30, 0x02, 0x05, 0x00,
        ];
        assert_eq!(token_of_response(&resp), Some(vec![0x30, 0x02, 0x05, 0x00]));
        let rejected = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02];
        assert_eq!(token_of_response(&rejected), None);
    }
}
