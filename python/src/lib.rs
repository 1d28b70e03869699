//! `cryptr_guard._native`: the PyO3 binding of `cryptr-guard-core`.
//!
//! Thin by design: every decision is the core's. This module converts Python arguments, releases
//! the GIL around the RSA work, holds the memory of the caches the core's policies drive
//! (`KeySetCache<KeySet>`, `TokenCache`) behind mutexes, and turns a core error into a Python
//! exception in one place ([`raise`]). The exception classes themselves are defined in Python
//! (`cryptr_guard/_errors.py`), with one subclass per SPEC §3 code.
//!
//! No panic may reach Python (a `PanicException` escapes `except Exception`): the code below never
//! unwraps, and every call into the core runs inside [`no_panic`] as a second line of defence.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use cryptr_guard_core::cache::{CacheConfig, Decision, FetchTicket};
use cryptr_guard_core::{
    Error, KeySet, KeySetCache, KeySetOptions, Options, RequiredClaims, TokenCache, TokenKey,
    Validator, Verified, verify_raw,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

/// The module's version (the crate's, which is also the Python distribution's).
const VERSION: &str = env!("CARGO_PKG_VERSION");

// ---------------------------------------------------------------------------------------------
// Errors: the one place a core error becomes a Python exception.
// ---------------------------------------------------------------------------------------------

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python exception for a SPEC §3 `code` with its `description`:
/// `cryptr_guard._errors.error_for(code, description, retry_after)` builds an instance of the
/// subclass registered for that code.
fn raise(py: Python<'_>, code: &str, description: &str, retry_after: Option<u64>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = ERRORS_MODULE
            .get_or_try_init(py, || py.import("cryptr_guard._errors").map(Bound::unbind))?;
        let exc = module
            .bind(py)
            .call_method1("error_for", (code, description, retry_after))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

fn core_error(py: Python<'_>, error: &Error) -> PyErr {
    raise(py, error.code(), error.description(), None)
}

/// Runs `f`, turning a panic (a bug: the core never panics on input) into a `RuntimeError`.
fn no_panic<T>(f: impl FnOnce() -> T) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| PyRuntimeError::new_err("cryptr_guard: internal error (please report it)"))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_or_clock(now: Option<u64>) -> u64 {
    now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    })
}

/// A `bytes` or `str` argument as a `bytes` object (a `str` is taken as UTF-8): the object itself
/// when it is `bytes`, so a token is read in place rather than copied.
fn bytes_obj<'py>(value: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(bytes.clone());
    }
    if let Ok(text) = value.cast::<PyString>() {
        if let Ok(encoded) = text.encode_utf8() {
            return Ok(encoded);
        }
        // A `str` holding lone surrogates has no UTF-8 form: `encode` with `surrogatepass` keeps
        // it as bytes that the core then rejects as not UTF-8 where that matters.
        let encoded = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
        return Ok(encoded.cast_into::<PyBytes>()?);
    }
    Err(PyTypeError::new_err(format!("{what} must be bytes or str")))
}

/// The bytes of a `bytes` or `str` argument (a `str` is taken as UTF-8).
fn bytes_arg(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    Ok(bytes_obj(value, what)?.as_bytes().to_vec())
}

/// A `str` or a sequence of `str` (a bare `str` is one value, not its characters).
fn strings_arg(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(vec![text.to_cow()?.into_owned()]);
    }
    let items: Vec<String> = value
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str or a sequence of str")))?;
    Ok(items)
}

// ---------------------------------------------------------------------------------------------
// Claims: the payload handed to the user as a dict.
// ---------------------------------------------------------------------------------------------

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static JSON_SCAN_ONCE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn json_loads(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    JSON_LOADS
        .get_or_try_init(py, || {
            py.import("json")?.getattr("loads").map(Bound::unbind)
        })
        .map(|f| f.bind(py))
}

