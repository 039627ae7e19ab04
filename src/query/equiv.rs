//! Do two networks agree over a property's input regions?
//!
//! Both networks run side by side on the shared input as one network
//! ([`side_by_side`]: outputs `y_A` then `y_B`), and disagreement becomes an
//! unsafe set over its outputs, so [`verify`](crate::verify) answers the
//! question with its usual guarantees:
//!
//! * [`Agreement::Tolerance`]`(T)`: unsafe where `y_A,i - y_B,i >= T` or
//!   `y_B,i - y_A,i >= T` for some output `i` (two disjuncts per output).
//!   `equivalent` proves `|y_A,i - y_B,i| < T` everywhere (by the proof
//!   margin, [`UNSAFE_RELAX`](crate::margins::UNSAFE_RELAX)); a
//!   counterexample has `|y_A,i - y_B,i| >= T` for some `i`. The outputs are
//!   the networks' outputs after their output activation, which must then be
//!   the same element-wise one (tanh, sigmoid) or none.
//! * [`Agreement::SameArgmax`]`(delta)`: unsafe where network A's output `i`
//!   leads each of A's other outputs by at least `delta` while network B's
//!   output `i` does not lead B's output `j` (`y_B,j >= y_B,i`), for some
//!   `i != j` (one disjunct per pair). `equivalent` proves that wherever A
//!   picks a class by a margin of `delta`, B picks the same one, strictly;
//!   a counterexample is an input where A's argmax (by `delta`) is not B's.
//!   Inputs where A's top two outputs are within `delta` are not judged:
//!   there a tie or a rounding flips the argmax of identical networks, so a
//!   margin is what makes agreement provable at all. A is the reference; the
//!   argmax is of the logits (output activations are monotone, so they keep
//!   it, and are dropped).
//!
//! A counterexample from the combined network is validated again by
//! running *both original networks* in f64 on its input (the combined
//! network may round differently, see [`side_by_side`]); one that fails
//! that check gives `unknown`.

use crate::error::{Error, ErrorKind, Result};
use crate::model::pair::side_by_side;
use crate::model::Network;
use crate::settings::Settings;
use crate::spec::{Conjunction, Dnf, LinearConstraint, Property};
use crate::verdict::{Stats, UnknownReason, Verdict};

use super::with_unsafe;

/// Default `delta` of [`Agreement::SameArgmax`]: a hundred times the proof
/// margin [`UNSAFE_RELAX`](crate::margins::UNSAFE_RELAX), so that a proof
/// is possible, and far below any logit gap a classifier's decision rests
/// on.
pub const DEFAULT_ARGMAX_MARGIN: f64 = 1e-4;

/// What "the networks agree" means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agreement {
    /// Every output within this absolute tolerance.
    Tolerance(f64),
    /// The same argmax wherever the first network's leads by this margin.
    SameArgmax(f64),
}

/// An input where the networks disagree, validated on both.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    /// The input, in region `region`.
    pub input: Vec<f64>,
    /// Index of the region.
    pub region: usize,
    /// Network A's f64 output there (after its output activation for a
    /// tolerance, the logits for the argmax).
    pub output_a: Vec<f64>,
    /// Network B's, likewise.
    pub output_b: Vec<f64>,
}

