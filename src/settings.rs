//! Every tunable of a verification run in one validated value.
//!
//! No global state and no string-keyed options: the CLI builds one
//! [`Settings`] and passes it down.

use std::time::Duration;

use crate::bounds::symbolic::optimise::Constraint;
use crate::bounds::BoundMethod;
use crate::error::{Error, ErrorKind, Result};

/// Settings of one verification run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Wall-clock budget for the whole run (from the start of
    /// [`crate::search::verify`]; loading the model comes before), a
    /// deadline every stage polls: past it the run answers "unknown" (time
    /// limit). `None` runs to completion. Default: none.
    pub timeout: Option<Duration>,
    /// Threads for the search and the solver. Default: 1.
    pub threads: usize,
    /// Neuron bounds used for stability and big-M constants by the MILP
    /// strategy. Default: LP tightening (within [`Settings::lp_budget`]).
    pub bounds: BoundMethod,
    /// Neuron bounds of every box of the input-splitting search: interval,
    /// symbolic, or LP tightening on the region's whole box (within
    /// [`Settings::lp_budget`]) with symbolic bounds inside it for every box.
    /// Default: symbolic (per box, LP costs far more than it saves).
    pub split_bounds: BoundMethod,
    /// Neuron bounds of the whole region at the root of the phase-splitting
    /// search (its domains refine these with symbolic and optimised bounds).
    /// Default: optimised (on MNIST-FC as tight as the LPs, in a fraction
    /// of a second instead of the whole LP budget).
    pub phase_bounds: BoundMethod,
    /// Fraction of the timeout that LP bound tightening, or the per-neuron
    /// optimisation of the root bounds, may use before the search starts
    /// (bounds stay sound when it stops early). Default: 0.4.
    pub lp_budget: f64,
    /// How to search for a proof. Default: chosen from the problem.
    pub strategy: Strategy,
    /// Input splitting hands a box to the MILP once at most this many of its
    /// neurons are unstable: small MILPs solve in milliseconds, while splitting
    /// such a box further can take many more boxes. Default: 12.
    pub split_milp_unstable: usize,
    /// Phase splitting hands a domain to the MILP once at most this many of
    /// its neurons are unstable. Default: 20. On MNIST-FC 256x2 (60 s cap)
    /// 40 answered 28 of 30 in 126 s and 20 answered 29 in 98 s: with
    /// optimised bounds a domain costs about a millisecond, while a MILP
    /// with 40 to 70 binaries takes a large part of a second.
    pub phase_milp_unstable: usize,
    /// Phase splitting bounds both children of this many of the best-ranked
    /// splits of a domain and takes the one whose worse child is best
    /// (filtered smart branching); 1 takes the best-ranked split. Default: 4.
    /// On the 18 hardest MNIST-FC instances (45 s cap) 1, 4 and 8 candidates
    /// answered the same 4, in 27.9, 14.1 and 15.1 s (256x2 property 3 eps
    /// 0.03: 15.1, 7.0 and 3.5 s; 256x4 property 0 eps 0.03: 9.4, 3.4, 8.5 s).
    pub phase_candidates: usize,
    /// Phase splitting bounds each domain's neurons under its fixed phases'
    /// constraints, with multipliers that take gradient steps from the
    /// parent's (`bounds::symbolic::phases`); `false` refines the layers
    /// after a split from the clamped bounds alone. Default: `true` (see
    /// `search::phase_split` for what it does to the trees).
    pub phase_constrained: bool,
    /// Phase splitting abandons a search tree after this many domains and
    /// solves its disjunct with one MILP over the root bounds, when the
    /// root has at most [`crate::search::phase_split::ROOT_MILP_MAX_UNSTABLE`]
    /// unstable neurons. Default: 2000. On MNIST-FC 256x2 property 1 at eps
    /// 0.03 (60 s cap) 2000 proved it in 46 s (two trees went to the MILP);
    /// 500 sent four and left it open.
    pub phase_tree_domains: usize,
    /// Random samples tried per region before any solver is called (at most
    /// [`crate::search::HIGH_DIM_SAMPLES`] for high-dimensional inputs).
    /// Default: 1024.
    pub falsify_samples: usize,
    /// Gradient-descent restarts per unsafe disjunct when looking for a
    /// counterexample (0 turns it off). Default: 4.
    pub falsify_restarts: usize,
    /// Seed of the sampling; runs are reproducible. Default: 0.
    pub seed: u64,
    /// Phases fixed for the whole run: only the inputs where every
    /// constraint `side (z - at) >= 0` holds are searched (by phase
    /// splitting, from the domain these phases fix), so "holds" covers those
    /// inputs only; a counterexample found anywhere is still one. One part
    /// of `reluverify split` (the parts' phase sets cover every input).
    /// Default: none.
    pub fixed_phases: Vec<Constraint>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            timeout: None,
            threads: 1,
            bounds: BoundMethod::Lp,
            split_bounds: BoundMethod::Symbolic,
            phase_bounds: BoundMethod::Optimised,
            lp_budget: 0.4,
            strategy: Strategy::Auto,
            split_milp_unstable: 12,
            phase_milp_unstable: 20,
            phase_candidates: 4,
            phase_constrained: true,
            phase_tree_domains: 2000,
            falsify_samples: 1024,
            falsify_restarts: 4,
            seed: 0,
            fixed_phases: Vec::new(),
        }
    }
}

impl Settings {
    /// Check the values make sense together.
    pub fn validate(&self) -> Result<()> {
        if self.phase_candidates == 0 {
            return Err(Error::new(
                ErrorKind::Usage,
                "--phase-candidates must be at least 1 (1 takes the top-ranked split)",
            ));
        }
        if self.threads == 0 {
            return Err(Error::new(ErrorKind::Usage, "threads must be at least 1"));
        }
        if self.timeout == Some(Duration::ZERO) {
            return Err(Error::new(ErrorKind::Usage, "timeout must be positive"));
        }
        if !self.fixed_phases.is_empty() && !matches!(self.strategy, Strategy::Auto | Strategy::PhaseSplit) {
            return Err(Error::new(ErrorKind::Usage, "fixed phases are searched by phase splitting only"));
        }
        if self.fixed_phases.iter().any(|c| c.side.abs() != 1.0 || !c.at.is_finite()) {
            return Err(Error::new(ErrorKind::Usage, "a fixed phase needs side 1 or -1 and a finite threshold"));
        }
        if !(0.0..=1.0).contains(&self.lp_budget) {
            return Err(Error::new(ErrorKind::Usage, "the LP budget is a fraction of the timeout, in [0, 1]"));
        }
        Ok(())
    }
}

/// How the search proves a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Input splitting for inputs of at most
    /// [`crate::search::INPUT_SPLIT_MAX_DIM`] dimensions; otherwise the MILP
    /// for a network with one layer of kinks, phase splitting for deeper ones.
    Auto,
    /// Branch and bound over the input box with symbolic bounds, sending
    /// boxes with few unstable neurons to the MILP.
    InputSplit,
    /// Tight bounds, then one MILP per unsafe disjunct over the whole region.
    Milp,
    /// Tight bounds on the whole region, then branch and bound over the
    /// phases of unstable neurons, sending domains with few unstable
    /// neurons to the MILP.
    PhaseSplit,
}
