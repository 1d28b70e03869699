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
//! use cryptr_guard_core::cache::{CacheConfig, Decision, KeySetCache};
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

/// The effective `max-age`, in seconds, of a `Cache-Control` header value, or `None` when it
/// gives none (the caller then uses its default).
///
/// The value is parsed as RFC 9111 §5.2 directives, robustly: comma-separated, optional
/// whitespace around commas and `=`, directive names ASCII-case-insensitive, arguments either
/// tokens or quoted strings (with `\` escapes; a comma inside quotes does not split), and
/// anything unrecognised skipped. Then:
///
/// - `no-store` (in any form) or an unqualified `no-cache` gives `Some(0)`: the response must not
///   be reused without revalidation, which for a key set means "as soon as the policy allows"
///   (the caller's minimum freshness then applies). A qualified `no-cache="field"` only concerns
///   the named header fields and is ignored.
/// - Otherwise the smallest valid `max-age` (the most restrictive, when several are present):
///   one or more ASCII digits, optionally quoted (`max-age="60"`); a value too large for `u64`
///   saturates to `u64::MAX` (RFC 9111 §1.2.2: an overflowing delta means "very large").
/// - A `max-age` without a valid value (`max-age`, `max-age=`, `max-age=-1`, `max-age=1.5`,
///   `max-age=+60`, `max-age=60 junk`) is ignored, as is a value that is garbage altogether.
///
/// `s-maxage` is ignored: it is addressed to shared caches, and a token validator caching its
/// issuer's keys for itself is a private one.
///
/// ```
/// use cryptr_guard_core::cache::parse_max_age;
///
/// assert_eq!(parse_max_age("public, max-age=3600"), Some(3600));
/// assert_eq!(parse_max_age("Max-Age = \"120\", must-revalidate"), Some(120));
/// assert_eq!(parse_max_age("private=\"a, max-age=5\", max-age=90"), Some(90));
/// assert_eq!(parse_max_age("no-store"), Some(0));
/// assert_eq!(parse_max_age("public"), None);
/// assert_eq!(parse_max_age("max-age=soon"), None);
/// ```
#[must_use]
pub fn parse_max_age(cache_control: &str) -> Option<u64> {
    let mut max_age: Option<u64> = None;
    let mut no_reuse = false;
    for directive in Directives::new(cache_control.as_bytes()) {
        no_reuse |= directive.forbids_reuse();
        if let Some(seconds) = directive.max_age() {
            max_age = Some(max_age.map_or(seconds, |m| m.min(seconds)));
        }
    }
    if no_reuse { Some(0) } else { max_age }
}

/// One directive of a `Cache-Control` value: its name and optional argument.
struct Directive<'a> {
    name: &'a [u8],
    argument: Option<Argument<'a>>,
}

impl Directive<'_> {
    /// `no-store` in any form, or an unqualified `no-cache`.
    fn forbids_reuse(&self) -> bool {
        self.name.eq_ignore_ascii_case(b"no-store")
            || (self.name.eq_ignore_ascii_case(b"no-cache") && self.argument.is_none())
    }

    /// The value of a valid `max-age` directive.
    fn max_age(&self) -> Option<u64> {
        if self.name.eq_ignore_ascii_case(b"max-age") {
            self.argument.as_ref().and_then(Argument::delta_seconds)
        } else {
            None
        }
    }
}

/// A directive's argument, as written.
enum Argument<'a> {
    /// A bare token, or a value with junk after it (never valid delta-seconds).
    Token(&'a [u8]),
    /// The content of a quoted string, escapes still in place (`\"`); `None` when the quotes
    /// are unterminated or followed by junk.
    Quoted(Option<&'a [u8]>),
}

impl Argument<'_> {
    /// The argument as RFC 9111 delta-seconds (one or more ASCII digits), saturating.
    fn delta_seconds(&self) -> Option<u64> {
        let digits = match self {
            Argument::Token(token) => token,
            Argument::Quoted(content) => (*content)?,
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(digits.iter().fold(0u64, |acc, digit| {
            acc.saturating_mul(10)
                .saturating_add(u64::from(digit.saturating_sub(b'0')))
        }))
    }
}

/// An iterator over the directives of a `Cache-Control` value; never fails, skips empty ones.
struct Directives<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Directives<'a> {
    const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos = self.pos.saturating_add(1);
        }
    }

    /// Advances while `keep` holds; returns the bytes passed over.
    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.pos = self.pos.saturating_add(1);
        }
        self.bytes.get(start..self.pos).unwrap_or_default()
    }

    /// Reads a quoted string whose opening quote is at `pos`; returns its raw content, or `None`
    /// when it is unterminated (then everything up to the end has been consumed).
    fn quoted_string(&mut self) -> Option<&'a [u8]> {
        self.pos = self.pos.saturating_add(1);
        let start = self.pos;
        let mut escaped = false;
        while let Some(byte) = self.peek() {
            self.pos = self.pos.saturating_add(1);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                return self.bytes.get(start..self.pos.saturating_sub(1));
            }
        }
        None
    }

    /// Skips to just after the next comma outside quotes (or to the end); returns whether
    /// anything but whitespace was skipped.
    fn skip_to_next_directive(&mut self) -> bool {
        let mut junk = false;
        while let Some(byte) = self.peek() {
            match byte {
                b',' => {
                    self.pos = self.pos.saturating_add(1);
                    break;
                }
                b'"' => {
                    junk = true;
                    let _ = self.quoted_string();
                }
                b' ' | b'\t' | b'\r' | b'\n' => self.pos = self.pos.saturating_add(1),
                _ => {
                    junk = true;
                    self.pos = self.pos.saturating_add(1);
                }
            }
        }
        junk
    }
}

/// Ends a directive name or a bare argument.
const fn is_delimiter(byte: u8) -> bool {
    matches!(byte, b',' | b'=' | b'"' | b' ' | b'\t' | b'\r' | b'\n')
}

impl<'a> Iterator for Directives<'a> {
    type Item = Directive<'a>;

