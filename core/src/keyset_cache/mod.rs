//! The key-set cache policy of SPEC §4, as a sans-I/O state machine.
//!
//! [`KeySetCache`] decides *when* a host fetches its issuer's JWKS and *which* key set a request
//! validates against; the host does the fetching with its own I/O and reports the outcome. The
//! policy reads no clock (every call takes `now`, whole seconds since the Unix epoch), keeps no
//! global state, never panics, and is generic over the key-set type `T`, held as an [`Arc<T>`] so
//! that a host can clone it out of its lock and validate without holding that lock.
//!
//! # The rules
//!
//! - **Freshness.** A set installed from a response is fresh for its `Cache-Control: max-age`
//!   clamped to [`min_ttl`, `max_ttl`] (60 s to 24 h), or for `default_ttl` (10 min) without a
//!   usable `max-age` (see [`parse_max_age`]; `no-store` and unqualified `no-cache` count as
//!   `max-age=0`, so they give the 60 s minimum: the policy never refetches more often than that
//!   for freshness' sake).
//! - **Refresh when stale.** Past its freshness the set stays usable while [`KeySetCache::poll`]
//!   asks for a refresh ([`Decision::Refresh`]): a host can refetch in the background.
//! - **Grace on failure.** A set stays usable for `stale_if_error` (24 h) past its freshness, so a
//!   failing issuer keeps being served from the last good set; beyond that, or before any good
//!   fetch, no set is usable and the host answers `jwks_unavailable` (503 with
//!   [`KeySetCache::retry_after`]).
//! - **Backoff.** After `n` consecutive failed fetches, the next fetch waits
//!   `min(backoff_initial * 2^(n-1), backoff_max)` seconds from the last failure: 1, 2, 4, … 256,
//!   then 300 s (5 min) with the defaults. It applies to every fetch, an issuer that is down at
//!   start included: it is retried, never in a hot loop. A successful fetch resets it.
//! - **Unknown keys.** A token whose `kid`/`x5t` is not in the set may trigger a refetch
//!   ([`KeySetCache::unknown_key`]) at most once per `unknown_key_cooldown` (30 s), and never
//!   during backoff; the host then retries that token once against the new set.
//! - **One fetch at a time.** While a fetch is in flight the policy never asks for another: callers
//!   use the current set, or, with none usable, wait for that fetch ([`Decision::Wait`]). A fetch
//!   not reported within `fetch_timeout` (30 s) of its start is *abandoned*: it counts as one
//!   failure (at its deadline) and the policy may ask for a new fetch once the backoff allows.
//!
//! # Tickets
//!
//! Every fetch the policy asks for comes with a [`FetchTicket`]; the host hands it back with the
//! outcome ([`KeySetCache::fetch_succeeded`] or [`KeySetCache::fetch_failed`]). Tickets carry
//! increasing ids, which decide how a late report (one for a ticket that was abandoned) is handled:
//!
//! - a success installs its set if and only if its ticket is newer than the ticket of the set in
//!   use: a late answer still beats an older set, never a newer one. Any success ends the backoff
//!   (the issuer answered);
//! - a failure counts only for the fetch in flight: an abandoned ticket was already counted as a
//!   failure, and a failure that comes after a newer success must not bring back a backoff;
//! - a second report for the same ticket, or a ticket this cache never issued, changes nothing.
//!
//! # Time
//!
//! Every instant the cache records is compared with `now` by elapsed time (`now - then`, saturating
//! at zero). If `now` goes backwards (a clock stepped back), the `&mut self` methods re-anchor the
//! recorded instants later than `now` to `now`: the elapsed time counts as zero and each interval
//! (freshness, grace, cooldown, backoff, fetch timeout) runs again from `now`, so a clock step of
//! any size never extends a wait by more than one full interval. Absurd values (`u64::MAX`, huge
//! configuration values) saturate; nothing overflows.
//!
//! # Example
//!
//! A host keeps one `KeySetCache` per issuer behind its lock:
//!
//! ```
//! use cryptr_guard_core::keyset_cache::{CacheConfig, Decision, KeySetCache};
//!
//! // `T` would be the parsed key set; a string stands in for it here.
//! let mut cache: KeySetCache<&str> = KeySetCache::new(CacheConfig::default());
//! let now = 1_700_000_000;
//!
//! match cache.poll(now) {
//!     // No set yet: fetch now (with the host's own I/O) and report the outcome.
//!     Decision::Fetch(ticket) => {
//!         let installed = cache.fetch_succeeded(ticket, now, "keys", Some("public, max-age=3600"));
//!         assert!(installed);
//!     }
//!     // Validate against `cache.current(now)`, and refetch in the background.
//!     Decision::Refresh(_ticket) => {}
//!     // Validate against `cache.current(now)`.
//!     Decision::UseCurrent => {}
//!     // Another caller's fetch is in flight and no set is usable: wait for it.
//!     Decision::Wait => {}
//!     // Answer 503 `jwks_unavailable` with `Retry-After: cache.retry_after(now)`.
//!     Decision::Unavailable => {}
//! }
//! assert_eq!(cache.current(now).map(|set| **set), Some("keys"));
//! assert_eq!(cache.fresh_until(), Some(now + 3600));
//!
//! // A token with an unknown `kid`: refetch (at most once per 30 s), then retry it once.
//! if let Some(ticket) = cache.unknown_key(now + 5) {
//!     cache.fetch_succeeded(ticket, now + 6, "rotated keys", None);
//! }
//! assert_eq!(cache.generation(), 2);
//! assert!(cache.unknown_key(now + 7).is_none()); // cooling down
//! ```

