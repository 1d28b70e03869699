//! `cryptr-guard`: parses the command line, sets up tracing, binds and serves. Settings are read
//! by the library (`cryptr_guard_server::config`, the core's `HostConfig::from_settings`): each
//! flag only feeds the lookup its environment variable feeds, and wins over it.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use cryptr_guard_core::guard::{HostConfig, check_url, parse_list};
use cryptr_guard_server::check::{self, InputError, KeySource};
use cryptr_guard_server::config::{self, LogFormat, Lookup};
use cryptr_guard_server::{AppState, Clock, KeysAt, Settings, StartError, app, demo};

/// OAuth2/OIDC RS256 access-token validation for Cryptr-style APIs, one or several issuers.
#[derive(Debug, Parser)]
#[command(name = "cryptr-guard", version, about)]
struct Cli {
    /// Log format, pretty or json (logs go to stderr; level from RUST_LOG, default info)
    /// [CRYPTR_GUARD_LOG_FORMAT].
    #[arg(long, global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the protected API, the forward-auth endpoint, health, readiness and metrics.
    Serve(ServeArgs),
    /// Validate one token (exit 0 valid, 1 refused, 2 usage, 3 no key set).
    Check(CheckArgs),
    /// Start the server with a built-in demo issuer of two organizations on loopback and print
    /// curl commands to try.
    Demo(DemoArgs),
}

/// The `CRYPTR_*` settings as flags. Values are passed as given to the settings reader, which
/// names the setting in its errors.
#[derive(Debug, Args)]
struct SettingFlags {
    /// Cryptr base URL, e.g. https://auth.cryptr.eu [CRYPTR_BASE_URL].
    #[arg(long, allow_hyphen_values = true)]
    base_url: Option<String>,
    /// Tenant (organization) domains, comma-separated [CRYPTR_TENANT_DOMAIN].
    #[arg(long, allow_hyphen_values = true)]
    tenant_domain: Option<String>,
    /// Instead of base URL and tenants: issuers, comma-separated [CRYPTR_ISSUER].
    #[arg(long, allow_hyphen_values = true)]
    issuer: Option<String>,
    /// With --issuer: each issuer's JWKS URL, comma-separated, same order (without it, each one
    /// is discovered from {issuer}/.well-known/openid-configuration) [CRYPTR_JWKS_URL].
    #[arg(long, allow_hyphen_values = true)]
    jwks_url: Option<String>,
    /// Accepted audiences, comma-separated [CRYPTR_AUDIENCE].
    #[arg(long, allow_hyphen_values = true)]
    audience: Option<String>,
    /// Older flag: more accepted audiences, added to --audience [CRYPTR_AUDIENCE].
    #[arg(long, allow_hyphen_values = true)]
    allowed_audiences: Option<String>,
    /// Accepted OAuth client ids, comma-separated [CRYPTR_CLIENT_IDS].
    #[arg(long, allow_hyphen_values = true)]
    client_ids: Option<String>,
    /// cryptr (default) or rfc [CRYPTR_PROFILE].
    #[arg(long, allow_hyphen_values = true)]
    profile: Option<String>,
    /// Clock skew allowed on exp, nbf, iat, in seconds [CRYPTR_LEEWAY].
    #[arg(long, allow_hyphen_values = true)]
    leeway: Option<String>,
    /// Furthest an exp may lie in the future, in seconds, or none [CRYPTR_MAX_LIFETIME].
    #[arg(long, allow_hyphen_values = true)]
    max_lifetime: Option<String>,
    /// Claims that must be present, comma-separated [CRYPTR_REQUIRED_CLAIMS].
    #[arg(long, allow_hyphen_values = true)]
    required_claims: Option<String>,
    /// The header typ required, e.g. at+jwt [CRYPTR_TYP].
    #[arg(long, allow_hyphen_values = true)]
    typ: Option<String>,
    /// Longest token accepted, in bytes [CRYPTR_MAX_TOKEN_LEN].
    #[arg(long, allow_hyphen_values = true)]
    max_token_len: Option<String>,
    /// Smallest RSA key accepted, 1024 to 8192 bits [CRYPTR_MIN_RSA_BITS].
    #[arg(long, allow_hyphen_values = true)]
    min_rsa_bits: Option<String>,
    /// Accept plain-http JWKS, issuer and discovered URLs, for local tests only
    /// [CRYPTR_ALLOW_HTTP].
    #[arg(long)]
    allow_http: bool,
    /// Hard deadline of one JWKS fetch, 1 to 30 seconds [CRYPTR_JWKS_TIMEOUT].
    #[arg(long, allow_hyphen_values = true)]
    jwks_timeout: Option<String>,
    /// Largest JWKS body accepted, in bytes [CRYPTR_JWKS_MAX_BYTES].
    #[arg(long, allow_hyphen_values = true)]
    jwks_max_bytes: Option<String>,
    /// Verified tokens cached per issuer, 0 disables the cache [CRYPTR_TOKEN_CACHE_SIZE].
    #[arg(long, allow_hyphen_values = true)]
    token_cache: Option<String>,
}

