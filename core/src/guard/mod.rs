//! The guard: everything a host needs between "a request came with a token" and "answer it",
//! decided once, sans I/O.
//!
//! A [`Guard`] owns, for each configured issuer, its JWKS URL, its key-set cache
//! ([`KeySetCache`]) and its verified-token cache ([`TokenCache`]); and one [`Validator`]. It
//! decides when to fetch, which key set a token is checked against (SPEC §8), when an unknown
//! key is worth a refetch and a retry, whether the issuer is ready, and what a failure answers.
//! The host does the HTTP, keeps the clock, holds the guard behind its lock and runs the RSA
//! work outside that lock. An issuer configured without a JWKS URL
//! ([`IssuerSource::discover`]) gets it from its OpenID configuration
//! ([`discovery_url`]): the guard asks for that document first, as one more [`Fetch`] the host
//! runs like any other, and caches it under the key-set policy:
//!
//! ```text
//! let mut check = Check::new(token);
//! loop {
//!     match lock(guard).advance(&mut check, now()) {
//!         Action::Done(answer) => return answer,          // Ok(Verified) or Err(Rejection)
//!         Action::Verify(job) => check.verify(job),        // RSA, outside the lock
//!         Action::Fetch(fetch) => {                        // HTTP GET with the host's client
//!             let result = http_get(&fetch);               // (or in the background when
//!             lock(guard).fetch_done(fetch, result, now()); //  fetch.is_background())
//!         }
//!         Action::Wait(wait) => wait_for_any_fetch(wait.timeout()),
//!     }
//! }
//! ```
//!
//! The loop ends, and within one fetch deadline: a check's blocking steps (fetches it runs,
//! waits for another request's fetch) together stay within [`GuardSettings::fetch_timeout`], to
//! the core's one-second resolution. A blocking fetch starts only in the second the check began
//! (the host bounds it by [`Fetch::timeout`]); a wait lasts at most what is left of that
//! deadline; past it the check answers from the key set it has, or `jwks_unavailable` with
//! `Retry-After`. So a request that must wait for a key set is answered by the deadline, and a
//! host whose own request timeout is longer than the fetch deadline (by a second) always gets
//! the guard's answer first. A check asks for at most two blocking steps (its key set, then
//! one refetch for an unknown key when the first step took under a second; or, for an issuer
//! whose JWKS URL is discovered, its OpenID configuration, then its key set within what is left
//! of the deadline).

mod config;
mod discovery;
mod fetch;
mod settings;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

pub use config::{
    DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_JWKS_BYTES, DEFAULT_TOKEN_CACHE_CAPACITY, GuardSettings,
    IssuerSource, check_discovery_issuer, check_url, cryptr_issuers, discovery_url,
};
pub use fetch::{Fetch, FetchFailure, FetchKind, FetchReport, FetchResult};
pub use settings::{
    ALIASES, HostConfig, SETTINGS, SettingError, parse_bool, parse_count, parse_list,
};

use crate::error::{ConfigError, Error, ErrorKind};
use crate::http::Rejection;
use crate::jwk::KeySet;
use crate::keyset_cache::{Decision, FetchTicket, KeySetCache, Status};
use crate::options::Options;
use crate::token_cache::{TokenCache, TokenKey};
use crate::validator::{Selected, Validator, Verified};

/// One key set (one JWKS URL) and its caches. Issuers that publish their keys at the same URL
/// share it: it is fetched once, and a guard with one key set validates by SPEC §2 alone. An
/// issuer whose JWKS URL is discovered has a key set of its own (its URL is not known when the
/// guard is built).
#[derive(Debug)]
struct KeySource {
    /// The configured JWKS URL; `None` when it is discovered.
    url: Option<String>,
    /// The issuer's OpenID configuration, when the JWKS URL is discovered.
    discovery: Option<Discovery>,
    /// The first configured issuer using this key set (what a host's logs and metrics name).
    first_issuer: usize,
    keys: KeySetCache<KeySet>,
    tokens: TokenCache,
}

