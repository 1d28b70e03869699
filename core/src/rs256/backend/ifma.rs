//! The AVX-512 IFMA backend (x86-64, `ifma` feature): Montgomery arithmetic in radix 2^52,
//! eight limbs per 512-bit vector, for CPUs that have `avx512f` + `avx512ifma` (Intel since Ice
//! Lake, AMD since Zen 4).
//!
//! `vpmadd52luq` / `vpmadd52huq` add the low / high 52 bits of eight 52×52-bit products to eight
//! 64-bit accumulators in one instruction. The multiplication is the word-serial "almost
//! Montgomery multiplication" of Gueron and Krasnov (*Accelerating big integer arithmetic using
//! Intel IFMA extensions*, ARITH 2016), the shape of OpenSSL's `rsaz-avx512`: for each limb `a_i`
//! of one operand, add `a_i * b` and `y * n` (with `y` making the lowest limb vanish) to the
//! accumulator, shift it down by one limb, and add the high halves. Limbs may exceed 52 bits in
//! the accumulator; they are normalised once at the end of each product.
//!
//! With `R = 2^(52 * L)`, `L` a multiple of eight and `R > 4n`, inputs below `2n` give an output
//! below `2n` (never fully reduced: the caller subtracts `n` once at the very end). Only moduli
//! of 512 to 8192 bits reach this module (2 to 20 vectors).
//!
//! The detection is [`cpufeatures`] (CPUID plus the OS's XSAVE state for `zmm` registers): an
//! [`Ifma`] exists only on a CPU that has both features ([`Ifma::new`] is its only constructor),
//! which is what makes the one call into the `#[target_feature]` code sound. Like the portable
//! kernel, this one is variable-time and only ever sees public values.

use core::arch::x86_64::{
    _mm_cvtsi128_si64, _mm512_add_epi64, _mm512_alignr_epi64, _mm512_castsi512_si128,
    _mm512_loadu_si512, _mm512_madd52hi_epu64, _mm512_madd52lo_epu64, _mm512_maskz_set1_epi64,
    _mm512_set1_epi64, _mm512_setzero_si512, _mm512_storeu_si512,
};
use core::cmp::Ordering;

use alloc::vec::Vec;

use super::portable;

cpufeatures::new!(cpuid_ifma, "avx512f", "avx512ifma");

/// Bits per limb.
const RADIX: u32 = 52;
/// The low 52 bits.
const MASK: u64 = (1 << RADIX) - 1;
/// Limbs per vector.
const LANES: usize = 8;
/// Fewest and most vectors of a modulus: 512 and 8192 bits (plus the 2 bits that `R > 4n` needs).
const MIN_VECTORS: usize = 2;
const MAX_VECTORS: usize = 20;
/// Limbs of the largest modulus.
const MAX_LIMBS: usize = MAX_VECTORS * LANES;

/// A modulus in radix 2^52 with its constants, on a CPU with AVX-512 IFMA: holding one is the
/// proof that this CPU can run the kernels below (the fields are private to this module, and
/// [`Ifma::new`] checks the CPU before it builds one).
#[derive(Clone)]
pub(crate) struct Ifma {
    /// The modulus, `L = 8 * vectors` limbs of 52 bits.
    n: Vec<u64>,
    /// `R^2 mod n`, `R = 2^(52 * L)`, in the same radix.
    rr: Vec<u64>,
    /// `-n^-1 mod 2^52`.
    k0: u64,
    /// `L / 8`.
    vectors: usize,
}

/// `ceil(bits / 52)` rounded up to whole vectors, for `R = 2^(52 * L) > 4n`.
fn vectors_for(bits: u32) -> usize {
    (bits as usize + 2).div_ceil(RADIX as usize).div_ceil(LANES)
}

/// Little-endian 64-bit limbs into `out.len()` limbs of 52 bits (higher bits dropped).
fn to_radix52(out: &mut [u64], x: &[u64]) {
    let word = |i: usize| x.get(i).copied().unwrap_or(0);
    for (i, limb) in out.iter_mut().enumerate() {
        let bit = i * RADIX as usize;
        let (w, shift) = (bit / 64, bit % 64);
        let mut v = word(w) >> shift;
        if shift > 64 - RADIX as usize {
            v |= word(w + 1) << (64 - shift);
        }
        *limb = v & MASK;
    }
}

/// Limbs of 52 bits (each below 2^52) into `out.len()` 64-bit limbs (higher bits dropped).
fn from_radix52(out: &mut [u64], x: &[u64]) {
    out.fill(0);
    for (i, &limb) in x.iter().enumerate() {
        let bit = i * RADIX as usize;
        let (w, shift) = (bit / 64, bit % 64);
        if let Some(o) = out.get_mut(w) {
            *o |= limb << shift;
        }
        if let (true, Some(o)) = (shift > 64 - RADIX as usize, out.get_mut(w + 1)) {
            *o |= limb >> (64 - shift);
        }
    }
}

