//! The BMI2 + ADX backend (x86-64, `adx` feature): Montgomery arithmetic on 64-bit limbs with
//! `mulx`, `adcx` and `adox`, for the x86-64 CPUs that have both (Intel since Broadwell, AMD
//! since Zen), which is nearly every x86-64 server without AVX-512 IFMA.
//!
//! The numbers are the portable backend's (64-bit limbs, the same `-n^-1 mod 2^64`), padded
//! with zero words to `L8`, a multiple of eight limbs (`R = 2^(64 L8)`). `mulx` leaves the flags
//! alone, so one carry chain (`adcx`, the carry flag) and a second, independent one (`adox`, the
//! overflow flag) run through the same sequence of products. LLVM does not emit the two chains
//! from Rust (`_addcarryx_u64` becomes one serial `adc` chain), which is why the inner loops are
//! written in `asm!`.
//!
//! Products and squarings are separated operand scanning ("SOS" in Koç, Acar and Kaliski,
//! *Analyzing and comparing Montgomery multiplication algorithms*, 1996): the full product into
//! `2L8` words (for a squaring, each cross product once, doubled, plus the squares), then the
//! reduction. Both go by passes of eight multiplier words over 8-word chunks of the other
//! operand ([`pass_mul`], [`pass_redc`], the shape of OpenSSL's `mulx4x`/`sqrx8x` code): eight
//! words of the accumulator stay in registers while the eight multipliers go by, so a product
//! costs a `mulx`, an `adcx` and an `adox`, and the accumulator is read and written once per
//! chunk instead of once per product. A squaring's 8×8 triangles on the diagonal are straight
//! rows ([`triangle`]), and its doubling adds the squares on the second chain as it doubles on
//! the first ([`double_add_squares`]).
//!
//! The detection is [`cpufeatures`] (CPUID): every function that runs these instructions takes
//! a [`Cpu`], which only [`Cpu::detect`] makes, after finding `bmi2` and `adx`; an [`Adx`]
//! holds one. That is what makes executing them sound. Like the portable kernel, this one is
//! variable-time and only ever sees public values.

use core::arch::asm;

use alloc::vec::Vec;

use super::portable::{self, Portable};
use crate::rs256::MAX_LIMBS;

cpufeatures::new!(cpuid_adx, "bmi2", "adx");

/// Proof that this CPU has BMI2 and ADX: a value exists only after the CPU check (its field is
/// private to this module and [`Cpu::detect`] is its only constructor).
#[derive(Clone, Copy)]
struct Cpu(());

impl Cpu {
    fn detect() -> Option<Cpu> {
        cpuid_adx::get().then_some(Cpu(()))
    }
}

/// The constants for one modulus, on a CPU with BMI2 and ADX: holding one is the proof that
/// this CPU can run the kernels below.
#[derive(Clone)]
pub(crate) struct Adx {
    /// The modulus padded with zero words to `L8`, a multiple of eight limbs.
    n: Vec<u64>,
    /// `R^2 mod n`, `R = 2^(64 L8)`.
    rr: Vec<u64>,
    /// `-n^-1 mod 2^64`.
    n0: u64,
    cpu: Cpu,
}

impl Adx {
    /// The backend for the odd modulus `n` (`bits` long) whose portable constants are
    /// `portable`, or `None` when this CPU has no BMI2 or no ADX.
    pub(crate) fn new(n: &[u64], bits: u32, portable: &Portable) -> Option<Adx> {
        let cpu = Cpu::detect()?;
        let l = n.len();
        let l8 = l.div_ceil(8) * 8;
        let rr = if l8 == l {
            portable.rr.clone()
        } else {
            // R8^2 = 2^(128 L8) mod n is mont_mul(rr, 2^(128 L8 - 64 L) mod n): the portable
            // product divides by 2^(64 L) and rr is 2^(128 L).
            let t = portable::pow2_mod(n, bits, 128 * l8 - 64 * l)?;
            let mut rr = alloc::vec![0u64; l];
            portable::mont_mul(&mut rr, &portable.rr, &t, n, portable.n0);
            rr.resize(l8, 0);
            rr
        };
        let mut n8 = n.to_vec();
        n8.resize(l8, 0);
        Some(Adx {
            n: n8,
            rr,
            n0: portable.n0,
            cpu,
        })
    }

