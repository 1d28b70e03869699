//! The guard's loop a step at a time, for hosts on an event loop (asyncio).
//!
//! `Guard.authenticate` runs the core's whole loop in one call and performs a JWKS fetch there,
//! through the blocking fetcher. An async host cannot let its event loop wait on the network, so
//! `Guard.begin` runs the same loop only as far as it goes without I/O: it answers the verified
//! token (the common case: a cached token or a held key set, the RSA work done inline) or raises
//! the refusal, exactly as `authenticate` does, and otherwise hands back a [`PyPending`]: the
//! request paused on a fetch the host runs with its own HTTP client ([`PyFetchJob`], reported
//! with `done`), or on a wait for another request's fetch. The host then calls `resume`. The core
//! still decides everything: which fetch, when, whether to wait, what the answer is.

use std::sync::Mutex;

use cryptr_guard_core::guard::{Fetch, FetchResult};
use cryptr_guard_core::{Action, Check, Rejection, Verified, bearer_token};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyString};

use crate::convert::{bytes_obj, now_or_clock};
use crate::errors::{no_panic, rejection};
use crate::guard::{MAX_STEPS, PyGuard, Shared, Source, report_answer};
use crate::lock;
use crate::validator::PyVerified;

/// A token held by the Python `bytes` object it was read from (the `Authorization` header's, no
/// copy): `start..end` of it.
#[derive(Debug)]
pub(crate) struct Token {
    bytes: PyBackedBytes,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for Token {
    fn as_ref(&self) -> &[u8] {
        self.bytes.get(self.start..self.end).unwrap_or_default()
    }
}

impl Token {
    /// `token`, a slice of `within` when it is one, else a copy.
    fn new(py: Python<'_>, within: &Bound<'_, PyBytes>, token: &[u8]) -> Token {
        let outer = within.as_bytes();
        let offset = (token.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
        if offset <= outer.len() && token.len() <= outer.len() - offset {
            return Token {
                bytes: PyBackedBytes::from(within.clone()),
                start: offset,
                end: offset + token.len(),
            };
        }
        Token {
            bytes: PyBackedBytes::from(PyBytes::new(py, token)),
            start: 0,
            end: token.len(),
        }
    }

    /// The whole of `bytes`.
    fn all(bytes: Bound<'_, PyBytes>) -> Token {
        let end = bytes.as_bytes().len();
        Token {
            bytes: PyBackedBytes::from(bytes),
            start: 0,
            end,
        }
    }
}

/// Where a check stops for I/O.
// As the core's `Action`: held for one step, by value (no allocation per request).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Step {
    Done(Verified),
    Fetch(Fetch),
    Wait { timeout: u64, seen: u64 },
}

impl PyGuard {
    /// Advances `check` until it is answered or needs I/O. `steps` counts the core's actions
    /// across resumptions (the core ends a check in a few; the bound only stops a bug).
    pub(crate) fn step(
        &self,
        py: Python<'_>,
        check: &mut Check<Token>,
        steps: &mut usize,
        now: Option<u64>,
    ) -> PyResult<Step> {
        while *steps < MAX_STEPS {
            *steps += 1;
            let at = now_or_clock(now);
            let (action, seen) = self
                .shared
                .with_state(py, |state| (state.guard.advance(check, at), state.reports))?;
            match action {
                Action::Done(Ok(verified)) => return Ok(Step::Done(verified)),
                Action::Done(Err(refused)) => return Err(rejection(py, &refused)),
                Action::Verify(job) => py.detach(|| no_panic(|| check.verify(job)))?,
                Action::Fetch(fetch) => return Ok(Step::Fetch(fetch)),
                Action::Wait(wait) => {
                    return Ok(Step::Wait {
                        timeout: wait.timeout(),
                        seen,
                    });
                }
            }
        }
        Err(rejection(py, &Rejection::unavailable(1)))
    }

