//! The guard with issuers whose JWKS URL is discovered (OpenID Connect Discovery 1.0), on the
//! two-organization vectors: the document first, then the key set at its `jwks_uri`; a document
//! that cannot be used is a failed fetch; the document's cache; what never fetches it.

use alloc::vec::Vec;

use super::tests::{A, B, CLIENT, jwks, token};
use super::*;
use crate::keyset_cache::FetchReason;

const A_CONFIG: &str =
    "https://shark-academy.cryptr.eu/t/shark-academy/.well-known/openid-configuration";
const B_CONFIG: &str =
    "https://shark-academy.cryptr.eu/t/blue-whale/.well-known/openid-configuration";
const A_KEYS: &str = "https://keys.example/a";
const B_KEYS: &str = "https://keys.example/b";

fn configuration(issuer: &str, jwks_uri: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "authorization_endpoint": "https://login.example/authorize",
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .unwrap()
}

fn options(issuers: &[&str]) -> Options {
    Options::cryptr(issuers.iter().copied(), ["http://localhost:8000"]).with_client_ids([CLIENT])
}

fn discovering(issuers: &[&str], settings: GuardSettings) -> Guard {
    let sources = issuers.iter().map(|i| IssuerSource::discover(*i)).collect();
    Guard::new(options(issuers), sources, settings).unwrap()
}

/// A response: status, `Cache-Control`, body.
type Served = (u16, Option<&'static str>, Vec<u8>);

/// What the issuers publish: each one's OpenID configuration (max-age 3600) and key set
/// (default freshness).
fn published(url: &str) -> Served {
    match url {
        A_CONFIG => (200, Some("max-age=3600"), configuration(A, A_KEYS)),
        B_CONFIG => (200, Some("max-age=3600"), configuration(B, B_KEYS)),
        A_KEYS => (200, None, jwks(A)),
        B_KEYS => (200, None, jwks(B)),
        _ => (404, None, Vec::new()),
    }
}

/// One fetch a host ran for a check.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ran {
    url: String,
    kind: FetchKind,
    background: bool,
    timeout: u64,
    report: &'static str,
}

/// Drives a check as a host does, every fetch served by `serve` and reported at once.
fn run(
    guard: &mut Guard,
    token: &str,
    now: u64,
    serve: &mut dyn FnMut(&str) -> Served,
) -> (Result<Verified, Rejection>, Vec<Ran>) {
    let mut ran = Vec::new();
    let mut check = Check::new(token.as_bytes());
    for _ in 0..20 {
        match guard.advance(&mut check, now) {
            Action::Done(answer) => return (answer, ran),
            Action::Verify(job) => check.verify(job),
            Action::Fetch(fetch) => {
                let (status, cache_control, body) = serve(fetch.url());
                let mut step = Ran {
                    url: fetch.url().into(),
                    kind: fetch.kind(),
                    background: fetch.is_background(),
                    timeout: fetch.timeout(),
                    report: "",
                };
                let result = FetchResult::Response {
                    status,
                    cache_control,
                    body: &body,
                };
                step.report = guard.fetch_done(fetch, result, now).label();
                ran.push(step);
            }
            Action::Wait(_) => panic!("nothing else is fetching"),
        }
    }
    panic!("the check did not end");
}

/// Reports `fetch` as a 200 with `body` at `now`.
fn report(guard: &mut Guard, fetch: Fetch, body: &[u8], now: u64) -> FetchReport {
    let result = FetchResult::Response {
        status: 200,
        cache_control: None,
        body,
    };
    guard.fetch_done(fetch, result, now)
}

fn urls(ran: &[Ran]) -> Vec<(&str, FetchKind, bool)> {
    ran.iter()
        .map(|r| (r.url.as_str(), r.kind, r.background))
        .collect()
}