    /// `x = s^e mod n` for `s < n` (both `L` limbs, `n` the modulus this backend was built for).
    pub(crate) fn pow(&self, s: &[u64], e: u32, x: &mut [u64]) {
        let (cpu, n0, n) = (self.cpu, self.n0, &self.n[..]);
        let l8 = n.len();
        let mut s8 = [0u64; MAX_LIMBS];
        let mut x8 = [0u64; MAX_LIMBS];
        let (Some(s8), Some(x8)) = (s8.get_mut(..l8), x8.get_mut(..l8)) else {
            return;
        };
        let Some(low) = s8.get_mut(..s.len()) else {
            return;
        };
        low.copy_from_slice(s);
        portable::pow_with(
            s8,
            e,
            &self.rr,
            x8,
            |out, a, b| mont_mul(cpu, out, a, b, n, n0),
            |out, a| mont_sqr(cpu, out, a, n, n0),
        );
        // The result is below n, so its words from L on are zero.
        if let Some(result) = x8.get(..x.len()) {
            x.copy_from_slice(result);
        }
    }
}

/// Words of a pass's scratch: the eight multipliers, a zero, the carry between chunks, the
/// chunk counter and `-n^-1 mod 2^64`.
const SCRATCH: usize = 12;

/// One row of an 8-word chunk: the window `w0..w7` (eight words of the accumulator) plus `rdx`
/// times the chunk `[ap]..[ap + 56]` is nine words; the lowest goes to `t1`, the other eight are
/// the new window in `w0..w7`. The carry chain (`adcx`) adds each product's low word, the
/// overflow chain (`adox`) the window word above; both end in the top word, which cannot
/// overflow (the nine words hold the sum), so both flags are clear afterwards. Needs both flags
/// clear before; `t2` is a temporary.
macro_rules! row {
    () => {
        concat!(
            "mov {t2}, {w0}\n",
            "mulx {w0}, {t1}, qword ptr [{ap}]\n",
            "adcx {t1}, {t2}\n",
            "adox {w0}, {w1}\n",
            "mulx {w1}, {t2}, qword ptr [{ap} + 8]\n",
            "adcx {w0}, {t2}\n",
            "adox {w1}, {w2}\n",
            "mulx {w2}, {t2}, qword ptr [{ap} + 16]\n",
            "adcx {w1}, {t2}\n",
            "adox {w2}, {w3}\n",
            "mulx {w3}, {t2}, qword ptr [{ap} + 24]\n",
            "adcx {w2}, {t2}\n",
            "adox {w3}, {w4}\n",
            "mulx {w4}, {t2}, qword ptr [{ap} + 32]\n",
            "adcx {w3}, {t2}\n",
            "adox {w4}, {w5}\n",
            "mulx {w5}, {t2}, qword ptr [{ap} + 40]\n",
            "adcx {w4}, {t2}\n",
            "adox {w5}, {w6}\n",
            "mulx {w6}, {t2}, qword ptr [{ap} + 48]\n",
            "adcx {w5}, {t2}\n",
            "adox {w6}, {w7}\n",
            "mulx {w7}, {t2}, qword ptr [{ap} + 56]\n",
            "adcx {w6}, {t2}\n",
            "adox {w7}, qword ptr [{xp} + 64]\n",
            "adcx {w7}, qword ptr [{xp} + 64]\n",
        )
    };
}

