//! `cg_keyset_cache`: the key-set cache policy of one issuer, sans I/O.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use cryptr_guard_core::keyset_cache::{CacheConfig, Decision, FetchTicket, KeySetCache, SetState};
use cryptr_guard_core::{KeySet, KeySetOptions};

use crate::boundary::{Out, boundary, bytes, free, handle, lock, optional_bytes};
use crate::keyset::keyset_options;
use crate::verified::hand_out;
use crate::{cg_keyset, cg_status, cg_validator, cg_verified};

/// What to do with a request, as `cg_keyset_cache_poll` decides (SPEC §4 cache policy).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cg_decision {
    /// Validate against the current set (`cg_keyset_cache_validate`); nothing to fetch.
    CG_DECISION_USE_CURRENT = 0,
    /// Validate against the current (stale) set, and refetch in the background with the ticket.
    CG_DECISION_REFRESH = 1,
    /// No set is usable: fetch now with the ticket, report it, then validate.
    CG_DECISION_FETCH = 2,
    /// No set is usable and another caller's fetch is in flight: wait for it and poll again, or
    /// answer `jwks_unavailable`.
    CG_DECISION_WAIT = 3,
    /// No set is usable and no fetch may start now (backoff): answer `jwks_unavailable` (HTTP 503)
    /// with `Retry-After: cg_keyset_cache_retry_after()`.
    CG_DECISION_UNAVAILABLE = 4,
}

/// The state of the cached key set at some instant.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cg_set_state {
    /// No set was ever installed.
    CG_SET_MISSING = 0,
    /// Within its freshness.
    CG_SET_FRESH = 1,
    /// Past its freshness, within the 24 h grace: usable, refreshing.
    CG_SET_STALE = 2,
    /// Past its grace: not usable.
    CG_SET_EXPIRED = 3,
}

/// How many unreported tickets a cache remembers (a late report of an older one changes nothing).
const REMEMBERED_TICKETS: usize = 64;

#[derive(Debug)]
struct Policy {
    cache: KeySetCache<KeySet>,
    options: KeySetOptions,
    /// Tickets issued and not yet reported, by id (C holds only the id).
    tickets: BTreeMap<u64, FetchTicket>,
}

impl Policy {
    fn issue(&mut self, ticket: Option<FetchTicket>) -> u64 {
        let Some(ticket) = ticket else { return 0 };
        self.tickets.insert(ticket.id(), ticket);
        while self.tickets.len() > REMEMBERED_TICKETS {
            self.tickets.pop_first();
        }
        ticket.id()
    }
}

/// The key-set cache policy of one issuer (SPEC §4), sans I/O: it decides when to fetch the JWKS
/// and which set to validate against; the application fetches with its own HTTP client (libcurl,
/// say) and reports the outcome.
///
/// Internally locked (a mutex around the policy): one `cg_keyset_cache` may be shared by every
/// thread of a service without external locking. Tokens are verified outside the lock.
///
/// A request's flow:
/// 1. `cg_keyset_cache_poll(cache, now, &decision, &ticket)`; on `CG_DECISION_FETCH` (or, in the
///    background, `CG_DECISION_REFRESH`) fetch the JWKS and report it with
///    `cg_keyset_cache_fetch_succeeded` (body and `Cache-Control`) or `cg_keyset_cache_fetch_failed`;
///    on `CG_DECISION_WAIT` / `CG_DECISION_UNAVAILABLE` answer 503 `jwks_unavailable`.
/// 2. `cg_keyset_cache_validate(cache, validator, token, len, now, &verified)`.
/// 3. On `CG_UNKNOWN_KEY`: `cg_keyset_cache_unknown_key(cache, now, &ticket)`; when `ticket != 0`,
///    fetch and report with that ticket, then validate the token once more (once only).
#[derive(Debug)]
pub struct cg_keyset_cache {
    policy: Mutex<Policy>,
}

