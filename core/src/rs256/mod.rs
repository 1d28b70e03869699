//! RS256: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2.2), verification only.
//!
//! A [`PublicKey`] is parsed once, with its Montgomery constants (`-n^-1 mod 2^w`, `R^2 mod n`)
//! precomputed, and then verifies any number of signatures without touching the heap. The
//! arithmetic is variable-time: it only ever handles public values.
//!
//! For `e = 65537` a verification is one Montgomery product to bring `s` into Montgomery form,
//! 16 Montgomery squarings and one Montgomery product with the *plain* `s`, which lands on
//! `s^e mod n` directly (no conversion back out). Other exponents use left-to-right
//! square-and-multiply with the same last step.
//!
//! Up to three backends do the arithmetic ([`Kernel`], `backend`): portable Rust on machine
//! words (`backend::portable`); with the `adx` feature on x86-64 CPUs that have BMI2 and ADX, the
//! same numbers with `mulx`/`adcx`/`adox` in the inner loop (`backend::adx`); with the `ifma`
//! feature on x86-64 CPUs that have AVX-512 IFMA, a vector kernel in radix 2^52
//! (`backend::ifma`). The fastest one the CPU has is chosen when the key is parsed. All give the
//! same answer on every input; the tests and the `rs256_kernels` fuzz target hold them to it.

mod backend;

use core::cmp::Ordering;
use core::fmt;

use alloc::vec::Vec;
use backend::Backend;
use backend::portable::{self, Word};
use sha2::{Digest, Sha256};

/// The limb type: a machine word.
#[cfg(target_pointer_width = "64")]
type Limb = u64;
/// The limb type: a machine word.
#[cfg(not(target_pointer_width = "64"))]
type Limb = u32;

/// Smallest accepted modulus, in bits.
pub const MIN_MODULUS_BITS: u32 = 512;
/// Largest accepted modulus, in bits.
pub const MAX_MODULUS_BITS: u32 = 8192;

/// Limbs of the largest modulus.
const MAX_LIMBS: usize = MAX_MODULUS_BITS as usize / Limb::BITS as usize;

/// DER of `DigestInfo ::= SEQUENCE { AlgorithmIdentifier { id-sha256, NULL }, OCTET STRING }`
/// up to the 32 digest octets (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Why [`PublicKey::from_be_bytes`] refused a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The modulus has fewer than [`MIN_MODULUS_BITS`] bits (zero included).
    ModulusTooSmall,
    /// The modulus has more than [`MAX_MODULUS_BITS`] bits.
    ModulusTooLarge,
    /// The modulus is even.
    EvenModulus,
    /// The exponent is 0 or does not fit in 32 bits.
    BadExponent,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyError::ModulusTooSmall => "RSA modulus too small",
            KeyError::ModulusTooLarge => "RSA modulus too large",
            KeyError::EvenModulus => "RSA modulus is even",
            KeyError::BadExponent => "RSA exponent is zero or wider than 32 bits",
        })
    }
}

impl core::error::Error for KeyError {}

/// A parsed RSA public key with its per-key constants precomputed: parse once, verify many times.
#[derive(Clone)]
pub struct PublicKey {
    /// The modulus, little-endian limbs, `L = ceil(bits / w)` of them.
    n: Vec<Limb>,
    bits: u32,
    e: u32,
    /// The arithmetic, with its own constants for `n`.
    backend: Backend,
}

/// Which arithmetic a [`PublicKey`] verifies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kernel {
    /// Portable Rust on machine words: every target.
    Portable,
    /// `mulx`, `adcx` and `adox` on 64-bit limbs: x86-64 CPUs that have BMI2 and ADX (Intel
    /// since Broadwell, AMD since Zen), detected when the key is parsed (only when the crate is
    /// built with its `adx` feature, the default).
    Bmi2Adx,
    /// AVX-512 IFMA vectors in radix 2^52: x86-64 CPUs that have `avx512ifma`, detected when
    /// the key is parsed (only when the crate is built with its `ifma` feature, the default).
    Avx512Ifma,
}

