#![cfg_attr(not(test), no_std)]
// Only the AVX-512 IFMA backend needs `unsafe` (it allows it for itself); without it nothing
// may, and `forbid` makes sure no module can opt back in.
#![cfg_attr(
    not(all(feature = "ifma", target_arch = "x86_64")),
    forbid(unsafe_code)
)]
#![cfg_attr(all(feature = "ifma", target_arch = "x86_64"), deny(unsafe_code))]
#![deny(unsafe_op_in_unsafe_fn)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate alloc;

pub mod base64url;
pub mod cache;
pub mod claims;
pub mod error;
pub mod json;
pub mod jwk;
pub mod rs256;
pub mod token;
pub mod validator;
pub mod verified_cache;

pub use cache::KeySetCache;
pub use claims::{Audience, Claim, Claims, RequiredClaims};
pub use error::{ConfigError, Error, ErrorKind};
pub use jwk::{Jwk, KeySet, KeySetOptions, SkipReason, SkippedKey, verify_raw};
pub use token::Untrusted;
pub use validator::{Options, Validator, Verified};
pub use verified_cache::{TokenCache, TokenKey};
