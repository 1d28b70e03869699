//! Real sockets: the server bound on 127.0.0.1 and a JWKS issuer started by the test, with
//! switchable behaviour; a manual clock stands in for waiting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use cryptr_guard_server::{AppState, app};
use serde_json::{Value, json};

struct Server {
    base: String,
    state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(state: AppState) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app(state.clone());
    let done = tokio::spawn(cryptr_guard_server::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    Server {
        base: format!("http://{addr}"),
        state,
        stop: Some(stop),
        done,
    }
}

async fn get(server: &Server, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/courses", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body =
        serde_json::from_slice::<Value>(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, body)
}

fn fetches(server: &Server, result: &str) -> u64 {
    server.state.metrics().fetches(result)
}

#[tokio::test]
async fn key_rotation_is_picked_up_on_unknown_kid() {
    let [a, b] = keys();
    let issuer = Issuer::start(Behaviour::Serve(jwks_of(&[a]), None)).await;
    let (settings, clock) = settings(&issuer.url);
    let server = start(state(settings)).await;
    assert_eq!(get(&server, &token(a, &claims(T0))).await.0, 200);
    // The issuer rotates to b (and drops a).
    issuer.set(Behaviour::Serve(jwks_of(&[b]), None));
    advance(&clock, 1);
    assert_eq!(get(&server, &token(b, &claims(T0))).await.0, 200);
    assert_eq!(issuer.hits(), 2);
    // a is gone now; within the cooldown no refetch happens.
    let (status, body) = get(&server, &token(a, &claims(T0))).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unknown_key")));
    assert_eq!(issuer.hits(), 2);
}

#[tokio::test]
async fn issuer_down_after_a_good_fetch_keeps_the_last_set() {
    let [a, _] = keys();
    let issuer = Issuer::start(Behaviour::Serve(jwks_of(&[a]), Some("max-age=60".into()))).await;
    let (settings, clock) = settings(&issuer.url);
    let server = start(state(settings)).await;
    assert_eq!(get(&server, &token(a, &claims(T0))).await.0, 200);
    issuer.set(Behaviour::Status(503));
    advance(&clock, 120); // stale: refreshed in the background, which fails
    let t = token(a, &claims(T0 + 120));
    assert_eq!(get(&server, &t).await.0, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    while fetches(&server, "http_status") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fetches(&server, "http_status"), 1);
    assert_eq!(get(&server, &t).await.0, 200, "stale-if-error");
    // Past freshness + 24 h of grace: unavailable.
    advance(&clock, 86_400);
    let t = token(a, &claims(T0 + 120 + 86_400));
    let (status, body) = get(&server, &t).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("jwks_unavailable"))
    );
}

#[tokio::test]
async fn issuer_down_at_start_then_recovery() {
    let [a, _] = keys();
    let issuer = Issuer::start(Behaviour::Status(503)).await;
    let (settings, clock) = settings(&issuer.url);
    let server = start(state(settings)).await;
    let t = token(a, &claims(T0));
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/courses", server.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().get("retry-after").is_some());
    // During the backoff: no new fetch, still 503.
    assert_eq!(get(&server, &t).await.0, 503);
    assert_eq!(issuer.hits(), 1);
    issuer.set(Behaviour::Serve(jwks_of(&[a]), None));
    advance(&clock, 2); // past the 1 s backoff
    assert_eq!(get(&server, &t).await.0, 200);
    assert_eq!(issuer.hits(), 2);
}

#[tokio::test]
async fn slow_issuer_times_out() {
    let [a, _] = keys();
    let issuer = Issuer::start(Behaviour::Slow(Duration::from_secs(5), jwks_of(&[a]))).await;
    let (settings, _) = settings(&issuer.url); // 1 s fetch deadline
    let server = start(state(settings)).await;
    let started = Instant::now();
    let (status, body) = get(&server, &token(a, &claims(T0))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("jwks_unavailable"))
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fetches(&server, "timeout"), 1);
}

