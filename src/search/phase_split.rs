//! Branch and bound over the phases of unstable neurons, for networks with
//! many inputs.
//!
//! Halving a 784-dimensional box along one input barely tightens anything,
//! but fixing the phase of one unstable neuron (ReLU splitting) does: on
//! each side of its kink the neuron is linear, so its relaxation becomes
//! exact and every later layer's bounds, recomputed under the fixed phase,
//! tighten. A *domain* is the region's input box together with a set of
//! fixed phases, represented by the root bounds with each fixed neuron's
//! interval clamped to one side of its kink (`[l, k]` or `[k, u]`): bounds
//! sound on the inputs where the fixed neurons are in those phases.
//!
//! Each unsafe disjunct of the region gets its own tree, as
//! alpha-beta-CROWN verifies each label of a classifier separately: the
//! domain is safe for a disjunct when one of its rows is excluded, and a
//! split chosen for one disjunct's row does little for another's, so one
//! shared tree must split until every disjunct closes in every leaf. On
//! MNIST-FC 256x2 property 3 (eps 0.03) a shared tree took 60 700 domains
//! and 33.7 s, one tree per disjunct 47 300 domains and 19.4 s.
//!
//! Each domain: symbolic bounds of the disjunct's rows, optimised over the
//! free relaxation lines and over multipliers of the fixed phases' own
//! constraints (`z >= k` or `z <= k`, which the clamped bounds alone do not
//! impose on the inputs), as alpha-beta-CROWN does
//! ([`symbolic::Substitution::optimised_bound`]; a child starts from its
//! parent's parameters); a row whose lower bound clears its right-hand side
//! makes the domain safe. Otherwise the input corner that minimises the
//! best row's linear bound is checked as a counterexample; then, when few
//! neurons remain unstable, a MILP ([`encode_suited`]: compact, stable
//! neurons substituted, for few inputs) settles the domain exactly; else a neuron is split and the two children
//! are bounded again ([`symbolic::refine`], the split's layer and those
//! after it, each neuron's rows with the slopes the root's optimised bounds
//! chose for it, [`symbolic::NeuronSlopes`], and with the constraints of
//! every phase fixed so far, [`symbolic::phases`]). Children whose bounds
//! contradict each other are empty and safe.
//!
//! The constraints in the neurons' bounds are what makes deep trees
//! shrink: clamping a fixed neuron's interval makes its own relaxation
//! exact, but a neuron of its layer or a later one is still bounded over
//! inputs on the fixed neuron's other side, so without them the bounds of a
//! domain barely tighten with depth. On MNIST-FC 256x2 property 1 at eps
//! 0.03 the fifth disjunct's tree took 8 513 domains without them and 373
//! with them, the third 386 804 (380 s) and 1 289 (4 s).
//!
//! The choice of neuron starts from BaBSR (Bunel et al., 2020): the bound of
//! a row `c·y` is a sum over neurons of `a (line(z))` where `a` is the row's
//! weight on that neuron; the relaxation loses at most
//! `|a| * max_z |act(z) - line(z)|` there (the line used: the lower one for
//! `a > 0`, the upper one for `a < 0`). The neurons with the largest losses
//! are candidates; each candidate's two children are bounded once, and the
//! one whose worse child comes out best is split (filtered smart branching,
//! De Palma et al., 2021; [`Settings::phase_candidates`]).
//!
//! A region with few unstable neurons at the root
//! ([`ROOT_MILP_MAX_UNSTABLE`]) gives each tree a budget of domains
//! ([`Settings::phase_tree_domains`]): a disjunct whose tree outgrows it is
//! one a MILP over the root bounds settles sooner than the tree, so the
//! tree is abandoned and its disjunct solved by that MILP. On MNIST-FC
//! 256x2 property 1 at eps 0.03, seven trees close within 1500 domains and
//! two were open after 35 000 (100 s); their root MILPs took 22 s each.
//!
//! The trees run in parallel, and both children of a split with
//! `rayon::join`; each recursion is depth first, so memory stays
//! proportional to the depth times the threads. The first validated
//! counterexample stops every worker.
//!
//! A region's linear input constraints do not enter the domains' bounds,
//! which are over the region's box and so sound for the polytope inside it;
//! the MILP leaves take them exactly (`solve_disjunct`), and corner probes
//! are projected into the polytope.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use crate::bounds::symbolic::optimise::{Constraint, Warm};
use crate::bounds::symbolic::phases::FixedPhases;
use crate::bounds::symbolic::{self, relax, NeuronSlopes};
use crate::bounds::NetworkBounds;
use crate::milp::encode::encode_suited;
use crate::model::{Activation, Network};
use crate::settings::Settings;
use crate::spec::{Conjunction, InputBox, Property};
use crate::verdict::UnknownReason;

