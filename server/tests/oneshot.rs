//! Every HTTP outcome of `app()`, driven with `tower::ServiceExt::oneshot` (the key set comes
//! from a real issuer on 127.0.0.1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64ct::{Base64UrlUnpadded, Encoding};
use common::*;
use cryptr_guard_server::{AppState, StartError, app};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// A SPEC §3 refusal: status, both codes, WWW-Authenticate on 401, CORS on the API route.
    fn refused(&self, status: u16, code: &str, error: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{:?}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["error"], error, "{body}");
        assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(body.as_object().unwrap().len(), 3);
        if error == "authorization_header_missing" {
            // RFC 6750 §3.1: no credentials, a challenge without an error code.
            assert_eq!(self.header("www-authenticate"), Some("Bearer"));
        } else if status == 401 {
            let challenge = self.header("www-authenticate").unwrap();
            assert!(
                challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
                "{challenge}"
            );
        } else {
            assert!(self.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
        }
    }
}

async fn call(state: &AppState, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app(state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn courses(state: &AppState, token: &str) -> Answer {
    let auth = format!("Bearer {token}");
    call(
        state,
        "GET",
        "/api/v1/courses",
        &[
            ("authorization", &auth),
            ("origin", "http://localhost:8080"),
        ],
    )
    .await
}

async fn ready_state() -> (
    Issuer,
    AppState,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    let issuer = Issuer::start(Behaviour::Serve(jwks_of(&[&keys()[0]]), None)).await;
    let (settings, clock) = settings(&issuer.url);
    (issuer, state(settings), clock)
}

#[tokio::test]
async fn valid_token_gets_the_courses_with_cors() {
    let (_issuer, state, _) = ready_state().await;
    let answer = courses(&state, &token(&keys()[0], &claims(T0))).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()[0]["title"], "learn git");
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn missing_and_malformed_headers() {
    let (_issuer, state, _) = ready_state().await;
    let answer = call(&state, "GET", "/api/v1/courses", &[("origin", "http://x")]).await;
    answer.refused(
        401,
        "authorization_header_missing",
        "authorization_header_missing",
    );
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("*"),
        "CORS on errors too"
    );
    // The core's Bearer rule: an empty or blank value counts as no header.
    for value in ["", "   "] {
        let answer = call(
            &state,
            "GET",
            "/api/v1/courses",
            &[("authorization", value)],
        )
        .await;
        answer.refused(
            401,
            "authorization_header_missing",
            "authorization_header_missing",
        );
    }
    let token = token(&keys()[0], &claims(T0));
    for value in [
        "Basic dXNlcjpwYXNz".to_string(),
        "Bearer".into(),
        "Bearer a b".into(),
        "Token abc".into(),
        // Only spaces separate the scheme and the token.
        format!("Bearer\t{token}"),
    ] {
        let answer = call(
            &state,
            "GET",
            "/api/v1/courses",
            &[("authorization", &value)],
        )
        .await;
        answer.refused(401, "invalid_header", "invalid_header");
    }
    // Two Authorization headers.
    let auth = format!("Bearer {token}");
    let answer = call(
        &state,
        "GET",
        "/api/v1/courses",
        &[("authorization", &auth), ("authorization", &auth)],
    )
    .await;
    answer.refused(401, "invalid_header", "invalid_header");
    // Scheme case-insensitive, extra spaces around.
    let answer = call(
        &state,
        "GET",
        "/api/v1/courses",
        &[("authorization", &format!("  bEaReR   {token} "))],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn every_token_refusal_maps_per_spec() {
    let (_issuer, state, _) = ready_state().await;
    let key = &keys()[0];
    let good = token(key, &claims(T0));
    let mut parts = good.split('.');
    let (h, p) = (parts.next().unwrap(), parts.next().unwrap());
    let sig_of_other = token(&keys()[1], &claims(T0));
    let other_sig = sig_of_other.rsplit('.').next().unwrap();
    let b64 = |v: &Value| Base64UrlUnpadded::encode_string(v.to_string().as_bytes());

    let with = |patch: Value| {
        let mut c = claims(T0);
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        token(key, &c)
    };
    let unknown_kid = key
        .sign_raw(
            json!({"alg": "RS256", "kid": "nope"})
                .to_string()
                .as_bytes(),
            claims(T0).to_string().as_bytes(),
        )
        .unwrap();
    let cases: Vec<(String, &str, &str)> = vec![
        ("not.a.jwt!".into(), "invalid_header", "malformed_token"),
        ("abc".into(), "invalid_header", "malformed_token"),
        (
            format!("{}.{p}.", b64(&json!({"alg": "none"}))),
            "invalid_header",
            "malformed_token",
        ),
        (
            format!("{}.{p}.c2ln", b64(&json!({"alg": "HS256"}))),
            "invalid_header",
            "unsupported_algorithm",
        ),
        (
            format!("{h}.{p}.{other_sig}"),
            "invalid_header",
            "invalid_signature",
        ),
        (unknown_kid, "no_rsa_key", "unknown_key"),
        (
            with(json!({"exp": "soon"})),
            "invalid_claims",
            "invalid_claim",
        ),
        (
            with(json!({"exp": null})),
            "invalid_claims",
            "missing_claim",
        ),
        (
            with(json!({"exp": T0 - 1})),
            "token_expired",
            "token_expired",
        ),
        (
            with(json!({"nbf": T0 + 600})),
            "invalid_claims",
            "token_not_yet_valid",
        ),
        (
            with(json!({"iss": "https://evil.example/t/x"})),
            "invalid_claims",
            "invalid_issuer",
        ),
        (
            with(json!({"aud": "https://other-api"})),
            "invalid_claims",
            "invalid_audience",
        ),
    ];
    for (token, code, error) in cases {
        let answer = courses(&state, &token).await;
        answer.refused(401, code, error);
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
        assert!(
            !String::from_utf8_lossy(&answer.body).contains(&token),
            "never echo the token"
        );
    }
}

#[tokio::test]
async fn jwks_unavailable_is_503_with_retry_after() {
    let issuer = Issuer::start(Behaviour::Status(500)).await;
    let (settings, _) = settings(&issuer.url);
    let state = state(settings);
    let answer = courses(&state, &token(&keys()[0], &claims(T0))).await;
    answer.refused(503, "jwks_unavailable", "jwks_unavailable");
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    let ready = call(&state, "GET", "/readyz", &[]).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn an_invalid_jwks_is_jwks_unavailable_as_in_flask() {
    for document in ["{\"keys\": 1}", "not json", "{\"keys\":[{\"kty\":\"EC\"}]}"] {
        let issuer = Issuer::start(Behaviour::Serve(document.into(), None)).await;
        let (settings, _) = settings(&issuer.url);
        let state = state(settings);
        let answer = courses(&state, &token(&keys()[0], &claims(T0))).await;
        answer.refused(503, "jwks_unavailable", "jwks_unavailable");
    }
}

#[tokio::test]
async fn preflight_allows_content_type_and_authorization() {
    let (_issuer, state, _) = ready_state().await;
    let answer = call(
        &state,
        "OPTIONS",
        "/api/v1/courses",
        &[
            ("origin", "http://localhost:8080"),
            ("access-control-request-method", "GET"),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let allowed = answer
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
}

#[tokio::test]
async fn forward_auth_answers_claims_as_headers_and_body() {
    let (_issuer, state, _) = ready_state().await;
    let key = &keys()[0];
    let auth = format!("Bearer {}", token(key, &claims(T0)));
    for method in ["GET", "POST", "HEAD"] {
        let answer = call(&state, method, "/auth", &[("authorization", &auth)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{method}");
        assert_eq!(answer.header("x-auth-subject"), Some("user-42"));
        assert_eq!(answer.header("x-auth-key-id"), Some(key.kid()));
        assert_eq!(answer.header("x-auth-issuer"), Some(ISSUER));
        assert_eq!(answer.header("x-auth-claim-email"), Some("ada@example.com"));
        assert_eq!(
            answer.header("x-auth-claim-scp"),
            Some("[\"read:courses\"]")
        );
        assert_eq!(answer.header("x-auth-scopes"), Some("read:courses"));
        assert_eq!(answer.header("x-auth-client-id"), None);
        assert_eq!(answer.header("x-auth-tenant"), None);
        if method != "HEAD" {
            assert_eq!(answer.json(), claims(T0));
        }
    }
    let expired = {
        let mut c = claims(T0);
        c["exp"] = json!(T0 - 10);
        format!("Bearer {}", token(key, &c))
    };
    call(&state, "GET", "/auth", &[("authorization", &expired)])
        .await
        .refused(401, "token_expired", "token_expired");
    call(&state, "GET", "/auth", &[]).await.refused(
        401,
        "authorization_header_missing",
        "authorization_header_missing",
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let (_issuer, state, _) = ready_state().await;
    let health = call(&state, "GET", "/healthz", &[]).await;
    assert_eq!(health.status, StatusCode::OK);
    // Not ready before the first fetch completes; the probe starts it.
    let mut ready = call(&state, "GET", "/readyz", &[]).await;
    for _ in 0..250 {
        if ready.status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        ready = call(&state, "GET", "/readyz", &[]).await;
    }
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["ready"], true);
    assert_eq!(ready.json()["issuers"][0]["issuer"], ISSUER);
    assert_eq!(ready.json()["issuers"][0]["usable_keys"], 1);

    let good = token(&keys()[0], &claims(T0));
    assert_eq!(courses(&state, &good).await.status, StatusCode::OK);
    assert_eq!(courses(&state, &good).await.status, StatusCode::OK);
    courses(&state, "x.y.z")
        .await
        .refused(401, "invalid_header", "malformed_token");
    let metrics = call(&state, "GET", "/metrics", &[]).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = String::from_utf8(metrics.body).unwrap();
    let issuer = format!("{{issuer=\"{ISSUER}\"}}");
    for line in [
        "cryptr_guard_requests_total{outcome=\"ok\"} 2".to_string(),
        "cryptr_guard_requests_total{outcome=\"malformed_token\"} 1".into(),
        format!("cryptr_guard_jwks_fetches_total{{issuer=\"{ISSUER}\",result=\"ok\"}} 1"),
        format!("cryptr_guard_token_cache_hits_total{issuer} 1"),
        "cryptr_guard_validation_seconds_count 3".into(),
        format!("cryptr_guard_jwks_ready{issuer} 1"),
        format!("cryptr_guard_jwks_usable_keys{issuer} 1"),
        "cryptr_guard_ready 1".into(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
}

#[tokio::test]
async fn cached_tokens_still_expire() {
    let (_issuer, state, clock) = ready_state().await;
    let mut c = claims(T0);
    c["exp"] = json!(T0 + 5);
    let token = token(&keys()[0], &c);
    assert_eq!(courses(&state, &token).await.status, StatusCode::OK);
    assert_eq!(courses(&state, &token).await.status, StatusCode::OK);
    advance(&clock, 5);
    courses(&state, &token)
        .await
        .refused(401, "token_expired", "token_expired");
}

#[tokio::test]
async fn a_jwks_timeout_not_under_the_request_timeout_is_refused() {
    let (mut settings, _) =
        settings_with("http://127.0.0.1:9/jwks", &[("CRYPTR_JWKS_TIMEOUT", "5")]);
    settings.request_timeout = std::time::Duration::from_secs(5);
    match AppState::new(settings) {
        Err(StartError::Setting(e)) => {
            assert_eq!(e.key, "CRYPTR_JWKS_TIMEOUT");
            assert!(
                e.problem.contains("CRYPTR_GUARD_REQUEST_TIMEOUT"),
                "{}",
                e.problem
            );
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_issuer_is_answered_503_with_json_and_retry_after_before_the_request_timeout() {
    let issuer = Issuer::start(Behaviour::Slow(
        std::time::Duration::from_secs(3),
        jwks_of(&[&keys()[0]]),
    ))
    .await;
    let (mut settings, _) = settings_with(&issuer.url, &[("CRYPTR_JWKS_TIMEOUT", "1")]);
    settings.request_timeout = std::time::Duration::from_secs(2);
    let state = state(settings);
    let answer = courses(&state, &token(&keys()[0], &claims(T0))).await;
    answer.refused(503, "jwks_unavailable", "jwks_unavailable");
    assert_eq!(
        state.metrics().request_timeouts(),
        0,
        "the guard answered first"
    );
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let (_issuer, state, _) = ready_state().await;
    assert_eq!(
        call(&state, "GET", "/nope", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&state, "POST", "/api/v1/courses", &[]).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn header_errors_use_the_tutorial_descriptions() {
    let (_issuer, state, _) = ready_state().await;
    let answer = call(&state, "GET", "/api/v1/courses", &[]).await;
    assert_eq!(
        answer.json()["description"],
        "Authorization header is required"
    );
    let answer = call(
        &state,
        "GET",
        "/api/v1/courses",
        &[("authorization", "Basic x")],
    )
    .await;
    assert_eq!(
        answer.json()["description"],
        "Wrong Bearer Authorization header syntax"
    );
    let _ = header::AUTHORIZATION;
}

/// The extractor in a larger app whose state holds an `AppState` (`FromRef`).
#[derive(Clone)]
struct BigState {
    auth: AppState,
    greeting: &'static str,
}

impl axum::extract::FromRef<BigState> for AppState {
    fn from_ref(state: &BigState) -> AppState {
        state.auth.clone()
    }
}

impl axum::extract::FromRef<BigState> for &'static str {
    fn from_ref(state: &BigState) -> &'static str {
        state.greeting
    }
}

#[tokio::test]
async fn extractor_works_in_a_larger_app_through_from_ref() {
    use axum::extract::State;
    use cryptr_guard_server::Authenticated;
    let (_issuer, state, _) = ready_state().await;
    async fn hello(
        State(greeting): State<&'static str>,
        Authenticated(user): Authenticated,
    ) -> String {
        format!(
            "{greeting}, {}",
            user.claims().sub.as_deref().unwrap_or("?")
        )
    }
    let router = axum::Router::new()
        .route("/hello", axum::routing::get(hello))
        .with_state(BigState {
            auth: state,
            greeting: "hello",
        });
    let token = token(&keys()[0], &claims(T0));
    let request = Request::get("/hello")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        to_bytes(response.into_body(), 1024).await.unwrap(),
        "hello, user-42"
    );
    let response = router
        .oneshot(Request::get("/hello").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forward_auth_values_round_trip_spaces_at_the_ends_included() {
    let (_issuer, state, _) = ready_state().await;
    let mut c = claims(T0);
    c["sub"] = json!(" ada lovelace ");
    c["email"] = json!("  Zoë@example.com");
    c["scope"] = json!(["read courses", "write"]);
    let auth = format!("Bearer {}", token(&keys()[0], &c));
    let answer = call(&state, "GET", "/auth", &[("authorization", &auth)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-auth-subject"), Some("%20ada lovelace%20"));
    let decode = |name: &str| cryptr_guard_server::percent_decode(answer.header(name).unwrap());
    assert_eq!(decode("x-auth-subject").as_deref(), Some(" ada lovelace "));
    assert_eq!(
        decode("x-auth-claim-email").as_deref(),
        Some("  Zoë@example.com")
    );
    // `scope` wins over `scp`; a space inside a scope is encoded, the separator is not.
    assert_eq!(answer.header("x-auth-scopes"), Some("read%20courses write"));
}
