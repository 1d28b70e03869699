//! What a guard is built from: the issuers with their JWKS URLs (or their OpenID configuration to
//! discover it), the settings and their defaults (one place for every host), and the Cryptr
//! configuration's derivation.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::ConfigError;
use crate::jwk::KeySetOptions;
use crate::keyset_cache::CacheConfig;

/// The default capacity of the verified-token cache, per issuer (0 disables it).
pub const DEFAULT_TOKEN_CACHE_CAPACITY: usize = crate::token_cache::DEFAULT_CAPACITY;
/// The default largest JWKS response body, in bytes (1 MiB).
pub const DEFAULT_MAX_JWKS_BYTES: usize = 1 << 20;
/// The default hard deadline of one JWKS fetch, connection to last body byte, in seconds.
pub const DEFAULT_FETCH_TIMEOUT: u64 = 5;

/// One accepted issuer and where its key set is published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerSource {
    /// The exact `iss` value.
    pub issuer: String,
    /// The JWKS URL, fetched by the host; `None`: discovered from the issuer's OpenID
    /// configuration ([`discovery_url`]), whose `jwks_uri` the guard then fetches.
    pub jwks_url: Option<String>,
}

impl IssuerSource {
    /// An issuer with its JWKS URL.
    pub fn new(issuer: impl Into<String>, jwks_url: impl Into<String>) -> IssuerSource {
        IssuerSource {
            issuer: issuer.into(),
            jwks_url: Some(jwks_url.into()),
        }
    }

    /// An issuer whose JWKS URL is the `jwks_uri` of its OpenID configuration, at
    /// [`discovery_url`]`(issuer)` (OpenID Connect Discovery 1.0). The issuer must then be an
    /// `https` URL (`http` only when allowed) without a query or a fragment, and the document's
    /// `issuer` must equal it exactly.
    pub fn discover(issuer: impl Into<String>) -> IssuerSource {
        IssuerSource {
            issuer: issuer.into(),
            jwks_url: None,
        }
    }
}

/// The URL of an issuer's OpenID configuration: the issuer without its trailing `/`, then
/// `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
///
/// ```
/// use cryptr_guard_core::guard::discovery_url;
///
/// assert_eq!(
///     discovery_url("https://login.example.com/tenant/"),
///     "https://login.example.com/tenant/.well-known/openid-configuration"
/// );
/// ```
pub fn discovery_url(issuer: &str) -> String {
    alloc::format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Checks an issuer whose JWKS URL is discovered: its OpenID configuration's URL is built from
/// it, so it is checked as a URL the guard fetches ([`check_url`]), without a query.
pub fn check_discovery_issuer(issuer: &str, allow_http: bool) -> Result<(), ConfigError> {
    check_url(issuer, allow_http)?;
    if issuer.contains('?') {
        return Err(ConfigError(
            "an issuer whose JWKS URL is discovered must be a URL without a ?query",
        ));
    }
    Ok(())
}

/// How a guard fetches and caches, with the SPEC defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuardSettings {
    /// Options of every key set (minimum RSA size, capacity).
    pub key_set: KeySetOptions,
    /// The key-set cache policy (SPEC §4).
    pub policy: CacheConfig,
    /// Capacity of each issuer's verified-token cache (0 disables it).
    pub token_cache_capacity: usize,
    /// Accept plain `http` JWKS URLs (tests, a demo on loopback).
    pub allow_http: bool,
    /// The hard deadline of one fetch, in seconds (at least 1, at most the policy's
    /// `fetch_timeout`): the host gives up at it, and a check's blocking steps (its fetch, or
    /// its wait for another request's) together take no longer (see [`Check`](super::Check)).
    pub fetch_timeout: u64,
    /// The largest JWKS body accepted, in bytes.
    pub max_jwks_bytes: usize,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            key_set: KeySetOptions::default(),
            policy: CacheConfig::DEFAULT,
            token_cache_capacity: DEFAULT_TOKEN_CACHE_CAPACITY,
            allow_http: false,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            max_jwks_bytes: DEFAULT_MAX_JWKS_BYTES,
        }
    }
}

impl GuardSettings {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.fetch_timeout == 0 {
            return Err(ConfigError(
                "the JWKS fetch timeout must be at least 1 second",
            ));
        }
        if self.fetch_timeout > self.policy.fetch_timeout {
            return Err(ConfigError(
                "the JWKS fetch timeout must not exceed the policy's fetch_timeout",
            ));
        }
        if self.max_jwks_bytes == 0 {
            return Err(ConfigError("the JWKS body limit must be at least 1 byte"));
        }
        Ok(())
    }
}

/// Checks a URL as a guard fetches it: an absolute `https` URL (`http` only when allowed) with a
/// host, no fragment and no whitespace or control characters.
pub fn check_url(url: &str, allow_http: bool) -> Result<(), ConfigError> {
    let rest = strip_scheme(url, allow_http)?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || host.starts_with('@') {
        return Err(ConfigError("the URL has no host"));
    }
    if url.contains('#') {
        return Err(ConfigError("the URL must not have a #fragment"));
    }
    if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(ConfigError(
            "the URL must not contain spaces or control characters",
        ));
    }
    Ok(())
}

