//! Fetching the issuer's JWKS under the core's key-set cache policy (SPEC §4).
//!
//! The policy (`cryptr_guard_core::cache::KeySetCache`) decides; this module does the I/O:
//! one fetch at a time, each in its own task (a request that goes away never strands a fetch),
//! with a timeout, no redirects, `https` only unless plain `http` is allowed, and a body size
//! limit. Requests validate against an `Arc<KeySet>` cloned out of the lock.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cryptr_guard_core::cache::{CacheConfig, Decision, FetchTicket, KeySetCache, Status};
use cryptr_guard_core::{KeySet, KeySetOptions};
use reqwest::header::{CACHE_CONTROL, CONTENT_LENGTH};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::error::AuthError;
use crate::metrics::Metrics;

/// Default limit of a JWKS response body (1 MiB).
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;
/// Default timeout of one JWKS fetch.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How to fetch the key set.
#[derive(Clone, Debug)]
pub struct FetchConfig {
    /// The JWKS URL.
    pub url: String,
    /// Accept a plain `http` URL (tests, demo on loopback).
    pub allow_http: bool,
    /// Timeout of one fetch (connect + response + body).
    pub timeout: Duration,
    /// Largest accepted body.
    pub max_bytes: usize,
    /// Key-set options (minimum RSA size).
    pub key_set: KeySetOptions,
}

impl FetchConfig {
    /// A configuration with the defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        FetchConfig {
            url: url.into(),
            allow_http: false,
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
            key_set: KeySetOptions::default(),
        }
    }
}

/// Why a fetch failed (its metrics label is [`FetchError::label`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// Not a 200 answer.
    Status(u16),
    /// No complete answer within the timeout.
    Timeout,
    /// Connection or protocol failure.
    Network,
    /// The body is over the size limit.
    TooLarge,
    /// The body is not a valid JWKS document.
    InvalidJwks,
}

impl FetchError {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            FetchError::Status(_) => "http_status",
            FetchError::Timeout => "timeout",
            FetchError::Network => "network",
            FetchError::TooLarge => "too_large",
            FetchError::InvalidJwks => "invalid_jwks",
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Status(code) => write!(f, "the issuer answered HTTP {code}"),
            FetchError::Timeout => f.write_str("the issuer did not answer in time"),
            FetchError::Network => f.write_str("the issuer could not be reached"),
            FetchError::TooLarge => f.write_str("the key set is over the size limit"),
            FetchError::InvalidJwks => f.write_str("the key set is not a valid JWKS document"),
        }
    }
}

/// Checks a JWKS URL against the policy: `https`, or `http` when allowed.
pub fn check_url(url: &str, allow_http: bool) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("JWKS URL {url:?}: {e}"))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if allow_http => Ok(parsed),
        "http" => Err(format!(
            "JWKS URL {url:?} is plain http: use https, or --allow-http for local tests"
        )),
        other => Err(format!("JWKS URL {url:?}: unsupported scheme {other:?}")),
    }
}

