//! The arithmetic backends behind [`PublicKey`](super::PublicKey): `s^e mod n` for a modulus
//! parsed once.
//!
//! * [`portable`]: Montgomery arithmetic on machine words, every target.
//! * `ifma` (with the `ifma` feature, on x86-64): AVX-512 IFMA vectors in radix 2^52, for CPUs
//!   that have `avx512f` and `avx512ifma`.
//!
//! A key holds one [`Backend`], chosen when it is parsed; a verification dispatches through it
//! with a single `match`. A backend value exists only where its arithmetic can run: the `Ifma`
//! variant is built only after the CPU check succeeded, so no later call needs to look again.

// The IFMA kernels are `#[target_feature]` functions, which only a CPU with those features may
// run, and they use unaligned vector loads and stores through raw pointers: that module is the
// crate's only `unsafe` code, each use with its own `SAFETY:` argument.
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
    /// AVX-512 IFMA in radix 2^52; the value exists only on a CPU that has it.
    #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
    Ifma(ifma::Ifma),
}

impl Backend {
    /// The fastest backend this CPU has for the odd modulus `n` (`bits` long, `L >= 1` limbs).
    pub(crate) fn new(n: &[Limb], bits: u32) -> Backend {
        let portable = portable::Portable::new(n, bits);
        #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
        if let Some(ifma) = ifma::Ifma::new(n, portable.n0, &portable.rr, bits) {
            return Backend::Ifma(ifma);
        }
        Backend::Portable(portable)
    }

    /// The portable backend for the odd modulus `n` (`bits` long, `L >= 1` limbs), whatever the
    /// CPU.
    pub(crate) fn portable(n: &[Limb], bits: u32) -> Backend {
        Backend::Portable(portable::Portable::new(n, bits))
    }

    /// The portable backend's constants, if this is the portable backend.
    #[cfg(test)]
    pub(crate) fn as_portable(&self) -> Option<&portable::Portable> {
        match self {
            Backend::Portable(portable) => Some(portable),
            #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
            Backend::Ifma(_) => None,
        }
    }

    /// Which arithmetic this is.
    pub(crate) fn kernel(&self) -> Kernel {
        match self {
            Backend::Portable(_) => Kernel::Portable,
            #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
            Backend::Ifma(_) => Kernel::Avx512Ifma,
        }
    }

    /// `x = s^e mod n` for `s < n` (both `L` limbs, `n` the modulus this backend was built for).
    #[inline]
    pub(crate) fn pow(&self, s: &[Limb], e: u32, n: &[Limb], x: &mut [Limb]) {
        match self {
            Backend::Portable(portable) => portable.pow(s, e, n, x),
            #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
            Backend::Ifma(ifma) => ifma.pow(s, e, n, x),
        }
    }
}