/// Row `$k` (a byte offset, `"0"` to `"56"`) of a chunk whose multipliers are in the scratch:
/// the word shifted out of the window is final and goes to the accumulator.
macro_rules! row_stored {
    ($k:literal) => {
        concat!(
            "mov rdx, qword ptr [{xp} + ",
            $k,
            "]\n",
            "xor {t1:e}, {t1:e}\n",
            row!(),
            "mov qword ptr [{tp} + ",
            $k,
            "], {t1}\n",
        )
    };
}

/// Row `$k` of a reduction's first chunk: the multiplier `m = w0 * n0 mod 2^64` makes the word
/// shifted out zero (it is dropped); `m` goes to the scratch for the later chunks.
macro_rules! row_reducing {
    ($k:literal) => {
        concat!(
            "mov rdx, {w0}\n",
            "imul rdx, qword ptr [{xp} + 88]\n",
            "mov qword ptr [{xp} + ",
            $k,
            "], rdx\n",
            "xor {t1:e}, {t1:e}\n",
            row!(),
        )
    };
}

/// The window plus the accumulator's next eight words at `tp`, plus the carry bit in the
/// scratch; the new carry bit goes back there.
macro_rules! add_words {
    () => {
        concat!(
            "bt qword ptr [{xp} + 72], 0\n",
            "adc {w0}, qword ptr [{tp}]\n",
            "adc {w1}, qword ptr [{tp} + 8]\n",
            "adc {w2}, qword ptr [{tp} + 16]\n",
            "adc {w3}, qword ptr [{tp} + 24]\n",
            "adc {w4}, qword ptr [{tp} + 32]\n",
            "adc {w5}, qword ptr [{tp} + 40]\n",
            "adc {w6}, qword ptr [{tp} + 48]\n",
            "adc {w7}, qword ptr [{tp} + 56]\n",
            "setc byte ptr [{xp} + 72]\n",
        )
    };
}

/// Eight rows with the multipliers from the scratch, then on to the next chunk.
macro_rules! chunk_stored {
    () => {
        concat!(
            add_words!(),
            row_stored!("0"),
            row_stored!("8"),
            row_stored!("16"),
            row_stored!("24"),
            row_stored!("32"),
            row_stored!("40"),
            row_stored!("48"),
            row_stored!("56"),
            "lea {tp}, [{tp} + 64]\n",
            "lea {ap}, [{ap} + 64]\n",
        )
    };
}

/// Entry: the window cleared.
macro_rules! enter {
    () => {
        concat!(
            "xor {w0:e}, {w0:e}\n",
            "xor {w1:e}, {w1:e}\n",
            "xor {w2:e}, {w2:e}\n",
            "xor {w3:e}, {w3:e}\n",
            "xor {w4:e}, {w4:e}\n",
            "xor {w5:e}, {w5:e}\n",
            "xor {w6:e}, {w6:e}\n",
            "xor {w7:e}, {w7:e}\n",
        )
    };
}

/// Exit: the window plus the eight words at `tp` (and the carry bit) stored there, the carry
/// out in the scratch.
macro_rules! leave {
    () => {
        concat!(
            "bt qword ptr [{xp} + 72], 0\n",
            "adc {w0}, qword ptr [{tp}]\n",
            "mov qword ptr [{tp}], {w0}\n",
            "adc {w1}, qword ptr [{tp} + 8]\n",
            "mov qword ptr [{tp} + 8], {w1}\n",
            "adc {w2}, qword ptr [{tp} + 16]\n",
            "mov qword ptr [{tp} + 16], {w2}\n",
            "adc {w3}, qword ptr [{tp} + 24]\n",
            "mov qword ptr [{tp} + 24], {w3}\n",
            "adc {w4}, qword ptr [{tp} + 32]\n",
            "mov qword ptr [{tp} + 32], {w4}\n",
            "adc {w5}, qword ptr [{tp} + 40]\n",
            "mov qword ptr [{tp} + 40], {w5}\n",
            "adc {w6}, qword ptr [{tp} + 48]\n",
            "mov qword ptr [{tp} + 48], {w6}\n",
            "adc {w7}, qword ptr [{tp} + 56]\n",
            "mov qword ptr [{tp} + 56], {w7}\n",
            "setc byte ptr [{xp} + 72]\n",
        )
    };
}

