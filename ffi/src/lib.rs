//! The C ABI of cryptr-guard: a thin layer over `cryptr-guard-core`.
//!
//! Every decision is the core's; this crate only moves bytes across the boundary and maps each
//! core error 1:1 to a [`cg_status`]. The header `include/cryptr_guard.h` is generated from this
//! crate by a pinned cbindgen (see `ffi/regen-header.sh`) and committed.
//!
//! Conventions (as rustls-ffi): opaque handles with `_new`/`_free` pairs (`_free(NULL)` is a
//! no-op), buffers as `(const uint8_t *ptr, size_t len)` (a NULL `ptr` is accepted only with
//! `len == 0`), inputs first and outputs last, outputs written only when the call answers
//! `CG_OK`, and every exported body inside a panic boundary.
// Exported functions take raw pointers from C and check them for NULL themselves; they are
// `extern "C"` entry points, not Rust API, so marking each one `unsafe` would only move that
// check to the caller's side of the boundary, where C cannot see it.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![allow(non_camel_case_types)]

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int};
use std::sync::{Arc, Mutex, MutexGuard};

use cryptr_guard_core::cache::{CacheConfig, Decision, FetchTicket, KeySetCache, SetState};
use cryptr_guard_core::{
    ErrorKind, KeySet, KeySetOptions, Options, RequiredClaims, TokenCache, TokenKey, Validator,
    Verified, verify_raw,
};

mod boundary;
use boundary::{boundary, boundary_or};

// ---------------------------------------------------------------------------------------------
// Status

/// The answer of every fallible function: `CG_OK` (0), one value per SPEC §3 error code (1–12),
/// and the C-only values (100 and up).
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
    /// `jwks_unavailable`: no key set could be fetched and none is cached (key-set cache only).
    CG_JWKS_UNAVAILABLE = 12,
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
    const ALL: [cg_status; 17] = [
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
        cg_status::CG_NULL_ARGUMENT,
        cg_status::CG_BUFFER_TOO_SMALL,
        cg_status::CG_INVALID_ARGUMENT,
        cg_status::CG_PANIC,
    ];

    fn from_int(value: c_int) -> Option<cg_status> {
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

    fn kind(self) -> Option<ErrorKind> {
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
            other => other.kind().map_or("", ErrorKind::description),
        }
    }
}

/// The longest message [`cg_status_message`] writes, NUL terminator included.
pub const CG_MESSAGE_MAX: usize = 128;

/// The SPEC §3 code of `status` as a static NUL-terminated string (`"invalid_signature"`); the
/// C-only values have their own codes (`"ok"`, `"null_argument"`, `"buffer_too_small"`,
/// `"invalid_argument"`, `"panic"`), and a value that is no `cg_status` gives `"unknown_status"`.
/// Never NULL; never freed by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn cg_status_code(status: c_int) -> *const c_char {
    const UNKNOWN: &[u8] = b"unknown_status\0";
    boundary_or(UNKNOWN.as_ptr().cast(), || {
        cg_status::from_int(status)
            .map_or(UNKNOWN, cg_status::code_cstr)
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
        if buf.is_null() || out_n.is_null() {
            return cg_status::CG_NULL_ARGUMENT;
        }
        let Some(status) = cg_status::from_int(status) else {
            return cg_status::CG_INVALID_ARGUMENT;
        };
        let message = status.message().as_bytes();
        if message.len() >= len {
            return cg_status::CG_BUFFER_TOO_SMALL;
        }
        // SAFETY: `buf` is non-NULL and the caller promises `len` writable bytes; we write
        // `message.len() + 1 <= len` of them.
        unsafe {
            std::ptr::copy_nonoverlapping(message.as_ptr(), buf.cast::<u8>(), message.len());
            *buf.add(message.len()) = 0;
            *out_n = message.len();
        }
        cg_status::CG_OK
    })
}

/// The library's version (`"MAJOR.MINOR.PATCH"`, the crate version), static and NUL-terminated:
/// compare it with `CG_VERSION` to detect a header/library mismatch.
#[unsafe(no_mangle)]
pub extern "C" fn cg_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

// ---------------------------------------------------------------------------------------------
// Argument helpers