impl Kernel {
    /// The kernels this build has, fastest first: the order in which
    /// [`PublicKey::from_be_bytes`] tries them. [`Kernel::Portable`], last, runs everywhere;
    /// the others only on CPUs with their features ([`PublicKey::with_kernel`] says).
    pub fn all() -> &'static [Kernel] {
        &[
            #[cfg(all(feature = "ifma", target_arch = "x86_64"))]
            Kernel::Avx512Ifma,
            #[cfg(all(feature = "adx", target_arch = "x86_64"))]
            Kernel::Bmi2Adx,
            Kernel::Portable,
        ]
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// Strips leading zero octets.
fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Big-endian octets into little-endian limbs (`out` zero-filled first; extra octets ignored,
/// callers make sure they fit).
fn load_be(out: &mut [Limb], bytes: &[u8]) {
    out.fill(0);
    for (limb, chunk) in out.iter_mut().zip(bytes.rchunks(Limb::BYTES)) {
        *limb = Limb::from_be_bytes_short(chunk);
    }
}

impl PublicKey {
    /// Parses a key from its modulus `n` and exponent `e`, both big-endian unsigned integers
    /// (leading zero octets are allowed and do not count).
    ///
    /// Accepts odd moduli of 512 to 8192 bits and exponents in `1..2^32`; the key policy
    /// (minimum size, odd exponent, …) lives with the caller.
    pub fn from_be_bytes(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let n = trim(n);
        let e = trim(e);
        // Compare octet counts first so that the bit count below cannot overflow.
        let max_octets = MAX_MODULUS_BITS as usize / 8;
        let bits = match n.first() {
            None => 0,
            Some(_) if n.len() > max_octets => return Err(KeyError::ModulusTooLarge),
            Some(&top) => (n.len() * 8 - top.leading_zeros() as usize) as u32,
        };
        if bits < MIN_MODULUS_BITS {
            return Err(KeyError::ModulusTooSmall);
        }
        if bits > MAX_MODULUS_BITS {
            return Err(KeyError::ModulusTooLarge);
        }
        if n.last().is_none_or(|&b| b & 1 == 0) {
            return Err(KeyError::EvenModulus);
        }
        if e.is_empty() || e.len() > 4 {
            return Err(KeyError::BadExponent);
        }
        let e = e.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));

        let l = (bits as usize).div_ceil(Limb::BITS as usize);
        let mut nl = alloc::vec![0; l];
        load_be(&mut nl, n);
        Ok(PublicKey {
            backend: Backend::new(&nl, bits),
            n: nl,
            bits,
            e,
        })
    }

    /// The arithmetic this key verifies with: the fastest this CPU supports, chosen when the key
    /// was parsed.
    pub fn kernel(&self) -> Kernel {
        self.backend.kernel()
    }

    /// The same key on the portable kernel, whatever the CPU: for tests and benchmarks that
    /// compare the kernels.
    pub fn portable(self) -> PublicKey {
        if self.kernel() == Kernel::Portable {
            return self;
        }
        let backend = Backend::portable(&self.n, self.bits);
        PublicKey { backend, ..self }
    }

    /// The same key on `kernel`, or `None` when this build does not have it (see
    /// [`Kernel::all`]) or this CPU lacks its features: for tests and benchmarks that compare
    /// the kernels on one machine.
    pub fn with_kernel(&self, kernel: Kernel) -> Option<PublicKey> {
        let backend = if self.kernel() == kernel {
            self.backend.clone()
        } else {
            Backend::with_kernel(kernel, &self.n, self.bits)?
        };
        Some(PublicKey {
            n: self.n.clone(),
            bits: self.bits,
            e: self.e,
            backend,
        })
    }

    /// Bit length of the modulus.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Length of the modulus in octets, `k = ceil(bits / 8)`: the only valid signature length.
    pub fn modulus_len(&self) -> usize {
        (self.bits as usize).div_ceil(8)
    }

