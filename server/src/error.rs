//! The one error type of the HTTP layer. The answer is the core's (`Rejection::answer`, SPEC §3
//! "HTTP mapping"); this module only turns it into an axum response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cryptr_guard_core::{HttpAnswer, Rejection};

/// Why a request was refused: the core's [`Rejection`]. As a response: 401 with
/// `WWW-Authenticate`, or 503 with `Retry-After`, and the JSON body
/// `{"code", "description", "error"}`; never any part of the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthError(pub Rejection);

impl AuthError {
    /// The fine SPEC §3 code (the body's `error`, the metrics' outcome).
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// The human description (static text).
    pub fn description(&self) -> &'static str {
        self.0.description()
    }

    /// The core's HTTP answer.
    pub fn answer(&self) -> HttpAnswer {
        self.0.answer()
    }
}

impl From<Rejection> for AuthError {
    fn from(rejection: Rejection) -> Self {
        AuthError(rejection)
    }
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for AuthError {}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let answer = self.answer();
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::UNAUTHORIZED);
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            answer.body(),
        )
            .into_response();
        let headers = response.headers_mut();
        if let Some(value) = answer
            .www_authenticate
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(seconds) = answer.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