/// A new, empty key-set cache with the SPEC §4 timings (freshness from `Cache-Control: max-age`
/// clamped to [60 s, 24 h], else 10 min; unknown-key refetch at most once per 30 s; 24 h grace on
/// failure; backoff 1 s doubling up to 5 min; a fetch not reported within 30 s is abandoned).
/// Fetched bodies are parsed with the key-set options `min_rsa_bits` and `capacity` (0 for the
/// defaults, as `cg_keyset_from_jwks_with`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_new(
    min_rsa_bits: u32,
    capacity: usize,
    out: *mut *mut cg_keyset_cache,
) -> cg_status {
    boundary(|| {
        let out = Out::new(out)?;
        let options = keyset_options(min_rsa_bits, capacity)?;
        out.give(cg_keyset_cache {
            policy: Mutex::new(Policy {
                cache: KeySetCache::new(CacheConfig::default()),
                options,
                tickets: BTreeMap::new(),
            }),
        });
        Ok(())
    })
}

/// Frees a key-set cache; NULL is a no-op. Key sets obtained from it stay valid.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_free(cache: *mut cg_keyset_cache) {
    boundary(|| free(cache))
}

/// What to do with a request at `now`: `*decision`, and `*ticket`, the non-zero id of the fetch to
/// run for `CG_DECISION_FETCH` / `CG_DECISION_REFRESH` (0 otherwise). A ticket marks a fetch in
/// flight: always report it (`cg_keyset_cache_fetch_succeeded` / `_failed`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_poll(
    cache: *const cg_keyset_cache,
    now: u64,
    decision: *mut cg_decision,
    ticket: *mut u64,
) -> cg_status {
    boundary(|| {
        let cache = handle(cache)?;
        let decision = Out::new(decision)?;
        let ticket = Out::new(ticket)?;
        let mut policy = lock(&cache.policy);
        let answer = policy.cache.poll(now);
        let id = policy.issue(answer.ticket());
        decision.write(match answer {
            Decision::UseCurrent => cg_decision::CG_DECISION_USE_CURRENT,
            Decision::Refresh(_) => cg_decision::CG_DECISION_REFRESH,
            Decision::Fetch(_) => cg_decision::CG_DECISION_FETCH,
            Decision::Wait => cg_decision::CG_DECISION_WAIT,
            _ => cg_decision::CG_DECISION_UNAVAILABLE,
        });
        ticket.write(id);
        Ok(())
    })
}

/// Reports a fetch that got an HTTP 200 response: its body `(body, body_len)` and its
/// `Cache-Control` header value `(cache_control, cache_control_len)` (NULL with length 0 when
/// the response had none). The body is parsed here: `CG_INVALID_JWKS` when it is not a valid JWKS
/// (the fetch then counts as failed, SPEC §4). On `CG_OK`, `*installed` tells whether the set
/// became the current one (false for a late report that lost to a newer set, a ticket reported
/// twice, or an id this cache never issued).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_fetch_succeeded(
    cache: *const cg_keyset_cache,
    ticket: u64,
    now: u64,
    body: *const u8,
    body_len: usize,
    cache_control: *const u8,
    cache_control_len: usize,
    installed: *mut bool,
) -> cg_status {
    boundary(|| {
        let cache = handle(cache)?;
        let installed = Out::new(installed)?;
        let body = bytes(body, body_len)?;
        let cache_control =
            optional_bytes(cache_control, cache_control_len)?.map(String::from_utf8_lossy);
        let options = lock(&cache.policy).options;
        // Parse outside the lock: a large JWKS must not stall other requests.
        let parsed = KeySet::from_jwks_with(body, &options);
        let mut policy = lock(&cache.policy);
        let Some(t) = policy.tickets.remove(&ticket) else {
            return match parsed {
                Ok(_) => {
                    installed.write(false);
                    Ok(())
                }
                Err(e) => Err(e.into()),
            };
        };
        match parsed {
            Ok(set) => {
                let done = policy
                    .cache
                    .fetch_succeeded(t, now, set, cache_control.as_deref());
                installed.write(done);
                Ok(())
            }
            Err(e) => {
                let _counted = policy.cache.fetch_failed(t, now);
                Err(e.into())
            }
        }
    })
}

