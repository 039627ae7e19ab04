//! From a network and a property to a verdict.
//!
//! [`verify`] runs the stages in order of cost: sampling for a quick
//! counterexample, neuron bounds (which may exclude the unsafe set outright),
//! then a proof search: input splitting (`split.rs`), phase splitting
//! (`phase_split.rs`) or one MILP per (region, unsafe disjunct). The
//! property holds only if every disjunct of every region is proved empty;
//! any validated witness settles "violated"; anything else is "unknown".
//!
//! Regions with linear input constraints first get their box shrunk to the
//! box enclosing their polytope ([`milp::polytope`](crate::milp::polytope));
//! a region whose polytope is empty holds vacuously and is left out, with a
//! warning. Every stage then works on the shrunk box (bounds on the box are
//! sound for the polytope inside it) and takes the constraints where it can:
//! the MILP and LP leaves exactly, input splitting as cuts that drop boxes
//! missing the polytope, falsification by projecting its points into the
//! polytope, and the witness check exactly.
//!
//! A network that ends in an output activation (softmax, tanh, ...) is
//! searched on its logits, with the property restated there exactly by
//! [`logits::translate`]; a counterexample found on the logits is then
//! checked on the whole network against the original property, and one that
//! fails that check gives "unknown" ([`UnknownReason::ActivatedWitness`]).
//!
//! [`Settings::timeout`] sets one deadline for the whole run, and every
//! stage polls it: the falsification per sample and per descent, the bounds
//! per level of substitution, per neuron and per LP (see
//! [`neuron_bounds::compute_before`]), the searches per box or domain, and each
//! MILP and LP gets the time left as its HiGHS time limit. Past it, a stage
//! stops and the run answers "unknown" (time limit); bounds cut short are
//! never used ([`bounds::Expired`]).

pub mod cross_check;
pub mod falsify;
pub mod neuron_bounds;
pub mod phase_split;
pub mod refute;
pub mod shared;
pub mod split;
#[cfg(test)]
mod stress;

use crate::margins::UNSAFE_RELAX;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::bounds::{self, past, symbolic, BoundMethod, NetworkBounds};
use crate::error::{Error, ErrorKind, Result};
use crate::milp::encode::encode;
use crate::milp::polytope::{enclosing_box, Enclosure};
use crate::milp::scaling::Scaling;
use crate::model::Network;
use crate::model::OutputActivation;
use crate::settings::{Settings, Strategy};
use crate::spec::{logits, Conjunction, InputBox, Property, Region};
use crate::verdict::{check_witness, Outcome, ProofMethod, RootBounds, SearchPath, Stats, UnknownReason, Verdict};
use shared::{Settled, Shared};

/// `true` when bounds alone show that no output satisfies `conj`: some row's
/// symbolic lower bound of `c·y` over the box exceeds its right-hand side
/// plus [`UNSAFE_RELAX`].
pub fn bounds_exclude(net: &Network, input: &InputBox, nb: &NetworkBounds, conj: &Conjunction) -> bool {
    conj.constraints.iter().any(|c| symbolic::bound_linear(net, input, nb, &c.coeffs).0 > c.rhs + UNSAFE_RELAX)
}

/// Layers where some neuron has a kink (identity layers, and layers of
/// pass-through neurons only, do not count).
///
/// With one such layer and many inputs, [`Strategy::Auto`] takes the MILP
/// over phase splitting: that layer's pre-activation bounds are an affine
/// map of the box and so exact, nothing after it can be tightened by a
/// split, and each phase-split domain's bound is then the triangle LP with
/// the domain's fixed phases, which HiGHS's own branch and bound solves
/// faster, with cuts and warm-started simplex. On verivital's
/// one-convolution network (23k ReLUs, 5.3k unstable at eps 0.04) the MILP
/// settled all 30 instances, the longest in 9 s, where phase splitting
/// left 3 open at 60 s; with a max pool after the convolution (more
/// layers of kinks) phase splitting was faster (12-22 s against 31 s).
fn activation_layers(net: &Network) -> usize {
    net.layers().iter().filter(|l| (0..l.output_dim()).any(|i| !l.activation.hinges(i).terms().is_empty())).count()
}

/// Inputs of at most this many dimensions are searched by input splitting
/// under [`Strategy::Auto`]: halving a box along one of few dimensions
/// tightens bounds quickly, while for image-sized inputs it does not. Larger
/// inputs get phase splitting: on MNIST-FC with a 20 s cap it answers as
/// many instances as the whole-region MILP with a 60 s cap (52 of the 71
/// with known answers), in 40% of the time.
pub const INPUT_SPLIT_MAX_DIM: usize = 16;

/// Random samples per region for inputs of more than
/// [`INPUT_SPLIT_MAX_DIM`] dimensions: uniform points almost never hit a
/// small unsafe region of a high-dimensional box (gradient descent does), and
/// each costs a forward pass of what is then usually a large network.
pub const HIGH_DIM_SAMPLES: usize = 256;

/// Verify `prop` on `net`.
///
/// Errors only for unusable input (a property that does not fit the network:
/// declared counts or dimensions that do not match, a constraint with no
/// exact form on the logits of an output activation; invalid settings);
/// every solver outcome is a [`Verdict`]. [`Property::warnings`] come first
/// in the outcome's warnings.
pub fn verify(net: &Network, prop: &Property, settings: &Settings) -> Result<Outcome> {
    settings.validate()?;
    prop.check_dims(net.input_dim(), net.output_dim())?;
    check_fixed_phases(net, settings)?;
    let mut outcome = match net.output_activation() {
        None => search(net, prop, settings)?,
        Some(act) => search_logits(net, prop, act, settings)?,
    };
    let mut warnings = prop.warnings();
    warnings.append(&mut outcome.stats.warnings);
    outcome.stats.warnings = warnings;
    Ok(outcome)
}

