//! `cryptr-guard` as an HTTP server (Axum): the Cryptr Flask tutorial's protected API, a
//! forward-auth endpoint for reverse proxies, health, readiness and Prometheus metrics, for one
//! or several issuers (Cryptr organizations). The core's guard decides everything about a token
//! and its key sets; this crate moves bytes. See `server/README.md`.

pub mod auth;
pub mod check;
pub mod clock;
pub mod config;
pub mod connections;
pub mod demo;
pub mod error;
pub mod forward;
pub mod jwks;
pub mod metrics;
pub mod state;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use cryptr_guard_core::Rejection;
use tower_http::cors::{Any, CorsLayer};

pub use auth::Authenticated;
pub use clock::Clock;
pub use connections::{ConnectionLimits, serve, serve_with};
pub use error::AuthError;
pub use forward::{
    CLAIM_HEADER_PREFIX, CLIENT_ID_HEADER, ISSUER_HEADER, KEY_ID_HEADER, SCOPES_HEADER,
    SUBJECT_HEADER, TENANT_HEADER, header_text, percent_decode,
};
pub use state::{AppState, IssuerReport, KeysAt, Settings, StartError, VerifyMode};

/// The Cryptr Flask tutorial's course list, served by `GET /api/v1/courses`.
pub const COURSES: &str = r#"[{"id":1,"user_id":"eba25511-afce-4c8e-8cab-f82822434648","title":"learn git","tags":["colaborate","git","cli","commit","versionning"],"img":"https://carlchenet.com/wp-content/uploads/2019/04/git-logo.png","desc":"Learn how to create, manage, fork, and collaborate on a project. Git stays a major part of all companies projects. Learning git is learning how to make your project better everyday","date":"5 Nov","timestamp":1604577600000,"teacher":{"name":"Max","picture":"https://images.unsplash.com/photo-1558531304-a4773b7e3a9c?ixlib=rb-1.2.1&ixid=eyJhcHBfaWQiOjEyMDd9&auto=format&fit=crop&w=634&q=80"}}]"#;

/// The router: `GET /api/v1/courses` (CORS as the tutorial's step 04, on errors too),
/// `/auth` (forward-auth, any method), `GET /healthz`, `GET /readyz`, `GET /metrics`, and a
/// request timeout (SPEC §3's 503 `jwks_unavailable`, JSON body and `Retry-After`).
pub fn app(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]);
    let api = Router::new()
        .route("/api/v1/courses", get(courses))
        .route("/api/v1/me", get(me))
        .layer(cors);
    Router::new()
        .merge(api)
        .route("/auth", any(forward::forward_auth))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_timeout,
        ))
        .with_state(state)
}

/// What a request that timed out answers: the request was waiting for a key set (nothing else
/// in a request takes time), so it is SPEC §3's 503 `jwks_unavailable`.
pub const REQUEST_TIMEOUT_ANSWER: Rejection = Rejection::Unavailable {
    retry_after: 1,
    detail: "the request was not answered within the server's request timeout",
};

/// Answers [`REQUEST_TIMEOUT_ANSWER`] when `next` takes longer than the request timeout.
async fn request_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.request_timeout(), next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics().request_timeout();
            tracing::warn!(
                timeout = ?state.request_timeout(),
                "request timed out: answered 503 jwks_unavailable"
            );
            AuthError::Refused(REQUEST_TIMEOUT_ANSWER).into_response()
        }
    }
}

async fn courses(_user: Authenticated) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], COURSES).into_response()
}

/// Who the token says the caller is: the subject, the SPEC §7 derived values and the claims.
async fn me(Authenticated(verified): Authenticated) -> Response {
    let claims: serde_json::Value =
        serde_json::from_str(verified.payload_str()).unwrap_or(serde_json::Value::Null);
    let body = serde_json::json!({
        "sub": verified.claims().sub,
        "issuer": verified.issuer(),
        "client_id": verified.client_id(),
        "tenant": verified.tenant(),
        "scopes": verified.scopes(),
        "claims": claims,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when every configured issuer is ready, else 503; the body lists each issuer's state.
async fn readyz(State(state): State<AppState>) -> Response {
    // Without the periodic task (a router embedded in another app), the probe starts what is due.
    state.start_due_fetches();
    let (ready, issuers) = state.readiness();
    let issuers: Vec<serde_json::Value> = issuers
        .iter()
        .map(|i| {
            serde_json::json!({
                "issuer": i.issuer,
                "ready": i.ready,
                "usable_keys": i.usable_keys,
                "generation": i.generation,
                "consecutive_failures": i.consecutive_failures,
                "fetch_in_flight": i.fetch_in_flight,
                "discovered": i.discovered,
                "discovery_failures": i.discovery_failures,
            })
        })
        .collect();
    let body = serde_json::json!({ "ready": ready, "issuers": issuers }).to_string();
    let code = if ready {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use cryptr_guard_core::guard::HostConfig;
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn a_request_that_times_out_gets_the_spec_503() {
        let host = HostConfig::from_settings(|name| {
            let value = match name {
                "CRYPTR_ISSUER" => "https://auth.example/t/a",
                "CRYPTR_JWKS_URL" => "https://auth.example/t/a/.well-known",
                "CRYPTR_AUDIENCE" => "api",
                "CRYPTR_JWKS_TIMEOUT" => "1",
                _ => return None,
            };
            Some(value.to_string())
        })
        .unwrap();
        let mut settings = Settings::new(host);
        settings.request_timeout = Duration::from_millis(1500);
        let state = AppState::new(settings).unwrap();
        let router = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                request_timeout,
            ))
            .with_state(state.clone());
        let request = Request::get("/slow").body(Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let headers = response.headers();
        assert_eq!(headers[header::RETRY_AFTER], "1");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "jwks_unavailable");
        assert_eq!(body["error"], "jwks_unavailable");
        assert!(body["description"].as_str().unwrap().contains("timeout"));
        assert_eq!(state.metrics().request_timeouts(), 1);
    }
}