#[test]
fn the_configuration_then_the_key_set_at_its_jwks_uri() {
    let mut guard = discovering(&[A], GuardSettings::default());
    let (a, now) = token("multi_issuer/org-a");
    let status = guard.issuers(now).next().unwrap();
    assert_eq!(status.jwks_url, None);
    assert_eq!(status.discovery_url, Some(A_CONFIG));
    assert!(!guard.is_ready(now));
    let (answer, ran) = run(&mut guard, &a, now, &mut published);
    assert_eq!(answer.unwrap().tenant(), Some("shark-academy"));
    assert_eq!(
        urls(&ran),
        [
            (A_CONFIG, FetchKind::Discovery, false),
            (A_KEYS, FetchKind::KeySet, false)
        ]
    );
    assert_eq!(ran[0].report, "ok");
    assert!(guard.is_ready(now));
    let status = guard.issuers(now).next().unwrap();
    assert_eq!(status.jwks_url, Some(A_KEYS));
    assert!(status.discovery.is_some_and(|d| d.set.is_usable()));
    // The next request: nothing to fetch.
    let (answer, ran) = run(&mut guard, &a, now + 1, &mut published);
    assert!(answer.is_ok());
    assert!(ran.is_empty(), "{ran:?}");
}

#[test]
fn a_configuration_for_another_issuer_is_a_failed_fetch() {
    let mut guard = discovering(&[A], GuardSettings::default());
    let (a, now) = token("multi_issuer/org-a");
    // Names B (or A with a trailing slash): not the configured issuer, exactly.
    for (i, named) in [B, "https://shark-academy.cryptr.eu/t/shark-academy/"]
        .into_iter()
        .enumerate()
    {
        let at = now + 400 * i as u64;
        let mut impostor = |url: &str| match url {
            A_CONFIG => (200, None, configuration(named, A_KEYS)),
            other => published(other),
        };
        let (answer, ran) = run(&mut guard, &a, at, &mut impostor);
        let http = answer.unwrap_err().answer();
        assert_eq!((http.status, http.error), (503, "jwks_unavailable"));
        assert!(http.retry_after.is_some_and(|s| s >= 1));
        assert_eq!(urls(&ran), [(A_CONFIG, FetchKind::Discovery, false)]);
        assert_eq!(ran[0].report, "invalid_discovery");
        assert!(!guard.is_ready(at));
    }
    // The report names what is wrong, not what the document holds.
    let mut check = Check::new(a.as_bytes());
    let Action::Fetch(fetch) = guard.advance(&mut check, now + 1000) else {
        panic!("expected a fetch of the configuration");
    };
    let body = configuration("https://evil.example/", A_KEYS);
    let result = FetchResult::Response {
        status: 200,
        cache_control: None,
        body: &body,
    };
    let report = guard.fetch_done(fetch, result, now + 1000);
    assert!(
        matches!(
            report,
            FetchReport::Failed(FetchFailure::InvalidDiscovery(_))
        ),
        "{report}"
    );
    let text = report.to_string();
    assert!(text.contains("not the configured issuer"), "{text}");
    assert!(!text.contains("evil"), "{text}");
}

#[test]
fn a_plain_http_jwks_uri_only_when_allowed() {
    let http_keys = "http://127.0.0.1:9/keys";
    let mut serve = |url: &str| match url {
        A_CONFIG => (200, None, configuration(A, http_keys)),
        "http://127.0.0.1:9/keys" => (200, None, jwks(A)),
        other => published(other),
    };
    let (a, now) = token("multi_issuer/org-a");
    let mut strict = discovering(&[A], GuardSettings::default());
    let (answer, ran) = run(&mut strict, &a, now, &mut serve);
    assert_eq!(answer.unwrap_err().code(), "jwks_unavailable");
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].report, "invalid_discovery");
    let mut allowed = discovering(
        &[A],
        GuardSettings {
            allow_http: true,
            ..GuardSettings::default()
        },
    );
    let (answer, ran) = run(&mut allowed, &a, now, &mut serve);
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(ran[1].url, http_keys);
}

#[test]
fn the_configuration_is_cached_under_the_key_set_policy() {
    let mut guard = discovering(&[A], GuardSettings::default());
    let (a, now) = token("multi_issuer/org-a");
    let _ = run(&mut guard, &a, now, &mut published);
    // Within the configuration's max-age (an hour), the key set's refreshes (every 10 min)
    // use its cached jwks_uri: no discovery.
    for at in [now + 601, now + 3599] {
        let (answer, ran) = run(&mut guard, &a, at, &mut published);
        assert!(answer.is_ok());
        assert_eq!(
            urls(&ran),
            [(A_KEYS, FetchKind::KeySet, true)],
            "at +{}",
            at - now
        );
    }
    // Then it is fetched again, in the background, and the request goes on with its key set.
    let (answer, ran) = run(&mut guard, &a, now + 3600, &mut published);
    assert!(answer.is_ok());
    assert_eq!(urls(&ran), [(A_CONFIG, FetchKind::Discovery, true)]);
    let (_, ran) = run(&mut guard, &a, now + 3601, &mut published);
    assert!(ran.is_empty(), "{ran:?}");
    // Without a usable max-age: the policy's default freshness, 10 min.
    let mut guard = discovering(&[A], GuardSettings::default());
    let mut no_max_age = |url: &str| {
        let (status, _, body) = published(url);
        (status, None, body)
    };
    let _ = run(&mut guard, &a, now, &mut no_max_age);
    let (_, ran) = run(&mut guard, &a, now + 599, &mut no_max_age);
    assert!(ran.is_empty(), "{ran:?}");
    let (_, ran) = run(&mut guard, &a, now + 600, &mut no_max_age);
    assert_eq!(
        urls(&ran),
        [
            (A_CONFIG, FetchKind::Discovery, true),
            (A_KEYS, FetchKind::KeySet, true)
        ]
    );
}

