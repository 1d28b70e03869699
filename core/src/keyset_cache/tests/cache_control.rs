//! Cache-Control: the `max-age` parser and the freshness lifetime it gives.

use super::*;

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