/// Refuse fixed phases ([`Settings::fixed_phases`]) naming a neuron the
/// network does not have.
fn check_fixed_phases(net: &Network, settings: &Settings) -> Result<()> {
    let layers = net.layers();
    match settings.fixed_phases.iter().find(|c| layers.get(c.layer).is_none_or(|l| c.neuron >= l.output_dim())) {
        Some(c) => Err(Error::new(
            ErrorKind::Usage,
            format!(
                "a fixed phase names neuron {} of layer {}, which the network ({} layers) does not have",
                c.neuron,
                c.layer,
                layers.len()
            ),
        )),
        None => Ok(()),
    }
}

/// Verify `prop` on `net`, which ends in `act`: restate the property on the
/// logits, search the network without its activation, and check a
/// counterexample again on the whole network against `prop`.
fn search_logits(net: &Network, prop: &Property, act: OutputActivation, settings: &Settings) -> Result<Outcome> {
    let start = Instant::now();
    let translated = logits::translate(prop, act)?;
    let mut outcome = if translated.property.regions.is_empty() {
        // No constraint can be met within the activation's range.
        let stats = Stats { neurons: net.activation_neurons(), ..Stats::default() };
        Outcome { verdict: Verdict::Holds { proved_by: ProofMethod::Bounds }, stats }
    } else {
        search(&net.clone().with_output_activation(None), &translated.property, settings)?
    };
    if let Verdict::Violated { witness } = &outcome.verdict {
        outcome.verdict = match check_witness(net, prop, translated.regions[witness.region()], witness.input()) {
            Some(witness) => Verdict::Violated { witness },
            None => Verdict::Unknown { reason: UnknownReason::ActivatedWitness },
        };
    }
    outcome.stats.notes = translated.notes;
    outcome.stats.elapsed = start.elapsed();
    Ok(outcome)
}

/// The search of [`verify`] on a network without output activation and a
/// property that fits it.
fn search(net: &Network, prop: &Property, settings: &Settings) -> Result<Outcome> {
    let start = Instant::now();
    let deadline = settings.timeout.map(|t| start + t);
    let mut stats = Stats { neurons: net.activation_neurons(), ..Stats::default() };
    let Some(enclosed) = enclose_polytopes(prop, settings.threads) else {
        return verify_boxes(net, prop, settings, start, deadline, stats);
    };
    let empty: Vec<String> = (0..prop.regions.len())
        .filter(|r| !enclosed.origin.contains(r))
        .map(|r| {
            format!("region {r}: its input constraints admit no input (the polytope is empty), so it holds vacuously")
        })
        .collect();
    let mut outcome = if enclosed.prop.regions.is_empty() {
        stats.elapsed = start.elapsed();
        Outcome { verdict: Verdict::Holds { proved_by: ProofMethod::Bounds }, stats }
    } else {
        verify_boxes(net, &enclosed.prop, settings, start, deadline, stats)?
    };
    if let Verdict::Violated { witness } = outcome.verdict {
        let region = enclosed.origin[witness.region()];
        outcome.verdict = Verdict::Violated { witness: witness.renumbered(region) };
    }
    outcome.stats.warnings.extend(empty);
    Ok(outcome)
}

/// A property whose regions' boxes are shrunk to their polytopes.
struct Enclosed {
    /// The regions whose polytope is not empty, each with the box enclosing it.
    prop: Property,
    /// For each of those, its index in the original property.
    origin: Vec<usize>,
}

/// `prop` with each region's box shrunk to the box enclosing its input
/// polytope ([`enclosing_box`]) and regions with an empty polytope left out;
/// `None`, at no cost, when no region has input constraints. Every region
/// kept is a subset of the original one (same constraints and unsafe set,
/// box inside its box), so a witness for it is one for the original region.
fn enclose_polytopes(prop: &Property, threads: usize) -> Option<Enclosed> {
    if prop.regions.iter().all(|r| r.input_constraints.is_empty()) {
        return None;
    }
    let mut enclosed = Enclosed { prop: Property::new(Vec::new()), origin: Vec::new() };
    for (r, region) in prop.regions.iter().enumerate() {
        if let Enclosure::Within(input) = enclosing_box(region, threads) {
            enclosed.prop.regions.push(Region { input, ..region.clone() });
            enclosed.origin.push(r);
        }
    }
    Some(enclosed)
}

/// [`verify`] once every region's box encloses its polytope tightly.
fn verify_boxes(
    net: &Network,
    prop: &Property,
    settings: &Settings,
    start: Instant,
    deadline: Option<Instant>,
    mut stats: Stats,
) -> Result<Outcome> {
    let strategy = match settings.strategy {
        // Only phase splitting can start from a domain of fixed phases.
        _ if !settings.fixed_phases.is_empty() => Strategy::PhaseSplit,
        Strategy::Auto if net.input_dim() <= INPUT_SPLIT_MAX_DIM => Strategy::InputSplit,
        Strategy::Auto if activation_layers(net) <= 1 => Strategy::Milp,
        Strategy::Auto => Strategy::PhaseSplit,
        s => s,
    };
    let samples = match net.input_dim() {
        n if n <= INPUT_SPLIT_MAX_DIM => settings.falsify_samples,
        _ => settings.falsify_samples.min(HIGH_DIM_SAMPLES),
    };
    let found = falsify::sample(net, prop, samples, settings.seed, deadline)
        .or_else(|| falsify::gradient_descent(net, prop, settings.falsify_restarts, settings.seed, deadline));
    stats.phases.falsify = start.elapsed();
    let verdict = match found {
        Some(witness) => {
            stats.search = Some(SearchPath::Falsify);
            Verdict::Violated { witness }
        }
        // The falsification may have stopped early: no search starts.
        None if past(deadline) => Verdict::Unknown { reason: UnknownReason::TimeLimit },
        None => match strategy {
            Strategy::InputSplit | Strategy::PhaseSplit => {
                let path =
                    if strategy == Strategy::InputSplit { SearchPath::InputSplit } else { SearchPath::PhaseSplit };
                stats.search = Some(path);
                branch_and_bound(net, prop, settings, path, deadline, &mut stats)?
            }
            _ => {
                stats.search = Some(SearchPath::Milp);
                milp_per_region(net, prop, settings, start, deadline, &mut stats)?
            }
        },
    };
    stats.elapsed = start.elapsed();
    stats.phases.search = stats.elapsed.saturating_sub(stats.phases.falsify + stats.phases.bounds);
    Ok(Outcome { verdict, stats })
}

