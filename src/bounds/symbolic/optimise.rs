//! Optimised relaxations for one linear function of the output, under
//! linear constraints on pre-activations (alpha-beta-CROWN style).
//!
//! [`Substitution::linear_bound`] uses one fixed pair of lines per neuron.
//! For a neuron with one kink inside its interval, one side has a whole
//! family of valid lines: for a convex kink (ReLU, or Leaky with a slope
//! below one) every line through the kink point `(at, f(at))` with a slope between
//! the two pieces' slopes is below `f` on the interval (a supporting line of
//! a convex function), and for a concave kink the same lines are above it.
//! Any member of the family keeps the bound sound, and which one is best
//! depends on the row being bounded (alpha-CROWN, Xu et al., 2021).
//!
//! Constraints `side (z - at) >= 0` on pre-activations (the fixed phases of
//! a branch-and-bound domain) enter as in beta-CROWN (Wang et al., 2021):
//! for multipliers `beta >= 0`, `c·y >= c·y - sum beta side (z - at)` on the
//! constrained set, and a lower bound of the right-hand side over the box
//! ([`Substitution::linear_bound_with`]) is one of `c·y` there.
//!
//! [`Substitution::optimised_bound`] maximises the bound over the slopes and
//! multipliers by projected gradient ascent (Adam steps) and keeps the best
//! bound seen: every iterate is a valid bound, so the optimisation only
//! decides how good it is, never whether it is sound.
//!
//! The gradient is exact for a fixed choice of lines. With the lines used
//! (the lower line of a neuron whose row weight `a` is positive, the upper
//! one otherwise) the bound is `min_x` of a linear function of the input, so
//! by the envelope theorem its derivative with respect to a parameter is the
//! derivative of that function at the minimising corner `x*`. Pushing `x*`
//! forward through the same lines gives each pre-activation's value `ẑ` in
//! that relaxed network, and a slope `s` of the line `f(at) + s (z - at)`
//! contributes `a (f(at) + s (ẑ - at))`, so `d/ds = a (ẑ - at)`; a
//! multiplier contributes `-beta side (ẑ - at)`, so `d/dbeta = -side (ẑ - at)`.

use std::time::Instant;

use super::kernels::dot_rows;
use super::{padded, substitute_objective, Family, LinearBound, Substitution};
use crate::bounds::past;

/// A constraint `side (z - at) >= 0` on pre-activation `neuron` of layer
/// `layer` (`side` is `1` or `-1`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constraint {
    /// Layer of the pre-activation.
    pub layer: usize,
    /// Neuron within the layer.
    pub neuron: usize,
    /// `1` for `z >= at`, `-1` for `z <= at`.
    pub side: f64,
    /// The threshold.
    pub at: f64,
}

/// The parameters of one row's optimisation, kept between calls to start the
/// next one where this one ended (a branch-and-bound child starts from its
/// parent's). Start with `Warm::default()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Warm {
    /// Slope of each neuron's free line, `[layer][neuron]`; NaN (or missing)
    /// means not set yet.
    slopes: Vec<Vec<f64>>,
    /// Multiplier of each constraint, in the order given; missing ones start at 0.
    betas: Vec<f64>,
}

impl Warm {
    /// The slopes, `[layer][neuron]` (NaN: not set), as
    /// [`NeuronSlopes`](super::NeuronSlopes) keeps them for one row.
    pub fn into_slopes(self) -> Vec<Vec<f64>> {
        self.slopes
    }
}

/// Adam step size for the slopes (slopes range over an interval of width
/// at most 1 for ReLU; alpha-CROWN's default).
pub const SLOPE_RATE: f64 = 0.1;

/// Adam step size for the multipliers (beta-CROWN's default).
pub const BETA_RATE: f64 = 0.05;

/// Adam's moment decay rates and denominator guard (the usual values).
const ADAM_B1: f64 = 0.9;
const ADAM_B2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;