/// The full claims of a verified token: its payload (a strict JSON object, as the core checked)
/// read by Python's own JSON decoder, so the dict is exactly `json.loads(payload)`: integers are
/// exact, a number beyond binary64 becomes a float (`inf`).
///
/// The common case goes straight to the decoder's scanner (`JSONDecoder().scan_once`, the C
/// scanner that `json.loads` ends up in), skipping `loads`' Python-level wrapping: about 2 µs of
/// the 5 µs a typical access token's claims take.
fn claims_dict<'py>(py: Python<'py>, verified: &Verified) -> PyResult<Bound<'py, PyAny>> {
    let text = verified.payload_str();
    let string = PyString::new(py, text);
    if text.starts_with('{') && text.ends_with('}') {
        let scan = JSON_SCAN_ONCE.get_or_try_init(py, || {
            py.import("json.decoder")?
                .getattr("JSONDecoder")?
                .call0()?
                .getattr("scan_once")
                .map(Bound::unbind)
        })?;
        if let Ok(scanned) = scan.bind(py).call1((&string, 0))
            && let Ok((claims, end)) = scanned.extract::<(Bound<'py, PyAny>, usize)>()
            && string.len().is_ok_and(|len| len == end)
        {
            return Ok(claims);
        }
    }
    let loads = json_loads(py)?;
    match loads.call1((&string,)) {
        Ok(claims) => Ok(claims),
        // An integer longer than Python's `int` string-conversion limit: keep it as a float.
        Err(_) => {
            let kwargs = PyDict::new(py);
            kwargs.set_item("parse_int", py.get_type::<pyo3::types::PyFloat>())?;
            loads.call((&string,), Some(&kwargs))
        }
    }
}

/// A copy of claims read by [`claims_dict`]: new dicts and lists all the way down (the caller
/// may change them), the immutable values (`str`, `int`, `float`, `bool`, `None`) shared.
fn json_copy<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        let copy = dict.copy()?;
        for (name, member) in dict.iter() {
            if member.is_exact_instance_of::<PyDict>() || member.is_exact_instance_of::<PyList>() {
                copy.set_item(name, json_copy(&member)?)?;
            }
        }
        return Ok(copy.into_any());
    }
    if let Ok(list) = value.cast_exact::<PyList>() {
        let items = list
            .iter()
            .map(|item| json_copy(&item))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(PyList::new(value.py(), items)?.into_any());
    }
    Ok(value.clone())
}

/// The most parsed claims a [`ClaimsMemo`] keeps (it is emptied when full).
const CLAIMS_MEMO_MAX: usize = 1024;

/// Where a token's parsed claims are looked up: its length and its last 32 bytes (signature
/// bytes, in practice unique per token). Only a locator: a hit also needs the payload text to match.
type MemoKey = (usize, [u8; 32]);

fn memo_key(token: &[u8]) -> MemoKey {
    let mut tail = [0u8; 32];
    let start = token.len().saturating_sub(tail.len());
    let end = token.len() - start;
    if let (Some(dst), Some(src)) = (tail.get_mut(..end), token.get(start..)) {
        dst.copy_from_slice(src);
    }
    (token.len(), tail)
}

/// The claims dicts of tokens answered from the verified-token cache, kept so that a cache hit
/// copies a dict instead of parsing the payload's JSON again. Not a policy: the core's
/// `TokenCache` decides on every call whether the token is (still) accepted; this only maps a
/// payload text, compared in full, to what Python's JSON decoder made of it.
#[derive(Debug, Default)]
struct ClaimsMemo {
    entries: HashMap<MemoKey, (Box<str>, Py<PyAny>)>,
}

