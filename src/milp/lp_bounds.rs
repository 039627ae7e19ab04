//! LP tightening: one LP per unstable neuron and side over the triangle relaxation.
//!
//! Layer by layer, each neuron starts from its optimised bounds
//! ([`optimised::tighten_layer`] on the symbolic bounds computed from the
//! final bounds of the layers below, so every LP improvement also sharpens
//! the bounds above it). Each neuron that is still unstable then gets two LPs, minimising and
//! maximising its pre-activation over the LP relaxation of the layers below:
//! the MILP encoding of [`crate::milp::encode`] of the network cut after this
//! layer, with every binary relaxed to `[0, 1]`. That relaxation is exact for
//! stable neurons and the triangle (for Clip with two kinks, a possibly
//! looser two-binary) relaxation for unstable ones, built on the current best
//! bounds. Reusing the encoder keeps one place where rows are derived.
//!
//! Stable neurons are not tightened (their relaxation is already exact, and
//! no binary depends on their bounds), and neither is the output layer
//! (identity: no kink). The LPs of one layer are independent and run in
//! parallel with rayon; the next layer needs their results.
//!
//! Cost: two LPs per unstable neuron, re-solved in one warm-started HiGHS
//! session per worker. Far more than the optimised bounds: on MNIST-FC
//! 256x4 (784 inputs) the LPs of one region take more than 24 s where the
//! optimised bounds take 0.2 s and leave as many neurons unstable, so the
//! phase-splitting search starts from those
//! ([`Settings::phase_bounds`](crate::settings::Settings::phase_bounds)).
//!
//! Soundness: only [`SolveStatus::Optimal`] may move a bound, after
//! widening by [`LP_BOUND_TOL_ABS`] / [`LP_BOUND_TOL_REL`]; any other status,
//! or a past LP budget, keeps the previous (sound) bound.
//!
//! Two limits: past the LP budget the remaining LPs are skipped and the
//! result is still complete (optimised bounds where no LP ran); past the
//! run's deadline the computation stops with [`Expired`]. Each LP is given
//! the time left until the earlier of the two.

use crate::margins::{LP_BOUND_TOL_ABS, LP_BOUND_TOL_REL};
use std::time::Instant;

use rayon::prelude::*;

use super::encode::encode;
use super::highs::HighsSession;
use super::{SolveStatus, VarId};
use crate::bounds::{layer_by_layer, optimised, past, poll, prefix, Bounds, Expired, NetworkBounds};
use crate::model::Network;
use crate::spec::{InputBox, LinearConstraint};

/// Which side of a neuron's bounds an LP tightens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Lower,
    Upper,
}

/// LP-tightened bounds for every layer of `net` over `input`.
///
/// LP tightening stops at `budget`; the layers left get optimised bounds
/// from the (partly tightened) layers below, so the result is complete and
/// sound. At `deadline` everything stops with [`Expired`]. `highs_threads`
/// is passed to HiGHS for every LP (keep it equal to what the rest of the
/// run uses: HiGHS sizes its global pool once).
pub fn compute(
    net: &Network,
    input: &InputBox,
    budget: Option<Instant>,
    deadline: Option<Instant>,
    highs_threads: usize,
) -> Result<NetworkBounds, Expired> {
    compute_in(net, input, &[], budget, deadline, highs_threads)
}

/// [`compute`] over the part of `input` where the linear input constraints
/// `rows` hold: every LP gets them as rows over the input variables, exactly
/// as given (the LP optimum is widened anyway). The other bounds each layer
/// starts from are over the whole box, which holds the polytope, so the
/// result is sound for every input of the polytope.
pub fn compute_in(
    net: &Network,
    input: &InputBox,
    rows: &[LinearConstraint],
    budget: Option<Instant>,
    deadline: Option<Instant>,
    highs_threads: usize,
) -> Result<NetworkBounds, Expired> {
    // The LPs stop at whichever limit comes first.
    let lp_until = match (budget, deadline) {
        (Some(b), Some(d)) => Some(b.min(d)),
        (b, d) => b.or(d),
    };
    layer_by_layer(net, input, deadline, |earlier, b| {
        // Cheap, and it leaves the LPs fewer unstable neurons.
        optimised::tighten_layer(net, input, earlier, b, optimised::LAYER_STEPS, deadline)?;
        if !past(lp_until) {
            tighten(net, input, rows, earlier, b, lp_until, highs_threads);
        }
        // LPs cut short by the deadline kept their bounds, but the layers
        // above would still need theirs: stop here.
        poll(deadline)
    })
}

