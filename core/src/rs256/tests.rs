//! Unit tests: the Montgomery kernels against a plain reference (both limb widths), key
//! parsing edge cases, and verification edge cases built without any other RSA code.

use super::backend::portable::{self, Word};
use super::*;
use alloc::vec;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
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

trait TestWord: Word {
    fn from_u64(x: u64) -> Self;
    fn bits() -> usize;
}

impl TestWord for u32 {
    fn from_u64(x: u64) -> Self {
        x as u32
    }
    fn bits() -> usize {
        32
    }
}

impl TestWord for u64 {
    fn from_u64(x: u64) -> Self {
        x
    }
    fn bits() -> usize {
        64
    }
}

// ---- reference arithmetic: bit by bit, obviously correct, slow ----

fn bit<W: TestWord>(x: &[W], i: usize) -> bool {
    let b = x[i / W::bits()].byte((i % W::bits()) / 8);
    (b >> (i % 8)) & 1 == 1
}

/// `x mod n` by shift-and-subtract.
fn ref_mod<W: TestWord>(x: &[W], n: &[W]) -> Vec<W> {
    let mut r = vec![W::default(); n.len()];
    for i in (0..x.len() * W::bits()).rev() {
        let mut carry = W::from_u64(u64::from(bit(x, i)));
        for w in r.iter_mut() {
            (*w, carry) = w.shl1(carry);
        }
        if !carry.is_zero() || portable::cmp(&r, n) != Ordering::Less {
            portable::sub_assign(&mut r, n);
        }
    }
    r
}

/// Full product, schoolbook, through `u128`.
fn ref_mul<W: TestWord>(a: &[W], b: &[W]) -> Vec<W> {
    let to = |x: &[W]| -> Vec<u64> {
        x.iter()
            .map(|w| {
                (0..W::bits() / 8)
                    .map(|i| u64::from(w.byte(i)) << (8 * i))
                    .sum()
            })
            .collect()
    };
    let (a64, b64) = (to(a), to(b));
    let mask = if W::bits() == 64 {
        u64::MAX
    } else {
        (1u64 << W::bits()) - 1
    };
    let mut t = vec![0u64; a.len() + b.len()];
    for (i, &x) in a64.iter().enumerate() {
        let mut carry = 0u128;
        for (j, &y) in b64.iter().enumerate() {
            let v = u128::from(t[i + j]) + u128::from(x) * u128::from(y) + carry;
            t[i + j] = (v as u64) & mask;
            carry = v >> W::bits();
        }
        let mut k = i + b.len();
        while carry != 0 {
            let v = u128::from(t[k]) + carry;
            t[k] = (v as u64) & mask;
            carry = v >> W::bits();
            k += 1;
        }
    }
    t.into_iter().map(W::from_u64).collect()
}

/// `x * R mod n` with `R = 2^(w * L)`.
fn ref_times_r<W: TestWord>(x: &[W], n: &[W]) -> Vec<W> {
    let mut shifted = vec![W::default(); n.len()];
    shifted.extend_from_slice(x);
    ref_mod(&shifted, n)
}

fn random_modulus<W: TestWord>(rng: &mut Rng, l: usize) -> Vec<W> {
    let mut n: Vec<W> = (0..l).map(|_| W::from_u64(rng.next())).collect();
    // Vary the top: full words and a nearly empty top word both matter.
    if rng.next().is_multiple_of(3) {
        n[l - 1] = W::from_u64(rng.next() % 7 + 1);
    }
    let bottom = n[0].byte(0) | 1;
    n[0] = W::from_u64(((n[0].byte(1) as u64) << 8) | u64::from(bottom));
    if l > 1 {
        n[0] = W::from_u64(rng.next() | 1);
    }
    n
}

fn random_below<W: TestWord>(rng: &mut Rng, n: &[W]) -> Vec<W> {
    let x: Vec<W> = (0..n.len()).map(|_| W::from_u64(rng.next())).collect();
    ref_mod(&x, n)
}

