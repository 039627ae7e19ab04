//! Test support: tiny networks built in code, random network and property
//! generators, an exact reference verifier that shares nothing with the
//! MILP encoding, and the soak ([`soak`]) that compares the whole search
//! with the reference on thousands of random cases (`make soak`).
//!
//! The reference enumerates activation patterns: it walks the neurons in
//! order, and for every linear piece an activation can be on (ReLU: 2, Leaky:
//! 2, Clip: up to 3) adds that piece's input constraint and output formula,
//! pruning patterns whose input polytope is empty (one LP each). At a leaf
//! the output is an affine function of the input, and one LP gives the least
//! violation margin of each unsafe disjunct. A region's linear input
//! constraints are rows of every one of these LPs from the start.

use std::time::{Duration, Instant};

use crate::bounds::{interval, BoundMethod};
use crate::margins::UNSAFE_RELAX;
use crate::milp::highs::Highs;
use crate::milp::{Limits, Milp, MilpSolver, SolveStatus, VarId};
use crate::model::{Activation, Affine, Layer, Matrix, Network};
use crate::rng::Rng;
use crate::search::cross_check::{cross_check, CrossCheck};
use crate::search::verify;
use crate::settings::{Settings, Strategy};
use crate::spec::{Conjunction, Dnf, InputBox, LinearConstraint, Property, Region};
use crate::verdict::{check_witness, ProofMethod, Verdict};

/// `y = act(x)` for one input and one neuron, then the identity.
pub fn single_neuron(act: Activation) -> Network {
    Network::new(vec![
        Layer { affine: Affine { weights: Matrix::new(1, 1, vec![1.0]).unwrap(), bias: vec![0.0] }, activation: act },
        Layer {
            affine: Affine { weights: Matrix::new(1, 1, vec![1.0]).unwrap(), bias: vec![0.0] },
            activation: Activation::Identity,
        },
    ])
    .unwrap()
}

/// A dense layer from row-major weights.
pub fn layer(rows: usize, cols: usize, w: &[f64], b: &[f64], activation: Activation) -> Layer {
    Layer { affine: Affine { weights: Matrix::new(rows, cols, w.to_vec()).unwrap(), bias: b.to_vec() }, activation }
}

/// A row `c·y <= rhs` as `(sparse c, rhs)`.
pub type Row<'a> = (&'a [(usize, f64)], f64);

