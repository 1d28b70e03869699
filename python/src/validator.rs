//! The validator (SPEC §1, §2, §7, §8), its verified-token cache, and the verified token.

use std::sync::{Arc, Mutex};

use cryptr_guard_core::{
    Error, KeySet, Options, Profile, RequiredClaims, TokenCache, TokenKey, Validator, Verified,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyMapping};

use crate::convert::{ClaimsMemo, bytes_obj, claims_dict, now_or_clock, strings_arg};
use crate::errors::{config_error, core_error, no_panic};
use crate::keyset::PyKeySet;
use crate::lock;

/// The `max_lifetime` argument: absent (the profile's default), `None` (no bound) or seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MaxLifetime {
    ProfileDefault,
    Set(Option<u64>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for MaxLifetime {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if value.is_none() {
            return Ok(MaxLifetime::Set(None));
        }
        value
            .extract::<u64>()
            .map(|seconds| MaxLifetime::Set(Some(seconds)))
            .map_err(|_| {
                PyTypeError::new_err("max_lifetime must be a whole number of seconds or None")
            })
    }
}

/// A bounded cache of verified tokens (the core's policy; this object holds the memory), for
/// `Validator.validate(..., cache=)`. Capacity 0 disables it. Thread-safe.
#[pyclass(frozen, name = "TokenCache", module = "cryptr_guard._native")]
#[derive(Debug)]
pub(crate) struct PyTokenCache {
    inner: Mutex<TokenCache>,
    /// The cache's capacity (fixed): a disabled cache is skipped without taking the lock.
    capacity: usize,
    /// Parsed claims of the tokens `Validator.validate` answered through this cache.
    claims: ClaimsMemo,
}

