//! The no_std proof of cryptr-guard-core.
//!
//! Built for `thumbv7em-none-eabihf`, it is a bare-metal image (vector table, reset handler, a
//! bump allocator, a panic handler) that parses a JWKS, validates a 4096-bit RS256 token with the
//! core and reads its `sub` and `scope` claims into `heapless` strings (the core's `serde`
//! feature); `scripts/baremetal.sh` reports its flash (`.text` + `.rodata`). Built for the host,
//! the same `run` is measured with a counting allocator: the peak heap of one validation.
#![cfg_attr(target_os = "none", no_std, no_main)]

extern crate alloc;

mod fixture;

use cryptr_guard_core::{KeySet, Options, Validator};
use heapless::String;
use serde::Deserialize;

/// The claims read beyond the registered ones, into fixed-capacity strings (no allocation).
#[derive(Deserialize)]
struct AppClaims {
    sub: String<64>,
    scope: String<64>,
}

/// What a validation yields: the `exp` claim, and `sub` and `scope`.
struct Outcome {
    exp: i64,
    claims: AppClaims,
}

fn parse_keys() -> Option<KeySet> {
    KeySet::from_jwks(fixture::JWKS).ok()
}

/// Validates the token, then reads its claims; `None` if either fails.
fn validate(keys: &KeySet) -> Option<Outcome> {
    let validator = Validator::new(Options::new([fixture::ISSUER], [fixture::AUDIENCE])).ok()?;
    let verified = validator
        .validate(fixture::TOKEN, keys, fixture::NOW)
        .ok()?;
    let claims = verified.deserialize_claims::<AppClaims>().ok()?;
    Some(Outcome {
        exp: verified.claims().exp?,
        claims,
    })
}

#[cfg(target_os = "none")]
mod bare {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;
    use core::panic::PanicInfo;

    const HEAP_SIZE: usize = 64 * 1024;

    /// A bump allocator: enough for a validation, and it never frees.
    struct Bump {
        heap: UnsafeCell<[u8; HEAP_SIZE]>,
        next: UnsafeCell<usize>,
    }

    // Single core, no interrupts touch the heap.
    unsafe impl Sync for Bump {}

    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: single-threaded bare-metal image; `next` is only touched here.
            let next = unsafe { &mut *self.next.get() };
            let start = (*next + layout.align() - 1) & !(layout.align() - 1);
            let end = start + layout.size();
            if end > HEAP_SIZE {
                return core::ptr::null_mut();
            }
            *next = end;
            // SAFETY: start..end lies inside the heap array.
            unsafe { (self.heap.get() as *mut u8).add(start) }
        }

        unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
    }

    #[global_allocator]
    static ALLOCATOR: Bump = Bump {
        heap: UnsafeCell::new([0; HEAP_SIZE]),
        next: UnsafeCell::new(0),
    };

    #[panic_handler]
    fn panic(_info: &PanicInfo<'_>) -> ! {
        loop {}
    }

    #[unsafe(link_section = ".vector_table.reset")]
    #[unsafe(no_mangle)]
    static RESET_VECTOR: extern "C" fn() -> ! = reset;

    /// Where the result is kept: the success flag, then `exp` (little-endian), `sub` and `scope`
    /// (length-prefixed).
    #[unsafe(no_mangle)]
    static mut OBSERVED: [u8; 139] = [0; 139];

    #[unsafe(no_mangle)]
    extern "C" fn reset() -> ! {
        let outcome = super::parse_keys().and_then(|keys| super::validate(&keys));
        let out = core::ptr::addr_of_mut!(OBSERVED).cast::<u8>();
        let mut at = 0;
        let mut put = |byte: u8| {
            // SAFETY: `at` stays below 139 (1 + 8 + 2 × (1 + 64) bytes); single-threaded image.
            unsafe { core::ptr::write_volatile(out.add(at), byte) };
            at += 1;
        };
        // Keep the result observable so nothing is optimised away.
        put(u8::from(outcome.is_some()));
        if let Some(outcome) = outcome {
            outcome.exp.to_le_bytes().into_iter().for_each(&mut put);
            for text in [&outcome.claims.sub, &outcome.claims.scope] {
                put(text.len() as u8);
                text.bytes().for_each(&mut put);
            }
        }
        loop {}
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting;
    static CURRENT: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
            // SAFETY: forwarded to the system allocator with the same layout.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
            // SAFETY: forwarded to the system allocator with the same layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    let Some(keys) = parse_keys() else {
        eprintln!("the fixture's key set did not parse");
        std::process::exit(1);
    };
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let outcome = validate(&keys);
    let peak = PEAK.load(Ordering::SeqCst) - base;
    match outcome {
        Some(Outcome { exp, claims }) => println!(
            "validated a 4096-bit token (exp {exp}, sub {:?}, scope {:?}); peak heap {peak} bytes",
            claims.sub.as_str(),
            claims.scope.as_str()
        ),
        None => {
            eprintln!("the fixture's token did not validate");
            std::process::exit(1);
        }
    }
}