use super::falsify;
use super::shared::{Counters, Settled, Shared};
use crate::margins::UNSAFE_RELAX;

/// Domains are never split deeper than this; deeper ones go to the MILP.
/// Each split fixes one neuron, so depth is bounded by the unstable count
/// anyway; the cap bounds the recursion (see [`WORKER_STACK_BYTES`]).
pub const MAX_DEPTH: usize = 256;

/// Stack of each search worker: a level of the depth-first recursion
/// (a domain's frame plus `rayon::join`'s) takes a few KiB, and
/// [`MAX_DEPTH`] levels must fit with room to spare. Only the pages used
/// are committed.
pub const WORKER_STACK_BYTES: usize = 64 << 20;

/// Shared state of one phase-splitting search.
pub struct PhaseSearch<'a> {
    shared: Shared<'a>,
    milp_max_unstable: usize,
    candidates: usize,
    constrained: bool,
    tree_domains: usize,
    /// Phases fixed for the whole search ([`Settings::fixed_phases`]).
    fixed: Vec<Constraint>,
}

/// Gradient steps of the slopes and multipliers of each row at the root
/// domain ([`symbolic::Substitution::optimised_bound`]); the root's
/// parameters are every later domain's starting point, so they get more.
pub const ROOT_STEPS: usize = 100;

/// Gradient steps per row in every other domain, starting from its parent's
/// parameters; each costs one substitution of the row and one forward
/// pass. Measured on three MNIST-FC 256x4 instances (60 s): 5 steps proved
/// one, 10 two (in 38 and 48 s), 20 two (in 38 and 32 s, with 1500 and
/// 1380 domains), 40 two (in 44 and 35 s); fewer steps mean more domains.
pub const DOMAIN_STEPS: usize = 20;

/// Regions with at most this many unstable neurons at the root give each
/// tree a budget of [`Settings::phase_tree_domains`] domains; a tree that
/// exceeds it is abandoned and its disjunct solved by one MILP over the
/// root bounds. On MNIST-FC 256x2 property 1 at eps 0.03 (142 unstable) two
/// disjuncts' trees were open after 35 000 domains (100 s), while each
/// root MILP took 22 s; on 256x4 property 3 at eps 0.03 (169 unstable) one
/// root MILP took 44 s and another was open at 100 s, so more binaries than
/// this are left to the trees.
pub const ROOT_MILP_MAX_UNSTABLE: usize = 160;

/// Where to split: neuron `neuron` of layer `layer`, at its kink `at`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Split {
    layer: usize,
    neuron: usize,
    at: f64,
}

impl Split {
    /// `bounds` with this neuron's interval clamped to `[at, u]` (`above`)
    /// or `[l, at]`: sound on the inputs where it is in that phase.
    fn clamp(&self, bounds: &NetworkBounds, above: bool) -> NetworkBounds {
        let mut b = bounds.clone();
        let layer = &mut b.layers[self.layer];
        if above {
            layer.lower[self.neuron] = self.at;
        } else {
            layer.upper[self.neuron] = self.at;
        }
        b
    }

    /// The fixed phase `z >= at` (`above`) or `z <= at`.
    fn fix(&self, above: bool) -> Constraint {
        Constraint { layer: self.layer, neuron: self.neuron, side: if above { 1.0 } else { -1.0 }, at: self.at }
    }
}

/// One search tree: an unsafe disjunct of a region, and the slopes each
/// neuron's bounds are refined with in its domains.
#[derive(Debug, Clone, Copy)]
struct Tree<'s> {
    region: usize,
    disjunct: usize,
    slopes: &'s NeuronSlopes,
    /// Domains the tree may take before its disjunct goes to one MILP over
    /// the root; `None`: no limit.
    budget: Option<&'s Budget>,
}

impl Tree<'_> {
    /// `true` once the tree has taken more domains than its budget.
    fn over_budget(&self) -> bool {
        self.budget.is_some_and(|b| b.spent.load(Ordering::Relaxed) > b.domains)
    }

    /// Count one more domain; `true` when that exceeds the budget.
    fn spend(&self) -> bool {
        self.budget.is_some_and(|b| b.spent.fetch_add(1, Ordering::Relaxed) >= b.domains)
    }
}

/// A tree's domain budget and the domains spent so far.
#[derive(Debug)]
struct Budget {
    domains: usize,
    spent: AtomicUsize,
}

