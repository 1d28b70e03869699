//! Passes the linker script when building for the bare-metal target.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumb") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
        println!("cargo:rustc-link-arg=-T{dir}/memory.x");
        println!("cargo:rustc-link-arg=--nmagic");
    }
    println!("cargo:rerun-if-changed=memory.x");
}