/// Branch and bound (input or phase splitting, `path`) on a thread pool of
/// `settings.threads` workers: per region, root bounds of the whole box,
/// then the search.
///
/// Input splitting runs the regions in parallel (each region's tree also
/// splits across the workers): a property may list thousands of small
/// regions (VNN-COMP's learned-index files), each settled in a few boxes.
/// Phase splitting takes them one at a time, since its root bounds are the
/// expensive part and their memory grows with the network.
fn branch_and_bound(
    net: &Network,
    prop: &Property,
    settings: &Settings,
    path: SearchPath,
    deadline: Option<Instant>,
    stats: &mut Stats,
) -> Result<Verdict> {
    let pool = worker_pool(settings.threads)?;
    let input_split = split::SplitSearch::new(net, prop, deadline, settings);
    let phase_split = phase_split::PhaseSearch::new(net, prop, deadline, settings);
    let root_method = if path == SearchPath::InputSplit { settings.split_bounds } else { settings.phase_bounds };
    // The hull of the bounded regions' boxes and root bounds, on which the
    // scaling is measured once for all of them (`Scaling::measure`).
    let hull: Mutex<Option<(InputBox, NetworkBounds)>> = Mutex::new(None);
    let run_region = |r: usize| -> RegionRun {
        let region = &prop.regions[r];
        if past(deadline) || input_split.stopped() || phase_split.stopped() {
            return RegionRun::stopped();
        }
        // The region's whole box, bounded once; the search refines these.
        // Stability and scaling are reported for these bounds, before any split.
        let started = Instant::now();
        let lp_deadline = settings.timeout.map(|t| started + t.mul_f64(settings.lp_budget));
        // Optimised root bounds pass on their per-neuron slopes to the
        // domains of phase splitting (see `symbolic::NeuronSlopes`).
        let root = match (path, root_method) {
            (SearchPath::PhaseSplit, BoundMethod::Optimised) => {
                bounds::optimised::compute_with_slopes(net, &region.input, lp_deadline, deadline)
            }
            _ => region_bounds(net, region, root_method, lp_deadline, deadline, settings.threads)
                .map(|nb| (nb, Default::default())),
        };
        let bounds_time = started.elapsed();
        let Ok((root, slopes)) = root else {
            return RegionRun { bounds_time, ..RegionRun::stopped() };
        };
        if past(deadline) {
            return RegionRun { bounds_time, ..RegionRun::stopped() };
        }
        let settled = match path {
            SearchPath::InputSplit => input_split.run(r, Some(&root)),
            _ => phase_split.run(r, &root, &slopes),
        };
        match &mut *hull.lock().expect("no worker panics while holding the lock") {
            Some((input, bounds)) => {
                *input = refute::hull(input, &region.input);
                bounds.widen_to(&root);
            }
            empty => *empty = Some((region.input.clone(), root.clone())),
        }
        RegionRun {
            unstable: Some(root.unstable_count(net)),
            root: (r < REPORTED_ROOT_BOUNDS).then_some(RootBounds {
                method: root_method,
                bounds: root,
                time: bounds_time,
            }),
            bounds_time,
            settled,
        }
    };
    let runs: Vec<RegionRun> = pool.install(|| match path {
        SearchPath::InputSplit => (0..prop.regions.len()).into_par_iter().map(run_region).collect(),
        _ => (0..prop.regions.len()).map(run_region).collect(),
    });
    input_split.stats().add_to(stats);
    phase_split.stats().add_to(stats);
    if let Some((input, bounds)) = hull.into_inner().expect("no worker panicked while holding the lock") {
        stats.record_scaling(Scaling::measure(net, &input, &bounds, prop.regions.iter().map(|r| &r.unsafe_set)));
    }
    let mut unknown = None;
    for run in runs {
        stats.phases.bounds += run.bounds_time;
        stats.root_bounds.extend(run.root);
        stats.region_unstable.extend(run.unstable);
        match run.settled {
            Settled::Safe => {}
            Settled::Violated(witness) => return Ok(Verdict::Violated { witness }),
            Settled::Unknown(reason) => {
                unknown.get_or_insert(reason);
            }
        }
    }
    Ok(match unknown {
        Some(reason) => Verdict::Unknown { reason },
        None if stats.milps > 0 => Verdict::Holds { proved_by: ProofMethod::Milp },
        None => Verdict::Holds { proved_by: ProofMethod::Bounds },
    })
}

/// Regions whose root bounds a run keeps for `check -v` (the first ones):
/// each is a pair of vectors over every neuron, and a property may have
/// thousands of regions.
pub const REPORTED_ROOT_BOUNDS: usize = 16;

/// What the search of one region of [`branch_and_bound`] left.
struct RegionRun {
    /// Its root bounds, for the first [`REPORTED_ROOT_BOUNDS`] regions.
    root: Option<RootBounds>,
    /// Unstable neurons under the root bounds (`None`: not bounded).
    unstable: Option<usize>,
    /// Wall time of the root bounds.
    bounds_time: Duration,
    /// The region's result.
    settled: Settled,
}

