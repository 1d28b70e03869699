//! HTTP conformance runner (tests/vectors/FORMAT.md, "Runner output"), reachable as
//! `tests/conformance/run http PATH...`.
//!
//! Token cases go through the real server as a user runs it: each token group's key sets are
//! served by a local issuer on 127.0.0.1, and each distinct options set of the group gets the
//! real `app()` on a real socket, configured through the settings reader with `CRYPTR_*` values
//! (`CRYPTR_ISSUER` with one `CRYPTR_JWKS_URL` per issuer, SPEC §8) and a clock the runner sets
//! to each case's `now`. The token goes over TCP to the forward-auth endpoint `/auth`; the
//! outcome is read back from the answer: on 200, `X-Auth-Key-Id`, the claims body and the SPEC §7
//! derived values of `X-Auth-Issuer`, `-Client-Id`, `-Tenant` and `-Scopes`; otherwise the fine
//! `error` of the JSON body.
//!
//! A group with one key set (`jwks`, `jwks_raw`) gives that set to every accepted issuer (one
//! URL, named once per issuer). JWKS-only and raw-signature cases have no HTTP surface: they are
//! reported through the core runner (`run_file`). So is a token that cannot travel as one
//! `Bearer` credential (empty, or with whitespace or control characters); both are counted on
//! stderr.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::http::HeaderValue;
use axum::routing::get;
use cryptr_guard_conformance::{minify, run_file, token_case, token_group_keys, vector_files};
use cryptr_guard_core::guard::parse_list;
use cryptr_guard_server::{
    AppState, CLIENT_ID_HEADER, Clock, ISSUER_HEADER, KEY_ID_HEADER, SCOPES_HEADER, Settings,
    TENANT_HEADER, app, percent_decode,
};
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

/// The key-set documents of a token group: one for every issuer, or one per issuer.
enum Documents {
    One(Vec<u8>),
    ByIssuer(Vec<(String, Vec<u8>)>),
}

fn documents(group: &Value) -> Result<Documents, Failure> {
    match (
        group.get("jwks_raw"),
        group.get("jwks"),
        group.get("jwks_by_issuer"),
    ) {
        (Some(Value::String(raw)), _, _) => Ok(Documents::One(raw.clone().into_bytes())),
        (_, Some(jwks), _) => Ok(Documents::One(
            serde_json::to_vec(jwks).map_err(|e| e.to_string())?,
        )),
        (_, _, Some(Value::Object(by_issuer))) => by_issuer
            .iter()
            .map(|(issuer, jwks)| {
                Ok((
                    issuer.clone(),
                    serde_json::to_vec(jwks).map_err(|e| e.to_string())?,
                ))
            })
            .collect::<Result<_, Failure>>()
            .map(Documents::ByIssuer),
        _ => Err("a token group needs jwks, jwks_raw or jwks_by_issuer".into()),
    }
}

fn strings(value: Option<&Value>, what: &str) -> Result<Vec<String>, Failure> {
    match value {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(String::from)
                    .ok_or(format!("{what}: not a string"))
            })
            .collect(),
        _ => Err(format!("{what}: missing or not a string/list")),
    }
}

/// A comma-separated setting for `items`, refused when the settings reader would not read the
/// same list back (an item with a comma or spaces around it).
fn list_setting(items: &[String], what: &str) -> Result<String, Failure> {
    let joined = items.join(",");
    if parse_list(&joined) != items {
        return Err(format!(
            "{what}: {items:?} cannot be written as a CRYPTR_* list"
        ));
    }
    Ok(joined)
}

