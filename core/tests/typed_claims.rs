//! Typed claims (feature `serde`) on tokens signed here, and the generator of the bare-metal
//! example's fixture (`examples/baremetal/src/fixture.rs`).
//!
//! The fixture's token carries `sub` and `scope`, which the vectors' 4096-bit token lacks, and the
//! vectors hold no private keys; so its 4096-bit key is generated here from a fixed seed, and the
//! token is signed with it. The key set is the one of `tests/vectors/examples.json` with its
//! `k4096` key replaced by this one (same kid, same members), so the example parses the same
//! three keys as before. To check that the fixture is what this file generates:
//!
//! ```text
//! cargo test -p cryptr-guard-core --features serde --test typed_claims -- --ignored
//! ```
//!
//! and to rewrite it, the same with `REGENERATE_BAREMETAL_FIXTURE=1`.

#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cryptr_guard_core::{ClaimsError, KeySet, Options, Validator, base64url};
use heapless::{String as HString, Vec as HVec};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde::Deserialize;
use serde_json::Value as J;
use sha2::Sha256;

#[path = "common/seeded_rng.rs"]
mod seeded_rng;
use seeded_rng::SeededRng;

/// A key from `seed`: its signing key and its public JWK members `n` and `e`.
fn key(seed: u64, bits: usize) -> (SigningKey<Sha256>, String, String) {
    let private = rsa::PrivateKey::new(&mut SeededRng(seed), bits).unwrap();
    let public = private.to_public_key();
    let n = base64url::encode(&public.n_bytes());
    let e = base64url::encode(&public.e_bytes());
    (SigningKey::<Sha256>::new(private), n, e)
}

/// A compact JWS of `header` and `payload` (JSON text, signed as given).
fn sign(key: &SigningKey<Sha256>, header: &str, payload: &str) -> String {
    let input = format!(
        "{}.{}",
        base64url::encode(header.as_bytes()),
        base64url::encode(payload.as_bytes())
    );
    let signature = base64url::encode(&key.sign(input.as_bytes()).to_vec());
    format!("{input}.{signature}")
}

const ISSUER: &str = "https://auth.cryptr.eu/t/shark-academy";
const AUDIENCE: &str = "https://api.example.com";
const NOW: u64 = 1_700_000_000;

#[derive(Debug, Deserialize)]
struct Access<'a> {
    iss: &'a str,
    sub: HString<64>,
    scope: HVec<HString<32>, 8>,
    name: Option<HString<32>>,
    exp: u64,
}

#[test]
fn signed_token_with_heapless_claims() {
    let (signer, n, e) = key(0x7e_57ed, 2048);
    let jwks = format!(r#"{{"keys":[{{"kty":"RSA","kid":"t","n":"{n}","e":"{e}"}}]}}"#);
    let keys = KeySet::from_jwks(jwks.as_bytes()).unwrap();
    let validator = Validator::new(Options::new([ISSUER], [AUDIENCE])).unwrap();
    let header = r#"{"alg":"RS256","kid":"t"}"#;

    let payload = format!(
        r#"{{"iss":"{ISSUER}","aud":["{AUDIENCE}","other"],"sub":"user-1","exp":1700003600,
            "scope":["openid","email","read:orders"],"name":"Ren\u00e9e \/ R.",
            "cnf":{{"x5t#S256":"abc"}},"amr":["pwd","mfa"],"auth_time":1.7e9}}"#
    );
    let verified = validator
        .validate(sign(&signer, header, &payload).as_bytes(), &keys, NOW)
        .unwrap();
    let claims: Access<'_> = verified.deserialize_claims().unwrap();
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.sub, "user-1");
    assert_eq!(claims.scope.len(), 3);
    assert_eq!(claims.scope[2], "read:orders");
    assert_eq!(claims.name.as_deref(), Some("Renée / R."));
    assert_eq!(claims.exp, 1_700_003_600);

    // The validator accepts a surrogate pair; the typed reading refuses it, with an error.
    let payload = format!(
        r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"u","exp":1700003600,"scope":[],
            "nickname":"\ud83d\ude00"}}"#
    );
    let verified = validator
        .validate(sign(&signer, header, &payload).as_bytes(), &keys, NOW)
        .unwrap();
    assert_eq!(
        verified.deserialize_claims::<Access<'_>>().err(),
        Some(ClaimsError::UnsupportedEscape)
    );

    // A fractional `exp` is a NumericDate to the validator (rounded up), not a `u64` here.
    let payload = format!(
        r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"u","exp":1700003600.5,"scope":[]}}"#
    );
    let verified = validator
        .validate(sign(&signer, header, &payload).as_bytes(), &keys, NOW)
        .unwrap();
    assert_eq!(verified.claims().exp, Some(1_700_003_601));
    assert_eq!(
        verified.deserialize_claims::<Access<'_>>().err(),
        Some(ClaimsError::Mismatch)
    );
}

