//! A quick, load-tolerant comparison of bare RS256 verification with a cached key: every kernel
//! of cryptr-guard-core that this CPU has (`Kernel::all`), aws-lc-rs and the `rsa` crate.
//! `cargo run --release --example compare [ROUNDS]` (or `bench/run.sh --quick [ROUNDS]`).
//!
//! Each round times one short batch of every candidate, in an order that rotates from round to
//! round, so that a slow spell of a busy machine hits them all alike. The report gives each
//! candidate's median and fastest batch (µs per verification) and the ratio of its median to
//! aws-lc-rs's.

use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use cryptr_guard_core::rs256::{Kernel, PublicKey};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{Keypair, SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;

#[path = "../benches/seeded_rng.rs"]
mod seeded_rng;

/// One implementation under test: a name, a batch size and the verification.
struct Candidate<'a> {
    name: String,
    batch: u32,
    verify: Box<dyn Fn() -> bool + 'a>,
    /// Seconds per verification, one entry per round.
    times: Vec<f64>,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(200, |r| r.parse().expect("ROUNDS is a number"));
    println!(
        "{rounds} rounds, µs per verification: median (fastest batch); ratio = median / aws-lc-rs median"
    );
    for bits in [2048usize, 3072, 4096] {
        let mut rng = seeded_rng::SeededRng(bits as u64);
        let sk = rsa::PrivateKey::new(&mut rng, bits).expect("key generation");
        let pk = sk.to_public_key();
        let signer = SigningKey::<Sha256>::new(sk);
        let msg: Vec<u8> = (0..600u32).map(|i| b'A' + (i % 26) as u8).collect();
        let sig = signer.sign(&msg).to_vec();
        let key = PublicKey::from_be_bytes(&pk.n_bytes(), &pk.e_bytes()).expect("key");
        let vk: VerifyingKey<Sha256> = signer.verifying_key();
        let rsa_sig = Signature::try_from(&sig[..]).expect("signature");
        let der = pk.to_pkcs1_der().expect("DER");
        let aws = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_bytes()).expect("key");
        let batch = (20 * 2048 * 2048 / (bits * bits)).max(2) as u32;

        let (msg, sig) = (&msg, &sig);
        let mut candidates: Vec<Candidate> = Vec::new();
        for &kernel in Kernel::all() {
            let Some(ours) = key.with_kernel(kernel) else {
                println!("{bits}: kernel {kernel:?} not available on this CPU");
                continue;
            };
            let chosen = if kernel == key.kernel() { ", chosen" } else { "" };
            candidates.push(Candidate {
                name: format!("cryptr-guard {kernel:?}{chosen}"),
                batch,
                verify: Box::new(move || ours.verify(black_box(msg), black_box(sig))),
                times: Vec::new(),
            });
        }
        candidates.push(Candidate {
            name: "aws-lc-rs".into(),
            batch,
            verify: Box::new(move || aws.verify_sig(black_box(msg), black_box(sig)).is_ok()),
            times: Vec::new(),
        });
        candidates.push(Candidate {
            name: "rsa".into(),
            batch: batch.div_ceil(4),
            verify: Box::new(move || vk.verify(black_box(msg), &rsa_sig).is_ok()),
            times: Vec::new(),
        });

        for c in &candidates {
            assert!((c.verify)(), "{}: the signature does not verify", c.name);
        }
        let count = candidates.len();
        for round in 0..rounds {
            for k in 0..count {
                let c = &mut candidates[(round + k) % count];
                let t = Instant::now();
                let mut ok = 0u32;
                for _ in 0..c.batch {
                    ok += u32::from((c.verify)());
                }
                c.times.push(t.elapsed().as_secs_f64() / f64::from(c.batch));
                assert_eq!(ok, c.batch, "{}: a verification failed", c.name);
            }
        }

        let aws_median = candidates
            .iter()
            .find(|c| c.name == "aws-lc-rs")
            .map(|c| median(&c.times))
            .expect("aws-lc-rs");
        for c in &candidates {
            let m = median(&c.times);
            let best = c.times.iter().copied().fold(f64::MAX, f64::min);
            println!(
                "{bits}: {:<36} {:>7.2} µs ({:>7.2})  ratio {:.3}",
                c.name,
                m * 1e6,
                best * 1e6,
                m / aws_median
            );
        }
    }
}
