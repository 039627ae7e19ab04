//! Symbolic bounds by back-substitution (DeepPoly / CROWN style).
//!
//! Every activation gets two lines valid on its neuron's pre-activation
//! interval `[l, u]`, a lower and an upper [`Relaxation`] line
//! (`lower(z) <= act(z) <= upper(z)`; each choice is derived next to its
//! code: `one_kink`, `two_kinks`). To bound a linear function of
//! some layer's output from below, we write it as `A y_j + c` and walk down
//! the network:
//!
//! * through the activation of layer `j`: each coefficient `a = A[r][i]`
//!   takes the lower line of neuron `i` when `a > 0` and the upper line when
//!   `a < 0`, so `a y_i >= a (s z_i + t)` in both cases; the row becomes a
//!   lower bound that is linear in `z_j`;
//! * through the affine map `z_j = W_j y_{j-1} + b_j`: exactly, `A <- A W_j`,
//!   `c <- c + A b_j`.
//!
//! At the input the row is `a·x + c` with `x` in the box, and its minimum is
//! `c + sum_i min(a_i lx_i, a_i ux_i)`. An upper bound of `f` is minus the
//! lower bound of `-f`, so both sides of every neuron run as one matrix of
//! rows, `rows x width` row-major, one layer at a time.
//!
//! [`compute`] does this for every layer in order: the rows `(W_k; -W_k)`
//! of layer `k` go down through the relaxations of all earlier layers (built
//! from the bounds already found for them). At every level, the rows are
//! also concretised over the box of the layer they have reached, and each
//! neuron keeps the tightest bound of all levels; each is sound, the first
//! one is interval arithmetic from layer `k - 1`'s final bounds and the last
//! one the full symbolic bound. A neuron's rows stop as soon as it is stable
//! (see `layer_bounds_below`).
//!
//! [`bound_linear`] starts the same walk from an objective row `c` over the
//! network outputs, which is tighter than combining per-output bounds
//! because the relaxations are chosen for `c·y` as a whole. It also returns
//! the row's coefficients over the input, which the input-splitting search
//! uses to pick a split dimension. [`compute_with_output`] also returns the
//! outputs' lower and upper linear functions of the input.
//!
//! All arithmetic is plain f64. Results can be off by rounding in the last
//! bits; [`crate::milp::encode`] pads every bound it uses, and
//! [`bound_linear`] pads its value by [`LINEAR_BOUND_PAD`].
//!
//! Cost: one step costs `rows x out_j x in_j` multiply-adds (less the
//! columns of dead neurons), so a full substitution of every layer is
//! `O(L^2 n^3)`. The loops are written branch-free over neurons so that they
//! vectorise; from [`GEMM_MIN_ROWS`] rows on, a step is one matrix product
//! of the rows' slopes with the weights (`kernels.rs`). On an ACAS Xu
//! network (6 x 50 ReLU) a full substitution takes about 0.6 ms on the whole
//! property-1 box and 0.3 ms on a small box.
//!
//! [`refine`] can also bound neurons under constraints on pre-activations
//! (the fixed phases of a phase-splitting domain), with Lagrange multipliers
//! kept between calls: see [`phases`].

use crate::margins::{EMPTY_GAP, LINEAR_BOUND_PAD};
use std::ops::Range;
use std::time::Instant;

use super::{interior_point, poll, uncross, unlimited, Bounds, Expired, NetworkBounds};
use crate::model::activation::Kink;
use crate::model::{Activation, Affine, Matrix, Network};
use crate::spec::InputBox;

mod kernels;
pub mod optimise;
pub mod phases;

use kernels::{add_rows, mul, select};

use phases::{FixedPhases, LayerPhases};

/// The line `y = slope * z + intercept`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Slope.
    pub slope: f64,
    /// Value at `z = 0`.
    pub intercept: f64,
}

impl Line {
    /// The line's value at `z`.
    pub fn at(&self, z: f64) -> f64 {
        self.slope * z + self.intercept
    }

    /// The line of slope `slope` through `(z, y)`.
    fn through(z: f64, y: f64, slope: f64) -> Line {
        Line { slope, intercept: y - slope * z }
    }
}

/// A linear relaxation of one neuron's activation on `[l, u]`:
/// `lower.at(z) <= act(z) <= upper.at(z)` for every `z` in `[l, u]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Relaxation {
    /// The lower line.
    pub lower: Line,
    /// The upper line.
    pub upper: Line,
}

impl Relaxation {
    /// Both sides equal `line`: the activation is linear on the interval.
    fn exact(line: Line) -> Relaxation {
        Relaxation { lower: line, upper: line }
    }
}

/// The relaxation of a function with one kink strictly inside `(l, u)`.
///
/// With `p = left`, `q = right`: when `p <= q` the function is
/// `max(left line, right line)`, convex; when `p > q` it is the `min`, concave.
///
/// * Convex: the chord through `(l, f(l))` and `(u, f(u))` lies above `f` on
///   `[l, u]` (definition of convexity), so it is the upper line; each piece's
///   line is below the max of the two everywhere, so either is a lower line.
/// * Concave: the mirror image; the chord is the lower line and either
///   piece's line an upper one.
///
/// Of the two piece lines we take the one that minimises the area between it
/// and `f` on `[l, u]`: the area left by the right line is the triangle over
/// `[l, k]`, `|p - q| (k - l)^2 / 2`, and by the left line the one over
/// `[k, u]`, `|p - q| (u - k)^2 / 2`. So the right line when `u - k > k - l`.
/// For ReLU this is DeepPoly's `alpha = 1 iff u > -l`; for Leaky with slope
/// `a < 1` it picks `y >= z` or `y >= a z`, for `a > 1` (concave) `y <= z` or
/// `y <= a z`; a negative `a` is just another convex case.
///
/// If `l` or `u` is infinite (only after f64 overflow), no finite chord
/// exists: the chord side becomes the vacuous line at `-inf`/`+inf`. The
/// back-substitution turns it into an infinite or NaN constant; NaN level
/// bounds are skipped and a bound left NaN becomes infinite, so the result
/// stays sound.
fn one_kink(k: Kink, l: f64, u: f64) -> Relaxation {
    let left = Line::through(k.at, k.value, k.left);
    let right = Line::through(k.at, k.value, k.right);
    let piece = if u - k.at > k.at - l { right } else { left };
    let convex = k.convex();
    if !(l.is_finite() && u.is_finite()) {
        let vacuous = Line { slope: 0.0, intercept: if convex { f64::INFINITY } else { f64::NEG_INFINITY } };
        return if convex {
            Relaxation { lower: piece, upper: vacuous }
        } else {
            Relaxation { lower: vacuous, upper: piece }
        };
    }
    let (fl, fu) = (k.eval(l), k.eval(u));
    let chord = Line::through(l, fl, (fu - fl) / (u - l));
    if convex {
        Relaxation { lower: piece, upper: chord }
    } else {
        Relaxation { lower: chord, upper: piece }
    }
}

/// The relaxation of a function with two kinks strictly inside `(l, u)`, `a`
/// then `b`, with slopes `p`, `q`, `r` on the three pieces, convex at `a`
/// and concave at `b` (`p <= q >= r`; a Clip: `0, 1, 0`, `a = lo`, `b = hi`).
///
/// `g - f` is linear between breakpoints, so a line `g` is above `f` on
/// `[l, u]` iff it is above at `l, a, b, u`. Upper lines pivot on the
/// concave vertex, `g(z) = f(b) + s (z - b)`: at `u` this needs `s >= r`, at
/// `a` `s <= q`, at `l` `s <= c_up = (f(b) - f(l)) / (b - l)`, the chord
/// slope, an average of `p` and `q` and so at most `q`. Every `s` in
/// `[r, c_up]` is valid; the area `int_l^u g = (u - l) (f(b) + s (mid - b))`,
/// `mid = (l + u) / 2`, is linear in `s`, so the smallest is at `s = c_up`
/// when `mid < b`, else at `s = r`. For a Clip that is the slope
/// `(hi - lo) / (hi - l)` or the constant `hi`.
///
/// Mirrored, lower lines pivot on the convex vertex, `g(z) = f(a) + s (z - a)`
/// with `s` in `[p, c_lo]`, `c_lo = (f(u) - f(a)) / (u - a)`: the steepest
/// when `mid > a`, else `s = p`.
///
/// When the range of `s` is empty or not a number (an infinite `l` or `u`
/// with a sloped outer piece), that side falls back to the horizontal line
/// at the extreme of the exact image (NaN values are skipped by `max` and
/// `min`), sound for any shape. With an infinite end a Clip's lines are the
/// constants `lo` and `hi`.
fn two_kinks(ka: Kink, kb: Kink, l: f64, u: f64) -> Relaxation {
    let mid = 0.5 * (l + u);
    let (fl, fu) = (ka.eval(l), kb.eval(u));
    let (p, q, r) = (ka.left, ka.right, kb.right);
    let shaped = p <= q && q >= r;
    let c_up = (kb.value - fl) / (kb.at - l);
    let upper = if shaped && c_up >= r {
        Line::through(kb.at, kb.value, if mid < kb.at { c_up } else { r })
    } else {
        Line { slope: 0.0, intercept: fl.max(fu).max(ka.value).max(kb.value) }
    };
    let c_lo = (fu - ka.value) / (u - ka.at);
    let lower = if shaped && c_lo >= p {
        Line::through(ka.at, ka.value, if mid > ka.at { c_lo } else { p })
    } else {
        Line { slope: 0.0, intercept: fl.min(fu).min(ka.value).min(kb.value) }
    };
    Relaxation { lower, upper }
}