/// `t += x * a` for eight multiplier words `x` (`x_k` at word `k`) and `a` of `8C` words,
/// `C >= 1`, over `t`'s first `8C + 8` words; returns the carry out of them (0 or 1). Does
/// nothing, and returns 0, unless the lengths are those.
fn pass_mul(_cpu: Cpu, t: &mut [u64], a: &[u64], x: &[u64; 8]) -> u64 {
    let chunks = a.len() / 8;
    if chunks == 0 || !a.len().is_multiple_of(8) || t.len() != a.len() + 8 {
        return 0;
    }
    let mut scratch = [0u64; SCRATCH];
    scratch[..8].copy_from_slice(x);
    scratch[10] = chunks as u64;
    let xp = scratch.as_mut_ptr();
    // SAFETY: the instructions are `mulx` (BMI2) and `adcx`/`adox` (ADX), which this CPU has:
    // `_cpu` exists, so `Cpu::detect` found both. Memory: each of the `C` chunks reads the eight
    // words at `ap` and reads and writes the eight at `tp`, then advances both by eight words;
    // the exit reads and writes the eight words at `tp` once more. That is `a[..8C]` and
    // `t[..8C + 8]`, the lengths checked above (`t` exclusively borrowed), and the `SCRATCH`
    // words at `xp`, a local array; no stack is used.
    unsafe {
        asm!(
            enter!(),
            "2:",
            chunk_stored!(),
            "sub qword ptr [{xp} + 80], 1",
            "jnz 2b",
            leave!(),
            w0 = out(reg) _,
            w1 = out(reg) _,
            w2 = out(reg) _,
            w3 = out(reg) _,
            w4 = out(reg) _,
            w5 = out(reg) _,
            w6 = out(reg) _,
            w7 = out(reg) _,
            t1 = out(reg) _,
            t2 = out(reg) _,
            tp = inout(reg) t.as_mut_ptr() => _,
            ap = inout(reg) a.as_ptr() => _,
            xp = in(reg) xp,
            out("rdx") _,
            options(nostack),
        );
    }
    scratch[9]
}

/// One pass of Montgomery reduction: `t += m * n` for the eight words `m` that clear `t`'s
/// lowest eight (`m_k` chosen from word `k` as the rows go, with `n0 = -n^-1 mod 2^64`), `n` of
/// `8C` words, over `t`'s first `8C + 8` words; returns the carry out of them (0 or 1). Does
/// nothing, and returns 0, unless the lengths are those.
fn pass_redc(_cpu: Cpu, t: &mut [u64], n: &[u64], n0: u64) -> u64 {
    let chunks = n.len() / 8;
    if chunks == 0 || !n.len().is_multiple_of(8) || t.len() != n.len() + 8 {
        return 0;
    }
    let mut scratch = [0u64; SCRATCH];
    scratch[10] = chunks as u64;
    scratch[11] = n0;
    let xp = scratch.as_mut_ptr();
    // SAFETY: as in `pass_mul`, with `n` for `a`: the first chunk's rows write their
    // multipliers to the scratch instead of writing `t` (its words become zero), the others
    // are the same chunks as there.
    unsafe {
        asm!(
            enter!(),
            add_words!(),
            row_reducing!("0"),
            row_reducing!("8"),
            row_reducing!("16"),
            row_reducing!("24"),
            row_reducing!("32"),
            row_reducing!("40"),
            row_reducing!("48"),
            row_reducing!("56"),
            "lea {tp}, [{tp} + 64]",
            "lea {ap}, [{ap} + 64]",
            "sub qword ptr [{xp} + 80], 1",
            "jz 3f",
            "2:",
            chunk_stored!(),
            "sub qword ptr [{xp} + 80], 1",
            "jnz 2b",
            "3:",
            leave!(),
            w0 = out(reg) _,
            w1 = out(reg) _,
            w2 = out(reg) _,
            w3 = out(reg) _,
            w4 = out(reg) _,
            w5 = out(reg) _,
            w6 = out(reg) _,
            w7 = out(reg) _,
            t1 = out(reg) _,
            t2 = out(reg) _,
            tp = inout(reg) t.as_mut_ptr() => _,
            ap = inout(reg) n.as_ptr() => _,
            xp = in(reg) xp,
            out("rdx") _,
            options(nostack),
        );
    }
    scratch[9]
}