use alloc::sync::Arc;
use core::fmt;

mod cache_control;

pub use cache_control::parse_max_age;

/// The tunables of the key-set cache policy, all in whole seconds.
///
/// [`CacheConfig::default()`] gives the SPEC §4 values. Inconsistent values never make the cache
/// panic: a `min_ttl` above `max_ttl` gives `max_ttl`, a `backoff_initial` above `backoff_max`
/// gives `backoff_max`, and a zero `fetch_timeout` abandons a fetch as soon as the cache is next
/// called at a later second. A zero `backoff_initial` disables the backoff (not recommended).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheConfig {
    /// Freshness of a set whose response carries no usable `Cache-Control: max-age` (600 s).
    pub default_ttl: u64,
    /// Lower bound of the freshness (60 s); also the freshness for `no-store`/`no-cache`.
    pub min_ttl: u64,
    /// Upper bound of the freshness (86 400 s = 24 h).
    pub max_ttl: u64,
    /// Least time between two refetches triggered by an unknown `kid`/`x5t` (30 s).
    pub unknown_key_cooldown: u64,
    /// How long past its freshness the last good set stays usable (86 400 s = 24 h).
    pub stale_if_error: u64,
    /// Backoff after the first failed fetch (1 s); it doubles with each further failure.
    pub backoff_initial: u64,
    /// Cap of the backoff (300 s = 5 min).
    pub backoff_max: u64,
    /// A fetch not reported within this time of its start is abandoned (30 s).
    pub fetch_timeout: u64,
}

impl CacheConfig {
    /// The SPEC §4 values, as a constant (the same as [`CacheConfig::default()`]).
    pub const DEFAULT: Self = Self {
        default_ttl: 600,
        min_ttl: 60,
        max_ttl: 86_400,
        unknown_key_cooldown: 30,
        stale_if_error: 86_400,
        backoff_initial: 1,
        backoff_max: 300,
        fetch_timeout: 30,
    };

    /// The freshness, in seconds, of a set fetched with this `Cache-Control` header value
    /// (`None`: no such header): its effective `max-age` ([`parse_max_age`]) or `default_ttl`,
    /// clamped to [`min_ttl`, `max_ttl`].
    ///
    /// [`min_ttl`, `max_ttl`]: CacheConfig::min_ttl
    #[must_use]
    pub fn ttl_for(&self, cache_control: Option<&str>) -> u64 {
        let wanted = cache_control
            .and_then(parse_max_age)
            .unwrap_or(self.default_ttl);
        // Not `u64::clamp`, which panics when min > max: here `max_ttl` wins.
        wanted.max(self.min_ttl).min(self.max_ttl)
    }

