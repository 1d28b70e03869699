//! Shared by the fuzz targets: the fixed key set from the vectors and the answer checks.

#![allow(dead_code)]

use std::sync::LazyLock;

use cryptr_guard_core::json;
use cryptr_guard_core::{Error, ErrorKind, KeySet, Verified};

/// `tests/vectors/examples.json`, compiled in: its `jwks` is the fixed key set (2048, 3072 and
/// 4096-bit keys with kids `k2048`, `k3072`, `k4096`).
pub const EXAMPLES: &[u8] = include_bytes!("../../tests/vectors/examples.json");

pub static KEYS: LazyLock<KeySet> = LazyLock::new(|| {
    let file = json::parse_object(EXAMPLES).expect("examples.json is strict JSON");
    let jwks = file.get("jwks").expect("examples.json has a jwks");
    KeySet::from_jwks(jwks.raw()).expect("the examples' key set is valid")
});

/// A little-endian reader of fuzz bytes that never fails (missing bytes read as zero).
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |acc, i| acc | u64::from(self.u8()) << (8 * i))
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// Every validation answer must be a SPEC §3 code of validation (never a host-only one), and a
/// success must hand out a strict JSON object whose `kid` names a key of the set.
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
            assert!(json::parse_object(v.payload()).is_ok());
            assert_eq!(v.payload_str().as_bytes(), v.payload());
            if let Some(kid) = v.kid() {
                assert!(keys.kids().any(|k| k == Some(kid)));
            }
        }
    }
}