/// A one-region property: unsafe if any of `disjuncts` (lists of
/// `(coeffs, rhs)` rows `c·y <= rhs`) holds for some `x` in the box.
pub fn property(lower: &[f64], upper: &[f64], disjuncts: &[&[Row<'_>]]) -> Property {
    Property::new(vec![Region {
        input: InputBox::new(lower.to_vec(), upper.to_vec()).unwrap(),
        input_constraints: Vec::new(),
        unsafe_set: Dnf {
            disjuncts: disjuncts
                .iter()
                .map(|rows| Conjunction {
                    constraints: rows
                        .iter()
                        .map(|(c, rhs)| LinearConstraint { coeffs: c.to_vec(), rhs: *rhs })
                        .collect(),
                })
                .collect(),
        },
    }])
}

/// A random activation for a layer of `n` neurons.
fn random_activation(rng: &mut Rng, n: usize) -> Activation {
    match rng.below(5) {
        0 | 1 => Activation::Relu,
        2 => Activation::Leaky { slopes: vec![rng.range(0.01, 0.5); n] },
        // PReLU: one slope per neuron, some negative.
        3 => Activation::Leaky { slopes: (0..n).map(|_| rng.range(-0.5, 0.8)).collect() },
        _ => match rng.below(3) {
            0 => Activation::Clip { lo: 0.0, hi: rng.range(0.3, 1.5) },
            1 => Activation::Clip { lo: -1.0, hi: 1.0 },
            _ => Activation::Clip { lo: rng.range(-1.0, 0.0), hi: f64::INFINITY },
        },
    }
}

/// Random dense layers from `inputs` inputs: `hidden` layers of `width(rng)`
/// neurons with activation `act(rng, n)`, then an identity layer of 1-3
/// outputs; weights uniform in `[-scale, scale]`, biases in `[-0.5, 0.5]`.
fn random_layers(
    rng: &mut Rng,
    inputs: usize,
    hidden: usize,
    scale: f64,
    mut width: impl FnMut(&mut Rng) -> usize,
    mut act: impl FnMut(&mut Rng, usize) -> Activation,
) -> Network {
    let mut dim = inputs;
    let mut layers = Vec::new();
    for k in 0..=hidden {
        let out = if k == hidden { 1 + rng.below(3) } else { width(rng) };
        let w: Vec<f64> = (0..out * dim).map(|_| rng.range(-scale, scale)).collect();
        let b: Vec<f64> = (0..out).map(|_| rng.range(-0.5, 0.5)).collect();
        let a = if k == hidden { Activation::Identity } else { act(rng, out) };
        layers.push(layer(out, dim, &w, &b, a));
        dim = out;
    }
    Network::new(layers).unwrap()
}

/// A random network: 2-4 inputs, 1-3 hidden layers of 2-`max_width`
/// neurons with random activation kinds, 1-3 outputs.
pub fn random_network(rng: &mut Rng, max_width: usize) -> Network {
    let inputs = 2 + rng.below(3);
    random_network_on(rng, inputs, max_width)
}

/// Like [`random_network`], with `inputs` inputs.
pub fn random_network_on(rng: &mut Rng, inputs: usize, max_width: usize) -> Network {
    let hidden = 1 + rng.below(3);
    random_layers(rng, inputs, hidden, 1.0, |rng| 2 + rng.below(max_width - 1), random_activation)
}

/// A random box inside `[-1, 1]^n`.
fn random_box(rng: &mut Rng, n: usize) -> InputBox {
    let (mut lower, mut upper) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let a = rng.range(-1.0, 1.0);
        let b = rng.range(-1.0, 1.0);
        lower.push(a.min(b));
        upper.push(a.max(b));
    }
    InputBox::new(lower, upper).unwrap()
}

/// The outputs of `net` at 50 uniform points of `input`.
fn sample_outputs(rng: &mut Rng, net: &Network, input: &InputBox) -> Vec<Vec<f64>> {
    (0..50)
        .map(|_| {
            let x: Vec<f64> = (0..input.dim()).map(|i| rng.range(input.lower[i], input.upper[i])).collect();
            net.forward(&x)
        })
        .collect()
}

/// A random row `c·y <= rhs` over `m` outputs, with `rhs` placed around
/// the values `c·y` takes on `samples` so that both verdicts occur: below
/// their minimum `lo` by `(spread of the values + 0.1) x t`, `t` uniform in
/// `place` (negative `t`: above the minimum).
fn random_row(rng: &mut Rng, m: usize, samples: &[Vec<f64>], place: (f64, f64)) -> LinearConstraint {
    let coeffs: Vec<(usize, f64)> = (0..m).map(|k| (k, rng.range(-1.0, 1.0))).collect();
    let vals: Vec<f64> = samples.iter().map(|y| coeffs.iter().map(|&(k, c)| c * y[k]).sum()).collect();
    let lo = vals.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    LinearConstraint { coeffs, rhs: lo - (hi - lo + 0.1) * rng.range(place.0, place.1) }
}

/// A DNF of `disjuncts` conjunctions of `rows(rng)` random rows each,
/// placed by `place` (see [`random_row`]).
fn random_dnf(
    rng: &mut Rng,
    (m, samples, place): (usize, &[Vec<f64>], (f64, f64)),
    disjuncts: usize,
    mut rows: impl FnMut(&mut Rng) -> usize,
) -> Dnf {
    Dnf {
        disjuncts: (0..disjuncts)
            .map(|_| Conjunction { constraints: (0..rows(rng)).map(|_| random_row(rng, m, samples, place)).collect() })
            .collect(),
    }
}

/// A random property for `net`: a box inside `[-1, 1]^n` and 1-2 disjuncts
/// of 1-2 random rows, with right-hand sides placed around sampled output
/// values so that both verdicts occur.
pub fn random_property(rng: &mut Rng, net: &Network) -> Property {
    let input = random_box(rng, net.input_dim());
    let samples = sample_outputs(rng, net, &input);
    let disjuncts = 1 + rng.below(2);
    let unsafe_set = random_dnf(rng, (net.output_dim(), &samples, (-0.1, 0.5)), disjuncts, |rng| 1 + rng.below(2));
    Property::new(vec![Region::boxed(input, unsafe_set)])
}

/// A random network of any shape the soak covers: every activation kind
/// (ReLU, Leaky, PReLU with negative slopes, slopes 0 and 1, Clip / ReLU6 /
/// hard-tanh / one-sided clips, identity hidden layers), 1-4 inputs;
/// shallow-wide or deep-narrow; sometimes with degenerate neurons (zero
/// rows, constant neurons, duplicated neurons).
pub fn soak_network(rng: &mut Rng) -> Network {
    let act = |rng: &mut Rng, n: usize| match rng.below(8) {
        0 => Activation::Identity,
        1 => Activation::Leaky { slopes: vec![[0.0, 1.0, -1.0][rng.below(3)]; n] },
        2 => Activation::Clip { lo: 0.0, hi: 6.0 * rng.range(0.05, 0.3) },
        3 => Activation::Clip { lo: f64::NEG_INFINITY, hi: rng.range(-0.5, 0.5) },
        _ => random_activation(rng, n),
    };
    let net = if rng.below(5) == 0 {
        // Deep and narrow: 4-12 hidden layers of 2-3 neurons on 1-2 inputs,
        // weights up to 1.5 so that values neither vanish nor explode.
        let (inputs, hidden) = (1 + rng.below(2), 4 + rng.below(9));
        random_layers(rng, inputs, hidden, 1.5, |rng| 2 + rng.below(2), act)
    } else {
        let (inputs, hidden) = (1 + rng.below(4), 1 + rng.below(3));
        let max_width = [3, 5, 7][rng.below(3)];
        random_layers(rng, inputs, hidden, 1.0, |rng| 2 + rng.below(max_width - 1), act)
    };
    if rng.below(4) == 0 {
        degenerate(rng, &net)
    } else {
        net
    }
}

/// `net` with some hidden neurons made degenerate: a zero row (with zero
/// or nonzero bias: a neuron fixed at `act(b)`, bounds `l = u`), or a copy of
/// the neuron above it (two identical neurons, as pruned or merged models
/// have).
fn degenerate(rng: &mut Rng, net: &Network) -> Network {
    let mut layers = net.layers().to_vec();
    let last = layers.len() - 1;
    for l in &mut layers[..last] {
        let (rows, cols) = (l.affine.weights.rows(), l.affine.weights.cols());
        let mut w = l.affine.weights.to_dense_data();
        for i in 0..rows {
            match rng.below(4) {
                0 => {
                    w[i * cols..(i + 1) * cols].iter_mut().for_each(|v| *v = 0.0);
                    l.affine.bias[i] = [0.0, rng.range(-0.5, 0.5)][rng.below(2)];
                }
                1 if i > 0 => {
                    w.copy_within((i - 1) * cols..i * cols, i * cols);
                    l.affine.bias[i] = l.affine.bias[i - 1];
                    if let Activation::Leaky { slopes } = &mut l.activation {
                        slopes[i] = slopes[i - 1];
                    }
                }
                _ => {}
            }
        }
        l.affine.weights = Matrix::new(rows, cols, w).unwrap();
    }
    Network::new(layers).unwrap()
}

/// A random property of any shape the soak covers: 1-3 regions, each a box
/// inside `[-1, 1]^n` (sometimes with `lower == upper` on some or all
/// inputs) with an unsafe set that is one row, a conjunction of 2-3 rows, or
/// a DNF of 2-3 conjunctions of 1-2 rows.
pub fn soak_property(rng: &mut Rng, net: &Network) -> Property {
    let regions = [1, 1, 2, 3][rng.below(4)];
    let regions = (0..regions)
        .map(|_| {
            let mut input = random_box(rng, net.input_dim());
            if rng.below(4) == 0 {
                for i in 0..input.dim() {
                    if rng.below(2) == 0 {
                        input.upper[i] = input.lower[i];
                    }
                }
            }
            let samples = sample_outputs(rng, net, &input);
            // Right-hand sides nearer the sampled values than in
            // `random_property`, since rows in conjunction rarely meet.
            let rows = (net.output_dim(), &samples[..], (-0.2, 0.4));
            let unsafe_set = match rng.below(3) {
                0 => random_dnf(rng, rows, 1, |_| 1),
                1 => random_dnf(rng, rows, 1, |rng| 2 + rng.below(2)),
                _ => {
                    let disjuncts = 2 + rng.below(2);
                    random_dnf(rng, rows, disjuncts, |rng| 1 + rng.below(2))
                }
            };
            Region::boxed(input, unsafe_set)
        })
        .collect();
    let mut prop = Property::new(regions);
    // A quarter of the cases get input constraints (drawn last, so the rest
    // of the case is the same as without them).
    if rng.below(4) == 0 {
        for region in &mut prop.regions {
            region.input_constraints = random_input_constraints(rng, &region.input);
        }
    }
    prop
}

/// 1-2 random input constraints `a·x <= b` on `input`: each through a random
/// point of the box, shifted by -5% to 30% of the range of `a·x` over the box,
/// so that they usually cut the box, sometimes barely, and sometimes
/// (together) leave no point at all.
pub fn random_input_constraints(rng: &mut Rng, input: &InputBox) -> Vec<LinearConstraint> {
    let n = input.dim();
    (0..1 + rng.below(2))
        .map(|_| {
            // Each input takes part with probability 3/4 (at least one does).
            let mut coeffs: Vec<(usize, f64)> = Vec::new();
            for i in 0..n {
                let a = rng.range(-1.0, 1.0);
                if n == 1 || rng.below(4) != 0 {
                    coeffs.push((i, a));
                }
            }
            if coeffs.is_empty() {
                coeffs.push((0, 1.0));
            }
            let p: f64 = coeffs.iter().map(|&(i, a)| a * rng.range(input.lower[i], input.upper[i])).sum();
            let range: f64 = coeffs.iter().map(|&(i, a)| a.abs() * (input.upper[i] - input.lower[i])).sum();
            LinearConstraint { coeffs, rhs: p + range * rng.range(-0.05, 0.3) }
        })
        .collect()
}

/// What the reference found: the least violation margin over all regions and
/// disjuncts (`max_j c_j·y - rhs_j` minimised over inputs; `<= 0` means the
/// property is violated) and an input attaining it.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The least margin.
    pub margin: f64,
    /// An input attaining it.
    pub input: Vec<f64>,
    /// The region whose box holds `input`.
    pub region: usize,
}

