//! A real nginx in front of `cryptr-guard serve`, configured by `server/deploy/nginx.conf` as
//! committed (only its three `address` lines changed), and that file quoted verbatim by
//! `server/README.md`.
//!
//! The nginx test needs an nginx binary (`NGINX`, default `nginx` on the `PATH`), so it is
//! ignored by plain `cargo test`: `scripts/test-nginx.sh` installs Debian's nginx when missing
//! and runs it. It starts a JWKS issuer for one organization and an issuer that answers 500 for
//! another (both in this process, on 127.0.0.1), the built `cryptr-guard serve` configured for
//! the two, an application that echoes what it receives as JSON, and nginx (no daemon, no master
//! process, every path in a temporary directory), then asks nginx what a client asks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{AUDIENCE, Behaviour, Issuer, jwks_of, keys};
use cryptr_guard_server::forward::percent_decode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cryptr-guard");
/// The deployment file, as committed.
const NGINX_CONF: &str = include_str!("../deploy/nginx.conf");
const README: &str = include_str!("../README.md");

const ORG_UP: &str = "https://auth.example.com/t/shark-academy";
const ORG_DOWN: &str = "https://auth.example.com/t/blue-whale";
const ORG_UNKNOWN: &str = "https://auth.example.com/t/not-configured";

/// The README's nginx block is the tested file, byte for byte.
#[test]
fn readme_quotes_the_tested_nginx_config() {
    let blocks: Vec<&str> = README
        .split("```nginx\n")
        .skip(1)
        .map(|rest| &rest[..rest.find("```").unwrap()])
        .collect();
    assert_eq!(blocks.len(), 1, "one nginx block in server/README.md");
    assert!(
        blocks[0] == NGINX_CONF,
        "the nginx block of server/README.md differs from server/deploy/nginx.conf: paste the file"
    );
}