/// The bytes at `(ptr, len)`: `Err(CG_NULL_ARGUMENT)` for a NULL `ptr` with a non-zero `len`,
/// `Err(CG_INVALID_ARGUMENT)` for a length no object can have.
///
/// The caller of the exported function promises that a non-NULL `ptr` points to `len` readable
/// bytes that stay unchanged for the duration of the call.
fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], cg_status> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(cg_status::CG_NULL_ARGUMENT)
        };
    }
    if len > isize::MAX as usize {
        return Err(cg_status::CG_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, `len <= isize::MAX`, and the caller's contract above.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

fn text<'a>(ptr: *const u8, len: usize) -> Result<&'a str, cg_status> {
    let bytes: &'a [u8] = bytes(ptr, len)?;
    std::str::from_utf8(bytes).map_err(|_| cg_status::CG_INVALID_ARGUMENT)
}

/// A shared reference to the object behind a handle, or `CG_NULL_ARGUMENT`.
fn handle<'a, T>(ptr: *const T) -> Result<&'a T, cg_status> {
    // SAFETY: a non-NULL handle was produced by this library (`Box::into_raw`) and not freed:
    // the caller's contract for every handle argument.
    unsafe { ptr.as_ref() }.ok_or(cg_status::CG_NULL_ARGUMENT)
}

fn handle_mut<'a, T>(ptr: *mut T) -> Result<&'a mut T, cg_status> {
    // SAFETY: as `handle`, and the caller does not use the handle from another thread meanwhile
    // (the types passed here are documented as not shareable while being modified).
    unsafe { ptr.as_mut() }.ok_or(cg_status::CG_NULL_ARGUMENT)
}

/// Writes `value` through `out` (checked non-NULL by the caller of this helper).
fn put<T>(out: *mut T, value: T) {
    // SAFETY: `out` is non-NULL (checked before any work) and points to writable storage for a
    // `T`, per the caller's contract.
    unsafe { out.write(value) }
}

/// Hands a new object to C.
fn give<T>(out: *mut *mut T, value: T) {
    put(out, Box::into_raw(Box::new(value)));
}

/// Frees an object handed to C by [`give`]; NULL is a no-op.
fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: `ptr` came from `Box::into_raw` in `give` and is freed once (caller's contract).
        drop(unsafe { Box::from_raw(ptr) });
    }
}

fn non_null<T>(ptr: *const T) -> Result<(), cg_status> {
    if ptr.is_null() {
        Err(cg_status::CG_NULL_ARGUMENT)
    } else {
        Ok(())
    }
}

/// `(ptr, len)` for borrowed bytes that C reads: never a dangling pointer, even when empty.
fn expose(bytes: &[u8], ptr: *mut *const u8, len: *mut usize) {
    static EMPTY: [u8; 1] = [0];
    let p = if bytes.is_empty() {
        EMPTY.as_ptr()
    } else {
        bytes.as_ptr()
    };
    put(ptr, p);
    put(len, bytes.len());
}

/// Like [`expose`], for an optional string: `*ptr = NULL`, `*len = 0` when absent.
fn expose_opt(value: Option<&str>, ptr: *mut *const u8, len: *mut usize) {
    match value {
        Some(s) => expose(s.as_bytes(), ptr, len),
        None => {
            put(ptr, std::ptr::null());
            put(len, 0);
        }
    }
}

fn status_of(result: Result<(), cg_status>) -> cg_status {
    match result {
        Ok(()) => cg_status::CG_OK,
        Err(status) => status,
    }
}

// ---------------------------------------------------------------------------------------------
// Key sets

/// A parsed JWKS: the usable RS256 keys, in document order, and the reasons of the skipped ones.
///
/// Immutable once built: one `cg_keyset` may be used from any number of threads at once (it is
/// reference-counted inside; `cg_keyset_free` must be called exactly once per handle, after every
/// other use of that handle).
#[derive(Debug)]
pub struct cg_keyset {
    keys: Arc<KeySet>,
}

fn keyset_options(min_rsa_bits: u32, capacity: usize) -> Result<KeySetOptions, cg_status> {
    let mut options = KeySetOptions::default();
    if min_rsa_bits != 0 {
        options = options
            .with_min_rsa_bits(min_rsa_bits)
            .map_err(|_| cg_status::CG_INVALID_ARGUMENT)?;
    }
    if capacity != 0 {
        options = options
            .with_capacity(capacity)
            .map_err(|_| cg_status::CG_INVALID_ARGUMENT)?;
    }
    Ok(options)
}

/// Parses the JWKS document `(jwks, jwks_len)` with the default options (`min_rsa_bits` 2048, at
/// most 64 keys) into a new key set (`*out`, free it with `cg_keyset_free`).
///
/// `CG_INVALID_JWKS` when the document itself is unusable (SPEC §4); unusable keys inside a valid
/// document are skipped, never an error (see `cg_keyset_skipped_len`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_from_jwks(
    jwks: *const u8,
    jwks_len: usize,
    out: *mut *mut cg_keyset,
) -> cg_status {
    cg_keyset_from_jwks_with(jwks, jwks_len, 0, 0, out)
}

/// As `cg_keyset_from_jwks`, with the key-set options of SPEC §4: `min_rsa_bits` (1024 to 8192;
/// 0 for the default 2048) and `capacity`, the most elements `keys` may have (0 for the default
/// 64). Another value is `CG_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_from_jwks_with(
    jwks: *const u8,
    jwks_len: usize,
    min_rsa_bits: u32,
    capacity: usize,
    out: *mut *mut cg_keyset,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            non_null(out)?;
            let document = bytes(jwks, jwks_len)?;
            let options = keyset_options(min_rsa_bits, capacity)?;
            let keys = KeySet::from_jwks_with(document, &options)
                .map_err(|e| cg_status::from_kind(e.kind()))?;
            give(
                out,
                cg_keyset {
                    keys: Arc::new(keys),
                },
            );
            Ok(())
        })())
    })
}

/// Frees a key set; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_free(keys: *mut cg_keyset) {
    boundary_or((), || free(keys));
}

/// The number of usable keys (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_len(keys: *const cg_keyset) -> usize {
    boundary_or(0, || handle(keys).map_or(0, |k| k.keys.keys().len()))
}