/// An issuer's OpenID configuration, cached under the key-set policy (freshness, grace, backoff,
/// one fetch at a time): what it holds is its `jwks_uri`.
#[derive(Debug)]
struct Discovery {
    /// `{issuer}/.well-known/openid-configuration`.
    url: String,
    /// The issuer the document must name.
    issuer: String,
    document: KeySetCache<String>,
}

impl KeySource {
    /// The URL of the key set at `now`: the configured one, or the `jwks_uri` of the issuer's
    /// OpenID configuration while that document is usable (fresh, or stale within its grace).
    fn jwks_url(&self, now: u64) -> Option<&str> {
        match &self.discovery {
            None => self.url.as_deref(),
            Some(discovery) => discovery.document.current(now).map(|uri| uri.as_str()),
        }
    }
}

/// The guard of a protected resource (see the [module documentation](self)).
#[derive(Debug)]
pub struct Guard {
    validator: Arc<Validator>,
    sources: Vec<IssuerSource>,
    /// Issuer index → index of its key set in `sets`.
    set_of: Vec<usize>,
    sets: Vec<KeySource>,
    settings: GuardSettings,
}

/// What the host does next for a [`Check`] ([`Guard::advance`]).
// The verified token travels by value: an action lives for one step, and boxing it would cost
// an allocation per request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
#[must_use]
pub enum Action {
    /// Answer the request: the verified token, or why it is refused ([`Rejection::answer`]
    /// gives the HTTP answer).
    Done(Result<Verified, Rejection>),
    /// Verify the signature and claims with [`Check::verify`], outside the host's lock, then
    /// advance again.
    Verify(VerifyJob),
    /// Run this fetch and report it ([`Guard::fetch_done`]), then advance again. A background
    /// fetch may be run concurrently (advance at once).
    Fetch(Fetch),
    /// Another request's fetch of this key set (or of its issuer's OpenID configuration) is in
    /// flight: wait until a fetch is reported or [`Wait::timeout`] seconds have passed, then
    /// advance again.
    Wait(Wait),
}

/// A wait for another request's fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    issuer: usize,
    key_set: usize,
    timeout: u64,
}

impl Wait {
    /// The (first) issuer of the key set whose fetch is awaited.
    pub fn issuer(&self) -> usize {
        self.issuer
    }

    /// The index of the key set whose fetch is awaited (issuers sharing a JWKS URL share it).
    pub fn key_set(&self) -> usize {
        self.key_set
    }

    /// The longest to wait, in seconds.
    pub fn timeout(&self) -> u64 {
        self.timeout
    }
}

/// The signature and claims check of a [`Check`], to run outside the host's lock.
#[derive(Debug)]
pub struct VerifyJob {
    validator: Arc<Validator>,
    keys: Arc<KeySet>,
    generation: u64,
    cache_key: Option<TokenKey>,
    now: u64,
}

/// Where a check stands.
// As for `Action`: the outcome is held by value for the one step until it is judged.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Stage {
    /// Nothing done yet.
    Start,
    /// Steps 1–6 passed and the issuer is chosen; a key set is needed.
    Keys,
    /// A [`VerifyJob`] is out.
    Verifying,
    /// The job's outcome, to be judged under the lock.
    Verified {
        generation: u64,
        cache_key: Option<TokenKey>,
        outcome: Result<Verified, Error>,
    },
    /// The answer was given.
    Done,
}

/// One request's way through the guard: the token, and how far it got. `T` holds the token
/// bytes (`&[u8]`, `Vec<u8>`, …).
#[derive(Debug)]
pub struct Check<T> {
    token: T,
    selected: Option<Selected>,
    /// The key set chosen for the token.
    set: usize,
    stage: Stage,
    /// `now` at the check's first step: the start of its fetch deadline.
    started: Option<u64>,
    /// Blocking fetches and waits for a key set so far.
    round_trips: u8,
    /// Whether the unknown-key refetch-and-retry was used.
    retried: bool,
    /// Whether the check fetched, or waited for, its issuer's OpenID configuration.
    discovered: bool,
}

