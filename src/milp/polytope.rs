//! A region's input polytope (its box cut by linear input constraints), by LP.
//!
//! [`enclosing_box`] minimises and maximises every input over the polytope,
//! one LP per input and side, re-solved in one warm-started HiGHS session:
//! the smallest box that holds the polytope. Every later stage (bounds,
//! splitting, sampling) works on a box, so a tighter one can only help, and
//! it stays sound because it still holds every point of the polytope. When
//! HiGHS finds the polytope infeasible, the region has no input at all and
//! holds vacuously.
//!
//! Soundness: the LPs run over the polytope with its rows relaxed by
//! [`INPUT_ROW_RELAX`], a superset of the true one, so "infeasible" proves
//! the true polytope empty despite solver tolerances; an optimum moves a box
//! end only after widening by the LP bound tolerance of
//! [`crate::milp::lp_bounds`], and the result is intersected with the region's
//! own box. Any other status keeps the region's bound.

use super::highs::HighsSession;
use super::{Milp, SolveStatus, VarId};
use crate::margins::INPUT_ROW_RELAX;
use crate::margins::{LP_BOUND_TOL_ABS, LP_BOUND_TOL_REL};
use crate::spec::{InputBox, Region};

/// What the LPs found out about a region's polytope.
#[derive(Debug, Clone, PartialEq)]
pub enum Enclosure {
    /// The polytope has no point: the region holds vacuously.
    Empty,
    /// A box inside the region's box that holds every point of the polytope.
    Within(InputBox),
}

/// The box enclosing `region`'s polytope (see the module documentation);
/// `threads` is passed to HiGHS. A region without input constraints gets its
/// own box back without any LP.
pub fn enclosing_box(region: &Region, threads: usize) -> Enclosure {
    let bx = &region.input;
    if region.input_constraints.is_empty() {
        return Enclosure::Within(bx.clone());
    }
    let mut milp = Milp::default();
    let xs: Vec<VarId> = (0..bx.dim()).map(|i| milp.add_var(format!("x_{i}"), bx.lower[i], bx.upper[i])).collect();
    for c in &region.input_constraints {
        milp.add_le(c.coeffs.iter().map(|&(i, a)| (xs[i], a)).collect(), c.rhs + INPUT_ROW_RELAX);
    }
    let Ok(mut session) = HighsSession::new(&milp, threads) else {
        return Enclosure::Within(bx.clone());
    };
    let mut out = bx.clone();
    for (i, &x) in xs.iter().enumerate() {
        for sign in [1.0, -1.0] {
            match session.minimise(&[(x, sign)], None) {
                SolveStatus::Infeasible => return Enclosure::Empty,
                SolveStatus::Optimal { objective, .. } if objective.is_finite() => {
                    let v = sign * objective;
                    let tol = LP_BOUND_TOL_ABS + LP_BOUND_TOL_REL * v.abs();
                    if sign > 0.0 {
                        out.lower[i] = out.lower[i].max(v - tol);
                    } else {
                        out.upper[i] = out.upper[i].min(v + tol);
                    }
                }
                _ => {}
            }
        }
        // Only inconsistent solver answers could cross the ends; keep the
        // region's own bounds then.
        if out.lower[i] > out.upper[i] {
            (out.lower[i], out.upper[i]) = (bx.lower[i], bx.upper[i]);
        }
    }
    Enclosure::Within(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Dnf, LinearConstraint};

    fn region(lower: &[f64], upper: &[f64], rows: &[(&[(usize, f64)], f64)]) -> Region {
        Region {
            input: InputBox::new(lower.to_vec(), upper.to_vec()).unwrap(),
            input_constraints: rows.iter().map(|(c, b)| LinearConstraint { coeffs: c.to_vec(), rhs: *b }).collect(),
            unsafe_set: Dnf { disjuncts: vec![] },
        }
    }

    #[test]
    fn triangle_encloses_tightly_and_soundly() {
        // x0 + x1 <= 1 and x1 - x0 >= 0.5 in [0, 2]^2: the triangle with
        // corners (0, 0.5), (0, 1), (0.25, 0.75), so x0 in [0, 0.25] and x1 in [0.5, 1].
        let r = region(&[0.0, 0.0], &[2.0, 2.0], &[(&[(0, 1.0), (1, 1.0)], 1.0), (&[(0, 1.0), (1, -1.0)], -0.5)]);
        let Enclosure::Within(b) = enclosing_box(&r, 1) else { panic!("not empty") };
        let expect = [(0.0, 0.25), (0.5, 1.0)];
        for (i, (l, u)) in expect.into_iter().enumerate() {
            assert!(b.lower[i] <= l && l - b.lower[i] < 1e-5, "{b:?}");
            assert!(b.upper[i] >= u && b.upper[i] - u < 1e-5, "{b:?}");
        }
        // Never outside the region's box.
        assert_eq!(b.lower[0], 0.0);
    }

    #[test]
    fn contradictory_constraints_are_empty() {
        // x0 - x1 <= -1 needs x1 >= x0 + 1, impossible in [0, 0.5]^2.
        let r = region(&[0.0, 0.0], &[0.5, 0.5], &[(&[(0, 1.0), (1, -1.0)], -1.0)]);
        assert_eq!(enclosing_box(&r, 1), Enclosure::Empty);
        // Barely feasible (x1 = x0 + 0.5 at one corner) is not empty.
        let r = region(&[0.0, 0.0], &[0.5, 0.5], &[(&[(0, 1.0), (1, -1.0)], -0.5)]);
        assert!(matches!(enclosing_box(&r, 1), Enclosure::Within(_)));
    }
}
