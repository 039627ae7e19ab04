//! Optimised bounds of intermediate neurons (alpha-CROWN's intermediate
//! layers): each unstable neuron's two ends are bounded by
//! [`Substitution::optimised_bound`] over the network cut after its layer,
//! with the free relaxation lines chosen for that neuron alone.
//!
//! Plain symbolic bounds use one pair of lines per neuron for every row, and
//! on deep networks their looseness compounds: on MNIST-FC 256x6 the last
//! two hidden layers come out with every neuron unstable. Optimising the
//! lines per bounded neuron reaches the triangle-LP bound in the limit (the
//! slopes are the LP's dual variables) at the cost of a few substitutions,
//! far less than an LP solve, so it runs before the LPs of
//! [`lp_bounds`](crate::milp::lp_bounds) on every layer and leaves them fewer, easier neurons.
//!
//! Soundness: every iterate of the optimisation is a complete, padded
//! back-substitution bound (see [`Substitution::optimised_bound`]); a result
//! only ever replaces a looser end.

use std::time::Instant;

use rayon::prelude::*;

use super::symbolic::optimise::Warm;
use super::symbolic::{NeuronSlopes, Substitution};
use super::{layer_by_layer, past, poll, prefix, unlimited, Bounds, Expired, NetworkBounds};
use crate::model::Network;
use crate::spec::InputBox;

/// Optimised bounds for every layer of `net` over `input`, each layer's
/// unstable neurons tightened from the optimised bounds of the layers below.
pub fn compute(net: &Network, input: &InputBox) -> NetworkBounds {
    unlimited(compute_with_slopes(net, input, None, None)).0
}

