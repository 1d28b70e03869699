//! `cryptr-guard` as an HTTP server (Axum): the Cryptr Flask tutorial's protected API, a
//! forward-auth endpoint for reverse proxies, health, readiness and Prometheus metrics, all on
//! the `cryptr-guard-core` validator. See `server/README.md`.

pub mod auth;
pub mod check;
pub mod clock;
pub mod demo;
pub mod error;
pub mod jwks;
pub mod metrics;
pub mod state;

use std::future::Future;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use tower_http::cors::{Any, CorsLayer};
use tower_http::timeout::TimeoutLayer;

pub use auth::{Authenticated, bearer_token};
pub use clock::Clock;
pub use error::AuthError;
pub use jwks::{FetchConfig, Jwks};
pub use state::{AppState, Settings, VerifyMode};

/// The Cryptr Flask tutorial's course list, served by `GET /api/v1/courses`.
pub const COURSES: &str = r#"[{"id":1,"user_id":"eba25511-afce-4c8e-8cab-f82822434648","title":"learn git","tags":["colaborate","git","cli","commit","versionning"],"img":"https://carlchenet.com/wp-content/uploads/2019/04/git-logo.png","desc":"Learn how to create, manage, fork, and collaborate on a project. Git stays a major part of all companies projects. Learning git is learning how to make your project better everyday","date":"5 Nov","timestamp":1604577600000,"teacher":{"name":"Max","picture":"https://images.unsplash.com/photo-1558531304-a4773b7e3a9c?ixlib=rb-1.2.1&ixid=eyJhcHBfaWQiOjEyMDd9&auto=format&fit=crop&w=634&q=80"}}]"#;

/// The forward-auth header carrying the token's `sub`.
pub const SUBJECT_HEADER: &str = "x-auth-subject";
/// The forward-auth header carrying the header's `kid`.
pub const KEY_ID_HEADER: &str = "x-auth-key-id";
/// Prefix of the forward-auth headers carrying chosen claims.
pub const CLAIM_HEADER_PREFIX: &str = "x-auth-claim-";

/// The router: `GET /api/v1/courses` (CORS as the tutorial's step 04, on errors too),
/// `/auth` (forward-auth, any method), `GET /healthz`, `GET /readyz`, `GET /metrics`, and a
/// request timeout (503).
pub fn app(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]);
    let api = Router::new()
        .route("/api/v1/courses", get(courses))
        .layer(cors);
    let timeout = state.request_timeout();
    Router::new()
        .merge(api)
        .route("/auth", any(forward_auth))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn courses(_user: Authenticated) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], COURSES).into_response()
}

/// Text made safe for a header value: printable ASCII and spaces kept, `%` and every other byte
/// percent-encoded (so a value always round-trips).
pub fn header_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (b' '..=b'~').contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn header_value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&header_text(text)).ok()
}

async fn forward_auth(
    State(state): State<AppState>,
    Authenticated(verified): Authenticated,
) -> Response {
    let mut response = Response::new(Body::from(verified.payload().to_vec()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(value) = verified.claims().sub.as_deref().and_then(header_value) {
        headers.insert(HeaderName::from_static(SUBJECT_HEADER), value);
    }
    if let Some(value) = verified.kid().and_then(header_value) {
        headers.insert(HeaderName::from_static(KEY_ID_HEADER), value);
    }
    if !state.forward_claims().is_empty()
        && let Ok(serde_json::Value::Object(claims)) =
            serde_json::from_slice::<serde_json::Value>(verified.payload())
    {
        for name in state.forward_claims() {
            let Some(value) = claims.get(name) else {
                continue;
            };
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let header_name =
                HeaderName::from_bytes(format!("{CLAIM_HEADER_PREFIX}{name}").as_bytes());
            if let (Ok(header_name), Some(value)) = (header_name, header_value(&text)) {
                headers.insert(header_name, value);
            }
        }
    }
    response
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    state.warm_up();
    let status = state.jwks().status();
    let body = serde_json::json!({
        "ready": status.is_ready(),
        "generation": status.generation,
        "consecutive_failures": status.consecutive_failures,
    })
    .to_string();
    let code = if status.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.render_metrics(),
    )
        .into_response()
}
