//! Branch and bound over the input box, for networks with few inputs.
//!
//! A box is *safe* for an unsafe disjunct when one of its rows `c·y <= rhs`
//! has a symbolic lower bound of `c·y` above `rhs` on the whole box. Boxes
//! that are not yet safe are probed for a counterexample (the input that
//! minimises the row's linear lower bound, which is a box corner, and the
//! centre), then either split in two along the input dimension with the
//! largest `|gradient of the bound| x width`, or, when few neurons remain
//! unstable, handed to the MILP, which settles the box exactly.
//!
//! Halves are explored in parallel with `rayon::join`; the recursion is depth
//! first, so memory stays proportional to the depth times the threads. The
//! first validated counterexample stops every worker.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::bounds::{symbolic, NetworkBounds};
use crate::milp::encode::encode;
use crate::model::Network;
use crate::spec::{InputBox, Property};
use crate::verdict::{check_witness, Stats, UnknownReason, Witness};

use super::{falsify, solve_disjunct, DisjunctResult, UNSAFE_RELAX};

/// Gradient steps tried from the most promising corner of every box that
/// the bounds cannot settle: cheap next to the bounds, and it finds
/// counterexamples in small regions that global sampling misses.
pub const BOX_DESCENT_STEPS: usize = 8;

/// Boxes are never split deeper than this; deeper boxes go to the MILP.
pub const MAX_DEPTH: usize = 60;

/// Counters of a split search.
#[derive(Debug, Default)]
pub struct SplitStats {
    /// Boxes whose bounds were computed.
    pub boxes: AtomicUsize,
    /// Boxes proved safe by bounds alone.
    pub proved_by_bounds: AtomicUsize,
    /// MILPs solved (one per open disjunct of a box handed to the MILP,
    /// plus repairs).
    pub milps: AtomicUsize,
    /// Binaries of the largest MILP built.
    pub max_binaries: AtomicUsize,
}

impl SplitStats {
    /// Add these counters to a run's [`Stats`].
    pub fn add_to(&self, stats: &mut Stats) {
        stats.boxes += self.boxes.load(Ordering::Relaxed);
        stats.proved_by_bounds += self.proved_by_bounds.load(Ordering::Relaxed);
        stats.milps += self.milps.load(Ordering::Relaxed);
        stats.binaries = stats.binaries.max(self.max_binaries.load(Ordering::Relaxed));
    }
}

/// What a (sub-)search concluded.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitResult {
    /// Every open disjunct is empty on the box.
    Safe,
    /// A validated counterexample.
    Violated(Witness),
    /// Stopped without an answer.
    Unknown(UnknownReason),
}

/// Shared state of one split search.
pub struct SplitSearch<'a> {
    net: &'a Network,
    prop: &'a Property,
    deadline: Option<Instant>,
    milp_max_unstable: usize,
    stop: AtomicBool,
    found: Mutex<Option<Witness>>,
    /// Counters, readable after the search.
    pub stats: SplitStats,
}

