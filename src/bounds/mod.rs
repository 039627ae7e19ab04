//! Bounds on every neuron's pre-activation over an input box.
//!
//! The MILP's big-M constants and its number of binaries come from these
//! bounds: a neuron whose pre-activation interval `[l, u]` does not contain a
//! kink is *stable* and needs no binary, and a tight `[l, u]` gives a tight
//! LP relaxation. Each method lives in its own file and returns the same
//! [`NetworkBounds`]; all are sound over-approximations (tests sample inputs
//! and check that every neuron's value lies inside).
//!
//! The methods, from cheapest to tightest ([`BoundMethod`]):
//!
//! * [`interval`]: interval arithmetic, layer by layer;
//! * [`symbolic`]: linear relaxations back-substituted to the input
//!   (DeepPoly / CROWN), intersected with interval bounds; also bounds any
//!   linear function of the outputs directly ([`symbolic::bound_linear`]);
//! * [`optimised`]: symbolic bounds with the relaxation lines chosen per
//!   unstable neuron and side by gradient steps (alpha-CROWN), layer by
//!   layer;
//! * LP tightening ([`BoundMethod::Lp`]): optimised bounds, then one LP per
//!   unstable neuron and side over the triangle relaxation of the earlier
//!   layers, solved with HiGHS. It lives beside the MILP it solves
//!   (`milp::lp_bounds`), and `search::bounds` picks a method by name, so
//!   this module never depends on the solver.
//!
//! Deadlines: on a large network any of these but interval arithmetic (one
//! pass over the weights) can take seconds, so each method takes the
//! run's deadline and each method polls it between steps of bounded cost (a
//! level of back-substitution, a neuron's optimisation, an LP). Past it, the
//! computation stops and returns [`Expired`] instead of bounds: bounds cut
//! short are incomplete (layers missing, or not yet intersected), so none is
//! ever handed on to prove anything, and the search answers "unknown".

pub mod interval;
pub mod optimised;
pub mod symbolic;

use std::time::Instant;

use crate::model::Network;
use crate::spec::InputBox;

/// A computation stopped at its deadline before it finished. What it had
/// computed so far is dropped: the caller gets this marker instead, and a
/// verification run answers "unknown" (time limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired;

/// `true` once `deadline` has passed, or once the running checks are
/// cancelled ([`crate::cancel`]); never without a deadline (computations
/// run without one are the short ones that may not expire).
pub fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d || crate::cancel::requested())
}

/// `Err(Expired)` once `deadline` has passed.
pub(crate) fn poll(deadline: Option<Instant>) -> Result<(), Expired> {
    if past(deadline) {
        return Err(Expired);
    }
    Ok(())
}

/// The result of a computation run without a deadline, which cannot expire.
pub(crate) fn unlimited<T>(r: Result<T, Expired>) -> T {
    match r {
        Ok(t) => t,
        Err(Expired) => unreachable!("a computation without a deadline expired"),
    }
}

/// Lower and upper bounds for the neurons of one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// Lower bounds, one per neuron.
    pub lower: Vec<f64>,
    /// Upper bounds, one per neuron.
    pub upper: Vec<f64>,
}

impl Bounds {
    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    /// `true` for a layer of zero neurons.
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// The intersection with `other`, neuron by neuron (both must be sound).
    pub fn intersect(&self, other: &Bounds) -> Bounds {
        Bounds {
            lower: self.lower.iter().zip(&other.lower).map(|(a, b)| a.max(*b)).collect(),
            upper: self.upper.iter().zip(&other.upper).map(|(a, b)| a.min(*b)).collect(),
        }
    }

    /// Widen to hold `other` too, neuron by neuron.
    pub fn widen_to(&mut self, other: &Bounds) {
        for (a, b) in self.lower.iter_mut().zip(&other.lower) {
            *a = a.min(*b);
        }
        for (a, b) in self.upper.iter_mut().zip(&other.upper) {
            *a = a.max(*b);
        }
    }
}

/// Pre-activation bounds for every layer of a network, in layer order. The
/// last entry bounds the network output (its activation is the identity).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkBounds {
    /// One [`Bounds`] per layer.
    pub layers: Vec<Bounds>,
}

impl NetworkBounds {
    /// Bounds on the network output.
    pub fn output(&self) -> &Bounds {
        self.layers.last().expect("bounds of a network with no layer")
    }

    /// Widen to hold `other` (bounds of the same network) too: the bounds
    /// of the union of the boxes the two bound.
    pub fn widen_to(&mut self, other: &NetworkBounds) {
        for (a, b) in self.layers.iter_mut().zip(&other.layers) {
            a.widen_to(b);
        }
    }