#[test]
fn a_failing_configuration_keeps_its_last_jwks_uri_with_backoff() {
    let mut guard = discovering(&[A], GuardSettings::default());
    let (a, now) = token("multi_issuer/org-a");
    let _ = run(&mut guard, &a, now, &mut published);
    let mut down = |url: &str| match url {
        A_CONFIG => (500, None, Vec::new()),
        other => published(other),
    };
    let later = now + 3600;
    let (answer, ran) = run(&mut guard, &a, later, &mut down);
    assert!(answer.is_ok());
    let reports: Vec<_> = ran.iter().map(|r| (r.url.as_str(), r.report)).collect();
    assert_eq!(reports, [(A_CONFIG, "http_status"), (A_KEYS, "ok")]);
    // The key set was refreshed from the last good jwks_uri; during the backoff the
    // configuration is not fetched again.
    let status = guard.issuers(later).next().unwrap();
    assert_eq!(status.jwks_url, Some(A_KEYS));
    assert_eq!(status.discovery.map(|d| d.consecutive_failures), Some(1));
    assert!(status.status.is_ready());
    let (answer, ran) = run(&mut guard, &a, later, &mut down);
    assert!(answer.is_ok());
    assert!(ran.is_empty(), "{ran:?}");
    // After it, both again: the configuration fails, the key set is refreshed.
    let (answer, ran) = run(&mut guard, &a, later + 601, &mut down);
    assert!(answer.is_ok());
    let reports: Vec<_> = ran.iter().map(|r| (r.url.as_str(), r.report)).collect();
    assert_eq!(reports, [(A_CONFIG, "http_status"), (A_KEYS, "ok")]);
    // Up to 24 h past its freshness, then no longer.
    let beyond = now + 3600 + 86_400;
    assert_eq!(
        guard.issuers(beyond - 1).next().unwrap().jwks_url,
        Some(A_KEYS)
    );
    assert_eq!(guard.issuers(beyond).next().unwrap().jwks_url, None);
}

#[test]
fn a_new_jwks_uri_is_used_by_the_next_key_set_fetch() {
    let mut guard = discovering(&[A], GuardSettings::default());
    let (a, now) = token("multi_issuer/org-a");
    let _ = run(&mut guard, &a, now, &mut published);
    let moved = "https://keys.example/a-v2";
    let mut serve = |url: &str| match url {
        A_CONFIG => (200, Some("max-age=3600"), configuration(A, moved)),
        "https://keys.example/a-v2" => (200, None, jwks(A)),
        _ => (404, None, Vec::new()),
    };
    // An hour later the configuration is refreshed (first) and names another jwks_uri; the
    // key set, stale too, is refreshed from there.
    let (answer, ran) = run(&mut guard, &a, now + 3600, &mut serve);
    assert!(answer.is_ok());
    assert_eq!(
        urls(&ran),
        [
            (A_CONFIG, FetchKind::Discovery, true),
            (moved, FetchKind::KeySet, true)
        ]
    );
    assert_eq!(ran[1].report, "ok");
    assert_eq!(
        guard.issuers(now + 3600).next().unwrap().jwks_url,
        Some(moved)
    );
}