/// Blocking fetches or waits a check may do for its key set (the unknown-key retry adds one).
const MAX_ROUND_TRIPS: u8 = 2;

impl<T: AsRef<[u8]>> Check<T> {
    /// A check of `token` (the bytes of `Authorization: Bearer <token>`).
    pub fn new(token: T) -> Check<T> {
        Check {
            token,
            selected: None,
            set: 0,
            stage: Stage::Start,
            started: None,
            round_trips: 0,
            retried: false,
            discovered: false,
        }
    }

    /// The token.
    pub fn token(&self) -> &T {
        &self.token
    }

    /// The index of the issuer chosen for this token, once it is known.
    pub fn issuer(&self) -> Option<usize> {
        self.selected.as_ref().map(Selected::issuer_index)
    }

    /// Seconds since the check's first step (0 if the clock went back).
    fn spent(&self, now: u64) -> u64 {
        self.started
            .map_or(0, |started| now.saturating_sub(started))
    }

    /// What is left of the check's fetch deadline for a wait, if anything: a wait needs a
    /// second at least, and a check makes at most [`MAX_ROUND_TRIPS`] blocking steps.
    fn wait_budget(&self, deadline: u64, now: u64) -> Option<u64> {
        let left = deadline.saturating_sub(self.spent(now));
        (left > 0 && self.round_trips < MAX_ROUND_TRIPS).then_some(left)
    }

    /// Whether a blocking fetch may start: only in the second the check began (the fetch has the
    /// whole deadline), and within [`MAX_ROUND_TRIPS`].
    fn may_fetch(&self, now: u64) -> bool {
        self.spent(now) == 0 && self.round_trips < MAX_ROUND_TRIPS
    }

    /// The deadline of a blocking key-set fetch the check may start now, if it may: the whole
    /// deadline in the second the check began; after its step for the OpenID configuration, what
    /// is left of it (a second at least), so that the two end within the deadline, to the core's
    /// one-second resolution; within [`MAX_ROUND_TRIPS`] either way.
    fn fetch_budget(&self, deadline: u64, now: u64) -> Option<u64> {
        if self.round_trips >= MAX_ROUND_TRIPS {
            return None;
        }
        match self.spent(now) {
            0 => Some(deadline),
            spent if self.discovered => {
                Some(deadline.saturating_sub(spent)).filter(|&left| left > 0)
            }
            _ => None,
        }
    }

    /// Runs a [`VerifyJob`] (SPEC §2 steps 7–15: the RSA work): call it without the host's lock,
    /// then advance again.
    pub fn verify(&mut self, job: VerifyJob) {
        let outcome = match &self.selected {
            Some(selected) => {
                job.validator
                    .validate_selected(selected, self.token.as_ref(), &job.keys, job.now)
            }
            None => Err(Error::new(
                ErrorKind::JwksUnavailable,
                "a verification was run out of order",
            )),
        };
        self.stage = Stage::Verified {
            generation: job.generation,
            cache_key: job.cache_key,
            outcome,
        };
    }
}

/// One issuer's readiness and fetch state ([`Guard::issuers`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerStatus<'a> {
    /// The issuer.
    pub issuer: &'a str,
    /// Its JWKS URL: the configured one, or the discovered one (`None` before its OpenID
    /// configuration is fetched, and once that is past its grace).
    pub jwks_url: Option<&'a str>,
    /// For an issuer whose JWKS URL is discovered: the URL of its OpenID configuration.
    pub discovery_url: Option<&'a str>,
    /// For an issuer whose JWKS URL is discovered: the state of its OpenID configuration's cache
    /// (readiness is the key set's, [`status`](Self::status)).
    pub discovery: Option<Status>,
    /// The key-set cache's state; [`Status::is_ready`] is the readiness.
    pub status: Status,
    /// The usable keys of the current set.
    pub usable_keys: usize,
    /// Entries of the verified-token cache.
    pub cached_tokens: usize,
    /// Hits and misses of the verified-token cache.
    pub token_cache: crate::token_cache::Stats,
}

