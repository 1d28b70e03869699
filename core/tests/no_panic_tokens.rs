//! Robustness of token validation: whatever the token, the core never panics, always answers one of
//! the SPEC §3 codes a validation may give, and its answers agree with a small independent model of
//! SPEC §2 (`token_model`).
//!
//! - random bytes, and random strings of base64url characters, as tokens;
//! - valid tokens from `tests/vectors/examples.json` mutated byte by byte (only the unchanged token
//!   may validate: a mutation never forges a token);
//! - headers and payloads rebuilt from generated members (types, escapes, duplicates, numbers such
//!   as `1e400`, `-0`, `1.5`, deep nesting, huge strings) under the original signature, which must
//!   fail no later than the signature step, and signed by a test-only RSA key, so that the
//!   post-signature steps run and are compared with the model of SPEC §2 steps 1–15.
//!
//! Each property runs the number of cases its `proptest_config` gives; set `PROPTEST_CASES` for a
//! longer run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod token_model;

use common::mutation::{apply, mutation};
use common::{
    AUDIENCE, EXAMPLES, ISSUER, JWKS_DOCS, NOW, SIGNER, SIGNER_KID, kind, proptest_config, validate,
};
use cryptr_guard_core::{ErrorKind, Options, Validator, base64url};
use proptest::prelude::*;
use token_model::spec::{
    Choice, PayloadEncoding, check_claims, encode_payload, model_claims, model_header, now, opts,
};
use token_model::{Meaning, header, payload};

fn segments(token: &[u8]) -> (String, String, String) {
    let text = std::str::from_utf8(token).unwrap();
    let mut parts = text.split('.');
    (
        parts.next().unwrap().into(),
        parts.next().unwrap().into(),
        parts.next().unwrap().into(),
    )
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// Random bytes, and random three-segment strings of base64url characters.
    #[test]
    fn random_bytes_as_tokens(
        bytes in prop::collection::vec(any::<u8>(), 0..700),
        b64 in "[A-Za-z0-9_=+/-]{0,40}\\.[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,400}",
        case in 0usize..8,
        now in any::<u64>(),
    ) {
        let ex = &*EXAMPLES;
        let case = &ex.valid[case % ex.valid.len()];
        for token in [&bytes[..], b64.as_bytes()] {
            let result = validate(&case.validator, token, &ex.keys, now);
            prop_assert!(result.is_err());
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(192))]

    /// A mutated token validates only when the mutations cancel out: no mutation forges a token.
    #[test]
    fn mutated_valid_tokens(
        case in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
        any_token in any::<prop::sample::Index>(),
    ) {
        let ex = &*EXAMPLES;
        let case = case.get(&ex.valid);
        let mut token = case.token.clone();
        for m in &mutations {
            apply(&mut token, m);
        }
        let result = validate(&case.validator, &token, &ex.keys, case.now);
        if result.is_ok() {
            prop_assert_eq!(&token, &case.token);
        }
        // Any vector token, mutated the same way, gets an answer too.
        let mut other = any_token.get(&ex.tokens).clone();
        for m in &mutations {
            apply(&mut other, m);
        }
        validate(&case.validator, &other, &ex.keys, case.now).ok();
    }

    /// A rebuilt header under the original payload and signature fails no later than the
    /// signature step, and exactly as the model of steps 1–8 says.
    #[test]
    fn rebuilt_header_keeps_failing_at_or_before_the_signature(
        case in any::<prop::sample::Index>(),
        header in header(),
        spaced in any::<bool>(),
        opts in opts(),
        one_key in any::<bool>(),
    ) {
        let ex = &*EXAMPLES;
        let case = case.get(&ex.valid);
        let (_, payload, signature) = segments(&case.token);
        let token = format!("{}.{payload}.{signature}", base64url::encode(header.text(spaced).as_bytes()));
        let signer = &*SIGNER;
        let keys = if one_key { &signer.one_key } else { &signer.two_keys };
        let result = validate(&opts.validator(), token.as_bytes(), keys, NOW);
        let expected = model_header(token.len(), &header, &opts, one_key)
            .and(Err::<(), _>(ErrorKind::InvalidSignature))
            .unwrap_err();
        prop_assert_eq!(kind(&result), Some(expected), "header {}", header.text(spaced));
    }

    /// A rebuilt payload under the original header and signature is always `invalid_signature`:
    /// the payload is not even decoded before the signature holds.
    #[test]
    fn rebuilt_payload_fails_at_the_signature(
        case in any::<prop::sample::Index>(),
        payload in payload(),
        spaced in any::<bool>(),
        encoding in prop_oneof![Just(PayloadEncoding::Strict), Just(PayloadEncoding::Padded), Just(PayloadEncoding::StandardAlphabet)],
    ) {
        let ex = &*EXAMPLES;
        let case = case.get(&ex.valid);
        let (header, _, signature) = segments(&case.token);
        let (segment, _) = encode_payload(&payload.text(spaced), encoding);
        let token = format!("{header}.{segment}.{signature}");
        let result = validate(&case.validator, token.as_bytes(), &ex.keys, case.now);
        let expected = if token.len() > case.validator.options().max_token_len() {
            ErrorKind::MalformedToken
        } else {
            ErrorKind::InvalidSignature
        };
        prop_assert_eq!(kind(&result), Some(expected));
    }
}

