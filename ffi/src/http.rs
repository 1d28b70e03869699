//! `cg_http_answer`: what a host answers over HTTP for a refused request (SPEC §3 "HTTP mapping"),
//! and `cg_bearer_token`, the `Authorization: Bearer` rule. Both are the core's, so a C host
//! answers every request as the Flask integration and the server do, without a table of its own.

use std::ffi::c_int;

use cryptr_guard_core::{Error, HttpAnswer, Rejection, bearer_token};

use crate::boundary::{CText, Out, array, boundary, bytes, expose, free, handle};
use crate::cg_status;

/// The HTTP answer to a refused request (SPEC §3): the status (401 or 503), the body's
/// tutorial-compatible `code` and fine `error`, the `description`, the `WWW-Authenticate` value
/// (on every 401), the `Retry-After` value (on every 503) and the JSON body
/// `{"code":…,"description":…,"error":…}`. Immutable; freed once with `cg_http_answer_free`.
///
/// Its strings are borrowed until `cg_http_answer_free`; each is also NUL-terminated (the NUL
/// follows the `len` bytes), so it may be printed with `%s` or passed to an HTTP library as is.
#[derive(Debug)]
pub struct cg_http_answer {
    status: u16,
    code: CText,
    error: CText,
    description: CText,
    www_authenticate: Option<CText>,
    retry_after: u64,
    body: CText,
}

impl cg_http_answer {
    pub(crate) fn of(rejection: &Rejection) -> cg_http_answer {
        let answer: HttpAnswer = rejection.answer();
        cg_http_answer {
            status: answer.status,
            code: CText::new(answer.code),
            error: CText::new(answer.error),
            description: CText::new(answer.description),
            www_authenticate: answer.www_authenticate.as_deref().map(CText::new),
            retry_after: answer.retry_after.unwrap_or(0),
            body: CText::new(&answer.body()),
        }
    }
}

/// The refusal a status stands for: the host codes, the validation codes, `jwks_unavailable`
/// and `invalid_jwks` (both 503, with `retry_after` seconds, at least 1). `None` for `CG_OK` and
/// the C-only values.
fn rejection_of(status: cg_status, retry_after: u64) -> Option<Rejection> {
    match status {
        cg_status::CG_AUTHORIZATION_HEADER_MISSING => Some(Rejection::MissingHeader),
        cg_status::CG_INVALID_HEADER => Some(Rejection::InvalidHeader),
        other => {
            let kind = other.kind()?;
            Some(match Rejection::from(Error::from(kind)) {
                Rejection::Unavailable { detail, .. } => Rejection::Unavailable {
                    retry_after: retry_after.max(1),
                    detail,
                },
                rejection => rejection,
            })
        }
    }
}

/// The HTTP answer for a refusal with status `status` (any SPEC §3 code: `CG_MALFORMED_TOKEN` …
/// `CG_INVALID_HEADER`), for a host that validates without the guard (a guard's check gives its
/// own with `cg_check_answer`). `retry_after` is the `Retry-After` of a 503 (`CG_JWKS_UNAVAILABLE`,
/// `CG_INVALID_JWKS`; at least 1 is sent, e.g. `cg_keyset_cache_retry_after`), ignored otherwise.
/// A new answer in `*out` (free it with `cg_http_answer_free`). `CG_INVALID_ARGUMENT` for `CG_OK`,
/// the C-only values and any other number: they are no refusal of a request.
#[unsafe(no_mangle)]
pub extern "C" fn cg_http_answer_for_status(
    status: c_int,
    retry_after: u64,
    out: *mut *mut cg_http_answer,
) -> cg_status {
    boundary(|| {
        let out = Out::new(out)?;
        let rejection = cg_status::from_int(status)
            .and_then(|status| rejection_of(status, retry_after))
            .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        out.give(cg_http_answer::of(&rejection));
        Ok(())
    })
}

/// Frees an HTTP answer; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_http_answer_free(answer: *mut cg_http_answer) {
    boundary(|| free(answer))
}

/// The HTTP status: 401 or 503 (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_http_answer_status(answer: *const cg_http_answer) -> u16 {
    boundary(|| handle(answer).map_or(0, |a| a.status))
}

/// The `Retry-After` value in seconds, at least 1, on every 503; 0 when the answer has none
/// (every 401, and NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_http_answer_retry_after(answer: *const cg_http_answer) -> u64 {
    boundary(|| handle(answer).map_or(0, |a| a.retry_after))
}

