//! A small independent model of SPEC §2 for generated tokens: the options of a case, the steps up
//! to the key choice (1–7) and the claims checks (10–15), and how a success's claims must read.

use cryptr_guard_core::base64url;
use cryptr_guard_core::{Audience, ErrorKind, Options, RequiredClaims, Validator, Verified};
use proptest::prelude::*;

use super::{Meaning, Obj};
use crate::common::{AUDIENCE, ISSUER, NOW, OTHER_KID, SIGNER_KID, SIGNER_X5T};

/// The options of a signed-token case, and what the model needs of them.
#[derive(Clone, Debug)]
pub struct Opts {
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: u64,
    required: Vec<&'static str>,
    typ: Option<String>,
    max_len: usize,
}

impl Opts {
    pub fn validator(&self) -> Validator {
        let options = Options::new(self.issuers.clone(), self.audiences.clone())
            .with_leeway(self.leeway)
            .with_required_claims(
                RequiredClaims::from_names(self.required.iter().copied()).unwrap(),
            )
            .with_max_token_len(self.max_len)
            .with_typ(self.typ.clone());
        Validator::new(options).unwrap()
    }
}

pub fn opts() -> impl Strategy<Value = Opts> {
    (
        prop::sample::subsequence(vec![ISSUER, "https://other.example.com"], 1..=2),
        prop::sample::subsequence(vec![AUDIENCE, "https://reports.example.com"], 1..=2),
        prop::sample::select(vec![0u64, 0, 1, 60, u64::MAX]),
        prop::sample::subsequence(vec!["exp", "nbf", "iat", "iss", "sub", "aud", "jti"], 0..=4),
        prop::sample::select(vec![None, None, None, None, None, None, Some("at+jwt"), Some("application/JWT")]),
        prop_oneof![18 => Just(8192usize), 1 => Just(65_536), 1 => prop::sample::select(vec![300usize, 0])],
    )
        .prop_map(|(issuers, audiences, leeway, required, typ, max_len)| Opts {
            issuers: issuers.into_iter().map(String::from).collect(),
            audiences: audiences.into_iter().map(String::from).collect(),
            leeway,
            required,
            typ: typ.map(String::from),
            max_len,
        })
}

pub fn now() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => Just(NOW),
        1 => prop::sample::select(vec![0, 1_699_999_999, 1_700_003_599, 1_700_003_600, u64::MAX]),
        1 => any::<u64>(),
    ]
}

fn normalize_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    lower
        .strip_prefix("application/")
        .map_or(lower.clone(), String::from)
}

/// Which key the model expects step 7 to choose.
pub enum Choice {
    Signer,
    Other,
}

/// SPEC §2 steps 1–7 for a generated header: the error, or the key chosen.
pub fn model_header(
    token_len: usize,
    header: &Obj,
    opts: &Opts,
    one_key: bool,
) -> Result<Choice, ErrorKind> {
    use ErrorKind::*;
    if token_len > opts.max_len {
        return Err(MalformedToken);
    }
    if !header.valid() {
        return Err(MalformedToken);
    }
    match header.get("alg") {
        None => return Err(MalformedToken),
        Some(Meaning::Str(alg)) if alg == "RS256" => {}
        Some(Meaning::Str(_)) => return Err(UnsupportedAlgorithm),
        Some(_) => return Err(MalformedToken),
    }
    if header.get("crit").is_some() {
        return Err(MalformedToken);
    }
    if let Some(expected) = &opts.typ {
        match header.get("typ") {
            Some(Meaning::Str(t)) if normalize_typ(t) == normalize_typ(expected) => {}
            _ => return Err(MalformedToken),
        }
    }
    match (header.get("kid"), header.get("x5t")) {
        (Some(Meaning::Str(kid)), _) => match kid.as_str() {
            SIGNER_KID => Ok(Choice::Signer),
            OTHER_KID if !one_key => Ok(Choice::Other),
            _ => Err(UnknownKey),
        },
        (Some(_), _) => Err(MalformedToken),
        (None, Some(Meaning::Str(x5t))) => {
            if x5t == SIGNER_X5T {
                Ok(Choice::Signer)
            } else {
                Err(UnknownKey)
            }
        }
        (None, _) if one_key => Ok(Choice::Signer),
        (None, _) => Err(UnknownKey),
    }
}

