//! Robustness of the key-set cache policy (SPEC §4) under random configurations, event sequences
//! (polls, unknown-key reports, successes with any `Cache-Control`, failures, foreign tickets) and
//! arbitrary `now` values: no panic, and its answers agree with each other.
//!
//! Each property runs the number of cases its `proptest_config` gives; set `PROPTEST_CASES` for a
//! longer run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::proptest_config;
use cryptr_guard_core::keyset_cache::{CacheConfig, Decision, KeySetCache};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Event {
    Poll,
    UnknownKey,
    /// Report success for the n-th ticket issued so far (from the end), with a Cache-Control.
    Succeed(usize, Option<String>),
    Fail(usize),
    /// A ticket this cache never issued (taken from another cache).
    Foreign,
}

fn event() -> impl Strategy<Value = Event> {
    let cache_control = prop::option::of(prop_oneof![
        prop::sample::select(vec![
            "max-age=0",
            "max-age=60",
            "max-age=3600",
            "no-store",
            "max-age=18446744073709551616",
            "public, max-age=\"90\"",
            "max-age=x",
            "",
        ])
        .prop_map(String::from),
        ".{0,24}",
    ]);
    prop_oneof![
        4 => Just(Event::Poll),
        2 => Just(Event::UnknownKey),
        3 => (0usize..3, cache_control).prop_map(|(i, c)| Event::Succeed(i, c)),
        2 => (0usize..3).prop_map(Event::Fail),
        1 => Just(Event::Foreign),
    ]
}

/// `now` for the next event: mostly small steps forward, sometimes anything.
fn step() -> impl Strategy<Value = (u8, u64)> {
    (0u8..10, any::<u64>())
}

fn next_now(prev: u64, (kind, r): (u8, u64)) -> u64 {
    match kind {
        0..=5 => prev.saturating_add(r % 120),
        6 => prev.saturating_add(r % 200_000),
        7 => prev.saturating_sub(r % 1000),
        8 => r,
        _ => *[0, u64::MAX, u64::MAX - 1, 1 << 63]
            .get((r % 4) as usize)
            .unwrap_or(&0),
    }
}

fn cache_config() -> impl Strategy<Value = CacheConfig> {
    let value = prop_oneof![
        6 => Just(None),
        1 => Just(Some(0u64)),
        1 => Just(Some(u64::MAX)),
        1 => (0u64..1000).prop_map(Some),
    ];
    prop::collection::vec(value, 8).prop_map(|v| {
        let d = CacheConfig::default();
        CacheConfig {
            default_ttl: v[0].unwrap_or(d.default_ttl),
            min_ttl: v[1].unwrap_or(d.min_ttl),
            max_ttl: v[2].unwrap_or(d.max_ttl),
            unknown_key_cooldown: v[3].unwrap_or(d.unknown_key_cooldown),
            stale_if_error: v[4].unwrap_or(d.stale_if_error),
            backoff_initial: v[5].unwrap_or(d.backoff_initial),
            backoff_max: v[6].unwrap_or(d.backoff_max),
            fetch_timeout: v[7].unwrap_or(d.fetch_timeout),
        }
    })
}

