//! The guard: the core's per-request loop, driven here, with Python doing only the HTTP.
//!
//! A request is one call: the core's [`Guard`] decides everything (which issuer's key set, the
//! verified-token cache, when to fetch, whether to wait for another request's fetch, whether an
//! unknown key is worth a refetch and a retry, what a refusal answers over HTTP); this module
//! runs its [`Action`]s. The RSA work ([`Action::Verify`]) and the waits ([`Action::Wait`]) run
//! without the GIL and without the guard's lock; a fetch ([`Action::Fetch`]) calls the Python
//! fetcher (`JwksClient` by default) with the GIL held (its socket I/O releases it), inline, or in
//! a daemon thread when the core says it may run in the background.
//!
//! Locking: the guard's mutex is held only for the core's short, pure-Rust steps, never while
//! Python code runs, so a thread holding it never waits for the GIL.

use std::sync::{Arc, Condvar, Mutex, TryLockError};
use std::time::{Duration, Instant};

use cryptr_guard_core::guard::{Fetch, FetchReport, FetchResult, HostConfig};
use cryptr_guard_core::{Action, Check, Guard, Rejection, Validator, Verified};
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::convert::{ClaimsMemo, bytes_obj, now_or_clock, settings_from};
use crate::errors::{core_setting_error, no_panic, rejection};
use crate::lock;
use crate::pending::PyFetchJob;
use crate::validator::{PyValidator, PyVerified};

/// Steps a check may take. The core promises that a check ends (at most two blocking fetches or
/// waits and two verifications); this bound only keeps a bug from becoming an endless loop.
pub(crate) const MAX_STEPS: usize = 16;

/// The core's guard and a count of the fetches reported to it (what a waiting request waits for).
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) guard: Guard,
    pub(crate) reports: u64,
}

/// What the request threads and the fetch threads share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    reported: Condvar,
}

