//! The portable backend: Montgomery arithmetic modulo an odd `n` on machine words, for
//! public-key (variable-time) use, on every target.
//!
//! Numbers are little-endian slices of [`Word`]s (`u64` on 64-bit targets, `u32` elsewhere),
//! all of the modulus' length `L`, and `R = 2^(w*L)`. The kernels use product scanning (one
//! column of the result at a time, into a three-word accumulator) with the reduction folded into
//! the same column loop ("FIPS" in Koç, Acar and Kaliski, *Analyzing and comparing Montgomery
//! multiplication algorithms*, 1996); squaring computes each cross product once, doubles the
//! column's cross sum and adds the square. A column is a dot product of one slice with another
//! read backwards, unrolled by eight.
//!
//! Measured on x86-64 (see `bench/`), this shape beat the alternatives tried: hybrid scanning
//! in blocks of rows (fixed trip counts), 63-bit limbs with double-word accumulators, reversed
//! operand copies, fused squaring loops. With no `mulx`/`adx` in a portable build, LLVM's code
//! for the three-word accumulation is the limit, and it varies a lot with the loop's shape.
//!
//! Nothing here is constant-time: it only ever sees public values (modulus, signature).
//! Every kernel checks that its slices have the length it relies on and otherwise leaves its
//! output alone (callers always pass consistent lengths), so no input can make it panic.

use core::cmp::Ordering;

use alloc::vec::Vec;

use crate::rs256::{Limb, MAX_LIMBS};

/// Up to this many limbs (but for 32, 64 and other multiples of 16, which have squarings of
/// their own from straight-line code on 64-bit targets), squarings go through the general
/// product: measured on x86-64 (`bench/`), the dedicated squaring loop saves a quarter of the
/// multiplications but loses more than that to loop overhead on short columns; from 3072 bits
/// on it wins.
const SQUARE_WITH_MUL_MAX_LIMBS: usize = 2560 / Limb::BITS as usize;

/// The portable backend's constants for one modulus `n` (which the caller keeps and passes in:
/// every backend needs it in this form).
#[derive(Clone)]
pub(crate) struct Portable {
    /// `R^2 mod n` with `R = 2^(w * L)`.
    pub(crate) rr: Vec<Limb>,
    /// `-n^-1 mod 2^w`.
    pub(crate) n0: Limb,
}

impl Portable {
    /// The constants for the odd modulus `n` (`L >= 1` limbs, `bits` long).
    pub(crate) fn new(n: &[Limb], bits: u32) -> Portable {
        let n0 = n.first().map_or(0, |&w| neg_inv(w));
        let rr = r_squared(n, n0, bits);
        Portable { rr, n0 }
    }

    /// `x = s^e mod n` for `s < n` (all `L` limbs, `n` the modulus these constants are for).
    pub(crate) fn pow(&self, s: &[Limb], e: u32, n: &[Limb], x: &mut [Limb]) {
        let n0 = self.n0;
        pow_with(
            s,
            e,
            &self.rr,
            x,
            |out, a, b| mont_mul(out, a, b, n, n0),
            |out, a| square(out, a, n, n0),
        );
    }
}

/// `x = s^e mod n` for `s < n` (all `L` limbs) by left-to-right square-and-multiply whose last
/// product, with the plain `s`, leaves Montgomery form; `rr = R^2 mod n`, and `mul(out, a, b)`
/// and `sqr(out, a)` are a backend's Montgomery product and squaring (`a b / R mod n`, fully
/// reduced). Shared by the backends on 64-bit (or machine-word) limbs.
#[inline(always)]
pub(crate) fn pow_with(
    s: &[Limb],
    e: u32,
    rr: &[Limb],
    x: &mut [Limb],
    mul: impl Fn(&mut [Limb], &[Limb], &[Limb]),
    sqr: impl Fn(&mut [Limb], &[Limb]),
) {
    let l = x.len();
    if e == 1 {
        x.copy_from_slice(s);
        return;
    }
    // Work space: the other half of each step's (input, output) pair, and s * R when the
    // exponent needs it.
    let mut y = [0 as Limb; MAX_LIMBS];
    let mut base = [0 as Limb; MAX_LIMBS];
    let (Some(y), Some(base)) = (y.get_mut(..l), base.get_mut(..l)) else {
        return;
    };
    // x = s * R mod n (Montgomery form).
    mul(x, s, rr);
    let top = 31 - e.leading_zeros();
    // Multiplying by s for a set bit other than bit 0 needs s * R, kept apart; only
    // exponents with such bits (not 65537, not 3) need it.
    if e & !(1 << top) & !1 != 0 {
        base.copy_from_slice(x);
    }
    for bit in (0..top).rev() {
        sqr(y, x);
        if (e >> bit) & 1 == 1 {
            if bit == 0 {
                // The plain s: (s^(e-1) * R) * s / R = s^e, out of Montgomery form.
                mul(x, y, s);
                return;
            }
            mul(x, y, base);
        } else {
            x.copy_from_slice(y);
        }
    }
    // Even exponent: leave Montgomery form by multiplying with a plain 1.
    base.fill(0);
    base[0] = 1;
    y.copy_from_slice(x);
    mul(x, y, base);
}

