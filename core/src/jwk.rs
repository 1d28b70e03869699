//! JWK and JWKS parsing (SPEC §4): which keys of an issuer's set are usable for RS256, parsed once
//! into their fast verification form.

use alloc::string::String;
use alloc::vec::Vec;
use sha2::{Digest, Sha256};

use crate::base64url;
use crate::error::{ConfigError, Error, ErrorKind};
use crate::json::{self, Kind, Object};
use crate::rs256::PublicKey;

/// The largest modulus accepted, in bits.
pub const MAX_RSA_BITS: u32 = 8192;
/// The default smallest modulus accepted, in bits (RFC 7518 §3.3).
pub const DEFAULT_MIN_RSA_BITS: u32 = 2048;
/// The smallest value `min_rsa_bits` may be lowered to, for legacy issuers.
pub const LOWEST_MIN_RSA_BITS: u32 = 1024;
/// The default number of elements a `keys` array may have.
pub const DEFAULT_CAPACITY: usize = 64;
/// The longest `kid` accepted, in bytes of UTF-8 after unescaping.
pub const MAX_KID_LEN: usize = 256;

/// Options of a key set (SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySetOptions {
    min_rsa_bits: u32,
    capacity: usize,
}

impl Default for KeySetOptions {
    fn default() -> Self {
        KeySetOptions {
            min_rsa_bits: DEFAULT_MIN_RSA_BITS,
            capacity: DEFAULT_CAPACITY,
        }
    }
}

impl KeySetOptions {
    /// The smallest modulus accepted: an integer from 1024 to 8192 (default 2048).
    pub fn with_min_rsa_bits(mut self, bits: u32) -> Result<Self, ConfigError> {
        if !(LOWEST_MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(ConfigError(
                "min_rsa_bits must be an integer from 1024 to 8192",
            ));
        }
        self.min_rsa_bits = bits;
        Ok(self)
    }

    /// How many elements the `keys` array may have, usable or not (default 64, at least 1).
    pub fn with_capacity(mut self, capacity: usize) -> Result<Self, ConfigError> {
        if capacity == 0 {
            return Err(ConfigError("the key-set capacity must be at least 1"));
        }
        self.capacity = capacity;
        Ok(self)
    }

    /// The smallest modulus accepted, in bits.
    pub fn min_rsa_bits(&self) -> u32 {
        self.min_rsa_bits
    }

    /// How many elements the `keys` array may have.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Why an element of `keys` is not usable for RS256.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// `kty` is not `RSA`.
    NotRsa,
    /// The key carries a private member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`).
    PrivateKey,
    /// `n` is missing, not a string, or not base64.
    BadModulusEncoding,
    /// `e` is missing, not a string, or not base64.
    BadExponentEncoding,
    /// The modulus is smaller than `min_rsa_bits` or larger than 8192 bits.
    ModulusSize,
    /// `e` is even, below 3, or not below 2^32.
    BadExponent,
    /// `use` is present and not `sig`.
    NotForSignatures,
    /// `alg` is present and not `RS256`.
    OtherAlgorithm,
    /// `key_ops` is present and not an array of strings containing `verify`.
    NotForVerify,
    /// `kid` is present and not a string of at most 256 bytes.
    BadKid,
}

impl SkipReason {
    /// A short, stable, human description.
    pub const fn description(self) -> &'static str {
        match self {
            SkipReason::NotRsa => "kty is not RSA",
            SkipReason::PrivateKey => "the key carries private key material",
            SkipReason::BadModulusEncoding => "n is missing or not base64",
            SkipReason::BadExponentEncoding => "e is missing or not base64",
            SkipReason::ModulusSize => "the modulus size is out of the accepted range",
            SkipReason::BadExponent => "e is not an odd integer in [3, 2^32)",
            SkipReason::NotForSignatures => "use is not sig",
            SkipReason::OtherAlgorithm => "alg is not RS256",
            SkipReason::NotForVerify => "key_ops does not allow verify",
            SkipReason::BadKid => "kid is not a string of at most 256 bytes",
        }
    }
}

/// An element of `keys` that was kept out of the set, with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedKey {
    /// Its index in the `keys` array.
    pub index: usize,
    /// Its `kid`, when that is a string.
    pub kid: Option<String>,
    /// Why it is not usable.
    pub reason: SkipReason,
}

/// A usable RS256 verification key.
#[derive(Clone, Debug)]
pub struct Jwk {
    kid: Option<String>,
    x5t: Option<String>,
    /// `None` when the modulus is even: usable by SPEC §4's rules, but no signature verifies.
    key: Option<PublicKey>,
    bits: u32,
}

