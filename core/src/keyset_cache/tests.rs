//! The key-set cache policy, rule by rule.

// Tests state their expectations with `panic!` in `let … else`; the lint guards library code.
#![allow(clippy::panic)]
use super::*;
use crate::keyset_cache::cache_control::parse_max_age;
use alloc::vec::Vec;

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

// --- Cache-Control parsing -------------------------------------------------------------

#[test]
fn parse_max_age_plain_and_case_insensitive() {
    assert_eq!(parse_max_age("max-age=3600"), Some(3600));
    assert_eq!(parse_max_age("MAX-AGE=60"), Some(60));
    assert_eq!(parse_max_age("Max-Age=0"), Some(0));
    assert_eq!(
        parse_max_age("public, max-age=19845, must-revalidate, no-transform"),
        Some(19845)
    );
    assert_eq!(parse_max_age("  public ,\tmax-age = 120 ,  "), Some(120));
    assert_eq!(parse_max_age(",,max-age=7,,"), Some(7));
    assert_eq!(parse_max_age("max-age=007"), Some(7));
}

#[test]
fn parse_max_age_quoted_values() {
    assert_eq!(parse_max_age("max-age=\"60\""), Some(60));
    assert_eq!(
        parse_max_age("private=\"x, max-age=5\", max-age=90"),
        Some(90)
    );
    assert_eq!(
        parse_max_age("ext=\"a\\\", max-age=5\", max-age=90"),
        Some(90)
    );
    assert_eq!(parse_max_age("ext=\"unterminated, max-age=5"), None);
    assert_eq!(parse_max_age("max-age=\"6 0\""), None);
    assert_eq!(parse_max_age("max-age=\"\""), None);
    assert_eq!(parse_max_age("\"max-age=5\""), None);
}

#[test]
fn parse_max_age_no_cache_and_no_store() {
    assert_eq!(parse_max_age("no-store"), Some(0));
    assert_eq!(parse_max_age("No-Cache"), Some(0));
    assert_eq!(parse_max_age("max-age=3600, no-cache"), Some(0));
    assert_eq!(parse_max_age("no-store, max-age=3600"), Some(0));
    // The qualified form only concerns the named header fields.
    assert_eq!(
        parse_max_age("no-cache=\"Set-Cookie\", max-age=300"),
        Some(300)
    );
    assert_eq!(parse_max_age("no-cache=Set-Cookie"), None);
    assert_eq!(parse_max_age("no-cachex, no-storey"), None);
}

#[test]
fn parse_max_age_garbage() {
    for value in [
        "",
        "   ",
        ",,,",
        "public",
        "max-age",
        "max-age=",
        "max-age=abc",
        "max-age=-1",
        "max-age=+60",
        "max-age=1.5",
        "max-age=60 junk",
        "max-age=60\"x\"",
        "max-age==60",
        "max-age=6e2",
        "max-age:60",
        "maxage=60",
        "s-maxage=60",
        "max-age=٣",
        "=60",
        "\u{0}\u{ff}\u{1F600}",
    ] {
        assert_eq!(parse_max_age(value), None, "{value:?}");
    }
    // An invalid max-age next to a valid one: the valid one counts.
    assert_eq!(parse_max_age("max-age=x, max-age=100"), Some(100));
}

#[test]
fn parse_max_age_several_and_huge() {
    assert_eq!(parse_max_age("max-age=300, max-age=100"), Some(100));
    assert_eq!(parse_max_age("max-age=100, max-age=300"), Some(100));
    assert_eq!(
        parse_max_age("max-age=18446744073709551615"),
        Some(u64::MAX)
    );
    assert_eq!(
        parse_max_age("max-age=99999999999999999999999999999"),
        Some(u64::MAX)
    );
}

// --- Freshness ------------------------------------------------------------------------

#[test]
fn ttl_default_and_clamping() {
    let config = CacheConfig::default();
    assert_eq!(config.ttl_for(None), 600);
    assert_eq!(config.ttl_for(Some("public")), 600);
    assert_eq!(config.ttl_for(Some("max-age=soon")), 600);
    assert_eq!(config.ttl_for(Some("max-age=3600")), 3600);
    assert_eq!(config.ttl_for(Some("max-age=60")), 60);
    assert_eq!(config.ttl_for(Some("max-age=59")), 60);
    assert_eq!(config.ttl_for(Some("max-age=0")), 60);
    assert_eq!(config.ttl_for(Some("no-store")), 60);
    assert_eq!(config.ttl_for(Some("no-cache")), 60);
    assert_eq!(config.ttl_for(Some("max-age=86400")), DAY);
    assert_eq!(config.ttl_for(Some("max-age=86401")), DAY);
    assert_eq!(config.ttl_for(Some("max-age=99999999999999999999999")), DAY);
}