/// The `kid` of usable key `index` (document order), borrowed from the key set (valid until
/// `cg_keyset_free`, not NUL-terminated): `*kid = NULL`, `*kid_len = 0` for a key without `kid`.
/// `CG_INVALID_ARGUMENT` when `index >= cg_keyset_len(keys)`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_kid(
    keys: *const cg_keyset,
    index: usize,
    kid: *mut *const u8,
    kid_len: *mut usize,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let keys = handle(keys)?;
            non_null(kid)?;
            non_null(kid_len)?;
            let key = keys
                .keys
                .keys()
                .get(index)
                .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
            expose_opt(key.kid(), kid, kid_len);
            Ok(())
        })())
    })
}

/// The number of elements of `keys` that were skipped as unusable (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_skipped_len(keys: *const cg_keyset) -> usize {
    boundary_or(0, || handle(keys).map_or(0, |k| k.keys.skipped().len()))
}

/// Skipped key `index` (in document order): its position in the document's `keys` array
/// (`*position`) and why it is unusable (`*reason`, a static NUL-terminated description such as
/// `"use is not sig"`). `CG_INVALID_ARGUMENT` when `index >= cg_keyset_skipped_len(keys)`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_skipped(
    keys: *const cg_keyset,
    index: usize,
    position: *mut usize,
    reason: *mut *const c_char,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let keys = handle(keys)?;
            non_null(position)?;
            non_null(reason)?;
            let skipped = keys
                .keys
                .skipped()
                .get(index)
                .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
            put(position, skipped.index);
            put(reason, skip_reason_cstr(skipped.reason).as_ptr().cast());
            Ok(())
        })())
    })
}

/// The `kid` of skipped key `index`, when it had a string one (borrowed as `cg_keyset_kid`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_skipped_kid(
    keys: *const cg_keyset,
    index: usize,
    kid: *mut *const u8,
    kid_len: *mut usize,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let keys = handle(keys)?;
            non_null(kid)?;
            non_null(kid_len)?;
            let skipped = keys
                .keys
                .skipped()
                .get(index)
                .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
            expose_opt(skipped.kid.as_deref(), kid, kid_len);
            Ok(())
        })())
    })
}

fn skip_reason_cstr(reason: cryptr_guard_core::SkipReason) -> &'static [u8] {
    use cryptr_guard_core::SkipReason as R;
    match reason {
        R::NotRsa => b"kty is not RSA\0",
        R::PrivateKey => b"the key carries private key material\0",
        R::BadModulusEncoding => b"n is missing or not base64\0",
        R::BadExponentEncoding => b"e is missing or not base64\0",
        R::ModulusSize => b"the modulus size is out of the accepted range\0",
        R::BadExponent => b"e is not an odd integer in [3, 2^32)\0",
        R::NotForSignatures => b"use is not sig\0",
        R::OtherAlgorithm => b"alg is not RS256\0",
        R::NotForVerify => b"key_ops does not allow verify\0",
        R::BadKid => b"kid is not a string of at most 256 bytes\0",
        _ => b"the key is not usable for RS256\0",
    }
}

// ---------------------------------------------------------------------------------------------
// Options and validators

/// The claim bits of `cg_options_set_required_claims`.
pub const CG_CLAIM_EXP: u32 = 1 << 0;
/// `nbf`
pub const CG_CLAIM_NBF: u32 = 1 << 1;
/// `iat`
pub const CG_CLAIM_IAT: u32 = 1 << 2;
/// `iss`
pub const CG_CLAIM_ISS: u32 = 1 << 3;
/// `sub`
pub const CG_CLAIM_SUB: u32 = 1 << 4;
/// `aud`
pub const CG_CLAIM_AUD: u32 = 1 << 5;
/// `jti`
pub const CG_CLAIM_JTI: u32 = 1 << 6;
/// The default required claims (SPEC §1): `exp`, `iss`, `aud`.
pub const CG_CLAIMS_DEFAULT: u32 = CG_CLAIM_EXP | CG_CLAIM_ISS | CG_CLAIM_AUD;
/// The default `max_token_len` (SPEC §1), in bytes.
pub const CG_DEFAULT_MAX_TOKEN_LEN: usize = 8192;

// The header needs a literal; this keeps it equal to the core's default.
const _: () =
    assert!(CG_DEFAULT_MAX_TOKEN_LEN == cryptr_guard_core::validator::DEFAULT_MAX_TOKEN_LEN);

const CLAIM_BITS: [(u32, &str); 7] = [
    (CG_CLAIM_EXP, "exp"),
    (CG_CLAIM_NBF, "nbf"),
    (CG_CLAIM_IAT, "iat"),
    (CG_CLAIM_ISS, "iss"),
    (CG_CLAIM_SUB, "sub"),
    (CG_CLAIM_AUD, "aud"),
    (CG_CLAIM_JTI, "jti"),
];

/// Validation options under construction (SPEC §1). A plain builder: not for use from two
/// threads at once. Turn it into a `cg_validator` with `cg_validator_new`.
#[derive(Debug)]
pub struct cg_options {
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: u64,
    required: RequiredClaims,
    max_token_len: usize,
    typ: Option<String>,
}

