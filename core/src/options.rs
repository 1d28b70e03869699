//! Validation options (SPEC §1) and the two profiles (SPEC §7).

use alloc::string::String;
use alloc::vec::Vec;

use crate::claims::{Claim, RequiredClaims};
use crate::error::ConfigError;

/// The default `max_token_len` in bytes.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8192;
/// The default `max_lifetime` of the `cryptr` profile: 30 days, in seconds.
pub const CRYPTR_MAX_LIFETIME: u64 = 30 * 24 * 3600;

/// Which rules apply (SPEC §1 `profile`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// SPEC §1–§6 as written.
    #[default]
    Rfc,
    /// SPEC §7 on top: the tokens Cryptr issues (v1 and v3).
    Cryptr,
}

impl Profile {
    /// The profile called `name` (`rfc` or `cryptr`); any other name is a configuration error.
    pub fn from_name(name: &str) -> Result<Profile, ConfigError> {
        match name {
            "rfc" => Ok(Profile::Rfc),
            "cryptr" => Ok(Profile::Cryptr),
            _ => Err(ConfigError("profile must be rfc or cryptr")),
        }
    }

    /// The profile's name.
    pub const fn name(self) -> &'static str {
        match self {
            Profile::Rfc => "rfc",
            Profile::Cryptr => "cryptr",
        }
    }

    /// The claims this profile requires by default: `exp`, `iss`, `aud` (`rfc`) or `exp`, `iss`
    /// (`cryptr`, where step 15 alone decides about `aud`).
    pub const fn default_required_claims(self) -> RequiredClaims {
        let base = RequiredClaims::NONE.with(Claim::Exp).with(Claim::Iss);
        match self {
            Profile::Rfc => base.with(Claim::Aud),
            Profile::Cryptr => base,
        }
    }

    /// The `max_lifetime` this profile applies by default: none (`rfc`) or 30 days (`cryptr`).
    pub const fn default_max_lifetime(self) -> Option<u64> {
        match self {
            Profile::Rfc => None,
            Profile::Cryptr => Some(CRYPTR_MAX_LIFETIME),
        }
    }
}

/// Validation options (SPEC §1). Options left unset take their profile's default, whatever the
/// order in which the builder methods are called.
///
/// ```
/// use cryptr_guard_core::{Options, Profile};
///
/// let options = Options::cryptr(["https://auth.example/t/acme"], ["https://api.example"])
///     .with_client_ids(["my-client-id"])
///     .with_leeway(5);
/// assert_eq!(options.profile(), Profile::Cryptr);
/// assert_eq!(options.max_lifetime(), Some(30 * 24 * 3600));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) client_ids: Vec<String>,
    pub(crate) leeway: u64,
    pub(crate) required: Option<RequiredClaims>,
    pub(crate) max_token_len: usize,
    pub(crate) typ: Option<String>,
    pub(crate) profile: Profile,
    pub(crate) max_lifetime: Option<Option<u64>>,
}

fn owned<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

impl Options {
    /// `rfc`-profile options accepting these issuers (any one matches) and audiences, every
    /// other option at its default.
    pub fn new<I, A>(issuers: I, audiences: A) -> Options
    where
        I: IntoIterator,
        I::Item: Into<String>,
        A: IntoIterator,
        A::Item: Into<String>,
    {
        Options {
            issuers: owned(issuers),
            audiences: owned(audiences),
            client_ids: Vec::new(),
            leeway: 0,
            required: None,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            typ: None,
            profile: Profile::Rfc,
            max_lifetime: None,
        }
    }

    /// The same as [`Options::new`] with the `cryptr` profile (SPEC §7).
    pub fn cryptr<I, A>(issuers: I, audiences: A) -> Options
    where
        I: IntoIterator,
        I::Item: Into<String>,
        A: IntoIterator,
        A::Item: Into<String>,
    {
        Options::new(issuers, audiences).with_profile(Profile::Cryptr)
    }

    /// Accepted `iss` values (any one matches; must not be empty).
    pub fn with_issuers<S: Into<String>>(mut self, issuers: impl IntoIterator<Item = S>) -> Self {
        self.issuers = owned(issuers);
        self
    }

