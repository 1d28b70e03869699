//! The validator: SPEC §2, in order, turning an [`Untrusted`] token into a [`Verified`] one; and
//! SPEC §8, the choice of an issuer's key set before the signature.

use alloc::string::String;
use alloc::vec::Vec;
use sha2::{Digest, Sha256};

use crate::claims::{Claims, HeaderIssuer, RequiredClaims};
use crate::error::{ConfigError, Error, ErrorKind};
use crate::json;
use crate::jwk::KeySet;
use crate::options::{Options, Profile};
use crate::token::{Header, Untrusted, normalize_typ};

pub use crate::options::DEFAULT_MAX_TOKEN_LEN;

/// A token whose signature and claims hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    kid: Option<String>,
    claims: Claims,
    payload: Vec<u8>,
    issuer: Option<String>,
    client_id: Option<String>,
    tenant: Option<String>,
}

impl Verified {
    /// The header's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The claims the validator read.
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

    /// The effective issuer (SPEC §7 derived values): the payload `iss`, else (in the `cryptr`
    /// profile) the header `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The client id: `client_id`, else (in the `cryptr` profile) `cid`.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The tenant (`cryptr` profile: `org`, else `tnt`; `rfc`: none).
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The scopes: `scope`, else `scp`, as a list (a string split on ASCII spaces); empty when
    /// both are absent. Scope checks read this, never one claim name.
    pub fn scopes(&self) -> &[String] {
        self.claims.scopes()
    }

    /// Splits into the kid, the claims and the payload.
    pub fn into_parts(self) -> (Option<String>, Claims, Vec<u8>) {
        (self.kid, self.claims, self.payload)
    }
}

/// A token that passed SPEC §2 steps 1–6, and whose issuer's key set was chosen (by SPEC §8's
/// issuer hint, or as the only one). It owns what it read and keeps no borrow of the token, so a
/// guard's check can hold both; it must only be finished with the same token bytes.
#[derive(Clone, Debug)]
pub(crate) struct Selected {
    header: Header,
    header_len: usize,
    payload_len: usize,
    issuer: usize,
    hint: Option<String>,
    payload: Option<Vec<u8>>,
}

impl Selected {
    /// The index, in [`Options::issuers`], of the issuer whose key set must verify the token.
    pub(crate) fn issuer_index(&self) -> usize {
        self.issuer
    }
}

/// What step 14 compares the effective issuer with.
#[derive(Clone, Copy)]
enum ExpectedIssuer<'a> {
    /// Any accepted issuer (SPEC §2).
    Accepted,
    /// Exactly the issuer hint (SPEC §8).
    Hint(&'a str),
}

/// Validates tokens with fixed options. Cheap to share; holds no state that changes.
#[derive(Clone, Debug)]
pub struct Validator {
    options: Options,
    typ: Option<String>,
    required: RequiredClaims,
    max_lifetime: Option<u64>,
    fingerprint: [u8; 32],
}

fn malformed(detail: &'static str) -> Error {
    Error::new(ErrorKind::MalformedToken, detail)
}

impl Validator {
    /// Checks the options (SPEC §1): at least one issuer, at least one audience or client id, a
    /// `max_lifetime` of at least one second.
    pub fn new(options: Options) -> Result<Validator, ConfigError> {
        options.check()?;
        let typ = options.typ.as_deref().map(normalize_typ);
        let required = options.required_claims();
        let max_lifetime = options.max_lifetime();
        let mut validator = Validator {
            options,
            typ,
            required,
            max_lifetime,
            fingerprint: [0; 32],
        };
        validator.fingerprint = validator.compute_fingerprint();
        Ok(validator)
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
    /// steps 1 to 15 in order; the first failure decides the error. This is the path of a host
    /// with one key set, even when several issuers are accepted.
    pub fn validate(&self, token: &[u8], keys: &KeySet, now: u64) -> Result<Verified, Error> {
        let untrusted = self.parse(token)?;
        self.finish(&untrusted, None, keys, now, ExpectedIssuer::Accepted)
    }

    /// SPEC §8: validates `token` for a host that holds one key set per accepted issuer.
    /// Steps 1–6, then the issuer hint (the header `iss` if it is a string, else the payload's)
    /// chooses the key set: `key_sets(i)` gives the set of `options.issuers()[i]`. Without a
    /// hint the only accepted issuer is chosen, or `missing_claim` when there are several; a
    /// hint that is not exactly an accepted issuer is `invalid_issuer`, before any key set is
    /// looked at. Then steps 7–15 against that set, the effective issuer equal to the hint.
    pub fn validate_by_issuer<'k>(
        &self,
        token: &[u8],
        now: u64,
        key_sets: impl FnOnce(usize) -> Option<&'k KeySet>,
    ) -> Result<Verified, Error> {
        let selected = self.select(token)?;
        let keys = key_sets(selected.issuer).ok_or_else(|| {
            Error::new(
                ErrorKind::JwksUnavailable,
                "no key set is held for the token's issuer",
            )
        })?;
        self.validate_selected(&selected, token, keys, now)
    }