impl<'a> PhaseSearch<'a> {
    /// A search over `prop`'s regions on `net`, stopping at `deadline`, with
    /// the MILP threshold [`Settings::phase_milp_unstable`].
    pub fn new(
        net: &'a Network,
        prop: &'a Property,
        deadline: Option<Instant>,
        settings: &Settings,
    ) -> PhaseSearch<'a> {
        PhaseSearch {
            shared: Shared::new(net, prop, deadline),
            milp_max_unstable: settings.phase_milp_unstable,
            candidates: settings.phase_candidates.max(1),
            constrained: settings.phase_constrained,
            tree_domains: settings.phase_tree_domains,
            fixed: settings.fixed_phases.clone(),
        }
    }

    /// `true` once the search found a counterexample or its deadline passed.
    pub fn stopped(&self) -> bool {
        self.shared.stopped()
    }

    /// The search's counters (`boxes` counts domains).
    pub fn stats(&self) -> &Counters {
        &self.shared.stats
    }

    /// Search region `region` from `root`, sound bounds of its whole box,
    /// refining each domain's bounds with `slopes` (those of the root's
    /// optimised bounds, or none): one tree per unsafe disjunct, the trees
    /// in parallel.
    pub fn run(&self, region: usize, root: &NetworkBounds, slopes: &NeuronSlopes) -> Settled {
        let Shared { net, prop, .. } = self.shared;
        let disjuncts = &prop.regions[region].unsafe_set.disjuncts;
        // The search starts from the domain of the fixed phases, if any.
        let Some((root, phases)) = self.fixed_root(region, root, slopes) else {
            self.shared.stats.proved_by_bounds.fetch_add(1, Ordering::Relaxed);
            return self.shared.finish(Settled::Safe);
        };
        let root = &root;
        // Trees of a region with few unstable neurons get a budget; past it
        // the disjunct goes to one MILP over the root (see the module doc).
        let budgeted = root.unstable_count(net) <= ROOT_MILP_MAX_UNSTABLE;
        let result = (0..disjuncts.len())
            .into_par_iter()
            .map(|d| {
                let params = vec![Warm::default(); disjuncts[d].constraints.len()];
                let budget = budgeted.then(|| Budget { domains: self.tree_domains, spent: AtomicUsize::new(0) });
                let tree = Tree { region, disjunct: d, slopes, budget: budget.as_ref() };
                let result = self.explore(tree, root.clone(), phases.clone(), params);
                if tree.over_budget() && !self.shared.stopped() {
                    self.milp(tree, root)
                } else {
                    result
                }
            })
            .reduce(|| Settled::Safe, Settled::and);
        self.shared.finish(result)
    }

    /// The root domain of region `region`: `root` itself without fixed
    /// phases; with them, `root` with each fixed neuron's interval clamped to
    /// its side and the layers from the first fixed one refined as a child
    /// domain's are (under the phases' constraints unless
    /// [`Settings::phase_constrained`] is off). `None` when the fixed phases
    /// admit no input of the region (an interval clamped empty, or bounds
    /// that contradict each other): nothing there is unsafe.
    fn fixed_root(
        &self,
        region: usize,
        root: &NetworkBounds,
        slopes: &NeuronSlopes,
    ) -> Option<(NetworkBounds, FixedPhases)> {
        let mut phases = FixedPhases::default();
        let Some(first) = self.fixed.iter().map(|c| c.layer).min() else {
            return Some((root.clone(), phases));
        };
        let mut clamped = root.clone();
        for c in &self.fixed {
            let b = &mut clamped.layers[c.layer];
            let split = Split { layer: c.layer, neuron: c.neuron, at: c.at };
            // Sound root bounds put z in [l, u] on the whole region, so
            // `z >= at` with `at > u` (or `z <= at` with `at < l`) is empty.
            if (c.side > 0.0 && c.at > b.upper[c.neuron]) || (c.side < 0.0 && c.at < b.lower[c.neuron]) {
                return None;
            }
            clamped = split.clamp(&clamped, c.side > 0.0);
            phases.push(*c);
        }
        let net = self.shared.net;
        let input = &self.shared.prop.regions[region].input;
        let refined = if self.constrained {
            symbolic::refine(net, input, &clamped, first..refined_end(net), slopes, Some(&mut phases))
        } else {
            symbolic::refine(net, input, &clamped, first + 1..refined_end(net), slopes, None)
        };
        (!refined.empty).then_some((refined.bounds, phases))
    }

    /// Settle `tree`'s disjunct on the domain whose bounds are `bounds` and
    /// whose fixed phases are `phases`, starting the optimisation of each of
    /// its rows from `params`.
    fn explore(&self, tree: Tree, bounds: NetworkBounds, phases: FixedPhases, mut params: Vec<Warm>) -> Settled {
        if self.shared.stopped() || tree.spend() {
            return Settled::Unknown(UnknownReason::TimeLimit);
        }
        self.shared.stats.boxes.fetch_add(1, Ordering::Relaxed);
        let Shared { net, prop, deadline, .. } = self.shared;
        let r = &prop.regions[tree.region];
        let conj = &r.unsafe_set.disjuncts[tree.disjunct];
        let sub = symbolic::Substitution::new(net, &r.input, &bounds);
        let fixes = phases.constraints();
        let open = open_row(&sub, conj, fixes, &mut params, deadline);
        // The steps may have stopped at the deadline: nothing is decided on them.
        if self.shared.stopped() {
            return Settled::Unknown(UnknownReason::TimeLimit);
        }
        let Some(open) = open else {
            self.shared.stats.proved_by_bounds.fetch_add(1, Ordering::Relaxed);
            return Settled::Safe;
        };
        let probe = falsify::into_region(r, corner(&r.input, &open.coeffs));
        if let Some(res) = self.shared.try_witness(tree.region, &probe) {
            return res;
        }
        let many_unstable = bounds.unstable_count(net) > self.milp_max_unstable;
        let ranked = rank_splits(net, &bounds, &open.trace);
        let (split, first) = match ranked.first() {
            Some(_) if fixes.len() < MAX_DEPTH && many_unstable => {
                let candidates = &ranked[..ranked.len().min(self.candidates)];
                let domain = Domain { input: &r.input, bounds: &bounds, fixes };
                domain.best_split(net, &conj.constraints[open.index].coeffs, &params[open.index], candidates)
            }
            // At the depth cap with many unstable neurons left, the MILP has
            // hundreds of binaries: it cannot finish before a deadline, and
            // HiGHS overruns its time limit on such models (a 256x6 domain
            // with 1244 binaries ended the run 11 s late). Under a deadline
            // the domain is left open; without one the MILP settles it.
            Some(_) if many_unstable && deadline.is_some() => return Settled::Unknown(UnknownReason::TimeLimit),
            _ => return self.milp(tree, &bounds),
        };
        let child = |above: bool| {
            // Checked before the child's bounds are computed: at the
            // deadline, every pending child of the depth-first recursion
            // would otherwise bound its layers first (seconds in all on
            // MNIST-FC 256x6).
            if self.shared.stopped() || tree.over_budget() {
                return Settled::Unknown(UnknownReason::TimeLimit);
            }
            let mut phases = phases.clone();
            phases.push(split.fix(above));
            // With the constraints, the split's own layer gains too (its
            // other neurons are bounded on the new side only).
            let (from, fixed) =
                if self.constrained { (split.layer, Some(&mut phases)) } else { (split.layer + 1, None) };
            let clamped = split.clamp(&bounds, above);
            let refined = symbolic::refine(net, &r.input, &clamped, from..refined_end(net), tree.slopes, fixed);
            if refined.empty {
                self.shared.stats.proved_by_bounds.fetch_add(1, Ordering::Relaxed);
                return Settled::Safe;
            }
            self.explore(tree, refined.bounds, phases, params.clone())
        };
        // The first child runs on this thread at once, the second when
        // another worker is free (or after the first).
        let (a, b) = rayon::join(|| child(first), || child(!first));
        a.and(b)
    }

    /// Settle `tree`'s disjunct on a domain (or the root) with one MILP. The
    /// fixed phases are in the bounds: the padding of the encoding leaves a
    /// clamped neuron's kink just inside its bounds, so the neuron keeps its
    /// `z` variable, bounded to its side, and the MILP is exact on the
    /// domain (test `compact_encoding_is_exact_on_a_clamped_domain`; the
    /// layered form keeps every neuron's variables anyway).
    fn milp(&self, tree: Tree, bounds: &NetworkBounds) -> Settled {
        let r = &self.shared.prop.regions[tree.region];
        let base = encode_suited(self.shared.net, &r.input, bounds);
        self.shared.solve_disjuncts(tree.region, &base, [&r.unsafe_set.disjuncts[tree.disjunct]])
    }
}

