//! `cg_options`: the validation options builder, the `CG_CLAIM_*` bits and `cg_profile`.

use std::ffi::c_int;

use cryptr_guard_core::{Claim, Options, Profile, RequiredClaims};

use crate::boundary::{Out, boundary, free, handle, handle_mut, optional_text, text};
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
/// The default required claims of the `rfc` profile (SPEC §1): `exp`, `iss`, `aud`.
pub const CG_CLAIMS_DEFAULT: u32 = CG_CLAIM_EXP | CG_CLAIM_ISS | CG_CLAIM_AUD;
/// The default required claims of the `cryptr` profile (SPEC §7): `exp`, `iss`.
pub const CG_CLAIMS_CRYPTR_DEFAULT: u32 = CG_CLAIM_EXP | CG_CLAIM_ISS;
/// The default `max_lifetime` of the `cryptr` profile (SPEC §7): 30 days, in seconds.
pub const CG_CRYPTR_MAX_LIFETIME: u64 = 2_592_000;
/// The default `max_token_len` (SPEC §1), in bytes.
pub const CG_DEFAULT_MAX_TOKEN_LEN: usize = 8192;

// The header needs a literal; this keeps it equal to the core's default.
const _: () =
    assert!(CG_DEFAULT_MAX_TOKEN_LEN == cryptr_guard_core::validator::DEFAULT_MAX_TOKEN_LEN);
const _: () = assert!(CG_CRYPTR_MAX_LIFETIME == cryptr_guard_core::options::CRYPTR_MAX_LIFETIME);

const CLAIM_BITS: [(u32, Claim); 7] = [
    (CG_CLAIM_EXP, Claim::Exp),
    (CG_CLAIM_NBF, Claim::Nbf),
    (CG_CLAIM_IAT, Claim::Iat),
    (CG_CLAIM_ISS, Claim::Iss),
    (CG_CLAIM_SUB, Claim::Sub),
    (CG_CLAIM_AUD, Claim::Aud),
    (CG_CLAIM_JTI, Claim::Jti),
];

/// The `CG_CLAIM_*` bits of a claim set.
pub(crate) fn claim_bits(required: RequiredClaims) -> u32 {
    CLAIM_BITS
        .iter()
        .filter(|(_, claim)| required.contains(*claim))
        .fold(0, |bits, (bit, _)| bits | bit)
}

/// Which rules apply (SPEC §1 `profile`): the values of `cg_options_set_profile`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cg_profile {
    /// SPEC §1–§6 as written (the default of `cg_options_new`).
    CG_PROFILE_RFC = 0,
    /// SPEC §7 on top: the tokens Cryptr issues (v1 and v3).
    CG_PROFILE_CRYPTR = 1,
}

impl cg_profile {
    fn from_int(value: c_int) -> Option<Profile> {
        match value {
            v if v == cg_profile::CG_PROFILE_RFC as c_int => Some(Profile::Rfc),
            v if v == cg_profile::CG_PROFILE_CRYPTR as c_int => Some(Profile::Cryptr),
            _ => None,
        }
    }

    fn of(profile: Profile) -> cg_profile {
        match profile {
            Profile::Rfc => cg_profile::CG_PROFILE_RFC,
            Profile::Cryptr => cg_profile::CG_PROFILE_CRYPTR,
        }
    }
}

/// Validation options under construction (SPEC §1). A plain builder: not for use from two
/// threads at once. Turn it into a `cg_validator` with `cg_validator_new` (or a guard with
/// `cg_guard_new`). Options left unset take their profile's default, whatever the order of the
/// calls: `required_claims` and `max_lifetime` follow `cg_options_set_profile` until they are set.
#[derive(Debug)]
pub struct cg_options {
    pub(crate) options: Options,
}

impl cg_options {
    /// Applies one of the core's `with_*` builder methods in place.
    fn update(&mut self, change: impl FnOnce(Options) -> Options) {
        // The placeholder holds two empty lists (no allocation); `change` only rebuilds.
        let empty = Options::new(Vec::<String>::new(), Vec::<String>::new());
        let options = std::mem::replace(&mut self.options, empty);
        self.options = change(options);
    }

    fn push(list: &[String], item: &str) -> Vec<String> {
        let mut list = list.to_vec();
        list.push(item.to_owned());
        list
    }
}

/// New options with the SPEC §1 defaults: the `rfc` profile, no issuer and no audience yet (add
/// at least one issuer, and at least one audience or client id), leeway 0, the profile's required
/// claims (`CG_CLAIMS_DEFAULT`) and `max_lifetime` (none), `max_token_len` 8192, `typ` not checked,
/// no client id.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_new(out: *mut *mut cg_options) -> cg_status {
    boundary(|| {
        let out = Out::new(out)?;
        out.give(cg_options {
            options: Options::new(Vec::<String>::new(), Vec::<String>::new()),
        });
        Ok(())
    })
}

/// Frees options; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_free(options: *mut cg_options) {
    boundary(|| free(options))
}