    /// Steps 1–6 for a host with one key set (SPEC §2): the only set is chosen, and step 14
    /// accepts any accepted issuer.
    pub(crate) fn prepare(&self, token: &[u8]) -> Result<Selected, Error> {
        let (header, header_len, payload_len) = self.parse(token)?.into_parts();
        Ok(Selected {
            header,
            header_len,
            payload_len,
            issuer: 0,
            hint: None,
            payload: None,
        })
    }

    /// SPEC §8 steps 1–3: steps 1–6, then the issuer hint chooses the accepted issuer.
    pub(crate) fn select(&self, token: &[u8]) -> Result<Selected, Error> {
        let untrusted = self.parse(token)?;
        let mut payload = None;
        let hint = match &untrusted.header().iss {
            HeaderIssuer::String(iss) => Some(iss.clone()),
            HeaderIssuer::Absent | HeaderIssuer::NotAString => {
                let decoded = untrusted.decode_payload()?;
                let iss = json::parse_object(&decoded)
                    .map_err(|_| malformed("the payload is not a strict JSON object"))?
                    .get("iss")
                    .and_then(|v| v.as_str())
                    .map(|s| s.into_owned());
                payload = Some(decoded);
                iss
            }
        };
        let issuers = &self.options.issuers;
        let issuer = match &hint {
            Some(hint) => issuers
                .iter()
                .position(|accepted| accepted == hint)
                .ok_or_else(|| Error::from(ErrorKind::InvalidIssuer))?,
            None if issuers.len() == 1 => 0,
            None => {
                return Err(Error::new(
                    ErrorKind::MissingClaim,
                    "the token names no issuer, and several are accepted",
                ));
            }
        };
        let (header, header_len, payload_len) = untrusted.into_parts();
        Ok(Selected {
            header,
            header_len,
            payload_len,
            issuer,
            hint,
            payload,
        })
    }

    /// Steps 7–15 of a prepared or selected token against its issuer's key set; with a hint,
    /// the effective issuer must equal it exactly. `token` must be the bytes it was made from.
    pub(crate) fn validate_selected(
        &self,
        selected: &Selected,
        token: &[u8],
        keys: &KeySet,
        now: u64,
    ) -> Result<Verified, Error> {
        let untrusted = Untrusted::rebuild(
            token,
            selected.header.clone(),
            selected.header_len,
            selected.payload_len,
        )
        .ok_or_else(|| malformed("a compact JWS has exactly three segments"))?;
        let expected = match &selected.hint {
            Some(hint) => ExpectedIssuer::Hint(hint),
            None => ExpectedIssuer::Accepted,
        };
        self.finish(&untrusted, selected.payload.as_deref(), keys, now, expected)
    }

    /// Steps 11–13 again, for a token verified earlier (the verified-token cache's hit path).
    pub fn recheck_time(&self, verified: &Verified, now: u64) -> Result<(), Error> {
        verified
            .claims
            .check_time(now, self.options.leeway, self.max_lifetime)
    }