    /// The public exponent.
    pub fn exponent(&self) -> u32 {
        self.e
    }

    /// SHA-256 of `msg`, then [`PublicKey::verify_digest`].
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(msg).into();
        self.verify_digest(&digest, sig)
    }

    /// RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2) of a SHA-256 digest.
    ///
    /// True only when `sig` is exactly `k` octets, as an integer `s < n`, and
    /// `s^e mod n` encodes to `0x00 0x01 FF..FF 0x00 || DigestInfo(SHA-256, NULL) || digest`.
    pub fn verify_digest(&self, digest: &[u8; 32], sig: &[u8]) -> bool {
        let k = self.modulus_len();
        if sig.len() != k {
            return false;
        }
        let l = self.n.len();
        let mut s = [0 as Limb; MAX_LIMBS];
        let mut x = [0 as Limb; MAX_LIMBS];
        let (Some(s), Some(x)) = (s.get_mut(..l), x.get_mut(..l)) else {
            return false;
        };
        load_be(s, sig);
        if portable::cmp(s, &self.n) != Ordering::Less {
            return false;
        }
        self.pow(s, x);
        encoded_matches(x, k, digest)
    }

    /// `sig^e mod n` as `k` big-endian octets (`None` unless `sig` is `k` octets below `n`): the
    /// raw RSA public operation, for the fuzz target that holds the kernels to the same answer.
    #[cfg(fuzzing)]
    #[doc(hidden)]
    pub fn public_op(&self, sig: &[u8]) -> Option<Vec<u8>> {
        let k = self.modulus_len();
        let l = self.n.len();
        if sig.len() != k {
            return None;
        }
        let mut s = alloc::vec![0 as Limb; l];
        let mut x = alloc::vec![0 as Limb; l];
        load_be(&mut s, sig);
        if portable::cmp(&s, &self.n) != Ordering::Less {
            return None;
        }
        self.pow(&s, &mut x);
        let octet = |i: usize| {
            x.get(i / Limb::BYTES)
                .map_or(0, |w| w.byte(i % Limb::BYTES))
        };
        Some((0..k).rev().map(octet).collect())
    }

    /// `x = s^e mod n` for `s < n` (both `L` limbs): one dispatch to the key's backend.
    fn pow(&self, s: &[Limb], x: &mut [Limb]) {
        self.backend.pow(s, self.e, &self.n, x);
    }
}

/// Does the integer `m` (little-endian limbs) encode, as `k` big-endian octets, to
/// `0x00 0x01 FF..FF 0x00 || DigestInfo || digest` (RFC 8017 §9.2)?
fn encoded_matches(m: &[Limb], k: usize, digest: &[u8; 32]) -> bool {
    // Octet i counted from the least significant end.
    let octet = |i: usize| -> u8 {
        m.get(i / Limb::BYTES)
            .map_or(0, |w| w.byte(i % Limb::BYTES))
    };
    let t_len = SHA256_DIGEST_INFO.len() + digest.len();
    // The padding string has at least 8 octets (k >= 64 for any accepted key).
    let Some(ps_len) = k.checked_sub(3 + t_len) else {
        return false;
    };
    ps_len >= 8
        // Nothing above the k octets (m < n < 2^(8k) already; kept for robustness).
        && (k..m.len() * Limb::BYTES).all(|i| octet(i) == 0)
        && octet(k - 1) == 0x00
        && octet(k - 2) == 0x01
        && (t_len + 1..k - 2).all(|i| octet(i) == 0xff)
        && octet(t_len) == 0x00
        && SHA256_DIGEST_INFO
            .iter()
            .rev()
            .enumerate()
            .all(|(i, &d)| octet(digest.len() + i) == d)
        && digest.iter().rev().enumerate().all(|(i, &d)| octet(i) == d)
}

#[cfg(test)]
mod tests;
