//! The forward-auth endpoint (`/auth`, for nginx `auth_request` and Traefik `forwardAuth`): a
//! verified token's identity as response headers, for the proxy to hand to its upstream, and
//! the claims as the body.
//!
//! Header values are made of printable ASCII. Everything else is percent-encoded as UTF-8 bytes,
//! `%` included, and so is a space at either end of a value (HTTP drops spaces around a field
//! value, so they would not survive a proxy). Percent-decoding a header therefore gives the
//! value back exactly ([`percent_decode`]).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use cryptr_guard_core::Verified;

use crate::auth::Authenticated;
use crate::state::AppState;

/// The token's `sub`.
pub const SUBJECT_HEADER: &str = "x-auth-subject";
/// The header's `kid`.
pub const KEY_ID_HEADER: &str = "x-auth-key-id";
/// The effective issuer (SPEC §7 derived values): one of the configured issuers.
pub const ISSUER_HEADER: &str = "x-auth-issuer";
/// The client id (`client_id`, else `cid` in the `cryptr` profile).
pub const CLIENT_ID_HEADER: &str = "x-auth-client-id";
/// The tenant, the Cryptr organization (`org`, else `tnt`, in the `cryptr` profile).
pub const TENANT_HEADER: &str = "x-auth-tenant";
/// The scopes (`scope`, else `scp`), space-separated, each percent-encoded (a space inside a
/// scope is `%20`).
pub const SCOPES_HEADER: &str = "x-auth-scopes";
/// Prefix of the headers carrying chosen claims.
pub const CLAIM_HEADER_PREFIX: &str = "x-auth-claim-";

fn encode(text: &str, every_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for (i, &byte) in bytes.iter().enumerate() {
        let at_an_end = i == 0 || i + 1 == bytes.len();
        let keep = match byte {
            b' ' => !every_space && !at_an_end,
            b'%' => false,
            _ => (b'!'..=b'~').contains(&byte),
        };
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Text as a header value that round-trips (see the [module documentation](self)).
pub fn header_text(text: &str) -> String {
    encode(text, false)
}

/// Scopes as one header value: space-separated, each scope encoded with its spaces too. An
/// empty scope (possible only in an array) cannot be told apart in such a list and is left out.
pub fn scopes_text(scopes: &[String]) -> String {
    scopes
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| encode(s, true))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decodes a header value written by this module; `None` for a malformed escape or bytes that
/// are not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn insert(headers: &mut HeaderMap, name: HeaderName, text: String) {
    // Always valid: the encoding leaves printable ASCII only.
    if let Ok(value) = HeaderValue::from_str(&text) {
        headers.insert(name, value);
    }
}

/// The identity headers of a verified token: subject, key id and the SPEC §7 derived values.
pub fn identity_headers(verified: &Verified, headers: &mut HeaderMap) {
    let values = [
        (SUBJECT_HEADER, verified.claims().sub.as_deref()),
        (KEY_ID_HEADER, verified.kid()),
        (ISSUER_HEADER, verified.issuer()),
        (CLIENT_ID_HEADER, verified.client_id()),
        (TENANT_HEADER, verified.tenant()),
    ];
    for (name, value) in values {
        if let Some(value) = value {
            insert(headers, HeaderName::from_static(name), header_text(value));
        }
    }
    if !verified.scopes().is_empty() {
        insert(
            headers,
            HeaderName::from_static(SCOPES_HEADER),
            scopes_text(verified.scopes()),
        );
    }
}

/// `/auth`: 200 with the identity headers, `X-Auth-Claim-<name>` for each configured claim
/// present (strings as is, other JSON values as compact JSON) and the claims as the body; or
/// the refusal.
pub async fn forward_auth(
    State(state): State<AppState>,
    Authenticated(verified): Authenticated,
) -> Response {
    let mut response = Response::new(Body::from(verified.payload().to_vec()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    identity_headers(&verified, headers);
    if state.forward_claims().is_empty() {
        return response;
    }
    // The payload is a strict JSON object (the core checked it); this only picks values out.
    let Ok(serde_json::Value::Object(claims)) =
        serde_json::from_slice::<serde_json::Value>(verified.payload())
    else {
        return response;
    };
    for name in state.forward_claims() {
        let Some(value) = claims.get(name) else {
            continue;
        };
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // Checked when the configuration was read.
        if let Ok(header_name) =
            HeaderName::from_bytes(format!("{CLAIM_HEADER_PREFIX}{name}").as_bytes())
        {
            insert(headers, header_name, header_text(&text));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_spaces_at_the_ends_included() {
        for text in [
            "ada",
            " ada ",
            "  ",
            " ",
            "a b",
            "100%",
            "Zoë",
            "tab\there",
            "",
            "\"quoted\"",
        ] {
            let encoded = header_text(text);
            assert!(
                encoded.bytes().all(|b| (b' '..=b'~').contains(&b)),
                "{encoded}"
            );
            assert!(!encoded.starts_with(' ') && !encoded.ends_with(' '));
            assert_eq!(percent_decode(&encoded).as_deref(), Some(text), "{encoded}");
        }
        assert_eq!(header_text(" a b "), "%20a b%20");
    }

    #[test]
    fn scopes_split_back_into_the_same_list() {
        let scopes: Vec<String> = ["openid", "read courses", "x%y", "é"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = scopes_text(&scopes);
        let back: Vec<String> = text.split(' ').filter_map(percent_decode).collect();
        assert_eq!(back, scopes);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }
}
