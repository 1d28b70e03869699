//! Shared test helpers: throw-away RSA keys, a JWKS issuer on 127.0.0.1 with switchable
//! behaviour, and app states wired to it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cryptr_guard_server::demo::DemoIssuer;
use cryptr_guard_server::{AppState, Clock, Settings};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://auth.cryptr.eu/t/shark-academy";
pub const AUDIENCE: &str = "http://localhost:8081";
pub const T0: u64 = 1_700_000_000;

/// Two 2048-bit keys, generated once per test binary.
pub fn keys() -> &'static [DemoIssuer; 2] {
    static KEYS: OnceLock<[DemoIssuer; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            DemoIssuer::generate(2048).unwrap(),
            DemoIssuer::generate(2048).unwrap(),
        ]
    })
}

pub fn claims(now: u64) -> Value {
    json!({
        "iss": ISSUER,
        "sub": "user-42",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "email": "ada@example.com",
        "scp": ["read:courses"],
    })
}

pub fn token(key: &DemoIssuer, claims: &Value) -> String {
    key.sign(claims).unwrap()
}

pub fn jwks_of(keys: &[&DemoIssuer]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}).to_string()
}

/// What the test issuer answers.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// 200 with this JWKS and Cache-Control.
    Serve(String, Option<String>),
    /// This status, no key set.
    Status(u16),
    /// Waits, then serves the JWKS.
    Slow(Duration, String),
    /// A body of this many bytes (announced with Content-Length).
    Huge(usize),
    /// A body of this many bytes, streamed without Content-Length.
    HugeChunked(usize),
}

#[derive(Clone, Debug)]
pub struct Issuer {
    pub url: String,
    behaviour: Arc<Mutex<Behaviour>>,
    hits: Arc<AtomicUsize>,
}

impl Issuer {
    pub async fn start(behaviour: Behaviour) -> Issuer {
        let behaviour = Arc::new(Mutex::new(behaviour));
        let hits = Arc::new(AtomicUsize::new(0));
        let router = Router::new()
            .route("/jwks", get(answer))
            .with_state((Arc::clone(&behaviour), Arc::clone(&hits)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Issuer {
            url: format!("http://{addr}/jwks"),
            behaviour,
            hits,
        }
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn answer(
    State((behaviour, hits)): State<(Arc<Mutex<Behaviour>>, Arc<AtomicUsize>)>,
) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    let behaviour = behaviour.lock().unwrap().clone();
    match behaviour {
        Behaviour::Serve(jwks, cache_control) => {
            let mut response = ([(header::CONTENT_TYPE, "application/json")], jwks).into_response();
            if let Some(cc) = cache_control {
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, cc.parse().unwrap());
            }
            response
        }
        Behaviour::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Behaviour::Slow(delay, jwks) => {
            tokio::time::sleep(delay).await;
            ([(header::CONTENT_TYPE, "application/json")], jwks).into_response()
        }
        Behaviour::Huge(n) => {
            let mut body = String::from("{\"keys\":[");
            body.push_str(&" ".repeat(n));
            body.push_str("]}");
            body.into_response()
        }
        Behaviour::HugeChunked(n) => {
            let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
            let left = n / chunk.len() + 1;
            Response::new(Body::from_stream(Repeat { chunk, left }))
        }
    }
}

/// A body streamed in 64 KiB chunks (no Content-Length).
struct Repeat {
    chunk: axum::body::Bytes,
    left: usize,
}

impl futures_core::Stream for Repeat {
    type Item = Result<axum::body::Bytes, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        std::task::Poll::Ready(Some(Ok(self.chunk.clone())))
    }
}

/// Settings for the test issuer (CRYPTR_ISSUER and CRYPTR_JWKS_URL, through the settings
/// reader), with a manual clock at `T0`; `extra` settings override the defaults here.
pub fn settings_with(jwks_url: &str, extra: &[(&str, &str)]) -> (Settings, Arc<AtomicU64>) {
    let mut map: std::collections::BTreeMap<String, String> = [
        ("CRYPTR_ISSUER", ISSUER),
        ("CRYPTR_JWKS_URL", jwks_url),
        ("CRYPTR_AUDIENCE", AUDIENCE),
        ("CRYPTR_ALLOW_HTTP", "1"),
        ("CRYPTR_JWKS_TIMEOUT", "1"),
        ("CRYPTR_GUARD_FORWARD_CLAIMS", "email,scp"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    map.retain(|_, v| !v.is_empty());
    let (clock, handle) = Clock::manual(T0);
    let mut settings = Settings::from_settings(|name| map.get(name).cloned()).unwrap();
    settings.clock = clock;
    (settings, handle)
}

pub fn settings(jwks_url: &str) -> (Settings, Arc<AtomicU64>) {
    settings_with(jwks_url, &[])
}

pub fn state(settings: Settings) -> AppState {
    AppState::new(settings).unwrap()
}

pub fn advance(clock: &AtomicU64, seconds: u64) {
    clock.fetch_add(seconds, Ordering::SeqCst);
}
