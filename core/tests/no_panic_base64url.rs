//! Robustness of the base64url functions: on any bytes and on base64url-like text, encoding and
//! strict decoding round-trip, strict decoding is canonical, key-material decoding accepts a
//! superset of it, and decoding into a too-small buffer answers without panicking.
//!
//! Each property runs the number of cases its `proptest_config` gives; set `PROPTEST_CASES` for a
//! longer run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::proptest_config;
use cryptr_guard_core::base64url;
use proptest::prelude::*;

proptest! {
    #![proptest_config(proptest_config(512))]

    /// base64url: one string, one decoding; key material decoding is a superset.
    #[test]
    fn base64url_functions(
        bytes in prop::collection::vec(any::<u8>(), 0..120),
        text in "[A-Za-z0-9_=+/-]{0,64}",
    ) {
        let encoded = base64url::encode(&bytes);
        prop_assert_eq!(base64url::decode(encoded.as_bytes()), Some(bytes.clone()));
        prop_assert_eq!(base64url::decoded_len_upper(encoded.len()) >= bytes.len(), true);
        let mut buffer = vec![0u8; bytes.len()];
        prop_assert_eq!(base64url::decode_into(encoded.as_bytes(), &mut buffer), Some(&bytes[..]));
        for input in [&bytes[..], text.as_bytes()] {
            let strict = base64url::decode(input);
            if let Some(decoded) = &strict {
                // Canonical: re-encoding gives the input back.
                let reencoded = base64url::encode(decoded);
                prop_assert_eq!(reencoded.as_bytes(), input);
                if !decoded.is_empty() {
                    let lenient = base64url::decode_key_material(input);
                    prop_assert_eq!(lenient.as_ref(), Some(decoded));
                }
            }
            let lenient = base64url::decode_key_material(input);
            if let Some(decoded) = lenient {
                prop_assert!(!decoded.is_empty());
                prop_assert!(input.iter().all(|c| c.is_ascii_alphanumeric() || b"-_+/=".contains(c)));
            }
            let mut small = [0u8; 8];
            let _ = base64url::decode_into(input, &mut small);
        }
    }
}
