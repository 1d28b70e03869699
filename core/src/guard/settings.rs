//! The `CRYPTR_*` settings every host reads (environment variables, Flask's `app.config`,
//! Django's `settings.py`), parsed and checked once, with errors that name the setting.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::Guard;
use super::config::{
    GuardSettings, IssuerSource, check_discovery_issuer, check_url, cryptr_issuers,
};
use crate::claims::RequiredClaims;
use crate::error::ConfigError;
use crate::options::{Options, Profile};

/// A setting with a value that cannot be used, or a combination of settings that cannot work:
/// `key` names the setting, `problem` says what is wrong and what is expected. Neither contains
/// the value (a URL or an id may be a secret in some deployments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingError {
    /// The setting, e.g. `CRYPTR_LEEWAY`.
    pub key: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)
    }
}

impl core::error::Error for SettingError {}

/// Every setting a host reads through [`HostConfig::from_settings`], with its meaning. Hosts
/// list it in their documentation and `--help`.
pub const SETTINGS: &[(&str, &str)] = &[
    (
        "CRYPTR_BASE_URL",
        "Cryptr base URL, e.g. https://auth.cryptr.eu (with CRYPTR_TENANT_DOMAIN)",
    ),
    (
        "CRYPTR_TENANT_DOMAIN",
        "one or more tenant (organization) domains, comma-separated: each is an issuer {base}/t/{tenant} with its key set at {issuer}/.well-known",
    ),
    (
        "CRYPTR_ISSUER",
        "instead of the two above: one or more issuers, comma-separated; without CRYPTR_JWKS_URL, each issuer's key set is at the jwks_uri of its OpenID configuration, {issuer}/.well-known/openid-configuration, whose issuer must be the same, exactly",
    ),
    (
        "CRYPTR_JWKS_URL",
        "with CRYPTR_ISSUER: the JWKS URL of each issuer, comma-separated, in the same order (no discovery then)",
    ),
    (
        "CRYPTR_AUDIENCE",
        "accepted audiences, comma-separated (CRYPTR_AUDIENCE or CRYPTR_CLIENT_IDS is required)",
    ),
    (
        "CRYPTR_CLIENT_IDS",
        "accepted OAuth client ids, comma-separated: they accept tokens whose aud is empty (Cryptr v3)",
    ),
    (
        "CRYPTR_PROFILE",
        "cryptr (default: Cryptr v1 and v3 tokens) or rfc",
    ),
    (
        "CRYPTR_LEEWAY",
        "clock skew allowed on exp, nbf, iat, in whole seconds (default 0)",
    ),
    (
        "CRYPTR_MAX_LIFETIME",
        "the furthest in the future an exp may lie, in seconds, or none (default: 30 days in the cryptr profile, none in rfc)",
    ),
    (
        "CRYPTR_REQUIRED_CLAIMS",
        "claims that must be present, comma-separated among exp, nbf, iat, iss, sub, aud, jti (default: the profile's)",
    ),
    (
        "CRYPTR_TYP",
        "the header typ required, e.g. at+jwt (default: not checked)",
    ),
    (
        "CRYPTR_MAX_TOKEN_LEN",
        "the longest token accepted, in bytes (default 8192)",
    ),
    (
        "CRYPTR_MIN_RSA_BITS",
        "the smallest RSA key accepted, 1024 to 8192 bits (default 2048)",
    ),
    (
        "CRYPTR_ALLOW_HTTP",
        "accept plain http URLs (JWKS URLs, issuers discovered and their jwks_uri), for local tests only (default false)",
    ),
    (
        "CRYPTR_JWKS_TIMEOUT",
        "the hard deadline of one JWKS fetch, 1 to 30 seconds (default 5)",
    ),
    (
        "CRYPTR_JWKS_MAX_BYTES",
        "the largest JWKS body accepted, in bytes (default 1048576)",
    ),
    (
        "CRYPTR_TOKEN_CACHE_SIZE",
        "verified tokens cached per issuer, 0 disables the cache (default 10000)",
    ),
];