/// The bare-metal example's claims, as `examples/baremetal/src/main.rs` reads them.
#[derive(Debug, Deserialize)]
struct FixtureClaims {
    sub: HString<64>,
    scope: HString<64>,
}

const FIXTURE_SEED: u64 = 0xba5e_4096;
const FIXTURE_PAYLOAD: &str = r#"{"iss":"https://auth.cryptr.eu/t/shark-academy","aud":"https://api.example.com","sub":"user-1","scope":"openid email read:orders","iat":1699999940,"exp":1700003600}"#;

fn fixture_text() -> String {
    let vectors: J =
        serde_json::from_str(include_str!("../../tests/vectors/examples.json")).unwrap();
    let (signer, n, e) = key(FIXTURE_SEED, 4096);
    let mut jwks = vectors["jwks"].clone();
    let k4096 = jwks["keys"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|k| k["kid"] == "k4096")
        .unwrap();
    k4096["n"] = J::String(n);
    k4096["e"] = J::String(e);
    let jwks = serde_json::to_string(&jwks).unwrap();
    let token = sign(&signer, r#"{"alg":"RS256","kid":"k4096"}"#, FIXTURE_PAYLOAD);

    // The fixture validates and carries the claims the example reads.
    let keys = KeySet::from_jwks(jwks.as_bytes()).unwrap();
    let verified = Validator::new(Options::new([ISSUER], [AUDIENCE]))
        .unwrap()
        .validate(token.as_bytes(), &keys, NOW)
        .unwrap();
    assert_eq!(verified.kid(), Some("k4096"));
    let claims: FixtureClaims = verified.deserialize_claims().unwrap();
    assert_eq!(claims.sub, "user-1");
    assert_eq!(claims.scope, "openid email read:orders");

    format!(
        "//! Generated by core/tests/typed_claims.rs (`fixture_is_generated`, run with --ignored): the\n\
         //! key set of tests/vectors/examples.json with its `k4096` key replaced by a 4096-bit key from a\n\
         //! fixed seed, a token signed with that key (claims as in `examples/valid-4096`, plus `scope`),\n\
         //! and the case's options and `now`.\n\
         \n\
         pub const JWKS: &[u8] = br#\"{jwks}\"#;\n\
         pub const TOKEN: &[u8] = b\"{token}\";\n\
         pub const NOW: u64 = {NOW};\n\
         pub const ISSUER: &str = \"{ISSUER}\";\n\
         pub const AUDIENCE: &str = \"{AUDIENCE}\";\n"
    )
}

#[test]
#[ignore = "generates a 4096-bit key (seconds); run with --ignored after changing the fixture"]
fn fixture_is_generated() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/baremetal/src/fixture.rs"
    );
    let text = fixture_text();
    if std::env::var_os("REGENERATE_BAREMETAL_FIXTURE").is_some() {
        std::fs::write(path, &text).unwrap();
    } else {
        let current = std::fs::read_to_string(path).unwrap();
        assert!(
            current == text,
            "{path} is not what this test generates; rerun with REGENERATE_BAREMETAL_FIXTURE=1"
        );
    }
}
