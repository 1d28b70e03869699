//! Gives the shared library its SONAME on Linux: `libcryptr_guard.so.0`. A program linked
//! against `libcryptr_guard.so` then records that name (`NEEDED`), and the loader finds the
//! installed `libcryptr_guard.so.0` link (`ffi/install.sh`), whichever `0.x.y` file it points to.
//! Nothing is written anywhere: the argument goes to the linker of the `cdylib` only.

/// The ABI version in the SONAME. Bump it with any change that breaks programs linked against an
/// earlier library (a removed or changed function, type or constant), whatever the crate version
/// says.
const ABI_VERSION: u32 = 0;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Linux only, the one system the tests run on (other ELF systems take the same argument;
    // macOS would want `-install_name` instead).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcryptr_guard.so.{ABI_VERSION}");
    }
}
