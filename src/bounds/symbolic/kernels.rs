//! The inner loops of back-substitution and of the forward passes of its
//! gradients, where most of the time of phase splitting on MNIST-FC goes.
//!
//! On CPUs with AVX2 each kernel runs compiled for it (four f64 per
//! instruction instead of two). The arithmetic is element by element, with
//! the same operations in the same order and no fused multiply-add, so both
//! versions give bit-identical results.

use crate::model::matrix::Dense;

/// Defines `$name`, which runs `$body` compiled for AVX2 when the CPU has
/// it and as it is otherwise. `$body` must be `#[inline(always)]` so that
/// it is compiled into each version.
macro_rules! with_avx2 {
    ($(#[$doc:meta])* fn $name:ident => $avx2:ident => $body:ident ($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        #[allow(unsafe_code)]
        pub(super) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the AVX2 version only requires AVX2, which this
                // CPU has (checked just above).
                return unsafe { $avx2($($arg),*) };
            }
            $body($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2($($arg: $ty),*) {
            $body($($arg),*)
        }
    };
}

with_avx2! {
    /// `out += sum_t s_t W[q_t]`, four rows of `W` per pass over `out` (one
    /// load and store of `out` per four products instead of one per product).
    fn add_rows => add_rows_avx2 => add_rows_portable(out: &mut [f64], w: Dense<'_>, terms: &[(f64, usize)])
}

#[inline(always)]
fn add_rows_portable(out: &mut [f64], w: Dense<'_>, terms: &[(f64, usize)]) {
    let mut quads = terms.chunks_exact(4);
    for t in &mut quads {
        let (s0, s1, s2, s3) = (t[0].0, t[1].0, t[2].0, t[3].0);
        let rows = out.iter_mut().zip(w.row(t[0].1)).zip(w.row(t[1].1)).zip(w.row(t[2].1)).zip(w.row(t[3].1));
        for ((((o, w0), w1), w2), w3) in rows {
            *o += s0 * w0 + s1 * w1 + s2 * w2 + s3 * w3;
        }
    }
    for &(s, q) in quads.remainder() {
        for (o, wv) in out.iter_mut().zip(w.row(q)) {
            *o += s * wv;
        }
    }
}

with_avx2! {
    /// `out[t] = W[rows[t]] · x` for every `t`, four rows of `W` per pass
    /// over `x`, each with four partial sums (independent additions, which
    /// pipeline; one running sum per row would wait on each addition).
    fn dot_rows => dot_rows_avx2 => dot_rows_portable(out: &mut [f64], w: Dense<'_>, rows: &[usize], x: &[f64])
}

#[inline(always)]
fn dot_rows_portable(out: &mut [f64], w: Dense<'_>, rows: &[usize], x: &[f64]) {
    let n = x.len();
    let body = n - n % 4;
    let xs = x[..body].chunks_exact(4);
    let mut quads = rows.chunks_exact(4);
    let mut outs = out.chunks_exact_mut(4);
    for (o, q) in (&mut outs).zip(&mut quads) {
        let (r0, r1, r2, r3) = (&w.row(q[0])[..body], &w.row(q[1])[..body], &w.row(q[2])[..body], &w.row(q[3])[..body]);
        let mut acc = [[0.0f64; 4]; 4];
        let chunks =
            xs.clone().zip(r0.chunks_exact(4)).zip(r1.chunks_exact(4)).zip(r2.chunks_exact(4)).zip(r3.chunks_exact(4));
        for ((((xc, c0), c1), c2), c3) in chunks {
            for t in 0..4 {
                acc[0][t] += c0[t] * xc[t];
                acc[1][t] += c1[t] * xc[t];
                acc[2][t] += c2[t] * xc[t];
                acc[3][t] += c3[t] * xc[t];
            }
        }
        for ((o, a), &r) in o.iter_mut().zip(&acc).zip(q) {
            let tail: f64 = w.row(r)[body..n].iter().zip(&x[body..]).map(|(a, b)| a * b).sum();
            *o = (a[0] + a[1]) + (a[2] + a[3]) + tail;
        }
    }
    for (o, &r) in outs.into_remainder().iter_mut().zip(quads.remainder()) {
        let mut a = [0.0f64; 4];
        for (xc, c) in xs.clone().zip(w.row(r)[..body].chunks_exact(4)) {
            for t in 0..4 {
                a[t] += c[t] * xc[t];
            }
        }
        let tail: f64 = w.row(r)[body..n].iter().zip(&x[body..]).map(|(a, b)| a * b).sum();
        *o = (a[0] + a[1]) + (a[2] + a[3]) + tail;
    }
}

with_avx2! {
    /// `out[q] = if g[q] < 0 { neg[q] } else { other[q] }`, branch-free: with
    /// `other` and `neg` the ends of a box, the corner that minimises
    /// `g · x`; with a layer's lower and upper lines, the line that a row
    /// with coefficients `g` uses.
    fn select => select_avx2 => select_portable(out: &mut [f64], g: &[f64], other: &[f64], neg: &[f64])
}

#[inline(always)]
fn select_portable(out: &mut [f64], g: &[f64], other: &[f64], neg: &[f64]) {
    // Blended through a bit mask: written as a branch, the compiler picks
    // which element to load instead and does not vectorise.
    for (((o, &g), &a), &b) in out.iter_mut().zip(g).zip(other).zip(neg) {
        let mask = 0u64.wrapping_sub(u64::from(g < 0.0));
        *o = f64::from_bits((a.to_bits() & !mask) | (b.to_bits() & mask));
    }
}

/// `c = a b` with `a` of `m x k` and `b` of `k x n` (`m`, `n` from the
/// lengths), all row-major: the `matrixmultiply` crate's product, with its
/// own SIMD kernels and fused multiply-adds where the CPU has them. With
/// `k = 0` the product is zero.
#[allow(unsafe_code)]
pub(super) fn mul(a: &[f64], b: &[f64], k: usize, c: &mut [f64]) {
    let Some((m, n)) = shapes(a.len(), b.len(), k, c) else { return };
    // SAFETY: `a` is `m x k` with row stride `k` and column stride 1, `b`
    // is `k x n` with strides `(n, 1)` and `c` is `m x n` with strides
    // `(n, 1)`; `shapes` checked the lengths, so every element dgemm reads
    // or writes lies inside its slice, and `c`, borrowed mutably, aliases
    // neither input.
    unsafe {
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        matrixmultiply::dgemm(m, k, n, 1.0, a, k as isize, 1, b, n as isize, 1, 0.0, c, n as isize, 1);
    }
}

/// `c ≈ a bᵀ` with `a` of `m x k` and `b` of `n x k` (already in f32), all
/// row-major, computed in f32: twice the numbers per instruction, with
/// relative errors of about 1e-6 (inputs rounded to f32, sums of a few
/// hundred products). Only for values that steer an optimisation (the
/// forward passes of gradients), never for a bound. Values beyond f32's
/// range come out infinite.
#[allow(unsafe_code)]
pub(super) fn mul_transposed_f32(a: &[f64], b: &[f32], k: usize, c: &mut [f64]) {
    let Some((m, n)) = shapes(a.len(), b.len(), k, c) else { return };
    let a: Vec<f32> = a.iter().map(|&x| x as f32).collect();
    let mut c32 = vec![0.0f32; m * n];
    // SAFETY: as in `mul`, with `b` read as the `k x n` matrix of strides
    // `(1, k)`, whose last element is at `(k - 1) + (n - 1) k = k n - 1`.
    unsafe {
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c32.as_mut_ptr());
        matrixmultiply::sgemm(m, k, n, 1.0, a, k as isize, 1, b, 1, k as isize, 0.0, c, n as isize, 1);
    }
    for (c, v) in c.iter_mut().zip(&c32) {
        *c = f64::from(*v);
    }
}

/// `(m, n)` of a product of `a` (`m x k`) and `b` (`k x n` or `n x k`) into
/// `c` (`m x n`), from the lengths; `None` when there is nothing to multiply
/// (`c` is then zero). Panics when the lengths do not fit one another.
fn shapes(a: usize, b: usize, k: usize, c: &mut [f64]) -> Option<(usize, usize)> {
    if k == 0 {
        c.fill(0.0);
        return None;
    }
    let (m, n) = (a / k, b / k);
    assert!(a == m * k && b == n * k && c.len() == m * n, "matrix shapes do not match");
    (m > 0 && n > 0).then_some((m, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Matrix;
    use crate::rng::Rng;

    /// Both products against the plain sums, on odd shapes (and `k = 0`).
    #[test]
    fn products_compute_their_sums() {
        let mut rng = Rng::new(4);
        for (m, k, n) in [(1, 1, 1), (3, 5, 7), (9, 2, 4), (2, 0, 3)] {
            let a: Vec<f64> = (0..m * k).map(|_| rng.range(-1.0, 1.0)).collect();
            let b: Vec<f64> = (0..k * n).map(|_| rng.range(-1.0, 1.0)).collect();
            let mut c = vec![1.0; m * n];
            mul(&a, &b, k, &mut c);
            let mut ct = vec![1.0; m * n];
            // b read as n x k is the transpose of some k x n matrix bt.
            let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
            mul_transposed_f32(&a, &b32, k, &mut ct);
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k).map(|t| a[i * k + t] * b[t * n + j]).sum();
                    let want_t: f64 = (0..k).map(|t| a[i * k + t] * b[j * k + t]).sum();
                    assert!(
                        (c[i * n + j] - want).abs() < 1e-12 && (ct[i * n + j] - want_t).abs() < 1e-5,
                        "{m}x{k}x{n} at {i},{j}"
                    );
                }
            }
        }
    }

    /// The kernels against the plain sums and choices they stand for, on odd sizes.
    #[test]
    fn kernels_compute_their_sums() {
        let mut rng = Rng::new(3);
        for (n, m) in [(1, 1), (5, 7), (9, 13), (16, 4)] {
            let w = Matrix::new(n, m, (0..n * m).map(|_| rng.range(-1.0, 1.0)).collect()).unwrap();
            let x: Vec<f64> = (0..m).map(|_| rng.range(-1.0, 1.0)).collect();
            let rows: Vec<usize> = (0..n).rev().collect();
            let mut out = vec![0.0; n];
            dot_rows(&mut out, w.dense().unwrap(), &rows, &x);
            for (t, &r) in rows.iter().enumerate() {
                let want: f64 = (0..m).map(|c| w.get(r, c) * x[c]).sum();
                assert!((out[t] - want).abs() < 1e-12, "dot of row {r}: {} vs {want}", out[t]);
            }
            let (a, b) = (vec![1.0; m], vec![f64::NEG_INFINITY; m]);
            let mut chosen = vec![0.0; m];
            select(&mut chosen, &x, &a, &b);
            for (c, &v) in chosen.iter().enumerate() {
                assert_eq!(v, if x[c] < 0.0 { b[c] } else { a[c] });
            }
            let terms: Vec<(f64, usize)> = (0..n).map(|q| (rng.range(-1.0, 1.0), q)).collect();
            let mut acc = vec![0.5; m];
            add_rows(&mut acc, w.dense().unwrap(), &terms);
            for (c, &v) in acc.iter().enumerate() {
                let want = 0.5 + terms.iter().map(|&(s, q)| s * w.get(q, c)).sum::<f64>();
                assert!((v - want).abs() < 1e-12, "column {c}");
            }
        }
    }
}
