//! Prometheus text-format metrics, kept with atomics (no registry dependency).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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

/// Every result of a JWKS fetch.
pub const FETCH_RESULTS: [&str; 6] = [
    "ok",
    "http_status",
    "timeout",
    "network",
    "too_large",
    "invalid_jwks",
];

/// Upper bounds of the validation latency histogram, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0,
];

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    outcomes: [AtomicU64; OUTCOMES.len()],
    fetches: [AtomicU64; FETCH_RESULTS.len()],
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
}

fn bump(counter: Option<&AtomicU64>) {
    if let Some(counter) = counter {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Counts one outcome without timing it (a refusal decided before validation).
    pub fn outcome(&self, outcome: &str) {
        let index = OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(OUTCOMES.len() - 1);
        bump(self.outcomes.get(index));
    }

    /// Counts one authentication with its outcome and duration.
    pub fn authentication(&self, outcome: &str, elapsed: Duration) {
        self.outcome(outcome);
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|b| seconds <= *b) {
            bump(self.buckets.get(bucket));
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.latency_sum_ns.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Counts one JWKS fetch with its result (one of [`FETCH_RESULTS`]).
    pub fn fetch(&self, result: &str) {
        if let Some(index) = FETCH_RESULTS.iter().position(|r| *r == result) {
            bump(self.fetches.get(index));
        }
    }

    /// The number of fetches with this result so far.
    pub fn fetches(&self, result: &str) -> u64 {
        FETCH_RESULTS
            .iter()
            .position(|r| *r == result)
            .and_then(|i| self.fetches.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// The number of fetches so far, whatever their result.
    pub fn fetches_total(&self) -> u64 {
        self.fetches.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Renders the counters (plus the gauges given by the caller) in the Prometheus text format.
    pub fn render(&self, gauges: &Gauges) -> String {
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
            "# HELP cryptr_guard_jwks_fetches_total JWKS fetches by result.\n\
             # TYPE cryptr_guard_jwks_fetches_total counter"
        );
        for (name, counter) in FETCH_RESULTS.iter().zip(&self.fetches) {
            let _ = writeln!(
                out,
                "cryptr_guard_jwks_fetches_total{{result=\"{name}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP cryptr_guard_token_cache_hits_total Verified-token cache hits.\n\
             # TYPE cryptr_guard_token_cache_hits_total counter\n\
             cryptr_guard_token_cache_hits_total {}\n\
             # HELP cryptr_guard_token_cache_misses_total Verified-token cache misses.\n\
             # TYPE cryptr_guard_token_cache_misses_total counter\n\
             cryptr_guard_token_cache_misses_total {}\n\
             # HELP cryptr_guard_token_cache_entries Verified tokens cached.\n\
             # TYPE cryptr_guard_token_cache_entries gauge\n\
             cryptr_guard_token_cache_entries {}\n\
             # HELP cryptr_guard_jwks_ready Whether a usable key set is loaded.\n\
             # TYPE cryptr_guard_jwks_ready gauge\n\
             cryptr_guard_jwks_ready {}\n\
             # HELP cryptr_guard_jwks_generation Key sets installed so far.\n\
             # TYPE cryptr_guard_jwks_generation gauge\n\
             cryptr_guard_jwks_generation {}\n\
             # HELP cryptr_guard_jwks_consecutive_failures Failed fetches since the last success.\n\
             # TYPE cryptr_guard_jwks_consecutive_failures gauge\n\
             cryptr_guard_jwks_consecutive_failures {}",
            gauges.cache_hits,
            gauges.cache_misses,
            gauges.cache_entries,
            u8::from(gauges.ready),
            gauges.generation,
            gauges.consecutive_failures,
        );
        out
    }
}

/// Values read from the caches when rendering.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gauges {
    /// Token-cache hits.
    pub cache_hits: u64,
    /// Token-cache misses.
    pub cache_misses: u64,
    /// Token-cache entries.
    pub cache_entries: usize,
    /// A usable key set is loaded.
    pub ready: bool,
    /// Key-set generation.
    pub generation: u64,
    /// Consecutive failed fetches.
    pub consecutive_failures: u32,
}
