//! `cg_token_cache`: the bounded cache of verified tokens, and validation through it.

use std::sync::Mutex;

use cryptr_guard_core::{TokenCache, TokenKey};

use crate::boundary::{Out, boundary, bytes, free, handle, lock};
use crate::verified::hand_out;
use crate::{cg_keyset, cg_status, cg_validator, cg_verified};

/// A bounded cache of verified tokens (SPEC §4): a hit skips the signature, never the clock.
/// Internally locked: one `cg_token_cache` may be shared by every thread (the signature of a miss
/// is verified outside the lock).
#[derive(Debug)]
pub struct cg_token_cache {
    cache: Mutex<TokenCache>,
}

/// A new verified-token cache of at most `capacity` entries (0 disables caching; SPEC default
/// 10000). Free it with `cg_token_cache_free`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_token_cache_new(capacity: usize, out: *mut *mut cg_token_cache) -> cg_status {
    boundary(|| {
        let out = Out::new(out)?;
        out.give(cg_token_cache {
            cache: Mutex::new(TokenCache::new(capacity)),
        });
        Ok(())
    })
}

/// Frees a verified-token cache; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_token_cache_free(cache: *mut cg_token_cache) {
    boundary(|| free(cache))
}

/// The cache's counters: lookups answered from it, lookups that missed, entries evicted.
#[unsafe(no_mangle)]
pub extern "C" fn cg_token_cache_stats(
    cache: *const cg_token_cache,
    hits: *mut u64,
    misses: *mut u64,
    evictions: *mut u64,
) -> cg_status {
    boundary(|| {
        let cache = handle(cache)?;
        let hits = Out::new(hits)?;
        let misses = Out::new(misses)?;
        let evictions = Out::new(evictions)?;
        let stats = lock(&cache.cache).stats();
        hits.write(stats.hits);
        misses.write(stats.misses);
        evictions.write(stats.evictions);
        Ok(())
    })
}

/// As `cg_validator_validate`, through a verified-token cache: the same answers, the signature
/// skipped for a token this validator already verified with this key set (the clock is always
/// checked again).
#[unsafe(no_mangle)]
pub extern "C" fn cg_validator_validate_cached(
    validator: *const cg_validator,
    cache: *const cg_token_cache,
    keys: *const cg_keyset,
    token: *const u8,
    token_len: usize,
    now: u64,
    out: *mut *mut cg_verified,
) -> cg_status {
    boundary(|| {
        let validator = &handle(validator)?.validator;
        let cache = handle(cache)?;
        let keys = handle(keys)?;
        let out = Out::new(out)?;
        let token = bytes(token, token_len)?;
        let key = TokenKey::new(validator, &keys.keys, token);
        let cached = lock(&cache.cache).get(&key, validator, now);
        let result = match cached {
            Some(answer) => answer,
            None => {
                let result = validator.validate(token, &keys.keys, now);
                if let Ok(verified) = &result {
                    lock(&cache.cache).insert(&key, verified);
                }
                result
            }
        };
        hand_out(result, out)
    })
}
