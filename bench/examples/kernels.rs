//! The RSA public operation of every kernel this CPU has, without key generation or other
//! libraries: for comparing kernel variants while developing.
//!
//! `kernels [ROUNDS] [BITS...]` times each kernel on a fixed pseudo-random modulus per size
//! (`verify_digest` of a pseudo-random `s < n`: the exponentiation runs in full, the encoding
//! check fails), interleaving the kernels round by round, and prints medians.
//!
//! `kernels --count KERNEL BITS ITERATIONS` runs one kernel ITERATIONS times and nothing else,
//! for `valgrind --tool=callgrind` (the instruction count of two runs with different
//! ITERATIONS, divided by their difference, is the count of one verification). Valgrind reports
//! no ADX in CPUID, so under it only the portable kernel is available.

use std::hint::black_box;
use std::time::Instant;

use cryptr_guard_core::rs256::{Kernel, PublicKey};

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A key of `bits` bits with `e = 65537` and a signature value below its modulus.
fn fixture(bits: usize) -> (PublicKey, Vec<u8>) {
    let mut rng = Rng(bits as u64);
    let len = bits.div_ceil(8);
    let mut n: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    n[0] |= 0x80 >> (8 * len - bits);
    n[0] &= 0xff >> (8 * len - bits);
    n[len - 1] |= 1;
    let mut s: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    s[0] = n[0] >> 1;
    let key = PublicKey::from_be_bytes(&n, &[1, 0, 1]).expect("key");
    (key, s)
}

fn kernel_named(name: &str) -> Kernel {
    *Kernel::all()
        .iter()
        .find(|k| format!("{k:?}") == name)
        .unwrap_or_else(|| panic!("no kernel {name} in {:?}", Kernel::all()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--count") {
        let kernel = kernel_named(&args[1]);
        let bits: usize = args[2].parse().expect("BITS");
        let iterations: u32 = args[3].parse().expect("ITERATIONS");
        let (key, s) = fixture(bits);
        let key = key.with_kernel(kernel).expect("kernel not available");
        let digest = [0u8; 32];
        for _ in 0..iterations {
            black_box(key.verify_digest(black_box(&digest), black_box(&s)));
        }
        return;
    }
    let rounds: usize = args.first().map_or(300, |r| r.parse().expect("ROUNDS"));
    let sizes: Vec<usize> = if args.len() > 1 {
        args[1..].iter().map(|b| b.parse().expect("BITS")).collect()
    } else {
        vec![2048, 3072, 4096]
    };
    for bits in sizes {
        let (key, s) = fixture(bits);
        let keys: Vec<PublicKey> = Kernel::all()
            .iter()
            .filter_map(|&k| key.with_kernel(k))
            .collect();
        let batch = (20 * 2048 * 2048 / (bits * bits)).max(2);
        let digest = [0u8; 32];
        let mut times = vec![Vec::new(); keys.len()];
        for round in 0..rounds {
            for i in 0..keys.len() {
                let i = (round + i) % keys.len();
                let t = Instant::now();
                for _ in 0..batch {
                    black_box(keys[i].verify_digest(black_box(&digest), black_box(&s)));
                }
                times[i].push(t.elapsed().as_secs_f64() * 1e6 / batch as f64);
            }
        }
        for (key, t) in keys.iter().zip(&mut times) {
            t.sort_by(f64::total_cmp);
            println!(
                "{bits}: {:<12} median {:>7.2} µs, fastest {:>7.2} µs",
                format!("{:?}", key.kernel()),
                t[t.len() / 2],
                t[0]
            );
        }
    }
}