#[test]
fn an_explicit_jwks_url_wins() {
    let (a, now) = token("multi_issuer/org-a");
    let mut guard = Guard::new(
        options(&[A]),
        alloc::vec![IssuerSource::new(A, A_KEYS)],
        GuardSettings::default(),
    )
    .unwrap();
    let (answer, ran) = run(&mut guard, &a, now, &mut published);
    assert!(answer.is_ok());
    assert_eq!(urls(&ran), [(A_KEYS, FetchKind::KeySet, false)]);
    assert_eq!(guard.issuers(now).next().unwrap().discovery_url, None);
    // The same through the settings: CRYPTR_ISSUER with CRYPTR_JWKS_URL.
    let settings = [
        ("CRYPTR_ISSUER", A),
        ("CRYPTR_JWKS_URL", A_KEYS),
        ("CRYPTR_AUDIENCE", "http://localhost:8000"),
        ("CRYPTR_CLIENT_IDS", CLIENT),
    ];
    let get = |name: &str| {
        settings
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| String::from(*v))
    };
    let mut guard = HostConfig::from_settings(get)
        .unwrap()
        .into_guard()
        .unwrap();
    let (answer, ran) = run(&mut guard, &a, now, &mut published);
    assert!(answer.is_ok());
    assert_eq!(urls(&ran), [(A_KEYS, FetchKind::KeySet, false)]);
}

#[test]
fn the_cryptr_configuration_keeps_its_well_known_key_sets() {
    let (a, now) = token("multi_issuer/org-a");
    let sources = cryptr_issuers(
        "https://shark-academy.cryptr.eu",
        "shark-academy, blue-whale",
    )
    .unwrap();
    let mut guard = Guard::new(options(&[A, B]), sources, GuardSettings::default()).unwrap();
    let mut serve = |url: &str| match url.strip_suffix("/.well-known") {
        Some(issuer) => (200, None, jwks(issuer)),
        None => (404, None, Vec::new()),
    };
    let (answer, ran) = run(&mut guard, &a, now, &mut serve);
    assert!(answer.is_ok());
    assert_eq!(
        urls(&ran),
        [(
            "https://shark-academy.cryptr.eu/t/shark-academy/.well-known",
            FetchKind::KeySet,
            false
        )]
    );
    assert!(guard.issuers(now).all(|s| s.discovery_url.is_none()));
}

#[test]
fn a_token_of_an_issuer_not_configured_never_fetches_a_configuration() {
    let mut guard = discovering(&[A, B], GuardSettings::default());
    for name in [
        "multi_issuer/not-configured",
        "multi_issuer/no-hint",
        "multi_issuer/hs256",
        "multi_issuer/payload-undecodable",
    ] {
        let (t, now) = token(name);
        let (answer, ran) = run(&mut guard, &t, now, &mut published);
        assert!(answer.is_err(), "{name}");
        assert!(ran.is_empty(), "{name} made the host fetch {ran:?}");
    }
    // Each discovered issuer has its own key set, so two of them follow SPEC §8: the header
    // names B, the payload A.
    let (t, now) = token("multi_issuer/rfc-header-b-payload-a");
    let mut rfc = Guard::new(
        Options::new([A, B], ["http://localhost:8000"]),
        alloc::vec![IssuerSource::discover(A), IssuerSource::discover(B)],
        GuardSettings::default(),
    )
    .unwrap();
    let (answer, _) = run(&mut rfc, &t, now, &mut published);
    assert_eq!(answer.unwrap_err().code(), "invalid_issuer");
}

#[test]
fn two_discovered_issuers_each_with_its_key_set() {
    let mut guard = discovering(&[A, B], GuardSettings::default());
    let (a, now) = token("multi_issuer/org-a");
    let (b, _) = token("multi_issuer/org-b");
    let (answer, ran) = run(&mut guard, &a, now, &mut published);
    assert_eq!(answer.unwrap().tenant(), Some("shark-academy"));
    assert_eq!(ran.len(), 2);
    assert!(!guard.is_ready(now), "B was never fetched");
    let (answer, ran) = run(&mut guard, &b, now, &mut published);
    assert_eq!(answer.unwrap().tenant(), Some("blue-whale"));
    assert_eq!(
        urls(&ran),
        [
            (B_CONFIG, FetchKind::Discovery, false),
            (B_KEYS, FetchKind::KeySet, false)
        ]
    );
    assert!(guard.is_ready(now));
}

