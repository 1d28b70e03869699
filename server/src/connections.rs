//! The server's connections: accepting them, HTTP/1.1 over hyper, and the limits that keep idle,
//! half-sent and kept-alive connections from holding the server (`axum::serve` has none: a
//! connection that sends nothing stays open for ever, and once the process runs out of file
//! descriptors its accept loop sleeps a second per attempt).
//!
//! - **Header timeout** ([`ConnectionLimits::header_timeout`]): a request head must arrive in
//!   full within this time of the connection's start (its first request) or of its first byte
//!   (a later request on a kept-alive connection); else the connection is closed.
//! - **Keep-alive timeout** ([`ConnectionLimits::keep_alive_timeout`]): a kept-alive connection
//!   that waits this long for its next request is closed (zero: no keep-alive).
//! - **Connection limit** ([`ConnectionLimits::max_connections`]): at the limit, a new connection
//!   takes the place of the *idle* connection (no request in progress) that has waited longest,
//!   which is closed; with none idle, accepting waits until one closes. Running out of file
//!   descriptors is handled the same way. Idle connections therefore never keep a request out:
//!   a flood of connections that send nothing is turned over, and valid requests are served
//!   meanwhile.
//!
//! A connection with a request in progress is never cut by these limits (the request timeout
//! answers it, see `app`); graceful shutdown closes the idle ones at once and lets the others
//! finish their request.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// The default header timeout.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The default keep-alive timeout: longer than the idle timeouts of common proxies' connection
/// pools (nginx 60 s, Go's and Traefik's 90 s), so that the proxy, not this server, closes a
/// pooled connection, and never while it sends a request on it.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(120);
/// The default connection limit, when the open-file limit allows it.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// File descriptors kept out of the default limit for everything else (listener, JWKS fetches,
/// logs, the runtime).
pub const RESERVED_FILES: usize = 64;
/// Out of file descriptors, the limit drops to the connections open less this many, so that
/// JWKS fetches and new connections find descriptors.
pub const HEADROOM_FILES: usize = 32;
/// The most a request head may take, in bytes (hyper's buffer for one connection); a longer head
/// is answered 431. SPEC's longest token (8 KiB) fits many times over.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Limits on connections (see the [module documentation](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time for a request head to arrive in full.
    pub header_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request; zero disables keep-alive.
    pub keep_alive_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            max_connections: default_max_connections(),
        }
    }
}

/// [`DEFAULT_MAX_CONNECTIONS`], or fewer when the process's open-file limit (`ulimit -n`) is
/// lower: that limit less [`RESERVED_FILES`] (Linux: read from `/proc/self/limits`).
pub fn default_max_connections() -> usize {
    open_file_limit().map_or(DEFAULT_MAX_CONNECTIONS, |files| {
        DEFAULT_MAX_CONNECTIONS.min(files.saturating_sub(RESERVED_FILES).max(1))
    })
}

/// The soft open-file limit, where the system tells it.
pub fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(usize::MAX),
        n => n.parse().ok(),
    }
}

/// Why this module closed a connection (the metrics' `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    /// Its request head did not arrive in time.
    HeaderTimeout,
    /// It waited too long for its next request.
    IdleTimeout,
    /// It was idle when a new connection needed its place.
    Evicted,
}

impl Closed {
    /// Every reason, in the metrics' order.
    pub const ALL: [Closed; 3] = [Closed::HeaderTimeout, Closed::IdleTimeout, Closed::Evicted];

    /// The metrics label.
    pub const fn label(self) -> &'static str {
        match self {
            Closed::HeaderTimeout => "header_timeout",
            Closed::IdleTimeout => "idle_timeout",
            Closed::Evicted => "evicted",
        }
    }
}

/// Counters of the connections, for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    open: AtomicUsize,
    accepted: AtomicU64,
    closed: [AtomicU64; Closed::ALL.len()],
    accept_errors: AtomicU64,
}