/// Reports a failed fetch (network error, timeout, non-200 status). On `CG_OK`, `*counted` tells
/// whether it counted as a failure (only the fetch in flight does; see the SPEC §4 backoff).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_fetch_failed(
    cache: *const cg_keyset_cache,
    ticket: u64,
    now: u64,
    counted: *mut bool,
) -> cg_status {
    boundary(|| {
        let cache = handle(cache)?;
        let counted = Out::new(counted)?;
        let mut policy = lock(&cache.policy);
        let done = match policy.tickets.remove(&ticket) {
            Some(t) => policy.cache.fetch_failed(t, now),
            None => false,
        };
        counted.write(done);
        Ok(())
    })
}

/// After `CG_UNKNOWN_KEY` from `cg_keyset_cache_validate`: whether to refetch now. `*ticket`
/// receives the ticket of the refetch to run (then validate the token once more against the new
/// set), or 0 when no refetch may start (cooldown of 30 s, a fetch in flight, backoff): the token
/// then fails with `unknown_key`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_unknown_key(
    cache: *const cg_keyset_cache,
    now: u64,
    ticket: *mut u64,
) -> cg_status {
    boundary(|| {
        let cache = handle(cache)?;
        let ticket = Out::new(ticket)?;
        let mut policy = lock(&cache.policy);
        let answer = policy.cache.unknown_key(now);
        let id = policy.issue(answer);
        ticket.write(id);
        Ok(())
    })
}

/// The key set to validate against at `now` (a new handle sharing the set: free it with
/// `cg_keyset_free`); `CG_JWKS_UNAVAILABLE` when no set is usable.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_current(
    cache: *const cg_keyset_cache,
    now: u64,
    out: *mut *mut cg_keyset,
) -> cg_status {
    boundary(|| {
        let cache = handle(cache)?;
        let out = Out::new(out)?;
        let keys = current(cache, now)?;
        out.give(cg_keyset { keys });
        Ok(())
    })
}

fn current(cache: &cg_keyset_cache, now: u64) -> Result<Arc<KeySet>, cg_status> {
    lock(&cache.policy)
        .cache
        .current(now)
        .cloned()
        .ok_or(cg_status::CG_JWKS_UNAVAILABLE)
}

/// Validates a token against the cache's current set at `now` (as `cg_validator_validate`;
/// `CG_JWKS_UNAVAILABLE` when no set is usable). The set is taken under the lock, the token
/// verified outside it.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_validate(
    cache: *const cg_keyset_cache,
    validator: *const cg_validator,
    token: *const u8,
    token_len: usize,
    now: u64,
    out: *mut *mut cg_verified,
) -> cg_status {
    boundary(|| {
        let cache = handle(cache)?;
        let validator = handle(validator)?;
        let out = Out::new(out)?;
        let token = bytes(token, token_len)?;
        let keys = current(cache, now)?;
        hand_out(validator.validator.validate(token, &keys, now), out)
    })
}

/// The `Retry-After` value in seconds (at least 1) for a `jwks_unavailable` answer at `now`
/// (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_retry_after(cache: *const cg_keyset_cache, now: u64) -> u64 {
    boundary(|| handle(cache).map_or(0, |c| lock(&c.policy).cache.retry_after(now)))
}

/// The generation of the installed set: 0 before the first, then +1 per installed set (0 for
/// NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_generation(cache: *const cg_keyset_cache) -> u64 {
    boundary(|| handle(cache).map_or(0, |c| lock(&c.policy).cache.generation()))
}

/// The state of the installed set at `now`, and the instant its freshness ends (`*fresh_until`,
/// 0 when no set was ever installed).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_state(
    cache: *const cg_keyset_cache,
    now: u64,
    state: *mut cg_set_state,
    fresh_until: *mut u64,
) -> cg_status {
    boundary(|| {
        let cache = handle(cache)?;
        let state = Out::new(state)?;
        let fresh_until = Out::new(fresh_until)?;
        let policy = lock(&cache.policy);
        let s = match policy.cache.set_state(now) {
            SetState::Missing => cg_set_state::CG_SET_MISSING,
            SetState::Fresh => cg_set_state::CG_SET_FRESH,
            SetState::Stale => cg_set_state::CG_SET_STALE,
            _ => cg_set_state::CG_SET_EXPIRED,
        };
        state.write(s);
        fresh_until.write(policy.cache.fresh_until().unwrap_or(0));
        Ok(())
    })
}