/// `y = x^2 / R mod n` by the fastest kernel for the size.
fn square(y: &mut [Limb], x: &[Limb], n: &[Limb], n0: Limb) {
    #[cfg(target_pointer_width = "64")]
    if let (Ok(y32), Ok(x32), Ok(n32)) = (
        <&mut [Limb; 32]>::try_from(&mut *y),
        <&[Limb; 32]>::try_from(x),
        <&[Limb; 32]>::try_from(n),
    ) {
        mont_sqr_32(y32, x32, n32, n0);
        return;
    }
    #[cfg(target_pointer_width = "64")]
    if let (Ok(y64), Ok(x64), Ok(n64)) = (
        <&mut [Limb; 64]>::try_from(&mut *y),
        <&[Limb; 64]>::try_from(x),
        <&[Limb; 64]>::try_from(n),
    ) {
        mont_sqr_64(y64, x64, n64, n0);
        return;
    }
    #[cfg(target_pointer_width = "64")]
    if n.len() > 2 * BLK && n.len().is_multiple_of(BLK) {
        mont_sqr_blocks(y, x, n, n0);
        return;
    }
    if n.len() <= SQUARE_WITH_MUL_MAX_LIMBS {
        mont_mul(y, x, x, n, n0);
    } else {
        mont_sqr(y, x, n, n0);
    }
}

/// `R^2 mod n`, `R = 2^(w*L)`: doubling up to `2^(w*L + L) mod n` (that is `R * 2^L`), then
/// `log2(w)` Montgomery squarings, each of which doubles the exponent of the `2^L` factor.
fn r_squared(n: &[Limb], n0: Limb, bits: u32) -> Vec<Limb> {
    let l = n.len();
    let Some(mut x) = pow2_mod(n, bits, Limb::BITS as usize * l + l) else {
        return alloc::vec![0; l];
    };
    let mut y = alloc::vec![0 as Limb; l];
    for _ in 0..Limb::BITS.trailing_zeros() {
        mont_sqr(&mut y, &x, n, n0);
        core::mem::swap(&mut x, &mut y);
    }
    x
}

/// `2^exp mod n` for the odd `n` of `bits` bits (`L` limbs): doubling from `2^(bits - 1)`,
/// which is below `n`, or the plain power when it is smaller. `None` only for an empty `n`.
pub(crate) fn pow2_mod(n: &[Limb], bits: u32, exp: usize) -> Option<Vec<Limb>> {
    let mut x = alloc::vec![0 as Limb; n.len()];
    let top = (bits as usize).checked_sub(1)?.min(exp);
    *x.get_mut(top / Limb::BITS as usize)? = 1 << (top % Limb::BITS as usize);
    for _ in top..exp {
        let mut carry = 0;
        for w in x.iter_mut() {
            (*w, carry) = w.shl1(carry);
        }
        if carry != 0 || cmp(&x, n) != Ordering::Less {
            sub_assign(&mut x, n);
        }
    }
    Some(x)
}

/// A machine word (limb) with the double-width operations the kernels need.
pub(crate) trait Word: Copy + Default + Eq + Ord + core::fmt::Debug {
    /// Bits in a word.
    const BITS: u32;
    /// Bytes in a word.
    const BYTES: usize;
    /// The value 1.
    const ONE: Self;
    /// Three-word accumulator `(low, high, top)`.
    type Acc: Copy + Default;