impl Guard {
    /// A guard for `options` whose accepted issuers are exactly the `sources`' issuers, each
    /// with its own key set (issuers with the same JWKS URL share one). A configuration mistake
    /// is a [`ConfigError`]: an issuer of the options without a source (or the reverse), an
    /// issuer with two sources, a URL that is not `https` (unless allowed; for an issuer whose
    /// JWKS URL is discovered, the issuer itself, see [`check_discovery_issuer`]), settings out
    /// of range, or invalid options.
    pub fn new(
        options: Options,
        sources: Vec<IssuerSource>,
        settings: GuardSettings,
    ) -> Result<Guard, ConfigError> {
        settings.check()?;
        if sources.is_empty() {
            return Err(ConfigError("at least one issuer is required"));
        }
        for (i, source) in sources.iter().enumerate() {
            match &source.jwks_url {
                Some(url) => check_url(url, settings.allow_http)?,
                None => check_discovery_issuer(&source.issuer, settings.allow_http)?,
            }
            if sources[..i].iter().any(|s| s.issuer == source.issuer) {
                return Err(ConfigError("an issuer is configured twice"));
            }
        }
        let issuers = options.issuers();
        if issuers.len() != sources.len()
            || !issuers
                .iter()
                .all(|i| sources.iter().any(|s| &s.issuer == i))
        {
            return Err(ConfigError(
                "every accepted issuer needs exactly one JWKS URL, and only accepted issuers have one",
            ));
        }
        // The validator's issuer list follows the sources, so an issuer's index is the same in
        // both.
        let options = options.with_issuers(sources.iter().map(|s| s.issuer.clone()));
        let validator = Arc::new(Validator::new(options)?);
        let mut sets: Vec<KeySource> = Vec::new();
        let mut set_of = Vec::with_capacity(sources.len());
        for (index, source) in sources.iter().enumerate() {
            let shared = source
                .jwks_url
                .as_ref()
                .and_then(|url| sets.iter().position(|set| set.url.as_ref() == Some(url)));
            let set = match shared {
                Some(set) => set,
                None => {
                    sets.push(KeySource {
                        url: source.jwks_url.clone(),
                        discovery: source.jwks_url.is_none().then(|| Discovery {
                            url: discovery_url(&source.issuer),
                            issuer: source.issuer.clone(),
                            document: KeySetCache::new(settings.policy),
                        }),
                        first_issuer: index,
                        keys: KeySetCache::new(settings.policy),
                        tokens: TokenCache::new(settings.token_cache_capacity),
                    });
                    sets.len() - 1
                }
            };
            set_of.push(set);
        }
        Ok(Guard {
            validator,
            sources,
            set_of,
            sets,
            settings,
        })
    }

    /// The validator (its options).
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The settings.
    pub fn settings(&self) -> &GuardSettings {
        &self.settings
    }

