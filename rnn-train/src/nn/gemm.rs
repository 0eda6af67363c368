//! The matrix products of the batched passes ([`super::batched`]): `C += A · B` with a
//! strided `A` (so that `Aᵀ` costs nothing) and a row-major `B`.
//!
//! Three kernels behind one function, chosen with [`set_kernel`] or the environment
//! variable `RNN_TRAIN_KERNEL` (`fused`, `exact`, `matrixmultiply`):
//!
//! - [`Kernel::Fused`] (the default), written here: every element of `C` is summed in the
//!   order of `k` with fused multiply-adds (`f32::mul_add`, correctly rounded by
//!   definition), so the result is the same bits on every x86-64, whatever the vector width
//!   (AVX-512, AVX2) and however `m` and `n` are blocked; on a CPU without FMA (before
//!   2013) `mul_add` is a library call, still the same bits but many times slower;
//! - [`Kernel::Exact`]: the same loops with a multiply then an add, the same bits on every
//!   x86-64 and fast on all of them, at about half the fused kernel's speed on one with FMA;
//! - [`Kernel::Matrixmultiply`]: the `matrixmultiply` crate's `sgemm`, which picks an
//!   AVX-512, FMA or AVX kernel at run time, so its results depend on the CPU; it packs
//!   both operands on every call, which the few rows of one time step do not repay.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering};

use multiversion::multiversion;

/// Which code computes the batched passes' matrix products.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kernel {
    /// Ours with fused multiply-adds: the same bits on every x86-64.
    Fused,
    /// Ours with a multiply and an add: the same bits on every x86-64.
    Exact,
    /// The `matrixmultiply` crate (FMA where the CPU has it: CPU-dependent bits).
    Matrixmultiply,
}

/// `UNSET` until the first product or [`set_kernel`].
static KERNEL: AtomicU8 = AtomicU8::new(UNSET);
const UNSET: u8 = u8::MAX;

/// Chooses the kernel for the whole process.
pub fn set_kernel(k: Kernel) {
    KERNEL.store(k as u8, Ordering::Relaxed);
}

/// The kernel in use: [`set_kernel`]'s, else `RNN_TRAIN_KERNEL`'s, else [`Kernel::Fused`].
pub fn kernel() -> Kernel {
    let mut k = KERNEL.load(Ordering::Relaxed);
    if k == UNSET {
        let chosen = match std::env::var("RNN_TRAIN_KERNEL").as_deref() {
            Ok("exact") => Kernel::Exact,
            Ok("matrixmultiply") => Kernel::Matrixmultiply,
            _ => Kernel::Fused,
        };
        k = chosen as u8;
        KERNEL.store(k, Ordering::Relaxed);
    }
    match k {
        0 => Kernel::Fused,
        1 => Kernel::Exact,
        _ => Kernel::Matrixmultiply,
    }
}

/// A strided `m × k` operand: element `(i, p)` at `data[i·rs + p·cs]`.
#[derive(Clone, Copy, Debug)]
pub struct Strided<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Strided<'a> {
    /// A row-major matrix with rows `ld` apart.
    pub fn rows(data: &'a [f32], ld: usize) -> Self {
        Strided {
            data,
            rs: ld,
            cs: 1,
        }
    }

    /// The transpose of a row-major matrix with rows `ld` apart.
    pub fn transposed(data: &'a [f32], ld: usize) -> Self {
        Strided {
            data,
            rs: 1,
            cs: ld,
        }
    }
}

