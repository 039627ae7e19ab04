//! The HiGHS back end: the only file that names the `highs` crate.
//!
//! We use `highs` directly rather than through `good_lp` because we need the
//! solver's exact model status: `good_lp` reports "unbounded or infeasible"
//! as infeasible and folds several limits into "time limit".

use std::time::Instant;

use highs::{Col, HighsModelStatus, Model, RowProblem, Sense};

use super::{LimitKind, Limits, Milp, MilpSolver, Row, SolveStatus, VarId};

/// HiGHS's MIP feasibility tolerance, set explicitly so it cannot drift with
/// the library version. Solutions are never trusted at this tolerance: every
/// counterexample is re-checked by an exact f64 forward pass.
pub const MIP_FEASIBILITY_TOL: f64 = 1e-6;
/// HiGHS's primal feasibility tolerance for LPs and LP relaxations (explicit
/// for the same reason).
pub const PRIMAL_FEASIBILITY_TOL: f64 = 1e-7;

/// HiGHS's `small_matrix_value` (default, which we keep): matrix entries
/// with `|a|` at or below it are silently dropped when a model is passed in.
/// A dropped entry changes the constraint, which could make a MILP
/// infeasible that is not (a false proof: a weight of `1e-10` on an input
/// ranging to `1e6` is worth `1e-4`), so no model is passed with one: each is
/// moved into its row's bounds as the interval it spans over its variable's
/// bounds (`fold_small_entries`).
pub const SMALL_MATRIX_VALUE: f64 = 1e-9;

/// Solves [`Milp`]s with HiGHS.
#[derive(Debug, Clone, Copy, Default)]
pub struct Highs;

/// Load `milp` into a HiGHS model with our explicit tolerances; returns the
/// model and its columns (in [`Milp::vars`] order).
fn build(milp: &Milp, threads: usize) -> Result<(Model, Vec<Col>), SolveStatus> {
    let mut pb = RowProblem::default();
    let mut costs = vec![0.0; milp.vars.len()];
    for &(id, c) in &milp.objective {
        costs[id.0] += c;
    }
    let cols: Vec<Col> = milp
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
        let (lower, upper, coeffs) = fold_small_entries(milp, row);
        pb.add_row(lower..=upper, coeffs.iter().map(|&(id, c)| (cols[id.0], c)));
    }
    let mut model = pb
        .try_optimise(Sense::Minimise)
        .map_err(|status| SolveStatus::Failed(format!("HiGHS rejected the model: {status:?}")))?;
    model.make_quiet();
    model.set_option("mip_feasibility_tolerance", MIP_FEASIBILITY_TOL);
    model.set_option("primal_feasibility_tolerance", PRIMAL_FEASIBILITY_TOL);
    // The feasibility-jump heuristic took about a third of the time of the
    // many small MILPs the split search solves (ACAS Xu 3_3 property 2:
    // 40% more MILPs per second without it). Heuristics only speed up
    // finding a point; they play no part in proofs.
    model.set_option("mip_heuristic_run_feasibility_jump", false);
    // HiGHS sizes its global thread pool on first use; later requests for a
    // different size are ignored with a warning, so callers keep it fixed.
    model.set_option("threads", threads.max(1) as i32);
    Ok((model, cols))
}

/// `row` without the entries HiGHS would drop (`|a| <=`
/// [`SMALL_MATRIX_VALUE`]), each moved into the row's bounds as the interval
/// `a x` takes over `x`'s bounds: `lower <= sum + a x <= upper` becomes
/// `lower - max(a x) <= sum <= upper - min(a x)`. Every point of the original
/// row satisfies the new one, so the model stays a relaxation and an
/// "infeasible" remains a proof; it is looser by at most `2 |a| max|x|`.
fn fold_small_entries(milp: &Milp, row: &Row) -> (f64, f64, Vec<(VarId, f64)>) {
    let (mut lower, mut upper) = (row.lower, row.upper);
    let mut kept = Vec::with_capacity(row.coeffs.len());
    for &(id, a) in &row.coeffs {
        if a == 0.0 || a.abs() > SMALL_MATRIX_VALUE {
            kept.push((id, a));
            continue;
        }
        let v = &milp.vars[id.0];
        let (p, q) = (a * v.lower, a * v.upper);
        lower -= p.max(q);
        upper -= p.min(q);
    }
    (lower, upper, kept)
}

