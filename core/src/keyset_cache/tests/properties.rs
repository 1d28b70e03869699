//! Random event sequences against a model of the policy (proptest).

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