    /// Accepted `aud` values (this or [`with_client_ids`](Self::with_client_ids) must not be
    /// empty).
    pub fn with_audiences<S: Into<String>>(
        mut self,
        audiences: impl IntoIterator<Item = S>,
    ) -> Self {
        self.audiences = owned(audiences);
        self
    }

    /// Accepted OAuth client ids, standing in for the audience when `aud` is absent or empty
    /// (SPEC §2 step 15).
    pub fn with_client_ids<S: Into<String>>(
        mut self,
        client_ids: impl IntoIterator<Item = S>,
    ) -> Self {
        self.client_ids = owned(client_ids);
        self
    }

    /// Clock skew allowed on `exp`, `nbf` and `iat`, in whole seconds (default 0).
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// Claims that must be present (default: the profile's).
    pub fn with_required_claims(mut self, required: RequiredClaims) -> Self {
        self.required = Some(required);
        self
    }

    /// The longest token accepted, in bytes (default 8192).
    pub fn with_max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// The header `typ` required (compared case-insensitively, `application/` ignored); `None`
    /// (the default) does not check it.
    pub fn with_typ(mut self, typ: Option<String>) -> Self {
        self.typ = typ;
        self
    }

    /// The profile (default `rfc`).
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// The furthest in the future an `exp` may lie, in seconds; `None` for no limit. Default:
    /// the profile's (none for `rfc`, 30 days for `cryptr`); 0 is a configuration error.
    pub fn with_max_lifetime(mut self, seconds: Option<u64>) -> Self {
        self.max_lifetime = Some(seconds);
        self
    }

    /// The accepted issuers.
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The accepted client ids.
    pub fn client_ids(&self) -> &[String] {
        &self.client_ids
    }

    /// The leeway in seconds.
    pub fn leeway(&self) -> u64 {
        self.leeway
    }

    /// The required claims (the profile's default when not set).
    pub fn required_claims(&self) -> RequiredClaims {
        self.required
            .unwrap_or_else(|| self.profile.default_required_claims())
    }

    /// The longest token accepted, in bytes.
    pub fn max_token_len(&self) -> usize {
        self.max_token_len
    }

    /// The required `typ`, if checked.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The furthest in the future an `exp` may lie, in seconds (the profile's default when not
    /// set).
    pub fn max_lifetime(&self) -> Option<u64> {
        self.max_lifetime
            .unwrap_or_else(|| self.profile.default_max_lifetime())
    }

    /// Checks the options as SPEC §1 demands of a validator.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.issuers.is_empty() {
            return Err(ConfigError("at least one issuer is required"));
        }
        if self.audiences.is_empty() && self.client_ids.is_empty() {
            return Err(ConfigError(
                "at least one audience or one client id is required",
            ));
        }
        if self.max_lifetime() == Some(0) {
            return Err(ConfigError(
                "max_lifetime must be at least 1 second (or none)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_defaults_apply_whatever_the_order() {
        let a = Options::new(["i"], ["a"])
            .with_max_lifetime(None)
            .with_profile(Profile::Cryptr);
        assert_eq!(a.max_lifetime(), None);
        let b = Options::new(["i"], ["a"]).with_profile(Profile::Cryptr);
        assert_eq!(b.max_lifetime(), Some(CRYPTR_MAX_LIFETIME));
        assert_eq!(
            b.required_claims(),
            RequiredClaims::NONE.with(Claim::Exp).with(Claim::Iss)
        );
        assert_eq!(
            Options::new(["i"], ["a"]).required_claims(),
            RequiredClaims::default()
        );
    }

    #[test]
    fn configuration_errors() {
        assert!(Options::new(["i"], ["a"]).check().is_ok());
        assert!(Options::new(Vec::<String>::new(), ["a"]).check().is_err());
        assert!(Options::new(["i"], Vec::<String>::new()).check().is_err());
        assert!(
            Options::new(["i"], Vec::<String>::new())
                .with_client_ids(["c"])
                .check()
                .is_ok()
        );
        assert!(
            Options::new(["i"], ["a"])
                .with_max_lifetime(Some(0))
                .check()
                .is_err()
        );
        assert!(Profile::from_name("RFC").is_err());
        assert_eq!(Profile::from_name("cryptr"), Ok(Profile::Cryptr));
    }
}
