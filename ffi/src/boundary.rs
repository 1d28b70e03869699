//! The panic boundary (as rustls-ffi's `ffi_panic_boundary!`): unwinding into C is undefined
//! behaviour, so every exported body runs inside [`catch_unwind`] and a caught panic becomes
//! `CG_PANIC` (or a neutral value for functions that return no status).

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::cg_status;

/// Runs `body`; a panic becomes `CG_PANIC`.
pub(crate) fn boundary(body: impl FnOnce() -> cg_status) -> cg_status {
    boundary_or(cg_status::CG_PANIC, body)
}

/// Runs `body`; a panic becomes `on_panic`.
///
/// `AssertUnwindSafe`: after a caught panic nothing half-updated is observed by C: handles are
/// either fully built and handed out or not at all, and the shared caches' state is left
/// consistent by every core method (their mutexes recover from poisoning).
pub(crate) fn boundary_or<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::panic)]
    fn a_panic_becomes_cg_panic() {
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let status = boundary(|| panic!("boom"));
        let value = boundary_or(7usize, || panic!("boom"));
        std::panic::set_hook(quiet);
        assert_eq!(status, cg_status::CG_PANIC);
        assert_eq!(value, 7);
        assert_eq!(boundary(|| cg_status::CG_OK), cg_status::CG_OK);
    }
}