/// New options with the SPEC §1 defaults: no issuer and no audience yet (add at least one of
/// each), leeway 0, required claims `CG_CLAIMS_DEFAULT`, `max_token_len` 8192, `typ` not checked.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_new(out: *mut *mut cg_options) -> cg_status {
    boundary(|| {
        status_of((|| {
            non_null(out)?;
            give(
                out,
                cg_options {
                    issuers: Vec::new(),
                    audiences: Vec::new(),
                    leeway: 0,
                    required: RequiredClaims::default(),
                    max_token_len: CG_DEFAULT_MAX_TOKEN_LEN,
                    typ: None,
                },
            );
            Ok(())
        })())
    })
}

/// Frees options; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_free(options: *mut cg_options) {
    boundary_or((), || free(options));
}

/// Adds an accepted issuer (UTF-8, compared exactly with the unescaped `iss`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_add_issuer(
    options: *mut cg_options,
    issuer: *const u8,
    issuer_len: usize,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let options = handle_mut(options)?;
            let issuer = text(issuer, issuer_len)?;
            options.issuers.push(issuer.to_owned());
            Ok(())
        })())
    })
}

/// Adds an accepted audience (UTF-8, compared exactly).
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_add_audience(
    options: *mut cg_options,
    audience: *const u8,
    audience_len: usize,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let options = handle_mut(options)?;
            let audience = text(audience, audience_len)?;
            options.audiences.push(audience.to_owned());
            Ok(())
        })())
    })
}

/// Sets the clock skew allowed on `exp`, `nbf` and `iat`, in whole seconds.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_leeway(options: *mut cg_options, seconds: u64) -> cg_status {
    boundary(|| {
        status_of((|| {
            handle_mut(options)?.leeway = seconds;
            Ok(())
        })())
    })
}

/// Sets the claims that must be present: a bitwise OR of `CG_CLAIM_*` (0 for none). An unknown
/// bit is `CG_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_required_claims(
    options: *mut cg_options,
    claims: u32,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let options = handle_mut(options)?;
            let known = CLAIM_BITS.iter().fold(0, |all, (bit, _)| all | bit);
            if claims & !known != 0 {
                return Err(cg_status::CG_INVALID_ARGUMENT);
            }
            let names = CLAIM_BITS
                .iter()
                .filter(|(bit, _)| claims & bit != 0)
                .map(|(_, name)| *name);
            options.required =
                RequiredClaims::from_names(names).map_err(|_| cg_status::CG_INVALID_ARGUMENT)?;
            Ok(())
        })())
    })
}

/// Sets the longest token accepted, in bytes (longer is `CG_MALFORMED_TOKEN`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_max_token_len(options: *mut cg_options, len: usize) -> cg_status {
    boundary(|| {
        status_of((|| {
            handle_mut(options)?.max_token_len = len;
            Ok(())
        })())
    })
}

/// Requires the header `typ` to be `(typ, typ_len)` (UTF-8; compared ASCII-case-insensitively,
/// an `application/` prefix ignored). A NULL `typ` (with `typ_len` 0) stops checking it.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_typ(
    options: *mut cg_options,
    typ: *const u8,
    typ_len: usize,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let options = handle_mut(options)?;
            options.typ = if typ.is_null() && typ_len == 0 {
                None
            } else {
                Some(text(typ, typ_len)?.to_owned())
            };
            Ok(())
        })())
    })
}

/// A validator: fixed options, no state that changes. Shareable: one `cg_validator` may be used
/// from any number of threads at once.
#[derive(Debug)]
pub struct cg_validator {
    validator: Validator,
}

/// Builds a validator from `options` (copied: the options may be freed or changed afterwards).
/// `CG_INVALID_ARGUMENT` without an issuer or an audience.
#[unsafe(no_mangle)]
pub extern "C" fn cg_validator_new(
    options: *const cg_options,
    out: *mut *mut cg_validator,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let o = handle(options)?;
            non_null(out)?;
            let options = Options::new("", "")
                .issuers(o.issuers.iter().cloned())
                .audiences(o.audiences.iter().cloned())
                .leeway(o.leeway)
                .required_claims(o.required)
                .max_token_len(o.max_token_len)
                .typ(o.typ.clone());
            let validator = Validator::new(options).map_err(|_| cg_status::CG_INVALID_ARGUMENT)?;
            give(out, cg_validator { validator });
            Ok(())
        })())
    })
}

/// Frees a validator; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_validator_free(validator: *mut cg_validator) {
    boundary_or((), || free(validator));
}

/// A verified token: the header's `kid`, the registered claims and the decoded payload. Immutable:
/// may be read from several threads; freed once with `cg_verified_free`.
#[derive(Debug)]
pub struct cg_verified {
    verified: Verified,
}

fn finish(
    result: Result<Verified, cryptr_guard_core::Error>,
    out: *mut *mut cg_verified,
) -> cg_status {
    match result {
        Ok(verified) => {
            give(out, cg_verified { verified });
            cg_status::CG_OK
        }
        Err(e) => cg_status::from_kind(e.kind()),
    }
}

