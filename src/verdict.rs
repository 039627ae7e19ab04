//! Verdicts, witnesses and the f64 witness check.
//!
//! A verdict is a value, not an error. [`Verdict::Violated`] can only be built
//! from a [`Witness`] that [`check_witness`] accepted: the input lies in a
//! region's box, satisfies its input constraints, and the plain f64 forward
//! pass of the loaded network (its output activation included) lands in that
//! region's unsafe set, all with no tolerance.

use std::time::Duration;

use crate::bounds::{BoundMethod, NetworkBounds};
use crate::milp::scaling::Scaling;
use crate::model::Network;
use crate::spec::Property;

/// How a "holds" answer was proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofMethod {
    /// Output bounds alone exclude the unsafe set.
    Bounds,
    /// The MILP solver proved infeasibility (for at least one disjunct).
    Milp,
}

impl ProofMethod {
    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            ProofMethod::Bounds => "bounds",
            ProofMethod::Milp => "milp",
        }
    }
}

/// A validated counterexample. Only [`check_witness`] builds one, so
/// holding a `Witness` means its input passed the f64 check.
#[derive(Debug, Clone, PartialEq)]
pub struct Witness {
    input: Vec<f64>,
    output: Vec<f64>,
    region: usize,
    disjunct: usize,
}

impl Witness {
    /// The input, inside the region's box and input constraints.
    pub fn input(&self) -> &[f64] {
        &self.input
    }

    /// The network's f64 output on the input (after its output activation,
    /// if it has one).
    pub fn output(&self) -> &[f64] {
        &self.output
    }

    /// Index of the region whose box contains the input.
    pub fn region(&self) -> usize {
        self.region
    }

    /// Index of the unsafe disjunct the output satisfies.
    pub fn disjunct(&self) -> usize {
        self.disjunct
    }

    /// The same witness for a property that numbers this region `region`
    /// (the search ran on a copy with some regions left out).
    pub(crate) fn renumbered(self, region: usize) -> Witness {
        Witness { region, ..self }
    }

    /// A witness that was never checked, for tests of the code that must
    /// catch one.
    #[cfg(test)]
    pub(crate) fn unchecked(input: Vec<f64>, output: Vec<f64>, region: usize, disjunct: usize) -> Witness {
        Witness { input, output, region, disjunct }
    }
}

/// The answer to "is there an unsafe input?".
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// No input in the region reaches the unsafe set.
    Holds {
        /// The strongest method that was needed.
        proved_by: ProofMethod,
    },
    /// A validated counterexample.
    Violated {
        /// The counterexample.
        witness: Witness,
    },
    /// Neither proved nor refuted (time limit, solver trouble, a solver
    /// point that failed the f64 check and could not be repaired).
    Unknown {
        /// Why.
        reason: UnknownReason,
    },
}

/// Why a run ended without a verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum UnknownReason {
    /// The time limit was reached.
    TimeLimit,
    /// The solver stopped for another reason (a limit other than time, an
    /// ambiguous status, numerical trouble); the text says which.
    Solver(String),
    /// The solver found a point in the unsafe set that failed the f64 check
    /// and could not be repaired.
    UnvalidatedWitness,
    /// A counterexample found on the logits of a network with an output
    /// activation failed the f64 check on the activated outputs against the
    /// original property (its outputs lie within rounding of a threshold).
    ActivatedWitness,
}

impl std::fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnknownReason::TimeLimit => write!(f, "time limit reached"),
            UnknownReason::Solver(s) => write!(f, "solver gave no answer: {s}"),
            UnknownReason::UnvalidatedWitness => {
                write!(f, "the solver found a point in the unsafe set that failed the f64 check, and repair failed")
            }
            UnknownReason::ActivatedWitness => write!(
                f,
                "a counterexample found on the logits fails the f64 check on the outputs after the output \
                 activation (they lie within rounding of a threshold)"
            ),
        }
    }
}

impl Verdict {
    /// `holds`, `violated` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Holds { .. } => "holds",
            Verdict::Violated { .. } => "violated",
            Verdict::Unknown { .. } => "unknown",
        }
    }
}

