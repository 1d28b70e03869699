//! `cryptr-guard`: parses the configuration, sets up tracing, binds and serves. Everything else
//! lives in the library (`cryptr_guard_server`).

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use cryptr_guard_core::{KeySetOptions, Options, Validator};
use cryptr_guard_server::check::{self, KeySource};
use cryptr_guard_server::{AppState, Clock, FetchConfig, Settings, VerifyMode, app, demo};

/// OAuth2/OIDC RS256 access-token validation for Cryptr-style APIs.
#[derive(Debug, Parser)]
#[command(name = "cryptr-guard", version, about)]
struct Cli {
    /// Log format (logs go to stderr; filter with RUST_LOG, default `info`).
    #[arg(
        long,
        global = true,
        env = "CRYPTR_GUARD_LOG_FORMAT",
        default_value = "pretty"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the protected API, the forward-auth endpoint, health, readiness and metrics.
    Serve(ServeArgs),
    /// Validate one token against a JWKS file or URL (exit 0 valid, 1 refused, 2 usage, 3 no key set).
    Check(CheckArgs),
    /// Start the server with a built-in demo issuer on loopback and print curl commands to try.
    Demo(DemoArgs),
}

/// Who issues the tokens and for whom (the tutorial's variables).
#[derive(Debug, Args)]
struct IssuerArgs {
    /// Cryptr base URL, e.g. https://auth.cryptr.eu (issuer = BASE/t/TENANT).
    #[arg(long, env = "CRYPTR_BASE_URL")]
    base_url: Option<String>,
    /// Cryptr tenant domain, e.g. shark-academy.
    #[arg(long, env = "CRYPTR_TENANT_DOMAIN")]
    tenant_domain: Option<String>,
    /// Accepted issuer(s), instead of BASE/t/TENANT (comma-separated).
    #[arg(long, env = "CRYPTR_GUARD_ISSUER", value_delimiter = ',')]
    issuer: Vec<String>,
    /// The API's audience, e.g. http://localhost:8081.
    #[arg(long, env = "CRYPTR_AUDIENCE")]
    audience: Option<String>,
    /// More accepted audiences (comma-separated).
    #[arg(long, env = "CRYPTR_GUARD_ALLOWED_AUDIENCES", value_delimiter = ',')]
    allowed_audiences: Vec<String>,
    /// Clock skew allowed on exp, nbf and iat, in seconds.
    #[arg(long, env = "CRYPTR_GUARD_LEEWAY", default_value_t = 0)]
    leeway: u64,
    /// Smallest accepted RSA modulus, in bits (1024 to 8192).
    #[arg(long, env = "CRYPTR_GUARD_MIN_RSA_BITS", default_value_t = 2048)]
    min_rsa_bits: u32,
    /// Allow a plain-http JWKS URL (local development and tests only).
    #[arg(long, env = "CRYPTR_GUARD_ALLOW_HTTP")]
    allow_http: bool,
    /// Timeout of one JWKS fetch, in seconds.
    #[arg(long, env = "CRYPTR_GUARD_JWKS_TIMEOUT", default_value_t = 5)]
    jwks_timeout: u64,
    /// Largest accepted JWKS body, in bytes.
    #[arg(long, env = "CRYPTR_GUARD_JWKS_MAX_BYTES", default_value_t = 1 << 20)]
    jwks_max_bytes: usize,
}

impl IssuerArgs {
    fn issuers(&self) -> Result<Vec<String>, String> {
        if !self.issuer.is_empty() {
            return Ok(self.issuer.clone());
        }
        match (&self.base_url, &self.tenant_domain) {
            (Some(base), Some(tenant)) if !base.is_empty() && !tenant.is_empty() => {
                Ok(vec![format!("{}/t/{tenant}", base.trim_end_matches('/'))])
            }
            _ => Err("set CRYPTR_BASE_URL and CRYPTR_TENANT_DOMAIN (--base-url, --tenant-domain), or --issuer".into()),
        }
    }

    fn options(&self) -> Result<Options, String> {
        let issuers = self.issuers()?;
        let mut audiences: Vec<String> = self.audience.iter().cloned().collect();
        audiences.extend(self.allowed_audiences.iter().cloned());
        audiences.retain(|a| !a.is_empty());
        if audiences.is_empty() {
            return Err("set CRYPTR_AUDIENCE (--audience)".into());
        }
        Ok(Options::new("", "")
            .issuers(issuers)
            .audiences(audiences)
            .leeway(self.leeway))
    }

    fn key_set(&self) -> Result<KeySetOptions, String> {
        KeySetOptions::default()
            .with_min_rsa_bits(self.min_rsa_bits)
            .map_err(|e| format!("--min-rsa-bits: {e}"))
    }