    /// The wait, in seconds, before the next fetch after `failures` consecutive failed fetches:
    /// 0 without failure, else `min(backoff_initial * 2^(failures - 1), backoff_max)`.
    #[must_use]
    pub fn backoff_delay(&self, failures: u32) -> u64 {
        match failures.checked_sub(1) {
            None => 0,
            Some(doublings) => {
                let factor = 1u64.checked_shl(doublings).unwrap_or(u64::MAX);
                self.backoff_initial
                    .saturating_mul(factor)
                    .min(self.backoff_max)
            }
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why the policy asks for a fetch (for logs and metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FetchReason {
    /// No usable set: never fetched, every fetch so far failed, or the set is past its grace.
    NoUsableSet,
    /// The set is past its freshness but still usable: a background refresh.
    Stale,
    /// A token named a `kid`/`x5t` that is not in the set ([`KeySetCache::unknown_key`]).
    UnknownKey,
}

/// The right to run one fetch, handed back with its outcome to
/// [`KeySetCache::fetch_succeeded`] or [`KeySetCache::fetch_failed`].
///
/// Issuing a ticket marks the fetch in flight, so a ticket must not be dropped without a report:
/// the cache would wait `fetch_timeout` before abandoning it. A ticket belongs to the cache that
/// issued it; ids increase with each ticket that cache issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FetchTicket {
    id: u64,
    reason: FetchReason,
}

impl FetchTicket {
    /// The ticket's id, unique within its cache and increasing (the first is 1).
    #[must_use]
    pub const fn id(self) -> u64 {
        self.id
    }

    /// Why this fetch was asked for.
    #[must_use]
    pub const fn reason(self) -> FetchReason {
        self.reason
    }
}

/// What a host does with a request, as [`KeySetCache::poll`] decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use = "a ticket marks a fetch in flight until it is reported"]
pub enum Decision {
    /// Validate against [`KeySetCache::current`]; nothing to fetch.
    UseCurrent,
    /// Validate against [`KeySetCache::current`] (a stale set, within its grace) and refetch in
    /// the background with this ticket.
    Refresh(FetchTicket),
    /// No set is usable: fetch now with this ticket, and validate once it has succeeded.
    Fetch(FetchTicket),
    /// No set is usable and another caller's fetch is in flight: wait for it, then poll again
    /// (or answer `jwks_unavailable` without waiting).
    Wait,
    /// No set is usable and no fetch may start now (backoff): answer `jwks_unavailable`, with
    /// `Retry-After: `[`KeySetCache::retry_after`].
    Unavailable,
}

impl Decision {
    /// The ticket of a fetch to start, if this decision asks for one.
    #[must_use]
    pub const fn ticket(self) -> Option<FetchTicket> {
        match self {
            Self::Refresh(ticket) | Self::Fetch(ticket) => Some(ticket),
            Self::UseCurrent | Self::Wait | Self::Unavailable => None,
        }
    }

    /// Whether the request can be validated right away against [`KeySetCache::current`].
    #[must_use]
    pub const fn uses_current(self) -> bool {
        matches!(self, Self::UseCurrent | Self::Refresh(_))
    }
}

/// The state of the cached key set at some instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetState {
    /// No set was ever installed.
    Missing,
    /// Within its freshness.
    Fresh,
    /// Past its freshness, within the grace: usable, refreshing.
    Stale,
    /// Past its grace: not usable.
    Expired,
}

impl SetState {
    /// Whether a set in this state may be validated against (fresh or stale).
    #[must_use]
    pub const fn is_usable(self) -> bool {
        matches!(self, Self::Fresh | Self::Stale)
    }
}

/// A snapshot of the cache for readiness probes and metrics ([`KeySetCache::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Status {
    /// The state of the cached set.
    pub set: SetState,
    /// The generation of the cached set (0: none ever installed).
    pub generation: u64,
    /// Whether a fetch is in flight (and not yet abandoned).
    pub fetch_in_flight: bool,
    /// Failed fetches since the last success (an abandoned fetch counts as one).
    pub consecutive_failures: u32,
    /// While a backoff holds fetches back: the instant it lifts.
    pub backoff_until: Option<u64>,
    /// Whether the installed set holds a usable key (false without a set, and for a set
    /// installed with [`KeySetCache::fetch_succeeded_unready`]).
    pub has_usable_key: bool,
}

impl Status {
    /// Whether requests can be validated (readiness): the set is fresh or stale, and holds a
    /// usable key.
    #[must_use]
    pub const fn is_ready(&self) -> bool {
        self.set.is_usable() && self.has_usable_key
    }
}

/// The installed key set and where it came from.
struct Installed<T> {
    set: Arc<T>,
    fetched_at: u64,
    ttl: u64,
    ticket_id: u64,
    /// Whether the set holds a key that can verify anything (see
    /// [`KeySetCache::fetch_succeeded_unready`]).
    ready: bool,
}

/// The fetch in flight.
#[derive(Clone, Copy)]
struct InFlight {
    ticket: FetchTicket,
    started_at: u64,
}

/// `now - then`, zero when `then` is later (the clock went backwards).
const fn elapsed(now: u64, then: u64) -> u64 {
    now.saturating_sub(then)
}

/// The key-set cache policy for one issuer (see the [module documentation](self)).
///
/// `T` is the parsed key set; the cache only stores it. Its `Debug` output shows the policy
/// state, never the set.
pub struct KeySetCache<T> {
    config: CacheConfig,
    installed: Option<Installed<T>>,
    generation: u64,
    next_ticket_id: u64,
    in_flight: Option<InFlight>,
    failures: u32,
    last_failure_at: u64,
    last_unknown_key_fetch_at: Option<u64>,
}

impl<T> fmt::Debug for KeySetCache<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySetCache")
            .field("config", &self.config)
            .field("generation", &self.generation)
            .field("fetched_at", &self.fetched_at())
            .field("fresh_until", &self.fresh_until())
            .field("in_flight", &self.in_flight.map(|f| f.ticket))
            .field("consecutive_failures", &self.failures)
            .field("last_failure_at", &self.last_failure_at)
            .field("last_unknown_key_fetch_at", &self.last_unknown_key_fetch_at)
            .finish_non_exhaustive()
    }
}

