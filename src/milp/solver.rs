//! The narrow interface between an encoded [`Milp`] and a solver.
//!
//! A [`SolveStatus`] is never collapsed: "infeasible" is kept apart from
//! "infeasible or unbounded", and each limit says which it was. Only a clean
//! [`SolveStatus::Infeasible`] may ever become a proof.

use super::Milp;

/// Resource limits for one solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Wall-clock limit in seconds (`None`: no limit).
    pub time_limit: Option<f64>,
    /// Threads the solver may use.
    pub threads: usize,
    /// Stop at the first feasible point found, with
    /// [`LimitKind::Solutions`] and that point as the incumbent: for a
    /// caller that asks only whether a point exists and sets an objective
    /// to guide the search.
    pub first_solution: bool,
}

/// Which limit stopped the solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// The time limit.
    Time,
    /// An iteration or node limit.
    Iterations,
    /// A solution-count limit.
    Solutions,
    /// An interrupt.
    Interrupt,
    /// The memory limit.
    Memory,
    /// An objective bound or target was reached.
    Objective,
}

/// The outcome of a solve, as reported by the solver.
#[derive(Debug, Clone, PartialEq)]
pub enum SolveStatus {
    /// An optimal (for a feasibility problem: any feasible) solution.
    Optimal {
        /// Values of all variables, in [`Milp::vars`] order.
        x: Vec<f64>,
        /// Objective value.
        objective: f64,
    },
    /// The problem is proved infeasible: the only status that proves anything.
    Infeasible,
    /// The solver could not tell infeasible from unbounded: not a proof.
    InfeasibleOrUnbounded,
    /// The objective is unbounded (so the problem is feasible).
    Unbounded,
    /// A limit stopped the solve, perhaps with a feasible incumbent.
    Limit {
        /// Which limit.
        kind: LimitKind,
        /// A feasible point found before the limit, if any.
        incumbent: Option<Vec<f64>>,
    },
    /// The solver failed (model error, numerical trouble, unknown status).
    Failed(String),
}

/// Something that solves a [`Milp`].
pub trait MilpSolver {
    /// Solve `milp` within `limits`.
    fn solve(&self, milp: &Milp, limits: &Limits) -> SolveStatus;
}
