//! An issuer's OpenID configuration (OpenID Connect Discovery 1.0), as far as a guard needs it:
//! the URL of its key set.

use alloc::string::String;

use super::config::check_url;
use super::fetch::FetchFailure;
use crate::json;

/// The `jwks_uri` of an OpenID configuration document, read with the strict JSON rules of SPEC
/// §6 (one object, unique member names; other members skipped whatever their type). The
/// document's `issuer` must equal `issuer` exactly (Discovery §4.3: otherwise it speaks for
/// another issuer), and its `jwks_uri` must be a URL the guard fetches ([`check_url`]: `https`
/// unless `allow_http`). The failure's reason names what is wrong, never what the document holds.
pub(crate) fn jwks_uri(
    document: &[u8],
    issuer: &str,
    allow_http: bool,
) -> Result<String, FetchFailure> {
    let invalid = FetchFailure::InvalidDiscovery;
    let object = json::parse_object(document)
        .map_err(|_| invalid("the document is not a strict JSON object"))?;
    let string = |name: &str, missing: &'static str| {
        object
            .get(name)
            .and_then(|value| value.as_str())
            .ok_or(invalid(missing))
    };
    let stated = string("issuer", "its issuer is missing or not a string")?;
    if stated != issuer {
        return Err(invalid(
            "its issuer is not the configured issuer (they must be equal, byte for byte)",
        ));
    }
    let uri = string("jwks_uri", "its jwks_uri is missing or not a string")?;
    check_url(&uri, allow_http).map_err(|_| {
        invalid(if allow_http {
            "its jwks_uri is not an absolute http(s) URL with a host"
        } else {
            "its jwks_uri is not an absolute https URL with a host (plain http only when explicitly allowed)"
        })
    })?;
    Ok(uri.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://login.example.com/tenant";

    fn reason(document: &str, allow_http: bool) -> &'static str {
        match jwks_uri(document.as_bytes(), ISSUER, allow_http) {
            Err(FetchFailure::InvalidDiscovery(reason)) => reason,
            other => panic!("expected an invalid document, got {other:?}"),
        }
    }

    #[test]
    fn the_jwks_uri_of_a_valid_document() {
        let document = r#"{"issuer":"https://login.example.com/tenant","jwks_uri":"https://login.example.com/keys","response_types_supported":["code"],"x":{"y":[1,2.5,null]}}"#;
        assert_eq!(
            jwks_uri(document.as_bytes(), ISSUER, false),
            Ok("https://login.example.com/keys".into())
        );
        // Escapes are read as JSON.
        let escaped = r#"{"issuer":"https:\/\/login.example.com\/tenant","jwks_uri":"https://k.example/\u006beys"}"#;
        assert_eq!(
            jwks_uri(escaped.as_bytes(), ISSUER, false),
            Ok("https://k.example/keys".into())
        );
    }

    #[test]
    fn documents_that_cannot_be_used() {
        for (document, problem) in [
            ("", "strict JSON"),
            ("[]", "strict JSON"),
            (r#"{"issuer":"a","issuer":"a"}"#, "strict JSON"),
            (r#"{"issuer":"x",}"#, "strict JSON"),
            (r#"{"jwks_uri":"https://k"}"#, "issuer is missing"),
            (
                r#"{"issuer":1,"jwks_uri":"https://k"}"#,
                "issuer is missing",
            ),
            (
                r#"{"issuer":"https://login.example.com/tenant/","jwks_uri":"https://k"}"#,
                "not the configured issuer",
            ),
            (
                r#"{"issuer":"https://LOGIN.example.com/tenant","jwks_uri":"https://k"}"#,
                "not the configured issuer",
            ),
            (
                r#"{"issuer":"https://login.example.com/tenant"}"#,
                "jwks_uri is missing",
            ),
            (
                r#"{"issuer":"https://login.example.com/tenant","jwks_uri":["https://k"]}"#,
                "jwks_uri is missing",
            ),
            (
                r#"{"issuer":"https://login.example.com/tenant","jwks_uri":"http://k/keys"}"#,
                "not an absolute https URL",
            ),
            (
                r#"{"issuer":"https://login.example.com/tenant","jwks_uri":"/keys"}"#,
                "not an absolute https URL",
            ),
        ] {
            let reason = reason(document, false);
            assert!(reason.contains(problem), "{document}: {reason}");
        }
        let http =
            r#"{"issuer":"https://login.example.com/tenant","jwks_uri":"http://127.0.0.1:9/keys"}"#;
        assert_eq!(
            jwks_uri(http.as_bytes(), ISSUER, true),
            Ok("http://127.0.0.1:9/keys".into())
        );
        assert!(
            reason(
                r#"{"issuer":"https://login.example.com/tenant","jwks_uri":"ftp://k"}"#,
                true
            )
            .contains("http(s)")
        );
    }

    #[test]
    fn a_reason_never_holds_the_document() {
        let document = r#"{"issuer":"https://secret.example/","jwks_uri":"https://k"}"#;
        let failure = FetchFailure::InvalidDiscovery(reason(document, false));
        assert!(!alloc::format!("{failure}").contains("secret"));
    }
}
