//! Times `Validator::validate` of the core in a loop (the Rust side of bench/ffi_overhead.sh).
//!
//! `bench_core JWKS_FILE TOKEN_FILE ISSUER AUDIENCE NOW ITERATIONS BATCHES` prints the median over
//! BATCHES of the mean nanoseconds per call within a batch of ITERATIONS calls, after one warm-up
//! batch: the same method as ffi/bench/bench_validate.c, which goes through the C API.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use cryptr_guard_core::{KeySet, Options, Validator};

fn main() -> ExitCode {
    match run() {
        Ok(ns) => {
            println!("{ns:.0}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_core: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<f64, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [jwks, token, issuer, audience, now, iterations, batches] = args.as_slice() else {
        return Err("usage: bench_core JWKS TOKEN ISSUER AUDIENCE NOW ITERATIONS BATCHES".into());
    };
    let jwks = std::fs::read(jwks).map_err(|e| e.to_string())?;
    let token = std::fs::read(token).map_err(|e| e.to_string())?;
    let number = |s: &str| s.parse::<u64>().map_err(|e| e.to_string());
    let (now, iterations, batches) = (number(now)?, number(iterations)?, number(batches)?);
    let keys = KeySet::from_jwks(&jwks).map_err(|e| e.to_string())?;
    let validator = Validator::new(Options::new([issuer.as_str()], [audience.as_str()]))
        .map_err(|e| e.to_string())?;
    let mut samples = Vec::new();
    for batch in 0..=batches {
        let start = Instant::now();
        for _ in 0..iterations {
            let verified = validator
                .validate(black_box(&token), &keys, now)
                .map_err(|e| e.to_string())?;
            drop(black_box(verified));
        }
        if batch > 0 {
            samples.push(start.elapsed().as_nanos() as f64 / iterations.max(1) as f64);
        }
    }
    samples.sort_by(f64::total_cmp);
    samples
        .get(samples.len() / 2)
        .copied()
        .ok_or_else(|| "no batch".to_string())
}