/// The body of the string accessors.
fn string_field(
    answer: *const cg_http_answer,
    ptr: *mut *const u8,
    len: *mut usize,
    get: impl FnOnce(&cg_http_answer) -> Option<&CText>,
) -> Result<(), cg_status> {
    let answer = handle(answer)?;
    let ptr = Out::new(ptr)?;
    let len = Out::new(len)?;
    match get(answer) {
        Some(text) => expose(text.text(), ptr, len),
        None => {
            ptr.write(std::ptr::null());
            len.write(0);
        }
    }
    Ok(())
}

/// The body's `code`, as the Flask tutorial answered it (`"invalid_header"`, `"no_rsa_key"`,
/// `"token_expired"`, `"invalid_claims"`, `"authorization_header_missing"`,
/// `"jwks_unavailable"`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_http_answer_code(
    answer: *const cg_http_answer,
    code: *mut *const u8,
    code_len: *mut usize,
) -> cg_status {
    boundary(|| string_field(answer, code, code_len, |a| Some(&a.code)))
}

/// The body's `error`: the fine SPEC §3 code (`"invalid_signature"`, …).
#[unsafe(no_mangle)]
pub extern "C" fn cg_http_answer_error(
    answer: *const cg_http_answer,
    error: *mut *const u8,
    error_len: *mut usize,
) -> cg_status {
    boundary(|| string_field(answer, error, error_len, |a| Some(&a.error)))
}

/// The body's `description` (human text; never token or key material).
#[unsafe(no_mangle)]
pub extern "C" fn cg_http_answer_description(
    answer: *const cg_http_answer,
    description: *mut *const u8,
    description_len: *mut usize,
) -> cg_status {
    boundary(|| {
        string_field(answer, description, description_len, |a| {
            Some(&a.description)
        })
    })
}

/// The `WWW-Authenticate` header value (RFC 6750), on every 401: `Bearer` for a missing header,
/// else `Bearer error="invalid_token", error_description="…"`. `*value = NULL`, `*value_len = 0`
/// when the answer sends none (a 503).
#[unsafe(no_mangle)]
pub extern "C" fn cg_http_answer_www_authenticate(
    answer: *const cg_http_answer,
    value: *mut *const u8,
    value_len: *mut usize,
) -> cg_status {
    boundary(|| string_field(answer, value, value_len, |a| a.www_authenticate.as_ref()))
}

/// The JSON body: `{"code":…,"description":…,"error":…}` (send it as `application/json`).
#[unsafe(no_mangle)]
pub extern "C" fn cg_http_answer_body(
    answer: *const cg_http_answer,
    body: *mut *const u8,
    body_len: *mut usize,
) -> cg_status {
    boundary(|| string_field(answer, body, body_len, |a| Some(&a.body)))
}

/// The token of a request's `Authorization` header values, by the one rule every host shares:
/// `values[i]` (`lens[i]` bytes) is the i-th `Authorization` header of the request, in the order
/// received, `count` of them (0, with NULL arrays, for none).
///
/// - no header, or one whose value is empty or only spaces: `CG_AUTHORIZATION_HEADER_MISSING`;
/// - more than one header: `CG_INVALID_HEADER`;
/// - otherwise the value must be the scheme `Bearer` (ASCII-case-insensitive) and exactly one
///   token, separated by ASCII spaces (0x20) only, leading and trailing spaces allowed (a tab or a
///   no-break space is part of a word: `Bearer\xa0t` is `CG_INVALID_HEADER`).
///
/// On `CG_OK`, `(*token, *token_len)` is the token, borrowed from `values` (not NUL-terminated).
/// For the refusal's HTTP answer: `cg_http_answer_for_status(status, 0, &answer)`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_bearer_token(
    values: *const *const u8,
    lens: *const usize,
    count: usize,
    token: *mut *const u8,
    token_len: *mut usize,
) -> cg_status {
    boundary(|| {
        let values = array(values, count)?;
        let lens = array(lens, count)?;
        let token = Out::new(token)?;
        let token_len = Out::new(token_len)?;
        let headers = values
            .iter()
            .zip(lens)
            .map(|(&value, &len)| bytes(value, len))
            .collect::<Result<Vec<&[u8]>, cg_status>>()?;
        let found = bearer_token(headers).map_err(|rejection| cg_status::from(&rejection))?;
        expose(found, token, token_len);
        Ok(())
    })
}
