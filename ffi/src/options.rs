//! `cg_options`: the validation options builder, and the `CG_CLAIM_*` bits.

use cryptr_guard_core::RequiredClaims;

use crate::boundary::{Out, boundary, free, handle_mut, optional_text, text};
use crate::cg_status;

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
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: u64,
    pub(crate) required: RequiredClaims,
    pub(crate) max_token_len: usize,
    pub(crate) typ: Option<String>,
}

/// New options with the SPEC §1 defaults: no issuer and no audience yet (add at least one of
/// each), leeway 0, required claims `CG_CLAIMS_DEFAULT`, `max_token_len` 8192, `typ` not checked.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_new(out: *mut *mut cg_options) -> cg_status {
    boundary(|| {
        let out = Out::new(out)?;
        out.give(cg_options {
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: 0,
            required: RequiredClaims::default(),
            max_token_len: CG_DEFAULT_MAX_TOKEN_LEN,
            typ: None,
        });
        Ok(())
    })
}

/// Frees options; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_free(options: *mut cg_options) {
    boundary(|| free(options))
}

/// Adds an accepted issuer (UTF-8, compared exactly with the unescaped `iss`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_add_issuer(
    options: *mut cg_options,
    issuer: *const u8,
    issuer_len: usize,
) -> cg_status {
    boundary(|| {
        let options = handle_mut(options)?;
        let issuer = text(issuer, issuer_len)?;
        options.issuers.push(issuer.to_owned());
        Ok(())
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
        let options = handle_mut(options)?;
        let audience = text(audience, audience_len)?;
        options.audiences.push(audience.to_owned());
        Ok(())
    })
}

/// Sets the clock skew allowed on `exp`, `nbf` and `iat`, in whole seconds.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_leeway(options: *mut cg_options, seconds: u64) -> cg_status {
    boundary(|| {
        handle_mut(options)?.leeway = seconds;
        Ok(())
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
    })
}

/// Sets the longest token accepted, in bytes (longer is `CG_MALFORMED_TOKEN`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_max_token_len(options: *mut cg_options, len: usize) -> cg_status {
    boundary(|| {
        handle_mut(options)?.max_token_len = len;
        Ok(())
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
        let options = handle_mut(options)?;
        options.typ = optional_text(typ, typ_len)?.map(str::to_owned);
        Ok(())
    })
}
