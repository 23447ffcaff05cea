//! A Sigstore signing config (`application/vnd.dev.sigstore.signingconfig.v0.2+json`,
//! as the Sigstore project publishes through TUF and sigstore-python embeds):
//! where keyless signing gets its certificate (Fulcio, `caUrls`), its log
//! entry (Rekor, `rekorTlogUrls`), its timestamps (`tsaUrls`) and its
//! interactive login (`oidcUrls`). Committed beside the policy, it is trust
//! material like the trusted root: it decides where a token is sent.

use serde::Deserialize;

const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/// One service endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub url: String,
    pub major_api_version: u32,
    /// RFC 3339 start of validity, as written.
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    pub operator: Option<String>,
}

/// A parsed, checked signing config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningConfig {
    pub ca: Vec<Service>,
    pub oidc: Vec<Service>,
    pub rekor: Vec<Service>,
    pub tsa: Vec<Service>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    media_type: String,
    #[serde(default)]
    ca_urls: Vec<RawService>,
    #[serde(default)]
    oidc_urls: Vec<RawService>,
    #[serde(default)]
    rekor_tlog_urls: Vec<RawService>,
    #[serde(default)]
    tsa_urls: Vec<RawService>,
    rekor_tlog_config: Option<RawSelector>,
    tsa_config: Option<RawSelector>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawService {
    url: String,
    major_api_version: u32,
    valid_for: Option<RawValidity>,
    operator: Option<String>,
}

#[derive(Deserialize)]
struct RawValidity {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
struct RawSelector {
    selector: String,
    count: Option<u32>,
}

impl SigningConfig {
    /// Parse and check: the media type, every URL (https, or http on
    /// loopback for a local stack), every validity time, the selectors.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let raw: RawConfig = serde_json::from_slice(bytes)
            .map_err(|e| format!("is not a Sigstore signing config: {e}"))?;
        if raw.media_type != MEDIA_TYPE {
            return Err(format!(
                "has media type `{}`; sigctl reads `{MEDIA_TYPE}`",
                raw.media_type.chars().take(80).collect::<String>()
            ));
        }
        for (what, sel) in [
            ("rekorTlogConfig", &raw.rekor_tlog_config),
            ("tsaConfig", &raw.tsa_config),
        ] {
            if let Some(s) = sel {
                match s.selector.as_str() {
                    "ANY" | "ALL" => {}
                    "EXACT" if s.count.is_some_and(|c| c > 0) => {}
                    "EXACT" => return Err(format!("{what}: selector EXACT needs a count")),
                    other => {
                        return Err(format!(
                            "{what}: unknown selector `{}` (ANY, ALL or EXACT)",
                            other.chars().take(40).collect::<String>()
                        ));
                    }
                }
            }
        }
        let services = |what: &str, list: Vec<RawService>| -> Result<Vec<Service>, String> {
            list.into_iter()
                .map(|s| {
                    check_url(&s.url).map_err(|e| format!("{what}: {e}"))?;
                    let (from, until) = match s.valid_for {
                        Some(v) => (v.start, v.end),
                        None => (None, None),
                    };
                    for t in [&from, &until].into_iter().flatten() {
                        time::OffsetDateTime::parse(
                            t,
                            &time::format_description::well_known::Rfc3339,
                        )
                        .map_err(|_| format!("{what}: `{t}` is not an RFC 3339 time"))?;
                    }
                    Ok(Service {
                        url: s.url,
                        major_api_version: s.major_api_version,
                        valid_from: from,
                        valid_until: until,
                        operator: s.operator,
                    })
                })
                .collect()
        };
        Ok(Self {
            ca: services("caUrls", raw.ca_urls)?,
            oidc: services("oidcUrls", raw.oidc_urls)?,
            rekor: services("rekorTlogUrls", raw.rekor_tlog_urls)?,
            tsa: services("tsaUrls", raw.tsa_urls)?,
        })
    }