/// The relaxation of neuron `i` of activation `act` on `[l, u]` (`l <= u`).
///
/// A neuron with no kink strictly inside `(l, u)` is linear there, and both
/// lines are that piece (exact). Otherwise see `one_kink` (ReLU, Leaky,
/// a Clip with one kink inside) and `two_kinks` (a Clip with both).
pub fn relax(act: &Activation, i: usize, l: f64, u: f64) -> Relaxation {
    let relaxation = match *act.kinks_inside(i, l, u).as_slice() {
        [k] => Some(one_kink(k, l, u)),
        [a, b] => Some(two_kinks(a, b, l, u)),
        _ => None,
    };
    relaxation.unwrap_or_else(|| {
        // Linear on [l, u]: the piece through an interior point (at a kink
        // endpoint, continuity makes either piece exact there).
        let p = interior_point(l, u);
        Relaxation::exact(Line::through(p, act.eval(i, p), act.slope(i, p)))
    })
}

/// The free side of a neuron with one kink strictly inside finite bounds:
/// every line through the kink point `(at, value)` with a slope in
/// `[min, max]` is valid on that side (the lower side of a convex kink, the
/// upper side of a concave one; see [`optimise`]). Which member is best
/// depends on the row being bounded.
#[derive(Debug, Clone, Copy)]
struct Family {
    layer: usize,
    neuron: usize,
    /// The free side is the lower one (a convex kink).
    lower: bool,
    at: f64,
    value: f64,
    min: f64,
    max: f64,
}

impl Family {
    /// The family of neuron `neuron` of layer `layer` on `[l, u]`, if it has one.
    fn of(act: &Activation, layer: usize, neuron: usize, l: f64, u: f64) -> Option<Family> {
        if !(l.is_finite() && u.is_finite()) {
            return None;
        }
        match *act.kinks_inside(neuron, l, u).as_slice() {
            [k] => Some(Family {
                layer,
                neuron,
                lower: k.left <= k.right,
                at: k.at,
                value: k.value,
                min: k.left.min(k.right),
                max: k.left.max(k.right),
            }),
            _ => None,
        }
    }

    /// `true` when a row weight `a` on this neuron uses the free side (the
    /// lower line for `a > 0`, the upper one for `a < 0`).
    fn in_use(&self, a: f64) -> bool {
        if self.lower {
            a > 0.0
        } else {
            a < 0.0
        }
    }
}

/// What back-substitution reads about the layers below: each layer's
/// relaxation lines and the box its outputs lie in (the activation's image
/// of its bounds), plus the input box.
#[derive(Clone)]
struct Below<'a> {
    net: &'a Network,
    input: &'a InputBox,
    lines: Vec<LayerLines>,
    /// `(lower, upper)` of each layer's output `y_j`.
    boxes: Vec<(Vec<f64>, Vec<f64>)>,
    /// Each layer's neurons with a free line.
    families: Vec<Vec<Family>>,
}

/// The relaxations of one layer, one vector per field so that the
/// substitution loop runs branch-free over neurons.
#[derive(Clone)]
struct LayerLines {
    lower_slope: Vec<f64>,
    lower_intercept: Vec<f64>,
    upper_slope: Vec<f64>,
    upper_intercept: Vec<f64>,
}

/// `(max(a, 0), min(a, 0))`, branch-free.
fn split_sign(a: f64) -> (f64, f64) {
    (if a > 0.0 { a } else { 0.0 }, if a < 0.0 { a } else { 0.0 })
}

impl<'a> Below<'a> {
    fn new(net: &'a Network, input: &'a InputBox) -> Below<'a> {
        Below { net, input, lines: Vec::new(), boxes: Vec::new(), families: Vec::new() }
    }

    /// From sound bounds of the first `bounds.len()` layers.
    fn from_bounds(net: &'a Network, input: &'a InputBox, bounds: &[Bounds]) -> Below<'a> {
        let mut below = Below::new(net, input);
        for b in bounds {
            below.push(b);
        }
        below
    }

    /// Number of layers recorded.
    fn depth(&self) -> usize {
        self.lines.len()
    }

    /// Record the final bounds of the next layer.
    fn push(&mut self, b: &Bounds) {
        let depth = self.depth();
        let act = &self.net.layers()[depth].activation;
        self.families.push((0..b.len()).filter_map(|i| Family::of(act, depth, i, b.lower[i], b.upper[i])).collect());
        let rel: Vec<Relaxation> = (0..b.len()).map(|i| relax(act, i, b.lower[i], b.upper[i])).collect();
        self.lines.push(LayerLines {
            lower_slope: rel.iter().map(|r| r.lower.slope).collect(),
            lower_intercept: rel.iter().map(|r| r.lower.intercept).collect(),
            upper_slope: rel.iter().map(|r| r.upper.slope).collect(),
            upper_intercept: rel.iter().map(|r| r.upper.intercept).collect(),
        });
        self.boxes.push((0..b.len()).map(|i| act.interval_image(i, b.lower[i], b.upper[i])).unzip());
    }

    /// The box of the output of `layers[..depth]` (the input for `depth == 0`).
    fn box_at(&self, depth: usize) -> (&[f64], &[f64]) {
        match depth {
            0 => (&self.input.lower, &self.input.upper),
            d => (&self.boxes[d - 1].0, &self.boxes[d - 1].1),
        }
    }

    /// One step down: `rows`, lower-bounding functions `A y_j + c` of the
    /// output of layer `j`, become functions of `y_{j-1}` (the input for
    /// `j == 0`) that are below them on the box.
    ///
    /// Through the activation, each coefficient `a` takes the lower line
    /// when `a > 0` and the upper line when `a < 0`, so that
    /// `a y_q >= a (s z_q + t)`; through the affine map, exactly,
    /// `s z_q = s (W_q · y_{j-1} + b_q)`. Cost: `rows x out_j x in_j`
    /// multiply-adds, less the zero products (dead neurons give none).
    ///
    /// `extra[r]` adds terms `e (z_q - at)` of the pre-activations of layer
    /// `j` to row `r`, `(q, e, at)`, between the activation and the affine
    /// map (rows past the end of `extra` get none).
    ///
    /// `row_slopes`, unless empty, gives each row its own slopes for the
    /// free lines of layer `j` (`row_slopes[r][q]`, NaN or missing: the
    /// layer's line), clamped into each family: any member is valid, so
    /// each row may use the one chosen for it (alpha-CROWN's per-neuron
    /// slopes for intermediate bounds).
    fn step(
        &self,
        j: usize,
        rows: &mut Rows,
        scratch: &mut Scratch,
        extra: &[Vec<(usize, f64, f64)>],
        row_slopes: &[&[f64]],
    ) {
        let affine = &self.net.layers()[j].affine;
        let lines = &self.lines[j];
        let w = &affine.weights;
        let (n, m) = (w.rows(), w.cols());
        let Scratch { next, slopes, consts, terms, packed } = scratch;
        next.clear();
        next.resize(rows.len() * m, 0.0);
        let batched = rows.len() >= GEMM_MIN_ROWS;
        // Batched, `slopes` holds every row's slopes (then multiplied by
        // `W` at once); else one row's at a time.
        slopes.clear();
        slopes.resize(if batched { rows.len() * n } else { n }, 0.0);
        consts.resize(n, 0.0);
        terms.resize(n, (0.0, 0));
        // Equal lengths up front let the compiler drop bounds checks and
        // vectorise the per-neuron loop.
        let (ls, li) = (&lines.lower_slope[..n], &lines.lower_intercept[..n]);
        let (us, ui) = (&lines.upper_slope[..n], &lines.upper_intercept[..n]);
        let bias = &affine.bias[..n];
        let rows_out = rows.coeffs.chunks_exact(n).zip(next.chunks_exact_mut(m)).zip(&mut rows.constants);
        for (r, ((arow, out), c)) in rows_out.enumerate() {
            let at = if batched { r * n } else { 0 };
            let (slopes, consts) = (&mut slopes[at..at + n], &mut consts[..n]);
            for q in 0..n {
                let (pos, neg) = split_sign(arow[q]);
                slopes[q] = pos * ls[q] + neg * us[q];
                consts[q] = pos * li[q] + neg * ui[q] + slopes[q] * bias[q];
            }
            if let Some(own) = row_slopes.get(r).filter(|s| !s.is_empty()) {
                for f in &self.families[j] {
                    let (q, a) = (f.neuron, arow[f.neuron]);
                    let s = own.get(q).copied().unwrap_or(f64::NAN);
                    if !s.is_nan() && f.in_use(a) {
                        let s = s.clamp(f.min, f.max);
                        slopes[q] = a * s;
                        consts[q] = a * (f.value - s * f.at) + slopes[q] * bias[q];
                    }
                }
            }
            for &(q, e, at) in extra.get(r).map_or(&[][..], Vec::as_slice) {
                slopes[q] += e;
                consts[q] += e * (bias[q] - at);
            }
            *c += sum(consts);
            if batched {
                continue;
            }
            // Compact the nonzero slopes without a branch per neuron.
            let mut len = 0;
            for (q, &s) in slopes.iter().enumerate() {
                terms[len] = (s, q);
                len += usize::from(s != 0.0);
            }
            match w.dense() {
                Some(d) => add_rows(out, d, &terms[..len]),
                None => terms[..len].iter().for_each(|&(s, q)| w.row(q).add_scaled(s, out)),
            }
        }
        if batched {
            match w.dense() {
                Some(d) => {
                    // Only the neurons some row sees (dead ones: none) take part.
                    let cols: Vec<usize> = (0..n).filter(|&q| slopes.chunks_exact(n).any(|s| s[q] != 0.0)).collect();
                    let (a, b) = if cols.len() == n {
                        (&slopes[..], d.data())
                    } else {
                        packed.clear();
                        for s in slopes.chunks_exact(n) {
                            packed.extend(cols.iter().map(|&q| s[q]));
                        }
                        let split = packed.len();
                        for &q in &cols {
                            packed.extend_from_slice(d.row(q));
                        }
                        let (a, b) = packed.split_at(split);
                        (a, b)
                    };
                    mul(a, b, cols.len(), next);
                }
                // Sparse weights (convolutions, pass-through neurons): each
                // row adds the few entries of the rows of `W` it sees.
                None => {
                    for (s, out) in slopes.chunks_exact(n).zip(next.chunks_exact_mut(m)) {
                        for (q, &sq) in s.iter().enumerate().filter(|(_, sq)| **sq != 0.0) {
                            w.row(q).add_scaled(sq, out);
                        }
                    }
                }
            }
        }
        std::mem::swap(&mut rows.coeffs, next);
        rows.width = m;
    }
}

