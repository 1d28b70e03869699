//! Robustness properties of the core (issue 2 §5, issue 6 §3): whatever the input, the core never
//! panics, always answers one of the SPEC §3 codes, and its answers agree with small independent
//! models of the SPEC.
//!
//! - random bytes as tokens, as JWKS documents, as JSON documents and as base64url;
//! - valid tokens from `tests/vectors/examples.json` mutated byte by byte (only the unchanged token
//!   may validate: a mutation never forges a token);
//! - headers and payloads rebuilt from generated members (types, escapes, duplicates, numbers such
//!   as `1e400`, `-0`, `1.5`, deep nesting, huge strings) under the original signature, which must
//!   fail no later than the signature step, and signed by a test-only RSA key, so that the
//!   post-signature steps run and are compared with a model of SPEC §2 steps 1–15;
//! - mutated JWKS documents (`examples_jwks.json`, `real/real_jwks.json`): only `invalid_jwks` or a
//!   key set whose usable keys satisfy the SPEC §4 rules, checked against serde_json's view;
//! - the key-set cache policy under random event sequences with arbitrary `now` values.
//!
//! The default case counts keep the whole file well under a minute in a debug build; set
//! `PROPTEST_CASES` for a longer run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::LazyLock;

use cryptr_guard_core::base64url;
use cryptr_guard_core::json::{self, Kind};
use cryptr_guard_core::keyset_cache::{CacheConfig, Decision, KeySetCache};
use cryptr_guard_core::{
    Audience, Error, ErrorKind, KeySet, KeySetOptions, Options, RequiredClaims, SkipReason,
    TokenCache, Validator, Verified,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::Value as J;
use sha2::Sha256;

// ------------------------------------------------------------------------------------------------
// Fixtures
// ------------------------------------------------------------------------------------------------

fn vector(path: &str) -> J {
    let full = format!("{}/../tests/vectors/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn options_from(o: &J) -> Options {
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
struct ValidCase {
    token: Vec<u8>,
    validator: Validator,
    now: u64,
}

struct Examples {
    keys: KeySet,
    valid: Vec<ValidCase>,
    /// Every token of the file, valid or not.
    tokens: Vec<Vec<u8>>,
}

static EXAMPLES: LazyLock<Examples> = LazyLock::new(|| {
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
static JWKS_DOCS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
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

/// SplitMix64, deterministic: the test key is the same in every run.
struct SeededRng(u64);

impl rsa::rand_core::TryRng for SeededRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let v = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for SeededRng {}

const SIGNER_KID: &str = "signer";
const SIGNER_X5T: &str = "signer-thumbprint";
const OTHER_KID: &str = "other";
const ISSUER: &str = "https://auth.example.com/t/acme";
const AUDIENCE: &str = "https://api.example.com";
const NOW: u64 = 1_700_000_000;

/// A test-only issuer: signs whatever header and payload text it is given.
struct TestSigner {
    key: SigningKey<Sha256>,
    /// `signer` (with an `x5t`) and `other` (the examples' 2048-bit key).
    two_keys: KeySet,
    /// `signer` alone.
    one_key: KeySet,
}

static SIGNER: LazyLock<TestSigner> = LazyLock::new(|| {
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
    fn sign(&self, signing_input: &[u8]) -> String {
        base64url::encode(&self.key.sign(signing_input).to_vec())
    }
}

// ------------------------------------------------------------------------------------------------
// Checks every answer must pass
// ------------------------------------------------------------------------------------------------

/// Every error is one of the SPEC §3 codes a validation may give (never a host-only one) and has a
/// description; every success hands out a strict JSON object payload whose `kid` names a key of
/// the set.
fn check_answer(result: &Result<Verified, Error>, keys: &KeySet) {
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
fn validate(
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

fn kind(result: &Result<Verified, Error>) -> Option<ErrorKind> {
    result.as_ref().err().map(Error::kind)
}

fn proptest_config(cases: u32) -> Config {
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

// ------------------------------------------------------------------------------------------------
// Generated JSON values with their meaning (the model's view)
// ------------------------------------------------------------------------------------------------

/// What a generated JSON text means to SPEC §2.
#[derive(Clone, Debug, PartialEq)]
enum Meaning {
    /// A number, rounded up and clamped to i64 as SPEC §2 says.
    Num(i64),
    /// A string, unescaped.
    Str(String),
    /// An array of strings, unescaped.
    Strs(Vec<String>),
    /// Any other valid value.
    Other,
    /// Not valid JSON (the document must be rejected).
    Invalid,
}

#[derive(Clone)]
struct Gen {
    text: String,
    meaning: Meaning,
    /// Nesting levels of the value itself (scalars 0, `[]` 1).
    depth: usize,
}

impl std::fmt::Debug for Gen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Huge values would drown a failure report.
        let short = |t: &str| -> String {
            if t.len() > 80 {
                format!(
                    "{}…({} bytes)",
                    t.chars().take(60).collect::<String>(),
                    t.len()
                )
            } else {
                t.to_owned()
            }
        };
        let meaning = match &self.meaning {
            Meaning::Str(v) => format!("Str({:?})", short(v)),
            other => format!("{other:?}"),
        };
        write!(f, "{} => {meaning}", short(&self.text))
    }
}

fn lit(text: impl Into<String>, meaning: Meaning, depth: usize) -> Gen {
    Gen {
        text: text.into(),
        meaning,
        depth,
    }
}

/// A decimal number `m × 10^(exp - frac)` written with `frac` fraction digits and an exponent.
fn number() -> impl Strategy<Value = Gen> {
    let structured = (
        any::<bool>(),
        0u64..=2_000_000_000_000,
        0u32..4,
        prop::option::of(-4i32..=4),
        any::<bool>(),
    )
        .prop_map(|(negative, m, frac, exp, upper)| {
            let digits = format!("{:0>width$}", m, width = frac as usize + 1);
            let (int, fraction) = digits.split_at(digits.len() - frac as usize);
            let mut text = String::new();
            if negative {
                text.push('-');
            }
            text.push_str(int);
            if frac > 0 {
                text.push('.');
                text.push_str(fraction);
            }
            let e = exp.unwrap_or(0);
            if let Some(exp) = exp {
                text.push(if upper { 'E' } else { 'e' });
                text.push_str(&exp.to_string());
            }
            let scale = e - frac as i32;
            let signed = if negative {
                -i128::from(m)
            } else {
                i128::from(m)
            };
            let value = if scale >= 0 {
                signed * 10i128.pow(scale as u32)
            } else {
                let d = 10i128.pow((-scale) as u32);
                // Ceiling division.
                let q = signed.div_euclid(d);
                if signed.rem_euclid(d) == 0 { q } else { q + 1 }
            };
            let clamped = value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
            lit(text, Meaning::Num(clamped), 0)
        });
    let special = prop::sample::select(vec![
        ("1e400", i64::MAX),
        ("-1e400", i64::MIN),
        ("1e-400", 1),
        ("-1e-400", 0),
        ("-0", 0),
        ("-0.0", 0),
        ("1.5", 2),
        ("-1.5", -1),
        ("1E+2", 100),
        ("9223372036854775807", i64::MAX),
        ("9223372036854775808", i64::MAX),
        ("-9223372036854775809", i64::MIN),
        ("1699999999", 1_699_999_999),
        ("1700000000", 1_700_000_000),
        ("1700000001", 1_700_000_001),
        ("1.7e9", 1_700_000_000),
        ("1699999999.5", 1_700_000_000),
        ("1700000000.000000000000000000001", 1_700_000_001),
        ("17000000000e-1", 1_700_000_000),
        ("1800000000", 1_800_000_000),
        ("1600000000", 1_600_000_000),
    ])
    .prop_map(|(t, v)| lit(t, Meaning::Num(v), 0));
    prop_oneof![2 => structured, 3 => special]
}

/// A string literal with escapes, and its unescaped value.
fn string() -> impl Strategy<Value = Gen> {
    let piece = prop::sample::select(vec![
        ("a", "a"),
        ("signer", "signer"),
        ("https://auth.example.com/t/acme", ISSUER),
        ("https:\\/\\/auth.example.com\\/t\\/acme", ISSUER),
        ("https://api.example.com", AUDIENCE),
        ("\\u0041", "A"),
        ("\\ud83d\\ude00", "\u{1f600}"),
        ("\u{e9}", "\u{e9}"),
        ("\\n", "\n"),
        ("\\\"", "\""),
        ("\\\\", "\\"),
        ("\\u0000", "\0"),
        (" ", " "),
        ("/", "/"),
    ]);
    prop::collection::vec(piece, 0..4).prop_map(|pieces| {
        let text: String = pieces.iter().map(|p| p.0).collect();
        let value: String = pieces.iter().map(|p| p.1).collect();
        lit(format!("\"{text}\""), Meaning::Str(value), 0)
    })
}

/// A JSON value of any kind, sometimes invalid, sometimes deep or huge.
fn value() -> impl Strategy<Value = Gen> {
    let strs = prop::collection::vec(string(), 0..3).prop_map(|items| {
        let text = format!(
            "[{}]",
            items
                .iter()
                .map(|g| g.text.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        let values = items
            .into_iter()
            .map(|g| match g.meaning {
                Meaning::Str(s) => s,
                _ => unreachable!(),
            })
            .collect();
        lit(text, Meaning::Strs(values), 1)
    });
    let deep = (1usize..40, any::<bool>()).prop_map(|(depth, objects)| {
        let text = if objects {
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
        } else {
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        };
        // `[]` is an (empty) array of strings.
        let meaning = if !objects && depth == 1 {
            Meaning::Strs(Vec::new())
        } else {
            Meaning::Other
        };
        lit(text, meaning, depth)
    });
    let huge = prop_oneof![3 => 1usize..3000, 1 => 8000usize..12_000].prop_map(|n| {
        lit(
            format!("\"{}\"", "x".repeat(n)),
            Meaning::Str("x".repeat(n)),
            0,
        )
    });
    let other = prop::sample::select(vec![
        ("null", 0),
        ("true", 0),
        ("false", 0),
        ("{}", 1),
        ("{\"k\":{\"b\":[1,2,{\"c\":null}]},\"k\":2}", 3),
        ("[1,\"a\"]", 1),
        ("[\"a\",null]", 1),
        ("{\"alg\":\"RS256\"}", 1),
    ])
    .prop_map(|(t, d)| lit(t, Meaning::Other, d));
    let invalid = prop::sample::select(vec![
        "01",
        "NaN",
        "Infinity",
        "'a'",
        "\"\\ud800\"",
        "\"\\udc00x\"",
        "\"\u{1}\"",
        "[1,]",
        "{\"a\":1,}",
        "tru",
        "1.",
        ".5",
        "+1",
        "\"\\x\"",
        "\"abc",
        "1e",
        "[",
        "{\"a\" 1}",
    ])
    .prop_map(|t| lit(t, Meaning::Invalid, 0));
    prop_oneof![
        4 => number(),
        4 => string(),
        2 => strs,
        1 => deep,
        1 => huge,
        2 => other,
        1 => invalid,
    ]
}

/// A member name: its text (possibly escaped) and its unescaped value.
fn name(pool: &'static [&'static str]) -> impl Strategy<Value = (String, String)> {
    (prop::sample::select(pool), any::<bool>(), any::<u8>()).prop_map(|(name, escape, which)| {
        if escape && !name.is_empty() {
            // Escape one character as \u00XX: the same name after unescaping.
            let i = usize::from(which) % name.len();
            let (a, b) = name.split_at(i);
            let mut chars = b.chars();
            let c = chars.next().unwrap();
            (
                format!("{a}\\u{:04x}{}", c as u32, chars.as_str()),
                name.to_owned(),
            )
        } else {
            (name.to_owned(), name.to_owned())
        }
    })
}

/// An object as an ordered list of members.
#[derive(Clone, Debug)]
struct Obj(Vec<(String, String, Gen)>);

impl Obj {
    fn text(&self, spaced: bool) -> String {
        let sep = if spaced { " , " } else { "," };
        let colon = if spaced { " : " } else { ":" };
        let body: Vec<String> = self
            .0
            .iter()
            .map(|(escaped, _, v)| format!("\"{escaped}\"{colon}{}", v.text))
            .collect();
        if spaced {
            format!(" {{ {} }}\n", body.join(sep))
        } else {
            format!("{{{}}}", body.join(sep))
        }
    }

    /// The single meaning of `name`, `None` when absent.
    fn get(&self, name: &str) -> Option<&Meaning> {
        self.0.iter().find(|m| m.1 == name).map(|m| &m.2.meaning)
    }

    /// Whether the object is strict JSON for SPEC §6: valid values, depth, unique names.
    fn valid(&self) -> bool {
        let names: BTreeSet<&str> = self.0.iter().map(|m| m.1.as_str()).collect();
        names.len() == self.0.len()
            && self
                .0
                .iter()
                .all(|m| m.2.meaning != Meaning::Invalid && m.2.depth < json::MAX_DEPTH)
    }
}

/// Starts from `base` and applies random edits: replace a member's value, drop it, duplicate it,
/// add members.
fn object(
    base: Vec<(&'static str, Gen)>,
    names: &'static [&'static str],
) -> impl Strategy<Value = Obj> {
    let n = base.len();
    (
        prop::collection::vec((0..n.max(1), 0u8..4, value()), 0..2),
        prop::collection::vec((name(names), value()), 0..2),
        prop::option::weighted(0.1, 0..n.max(1) + 3),
        any::<u64>(),
    )
        .prop_map(move |(edits, extra, duplicates, shuffle)| {
            let mut members: Vec<Option<(String, String, Gen)>> = base
                .iter()
                .map(|(k, v)| Some(((*k).to_owned(), (*k).to_owned(), v.clone())))
                .collect();
            for (i, op, v) in edits {
                if let Some(Some(m)) = members.get_mut(i) {
                    match op {
                        0 => members[i] = None,
                        _ => m.2 = v,
                    }
                }
            }
            let mut members: Vec<_> = members.into_iter().flatten().collect();
            for ((escaped, plain), v) in extra {
                members.push((escaped, plain, v));
            }
            if let Some(d) = duplicates
                && let Some(m) = members.get(d % members.len().max(1)).cloned()
            {
                members.push(m);
            }
            if shuffle % 3 == 0 && members.len() > 1 {
                let len = members.len();
                members.rotate_left((shuffle as usize / 3) % len);
            }
            Obj(members)
        })
}

const HEADER_NAMES: &[&str] = &[
    "alg", "kid", "x5t", "typ", "crit", "jku", "x5u", "x5c", "jwk", "cty", "b64", "zip", "x", "y",
    "z", "ext",
];
const PAYLOAD_NAMES: &[&str] = &[
    "exp", "nbf", "iat", "iss", "aud", "sub", "jti", "scope", "azp", "x", "y", "z", "roles",
    "email", "org",
];

fn header() -> impl Strategy<Value = Obj> {
    let alg = prop::sample::select(vec![
        lit("\"RS256\"", Meaning::Str("RS256".into()), 0),
        lit("\"RS256\"", Meaning::Str("RS256".into()), 0),
        lit("\"RS256\"", Meaning::Str("RS256".into()), 0),
        lit("\"RS256\"", Meaning::Str("RS256".into()), 0),
        lit("\"RS256\"", Meaning::Str("RS256".into()), 0),
        lit("\"R\\u0053256\"", Meaning::Str("RS256".into()), 0),
        lit("\"none\"", Meaning::Str("none".into()), 0),
        lit("\"HS256\"", Meaning::Str("HS256".into()), 0),
        lit("\"rs256\"", Meaning::Str("rs256".into()), 0),
        lit("\"PS256\"", Meaning::Str("PS256".into()), 0),
    ]);
    let kid = prop::sample::select(vec![
        lit("\"signer\"", Meaning::Str(SIGNER_KID.into()), 0),
        lit("\"signer\"", Meaning::Str(SIGNER_KID.into()), 0),
        lit("\"sig\\u006eer\"", Meaning::Str(SIGNER_KID.into()), 0),
        lit("\"other\"", Meaning::Str(OTHER_KID.into()), 0),
        lit("\"missing\"", Meaning::Str("missing".into()), 0),
        lit("\"Signer\"", Meaning::Str("Signer".into()), 0),
    ]);
    let x5t = prop::sample::select(vec![
        lit("\"signer-thumbprint\"", Meaning::Str(SIGNER_X5T.into()), 0),
        lit("\"nope\"", Meaning::Str("nope".into()), 0),
        lit("7", Meaning::Num(7), 0),
    ]);
    let typ = prop::sample::select(vec![
        lit("\"JWT\"", Meaning::Str("JWT".into()), 0),
        lit("\"at+jwt\"", Meaning::Str("at+jwt".into()), 0),
        lit(
            "\"Application/AT+JWT\"",
            Meaning::Str("Application/AT+JWT".into()),
            0,
        ),
    ]);
    (alg, kid, x5t, typ, 0u8..16).prop_flat_map(|(alg, kid, x5t, typ, mask)| {
        let mut base = vec![("alg", alg)];
        if mask & 1 == 0 {
            base.push(("kid", kid));
        }
        if mask & 2 == 0 {
            base.push(("x5t", x5t));
        }
        if mask & 4 == 0 {
            base.push(("typ", typ));
        }
        object(base, HEADER_NAMES)
    })
}

fn payload() -> impl Strategy<Value = Obj> {
    let base = vec![
        (
            "iss",
            lit(format!("\"{ISSUER}\""), Meaning::Str(ISSUER.into()), 0),
        ),
        (
            "aud",
            lit(format!("\"{AUDIENCE}\""), Meaning::Str(AUDIENCE.into()), 0),
        ),
        ("sub", lit("\"user-1\"", Meaning::Str("user-1".into()), 0)),
        ("iat", lit("1699999940", Meaning::Num(1_699_999_940), 0)),
        ("exp", lit("1700003600", Meaning::Num(1_700_003_600), 0)),
    ];
    object(base, PAYLOAD_NAMES)
}

/// The options of a signed-token case, and what the model needs of them.
#[derive(Clone, Debug)]
struct Opts {
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: u64,
    required: Vec<&'static str>,
    typ: Option<String>,
    max_len: usize,
}

impl Opts {
    fn validator(&self) -> Validator {
        let options = Options::new(self.issuers.clone(), self.audiences.clone())
            .with_leeway(self.leeway)
            .with_required_claims(
                RequiredClaims::from_names(self.required.iter().copied()).unwrap(),
            )
            .with_max_token_len(self.max_len)
            .with_typ(self.typ.clone());
        Validator::new(options).unwrap()
    }
}

fn opts() -> impl Strategy<Value = Opts> {
    (
        prop::sample::subsequence(vec![ISSUER, "https://other.example.com"], 1..=2),
        prop::sample::subsequence(vec![AUDIENCE, "https://reports.example.com"], 1..=2),
        prop::sample::select(vec![0u64, 0, 1, 60, u64::MAX]),
        prop::sample::subsequence(vec!["exp", "nbf", "iat", "iss", "sub", "aud", "jti"], 0..=4),
        prop::sample::select(vec![None, None, None, None, None, None, Some("at+jwt"), Some("application/JWT")]),
        prop_oneof![18 => Just(8192usize), 1 => Just(65_536), 1 => prop::sample::select(vec![300usize, 0])],
    )
        .prop_map(|(issuers, audiences, leeway, required, typ, max_len)| Opts {
            issuers: issuers.into_iter().map(String::from).collect(),
            audiences: audiences.into_iter().map(String::from).collect(),
            leeway,
            required,
            typ: typ.map(String::from),
            max_len,
        })
}

fn now() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => Just(NOW),
        1 => prop::sample::select(vec![0, 1_699_999_999, 1_700_003_599, 1_700_003_600, u64::MAX]),
        1 => any::<u64>(),
    ]
}

fn normalize_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    lower
        .strip_prefix("application/")
        .map_or(lower.clone(), String::from)
}

/// Which key the model expects step 7 to choose.
enum Choice {
    Signer,
    Other,
}

/// SPEC §2 steps 1–7 for a generated header: the error, or the key chosen.
fn model_header(
    token_len: usize,
    header: &Obj,
    opts: &Opts,
    one_key: bool,
) -> Result<Choice, ErrorKind> {
    use ErrorKind::*;
    if token_len > opts.max_len {
        return Err(MalformedToken);
    }
    if !header.valid() {
        return Err(MalformedToken);
    }
    match header.get("alg") {
        None => return Err(MalformedToken),
        Some(Meaning::Str(alg)) if alg == "RS256" => {}
        Some(Meaning::Str(_)) => return Err(UnsupportedAlgorithm),
        Some(_) => return Err(MalformedToken),
    }
    if header.get("crit").is_some() {
        return Err(MalformedToken);
    }
    if let Some(expected) = &opts.typ {
        match header.get("typ") {
            Some(Meaning::Str(t)) if normalize_typ(t) == normalize_typ(expected) => {}
            _ => return Err(MalformedToken),
        }
    }
    match (header.get("kid"), header.get("x5t")) {
        (Some(Meaning::Str(kid)), _) => match kid.as_str() {
            SIGNER_KID => Ok(Choice::Signer),
            OTHER_KID if !one_key => Ok(Choice::Other),
            _ => Err(UnknownKey),
        },
        (Some(_), _) => Err(MalformedToken),
        (None, Some(Meaning::Str(x5t))) => {
            if x5t == SIGNER_X5T {
                Ok(Choice::Signer)
            } else {
                Err(UnknownKey)
            }
        }
        (None, _) if one_key => Ok(Choice::Signer),
        (None, _) => Err(UnknownKey),
    }
}

/// SPEC §2 steps 10–15 for a generated, valid payload.
fn model_claims(payload: &Obj, opts: &Opts, now: u64) -> Result<(), ErrorKind> {
    use ErrorKind::*;
    for date in ["exp", "nbf", "iat"] {
        if !matches!(payload.get(date), None | Some(Meaning::Num(_))) {
            return Err(InvalidClaim);
        }
    }
    for s in ["iss", "sub", "jti"] {
        if !matches!(payload.get(s), None | Some(Meaning::Str(_))) {
            return Err(InvalidClaim);
        }
    }
    if !matches!(
        payload.get("aud"),
        None | Some(Meaning::Str(_)) | Some(Meaning::Strs(_))
    ) {
        return Err(InvalidClaim);
    }
    if opts.required.iter().any(|c| payload.get(c).is_none()) {
        return Err(MissingClaim);
    }
    let num = |name: &str| match payload.get(name) {
        Some(Meaning::Num(v)) => Some(i128::from(*v)),
        _ => None,
    };
    let (now, leeway) = (i128::from(now), i128::from(opts.leeway));
    if num("exp").is_some_and(|exp| now >= exp + leeway) {
        return Err(TokenExpired);
    }
    if num("nbf").is_some_and(|nbf| nbf > now + leeway)
        || num("iat").is_some_and(|iat| iat > now + leeway)
    {
        return Err(TokenNotYetValid);
    }
    if let Some(Meaning::Str(iss)) = payload.get("iss")
        && !opts.issuers.contains(iss)
    {
        return Err(InvalidIssuer);
    }
    match payload.get("aud") {
        Some(Meaning::Str(aud)) if !opts.audiences.contains(aud) => Err(InvalidAudience),
        Some(Meaning::Strs(auds)) if !auds.iter().any(|a| opts.audiences.contains(a)) => {
            Err(InvalidAudience)
        }
        _ => Ok(()),
    }
}

/// Checks a success against the generated payload: the registered claims are its meanings.
fn check_claims(v: &Verified, payload: &Obj, payload_text: &str) {
    assert_eq!(v.payload(), payload_text.as_bytes());
    let claims = v.claims();
    let num = |name: &str| match payload.get(name) {
        Some(Meaning::Num(n)) => Some(*n),
        _ => None,
    };
    let string = |name: &str| match payload.get(name) {
        Some(Meaning::Str(s)) => Some(s.clone()),
        _ => None,
    };
    assert_eq!(claims.exp, num("exp"));
    assert_eq!(claims.nbf, num("nbf"));
    assert_eq!(claims.iat, num("iat"));
    assert_eq!(claims.iss, string("iss"));
    assert_eq!(claims.sub, string("sub"));
    assert_eq!(claims.jti, string("jti"));
    let aud = match payload.get("aud") {
        Some(Meaning::Str(s)) => Some(Audience::One(s.clone())),
        Some(Meaning::Strs(list)) => Some(Audience::Many(list.clone())),
        _ => None,
    };
    assert_eq!(claims.aud, aud);
}

/// How the payload segment is written.
#[derive(Clone, Copy, Debug)]
enum PayloadEncoding {
    Strict,
    /// With `=` padding: not strict base64url, so `malformed_token` once the signature holds.
    Padded,
    /// The standard alphabet's `+`/`/` where base64url has `-`/`_` (when there are any).
    StandardAlphabet,
}

fn encode_payload(text: &str, encoding: PayloadEncoding) -> (String, bool) {
    let strict = base64url::encode(text.as_bytes());
    match encoding {
        PayloadEncoding::Strict => (strict, true),
        PayloadEncoding::Padded => {
            let pad = "=".repeat((4 - strict.len() % 4) % 4).max("=".into());
            (format!("{strict}{pad}"), false)
        }
        PayloadEncoding::StandardAlphabet => {
            let standard = strict.replace('-', "+").replace('_', "/");
            let ok = standard == strict;
            (standard, ok)
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Byte-level mutations
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Truncate(usize),
    SwapSegments(usize, usize),
    DuplicateSegment(usize),
    DropSegment(usize),
    Splice(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(b".=-_+/ \n\0\"{}[]\\AaZz09\xff\xc3".to_vec());
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        2 => (any::<usize>(), prop_oneof![interesting.clone(), any::<u8>()]).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        2 => (any::<usize>(), prop_oneof![interesting, any::<u8>()]).prop_map(|(i, b)| Mutation::Replace(i, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (0usize..3, 0usize..3).prop_map(|(a, b)| Mutation::SwapSegments(a, b)),
        1 => (0usize..3).prop_map(Mutation::DuplicateSegment),
        1 => (0usize..3).prop_map(Mutation::DropSegment),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 0..16)).prop_map(|(i, b)| Mutation::Splice(i, b)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    let at = |i: usize| if len == 0 { 0 } else { i % len };
    match m {
        Mutation::Flip(i, bit) if len > 0 => bytes[at(*i)] ^= 1 << bit,
        Mutation::Insert(i, b) => bytes.insert(i % (len + 1), *b),
        Mutation::Delete(i) if len > 0 => {
            bytes.remove(at(*i));
        }
        Mutation::Replace(i, b) if len > 0 => bytes[at(*i)] = *b,
        Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
        Mutation::SwapSegments(..) | Mutation::DuplicateSegment(_) | Mutation::DropSegment(_) => {
            let mut segments: Vec<Vec<u8>> =
                bytes.split(|&b| b == b'.').map(<[u8]>::to_vec).collect();
            let n = segments.len();
            match m {
                Mutation::SwapSegments(a, b) => segments.swap(a % n, b % n),
                Mutation::DuplicateSegment(a) => {
                    let s = segments[a % n].clone();
                    segments.insert(a % n, s);
                }
                Mutation::DropSegment(a) => {
                    segments.remove(a % n);
                }
                _ => {}
            }
            *bytes = segments.join(&b'.');
        }
        Mutation::Splice(i, data) => {
            let at = i % (len + 1);
            bytes.splice(at..at, data.iter().copied());
        }
        _ => {}
    }
}

fn segments(token: &[u8]) -> (String, String, String) {
    let text = std::str::from_utf8(token).unwrap();
    let mut parts = text.split('.');
    (
        parts.next().unwrap().into(),
        parts.next().unwrap().into(),
        parts.next().unwrap().into(),
    )
}

// ------------------------------------------------------------------------------------------------
// Tokens
// ------------------------------------------------------------------------------------------------

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

// ------------------------------------------------------------------------------------------------
// JWKS
// ------------------------------------------------------------------------------------------------

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

// ------------------------------------------------------------------------------------------------
// JSON reader and base64url
// ------------------------------------------------------------------------------------------------

/// JSON-looking text: valid more often than random bytes would be, and invalid in many ways.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,4})?",
        "\"([a-z]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}|\\\\ud83d\\\\ude00|é){0,6}\"",
        "[0-9a-z\"\\\\{}\\[\\],:.+-]{1,4}",
    ];
    let value = leaf.prop_recursive(40, 256, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z]{1,2}", inner), 0..4).prop_map(|v| {
                let members: Vec<String> = v.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    });
    (
        prop::collection::vec(("[a-z]{1,2}", value), 0..5),
        "[ \t\r\n]{0,2}",
    )
        .prop_map(|(members, ws)| {
            let members: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{ws}\"{k}\"{ws}:{ws}{v}"))
                .collect();
            format!("{ws}{{{}}}{ws}", members.join(","))
        })
}

/// The deepest nesting of `[`/`{` outside string literals (the top-level object counts as 1).
fn bracket_depth(input: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in input {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn check_json(input: &[u8]) {
    let ours = json::parse_object(input);
    let theirs = serde_json::from_slice::<J>(input);
    let Ok(object) = ours else {
        // Rejected: serde_json may accept it only as a non-object, or for a reason SPEC §6 adds
        // (top-level duplicates, depth).
        if let Ok(J::Object(_)) = &theirs {
            let err = ours.err();
            assert!(
                matches!(
                    err,
                    Some(json::JsonError::DuplicateMember | json::JsonError::TooDeep)
                ),
                "{:?} rejected as {err:?}",
                String::from_utf8_lossy(input)
            );
            if err == Some(json::JsonError::TooDeep) {
                assert!(bracket_depth(input) > json::MAX_DEPTH);
            }
        }
        return;
    };
    // Accepted: serde_json agrees it is an object (it keeps the last of duplicate names, and
    // there are none).
    let theirs = match theirs {
        Ok(J::Object(o)) => o,
        other => panic!(
            "{:?} accepted; serde_json: {other:?}",
            String::from_utf8_lossy(input)
        ),
    };
    assert_eq!(object.len(), theirs.len());
    assert!(bracket_depth(input) <= json::MAX_DEPTH);
    for (name, expected) in &theirs {
        let value = object
            .get(name)
            .expect("member found by its unescaped name");
        assert!(object.contains(name));
        let kind = match expected {
            J::Null => Kind::Null,
            J::Bool(_) => Kind::Bool,
            J::Number(_) => Kind::Number,
            J::String(_) => Kind::String,
            J::Array(_) => Kind::Array,
            J::Object(_) => Kind::Object,
        };
        assert_eq!(value.kind(), kind);
        assert_eq!(value.as_str().as_deref(), expected.as_str());
        assert_eq!(value.numeric_date().is_some(), expected.is_number());
        if let (Some(n), J::Number(text)) = (value.numeric_date(), expected) {
            // Exactness where f64 is exact enough to judge: integers below 2^53.
            if let Some(i) = text.as_i64().filter(|i| i.unsigned_abs() < 1 << 53) {
                assert_eq!(n, i);
            }
        }
        match (value.array_items(), expected) {
            (Some(items), J::Array(list)) => {
                let items: Vec<_> = items.collect();
                assert_eq!(items.len(), list.len());
                for (item, e) in items.iter().zip(list) {
                    assert_eq!(item.as_str().as_deref(), e.as_str());
                    assert_eq!(
                        serde_json::from_slice::<J>(item.raw()).ok().as_ref(),
                        Some(e)
                    );
                }
            }
            (None, J::Array(_)) => panic!("array without items"),
            (Some(_), _) => panic!("items of a non-array"),
            (None, _) => {}
        }
        assert_eq!(
            serde_json::from_slice::<J>(value.raw()).ok().as_ref(),
            Some(expected)
        );
    }
}

proptest! {
    #![proptest_config(proptest_config(512))]

    /// The JSON reader on random bytes and on JSON-like text agrees with serde_json.
    #[test]
    fn json_reader(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        text in json_text(),
        mutations in prop::collection::vec(mutation(), 0..3),
    ) {
        check_json(&bytes);
        check_json(text.as_bytes());
        let mut mutated = text.into_bytes();
        for m in &mutations {
            apply(&mut mutated, m);
        }
        check_json(&mutated);
    }

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

// ------------------------------------------------------------------------------------------------
// Key-set cache policy
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Event {
    Poll,
    UnknownKey,
    /// Report success for the n-th ticket issued so far (from the end), with a Cache-Control.
    Succeed(usize, Option<String>),
    Fail(usize),
    /// A ticket this cache never issued (taken from another cache).
    Foreign,
}

fn event() -> impl Strategy<Value = Event> {
    let cache_control = prop::option::of(prop_oneof![
        prop::sample::select(vec![
            "max-age=0",
            "max-age=60",
            "max-age=3600",
            "no-store",
            "max-age=18446744073709551616",
            "public, max-age=\"90\"",
            "max-age=x",
            "",
        ])
        .prop_map(String::from),
        ".{0,24}",
    ]);
    prop_oneof![
        4 => Just(Event::Poll),
        2 => Just(Event::UnknownKey),
        3 => (0usize..3, cache_control).prop_map(|(i, c)| Event::Succeed(i, c)),
        2 => (0usize..3).prop_map(Event::Fail),
        1 => Just(Event::Foreign),
    ]
}

/// `now` for the next event: mostly small steps forward, sometimes anything.
fn step() -> impl Strategy<Value = (u8, u64)> {
    (0u8..10, any::<u64>())
}

fn next_now(prev: u64, (kind, r): (u8, u64)) -> u64 {
    match kind {
        0..=5 => prev.saturating_add(r % 120),
        6 => prev.saturating_add(r % 200_000),
        7 => prev.saturating_sub(r % 1000),
        8 => r,
        _ => *[0, u64::MAX, u64::MAX - 1, 1 << 63]
            .get((r % 4) as usize)
            .unwrap_or(&0),
    }
}

fn cache_config() -> impl Strategy<Value = CacheConfig> {
    let value = prop_oneof![
        6 => Just(None),
        1 => Just(Some(0u64)),
        1 => Just(Some(u64::MAX)),
        1 => (0u64..1000).prop_map(Some),
    ];
    prop::collection::vec(value, 8).prop_map(|v| {
        let d = CacheConfig::default();
        CacheConfig {
            default_ttl: v[0].unwrap_or(d.default_ttl),
            min_ttl: v[1].unwrap_or(d.min_ttl),
            max_ttl: v[2].unwrap_or(d.max_ttl),
            unknown_key_cooldown: v[3].unwrap_or(d.unknown_key_cooldown),
            stale_if_error: v[4].unwrap_or(d.stale_if_error),
            backoff_initial: v[5].unwrap_or(d.backoff_initial),
            backoff_max: v[6].unwrap_or(d.backoff_max),
            fetch_timeout: v[7].unwrap_or(d.fetch_timeout),
        }
    })
}

proptest! {
    #![proptest_config(proptest_config(512))]

    /// The policy under arbitrary event sequences and clocks: no panic, and its answers agree
    /// with each other (one fetch at a time, decisions match the usable set, generations count
    /// installs, tickets increase, the unknown-key cooldown holds on a monotonic clock).
    #[test]
    fn cache_policy_event_sequences(
        config in cache_config(),
        start in prop_oneof![Just(1_700_000_000u64), any::<u64>()],
        events in prop::collection::vec((step(), event()), 1..120),
    ) {
        let mut cache: KeySetCache<u64> = KeySetCache::new(config);
        let mut foreign: KeySetCache<u64> = KeySetCache::new(config);
        let mut foreign_tickets = Vec::new();
        for _ in 0..3 {
            if let Some(t) = foreign.poll(0).ticket() {
                foreign_tickets.push(t);
                let _ = foreign.fetch_failed(t, 0);
            }
            if let Some(t) = foreign.unknown_key(u64::MAX) {
                foreign_tickets.push(t);
            }
        }
        let mut tickets = Vec::new();
        let mut now = start;
        let mut monotonic = true;
        let mut last_unknown_key_ticket: Option<u64> = None;
                let mut reported = BTreeSet::new();
        for (i, (s, event)) in events.into_iter().enumerate() {
            let prev = now;
            now = next_now(now, s);
            monotonic &= now >= prev;
            let in_flight_before = cache.fetch_in_flight(now);
            let generation = cache.generation();
            match event {
                Event::Poll => {
                    let decision = cache.poll(now);
                    match decision {
                        Decision::UseCurrent | Decision::Refresh(_) => prop_assert!(cache.current(now).is_some()),
                        Decision::Fetch(_) | Decision::Wait | Decision::Unavailable => prop_assert!(cache.current(now).is_none()),
                    }
                    if let Some(t) = decision.ticket() {
                        prop_assert!(!in_flight_before, "a second fetch while one is in flight");
                        prop_assert!(tickets.last().is_none_or(|l: &cryptr_guard_core::keyset_cache::FetchTicket| l.id() < t.id()));
                        if config.fetch_timeout > 0 {
                            prop_assert!(cache.fetch_in_flight(now));
                        }
                        tickets.push(t);
                    }
                    if decision == Decision::Wait {
                        prop_assert!(cache.fetch_in_flight(now));
                    }
                }
                Event::UnknownKey => {
                    if let Some(t) = cache.unknown_key(now) {
                        prop_assert!(!in_flight_before, "a second fetch while one is in flight");
                        prop_assert!(tickets.last().is_none_or(|l| l.id() < t.id()));
                        if monotonic && let Some(at) = last_unknown_key_ticket {
                            prop_assert!(now - at >= config.unknown_key_cooldown, "cooldown broken");
                        }
                        last_unknown_key_ticket = Some(now);
                        tickets.push(t);
                    }
                }
                Event::Succeed(back, cache_control) => {
                    if let Some(&t) = tickets.iter().rev().nth(back) {
                        let installed_value = i as u64;
                        let installed = cache.fetch_succeeded(t, now, installed_value, cache_control.as_deref());
                        prop_assert_eq!(cache.generation(), generation + u64::from(installed));
                        if reported.insert(t.id()) && installed {
                            // The issuer answered: the backoff ends.
                            prop_assert_eq!(cache.consecutive_failures(now), 0, "a success left a backoff");
                        }
                        if installed {
                            prop_assert_eq!(cache.fetched_at(), Some(now));
                            let ttl = config.ttl_for(cache_control.as_deref());
                            prop_assert_eq!(cache.fresh_until(), Some(now.saturating_add(ttl)));
                            if cache.usable_until().is_some_and(|u| u > now) {
                                prop_assert_eq!(cache.current(now).map(|s| **s), Some(installed_value));
                            }
                            prop_assert_eq!(cache.consecutive_failures(now), 0);
                        }
                    }
                }
                Event::Fail(back) => {
                    if let Some(&t) = tickets.iter().rev().nth(back) {
                        let failures = cache.consecutive_failures(now);
                        let counted = cache.fetch_failed(t, now);
                        reported.insert(t.id());
                        if counted {
                            prop_assert_eq!(cache.consecutive_failures(now), failures.saturating_add(1));
                            prop_assert!(!cache.fetch_in_flight(now));
                        }
                        prop_assert_eq!(cache.generation(), generation);
                    }
                }
                Event::Foreign => {
                    for &t in &foreign_tickets {
                        if t.id() > tickets.last().map_or(1, |l| l.id()) {
                            prop_assert!(!cache.fetch_succeeded(t, now, 0, None));
                            prop_assert!(!cache.fetch_failed(t, now));
                        }
                    }
                    prop_assert_eq!(cache.generation(), generation);
                }
            }
            let status = cache.status(now);
            prop_assert_eq!(status.generation, cache.generation());
            prop_assert_eq!(status.set.is_usable(), cache.current(now).is_some());
            prop_assert_eq!(status.is_ready(), cache.current(now).is_some());
            prop_assert!(cache.retry_after(now) >= 1);
            if let Some(until) = cache.backoff_until(now) {
                // Saturating at the end of time (documented).
                prop_assert!(until > now || until == u64::MAX);
            }
            let _ = format!("{cache:?}");
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
