//! The C boundary, shared by every object: the one panic boundary each exported body runs in
//! (as rustls-ffi's `ffi_panic_boundary!`), and the helpers that read C arguments and write C
//! outputs.
//!
//! Every exported function has the same shape, so the conventions of the header hold by
//! construction:
//!
//! ```text
//! pub extern "C" fn cg_thing_get(thing: *const cg_thing, out: *mut u64) -> cg_status {
//!     boundary(|| {
//!         let thing = handle(thing)?;   // CG_NULL_ARGUMENT for NULL
//!         let out = Out::new(out)?;     // every output checked before any work
//!         let value = thing.compute()?; // a failure returns before anything is written
//!         out.write(value);             // outputs written last, so only on CG_OK
//!         Ok(())
//!     })
//! }
//! ```

use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard};

use crate::cg_status;

/// What an exported function answers C: built from what its body returns, or chosen for a
/// panic. The function's return type picks the implementation, so `boundary` needs no argument
/// but the body.
pub(crate) trait Answer {
    /// What the body returns.
    type Body;
    /// The answer for a body that returned.
    fn from_body(body: Self::Body) -> Self;
    /// The answer for a body that panicked.
    fn on_panic() -> Self;
}

/// Fallible functions: the body returns `Result<(), cg_status>` so that `?` propagates the
/// first failure; `Ok(())` is `CG_OK`, a panic `CG_PANIC`.
impl Answer for cg_status {
    type Body = Result<(), cg_status>;

    fn from_body(body: Result<(), cg_status>) -> cg_status {
        match body {
            Ok(()) => cg_status::CG_OK,
            Err(status) => status,
        }
    }

    fn on_panic() -> cg_status {
        cg_status::CG_PANIC
    }
}

/// Counts (`_len`, `_retry_after`, `_generation`): after a panic 0, what they answer for NULL.
impl Answer for usize {
    type Body = usize;

    fn from_body(body: usize) -> usize {
        body
    }

    fn on_panic() -> usize {
        0
    }
}

/// As for `usize`.
impl Answer for u64 {
    type Body = u64;

    fn from_body(body: u64) -> u64 {
        body
    }

    fn on_panic() -> u64 {
        0
    }
}

/// HTTP statuses: after a panic 0, what they answer for NULL.
impl Answer for u16 {
    type Body = u16;

    fn from_body(body: u16) -> u16 {
        body
    }

    fn on_panic() -> u16 {
        0
    }
}

/// Predicates (`_is_ready`, `_is_background`): after a panic `false`, what they answer for NULL.
impl Answer for bool {
    type Body = bool;

    fn from_body(body: bool) -> bool {
        body
    }

    fn on_panic() -> bool {
        false
    }
}

/// `_free`: nothing to answer.
impl Answer for () {
    type Body = ();

    fn from_body(body: ()) {
        body
    }

    fn on_panic() {}
}

/// Static NUL-terminated strings: documented never NULL, so a panic answers a static string too,
/// `"unknown_status"` (what `cg_status_code` answers for a value it cannot name).
impl Answer for *const c_char {
    type Body = *const c_char;

    fn from_body(body: *const c_char) -> *const c_char {
        body
    }

    fn on_panic() -> *const c_char {
        crate::status::UNKNOWN_STATUS.as_ptr().cast()
    }
}

/// The panic boundary: runs an exported function's body and turns a panic into the answer
/// [`Answer::on_panic`] of the function's return type. Unwinding into C is undefined behaviour,
/// so every exported body runs in here.
///
/// `AssertUnwindSafe`: after a caught panic nothing half-updated is observed by C: handles are
/// either fully built and handed out or not at all, outputs are written last, and the shared
/// caches' state is left consistent by every core method (their mutexes recover from poisoning,
/// see [`lock`]).
pub(crate) fn boundary<A: Answer>(body: impl FnOnce() -> A::Body) -> A {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(body) => A::from_body(body),
        Err(_) => A::on_panic(),
    }
}