impl ClaimsMemo {
    fn get<'py>(&self, py: Python<'py>, key: &MemoKey, payload: &str) -> Option<Bound<'py, PyAny>> {
        self.entries
            .get(key)
            .filter(|(text, _)| &**text == payload)
            .map(|(_, claims)| claims.bind(py).clone())
    }

    fn insert(&mut self, key: MemoKey, payload: &str, claims: Bound<'_, PyAny>, capacity: usize) {
        if self.entries.len() >= capacity.min(CLAIMS_MEMO_MAX) {
            self.entries.clear();
        }
        self.entries.insert(key, (payload.into(), claims.unbind()));
    }
}

// ---------------------------------------------------------------------------------------------
// KeySet
// ---------------------------------------------------------------------------------------------

/// The usable RS256 keys of a JWKS document (SPEC §4), parsed once for fast verification.
#[pyclass(frozen, name = "KeySet", module = "cryptr_guard._native")]
#[derive(Debug)]
struct PyKeySet {
    inner: Arc<KeySet>,
}

fn key_set_options(min_rsa_bits: u32) -> PyResult<KeySetOptions> {
    KeySetOptions::default()
        .with_min_rsa_bits(min_rsa_bits)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymethods]
impl PyKeySet {
    /// Parses a JWKS document; raises `InvalidJwks` when the document itself is unusable.
    #[staticmethod]
    #[pyo3(signature = (data, *, min_rsa_bits = 2048))]
    fn from_jwks(py: Python<'_>, data: &Bound<'_, PyAny>, min_rsa_bits: u32) -> PyResult<Self> {
        let document = bytes_arg(data, "data")?;
        let options = key_set_options(min_rsa_bits)?;
        let parsed = py.detach(|| no_panic(|| KeySet::from_jwks_with(&document, &options)))?;
        match parsed {
            Ok(keys) => Ok(PyKeySet {
                inner: Arc::new(keys),
            }),
            Err(e) => Err(core_error(py, &e)),
        }
    }

    /// The `kid` of every usable key, in document order (`None` for a key without one).
    #[getter]
    fn kids(&self) -> Vec<Option<String>> {
        self.inner.kids().map(|k| k.map(str::to_owned)).collect()
    }

    /// The elements of `keys` that are not usable: `(kid, reason)` pairs in document order.
    #[getter]
    fn skipped(&self) -> Vec<(Option<String>, &'static str)> {
        self.inner
            .skipped()
            .iter()
            .map(|s| (s.kid.clone(), s.reason.description()))
            .collect()
    }

    /// The SHA-256 of the document: the set's identity.
    #[getter]
    fn fingerprint<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.fingerprint())
    }

    fn __len__(&self) -> usize {
        self.inner.keys().len()
    }

    fn __repr__(&self) -> String {
        format!(
            "KeySet(usable={}, skipped={})",
            self.inner.keys().len(),
            self.inner.skipped().len()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// TokenCache
// ---------------------------------------------------------------------------------------------

/// A bounded cache of verified tokens (the core's policy; this object holds the memory).
/// Capacity 0 disables it. Thread-safe.
#[pyclass(frozen, name = "TokenCache", module = "cryptr_guard._native")]
#[derive(Debug)]
struct PyTokenCache {
    inner: Mutex<TokenCache>,
    /// The cache's capacity (fixed): a disabled cache is skipped without taking the lock.
    capacity: usize,
    /// Parsed claims of the tokens `Validator.validate` answered through this cache.
    claims: Mutex<ClaimsMemo>,
}

#[pymethods]
impl PyTokenCache {
    #[new]
    #[pyo3(signature = (capacity = 10000))]
    fn new(capacity: usize) -> Self {
        PyTokenCache {
            inner: Mutex::new(TokenCache::new(capacity)),
            capacity,
            claims: Mutex::new(ClaimsMemo::default()),
        }
    }

    /// The most entries the cache holds (0: disabled).
    #[getter]
    fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counters: `{"hits": int, "misses": int, "evictions": int, "size": int}`.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (stats, size) = {
            let cache = lock(&self.inner);
            (cache.stats(), cache.len())
        };
        let dict = PyDict::new(py);
        dict.set_item("hits", stats.hits)?;
        dict.set_item("misses", stats.misses)?;
        dict.set_item("evictions", stats.evictions)?;
        dict.set_item("size", size)?;
        Ok(dict)
    }

    /// Drops every entry.
    fn clear(&self) {
        lock(&self.inner).clear();
        lock(&self.claims).entries.clear();
    }

    fn __len__(&self) -> usize {
        lock(&self.inner).len()
    }
}

impl PyTokenCache {
    /// The claims dict of `verified` (the token `token`, just accepted through this cache): a
    /// copy of the memo's dict when it holds this payload, else parsed and remembered.
    fn claims<'py>(
        &self,
        py: Python<'py>,
        token: &[u8],
        verified: &Verified,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = memo_key(token);
        let payload = verified.payload_str();
        let remembered = lock(&self.claims).get(py, &key, payload);
        if let Some(claims) = remembered {
            return json_copy(&claims);
        }
        let claims = claims_dict(py, verified)?;
        let kept = json_copy(&claims)?;
        lock(&self.claims).insert(key, payload, kept, self.capacity);
        Ok(claims)
    }
}