impl<T> Default for KeySetCache<T> {
    fn default() -> Self {
        Self::new(CacheConfig::default())
    }
}

impl<T> KeySetCache<T> {
    /// An empty cache: the first [`poll`](Self::poll) asks for a fetch.
    #[must_use]
    pub const fn new(config: CacheConfig) -> Self {
        Self {
            config,
            installed: None,
            generation: 0,
            next_ticket_id: 1,
            in_flight: None,
            failures: 0,
            last_failure_at: 0,
            last_unknown_key_fetch_at: None,
        }
    }

    /// The configuration this cache applies.
    #[must_use]
    pub const fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// What to do with a request at `now`; call it on every request (under the host's lock).
    ///
    /// A decision that carries a ticket marks a fetch in flight: until it is reported (or
    /// abandoned after `fetch_timeout`), every other call answers without a ticket. A stale set
    /// is refreshed ([`Decision::Refresh`]) and a missing or expired one fetched
    /// ([`Decision::Fetch`]), both only once the backoff allows; meanwhile a usable set is used
    /// and, without one, the answer is [`Decision::Unavailable`].
    pub fn poll(&mut self, now: u64) -> Decision {
        self.settle(now);
        let state = self.set_state(now);
        if self.in_flight.is_some() {
            return if state.is_usable() {
                Decision::UseCurrent
            } else {
                Decision::Wait
            };
        }
        if state.is_usable() && self.installed.as_ref().is_some_and(|i| !i.ready) {
            // The issuer's word stands, but nothing verifies against it: fetch again as soon
            // as the backoff allows, as if no set were usable.
            return if self.backoff_holds(now) {
                Decision::UseCurrent
            } else {
                Decision::Fetch(self.issue(now, FetchReason::NoUsableSet))
            };
        }
        match state {
            SetState::Fresh => Decision::UseCurrent,
            SetState::Stale if self.backoff_holds(now) => Decision::UseCurrent,
            SetState::Stale => Decision::Refresh(self.issue(now, FetchReason::Stale)),
            SetState::Missing | SetState::Expired if self.backoff_holds(now) => {
                Decision::Unavailable
            }
            SetState::Missing | SetState::Expired => {
                Decision::Fetch(self.issue(now, FetchReason::NoUsableSet))
            }
        }
    }

