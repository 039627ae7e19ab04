//! Test support: tiny networks built in code, a random network and property
//! generator, and an exact reference verifier that shares nothing with the
//! MILP encoding.
//!
//! The reference enumerates activation patterns: it walks the neurons in
//! order, and for every linear piece an activation can be on (ReLU: 2, Leaky:
//! 2, Clip: up to 3) adds that piece's input constraint and output formula,
//! pruning patterns whose input polytope is empty (one LP each). At a leaf
//! the output is an affine function of the input, and one LP gives the least
//! violation margin of each unsafe disjunct.

use crate::bounds::interval;
use crate::milp::highs::Highs;
use crate::milp::{Limits, Milp, MilpSolver, SolveStatus, VarId};
use crate::model::{Activation, Affine, Layer, Matrix, Network};
use crate::rng::Rng;
use crate::spec::{Conjunction, Dnf, InputBox, LinearConstraint, Property, Region};

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
    Property {
        regions: vec![Region {
            input: InputBox::new(lower.to_vec(), upper.to_vec()).unwrap(),
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
        }],
    }
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

/// A random network: 2-4 inputs, 1-3 hidden layers of 2-`max_width`
/// neurons with random activation kinds, 1-3 outputs.
pub fn random_network(rng: &mut Rng, max_width: usize) -> Network {
    let mut dim = 2 + rng.below(3);
    let hidden = 1 + rng.below(3);
    let mut layers = Vec::new();
    for k in 0..=hidden {
        let out = if k == hidden { 1 + rng.below(3) } else { 2 + rng.below(max_width - 1) };
        let w: Vec<f64> = (0..out * dim).map(|_| rng.range(-1.0, 1.0)).collect();
        let b: Vec<f64> = (0..out).map(|_| rng.range(-0.5, 0.5)).collect();
        let act = if k == hidden { Activation::Identity } else { random_activation(rng, out) };
        layers.push(layer(out, dim, &w, &b, act));
        dim = out;
    }
    Network::new(layers).unwrap()
}

/// A random property for `net`: a box inside `[-1, 1]^n` and 1-2 disjuncts
/// of 1-2 random rows, with right-hand sides placed around sampled output
/// values so that both verdicts occur.
pub fn random_property(rng: &mut Rng, net: &Network) -> Property {
    let n = net.input_dim();
    let (mut lower, mut upper) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let a = rng.range(-1.0, 1.0);
        let b = rng.range(-1.0, 1.0);
        lower.push(a.min(b));
        upper.push(a.max(b));
    }
    let input = InputBox::new(lower, upper).unwrap();
    let samples: Vec<Vec<f64>> = (0..50)
        .map(|_| {
            let x: Vec<f64> = (0..n).map(|i| rng.range(input.lower[i], input.upper[i])).collect();
            net.forward(&x)
        })
        .collect();
    let m = net.output_dim();
    let disjuncts = (0..1 + rng.below(2))
        .map(|_| Conjunction {
            constraints: (0..1 + rng.below(2))
                .map(|_| {
                    let coeffs: Vec<(usize, f64)> = (0..m).map(|k| (k, rng.range(-1.0, 1.0))).collect();
                    let vals: Vec<f64> = samples.iter().map(|y| coeffs.iter().map(|&(k, c)| c * y[k]).sum()).collect();
                    let lo = vals.iter().cloned().fold(f64::INFINITY, f64::min);
                    let hi = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    LinearConstraint { coeffs, rhs: lo - (hi - lo + 0.1) * rng.range(-0.1, 0.5) }
                })
                .collect(),
        })
        .collect();
    Property { regions: vec![Region { input, unsafe_set: Dnf { disjuncts } }] }
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
        match Highs.solve(&m, &Limits { time_limit: None, threads: 1 }) {
            SolveStatus::Optimal { x, objective } => Some((x[..n].to_vec(), objective)),
            SolveStatus::Infeasible => None,
            other => panic!("reference LP failed: {other:?}"),
        }
    }

    fn walk(
        &mut self,
        layer: usize,
        neuron: usize,
        values: Vec<AffineFn>,
        pre: Vec<AffineFn>,
        rows: Vec<(AffineFn, f64, f64)>,
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
                        self.best = Reference { margin: f64::NEG_INFINITY, input: x };
                    }
                    continue;
                }
                if let Some((x, t)) = self.lp(&rows, Some(&fs)) {
                    if t < self.best.margin {
                        self.best = Reference { margin: t, input: x };
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
                self.walk(layer + 1, 0, values, vec![], rows);
            } else {
                let pre_next = affine_of(&net.layers()[layer + 1].affine, &values);
                self.walk(layer + 1, 0, Vec::new(), pre_next, rows);
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
            let implied = lo <= bl && bu <= hi;
            if !implied {
                rows.push((z.clone(), lo, hi));
                if self.lp(&rows, None).is_none() {
                    continue;
                }
            }
            let mut values = values.clone();
            values.push((z.0.iter().map(|v| s * v).collect(), s * z.1 + c));
            self.walk(layer, neuron + 1, values, pre.clone(), rows);
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
            for (w, (va, vc)) in affine.weights.row(i).iter().zip(values) {
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
    let mut best = Reference { margin: f64::INFINITY, input: vec![] };
    for region in &prop.regions {
        let n = region.input.dim();
        let identity: Vec<AffineFn> =
            (0..n).map(|i| ((0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect(), 0.0)).collect();
        let pre = affine_of(&net.layers()[0].affine, &identity);
        let mut e = Enumerator {
            net,
            input: &region.input,
            dnf: &region.unsafe_set,
            interval: interval::compute(net, &region.input),
            best: best.clone(),
        };
        e.walk(0, 0, Vec::new(), pre, Vec::new());
        best = e.best;
    }
    best
}