// ---------------------------------------------------------------------------------------------
// Validator
// ---------------------------------------------------------------------------------------------

/// Validates RS256 access tokens with fixed options (SPEC §1).
#[pyclass(frozen, name = "Validator", module = "cryptr_guard._native")]
#[derive(Debug)]
struct PyValidator {
    inner: Arc<Validator>,
}

#[pymethods]
impl PyValidator {
    #[new]
    #[pyo3(
        text_signature = "(issuer, audiences, *, leeway=0, required_claims=('exp', 'iss', 'aud'), typ=None, max_token_len=8192)"
    )]
    #[pyo3(signature = (
        issuer,
        audiences,
        *,
        leeway = 0,
        required_claims = None,
        typ = None,
        max_token_len = cryptr_guard_core::validator::DEFAULT_MAX_TOKEN_LEN
    ))]
    fn new(
        issuer: &Bound<'_, PyAny>,
        audiences: &Bound<'_, PyAny>,
        leeway: u64,
        required_claims: Option<&Bound<'_, PyAny>>,
        typ: Option<String>,
        max_token_len: usize,
    ) -> PyResult<Self> {
        let issuers = strings_arg(issuer, "issuer")?;
        let audiences = strings_arg(audiences, "audiences")?;
        let required = match required_claims {
            None => RequiredClaims::default(),
            Some(names) => {
                let names = strings_arg(names, "required_claims")?;
                RequiredClaims::from_names(names.iter().map(String::as_str))
                    .map_err(|e| PyValueError::new_err(e.to_string()))?
            }
        };
        let options = Options::new("", "")
            .issuers(issuers)
            .audiences(audiences)
            .leeway(leeway)
            .required_claims(required)
            .max_token_len(max_token_len)
            .typ(typ);
        let validator =
            Validator::new(options).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyValidator {
            inner: Arc::new(validator),
        })
    }

    /// Validates `token` against `keys` at `now` (seconds since the epoch; default: the clock),
    /// returning the full claims as a dict, or raising the `CryptrGuardError` subclass of the
    /// SPEC §3 code. With `cache`, a token verified before skips the signature (the clock checks
    /// still run). The GIL is released during verification.
    #[pyo3(signature = (token, keys, *, now = None, cache = None))]
    fn validate<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        keys: &Bound<'py, PyKeySet>,
        now: Option<u64>,
        cache: Option<&Bound<'py, PyTokenCache>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = bytes_obj(token, "token")?;
        let token = token.as_bytes();
        let cache = cache.map(Bound::get).filter(|c| c.capacity > 0);
        let verified = self.run(py, token, keys, now, cache)?;
        match cache {
            Some(cache) => cache.claims(py, token, &verified),
            None => claims_dict(py, &verified),
        }
    }

    /// Like `validate`, returning a `Verified` (the header's `kid`, the claims and the decoded
    /// payload bytes) instead of the claims alone.
    #[pyo3(signature = (token, keys, *, now = None, cache = None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        keys: &Bound<'py, PyKeySet>,
        now: Option<u64>,
        cache: Option<&Bound<'py, PyTokenCache>>,
    ) -> PyResult<PyVerified> {
        let token = bytes_obj(token, "token")?;
        let cache = cache.map(Bound::get).filter(|c| c.capacity > 0);
        let verified = self.run(py, token.as_bytes(), keys, now, cache)?;
        Ok(PyVerified { inner: verified })
    }

    /// The accepted issuers.
    #[getter]
    fn issuers(&self) -> Vec<String> {
        self.inner.options().issuer_list().to_vec()
    }

    /// The accepted audiences.
    #[getter]
    fn audiences(&self) -> Vec<String> {
        self.inner.options().audience_list().to_vec()
    }

    /// The leeway in seconds.
    #[getter]
    fn leeway(&self) -> u64 {
        self.inner.options().leeway_seconds()
    }

    fn __repr__(&self) -> String {
        let o = self.inner.options();
        format!(
            "Validator(issuer={:?}, audiences={:?}, leeway={})",
            o.issuer_list(),
            o.audience_list(),
            o.leeway_seconds()
        )
    }
}