/// A child process killed when dropped (a failing assertion leaves nothing running).
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the application received, answered as JSON; `/status/{code}` answers that status.
async fn echo(
    State(hits): State<Arc<AtomicUsize>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &headers {
        seen.entry(name.as_str().to_string())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let status = uri
        .path()
        .strip_prefix("/status/")
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK);
    let answer = json!({
        "app": true,
        "method": method.as_str(),
        "uri": uri.to_string(),
        "headers": seen,
        "body_len": body.len(),
    });
    (status, axum::Json(answer)).into_response()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cryptr-guard serve` on a port it picks, and its address (read from its log). Its log lines
/// are kept for failure messages.
fn start_guard(env: &[(&str, String)], log: Arc<Mutex<Vec<String>>>) -> (Process, String) {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CRYPTR_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("CRYPTR_GUARD_BIND", "127.0.0.1:0")
        .env("CRYPTR_GUARD_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Process(child);
    let (send, receive) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut send = Some(send);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Ok(entry) = serde_json::from_str::<Value>(&line)
                && entry["fields"]["message"] == "cryptr-guard serving"
                && let (Some(address), Some(send)) =
                    (entry["fields"]["address"].as_str(), send.take())
            {
                let _ = send.send(address.to_string());
            }
            log.lock().unwrap().push(line);
        }
    });
    let address = receive
        .recv_timeout(Duration::from_secs(30))
        .expect("cryptr-guard serve did not log its address");
    (child, address)
}

/// nginx running `site` (the deployment file with its addresses changed) from `dir`.
fn start_nginx(nginx: &str, dir: &Path, site: &str, port: u16) -> Process {
    std::fs::write(dir.join("cryptr_guard.conf"), site).unwrap();
    let d = dir.display();
    let main = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n    access_log {d}/access.log;\n    client_body_temp_path {d}/client_body;\n    \
         proxy_temp_path {d}/proxy;\n    fastcgi_temp_path {d}/fastcgi;\n    \
         uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n    \
         include {d}/cryptr_guard.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let prefix = format!("{d}/");
    let conf = format!("{d}/nginx.conf");
    let errors = format!("{d}/error.log");
    let mut child = Process(
        Command::new(nginx)
            .args(["-p", &prefix, "-c", &conf, "-e", &errors])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {nginx}: {e} (set NGINX)")),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        let exited = child.0.try_wait().unwrap();
        if exited.is_some() || started.elapsed() > Duration::from_secs(10) {
            panic!(
                "nginx did not start ({exited:?}):\n{}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// One answer, status, headers and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Bytes,
}

impl Answer {
    /// The values of a header (each header of the answer is checked to appear at most once).
    fn one(&self, name: &str) -> Option<String> {
        let values: Vec<_> = self.headers.get_all(name).iter().collect();
        assert!(values.len() <= 1, "{name} {values:?} in {self:?}");
        values
            .first()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

async fn ask(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> Answer {
    let mut request = client.request(method, url).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap(),
    }
}

fn claims(issuer: &str, now: u64) -> Value {
    json!({
        "iss": issuer,
        // A space at both ends and a non-ASCII letter: percent-encoded on the way.
        "sub": " Zoë O'Hara ",
        "aud": AUDIENCE,
        "client_id": "7b1f3c2e-5a4d-4e8f-9c6b-2d1a0e9f8b7c",
        "org": "shark-academy",
        "scope": ["openid", "read courses", "100%"],
        "email": "zoë@example.com",
        "iat": now,
        "exp": now + 3600,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nginx: scripts/test-nginx.sh runs it"]
async fn nginx_auth_request_in_front_of_an_application() {
    let nginx = std::env::var("NGINX").unwrap_or_else(|_| "nginx".into());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let [key, other_key] = keys();
    let up = Issuer::start(Behaviour::Serve(jwks_of(&[key]), None)).await;
    let down = Issuer::start(Behaviour::Status(500)).await;

    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new().fallback(echo).with_state(Arc::clone(&hits));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let log = Arc::new(Mutex::new(Vec::new()));
    let (guard, guard_address) = start_guard(
        &[
            ("CRYPTR_ISSUER", format!("{ORG_UP},{ORG_DOWN}")),
            ("CRYPTR_JWKS_URL", format!("{},{}", up.url, down.url)),
            ("CRYPTR_AUDIENCE", AUDIENCE.into()),
            ("CRYPTR_ALLOW_HTTP", "true".into()),
            ("CRYPTR_GUARD_FORWARD_CLAIMS", "email".into()),
        ],
        Arc::clone(&log),
    );

    // The deployment file, its three addresses changed, nothing else.
    let mut site = NGINX_CONF.to_string();
    let port = free_port();
    for (from, to) in [
        ("server 127.0.0.1:3000;", format!("server {guard_address};")),
        ("server 127.0.0.1:8080;", format!("server {app_address};")),
        ("listen 80;", format!("listen 127.0.0.1:{port};")),
    ] {
        assert_eq!(site.matches(from).count(), 1, "{from} in nginx.conf");
        site = site.replace(from, &to);
    }
    let dir: PathBuf =
        std::env::temp_dir().join(format!("cryptr-guard-nginx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _nginx = start_nginx(&nginx, &dir, &site, port);
    let front = format!("http://127.0.0.1:{port}");
    let direct = format!("http://{guard_address}/auth");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let good = key.sign_as(ORG_UP, &claims(ORG_UP, now)).unwrap();
    let bearer = format!("Bearer {good}");
    // The guard has fetched the key set once this is 200.
    let started = Instant::now();
    loop {
        let answer = ask(
            &client,
            Method::GET,
            &direct,
            &[("authorization", &bearer)],
            "",
        )
        .await;
        if answer.status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the guard never accepted the token: {answer:?}\n{}",
            log.lock().unwrap().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 0. No token: refused, the application not reached (the details in 4. below).
    let answer = ask(&client, Method::GET, &format!("{front}/orders"), &[], "").await;
    assert_eq!(
        (answer.status, hits.load(Ordering::SeqCst)),
        (401, 0),
        "a request without a token must not reach the application: {answer:?}"
    );

    // 1. A valid token: the application answers, with the identity headers of cryptr-guard's
    // answer, not those the client sent.
    let spoofed = [
        ("authorization", bearer.as_str()),
        ("x-auth-tenant", "evil-corp"),
        ("x-auth-subject", "root"),
        ("x-auth-claim-email", "mallory@example.com"),
    ];
    let answer = ask(
        &client,
        Method::GET,
        &format!("{front}/orders?page=2"),
        &spoofed,
        "",
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let seen = answer.json();
    assert_eq!(seen["app"], true, "{seen}");
    assert_eq!(seen["uri"], "/orders?page=2");
    let received = |name: &str| -> String {
        let values = seen["headers"][name]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {seen}"));
        assert_eq!(values.len(), 1, "{name}: {seen}");
        let raw = values[0].as_str().unwrap();
        assert!(raw.bytes().all(|b| (b' '..=b'~').contains(&b)), "{raw}");
        raw.to_string()
    };
    let decoded = |name: &str| percent_decode(&received(name)).unwrap();
    assert_eq!(decoded("x-auth-subject"), " Zoë O'Hara ");
    assert_eq!(received("x-auth-subject"), "%20Zo%C3%AB O'Hara%20");
    assert_eq!(decoded("x-auth-key-id"), key.kid());
    assert_eq!(decoded("x-auth-issuer"), ORG_UP);
    assert_eq!(
        decoded("x-auth-client-id"),
        "7b1f3c2e-5a4d-4e8f-9c6b-2d1a0e9f8b7c"
    );
    assert_eq!(decoded("x-auth-tenant"), "shark-academy");
    assert_eq!(received("x-auth-scopes"), "openid read%20courses 100%25");
    let scopes: Vec<String> = received("x-auth-scopes")
        .split(' ')
        .map(|s| percent_decode(s).unwrap())
        .collect();
    assert_eq!(scopes, ["openid", "read courses", "100%"]);
    assert_eq!(decoded("x-auth-claim-email"), "zoë@example.com");
    // The same values as cryptr-guard's own answer to the same token.
    let own = ask(
        &client,
        Method::GET,
        &direct,
        &[("authorization", &bearer)],
        "",
    )
    .await;
    for (name, value) in &own.headers {
        if name.as_str().starts_with("x-auth-") {
            assert_eq!(received(name.as_str()), value.to_str().unwrap(), "{name}");
        }
    }

    // 2. A request body reaches the application (the auth subrequest goes without it).
    let answer = ask(
        &client,
        Method::POST,
        &format!("{front}/orders"),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        "{\"item\":42}",
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json()["body_len"], 11);

    // 3. The application's own 401 and 500 pass unchanged: the error pages are nginx's only.
    for status in [401, 500] {
        let answer = ask(
            &client,
            Method::GET,
            &format!("{front}/status/{status}"),
            &[("authorization", &bearer)],
            "",
        )
        .await;
        assert_eq!(answer.status, status, "{answer:?}");
        assert_eq!(answer.json()["app"], true, "{answer:?}");
        assert_eq!(answer.one("www-authenticate"), None);
    }

    // 4. Refusals: the client gets cryptr-guard's whole answer (status, JSON body,
    // WWW-Authenticate or Retry-After), and the application is not reached.
    let reached = hits.load(Ordering::SeqCst);
    let expired = {
        let mut c = claims(ORG_UP, now);
        c["iat"] = json!(now - 7200);
        c["exp"] = json!(now - 3600);
        key.sign_as(ORG_UP, &c).unwrap()
    };
    let other_api = {
        let mut c = claims(ORG_UP, now);
        c["aud"] = json!("https://another-api.example.com");
        key.sign_as(ORG_UP, &c).unwrap()
    };
    let wrong_key = other_key.sign_as(ORG_UP, &claims(ORG_UP, now)).unwrap();
    let stranger = key.sign_as(ORG_UNKNOWN, &claims(ORG_UNKNOWN, now)).unwrap();
    let issuer_down = other_key.sign_as(ORG_DOWN, &claims(ORG_DOWN, now)).unwrap();
    let cases: [(&str, Option<String>, u16, &str); 8] = [
        ("no token", None, 401, "authorization_header_missing"),
        (
            "another scheme",
            Some("Basic dXNlcjpwYXNz".into()),
            401,
            "invalid_header",
        ),
        (
            "not a token",
            Some("Bearer not-a-token".into()),
            401,
            "malformed_token",
        ),
        (
            "expired",
            Some(format!("Bearer {expired}")),
            401,
            "token_expired",
        ),
        (
            "wrong audience",
            Some(format!("Bearer {other_api}")),
            401,
            "invalid_audience",
        ),
        (
            "wrong key",
            Some(format!("Bearer {wrong_key}")),
            401,
            "unknown_key",
        ),
        (
            "organization not configured",
            Some(format!("Bearer {stranger}")),
            401,
            "invalid_issuer",
        ),
        (
            "issuer down",
            Some(format!("Bearer {issuer_down}")),
            503,
            "jwks_unavailable",
        ),
    ];
    for (what, authorization, status, error) in cases {
        let headers: Vec<(&str, &str)> = authorization
            .as_deref()
            .map(|a| ("authorization", a))
            .into_iter()
            .collect();
        let through = ask(
            &client,
            Method::GET,
            &format!("{front}/orders"),
            &headers,
            "",
        )
        .await;
        let own = ask(&client, Method::GET, &direct, &headers, "").await;
        assert_eq!(own.status, status, "{what}, cryptr-guard: {own:?}");
        assert_eq!(through.status, status, "{what}, nginx: {through:?}");
        assert_eq!(through.json()["error"], error, "{what}: {through:?}");
        assert_eq!(through.body, own.body, "{what}");
        assert_eq!(
            through.one("content-type").as_deref(),
            Some("application/json"),
            "{what}"
        );
        assert_eq!(
            through.one("www-authenticate"),
            own.one("www-authenticate"),
            "{what}"
        );
        if status == 401 {
            assert!(through.one("www-authenticate").is_some(), "{what}");
            assert_eq!(through.one("retry-after"), None, "{what}");
        } else {
            let retry = |a: &Answer| a.one("retry-after").and_then(|v| v.parse::<u64>().ok());
            assert!(
                retry(&through).is_some_and(|s| s >= 1),
                "{what}: {through:?}"
            );
            assert!(retry(&own).is_some_and(|s| s >= 1), "{what}: {own:?}");
        }
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        reached,
        "a refused request reached the application"
    );

    // 5. cryptr-guard unreachable: 502, and the application is not reached.
    drop(guard);
    let answer = ask(
        &client,
        Method::GET,
        &format!("{front}/orders"),
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(answer.status, 502, "{answer:?}");
    assert_eq!(hits.load(Ordering::SeqCst), reached);

    let _ = std::fs::remove_dir_all(&dir);
}