/// The row of a disjunct that its bound comes closest to excluding.
struct OpenRow {
    /// Index of the row in the disjunct.
    index: usize,
    /// How far its lower bound is below the threshold (`<= 0`).
    gap: f64,
    /// The bound's coefficients over the input.
    coeffs: Vec<f64>,
    /// The row's coefficients over each layer's output.
    trace: Vec<Vec<f64>>,
}

/// `None` when some row of `conj` is excluded by its bound on the domain
/// whose fixed phases are `fixes` (optimised from `params`, which keeps the
/// new parameters); else the row that comes closest. The steps stop at
/// `deadline` (see [`symbolic::Substitution::optimised_bound_until`]).
fn open_row(
    sub: &symbolic::Substitution,
    conj: &Conjunction,
    fixes: &[Constraint],
    params: &mut [Warm],
    deadline: Option<Instant>,
) -> Option<OpenRow> {
    let steps = if fixes.is_empty() { ROOT_STEPS } else { DOMAIN_STEPS };
    let mut best: Option<OpenRow> = None;
    for (index, (row, warm)) in conj.constraints.iter().zip(params).enumerate() {
        let threshold = row.rhs + UNSAFE_RELAX;
        let (lb, trace) = sub.optimised_bound_until(&row.coeffs, fixes, warm, steps, threshold, deadline);
        let gap = lb.lower - threshold;
        if gap > 0.0 {
            return None;
        }
        if best.as_ref().is_none_or(|b| gap > b.gap) {
            best = Some(OpenRow { index, gap, coeffs: lb.coeffs, trace });
        }
    }
    best
}