    fn next(&mut self) -> Option<Directive<'a>> {
        loop {
            self.skip_whitespace();
            match self.peek() {
                None => return None,
                Some(b',') => {
                    self.pos = self.pos.saturating_add(1);
                    continue;
                }
                Some(_) => {}
            }
            let name = self.take_while(|b| !is_delimiter(b));
            self.skip_whitespace();
            let mut argument = None;
            if self.peek() == Some(b'=') {
                self.pos = self.pos.saturating_add(1);
                self.skip_whitespace();
                argument = Some(if self.peek() == Some(b'"') {
                    Argument::Quoted(self.quoted_string())
                } else {
                    Argument::Token(self.take_while(|b| !is_delimiter(b)))
                });
            }
            if self.skip_to_next_directive() {
                // Junk after the directive: keep its name (so `no-store junk` still counts) but
                // make its argument invalid.
                argument = argument.map(|_| Argument::Quoted(None));
            }
            if name.is_empty() {
                continue;
            }
            return Some(Directive { name, argument });
        }
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
}

impl Status {
    /// Whether requests can be validated (readiness): the set is fresh or stale.
    #[must_use]
    pub const fn is_ready(&self) -> bool {
        self.set.is_usable()
    }
}

/// The installed key set and where it came from.
struct Installed<T> {
    set: Arc<T>,
    fetched_at: u64,
    ttl: u64,
    ticket_id: u64,
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
        self.settle(now);
        if !self.issued(ticket) {
            return false;
        }
        if self.in_flight.is_some_and(|f| f.ticket.id == ticket.id) {
            self.in_flight = None;
        }
        // The issuer answered: the backoff ends even when this set lost the race.
        self.failures = 0;
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
// Tests state their expectations with `panic!` in `let … else`; the lint guards library code.
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const T0: u64 = 1_700_000_000;
    const DAY: u64 = 86_400;

    fn new_cache() -> KeySetCache<u32> {
        KeySetCache::new(CacheConfig::default())
    }

    /// Polls, expecting a ticket, and reports success with `set` and `cache_control`.
    fn fetch_ok(cache: &mut KeySetCache<u32>, now: u64, set: u32, cache_control: Option<&str>) {
        let ticket = cache.poll(now).ticket();
        let Some(ticket) = ticket else {
            panic!("expected a fetch at {now}, cache: {cache:?}");
        };
        assert!(cache.fetch_succeeded(ticket, now, set, cache_control));
    }

    fn current(cache: &KeySetCache<u32>, now: u64) -> Option<u32> {
        cache.current(now).map(|set| **set)
    }

    // --- Cache-Control parsing -------------------------------------------------------------

    #[test]
    fn parse_max_age_plain_and_case_insensitive() {
        assert_eq!(parse_max_age("max-age=3600"), Some(3600));
        assert_eq!(parse_max_age("MAX-AGE=60"), Some(60));
        assert_eq!(parse_max_age("Max-Age=0"), Some(0));
        assert_eq!(
            parse_max_age("public, max-age=19845, must-revalidate, no-transform"),
            Some(19845)
        );
        assert_eq!(parse_max_age("  public ,\tmax-age = 120 ,  "), Some(120));
        assert_eq!(parse_max_age(",,max-age=7,,"), Some(7));
        assert_eq!(parse_max_age("max-age=007"), Some(7));
    }

    #[test]
    fn parse_max_age_quoted_values() {
        assert_eq!(parse_max_age("max-age=\"60\""), Some(60));
        assert_eq!(
            parse_max_age("private=\"x, max-age=5\", max-age=90"),
            Some(90)
        );
        assert_eq!(
            parse_max_age("ext=\"a\\\", max-age=5\", max-age=90"),
            Some(90)
        );
        assert_eq!(parse_max_age("ext=\"unterminated, max-age=5"), None);
        assert_eq!(parse_max_age("max-age=\"6 0\""), None);
        assert_eq!(parse_max_age("max-age=\"\""), None);
        assert_eq!(parse_max_age("\"max-age=5\""), None);
    }

    #[test]
    fn parse_max_age_no_cache_and_no_store() {
        assert_eq!(parse_max_age("no-store"), Some(0));
        assert_eq!(parse_max_age("No-Cache"), Some(0));
        assert_eq!(parse_max_age("max-age=3600, no-cache"), Some(0));
        assert_eq!(parse_max_age("no-store, max-age=3600"), Some(0));
        // The qualified form only concerns the named header fields.
        assert_eq!(
            parse_max_age("no-cache=\"Set-Cookie\", max-age=300"),
            Some(300)
        );
        assert_eq!(parse_max_age("no-cache=Set-Cookie"), None);
        assert_eq!(parse_max_age("no-cachex, no-storey"), None);
    }

    #[test]
    fn parse_max_age_garbage() {
        for value in [
            "",
            "   ",
            ",,,",
            "public",
            "max-age",
            "max-age=",
            "max-age=abc",
            "max-age=-1",
            "max-age=+60",
            "max-age=1.5",
            "max-age=60 junk",
            "max-age=60\"x\"",
            "max-age==60",
            "max-age=6e2",
            "max-age:60",
            "maxage=60",
            "s-maxage=60",
            "max-age=٣",
            "=60",
            "\u{0}\u{ff}\u{1F600}",
        ] {
            assert_eq!(parse_max_age(value), None, "{value:?}");
        }
        // An invalid max-age next to a valid one: the valid one counts.
        assert_eq!(parse_max_age("max-age=x, max-age=100"), Some(100));
    }

    #[test]
    fn parse_max_age_several_and_huge() {
        assert_eq!(parse_max_age("max-age=300, max-age=100"), Some(100));
        assert_eq!(parse_max_age("max-age=100, max-age=300"), Some(100));
        assert_eq!(
            parse_max_age("max-age=18446744073709551615"),
            Some(u64::MAX)
        );
        assert_eq!(
            parse_max_age("max-age=99999999999999999999999999999"),
            Some(u64::MAX)
        );
    }

    // --- Freshness ------------------------------------------------------------------------

    #[test]
    fn ttl_default_and_clamping() {
        let config = CacheConfig::default();
        assert_eq!(config.ttl_for(None), 600);
        assert_eq!(config.ttl_for(Some("public")), 600);
        assert_eq!(config.ttl_for(Some("max-age=soon")), 600);
        assert_eq!(config.ttl_for(Some("max-age=3600")), 3600);
        assert_eq!(config.ttl_for(Some("max-age=60")), 60);
        assert_eq!(config.ttl_for(Some("max-age=59")), 60);
        assert_eq!(config.ttl_for(Some("max-age=0")), 60);
        assert_eq!(config.ttl_for(Some("no-store")), 60);
        assert_eq!(config.ttl_for(Some("no-cache")), 60);
        assert_eq!(config.ttl_for(Some("max-age=86400")), DAY);
        assert_eq!(config.ttl_for(Some("max-age=86401")), DAY);
        assert_eq!(config.ttl_for(Some("max-age=99999999999999999999999")), DAY);
    }

