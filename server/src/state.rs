//! The server's shared state, and the host loop around the core's guard: the guard decides
//! (which key set, when to fetch, when to wait, what a failure answers); this module moves the
//! bytes, keeps the clock, and runs the RSA work outside the lock.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use cryptr_guard_core::guard::{Fetch, HostConfig, SettingError, Wait, discovery_url};
use cryptr_guard_core::{Action, Check, Guard, Rejection, Verified};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config;
use crate::error::AuthError;
use crate::jwks::Fetcher;
use crate::metrics::Metrics;

/// Where RSA verification runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VerifyMode {
    /// On the async worker that handles the request: one verification costs less than a
    /// hand-off to another thread (see server/README.md).
    #[default]
    Inline,
    /// On tokio's blocking pool (`spawn_blocking`).
    BlockingPool,
}

/// Everything that configures an [`AppState`].
#[derive(Clone, Debug)]
pub struct Settings {
    /// The `CRYPTR_*` settings: options, issuers with their JWKS URLs (or discovery), fetching
    /// and caching.
    pub host: HostConfig,
    /// The clock.
    pub clock: Clock,
    /// Claims copied into `X-Auth-Claim-<name>` headers by the forward-auth endpoint.
    pub forward_claims: Vec<String>,
    /// Scopes a route requires: (path, scopes).
    pub route_scopes: Vec<(String, Vec<String>)>,
    /// Where RSA verification runs.
    pub verify_mode: VerifyMode,
    /// Requests taking longer are answered 503.
    pub request_timeout: Duration,
}