impl PyValidator {
    /// `token` is borrowed from a `bytes` object, not copied: the object is immutable (and kept
    /// alive by the caller), so its buffer may be read without the GIL. `cache` is an enabled one.
    fn run(
        &self,
        py: Python<'_>,
        token: &[u8],
        keys: &Bound<'_, PyKeySet>,
        now: Option<u64>,
        cache: Option<&PyTokenCache>,
    ) -> PyResult<Verified> {
        let keys: &KeySet = &keys.get().inner;
        let now = now_or_clock(now);
        let validator: &Validator = &self.inner;
        let outcome = match cache {
            None => py.detach(|| no_panic(|| validator.validate(token, keys, now)))?,
            Some(cache) => validate_cached(py, validator, &cache.inner, token, keys, now)?,
        };
        outcome.map_err(|e| core_error(py, &e))
    }
}

/// A verified token: the header's `kid`, the claims, the decoded payload.
#[pyclass(frozen, name = "Verified", module = "cryptr_guard._native")]
#[derive(Debug)]
struct PyVerified {
    inner: Verified,
}

#[pymethods]
impl PyVerified {
    /// The header's `kid`, if any.
    #[getter]
    fn kid(&self) -> Option<&str> {
        self.inner.kid()
    }

    /// The full claims (a new dict at each access).
    #[getter]
    fn claims<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        claims_dict(py, &self.inner)
    }

    /// The decoded payload: the JSON text of the claims, as the issuer wrote it.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.payload())
    }

    fn __repr__(&self) -> String {
        format!("Verified(kid={:?})", self.inner.kid())
    }
}

/// The core's `validate_cached`, split so that the RSA work runs without the GIL and without
/// the cache's lock: look up under the lock, verify outside it, insert under it.
fn validate_cached(
    py: Python<'_>,
    validator: &Validator,
    cache: &Mutex<TokenCache>,
    token: &[u8],
    keys: &KeySet,
    now: u64,
) -> PyResult<Result<Verified, Error>> {
    let key = no_panic(|| TokenKey::new(validator, keys, token))?;
    if let Some(answer) = no_panic(|| lock(cache).get(&key, validator, now))? {
        return Ok(answer);
    }
    let outcome = py.detach(|| no_panic(|| validator.validate(token, keys, now)))?;
    if let Ok(verified) = &outcome {
        no_panic(|| lock(cache).insert(&key, verified))?;
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// KeySetCache: the core's sans-I/O key-set policy; the Python JwksClient does the I/O.
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct CacheState {
    policy: KeySetCache<KeySet>,
    /// Tickets handed to Python by id, until reported.
    tickets: HashMap<u64, FetchTicket>,
}

impl CacheState {
    fn hand_out(&mut self, ticket: Option<FetchTicket>) -> Option<u64> {
        ticket.map(|t| {
            self.tickets.insert(t.id(), t);
            t.id()
        })
    }
}

fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::UseCurrent => "use_current",
        Decision::Refresh(_) => "refresh",
        Decision::Fetch(_) => "fetch",
        Decision::Wait => "wait",
        Decision::Unavailable => "unavailable",
    }
}