fn strip_scheme(url: &str, allow_http: bool) -> Result<&str, ConfigError> {
    let lower = |n: usize| url.get(..n).map(str::to_ascii_lowercase);
    if lower(8).as_deref() == Some("https://") {
        return Ok(url.get(8..).unwrap_or_default());
    }
    if lower(7).as_deref() == Some("http://") {
        return if allow_http {
            Ok(url.get(7..).unwrap_or_default())
        } else {
            Err(ConfigError(
                "the URL is plain http: use https (plain http is only for local tests, when explicitly allowed)",
            ))
        };
    }
    Err(ConfigError("the URL must be an absolute https:// URL"))
}

/// The issuers of a Cryptr configuration (SPEC §1, §8): for every tenant of `tenant_domains`
/// (comma-separated, spaces around names ignored), the issuer `{base_url}/t/{tenant}` and its
/// JWKS URL `{issuer}/.well-known`. Trailing `/` on the base URL are dropped.
///
/// A base URL that is not an absolute `http(s)` URL with a host, or that has a query or a
/// fragment; an empty tenant list; a tenant named twice or with a character other than
/// `A–Z a–z 0–9 - . _ ~`: each is a configuration error (the scheme policy, https unless http
/// is allowed, is the guard's).
///
/// ```
/// use cryptr_guard_core::guard::cryptr_issuers;
///
/// let issuers = cryptr_issuers("https://auth.cryptr.eu/", "acme, globex").unwrap();
/// assert_eq!(issuers[0].issuer, "https://auth.cryptr.eu/t/acme");
/// assert_eq!(
///     issuers[1].jwks_url.as_deref(),
///     Some("https://auth.cryptr.eu/t/globex/.well-known")
/// );
/// ```
pub fn cryptr_issuers(
    base_url: &str,
    tenant_domains: &str,
) -> Result<Vec<IssuerSource>, ConfigError> {
    let base = base_url.trim().trim_end_matches('/');
    strip_scheme(base, true).map_err(|_| {
        ConfigError("the Cryptr base URL must be an absolute URL: https://host[:port][/path]")
    })?;
    check_url(base, true)?;
    if base.contains('?') {
        return Err(ConfigError("the Cryptr base URL must not have a ?query"));
    }
    let mut sources: Vec<IssuerSource> = Vec::new();
    for tenant in tenant_domains.split(',').map(str::trim) {
        if tenant.is_empty() {
            return Err(ConfigError(
                "the tenant domain list has an empty name (give one or more names, comma-separated)",
            ));
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if !tenant.bytes().all(allowed) {
            return Err(ConfigError(
                "a tenant domain may only hold the characters A-Z a-z 0-9 - . _ ~",
            ));
        }
        let issuer = alloc::format!("{base}/t/{tenant}");
        if sources.iter().any(|s| s.issuer == issuer) {
            return Err(ConfigError("the tenant domain list names a tenant twice"));
        }
        let jwks_url = Some(alloc::format!("{issuer}/.well-known"));
        sources.push(IssuerSource { issuer, jwks_url });
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("https://a.example/jwks", false).is_ok());
        assert!(check_url("HTTPS://a.example", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/x", false).is_err());
        assert!(check_url("http://127.0.0.1:8080/x", true).is_ok());
        assert!(check_url("ftp://a", true).is_err());
        assert!(check_url("https://", false).is_err());
        assert!(check_url("https:///path", false).is_err());
        assert!(check_url("https://a/#x", false).is_err());
        assert!(check_url("https://a b/", false).is_err());
        assert!(check_url("/relative", true).is_err());
    }

    #[test]
    fn discovery_urls() {
        assert_eq!(
            discovery_url("https://a.example"),
            "https://a.example/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://a.example/t/x//"),
            "https://a.example/t/x/.well-known/openid-configuration"
        );
        assert!(check_discovery_issuer("https://a.example/t/x", false).is_ok());
        assert!(check_discovery_issuer("http://127.0.0.1:9/x", false).is_err());
        assert!(check_discovery_issuer("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_discovery_issuer("https://a.example/?tenant=x", false).is_err());
        assert!(check_discovery_issuer("acme", true).is_err());
        assert_eq!(IssuerSource::discover("https://a").jwks_url, None);
    }

    #[test]
    fn cryptr_derivation() {
        let one = cryptr_issuers(" https://auth.cryptr.eu// ", "shark-academy").unwrap_or_default();
        assert_eq!(
            one,
            [IssuerSource::new(
                "https://auth.cryptr.eu/t/shark-academy",
                "https://auth.cryptr.eu/t/shark-academy/.well-known"
            )]
        );
        let two = cryptr_issuers("http://127.0.0.1:9/base", "a,b").unwrap_or_default();
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].issuer, "http://127.0.0.1:9/base/t/b");
        for (base, tenants) in [
            ("auth.cryptr.eu", "a"),
            ("https://", "a"),
            ("https://a?x=1", "a"),
            ("https://a", ""),
            ("https://a", "a,,b"),
            ("https://a", "a,a"),
            ("https://a", "a/b"),
            ("https://a", "a b"),
        ] {
            assert!(cryptr_issuers(base, tenants).is_err(), "{base} {tenants}");
        }
    }
}