/// `C[m×n] += A[m×k] · B[k×n]`, `B` row-major with rows `ldb` apart, `C` with rows `ldc`
/// apart.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: Strided<'_>,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // The last element each operand touches must be there (the kernels index within it).
    assert!(a.data.len() > (m - 1) * a.rs + (k - 1) * a.cs);
    assert!(b.len() >= (k - 1) * ldb + n);
    assert!(c.len() >= (m - 1) * ldc + n);
    match kernel() {
        Kernel::Fused => ours(true, m, n, k, a, b, ldb, c, ldc),
        Kernel::Exact => ours(false, m, n, k, a, b, ldb, c, ldc),
        Kernel::Matrixmultiply => {
            // SAFETY: the asserts above keep every element matrixmultiply reads or writes
            // inside the slices; `c` is borrowed mutably, so nothing else aliases it.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.data.as_ptr(),
                    a.rs as isize,
                    a.cs as isize,
                    b.as_ptr(),
                    ldb as isize,
                    1,
                    1.0,
                    c.as_mut_ptr(),
                    ldc as isize,
                    1,
                )
            }
        }
    }
}

/// The longest stretch of `k` a block sums before it stores (so that the `k × NR` panel
/// of `B` stays in the L1 cache).
const KC: usize = 256;

thread_local! {
    /// A zero-padded copy of the last, narrower panel of `B`.
    static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

#[allow(clippy::too_many_arguments)]
fn ours(
    fused: bool,
    m: usize,
    n: usize,
    k: usize,
    a: Strided<'_>,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    if std::arch::is_x86_feature_detected!("avx512f") {
        wide(fused, m, n, k, a, b, ldb, c, ldc)
    } else {
        narrow(fused, m, n, k, a, b, ldb, c, ldc)
    }
}

// Two copies of one loop nest: 8 rows of 32 columns per block fill 16 of AVX-512's 32
// registers, 4 rows of 16 fill 8 of AVX2's 16. The width changes only which elements share a register, never the
// order in which one element is summed.

#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma"))]
#[allow(clippy::too_many_arguments)]
fn wide<'a>(
    fused: bool,
    m: usize,
    n: usize,
    k: usize,
    a: Strided<'a>,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    if fused {
        blocked::<8, 32, true>(m, n, k, a, b, ldb, c, ldc)
    } else {
        blocked::<8, 32, false>(m, n, k, a, b, ldb, c, ldc)
    }
}

#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
#[allow(clippy::too_many_arguments)]
fn narrow<'a>(
    fused: bool,
    m: usize,
    n: usize,
    k: usize,
    a: Strided<'a>,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    if fused {
        blocked::<4, 16, true>(m, n, k, a, b, ldb, c, ldc)
    } else {
        blocked::<4, 16, false>(m, n, k, a, b, ldb, c, ldc)
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn blocked<const MR: usize, const NR: usize, const F: bool>(
    m: usize,
    n: usize,
    k: usize,
    a: Strided<'_>,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    let full = n / NR * NR;
    // Taken out of the thread-local, not used inside `with`: a closure would not inherit
    // this function's target features, and the loops would not be vectorised for them.
    let mut panel = PANEL.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for p0 in (0..k).step_by(KC) {
        let kc = KC.min(k - p0);
        if full < n {
            // The last columns: copied into a zero-padded panel, so that the same block
            // code serves them; the padding columns are computed and dropped.
            let w = n - full;
            panel.clear();
            panel.resize(kc * NR, 0.0);
            for p in 0..kc {
                let src = &b[(p0 + p) * ldb + full..][..w];
                panel[p * NR..p * NR + w].copy_from_slice(src);
            }
        }
        let tail = (full < n).then_some(&panel[..]);
        if m > 4 * MR {
            // Many rows (a weight gradient, Aᵀ·B over all steps): each block of rows of A
            // stays in the L1 cache for every panel of B, rather than each panel of B for
            // every block of rows, since A's rows are the strided operand.
            let mut i0 = 0;
            while i0 < m {
                let rows = MR.min(m - i0);
                for j0 in (0..full).step_by(NR) {
                    let bp = &b[p0 * ldb + j0..];
                    rows_block::<MR, NR, F>(rows, i0, kc, p0, a, bp, ldb, c, ldc, j0, NR);
                }
                if let Some(t) = tail {
                    rows_block::<MR, NR, F>(rows, i0, kc, p0, a, t, NR, c, ldc, full, n - full);
                }
                i0 += rows;
            }
        } else {
            for j0 in (0..full).step_by(NR) {
                panel_rows::<MR, NR, F>(m, kc, p0, a, &b[p0 * ldb + j0..], ldb, c, ldc, j0, NR);
            }
            if let Some(t) = tail {
                panel_rows::<MR, NR, F>(m, kc, p0, a, t, NR, c, ldc, full, n - full);
            }
        }
    }
    PANEL.with(|p| *p.borrow_mut() = panel);
}

/// Rows `i0 .. i0 + rows` (`rows <= MR`) of columns `j0 .. j0 + w`: one block of `MR`, or
/// of 4 for the last few rows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn rows_block<const MR: usize, const NR: usize, const F: bool>(
    rows: usize,
    i0: usize,
    kc: usize,
    p0: usize,
    a: Strided<'_>,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    j0: usize,
    w: usize,
) {
    if rows > 4 {
        block::<MR, NR, F>(kc, p0, i0, rows, a, b, ldb, c, ldc, j0, w);
    } else {
        block::<4, NR, F>(kc, p0, i0, rows, a, b, ldb, c, ldc, j0, w);
    }
}

