//! Robustness of key-set parsing: random bytes and JWKS-like text, and the JWKS documents of the
//! vectors (`examples.json`, `examples_jwks.json`, `real/real_jwks.json`) mutated byte by byte or
//! member by member, give only `invalid_jwks` or a key set whose usable keys satisfy the SPEC §4
//! rules, checked against serde_json's view of the document, under random key-set options.
//!
//! Each property runs the number of cases its `proptest_config` gives; set `PROPTEST_CASES` for a
//! longer run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::mutation::{apply, mutation};
use common::{JWKS_DOCS, proptest_config};
use cryptr_guard_core::{ErrorKind, KeySet, KeySetOptions, SkipReason};
use proptest::prelude::*;
use serde_json::Value as J;

/// Checks a key-set answer: `invalid_jwks` or a set that agrees with SPEC §4 element by element,
/// as serde_json reads the document.
fn check_jwks(doc: &[u8], options: &KeySetOptions) {
    let result = KeySet::from_jwks_with(doc, options);
    let again = KeySet::from_jwks_with(doc, options);
    assert_eq!(result.is_ok(), again.is_ok());
    let set = match result {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidJwks);
            assert_eq!(again.err().map(|e| e.kind()), Some(ErrorKind::InvalidJwks));
            return;
        }
        Ok(set) => set,
    };
    let again = again.unwrap();
    assert_eq!(
        set.kids().collect::<Vec<_>>(),
        again.kids().collect::<Vec<_>>()
    );
    assert_eq!(set.skipped(), again.skipped());
    assert_eq!(set.fingerprint(), again.fingerprint());

    // The core accepted a strict JSON document: serde_json must read it too.
    let parsed: J = serde_json::from_slice(doc).expect("accepted JWKS is JSON");
    let elements = parsed["keys"].as_array().expect("keys is an array");
    assert!(elements.len() <= options.capacity());
    assert_eq!(set.keys().len() + set.skipped().len(), elements.len());
    let skipped: Vec<usize> = set.skipped().iter().map(|s| s.index).collect();
    assert!(skipped.windows(2).all(|w| w[0] < w[1]));
    let usable: Vec<&J> = elements
        .iter()
        .enumerate()
        .filter(|(i, _)| !skipped.contains(i))
        .map(|(_, e)| e)
        .collect();
    for (jwk, element) in set.keys().iter().zip(&usable) {
        let member = |name: &str| element.get(name);
        assert_eq!(member("kty"), Some(&J::String("RSA".into())));
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            assert!(member(private).is_none(), "usable key with {private}");
        }
        assert!(member("n").is_some_and(J::is_string) && member("e").is_some_and(J::is_string));
        assert!(member("use").is_none_or(|u| u == "sig"));
        assert!(member("alg").is_none_or(|a| a == "RS256"));
        if let Some(ops) = member("key_ops") {
            let ops = ops.as_array().expect("key_ops array");
            assert!(ops.iter().all(J::is_string) && ops.iter().any(|o| o == "verify"));
        }
        assert_eq!(
            jwk.kid(),
            member("kid").map(|k| k.as_str().expect("kid string"))
        );
        assert!(jwk.kid().is_none_or(|k| k.len() <= 256));
        assert_eq!(jwk.x5t(), member("x5t").and_then(J::as_str));
        assert!((options.min_rsa_bits()..=8192).contains(&jwk.bits()));
    }
    for skip in set.skipped() {
        let element = &elements[skip.index];
        assert!(!skip.reason.description().is_empty());
        if skip.reason == SkipReason::PrivateKey {
            assert!(
                ["d", "p", "q", "dp", "dq", "qi", "oth"]
                    .iter()
                    .any(|m| element.get(*m).is_some())
            );
        }
        if skip.reason == SkipReason::NotRsa {
            assert_ne!(element.get("kty"), Some(&J::String("RSA".into())));
        }
    }
}

fn key_set_options() -> impl Strategy<Value = KeySetOptions> {
    (
        prop::sample::select(vec![2048u32, 2048, 1024, 4096, 8192]),
        prop::sample::select(vec![64usize, 64, 1, 3]),
    )
        .prop_map(|(bits, capacity)| {
            KeySetOptions::default()
                .with_min_rsa_bits(bits)
                .unwrap()
                .with_capacity(capacity)
                .unwrap()
        })
}

/// A JWK member edit: replace (or add) a member's value, or remove it.
fn jwk_edit() -> impl Strategy<Value = (String, Option<J>)> {
    let names = prop::sample::select(vec![
        "kty", "n", "e", "kid", "use", "alg", "key_ops", "x5t", "d", "p", "oth", "x5c", "crv",
    ]);
    let values = prop::sample::select(vec![
        J::Null,
        J::Bool(true),
        serde_json::json!(3),
        serde_json::json!(1.5),
        J::String("RSA".into()),
        J::String("EC".into()),
        J::String("sig".into()),
        J::String("enc".into()),
        J::String("RS256".into()),
        J::String("RS384".into()),
        J::String("AQAB".into()),
        J::String("Aw".into()),
        J::String("AQAC".into()),
        J::String("AQAB==".into()),
        J::String("A+/B".into()),
        J::String("".into()),
        J::String("x".repeat(300)),
        serde_json::json!(["verify"]),
        serde_json::json!(["sign", "verify"]),
        serde_json::json!(["sign"]),
        serde_json::json!(["verify", 1]),
        serde_json::json!([]),
        serde_json::json!({"a": [1, {"b": null}]}),
    ]);
    (names, prop::option::weighted(0.8, values)).prop_map(|(n, v)| (n.to_owned(), v))
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// Random bytes and random text as a JWKS document.
    #[test]
    fn random_bytes_as_jwks(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        text in "\\{\"keys\":\\[(\\{(\"[a-z]{1,3}\":(\"[A-Za-z0-9_=+/-]{0,12}\"|[0-9]|null|\\[\\]),?){0,5}\\},?){0,3}\\]\\}",
        options in key_set_options(),
    ) {
        check_jwks(&bytes, &options);
        check_jwks(text.as_bytes(), &options);
    }

    /// Vector JWKS documents mutated byte by byte.
    #[test]
    fn mutated_jwks_bytes(
        doc in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
        options in key_set_options(),
    ) {
        let mut doc = doc.get(JWKS_DOCS.as_slice()).clone();
        for m in &mutations {
            apply(&mut doc, m);
        }
        check_jwks(&doc, &options);
    }

    /// Vector JWKS documents with their keys' members edited, added or removed, and keys
    /// duplicated or dropped.
    #[test]
    fn mutated_jwks_members(
        doc in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), jwk_edit()), 1..5),
        duplicate in prop::option::of(any::<prop::sample::Index>()),
        options in key_set_options(),
    ) {
        let Ok(mut parsed) = serde_json::from_slice::<J>(doc.get(JWKS_DOCS.as_slice()).as_slice()) else {
            return Ok(());
        };
        let Some(keys) = parsed.get_mut("keys").and_then(J::as_array_mut) else {
            return Ok(());
        };
        if keys.is_empty() {
            return Ok(());
        }
        for (which, (name, value)) in edits {
            let at = which.index(keys.len());
            if let Some(key) = keys[at].as_object_mut() {
                match value {
                    Some(v) => { key.insert(name, v); }
                    None => { key.remove(&name); }
                }
            }
        }
        if let Some(i) = duplicate {
            let key = keys[i.index(keys.len())].clone();
            keys.push(key);
        }
        check_jwks(&serde_json::to_vec(&parsed).unwrap(), &options);
    }
}
