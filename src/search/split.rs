//! Branch and bound over the input box, for networks with few inputs.
//!
//! Every box gets neuron bounds (symbolic by default, refined from its parent
//! box's), then, for each unsafe conjunction still open, linear lower bounds
//! of its rows as functions of the input (on boxes [`SPLIT_ROW_MIN_DEPTH`]
//! deep or more, also with relaxations optimised for each row, carried from
//! parent to child so the optimisation continues down a branch). The box is
//! *safe* for the conjunction when one row's bound, or the bound of a blend
//! of two rows, lies above its right-hand side on the whole box
//! (`refute.rs`); otherwise those linear bounds cut the box down to a smaller
//! box that holds all its unsafe inputs, and a box that shrank by
//! [`MIN_SHRINK`] is bounded again instead of being split. Open boxes are
//! probed for a counterexample (the corner that minimises the best row's
//! bound, and the centre), then either split in two along the input with
//! the largest `|gradient range| x width`, or, when
//! few neurons remain unstable, handed to a compact MILP (stable neurons
//! substituted), which settles the box exactly. Every [`ATTACK_EVERY`] boxes
//! a worker also runs one gradient descent from a random point of the whole
//! region.
//!
//! A region's linear input constraints `a·x <= b` are cuts of exactly the
//! kind the bounds give (every unsafe input satisfies them), so they join
//! each conjunction's cuts: a box they leave no point of (alone, or blended
//! with a row's cut) is dropped as proved, and they tighten the box like
//! the others. Probes are projected into the polytope, and MILP leaves take
//! the constraints exactly (`solve_disjunct`).
//!
//! Halves are explored in parallel with `rayon::join`; the recursion is depth
//! first, so memory stays proportional to the depth times the threads. The
//! first validated counterexample stops every worker.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::bounds::symbolic::optimise::Warm;
use crate::bounds::{interval, symbolic, BoundMethod, NetworkBounds};
use crate::milp::encode::encode_compact;
use crate::model::Network;
use crate::rng::Rng;
use crate::settings::Settings;
use crate::spec::{Conjunction, InputBox, Property};
use crate::verdict::UnknownReason;

use super::shared::{Counters, Settled, Shared};
use super::{falsify, refute};
use crate::margins::UNSAFE_RELAX;

/// Boxes are never split (or tightened) deeper than this; deeper boxes go
/// to the MILP.
pub const MAX_DEPTH: usize = 60;

/// A box whose unsafe inputs the cuts confine to a box at least this much
/// narrower in some dimension (as a fraction of its width) is re-bounded on
/// that smaller box instead of being split: one bounds computation instead
/// of two, on a box that may be much smaller than either half.
pub const MIN_SHRINK: f64 = 0.1;

/// Every this many boxes of a region, a worker runs one gradient descent
/// from a random point of the whole region (`falsify::restart_region`),
/// costing about as much as a box on ACAS Xu. A region settled in fewer
/// boxes (learned-index properties have thousands of tiny ones, settled in
/// one or two boxes each) runs none: there the descents took half the time. Counterexamples confined to a small part of a large region
/// (ACAS Xu net 1_9, property 7) are found this way long before the split
/// search reaches them, while a proof pays about `1 / ATTACK_EVERY` extra.
pub const ATTACK_EVERY: usize = 8;

/// Gradient steps of optimised relaxations ([`symbolic::Substitution::optimised_bound`])
/// spent on each unsafe row of a box at depth [`SPLIT_ROW_MIN_DEPTH`] or
/// more, warm-started from the parent box's slopes, so the steps accumulate
/// down a branch. Measured over all 186 ACAS Xu instances (2 threads, paired
/// runs, two machines): the whole set took 0.68x and 0.74x the wall time of
/// plain bounds (14.7 s instead of 19.9 s on the faster machine; net 4_2
/// property 2: 41 714 boxes and 1994 MILPs become 11 290 boxes and none);
/// 1 step gained less, 3 steps cost more than they saved.
pub const SPLIT_ROW_STEPS: usize = 2;

/// Shallower boxes use the plain bounds only: near the root the boxes are
/// wide, few of them are settled by a slightly better bound, and every
/// instance pays for them (gating at depth 12 beat depths 0, 5 and 8 on the
/// ACAS Xu set, mostly by keeping the easy instances as fast as before).
pub const SPLIT_ROW_MIN_DEPTH: usize = 12;

/// Passes of [`refute::tighten`] over the cuts of a conjunction.
pub const TIGHTEN_ROUNDS: usize = 2;