#[pymethods]
impl PyTokenCache {
    #[new]
    #[pyo3(signature = (capacity = 10000))]
    fn new(capacity: usize) -> Self {
        PyTokenCache {
            inner: Mutex::new(TokenCache::new(capacity)),
            capacity,
            claims: ClaimsMemo::new(capacity),
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
        self.claims.clear();
    }

    fn __len__(&self) -> usize {
        lock(&self.inner).len()
    }
}

/// Validates RS256 access tokens with fixed options (SPEC §1).
#[pyclass(frozen, name = "Validator", module = "cryptr_guard._native")]
#[derive(Debug)]
pub(crate) struct PyValidator {
    pub(crate) inner: Arc<Validator>,
}

#[pymethods]
impl PyValidator {
    #[new]
    #[pyo3(
        text_signature = "(issuer, audiences, *, client_ids=None, profile='rfc', leeway=0, required_claims=None, typ=None, max_token_len=8192, max_lifetime=...)"
    )]
    #[pyo3(signature = (
        issuer,
        audiences,
        *,
        client_ids = None,
        profile = "rfc",
        leeway = 0,
        required_claims = None,
        typ = None,
        max_token_len = cryptr_guard_core::validator::DEFAULT_MAX_TOKEN_LEN,
        max_lifetime = MaxLifetime::ProfileDefault
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        issuer: &Bound<'_, PyAny>,
        audiences: &Bound<'_, PyAny>,
        client_ids: Option<&Bound<'_, PyAny>>,
        profile: &str,
        leeway: u64,
        required_claims: Option<&Bound<'_, PyAny>>,
        typ: Option<String>,
        max_token_len: usize,
        max_lifetime: MaxLifetime,
    ) -> PyResult<Self> {
        let profile = Profile::from_name(profile).map_err(config_error)?;
        let mut options = Options::new(
            strings_arg(issuer, "issuer")?,
            strings_arg(audiences, "audiences")?,
        )
        .with_profile(profile)
        .with_leeway(leeway)
        .with_max_token_len(max_token_len)
        .with_typ(typ);
        if let Some(ids) = client_ids {
            options = options.with_client_ids(strings_arg(ids, "client_ids")?);
        }
        // Absent, `required_claims` and `max_lifetime` take the profile's defaults.
        if let Some(names) = required_claims {
            let names = strings_arg(names, "required_claims")?;
            let required = RequiredClaims::from_names(names.iter().map(String::as_str))
                .map_err(config_error)?;
            options = options.with_required_claims(required);
        }
        if let MaxLifetime::Set(seconds) = max_lifetime {
            options = options.with_max_lifetime(seconds);
        }
        let validator = Validator::new(options).map_err(config_error)?;
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
        let verified = self.run(py, token, &keys.get().inner, now, cache)?;
        match cache {
            Some(cache) => cache.claims.claims(py, token, &verified),
            None => claims_dict(py, &verified),
        }
    }

    /// Like `validate`, returning a `Verified` (the claims, the derived values, the header's
    /// `kid` and the decoded payload) instead of the claims alone.
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
        let verified = self.run(py, token.as_bytes(), &keys.get().inner, now, cache)?;
        Ok(PyVerified::new(verified))
    }

    /// SPEC §8, for a host holding one key set per issuer: `key_sets` maps accepted issuers to
    /// their `KeySet`. The token's issuer hint chooses the set before the signature (a hint that
    /// is not an accepted issuer is `InvalidIssuer`; no hint with several issuers accepted,
    /// `MissingClaim`; an accepted issuer without a set, `JwksUnavailable`), then the token must
    /// verify against that set with that issuer. Returns the claims.
    #[pyo3(signature = (token, key_sets, *, now = None))]
    fn validate_by_issuer<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        key_sets: &Bound<'py, PyMapping>,
        now: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let verified = self.run_by_issuer(py, token, key_sets, now)?;
        claims_dict(py, &verified)
    }

    /// Like `validate_by_issuer`, returning a `Verified`.
    #[pyo3(signature = (token, key_sets, *, now = None))]
    fn verify_by_issuer<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        key_sets: &Bound<'py, PyMapping>,
        now: Option<u64>,
    ) -> PyResult<PyVerified> {
        self.run_by_issuer(py, token, key_sets, now)
            .map(PyVerified::new)
    }

    /// The accepted issuers.
    #[getter]
    fn issuers(&self) -> Vec<String> {
        self.inner.options().issuers().to_vec()
    }

    /// The accepted audiences.
    #[getter]
    fn audiences(&self) -> Vec<String> {
        self.inner.options().audiences().to_vec()
    }

    /// The accepted client ids.
    #[getter]
    fn client_ids(&self) -> Vec<String> {
        self.inner.options().client_ids().to_vec()
    }

    /// `"rfc"` or `"cryptr"`.
    #[getter]
    fn profile(&self) -> &'static str {
        self.inner.options().profile().name()
    }

    /// The leeway in seconds.
    #[getter]
    fn leeway(&self) -> u64 {
        self.inner.options().leeway()
    }

    /// The furthest in the future an `exp` may lie, in seconds (`None`: no bound).
    #[getter]
    fn max_lifetime(&self) -> Option<u64> {
        self.inner.options().max_lifetime()
    }

    fn __repr__(&self) -> String {
        let o = self.inner.options();
        format!(
            "Validator(issuer={:?}, audiences={:?}, client_ids={:?}, profile={:?})",
            o.issuers(),
            o.audiences(),
            o.client_ids(),
            o.profile().name()
        )
    }
}

impl PyValidator {
    /// `token` is borrowed from a `bytes` object, not copied. `cache` is an enabled one.
    fn run(
        &self,
        py: Python<'_>,
        token: &[u8],
        keys: &KeySet,
        now: Option<u64>,
        cache: Option<&PyTokenCache>,
    ) -> PyResult<Verified> {
        let now = now_or_clock(now);
        let validator: &Validator = &self.inner;
        let outcome = match cache {
            None => py.detach(|| no_panic(|| validator.validate(token, keys, now)))?,
            Some(cache) => validate_cached(py, validator, &cache.inner, token, keys, now)?,
        };
        outcome.map_err(|e| core_error(py, &e))
    }

