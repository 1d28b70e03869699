#![cfg_attr(not(test), no_std)]
// Only the x86-64 RSA backends (BMI2 + ADX, AVX-512 IFMA) need `unsafe`, each module allowing it
// for itself; without them nothing may, and `forbid` makes sure no module can opt back in.
#![cfg_attr(
    not(all(any(feature = "adx", feature = "ifma"), target_arch = "x86_64")),
    forbid(unsafe_code)
)]
#![cfg_attr(
    all(any(feature = "adx", feature = "ifma"), target_arch = "x86_64"),
    deny(unsafe_code)
)]
#![deny(unsafe_op_in_unsafe_fn)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate alloc;

/// Declares modules that are private unless the `hazmat` feature makes them public: the
/// building blocks (strict base64url and JSON, the RSA kernels, the untrusted token) are not
/// API, but the fuzz targets and benchmarks reach them.
macro_rules! hazmat_modules {
    ($($(#[$attr:meta])* $name:ident;)*) => {$(
        $(#[$attr])*
        #[cfg(feature = "hazmat")]
        pub mod $name;
        $(#[$attr])*
        #[cfg(not(feature = "hazmat"))]
        #[allow(dead_code, unreachable_pub)]
        mod $name;
    )*};
}

hazmat_modules! {
    /// Strict base64url (SPEC §5).
    base64url;
    /// The strict JSON scanner (SPEC §6).
    json;
    /// RS256 verification.
    rs256;
    /// The compact JWS before its signature is checked.
    token;
}

pub mod claims;
pub mod error;
pub mod guard;
pub mod http;
pub mod jwk;
pub mod keyset_cache;
pub mod options;
pub mod token_cache;
#[cfg(feature = "serde")]
pub mod typed;
pub mod validator;

pub use claims::{Audience, Claim, Claims, HeaderIssuer, RequiredClaims};
pub use error::{ConfigError, Error, ErrorKind};
pub use guard::{Action, Check, Guard, GuardSettings, IssuerSource};
pub use http::{HttpAnswer, Rejection, bearer_token};
pub use jwk::{Jwk, KeySet, KeySetOptions, SkipReason, SkippedKey, verify_raw};
pub use keyset_cache::KeySetCache;
pub use options::{Options, Profile};
pub use token_cache::{TokenCache, TokenKey};
#[cfg(feature = "serde")]
pub use typed::ClaimsError;
pub use validator::{Validator, Verified};
