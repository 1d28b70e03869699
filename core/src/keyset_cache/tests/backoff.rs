//! Backoff after failed fetches: the delays, and an issuer down at start retried, then recovering.

use super::*;

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
