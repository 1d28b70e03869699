//! The guard end to end on the two-organization vectors: fetch decisions, the issuer hint, the
//! token cache, unknown-key refetch, failures and readiness.

use alloc::string::String;
use alloc::vec::Vec;
use serde_json::Value;

use super::*;
use crate::keyset_cache::FetchReason;

const VECTORS: &str = include_str!("../../../tests/vectors/multi_issuer.json");
pub(super) const A: &str = "https://shark-academy.cryptr.eu/t/shark-academy";
pub(super) const B: &str = "https://shark-academy.cryptr.eu/t/blue-whale";
pub(super) const CLIENT: &str = "e68989a5-bd87-45ca-8d0e-d5f91f285849";

pub(super) fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

pub(super) fn token(name: &str) -> (String, u64) {
    let v = vectors();
    let case = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
        .clone();
    (
        case["token"].as_str().unwrap().into(),
        case["now"].as_u64().unwrap(),
    )
}

pub(super) fn jwks(issuer: &str) -> Vec<u8> {
    serde_json::to_vec(&vectors()["jwks_by_issuer"][issuer]).unwrap()
}

fn guard_with(settings: GuardSettings) -> Guard {
    let sources = alloc::vec![
        IssuerSource::new(A, "https://keys.example/a"),
        IssuerSource::new(B, "https://keys.example/b"),
    ];
    let options = Options::cryptr([A, B], ["http://localhost:8000"]).with_client_ids([CLIENT]);
    Guard::new(options, sources, settings).unwrap()
}

fn guard() -> Guard {
    guard_with(GuardSettings::default())
}

/// What a host did for one check.
#[derive(Debug, Default)]
struct Trace {
    fetches: Vec<(String, FetchReason, bool)>,
    verifies: usize,
    waits: usize,
}

/// Drives a check the way a host does, serving `serve(url)` for every fetch.
fn run(
    guard: &mut Guard,
    token: &str,
    now: u64,
    serve: &mut dyn FnMut(&str) -> (u16, Vec<u8>),
) -> (Result<Verified, Rejection>, Trace) {
    let mut trace = Trace::default();
    let mut check = Check::new(token.as_bytes());
    for _ in 0..20 {
        match guard.advance(&mut check, now) {
            Action::Done(answer) => return (answer, trace),
            Action::Verify(job) => {
                trace.verifies += 1;
                check.verify(job);
            }
            Action::Fetch(fetch) => {
                trace
                    .fetches
                    .push((fetch.url().into(), fetch.reason(), fetch.is_background()));
                let (status, body) = serve(fetch.url());
                let result = FetchResult::Response {
                    status,
                    cache_control: None,
                    body: &body,
                };
                let _ = guard.fetch_done(fetch, result, now);
            }
            Action::Wait(_) => trace.waits += 1,
        }
    }
    panic!("the check did not end");
}

fn published(url: &str) -> (u16, Vec<u8>) {
    match url {
        "https://keys.example/a" => (200, jwks(A)),
        "https://keys.example/b" => (200, jwks(B)),
        _ => (404, Vec::new()),
    }
}

#[test]
fn two_organizations_each_with_its_key_set() {
    let mut guard = guard();
    let (a, now) = token("multi_issuer/org-a");
    let (b, _) = token("multi_issuer/org-b");
    let (answer, trace) = run(&mut guard, &a, now, &mut published);
    assert_eq!(answer.unwrap().tenant(), Some("shark-academy"));
    assert_eq!(
        trace.fetches,
        [(
            "https://keys.example/a".into(),
            FetchReason::NoUsableSet,
            false
        )]
    );
    assert!(!guard.is_ready(now), "B was never fetched");
    let (answer, trace) = run(&mut guard, &b, now, &mut published);
    assert_eq!(answer.unwrap().tenant(), Some("blue-whale"));
    assert_eq!(trace.fetches.len(), 1);
    assert!(guard.is_ready(now));
    // A second time: the verified-token cache answers, without RSA work.
    let (answer, trace) = run(&mut guard, &a, now + 1, &mut published);
    assert!(answer.is_ok());
    assert_eq!((trace.fetches.len(), trace.verifies), (0, 0));
    // Not before the clock: the cached token still expires.
    let (answer, _) = run(&mut guard, &a, now + 86_400, &mut published);
    assert_eq!(answer.unwrap_err().code(), "token_expired");
}

#[test]
fn an_issuer_that_is_not_configured_is_refused_without_a_fetch() {
    let mut guard = guard();
    for name in [
        "multi_issuer/not-configured",
        "multi_issuer/no-hint",
        "multi_issuer/hs256",
    ] {
        let (t, now) = token(name);
        let (answer, trace) = run(&mut guard, &t, now, &mut published);
        assert!(answer.is_err(), "{name}");
        assert!(trace.fetches.is_empty(), "{name} made the host fetch");
    }
}

