//! The post-signature steps without the signature: a payload parsed by the strict JSON reader,
//! then `Claims::from_payload` (SPEC §2 step 10) and `Claims::check_time` (steps 11–13) with
//! required claims, `now` and `leeway` from the input. Checks that the claims agree with the typed
//! accessors and that the clock checks are monotonic (a larger leeway never rejects what a
//! smaller one accepted; a token expired at `now` stays expired later).
//!
//! Input: `[required, now (8 bytes), leeway (8 bytes)] ++ payload`.

#![no_main]

mod common;

use common::Bytes;
use cryptr_guard_core::json;
use cryptr_guard_core::{Claim, Claims, ErrorKind, HeaderIssuer, Profile, RequiredClaims};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let mask = input.u8();
    let now = input.u64();
    let leeway = input.u64() % 1_000_000;
    let Ok(payload) = json::parse_object(input.rest()) else {
        return;
    };
    let required = Claim::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .fold(RequiredClaims::NONE, |set, (_, c)| set.with(*c));
    let profile = if mask & 0x80 == 0 { Profile::Rfc } else { Profile::Cryptr };
    let claims = match Claims::from_payload(&payload, profile, &HeaderIssuer::Absent, required) {
        Ok(claims) => claims,
        Err(e) => {
            assert!(matches!(
                e.kind(),
                ErrorKind::InvalidClaim | ErrorKind::MissingClaim
            ));
            return;
        }
    };
    for claim in required.iter() {
        assert!(payload.contains(claim.name()));
    }
    let date = |name| payload.get(name).and_then(|v| v.numeric_date());
    assert_eq!(claims.exp, date("exp"));
    assert_eq!(claims.nbf, date("nbf"));
    assert_eq!(claims.iat, date("iat"));
    let text = |name| {
        payload
            .get(name)
            .and_then(|v| v.as_str())
            .map(|s| s.into_owned())
    };
    assert_eq!(claims.iss, text("iss"));
    assert_eq!(claims.sub, text("sub"));
    assert_eq!(claims.jti, text("jti"));
    assert_eq!(claims.aud.is_some(), payload.contains("aud"));

    let at = claims.check_time(now, leeway, None).map_err(|e| e.kind());
    if let Err(kind) = at {
        assert!(matches!(
            kind,
            ErrorKind::TokenExpired | ErrorKind::TokenNotYetValid
        ));
    }
    if at.is_ok() {
        assert!(claims.check_time(now, leeway + 1, None).is_ok());
    }
    if at == Err(ErrorKind::TokenExpired) && now < u64::MAX {
        assert_eq!(
            claims.check_time(now + 1, leeway, None).map_err(|e| e.kind()),
            Err(ErrorKind::TokenExpired)
        );
    }
});
