//! base64url decoding: strict for tokens (SPEC §5), lenient for the issuer's key material (SPEC §4).

use alloc::vec::Vec;
use base64ct::{Base64UrlUnpadded, Encoding};

/// Strict RFC 4648 §5 decoding: URL alphabet only, no padding, no whitespace, unused trailing bits
/// zero. Constant-time in the data (base64ct). `None` on any deviation.
pub fn decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = alloc::vec![0u8; decoded_len_upper(input.len())];
    let len = Base64UrlUnpadded::decode(input, &mut out).ok()?.len();
    out.truncate(len);
    Some(out)
}

/// Strict decoding into a caller's buffer; `None` if the input is not strict base64url or does not
/// fit.
pub fn decode_into<'o>(input: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
    Base64UrlUnpadded::decode(input, out).ok()
}

/// Strict encoding without padding (used by tests, tools and the demo issuer).
pub fn encode(input: &[u8]) -> alloc::string::String {
    Base64UrlUnpadded::encode_string(input)
}

/// An upper bound of the decoded length of `len` base64 characters.
pub const fn decoded_len_upper(len: usize) -> usize {
    len / 4 * 3 + (len % 4)
}

/// Lenient decoding of a JWK's `n` or `e` (SPEC §4): characters `A–Z a–z 0–9 - _ + /` (the URL and
/// the standard alphabet, even mixed), optionally followed by the `=` padding that completes a
/// multiple of 4; non-zero unused trailing bits are tolerated. Anything else (another character,
/// misplaced or excess `=`, an impossible length, no data at all) is `None`.
pub fn decode_key_material(input: &[u8]) -> Option<Vec<u8>> {
    let data_len = input.iter().position(|&c| c == b'=').unwrap_or(input.len());
    let (data, padding) = input.split_at(data_len);
    if data.is_empty() || data.len() % 4 == 1 || !padding.iter().all(|&c| c == b'=') {
        return None;
    }
    if !padding.is_empty() && (padding.len() > 2 || !input.len().is_multiple_of(4)) {
        return None;
    }
    let mut normalized = Vec::with_capacity(data.len());
    for &c in data {
        normalized.push(match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => c,
            b'+' => b'-',
            b'/' => b'_',
            _ => return None,
        });
    }
    // Clear the unused low bits of the last character so that the strict decoder accepts it.
    let unused_bits = match data.len() % 4 {
        2 => 4,
        3 => 2,
        _ => 0,
    };
    if let Some(last) = normalized.last_mut() {
        let value = sextet(*last)? & (0x3f << unused_bits);
        *last = *URL_ALPHABET.get(usize::from(value))?;
    }
    decode(&normalized)
}

const URL_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn sextet(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_accepts_canonical_unpadded() {
        assert_eq!(decode(b"").as_deref(), Some(&b""[..]));
        assert_eq!(decode(b"QQ").as_deref(), Some(&b"A"[..]));
        assert_eq!(decode(b"QUI").as_deref(), Some(&b"AB"[..]));
        assert_eq!(decode(b"QUJD").as_deref(), Some(&b"ABC"[..]));
        assert_eq!(decode(b"-_8").as_deref(), Some(&[0xfb, 0xff][..]));
    }

    #[test]
    fn strict_rejects_everything_else() {
        for bad in [
            &b"QQ=="[..],
            b"QUI=",
            b"QR",  // non-zero trailing bits
            b"QUJ", // non-zero trailing bits
            b"Q",   // impossible length
            b"QU I",
            b"QUI\n",
            b"+/8",
            b"QUJD=",
            b"\xff\xfe",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn decode_into_reports_short_buffers() {
        let mut buf = [0u8; 2];
        assert_eq!(decode_into(b"QUJD", &mut buf), None);
        let mut buf = [0u8; 3];
        assert_eq!(decode_into(b"QUJD", &mut buf), Some(&b"ABC"[..]));
    }

    #[test]
    fn key_material_is_lenient_where_spec_allows() {
        assert_eq!(
            decode_key_material(b"AQAB").as_deref(),
            Some(&[1, 0, 1][..])
        );
        assert_eq!(decode_key_material(b"QQ==").as_deref(), Some(&b"A"[..]));
        assert_eq!(decode_key_material(b"QUI=").as_deref(), Some(&b"AB"[..]));
        assert_eq!(decode_key_material(b"QR").as_deref(), Some(&b"A"[..]));
        assert_eq!(
            decode_key_material(b"+/8").as_deref(),
            Some(&[0xfb, 0xff][..])
        );
        assert_eq!(
            decode_key_material(b"-/+_").as_deref(),
            Some(&[0xfb, 0xff, 0xbf][..])
        );
    }

    #[test]
    fn key_material_rejects_malformed() {
        for bad in [
            &b""[..],
            b"=",
            b"==",
            b"Q",
            b"Q===",
            b"QQ=",
            b"QQ===",
            b"QUI==",
            b"QU=I",
            b"QUJD=",
            b"QUJD====",
            b"QU I",
            b"QU.I",
            b"QUI\n",
        ] {
            assert_eq!(decode_key_material(bad), None, "{bad:?}");
        }
    }
}