    /// The token of an `Authorization` header value (or values), by the core's Bearer rule.
    pub(crate) fn bearer(
        py: Python<'_>,
        authorization: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Token> {
        let refused = |refusal: Rejection| rejection(py, &refusal);
        match authorization {
            None => Err(refused(Rejection::MissingHeader)),
            Some(value)
                if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() =>
            {
                let header = bytes_obj(value, "authorization")?;
                let token = bearer_token([header.as_bytes()]).map_err(refused)?;
                Ok(Token::new(py, &header, token))
            }
            Some(values) => {
                let values = values
                    .try_iter()
                    .map_err(|_| {
                        PyTypeError::new_err(
                            "authorization must be None, a str, bytes, or a list of them",
                        )
                    })?
                    .map(|value| bytes_obj(&value?, "authorization"))
                    .collect::<PyResult<Vec<_>>>()?;
                let token = bearer_token(values.iter().map(|v| v.as_bytes())).map_err(refused)?;
                Ok(Token::all(PyBytes::new(py, token)))
            }
        }
    }

    /// A token argument (`str` or `bytes`) as a [`Token`].
    pub(crate) fn token_arg(token: &Bound<'_, PyAny>) -> PyResult<Token> {
        Ok(Token::all(bytes_obj(token, "token")?))
    }
}

/// Runs `check` from where it stands: the verified token, or the request paused on I/O.
pub(crate) fn run(
    guard: &Bound<'_, PyGuard>,
    mut check: Check<Token>,
    mut steps: usize,
    now: Option<u64>,
) -> PyResult<Py<PyAny>> {
    let py = guard.py();
    let this = guard.get();
    let step = this.step(py, &mut check, &mut steps, now)?;
    let (fetch, wait, seen) = match step {
        Step::Done(verified) => {
            let claims = this.claims.claims(py, check.token().as_ref(), &verified)?;
            let verified = PyVerified::with_claims(py, verified, claims);
            return Ok(Bound::new(py, verified)?.into_any().unbind());
        }
        Step::Fetch(fetch) => {
            let job = PyFetchJob::new(this, fetch, now);
            (Some(Bound::new(py, job)?.unbind()), None, 0)
        }
        Step::Wait { timeout, seen } => (None, Some(timeout), seen),
    };
    let pending = PyPending {
        guard: guard.clone().unbind(),
        check: Mutex::new(Some(check)),
        steps,
        now,
        fetch,
        wait,
        seen,
    };
    Ok(Bound::new(py, pending)?.into_any().unbind())
}

/// A request paused on I/O (`Guard.begin`): run `fetch` (await it when it is not `background`,
/// else start it and go on) or wait up to `wait` seconds for another request's fetch (until
/// `reported()`), then `resume()`.
#[pyclass(frozen, name = "Pending", module = "cryptr_guard._native")]
#[derive(Debug)]
pub(crate) struct PyPending {
    guard: Py<PyGuard>,
    check: Mutex<Option<Check<Token>>>,
    steps: usize,
    now: Option<u64>,
    fetch: Option<Py<PyFetchJob>>,
    wait: Option<u64>,
    seen: u64,
}

#[pymethods]
impl PyPending {
    /// The fetch to run before resuming, if the core asked for one.
    #[getter]
    fn fetch(&self, py: Python<'_>) -> Option<Py<PyFetchJob>> {
        self.fetch.as_ref().map(|job| job.clone_ref(py))
    }

    /// The longest to wait for another request's fetch, in seconds, if the core asked for a wait.
    #[getter]
    fn wait(&self) -> Option<u64> {
        self.wait
    }

    /// Whether a fetch was reported to the guard since this wait began (the wait is over).
    fn reported(&self, py: Python<'_>) -> PyResult<bool> {
        let seen = self.seen;
        self.guard
            .get()
            .shared
            .with_state(py, |state| state.reports != seen)
    }

    /// Goes on with the check: the verified token, a new `Pending`, or the refusal raised. Once
    /// only.
    fn resume(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let check = lock(&self.check).take();
        let Some(check) = check else {
            return Err(PyRuntimeError::new_err("this check was already resumed"));
        };
        run(self.guard.bind(py), check, self.steps, self.now)
    }

    fn __repr__(&self) -> String {
        match self.wait {
            Some(seconds) => format!("Pending(wait={seconds})"),
            None => String::from("Pending(fetch)"),
        }
    }
}

/// A fetch the core wants run by the host's own HTTP client (a key set, or an issuer's OpenID
/// configuration: `kind`, for logs only; both are run the same way): `url`, `timeout` (the whole
/// fetch's deadline, seconds), `max_bytes`; report what came of it with `done(outcome)`, where
/// `outcome` is what a fetcher answers (`(status, cache_control, body)`, or `"timeout"`,
/// `"too_large"`, `"network"`). A job dropped without a report counts as a network failure, so
/// that the key set is never left "being fetched".
#[pyclass(frozen, name = "FetchJob", module = "cryptr_guard._native")]
#[derive(Debug)]
pub(crate) struct PyFetchJob {
    shared: std::sync::Arc<Shared>,
    source: Source,
    url: String,
    timeout: u64,
    max_bytes: usize,
    background: bool,
    kind: &'static str,
    fetch: Mutex<Option<Fetch>>,
    now: Option<u64>,
}

impl PyFetchJob {
    pub(crate) fn new(guard: &PyGuard, fetch: Fetch, now: Option<u64>) -> PyFetchJob {
        PyFetchJob {
            shared: std::sync::Arc::clone(&guard.shared),
            source: guard.source(fetch.issuer()),
            url: fetch.url().to_owned(),
            timeout: fetch.timeout(),
            max_bytes: fetch.max_bytes(),
            background: fetch.is_background(),
            kind: fetch.kind().label(),
            fetch: Mutex::new(Some(fetch)),
            now,
        }
    }
}

#[pymethods]
impl PyFetchJob {
    /// The URL to `GET`.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// The deadline of the whole fetch, in seconds.
    #[getter]
    fn timeout(&self) -> u64 {
        self.timeout
    }

