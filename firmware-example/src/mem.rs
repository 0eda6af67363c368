//! Small `memcpy`/`memset` for the firmware, in place of `compiler_builtins`' (whose
//! symbols are weak, so these take their place at link time).
//!
//! Why: the library's versions are written for long, unaligned copies: on the micro:bit
//! `memcpy` alone was 594 bytes and the six `memclr`/`memset` entry points 826 more, about
//! 1.3 KB of a 16 KiB part's flash. The firmware copies and clears only small,
//! word-aligned things (the state and buffers of one step, the boot's structures), where a
//! word loop and a byte tail do as well. The loops use volatile accesses: otherwise LLVM
//! recognises them as a copy or a fill and calls `__aeabi_memcpy` or `__aeabi_memset` in
//! their place, that is, these functions themselves, for ever.

use core::ffi::c_void;

/// Copies `n` bytes from `src` to `dst`, a word at a time while both are 4-aligned.
///
/// # Safety
/// As C's `memcpy`: `src` readable and `dst` writable for `n` bytes, not overlapping.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void {
    // SAFETY: the caller's contract is `copy`'s.
    unsafe { copy(dst.cast(), src.cast(), n) };
    dst
}

/// [`memcpy`]'s loops, which every entry point shares.
///
/// # Safety
/// As `memcpy`.
#[inline(never)]
unsafe fn copy(d: *mut u8, s: *const u8, n: usize) {
    let mut k = 0;
    if (d as usize | s as usize).is_multiple_of(4) {
        while k + 4 <= n {
            // SAFETY: both are 4-aligned at `k` (a multiple of 4 from aligned starts) and
            // in bounds for 4 bytes (`k + 4 <= n`), by the caller's contract.
            unsafe {
                let w = s.add(k).cast::<u32>().read_volatile();
                d.add(k).cast::<u32>().write_volatile(w);
            }
            k += 4;
        }
    }
    while k < n {
        // SAFETY: `k < n`, in bounds by the caller's contract.
        unsafe { d.add(k).write_volatile(s.add(k).read_volatile()) };
        k += 1;
    }
}

/// Sets `n` bytes at `dst` to the low byte of `c`, a word at a time while 4-aligned.
///
/// # Safety
/// As C's `memset`: `dst` writable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut c_void, c: i32, n: usize) -> *mut c_void {
    // SAFETY: the caller's contract is `fill`'s.
    unsafe { fill(dst.cast(), c as u8, n) };
    dst
}

/// [`memset`]'s loops, which every entry point shares.
///
/// # Safety
/// As `memset`.
#[inline(never)]
unsafe fn fill(d: *mut u8, byte: u8, n: usize) {
    let mut k = 0;
    if (d as usize).is_multiple_of(4) {
        let word = u32::from(byte) * 0x0101_0101;
        while k + 4 <= n {
            // SAFETY: 4-aligned at `k` and in bounds for 4 bytes, by the caller's contract.
            unsafe { d.add(k).cast::<u32>().write_volatile(word) };
            k += 4;
        }
    }
    while k < n {
        // SAFETY: `k < n`, in bounds by the caller's contract.
        unsafe { d.add(k).write_volatile(byte) };
        k += 1;
    }
}

/// The ARM EABI's names for the same (`__aeabi_memset` takes the length before the value;
/// the `4`/`8` forms promise aligned pointers, which `memcpy`'s test finds anyway).
macro_rules! aeabi {
    ($($copy:ident),+ ; $($set:ident),+ ; $($clear:ident),+) => {
        $(
            /// `memcpy` under its EABI name.
            ///
            /// # Safety
            /// As `memcpy`.
            #[no_mangle]
            pub unsafe extern "C" fn $copy(dst: *mut c_void, src: *const c_void, n: usize) {
                // SAFETY: the caller's contract is memcpy's.
                unsafe { copy(dst.cast(), src.cast(), n) };
            }
        )+
        $(
            /// `memset` under its EABI name (length first).
            ///
            /// # Safety
            /// As `memset`.
            #[no_mangle]
            pub unsafe extern "C" fn $set(dst: *mut c_void, n: usize, c: i32) {
                // SAFETY: the caller's contract is memset's.
                unsafe { fill(dst.cast(), c as u8, n) };
            }
        )+
        $(
            /// `memset` to zero under its EABI name.
            ///
            /// # Safety
            /// As `memset`.
            #[no_mangle]
            pub unsafe extern "C" fn $clear(dst: *mut c_void, n: usize) {
                // SAFETY: the caller's contract is memset's.
                unsafe { fill(dst.cast(), 0, n) };
            }
        )+
    };
}

aeabi!(__aeabi_memcpy, __aeabi_memcpy4, __aeabi_memcpy8;
       __aeabi_memset, __aeabi_memset4, __aeabi_memset8;
       __aeabi_memclr, __aeabi_memclr4, __aeabi_memclr8);
