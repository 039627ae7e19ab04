//! A region's whole unsafe set, a disjunction of conjunctions, as MILP rows,
//! so one MILP answers "is the property violated on this region?".
//!
//! The search solves one MILP per disjunct instead ([`Encoding::add_unsafe`]);
//! a file for other solvers should mean the whole question, so here the
//! disjuncts are joined with one selector binary `s_k` per disjunct `k`:
//!
//! ```text
//! sum_k s_k = 1
//! c·y <= d' + M (1 - s_k)      for every row c·y <= d of disjunct k
//! ```
//!
//! where `d' = d - margin` (the margin convention of [`Encoding::add_unsafe`]).
//! With `s_k = 1` the rows are exactly disjunct `k`'s. With `s_k = 0` a row
//! must not cut off any point of the network's graph, so `M` must be at least
//! `max c·y - d'` over the MILP's feasible set. Every feasible point has its
//! outputs inside their variable bounds `[l_j, u_j]` (the padded output
//! bounds), so
//!
//! ```text
//! max c·y <= U = sum_j max(c_j l_j, c_j u_j),   M = max(0, U - d') + pad
//! ```
//!
//! suffices. `U - d'` is computed in f64: with `S = sum_j |c_j| max(|l_j|, |u_j|)`
//! its rounding error is below `n eps (S + |d'|)`, which
//! `pad = BIG_M_PAD_REL (S + |d'|) + BIG_M_PAD_ABS` covers for any row of fewer
//! than a million terms. The row is written `c·y + M s_k <= d' + M`; the sum
//! `d' + M` is rounded up by one ulp so that with `s_k = 1` the row is never
//! tighter than `c·y <= d'`. Rounding only ever loosens the rows, so the MILP
//! stays a relaxation: infeasible still proves the region safe.
//!
//! The projection of the feasible set onto `(x, y)` is the union over `k` of
//! (network graph ∩ disjunct `k`): feasible iff some input in the box has an
//! unsafe output. A single disjunct needs no selector and gets its rows
//! directly; an empty disjunction (nothing is unsafe) gets the infeasible
//! row `0 = 1`.

use super::encode::{encode, Encoding};
use super::VarId;
use crate::bounds::NetworkBounds;
use crate::error::{Error, ErrorKind, Result};
use crate::margins::{BIG_M_PAD_ABS, BIG_M_PAD_REL};
use crate::model::Network;
use crate::spec::{Dnf, Region};

/// Encode `net` over `region`'s input box with neuron `bounds` (sound for
/// that box), add its input constraints (rows `a·x <= b - margin`) and its
/// whole unsafe set with [`add_unsafe_dnf`].
pub fn encode_region(net: &Network, region: &Region, bounds: &NetworkBounds, margin: f64) -> Result<Encoding> {
    let mut enc = encode(net, &region.input, bounds);
    enc.add_input_constraints(&region.input_constraints, margin);
    add_unsafe_dnf(&mut enc, &region.unsafe_set, margin)?;
    Ok(enc)
}

