//! Connections on real sockets: the header and keep-alive timeouts, and the connection limit
//! under a flood of idle connections (`connections::serve_with`), plus the same flood against
//! the built binary under a low open-file limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use cryptr_guard_server::connections::{Closed, ConnectionStats};
use cryptr_guard_server::{ConnectionLimits, app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Server {
    addr: std::net::SocketAddr,
    stats: Arc<ConnectionStats>,
    token: String,
    _issuer: Issuer,
}

async fn start(limits: ConnectionLimits) -> Server {
    let [a, _] = keys();
    let issuer = Issuer::start(Behaviour::Serve(jwks_of(&[a]), None)).await;
    let (settings, _) = settings(&issuer.url);
    let state = state(settings);
    let stats = Arc::clone(state.metrics().connections());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(cryptr_guard_server::serve_with(
        listener,
        app(state),
        limits,
        Arc::clone(&stats),
        std::future::pending(),
    ));
    Server {
        addr,
        stats,
        token: token(a, &claims(T0)),
        _issuer: issuer,
    }
}

fn limits(header: u64, keep_alive: u64, max: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: Duration::from_secs(header),
        keep_alive_timeout: Duration::from_secs(keep_alive),
        max_connections: max,
    }
}

fn request(token: &str) -> Vec<u8> {
    format!("GET /api/v1/courses HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\r\n")
        .into_bytes()
}

/// Reads one response (head and a Content-Length body): its status.
async fn response(stream: &mut TcpStream) -> u16 {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if data.len() >= end + 4 + length {
                return head[9..12].parse().unwrap();
            }
        }
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before a whole response");
        data.extend_from_slice(&buf[..n]);
    }
}

/// Waits (at most `limit`) for the server to close `stream`: the time it took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf))
            .await
        {
            Err(_) => panic!("still open after {limit:?}"),
            Ok(Ok(0) | Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = start(limits(1, 60, 100)).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let took = closed_within(&mut idle, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert_eq!(server.stats.closed(Closed::HeaderTimeout), 1);
}

#[tokio::test]
async fn a_half_sent_head_is_closed_after_the_header_timeout() {
    let server = start(limits(1, 60, 100)).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    let start = Instant::now();
    // A byte every 200 ms: no read ever waits long, the head never ends.
    let dripping = async {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        {
            if slow.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), dripping)
        .await
        .unwrap();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(server.stats.closed(Closed::HeaderTimeout), 1);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let server = start(limits(10, 1, 100)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&request(&server.token)).await.unwrap();
    assert_eq!(response(&mut stream).await, 200);
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(server.stats.closed(Closed::IdleTimeout), 1);
}

#[tokio::test]
async fn a_kept_alive_connection_lives_past_the_header_timeout_but_not_a_slow_head() {
    let server = start(limits(1, 3, 100)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // Requests 400 ms apart for 2.4 s: the header timeout counts per request head.
    for _ in 0..6 {
        stream.write_all(&request(&server.token)).await.unwrap();
        assert_eq!(response(&mut stream).await, 200);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // The next head starts and stalls: closed a header timeout after its first byte, well
    // before the keep-alive timeout.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert_eq!(server.stats.closed(Closed::HeaderTimeout), 1);
    assert_eq!(server.stats.closed(Closed::IdleTimeout), 0);
}

#[tokio::test]
async fn valid_requests_are_served_while_idle_connections_fill_the_limit() {
    const IDLE: usize = 250;
    const MAX: usize = 100;
    // Header timeout far beyond the test: only the limit's turnover makes room.
    let server = start(limits(60, 60, MAX)).await;
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let start = Instant::now();
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(&request(&server.token)).await.unwrap();
        let status = tokio::time::timeout(Duration::from_secs(5), response(&mut stream))
            .await
            .expect("a valid request went unanswered");
        assert_eq!(status, 200);
        slowest = slowest.max(start.elapsed());
    }
    assert!(slowest < Duration::from_secs(1), "slowest: {slowest:?}");
    assert!(server.stats.open() <= MAX, "{}", server.stats.open());
    assert!(
        server.stats.closed(Closed::Evicted) >= (IDLE - MAX) as u64,
        "{}",
        server.stats.closed(Closed::Evicted)
    );
}

/// The built binary under `ulimit -n 128` with a connection limit above it: accepting runs out
/// of file descriptors, idle connections make room, valid requests are answered.
#[tokio::test]
async fn out_of_file_descriptors_the_binary_still_answers() {
    let [a, _] = keys();
    let issuer = Issuer::start(Behaviour::Serve(jwks_of(&[a]), None)).await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let bin = env!("CARGO_BIN_EXE_cryptr-guard");
    let mut child = tokio::process::Command::new("prlimit")
        .args(["--nofile=128:128", "--", bin, "serve", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--issuer", ISSUER, "--jwks-url", &issuer.url, "--audience"])
        .args([AUDIENCE, "--allow-http", "--max-connections", "1000"])
        .args(["--header-timeout", "60"])
        .env("RUST_LOG", "error")
        .kill_on_drop(true)
        .spawn()
        .expect("prlimit (util-linux) runs the binary");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let valid = token(a, &claims(now));
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let start = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&request(&valid)).await.unwrap();
        let status = tokio::time::timeout(Duration::from_secs(5), response(&mut stream))
            .await
            .expect("a valid request went unanswered");
        assert_eq!(status, 200);
        slowest = slowest.max(start.elapsed());
    }
    assert!(slowest < Duration::from_secs(2), "slowest: {slowest:?}");
    drop(idle);
    let _ = child.kill().await;
}
