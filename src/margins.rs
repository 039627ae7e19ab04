//! Every soundness margin in one place, with the budget they make up.
//!
//! reluverify computes in f64 and asks HiGHS, which works to tolerances, so
//! every step that turns a computed number into a proof is padded in the
//! safe direction, and every step that turns a solver point into a
//! counterexample is checked exactly in f64. The margins, from the network
//! to the verdict:
//!
//! - **Bounds.** Symbolic bounds that prove a box directly are lowered by
//!   [`LINEAR_BOUND_PAD`] (relative plus absolute, 1e-9); LP optima become
//!   bounds only after widening by [`LP_BOUND_TOL_ABS`] + [`LP_BOUND_TOL_REL`]
//!   (1e-6, well above HiGHS's 1e-7 residuals); two sound bounds of one
//!   neuron further apart than [`EMPTY_GAP`] prove the set empty.
//! - **Encoding.** Neuron bounds are padded by [`BOUND_PAD_ABS`] +
//!   [`BOUND_PAD_REL`] before they become variable bounds or big-M
//!   constants, and disjunction big-Ms by [`BIG_M_PAD_ABS`] +
//!   [`BIG_M_PAD_REL`] (1e-9 each: f64 sums err by ulps), so the MILP is a
//!   relaxation of the network.
//! - **Properties.** Unsafe rows are relaxed by [`UNSAFE_RELAX`] (1e-6)
//!   whenever a proof is sought, and input-constraint rows by
//!   [`INPUT_ROW_RELAX`] (the same value) in the LPs that shrink a region's
//!   box: both dominate the solvers' feasibility tolerance (1e-7), so a
//!   barely feasible problem is never called infeasible. Thresholds
//!   restated on logits move outward by [`OUTPUT_INVERSE_PAD`] (1e-9
//!   relative), a thousandth of `UNSAFE_RELAX`, so they cost no provable
//!   margin.
//! - **Searches.** Interval refutations and box cuts are padded by
//!   [`REFUTE_PAD`]; the cross-check's polytope misses by [`INPUT_MISS_PAD`]
//!   (1e-9 relative, far above the rounding of short sums).
//! - **Counterexamples.** A solver point is a witness only if it passes the
//!   exact f64 check (`verdict::check_witness`); if it fails, the MILP is
//!   solved again with the unsafe rows tightened by each of
//!   [`REPAIR_MARGINS`] in turn (1e-5, 1e-3), asking for a point strictly
//!   inside the unsafe set. A point that still fails gives `unknown`.
//!
//! The net effect: `holds` is claimed only when the relaxed unsafe set
//! (every row loosened by 1e-6 beyond its written bound) is empty, and
//! `violated` only with an input the f64 forward pass confirms.

/// The unsafe rows are relaxed by this much whenever a proof is sought, by
/// the MILP or by bounds: `c·y <= rhs + UNSAFE_RELAX` must be shown empty.
/// Emptiness of the relaxed set implies emptiness of the true one, and the
/// slack keeps rounding or a solver's tolerance-level error from turning a
/// barely feasible problem "infeasible".
pub const UNSAFE_RELAX: f64 = 1e-6;

/// When a solver point fails the f64 check, the MILP is solved again with
/// the unsafe rows tightened by these margins in turn, `c·y <= rhs - m`,
/// asking for a point strictly inside the unsafe set.
pub const REPAIR_MARGINS: [f64; 2] = [1e-5, 1e-3];

/// Relative padding (plus the same amount absolute) subtracted from the value
/// returned by [`bound_linear`](crate::bounds::symbolic::bound_linear). The callers compare that value directly with
/// a property's right-hand side to prove a box safe, with no MILP (and so no
/// MILP padding) in between; the padding keeps a bound that is above the
/// threshold only through accumulated f64 rounding from becoming a proof.
pub const LINEAR_BOUND_PAD: f64 = 1e-9;

/// A neuron whose fresh bounds and outer bounds are apart by more than this
/// (relative to their magnitude, and absolute) shows that the set they are
/// sound on is empty. Both are exact bounds up to f64 rounding, which on the
/// sums we form stays many orders of magnitude below this.
pub const EMPTY_GAP: f64 = 1e-6;

/// Absolute widening applied to every LP optimum before it becomes a bound.
///
/// HiGHS stops when its primal and dual residuals are within tolerance
/// (primal [`PRIMAL_FEASIBILITY_TOL`](crate::milp::highs::PRIMAL_FEASIBILITY_TOL),
/// dual 1e-7 by default), not at the exact optimum. A dual residual means
/// the reported vertex may not be quite optimal: a minimum reported slightly
/// *above* the true minimum, the unsound direction, by about the residual
/// times the variable ranges. Widening by far more than that keeps the bound
/// sound at no practical cost (a neuron within 1e-6 of its kink stays
/// unstable).
pub const LP_BOUND_TOL_ABS: f64 = 1e-6;

/// Relative part of the widening, applied to `|optimum|` (the residual
/// scales with the magnitude of the values involved).
pub const LP_BOUND_TOL_REL: f64 = 1e-6;

/// Absolute padding added to every neuron bound before it is used as a
/// variable bound or big-M constant. Bounds are computed in floating point,
/// so a bound can be off by a few ulps of the values summed; padding keeps
/// the MILP a relaxation of the true network (sound) at negligible cost.
pub const BOUND_PAD_ABS: f64 = 1e-9;

/// Relative part of the padding, applied to `|bound|`.
pub const BOUND_PAD_REL: f64 = 1e-9;

/// Relative padding of a big-M constant, against the rounding of the sums
/// that compute it (see the module doc of `milp::dnf`).
pub const BIG_M_PAD_REL: f64 = 1e-9;

/// Absolute padding of a big-M constant.
pub const BIG_M_PAD_ABS: f64 = 1e-9;

/// The input constraints `a·x <= b` are relaxed to `a·x <= b +
/// INPUT_ROW_RELAX` in the LPs here, as the unsafe rows are in proofs
/// ([`UNSAFE_RELAX`], the same value): HiGHS
/// accepts points within its feasibility tolerance (1e-7), and the slack
/// keeps a barely feasible polytope from being called empty.
pub const INPUT_ROW_RELAX: f64 = 1e-6;

/// How far a logit threshold computed through `ln`, `atanh` or the logit
/// function is moved outward, relative to `1 + |r|`: the f64 evaluation of
/// those functions (with the argument reductions of `atanh` and `logit` in `spec::logits`,
/// which keep `1 - s` exact near the ends of the range) errs by a few ulps,
/// about `1e-15 (1 + |r|)`, so `1e-9` covers it a million times over; it is
/// a thousand times below the `1e-6` the searches relax unsafe rows by
/// anyway (`search::UNSAFE_RELAX`), so it costs no provable margin.
pub const OUTPUT_INVERSE_PAD: f64 = 1e-9;

/// Relative padding of the f64 evaluations here: a margin must exceed this
/// times the magnitude of the terms summed to count as positive, and new box
/// ends move outwards by as much. Sums of a few dozen products carry
/// rounding errors around `1e-16` of their magnitude, so `1e-9` is far on
/// the safe side and still invisible next to any real margin.
pub const REFUTE_PAD: f64 = 1e-9;

/// Relative padding of the interval check that a box misses a region's
/// polytope: the minimum of `a·x` over the box must exceed `b` by this much
/// times the magnitude of the terms, far above the rounding of a short sum.
pub const INPUT_MISS_PAD: f64 = 1e-9;
