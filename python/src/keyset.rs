//! Key sets (SPEC §4) and the raw RS256 check.

use std::sync::Arc;

use cryptr_guard_core::{KeySet, KeySetOptions, verify_raw};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::convert::{bytes_obj, json_loads};
use crate::errors::{config_error, core_error, no_panic};

/// The usable RS256 keys of a JWKS document (SPEC §4), parsed once for fast verification.
#[pyclass(frozen, name = "KeySet", module = "cryptr_guard._native")]
#[derive(Debug)]
pub(crate) struct PyKeySet {
    pub(crate) inner: Arc<KeySet>,
}

#[pymethods]
impl PyKeySet {
    /// Parses a JWKS document; raises `InvalidJwks` when the document itself is unusable.
    #[staticmethod]
    #[pyo3(signature = (data, *, min_rsa_bits = 2048))]
    fn from_jwks(py: Python<'_>, data: &Bound<'_, PyAny>, min_rsa_bits: u32) -> PyResult<Self> {
        let document = bytes_obj(data, "data")?;
        let document = document.as_bytes();
        let options = KeySetOptions::default()
            .with_min_rsa_bits(min_rsa_bits)
            .map_err(config_error)?;
        let parsed = py.detach(|| no_panic(|| KeySet::from_jwks_with(document, &options)))?;
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

    /// The set's identity: a SHA-256 of the document and of the options it was parsed with.
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

/// A raw RS256 check (SPEC §2 step 8 alone) of `signature` over `message` with a JWK given as a
/// dict or as JSON text (only its `n` and `e` are used; no key-usability rule applies).
#[pyfunction]
pub(crate) fn rs256_verify(
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
    py.detach(|| no_panic(|| verify_raw(n.as_bytes(), e.as_bytes(), message, signature)))
}
