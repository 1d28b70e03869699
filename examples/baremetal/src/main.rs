//! The no_std proof of cryptr-guard-core.
//!
//! Built for `thumbv7em-none-eabihf`, it is a bare-metal image (vector table, reset handler, a
//! bump allocator, a panic handler) that parses a JWKS and validates a 4096-bit RS256 token with
//! the core; `scripts/baremetal.sh` reports its flash (`.text` + `.rodata`). Built for the host,
//! the same `run` is measured with a counting allocator: the peak heap of one validation.
#![cfg_attr(target_os = "none", no_std, no_main)]

extern crate alloc;

mod fixture;

use cryptr_guard_core::{KeySet, Options, Validator};

/// Parses the key set, then validates the token; returns whether it verified, and the `exp` claim.
fn parse_keys() -> Option<KeySet> {
    KeySet::from_jwks(fixture::JWKS).ok()
}

fn validate(keys: &KeySet) -> Option<i64> {
    let validator = Validator::new(Options::new(fixture::ISSUER, fixture::AUDIENCE)).ok()?;
    let verified = validator.validate(fixture::TOKEN, keys, fixture::NOW).ok()?;
    verified.claims().exp
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

    #[unsafe(no_mangle)]
    extern "C" fn reset() -> ! {
        let ok = super::parse_keys()
            .and_then(|keys| super::validate(&keys))
            .is_some();
        // Keep the result observable so nothing is optimised away.
        unsafe { core::ptr::write_volatile(0x2000_0000 as *mut u32, u32::from(ok)) };
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
    let exp = validate(&keys);
    let peak = PEAK.load(Ordering::SeqCst) - base;
    match exp {
        Some(exp) => println!("validated a 4096-bit token (exp {exp}); peak heap {peak} bytes"),
        None => {
            eprintln!("the fixture's token did not validate");
            std::process::exit(1);
        }
    }
}
