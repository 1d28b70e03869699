//! The strict JSON reader: `json::parse_object` on arbitrary bytes, then every typed accessor on
//! the members a validator reads and on names taken from the input, recursing into arrays and
//! nested objects. Checks the accessors agree with the value kinds.

#![no_main]

use cryptr_guard_core::json::{self, Kind, Value};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 16] = [
    "alg", "kid", "x5t", "typ", "crit", "exp", "nbf", "iat", "iss", "sub", "aud", "jti", "keys",
    "n", "e", "a",
];

fn visit(value: Value<'_>, depth: usize) {
    assert!(depth <= json::MAX_DEPTH);
    assert!(!value.raw().is_empty());
    assert_eq!(value.as_str().is_some(), value.kind() == Kind::String);
    assert_eq!(value.numeric_date().is_some(), value.kind() == Kind::Number);
    assert_eq!(value.array_items().is_some(), value.kind() == Kind::Array);
    if let Some(items) = value.array_items() {
        for item in items {
            visit(item, depth + 1);
        }
    }
    if value.kind() == Kind::Object {
        // A nested object may repeat names (only the top level is checked), but it is valid JSON.
        match json::parse_object(value.raw()) {
            Ok(object) => visit_object(&object, depth + 1),
            Err(e) => assert_eq!(e, json::JsonError::DuplicateMember),
        }
    }
}

fn visit_object(object: &json::Object<'_>, depth: usize) {
    for name in NAMES {
        assert_eq!(object.get(name).is_some(), object.contains(name));
        if let Some(value) = object.get(name) {
            visit(value, depth);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(object) = json::parse_object(data) else {
        return;
    };
    assert!(object.len() <= data.len() / 4);
    visit_object(&object, 1);
    // Names taken from the input itself: every quoted run that is valid UTF-8.
    for candidate in data.split(|&b| b == b'"').skip(1).step_by(2).take(64) {
        if let Ok(name) = std::str::from_utf8(candidate)
            && let Some(value) = object.get(name)
        {
            visit(value, 1);
        }
    }
});
