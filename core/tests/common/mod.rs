//! What the `no_panic_*` property tests share: the vector fixtures, a test-only RSA issuer, the
//! checks every validation answer must pass, the proptest configuration and byte-level mutations.
//!
//! Each integration test is a crate of its own that includes this module (`mod common;`) and
//! uses part of it, hence `dead_code` is allowed here.

#![allow(dead_code)]

pub mod mutation;
mod seeded_rng;

use std::sync::LazyLock;

use cryptr_guard_core::base64url;
use cryptr_guard_core::json;
use cryptr_guard_core::{
    Error, ErrorKind, KeySet, Options, RequiredClaims, TokenCache, Validator, Verified,
};
use proptest::test_runner::Config;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::Value as J;
use sha2::Sha256;

use seeded_rng::SeededRng;

// ------------------------------------------------------------------------------------------------
// Fixtures
// ------------------------------------------------------------------------------------------------

pub fn vector(path: &str) -> J {
    let full = format!("{}/../tests/vectors/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub fn options_from(o: &J) -> Options {
    let strings = |v: &J| -> Vec<String> {
        match v {
            J::String(s) => vec![s.clone()],
            J::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_owned()).collect(),
            _ => panic!("bad option {v}"),
        }
    };
    let issuers = strings(&o["issuer"]);
    let audiences = strings(&o["audiences"]);
    let required: Vec<String> = strings(&o["required_claims"]);
    Options::new(issuers, audiences)
        .with_leeway(o["leeway"].to_string().parse().unwrap())
        .with_required_claims(
            RequiredClaims::from_names(required.iter().map(String::as_str)).unwrap(),
        )
        .with_max_token_len(o["max_token_len"].to_string().parse().unwrap())
        .with_typ(o["typ"].as_str().map(String::from))
}

/// A valid token of `examples.json` with what makes it valid.
pub struct ValidCase {
    pub token: Vec<u8>,
    pub validator: Validator,
    pub now: u64,
}

pub struct Examples {
    pub keys: KeySet,
    pub valid: Vec<ValidCase>,
    /// Every token of the file, valid or not.
    pub tokens: Vec<Vec<u8>>,
}

pub static EXAMPLES: LazyLock<Examples> = LazyLock::new(|| {
    let file = vector("examples.json");
    let keys = KeySet::from_jwks(&serde_json::to_vec(&file["jwks"]).unwrap()).unwrap();
    let cases = file["cases"].as_array().unwrap();
    let mut valid = Vec::new();
    let mut tokens = Vec::new();
    for case in cases {
        let token = case["token"].as_str().unwrap().as_bytes().to_vec();
        tokens.push(token.clone());
        if case["expect"]["valid"] == J::Bool(true) {
            let validator = Validator::new(options_from(&case["options"])).unwrap();
            let now = case["now"].to_string().parse().unwrap();
            assert!(
                validator.validate(&token, &keys, now).is_ok(),
                "{} must validate",
                case["name"]
            );
            valid.push(ValidCase {
                token,
                validator,
                now,
            });
        }
    }
    assert!(valid.len() >= 5);
    Examples {
        keys,
        valid,
        tokens,
    }
});

/// Every JWKS document of the vectors, as bytes.
pub static JWKS_DOCS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut docs = vec![serde_json::to_vec(&vector("examples.json")["jwks"]).unwrap()];
    for file in ["examples_jwks.json", "real/real_jwks.json"] {
        for case in vector(file)["jwks_cases"].as_array().unwrap() {
            if let Some(raw) = case["jwks_raw"].as_str() {
                docs.push(raw.as_bytes().to_vec());
            }
        }
    }
    assert!(docs.len() > 50);
    docs
});

pub const SIGNER_KID: &str = "signer";
pub const SIGNER_X5T: &str = "signer-thumbprint";
pub const OTHER_KID: &str = "other";
pub const ISSUER: &str = "https://auth.example.com/t/acme";
pub const AUDIENCE: &str = "https://api.example.com";
pub const NOW: u64 = 1_700_000_000;

