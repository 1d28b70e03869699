//! `rs256::PublicKey` against the `rsa` crate over generated keys (fixed seeds, so every run
//! checks the same keys), and against the raw-signature vectors (Wycheproof, RFC examples).

// Test helpers outside `#[test]` functions: clippy.toml's in-test allowances do not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use base64ct::{Base64UrlUnpadded, Encoding};
use cryptr_guard_core::rs256::{Kernel, PublicKey};
use rsa::BoxedUint;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{Keypair, SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;

/// SplitMix64 behind `rsa`'s generator traits: deterministic, for tests only.
struct SeededRng(u64);

impl SeededRng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

impl rsa::rand_core::TryRng for SeededRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.next() as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.next())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for SeededRng {}

/// What `rsa` says about `(msg, sig)`.
fn rsa_verifies(vk: &VerifyingKey<Sha256>, msg: &[u8], sig: &[u8]) -> bool {
    Signature::try_from(sig).is_ok_and(|s| vk.verify(msg, &s).is_ok())
}

/// Asserts that both implementations give `expected`.
fn check(
    ours: &PublicKey,
    vk: &VerifyingKey<Sha256>,
    msg: &[u8],
    sig: &[u8],
    expected: bool,
    what: &str,
) {
    let bits = ours.bits();
    assert_eq!(ours.verify(msg, sig), expected, "{bits} bits: {what}: ours");
    for &kernel in Kernel::all() {
        if let Some(other) = ours.with_kernel(kernel) {
            assert_eq!(
                other.verify(msg, sig),
                expected,
                "{bits} bits: {what}: ours, {kernel:?} kernel"
            );
        }
    }
    assert_eq!(
        rsa_verifies(vk, msg, sig),
        expected,
        "{bits} bits: {what}: rsa"
    );
}

/// Big-endian `a + b` in `len` octets (the carry out dropped).
fn add_be(a: &[u8], b: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut carry = 0u16;
    for i in 0..len {
        let x = a.len().checked_sub(i + 1).map_or(0, |j| a[j]);
        let y = b.len().checked_sub(i + 1).map_or(0, |j| b[j]);
        let v = u16::from(x) + u16::from(y) + carry;
        out[len - 1 - i] = v as u8;
        carry = v >> 8;
    }
    out
}

fn differential(bits: usize, e: u64, seed: u64, messages: usize) {
    let mut rng = SeededRng(seed);
    let sk = if e == 65537 {
        rsa::PrivateKey::new(&mut rng, bits)
    } else {
        rsa::PrivateKey::new_with_exp(&mut rng, bits, BoxedUint::from(e))
    }
    .expect("key generation");
    let pk = sk.to_public_key();
    let (n, e_bytes) = (pk.n_bytes().to_vec(), pk.e_bytes().to_vec());
    let signer = SigningKey::<Sha256>::new(sk);
    let vk: VerifyingKey<Sha256> = signer.verifying_key();

    let ours = PublicKey::from_be_bytes(&n, &e_bytes).expect("our key");
    let k = ours.modulus_len();
    assert_eq!(u64::from(ours.exponent()), e);
    assert_eq!(k, pk.size(), "modulus length");
    assert_eq!(
        ours.bits() as usize,
        n.len() * 8 - n[0].leading_zeros() as usize
    );

    for m in 0..messages {
        let len = (rng.next() % 700) as usize;
        let msg = rng.bytes(len);
        let sig = signer.sign(&msg).to_vec();
        assert_eq!(sig.len(), k);
        check(&ours, &vk, &msg, &sig, true, "valid");

        // Flipped bits in the signature (first octet, last octet, anywhere).
        for pos in [0, k - 1, (rng.next() as usize) % k] {
            let mut bad = sig.clone();
            bad[pos] ^= 1 << (rng.next() % 8);
            check(&ours, &vk, &msg, &bad, false, "flipped signature bit");
        }
        // A flipped bit in the message, an extra octet, a missing one.
        let mut other = msg.clone();
        if other.is_empty() {
            other.push(0);
        } else {
            let pos = (rng.next() as usize) % other.len();
            other[pos] ^= 1 << (rng.next() % 8);
        }
        check(&ours, &vk, &other, &sig, false, "flipped message bit");
        let mut longer_msg = msg.clone();
        longer_msg.push(b'.');
        check(&ours, &vk, &longer_msg, &sig, false, "extended message");

        // Wrong lengths: truncated, extended either side (the integer unchanged on the left).
        check(
            &ours,
            &vk,
            &msg,
            &sig[..k - 1],
            false,
            "truncated signature",
        );
        check(
            &ours,
            &vk,
            &msg,
            &sig[1..],
            false,
            "signature without its first octet",
        );
        let mut zero_first = vec![0u8];
        zero_first.extend_from_slice(&sig);
        assert!(
            !ours.verify(&msg, &zero_first),
            "{bits}: leading zero octet added"
        );
        let mut zero_last = sig.clone();
        zero_last.push(0);
        check(&ours, &vk, &msg, &zero_last, false, "trailing octet added");
        check(&ours, &vk, &msg, &[], false, "empty signature");

        // Random signatures, s = n, s > n, s + n (same residue, out of range).
        check(&ours, &vk, &msg, &rng.bytes(k), false, "random signature");
        let n_k = add_be(&n, &[], k);
        check(&ours, &vk, &msg, &n_k, false, "s = n");
        check(&ours, &vk, &msg, &add_be(&n, &[1], k), false, "s = n + 1");
        check(&ours, &vk, &msg, &vec![0xff; k], false, "s = 2^(8k) - 1");
        let s_plus_n = add_be(&sig, &n, k + 1);
        if s_plus_n[0] == 0 {
            check(&ours, &vk, &msg, &s_plus_n[1..], false, "s + n");
        }
        check(&ours, &vk, &msg, &vec![0; k], false, "s = 0");
        let mut one = vec![0u8; k];
        one[k - 1] = 1;
        check(&ours, &vk, &msg, &one, false, "s = 1");

        // The signature of another message.
        if m > 0 {
            let sig2 = signer.sign(b"another message").to_vec();
            check(
                &ours,
                &vk,
                &msg,
                &sig2,
                false,
                "signature of another message",
            );
            check(&ours, &vk, b"another message", &sig2, true, "second valid");
        }

        // verify_digest agrees with verify.
        let digest: [u8; 32] = <Sha256 as sha2::Digest>::digest(&msg).into();
        assert!(ours.verify_digest(&digest, &sig));
    }
}

