//! RS256 verification with a cached key: cryptr-guard-core vs the `rsa` crate vs aws-lc-rs.
//!
//! Keys are generated deterministically (a fixed-seed generator) so that every run measures the
//! same moduli. Run with `bench/run.sh` (pinned to one core).

use std::hint::black_box;

use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use cryptr_guard_core::rs256::PublicKey;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{Keypair, SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;

#[path = "seeded_rng.rs"]
mod seeded_rng;
use seeded_rng::SeededRng;

struct Fixture {
    bits: usize,
    n: Vec<u8>,
    e: Vec<u8>,
    pkcs1_der: Vec<u8>,
    msg: Vec<u8>,
    sig: Vec<u8>,
    rsa_vk: VerifyingKey<Sha256>,
}

fn fixture(bits: usize) -> Fixture {
    let mut rng = SeededRng(bits as u64);
    let sk = rsa::PrivateKey::new(&mut rng, bits).expect("key generation");
    let pk = sk.to_public_key();
    let signer = SigningKey::<Sha256>::new(sk);
    // A typical access token's signing input is a few hundred bytes.
    let msg: Vec<u8> = (0..600u32).map(|i| b'A' + (i % 26) as u8).collect();
    let sig = signer.sign(&msg).to_vec();
    Fixture {
        bits,
        n: pk.n_bytes().to_vec(),
        e: pk.e_bytes().to_vec(),
        pkcs1_der: pk.to_pkcs1_der().expect("DER").as_bytes().to_vec(),
        msg,
        sig,
        rsa_vk: signer.verifying_key(),
    }
}

fn bench_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("rs256_verify");
    for bits in [2048, 4096] {
        let f = fixture(bits);
        let ours = PublicKey::from_be_bytes(&f.n, &f.e).expect("key");
        assert!(ours.verify(&f.msg, &f.sig));
        group.bench_function(BenchmarkId::new("cryptr-guard", f.bits), |b| {
            b.iter(|| ours.verify(black_box(&f.msg), black_box(&f.sig)))
        });

        let rsa_sig = Signature::try_from(&f.sig[..]).expect("signature");
        assert!(f.rsa_vk.verify(&f.msg, &rsa_sig).is_ok());
        group.bench_function(BenchmarkId::new("rsa-0.10", f.bits), |b| {
            b.iter(|| {
                f.rsa_vk
                    .verify(black_box(&f.msg), black_box(&rsa_sig))
                    .is_ok()
            })
        });

        let parsed =
            ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &f.pkcs1_der).expect("aws-lc-rs key");
        assert!(parsed.verify_sig(&f.msg, &f.sig).is_ok());
        group.bench_function(BenchmarkId::new("aws-lc-rs-parsed", f.bits), |b| {
            b.iter(|| {
                parsed
                    .verify_sig(black_box(&f.msg), black_box(&f.sig))
                    .is_ok()
            })
        });

        let unparsed = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &f.pkcs1_der);
        assert!(unparsed.verify(&f.msg, &f.sig).is_ok());
        group.bench_function(BenchmarkId::new("aws-lc-rs-unparsed", f.bits), |b| {
            b.iter(|| {
                unparsed
                    .verify(black_box(&f.msg), black_box(&f.sig))
                    .is_ok()
            })
        });

        let components = RsaPublicKeyComponents {
            n: &f.n[..],
            e: &f.e[..],
        };
        assert!(
            components
                .verify(&RSA_PKCS1_2048_8192_SHA256, &f.msg, &f.sig)
                .is_ok()
        );
        group.bench_function(BenchmarkId::new("aws-lc-rs-components", f.bits), |b| {
            b.iter(|| {
                components
                    .verify(
                        &RSA_PKCS1_2048_8192_SHA256,
                        black_box(&f.msg),
                        black_box(&f.sig),
                    )
                    .is_ok()
            })
        });

        group.bench_function(BenchmarkId::new("cryptr-guard-parse-key", f.bits), |b| {
            b.iter(|| PublicKey::from_be_bytes(black_box(&f.n), black_box(&f.e)).is_ok())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