fn check_kernels<W: TestWord>() {
    let mut rng = Rng(W::bits() as u64);
    for l in [1usize, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33] {
        for round in 0..6 {
            let n = random_modulus::<W>(&mut rng, l);
            let n0 = portable::neg_inv(n[0]);
            // n0 * n[0] == -1 mod 2^w.
            assert_eq!(ref_mul(&[n0], &[n[0]])[0], W::from_u64(u64::MAX));
            let mut cases: Vec<(Vec<W>, Vec<W>)> = (0..4)
                .map(|_| (random_below(&mut rng, &n), random_below(&mut rng, &n)))
                .collect();
            if round == 0 {
                let mut n_minus_1 = n.clone();
                n_minus_1[0] = W::sbb(n_minus_1[0], W::from_u64(1), W::default()).0;
                let zero = vec![W::default(); l];
                let mut one = zero.clone();
                one[0] = W::from_u64(1);
                cases.push((zero.clone(), n_minus_1.clone()));
                cases.push((n_minus_1.clone(), n_minus_1.clone()));
                cases.push((one.clone(), n_minus_1.clone()));
                cases.push((one, zero));
            }
            for (a, b) in cases {
                // mont_mul: out * R == a * b (mod n), out < n.
                let mut out = vec![W::default(); l];
                portable::mont_mul(&mut out, &a, &b, &n, n0);
                assert_eq!(portable::cmp(&out, &n), Ordering::Less, "L={l}");
                assert_eq!(
                    ref_times_r(&out, &n),
                    ref_mod(&ref_mul(&a, &b), &n),
                    "mont_mul L={l} a={a:?} b={b:?} n={n:?}"
                );
                // mont_sqr agrees with mont_mul(a, a).
                let mut sq = vec![W::default(); l];
                portable::mont_sqr(&mut sq, &a, &n, n0);
                let mut sq2 = vec![W::default(); l];
                portable::mont_mul(&mut sq2, &a, &a, &n, n0);
                assert_eq!(sq, sq2, "mont_sqr L={l} a={a:?} n={n:?}");
            }
        }
    }
}

#[test]
fn montgomery_kernels_u64() {
    check_kernels::<u64>();
}

#[test]
fn montgomery_kernels_u32() {
    check_kernels::<u32>();
}

fn check_sqr_32<W: TestWord>() {
    let mut rng = Rng(37 + W::bits() as u64);
    for _ in 0..40 {
        let n = random_modulus::<W>(&mut rng, 32);
        let n0 = portable::neg_inv(n[0]);
        let mut cases = vec![random_below(&mut rng, &n), vec![W::default(); 32]];
        let mut n_minus_1 = n.clone();
        n_minus_1[0] = W::sbb(n_minus_1[0], W::from_u64(1), W::default()).0;
        cases.push(n_minus_1);
        for a in cases {
            let mut expected = vec![W::default(); 32];
            portable::mont_sqr(&mut expected, &a, &n, n0);
            let mut got = [W::default(); 32];
            let a32: [W; 32] = a.clone().try_into().unwrap();
            let n32: [W; 32] = n.clone().try_into().unwrap();
            portable::mont_sqr_32(&mut got, &a32, &n32, n0);
            assert_eq!(&got[..], &expected[..], "a={a:?} n={n:?}");
        }
    }
}

#[test]
fn straight_line_squaring_u64() {
    check_sqr_32::<u64>();
}

#[test]
fn straight_line_squaring_u32() {
    check_sqr_32::<u32>();
}

fn check_sqr_64<W: TestWord>() {
    let mut rng = Rng(41 + W::bits() as u64);
    for round in 0..60 {
        let mut n = random_modulus::<W>(&mut rng, 64);
        // Edge moduli too: all ones, and 2^(64w - 1) + 1 (top bit only, and bit 0).
        if round == 0 {
            n.fill(W::sbb(W::default(), W::ONE, W::default()).0);
        } else if round == 1 {
            n.fill(W::default());
            n[0] = W::ONE;
            n[63] = W::ONE.shl1(W::default()).0;
            for _ in 2..W::bits() {
                n[63] = n[63].shl1(W::default()).0;
            }
        }
        let n0 = portable::neg_inv(n[0]);
        let mut n_minus_1 = n.clone();
        n_minus_1[0] = W::sbb(n_minus_1[0], W::ONE, W::default()).0;
        let mut one = vec![W::default(); 64];
        one[0] = W::ONE;
        let mut cases = vec![
            random_below(&mut rng, &n),
            vec![W::default(); 64],
            one,
            n_minus_1,
        ];
        // n - 1 - small: large values with a random low part.
        let mut big = n.clone();
        big[0] = W::sbb(big[0], W::ONE, W::default()).0;
        for w in big.iter_mut().take(20) {
            *w = W::sbb(*w, W::from_u64(rng.next()), W::default()).0;
        }
        if portable::cmp(&big, &n) == Ordering::Less {
            cases.push(big);
        }
        for a in cases {
            let mut expected = vec![W::default(); 64];
            portable::mont_sqr(&mut expected, &a, &n, n0);
            let mut got = [W::default(); 64];
            let a64: [W; 64] = a.clone().try_into().unwrap();
            let n64: [W; 64] = n.clone().try_into().unwrap();
            portable::mont_sqr_64(&mut got, &a64, &n64, n0);
            assert_eq!(&got[..], &expected[..], "a={a:?} n={n:?}");
        }
    }
}