/// Older names that keep working: (current name, older name). The current name wins when both
/// are set.
pub const ALIASES: &[(&str, &str)] = &[
    ("CRYPTR_ISSUER", "CRYPTR_GUARD_ISSUER"),
    ("CRYPTR_JWKS_URL", "CRYPTR_GUARD_JWKS_URL"),
    ("CRYPTR_AUDIENCE", "CRYPTR_AUDIENCES"),
    ("CRYPTR_AUDIENCE", "CRYPTR_GUARD_ALLOWED_AUDIENCES"),
    ("CRYPTR_LEEWAY", "CRYPTR_GUARD_LEEWAY"),
    ("CRYPTR_MIN_RSA_BITS", "CRYPTR_GUARD_MIN_RSA_BITS"),
    ("CRYPTR_ALLOW_HTTP", "CRYPTR_GUARD_ALLOW_HTTP"),
    ("CRYPTR_JWKS_TIMEOUT", "CRYPTR_GUARD_JWKS_TIMEOUT"),
    ("CRYPTR_JWKS_MAX_BYTES", "CRYPTR_GUARD_JWKS_MAX_BYTES"),
    ("CRYPTR_TOKEN_CACHE_SIZE", "CRYPTR_GUARD_TOKEN_CACHE"),
];

/// A boolean setting as every host reads it: `1`, `true`, `yes`, `on` or `0`, `false`, `no`,
/// `off`, ASCII-case-insensitive, spaces around ignored; anything else is `None`.
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.trim();
    let is = |word: &str| v.eq_ignore_ascii_case(word);
    if is("1") || is("true") || is("yes") || is("on") {
        Some(true)
    } else if is("0") || is("false") || is("no") || is("off") {
        Some(false)
    } else {
        None
    }
}

/// A whole number setting: ASCII digits only (spaces around ignored), no sign.
pub fn parse_count(value: &str) -> Option<u64> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// A comma-separated list: items trimmed, empty items dropped.
pub fn parse_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(String::from)
        .collect()
}

/// What a host builds its [`Guard`] from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    /// The validation options.
    pub options: Options,
    /// The issuers with their JWKS URLs (or none, for discovery).
    pub sources: Vec<IssuerSource>,
    /// Fetching and caching.
    pub settings: GuardSettings,
}

/// Reads settings through a host's lookup, aliases included; an empty value counts as unset.
struct Reader<F> {
    get: F,
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    fn raw(&self, key: &'static str) -> Option<String> {
        let lookup = |name: &str| (self.get)(name).filter(|v| !v.trim().is_empty());
        lookup(key).or_else(|| {
            ALIASES
                .iter()
                .filter(|(current, _)| *current == key)
                .find_map(|(_, old)| lookup(old))
        })
    }

    fn count(&self, key: &'static str, problem: &'static str) -> Result<Option<u64>, SettingError> {
        self.raw(key)
            .map(|v| parse_count(&v).ok_or(SettingError { key, problem }))
            .transpose()
    }

    fn list(&self, key: &'static str) -> Vec<String> {
        self.raw(key).map(|v| parse_list(&v)).unwrap_or_default()
    }
}

