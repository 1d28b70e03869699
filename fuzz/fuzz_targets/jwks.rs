//! JWKS parsing: `KeySet::from_jwks_with` on arbitrary documents, with key-set options from the
//! first input byte. Checks that the only error is `invalid_jwks`, that the usable and skipped keys
//! account for the `keys` array within its capacity, that usable keys respect the size bounds, and
//! that key selection never panics.
//!
//! Input: `[options] ++ document`.

#![no_main]

mod common;

use common::Bytes;
use cryptr_guard_core::{ErrorKind, KeySet, KeySetOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let selector = input.u8();
    let document = input.rest();
    let min_bits = [2048, 1024, 4096, 8192][usize::from(selector & 3)];
    let capacity = [64, 1, 3, 1000][usize::from((selector >> 2) & 3)];
    let options = KeySetOptions::default()
        .with_min_rsa_bits(min_bits)
        .and_then(|o| o.with_capacity(capacity))
        .expect("valid key-set options");

    let set = match KeySet::from_jwks_with(document, &options) {
        Ok(set) => set,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidJwks);
            return;
        }
    };
    assert!(set.keys().len() + set.skipped().len() <= capacity);
    let mut previous = None;
    for skipped in set.skipped() {
        assert!(previous.is_none_or(|p| p < skipped.index));
        assert!(skipped.index < set.keys().len() + set.skipped().len());
        assert!(!skipped.reason.description().is_empty());
        previous = Some(skipped.index);
    }
    for key in set.keys() {
        assert!((min_bits..=8192).contains(&key.bits()));
        assert!(key.kid().is_none_or(|k| k.len() <= 256));
        // Selecting by its own kid finds a key with that kid.
        if let Some(kid) = key.kid() {
            assert_eq!(set.select(Some(kid), None).and_then(|k| k.kid()), Some(kid));
        }
        if let Some(x5t) = key.x5t() {
            assert_eq!(set.select(None, Some(x5t)).and_then(|k| k.x5t()), Some(x5t));
        }
        // A signature of the wrong length or content never verifies.
        assert!(!key.verify(b"message", &[0u8; 16]));
    }
    let _ = set.select(None, None);
    let again = KeySet::from_jwks_with(document, &options).expect("deterministic");
    assert_eq!(
        set.kids().collect::<Vec<_>>(),
        again.kids().collect::<Vec<_>>()
    );
    assert_eq!(set.skipped(), again.skipped());
    assert_eq!(set.fingerprint(), again.fingerprint());
});
