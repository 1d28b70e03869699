//! Montgomery arithmetic modulo an odd `n`, for public-key (variable-time) use.
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
    /// `acc += 2 * other`.
    fn acc_add_double(acc: &mut Self::Acc, other: Self::Acc);
    /// The lowest word of the accumulator.
    fn acc_low(acc: &Self::Acc) -> Self;
    /// `acc >>= w`.
    fn acc_shift(acc: &mut Self::Acc);
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
fn final_sub<W: Word>(out: &mut [W], carry: W, n: &[W]) {
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
