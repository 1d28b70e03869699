//! The BMI2 + ADX backend (x86-64, `adx` feature): Montgomery arithmetic on 64-bit limbs with
//! `mulx`, `adcx` and `adox`, for the x86-64 CPUs that have both (Intel since Broadwell, AMD
//! since Zen), which is nearly every x86-64 server without AVX-512 IFMA.
//!
//! The numbers are the portable backend's (64-bit limbs, `R = 2^(64 L)`, the same `R^2 mod n`
//! and `-n^-1 mod 2^64`); only the inner loop differs. That loop, [`mac_row`], adds `a * x` to a
//! row of the accumulator: `mulx` leaves the flags alone, so one carry chain (`adcx`, the carry
//! flag) adds each product's high word to the next one's low word while a second, independent
//! chain (`adox`, the overflow flag) adds that sum to the accumulator. LLVM does not emit the
//! two chains from Rust (it keeps one `adc` chain and serialises on it), which is why the row is
//! written in `asm!`.
//!
//! Products and squarings are separated operand scanning ("SOS" in Koç, Acar and Kaliski,
//! *Analyzing and comparing Montgomery multiplication algorithms*, 1996): the full product (for a
//! squaring: each cross product once, doubled, plus the squares) into `2L` words, then `L` rows
//! of reduction. All rows are the same [`mac_row`].
//!
//! The detection is [`cpufeatures`] (CPUID): [`Adx::new`] builds an [`Adx`] only when the CPU has
//! `bmi2` and `adx`, and the kernels can only be reached through one, which is what makes
//! executing those instructions sound. Like the portable kernel, this one is variable-time and
//! only ever sees public values.

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
    /// `R^2 mod n`, `R = 2^(64 L)`.
    rr: Vec<u64>,
    /// `-n^-1 mod 2^64`.
    n0: u64,
    cpu: Cpu,
}

impl Adx {
    /// The backend for the modulus whose portable constants are `portable`, or `None` when this
    /// CPU has no BMI2 or no ADX.
    pub(crate) fn new(portable: &Portable) -> Option<Adx> {
        let cpu = Cpu::detect()?;
        Some(Adx {
            rr: portable.rr.clone(),
            n0: portable.n0,
            cpu,
        })
    }

    /// `x = s^e mod n` for `s < n` (all `L` limbs, `n` the modulus this backend was built for).
    pub(crate) fn pow(&self, s: &[u64], e: u32, n: &[u64], x: &mut [u64]) {
        let (cpu, n0) = (self.cpu, self.n0);
        portable::pow_with(
            s,
            e,
            &self.rr,
            x,
            |out, a, b| mont_mul(cpu, out, a, b, n, n0),
            |out, a| mont_sqr(cpu, out, a, n, n0),
        );
    }
}

/// `t[..k] += a[..k] * x` with `k = min(len(t), len(a))`; returns the carry word, the value that
/// belongs at `t[k]` (it cannot overflow: `t + a x < 2^(64 (k + 1))`).
#[inline(always)]
fn mac_row(_cpu: Cpu, t: &mut [u64], a: &[u64], x: u64) -> u64 {
    let k = t.len().min(a.len());
    let mut blocks = k / 4;
    let mut tail = k % 4;
    let mut tp = t.as_mut_ptr();
    let mut ap = a.as_ptr();
    let carry: u64;
    // SAFETY: the instructions are `mulx` (BMI2) and `adcx`/`adox` (ADX), which this CPU has:
    // `_cpu` exists, so `Cpu::detect` found both. Memory: the loops read `4 * blocks + tail = k`
    // words from `ap` and read and write as many from `tp`, advancing both by one word per word
    // done, and `k` is at most the length of either slice (`t` exclusively borrowed); nothing
    // else is touched, and no stack is used.
    unsafe {
        asm!(
            // carry = 0, and the carry and overflow flags are clear.
            "xor {c:e}, {c:e}",
            "test {blocks}, {blocks}",
            "jz 3f",
            // Four words: lo_j += hi_(j-1) on the carry chain, t_j += lo_j on the overflow chain.
            "2:",
            "mulx {h0}, {l0}, qword ptr [{ap}]",
            "adcx {l0}, {c}",
            "adox {l0}, qword ptr [{tp}]",
            "mov qword ptr [{tp}], {l0}",
            "mulx {h1}, {l1}, qword ptr [{ap} + 8]",
            "adcx {l1}, {h0}",
            "adox {l1}, qword ptr [{tp} + 8]",
            "mov qword ptr [{tp} + 8], {l1}",
            "mulx {h0}, {l0}, qword ptr [{ap} + 16]",
            "adcx {l0}, {h1}",
            "adox {l0}, qword ptr [{tp} + 16]",
            "mov qword ptr [{tp} + 16], {l0}",
            "mulx {c}, {l1}, qword ptr [{ap} + 24]",
            "adcx {l1}, {h0}",
            "adox {l1}, qword ptr [{tp} + 24]",
            "mov qword ptr [{tp} + 24], {l1}",
            // Both chains end in the carry word (no overflow, see above), so both flags are
            // clear again: `dec` may clobber the overflow flag.
            "mov {l0:e}, 0",
            "adcx {c}, {l0}",
            "adox {c}, {l0}",
            "lea {ap}, [{ap} + 32]",
            "lea {tp}, [{tp} + 32]",
            "dec {blocks}",
            "jnz 2b",
            "3:",
            "test {tail}, {tail}",
            "jz 5f",
            // One word at a time.
            "4:",
            "mulx {h0}, {l0}, qword ptr [{ap}]",
            "adcx {l0}, {c}",
            "adox {l0}, qword ptr [{tp}]",
            "mov qword ptr [{tp}], {l0}",
            "mov {l1:e}, 0",
            "mov {c}, {h0}",
            "adcx {c}, {l1}",
            "adox {c}, {l1}",
            "lea {ap}, [{ap} + 8]",
            "lea {tp}, [{tp} + 8]",
            "dec {tail}",
            "jnz 4b",
            "5:",
            c = out(reg) carry,
            h0 = out(reg) _,
            l0 = out(reg) _,
            h1 = out(reg) _,
            l1 = out(reg) _,
            blocks = inout(reg) blocks,
            tail = inout(reg) tail,
            ap = inout(reg) ap,
            tp = inout(reg) tp,
            in("rdx") x,
            options(nostack),
        );
    }
    let _ = (blocks, tail, ap, tp);
    carry
}