    #[test]
    fn ttl_with_inconsistent_config() {
        let config = CacheConfig {
            min_ttl: 1000,
            max_ttl: 10,
            default_ttl: 5000,
            ..CacheConfig::default()
        };
        assert_eq!(config.ttl_for(None), 10);
        assert_eq!(config.ttl_for(Some("max-age=500")), 10);
    }

    #[test]
    fn default_config_is_the_spec() {
        let config = CacheConfig::default();
        assert_eq!(config, CacheConfig::DEFAULT);
        assert_eq!(config.default_ttl, 600);
        assert_eq!(config.min_ttl, 60);
        assert_eq!(config.max_ttl, DAY);
        assert_eq!(config.unknown_key_cooldown, 30);
        assert_eq!(config.stale_if_error, DAY);
        assert_eq!(config.backoff_initial, 1);
        assert_eq!(config.backoff_max, 300);
        assert_eq!(config.fetch_timeout, 30);
    }

    #[test]
    fn first_fetch() {
        let mut cache = new_cache();
        assert_eq!(cache.status(T0).set, SetState::Missing);
        assert!(!cache.status(T0).is_ready());
        assert_eq!(cache.generation(), 0);
        assert_eq!(cache.current(T0), None);
        assert_eq!(cache.fresh_until(), None);

        let decision = cache.poll(T0);
        let Decision::Fetch(ticket) = decision else {
            panic!("expected Fetch, got {decision:?}");
        };
        assert_eq!(ticket.reason(), FetchReason::NoUsableSet);
        assert_eq!(ticket.id(), 1);
        assert!(!decision.uses_current());
        assert!(cache.fetch_in_flight(T0));
        assert_eq!(cache.poll(T0), Decision::Wait);
        assert_eq!(cache.poll(T0 + 1), Decision::Wait);
        assert_eq!(cache.retry_after(T0 + 1), 1);

        assert!(cache.fetch_succeeded(ticket, T0 + 2, 7, Some("max-age=3600")));
        assert_eq!(cache.generation(), 1);
        assert_eq!(current(&cache, T0 + 2), Some(7));
        assert_eq!(cache.fetched_at(), Some(T0 + 2));
        assert_eq!(cache.fresh_until(), Some(T0 + 2 + 3600));
        assert_eq!(cache.usable_until(), Some(T0 + 2 + 3600 + DAY));
        assert_eq!(cache.poll(T0 + 3), Decision::UseCurrent);
        let status = cache.status(T0 + 3);
        assert_eq!(status.set, SetState::Fresh);
        assert!(status.is_ready());
        assert!(!status.fetch_in_flight);
        assert_eq!(status.generation, 1);
        assert_eq!(status.consecutive_failures, 0);
        assert_eq!(status.backoff_until, None);
    }

    #[test]
    fn freshness_follows_max_age_with_clamping() {
        for (cache_control, ttl) in [
            (None, 600),
            (Some("max-age=3600"), 3600),
            (Some("max-age=5"), 60),
            (Some("no-store"), 60),
            (Some("max-age=604800"), DAY),
            (Some("garbage"), 600),
        ] {
            let mut cache = new_cache();
            fetch_ok(&mut cache, T0, 1, cache_control);
            assert_eq!(cache.fresh_until(), Some(T0 + ttl), "{cache_control:?}");
            assert_eq!(cache.poll(T0 + ttl - 1), Decision::UseCurrent);
            assert_eq!(cache.set_state(T0 + ttl - 1), SetState::Fresh);
            assert_eq!(cache.set_state(T0 + ttl), SetState::Stale);
            assert!(matches!(cache.poll(T0 + ttl), Decision::Refresh(_)));
        }
    }

    #[test]
    fn stale_set_is_served_while_refreshing() {
        let mut cache = new_cache();
        fetch_ok(&mut cache, T0, 1, Some("max-age=60"));
        assert_eq!(cache.poll(T0 + 59), Decision::UseCurrent);

        let decision = cache.poll(T0 + 60);
        let Decision::Refresh(ticket) = decision else {
            panic!("expected Refresh, got {decision:?}");
        };
        assert!(decision.uses_current());
        assert_eq!(ticket.reason(), FetchReason::Stale);
        assert_eq!(current(&cache, T0 + 60), Some(1));
        assert_eq!(cache.status(T0 + 60).set, SetState::Stale);
        assert!(cache.status(T0 + 60).is_ready());
        // Other callers use the stale set meanwhile; nobody else fetches.
        for now in T0 + 60..T0 + 70 {
            assert_eq!(cache.poll(now), Decision::UseCurrent);
            assert_eq!(current(&cache, now), Some(1));
        }
        assert!(cache.fetch_succeeded(ticket, T0 + 70, 2, Some("max-age=120")));
        assert_eq!(cache.generation(), 2);
        assert_eq!(current(&cache, T0 + 70), Some(2));
        assert_eq!(cache.fresh_until(), Some(T0 + 190));
        assert_eq!(cache.poll(T0 + 189), Decision::UseCurrent);
    }

    // --- Failures, grace and backoff ------------------------------------------------------

    #[test]
    fn backoff_delays() {
        let config = CacheConfig::default();
        let delays: Vec<u64> = (0..=12).map(|n| config.backoff_delay(n)).collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(config.backoff_delay(63), 300);
        assert_eq!(config.backoff_delay(64), 300);
        assert_eq!(config.backoff_delay(65), 300);
        assert_eq!(config.backoff_delay(u32::MAX), 300);
        let odd = CacheConfig {
            backoff_initial: 10,
            backoff_max: 3,
            ..config
        };
        assert_eq!(odd.backoff_delay(1), 3);
        let huge = CacheConfig {
            backoff_initial: u64::MAX,
            backoff_max: u64::MAX,
            ..config
        };
        assert_eq!(huge.backoff_delay(2), u64::MAX);
        let off = CacheConfig {
            backoff_initial: 0,
            ..config
        };
        assert_eq!(off.backoff_delay(5), 0);
    }

