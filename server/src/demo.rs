//! The built-in demo issuer of `cryptr-guard demo`: two Cryptr organizations, each with a fresh
//! RSA key and its JWKS served on loopback beside the protected API, and tokens of both Cryptr
//! shapes (v1 and v3, SPEC §7) to try. Private-key use lives here, in the server crate only,
//! never in the core; the binary mints tokens in demo mode only.

use std::net::SocketAddr;
use std::ops::RangeInclusive;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use base64ct::{Base64UrlUnpadded, Encoding};
use cryptr_guard_core::guard::HostConfig;
use cryptr_guard_core::jwk::{DEFAULT_MIN_RSA_BITS, MAX_RSA_BITS};
use rsa::PrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::state::{AppState, Settings};

/// The demo's organizations (`CRYPTR_TENANT_DOMAIN`): each is an issuer with its own key set.
pub const ORGANIZATIONS: [&str; 2] = ["shark-academy", "blue-whale"];
/// The demo's audience (`CRYPTR_AUDIENCE`, the tutorial's value).
pub const AUDIENCE: &str = "http://localhost:8081";
/// The demo's OAuth client (`CRYPTR_CLIENT_IDS`): v3 tokens, whose `aud` is empty, are accepted
/// by their client id.
pub const CLIENT_ID: &str = "7b1f3c2e-5a4d-4e8f-9c6b-2d1a0e9f8b7c";
/// The RSA sizes `serve` accepts by default (SPEC §4): a demo key outside them would be refused.
pub const BITS: RangeInclusive<usize> = DEFAULT_MIN_RSA_BITS as usize..=MAX_RSA_BITS as usize;

/// Refuses a key size `serve` would not accept, before any work.
pub fn check_bits(bits: usize) -> Result<(), String> {
    if BITS.contains(&bits) {
        Ok(())
    } else {
        Err(format!(
            "--bits must be from {} to {}: the key sizes serve accepts (CRYPTR_MIN_RSA_BITS defaults to {})",
            BITS.start(),
            BITS.end(),
            BITS.start()
        ))
    }
}

/// An RS256 signer with a throw-away key, for the demo and for tests.
#[derive(Debug)]
pub struct DemoIssuer {
    key: PrivateKey,
    kid: String,
}

impl DemoIssuer {
    /// A fresh key of `bits` bits (public exponent 65537) from the operating system's RNG.
    pub fn generate(bits: usize) -> Result<DemoIssuer, String> {
        let key = PrivateKey::new(&mut getrandom::SysRng, bits)
            .map_err(|e| format!("RSA key generation: {e}"))?;
        let kid = Sha256::digest(key.n_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        Ok(DemoIssuer { key, kid })
    }

    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK object.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": Base64UrlUnpadded::encode_string(&self.key.n_bytes()),
            "e": Base64UrlUnpadded::encode_string(&self.key.e_bytes()),
        })
    }

    /// The JWKS document holding the public key.
    pub fn jwks(&self) -> String {
        json!({ "keys": [self.jwk()] }).to_string()
    }

    /// A compact RS256 JWS of `claims` with the header `{"alg":"RS256","typ":"JWT","kid":…}`.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        self.sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
    }

    /// A compact RS256 JWS of `claims` with Cryptr's header, which names the issuer:
    /// `{"alg":"RS256","iss":…,"kid":…,"typ":"JWT"}`.
    pub fn sign_as(&self, issuer: &str, claims: &Value) -> Result<String, String> {
        let header = json!({"alg": "RS256", "iss": issuer, "kid": self.kid, "typ": "JWT"});
        self.sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
    }

    /// A compact RS256 JWS of exactly these header and payload bytes.
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> Result<String, String> {
        let signing_input = format!(
            "{}.{}",
            Base64UrlUnpadded::encode_string(header),
            Base64UrlUnpadded::encode_string(payload)
        );
        let signature = self
            .key
            .pkcs1v15_sign::<rsa::sha2::Sha256>(signing_input.as_bytes())
            .map_err(|e| format!("signing: {e}"))?;
        Ok(format!(
            "{signing_input}.{}",
            Base64UrlUnpadded::encode_string(&signature)
        ))
    }
}