#[test]
fn unknown_key_refetches_once_then_cools_down() {
    let mut guard = guard();
    let (a, now) = token("multi_issuer/org-a");
    // A serves B's keys first (a rotation in progress), then its own.
    let mut served = 0;
    let mut rotating = |url: &str| {
        served += 1;
        if served == 1 {
            (200, jwks(B))
        } else {
            published(url)
        }
    };
    let (answer, trace) = run(&mut guard, &a, now, &mut rotating);
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(trace.verifies, 2);
    assert_eq!(trace.fetches[1].1, FetchReason::UnknownKey);
    // A token with a kid A never had: the refetch is cooling down, so no fetch.
    let (bad, _) = token("multi_issuer/b-key-claims-a");
    let (answer, trace) = run(&mut guard, &bad, now + 5, &mut published);
    assert_eq!(answer.unwrap_err().code(), "unknown_key");
    assert!(trace.fetches.is_empty());
}

#[test]
fn a_failing_issuer_answers_503_with_retry_after() {
    let mut guard = guard();
    let (a, now) = token("multi_issuer/org-a");
    let (answer, trace) = run(&mut guard, &a, now, &mut |_| (500, Vec::new()));
    let rejection = answer.unwrap_err();
    assert_eq!(trace.fetches.len(), 1);
    let http = rejection.answer();
    assert_eq!((http.status, http.error), (503, "jwks_unavailable"));
    assert!(http.retry_after.unwrap() >= 1);
    // During the backoff: no fetch at all.
    let (_, trace) = run(&mut guard, &a, now, &mut published);
    assert!(trace.fetches.is_empty());
    // After it: fetched again, and served.
    let (answer, _) = run(&mut guard, &a, now + 2, &mut published);
    assert!(answer.is_ok());
}

#[test]
fn a_set_without_usable_keys_is_not_ready_and_refetched_on_backoff() {
    let mut guard = guard();
    let (a, now) = token("multi_issuer/org-a");
    let mut check = Check::new(a.as_bytes());
    let Action::Fetch(fetch) = guard.advance(&mut check, now) else {
        panic!("expected a fetch");
    };
    let report = guard.fetch_done(
        fetch,
        FetchResult::Response {
            status: 200,
            cache_control: None,
            body: br#"{"keys":[{"kty":"EC"}]}"#,
        },
        now,
    );
    assert!(
        matches!(report, FetchReport::NoUsableKey { .. }),
        "{report}"
    );
    let Action::Done(Err(rejection)) = guard.advance(&mut check, now) else {
        panic!("expected a refusal");
    };
    assert_eq!(rejection.answer().status, 503);
    let status = guard.issuers(now).next().unwrap();
    assert!(!status.status.is_ready());
    assert_eq!(status.usable_keys, 0);
    // Backoff holds for a second, then the policy itself asks for the refetch.
    assert!(guard.due_fetches(now).iter().all(|f| f.issuer() != 0));
    let due = guard.due_fetches(now + 1);
    let refetch = due
        .into_iter()
        .find(|f| f.issuer() == 0)
        .expect("a refetch of A");
    let _ = guard.fetch_done(
        refetch,
        FetchResult::Response {
            status: 200,
            cache_control: None,
            body: &jwks(A),
        },
        now + 1,
    );
    assert!(guard.issuers(now + 1).next().unwrap().status.is_ready());
    let (answer, _) = run(&mut guard, &a, now + 1, &mut published);
    assert!(answer.is_ok());
}

#[test]
fn a_stale_set_is_refreshed_in_the_background() {
    let mut guard = guard();
    let (a, now) = token("multi_issuer/org-a");
    let _ = run(&mut guard, &a, now, &mut published);
    let later = now + 601;
    let (answer, trace) = run(&mut guard, &a, later, &mut published);
    assert!(answer.is_ok());
    assert_eq!(
        trace.fetches,
        [("https://keys.example/a".into(), FetchReason::Stale, true)]
    );
}

#[test]
fn fetch_results_that_install_nothing() {
    let mut guard = guard_with(GuardSettings {
        max_jwks_bytes: 10,
        ..GuardSettings::default()
    });
    let (a, now) = token("multi_issuer/org-a");
    let mut check = Check::new(a.as_bytes());
    let Action::Fetch(fetch) = guard.advance(&mut check, now) else {
        panic!()
    };
    let report = guard.fetch_done(
        fetch,
        FetchResult::Response {
            status: 200,
            cache_control: None,
            body: &jwks(A),
        },
        now,
    );
    assert_eq!(report, FetchReport::Failed(FetchFailure::TooLarge));
    assert!(report.to_string().contains("size limit"));
}

#[test]
fn configuration_mistakes() {
    let options = || Options::cryptr([A], ["x"]);
    let https = || alloc::vec![IssuerSource::new(A, "https://k/a")];
    assert!(Guard::new(options(), https(), GuardSettings::default()).is_ok());
    assert!(
        Guard::new(
            options(),
            alloc::vec![IssuerSource::new(A, "http://k/a")],
            GuardSettings::default()
        )
        .is_err()
    );
    assert!(
        Guard::new(
            options(),
            alloc::vec![IssuerSource::new(B, "https://k/b")],
            GuardSettings::default()
        )
        .is_err()
    );
    assert!(Guard::new(options(), Vec::new(), GuardSettings::default()).is_err());
    let zero = GuardSettings {
        fetch_timeout: 0,
        ..GuardSettings::default()
    };
    assert!(Guard::new(options(), https(), zero).is_err());
    assert!(
        Guard::new(
            Options::cryptr([A], Vec::<String>::new()),
            https(),
            GuardSettings::default()
        )
        .is_err()
    );
}