/// Advances `check` at `now` until it is answered, leaving every fetch it is offered
/// unreported (a host runs background fetches concurrently): a blocking fetch fails the test.
fn answer_without_reporting(
    guard: &mut Guard,
    check: &mut Check<&[u8]>,
    now: u64,
) -> (Result<Verified, Rejection>, Vec<Fetch>) {
    let mut pending = Vec::new();
    for _ in 0..10 {
        match guard.advance(check, now) {
            Action::Done(answer) => return (answer, pending),
            Action::Verify(job) => check.verify(job),
            Action::Fetch(fetch) => {
                assert!(fetch.is_background(), "a blocking fetch: {fetch:?}");
                pending.push(fetch);
            }
            Action::Wait(_) => panic!("the request waits"),
        }
    }
    panic!("the check did not end");
}

#[test]
fn a_refresh_of_the_configuration_never_holds_a_request_up() {
    // A grace of two hours instead of 24 (the vectors' token expires after ten), and a key set
    // fresh for a day.
    let mut settings = GuardSettings::default();
    settings.policy.stale_if_error = 7200;
    let mut guard = discovering(&[A], settings);
    let mut serve = |url: &str| match url {
        A_KEYS => (200, Some("max-age=86400"), jwks(A)),
        other => published(other),
    };
    let (a, now) = token("multi_issuer/org-a");
    let _ = run(&mut guard, &a, now, &mut serve);
    // An hour later the configuration is stale: its refresh is offered as a background fetch,
    // left unreported, and the request is answered with the current key set.
    let mut check = Check::new(a.as_bytes());
    let (answer, pending) = answer_without_reporting(&mut guard, &mut check, now + 3600);
    assert!(answer.is_ok());
    let kinds: Vec<_> = pending.iter().map(Fetch::kind).collect();
    assert_eq!(kinds, [FetchKind::Discovery]);
    // Another request meanwhile: neither waits nor fetches.
    let (answer, ran) = run(&mut guard, &a, now + 3600, &mut serve);
    assert!(answer.is_ok());
    assert!(ran.is_empty(), "{ran:?}");
    for fetch in pending {
        let (_, cache_control, body) = serve(fetch.url());
        let result = FetchResult::Response {
            status: 200,
            cache_control,
            body: &body,
        };
        let _ = guard.fetch_done(fetch, result, now + 3600);
    }
    // Then the configuration fails until it is past its grace: the key set (still usable)
    // answers, and the configuration's fetch is still a background one.
    let mut down = |url: &str| match url {
        A_CONFIG => (500, None, Vec::new()),
        other => serve(other),
    };
    let last = now + 3600 + 3600 + 7200 - 10;
    let (answer, ran) = run(&mut guard, &a, last, &mut down);
    assert!(answer.is_ok());
    let reports: Vec<_> = ran
        .iter()
        .map(|r| (r.kind, r.background, r.report))
        .collect();
    assert_eq!(reports, [(FetchKind::Discovery, true, "http_status")]);
    let beyond = last + 11;
    assert_eq!(guard.issuers(beyond).next().unwrap().jwks_url, None);
    assert!(guard.is_ready(beyond));
    let mut check = Check::new(a.as_bytes());
    let (answer, pending) = answer_without_reporting(&mut guard, &mut check, beyond);
    assert!(answer.is_ok());
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].kind(), FetchKind::Discovery);
    assert_eq!(pending[0].reason(), FetchReason::NoUsableSet);
    let (answer, ran) = run(&mut guard, &a, beyond, &mut down);
    assert!(answer.is_ok());
    assert!(ran.is_empty(), "{ran:?}");
}

