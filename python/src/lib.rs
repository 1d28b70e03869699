//! `cryptr_guard._native`: the PyO3 binding of `cryptr-guard-core`.
//!
//! Thin by design: every decision is the core's. The binding converts Python values
//! ([`convert`]), turns the core's refusals into Python exceptions in one place ([`errors`]),
//! releases the GIL around the RSA work and the waits, holds the memory of the caches the core's
//! policies drive, and runs the core guard's per-request loop ([`guard`]), calling back into
//! Python only for the HTTP of a JWKS fetch.
//!
//! No panic may reach Python (a `PanicException` escapes `except Exception`): the code never
//! unwraps, and every call into the core runs inside [`errors::no_panic`] as a second line of
//! defence.

use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::prelude::*;
use pyo3::types::PyTuple;

mod convert;
mod errors;
mod guard;
mod keyset;
mod pending;
mod validator;

/// The module's version (the crate's, which is also the Python distribution's).
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Locks `mutex`, through a poisoning: every critical section leaves the state consistent (the
/// core's steps are atomic from the caller's side), so a panic caught elsewhere must not make
/// every later request fail.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The SPEC §3 codes the core can return, in SPEC order (the host-only codes are Python's).
fn core_codes(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
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
    m.add(
        "SETTINGS",
        PyTuple::new(py, cryptr_guard_core::guard::SETTINGS)?,
    )?;
    m.add(
        "ALIASES",
        PyTuple::new(py, cryptr_guard_core::guard::ALIASES)?,
    )?;
    m.add_class::<keyset::PyKeySet>()?;
    m.add_class::<validator::PyValidator>()?;
    m.add_class::<validator::PyVerified>()?;
    m.add_class::<validator::PyTokenCache>()?;
    m.add_class::<guard::PyGuard>()?;
    m.add_class::<pending::PyPending>()?;
    m.add_class::<pending::PyFetchJob>()?;
    m.add_class::<errors::PyHttpAnswer>()?;
    m.add_function(wrap_pyfunction!(keyset::rs256_verify, m)?)?;
    m.add_function(wrap_pyfunction!(errors::http_answer, m)?)?;
    m.add_function(wrap_pyfunction!(errors::require_scopes, m)?)?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use pyo3::prelude::*;
    use pyo3::sync::PyOnceLock;

    /// Runs `f` in the embedded interpreter, where the package's pure Python modules
    /// (`cryptr_guard._errors`, `cryptr_guard._client`) are loaded from `python/cryptr_guard`
    /// without the package's `__init__` (which would load the built extension instead of the
    /// code under test). A Python error fails the test with its traceback.
    #[allow(clippy::panic)]
    pub(crate) fn python(f: impl FnOnce(Python<'_>) -> PyResult<()>) {
        Python::initialize();
        Python::attach(|py| {
            let setup = c"
import importlib.util, logging, sys, types
logging.getLogger('cryptr_guard').addHandler(logging.NullHandler())
package = types.ModuleType('cryptr_guard')
package.__path__ = [root + '/cryptr_guard']
sys.modules['cryptr_guard'] = package
for name in ('_errors', '_client'):
    spec = importlib.util.spec_from_file_location('cryptr_guard.' + name, root + '/cryptr_guard/' + name + '.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules['cryptr_guard.' + name] = module
";
            // Once per process, whichever test thread comes first; the others wait for it.
            static SETUP: PyOnceLock<()> = PyOnceLock::new();
            let run = || -> PyResult<()> {
                SETUP.get_or_try_init(py, || {
                    let globals = pyo3::types::PyDict::new(py);
                    globals.set_item("root", env!("CARGO_MANIFEST_DIR"))?;
                    py.run(setup, Some(&globals), None)
                })?;
                f(py)
            };
            if let Err(e) = run() {
                e.display(py);
                panic!("Python error: {e}");
            }
        });
    }
}
