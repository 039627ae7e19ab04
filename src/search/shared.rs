//! What the three searches share: the result of settling part of a
//! property ([`Settled`]), the state every worker of one parallel search
//! reads and writes ([`Shared`]: deadline, stop flag, first witness,
//! counters), and the leaf every branch can end in, one MILP per unsafe
//! disjunct with its witness checked in f64 and repaired
//! ([`Shared::solve_disjunct`]).
//!
//! Input splitting (`split.rs`), phase splitting (`phase_split.rs`) and one
//! MILP per disjunct (`milp_per_region`) differ in how they divide the
//! problem, not in how a branch ends; keeping that here means a change to
//! the stop rule, the witness repair or the counters is made once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::bounds::past;
use crate::margins::{REPAIR_MARGINS, UNSAFE_RELAX};
use crate::milp::encode::Encoding;
use crate::milp::highs::Highs;
use crate::milp::{LimitKind, Limits, MilpSolver, SolveStatus};
use crate::model::Network;
use crate::spec::{Conjunction, Property};
use crate::verdict::{check_witness, Stats, UnknownReason, Witness};

/// HiGHS checks its time limit between steps, some of which (a node LP of
/// a MILP with hundreds of binaries) take most of a second; every solve is
/// given this much less than the time left, so that the run as a whole ends
/// within about a second of its deadline.
pub const SOLVER_TIME_MARGIN: f64 = 0.5;

/// What a search concluded about a part of the property (a box, a domain,
/// a disjunct, a region).
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// No unsafe output there.
    Safe,
    /// A validated counterexample.
    Violated(Witness),
    /// Stopped without an answer.
    Unknown(UnknownReason),
}

impl Settled {
    /// Both parts together: violated beats unknown beats safe.
    pub fn and(self, other: Settled) -> Settled {
        match (self, other) {
            (Settled::Violated(w), _) | (_, Settled::Violated(w)) => Settled::Violated(w),
            (Settled::Unknown(r), _) | (_, Settled::Unknown(r)) => Settled::Unknown(r),
            _ => Settled::Safe,
        }
    }
}

/// Counters of a search, shared by its workers.
#[derive(Debug, Default)]
pub struct Counters {
    /// Boxes (input splitting) or domains (phase splitting) bounded.
    pub boxes: AtomicUsize,
    /// Boxes, domains or disjuncts proved safe by bounds alone.
    pub proved_by_bounds: AtomicUsize,
    /// MILPs solved (repairs included).
    pub milps: AtomicUsize,
    /// Binaries of the largest MILP built.
    pub max_binaries: AtomicUsize,
}

impl Counters {
    /// Add these counters to a run's [`Stats`].
    pub fn add_to(&self, stats: &mut Stats) {
        stats.boxes += self.boxes.load(Ordering::Relaxed);
        stats.proved_by_bounds += self.proved_by_bounds.load(Ordering::Relaxed);
        stats.milps += self.milps.load(Ordering::Relaxed);
        stats.binaries = stats.binaries.max(self.max_binaries.load(Ordering::Relaxed));
    }
}

/// The state shared by the workers of one search over `prop` on `net`.
pub(crate) struct Shared<'a> {
    pub net: &'a Network,
    pub prop: &'a Property,
    pub deadline: Option<Instant>,
    stop: AtomicBool,
    found: Mutex<Option<Witness>>,
    /// Counters, readable after the search.
    pub stats: Counters,
}