/// Montgomery reduction of the `2L + 1`-word `t` (below `n R`, word `2L` zero): `out = t / R mod
/// n`, fully reduced.
#[inline(always)]
fn redc(cpu: Cpu, out: &mut [u64], t: &mut [u64], n: &[u64], n0: u64) {
    let l = n.len();
    let mut top = 0u64;
    for i in 0..l {
        let m = t.get(i).map_or(0, |&w| w.wrapping_mul(n0));
        let Some(row) = t.get_mut(i..=i + l) else {
            return;
        };
        let c = mac_row(cpu, row, n, m);
        // The row's carry word, and the carry out of the previous row's word, into t[i + l].
        if let Some(w) = row.last_mut() {
            let (s1, o1) = w.overflowing_add(c);
            let (s2, o2) = s1.overflowing_add(top);
            *w = s2;
            top = u64::from(o1 | o2);
        }
    }
    if let Some(hi) = t.get(l..2 * l) {
        out.copy_from_slice(hi);
    }
    portable::final_sub(out, top, n);
}

/// `out = a * b / R mod n`, fully reduced, for `a, b < n` (all `L` limbs, otherwise `out` is left
/// alone).
fn mont_mul(cpu: Cpu, out: &mut [u64], a: &[u64], b: &[u64], n: &[u64], n0: u64) {
    let l = n.len();
    if l == 0 || a.len() != l || b.len() != l || out.len() != l {
        return;
    }
    let mut t = [0u64; 2 * MAX_LIMBS + 1];
    let Some(t) = t.get_mut(..2 * l + 1) else {
        return;
    };
    for (i, &bi) in b.iter().enumerate() {
        // Row i adds into words i..i+L; word i+L is still zero, so its carry word lands there.
        let c = mac_row(cpu, &mut t[i..i + l], a, bi);
        t[i + l] = c;
    }
    redc(cpu, out, t, n, n0);
}

/// `out = a^2 / R mod n`, fully reduced, for `a < n`; same conventions as [`mont_mul`].
fn mont_sqr(cpu: Cpu, out: &mut [u64], a: &[u64], n: &[u64], n0: u64) {
    let l = n.len();
    if l == 0 || a.len() != l || out.len() != l {
        return;
    }
    let mut t = [0u64; 2 * MAX_LIMBS + 1];
    let Some(t) = t.get_mut(..2 * l + 1) else {
        return;
    };
    // The cross products a_i a_j, i < j: row i adds a_i * a[i+1..] into words 2i+1..i+L; word
    // i+L is still zero (row i-1 ended at word i+L-1), so its carry word lands there.
    for i in 0..l - 1 {
        let c = mac_row(cpu, &mut t[2 * i + 1..i + l], &a[i + 1..], a[i]);
        t[i + l] = c;
    }
    // Doubled, plus the squares a_i^2 at words 2i, 2i+1.
    let mut shifted_out = 0u64;
    let mut carry = false;
    for (pair, &ai) in t.chunks_exact_mut(2).zip(a) {
        let (lo, hi) = (pair[0], pair[1]);
        let doubled = (u128::from(hi) << 65) | (u128::from(lo) << 1) | u128::from(shifted_out);
        shifted_out = hi >> 63;
        let (sum, c1) = doubled.overflowing_add(u128::from(ai) * u128::from(ai));
        let (sum, c2) = sum.overflowing_add(u128::from(carry));
        carry = c1 | c2;
        pair[0] = sum as u64;
        pair[1] = (sum >> 64) as u64;
    }
    redc(cpu, out, t, n, n0);
}