    /// Steps 1–6.
    fn parse<'t>(&self, token: &'t [u8]) -> Result<Untrusted<'t>, Error> {
        if token.len() > self.options.max_token_len {
            return Err(malformed("the token is longer than max_token_len"));
        }
        let untrusted = Untrusted::parse(token)?;
        if let Some(expected) = &self.typ {
            let typ = untrusted.header().typ.as_deref().map(normalize_typ);
            if typ.as_ref() != Some(expected) {
                return Err(malformed(
                    "the header's typ is missing or not the expected one",
                ));
            }
        }
        Ok(untrusted)
    }

    /// Steps 7–15; `payload` is the payload already decoded for the issuer hint, if it was.
    fn finish(
        &self,
        untrusted: &Untrusted<'_>,
        payload: Option<&[u8]>,
        keys: &KeySet,
        now: u64,
        expected: ExpectedIssuer<'_>,
    ) -> Result<Verified, Error> {
        let header = untrusted.header();
        let key = keys
            .select(header.kid.as_deref(), header.x5t.as_deref())
            .ok_or_else(|| Error::from(ErrorKind::UnknownKey))?;
        verify_signature(key, untrusted)?;
        let payload = match payload {
            Some(decoded) => decoded.to_vec(),
            None => untrusted.decode_payload()?,
        };
        let profile = self.options.profile;
        let claims = {
            let object = json::parse_object(&payload)
                .map_err(|_| malformed("the payload is not a strict JSON object"))?;
            Claims::from_payload(&object, profile, &header.iss, self.required)?
        };
        claims.check_time(now, self.options.leeway, self.max_lifetime)?;
        if profile == Profile::Cryptr && claims.jtt.as_deref().is_some_and(|t| t != "access") {
            return Err(Error::new(
                ErrorKind::InvalidClaim,
                "jtt is not access: this is not an access token",
            ));
        }
        let issuer = self.check_issuer(&claims, &header.iss, expected)?;
        self.check_audience(&claims)?;
        Ok(Verified {
            kid: header.kid.clone(),
            issuer,
            client_id: claims.client_id_for(profile).map(String::from),
            tenant: claims.tenant_for(profile).map(String::from),
            claims,
            payload,
        })
    }

    /// Step 14; returns the effective issuer.
    fn check_issuer(
        &self,
        claims: &Claims,
        header_iss: &HeaderIssuer,
        expected: ExpectedIssuer<'_>,
    ) -> Result<Option<String>, Error> {
        let invalid = || Error::from(ErrorKind::InvalidIssuer);
        let effective = match (self.options.profile, &claims.iss, header_iss.as_str()) {
            (Profile::Cryptr, Some(payload), Some(header)) if payload != header => {
                return Err(Error::new(
                    ErrorKind::InvalidIssuer,
                    "the header's iss and the payload's iss differ",
                ));
            }
            (Profile::Cryptr, None, header) => header,
            (_, payload, _) => payload.as_deref(),
        };
        if let Some(iss) = effective {
            let accepted = match expected {
                ExpectedIssuer::Accepted => self.options.issuers.iter().any(|a| a == iss),
                ExpectedIssuer::Hint(hint) => hint == iss,
            };
            if !accepted {
                return Err(invalid());
            }
        }
        Ok(effective.map(String::from))
    }

    /// Step 15.
    fn check_audience(&self, claims: &Claims) -> Result<(), Error> {
        let invalid = || Error::from(ErrorKind::InvalidAudience);
        let profile = self.options.profile;
        let empty = match &claims.aud {
            Some(aud) => aud.iter().next().is_none(),
            None => true,
        };
        if !empty {
            let accepted = |a: &str| self.options.audiences.iter().any(|b| b == a);
            return match claims.aud.iter().flat_map(|aud| aud.iter()).any(accepted) {
                true => Ok(()),
                false => Err(invalid()),
            };
        }
        if !self.options.client_ids.is_empty() {
            let client = claims.client_id_for(profile);
            return match client.is_some_and(|c| self.options.client_ids.iter().any(|a| a == c)) {
                true => Ok(()),
                false => Err(Error::new(
                    ErrorKind::InvalidAudience,
                    "the token has no audience and its client id is not an accepted one (client_ids, CRYPTR_CLIENT_IDS)",
                )),
            };
        }
        // Absent `aud` with no client ids: nothing to compare in the `rfc` profile; an empty
        // array (and, in the `cryptr` profile, an absent one) shares no accepted audience.
        if claims.aud.is_some() || profile == Profile::Cryptr {
            return Err(Error::new(
                ErrorKind::InvalidAudience,
                "the token's audience is empty: accept its client by client id (client_ids, CRYPTR_CLIENT_IDS)",
            ));
        }
        Ok(())
    }

    fn compute_fingerprint(&self) -> [u8; 32] {
        let options = &self.options;
        let mut hash = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(bytes);
        };
        field(b"cryptr-guard options v2");
        for list in [&options.issuers, &options.audiences, &options.client_ids] {
            field(&(list.len() as u64).to_be_bytes());
            for item in list {
                field(item.as_bytes());
            }
        }
        field(&options.leeway.to_be_bytes());
        field(&[self.required.bits()]);
        field(&(options.max_token_len as u64).to_be_bytes());
        match &self.typ {
            Some(typ) => field(typ.as_bytes()),
            None => field(b"\xff"),
        }
        field(options.profile.name().as_bytes());
        match self.max_lifetime {
            Some(max) => field(&max.to_be_bytes()),
            None => field(b"\xff"),
        }
        hash.finalize().into()
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
