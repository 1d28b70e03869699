//! The built-in demo issuer of `cryptr-guard demo`: a fresh RSA key per start, its JWKS served
//! on loopback beside the protected API, and three tokens to try. Private-key use lives here,
//! in the server crate only, never in the core; the binary mints tokens in demo mode only.

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use base64ct::{Base64UrlUnpadded, Encoding};
use cryptr_guard_core::Options;
use rsa::PrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::state::{AppState, Settings};

/// The demo's tenant (`CRYPTR_TENANT_DOMAIN`).
pub const TENANT: &str = "demo";
/// The demo's audience (`CRYPTR_AUDIENCE`, the tutorial's value).
pub const AUDIENCE: &str = "http://localhost:8081";

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
        let kid = {
            let digest = Sha256::digest(key.n_bytes());
            digest
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
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

/// A router serving `jwks` at `GET /t/{tenant}/.well-known` (the tutorial's JWKS path).
pub fn issuer_router(tenant: &str, jwks: String) -> Router {
    Router::new().route(
        &format!("/t/{tenant}/.well-known"),
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
    )
}

/// A ready demo: the router to serve on `addr` and the text to print.
#[derive(Debug)]
pub struct Demo {
    /// The protected API plus the demo issuer's JWKS.
    pub router: Router,
    /// Instructions with ready-to-paste `curl` commands and what each answers.
    pub instructions: String,
}

/// Sets the demo up for a server bound at `addr` (loopback only) with a fresh `bits`-bit key,
/// at `now`.
pub fn setup(addr: SocketAddr, bits: usize, now: u64) -> Result<Demo, String> {
    if !addr.ip().is_loopback() {
        return Err(format!(
            "the demo serves on loopback only, not on {}",
            addr.ip()
        ));
    }
    let issuer_key = DemoIssuer::generate(bits)?;
    let base_url = format!("http://{addr}");
    let issuer = format!("{base_url}/t/{TENANT}");
    let jwks_url = format!("{issuer}/.well-known");
    let mut settings = Settings::new(Options::cryptr(&base_url, TENANT, AUDIENCE), &jwks_url);
    settings.fetch.allow_http = true;
    settings.forward_claims = vec!["email".into(), "scp".into()];
    let state = AppState::new(settings)?;
    let router = crate::app(state).merge(issuer_router(TENANT, issuer_key.jwks()));

    let claims = |aud: &str, iat: u64, exp: u64| {
        json!({
            "iss": issuer,
            "sub": "eba25511-afce-4c8e-8cab-f82822434648",
            "aud": aud,
            "iat": iat,
            "exp": exp,
            "email": "ada@example.com",
            "scp": ["read:courses"],
            "tnt": TENANT,
        })
    };
    let valid = issuer_key.sign(&claims(AUDIENCE, now, now + 3600))?;
    let expired = issuer_key.sign(&claims(AUDIENCE, now - 7200, now - 3600))?;
    let wrong_audience =
        issuer_key.sign(&claims("https://another-api.example.com", now, now + 3600))?;

    let courses = format!("{base_url}/api/v1/courses");
    let curl =
        |token: &str, url: &str| format!("curl -s -i -H 'Authorization: Bearer {token}' {url}");
    let mut text = String::new();
    text.push_str(&format!(
        "cryptr-guard demo: serving on {base_url} (loopback only)\n\
         A fresh {bits}-bit RSA key was generated for this run; its JWKS is at {jwks_url}\n\
         CRYPTR_BASE_URL={base_url} CRYPTR_TENANT_DOMAIN={TENANT} CRYPTR_AUDIENCE={AUDIENCE}\n\n"
    ));
    text.push_str(&format!(
        "# 1. A valid token (expires in 1 hour): the tutorial's course list.\n\
         # expect HTTP 200\n{}\n\n",
        curl(&valid, &courses)
    ));
    text.push_str(&format!(
        "# 2. An expired token.\n\
         # expect HTTP 401 {{\"code\":\"token_expired\",\"description\":\"…\",\"error\":\"token_expired\"}}\n{}\n\n",
        curl(&expired, &courses)
    ));
    text.push_str(&format!(
        "# 3. A token for another API (wrong audience).\n\
         # expect HTTP 401 {{\"code\":\"invalid_claims\",\"description\":\"…\",\"error\":\"invalid_audience\"}}\n{}\n\n",
        curl(&wrong_audience, &courses)
    ));
    text.push_str(&format!(
        "# 4. The forward-auth endpoint (nginx auth_request, Traefik ForwardAuth): the claims as headers and body.\n\
         # expect HTTP 200\n{}\n\n",
        curl(&valid, &format!("{base_url}/auth"))
    ));
    text.push_str(&format!(
        "# 5. No token at all.\n\
         # expect HTTP 401 {{\"code\":\"authorization_header_missing\",\"description\":\"…\",\"error\":\"authorization_header_missing\"}}\n\
         curl -s -i {courses}\n\n\
         # Metrics: curl -s {base_url}/metrics   Readiness: curl -s {base_url}/readyz\n\
         # Press Ctrl-C to stop.\n"
    ));
    Ok(Demo {
        router,
        instructions: text,
    })
}
