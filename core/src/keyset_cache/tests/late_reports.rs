//! Late and odd reports: answers of abandoned, older, duplicate or foreign tickets, and the
//! generation, which only an install moves.

use super::*;

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