    #[test]
    fn issuer_down_at_start_is_retried_with_backoff_then_recovers() {
        let mut cache = new_cache();
        let mut now = T0;
        let mut attempts = Vec::new();
        // Fail every fetch for an hour, polling every second.
        while now < T0 + 3600 {
            match cache.poll(now) {
                Decision::Fetch(ticket) => {
                    attempts.push(now - T0);
                    assert!(cache.fetch_failed(ticket, now));
                    assert_eq!(cache.poll(now), Decision::Unavailable);
                }
                Decision::Unavailable => {
                    let until = cache.backoff_until(now);
                    assert!(until.is_some_and(|until| until > now));
                    assert_eq!(Some(now + cache.retry_after(now)), until);
                }
                other => panic!("unexpected {other:?} at {now}"),
            }
            assert_eq!(cache.current(now), None);
            assert!(!cache.status(now).is_ready());
            now += 1;
        }
        // 0, +1, +2, +4, … +256, then every 300 s.
        let mut expected = Vec::new();
        let mut at = 0;
        let mut failures = 0;
        while at < 3600 {
            expected.push(at);
            failures += 1;
            at += CacheConfig::default().backoff_delay(failures);
        }
        assert_eq!(attempts, expected);
        assert_eq!(&attempts[..5], &[0, 1, 3, 7, 15]);
        assert_eq!(cache.consecutive_failures(now), failures);

        // Recovery: the next allowed fetch succeeds and the backoff is gone.
        let next = T0 + *expected.last().unwrap_or(&0) + 300;
        assert_eq!(cache.poll(next - 1), Decision::Unavailable);
        assert_eq!(cache.retry_after(next - 1), 1);
        fetch_ok(&mut cache, next, 9, None);
        assert_eq!(cache.consecutive_failures(next), 0);
        assert_eq!(cache.status(next).backoff_until, None);
        assert_eq!(current(&cache, next), Some(9));

        // A later failure starts the backoff from the beginning again.
        let stale = next + 600;
        let Some(ticket) = cache.poll(stale).ticket() else {
            panic!("expected a refresh");
        };
        assert!(cache.fetch_failed(ticket, stale));
        assert_eq!(cache.backoff_until(stale), Some(stale + 1));
        assert_eq!(cache.poll(stale), Decision::UseCurrent);
        assert!(matches!(cache.poll(stale + 1), Decision::Refresh(_)));
    }

    #[test]
    fn last_good_set_is_served_for_a_day_past_freshness_then_unavailable() {
        let mut cache = new_cache();
        fetch_ok(&mut cache, T0, 5, Some("max-age=60"));
        let fresh_until = T0 + 60;
        let usable_until = fresh_until + DAY;
        assert_eq!(cache.usable_until(), Some(usable_until));
        let mut fetches = 0u32;
        for now in T0..usable_until + 3600 {
            let decision = cache.poll(now);
            if let Some(ticket) = decision.ticket() {
                fetches += 1;
                assert!(cache.fetch_failed(ticket, now));
            }
            if now < usable_until {
                assert_eq!(current(&cache, now), Some(5), "at {now}");
                assert!(decision.uses_current());
                let expected = if now < fresh_until {
                    SetState::Fresh
                } else {
                    SetState::Stale
                };
                assert_eq!(cache.set_state(now), expected);
            } else {
                assert_eq!(current(&cache, now), None, "at {now}");
                assert_eq!(cache.set_state(now), SetState::Expired);
                assert!(!cache.status(now).is_ready());
                assert!(matches!(
                    decision,
                    Decision::Fetch(_) | Decision::Unavailable
                ));
            }
        }
        // Backoff: 9 doublings to 256 s, then one fetch per 300 s.
        assert!(fetches > (DAY / 300) as u32, "{fetches}");
        assert!(fetches < (DAY / 300) as u32 + 30, "{fetches}");
        assert_eq!(cache.generation(), 1);

        // Recovery after expiry.
        let now = usable_until + 7200;
        fetch_ok(&mut cache, now, 6, None);
        assert_eq!(current(&cache, now), Some(6));
        assert_eq!(cache.generation(), 2);
    }

    #[test]
    fn grace_uses_configured_stale_if_error() {
        let mut cache = KeySetCache::new(CacheConfig {
            stale_if_error: 0,
            ..CacheConfig::default()
        });
        fetch_ok(&mut cache, T0, 1, Some("max-age=60"));
        assert_eq!(current(&cache, T0 + 59), Some(1));
        assert_eq!(current(&cache, T0 + 60), None);
        assert!(matches!(cache.poll(T0 + 60), Decision::Fetch(_)));
    }

    // --- Unknown keys ---------------------------------------------------------------------

    #[test]
    fn unknown_key_storm_refetches_at_most_once_per_cooldown() {
        let mut cache = new_cache();
        fetch_ok(&mut cache, T0, 0, Some("max-age=86400"));
        let mut refetches = Vec::new();
        for now in T0 + 10..T0 + 310 {
            for _ in 0..50 {
                if let Some(ticket) = cache.unknown_key(now) {
                    assert_eq!(ticket.reason(), FetchReason::UnknownKey);
                    refetches.push(now - T0);
                    assert!(cache.fetch_succeeded(ticket, now, 1, Some("max-age=86400")));
                }
                assert_eq!(cache.poll(now), Decision::UseCurrent);
            }
        }
        assert_eq!(refetches, [10, 40, 70, 100, 130, 160, 190, 220, 250, 280]);
        assert_eq!(cache.generation(), 11);
    }

    #[test]
    fn unknown_key_respects_in_flight_and_backoff() {
        let mut cache = new_cache();
        fetch_ok(&mut cache, T0, 0, None);
        let Some(ticket) = cache.unknown_key(T0 + 1) else {
            panic!("expected a refetch");
        };
        // In flight: no second fetch, from either entry point.
        assert_eq!(cache.unknown_key(T0 + 2), None);
        assert_eq!(cache.poll(T0 + 2), Decision::UseCurrent);
        assert!(cache.fetch_failed(ticket, T0 + 3));
        // Cooldown (30 s from T0 + 1) outlasts the 1 s backoff here.
        assert_eq!(cache.unknown_key(T0 + 30), None);
        let Some(ticket) = cache.unknown_key(T0 + 31) else {
            panic!("expected a refetch after the cooldown");
        };
        assert!(cache.fetch_failed(ticket, T0 + 31));
        assert_eq!(cache.consecutive_failures(T0 + 31), 2);

        // Without a cooldown, the backoff is what holds.
        let mut cache = KeySetCache::new(CacheConfig {
            unknown_key_cooldown: 0,
            ..CacheConfig::default()
        });
        fetch_ok(&mut cache, T0, 0, None);
        let mut now = T0 + 100;
        for failures in 1..=4u32 {
            let Some(ticket) = cache.unknown_key(now) else {
                panic!("expected a refetch at {now}");
            };
            assert!(cache.fetch_failed(ticket, now));
            let delay = cache.config().backoff_delay(failures);
            assert_eq!(cache.backoff_until(now), Some(now + delay));
            assert_eq!(cache.unknown_key(now + delay - 1), None);
            now += delay;
        }
        assert_eq!(cache.consecutive_failures(now), 4);
    }