    /// Count neurons with a kink strictly inside `(l, u)`: the ones a MILP
    /// must branch on.
    pub fn unstable_count(&self, net: &Network) -> usize {
        net.layers()
            .iter()
            .zip(&self.layers)
            .map(|(layer, b)| (0..b.len()).filter(|&i| layer.activation.is_unstable(i, b.lower[i], b.upper[i])).count())
            .sum()
    }
}

/// `a.intersect(b)`, with any pair that rounding has crossed (`l > u`)
/// swapped back: both inputs are sound, so the true value lies within
/// rounding of both ends, and a crossed pair would make an encoding
/// infeasible, a false proof.
pub(crate) fn intersect_uncrossed(a: &Bounds, b: &Bounds) -> Bounds {
    let mut r = a.intersect(b);
    uncross(&mut r);
    r
}

/// Bounds of every layer of `net` over `input`, one layer at a time: the
/// symbolic bounds of layer `k` from the final bounds of the layers below
/// (so every improvement sharpens what is built on it), which `tighten`
/// then improves in place given those layers.
///
/// The adaptive relaxations make symbolic bounds non-monotone in the
/// bounds below (tighter bounds can flip a lower-line choice), so each
/// layer is also intersected with the plain symbolic bounds: the result is
/// never looser than those.
///
/// [`Expired`] once `deadline` passes (polled by the symbolic bounds at
/// every level, and by `tighten`, which returns it too).
pub(crate) fn layer_by_layer(
    net: &Network,
    input: &InputBox,
    deadline: Option<Instant>,
    mut tighten: impl FnMut(&[Bounds], &mut Bounds) -> Result<(), Expired>,
) -> Result<NetworkBounds, Expired> {
    let plain = symbolic::compute_before(net, input, deadline)?;
    let mut layers: Vec<Bounds> = Vec::with_capacity(net.layers().len());
    for plain_k in &plain.layers {
        let mut b = intersect_uncrossed(&symbolic::layer_bounds_before(net, input, &layers, deadline)?, plain_k);
        // Layer 0's bounds are exact already (an affine map of a box).
        if !layers.is_empty() {
            tighten(&layers, &mut b)?;
        }
        layers.push(b);
    }
    Ok(NetworkBounds { layers })
}

/// The network cut after layer `k`, with layer `k`'s activation dropped:
/// its outputs are layer `k`'s pre-activations (what the per-neuron
/// tightenings bound). `None` cannot happen for a layer of a valid network.
pub(crate) fn prefix(net: &Network, k: usize) -> Option<Network> {
    let mut layers = net.layers()[..=k].to_vec();
    layers[k].activation = crate::model::Activation::Identity;
    Network::new(layers).ok()
}

/// Swap back any pair `l > u` (see [`intersect_uncrossed`]).
pub(crate) fn uncross(b: &mut Bounds) {
    for (l, u) in b.lower.iter_mut().zip(b.upper.iter_mut()) {
        if *l > *u {
            std::mem::swap(l, u);
        }
    }
}

/// Which bounding method to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundMethod {
    /// Interval arithmetic, layer by layer.
    Interval,
    /// Back-substituted linear relaxations, intersected with interval bounds.
    Symbolic,
    /// Symbolic bounds with the relaxation lines optimised per unstable
    /// neuron and side, layer by layer.
    Optimised,
    /// Optimised bounds tightened by one LP per unstable neuron and side.
    Lp,
}

impl BoundMethod {
    /// Every method, from cheapest to tightest.
    pub const ALL: [BoundMethod; 4] =
        [BoundMethod::Interval, BoundMethod::Symbolic, BoundMethod::Optimised, BoundMethod::Lp];

    /// The name used by the command line and the reports.
    pub fn name(self) -> &'static str {
        match self {
            BoundMethod::Interval => "interval",
            BoundMethod::Symbolic => "symbolic",
            BoundMethod::Optimised => "optimised",
            BoundMethod::Lp => "lp",
        }
    }
}

/// How the neurons of one layer behave over the whole input box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerCounts {
    /// Stable on a piece of nonzero slope: the neuron passes a linear
    /// function of its input on (ReLU with `l >= 0`, Leaky on either piece,
    /// Clip between its levels, every identity neuron).
    pub active: usize,
    /// Stable on a constant piece: the output is the same for the whole box
    /// (ReLU with `u <= 0`, Clip saturated at `lo` or at `hi`, Leaky with
    /// slope 0 and `u <= 0`).
    pub inactive: usize,
    /// A kink lies strictly inside `(l, u)`: the MILP needs a binary.
    pub unstable: usize,
}