/// One product of a triangle row: `x_j` (at byte `$xj` of `xp`) times `rdx`, its low word
/// plus the previous high word (`c`, carry chain) plus the accumulator word at byte `$tk` of `tp`
/// (overflow chain) back there; the high word becomes `c`.
macro_rules! tri_step {
    ($xj:literal, $tk:literal) => {
        concat!(
            "mulx {hi}, {lo}, qword ptr [{xp} + ",
            $xj,
            "]\n",
            "adcx {lo}, {c}\n",
            "adox {lo}, qword ptr [{tp} + ",
            $tk,
            "]\n",
            "mov qword ptr [{tp} + ",
            $tk,
            "], {lo}\n",
            "mov {c}, {hi}\n",
        )
    };
}

/// The cross products of eight words: `t[1..15] = sum x_i x_j 2^(64 (i + j))` over `i < j`,
/// for a `t` that is zero (row `i` adds `x_i * x[i+1..]` at word `2i + 1` and writes its carry
/// word to word `i + 8`, which no earlier row reached).
fn triangle(_cpu: Cpu, t: &mut [u64; 16], x: &[u64; 8]) {
    // SAFETY: `mulx` (BMI2) and `adcx`/`adox` (ADX) are on this CPU: `_cpu` exists, so
    // `Cpu::detect` found both. Memory: reads the eight words of `x` and reads and writes words
    // 1 to 14 of `t`, a borrowed array of sixteen; no stack is used.
    unsafe {
        asm!(
            "xor {z:e}, {z:e}\n",
            "mov rdx, qword ptr [{xp} + 0]\n",
            "xor {c:e}, {c:e}\n",
            tri_step!("8", "8"),
            tri_step!("16", "16"),
            tri_step!("24", "24"),
            tri_step!("32", "32"),
            tri_step!("40", "40"),
            tri_step!("48", "48"),
            tri_step!("56", "56"),
            "adcx {c}, {z}\n",
            "adox {c}, {z}\n",
            "mov qword ptr [{tp} + 64], {c}\n",
            "mov rdx, qword ptr [{xp} + 8]\n",
            "xor {c:e}, {c:e}\n",
            tri_step!("16", "24"),
            tri_step!("24", "32"),
            tri_step!("32", "40"),
            tri_step!("40", "48"),
            tri_step!("48", "56"),
            tri_step!("56", "64"),
            "adcx {c}, {z}\n",
            "adox {c}, {z}\n",
            "mov qword ptr [{tp} + 72], {c}\n",
            "mov rdx, qword ptr [{xp} + 16]\n",
            "xor {c:e}, {c:e}\n",
            tri_step!("24", "40"),
            tri_step!("32", "48"),
            tri_step!("40", "56"),
            tri_step!("48", "64"),
            tri_step!("56", "72"),
            "adcx {c}, {z}\n",
            "adox {c}, {z}\n",
            "mov qword ptr [{tp} + 80], {c}\n",
            "mov rdx, qword ptr [{xp} + 24]\n",
            "xor {c:e}, {c:e}\n",
            tri_step!("32", "56"),
            tri_step!("40", "64"),
            tri_step!("48", "72"),
            tri_step!("56", "80"),
            "adcx {c}, {z}\n",
            "adox {c}, {z}\n",
            "mov qword ptr [{tp} + 88], {c}\n",
            "mov rdx, qword ptr [{xp} + 32]\n",
            "xor {c:e}, {c:e}\n",
            tri_step!("40", "72"),
            tri_step!("48", "80"),
            tri_step!("56", "88"),
            "adcx {c}, {z}\n",
            "adox {c}, {z}\n",
            "mov qword ptr [{tp} + 96], {c}\n",
            "mov rdx, qword ptr [{xp} + 40]\n",
            "xor {c:e}, {c:e}\n",
            tri_step!("48", "88"),
            tri_step!("56", "96"),
            "adcx {c}, {z}\n",
            "adox {c}, {z}\n",
            "mov qword ptr [{tp} + 104], {c}\n",
            "mov rdx, qword ptr [{xp} + 48]\n",
            "xor {c:e}, {c:e}\n",
            tri_step!("56", "104"),
            "adcx {c}, {z}\n",
            "adox {c}, {z}\n",
            "mov qword ptr [{tp} + 112], {c}\n",
            xp = in(reg) x.as_ptr(),
            tp = in(reg) t.as_mut_ptr(),
            c = out(reg) _,
            hi = out(reg) _,
            lo = out(reg) _,
            z = out(reg) _,
            out("rdx") _,
            options(nostack),
        );
    }
}