impl Jwk {
    /// The key's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key's `x5t`, when it is a string.
    pub fn x5t(&self) -> Option<&str> {
        self.x5t.as_deref()
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// SPEC §2 step 8 with this key: the signature length must equal the modulus length, then
    /// RSASSA-PKCS1-v1_5 with SHA-256 must verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key
            .as_ref()
            .is_some_and(|k| k.verify(message, signature))
    }

    pub(crate) fn public_key(&self) -> Option<&PublicKey> {
        self.key.as_ref()
    }
}

/// The usable keys of a JWKS document, in document order, plus the skipped ones' reasons.
#[derive(Clone, Debug)]
pub struct KeySet {
    keys: Vec<Jwk>,
    skipped: Vec<SkippedKey>,
    fingerprint: [u8; 32],
}

const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

fn invalid(detail: &'static str) -> Error {
    Error::new(ErrorKind::InvalidJwks, detail)
}

impl KeySet {
    /// Parses a JWKS document with the default options.
    pub fn from_jwks(document: &[u8]) -> Result<KeySet, Error> {
        KeySet::from_jwks_with(document, &KeySetOptions::default())
    }

    /// Parses a JWKS document: `invalid_jwks` if the document itself is unusable, otherwise the
    /// usable keys and the reasons of the skipped ones.
    pub fn from_jwks_with(document: &[u8], options: &KeySetOptions) -> Result<KeySet, Error> {
        let root = json::parse_object(document)
            .map_err(|_| invalid("the key set is not a strict JSON object"))?;
        let items = root
            .get("keys")
            .and_then(|v| v.array_items())
            .ok_or_else(|| invalid("the key set has no keys array"))?;
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for (index, item) in items.enumerate() {
            if index >= options.capacity {
                return Err(invalid(
                    "the keys array has more elements than the set's capacity",
                ));
            }
            if item.kind() != Kind::Object {
                return Err(invalid("an element of keys is not an object"));
            }
            let object = json::parse_object(item.raw())
                .map_err(|_| invalid("a key object repeats a member name"))?;
            match parse_key(&object, options) {
                Ok(jwk) => keys.push(jwk),
                Err(reason) => skipped.push(SkippedKey {
                    index,
                    kid: object.get("kid").and_then(|v| v.as_str()).map(String::from),
                    reason,
                }),
            }
        }
        Ok(KeySet {
            keys,
            skipped,
            fingerprint: fingerprint(document, options),
        })
    }

    /// The usable keys, in document order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The elements of `keys` that are not usable, with their reasons.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// The `kid` of every usable key, in document order (`None` for a key without one).
    pub fn kids(&self) -> impl Iterator<Item = Option<&str>> {
        self.keys.iter().map(Jwk::kid)
    }

    /// The set's identity: a SHA-256 over the document *and* the options it was parsed with (the
    /// same document under a lower `min_rsa_bits` is another set, with more usable keys).
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// SPEC §2 step 7: the key for a token header's `kid` / `x5t`.
    pub fn select(&self, kid: Option<&str>, x5t: Option<&str>) -> Option<&Jwk> {
        match (kid, x5t) {
            (Some(kid), _) => self.keys.iter().find(|k| k.kid() == Some(kid)),
            (None, Some(x5t)) => self.keys.iter().find(|k| k.x5t() == Some(x5t)),
            (None, None) => match self.keys.as_slice() {
                [only] => Some(only),
                _ => None,
            },
        }
    }
}

fn fingerprint(document: &[u8], options: &KeySetOptions) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"cryptr-guard key set v2\0");
    hash.update(options.min_rsa_bits.to_be_bytes());
    hash.update((options.capacity as u64).to_be_bytes());
    hash.update(document);
    hash.finalize().into()
}

/// SPEC §4's rule on `e`: odd, and `3 <= e < 2^32`.
fn usable_exponent(e: &[u8]) -> Option<u32> {
    small_integer(e).filter(|&e| e >= 3 && e % 2 == 1)
}