impl Shared {
    /// Runs `f` on the state under the lock. Uncontended, the lock is taken with the GIL held
    /// (the common case, without the cost of releasing the GIL); when another thread holds it,
    /// the GIL is released while waiting for it, so that this thread never blocks the
    /// interpreter.
    pub(crate) fn with_state<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut State) -> R + Send,
    ) -> PyResult<R> {
        match self.state.try_lock() {
            Ok(mut state) => no_panic(|| f(&mut state)),
            Err(TryLockError::Poisoned(poisoned)) => no_panic(|| f(&mut poisoned.into_inner())),
            Err(TryLockError::WouldBlock) => py.detach(|| no_panic(|| f(&mut lock(&self.state)))),
        }
    }

    /// Reports a fetch to the guard and wakes the requests waiting for one.
    pub(crate) fn report(&self, fetch: Fetch, result: FetchResult<'_>, now: u64) -> FetchReport {
        let report = {
            let mut state = lock(&self.state);
            let report = state.guard.fetch_done(fetch, result, now);
            state.reports = state.reports.wrapping_add(1);
            report
        };
        self.reported.notify_all();
        report
    }

    /// Waits (without the GIL) until a fetch is reported after `seen`, or `timeout` seconds.
    fn wait(&self, seen: u64, timeout: u64) {
        let start = Instant::now();
        let limit = Duration::from_secs(timeout.max(1));
        let mut state = lock(&self.state);
        while state.reports == seen {
            let left = limit.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            state = match self.reported.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// What the fetcher answered, owned (so that the report runs without the GIL).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fetched {
    Response {
        status: u16,
        cache_control: Option<String>,
        body: Vec<u8>,
    },
    Timeout,
    TooLarge,
    Network,
}

impl Fetched {
    pub(crate) fn result(&self) -> FetchResult<'_> {
        match self {
            Fetched::Response {
                status,
                cache_control,
                body,
            } => FetchResult::Response {
                status: *status,
                cache_control: cache_control.as_deref(),
                body,
            },
            Fetched::Timeout => FetchResult::Timeout,
            Fetched::TooLarge => FetchResult::TooLarge,
            Fetched::Network => FetchResult::Network,
        }
    }

    /// A fetcher's answer: `(status, cache_control or None, body bytes)`, or one of the strings
    /// `"timeout"`, `"too_large"`, `"network"`; anything else is `None`.
    pub(crate) fn from_python(value: &Bound<'_, PyAny>) -> Option<Fetched> {
        if let Ok(text) = value.cast::<PyString>() {
            return match &*text.to_cow().ok()? {
                "timeout" => Some(Fetched::Timeout),
                "too_large" => Some(Fetched::TooLarge),
                "network" => Some(Fetched::Network),
                _ => None,
            };
        }
        let tuple = value.cast::<PyTuple>().ok()?;
        let (status, cache_control, body): (u16, Option<String>, Bound<'_, PyBytes>) =
            tuple.extract().ok()?;
        Some(Fetched::Response {
            status,
            cache_control,
            body: body.as_bytes().to_vec(),
        })
    }
}

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

const DEBUG: u8 = 10;
const INFO: u8 = 20;
const WARNING: u8 = 30;

/// The most rounds of fetches one `fetch_due` call runs (an OpenID configuration, then its key
/// set, take two).
const WARM_UP_ROUNDS: usize = 4;

/// Logs `message` on the `cryptr_guard` logger. Logging never fails a request.
fn log(py: Python<'_>, level: u8, message: &str) {
    let logger = LOGGER.get_or_try_init(py, || {
        py.import("logging")?
            .call_method1("getLogger", ("cryptr_guard",))
            .map(Bound::unbind)
    });
    if let Ok(logger) = logger {
        let _ = logger
            .bind(py)
            .call_method1("log", (level, "cryptr_guard: %s", message));
    }
}

/// The issuer a fetch is for, for the logs.
#[derive(Clone, Debug)]
pub(crate) struct Source {
    pub(crate) issuer: String,
}

/// Runs `fetch` through the Python `fetcher` and reports it to the guard, whatever happens: a
/// fetcher that raises, or answers something else than the protocol, counts as a network
/// failure. An exception that is not an `Exception` (`KeyboardInterrupt`) is raised again once
/// the fetch is reported.
fn fetch_and_report(
    py: Python<'_>,
    shared: &Shared,
    fetcher: &Py<PyAny>,
    source: &Source,
    fetch: Fetch,
    now: Option<u64>,
) -> PyResult<FetchReport> {
    let called = fetcher.call1(py, (fetch.url(), fetch.timeout(), fetch.max_bytes()));
    let (answer, interrupt) = match called {
        Ok(value) => (Ok(value.into_bound(py)), None),
        Err(error) => {
            let interrupt = (!error.is_instance_of::<PyException>(py)).then(|| error.clone_ref(py));
            (Err(error), interrupt)
        }
    };
    let report = report_answer(py, shared, source, fetch, answer, now)?;
    match interrupt {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// Reports what a fetcher answered for `fetch` (its value, or the exception it raised) to the
/// guard and logs it: an exception, or an answer outside the protocol, is a network failure.
pub(crate) fn report_answer(
    py: Python<'_>,
    shared: &Shared,
    source: &Source,
    fetch: Fetch,
    answer: Result<Bound<'_, PyAny>, PyErr>,
    now: Option<u64>,
) -> PyResult<FetchReport> {
    let url = fetch.url().to_owned();
    let fetched = match answer {
        Ok(value) => match Fetched::from_python(&value) {
            Some(fetched) => fetched,
            None => {
                log(
                    py,
                    WARNING,
                    &format!(
                        "the JWKS fetcher answered neither (status, cache_control, body) nor \"timeout\", \"too_large\" or \"network\" for {url}",
                    ),
                );
                Fetched::Network
            }
        },
        Err(error) => {
            log(
                py,
                WARNING,
                &format!("the JWKS fetcher raised for {url}: {error}"),
            );
            Fetched::Network
        }
    };
    let at = now_or_clock(now);
    let report = py.detach(|| no_panic(|| shared.report(fetch, fetched.result(), at)))?;
    let level = match &report {
        FetchReport::Installed { .. } | FetchReport::Discovered { .. } => INFO,
        FetchReport::Superseded => DEBUG,
        FetchReport::NoUsableKey { .. } | FetchReport::Failed(_) => WARNING,
    };
    log(py, level, &format!("{} ({url}): {report}", source.issuer));
    Ok(report)
}

/// A fetch to run in a thread of its own: `__call__` runs it once and keeps its report.
#[pyclass(frozen, module = "cryptr_guard._native")]
#[derive(Debug)]
struct FetchTask {
    shared: Arc<Shared>,
    fetcher: Py<PyAny>,
    source: Source,
    url: String,
    kind: &'static str,
    fetch: Mutex<Option<Fetch>>,
    now: Option<u64>,
    report: Mutex<Option<FetchReport>>,
}

#[pymethods]
impl FetchTask {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let fetch = lock(&self.fetch).take();
        if let Some(fetch) = fetch {
            let report = fetch_and_report(
                py,
                &self.shared,
                &self.fetcher,
                &self.source,
                fetch,
                self.now,
            )?;
            *lock(&self.report) = Some(report);
        }
        Ok(())
    }
}

/// Starts `task` in a daemon thread; when no thread can be started (interpreter shutdown), runs
/// it here, so that the fetch is reported all the same. Returns the thread, if one started.
fn start<'py>(
    py: Python<'py>,
    task: &Bound<'py, FetchTask>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let started = || -> PyResult<Bound<'py, PyAny>> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("target", task)?;
        kwargs.set_item("name", "cryptr-guard-jwks")?;
        kwargs.set_item("daemon", true)?;
        let thread = py
            .import("threading")?
            .getattr("Thread")?
            .call((), Some(&kwargs))?;
        thread.call_method0("start")?;
        Ok(thread)
    };
    match started() {
        Ok(thread) => Ok(Some(thread)),
        Err(_) => task.get().__call__(py).map(|()| None),
    }
}