impl<'a> Shared<'a> {
    /// Fresh state for a search that ends at `deadline`.
    pub fn new(net: &'a Network, prop: &'a Property, deadline: Option<Instant>) -> Shared<'a> {
        Shared {
            net,
            prop,
            deadline,
            stop: AtomicBool::new(false),
            found: Mutex::new(None),
            stats: Counters::default(),
        }
    }

    /// `true` once a counterexample is found or the deadline has passed.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || past(self.deadline)
    }

    /// Record a validated witness (the first one is kept) and stop every
    /// worker.
    pub fn record(&self, w: Witness) -> Settled {
        self.stop.store(true, Ordering::Relaxed);
        self.found.lock().expect("no worker panics while holding the lock").get_or_insert(w.clone());
        Settled::Violated(w)
    }

    /// Check a candidate point of `region`; a counterexample is recorded.
    pub fn try_witness(&self, region: usize, x: &[f64]) -> Option<Settled> {
        let w = check_witness(self.net, self.prop, region, x)?;
        Some(self.record(w))
    }

    /// The search's result: a recorded witness wins over whatever `result`
    /// the workers returned (a worker may have stopped as unknown because
    /// another found it).
    pub fn finish(&self, result: Settled) -> Settled {
        match self.found.lock().expect("no worker panics while holding the lock").take() {
            Some(w) => Settled::Violated(w),
            None => result,
        }
    }

    /// Settle the disjuncts `open` of `region` with one MILP each over
    /// `base`, stopping at the first counterexample.
    pub fn solve_disjuncts<'c>(
        &self,
        region: usize,
        base: &Encoding,
        open: impl IntoIterator<Item = &'c Conjunction>,
    ) -> Settled {
        self.stats.max_binaries.fetch_max(base.stats.binaries, Ordering::Relaxed);
        let mut result = Settled::Safe;
        for conj in open {
            result = result.and(self.solve_disjunct(region, base, conj));
            if matches!(result, Settled::Violated(_)) {
                break;
            }
        }
        result
    }

    /// Solve one disjunct's MILP before the deadline, with one solver thread
    /// (the workers already use every core); validate any solver point in f64,
    /// repair it with [`REPAIR_MARGINS`] when it fails, and record a
    /// counterexample.
    ///
    /// The region's input constraints are added to `base` like the unsafe rows,
    /// with the same margin: relaxed by [`UNSAFE_RELAX`] for the proof, tightened
    /// by the repair margins when a point fails the f64 check (a point that
    /// misses an input constraint by rounding is repaired the same way).
    ///
    /// The MILP minimises the sum of the conjunction's rows `c·y - rhs` and
    /// stops at its first feasible point: only feasibility matters, but an
    /// objective lets the solver's branching aim at the rows that must be met
    /// (on MNIST-FC 256x2, property 1 at eps 0.03, four disjuncts solved in
    /// 100 s instead of three), and a point of the unsafe set comes no sooner
    /// for being optimal.
    pub fn solve_disjunct(&self, region: usize, base: &Encoding, conj: &Conjunction) -> Settled {
        // Each solve (the first and every repair) gets the time left until the
        // deadline; none starts once it has passed.
        let solve = |margin: f64| {
            if past(self.deadline) {
                return None;
            }
            let mut enc = base.clone();
            enc.add_unsafe(conj, margin);
            enc.add_input_constraints(&self.prop.regions[region].input_constraints, margin);
            enc.milp.objective =
                conj.constraints.iter().flat_map(|c| c.coeffs.iter().map(|&(k, v)| (enc.outputs[k], v))).collect();
            self.stats.milps.fetch_add(1, Ordering::Relaxed);
            let time_limit = self
                .deadline
                .map(|d| (d.saturating_duration_since(Instant::now()).as_secs_f64() - SOLVER_TIME_MARGIN).max(0.0));
            let status = Highs.solve(&enc.milp, &Limits { time_limit, threads: 1, first_solution: true });
            Some((enc, status))
        };
        let Some((enc, status)) = solve(-UNSAFE_RELAX) else {
            return Settled::Unknown(UnknownReason::TimeLimit);
        };
        let point = match status {
            SolveStatus::Infeasible => return Settled::Safe,
            SolveStatus::Optimal { x, .. } | SolveStatus::Limit { kind: LimitKind::Solutions, incumbent: Some(x) } => x,
            SolveStatus::Limit { kind, incumbent } => {
                if let Some(w) =
                    incumbent.and_then(|x| check_witness(self.net, self.prop, region, &enc.input_values(&x)))
                {
                    return self.record(w);
                }
                return Settled::Unknown(match kind {
                    LimitKind::Time => UnknownReason::TimeLimit,
                    other => UnknownReason::Solver(format!("stopped at its {other:?} limit")),
                });
            }
            other => return Settled::Unknown(UnknownReason::Solver(format!("{other:?}"))),
        };
        if let Some(w) = check_witness(self.net, self.prop, region, &enc.input_values(&point)) {
            return self.record(w);
        }
        for margin in REPAIR_MARGINS {
            if let Some((
                enc,
                SolveStatus::Optimal { x, .. } | SolveStatus::Limit { kind: LimitKind::Solutions, incumbent: Some(x) },
            )) = solve(margin)
            {
                if let Some(w) = check_witness(self.net, self.prop, region, &enc.input_values(&x)) {
                    return self.record(w);
                }
            }
        }
        Settled::Unknown(UnknownReason::UnvalidatedWitness)
    }
}