proptest! {
    // Most generated headers fail before the signature; enough cases to reach every later step.
    #![proptest_config(proptest_config(1024))]

    /// Tokens signed by a test issuer: the post-signature steps run and follow SPEC §2 exactly.
    #[test]
    fn signed_tokens_follow_the_spec(
        header in header(),
        payload in payload(),
        spaced in any::<bool>(),
        encoding in prop_oneof![8 => Just(PayloadEncoding::Strict), 1 => Just(PayloadEncoding::Padded), 1 => Just(PayloadEncoding::StandardAlphabet)],
        opts in opts(),
        one_key in any::<bool>(),
        now in now(),
        corrupt in prop::option::weighted(0.1, any::<prop::sample::Index>()),
    ) {
        let signer = &*SIGNER;
        let keys = if one_key { &signer.one_key } else { &signer.two_keys };
        let payload_text = payload.text(spaced);
        let (payload_segment, strict) = encode_payload(&payload_text, encoding);
        let signing_input = format!("{}.{payload_segment}", base64url::encode(header.text(!spaced).as_bytes()));
        let mut signature = signer.sign(signing_input.as_bytes()).into_bytes();
        if let Some(i) = &corrupt {
            let i = i.index(signature.len());
            signature[i] = if signature[i] == b'A' { b'B' } else { b'A' };
        }
        let token = format!("{signing_input}.{}", String::from_utf8(signature).unwrap());

        let result = validate(&opts.validator(), token.as_bytes(), keys, now);
        let expected = model_header(token.len(), &header, &opts, one_key).and_then(|choice| {
            if matches!(choice, Choice::Other) || corrupt.is_some() {
                return Err(ErrorKind::InvalidSignature);
            }
            if !strict || !payload.valid() {
                return Err(ErrorKind::MalformedToken);
            }
            model_claims(&payload, &opts, now)
        });
        prop_assert_eq!(kind(&result), expected.err(), "header {} payload {}", header.text(!spaced), payload_text);
        if let Ok(v) = &result {
            check_claims(v, &payload, &payload_text);
            let kid = match header.get("kid") { Some(Meaning::Str(k)) => Some(k.as_str()), _ => None };
            prop_assert_eq!(v.kid(), kid);
        }
    }
}

#[test]
fn fixtures_load() {
    assert!(EXAMPLES.valid.len() >= 5);
    assert!(JWKS_DOCS.len() > 50);
    let signer = &*SIGNER;
    assert_eq!(signer.two_keys.keys().len(), 2);
    // The signer's own token validates: the signed-token property exercises real successes.
    let header = base64url::encode(br#"{"alg":"RS256","kid":"signer"}"#);
    let payload = base64url::encode(
        format!(r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":1700003600}}"#).as_bytes(),
    );
    let input = format!("{header}.{payload}");
    let token = format!("{input}.{}", signer.sign(input.as_bytes()));
    let validator = Validator::new(Options::new([ISSUER], [AUDIENCE])).unwrap();
    let v = validate(&validator, token.as_bytes(), &signer.two_keys, NOW).unwrap();
    assert_eq!(v.kid(), Some(SIGNER_KID));
}