/// One input-splitting search: the state its workers share, and its settings.
pub struct SplitSearch<'a> {
    shared: Shared<'a>,
    /// Boxes bounded so far in each region (for [`ATTACK_EVERY`]).
    region_boxes: Vec<AtomicUsize>,
    box_bounds: BoundMethod,
    milp_max_unstable: usize,
    seed: u64,
}

impl<'a> SplitSearch<'a> {
    /// A search over `prop`'s regions on `net`, stopping at `deadline`, with
    /// the box bounds ([`Settings::split_bounds`]: interval, else symbolic),
    /// MILP threshold ([`Settings::split_milp_unstable`]) and seed of
    /// `settings`.
    pub fn new(
        net: &'a Network,
        prop: &'a Property,
        deadline: Option<Instant>,
        settings: &Settings,
    ) -> SplitSearch<'a> {
        SplitSearch {
            shared: Shared::new(net, prop, deadline),
            region_boxes: prop.regions.iter().map(|_| AtomicUsize::new(0)).collect(),
            box_bounds: settings.split_bounds,
            milp_max_unstable: settings.split_milp_unstable,
            seed: settings.seed,
        }
    }

    /// `true` once the search found a counterexample or its deadline passed.
    pub fn stopped(&self) -> bool {
        self.shared.stopped()
    }

    /// The search's counters.
    pub fn stats(&self) -> &Counters {
        &self.shared.stats
    }

    /// Search region `region` (all its disjuncts). `root`, when given, are
    /// bounds of the region's whole box (symbolic, or tighter such as
    /// LP-tightened ones), taken as that box's bounds.
    pub fn run(&self, region: usize, root: Option<&NetworkBounds>) -> Settled {
        let r = &self.shared.prop.regions[region];
        let open: Vec<usize> = (0..r.unsafe_set.disjuncts.len()).collect();
        let warm: Vec<Vec<Warm>> =
            r.unsafe_set.disjuncts.iter().map(|c| vec![Warm::default(); c.constraints.len()]).collect();
        let input_cuts: Vec<refute::Cut> = r
            .input_constraints
            .iter()
            .map(|c| {
                let mut a = vec![0.0; r.input.dim()];
                for &(i, v) in &c.coeffs {
                    a[i] += v;
                }
                refute::Cut { a, b: c.rhs }
            })
            .collect();
        let result = self.explore(region, r.input.clone(), open, 0, root, warm, &input_cuts);
        self.shared.finish(result)
    }

    /// Search `bx` for the disjuncts `open` of `region`, within the bounds
    /// `outer` of its parent box, `input_cuts` being the region's input
    /// constraints as cuts.
    #[allow(clippy::too_many_arguments)]
    fn explore(
        &self,
        region: usize,
        bx: InputBox,
        open: Vec<usize>,
        depth: usize,
        outer: Option<&NetworkBounds>,
        mut warm: Vec<Vec<Warm>>,
        input_cuts: &[refute::Cut],
    ) -> Settled {
        if self.shared.stopped() {
            return Settled::Unknown(UnknownReason::TimeLimit);
        }
        let Shared { net, prop, deadline, .. } = self.shared;
        let dnf = &prop.regions[region].unsafe_set;
        self.shared.stats.boxes.fetch_add(1, Ordering::Relaxed);
        let n = self.region_boxes[region].fetch_add(1, Ordering::Relaxed);
        if n % ATTACK_EVERY == ATTACK_EVERY - 1 {
            // One global descent from a random start, seeded by the region
            // and its box count.
            let start = falsify::Start::Random(&mut Rng::new(self.seed ^ n as u64 ^ (region as u64) << 32));
            let found = falsify::restart_region(net, prop, region, start, falsify::FIRST_STEP, deadline);
            if let Some(w) = found {
                return self.shared.record(w);
            }
        }
        // Which disjuncts remain possible on this box, the box that holds
        // their unsafe inputs, and the split score. The network is relaxed
        // once for the rows of every disjunct (the symbolic bounds within
        // a parent's give those relaxations on the way).
        let (bounds, sub) = match (self.box_bounds, outer) {
            // The region's root bounds were computed on this very box
            // (symbolic, or tighter): bounding it again gives them back.
            (_, Some(root)) if depth == 0 => Self::with_substitution(net, &bx, root.clone()),
            (BoundMethod::Interval, Some(outer)) => {
                Self::with_substitution(net, &bx, interval::compute_within(net, &bx, outer))
            }
            (BoundMethod::Interval, None) => Self::with_substitution(net, &bx, interval::compute(net, &bx)),
            (_, Some(outer)) => symbolic::compute_within_substitution(net, &bx, outer),
            (_, None) => Self::with_substitution(net, &bx, symbolic::compute(net, &bx)),
        };
        let mut still_open = Vec::new();
        let mut unsafe_hull: Option<InputBox> = None;
        let mut score = vec![0.0; bx.dim()];
        for &d in &open {
            let conj = &dnf.disjuncts[d];
            let part = Self::open_part(&sub, &bx, conj, &mut warm[d], depth, input_cuts);
            let Some(OpenPart { within, lin, row: row_coeffs }) = part else {
                continue;
            };
            still_open.push(d);
            unsafe_hull = Some(match unsafe_hull {
                Some(h) => refute::hull(&h, &within),
                None => within,
            });
            // Probe the corner that minimises the best row's linear lower bound.
            let corner: Vec<f64> =
                (0..bx.dim()).map(|i| if lin[i] > 0.0 { bx.lower[i] } else { bx.upper[i] }).collect();
            let corner = falsify::into_region(&prop.regions[region], corner);
            if let Some(res) = self.shared.try_witness(region, &corner) {
                return res;
            }
            // No gradient steps from it: eight per open box cost ACAS Xu 9%
            // of its total time on the boxes that hold and saved 0.3 s on
            // those violated (the descents from random starts every
            // ATTACK_EVERY boxes, and the MILP at the leaves, find them).
            // ReluVal's "smear": |gradient interval| (times the width, below),
            // with the gradient taken over every linear piece the bounds allow.
            // With one input there is nothing to choose.
            if bx.dim() > 1 {
                for (sc, g) in score.iter_mut().zip(smear(net, &bounds, row_coeffs)) {
                    *sc += g;
                }
            }
        }
        let Some(unsafe_hull) = unsafe_hull else {
            self.shared.stats.proved_by_bounds.fetch_add(1, Ordering::Relaxed);
            return Settled::Safe;
        };
        // Every unsafe input lies in the hull: when it is noticeably smaller,
        // continue on it alone (its bounds are tighter) instead of splitting.
        if refute::shrinkage(&bx, &unsafe_hull) >= MIN_SHRINK && depth < MAX_DEPTH {
            return self.explore(region, unsafe_hull, still_open, depth + 1, Some(&bounds), warm, input_cuts);
        }
        if let Some(res) = self.shared.try_witness(region, &falsify::into_region(&prop.regions[region], bx.center())) {
            return res;
        }
        // The bounds of `bx` hold on its sub-box `unsafe_hull` too.
        if bounds.unstable_count(net) <= self.milp_max_unstable || depth >= MAX_DEPTH {
            let base = encode_compact(net, &unsafe_hull, &bounds);
            return self.shared.solve_disjuncts(region, &base, still_open.iter().map(|&d| &dnf.disjuncts[d]));
        }
        let h = &unsafe_hull;
        let dim = (0..h.dim())
            .map(|i| (i, score[i] * (h.upper[i] - h.lower[i])))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(i, _)| i);
        let (left, right) = split_box(&unsafe_hull, dim);
        let (left_open, left_warm) = (still_open.clone(), warm.clone());
        let (a, b) = rayon::join(
            || self.explore(region, left, left_open, depth + 1, Some(&bounds), left_warm, input_cuts),
            || self.explore(region, right, still_open, depth + 1, Some(&bounds), warm, input_cuts),
        );
        a.and(b)
    }

    /// `bounds` of `bx`, with the substitution through their relaxations.
    fn with_substitution<'n>(
        net: &'n Network,
        bx: &'n InputBox,
        bounds: NetworkBounds,
    ) -> (NetworkBounds, symbolic::Substitution<'n>) {
        let sub = symbolic::Substitution::new(net, bx, &bounds);
        (bounds, sub)
    }

    /// What the bounds leave of conjunction `conj` on `bx`: `None` when they
    /// prove it empty there, else a box holding all its unsafe inputs, with
    /// the input coefficients and output row of its most nearly excluded
    /// row (for the corner probe and the split score).
    ///
    /// Each row is bounded on its own first, by the plain substitution and,
    /// from depth [`SPLIT_ROW_MIN_DEPTH`], also with optimised relaxations
    /// warm-started from `warm` (the parent's, one per row); the better of
    /// the two bounds is used. With several rows, the best
    /// blend of two rows' cuts ([`refute::best_pair`]) is tried, then the
    /// same blend of the rows themselves is bounded by a fresh substitution,
    /// whose relaxations are chosen for the blend and so are tighter still.
    /// The region's input constraints, `input_cuts`, join the rows' cuts
    /// (pairs and tightening alike). The box is then tightened by every cut
    /// found.
    fn open_part<'c>(
        sub: &symbolic::Substitution,
        bx: &InputBox,
        conj: &'c Conjunction,
        warm: &mut [Warm],
        depth: usize,
        input_cuts: &[refute::Cut],
    ) -> Option<OpenPart<'c>> {
        let mut cuts = Vec::with_capacity(conj.constraints.len() + 1 + input_cuts.len());
        // The row whose bound comes closest to excluding the box: its gap
        // to the threshold, input coefficients and output row.
        let mut best_gap = f64::NEG_INFINITY;
        let (mut best, mut best_lin): (Option<usize>, Vec<f64>) = (None, Vec::new());
        let steps = if depth >= SPLIT_ROW_MIN_DEPTH { SPLIT_ROW_STEPS } else { 0 };
        for (r, row) in conj.constraints.iter().enumerate() {
            let mut lb = sub.linear_bound(&row.coeffs);
            if lb.lower > row.rhs + UNSAFE_RELAX {
                return None;
            }
            if steps > 0 {
                let (opt, _) = sub.optimised_bound(&row.coeffs, &[], &mut warm[r], steps, row.rhs + UNSAFE_RELAX);
                if opt.lower > row.rhs + UNSAFE_RELAX {
                    return None;
                }
                if opt.lower > lb.lower {
                    lb = opt;
                }
            }
            cuts.push(refute::Cut::new(&lb, row.rhs + UNSAFE_RELAX));
            if best.is_none() || lb.lower - row.rhs > best_gap {
                best_gap = lb.lower - row.rhs;
                best = Some(r);
                best_lin = lb.coeffs;
            }
        }
        // Cut k < rows is row k's; the input constraints' follow.
        let rows = cuts.len();
        cuts.extend_from_slice(input_cuts);
        if let Some((a, b, t, excess)) = refute::best_pair(&cuts, bx) {
            if excess > 0.0 {
                return None;
            }
            // The blended row t c_a + (1 - t) c_b <= t rhs_a + (1 - t) rhs_b
            // holds at every unsafe output; bound it as a whole (a blend
            // with an input constraint has no output row to bound).
            if a < rows && b < rows {
                let (ra, rb) = (&conj.constraints[a], &conj.constraints[b]);
                let coeffs: Vec<(usize, f64)> = ra
                    .coeffs
                    .iter()
                    .map(|&(k, v)| (k, t * v))
                    .chain(rb.coeffs.iter().map(|&(k, v)| (k, (1.0 - t) * v)))
                    .collect();
                let rhs = t * ra.rhs + (1.0 - t) * rb.rhs;
                let lb = sub.linear_bound(&coeffs);
                if lb.lower > rhs + UNSAFE_RELAX {
                    return None;
                }
                cuts.push(refute::Cut::new(&lb, rhs + UNSAFE_RELAX));
            }
        }
        let within = refute::tighten(bx, &cuts, TIGHTEN_ROUNDS)?;
        // An empty conjunction (every output unsafe) has no row to report.
        let Some(best) = best else {
            return Some(OpenPart { within, lin: vec![0.0; bx.dim()], row: &[] });
        };
        Some(OpenPart { within, lin: best_lin, row: &conj.constraints[best].coeffs })
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
            // Slopes available on [l, u]: at the ends and on both sides of each kink inside.
            let (smin, smax) = layer.activation.slope_range(i, l, u);
            let cands = [lo[i] * smin, lo[i] * smax, hi[i] * smin, hi[i] * smax];
            lo[i] = cands.iter().copied().fold(f64::INFINITY, f64::min);
            hi[i] = cands.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        }
        let w = &layer.affine.weights;
        let mut plo = vec![0.0; w.cols()];
        let mut phi = vec![0.0; w.cols()];
        for i in 0..w.rows() {
            let (l, h) = (lo[i], hi[i]);
            // A gradient interval of [0, 0] (a neuron dead on the whole box,
            // or one no row reaches) adds only zeros: skipped, with the same
            // sums (they start at +0, so adding a zero never changes them).
            if l == 0.0 && h == 0.0 {
                continue;
            }
            match w.dense() {
                // The same products and sums as the sparse loop, in the same
                // order, written with selects instead of a branch so that
                // the loop over the row vectorises.
                Some(d) => {
                    for ((pl, ph), &wij) in plo.iter_mut().zip(phi.iter_mut()).zip(d.row(i)) {
                        let pos = wij >= 0.0;
                        *pl += wij * if pos { l } else { h };
                        *ph += wij * if pos { h } else { l };
                    }
                }
                None => {
                    for (j, wij) in w.row(i).iter() {
                        if wij >= 0.0 {
                            plo[j] += wij * l;
                            phi[j] += wij * h;
                        } else {
                            plo[j] += wij * h;
                            phi[j] += wij * l;
                        }
                    }
                }
            }
        }
        lo = plo;
        hi = phi;
    }
    lo.iter().zip(&hi).map(|(a, b)| a.abs().max(b.abs())).collect()
}