impl RegionRun {
    /// A region not searched: the run stopped (deadline or a counterexample
    /// elsewhere) before or while it was bounded.
    fn stopped() -> RegionRun {
        RegionRun {
            root: None,
            unstable: None,
            bounds_time: Duration::ZERO,
            settled: Settled::Unknown(UnknownReason::TimeLimit),
        }
    }
}

/// Tight bounds per region, then one MILP per disjunct the bounds leave open.
///
/// The open disjuncts of a region are solved in parallel, one per worker of
/// `settings.threads` (HiGHS's branch and bound runs mostly on one thread,
/// so this, not more solver threads, is what uses a second core). A
/// counterexample stops workers from starting further disjuncts.
fn milp_per_region(
    net: &Network,
    prop: &Property,
    settings: &Settings,
    start: Instant,
    deadline: Option<Instant>,
    stats: &mut Stats,
) -> Result<Verdict> {
    let pool = worker_pool(settings.threads)?;
    let mut proved_by = ProofMethod::Bounds;
    let mut unknown: Option<UnknownReason> = None;
    let lp_deadline = settings.timeout.map(|t| start + t.mul_f64(settings.lp_budget));
    for (r, region) in prop.regions.iter().enumerate() {
        let started = Instant::now();
        let nb = region_bounds(net, region, settings.bounds, lp_deadline, deadline, settings.threads);
        stats.phases.bounds += started.elapsed();
        let Ok(nb) = nb else {
            unknown.get_or_insert(UnknownReason::TimeLimit);
            break;
        };
        stats.root_bounds.push(RootBounds { method: settings.bounds, bounds: nb.clone(), time: started.elapsed() });
        if past(deadline) {
            unknown.get_or_insert(UnknownReason::TimeLimit);
            break;
        }
        stats.record_scaling(Scaling::measure(net, &region.input, &nb, [&region.unsafe_set]));
        stats.region_unstable.push(nb.unstable_count(net));
        let open: Vec<&Conjunction> =
            region.unsafe_set.disjuncts.iter().filter(|conj| !bounds_exclude(net, &region.input, &nb, conj)).collect();
        stats.proved_by_bounds += region.unsafe_set.disjuncts.len() - open.len();
        if open.is_empty() {
            continue;
        }
        let base = encode(net, &region.input, &nb);
        stats.binaries = stats.binaries.max(base.stats.binaries);
        let shared = Shared::new(net, prop, deadline);
        let results: Vec<Settled> = pool.install(|| {
            open.par_iter()
                .map(|conj| {
                    if shared.stopped() {
                        return Settled::Unknown(UnknownReason::TimeLimit);
                    }
                    shared.solve_disjunct(r, &base, conj)
                })
                .collect()
        });
        shared.stats.add_to(stats);
        for result in results {
            match result {
                Settled::Safe => proved_by = ProofMethod::Milp,
                Settled::Violated(witness) => return Ok(Verdict::Violated { witness }),
                Settled::Unknown(reason) => {
                    unknown.get_or_insert(reason);
                }
            }
        }
    }
    Ok(match unknown {
        Some(reason) => Verdict::Unknown { reason },
        None => Verdict::Holds { proved_by },
    })
}

/// Neuron bounds of `region`'s box by `method` ([`neuron_bounds::compute_until`]);
/// LP tightening ([`BoundMethod::Lp`]) also takes the region's input
/// constraints, exactly, so its LPs range over the polytope only.
fn region_bounds(
    net: &Network,
    region: &Region,
    method: BoundMethod,
    lp_budget: Option<Instant>,
    deadline: Option<Instant>,
    threads: usize,
) -> std::result::Result<NetworkBounds, bounds::Expired> {
    match method {
        BoundMethod::Lp if !region.input_constraints.is_empty() => crate::milp::lp_bounds::compute_in(
            net,
            &region.input,
            &region.input_constraints,
            lp_budget,
            deadline,
            threads,
        ),
        _ => neuron_bounds::compute_before(net, &region.input, method, lp_budget, deadline, threads),
    }
}

