//! Generated token headers and payloads that know what they mean: JSON values (numbers, escaped
//! strings, string arrays, deep and huge values, invalid texts) with their meaning to SPEC §2, and
//! objects built from them with edited, added, duplicated and reordered members. [`spec`] models
//! what the validator must answer for them.

pub mod spec;

use std::collections::BTreeSet;

use cryptr_guard_core::json;
use proptest::prelude::*;

use crate::common::{AUDIENCE, ISSUER, OTHER_KID, SIGNER_KID, SIGNER_X5T};

/// What a generated JSON text means to SPEC §2.
#[derive(Clone, Debug, PartialEq)]
pub enum Meaning {
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
pub struct Obj(Vec<(String, String, Gen)>);

impl Obj {
    pub fn text(&self, spaced: bool) -> String {
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
    pub fn get(&self, name: &str) -> Option<&Meaning> {
        self.0.iter().find(|m| m.1 == name).map(|m| &m.2.meaning)
    }

    /// Whether the object is strict JSON for SPEC §6: valid values, depth, unique names.
    pub fn valid(&self) -> bool {
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

pub fn header() -> impl Strategy<Value = Obj> {
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

pub fn payload() -> impl Strategy<Value = Obj> {
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