impl Below<'_> {
    /// The line of each neuron of layer `j` that [`Below::step`] uses for a
    /// row with coefficients `a` over `y_j`, as slopes and intercepts: the
    /// lower line for `a >= 0` (at `a = 0` the row does not see the neuron,
    /// and any line will do), the upper one for `a < 0`, a free line with
    /// its slope from `own` (NaN or missing: the layer's line).
    fn lines_in_use(&self, j: usize, a: &[f64], own: &[f64], slopes: &mut [f64], intercepts: &mut [f64]) {
        let l = &self.lines[j];
        select(slopes, a, &l.lower_slope, &l.upper_slope);
        select(intercepts, a, &l.lower_intercept, &l.upper_intercept);
        for f in self.families[j].iter().filter(|_| !own.is_empty()) {
            let s = own.get(f.neuron).copied().unwrap_or(f64::NAN);
            if !s.is_nan() && f.in_use(a[f.neuron]) {
                let s = s.clamp(f.min, f.max);
                slopes[f.neuron] = s;
                intercepts[f.neuron] = f.value - s * f.at;
            }
        }
    }
}

/// Buffers reused across steps.
#[derive(Default)]
struct Scratch {
    next: Vec<f64>,
    /// The slope of each `z_q` in the row being substituted.
    slopes: Vec<f64>,
    /// Each neuron's contribution to the row's constant.
    consts: Vec<f64>,
    /// `(slope, q)` for the nonzero slopes of that row.
    terms: Vec<(f64, usize)>,
    /// The slopes and weight rows of the neurons in use, packed for one
    /// matrix product.
    packed: Vec<f64>,
}

/// From this many rows on, a step of back-substitution (`Below::step`)
/// multiplies all of them by the weights in one matrix product (the
/// `matrixmultiply` crate's blocked kernels keep a block of `W` in cache for
/// many rows) instead of adding each row's weighted rows of `W` separately;
/// below it, the per-row sums skip each row's own zero slopes, which a
/// product cannot.
pub const GEMM_MIN_ROWS: usize = 8;

/// The minimum of row `i` of `w` plus `constant` over the box `[lx, ux]`:
/// [`minimum`] on a dense row, the sum over the stored entries otherwise.
fn row_minimum(w: &Matrix, i: usize, constant: f64, lx: &[f64], ux: &[f64]) -> f64 {
    match w.dense() {
        Some(d) => minimum(d.row(i), constant, lx, ux),
        None => w.row(i).minimum(constant, lx, ux),
    }
}

/// The minimum of `coeffs · v + constant` over the box `[lx, ux]`.
fn minimum(coeffs: &[f64], constant: f64, lx: &[f64], ux: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let n = coeffs.len();
    let (lx, ux) = (&lx[..n], &ux[..n]);
    let mut q = 0;
    while q + 4 <= n {
        for (t, a) in acc.iter_mut().enumerate() {
            let (pos, neg) = split_sign(coeffs[q + t]);
            *a += pos * lx[q + t] + neg * ux[q + t];
        }
        q += 4;
    }
    for r in q..n {
        let (pos, neg) = split_sign(coeffs[r]);
        acc[0] += pos * lx[r] + neg * ux[r];
    }
    constant + ((acc[0] + acc[1]) + (acc[2] + acc[3]))
}

