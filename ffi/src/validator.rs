//! `cg_validator`: fixed options, and the validation of a token against a key set.

use cryptr_guard_core::Validator;

use crate::boundary::{Out, array, boundary, bytes, free, handle};
use crate::verified::hand_out;
use crate::{cg_keyset, cg_options, cg_status, cg_verified};

/// A validator: fixed options, no state that changes. Shareable: one `cg_validator` may be used
/// from any number of threads at once.
#[derive(Debug)]
pub struct cg_validator {
    pub(crate) validator: Validator,
}

/// Builds a validator from `options` (copied: the options may be freed or changed afterwards).
/// `CG_INVALID_ARGUMENT` for a configuration error (SPEC §1): no issuer, neither an audience nor
/// a client id, a `max_lifetime` of 0.
#[unsafe(no_mangle)]
pub extern "C" fn cg_validator_new(
    options: *const cg_options,
    out: *mut *mut cg_validator,
) -> cg_status {
    boundary(|| {
        let o = handle(options)?;
        let out = Out::new(out)?;
        let validator =
            Validator::new(o.options.clone()).map_err(|_| cg_status::CG_INVALID_ARGUMENT)?;
        out.give(cg_validator { validator });
        Ok(())
    })
}

/// Frees a validator; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_validator_free(validator: *mut cg_validator) {
    boundary(|| free(validator))
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
        let validator = handle(validator)?;
        let keys = handle(keys)?;
        let out = Out::new(out)?;
        let token = bytes(token, token_len)?;
        hand_out(validator.validator.validate(token, &keys.keys, now), out)
    })
}

/// SPEC §8, for a host that holds one key set per accepted issuer: validates the token at `now`
/// choosing the key set by its issuer hint. `keysets` has `count` elements, one per accepted
/// issuer in the order they were added to the options (`count` must be that number, else
/// `CG_INVALID_ARGUMENT`); an element may be NULL when no set is held for that issuer yet.
///
/// Steps 1–6; then the hint (the header `iss` if it is a string, else the payload's) chooses the
/// set. Without a hint, the only accepted issuer is chosen, or `CG_MISSING_CLAIM` when there are
/// several; a hint that is not exactly an accepted issuer is `CG_INVALID_ISSUER` before any set
/// is looked at; a NULL set for the chosen issuer is `CG_JWKS_UNAVAILABLE`. Then steps 7–15
/// against that set, the effective issuer equal to the hint. A host with one key set uses
/// `cg_validator_validate` (SPEC §2), even when several issuers are accepted.
#[unsafe(no_mangle)]
pub extern "C" fn cg_validator_validate_by_issuer(
    validator: *const cg_validator,
    keysets: *const *const cg_keyset,
    count: usize,
    token: *const u8,
    token_len: usize,
    now: u64,
    out: *mut *mut cg_verified,
) -> cg_status {
    boundary(|| {
        let validator = &handle(validator)?.validator;
        let keysets = array(keysets, count)?;
        let out = Out::new(out)?;
        let token = bytes(token, token_len)?;
        if count != validator.options().issuers().len() {
            return Err(cg_status::CG_INVALID_ARGUMENT);
        }
        let result = validator.validate_by_issuer(token, now, |index| {
            let keyset = keysets.get(index).copied()?;
            // SAFETY: a non-NULL element is a live `cg_keyset` handle (the caller's contract for
            // every handle argument).
            unsafe { keyset.as_ref() }.map(|k| k.keys.as_ref())
        });
        hand_out(result, out)
    })
}
