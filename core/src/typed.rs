//! Typed claims (feature `serde`): the payload of a [`Verified`] token deserialized into the
//! caller's own [`serde::Deserialize`] type with `serde-json-core`, without allocation, so
//! `heapless::String<N>` and `heapless::Vec<T, N>` fields work on a microcontroller.
//!
//! Only a verified payload is deserialized: the core's strict reader ([`crate::json`]) has already
//! accepted it as RFC 8259 JSON (UTF-8, grammar, escapes, no lone surrogates, depth at most
//! [`crate::json::MAX_DEPTH`], unique top-level names), and the signature and claims checks have
//! passed. `serde-json-core` is not a validator (it skips an unknown number or literal by scanning
//! to the next `,`, `}` or `]`, so it accepts invalid JSON such as `{"a":tru}`); here it only maps
//! already valid JSON onto a type. Members the type does not name are ignored.
//!
//! # Limits (serde-json-core 0.7)
//!
//! - **Integers** are read exactly, digit by digit, into the field's own type: `u64`/`i64` hold
//!   any NumericDate without loss. A number out of the field's range (`-1` or `300` for a `u8`)
//!   is [`ClaimsError::Mismatch`], and so is a number with a fraction or an exponent (`1.5`,
//!   `1e9`, `1.0`) for an integer field, although it is valid JSON and the validator reads it as a
//!   NumericDate (rounded up). For `exp`, `nbf` and `iat` prefer [`Verified::claims`], which holds
//!   the validator's own exact reading.
//! - **Floats** (`f32`/`f64` fields) go through `core`'s `str::parse::<f64>`, correctly rounded:
//!   an integer above 2^53 loses precision there. A `null` read into a float field gives `NaN`,
//!   not an error.
//! - **Escapes** in strings are decoded into a scratch buffer ([`SCRATCH_LEN`] bytes on the stack
//!   for [`Verified::deserialize_claims`], the caller's buffer for
//!   [`Verified::deserialize_claims_with_scratch`]); a string without a backslash is not copied.
//!   - Every string of the payload that contains an escape is decoded, **including the values and
//!     names of members the type ignores**: one longer than the scratch buffer (decoded) fails the
//!     whole call with [`ClaimsError::ScratchTooSmall`]. A buffer of `payload().len()` bytes is
//!     always enough.
//!   - `\uXXXX` is decoded as one Unicode scalar value; a UTF-16 surrogate pair such as
//!     `\ud83d\ude00` (valid JSON, accepted by the validator; Python's `json.dumps`, with its
//!     default `ensure_ascii`, writes every character outside the BMP this way) is refused, and
//!     the whole call fails with [`ClaimsError::UnsupportedEscape`], even when the string belongs
//!     to an ignored member. The same character written as raw UTF-8 is read normally.
//!   - A borrowed `&'a str` field borrows the payload only if its string has no escape; a string
//!     with an escape (even `\/`) cannot be borrowed and fails with [`ClaimsError::Mismatch`]. Use
//!     `heapless::String<N>` for strings that may be escaped.
//!   - Member names are decoded too, so `"s\u0075b"` is the member `sub`, as the validator reads
//!     it.
//! - **Types** that need `deserialize_any` (untagged or internally tagged enums,
//!   `#[serde(flatten)]`, which also need serde's `alloc` feature; self-describing values) or
//!   bytes (`&[u8]`) are refused with [`ClaimsError::UnsupportedType`]. Map keys must be `&str` or
//!   `heapless::String<N>`: serde-json-core 0.7 reaches `unreachable!()`, a panic, when a map with
//!   any other key type (integers, `char`, an enum, a newtype, alloc's `String`) meets a non-empty
//!   object.
//! - **Capacities** are checked: a string or array longer than its `heapless` field is
//!   [`ClaimsError::Mismatch`], never a truncation or a panic.
//! - Nested objects may repeat a name (only top-level names are unique); a derived struct refuses
//!   a repeated field ([`ClaimsError::Mismatch`]).

use core::fmt;

