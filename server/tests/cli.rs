//! The built binary: `check` exit codes and `demo` answering its own printed curls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cryptr-guard");

fn temp_file(name: &str, content: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cryptr-guard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// The binary with no `CRYPTR_*` variable from the caller's environment.
fn command() -> Command {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CRYPTR_") {
            command.env_remove(name);
        }
    }
    command
}

fn check(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    check_env(args, stdin, &[])
}

fn check_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut child = command()
        .arg("check")
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn check_exit_codes() {
    let [a, b] = keys();
    let jwks = temp_file("jwks.json", &jwks_of(&[a]));
    let jwks = jwks.to_str().unwrap();
    let now = T0.to_string();
    let base = [
        "--base-url",
        "https://auth.cryptr.eu",
        "--tenant-domain",
        "shark-academy",
        "--audience",
        AUDIENCE,
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |args: Vec<String>, stdin: Option<&str>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        check(&args, stdin)
    };

    // Valid, from an argument: claims on stdout, exit 0.
    let good = token(a, &claims(T0));
    let (code, out, err) = run(with(&[&good, "--jwks", jwks, "--now", &now]), None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), claims(T0));

    // Valid, from stdin (with a trailing newline).
    let (code, _, err) = run(
        with(&["--jwks", jwks, "--now", &now]),
        Some(&format!("{good}\n")),
    );
    assert_eq!(code, 0, "{err}");

    // Expired at a later `now`: exit 1, SPEC code on stderr, nothing on stdout.
    let later = (T0 + 3600).to_string();
    let (code, out, err) = run(with(&[&good, "--jwks", jwks, "--now", &later]), None);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("token_expired: "), "{err}");
    // Leeway rescues it.
    let (code, _, _) = run(
        with(&[&good, "--jwks", jwks, "--now", &later, "--leeway", "1"]),
        None,
    );
    assert_eq!(code, 0);

    // Signed by another key without kid match: unknown_key.
    let (code, _, err) = run(
        with(&[&token(b, &claims(T0)), "--jwks", jwks, "--now", &now]),
        None,
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("unknown_key: "), "{err}");

    // Wrong audience.
    let (code, _, err) = run(
        vec![
            "--base-url",
            "https://auth.cryptr.eu",
            "--tenant-domain",
            "shark-academy",
            "--audience",
            "https://other",
            &good,
            "--jwks",
            jwks,
            "--now",
            &now,
        ]
        .into_iter()
        .map(String::from)
        .collect(),
        None,
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("invalid_audience: "), "{err}");

    // Key set problems: exit 3.
    let (code, _, err) = run(
        with(&[&good, "--jwks", "/nonexistent/jwks.json", "--now", &now]),
        None,
    );
    assert_eq!(code, 3);
    assert!(err.starts_with("jwks_unavailable: "), "{err}");
    let broken = temp_file("broken.json", "{\"keys\": 1}");
    let (code, _, err) = run(
        with(&[&good, "--jwks", broken.to_str().unwrap(), "--now", &now]),
        None,
    );
    assert_eq!(code, 3);
    assert!(err.starts_with("invalid_jwks: "), "{err}");
    let (code, _, err) = run(
        with(&[
            &good,
            "--jwks",
            "http://127.0.0.1:9/jwks",
            "--allow-http",
            "--jwks-timeout",
            "1",
        ]),
        None,
    );
    assert_eq!(code, 3, "{err}");

    // Usage and configuration errors: exit 2.
    let (code, _, err) = run(vec![good.clone(), "--jwks".into(), jwks.into()], None);
    assert_eq!(code, 2);
    assert!(err.contains("CRYPTR_BASE_URL"), "{err}");
    let (code, _, err) = run(with(&[&good, "--jwks", "http://127.0.0.1:9/jwks"]), None);
    assert_eq!(code, 2, "plain http refused without --allow-http: {err}");
    assert!(err.contains("--allow-http"), "{err}");
    let (code, _, _) = run(with(&["--bogus"]), None);
    assert_eq!(code, 2);
}