    fn run_by_issuer(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        key_sets: &Bound<'_, PyMapping>,
        now: Option<u64>,
    ) -> PyResult<Verified> {
        let token = bytes_obj(token, "token")?;
        let token = token.as_bytes();
        let mut sets: Vec<(String, Arc<KeySet>)> = Vec::new();
        for item in key_sets.items()?.iter() {
            let (issuer, keys): (String, Bound<'_, PyKeySet>) = item.extract().map_err(|_| {
                PyTypeError::new_err("key_sets must map issuer strings to KeySet objects")
            })?;
            sets.push((issuer, Arc::clone(&keys.get().inner)));
        }
        if sets.is_empty() {
            return Err(PyValueError::new_err(
                "key_sets must hold at least one key set",
            ));
        }
        let now = now_or_clock(now);
        let validator: &Validator = &self.inner;
        let outcome = py.detach(|| {
            no_panic(|| {
                validator.validate_by_issuer(token, now, |index| {
                    let issuer = validator.options().issuers().get(index)?;
                    sets.iter()
                        .find(|(name, _)| name == issuer)
                        .map(|(_, keys)| &**keys)
                })
            })
        })?;
        outcome.map_err(|e| core_error(py, &e))
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

/// A verified token: its claims, the SPEC §7 derived values (`issuer`, `client_id`, `tenant`,
/// `scopes`), the header's `kid` and the decoded payload.
#[pyclass(frozen, name = "Verified", module = "cryptr_guard._native")]
pub(crate) struct PyVerified {
    pub(crate) inner: Verified,
    /// The claims dict, parsed at the first access (or handed in by the guard).
    claims: PyOnceLock<Py<PyAny>>,
}

impl std::fmt::Debug for PyVerified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyVerified")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl PyVerified {
    pub(crate) fn new(inner: Verified) -> PyVerified {
        PyVerified {
            inner,
            claims: PyOnceLock::new(),
        }
    }

    /// A verified token whose claims dict is already made.
    pub(crate) fn with_claims(
        py: Python<'_>,
        inner: Verified,
        claims: Bound<'_, PyAny>,
    ) -> PyVerified {
        let verified = PyVerified::new(inner);
        // A new lock is empty: this cannot fail.
        let _ = verified.claims.set(py, claims.unbind());
        verified
    }
}

#[pymethods]
impl PyVerified {
    /// The full claims: `json.loads` of the payload (the same dict at every access).
    #[getter]
    fn claims<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.claims
            .get_or_try_init(py, || claims_dict(py, &self.inner).map(Bound::unbind))
            .map(|claims| claims.bind(py).clone())
    }

    /// The effective issuer: the payload `iss`, else (`cryptr` profile) the header `iss`.
    #[getter]
    fn issuer(&self) -> Option<&str> {
        self.inner.issuer()
    }

    /// The client id: `client_id`, else (`cryptr` profile) `cid`; `None` when absent.
    #[getter]
    fn client_id(&self) -> Option<&str> {
        self.inner.client_id()
    }

    /// The tenant (organization): `org`, else `tnt` (`cryptr` profile); else `None`.
    #[getter]
    fn tenant(&self) -> Option<&str> {
        self.inner.tenant()
    }

    /// The scopes: `scope`, else `scp`, as a list (a string is split on spaces); empty when
    /// absent. Scope checks read this, never one claim name.
    #[getter]
    fn scopes(&self) -> Vec<String> {
        self.inner.scopes().to_vec()
    }

    /// The header's `kid`, if any.
    #[getter]
    fn kid(&self) -> Option<&str> {
        self.inner.kid()
    }

    /// The decoded payload: the JSON text of the claims, as the issuer wrote it.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.payload())
    }

    fn __repr__(&self) -> String {
        format!(
            "Verified(issuer={:?}, client_id={:?}, tenant={:?}, kid={:?})",
            self.inner.issuer(),
            self.inner.client_id(),
            self.inner.tenant(),
            self.inner.kid()
        )
    }
}
