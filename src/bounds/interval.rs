//! Interval bound propagation: the cheapest sound bounds.
//!
//! For `z = W x + b` with `x in [lx, ux]`, each `z_i` is bounded by splitting
//! `W` into its positive and negative parts:
//! `l_i = b_i + sum_j (W_ij^+ lx_j + W_ij^- ux_j)`,
//! `u_i = b_i + sum_j (W_ij^+ ux_j + W_ij^- lx_j)`.
//! The activation image of `[l_i, u_i]` feeds the next layer.

use super::{intersect_uncrossed, Bounds, NetworkBounds};
use crate::model::matrix::Row;
use crate::model::{Affine, Network};
use crate::spec::InputBox;

/// Interval bounds on `affine(x)` for `x` in `[lx, ux]`.
pub fn affine_bounds(affine: &Affine, lx: &[f64], ux: &[f64]) -> Bounds {
    let n = affine.weights.rows();
    let mut lower = Vec::with_capacity(n);
    let mut upper = Vec::with_capacity(n);
    for i in 0..n {
        // A dense row as a plain loop over its slice.
        let (l, u) = match affine.weights.row(i) {
            Row::Dense(d) => interval_row(affine.bias[i], d.iter().copied().enumerate(), lx, ux),
            row => interval_row(affine.bias[i], row.iter(), lx, ux),
        };
        lower.push(l);
        upper.push(u);
    }
    Bounds { lower, upper }
}

/// The range of `bias + sum w_j x_j` over the entries `(j, w_j)` for `x`
/// in `[lx, ux]`.
fn interval_row(bias: f64, entries: impl Iterator<Item = (usize, f64)>, lx: &[f64], ux: &[f64]) -> (f64, f64) {
    let (mut l, mut u) = (bias, bias);
    for (j, w) in entries {
        if w >= 0.0 {
            l += w * lx[j];
            u += w * ux[j];
        } else {
            l += w * ux[j];
            u += w * lx[j];
        }
    }
    (l, u)
}

/// Interval bounds for every layer of `net` over `input`.
pub fn compute(net: &Network, input: &InputBox) -> NetworkBounds {
    propagate(net, input, None)
}

/// Interval bounds over `input`, a sub-box of a box whose sound bounds are
/// `outer`: each layer's bounds are intersected with `outer`'s before they
/// feed the next layer (as [`symbolic::compute_within`](super::symbolic::compute_within) does).
pub fn compute_within(net: &Network, input: &InputBox, outer: &NetworkBounds) -> NetworkBounds {
    propagate(net, input, Some(outer))
}

fn propagate(net: &Network, input: &InputBox, outer: Option<&NetworkBounds>) -> NetworkBounds {
    let mut lx = input.lower.clone();
    let mut ux = input.upper.clone();
    let mut layers = Vec::with_capacity(net.layers().len());
    for (k, layer) in net.layers().iter().enumerate() {
        let mut b = affine_bounds(&layer.affine, &lx, &ux);
        if let Some(outer) = outer {
            b = intersect_uncrossed(&b, &outer.layers[k]);
        }
        let (l, u): (Vec<f64>, Vec<f64>) =
            (0..b.len()).map(|i| layer.activation.interval_image(i, b.lower[i], b.upper[i])).unzip();
        lx = l;
        ux = u;
        layers.push(b);
    }
    NetworkBounds { layers }
}
