//! Registered claims (RFC 7519 §4.1): their types (SPEC §2 step 10) and the clock checks (steps
//! 11–13).

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{ConfigError, Error, ErrorKind};
use crate::json::{Kind, Object, Value};
use crate::options::Profile;

/// A registered claim that can be required.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Claim {
    /// `exp`
    Exp,
    /// `nbf`
    Nbf,
    /// `iat`
    Iat,
    /// `iss`
    Iss,
    /// `sub`
    Sub,
    /// `aud`
    Aud,
    /// `jti`
    Jti,
}

impl Claim {
    /// Every claim, in a fixed order.
    pub const ALL: [Claim; 7] = [
        Claim::Exp,
        Claim::Nbf,
        Claim::Iat,
        Claim::Iss,
        Claim::Sub,
        Claim::Aud,
        Claim::Jti,
    ];

    /// The claim's name in the payload.
    pub const fn name(self) -> &'static str {
        match self {
            Claim::Exp => "exp",
            Claim::Nbf => "nbf",
            Claim::Iat => "iat",
            Claim::Iss => "iss",
            Claim::Sub => "sub",
            Claim::Aud => "aud",
            Claim::Jti => "jti",
        }
    }

    /// The claim called `name`.
    pub fn from_name(name: &str) -> Option<Claim> {
        Claim::ALL.into_iter().find(|c| c.name() == name)
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The set of claims that must be present (SPEC §1 `required_claims`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequiredClaims(u8);

impl Default for RequiredClaims {
    /// `exp`, `iss`, `aud`.
    fn default() -> Self {
        RequiredClaims::NONE
            .with(Claim::Exp)
            .with(Claim::Iss)
            .with(Claim::Aud)
    }
}

impl RequiredClaims {
    /// No claim required.
    pub const NONE: RequiredClaims = RequiredClaims(0);

    /// This set plus `claim`.
    pub const fn with(self, claim: Claim) -> Self {
        RequiredClaims(self.0 | claim.bit())
    }

    /// Whether `claim` is required.
    pub const fn contains(self, claim: Claim) -> bool {
        self.0 & claim.bit() != 0
    }

    /// The set named by `names`; an unknown name is a configuration error.
    pub fn from_names<'n>(names: impl IntoIterator<Item = &'n str>) -> Result<Self, ConfigError> {
        names
            .into_iter()
            .try_fold(RequiredClaims::NONE, |set, name| {
                Claim::from_name(name)
                    .map(|c| set.with(c))
                    .ok_or(ConfigError(
                        "required_claims may only name exp, nbf, iat, iss, sub, aud and jti",
                    ))
            })
    }

    /// The required claims, in [`Claim::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Claim> {
        Claim::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// The bit set, for fingerprints.
    pub(crate) const fn bits(self) -> u8 {
        self.0
    }
}

/// The `aud` claim: one string or an array of strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// `"aud": "…"`
    One(String),
    /// `"aud": ["…", …]`
    Many(Vec<String>),
}

impl Audience {
    /// The audiences, whatever the form.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many): (Option<&String>, &[String]) = match self {
            Audience::One(a) => (Some(a), &[]),
            Audience::Many(list) => (None, list),
        };
        one.into_iter().chain(many).map(String::as_str)
    }
}

/// The claims of a verified token that the validator reads: the registered ones (unescaped;
/// NumericDates rounded up and clamped) and, for SPEC §7, the client, tenant, token-type and
/// scope claims.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// `iss`
    pub iss: Option<String>,
    /// `sub`
    pub sub: Option<String>,
    /// `aud`
    pub aud: Option<Audience>,
    /// `exp`
    pub exp: Option<i64>,
    /// `nbf`
    pub nbf: Option<i64>,
    /// `iat`
    pub iat: Option<i64>,
    /// `jti`
    pub jti: Option<String>,
    /// `client_id` (RFC 9068), when it is a string.
    pub client_id: Option<String>,
    /// `cid` (Cryptr v1's client id), when it is a string.
    pub cid: Option<String>,
    /// `org` (Cryptr v3's organization), when it is a string.
    pub org: Option<String>,
    /// `tnt` (Cryptr v1's tenant), when it is a string.
    pub tnt: Option<String>,
    /// `jtt` (Cryptr's token type), when it is a string.
    pub jtt: Option<String>,
    /// `scope` as a list: an array's strings, or a string split on ASCII spaces.
    pub scope: Option<Vec<String>>,
    /// `scp` as a list, the same way.
    pub scp: Option<Vec<String>>,
}

fn invalid_claim(detail: &'static str) -> Error {
    Error::new(ErrorKind::InvalidClaim, detail)
}

fn numeric_date(value: Option<Value<'_>>, detail: &'static str) -> Result<Option<i64>, Error> {
    value
        .map(|v| v.numeric_date().ok_or_else(|| invalid_claim(detail)))
        .transpose()
}

fn string(value: Option<Value<'_>>, detail: &'static str) -> Result<Option<String>, Error> {
    value
        .map(|v| {
            v.as_str()
                .map(|s| s.into_owned())
                .ok_or_else(|| invalid_claim(detail))
        })
        .transpose()
}