/// The key-set cache policy of SPEC §4 for one issuer (the core's `KeySetCache`), thread-safe.
/// The caller fetches when told to and reports the outcome with the ticket id it was given.
#[pyclass(frozen, name = "KeySetCache", module = "cryptr_guard._native")]
#[derive(Debug)]
struct PyKeySetCache {
    state: Mutex<CacheState>,
    options: KeySetOptions,
}

#[pymethods]
impl PyKeySetCache {
    #[new]
    #[pyo3(signature = (*, min_rsa_bits = 2048))]
    fn new(min_rsa_bits: u32) -> PyResult<Self> {
        Ok(PyKeySetCache {
            state: Mutex::new(CacheState {
                policy: KeySetCache::new(CacheConfig::default()),
                tickets: HashMap::new(),
            }),
            options: key_set_options(min_rsa_bits)?,
        })
    }

    /// What to do with a request at `now`: `(decision, ticket)` where decision is one of
    /// `"use_current"`, `"refresh"` (use the current set and refetch with the ticket), `"fetch"`
    /// (fetch now with the ticket), `"wait"` (another fetch is in flight) or `"unavailable"`.
    fn poll(&self, now: u64) -> PyResult<(&'static str, Option<u64>)> {
        no_panic(|| {
            let mut state = lock(&self.state);
            let decision = state.policy.poll(now);
            (decision_name(decision), state.hand_out(decision.ticket()))
        })
    }

    /// `poll(now)` and `current(now)` under one lock: `(decision, ticket, current set or None)`
    /// (the request path's single call).
    fn poll_current(&self, now: u64) -> PyResult<(&'static str, Option<u64>, Option<PyKeySet>)> {
        no_panic(|| {
            let mut state = lock(&self.state);
            let decision = state.policy.poll(now);
            let ticket = state.hand_out(decision.ticket());
            let current = state.policy.current(now).map(|set| PyKeySet {
                inner: Arc::clone(set),
            });
            (decision_name(decision), ticket, current)
        })
    }

    /// A token named a key not in the set: the ticket of a refetch to run now, or `None`
    /// (cooldown, backoff, or a fetch already in flight).
    fn unknown_key(&self, now: u64) -> PyResult<Option<u64>> {
        no_panic(|| {
            let mut state = lock(&self.state);
            let ticket = state.policy.unknown_key(now);
            state.hand_out(ticket)
        })
    }

    /// Reports a fetched body (HTTP 200) for `ticket`: parses it as a JWKS (without the GIL) and
    /// installs it; a body that is not a valid JWKS counts as a failed fetch and raises
    /// `InvalidJwks`. Returns whether the set was installed.
    #[pyo3(signature = (ticket, now, body, cache_control = None))]
    fn fetch_succeeded(
        &self,
        py: Python<'_>,
        ticket: u64,
        now: u64,
        body: &[u8],
        cache_control: Option<&str>,
    ) -> PyResult<bool> {
        let options = self.options;
        let document = body.to_vec();
        let parsed = py.detach(|| no_panic(|| KeySet::from_jwks_with(&document, &options)))?;
        let outcome = no_panic(|| {
            let mut state = lock(&self.state);
            let ticket = state.tickets.remove(&ticket);
            match (ticket, parsed) {
                (None, parsed) => parsed.map(|_| false),
                (Some(t), Ok(set)) => Ok(state.policy.fetch_succeeded(t, now, set, cache_control)),
                (Some(t), Err(e)) => {
                    state.policy.fetch_failed(t, now);
                    Err(e)
                }
            }
        })?;
        outcome.map_err(|e| core_error(py, &e))
    }