/// Validates the token `(token, token_len)` (the bytes after `Bearer `) against `keys` at `now`
/// (seconds since the Unix epoch; the library reads no clock): SPEC §2, steps 1 to 15. On
/// `CG_OK`, `*out` receives a new `cg_verified` (free it with `cg_verified_free`); otherwise the
/// status is the SPEC §3 code of the first failed step and `*out` is untouched.
#[unsafe(no_mangle)]
pub extern "C" fn cg_validator_validate(
    validator: *const cg_validator,
    keys: *const cg_keyset,
    token: *const u8,
    token_len: usize,
    now: u64,
    out: *mut *mut cg_verified,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let validator = handle(validator)?;
            let keys = handle(keys)?;
            non_null(out)?;
            let token = bytes(token, token_len)?;
            match finish(validator.validator.validate(token, &keys.keys, now), out) {
                cg_status::CG_OK => Ok(()),
                status => Err(status),
            }
        })())
    })
}

/// Frees a verified token; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_free(verified: *mut cg_verified) {
    boundary_or((), || free(verified));
}

/// The header's `kid` (borrowed until `cg_verified_free`, not NUL-terminated); `*kid = NULL`,
/// `*kid_len = 0` when the header has none.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_kid(
    verified: *const cg_verified,
    kid: *mut *const u8,
    kid_len: *mut usize,
) -> cg_status {
    string_claim(verified, kid, kid_len, |v| v.kid())
}

/// The decoded payload: a strict JSON object, UTF-8 (borrowed until `cg_verified_free`, not
/// NUL-terminated), to hand every claim to the application.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_payload(
    verified: *const cg_verified,
    payload: *mut *const u8,
    payload_len: *mut usize,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let verified = handle(verified)?;
            non_null(payload)?;
            non_null(payload_len)?;
            expose(verified.verified.payload(), payload, payload_len);
            Ok(())
        })())
    })
}

fn string_claim(
    verified: *const cg_verified,
    ptr: *mut *const u8,
    len: *mut usize,
    get: impl FnOnce(&Verified) -> Option<&str>,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let verified = handle(verified)?;
            non_null(ptr)?;
            non_null(len)?;
            expose_opt(get(&verified.verified), ptr, len);
            Ok(())
        })())
    })
}

/// The unescaped `iss` (borrowed; `*iss = NULL` when absent).
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_iss(
    verified: *const cg_verified,
    iss: *mut *const u8,
    iss_len: *mut usize,
) -> cg_status {
    string_claim(verified, iss, iss_len, |v| v.claims().iss.as_deref())
}

/// The unescaped `sub` (borrowed; `*sub = NULL` when absent).
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_sub(
    verified: *const cg_verified,
    sub: *mut *const u8,
    sub_len: *mut usize,
) -> cg_status {
    string_claim(verified, sub, sub_len, |v| v.claims().sub.as_deref())
}

/// The unescaped `jti` (borrowed; `*jti = NULL` when absent).
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_jti(
    verified: *const cg_verified,
    jti: *mut *const u8,
    jti_len: *mut usize,
) -> cg_status {
    string_claim(verified, jti, jti_len, |v| v.claims().jti.as_deref())
}

/// The number of `aud` values: 1 for a string, the array's length for an array, 0 when absent
/// (or for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_aud_len(verified: *const cg_verified) -> usize {
    boundary_or(0, || {
        handle(verified).map_or(0, |v| {
            v.verified
                .claims()
                .aud
                .as_ref()
                .map_or(0, |a| a.iter().count())
        })
    })
}

/// `aud` value `index` (borrowed). `CG_INVALID_ARGUMENT` when `index >= cg_verified_aud_len`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_aud(
    verified: *const cg_verified,
    index: usize,
    aud: *mut *const u8,
    aud_len: *mut usize,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let verified = handle(verified)?;
            non_null(aud)?;
            non_null(aud_len)?;
            let value = verified
                .verified
                .claims()
                .aud
                .as_ref()
                .and_then(|a| a.iter().nth(index))
                .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
            expose(value.as_bytes(), aud, aud_len);
            Ok(())
        })())
    })
}

fn time_claim(
    verified: *const cg_verified,
    value: *mut i64,
    present: *mut bool,
    get: impl FnOnce(&Verified) -> Option<i64>,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let verified = handle(verified)?;
            non_null(value)?;
            non_null(present)?;
            let claim = get(&verified.verified);
            put(value, claim.unwrap_or(0));
            put(present, claim.is_some());
            Ok(())
        })())
    })
}

/// `exp` as whole seconds (a fractional value rounded up, clamped to the int64 range);
/// `*present = false` and `*value = 0` when absent.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_exp(
    verified: *const cg_verified,
    value: *mut i64,
    present: *mut bool,
) -> cg_status {
    time_claim(verified, value, present, |v| v.claims().exp)
}

/// `nbf`, as `cg_verified_exp`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_nbf(
    verified: *const cg_verified,
    value: *mut i64,
    present: *mut bool,
) -> cg_status {
    time_claim(verified, value, present, |v| v.claims().nbf)
}

/// `iat`, as `cg_verified_exp`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_iat(
    verified: *const cg_verified,
    value: *mut i64,
    present: *mut bool,
) -> cg_status {
    time_claim(verified, value, present, |v| v.claims().iat)
}

// ---------------------------------------------------------------------------------------------
// Raw RS256