/// A test-only issuer: signs whatever header and payload text it is given.
pub struct TestSigner {
    key: SigningKey<Sha256>,
    /// `signer` (with an `x5t`) and `other` (the examples' 2048-bit key).
    pub two_keys: KeySet,
    /// `signer` alone.
    pub one_key: KeySet,
}

pub static SIGNER: LazyLock<TestSigner> = LazyLock::new(|| {
    let private = rsa::PrivateKey::new(&mut SeededRng(0x5eed), 2048).unwrap();
    let public = private.to_public_key();
    let n = base64url::encode(&public.n_bytes());
    let e = base64url::encode(&public.e_bytes());
    let signer_jwk = format!(
        r#"{{"kty":"RSA","kid":"{SIGNER_KID}","x5t":"{SIGNER_X5T}","use":"sig","alg":"RS256","n":"{n}","e":"{e}"}}"#
    );
    let examples = vector("examples.json");
    let mut other = examples["jwks"]["keys"][0].clone();
    other["kid"] = J::String(OTHER_KID.into());
    let two = format!(r#"{{"keys":[{signer_jwk},{other}]}}"#);
    let one = format!(r#"{{"keys":[{signer_jwk}]}}"#);
    TestSigner {
        key: SigningKey::<Sha256>::new(private),
        two_keys: KeySet::from_jwks(two.as_bytes()).unwrap(),
        one_key: KeySet::from_jwks(one.as_bytes()).unwrap(),
    }
});

impl TestSigner {
    pub fn sign(&self, signing_input: &[u8]) -> String {
        base64url::encode(&self.key.sign(signing_input).to_vec())
    }
}

// ------------------------------------------------------------------------------------------------
// Checks every answer must pass
// ------------------------------------------------------------------------------------------------

/// Every error is one of the SPEC §3 codes a validation may give (never a host-only one) and has a
/// description; every success hands out a strict JSON object payload whose `kid` names a key of
/// the set.
pub fn check_answer(result: &Result<Verified, Error>, keys: &KeySet) {
    match result {
        Err(e) => {
            assert!(ErrorKind::ALL.contains(&e.kind()));
            assert_eq!(ErrorKind::from_code(e.code()), Some(e.kind()));
            assert!(!matches!(
                e.kind(),
                ErrorKind::InvalidJwks | ErrorKind::JwksUnavailable
            ));
            assert!(!e.description().is_empty());
        }
        Ok(v) => {
            let parsed: J = serde_json::from_slice(v.payload()).expect("payload is JSON");
            assert!(parsed.is_object());
            assert!(json::parse_object(v.payload()).is_ok());
            assert_eq!(v.payload_str().as_bytes(), v.payload());
            match v.kid() {
                Some(kid) => assert!(keys.kids().any(|k| k == Some(kid))),
                None => {
                    assert!(keys.keys().len() == 1 || keys.keys().iter().any(|k| k.x5t().is_some()))
                }
            }
        }
    }
}

/// Validates twice (and once through a fresh verified-token cache, twice) and checks that the
/// answers agree and pass [`check_answer`].
pub fn validate(
    validator: &Validator,
    token: &[u8],
    keys: &KeySet,
    now: u64,
) -> Result<Verified, Error> {
    let first = validator.validate(token, keys, now);
    check_answer(&first, keys);
    assert_eq!(
        first,
        validator.validate(token, keys, now),
        "not deterministic"
    );
    let mut cache = TokenCache::new(4);
    assert_eq!(
        first,
        validator.validate_cached(&mut cache, token, keys, now)
    );
    assert_eq!(
        first,
        validator.validate_cached(&mut cache, token, keys, now)
    );
    first
}

pub fn kind(result: &Result<Verified, Error>) -> Option<ErrorKind> {
    result.as_ref().err().map(Error::kind)
}

pub fn proptest_config(cases: u32) -> Config {
    // `PROPTEST_CASES` overrides the default for longer runs.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}
