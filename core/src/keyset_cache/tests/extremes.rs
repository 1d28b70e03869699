//! Absurd clocks and configurations: a clock going backwards re-anchors, extreme instants and
//! settings never panic.

use super::*;

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
