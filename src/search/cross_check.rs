//! A second, independent opinion on a verdict (`check --cross-check`).
//!
//! A `holds` answer rests on a lot of machinery: LP-tightened bounds, the
//! input-splitting search with its cuts, MILP encodings and HiGHS. A bug in
//! any of them could prove a false property. [`cross_check`] re-verifies a
//! `holds` with the plainest method there is for few inputs: split
//! the input box in halves, again and again; drop a half when its symbolic
//! bounds ([`symbolic::bound_linear`], which has its own sampling tests) put
//! some row of every unsafe disjunct above its right-hand side; probe every
//! half that is not dropped at its centre and at the corner that minimises
//! the row's linear lower bound, with the f64 forward pass and
//! [`check_witness`]. No MILP, no LP, no cuts, no solver: it shares nothing
//! with the main search but the network's forward pass, the witness check
//! and the symbolic bounds. It checks the property itself, with no
//! [`UNSAFE_RELAX`](super::UNSAFE_RELAX) margin, so it is never stricter than
//! the search it checks.
//!
//! The outcome is [`CrossCheck::Confirmed`] (the splitter proved the property
//! too), [`CrossCheck::Disagrees`] (it found a validated counterexample: the
//! `holds` was wrong, a bug to report), or [`CrossCheck::Inconclusive`]
//! (deadline, too many inputs for splitting, or boxes split to
//! [`MAX_DEPTH`] without a decision: the margin is thinner than the bounds
//! can see).
//!
//! A region's linear input constraints enter only two ways: a box on which
//! some constraint's minimum (interval arithmetic over the box, padded by
//! [`INPUT_MISS_PAD`]) exceeds its right-hand side misses the polytope and is
//! dropped, and probes are projected into the polytope before the witness
//! check (which rejects any point outside it). A property that holds only
//! because of the constraints is therefore often inconclusive here.
//!
//! A `violated` verdict needs no second method: its witness already passed
//! the f64 check. The cross-check runs that check again and confirms it. An
//! `unknown` verdict has nothing to check.
//!
//! On a network with an output activation, a `holds` is cross-checked on
//! the logits against the property restated there (as the search ran), and
//! a counterexample found there is checked on the whole network.

use crate::margins::INPUT_MISS_PAD;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::bounds::{symbolic, NetworkBounds};
use crate::error::{Error, ErrorKind, Result};
use crate::model::Network;
use crate::spec::{logits, Conjunction, InputBox, Property, Region};
use crate::verdict::{check_witness, Verdict, Witness};

use super::INPUT_SPLIT_MAX_DIM;

/// Boxes are halved at most this many times along any path. Each level
/// halves one dimension, so at 16 inputs this still allows a width of
/// `2^-4` of the region per dimension, and at 5 inputs (ACAS Xu) about
/// `2^-13`; a property whose margin needs finer boxes than that is left
/// inconclusive rather than searched forever.
pub const MAX_DEPTH: usize = 64;

/// A side of a box is split, whatever the bounds prefer, once it is this
/// many times wider (relative to the region) than the side they prefer.
/// Without it, ACAS Xu property 1 on networks 2_2 and 5_2 splits a few
/// sides down to `1e-6` while a side of half the region stays whole, and
/// the depth limit ends the search; at 16 the bounds' choice is overruled
/// so often that property 2 on 1_7 takes 50 times more boxes than at 256.
pub const STARVED_RATIO: f64 = 256.0;

/// `true` when some input constraint of `region` holds at no point of `bx`
/// (its minimum over the box, padded by [`INPUT_MISS_PAD`], exceeds its
/// right-hand side).
fn misses_polytope(region: &Region, bx: &InputBox) -> bool {
    region.input_constraints.iter().any(|c| {
        let (mut min, mut scale) = (0.0, c.rhs.abs());
        for &(i, a) in &c.coeffs {
            min += if a > 0.0 { a * bx.lower[i] } else { a * bx.upper[i] };
            scale += a.abs() * bx.lower[i].abs().max(bx.upper[i].abs());
        }
        min - c.rhs > INPUT_MISS_PAD * (1.0 + scale)
    })
}

/// What the cross-check concluded about a verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum CrossCheck {
    /// The verdict stands: the splitter proved the property (`holds`), or
    /// the witness passed the f64 check again (`violated`).
    Confirmed,
    /// The verdict is wrong. For `holds`: a counterexample, validated by the
    /// f64 forward pass. For `violated`: the witness, which failed the check.
    Disagrees {
        /// The counterexample found, or the witness that failed.
        witness: Witness,
    },
    /// No decision; the verdict is kept.
    Inconclusive {
        /// Why (deadline, too many inputs, depth limit, unknown verdict).
        reason: String,
    },
}