/// Adam state of one parameter vector.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Adam {
    rate: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    pub(super) fn new(n: usize, rate: f64) -> Adam {
        Adam { rate, m: vec![0.0; n], v: vec![0.0; n], t: 0 }
    }

    /// Make room for `n` parameters; new ones start with no history.
    pub(super) fn grow(&mut self, n: usize) {
        if self.m.len() < n {
            self.m.resize(n, 0.0);
            self.v.resize(n, 0.0);
        }
    }

    /// One ascent step of `x` along `grad`, projected into `[lo(i), hi(i)]`.
    pub(super) fn step(&mut self, x: &mut [f64], grad: &[f64], lo: impl Fn(usize) -> f64, hi: impl Fn(usize) -> f64) {
        self.t += 1;
        let (c1, c2) = (1.0 - ADAM_B1.powi(self.t), 1.0 - ADAM_B2.powi(self.t));
        for (i, (x, g)) in x.iter_mut().zip(grad).enumerate() {
            self.m[i] = ADAM_B1 * self.m[i] + (1.0 - ADAM_B1) * g;
            self.v[i] = ADAM_B2 * self.v[i] + (1.0 - ADAM_B2) * g * g;
            let step = self.rate * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + ADAM_EPS);
            *x = (*x + step).clamp(lo(i), hi(i));
        }
    }
}

impl Substitution<'_> {
    /// A lower bound of `c·y` on the inputs of the box that satisfy every
    /// constraint of `constraints`, with its input function and trace (as
    /// [`Substitution::linear_bound_with`] returns them), optimised over the
    /// free lines and the constraints' multipliers for up to `iterations`
    /// gradient steps, starting from `warm` and leaving the best parameters
    /// there. Stops early once the bound exceeds `threshold`.
    pub fn optimised_bound(
        &self,
        c: &[(usize, f64)],
        constraints: &[Constraint],
        warm: &mut Warm,
        iterations: usize,
        threshold: f64,
    ) -> (LinearBound, Vec<Vec<f64>>) {
        self.optimised_bound_until(c, constraints, warm, iterations, threshold, None)
    }

    /// [`Substitution::optimised_bound`], also stopping after the step in
    /// progress when `deadline` passes. The bound returned is then still
    /// sound (every iterate is), but looser than the steps would have made
    /// it; callers check the deadline and drop it.
    pub fn optimised_bound_until(
        &self,
        c: &[(usize, f64)],
        constraints: &[Constraint],
        warm: &mut Warm,
        iterations: usize,
        threshold: f64,
        deadline: Option<Instant>,
    ) -> (LinearBound, Vec<Vec<f64>>) {
        let net = self.below.net;
        let n_layers = net.layers().len();
        let families: Vec<Family> = self.below.families.iter().flatten().copied().collect();
        let mut below = self.below.clone();
        warm.slopes.resize(n_layers, Vec::new());
        let mut slopes: Vec<f64> = families
            .iter()
            .map(|f| {
                let lines = &below.lines[f.layer];
                let default = if f.lower { lines.lower_slope[f.neuron] } else { lines.upper_slope[f.neuron] };
                let s = warm.slopes[f.layer].get(f.neuron).copied().unwrap_or(f64::NAN);
                if s.is_nan() {
                    default
                } else {
                    s.clamp(f.min, f.max)
                }
            })
            .collect();
        let mut betas: Vec<f64> =
            (0..constraints.len()).map(|s| warm.betas.get(s).copied().unwrap_or(0.0).max(0.0)).collect();
        let mut slope_adam = Adam::new(families.len(), SLOPE_RATE);
        let mut beta_adam = Adam::new(betas.len(), BETA_RATE);
        let mut best: Option<(LinearBound, Vec<Vec<f64>>)> = None;
        let (mut best_slopes, mut best_betas) = (slopes.clone(), betas.clone());
        // The pre-activations the gradient reads (see `relaxed_forward`).
        let mut need: Vec<Vec<bool>> = net.layers().iter().map(|l| vec![false; l.output_dim()]).collect();
        for (layer, neuron) in
            families.iter().map(|f| (f.layer, f.neuron)).chain(constraints.iter().map(|k| (k.layer, k.neuron)))
        {
            need[layer][neuron] = true;
        }
        let mut slope_grad = vec![0.0; families.len()];
        let mut beta_grad = vec![0.0; betas.len()];
        for iteration in 0..=iterations {
            for (f, &s) in families.iter().zip(&slopes) {
                let lines = &mut below.lines[f.layer];
                let (slope, intercept) = if f.lower {
                    (&mut lines.lower_slope, &mut lines.lower_intercept)
                } else {
                    (&mut lines.upper_slope, &mut lines.upper_intercept)
                };
                slope[f.neuron] = s;
                intercept[f.neuron] = f.value - s * f.at;
            }
            let extra: Vec<(usize, usize, f64, f64)> = constraints
                .iter()
                .zip(&betas)
                .filter(|(_, b)| **b > 0.0)
                .map(|(k, b)| (k.layer, k.neuron, -b * k.side, k.at))
                .collect();
            let mut trace = vec![Vec::new(); n_layers];
            let (value, rows) = substitute_objective(&below, c, Some(&mut trace), &extra);
            let bound = padded(below.input, value, rows);
            if best.as_ref().is_none_or(|(b, _)| bound.lower > b.lower) {
                best_slopes.clone_from(&slopes);
                best_betas.clone_from(&betas);
                best = Some((bound.clone(), trace.clone()));
            }
            let done = iteration == iterations || bound.lower > threshold;
            if done || (families.is_empty() && constraints.is_empty()) || past(deadline) {
                break;
            }
            // Forward through the lines in use from the minimising corner.
            let x: Vec<f64> = (0..bound.coeffs.len())
                .map(|i| if bound.coeffs[i] > 0.0 { below.input.lower[i] } else { below.input.upper[i] })
                .collect();
            // The free lines are set in `below.lines` itself (above).
            let pre = relaxed_forward(&below, x, &need, |j| {
                let n = trace[j].len();
                let (mut slopes, mut intercepts) = (vec![0.0; n], vec![0.0; n]);
                below.lines_in_use(j, &trace[j], &[], &mut slopes, &mut intercepts);
                slopes.into_iter().zip(intercepts).collect()
            });
            for (g, f) in slope_grad.iter_mut().zip(&families) {
                let a = trace[f.layer][f.neuron];
                *g = if f.in_use(a) { a * (pre[f.layer][f.neuron] - f.at) } else { 0.0 };
            }
            for (g, k) in beta_grad.iter_mut().zip(constraints) {
                *g = -k.side * (pre[k.layer][k.neuron] - k.at);
            }
            slope_adam.step(&mut slopes, &slope_grad, |i| families[i].min, |i| families[i].max);
            beta_adam.step(&mut betas, &beta_grad, |_| 0.0, |_| f64::INFINITY);
        }
        for (f, &s) in families.iter().zip(&best_slopes) {
            let layer = &mut warm.slopes[f.layer];
            if layer.len() <= f.neuron {
                layer.resize(net.layers()[f.layer].output_dim(), f64::NAN);
            }
            layer[f.neuron] = s;
        }
        warm.betas = best_betas;
        best.expect("at least one iteration runs")
    }
}

