//! HTTP conformance runner (tests/vectors/FORMAT.md, "Runner output"), reachable as
//! `tests/conformance/run http PATH...`.
//!
//! Token groups go through the real HTTP stack: the group's key set is served by a local issuer
//! on 127.0.0.1, and each case gets the real `app()` bound on a real socket with the case's
//! options and a fixed clock at the case's `now`; the token is sent over TCP to the forward-auth
//! endpoint and the outcome read back from the response (200: the `X-Auth-Key-Id` header and the
//! claims body; otherwise the fine `error` of the JSON body). JWKS-only and raw-signature cases
//! have no HTTP surface: they are reported through the same core calls the server makes
//! (`KeySet::from_jwks_with`, `verify_raw`). A token that cannot travel as one `Bearer`
//! credential (empty, or with whitespace or control characters) is reported through the core too,
//! and counted on stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use axum::Router;
use axum::routing::get;
use cryptr_guard_conformance::{minify, run_file, validator, vector_files};
use cryptr_guard_core::{KeySet, KeySetOptions};
use cryptr_guard_server::{AppState, Clock, KEY_ID_HEADER, Settings, app};
use serde_json::{Value, json};

type Failure = String;

async fn spawn_server(
    router: Router,
) -> Result<(String, tokio::sync::oneshot::Sender<()>), Failure> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = cryptr_guard_server::serve(listener, router, async move {
            let _ = stopped.await;
        })
        .await;
    });
    Ok((format!("http://{addr}"), stop))
}

fn key_set_options(group: &Value) -> Result<KeySetOptions, Failure> {
    match group
        .get("jwks_options")
        .and_then(|o| o.get("min_rsa_bits"))
    {
        None => Ok(KeySetOptions::default()),
        Some(bits) => {
            let bits = bits
                .as_u64()
                .and_then(|b| u32::try_from(b).ok())
                .ok_or("min_rsa_bits is not an integer")?;
            KeySetOptions::default()
                .with_min_rsa_bits(bits)
                .map_err(|e| e.to_string())
        }
    }
}

fn percent_decode(text: &str) -> Result<String, Failure> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or("bad percent escape")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// Whether the token can travel as the one credential of `Authorization: Bearer <token>`.
fn sendable(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b > b' ' && b != 0x7f)
}

struct Runner {
    client: reqwest::Client,
    through_core: usize,
}

impl Runner {
    async fn token_group(
        &mut self,
        path: &Path,
        group: &Value,
        cases: &[Value],
    ) -> Result<Vec<String>, Failure> {
        let document = match (group.get("jwks_raw"), group.get("jwks")) {
            (Some(Value::String(raw)), _) => raw.clone().into_bytes(),
            (_, Some(jwks)) => serde_json::to_vec(jwks).map_err(|e| e.to_string())?,
            _ => {
                return Err(format!(
                    "{}: a token group needs jwks or jwks_raw",
                    path.display()
                ));
            }
        };
        let key_set = key_set_options(group)?;
        let issuer = Router::new().route(
            "/jwks",
            get(move || {
                let document = document.clone();
                async move { document }
            }),
        );
        let (issuer_url, stop_issuer) = spawn_server(issuer).await?;
        let jwks_url = format!("{issuer_url}/jwks");
        let mut lines = Vec::with_capacity(cases.len());
        for case in cases {
            lines.push(self.token_case(case, &jwks_url, &key_set).await?);
        }
        let _ = stop_issuer.send(());
        Ok(lines)
    }

    async fn token_case(
        &mut self,
        case: &Value,
        jwks_url: &str,
        key_set: &KeySetOptions,
    ) -> Result<String, Failure> {
        let name = case
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a case without a name")?;
        let token = case.get("token").and_then(Value::as_str).ok_or("token")?;
        let now = case.get("now").and_then(Value::as_u64).ok_or("now")?;
        let checked = validator(case.get("options").ok_or("options")?)?;
        if !sendable(token) {
            self.through_core += 1;
            let keys = reqwest::get(jwks_url)
                .await
                .map_err(|e| e.to_string())?
                .bytes()
                .await
                .map_err(|e| e.to_string())?;
            let outcome = KeySet::from_jwks_with(&keys, key_set)
                .and_then(|keys| checked.validate(token.as_bytes(), &keys, now));
            return Ok(match outcome {
                Ok(v) => format!(
                    "{{\"name\":{},\"valid\":true,\"kid\":{},\"claims\":{}}}",
                    json!(name),
                    json!(v.kid()),
                    minify(v.payload_str())
                ),
                Err(e) => json!({"name": name, "valid": false, "error": e.code()}).to_string(),
            });
        }
        let mut settings = Settings::new(checked.options().clone(), jwks_url);
        settings.fetch.allow_http = true;
        settings.fetch.key_set = *key_set;
        settings.clock = Clock::Fixed(now);
        let state = AppState::new(settings)?;
        let (base, stop) = spawn_server(app(state)).await?;
        let response = self
            .client
            .get(format!("{base}/auth"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        let status = response.status();
        let kid = response
            .headers()
            .get(KEY_ID_HEADER)
            .map(|v| {
                v.to_str()
                    .map_err(|e| e.to_string())
                    .and_then(percent_decode)
            })
            .transpose()?;
        let body = response.text().await.map_err(|e| format!("{name}: {e}"))?;
        let _ = stop.send(());
        if status == reqwest::StatusCode::OK {
            Ok(format!(
                "{{\"name\":{},\"valid\":true,\"kid\":{},\"claims\":{}}}",
                json!(name),
                json!(kid),
                minify(&body)
            ))
        } else {
            let parsed: Value =
                serde_json::from_str(&body).map_err(|e| format!("{name}: HTTP {status}: {e}"))?;
            let error = parsed
                .get("error")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{name}: HTTP {status} without error"))?;
            Ok(json!({"name": name, "valid": false, "error": error}).to_string())
        }
    }
}

async fn run(paths: &[PathBuf]) -> Result<(), Failure> {
    let mut runner = Runner {
        client: reqwest::Client::builder()
            .build()
            .map_err(|e| e.to_string())?,
        through_core: 0,
    };
    let mut not_http = 0usize;
    for file in vector_files(paths)? {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let group: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let lines = match group.get("cases").and_then(Value::as_array) {
            Some(cases) => runner.token_group(&file, &group, cases).await?,
            None => {
                let lines = run_file(&file)?;
                not_http += lines.len();
                lines
            }
        };
        for line in lines {
            println!("{line}");
        }
    }
    eprintln!(
        "http runner: {not_http} JWKS/raw cases and {} unsendable tokens reported through the core (no HTTP surface)",
        runner.through_core
    );
    Ok(())
}

fn main() -> ExitCode {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: http-conformance VECTOR_FILE_OR_DIR...");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("http-conformance: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&paths)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http-conformance: {e}");
            ExitCode::from(2)
        }
    }
}