impl Ifma {
    /// The radix-2^52 form of the modulus `n` (64-bit limbs, `bits` long, odd, with
    /// `n0 = -n^-1 mod 2^64` and `rr = 2^(128 * n.len()) mod n`), or `None` when this CPU has no
    /// AVX-512 IFMA or the size is out of range.
    pub(crate) fn new(n: &[u64], n0: u64, rr: &[u64], bits: u32) -> Option<Ifma> {
        let vectors = vectors_for(bits);
        if !(MIN_VECTORS..=MAX_VECTORS).contains(&vectors) || !cpuid_ifma::get() {
            return None;
        }
        let limbs = vectors * LANES;
        let l = n.len();
        // R^2 = 2^(104 L) mod n is mont_mul(rr, 2^(104 L - 64 l) mod n): mont_mul divides by
        // 2^(64 l) and rr is 2^(128 l).
        let shift = (2 * RADIX as usize * limbs).checked_sub(64 * l)?;
        let t = portable::pow2_mod(n, bits, shift)?;
        let mut rr64 = alloc::vec![0u64; l];
        portable::mont_mul(&mut rr64, rr, &t, n, n0);
        let mut n52 = alloc::vec![0u64; limbs];
        let mut rr52 = alloc::vec![0u64; limbs];
        to_radix52(&mut n52, n);
        to_radix52(&mut rr52, &rr64);
        Some(Ifma {
            n: n52,
            rr: rr52,
            k0: n0 & MASK,
            vectors,
        })
    }

    /// `x = s^e mod n` for `s < n` (64-bit limbs, `n.len()` of them, `n` the same modulus).
    pub(crate) fn pow(&self, s: &[u64], e: u32, n: &[u64], x: &mut [u64]) {
        let limbs = self.n.len();
        let mut s52 = [0u64; MAX_LIMBS];
        let mut x52 = [0u64; MAX_LIMBS];
        let (Some(s52), Some(x52)) = (s52.get_mut(..limbs), x52.get_mut(..limbs)) else {
            return;
        };
        to_radix52(s52, s);
        // SAFETY: `pow_dispatch` is safe Rust but for its `#[target_feature]`, which requires a
        // CPU with avx512f and avx512ifma. `self` exists, so `Ifma::new` (the only constructor;
        // a clone copies a value it built) found both on this CPU through `cpuid_ifma`, with the
        // OS saving the zmm state.
        unsafe { pow_dispatch(self.vectors, x52, s52, e, &self.n, &self.rr, self.k0) };
        // x52 < 2n: one bit more than n may be needed, hence a limb of room.
        let mut wide = [0u64; crate::rs256::MAX_LIMBS + 1];
        let Some(wide) = wide.get_mut(..x.len() + 1) else {
            return;
        };
        from_radix52(wide, x52);
        let (low, top) = wide.split_at_mut(x.len());
        if top.iter().any(|&w| w != 0) || portable::cmp(low, n) != Ordering::Less {
            portable::sub_assign(low, n);
        }
        x.copy_from_slice(low);
    }
}

/// Picks the kernel for `vectors` vectors (none for a count out of range, nor for slices that
/// are not all `8 * vectors` long: `x` is then left alone). Calling it needs a CPU with the
/// features, like every `#[target_feature]` function called from code without them.
#[target_feature(enable = "avx512f,avx512ifma")]
fn pow_dispatch(vectors: usize, x: &mut [u64], s: &[u64], e: u32, n: &[u64], rr: &[u64], k0: u64) {
    macro_rules! sizes {
        ($($v:literal)*) => {
            match vectors {
                $($v => pow::<$v>(x, s, e, n, rr, k0),)*
                _ => {}
            }
        };
    }
    sizes!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20);
}

/// `x = s^e mod n`, possibly plus `n` (below `2n`), by square-and-multiply of almost-Montgomery
/// products, the last one with the plain `s` so that the result leaves Montgomery form.
#[target_feature(enable = "avx512f,avx512ifma")]
fn pow<const V: usize>(x: &mut [u64], s: &[u64], e: u32, n: &[u64], rr: &[u64], k0: u64) {
    let limbs = V * LANES;
    if x.len() != limbs || s.len() != limbs || n.len() != limbs || rr.len() != limbs {
        return;
    }
    if e <= 1 {
        // s^1 = s; e = 0 never reaches here (keys with e = 0 are refused).
        x.copy_from_slice(s);
        return;
    }
    let mut y = [0u64; MAX_LIMBS];
    let mut base = [0u64; MAX_LIMBS];
    let (Some(y), Some(base)) = (y.get_mut(..limbs), base.get_mut(..limbs)) else {
        return;
    };
    // x = s * R mod n (almost).
    amm::<V>(x, s, rr, n, k0);
    let top = 31 - e.leading_zeros();
    if e & !(1 << top) & !1 != 0 {
        base.copy_from_slice(x);
    }
    for bit in (0..top).rev() {
        amm::<V>(y, x, x, n, k0);
        if (e >> bit) & 1 == 1 {
            if bit == 0 {
                amm::<V>(x, y, s, n, k0);
                return;
            }
            amm::<V>(x, y, base, n, k0);
        } else {
            x.copy_from_slice(y);
        }
    }
    // Even exponent: out of Montgomery form with a plain 1.
    base.fill(0);
    base[0] = 1;
    y.copy_from_slice(x);
    amm::<V>(x, y, base, n, k0);
}