impl Settings {
    /// The server's defaults around `host`.
    pub fn new(host: HostConfig) -> Settings {
        Settings {
            host,
            clock: Clock::System,
            forward_claims: Vec::new(),
            route_scopes: Vec::new(),
            verify_mode: VerifyMode::Inline,
            request_timeout: config::DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// Reads the `CRYPTR_*` settings (the core's reader, aliases included) and the server's
    /// forward claims, verify mode and request timeout through `get`.
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingError> {
        let host = HostConfig::from_settings(&get)?;
        Ok(Settings {
            forward_claims: config::forward_claims(&get)?,
            route_scopes: config::route_scopes(&get)?,
            verify_mode: config::verify_mode(&get)?,
            request_timeout: config::request_timeout(&get)?,
            ..Settings::new(host)
        })
    }
}

/// Why an [`AppState`] could not be built.
#[derive(Debug)]
pub enum StartError {
    /// A setting, or a combination of them, cannot work.
    Setting(SettingError),
    /// The HTTP client for the JWKS fetches could not be built.
    HttpClient(reqwest::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Setting(e) => e.fmt(f),
            StartError::HttpClient(e) => write!(f, "the HTTP client for JWKS fetches: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// One configured issuer, as the host sees it.
#[derive(Debug)]
struct IssuerSlot {
    issuer: String,
    /// Where its key set is: the JWKS URL, or the OpenID configuration that names it.
    keys_at: KeysAt,
    /// Bumped after every reported fetch of this issuer; requests told to wait watch it.
    fetched: watch::Sender<u64>,
}

#[derive(Debug)]
struct Shared {
    guard: Mutex<Guard>,
    issuers: Vec<IssuerSlot>,
    fetcher: Fetcher,
    clock: Clock,
    metrics: Metrics,
    forward_claims: Vec<String>,
    route_scopes: Vec<(String, Vec<String>)>,
    verify_mode: VerifyMode,
    request_timeout: Duration,
}

/// Where a configured issuer's key set is found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeysAt {
    /// At this JWKS URL.
    Jwks(String),
    /// At the `jwks_uri` of the OpenID configuration at this URL.
    Discovery(String),
}

/// One issuer's state for `/readyz`, `/metrics` and logs (configuration only: nothing from a
/// token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerReport {
    /// The configured issuer.
    pub issuer: String,
    /// A usable key set holding a usable key.
    pub ready: bool,
    /// Key sets installed so far.
    pub generation: u64,
    /// Failed fetches since the last success.
    pub consecutive_failures: u32,
    /// A fetch is in flight.
    pub fetch_in_flight: bool,
    /// Usable keys in the current set.
    pub usable_keys: usize,
    /// Verified tokens cached.
    pub cached_tokens: usize,
    /// Verified-token cache hits.
    pub cache_hits: u64,
    /// Verified-token cache misses.
    pub cache_misses: u64,
    /// Whether its JWKS URL is discovered (from its OpenID configuration).
    pub discovered: bool,
    /// Failed fetches of its OpenID configuration since the last success (0 without discovery).
    pub discovery_failures: u32,
}

/// What the host does after one step of the guard, with what it needs from under the lock.
// Held for one step only: boxing the verified token would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
enum Next {
    Done(Result<Verified, Rejection>),
    Verify(cryptr_guard_core::guard::VerifyJob),
    Fetch(Fetch),
    Wait(Wait, Option<watch::Receiver<u64>>),
}

/// A check is answered in a handful of steps (see `Guard::advance`); more means a bug, answered
/// 503 rather than looping.
const MAX_STEPS: usize = 16;

/// The server's state: cheap to clone, shared by every request. Extract it in handlers of a
/// larger app with `FromRef`.
#[derive(Clone, Debug)]
pub struct AppState {
    shared: Arc<Shared>,
}

impl AppState {
    /// Builds the guard and the HTTP client. Starts no task: call
    /// [`AppState::spawn_refresher`] inside the runtime.
    pub fn new(settings: Settings) -> Result<AppState, StartError> {
        // A request that waits for a key set is answered within one fetch deadline (the
        // core's guard); the request timeout must leave it that time.
        if Duration::from_secs(settings.host.settings.fetch_timeout) >= settings.request_timeout {
            return Err(StartError::Setting(SettingError {
                key: "CRYPTR_JWKS_TIMEOUT",
                problem: "must be less than the request timeout, CRYPTR_GUARD_REQUEST_TIMEOUT (--request-timeout, default 10 s): a request waiting for a key set is answered within one JWKS timeout, and must be answered before the request timeout",
            }));
        }
        let sources = settings.host.sources.clone();
        let fetcher =
            Fetcher::new(settings.host.settings.allow_http).map_err(StartError::HttpClient)?;
        let guard = settings.host.into_guard().map_err(StartError::Setting)?;
        let issuers = sources
            .into_iter()
            .map(|source| IssuerSlot {
                keys_at: match source.jwks_url {
                    Some(url) => KeysAt::Jwks(url),
                    None => KeysAt::Discovery(discovery_url(&source.issuer)),
                },
                issuer: source.issuer,
                fetched: watch::Sender::new(0),
            })
            .collect::<Vec<_>>();
        Ok(AppState {
            shared: Arc::new(Shared {
                guard: Mutex::new(guard),
                metrics: Metrics::new(issuers.len()),
                issuers,
                fetcher,
                clock: settings.clock,
                forward_claims: settings.forward_claims,
                route_scopes: settings.route_scopes,
                verify_mode: settings.verify_mode,
                request_timeout: settings.request_timeout,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Guard> {
        self.shared
            .guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Claims the forward-auth endpoint copies into headers.
    pub fn forward_claims(&self) -> &[String] {
        &self.shared.forward_claims
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        self.shared.request_timeout
    }

    /// The configured issuers with where their key sets are, in configuration order.
    pub fn issuers(&self) -> impl Iterator<Item = (&str, &KeysAt)> {
        self.shared
            .issuers
            .iter()
            .map(|slot| (slot.issuer.as_str(), &slot.keys_at))
    }

    /// Whether every configured issuer is ready, and each one's state.
    pub fn readiness(&self) -> (bool, Vec<IssuerReport>) {
        let now = self.shared.clock.now();
        let guard = self.lock();
        let reports = guard
            .issuers(now)
            .map(|status| IssuerReport {
                issuer: status.issuer.to_string(),
                ready: status.status.is_ready(),
                generation: status.status.generation,
                consecutive_failures: status.status.consecutive_failures,
                fetch_in_flight: status.status.fetch_in_flight,
                usable_keys: status.usable_keys,
                cached_tokens: status.cached_tokens,
                cache_hits: status.token_cache.hits,
                cache_misses: status.token_cache.misses,
                discovered: status.discovery.is_some(),
                discovery_failures: status
                    .discovery
                    .map_or(0, |discovery| discovery.consecutive_failures),
            })
            .collect();
        (guard.is_ready(now), reports)
    }

    /// The metrics text.
    pub fn render_metrics(&self) -> String {
        let (ready, issuers) = self.readiness();
        self.shared.metrics.render(ready, &issuers)
    }

    /// Starts the fetches the policy wants now without a request (start-up, background
    /// refreshes, retries of an issuer that is down or served no usable key); never waits.
    pub fn start_due_fetches(&self) {
        let now = self.shared.clock.now();
        let due = self.lock().due_fetches(now);
        for fetch in due {
            drop(self.spawn_fetch(fetch));
        }
    }

    /// Starts the due fetches now and then every second, for as long as the state lives. Call
    /// it inside a tokio runtime.
    pub fn spawn_refresher(&self) {
        let shared: Weak<Shared> = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                AppState { shared }.start_due_fetches();
            }
        });
    }

    /// Records a request refused before its token reached the guard (the Bearer rule).
    pub fn refused(&self, rejection: Rejection) -> AuthError {
        self.shared
            .metrics
            .authentication(rejection.code(), Duration::ZERO);
        tracing::info!(error = rejection.code(), "request refused");
        AuthError::from(rejection)
    }

    /// The scopes the route at `path` requires (none when it is not configured).
    pub fn required_scopes(&self, path: &str) -> &[String] {
        self.shared
            .route_scopes
            .iter()
            .find(|(route, _)| route == path)
            .map_or(&[], |(_, scopes)| scopes.as_slice())
    }

    /// Validates a bearer token through the guard. Counts the outcome and logs it (never the
    /// token).
    pub async fn authenticate(&self, token: &[u8]) -> Result<Verified, AuthError> {
        let start = Instant::now();
        let (outcome, issuer) = match self.shared.verify_mode {
            VerifyMode::Inline => self.run_inline(Check::new(token)).await,
            VerifyMode::BlockingPool => self.run_blocking(Check::new(token.to_vec())).await,
        };
        let elapsed = start.elapsed();
        // The issuer the guard chose is a configured one: safe to log.
        let issuer = issuer
            .and_then(|i| self.shared.issuers.get(i))
            .map(|slot| slot.issuer.as_str());
        match &outcome {
            Ok(verified) => {
                self.shared.metrics.authentication("ok", elapsed);
                tracing::debug!(issuer, kid = verified.kid(), "token accepted");
            }
            Err(rejection) => {
                self.shared
                    .metrics
                    .authentication(rejection.code(), elapsed);
                tracing::info!(
                    issuer,
                    error = rejection.code(),
                    detail = rejection.description(),
                    "token refused"
                );
            }
        }
        outcome.map_err(AuthError::Refused)
    }

    /// One step of the guard, under the lock.
    fn step<T: AsRef<[u8]>>(&self, check: &mut Check<T>) -> Next {
        let now = self.shared.clock.now();
        let mut guard = self.lock();
        match guard.advance(check, now) {
            Action::Done(answer) => Next::Done(answer),
            Action::Verify(job) => Next::Verify(job),
            Action::Fetch(fetch) => Next::Fetch(fetch),
            // Subscribed under the lock: a fetch reported after this step cannot be missed.
            Action::Wait(wait) => {
                let watched = self
                    .shared
                    .issuers
                    .get(wait.issuer())
                    .map(|slot| slot.fetched.subscribe());
                Next::Wait(wait, watched)
            }
        }
    }

    async fn run_inline(
        &self,
        mut check: Check<&[u8]>,
    ) -> (Result<Verified, Rejection>, Option<usize>) {
        for _ in 0..MAX_STEPS {
            match self.step(&mut check) {
                Next::Done(answer) => return (answer, check.issuer()),
                Next::Verify(job) => check.verify(job),
                Next::Fetch(fetch) => self.fetch(fetch).await,
                Next::Wait(wait, watched) => wait_for_fetch(wait, watched).await,
            }
        }
        (Err(self.runaway()), check.issuer())
    }

    async fn run_blocking(
        &self,
        mut check: Check<Vec<u8>>,
    ) -> (Result<Verified, Rejection>, Option<usize>) {
        for _ in 0..MAX_STEPS {
            match self.step(&mut check) {
                Next::Done(answer) => return (answer, check.issuer()),
                Next::Verify(job) => {
                    let verified = tokio::task::spawn_blocking(move || {
                        check.verify(job);
                        check
                    })
                    .await;
                    check = match verified {
                        Ok(check) => check,
                        Err(e) => {
                            tracing::error!(error = %e, "the verification task failed");
                            return (Err(Rejection::unavailable(1)), None);
                        }
                    };
                }
                Next::Fetch(fetch) => self.fetch(fetch).await,
                Next::Wait(wait, watched) => wait_for_fetch(wait, watched).await,
            }
        }
        (Err(self.runaway()), check.issuer())
    }

    fn runaway(&self) -> Rejection {
        tracing::error!("a check did not end within {MAX_STEPS} steps of the guard");
        Rejection::unavailable(1)
    }

    /// Runs a fetch the guard asked for: a background one is left running, another is awaited.
    /// Either way it runs in its own task, so that a request that goes away never strands it.
    async fn fetch(&self, fetch: Fetch) {
        let background = fetch.is_background();
        let task = self.spawn_fetch(fetch);
        if !background {
            let _ = task.await;
        }
    }

    fn spawn_fetch(&self, fetch: Fetch) -> tokio::task::JoinHandle<()> {
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            let index = fetch.issuer();
            let kind = fetch.kind();
            let reason = fetch.reason();
            let url = fetch.url().to_string();
            let fetched = shared
                .fetcher
                .get(
                    &url,
                    Duration::from_secs(fetch.timeout()),
                    fetch.max_bytes(),
                )
                .await;
            let now = shared.clock.now();
            let report = shared
                .guard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .fetch_done(fetch, fetched.result(), now);
            shared.metrics.fetch(index, kind, report.label());
            let issuer = shared
                .issuers
                .get(index)
                .map_or("", |slot| slot.issuer.as_str());
            crate::jwks::log_fetch(issuer, &url, kind, reason, &report, &fetched);
            if let Some(slot) = shared.issuers.get(index) {
                slot.fetched.send_modify(|n| *n = n.wrapping_add(1));
            }
        })
    }
}

async fn wait_for_fetch(wait: Wait, watched: Option<watch::Receiver<u64>>) {
    let limit = Duration::from_secs(wait.timeout());
    match watched {
        Some(mut watched) => {
            let _ = tokio::time::timeout(limit, watched.changed()).await;
        }
        None => tokio::time::sleep(limit).await,
    }
}