/// A sum with four partial sums, so that the additions pipeline.
fn sum(v: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let mut chunks = v.chunks_exact(4);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    for x in chunks.remainder() {
        acc[0] += x;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Linear functions `coeffs · v + constant` of some layer's output `v`
/// (row-major, `width` coefficients per row).
struct Rows {
    width: usize,
    coeffs: Vec<f64>,
    constants: Vec<f64>,
}

impl Rows {
    fn len(&self) -> usize {
        self.constants.len()
    }

    fn row(&self, r: usize) -> &[f64] {
        &self.coeffs[r * self.width..(r + 1) * self.width]
    }

    /// The minimum of row `r` over the box `[lx, ux]`.
    fn minimum(&self, r: usize, lx: &[f64], ux: &[f64]) -> f64 {
        minimum(self.row(r), self.constants[r], lx, ux)
    }

    /// Keep the row pairs `(2p, 2p + 1)` with `keep[p]`, in order.
    fn keep_pairs(&mut self, keep: &[bool]) {
        let w2 = 2 * self.width;
        let mut to = 0;
        for (p, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
            self.coeffs.copy_within(p * w2..(p + 1) * w2, to * w2);
            self.constants.copy_within(2 * p..2 * p + 2, 2 * to);
            to += 1;
        }
        self.coeffs.truncate(to * w2);
        self.constants.truncate(2 * to);
    }
}

/// Bounds of layer `k` (the next one `below` has no bounds for), and, when
/// `last`, the linear functions of the input that gave them: for each
/// neuron `i`, row `2i` lower-bounds `z_i` and row `2i + 1` lower-bounds
/// `-z_i`.
///
/// The rows `(W_k, b_k; -W_k, -b_k)` start over the output of layer `k - 1`
/// and go down one layer at a time. At every level, including the first
/// (which is interval arithmetic over layer `k - 1`'s box), the rows are
/// concretised over the box of the variables they are in, and each neuron
/// keeps the tightest bound seen: every level is sound, and the input level
/// is the full symbolic bound. Unless `last`, a neuron's rows are dropped as
/// soon as its bounds make it stable: a stable neuron's relaxation is exact
/// whatever its bounds, so no later relaxation and no output bound depends
/// on how tight they are, and no binary or big-M either. Most neurons of a
/// small box are settled this way after a level or two.
///
/// With `outer`, sound bounds of layer `k` on the same set, every neuron
/// starts from them: one already stable there keeps them, with no rows and
/// no interval arithmetic at all (in a phase-split domain that is most of
/// them), and the result is never looser than `outer`. The third value is
/// then `true` when a neuron's bounds cross by more than [`EMPTY_GAP`]: both
/// ends are sound on the set, so no point of it exists.
///
/// `slopes` (see [`NeuronSlopes`]) gives the rows of some neurons their
/// own free lines. With `phases`, each row also takes the terms of the
/// domain's fixed phases with its multipliers, which then take one step
/// (see [`phases`]).
///
/// [`Expired`] once `deadline` passes, polled before every level (one step
/// of all the rows through a layer: on a wide network the levels of one
/// layer take seconds in all).
#[allow(clippy::too_many_arguments)]
fn layer_bounds_below(
    below: &Below,
    last: bool,
    outer: Option<&Bounds>,
    slopes: &[Vec<Vec<f64>>],
    mut phases: Option<LayerPhases>,
    scratch: &mut Scratch,
    deadline: Option<Instant>,
) -> Result<(Bounds, Option<Rows>, bool), Expired> {
    let k = below.depth();
    let layer = &below.net.layers()[k];
    let act = &layer.activation;
    let (lx, ux) = below.box_at(k);
    // Level 0: interval arithmetic over the box of layer k - 1 (with the box
    // ends swapped, `minimum` gives the maximum).
    let (w, bias) = (&layer.affine.weights, &layer.affine.bias);
    let interval = |i: usize| (row_minimum(w, i, bias[i], lx, ux), row_minimum(w, i, bias[i], ux, lx));
    let unstable = |b: &Bounds, i: usize| act.is_unstable(i, b.lower[i], b.upper[i]);
    let mut best = match outer {
        // A neuron stable in `outer` keeps its bounds: nothing tighter is
        // needed of it (see above), and in a deep phase-split domain the
        // interval of all neurons cost more than the rows of the few
        // unstable ones.
        Some(o) => {
            let mut b = o.clone();
            for i in (0..w.rows()).filter(|&i| last || unstable(o, i)) {
                let (l, u) = interval(i);
                b.lower[i] = b.lower[i].max(l);
                b.upper[i] = b.upper[i].min(u);
            }
            b
        }
        None => {
            let (lower, upper) = (0..w.rows()).map(interval).unzip();
            Bounds { lower, upper }
        }
    };
    let mut live: Vec<usize> = (0..layer.output_dim()).filter(|&i| last || unstable(&best, i)).collect();
    let width = layer.input_dim();
    let mut rows = Rows { width, coeffs: Vec::with_capacity(2 * live.len() * width), constants: Vec::new() };
    for &i in &live {
        let b = layer.affine.bias[i];
        let at = rows.coeffs.len();
        rows.coeffs.resize(at + 2 * width, 0.0);
        let (up, down) = rows.coeffs[at..].split_at_mut(width);
        w.row(i).add_scaled(1.0, up);
        w.row(i).add_scaled(-1.0, down);
        rows.constants.extend([b, -b]);
    }
    if let Some(ph) = &phases {
        // Constraints on this layer: `e (z_q - at) = e (W_q y_{k-1} + b_q - at)`.
        for (p, &i) in live.iter().enumerate() {
            for s in 0..2 {
                let r = 2 * p + s;
                for (q, e, at) in ph.terms(2 * i + s, k) {
                    w.row(q).add_scaled(e, &mut rows.coeffs[r * width..(r + 1) * width]);
                    rows.constants[r] += e * (bias[q] - at);
                }
            }
        }
        for (p, &i) in live.iter().enumerate() {
            best.lower[i] = best.lower[i].max(rows.minimum(2 * p, lx, ux));
            best.upper[i] = best.upper[i].min(-rows.minimum(2 * p + 1, lx, ux));
        }
    }
    let mut levels = Vec::new();
    for j in (0..k).rev() {
        if live.is_empty() {
            break;
        }
        poll(deadline)?;
        let own: Vec<&[f64]> = if slopes.is_empty() {
            Vec::new()
        } else {
            let of = |row: usize| slopes.get(row).and_then(|l| l.get(j)).map_or(&[][..], Vec::as_slice);
            live.iter().flat_map(|&i| [of(2 * i), of(2 * i + 1)]).collect()
        };
        let extra: Vec<Vec<(usize, f64, f64)>> = match &phases {
            Some(ph) => {
                if ph.needs_level(j) {
                    levels.push(LayerPhases::level(j, &live, &rows));
                }
                live.iter().flat_map(|&i| [ph.terms(2 * i, j), ph.terms(2 * i + 1, j)]).collect()
            }
            None => Vec::new(),
        };
        below.step(j, &mut rows, scratch, &extra, &own);
        let (lx, ux) = below.box_at(j);
        // f64::max/min ignore a NaN operand: a NaN level bound (only after
        // overflow) leaves the previous one.
        for (p, &i) in live.iter().enumerate() {
            best.lower[i] = best.lower[i].max(rows.minimum(2 * p, lx, ux));
            best.upper[i] = best.upper[i].min(-rows.minimum(2 * p + 1, lx, ux));
        }
        if !last && j > 0 {
            keep_unstable(&mut rows, &mut live, |i| unstable(&best, i));
        }
    }
    if let Some(ph) = &mut phases {
        if !last {
            // A neuron the input level made stable is never bounded again
            // (in this domain's descendants its bounds start from these), so
            // its rows' multipliers need no step.
            keep_unstable(&mut rows, &mut live, |i| unstable(&best, i));
        }
        if !live.is_empty() {
            ph.ascend(below, &rows, &live, &levels, slopes);
        }
    }
    for l in &mut best.lower {
        if l.is_nan() {
            *l = f64::NEG_INFINITY;
        }
    }
    for u in &mut best.upper {
        if u.is_nan() {
            *u = f64::INFINITY;
        }
    }
    let gap = |l: f64, u: f64| l - u > EMPTY_GAP * (1.0 + l.abs() + u.abs());
    let empty = best.lower.iter().zip(&best.upper).any(|(&l, &u)| gap(l, u));
    uncross(&mut best);
    Ok((best, last.then_some(rows), empty))
}

/// Keep the neurons of `live` for which `unstable` holds, and their row pairs.
fn keep_unstable(rows: &mut Rows, live: &mut Vec<usize>, unstable: impl Fn(usize) -> bool) {
    let keep: Vec<bool> = live.iter().map(|&i| unstable(i)).collect();
    if keep.contains(&false) {
        rows.keep_pairs(&keep);
        let mut kept = keep.iter();
        live.retain(|_| *kept.next().expect("one flag per neuron"));
    }
}

/// Bounds of layer `k = earlier.len()` of `net` over `input`, given sound
/// bounds `earlier` for layers `0..k`, computed as [`compute`] does for that
/// layer, or [`Expired`] once `deadline` passes. Used by the optimised and
/// LP bounds, which feed their improved bounds back in layer by layer.
pub fn layer_bounds_before(
    net: &Network,
    input: &InputBox,
    earlier: &[Bounds],
    deadline: Option<Instant>,
) -> Result<Bounds, Expired> {
    let below = Below::from_bounds(net, input, earlier);
    let last = earlier.len() + 1 == net.layers().len();
    Ok(layer_bounds_below(&below, last, None, &[], None, &mut Scratch::default(), deadline)?.0)
}

/// Symbolic bounds for every layer of `net` over `input`.
///
/// Each layer's bounds are the tightest of the interval bounds from the
/// layer below and of the concretisations at every level of the
/// back-substitution, down to the input, so they are never looser than
/// [`interval::compute`](super::interval::compute) (up to rounding). Rows
/// of a neuron stop as soon as it is stable, except on the last layer, so a
/// stable neuron's bounds may be looser than a full substitution would give;
/// this changes no relaxation, since a stable neuron's is exact whatever its
/// bounds.
pub fn compute(net: &Network, input: &InputBox) -> NetworkBounds {
    compute_with_output(net, input).bounds
}

/// [`compute`], or [`Expired`] once `deadline` passes (polled at every
/// level of every layer's substitution).
pub fn compute_before(net: &Network, input: &InputBox, deadline: Option<Instant>) -> Result<NetworkBounds, Expired> {
    Ok(compute_with_output_before(net, input, deadline)?.bounds)
}

/// Symbolic bounds over `input`, a sub-box of a box whose sound bounds are
/// `outer`: each layer's bounds are intersected with `outer`'s before the
/// next layer is relaxed (bounds valid on a box are valid on every sub-box),
/// so a split never loosens a neuron and stable neurons stay stable.
pub fn compute_within(net: &Network, input: &InputBox, outer: &NetworkBounds) -> NetworkBounds {
    // Both sound on the same non-empty box: any gap is rounding, and the
    // bounds are uncrossed anyway.
    compute_within_substitution(net, input, outer).0
}

/// [`compute_within`], and the [`Substitution`] of the bounds it returns,
/// built on the way: the relaxations the last layers were bounded with are
/// the ones the substitution needs, so they are not built a second time
/// (on ACAS Xu boxes, rebuilding them took about 6% of the split search).
pub fn compute_within_substitution<'a>(
    net: &'a Network,
    input: &'a InputBox,
    outer: &NetworkBounds,
) -> (NetworkBounds, Substitution<'a>) {
    let (refined, below) = refine_below(net, input, outer, 0..net.layers().len(), &NeuronSlopes::default(), None);
    (refined.bounds, Substitution { below })
}

/// What [`refine`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Refined {
    /// The refined bounds (crossed pairs uncrossed).
    pub bounds: NetworkBounds,
    /// `true` when some neuron's fresh interval misses the outer one by more
    /// than [`EMPTY_GAP`]: no input of the set lies in both, so the set is
    /// empty.
    pub empty: bool,
}