/// SPEC §2 step 8 alone: whether `(sig, sig_len)` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature
/// of `(msg, msg_len)` under the RSA key with base64 `n` and `e` as a JWK publishes them (no
/// key-usability rule applied). `CG_OK` when it verifies, `CG_INVALID_SIGNATURE` when it does not
/// (whatever the reason, an unusable key included).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn cg_verify_rs256_raw(
    n: *const u8,
    n_len: usize,
    e: *const u8,
    e_len: usize,
    msg: *const u8,
    msg_len: usize,
    sig: *const u8,
    sig_len: usize,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let (n, e) = (bytes(n, n_len)?, bytes(e, e_len)?);
            let (msg, sig) = (bytes(msg, msg_len)?, bytes(sig, sig_len)?);
            if verify_raw(n, e, msg, sig) {
                Ok(())
            } else {
                Err(cg_status::CG_INVALID_SIGNATURE)
            }
        })())
    })
}

// ---------------------------------------------------------------------------------------------
// Verified-token cache

/// A bounded cache of verified tokens (SPEC §4): a hit skips the signature, never the clock.
/// Internally locked: one `cg_token_cache` may be shared by every thread (the signature of a miss
/// is verified outside the lock).
#[derive(Debug)]
pub struct cg_token_cache {
    cache: Mutex<TokenCache>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held was caught at the boundary; the policy's state is still
    // consistent (every method leaves it so), so carry on rather than fail forever.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A new verified-token cache of at most `capacity` entries (0 disables caching; SPEC default
/// 10000). Free it with `cg_token_cache_free`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_token_cache_new(capacity: usize, out: *mut *mut cg_token_cache) -> cg_status {
    boundary(|| {
        status_of((|| {
            non_null(out)?;
            give(
                out,
                cg_token_cache {
                    cache: Mutex::new(TokenCache::new(capacity)),
                },
            );
            Ok(())
        })())
    })
}

/// Frees a verified-token cache; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_token_cache_free(cache: *mut cg_token_cache) {
    boundary_or((), || free(cache));
}

/// The cache's counters: lookups answered from it, lookups that missed, entries evicted.
#[unsafe(no_mangle)]
pub extern "C" fn cg_token_cache_stats(
    cache: *const cg_token_cache,
    hits: *mut u64,
    misses: *mut u64,
    evictions: *mut u64,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let cache = handle(cache)?;
            non_null(hits)?;
            non_null(misses)?;
            non_null(evictions)?;
            let stats = lock(&cache.cache).stats();
            put(hits, stats.hits);
            put(misses, stats.misses);
            put(evictions, stats.evictions);
            Ok(())
        })())
    })
}

/// As `cg_validator_validate`, through a verified-token cache: the same answers, the signature
/// skipped for a token this validator already verified with this key set (the clock is always
/// checked again).
#[unsafe(no_mangle)]
pub extern "C" fn cg_validator_validate_cached(
    validator: *const cg_validator,
    cache: *const cg_token_cache,
    keys: *const cg_keyset,
    token: *const u8,
    token_len: usize,
    now: u64,
    out: *mut *mut cg_verified,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let validator = &handle(validator)?.validator;
            let cache = handle(cache)?;
            let keys = handle(keys)?;
            non_null(out)?;
            let token = bytes(token, token_len)?;
            let key = TokenKey::new(validator, &keys.keys, token);
            let cached = lock(&cache.cache).get(&key, validator, now);
            let result = match cached {
                Some(answer) => answer,
                None => {
                    let result = validator.validate(token, &keys.keys, now);
                    if let Ok(verified) = &result {
                        lock(&cache.cache).insert(&key, verified);
                    }
                    result
                }
            };
            match finish(result, out) {
                cg_status::CG_OK => Ok(()),
                status => Err(status),
            }
        })())
    })
}

// ---------------------------------------------------------------------------------------------
// Key-set cache policy

/// What to do with a request, as `cg_keyset_cache_poll` decides (SPEC §4 cache policy).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cg_decision {
    /// Validate against the current set (`cg_keyset_cache_validate`); nothing to fetch.
    CG_DECISION_USE_CURRENT = 0,
    /// Validate against the current (stale) set, and refetch in the background with the ticket.
    CG_DECISION_REFRESH = 1,
    /// No set is usable: fetch now with the ticket, report it, then validate.
    CG_DECISION_FETCH = 2,
    /// No set is usable and another caller's fetch is in flight: wait for it and poll again, or
    /// answer `jwks_unavailable`.
    CG_DECISION_WAIT = 3,
    /// No set is usable and no fetch may start now (backoff): answer `jwks_unavailable` (HTTP 503)
    /// with `Retry-After: cg_keyset_cache_retry_after()`.
    CG_DECISION_UNAVAILABLE = 4,
}

/// The state of the cached key set at some instant.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cg_set_state {
    /// No set was ever installed.
    CG_SET_MISSING = 0,
    /// Within its freshness.
    CG_SET_FRESH = 1,
    /// Past its freshness, within the 24 h grace: usable, refreshing.
    CG_SET_STALE = 2,
    /// Past its grace: not usable.
    CG_SET_EXPIRED = 3,
}

/// How many unreported tickets a cache remembers (a late report of an older one changes nothing).
const REMEMBERED_TICKETS: usize = 64;

#[derive(Debug)]
struct Policy {
    cache: KeySetCache<KeySet>,
    options: KeySetOptions,
    /// Tickets issued and not yet reported, by id (C holds only the id).
    tickets: BTreeMap<u64, FetchTicket>,
}