    /// What keyless signing lacks in this config (a Fulcio and a Rekor).
    pub fn keyless_gaps(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.ca.is_empty() {
            out.push("a certificate authority (caUrls)");
        }
        if self.rekor.is_empty() {
            out.push("a transparency log (rekorTlogUrls)");
        }
        out
    }
}

/// `https://host…`, or `http://` to a loopback address (a local stack).
pub fn check_url(url: &str) -> Result<(), String> {
    let shown: String = url.chars().take(120).collect();
    let host_of = |rest: &str| -> String {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        host.to_ascii_lowercase()
    };
    if let Some(rest) = url.strip_prefix("https://") {
        if host_of(rest).is_empty() {
            return Err(format!("`{shown}` names no host"));
        }
        return Ok(());
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host = host_of(rest);
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return Ok(());
        }
        return Err(format!(
            "`{shown}` is plain http to another machine: a token would travel in clear (use https)"
        ));
    }
    Err(format!("`{shown}` is not an https URL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/trust");

    #[test]
    fn the_published_signing_configs_parse() {
        for name in ["sigstore-public-good", "sigstore-staging"] {
            let bytes = std::fs::read(format!("{TESTDATA}/{name}.signing_config.v0.2.json"))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let c = SigningConfig::from_json(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(c.keyless_gaps().is_empty(), "{name}");
            assert!(!c.tsa.is_empty() && !c.oidc.is_empty(), "{name}");
        }
        let good = std::fs::read(format!(
            "{TESTDATA}/sigstore-public-good.signing_config.v0.2.json"
        ))
        .expect("the public-good config");
        let c = SigningConfig::from_json(&good).expect("parses");
        assert_eq!(c.ca[0].url, "https://fulcio.sigstore.dev");
        assert_eq!(c.rekor[0].url, "https://rekor.sigstore.dev");
    }

    #[test]
    fn wrong_media_types_urls_times_and_selectors_are_refused() {
        let good = std::fs::read_to_string(format!(
            "{TESTDATA}/sigstore-public-good.signing_config.v0.2.json"
        ))
        .expect("the public-good config");
        for (from, to, says) in [
            ("signingconfig.v0.2", "signingconfig.v0.1", "media type"),
            (
                "https://fulcio.sigstore.dev",
                "http://fulcio.example.com",
                "in clear",
            ),
            (
                "https://rekor.sigstore.dev",
                "ftp://rekor",
                "not an https URL",
            ),
            ("https://rekor.sigstore.dev", "https://", "names no host"),
            ("2022-04-13T20:06:15.000Z", "yesterday", "RFC 3339"),
            ("\"ANY\"", "\"SOME\"", "unknown selector"),
        ] {
            let bad = good.replacen(from, to, 1);
            assert_ne!(bad, good, "{from}");
            let e = SigningConfig::from_json(bad.as_bytes()).expect_err(from);
            assert!(e.contains(says), "{from}: {e}");
        }
        assert!(SigningConfig::from_json(b"{}").is_err());
        assert!(SigningConfig::from_json(b"garbage").is_err());
        // a local stack on loopback is fine over http
        for local in [
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "http://localhost/x",
        ] {
            let c = good.replacen("https://fulcio.sigstore.dev", local, 1);
            assert!(SigningConfig::from_json(c.as_bytes()).is_ok(), "{local}");
        }
        // a name that only looks like a loopback address is another machine
        let named = good.replacen(
            "https://fulcio.sigstore.dev",
            "http://127.0.0.1.evil.example",
            1,
        );
        assert!(SigningConfig::from_json(named.as_bytes()).is_err());
        // no Fulcio: parses, but keyless signing has a gap
        let no_ca = good.replacen("\"caUrls\"", "\"unusedCaUrls\"", 1);
        let c = SigningConfig::from_json(no_ca.as_bytes()).expect("parses");
        assert_eq!(c.keyless_gaps(), ["a certificate authority (caUrls)"]);
    }
}