    /// The set to validate against at `now`: the installed set while fresh or stale within its
    /// grace, else `None` (the host answers `jwks_unavailable`). Clone the `Arc` to validate
    /// outside the host's lock.
    #[must_use]
    pub fn current(&self, now: u64) -> Option<&Arc<T>> {
        self.installed
            .as_ref()
            .filter(|installed| {
                elapsed(now, installed.fetched_at)
                    < installed.ttl.saturating_add(self.config.stale_if_error)
            })
            .map(|installed| &installed.set)
    }

    /// Reports that a token named a `kid`/`x5t` not in the current set; returns a ticket when a
    /// refetch should start now, after which the host retries that token once against the new
    /// set.
    ///
    /// `None` while a fetch is in flight (the host may wait for it and then retry the token),
    /// within `unknown_key_cooldown` of the last refetch this method allowed, or during a
    /// backoff: the token then fails with `unknown_key`. Only a refetch actually allowed starts
    /// the cooldown.
    #[must_use = "a ticket marks a fetch in flight until it is reported"]
    pub fn unknown_key(&mut self, now: u64) -> Option<FetchTicket> {
        self.settle(now);
        if self.in_flight.is_some() || self.cooldown_holds(now) || self.backoff_holds(now) {
            return None;
        }
        self.last_unknown_key_fetch_at = Some(now);
        Some(self.issue(now, FetchReason::UnknownKey))
    }

    /// Reports a successful fetch: a response that parsed as a key set, with its `Cache-Control`
    /// header value if any. Returns whether `set` was installed (the generation then increments).
    ///
    /// The set is installed, fresh from `now` for [`CacheConfig::ttl_for`]`(cache_control)`,
    /// unless a set from a newer ticket is already installed (a late report that lost the race);
    /// either way the backoff ends, since the issuer answered. A ticket reported twice, or one
    /// this cache never issued, changes nothing.
    pub fn fetch_succeeded(
        &mut self,
        ticket: FetchTicket,
        now: u64,
        set: T,
        cache_control: Option<&str>,
    ) -> bool {
        self.install(ticket, now, set, cache_control, true)
    }

    /// Reports a fetch whose document is a valid key set with no usable key (`{"keys":[]}`, or
    /// only keys of other types or sizes). The issuer's word stands: the set is installed as by
    /// [`fetch_succeeded`](Self::fetch_succeeded), but it is not *ready*
    /// ([`Status::is_ready`]), the fetch counts as a failure for the backoff, and
    /// [`poll`](Self::poll) asks for a new fetch ([`Decision::Fetch`]) as soon as the backoff
    /// allows, instead of waiting for the set's freshness to run out or for an unknown `kid`.
    pub fn fetch_succeeded_unready(
        &mut self,
        ticket: FetchTicket,
        now: u64,
        set: T,
        cache_control: Option<&str>,
    ) -> bool {
        self.install(ticket, now, set, cache_control, false)
    }

