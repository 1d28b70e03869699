//! `cg_verified`: a verified token and its accessors.

use cryptr_guard_core::Verified;

use crate::boundary::{
    boundary, boundary_or, expose, expose_opt, free, give, handle, non_null, put, status_of,
};
use crate::cg_status;

/// A verified token: the header's `kid`, the registered claims and the decoded payload. Immutable:
/// may be read from several threads; freed once with `cg_verified_free`.
#[derive(Debug)]
pub struct cg_verified {
    pub(crate) verified: Verified,
}

pub(crate) fn finish(
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
