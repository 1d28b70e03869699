//! The strict JSON reader of SPEC §6.
//!
//! One pass validates the whole document against RFC 8259 (UTF-8, grammar, string escapes, no lone
//! surrogates, nesting depth) and records the top-level members of the top-level object with
//! their raw value spans; duplicate top-level names (compared after unescaping) reject the
//! document. Known members are then read on demand with typed accessors ([`Value::as_str`],
//! [`Value::numeric_date`], [`Value::array_items`]); everything else is skipped, whatever its type.
//!
//! `serde-json-core` is not used here: its skipping of unknown members accepts invalid JSON, it
//! has no `deserialize_any`, its `\u` unescaping rejects valid surrogate pairs, and its numbers go
//! through `f64`, which cannot round a NumericDate up exactly. A scanner that owns the grammar is
//! smaller and exact.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// Maximum nesting depth (objects and arrays both count; the top-level object is level 1).
pub const MAX_DEPTH: usize = 32;

/// Why a document was rejected (for diagnostics; every variant maps to one SPEC code by context).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// Not UTF-8.
    Utf8,
    /// Not RFC 8259 JSON (grammar, escapes, control characters, trailing text, …).
    Syntax,
    /// The top-level value is not an object.
    NotAnObject,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A member name occurs twice at the top level.
    DuplicateMember,
}

