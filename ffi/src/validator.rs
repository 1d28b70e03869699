//! `cg_validator`: fixed options, and the validation of a token against a key set.

use cryptr_guard_core::{Options, Validator};

use crate::boundary::{Out, boundary, bytes, free, handle};
use crate::verified::hand_out;
use crate::{cg_keyset, cg_options, cg_status, cg_verified};

/// A validator: fixed options, no state that changes. Shareable: one `cg_validator` may be used
/// from any number of threads at once.
#[derive(Debug)]
pub struct cg_validator {
    pub(crate) validator: Validator,
}

/// Builds a validator from `options` (copied: the options may be freed or changed afterwards).
/// `CG_INVALID_ARGUMENT` without an issuer or an audience.
#[unsafe(no_mangle)]
pub extern "C" fn cg_validator_new(
    options: *const cg_options,
    out: *mut *mut cg_validator,
) -> cg_status {
    boundary(|| {
        let o = handle(options)?;
        let out = Out::new(out)?;
        let options = Options::new(o.issuers.iter().cloned(), o.audiences.iter().cloned())
            .with_leeway(o.leeway)
            .with_required_claims(o.required)
            .with_max_token_len(o.max_token_len)
            .with_typ(o.typ.clone());
        let validator = Validator::new(options).map_err(|_| cg_status::CG_INVALID_ARGUMENT)?;
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
