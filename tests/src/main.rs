//! `cryptr-guard-conformance PATH...`: prints the core's outcome for every vector case, one JSON
//! object per line (tests/vectors/FORMAT.md, "Runner output"). Errors go to stderr, exit 2.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: cryptr-guard-conformance VECTOR_FILE_OR_DIR...");
        return ExitCode::from(2);
    }
    let run = || -> Result<(), String> {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for file in cryptr_guard_conformance::vector_files(&paths)? {
            for line in cryptr_guard_conformance::run_file(&file)? {
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
        }
        out.flush().map_err(|e| e.to_string())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cryptr-guard-conformance: {e}");
            ExitCode::from(2)
        }
    }
}
