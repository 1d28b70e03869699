//! The server's configuration, read from one lookup (a setting's name → its value): the
//! `CRYPTR_*` settings every host shares, read by the core (`HostConfig::from_settings`, the
//! table `guard::SETTINGS`, older names in `guard::ALIASES`), and the server's own
//! `CRYPTR_GUARD_*` settings ([`SERVER_SETTINGS`]). Command-line flags feed the same lookup
//! ([`Lookup`]): a flag wins over the environment, and an error names what the user set.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use axum::http::HeaderName;
use cryptr_guard_core::guard::{ALIASES, SETTINGS, SettingError, parse_bool, parse_count};

use crate::connections::ConnectionLimits;
use crate::state::VerifyMode;

/// The server's own settings, with their meaning (the shared ones are `guard::SETTINGS`).
pub const SERVER_SETTINGS: &[(&str, &str)] = &[
    (
        "CRYPTR_GUARD_BIND",
        "the address to listen on (default 127.0.0.1:3000: loopback)",
    ),
    (
        "CRYPTR_GUARD_WORKERS",
        "worker threads, 1 to 1024 (default: one per core)",
    ),
    (
        "CRYPTR_GUARD_REQUEST_TIMEOUT",
        "seconds before a request is answered 503 jwks_unavailable (JSON body, Retry-After), 1 to 3600, more than CRYPTR_JWKS_TIMEOUT (default 10)",
    ),
    (
        "CRYPTR_GUARD_HEADER_TIMEOUT",
        "seconds for a request head to arrive in full, from the connection's start or from the first byte of a later request on it; else the connection is closed, 1 to 3600 (default 10)",
    ),
    (
        "CRYPTR_GUARD_KEEP_ALIVE_TIMEOUT",
        "seconds a kept-alive connection may wait for its next request, 0 to 86400; 0 disables keep-alive (default 120, longer than proxies' pool timeouts)",
    ),
    (
        "CRYPTR_GUARD_MAX_CONNECTIONS",
        "connections open at once, 1 to 1000000; at the limit a new connection replaces the idle one that waited longest (default 4096, or the open-file limit less 64 when lower)",
    ),
    (
        "CRYPTR_GUARD_FORWARD_CLAIMS",
        "claims that /auth copies into X-Auth-Claim-{name} headers, comma-separated (default none)",
    ),
    (
        "CRYPTR_GUARD_ROUTE_SCOPES",
        "scopes a route requires, as PATH=SCOPE [SCOPE…], entries comma-separated, e.g. /api/v1/me=openid (default none); a token without them gets 403 insufficient_scope",
    ),
    (
        "CRYPTR_GUARD_BLOCKING_VERIFY",
        "verify signatures on tokio's blocking pool instead of inline, a boolean (default false)",
    ),
    (
        "CRYPTR_GUARD_LOG_FORMAT",
        "pretty or json (default pretty); logs go to stderr, the level comes from RUST_LOG (default info)",
    ),
];

/// The command-line flag of each setting (`serve` and `check`; the server-only ones are
/// `serve`'s, `--log-format` is global).
pub const FLAGS: &[(&str, &str)] = &[
    ("CRYPTR_BASE_URL", "--base-url"),
    ("CRYPTR_TENANT_DOMAIN", "--tenant-domain"),
    ("CRYPTR_ISSUER", "--issuer"),
    ("CRYPTR_JWKS_URL", "--jwks-url"),
    ("CRYPTR_AUDIENCE", "--audience"),
    ("CRYPTR_CLIENT_IDS", "--client-ids"),
    ("CRYPTR_PROFILE", "--profile"),
    ("CRYPTR_LEEWAY", "--leeway"),
    ("CRYPTR_MAX_LIFETIME", "--max-lifetime"),
    ("CRYPTR_REQUIRED_CLAIMS", "--required-claims"),
    ("CRYPTR_TYP", "--typ"),
    ("CRYPTR_MAX_TOKEN_LEN", "--max-token-len"),
    ("CRYPTR_MIN_RSA_BITS", "--min-rsa-bits"),
    ("CRYPTR_ALLOW_HTTP", "--allow-http"),
    ("CRYPTR_JWKS_TIMEOUT", "--jwks-timeout"),
    ("CRYPTR_JWKS_MAX_BYTES", "--jwks-max-bytes"),
    ("CRYPTR_TOKEN_CACHE_SIZE", "--token-cache"),
    ("CRYPTR_GUARD_BIND", "--bind"),
    ("CRYPTR_GUARD_WORKERS", "--workers"),
    ("CRYPTR_GUARD_REQUEST_TIMEOUT", "--request-timeout"),
    ("CRYPTR_GUARD_HEADER_TIMEOUT", "--header-timeout"),
    ("CRYPTR_GUARD_KEEP_ALIVE_TIMEOUT", "--keep-alive-timeout"),
    ("CRYPTR_GUARD_MAX_CONNECTIONS", "--max-connections"),
    ("CRYPTR_GUARD_FORWARD_CLAIMS", "--forward-claims"),
    ("CRYPTR_GUARD_ROUTE_SCOPES", "--route-scopes"),
    ("CRYPTR_GUARD_BLOCKING_VERIFY", "--blocking-verify"),
    ("CRYPTR_GUARD_LOG_FORMAT", "--log-format"),
];