/// The free-line slopes chosen for bounding individual neurons, as
/// alpha-CROWN keeps them for intermediate layers: `[k][2 i + s]` holds,
/// for neuron `i` of layer `k`, the slopes (`[layer j][neuron q]`, NaN:
/// the layer's own line) that bound it from below (`s = 0`) or above
/// (`s = 1`); empty when none were chosen.
///
/// Slopes chosen on a box stay valid on every part of it (each is clamped
/// into its neuron's family there, and a neuron that became stable simply
/// has none), so the optimised bounds of the whole box
/// ([`optimised`](super::optimised)) pass theirs on to every
/// phase-splitting domain: with them, a domain's refined bounds start from
/// the root's tightness instead of the plain lines'.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NeuronSlopes {
    layers: Vec<Vec<Vec<Vec<f64>>>>,
}

impl NeuronSlopes {
    /// The slopes of layer `k`'s neurons, `[2 i + s]` (empty when none).
    fn layer(&self, k: usize) -> &[Vec<Vec<f64>>] {
        self.layers.get(k).map_or(&[], Vec::as_slice)
    }

    /// Set layer `k`'s slopes, `[2 i + s]` as in [`NeuronSlopes`].
    pub fn set_layer(&mut self, k: usize, rows: Vec<Vec<Vec<f64>>>) {
        if self.layers.len() <= k {
            self.layers.resize(k + 1, Vec::new());
        }
        self.layers[k] = rows;
    }
}

/// `outer`'s bounds, with the layers of `which` replaced by symbolic bounds
/// computed from the layers below, intersected with `outer`'s as in
/// [`compute_within`], each neuron's rows using its `slopes`. With `outer`
/// sound on some subset of the input box (say the inputs where a neuron of
/// layer `which.start - 1` is active, with its bounds clamped to `[0, u]`),
/// the result is sound on that subset: refined or not, every layer's bounds
/// are sound there.
///
/// With `fixed`, the phases fixed on that subset (every fixed neuron's
/// interval in `outer` on its side of the kink), the bounds are sound on
/// the inputs that satisfy every constraint, each neuron's rows taking the
/// constraints with their multipliers, which then take one step (see
/// [`phases`]).
pub fn refine(
    net: &Network,
    input: &InputBox,
    outer: &NetworkBounds,
    which: Range<usize>,
    slopes: &NeuronSlopes,
    fixed: Option<&mut FixedPhases>,
) -> Refined {
    refine_below(net, input, outer, which, slopes, fixed).0
}

/// [`refine`], and the relaxations of the bounds it returns (every layer's
/// lines, as [`Substitution::new`] would build them from those bounds).
fn refine_below<'a>(
    net: &'a Network,
    input: &'a InputBox,
    outer: &NetworkBounds,
    which: Range<usize>,
    slopes: &NeuronSlopes,
    mut fixed: Option<&mut FixedPhases>,
) -> (Refined, Below<'a>) {
    let n_layers = net.layers().len();
    let mut below = Below::from_bounds(net, input, &outer.layers[..which.start]);
    let mut scratch = Scratch::default();
    let mut layers: Vec<Bounds> = outer.layers[..which.start].to_vec();
    let mut empty = false;
    for k in which.start..n_layers {
        let b = if which.contains(&k) {
            let mut b = outer.layers[k].clone();
            // Without constraints one pass is all there is; with them, each
            // pass is sound and starts from the last one's bounds and
            // multipliers.
            let passes = if fixed.as_deref().is_some_and(|f| f.constrains(k)) { phases::PASSES } else { 1 };
            for _ in 0..passes {
                let phases = fixed.as_deref_mut().and_then(|f| f.layer(k, b.len()));
                let last = k + 1 == n_layers;
                let (fresh, _, crossed) =
                    unlimited(layer_bounds_below(&below, last, Some(&b), slopes.layer(k), phases, &mut scratch, None));
                b = fresh;
                empty |= crossed;
                if crossed {
                    break;
                }
            }
            b
        } else {
            outer.layers[k].clone()
        };
        below.push(&b);
        layers.push(b);
    }
    (Refined { bounds: NetworkBounds { layers }, empty }, below)
}

/// Symbolic bounds and the output's linear bounds, as returned by
/// [`compute_with_output`].
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolicBounds {
    /// Pre-activation bounds of every layer (what [`compute`] returns).
    pub bounds: NetworkBounds,
    /// Linear functions of the input bounding the network outputs.
    pub output: OutputLinearBounds,
}

/// Linear bounds on the network outputs `y = f(x)` over the input box:
/// `lower.apply(x) <= f(x) <= upper.apply(x)` for every `x` in the box,
/// output by output.
///
/// Their minimum / maximum over the box can be looser than
/// [`NetworkBounds::output`], which also takes interval bounds and the
/// intermediate levels of the substitution.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputLinearBounds {
    /// Lower functions: `outputs x inputs` coefficients and a constant each.
    pub lower: Affine,
    /// Upper functions, same shape.
    pub upper: Affine,
}

/// Symbolic bounds of every layer plus the linear bounds of the outputs
/// (see [`OutputLinearBounds`]).
pub fn compute_with_output(net: &Network, input: &InputBox) -> SymbolicBounds {
    unlimited(compute_with_output_before(net, input, None))
}

/// [`compute_with_output`], or [`Expired`] once `deadline` passes.
fn compute_with_output_before(
    net: &Network,
    input: &InputBox,
    deadline: Option<Instant>,
) -> Result<SymbolicBounds, Expired> {
    let n_layers = net.layers().len();
    let mut below = Below::new(net, input);
    let mut scratch = Scratch::default();
    let mut layers: Vec<Bounds> = Vec::with_capacity(n_layers);
    let mut last_rows = None;
    for k in 0..n_layers {
        poll(deadline)?;
        let (b, rows, _) = layer_bounds_below(&below, k + 1 == n_layers, None, &[], None, &mut scratch, deadline)?;
        below.push(&b);
        layers.push(b);
        last_rows = rows;
    }
    let rows = match (&net.layers()[n_layers - 1].activation, last_rows) {
        // y = z: the last layer's rows (all kept) are the answer.
        (Activation::Identity, Some(rows)) => rows,
        _ => {
            // Substitute `e_o` and `-e_o` over y from the top, through the
            // last layer's relaxation.
            let m = net.output_dim();
            let mut rows = Rows { width: m, coeffs: vec![0.0; 2 * m * m], constants: vec![0.0; 2 * m] };
            for o in 0..m {
                rows.coeffs[2 * o * m + o] = 1.0;
                rows.coeffs[(2 * o + 1) * m + o] = -1.0;
            }
            for j in (0..n_layers).rev() {
                poll(deadline)?;
                below.step(j, &mut rows, &mut scratch, &[], &[]);
            }
            rows
        }
    };
    Ok(SymbolicBounds { bounds: NetworkBounds { layers }, output: to_output_bounds(&rows) })
}