/// Several issuers, each with its own key set fetched from its JWKS URL (SPEC §8), configured
/// from `CRYPTR_*` settings; validates requests' tokens (SPEC §2, §7) with the core's key-set
/// and verified-token caches. Thread-safe: share one per application.
#[pyclass(frozen, name = "Guard", module = "cryptr_guard._native")]
#[derive(Debug)]
pub(crate) struct PyGuard {
    pub(crate) shared: Arc<Shared>,
    fetcher: Py<PyAny>,
    validator: Arc<Validator>,
    sources: Vec<Source>,
    pub(crate) claims: ClaimsMemo,
}

#[pymethods]
impl PyGuard {
    /// A guard configured from `settings`, a mapping of `CRYPTR_*` names to values
    /// (`os.environ`, Flask's `app.config`, a dict): see `SETTINGS`. `fetcher(url, timeout,
    /// max_bytes)` does the HTTP (default: a `JwksClient`). A setting that cannot be used raises
    /// `SettingError` naming it.
    #[new]
    #[pyo3(signature = (settings, *, fetcher = None))]
    fn new(
        py: Python<'_>,
        settings: &Bound<'_, PyAny>,
        fetcher: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let values = settings_from(settings)?;
        let config = HostConfig::from_settings(|name| values.get(name).cloned())
            .map_err(|e| core_setting_error(py, &e))?;
        let guard = config
            .into_guard()
            .map_err(|e| core_setting_error(py, &e))?;
        let fetcher = match fetcher {
            Some(fetcher) if fetcher.is_callable() => fetcher.unbind(),
            Some(_) => {
                return Err(PyTypeError::new_err(
                    "fetcher must be a callable: fetcher(url, timeout, max_bytes)",
                ));
            }
            None => py
                .import("cryptr_guard._client")?
                .getattr("JwksClient")?
                .call0()?
                .unbind(),
        };
        let sources: Vec<Source> = guard
            .issuers(0)
            .map(|status| Source {
                issuer: status.issuer.to_owned(),
            })
            .collect();
        let capacity = guard
            .settings()
            .token_cache_capacity
            .saturating_mul(sources.len());
        Ok(PyGuard {
            validator: Arc::new(guard.validator().clone()),
            shared: Arc::new(Shared {
                state: Mutex::new(State { guard, reports: 0 }),
                reported: Condvar::new(),
            }),
            fetcher,
            sources,
            claims: ClaimsMemo::new(capacity),
        })
    }

    /// The claims of the token of a request's `Authorization` header value(s) (`None`: no header;
    /// a `str` or `bytes`: the value; a list: every value received), or the `CryptrGuardError` of
    /// the refusal, whose `answer` is the HTTP answer. The Bearer rule is the core's: scheme
    /// `Bearer` in any case, separated by ASCII spaces only, exactly one token, one header.
    #[pyo3(signature = (authorization, *, now = None))]
    fn authenticate(
        &self,
        py: Python<'_>,
        authorization: Option<&Bound<'_, PyAny>>,
        now: Option<u64>,
    ) -> PyResult<PyVerified> {
        let token = PyGuard::bearer(py, authorization)?;
        self.verified(py, token.as_ref(), now)
    }