#[test]
fn block_squaring_64_u64() {
    check_sqr_64::<u64>();
}

#[test]
fn block_squaring_64_u32() {
    check_sqr_64::<u32>();
}

fn check_sqr_blocks<W: TestWord>() {
    let mut rng = Rng(47 + W::bits() as u64);
    for l in [32usize, 48, 64, 80, 128] {
        for round in 0..6 {
            let mut n = random_modulus::<W>(&mut rng, l);
            if round == 0 {
                n.fill(W::sbb(W::default(), W::ONE, W::default()).0);
            }
            let n0 = portable::neg_inv(n[0]);
            let mut n_minus_1 = n.clone();
            n_minus_1[0] = W::sbb(n_minus_1[0], W::ONE, W::default()).0;
            for a in [random_below(&mut rng, &n), vec![W::default(); l], n_minus_1] {
                let mut expected = vec![W::default(); l];
                portable::mont_sqr(&mut expected, &a, &n, n0);
                let mut got = vec![W::default(); l];
                portable::mont_sqr_blocks(&mut got, &a, &n, n0);
                assert_eq!(got, expected, "L={l} a={a:?} n={n:?}");
            }
        }
    }
}

#[test]
fn block_squaring_any_multiple_of_16_u64() {
    check_sqr_blocks::<u64>();
}

#[test]
fn block_squaring_any_multiple_of_16_u32() {
    check_sqr_blocks::<u32>();
}

/// The straight-line blocks against the reference product, all-ones operands included.
fn check_blocks<W: TestWord>() {
    let mut rng = Rng(43 + W::bits() as u64);
    let max = W::sbb(W::default(), W::ONE, W::default()).0;
    for round in 0..40 {
        let a: [W; 32] = core::array::from_fn(|_| {
            if round == 0 {
                max
            } else {
                W::from_u64(rng.next())
            }
        });
        let mut sq = [W::default(); 64];
        portable::sqr32(&mut sq, &a);
        assert_eq!(&sq[..], &ref_mul(&a, &a)[..]);
        let mut rand = |_| {
            if round == 0 {
                max
            } else {
                W::from_u64(rng.next())
            }
        };
        let (x, y): ([W; portable::BLK], [W; portable::BLK]) = (
            core::array::from_fn(&mut rand),
            core::array::from_fn(&mut rand),
        );
        // t + x * y with t all ones when x, y are: the carry out is 1.
        let t0: [W; 2 * portable::BLK] = core::array::from_fn(&mut rand);
        let mut t = t0;
        let c = portable::mul_blk(&mut t, &x, &y);
        let mut expected = ref_mul(&x, &y);
        expected.push(W::default());
        let mut carry = W::default();
        for (e, &v) in expected
            .iter_mut()
            .zip(t0.iter().chain(core::iter::once(&W::default())))
        {
            (*e, carry) = W::adc(*e, v, carry);
        }
        assert_eq!(&t[..], &expected[..2 * portable::BLK]);
        assert_eq!(c, expected[2 * portable::BLK]);
    }
}

#[test]
fn blocks_32_u64() {
    check_blocks::<u64>();
}

#[test]
fn blocks_32_u32() {
    check_blocks::<u32>();
}

#[test]
fn kernels_ignore_inconsistent_lengths() {
    let n = [0xffff_ffff_ffff_fff1u64, 3];
    let mut out = [7u64; 2];
    portable::mont_mul(&mut out, &[1], &[1, 0], &n, 1);
    portable::mont_sqr(&mut out, &[1, 0, 0], &n, 1);
    portable::mont_mul(&mut out[..1], &[1, 0], &[1, 0], &n, 1);
    portable::mont_sqr(&mut out, &[], &[], 1);
    assert_eq!(out, [7, 7]);
}

