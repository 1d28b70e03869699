//! Runs conformance vectors (`tests/vectors/FORMAT.md`) through the core and reports outcomes in
//! the "Runner output" format. A runner never reads `expect` or `valid`: comparing is a separate
//! step ([`compare`]).

use std::fs;
use std::path::{Path, PathBuf};

use cryptr_guard_core::{
    KeySet, KeySetOptions, Options, Profile, RequiredClaims, Validator, Verified, verify_raw,
};
use serde_json::{Value, json};

pub mod compare;

/// A runner failure that is not a validation outcome (unreadable file, bad vector format).
pub type Failure = String;

/// Every `*.json` vector file under the given files or folders, each folder sorted by path.
pub fn vector_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Runs every case of one vector file; one output line per case, in file order.
pub fn run_file(path: &Path) -> Result<Vec<String>, Failure> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let group: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let at = |what: &str| format!("{}: {what}", path.display());
    if let Some(cases) = group.get("cases").and_then(Value::as_array) {
        let keys = token_group_keys(&group).map_err(|e| at(&e))?;
        cases
            .iter()
            .map(|case| token_case(case, &keys).map_err(|e| at(&e)))
            .collect()
    } else if let Some(cases) = group.get("jwks_cases").and_then(Value::as_array) {
        cases
            .iter()
            .map(|c| jwks_case(c).map_err(|e| at(&e)))
            .collect()
    } else if let Some(cases) = group.get("raw_cases").and_then(Value::as_array) {
        cases
            .iter()
            .map(|c| raw_case(c).map_err(|e| at(&e)))
            .collect()
    } else {
        Err(at("no cases, jwks_cases or raw_cases"))
    }
}

/// The key sets of a token group: one (`jwks`, `jwks_raw`: SPEC §2) or one per issuer
/// (`jwks_by_issuer`: SPEC §8), each parsed (or refused) with the group's key-set options.
#[derive(Debug)]
pub enum GroupKeys {
    /// One key set.
    One(Result<KeySet, cryptr_guard_core::Error>),
    /// Issuer → its key set.
    ByIssuer(Vec<(String, Result<KeySet, cryptr_guard_core::Error>)>),
}

/// Reads a token group's key sets.
pub fn token_group_keys(group: &Value) -> Result<GroupKeys, Failure> {
    let options = key_set_options(group)?;
    let parse = |document: &[u8]| KeySet::from_jwks_with(document, &options);
    match (
        group.get("jwks_raw"),
        group.get("jwks"),
        group.get("jwks_by_issuer"),
    ) {
        (Some(Value::String(raw)), _, _) => Ok(GroupKeys::One(parse(raw.as_bytes()))),
        (_, Some(jwks), _) => {
            let document = serde_json::to_vec(jwks).map_err(|e| e.to_string())?;
            Ok(GroupKeys::One(parse(&document)))
        }
        (_, _, Some(Value::Object(by_issuer))) => by_issuer
            .iter()
            .map(|(issuer, jwks)| {
                let document = serde_json::to_vec(jwks).map_err(|e| e.to_string())?;
                Ok((issuer.clone(), parse(&document)))
            })
            .collect::<Result<_, Failure>>()
            .map(GroupKeys::ByIssuer),
        _ => Err("a token group needs jwks, jwks_raw or jwks_by_issuer".into()),
    }
}

fn name(case: &Value) -> Result<&str, Failure> {
    case.get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| "a case without a name".to_string())
}

fn key_set_options(holder: &Value) -> Result<KeySetOptions, Failure> {
    let options = KeySetOptions::default();
    match holder
        .get("jwks_options")
        .and_then(|o| o.get("min_rsa_bits"))
    {
        None => Ok(options),
        Some(bits) => {
            let bits = bits
                .as_u64()
                .and_then(|b| u32::try_from(b).ok())
                .ok_or("min_rsa_bits is not an integer")?;
            options.with_min_rsa_bits(bits).map_err(|e| e.to_string())
        }
    }
}

fn strings(value: Option<&Value>, what: &str) -> Result<Vec<String>, Failure> {
    match value {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(String::from)
                    .ok_or(format!("{what}: not a string"))
            })
            .collect(),
        _ => Err(format!("{what}: missing or not a string/list")),
    }
}

