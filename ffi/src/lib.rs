//! The C ABI of cryptr-guard: a thin layer over `cryptr-guard-core`.
//!
//! Every decision is the core's; this crate only moves bytes across the boundary and maps each
//! core error 1:1 to a [`cg_status`]. The header `include/cryptr_guard.h` is generated from this
//! crate by a pinned cbindgen (see `ffi/regen-header.sh`) and committed.
//!
//! Conventions (as rustls-ffi): opaque handles with `_new`/`_free` pairs (`_free(NULL)` is a
//! no-op), buffers as `(const uint8_t *ptr, size_t len)` (a NULL `ptr` is accepted only with
//! `len == 0`), inputs first and outputs last, outputs written only when the call answers
//! `CG_OK`, and every exported body inside a panic boundary.
// Exported functions take raw pointers from C and check them for NULL themselves; they are
// `extern "C"` entry points, not Rust API, so marking each one `unsafe` would only move that
// check to the caller's side of the boundary, where C cannot see it.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![allow(non_camel_case_types)]

// One file per C object, as rustls-ffi's `librustls/src/`; `boundary` holds what they share (the
// panic boundary, argument and output helpers). A new object gets a new file with its handle
// type and functions, declared after the objects it uses, and a `pub use` line below.
//
// cbindgen emits functions and constants module by module in declaration order, so this order is
// the header's: reordering the declarations reorders include/cryptr_guard.h. Blank lines keep
// rustfmt from sorting them.
mod boundary;

mod status;

mod keyset;

mod options;

mod validator;

mod verified;

mod raw;

mod token_cache;

mod keyset_cache;

mod http;

mod fetch;

mod check;

mod guard;

pub use check::*;
pub use fetch::*;
pub use guard::*;
pub use http::*;
pub use keyset::*;
pub use keyset_cache::*;
pub use options::*;
pub use raw::*;
pub use status::*;
pub use token_cache::*;
pub use validator::*;
pub use verified::*;
