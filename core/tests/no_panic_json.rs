//! Robustness of the strict JSON reader (SPEC §6): on random bytes, on generated JSON-like text and
//! on mutations of it, it never panics, and what it accepts and rejects agrees with serde_json
//! except where SPEC §6 is stricter (top-level duplicate members, nesting depth); every typed
//! accessor agrees with serde_json's value.
//!
//! Each property runs the number of cases its `proptest_config` gives; set `PROPTEST_CASES` for a
//! longer run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::mutation::{apply, mutation};
use common::proptest_config;
use cryptr_guard_core::json::{self, Kind};
use proptest::prelude::*;
use serde_json::Value as J;

/// JSON-looking text: valid more often than random bytes would be, and invalid in many ways.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,4})?",
        "\"([a-z]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}|\\\\ud83d\\\\ude00|é){0,6}\"",
        "[0-9a-z\"\\\\{}\\[\\],:.+-]{1,4}",
    ];
    let value = leaf.prop_recursive(40, 256, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z]{1,2}", inner), 0..4).prop_map(|v| {
                let members: Vec<String> = v.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    });
    (
        prop::collection::vec(("[a-z]{1,2}", value), 0..5),
        "[ \t\r\n]{0,2}",
    )
        .prop_map(|(members, ws)| {
            let members: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{ws}\"{k}\"{ws}:{ws}{v}"))
                .collect();
            format!("{ws}{{{}}}{ws}", members.join(","))
        })
}

/// The deepest nesting of `[`/`{` outside string literals (the top-level object counts as 1).
fn bracket_depth(input: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in input {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn check_json(input: &[u8]) {
    let ours = json::parse_object(input);
    let theirs = serde_json::from_slice::<J>(input);
    let Ok(object) = ours else {
        // Rejected: serde_json may accept it only as a non-object, or for a reason SPEC §6 adds
        // (top-level duplicates, depth).
        if let Ok(J::Object(_)) = &theirs {
            let err = ours.err();
            assert!(
                matches!(
                    err,
                    Some(json::JsonError::DuplicateMember | json::JsonError::TooDeep)
                ),
                "{:?} rejected as {err:?}",
                String::from_utf8_lossy(input)
            );
            if err == Some(json::JsonError::TooDeep) {
                assert!(bracket_depth(input) > json::MAX_DEPTH);
            }
        }
        return;
    };
    // Accepted: serde_json agrees it is an object (it keeps the last of duplicate names, and
    // there are none).
    let theirs = match theirs {
        Ok(J::Object(o)) => o,
        other => panic!(
            "{:?} accepted; serde_json: {other:?}",
            String::from_utf8_lossy(input)
        ),
    };
    assert_eq!(object.len(), theirs.len());
    assert!(bracket_depth(input) <= json::MAX_DEPTH);
    for (name, expected) in &theirs {
        let value = object
            .get(name)
            .expect("member found by its unescaped name");
        assert!(object.contains(name));
        let kind = match expected {
            J::Null => Kind::Null,
            J::Bool(_) => Kind::Bool,
            J::Number(_) => Kind::Number,
            J::String(_) => Kind::String,
            J::Array(_) => Kind::Array,
            J::Object(_) => Kind::Object,
        };
        assert_eq!(value.kind(), kind);
        assert_eq!(value.as_str().as_deref(), expected.as_str());
        assert_eq!(value.numeric_date().is_some(), expected.is_number());
        if let (Some(n), J::Number(text)) = (value.numeric_date(), expected) {
            // Exactness where f64 is exact enough to judge: integers below 2^53.
            if let Some(i) = text.as_i64().filter(|i| i.unsigned_abs() < 1 << 53) {
                assert_eq!(n, i);
            }
        }
        match (value.array_items(), expected) {
            (Some(items), J::Array(list)) => {
                let items: Vec<_> = items.collect();
                assert_eq!(items.len(), list.len());
                for (item, e) in items.iter().zip(list) {
                    assert_eq!(item.as_str().as_deref(), e.as_str());
                    assert_eq!(
                        serde_json::from_slice::<J>(item.raw()).ok().as_ref(),
                        Some(e)
                    );
                }
            }
            (None, J::Array(_)) => panic!("array without items"),
            (Some(_), _) => panic!("items of a non-array"),
            (None, _) => {}
        }
        assert_eq!(
            serde_json::from_slice::<J>(value.raw()).ok().as_ref(),
            Some(expected)
        );
    }
}

proptest! {
    #![proptest_config(proptest_config(512))]

    /// The JSON reader on random bytes and on JSON-like text agrees with serde_json.
    #[test]
    fn json_reader(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        text in json_text(),
        mutations in prop::collection::vec(mutation(), 0..3),
    ) {
        check_json(&bytes);
        check_json(text.as_bytes());
        let mut mutated = text.into_bytes();
        for m in &mutations {
            apply(&mut mutated, m);
        }
        check_json(&mutated);
    }
}
