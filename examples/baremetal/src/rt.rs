//! The runtime of the image on QEMU's `mps2-an386` (a Cortex-M4 with FPU): the vector table and
//! reset code, a bump allocator that records its high-water mark, the stack paint and its
//! read-back, a timer, and ARM semihosting for the output and the exit status.
//!
//! Everything here is `unsafe` by nature (reset code, memory-mapped registers, the semihosting
//! trap); each block says why it holds. The validation itself (`main.rs`) is safe code.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::{asm, global_asm};
use core::cell::{Cell, UnsafeCell};
use core::panic::PanicInfo;

/// The word the reset code paints the stack with; the deepest word that no longer holds it is
/// the stack's high-water mark.
const STACK_PAINT: u32 = 0xDEAD_BEEF;

// The vector table (its first word, the initial stack pointer, comes from `memory.x`) and the
// reset code, in assembly because nothing may run before the FPU is on and the RAM is set up.
// Reset enables the FPU (CPACR: CP10 and CP11 full access): an `eabihf` build may emit
// floating-point instructions anywhere (its ABI passes `f64` values in FPU registers, and the
// core reads JSON numbers through `f64`), and each one faults while the FPU is off. Today's image
// has none, but a change to the core could bring one at any time. Then it copies `.data` from
// flash, zeroes `.bss`, paints the whole stack (from its bottom up to the current stack pointer,
// which at reset is its top: nothing is on it yet), and calls `entry`.
//
// SAFETY: this code runs first, alone, before any Rust code; it writes only the CPACR register
// and the `.data`, `.bss` and `.stack` regions that `memory.x` lays out (word-aligned, word-sized
// bounds), and only below the stack pointer.
global_asm!(
    ".section .vector_table.exceptions, \"a\", %progbits",
    ".word reset", // reset
    ".word {fault}", // NMI
    // HardFault: the configurable faults are off at reset, so every fault lands here.
    ".word {fault}",
    "",
    ".section .text.reset, \"ax\", %progbits",
    ".syntax unified",
    ".thumb",
    ".global reset",
    ".type reset, %function",
    ".thumb_func",
    "reset:",
    "    ldr r0, =0xE000ED88",
    "    ldr r1, [r0]",
    "    orr r1, r1, #0x00F00000",
    "    str r1, [r0]",
    "    dsb",
    "    isb",
    "    ldr r0, =__sdata",
    "    ldr r1, =__edata",
    "    ldr r2, =__sidata",
    ".Lcopy_data:",
    "    cmp r0, r1",
    "    bhs .Lzero_bss_start",
    "    ldr r3, [r2], #4",
    "    str r3, [r0], #4",
    "    b .Lcopy_data",
    ".Lzero_bss_start:",
    "    ldr r0, =__sbss",
    "    ldr r1, =__ebss",
    "    movs r2, #0",
    ".Lzero_bss:",
    "    cmp r0, r1",
    "    bhs .Lpaint_start",
    "    str r2, [r0], #4",
    "    b .Lzero_bss",
    ".Lpaint_start:",
    "    ldr r0, =__stack_bottom",
    "    mov r1, sp",
    "    ldr r2, ={paint}",
    ".Lpaint:",
    "    cmp r0, r1",
    "    bhs .Lrun",
    "    str r2, [r0], #4",
    "    b .Lpaint",
    ".Lrun:",
    "    bl {entry}",
    "    udf #0",
    ".ltorg",
    ".size reset, . - reset",
    fault = sym fault,
    entry = sym crate::entry,
    paint = const STACK_PAINT,
);

// The bounds that `memory.x` gives the stack.
unsafe extern "C" {
    static __stack_bottom: u32;
    static __stack_top: u32;
}