    /// `self * rhs mod 2^w`.
    fn mul_lo(self, rhs: Self) -> Self;
    /// `acc += a * b`.
    fn mac(acc: &mut Self::Acc, a: Self, b: Self);
    #[cfg(any(test, target_pointer_width = "64"))]
    /// `acc += w`.
    fn acc_add_word(acc: &mut Self::Acc, w: Self);
    /// `acc += 2 * other`.
    fn acc_add_double(acc: &mut Self::Acc, other: Self::Acc);
    /// The lowest word of the accumulator.
    fn acc_low(acc: &Self::Acc) -> Self;
    /// `acc >>= w`.
    fn acc_shift(acc: &mut Self::Acc);
    #[cfg(any(test, target_pointer_width = "64"))]
    /// `(a + b + carry, carry_out)` with carries in {0, 1}.
    fn adc(a: Self, b: Self, carry: Self) -> (Self, Self);
    /// `(a - b - borrow, borrow_out)` with borrows in {0, 1}.
    fn sbb(a: Self, b: Self, borrow: Self) -> (Self, Self);
    /// `(self << 1) | carry_in`, and the bit shifted out.
    fn shl1(self, carry_in: Self) -> (Self, Self);
    /// A word from at most `BYTES` big-endian bytes.
    fn from_be_bytes_short(bytes: &[u8]) -> Self;
    /// The byte `i` (0 = least significant) of the word.
    fn byte(self, i: usize) -> u8;
    /// Is the word zero?
    fn is_zero(self) -> bool;
}

macro_rules! impl_word {
    ($w:ty, $dw:ty) => {
        impl Word for $w {
            const BITS: u32 = <$w>::BITS;
            const BYTES: usize = core::mem::size_of::<$w>();
            const ONE: Self = 1;
            type Acc = ($w, $w, $w);

            #[inline(always)]
            fn mul_lo(self, rhs: Self) -> Self {
                self.wrapping_mul(rhs)
            }

            #[inline(always)]
            fn mac(acc: &mut Self::Acc, a: Self, b: Self) {
                let p = <$dw>::from(a) * <$dw>::from(b);
                let (lo, c) = acc.0.overflowing_add(p as $w);
                let hi = <$dw>::from(acc.1) + (p >> <$w>::BITS) + <$dw>::from(c);
                acc.0 = lo;
                acc.1 = hi as $w;
                acc.2 = acc.2.wrapping_add((hi >> <$w>::BITS) as $w);
            }

            #[cfg(any(test, target_pointer_width = "64"))]
            #[inline(always)]
            fn acc_add_word(acc: &mut Self::Acc, w: Self) {
                let (lo, c) = acc.0.overflowing_add(w);
                let hi = <$dw>::from(acc.1) + <$dw>::from(c);
                acc.0 = lo;
                acc.1 = hi as $w;
                acc.2 = acc.2.wrapping_add((hi >> <$w>::BITS) as $w);
            }

            #[inline(always)]
            fn acc_add_double(acc: &mut Self::Acc, other: Self::Acc) {
                let top = (other.2 << 1) | (other.1 >> (<$w>::BITS - 1));
                let hi = (other.1 << 1) | (other.0 >> (<$w>::BITS - 1));
                let lo = other.0 << 1;
                let (l, c) = acc.0.overflowing_add(lo);
                let h = <$dw>::from(acc.1) + <$dw>::from(hi) + <$dw>::from(c);
                acc.0 = l;
                acc.1 = h as $w;
                acc.2 = acc
                    .2
                    .wrapping_add(top)
                    .wrapping_add((h >> <$w>::BITS) as $w);
            }

            #[inline(always)]
            fn acc_low(acc: &Self::Acc) -> Self {
                acc.0
            }

            #[inline(always)]
            fn acc_shift(acc: &mut Self::Acc) {
                *acc = (acc.1, acc.2, 0);
            }

            #[cfg(any(test, target_pointer_width = "64"))]
            #[inline(always)]
            fn adc(a: Self, b: Self, carry: Self) -> (Self, Self) {
                let (s1, c1) = a.overflowing_add(b);
                let (s2, c2) = s1.overflowing_add(carry);
                (s2, <$w>::from(c1 | c2))
            }

            #[inline(always)]
            fn sbb(a: Self, b: Self, borrow: Self) -> (Self, Self) {
                let (d1, b1) = a.overflowing_sub(b);
                let (d2, b2) = d1.overflowing_sub(borrow);
                (d2, <$w>::from(b1 | b2))
            }

            #[inline(always)]
            fn shl1(self, carry_in: Self) -> (Self, Self) {
                ((self << 1) | carry_in, self >> (<$w>::BITS - 1))
            }

            fn from_be_bytes_short(bytes: &[u8]) -> Self {
                bytes.iter().fold(0, |acc, &b| (acc << 8) | <$w>::from(b))
            }

            #[inline(always)]
            fn byte(self, i: usize) -> u8 {
                (self >> (8 * i)) as u8
            }

            #[inline(always)]
            fn is_zero(self) -> bool {
                self == 0
            }
        }
    };
}

