//! Fresh, stale and grace: the first fetch, a stale set served while it is refreshed, the
//! last good set served through `stale_if_error` past its freshness, then none.

use super::*;

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