use serde::Deserialize;
use serde_json_core::de::Error as JsonError;

use crate::validator::Verified;

/// The size of the stack scratch buffer [`Verified::deserialize_claims`] decodes escaped strings
/// into, in bytes.
pub const SCRATCH_LEN: usize = 256;

/// Why a verified payload did not deserialize into the requested type. It names no payload text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The claims do not fit the type: a required field is missing or repeated, a value has
    /// another JSON type, a string or array exceeds the field's capacity, a number is out of the
    /// field's range or is not an integer for an integer field, an enum variant is unknown.
    Mismatch,
    /// A string holds an escape serde-json-core cannot decode: a `\uXXXX\uXXXX` UTF-16 surrogate
    /// pair.
    UnsupportedEscape,
    /// A string with escapes is longer, decoded, than the scratch buffer.
    ScratchTooSmall,
    /// The type needs what serde-json-core does not offer: `deserialize_any` (untagged or
    /// internally tagged enums, `#[serde(flatten)]`) or bytes.
    UnsupportedType,
}

impl ClaimsError {
    fn from_json(error: JsonError) -> ClaimsError {
        match error {
            JsonError::InvalidEscapeSequence => ClaimsError::UnsupportedEscape,
            JsonError::EscapedStringIsTooLong => ClaimsError::ScratchTooSmall,
            JsonError::AnyIsUnsupported | JsonError::BytesIsUnsupported => {
                ClaimsError::UnsupportedType
            }
            // Everything else, on a payload the strict reader accepted, is the type's shape
            // (serde's own errors arrive as `CustomError`).
            _ => ClaimsError::Mismatch,
        }
    }
}

impl fmt::Display for ClaimsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClaimsError::Mismatch => {
                "the token's claims do not fit the requested type (a missing or repeated field, \
                 another JSON type, a value too long or out of range)"
            }
            ClaimsError::UnsupportedEscape => {
                "a string in the token's claims holds a \\u escape serde-json-core cannot decode \
                 (a UTF-16 surrogate pair)"
            }
            ClaimsError::ScratchTooSmall => {
                "a string with escapes in the token's claims is longer than the scratch buffer"
            }
            ClaimsError::UnsupportedType => {
                "the requested type needs deserialize_any or bytes, which serde-json-core does \
                 not support"
            }
        })
    }
}

impl core::error::Error for ClaimsError {}

impl Verified {
    /// Deserializes the verified payload into `T`, decoding escaped strings in a
    /// [`SCRATCH_LEN`]-byte stack buffer; members `T` does not name are ignored. No allocation:
    /// use `heapless::String<N>` and `heapless::Vec<T, N>` (with heapless's `serde` feature) or
    /// borrowed `&str` for strings without escapes. The limits are in [the module
    /// documentation](crate::typed).
    ///
    /// ```
    /// use cryptr_guard_core::{ClaimsError, Verified};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct AccessClaims<'a> {
    ///     sub: heapless::String<64>,
    ///     scp: heapless::Vec<heapless::String<32>, 8>,
    ///     client_id: Option<&'a str>,
    ///     exp: u64,
    /// }
    ///
    /// fn subject(verified: &Verified) -> Result<heapless::String<64>, ClaimsError> {
    ///     let claims: AccessClaims<'_> = verified.deserialize_claims()?;
    ///     Ok(claims.sub)
    /// }
    /// ```
    pub fn deserialize_claims<'a, T: Deserialize<'a>>(&'a self) -> Result<T, ClaimsError> {
        let mut scratch = [0u8; SCRATCH_LEN];
        from_payload(self.payload(), &mut scratch)
    }

    /// [`Verified::deserialize_claims`] with the caller's scratch buffer for escaped strings: the
    /// longest escaped string of the payload, decoded, must fit (`payload().len()` bytes always
    /// do).
    pub fn deserialize_claims_with_scratch<'a, T: Deserialize<'a>>(
        &'a self,
        scratch: &mut [u8],
    ) -> Result<T, ClaimsError> {
        from_payload(self.payload(), scratch)
    }
}