/// Tighten the unstable neurons of layer `k = earlier.len()`, whose current
/// bounds are `b`, in place.
fn tighten(
    net: &Network,
    input: &InputBox,
    rows: &[LinearConstraint],
    earlier: &[Bounds],
    b: &mut Bounds,
    deadline: Option<Instant>,
    threads: usize,
) {
    let k = earlier.len();
    let act = &net.layers()[k].activation;
    let unstable: Vec<usize> = (0..b.len()).filter(|&i| act.is_unstable(i, b.lower[i], b.upper[i])).collect();
    if unstable.is_empty() {
        return;
    }
    let Some(prefix) = prefix(net, k) else {
        return; // cannot happen for a layer of a valid network; keep the bounds
    };
    let mut nb = NetworkBounds { layers: earlier.to_vec() };
    nb.layers.push(b.clone());
    let mut enc = encode(&prefix, input, &nb);
    enc.add_input_constraints(rows, 0.0);
    for v in &mut enc.milp.vars {
        v.integer = false;
    }
    let tasks: Vec<(usize, Side)> = unstable.iter().flat_map(|&i| [(i, Side::Lower), (i, Side::Upper)]).collect();
    // One warm-started HiGHS session per worker, re-solved per neuron and side.
    let results: Vec<Option<f64>> = tasks
        .par_iter()
        .map_init(
            || HighsSession::new(&enc.milp, threads).ok(),
            |session, &(i, side)| optimise(session.as_mut()?, enc.outputs[i], side, deadline),
        )
        .collect();
    for (&(i, side), r) in tasks.iter().zip(results) {
        let Some(v) = r else { continue };
        // A result outside the current interval would contradict a sound
        // bound; it can only be numerical trouble, so it is ignored.
        match side {
            Side::Lower if v > b.lower[i] && v <= b.upper[i] => b.lower[i] = v,
            Side::Upper if v < b.upper[i] && v >= b.lower[i] => b.upper[i] = v,
            _ => {}
        }
    }
}

/// Minimise (`Lower`) or maximise (`Upper`) variable `z` over `milp`'s LP;
/// the widened optimum, or `None` for any status but optimal.
fn optimise(session: &mut HighsSession, z: VarId, side: Side, deadline: Option<Instant>) -> Option<f64> {
    let time_limit = match deadline {
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            Some(left.as_secs_f64())
        }
        None => None,
    };
    let sign = match side {
        Side::Lower => 1.0,
        Side::Upper => -1.0,
    };
    match session.minimise(&[(z, sign)], time_limit) {
        SolveStatus::Optimal { objective, .. } if objective.is_finite() => {
            let v = sign * objective;
            let tol = LP_BOUND_TOL_ABS + LP_BOUND_TOL_REL * v.abs();
            Some(match side {
                Side::Lower => v - tol,
                Side::Upper => v + tol,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::symbolic;
    use crate::bounds::tests::{assert_sound_inside_symbolic, deep_network, random_box};
    use crate::model::Activation;
    use crate::rng::Rng;
    use crate::testutil;

    #[test]
    fn sound_and_inside_symbolic() {
        let (width_sym, width_lp) =
            assert_sound_inside_symbolic(21, 40, |net, input| compute(net, input, None, None, 1).unwrap());
        assert!(width_lp < width_sym, "LP {width_lp} vs symbolic {width_sym}");
    }

    #[test]
    fn past_budget_gives_optimised_bounds_and_past_deadline_none() {
        let mut rng = Rng::new(2);
        let net = deep_network(&mut rng, 0);
        let input = random_box(&mut rng, net.input_dim());
        let now = Instant::now();
        assert_eq!(compute(&net, &input, Some(now), None, 1), Ok(optimised::compute(&net, &input)));
        assert_eq!(compute(&net, &input, None, Some(now), 1), Err(Expired));
        let later = now + std::time::Duration::from_secs(600);
        assert_eq!(compute(&net, &input, Some(now), Some(later), 1), Ok(optimised::compute(&net, &input)));
    }

    #[test]
    fn tightens_a_neuron_symbolic_cannot() {
        // On x in [-1, 2]: h = (relu(x), relu(-x), relu(x + 5) = x + 5) and
        // z = h0 + h1 - 0.5 h2 + 2.3 = |x| - 0.5 x - 0.2, whose minimum is
        // -0.2 (at x = 0). Symbolic bounds relax relu(-x) >= 0 and
        // relu(x) >= x separately (0.5 x - 0.2 >= -0.7); the LP over both
        // triangles finds the true minimum (and so do optimised lines, which
        // the LP pass starts from: see `optimised::tests`).
        let net = Network::new(vec![
            testutil::layer(3, 1, &[1.0, -1.0, 1.0], &[0.0, 0.0, 5.0], Activation::Relu),
            testutil::layer(1, 3, &[1.0, 1.0, -0.5], &[2.3], Activation::Relu),
            testutil::layer(1, 1, &[1.0], &[0.0], Activation::Identity),
        ])
        .unwrap();
        let input = InputBox::new(vec![-1.0], vec![2.0]).unwrap();
        let sym = symbolic::compute(&net, &input);
        assert!(sym.layers[1].lower[0] < -0.6, "{:?}", sym.layers[1]);
        let lp = compute(&net, &input, None, None, 1).unwrap();
        let l = lp.layers[1].lower[0];
        assert!((-0.2 - 1e-5..=-0.2).contains(&l), "{l}");
    }
}
