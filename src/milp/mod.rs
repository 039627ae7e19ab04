//! A solver-neutral MILP and the encoding of networks into it.
//!
//! [`Milp`] is our own type: variables with bounds and integrality, two-sided
//! linear rows, a linear objective to minimise. `encode.rs` builds one from a
//! network, its neuron bounds and an unsafe conjunction; `solver.rs` is the
//! narrow interface a solver implements; `highs.rs` is the only file that
//! names HiGHS. Tests can inspect the rows of an encoding without a solver.
//! `dnf.rs` joins a region's unsafe disjuncts into one MILP and `write.rs`
//! writes a [`Milp`] as an LP or MPS file for other solvers. `polytope.rs`
//! encloses a region's input polytope in a box by LP. `scaling.rs`
//! measures whether an encoding's numbers are extreme enough for solver
//! tolerances or f64 rounding to matter, and words the warnings.

pub mod dnf;
pub mod encode;
pub mod highs;
pub mod lp_bounds;
pub mod polytope;
pub mod scaling;
pub mod solver;
pub mod write;

pub use solver::{LimitKind, Limits, MilpSolver, SolveStatus};

/// Index of a variable in a [`Milp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub usize);

/// A variable: bounds, integrality and a name for exported files.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    /// Name (`x_i`, `z_L_i`, `y_L_i`, `d_L_i`, ...).
    pub name: String,
    /// Lower bound (may be `-inf`).
    pub lower: f64,
    /// Upper bound (may be `+inf`).
    pub upper: f64,
    /// `true` for an integer (here always binary) variable.
    pub integer: bool,
}

/// A row `lower <= sum coeffs <= upper` (either side may be infinite).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Sparse coefficients.
    pub coeffs: Vec<(VarId, f64)>,
    /// Lower bound of the row activity.
    pub lower: f64,
    /// Upper bound of the row activity.
    pub upper: f64,
}

/// A mixed-integer linear program: minimise `objective · x` subject to rows
/// and variable bounds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Milp {
    /// The variables.
    pub vars: Vec<Var>,
    /// The rows.
    pub rows: Vec<Row>,
    /// Objective coefficients (minimised); empty for a feasibility problem.
    pub objective: Vec<(VarId, f64)>,
}

impl Milp {
    /// Add a continuous variable.
    pub fn add_var(&mut self, name: impl Into<String>, lower: f64, upper: f64) -> VarId {
        self.vars.push(Var { name: name.into(), lower, upper, integer: false });
        VarId(self.vars.len() - 1)
    }

    /// Add a binary variable.
    pub fn add_binary(&mut self, name: impl Into<String>) -> VarId {
        self.vars.push(Var { name: name.into(), lower: 0.0, upper: 1.0, integer: true });
        VarId(self.vars.len() - 1)
    }

    /// Add `lower <= coeffs <= upper`.
    pub fn add_row(&mut self, coeffs: Vec<(VarId, f64)>, lower: f64, upper: f64) {
        self.rows.push(Row { coeffs, lower, upper });
    }

    /// Add `coeffs <= upper`.
    pub fn add_le(&mut self, coeffs: Vec<(VarId, f64)>, upper: f64) {
        self.add_row(coeffs, f64::NEG_INFINITY, upper);
    }

    /// Add `coeffs >= lower`.
    pub fn add_ge(&mut self, coeffs: Vec<(VarId, f64)>, lower: f64) {
        self.add_row(coeffs, lower, f64::INFINITY);
    }

    /// Add `coeffs == value`.
    pub fn add_eq(&mut self, coeffs: Vec<(VarId, f64)>, value: f64) {
        self.add_row(coeffs, value, value);
    }

    /// Number of integer variables.
    pub fn integer_count(&self) -> usize {
        self.vars.iter().filter(|v| v.integer).count()
    }
}