/// The stack's size and its high-water mark in bytes: how far below its top the deepest word
/// that no longer holds the paint is.
pub fn stack_usage() -> (usize, usize) {
    let bottom = (&raw const __stack_bottom).cast::<u32>();
    let top = (&raw const __stack_top).cast::<u32>();
    let size = top as usize - bottom as usize;
    let mut at = bottom;
    while at < top {
        // SAFETY: `at` is a word-aligned address inside the stack region that `memory.x`
        // reserves, below `top`; a volatile read keeps the compiler from assuming its value.
        if unsafe { at.read_volatile() } != STACK_PAINT {
            break;
        }
        at = at.wrapping_add(1);
    }
    (size, top as usize - at as usize)
}

/// Bytes of the bump allocator's heap.
pub const HEAP_SIZE: usize = 64 * 1024;

/// A bump allocator: it never frees, so its high-water mark is the heap this image needs. It
/// also counts the bytes still allocated (`live`) and their peak, which is what a freeing
/// allocator would need at least.
struct Bump {
    heap: UnsafeCell<[u8; HEAP_SIZE]>,
    next: Cell<usize>,
    live: Cell<usize>,
    peak: Cell<usize>,
}

// SAFETY: a single core with no interrupt handler that allocates: the cells are never touched by
// two contexts at once.
unsafe impl Sync for Bump {}

// SAFETY: each block handed out is a fresh, aligned range of the heap array (the bump only moves
// up), never handed out twice.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.heap.get().cast::<u8>();
        // Align the address, not just the offset: the array itself is only byte-aligned.
        let at = base as usize + self.next.get();
        let start = ((at + layout.align() - 1) & !(layout.align() - 1)) - base as usize;
        let Some(end) = start
            .checked_add(layout.size())
            .filter(|&end| end <= HEAP_SIZE)
        else {
            return core::ptr::null_mut();
        };
        self.next.set(end);
        self.live.set(self.live.get() + layout.size());
        self.peak.set(self.peak.get().max(self.live.get()));
        // SAFETY: `start..end` lies inside the heap array.
        unsafe { base.add(start) }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, layout: Layout) {
        self.live.set(self.live.get() - layout.size());
    }
}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    heap: UnsafeCell::new([0; HEAP_SIZE]),
    next: Cell::new(0),
    live: Cell::new(0),
    peak: Cell::new(0),
};

/// The heap's figures at one point of the run, in bytes.
#[derive(Clone, Copy)]
pub struct Heap {
    /// Handed out so far: the bump's high-water mark.
    pub bump: usize,
    /// Allocated and not freed yet.
    pub live: usize,
    /// The peak of `live` since the last [`heap_reset_peak`].
    pub peak: usize,
}

/// The heap's figures now.
pub fn heap() -> Heap {
    Heap {
        bump: ALLOCATOR.next.get(),
        live: ALLOCATOR.live.get(),
        peak: ALLOCATOR.peak.get(),
    }
}

/// Starts a new peak of the live bytes from what is live now.
pub fn heap_reset_peak() {
    ALLOCATOR.peak.set(ALLOCATOR.live.get());
}

/// The board's CMSDK APB timer 0 (its registers: control, current value, reload value).
const TIMER0_CTRL: *mut u32 = 0x4000_0000 as *mut u32;
const TIMER0_VALUE: *mut u32 = 0x4000_0004 as *mut u32;
const TIMER0_RELOAD: *mut u32 = 0x4000_0008 as *mut u32;
/// The frequency timer 0 counts down at: the board's 25 MHz system clock.
pub const TIMER_HZ: u32 = 25_000_000;

/// Starts timer 0 counting down from `u32::MAX`; [`timer_ticks`] counts from here.
pub fn timer_start() {
    // SAFETY: the timer's registers on `mps2-an386` (32-bit, memory-mapped); nothing else uses
    // the timer, and its interrupt stays disabled (control bit 3 clear).
    unsafe {
        TIMER0_RELOAD.write_volatile(u32::MAX);
        TIMER0_VALUE.write_volatile(u32::MAX);
        TIMER0_CTRL.write_volatile(1);
    }
}

/// Timer 0's ticks since [`timer_start`] (it wraps after 2^32 ticks, 171 s at 25 MHz).
pub fn timer_ticks() -> u32 {
    // SAFETY: a read of the timer's current-value register, as in `timer_start`.
    u32::MAX - unsafe { TIMER0_VALUE.read_volatile() }
}

