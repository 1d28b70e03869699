//! Every vector file through the core: outcome == expectation for every case.

use std::path::PathBuf;

use cryptr_guard_conformance::{compare, run_file, vector_files};

#[test]
fn every_vector_matches_its_expectation() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let files = vector_files(&[root]).expect("vector files");
    assert!(files.len() >= 10, "vector files missing: {files:?}");
    let expected = compare::expectations(&files).expect("expectations");
    let mut output = String::new();
    for file in &files {
        for line in run_file(file).expect("runner") {
            output.push_str(&line);
            output.push('\n');
        }
    }
    let outcomes = compare::outcomes(&output).expect("outcomes");
    let problems = compare::report(&expected, &[("core".to_string(), outcomes)]);
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(expected.len() > 1000, "only {} cases", expected.len());
}