/// Adds an accepted issuer (UTF-8, compared exactly with the unescaped `iss`). With several
/// issuers, their order is the order of `cg_validator_validate_by_issuer`'s key sets and of a
/// guard's JWKS URLs.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_add_issuer(
    options: *mut cg_options,
    issuer: *const u8,
    issuer_len: usize,
) -> cg_status {
    boundary(|| {
        let options = handle_mut(options)?;
        let issuer = text(issuer, issuer_len)?;
        let issuers = cg_options::push(options.options.issuers(), issuer);
        options.update(|o| o.with_issuers(issuers));
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
        let audiences = cg_options::push(options.options.audiences(), audience);
        options.update(|o| o.with_audiences(audiences));
        Ok(())
    })
}

/// Adds an accepted OAuth client id (UTF-8, compared exactly): client ids stand in for the
/// audience when a token's `aud` is absent or an empty array (SPEC §2 step 15: the `client_id`
/// claim, and `cid` in the `cryptr` profile). Cryptr v3 tokens carry `aud: []`: accept them by
/// client id.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_add_client_id(
    options: *mut cg_options,
    client_id: *const u8,
    client_id_len: usize,
) -> cg_status {
    boundary(|| {
        let options = handle_mut(options)?;
        let client_id = text(client_id, client_id_len)?;
        let client_ids = cg_options::push(options.options.client_ids(), client_id);
        options.update(|o| o.with_client_ids(client_ids));
        Ok(())
    })
}

/// Sets the clock skew allowed on `exp`, `nbf` and `iat`, in whole seconds.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_leeway(options: *mut cg_options, seconds: u64) -> cg_status {
    boundary(|| {
        handle_mut(options)?.update(|o| o.with_leeway(seconds));
        Ok(())
    })
}

/// Sets the claims that must be present: a bitwise OR of `CG_CLAIM_*` (0 for none), instead of
/// the profile's default. An unknown bit is `CG_INVALID_ARGUMENT`.
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
        let required = CLAIM_BITS
            .iter()
            .filter(|(bit, _)| claims & bit != 0)
            .fold(RequiredClaims::NONE, |set, (_, claim)| set.with(*claim));
        options.update(|o| o.with_required_claims(required));
        Ok(())
    })
}

/// Sets the longest token accepted, in bytes (longer is `CG_MALFORMED_TOKEN`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_max_token_len(options: *mut cg_options, len: usize) -> cg_status {
    boundary(|| {
        handle_mut(options)?.update(|o| o.with_max_token_len(len));
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
        let typ = optional_text(typ, typ_len)?.map(str::to_owned);
        options.update(|o| o.with_typ(typ));
        Ok(())
    })
}

/// Sets the profile: a `cg_profile` value (`CG_PROFILE_RFC`, `CG_PROFILE_CRYPTR`; any other is
/// `CG_INVALID_ARGUMENT`). Required claims and `max_lifetime` not set explicitly follow it.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_profile(options: *mut cg_options, profile: c_int) -> cg_status {
    boundary(|| {
        let options = handle_mut(options)?;
        let profile = cg_profile::from_int(profile).ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        options.update(|o| o.with_profile(profile));
        Ok(())
    })
}

/// Sets `max_lifetime`: the furthest in the future an `exp` may lie, in seconds (SPEC §2 step 11:
/// further is `CG_INVALID_CLAIM`), instead of the profile's default. 0 is a configuration error
/// (`cg_validator_new` answers `CG_INVALID_ARGUMENT`); for no limit, use
/// `cg_options_set_max_lifetime_none`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_max_lifetime(options: *mut cg_options, seconds: u64) -> cg_status {
    boundary(|| {
        handle_mut(options)?.update(|o| o.with_max_lifetime(Some(seconds)));
        Ok(())
    })
}

/// Sets no `max_lifetime` (any future `exp` is accepted), instead of the profile's default.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_set_max_lifetime_none(options: *mut cg_options) -> cg_status {
    boundary(|| {
        handle_mut(options)?.update(|o| o.with_max_lifetime(None));
        Ok(())
    })
}

/// The profile (`*profile`, a `cg_profile`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_profile(
    options: *const cg_options,
    profile: *mut cg_profile,
) -> cg_status {
    boundary(|| {
        let options = handle(options)?;
        let profile = Out::new(profile)?;
        profile.write(cg_profile::of(options.options.profile()));
        Ok(())
    })
}

/// The required claims in effect (`*claims`, `CG_CLAIM_*` bits): those set, else the profile's.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_required_claims(
    options: *const cg_options,
    claims: *mut u32,
) -> cg_status {
    boundary(|| {
        let options = handle(options)?;
        let claims = Out::new(claims)?;
        claims.write(claim_bits(options.options.required_claims()));
        Ok(())
    })
}

/// The `max_lifetime` in effect (the one set, else the profile's): `*present = true` and
/// `*seconds` the limit, or `*present = false` and `*seconds = 0` for none.
#[unsafe(no_mangle)]
pub extern "C" fn cg_options_max_lifetime(
    options: *const cg_options,
    seconds: *mut u64,
    present: *mut bool,
) -> cg_status {
    boundary(|| {
        let options = handle(options)?;
        let seconds = Out::new(seconds)?;
        let present = Out::new(present)?;
        let max = options.options.max_lifetime();
        seconds.write(max.unwrap_or(0));
        present.write(max.is_some());
        Ok(())
    })
}