/// The corner of `input` that minimises `g·x`.
fn corner(input: &InputBox, g: &[f64]) -> Vec<f64> {
    (0..g.len()).map(|i| if g[i] > 0.0 { input.lower[i] } else { input.upper[i] }).collect()
}

/// The layers a child domain refines: those after the split, except a last
/// layer without kinks (the output layer of a classifier). No relaxation
/// and no bound of the search reads that layer's bounds (an identity is
/// exact whatever they are), and its rows, one pair per output through
/// every layer, took a fifth of the time per domain on MNIST-FC 256x2; the
/// parent's bounds stay sound for it.
fn refined_end(net: &Network) -> usize {
    let layers = net.layers();
    let last = layers.len() - 1;
    if layers[last].activation == Activation::Identity {
        last
    } else {
        last + 1
    }
}

/// A domain: the region's box, its bounds and its fixed phases.
struct Domain<'d> {
    input: &'d InputBox,
    bounds: &'d NetworkBounds,
    fixes: &'d [Constraint],
}

impl Domain<'_> {
    /// Of `candidates` (ranked by [`rank_splits`], best first), the split
    /// whose worse child bounds the row `c` highest: filtered smart
    /// branching (De Palma et al., 2021). The BaBSR-style loss only sees the
    /// relaxation a split removes; each child's bound, one substitution with
    /// the neuron clamped to that side and the row's current slopes and
    /// multipliers `warm` (no new steps, no refinement), also sees how the
    /// fixed phase combines with the rest of the row. Ties go to the higher
    /// ranked candidate.
    ///
    /// Also returns the side of the worse child (`true`: above the kink),
    /// which the search explores first: a counterexample is more likely
    /// there. On MNIST-FC 256x4 property 1 at eps 0.05 the top-ranked split
    /// with the upper side first finds one in 21 domains; the best of 4
    /// with the upper side first found none in 1961 (30 s), with the worse
    /// side first one in 25.
    fn best_split(&self, net: &Network, c: &[(usize, f64)], warm: &Warm, candidates: &[(f64, Split)]) -> (Split, bool) {
        let mut best = (candidates[0].1, true);
        if candidates.len() == 1 {
            return best;
        }
        let mut best_bound = f64::NEG_INFINITY;
        for &(_, split) in candidates {
            let child = |above: bool| {
                let bounds = split.clamp(self.bounds, above);
                let sub = symbolic::Substitution::new(net, self.input, &bounds);
                let mut fixes = self.fixes.to_vec();
                fixes.push(split.fix(above));
                sub.optimised_bound(c, &fixes, &mut warm.clone(), 0, f64::INFINITY).0.lower
            };
            let (up, down) = (child(true), child(false));
            if up.min(down) > best_bound {
                (best, best_bound) = ((split, up <= down), up.min(down));
            }
        }
        best
    }
}

