//! `Cache-Control` as far as a key-set cache needs it: the effective `max-age` (RFC 9111 §5.2).

/// The effective `max-age`, in seconds, of a `Cache-Control` header value, or `None` when it
/// gives none (the caller then uses its default).
///
/// The value is parsed as RFC 9111 §5.2 directives, robustly: comma-separated, optional
/// whitespace around commas and `=`, directive names ASCII-case-insensitive, arguments either
/// tokens or quoted strings (with `\` escapes; a comma inside quotes does not split), and
/// anything unrecognised skipped. Then:
///
/// - `no-store` (in any form) or an unqualified `no-cache` gives `Some(0)`: the response must not
///   be reused without revalidation, which for a key set means "as soon as the policy allows"
///   (the caller's minimum freshness then applies). A qualified `no-cache="field"` only concerns
///   the named header fields and is ignored.
/// - Otherwise the smallest valid `max-age` (the most restrictive, when several are present):
///   one or more ASCII digits, optionally quoted (`max-age="60"`); a value too large for `u64`
///   saturates to `u64::MAX` (RFC 9111 §1.2.2: an overflowing delta means "very large").
/// - A `max-age` without a valid value (`max-age`, `max-age=`, `max-age=-1`, `max-age=1.5`,
///   `max-age=+60`, `max-age=60 junk`) is ignored, as is a value that is garbage altogether.
///
/// `s-maxage` is ignored: it is addressed to shared caches, and a token validator caching its
/// issuer's keys for itself is a private one.
///
/// ```
/// use cryptr_guard_core::keyset_cache::parse_max_age;
///
/// assert_eq!(parse_max_age("public, max-age=3600"), Some(3600));
/// assert_eq!(parse_max_age("Max-Age = \"120\", must-revalidate"), Some(120));
/// assert_eq!(parse_max_age("private=\"a, max-age=5\", max-age=90"), Some(90));
/// assert_eq!(parse_max_age("no-store"), Some(0));
/// assert_eq!(parse_max_age("public"), None);
/// assert_eq!(parse_max_age("max-age=soon"), None);
/// ```
#[must_use]
pub fn parse_max_age(cache_control: &str) -> Option<u64> {
    let mut max_age: Option<u64> = None;
    let mut no_reuse = false;
    for directive in Directives::new(cache_control.as_bytes()) {
        no_reuse |= directive.forbids_reuse();
        if let Some(seconds) = directive.max_age() {
            max_age = Some(max_age.map_or(seconds, |m| m.min(seconds)));
        }
    }
    if no_reuse { Some(0) } else { max_age }
}

/// One directive of a `Cache-Control` value: its name and optional argument.
struct Directive<'a> {
    name: &'a [u8],
    argument: Option<Argument<'a>>,
}

impl Directive<'_> {
    /// `no-store` in any form, or an unqualified `no-cache`.
    fn forbids_reuse(&self) -> bool {
        self.name.eq_ignore_ascii_case(b"no-store")
            || (self.name.eq_ignore_ascii_case(b"no-cache") && self.argument.is_none())
    }

    /// The value of a valid `max-age` directive.
    fn max_age(&self) -> Option<u64> {
        if self.name.eq_ignore_ascii_case(b"max-age") {
            self.argument.as_ref().and_then(Argument::delta_seconds)
        } else {
            None
        }
    }
}

/// A directive's argument, as written.
enum Argument<'a> {
    /// A bare token, or a value with junk after it (never valid delta-seconds).
    Token(&'a [u8]),
    /// The content of a quoted string, escapes still in place (`\"`); `None` when the quotes
    /// are unterminated or followed by junk.
    Quoted(Option<&'a [u8]>),
}

impl Argument<'_> {
    /// The argument as RFC 9111 delta-seconds (one or more ASCII digits), saturating.
    fn delta_seconds(&self) -> Option<u64> {
        let digits = match self {
            Argument::Token(token) => token,
            Argument::Quoted(content) => (*content)?,
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(digits.iter().fold(0u64, |acc, digit| {
            acc.saturating_mul(10)
                .saturating_add(u64::from(digit.saturating_sub(b'0')))
        }))
    }
}

/// An iterator over the directives of a `Cache-Control` value; never fails, skips empty ones.
struct Directives<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Directives<'a> {
    const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos = self.pos.saturating_add(1);
        }
    }

    /// Advances while `keep` holds; returns the bytes passed over.
    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.pos = self.pos.saturating_add(1);
        }
        self.bytes.get(start..self.pos).unwrap_or_default()
    }

    /// Reads a quoted string whose opening quote is at `pos`; returns its raw content, or `None`
    /// when it is unterminated (then everything up to the end has been consumed).
    fn quoted_string(&mut self) -> Option<&'a [u8]> {
        self.pos = self.pos.saturating_add(1);
        let start = self.pos;
        let mut escaped = false;
        while let Some(byte) = self.peek() {
            self.pos = self.pos.saturating_add(1);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                return self.bytes.get(start..self.pos.saturating_sub(1));
            }
        }
        None
    }

    /// Skips to just after the next comma outside quotes (or to the end); returns whether
    /// anything but whitespace was skipped.
    fn skip_to_next_directive(&mut self) -> bool {
        let mut junk = false;
        while let Some(byte) = self.peek() {
            match byte {
                b',' => {
                    self.pos = self.pos.saturating_add(1);
                    break;
                }
                b'"' => {
                    junk = true;
                    let _ = self.quoted_string();
                }
                b' ' | b'\t' | b'\r' | b'\n' => self.pos = self.pos.saturating_add(1),
                _ => {
                    junk = true;
                    self.pos = self.pos.saturating_add(1);
                }
            }
        }
        junk
    }
}

/// Ends a directive name or a bare argument.
const fn is_delimiter(byte: u8) -> bool {
    matches!(byte, b',' | b'=' | b'"' | b' ' | b'\t' | b'\r' | b'\n')
}

impl<'a> Iterator for Directives<'a> {
    type Item = Directive<'a>;

    fn next(&mut self) -> Option<Directive<'a>> {
        loop {
            self.skip_whitespace();
            match self.peek() {
                None => return None,
                Some(b',') => {
                    self.pos = self.pos.saturating_add(1);
                    continue;
                }
                Some(_) => {}
            }
            let name = self.take_while(|b| !is_delimiter(b));
            self.skip_whitespace();
            let mut argument = None;
            if self.peek() == Some(b'=') {
                self.pos = self.pos.saturating_add(1);
                self.skip_whitespace();
                argument = Some(if self.peek() == Some(b'"') {
                    Argument::Quoted(self.quoted_string())
                } else {
                    Argument::Token(self.take_while(|b| !is_delimiter(b)))
                });
            }
            if self.skip_to_next_directive() {
                // Junk after the directive: keep its name (so `no-store junk` still counts) but
                // make its argument invalid.
                argument = argument.map(|_| Argument::Quoted(None));
            }
            if name.is_empty() {
                continue;
            }
            return Some(Directive { name, argument });
        }
    }
}