    #[test]
    fn unknown_key_in_flight_does_not_start_the_cooldown() {
        let mut cache = new_cache();
        fetch_ok(&mut cache, T0, 0, Some("max-age=60"));
        let Some(refresh) = cache.poll(T0 + 60).ticket() else {
            panic!("expected a refresh");
        };
        assert_eq!(cache.unknown_key(T0 + 61), None);
        assert!(cache.fetch_succeeded(refresh, T0 + 62, 1, None));
        // The refresh may already carry the new key; if not, a refetch is still allowed.
        assert!(cache.unknown_key(T0 + 63).is_some());
    }

    // --- One fetch at a time ----------------------------------------------------------------

    #[test]
    fn one_fetch_at_a_time() {
        let mut cache = new_cache();
        let Some(first) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        for now in T0..T0 + 30 {
            assert_eq!(cache.poll(now), Decision::Wait);
            assert_eq!(cache.unknown_key(now), None);
            assert!(cache.status(now).fetch_in_flight);
        }
        assert!(cache.fetch_succeeded(first, T0 + 29, 1, Some("max-age=60")));
        assert!(!cache.fetch_in_flight(T0 + 29));
        let Some(refresh) = cache.poll(T0 + 89).ticket() else {
            panic!("expected a refresh");
        };
        for now in T0 + 89..T0 + 119 {
            assert_eq!(cache.poll(now), Decision::UseCurrent);
            assert_eq!(cache.unknown_key(now), None);
        }
        assert!(cache.fetch_failed(refresh, T0 + 100));
        assert!(!cache.fetch_in_flight(T0 + 100));
    }

    #[test]
    fn abandoned_fetch_times_out() {
        let mut cache = new_cache();
        let Some(lost) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        assert_eq!(cache.poll(T0 + 29), Decision::Wait);
        // The read-only views already see it abandoned at the deadline.
        assert!(!cache.fetch_in_flight(T0 + 30));
        assert_eq!(cache.status(T0 + 30).consecutive_failures, 1);
        assert_eq!(cache.backoff_until(T0 + 30), Some(T0 + 31));
        assert_eq!(cache.retry_after(T0 + 30), 1);
        // Abandoned at T0 + 30, counted as a failure then: 1 s backoff.
        assert_eq!(cache.poll(T0 + 30), Decision::Unavailable);
        assert_eq!(cache.consecutive_failures(T0 + 30), 1);
        let Some(retry) = cache.poll(T0 + 31).ticket() else {
            panic!("expected a retry");
        };
        assert_ne!(retry, lost);
        // Polled long after the deadline: the failure counts at the deadline, so a retry is due.
        assert_eq!(
            cache.poll(T0 + 1000),
            Decision::Fetch(FetchTicket {
                id: 3,
                reason: FetchReason::NoUsableSet
            })
        );
        assert_eq!(cache.consecutive_failures(T0 + 1000), 2);
    }

    #[test]
    fn fetch_timeout_is_configurable() {
        let mut cache = KeySetCache::<u32>::new(CacheConfig {
            fetch_timeout: 5,
            ..CacheConfig::default()
        });
        fetch_ok(&mut cache, T0, 1, Some("max-age=60"));
        let Some(_lost) = cache.poll(T0 + 60).ticket() else {
            panic!("expected a refresh");
        };
        assert_eq!(cache.poll(T0 + 64), Decision::UseCurrent);
        assert!(cache.fetch_in_flight(T0 + 64));
        assert!(!cache.fetch_in_flight(T0 + 65));
        assert_eq!(cache.poll(T0 + 65), Decision::UseCurrent); // abandoned, backoff 1 s
        assert!(matches!(cache.poll(T0 + 66), Decision::Refresh(_)));
    }

    // --- Late and odd reports -----------------------------------------------------------------

    #[test]
    fn late_success_of_an_abandoned_ticket_installs_if_newer() {
        let mut cache = new_cache();
        let Some(old) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        assert_eq!(cache.poll(T0 + 30), Decision::Unavailable);
        let Some(new) = cache.poll(T0 + 31).ticket() else {
            panic!("expected a retry");
        };
        // The old fetch answers after all: no set is newer, so it is installed, and the
        // backoff ends; the new fetch stays in flight.
        assert!(cache.fetch_succeeded(old, T0 + 32, 1, None));
        assert_eq!(cache.generation(), 1);
        assert_eq!(cache.consecutive_failures(T0 + 32), 0);
        assert_eq!(current(&cache, T0 + 32), Some(1));
        assert!(cache.fetch_in_flight(T0 + 32));
        assert_eq!(cache.poll(T0 + 33), Decision::UseCurrent);
        // The new one installs over it.
        assert!(cache.fetch_succeeded(new, T0 + 34, 2, None));
        assert_eq!(cache.generation(), 2);
        assert_eq!(current(&cache, T0 + 34), Some(2));
        assert!(!cache.fetch_in_flight(T0 + 34));
    }

    #[test]
    fn late_success_older_than_the_installed_set_is_dropped() {
        let mut cache = new_cache();
        let Some(old) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        assert_eq!(cache.poll(T0 + 30), Decision::Unavailable);
        let Some(new) = cache.poll(T0 + 31).ticket() else {
            panic!("expected a retry");
        };
        assert!(cache.fetch_succeeded(new, T0 + 32, 2, None));
        assert!(!cache.fetch_succeeded(old, T0 + 33, 1, None));
        assert_eq!(cache.generation(), 1);
        assert_eq!(current(&cache, T0 + 33), Some(2));
        assert_eq!(cache.fetched_at(), Some(T0 + 32));
    }

