//! `cryptr-guard-compare --vectors PATH... -- LABEL=OUTPUT_FILE...`: checks runner outputs against
//! the vectors' expectations and against each other. Prints every problem and a summary line
//! `conformance: N passed, M failed`; exits 1 on any problem.

use std::path::PathBuf;
use std::process::ExitCode;

use cryptr_guard_conformance::{compare, vector_files};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(split) = args.iter().position(|a| a == "--") else {
        eprintln!("usage: cryptr-guard-compare --vectors PATH... -- LABEL=OUTPUT_FILE...");
        return ExitCode::from(2);
    };
    let (vectors, outputs) = args.split_at(split);
    let vectors: Vec<PathBuf> = vectors
        .iter()
        .filter(|a| *a != "--vectors")
        .map(PathBuf::from)
        .collect();
    let run = || -> Result<Vec<String>, String> {
        let expected = compare::expectations(&vector_files(&vectors)?)?;
        let mut runners = Vec::new();
        for spec in outputs.iter().skip(1) {
            let (label, file) = spec
                .split_once('=')
                .ok_or(format!("{spec}: want LABEL=FILE"))?;
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            runners.push((
                label.to_string(),
                compare::outcomes(&text).map_err(|e| format!("{label}: {e}"))?,
            ));
        }
        let problems = compare::report(&expected, &runners);
        println!(
            "conformance ({}): {} passed, {} failed",
            runners
                .iter()
                .map(|r| r.0.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            expected.len().saturating_sub(problems.len()),
            problems.len()
        );
        Ok(problems)
    };
    match run() {
        Ok(problems) if problems.is_empty() => ExitCode::SUCCESS,
        Ok(problems) => {
            for p in problems {
                eprintln!("MISMATCH {p}");
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("cryptr-guard-compare: {e}");
            ExitCode::from(2)
        }
    }
}