/// Rows `2o` lower-bound output `o`, rows `2o + 1` lower-bound its negation.
fn to_output_bounds(rows: &Rows) -> OutputLinearBounds {
    let (m, n0) = (rows.len() / 2, rows.width);
    let side = |parity: usize, sign: f64| Affine {
        weights: Matrix::new(
            m,
            n0,
            (0..m).flat_map(|o| rows.row(2 * o + parity).iter().map(move |v| sign * v)).collect(),
        )
        .expect("m rows of n0 coefficients"),
        bias: (0..m).map(|o| sign * rows.constants[2 * o + parity]).collect(),
    };
    OutputLinearBounds { lower: side(0, 1.0), upper: side(1, -1.0) }
}

/// A lower bound of `c·y` over the box, where `y = f(x)` is the network
/// output and `c` is given as sparse `(output, coefficient)` pairs (repeated
/// outputs add up), and the linear function of `x` it comes from.
///
/// The row `c` is substituted from the top through the relaxations that
/// `bounds` (sound bounds for this box, e.g. from [`compute`]) define, the
/// CROWN way, which is usually tighter than combining per-output bounds
/// because the relaxations are chosen for `c·y` as a whole. The value
/// returned is the largest of the row's minima at every level (the first
/// level is the per-output combination `sum_k min(c_k l_k, c_k u_k)`, the
/// last the minimum of the input function over the box), all sound, less
/// [`LINEAR_BOUND_PAD`]. The returned coefficients `g` (one per input)
/// satisfy `c·f(x) >= g·x + const` on the box for some constant; `g` is what
/// the split search uses to choose a dimension.
pub fn bound_linear(net: &Network, input: &InputBox, bounds: &NetworkBounds, c: &[(usize, f64)]) -> (f64, Vec<f64>) {
    let b = linear_bound(net, input, bounds, c);
    (b.lower, b.coeffs)
}

/// What [`linear_bound`] found about `c·f(x)` on a box.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearBound {
    /// A lower bound of `c·f(x)` on the box (as returned by [`bound_linear`]).
    pub lower: f64,
    /// `g`, one coefficient per input, with `constant`:
    /// `c·f(x) >= g·x + constant` for every `x` in the box.
    pub coeffs: Vec<f64>,
    /// The constant of that linear function, already lowered by
    /// [`LINEAR_BOUND_PAD`] times the largest magnitude its evaluation on the
    /// box involves, so that evaluating it in f64 stays below `c·f(x)`.
    pub constant: f64,
}

/// [`bound_linear`], with the constant of the linear lower bound as well, so
/// callers can reason about the inputs where `c·f(x)` may be small (for
/// example intersect several such half-spaces).
pub fn linear_bound(net: &Network, input: &InputBox, bounds: &NetworkBounds, c: &[(usize, f64)]) -> LinearBound {
    Substitution::new(net, input, bounds).linear_bound(c)
}

/// The relaxation of every neuron of a network on a box, kept so that any
/// number of linear functions of the output can be bounded
/// ([`Substitution::linear_bound`]) without relaxing the network again for
/// each.
pub struct Substitution<'a> {
    below: Below<'a>,
}

impl<'a> Substitution<'a> {
    /// The relaxations that `bounds` (sound bounds for `input`) define.
    pub fn new(net: &'a Network, input: &'a InputBox, bounds: &NetworkBounds) -> Substitution<'a> {
        Substitution { below: Below::from_bounds(net, input, &bounds.layers) }
    }

    /// [`linear_bound`] of `c·f(x)` with these relaxations.
    pub fn linear_bound(&self, c: &[(usize, f64)]) -> LinearBound {
        self.bound(c, None, &[])
    }

    /// [`Substitution::linear_bound`], and the row's coefficients over the
    /// output of every layer on the way down (`[j][i]` is the weight of
    /// `y_j[i]` in the lower bound, before layer `j`'s activation is
    /// relaxed): how much each neuron's relaxation costs the
    /// bound, which the phase-splitting search uses to choose a neuron.
    pub fn linear_bound_traced(&self, c: &[(usize, f64)]) -> (LinearBound, Vec<Vec<f64>>) {
        self.linear_bound_with(c, &[])
    }

    /// [`Substitution::linear_bound_traced`] of `c·y + sum e (z - at)`,
    /// where `extra` lists terms `(layer, neuron, e, at)` of pre-activations
    /// `z`. Each term enters the row at its own layer, so the bound of every
    /// level of the walk is a bound of `c·y` plus the terms entered so far.
    /// The phase-splitting search adds its splits' constraints this way,
    /// with Lagrange multipliers, as beta-CROWN does.
    pub fn linear_bound_with(
        &self,
        c: &[(usize, f64)],
        extra: &[(usize, usize, f64, f64)],
    ) -> (LinearBound, Vec<Vec<f64>>) {
        let mut trace = vec![Vec::new(); self.below.net.layers().len()];
        let b = self.bound(c, Some(&mut trace), extra);
        (b, trace)
    }

    fn bound(
        &self,
        c: &[(usize, f64)],
        trace: Option<&mut Vec<Vec<f64>>>,
        extra: &[(usize, usize, f64, f64)],
    ) -> LinearBound {
        let (value, rows) = substitute_objective(&self.below, c, trace, extra);
        padded(self.below.input, value, rows)
    }
}

/// The [`LinearBound`] of a substituted row (see [`LINEAR_BOUND_PAD`]):
/// `value`, the best level's minimum, and `rows`, its single row over the input.
fn padded(input: &InputBox, value: f64, rows: Rows) -> LinearBound {
    let scale: f64 = rows
        .coeffs
        .iter()
        .zip(input.lower.iter().zip(&input.upper))
        .fold(rows.constants[0].abs(), |acc, (g, (l, u))| acc + g.abs() * l.abs().max(u.abs()));
    LinearBound {
        lower: value - LINEAR_BOUND_PAD * (1.0 + value.abs()),
        constant: rows.constants[0] - LINEAR_BOUND_PAD * (1.0 + scale),
        coeffs: rows.coeffs,
    }
}