#[test]
fn issuers_sharing_a_jwks_url_share_one_key_set_and_follow_spec_2() {
    // Both organizations' keys at one URL (as a provider's `common` keys would be).
    let mut both: Value = serde_json::from_slice(&jwks(A)).unwrap();
    let b: Value = serde_json::from_slice(&jwks(B)).unwrap();
    both["keys"]
        .as_array_mut()
        .unwrap()
        .extend(b["keys"].as_array().unwrap().iter().cloned());
    let body = serde_json::to_vec(&both).unwrap();
    let sources = alloc::vec![
        IssuerSource::new(A, "https://keys.example/common"),
        IssuerSource::new(B, "https://keys.example/common"),
    ];
    let mut guard = Guard::new(
        Options::new([A, B], ["http://localhost:8000"]),
        sources,
        GuardSettings::default(),
    )
    .unwrap();
    let (token, now) = token("multi_issuer/rfc-header-b-payload-a");
    let (answer, trace) = run(&mut guard, &token, now, &mut |_| (200, body.clone()));
    // SPEC §8 would refuse it (the hint B differs from the payload's A); with one key set it is
    // SPEC §2, where the payload's issuer A is accepted.
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(trace.fetches.len(), 1);
    assert!(guard.is_ready(now), "one fetch makes both issuers ready");
    assert_eq!(guard.issuers(now).count(), 2);
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

#[test]
fn a_waiting_check_is_answered_within_the_fetch_deadline() {
    let mut guard = guard();
    let deadline = guard.settings().fetch_timeout;
    let (a, now) = token("multi_issuer/org-a");
    let mut first = Check::new(a.as_bytes());
    let Action::Fetch(fetch) = guard.advance(&mut first, now) else {
        panic!("expected a fetch");
    };
    // A second request, two seconds into that fetch: it waits for what is left of its own
    // deadline, no more.
    let mut second = Check::new(a.as_bytes());
    let Action::Wait(wait) = guard.advance(&mut second, now + 2) else {
        panic!("expected a wait");
    };
    assert_eq!(wait.timeout(), deadline);
    // Its deadline passes with the fetch still out: 503 with Retry-After, no fetch of its own
    // (it could not end in time), although the first fetch is abandoned by now.
    let Action::Done(Err(rejection)) = guard.advance(&mut second, now + 2 + deadline) else {
        panic!("expected a refusal");
    };
    let http = rejection.answer();
    assert_eq!((http.status, http.error), (503, "jwks_unavailable"));
    assert!(http.retry_after.is_some_and(|s| s >= 1));
    // Once the first fetch is abandoned (the policy's 30 s), a third request fetches again;
    // a fourth waits for it, and goes on with the new set as soon as it is reported.
    let mut third = Check::new(a.as_bytes());
    let Action::Fetch(refetch) = guard.advance(&mut third, now + 40) else {
        panic!("expected a fetch");
    };
    let mut fourth = Check::new(a.as_bytes());
    assert!(matches!(
        guard.advance(&mut fourth, now + 40),
        Action::Wait(_)
    ));
    let _ = report(&mut guard, refetch, &jwks(A), now + 41);
    let _ = fetch;
    let Action::Verify(job) = guard.advance(&mut fourth, now + 41) else {
        panic!("expected a verification");
    };
    fourth.verify(job);
    assert!(matches!(
        guard.advance(&mut fourth, now + 41),
        Action::Done(Ok(_))
    ));
}

#[test]
fn an_unknown_key_is_refetched_only_within_the_checks_deadline() {
    let mut guard = guard();
    let (a, now) = token("multi_issuer/org-a");
    // The fetch of the set took three seconds and brought B's keys (a rotation in progress):
    // a refetch now could not end within the deadline, so the token is refused at once; the
    // next request gets the refetch (no cooldown started).
    let mut check = Check::new(a.as_bytes());
    let Action::Fetch(fetch) = guard.advance(&mut check, now) else {
        panic!("expected a fetch");
    };
    let _ = report(&mut guard, fetch, &jwks(B), now + 3);
    let Action::Verify(job) = guard.advance(&mut check, now + 3) else {
        panic!("expected a verification");
    };
    check.verify(job);
    let Action::Done(Err(rejection)) = guard.advance(&mut check, now + 3) else {
        panic!("expected a refusal");
    };
    assert_eq!(rejection.code(), "unknown_key");
    let (answer, trace) = run(&mut guard, &a, now + 3, &mut published);
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(trace.fetches.len(), 1);
    assert_eq!(trace.fetches[0].1, FetchReason::UnknownKey);
}