    /// The claims of `token` (`str` or `bytes`), or the `CryptrGuardError` of its refusal.
    #[pyo3(signature = (token, *, now = None))]
    fn validate<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        now: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = bytes_obj(token, "token")?;
        let token = token.as_bytes();
        let verified = self.check(py, token, now)?;
        self.claims.claims(py, token, &verified)
    }

    /// Like `validate`, returning a `Verified` (claims and derived values).
    #[pyo3(signature = (token, *, now = None))]
    fn verify(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        now: Option<u64>,
    ) -> PyResult<PyVerified> {
        let token = bytes_obj(token, "token")?;
        self.verified(py, token.as_bytes(), now)
    }

    /// `authenticate` for a host on an event loop: the verified token, or the refusal raised, as
    /// `authenticate` answers, when the check needs no I/O; else a `Pending`, the request paused
    /// on a JWKS fetch for the host's own (asynchronous) HTTP client to run, or on a wait for
    /// another request's fetch. The fetcher is never called.
    #[pyo3(signature = (authorization, *, now = None))]
    fn begin(
        slf: &Bound<'_, Self>,
        authorization: Option<&Bound<'_, PyAny>>,
        now: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        let token = PyGuard::bearer(slf.py(), authorization)?;
        crate::pending::run(slf, Check::new(token), 0, now)
    }

    /// Like `begin`, for a bare token (`str` or `bytes`).
    #[pyo3(signature = (token, *, now = None))]
    fn begin_token(
        slf: &Bound<'_, Self>,
        token: &Bound<'_, PyAny>,
        now: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        let token = PyGuard::token_arg(token)?;
        crate::pending::run(slf, Check::new(token), 0, now)
    }

    /// The fetches the core wants now without a request (as `fetch_due`), as `FetchJob`s for
    /// the host's own HTTP client: an async host's start-up warm-up or periodic retry.
    #[pyo3(signature = (*, now = None))]
    fn due_fetches(&self, py: Python<'_>, now: Option<u64>) -> PyResult<Vec<PyFetchJob>> {
        let at = now_or_clock(now);
        let due = self
            .shared
            .with_state(py, |state| state.guard.due_fetches(at))?;
        Ok(due
            .into_iter()
            .map(|fetch| PyFetchJob::new(self, fetch, now))
            .collect())
    }

    /// Runs the fetches the core wants now without a request (at start-up, so that the first
    /// request finds its key set; from a periodic timer, to retry an issuer that is down), each
    /// in a thread of its own, and waits for them. Returns what each did: `{"issuer",
    /// "jwks_url", "kind", "outcome", "message"}` (`jwks_url`: the URL fetched; `kind`: `key_set`
    /// or `discovery`, an issuer's OpenID configuration; `outcome`: `ok`, `no_usable_key`,
    /// `superseded`, `http_status`, `timeout`, `too_large`, `network`, `invalid_jwks` or
    /// `invalid_discovery`).
    #[pyo3(signature = (*, now = None))]
    fn fetch_due<'py>(&self, py: Python<'py>, now: Option<u64>) -> PyResult<Bound<'py, PyList>> {
        let reports = PyList::empty(py);
        // Round after round while one installs something (an installed OpenID configuration
        // makes its key set due at once); each success leaves its document fresh, so this ends
        // after two rounds, and the bound only guards against a clock that jumps.
        for _ in 0..WARM_UP_ROUNDS {
            if !self.fetch_due_round(py, now, &reports)? {
                break;
            }
        }
        Ok(reports)
    }

    /// Whether every issuer is ready: a usable key set holding a usable key (readiness probes).
    #[pyo3(signature = (*, now = None))]
    fn is_ready(&self, py: Python<'_>, now: Option<u64>) -> PyResult<bool> {
        let at = now_or_clock(now);
        self.shared.with_state(py, |state| state.guard.is_ready(at))
    }

    /// Each issuer's state, in configuration order (readiness, metrics): `issuer`, `jwks_url`
    /// (given, or discovered: `None` before its OpenID configuration is fetched),
    /// `discovery_url` (`None` unless the JWKS URL is discovered), `ready`, `key_set` (`missing`, `fresh`, `stale` or `expired`), `usable_keys`,
    /// `generation`, `fetch_in_flight`, `consecutive_failures`, `cached_tokens`,
    /// `token_cache_hits`, `token_cache_misses`, `token_cache_evictions`.
    #[pyo3(signature = (*, now = None))]
    fn issuers<'py>(&self, py: Python<'py>, now: Option<u64>) -> PyResult<Bound<'py, PyList>> {
        let at = now_or_clock(now);
        let rows = self.shared.with_state(py, |state| {
            state
                .guard
                .issuers(at)
                .map(|s| {
                    let set = match s.status.set {
                        cryptr_guard_core::keyset_cache::SetState::Missing => "missing",
                        cryptr_guard_core::keyset_cache::SetState::Fresh => "fresh",
                        cryptr_guard_core::keyset_cache::SetState::Stale => "stale",
                        cryptr_guard_core::keyset_cache::SetState::Expired => "expired",
                    };
                    (
                        (
                            s.issuer.to_owned(),
                            (
                                s.jwks_url.map(str::to_owned),
                                s.discovery_url.map(str::to_owned),
                            ),
                            s.status.is_ready(),
                            set,
                        ),
                        (
                            s.usable_keys,
                            s.status.generation,
                            s.status.fetch_in_flight,
                            s.status.consecutive_failures,
                        ),
                        (
                            s.cached_tokens,
                            s.token_cache.hits,
                            s.token_cache.misses,
                            s.token_cache.evictions,
                        ),
                    )
                })
                .collect::<Vec<_>>()
        })?;
        let list = PyList::empty(py);
        for ((issuer, url, ready, set), (keys, generation, in_flight, failures), tokens) in rows {
            let row = PyDict::new(py);
            row.set_item("issuer", issuer)?;
            row.set_item("jwks_url", url.0)?;
            row.set_item("discovery_url", url.1)?;
            row.set_item("ready", ready)?;
            row.set_item("key_set", set)?;
            row.set_item("usable_keys", keys)?;
            row.set_item("generation", generation)?;
            row.set_item("fetch_in_flight", in_flight)?;
            row.set_item("consecutive_failures", failures)?;
            row.set_item("cached_tokens", tokens.0)?;
            row.set_item("token_cache_hits", tokens.1)?;
            row.set_item("token_cache_misses", tokens.2)?;
            row.set_item("token_cache_evictions", tokens.3)?;
            list.append(row)?;
        }
        Ok(list)
    }

    /// The validator the settings describe (its options).
    #[getter]
    fn validator(&self) -> PyValidator {
        PyValidator {
            inner: Arc::clone(&self.validator),
        }
    }

    /// The fetcher.
    #[getter]
    fn fetcher(&self, py: Python<'_>) -> Py<PyAny> {
        self.fetcher.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        let issuers: Vec<&str> = self.sources.iter().map(|s| s.issuer.as_str()).collect();
        format!("Guard(issuers={issuers:?})")
    }
}

