//! `cryptr-guard check`: validates one token against a JWKS file or URL, with the same core
//! calls as the server.
//!
//! Exit status: 0 valid (claims JSON on stdout); 1 the token is refused (SPEC code and a
//! description on stderr); 2 usage or configuration error; 3 no usable key set
//! (`jwks_unavailable`: unreadable file, failed fetch; `invalid_jwks`: not a valid JWKS).

use std::io::Write;

use cryptr_guard_core::{KeySet, KeySetOptions, Validator};

use crate::jwks::{FetchConfig, check_url, client, fetch_once};

/// Exit status: the token is valid.
pub const EXIT_VALID: u8 = 0;
/// Exit status: the token is refused.
pub const EXIT_REFUSED: u8 = 1;
/// Exit status: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: no usable key set.
pub const EXIT_KEYS: u8 = 3;

/// Where the key set comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// A JWKS file (`-` is not accepted: stdin may carry the token).
    File(std::path::PathBuf),
    /// A JWKS URL (`https`, or `http` when allowed).
    Url(FetchConfig),
}

/// The key set, or the SPEC code and a description.
pub async fn load_keys(
    source: &KeySource,
    options: &KeySetOptions,
) -> Result<KeySet, (&'static str, String)> {
    let document = match source {
        KeySource::File(path) => std::fs::read(path).map_err(|e| {
            (
                "jwks_unavailable",
                format!("cannot read {}: {e}", path.display()),
            )
        })?,
        KeySource::Url(config) => {
            let url =
                check_url(&config.url, config.allow_http).map_err(|e| ("jwks_unavailable", e))?;
            let client = client(config).map_err(|e| ("jwks_unavailable", e))?;
            let mut config = config.clone();
            config.key_set = *options;
            return fetch_once(&client, &url, &config)
                .await
                .map(|(keys, _)| keys)
                .map_err(|e| match e {
                    crate::jwks::FetchError::InvalidJwks => (
                        "invalid_jwks",
                        "the document is not a valid JWKS".to_string(),
                    ),
                    other => ("jwks_unavailable", other.to_string()),
                });
        }
    };
    KeySet::from_jwks_with(&document, options).map_err(|e| (e.code(), e.description().to_string()))
}

/// Validates `token` and reports on stdout/stderr; returns the exit status.
pub async fn run(
    token: &[u8],
    source: &KeySource,
    key_set: &KeySetOptions,
    validator: &Validator,
    now: u64,
) -> u8 {
    let keys = match load_keys(source, key_set).await {
        Ok(keys) => keys,
        Err((code, description)) => {
            eprintln!("{code}: {description}");
            return EXIT_KEYS;
        }
    };
    for skipped in keys.skipped() {
        eprintln!(
            "note: key #{} ({}) skipped: {}",
            skipped.index,
            skipped.kid.as_deref().unwrap_or("no kid"),
            skipped.reason.description()
        );
    }
    match validator.validate(token, &keys, now) {
        Ok(verified) => {
            let text = serde_json::from_slice::<serde_json::Value>(verified.payload())
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| verified.payload_str().to_string());
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            EXIT_VALID
        }
        Err(e) => {
            eprintln!("{}: {}", e.code(), e.description());
            EXIT_REFUSED
        }
    }
}
