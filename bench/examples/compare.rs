//! A quick, load-tolerant comparison: for each implementation, the fastest of many short
//! batches (a batch preempted by another process only loses). `cargo run --release --example
//! compare` (or `bench/run.sh --quick`).

use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use cryptr_guard_core::rs256::PublicKey;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{Keypair, SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;

#[path = "../benches/seeded_rng.rs"]
mod seeded_rng;

fn best_of(batch: u32, mut f: impl FnMut() -> bool) -> f64 {
    let mut best = f64::MAX;
    let mut ok = 0u32;
    for _ in 0..300 {
        let t = Instant::now();
        for _ in 0..batch {
            ok += u32::from(f());
        }
        best = best.min(t.elapsed().as_secs_f64() / f64::from(batch));
    }
    assert_eq!(ok, 300 * batch, "a verification failed");
    best * 1e6
}

fn main() {
    for bits in [2048usize, 3072, 4096] {
        let mut rng = seeded_rng::SeededRng(bits as u64);
        let sk = rsa::PrivateKey::new(&mut rng, bits).expect("key generation");
        let pk = sk.to_public_key();
        let signer = SigningKey::<Sha256>::new(sk);
        let msg: Vec<u8> = (0..600u32).map(|i| b'A' + (i % 26) as u8).collect();
        let sig = signer.sign(&msg).to_vec();
        let ours = PublicKey::from_be_bytes(&pk.n_bytes(), &pk.e_bytes()).expect("key");
        let portable = ours.clone().portable();
        let vk: VerifyingKey<Sha256> = signer.verifying_key();
        let rsa_sig = Signature::try_from(&sig[..]).expect("signature");
        let der = pk.to_pkcs1_der().expect("DER");
        let aws = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_bytes()).expect("key");
        let batch = (40 * 2048 * 2048 / (bits * bits)) as u32;
        let t_ours = best_of(batch, || ours.verify(black_box(&msg), black_box(&sig)));
        let t_portable = best_of(batch, || {
            portable.verify(black_box(&msg), black_box(&sig))
        });
        let t_aws = best_of(batch, || {
            aws.verify_sig(black_box(&msg), black_box(&sig)).is_ok()
        });
        let t_rsa = best_of(batch.div_ceil(3), || {
            vk.verify(black_box(&msg), &rsa_sig).is_ok()
        });
        println!(
            "{bits}: cryptr-guard {t_ours:.1} us ({:?}; portable {t_portable:.1} us), \
             aws-lc-rs {t_aws:.1} us, rsa {t_rsa:.1} us; ours/aws-lc = {:.2}, rsa/ours = {:.2}",
            ours.kernel(),
            t_ours / t_aws,
            t_rsa / t_ours
        );
    }
}