// ---- keys ----

/// A random odd modulus of exactly `bits` bits, big-endian.
fn modulus_bytes(rng: &mut Rng, bits: usize) -> Vec<u8> {
    let mut n = rng.bytes(bits.div_ceil(8));
    let top_bits = bits - 8 * (n.len() - 1);
    n[0] = (n[0] | 0x80) >> (8 - top_bits);
    let last = n.len() - 1;
    n[last] |= 1;
    n
}

#[test]
fn key_sizes_and_errors() {
    let mut rng = Rng(7);
    for bits in [
        512usize, 513, 1023, 1024, 2047, 2048, 2049, 4096, 8191, 8192,
    ] {
        let n = modulus_bytes(&mut rng, bits);
        let key = PublicKey::from_be_bytes(&n, &[1, 0, 1]).expect("valid key");
        assert_eq!(key.bits() as usize, bits);
        assert_eq!(key.modulus_len(), bits.div_ceil(8));
        assert_eq!(key.exponent(), 65537);
    }
    let n511 = modulus_bytes(&mut rng, 511);
    assert_eq!(
        PublicKey::from_be_bytes(&n511, &[3]).err(),
        Some(KeyError::ModulusTooSmall)
    );
    assert_eq!(
        PublicKey::from_be_bytes(&[], &[3]).err(),
        Some(KeyError::ModulusTooSmall)
    );
    assert_eq!(
        PublicKey::from_be_bytes(&[0; 300], &[3]).err(),
        Some(KeyError::ModulusTooSmall)
    );
    let n8193 = modulus_bytes(&mut rng, 8193);
    assert_eq!(
        PublicKey::from_be_bytes(&n8193, &[3]).err(),
        Some(KeyError::ModulusTooLarge)
    );
    let mut huge = vec![0xffu8; 100_000];
    huge[0] = 1;
    assert_eq!(
        PublicKey::from_be_bytes(&huge, &[3]).err(),
        Some(KeyError::ModulusTooLarge)
    );
    let mut even = modulus_bytes(&mut rng, 2048);
    let last = even.len() - 1;
    even[last] &= 0xfe;
    assert_eq!(
        PublicKey::from_be_bytes(&even, &[3]).err(),
        Some(KeyError::EvenModulus)
    );
    let n = modulus_bytes(&mut rng, 2048);
    for e in [&[][..], &[0], &[0, 0, 0], &[1, 0, 0, 0, 0], &[0xff; 5]] {
        assert_eq!(
            PublicKey::from_be_bytes(&n, e).err(),
            Some(KeyError::BadExponent),
            "{e:?}"
        );
    }
    for (e, value) in [
        (&[1][..], 1),
        (&[0, 0, 0, 0, 0, 3], 3),
        (&[0xff, 0xff, 0xff, 0xff], u32::MAX),
        (&[0, 1, 0, 1], 65537),
        (&[2], 2),
    ] {
        assert_eq!(
            PublicKey::from_be_bytes(&n, e).expect("key").exponent(),
            value
        );
    }
}

#[test]
fn leading_zeros_do_not_count() {
    let mut rng = Rng(11);
    let n = modulus_bytes(&mut rng, 2047);
    let mut padded = vec![0u8; 5];
    padded.extend_from_slice(&n);
    let a = PublicKey::from_be_bytes(&n, &[1, 0, 1]).expect("key");
    let b = PublicKey::from_be_bytes(&padded, &[0, 0, 1, 0, 1]).expect("key");
    assert_eq!((a.bits(), a.modulus_len()), (b.bits(), b.modulus_len()));
    assert_eq!((a.bits(), a.modulus_len()), (2047, 256));
    assert_eq!(a.n, b.n);
    assert_eq!(a.kernel(), b.kernel());
    assert_eq!(portable_rr(&a), portable_rr(&b));
}

/// `R^2 mod n` as the portable backend holds it for `key`.
fn portable_rr(key: &PublicKey) -> Vec<Limb> {
    let key = key.clone().portable();
    key.backend
        .as_portable()
        .expect("portable backend")
        .rr
        .clone()
}

