//! Encode a network, its neuron bounds and an unsafe conjunction as a MILP.
//!
//! Variables: `x_i` per input (bounded by the input box), `z_L_i` per
//! pre-activation (bounded by the padded neuron bounds), `y_L_i` per
//! post-activation, and per hinge of its activation an auxiliary `r_L_i[_k]`,
//! with a binary `d_L_i[_k]` when the neuron's bounds straddle the hinge.
//! Every activation is an affine combination of ReLUs of `z` (its hinge
//! decomposition, derived per kind in `model::activation`: ReLU `relu(z)`,
//! Leaky `a z + (1 - a) relu(z)`, Clip `lo + relu(z - lo) - relu(z - hi)`),
//! so one exact ReLU gadget (`encode_relu`) serves all of them. A Clip
//! straddling both levels gets two binaries, with the cut `d_hi <= d_lo`
//! (`z >= hi` implies `z >= lo`); one straddling a single level, one.
//!
//! Stable neurons (no kink strictly inside `(l, u)`) get no binary: `y` is
//! the affine piece that is active on the whole interval.
//!
//! A region's linear input constraints are not part of the network encoding:
//! callers add them with [`Encoding::add_input_constraints`] next to the
//! unsafe rows, exactly (the neuron bounds only need to be sound on the box,
//! which holds the polytope).

use super::{Milp, VarId};
use crate::bounds::NetworkBounds;
use crate::margins::{BOUND_PAD_ABS, BOUND_PAD_REL};
use crate::model::matrix::Row;
use crate::model::{Activation, Network};
use crate::spec::{Conjunction, InputBox, LinearConstraint};

fn pad(l: f64, u: f64) -> (f64, f64) {
    (l - BOUND_PAD_ABS - BOUND_PAD_REL * l.abs(), u + BOUND_PAD_ABS + BOUND_PAD_REL * u.abs())
}

/// Counts of what the encoding contains, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodingStats {
    /// Neurons with a non-identity activation.
    pub neurons: usize,
    /// Of those, neurons with no kink inside their bounds.
    pub stable: usize,
    /// Neurons with at least one kink inside their bounds.
    pub unstable: usize,
    /// Binary variables.
    pub binaries: usize,
}

/// A network encoded as MILP rows, ready for an unsafe condition.
#[derive(Debug, Clone)]
pub struct Encoding {
    /// The MILP (feasibility problem, no objective).
    pub milp: Milp,
    /// The input variables, in input order.
    pub inputs: Vec<VarId>,
    /// The output variables, in output order.
    pub outputs: Vec<VarId>,
    /// What was encoded.
    pub stats: EncodingStats,
}

impl Encoding {
    /// Add the rows `c·y <= rhs - margin` of `conj`. A positive margin asks
    /// for points strictly inside the unsafe set (used to repair witnesses
    /// that fail the f64 check); a negative one relaxes it.
    pub fn add_unsafe(&mut self, conj: &Conjunction, margin: f64) {
        for c in &conj.constraints {
            let coeffs = c.coeffs.iter().map(|&(k, v)| (self.outputs[k], v)).collect();
            self.milp.add_le(coeffs, c.rhs - margin);
        }
    }

    /// Add the region's input constraints as rows `a·x <= b - margin` over
    /// the input variables, with `margin` meaning what it means for
    /// [`Encoding::add_unsafe`] (negative: relaxed for a proof; positive:
    /// strictly inside, to repair a witness).
    pub fn add_input_constraints(&mut self, rows: &[LinearConstraint], margin: f64) {
        for c in rows {
            let coeffs = c.coeffs.iter().map(|&(i, v)| (self.inputs[i], v)).collect();
            self.milp.add_le(coeffs, c.rhs - margin);
        }
    }

    /// The input values of a solver solution.
    pub fn input_values(&self, x: &[f64]) -> Vec<f64> {
        self.inputs.iter().map(|v| x[v.0]).collect()
    }
}