/// The JSON type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `{…}`
    Object,
    /// `[…]`
    Array,
    /// `"…"`
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`
    Null,
}

/// A validated JSON value: its kind and its exact source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    kind: Kind,
    raw: &'a [u8],
}

/// One top-level member: its (still escaped) name and its value.
#[derive(Clone, Copy, Debug)]
struct Member<'a> {
    name: &'a [u8],
    value: Value<'a>,
}

/// A validated top-level object with unique member names.
#[derive(Clone, Debug)]
pub struct Object<'a> {
    members: Vec<Member<'a>>,
}

/// Parses `input` as a strict JSON document whose top-level value is an object with unique member
/// names.
pub fn parse_object(input: &[u8]) -> Result<Object<'_>, JsonError> {
    core::str::from_utf8(input).map_err(|_| JsonError::Utf8)?;
    let mut scanner = Scanner {
        input,
        pos: 0,
        depth: 0,
    };
    scanner.skip_ws();
    if scanner.peek() != Some(b'{') {
        // Validate anyway so that garbage is reported as syntax, not as "not an object".
        scanner.value(None)?;
        scanner.skip_ws();
        return Err(if scanner.pos == input.len() {
            JsonError::NotAnObject
        } else {
            JsonError::Syntax
        });
    }
    let mut members = Vec::new();
    scanner.value(Some(&mut members))?;
    scanner.skip_ws();
    if scanner.pos != input.len() {
        return Err(JsonError::Syntax);
    }
    reject_duplicates(&members)?;
    Ok(Object { members })
}

fn reject_duplicates(members: &[Member<'_>]) -> Result<(), JsonError> {
    if members.len() < 2 {
        return Ok(());
    }
    let mut names: Vec<Cow<'_, str>> = members.iter().map(|m| unescape(m.name)).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w.first() == w.get(1)) {
        return Err(JsonError::DuplicateMember);
    }
    Ok(())
}

impl<'a> Object<'a> {
    /// The value of the member named `name` (compared after unescaping), if present.
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        self.members
            .iter()
            .find(|m| name_eq(m.name, name))
            .map(|m| m.value)
    }

    /// Whether a member named `name` is present (whatever its value, `null` included).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl<'a> Value<'a> {
    /// The JSON type.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The exact source text of the value.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The unescaped string, if this is a string.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        match self.kind {
            Kind::String => Some(unescape(string_body(self.raw))),
            _ => None,
        }
    }

    /// The items of an array, in order (`None` if this is not an array).
    pub fn array_items(&self) -> Option<ArrayItems<'a>> {
        match self.kind {
            Kind::Array => Some(ArrayItems {
                scanner: Scanner {
                    input: self.raw,
                    pos: 1,
                    depth: 0,
                },
                done: false,
            }),
            _ => None,
        }
    }

    /// A number as a NumericDate: rounded up to the next integer and clamped to the `i64` range
    /// (SPEC §2). `None` if this is not a number.
    pub fn numeric_date(&self) -> Option<i64> {
        match self.kind {
            Kind::Number => Some(ceil_to_i64(self.raw)),
            _ => None,
        }
    }
}

/// Iterator over the items of a validated array.
#[derive(Clone, Debug)]
pub struct ArrayItems<'a> {
    scanner: Scanner<'a>,
    done: bool,
}

impl<'a> Iterator for ArrayItems<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        if self.done {
            return None;
        }
        let s = &mut self.scanner;
        s.skip_ws();
        match s.peek() {
            Some(b']') | None => {
                self.done = true;
                return None;
            }
            Some(b',') => {
                s.pos += 1;
                s.skip_ws();
            }
            _ => {}
        }
        // The array was validated when the document was parsed; depth is not re-checked here.
        s.depth = 0;
        match s.value(None) {
            Ok(v) => Some(v),
            Err(_) => {
                self.done = true;
                None
            }
        }
    }
}

/// The text between the quotes of a validated string literal.
fn string_body(raw: &[u8]) -> &[u8] {
    raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default()
}

/// Whether an escaped member name equals `name`.
fn name_eq(escaped: &[u8], name: &str) -> bool {
    if !escaped.contains(&b'\\') {
        return escaped == name.as_bytes();
    }
    unescape(escaped) == name
}

/// Decodes the escapes of a validated string body. A body that is not valid (which the scanner
/// never hands out) decodes to U+FFFD or empty text rather than panicking.
fn unescape(body: &[u8]) -> Cow<'_, str> {
    if !body.contains(&b'\\') {
        return Cow::Borrowed(core::str::from_utf8(body).unwrap_or_default());
    }
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if b != b'\\' {
            let run_end = body
                .get(i..)
                .and_then(|rest| rest.iter().position(|&c| c == b'\\'))
                .map_or(body.len(), |p| i + p);
            let run = body.get(i..run_end).unwrap_or_default();
            out.push_str(core::str::from_utf8(run).unwrap_or_default());
            i = run_end;
            continue;
        }
        let (c, len) = decode_escape(body.get(i..).unwrap_or_default()).unwrap_or(('\u{fffd}', 2));
        out.push(c);
        i += len;
    }
    Cow::Owned(out)
}

/// Decodes one escape sequence at the start of `s` (which starts with `\`): the character and the
/// number of bytes consumed. Surrogate pairs are joined; a lone surrogate is an error.
fn decode_escape(s: &[u8]) -> Option<(char, usize)> {
    let c = match *s.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = hex4(s.get(2..6)?)?;
            if (0xD800..0xDC00).contains(&hi) {
                if s.get(6) != Some(&b'\\') || s.get(7) != Some(&b'u') {
                    return None;
                }
                let lo = hex4(s.get(8..12)?)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return None;
                }
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return char::from_u32(c).map(|c| (c, 12));
            }
            return char::from_u32(hi).map(|c| (c, 6));
        }
        _ => return None,
    };
    Some((c, 2))
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = char::from(d).to_digit(16)?;
        Some(acc << 4 | v)
    })
}

/// Rounds a validated JSON number up to the next integer and clamps it to `i64`, exactly, with no
/// floating point: `1.7e9`, `1e400`, `-0.5`, `12345678901234567890.1` are all handled.
fn ceil_to_i64(raw: &[u8]) -> i64 {
    let (negative, rest) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    let mantissa_end = rest
        .iter()
        .position(|&c| c == b'e' || c == b'E')
        .unwrap_or(rest.len());
    let (mantissa, exponent) = rest.split_at(mantissa_end);
    let exponent = parse_exponent(exponent.get(1..).unwrap_or_default());
    let (int_part, frac_part) = match mantissa.iter().position(|&c| c == b'.') {
        Some(dot) => (
            mantissa.get(..dot).unwrap_or_default(),
            mantissa.get(dot + 1..).unwrap_or_default(),
        ),
        None => (mantissa, &b""[..]),
    };
    // value = digits × 10^scale, digits = int_part ‖ frac_part without leading zeros.
    let digits = int_part.iter().chain(frac_part).copied();
    let leading_zeros = digits.clone().take_while(|&d| d == b'0').count();
    let total = int_part.len() + frac_part.len();
    let significant = total - leading_zeros;
    if significant == 0 {
        return 0;
    }
    let scale = exponent.saturating_sub(frac_part.len() as i64);
    // Number of digits before the decimal point once scaled.
    let int_digits = (significant as i64).saturating_add(scale);
    if int_digits > 19 {
        return if negative { i64::MIN } else { i64::MAX };
    }
    let mut magnitude: i128 = 0;
    let mut fraction_nonzero = false;
    let keep = int_digits.max(0) as usize;
    for (i, d) in digits.skip(leading_zeros).enumerate() {
        if i < keep {
            magnitude = magnitude * 10 + i128::from(d - b'0');
        } else if d != b'0' {
            fraction_nonzero = true;
            break;
        }
    }
    if scale > 0 {
        for _ in 0..scale {
            magnitude *= 10;
        }
    }
    let value = if negative {
        -magnitude
    } else {
        magnitude + i128::from(fraction_nonzero)
    };
    value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Parses an exponent (`[+-]?digits`), saturating far beyond any meaningful range.
fn parse_exponent(s: &[u8]) -> i64 {
    let (negative, digits) = match s.split_first() {
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        _ => (false, s),
    };
    let magnitude = digits.iter().fold(0i64, |acc, &d| {
        acc.saturating_mul(10)
            .saturating_add(i64::from(d.wrapping_sub(b'0')))
            .min(1 << 40)
    });
    if negative { -magnitude } else { magnitude }
}

/// The grammar, over a UTF-8-validated input.
#[derive(Clone, Debug)]
struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(JsonError::Syntax)
        }
    }

    fn span(&self, start: usize) -> &'a [u8] {
        self.input.get(start..self.pos).unwrap_or_default()
    }

    /// Scans one value starting at `pos` (no leading whitespace). When `members` is given and the
    /// value is an object, its members are recorded there.
    fn value(&mut self, members: Option<&mut Vec<Member<'a>>>) -> Result<Value<'a>, JsonError> {
        let start = self.pos;
        let kind = match self.peek().ok_or(JsonError::Syntax)? {
            b'{' => {
                self.object(members)?;
                Kind::Object
            }
            b'[' => {
                self.array()?;
                Kind::Array
            }
            b'"' => {
                self.string()?;
                Kind::String
            }
            b't' => {
                self.literal(b"true")?;
                Kind::Bool
            }
            b'f' => {
                self.literal(b"false")?;
                Kind::Bool
            }
            b'n' => {
                self.literal(b"null")?;
                Kind::Null
            }
            b'-' | b'0'..=b'9' => {
                self.number()?;
                Kind::Number
            }
            _ => return Err(JsonError::Syntax),
        };
        Ok(Value {
            kind,
            raw: self.span(start),
        })
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.pos += 1;
        Ok(())
    }

    fn object(&mut self, mut members: Option<&mut Vec<Member<'a>>>) -> Result<(), JsonError> {
        self.enter()?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let name_start = self.pos;
            self.string()?;
            let name = string_body(self.span(name_start));
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let value = self.value(None)?;
            if let Some(members) = members.as_deref_mut() {
                members.push(Member { name, value });
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(JsonError::Syntax),
            }
        }
    }

    fn array(&mut self) -> Result<(), JsonError> {
        self.enter()?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            self.value(None)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(JsonError::Syntax),
            }
        }
    }

    fn string(&mut self) -> Result<(), JsonError> {
        self.expect(b'"')?;
        loop {
            match self.peek().ok_or(JsonError::Syntax)? {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => {
                    let rest = self.input.get(self.pos..).unwrap_or_default();
                    let (_, len) = decode_escape(rest).ok_or(JsonError::Syntax)?;
                    self.pos += len;
                }
                0x00..=0x1f => return Err(JsonError::Syntax),
                _ => self.pos += 1,
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.input.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(JsonError::Syntax)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(JsonError::Syntax),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(JsonError::Syntax);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::Syntax);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn ok(doc: &str) -> Object<'_> {
        match parse_object(doc.as_bytes()) {
            Ok(o) => o,
            Err(e) => panic!("{doc:?} rejected: {e:?}"),
        }
    }

    fn err(doc: &[u8]) -> JsonError {
        match parse_object(doc) {
            Ok(_) => panic!("{:?} accepted", alloc::string::String::from_utf8_lossy(doc)),
            Err(e) => e,
        }
    }

    #[test]
    fn accepts_valid_documents() {
        let o = ok(r#" {"a": 1, "b": [true, false, null, {"x": -0.5e+3}], "c": "s", "d": {}} "#);
        assert_eq!(o.len(), 4);
        assert_eq!(o.get("a").map(|v| v.kind()), Some(Kind::Number));
        assert_eq!(o.get("b").map(|v| v.kind()), Some(Kind::Array));
        assert_eq!(o.get("c").and_then(|v| v.as_str()).as_deref(), Some("s"));
        assert_eq!(o.get("d").map(|v| v.kind()), Some(Kind::Object));
        assert!(o.get("e").is_none());
        assert!(ok("{}").is_empty());
    }

    #[test]
    fn rejects_invalid_grammar() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\":1,}",
            b"{\"a\":[1,]}",
            b"{\"a\":01}",
            b"{\"a\":1.}",
            b"{\"a\":.5}",
            b"{\"a\":1e}",
            b"{\"a\":+1}",
            b"{\"a\":NaN}",
            b"{\"a\":Infinity}",
            b"{\"a\":tru}",
            b"{\"a\":\"\x01\"}",
            b"{\"a\":\"\\x\"}",
            b"{\"a\":\"\\u12\"}",
            b"{\"a\":\"\\ud800\"}",
            b"{\"a\":\"\\udc00\"}",
            b"{\"a\":\"\\ud800\\u0041\"}",
            b"{a:1}",
            b"{'a':1}",
            b"{\"a\" 1}",
            b"{\"a\":1} x",
            b"{\"a\":1}{}",
            b"{\"a\":1 /* c */}",
            b"\xef\xbb\xbf{}",
            b"{\"a\":\"\xff\"}",
        ] {
            let e = err(bad);
            assert!(
                matches!(e, JsonError::Syntax | JsonError::Utf8),
                "{bad:?}: {e:?}"
            );
        }
    }

    #[test]
    fn top_level_must_be_an_object() {
        assert_eq!(err(b"[]"), JsonError::NotAnObject);
        assert_eq!(err(b" \"s\" "), JsonError::NotAnObject);
        assert_eq!(err(b"1"), JsonError::NotAnObject);
    }

    #[test]
    fn duplicates_rejected_at_top_level_only() {
        assert_eq!(err(br#"{"a":1,"a":2}"#), JsonError::DuplicateMember);
        assert_eq!(err(br#"{"a":1,"\u0061":2}"#), JsonError::DuplicateMember);
        assert_eq!(
            err(br#"{"kid":1,"k\u0069d":2}"#),
            JsonError::DuplicateMember
        );
        ok(r#"{"a":{"b":1,"b":2},"c":[{"d":1,"d":1}]}"#);
    }

    #[test]
    fn depth_limit_is_32_levels() {
        let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let doc = format!("{{\"a\":{}}}", nest(31));
        ok(&doc);
        let doc = format!("{{\"a\":{}}}", nest(32));
        assert_eq!(err(doc.as_bytes()), JsonError::TooDeep);
        let deep = "[".repeat(100_000);
        assert_eq!(
            err(format!("{{\"a\":{deep}").as_bytes()),
            JsonError::TooDeep
        );
    }

    #[test]
    fn strings_are_unescaped() {
        let o = ok(r#"{"iss":"https:\/\/a","e":"\ud83d\ude00\n\u00e9\"\\","k\u0069d":"x"}"#);
        assert_eq!(
            o.get("iss").and_then(|v| v.as_str()).as_deref(),
            Some("https://a")
        );
        assert_eq!(
            o.get("e").and_then(|v| v.as_str()).as_deref(),
            Some("😀\né\"\\")
        );
        assert_eq!(o.get("kid").and_then(|v| v.as_str()).as_deref(), Some("x"));
        assert!(o.get("k\\u0069d").is_none());
    }

    #[test]
    fn arrays_iterate_in_order() {
        let o = ok(r#"{"aud":[ "a" , 1, [2, [3]], {"x": "]"} ,"b\"" ]}"#);
        let items: Vec<_> = o
            .get("aud")
            .and_then(|v| v.array_items())
            .into_iter()
            .flatten()
            .collect();
        let kinds: Vec<_> = items.iter().map(|v| v.kind()).collect();
        assert_eq!(
            kinds,
            [
                Kind::String,
                Kind::Number,
                Kind::Array,
                Kind::Object,
                Kind::String
            ]
        );
        assert_eq!(
            items.get(4).and_then(|v| v.as_str()).as_deref(),
            Some("b\"")
        );
        let empty = ok(r#"{"a":[ ]}"#);
        assert_eq!(
            empty
                .get("a")
                .and_then(|v| v.array_items())
                .map(|i| i.count()),
            Some(0)
        );
    }

    #[test]
    fn numeric_dates_round_up_and_clamp() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("1700000000", 1_700_000_000),
            ("1700000000.0", 1_700_000_000),
            ("1700000000.5", 1_700_000_001),
            ("1699999999.0000000000000000001", 1_700_000_000),
            ("-1.5", -1),
            ("-0.5", 0),
            ("0.1", 1),
            ("1.7e9", 1_700_000_000),
            ("17E8", 1_700_000_000),
            ("1.7000000001e9", 1_700_000_001),
            ("170000000000e-2", 1_700_000_000),
            ("170000000001e-2", 1_700_000_001),
            ("1e-400", 1),
            ("-1e-400", 0),
            ("1e400", i64::MAX),
            ("-1e400", i64::MIN),
            ("9223372036854775807", i64::MAX),
            ("9223372036854775808", i64::MAX),
            ("-9223372036854775808", i64::MIN),
            ("-9223372036854775809", i64::MIN),
            ("9223372036854775806.5", i64::MAX),
            ("99999999999999999999", i64::MAX),
            ("0.0000e99999999999999999999", 0),
            ("1e99999999999999999999", i64::MAX),
            ("1e-99999999999999999999", 1),
        ];
        for (text, want) in cases {
            let doc = format!("{{\"n\":{text}}}");
            let o = ok(&doc);
            assert_eq!(
                o.get("n").and_then(|v| v.numeric_date()),
                Some(*want),
                "{text}"
            );
        }
    }
}
