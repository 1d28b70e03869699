//! The shared state of the server and the authentication pipeline.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cryptr_guard_core::cache::CacheConfig;
use cryptr_guard_core::{ErrorKind, KeySet, Options, TokenCache, TokenKey, Validator, Verified};

use crate::clock::Clock;
use crate::error::AuthError;
use crate::jwks::{FetchConfig, Jwks};
use crate::metrics::{Gauges, Metrics};

/// Where RSA verification runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VerifyMode {
    /// On the async worker that handles the request (about 100 µs for a 4096-bit key: cheaper
    /// than a hand-off; see server/README.md for the measurement).
    #[default]
    Inline,
    /// On tokio's blocking pool (`spawn_blocking`).
    BlockingPool,
}

/// Everything that configures an [`AppState`].
#[derive(Clone, Debug)]
pub struct Settings {
    /// The validation options (issuers, audiences, leeway, …).
    pub options: Options,
    /// How to fetch the JWKS.
    pub fetch: FetchConfig,
    /// The key-set cache policy (SPEC §4 defaults).
    pub policy: CacheConfig,
    /// Capacity of the verified-token cache (0 disables it).
    pub token_cache: usize,
    /// The clock.
    pub clock: Clock,
    /// Claims copied into `X-Auth-Claim-<name>` headers by the forward-auth endpoint.
    pub forward_claims: Vec<String>,
    /// Where RSA verification runs.
    pub verify_mode: VerifyMode,
    /// Requests taking longer are answered 503.
    pub request_timeout: Duration,
}

impl Settings {
    /// Settings with the defaults for these options and JWKS URL.
    pub fn new(options: Options, jwks_url: impl Into<String>) -> Self {
        Settings {
            options,
            fetch: FetchConfig::new(jwks_url),
            policy: CacheConfig::default(),
            token_cache: cryptr_guard_core::verified_cache::DEFAULT_CAPACITY,
            clock: Clock::System,
            forward_claims: Vec::new(),
            verify_mode: VerifyMode::Inline,
            request_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug)]
struct Shared {
    validator: Arc<Validator>,
    jwks: Arc<Jwks>,
    tokens: Option<Mutex<TokenCache>>,
    clock: Clock,
    metrics: Arc<Metrics>,
    forward_claims: Vec<String>,
    verify_mode: VerifyMode,
    request_timeout: Duration,
}

/// The server's state: cheap to clone, shared by every request. Extract it in handlers of a
/// larger app with `FromRef`.
#[derive(Clone, Debug)]
pub struct AppState {
    shared: Arc<Shared>,
}

impl AppState {
    /// Builds the state; a configuration mistake is reported as a sentence.
    pub fn new(settings: Settings) -> Result<AppState, String> {
        let validator = Validator::new(settings.options).map_err(|e| e.to_string())?;
        let metrics = Arc::new(Metrics::default());
        let jwks = Jwks::new(
            settings.fetch,
            settings.policy,
            settings.clock.clone(),
            Arc::clone(&metrics),
        )?;
        let tokens =
            (settings.token_cache > 0).then(|| Mutex::new(TokenCache::new(settings.token_cache)));
        Ok(AppState {
            shared: Arc::new(Shared {
                validator: Arc::new(validator),
                jwks: Arc::new(jwks),
                tokens,
                clock: settings.clock,
                metrics,
                forward_claims: settings.forward_claims,
                verify_mode: settings.verify_mode,
                request_timeout: settings.request_timeout,
            }),
        })
    }

    /// The key-set source.
    pub fn jwks(&self) -> &Arc<Jwks> {
        &self.shared.jwks
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

    /// Starts the first JWKS fetch without waiting for a request.
    pub fn warm_up(&self) {
        self.shared.jwks.kick();
    }

    /// The metrics text.
    pub fn render_metrics(&self) -> String {
        let status = self.shared.jwks.status();
        let mut gauges = Gauges {
            ready: status.is_ready(),
            generation: status.generation,
            consecutive_failures: status.consecutive_failures,
            ..Gauges::default()
        };
        if let Some(tokens) = &self.shared.tokens {
            let tokens = tokens.lock().unwrap_or_else(PoisonError::into_inner);
            let stats = tokens.stats();
            gauges.cache_hits = stats.hits;
            gauges.cache_misses = stats.misses;
            gauges.cache_entries = tokens.len();
        }
        self.shared.metrics.render(&gauges)
    }

    /// Validates a bearer token: key set from the cache policy, verified-token cache, one
    /// refetch and retry on `unknown_key`. Counts the outcome and logs it (never the token).
    pub async fn authenticate(&self, token: &[u8]) -> Result<Verified, AuthError> {
        let start = Instant::now();
        let outcome = self.authenticate_inner(token).await;
        let elapsed = start.elapsed();
        match &outcome {
            Ok(verified) => {
                self.shared.metrics.authentication("ok", elapsed);
                tracing::debug!(kid = ?verified.kid(), "token accepted");
            }
            Err(e) => {
                self.shared.metrics.authentication(e.code(), elapsed);
                tracing::info!(error = e.code(), detail = e.description(), "token refused");
            }
        }
        outcome
    }

    /// Records an outcome decided before validation (Authorization header syntax).
    pub fn refused(&self, error: AuthError) -> AuthError {
        self.shared
            .metrics
            .authentication(error.code(), Duration::ZERO);
        tracing::info!(error = error.code(), "request refused");
        error
    }

    async fn authenticate_inner(&self, token: &[u8]) -> Result<Verified, AuthError> {
        let jwks = &self.shared.jwks;
        let keys = jwks.keys().await?;
        match self.verify(token, &keys).await {
            Err(e) if e.kind() == ErrorKind::UnknownKey => {
                match jwks.refetch_for_unknown_key(&keys).await {
                    Some(fresh) => self.verify(token, &fresh).await.map_err(AuthError::from),
                    None => Err(AuthError::from(e)),
                }
            }
            other => other.map_err(AuthError::from),
        }
    }

    async fn verify(
        &self,
        token: &[u8],
        keys: &Arc<KeySet>,
    ) -> Result<Verified, cryptr_guard_core::Error> {
        let shared = &self.shared;
        let now = shared.clock.now();
        let Some(tokens) = &shared.tokens else {
            return self.run_validate(token, keys, now).await;
        };
        // Hash outside the lock; lock only around the lookup and the insertion.
        let key = TokenKey::new(&shared.validator, keys, token);
        let hit =
            tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&key, &shared.validator, now);
        if let Some(answer) = hit {
            return answer;
        }
        let verified = self.run_validate(token, keys, now).await?;
        tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(&key, &verified);
        Ok(verified)
    }

    async fn run_validate(
        &self,
        token: &[u8],
        keys: &Arc<KeySet>,
        now: u64,
    ) -> Result<Verified, cryptr_guard_core::Error> {
        let validator = &self.shared.validator;
        match self.shared.verify_mode {
            VerifyMode::Inline => validator.validate(token, keys, now),
            VerifyMode::BlockingPool => {
                let (validator, keys, token) =
                    (Arc::clone(validator), Arc::clone(keys), token.to_vec());
                tokio::task::spawn_blocking(move || validator.validate(&token, &keys, now))
                    .await
                    .unwrap_or_else(|_| {
                        tracing::error!("verification task failed");
                        Err(cryptr_guard_core::Error::new(
                            ErrorKind::JwksUnavailable,
                            "the verification could not run",
                        ))
                    })
            }
        }
    }
}