/// Add `dnf` (rows `c·y <= rhs - margin`) as derived in the module doc and
/// return the selector binaries `s_k` (none for a single disjunct). Errors
/// (kind [`ErrorKind::Network`]) when an output the DNF uses has no finite
/// bound, since no big-M constant exists then.
pub fn add_unsafe_dnf(enc: &mut Encoding, dnf: &Dnf, margin: f64) -> Result<Vec<VarId>> {
    if let [conj] = &dnf.disjuncts[..] {
        enc.add_unsafe(conj, margin);
        return Ok(Vec::new());
    }
    let selectors: Vec<VarId> = (0..dnf.disjuncts.len()).map(|k| enc.milp.add_binary(format!("s_{k}"))).collect();
    enc.stats.binaries += selectors.len();
    enc.milp.add_eq(selectors.iter().map(|&s| (s, 1.0)).collect(), 1.0);
    for (k, (conj, &s)) in dnf.disjuncts.iter().zip(&selectors).enumerate() {
        for c in &conj.constraints {
            let rhs = c.rhs - margin;
            let (mut upper, mut scale) = (0.0, 0.0);
            for &(j, coeff) in &c.coeffs {
                let v = &enc.milp.vars[enc.outputs[j].0];
                upper += (coeff * v.lower).max(coeff * v.upper);
                scale += coeff.abs() * v.lower.abs().max(v.upper.abs());
            }
            if !upper.is_finite() || !rhs.is_finite() {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!("unsafe disjunct {k}: its outputs have no finite bounds, so no big-M constant exists"),
                ));
            }
            let big_m = (upper - rhs).max(0.0) + BIG_M_PAD_REL * (scale + rhs.abs()) + BIG_M_PAD_ABS;
            let sum = rhs + big_m;
            // Up by at least one ulp: eps |sum| lies in [ulp, 2 ulp).
            let loose = sum + f64::EPSILON * sum.abs();
            let mut coeffs: Vec<(VarId, f64)> = c.coeffs.iter().map(|&(j, v)| (enc.outputs[j], v)).collect();
            coeffs.push((s, big_m));
            enc.milp.add_le(coeffs, loose);
        }
    }
    Ok(selectors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::BoundMethod;
    use crate::milp::highs::Highs;
    use crate::milp::{Limits, MilpSolver, SolveStatus};
    use crate::rng::Rng;
    use crate::spec::{Conjunction, LinearConstraint, Property};
    use crate::testutil;

    /// Solve the one-MILP encoding of a one-region property: `Some(x)` when feasible.
    fn solve(net: &Network, prop: &Property, method: BoundMethod, margin: f64) -> Option<Vec<f64>> {
        let region = &prop.regions[0];
        let bounds = match method {
            BoundMethod::Interval => crate::bounds::interval::compute(net, &region.input),
            _ => crate::bounds::symbolic::compute(net, &region.input),
        };
        let enc = encode_region(net, region, &bounds, margin).unwrap();
        match Highs.solve(&enc.milp, &Limits { time_limit: None, threads: 1, first_solution: false }) {
            SolveStatus::Optimal { x, .. } => Some(enc.input_values(&x)),
            SolveStatus::Infeasible => None,
            other => panic!("{other:?}"),
        }
    }

    /// The one-MILP answer agrees with activation-pattern enumeration on
    /// random networks and DNFs of two disjuncts, and a feasible point is
    /// unsafe up to the solver's tolerance.
    #[test]
    fn selector_encoding_matches_enumeration() {
        /// Cases this close to the boundary are left out: the solver's
        /// feasibility tolerance (1e-6) decides them either way.
        const BOUNDARY: f64 = 1e-4;
        /// Distance from the unsafe set allowed at a solver point (tolerance
        /// times the big-M and weight magnitudes involved).
        const POINT_TOL: f64 = 1e-4;
        let mut rng = Rng::new(77);
        let (mut feasible, mut infeasible) = (0, 0);
        for case in 0..60 {
            let net = testutil::random_network(&mut rng, 5);
            let mut prop = testutil::random_property(&mut rng, &net);
            // Two disjuncts always, so the selectors are exercised.
            while prop.regions[0].unsafe_set.disjuncts.len() < 2 {
                let more = testutil::random_property(&mut rng, &net).regions[0].unsafe_set.disjuncts[0].clone();
                prop.regions[0].unsafe_set.disjuncts.push(more);
            }
            let reference = testutil::reference(&net, &prop);
            if reference.margin.abs() < BOUNDARY {
                continue;
            }
            let method = [BoundMethod::Interval, BoundMethod::Symbolic][case % 2];
            match solve(&net, &prop, method, 0.0) {
                Some(x) => {
                    assert!(reference.margin < 0.0, "case {case}: feasible but the reference says safe");
                    let y = net.forward(&prop.regions[0].input.clamp(&x));
                    let best = prop.regions[0].unsafe_set.disjuncts.iter().map(|d| d.max_violation(&y));
                    assert!(best.fold(f64::INFINITY, f64::min) <= POINT_TOL, "case {case}: {x:?} is not unsafe");
                    feasible += 1;
                }
                None => {
                    assert!(reference.margin > 0.0, "case {case}: infeasible but the reference finds {reference:?}");
                    infeasible += 1;
                }
            }
        }
        assert!(feasible > 10 && infeasible > 10, "feasible {feasible}, infeasible {infeasible}");
    }

    #[test]
    fn single_and_empty_disjunctions() {
        let net = testutil::single_neuron(crate::model::Activation::Relu);
        let row = |c: f64, rhs: f64| Conjunction { constraints: vec![LinearConstraint { coeffs: vec![(0, c)], rhs }] };
        let region = |disjuncts: Vec<Conjunction>| {
            let mut p = testutil::property(&[-1.0], &[1.0], &[]);
            p.regions[0].unsafe_set = Dnf { disjuncts };
            p
        };
        // relu(x) on [-1, 1] is in [0, 1]: y >= 0.5 is reachable, y <= -0.5 is not.
        let one = region(vec![row(-1.0, -0.5)]);
        let enc =
            encode_region(&net, &one.regions[0], &crate::bounds::interval::compute(&net, &one.regions[0].input), 0.0)
                .unwrap();
        assert!(!enc.milp.vars.iter().any(|v| v.name.starts_with("s_")), "one disjunct, no selector");
        assert!(solve(&net, &one, BoundMethod::Interval, 0.0).is_some());
        assert!(solve(&net, &region(vec![row(1.0, -0.5)]), BoundMethod::Interval, 0.0).is_none());
        assert!(solve(&net, &region(vec![]), BoundMethod::Interval, 0.0).is_none(), "nothing is unsafe");
        // The reachable disjunct second: a big-M too small for the first would hide it.
        let two = region(vec![row(1.0, -0.5), row(-1.0, -0.9)]);
        let x = solve(&net, &two, BoundMethod::Interval, 0.0).expect("y >= 0.9 at x >= 0.9");
        assert!(x[0] >= 0.9 - 1e-6, "{x:?}");
        // A positive margin asks for points strictly inside: y >= 0.9 + 0.2 is out of reach.
        assert!(solve(&net, &two, BoundMethod::Interval, 0.2).is_none());
    }
}