/// The flag of a setting, if it has one.
pub fn flag_of(setting: &str) -> Option<&'static str> {
    FLAGS.iter().find(|(s, _)| *s == setting).map(|(_, f)| *f)
}

/// The default request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The default address: loopback.
pub const DEFAULT_BIND: &str = "127.0.0.1:3000";

/// Where the settings come from: flags given on the command line (by setting name), then a
/// lookup of the environment. A value that is empty or only spaces counts as unset, as in the
/// core's reader.
pub struct Lookup<E> {
    flags: BTreeMap<&'static str, String>,
    env: E,
}

impl<E> fmt::Debug for Lookup<E> {
    // Values stay out of debug output: a URL or an id may be a secret in some deployments.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookup")
            .field("flags", &self.flags.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn set(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl<E: Fn(&str) -> Option<String>> Lookup<E> {
    /// A lookup of `env` alone.
    pub fn new(env: E) -> Lookup<E> {
        Lookup {
            flags: BTreeMap::new(),
            env,
        }
    }

    /// Gives `setting` the value of its command-line flag.
    pub fn flag(&mut self, setting: &'static str, value: impl Into<String>) {
        self.flags.insert(setting, value.into());
    }

    /// The value of `name`: its flag's, else the environment's.
    pub fn get(&self, name: &str) -> Option<String> {
        set(self.flags.get(name).cloned()).or_else(|| set((self.env)(name)))
    }

    fn env(&self, name: &str) -> Option<String> {
        set((self.env)(name))
    }

    /// How to name `setting` in a message: its flag when the flag was given, the older name the
    /// environment gave it under, or the setting itself.
    pub fn describe(&self, setting: &str) -> String {
        if set(self.flags.get(setting).cloned()).is_some()
            && let Some(flag) = flag_of(setting)
        {
            return format!("{flag} ({setting})");
        }
        if self.env(setting).is_none()
            && let Some((_, old)) = ALIASES
                .iter()
                .find(|(current, old)| *current == setting && self.env(old).is_some())
        {
            return format!("{old} (the older name of {setting})");
        }
        setting.to_string()
    }

    /// Older names that are set but ignored because the current name is set too:
    /// `(older, current)`, to warn about at start-up.
    pub fn shadowed_aliases(&self) -> Vec<(&'static str, &'static str)> {
        ALIASES
            .iter()
            .filter(|(current, old)| self.env(old).is_some() && self.get(current).is_some())
            .map(|(current, old)| (*old, *current))
            .collect()
    }

    /// A setting error as the user should read it: the setting named as they set it, and for a
    /// plain-http URL, how to allow it.
    pub fn explain(&self, error: SettingError) -> ConfigError {
        let mut problem = error.problem.to_string();
        if problem.contains("plain http") {
            problem.push_str(" (set CRYPTR_ALLOW_HTTP=1, or --allow-http, for local tests)");
        }
        ConfigError {
            setting: self.describe(error.key),
            problem,
        }
    }
}

/// A configuration mistake, as the user reads it: `setting: problem`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting as the user gave it (`--leeway (CRYPTR_LEEWAY)`, `CRYPTR_GUARD_LEEWAY (the
    /// older name of CRYPTR_LEEWAY)`, `CRYPTR_LEEWAY`).
    pub setting: String,
    /// What is wrong and what is expected (never the value).
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.problem)
    }
}

impl std::error::Error for ConfigError {}

fn error(key: &'static str, problem: &'static str) -> SettingError {
    SettingError { key, problem }
}

