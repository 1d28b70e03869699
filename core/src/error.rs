//! The one error taxonomy (SPEC §3), shared by every layer.

use core::fmt;

/// What went wrong, as a SPEC §3 code.
///
/// The set is closed for a given SPEC revision; `#[non_exhaustive]` leaves room for the next one.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// Not a well-formed compact JWS/JWT (SPEC §2, §5, §6).
    MalformedToken,
    /// `alg` is not `RS256`.
    UnsupportedAlgorithm,
    /// No usable key for the token's `kid` / `x5t` (or, without either, not exactly one usable key).
    UnknownKey,
    /// The signature does not verify with the chosen key.
    InvalidSignature,
    /// A registered claim has the wrong JSON type.
    InvalidClaim,
    /// A required claim is absent.
    MissingClaim,
    /// `exp` has passed.
    TokenExpired,
    /// `nbf` or `iat` is in the future.
    TokenNotYetValid,
    /// `iss` differs from the expected issuer.
    InvalidIssuer,
    /// No accepted audience in `aud`.
    InvalidAudience,
    /// The JWKS document itself is unusable (SPEC §4).
    InvalidJwks,
    /// Hosts only: no key set could be fetched and none is cached.
    JwksUnavailable,
}

impl ErrorKind {
    /// Every kind, in SPEC §3 order.
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::MalformedToken,
        ErrorKind::UnsupportedAlgorithm,
        ErrorKind::UnknownKey,
        ErrorKind::InvalidSignature,
        ErrorKind::InvalidClaim,
        ErrorKind::MissingClaim,
        ErrorKind::TokenExpired,
        ErrorKind::TokenNotYetValid,
        ErrorKind::InvalidIssuer,
        ErrorKind::InvalidAudience,
        ErrorKind::InvalidJwks,
        ErrorKind::JwksUnavailable,
    ];

    /// The stable SPEC §3 string, identical in every language.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::MalformedToken => "malformed_token",
            ErrorKind::UnsupportedAlgorithm => "unsupported_algorithm",
            ErrorKind::UnknownKey => "unknown_key",
            ErrorKind::InvalidSignature => "invalid_signature",
            ErrorKind::InvalidClaim => "invalid_claim",
            ErrorKind::MissingClaim => "missing_claim",
            ErrorKind::TokenExpired => "token_expired",
            ErrorKind::TokenNotYetValid => "token_not_yet_valid",
            ErrorKind::InvalidIssuer => "invalid_issuer",
            ErrorKind::InvalidAudience => "invalid_audience",
            ErrorKind::InvalidJwks => "invalid_jwks",
            ErrorKind::JwksUnavailable => "jwks_unavailable",
        }
    }

    /// The kind whose [`code`](Self::code) is `code`.
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// A generic human description of the kind.
    pub const fn description(self) -> &'static str {
        match self {
            ErrorKind::MalformedToken => "the token is not a well-formed compact JWS",
            ErrorKind::UnsupportedAlgorithm => "the token's algorithm is not RS256",
            ErrorKind::UnknownKey => "no usable key in the key set matches the token",
            ErrorKind::InvalidSignature => "the token's signature does not verify",
            ErrorKind::InvalidClaim => "a registered claim has the wrong type",
            ErrorKind::MissingClaim => "a required claim is missing",
            ErrorKind::TokenExpired => "the token has expired",
            ErrorKind::TokenNotYetValid => "the token is not valid yet",
            ErrorKind::InvalidIssuer => "the token's issuer is not the expected one",
            ErrorKind::InvalidAudience => "the token is not meant for this audience",
            ErrorKind::InvalidJwks => "the issuer's key set is unusable",
            ErrorKind::JwksUnavailable => "no key set could be fetched from the issuer",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A validation or key-set error: a SPEC §3 kind plus a fixed, more precise description.
///
/// The description never contains token or key material: it is a static string chosen by the
/// check that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Error {
    kind: ErrorKind,
    detail: &'static str,
}

impl Error {
    /// An error of `kind` with a precise, static `detail`.
    pub const fn new(kind: ErrorKind, detail: &'static str) -> Self {
        Error { kind, detail }
    }

    /// The SPEC §3 kind.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The SPEC §3 code string (`self.kind().code()`).
    pub const fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// A human description; stable in meaning, free to change in wording.
    pub const fn description(&self) -> &'static str {
        self.detail
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind, kind.description())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.detail)
    }
}

impl core::error::Error for Error {}
impl core::error::Error for ErrorKind {}

/// A configuration mistake (an option out of its range), reported when options or a key set are
/// built, never as a validation code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError(pub &'static str);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
        }
        let mut codes: alloc::vec::Vec<_> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        assert_eq!(ErrorKind::from_code("nope"), None);
    }
}