/// A string claim where its type is not checked: a value of another type reads as absent.
fn lenient_string(value: Option<Value<'_>>) -> Option<String> {
    value.and_then(|v| v.as_str()).map(|s| s.into_owned())
}

/// A scope claim (`scope`, `scp`): an array of strings as is, or a string split on ASCII spaces
/// with empty parts dropped. `strict` refuses any other shape (`invalid_claim`); otherwise only
/// the strings of an array are kept and any other value reads as absent.
fn scopes(
    value: Option<Value<'_>>,
    strict: bool,
    detail: &'static str,
) -> Result<Option<Vec<String>>, Error> {
    let Some(value) = value else {
        return Ok(None);
    };
    match value.kind() {
        Kind::String => Ok(value.as_str().map(|s| {
            s.split(' ')
                .filter(|part| !part.is_empty())
                .map(String::from)
                .collect()
        })),
        Kind::Array => {
            let mut list = Vec::new();
            for item in value.array_items().into_iter().flatten() {
                match item.as_str() {
                    Some(s) => list.push(s.into_owned()),
                    None if strict => return Err(invalid_claim(detail)),
                    None => {}
                }
            }
            Ok(Some(list))
        }
        _ if strict => Err(invalid_claim(detail)),
        _ => Ok(None),
    }
}

/// What the protected header says about the issuer (SPEC §7, §8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HeaderIssuer {
    /// No `iss` member.
    #[default]
    Absent,
    /// A string `iss`, unescaped.
    String(String),
    /// An `iss` of another JSON type.
    NotAString,
}

impl HeaderIssuer {
    /// The string value, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            HeaderIssuer::String(s) => Some(s),
            HeaderIssuer::Absent | HeaderIssuer::NotAString => None,
        }
    }
}

impl Claims {
    /// SPEC §2 step 10 (with the `cryptr` profile's additions of §7): reads the claims of a
    /// payload, checking their types, then checks that every required claim is present.
    pub fn from_payload(
        payload: &Object<'_>,
        profile: Profile,
        header_iss: &HeaderIssuer,
        required: RequiredClaims,
    ) -> Result<Claims, Error> {
        let cryptr = profile == Profile::Cryptr;
        let text = |name: &str, detail: &'static str| {
            if cryptr {
                string(payload.get(name), detail)
            } else {
                Ok(lenient_string(payload.get(name)))
            }
        };
        let claims = Claims {
            exp: numeric_date(payload.get("exp"), "exp is not a number")?,
            nbf: numeric_date(payload.get("nbf"), "nbf is not a number")?,
            iat: numeric_date(payload.get("iat"), "iat is not a number")?,
            iss: string(payload.get("iss"), "iss is not a string")?,
            sub: string(payload.get("sub"), "sub is not a string")?,
            jti: string(payload.get("jti"), "jti is not a string")?,
            aud: payload.get("aud").map(audience).transpose()?,
            client_id: text("client_id", "client_id is not a string")?,
            cid: text("cid", "cid is not a string")?,
            org: text("org", "org is not a string")?,
            tnt: text("tnt", "tnt is not a string")?,
            jtt: text("jtt", "jtt is not a string")?,
            scope: scopes(
                payload.get("scope"),
                cryptr,
                "scope is not a string or an array of strings",
            )?,
            scp: scopes(
                payload.get("scp"),
                cryptr,
                "scp is not a string or an array of strings",
            )?,
        };
        if cryptr && *header_iss == HeaderIssuer::NotAString {
            return Err(invalid_claim("the header's iss is not a string"));
        }
        let present = |claim: Claim| {
            payload.contains(claim.name())
                || (cryptr && claim == Claim::Iss && *header_iss != HeaderIssuer::Absent)
        };
        if required.iter().any(|c| !present(c)) {
            return Err(Error::new(
                ErrorKind::MissingClaim,
                "a required claim is missing",
            ));
        }
        Ok(claims)
    }

    /// SPEC §2 steps 11–13: `exp` (then `max_lifetime`), `nbf` and `iat` against `now`, with
    /// `leeway` seconds of skew.
    pub fn check_time(
        &self,
        now: u64,
        leeway: u64,
        max_lifetime: Option<u64>,
    ) -> Result<(), Error> {
        let now = i128::from(now);
        let leeway = i128::from(leeway);
        if let Some(exp) = self.exp {
            if now >= i128::from(exp) + leeway {
                return Err(Error::new(ErrorKind::TokenExpired, "the token has expired"));
            }
            if let Some(max) = max_lifetime
                && i128::from(exp) > now + i128::from(max)
            {
                return Err(invalid_claim(
                    "exp lies further in the future than max_lifetime allows",
                ));
            }
        }
        if let Some(nbf) = self.nbf
            && i128::from(nbf) > now + leeway
        {
            return Err(Error::new(
                ErrorKind::TokenNotYetValid,
                "the token is not valid yet (nbf)",
            ));
        }
        if let Some(iat) = self.iat
            && i128::from(iat) > now + leeway
        {
            return Err(Error::new(
                ErrorKind::TokenNotYetValid,
                "the token was issued in the future (iat)",
            ));
        }
        Ok(())
    }

    /// The client id (SPEC §2 step 15, §7): `client_id`, else `cid` in the `cryptr` profile.
    pub fn client_id_for(&self, profile: Profile) -> Option<&str> {
        match profile {
            Profile::Rfc => self.client_id.as_deref(),
            Profile::Cryptr => self.client_id.as_deref().or(self.cid.as_deref()),
        }
    }

    /// The tenant (SPEC §7): `org`, else `tnt`, in the `cryptr` profile; none in `rfc`.
    pub fn tenant_for(&self, profile: Profile) -> Option<&str> {
        match profile {
            Profile::Rfc => None,
            Profile::Cryptr => self.org.as_deref().or(self.tnt.as_deref()),
        }
    }

    /// The scopes (SPEC §7): `scope`, else `scp`, as a list; empty when both are absent.
    pub fn scopes(&self) -> &[String] {
        self.scope
            .as_deref()
            .or(self.scp.as_deref())
            .unwrap_or_default()
    }
}

