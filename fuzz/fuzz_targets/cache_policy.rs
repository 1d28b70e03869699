//! The key-set cache policy under arbitrary event sequences with arbitrary clocks: polls,
//! unknown-key reports, successes (with a `Cache-Control` value taken from the input) and
//! failures for any ticket issued so far, and tickets the cache never issued. Checks that no call
//! panics and that the answers agree with each other: one fetch at a time, decisions match the
//! usable set, generations count installs, ticket ids increase, `Retry-After` is at least 1.
//!
//! Input: `[config selector, start (8 bytes)]` then events of 3+ bytes each.

#![no_main]

mod common;

use common::Bytes;
use cryptr_guard_core::keyset_cache::{CacheConfig, Decision, FetchTicket, KeySetCache, parse_max_age};
use libfuzzer_sys::fuzz_target;

const CACHE_CONTROL: [&str; 8] = [
    "max-age=0",
    "max-age=60",
    "public, max-age=3600",
    "no-store",
    "max-age=18446744073709551616",
    "no-cache=\"x\", max-age=\"90\"",
    "max-age=x",
    "",
];

fn config(selector: u8, bytes: &mut Bytes<'_>) -> CacheConfig {
    let d = CacheConfig::default();
    if selector & 1 == 0 {
        return d;
    }
    // Each field: the default, 0, u64::MAX or a small value from the input.
    let mut field = |default: u64| match bytes.u8() % 4 {
        0 => default,
        1 => 0,
        2 => u64::MAX,
        _ => u64::from(bytes.u8()),
    };
    CacheConfig {
        default_ttl: field(d.default_ttl),
        min_ttl: field(d.min_ttl),
        max_ttl: field(d.max_ttl),
        unknown_key_cooldown: field(d.unknown_key_cooldown),
        stale_if_error: field(d.stale_if_error),
        backoff_initial: field(d.backoff_initial),
        backoff_max: field(d.backoff_max),
        fetch_timeout: field(d.fetch_timeout),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let selector = input.u8();
    let config = config(selector, &mut input);
    let mut now = if selector & 2 == 0 {
        1_700_000_000
    } else {
        input.u64()
    };
    let mut cache: KeySetCache<u64> = KeySetCache::new(config);
    let mut tickets: Vec<FetchTicket> = Vec::new();
    let mut foreign: KeySetCache<u64> = KeySetCache::new(config);
    let foreign_ticket = foreign.unknown_key(0);

    let mut step = 0u64;
    while !input.0.is_empty() && step < 4096 {
        step += 1;
        let op = input.u8();
        let delta = input.u8();
        now = match op >> 5 {
            0..=3 => now.saturating_add(u64::from(delta)),
            4 => now.saturating_add(u64::from(delta) * 1000),
            5 => now.saturating_sub(u64::from(delta)),
            6 => input.u64(),
            _ => [0, u64::MAX, 1 << 63, now][usize::from(delta % 4)],
        };
        let in_flight = cache.fetch_in_flight(now);
        let generation = cache.generation();
        match op % 6 {
            0 | 1 => {
                let decision = cache.poll(now);
                if decision.uses_current() {
                    assert!(cache.current(now).is_some());
                } else {
                    assert!(cache.current(now).is_none());
                }
                if let Some(t) = decision.ticket() {
                    assert!(!in_flight, "a second fetch while one is in flight");
                    assert!(tickets.last().is_none_or(|l| l.id() < t.id()));
                    tickets.push(t);
                }
                if decision == Decision::Wait {
                    assert!(cache.fetch_in_flight(now));
                }
            }
            2 => {
                if let Some(t) = cache.unknown_key(now) {
                    assert!(!in_flight, "a second fetch while one is in flight");
                    assert!(tickets.last().is_none_or(|l| l.id() < t.id()));
                    tickets.push(t);
                }
            }
            3 => {
                let back = usize::from(input.u8() % 4);
                let cc = CACHE_CONTROL[usize::from(input.u8() % 8)];
                let _ = parse_max_age(cc);
                if let Some(&t) = tickets.iter().rev().nth(back) {
                    let installed = cache.fetch_succeeded(t, now, step, Some(cc));
                    assert_eq!(cache.generation(), generation + u64::from(installed));
                    if installed {
                        assert_eq!(cache.fetched_at(), Some(now));
                        assert_eq!(
                            cache.fresh_until(),
                            Some(now.saturating_add(config.ttl_for(Some(cc))))
                        );
                        if cache.usable_until().is_some_and(|u| u > now) {
                            assert_eq!(cache.current(now).map(|s| **s), Some(step));
                        }
                    }
                }
            }
            4 => {
                let back = usize::from(input.u8() % 4);
                if let Some(&t) = tickets.iter().rev().nth(back) {
                    let failures = cache.consecutive_failures(now);
                    if cache.fetch_failed(t, now) {
                        assert_eq!(cache.consecutive_failures(now), failures.saturating_add(1));
                        assert!(!cache.fetch_in_flight(now));
                    }
                    assert_eq!(cache.generation(), generation);
                }
            }
            _ => {
                // A Cache-Control value from the input, and a ticket from another cache.
                let len = usize::from(input.u8() % 32).min(input.0.len());
                let (text, rest) = input.0.split_at(len);
                input.0 = rest;
                if let Ok(text) = std::str::from_utf8(text) {
                    let _ = config.ttl_for(Some(text));
                }
                if let Some(t) = foreign_ticket
                    && tickets.is_empty()
                {
                    assert!(!cache.fetch_succeeded(t, now, 0, None));
                    assert!(!cache.fetch_failed(t, now));
                }
            }
        }
        let status = cache.status(now);
        assert_eq!(status.generation, cache.generation());
        assert_eq!(status.set.is_usable(), cache.current(now).is_some());
        assert!(cache.retry_after(now) >= 1);
        assert!(
            cache
                .backoff_until(now)
                .is_none_or(|until| until > now || until == u64::MAX)
        );
    }
});