const SYS_WRITEC: u32 = 0x03;
const SYS_GET_CMDLINE: u32 = 0x15;
const SYS_EXIT: u32 = 0x18;
/// `SYS_EXIT` reasons: QEMU exits with status 0 for the first, 1 for any other.
const ADP_STOPPED_APPLICATION_EXIT: usize = 0x2_0026;
const ADP_STOPPED_RUN_TIME_ERROR_UNKNOWN: usize = 0x2_0023;

/// One ARM semihosting call: operation `op` with the parameter `arg` (a value or the address of
/// a parameter block); returns what the host put in `r0`.
///
/// # Safety
/// `arg` must be what `op` expects: for operations that take a block, the address of a block of
/// the right size that stays valid (and writable where the operation writes) for the call.
unsafe fn semihosting(op: u32, arg: usize) -> usize {
    let ret: usize;
    // SAFETY: `bkpt 0xAB` is the semihosting trap: QEMU (run with `-semihosting-config
    // enable=on`) performs `op` on `arg`, which the caller vouches for, and returns in `r0`; the
    // host touches no other register and no memory but the block.
    unsafe {
        asm!("bkpt 0xAB", inout("r0") op as usize => ret, in("r1") arg, options(nostack));
    }
    ret
}

/// Writes `text` to the host's console.
pub fn print(text: &[u8]) {
    for byte in text {
        // SAFETY: SYS_WRITEC reads one byte at the address given, which `byte` is.
        unsafe { semihosting(SYS_WRITEC, core::ptr::from_ref(byte) as usize) };
    }
}

/// Writes `value` in decimal (by subtracting powers of ten: a 64-bit division would bring in
/// the compiler's software divide, nearly a kilobyte of flash on this 32-bit core).
pub fn print_u64(value: u64) {
    let mut rest = value;
    let mut started = false;
    let mut power = 10_000_000_000_000_000_000u64;
    loop {
        let mut digit = b'0';
        while rest >= power {
            rest -= power;
            digit += 1;
        }
        started |= digit != b'0' || power == 1;
        if started {
            print(&[digit]);
        }
        if power == 1 {
            return;
        }
        power = tenth(power);
    }
}

/// `power / 10` for a power of ten, without dividing.
fn tenth(power: u64) -> u64 {
    let mut lower = 1;
    while lower * 10 < power {
        lower *= 10;
    }
    lower
}

/// The command line QEMU hands the image (`-semihosting-config arg=…`), copied into `buffer`;
/// empty if there is none.
pub fn command_line(buffer: &mut [u8]) -> &[u8] {
    let mut block = [buffer.as_mut_ptr() as usize, buffer.len()];
    // SAFETY: SYS_GET_CMDLINE takes a block of two words, the buffer's address and length; the
    // host writes at most that many bytes into the buffer (NUL included) and the length it wrote
    // into the block's second word. Both live across the call.
    let failed = unsafe { semihosting(SYS_GET_CMDLINE, block.as_mut_ptr() as usize) } != 0;
    let len = if failed {
        0
    } else {
        block[1].min(buffer.len())
    };
    &buffer[..len]
}

/// Ends the run: QEMU exits with status 0 when `success`, 1 otherwise.
pub fn exit(success: bool) -> ! {
    let reason = if success {
        ADP_STOPPED_APPLICATION_EXIT
    } else {
        ADP_STOPPED_RUN_TIME_ERROR_UNKNOWN
    };
    // SAFETY: on 32-bit ARM, SYS_EXIT takes the reason itself, not a block.
    unsafe { semihosting(SYS_EXIT, reason) };
    // Only reached without a semihosting host: nothing else to do.
    loop {
        core::hint::spin_loop();
    }
}

/// Every fault (and NMI): say so and stop with a failure status.
extern "C" fn fault() -> ! {
    print(b"fault\n");
    exit(false)
}

#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    print(b"panic\n");
    exit(false)
}
