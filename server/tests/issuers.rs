//! Several Cryptr organizations, each with its own key set (SPEC §8): the token's issuer picks
//! the key set, v1 and v3 tokens, the derived values as forward-auth headers, readiness and
//! metrics per configured issuer, and the periodic refresher.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use common::*;
use cryptr_guard_server::demo::{CLIENT_ID, v1_claims, v3_claims};
use cryptr_guard_server::{AppState, app, percent_decode};
use serde_json::{Value, json};
use tower::ServiceExt;

const A: &str = "https://auth.cryptr.eu/t/shark-academy";
const B: &str = "https://auth.cryptr.eu/t/blue-whale";

async fn two_organizations(a: Behaviour, b: Behaviour) -> (Issuer, Issuer, AppState) {
    let (ia, ib) = (Issuer::start(a).await, Issuer::start(b).await);
    let issuers = format!("{A},{B}");
    let urls = format!("{},{}", ia.url, ib.url);
    let (settings, _) = settings_with(
        &urls,
        &[
            ("CRYPTR_ISSUER", &issuers),
            ("CRYPTR_CLIENT_IDS", CLIENT_ID),
            ("CRYPTR_GUARD_FORWARD_CLAIMS", ""),
        ],
    );
    (ia, ib, state(settings))
}

fn serve_key(index: usize) -> Behaviour {
    Behaviour::Serve(jwks_of(&[&keys()[index]]), None)
}

async fn get(
    state: &AppState,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app(state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, headers, body)
}

fn header(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| percent_decode(v.to_str().unwrap()).unwrap())
}

#[tokio::test]
async fn each_organization_is_checked_against_its_own_key_set() {
    let (ia, ib, state) = two_organizations(serve_key(0), serve_key(1)).await;
    let [ka, kb] = keys();
    let v1 = ka
        .sign_as(A, &v1_claims(A, "shark-academy", AUDIENCE, T0, T0 + 60))
        .unwrap();
    let v3 = kb
        .sign_as(B, &v3_claims("blue-whale", T0, T0 + 60))
        .unwrap();
    let (status, headers, body) = get(&state, "/auth", Some(&v1)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "x-auth-issuer").as_deref(), Some(A));
    assert_eq!(
        header(&headers, "x-auth-tenant").as_deref(),
        Some("shark-academy")
    );
    assert_eq!(
        header(&headers, "x-auth-client-id").as_deref(),
        Some(CLIENT_ID)
    );
    assert_eq!(
        header(&headers, "x-auth-scopes").as_deref(),
        Some("read:courses")
    );
    assert_eq!(body["tnt"], "shark-academy");
    // B's key set is fetched only for B's first token.
    assert_eq!((ia.hits(), ib.hits()), (1, 0));
    let (status, headers, body) = get(&state, "/auth", Some(&v3)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "x-auth-issuer").as_deref(), Some(B));
    assert_eq!(
        header(&headers, "x-auth-tenant").as_deref(),
        Some("blue-whale")
    );
    assert_eq!(
        header(&headers, "x-auth-scopes").as_deref(),
        Some("openid email read:courses")
    );
    assert_eq!(body["aud"], json!([]));
    assert_eq!(
        get(&state, "/api/v1/courses", Some(&v3)).await.0,
        StatusCode::OK
    );

    // Signed with A's key but claiming B: B's key set has no such kid (refetched once, in
    // case B rotated).
    let forged = ka
        .sign_as(B, &v3_claims("blue-whale", T0, T0 + 60))
        .unwrap();
    let (status, _, body) = get(&state, "/auth", Some(&forged)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unknown_key"))
    );
    assert_eq!((ia.hits(), ib.hits()), (1, 2));

    // An organization that is not configured: refused before any fetch.
    let stranger = "https://auth.cryptr.eu/t/not-configured";
    let foreign = ka
        .sign_as(stranger, &v3_claims("not-configured", T0, T0 + 60))
        .unwrap();
    let hits = (ia.hits(), ib.hits());
    let (status, _, body) = get(&state, "/auth", Some(&foreign)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_issuer"))
    );
    assert_eq!((ia.hits(), ib.hits()), hits);

    // Metrics are labelled by the configured issuers only.
    let (_, _, text) = get(&state, "/metrics", None).await;
    let text = text.as_str().unwrap();
    for line in [
        format!("cryptr_guard_jwks_fetches_total{{issuer=\"{A}\",result=\"ok\"}} 1"),
        format!("cryptr_guard_jwks_fetches_total{{issuer=\"{B}\",result=\"ok\"}} 2"),
        format!("cryptr_guard_jwks_ready{{issuer=\"{B}\"}} 1"),
        "cryptr_guard_requests_total{outcome=\"invalid_issuer\"} 1".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
    assert!(
        !text.contains("not-configured"),
        "a token's issuer in the metrics"
    );
}

#[tokio::test]
async fn readiness_lists_every_issuer_and_needs_all_of_them() {
    let (_ia, ib, state) = two_organizations(serve_key(0), Behaviour::Status(500)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let (status, _, body) = get(&state, "/readyz", None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        if body["issuers"][0]["ready"] == true && ib.hits() > 0 {
            break body;
        }
        assert!(Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(body["ready"], false);
    assert_eq!(body["issuers"][0]["issuer"], A);
    assert_eq!(body["issuers"][1]["issuer"], B);
    assert_eq!(body["issuers"][1]["ready"], false);
}

#[tokio::test]
async fn the_refresher_fetches_at_start_and_retries_a_set_without_usable_keys() {
    let (ia, ib) = (
        Issuer::start(serve_key(0)).await,
        Issuer::start(Behaviour::Serve(r#"{"keys":[{"kty":"EC"}]}"#.into(), None)).await,
    );
    let issuers = format!("{A},{B}");
    let urls = format!("{},{}", ia.url, ib.url);
    let (settings, clock) = settings_with(&urls, &[("CRYPTR_ISSUER", &issuers)]);
    let state = state(settings);
    state.spawn_refresher();
    // Both fetched without any request.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (ia.hits(), ib.hits()) != (1, 1) {
        assert!(Instant::now() < deadline, "{} {}", ia.hits(), ib.hits());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while state.metrics().fetches("no_usable_key") == 0 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!state.readiness().0);
    // B publishes a usable key; the refetch comes on the backoff schedule.
    ib.set(serve_key(1));
    advance(&clock, 2);
    while !state.readiness().0 {
        assert!(Instant::now() < deadline, "B never refetched");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!((ia.hits(), ib.hits()), (1, 2));
}
