//! One fetch at a time, and a fetch that never answers abandoned after `fetch_timeout`.

use super::*;

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
