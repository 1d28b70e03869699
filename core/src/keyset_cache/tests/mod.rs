//! The key-set cache policy, rule by rule: one file per rule (Cache-Control, fresh/stale/grace,
//! backoff, unknown keys, one fetch at a time, late reports, absurd clocks, the small types, random
//! event sequences), the shared helpers here.

// Tests state their expectations with `panic!` in `let … else`; the lint guards library code.
#![allow(clippy::panic)]
use super::*;
use crate::keyset_cache::cache_control::parse_max_age;
use alloc::vec::Vec;

mod backoff;
mod cache_control;
mod extremes;
mod freshness;
mod late_reports;
mod properties;
mod single_flight;
mod types;
mod unknown_key;

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

/// A cache with set 1 installed at `now`.
fn cache_with_set(now: u64) -> KeySetCache<u32> {
    let mut cache = new_cache();
    fetch_ok(&mut cache, now, 1, None);
    cache
}
