//! `cg_verify_rs256_raw`: one RS256 signature check outside any token (SPEC §2 step 8 alone).

use cryptr_guard_core::verify_raw;

use crate::boundary::{boundary, bytes};
use crate::cg_status;

/// SPEC §2 step 8 alone: whether `(sig, sig_len)` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature
/// of `(msg, msg_len)` under the RSA key with base64 `n` and `e` as a JWK publishes them. Of the
/// key-usability rules only the arithmetic ones apply: `e` odd with `3 <= e < 2^32` (with `e = 1`
/// every message would "verify") and a modulus of 1024 to 8192 bits. `CG_OK` when it verifies,
/// `CG_INVALID_SIGNATURE` when it does not (whatever the reason, an unusable key included).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn cg_verify_rs256_raw(
    n: *const u8,
    n_len: usize,
    e: *const u8,
    e_len: usize,
    msg: *const u8,
    msg_len: usize,
    sig: *const u8,
    sig_len: usize,
) -> cg_status {
    boundary(|| {
        let (n, e) = (bytes(n, n_len)?, bytes(e, e_len)?);
        let (msg, sig) = (bytes(msg, msg_len)?, bytes(sig, sig_len)?);
        if verify_raw(n, e, msg, sig) {
            Ok(())
        } else {
            Err(cg_status::CG_INVALID_SIGNATURE)
        }
    })
}