fn usize_of(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

impl HostConfig {
    /// Reads and checks every setting of [`SETTINGS`] through `get` (a name → its value, if
    /// set), aliases included.
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Result<HostConfig, SettingError> {
        let r = Reader { get };
        let profile = match r.raw("CRYPTR_PROFILE") {
            None => Profile::Cryptr,
            Some(name) => Profile::from_name(name.trim()).map_err(|_| SettingError {
                key: "CRYPTR_PROFILE",
                problem: "must be cryptr or rfc",
            })?,
        };
        let settings = Self::guard_settings(&r)?;
        let sources = Self::sources(&r, settings.allow_http)?;
        let audiences = r.list("CRYPTR_AUDIENCE");
        let client_ids = r.list("CRYPTR_CLIENT_IDS");
        if audiences.is_empty() && client_ids.is_empty() {
            return Err(SettingError {
                key: "CRYPTR_AUDIENCE",
                problem: "is required (the API's audience), unless CRYPTR_CLIENT_IDS lists the accepted clients",
            });
        }
        let mut options = Options::new(sources.iter().map(|s| s.issuer.clone()), audiences)
            .with_profile(profile)
            .with_client_ids(client_ids);
        if let Some(leeway) = r.count(
            "CRYPTR_LEEWAY",
            "must be a whole number of seconds, 0 or more",
        )? {
            options = options.with_leeway(leeway);
        }
        if let Some(value) = r.raw("CRYPTR_MAX_LIFETIME") {
            let problem = "must be a whole number of seconds, 1 or more, or none";
            let max = if value.trim().eq_ignore_ascii_case("none") {
                None
            } else {
                match parse_count(&value) {
                    Some(0) | None => {
                        return Err(SettingError {
                            key: "CRYPTR_MAX_LIFETIME",
                            problem,
                        });
                    }
                    Some(seconds) => Some(seconds),
                }
            };
            options = options.with_max_lifetime(max);
        }
        if let Some(value) = r.raw("CRYPTR_REQUIRED_CLAIMS") {
            let names = parse_list(&value);
            let required = RequiredClaims::from_names(names.iter().map(String::as_str)).map_err(
                |_| SettingError {
                    key: "CRYPTR_REQUIRED_CLAIMS",
                    problem: "may only name exp, nbf, iat, iss, sub, aud and jti, comma-separated",
                },
            )?;
            options = options.with_required_claims(required);
        }
        if let Some(typ) = r.raw("CRYPTR_TYP") {
            options = options.with_typ(Some(typ.trim().to_string()));
        }
        match r.count(
            "CRYPTR_MAX_TOKEN_LEN",
            "must be a whole number of bytes, 1 or more",
        )? {
            Some(0) => {
                return Err(SettingError {
                    key: "CRYPTR_MAX_TOKEN_LEN",
                    problem: "must be a whole number of bytes, 1 or more",
                });
            }
            Some(len) => options = options.with_max_token_len(usize_of(len)),
            None => {}
        }
        Ok(HostConfig {
            options,
            sources,
            settings,
        })
    }

    fn guard_settings<F: Fn(&str) -> Option<String>>(
        r: &Reader<F>,
    ) -> Result<GuardSettings, SettingError> {
        let mut settings = GuardSettings::default();
        if let Some(value) = r.raw("CRYPTR_ALLOW_HTTP") {
            settings.allow_http = parse_bool(&value).ok_or(SettingError {
                key: "CRYPTR_ALLOW_HTTP",
                problem: "must be a boolean: 1, true, yes, on or 0, false, no, off",
            })?;
        }
        if let Some(bits) = r.count(
            "CRYPTR_MIN_RSA_BITS",
            "must be a whole number from 1024 to 8192",
        )? {
            settings.key_set = u32::try_from(bits)
                .ok()
                .and_then(|bits| settings.key_set.with_min_rsa_bits(bits).ok())
                .ok_or(SettingError {
                    key: "CRYPTR_MIN_RSA_BITS",
                    problem: "must be a whole number from 1024 to 8192",
                })?;
        }
        let timeout_problem = "must be a whole number of seconds from 1 to 30";
        if let Some(timeout) = r.count("CRYPTR_JWKS_TIMEOUT", timeout_problem)? {
            if timeout == 0 || timeout > settings.policy.fetch_timeout {
                return Err(SettingError {
                    key: "CRYPTR_JWKS_TIMEOUT",
                    problem: timeout_problem,
                });
            }
            settings.fetch_timeout = timeout;
        }
        let bytes_problem = "must be a whole number of bytes, 1 or more";
        match r.count("CRYPTR_JWKS_MAX_BYTES", bytes_problem)? {
            Some(0) => {
                return Err(SettingError {
                    key: "CRYPTR_JWKS_MAX_BYTES",
                    problem: bytes_problem,
                });
            }
            Some(bytes) => settings.max_jwks_bytes = usize_of(bytes),
            None => {}
        }
        if let Some(size) = r.count(
            "CRYPTR_TOKEN_CACHE_SIZE",
            "must be a whole number, 0 or more (0 disables the cache)",
        )? {
            settings.token_cache_capacity = usize_of(size);
        }
        Ok(settings)
    }

    fn sources<F: Fn(&str) -> Option<String>>(
        r: &Reader<F>,
        allow_http: bool,
    ) -> Result<Vec<IssuerSource>, SettingError> {
        let base = r.raw("CRYPTR_BASE_URL");
        let tenants = r.raw("CRYPTR_TENANT_DOMAIN");
        let issuers = r.list("CRYPTR_ISSUER");
        let urls = r.list("CRYPTR_JWKS_URL");
        let explicit = !issuers.is_empty() || !urls.is_empty();
        let sources = match (base, tenants) {
            (Some(_), _) | (_, Some(_)) if explicit => {
                return Err(SettingError {
                    key: "CRYPTR_ISSUER",
                    problem: "give either CRYPTR_BASE_URL with CRYPTR_TENANT_DOMAIN, or CRYPTR_ISSUER (with CRYPTR_JWKS_URL, or alone for OpenID discovery), not both",
                });
            }
            (Some(base), Some(tenants)) => {
                cryptr_issuers(&base, &tenants).map_err(|ConfigError(problem)| {
                    let key = if problem.contains("tenant") {
                        "CRYPTR_TENANT_DOMAIN"
                    } else {
                        "CRYPTR_BASE_URL"
                    };
                    SettingError { key, problem }
                })?
            }
            (Some(_), None) => {
                return Err(SettingError {
                    key: "CRYPTR_TENANT_DOMAIN",
                    problem: "is required with CRYPTR_BASE_URL: one or more tenant domains, comma-separated",
                });
            }
            (None, Some(_)) => {
                return Err(SettingError {
                    key: "CRYPTR_BASE_URL",
                    problem: "is required with CRYPTR_TENANT_DOMAIN, e.g. https://auth.cryptr.eu",
                });
            }
            (None, None) if !explicit => {
                return Err(SettingError {
                    key: "CRYPTR_BASE_URL",
                    problem: "is required (with CRYPTR_TENANT_DOMAIN), or give CRYPTR_ISSUER (with CRYPTR_JWKS_URL, or alone for OpenID discovery)",
                });
            }
            // The issuers alone: each one's JWKS URL is discovered.
            (None, None) if urls.is_empty() => {
                issuers.into_iter().map(IssuerSource::discover).collect()
            }
            (None, None) => {
                if issuers.len() != urls.len() {
                    return Err(SettingError {
                        key: "CRYPTR_JWKS_URL",
                        problem: "must list one JWKS URL per issuer of CRYPTR_ISSUER, in the same order",
                    });
                }
                issuers
                    .into_iter()
                    .zip(urls)
                    .map(|(i, u)| IssuerSource::new(i, u))
                    .collect()
            }
        };
        let url_key = if explicit {
            "CRYPTR_JWKS_URL"
        } else {
            "CRYPTR_BASE_URL"
        };
        for source in &sources {
            let (checked, key) = match &source.jwks_url {
                Some(url) => (check_url(url, allow_http), url_key),
                None => (
                    check_discovery_issuer(&source.issuer, allow_http),
                    "CRYPTR_ISSUER",
                ),
            };
            checked.map_err(|ConfigError(problem)| SettingError { key, problem })?;
        }
        if sources
            .iter()
            .enumerate()
            .any(|(i, s)| sources[..i].iter().any(|t| t.issuer == s.issuer))
        {
            return Err(SettingError {
                key: if explicit {
                    "CRYPTR_ISSUER"
                } else {
                    "CRYPTR_TENANT_DOMAIN"
                },
                problem: "names an issuer twice",
            });
        }
        Ok(sources)
    }

    /// The guard these settings describe.
    pub fn into_guard(self) -> Result<Guard, SettingError> {
        let discovered = self.sources.iter().any(|s| s.jwks_url.is_none());
        let explicit_urls = self
            .sources
            .iter()
            .filter_map(|s| s.jwks_url.as_deref())
            .any(|url| !url.ends_with("/.well-known"));
        Guard::new(self.options, self.sources, self.settings).map_err(|ConfigError(problem)| {
            // `from_settings` already refused what it can name; this names the setting behind
            // whatever `Guard::new` still finds.
            let key = if problem.contains("URL") {
                if discovered {
                    "CRYPTR_ISSUER"
                } else if explicit_urls {
                    "CRYPTR_JWKS_URL"
                } else {
                    "CRYPTR_BASE_URL"
                }
            } else if problem.contains("max_lifetime") {
                "CRYPTR_MAX_LIFETIME"
            } else if problem.contains("fetch timeout") {
                "CRYPTR_JWKS_TIMEOUT"
            } else if problem.contains("body limit") {
                "CRYPTR_JWKS_MAX_BYTES"
            } else if problem.contains("audience") {
                "CRYPTR_AUDIENCE"
            } else {
                "CRYPTR_ISSUER"
            };
            SettingError { key, problem }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;

    fn config(pairs: &[(&str, &str)]) -> Result<HostConfig, SettingError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (String::from(*k), String::from(*v)))
            .collect();
        HostConfig::from_settings(|name| map.get(name).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        ("CRYPTR_BASE_URL", "https://auth.cryptr.eu/"),
        ("CRYPTR_TENANT_DOMAIN", "acme,globex"),
        ("CRYPTR_AUDIENCE", "https://api.example"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Result<HostConfig, SettingError> {
        let mut pairs = BASE.to_vec();
        pairs.extend_from_slice(extra);
        config(&pairs)
    }

    #[test]
    fn cryptr_defaults() {
        let c = with(&[]).unwrap();
        assert_eq!(c.options.profile(), Profile::Cryptr);
        assert_eq!(c.sources.len(), 2);
        assert_eq!(c.sources[0].issuer, "https://auth.cryptr.eu/t/acme");
        assert_eq!(c.settings, GuardSettings::default());
        assert!(c.into_guard().is_ok());
    }

    #[test]
    fn errors_name_the_setting() {
        let key = |extra: &[(&'static str, &'static str)]| with(extra).err().map(|e| e.key);
        assert_eq!(key(&[("CRYPTR_LEEWAY", "abc")]), Some("CRYPTR_LEEWAY"));
        assert_eq!(key(&[("CRYPTR_LEEWAY", "-5")]), Some("CRYPTR_LEEWAY"));
        assert_eq!(
            key(&[("CRYPTR_ALLOW_HTTP", "maybe")]),
            Some("CRYPTR_ALLOW_HTTP")
        );
        assert_eq!(
            key(&[("CRYPTR_JWKS_TIMEOUT", "0")]),
            Some("CRYPTR_JWKS_TIMEOUT")
        );
        assert_eq!(
            key(&[("CRYPTR_JWKS_TIMEOUT", "31")]),
            Some("CRYPTR_JWKS_TIMEOUT")
        );
        assert_eq!(
            key(&[("CRYPTR_MIN_RSA_BITS", "512")]),
            Some("CRYPTR_MIN_RSA_BITS")
        );
        assert_eq!(key(&[("CRYPTR_PROFILE", "oidc")]), Some("CRYPTR_PROFILE"));
        assert_eq!(
            key(&[("CRYPTR_MAX_LIFETIME", "0")]),
            Some("CRYPTR_MAX_LIFETIME")
        );
        assert_eq!(
            key(&[("CRYPTR_REQUIRED_CLAIMS", "exp,scope")]),
            Some("CRYPTR_REQUIRED_CLAIMS")
        );
        assert_eq!(
            key(&[("CRYPTR_ISSUER", "https://x")]),
            Some("CRYPTR_ISSUER")
        );
        assert_eq!(
            config(&[
                ("CRYPTR_BASE_URL", "http://127.0.0.1:1"),
                ("CRYPTR_TENANT_DOMAIN", "a"),
                ("CRYPTR_AUDIENCE", "x")
            ])
            .err()
            .map(|e| e.key),
            Some("CRYPTR_BASE_URL")
        );
        assert_eq!(
            config(&[
                ("CRYPTR_BASE_URL", "https://a"),
                ("CRYPTR_TENANT_DOMAIN", "a b"),
                ("CRYPTR_AUDIENCE", "x")
            ])
            .err()
            .map(|e| e.key),
            Some("CRYPTR_TENANT_DOMAIN")
        );
        assert_eq!(
            config(&[
                ("CRYPTR_BASE_URL", "https://a"),
                ("CRYPTR_TENANT_DOMAIN", "a")
            ])
            .err()
            .map(|e| e.key),
            Some("CRYPTR_AUDIENCE")
        );
    }

    #[test]
    fn discovered_issuers_must_be_urls_the_guard_fetches() {
        let key = |pairs: &[(&str, &str)]| config(pairs).err().map(|e| e.key);
        let audience = ("CRYPTR_AUDIENCE", "api");
        for issuer in ["http://127.0.0.1:9/x", "acme", "https://a.example/?t=x"] {
            assert_eq!(
                key(&[("CRYPTR_ISSUER", issuer), audience]),
                Some("CRYPTR_ISSUER"),
                "{issuer}"
            );
        }
        assert!(
            config(&[
                ("CRYPTR_ISSUER", "http://127.0.0.1:9/x"),
                ("CRYPTR_ALLOW_HTTP", "1"),
                audience
            ])
            .is_ok()
        );
        // An explicit URL wins, and then the issuer is only compared with `iss`.
        let explicit = config(&[
            ("CRYPTR_ISSUER", "acme"),
            ("CRYPTR_JWKS_URL", "https://keys.example/acme"),
            audience,
        ])
        .unwrap();
        assert_eq!(
            explicit.sources,
            [IssuerSource::new("acme", "https://keys.example/acme")]
        );
        // A JWKS URL list that does not match the issuers is still an error, not discovery.
        assert_eq!(
            key(&[
                ("CRYPTR_ISSUER", "https://a.example,https://b.example"),
                ("CRYPTR_JWKS_URL", "https://k.example/a"),
                audience
            ]),
            Some("CRYPTR_JWKS_URL")
        );
        assert_eq!(
            key(&[("CRYPTR_JWKS_URL", "https://k.example/a"), audience]),
            Some("CRYPTR_JWKS_URL")
        );
        // The Cryptr configuration keeps its {issuer}/.well-known key sets.
        let cryptr = with(&[]).unwrap();
        assert!(cryptr.sources.iter().all(|s| {
            s.jwks_url.as_deref() == Some(alloc::format!("{}/.well-known", s.issuer).as_str())
        }));
    }

    #[test]
    fn values_aliases_and_explicit_issuers() {
        let c = with(&[
            ("CRYPTR_ALLOW_HTTP", " Yes "),
            ("CRYPTR_GUARD_LEEWAY", "7"),
            ("CRYPTR_MAX_LIFETIME", "None"),
            ("CRYPTR_CLIENT_IDS", "a, b,"),
            ("CRYPTR_TOKEN_CACHE_SIZE", "0"),
        ])
        .unwrap();
        assert!(c.settings.allow_http);
        assert_eq!(c.options.leeway(), 7);
        assert_eq!(c.options.max_lifetime(), None);
        assert_eq!(c.options.client_ids(), ["a", "b"]);
        assert_eq!(c.settings.token_cache_capacity, 0);
        let explicit = config(&[
            ("CRYPTR_GUARD_ISSUER", "https://a.example/"),
            ("CRYPTR_JWKS_URL", "https://a.example/jwks"),
            ("CRYPTR_AUDIENCES", "api"),
            ("CRYPTR_PROFILE", "rfc"),
        ])
        .unwrap();
        assert_eq!(
            explicit.sources,
            [IssuerSource::new(
                "https://a.example/",
                "https://a.example/jwks"
            )]
        );
        assert_eq!(explicit.options.profile(), Profile::Rfc);
        let discovered = config(&[
            ("CRYPTR_ISSUER", "https://a.example/, https://b.example/t/x"),
            ("CRYPTR_AUDIENCE", "api"),
        ])
        .unwrap();
        assert_eq!(
            discovered.sources,
            [
                IssuerSource::discover("https://a.example/"),
                IssuerSource::discover("https://b.example/t/x")
            ]
        );
        assert!(discovered.into_guard().is_ok());
        assert!(parse_bool("maybe").is_none());
        assert_eq!(parse_count("+5"), None);
    }
}
