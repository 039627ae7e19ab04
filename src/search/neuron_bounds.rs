//! Neuron bounds by method ([`BoundMethod`]): the one place that reaches
//! both the bound propagation of [`crate::bounds`] and the LP tightening of
//! [`crate::milp::lp_bounds`], so that neither depends on the other.

use std::time::Instant;

use crate::bounds::{self, BoundMethod, Expired, NetworkBounds};
use crate::milp::lp_bounds;
use crate::model::Network;
use crate::spec::InputBox;

/// Compute bounds with `method`, with no time limit.
pub fn compute(net: &Network, input: &InputBox, method: BoundMethod) -> NetworkBounds {
    compute_until(net, input, method, None, 1)
}

/// Compute bounds with `method`, with no deadline. Only [`BoundMethod::Lp`]
/// uses `lp_budget` (LP tightening stops there, keeping sound optimised
/// bounds for what is left; the result is complete) and `highs_threads`
/// (passed to HiGHS; keep it equal to what the rest of the run passes, since
/// HiGHS sizes its global thread pool once).
pub fn compute_until(
    net: &Network,
    input: &InputBox,
    method: BoundMethod,
    lp_budget: Option<Instant>,
    highs_threads: usize,
) -> NetworkBounds {
    bounds::unlimited(compute_before(net, input, method, lp_budget, None, highs_threads))
}

/// [`compute_until`], stopped with [`Expired`] once `deadline` passes (the
/// run's hard limit, unlike `lp_budget` after which LP tightening and the
/// per-neuron optimisation just stop). Interval arithmetic, one pass over the weights, is not polled.
pub fn compute_before(
    net: &Network,
    input: &InputBox,
    method: BoundMethod,
    lp_budget: Option<Instant>,
    deadline: Option<Instant>,
    highs_threads: usize,
) -> Result<NetworkBounds, Expired> {
    match method {
        BoundMethod::Interval => Ok(bounds::interval::compute(net, input)),
        BoundMethod::Symbolic => bounds::symbolic::compute_before(net, input, deadline),
        BoundMethod::Optimised => {
            bounds::optimised::compute_with_slopes(net, input, lp_budget, deadline).map(|(nb, _)| nb)
        }
        BoundMethod::Lp => lp_bounds::compute(net, input, lp_budget, deadline, highs_threads),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::tests::{assert_sound, deep_network, random_box};
    use crate::bounds::{optimised, unlimited};
    use crate::rng::Rng;

    #[test]
    fn every_method_dispatches_and_is_sound() {
        let mut rng = Rng::new(4);
        let net = deep_network(&mut rng, 7);
        let input = random_box(&mut rng, net.input_dim());
        for method in [BoundMethod::Interval, BoundMethod::Symbolic, BoundMethod::Lp] {
            assert_sound(&net, &input, &compute(&net, &input, method), &mut rng, 200);
        }
    }

    /// With a deadline already past, every method but interval arithmetic
    /// (which does not poll) stops with [`Expired`]; with one far off, each
    /// gives exactly the bounds it gives without a deadline.
    #[test]
    fn deadlines_stop_the_polling_methods_and_change_nothing_else() {
        let mut rng = Rng::new(8);
        for t in 0..8 {
            let net = deep_network(&mut rng, t);
            let input = random_box(&mut rng, net.input_dim());
            let now = Instant::now();
            let later = now + std::time::Duration::from_secs(600);
            for method in BoundMethod::ALL {
                let plain = compute(&net, &input, method);
                let before = compute_before(&net, &input, method, None, Some(later), 1).unwrap();
                if method == BoundMethod::Lp {
                    // HiGHS's path (and so the last digits of an LP optimum)
                    // may depend on the time limit it is given; the bounds
                    // are padded by LP_BOUND_TOL_* for that, far above this.
                    for (a, b) in before.layers.iter().zip(&plain.layers) {
                        for (x, y) in a.lower.iter().chain(&a.upper).zip(b.lower.iter().chain(&b.upper)) {
                            assert!((x - y).abs() <= 1e-8 * (1.0 + y.abs()), "{method:?}: {x} against {y}");
                        }
                    }
                } else {
                    assert_eq!(before, plain, "{method:?}");
                }
                let expired = compute_before(&net, &input, method, None, Some(now), 1);
                if method == BoundMethod::Interval {
                    assert_eq!(expired, Ok(plain));
                } else {
                    assert_eq!(expired, Err(Expired), "{method:?}");
                }
            }
            let (slopes_now, slopes_later) = (
                optimised::compute_with_slopes(&net, &input, None, Some(now)),
                optimised::compute_with_slopes(&net, &input, None, Some(later)),
            );
            assert_eq!(slopes_now, Err(Expired));
            // Unset slopes are NaN, so the slopes compare as text.
            let plain = unlimited(optimised::compute_with_slopes(&net, &input, None, None));
            assert_eq!(format!("{slopes_later:?}"), format!("{:?}", Ok::<_, Expired>(plain)));
        }
    }
}