    /// Reports a failed fetch (network error, non-200 status, body too large). Returns whether
    /// it counted.
    fn fetch_failed(&self, ticket: u64, now: u64) -> PyResult<bool> {
        no_panic(|| {
            let mut state = lock(&self.state);
            match state.tickets.remove(&ticket) {
                Some(t) => state.policy.fetch_failed(t, now),
                None => false,
            }
        })
    }

    /// The set to validate against at `now`, or `None` when no set is usable.
    fn current(&self, now: u64) -> PyResult<Option<PyKeySet>> {
        no_panic(|| {
            let state = lock(&self.state);
            state.policy.current(now).map(|set| PyKeySet {
                inner: Arc::clone(set),
            })
        })
    }

    /// Whether a fetch is in flight at `now`.
    fn fetch_in_flight(&self, now: u64) -> PyResult<bool> {
        no_panic(|| lock(&self.state).policy.fetch_in_flight(now))
    }

    /// The `Retry-After` seconds for a `jwks_unavailable` answer at `now`.
    fn retry_after(&self, now: u64) -> PyResult<u64> {
        no_panic(|| lock(&self.state).policy.retry_after(now))
    }

    /// The generation of the installed set (0: none yet).
    #[getter]
    fn generation(&self) -> PyResult<u64> {
        no_panic(|| lock(&self.state).policy.generation())
    }
}

// ---------------------------------------------------------------------------------------------
// rs256_verify
// ---------------------------------------------------------------------------------------------

/// A raw RS256 check (SPEC §2 step 8 alone) of `signature` over `message` with a JWK given as a
/// dict or as JSON text (only its `n` and `e` are used; no key-usability rule applies).
#[pyfunction]
fn rs256_verify(
    py: Python<'_>,
    jwk: &Bound<'_, PyAny>,
    message: &[u8],
    signature: &[u8],
) -> PyResult<bool> {
    let jwk = if jwk.is_instance_of::<PyString>() || jwk.is_instance_of::<PyBytes>() {
        json_loads(py)?
            .call1((jwk,))
            .map_err(|_| PyValueError::new_err("jwk is not JSON text"))?
    } else {
        jwk.clone()
    };
    let jwk = jwk
        .cast::<PyDict>()
        .map_err(|_| PyTypeError::new_err("jwk must be a dict or a JSON object as text"))?;
    let member = |name: &str| -> PyResult<Option<String>> {
        Ok(match jwk.get_item(name)? {
            Some(v) => v.cast::<PyString>().ok().map(|s| s.to_string()),
            None => None,
        })
    };
    let (Some(n), Some(e)) = (member("n")?, member("e")?) else {
        return Ok(false);
    };
    let (message, signature) = (message.to_vec(), signature.to_vec());
    py.detach(|| no_panic(|| verify_raw(n.as_bytes(), e.as_bytes(), &message, &signature)))
}

// ---------------------------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------------------------

/// The SPEC §3 codes the core can return, in SPEC order (the host-only codes are Python's).
fn core_codes<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
    let codes: Vec<&'static str> = cryptr_guard_core::ErrorKind::ALL
        .iter()
        .map(|k| k.code())
        .collect();
    PyTuple::new(py, codes)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", VERSION)?;
    m.add("CORE_CODES", core_codes(py)?)?;
    m.add_class::<PyKeySet>()?;
    m.add_class::<PyValidator>()?;
    m.add_class::<PyVerified>()?;
    m.add_class::<PyTokenCache>()?;
    m.add_class::<PyKeySetCache>()?;
    m.add_function(wrap_pyfunction!(rs256_verify, m)?)?;
    Ok(())
}
