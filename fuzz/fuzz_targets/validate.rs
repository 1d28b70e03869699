//! Token validation: arbitrary token bytes against the fixed key set of the vectors, with options
//! and `now` derived from the first input bytes. Checks that every answer is a SPEC code, that
//! validation is deterministic, and that the verified-token cache gives the same answer.
//!
//! Input: `[flags, leeway, now_selector, now (8 bytes)] ++ token`.

#![no_main]

mod common;

use common::{Bytes, KEYS, check_answer};
use cryptr_guard_core::{Options, Profile, RequiredClaims, TokenCache, Validator};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://auth.cryptr.eu/t/shark-academy";
const AUDIENCE: &str = "https://api.example.com";
const NOW: u64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let flags = input.u8();
    let leeway = input.u8();
    let now_selector = input.u8();
    let raw_now = input.u64();
    let token = input.rest();

    let mut options = Options::new([ISSUER], [AUDIENCE])
        .with_leeway(match leeway {
            255 => u64::MAX,
            l => u64::from(l),
        })
        .with_max_token_len(if flags & 1 == 0 { 8192 } else { 1024 });
    if flags & 2 != 0 {
        options = options.with_typ(Some("application/at+jwt".into()));
    }
    if flags & 4 != 0 {
        options = options.with_audiences([AUDIENCE, "https://reports.example.com"]);
    }
    if flags & 8 != 0 {
        options = options.with_issuers(["https://other.example", ISSUER]);
    }
    // The cryptr profile (SPEC §7), with a client id and a lifetime bound.
    if flags & 64 != 0 {
        options = options
            .with_profile(Profile::Cryptr)
            .with_client_ids(["client-1"]);
    }
    if flags & 128 != 0 {
        options = options.with_max_lifetime(Some(3600));
    }
    let required = match (flags >> 4) & 3 {
        0 => RequiredClaims::default(),
        1 => RequiredClaims::NONE,
        2 => RequiredClaims::from_names(["exp", "iss", "aud", "sub", "iat", "nbf", "jti"])
            .expect("known claim names"),
        _ => RequiredClaims::from_names(["sub"]).expect("known claim name"),
    };
    let options = if (flags >> 4) & 3 == 0 {
        options
    } else {
        options.with_required_claims(required)
    };
    let now = match now_selector % 4 {
        0 | 1 => NOW,
        2 => raw_now,
        _ => NOW.wrapping_add(raw_now % 7200).wrapping_sub(3600),
    };

    let validator = Validator::new(options).expect("valid options");
    let keys = &*KEYS;
    let first = validator.validate(token, keys, now);
    check_answer(&first, keys);
    assert_eq!(first, validator.validate(token, keys, now));
    let mut cache = TokenCache::new(2);
    assert_eq!(
        first,
        validator.validate_cached(&mut cache, token, keys, now)
    );
    assert_eq!(
        first,
        validator.validate_cached(&mut cache, token, keys, now)
    );
    // SPEC §8 with every accepted issuer on the same key set: the hint may refuse earlier (an
    // unknown issuer before the key), but never accepts what §2 refuses.
    let by_issuer = validator.validate_by_issuer(token, now, |_| Some(keys));
    check_answer(&by_issuer, keys);
    if by_issuer.is_ok() {
        assert_eq!(by_issuer, first);
    }
});