/// A rayon pool of `threads` workers for one run.
fn worker_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(phase_split::WORKER_STACK_BYTES)
        .build()
        .map_err(|e| Error::new(ErrorKind::Usage, format!("cannot start {threads} worker threads: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Layer};
    use crate::rng::Rng;
    use crate::spec::{Dnf, LinearConstraint};
    use crate::testutil::{self, layer};

    fn holds(net: &Network, prop: &Property) -> bool {
        let no_sampling = Settings { falsify_samples: 0, falsify_restarts: 0, ..Settings::default() };
        match verify(net, prop, &no_sampling).unwrap().verdict {
            Verdict::Holds { .. } => true,
            Verdict::Violated { witness } => {
                assert!(check_witness(net, prop, witness.region(), witness.input()).is_some());
                false
            }
            Verdict::Unknown { reason } => panic!("unknown without a time limit: {reason}"),
        }
    }

    /// |x| = relu(x) + relu(-x) on [-1, 1].
    fn abs_net() -> Network {
        Network::new(vec![
            layer(2, 1, &[1.0, -1.0], &[0.0, 0.0], Activation::Relu),
            layer(1, 2, &[1.0, 1.0], &[0.0], Activation::Identity),
        ])
        .unwrap()
    }

    /// y = relu(x0 - x1) on [0, 1]^2, unsafe when y >= 0.5, with the given
    /// input constraints: on the box alone it is violated at (1, 0).
    fn difference_case(rows: &[(&[(usize, f64)], f64)]) -> (Network, Property) {
        let net = Network::new(vec![
            layer(1, 2, &[1.0, -1.0], &[0.0], Activation::Relu),
            layer(1, 1, &[1.0], &[0.0], Activation::Identity),
        ])
        .unwrap();
        let mut prop = testutil::property(&[0.0, 0.0], &[1.0, 1.0], &[&[(&[(0, -1.0)], -0.5)]]);
        prop.regions[0].input_constraints =
            rows.iter().map(|(c, b)| crate::spec::LinearConstraint { coeffs: c.to_vec(), rhs: *b }).collect();
        (net, prop)
    }

    /// Every strategy, with and without sampling, on `net` and `prop`: the
    /// verdicts (all must agree) and the warnings of the last run.
    fn every_strategy(net: &Network, prop: &Property) -> (Vec<Verdict>, Vec<String>) {
        let mut verdicts = Vec::new();
        let mut warnings = Vec::new();
        for (strategy, bounds) in [
            (Strategy::InputSplit, BoundMethod::Symbolic),
            (Strategy::PhaseSplit, BoundMethod::Lp),
            (Strategy::Milp, BoundMethod::Lp),
            (Strategy::Milp, BoundMethod::Interval),
        ] {
            for samples in [0, 64] {
                let settings = Settings {
                    strategy,
                    bounds,
                    phase_bounds: bounds,
                    falsify_samples: samples,
                    falsify_restarts: samples.min(2),
                    ..Settings::default()
                };
                let outcome = verify(net, prop, &settings).unwrap();
                verdicts.push(outcome.verdict);
                warnings = outcome.stats.warnings;
            }
        }
        (verdicts, warnings)
    }

    #[test]
    fn holds_only_because_of_the_input_constraint() {
        assert!(!holds(&difference_case(&[]).0, &difference_case(&[]).1));
        // x0 - x1 <= 0.25 keeps y <= 0.25 < 0.5 (and x0 <= x1 keeps y = 0).
        for rhs in [0.25, 0.0] {
            let (net, prop) = difference_case(&[(&[(0, 1.0), (1, -1.0)], rhs)]);
            let (verdicts, _) = every_strategy(&net, &prop);
            assert!(verdicts.iter().all(|v| matches!(v, Verdict::Holds { .. })), "rhs {rhs}: {verdicts:?}");
        }
    }

    #[test]
    fn violated_inside_the_polytope_with_a_witness_inside() {
        // x0 + x1 <= 0.8 still allows x0 - x1 = 0.8 at (0.8, 0); x0 - x1
        // >= 0.45 (2 rows) leaves only a thin band, where y >= 0.5 needs
        // x0 - x1 >= 0.5.
        let sum: &[(&[(usize, f64)], f64)] = &[(&[(0, 1.0), (1, 1.0)], 0.8)];
        let band: &[(&[(usize, f64)], f64)] = &[(&[(0, -1.0), (1, 1.0)], -0.45), (&[(0, 1.0), (1, 1.0)], 0.6)];
        for rows in [sum, band] {
            let (net, prop) = difference_case(rows);
            let (verdicts, _) = every_strategy(&net, &prop);
            for v in &verdicts {
                let Verdict::Violated { witness } = v else { panic!("{rows:?}: {verdicts:?}") };
                assert!(prop.regions[0].contains(witness.input()), "{witness:?}");
                assert!(witness.input()[0] - witness.input()[1] >= 0.5, "{witness:?}");
            }
        }
    }

    #[test]
    fn an_empty_polytope_holds_vacuously_with_a_warning() {
        // x0 + x1 <= -0.5 on [0, 1]^2.
        let (net, prop) = difference_case(&[(&[(0, 1.0), (1, 1.0)], -0.5)]);
        let (verdicts, warnings) = every_strategy(&net, &prop);
        assert!(verdicts.iter().all(|v| matches!(v, Verdict::Holds { .. })), "{verdicts:?}");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // With a second region that is violated, its witness keeps its index.
        let mut two = prop.clone();
        two.regions.push(difference_case(&[]).1.regions.remove(0));
        let outcome = verify(&net, &two, &Settings::default()).unwrap();
        let Verdict::Violated { witness } = outcome.verdict else { panic!("{:?}", outcome.verdict) };
        assert_eq!(witness.region(), 1);
        assert!(check_witness(&net, &two, 1, witness.input()).is_some());
    }

    /// `z = (3x, 0.5, -3x)` (through `relu(x)` and `relu(-x)`), then `act`.
    fn activated(act: OutputActivation) -> Network {
        Network::new(vec![
            layer(2, 1, &[1.0, -1.0], &[0.0, 0.0], Activation::Relu),
            layer(3, 2, &[3.0, -3.0, 0.0, 0.0, -3.0, 3.0], &[0.0, 0.5, 0.0], Activation::Identity),
        ])
        .unwrap()
        .with_output_activation(Some(act))
    }

    /// The least margin `max_j (c_j·y - rhs_j)` of `prop` over 20001 evenly
    /// spaced inputs of its (one-dimensional) box, with `y` the outputs of
    /// `eval`: positive iff no sampled input is unsafe.
    fn sampled_margin(prop: &Property, eval: impl Fn(&[f64]) -> Vec<f64>) -> f64 {
        let mut least = f64::INFINITY;
        for region in &prop.regions {
            let (lo, hi) = (region.input.lower[0], region.input.upper[0]);
            for i in 0..=20_000 {
                let y = eval(&[lo + (hi - lo) * i as f64 / 20_000.0]);
                for d in &region.unsafe_set.disjuncts {
                    least = least.min(d.max_violation(&y));
                }
            }
        }
        least
    }

    /// Each output activation with properties worked out by hand on
    /// [`activated`], one that holds and one violated per form: the verdict
    /// (with and without sampling first) agrees with the hand-worked answer
    /// and with dense sampling of the whole network; for `holds`, the
    /// property restated on the logits has a positive sampled margin too;
    /// a witness reports the activated outputs.
    #[test]
    fn output_activations_against_hand_worked_answers_and_sampling() {
        use OutputActivation::*;
        // (activation, what, row c·y <= rhs, boxes [lo, hi] with the hand-worked verdict: holds?)
        type Case = (OutputActivation, &'static str, Vec<(usize, f64)>, f64, [(f64, f64, bool); 2]);
        let cases: Vec<Case> = vec![
            // p1 <= p0 iff 0.5 <= 3x iff x >= 1/6.
            (Softmax, "p1 <= p0", vec![(1, 1.0), (0, -1.0)], 0.0, [(-1.0, 0.15, true), (-1.0, 0.2, false)]),
            // p0 <= 2 p1 iff 3x - 0.5 <= ln 2 iff x <= 0.39772.
            (Softmax, "p0 <= 2 p1", vec![(0, 0.5), (1, -1.0)], 0.0, [(0.4, 1.0, true), (0.39, 1.0, false)]),
            // y0 - y2 = 6x <= 1 iff x <= 1/6.
            (LogSoftmax, "y0 - y2 <= 1", vec![(0, 1.0), (2, -1.0)], 1.0, [(0.2, 1.0, true), (0.1, 1.0, false)]),
            // tanh(3x) >= 0.99 iff x >= atanh(0.99) / 3 = 0.88222.
            (Tanh, "tanh >= 0.99", vec![(0, -1.0)], -0.99, [(-1.0, 0.88, true), (-1.0, 0.9, false)]),
            // tanh(3x) <= tanh(-3x) iff x <= 0.
            (Tanh, "order", vec![(0, 1.0), (2, -1.0)], 0.0, [(0.1, 1.0, true), (-0.1, 1.0, false)]),
            // tanh(3x) >= 1 never; tanh(3x) <= 1 always.
            (Tanh, "tanh >= 1", vec![(0, -1.0)], -1.0, [(-1.0, 1.0, true), (2.0, 2.0, true)]),
            (Tanh, "tanh <= 1", vec![(0, 1.0)], 1.0, [(5.0, 5.0, false), (-1.0, 1.0, false)]),
            // sigmoid(3x) <= 0.1 iff x <= logit(0.1) / 3 = -0.73241.
            (Sigmoid, "sigmoid <= 0.1", vec![(0, 1.0)], 0.1, [(-0.73, 1.0, true), (-0.74, 1.0, false)]),
        ];
        for (act, what, coeffs, rhs, boxes) in cases {
            let net = activated(act);
            for (lo, hi, expect_holds) in boxes {
                let prop = testutil::property(&[lo], &[hi], &[&[(&coeffs, rhs)]]);
                let margin = sampled_margin(&prop, |x| net.forward_activated(x));
                assert_eq!(margin > 0.0, expect_holds, "{act:?} {what} on [{lo}, {hi}]: sampled margin {margin}");
                if expect_holds {
                    let t = logits::translate(&prop, act).unwrap();
                    let on_logits = sampled_margin(&t.property, |x| net.forward(x));
                    assert!(on_logits > 0.0, "{act:?} {what}: logit margin {on_logits}");
                }
                let no_sampling = Settings { falsify_samples: 0, falsify_restarts: 0, ..Settings::default() };
                for settings in [Settings::default(), no_sampling] {
                    match verify(&net, &prop, &settings).unwrap().verdict {
                        Verdict::Holds { .. } => assert!(expect_holds, "{act:?} {what} on [{lo}, {hi}]: holds"),
                        Verdict::Violated { witness } => {
                            assert!(!expect_holds, "{act:?} {what} on [{lo}, {hi}]: violated at {witness:?}");
                            assert_eq!(witness.output(), net.reference_output(witness.input()));
                            assert!(prop.regions[0].unsafe_set.satisfied_by(witness.output()).is_some());
                        }
                        Verdict::Unknown { reason } => panic!("{act:?} {what} on [{lo}, {hi}]: unknown: {reason}"),
                    }
                }
            }
        }
    }

    /// Constraints without an exact form on the logits are refused by
    /// `verify` itself, as are declared counts that do not match.
    #[test]
    fn properties_that_do_not_fit_are_spec_errors() {
        let settings = Settings::default();
        for (act, coeffs) in [
            (OutputActivation::Softmax, vec![(0, -1.0)]),
            (OutputActivation::LogSoftmax, vec![(0, 1.0)]),
            (OutputActivation::Tanh, vec![(0, 1.0), (2, 1.0)]),
        ] {
            let prop = testutil::property(&[-1.0], &[1.0], &[&[(&coeffs, -0.1)]]);
            let err = verify(&activated(act), &prop, &settings).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Spec, "{act:?}: {err}");
        }
        let net = activated(OutputActivation::Tanh);
        let mut prop = testutil::property(&[-1.0], &[1.0], &[&[(&[(0, 1.0)], 0.0)]]);
        prop.declared_outputs = Some(2);
        assert_eq!(verify(&net, &prop, &settings).unwrap_err().kind(), ErrorKind::Spec);
        prop.declared_outputs = Some(3);
        prop.declared_inputs = Some(2);
        assert_eq!(verify(&net, &prop, &settings).unwrap_err().kind(), ErrorKind::Spec);
        prop.declared_inputs = Some(1);
        assert!(verify(&net, &prop, &settings).is_ok());
    }

    /// A point whose logit lies between the true threshold and the padded
    /// one is unsafe on the logits but safe on the outputs: the witness fails
    /// the check on the whole network, and the answer is unknown.
    #[test]
    fn a_logit_witness_that_fails_on_the_outputs_is_unknown() {
        let net = Network::new(vec![layer(1, 1, &[1.0], &[0.0], Activation::Identity)])
            .unwrap()
            .with_output_activation(Some(OutputActivation::Tanh));
        let x = 0.5f64.atanh() + 5e-10;
        assert!(x.tanh() > 0.5);
        let prop = testutil::property(&[x], &[x], &[&[(&[(0, 1.0)], 0.5)]]);
        let verdict = verify(&net, &prop, &Settings::default()).unwrap().verdict;
        assert_eq!(verdict, Verdict::Unknown { reason: UnknownReason::ActivatedWitness });
    }

    #[test]
    fn a_disjunct_without_output_constraints_is_warned_about() {
        let prop = testutil::property(&[-1.0], &[1.0], &[&[(&[(0, 1.0)], -5.0)], &[]]);
        let outcome = verify(&abs_net(), &prop, &Settings::default()).unwrap();
        assert!(matches!(outcome.verdict, Verdict::Violated { .. }));
        let warnings = &outcome.stats.warnings;
        assert!(warnings[0].contains("disjunct 1 has no output constraint"), "{warnings:?}");
        let fine = testutil::property(&[-1.0], &[1.0], &[&[(&[(0, 1.0)], -5.0)]]);
        assert!(verify(&abs_net(), &fine, &Settings::default()).unwrap().stats.warnings.is_empty());
    }

    /// A deadline that has passed when the search would start: every
    /// strategy answers unknown (time limit) and solves no MILP, and a
    /// disjunct's MILP is not even started.
    #[test]
    fn past_deadline_answers_unknown_without_solving() {
        let net = abs_net();
        // Holds (|x| is never negative): only a proof could settle it.
        let prop = testutil::property(&[-1.0], &[1.0], &[&[(&[(0, 1.0)], -1e-3)]]);
        for strategy in [Strategy::Auto, Strategy::InputSplit, Strategy::PhaseSplit, Strategy::Milp] {
            let timeout = Some(std::time::Duration::from_nanos(1));
            let settings = Settings { timeout, strategy, ..Settings::default() };
            let outcome = verify(&net, &prop, &settings).unwrap();
            assert_eq!(outcome.verdict, Verdict::Unknown { reason: UnknownReason::TimeLimit }, "{strategy:?}");
            assert_eq!(outcome.stats.milps, 0, "{strategy:?}");
        }
        let region = &prop.regions[0];
        let base = encode(&net, &region.input, &crate::bounds::symbolic::compute(&net, &region.input));
        let shared = Shared::new(&net, &prop, Some(Instant::now()));
        let result = shared.solve_disjunct(0, &base, &region.unsafe_set.disjuncts[0]);
        assert_eq!(result, Settled::Unknown(UnknownReason::TimeLimit));
        assert_eq!(shared.stats.milps.load(std::sync::atomic::Ordering::Relaxed), 0);
    }

    /// Soak cases `cargo test` runs (a few seconds); `make soak` sets
    /// `RELUVERIFY_SOAK_CASES` for a long run.
    const FAST_SOAK_CASES: u64 = 300;

    /// Hundreds of small intervals of a one-input network, each with output
    /// bounds just outside the network's range on it (the shape of
    /// learned-index properties), judged on a grid: in one dimension every
    /// point of `[a, b]` is within `h / 2` of a grid point or an end, so the
    /// range there lies within the sampled one widened by `L h / 2`, where
    /// `L`, the product of the layers' largest absolute row sums, bounds the
    /// slope of a ReLU network.
    #[test]
    fn many_small_regions_against_a_lipschitz_grid() {
        let mut rng = Rng::new(11);
        let widths = [1, 12, 12, 1];
        let layers: Vec<Layer> = widths
            .windows(2)
            .enumerate()
            .map(|(k, w)| {
                let weights: Vec<f64> = (0..w[0] * w[1]).map(|_| rng.range(-1.0, 1.0)).collect();
                let bias: Vec<f64> = (0..w[1]).map(|_| rng.range(-0.5, 0.5)).collect();
                let act = if k + 2 < widths.len() { Activation::Relu } else { Activation::Identity };
                layer(w[1], w[0], &weights, &bias, act)
            })
            .collect();
        let slope: f64 = layers
            .iter()
            .map(|l| {
                let w = &l.affine.weights;
                (0..w.rows()).map(|i| w.row(i).iter().map(|(_, v)| v.abs()).sum::<f64>()).fold(0.0, f64::max)
            })
            .product();
        let net = Network::new(layers).unwrap();
        const GRID: usize = 100_000;
        let h = 1.0 / GRID as f64;
        let f = |x: f64| net.forward(&[x])[0];
        let grid: Vec<f64> = (0..=GRID).map(|i| f(i as f64 * h)).collect();
        let slack = slope * h / 2.0 + 1e-4;
        let mut regions = Vec::new();
        for _ in 0..400 {
            let width = rng.range(1e-3, 5e-2);
            let a = rng.range(0.0, 1.0 - width);
            let b = a + width;
            let inside = grid[(a / h).ceil() as usize..=(b / h).floor() as usize].iter().copied();
            let (lo, hi) = inside
                .chain([f(a), f(b)])
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
            let row =
                |c: f64, rhs: f64| Conjunction { constraints: vec![LinearConstraint { coeffs: vec![(0, c)], rhs }] };
            regions.push(Region {
                input: InputBox::new(vec![a], vec![b]).unwrap(),
                input_constraints: Vec::new(),
                // y >= hi + slack, or y <= lo - slack.
                unsafe_set: Dnf { disjuncts: vec![row(-1.0, -(hi + slack)), row(1.0, lo - slack)] },
            });
        }
        let settings = Settings { threads: 2, ..Settings::default() };
        let prop = Property::new(regions.clone());
        let outcome = verify(&net, &prop, &settings).unwrap();
        assert!(matches!(outcome.verdict, Verdict::Holds { .. }), "{:?}", outcome.verdict);
        assert_eq!(outcome.stats.region_unstable.len(), 400);
        // One region's upper bound lowered below its largest grid value by
        // 1e-3: only that region is violated.
        let k = 257;
        regions[k].unsafe_set.disjuncts[0].constraints[0].rhs += slack + 1e-3;
        let prop = Property::new(regions);
        match verify(&net, &prop, &settings).unwrap().verdict {
            Verdict::Violated { witness } => assert_eq!(witness.region(), k),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn abs_is_nonnegative_but_exceeds_point_nine() {
        let net = abs_net();
        // unsafe: y <= -1e-3 (never), and y >= 0.9 (at |x| >= 0.9)
        assert!(holds(&net, &testutil::property(&[-1.0], &[1.0], &[&[(&[(0, 1.0)], -1e-3)]])));
        assert!(!holds(&net, &testutil::property(&[-1.0], &[1.0], &[&[(&[(0, -1.0)], -0.9)]])));
    }

    #[test]
    fn xor_corners() {
        // h1 = relu(x1 + x2 - 1), h2 = relu(x1 + x2); y = h2 - 2 h1 is XOR on {0,1}^2.
        let net = Network::new(vec![
            layer(2, 2, &[1.0, 1.0, 1.0, 1.0], &[-1.0, 0.0], Activation::Relu),
            layer(1, 2, &[-2.0, 1.0], &[0.0], Activation::Identity),
        ])
        .unwrap();
        for (x, out) in [([0.0, 0.0], 0.0), ([0.0, 1.0], 1.0), ([1.0, 0.0], 1.0), ([1.0, 1.0], 0.0)] {
            assert_eq!(net.forward(&x), vec![out]);
            // Within 0.1 of a corner, the output stays within 0.25 of the label.
            let lo: Vec<f64> = x.iter().map(|v| v - 0.1).collect();
            let hi: Vec<f64> = x.iter().map(|v| v + 0.1).collect();
            let far = testutil::property(&lo, &hi, &[&[(&[(0, 1.0)], out - 0.25)], &[(&[(0, -1.0)], -out - 0.25)]]);
            assert!(holds(&net, &far), "corner {x:?}");
            let near = testutil::property(&lo, &hi, &[&[(&[(0, 1.0)], out - 0.15)], &[(&[(0, -1.0)], -out - 0.15)]]);
            assert!(!holds(&net, &near), "corner {x:?}");
        }
    }

    #[test]
    fn leaky_prelu_and_clip_networks() {
        // Leaky (0.1): y = leaky(x) on [-1, 1] has range [-0.1, 1].
        let leaky = testutil::single_neuron(Activation::Leaky { slopes: vec![0.1] });
        assert!(holds(&leaky, &testutil::property(&[-1.0], &[1.0], &[&[(&[(0, 1.0)], -0.11)]])));
        assert!(!holds(&leaky, &testutil::property(&[-1.0], &[1.0], &[&[(&[(0, 1.0)], -0.09)]])));
        // PReLU with per-neuron slopes 0.2 and -0.5: y = p1(x) + p2(-x) on [-1, 1].
        let prelu = Network::new(vec![
            layer(2, 1, &[1.0, -1.0], &[0.0, 0.0], Activation::Leaky { slopes: vec![0.2, -0.5] }),
            layer(1, 2, &[1.0, 1.0], &[0.0], Activation::Identity),
        ])
        .unwrap();
        // x = 1: 1 + 0.5 = 1.5; x = -1: -0.2 + 1 = 0.8; minimum 0 at x = 0.
        assert!(holds(&prelu, &testutil::property(&[-1.0], &[1.0], &[&[(&[(0, -1.0)], -1.51)]])));
        assert!(!holds(&prelu, &testutil::property(&[-1.0], &[1.0], &[&[(&[(0, -1.0)], -1.49)]])));
        // ReLU6 of 10x on [-1, 1]: range [0, 6].
        let relu6 = Network::new(vec![
            layer(1, 1, &[10.0], &[0.0], Activation::Clip { lo: 0.0, hi: 6.0 }),
            layer(1, 1, &[1.0], &[0.0], Activation::Identity),
        ])
        .unwrap();
        assert!(holds(&relu6, &testutil::property(&[-1.0], &[1.0], &[&[(&[(0, -1.0)], -6.01)]])));
        assert!(!holds(&relu6, &testutil::property(&[-1.0], &[1.0], &[&[(&[(0, -1.0)], -5.99)]])));
    }

    /// Compare against activation-pattern enumeration on random networks of
    /// every activation kind and properties of every shape, under every
    /// strategy and bounding method, with and without sampling, and
    /// cross-check every answer (see [`testutil::soak`]). `make soak` runs
    /// the same test with many more cases.
    #[test]
    fn differential_against_enumeration() {
        let (first, cases) = testutil::soak_params(FAST_SOAK_CASES);
        let r = testutil::soak(first, cases);
        eprintln!(
            "soak seeds {first}..{}: holds {} (cross-check confirmed {}), violated {} (forged holds caught {} of {}), \
             unknown {}, with input constraints {} (holds {}); seconds: reference {:.1}, verify {:.1} (slowest: seed {}, {:.2} s), cross-check {:.1}",
            first + cases,
            r.holds,
            r.cross_confirmed,
            r.violated,
            r.forged_caught,
            r.forged,
            r.unknown,
            r.constrained,
            r.constrained_holds,
            r.seconds[0],
            r.seconds[1],
            r.slowest.0,
            r.slowest.1,
            r.seconds[2]
        );
        // Both verdicts occur often; the cross-check decides most cases
        // (checked on runs large enough for the proportions to mean something).
        if cases >= 100 {
            assert!(r.holds * 4 > cases && r.violated * 4 > cases, "{r:?}");
            let plain_holds = r.holds - r.constrained_holds;
            assert!(r.cross_confirmed * 10 >= plain_holds * 8 && r.forged_caught * 10 >= r.forged * 9, "{r:?}");
            // Input constraints are in about a quarter of the cases.
            assert!(r.constrained * 8 > cases, "{r:?}");
        }
    }
}
