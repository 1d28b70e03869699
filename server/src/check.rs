//! `cryptr-guard check`: validates one token from a shell, with the configuration and the core
//! calls of the server.
//!
//! The key set is either the configured issuers' (fetched as the server fetches them, through
//! the guard: with several issuers, the token's issuer chooses its key set, SPEC §8), or one
//! given with `--jwks` (a file or a URL: one key set, SPEC §2).
//!
//! Exit status: 0 valid (claims JSON on stdout); 1 the token is refused (SPEC code and a
//! description on stderr); 2 usage or configuration error; 3 no usable key set
//! (`jwks_unavailable`: unreadable file, failed fetch; `invalid_jwks`: not a valid JWKS).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use cryptr_guard_core::guard::{FetchFailure, FetchReport, HostConfig};
use cryptr_guard_core::{Action, Check, KeySet, Rejection, SkippedKey, Validator, Verified};

use crate::jwks::{Fetched, Fetcher};

/// Exit status: the token is valid.
pub const EXIT_VALID: u8 = 0;
/// Exit status: the token is refused.
pub const EXIT_REFUSED: u8 = 1;
/// Exit status: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: no usable key set.
pub const EXIT_KEYS: u8 = 3;

/// A key set given on the command line (`--jwks`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// A JWKS file.
    File(PathBuf),
    /// A JWKS URL (`https`, or `http` when allowed).
    Url(String),
}

impl KeySource {
    /// `http(s)://…` is a URL, anything else a file path.
    pub fn parse(text: &str) -> KeySource {
        let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            KeySource::Url(text.to_string())
        } else {
            KeySource::File(PathBuf::from(text))
        }
    }
}

/// Why the input holds no token to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputError {
    /// Nothing but whitespace.
    Empty,
    /// A whole `Authorization` value that the Bearer rule refuses.
    Header(Rejection),
}

/// The token in what the user gave: the token itself, or a whole `Authorization` value
/// (`Bearer <token>`, optionally after `Authorization:`, as copied from a curl command) read by
/// the core's Bearer rule. Whitespace around it is ignored.
pub fn token_of(input: &[u8]) -> Result<&[u8], InputError> {
    let text = input.trim_ascii();
    if text.is_empty() {
        return Err(InputError::Empty);
    }
    const PREFIX: &[u8] = b"authorization:";
    let (value, is_header) = match text.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => {
            (text.get(PREFIX.len()..).unwrap_or_default(), true)
        }
        _ => (text, false),
    };
    if is_header || value.contains(&b' ') {
        cryptr_guard_core::bearer_token([value]).map_err(InputError::Header)
    } else {
        Ok(value)
    }
}

/// Validates `token` at `now` and reports on stdout/stderr; returns the exit status.
pub async fn run(token: &[u8], source: Option<&KeySource>, host: HostConfig, now: u64) -> u8 {
    let fetcher = match Fetcher::new(host.settings.allow_http) {
        Ok(fetcher) => fetcher,
        Err(e) => {
            eprintln!("jwks_unavailable: the HTTP client could not be built: {e}");
            return EXIT_KEYS;
        }
    };
    match source {
        Some(source) => with_key_set(token, source, host, &fetcher, now).await,
        None => with_guard(token, host, &fetcher, now).await,
    }
}

fn failure_of(fetched: &Fetched) -> Option<FetchFailure> {
    match fetched {
        Fetched::Response { status: 200, .. } => None,
        Fetched::Response { status, .. } => Some(FetchFailure::Status(*status)),
        Fetched::Timeout => Some(FetchFailure::Timeout),
        Fetched::TooLarge => Some(FetchFailure::TooLarge),
        Fetched::Network(_) => Some(FetchFailure::Network),
    }
}

fn with_cause(fetched: &Fetched) -> String {
    fetched
        .cause()
        .map_or_else(String::new, |cause| format!(" ({cause})"))
}