#[tokio::test]
async fn oversized_jwks_is_refused() {
    let [a, _] = keys();
    for behaviour in [Behaviour::Huge(2 << 20), Behaviour::HugeChunked(2 << 20)] {
        let issuer = Issuer::start(behaviour).await;
        let (settings, _) = settings(&issuer.url);
        let server = start(state(settings)).await;
        let (status, _) = get(&server, &token(a, &claims(T0))).await;
        assert_eq!(status, 503);
        assert_eq!(fetches(&server, "too_large"), 1);
    }
}

#[tokio::test]
async fn a_storm_of_unknown_kids_fetches_once_per_cooldown() {
    let [a, _] = keys();
    let issuer = Issuer::start(Behaviour::Serve(jwks_of(&[a]), None)).await;
    let (settings, clock) = settings(&issuer.url);
    let server = std::sync::Arc::new(start(state(settings)).await);
    assert_eq!(get(&server, &token(a, &claims(T0))).await.0, 200);
    assert_eq!(issuer.hits(), 1);
    let storm = |round: u64| {
        let server = std::sync::Arc::clone(&server);
        async move {
            let mut tasks = Vec::new();
            for i in 0..40u64 {
                let header =
                    json!({"alg": "RS256", "kid": format!("random-{round}-{i}-{}", rand_kid())});
                let t = a
                    .sign_raw(
                        header.to_string().as_bytes(),
                        claims(T0).to_string().as_bytes(),
                    )
                    .unwrap();
                let server = std::sync::Arc::clone(&server);
                tasks.push(tokio::spawn(async move { get(&server, &t).await }));
            }
            for task in tasks {
                let (status, body) = task.await.unwrap();
                assert_eq!((status, body["error"].as_str()), (401, Some("unknown_key")));
            }
        }
    };
    storm(1).await;
    assert_eq!(issuer.hits(), 2, "one refetch for the whole storm");
    advance(&clock, 29);
    storm(2).await;
    assert_eq!(issuer.hits(), 2, "cooling down");
    advance(&clock, 1);
    storm(3).await;
    assert_eq!(issuer.hits(), 3, "one more after the 30 s cooldown");
}

fn rand_kid() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    u64::from_le_bytes(bytes)
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight() {
    let [a, _] = keys();
    let issuer = Issuer::start(Behaviour::Slow(Duration::from_millis(500), jwks_of(&[a]))).await;
    let (settings, _) = settings_with(&issuer.url, &[("CRYPTR_JWKS_TIMEOUT", "5")]);
    let mut server = start(state(settings)).await;
    let base = server.base.clone();
    let t = token(a, &claims(T0));
    let in_flight = tokio::spawn({
        let t = t.clone();
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/courses"))
                .bearer_auth(t)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    // Shut down once the request is in flight (the server is fetching the key set for it).
    let deadline = Instant::now() + Duration::from_secs(10);
    while issuer.hits() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(issuer.hits(), 1);
    server.stop.take().unwrap().send(()).unwrap();
    assert_eq!(
        in_flight.await.unwrap().unwrap(),
        200,
        "the request in flight completes"
    );
    tokio::time::timeout(Duration::from_secs(5), &mut server.done)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // The listener is closed: new connections fail.
    assert!(
        reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_set_without_usable_keys_is_503_then_refetched_by_the_refresher() {
    let [a, _] = keys();
    let issuer = Issuer::start(Behaviour::Serve(r#"{"keys":[]}"#.into(), None)).await;
    let (settings, clock) = settings(&issuer.url);
    let server = start(state(settings)).await;
    server.state.spawn_refresher();
    let t = token(a, &claims(T0));
    // The set holds no usable key: not ready, and a valid token is 503 with Retry-After (not
    // 401 no_rsa_key).
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/courses", server.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "jwks_unavailable");
    assert!(!server.state.readiness().0);
    // The issuer is fixed. Past the backoff, the refresher (no request, no unknown kid)
    // fetches the set again.
    issuer.set(Behaviour::Serve(jwks_of(&[a]), None));
    advance(&clock, 5);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.state.readiness().0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.state.readiness().0, "not ready after the backoff");
    assert_eq!(get(&server, &t).await.0, 200);
    assert_eq!(fetches(&server, "ok"), 1);
    assert!(fetches(&server, "no_usable_key") >= 1);
}