/// An HTTP client for JWKS fetches: rustls, no redirects, `https` only unless allowed.
pub fn client(config: &FetchConfig) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .https_only(!config.allow_http)
        .user_agent(concat!("cryptr-guard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// One fetch: the parsed key set and the `Cache-Control` value.
pub async fn fetch_once(
    client: &reqwest::Client,
    url: &reqwest::Url,
    config: &FetchConfig,
) -> Result<(KeySet, Option<String>), FetchError> {
    let classify = |e: reqwest::Error| {
        if e.is_timeout() {
            FetchError::Timeout
        } else {
            FetchError::Network
        }
    };
    let mut response = client.get(url.clone()).send().await.map_err(classify)?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Err(FetchError::Status(status.as_u16()));
    }
    let announced = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > config.max_bytes as u64) {
        return Err(FetchError::TooLarge);
    }
    let cache_control = response
        .headers()
        .get(CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len().saturating_add(chunk.len()) > config.max_bytes {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let keys = KeySet::from_jwks_with(&body, &config.key_set).map_err(|e| {
        tracing::warn!(error = e.code(), detail = e.description(), "JWKS refused");
        FetchError::InvalidJwks
    })?;
    for skipped in keys.skipped() {
        tracing::info!(
            index = skipped.index,
            kid = ?skipped.kid,
            reason = skipped.reason.description(),
            "JWKS key skipped"
        );
    }
    Ok((keys, cache_control))
}

/// The issuer's key set: the core's cache policy plus this module's fetches.
#[derive(Debug)]
pub struct Jwks {
    config: FetchConfig,
    url: reqwest::Url,
    client: reqwest::Client,
    cache: Mutex<KeySetCache<KeySet>>,
    clock: Clock,
    metrics: Arc<Metrics>,
    /// Bumped after every fetch report; waiters watch it.
    done: watch::Sender<u64>,
}

impl Jwks {
    /// A key-set source; checks the URL and builds the HTTP client.
    pub fn new(
        config: FetchConfig,
        policy: CacheConfig,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Result<Jwks, String> {
        let url = check_url(&config.url, config.allow_http)?;
        let client = client(&config)?;
        Ok(Jwks {
            config,
            url,
            client,
            cache: Mutex::new(KeySetCache::new(policy)),
            clock,
            metrics,
            done: watch::Sender::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, KeySetCache<KeySet>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cache's state (readiness, metrics).
    pub fn status(&self) -> Status {
        self.lock().status(self.clock.now())
    }

    /// The longest a caller waits for a fetch in flight.
    fn wait_limit(&self) -> Duration {
        self.config.timeout + Duration::from_secs(1)
    }

    async fn wait(&self, mut rx: watch::Receiver<u64>) {
        let _ = tokio::time::timeout(self.wait_limit(), rx.changed()).await;
    }

    fn spawn_fetch(self: &Arc<Self>, ticket: FetchTicket) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let outcome = fetch_once(&this.client, &this.url, &this.config).await;
            let now = this.clock.now();
            match outcome {
                Ok((keys, cache_control)) => {
                    this.metrics.fetch("ok");
                    let kids = keys.kids().count();
                    let installed =
                        this.lock()
                            .fetch_succeeded(ticket, now, keys, cache_control.as_deref());
                    tracing::info!(
                        reason = ?ticket.reason(),
                        keys = kids,
                        installed,
                        "JWKS fetched"
                    );
                }
                Err(e) => {
                    this.metrics.fetch(e.label());
                    this.lock().fetch_failed(ticket, now);
                    tracing::warn!(reason = ?ticket.reason(), error = %e, "JWKS fetch failed");
                }
            }
            this.done.send_modify(|n| *n = n.wrapping_add(1));
        });
    }

    /// Starts a fetch if the policy asks for one now (start-up warm-up, readiness probes);
    /// never waits.
    pub fn kick(self: &Arc<Self>) {
        let decision = self.lock().poll(self.clock.now());
        if let Some(ticket) = decision.ticket() {
            self.spawn_fetch(ticket);
        }
    }

    fn unavailable(&self) -> AuthError {
        AuthError::Unavailable {
            retry_after: self.lock().retry_after(self.clock.now()),
        }
    }

    /// The key set to validate against: the current one (refreshing it in the background when
    /// stale), or after waiting for a fetch when none is usable; `jwks_unavailable` otherwise.
    pub async fn keys(self: &Arc<Self>) -> Result<Arc<KeySet>, AuthError> {
        for _ in 0..3 {
            let rx = self.done.subscribe();
            let now = self.clock.now();
            let (decision, current) = {
                let mut cache = self.lock();
                let decision = cache.poll(now);
                (decision, cache.current(now).cloned())
            };
            match decision {
                Decision::UseCurrent | Decision::Refresh(_) => {
                    if let Some(ticket) = decision.ticket() {
                        self.spawn_fetch(ticket);
                    }
                    if let Some(keys) = current {
                        return Ok(keys);
                    }
                }
                Decision::Fetch(ticket) => {
                    self.spawn_fetch(ticket);
                    self.wait(rx).await;
                }
                Decision::Wait => self.wait(rx).await,
                Decision::Unavailable => return Err(self.unavailable()),
            }
        }
        let now = self.clock.now();
        let current = self.lock().current(now).cloned();
        current.ok_or_else(|| self.unavailable())
    }

    /// After `unknown_key` against `seen`: refetches if the policy allows (or waits for a
    /// fetch in flight) and returns the new set to retry the token against once, if there is
    /// one.
    pub async fn refetch_for_unknown_key(
        self: &Arc<Self>,
        seen: &Arc<KeySet>,
    ) -> Option<Arc<KeySet>> {
        let rx = self.done.subscribe();
        let now = self.clock.now();
        let (ticket, in_flight) = {
            let mut cache = self.lock();
            let ticket = cache.unknown_key(now);
            (ticket, cache.fetch_in_flight(now))
        };
        match ticket {
            Some(ticket) => {
                self.spawn_fetch(ticket);
                self.wait(rx).await;
            }
            None if in_flight => self.wait(rx).await,
            None => return None,
        }
        let now = self.clock.now();
        let current = self.lock().current(now).cloned()?;
        (!Arc::ptr_eq(&current, seen)).then_some(current)
    }
}