    #[test]
    fn late_success_that_loses_the_race_still_ends_the_backoff() {
        let mut cache = new_cache();
        let Some(old) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        assert_eq!(cache.poll(T0 + 30), Decision::Unavailable);
        let Some(new) = cache.poll(T0 + 31).ticket() else {
            panic!("expected a retry");
        };
        assert!(cache.fetch_succeeded(new, T0 + 31, 2, None));
        let Some(refetch) = cache.unknown_key(T0 + 32) else {
            panic!("expected an unknown-key refetch");
        };
        assert!(cache.fetch_failed(refetch, T0 + 33));
        assert_eq!(cache.consecutive_failures(T0 + 33), 1);
        // The abandoned first fetch answers now: its set is older, but the issuer answered.
        assert!(!cache.fetch_succeeded(old, T0 + 33, 1, None));
        assert_eq!(cache.consecutive_failures(T0 + 33), 0);
        assert_eq!(cache.backoff_until(T0 + 33), None);
        assert_eq!(current(&cache, T0 + 33), Some(2));
    }

    #[test]
    fn late_failure_after_newer_success_is_ignored() {
        let mut cache = new_cache();
        let Some(old) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        assert_eq!(cache.poll(T0 + 30), Decision::Unavailable);
        let Some(new) = cache.poll(T0 + 31).ticket() else {
            panic!("expected a retry");
        };
        assert!(cache.fetch_succeeded(new, T0 + 32, 2, Some("max-age=60")));
        assert!(!cache.fetch_failed(old, T0 + 33));
        assert_eq!(cache.consecutive_failures(T0 + 33), 0);
        assert_eq!(cache.backoff_until(T0 + 33), None);
        // The refresh is not delayed by a backoff.
        assert!(matches!(cache.poll(T0 + 92), Decision::Refresh(_)));
    }

    #[test]
    fn late_failure_of_abandoned_ticket_is_not_counted_twice() {
        let mut cache = new_cache();
        let Some(old) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        assert_eq!(cache.poll(T0 + 30), Decision::Unavailable);
        let Some(new) = cache.poll(T0 + 31).ticket() else {
            panic!("expected a retry");
        };
        assert!(!cache.fetch_failed(old, T0 + 32));
        assert_eq!(cache.consecutive_failures(T0 + 32), 1);
        assert!(cache.fetch_in_flight(T0 + 32));
        assert!(cache.fetch_failed(new, T0 + 33));
        assert_eq!(cache.consecutive_failures(T0 + 33), 2);
    }

    #[test]
    fn duplicate_and_foreign_reports_change_nothing() {
        let mut cache = new_cache();
        let Some(ticket) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        assert!(cache.fetch_succeeded(ticket, T0, 1, None));
        assert!(!cache.fetch_succeeded(ticket, T0 + 1, 2, None));
        assert!(!cache.fetch_failed(ticket, T0 + 1));
        assert_eq!(cache.generation(), 1);
        assert_eq!(current(&cache, T0 + 1), Some(1));
        assert_eq!(cache.consecutive_failures(T0 + 1), 0);

        // Tickets this cache never issued.
        for id in [0, 2, 99, u64::MAX] {
            let foreign = FetchTicket {
                id,
                reason: FetchReason::Stale,
            };
            assert!(!cache.fetch_succeeded(foreign, T0 + 2, 3, None));
            assert!(!cache.fetch_failed(foreign, T0 + 2));
        }
        assert_eq!(cache.generation(), 1);
        assert_eq!(cache.consecutive_failures(T0 + 2), 0);
    }

    #[test]
    fn generation_increments_on_every_install_only() {
        let mut cache = new_cache();
        assert_eq!(cache.generation(), 0);
        let mut now = T0;
        for generation in 1..=5 {
            fetch_ok(&mut cache, now, generation as u32, Some("max-age=60"));
            assert_eq!(cache.generation(), generation);
            // A failed refresh does not change it.
            now += 60;
            let Some(ticket) = cache.poll(now).ticket() else {
                panic!("expected a refresh");
            };
            assert!(cache.fetch_failed(ticket, now));
            assert_eq!(cache.generation(), generation);
            now += 1;
        }
        // The Arc changes with the generation.
        let before = cache.current(now).cloned();
        fetch_ok(&mut cache, now, 42, None);
        let after = cache.current(now).cloned();
        assert!(before.is_some() && after.is_some());
        assert!(!matches!((before, after), (Some(a), Some(b)) if Arc::ptr_eq(&a, &b)));
    }

    // --- Absurd clocks --------------------------------------------------------------------------

    #[test]
    fn clock_going_backwards() {
        let mut cache = new_cache();
        fetch_ok(&mut cache, T0, 1, Some("max-age=600"));
        // Read-only views: age 0.
        assert_eq!(cache.set_state(T0 - 10_000), SetState::Fresh);
        assert_eq!(current(&cache, 0), Some(1));
        // A mutating call re-anchors: fresh for one full interval from the new now.
        let back = T0 - 10_000;
        assert_eq!(cache.poll(back), Decision::UseCurrent);
        assert_eq!(cache.fresh_until(), Some(back + 600));
        assert!(matches!(cache.poll(back + 600), Decision::Refresh(_)));

        // Cooldown re-anchored: at most one more cooldown, not "until the clock catches up".
        let mut cache = cache_with_set(T0);
        let Some(ticket) = cache.unknown_key(T0 + 5) else {
            panic!("expected a refetch");
        };
        assert!(cache.fetch_succeeded(ticket, T0 + 5, 2, None));
        assert_eq!(cache.unknown_key(T0 - 3600), None);
        assert_eq!(cache.unknown_key(T0 - 3600 + 29), None);
        assert!(cache.unknown_key(T0 - 3600 + 30).is_some());

        // In-flight fetch and backoff re-anchored too.
        let mut cache = new_cache();
        let Some(ticket) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        assert_eq!(cache.poll(100), Decision::Wait);
        assert_eq!(cache.poll(129), Decision::Wait);
        assert_eq!(cache.poll(130), Decision::Unavailable);
        assert!(!cache.fetch_failed(ticket, 130));
        let Some(ticket) = cache.poll(131).ticket() else {
            panic!("expected a retry");
        };
        assert!(cache.fetch_failed(ticket, 131));
        assert_eq!(cache.poll(5), Decision::Unavailable);
        assert_eq!(cache.retry_after(5), 2);
        assert!(cache.poll(7).ticket().is_some());
    }

    fn cache_with_set(now: u64) -> KeySetCache<u32> {
        let mut cache = new_cache();
        fetch_ok(&mut cache, now, 1, None);
        cache
    }