fn parse_key(key: &Object<'_>, options: &KeySetOptions) -> Result<Jwk, SkipReason> {
    let string = |name: &str| key.get(name).and_then(|v| v.as_str());
    if string("kty").as_deref() != Some("RSA") {
        return Err(SkipReason::NotRsa);
    }
    if PRIVATE_MEMBERS.iter().any(|m| key.contains(m)) {
        return Err(SkipReason::PrivateKey);
    }
    let n = string("n")
        .and_then(|n| base64url::decode_key_material(n.as_bytes()))
        .ok_or(SkipReason::BadModulusEncoding)?;
    let e = string("e")
        .and_then(|e| base64url::decode_key_material(e.as_bytes()))
        .ok_or(SkipReason::BadExponentEncoding)?;
    let bits = bit_length(&n);
    if bits < options.min_rsa_bits || bits > MAX_RSA_BITS {
        return Err(SkipReason::ModulusSize);
    }
    usable_exponent(&e).ok_or(SkipReason::BadExponent)?;
    if key.contains("use") && string("use").as_deref() != Some("sig") {
        return Err(SkipReason::NotForSignatures);
    }
    if key.contains("alg") && string("alg").as_deref() != Some("RS256") {
        return Err(SkipReason::OtherAlgorithm);
    }
    if let Some(ops) = key.get("key_ops") {
        let items = ops.array_items().ok_or(SkipReason::NotForVerify)?;
        let mut verify = false;
        for op in items {
            match op.as_str() {
                Some(op) => verify |= op == "verify",
                None => return Err(SkipReason::NotForVerify),
            }
        }
        if !verify {
            return Err(SkipReason::NotForVerify);
        }
    }
    let kid = match key.get("kid") {
        None => None,
        Some(v) => match v.as_str() {
            Some(kid) if kid.len() <= MAX_KID_LEN => Some(kid.into_owned()),
            _ => return Err(SkipReason::BadKid),
        },
    };
    Ok(Jwk {
        kid,
        x5t: string("x5t").map(|s| s.into_owned()),
        key: PublicKey::from_be_bytes(&n, &e).ok(),
        bits,
    })
}

/// The bit length of a big-endian unsigned integer (leading zero octets do not count).
fn bit_length(be: &[u8]) -> u32 {
    let Some(first) = be.iter().position(|&b| b != 0) else {
        return 0;
    };
    let significant = be.get(first..).unwrap_or_default();
    let top = significant.first().copied().unwrap_or(0);
    (significant.len() as u32 - 1).saturating_mul(8) + (8 - top.leading_zeros())
}

/// A big-endian unsigned integer below 2^32, leading zero octets tolerated.
fn small_integer(be: &[u8]) -> Option<u32> {
    let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    let significant = be.get(first..)?;
    if significant.len() > 4 {
        return None;
    }
    Some(
        significant
            .iter()
            .fold(0u32, |acc, &b| acc << 8 | u32::from(b)),
    )
}

/// A raw RS256 check (SPEC §2 step 8 alone) for a JWK's `n` and `e` as published (lenient base64,
/// SPEC §4). Of the key-usability rules only the arithmetic ones apply: `e` odd with
/// `3 <= e < 2^32` (with `e = 1` every message would "verify") and a modulus of 1024 to 8192 bits
/// (the lowest `min_rsa_bits` allows); `false` for any other key.
pub fn verify_raw(n: &[u8], e: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let (Some(n), Some(e)) = (
        base64url::decode_key_material(n),
        base64url::decode_key_material(e),
    ) else {
        return false;
    };
    let bits = bit_length(&n);
    if !(LOWEST_MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) || usable_exponent(&e).is_none() {
        return false;
    }
    PublicKey::from_be_bytes(&n, &e).is_ok_and(|key| key.verify(message, signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_ignores_leading_zeros() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f, 0xff]), 15);
    }

    #[test]
    fn small_integers() {
        assert_eq!(small_integer(&[1, 0, 1]), Some(65537));
        assert_eq!(small_integer(&[0, 0, 0, 0, 3]), Some(3));
        assert_eq!(small_integer(&[1, 0, 0, 0, 0]), None);
        assert_eq!(small_integer(&[]), Some(0));
    }

    #[test]
    fn capacity_and_min_bits_are_validated() {
        assert!(KeySetOptions::default().with_min_rsa_bits(1023).is_err());
        assert!(KeySetOptions::default().with_min_rsa_bits(8193).is_err());
        assert!(KeySetOptions::default().with_min_rsa_bits(1024).is_ok());
        assert!(KeySetOptions::default().with_capacity(0).is_err());
    }

    #[test]
    fn document_level_errors() {
        for doc in [
            &b"[]"[..],
            b"{}",
            b"{\"keys\":{}}",
            b"{\"keys\":[1]}",
            b"{\"keys\":[{\"kty\":\"RSA\",\"kty\":\"RSA\"}]}",
            b"{\"keys\":[],\"keys\":[]}",
            b"{\"keys\":[]",
        ] {
            let err = KeySet::from_jwks(doc).err().map(|e| e.kind());
            assert_eq!(err, Some(ErrorKind::InvalidJwks), "{doc:?}");
        }
        let set = KeySet::from_jwks(b"{\"keys\":[{\"kty\":\"EC\"}, {}]}");
        assert_eq!(set.map(|s| s.skipped().len()).ok(), Some(2));
        let many = alloc::format!("{{\"keys\":[{}{{}}]}}", "{},".repeat(64));
        assert!(KeySet::from_jwks(many.as_bytes()).is_err());
    }
}