/// The pre-activations of layers `0..need.len()` when `x` goes forward
/// through the lines `lines(j)` of each layer `j` (`(slope, intercept)` per
/// neuron; for the gradient of a bound, the lines its substitution used).
///
/// Only the values the gradient reads are exact: a neuron whose line in use
/// is flat (an inactive ReLU: most of an MNIST network's neurons) passes on
/// its intercept whatever its input, so its pre-activation is computed only
/// when `need[j][i]` (it is 0 otherwise), and the zero outputs are skipped in
/// the next layer's sums. On MNIST-FC this cuts the pass several-fold.
pub(super) fn relaxed_forward(
    below: &super::Below,
    x: Vec<f64>,
    need: &[Vec<bool>],
    lines: impl Fn(usize) -> Vec<(f64, f64)>,
) -> Vec<Vec<f64>> {
    let mut y = x;
    let mut pre = Vec::with_capacity(need.len());
    let mut dots: Vec<f64> = Vec::new();
    for (j, layer) in below.net.layers().iter().enumerate().take(need.len()) {
        let lines = lines(j);
        let (w, bias) = (&layer.affine.weights, &layer.affine.bias);
        let computed: Vec<usize> = (0..w.rows()).filter(|&i| lines[i].0 != 0.0 || need[j][i]).collect();
        dots.clear();
        dots.resize(computed.len(), 0.0);
        match w.dense() {
            Some(d) => dot_rows(&mut dots, d, &computed, &y),
            None => computed.iter().zip(dots.iter_mut()).for_each(|(&i, d)| *d = w.row(i).dot(&y)),
        }
        let mut z = vec![0.0; w.rows()];
        for (&i, d) in computed.iter().zip(&dots) {
            z[i] = d + bias[i];
        }
        y = lines.iter().zip(&z).map(|(&(slope, intercept), z)| slope * z + intercept).collect();
        pre.push(z);
    }
    pre
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::symbolic::compute;
    use crate::bounds::tests::{deep_network, random_box, random_objective, sample};
    use crate::model::{Activation, Network};
    use crate::rng::Rng;
    use crate::spec::InputBox;
    use crate::testutil::{self, layer};

    /// Random networks of every activation kind: the optimised bound and its
    /// linear function stay below `c·y` at every sampled input, never fall
    /// below the fixed-line bound, and beat it on a good share of the cases.
    #[test]
    fn optimised_bounds_are_sound_and_beat_the_fixed_lines() {
        let mut rng = Rng::new(77);
        let (mut cases, mut improved) = (0, 0);
        for t in 0..200 {
            let net = if t % 2 == 0 { testutil::random_network(&mut rng, 6) } else { deep_network(&mut rng, t) };
            let input = random_box(&mut rng, net.input_dim());
            let nb = compute(&net, &input);
            let sub = Substitution::new(&net, &input, &nb);
            let c = random_objective(&mut rng, &net);
            let plain = sub.linear_bound(&c).lower;
            let (lb, _) = sub.optimised_bound(&c, &[], &mut Warm::default(), 30, f64::INFINITY);
            assert!(lb.lower >= plain, "{} below the fixed-line {plain}", lb.lower);
            cases += 1;
            improved += usize::from(lb.lower > plain + 1e-6 * (1.0 + plain.abs()));
            for x in sample(&mut rng, &input, 300) {
                let y = net.forward(&x);
                let v: f64 = c.iter().map(|&(k, w)| w * y[k]).sum();
                assert!(lb.lower <= v + 1e-9 * (1.0 + v.abs()), "bound {} above sampled {v}", lb.lower);
                let f: f64 = lb.constant + lb.coeffs.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>();
                assert!(f <= v + 1e-9 * (1.0 + v.abs()), "linear function {f} above {v}");
            }
        }
        assert!(improved * 5 > cases, "improved {improved} of {cases}");
    }

    /// `relu(x) - 0.5 relu(x + 1)` on `[-1, 2]` (the second neuron is
    /// stable, `x + 1`): with the lower line `s x` for the first, the bound
    /// is `min (s - 0.5) x - 0.5`, `-1` for the area rule's `s = 1` and the
    /// exact minimum `-0.5` at `s = 0.5`. The steps get close to it, and a
    /// warm start keeps it.
    #[test]
    fn finds_the_best_lower_line_of_one_relu() {
        let net = Network::new(vec![
            layer(2, 1, &[1.0, 1.0], &[0.0, 1.0], Activation::Relu),
            layer(1, 2, &[1.0, -0.5], &[0.0], Activation::Identity),
        ])
        .unwrap();
        let input = InputBox::new(vec![-1.0], vec![2.0]).unwrap();
        let nb = compute(&net, &input);
        let sub = Substitution::new(&net, &input, &nb);
        assert!((sub.linear_bound(&[(0, 1.0)]).lower + 1.0).abs() < 1e-6);
        let mut warm = Warm::default();
        let (lb, _) = sub.optimised_bound(&[(0, 1.0)], &[], &mut warm, 40, f64::INFINITY);
        assert!(lb.lower > -0.52 && lb.lower <= -0.5 + 1e-9, "{}", lb.lower);
        let (again, _) = sub.optimised_bound(&[(0, 1.0)], &[], &mut warm, 0, f64::INFINITY);
        assert_eq!(again.lower, lb.lower);
    }

    /// `relu(x)` on `[-1, 1]` under the constraint `x >= 0.5` (the
    /// pre-activation is `x`): at least 0.5 on the constrained set, while the
    /// bound without the multiplier is at most 0; with it the steps get
    /// close to 0.5.
    #[test]
    fn multipliers_use_the_constraints() {
        let net = Network::new(vec![
            layer(1, 1, &[1.0], &[0.0], Activation::Relu),
            layer(1, 1, &[1.0], &[0.0], Activation::Identity),
        ])
        .unwrap();
        let input = InputBox::new(vec![-1.0], vec![1.0]).unwrap();
        let nb = compute(&net, &input);
        let sub = Substitution::new(&net, &input, &nb);
        let k = Constraint { layer: 0, neuron: 0, side: 1.0, at: 0.5 };
        let plain = sub.linear_bound(&[(0, 1.0)]).lower;
        assert!(plain <= 0.0);
        let (lb, _) = sub.optimised_bound(&[(0, 1.0)], &[k], &mut Warm::default(), 200, f64::INFINITY);
        assert!(lb.lower > 0.4 && lb.lower <= 0.5 + 1e-9, "{}", lb.lower);
    }
}