/// A router serving each `(organization, jwks)` at `GET /t/{organization}/.well-known` (the
/// tutorial's JWKS path).
pub fn issuer_router(key_sets: Vec<(String, String)>) -> Router {
    let mut router = Router::new();
    for (organization, jwks) in key_sets {
        router = router.route(
            &format!("/t/{organization}/.well-known"),
            get(move || {
                let jwks = jwks.clone();
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "application/json"),
                            (header::CACHE_CONTROL, "public, max-age=300"),
                        ],
                        jwks,
                    )
                        .into_response()
                }
            }),
        );
    }
    router
}

/// The claims of a v1 token (the tutorial's shape): payload `iss`, `aud` a string, `cid`,
/// `tnt`, `scp`.
pub fn v1_claims(issuer: &str, organization: &str, audience: &str, iat: u64, exp: u64) -> Value {
    json!({
        "iss": issuer,
        "sub": "eba25511-afce-4c8e-8cab-f82822434648",
        "aud": audience,
        "cid": CLIENT_ID,
        "tnt": organization,
        "scp": ["read:courses"],
        "email": "ada@example.com",
        "jtt": "access",
        "ver": 1,
        "iat": iat,
        "exp": exp,
    })
}

/// The claims of a v3 token (current SDKs): the issuer only in the header, `aud: []`,
/// `client_id`, `org`, `scope`.
pub fn v3_claims(organization: &str, iat: u64, exp: u64) -> Value {
    json!({
        "sub": "eba25511-afce-4c8e-8cab-f82822434648",
        "aud": [],
        "client_id": CLIENT_ID,
        "org": organization,
        "scope": ["openid", "email", "read:courses"],
        "email": "ada@example.com",
        "jtt": "access",
        "ver": 3,
        "iat": iat,
        "exp": exp,
    })
}

/// A ready demo: the state (start its refresher inside the runtime), the router to serve on
/// `addr` and the text to print.
#[derive(Debug)]
pub struct Demo {
    /// The protected API's state.
    pub state: AppState,
    /// The protected API plus the demo issuer's key sets.
    pub router: Router,
    /// Instructions with ready-to-paste `curl` commands and what each answers.
    pub instructions: String,
}