impl<'a> SplitSearch<'a> {
    /// A search over `prop`'s regions on `net`, stopping at `deadline`; boxes
    /// with at most `milp_max_unstable` unstable neurons go to the MILP.
    pub fn new(
        net: &'a Network,
        prop: &'a Property,
        deadline: Option<Instant>,
        milp_max_unstable: usize,
    ) -> SplitSearch<'a> {
        SplitSearch {
            net,
            prop,
            deadline,
            milp_max_unstable,
            stop: AtomicBool::new(false),
            found: Mutex::new(None),
            stats: SplitStats::default(),
        }
    }

    /// Search region `region` (all its disjuncts).
    pub fn run(&self, region: usize) -> SplitResult {
        let r = &self.prop.regions[region];
        let open: Vec<usize> = (0..r.unsafe_set.disjuncts.len()).collect();
        let result = self.explore(region, r.input.clone(), open, 0, None);
        if let Some(w) = self.found.lock().expect("no worker panics while holding the lock").take() {
            return SplitResult::Violated(w);
        }
        result
    }

    fn explore(
        &self,
        region: usize,
        bx: InputBox,
        open: Vec<usize>,
        depth: usize,
        outer: Option<&NetworkBounds>,
    ) -> SplitResult {
        if self.stop.load(Ordering::Relaxed) {
            return SplitResult::Unknown(UnknownReason::TimeLimit);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return SplitResult::Unknown(UnknownReason::TimeLimit);
        }
        let net = self.net;
        let dnf = &self.prop.regions[region].unsafe_set;
        self.stats.boxes.fetch_add(1, Ordering::Relaxed);
        let bounds = match outer {
            Some(outer) => symbolic::compute_within(net, &bx, outer),
            None => symbolic::compute(net, &bx),
        };

        // Which disjuncts remain possible on this box, and the split score.
        let mut still_open = Vec::new();
        let mut score = vec![0.0; bx.dim()];
        for &d in &open {
            let conj = &dnf.disjuncts[d];
            let mut best: Option<(f64, Vec<f64>)> = None;
            let mut row_coeffs: &[(usize, f64)] = &[];
            let mut excluded = false;
            for row in &conj.constraints {
                let (lb, lin) = symbolic::bound_linear(net, &bx, &bounds, &row.coeffs);
                if lb > row.rhs + UNSAFE_RELAX {
                    excluded = true;
                    break;
                }
                if best.as_ref().is_none_or(|(g, _)| lb - row.rhs > *g) {
                    best = Some((lb - row.rhs, lin));
                    row_coeffs = &row.coeffs;
                }
            }
            if excluded {
                continue;
            }
            still_open.push(d);
            if let Some((_, lin)) = best {
                // Probe the corner that minimises the row's linear lower bound.
                let corner: Vec<f64> =
                    (0..bx.dim()).map(|i| if lin[i] > 0.0 { bx.lower[i] } else { bx.upper[i] }).collect();
                if let Some(res) = self.try_witness(region, &corner) {
                    return res;
                }
                // A few gradient steps from that corner, inside this box.
                if let Some(w) = falsify::descend(net, self.prop, region, conj, &bx, corner, BOX_DESCENT_STEPS) {
                    return self.record(w);
                }
                // ReluVal's "smear": |gradient interval| x width, with the
                // gradient taken over every linear piece the bounds allow.
                for ((sc, g), (l, u)) in
                    score.iter_mut().zip(smear(net, &bounds, row_coeffs)).zip(bx.lower.iter().zip(&bx.upper))
                {
                    *sc += g * (u - l);
                }
            }
        }
        if still_open.is_empty() {
            self.stats.proved_by_bounds.fetch_add(1, Ordering::Relaxed);
            return SplitResult::Safe;
        }
        if let Some(res) = self.try_witness(region, &bx.center()) {
            return res;
        }
        if bounds.unstable_count(net) <= self.milp_max_unstable || depth >= MAX_DEPTH {
            return self.milp(region, &bx, &bounds, &still_open);
        }
        let dim = (0..bx.dim()).max_by(|&a, &b| score[a].total_cmp(&score[b])).unwrap_or(0);
        let (left, right) = split_box(&bx, dim);
        let (a, b) = rayon::join(
            || self.explore(region, left, still_open.clone(), depth + 1, Some(&bounds)),
            || self.explore(region, right, still_open.clone(), depth + 1, Some(&bounds)),
        );
        combine(a, b)
    }

    /// Check a candidate point; on success record it and stop all workers.
    fn try_witness(&self, region: usize, x: &[f64]) -> Option<SplitResult> {
        let w = check_witness(self.net, self.prop, region, x)?;
        Some(self.record(w))
    }

    /// Record a validated witness and stop all workers.
    fn record(&self, w: Witness) -> SplitResult {
        self.stop.store(true, Ordering::Relaxed);
        self.found.lock().expect("no worker panics while holding the lock").get_or_insert(w.clone());
        SplitResult::Violated(w)
    }

    /// Settle the open disjuncts on `bx` with one MILP each.
    fn milp(&self, region: usize, bx: &InputBox, bounds: &NetworkBounds, open: &[usize]) -> SplitResult {
        let base = encode(self.net, bx, bounds);
        self.stats.max_binaries.fetch_max(base.stats.binaries, Ordering::Relaxed);
        let mut result = SplitResult::Safe;
        for &d in open {
            let conj = &self.prop.regions[region].unsafe_set.disjuncts[d];
            let mut solved = 0;
            // Workers already use every core; each MILP gets one thread.
            let outcome = solve_disjunct(self.net, self.prop, region, &base, conj, self.deadline, 1, &mut solved);
            self.stats.milps.fetch_add(solved, Ordering::Relaxed);
            match outcome {
                DisjunctResult::Proved => {}
                DisjunctResult::Violated(w) => return self.record(w),
                DisjunctResult::Unknown(r) => result = SplitResult::Unknown(r),
            }
        }
        result
    }
}