#[test]
fn ttl_with_inconsistent_config() {
    let config = CacheConfig {
        min_ttl: 1000,
        max_ttl: 10,
        default_ttl: 5000,
        ..CacheConfig::default()
    };
    assert_eq!(config.ttl_for(None), 10);
    assert_eq!(config.ttl_for(Some("max-age=500")), 10);
}

#[test]
fn default_config_is_the_spec() {
    let config = CacheConfig::default();
    assert_eq!(config, CacheConfig::DEFAULT);
    assert_eq!(config.default_ttl, 600);
    assert_eq!(config.min_ttl, 60);
    assert_eq!(config.max_ttl, DAY);
    assert_eq!(config.unknown_key_cooldown, 30);
    assert_eq!(config.stale_if_error, DAY);
    assert_eq!(config.backoff_initial, 1);
    assert_eq!(config.backoff_max, 300);
    assert_eq!(config.fetch_timeout, 30);
}

#[test]
fn first_fetch() {
    let mut cache = new_cache();
    assert_eq!(cache.status(T0).set, SetState::Missing);
    assert!(!cache.status(T0).is_ready());
    assert_eq!(cache.generation(), 0);
    assert_eq!(cache.current(T0), None);
    assert_eq!(cache.fresh_until(), None);

    let decision = cache.poll(T0);
    let Decision::Fetch(ticket) = decision else {
        panic!("expected Fetch, got {decision:?}");
    };
    assert_eq!(ticket.reason(), FetchReason::NoUsableSet);
    assert_eq!(ticket.id(), 1);
    assert!(!decision.uses_current());
    assert!(cache.fetch_in_flight(T0));
    assert_eq!(cache.poll(T0), Decision::Wait);
    assert_eq!(cache.poll(T0 + 1), Decision::Wait);
    assert_eq!(cache.retry_after(T0 + 1), 1);

    assert!(cache.fetch_succeeded(ticket, T0 + 2, 7, Some("max-age=3600")));
    assert_eq!(cache.generation(), 1);
    assert_eq!(current(&cache, T0 + 2), Some(7));
    assert_eq!(cache.fetched_at(), Some(T0 + 2));
    assert_eq!(cache.fresh_until(), Some(T0 + 2 + 3600));
    assert_eq!(cache.usable_until(), Some(T0 + 2 + 3600 + DAY));
    assert_eq!(cache.poll(T0 + 3), Decision::UseCurrent);
    let status = cache.status(T0 + 3);
    assert_eq!(status.set, SetState::Fresh);
    assert!(status.is_ready());
    assert!(!status.fetch_in_flight);
    assert_eq!(status.generation, 1);
    assert_eq!(status.consecutive_failures, 0);
    assert_eq!(status.backoff_until, None);
}

#[test]
fn freshness_follows_max_age_with_clamping() {
    for (cache_control, ttl) in [
        (None, 600),
        (Some("max-age=3600"), 3600),
        (Some("max-age=5"), 60),
        (Some("no-store"), 60),
        (Some("max-age=604800"), DAY),
        (Some("garbage"), 600),
    ] {
        let mut cache = new_cache();
        fetch_ok(&mut cache, T0, 1, cache_control);
        assert_eq!(cache.fresh_until(), Some(T0 + ttl), "{cache_control:?}");
        assert_eq!(cache.poll(T0 + ttl - 1), Decision::UseCurrent);
        assert_eq!(cache.set_state(T0 + ttl - 1), SetState::Fresh);
        assert_eq!(cache.set_state(T0 + ttl), SetState::Stale);
        assert!(matches!(cache.poll(T0 + ttl), Decision::Refresh(_)));
    }
}