#[test]
fn the_key_set_fetch_after_the_configuration_keeps_the_deadline() {
    let deadline = GuardSettings::default().fetch_timeout;
    let (a, now) = token("multi_issuer/org-a");
    // The configuration took two seconds: the key set is fetched within what is left.
    let mut guard = discovering(&[A], GuardSettings::default());
    let mut check = Check::new(a.as_bytes());
    let Action::Fetch(discovery) = guard.advance(&mut check, now) else {
        panic!("expected the configuration");
    };
    assert_eq!(
        (discovery.kind(), discovery.timeout()),
        (FetchKind::Discovery, deadline)
    );
    let body = configuration(A, A_KEYS);
    let _ = report(&mut guard, discovery, &body, now + 2);
    let Action::Fetch(keys) = guard.advance(&mut check, now + 2) else {
        panic!("expected the key set");
    };
    assert_eq!(
        (keys.kind(), keys.timeout()),
        (FetchKind::KeySet, deadline - 2)
    );
    assert_eq!(keys.reason(), FetchReason::NoUsableSet);
    let _ = report(&mut guard, keys, &jwks(A), now + 3);
    let Action::Verify(job) = guard.advance(&mut check, now + 3) else {
        panic!("expected a verification");
    };
    check.verify(job);
    assert!(matches!(
        guard.advance(&mut check, now + 3),
        Action::Done(Ok(_))
    ));
    // The configuration took the whole deadline: nothing is left for the key set, 503.
    let mut guard = discovering(&[A], GuardSettings::default());
    let mut check = Check::new(a.as_bytes());
    let Action::Fetch(discovery) = guard.advance(&mut check, now) else {
        panic!("expected the configuration");
    };
    let _ = report(&mut guard, discovery, &body, now + deadline);
    let Action::Done(Err(rejection)) = guard.advance(&mut check, now + deadline) else {
        panic!("expected a refusal");
    };
    assert_eq!(rejection.code(), "jwks_unavailable");
    // The next request fetches the key set at once.
    let (answer, ran) = run(&mut guard, &a, now + deadline, &mut published);
    assert!(answer.is_ok());
    assert_eq!(urls(&ran), [(A_KEYS, FetchKind::KeySet, false)]);
}

#[test]
fn a_second_request_waits_for_the_configuration_then_for_the_key_set() {
    let mut guard = discovering(&[A], GuardSettings::default());
    let (a, now) = token("multi_issuer/org-a");
    let mut first = Check::new(a.as_bytes());
    let Action::Fetch(discovery) = guard.advance(&mut first, now) else {
        panic!("expected the configuration");
    };
    let mut second = Check::new(a.as_bytes());
    assert!(matches!(guard.advance(&mut second, now), Action::Wait(_)));
    let body = configuration(A, A_KEYS);
    let _ = report(&mut guard, discovery, &body, now);
    let Action::Fetch(keys) = guard.advance(&mut first, now) else {
        panic!("expected the key set");
    };
    assert!(matches!(guard.advance(&mut second, now), Action::Wait(_)));
    let _ = report(&mut guard, keys, &jwks(A), now);
    for check in [&mut first, &mut second] {
        let (answer, pending) = answer_without_reporting(&mut guard, check, now);
        assert!(answer.is_ok(), "{answer:?}");
        assert!(pending.is_empty());
    }
}

#[test]
fn due_fetches_warm_up_the_configuration_then_the_key_set() {
    let mut guard = discovering(&[A, B], GuardSettings::default());
    let (a, now) = token("multi_issuer/org-a");
    let due = guard.due_fetches(now);
    let kinds: Vec<_> = due
        .iter()
        .map(|f| (f.url(), f.kind(), f.issuer()))
        .collect();
    assert_eq!(
        kinds,
        [
            (A_CONFIG, FetchKind::Discovery, 0),
            (B_CONFIG, FetchKind::Discovery, 1)
        ]
    );
    assert!(guard.due_fetches(now).is_empty(), "one fetch at a time");
    for fetch in due {
        let (_, cache_control, body) = published(fetch.url());
        let result = FetchResult::Response {
            status: 200,
            cache_control,
            body: &body,
        };
        let report = guard.fetch_done(fetch, result, now);
        assert!(matches!(report, FetchReport::Discovered { .. }), "{report}");
        assert!(
            report
                .to_string()
                .contains("key set at https://keys.example/")
        );
    }
    let due = guard.due_fetches(now);
    let kinds: Vec<_> = due.iter().map(|f| (f.url(), f.kind())).collect();
    assert_eq!(
        kinds,
        [(A_KEYS, FetchKind::KeySet), (B_KEYS, FetchKind::KeySet)]
    );
    for fetch in due {
        let body = jwks(if fetch.issuer() == 0 { A } else { B });
        let _ = report(&mut guard, fetch, &body, now);
    }
    assert!(guard.is_ready(now));
    let (answer, ran) = run(&mut guard, &a, now, &mut published);
    assert!(answer.is_ok());
    assert!(ran.is_empty());
}

#[test]
fn issuers_that_cannot_be_discovered() {
    for issuer in [
        "shark-academy",
        "http://127.0.0.1:9/t/a",
        "https://a.example/?t=a",
    ] {
        let built = Guard::new(
            Options::new([issuer], ["x"]),
            alloc::vec![IssuerSource::discover(issuer)],
            GuardSettings::default(),
        );
        assert!(built.is_err(), "{issuer}");
    }
}