fn audience(value: Value<'_>) -> Result<Audience, Error> {
    const DETAIL: &str = "aud is not a string or an array of strings";
    match value.kind() {
        Kind::String => Ok(Audience::One(
            value.as_str().map(|s| s.into_owned()).unwrap_or_default(),
        )),
        Kind::Array => value
            .array_items()
            .into_iter()
            .flatten()
            .map(|item| {
                item.as_str()
                    .map(|s| s.into_owned())
                    .ok_or_else(|| invalid_claim(DETAIL))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Audience::Many),
        _ => Err(invalid_claim(DETAIL)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_object;

    fn claims(doc: &str, required: RequiredClaims) -> Result<Claims, ErrorKind> {
        let object = parse_object(doc.as_bytes()).map_err(|_| ErrorKind::MalformedToken)?;
        Claims::from_payload(&object, Profile::Rfc, &HeaderIssuer::Absent, required)
            .map_err(|e| e.kind())
    }

    #[test]
    fn types_are_checked_before_presence() {
        let required = RequiredClaims::default().with(Claim::Sub);
        assert_eq!(
            claims(r#"{"exp":"1"}"#, required),
            Err(ErrorKind::InvalidClaim)
        );
        assert_eq!(
            claims(r#"{"aud":[1]}"#, required),
            Err(ErrorKind::InvalidClaim)
        );
        assert_eq!(
            claims(r#"{"aud":null}"#, required),
            Err(ErrorKind::InvalidClaim)
        );
        assert_eq!(
            claims(r#"{"jti":5}"#, required),
            Err(ErrorKind::InvalidClaim)
        );
        assert_eq!(
            claims(r#"{"exp":1}"#, required),
            Err(ErrorKind::MissingClaim)
        );
        let ok = claims(
            r#"{"exp":1.5,"iss":"i","aud":["a","b"],"sub":"s"}"#,
            required,
        );
        assert_eq!(ok.as_ref().map(|c| c.exp), Ok(Some(2)));
        assert_eq!(
            ok.map(|c| c
                .aud
                .map(|a| a.iter().map(String::from).collect::<Vec<_>>())),
            Ok(Some(alloc::vec!["a".into(), "b".into()]))
        );
        assert_eq!(claims("{}", RequiredClaims::NONE).map(|c| c.exp), Ok(None));
    }

    #[test]
    fn clock_checks_follow_rfc7519() {
        let c = Claims {
            exp: Some(100),
            nbf: Some(50),
            iat: Some(40),
            ..Claims::default()
        };
        assert_eq!(c.check_time(99, 0, None), Ok(()));
        assert_eq!(
            c.check_time(100, 0, None).map_err(|e| e.kind()),
            Err(ErrorKind::TokenExpired)
        );
        assert_eq!(c.check_time(109, 10, None), Ok(()));
        assert_eq!(
            c.check_time(49, 0, None).map_err(|e| e.kind()),
            Err(ErrorKind::TokenNotYetValid)
        );
        assert_eq!(c.check_time(49, 1, None), Ok(()));
        let future_iat = Claims {
            iat: Some(i64::MAX),
            ..Claims::default()
        };
        assert_eq!(
            future_iat
                .check_time(u64::MAX, u64::MAX, None)
                .map_err(|e| e.kind()),
            Ok(())
        );
        let old = Claims {
            exp: Some(i64::MIN),
            ..Claims::default()
        };
        assert_eq!(
            old.check_time(0, 0, None).map_err(|e| e.kind()),
            Err(ErrorKind::TokenExpired)
        );
        assert_eq!(old.check_time(0, u64::MAX, None), Ok(()));
    }

    #[test]
    fn required_claims_from_names() {
        assert_eq!(
            RequiredClaims::from_names(["exp", "iss", "aud"]),
            Ok(RequiredClaims::default())
        );
        assert!(RequiredClaims::from_names(["exp", "scope"]).is_err());
        assert_eq!(RequiredClaims::from_names([]), Ok(RequiredClaims::NONE));
    }
}