/// One linear piece of an activation: `z` in `[lo, hi]` and `y = s z + c`.
fn pieces(act: &Activation, i: usize) -> Vec<(f64, f64, f64, f64)> {
    let inf = f64::INFINITY;
    match act {
        Activation::Identity => vec![(-inf, inf, 1.0, 0.0)],
        Activation::Relu => vec![(-inf, 0.0, 0.0, 0.0), (0.0, inf, 1.0, 0.0)],
        Activation::Leaky { slopes } => vec![(-inf, 0.0, slopes[i], 0.0), (0.0, inf, 1.0, 0.0)],
        Activation::Clip { lo, hi } => {
            let mut p = Vec::new();
            if lo.is_finite() {
                p.push((-inf, *lo, 0.0, *lo));
            }
            p.push((*lo, *hi, 1.0, 0.0));
            if hi.is_finite() {
                p.push((*hi, inf, 0.0, *hi));
            }
            p
        }
    }
}

/// An affine function of the input: coefficients and constant.
type AffineFn = (Vec<f64>, f64);

struct Enumerator<'a> {
    net: &'a Network,
    input: &'a InputBox,
    dnf: &'a Dnf,
    region: usize,
    interval: crate::bounds::NetworkBounds,
    best: Reference,
}

impl Enumerator<'_> {
    /// LP over the input box and `rows` (`lo <= a·x + c <= hi`): `Some(x)` if feasible.
    fn lp(&self, rows: &[(AffineFn, f64, f64)], objective: Option<&[AffineFn]>) -> Option<(Vec<f64>, f64)> {
        let n = self.input.dim();
        let mut m = Milp::default();
        let xs: Vec<VarId> =
            (0..n).map(|i| m.add_var(format!("x{i}"), self.input.lower[i], self.input.upper[i])).collect();
        for ((a, c), lo, hi) in rows {
            let coeffs = xs.iter().zip(a).map(|(v, w)| (*v, *w)).collect();
            m.add_row(coeffs, lo - c, hi - c);
        }
        if let Some(fs) = objective {
            // minimise t with f_j(x) <= t
            let t = m.add_var("t", f64::NEG_INFINITY, f64::INFINITY);
            for (a, c) in fs {
                let mut coeffs: Vec<(VarId, f64)> = xs.iter().zip(a).map(|(v, w)| (*v, *w)).collect();
                coeffs.push((t, -1.0));
                m.add_le(coeffs, -c);
            }
            m.objective = vec![(t, 1.0)];
        }
        match Highs.solve(&m, &Limits { time_limit: None, threads: 1, first_solution: false }) {
            SolveStatus::Optimal { x, objective } => Some((x[..n].to_vec(), objective)),
            SolveStatus::Infeasible => None,
            other => panic!("reference LP failed: {other:?}"),
        }
    }

    /// Enumerate the patterns below the current node. `point` satisfies
    /// `rows`: a piece that contains it needs no feasibility LP.
    fn walk(
        &mut self,
        layer: usize,
        neuron: usize,
        values: Vec<AffineFn>,
        pre: Vec<AffineFn>,
        rows: Vec<(AffineFn, f64, f64)>,
        point: Vec<f64>,
    ) {
        let net = self.net;
        if layer == net.layers().len() {
            for conj in &self.dnf.disjuncts {
                let fs: Vec<AffineFn> = conj
                    .constraints
                    .iter()
                    .map(|c| {
                        let mut a = vec![0.0; self.input.dim()];
                        let mut k0 = -c.rhs;
                        for &(k, w) in &c.coeffs {
                            for (ai, vi) in a.iter_mut().zip(&values[k].0) {
                                *ai += w * vi;
                            }
                            k0 += w * values[k].1;
                        }
                        (a, k0)
                    })
                    .collect();
                if fs.is_empty() {
                    // An empty conjunction is always satisfied.
                    if let Some((x, _)) = self.lp(&rows, None) {
                        self.best = Reference { margin: f64::NEG_INFINITY, input: x, region: self.region };
                    }
                    continue;
                }
                if let Some((x, t)) = self.lp(&rows, Some(&fs)) {
                    if t < self.best.margin {
                        self.best = Reference { margin: t, input: x, region: self.region };
                    }
                }
            }
            return;
        }
        let l = &net.layers()[layer];
        if neuron == l.output_dim() {
            // `values` holds this layer's outputs: the leaf reads them as the
            // network output, any other layer turns them into pre-activations.
            if layer + 1 == net.layers().len() {
                self.walk(layer + 1, 0, values, vec![], rows, point);
            } else {
                let pre_next = affine_of(&net.layers()[layer + 1].affine, &values);
                self.walk(layer + 1, 0, Vec::new(), pre_next, rows, point);
            }
            return;
        }
        let z = pre[neuron].clone();
        let (bl, bu) = (self.interval.layers[layer].lower[neuron], self.interval.layers[layer].upper[neuron]);
        for (lo, hi, s, c) in pieces(&l.activation, neuron) {
            if hi < bl || lo > bu {
                continue; // the piece is out of the neuron's interval range
            }
            let mut rows = rows.clone();
            let mut point = point.clone();
            let implied = lo <= bl && bu <= hi;
            if !implied {
                rows.push((z.clone(), lo, hi));
                let at_point = crate::model::dot(&z.0, &point) + z.1;
                if !(lo <= at_point && at_point <= hi) {
                    match self.lp(&rows, None) {
                        Some((x, _)) => point = x,
                        None => continue,
                    }
                }
            }
            let mut values = values.clone();
            values.push((z.0.iter().map(|v| s * v).collect(), s * z.1 + c));
            self.walk(layer, neuron + 1, values, pre.clone(), rows, point);
        }
    }
}