    /// Each configured issuer's state, in configuration order, for readiness probes, metrics and
    /// logs.
    pub fn issuers(&self, now: u64) -> impl Iterator<Item = IssuerStatus<'_>> {
        self.sources
            .iter()
            .zip(&self.set_of)
            .filter_map(move |(source, &set)| {
                let set = self.sets.get(set)?;
                Some(IssuerStatus {
                    issuer: &source.issuer,
                    jwks_url: set.jwks_url(now),
                    discovery_url: set.discovery.as_ref().map(|d| d.url.as_str()),
                    discovery: set.discovery.as_ref().map(|d| d.document.status(now)),
                    status: set.keys.status(now),
                    usable_keys: set.keys.current(now).map_or(0, |keys| keys.keys().len()),
                    cached_tokens: set.tokens.len(),
                    token_cache: set.tokens.stats(),
                })
            })
    }

    /// Whether every configured issuer is ready: a usable key set holding a usable key.
    pub fn is_ready(&self, now: u64) -> bool {
        self.issuers(now).all(|status| status.status.is_ready())
    }

    /// The fetches the policy wants started now, without a request: at start-up (so the first
    /// request finds a key set) and from a host's periodic timer (background refreshes, and the
    /// retries of an issuer that is down or served no usable key). For an issuer whose JWKS URL
    /// is discovered, its key set is due only once its OpenID configuration is installed: a
    /// warm-up calls again after a round in which a fetch installed something
    /// ([`FetchReport::installed`]), until a round installs nothing or nothing is due.
    pub fn due_fetches(&mut self, now: u64) -> Vec<Fetch> {
        let settings = self.settings;
        let mut due = Vec::new();
        for (index, set) in self.sets.iter_mut().enumerate() {
            if let Some(discovery) = &mut set.discovery
                && let Some(ticket) = discovery.document.poll(now).ticket()
            {
                let timeout = settings.fetch_timeout;
                let first = set.first_issuer;
                due.push(discovery_fetch(
                    &settings, index, first, discovery, ticket, true, timeout,
                ));
            }
            if set.jwks_url(now).is_some()
                && let Some(ticket) = set.keys.poll(now).ticket()
            {
                due.push(key_fetch(&settings, index, set, ticket, true, now));
            }
        }
        due
    }

    /// Reports what came of a [`Fetch`]: installs the key set of a 200 response whose body is a
    /// valid JWKS (or the `jwks_uri` of an OpenID configuration that names the issuer), or counts
    /// a failure (any other status, a timeout, a body over the limit, a network failure, an
    /// invalid document). Returns what happened, for the host's logs.
    pub fn fetch_done(&mut self, fetch: Fetch, result: FetchResult<'_>, now: u64) -> FetchReport {
        let body = body_of(result, self.settings.max_jwks_bytes);
        match fetch.kind {
            FetchKind::KeySet => self.key_set_done(fetch, body, now),
            FetchKind::Discovery => self.discovery_done(fetch, body, now),
        }
    }

    fn discovery_done(
        &mut self,
        fetch: Fetch,
        body: Result<(&[u8], Option<&str>), FetchFailure>,
        now: u64,
    ) -> FetchReport {
        let allow_http = self.settings.allow_http;
        let Some(discovery) = self
            .sets
            .get_mut(fetch.key_set)
            .and_then(|set| set.discovery.as_mut())
        else {
            return FetchReport::Superseded;
        };
        let parsed = body.and_then(|(body, cache_control)| {
            discovery::jwks_uri(body, &discovery.issuer, allow_http).map(|uri| (uri, cache_control))
        });
        match parsed {
            Ok((jwks_uri, cache_control)) => {
                let document = &mut discovery.document;
                if document.fetch_succeeded(fetch.ticket, now, jwks_uri.clone(), cache_control) {
                    FetchReport::Discovered { jwks_uri }
                } else {
                    FetchReport::Superseded
                }
            }
            Err(failure) => {
                discovery.document.fetch_failed(fetch.ticket, now);
                FetchReport::Failed(failure)
            }
        }
    }

    fn key_set_done(
        &mut self,
        fetch: Fetch,
        body: Result<(&[u8], Option<&str>), FetchFailure>,
        now: u64,
    ) -> FetchReport {
        let key_set_options = self.settings.key_set;
        let Some(issuer) = self.sets.get_mut(fetch.key_set) else {
            return FetchReport::Superseded;
        };
        let ticket = fetch.ticket;
        let parsed = body.and_then(|(body, cache_control)| {
            KeySet::from_jwks_with(body, &key_set_options)
                .map(|set| (set, cache_control))
                .map_err(FetchFailure::InvalidJwks)
        });
        match parsed {
            Ok((set, cache_control)) => {
                let usable = set.keys().len();
                let skipped = set.skipped().to_vec();
                let installed = if usable == 0 {
                    issuer
                        .keys
                        .fetch_succeeded_unready(ticket, now, set, cache_control)
                } else {
                    issuer.keys.fetch_succeeded(ticket, now, set, cache_control)
                };
                match (installed, usable) {
                    (false, _) => FetchReport::Superseded,
                    (true, 0) => FetchReport::NoUsableKey { skipped },
                    (true, _) => FetchReport::Installed { usable, skipped },
                }
            }
            Err(failure) => {
                issuer.keys.fetch_failed(ticket, now);
                FetchReport::Failed(failure)
            }
        }
    }

    /// Moves `check` one step on at `now` (see the [module documentation](self)).
    pub fn advance<T: AsRef<[u8]>>(&mut self, check: &mut Check<T>, now: u64) -> Action {
        if check.started.is_none() {
            check.started = Some(now);
        }
        let action = match core::mem::replace(&mut check.stage, Stage::Done) {
            Stage::Start => self.start(check, now),
            Stage::Keys => self.keys(check, now),
            Stage::Verifying => Action::Done(Err(Rejection::unavailable(1))),
            Stage::Verified {
                generation,
                cache_key,
                outcome,
            } => self.judge(check, generation, cache_key, outcome, now),
            Stage::Done => Action::Done(Err(Rejection::Token(Error::new(
                ErrorKind::MalformedToken,
                "this check was already answered",
            )))),
        };
        check.stage = match &action {
            Action::Done(_) => Stage::Done,
            Action::Verify(_) => Stage::Verifying,
            Action::Fetch(_) | Action::Wait(_) => Stage::Keys,
        };
        action
    }

    /// Steps 1–6 and the choice of the key set (SPEC §8 with several issuers, §2 with one).
    fn start<T: AsRef<[u8]>>(&mut self, check: &mut Check<T>, now: u64) -> Action {
        let token = check.token.as_ref();
        // One key set: SPEC §2, even when several issuers are accepted; several: SPEC §8.
        let selected = if self.sets.len() == 1 {
            self.validator.prepare(token)
        } else {
            self.validator.select(token)
        };
        match selected {
            Ok(selected) => {
                check.set = self
                    .set_of
                    .get(selected.issuer_index())
                    .copied()
                    .unwrap_or(0);
                check.selected = Some(selected);
                self.keys(check, now)
            }
            Err(e) => Action::Done(Err(Rejection::Token(e))),
        }
    }

    /// With a chosen issuer: the key set to verify against, a token-cache hit, a fetch, a wait
    /// or `jwks_unavailable`.
    fn keys<T: AsRef<[u8]>>(&mut self, check: &mut Check<T>, now: u64) -> Action {
        let settings = self.settings;
        let index = check.set;
        let Some(issuer) = self.sets.get_mut(index) else {
            return Action::Done(Err(Rejection::unavailable(1)));
        };
        if let Some(action) = discover(&settings, index, issuer, check, now) {
            return action;
        }
        // Past the second it began, a check may no longer start a fetch (it could not end
        // within the deadline): it is not offered one. It uses the current set, waits for a
        // fetch in flight within what is left of its deadline, or answers `jwks_unavailable`.
        // Without a URL (a discovered one past its grace) the key set is not fetched either.
        let budget = check.fetch_budget(settings.fetch_timeout, now);
        let decision = if budget.is_some() && issuer.jwks_url(now).is_some() {
            issuer.keys.poll(now)
        } else if issuer.keys.current(now).is_some() {
            Decision::UseCurrent
        } else if issuer.keys.fetch_in_flight(now) {
            Decision::Wait
        } else {
            Decision::Unavailable
        };
        let unavailable = |issuer: &KeySource, detail| {
            Action::Done(Err(Rejection::Unavailable {
                retry_after: issuer.keys.retry_after(now),
                detail,
            }))
        };
        match decision {
            Decision::UseCurrent | Decision::Refresh(_) => {
                if let Decision::Refresh(ticket) = decision {
                    return Action::Fetch(key_fetch(&settings, index, issuer, ticket, true, now));
                }
                let Some(keys) = issuer.keys.current(now).cloned() else {
                    return unavailable(issuer, ErrorKind::JwksUnavailable.description());
                };
                if keys.keys().is_empty() {
                    return unavailable(
                        issuer,
                        "the issuer's key set holds no usable key; it is fetched again",
                    );
                }
                let cache_key = (issuer.tokens.capacity() > 0)
                    .then(|| TokenKey::new(&self.validator, &keys, check.token.as_ref()));
                if let Some(key) = &cache_key
                    && let Some(answer) = issuer.tokens.get(key, &self.validator, now)
                {
                    return Action::Done(answer.map_err(Rejection::Token));
                }
                Action::Verify(VerifyJob {
                    validator: Arc::clone(&self.validator),
                    keys,
                    generation: issuer.keys.generation(),
                    cache_key,
                    now,
                })
            }
            Decision::Fetch(ticket) => {
                check.round_trips = check.round_trips.saturating_add(1);
                let mut fetch = key_fetch(&settings, index, issuer, ticket, false, now);
                fetch.timeout = budget.unwrap_or(fetch.timeout);
                Action::Fetch(fetch)
            }
            Decision::Wait => match check.wait_budget(settings.fetch_timeout, now) {
                Some(timeout) => {
                    check.round_trips = check.round_trips.saturating_add(1);
                    Action::Wait(Wait {
                        issuer: issuer.first_issuer,
                        key_set: index,
                        timeout,
                    })
                }
                None => unavailable(issuer, ErrorKind::JwksUnavailable.description()),
            },
            Decision::Unavailable => unavailable(issuer, ErrorKind::JwksUnavailable.description()),
        }
    }

    /// The verification's outcome: cache a success; on `unknown_key`, retry once against a
    /// newer set, refetching first when the policy allows.
    fn judge<T: AsRef<[u8]>>(
        &mut self,
        check: &mut Check<T>,
        generation: u64,
        cache_key: Option<TokenKey>,
        outcome: Result<Verified, Error>,
        now: u64,
    ) -> Action {
        let settings = self.settings;
        let index = check.set;
        let Some(issuer) = self.sets.get_mut(index) else {
            return Action::Done(Err(Rejection::unavailable(1)));
        };
        match outcome {
            Ok(verified) => {
                if let Some(key) = &cache_key
                    && issuer.keys.generation() == generation
                {
                    issuer.tokens.insert(key, &verified);
                }
                Action::Done(Ok(verified))
            }
            Err(e) if e.kind() == ErrorKind::UnknownKey && !check.retried => {
                check.retried = true;
                if issuer.keys.generation() != generation {
                    // A newer set arrived meanwhile: retry against it.
                    return self.keys(check, now);
                }
                // Within the check's deadline only: a refetch in the second it began, or a
                // wait for a fetch in flight within what is left.
                if check.may_fetch(now)
                    && issuer.jwks_url(now).is_some()
                    && let Some(ticket) = issuer.keys.unknown_key(now)
                {
                    check.round_trips = check.round_trips.saturating_add(1);
                    return Action::Fetch(key_fetch(&settings, index, issuer, ticket, false, now));
                }
                if issuer.keys.fetch_in_flight(now)
                    && let Some(timeout) = check.wait_budget(settings.fetch_timeout, now)
                {
                    check.round_trips = check.round_trips.saturating_add(1);
                    return Action::Wait(Wait {
                        issuer: issuer.first_issuer,
                        key_set: index,
                        timeout,
                    });
                }
                Action::Done(Err(Rejection::Token(e)))
            }
            Err(e) => Action::Done(Err(Rejection::from(e))),
        }
    }
}

