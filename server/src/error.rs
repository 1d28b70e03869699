//! The one error type of the HTTP layer: SPEC §3 "HTTP mapping".

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cryptr_guard_core::{Error, ErrorKind};

/// Why a request was refused. Every variant maps to one SPEC §3 fine code; the response carries
/// the tutorial-compatible `code`, a static `description` and the fine `error`, never any part
/// of the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header (`authorization_header_missing`).
    MissingHeader,
    /// Not `Bearer <token>` with exactly one token (`invalid_header`).
    InvalidHeader,
    /// The core refused the token.
    Token(Error),
    /// No usable key set (`jwks_unavailable`): 503 with `Retry-After` (seconds, at least 1).
    Unavailable {
        /// Seconds after which a retry may succeed.
        retry_after: u64,
    },
}

impl AuthError {
    /// The fine SPEC §3 code (the body's `error`).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingHeader => "authorization_header_missing",
            AuthError::InvalidHeader => "invalid_header",
            AuthError::Token(e) => e.code(),
            AuthError::Unavailable { .. } => "jwks_unavailable",
        }
    }

    /// The tutorial-compatible code (the body's `code`), per the SPEC §3 table.
    pub fn tutorial_code(&self) -> &'static str {
        match self {
            AuthError::MissingHeader => "authorization_header_missing",
            AuthError::InvalidHeader => "invalid_header",
            AuthError::Unavailable { .. } => "jwks_unavailable",
            AuthError::Token(e) => match e.kind() {
                ErrorKind::UnknownKey => "no_rsa_key",
                ErrorKind::TokenExpired => "token_expired",
                ErrorKind::InvalidClaim
                | ErrorKind::MissingClaim
                | ErrorKind::TokenNotYetValid
                | ErrorKind::InvalidIssuer
                | ErrorKind::InvalidAudience => "invalid_claims",
                ErrorKind::InvalidJwks | ErrorKind::JwksUnavailable => "jwks_unavailable",
                // malformed_token, unsupported_algorithm, invalid_signature (and any kind a
                // later core adds) keep the tutorial's catch-all.
                _ => "invalid_header",
            },
        }
    }

    /// A human description (static text; never token or key material).
    pub fn description(&self) -> &'static str {
        match self {
            AuthError::MissingHeader => "Authorization header is required",
            AuthError::InvalidHeader => "Wrong Bearer Authorization header syntax",
            AuthError::Token(e) => e.description(),
            AuthError::Unavailable { .. } => ErrorKind::JwksUnavailable.description(),
        }
    }

    /// 401, or 503 for an unusable key set.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Token(e)
                if matches!(
                    e.kind(),
                    ErrorKind::InvalidJwks | ErrorKind::JwksUnavailable
                ) =>
            {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The JSON body `{"code", "description", "error"}`.
    pub fn body(&self) -> String {
        serde_json::json!({
            "code": self.tutorial_code(),
            "description": self.description(),
            "error": self.code(),
        })
        .to_string()
    }
}

impl From<Error> for AuthError {
    fn from(e: Error) -> Self {
        match e.kind() {
            ErrorKind::InvalidJwks | ErrorKind::JwksUnavailable => {
                AuthError::Unavailable { retry_after: 1 }
            }
            _ => AuthError::Token(e),
        }
    }
}

/// `"…"` content for an HTTP quoted-string: printable ASCII, `"` and `\` escaped.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body(),
        )
            .into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                quoted(self.description())
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        } else {
            let retry_after = match self {
                AuthError::Unavailable { retry_after } => retry_after.max(1),
                _ => 1,
            };
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}