#[test]
fn r_squared_matches_reference() {
    let mut rng = Rng(13);
    for bits in [512usize, 600, 1025, 2048, 3071] {
        let key = PublicKey::from_be_bytes(&modulus_bytes(&mut rng, bits), &[3]).expect("key");
        let l = key.n.len();
        let mut r2 = vec![0 as Limb; 2 * l];
        r2.push(1);
        assert_eq!(portable_rr(&key), ref_mod(&r2, &key.n), "{bits}");
    }
}

#[test]
fn debug_shows_only_the_size() {
    let mut rng = Rng(17);
    let key = PublicKey::from_be_bytes(&modulus_bytes(&mut rng, 2048), &[1, 0, 1]).expect("key");
    assert_eq!(alloc::format!("{key:?}"), "PublicKey { bits: 2048, .. }");
}

// ---- exponentiation and verification ----

/// `s^e mod n` by the reference.
fn ref_pow(s: &[Limb], e: u32, n: &[Limb]) -> Vec<Limb> {
    let mut acc = vec![0 as Limb; n.len()];
    acc[0] = 1;
    let acc_mod = ref_mod(&acc, n);
    let mut acc = acc_mod;
    for i in (0..32).rev() {
        acc = ref_mod(&ref_mul(&acc, &acc), n);
        if (e >> i) & 1 == 1 {
            acc = ref_mod(&ref_mul(&acc, s), n);
        }
    }
    acc
}

#[test]
fn pow_matches_reference() {
    let mut rng = Rng(19);
    for (bits, e) in [
        (512, 1u32),
        (512, 2),
        (512, 3),
        (640, 4),
        (520, 17),
        (1024, 65537),
        (1023, 65536),
        (513, 0xffff_ffff),
        (700, 0x8000_0001),
        (777, 0x1234_5679),
        // 32 limbs: the straight-line squaring on 64-bit targets.
        (2048, 3),
        (2047, 65537),
        // Long enough for the dedicated squaring loop (see SQUARE_WITH_MUL_MAX_LIMBS).
        (3072, 3),
        (4096, 65537),
        // Either side of a vector-count boundary of the IFMA kernel (830 bits fit in 2
        // vectors of eight 52-bit limbs with R > 4n, 831 need 3), and its largest size.
        (830, 65537),
        (831, 65537),
        (4158, 3),
        (4159, 65537),
        (8192, 3),
    ] {
        let key = PublicKey::from_be_bytes(&modulus_bytes(&mut rng, bits), &e.to_be_bytes())
            .expect("key");
        assert_eq!(key.clone().portable().kernel(), Kernel::Portable);
        for key in every_kernel(&key) {
            check_pow(&mut rng, &key, bits, e);
        }
    }
}

/// The same key on every kernel this build has and this CPU runs.
fn every_kernel(key: &PublicKey) -> Vec<PublicKey> {
    let keys: Vec<PublicKey> = Kernel::all()
        .iter()
        .filter_map(|&k| key.with_kernel(k).inspect(|key| assert_eq!(key.kernel(), k)))
        .collect();
    assert!(keys.iter().any(|key| key.kernel() == Kernel::Portable));
    keys
}