/// A cross-check's result and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossCheckReport {
    /// The conclusion.
    pub result: CrossCheck,
    /// Input boxes bounded.
    pub boxes: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// Cross-check `verdict` for `prop` on `net` before `deadline`, splitting
/// on `threads` worker threads.
///
/// Errors only when the worker threads cannot be started.
pub fn cross_check(
    net: &Network,
    prop: &Property,
    verdict: &Verdict,
    deadline: Option<Instant>,
    threads: usize,
) -> Result<CrossCheckReport> {
    let start = Instant::now();
    let report = |result, boxes| CrossCheckReport { result, boxes, elapsed: start.elapsed() };
    let inconclusive = |reason: String| CrossCheck::Inconclusive { reason };
    match verdict {
        Verdict::Violated { witness } => {
            let result = match check_witness(net, prop, witness.region(), witness.input()) {
                Some(_) => CrossCheck::Confirmed,
                None => CrossCheck::Disagrees { witness: witness.clone() },
            };
            Ok(report(result, 0))
        }
        Verdict::Unknown { .. } => {
            Ok(report(inconclusive("the verdict is unknown; there is nothing to cross-check".into()), 0))
        }
        Verdict::Holds { .. } if net.output_activation().is_some() => {
            let act = net.output_activation().expect("matched");
            let translated = logits::translate(prop, act)?;
            if translated.property.regions.is_empty() {
                return Ok(report(CrossCheck::Confirmed, 0));
            }
            let logit_net = net.clone().with_output_activation(None);
            let mut on_logits = cross_check(&logit_net, &translated.property, verdict, deadline, threads)?;
            if let CrossCheck::Disagrees { witness } = &on_logits.result {
                on_logits.result = match check_witness(net, prop, translated.regions[witness.region()], witness.input())
                {
                    Some(witness) => CrossCheck::Disagrees { witness },
                    None => inconclusive(
                        "a counterexample on the logits fails the f64 check on the activated outputs".into(),
                    ),
                };
            }
            Ok(on_logits)
        }
        Verdict::Holds { .. } if net.input_dim() > INPUT_SPLIT_MAX_DIM => Ok(report(
            inconclusive(format!(
                "{} inputs are too many for input splitting (at most {INPUT_SPLIT_MAX_DIM})",
                net.input_dim()
            )),
            0,
        )),
        Verdict::Holds { .. } => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads.max(1))
                .build()
                .map_err(|e| Error::new(ErrorKind::Usage, format!("cannot start {threads} worker threads: {e}")))?;
            let splitter = Splitter {
                net,
                prop,
                deadline,
                stop: AtomicBool::new(false),
                gave_up: Mutex::new(None),
                boxes: AtomicUsize::new(0),
            };
            let mut result = CrossCheck::Confirmed;
            for (r, region) in prop.regions.iter().enumerate() {
                let open: Vec<usize> = (0..region.unsafe_set.disjuncts.len()).collect();
                match pool.install(|| splitter.explore(r, region.input.clone(), &open, 0, None)) {
                    Node::Safe => {}
                    Node::Unsafe(witness) => {
                        result = CrossCheck::Disagrees { witness };
                        break;
                    }
                    Node::Open => {
                        let reason = splitter.gave_up.lock().expect("no worker panics holding the lock").take();
                        result = inconclusive(reason.unwrap_or_else(|| "stopped".into()));
                        break;
                    }
                }
            }
            Ok(report(result, splitter.boxes.load(Ordering::Relaxed)))
        }
    }
}

/// What the splitter concluded on a box.
enum Node {
    /// Every unsafe disjunct is empty on the box.
    Safe,
    /// A validated counterexample.
    Unsafe(Witness),
    /// No decision (the reason is in [`Splitter::gave_up`]).
    Open,
}

/// Why a cross-check stopped at its deadline.
const TIME_LIMIT: &str = "time limit reached";

/// Shared state of one cross-check.
struct Splitter<'a> {
    net: &'a Network,
    prop: &'a Property,
    deadline: Option<Instant>,
    /// Set once a counterexample is found or the search gives up.
    stop: AtomicBool,
    /// Why the search gave up, first reason only.
    gave_up: Mutex<Option<String>>,
    boxes: AtomicUsize,
}

