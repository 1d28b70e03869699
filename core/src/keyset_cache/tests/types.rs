//! The defaults, the `Decision` and `SetState` helpers, and what `Debug` shows.

use super::*;

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
