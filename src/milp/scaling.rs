//! Is an encoding well scaled? Cheap measurements that say when solver
//! tolerances or f64 rounding could decide an answer.
//!
//! A proof ("holds") is only as good as the arithmetic behind it. HiGHS
//! works to a feasibility tolerance of about `1e-7` (set in `highs.rs`) and
//! in f64, and reluverify's proofs rest on a margin of
//! [`UNSAFE_RELAX`] on the unsafe rows plus tiny paddings of every bound.
//! Those margins cover ordinary networks by orders of magnitude; they stop
//! covering a network whose numbers are extreme. [`Scaling::measure`] takes
//! the network, the input box, the neuron bounds the search uses and the
//! unsafe set, and records in one pass over the weights (the cost of one
//! interval propagation, nothing next to the bounds themselves):
//!
//! * `max_bound`, the largest neuron bound: the big-M constants of the
//!   encoding. A binary that sits within HiGHS's integrality tolerance
//!   (`1e-6`) of 0 or 1 lets a ReLU output move by `M x 1e-6`, and the
//!   solver's own rounding grows with `M` ([`BIG_M_WARN`]).
//! * the range of nonzero coefficients (weights, Leaky slopes, unsafe-row
//!   coefficients) that reach the solver ([`COEFF_RANGE_WARN`]).
//! * `dropped`, how much looser than the network the model HiGHS solves is:
//!   HiGHS silently drops matrix entries of magnitude at most
//!   [`SMALL_MATRIX_VALUE`], so `highs.rs` replaces each by the interval it
//!   spans (sound, but a tiny weight times a large input magnitude is then a
//!   wide interval, and the MILP may find points the f64 check rejects:
//!   `unknown` answers) ([`DROPPED_WARN`]).
//! * `rounding`, an estimate of the f64 rounding error of the unsafe rows
//!   `c·y`, with rounding errors treated as independent and propagated
//!   through the layers (see `rounding_estimate`). Proofs are about the
//!   exact network; witnesses are checked on the f64 one. When the two can
//!   differ by a sizeable part of [`UNSAFE_RELAX`], "holds" for the exact
//!   network no longer implies it for the f64 evaluation ([`ROUNDING_WARN`]).
//!
//! [`Scaling::warnings`] turns measurements past a threshold into messages;
//! the search attaches them to the run's statistics and `check` prints them.
//! A warning does not change the verdict: it says the verdict rests on
//! numbers near the limits of the arithmetic, so a second opinion
//! (`--cross-check`, or a rescaled model) is worth having.

use super::highs::SMALL_MATRIX_VALUE;
use crate::bounds::NetworkBounds;
use crate::margins::UNSAFE_RELAX;
use crate::model::Network;
use crate::spec::{Dnf, InputBox};

/// Warn when some neuron bound (a big-M constant) exceeds this. At `1e6` a
/// binary inside the integrality tolerance (`1e-6`) moves a ReLU output by a
/// whole unit, and rounding in a row with such coefficients (`1e6 x 2.2e-16`
/// per operation, over thousands of simplex operations) approaches the
/// primal feasibility tolerance `1e-7`. ACAS Xu reaches `1.6e4` with
/// symbolic bounds (`9e4` with interval bounds), MNIST-FC `2e2`.
pub const BIG_M_WARN: f64 = 1e6;

/// Warn when the largest nonzero coefficient is more than this many times
/// the smallest one kept by HiGHS. Simplex and presolve lose about
/// `log10(range)` digits of the 16 in f64; past `1e10`, fewer than the 7
/// digits the feasibility tolerance assumes remain.
pub const COEFF_RANGE_WARN: f64 = 1e10;

/// Warn when the entries too small for HiGHS loosen some pre-activation or
/// unsafe row by more than this: the absolute padding every neuron bound
/// gets ([`crate::margins::BOUND_PAD_ABS`]), below which the loosening is
/// lost in the rounding the padding already covers.
pub const DROPPED_WARN: f64 = crate::margins::BOUND_PAD_ABS;

