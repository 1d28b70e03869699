//! The compact JWS before its signature is checked (SPEC §2 steps 2–5).
//!
//! Nothing here is trusted: an [`Untrusted`] token only says which key it asks for and what it
//! claims to be signed over. Only [`crate::Validator`] turns it into a [`crate::Verified`] one.

use alloc::string::String;
use alloc::vec::Vec;

use crate::base64url;
use crate::claims::HeaderIssuer;
use crate::error::{Error, ErrorKind};
use crate::json::{self, Kind};

/// The only algorithm accepted.
pub const ALGORITHM: &str = "RS256";

fn malformed(detail: &'static str) -> Error {
    Error::new(ErrorKind::MalformedToken, detail)
}

/// The protected header members the validator uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// `kid`, unescaped.
    pub kid: Option<String>,
    /// `x5t` when it is a string (a non-string `x5t` counts as absent).
    pub x5t: Option<String>,
    /// `typ`, when it is a string.
    pub typ: Option<String>,
    /// `iss` (Cryptr puts the issuer in the protected header: SPEC §7, §8).
    pub iss: HeaderIssuer,
}

/// A compact JWS split into its parts, with a checked header, whose signature is not verified yet.
#[derive(Clone, Debug)]
pub struct Untrusted<'a> {
    header: Header,
    signing_input: &'a [u8],
    payload: &'a [u8],
    signature: &'a [u8],
}

impl<'a> Untrusted<'a> {
    /// Steps 2–5: shape, header (strict base64url, strict JSON object), `alg` and `crit`.
    pub fn parse(token: &'a [u8]) -> Result<Untrusted<'a>, Error> {
        let mut parts = token.split(|&b| b == b'.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("a compact JWS has exactly three segments"));
        };
        if header.is_empty() || signature.is_empty() {
            return Err(malformed("the header or the signature segment is empty"));
        }
        let signing_input = token
            .get(..header.len() + 1 + payload.len())
            .ok_or_else(|| malformed("a compact JWS has exactly three segments"))?;
        let header_json =
            base64url::decode(header).ok_or_else(|| malformed("the header is not base64url"))?;
        let header = parse_header(&header_json)?;
        Ok(Untrusted {
            header,
            signing_input,
            payload,
            signature,
        })
    }

    /// The checked header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The bytes the signature is computed over: `segment1 "." segment2`, as encoded.
    pub fn signing_input(&self) -> &'a [u8] {
        self.signing_input
    }

    /// The encoded payload segment.
    pub fn payload_segment(&self) -> &'a [u8] {
        self.payload
    }

    /// The encoded signature segment.
    pub fn signature_segment(&self) -> &'a [u8] {
        self.signature
    }

    /// The header and the lengths of the first two segments: what [`Untrusted::rebuild`] needs
    /// to split the same token again without parsing its header twice.
    pub(crate) fn into_parts(self) -> (Header, usize, usize) {
        let header_len = self
            .signing_input
            .len()
            .saturating_sub(self.payload.len() + 1);
        (self.header, header_len, self.payload.len())
    }

    /// The token split at the lengths [`Untrusted::into_parts`] gave, with its already checked
    /// header. Only for the same token bytes: the caller keeps them together.
    pub(crate) fn rebuild(
        token: &'a [u8],
        header: Header,
        header_len: usize,
        payload_len: usize,
    ) -> Option<Untrusted<'a>> {
        let signing_len = header_len.checked_add(1)?.checked_add(payload_len)?;
        Some(Untrusted {
            header,
            signing_input: token.get(..signing_len)?,
            payload: token.get(header_len + 1..signing_len)?,
            signature: token.get(signing_len.checked_add(1)?..)?,
        })
    }

    /// Decodes the payload segment (strict base64url); only to be read once the signature holds.
    pub(crate) fn decode_payload(&self) -> Result<Vec<u8>, Error> {
        base64url::decode(self.payload).ok_or_else(|| malformed("the payload is not base64url"))
    }
}