/// Solve a loaded model and translate its status; gives the model back for
/// a warm-started re-solve.
fn run(mut model: Model, n: usize, time_limit: Option<f64>) -> (SolveStatus, Option<Model>) {
    model.set_option("time_limit", time_limit.map_or(f64::INFINITY, |t| t.max(0.0)));
    let solved = match model.try_solve() {
        Ok(s) => s,
        Err(status) => return (SolveStatus::Failed(format!("HiGHS failed to run: {status:?}")), None),
    };
    let incumbent = || {
        let x = solved.get_solution().columns().to_vec();
        (x.len() == n && solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible).then_some(x)
    };
    let limit = |kind| SolveStatus::Limit { kind, incumbent: incumbent() };
    let status = match solved.status() {
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
    };
    (status, Some(Model::from(solved)))
}

impl MilpSolver for Highs {
    fn solve(&self, milp: &Milp, limits: &Limits) -> SolveStatus {
        match build(milp, limits.threads) {
            Ok((mut model, _)) => {
                if limits.first_solution {
                    // HiGHS then ends with "solution limit reached" and the point.
                    model.set_option("mip_max_improving_sols", 1);
                }
                run(model, milp.vars.len(), limits.time_limit).0
            }
            Err(failed) => failed,
        }
    }
}

/// One LP (or MILP) kept loaded in HiGHS and re-solved with a changing
/// objective. Each re-solve starts from the previous basis, which makes a
/// sequence of bound-tightening LPs over the same rows several times faster
/// than solving each from scratch.
pub struct HighsSession {
    model: Option<Model>,
    cols: Vec<Col>,
    objective: Vec<(VarId, f64)>,
    /// Wall time of the runs so far. HiGHS compares its `time_limit` with
    /// the run time accumulated over every run of the same model (HiGHS
    /// issue 1477), so each run's limit is raised by this much; without
    /// that, later LPs of a session stopped at their "time limit" seconds
    /// before the deadline they were given.
    used: f64,
}

impl HighsSession {
    /// Load `milp` (its objective is replaced at each [`HighsSession::minimise`]).
    pub fn new(milp: &Milp, threads: usize) -> Result<HighsSession, SolveStatus> {
        let (model, cols) = build(milp, threads)?;
        Ok(HighsSession { model: Some(model), cols, objective: milp.objective.clone(), used: 0.0 })
    }