impl Policy {
    fn issue(&mut self, ticket: Option<FetchTicket>) -> u64 {
        let Some(ticket) = ticket else { return 0 };
        self.tickets.insert(ticket.id(), ticket);
        while self.tickets.len() > REMEMBERED_TICKETS {
            self.tickets.pop_first();
        }
        ticket.id()
    }
}

/// The key-set cache policy of one issuer (SPEC §4), sans I/O: it decides when to fetch the JWKS
/// and which set to validate against; the application fetches with its own HTTP client (libcurl,
/// say) and reports the outcome.
///
/// Internally locked (a mutex around the policy): one `cg_keyset_cache` may be shared by every
/// thread of a service without external locking. Tokens are verified outside the lock.
///
/// A request's flow:
/// 1. `cg_keyset_cache_poll(cache, now, &decision, &ticket)`; on `CG_DECISION_FETCH` (or, in the
///    background, `CG_DECISION_REFRESH`) fetch the JWKS and report it with
///    `cg_keyset_cache_fetch_succeeded` (body and `Cache-Control`) or `cg_keyset_cache_fetch_failed`;
///    on `CG_DECISION_WAIT` / `CG_DECISION_UNAVAILABLE` answer 503 `jwks_unavailable`.
/// 2. `cg_keyset_cache_validate(cache, validator, token, len, now, &verified)`.
/// 3. On `CG_UNKNOWN_KEY`: `cg_keyset_cache_unknown_key(cache, now, &ticket)`; when `ticket != 0`,
///    fetch and report with that ticket, then validate the token once more (once only).
#[derive(Debug)]
pub struct cg_keyset_cache {
    policy: Mutex<Policy>,
}

/// A new, empty key-set cache with the SPEC §4 timings (freshness from `Cache-Control: max-age`
/// clamped to [60 s, 24 h], else 10 min; unknown-key refetch at most once per 30 s; 24 h grace on
/// failure; backoff 1 s doubling up to 5 min; a fetch not reported within 30 s is abandoned).
/// Fetched bodies are parsed with the key-set options `min_rsa_bits` and `capacity` (0 for the
/// defaults, as `cg_keyset_from_jwks_with`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_new(
    min_rsa_bits: u32,
    capacity: usize,
    out: *mut *mut cg_keyset_cache,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            non_null(out)?;
            let options = keyset_options(min_rsa_bits, capacity)?;
            give(
                out,
                cg_keyset_cache {
                    policy: Mutex::new(Policy {
                        cache: KeySetCache::new(CacheConfig::default()),
                        options,
                        tickets: BTreeMap::new(),
                    }),
                },
            );
            Ok(())
        })())
    })
}

/// Frees a key-set cache; NULL is a no-op. Key sets obtained from it stay valid.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_free(cache: *mut cg_keyset_cache) {
    boundary_or((), || free(cache));
}

/// What to do with a request at `now`: `*decision`, and `*ticket`, the non-zero id of the fetch to
/// run for `CG_DECISION_FETCH` / `CG_DECISION_REFRESH` (0 otherwise). A ticket marks a fetch in
/// flight: always report it (`cg_keyset_cache_fetch_succeeded` / `_failed`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_poll(
    cache: *const cg_keyset_cache,
    now: u64,
    decision: *mut cg_decision,
    ticket: *mut u64,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let cache = handle(cache)?;
            non_null(decision)?;
            non_null(ticket)?;
            let mut policy = lock(&cache.policy);
            let answer = policy.cache.poll(now);
            let id = policy.issue(answer.ticket());
            put(
                decision,
                match answer {
                    Decision::UseCurrent => cg_decision::CG_DECISION_USE_CURRENT,
                    Decision::Refresh(_) => cg_decision::CG_DECISION_REFRESH,
                    Decision::Fetch(_) => cg_decision::CG_DECISION_FETCH,
                    Decision::Wait => cg_decision::CG_DECISION_WAIT,
                    _ => cg_decision::CG_DECISION_UNAVAILABLE,
                },
            );
            put(ticket, id);
            Ok(())
        })())
    })
}

/// Reports a fetch that got an HTTP 200 response: its body `(body, body_len)` and its
/// `Cache-Control` header value `(cache_control, cache_control_len)` (NULL with length 0 when
/// the response had none). The body is parsed here: `CG_INVALID_JWKS` when it is not a valid JWKS
/// (the fetch then counts as failed, SPEC §4). On `CG_OK`, `*installed` tells whether the set
/// became the current one (false for a late report that lost to a newer set, a ticket reported
/// twice, or an id this cache never issued).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_fetch_succeeded(
    cache: *const cg_keyset_cache,
    ticket: u64,
    now: u64,
    body: *const u8,
    body_len: usize,
    cache_control: *const u8,
    cache_control_len: usize,
    installed: *mut bool,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let cache = handle(cache)?;
            non_null(installed)?;
            let body = bytes(body, body_len)?;
            let cache_control = if cache_control.is_null() && cache_control_len == 0 {
                None
            } else {
                Some(String::from_utf8_lossy(bytes(
                    cache_control,
                    cache_control_len,
                )?))
            };
            let options = lock(&cache.policy).options;
            // Parse outside the lock: a large JWKS must not stall other requests.
            let parsed = KeySet::from_jwks_with(body, &options);
            let mut policy = lock(&cache.policy);
            let Some(t) = policy.tickets.remove(&ticket) else {
                return match parsed {
                    Ok(_) => {
                        put(installed, false);
                        Ok(())
                    }
                    Err(e) => Err(cg_status::from_kind(e.kind())),
                };
            };
            match parsed {
                Ok(set) => {
                    let done = policy
                        .cache
                        .fetch_succeeded(t, now, set, cache_control.as_deref());
                    put(installed, done);
                    Ok(())
                }
                Err(e) => {
                    let _counted = policy.cache.fetch_failed(t, now);
                    Err(cg_status::from_kind(e.kind()))
                }
            }
        })())
    })
}

