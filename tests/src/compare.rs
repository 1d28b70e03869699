//! Compares runner outputs with the vectors' expectations, and runners with each other.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::Failure;

/// The expected outcome of every case, by name, from vector files.
pub fn expectations(files: &[PathBuf]) -> Result<BTreeMap<String, Value>, Failure> {
    let mut out = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let group: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        for list in ["cases", "jwks_cases", "raw_cases"] {
            for case in group
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = case
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("unnamed case")?;
                let expect = match list {
                    "raw_cases" => serde_json::json!({"valid": case.get("valid")}),
                    _ => case.get("expect").cloned().ok_or("case without expect")?,
                };
                out.insert(name.to_string(), expect);
            }
        }
    }
    Ok(out)
}

/// Parses runner output (one JSON object per line) into outcomes by case name.
pub fn outcomes(text: &str) -> Result<BTreeMap<String, Value>, Failure> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let mut value: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let name = value
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("line {}: no name", i + 1))?
            .to_string();
        if let Some(obj) = value.as_object_mut() {
            obj.remove("name");
            if let Some(Value::String(raw)) = obj.remove("claims_raw") {
                let claims = serde_json::from_str(&raw)
                    .map_err(|e| format!("line {}: claims_raw: {e}", i + 1))?;
                obj.insert("claims".into(), claims);
            }
        }
        if out.insert(name.clone(), value).is_some() {
            return Err(format!("{name}: reported twice"));
        }
    }
    Ok(out)
}

/// Whether an outcome satisfies an expectation (same fields; claims compared as JSON values,
/// numbers by value). A runner prints `derived` for every valid case; it is compared where the
/// expectation has one.
pub fn matches(expect: &Value, outcome: &Value) -> bool {
    let (Some(expect), Some(outcome)) = (expect.as_object(), outcome.as_object()) else {
        return false;
    };
    outcome
        .keys()
        .all(|k| expect.contains_key(k) || k == "derived")
        && expect
            .iter()
            .all(|(k, v)| outcome.get(k).is_some_and(|o| json_eq(v, o)))
}

/// JSON equality with numbers compared by value (text when beyond binary64).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (xs, ys) = (x.to_string(), y.to_string());
            match (xs.parse::<f64>(), ys.parse::<f64>()) {
                (Ok(xf), Ok(yf)) if xf.is_finite() && yf.is_finite() => xf == yf,
                _ => xs.eq_ignore_ascii_case(&ys),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Every disagreement: a case a runner missed, or an outcome differing from the expectation.
/// `runners` are (label, outcomes). Returns one human line per problem.
pub fn report(
    expected: &BTreeMap<String, Value>,
    runners: &[(String, BTreeMap<String, Value>)],
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, expect) in expected {
        let mut wrong = Vec::new();
        let mut seen: Vec<(String, &Value)> = Vec::new();
        for (label, outcomes) in runners {
            match outcomes.get(name) {
                None => wrong.push(format!("{label}: missing")),
                Some(o) => {
                    if !matches(expect, o) {
                        wrong.push(format!("{label}: {}", short(o)));
                    }
                    seen.push((label.clone(), o));
                }
            }
        }
        let disagree = seen.windows(2).any(|w| match (w.first(), w.get(1)) {
            (Some(a), Some(b)) => !matches(a.1, b.1),
            _ => false,
        });
        if !wrong.is_empty() || disagree {
            problems.push(format!(
                "{name}: expected {}; {}",
                short(expect),
                if wrong.is_empty() {
                    "runners disagree".to_string()
                } else {
                    wrong.join("; ")
                }
            ));
        }
    }
    for (label, outcomes) in runners {
        for name in outcomes.keys().filter(|n| !expected.contains_key(*n)) {
            problems.push(format!(
                "{name}: reported by {label} but not in the vectors"
            ));
        }
    }
    problems
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 160 {
        s.chars().take(160).chain(['…']).collect()
    } else {
        s
    }
}