/// Deserializes a payload the strict reader accepted.
fn from_payload<'a, T: Deserialize<'a>>(
    payload: &'a [u8],
    scratch: &mut [u8],
) -> Result<T, ClaimsError> {
    serde_json_core::from_slice_escaped(payload, scratch)
        .map(|(value, _consumed)| value)
        .map_err(ClaimsError::from_json)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    // Some test types exist only to be deserialized; their fields are never read.
    #![allow(dead_code)]

    use super::*;
    use heapless::{String as HString, Vec as HVec};
    use serde::Deserialize;

    /// `text` as a payload, after checking that the strict reader accepts it (every input here is
    /// a payload a verified token may carry).
    fn payload(text: &str) -> &[u8] {
        assert!(
            crate::json::parse_object(text.as_bytes()).is_ok(),
            "the strict reader refuses {text}"
        );
        text.as_bytes()
    }

    fn read<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, ClaimsError> {
        from_payload(payload(text), &mut [0u8; SCRATCH_LEN])
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Access {
        sub: HString<64>,
        scope: HVec<HString<32>, 8>,
        exp: u64,
    }

    #[test]
    fn heapless_fields_and_unknown_members_skipped() {
        let claims: Access = read(
            r#"{"iss":"https:\/\/auth.example.com","obj":{"a":[1,{"b":null}],"sub":"nested"},
               "sub":"user-1","n":[-0,1.5,1e400,true,false,null,"x]}"],
               "scope":["openid","email","read:orders"],"exp":1700003600,"e":{}}"#,
        )
        .unwrap();
        assert_eq!(claims.sub, "user-1");
        assert_eq!(
            claims.scope.iter().map(HString::as_str).collect::<Vec<_>>(),
            ["openid", "email", "read:orders"]
        );
        assert_eq!(claims.exp, 1_700_003_600);
    }

    #[test]
    fn capacity_exceeded_is_an_error() {
        let long_sub = format!(r#"{{"sub":"{}","scope":[],"exp":1}}"#, "a".repeat(65));
        assert_eq!(read::<Access>(&long_sub), Err(ClaimsError::Mismatch));
        let fits = format!(r#"{{"sub":"{}","scope":[],"exp":1}}"#, "a".repeat(64));
        assert_eq!(read::<Access>(&fits).unwrap().sub.len(), 64);

        let long_item = format!(r#"{{"sub":"u","scope":["{}"],"exp":1}}"#, "s".repeat(33));
        assert_eq!(read::<Access>(&long_item), Err(ClaimsError::Mismatch));
        let nine = r#"{"sub":"u","scope":["1","2","3","4","5","6","7","8","9"],"exp":1}"#;
        assert_eq!(read::<Access>(nine), Err(ClaimsError::Mismatch));
        // Escaped: the decoded length counts (`\u00e9` is 2 bytes of UTF-8, 6 of JSON).
        let escaped = format!(r#"{{"sub":"{}\u00e9","scope":[],"exp":1}}"#, "a".repeat(63));
        assert_eq!(read::<Access>(&escaped), Err(ClaimsError::Mismatch));
        let escaped = format!(r#"{{"sub":"{}\u00e9","scope":[],"exp":1}}"#, "a".repeat(62));
        assert_eq!(read::<Access>(&escaped).unwrap().sub.len(), 64);
    }

    #[test]
    fn missing_or_mistyped_required_field_is_an_error() {
        assert_eq!(
            read::<Access>(r#"{"scope":[],"exp":1}"#),
            Err(ClaimsError::Mismatch)
        );
        assert_eq!(
            read::<Access>(r#"{"sub":"u","scope":"openid email","exp":1}"#),
            Err(ClaimsError::Mismatch)
        );
        assert_eq!(
            read::<Access>(r#"{"sub":"u","scope":[],"exp":"1"}"#),
            Err(ClaimsError::Mismatch)
        );
        assert_eq!(read::<Access>(r#"{}"#), Err(ClaimsError::Mismatch));
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Optional<'a> {
        sub: Option<HString<16>>,
        nbf: Option<u64>,
        #[serde(borrow)]
        client_id: Option<&'a str>,
        scope: Option<HVec<HString<8>, 2>>,
    }

    #[test]
    fn option_fields() {
        let none: Optional<'_> = read(r#"{"nbf":null,"other":1}"#).unwrap();
        assert_eq!(
            none,
            Optional {
                sub: None,
                nbf: None,
                client_id: None,
                scope: None
            }
        );
        let some: Optional<'_> =
            read(r#"{"sub":"u","nbf":5,"client_id":"app","scope":["a"]}"#).unwrap();
        assert_eq!(some.sub.as_deref(), Some("u"));
        assert_eq!(some.nbf, Some(5));
        assert_eq!(some.client_id, Some("app"));
        assert_eq!(some.scope.unwrap().len(), 1);
        // A present value must still fit.
        assert_eq!(
            read::<Optional<'_>>(r#"{"scope":["a","b","c"]}"#),
            Err(ClaimsError::Mismatch)
        );
    }

    #[derive(Debug, Deserialize)]
    struct Numbers {
        u: Option<u64>,
        i: Option<i64>,
        f: Option<f64>,
        b: Option<u8>,
    }

    #[test]
    fn integers_are_exact_floats_go_through_f64() {
        let n: Numbers = read(r#"{"u":18446744073709551615,"i":-9223372036854775808}"#).unwrap();
        assert_eq!(n.u, Some(u64::MAX));
        assert_eq!(n.i, Some(i64::MIN));
        // 2^53 + 1: exact in an integer field, rounded in a float field.
        let n: Numbers = read(r#"{"u":9007199254740993,"f":9007199254740993}"#).unwrap();
        assert_eq!(n.u, Some(9_007_199_254_740_993));
        assert_eq!(n.f, Some(9_007_199_254_740_992.0));
        let n: Numbers = read(r#"{"f":1.5e3,"i":-0}"#).unwrap();
        assert_eq!(n.f, Some(1500.0));
        assert_eq!(n.i, Some(0));
        // `null` in an `Option` float field is `None` (in a plain float field: NaN, below).
        assert!(read::<Numbers>(r#"{"f":null}"#).unwrap().f.is_none());
        // Valid JSON numbers an integer field refuses.
        for text in [
            r#"{"u":1.5}"#,
            r#"{"u":1.0}"#,
            r#"{"u":1e9}"#,
            r#"{"u":-1}"#,
            r#"{"u":18446744073709551616}"#,
            r#"{"i":9223372036854775808}"#,
            r#"{"b":256}"#,
        ] {
            assert_eq!(
                read::<Numbers>(text).err(),
                Some(ClaimsError::Mismatch),
                "{text}"
            );
        }
    }

    #[derive(Debug, Deserialize)]
    struct FloatOnly {
        f: f64,
    }

    #[test]
    fn null_in_a_float_field_is_nan() {
        assert!(read::<FloatOnly>(r#"{"f":null}"#).unwrap().f.is_nan());
    }

    #[derive(Debug, Deserialize)]
    struct Strings<'a> {
        name: Option<HString<64>>,
        #[serde(borrow)]
        tenant: Option<&'a str>,
        sub: Option<HString<16>>,
    }

    #[test]
    fn escapes_are_decoded_into_owned_strings() {
        let s: Strings<'_> =
            read(r#"{"name":"caf\u00e9 \/ \"q\" \\ \n \u20ac \u0000 😀 é"}"#).unwrap();
        assert_eq!(s.name.unwrap(), "café / \"q\" \\ \n € \0 😀 é");
        // Member names are decoded too: `s\u0075b` is `sub`, as the validator reads it.
        let s: Strings<'_> = read(r#"{"s\u0075b":"u"}"#).unwrap();
        assert_eq!(s.sub.unwrap(), "u");
    }

    #[test]
    fn borrowed_strings_only_without_escapes() {
        let text = r#"{"tenant":"shark-academy"}"#;
        let s: Strings<'_> = read(text).unwrap();
        let tenant = s.tenant.unwrap();
        assert_eq!(tenant, "shark-academy");
        // Borrowed from the payload, not copied.
        assert!(text.as_bytes().as_ptr_range().contains(&tenant.as_ptr()));
        for text in [r#"{"tenant":"a\/b"}"#, r#"{"tenant":"caf\u00e9"}"#] {
            assert_eq!(read::<Strings<'_>>(text).err(), Some(ClaimsError::Mismatch));
        }
    }

    #[test]
    fn surrogate_pairs_are_refused_even_in_ignored_members() {
        let wanted = r#"{"name":"\ud83d\ude00"}"#;
        assert_eq!(
            read::<Strings<'_>>(wanted).err(),
            Some(ClaimsError::UnsupportedEscape)
        );
        let ignored = r#"{"sub":"u","nickname":"\ud83d\ude00"}"#;
        assert_eq!(
            read::<Strings<'_>>(ignored).err(),
            Some(ClaimsError::UnsupportedEscape)
        );
        let ignored_name = r#"{"sub":"u","\ud83d\ude00":1}"#;
        assert_eq!(
            read::<Strings<'_>>(ignored_name).err(),
            Some(ClaimsError::UnsupportedEscape)
        );
        // A BMP escape and the same character as raw UTF-8 are fine.
        assert!(read::<Strings<'_>>(r#"{"nickname":"\u263a 😀"}"#).is_ok());
    }

    #[test]
    fn scratch_bounds_every_escaped_string() {
        // An ignored member whose escaped string is longer, decoded, than the scratch buffer.
        let text = format!(
            r#"{{"sub":"u","picture":"https:\/\/{}"}}"#,
            "p".repeat(SCRATCH_LEN)
        );
        let bytes = payload(&text);
        assert_eq!(
            from_payload::<Strings<'_>>(bytes, &mut [0u8; SCRATCH_LEN]).err(),
            Some(ClaimsError::ScratchTooSmall)
        );
        // A buffer of the payload's length is always enough.
        let mut scratch = vec![0u8; bytes.len()];
        let s: Strings<'_> = from_payload(bytes, &mut scratch).unwrap();
        assert_eq!(s.sub.unwrap(), "u");
        // Strings without escapes need no scratch at all.
        let plain = format!(r#"{{"sub":"u","picture":"{}"}}"#, "p".repeat(1000));
        assert!(from_payload::<Strings<'_>>(payload(&plain), &mut []).is_ok());
        let one = r#"{"sub":"\/"}"#;
        assert_eq!(
            from_payload::<Strings<'_>>(payload(one), &mut []).err(),
            Some(ClaimsError::ScratchTooSmall)
        );
        assert!(from_payload::<Strings<'_>>(payload(one), &mut [0u8; 1]).is_ok());
    }

    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    enum StringOrList {
        One(HString<32>),
        Many(HVec<HString<8>, 2>),
    }

    #[derive(Debug, Deserialize)]
    struct Untagged {
        scope: StringOrList,
    }

    #[derive(Debug, Deserialize)]
    struct Bytes<'a> {
        sub: &'a [u8],
    }

    #[test]
    fn types_needing_deserialize_any_or_bytes_are_refused() {
        assert_eq!(
            read::<Untagged>(r#"{"scope":"openid"}"#).err(),
            Some(ClaimsError::UnsupportedType)
        );
        assert_eq!(
            read::<Bytes<'_>>(r#"{"sub":"u"}"#).err(),
            Some(ClaimsError::UnsupportedType)
        );
    }

    #[derive(Debug, Deserialize)]
    struct Actor {
        act: ActorSub,
    }

    #[derive(Debug, Deserialize)]
    struct ActorSub {
        sub: HString<8>,
    }

    #[test]
    fn repeated_nested_field_is_an_error() {
        // Only top-level names must be unique; the derived struct refuses the repeat.
        assert_eq!(
            read::<Actor>(r#"{"act":{"sub":"a","sub":"b"}}"#).err(),
            Some(ClaimsError::Mismatch)
        );
    }

    #[derive(Debug, Deserialize)]
    struct StringKeys {
        roles: heapless::LinearMap<HString<8>, u32, 4>,
    }

    #[derive(Debug, Deserialize)]
    struct IntegerKeys {
        roles: heapless::LinearMap<u8, u32, 4>,
    }

    #[test]
    fn maps_with_string_keys() {
        let m: StringKeys = read(r#"{"roles":{"admin":1,"r\u00e9ad":2}}"#).unwrap();
        assert_eq!(m.roles.get("admin"), Some(&1));
        assert_eq!(m.roles.get("réad"), Some(&2));
    }

    /// The documented serde-json-core 0.7 limit: a map whose keys are not strings meets
    /// `unreachable!()`. If this starts passing without a panic, update the module documentation.
    #[test]
    #[should_panic(expected = "internal error: entered unreachable code")]
    fn maps_with_other_keys_panic_in_serde_json_core() {
        let _ = read::<IntegerKeys>(r#"{"roles":{"1":2}}"#);
    }

    #[test]
    fn errors_are_sentences_without_payload_text() {
        for error in [
            ClaimsError::Mismatch,
            ClaimsError::UnsupportedEscape,
            ClaimsError::ScratchTooSmall,
            ClaimsError::UnsupportedType,
        ] {
            let text = error.to_string();
            assert!(text.starts_with("the ") || text.starts_with("a "), "{text}");
            let _: &dyn core::error::Error = &error;
        }
    }

    #[derive(Debug, Deserialize)]
    struct OnlySub<'a> {
        sub: &'a str,
    }

    /// Why serde-json-core is not the validator: it skips unknown values by scanning to the next
    /// delimiter, so it reads documents the strict reader refuses.
    #[test]
    fn serde_json_core_alone_accepts_invalid_json() {
        for text in [
            r#"{"a":tru,"sub":"u"}"#,
            r#"{"a":hello world,"sub":"u"}"#,
            r#"{"a":01,"sub":"u"}"#,
            r#"{"a":"x","a":"y","sub":"u"}"#,
        ] {
            assert!(
                crate::json::parse_object(text.as_bytes()).is_err(),
                "{text}"
            );
            let (claims, _) = serde_json_core::from_str::<OnlySub<'_>>(text).unwrap();
            assert_eq!(claims.sub, "u");
        }
    }

    /// End to end: a token of the conformance vectors, validated, then read.
    #[test]
    fn verified_token_end_to_end() {
        #[derive(Debug, Deserialize)]
        struct Claims<'a> {
            iss: &'a str,
            sub: HString<64>,
            scope: Option<HVec<HString<32>, 8>>,
            iat: u64,
            exp: i64,
        }
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/examples.json")).unwrap();
        let keys = crate::KeySet::from_jwks(&serde_json::to_vec(&file["jwks"]).unwrap()).unwrap();
        let case = file["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "examples/valid-4096")
            .unwrap();
        let validator = crate::Validator::new(crate::Options::new(
            ["https://auth.cryptr.eu/t/shark-academy"],
            ["https://api.example.com"],
        ))
        .unwrap();
        let token = case["token"].as_str().unwrap().as_bytes();
        let verified = validator.validate(token, &keys, 1_700_000_000).unwrap();
        let claims: Claims<'_> = verified.deserialize_claims().unwrap();
        assert_eq!(claims.iss, "https://auth.cryptr.eu/t/shark-academy");
        assert_eq!(claims.sub, "user-1");
        assert!(claims.scope.is_none());
        assert_eq!(claims.iat, 1_699_999_940);
        assert_eq!(Some(claims.exp), verified.claims().exp);
        let again: Claims<'_> = verified
            .deserialize_claims_with_scratch(&mut [0u8; 4])
            .unwrap();
        assert_eq!(again.sub, claims.sub);
    }
}
