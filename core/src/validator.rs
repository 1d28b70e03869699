//! The validator: SPEC §2, in order, turning an [`Untrusted`] token into a [`Verified`] one.

use alloc::string::String;
use alloc::vec::Vec;
use sha2::{Digest, Sha256};

use crate::claims::{Claims, RequiredClaims};
use crate::error::{ConfigError, Error, ErrorKind};
use crate::json;
use crate::jwk::KeySet;
use crate::token::{Untrusted, normalize_typ};

/// The default `max_token_len` in bytes.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8192;

/// Validation options (SPEC §1), with the SPEC's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: u64,
    required: RequiredClaims,
    max_token_len: usize,
    typ: Option<String>,
}

impl Options {
    /// Options accepting one issuer and one audience, every other option at its default.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Options {
        Options {
            issuers: alloc::vec![issuer.into()],
            audiences: alloc::vec![audience.into()],
            leeway: 0,
            required: RequiredClaims::default(),
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            typ: None,
        }
    }

    /// Options for a Cryptr tenant: issuer `{base_url}/t/{tenant_domain}`.
    pub fn cryptr(base_url: &str, tenant_domain: &str, audience: impl Into<String>) -> Options {
        Options::new(alloc::format!("{base_url}/t/{tenant_domain}"), audience)
    }

    /// Accepted `iss` values (any one matches; must not be empty).
    pub fn issuers<S: Into<String>>(mut self, issuers: impl IntoIterator<Item = S>) -> Self {
        self.issuers = issuers.into_iter().map(Into::into).collect();
        self
    }

    /// Accepted `aud` values (must not be empty).
    pub fn audiences<S: Into<String>>(mut self, audiences: impl IntoIterator<Item = S>) -> Self {
        self.audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// Clock skew allowed on `exp`, `nbf` and `iat`, in whole seconds (default 0).
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// Claims that must be present (default `exp`, `iss`, `aud`).
    pub fn required_claims(mut self, required: RequiredClaims) -> Self {
        self.required = required;
        self
    }

    /// The longest token accepted, in bytes (default 8192).
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// The header `typ` required (compared case-insensitively, `application/` ignored); `None`
    /// (the default) does not check it.
    pub fn typ(mut self, typ: Option<String>) -> Self {
        self.typ = typ;
        self
    }

    /// The accepted issuers.
    pub fn issuer_list(&self) -> &[String] {
        &self.issuers
    }

    /// The accepted audiences.
    pub fn audience_list(&self) -> &[String] {
        &self.audiences
    }

    /// The leeway in seconds.
    pub fn leeway_seconds(&self) -> u64 {
        self.leeway
    }

    /// The required claims.
    pub fn required(&self) -> RequiredClaims {
        self.required
    }

    /// The longest token accepted, in bytes.
    pub fn max_len(&self) -> usize {
        self.max_token_len
    }

    /// The required `typ`, if checked.
    pub fn typ_required(&self) -> Option<&str> {
        self.typ.as_deref()
    }
}

/// A token whose signature and claims hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    kid: Option<String>,
    claims: Claims,
    payload: Vec<u8>,
}

impl Verified {
    /// The header's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The registered claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The decoded payload: a strict JSON object, to hand all the claims to the user.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The decoded payload as text (it is valid UTF-8 JSON).
    pub fn payload_str(&self) -> &str {
        core::str::from_utf8(&self.payload).unwrap_or_default()
    }

    /// Splits into the kid, the claims and the payload.
    pub fn into_parts(self) -> (Option<String>, Claims, Vec<u8>) {
        (self.kid, self.claims, self.payload)
    }
}

/// Validates tokens against a key set with fixed options. Cheap to share; holds no state that
/// changes.
#[derive(Clone, Debug)]
pub struct Validator {
    options: Options,
    typ: Option<String>,
    fingerprint: [u8; 32],
}