/// Warn when the estimated f64 rounding of an unsafe row exceeds this part
/// of [`UNSAFE_RELAX`]: the rest of the margin is left to the solver's
/// tolerance (`1e-7`).
pub const ROUNDING_WARN: f64 = 0.1 * UNSAFE_RELAX;

/// Unit roundoff of f64 (`2^-53`).
const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// The rounding error estimate, one layer or unsafe row at a time.
///
/// A dot product `sum_j w_j y_j + b` of `n` terms, each `y_j` carrying an
/// error of size `e_j`, is computed with an error of about
/// `sqrt(sum_j (w_j e_j)^2) + u sqrt(n + 1) (sum_j |w_j| |y_j| + |b|)`
/// (`u` the unit roundoff, `|y_j|` the largest magnitude the bounds allow):
/// the errors already present, and the `n` roundings of the sum itself,
/// treated as independent, which is how rounding errors behave in practice.
/// The worst-case bound (`sum_j |w_j| e_j + n u ...`) is far too pessimistic
/// for wide layers: it reaches `1e-3` on the 6 x 256 MNIST-FC network,
/// where this estimate gives `1e-11`.
fn rounding_estimate(terms: impl Iterator<Item = (f64, f64, f64)>, constant: f64) -> f64 {
    let (mut n, mut carried, mut magnitude) = (1.0_f64, 0.0_f64, constant.abs());
    for (w, m, e) in terms {
        n += 1.0;
        carried += (w * e).powi(2);
        magnitude += w.abs() * m;
    }
    carried.sqrt() + UNIT_ROUNDOFF * n.sqrt() * magnitude
}

/// Scaling measurements of one or more (network, box, bounds, unsafe set)
/// encodings; merge several with [`Scaling::merge`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    /// Largest `|l|` or `|u|` over every neuron's pre-activation bounds.
    pub max_bound: f64,
    /// Smallest nonzero coefficient magnitude above [`SMALL_MATRIX_VALUE`]
    /// (weights, slopes, unsafe rows).
    pub min_coeff: f64,
    /// Largest coefficient magnitude.
    pub max_coeff: f64,
    /// Nonzero coefficients too small for HiGHS (at most [`SMALL_MATRIX_VALUE`]).
    pub dropped_count: usize,
    /// Largest change those coefficients can make to one row
    /// (`sum |a| x |value magnitude|`): how much the row is loosened.
    pub dropped: f64,
    /// Estimated rounding error of the unsafe rows evaluated in f64 (rounding
    /// errors treated as independent and propagated through the layers).
    pub rounding: f64,
}

impl Default for Scaling {
    fn default() -> Scaling {
        Scaling {
            max_bound: 0.0,
            min_coeff: f64::INFINITY,
            max_coeff: 0.0,
            dropped_count: 0,
            dropped: 0.0,
            rounding: 0.0,
        }
    }
}