#[test]
fn serve_refuses_a_bad_configuration_with_a_clear_message() {
    let out = command()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CRYPTR_BASE_URL"));
    let out = command()
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            "https://auth.cryptr.eu/t/shark-academy",
            "--jwks-url",
            "http://127.0.0.1:9/jwks",
        ])
        .env("CRYPTR_AUDIENCE", AUDIENCE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--jwks-url (CRYPTR_JWKS_URL)") && err.contains("--allow-http"),
        "{err}"
    );
    let out = command()
        .args(["demo", "--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the demo is loopback only");
}

/// `serve` with the demo's configuration plus `env`, refused before binding: the message.
fn serve_refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = command()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .env("CRYPTR_BASE_URL", "https://auth.cryptr.eu")
        .env("CRYPTR_TENANT_DOMAIN", "shark-academy,blue-whale")
        .env("CRYPTR_AUDIENCE", AUDIENCE)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    err
}

#[test]
fn settings_errors_name_the_variable_or_the_flag_the_user_set() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 9] = [
        (
            &[],
            &[("CRYPTR_GUARD_JWKS_TIMEOUT", "0")],
            "CRYPTR_GUARD_JWKS_TIMEOUT (the older name of CRYPTR_JWKS_TIMEOUT): ",
        ),
        (
            &[],
            &[("CRYPTR_JWKS_TIMEOUT", "0")],
            "CRYPTR_JWKS_TIMEOUT: ",
        ),
        (
            &[],
            &[("CRYPTR_GUARD_WORKERS", "0")],
            "CRYPTR_GUARD_WORKERS: ",
        ),
        (
            &["--workers", "0"],
            &[],
            "--workers (CRYPTR_GUARD_WORKERS): ",
        ),
        (
            &[],
            &[("CRYPTR_GUARD_REQUEST_TIMEOUT", "0")],
            "CRYPTR_GUARD_REQUEST_TIMEOUT: ",
        ),
        (
            &[],
            &[("CRYPTR_GUARD_LEEWAY", "-5")],
            "CRYPTR_GUARD_LEEWAY (the older name of CRYPTR_LEEWAY): ",
        ),
        (&["--leeway", "-5"], &[], "--leeway (CRYPTR_LEEWAY): "),
        (
            &[],
            &[("CRYPTR_GUARD_ALLOW_HTTP", "maybe")],
            "CRYPTR_GUARD_ALLOW_HTTP (the older name of CRYPTR_ALLOW_HTTP): must be a boolean",
        ),
        (
            &[],
            &[("CRYPTR_GUARD_BLOCKING_VERIFY", "2")],
            "CRYPTR_GUARD_BLOCKING_VERIFY: must be a boolean",
        ),
    ];
    for (args, env, expected) in cases {
        let err = serve_refused(args, env);
        assert!(
            err.starts_with(&format!("cryptr-guard: {expected}")),
            "{args:?} {env:?}: {err}"
        );
        assert!(
            !err.contains("invalid digit") && !err.contains("-5"),
            "{err}"
        );
    }
    let err = serve_refused(&[], &[("CRYPTR_GUARD_LOG_FORMAT", "xml")]);
    assert!(err.contains("CRYPTR_GUARD_LOG_FORMAT"), "{err}");
}