/// Per layer, how many neurons are active, inactive or unstable under
/// `bounds` (see [`LayerCounts`]).
pub fn layer_report(net: &Network, bounds: &NetworkBounds) -> Vec<LayerCounts> {
    net.layers()
        .iter()
        .zip(&bounds.layers)
        .map(|(layer, b)| {
            let act = &layer.activation;
            let mut counts = LayerCounts::default();
            for i in 0..b.len() {
                let (l, u) = (b.lower[i], b.upper[i]);
                if act.is_unstable(i, l, u) {
                    counts.unstable += 1;
                } else if act.slope(i, interior_point(l, u)) == 0.0 {
                    counts.inactive += 1;
                } else {
                    counts.active += 1;
                }
            }
            counts
        })
        .collect()
}

/// A point of `[l, u]` (the midpoint when both are finite, a finite point in
/// any case), to read off the piece a stable neuron is on.
pub(crate) fn interior_point(l: f64, u: f64) -> f64 {
    match (l.is_finite(), u.is_finite()) {
        (true, true) => 0.5 * (l + u),
        (true, false) => l + 1.0,
        (false, true) => u - 1.0,
        (false, false) => 0.0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Helpers shared by the tests of every bounding method.

    use super::*;
    use crate::model::{Activation, Layer};
    use crate::rng::Rng;
    use crate::testutil;

    /// A random box inside `[-1, 1]^n`.
    pub fn random_box(rng: &mut Rng, n: usize) -> InputBox {
        let (lower, upper) = (0..n)
            .map(|_| {
                let (a, b) = (rng.range(-1.0, 1.0), rng.range(-1.0, 1.0));
                (a.min(b), a.max(b))
            })
            .unzip();
        InputBox::new(lower, upper).unwrap()
    }

    /// A random objective `c·y` over `net`'s outputs, coefficients in `[-1, 1]`.
    pub fn random_objective(rng: &mut Rng, net: &Network) -> Vec<(usize, f64)> {
        (0..net.output_dim()).map(|k| (k, rng.range(-1.0, 1.0))).collect()
    }

    /// `count` points of the box: its corners first (up to 16), then uniform samples.
    pub fn sample(rng: &mut Rng, input: &InputBox, count: usize) -> Vec<Vec<f64>> {
        let n = input.dim();
        let corners = (0..(1usize << n.min(4)))
            .map(|m| (0..n).map(|i| if i < 4 && m >> i & 1 == 1 { input.upper[i] } else { input.lower[i] }).collect());
        let uniform: Vec<Vec<f64>> =
            (0..count).map(|_| (0..n).map(|i| rng.range(input.lower[i], input.upper[i])).collect()).collect();
        corners.chain(uniform).collect()
    }

    /// A deeper network than `testutil::random_network` makes: 3-6 hidden
    /// layers of 3-10 neurons, the activation family picked by `t` (so a
    /// loop over `t` covers every kind, including Leaky slopes above 1 and
    /// negative, and Clip with an infinite side), weights scaled by
    /// `1 / sqrt(fan_in)` so values neither vanish nor explode.
    pub fn deep_network(rng: &mut Rng, t: usize) -> Network {
        let kind = t % 8;
        let act = |rng: &mut Rng, n: usize| match kind {
            0 => Activation::Relu,
            1 => Activation::Leaky { slopes: vec![rng.range(0.0, 0.5); n] },
            2 => Activation::Leaky { slopes: (0..n).map(|_| rng.range(-1.0, 1.0)).collect() },
            3 => Activation::Leaky { slopes: (0..n).map(|_| rng.range(1.2, 3.0)).collect() },
            4 => Activation::Clip { lo: 0.0, hi: rng.range(0.2, 1.0) },
            5 => Activation::Clip { lo: -0.5, hi: 0.5 },
            6 => {
                if rng.below(2) == 0 {
                    Activation::Clip { lo: rng.range(-0.5, 0.0), hi: f64::INFINITY }
                } else {
                    Activation::Clip { lo: f64::NEG_INFINITY, hi: rng.range(0.0, 0.5) }
                }
            }
            _ => {
                [Activation::Relu, Activation::Leaky { slopes: vec![-0.3; n] }, Activation::Clip { lo: -0.4, hi: 0.3 }]
                    [rng.below(3)]
                .clone()
            }
        };
        let mut dim = 2 + rng.below(4);
        let hidden = 3 + rng.below(4);
        let mut layers: Vec<Layer> = Vec::new();
        for k in 0..=hidden {
            let out = if k == hidden { 1 + rng.below(3) } else { 3 + rng.below(8) };
            let scale = 2.0 / (dim as f64).sqrt();
            let w: Vec<f64> = (0..out * dim).map(|_| scale * rng.range(-1.0, 1.0)).collect();
            let b: Vec<f64> = (0..out).map(|_| rng.range(-0.3, 0.3)).collect();
            let a = if k == hidden { Activation::Identity } else { act(rng, out) };
            layers.push(testutil::layer(out, dim, &w, &b, a));
            dim = out;
        }
        Network::new(layers).unwrap()
    }

    /// Every sampled pre-activation lies inside `nb` (tolerance 1e-9,
    /// relative to the value's size).
    pub fn assert_sound(net: &Network, input: &InputBox, nb: &NetworkBounds, rng: &mut Rng, count: usize) {
        assert_eq!(nb.layers.len(), net.layers().len());
        for x in sample(rng, input, count) {
            for (k, (z, b)) in net.forward_pre_activations(&x).iter().zip(&nb.layers).enumerate() {
                for (i, &v) in z.iter().enumerate() {
                    let tol = 1e-9 * (1.0 + v.abs());
                    assert!(
                        b.lower[i] <= v + tol && v <= b.upper[i] + tol,
                        "layer {k} neuron {i}: {v} outside [{}, {}] at {x:?}",
                        b.lower[i],
                        b.upper[i]
                    );
                }
            }
        }
    }

    /// On `cases` random networks of every activation kind (from `seed`):
    /// `method`'s bounds are sound at sampled inputs and never looser than
    /// the symbolic bounds. Returns the summed widths (symbolic, method), so
    /// that the caller can assert how much tighter the method is.
    pub fn assert_sound_inside_symbolic(
        seed: u64,
        cases: usize,
        method: impl Fn(&Network, &InputBox) -> NetworkBounds,
    ) -> (f64, f64) {
        let mut rng = Rng::new(seed);
        let (mut width_sym, mut width) = (0.0, 0.0);
        for t in 0..cases {
            let net = if t % 2 == 0 { testutil::random_network(&mut rng, 6) } else { deep_network(&mut rng, t) };
            let input = random_box(&mut rng, net.input_dim());
            let sym = symbolic::compute(&net, &input);
            let nb = method(&net, &input);
            assert_sound(&net, &input, &nb, &mut rng, 300);
            for (bs, bm) in sym.layers.iter().zip(&nb.layers) {
                for i in 0..bs.len() {
                    assert!(bm.lower[i] >= bs.lower[i] && bm.upper[i] <= bs.upper[i], "bound outside symbolic");
                    width_sym += bs.upper[i] - bs.lower[i];
                    width += bm.upper[i] - bm.lower[i];
                }
            }
        }
        (width_sym, width)
    }

    #[test]
    fn interval_is_sound() {
        let mut rng = Rng::new(1);
        for t in 0..60 {
            let net = if t % 2 == 0 { testutil::random_network(&mut rng, 6) } else { deep_network(&mut rng, t) };
            let input = random_box(&mut rng, net.input_dim());
            assert_sound(&net, &input, &interval::compute(&net, &input), &mut rng, 200);
        }
    }

    #[test]
    fn layer_report_counts_each_case() {
        // One neuron per layer through `single_neuron`: x in [lo, hi].
        let count = |act: Activation, lo: f64, hi: f64| {
            let net = testutil::single_neuron(act);
            let input = InputBox::new(vec![lo], vec![hi]).unwrap();
            let report = layer_report(&net, &interval::compute(&net, &input));
            assert_eq!(report[1], LayerCounts { active: 1, inactive: 0, unstable: 0 }, "identity output");
            report[0]
        };
        let (active, inactive, unstable) = (
            LayerCounts { active: 1, ..LayerCounts::default() },
            LayerCounts { inactive: 1, ..LayerCounts::default() },
            LayerCounts { unstable: 1, ..LayerCounts::default() },
        );
        assert_eq!(count(Activation::Relu, 0.5, 1.0), active);
        assert_eq!(count(Activation::Relu, -1.0, 0.0), inactive);
        assert_eq!(count(Activation::Relu, -1.0, 1.0), unstable);
        assert_eq!(count(Activation::Leaky { slopes: vec![0.1] }, -1.0, -0.5), active);
        assert_eq!(count(Activation::Clip { lo: 0.0, hi: 6.0 }, 7.0, 8.0), inactive);
        assert_eq!(count(Activation::Clip { lo: 0.0, hi: 6.0 }, 1.0, 2.0), active);
        assert_eq!(count(Activation::Clip { lo: 0.0, hi: 6.0 }, -1.0, 8.0), unstable);
    }
}