    #[test]
    fn extreme_instants() {
        let mut cache = new_cache();
        let max = u64::MAX;
        let Some(ticket) = cache.poll(max).ticket() else {
            panic!("expected a fetch");
        };
        assert_eq!(cache.poll(max), Decision::Wait);
        assert!(cache.fetch_failed(ticket, max));
        assert_eq!(cache.poll(max), Decision::Unavailable);
        assert_eq!(cache.backoff_until(max), Some(max));
        assert_eq!(cache.retry_after(max), 1);
        // Back to 0: re-anchored.
        assert_eq!(cache.poll(0), Decision::Unavailable);
        let Some(ticket) = cache.poll(2).ticket() else {
            panic!("expected a retry");
        };
        assert!(cache.fetch_succeeded(ticket, max, 1, Some("max-age=18446744073709551615")));
        assert_eq!(cache.fresh_until(), Some(max));
        assert_eq!(cache.usable_until(), Some(max));
        assert_eq!(current(&cache, max), Some(1));
        assert_eq!(cache.set_state(max), SetState::Fresh);
        assert_eq!(cache.poll(max), Decision::UseCurrent);
        assert!(cache.unknown_key(max).is_some());
        let _ = cache.status(max);
        let _ = cache.status(0);
        assert_eq!(cache.poll(0), Decision::UseCurrent);
        assert_eq!(cache.fresh_until(), Some(DAY));
    }

    #[test]
    fn extreme_configurations_do_not_panic() {
        let configs = [
            CacheConfig {
                default_ttl: 0,
                min_ttl: 0,
                max_ttl: 0,
                unknown_key_cooldown: 0,
                stale_if_error: 0,
                backoff_initial: 0,
                backoff_max: 0,
                fetch_timeout: 0,
            },
            CacheConfig {
                default_ttl: u64::MAX,
                min_ttl: u64::MAX,
                max_ttl: u64::MAX,
                unknown_key_cooldown: u64::MAX,
                stale_if_error: u64::MAX,
                backoff_initial: u64::MAX,
                backoff_max: u64::MAX,
                fetch_timeout: u64::MAX,
            },
        ];
        for config in configs {
            let mut cache = KeySetCache::<u32>::new(config);
            for now in [0, 1, T0, u64::MAX - 1, u64::MAX, 0, 5] {
                let decision = cache.poll(now);
                if let Some(ticket) = decision.ticket() {
                    let _ = cache.fetch_failed(ticket, now);
                }
                if let Some(ticket) = cache.poll(now).ticket() {
                    let _ = cache.fetch_succeeded(ticket, now, 1, Some("max-age=5"));
                }
                if let Some(ticket) = cache.unknown_key(now) {
                    let _ = cache.fetch_succeeded(ticket, now, 2, None);
                }
                let _ = cache.current(now);
                let _ = cache.status(now);
                assert!(cache.retry_after(now) >= 1);
                let _ = (
                    cache.fresh_until(),
                    cache.usable_until(),
                    cache.fetched_at(),
                );
            }
        }
    }

    #[test]
    fn zero_fetch_timeout_abandons_at_the_next_second() {
        let mut cache = KeySetCache::<u32>::new(CacheConfig {
            fetch_timeout: 0,
            backoff_initial: 0,
            ..CacheConfig::default()
        });
        let Some(first) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        // Abandoned at once; with backoff disabled the next poll fetches again.
        let Some(second) = cache.poll(T0).ticket() else {
            panic!("expected a fetch");
        };
        assert!(second.id() > first.id());
    }

    #[test]
    fn debug_shows_state_not_the_set() {
        struct Secret;
        let mut cache = KeySetCache::<Secret>::default();
        if let Some(ticket) = cache.poll(T0).ticket() {
            assert!(cache.fetch_succeeded(ticket, T0, Secret, None));
        }
        let text = alloc::format!("{cache:?}");
        assert!(text.contains("generation: 1"), "{text}");
        assert!(!text.contains("Secret"), "{text}");
    }

    #[test]
    fn decision_helpers() {
        let ticket = FetchTicket {
            id: 1,
            reason: FetchReason::Stale,
        };
        assert_eq!(Decision::Refresh(ticket).ticket(), Some(ticket));
        assert_eq!(Decision::Fetch(ticket).ticket(), Some(ticket));
        for decision in [Decision::UseCurrent, Decision::Wait, Decision::Unavailable] {
            assert_eq!(decision.ticket(), None);
        }
        assert!(Decision::UseCurrent.uses_current());
        assert!(Decision::Refresh(ticket).uses_current());
        assert!(!Decision::Fetch(ticket).uses_current());
        assert!(!Decision::Wait.uses_current());
        assert!(!Decision::Unavailable.uses_current());
        assert!(SetState::Fresh.is_usable() && SetState::Stale.is_usable());
        assert!(!SetState::Missing.is_usable() && !SetState::Expired.is_usable());
    }

    // --- Random event sequences -------------------------------------------------------------

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Event {
            Poll,
            UnknownKey,
            /// Report the `n`-th most recent outstanding ticket as a success.
            Succeed(usize, Option<u64>),
            /// Report the `n`-th most recent outstanding ticket as a failure.
            Fail(usize),
        }

        fn event() -> impl Strategy<Value = Event> {
            prop_oneof![
                3 => Just(Event::Poll),
                2 => Just(Event::UnknownKey),
                2 => (0..3usize, proptest::option::of(0..200_000u64))
                    .prop_map(|(n, age)| Event::Succeed(n, age)),
                2 => (0..3usize).prop_map(Event::Fail),
            ]
        }

        /// Steps of time: mostly small, sometimes an hour, a day, or more.
        fn step() -> impl Strategy<Value = u64> {
            prop_oneof![
                6 => 0..5u64,
                3 => 0..120u64,
                1 => 0..200_000u64,
            ]
        }

        fn config() -> impl Strategy<Value = CacheConfig> {
            prop_oneof![
                Just(CacheConfig::default()),
                (1..100u64, 1..100u64, 1..20u64, 1..50u64, 1..600u64).prop_map(
                    |(min_ttl, cooldown, backoff, timeout, grace)| CacheConfig {
                        default_ttl: min_ttl * 3,
                        min_ttl,
                        max_ttl: min_ttl * 10,
                        unknown_key_cooldown: cooldown,
                        stale_if_error: grace,
                        backoff_initial: backoff,
                        backoff_max: backoff * 8,
                        fetch_timeout: timeout,
                    }
                ),
            ]
        }