fn parse_header(bytes: &[u8]) -> Result<Header, Error> {
    let object = json::parse_object(bytes)
        .map_err(|_| malformed("the header is not a strict JSON object"))?;
    let alg = object
        .get("alg")
        .ok_or_else(|| malformed("the header has no alg"))?
        .as_str()
        .ok_or_else(|| malformed("the header's alg is not a string"))?;
    if alg != ALGORITHM {
        return Err(Error::new(
            ErrorKind::UnsupportedAlgorithm,
            "the token's algorithm is not RS256",
        ));
    }
    if object.contains("crit") {
        return Err(malformed(
            "the header has crit, and no extension is understood",
        ));
    }
    let kid = match object.get("kid") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| malformed("the header's kid is not a string"))?
                .into_owned(),
        ),
    };
    let x5t = object
        .get("x5t")
        .filter(|v| v.kind() == Kind::String)
        .and_then(|v| v.as_str())
        .map(|s| s.into_owned());
    let iss = match object.get("iss") {
        None => HeaderIssuer::Absent,
        Some(v) => v
            .as_str()
            .map_or(HeaderIssuer::NotAString, |s| HeaderIssuer::String(s.into_owned())),
    };
    Ok(Header {
        kid,
        x5t,
        typ: object
            .get("typ")
            .and_then(|v| v.as_str())
            .map(|s| s.into_owned()),
        iss,
    })
}

/// Normalizes a media type for the `typ` comparison (SPEC §1): ASCII lowercase, without an
/// `application/` prefix.
pub fn normalize_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => String::from(rest),
        None => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str, rest: &str) -> String {
        alloc::format!("{}.{rest}", base64url::encode(header.as_bytes()))
    }

    fn kind(token: &str) -> Result<Header, ErrorKind> {
        Untrusted::parse(token.as_bytes())
            .map(|t| t.header().clone())
            .map_err(|e| e.kind())
    }

    #[test]
    fn shape() {
        use ErrorKind::MalformedToken as M;
        assert_eq!(kind("a.b").err(), Some(M));
        assert_eq!(kind("a.b.c.d.e").err(), Some(M));
        assert_eq!(kind(&token(r#"{"alg":"none"}"#, "e30.")).err(), Some(M));
        assert_eq!(kind(".e30.c2ln").err(), Some(M));
        assert_eq!(
            kind(&token(r#"{"alg":"RS256"}"#, "e30.c2ln")).map(|h| h.kid),
            Ok(None)
        );
        assert_eq!(
            kind(&token(r#"{"alg":"RS256"}"#, ".c2ln")).map(|h| h.kid),
            Ok(None)
        );
    }

    #[test]
    fn header_rules() {
        let k = |h: &str| kind(&token(h, "e30.c2ln"));
        assert_eq!(
            k(r#"{"alg":"HS256"}"#).err(),
            Some(ErrorKind::UnsupportedAlgorithm)
        );
        assert_eq!(
            k(r#"{"alg":"rs256"}"#).err(),
            Some(ErrorKind::UnsupportedAlgorithm)
        );
        assert_eq!(k(r#"{"alg":5}"#).err(), Some(ErrorKind::MalformedToken));
        assert_eq!(k(r#"{"kid":"a"}"#).err(), Some(ErrorKind::MalformedToken));
        assert_eq!(
            k(r#"{"alg":"RS256","crit":[]}"#).err(),
            Some(ErrorKind::MalformedToken)
        );
        assert_eq!(
            k(r#"{"alg":"RS256","kid":1}"#).err(),
            Some(ErrorKind::MalformedToken)
        );
        assert_eq!(
            k(r#"{"alg":"RS256","alg":"RS256"}"#).err(),
            Some(ErrorKind::MalformedToken)
        );
        let h = k(r#"{"alg":"R\u0053256","kid":"a\/b","x5t":7,"typ":"JWT","jku":"http://x"}"#);
        assert_eq!(h.as_ref().map(|h| h.kid.as_deref()), Ok(Some("a/b")));
        assert_eq!(h.as_ref().map(|h| h.x5t.is_none()), Ok(true));
        assert_eq!(h.map(|h| h.typ), Ok(Some("JWT".into())));
    }

    #[test]
    fn typ_normalization() {
        assert_eq!(normalize_typ("Application/AT+JWT"), normalize_typ("at+jwt"));
        assert_ne!(normalize_typ("JWT"), normalize_typ("at+jwt"));
    }
}
