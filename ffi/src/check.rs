//! `cg_check`: one request's way through a guard.

use cryptr_guard_core::guard::VerifyJob;
use cryptr_guard_core::{Check, Rejection, Verified};

use crate::boundary::{Out, boundary, bytes, free, handle, handle_mut};
use crate::{cg_http_answer, cg_status, cg_verified};

/// One request's check of a token by a guard: the token (copied) and how far it got. Created with
/// `cg_check_new`, moved on by `cg_guard_advance` until it answers `CG_ACTION_DONE`, then read with
/// `cg_check_result` / `cg_check_answer`; freed once with `cg_check_free`.
///
/// A check belongs to one request: use it from one thread at a time, always with the same guard.
/// `cg_check_verify` touches only the check (and immutable data it shares with the guard), so the
/// host runs it without holding its lock of the guard.
#[derive(Debug)]
pub struct cg_check {
    pub(crate) check: Check<Vec<u8>>,
    /// The verification asked by the last `CG_ACTION_VERIFY`, until `cg_check_verify` runs it.
    pub(crate) job: Option<VerifyJob>,
    /// The longest wait allowed by the last `CG_ACTION_WAIT`, in seconds.
    pub(crate) wait: u64,
    /// The answer, once `CG_ACTION_DONE`.
    pub(crate) result: Option<Result<Verified, Rejection>>,
}

/// A new check of the token `(token, token_len)` (the bytes after `Bearer `, e.g. from
/// `cg_bearer_token`; copied, so the buffer may be reused at once).
#[unsafe(no_mangle)]
pub extern "C" fn cg_check_new(
    token: *const u8,
    token_len: usize,
    out: *mut *mut cg_check,
) -> cg_status {
    boundary(|| {
        let out = Out::new(out)?;
        let token = bytes(token, token_len)?;
        out.give(cg_check {
            check: Check::new(token.to_vec()),
            job: None,
            wait: 0,
            result: None,
        });
        Ok(())
    })
}

/// Frees a check; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn cg_check_free(check: *mut cg_check) {
    boundary(|| free(check))
}

/// After `CG_ACTION_VERIFY`: verifies the token's signature and claims (SPEC §2 steps 7–15, the
/// RSA work), then the host advances the check again. Run it **without** the host's lock of the
/// guard: it touches only the check. `CG_OK` when the verification ran (its outcome, success or
/// not, is judged by the next `cg_guard_advance`); `CG_INVALID_ARGUMENT` when no verification is
/// pending.
#[unsafe(no_mangle)]
pub extern "C" fn cg_check_verify(check: *mut cg_check) -> cg_status {
    boundary(|| {
        let check = handle_mut(check)?;
        let job = check.job.take().ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        check.check.verify(job);
        Ok(())
    })
}

/// After `CG_ACTION_WAIT`: the longest the host waits, in seconds, for another request's fetch of
/// the same key set to be reported before it advances the check again (0 otherwise, and for
/// NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_check_wait_timeout(check: *const cg_check) -> u64 {
    boundary(|| handle(check).map_or(0, |c| c.wait))
}

/// The index of the configured issuer chosen for the token (SPEC §8 issuer hint), once known:
/// `CG_INVALID_ARGUMENT` before (and for a token refused before the choice).
#[unsafe(no_mangle)]
pub extern "C" fn cg_check_issuer(check: *const cg_check, index: *mut usize) -> cg_status {
    boundary(|| {
        let check = handle(check)?;
        let index = Out::new(index)?;
        let issuer = check.check.issuer().ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        index.write(issuer);
        Ok(())
    })
}

/// After `CG_ACTION_DONE`: the answer. `CG_OK` when the token is accepted, with a new
/// `cg_verified` in `*out` (claims and derived values; free it with `cg_verified_free`; the check
/// may be freed first). Otherwise the refusal's SPEC §3 status (`CG_TOKEN_EXPIRED`,
/// `CG_JWKS_UNAVAILABLE`, …; answer it with `cg_check_answer`) and `*out` untouched.
/// `CG_INVALID_ARGUMENT` when the check is not done.
#[unsafe(no_mangle)]
pub extern "C" fn cg_check_result(check: *const cg_check, out: *mut *mut cg_verified) -> cg_status {
    boundary(|| {
        let check = handle(check)?;
        let out = Out::new(out)?;
        match check
            .result
            .as_ref()
            .ok_or(cg_status::CG_INVALID_ARGUMENT)?
        {
            Ok(verified) => {
                out.give(cg_verified {
                    verified: verified.clone(),
                });
                Ok(())
            }
            Err(rejection) => Err(cg_status::from(rejection)),
        }
    })
}

/// After `CG_ACTION_DONE` with a refusal: its SPEC §3 HTTP answer, a new `cg_http_answer` in
/// `*out` (free it with `cg_http_answer_free`). `CG_INVALID_ARGUMENT` when the check is not done
/// or its token was accepted.
#[unsafe(no_mangle)]
pub extern "C" fn cg_check_answer(
    check: *const cg_check,
    out: *mut *mut cg_http_answer,
) -> cg_status {
    boundary(|| {
        let check = handle(check)?;
        let out = Out::new(out)?;
        match &check.result {
            Some(Err(rejection)) => {
                out.give(cg_http_answer::of(rejection));
                Ok(())
            }
            _ => Err(cg_status::CG_INVALID_ARGUMENT),
        }
    })
}