fn count_in(
    get: &impl Fn(&str) -> Option<String>,
    key: &'static str,
    range: std::ops::RangeInclusive<u64>,
    problem: &'static str,
) -> Result<Option<u64>, SettingError> {
    match get(key) {
        None => Ok(None),
        Some(value) => match parse_count(&value) {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(error(key, problem)),
        },
    }
}

fn boolean(get: &impl Fn(&str) -> Option<String>, key: &'static str) -> Result<bool, SettingError> {
    match get(key) {
        None => Ok(false),
        Some(value) => parse_bool(&value).ok_or(error(
            key,
            "must be a boolean: 1, true, yes, on or 0, false, no, off",
        )),
    }
}

/// `CRYPTR_GUARD_BIND`.
pub fn bind(get: &impl Fn(&str) -> Option<String>) -> Result<SocketAddr, SettingError> {
    let value = get("CRYPTR_GUARD_BIND").unwrap_or_else(|| DEFAULT_BIND.to_string());
    value.trim().parse().map_err(|_| {
        error(
            "CRYPTR_GUARD_BIND",
            "must be an IP address and a port, e.g. 127.0.0.1:3000 or [::1]:3000",
        )
    })
}

/// `CRYPTR_GUARD_WORKERS`: `None` is one per core.
pub fn workers(get: &impl Fn(&str) -> Option<String>) -> Result<Option<usize>, SettingError> {
    Ok(count_in(
        get,
        "CRYPTR_GUARD_WORKERS",
        1..=1024,
        "must be a whole number of threads from 1 to 1024",
    )?
    .map(|n| usize::try_from(n).unwrap_or(1024)))
}

/// `CRYPTR_GUARD_REQUEST_TIMEOUT`.
pub fn request_timeout(get: &impl Fn(&str) -> Option<String>) -> Result<Duration, SettingError> {
    Ok(count_in(
        get,
        "CRYPTR_GUARD_REQUEST_TIMEOUT",
        1..=3600,
        "must be a whole number of seconds from 1 to 3600",
    )?
    .map_or(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs))
}

/// `CRYPTR_GUARD_HEADER_TIMEOUT`, `CRYPTR_GUARD_KEEP_ALIVE_TIMEOUT` and
/// `CRYPTR_GUARD_MAX_CONNECTIONS`: the connection limits (defaults: [`ConnectionLimits`]'s).
pub fn connection_limits(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<ConnectionLimits, SettingError> {
    let defaults = ConnectionLimits::default();
    let header_timeout = count_in(
        get,
        "CRYPTR_GUARD_HEADER_TIMEOUT",
        1..=3600,
        "must be a whole number of seconds from 1 to 3600",
    )?
    .map_or(defaults.header_timeout, Duration::from_secs);
    let keep_alive_timeout = count_in(
        get,
        "CRYPTR_GUARD_KEEP_ALIVE_TIMEOUT",
        0..=86_400,
        "must be a whole number of seconds from 0 (no keep-alive) to 86400",
    )?
    .map_or(defaults.keep_alive_timeout, Duration::from_secs);
    let max_connections = count_in(
        get,
        "CRYPTR_GUARD_MAX_CONNECTIONS",
        1..=1_000_000,
        "must be a whole number of connections from 1 to 1000000",
    )?
    .map_or(defaults.max_connections, |n| {
        usize::try_from(n).unwrap_or(defaults.max_connections)
    });
    Ok(ConnectionLimits {
        header_timeout,
        keep_alive_timeout,
        max_connections,
    })
}

/// `CRYPTR_GUARD_FORWARD_CLAIMS`: each name must make a header name.
pub fn forward_claims(get: &impl Fn(&str) -> Option<String>) -> Result<Vec<String>, SettingError> {
    let names = get("CRYPTR_GUARD_FORWARD_CLAIMS")
        .map(|v| cryptr_guard_core::guard::parse_list(&v))
        .unwrap_or_default();
    for name in &names {
        let header = format!("{}{name}", crate::forward::CLAIM_HEADER_PREFIX);
        if HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err(error(
                "CRYPTR_GUARD_FORWARD_CLAIMS",
                "each claim name must be usable in a header name: letters, digits and ! # $ & ' * + - . ^ _ ` | ~",
            ));
        }
    }
    Ok(names)
}