impl ConnectionStats {
    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections this module closed for `reason` so far.
    pub fn closed(&self, reason: Closed) -> u64 {
        let index = Closed::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        self.closed
            .get(index)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Failed accepts so far (out of file descriptors, among others).
    pub fn accept_errors(&self) -> u64 {
        self.accept_errors.load(Ordering::Relaxed)
    }

    fn count_closed(&self, reason: Closed) {
        let index = Closed::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        if let Some(counter) = self.closed.get(index) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// "No time recorded" in the millisecond fields of [`Conn`].
const NONE: u64 = u64::MAX;

/// One connection's state, shared by its task, its I/O and its requests, and seen by the
/// accept loop (which picks the connection to evict).
#[derive(Debug)]
struct Conn {
    /// Start of the current wait, in milliseconds since the server's epoch: the accept, then
    /// the end of each request.
    since: AtomicU64,
    /// When the first byte of the next request head arrived on a kept-alive connection.
    head_since: AtomicU64,
    /// Requests in progress (hyper handles one at a time; a counter is simply robust).
    in_flight: AtomicU32,
    /// Requests answered.
    served: AtomicU64,
    /// Tells the task to re-read the state (a request began or ended, a head started).
    changed: Notify,
    /// Asks the task to close the connection for a new one.
    evict: Notify,
    evicting: AtomicBool,
}

/// The instants of one server, in milliseconds since its start.
#[derive(Clone, Copy, Debug)]
struct Clock {
    epoch: Instant,
}

impl Clock {
    fn now(self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn instant(self, millis: u64) -> Instant {
        self.epoch + Duration::from_millis(millis)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(NONE - 1)
}

impl Conn {
    fn new(now: u64) -> Conn {
        Conn {
            since: AtomicU64::new(now),
            head_since: AtomicU64::new(NONE),
            in_flight: AtomicU32::new(0),
            served: AtomicU64::new(0),
            changed: Notify::new(),
            evict: Notify::new(),
            evicting: AtomicBool::new(false),
        }
    }

    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// When the connection must be closed if nothing happens, and why; `None` while a request
    /// is in progress.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(u64, Closed)> {
        if !self.idle() {
            return None;
        }
        let since = self.since.load(Ordering::Acquire);
        if self.served.load(Ordering::Acquire) == 0 {
            return Some((
                since.saturating_add(millis(limits.header_timeout)),
                Closed::HeaderTimeout,
            ));
        }
        match self.head_since.load(Ordering::Acquire) {
            NONE => Some((
                since.saturating_add(millis(limits.keep_alive_timeout)),
                Closed::IdleTimeout,
            )),
            head => Some((
                head.saturating_add(millis(limits.header_timeout)),
                Closed::HeaderTimeout,
            )),
        }
    }
}

/// A request in progress on a connection: counted from the service call to the response.
struct InFlight {
    conn: Arc<Conn>,
    clock: Clock,
}

impl InFlight {
    fn enter(conn: Arc<Conn>, clock: Clock) -> InFlight {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        conn.head_since.store(NONE, Ordering::Release);
        InFlight { conn, clock }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn.served.fetch_add(1, Ordering::AcqRel);
        self.conn.since.store(self.clock.now(), Ordering::Release);
        self.conn.head_since.store(NONE, Ordering::Release);
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.conn.changed.notify_one();
    }
}

/// The socket, noting when the bytes of a request head start to arrive on an idle connection.
struct Watched {
    stream: TcpStream,
    conn: Arc<Conn>,
    clock: Clock,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before
            && self.conn.idle()
            && self.conn.head_since.load(Ordering::Acquire) == NONE
        {
            self.conn
                .head_since
                .store(self.clock.now(), Ordering::Release);
            self.conn.changed.notify_one();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The open connections.
#[derive(Debug)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    /// A connection closed.
    freed: Notify,
    stats: Arc<ConnectionStats>,
    /// When the last warning about the limit was logged (milliseconds), to log it rarely.
    warned_at: AtomicU64,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn insert(&self, id: u64, conn: Arc<Conn>) {
        self.lock().insert(id, conn);
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
    }

    fn remove(&self, id: u64) {
        if self.lock().remove(&id).is_some() {
            self.stats.open.fetch_sub(1, Ordering::Relaxed);
        }
        self.freed.notify_one();
    }

    /// Asks the idle connection that has waited longest to close; false when none is idle.
    fn evict_one(&self) -> bool {
        let conns = self.lock();
        let victim = conns
            .values()
            .filter(|c| c.idle() && !c.evicting.load(Ordering::Acquire))
            .min_by_key(|c| {
                let head = c.head_since.load(Ordering::Acquire);
                let since = c.since.load(Ordering::Acquire);
                // A head in progress counts from its start (it is active); an idle wait from
                // its beginning.
                if head == NONE { since } else { head }
            });
        match victim {
            Some(conn) => {
                conn.evicting.store(true, Ordering::Release);
                conn.evict.notify_one();
                true
            }
            None => false,
        }
    }

    /// A warning at most every 10 s.
    fn warn(&self, now: u64, message: &str, limit: usize) {
        let last = self.warned_at.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= 10_000)
            && self
                .warned_at
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(limit, open = self.len(), "{message}");
        }
    }
}

/// Serves `router` on `listener` with the default [`ConnectionLimits`] until `shutdown`
/// completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(
        listener,
        router,
        ConnectionLimits::default(),
        Arc::default(),
        shutdown,
    )
    .await
}

/// Serves `router` on `listener` within `limits`, counting connections in `stats`, until
/// `shutdown` completes; then stops accepting, closes idle connections and waits for the
/// requests in progress.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = ConnectionLimits {
        max_connections: limits.max_connections.max(1),
        ..limits
    };
    let clock = Clock {
        epoch: Instant::now(),
    };
    let registry = Arc::new(Registry {
        conns: Mutex::new(HashMap::new()),
        freed: Notify::new(),
        stats,
        warned_at: AtomicU64::new(0),
    });
    let (stop, stopped) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut next_id: u64 = 0;
    // Lowered when the process runs out of file descriptors.
    let mut max_connections = limits.max_connections;
    'accept: loop {
        // At the limit, make room first: an idle connection gives up its place, else wait for
        // one to close.
        loop {
            let freed = registry.freed.notified();
            let mut freed = pin!(freed);
            freed.as_mut().enable();
            if registry.len() < max_connections {
                break;
            }
            if !registry.evict_one() {
                registry.warn(
                    clock.now(),
                    "connection limit reached with every connection busy: new connections wait",
                    max_connections,
                );
            }
            tokio::select! {
                () = freed => {}
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
                () = &mut shutdown => break 'accept,
            }
        }
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                registry.stats.accept_errors.fetch_add(1, Ordering::Relaxed);
                if out_of_files(&e) {
                    // Out of file descriptors: the limit comes down to what the process can
                    // hold with some room to spare, and idle connections make that room.
                    max_connections = max_connections
                        .min(registry.len().saturating_sub(HEADROOM_FILES))
                        .max(1);
                    registry.warn(
                        clock.now(),
                        "out of file descriptors (ulimit -n): the connection limit is lowered to fit, idle connections make room; raise the open-file limit or lower CRYPTR_GUARD_MAX_CONNECTIONS",
                        max_connections,
                    );
                } else if !per_connection(&e) {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                continue;
            }
        };
        next_id = next_id.wrapping_add(1);
        let conn = Arc::new(Conn::new(clock.now()));
        registry.insert(next_id, Arc::clone(&conn));
        tokio::spawn(connection(
            next_id,
            stream,
            conn,
            router.clone(),
            limits,
            clock,
            Arc::clone(&registry),
            stopped.clone(),
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    loop {
        let freed = registry.freed.notified();
        let mut freed = pin!(freed);
        freed.as_mut().enable();
        if registry.len() == 0 {
            return Ok(());
        }
        freed.await;
    }
}

/// EMFILE or ENFILE (the same numbers on Linux, the BSDs and macOS).
fn out_of_files(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
}

/// An accept error that concerns one connection only (it went away before it was accepted).
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    id: u64,
    stream: TcpStream,
    conn: Arc<Conn>,
    router: Router,
    limits: ConnectionLimits,
    clock: Clock,
    registry: Arc<Registry>,
    mut stopped: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Watched {
        stream,
        conn: Arc::clone(&conn),
        clock,
    });
    let service = {
        let conn = Arc::clone(&conn);
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let in_flight = InFlight::enter(Arc::clone(&conn), clock);
            let router = router.clone();
            async move {
                let response = router.oneshot(request.map(Body::new)).await;
                drop(in_flight);
                response
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(!limits.keep_alive_timeout.is_zero())
        .max_buf_size(MAX_HEAD_BYTES)
        // The timeouts are this module's (hyper's own would need its timer).
        .header_read_timeout(None);
    // Boxed, so that it (and its socket) can be dropped before its place is given back.
    let mut served = Box::pin(builder.serve_connection(io, service));
    let mut draining = *stopped.borrow();
    if draining {
        served.as_mut().graceful_shutdown();
    }
    loop {
        let deadline = conn.deadline(&limits);
        let sleep = tokio::time::sleep_until(deadline.map_or_else(
            || Instant::now() + Duration::from_secs(3600),
            |(at, _)| clock.instant(at),
        ));
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            () = sleep => {
                if let Some((at, reason)) = conn.deadline(&limits)
                    && clock.now() >= at
                {
                    registry.stats.count_closed(reason);
                    break;
                }
            }
            () = conn.changed.notified() => {}
            () = conn.evict.notified() => {
                if conn.idle() {
                    registry.stats.count_closed(Closed::Evicted);
                    break;
                }
                conn.evicting.store(false, Ordering::Release);
            }
            changed = stopped.changed(), if !draining => {
                if changed.is_err() || *stopped.borrow() {
                    draining = true;
                    served.as_mut().graceful_shutdown();
                }
            }
        }
    }
    drop(served);
    registry.remove(id);
}