/// Does this CPU have what `kernel` needs (asked of std, not of the crate's own detection)?
fn cpu_has(kernel: Kernel) -> bool {
    match kernel {
        Kernel::Portable => true,
        #[cfg(target_arch = "x86_64")]
        Kernel::Bmi2Adx => {
            std::is_x86_feature_detected!("bmi2") && std::is_x86_feature_detected!("adx")
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512Ifma => {
            std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
        }
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

#[test]
fn kernel_list_and_availability() {
    let all = Kernel::all();
    assert_eq!(all.last(), Some(&Kernel::Portable));
    let ifma = cfg!(all(feature = "ifma", target_arch = "x86_64"));
    let adx = cfg!(all(feature = "adx", target_arch = "x86_64"));
    let expected: Vec<Kernel> = [
        (ifma, Kernel::Avx512Ifma),
        (adx, Kernel::Bmi2Adx),
        (true, Kernel::Portable),
    ]
    .into_iter()
    .filter_map(|(built, k)| built.then_some(k))
    .collect();
    assert_eq!(all, &expected[..]);
    let mut rng = Rng(3);
    let key = PublicKey::from_be_bytes(&modulus_bytes(&mut rng, 2048), &[1, 0, 1]).expect("key");
    for kernel in [Kernel::Portable, Kernel::Bmi2Adx, Kernel::Avx512Ifma] {
        let built = all.contains(&kernel);
        let other = key.with_kernel(kernel);
        assert_eq!(other.is_some(), built && cpu_has(kernel), "{kernel:?}");
        if let Some(other) = other {
            assert_eq!(other.kernel(), kernel);
            assert_eq!((other.bits(), other.exponent()), (key.bits(), key.exponent()));
        }
    }
}

#[test]
fn the_fastest_kernel_the_cpu_has_is_chosen() {
    let mut rng = Rng(23);
    let expected = *Kernel::all()
        .iter()
        .find(|&&k| cpu_has(k))
        .expect("the portable kernel");
    for bits in [512, 2048, 4096, 8192] {
        let key =
            PublicKey::from_be_bytes(&modulus_bytes(&mut rng, bits), &[1, 0, 1]).expect("key");
        assert_eq!(key.kernel(), expected, "{bits} bits");
    }
}

fn check_pow(rng: &mut Rng, key: &PublicKey, bits: usize, e: u32) {
    {
        let n_minus_1 = {
            let mut v = key.n.clone();
            v[0] -= 1;
            v
        };
        for s in [random_below(rng, &key.n), vec![0; key.n.len()], n_minus_1] {
            let mut x = vec![0 as Limb; key.n.len()];
            key.pow(&s, &mut x);
            assert_eq!(
                x,
                ref_pow(&s, e, &key.n),
                "bits={bits} e={e} {:?}",
                key.kernel()
            );
        }
    }
}

/// The RFC 8017 encoding of `digest` in `k` octets.
fn encode(digest: &[u8; 32], k: usize) -> Vec<u8> {
    let mut em = vec![0u8, 1];
    em.resize(k - 3 - 19 - 32 + 2, 0xff);
    em.push(0);
    em.extend_from_slice(&SHA256_DIGEST_INFO);
    em.extend_from_slice(digest);
    assert_eq!(em.len(), k);
    em
}

#[test]
fn verification_with_e_1_checks_the_encoding_exactly() {
    // With e = 1 the signature is the encoded message itself: every octet of the check shows.
    let mut rng = Rng(23);
    for bits in [512usize, 521, 1024, 2047, 2048, 2049, 4096] {
        let key = PublicKey::from_be_bytes(&modulus_bytes(&mut rng, bits), &[1]).expect("key");
        let k = key.modulus_len();
        let digest: [u8; 32] = rng.bytes(32).try_into().expect("32");
        let em = encode(&digest, k);
        assert!(key.verify_digest(&digest, &em), "{bits}");
        for i in 0..k {
            let mut bad = em.clone();
            bad[i] ^= 0x01 << (i % 8);
            assert!(!key.verify_digest(&digest, &bad), "{bits}: octet {i}");
        }
        let mut other = digest;
        other[31] ^= 1;
        assert!(!key.verify_digest(&other, &em));
        // Wrong lengths.
        assert!(!key.verify_digest(&digest, &em[1..]));
        let mut longer = vec![0u8];
        longer.extend_from_slice(&em);
        assert!(!key.verify_digest(&digest, &longer));
        assert!(!key.verify_digest(&digest, &[]));
        // DigestInfo without the NULL parameters is not accepted.
        let mut no_null = vec![0u8, 1];
        no_null.resize(k - 3 - 17 - 32 + 2, 0xff);
        no_null.push(0);
        no_null.extend_from_slice(&[
            0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x04, 0x20,
        ]);
        no_null.extend_from_slice(&digest);
        assert!(!key.verify_digest(&digest, &no_null));
        // verify() hashes.
        let msg = b"signing input";
        let em = encode(&Sha256::digest(msg).into(), k);
        assert!(key.verify(msg, &em));
        assert!(!key.verify(b"signing inpuT", &em));
    }
}

#[test]
fn signature_range_and_lengths() {
    let mut rng = Rng(29);
    for bits in [512usize, 2048, 2051] {
        let n = modulus_bytes(&mut rng, bits);
        let key = PublicKey::from_be_bytes(&n, &[1, 0, 1]).expect("key");
        let k = key.modulus_len();
        let digest = [0x5a; 32];
        let mut n_k = vec![0u8; k - n.len()];
        n_k.extend_from_slice(&n);
        // s = 0, s = 1, s = n - 1, s = n, s = n + 1, s = 2^(8k) - 1: all false, none panics.
        let zero = vec![0u8; k];
        let mut one = zero.clone();
        one[k - 1] = 1;
        let mut n_minus_1 = n_k.clone();
        n_minus_1[k - 1] -= 1;
        let mut n_plus_1 = n_k.clone();
        n_plus_1[k - 1] = n_plus_1[k - 1].wrapping_add(1);
        for sig in [zero, one, n_minus_1, n_k.clone(), n_plus_1, vec![0xff; k]] {
            assert!(!key.verify_digest(&digest, &sig));
        }
        // Random signatures of every length around k.
        for len in [0, 1, k - 1, k, k + 1, 2 * k] {
            assert!(!key.verify_digest(&digest, &rng.bytes(len)));
        }
    }
}

#[test]
fn s_at_or_above_n_is_rejected_even_when_its_residue_would_verify() {
    // e = 1: s = EM verifies; s = EM + n encodes the same residue but is >= n.
    let mut rng = Rng(31);
    let n = modulus_bytes(&mut rng, 1024);
    let key = PublicKey::from_be_bytes(&n, &[1]).expect("key");
    let digest = [7u8; 32];
    let em = encode(&digest, 128);
    assert!(key.verify_digest(&digest, &em));
    // EM + n < 2^1024 here (EM < 2^1009 and n < 2^1024 - 2^1010 is likely but check).
    let mut sum = vec![0u8; 128];
    let mut carry = 0u16;
    for i in (0..128).rev() {
        let v = u16::from(em[i]) + u16::from(n[i]) + carry;
        sum[i] = v as u8;
        carry = v >> 8;
    }
    if carry == 0 {
        assert!(!key.verify_digest(&digest, &sum));
    }
}

/// A modulus of `bits` bits whose limbs are all ones but for its low bits (`n = 2^bits - 2^k + 1`
/// shapes): the accumulators' largest limbs and longest carry chains.
fn dense_modulus_bytes(bits: usize, k: usize) -> Vec<u8> {
    let len = bits.div_ceil(8);
    let mut n = vec![0xffu8; len];
    n[0] = 0xff >> (8 * len - bits);
    // Clear bits 1..k (big-endian octets), keep bit 0: odd.
    for bit in 1..k.min(bits - 1) {
        n[len - 1 - bit / 8] &= !(1 << (bit % 8));
    }
    n
}

#[test]
fn every_kernel_agrees_across_sizes_and_extreme_operands() {
    let mut rng = Rng(29);
    let mut sizes: Vec<usize> = vec![
        512, 831, 1024, 2047, 2048, 2049, 2079, 2080, 3071, 3072, 4095, 4096, 4097, 8192,
    ];
    // Every limb count modulo 8 (the unrolling of the ADX rows), around 2048 bits.
    sizes.extend((1..8).map(|k| 2048 + 64 * k));
    sizes.extend((0..16).map(|_| 512 + (rng.next() % 7681) as usize));
    for (i, bits) in sizes.into_iter().enumerate() {
        let e: u32 = match i % 3 {
            0 => 65537,
            1 => 3,
            _ => (rng.next() as u32) | 1,
        };
        let n = if i % 2 == 0 {
            modulus_bytes(&mut rng, bits)
        } else {
            dense_modulus_bytes(bits, 1 + (rng.next() % 64) as usize)
        };
        let key = PublicKey::from_be_bytes(&n, &e.to_be_bytes()).expect("key");
        let portable = key.clone().portable();
        let l = key.n.len();
        let mut n_minus_1 = key.n.clone();
        n_minus_1[0] -= 1;
        let mut all_ones_below = vec![Limb::MAX; l];
        all_ones_below[l - 1] = key.n[l - 1] >> 1;
        let mut one = vec![0 as Limb; l];
        one[0] = 1;
        for s in [
            random_below(&mut rng, &key.n),
            random_below(&mut rng, &key.n),
            n_minus_1,
            all_ones_below,
            one,
            vec![0; l],
        ] {
            let mut expected = vec![0 as Limb; l];
            portable.pow(&s, &mut expected);
            for other in every_kernel(&key) {
                let mut x = vec![0 as Limb; l];
                other.pow(&s, &mut x);
                assert_eq!(x, expected, "bits={bits} e={e} {:?}", other.kernel());
            }
        }
    }
}
