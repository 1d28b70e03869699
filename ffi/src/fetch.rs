//! `cg_fetch`: a fetch a guard asks its host to run (a key set, or an issuer's OpenID
//! configuration).

use std::ffi::c_char;

use cryptr_guard_core::guard::{Fetch, FetchKind};
use cryptr_guard_core::keyset_cache::FetchReason;

use crate::boundary::{CText, Out, boundary, expose, free, handle};
use crate::cg_status;

/// A fetch the guard asks the host to run (from `cg_guard_advance` or `cg_guard_due_fetches`): a
/// key set, or an issuer's OpenID configuration (`cg_fetch_kind`, for logs and metrics; the host
/// runs both the same way): an HTTP `GET` of `cg_fetch_url` without redirects, given up after
/// `cg_fetch_timeout` seconds from its start (connection to last byte), reading at most
/// `cg_fetch_max_bytes` of body. Report what came of it with `cg_guard_fetch_done` or
/// `cg_guard_fetch_failed`, which consume the fetch: until then the issuer counts as fetching,
/// and no other fetch of it starts (a fetch never reported is abandoned after 30 s).
///
/// Its accessors only read the fetch: the HTTP exchange may run outside the host's lock of the
/// guard, on any thread.
#[derive(Debug)]
pub struct cg_fetch {
    pub(crate) fetch: Fetch,
    url: CText,
}

impl cg_fetch {
    pub(crate) fn new(fetch: Fetch) -> cg_fetch {
        let url = CText::new(fetch.url());
        cg_fetch { fetch, url }
    }
}

/// Frees a fetch without reporting it (at shutdown, say); NULL is a no-op. A fetch that was run
/// is reported with `cg_guard_fetch_done` or `cg_guard_fetch_failed` instead, which free it.
#[unsafe(no_mangle)]
pub extern "C" fn cg_fetch_free(fetch: *mut cg_fetch) {
    boundary(|| free(fetch))
}

/// The URL to fetch (borrowed until the fetch is consumed or freed), NUL-terminated as well:
/// `*url` may be handed to an HTTP client as a C string.
#[unsafe(no_mangle)]
pub extern "C" fn cg_fetch_url(
    fetch: *const cg_fetch,
    url: *mut *const u8,
    url_len: *mut usize,
) -> cg_status {
    boundary(|| {
        let fetch = handle(fetch)?;
        let url = Out::new(url)?;
        let url_len = Out::new(url_len)?;
        expose(fetch.url.text(), url, url_len);
        Ok(())
    })
}

/// The hard deadline of the whole fetch, in seconds from its start (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_fetch_timeout(fetch: *const cg_fetch) -> u64 {
    boundary(|| handle(fetch).map_or(0, |f| f.fetch.timeout()))
}

/// The largest body to read, in bytes: a longer one is reported as
/// `CG_FETCH_FAILURE_TOO_LARGE` (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_fetch_max_bytes(fetch: *const cg_fetch) -> usize {
    boundary(|| handle(fetch).map_or(0, |f| f.fetch.max_bytes()))
}

/// Whether this is a refresh of a key set that is still in use: the host may run it in the
/// background and advance the request's check at once (or run it inline). False for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn cg_fetch_is_background(fetch: *const cg_fetch) -> bool {
    boundary(|| handle(fetch).is_ok_and(|f| f.fetch.is_background()))
}

/// The index of the issuer whose key set this is (as `cg_guard_issuer_name`; 0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_fetch_issuer(fetch: *const cg_fetch) -> usize {
    boundary(|| handle(fetch).map_or(0, |f| f.fetch.issuer()))
}

/// What it fetches, for logs and metrics: `"key_set"` (a JWKS) or `"discovery"` (an issuer's
/// OpenID configuration, for the URL of its key set). The host runs and reports both the same
/// way. A static NUL-terminated string; `"unknown"` for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn cg_fetch_kind(fetch: *const cg_fetch) -> *const c_char {
    boundary(|| {
        let kind: &'static [u8] = match handle(fetch).map(|f| f.fetch.kind()) {
            Ok(FetchKind::KeySet) => b"key_set\0",
            Ok(FetchKind::Discovery) => b"discovery\0",
            Err(_) => b"unknown\0",
        };
        kind.as_ptr().cast()
    })
}

/// Why the guard asks for it, for logs: `"no_usable_set"` (never fetched, every fetch failed, or
/// the set is past its grace), `"stale"` (a refresh) or `"unknown_key"` (a token named a key the
/// set lacks). A static NUL-terminated string; `"unknown"` for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn cg_fetch_reason(fetch: *const cg_fetch) -> *const c_char {
    boundary(|| {
        let reason: &'static [u8] = match handle(fetch).map(|f| f.fetch.reason()) {
            Ok(FetchReason::NoUsableSet) => b"no_usable_set\0",
            Ok(FetchReason::Stale) => b"stale\0",
            Ok(FetchReason::UnknownKey) => b"unknown_key\0",
            Err(_) => b"unknown\0",
        };
        reason.as_ptr().cast()
    })
}