    fn install(
        &mut self,
        ticket: FetchTicket,
        now: u64,
        set: T,
        cache_control: Option<&str>,
        ready: bool,
    ) -> bool {
        self.settle(now);
        if !self.issued(ticket) {
            return false;
        }
        let was_in_flight = self.in_flight.is_some_and(|f| f.ticket.id == ticket.id);
        if was_in_flight {
            self.in_flight = None;
        }
        // The issuer answered: the backoff ends even when this set lost the race, unless what
        // it answered verifies nothing (an abandoned ticket was counted when abandoned).
        if ready {
            self.failures = 0;
        } else if was_in_flight {
            self.record_failure(now);
        }
        if self
            .installed
            .as_ref()
            .is_some_and(|installed| installed.ticket_id >= ticket.id)
        {
            return false;
        }
        self.installed = Some(Installed {
            set: Arc::new(set),
            fetched_at: now,
            ttl: self.config.ttl_for(cache_control),
            ticket_id: ticket.id,
            ready,
        });
        self.generation = self.generation.saturating_add(1);
        true
    }

    /// Reports a failed fetch: a network error, a non-200 status, or a body that is not a valid
    /// JWKS. Returns whether it counted: only the fetch in flight does, and it then extends the
    /// backoff; the report of an abandoned ticket (already counted when abandoned), a second
    /// report, or a ticket this cache never issued changes nothing.
    pub fn fetch_failed(&mut self, ticket: FetchTicket, now: u64) -> bool {
        self.settle(now);
        if self.in_flight.is_none_or(|f| f.ticket.id != ticket.id) {
            return false;
        }
        self.in_flight = None;
        self.record_failure(now);
        true
    }

    /// The generation of the installed set: 0 before the first, then incremented by every
    /// successful fetch that installs a set (a key for caches of verified tokens).
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// When the installed set was fetched (reported), if any.
    #[must_use]
    pub fn fetched_at(&self) -> Option<u64> {
        self.installed
            .as_ref()
            .map(|installed| installed.fetched_at)
    }

    /// The instant the installed set stops being fresh, if any (saturating).
    #[must_use]
    pub fn fresh_until(&self) -> Option<u64> {
        self.installed
            .as_ref()
            .map(|installed| installed.fetched_at.saturating_add(installed.ttl))
    }

    /// The instant the installed set stops being usable (its freshness plus `stale_if_error`),
    /// if any (saturating).
    #[must_use]
    pub fn usable_until(&self) -> Option<u64> {
        self.fresh_until()
            .map(|fresh_until| fresh_until.saturating_add(self.config.stale_if_error))
    }

    /// The state of the installed set at `now`.
    #[must_use]
    pub fn set_state(&self, now: u64) -> SetState {
        match &self.installed {
            None => SetState::Missing,
            Some(installed) => {
                let age = elapsed(now, installed.fetched_at);
                if age < installed.ttl {
                    SetState::Fresh
                } else if age < installed.ttl.saturating_add(self.config.stale_if_error) {
                    SetState::Stale
                } else {
                    SetState::Expired
                }
            }
        }
    }

    /// Whether a fetch is in flight at `now` (issued, not reported, not yet abandoned).
    #[must_use]
    pub fn fetch_in_flight(&self, now: u64) -> bool {
        self.in_flight.is_some_and(|f| !self.abandoned(f, now))
    }

    /// Failed fetches since the last success at `now`, an abandoned fetch counting as one.
    #[must_use]
    pub fn consecutive_failures(&self, now: u64) -> u32 {
        self.effective_failures(now).0
    }

    /// While a backoff holds fetches back at `now`: the instant it lifts; else `None`.
    #[must_use]
    pub fn backoff_until(&self, now: u64) -> Option<u64> {
        let (failures, last_failure_at) = self.effective_failures(now);
        let delay = self.config.backoff_delay(failures);
        (elapsed(now, last_failure_at) < delay).then(|| last_failure_at.saturating_add(delay))
    }

