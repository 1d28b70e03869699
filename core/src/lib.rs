#![cfg_attr(not(test), no_std)]
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
#[cfg(feature = "serde")]
pub mod typed;
pub mod validator;
pub mod verified_cache;

pub use cache::KeySetCache;
pub use claims::{Audience, Claim, Claims, RequiredClaims};
pub use error::{ConfigError, Error, ErrorKind};
pub use jwk::{Jwk, KeySet, KeySetOptions, SkipReason, SkippedKey, verify_raw};
pub use token::Untrusted;
#[cfg(feature = "serde")]
pub use typed::ClaimsError;
pub use validator::{Options, Validator, Verified};
pub use verified_cache::{TokenCache, TokenKey};