impl PyGuard {
    /// One round of [`fetch_due`](Self::fetch_due): runs the fetches due now, each in a thread
    /// of its own, appends their reports, and says whether one installed something.
    fn fetch_due_round(
        &self,
        py: Python<'_>,
        now: Option<u64>,
        reports: &Bound<'_, PyList>,
    ) -> PyResult<bool> {
        let at = now_or_clock(now);
        let due = self
            .shared
            .with_state(py, |state| state.guard.due_fetches(at))?;
        let mut tasks = Vec::with_capacity(due.len());
        for fetch in due {
            let task = Bound::new(py, self.task(py, fetch, now))?;
            let thread = start(py, &task)?;
            tasks.push((task, thread));
        }
        let mut installed = false;
        for (task, thread) in tasks {
            if let Some(thread) = thread {
                thread.call_method0("join")?;
            }
            let task = task.get();
            let report = lock(&task.report).take();
            if let Some(report) = report {
                installed |= report.installed();
                let entry = PyDict::new(py);
                entry.set_item("issuer", &task.source.issuer)?;
                entry.set_item("jwks_url", &task.url)?;
                entry.set_item("kind", task.kind)?;
                entry.set_item("outcome", report.label())?;
                entry.set_item("message", report.to_string())?;
                reports.append(entry)?;
            }
        }
        Ok(installed)
    }

