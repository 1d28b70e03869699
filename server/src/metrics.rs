//! Prometheus text-format metrics, kept with atomics (no registry dependency). Labels come from
//! configuration only (the configured issuers, the SPEC codes, the fetch results): never from a
//! token, so a client cannot grow the label set.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cryptr_guard_core::guard::FetchKind;

use crate::connections::{Closed, ConnectionStats};
use crate::state::IssuerReport;

/// Every outcome of an authentication: `ok` or a fine SPEC §3 code.
pub const OUTCOMES: [&str; 15] = [
    "ok",
    "authorization_header_missing",
    "invalid_header",
    "malformed_token",
    "unsupported_algorithm",
    "unknown_key",
    "invalid_signature",
    "invalid_claim",
    "missing_claim",
    "token_expired",
    "token_not_yet_valid",
    "invalid_issuer",
    "invalid_audience",
    "invalid_jwks",
    "jwks_unavailable",
];

/// Every label of a fetch report (`FetchReport::label`).
pub const FETCH_RESULTS: [&str; 8] = [
    "ok",
    "no_usable_key",
    "superseded",
    "http_status",
    "timeout",
    "too_large",
    "network",
    "invalid_jwks",
];

/// Every label of the report of a fetch of an OpenID configuration.
pub const DISCOVERY_RESULTS: [&str; 7] = [
    "ok",
    "superseded",
    "http_status",
    "timeout",
    "too_large",
    "network",
    "invalid_discovery",
];

/// Upper bounds of the validation latency histogram, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0,
];

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    outcomes: [AtomicU64; OUTCOMES.len()],
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
    /// Per configured issuer, in configuration order.
    fetches: Vec<[AtomicU64; FETCH_RESULTS.len()]>,
    /// Fetches of OpenID configurations, per configured issuer.
    discoveries: Vec<[AtomicU64; DISCOVERY_RESULTS.len()]>,
    /// Requests answered 503 by the request timeout.
    request_timeouts: AtomicU64,
    /// The server's connections (`connections::serve_with` counts them).
    connections: Arc<ConnectionStats>,
}

