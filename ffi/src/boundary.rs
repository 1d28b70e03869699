//! The panic boundary (as rustls-ffi's `ffi_panic_boundary!`): unwinding into C is undefined
//! behaviour, so every exported body runs inside [`catch_unwind`] and a caught panic becomes
//! `CG_PANIC` (or a neutral value for functions that return no status).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard};

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

/// The bytes at `(ptr, len)`: `Err(CG_NULL_ARGUMENT)` for a NULL `ptr` with a non-zero `len`,
/// `Err(CG_INVALID_ARGUMENT)` for a length no object can have.
///
/// The caller of the exported function promises that a non-NULL `ptr` points to `len` readable
/// bytes that stay unchanged for the duration of the call.
pub(crate) fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], cg_status> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(cg_status::CG_NULL_ARGUMENT)
        };
    }
    if len > isize::MAX as usize {
        return Err(cg_status::CG_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, `len <= isize::MAX`, and the caller's contract above.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

pub(crate) fn text<'a>(ptr: *const u8, len: usize) -> Result<&'a str, cg_status> {
    let bytes: &'a [u8] = bytes(ptr, len)?;
    std::str::from_utf8(bytes).map_err(|_| cg_status::CG_INVALID_ARGUMENT)
}

/// A shared reference to the object behind a handle, or `CG_NULL_ARGUMENT`.
pub(crate) fn handle<'a, T>(ptr: *const T) -> Result<&'a T, cg_status> {
    // SAFETY: a non-NULL handle was produced by this library (`Box::into_raw`) and not freed:
    // the caller's contract for every handle argument.
    unsafe { ptr.as_ref() }.ok_or(cg_status::CG_NULL_ARGUMENT)
}

pub(crate) fn handle_mut<'a, T>(ptr: *mut T) -> Result<&'a mut T, cg_status> {
    // SAFETY: as `handle`, and the caller does not use the handle from another thread meanwhile
    // (the types passed here are documented as not shareable while being modified).
    unsafe { ptr.as_mut() }.ok_or(cg_status::CG_NULL_ARGUMENT)
}

/// Writes `value` through `out` (checked non-NULL by the caller of this helper).
pub(crate) fn put<T>(out: *mut T, value: T) {
    // SAFETY: `out` is non-NULL (checked before any work) and points to writable storage for a
    // `T`, per the caller's contract.
    unsafe { out.write(value) }
}

/// Hands a new object to C.
pub(crate) fn give<T>(out: *mut *mut T, value: T) {
    put(out, Box::into_raw(Box::new(value)));
}

/// Frees an object handed to C by [`give`]; NULL is a no-op.
pub(crate) fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: `ptr` came from `Box::into_raw` in `give` and is freed once (caller's contract).
        drop(unsafe { Box::from_raw(ptr) });
    }
}

pub(crate) fn non_null<T>(ptr: *const T) -> Result<(), cg_status> {
    if ptr.is_null() {
        Err(cg_status::CG_NULL_ARGUMENT)
    } else {
        Ok(())
    }
}

/// `(ptr, len)` for borrowed bytes that C reads: never a dangling pointer, even when empty.
pub(crate) fn expose(bytes: &[u8], ptr: *mut *const u8, len: *mut usize) {
    static EMPTY: [u8; 1] = [0];
    let p = if bytes.is_empty() {
        EMPTY.as_ptr()
    } else {
        bytes.as_ptr()
    };
    put(ptr, p);
    put(len, bytes.len());
}

/// Like [`expose`], for an optional string: `*ptr = NULL`, `*len = 0` when absent.
pub(crate) fn expose_opt(value: Option<&str>, ptr: *mut *const u8, len: *mut usize) {
    match value {
        Some(s) => expose(s.as_bytes(), ptr, len),
        None => {
            put(ptr, std::ptr::null());
            put(len, 0);
        }
    }
}

pub(crate) fn status_of(result: Result<(), cg_status>) -> cg_status {
    match result {
        Ok(()) => cg_status::CG_OK,
        Err(status) => status,
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held was caught at the boundary; the policy's state is still
    // consistent (every method leaves it so), so carry on rather than fail forever.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