/// One word pair of [`double_add_squares`]: `a_k^2` (`a_k` at byte `$a` of `ap`) plus twice
/// the accumulator words at bytes `$t` and `$t + 8` of `tp`.
macro_rules! square_step {
    ($a:literal, $t0:literal, $t1:literal) => {
        concat!(
            "mov rdx, qword ptr [{ap} + ",
            $a,
            "]\n",
            "mulx {hi}, {lo}, rdx\n",
            "mov {u0}, qword ptr [{tp} + ",
            $t0,
            "]\n",
            "mov {u1}, qword ptr [{tp} + ",
            $t1,
            "]\n",
            "adcx {u0}, {u0}\n",
            "adcx {u1}, {u1}\n",
            "adox {u0}, {lo}\n",
            "adox {u1}, {hi}\n",
            "mov qword ptr [{tp} + ",
            $t0,
            "], {u0}\n",
            "mov qword ptr [{tp} + ",
            $t1,
            "], {u1}\n",
        )
    };
}

/// `t = 2 t + sum a_i^2 2^(128 i)` for `a` of `4K` words (`K >= 1`) and `t` of `8K`, the cross
/// products of `a`: that is `a^2`, which fits, so no carry is lost. Does nothing unless the
/// lengths are those.
fn double_add_squares(_cpu: Cpu, t: &mut [u64], a: &[u64]) {
    let quads = a.len() / 4;
    if quads == 0 || !a.len().is_multiple_of(4) || t.len() != 2 * a.len() {
        return;
    }
    // SAFETY: `mulx` (BMI2) and `adcx`/`adox` (ADX) are on this CPU: `_cpu` exists, so
    // `Cpu::detect` found both. Memory: each of the `K` iterations reads four words at `ap` and
    // reads and writes eight at `tp`, then advances them by four and eight words: `a[..4K]` and
    // `t[..8K]`, the lengths checked above (`t` exclusively borrowed). The loop counts with
    // `lea` and `jrcxz`, which leave the two carry chains alone; no stack is used.
    unsafe {
        asm!(
            "xor {lo:e}, {lo:e}",
            "2:",
            square_step!("0", "0", "8"),
            square_step!("8", "16", "24"),
            square_step!("16", "32", "40"),
            square_step!("24", "48", "56"),
            "lea {ap}, [{ap} + 32]",
            "lea {tp}, [{tp} + 64]",
            "lea rcx, [rcx - 1]",
            "jrcxz 3f",
            "jmp 2b",
            "3:",
            ap = inout(reg) a.as_ptr() => _,
            tp = inout(reg) t.as_mut_ptr() => _,
            inout("rcx") quads => _,
            hi = out(reg) _,
            lo = out(reg) _,
            u0 = out(reg) _,
            u1 = out(reg) _,
            out("rdx") _,
            options(nostack),
        );
    }
}

