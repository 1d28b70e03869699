//! `cg_status`, the answer of every fallible function, and the functions that describe it.

use std::ffi::{c_char, c_int};

use cryptr_guard_core::{ErrorKind, Rejection};

use crate::boundary::{Out, boundary};

/// The answer of every fallible function: `CG_OK` (0), one value per SPEC §3 error code (1–14: the
/// validation codes, then the host codes of the `Authorization` header), and the C-only values
/// (100 and up).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cg_status {
    /// Success.
    CG_OK = 0,
    /// `malformed_token`: not a well-formed compact JWS/JWT.
    CG_MALFORMED_TOKEN = 1,
    /// `unsupported_algorithm`: `alg` is not `RS256`.
    CG_UNSUPPORTED_ALGORITHM = 2,
    /// `unknown_key`: no usable key for the token's `kid`/`x5t`.
    CG_UNKNOWN_KEY = 3,
    /// `invalid_signature`: the signature does not verify.
    CG_INVALID_SIGNATURE = 4,
    /// `invalid_claim`: a registered claim has the wrong JSON type.
    CG_INVALID_CLAIM = 5,
    /// `missing_claim`: a required claim is absent.
    CG_MISSING_CLAIM = 6,
    /// `token_expired`: `exp` has passed.
    CG_TOKEN_EXPIRED = 7,
    /// `token_not_yet_valid`: `nbf` or `iat` is in the future.
    CG_TOKEN_NOT_YET_VALID = 8,
    /// `invalid_issuer`: `iss` is not an accepted issuer.
    CG_INVALID_ISSUER = 9,
    /// `invalid_audience`: no accepted audience in `aud`.
    CG_INVALID_AUDIENCE = 10,
    /// `invalid_jwks`: the JWKS document itself is unusable.
    CG_INVALID_JWKS = 11,
    /// `jwks_unavailable` (hosts): no key set could be fetched and none is cached.
    CG_JWKS_UNAVAILABLE = 12,
    /// `authorization_header_missing` (hosts): no `Authorization` header, or an empty one.
    CG_AUTHORIZATION_HEADER_MISSING = 13,
    /// `invalid_header` (hosts): not `Bearer <token>` with exactly one token, or several
    /// `Authorization` headers.
    CG_INVALID_HEADER = 14,
    /// `null_argument` (C only): a required pointer argument was NULL (or a buffer pointer was
    /// NULL with a non-zero length).
    CG_NULL_ARGUMENT = 100,
    /// `buffer_too_small` (C only): the caller's output buffer cannot hold the answer.
    CG_BUFFER_TOO_SMALL = 101,
    /// `invalid_argument` (C only): an argument or option is out of its range (a configuration
    /// error: no issuer or audience, non-UTF-8 text, `min_rsa_bits` outside 1024..=8192, an
    /// unknown claim bit, an index past the end, a length above `PTRDIFF_MAX`).
    CG_INVALID_ARGUMENT = 102,
    /// `panic` (C only): a bug inside the library was caught at the boundary; nothing was written.
    CG_PANIC = 103,
}

impl cg_status {
    pub(crate) const ALL: [cg_status; 19] = [
        cg_status::CG_OK,
        cg_status::CG_MALFORMED_TOKEN,
        cg_status::CG_UNSUPPORTED_ALGORITHM,
        cg_status::CG_UNKNOWN_KEY,
        cg_status::CG_INVALID_SIGNATURE,
        cg_status::CG_INVALID_CLAIM,
        cg_status::CG_MISSING_CLAIM,
        cg_status::CG_TOKEN_EXPIRED,
        cg_status::CG_TOKEN_NOT_YET_VALID,
        cg_status::CG_INVALID_ISSUER,
        cg_status::CG_INVALID_AUDIENCE,
        cg_status::CG_INVALID_JWKS,
        cg_status::CG_JWKS_UNAVAILABLE,
        cg_status::CG_AUTHORIZATION_HEADER_MISSING,
        cg_status::CG_INVALID_HEADER,
        cg_status::CG_NULL_ARGUMENT,
        cg_status::CG_BUFFER_TOO_SMALL,
        cg_status::CG_INVALID_ARGUMENT,
        cg_status::CG_PANIC,
    ];

    pub(crate) fn from_int(value: c_int) -> Option<cg_status> {
        cg_status::ALL.into_iter().find(|s| *s as c_int == value)
    }