/// [`compute`], and the slopes that gave each neuron's bounds (for
/// refining the bounds of parts of the box,
/// [`refine`](super::symbolic::refine)); [`Expired`] once `deadline` passes
/// (polled before each neuron's optimisation, see [`tighten_layer`]).
///
/// Past `budget`, the layers not yet tightened keep their plain symbolic
/// bounds (sound, looser, with no slopes of their own): on a convolutional
/// network with thousands of unstable neurons per layer, optimising each
/// neuron alone costs minutes that the search can use better.
pub fn compute_with_slopes(
    net: &Network,
    input: &InputBox,
    budget: Option<Instant>,
    deadline: Option<Instant>,
) -> Result<(NetworkBounds, NeuronSlopes), Expired> {
    let mut slopes = NeuronSlopes::default();
    let until = match (budget, deadline) {
        (Some(b), Some(d)) => Some(b.min(d)),
        (b, d) => b.or(d),
    };
    let bounds = layer_by_layer(net, input, deadline, |earlier, b| {
        match tighten_layer(net, input, earlier, b, LAYER_STEPS, until) {
            Ok(s) => slopes.set_layer(earlier.len(), s),
            // The budget is spent (`b` is left as it was): plain bounds.
            Err(Expired) if !past(deadline) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    })?;
    Ok((bounds, slopes))
}

/// Gradient steps per end of each neuron. alpha-CROWN's default for
/// intermediate layers is of this order; each step costs one substitution
/// and one forward pass of the cut network.
pub const LAYER_STEPS: usize = 20;

/// Tighten the unstable neurons of layer `k = earlier.len()`, whose sound
/// bounds given `earlier` are `b`, in place, and return the slopes used for
/// each (layer `k` of a [`NeuronSlopes`]). A neuron's end stops improving
/// once it passes the last kink on its side (the neuron is then stable, and
/// a tighter bound would change no relaxation). Neurons run in parallel.
///
/// [`Expired`] once `deadline` passes, polled before each neuron's
/// optimisation and at each of its steps (a substitution of one row: a
/// fraction of a millisecond on MNIST-FC); `b` is then left as it was.
pub fn tighten_layer(
    net: &Network,
    input: &InputBox,
    earlier: &[Bounds],
    b: &mut Bounds,
    steps: usize,
    deadline: Option<Instant>,
) -> Result<Vec<Vec<Vec<f64>>>, Expired> {
    let k = earlier.len();
    let act = &net.layers()[k].activation;
    let unstable: Vec<usize> = (0..b.len()).filter(|&i| act.is_unstable(i, b.lower[i], b.upper[i])).collect();
    let mut slopes = vec![Vec::new(); 2 * b.len()];
    let Some(cut) = prefix(net, k) else {
        return Ok(slopes); // cannot happen for a layer of a valid network; keep the bounds
    };
    if unstable.is_empty() {
        return Ok(slopes);
    }
    poll(deadline)?;
    let mut nb = NetworkBounds { layers: earlier.to_vec() };
    nb.layers.push(b.clone());
    let sub = Substitution::new(&cut, input, &nb);
    // (neuron, sign): sign 1 bounds z from below, -1 bounds -z from below.
    let tasks: Vec<(usize, f64)> = unstable.iter().flat_map(|&i| [(i, 1.0), (i, -1.0)]).collect();
    let results: Vec<Option<(f64, Warm)>> = tasks
        .par_iter()
        .map(|&(i, sign)| {
            if past(deadline) {
                return None;
            }
            let inside = act.kinks_inside(i, b.lower[i], b.upper[i]);
            let inside = inside.iter().map(|q| q.at);
            // Past the last kink on this side, the neuron is stable.
            let threshold = if sign > 0.0 {
                inside.fold(f64::NEG_INFINITY, f64::max)
            } else {
                -inside.fold(f64::INFINITY, f64::min)
            };
            let mut warm = Warm::default();
            let (bound, _) = sub.optimised_bound_until(&[(i, sign)], &[], &mut warm, steps, threshold, deadline);
            Some((sign * bound.lower, warm))
        })
        .collect();
    // Some neuron was skipped, or its steps cut short: the layer is not
    // what it would have been.
    let results: Vec<(f64, Warm)> = results.into_iter().collect::<Option<_>>().ok_or(Expired)?;
    poll(deadline)?;
    for (&(i, sign), (v, warm)) in tasks.iter().zip(results) {
        slopes[2 * i + usize::from(sign < 0.0)] = warm.into_slopes();
        // A result outside the current interval would contradict a sound
        // bound of a non-empty box: numerical trouble, ignored.
        if sign > 0.0 && v > b.lower[i] && v <= b.upper[i] {
            b.lower[i] = v;
        } else if sign < 0.0 && v < b.upper[i] && v >= b.lower[i] {
            b.upper[i] = v;
        }
    }
    Ok(slopes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::symbolic;
    use crate::bounds::tests::assert_sound_inside_symbolic;
    use crate::model::Activation;
    use crate::spec::InputBox;
    use crate::testutil;

    /// Random networks of every activation kind: sound at sampled inputs,
    /// never looser than symbolic bounds, and tighter in total.
    #[test]
    fn sound_and_inside_symbolic() {
        let (width_sym, width_opt) = assert_sound_inside_symbolic(31, 60, compute);
        assert!(width_opt < 0.99 * width_sym, "optimised {width_opt} vs symbolic {width_sym}");
    }

    /// On x in [-1, 2]: z = relu(x) + relu(-x) - 0.5 relu(x + 5) + 2.3
    /// = |x| - 0.5 x - 0.2, minimum -0.2 at x = 0. The fixed lines give
    /// -0.7 (see `lp::tests::tightens_a_neuron_symbolic_cannot`); the lines
    /// `relu(x) >= s1 x`, `relu(-x) >= -s2 x` with `s1 - s2 = 0.5` give the
    /// exact minimum: the default steps get most of the way there, more steps
    /// all the way.
    #[test]
    fn finds_the_lines_that_reach_the_minimum() {
        let net = Network::new(vec![
            testutil::layer(3, 1, &[1.0, -1.0, 1.0], &[0.0, 0.0, 5.0], Activation::Relu),
            testutil::layer(1, 3, &[1.0, 1.0, -0.5], &[2.3], Activation::Relu),
            testutil::layer(1, 1, &[1.0], &[0.0], Activation::Identity),
        ])
        .unwrap();
        let input = InputBox::new(vec![-1.0], vec![2.0]).unwrap();
        assert!(symbolic::compute(&net, &input).layers[1].lower[0] < -0.6);
        let opt = compute(&net, &input);
        let l = opt.layers[1].lower[0];
        assert!((-0.25..=-0.2).contains(&l), "{l}");
        let mut b = symbolic::compute(&net, &input).layers[1].clone();
        tighten_layer(&net, &input, &opt.layers[..1], &mut b, 300, None).unwrap();
        assert!((-0.2 - 1e-4..=-0.2).contains(&b.lower[0]), "{}", b.lower[0]);
    }
}
