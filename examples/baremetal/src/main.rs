//! The no_std proof of cryptr-guard-core, run on an emulated Cortex-M4.
//!
//! A bare-metal `thumbv7em-none-eabihf` image for QEMU's `mps2-an386` board (`rt.rs`: vector
//! table, reset code, a bump allocator, the stack paint, a timer, ARM semihosting). It parses a
//! JWKS, validates a 4096-bit RS256 token with the core and reads its `sub` and `scope` claims
//! into `heapless` strings (the core's `serde` feature), then prints, through semihosting:
//!
//! ```text
//! result: validated exp=1700003600 sub="user-1" scope="openid email read:orders"
//! heap: keys=… keys_live=… validation=… validation_peak=… capacity=65536
//! stack: used=… size=32768
//! timer: keys=… validation=… hz=25000000
//! ```
//!
//! - `result: error <code>` when the token is refused: the SPEC code, or `claims_mismatch` when
//!   the claims do not fit `AppClaims`.
//! - `heap`, in bytes: `keys` and `validation` are how far the bump allocator moved while the key
//!   set was parsed and while the token was validated and its claims read (it never frees, so
//!   these are sums of every allocation: the heap an arena would need); `keys_live` is what the
//!   key set keeps, `validation_peak` the most the validation had allocated at once on top of it
//!   (what a freeing allocator would need at least).
//! - `stack`: the deepest the stack went in the whole run, in bytes (the reset code paints the
//!   stack, `rt::stack_usage` finds the deepest word that lost the paint), and its reserved size.
//! - `timer`: ticks of the board's 25 MHz timer while the key set was parsed and while the token
//!   was validated. Under `qemu-system-arm -icount shift=0` a guest instruction takes 1 ns of
//!   virtual time, so a tick is 40 instructions.
//!
//! QEMU's semihosting command line (`-semihosting-config enable=on,target=native,arg=…`) picks
//! the test: none validates the token; `corrupt-signature` changes one character of its
//! signature (the answer must be `invalid_signature`); `expired` validates it a day after its
//! `exp` (`token_expired`). The exit status is 0 only when the token validated.
//! `scripts/baremetal.sh` builds the image, checks its flash, runs the three and checks the
//! answers and the budgets.
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

mod fixture;
mod rt;

use alloc::vec::Vec;
use cryptr_guard_core::{KeySet, Options, Validator};
use heapless::String;
use serde::Deserialize;

/// The claims read beyond the registered ones, into fixed-capacity strings (no allocation).
#[derive(Deserialize)]
struct AppClaims {
    sub: String<64>,
    scope: String<64>,
}

/// What a validation yields: the `exp` claim, and `sub` and `scope`.
struct Outcome {
    exp: i64,
    claims: AppClaims,
}

/// Validates `token` at `now`, then reads its claims; the error code if either fails.
fn validate(keys: &KeySet, token: &[u8], now: u64) -> Result<Outcome, &'static str> {
    let options = Options::new([fixture::ISSUER], [fixture::AUDIENCE]);
    let validator = Validator::new(options).map_err(|_| "invalid_options")?;
    let verified = validator.validate(token, keys, now).map_err(|e| e.code())?;
    let claims = verified
        .deserialize_claims::<AppClaims>()
        .map_err(|_| "claims_mismatch")?;
    let exp = verified.claims().exp.ok_or("missing_claim")?;
    Ok(Outcome { exp, claims })
}

/// The fixture's token with one character of its signature changed to another base64url one:
/// still well-formed, but no longer signed by the key.
fn corrupted_token() -> Vec<u8> {
    let mut token = fixture::TOKEN.to_vec();
    let signature = token
        .iter()
        .rposition(|&b| b == b'.')
        .map_or(0, |dot| dot + 1);
    if let Some(c) = token.get_mut(signature + 10) {
        *c = if *c == b'A' { b'B' } else { b'A' };
    }
    token
}

/// Does the command line hold `word`?
fn asks(command_line: &[u8], word: &[u8]) -> bool {
    command_line.windows(word.len()).any(|w| w == word)
}

/// Called by the reset code, on the painted stack.
extern "C" fn entry() -> ! {
    let mut buffer = [0u8; 64];
    let command_line = rt::command_line(&mut buffer);
    let mut token = alloc::borrow::Cow::Borrowed(fixture::TOKEN);
    let mut now = fixture::NOW;
    if asks(command_line, b"corrupt-signature") {
        token = alloc::borrow::Cow::Owned(corrupted_token());
    }
    if asks(command_line, b"expired") {
        now = fixture::NOW + 86_400 + 3_600;
    }

    let start = rt::heap();
    rt::timer_start();
    let keys = KeySet::from_jwks(fixture::JWKS);
    let ticks_keys = rt::timer_ticks();
    let after_keys = rt::heap();
    rt::heap_reset_peak();
    let outcome = keys
        .map_err(|e| e.code())
        .and_then(|keys| validate(&keys, &token, now));
    let ticks_validation = rt::timer_ticks() - ticks_keys;
    let end = rt::heap();
    // Read back the stack now, before printing (printing is shallow, but it is not the subject).
    let (stack_size, stack_used) = rt::stack_usage();

    match &outcome {
        Ok(Outcome { exp, claims }) => {
            rt::print(b"result: validated exp=");
            // A validated token's `exp` is after `now`, so positive.
            rt::print_u64(exp.unsigned_abs());
            rt::print(b" sub=\"");
            rt::print(claims.sub.as_bytes());
            rt::print(b"\" scope=\"");
            rt::print(claims.scope.as_bytes());
            rt::print(b"\"\n");
        }
        Err(code) => {
            rt::print(b"result: error ");
            rt::print(code.as_bytes());
            rt::print(b"\n");
        }
    }
    for (label, value) in [
        (&b"heap: keys="[..], after_keys.bump - start.bump),
        (b" keys_live=", after_keys.live - start.live),
        (b" validation=", end.bump - after_keys.bump),
        (b" validation_peak=", end.peak - after_keys.live),
        (b" capacity=", rt::HEAP_SIZE),
        (b"\nstack: used=", stack_used),
        (b" size=", stack_size),
        (b"\ntimer: keys=", ticks_keys as usize),
        (b" validation=", ticks_validation as usize),
        (b" hz=", rt::TIMER_HZ as usize),
    ] {
        rt::print(label);
        rt::print_u64(value as u64);
    }
    rt::print(b"\n");
    rt::exit(outcome.is_ok())
}