fn bump(counter: Option<&AtomicU64>) {
    if let Some(counter) = counter {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A label value in the Prometheus text format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counters for `issuers` configured issuers.
    pub fn new(issuers: usize) -> Metrics {
        Metrics {
            fetches: (0..issuers).map(|_| Default::default()).collect(),
            discoveries: (0..issuers).map(|_| Default::default()).collect(),
            ..Metrics::default()
        }
    }

    /// Counts one authentication with its outcome (`ok` or a SPEC code) and duration.
    pub fn authentication(&self, outcome: &str, elapsed: Duration) {
        let index = OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(OUTCOMES.len() - 1);
        bump(self.outcomes.get(index));
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|b| seconds <= *b) {
            bump(self.buckets.get(bucket));
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.latency_sum_ns.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Counts one fetch of issuer `issuer` (its index), of a key set or of its OpenID
    /// configuration, with its report's label.
    pub fn fetch(&self, issuer: usize, kind: FetchKind, result: &str) {
        match kind {
            FetchKind::KeySet => {
                if let (Some(counters), Some(index)) = (
                    self.fetches.get(issuer),
                    FETCH_RESULTS.iter().position(|r| *r == result),
                ) {
                    bump(counters.get(index));
                }
            }
            FetchKind::Discovery => {
                if let (Some(counters), Some(index)) = (
                    self.discoveries.get(issuer),
                    DISCOVERY_RESULTS.iter().position(|r| *r == result),
                ) {
                    bump(counters.get(index));
                }
            }
        }
    }

    /// The number of fetches of OpenID configurations with this result so far, all issuers
    /// together.
    pub fn discovery_fetches(&self, result: &str) -> u64 {
        let Some(index) = DISCOVERY_RESULTS.iter().position(|r| *r == result) else {
            return 0;
        };
        self.discoveries
            .iter()
            .filter_map(|counters| counters.get(index))
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// The number of fetches with this result so far, all issuers together.
    pub fn fetches(&self, result: &str) -> u64 {
        let Some(index) = FETCH_RESULTS.iter().position(|r| *r == result) else {
            return 0;
        };
        self.fetches
            .iter()
            .filter_map(|counters| counters.get(index))
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Counts a request answered 503 by the request timeout.
    pub fn request_timeout(&self) {
        self.request_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests answered 503 by the request timeout so far.
    pub fn request_timeouts(&self) -> u64 {
        self.request_timeouts.load(Ordering::Relaxed)
    }

    /// The connection counters, to hand to `connections::serve_with`.
    pub fn connections(&self) -> &Arc<ConnectionStats> {
        &self.connections
    }

    /// The number of fetches so far (key sets and OpenID configurations), whatever their
    /// result.
    pub fn fetches_total(&self) -> u64 {
        let key_sets = self.fetches.iter().flatten();
        let discoveries = self.discoveries.iter().flatten();
        key_sets
            .chain(discoveries)
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Renders the counters and the issuers' state in the Prometheus text format.
    pub fn render(&self, ready: bool, issuers: &[IssuerReport]) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP cryptr_guard_requests_total Authentications by outcome (ok or SPEC code).\n\
             # TYPE cryptr_guard_requests_total counter"
        );
        for (name, counter) in OUTCOMES.iter().zip(&self.outcomes) {
            let _ = writeln!(
                out,
                "cryptr_guard_requests_total{{outcome=\"{name}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP cryptr_guard_validation_seconds Time to authenticate a request.\n\
             # TYPE cryptr_guard_validation_seconds histogram"
        );
        let mut cumulative = 0u64;
        for (bound, counter) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += counter.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "cryptr_guard_validation_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "cryptr_guard_validation_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             cryptr_guard_validation_seconds_sum {}\n\
             cryptr_guard_validation_seconds_count {count}",
            self.latency_sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "# HELP cryptr_guard_ready Whether every configured issuer is ready.\n\
             # TYPE cryptr_guard_ready gauge\n\
             cryptr_guard_ready {}",
            u8::from(ready)
        );
        let _ = writeln!(
            out,
            "# HELP cryptr_guard_jwks_fetches_total JWKS fetches by configured issuer and result.\n\
             # TYPE cryptr_guard_jwks_fetches_total counter"
        );
        for (report, counters) in issuers.iter().zip(&self.fetches) {
            let issuer = label(&report.issuer);
            for (result, counter) in FETCH_RESULTS.iter().zip(counters) {
                let _ = writeln!(
                    out,
                    "cryptr_guard_jwks_fetches_total{{issuer=\"{issuer}\",result=\"{result}\"}} {}",
                    counter.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP cryptr_guard_discovery_fetches_total Fetches of OpenID configurations (for the JWKS URL) by configured issuer and result.\n\
             # TYPE cryptr_guard_discovery_fetches_total counter"
        );
        for (report, counters) in issuers.iter().zip(&self.discoveries) {
            if !report.discovered {
                continue;
            }
            let issuer = label(&report.issuer);
            for (result, counter) in DISCOVERY_RESULTS.iter().zip(counters) {
                let _ = writeln!(
                    out,
                    "cryptr_guard_discovery_fetches_total{{issuer=\"{issuer}\",result=\"{result}\"}} {}",
                    counter.load(Ordering::Relaxed)
                );
            }
        }
        let connections = &self.connections;
        let _ = writeln!(
            out,
            "# HELP cryptr_guard_request_timeouts_total Requests answered 503 by the request timeout.\n\
             # TYPE cryptr_guard_request_timeouts_total counter\n\
             cryptr_guard_request_timeouts_total {}\n\
             # HELP cryptr_guard_connections_open Connections open.\n\
             # TYPE cryptr_guard_connections_open gauge\n\
             cryptr_guard_connections_open {}\n\
             # HELP cryptr_guard_connections_accepted_total Connections accepted.\n\
             # TYPE cryptr_guard_connections_accepted_total counter\n\
             cryptr_guard_connections_accepted_total {}\n\
             # HELP cryptr_guard_accept_errors_total Failed accepts (out of file descriptors, among others).\n\
             # TYPE cryptr_guard_accept_errors_total counter\n\
             cryptr_guard_accept_errors_total {}\n\
             # HELP cryptr_guard_connections_closed_total Connections the server closed: head or keep-alive timeout, or evicted (idle, at the connection limit).\n\
             # TYPE cryptr_guard_connections_closed_total counter",
            self.request_timeouts(),
            connections.open(),
            connections.accepted(),
            connections.accept_errors(),
        );
        for reason in Closed::ALL {
            let _ = writeln!(
                out,
                "cryptr_guard_connections_closed_total{{reason=\"{}\"}} {}",
                reason.label(),
                connections.closed(reason)
            );
        }
        type Gauge = fn(&IssuerReport) -> u64;
        let gauges: [(&str, &str, &str, Gauge); 7] = [
            (
                "cryptr_guard_jwks_ready",
                "gauge",
                "Whether the issuer's key set is usable and holds a usable key.",
                |r| u64::from(r.ready),
            ),
            (
                "cryptr_guard_jwks_generation",
                "gauge",
                "Key sets installed so far.",
                |r| r.generation,
            ),
            (
                "cryptr_guard_jwks_consecutive_failures",
                "gauge",
                "Failed fetches since the last success.",
                |r| u64::from(r.consecutive_failures),
            ),
            (
                "cryptr_guard_jwks_usable_keys",
                "gauge",
                "Usable keys in the current key set.",
                |r| r.usable_keys as u64,
            ),
            (
                "cryptr_guard_token_cache_hits_total",
                "counter",
                "Verified-token cache hits.",
                |r| r.cache_hits,
            ),
            (
                "cryptr_guard_token_cache_misses_total",
                "counter",
                "Verified-token cache misses.",
                |r| r.cache_misses,
            ),
            (
                "cryptr_guard_token_cache_entries",
                "gauge",
                "Verified tokens cached.",
                |r| r.cached_tokens as u64,
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for report in issuers {
                let _ = writeln!(
                    out,
                    "{name}{{issuer=\"{}\"}} {}",
                    label(&report.issuer),
                    value(report)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_unknown_results_ignored() {
        let metrics = Metrics::new(1);
        metrics.fetch(0, FetchKind::KeySet, "ok");
        metrics.fetch(0, FetchKind::KeySet, "not a label");
        metrics.fetch(7, FetchKind::KeySet, "ok");
        metrics.fetch(0, FetchKind::Discovery, "invalid_discovery");
        let report = IssuerReport {
            issuer: "https://a\"b\\c".into(),
            ready: true,
            generation: 1,
            consecutive_failures: 0,
            fetch_in_flight: false,
            usable_keys: 2,
            cached_tokens: 0,
            cache_hits: 0,
            cache_misses: 0,
            discovered: true,
            discovery_failures: 1,
        };
        let text = metrics.render(true, &[report]);
        assert!(
            text.contains(
                "cryptr_guard_jwks_fetches_total{issuer=\"https://a\\\"b\\\\c\",result=\"ok\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("cryptr_guard_jwks_usable_keys{issuer=\"https://a\\\"b\\\\c\"} 2"));
        assert_eq!(metrics.fetches_total(), 2);
        assert_eq!(metrics.discovery_fetches("invalid_discovery"), 1);
        assert!(text.contains(
            "cryptr_guard_discovery_fetches_total{issuer=\"https://a\\\"b\\\\c\",result=\"invalid_discovery\"} 1"
        ), "{text}");
    }
}