/// `W v + b` where each `v_j` is an affine function of the input.
fn affine_of(affine: &Affine, values: &[AffineFn]) -> Vec<AffineFn> {
    let n = values.first().map(|v| v.0.len()).unwrap_or(0);
    (0..affine.weights.rows())
        .map(|i| {
            let mut a = vec![0.0; n];
            let mut c = affine.bias[i];
            for (w, (va, vc)) in affine.weights.row(i).iter().map(|(j, w)| (w, &values[j])) {
                for (ai, vi) in a.iter_mut().zip(va) {
                    *ai += w * vi;
                }
                c += w * vc;
            }
            (a, c)
        })
        .collect()
}

/// The exact reference answer by activation-pattern enumeration.
pub fn reference(net: &Network, prop: &Property) -> Reference {
    let mut best = Reference { margin: f64::INFINITY, input: vec![], region: 0 };
    for (r, region) in prop.regions.iter().enumerate() {
        let n = region.input.dim();
        let identity: Vec<AffineFn> =
            (0..n).map(|i| ((0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect(), 0.0)).collect();
        let pre = affine_of(&net.layers()[0].affine, &identity);
        // The input constraints as rows `-inf <= a·x <= b`.
        let rows: Vec<(AffineFn, f64, f64)> = region
            .input_constraints
            .iter()
            .map(|c| {
                let mut a = vec![0.0; n];
                for &(i, v) in &c.coeffs {
                    a[i] += v;
                }
                ((a, 0.0), f64::NEG_INFINITY, c.rhs)
            })
            .collect();
        let mut e = Enumerator {
            net,
            input: &region.input,
            dnf: &region.unsafe_set,
            region: r,
            interval: interval::compute(net, &region.input),
            best: best.clone(),
        };
        let start = if rows.is_empty() { Some(region.input.center()) } else { e.lp(&rows, None).map(|(x, _)| x) };
        // An empty polytope has no input, so nothing to find there.
        if let Some(start) = start {
            e.walk(0, 0, Vec::new(), pre, rows, start);
        }
        best = e.best;
    }
    best
}

/// Environment variable with the number of soak cases (`make soak` sets it;
/// unset, the calling test's fast count is used).
pub const SOAK_CASES_ENV: &str = "RELUVERIFY_SOAK_CASES";
/// Environment variable with the first soak seed (default 0): case `k` uses
/// seed `first + k`, so any failing case reruns alone with its seed and
/// `RELUVERIFY_SOAK_CASES=1`.
pub const SOAK_SEED_ENV: &str = "RELUVERIFY_SOAK_SEED";

/// Below this distance from the boundary (`|reference margin|`), `unknown`
/// is an acceptable answer: the proof needs the unsafe set relaxed by
/// [`UNSAFE_RELAX`] to be empty, and a solver point this close to the
/// boundary may fail the f64 check and resist repair.
pub const SOAK_NEAR_BOUNDARY: f64 = 1e-5;

/// The reference margin is an LP optimum, exact up to HiGHS's tolerances
/// on these small, well-scaled problems; a margin beyond this on the wrong
/// side of zero is a disagreement no tolerance explains.
pub const SOAK_REFERENCE_TOL: f64 = 1e-7;

/// Time each cross-check of a soak case gets.
const SOAK_CROSS_CHECK_SECS: u64 = 2;

/// Time each cross-check of a soak case with input constraints gets: the
/// cross-check drops only boxes that miss the polytope entirely, so a
/// property that holds because of the constraints leaves it splitting along
/// the polytope's boundary until its deadline; it is run for soundness (a
/// disagreement still fails the soak), not to decide.
const SOAK_CONSTRAINED_CROSS_CHECK_MILLIS: u64 = 200;

/// The search configurations a soak cycles through (by seed): every
/// strategy, every bounding method of the MILP strategy, input and phase
/// splitting with MILP leaves, with few unstable neurons per leaf, and down
/// to stable boxes or domains, on one and two threads. The second field is
/// the root bounds of the MILP and phase-splitting strategies, the third
/// the MILP threshold of both splitting strategies.
const SOAK_CONFIGS: [(Strategy, BoundMethod, usize, usize); 11] = [
    (Strategy::Auto, BoundMethod::Lp, 12, 1),
    (Strategy::InputSplit, BoundMethod::Symbolic, 12, 1),
    (Strategy::InputSplit, BoundMethod::Symbolic, 0, 2),
    (Strategy::InputSplit, BoundMethod::Symbolic, 3, 1),
    (Strategy::Milp, BoundMethod::Interval, 12, 1),
    (Strategy::Milp, BoundMethod::Symbolic, 12, 1),
    (Strategy::Milp, BoundMethod::Lp, 12, 1),
    (Strategy::Milp, BoundMethod::Optimised, 12, 1),
    (Strategy::PhaseSplit, BoundMethod::Symbolic, 0, 2),
    (Strategy::PhaseSplit, BoundMethod::Lp, 3, 1),
    (Strategy::PhaseSplit, BoundMethod::Optimised, 6, 2),
];

/// What a soak run saw.
#[derive(Debug, Default)]
pub struct SoakReport {
    /// Verdicts `holds`, `violated`, `unknown` (these all near the boundary).
    pub holds: u64,
    /// See `holds`.
    pub violated: u64,
    /// See `holds`.
    pub unknown: u64,
    /// `holds` verdicts the cross-check confirmed (the rest were inconclusive;
    /// a disagreement fails the soak), of cases without input constraints.
    pub cross_confirmed: u64,
    /// Cases with input constraints (their cross-checks count in none of
    /// the cross-check fields).
    pub constrained: u64,
    /// Of those, cases that hold.
    pub constrained_holds: u64,
    /// Violated cases without input constraints handed to the cross-check
    /// as if they held.
    pub forged: u64,
    /// Of those, caught (a validated counterexample found).
    pub forged_caught: u64,
    /// Seconds in the reference, in `verify`, and in cross-checks.
    pub seconds: [f64; 3],
    /// The seed whose `verify` took longest, and its seconds.
    pub slowest: (u64, f64),
}

/// Run `cases` soak cases with seeds `first_seed..`: a random network and
/// property of every shape ([`soak_network`], [`soak_property`]), the
/// search under one of [`SOAK_CONFIGS`] with and without sampling, and the
/// exact [`reference`]. Panics with the seed and the case on any wrong
/// answer:
///
/// * `holds` where the reference's input is a validated counterexample, or
///   where its margin is below [`UNSAFE_RELAX`] (less `SOAK_REFERENCE_TOL`):
///   `holds` certifies a margin above it, so even a property true by less
///   must not be proved;
/// * `violated` whose witness fails the f64 check, or where the reference
///   says safe by more than `SOAK_REFERENCE_TOL`;
/// * `unknown` farther than [`SOAK_NEAR_BOUNDARY`] from the boundary (no time
///   limit is set, so it means a lost proof or counterexample);
/// * a cross-check (of every `holds`) that finds a counterexample.
///
/// Every violated case is also handed to the cross-check as a forged
/// `holds`; the report counts how many it caught.
pub fn soak(first_seed: u64, cases: u64) -> SoakReport {
    let mut report = SoakReport::default();
    for seed in first_seed..first_seed + cases {
        let mut rng = Rng::new(seed);
        let net = soak_network(&mut rng);
        let prop = soak_property(&mut rng, &net);
        soak_case(seed, &net, &prop, &mut report);
        if (seed + 1 - first_seed).is_multiple_of(SOAK_PROGRESS) {
            eprintln!("soak: {} cases, {report:?}", seed + 1 - first_seed);
        }
    }
    report
}

/// One case of [`soak`]: `net` and `prop` verified with the settings that
/// `seed` chooses, the verdict judged against the exact reference (and
/// cross-checked), counted in `report`; panics on a wrong answer.
pub fn soak_case(seed: u64, net: &Network, prop: &Property, report: &mut SoakReport) {
    let t = Instant::now();
    let reference = reference(net, prop);
    report.seconds[0] += t.elapsed().as_secs_f64();
    let (strategy, bounds, split_milp_unstable, threads) = SOAK_CONFIGS[seed as usize % SOAK_CONFIGS.len()];
    let falsify = (seed / SOAK_CONFIGS.len() as u64) % 2 == 1;
    // Phase splitting alternates between the top-ranked split and the
    // default choice among candidates.
    let phase_candidates =
        if (seed / SOAK_CONFIGS.len() as u64 / 2).is_multiple_of(2) { 1 } else { Settings::default().phase_candidates };
    // ... and between refinement with and without the fixed phases'
    // constraints.
    let phase_constrained = (seed / SOAK_CONFIGS.len() as u64 / 4).is_multiple_of(2);
    // ... and between the default tree budget and a root MILP after a few domains.
    let phase_tree_domains = if (seed / SOAK_CONFIGS.len() as u64 / 8).is_multiple_of(2) {
        Settings::default().phase_tree_domains
    } else {
        3
    };
    let settings = Settings {
        falsify_samples: if falsify { 64 } else { 0 },
        falsify_restarts: if falsify { 2 } else { 0 },
        seed,
        strategy,
        bounds,
        phase_bounds: bounds,
        split_milp_unstable,
        phase_milp_unstable: split_milp_unstable,
        phase_candidates,
        phase_constrained,
        phase_tree_domains,
        threads,
        ..Settings::default()
    };
    let t = Instant::now();
    let verdict = verify(net, prop, &settings).unwrap().verdict;
    let secs = t.elapsed().as_secs_f64();
    report.seconds[1] += secs;
    if secs > report.slowest.1 {
        report.slowest = (seed, secs);
    }
    let m = reference.margin;
    let fail = |what: &str| -> ! {
        panic!(
            "soak seed {seed} ({strategy:?}, {bounds:?}, milp_unstable {split_milp_unstable}, candidates \
             {phase_candidates}, constrained {phase_constrained}, tree budget {phase_tree_domains}, falsify {falsify}): {what}\nverdict {verdict:?}\nreference margin {m} at {:?} (region {})\n{net:?}\n{prop:?}",
            reference.input, reference.region
        )
    };
    let constrained = prop.regions.iter().any(|r| !r.input_constraints.is_empty());
    report.constrained += u64::from(constrained);
    let cross = |verdict: &Verdict| {
        let time = match constrained {
            false => Duration::from_secs(SOAK_CROSS_CHECK_SECS),
            true => Duration::from_millis(SOAK_CONSTRAINED_CROSS_CHECK_MILLIS),
        };
        cross_check(net, prop, verdict, Some(Instant::now() + time), 1).unwrap().result
    };
    let t = Instant::now();
    match &verdict {
        Verdict::Holds { .. } => {
            report.holds += 1;
            report.constrained_holds += u64::from(constrained);
            let thin = m < UNSAFE_RELAX - SOAK_REFERENCE_TOL;
            if thin || check_witness(net, prop, reference.region, &reference.input).is_some() {
                fail("wrong holds");
            }
            match cross(&verdict) {
                CrossCheck::Confirmed if constrained => {}
                CrossCheck::Confirmed => report.cross_confirmed += 1,
                CrossCheck::Disagrees { witness } => fail(&format!("the cross-check refutes holds: {witness:?}")),
                CrossCheck::Inconclusive { .. } => {}
            }
        }
        Verdict::Violated { witness } => {
            report.violated += 1;
            if check_witness(net, prop, witness.region(), witness.input()).is_none() || m > SOAK_REFERENCE_TOL {
                fail("wrong violated");
            }
            report.forged += u64::from(!constrained);
            let forged = Verdict::Holds { proved_by: ProofMethod::Milp };
            if let CrossCheck::Disagrees { witness } = cross(&forged) {
                assert!(check_witness(net, prop, witness.region(), witness.input()).is_some());
                report.forged_caught += u64::from(!constrained);
            }
        }
        Verdict::Unknown { .. } => {
            report.unknown += 1;
            if m.abs() >= SOAK_NEAR_BOUNDARY {
                fail("unknown without a time limit, away from the boundary");
            }
        }
    }
    report.seconds[2] += t.elapsed().as_secs_f64();
}

/// A long soak prints its counts every this many cases.
const SOAK_PROGRESS: u64 = 1000;

/// The number of soak cases and the first seed: from [`SOAK_CASES_ENV`] and
/// [`SOAK_SEED_ENV`] when set, else `fast_cases` and 0.
pub fn soak_params(fast_cases: u64) -> (u64, u64) {
    let read = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{name} must be a number, got {v}")))
    };
    (read(SOAK_SEED_ENV).unwrap_or(0), read(SOAK_CASES_ENV).unwrap_or(fast_cases))
}