#[test]
fn a_jwks_timeout_not_under_the_request_timeout_is_refused_naming_both() {
    let err = serve_refused(&["--jwks-timeout", "15", "--request-timeout", "10"], &[]);
    assert!(
        err.starts_with("cryptr-guard: --jwks-timeout (CRYPTR_JWKS_TIMEOUT): must be less than the request timeout"),
        "{err}"
    );
    assert!(err.contains("CRYPTR_GUARD_REQUEST_TIMEOUT"), "{err}");
    let err = serve_refused(&[], &[("CRYPTR_JWKS_TIMEOUT", "10")]);
    assert!(
        err.starts_with("cryptr-guard: CRYPTR_JWKS_TIMEOUT: "),
        "{err}"
    );
    for (name, value) in [
        ("CRYPTR_GUARD_HEADER_TIMEOUT", "0"),
        ("CRYPTR_GUARD_KEEP_ALIVE_TIMEOUT", "-1"),
        ("CRYPTR_GUARD_MAX_CONNECTIONS", "0"),
    ] {
        let err = serve_refused(&[], &[(name, value)]);
        assert!(err.starts_with(&format!("cryptr-guard: {name}: ")), "{err}");
    }
}

#[test]
fn a_boolean_variable_takes_every_spelling_of_the_shared_rule() {
    // CRYPTR_GUARD_ALLOW_HTTP=1 allows the plain-http JWKS URL: the fetch itself then fails
    // (nothing listens), exit 3, with its cause.
    let good = token(&keys()[0], &claims(T0));
    let now = T0.to_string();
    for value in ["1", "true", "YES", " on "] {
        let (code, _, err) = check_env(
            &[
                &good,
                "--issuer",
                ISSUER,
                "--audience",
                AUDIENCE,
                "--jwks-url",
                "http://127.0.0.1:9/jwks",
                "--now",
                &now,
            ],
            None,
            &[("CRYPTR_GUARD_ALLOW_HTTP", value)],
        );
        assert_eq!(code, 3, "{value}: {err}");
        assert!(
            err.to_ascii_lowercase().contains("refused"),
            "no cause: {err}"
        );
    }
}

/// Starts `cryptr-guard` with `args` at `RUST_LOG=level`; the lines of its stderr that `wanted`
/// accepts arrive on the receiver, in order, until it is dropped.
fn watch_stderr(
    args: &[&str],
    level: &str,
    wanted: fn(&str) -> bool,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = command()
        .args(args)
        .env("RUST_LOG", level)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (send, receive) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if wanted(&line) && send.send(line).is_err() {
                break;
            }
        }
    });
    (child, receive)
}

#[test]
fn serve_logs_a_failed_fetch_with_its_cause() {
    let (mut child, receive) = watch_stderr(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            ISSUER,
            "--jwks-url",
            "http://127.0.0.1:9/jwks",
            "--audience",
            AUDIENCE,
            "--allow-http",
        ],
        "warn",
        |line| line.contains("JWKS fetch failed"),
    );
    let line = receive.recv_timeout(Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("no failed fetch logged at start-up");
    assert!(line.contains(ISSUER), "{line}");
    assert!(
        line.to_ascii_lowercase().contains("connection refused"),
        "{line}"
    );
}

#[test]
fn serve_with_an_issuer_alone_logs_a_failed_discovery_with_its_cause() {
    let issuer = "http://127.0.0.1:9/realms/acme";
    let (mut child, receive) = watch_stderr(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            issuer,
            "--audience",
            AUDIENCE,
            "--allow-http",
        ],
        "info",
        |line| line.contains("issuer configured") || line.contains("discovery failed"),
    );
    let configured = receive.recv_timeout(Duration::from_secs(20));
    let failed = receive.recv_timeout(Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let configured = configured.expect("no configured issuer logged");
    assert!(
        configured.contains("http://127.0.0.1:9/realms/acme/.well-known/openid-configuration"),
        "{configured}"
    );
    let line = failed.expect("no failed discovery logged at start-up");
    assert!(line.contains(issuer), "{line}");
    assert!(
        line.to_ascii_lowercase().contains("connection refused"),
        "{line}"
    );
}

#[test]
fn demo_refuses_key_sizes_serve_would_not_accept_before_any_work() {
    for bits in ["1024", "100000", "0"] {
        let started = Instant::now();
        let out = command()
            .args(["demo", "--bind", "127.0.0.1:0", "--bits", bits])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bits}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--bits must be from 2048 to 8192"));
        assert!(out.stdout.is_empty(), "no instructions printed");
        assert!(started.elapsed() < Duration::from_secs(5), "{bits}");
    }
}