/// [`bound_linear`] of `c·y + extra` (see
/// [`Substitution::linear_bound_with`]) before padding, with the constant of
/// the input function; with `trace`, the row over each layer's output is
/// kept there.
fn substitute_objective(
    below: &Below,
    c: &[(usize, f64)],
    mut trace: Option<&mut Vec<Vec<f64>>>,
    extra: &[(usize, usize, f64, f64)],
) -> (f64, Rows) {
    let net = below.net;
    let n_layers = net.layers().len();
    let mut rows = Rows { width: net.output_dim(), coeffs: vec![0.0; net.output_dim()], constants: vec![0.0] };
    for &(k, v) in c {
        rows.coeffs[k] += v;
    }
    let (lx, ux) = below.box_at(n_layers);
    let mut value = rows.minimum(0, lx, ux);
    let mut scratch = Scratch::default();
    for j in (0..n_layers).rev() {
        if let Some(t) = trace.as_deref_mut() {
            t[j] = rows.coeffs.clone();
        }
        let here: Vec<(usize, f64, f64)> = extra.iter().filter(|e| e.0 == j).map(|e| (e.1, e.2, e.3)).collect();
        below.step(j, &mut rows, &mut scratch, &[here], &[]);
        let (lx, ux) = below.box_at(j);
        value = value.max(rows.minimum(0, lx, ux));
    }
    (value, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::interval;
    use crate::bounds::tests::{assert_sound, deep_network, random_box, random_objective, sample};
    use crate::rng::Rng;
    use crate::testutil;

    /// Clamp a random unstable neuron to one side of its kink and refine the
    /// later layers: every sampled input on that side stays inside the
    /// refined bounds, the bounds never loosen, and a domain called empty
    /// has no sampled input.
    #[test]
    fn refined_under_a_fixed_phase_is_sound_on_that_phase() {
        let mut rng = Rng::new(4242);
        let (mut refined_tighter, mut empties) = (0, 0);
        for t in 0..80 {
            let net = if t % 2 == 0 { testutil::random_network(&mut rng, 6) } else { deep_network(&mut rng, t) };
            let input = random_box(&mut rng, net.input_dim());
            // Half the cases refine with the optimised bounds' own slopes.
            let (root, slopes) = if t % 4 < 2 {
                (compute(&net, &input), NeuronSlopes::default())
            } else {
                crate::bounds::optimised::compute_with_slopes(&net, &input, None, None).unwrap()
            };
            let unstable: Vec<(usize, usize, f64)> = net
                .layers()
                .iter()
                .zip(&root.layers)
                .enumerate()
                .flat_map(|(j, (layer, b))| {
                    (0..b.len()).filter_map(move |i| {
                        let k = layer.activation.kinks_inside(i, b.lower[i], b.upper[i]).iter().next()?.at;
                        Some((j, i, k))
                    })
                })
                .collect();
            if unstable.is_empty() {
                continue;
            }
            let (j, i, k) = unstable[rng.below(unstable.len())];
            for below in [true, false] {
                let mut clamped = root.clone();
                if below {
                    clamped.layers[j].upper[i] = k;
                } else {
                    clamped.layers[j].lower[i] = k;
                }
                let r = refine(&net, &input, &clamped, j + 1..net.layers().len(), &slopes, None);
                let on_side: Vec<Vec<f64>> = sample(&mut rng, &input, 400)
                    .into_iter()
                    .filter(|x| {
                        let z = net.forward_pre_activations(x)[j][i];
                        if below {
                            z <= k
                        } else {
                            z >= k
                        }
                    })
                    .collect();
                if r.empty {
                    empties += 1;
                    assert!(on_side.is_empty(), "called empty, but {:?} is on that side", on_side[0]);
                    continue;
                }
                for x in &on_side {
                    for (l, (z, b)) in net.forward_pre_activations(x).iter().zip(&r.bounds.layers).enumerate() {
                        for (q, &v) in z.iter().enumerate() {
                            let tol = 1e-9 * (1.0 + v.abs());
                            assert!(b.lower[q] <= v + tol && v <= b.upper[q] + tol, "layer {l} neuron {q} at {x:?}");
                        }
                    }
                }
                for (l, (a, b)) in r.bounds.layers.iter().zip(&clamped.layers).enumerate() {
                    for q in 0..a.len() {
                        // Up to rounding: a pair crossed by an ulp is uncrossed.
                        let tol = 1e-12 * (1.0 + b.lower[q].abs() + b.upper[q].abs());
                        assert!(a.lower[q] >= b.lower[q] - tol && a.upper[q] <= b.upper[q] + tol, "layer {l} loosened");
                        refined_tighter += usize::from(a.upper[q] - a.lower[q] < b.upper[q] - b.lower[q]);
                    }
                }
            }
        }
        // The refinement does something.
        assert!(refined_tighter > 50, "{refined_tighter} neurons tightened");
        eprintln!("{empties} empty domains");
    }

    /// Terms `e (z - at)` of pre-activations added to the row: the linear
    /// function returned is below `c·y + sum e (z - at)` at every sampled
    /// input, whatever the signs of `e`, and where every term is `<= 0` the
    /// bound is below `c·y`.
    #[test]
    fn bound_with_extra_terms_is_sound() {
        let mut rng = Rng::new(5150);
        for _ in 0..100 {
            let net = testutil::random_network(&mut rng, 6);
            let input = random_box(&mut rng, net.input_dim());
            let nb = compute(&net, &input);
            let c = random_objective(&mut rng, &net);
            let extra: Vec<(usize, usize, f64, f64)> = (0..3)
                .map(|_| {
                    let j = rng.below(net.layers().len());
                    (j, rng.below(net.layers()[j].output_dim()), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0))
                })
                .collect();
            let (lb, _) = Substitution::new(&net, &input, &nb).linear_bound_with(&c, &extra);
            for x in sample(&mut rng, &input, 200) {
                let pre = net.forward_pre_activations(&x);
                let y = net.forward(&x);
                let cy: f64 = c.iter().map(|&(k, w)| w * y[k]).sum();
                let terms: Vec<f64> = extra.iter().map(|&(j, q, e, at)| e * (pre[j][q] - at)).collect();
                let v = cy + terms.iter().sum::<f64>();
                let lin = crate::model::dot(&lb.coeffs, &x) + lb.constant;
                assert!(v >= lin - 1e-9 * (1.0 + v.abs()), "{v} < {lin}");
                if terms.iter().all(|&t| t <= 0.0) {
                    assert!(cy >= lb.lower - 1e-9 * (1.0 + cy.abs()), "{cy} < {}", lb.lower);
                }
            }
        }
    }

    /// The traced row over each layer's output: over the last layer it is
    /// the objective itself, and each trace has the layer's width. The
    /// value is the same as without tracing.
    #[test]
    fn traced_rows_start_at_the_objective() {
        let mut rng = Rng::new(99);
        for _ in 0..20 {
            let net = testutil::random_network(&mut rng, 6);
            let input = random_box(&mut rng, net.input_dim());
            let nb = compute(&net, &input);
            let c = random_objective(&mut rng, &net);
            let sub = Substitution::new(&net, &input, &nb);
            let (b, trace) = sub.linear_bound_traced(&c);
            assert_eq!(b, sub.linear_bound(&c));
            assert_eq!(trace.len(), net.layers().len());
            assert_eq!(trace.last().unwrap(), &c.iter().map(|&(_, v)| v).collect::<Vec<_>>());
            for (t, layer) in trace.iter().zip(net.layers()) {
                assert_eq!(t.len(), layer.output_dim());
            }
        }
    }

    #[test]
    fn within_outer_bounds_is_sound_and_no_looser() {
        let mut rng = Rng::new(77);
        for t in 0..40 {
            let net = if t % 2 == 0 { testutil::random_network(&mut rng, 6) } else { deep_network(&mut rng, t) };
            let outer_box = random_box(&mut rng, net.input_dim());
            let outer = compute(&net, &outer_box);
            // A random sub-box of the outer box.
            let (mut lo, mut hi) = (Vec::new(), Vec::new());
            for i in 0..net.input_dim() {
                let a = rng.range(outer_box.lower[i], outer_box.upper[i]);
                let b = rng.range(outer_box.lower[i], outer_box.upper[i]);
                lo.push(a.min(b));
                hi.push(a.max(b));
            }
            let inner_box = InputBox::new(lo, hi).unwrap();
            let inner = compute_within(&net, &inner_box, &outer);
            assert_sound(&net, &inner_box, &inner, &mut rng, 300);
            for (bi, bo) in inner.layers.iter().zip(&outer.layers) {
                for i in 0..bi.len() {
                    assert!(bi.lower[i] >= bo.lower[i] && bi.upper[i] <= bo.upper[i], "looser than the outer box");
                }
            }
        }
    }

    /// Every kind of activation we relax, with parameters that exercise the
    /// convex, concave, negative-slope and one- or two-kink cases.
    fn kinds() -> Vec<Activation> {
        vec![
            Activation::Relu,
            Activation::Leaky { slopes: vec![0.1] },
            Activation::Leaky { slopes: vec![-0.4] },
            Activation::Leaky { slopes: vec![0.0] },
            Activation::Leaky { slopes: vec![2.5] },
            Activation::Leaky { slopes: vec![1.0] },
            Activation::Clip { lo: 0.0, hi: 6.0 },
            Activation::Clip { lo: -1.0, hi: 1.0 },
            Activation::Clip { lo: -0.3, hi: f64::INFINITY },
            Activation::Clip { lo: f64::NEG_INFINITY, hi: 0.4 },
            Activation::Identity,
        ]
    }

    /// Like auto_LiRPA's `test_1d_activation`: on random intervals (scaled so
    /// that kinks fall inside, outside and on the ends), both lines bound the
    /// activation on a dense grid that includes the ends and the kinks.
    #[test]
    fn relaxations_contain_the_activation() {
        let mut rng = Rng::new(7);
        for act in kinds() {
            for trial in 0..2000 {
                let scale = [0.5, 2.0, 10.0][trial % 3];
                let (a, b) = (rng.range(-scale, scale), rng.range(-scale, scale));
                let (mut l, mut u) = (a.min(b), a.max(b));
                // Endpoints exactly on a kink, and degenerate intervals.
                match trial % 11 {
                    0 if u > 0.0 => l = 0.0,
                    1 if l < 0.0 => u = 0.0,
                    2 => u = l,
                    _ => {}
                }
                let rel = relax(&act, 0, l, u);
                let mut zs: Vec<f64> = (0..=200).map(|t| l + (u - l) * t as f64 / 200.0).collect();
                zs.extend(act.hinges(0).terms().iter().map(|h| h.at).filter(|k| l <= *k && *k <= u));
                for z in zs {
                    let y = act.eval(0, z);
                    let tol = 1e-9 * (1.0 + y.abs() + z.abs());
                    assert!(
                        rel.lower.at(z) <= y + tol,
                        "{act:?} on [{l}, {u}] at {z}: lower {} > {y}",
                        rel.lower.at(z)
                    );
                    assert!(
                        rel.upper.at(z) >= y - tol,
                        "{act:?} on [{l}, {u}] at {z}: upper {} < {y}",
                        rel.upper.at(z)
                    );
                }
            }
        }
    }

    #[test]
    fn relaxations_are_the_expected_lines() {
        let relu = Activation::Relu;
        // DeepPoly: chord above, alpha = 1 iff u > -l below.
        let r = relax(&relu, 0, -1.0, 3.0);
        assert_eq!(r.upper, Line { slope: 0.75, intercept: 0.75 });
        assert_eq!(r.lower, Line { slope: 1.0, intercept: 0.0 });
        assert_eq!(relax(&relu, 0, -3.0, 1.0).lower, Line { slope: 0.0, intercept: 0.0 });
        // Stable pieces are exact.
        assert_eq!(relax(&relu, 0, 0.5, 2.0), Relaxation::exact(Line { slope: 1.0, intercept: 0.0 }));
        assert_eq!(relax(&relu, 0, -2.0, 0.0), Relaxation::exact(Line { slope: 0.0, intercept: 0.0 }));
        // Leaky with a > 1 is concave: the chord is the lower line.
        let steep = Activation::Leaky { slopes: vec![3.0] };
        let r = relax(&steep, 0, -1.0, 1.0);
        assert_eq!(r.lower, Line { slope: 2.0, intercept: -1.0 });
        // Clip with both kinks inside.
        let clip = Activation::Clip { lo: -1.0, hi: 1.0 };
        let close = |a: Line, slope: f64, intercept: f64| {
            assert!((a.slope - slope).abs() < 1e-15 && (a.intercept - intercept).abs() < 1e-15, "{a:?}");
        };
        // Midpoint between the kinks: both lines pivot with the steep slope
        // 2 / 11, on (-1, -1) and on (1, 1).
        let r = relax(&clip, 0, -10.0, 10.0);
        close(r.lower, 2.0 / 11.0, -1.0 + 2.0 / 11.0);
        close(r.upper, 2.0 / 11.0, 1.0 - 2.0 / 11.0);
        // Midpoint above hi: the upper line is the constant hi.
        let r = relax(&clip, 0, -2.0, 10.0);
        close(r.upper, 0.0, 1.0);
        close(r.lower, 2.0 / 11.0, -1.0 + 2.0 / 11.0);
        // Midpoint below lo: the lower line is the constant lo.
        let r = relax(&clip, 0, -10.0, 2.0);
        close(r.lower, 0.0, -1.0);
        close(r.upper, 2.0 / 11.0, 1.0 - 2.0 / 11.0);
    }

    #[test]
    fn infinite_bounds_give_sound_lines() {
        for act in kinds() {
            for (l, u) in [(f64::NEG_INFINITY, 2.0), (-2.0, f64::INFINITY), (f64::NEG_INFINITY, f64::INFINITY)] {
                let rel = relax(&act, 0, l, u);
                for z in [-1e6, -3.0, -1.0, -0.2, 0.0, 0.3, 1.0, 2.0, 1e6] {
                    if z < l || z > u {
                        continue;
                    }
                    let y = act.eval(0, z);
                    let (lo, hi) = (rel.lower.at(z), rel.upper.at(z));
                    assert!(lo.is_nan() || lo <= y + 1e-9, "{act:?} [{l}, {u}] z={z}: {lo} > {y}");
                    assert!(hi.is_nan() || hi >= y - 1e-9, "{act:?} [{l}, {u}] z={z}: {hi} < {y}");
                }
            }
        }
    }

    #[test]
    fn sound_on_random_networks() {
        let mut rng = Rng::new(11);
        for t in 0..150 {
            let net = if t % 2 == 0 { testutil::random_network(&mut rng, 6) } else { deep_network(&mut rng, t) };
            let input = random_box(&mut rng, net.input_dim());
            let nb = compute(&net, &input);
            assert_sound(&net, &input, &nb, &mut rng, 300);
        }
    }

    #[test]
    fn never_looser_than_interval_and_tighter_on_deep_nets() {
        let mut rng = Rng::new(3);
        let (mut width_int, mut width_sym) = (0.0, 0.0);
        for t in 0..60 {
            let net = deep_network(&mut rng, t);
            let input = random_box(&mut rng, net.input_dim());
            let int = interval::compute(&net, &input);
            let sym = compute(&net, &input);
            // Up to rounding: the interval level is summed in another order.
            for (bi, bs) in int.layers.iter().zip(&sym.layers) {
                for i in 0..bi.len() {
                    let tol = 1e-12 * (1.0 + bi.lower[i].abs() + bi.upper[i].abs());
                    assert!(bs.lower[i] >= bi.lower[i] - tol && bs.upper[i] <= bi.upper[i] + tol);
                }
            }
            let out_i = int.output();
            let out_s = sym.output();
            width_int += (0..out_i.len()).map(|i| out_i.upper[i] - out_i.lower[i]).sum::<f64>();
            width_sym += (0..out_s.len()).map(|i| out_s.upper[i] - out_s.lower[i]).sum::<f64>();
        }
        assert!(width_sym < 0.8 * width_int, "symbolic {width_sym} vs interval {width_int}");
    }

    #[test]
    fn output_linear_bounds_contain_outputs() {
        let mut rng = Rng::new(5);
        for t in 0..80 {
            let mut net = deep_network(&mut rng, t);
            if t % 3 == 0 {
                // A last layer with a non-identity activation takes the
                // separate substitution path.
                let mut layers = net.layers().to_vec();
                let n = layers.len();
                layers[n - 1].activation = Activation::Clip { lo: -0.2, hi: 0.3 };
                net = Network::new(layers).unwrap();
            }
            let input = random_box(&mut rng, net.input_dim());
            let sb = compute_with_output(&net, &input);
            for x in sample(&mut rng, &input, 200) {
                let y = net.forward(&x);
                let (lo, hi) = (sb.output.lower.apply(&x), sb.output.upper.apply(&x));
                for k in 0..y.len() {
                    let tol = 1e-9 * (1.0 + y[k].abs());
                    assert!(
                        lo[k] <= y[k] + tol && y[k] <= hi[k] + tol,
                        "output {k}: {} <= {} <= {}",
                        lo[k],
                        y[k],
                        hi[k]
                    );
                }
            }
        }
    }

    #[test]
    fn bound_linear_is_below_sampled_values() {
        let mut rng = Rng::new(9);
        for t in 0..100 {
            let net = if t % 2 == 0 { testutil::random_network(&mut rng, 6) } else { deep_network(&mut rng, t) };
            let input = random_box(&mut rng, net.input_dim());
            let nb = compute(&net, &input);
            let m = net.output_dim();
            let c: Vec<(usize, f64)> = (0..m).map(|k| (k, rng.range(-1.0, 1.0))).chain([(0, 0.5)]).collect();
            let (lb, g) = bound_linear(&net, &input, &nb, &c);
            assert_eq!(g.len(), net.input_dim());
            let (_, rows) = substitute_objective(&Below::from_bounds(&net, &input, &nb.layers), &c, None, &[]);
            assert_eq!(rows.coeffs, g);
            for x in sample(&mut rng, &input, 300) {
                let y = net.forward(&x);
                let v: f64 = c.iter().map(|&(k, w)| w * y[k]).sum();
                assert!(lb <= v + 1e-9 * (1.0 + v.abs()), "bound {lb} above sampled {v}");
                // The returned function itself is below c·y on the box.
                let f: f64 = rows.constants[0] + g.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>();
                assert!(f <= v + 1e-9 * (1.0 + v.abs()), "linear function {f} above {v}");
            }
        }
    }

    #[test]
    fn bound_linear_beats_per_output_combination_on_a_difference() {
        // y0 = y1 = relu(x): y0 - y1 = 0, but per-output bounds give [-1, 1].
        let net = Network::new(vec![
            testutil::layer(1, 1, &[1.0], &[0.0], Activation::Relu),
            testutil::layer(2, 1, &[1.0, 1.0], &[0.0, 0.0], Activation::Identity),
        ])
        .unwrap();
        let input = InputBox::new(vec![-1.0], vec![1.0]).unwrap();
        let nb = compute(&net, &input);
        let (lb, _) = bound_linear(&net, &input, &nb, &[(0, 1.0), (1, -1.0)]);
        assert!(lb > -1e-8 && lb <= 0.0, "{lb}");
    }
}