/// The `CRYPTR_*` settings of one options set: the server configured as a user would.
fn settings_of(
    options: &Value,
    group: &Value,
    jwks_url_of: &dyn Fn(&str) -> Result<String, Failure>,
) -> Result<BTreeMap<&'static str, String>, Failure> {
    let issuers = strings(options.get("issuer"), "issuer")?;
    let urls = issuers
        .iter()
        .map(|issuer| jwks_url_of(issuer))
        .collect::<Result<Vec<_>, _>>()?;
    let mut settings = BTreeMap::from([
        ("CRYPTR_ISSUER", list_setting(&issuers, "issuer")?),
        ("CRYPTR_JWKS_URL", urls.join(",")),
        ("CRYPTR_ALLOW_HTTP", "1".to_string()),
        // The vectors' default profile is the core's (rfc); the server's is cryptr.
        (
            "CRYPTR_PROFILE",
            options
                .get("profile")
                .and_then(Value::as_str)
                .unwrap_or("rfc")
                .to_string(),
        ),
    ]);
    let audiences = strings(options.get("audiences"), "audiences")?;
    if !audiences.is_empty() {
        settings.insert("CRYPTR_AUDIENCE", list_setting(&audiences, "audiences")?);
    }
    if options.get("client_ids").is_some() {
        let ids = strings(options.get("client_ids"), "client_ids")?;
        settings.insert("CRYPTR_CLIENT_IDS", list_setting(&ids, "client_ids")?);
    }
    let required = strings(options.get("required_claims"), "required_claims")?;
    if required.is_empty() {
        return Err("required_claims: an empty list cannot be written as a CRYPTR_* list".into());
    }
    settings.insert("CRYPTR_REQUIRED_CLAIMS", required.join(","));
    for (key, setting) in [
        ("leeway", "CRYPTR_LEEWAY"),
        ("max_token_len", "CRYPTR_MAX_TOKEN_LEN"),
    ] {
        let value = options
            .get(key)
            .and_then(Value::as_u64)
            .ok_or(format!("{key}: not an integer"))?;
        settings.insert(setting, value.to_string());
    }
    match options.get("typ") {
        None | Some(Value::Null) => {}
        Some(Value::String(typ)) if typ.trim() == typ && !typ.is_empty() => {
            settings.insert("CRYPTR_TYP", typ.clone());
        }
        Some(other) => return Err(format!("typ: {other} cannot be written as CRYPTR_TYP")),
    }
    match options.get("max_lifetime") {
        None => {}
        Some(Value::Null) => {
            settings.insert("CRYPTR_MAX_LIFETIME", "none".into());
        }
        Some(seconds) => {
            let seconds = seconds.as_u64().ok_or("max_lifetime: not an integer")?;
            settings.insert("CRYPTR_MAX_LIFETIME", seconds.to_string());
        }
    }
    if let Some(bits) = group
        .get("jwks_options")
        .and_then(|o| o.get("min_rsa_bits"))
    {
        let bits = bits.as_u64().ok_or("min_rsa_bits: not an integer")?;
        settings.insert("CRYPTR_MIN_RSA_BITS", bits.to_string());
    }
    Ok(settings)
}

/// The `Authorization` value for `token`, if the token can travel as one Bearer credential.
fn authorization(token: &str) -> Option<HeaderValue> {
    let sendable = !token.is_empty() && token.bytes().all(|b| b > b' ' && b != 0x7f);
    sendable
        .then(|| HeaderValue::from_bytes(format!("Bearer {token}").as_bytes()).ok())
        .flatten()
}