/// `r = relu(s z + o)` for `s z + o` in `[l, u]` (already padded), as exact
/// MILP rows. With `w = s z + o`:
///
/// * `u <= 0`: `r = 0`; `l >= 0`: `r = w`; no binary.
/// * otherwise one binary `d` (`d = 1` iff `w >= 0`) and the four big-M rows
///   `r >= 0`, `r >= w`, `r <= w - l (1 - d)`, `r <= u d`.
///   For `d = 1` they force `r = w` and `w >= 0`; for `d = 0`, `r = 0` and
///   `w <= 0` (from `0 <= r <= w - l`... i.e. `w >= l`, and `r >= w`). Their LP
///   relaxation is the triangle relaxation, the tightest convex one.
///
/// Returns `r` and the binary, if one was added.
fn encode_relu(milp: &mut Milp, name: &str, z: VarId, s: f64, o: f64, l: f64, u: f64) -> (VarId, Option<VarId>) {
    let r = milp.add_var(format!("r_{name}"), l.max(0.0), u.max(0.0));
    if u <= 0.0 {
        milp.add_eq(vec![(r, 1.0)], 0.0);
        return (r, None);
    }
    if l >= 0.0 {
        // r - s z = o
        milp.add_eq(vec![(r, 1.0), (z, -s)], o);
        return (r, None);
    }
    let d = milp.add_binary(format!("d_{name}"));
    // r >= s z + o  <=>  r - s z >= o
    milp.add_ge(vec![(r, 1.0), (z, -s)], o);
    // r <= s z + o - l (1 - d)  <=>  r - s z - l d <= o - l
    milp.add_le(vec![(r, 1.0), (z, -s), (d, -l)], o - l);
    // r <= u d
    milp.add_le(vec![(r, 1.0), (d, -u)], 0.0);
    (r, Some(d))
}

/// Encode `net` over `input` with neuron `bounds` (pre-activation, per layer).
///
/// The bounds must be sound for this input box; they are padded by
/// [`BOUND_PAD_ABS`]/[`BOUND_PAD_REL`] before use. Every neuron gets its
/// variables (the layered form: sparse rows, one per neuron, as wide as its
/// layer's input).
pub fn encode(net: &Network, input: &InputBox, bounds: &NetworkBounds) -> Encoding {
    encode_with(net, input, bounds, Layout::Layered)
}

/// Like [`encode`], but a neuron that is stable on the box gets no variable
/// at all: it is linear there, `y = s z + t`, so it is substituted into the
/// layers above as an affine expression of the inputs and of the unstable
/// neurons below it. Only the unstable neurons (and the outputs) get `z`,
/// `y`, `r` and `d` variables. The problem is the same one, exactly: on the
/// box every stable neuron is on its linear piece, and an unstable neuron's
/// `z` keeps its bounds. For a small box with few unstable neurons this is a
/// MILP of a few dozen variables instead of a thousand, which HiGHS solves
/// in a fraction of the time; its rows are dense in the inputs, so it suits
/// networks with few inputs.
pub fn encode_compact(net: &Network, input: &InputBox, bounds: &NetworkBounds) -> Encoding {
    encode_with(net, input, bounds, Layout::Compact)
}

/// Inputs up to which [`encode_suited`] picks the compact form.
pub const COMPACT_MAX_INPUTS: usize = 16;

/// [`encode_compact`] for at most [`COMPACT_MAX_INPUTS`] inputs, [`encode`]
/// beyond. The compact form's rows are dense in the inputs: with hundreds
/// of them the layered form is the faster one (MNIST-FC 256x2 property 1
/// at eps 0.03, whole-region MILPs of two disjuncts, 142 binaries: 22 and
/// 22 s layered, 31 and 46 s compact).
pub fn encode_suited(net: &Network, input: &InputBox, bounds: &NetworkBounds) -> Encoding {
    if input.dim() <= COMPACT_MAX_INPUTS {
        encode_compact(net, input, bounds)
    } else {
        encode(net, input, bounds)
    }
}