impl SettingFlags {
    fn feed<E: Fn(&str) -> Option<String>>(&self, lookup: &mut Lookup<E>) {
        let audience = match (&self.audience, &self.allowed_audiences) {
            (Some(a), Some(more)) => Some(format!("{a},{more}")),
            (a, more) => a.clone().or_else(|| more.clone()),
        };
        let values = [
            ("CRYPTR_BASE_URL", &self.base_url),
            ("CRYPTR_TENANT_DOMAIN", &self.tenant_domain),
            ("CRYPTR_ISSUER", &self.issuer),
            ("CRYPTR_JWKS_URL", &self.jwks_url),
            ("CRYPTR_AUDIENCE", &audience),
            ("CRYPTR_CLIENT_IDS", &self.client_ids),
            ("CRYPTR_PROFILE", &self.profile),
            ("CRYPTR_LEEWAY", &self.leeway),
            ("CRYPTR_MAX_LIFETIME", &self.max_lifetime),
            ("CRYPTR_REQUIRED_CLAIMS", &self.required_claims),
            ("CRYPTR_TYP", &self.typ),
            ("CRYPTR_MAX_TOKEN_LEN", &self.max_token_len),
            ("CRYPTR_MIN_RSA_BITS", &self.min_rsa_bits),
            ("CRYPTR_JWKS_TIMEOUT", &self.jwks_timeout),
            ("CRYPTR_JWKS_MAX_BYTES", &self.jwks_max_bytes),
            ("CRYPTR_TOKEN_CACHE_SIZE", &self.token_cache),
        ];
        for (setting, value) in values {
            if let Some(value) = value {
                lookup.flag(setting, value.clone());
            }
        }
        if self.allow_http {
            lookup.flag("CRYPTR_ALLOW_HTTP", "true");
        }
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    settings: SettingFlags,
    /// Address to listen on (default 127.0.0.1:3000) [CRYPTR_GUARD_BIND].
    #[arg(long, allow_hyphen_values = true)]
    bind: Option<String>,
    /// Worker threads (default: one per core) [CRYPTR_GUARD_WORKERS].
    #[arg(long, allow_hyphen_values = true)]
    workers: Option<String>,
    /// Request timeout in seconds, answered 503 (default 10) [CRYPTR_GUARD_REQUEST_TIMEOUT].
    #[arg(long, allow_hyphen_values = true)]
    request_timeout: Option<String>,
    /// Seconds for a request head to arrive in full (default 10) [CRYPTR_GUARD_HEADER_TIMEOUT].
    #[arg(long, allow_hyphen_values = true)]
    header_timeout: Option<String>,
    /// Seconds a kept-alive connection may wait for its next request, 0: no keep-alive
    /// (default 120) [CRYPTR_GUARD_KEEP_ALIVE_TIMEOUT].
    #[arg(long, allow_hyphen_values = true)]
    keep_alive_timeout: Option<String>,
    /// Connections open at once (default 4096, or the open-file limit less 64)
    /// [CRYPTR_GUARD_MAX_CONNECTIONS].
    #[arg(long, allow_hyphen_values = true)]
    max_connections: Option<String>,
    /// Claims /auth copies into X-Auth-Claim-<name> headers, comma-separated
    /// [CRYPTR_GUARD_FORWARD_CLAIMS].
    #[arg(long, allow_hyphen_values = true)]
    forward_claims: Option<String>,
    /// Scopes a route requires: PATH=SCOPE [SCOPE…], entries comma-separated
    /// [CRYPTR_GUARD_ROUTE_SCOPES].
    #[arg(long, allow_hyphen_values = true)]
    route_scopes: Option<String>,
    /// Verify signatures on tokio's blocking pool instead of inline [CRYPTR_GUARD_BLOCKING_VERIFY].
    #[arg(long)]
    blocking_verify: bool,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The token, or a whole Authorization value ("Bearer <token>"); default, or `-`: stdin.
    token: Option<String>,
    #[command(flatten)]
    settings: SettingFlags,
    /// One key set for the check: a JWKS file or http(s) URL (default: the configured issuers'
    /// JWKS URLs, fetched as serve fetches them).
    #[arg(long)]
    jwks: Option<String>,
    /// Validate at this instant (seconds since the epoch) instead of now.
    #[arg(long)]
    now: Option<u64>,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    bind: SocketAddr,
    /// Size of the demo issuer's RSA keys, 2048 to 8192 (Cryptr uses 4096).
    #[arg(long, default_value_t = 4096)]
    bits: usize,
}

/// The process environment; a value that is not UTF-8 is kept (lossily) so that the settings
/// reader refuses it by name instead of ignoring it.
fn environment(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => builder.compact().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn runtime(workers: Option<usize>) -> Result<tokio::runtime::Runtime, String> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(workers) = workers {
        builder.worker_threads(workers);
    }
    builder.build().map_err(|e| format!("runtime: {e}"))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("cryptr-guard: {message}");
    ExitCode::from(check::EXIT_USAGE)
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let mut lookup = Lookup::new(environment);
    args.settings.feed(&mut lookup);
    let server_flags = [
        ("CRYPTR_GUARD_BIND", &args.bind),
        ("CRYPTR_GUARD_WORKERS", &args.workers),
        ("CRYPTR_GUARD_REQUEST_TIMEOUT", &args.request_timeout),
        ("CRYPTR_GUARD_HEADER_TIMEOUT", &args.header_timeout),
        ("CRYPTR_GUARD_KEEP_ALIVE_TIMEOUT", &args.keep_alive_timeout),
        ("CRYPTR_GUARD_MAX_CONNECTIONS", &args.max_connections),
        ("CRYPTR_GUARD_FORWARD_CLAIMS", &args.forward_claims),
        ("CRYPTR_GUARD_ROUTE_SCOPES", &args.route_scopes),
    ];
    for (setting, value) in server_flags {
        if let Some(value) = value {
            lookup.flag(setting, value.clone());
        }
    }
    if args.blocking_verify {
        lookup.flag("CRYPTR_GUARD_BLOCKING_VERIFY", "true");
    }
    let get = |name: &str| lookup.get(name);
    let explain = |e| lookup.explain(e).to_string();
    let settings = Settings::from_settings(get).map_err(explain)?;
    let bind = config::bind(&get).map_err(explain)?;
    let workers = config::workers(&get).map_err(explain)?;
    let limits = config::connection_limits(&get).map_err(explain)?;
    for (old, current) in lookup.shadowed_aliases() {
        tracing::warn!("{old} is ignored: {current} is set too (it is the current name)");
    }
    runtime(workers)?.block_on(async move {
        let state = AppState::new(settings).map_err(|e| match e {
            StartError::Setting(e) => explain(e),
            other => other.to_string(),
        })?;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        for (issuer, keys_at) in state.issuers() {
            match keys_at {
                KeysAt::Jwks(url) => tracing::info!(issuer, jwks = url, "issuer configured"),
                KeysAt::Discovery(url) => {
                    tracing::info!(issuer, discovery = url, "issuer configured")
                }
            }
        }
        tracing::info!(
            address = %local,
            header_timeout = ?limits.header_timeout,
            keep_alive_timeout = ?limits.keep_alive_timeout,
            max_connections = limits.max_connections,
            request_timeout = ?state.request_timeout(),
            "cryptr-guard serving"
        );
        state.spawn_refresher();
        let stats = std::sync::Arc::clone(state.metrics().connections());
        cryptr_guard_server::serve_with(listener, app(state), limits, stats, shutdown_signal())
            .await
            .map_err(|e| format!("server: {e}"))
    })
}

/// Stands for the JWKS URLs when `check --jwks` gives the key set: the settings reader wants one
/// per issuer, and with `--jwks` none is fetched.
const UNUSED_JWKS_URL: &str = "https://jwks.invalid/given-by-the-jwks-flag";

fn run_check(args: CheckArgs) -> Result<u8, String> {
    let input = match &args.token {
        Some(token) if token != "-" => token.clone().into_bytes(),
        _ => {
            let mut input = Vec::new();
            std::io::stdin()
                .read_to_end(&mut input)
                .map_err(|e| format!("reading the token from stdin: {e}"))?;
            input
        }
    };
    let token = match check::token_of(&input) {
        Ok(token) => token,
        Err(InputError::Empty) => {
            return Err("no token: give it as the first argument or on stdin".into());
        }
        Err(InputError::Header(rejection)) => {
            eprintln!(
                "{}: {} (the input was read as an Authorization header value)",
                rejection.code(),
                rejection.description()
            );
            return Ok(check::EXIT_REFUSED);
        }
    };
    let mut lookup = Lookup::new(environment);
    args.settings.feed(&mut lookup);
    let source = args.jwks.as_deref().map(KeySource::parse);
    if source.is_some()
        && lookup.get("CRYPTR_JWKS_URL").is_none()
        && let Some(issuers) = lookup.get("CRYPTR_ISSUER")
    {
        let unused = vec![UNUSED_JWKS_URL; parse_list(&issuers).len()].join(",");
        lookup.flag("CRYPTR_JWKS_URL", unused);
    }
    let host = HostConfig::from_settings(|name| lookup.get(name))
        .map_err(|e| lookup.explain(e).to_string())?;
    if let Some(KeySource::Url(url)) = &source {
        check_url(url, host.settings.allow_http).map_err(|e| {
            let mut message = format!("--jwks: {}", e.0);
            if e.0.contains("plain http") {
                message.push_str(" (set CRYPTR_ALLOW_HTTP=1, or --allow-http, for local tests)");
            }
            message
        })?;
    }
    let now = args.now.unwrap_or_else(|| Clock::System.now());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    Ok(runtime.block_on(check::run(token, source.as_ref(), host, now)))
}

fn run_demo(args: DemoArgs) -> Result<(), String> {
    demo::check_bits(args.bits)?;
    if !args.bind.ip().is_loopback() {
        return Err(format!(
            "the demo listens on loopback only, not on {}",
            args.bind.ip()
        ));
    }
    runtime(None)?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let bits = args.bits;
        eprintln!("cryptr-guard demo: generating two {bits}-bit RSA keys…");
        let demo =
            tokio::task::spawn_blocking(move || demo::setup(local, bits, Clock::System.now()))
                .await
                .map_err(|e| format!("demo: {e}"))??;
        // A closed stdout (the reader went away) must not stop the demo.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(demo.instructions.as_bytes());
        let _ = out.flush();
        drop(out);
        demo.state.spawn_refresher();
        let stats = std::sync::Arc::clone(demo.state.metrics().connections());
        cryptr_guard_server::serve_with(
            listener,
            demo.router,
            cryptr_guard_server::ConnectionLimits::default(),
            stats,
            shutdown_signal(),
        )
        .await
        .map_err(|e| format!("server: {e}"))
    })
}

fn main() -> ExitCode {
    let help = config::settings_help();
    let command = Cli::command()
        .mut_subcommand("serve", |c| c.after_long_help(help.clone()))
        .mut_subcommand("check", |c| c.after_long_help(help.clone()));
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let mut lookup = Lookup::new(environment);
    if let Some(format) = &cli.log_format {
        lookup.flag("CRYPTR_GUARD_LOG_FORMAT", format.clone());
    }
    match config::log_format(&|name: &str| lookup.get(name)) {
        Ok(format) => init_tracing(format),
        Err(e) => return fail(&lookup.explain(e).to_string()),
    }
    match cli.command {
        Command::Serve(args) => match serve(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Command::Check(args) => match run_check(args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => fail(&e),
        },
        Command::Demo(args) => match run_demo(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
    }
}