/// The `k` unstable neurons to fix first in region `region` of `prop`,
/// whose whole box has the bounds `root`: each neuron's loss ([`rank_splits`])
/// for every unsafe row of the region, divided by the row's largest, summed
/// over the rows; most first, each as `(layer, neuron, kink)`. Fewer when
/// fewer neurons are unstable. `reluverify split` fixes their phases to
/// cut a region into parts.
pub fn branching_neurons(
    net: &Network,
    prop: &Property,
    region: usize,
    root: &NetworkBounds,
    k: usize,
) -> Vec<(usize, usize, f64)> {
    let r = &prop.regions[region];
    let sub = symbolic::Substitution::new(net, &r.input, root);
    let mut total: Vec<(f64, Split)> = Vec::new();
    for row in r.unsafe_set.disjuncts.iter().flat_map(|d| &d.constraints) {
        let (_, trace) = sub.linear_bound_traced(&row.coeffs);
        let ranked = rank_splits(net, root, &trace);
        let top = ranked.first().map_or(0.0, |r| r.0);
        for (loss, split) in ranked {
            let share = if top > 0.0 && top.is_finite() { (loss / top).min(1.0) } else { 1.0 };
            match total.iter_mut().find(|(_, s)| s.layer == split.layer && s.neuron == split.neuron) {
                Some(t) => t.0 += share,
                None => total.push((share, split)),
            }
        }
    }
    // Stable: equal scores keep the first row's order.
    total.sort_by(|a, b| b.0.total_cmp(&a.0));
    total.into_iter().take(k).map(|(_, s)| (s.layer, s.neuron, s.at)).collect()
}