impl Validator {
    /// Checks the options: at least one issuer and one audience.
    pub fn new(options: Options) -> Result<Validator, ConfigError> {
        if options.issuers.is_empty() {
            return Err(ConfigError("at least one issuer is required"));
        }
        if options.audiences.is_empty() {
            return Err(ConfigError("at least one audience is required"));
        }
        let typ = options.typ.as_deref().map(normalize_typ);
        let fingerprint = fingerprint(&options);
        Ok(Validator {
            options,
            typ,
            fingerprint,
        })
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// A SHA-256 identity of the options (for caches keyed by options).
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// Validates `token` against `keys` at time `now` (seconds since the Unix epoch): SPEC §2,
    /// steps 1 to 15 in order; the first failure decides the error.
    pub fn validate(&self, token: &[u8], keys: &KeySet, now: u64) -> Result<Verified, Error> {
        if token.len() > self.options.max_token_len {
            return Err(Error::new(
                ErrorKind::MalformedToken,
                "the token is longer than max_token_len",
            ));
        }
        let untrusted = Untrusted::parse(token)?;
        let header = untrusted.header();
        if let Some(expected) = &self.typ {
            let matches = header.typ.as_deref().map(normalize_typ).as_ref() == Some(expected);
            if !matches {
                return Err(Error::new(
                    ErrorKind::MalformedToken,
                    "the header's typ is missing or not the expected one",
                ));
            }
        }
        let key = keys
            .select(header.kid.as_deref(), header.x5t.as_deref())
            .ok_or_else(|| Error::from(ErrorKind::UnknownKey))?;
        verify_signature(key, &untrusted)?;
        let payload = untrusted.decode_payload()?;
        let claims = {
            let object = json::parse_object(&payload).map_err(|_| {
                Error::new(
                    ErrorKind::MalformedToken,
                    "the payload is not a strict JSON object",
                )
            })?;
            Claims::from_payload(&object, self.options.required)?
        };
        claims.check_time(now, self.options.leeway)?;
        self.check_issuer_and_audience(&claims)?;
        Ok(Verified {
            kid: header.kid.clone(),
            claims,
            payload,
        })
    }

    /// Steps 11–13 again, for a token verified earlier (the verified-token cache's hit path).
    pub fn recheck_time(&self, verified: &Verified, now: u64) -> Result<(), Error> {
        verified.claims.check_time(now, self.options.leeway)
    }

    fn check_issuer_and_audience(&self, claims: &Claims) -> Result<(), Error> {
        if let Some(iss) = &claims.iss
            && !self.options.issuers.iter().any(|accepted| accepted == iss)
        {
            return Err(Error::from(ErrorKind::InvalidIssuer));
        }
        if let Some(aud) = &claims.aud {
            let accepted = |a: &str| self.options.audiences.iter().any(|b| b == a);
            if !aud.iter().any(accepted) {
                return Err(Error::from(ErrorKind::InvalidAudience));
            }
        }
        Ok(())
    }
}

/// The largest signature: an 8192-bit modulus.
const MAX_SIGNATURE_LEN: usize = 1024;

fn verify_signature(key: &crate::jwk::Jwk, token: &Untrusted<'_>) -> Result<(), Error> {
    let invalid = || Error::from(ErrorKind::InvalidSignature);
    let mut buffer = [0u8; MAX_SIGNATURE_LEN];
    let signature = crate::base64url::decode_into(token.signature_segment(), &mut buffer)
        .ok_or_else(invalid)?;
    let public_key = key.public_key().ok_or_else(invalid)?;
    if public_key.verify(token.signing_input(), signature) {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn fingerprint(options: &Options) -> [u8; 32] {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    field(b"cryptr-guard options v1");
    for list in [&options.issuers, &options.audiences] {
        field(&(list.len() as u64).to_be_bytes());
        for item in list {
            field(item.as_bytes());
        }
    }
    field(&options.leeway.to_be_bytes());
    field(&[options.required.bits()]);
    field(&(options.max_token_len as u64).to_be_bytes());
    match &options.typ {
        Some(typ) => field(normalize_typ(typ).as_bytes()),
        None => field(b"\xff"),
    }
    hash.finalize().into()
}