/// Which neurons get variables.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Every neuron.
    Layered,
    /// Only unstable neurons and outputs.
    Compact,
}

/// `constant + sum coeff * var`: a neuron's value in terms of the variables.
#[derive(Clone)]
struct Expr {
    terms: Vec<(VarId, f64)>,
    constant: f64,
}

impl Expr {
    fn var(v: VarId) -> Expr {
        Expr { terms: vec![(v, 1.0)], constant: 0.0 }
    }
}

/// `W_i · prev + b_i` as one expression. `acc` is a scratch vector indexed
/// by variable, all zero on entry and on return.
fn affine_expr(weights: Row<'_>, bias: f64, prev: &[Expr], acc: &mut Vec<f64>) -> Expr {
    let mut constant = bias;
    let mut touched = Vec::new();
    for (w, e) in weights.iter().filter(|(_, w)| *w != 0.0).map(|(j, w)| (w, &prev[j])) {
        constant += w * e.constant;
        for &(v, c) in &e.terms {
            if v.0 >= acc.len() {
                acc.resize(v.0 + 1, 0.0);
            }
            if acc[v.0] == 0.0 {
                touched.push(v);
            }
            acc[v.0] += w * c;
        }
    }
    touched.sort_unstable();
    touched.dedup();
    let terms = touched.into_iter().map(|v| (v, std::mem::take(&mut acc[v.0]))).filter(|(_, c)| *c != 0.0).collect();
    Expr { terms, constant }
}

/// The encodings of [`encode`] and [`encode_compact`].
fn encode_with(net: &Network, input: &InputBox, bounds: &NetworkBounds, layout: Layout) -> Encoding {
    let mut milp = Milp::default();
    let mut stats = EncodingStats::default();
    let inputs: Vec<VarId> =
        (0..input.dim()).map(|i| milp.add_var(format!("x_{i}"), input.lower[i], input.upper[i])).collect();
    let mut prev: Vec<Expr> = inputs.iter().map(|&v| Expr::var(v)).collect();
    let mut acc = Vec::new();
    let n_layers = net.layers().len();
    for (k, (layer, b)) in net.layers().iter().zip(&bounds.layers).enumerate() {
        let mut next = Vec::with_capacity(layer.output_dim());
        let is_output = k + 1 == n_layers;
        for i in 0..layer.output_dim() {
            let (l, u) = pad(b.lower[i], b.upper[i]);
            let z_expr = affine_expr(layer.affine.weights.row(i), layer.affine.bias[i], &prev, &mut acc);
            let act = &layer.activation;
            if act != &Activation::Identity {
                stats.neurons += 1;
            }
            // Compact: a stable hidden neuron is the line y = s z + t through
            // its middle point (unbounded neurons keep their variables).
            let middle = 0.5 * (l + u);
            if layout == Layout::Compact && !is_output && !act.is_unstable(i, l, u) && middle.is_finite() {
                stats.stable += usize::from(act != &Activation::Identity);
                let s = act.slope(i, middle);
                let t = act.eval(i, middle) - s * middle;
                let terms = z_expr.terms.iter().map(|&(v, c)| (v, s * c)).filter(|(_, c)| *c != 0.0).collect();
                next.push(Expr { terms, constant: s * z_expr.constant + t });
                continue;
            }
            let z = milp.add_var(format!("z_{k}_{i}"), l, u);
            // z - (W_i · prev + b_i) = 0, with prev's expressions expanded.
            let mut row = vec![(z, 1.0)];
            row.extend(z_expr.terms.iter().map(|&(v, c)| (v, -c)));
            milp.add_eq(row, z_expr.constant);
            if act == &Activation::Identity {
                next.push(Expr::var(z));
                continue;
            }
            let name = format!("{k}_{i}");
            let (y, binaries) = encode_activation(&mut milp, act, i, &name, z, l, u);
            stats.binaries += binaries;
            if binaries > 0 {
                stats.unstable += 1;
            } else {
                stats.stable += 1;
            }
            next.push(Expr::var(y));
        }
        prev = next;
    }
    // The last layer always gets variables, so every output is one.
    let outputs = prev.iter().map(|e| e.terms[0].0).collect();
    Encoding { milp, inputs, outputs, stats }
}