impl_word!(u32, u64);
impl_word!(u64, u128);

/// `-n0^-1 mod 2^w` for odd `n0` (Newton iteration: each step doubles the correct low bits).
pub(crate) fn neg_inv<W: Word>(n0: W) -> W {
    // n0 * n0 == 1 mod 8 for odd n0: 3 correct bits to start with.
    let mut x = n0;
    let mut bits = 3;
    while bits < W::BITS {
        // x = x * (2 - n0 * x)
        let t = n0.mul_lo(x);
        let two_minus = sub_word(two::<W>(), t);
        x = x.mul_lo(two_minus);
        bits *= 2;
    }
    sub_word(zero::<W>(), x)
}

fn zero<W: Word>() -> W {
    W::default()
}

fn two<W: Word>() -> W {
    W::ONE.shl1(zero()).0
}

fn sub_word<W: Word>(a: W, b: W) -> W {
    W::sbb(a, b, zero()).0
}

/// Compares two equal-length numbers.
pub(crate) fn cmp<W: Word>(a: &[W], b: &[W]) -> Ordering {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        match x.cmp(y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    Ordering::Equal
}

/// `a -= b`, returning the borrow.
pub(crate) fn sub_assign<W: Word>(a: &mut [W], b: &[W]) -> W {
    let mut borrow = zero();
    for (x, &y) in a.iter_mut().zip(b) {
        let (d, bo) = W::sbb(*x, y, borrow);
        *x = d;
        borrow = bo;
    }
    borrow
}

/// After a Montgomery product: `out` holds the low `L` words of a value `< 2n` whose word `L` is
/// `carry` (0 or 1); reduce it below `n`.
#[inline(always)]
pub(crate) fn final_sub<W: Word>(out: &mut [W], carry: W, n: &[W]) {
    if !carry.is_zero() || cmp(out, n) != Ordering::Less {
        sub_assign(out, n);
    }
}

/// `acc += sum_k x[k] * y[len - 1 - k]` (one column of a product) for equal-length `x`, `y`;
/// unrolled by eight.
#[inline(always)]
fn dot_rev<W: Word>(acc: &mut W::Acc, x: &[W], y: &[W]) {
    const U: usize = 8;
    let mut xc = x.chunks_exact(U);
    let mut yc = y.rchunks_exact(U);
    for (p, q) in (&mut xc).zip(&mut yc) {
        for k in 0..U {
            W::mac(acc, p[k], q[U - 1 - k]);
        }
    }
    for (&p, &q) in xc.remainder().iter().zip(yc.remainder().iter().rev()) {
        W::mac(acc, p, q);
    }
}

/// `out = a * b / R mod n`, fully reduced, for `a, b < n`; `n0 = -n^-1 mod 2^w`.
/// All four slices have the same length `L >= 1` (otherwise `out` is left as it is).
pub(crate) fn mont_mul<W: Word>(out: &mut [W], a: &[W], b: &[W], n: &[W], n0: W) {
    let l = n.len();
    if l == 0 || a.len() != l || b.len() != l || out.len() != l {
        return;
    }
    // `out` first holds the reduction multipliers m_0..m_{L-1}; result word i - L is written
    // over m_{i-L}, which column i no longer reads.
    let mut acc = W::Acc::default();
    for i in 0..l {
        dot_rev::<W>(&mut acc, &a[..i], &b[1..=i]);
        dot_rev::<W>(&mut acc, &out[..i], &n[1..=i]);
        W::mac(&mut acc, a[i], b[0]);
        let m = W::acc_low(&acc).mul_lo(n0);
        W::mac(&mut acc, m, n[0]);
        out[i] = m;
        W::acc_shift(&mut acc);
    }
    for s in 1..l {
        dot_rev::<W>(&mut acc, &a[s..], &b[s..]);
        dot_rev::<W>(&mut acc, &out[s..], &n[s..]);
        out[s - 1] = W::acc_low(&acc);
        W::acc_shift(&mut acc);
    }
    out[l - 1] = W::acc_low(&acc);
    W::acc_shift(&mut acc);
    final_sub(out, W::acc_low(&acc), n);
}

/// `out = a * a / R mod n`, fully reduced, for `a < n`; same conventions as [`mont_mul`].
pub(crate) fn mont_sqr<W: Word>(out: &mut [W], a: &[W], n: &[W], n0: W) {
    let l = n.len();
    if l == 0 || a.len() != l || out.len() != l {
        return;
    }
    let mut acc = W::Acc::default();
    for i in 0..2 * l - 1 {
        // Column i: the pairs (j, i - j) with j < i - j once, doubled, plus the square a_{i/2}^2.
        let s = (i + 1).saturating_sub(l);
        let half = i.div_ceil(2);
        let mut cross = W::Acc::default();
        dot_rev::<W>(&mut cross, &a[s..half], &a[i + 1 - half..=i - s]);
        W::acc_add_double(&mut acc, cross);
        if i % 2 == 0 {
            let d = a[i / 2];
            W::mac(&mut acc, d, d);
        }
        if i < l {
            dot_rev::<W>(&mut acc, &out[..i], &n[1..=i]);
            let m = W::acc_low(&acc).mul_lo(n0);
            W::mac(&mut acc, m, n[0]);
            out[i] = m;
        } else {
            dot_rev::<W>(&mut acc, &out[s..], &n[s..]);
            out[s - 1] = W::acc_low(&acc);
        }
        W::acc_shift(&mut acc);
    }
    out[l - 1] = W::acc_low(&acc);
    W::acc_shift(&mut acc);
    final_sub(out, W::acc_low(&acc), n);
}

#[cfg(any(test, target_pointer_width = "64"))]
/// Column `$i` of a 32-limb Montgomery squaring ([`mont_sqr`] for `L = 32`), fully unrolled:
/// `$j` runs over every limb index, and the conditions, all constant, keep the products that
/// belong to the column (the index arithmetic in the others is never evaluated; `% 32` keeps
/// it in range for the compiler's checks).
macro_rules! sqr32_column {
    ($acc:ident, $m:ident, $out:ident, $a:ident, $n:ident, $n0:ident; $i:literal; [$($j:literal)*]) => {{
        const I: usize = $i;
        const S: usize = (I + 1).saturating_sub(32);
        const HALF: usize = I.div_ceil(2);
        let mut cross = W::Acc::default();
        $(
            if $j >= S && $j < HALF {
                W::mac(&mut cross, $a[$j], $a[I.wrapping_sub($j) % 32]);
            }
        )*
        W::acc_add_double(&mut $acc, cross);
        if I % 2 == 0 {
            let d = $a[I / 2 % 32];
            W::mac(&mut $acc, d, d);
        }
        $(
            if $j >= S && $j < I && $j < 32 {
                W::mac(&mut $acc, $m[$j], $n[I.wrapping_sub($j) % 32]);
            }
        )*
        if I < 32 {
            let m = W::acc_low(&$acc).mul_lo($n0);
            W::mac(&mut $acc, m, $n[0]);
            $m[I % 32] = m;
        } else {
            $out[S.wrapping_sub(1) % 32] = W::acc_low(&$acc);
        }
        W::acc_shift(&mut $acc);
    }};
}

#[cfg(any(test, target_pointer_width = "64"))]
/// Every column of a 32-limb squaring, one [`sqr32_column!`] each.
macro_rules! sqr32_columns {
    ($acc:ident, $m:ident, $out:ident, $a:ident, $n:ident, $n0:ident; $js:tt; $($i:literal)*) => {
        $(sqr32_column!($acc, $m, $out, $a, $n, $n0; $i; $js);)*
    };
}

/// [`mont_sqr`] for 32-limb moduli (2048-bit keys on 64-bit targets) as straight-line code.
#[cfg(any(test, target_pointer_width = "64"))]
// The branches for the other half of the columns are dead but still assign `m` (never read).
#[allow(unused_assignments)]
pub(crate) fn mont_sqr_32<W: Word>(out: &mut [W; 32], a: &[W; 32], n: &[W; 32], n0: W) {
    let mut acc = W::Acc::default();
    // The reduction multipliers in an array of their own (not in `out`, as the loop kernels
    // do): LLVM schedules the straight-line code better (2.13 instead of 2.3 cycles per word
    // product).
    let mut m = [W::default(); 32];
    sqr32_columns!(acc, m, out, a, n, n0;
        [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31];
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
        32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62);
    out[31] = W::acc_low(&acc);
    W::acc_shift(&mut acc);
    final_sub(&mut out[..], W::acc_low(&acc), &n[..]);
}

#[cfg(any(test, target_pointer_width = "64"))]
/// Column `$i` of a plain `K`-limb square into `2K` words, fully unrolled like [`sqr32_column!`].
macro_rules! psqr_column {
    (($k:literal, $acc:ident, $t:ident, $a:ident); $i:literal; [$($j:literal)*]) => {{
        const I: usize = $i;
        const K: usize = $k;
        const S: usize = (I + 1).saturating_sub(K);
        const HALF: usize = I.div_ceil(2);
        let mut cross = W::Acc::default();
        $(
            if $j >= S && $j < HALF {
                W::mac(&mut cross, $a[$j], $a[I.wrapping_sub($j) % K]);
            }
        )*
        W::acc_add_double(&mut $acc, cross);
        if I % 2 == 0 {
            let d = $a[I / 2 % K];
            W::mac(&mut $acc, d, d);
        }
        $t[I % (2 * K)] = W::acc_low(&$acc);
        W::acc_shift(&mut $acc);
    }};
}

#[cfg(any(test, target_pointer_width = "64"))]
/// Column `$i` of `t += a * b` for `K`-limb `a`, `b` and a `2K`-word `t`, fully unrolled.
macro_rules! pmul_column {
    (($k:literal, $acc:ident, $t:ident, $a:ident, $b:ident); $i:literal; [$($j:literal)*]) => {{
        const I: usize = $i;
        const K: usize = $k;
        W::acc_add_word(&mut $acc, $t[I % (2 * K)]);
        $(
            if $j + K > I && $j < I + 1 {
                W::mac(&mut $acc, $a[$j], $b[I.wrapping_sub($j) % K]);
            }
        )*
        $t[I % (2 * K)] = W::acc_low(&$acc);
        W::acc_shift(&mut $acc);
    }};
}

#[cfg(any(test, target_pointer_width = "64"))]
/// Column `$i` of one `K`-word block of Montgomery reduction: `t += m * n` for a `2K`-word `t`
/// and `K`-limb `n`, with the multipliers `m` chosen on the way to clear the low `K` words.
macro_rules! redc_column {
    (($k:literal, $acc:ident, $t:ident, $m:ident, $n:ident, $n0:ident); $i:literal; [$($j:literal)*]) => {{
        const I: usize = $i;
        const K: usize = $k;
        W::acc_add_word(&mut $acc, $t[I % (2 * K)]);
        $(
            if $j + K > I && $j < I {
                W::mac(&mut $acc, $m[$j], $n[I.wrapping_sub($j) % K]);
            }
        )*
        if I < K {
            let m = W::acc_low(&$acc).mul_lo($n0);
            W::mac(&mut $acc, m, $n[0]);
            $m[I % K] = m;
        } else {
            $t[I % (2 * K)] = W::acc_low(&$acc);
        }
        W::acc_shift(&mut $acc);
    }};
}

#[cfg(any(test, target_pointer_width = "64"))]
/// Columns 0 to 63 of a 32-limb block kernel, one `$col!` each.
macro_rules! block32_columns {
    ($col:ident!$args:tt) => {
        block_columns!(@ $col $args;
            [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31];
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60
            61 62 63)
    };
}

#[cfg(any(test, target_pointer_width = "64"))]
/// Columns 0 to 31 of a 16-limb block kernel, one `$col!` each.
macro_rules! block16_columns {
    ($col:ident!$args:tt) => {
        block_columns!(@ $col $args;
            [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15];
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31)
    };
}

#[cfg(any(test, target_pointer_width = "64"))]
/// One `$col!` per column `$i`.
macro_rules! block_columns {
    (@ $col:ident $args:tt; $js:tt; $($i:literal)*) => {
        $($col!($args; $i; $js);)*
    };
}

/// `t = a^2` (64 words) for a 32-limb `a`, straight-line.
#[cfg(any(test, target_pointer_width = "64"))]
#[inline(never)]
pub(crate) fn sqr32<W: Word>(t: &mut [W; 64], a: &[W; 32]) {
    let mut acc = W::Acc::default();
    block32_columns!(psqr_column!(32, acc, t, a));
}

/// Block size of the products and reductions in [`mont_sqr_64`]. Measured on x86-64 (`bench/`):
/// 16 keeps the three kernels to ~37 KB of code; 32-limb blocks (fewer calls and carry
/// propagations) saved 4% more time at 4096 bits for ~85 KB, and one 32-limb kernel for both the
/// products and the reduction (a select per column) was slower than either.
#[cfg(any(test, target_pointer_width = "64"))]
pub(crate) const BLK: usize = 16;

/// `t += a * b` for `BLK`-limb `a`, `b` and a `2 BLK`-word `t`, straight-line; returns the
/// carry out of `t` (a word: 0 or 1).
#[cfg(any(test, target_pointer_width = "64"))]
#[inline(never)]
pub(crate) fn mul_blk<W: Word>(t: &mut [W; 2 * BLK], a: &[W; BLK], b: &[W; BLK]) -> W {
    let mut acc = W::Acc::default();
    block16_columns!(pmul_column!(16, acc, t, a, b));
    W::acc_low(&acc)
}

/// `t = a^2` (`2 BLK` words) for a `BLK`-limb `a`, straight-line.
#[cfg(any(test, target_pointer_width = "64"))]
#[inline(never)]
pub(crate) fn sqr_blk<W: Word>(t: &mut [W; 2 * BLK], a: &[W; BLK]) {
    let mut acc = W::Acc::default();
    block16_columns!(psqr_column!(16, acc, t, a));
}

/// One `BLK`-word block of Montgomery reduction, straight-line: `m = -t_low * n^-1 mod
/// 2^(BLK w)` (with `n0 = -n^-1 mod 2^w`) and `t += m * n`, which clears the low `BLK` words
/// of `t` (left as they were: the caller never reads them again); returns the carry out of `t`.
#[cfg(any(test, target_pointer_width = "64"))]
#[inline(never)]
// The branches for the upper half of the columns are dead but still assign `m` (never read).
#[allow(unused_assignments)]
pub(crate) fn redc_blk<W: Word>(t: &mut [W; 2 * BLK], m: &mut [W; BLK], n: &[W; BLK], n0: W) -> W {
    let mut acc = W::Acc::default();
    block16_columns!(redc_column!(16, acc, t, m, n, n0));
    W::acc_low(&acc)
}

/// `t += c` (a word), carrying as far as needed; a carry out of `t` is dropped (callers make
/// sure there is none).
#[cfg(any(test, target_pointer_width = "64"))]
fn add_word<W: Word>(t: &mut [W], mut c: W) {
    for w in t {
        if c.is_zero() {
            return;
        }
        (*w, c) = W::adc(*w, c, zero());
    }
}

/// `N` words of `x` from `o` on.
#[cfg(any(test, target_pointer_width = "64"))]
fn part<W: Word, const N: usize>(x: &[W], o: usize) -> Option<&[W; N]> {
    x.get(o..o + N)?.try_into().ok()
}

/// `N` words of `x` from `o` on.
#[cfg(any(test, target_pointer_width = "64"))]
fn part_mut<W: Word, const N: usize>(x: &mut [W], o: usize) -> Option<&mut [W; N]> {
    x.get_mut(o..o + N)?.try_into().ok()
}

/// `t += a * b` for `a`, `b` of `BLK` limbs times `i`, `j`, by blocks: the carries are
/// propagated through `t`, whose length is at least `len(a) + len(b)`; a carry out of `t` is
/// dropped (callers make sure there is none).
#[cfg(any(test, target_pointer_width = "64"))]
fn mul_add_blocks<W: Word>(t: &mut [W], a: &[W], b: &[W]) {
    for i in (0..a.len()).step_by(BLK) {
        let Some(ab) = part::<W, BLK>(a, i) else {
            return;
        };
        for j in (0..b.len()).step_by(BLK) {
            let (Some(bb), Some(tb)) = (part::<W, BLK>(b, j), part_mut::<W, { 2 * BLK }>(t, i + j))
            else {
                return;
            };
            let c = mul_blk(tb, ab, bb);
            add_word(t.get_mut(i + j + 2 * BLK..).unwrap_or_default(), c);
        }
    }
}

/// [`mont_sqr`] for 64-limb moduli (4096-bit keys on 64-bit targets) from straight-line
/// blocks: `a^2 = lo^2 + 2 lo hi B + hi^2 B^2` (`B = 2^(32w)`) with three [`sqr32`] (Karatsuba's
/// `2 lo hi = lo^2 + hi^2 - (lo - hi)^2`, in place of a 32×32-limb product that costs twice a
/// squaring), then the Montgomery reduction of the 128-word square `BLK` words at a time, each
/// block `t += m * n` with [`redc_blk`] for the low `BLK` limbs of `n` and products for the rest.
#[cfg(any(test, target_pointer_width = "64"))]
pub(crate) fn mont_sqr_64<W: Word>(out: &mut [W; 64], a: &[W; 64], n: &[W; 64], n0: W) {
    // The square, with a word to spare for the reduction's carry.
    let mut t = [W::default(); 129];
    for o in [0, 32] {
        let (Some(tb), Some(half)) = (part_mut::<W, 64>(&mut t, 2 * o), part::<W, 32>(a, o)) else {
            return;
        };
        sqr32(tb, half);
    }
    // d = |lo - hi|, then d^2.
    let (lo, hi) = a.split_at(32);
    let mut d = [W::default(); 32];
    let (x, y) = if cmp(lo, hi) == Ordering::Less {
        (hi, lo)
    } else {
        (lo, hi)
    };
    d.copy_from_slice(x);
    sub_assign(&mut d, y);
    let mut dd = [W::default(); 64];
    sqr32(&mut dd, &d);
    // s = lo^2 + hi^2 - d^2 = 2 lo hi (65 words), then t += s B.
    let mut s = [W::default(); 65];
    let mut carry = zero();
    for (i, w) in s.iter_mut().take(64).enumerate() {
        (*w, carry) = W::adc(t[i], t[64 + i], carry);
    }
    s[64] = carry;
    let borrow = sub_assign(&mut s[..64], &dd);
    s[64] = sub_word(s[64], borrow);
    let mut carry = zero();
    for (w, &q) in t[32..97].iter_mut().zip(&s) {
        (*w, carry) = W::adc(*w, q, carry);
    }
    add_word(&mut t[97..], carry);
    // Reduction.
    let Some(n_lo) = part::<W, BLK>(n, 0) else {
        return;
    };
    let mut m = [W::default(); BLK];
    for o in (0..64).step_by(BLK) {
        let Some(tb) = part_mut::<W, { 2 * BLK }>(&mut t, o) else {
            return;
        };
        let c = redc_blk(tb, &mut m, n_lo, n0);
        add_word(&mut t[o + 2 * BLK..], c);
        mul_add_blocks(&mut t[o + BLK..], &m, &n[BLK..]);
    }
    out.copy_from_slice(&t[64..128]);
    final_sub(&mut out[..], t[128], &n[..]);
}

/// [`mont_sqr`] for `L = k BLK` limbs, `k >= 2`, from straight-line blocks (`B = 2^(w BLK)`):
/// the cross products `a_i a_j B^(i+j)`, `i < j`, by [`mul_blk`], doubled, plus the squares
/// `a_i^2 B^(2i)` by [`sqr_blk`], then the Montgomery reduction `BLK` words at a time as in
/// [`mont_sqr_64`]. Leaves `out` alone for other lengths.
#[cfg(any(test, target_pointer_width = "64"))]
pub(crate) fn mont_sqr_blocks<W: Word>(out: &mut [W], a: &[W], n: &[W], n0: W) {
    let l = n.len();
    if l < 2 * BLK || !l.is_multiple_of(BLK) || l > MAX_LIMBS || a.len() != l || out.len() != l
    {
        return;
    }
    // The cross products, a word to spare for the doubling's carry.
    let mut p = [W::default(); 2 * MAX_LIMBS];
    let p = &mut p[..2 * l];
    for i in (0..l - BLK).step_by(BLK) {
        let (Some(ai), Some(rest)) = (a.get(i..i + BLK), a.get(i + BLK..)) else {
            return;
        };
        mul_add_blocks(&mut p[2 * i + BLK..], ai, rest);
    }
    // The squares.
    let mut t = [W::default(); 2 * MAX_LIMBS + 1];
    let t = &mut t[..2 * l + 1];
    for i in (0..l).step_by(BLK) {
        let (Some(tb), Some(ai)) = (part_mut::<W, { 2 * BLK }>(t, 2 * i), part::<W, BLK>(a, i))
        else {
            return;
        };
        sqr_blk(tb, ai);
    }
    // t += 2 p
    let mut carry = zero();
    let mut bit = zero();
    for (w, &q) in t.iter_mut().zip(p.iter()) {
        let d;
        (d, bit) = q.shl1(bit);
        (*w, carry) = W::adc(*w, d, carry);
    }
    // Reduction.
    let Some(n_lo) = part::<W, BLK>(n, 0) else {
        return;
    };
    let mut m = [W::default(); BLK];
    for o in (0..l).step_by(BLK) {
        let Some(tb) = part_mut::<W, { 2 * BLK }>(t, o) else {
            return;
        };
        let c = redc_blk(tb, &mut m, n_lo, n0);
        add_word(&mut t[o + 2 * BLK..], c);
        mul_add_blocks(&mut t[o + BLK..], &m, &n[BLK..]);
    }
    out.copy_from_slice(&t[l..2 * l]);
    final_sub(out, t[2 * l], n);
}