/// Counters and timings of one verification run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Neurons with a non-identity activation.
    pub neurons: usize,
    /// Unstable neurons under the root bounds of each region a proof search
    /// bounded, in region order (empty when no proof search ran, as when
    /// sampling found a counterexample first). See [`Stats::unstable`].
    pub region_unstable: Vec<usize>,
    /// Binary variables in the largest MILP built.
    pub binaries: usize,
    /// MILPs solved.
    pub milps: usize,
    /// Disjuncts (MILP strategy), boxes (input splitting) or domains (phase
    /// splitting) proved by bounds alone.
    pub proved_by_bounds: usize,
    /// Input boxes (input splitting) or domains (phase splitting) explored.
    pub boxes: usize,
    /// The search that settled the run (`None` before any ran).
    pub search: Option<SearchPath>,
    /// Wall time spent in each phase.
    pub phases: Phases,
    /// The bounds of each region's whole box that the proof search started
    /// from (with the method and time they took), in region order, for at
    /// most the first [`REPORTED_ROOT_BOUNDS`](crate::search::REPORTED_ROOT_BOUNDS)
    /// regions; empty when no proof search ran.
    pub root_bounds: Vec<RootBounds>,
    /// How well scaled the encodings of the regions a proof search ran on
    /// are (`None` when no proof search ran).
    pub scaling: Option<Scaling>,
    /// Things the user should know about the answer: a property that is
    /// violated whatever the network ([`Property::warnings`], first), a
    /// badly scaled problem ([`Scaling::warnings`]); they never change the
    /// verdict.
    pub warnings: Vec<String>,
    /// How the property was read, for `check -v` (for a network with an
    /// output activation: how it was restated on the logits).
    pub notes: Vec<String>,
}

impl Stats {
    /// Unstable neurons of the region with the most (`None` when no region
    /// was bounded): a count of neurons of one region, never a sum over
    /// regions, so `stable + unstable == neurons`.
    pub fn unstable(&self) -> Option<usize> {
        self.region_unstable.iter().copied().max()
    }

    /// Stable neurons of the region [`Stats::unstable`] counts (`None` when
    /// no region was bounded).
    pub fn stable(&self) -> Option<usize> {
        self.unstable().map(|u| self.neurons - u)
    }

    /// Merge the scaling measurements of one more region and set
    /// [`Stats::warnings`] to the merged result's warnings (during the
    /// search scaling is their only source; [`crate::verify`] adds the
    /// property's own afterwards).
    pub fn record_scaling(&mut self, scaling: Scaling) {
        let merged = self.scaling.map_or(scaling, |s| s.merge(scaling));
        self.scaling = Some(merged);
        self.warnings = merged.warnings();
    }
}

/// Wall time of each phase of a run: they add up to about
/// [`Stats::elapsed`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases {
    /// Sampling and gradient descent before any proof search.
    pub falsify: Duration,
    /// Neuron bounds of the regions' whole boxes (including LP tightening).
    pub bounds: Duration,
    /// The proof search: input splitting (its per-box bounds included) or
    /// the MILPs.
    pub search: Duration,
}

/// Bounds of one region's whole box, as a proof search started from them.
#[derive(Debug, Clone, PartialEq)]
pub struct RootBounds {
    /// How they were computed.
    pub method: BoundMethod,
    /// The bounds.
    pub bounds: NetworkBounds,
    /// Wall time they took.
    pub time: Duration,
}

/// Which search settled a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchPath {
    /// Sampling or gradient descent found a counterexample before any proof search.
    Falsify,
    /// Branch and bound over the input box.
    InputSplit,
    /// Bounds and one MILP per unsafe disjunct over the whole region.
    Milp,
    /// Branch and bound over neuron phases.
    PhaseSplit,
}

impl SearchPath {
    /// `falsify`, `input-split`, `milp` or `phase-split`.
    pub fn name(&self) -> &'static str {
        match self {
            SearchPath::Falsify => "falsify",
            SearchPath::InputSplit => "input-split",
            SearchPath::Milp => "milp",
            SearchPath::PhaseSplit => "phase-split",
        }
    }
}

/// A verdict with its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// What it took.
    pub stats: Stats,
}

/// Validate a candidate counterexample `x` for region `region`: clamp it into
/// the region's box, require every input constraint of the region to hold
/// there, run the f64 forward pass of the model as its file states it (the
/// graph the layers were lowered from, when the loader kept it, and the
/// output activation: [`Network::reference_output`]), and return a
/// [`Witness`] if the output satisfies one of the region's unsafe
/// disjuncts. Every check is exact f64 arithmetic with no tolerance.
///
/// Searches call this on every candidate they try, most of them safe: the
/// layers' own forward pass (a few dense or sparse products, cheaper than
/// the graph's node-by-node evaluation) screens them first, and only a
/// candidate unsafe there too is evaluated on the graph. A witness is thus
/// unsafe on both; the graph's output is the one reported.
pub fn check_witness(net: &Network, prop: &Property, region: usize, x: &[f64]) -> Option<Witness> {
    let r = prop.regions.get(region)?;
    if x.len() != r.input.dim() || x.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let input = r.input.clamp(x);
    if !r.meets_input_constraints(&input) {
        return None;
    }
    if net.source().is_some() {
        r.unsafe_set.satisfied_by(&net.forward_activated(&input))?;
    }
    let output = net.reference_output(&input);
    let disjunct = r.unsafe_set.satisfied_by(&output)?;
    Some(Witness { input, output, region, disjunct })
}