    /// The largest body to accept, in bytes.
    #[getter]
    fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The issuer whose key set this is.
    #[getter]
    fn issuer(&self) -> &str {
        &self.source.issuer
    }

    /// Whether the request may go on without waiting for it (a stale set's refresh).
    #[getter]
    fn background(&self) -> bool {
        self.background
    }

    /// What it fetches, for logs: `key_set`, or `discovery` (the issuer's OpenID configuration,
    /// for the URL of its key set). Both are run and reported the same way.
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// Reports what came of the fetch; returns the report's label (`ok`, `no_usable_key`,
    /// `superseded`, `http_status`, `timeout`, `too_large`, `network`, `invalid_jwks` or
    /// `invalid_discovery`). An
    /// outcome outside the protocol is a network failure. Once only.
    #[pyo3(signature = (outcome))]
    fn done(&self, py: Python<'_>, outcome: &Bound<'_, PyAny>) -> PyResult<&'static str> {
        let fetch = lock(&self.fetch).take();
        let Some(fetch) = fetch else {
            return Err(PyRuntimeError::new_err("this fetch was already reported"));
        };
        let report = report_answer(
            py,
            &self.shared,
            &self.source,
            fetch,
            Ok(outcome.clone()),
            self.now,
        )?;
        Ok(report.label())
    }

    fn __repr__(&self) -> String {
        format!(
            "FetchJob(url={:?}, kind={:?}, timeout={}, background={})",
            self.url,
            self.kind,
            self.timeout,
            if self.background { "True" } else { "False" }
        )
    }
}

impl Drop for PyFetchJob {
    fn drop(&mut self) {
        let fetch = lock(&self.fetch).take();
        if let Some(fetch) = fetch {
            let _ = no_panic(|| {
                self.shared
                    .report(fetch, FetchResult::Network, now_or_clock(self.now))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use pyo3::types::PyDict;

    use super::*;
    use crate::guard::tests::{calls, case, guard, setup};
    use crate::tests::python;

    #[test]
    fn a_paused_check_runs_the_hosts_fetch_and_resumes() {
        python(|py| {
            let globals = setup(py)?;
            let guard = guard(py, &globals)?;
            let (a, now) = case(&globals, "org-a")?;
            let header = format!("Bearer {}", a.extract::<String>()?);
            let kwargs = PyDict::new(py);
            kwargs.set_item("now", now)?;
            let begin = || guard.call_method("begin", (header.as_str(),), Some(&kwargs));
            // No key set yet: paused on a fetch for the host; the fetcher is never called.
            let first = begin()?;
            let pending = first.cast::<PyPending>()?;
            let job = pending.getattr("fetch")?;
            assert_eq!(
                job.getattr("url")?.extract::<String>()?,
                "https://keys.example/a"
            );
            assert!(!job.getattr("background")?.extract::<bool>()?);
            // A second request meanwhile waits for that fetch, without calling the fetcher.
            let second = begin()?;
            assert!(second.getattr("wait")?.extract::<Option<u64>>()?.is_some());
            assert!(!second.call_method0("reported")?.extract::<bool>()?);
            let answer = globals
                .get_item("answer")?
                .ok_or_else(|| PyTypeError::new_err("answer"))?
                .call1(("https://keys.example/a",))?;
            let label: String = job.call_method1("done", (answer,))?.extract()?;
            assert_eq!(label, "ok");
            assert!(job.call_method1("done", ("network",)).is_err(), "once only");
            assert!(second.call_method0("reported")?.extract::<bool>()?);
            for paused in [pending.as_any(), &second] {
                let verified = paused.call_method0("resume")?;
                assert_eq!(
                    verified.getattr("tenant")?.extract::<String>()?,
                    "shark-academy"
                );
                assert!(paused.call_method0("resume").is_err(), "once only");
            }
            // The key set is held: the next request is answered at once.
            assert!(begin()?.cast::<PyVerified>().is_ok());
            assert!(calls(&globals)?.is_empty());
            Ok(())
        });
    }
}