/// `t[i..] += c`, carrying as far as needed; returns the carry out of `t` (0 or 1).
fn add_at(t: &mut [u64], i: usize, mut c: u64) -> u64 {
    for w in t.iter_mut().skip(i) {
        if c == 0 {
            return 0;
        }
        let (s, o) = w.overflowing_add(c);
        *w = s;
        c = u64::from(o);
    }
    c
}

/// Montgomery reduction by passes of eight words: `out = t / R mod n` for the `2L`-word
/// `t < n R` (`L = 8C`), fully reduced.
fn redc8(cpu: Cpu, out: &mut [u64], t: &mut [u64], n: &[u64], n0: u64) {
    let l = n.len();
    let mut top = 0;
    for q in (0..l).step_by(8) {
        let Some(window) = t.get_mut(q..q + l + 8) else {
            return;
        };
        let c = pass_redc(cpu, window, n, n0);
        top += add_at(t, q + l + 8, c);
    }
    if let Some(hi) = t.get(l..2 * l) {
        out.copy_from_slice(hi);
    }
    portable::final_sub(out, top, n);
}

/// `out = a * b / R mod n`, fully reduced, for `a, b < n` (all `L8` limbs, a multiple of
/// eight; otherwise `out` is left alone).
fn mont_mul(cpu: Cpu, out: &mut [u64], a: &[u64], b: &[u64], n: &[u64], n0: u64) {
    let l = n.len();
    if l == 0 || !l.is_multiple_of(8) || a.len() != l || b.len() != l || out.len() != l {
        return;
    }
    let mut t = [0u64; 2 * MAX_LIMBS];
    let Some(t) = t.get_mut(..2 * l) else {
        return;
    };
    for (p, x) in b.chunks_exact(8).enumerate() {
        let (Some(window), Ok(x)) = (t.get_mut(8 * p..8 * p + l + 8), x.try_into()) else {
            return;
        };
        // Words from 8p + L on are still zero, and a * b fits in 2L words: no carry out.
        pass_mul(cpu, window, a, x);
    }
    redc8(cpu, out, t, n, n0);
}

/// `out = a^2 / R mod n`, fully reduced, for `a < n`; same conventions as [`mont_mul`].
fn mont_sqr(cpu: Cpu, out: &mut [u64], a: &[u64], n: &[u64], n0: u64) {
    let l = n.len();
    if l == 0 || !l.is_multiple_of(8) || a.len() != l || out.len() != l {
        return;
    }
    let mut t = [0u64; 2 * MAX_LIMBS];
    let Some(t) = t.get_mut(..2 * l) else {
        return;
    };
    // The cross products a_i a_j, i < j, by blocks of eight words of a: first the triangles
    // within each block (they fill disjoint words of the zero t), then each block times the
    // words above it by a pass.
    for (p, x) in a.chunks_exact(8).enumerate() {
        let (Some(tri), Ok(x)) = (t.get_mut(16 * p..16 * p + 16), x.try_into()) else {
            return;
        };
        if let Ok(tri) = tri.try_into() {
            triangle(cpu, tri, x);
        }
    }
    for (p, x) in a.chunks_exact(8).enumerate() {
        let b = 8 * p;
        let (Some(rest), Ok(x)) = (a.get(b + 8..), x.try_into()) else {
            return;
        };
        if !rest.is_empty() {
            let Some(window) = t.get_mut(2 * b + 8..b + l + 8) else {
                return;
            };
            let c = pass_mul(cpu, window, rest, x);
            add_at(t, b + l + 8, c);
        }
    }
    double_add_squares(cpu, t, a);
    redc8(cpu, out, t, n, n0);
}