/// Encode `y = act_i(z)` for `z` in `[l, u]`; returns `y` and the number of
/// binaries added. The decompositions are derived in the module doc.
fn encode_activation(
    milp: &mut Milp,
    act: &Activation,
    i: usize,
    name: &str,
    z: VarId,
    l: f64,
    u: f64,
) -> (VarId, usize) {
    let (ylo, yhi) = act.interval_image(i, l, u);
    let y = milp.add_var(format!("y_{name}"), ylo, yhi);
    // y = c + a z + sum_k w_k relu(z - t_k) (the activation's hinges),
    // written as one row `y - a z - sum_k w_k r_k = c` with one exact ReLU
    // gadget `r_k = relu(z - t_k)` per hinge: a hinge outside `(l, u)` gets
    // no binary (the gadget fixes `r_k` to 0 or to `z - t_k`).
    let h = act.hinges(i);
    let mut terms: Vec<(VarId, f64)> = vec![(y, 1.0)];
    if h.linear != 0.0 {
        terms.push((z, -h.linear));
    }
    let several = h.terms().len() > 1;
    let mut binaries = Vec::new();
    for (k, t) in h.terms().iter().enumerate() {
        let name = if several { format!("{name}_{k}") } else { name.to_string() };
        let (r, bin) = encode_relu(milp, &name, z, 1.0, -t.at, l - t.at, u - t.at);
        terms.push((r, -t.weight));
        binaries.extend(bin);
    }
    // Hinges are in increasing position, so `z >= t_k+1` implies `z >= t_k`:
    // `d_k+1 <= d_k` is a valid cut (a Clip straddling both levels).
    for pair in binaries.windows(2) {
        milp.add_le(vec![(pair[1], 1.0), (pair[0], -1.0)], 0.0);
    }
    let constant = h.constant;
    milp.add_eq(terms, constant);
    (y, binaries.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::{interval, symbolic, tests::random_box};
    use crate::milp::highs::Highs;
    use crate::milp::{Limits, MilpSolver, SolveStatus};
    use crate::rng::Rng;
    use crate::testutil;

    /// The minimum of `c·y` over `enc` (exact, no time pressure), or `None`
    /// when it is infeasible.
    fn minimum(enc: Encoding, c: &[f64]) -> Option<f64> {
        let mut milp = enc.milp;
        milp.objective = enc.outputs.iter().zip(c).map(|(&v, &w)| (v, w)).collect();
        match Highs.solve(&milp, &Limits { time_limit: Some(20.0), threads: 1, first_solution: false }) {
            SolveStatus::Optimal { objective, .. } => Some(objective),
            SolveStatus::Infeasible => None,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn binary_counts_per_kind() {
        // One neuron z = x on x in [-1, 8]: relu 1 binary, relu6 2, clip[-2, 6] 1.
        for (act, expected) in [
            (Activation::Relu, 1),
            (Activation::Leaky { slopes: vec![0.1] }, 1),
            (Activation::Clip { lo: 0.0, hi: 6.0 }, 2),
            (Activation::Clip { lo: -2.0, hi: 6.0 }, 1),
            (Activation::Clip { lo: -2.0, hi: 10.0 }, 0),
        ] {
            let net = testutil::single_neuron(act.clone());
            let input = InputBox::new(vec![-1.0], vec![8.0]).unwrap();
            let enc = encode(&net, &input, &interval::compute(&net, &input));
            assert_eq!(enc.stats.binaries, expected, "{act:?}");
            assert_eq!(enc.milp.integer_count(), expected, "{act:?}");
        }
    }

    /// Both encodings are exact, so minimising the same output combination
    /// over each gives the same optimum; sampled inputs never go below it.
    #[test]
    fn compact_encoding_has_the_layered_optimum() {
        let mut rng = Rng::new(21);
        let mut substituted = 0;
        for _ in 0..40 {
            let net = testutil::random_network(&mut rng, 6);
            let input = random_box(&mut rng, net.input_dim());
            let bounds = symbolic::compute(&net, &input);
            let c: Vec<f64> = (0..net.output_dim()).map(|_| rng.range(-1.0, 1.0)).collect();
            let layered = encode(&net, &input, &bounds);
            let compact = encode_compact(&net, &input, &bounds);
            assert_eq!(layered.stats, compact.stats);
            substituted += usize::from(compact.milp.vars.len() < layered.milp.vars.len());
            let feasible = |enc| minimum(enc, &c).expect("the box is not empty");
            let (a, b) = (feasible(layered), feasible(compact));
            assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "layered {a}, compact {b}");
            for _ in 0..50 {
                let x: Vec<f64> = (0..input.dim()).map(|i| rng.range(input.lower[i], input.upper[i])).collect();
                let v: f64 = net.forward(&x).iter().zip(&c).map(|(y, w)| y * w).sum();
                assert!(v >= b - 1e-6 * (1.0 + v.abs()), "sample {v} below the optimum {b}");
            }
        }
        assert!(substituted > 20, "only {substituted} compact encodings were smaller");
    }

    /// A phase-split domain: one neuron's bounds clamped to one side of a
    /// kink. The padding leaves the kink just inside the clamped interval,
    /// so the compact encoding keeps the neuron's variable with those
    /// bounds and is exact on the domain, as the layered one (every `z`
    /// bounded) is: the phase search's leaf MILPs rely on it.
    #[test]
    fn compact_encoding_is_exact_on_a_clamped_domain() {
        let mut rng = Rng::new(22);
        let mut domains = 0;
        for _ in 0..60 {
            let net = testutil::random_network(&mut rng, 6);
            let input = random_box(&mut rng, net.input_dim());
            let mut bounds = symbolic::compute(&net, &input);
            let hidden = net.layers().len() - 1;
            let kinked: Vec<(usize, usize, f64)> = (0..hidden)
                .flat_map(|k| {
                    let (layer, b) = (&net.layers()[k], &bounds.layers[k]);
                    (0..layer.output_dim()).flat_map(move |i| {
                        let (l, u) = (b.lower[i], b.upper[i]);
                        layer.activation.kinks_inside(i, l, u).iter().map(move |q| (k, i, q.at)).collect::<Vec<_>>()
                    })
                })
                .collect();
            if kinked.is_empty() {
                continue;
            }
            let (k, i, at) = kinked[rng.below(kinked.len())];
            if rng.below(2) == 0 {
                bounds.layers[k].lower[i] = at;
            } else {
                bounds.layers[k].upper[i] = at;
            }
            let c: Vec<f64> = (0..net.output_dim()).map(|_| rng.range(-1.0, 1.0)).collect();
            let layered = minimum(encode(&net, &input, &bounds), &c);
            let compact = minimum(encode_compact(&net, &input, &bounds), &c);
            match (layered, compact) {
                (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "layered {a}, compact {b}"),
                (a, b) => assert_eq!(a.is_none(), b.is_none(), "layered {a:?}, compact {b:?}"),
            }
            domains += 1;
        }
        assert!(domains > 30, "only {domains} domains");
    }

    #[test]
    fn stable_neurons_have_no_binary() {
        let net = testutil::single_neuron(Activation::Relu);
        for (lo, hi) in [(0.5, 2.0), (-3.0, -1.0)] {
            let input = InputBox::new(vec![lo], vec![hi]).unwrap();
            let enc = encode(&net, &input, &interval::compute(&net, &input));
            assert_eq!(enc.stats.binaries, 0);
            assert_eq!(enc.stats.stable, 1);
        }
    }
}