    /// The one place a core error becomes a status.
    fn from_kind(kind: ErrorKind) -> cg_status {
        match kind {
            ErrorKind::MalformedToken => cg_status::CG_MALFORMED_TOKEN,
            ErrorKind::UnsupportedAlgorithm => cg_status::CG_UNSUPPORTED_ALGORITHM,
            ErrorKind::UnknownKey => cg_status::CG_UNKNOWN_KEY,
            ErrorKind::InvalidSignature => cg_status::CG_INVALID_SIGNATURE,
            ErrorKind::InvalidClaim => cg_status::CG_INVALID_CLAIM,
            ErrorKind::MissingClaim => cg_status::CG_MISSING_CLAIM,
            ErrorKind::TokenExpired => cg_status::CG_TOKEN_EXPIRED,
            ErrorKind::TokenNotYetValid => cg_status::CG_TOKEN_NOT_YET_VALID,
            ErrorKind::InvalidIssuer => cg_status::CG_INVALID_ISSUER,
            ErrorKind::InvalidAudience => cg_status::CG_INVALID_AUDIENCE,
            ErrorKind::InvalidJwks => cg_status::CG_INVALID_JWKS,
            ErrorKind::JwksUnavailable => cg_status::CG_JWKS_UNAVAILABLE,
            // A kind added to the core after this crate: never reported as success.
            _ => cg_status::CG_MALFORMED_TOKEN,
        }
    }

    pub(crate) fn kind(self) -> Option<ErrorKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|k| cg_status::from_kind(*k) == self)
    }

    /// The NUL-terminated snake_case code.
    fn code_cstr(self) -> &'static [u8] {
        match self {
            cg_status::CG_OK => b"ok\0",
            cg_status::CG_MALFORMED_TOKEN => b"malformed_token\0",
            cg_status::CG_UNSUPPORTED_ALGORITHM => b"unsupported_algorithm\0",
            cg_status::CG_UNKNOWN_KEY => b"unknown_key\0",
            cg_status::CG_INVALID_SIGNATURE => b"invalid_signature\0",
            cg_status::CG_INVALID_CLAIM => b"invalid_claim\0",
            cg_status::CG_MISSING_CLAIM => b"missing_claim\0",
            cg_status::CG_TOKEN_EXPIRED => b"token_expired\0",
            cg_status::CG_TOKEN_NOT_YET_VALID => b"token_not_yet_valid\0",
            cg_status::CG_INVALID_ISSUER => b"invalid_issuer\0",
            cg_status::CG_INVALID_AUDIENCE => b"invalid_audience\0",
            cg_status::CG_INVALID_JWKS => b"invalid_jwks\0",
            cg_status::CG_JWKS_UNAVAILABLE => b"jwks_unavailable\0",
            cg_status::CG_AUTHORIZATION_HEADER_MISSING => b"authorization_header_missing\0",
            cg_status::CG_INVALID_HEADER => b"invalid_header\0",
            cg_status::CG_NULL_ARGUMENT => b"null_argument\0",
            cg_status::CG_BUFFER_TOO_SMALL => b"buffer_too_small\0",
            cg_status::CG_INVALID_ARGUMENT => b"invalid_argument\0",
            cg_status::CG_PANIC => b"panic\0",
        }
    }

    fn message(self) -> &'static str {
        match self {
            cg_status::CG_OK => "success",
            cg_status::CG_NULL_ARGUMENT => "a required pointer argument was NULL",
            cg_status::CG_BUFFER_TOO_SMALL => "the output buffer is too small",
            cg_status::CG_INVALID_ARGUMENT => "an argument or option is out of its range",
            cg_status::CG_PANIC => "internal error: a panic was caught at the C boundary",
            cg_status::CG_AUTHORIZATION_HEADER_MISSING => Rejection::MissingHeader.description(),
            cg_status::CG_INVALID_HEADER => Rejection::InvalidHeader.description(),
            other => other.kind().map_or("", ErrorKind::description),
        }
    }
}

/// A core error is the status of its kind, so `?` turns one into the other.
impl From<cryptr_guard_core::Error> for cg_status {
    fn from(error: cryptr_guard_core::Error) -> cg_status {
        cg_status::from_kind(error.kind())
    }
}