#[test]
fn stale_set_is_served_while_refreshing() {
    let mut cache = new_cache();
    fetch_ok(&mut cache, T0, 1, Some("max-age=60"));
    assert_eq!(cache.poll(T0 + 59), Decision::UseCurrent);

    let decision = cache.poll(T0 + 60);
    let Decision::Refresh(ticket) = decision else {
        panic!("expected Refresh, got {decision:?}");
    };
    assert!(decision.uses_current());
    assert_eq!(ticket.reason(), FetchReason::Stale);
    assert_eq!(current(&cache, T0 + 60), Some(1));
    assert_eq!(cache.status(T0 + 60).set, SetState::Stale);
    assert!(cache.status(T0 + 60).is_ready());
    // Other callers use the stale set meanwhile; nobody else fetches.
    for now in T0 + 60..T0 + 70 {
        assert_eq!(cache.poll(now), Decision::UseCurrent);
        assert_eq!(current(&cache, now), Some(1));
    }
    assert!(cache.fetch_succeeded(ticket, T0 + 70, 2, Some("max-age=120")));
    assert_eq!(cache.generation(), 2);
    assert_eq!(current(&cache, T0 + 70), Some(2));
    assert_eq!(cache.fresh_until(), Some(T0 + 190));
    assert_eq!(cache.poll(T0 + 189), Decision::UseCurrent);
}

// --- Failures, grace and backoff ------------------------------------------------------