#[test]
fn differential_2048_e65537() {
    for seed in 1..=3 {
        differential(2048, 65537, seed, 3);
    }
}

#[test]
fn differential_2048_e3() {
    for seed in 11..=12 {
        differential(2048, 3, seed, 3);
    }
}

#[test]
fn differential_3072_and_4096() {
    differential(3072, 65537, 21, 2);
    differential(3072, 3, 22, 2);
    differential(4096, 65537, 23, 2);
    differential(4096, 3, 24, 1);
}

#[test]
fn differential_odd_sizes() {
    for (i, bits) in [2047usize, 2049, 3071, 4095, 4097].into_iter().enumerate() {
        differential(bits, 65537, 31 + i as u64, 2);
    }
    differential(2049, 3, 41, 2);
    differential(2047, 3, 42, 2);
}

#[test]
fn differential_small_and_odd_limb_counts() {
    // Sizes around 64-bit limb boundaries, cheap to generate: many keys.
    for (i, bits) in [1024usize, 1025, 1087, 1088, 1089, 1151, 1152, 1536, 1537]
        .into_iter()
        .enumerate()
    {
        differential(bits, 65537, 51 + i as u64, 2);
        differential(bits, 3, 71 + i as u64, 1);
    }
}

// ---- vectors ----

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Runs every raw case of a vector file; returns (cases, valid ones).
fn run_raw_vectors(file: &str) -> (usize, usize) {
    let path = vectors_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let cases = doc["raw_cases"].as_array().expect("raw_cases");
    let mut valid = 0;
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let jwk = &case["jwk"];
        let n = Base64UrlUnpadded::decode_vec(jwk["n"].as_str().expect("n")).expect("n base64url");
        let e = Base64UrlUnpadded::decode_vec(jwk["e"].as_str().expect("e")).expect("e base64url");
        let msg = hex(case["msg_hex"].as_str().expect("msg_hex"));
        let sig = hex(case["sig_hex"].as_str().expect("sig_hex"));
        let expected = case["valid"].as_bool().expect("valid");
        let got = match PublicKey::from_be_bytes(&n, &e) {
            Ok(key) => {
                let chosen = key.verify(&msg, &sig);
                for &kernel in Kernel::all() {
                    if let Some(other) = key.with_kernel(kernel) {
                        let got = other.verify(&msg, &sig);
                        assert_eq!(got, chosen, "{name}: the {kernel:?} kernel disagrees");
                    }
                }
                chosen
            }
            Err(_) => false,
        };
        assert_eq!(got, expected, "{name}: {}", case["why"]);
        valid += usize::from(got);
    }
    (cases.len(), valid)
}

#[test]
fn wycheproof_2048() {
    let (cases, valid) = run_raw_vectors("wycheproof_rsa_signature_2048_sha256.json");
    assert!(cases > 200 && valid > 0);
}

#[test]
fn wycheproof_3072() {
    let (cases, valid) = run_raw_vectors("wycheproof_rsa_signature_3072_sha256.json");
    assert!(cases > 200 && valid > 0);
}

#[test]
fn wycheproof_4096() {
    let (cases, valid) = run_raw_vectors("wycheproof_rsa_signature_4096_sha256.json");
    assert!(cases > 200 && valid > 0);
}

#[test]
fn rfc_raw_signatures() {
    let (cases, valid) = run_raw_vectors("rfc_raw_signatures.json");
    assert!(cases >= 3 && valid >= 2);
}
