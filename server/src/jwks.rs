//! The JWKS fetcher: the I/O of the guard's fetches, and nothing else (the guard decides when
//! to fetch, what a response means and what to do next).
//!
//! One `GET` without redirects, `https` only unless plain `http` is allowed, a hard deadline over
//! the whole exchange (connection to last body byte) and a body limit checked on
//! `Content-Length` and while streaming. A failure keeps its cause (the error chain, e.g.
//! "connection refused") for the logs.

use std::time::Duration;

use cryptr_guard_core::guard::{FetchKind, FetchReport, FetchResult};
use cryptr_guard_core::keyset_cache::FetchReason;
use reqwest::header::{CACHE_CONTROL, CONTENT_LENGTH};

/// What came of one fetch, owned (the guard's [`FetchResult`] borrows from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// A complete response. The body of an answer other than 200 is not read.
    Response {
        /// The status code.
        status: u16,
        /// The `Cache-Control` value, if any (and if it is text).
        cache_control: Option<String>,
        /// The body.
        body: Vec<u8>,
    },
    /// No complete response within the deadline.
    Timeout,
    /// The body was over the limit.
    TooLarge,
    /// The connection or the exchange failed; the cause, for the logs.
    Network(String),
}

impl Fetched {
    /// The outcome as the guard reads it (`Guard::fetch_done`).
    pub fn result(&self) -> FetchResult<'_> {
        match self {
            Fetched::Response {
                status,
                cache_control,
                body,
            } => FetchResult::Response {
                status: *status,
                cache_control: cache_control.as_deref(),
                body,
            },
            Fetched::Timeout => FetchResult::Timeout,
            Fetched::TooLarge => FetchResult::TooLarge,
            Fetched::Network(_) => FetchResult::Network,
        }
    }

    /// The cause of a network failure.
    pub fn cause(&self) -> Option<&str> {
        match self {
            Fetched::Network(cause) => Some(cause),
            _ => None,
        }
    }
}

/// An HTTP client for JWKS fetches.
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: reqwest::Client,
}

impl Fetcher {
    /// A client over rustls that follows no redirect and refuses plain `http` unless
    /// `allow_http`.
    pub fn new(allow_http: bool) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!allow_http)
            .user_agent(concat!("cryptr-guard/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher { client })
    }

    /// `GET url`, given up at `deadline` from now, reading at most `max_bytes` of body.
    pub async fn get(&self, url: &str, deadline: Duration, max_bytes: usize) -> Fetched {
        tokio::time::timeout(deadline, self.exchange(url, max_bytes))
            .await
            .unwrap_or(Fetched::Timeout)
    }

    async fn exchange(&self, url: &str, max_bytes: usize) -> Fetched {
        let mut response = match self.client.get(url).send().await {
            Ok(response) => response,
            Err(e) => return failure(e),
        };
        let status = response.status().as_u16();
        let cache_control = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        if status != 200 {
            return Fetched::Response {
                status,
                cache_control,
                body: Vec::new(),
            };
        }
        let announced = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > u64::try_from(max_bytes).unwrap_or(u64::MAX)) {
            return Fetched::TooLarge;
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len().saturating_add(chunk.len()) > max_bytes {
                        return Fetched::TooLarge;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return failure(e),
            }
        }
        Fetched::Response {
            status,
            cache_control,
            body,
        }
    }
}

/// One log line per fetch, from the guard's report (log target `cryptr_guard_server::jwks`); a
/// failure carries its cause.
pub fn log_fetch(
    issuer: &str,
    url: &str,
    kind: FetchKind,
    reason: FetchReason,
    report: &FetchReport,
    fetched: &Fetched,
) {
    if kind == FetchKind::Discovery {
        log_discovery(issuer, url, reason, report, fetched);
        return;
    }
    let skipped = match report {
        FetchReport::Installed { usable, skipped } => {
            tracing::info!(
                issuer,
                url,
                ?reason,
                usable,
                skipped = skipped.len(),
                "JWKS fetched"
            );
            skipped.as_slice()
        }
        FetchReport::NoUsableKey { skipped } => {
            tracing::warn!(issuer, url, ?reason, report = %report, "JWKS fetched");
            skipped.as_slice()
        }
        FetchReport::Superseded | FetchReport::Discovered { .. } => {
            tracing::debug!(issuer, url, ?reason, report = %report, "JWKS fetched");
            &[]
        }
        FetchReport::Failed(failure) => {
            let result = failure.label();
            match fetched.cause() {
                Some(cause) => {
                    tracing::warn!(issuer, url, ?reason, result, error = %failure, cause, "JWKS fetch failed")
                }
                None => {
                    tracing::warn!(issuer, url, ?reason, result, error = %failure, "JWKS fetch failed")
                }
            }
            &[]
        }
    };
    for key in skipped {
        tracing::info!(
            issuer,
            index = key.index,
            kid = key.kid.as_deref(),
            reason = key.reason.description(),
            "JWKS key skipped"
        );
    }
}

/// The log line of a fetch of an issuer's OpenID configuration.
fn log_discovery(
    issuer: &str,
    url: &str,
    reason: FetchReason,
    report: &FetchReport,
    fetched: &Fetched,
) {
    match report {
        FetchReport::Discovered { jwks_uri } => {
            tracing::info!(
                issuer,
                url,
                ?reason,
                jwks_uri,
                "OpenID configuration fetched"
            );
        }
        FetchReport::Failed(failure) => {
            let result = failure.label();
            match fetched.cause() {
                Some(cause) => {
                    tracing::warn!(issuer, url, ?reason, result, error = %failure, cause, "OpenID discovery failed")
                }
                None => {
                    tracing::warn!(issuer, url, ?reason, result, error = %failure, "OpenID discovery failed")
                }
            }
        }
        other => {
            tracing::debug!(issuer, url, ?reason, report = %other, "OpenID configuration fetched");
        }
    }
}

fn failure(e: reqwest::Error) -> Fetched {
    if e.is_timeout() {
        Fetched::Timeout
    } else {
        // The URL is configuration and is logged beside the cause already.
        Fetched::Network(error_chain(&e.without_url()))
    }
}

/// An error and its sources, outermost first, each once: `client error (Connect): tcp connect
/// error: Connection refused (os error 111)`.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_keeps_its_cause() {
        // A port just released on loopback: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        drop(listener);
        let fetched = Fetcher::new(true)
            .unwrap()
            .get(&url, Duration::from_secs(5), 1024)
            .await;
        let cause = fetched.cause().unwrap_or_default().to_ascii_lowercase();
        assert!(cause.contains("refused"), "{fetched:?}");
        assert_eq!(fetched.result(), FetchResult::Network);
    }

    #[tokio::test]
    async fn plain_http_is_refused_unless_allowed() {
        let fetched = Fetcher::new(false)
            .unwrap()
            .get("http://127.0.0.1:9/jwks", Duration::from_secs(5), 1024)
            .await;
        assert!(matches!(fetched, Fetched::Network(_)), "{fetched:?}");
    }
}