/// The input along which to halve `bx` (whose neuron bounds are `bounds`)
/// for the rows `rows`: the largest sum over the rows of [`smear`] times the
/// box's width, as the search chooses; ties and a zero score go to the
/// widest input. `reluverify split` cuts a region into parts this way.
pub fn split_dimension<'r>(
    net: &Network,
    bx: &InputBox,
    bounds: &NetworkBounds,
    rows: impl IntoIterator<Item = &'r [(usize, f64)]>,
) -> usize {
    let mut score = vec![0.0; bx.dim()];
    for row in rows {
        for (sc, g) in score.iter_mut().zip(smear(net, bounds, row)) {
            *sc += g;
        }
    }
    let width = |i: usize| bx.upper[i] - bx.lower[i];
    let key = |i: usize| (score[i] * width(i), width(i));
    (0..bx.dim())
        .fold(0, |best, i| if key(i).partial_cmp(&key(best)) == Some(std::cmp::Ordering::Greater) { i } else { best })
}

/// Split `bx` in two halves along `dim`: the two boxes share the middle
/// face, so together they are exactly `bx`.
pub fn split_box(bx: &InputBox, dim: usize) -> (InputBox, InputBox) {
    let mid = 0.5 * (bx.lower[dim] + bx.upper[dim]);
    let mut left = bx.clone();
    let mut right = bx.clone();
    left.upper[dim] = mid;
    right.lower[dim] = mid;
    (left, right)
}