/// The validator for a token case's `options`.
pub fn validator(options_json: &Value) -> Result<Validator, Failure> {
    let options = options_json;
    let issuers = strings(options.get("issuer"), "issuer")?;
    let audiences = strings(options.get("audiences"), "audiences")?;
    let required = match options.get("required_claims") {
        None => None,
        some => {
            let names = strings(some, "required_claims")?;
            Some(
                RequiredClaims::from_names(names.iter().map(String::as_str))
                    .map_err(|e| e.to_string())?,
            )
        }
    };
    let leeway = options
        .get("leeway")
        .and_then(Value::as_u64)
        .ok_or("leeway")?;
    let max_len = options
        .get("max_token_len")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or("max_token_len")?;
    let typ = match options.get("typ") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err("typ: not a string or null".into()),
    };
    let mut options = Options::new(issuers, audiences)
        .with_leeway(leeway)
        .with_max_token_len(max_len)
        .with_typ(typ);
    if let Some(profile) = options_profile(options_json)? {
        options = options.with_profile(profile);
    }
    // Absent `required_claims` and `max_lifetime` take the profile's defaults.
    if let Some(required) = required {
        options = options.with_required_claims(required);
    }
    match options_json.get("max_lifetime") {
        None => {}
        Some(Value::Null) => options = options.with_max_lifetime(None),
        Some(v) => {
            let seconds = v.as_u64().ok_or("max_lifetime: not an integer or null")?;
            options = options.with_max_lifetime(Some(seconds));
        }
    }
    if options_json.get("client_ids").is_some() {
        options = options.with_client_ids(strings(options_json.get("client_ids"), "client_ids")?);
    }
    Validator::new(options).map_err(|e| e.to_string())
}

fn options_profile(options: &Value) -> Result<Option<Profile>, Failure> {
    match options.get("profile") {
        None => Ok(None),
        Some(Value::String(name)) => Profile::from_name(name)
            .map(Some)
            .map_err(|e| e.to_string()),
        Some(_) => Err("profile: not a string".into()),
    }
}

/// The core's outcome line of one token case against its group's key sets (the HTTP runner
/// reports through it the tokens that cannot travel in an `Authorization` header).
pub fn token_case(case: &Value, keys: &GroupKeys) -> Result<String, Failure> {
    let name = name(case)?;
    let token = case.get("token").and_then(Value::as_str).ok_or("token")?;
    let now = case.get("now").and_then(Value::as_u64).ok_or("now")?;
    let validator = validator(case.get("options").ok_or("options")?)?;
    let outcome = match keys {
        GroupKeys::One(Err(e)) => Err(*e),
        GroupKeys::One(Ok(keys)) => validator.validate(token.as_bytes(), keys, now),
        GroupKeys::ByIssuer(sets) => validator.validate_by_issuer(token.as_bytes(), now, |i| {
            let issuer = validator.options().issuers().get(i)?;
            sets.iter()
                .find(|(name, _)| name == issuer)
                .and_then(|(_, set)| set.as_ref().ok())
        }),
    };
    Ok(match outcome {
        Ok(verified) => valid_line(name, &verified),
        Err(e) => json!({"name": name, "valid": false, "error": e.code()}).to_string(),
    })
}

/// The SPEC §7 derived values of a verified token, as the runners print them.
pub fn derived(verified: &Verified) -> Value {
    json!({
        "issuer": verified.issuer(),
        "client_id": verified.client_id(),
        "tenant": verified.tenant(),
        "scopes": verified.scopes(),
    })
}

fn valid_line(name: &str, verified: &Verified) -> String {
    format!(
        "{{\"name\":{},\"valid\":true,\"kid\":{},\"claims\":{},\"derived\":{}}}",
        json!(name),
        json!(verified.kid()),
        minify(verified.payload_str()),
        derived(verified)
    )
}

fn jwks_case(case: &Value) -> Result<String, Failure> {
    let name = name(case)?;
    let document = match (case.get("jwks_raw"), case.get("jwks_raw_hex")) {
        (Some(Value::String(raw)), _) => raw.clone().into_bytes(),
        (_, Some(Value::String(hex))) => from_hex(hex)?,
        _ => return Err(format!("{name}: jwks_raw or jwks_raw_hex")),
    };
    Ok(
        match KeySet::from_jwks_with(&document, &key_set_options(case)?) {
            Ok(keys) => json!({
                "name": name,
                "usable_kids": keys.kids().collect::<Vec<_>>(),
                "skipped": keys.skipped().len(),
            }),
            Err(e) => json!({"name": name, "error": e.code()}),
        }
        .to_string(),
    )
}

fn raw_case(case: &Value) -> Result<String, Failure> {
    let name = name(case)?;
    let jwk = case.get("jwk").ok_or("jwk")?;
    let member = |m: &str| jwk.get(m).and_then(Value::as_str).unwrap_or_default();
    let msg = from_hex(
        case.get("msg_hex")
            .and_then(Value::as_str)
            .ok_or("msg_hex")?,
    )?;
    let sig = from_hex(
        case.get("sig_hex")
            .and_then(Value::as_str)
            .ok_or("sig_hex")?,
    )?;
    let valid = verify_raw(member("n").as_bytes(), member("e").as_bytes(), &msg, &sig);
    Ok(json!({"name": name, "valid": valid}).to_string())
}

/// Decodes hexadecimal text.
pub fn from_hex(hex: &str) -> Result<Vec<u8>, Failure> {
    if !hex.len().is_multiple_of(2) {
        return Err("odd-length hex".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| "bad hex".to_string())
        })
        .collect()
}

/// Removes the insignificant whitespace of a valid JSON text, keeping every value exactly as
/// written (numbers beyond binary64 and duplicate nested names included), so it fits one line.
pub fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}