/// For an issuer whose JWKS URL is discovered: the step its OpenID configuration needs first,
/// if any. With a usable key set, or a usable `jwks_uri`, nothing holds the check up: a fetch
/// of the document that is due is a background one. Without either, the check fetches the
/// document (or waits for another request's fetch of it) within its deadline, or is answered
/// `jwks_unavailable`.
fn discover<T: AsRef<[u8]>>(
    settings: &GuardSettings,
    index: usize,
    source: &mut KeySource,
    check: &mut Check<T>,
    now: u64,
) -> Option<Action> {
    let keys_usable = source.keys.current(now).is_some();
    let first = source.first_issuer;
    let discovery = source.discovery.as_mut()?;
    let timeout = settings.fetch_timeout;
    if keys_usable || discovery.document.current(now).is_some() {
        // As for a key set: a background refresh is offered in the check's first second.
        if check.may_fetch(now)
            && let Some(ticket) = discovery.document.poll(now).ticket()
        {
            let fetch = discovery_fetch(settings, index, first, discovery, ticket, true, timeout);
            return Some(Action::Fetch(fetch));
        }
        return None;
    }
    let decision = if check.may_fetch(now) {
        discovery.document.poll(now)
    } else if discovery.document.fetch_in_flight(now) {
        Decision::Wait
    } else {
        Decision::Unavailable
    };
    let unavailable = |discovery: &Discovery| {
        Some(Action::Done(Err(Rejection::Unavailable {
            retry_after: discovery.document.retry_after(now),
            detail: "the issuer's OpenID configuration (where its key set is) is not available; it is fetched again",
        })))
    };
    match decision {
        Decision::Fetch(ticket) | Decision::Refresh(ticket) => {
            check.round_trips = check.round_trips.saturating_add(1);
            check.discovered = true;
            let fetch = discovery_fetch(settings, index, first, discovery, ticket, false, timeout);
            Some(Action::Fetch(fetch))
        }
        Decision::Wait => match check.wait_budget(timeout, now) {
            Some(timeout) => {
                check.round_trips = check.round_trips.saturating_add(1);
                check.discovered = true;
                Some(Action::Wait(Wait {
                    issuer: first,
                    key_set: index,
                    timeout,
                }))
            }
            None => unavailable(discovery),
        },
        Decision::Unavailable => unavailable(discovery),
        // Not with an unusable document; go on to the key set, which answers.
        Decision::UseCurrent => None,
    }
}

