//! The one place where the core's refusals become Python exceptions.
//!
//! The exception classes are defined in Python (`cryptr_guard/_errors.py`: `CryptrGuardError`, a
//! `ValueError`, with one subclass per SPEC §3 code, and `SettingError` for configuration); this
//! module builds them through `_errors.error_for` and `_errors.SettingError`, and hands every
//! refusal its SPEC §3 HTTP answer as the core computed it (`exc.answer`), so that no layer
//! above maps codes to statuses again.

use std::panic::{AssertUnwindSafe, catch_unwind};

use cryptr_guard_core::guard::SettingError;
use cryptr_guard_core::{ConfigError, Error, HttpAnswer, Rejection};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

use crate::convert::strings_arg;
use crate::validator::PyVerified;

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS_MODULE
        .get_or_try_init(py, || py.import("cryptr_guard._errors").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// The SPEC §3 HTTP answer to a refused request (status, body, headers), as the core computed
/// it. Every `CryptrGuardError` raised by this module carries one as `answer`.
#[pyclass(frozen, name = "HttpAnswer", module = "cryptr_guard._native")]
#[derive(Debug)]
pub(crate) struct PyHttpAnswer {
    inner: HttpAnswer,
}

#[pymethods]
impl PyHttpAnswer {
    /// 401 or 503 (403 for `require_scopes`).
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status
    }

    /// The tutorial-compatible `code` of the body (`invalid_header`, `no_rsa_key`, …).
    #[getter]
    fn code(&self) -> &'static str {
        self.inner.code
    }

    /// The fine SPEC §3 code, the body's `error`.
    #[getter]
    fn error(&self) -> &'static str {
        self.inner.error
    }

    /// The body's `description`.
    #[getter]
    fn description(&self) -> &'static str {
        self.inner.description
    }

    /// The `WWW-Authenticate` value (every 401), else `None`.
    #[getter]
    fn www_authenticate(&self) -> Option<&str> {
        self.inner.www_authenticate.as_deref()
    }

    /// The `Retry-After` seconds (every 503), else `None`.
    #[getter]
    fn retry_after(&self) -> Option<u64> {
        self.inner.retry_after
    }

    /// The JSON body: `{"code": …, "description": …, "error": …}`.
    #[getter]
    fn body(&self) -> String {
        self.inner.body()
    }

    /// The response headers: `Content-Type`, and `WWW-Authenticate` or `Retry-After`.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut headers = vec![("Content-Type", String::from("application/json"))];
        if let Some(challenge) = &self.inner.www_authenticate {
            headers.push(("WWW-Authenticate", challenge.clone()));
        }
        if let Some(seconds) = self.inner.retry_after {
            headers.push(("Retry-After", seconds.to_string()));
        }
        PyList::new(py, headers)
    }

    fn __repr__(&self) -> String {
        format!(
            "HttpAnswer(status={}, code={:?}, error={:?})",
            self.inner.status, self.inner.code, self.inner.error
        )
    }
}

/// The HTTP answer for a SPEC §3 code (the core's mapping, with the code's generic
/// description): for an exception raised elsewhere than this module, which carries none.
#[pyfunction]
pub(crate) fn http_answer(code: &str) -> PyResult<PyHttpAnswer> {
    let rejection = match code {
        "authorization_header_missing" => Rejection::MissingHeader,
        "invalid_header" => Rejection::InvalidHeader,
        _ => match cryptr_guard_core::ErrorKind::from_code(code) {
            Some(kind) => Rejection::from(Error::from(kind)),
            None => {
                return Err(PyValueError::new_err(format!("not a SPEC code: {code:?}")));
            }
        },
    };
    Ok(PyHttpAnswer {
        inner: rejection.answer(),
    })
}

/// The scope check of a protected route, the core's rule (RFC 6750 §3.1): `None` when `held`
/// (a `Verified` token, or its scopes) holds every scope of `required` (a `str` is one scope),
/// else `InsufficientScope` raised with the 403 answer naming the required scopes.
#[pyfunction]
pub(crate) fn require_scopes(
    py: Python<'_>,
    held: &Bound<'_, PyAny>,
    required: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let required = strings_arg(required, "required")?;
    let outcome = if let Ok(token) = held.cast::<PyVerified>() {
        cryptr_guard_core::http::require_scopes(token.get().inner.scopes(), &required)
    } else {
        let held = strings_arg(held, "held")?;
        cryptr_guard_core::http::require_scopes(&held, &required)
    };
    let Err(answer) = outcome else {
        return Ok(());
    };
    let build = || -> PyResult<PyErr> {
        let description = answer.description;
        let answer = Bound::new(py, PyHttpAnswer { inner: answer })?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("answer", answer)?;
        let exc = errors_module(py)?
            .getattr("InsufficientScope")?
            .call((description,), Some(&kwargs))?;
        Ok(PyErr::from_value(exc))
    };
    Err(build().unwrap_or_else(|e| e))
}

/// `_errors.error_for(code, description, retry_after, answer)`; if even that fails (the package
/// is broken), the failure itself is raised.
fn build(
    py: Python<'_>,
    code: &str,
    description: &str,
    retry_after: Option<u64>,
    answer: HttpAnswer,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let answer = Bound::new(py, PyHttpAnswer { inner: answer })?;
        let exc = errors_module(py)?
            .call_method1("error_for", (code, description, retry_after, answer))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// A core error as the exception of its own code (`InvalidJwks` for `invalid_jwks`), with the
/// HTTP answer a host gives it.
pub(crate) fn core_error(py: Python<'_>, error: &Error) -> PyErr {
    let answer = Rejection::from(*error).answer();
    build(py, error.code(), error.description(), None, answer)
}

/// A guard's refusal as the exception of its fine code, with its HTTP answer (and
/// `retry_after` on `jwks_unavailable`).
pub(crate) fn rejection(py: Python<'_>, rejection: &Rejection) -> PyErr {
    let answer = rejection.answer();
    let retry_after = answer.retry_after;
    build(
        py,
        rejection.code(),
        rejection.description(),
        retry_after,
        answer,
    )
}

/// A `CRYPTR_*` setting that cannot be used: `SettingError(key, problem)`, a `ValueError`.
pub(crate) fn setting_error(py: Python<'_>, key: &str, problem: &str) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let exc = errors_module(py)?
            .getattr("SettingError")?
            .call1((key, problem))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// [`setting_error`] for the core's [`SettingError`].
pub(crate) fn core_setting_error(py: Python<'_>, error: &SettingError) -> PyErr {
    setting_error(py, error.key, error.problem)
}

/// Options or a key-set option that a validator cannot be built with: a `ValueError`.
pub(crate) fn config_error(error: ConfigError) -> PyErr {
    PyValueError::new_err(error.0)
}

/// Runs `f`, turning a panic (a bug: the core never panics on input) into a `RuntimeError`, so
/// that no `PanicException` (which escapes `except Exception`) reaches Python.
pub(crate) fn no_panic<T>(f: impl FnOnce() -> T) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| PyRuntimeError::new_err("cryptr_guard: internal error (please report it)"))
}
