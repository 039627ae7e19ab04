//! The HiGHS back end: the only file that names the `highs` crate.
//!
//! We use `highs` directly rather than through `good_lp` because we need the
//! solver's exact model status: `good_lp` reports "unbounded or infeasible"
//! as infeasible and folds several limits into "time limit".

use highs::{HighsModelStatus, RowProblem, Sense};

use super::{LimitKind, Limits, Milp, MilpSolver, SolveStatus};

/// HiGHS's MIP feasibility tolerance, set explicitly so it cannot drift with
/// the library version. Solutions are never trusted at this tolerance: every
/// counterexample is re-checked by an exact f64 forward pass.
pub const MIP_FEASIBILITY_TOL: f64 = 1e-6;
/// HiGHS's primal feasibility tolerance for LPs and LP relaxations (explicit
/// for the same reason).
pub const PRIMAL_FEASIBILITY_TOL: f64 = 1e-7;

/// Solves [`Milp`]s with HiGHS.
#[derive(Debug, Clone, Copy, Default)]
pub struct Highs;

impl MilpSolver for Highs {
    fn solve(&self, milp: &Milp, limits: &Limits) -> SolveStatus {
        let mut pb = RowProblem::default();
        let mut costs = vec![0.0; milp.vars.len()];
        for &(id, c) in &milp.objective {
            costs[id.0] += c;
        }
        let cols: Vec<_> = milp
            .vars
            .iter()
            .zip(costs)
            .map(|(v, cost)| {
                if v.integer {
                    pb.add_integer_column(cost, v.lower..=v.upper)
                } else {
                    pb.add_column(cost, v.lower..=v.upper)
                }
            })
            .collect();
        for row in &milp.rows {
            let coeffs = row.coeffs.iter().map(|&(id, c)| (cols[id.0], c));
            pb.add_row(row.lower..=row.upper, coeffs);
        }
        let mut model = match pb.try_optimise(Sense::Minimise) {
            Ok(m) => m,
            Err(status) => return SolveStatus::Failed(format!("HiGHS rejected the model: {status:?}")),
        };
        model.make_quiet();
        model.set_option("mip_feasibility_tolerance", MIP_FEASIBILITY_TOL);
        model.set_option("primal_feasibility_tolerance", PRIMAL_FEASIBILITY_TOL);
        // HiGHS sizes its global thread pool on first use; later requests for a
        // different size are ignored with a warning, so callers keep it fixed.
        model.set_option("threads", limits.threads.max(1) as i32);
        if let Some(t) = limits.time_limit {
            model.set_option("time_limit", t.max(0.0));
        }
        let solved = match model.try_solve() {
            Ok(s) => s,
            Err(status) => return SolveStatus::Failed(format!("HiGHS failed to run: {status:?}")),
        };
        let incumbent = || {
            let x = solved.get_solution().columns().to_vec();
            (x.len() == milp.vars.len() && solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible)
                .then_some(x)
        };
        let limit = |kind| SolveStatus::Limit { kind, incumbent: incumbent() };
        match solved.status() {
            HighsModelStatus::Optimal => match incumbent() {
                Some(x) => SolveStatus::Optimal { x, objective: solved.objective_value() },
                None => SolveStatus::Failed("HiGHS reported optimal but gave no feasible solution".into()),
            },
            HighsModelStatus::Infeasible => SolveStatus::Infeasible,
            HighsModelStatus::UnboundedOrInfeasible => SolveStatus::InfeasibleOrUnbounded,
            HighsModelStatus::Unbounded => SolveStatus::Unbounded,
            HighsModelStatus::ReachedTimeLimit => limit(LimitKind::Time),
            HighsModelStatus::ReachedIterationLimit => limit(LimitKind::Iterations),
            HighsModelStatus::ReachedSolutionLimit => limit(LimitKind::Solutions),
            HighsModelStatus::ReachedInterrupt => limit(LimitKind::Interrupt),
            HighsModelStatus::ReachedMemoryLimit => limit(LimitKind::Memory),
            HighsModelStatus::ObjectiveBound | HighsModelStatus::ObjectiveTarget => limit(LimitKind::Objective),
            other => SolveStatus::Failed(format!("HiGHS ended with status {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { time_limit: Some(10.0), threads: 1 }
    }

    #[test]
    fn optimal_lp() {
        // min -x - y  s.t. x + y <= 1, 0 <= x, y <= 1  ->  objective -1
        let mut m = Milp::default();
        let x = m.add_var("x", 0.0, 1.0);
        let y = m.add_var("y", 0.0, 1.0);
        m.add_le(vec![(x, 1.0), (y, 1.0)], 1.0);
        m.objective = vec![(x, -1.0), (y, -1.0)];
        match Highs.solve(&m, &limits()) {
            SolveStatus::Optimal { objective, .. } => assert!((objective + 1.0).abs() < 1e-9),
            s => panic!("expected optimal, got {s:?}"),
        }
    }

    #[test]
    fn infeasible_mip() {
        // binary d with 0.2 <= d <= 0.8 has no integer point
        let mut m = Milp::default();
        let d = m.add_binary("d");
        m.add_row(vec![(d, 1.0)], 0.2, 0.8);
        assert_eq!(Highs.solve(&m, &limits()), SolveStatus::Infeasible);
    }

    #[test]
    fn unbounded_is_not_infeasible() {
        // min -x with x >= 0 unbounded above: must never read as infeasible
        let mut m = Milp::default();
        let x = m.add_var("x", 0.0, f64::INFINITY);
        m.add_ge(vec![(x, 1.0)], 0.0);
        m.objective = vec![(x, -1.0)];
        let s = Highs.solve(&m, &limits());
        assert!(matches!(s, SolveStatus::Unbounded | SolveStatus::InfeasibleOrUnbounded), "{s:?}");
    }

    #[test]
    fn time_limit_is_a_limit() {
        let mut m = Milp::default();
        let x = m.add_var("x", 0.0, 1.0);
        m.add_le(vec![(x, 1.0)], 1.0);
        let s = Highs.solve(&m, &Limits { time_limit: Some(0.0), threads: 1 });
        assert!(matches!(s, SolveStatus::Limit { kind: LimitKind::Time, .. } | SolveStatus::Optimal { .. }), "{s:?}");
    }
}
