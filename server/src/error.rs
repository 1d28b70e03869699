//! The one error type of the HTTP layer. The answer is the core's (`Rejection::answer`, SPEC §3
//! "HTTP mapping"); this module only turns it into an axum response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cryptr_guard_core::{HttpAnswer, Rejection};

/// Why a request was refused: the core's [`Rejection`] (401 with `WWW-Authenticate`, or 503 with
/// `Retry-After`), or a route's missing scope (the core's 403 `insufficient_scope` answer); always
/// with the JSON body `{"code", "description", "error"}` and never any part of the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// The guard refused the request.
    Refused(Rejection),
    /// The token lacks a scope the route requires.
    Forbidden(HttpAnswer),
}

impl AuthError {
    /// The fine code (the body's `error`, the metrics' outcome).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Refused(rejection) => rejection.code(),
            AuthError::Forbidden(answer) => answer.error,
        }
    }

    /// The human description (static text).
    pub fn description(&self) -> &'static str {
        match self {
            AuthError::Refused(rejection) => rejection.description(),
            AuthError::Forbidden(answer) => answer.description,
        }
    }

    /// The core's HTTP answer.
    pub fn answer(&self) -> HttpAnswer {
        match self {
            AuthError::Refused(rejection) => rejection.answer(),
            AuthError::Forbidden(answer) => answer.clone(),
        }
    }
}

impl From<Rejection> for AuthError {
    fn from(rejection: Rejection) -> Self {
        AuthError::Refused(rejection)
    }
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
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