/// `out = a * b / R mod n`, below `2n` when `a, b < 2n` (the almost Montgomery product), all in
/// `8V` limbs of 52 bits; `k0 = -n^-1 mod 2^52`.
#[target_feature(enable = "avx512f,avx512ifma")]
fn amm<const V: usize>(out: &mut [u64], a: &[u64], b: &[u64], n: &[u64], k0: u64) {
    let limbs = V * LANES;
    if out.len() != limbs || a.len() != limbs || b.len() != limbs || n.len() != limbs {
        return;
    }
    let zero = _mm512_setzero_si512();
    let mut bv = [zero; V];
    let mut nv = [zero; V];
    for (v, chunk) in bv.iter_mut().zip(b.chunks_exact(LANES)) {
        // SAFETY: the pointer comes from a live `&[u64]` chunk of exactly 8 elements, the 64
        // bytes that the load reads; `loadu` has no alignment requirement.
        *v = unsafe { _mm512_loadu_si512(chunk.as_ptr().cast()) };
    }
    for (v, chunk) in nv.iter_mut().zip(n.chunks_exact(LANES)) {
        // SAFETY: the pointer comes from a live `&[u64]` chunk of exactly 8 elements, the 64
        // bytes that the load reads; `loadu` has no alignment requirement.
        *v = unsafe { _mm512_loadu_si512(chunk.as_ptr().cast()) };
    }
    let (b0, n0) = (b[0], n[0]);
    let mut acc = [zero; V];
    for &ai in a {
        // The lowest accumulator limb, plus its share of a_i * b, decides y.
        let low = _mm_cvtsi128_si64(_mm512_castsi512_si128(acc[0])) as u64;
        let t = low.wrapping_add(ai.wrapping_mul(b0) & MASK);
        let y = t.wrapping_mul(k0) & MASK;
        let carry = t.wrapping_add(y.wrapping_mul(n0) & MASK) >> RADIX;
        let av = _mm512_set1_epi64(ai as i64);
        let yv = _mm512_set1_epi64(y as i64);
        for j in 0..V {
            acc[j] = _mm512_madd52lo_epu64(acc[j], av, bv[j]);
            acc[j] = _mm512_madd52lo_epu64(acc[j], yv, nv[j]);
        }
        // Divide by 2^52: the lowest limb is now 0 mod 2^52, its carry goes to the next one.
        for j in 0..V - 1 {
            acc[j] = _mm512_alignr_epi64::<1>(acc[j + 1], acc[j]);
        }
        acc[V - 1] = _mm512_alignr_epi64::<1>(zero, acc[V - 1]);
        acc[0] = _mm512_add_epi64(acc[0], _mm512_maskz_set1_epi64(1, carry as i64));
        // The high halves land one limb up, that is where the shifted accumulator now is.
        for j in 0..V {
            acc[j] = _mm512_madd52hi_epu64(acc[j], av, bv[j]);
            acc[j] = _mm512_madd52hi_epu64(acc[j], yv, nv[j]);
        }
    }
    for (chunk, v) in out.chunks_exact_mut(LANES).zip(acc) {
        // SAFETY: the pointer comes from a live, exclusively borrowed `&mut [u64]` chunk of
        // exactly 8 elements, the 64 bytes that the store writes; `storeu` has no alignment
        // requirement.
        unsafe { _mm512_storeu_si512(chunk.as_mut_ptr().cast(), v) };
    }
    // Normalise to 52-bit limbs; the value is below 2n < R, so nothing carries out.
    let mut carry = 0;
    for limb in out.iter_mut() {
        let v = *limb + carry;
        *limb = v & MASK;
        carry = v >> RADIX;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_conversions_round_trip() {
        let x: Vec<u64> = (0..64u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef)
            .collect();
        let mut r52 = alloc::vec![0u64; 80];
        to_radix52(&mut r52, &x);
        assert!(r52.iter().all(|&l| l <= MASK));
        let mut back = alloc::vec![0u64; 64];
        from_radix52(&mut back, &r52);
        assert_eq!(back, x);
    }

    #[test]
    fn vector_counts() {
        assert_eq!(vectors_for(512), 2);
        assert_eq!(vectors_for(2048), 5);
        assert_eq!(vectors_for(3072), 8);
        assert_eq!(vectors_for(4096), 10);
        assert_eq!(vectors_for(8192), 20);
    }
}
