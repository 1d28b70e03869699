//! The committed header `include/cryptr_guard.h` is exactly what the pinned cbindgen generates
//! from this crate (rustls-ffi's "ensure header updated" check). With `CG_BLESS=1` the test
//! writes the header instead (what `ffi/regen-header.sh` does).
#![allow(clippy::panic)] // a test reports failure by panicking

use std::path::PathBuf;

fn generate() -> String {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    // The version macros come from the crate version, so they can never drift from it.
    config.after_includes = Some(format!(
        "\n#define CG_VERSION_MAJOR {}\n#define CG_VERSION_MINOR {}\n#define CG_VERSION_PATCH {}\n#define CG_VERSION \"{}\"",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).unwrap_or_else(|e| panic!("header is not UTF-8: {e}"))
}

#[test]
fn committed_header_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../include/cryptr_guard.h");
    let generated = generate();
    if std::env::var_os("CG_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/cryptr_guard.h is stale: run ffi/regen-header.sh and commit the result"
    );
}

#[test]
fn version_macros_match_the_crate_version() {
    let header = generate();
    for (name, value) in [
        ("CG_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("CG_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("CG_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(
            header.contains(&format!("#define {name} {value}\n")),
            "{name}"
        );
    }
    let version = format!("#define CG_VERSION \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(header.contains(&version));
}