/// The unstable neurons, ranked by how much their relaxation loses the row
/// (see the module doc), most first, each with that loss and the kink to
/// split it at (of two kinks inside, the one nearer the middle of its
/// interval).
fn rank_splits(net: &Network, bounds: &NetworkBounds, trace: &[Vec<f64>]) -> Vec<(f64, Split)> {
    let mut best: Vec<(f64, Split)> = Vec::new();
    for (j, (layer, b)) in net.layers().iter().zip(&bounds.layers).enumerate() {
        let act = &layer.activation;
        for (i, &a) in trace[j].iter().enumerate() {
            let (l, u) = (b.lower[i], b.upper[i]);
            if !act.is_unstable(i, l, u) {
                continue;
            }
            let kinks: Vec<f64> = act.kinks_inside(i, l, u).iter().map(|k| k.at).collect();
            let mid = 0.5 * (l + u);
            let Some(at) = kinks.iter().copied().min_by(|a, b| (a - mid).abs().total_cmp(&(b - mid).abs())) else {
                continue;
            };
            let rel = relax(act, i, l, u);
            // The gap between the activation and the line in use is
            // piecewise linear in z, so its largest value is at an end or a kink.
            let loss = [l, u]
                .into_iter()
                .chain(kinks)
                .filter(|z| z.is_finite())
                .map(|z| {
                    if a > 0.0 {
                        a * (act.eval(i, z) - rel.lower.at(z))
                    } else {
                        -a * (rel.upper.at(z) - act.eval(i, z))
                    }
                })
                .fold(0.0, f64::max);
            // A neuron the row does not see still ranks above none at all.
            let score = if l.is_finite() && u.is_finite() { loss } else { f64::INFINITY };
            best.push((score, Split { layer: j, neuron: i, at }));
        }
    }
    // Stable: equal losses keep the network's order.
    best.sort_by(|a, b| b.0.total_cmp(&a.0));
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::symbolic::Substitution;
    use crate::bounds::tests::{random_box, random_objective, sample};
    use crate::model::Activation;
    use crate::rng::Rng;
    use crate::spec::InputBox;
    use crate::testutil;
    use crate::testutil::layer;
    use crate::verdict::Verdict;

    /// Random networks, random fixed phases: the bound with multipliers holds
    /// at every sampled input of the domain, and the multipliers improve on
    /// the plain bound on a good share of the domains.
    #[test]
    fn split_constraint_bounds_are_sound_on_the_domain_and_help() {
        let mut rng = Rng::new(2021);
        let (mut domains, mut improved) = (0, 0);
        for _ in 0..300 {
            let net = testutil::random_network(&mut rng, 6);
            let input = random_box(&mut rng, net.input_dim());
            let mut nb = crate::bounds::symbolic::compute(&net, &input);
            let mut fixes = Vec::new();
            for _ in 0..3 {
                let trace: Vec<Vec<f64>> =
                    net.layers().iter().map(|l| (0..l.output_dim()).map(|_| rng.range(-1.0, 1.0)).collect()).collect();
                let Some(&(_, split)) = rank_splits(&net, &nb, &trace).first() else { break };
                let above = rng.below(2) == 1;
                let refined = symbolic::refine(
                    &net,
                    &input,
                    &split.clamp(&nb, above),
                    split.layer + 1..refined_end(&net),
                    &Default::default(),
                    None,
                );
                if refined.empty {
                    break;
                }
                nb = refined.bounds;
                fixes.push(split.fix(above));
            }
            if fixes.is_empty() {
                continue;
            }
            let c = random_objective(&mut rng, &net);
            let sub = Substitution::new(&net, &input, &nb);
            let (lb, _) = sub.optimised_bound(&c, &fixes, &mut Warm::default(), DOMAIN_STEPS, f64::INFINITY);
            let plain = sub.linear_bound(&c).lower;
            assert!(lb.lower >= plain);
            domains += 1;
            improved += usize::from(lb.lower > plain + 1e-9);
            for x in sample(&mut rng, &input, 400) {
                let pre = net.forward_pre_activations(&x);
                if !fixes.iter().all(|f| f.side * (pre[f.layer][f.neuron] - f.at) >= 0.0) {
                    continue;
                }
                let y = net.forward(&x);
                let v: f64 = c.iter().map(|&(k, w)| w * y[k]).sum();
                assert!(
                    v >= lb.lower - 1e-9 * (1.0 + v.abs()),
                    "{v} below the bound {} (plain {plain}) at {x:?}, fixes {fixes:?}",
                    lb.lower
                );
            }
        }
        assert!(domains > 100 && improved * 10 > domains, "improved {improved} of {domains}");
    }

    /// Random networks and rows: of the candidates, the split chosen is one
    /// whose worse child has the highest bound, each child bounded
    /// here independently (plain lines, which is what the default
    /// parameters give).
    #[test]
    fn best_split_maximises_the_worse_child() {
        let mut rng = Rng::new(515);
        let mut differs = 0;
        for _ in 0..150 {
            let net = testutil::random_network(&mut rng, 6);
            let input = random_box(&mut rng, net.input_dim());
            let nb = crate::bounds::symbolic::compute(&net, &input);
            let c = random_objective(&mut rng, &net);
            let (_, trace) = Substitution::new(&net, &input, &nb).linear_bound_traced(&c);
            let ranked = rank_splits(&net, &nb, &trace);
            if ranked.len() < 2 {
                continue;
            }
            let candidates = &ranked[..ranked.len().min(5)];
            let worse: Vec<f64> = candidates
                .iter()
                .map(|(_, s)| {
                    let child = |above| Substitution::new(&net, &input, &s.clamp(&nb, above)).linear_bound(&c).lower;
                    child(true).min(child(false))
                })
                .collect();
            let top = worse.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let domain = Domain { input: &input, bounds: &nb, fixes: &[] };
            let (chosen, _) = domain.best_split(&net, &c, &Warm::default(), candidates);
            let at = candidates.iter().position(|(_, s)| *s == chosen).expect("a candidate");
            assert!(worse[at] >= top - 1e-9 * (1.0 + top.abs()), "chose candidate {at} ({}), best {top}", worse[at]);
            differs += usize::from(at != 0);
        }
        // The children's bounds overrule the ranking now and then.
        assert!(differs > 5, "{differs}");
    }

    /// Random networks with more inputs than the compact encoding is used
    /// for (so the root MILP is the layered one) and random properties, with a budget of
    /// one domain per tree and no MILP leaves: every disjunct the root's
    /// bounds leave open goes to the root MILP, and the verdicts agree with
    /// the exact enumeration.
    #[test]
    fn root_milp_after_the_tree_budget_agrees_with_enumeration() {
        let mut rng = Rng::new(77);
        let settings = Settings {
            strategy: crate::settings::Strategy::PhaseSplit,
            phase_tree_domains: 1,
            phase_milp_unstable: 0,
            falsify_samples: 0,
            falsify_restarts: 0,
            ..Settings::default()
        };
        // Verdicts of the cases the root MILP settled.
        let (mut holds, mut violated) = (0, 0);
        for _ in 0..200 {
            if holds >= 6 && violated >= 6 {
                break;
            }
            let net = testutil::random_network_on(&mut rng, crate::milp::encode::COMPACT_MAX_INPUTS + 4, 5);
            let prop = testutil::random_property(&mut rng, &net);
            let outcome = crate::search::verify(&net, &prop, &settings).unwrap();
            if outcome.stats.milps == 0 {
                continue;
            }
            // Each tree visits its root domain only.
            assert!(outcome.stats.boxes <= prop.regions[0].unsafe_set.disjuncts.len(), "{:?}", outcome.stats);
            let m = testutil::reference(&net, &prop).margin;
            match outcome.verdict {
                Verdict::Holds { .. } => {
                    assert!(m >= UNSAFE_RELAX - 1e-9, "holds, but the reference margin is {m}");
                    holds += 1;
                }
                Verdict::Violated { .. } => {
                    assert!(m <= 1e-9, "violated, but the reference margin is {m}");
                    violated += 1;
                }
                Verdict::Unknown { reason } => panic!("unknown without a deadline: {reason:?}"),
            }
        }
        assert!(holds >= 6 && violated >= 6, "root MILPs settled {holds} holds, {violated} violated");
    }

    /// Random networks and properties cut into the four phase sets of the
    /// two neurons [`branching_neurons`] ranks highest: with no sampling,
    /// every part's search starts from its fixed phases; the parts together
    /// agree with exhaustive enumeration (holds iff every part holds), and no
    /// dense random input of a part's domain (its pre-activations on the
    /// fixed sides) is unsafe where that part holds.
    #[test]
    fn fixed_phase_parts_together_agree_with_enumeration() {
        let mut rng = Rng::new(2626);
        let (mut holds, mut violated, mut cut) = (0, 0, 0);
        for case in 0..120 {
            let net = testutil::random_network(&mut rng, 5);
            let prop = testutil::random_property(&mut rng, &net);
            let root = crate::bounds::symbolic::compute(&net, &prop.regions[0].input);
            let neurons = branching_neurons(&net, &prop, 0, &root, 2);
            if neurons.len() < 2 {
                continue;
            }
            cut += 1;
            let mut verdicts = Vec::new();
            for pattern in 0..4 {
                let fixed: Vec<Constraint> = neurons
                    .iter()
                    .enumerate()
                    .map(|(d, &(layer, neuron, at))| {
                        let side = if pattern >> d & 1 == 1 { 1.0 } else { -1.0 };
                        Constraint { layer, neuron, side, at }
                    })
                    .collect();
                let settings = Settings {
                    strategy: crate::settings::Strategy::PhaseSplit,
                    falsify_samples: 0,
                    falsify_restarts: 0,
                    fixed_phases: fixed.clone(),
                    ..Settings::default()
                };
                let verdict = crate::search::verify(&net, &prop, &settings).unwrap().verdict;
                if let Verdict::Holds { .. } = verdict {
                    for (r, region) in prop.regions.iter().enumerate() {
                        for x in sample(&mut rng, &region.input, 300) {
                            let pre = net.forward_pre_activations(&x);
                            let inside = fixed.iter().all(|f| f.side * (pre[f.layer][f.neuron] - f.at) >= 0.0);
                            if inside && region.meets_input_constraints(&x) {
                                let y = net.forward(&x);
                                assert!(
                                    region.unsafe_set.disjuncts.iter().all(|d| d.max_violation(&y) > -1e-9),
                                    "case {case}: part {pattern} holds, but {x:?} in region {r} is unsafe"
                                );
                            }
                        }
                    }
                }
                verdicts.push(verdict);
            }
            let m = testutil::reference(&net, &prop).margin;
            if verdicts.iter().any(|v| matches!(v, Verdict::Violated { .. })) {
                assert!(m <= 1e-9, "case {case}: a part is violated, but the reference margin is {m}");
                violated += 1;
            } else {
                assert!(verdicts.iter().all(|v| matches!(v, Verdict::Holds { .. })), "case {case}: {verdicts:?}");
                assert!(m >= UNSAFE_RELAX - 1e-9, "case {case}: every part holds, but the reference margin is {m}");
                holds += 1;
            }
        }
        assert!(cut >= 40 && holds >= 10 && violated >= 10, "cut {cut}: holds {holds}, violated {violated}");
    }

    /// Two unstable ReLUs of x on [-1, 1] weighted `w0`, `w1` in the output:
    /// the neuron with the heavier weight loses the bound more and is split,
    /// at its kink.
    #[test]
    fn splits_the_neuron_that_costs_the_bound_most() {
        for (w0, w1, want) in [(10.0, 0.1, 0), (0.1, 10.0, 1), (-3.0, 1.0, 0), (1.0, -3.0, 1)] {
            let net = Network::new(vec![
                layer(2, 1, &[1.0, -1.0], &[0.2, 0.3], Activation::Relu),
                layer(1, 2, &[w0, w1], &[0.0], Activation::Identity),
            ])
            .unwrap();
            let input = InputBox::new(vec![-1.0], vec![1.0]).unwrap();
            let nb = crate::bounds::symbolic::compute(&net, &input);
            for c in [1.0, -1.0] {
                let (_, trace) = Substitution::new(&net, &input, &nb).linear_bound_traced(&[(0, c)]);
                let (loss, split) = rank_splits(&net, &nb, &trace)[0];
                assert!(loss > 0.0);
                assert_eq!((split.layer, split.neuron, split.at), (0, want, 0.0), "weights {w0} {w1}, c {c}");
            }
        }
    }
}
