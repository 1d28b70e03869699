//! `cg_verified`: a verified token and its accessors.

use cryptr_guard_core::Verified;

use crate::boundary::{Out, boundary, expose, expose_opt, free, handle};
use crate::cg_status;

/// A verified token: the header's `kid`, the registered claims, the decoded payload and the SPEC §7
/// derived values (issuer, client id, tenant, scopes). Immutable: may be read from several
/// threads; freed once with `cg_verified_free`.
#[derive(Debug)]
pub struct cg_verified {
    pub(crate) verified: Verified,
}

/// Hands a validation's outcome to C: a new `cg_verified` through `out` when the token is valid,
/// the status of the core's error otherwise (`out` untouched). Every validating function (the
/// validator, the caches) ends with it, so they all answer alike.
pub(crate) fn hand_out(
    result: Result<Verified, cryptr_guard_core::Error>,
    out: Out<*mut cg_verified>,
) -> Result<(), cg_status> {
    out.give(cg_verified { verified: result? });
    Ok(())
}

/// Frees a verified token; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_free(verified: *mut cg_verified) {
    boundary(|| free(verified))
}

/// The header's `kid` (borrowed until `cg_verified_free`, not NUL-terminated); `*kid = NULL`,
/// `*kid_len = 0` when the header has none.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_kid(
    verified: *const cg_verified,
    kid: *mut *const u8,
    kid_len: *mut usize,
) -> cg_status {
    boundary(|| string_claim(verified, kid, kid_len, |v| v.kid()))
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
        let verified = handle(verified)?;
        let payload = Out::new(payload)?;
        let payload_len = Out::new(payload_len)?;
        expose(verified.verified.payload(), payload, payload_len);
        Ok(())
    })
}

/// The body of the accessors of an optional string (`kid`, `iss`, `sub`, `jti`).
fn string_claim(
    verified: *const cg_verified,
    ptr: *mut *const u8,
    len: *mut usize,
    get: impl FnOnce(&Verified) -> Option<&str>,
) -> Result<(), cg_status> {
    let verified = handle(verified)?;
    let ptr = Out::new(ptr)?;
    let len = Out::new(len)?;
    expose_opt(get(&verified.verified), ptr, len);
    Ok(())
}

/// The unescaped `iss` (borrowed; `*iss = NULL` when absent).
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_iss(
    verified: *const cg_verified,
    iss: *mut *const u8,
    iss_len: *mut usize,
) -> cg_status {
    boundary(|| string_claim(verified, iss, iss_len, |v| v.claims().iss.as_deref()))
}

/// The unescaped `sub` (borrowed; `*sub = NULL` when absent).
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_sub(
    verified: *const cg_verified,
    sub: *mut *const u8,
    sub_len: *mut usize,
) -> cg_status {
    boundary(|| string_claim(verified, sub, sub_len, |v| v.claims().sub.as_deref()))
}

/// The unescaped `jti` (borrowed; `*jti = NULL` when absent).
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_jti(
    verified: *const cg_verified,
    jti: *mut *const u8,
    jti_len: *mut usize,
) -> cg_status {
    boundary(|| string_claim(verified, jti, jti_len, |v| v.claims().jti.as_deref()))
}

/// The number of `aud` values: 1 for a string, the array's length for an array, 0 when absent
/// (or for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_aud_len(verified: *const cg_verified) -> usize {
    boundary(|| {
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
        let verified = handle(verified)?;
        let aud = Out::new(aud)?;
        let aud_len = Out::new(aud_len)?;
        let value = verified
            .verified
            .claims()
            .aud
            .as_ref()
            .and_then(|a| a.iter().nth(index))
            .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        expose(value.as_bytes(), aud, aud_len);
        Ok(())
    })
}

/// The body of the accessors of an optional NumericDate (`exp`, `nbf`, `iat`).
fn time_claim(
    verified: *const cg_verified,
    value: *mut i64,
    present: *mut bool,
    get: impl FnOnce(&Verified) -> Option<i64>,
) -> Result<(), cg_status> {
    let verified = handle(verified)?;
    let value = Out::new(value)?;
    let present = Out::new(present)?;
    let claim = get(&verified.verified);
    value.write(claim.unwrap_or(0));
    present.write(claim.is_some());
    Ok(())
}

/// `exp` as whole seconds (a fractional value rounded up, clamped to the int64 range);
/// `*present = false` and `*value = 0` when absent.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_exp(
    verified: *const cg_verified,
    value: *mut i64,
    present: *mut bool,
) -> cg_status {
    boundary(|| time_claim(verified, value, present, |v| v.claims().exp))
}

/// `nbf`, as `cg_verified_exp`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_nbf(
    verified: *const cg_verified,
    value: *mut i64,
    present: *mut bool,
) -> cg_status {
    boundary(|| time_claim(verified, value, present, |v| v.claims().nbf))
}

/// `iat`, as `cg_verified_exp`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_iat(
    verified: *const cg_verified,
    value: *mut i64,
    present: *mut bool,
) -> cg_status {
    boundary(|| time_claim(verified, value, present, |v| v.claims().iat))
}

/// The effective issuer (SPEC §7 derived value): the payload `iss`, else (in the `cryptr`
/// profile) the header `iss`. Borrowed; `*issuer = NULL` when absent.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_issuer(
    verified: *const cg_verified,
    issuer: *mut *const u8,
    issuer_len: *mut usize,
) -> cg_status {
    boundary(|| string_claim(verified, issuer, issuer_len, Verified::issuer))
}

/// The client id (SPEC §7 derived value): `client_id`, else (in the `cryptr` profile) `cid`.
/// Borrowed; `*client_id = NULL` when absent.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_client_id(
    verified: *const cg_verified,
    client_id: *mut *const u8,
    client_id_len: *mut usize,
) -> cg_status {
    boundary(|| string_claim(verified, client_id, client_id_len, Verified::client_id))
}

/// The tenant (SPEC §7 derived value; `cryptr` profile: `org`, else `tnt`). Borrowed;
/// `*tenant = NULL` when absent (always, in the `rfc` profile).
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_tenant(
    verified: *const cg_verified,
    tenant: *mut *const u8,
    tenant_len: *mut usize,
) -> cg_status {
    boundary(|| string_claim(verified, tenant, tenant_len, Verified::tenant))
}

/// The number of scopes (SPEC §7 derived value: the `scope` claim, else `scp`, as a list; a
/// string is split on ASCII spaces); 0 when both are absent (or for NULL). Scope checks read
/// these, never one claim name.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_scope_count(verified: *const cg_verified) -> usize {
    boundary(|| handle(verified).map_or(0, |v| v.verified.scopes().len()))
}

/// Scope `index` (borrowed). `CG_INVALID_ARGUMENT` when `index >= cg_verified_scope_count`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_verified_scope(
    verified: *const cg_verified,
    index: usize,
    scope: *mut *const u8,
    scope_len: *mut usize,
) -> cg_status {
    boundary(|| {
        let verified = handle(verified)?;
        let scope = Out::new(scope)?;
        let scope_len = Out::new(scope_len)?;
        let value = verified
            .verified
            .scopes()
            .get(index)
            .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        expose(value.as_bytes(), scope, scope_len);
        Ok(())
    })
}