    /// Minimise `objective` over the loaded rows within `time_limit` seconds.
    pub fn minimise(&mut self, objective: &[(VarId, f64)], time_limit: Option<f64>) -> SolveStatus {
        let Some(mut model) = self.model.take() else {
            return SolveStatus::Failed("an earlier HiGHS run failed; the session is closed".into());
        };
        for &(id, _) in &self.objective {
            model.change_column_cost(self.cols[id.0], 0.0);
        }
        let mut costs: Vec<(VarId, f64)> = Vec::with_capacity(objective.len());
        for &(id, c) in objective {
            match costs.iter_mut().find(|(v, _)| *v == id) {
                Some((_, acc)) => *acc += c,
                None => costs.push((id, c)),
            }
        }
        for &(id, c) in &costs {
            model.change_column_cost(self.cols[id.0], c);
        }
        self.objective = costs;
        let started = Instant::now();
        let (status, model) = run(model, self.cols.len(), time_limit.map(|t| t + self.used));
        self.used += started.elapsed().as_secs_f64();
        self.model = model;
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { time_limit: Some(10.0), threads: 1, first_solution: false }
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

    /// HiGHS counts its time limit over every run of a model; a session's
    /// limit is per call. After a second or so of solves, a quick re-solve
    /// with a limit well below that total but above its own cost must finish.
    #[test]
    fn session_time_limit_is_per_call() {
        let mut rng = crate::rng::Rng::new(7);
        let mut m = Milp::default();
        let n = 150;
        let xs: Vec<VarId> = (0..n).map(|i| m.add_var(format!("x{i}"), -1.0, 1.0)).collect();
        for _ in 0..n {
            m.add_le(xs.iter().map(|&x| (x, rng.range(-1.0, 1.0))).collect(), rng.range(0.0, 1.0));
        }
        let mut s = HighsSession::new(&m, 1).unwrap();
        let start = Instant::now();
        let mut solves = 0;
        while start.elapsed().as_secs_f64() < 1.0 {
            let obj: Vec<(VarId, f64)> = xs.iter().map(|&x| (x, rng.range(-1.0, 1.0))).collect();
            assert!(matches!(s.minimise(&obj, None), SolveStatus::Optimal { .. }));
            solves += 1;
        }
        // One more solve gets a limit 20 times its average cost.
        let obj: Vec<(VarId, f64)> = xs.iter().map(|&x| (x, rng.range(-1.0, 1.0))).collect();
        let again = s.minimise(&obj, Some(20.0 / solves as f64));
        assert!(matches!(again, SolveStatus::Optimal { .. }), "{again:?}");
    }

    #[test]
    fn session_resolves_with_new_objectives() {
        // x + y <= 1, x, y in [0, 1]: min x = 0, min -x = -1, min -x - 2y = -2.
        let mut m = Milp::default();
        let x = m.add_var("x", 0.0, 1.0);
        let y = m.add_var("y", 0.0, 1.0);
        m.add_le(vec![(x, 1.0), (y, 1.0)], 1.0);
        let mut s = HighsSession::new(&m, 1).unwrap();
        for (obj, want) in
            [(vec![(x, 1.0)], 0.0), (vec![(x, -1.0)], -1.0), (vec![(x, -1.0), (y, -2.0)], -2.0), (vec![(x, 1.0)], 0.0)]
        {
            match s.minimise(&obj, None) {
                SolveStatus::Optimal { objective, .. } => assert!((objective - want).abs() < 1e-9, "{obj:?}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn tiny_entries_are_relaxed_not_dropped() {
        // x - 1e-10 t = 0 with t in [1e6, 2e6]: x in [1e-4, 2e-4]. Dropping
        // the entry would force x = 0 and make x >= 5e-5 infeasible.
        let mut m = Milp::default();
        let x = m.add_var("x", -1.0, 1.0);
        let t = m.add_var("t", 1e6, 2e6);
        m.add_eq(vec![(x, 1.0), (t, -1e-10)], 0.0);
        m.add_ge(vec![(x, 1.0)], 5e-5);
        assert!(matches!(Highs.solve(&m, &limits()), SolveStatus::Optimal { .. }));
        // The folded row keeps x within the interval 1e-10 t spans.
        let (lower, upper, kept) = fold_small_entries(&m, &m.rows[0]);
        assert_eq!(kept, vec![(x, 1.0)]);
        assert!((lower - 1e-4).abs() < 1e-18 && (upper - 2e-4).abs() < 1e-18, "{lower} {upper}");
        // x >= 3e-4 stays infeasible.
        m.rows[1].lower = 3e-4;
        assert_eq!(Highs.solve(&m, &limits()), SolveStatus::Infeasible);
    }

    #[test]
    fn first_solution_stops_with_a_feasible_point() {
        // 20 binaries, sum >= 3, minimise sum of i * d_i: many feasible
        // points; the first one found must satisfy the row.
        let mut m = Milp::default();
        let d: Vec<VarId> = (0..20).map(|i| m.add_binary(format!("d{i}"))).collect();
        m.add_ge(d.iter().map(|&v| (v, 1.0)).collect(), 3.0);
        m.objective = d.iter().enumerate().map(|(i, &v)| (v, i as f64)).collect();
        let x = match Highs.solve(&m, &Limits { first_solution: true, ..limits() }) {
            SolveStatus::Optimal { x, .. } | SolveStatus::Limit { kind: LimitKind::Solutions, incumbent: Some(x) } => x,
            s => panic!("{s:?}"),
        };
        assert!(x.iter().sum::<f64>() >= 3.0 - 1e-6, "{x:?}");
        // Infeasible stays infeasible.
        m.add_le(d.iter().map(|&v| (v, 1.0)).collect(), 2.0);
        assert_eq!(Highs.solve(&m, &Limits { first_solution: true, ..limits() }), SolveStatus::Infeasible);
    }

    #[test]
    fn time_limit_is_a_limit() {
        let mut m = Milp::default();
        let x = m.add_var("x", 0.0, 1.0);
        m.add_le(vec![(x, 1.0)], 1.0);
        let s = Highs.solve(&m, &Limits { time_limit: Some(0.0), threads: 1, first_solution: false });
        assert!(matches!(s, SolveStatus::Limit { kind: LimitKind::Time, .. } | SolveStatus::Optimal { .. }), "{s:?}");
    }
}