impl Splitter<'_> {
    /// Decide the disjuncts `open` of region `region` on `bx`, whose parent
    /// box had bounds `outer`.
    fn explore(
        &self,
        region: usize,
        bx: InputBox,
        open: &[usize],
        depth: usize,
        outer: Option<&NetworkBounds>,
    ) -> Node {
        if self.stop.load(Ordering::Relaxed) {
            return Node::Open;
        }
        if crate::bounds::past(self.deadline) {
            return self.give_up(TIME_LIMIT.into());
        }
        self.boxes.fetch_add(1, Ordering::Relaxed);
        let r = &self.prop.regions[region];
        if misses_polytope(r, &bx) {
            return Node::Safe;
        }
        let net = self.net;
        let bounds = match outer {
            Some(outer) => symbolic::compute_within(net, &bx, outer),
            // The region's box: on a large network, the longest step.
            None => match symbolic::compute_before(net, &bx, self.deadline) {
                Ok(bounds) => bounds,
                Err(_) => return self.give_up(TIME_LIMIT.into()),
            },
        };
        let mut still_open = Vec::new();
        // Per input, |coefficient| x width summed over the open disjuncts'
        // closest rows: where splitting helps the bounds most.
        let mut score = vec![0.0; bx.dim()];
        for &d in open {
            let conj = &self.prop.regions[region].unsafe_set.disjuncts[d];
            let Some(coeffs) = self.closest_row(&bx, &bounds, conj) else {
                continue;
            };
            still_open.push(d);
            let corner: Vec<f64> =
                (0..bx.dim()).map(|i| if coeffs[i] > 0.0 { bx.lower[i] } else { bx.upper[i] }).collect();
            for x in [corner, bx.center()] {
                let x = if r.input_constraints.is_empty() { x } else { r.project(&x) };
                if let Some(w) = check_witness(net, self.prop, region, &x) {
                    self.stop.store(true, Ordering::Relaxed);
                    return Node::Unsafe(w);
                }
            }
            for (s, (g, (l, u))) in score.iter_mut().zip(coeffs.iter().zip(bx.lower.iter().zip(&bx.upper))) {
                *s += g.abs() * (u - l);
            }
        }
        if still_open.is_empty() {
            return Node::Safe;
        }
        if depth >= MAX_DEPTH {
            return self.give_up(format!("boxes split {MAX_DEPTH} times without a decision"));
        }
        // Split where the bounds say it helps most, unless some side is
        // [`STARVED_RATIO`] times wider, relative to the region, than that
        // one: the bound's gradient misses inputs that only move unstable
        // neurons, and those must shrink too.
        let region_box = &self.prop.regions[region].input;
        let relative: Vec<f64> = (0..bx.dim())
            .map(|i| {
                let full = region_box.upper[i] - region_box.lower[i];
                if full > 0.0 {
                    (bx.upper[i] - bx.lower[i]) / full
                } else {
                    0.0
                }
            })
            .collect();
        let largest = |a: &(usize, f64), b: &(usize, f64)| a.1.total_cmp(&b.1);
        let widest = relative.iter().copied().enumerate().max_by(largest).expect("a box has inputs");
        let (dim, value) = match score.iter().copied().enumerate().max_by(largest) {
            Some((d, v)) if v > 0.0 && widest.1 <= STARVED_RATIO * relative[d] => (d, v),
            _ => widest,
        };
        if value <= 0.0 {
            return self.give_up("a single input point the bounds cannot decide".into());
        }
        let mid = 0.5 * (bx.lower[dim] + bx.upper[dim]);
        let (mut left, mut right) = (bx.clone(), bx);
        left.upper[dim] = mid;
        right.lower[dim] = mid;
        let (a, b) = rayon::join(
            || self.explore(region, left, &still_open, depth + 1, Some(&bounds)),
            || self.explore(region, right, &still_open, depth + 1, Some(&bounds)),
        );
        match (a, b) {
            (Node::Unsafe(w), _) | (_, Node::Unsafe(w)) => Node::Unsafe(w),
            (Node::Open, _) | (_, Node::Open) => Node::Open,
            _ => Node::Safe,
        }
    }

    /// `None` when some row of `conj` is above its right-hand side on the
    /// whole box; otherwise the input coefficients of the linear lower bound
    /// of the row that came closest.
    fn closest_row(&self, bx: &InputBox, bounds: &NetworkBounds, conj: &Conjunction) -> Option<Vec<f64>> {
        let mut closest: Option<(f64, Vec<f64>)> = None;
        for row in &conj.constraints {
            let (lower, coeffs) = symbolic::bound_linear(self.net, bx, bounds, &row.coeffs);
            if lower > row.rhs {
                return None;
            }
            if closest.as_ref().is_none_or(|(gap, _)| lower - row.rhs > *gap) {
                closest = Some((lower - row.rhs, coeffs));
            }
        }
        // An empty conjunction is always satisfied: every input is unsafe,
        // and the centre probe finds one.
        Some(closest.map_or_else(|| vec![0.0; bx.dim()], |(_, c)| c))
    }

    /// Stop every worker (one open box already makes the answer
    /// inconclusive), recording why unless a reason is already recorded.
    fn give_up(&self, reason: String) -> Node {
        self.stop.store(true, Ordering::Relaxed);
        self.gave_up.lock().expect("no worker panics holding the lock").get_or_insert(reason);
        Node::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Activation;
    use crate::testutil::{self, layer};
    use crate::verdict::{ProofMethod, UnknownReason};

    const HOLDS: Verdict = Verdict::Holds { proved_by: ProofMethod::Milp };

    fn abs_net() -> Network {
        Network::new(vec![
            layer(2, 1, &[1.0, -1.0], &[0.0, 0.0], Activation::Relu),
            layer(1, 2, &[1.0, 1.0], &[0.0], Activation::Identity),
        ])
        .unwrap()
    }

    #[test]
    fn confirms_a_true_holds_and_refutes_a_false_one() {
        let net = abs_net();
        // |x| >= 0 > -1e-3: holds.
        let safe = testutil::property(&[-1.0], &[1.0], &[&[(&[(0, 1.0)], -1e-3)]]);
        let r = cross_check(&net, &safe, &HOLDS, None, 1).unwrap();
        assert_eq!(r.result, CrossCheck::Confirmed);
        assert!(r.boxes >= 1);
        // |x| <= 0.01 near 0 only (no corner or the centre of [-0.3, 1] hits it).
        let unsafe_ = testutil::property(&[-0.3], &[1.0], &[&[(&[(0, 1.0)], 0.01)]]);
        match cross_check(&net, &unsafe_, &HOLDS, None, 2).unwrap().result {
            CrossCheck::Disagrees { witness } => assert!(witness.input()[0].abs() <= 0.01, "{witness:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn violated_is_rechecked_and_unknown_skipped() {
        let net = abs_net();
        let prop = testutil::property(&[-1.0], &[1.0], &[&[(&[(0, -1.0)], -0.9)]]);
        let witness = check_witness(&net, &prop, 0, &[0.95]).unwrap();
        let r = cross_check(&net, &prop, &Verdict::Violated { witness: witness.clone() }, None, 1).unwrap();
        assert_eq!(r.result, CrossCheck::Confirmed);
        // A forged witness fails the check again.
        let forged = Witness::unchecked(vec![0.5], witness.output().to_vec(), witness.region(), witness.disjunct());
        let r = cross_check(&net, &prop, &Verdict::Violated { witness: forged }, None, 1).unwrap();
        assert!(matches!(r.result, CrossCheck::Disagrees { .. }));
        let unknown = Verdict::Unknown { reason: UnknownReason::TimeLimit };
        assert!(matches!(cross_check(&net, &prop, &unknown, None, 1).unwrap().result, CrossCheck::Inconclusive { .. }));
    }

    #[test]
    fn thin_margins_and_deadlines_are_inconclusive() {
        let net = abs_net();
        // |x| >= 0 = rhs on the boundary: true with no margin, bounds never
        // exceed the right-hand side at x = 0.
        let touching = testutil::property(&[-1.0], &[1.0], &[&[(&[(0, 1.0)], -1e-300)]]);
        match cross_check(&net, &touching, &HOLDS, None, 1).unwrap().result {
            CrossCheck::Inconclusive { reason } => assert!(reason.contains("split"), "{reason}"),
            other => panic!("{other:?}"),
        }
        let past = Instant::now();
        let safe = testutil::property(&[-1.0], &[1.0], &[&[(&[(0, 1.0)], -1e-3)]]);
        match cross_check(&net, &safe, &HOLDS, Some(past), 1).unwrap().result {
            CrossCheck::Inconclusive { reason } => assert!(reason.contains("time"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn too_many_inputs_is_inconclusive() {
        let n = INPUT_SPLIT_MAX_DIM + 1;
        let net = Network::new(vec![layer(1, n, &vec![1.0; n], &[0.0], Activation::Relu)]).unwrap();
        let prop = testutil::property(&vec![0.0; n], &vec![1.0; n], &[&[(&[(0, 1.0)], -1.0)]]);
        match cross_check(&net, &prop, &HOLDS, None, 1).unwrap().result {
            CrossCheck::Inconclusive { reason } => assert!(reason.contains("too many"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