/// `CRYPTR_GUARD_ROUTE_SCOPES`: `PATH=SCOPE [SCOPE…]` entries, comma-separated. The check itself
/// is the core's (`http::require_scopes`).
pub fn route_scopes(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Vec<String>)>, SettingError> {
    const PROBLEM: &str = "must be PATH=SCOPE [SCOPE…] entries, comma-separated, each path starting with / and naming at least one scope";
    let mut routes: Vec<(String, Vec<String>)> = Vec::new();
    for entry in get("CRYPTR_GUARD_ROUTE_SCOPES")
        .map(|v| cryptr_guard_core::guard::parse_list(&v))
        .unwrap_or_default()
    {
        let (path, scopes) = entry
            .split_once('=')
            .ok_or_else(|| error("CRYPTR_GUARD_ROUTE_SCOPES", PROBLEM))?;
        let scopes: Vec<String> = scopes.split_whitespace().map(String::from).collect();
        let path = path.trim();
        if !path.starts_with('/') || scopes.is_empty() {
            return Err(error("CRYPTR_GUARD_ROUTE_SCOPES", PROBLEM));
        }
        routes.push((path.to_string(), scopes));
    }
    Ok(routes)
}

/// `CRYPTR_GUARD_BLOCKING_VERIFY`.
pub fn verify_mode(get: &impl Fn(&str) -> Option<String>) -> Result<VerifyMode, SettingError> {
    Ok(if boolean(get, "CRYPTR_GUARD_BLOCKING_VERIFY")? {
        VerifyMode::BlockingPool
    } else {
        VerifyMode::Inline
    })
}

/// How logs are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human line per event.
    #[default]
    Pretty,
    /// One JSON object per event.
    Json,
}

/// `CRYPTR_GUARD_LOG_FORMAT`.
pub fn log_format(get: &impl Fn(&str) -> Option<String>) -> Result<LogFormat, SettingError> {
    match get("CRYPTR_GUARD_LOG_FORMAT") {
        None => Ok(LogFormat::Pretty),
        Some(v) if v.trim().eq_ignore_ascii_case("pretty") => Ok(LogFormat::Pretty),
        Some(v) if v.trim().eq_ignore_ascii_case("json") => Ok(LogFormat::Json),
        Some(_) => Err(error("CRYPTR_GUARD_LOG_FORMAT", "must be pretty or json")),
    }
}

/// The settings reference as a Markdown table (the README's, and `--help`'s in plain text):
/// every shared setting, the server's own, and the older names that keep working.
pub fn settings_table() -> String {
    let mut out =
        String::from("| setting | flag | meaning | older names |\n| --- | --- | --- | --- |\n");
    for (name, meaning) in SETTINGS.iter().chain(SERVER_SETTINGS) {
        let old: Vec<String> = ALIASES
            .iter()
            .filter(|(current, _)| current == name)
            .map(|(_, old)| format!("`{old}`"))
            .collect();
        out.push_str(&format!(
            "| `{name}` | {} | {} | {} |\n",
            flag_of(name).map_or_else(String::new, |f| format!("`{f}`")),
            meaning.replace('|', "\\|"),
            old.join(", ")
        ));
    }
    out
}