proptest! {
    #![proptest_config(proptest_config(512))]

    /// The policy under arbitrary event sequences and clocks: no panic, and its answers agree
    /// with each other (one fetch at a time, decisions match the usable set, generations count
    /// installs, tickets increase, the unknown-key cooldown holds on a monotonic clock).
    #[test]
    fn cache_policy_event_sequences(
        config in cache_config(),
        start in prop_oneof![Just(1_700_000_000u64), any::<u64>()],
        events in prop::collection::vec((step(), event()), 1..120),
    ) {
        let mut cache: KeySetCache<u64> = KeySetCache::new(config);
        let mut foreign: KeySetCache<u64> = KeySetCache::new(config);
        let mut foreign_tickets = Vec::new();
        for _ in 0..3 {
            if let Some(t) = foreign.poll(0).ticket() {
                foreign_tickets.push(t);
                let _ = foreign.fetch_failed(t, 0);
            }
            if let Some(t) = foreign.unknown_key(u64::MAX) {
                foreign_tickets.push(t);
            }
        }
        let mut tickets = Vec::new();
        let mut now = start;
        let mut monotonic = true;
        let mut last_unknown_key_ticket: Option<u64> = None;
        let mut reported = BTreeSet::new();
        for (i, (s, event)) in events.into_iter().enumerate() {
            let prev = now;
            now = next_now(now, s);
            monotonic &= now >= prev;
            let in_flight_before = cache.fetch_in_flight(now);
            let generation = cache.generation();
            match event {
                Event::Poll => {
                    let decision = cache.poll(now);
                    match decision {
                        Decision::UseCurrent | Decision::Refresh(_) => prop_assert!(cache.current(now).is_some()),
                        Decision::Fetch(_) | Decision::Wait | Decision::Unavailable => prop_assert!(cache.current(now).is_none()),
                    }
                    if let Some(t) = decision.ticket() {
                        prop_assert!(!in_flight_before, "a second fetch while one is in flight");
                        prop_assert!(tickets.last().is_none_or(|l: &cryptr_guard_core::keyset_cache::FetchTicket| l.id() < t.id()));
                        if config.fetch_timeout > 0 {
                            prop_assert!(cache.fetch_in_flight(now));
                        }
                        tickets.push(t);
                    }
                    if decision == Decision::Wait {
                        prop_assert!(cache.fetch_in_flight(now));
                    }
                }
                Event::UnknownKey => {
                    if let Some(t) = cache.unknown_key(now) {
                        prop_assert!(!in_flight_before, "a second fetch while one is in flight");
                        prop_assert!(tickets.last().is_none_or(|l| l.id() < t.id()));
                        if monotonic && let Some(at) = last_unknown_key_ticket {
                            prop_assert!(now - at >= config.unknown_key_cooldown, "cooldown broken");
                        }
                        last_unknown_key_ticket = Some(now);
                        tickets.push(t);
                    }
                }
                Event::Succeed(back, cache_control) => {
                    if let Some(&t) = tickets.iter().rev().nth(back) {
                        let installed_value = i as u64;
                        let installed = cache.fetch_succeeded(t, now, installed_value, cache_control.as_deref());
                        prop_assert_eq!(cache.generation(), generation + u64::from(installed));
                        if reported.insert(t.id()) && installed {
                            // The issuer answered: the backoff ends.
                            prop_assert_eq!(cache.consecutive_failures(now), 0, "a success left a backoff");
                        }
                        if installed {
                            prop_assert_eq!(cache.fetched_at(), Some(now));
                            let ttl = config.ttl_for(cache_control.as_deref());
                            prop_assert_eq!(cache.fresh_until(), Some(now.saturating_add(ttl)));
                            if cache.usable_until().is_some_and(|u| u > now) {
                                prop_assert_eq!(cache.current(now).map(|s| **s), Some(installed_value));
                            }
                            prop_assert_eq!(cache.consecutive_failures(now), 0);
                        }
                    }
                }
                Event::Fail(back) => {
                    if let Some(&t) = tickets.iter().rev().nth(back) {
                        let failures = cache.consecutive_failures(now);
                        let counted = cache.fetch_failed(t, now);
                        reported.insert(t.id());
                        if counted {
                            prop_assert_eq!(cache.consecutive_failures(now), failures.saturating_add(1));
                            prop_assert!(!cache.fetch_in_flight(now));
                        }
                        prop_assert_eq!(cache.generation(), generation);
                    }
                }
                Event::Foreign => {
                    for &t in &foreign_tickets {
                        if t.id() > tickets.last().map_or(1, |l| l.id()) {
                            prop_assert!(!cache.fetch_succeeded(t, now, 0, None));
                            prop_assert!(!cache.fetch_failed(t, now));
                        }
                    }
                    prop_assert_eq!(cache.generation(), generation);
                }
            }
            let status = cache.status(now);
            prop_assert_eq!(status.generation, cache.generation());
            prop_assert_eq!(status.set.is_usable(), cache.current(now).is_some());
            prop_assert_eq!(status.is_ready(), cache.current(now).is_some());
            prop_assert!(cache.retry_after(now) >= 1);
            if let Some(until) = cache.backoff_until(now) {
                // Saturating at the end of time (documented).
                prop_assert!(until > now || until == u64::MAX);
            }
            let _ = format!("{cache:?}");
        }
    }
}
