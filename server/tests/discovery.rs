//! OpenID discovery over real sockets: the server on 127.0.0.1, configured with `CRYPTR_ISSUER`
//! alone, against an OpenID provider the test starts on 127.0.0.1 that publishes its
//! configuration at `{issuer}/.well-known/openid-configuration` and its key set at the
//! configuration's `jwks_uri`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use common::*;
use cryptr_guard_server::{AppState, app};
use serde_json::{Value, json};

/// What the provider publishes, and what it was asked for.
#[derive(Debug, Default)]
struct Published {
    /// The `issuer` its configuration names.
    names: Mutex<String>,
    jwks: Mutex<String>,
    configuration_hits: AtomicUsize,
    jwks_hits: AtomicUsize,
}

/// An OpenID provider on 127.0.0.1 whose issuer is `http://127.0.0.1:<port>/realms/acme`.
struct Provider {
    issuer: String,
    published: Arc<Published>,
}

impl Provider {
    async fn start(jwks: String) -> Provider {
        let published = Arc::new(Published::default());
        *published.jwks.lock().unwrap() = jwks;
        let router = Router::new()
            .route(
                "/realms/acme/.well-known/openid-configuration",
                get(configuration),
            )
            .route("/realms/acme/keys", get(keys_of))
            .with_state(Arc::clone(&published));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let issuer = format!("http://{addr}/realms/acme");
        *published.names.lock().unwrap() = issuer.clone();
        Provider { issuer, published }
    }

    fn name(&self, issuer: &str) {
        *self.published.names.lock().unwrap() = issuer.into();
    }

    fn hits(&self) -> (usize, usize) {
        (
            self.published.configuration_hits.load(Ordering::SeqCst),
            self.published.jwks_hits.load(Ordering::SeqCst),
        )
    }
}

async fn configuration(State(published): State<Arc<Published>>) -> impl IntoResponse {
    published.configuration_hits.fetch_add(1, Ordering::SeqCst);
    let issuer = published.names.lock().unwrap().clone();
    // The key set is under the configured issuer's path whatever the document names.
    let base = issuer
        .split("/realms/")
        .next()
        .unwrap_or_default()
        .to_string();
    let document = json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}/realms/acme/keys"),
        "authorization_endpoint": format!("{base}/realms/acme/auth"),
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        document.to_string(),
    )
}

async fn keys_of(State(published): State<Arc<Published>>) -> impl IntoResponse {
    published.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let jwks = published.jwks.lock().unwrap().clone();
    ([(header::CONTENT_TYPE, "application/json")], jwks)
}

/// `CRYPTR_ISSUER` alone (no `CRYPTR_JWKS_URL`), plain http allowed for loopback.
fn discovering(provider: &Provider) -> AppState {
    let (settings, _) = settings_with("", &[("CRYPTR_ISSUER", &provider.issuer)]);
    assert_eq!(settings.host.sources[0].jwks_url, None);
    state(settings)
}

struct Server {
    base: String,
    state: AppState,
}

async fn start(state: AppState) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(state.clone());
    tokio::spawn(cryptr_guard_server::serve(
        listener,
        router,
        std::future::pending(),
    ));
    Server {
        base: format!("http://{addr}"),
        state,
    }
}

/// `GET path` with an optional bearer token: status, `Retry-After`, body.
async fn get_with(
    server: &Server,
    path: &str,
    token: Option<&str>,
) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", server.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry_after, response.text().await.unwrap())
}

fn token_of(provider: &Provider) -> String {
    let mut claims = claims(T0);
    claims["iss"] = Value::String(provider.issuer.clone());
    token(&keys()[0], &claims)
}

#[tokio::test]
async fn the_issuer_alone_discovers_its_key_set() {
    let provider = Provider::start(jwks_of(&[&keys()[0]])).await;
    let server = start(discovering(&provider)).await;
    let (status, _, body) = get_with(&server, "/readyz", None).await;
    assert_eq!(status, 503, "not ready before the key set: {body}");
    let token = token_of(&provider);
    let (status, _, body) = get_with(&server, "/api/v1/courses", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(provider.hits(), (1, 1));
    // Both documents are cached: nothing fetched again.
    let (status, _, _) = get_with(&server, "/api/v1/courses", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(provider.hits(), (1, 1));
    let (status, _, body) = get_with(&server, "/readyz", None).await;
    assert_eq!(status, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["issuers"][0]["issuer"], provider.issuer.as_str());
    assert_eq!(ready["issuers"][0]["discovered"], true);
    let (_, _, metrics) = get_with(&server, "/metrics", None).await;
    let issuer = &provider.issuer;
    for line in [
        format!("cryptr_guard_discovery_fetches_total{{issuer=\"{issuer}\",result=\"ok\"}} 1"),
        format!("cryptr_guard_jwks_fetches_total{{issuer=\"{issuer}\",result=\"ok\"}} 1"),
        format!("cryptr_guard_jwks_ready{{issuer=\"{issuer}\"}} 1"),
    ] {
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
    }
    let (ready, reports) = server.state.readiness();
    assert!(ready && reports[0].discovered);
    assert_eq!(reports[0].discovery_failures, 0);
}

#[tokio::test]
async fn a_configuration_naming_another_issuer_is_503_jwks_unavailable() {
    let provider = Provider::start(jwks_of(&[&keys()[0]])).await;
    provider.name(&format!("{}/", provider.issuer));
    let server = start(discovering(&provider)).await;
    let token = token_of(&provider);
    let (status, retry_after, body) = get_with(&server, "/api/v1/courses", Some(&token)).await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "jwks_unavailable");
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    // The key set was never asked for.
    assert_eq!(provider.hits(), (1, 0));
    assert_eq!(
        server
            .state
            .metrics()
            .discovery_fetches("invalid_discovery"),
        1
    );
    let (status, _, _) = get_with(&server, "/readyz", None).await;
    assert_eq!(status, 503);
    let (_, reports) = server.state.readiness();
    assert_eq!(reports[0].discovery_failures, 1);
}

#[tokio::test]
async fn the_refresher_discovers_then_fetches_the_key_set_without_a_request() {
    let provider = Provider::start(jwks_of(&[&keys()[0]])).await;
    let state = discovering(&provider);
    state.spawn_refresher();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !state.readiness().0 {
        assert!(Instant::now() < deadline, "{:?}", provider.hits());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(provider.hits(), (1, 1));
    let server = start(state).await;
    let (status, _, body) = get_with(&server, "/api/v1/courses", Some(&token_of(&provider))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(provider.hits(), (1, 1));
}