/// What [`SplitSearch::open_part`] leaves of a conjunction on a box.
struct OpenPart<'c> {
    /// A box holding all its unsafe inputs.
    within: InputBox,
    /// Input coefficients of the linear bound of its most nearly excluded row.
    lin: Vec<f64>,
    /// That row's output coefficients.
    row: &'c [(usize, f64)],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{random_network, random_property};

    /// Independent check of what the bounds leave of a conjunction on a box:
    /// every dense random point of the box whose output is unsafe for it
    /// must lie in the part left open, by the plain rows (depth 0) and by
    /// the optimised ones (deep, called repeatedly as down a branch so the
    /// warm start is exercised). The optimised rows must also settle some
    /// boxes the plain ones leave open, or the deep path is not tested.
    #[test]
    fn optimised_rows_keep_every_unsafe_point() {
        let mut rng = Rng::new(23);
        let (mut unsafe_points, mut gained) = (0, 0);
        for _ in 0..300 {
            let net = random_network(&mut rng, 6);
            let prop = random_property(&mut rng, &net);
            let bx = &prop.regions[0].input;
            let bounds = symbolic::compute(&net, bx);
            let sub = symbolic::Substitution::new(&net, bx, &bounds);
            let points: Vec<(Vec<f64>, Vec<f64>)> = (0..1000)
                .map(|_| {
                    let x: Vec<f64> = (0..bx.dim()).map(|i| rng.range(bx.lower[i], bx.upper[i])).collect();
                    let y = net.forward(&x);
                    (x, y)
                })
                .collect();
            for conj in &prop.regions[0].unsafe_set.disjuncts {
                let fresh = || vec![Warm::default(); conj.constraints.len()];
                let plain = SplitSearch::open_part(&sub, bx, conj, &mut fresh(), 0, &[]);
                let mut warm = fresh();
                let deep: Vec<_> = (0..3)
                    .map(|_| SplitSearch::open_part(&sub, bx, conj, &mut warm, SPLIT_ROW_MIN_DEPTH, &[]))
                    .collect();
                for (x, y) in &points {
                    if conj.max_violation(y) > 0.0 {
                        continue;
                    }
                    unsafe_points += 1;
                    for part in std::iter::once(&plain).chain(&deep) {
                        let part = part.as_ref().expect("a box with an unsafe point is left open");
                        assert!(part.within.contains(x), "unsafe point {x:?} cut off");
                    }
                }
                gained += usize::from(plain.is_some() && deep.last().is_some_and(Option::is_none));
            }
        }
        assert!(unsafe_points > 1000 && gained > 0, "{unsafe_points} unsafe points, {gained} boxes gained");
    }
}