/// Sets the demo up for a server bound at `addr` (loopback only) with a fresh `bits`-bit key per
/// organization, at `now`.
pub fn setup(addr: SocketAddr, bits: usize, now: u64) -> Result<Demo, String> {
    check_bits(bits)?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "the demo serves on loopback only, not on {}",
            addr.ip()
        ));
    }
    // One key per organization, generated side by side.
    let keys = std::thread::scope(|scope| {
        let tasks: Vec<_> = ORGANIZATIONS
            .iter()
            .map(|_| scope.spawn(move || DemoIssuer::generate(bits)))
            .collect();
        tasks
            .into_iter()
            .map(|task| {
                task.join()
                    .unwrap_or_else(|_| Err("RSA key generation failed".into()))
            })
            .collect::<Result<Vec<_>, String>>()
    })?;
    let base_url = format!("http://{addr}");
    let tenants = ORGANIZATIONS.join(",");
    let environment = [
        ("CRYPTR_BASE_URL", base_url.as_str()),
        ("CRYPTR_TENANT_DOMAIN", tenants.as_str()),
        ("CRYPTR_AUDIENCE", AUDIENCE),
        ("CRYPTR_CLIENT_IDS", CLIENT_ID),
        // The demo issuer is on loopback, without TLS.
        ("CRYPTR_ALLOW_HTTP", "1"),
    ];
    let host = HostConfig::from_settings(|name| {
        environment
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .map_err(|e| e.to_string())?;
    let issuers: Vec<String> = host.sources.iter().map(|s| s.issuer.clone()).collect();
    let mut settings = Settings::new(host);
    settings.forward_claims = vec!["email".into()];
    let state = AppState::new(settings).map_err(|e| e.to_string())?;
    let key_sets = ORGANIZATIONS
        .iter()
        .zip(&keys)
        .map(|(org, key)| (org.to_string(), key.jwks()))
        .collect();
    let router = crate::app(state.clone()).merge(issuer_router(key_sets));

    let courses = format!("{base_url}/api/v1/courses");
    let curl =
        |token: &str, url: &str| format!("curl -s -i -H 'Authorization: Bearer {token}' {url}");
    let mut text = format!(
        "cryptr-guard demo: serving on {base_url} (loopback only)\n\
         Two organizations, each with a fresh {bits}-bit RSA key and its JWKS at {base_url}/t/<organization>/.well-known\n\
         {}\n\n",
        environment
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut step = 0;
    let mut example = |title: &str, expect: &str, command: String| {
        step += 1;
        text.push_str(&format!(
            "# {step}. {title}\n# expect HTTP {expect}\n{command}\n\n"
        ));
    };
    let (later, hour) = (now + 3600, 3600);
    for ((org, key), issuer) in ORGANIZATIONS.iter().zip(&keys).zip(&issuers) {
        let v1 = key.sign_as(issuer, &v1_claims(issuer, org, AUDIENCE, now, later))?;
        example(
            &format!(
                "{org}: a v1 token (payload iss, aud, cid, tnt, scp), valid for 1 hour: the tutorial's course list."
            ),
            "200",
            curl(&v1, &courses),
        );
        let v3 = key.sign_as(issuer, &v3_claims(org, now, later))?;
        example(
            &format!(
                "{org}: a v3 token (iss in the header only, aud [], client_id, org, scope), accepted by its client id."
            ),
            "200",
            curl(&v3, &courses),
        );
    }
    let (first_org, first_key, first_issuer) = (ORGANIZATIONS[0], &keys[0], &issuers[0]);
    let expired = first_key.sign_as(
        first_issuer,
        &v1_claims(
            first_issuer,
            first_org,
            AUDIENCE,
            now.saturating_sub(2 * hour),
            now.saturating_sub(hour),
        ),
    )?;
    example(
        "An expired token.",
        "401 {\"code\":\"token_expired\",\"description\":\"…\",\"error\":\"token_expired\"}",
        curl(&expired, &courses),
    );
    let other_api = first_key.sign_as(
        first_issuer,
        &v1_claims(
            first_issuer,
            first_org,
            "https://another-api.example.com",
            now,
            later,
        ),
    )?;
    example(
        "A token for another API (wrong audience).",
        "401 {\"code\":\"invalid_claims\",\"description\":\"…\",\"error\":\"invalid_audience\"}",
        curl(&other_api, &courses),
    );
    let stranger = format!("{base_url}/t/not-configured");
    let foreign = first_key.sign_as(&stranger, &v3_claims("not-configured", now, later))?;
    example(
        "A token of an organization that is not configured: refused before any key set is fetched.",
        "401 {\"code\":\"invalid_claims\",\"description\":\"…\",\"error\":\"invalid_issuer\"}",
        curl(&foreign, &courses),
    );
    let (last_org, last_key, last_issuer) = (ORGANIZATIONS[1], &keys[1], &issuers[1]);
    let v3 = last_key.sign_as(last_issuer, &v3_claims(last_org, now, later))?;
    example(
        "The forward-auth endpoint (nginx auth_request, Traefik ForwardAuth): X-Auth-Issuer, X-Auth-Tenant, X-Auth-Client-Id, X-Auth-Scopes and the claims.",
        "200",
        curl(&v3, &format!("{base_url}/auth")),
    );
    example(
        "No token at all.",
        "401 {\"code\":\"authorization_header_missing\",\"description\":\"…\",\"error\":\"authorization_header_missing\"}",
        format!("curl -s -i {courses}"),
    );
    text.push_str(&format!(
        "# Metrics: curl -s {base_url}/metrics   Readiness, per organization: curl -s {base_url}/readyz\n\
         # Press Ctrl-C to stop.\n"
    ));
    Ok(Demo {
        state,
        router,
        instructions: text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_outside_what_serve_accepts_are_refused_before_any_work() {
        for bits in [0, 1024, 2047, 8193, 100_000] {
            let started = std::time::Instant::now();
            let refused = setup(([127, 0, 0, 1], 0).into(), bits, 0);
            assert!(
                refused.is_err_and(|e| e.contains("--bits")),
                "{bits} accepted"
            );
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
        assert!(check_bits(2048).is_ok() && check_bits(8192).is_ok());
    }
}