impl Scaling {
    /// Measure the encoding of `net` over `input` with neuron `bounds` (as
    /// the search computed them) and the unsafe rows of `unsafe_sets`.
    ///
    /// Every quantity grows with the magnitudes of the bounds, so the
    /// measure of the regions' hull (box and bounds widened to hold every
    /// region's) covers each region's: one pass over the weights serves a
    /// property of thousands of regions.
    pub fn measure<'a>(
        net: &Network,
        input: &InputBox,
        bounds: &NetworkBounds,
        unsafe_sets: impl IntoIterator<Item = &'a Dnf>,
    ) -> Scaling {
        let mut s = Scaling::default();
        // Magnitudes of the current layer's inputs, and the estimated
        // rounding error of their f64 values (inputs are exact).
        let mut mag: Vec<f64> = input.lower.iter().zip(&input.upper).map(|(l, u)| l.abs().max(u.abs())).collect();
        let mut err = vec![0.0; mag.len()];
        for (layer, b) in net.layers().iter().zip(&bounds.layers) {
            let w = &layer.affine.weights;
            let mut next_mag = Vec::with_capacity(w.rows());
            let mut next_err = Vec::with_capacity(w.rows());
            for i in 0..w.rows() {
                let mut dropped = 0.0;
                for (j, wij) in w.row(i).iter() {
                    s.coefficient(wij, mag[j], &mut dropped);
                }
                let (l, u) = (b.lower[i], b.upper[i]);
                s.max_bound = s.max_bound.max(l.abs()).max(u.abs());
                let z_mag = l.abs().max(u.abs());
                // y = c + a z + sum_k w_k r_k (`milp::encode`): a and every
                // w_k are coefficients of the activation's row.
                let hinges = layer.activation.hinges(i);
                for c in std::iter::once(hinges.linear).chain(hinges.terms().iter().map(|h| h.weight)) {
                    s.coefficient(c, z_mag, &mut dropped);
                }
                s.dropped = s.dropped.max(dropped);
                let (ylo, yhi) = layer.activation.interval_image(i, l, u);
                next_mag.push(ylo.abs().max(yhi.abs()));
                let terms = w.row(i).iter().map(|(j, w)| (w, mag[j], err[j]));
                next_err.push(hinges.lipschitz() * rounding_estimate(terms, layer.affine.bias[i]));
            }
            mag = next_mag;
            err = next_err;
        }
        for row in unsafe_sets.into_iter().flat_map(|u| &u.disjuncts).flat_map(|d| &d.constraints) {
            let mut dropped = 0.0;
            for &(k, c) in &row.coeffs {
                s.coefficient(c, mag[k], &mut dropped);
            }
            s.dropped = s.dropped.max(dropped);
            let terms = row.coeffs.iter().map(|&(k, c)| (c, mag[k], err[k]));
            s.rounding = s.rounding.max(rounding_estimate(terms, row.rhs));
        }
        s
    }

    /// Record coefficient `a` multiplying a value of magnitude `m`; a
    /// coefficient too small for HiGHS adds `|a| m` to `dropped`.
    fn coefficient(&mut self, a: f64, m: f64, dropped: &mut f64) {
        let a = a.abs();
        if a == 0.0 {
            return;
        }
        if a <= SMALL_MATRIX_VALUE {
            self.dropped_count += 1;
            *dropped += a * m;
        } else {
            self.min_coeff = self.min_coeff.min(a);
            self.max_coeff = self.max_coeff.max(a);
        }
    }

    /// The worst of two measurements, field by field.
    pub fn merge(self, other: Scaling) -> Scaling {
        Scaling {
            max_bound: self.max_bound.max(other.max_bound),
            min_coeff: self.min_coeff.min(other.min_coeff),
            max_coeff: self.max_coeff.max(other.max_coeff),
            dropped_count: self.dropped_count.max(other.dropped_count),
            dropped: self.dropped.max(other.dropped),
            rounding: self.rounding.max(other.rounding),
        }
    }

    /// `max_coeff / min_coeff`, or 1 without coefficients.
    pub fn coeff_range(&self) -> f64 {
        if self.max_coeff > 0.0 && self.min_coeff.is_finite() {
            self.max_coeff / self.min_coeff
        } else {
            1.0
        }
    }

    /// One message per threshold crossed (empty for a well-scaled problem).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        // NaN measurements (from overflowing bounds) warn too.
        if self.max_bound.is_nan() || self.max_bound > BIG_M_WARN {
            w.push(format!(
                "badly scaled: a neuron bound reaches {:.3e} (above {BIG_M_WARN:.0e}); big-M rows this large \
                 are at the limit of the MILP solver's tolerances",
                self.max_bound
            ));
        }
        if self.coeff_range() > COEFF_RANGE_WARN {
            w.push(format!(
                "badly scaled: coefficient magnitudes range from {:.3e} to {:.3e} (a ratio above {COEFF_RANGE_WARN:.0e})",
                self.min_coeff, self.max_coeff
            ));
        }
        if self.dropped > DROPPED_WARN {
            w.push(format!(
                "badly scaled: {} nonzero coefficient(s) of magnitude at most {SMALL_MATRIX_VALUE:.0e}, too small \
                 for the MILP/LP solver; each is replaced by the interval it spans, which loosens a row by up to \
                 {:.3e} (answers stay sound, but more may be unknown)",
                self.dropped_count, self.dropped
            ));
        }
        if self.rounding.is_nan() || self.rounding > ROUNDING_WARN {
            w.push(format!(
                "badly scaled: f64 rounding of the network may move an unsafe row by about {:.3e}, a sizeable \
                 part of the {UNSAFE_RELAX:.0e} margin that proofs keep",
                self.rounding
            ));
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::{interval, symbolic};
    use crate::model::{Activation, Layer, Network};
    use crate::rng::Rng;
    use crate::testutil::{self, layer};

    fn measure(net: &Network, lower: &[f64], upper: &[f64], rows: &[(usize, f64)]) -> Scaling {
        let prop = testutil::property(lower, upper, &[&[(rows, 0.0)]]);
        let r = &prop.regions[0];
        Scaling::measure(net, &r.input, &symbolic::compute(net, &r.input), [&r.unsafe_set])
    }

    #[test]
    fn well_scaled_random_networks_give_no_warning() {
        let mut rng = Rng::new(5);
        for _ in 0..50 {
            let net = testutil::random_network(&mut rng, 6);
            let prop = testutil::random_property(&mut rng, &net);
            let r = &prop.regions[0];
            let s = Scaling::measure(&net, &r.input, &interval::compute(&net, &r.input), [&r.unsafe_set]);
            assert!(s.warnings().is_empty(), "{s:?}");
            assert!(s.rounding > 0.0 && s.rounding < 1e-12, "{s:?}");
        }
    }

    #[test]
    fn each_threshold_warns() {
        // Large weights: bounds of 1e7.
        let big = Network::new(vec![
            layer(1, 1, &[1e7], &[0.0], Activation::Relu),
            layer(1, 1, &[1e-7], &[0.0], Activation::Identity),
        ])
        .unwrap();
        let s = measure(&big, &[-1.0], &[1.0], &[(0, 1.0)]);
        assert_eq!(s.max_bound, 1e7);
        assert_eq!(s.warnings().len(), 2, "big-M and coefficient range: {:?}", s.warnings());
        // A weight HiGHS drops, times an input of 1e6: a change of 1e-4.
        let tiny = Network::new(vec![layer(1, 2, &[1e-10, 1.0], &[0.0], Activation::Identity)]).unwrap();
        let s = measure(&tiny, &[0.0, -1.0], &[1e6, 1.0], &[(0, 1.0)]);
        assert_eq!(s.dropped_count, 1);
        assert!((s.dropped - 1e-4).abs() < 1e-12, "{s:?}");
        assert!(s.warnings().iter().any(|w| w.contains("too small")), "{:?}", s.warnings());
        // ... but not times an input of 1e-3 (a change of 1e-13).
        assert!(measure(&tiny, &[0.0, -1.0], &[1e-3, 1.0], &[(0, 1.0)]).warnings().is_empty());
        // Rounding: weights of 1e6 on inputs of 1e3 over a few layers.
        let layers: Vec<Layer> =
            (0..3).map(|_| layer(2, 2, &[1e6, -1e6, 1e6, 1e6], &[0.0, 0.0], Activation::Relu)).collect();
        let s = measure(&Network::new(layers).unwrap(), &[-1e3, -1e3], &[1e3, 1e3], &[(0, 1.0)]);
        assert!(s.rounding > ROUNDING_WARN, "{s:?}");
    }

    #[test]
    fn merge_keeps_the_worst() {
        let a =
            Scaling { max_bound: 3.0, min_coeff: 0.5, max_coeff: 2.0, dropped_count: 0, dropped: 0.0, rounding: 1e-15 };
        let b =
            Scaling { max_bound: 1.0, min_coeff: 0.1, max_coeff: 1.0, dropped_count: 2, dropped: 1e-3, rounding: 0.0 };
        let m = a.merge(b);
        assert_eq!((m.max_bound, m.min_coeff, m.max_coeff, m.dropped_count), (3.0, 0.1, 2.0, 2));
        assert_eq!((m.dropped, m.rounding), (1e-3, 1e-15));
        assert!((m.coeff_range() - 20.0).abs() < 1e-12);
    }
}
