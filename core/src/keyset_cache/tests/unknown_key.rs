//! Unknown keys: refetches at most once per cooldown, never beside a fetch in flight or during
//! a backoff.

use super::*;

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