/// The bytes at `(ptr, len)`: `Err(CG_NULL_ARGUMENT)` for a NULL `ptr` with a non-zero `len`,
/// `Err(CG_INVALID_ARGUMENT)` for a length no object can have.
///
/// The caller of the exported function promises that a non-NULL `ptr` points to `len` readable
/// bytes that stay unchanged for the duration of the call.
pub(crate) fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], cg_status> {
    array(ptr, len)
}

/// The C array of `count` elements at `ptr`, as [`bytes`] (NULL only with `count == 0`).
///
/// The caller of the exported function promises that a non-NULL `ptr` points to `count` readable,
/// initialized and aligned elements that stay unchanged for the duration of the call.
pub(crate) fn array<'a, T>(ptr: *const T, count: usize) -> Result<&'a [T], cg_status> {
    if ptr.is_null() {
        return if count == 0 {
            Ok(&[])
        } else {
            Err(cg_status::CG_NULL_ARGUMENT)
        };
    }
    let size = count.checked_mul(std::mem::size_of::<T>());
    if size.is_none_or(|size| size > isize::MAX as usize) {
        return Err(cg_status::CG_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, at most `isize::MAX` bytes, and the caller's contract above.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// As [`bytes`], for UTF-8 text: `Err(CG_INVALID_ARGUMENT)` when it is not.
pub(crate) fn text<'a>(ptr: *const u8, len: usize) -> Result<&'a str, cg_status> {
    let bytes: &'a [u8] = bytes(ptr, len)?;
    std::str::from_utf8(bytes).map_err(|_| cg_status::CG_INVALID_ARGUMENT)
}

/// As [`bytes`], where NULL with length 0 means "none" (an optional argument) and a non-NULL
/// pointer with length 0 the empty value.
pub(crate) fn optional_bytes<'a>(
    ptr: *const u8,
    len: usize,
) -> Result<Option<&'a [u8]>, cg_status> {
    if ptr.is_null() && len == 0 {
        Ok(None)
    } else {
        bytes(ptr, len).map(Some)
    }
}

/// As [`optional_bytes`], for UTF-8 text.
pub(crate) fn optional_text<'a>(ptr: *const u8, len: usize) -> Result<Option<&'a str>, cg_status> {
    if ptr.is_null() && len == 0 {
        Ok(None)
    } else {
        text(ptr, len).map(Some)
    }
}

/// A shared reference to the object behind a handle, or `CG_NULL_ARGUMENT`.
pub(crate) fn handle<'a, T>(ptr: *const T) -> Result<&'a T, cg_status> {
    // SAFETY: a non-NULL handle was produced by this library (`Box::into_raw`) and not freed:
    // the caller's contract for every handle argument.
    unsafe { ptr.as_ref() }.ok_or(cg_status::CG_NULL_ARGUMENT)
}

/// An exclusive reference to the object behind a handle, or `CG_NULL_ARGUMENT`.
pub(crate) fn handle_mut<'a, T>(ptr: *mut T) -> Result<&'a mut T, cg_status> {
    // SAFETY: as `handle`, and the caller does not use the handle from another thread meanwhile
    // (the types passed here are documented as not shareable while being modified).
    unsafe { ptr.as_mut() }.ok_or(cg_status::CG_NULL_ARGUMENT)
}

/// Frees an object handed to C by [`Out::give`]; NULL is a no-op.
pub(crate) fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: `ptr` came from `Box::into_raw` in `Out::give` and is freed once (caller's
        // contract).
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// An output argument, checked non-NULL when the body starts (before any work, so a NULL output
/// is `CG_NULL_ARGUMENT` whatever else is wrong) and written at most once: `write` and `give`
/// take it by value. Bodies write their outputs last, so C sees them only on `CG_OK`.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// `Err(CG_NULL_ARGUMENT)` for NULL.
    pub(crate) fn new(ptr: *mut T) -> Result<Out<T>, cg_status> {
        NonNull::new(ptr)
            .map(Out)
            .ok_or(cg_status::CG_NULL_ARGUMENT)
    }

    pub(crate) fn write(self, value: T) {
        // SAFETY: non-NULL (checked in `new`) and, per the caller's contract, pointing to
        // writable, aligned storage for a `T`.
        unsafe { self.0.as_ptr().write(value) }
    }
}

impl<T> Out<*mut T> {
    /// Hands a new object to C: the caller owns it and frees it with the object's `_free`
    /// ([`free`]).
    pub(crate) fn give(self, value: T) {
        self.write(Box::into_raw(Box::new(value)));
    }
}

/// `(ptr, len)` for borrowed bytes that C reads: never a dangling pointer, even when empty.
pub(crate) fn expose(bytes: &[u8], ptr: Out<*const u8>, len: Out<usize>) {
    static EMPTY: [u8; 1] = [0];
    let p = if bytes.is_empty() {
        EMPTY.as_ptr()
    } else {
        bytes.as_ptr()
    };
    ptr.write(p);
    len.write(bytes.len());
}

/// Like [`expose`], for an optional string: `*ptr = NULL`, `*len = 0` when absent.
pub(crate) fn expose_opt(value: Option<&str>, ptr: Out<*const u8>, len: Out<usize>) {
    match value {
        Some(s) => expose(s.as_bytes(), ptr, len),
        None => {
            ptr.write(std::ptr::null());
            len.write(0);
        }
    }
}

/// Owned text a C host may read as `(ptr, len)` ([`expose`] of [`CText::text`]) or as a
/// NUL-terminated string: the NUL follows the text in memory.
#[derive(Debug)]
pub(crate) struct CText(Vec<u8>);

impl CText {
    pub(crate) fn new(text: &str) -> CText {
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(0);
        CText(bytes)
    }

    /// The text without its NUL.
    pub(crate) fn text(&self) -> &[u8] {
        self.0.split_last().map_or(&[], |(_, text)| text)
    }
}

/// Writes `text` into the caller's buffer `(buf, len)` as `snprintf` does: at most `len - 1`
/// bytes of it (cut at a UTF-8 boundary) and a NUL; nothing when `buf` is NULL or `len` is 0.
/// Returns the length of the whole text, so a caller can tell that it was cut.
pub(crate) fn write_text(text: &str, buf: *mut c_char, len: usize) -> usize {
    if buf.is_null() || len == 0 {
        return text.len();
    }
    let mut n = text.len().min(len - 1);
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: `buf` is non-NULL and the caller promises `len` writable bytes; we write
    // `n + 1 <= len` of them.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    text.len()
}

/// Locks an object's mutex, recovering from poisoning.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held was caught at the boundary; the policy's state is still
    // consistent (every method leaves it so), so carry on rather than fail forever.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    #[test]
    #[allow(clippy::panic)]
    fn a_panic_becomes_the_answer_of_the_return_type() {
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let status: cg_status = boundary(|| panic!("boom"));
        let len: usize = boundary(|| panic!("boom"));
        let count: u64 = boundary(|| panic!("boom"));
        let http: u16 = boundary(|| panic!("boom"));
        let ready: bool = boundary(|| panic!("boom"));
        let text: *const c_char = boundary(|| panic!("boom"));
        boundary::<()>(|| panic!("boom"));
        std::panic::set_hook(quiet);
        assert_eq!(status, cg_status::CG_PANIC);
        assert_eq!((len, count, http, ready), (0, 0, 0, false));
        // SAFETY: `on_panic` answers a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(text) };
        assert_eq!(text.to_bytes(), b"unknown_status");
    }

    #[test]
    fn a_body_answers_its_result() {
        assert_eq!(boundary::<cg_status>(|| Ok(())), cg_status::CG_OK);
        assert_eq!(
            boundary::<cg_status>(|| Err(cg_status::CG_INVALID_ARGUMENT)),
            cg_status::CG_INVALID_ARGUMENT
        );
        assert_eq!(boundary::<usize>(|| 7), 7);
    }

    #[test]
    fn a_null_output_is_refused_and_a_valid_one_written() {
        assert_eq!(
            Out::<u64>::new(std::ptr::null_mut()).err(),
            Some(cg_status::CG_NULL_ARGUMENT)
        );
        let mut value = 0u64;
        let out = Out::new(&raw mut value);
        assert!(out.is_ok());
        if let Ok(out) = out {
            out.write(42);
        }
        assert_eq!(value, 42);
    }
}