#[test]
fn check_reads_a_token_or_a_whole_authorization_value() {
    let jwks = temp_file("jwks-input.json", &jwks_of(&[&keys()[0]]));
    let good = token(&keys()[0], &claims(T0));
    let now = T0.to_string();
    let base = [
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--jwks",
        jwks.to_str().unwrap(),
        "--now",
        &now,
    ];
    for input in [
        format!("Bearer {good}"),
        format!("Authorization: Bearer {good}\n"),
        format!("  {good}\n"),
    ] {
        let (code, out, err) = check(&base, Some(&input));
        assert_eq!(code, 0, "{input}: {err}");
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), claims(T0));
        assert!(err.contains("derived values"), "{err}");
    }
    let (code, _, err) = check(&base, Some("Basic dXNlcg=="));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("invalid_header: ") && err.contains("Authorization header value"),
        "{err}"
    );
    for empty in ["", " \n"] {
        let (code, _, err) = check(&base, Some(empty));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("no token"), "{err}");
        assert!(!err.contains("segments"), "{err}");
    }
}

/// One printed example: the expected status and fine error, and the curl command.
struct Example {
    status: u16,
    error: Option<String>,
    authorization: Option<String>,
    url: String,
}

fn parse_examples(text: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut expect: Option<(u16, Option<String>)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# expect HTTP ") {
            let status = rest[..3].parse().unwrap();
            let error = rest.find("\"error\":\"").map(|i| {
                let tail = &rest[i + 9..];
                tail[..tail.find('"').unwrap()].to_string()
            });
            expect = Some((status, error));
        } else if line.starts_with("curl ") {
            let Some((status, error)) = expect.take() else {
                continue;
            };
            let authorization = line.find("'Authorization: ").map(|i| {
                let tail = &line[i + 16..];
                tail[..tail.find('\'').unwrap()].to_string()
            });
            let url = line.rsplit(' ').next().unwrap().to_string();
            examples.push(Example {
                status,
                error,
                authorization,
                url,
            });
        }
    }
    examples
}

#[tokio::test]
async fn demo_answers_its_own_curls() {
    let mut child = command()
        .args(["demo", "--bind", "127.0.0.1:0", "--bits", "2048"])
        .env_remove("CRYPTR_GUARD_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (send, receive) = std::sync::mpsc::channel::<String>();
    // Reads the instructions, then keeps draining stdout until the child exits.
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut send = Some(send);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            text.push_str(&line);
            text.push('\n');
            if line.contains("Press Ctrl-C")
                && let Some(send) = send.take()
            {
                let _ = send.send(std::mem::take(&mut text));
            }
        }
    });
    let text = receive.recv_timeout(Duration::from_secs(60)).unwrap();
    let examples = parse_examples(&text);
    assert_eq!(examples.len(), 9, "{text}");
    assert!(
        text.contains("CRYPTR_TENANT_DOMAIN=shark-academy,blue-whale"),
        "{text}"
    );
    assert!(
        examples
            .iter()
            .all(|e| e.url.starts_with("http://127.0.0.1:"))
    );
    let client = reqwest::Client::new();
    for example in &examples {
        let mut request = client.get(&example.url);
        if let Some(authorization) = &example.authorization {
            request = request.header("authorization", authorization);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            example.status,
            "{}",
            example.url
        );
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        match &example.error {
            Some(error) => assert_eq!(body["error"], json!(error)),
            None => assert!(body.is_array() || body["sub"].is_string(), "{body}"),
        }
        if example.url.ends_with("/auth") {
            assert_eq!(body["org"], "blue-whale", "{body}");
        }
    }
    // SIGTERM: graceful shutdown, exit 0.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "demo did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