/// A host's refusal is the status of its SPEC §3 code.
impl From<&Rejection> for cg_status {
    fn from(rejection: &Rejection) -> cg_status {
        match rejection {
            Rejection::MissingHeader => cg_status::CG_AUTHORIZATION_HEADER_MISSING,
            Rejection::InvalidHeader => cg_status::CG_INVALID_HEADER,
            Rejection::Token(error) => cg_status::from_kind(error.kind()),
            Rejection::Unavailable { .. } => cg_status::CG_JWKS_UNAVAILABLE,
        }
    }
}

/// What `cg_status_code` answers for a value that is no `cg_status` (and the panic boundary for
/// any static string, which must not be NULL either).
pub(crate) const UNKNOWN_STATUS: &[u8] = b"unknown_status\0";

/// The longest message [`cg_status_message`] writes, NUL terminator included.
pub const CG_MESSAGE_MAX: usize = 128;

/// The SPEC §3 code of `status` as a static NUL-terminated string (`"invalid_signature"`); the
/// C-only values have their own codes (`"ok"`, `"null_argument"`, `"buffer_too_small"`,
/// `"invalid_argument"`, `"panic"`), and a value that is no `cg_status` gives `"unknown_status"`.
/// Never NULL; never freed by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn cg_status_code(status: c_int) -> *const c_char {
    boundary(|| {
        cg_status::from_int(status)
            .map_or(UNKNOWN_STATUS, cg_status::code_cstr)
            .as_ptr()
            .cast()
    })
}

/// Writes a human description of `status` (NUL-terminated, at most `CG_MESSAGE_MAX` bytes with
/// the NUL) into `buf` (`len` bytes) and its length without the NUL into `*out_n`. Descriptions
/// may change wording between versions; match on the status or its code, not on the text.
///
/// `CG_BUFFER_TOO_SMALL` when `len` is too small (nothing written: a buffer of `CG_MESSAGE_MAX`
/// bytes always suffices), `CG_INVALID_ARGUMENT` for a value that is no `cg_status`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_status_message(
    status: c_int,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> cg_status {
    boundary(|| {
        if buf.is_null() {
            return Err(cg_status::CG_NULL_ARGUMENT);
        }
        let out_n = Out::new(out_n)?;
        let status = cg_status::from_int(status).ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        let message = status.message().as_bytes();
        if message.len() >= len {
            return Err(cg_status::CG_BUFFER_TOO_SMALL);
        }
        // SAFETY: `buf` is non-NULL and the caller promises `len` writable bytes; we write
        // `message.len() + 1 <= len` of them.
        unsafe {
            std::ptr::copy_nonoverlapping(message.as_ptr(), buf.cast::<u8>(), message.len());
            *buf.add(message.len()) = 0;
        }
        out_n.write(message.len());
        Ok(())
    })
}

/// The library's version (`"MAJOR.MINOR.PATCH"`, the crate version), static and NUL-terminated:
/// compare it with `CG_VERSION` to detect a header/library mismatch.
#[unsafe(no_mangle)]
pub extern "C" fn cg_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    boundary(|| VERSION.as_ptr().cast())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_kind_has_its_own_status_and_the_spec_code() {
        for kind in ErrorKind::ALL {
            let status = cg_status::from_kind(kind);
            assert_ne!(status, cg_status::CG_OK);
            assert_eq!(status.kind(), Some(kind));
            let code = status.code_cstr();
            assert_eq!(&code[..code.len() - 1], kind.code().as_bytes());
        }
        for status in cg_status::ALL {
            assert_eq!(cg_status::from_int(status as c_int), Some(status));
            assert!(status.message().len() < CG_MESSAGE_MAX);
        }
        assert_eq!(cg_status::from_int(-1), None);
        for rejection in [Rejection::MissingHeader, Rejection::InvalidHeader] {
            let code = cg_status::from(&rejection).code_cstr();
            assert_eq!(&code[..code.len() - 1], rejection.code().as_bytes());
        }
        let unavailable = cg_status::from(&Rejection::unavailable(3));
        assert_eq!(unavailable, cg_status::CG_JWKS_UNAVAILABLE);
    }

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: cg_version returns a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(cg_version()) };
        assert_eq!(v.to_str().ok(), Some(env!("CARGO_PKG_VERSION")));
    }
}