/// The body of a 200 response within the size limit, with its `Cache-Control`; else why not.
fn body_of(
    result: FetchResult<'_>,
    max_bytes: usize,
) -> Result<(&[u8], Option<&str>), FetchFailure> {
    match result {
        FetchResult::Response {
            status: 200,
            cache_control,
            body,
        } if body.len() <= max_bytes => Ok((body, cache_control)),
        FetchResult::Response { status: 200, .. } | FetchResult::TooLarge => {
            Err(FetchFailure::TooLarge)
        }
        FetchResult::Response { status, .. } => Err(FetchFailure::Status(status)),
        FetchResult::Timeout => Err(FetchFailure::Timeout),
        FetchResult::Network => Err(FetchFailure::Network),
    }
}

/// A fetch of the key set `key_set` from its URL at `now` (the caller checked there is one).
fn key_fetch(
    settings: &GuardSettings,
    key_set: usize,
    source: &KeySource,
    ticket: FetchTicket,
    background: bool,
    now: u64,
) -> Fetch {
    Fetch {
        kind: FetchKind::KeySet,
        issuer: source.first_issuer,
        key_set,
        ticket,
        url: source.jwks_url(now).unwrap_or_default().into(),
        background,
        timeout: settings.fetch_timeout,
        max_bytes: settings.max_jwks_bytes,
    }
}

/// A fetch of the OpenID configuration of key set `key_set`'s issuer.
fn discovery_fetch(
    settings: &GuardSettings,
    key_set: usize,
    issuer: usize,
    discovery: &Discovery,
    ticket: FetchTicket,
    background: bool,
    timeout: u64,
) -> Fetch {
    Fetch {
        kind: FetchKind::Discovery,
        issuer,
        key_set,
        ticket,
        url: discovery.url.clone(),
        background,
        timeout,
        max_bytes: settings.max_jwks_bytes,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_discovery;