async fn with_key_set(
    token: &[u8],
    source: &KeySource,
    host: HostConfig,
    fetcher: &Fetcher,
    now: u64,
) -> u8 {
    let validator = match Validator::new(host.options) {
        Ok(validator) => validator,
        Err(e) => {
            eprintln!("cryptr-guard: {e}");
            return EXIT_USAGE;
        }
    };
    let document = match source {
        KeySource::File(path) => match std::fs::read(path) {
            Ok(document) => document,
            Err(e) => {
                eprintln!("jwks_unavailable: cannot read {}: {e}", path.display());
                return EXIT_KEYS;
            }
        },
        KeySource::Url(url) => {
            let deadline = Duration::from_secs(host.settings.fetch_timeout);
            let fetched = fetcher
                .get(url, deadline, host.settings.max_jwks_bytes)
                .await;
            if let Some(failure) = failure_of(&fetched) {
                eprintln!("jwks_unavailable: {failure}{}", with_cause(&fetched));
                return EXIT_KEYS;
            }
            match fetched {
                Fetched::Response { body, .. } => body,
                _ => return EXIT_KEYS,
            }
        }
    };
    let keys = match KeySet::from_jwks_with(&document, &host.settings.key_set) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("{}: {}", e.code(), e.description());
            return EXIT_KEYS;
        }
    };
    note_skipped(keys.skipped());
    match validator.validate(token, &keys, now) {
        Ok(verified) => valid(&verified),
        Err(e) => refused(Rejection::from(e)),
    }
}

/// A check is answered in a handful of steps; more is a bug, reported as no key set.
const MAX_STEPS: usize = 16;

async fn with_guard(token: &[u8], host: HostConfig, fetcher: &Fetcher, now: u64) -> u8 {
    let mut guard = match host.into_guard() {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("cryptr-guard: {e}");
            return EXIT_USAGE;
        }
    };
    let mut check = Check::new(token);
    for _ in 0..MAX_STEPS {
        match guard.advance(&mut check, now) {
            Action::Done(Ok(verified)) => return valid(&verified),
            Action::Done(Err(rejection)) => return refused(rejection),
            Action::Verify(job) => check.verify(job),
            Action::Fetch(fetch) => {
                let url = fetch.url().to_string();
                let deadline = Duration::from_secs(fetch.timeout());
                let fetched = fetcher.get(&url, deadline, fetch.max_bytes()).await;
                let report = guard.fetch_done(fetch, fetched.result(), now);
                eprintln!("note: {url}: {report}{}", with_cause(&fetched));
                if let FetchReport::Installed { skipped, .. }
                | FetchReport::NoUsableKey { skipped } = &report
                {
                    note_skipped(skipped);
                }
            }
            // One request alone: no other fetch can be in flight.
            Action::Wait(_) => break,
        }
    }
    refused(Rejection::unavailable(1))
}

fn note_skipped(skipped: &[SkippedKey]) {
    for key in skipped {
        eprintln!(
            "note: key #{} ({}) skipped: {}",
            key.index,
            key.kid.as_deref().unwrap_or("no kid"),
            key.reason.description()
        );
    }
}

fn valid(verified: &Verified) -> u8 {
    let text = serde_json::from_slice::<serde_json::Value>(verified.payload())
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| verified.payload_str().to_string());
    let derived = serde_json::json!({
        "issuer": verified.issuer(),
        "client_id": verified.client_id(),
        "tenant": verified.tenant(),
        "scopes": verified.scopes(),
    });
    eprintln!("note: derived values: {derived}");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    EXIT_VALID
}

fn refused(rejection: Rejection) -> u8 {
    eprintln!("{}: {}", rejection.code(), rejection.description());
    if rejection.answer().status == 503 {
        EXIT_KEYS
    } else {
        EXIT_REFUSED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_or_a_whole_authorization_value() {
        assert_eq!(token_of(b" a.b.c\n"), Ok(&b"a.b.c"[..]));
        assert_eq!(token_of(b"Bearer a.b.c"), Ok(&b"a.b.c"[..]));
        assert_eq!(
            token_of(b"Authorization: bearer a.b.c\n"),
            Ok(&b"a.b.c"[..])
        );
        assert_eq!(token_of(b" \n"), Err(InputError::Empty));
        assert_eq!(token_of(b""), Err(InputError::Empty));
        assert_eq!(
            token_of(b"Basic dXNlcg=="),
            Err(InputError::Header(Rejection::InvalidHeader))
        );
        assert_eq!(
            token_of(b"Authorization:"),
            Err(InputError::Header(Rejection::MissingHeader))
        );
    }

    #[test]
    fn key_sources() {
        assert_eq!(
            KeySource::parse("HTTPS://a/jwks"),
            KeySource::Url("HTTPS://a/jwks".into())
        );
        assert_eq!(
            KeySource::parse("jwks.json"),
            KeySource::File("jwks.json".into())
        );
    }
}