#[test]
fn backoff_delays() {
    let config = CacheConfig::default();
    let delays: Vec<u64> = (0..=12).map(|n| config.backoff_delay(n)).collect();
    assert_eq!(delays, [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    assert_eq!(config.backoff_delay(63), 300);
    assert_eq!(config.backoff_delay(64), 300);
    assert_eq!(config.backoff_delay(65), 300);
    assert_eq!(config.backoff_delay(u32::MAX), 300);
    let odd = CacheConfig {
        backoff_initial: 10,
        backoff_max: 3,
        ..config
    };
    assert_eq!(odd.backoff_delay(1), 3);
    let huge = CacheConfig {
        backoff_initial: u64::MAX,
        backoff_max: u64::MAX,
        ..config
    };
    assert_eq!(huge.backoff_delay(2), u64::MAX);
    let off = CacheConfig {
        backoff_initial: 0,
        ..config
    };
    assert_eq!(off.backoff_delay(5), 0);
}

#[test]
fn issuer_down_at_start_is_retried_with_backoff_then_recovers() {
    let mut cache = new_cache();
    let mut now = T0;
    let mut attempts = Vec::new();
    // Fail every fetch for an hour, polling every second.
    while now < T0 + 3600 {
        match cache.poll(now) {
            Decision::Fetch(ticket) => {
                attempts.push(now - T0);
                assert!(cache.fetch_failed(ticket, now));
                assert_eq!(cache.poll(now), Decision::Unavailable);
            }
            Decision::Unavailable => {
                let until = cache.backoff_until(now);
                assert!(until.is_some_and(|until| until > now));
                assert_eq!(Some(now + cache.retry_after(now)), until);
            }
            other => panic!("unexpected {other:?} at {now}"),
        }
        assert_eq!(cache.current(now), None);
        assert!(!cache.status(now).is_ready());
        now += 1;
    }
    // 0, +1, +2, +4, … +256, then every 300 s.
    let mut expected = Vec::new();
    let mut at = 0;
    let mut failures = 0;
    while at < 3600 {
        expected.push(at);
        failures += 1;
        at += CacheConfig::default().backoff_delay(failures);
    }
    assert_eq!(attempts, expected);
    assert_eq!(&attempts[..5], &[0, 1, 3, 7, 15]);
    assert_eq!(cache.consecutive_failures(now), failures);

    // Recovery: the next allowed fetch succeeds and the backoff is gone.
    let next = T0 + *expected.last().unwrap_or(&0) + 300;
    assert_eq!(cache.poll(next - 1), Decision::Unavailable);
    assert_eq!(cache.retry_after(next - 1), 1);
    fetch_ok(&mut cache, next, 9, None);
    assert_eq!(cache.consecutive_failures(next), 0);
    assert_eq!(cache.status(next).backoff_until, None);
    assert_eq!(current(&cache, next), Some(9));

    // A later failure starts the backoff from the beginning again.
    let stale = next + 600;
    let Some(ticket) = cache.poll(stale).ticket() else {
        panic!("expected a refresh");
    };
    assert!(cache.fetch_failed(ticket, stale));
    assert_eq!(cache.backoff_until(stale), Some(stale + 1));
    assert_eq!(cache.poll(stale), Decision::UseCurrent);
    assert!(matches!(cache.poll(stale + 1), Decision::Refresh(_)));
}

#[test]
fn last_good_set_is_served_for_a_day_past_freshness_then_unavailable() {
    let mut cache = new_cache();
    fetch_ok(&mut cache, T0, 5, Some("max-age=60"));
    let fresh_until = T0 + 60;
    let usable_until = fresh_until + DAY;
    assert_eq!(cache.usable_until(), Some(usable_until));
    let mut fetches = 0u32;
    for now in T0..usable_until + 3600 {
        let decision = cache.poll(now);
        if let Some(ticket) = decision.ticket() {
            fetches += 1;
            assert!(cache.fetch_failed(ticket, now));
        }
        if now < usable_until {
            assert_eq!(current(&cache, now), Some(5), "at {now}");
            assert!(decision.uses_current());
            let expected = if now < fresh_until {
                SetState::Fresh
            } else {
                SetState::Stale
            };
            assert_eq!(cache.set_state(now), expected);
        } else {
            assert_eq!(current(&cache, now), None, "at {now}");
            assert_eq!(cache.set_state(now), SetState::Expired);
            assert!(!cache.status(now).is_ready());
            assert!(matches!(
                decision,
                Decision::Fetch(_) | Decision::Unavailable
            ));
        }
    }
    // Backoff: 9 doublings to 256 s, then one fetch per 300 s.
    assert!(fetches > (DAY / 300) as u32, "{fetches}");
    assert!(fetches < (DAY / 300) as u32 + 30, "{fetches}");
    assert_eq!(cache.generation(), 1);

    // Recovery after expiry.
    let now = usable_until + 7200;
    fetch_ok(&mut cache, now, 6, None);
    assert_eq!(current(&cache, now), Some(6));
    assert_eq!(cache.generation(), 2);
}

#[test]
fn grace_uses_configured_stale_if_error() {
    let mut cache = KeySetCache::new(CacheConfig {
        stale_if_error: 0,
        ..CacheConfig::default()
    });
    fetch_ok(&mut cache, T0, 1, Some("max-age=60"));
    assert_eq!(current(&cache, T0 + 59), Some(1));
    assert_eq!(current(&cache, T0 + 60), None);
    assert!(matches!(cache.poll(T0 + 60), Decision::Fetch(_)));
}

// --- Unknown keys ---------------------------------------------------------------------

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

// --- One fetch at a time ----------------------------------------------------------------

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

// --- Late and odd reports -----------------------------------------------------------------

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

// --- Absurd clocks --------------------------------------------------------------------------

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

fn cache_with_set(now: u64) -> KeySetCache<u32> {
    let mut cache = new_cache();
    fetch_ok(&mut cache, now, 1, None);
    cache
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

#[test]
fn debug_shows_state_not_the_set() {
    struct Secret;
    let mut cache = KeySetCache::<Secret>::default();
    if let Some(ticket) = cache.poll(T0).ticket() {
        assert!(cache.fetch_succeeded(ticket, T0, Secret, None));
    }
    let text = alloc::format!("{cache:?}");
    assert!(text.contains("generation: 1"), "{text}");
    assert!(!text.contains("Secret"), "{text}");
}

#[test]
fn decision_helpers() {
    let ticket = FetchTicket {
        id: 1,
        reason: FetchReason::Stale,
    };
    assert_eq!(Decision::Refresh(ticket).ticket(), Some(ticket));
    assert_eq!(Decision::Fetch(ticket).ticket(), Some(ticket));
    for decision in [Decision::UseCurrent, Decision::Wait, Decision::Unavailable] {
        assert_eq!(decision.ticket(), None);
    }
    assert!(Decision::UseCurrent.uses_current());
    assert!(Decision::Refresh(ticket).uses_current());
    assert!(!Decision::Fetch(ticket).uses_current());
    assert!(!Decision::Wait.uses_current());
    assert!(!Decision::Unavailable.uses_current());
    assert!(SetState::Fresh.is_usable() && SetState::Stale.is_usable());
    assert!(!SetState::Missing.is_usable() && !SetState::Expired.is_usable());
}

// --- Random event sequences -------------------------------------------------------------

mod properties {
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
}