/// Columns `j0 .. j0 + w` (`w <= NR`) of every row of `C`, over `k = p0 .. p0 + kc`; `b`
/// starts at row `p0`, column `j0`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn panel_rows<const MR: usize, const NR: usize, const F: bool>(
    m: usize,
    kc: usize,
    p0: usize,
    a: Strided<'_>,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    j0: usize,
    w: usize,
) {
    let mut i0 = 0;
    while i0 + MR <= m {
        block::<MR, NR, F>(kc, p0, i0, MR, a, b, ldb, c, ldc, j0, w);
        i0 += MR;
    }
    // The last rows in a block of 4 or MR that repeats its last row: a block sums its rows
    // side by side, so it takes as long for one row as for all of them, and a block of one
    // row would wait on the latency of its few sums.
    let rest = m - i0;
    if rest > 4 {
        block::<MR, NR, F>(kc, p0, i0, rest, a, b, ldb, c, ldc, j0, w);
    } else if rest > 0 {
        block::<4, NR, F>(kc, p0, i0, rest, a, b, ldb, c, ldc, j0, w);
    }
}

/// `a · b + c`, rounded once (`F`) or twice.
#[inline(always)]
fn madd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F {
        a.mul_add(b, c)
    } else {
        c + a * b
    }
}

/// `rows × NR` elements of `C` (`rows <= R`; `R` is 4 or 8) in registers: each gains
/// `a(i, p) · b(p, j)` for `p` in order, fused (`F`) or a multiply then an add; rows past
/// `rows` repeat the last one and are not stored. Named rows rather than an array of rows:
/// LLVM keeps named rows in vector registers but spills a two-dimensional array to the
/// stack.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<const R: usize, const NR: usize, const F: bool>(
    kc: usize,
    p0: usize,
    i0: usize,
    rows: usize,
    a: Strided<'_>,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    j0: usize,
    w: usize,
) {
    let load = |c: &[f32], i: usize| {
        let mut r = [0.0f32; NR];
        if i < rows {
            r[..w].copy_from_slice(&c[(i0 + i) * ldc + j0..][..w]);
        }
        r
    };
    let (mut c0, mut c1, mut c2, mut c3) = (load(c, 0), load(c, 1), load(c, 2), load(c, 3));
    let (mut c4, mut c5, mut c6, mut c7) = (load(c, 4), load(c, 5), load(c, 6), load(c, 7));
    let b = &b[..(kc - 1) * ldb + NR];
    let last = (i0 + rows - 1) * a.rs + (p0 + kc - 1) * a.cs;
    let ad = &a.data[..=last];
    let mut off = [0usize; 8];
    for (i, o) in off.iter_mut().enumerate() {
        *o = i.min(rows - 1) * a.rs;
    }
    let row = |acc: &mut [f32; NR], av: f32, brow: &[f32; NR]| {
        for j in 0..NR {
            acc[j] = madd::<F>(av, brow[j], acc[j]);
        }
    };
    // The loop's indices stay within the slices sliced above: `at + off[i]` is at most
    // `last`, and `p·ldb + NR` at most `b.len()`. Checking each of them costs as many
    // instructions as the multiply-adds themselves, so they are checked once, here.
    debug_assert!(i0 * a.rs + (p0 + kc - 1) * a.cs + off[7] <= last);
    for p in 0..kc {
        // SAFETY: `p < kc`, so `p·ldb + NR <= (kc - 1)·ldb + NR = b.len()`.
        let brow: &[f32; NR] = unsafe { &*b.as_ptr().add(p * ldb).cast::<[f32; NR]>() };
        let at = i0 * a.rs + (p0 + p) * a.cs;
        // SAFETY: `at + off[i] <= i0·rs + (p0 + kc - 1)·cs + (rows - 1)·rs = last`.
        let av = |i: usize| unsafe { *ad.get_unchecked(at + off[i]) };
        row(&mut c0, av(0), brow);
        row(&mut c1, av(1), brow);
        row(&mut c2, av(2), brow);
        row(&mut c3, av(3), brow);
        if R == 8 {
            row(&mut c4, av(4), brow);
            row(&mut c5, av(5), brow);
            row(&mut c6, av(6), brow);
            row(&mut c7, av(7), brow);
        }
    }
    for (i, acc) in [c0, c1, c2, c3, c4, c5, c6, c7]
        .iter()
        .enumerate()
        .take(rows)
    {
        c[(i0 + i) * ldc + j0..][..w].copy_from_slice(&acc[..w]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `C + A·B` summed in the order of `k` in f32, fused or not: what our kernels must
    /// give, bit for bit.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        fused: bool,
        m: usize,
        n: usize,
        k: usize,
        a: Strided,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
    ) {
        for i in 0..m {
            for j in 0..n {
                let mut s = c[i * n + j];
                for p in 0..k {
                    let (x, y) = (a.data[i * a.rs + p * a.cs], b[p * ldb + j]);
                    s = if fused { x.mul_add(y, s) } else { s + x * y };
                }
                c[i * n + j] = s;
            }
        }
    }

    #[test]
    fn our_kernels_sum_in_order_of_k_for_every_shape() {
        let mut x = 1u32;
        let mut r = || {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for &(m, n, k) in &[
            (1, 1, 1),
            (5, 33, 7),
            (4, 16, 300),
            (9, 70, 513),
            (3, 27, 40),
        ] {
            for transposed in [false, true] {
                let a: Vec<f32> = (0..m * k).map(|_| r()).collect();
                let a = if transposed {
                    Strided::transposed(&a, m)
                } else {
                    Strided::rows(&a, k)
                };
                let a = Strided { data: a.data, ..a };
                let b: Vec<f32> = (0..k * (n + 3)).map(|_| r()).collect();
                let c0: Vec<f32> = (0..m * n).map(|_| r()).collect();
                for fused in [false, true] {
                    let mut want = c0.clone();
                    naive(fused, m, n, k, a, &b, n + 3, &mut want);
                    let mut got = c0.clone();
                    ours(fused, m, n, k, a, &b, n + 3, &mut got, n);
                    assert_eq!(got, want, "{m}×{n}×{k} transposed={transposed} {fused}");
                    let mut w16 = c0.clone();
                    narrow(fused, m, n, k, a, &b, n + 3, &mut w16, n);
                    assert_eq!(w16, want, "16 wide: {m}×{n}×{k} fused={fused}");
                }
            }
        }
    }
}
