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

fn check(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .arg("check")
        .args(args)
        .env_remove("CRYPTR_BASE_URL")
        .env_remove("CRYPTR_TENANT_DOMAIN")
        .env_remove("CRYPTR_AUDIENCE")
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
    assert_eq!(code, 2, "plain http refused without --allow-http");
    assert!(err.contains("--allow-http"), "{err}");
    let (code, _, _) = run(with(&["--bogus"]), None);
    assert_eq!(code, 2);
}

#[test]
fn serve_refuses_a_bad_configuration_with_a_clear_message() {
    let out = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_remove("CRYPTR_BASE_URL")
        .env_remove("CRYPTR_TENANT_DOMAIN")
        .env_remove("CRYPTR_AUDIENCE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CRYPTR_BASE_URL"));
    let out = Command::new(BIN)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--jwks-url",
            "http://127.0.0.1:9/jwks",
        ])
        .env("CRYPTR_BASE_URL", "https://auth.cryptr.eu")
        .env("CRYPTR_TENANT_DOMAIN", "shark-academy")
        .env("CRYPTR_AUDIENCE", AUDIENCE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-http"));
    let out = Command::new(BIN)
        .args(["demo", "--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the demo is loopback only");
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
    let mut child = Command::new(BIN)
        .args(["demo", "--bind", "127.0.0.1:0", "--bits", "2048"])
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
    assert_eq!(examples.len(), 5, "{text}");
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