/// SPEC §2 steps 10–15 for a generated, valid payload.
pub fn model_claims(payload: &Obj, opts: &Opts, now: u64) -> Result<(), ErrorKind> {
    use ErrorKind::*;
    for date in ["exp", "nbf", "iat"] {
        if !matches!(payload.get(date), None | Some(Meaning::Num(_))) {
            return Err(InvalidClaim);
        }
    }
    for s in ["iss", "sub", "jti"] {
        if !matches!(payload.get(s), None | Some(Meaning::Str(_))) {
            return Err(InvalidClaim);
        }
    }
    if !matches!(
        payload.get("aud"),
        None | Some(Meaning::Str(_)) | Some(Meaning::Strs(_))
    ) {
        return Err(InvalidClaim);
    }
    if opts.required.iter().any(|c| payload.get(c).is_none()) {
        return Err(MissingClaim);
    }
    let num = |name: &str| match payload.get(name) {
        Some(Meaning::Num(v)) => Some(i128::from(*v)),
        _ => None,
    };
    let (now, leeway) = (i128::from(now), i128::from(opts.leeway));
    if num("exp").is_some_and(|exp| now >= exp + leeway) {
        return Err(TokenExpired);
    }
    if num("nbf").is_some_and(|nbf| nbf > now + leeway)
        || num("iat").is_some_and(|iat| iat > now + leeway)
    {
        return Err(TokenNotYetValid);
    }
    if let Some(Meaning::Str(iss)) = payload.get("iss")
        && !opts.issuers.contains(iss)
    {
        return Err(InvalidIssuer);
    }
    match payload.get("aud") {
        Some(Meaning::Str(aud)) if !opts.audiences.contains(aud) => Err(InvalidAudience),
        Some(Meaning::Strs(auds)) if !auds.iter().any(|a| opts.audiences.contains(a)) => {
            Err(InvalidAudience)
        }
        _ => Ok(()),
    }
}

/// Checks a success against the generated payload: the registered claims are its meanings.
pub fn check_claims(v: &Verified, payload: &Obj, payload_text: &str) {
    assert_eq!(v.payload(), payload_text.as_bytes());
    let claims = v.claims();
    let num = |name: &str| match payload.get(name) {
        Some(Meaning::Num(n)) => Some(*n),
        _ => None,
    };
    let string = |name: &str| match payload.get(name) {
        Some(Meaning::Str(s)) => Some(s.clone()),
        _ => None,
    };
    assert_eq!(claims.exp, num("exp"));
    assert_eq!(claims.nbf, num("nbf"));
    assert_eq!(claims.iat, num("iat"));
    assert_eq!(claims.iss, string("iss"));
    assert_eq!(claims.sub, string("sub"));
    assert_eq!(claims.jti, string("jti"));
    let aud = match payload.get("aud") {
        Some(Meaning::Str(s)) => Some(Audience::One(s.clone())),
        Some(Meaning::Strs(list)) => Some(Audience::Many(list.clone())),
        _ => None,
    };
    assert_eq!(claims.aud, aud);
}

/// How the payload segment is written.
#[derive(Clone, Copy, Debug)]
pub enum PayloadEncoding {
    Strict,
    /// With `=` padding: not strict base64url, so `malformed_token` once the signature holds.
    Padded,
    /// The standard alphabet's `+`/`/` where base64url has `-`/`_` (when there are any).
    StandardAlphabet,
}

pub fn encode_payload(text: &str, encoding: PayloadEncoding) -> (String, bool) {
    let strict = base64url::encode(text.as_bytes());
    match encoding {
        PayloadEncoding::Strict => (strict, true),
        PayloadEncoding::Padded => {
            let pad = "=".repeat((4 - strict.len() % 4) % 4).max("=".into());
            (format!("{strict}{pad}"), false)
        }
        PayloadEncoding::StandardAlphabet => {
            let standard = strict.replace('-', "+").replace('_', "/");
            let ok = standard == strict;
            (standard, ok)
        }
    }
}