/// A server for one options set: its base URL, its clock and what stops it.
struct Server {
    base: String,
    clock: Arc<AtomicU64>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

struct Runner {
    client: reqwest::Client,
    through_core: usize,
    servers: usize,
}

impl Runner {
    async fn token_group(
        &mut self,
        path: &Path,
        group: &Value,
        cases: &[Value],
    ) -> Result<Vec<String>, Failure> {
        let at = |e: Failure| format!("{}: {e}", path.display());
        let documents = documents(group).map_err(at)?;
        let mut issuer = Router::new();
        let served: Vec<Vec<u8>> = match &documents {
            Documents::One(document) => vec![document.clone()],
            Documents::ByIssuer(sets) => sets.iter().map(|(_, d)| d.clone()).collect(),
        };
        for (index, document) in served.into_iter().enumerate() {
            issuer = issuer.route(
                &format!("/jwks/{index}"),
                get(move || {
                    let document = document.clone();
                    async move { document }
                }),
            );
        }
        let (issuer_url, stop_issuer) = spawn_server(issuer).await?;
        let jwks_url_of = |issuer: &str| -> Result<String, Failure> {
            match &documents {
                Documents::One(_) => Ok(format!("{issuer_url}/jwks/0")),
                Documents::ByIssuer(sets) => sets
                    .iter()
                    .position(|(name, _)| name == issuer)
                    .map(|index| format!("{issuer_url}/jwks/{index}"))
                    .ok_or_else(|| format!("issuer {issuer:?} has no key set in jwks_by_issuer")),
            }
        };
        let core_keys = token_group_keys(group).map_err(at)?;
        // One server per distinct options set, started on first use.
        let mut servers: BTreeMap<String, Server> = BTreeMap::new();
        let mut lines = Vec::with_capacity(cases.len());
        for case in cases {
            let name = case
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| at("a case without a name".into()))?;
            let token = case.get("token").and_then(Value::as_str).ok_or("token")?;
            let now = case.get("now").and_then(Value::as_u64).ok_or("now")?;
            let options = case.get("options").ok_or("options")?;
            let Some(authorization) = authorization(token) else {
                self.through_core += 1;
                lines.push(token_case(case, &core_keys).map_err(at)?);
                continue;
            };
            let key = options.to_string();
            if !servers.contains_key(&key) {
                let settings = settings_of(options, group, &jwks_url_of)
                    .map_err(|e| at(format!("{name}: {e}")))?;
                servers.insert(key.clone(), self.start(&settings, now).await.map_err(at)?);
            }
            let server = servers.get(&key).ok_or("no server")?;
            server.clock.store(now, Ordering::SeqCst);
            lines.push(self.ask(server, name, authorization).await?);
        }
        let _ = stop_issuer.send(());
        Ok(lines)
    }

    async fn start(
        &mut self,
        settings: &BTreeMap<&'static str, String>,
        now: u64,
    ) -> Result<Server, Failure> {
        let mut config = Settings::from_settings(|name| settings.get(name).cloned())
            .map_err(|e| e.to_string())?;
        let (clock, handle) = Clock::manual(now);
        config.clock = clock;
        let state = AppState::new(config).map_err(|e| e.to_string())?;
        let (base, stop) = spawn_server(app(state)).await?;
        self.servers += 1;
        Ok(Server {
            base,
            clock: handle,
            _stop: stop,
        })
    }

    async fn ask(
        &self,
        server: &Server,
        name: &str,
        authorization: HeaderValue,
    ) -> Result<String, Failure> {
        let response = self
            .client
            .get(format!("{}/auth", server.base))
            .header("authorization", authorization)
            .send()
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = |header: &str| -> Result<Option<String>, Failure> {
            headers
                .get(header)
                .map(|v| {
                    v.to_str()
                        .ok()
                        .and_then(percent_decode)
                        .ok_or_else(|| format!("{name}: {header} is not percent-encoded text"))
                })
                .transpose()
        };
        let kid = text(KEY_ID_HEADER)?;
        let derived = json!({
            "issuer": text(ISSUER_HEADER)?,
            "client_id": text(CLIENT_ID_HEADER)?,
            "tenant": text(TENANT_HEADER)?,
            "scopes": headers
                .get(SCOPES_HEADER)
                .map(|v| {
                    v.to_str()
                        .map_err(|e| e.to_string())?
                        .split(' ')
                        .map(|s| percent_decode(s).ok_or(format!("{name}: bad scope")))
                        .collect::<Result<Vec<_>, Failure>>()
                })
                .transpose()?
                .unwrap_or_default(),
        });
        let body = response.text().await.map_err(|e| format!("{name}: {e}"))?;
        if status == reqwest::StatusCode::OK {
            Ok(format!(
                "{{\"name\":{},\"valid\":true,\"kid\":{},\"claims\":{},\"derived\":{derived}}}",
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
        // The server is on loopback: no proxy from the environment.
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?,
        through_core: 0,
        servers: 0,
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
        "http runner: token cases over HTTP on {} server configurations; {not_http} JWKS/raw cases \
         and {} unsendable tokens reported through the core (no HTTP surface)",
        runner.servers, runner.through_core
    );
    Ok(())
}

fn main() -> ExitCode {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: cryptr-guard-http-conformance VECTOR_FILE_OR_DIR...");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cryptr-guard-http-conformance: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&paths)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cryptr-guard-http-conformance: {e}");
            ExitCode::from(2)
        }
    }
}