/// Reports a failed fetch (network error, timeout, non-200 status). On `CG_OK`, `*counted` tells
/// whether it counted as a failure (only the fetch in flight does; see the SPEC §4 backoff).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_fetch_failed(
    cache: *const cg_keyset_cache,
    ticket: u64,
    now: u64,
    counted: *mut bool,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let cache = handle(cache)?;
            non_null(counted)?;
            let mut policy = lock(&cache.policy);
            let done = match policy.tickets.remove(&ticket) {
                Some(t) => policy.cache.fetch_failed(t, now),
                None => false,
            };
            put(counted, done);
            Ok(())
        })())
    })
}

/// After `CG_UNKNOWN_KEY` from `cg_keyset_cache_validate`: whether to refetch now. `*ticket`
/// receives the ticket of the refetch to run (then validate the token once more against the new
/// set), or 0 when no refetch may start (cooldown of 30 s, a fetch in flight, backoff): the token
/// then fails with `unknown_key`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_unknown_key(
    cache: *const cg_keyset_cache,
    now: u64,
    ticket: *mut u64,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let cache = handle(cache)?;
            non_null(ticket)?;
            let mut policy = lock(&cache.policy);
            let answer = policy.cache.unknown_key(now);
            let id = policy.issue(answer);
            put(ticket, id);
            Ok(())
        })())
    })
}

/// The key set to validate against at `now` (a new handle sharing the set: free it with
/// `cg_keyset_free`); `CG_JWKS_UNAVAILABLE` when no set is usable.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_current(
    cache: *const cg_keyset_cache,
    now: u64,
    out: *mut *mut cg_keyset,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let cache = handle(cache)?;
            non_null(out)?;
            let keys = current(cache, now)?;
            give(out, cg_keyset { keys });
            Ok(())
        })())
    })
}

fn current(cache: &cg_keyset_cache, now: u64) -> Result<Arc<KeySet>, cg_status> {
    lock(&cache.policy)
        .cache
        .current(now)
        .cloned()
        .ok_or(cg_status::CG_JWKS_UNAVAILABLE)
}

/// Validates a token against the cache's current set at `now` (as `cg_validator_validate`;
/// `CG_JWKS_UNAVAILABLE` when no set is usable). The set is taken under the lock, the token
/// verified outside it.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_validate(
    cache: *const cg_keyset_cache,
    validator: *const cg_validator,
    token: *const u8,
    token_len: usize,
    now: u64,
    out: *mut *mut cg_verified,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let cache = handle(cache)?;
            let validator = handle(validator)?;
            non_null(out)?;
            let token = bytes(token, token_len)?;
            let keys = current(cache, now)?;
            match finish(validator.validator.validate(token, &keys, now), out) {
                cg_status::CG_OK => Ok(()),
                status => Err(status),
            }
        })())
    })
}

/// The `Retry-After` value in seconds (at least 1) for a `jwks_unavailable` answer at `now`
/// (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_retry_after(cache: *const cg_keyset_cache, now: u64) -> u64 {
    boundary_or(0, || {
        handle(cache).map_or(0, |c| lock(&c.policy).cache.retry_after(now))
    })
}

/// The generation of the installed set: 0 before the first, then +1 per installed set (0 for
/// NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_generation(cache: *const cg_keyset_cache) -> u64 {
    boundary_or(0, || {
        handle(cache).map_or(0, |c| lock(&c.policy).cache.generation())
    })
}

/// The state of the installed set at `now`, and the instant its freshness ends (`*fresh_until`,
/// 0 when no set was ever installed).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_cache_state(
    cache: *const cg_keyset_cache,
    now: u64,
    state: *mut cg_set_state,
    fresh_until: *mut u64,
) -> cg_status {
    boundary(|| {
        status_of((|| {
            let cache = handle(cache)?;
            non_null(state)?;
            non_null(fresh_until)?;
            let policy = lock(&cache.policy);
            let s = match policy.cache.set_state(now) {
                SetState::Missing => cg_set_state::CG_SET_MISSING,
                SetState::Fresh => cg_set_state::CG_SET_FRESH,
                SetState::Stale => cg_set_state::CG_SET_STALE,
                _ => cg_set_state::CG_SET_EXPIRED,
            };
            put(state, s);
            put(fresh_until, policy.cache.fresh_until().unwrap_or(0));
            Ok(())
        })())
    })
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
    }

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: cg_version returns a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(cg_version()) };
        assert_eq!(v.to_str().ok(), Some(env!("CARGO_PKG_VERSION")));
    }
}
