//! The arithmetic backends behind [`PublicKey`](super::PublicKey): `s^e mod n` for a modulus
//! parsed once.
//!
//! * [`portable`]: Montgomery arithmetic on machine words, every target.
//! * `adx` (with the `adx` feature, on x86-64): the same numbers with `mulx`/`adcx`/`adox` in
//!   the inner loop, for CPUs that have `bmi2` and `adx`.
//! * `ifma` (with the `ifma` feature, on x86-64): AVX-512 IFMA vectors in radix 2^52, for CPUs
//!   that have `avx512f` and `avx512ifma`.
//!
//! A key holds one [`Backend`], chosen when it is parsed; a verification dispatches through it
//! with a single `match`. A backend value exists only where its arithmetic can run: the `Adx`
//! and `Ifma` variants are built only after the CPU check succeeded, so no later call needs to
//! look again.

// The ADX kernel's inner loop is `asm!` with instructions that only a CPU with BMI2 and ADX may
// run, reading and writing through raw pointers; the IFMA kernels are `#[target_feature]`
// functions, which only a CPU with those features may run, with unaligned vector loads and
// stores through raw pointers. These two modules are the crate's only `unsafe` code, each use
// with its own `SAFETY:` argument.
#[cfg(all(feature = "adx", target_arch = "x86_64"))]
#[allow(unsafe_code)]
#[deny(clippy::undocumented_unsafe_blocks)]
mod adx;
#[cfg(all(feature = "ifma", target_arch = "x86_64"))]
#[allow(unsafe_code)]
#[deny(clippy::undocumented_unsafe_blocks)]
mod ifma;
pub(crate) mod portable;

use super::{Kernel, Limb};

/// The arithmetic one key verifies with, and that arithmetic's per-modulus constants.
#[derive(Clone)]
pub(crate) enum Backend {
    /// Portable Rust on machine words.
    Portable(portable::Portable),
    /// BMI2 + ADX on 64-bit limbs; the value exists only on a CPU that has them.
    #[cfg(all(feature = "adx", target_arch = "x86_64"))]
    Adx(adx::Adx),
    /// AVX-512 IFMA in radix 2^52; the value exists only on a CPU that has it.
    #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
    Ifma(ifma::Ifma),
}

impl Backend {
    /// The fastest backend this CPU has for the odd modulus `n` (`bits` long, `L >= 1` limbs):
    /// the first of [`Kernel::all`] that it supports.
    pub(crate) fn new(n: &[Limb], bits: u32) -> Backend {
        let portable = portable::Portable::new(n, bits);
        for &kernel in Kernel::all() {
            if let Some(backend) = Backend::from_portable(kernel, n, bits, &portable) {
                return backend;
            }
        }
        Backend::Portable(portable)
    }

    /// The `kernel` backend for the odd modulus `n` (`bits` long, `L >= 1` limbs), or `None`
    /// when this build or this CPU does not have it.
    pub(crate) fn with_kernel(kernel: Kernel, n: &[Limb], bits: u32) -> Option<Backend> {
        Backend::from_portable(kernel, n, bits, &portable::Portable::new(n, bits))
    }

    /// The portable backend for the odd modulus `n` (`bits` long, `L >= 1` limbs), whatever the
    /// CPU.
    pub(crate) fn portable(n: &[Limb], bits: u32) -> Backend {
        Backend::Portable(portable::Portable::new(n, bits))
    }

    /// The `kernel` backend from the portable constants of the same modulus.
    // Without the vector backends, `n` and `bits` are only needed by the portable one.
    #[cfg_attr(
        not(all(any(feature = "ifma", feature = "adx"), target_arch = "x86_64")),
        allow(unused_variables)
    )]
    fn from_portable(
        kernel: Kernel,
        n: &[Limb],
        bits: u32,
        portable: &portable::Portable,
    ) -> Option<Backend> {
        match kernel {
            Kernel::Portable => Some(Backend::Portable(portable.clone())),
            #[cfg(all(feature = "adx", target_arch = "x86_64"))]
            Kernel::Bmi2Adx => adx::Adx::new(n, bits, portable).map(Backend::Adx),
            #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
            Kernel::Avx512Ifma => {
                ifma::Ifma::new(n, portable.n0, &portable.rr, bits).map(Backend::Ifma)
            }
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The portable backend's constants, if this is the portable backend.
    #[cfg(test)]
    pub(crate) fn as_portable(&self) -> Option<&portable::Portable> {
        match self {
            Backend::Portable(portable) => Some(portable),
            #[cfg(all(feature = "adx", target_arch = "x86_64"))]
            Backend::Adx(_) => None,
            #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
            Backend::Ifma(_) => None,
        }
    }

    /// Which arithmetic this is.
    pub(crate) fn kernel(&self) -> Kernel {
        match self {
            Backend::Portable(_) => Kernel::Portable,
            #[cfg(all(feature = "adx", target_arch = "x86_64"))]
            Backend::Adx(_) => Kernel::Bmi2Adx,
            #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
            Backend::Ifma(_) => Kernel::Avx512Ifma,
        }
    }

    /// `x = s^e mod n` for `s < n` (both `L` limbs, `n` the modulus this backend was built for).
    #[inline]
    pub(crate) fn pow(&self, s: &[Limb], e: u32, n: &[Limb], x: &mut [Limb]) {
        match self {
            Backend::Portable(portable) => portable.pow(s, e, n, x),
            #[cfg(all(feature = "adx", target_arch = "x86_64"))]
            Backend::Adx(adx) => adx.pow(s, e, x),
            #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
            Backend::Ifma(ifma) => ifma.pow(s, e, n, x),
        }
    }
}