/// For each input, the largest `|d (c·y) / d x_i|` over every combination of
/// linear pieces the neuron bounds allow: the gradient is propagated backwards
/// as an interval, each unstable neuron contributing the interval of its
/// slopes. Unlike the gradient of one linear bound, this credits inputs that
/// move unstable neurons even when the current relaxation hides them.
fn smear(net: &Network, bounds: &NetworkBounds, c: &[(usize, f64)]) -> Vec<f64> {
    let mut lo = vec![0.0; net.output_dim()];
    for &(k, v) in c {
        lo[k] += v;
    }
    let mut hi = lo.clone();
    for (layer, b) in net.layers().iter().zip(&bounds.layers).rev() {
        for i in 0..lo.len() {
            let (l, u) = (b.lower[i], b.upper[i]);
            // Slopes available on [l, u]: at the ends and just past each kink inside.
            let mut smin = layer.activation.slope(i, l).min(layer.activation.slope(i, u));
            let mut smax = layer.activation.slope(i, l).max(layer.activation.slope(i, u));
            for k in layer.activation.kinks(i) {
                if l < k && k < u {
                    let (a, b) = (layer.activation.slope(i, k), layer.activation.slope(i, k - 1e-12 * (1.0 + k.abs())));
                    smin = smin.min(a).min(b);
                    smax = smax.max(a).max(b);
                }
            }
            let cands = [lo[i] * smin, lo[i] * smax, hi[i] * smin, hi[i] * smax];
            lo[i] = cands.iter().copied().fold(f64::INFINITY, f64::min);
            hi[i] = cands.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        }
        let w = &layer.affine.weights;
        let mut plo = vec![0.0; w.cols()];
        let mut phi = vec![0.0; w.cols()];
        for i in 0..w.rows() {
            for (j, &wij) in w.row(i).iter().enumerate() {
                if wij >= 0.0 {
                    plo[j] += wij * lo[i];
                    phi[j] += wij * hi[i];
                } else {
                    plo[j] += wij * hi[i];
                    phi[j] += wij * lo[i];
                }
            }
        }
        lo = plo;
        hi = phi;
    }
    lo.iter().zip(&hi).map(|(a, b)| a.abs().max(b.abs())).collect()
}

/// Split `bx` in two halves along `dim`.
fn split_box(bx: &InputBox, dim: usize) -> (InputBox, InputBox) {
    let mid = 0.5 * (bx.lower[dim] + bx.upper[dim]);
    let mut left = bx.clone();
    let mut right = bx.clone();
    left.upper[dim] = mid;
    right.lower[dim] = mid;
    (left, right)
}

/// Violated beats unknown beats safe.
fn combine(a: SplitResult, b: SplitResult) -> SplitResult {
    match (a, b) {
        (SplitResult::Violated(w), _) | (_, SplitResult::Violated(w)) => SplitResult::Violated(w),
        (SplitResult::Unknown(r), _) | (_, SplitResult::Unknown(r)) => SplitResult::Unknown(r),
        _ => SplitResult::Safe,
    }
}