impl Disagreement {
    /// `max_i |output_a,i - output_b,i|`.
    pub fn max_difference(&self) -> f64 {
        self.output_a.iter().zip(&self.output_b).fold(0f64, |m, (a, b)| m.max((a - b).abs()))
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Equivalence {
    /// The networks agree on every input of the regions.
    Equivalent,
    /// They disagree here.
    Differs(Disagreement),
    /// Neither shown (time limit, solver trouble, or a counterexample of the
    /// combined network that the original networks do not confirm).
    Unknown(UnknownReason),
}

/// Check whether `a` and `b` agree (`agreement`) on every input of `prop`'s
/// regions (their unsafe sets are ignored), within `settings`; returns the
/// answer and the search's statistics (on the combined network).
///
/// Errors when the networks take different inputs or give different
/// numbers of outputs, the tolerance or margin is not a positive number,
/// or their output activations cannot run side by side (for a tolerance:
/// different ones, or softmax).
pub fn equiv(
    a: &Network,
    b: &Network,
    prop: &Property,
    agreement: Agreement,
    settings: &Settings,
) -> Result<(Equivalence, Stats)> {
    let usage = |m: String| Err(Error::new(ErrorKind::Usage, m));
    if a.input_dim() != b.input_dim() || a.output_dim() != b.output_dim() {
        return usage(format!(
            "the networks differ in shape: {} inputs and {} outputs against {} and {}",
            a.input_dim(),
            a.output_dim(),
            b.input_dim(),
            b.output_dim()
        ));
    }
    let m = a.output_dim();
    prop.check_dims(a.input_dim(), m)?;
    let (net_a, net_b, unsafe_set) = match agreement {
        Agreement::Tolerance(t) if t.is_finite() && t > 0.0 => (a.clone(), b.clone(), differ_by(m, t)),
        Agreement::SameArgmax(d) if d.is_finite() && d > 0.0 && m >= 2 => {
            (a.clone().with_output_activation(None), b.clone().with_output_activation(None), argmax_differs(m, d))
        }
        Agreement::SameArgmax(_) if m < 2 => {
            return usage("--same-argmax needs networks of two outputs or more".into())
        }
        other => return usage(format!("the tolerance or margin must be a positive number ({other:?})")),
    };
    let pair = side_by_side(&[&net_a, &net_b]).map_err(|e| Error::new(ErrorKind::Usage, e.message()))?;
    let mut probe = with_unsafe(prop, &unsafe_set);
    probe.declared_outputs = None;
    probe.output_names = vec![];
    let outcome = crate::verify(&pair, &probe, settings)?;
    let answer = match outcome.verdict {
        Verdict::Holds { .. } => Equivalence::Equivalent,
        Verdict::Unknown { reason } => Equivalence::Unknown(reason),
        Verdict::Violated { witness } => {
            let x = witness.input();
            let (ya, yb) = (net_a.reference_output(x), net_b.reference_output(x));
            let confirmed = match agreement {
                Agreement::Tolerance(t) => ya.iter().zip(&yb).any(|(p, q)| p - q >= t || q - p >= t),
                Agreement::SameArgmax(d) => (0..m)
                    .any(|i| (0..m).all(|k| k == i || ya[i] - ya[k] >= d) && (0..m).any(|j| j != i && yb[j] >= yb[i])),
            };
            if confirmed {
                let region = witness.region();
                Equivalence::Differs(Disagreement { input: x.to_vec(), region, output_a: ya, output_b: yb })
            } else {
                Equivalence::Unknown(UnknownReason::UnvalidatedWitness)
            }
        }
    };
    Ok((answer, outcome.stats))
}

/// Over the outputs `(y_A, y_B)` (`m` each): some `|y_A,i - y_B,i| >= t`,
/// as `y_B,i - y_A,i <= -t` or `y_A,i - y_B,i <= -t`.
fn differ_by(m: usize, t: f64) -> Dnf {
    let row = |ca: f64, i: usize| Conjunction {
        constraints: vec![LinearConstraint { coeffs: vec![(i, ca), (m + i, -ca)], rhs: -t }],
    };
    Dnf { disjuncts: (0..m).flat_map(|i| [row(-1.0, i), row(1.0, i)]).collect() }
}

/// Over the outputs `(y_A, y_B)` (`m` each): for some `i != j`, A's output
/// `i` leads each other A output by `delta` (`y_A,k - y_A,i <= -delta`)
/// and B's output `j` reaches B's output `i` (`y_B,i - y_B,j <= 0`).
fn argmax_differs(m: usize, delta: f64) -> Dnf {
    let mut disjuncts = Vec::with_capacity(m * (m - 1));
    for i in 0..m {
        for j in (0..m).filter(|&j| j != i) {
            let mut constraints: Vec<LinearConstraint> = (0..m)
                .filter(|&k| k != i)
                .map(|k| LinearConstraint { coeffs: vec![(i, -1.0), (k, 1.0)], rhs: -delta })
                .collect();
            constraints.push(LinearConstraint { coeffs: vec![(m + i, 1.0), (m + j, -1.0)], rhs: 0.0 });
            disjuncts.push(Conjunction { constraints });
        }
    }
    Dnf { disjuncts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Affine, Layer};
    use crate::rng::Rng;
    use crate::testutil::{random_network, random_property, reference};

    /// `net` with `d` added to output `k`'s bias.
    fn shifted(net: &Network, k: usize, d: f64) -> Network {
        let mut layers = net.layers().to_vec();
        layers.last_mut().unwrap().affine.bias[k] += d;
        Network::new(layers).unwrap()
    }

    /// B = A with one output's bias shifted by `d` differs by exactly `d`
    /// on that output everywhere: equivalent within `d + 1e-3`, a
    /// counterexample (validated on both) within `d - 1e-3`. A copy through
    /// ONNX export and import is equivalent to the original.
    #[test]
    fn tolerance_against_a_known_difference() {
        let mut rng = Rng::new(11);
        for case in 0..12 {
            // Small: bounds relax the two copies independently, so proving
            // two deep copies equal takes many input splits.
            let a = random_network(&mut rng, 3);
            let prop = random_property(&mut rng, &a);
            let (k, d) = (rng.below(a.output_dim()), rng.range(0.05, 0.5));
            let b = shifted(&a, k, d);
            let s = Settings::default();
            let (eq, _) = equiv(&a, &b, &prop, Agreement::Tolerance(d + 1e-3), &s).unwrap();
            assert_eq!(eq, Equivalence::Equivalent, "case {case}");
            match equiv(&a, &b, &prop, Agreement::Tolerance(d - 1e-3), &s).unwrap().0 {
                Equivalence::Differs(w) => {
                    assert!(prop.regions[w.region].contains(&w.input), "case {case}");
                    assert_eq!(w.output_a, a.forward(&w.input));
                    assert_eq!(w.output_b, b.forward(&w.input));
                    assert!(w.max_difference() >= d - 1e-3, "case {case}");
                }
                other => panic!("case {case}: {other:?}"),
            }
            let copy = crate::model::onnx::load_bytes(&crate::model::onnx::to_bytes(&a)).unwrap();
            let (eq, _) = equiv(&a, &copy, &prop, Agreement::Tolerance(1e-5), &s).unwrap();
            assert_eq!(eq, Equivalence::Equivalent, "case {case}: the ONNX copy");
        }
    }

    /// The largest difference between two unrelated small networks, from
    /// the exhaustive reference on the pair (`max_i |y_A,i - y_B,i|`): a
    /// tolerance above it is proved, below it refuted.
    #[test]
    fn tolerance_against_the_reference() {
        let mut rng = Rng::new(12);
        let mut both = 0;
        for case in 0..12 {
            let a = random_network(&mut rng, 4);
            let b = loop {
                let b = random_network(&mut rng, 4);
                if b.input_dim() == a.input_dim() && b.output_dim() == a.output_dim() {
                    break b;
                }
            };
            let prop = random_property(&mut rng, &a);
            let pair = side_by_side(&[&a, &b]).unwrap();
            // min over x of max(-1 (y_A - y_B)_i ...) per sign and output:
            // the least margin of `|diff_i| >= t` at t = 0 is -max|diff|.
            let worst = -reference(&pair, &with_unsafe(&prop, &differ_by(a.output_dim(), 0.0))).margin;
            let s = Settings::default();
            for (t, want_equivalent) in [(worst * 1.01 + 1e-4, true), (worst * 0.99 - 1e-4, false)] {
                if t <= 0.0 {
                    continue;
                }
                let (eq, _) = equiv(&a, &b, &prop, Agreement::Tolerance(t), &s).unwrap();
                match (&eq, want_equivalent) {
                    (Equivalence::Equivalent, true) => both += 1,
                    (Equivalence::Differs(w), false) => assert!(w.max_difference() >= t, "case {case}"),
                    _ => panic!("case {case}: max difference {worst}, tolerance {t}: {eq:?}"),
                }
            }
        }
        assert!(both >= 8);
    }

    /// Same argmax: B = A plus the same constant on every output always
    /// agrees; B = A with output 0's bias raised by `d` disagrees exactly
    /// when A, leading by `delta` with some output `i != 0`, has
    /// `y_i - y_0 <= d` somewhere (from the exhaustive reference on A).
    #[test]
    fn same_argmax_against_the_reference() {
        let mut rng = Rng::new(13);
        let mut verdicts = [0; 2];
        for case in 0..20 {
            let a = random_network(&mut rng, 5);
            let m = a.output_dim();
            if m < 2 {
                continue;
            }
            let prop = random_property(&mut rng, &a);
            let s = Settings::default();
            let delta = DEFAULT_ARGMAX_MARGIN;
            let mut all = a.layers().to_vec();
            all.last_mut().unwrap().affine.bias.iter_mut().for_each(|b| *b += 0.7);
            let lifted = Network::new(all).unwrap();
            let (eq, _) = equiv(&a, &lifted, &prop, Agreement::SameArgmax(delta), &s).unwrap();
            assert_eq!(eq, Equivalence::Equivalent, "case {case}");
            let d = rng.range(0.0, 0.5);
            let b = shifted(&a, 0, d);
            // Disjunct i: A leads with i by delta, and y_i - y_0 <= d.
            let disjuncts = (1..m)
                .map(|i| {
                    let mut constraints: Vec<LinearConstraint> = (0..m)
                        .filter(|&k| k != i)
                        .map(|k| LinearConstraint { coeffs: vec![(i, -1.0), (k, 1.0)], rhs: -delta })
                        .collect();
                    constraints.push(LinearConstraint { coeffs: vec![(i, 1.0), (0, -1.0)], rhs: d });
                    Conjunction { constraints }
                })
                .collect();
            let margin = reference(&a, &with_unsafe(&prop, &Dnf { disjuncts })).margin;
            let (eq, _) = equiv(&a, &b, &prop, Agreement::SameArgmax(delta), &s).unwrap();
            match eq {
                Equivalence::Equivalent => {
                    assert!(margin > 0.0, "case {case}: reference margin {margin}");
                    verdicts[0] += 1;
                }
                Equivalence::Differs(w) => {
                    assert!(margin <= 1e-7, "case {case}: reference margin {margin}");
                    let (ya, yb) = (a.forward(&w.input), b.forward(&w.input));
                    assert_eq!((ya, yb), (w.output_a, w.output_b));
                    verdicts[1] += 1;
                }
                Equivalence::Unknown(r) => assert!(margin.abs() < 1e-5, "case {case}: {r} at margin {margin}"),
            }
        }
        assert!(verdicts[0] >= 3 && verdicts[1] >= 3, "{verdicts:?}");
    }

    #[test]
    fn refuses_mismatched_networks() {
        let one = Network::new(vec![Layer {
            affine: Affine { weights: crate::model::Matrix::new(2, 1, vec![1.0, 2.0]).unwrap(), bias: vec![0.0; 2] },
            activation: Activation::Identity,
        }])
        .unwrap();
        let other = shifted(&shifted(&one, 0, 1.0), 1, 1.0)
            .with_output_activation(Some(crate::model::OutputActivation::Sigmoid));
        let mut rng = Rng::new(3);
        let prop = random_property(&mut rng, &one);
        let s = Settings::default();
        let err = |agreement| equiv(&one, &other, &prop, agreement, &s).unwrap_err().kind();
        assert_eq!(err(Agreement::Tolerance(0.1)), ErrorKind::Usage);
        assert_eq!(err(Agreement::Tolerance(-1.0)), ErrorKind::Usage);
        // The argmax drops the activations: these two always agree.
        assert_eq!(equiv(&one, &other, &prop, Agreement::SameArgmax(0.01), &s).unwrap().0, Equivalence::Equivalent);
    }
}