        proptest! {
            /// With a clock that never goes backwards: one fetch at a time, unknown-key
            /// refetches spaced by the cooldown, no fetch during a backoff, no set used past
            /// its grace, generation = number of installs, and never stuck.
            #[test]
            fn invariants_with_a_monotonic_clock(
                config in config(),
                events in proptest::collection::vec((step(), event()), 1..200),
            ) {
                let mut cache = KeySetCache::<u64>::new(config);
                let mut now = T0;
                let mut outstanding: Vec<FetchTicket> = Vec::new();
                // Model: the fetch in flight (ticket id, start), the installed set
                // (ticket id, fetched at, ttl), the last unknown-key refetch, failures.
                let mut in_flight: Option<(u64, u64)> = None;
                let mut installed: Option<(u64, u64, u64)> = None;
                let mut installs = 0u64;
                let mut last_unknown: Option<u64> = None;
                let mut failures = 0u32;
                let mut last_failure = 0u64;

                for (dt, event) in events {
                    now += dt;
                    // Abandonment, as the model sees it.
                    let timed_out = in_flight.filter(|&(_, started)| now - started >= config.fetch_timeout);
                    if let Some((_, started)) = timed_out {
                        in_flight = None;
                        failures += 1;
                        last_failure = started + config.fetch_timeout;
                    }
                    let backoff_holds = now - last_failure < config.backoff_delay(failures);
                    let issued = match event {
                        Event::Poll => cache.poll(now).ticket(),
                        Event::UnknownKey => {
                            let ticket = cache.unknown_key(now);
                            if ticket.is_some() {
                                if let Some(last) = last_unknown {
                                    prop_assert!(now - last >= config.unknown_key_cooldown);
                                }
                                last_unknown = Some(now);
                            }
                            ticket
                        }
                        Event::Succeed(n, age) => {
                            if let Some(&ticket) = outstanding.iter().rev().nth(n) {
                                let header = age.map(|a| alloc::format!("max-age={a}"));
                                let newer = installed.is_none_or(|(id, _, _)| ticket.id() > id);
                                let done = cache.fetch_succeeded(ticket, now, ticket.id(), header.as_deref());
                                prop_assert_eq!(done, newer);
                                if in_flight.is_some_and(|(id, _)| id == ticket.id()) {
                                    in_flight = None;
                                }
                                // Any success ends the backoff, installed or not.
                                failures = 0;
                                if done {
                                    installs += 1;
                                    installed = Some((ticket.id(), now, config.ttl_for(header.as_deref())));
                                }
                                outstanding.retain(|t| *t != ticket);
                            }
                            None
                        }
                        Event::Fail(n) => {
                            if let Some(&ticket) = outstanding.iter().rev().nth(n) {
                                let counted = cache.fetch_failed(ticket, now);
                                let expected = in_flight.is_some_and(|(id, _)| id == ticket.id());
                                prop_assert_eq!(counted, expected);
                                if counted {
                                    in_flight = None;
                                    failures += 1;
                                    last_failure = now;
                                }
                                outstanding.retain(|t| *t != ticket);
                            }
                            None
                        }
                    };
                    if let Some(ticket) = issued {
                        prop_assert!(in_flight.is_none(), "second fetch in flight");
                        prop_assert!(!backoff_holds, "fetch during backoff");
                        prop_assert!(outstanding.iter().all(|t| t.id() < ticket.id()));
                        in_flight = Some((ticket.id(), now));
                        outstanding.push(ticket);
                    }
                    prop_assert_eq!(cache.fetch_in_flight(now), in_flight.is_some());
                    prop_assert_eq!(cache.consecutive_failures(now), failures);
                    prop_assert_eq!(cache.generation(), installs);
                    let usable = installed.is_some_and(|(_, at, ttl)| {
                        now - at < ttl.saturating_add(config.stale_if_error)
                    });
                    prop_assert_eq!(cache.current(now).is_some(), usable);
                    if let (Some(set), Some((id, _, _))) = (cache.current(now), installed) {
                        prop_assert_eq!(**set, id);
                    }
                    prop_assert!(cache.retry_after(now) >= 1);
                }

                // Never stuck: once any fetch in flight has timed out and any backoff has
                // passed, a poll fetches unless the set is fresh.
                let later = now + config.fetch_timeout + config.backoff_max.max(config.backoff_initial);
                let fresh = cache.set_state(later) == SetState::Fresh;
                let decision = cache.poll(later);
                prop_assert_eq!(decision.ticket().is_some(), !fresh, "{:?}", decision);
            }

            /// Any clock, absurd values included: no panic, and the basic guarantees hold.
            #[test]
            fn no_panic_with_any_clock(
                events in proptest::collection::vec(
                    (prop_oneof![any::<u64>(), Just(0u64), Just(u64::MAX), T0..T0 + 100], event()),
                    1..100,
                ),
            ) {
                let mut cache = KeySetCache::<u64>::default();
                let mut outstanding: Vec<FetchTicket> = Vec::new();
                for (now, event) in events {
                    let issued = match event {
                        Event::Poll => cache.poll(now).ticket(),
                        Event::UnknownKey => cache.unknown_key(now),
                        Event::Succeed(n, age) => {
                            if let Some(&ticket) = outstanding.iter().rev().nth(n) {
                                let header = age.map(|a| alloc::format!("max-age={a}"));
                                let _ = cache.fetch_succeeded(ticket, now, 0, header.as_deref());
                            }
                            None
                        }
                        Event::Fail(n) => {
                            if let Some(&ticket) = outstanding.iter().rev().nth(n) {
                                let _ = cache.fetch_failed(ticket, now);
                            }
                            None
                        }
                    };
                    if let Some(ticket) = issued {
                        outstanding.push(ticket);
                        // Single flight at the same instant.
                        prop_assert_eq!(cache.poll(now).ticket(), None);
                        prop_assert_eq!(cache.unknown_key(now), None);
                    }
                    let status = cache.status(now);
                    prop_assert_eq!(status.is_ready(), cache.current(now).is_some());
                    prop_assert!(cache.retry_after(now) >= 1);
                }
            }

            /// The parser never panics and agrees with a plain `max-age=N`.
            #[test]
            fn parse_max_age_any_input(value in ".*", n in any::<u64>()) {
                let _ = parse_max_age(&value);
                let plain = alloc::format!("max-age={n}");
                prop_assert_eq!(parse_max_age(&plain), Some(n));
            }
        }
    }
}