    fn fetch(&self, url: Option<&str>) -> Result<FetchConfig, String> {
        let url = match url {
            Some(url) => url.to_string(),
            None => format!(
                "{}/.well-known",
                self.issuers()?.first().cloned().unwrap_or_default()
            ),
        };
        let mut config = FetchConfig::new(url);
        config.allow_http = self.allow_http;
        config.timeout = Duration::from_secs(self.jwks_timeout.max(1));
        config.max_bytes = self.jwks_max_bytes;
        config.key_set = self.key_set()?;
        cryptr_guard_server::jwks::check_url(&config.url, config.allow_http)?;
        Ok(config)
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    issuer: IssuerArgs,
    /// Address to listen on.
    #[arg(long, env = "CRYPTR_GUARD_BIND", default_value = "127.0.0.1:3000")]
    bind: SocketAddr,
    /// JWKS URL (default: ISSUER/.well-known, as the tutorial).
    #[arg(long, env = "CRYPTR_GUARD_JWKS_URL")]
    jwks_url: Option<String>,
    /// Verified-token cache capacity (0 disables it).
    #[arg(long, env = "CRYPTR_GUARD_TOKEN_CACHE", default_value_t = 10_000)]
    token_cache: usize,
    /// Claims the forward-auth endpoint copies into X-Auth-Claim-<name> headers (comma-separated).
    #[arg(long, env = "CRYPTR_GUARD_FORWARD_CLAIMS", value_delimiter = ',')]
    forward_claims: Vec<String>,
    /// Request timeout, in seconds (answered 503).
    #[arg(long, env = "CRYPTR_GUARD_REQUEST_TIMEOUT", default_value_t = 10)]
    request_timeout: u64,
    /// Run RSA verification on tokio's blocking pool instead of inline (see README).
    #[arg(long, env = "CRYPTR_GUARD_BLOCKING_VERIFY")]
    blocking_verify: bool,
    /// Worker threads (default: one per core).
    #[arg(long, env = "CRYPTR_GUARD_WORKERS")]
    workers: Option<usize>,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The token (default: read from stdin; `-` reads stdin too).
    token: Option<String>,
    #[command(flatten)]
    issuer: IssuerArgs,
    /// JWKS file path or http(s) URL (default: ISSUER/.well-known).
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
    /// Size of the demo issuer's RSA key (Cryptr uses 4096).
    #[arg(long, default_value_t = 4096)]
    bits: usize,
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
        builder.worker_threads(workers.max(1));
    }
    builder.build().map_err(|e| format!("runtime: {e}"))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("cryptr-guard: {message}");
    ExitCode::from(check::EXIT_USAGE)
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let options = args.issuer.options()?;
    let mut settings = Settings::new(options, "");
    settings.fetch = args.issuer.fetch(args.jwks_url.as_deref())?;
    settings.token_cache = args.token_cache;
    settings.forward_claims = args
        .forward_claims
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    settings.request_timeout = Duration::from_secs(args.request_timeout.max(1));
    settings.verify_mode = if args.blocking_verify {
        VerifyMode::BlockingPool
    } else {
        VerifyMode::Inline
    };
    let jwks_url = settings.fetch.url.clone();
    let issuers = settings.options.issuer_list().join(", ");
    runtime(args.workers)?.block_on(async move {
        let state = AppState::new(settings)?;
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(address = %local, issuer = %issuers, jwks = %jwks_url, "cryptr-guard serving");
        state.warm_up();
        cryptr_guard_server::serve(listener, app(state), shutdown_signal())
            .await
            .map_err(|e| format!("server: {e}"))
    })
}

fn run_check(args: CheckArgs) -> Result<u8, String> {
    let validator = Validator::new(args.issuer.options()?).map_err(|e| e.to_string())?;
    let key_set = args.issuer.key_set()?;
    let source = match args.jwks.as_deref() {
        Some(s) if s.starts_with("http://") || s.starts_with("https://") => {
            KeySource::Url(args.issuer.fetch(Some(s))?)
        }
        Some(path) => KeySource::File(PathBuf::from(path)),
        None => KeySource::Url(args.issuer.fetch(None)?),
    };
    let token = match args.token {
        Some(token) if token != "-" => token.into_bytes(),
        _ => {
            let mut input = Vec::new();
            std::io::stdin()
                .read_to_end(&mut input)
                .map_err(|e| format!("reading the token from stdin: {e}"))?;
            input.trim_ascii().to_vec()
        }
    };
    let now = args.now.unwrap_or_else(|| Clock::System.now());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    Ok(runtime.block_on(check::run(&token, &source, &key_set, &validator, now)))
}

fn run_demo(args: DemoArgs) -> Result<(), String> {
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
        eprintln!("cryptr-guard demo: generating a {bits}-bit RSA key…");
        let demo =
            tokio::task::spawn_blocking(move || demo::setup(local, bits, Clock::System.now()))
                .await
                .map_err(|e| format!("demo: {e}"))??;
        // A closed stdout (the reader went away) must not stop the demo.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(demo.instructions.as_bytes());
        let _ = out.flush();
        drop(out);
        cryptr_guard_server::serve(listener, demo.router, shutdown_signal())
            .await
            .map_err(|e| format!("server: {e}"))
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
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
