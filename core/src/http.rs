//! What a host says over HTTP (SPEC §3 "HTTP mapping"), and how it reads the `Authorization`
//! header: decided once here, so that the Flask integration, the server and a C host answer every
//! request alike.

use alloc::format;
use alloc::string::String;

use crate::error::{Error, ErrorKind};

/// Why a request is refused: a SPEC §3 fine code, with what the answer needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No `Authorization` header, or an empty one (`authorization_header_missing`).
    MissingHeader,
    /// Not `Bearer <token>` with exactly one token, or several `Authorization` headers
    /// (`invalid_header`).
    InvalidHeader,
    /// The core refused the token.
    Token(Error),
    /// No usable key set for the token's issuer (`jwks_unavailable`): a retry may succeed after
    /// `retry_after` seconds (at least 1).
    Unavailable {
        /// Seconds after which a retry may succeed.
        retry_after: u64,
        /// A static description of the cause.
        detail: &'static str,
    },
}

impl Rejection {
    /// `jwks_unavailable` with its generic description.
    pub const fn unavailable(retry_after: u64) -> Rejection {
        Rejection::Unavailable {
            retry_after,
            detail: ErrorKind::JwksUnavailable.description(),
        }
    }

    /// The fine SPEC §3 code (the body's `error`).
    pub const fn code(&self) -> &'static str {
        match self {
            Rejection::MissingHeader => "authorization_header_missing",
            Rejection::InvalidHeader => "invalid_header",
            Rejection::Token(e) => e.code(),
            Rejection::Unavailable { .. } => ErrorKind::JwksUnavailable.code(),
        }
    }

    /// A human description (static text; never token or key material).
    pub const fn description(&self) -> &'static str {
        match self {
            Rejection::MissingHeader => "Authorization header is required",
            Rejection::InvalidHeader => "Wrong Bearer Authorization header syntax",
            Rejection::Token(e) => e.description(),
            Rejection::Unavailable { detail, .. } => detail,
        }
    }

    /// The SPEC §3 HTTP answer.
    pub fn answer(&self) -> HttpAnswer {
        let (status, code) = match self {
            Rejection::MissingHeader => (401, "authorization_header_missing"),
            Rejection::InvalidHeader => (401, "invalid_header"),
            Rejection::Unavailable { .. } => (503, "jwks_unavailable"),
            Rejection::Token(e) => match e.kind() {
                ErrorKind::UnknownKey => (401, "no_rsa_key"),
                ErrorKind::TokenExpired => (401, "token_expired"),
                ErrorKind::InvalidClaim
                | ErrorKind::MissingClaim
                | ErrorKind::TokenNotYetValid
                | ErrorKind::InvalidIssuer
                | ErrorKind::InvalidAudience => (401, "invalid_claims"),
                ErrorKind::InvalidJwks | ErrorKind::JwksUnavailable => (503, "jwks_unavailable"),
                // malformed_token, unsupported_algorithm, invalid_signature (and any kind a
                // later SPEC adds) keep the tutorial's catch-all.
                _ => (401, "invalid_header"),
            },
        };
        let retry_after = match self {
            Rejection::Unavailable { retry_after, .. } => Some((*retry_after).max(1)),
            _ if status == 503 => Some(1),
            _ => None,
        };
        let www_authenticate = match self {
            // RFC 6750 §3.1: a request without credentials gets the challenge without an
            // error code.
            Rejection::MissingHeader => Some(String::from("Bearer")),
            _ if status == 401 => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                quoted_string(self.description())
            )),
            _ => None,
        };
        HttpAnswer {
            status,
            code,
            error: self.code(),
            description: self.description(),
            www_authenticate,
            retry_after,
        }
    }
}

impl From<Error> for Rejection {
    fn from(error: Error) -> Self {
        match error.kind() {
            ErrorKind::JwksUnavailable | ErrorKind::InvalidJwks => Rejection::Unavailable {
                retry_after: 1,
                detail: error.description(),
            },
            _ => Rejection::Token(error),
        }
    }
}

impl core::fmt::Display for Rejection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl core::error::Error for Rejection {}

/// The HTTP answer to a refused request (SPEC §3): status, headers and the JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    /// 401 or 503 (403 for [`require_scopes`]).
    pub status: u16,
    /// The tutorial-compatible `code` of the body.
    pub code: &'static str,
    /// The fine SPEC §3 code, the body's `error`.
    pub error: &'static str,
    /// The body's `description`.
    pub description: &'static str,
    /// The `WWW-Authenticate` value, on every 401.
    pub www_authenticate: Option<String>,
    /// The `Retry-After` value in seconds, on every 503.
    pub retry_after: Option<u64>,
}

impl HttpAnswer {
    /// The JSON body: `{"code": …, "description": …, "error": …}`.
    pub fn body(&self) -> String {
        format!(
            "{{\"code\":\"{}\",\"description\":\"{}\",\"error\":\"{}\"}}",
            json_escape(self.code),
            json_escape(self.description),
            json_escape(self.error)
        )
    }
}