    /// The `Retry-After` value, in seconds (at least 1), for a `jwks_unavailable` answer at
    /// `now`: the time left until the backoff lifts, or 1 while a fetch is in flight or when a
    /// fetch may start at once.
    #[must_use]
    pub fn retry_after(&self, now: u64) -> u64 {
        if self.fetch_in_flight(now) {
            return 1;
        }
        self.backoff_until(now)
            .map_or(1, |until| until.saturating_sub(now).max(1))
    }

    /// A snapshot for readiness probes and metrics.
    #[must_use]
    pub fn status(&self, now: u64) -> Status {
        Status {
            set: self.set_state(now),
            generation: self.generation,
            fetch_in_flight: self.fetch_in_flight(now),
            consecutive_failures: self.consecutive_failures(now),
            backoff_until: self.backoff_until(now),
            has_usable_key: self.installed.as_ref().is_some_and(|i| i.ready),
        }
    }

    /// Brings the state to `now`: re-anchors instants later than `now` (the clock went
    /// backwards) and abandons a fetch in flight past its timeout.
    fn settle(&mut self, now: u64) {
        if let Some(installed) = &mut self.installed {
            installed.fetched_at = installed.fetched_at.min(now);
        }
        if let Some(in_flight) = &mut self.in_flight {
            in_flight.started_at = in_flight.started_at.min(now);
        }
        self.last_failure_at = self.last_failure_at.min(now);
        if let Some(at) = &mut self.last_unknown_key_fetch_at {
            *at = (*at).min(now);
        }
        if let Some(in_flight) = self.in_flight.filter(|&f| self.abandoned(f, now)) {
            self.in_flight = None;
            self.record_failure(self.abandon_time(in_flight, now));
        }
    }

    /// Whether the fetch in flight has outlived `fetch_timeout` at `now`.
    fn abandoned(&self, in_flight: InFlight, now: u64) -> bool {
        elapsed(now, in_flight.started_at) >= self.config.fetch_timeout
    }

    /// When an abandoned fetch counts as failed: at its deadline (never after `now`).
    fn abandon_time(&self, in_flight: InFlight, now: u64) -> u64 {
        in_flight
            .started_at
            .min(now)
            .saturating_add(self.config.fetch_timeout)
            .min(now)
    }

    /// The failure count and last failure instant at `now`, counting a fetch abandoned since
    /// the last `settle` (for the `&self` views).
    fn effective_failures(&self, now: u64) -> (u32, u64) {
        match self.in_flight {
            Some(in_flight) if self.abandoned(in_flight, now) => (
                self.failures.saturating_add(1),
                self.abandon_time(in_flight, now),
            ),
            _ => (self.failures, self.last_failure_at.min(now)),
        }
    }

    fn record_failure(&mut self, at: u64) {
        self.failures = self.failures.saturating_add(1);
        self.last_failure_at = at;
    }

    /// Whether the backoff forbids a fetch at `now` (after `settle`).
    fn backoff_holds(&self, now: u64) -> bool {
        elapsed(now, self.last_failure_at) < self.config.backoff_delay(self.failures)
    }

    /// Whether the unknown-key cooldown forbids a refetch at `now` (after `settle`).
    fn cooldown_holds(&self, now: u64) -> bool {
        self.last_unknown_key_fetch_at
            .is_some_and(|at| elapsed(now, at) < self.config.unknown_key_cooldown)
    }

    /// Whether this cache issued `ticket`.
    const fn issued(&self, ticket: FetchTicket) -> bool {
        ticket.id != 0 && ticket.id < self.next_ticket_id
    }

    /// Issues a ticket and marks its fetch in flight.
    fn issue(&mut self, now: u64, reason: FetchReason) -> FetchTicket {
        let ticket = FetchTicket {
            id: self.next_ticket_id,
            reason,
        };
        // 2^64 tickets cannot be issued in practice; saturating keeps this panic-free.
        self.next_ticket_id = self.next_ticket_id.saturating_add(1);
        self.in_flight = Some(InFlight {
            ticket,
            started_at: now,
        });
        ticket
    }
}

#[cfg(test)]
mod tests;