    fn task(&self, py: Python<'_>, fetch: Fetch, now: Option<u64>) -> FetchTask {
        let source = self.source(fetch.issuer());
        FetchTask {
            shared: Arc::clone(&self.shared),
            fetcher: self.fetcher.clone_ref(py),
            source,
            url: fetch.url().to_owned(),
            kind: fetch.kind().label(),
            fetch: Mutex::new(Some(fetch)),
            now,
            report: Mutex::new(None),
        }
    }

    pub(crate) fn source(&self, issuer: usize) -> Source {
        self.sources.get(issuer).cloned().unwrap_or_else(|| Source {
            issuer: String::new(),
        })
    }

    /// `token` checked, as a `Verified` with its claims dict, or the refusal raised.
    fn verified(&self, py: Python<'_>, token: &[u8], now: Option<u64>) -> PyResult<PyVerified> {
        let verified = self.check(py, token, now)?;
        let claims = self.claims.claims(py, token, &verified)?;
        Ok(PyVerified::with_claims(py, verified, claims))
    }

    /// The per-request loop (the core's `guard` module documentation): `token` borrowed from a
    /// `bytes` object held by the caller.
    fn check(&self, py: Python<'_>, token: &[u8], now: Option<u64>) -> PyResult<Verified> {
        let mut check = Check::new(token);
        for _ in 0..MAX_STEPS {
            let at = now_or_clock(now);
            let (action, seen) = self.shared.with_state(py, |state| {
                (state.guard.advance(&mut check, at), state.reports)
            })?;
            match action {
                Action::Done(Ok(verified)) => return Ok(verified),
                Action::Done(Err(refused)) => return Err(rejection(py, &refused)),
                Action::Verify(job) => py.detach(|| no_panic(|| check.verify(job)))?,
                Action::Fetch(fetch) if fetch.is_background() => {
                    let task = Bound::new(py, self.task(py, fetch, now))?;
                    start(py, &task)?;
                }
                Action::Fetch(fetch) => {
                    let source = self.source(fetch.issuer());
                    fetch_and_report(py, &self.shared, &self.fetcher, &source, fetch, now)?;
                }
                Action::Wait(wait) => py.detach(|| self.shared.wait(seen, wait.timeout())),
            }
        }
        Err(rejection(py, &Rejection::unavailable(1)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tests::python;

    const A: &str = "https://shark-academy.cryptr.eu/t/shark-academy";
    const B: &str = "https://shark-academy.cryptr.eu/t/blue-whale";

    /// The two-organization vectors in Python, a fetcher serving their key sets at
    /// `https://keys.example/a` and `/b` that counts its calls, and a guard on them.
    const SETUP: &std::ffi::CStr = c"
import json, os
vectors = json.load(open(os.path.join(root, '..', 'tests', 'vectors', 'multi_issuer.json')))
cases = {c['name'].split('/')[1]: c for c in vectors['cases']}
documents = {
    'https://keys.example/a': json.dumps(vectors['jwks_by_issuer'][A]).encode(),
    'https://keys.example/b': json.dumps(vectors['jwks_by_issuer'][B]).encode(),
}
calls = []
def fetcher(url, timeout, max_bytes):
    calls.append((url, timeout, max_bytes))
    return answer(url)
def answer(url):
    return (200, 'max-age=600', documents[url])
settings = {
    'CRYPTR_ISSUER': [A, B],
    'CRYPTR_JWKS_URL': ['https://keys.example/a', 'https://keys.example/b'],
    'CRYPTR_AUDIENCE': 'http://localhost:8000',
    'CRYPTR_CLIENT_IDS': 'e68989a5-bd87-45ca-8d0e-d5f91f285849',
}
";

    pub(crate) fn setup<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let globals = PyDict::new(py);
        globals.set_item("root", env!("CARGO_MANIFEST_DIR"))?;
        globals.set_item("A", A)?;
        globals.set_item("B", B)?;
        py.run(SETUP, Some(&globals), None)?;
        Ok(globals)
    }

    pub(crate) fn guard<'py>(
        py: Python<'py>,
        globals: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyGuard>> {
        let settings = globals
            .get_item("settings")?
            .ok_or_else(|| PyTypeError::new_err("settings"))?;
        let fetcher = globals.get_item("fetcher")?;
        Bound::new(py, PyGuard::new(py, &settings, fetcher)?)
    }

    pub(crate) fn case<'py>(
        globals: &Bound<'py, PyDict>,
        name: &str,
    ) -> PyResult<(Bound<'py, PyAny>, u64)> {
        let case = globals
            .get_item("cases")?
            .ok_or_else(|| PyTypeError::new_err("cases"))?
            .get_item(name)?;
        Ok((case.get_item("token")?, case.get_item("now")?.extract()?))
    }

    pub(crate) fn calls(globals: &Bound<'_, PyDict>) -> PyResult<Vec<String>> {
        let calls = globals
            .get_item("calls")?
            .ok_or_else(|| PyTypeError::new_err("calls"))?;
        calls
            .try_iter()?
            .map(|call| call?.get_item(0)?.extract())
            .collect()
    }

    fn code(py: Python<'_>, error: &PyErr) -> String {
        error
            .value(py)
            .getattr("code")
            .and_then(|c| c.extract())
            .unwrap_or_default()
    }

    #[test]
    fn each_organization_is_checked_against_its_own_key_set() {
        python(|py| {
            let globals = setup(py)?;
            let guard = guard(py, &globals)?;
            let guard = guard.get();
            let (a, now) = case(&globals, "org-a")?;
            let (b, _) = case(&globals, "org-b")?;
            let verified = guard.verify(py, &a, Some(now))?;
            assert_eq!(verified.inner.tenant(), Some("shark-academy"));
            assert_eq!(calls(&globals)?, ["https://keys.example/a"]);
            assert!(!guard.is_ready(py, Some(now))?, "B was never fetched");
            let verified = guard.verify(py, &b, Some(now))?;
            assert_eq!(verified.inner.tenant(), Some("blue-whale"));
            assert_eq!(verified.inner.scopes(), ["openid", "email", "profile"]);
            // Both sets held, both tokens cached: no more fetches.
            guard.verify(py, &a, Some(now))?;
            guard.verify(py, &b, Some(now))?;
            assert_eq!(calls(&globals)?.len(), 2);
            assert!(guard.is_ready(py, Some(now))?);
            // B's key claiming A, B's key under A's kid, an issuer not configured (no fetch).
            for (name, expected) in [
                ("b-key-claims-a", "unknown_key"),
                ("b-key-as-kid-a", "invalid_signature"),
                ("not-configured", "invalid_issuer"),
                ("no-hint", "missing_claim"),
            ] {
                let (token, now) = case(&globals, name)?;
                let error = guard.verify(py, &token, Some(now)).err();
                assert_eq!(
                    error.map(|e| code(py, &e)).as_deref(),
                    Some(expected),
                    "{name}"
                );
            }
            // One unknown-key refetch of A's set (the cooldown holds it at one), nothing else.
            let urls = calls(&globals)?;
            assert_eq!(urls.len(), 3, "{urls:?}");
            assert_eq!(urls[2], "https://keys.example/a");
            Ok(())
        });
    }

    #[test]
    fn a_fetcher_that_fails_in_any_way_is_a_failed_fetch() {
        python(|py| {
            let globals = setup(py)?;
            let (a, now) = case(&globals, "org-a")?;
            for answer in [
                "lambda url: 1 / 0",
                "lambda url: 'timeout'",
                "lambda url: 'nonsense'",
                "lambda url: (200, None, 'text, not bytes')",
                "lambda url: (70000, None, b'')",
                "lambda url: (404, None, b'')",
                "lambda url: (200, None, b'{\"keys\": 1}')",
                "lambda url: None",
            ] {
                let answer = py.eval(&std::ffi::CString::new(answer)?, Some(&globals), None)?;
                globals.set_item("answer", answer)?;
                let guard = guard(py, &globals)?;
                let error = guard.get().verify(py, &a, Some(now)).err();
                let error = error.map(|e| e.value(py).clone());
                let status: Option<u16> = match &error {
                    Some(e) => e.getattr("answer")?.getattr("status")?.extract()?,
                    None => None,
                };
                assert_eq!(status, Some(503));
                let retry_after: Option<u64> = match &error {
                    Some(e) => e.getattr("retry_after")?.extract()?,
                    None => None,
                };
                assert!(retry_after.is_some_and(|s| s >= 1));
                let rows = guard.get().issuers(py, Some(now))?;
                let failures: u32 = rows
                    .get_item(0)?
                    .get_item("consecutive_failures")?
                    .extract()?;
                assert_eq!(failures, 1, "the failed fetch was reported");
            }
            Ok(())
        });
    }

    #[test]
    fn a_stale_set_is_refreshed_in_the_background() {
        python(|py| {
            let globals = setup(py)?;
            let guard = guard(py, &globals)?;
            let guard = guard.get();
            let (a, now) = case(&globals, "org-a")?;
            guard.verify(py, &a, Some(now))?;
            // Ten minutes later the set is stale: the request is answered from it, and a
            // background fetch refreshes it.
            let later = now + 700;
            let verified = guard.verify(py, &a, Some(later))?;
            assert_eq!(verified.inner.issuer(), Some(A));
            let deadline = Instant::now() + Duration::from_secs(5);
            while calls(&globals)?.len() < 2 && Instant::now() < deadline {
                py.detach(|| std::thread::sleep(Duration::from_millis(5)));
            }
            assert_eq!(calls(&globals)?.len(), 2);
            // fetch_due at start-up fetches what is missing (B), once.
            let reports = guard.fetch_due(py, Some(later))?;
            assert_eq!(reports.len(), 1);
            let outcome: String = reports.get_item(0)?.get_item("outcome")?.extract()?;
            assert_eq!(outcome, "ok");
            assert_eq!(calls(&globals)?.len(), 3);
            Ok(())
        });
    }

    #[test]
    fn the_bearer_rule_is_the_cores() {
        python(|py| {
            let globals = setup(py)?;
            let guard = guard(py, &globals)?;
            let guard = guard.get();
            let (a, now) = case(&globals, "org-a")?;
            let token: String = a.extract()?;
            let header = |value: &str| PyString::new(py, value).into_any();
            let ok =
                guard.authenticate(py, Some(&header(&format!("bearer  {token} "))), Some(now))?;
            assert_eq!(ok.inner.tenant(), Some("shark-academy"));
            for (value, expected) in [
                (format!("Bearer\u{a0}{token}"), "invalid_header"),
                (format!("Bearer\t{token}"), "invalid_header"),
                (format!("Basic {token}"), "invalid_header"),
                (String::from("   "), "authorization_header_missing"),
            ] {
                let error = guard
                    .authenticate(py, Some(&header(&value)), Some(now))
                    .err();
                assert_eq!(
                    error.map(|e| code(py, &e)).as_deref(),
                    Some(expected),
                    "{value:?}"
                );
            }
            let none = guard.authenticate(py, None, Some(now)).err();
            assert_eq!(
                none.map(|e| code(py, &e)).as_deref(),
                Some("authorization_header_missing")
            );
            let two = PyList::new(py, [format!("Bearer {token}"), format!("Bearer {token}")])?;
            let error = guard.authenticate(py, Some(two.as_any()), Some(now)).err();
            assert_eq!(
                error.map(|e| code(py, &e)).as_deref(),
                Some("invalid_header")
            );
            Ok(())
        });
    }

    #[test]
    fn fetcher_answers_are_read_by_the_protocol() {
        python(|py| {
            let read = |code: &str| -> PyResult<Option<Fetched>> {
                let value = py.eval(&std::ffi::CString::new(code)?, None, None)?;
                Ok(Fetched::from_python(&value))
            };
            assert_eq!(
                read("(200, 'max-age=60', b'{}')")?,
                Some(Fetched::Response {
                    status: 200,
                    cache_control: Some("max-age=60".into()),
                    body: b"{}".to_vec()
                })
            );
            assert_eq!(read("'too_large'")?, Some(Fetched::TooLarge));
            assert_eq!(read("'network'")?, Some(Fetched::Network));
            for junk in [
                "(200, None)",
                "(-1, None, b'')",
                "[200, None, b'']",
                "'Timeout'",
                "b'timeout'",
            ] {
                assert_eq!(read(junk)?, None, "{junk}");
            }
            Ok(())
        });
    }
}
