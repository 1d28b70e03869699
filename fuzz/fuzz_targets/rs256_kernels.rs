//! Every RS256 kernel this build has and this CPU runs (`Kernel::all`: AVX-512 IFMA, BMI2 + ADX,
//! portable) against the portable one: a modulus, an exponent and a signature value from the
//! input, `s^e mod n` by each. They must agree on every input; none may panic.

#![no_main]

use cryptr_guard_core::rs256::{Kernel, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // [len: 2][e: 4][n: len][s: len], len in 64..=1024 octets (512 to 8192 bits).
    let Some((head, rest)) = data.split_first_chunk::<6>() else {
        return;
    };
    let len = 64 + usize::from(u16::from_be_bytes([head[0], head[1]])) % 961;
    let e = [head[2], head[3], head[4], head[5]];
    let Some(n) = rest.get(..len) else {
        return;
    };
    let mut n = n.to_vec();
    n[0] |= 0x80;
    n[len - 1] |= 1;
    let mut s = rest.get(len..).unwrap_or_default().to_vec();
    s.resize(len, 0);
    let Ok(key) = PublicKey::from_be_bytes(&n, &e) else {
        return;
    };
    let expected = key.clone().portable().public_op(&s);
    for &kernel in Kernel::all() {
        if let Some(other) = key.with_kernel(kernel) {
            assert_eq!(other.public_op(&s), expected, "{kernel:?}");
        }
    }
});
