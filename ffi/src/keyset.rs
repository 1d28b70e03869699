//! `cg_keyset`: a parsed JWKS.

use std::ffi::c_char;
use std::sync::Arc;

use cryptr_guard_core::{KeySet, KeySetOptions};

use crate::boundary::{Out, boundary, bytes, expose_opt, free, handle};
use crate::cg_status;

/// A parsed JWKS: the usable RS256 keys, in document order, and the reasons of the skipped ones.
///
/// Immutable once built: one `cg_keyset` may be used from any number of threads at once (it is
/// reference-counted inside; `cg_keyset_free` must be called exactly once per handle, after every
/// other use of that handle).
#[derive(Debug)]
pub struct cg_keyset {
    pub(crate) keys: Arc<KeySet>,
}

/// The key-set options of SPEC §4 from their C form, where 0 means the default.
pub(crate) fn keyset_options(
    min_rsa_bits: u32,
    capacity: usize,
) -> Result<KeySetOptions, cg_status> {
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
    boundary(|| from_jwks(jwks, jwks_len, 0, 0, out))
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
    boundary(|| from_jwks(jwks, jwks_len, min_rsa_bits, capacity, out))
}

fn from_jwks(
    jwks: *const u8,
    jwks_len: usize,
    min_rsa_bits: u32,
    capacity: usize,
    out: *mut *mut cg_keyset,
) -> Result<(), cg_status> {
    let out = Out::new(out)?;
    let document = bytes(jwks, jwks_len)?;
    let options = keyset_options(min_rsa_bits, capacity)?;
    let keys = KeySet::from_jwks_with(document, &options)?;
    out.give(cg_keyset {
        keys: Arc::new(keys),
    });
    Ok(())
}

/// Frees a key set; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_free(keys: *mut cg_keyset) {
    boundary(|| free(keys))
}

/// The number of usable keys (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_len(keys: *const cg_keyset) -> usize {
    boundary(|| handle(keys).map_or(0, |k| k.keys.keys().len()))
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
        let keys = handle(keys)?;
        let kid = Out::new(kid)?;
        let kid_len = Out::new(kid_len)?;
        let key = keys
            .keys
            .keys()
            .get(index)
            .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        expose_opt(key.kid(), kid, kid_len);
        Ok(())
    })
}

/// The number of elements of `keys` that were skipped as unusable (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_keyset_skipped_len(keys: *const cg_keyset) -> usize {
    boundary(|| handle(keys).map_or(0, |k| k.keys.skipped().len()))
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
        let keys = handle(keys)?;
        let position = Out::new(position)?;
        let reason = Out::new(reason)?;
        let skipped = keys
            .keys
            .skipped()
            .get(index)
            .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        position.write(skipped.index);
        reason.write(skip_reason_cstr(skipped.reason).as_ptr().cast());
        Ok(())
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
        let keys = handle(keys)?;
        let kid = Out::new(kid)?;
        let kid_len = Out::new(kid_len)?;
        let skipped = keys
            .keys
            .skipped()
            .get(index)
            .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        expose_opt(skipped.kid.as_deref(), kid, kid_len);
        Ok(())
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