/// The scope check of a protected route (RFC 6750 §3.1): `Ok` when `held` (a verified token's
/// [`scopes`](crate::Verified::scopes)) contains every scope of `required`, else the 403
/// `insufficient_scope` answer naming the required scopes. One rule for Flask's
/// `requires_scope`, the server's per-route scopes and any other host.
///
/// ```
/// use cryptr_guard_core::http::require_scopes;
///
/// let held = ["openid".to_string(), "read:courses".to_string()];
/// assert!(require_scopes(&held, &["read:courses"]).is_ok());
/// let answer = require_scopes(&held, &["admin"]).unwrap_err();
/// assert_eq!((answer.status, answer.code, answer.error), (403, "insufficient_scope", "insufficient_scope"));
/// assert!(answer.www_authenticate.unwrap().ends_with("scope=\"admin\""));
/// ```
pub fn require_scopes<S: AsRef<str>>(held: &[String], required: &[S]) -> Result<(), HttpAnswer> {
    let missing = required
        .iter()
        .any(|scope| !held.iter().any(|h| h == scope.as_ref()));
    if !missing {
        return Ok(());
    }
    const DESCRIPTION: &str = "the token lacks a required scope";
    let mut wanted = String::new();
    for (i, scope) in required.iter().enumerate() {
        if i > 0 {
            wanted.push(' ');
        }
        wanted.push_str(scope.as_ref());
    }
    Err(HttpAnswer {
        status: 403,
        code: "insufficient_scope",
        error: "insufficient_scope",
        description: DESCRIPTION,
        www_authenticate: Some(format!(
            "Bearer error=\"insufficient_scope\", error_description=\"{DESCRIPTION}\", scope=\"{}\"",
            quoted_string(&wanted)
        )),
        retry_after: None,
    })
}

/// Text as the content of a JSON string.
fn json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Text as the content of an HTTP quoted-string: printable ASCII, `"` and `\` escaped, anything
/// else replaced by `?`.
fn quoted_string(text: &str) -> String {
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

/// The token of a request's `Authorization` header values (in the order received), by one rule
/// for every host:
///
/// - no header, or one whose value is empty or only spaces: `authorization_header_missing`;
/// - more than one header: `invalid_header`;
/// - otherwise the value must be the scheme `Bearer` (ASCII-case-insensitive) and exactly one
///   token, separated by ASCII spaces (0x20) only, leading and trailing spaces allowed: a tab, a
///   no-break space or any other byte is part of a word, so `Bearer\u{a0}t` is `invalid_header`.
///
/// ```
/// use cryptr_guard_core::{Rejection, bearer_token};
///
/// assert_eq!(bearer_token([&b"bearer  abc.def.ghi "[..]]), Ok(&b"abc.def.ghi"[..]));
/// assert_eq!(bearer_token(Vec::<&[u8]>::new()), Err(Rejection::MissingHeader));
/// assert_eq!(bearer_token([&b"Basic abc"[..]]), Err(Rejection::InvalidHeader));
/// ```
pub fn bearer_token<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Result<&'a [u8], Rejection> {
    let mut values = values.into_iter();
    let Some(value) = values.next() else {
        return Err(Rejection::MissingHeader);
    };
    if values.next().is_some() {
        return Err(Rejection::InvalidHeader);
    }
    let mut words = value.split(|&b| b == b' ').filter(|w| !w.is_empty());
    match (words.next(), words.next(), words.next()) {
        (None, _, _) => Err(Rejection::MissingHeader),
        (Some(scheme), Some(token), None) if scheme.eq_ignore_ascii_case(b"bearer") => Ok(token),
        _ => Err(Rejection::InvalidHeader),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_rules() {
        let one = |v: &'static str| bearer_token([v.as_bytes()]);
        assert_eq!(one("Bearer t"), Ok(&b"t"[..]));
        assert_eq!(one("BEARER t"), Ok(&b"t"[..]));
        assert_eq!(one("  Bearer   t  "), Ok(&b"t"[..]));
        assert_eq!(one(""), Err(Rejection::MissingHeader));
        assert_eq!(one("   "), Err(Rejection::MissingHeader));
        assert_eq!(one("Bearer"), Err(Rejection::InvalidHeader));
        assert_eq!(one("Bearer a b"), Err(Rejection::InvalidHeader));
        assert_eq!(one("Bearer\tt"), Err(Rejection::InvalidHeader));
        assert_eq!(one("Bearer\u{a0}t"), Err(Rejection::InvalidHeader));
        assert_eq!(one("Basic t"), Err(Rejection::InvalidHeader));
        assert_eq!(
            bearer_token([&b"Bearer a"[..], &b"Bearer b"[..]]),
            Err(Rejection::InvalidHeader)
        );
    }

    #[test]
    fn http_mapping() {
        let missing = Rejection::MissingHeader.answer();
        assert_eq!(missing.status, 401);
        assert_eq!(missing.www_authenticate.as_deref(), Some("Bearer"));
        assert_eq!(missing.retry_after, None);
        let unknown = Rejection::Token(ErrorKind::UnknownKey.into()).answer();
        assert_eq!((unknown.status, unknown.code), (401, "no_rsa_key"));
        assert!(
            unknown
                .www_authenticate
                .as_deref()
                .is_some_and(|v| v.starts_with("Bearer error=\"invalid_token\""))
        );
        let down = Rejection::unavailable(7).answer();
        assert_eq!((down.status, down.retry_after), (503, Some(7)));
        assert_eq!(down.www_authenticate, None);
        assert_eq!(
            down.body(),
            "{\"code\":\"jwks_unavailable\",\"description\":\"no key set could be fetched from the issuer\",\"error\":\"jwks_unavailable\"}"
        );
        for kind in ErrorKind::ALL {
            let answer = Rejection::from(Error::from(kind)).answer();
            // A key set that could not be had, or not used, is one answer for the client.
            let unusable = matches!(kind, ErrorKind::InvalidJwks | ErrorKind::JwksUnavailable);
            let expected = if unusable {
                "jwks_unavailable"
            } else {
                kind.code()
            };
            assert_eq!(answer.error, expected);
            assert_eq!(answer.status, if unusable { 503 } else { 401 });
        }
    }
}