/// The settings reference for `--help`: one setting a line.
pub fn settings_help() -> String {
    let mut out = String::from(
        "Settings (a flag wins over its environment variable; older names in brackets):\n",
    );
    for (name, meaning) in SETTINGS.iter().chain(SERVER_SETTINGS) {
        let old: Vec<&str> = ALIASES
            .iter()
            .filter(|(current, _)| current == name)
            .map(|(_, old)| *old)
            .collect();
        let flag = flag_of(name).map_or_else(String::new, |f| format!(" {f}"));
        let old = if old.is_empty() {
            String::new()
        } else {
            format!(" [{}]", old.join(", "))
        };
        out.push_str(&format!("  {name}{flag}{old}\n      {meaning}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn server_settings_refuse_zero_and_name_the_variable() {
        let get = env(&[
            ("CRYPTR_GUARD_WORKERS", "0"),
            ("CRYPTR_GUARD_REQUEST_TIMEOUT", "0"),
            ("CRYPTR_GUARD_BLOCKING_VERIFY", "maybe"),
            ("CRYPTR_GUARD_BIND", "localhost"),
            ("CRYPTR_GUARD_LOG_FORMAT", "xml"),
            ("CRYPTR_GUARD_FORWARD_CLAIMS", "email, bad name"),
            ("CRYPTR_GUARD_HEADER_TIMEOUT", "0"),
        ]);
        assert_eq!(
            connection_limits(&get).unwrap_err().key,
            "CRYPTR_GUARD_HEADER_TIMEOUT"
        );
        let limits = connection_limits(&env(&[
            ("CRYPTR_GUARD_KEEP_ALIVE_TIMEOUT", "0"),
            ("CRYPTR_GUARD_MAX_CONNECTIONS", "300"),
        ]))
        .unwrap();
        assert_eq!(
            (limits.keep_alive_timeout, limits.max_connections),
            (Duration::ZERO, 300)
        );
        assert_eq!(limits.header_timeout, Duration::from_secs(10));
        assert_eq!(
            connection_limits(&env(&[("CRYPTR_GUARD_MAX_CONNECTIONS", "0")]))
                .unwrap_err()
                .key,
            "CRYPTR_GUARD_MAX_CONNECTIONS"
        );
        assert_eq!(workers(&get).unwrap_err().key, "CRYPTR_GUARD_WORKERS");
        assert_eq!(
            request_timeout(&get).unwrap_err().key,
            "CRYPTR_GUARD_REQUEST_TIMEOUT"
        );
        assert_eq!(
            verify_mode(&get).unwrap_err().key,
            "CRYPTR_GUARD_BLOCKING_VERIFY"
        );
        assert_eq!(bind(&get).unwrap_err().key, "CRYPTR_GUARD_BIND");
        assert_eq!(log_format(&get).unwrap_err().key, "CRYPTR_GUARD_LOG_FORMAT");
        assert_eq!(
            forward_claims(&get).unwrap_err().key,
            "CRYPTR_GUARD_FORWARD_CLAIMS"
        );
        let get = env(&[
            ("CRYPTR_GUARD_WORKERS", " 2 "),
            ("CRYPTR_GUARD_BLOCKING_VERIFY", "On"),
            ("CRYPTR_GUARD_FORWARD_CLAIMS", "email, scp,"),
        ]);
        assert_eq!(workers(&get).unwrap(), Some(2));
        assert_eq!(verify_mode(&get).unwrap(), VerifyMode::BlockingPool);
        assert_eq!(forward_claims(&get).unwrap(), ["email", "scp"]);
        assert_eq!(bind(&get).unwrap().to_string(), DEFAULT_BIND);
    }

    #[test]
    fn errors_name_the_setting_as_the_user_gave_it() {
        let mut lookup = Lookup::new(env(&[
            ("CRYPTR_GUARD_JWKS_TIMEOUT", "0"),
            ("CRYPTR_GUARD_LEEWAY", "3"),
            ("CRYPTR_LEEWAY", "4"),
        ]));
        assert_eq!(
            lookup.describe("CRYPTR_JWKS_TIMEOUT"),
            "CRYPTR_GUARD_JWKS_TIMEOUT (the older name of CRYPTR_JWKS_TIMEOUT)"
        );
        assert_eq!(lookup.describe("CRYPTR_LEEWAY"), "CRYPTR_LEEWAY");
        assert_eq!(
            lookup.shadowed_aliases(),
            [("CRYPTR_GUARD_LEEWAY", "CRYPTR_LEEWAY")]
        );
        lookup.flag("CRYPTR_LEEWAY", "-5");
        assert_eq!(lookup.get("CRYPTR_LEEWAY").as_deref(), Some("-5"));
        assert_eq!(lookup.describe("CRYPTR_LEEWAY"), "--leeway (CRYPTR_LEEWAY)");
        let explained = lookup.explain(error("CRYPTR_JWKS_URL", "the URL is plain http"));
        assert!(
            explained.to_string().contains("--allow-http"),
            "{explained}"
        );
    }

    #[test]
    fn the_readme_holds_the_generated_table() {
        assert!(
            include_str!("../README.md").contains(&settings_table()),
            "server/README.md: paste config::settings_table() again"
        );
    }

    #[test]
    fn every_setting_has_a_flag_and_the_tables_list_them_all() {
        let table = settings_table();
        let help = settings_help();
        for (name, _) in SETTINGS.iter().chain(SERVER_SETTINGS) {
            assert!(flag_of(name).is_some(), "{name} has no flag");
            assert!(table.contains(&format!("`{name}`")), "{name}");
            assert!(help.contains(name), "{name}");
        }
        for (_, old) in ALIASES {
            assert!(table.contains(&format!("`{old}`")), "{old}");
        }
    }
}
