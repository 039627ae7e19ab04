//! The largest L-infinity radius around a point on which a property holds,
//! bracketed by a proved radius and a validated counterexample.
//!
//! For a radius `eps` the ball is the box of every input within `eps` of
//! the centre, clipped to the valid input range when one is given
//! ([`robustness::ball`]); the unsafe set is given (for `--label K`: some
//! other output reaches output K, ties included,
//! [`robustness::argmax_changes`]). The search keeps
//!
//! * `proved`: a radius at which [`verify`](crate::verify) answered
//!   `holds`. Balls are nested, so the property holds on every smaller
//!   ball too;
//! * `counterexample`: a validated witness, at distance `d` from the
//!   centre. It lies in the ball of radius `d` and in every larger one, so
//!   the radius is below `d`, which is often well below the radius tried.
//!
//! It first tries radius 0 (the centre itself), then grows the radius by
//! doubling (from [`FIRST_RADIUS`] times the centre's scale) until a
//! counterexample is found or the ball covers the whole valid range, then
//! bisects between the two until they are within the tolerance. A run cut
//! short (time limit, or a `verify` that answered unknown) reports the
//! bracket so far.
//!
//! Each radius is a fresh `verify`: its bounds are those of its own ball.
//! What carries over from radius to radius is the bracket itself (a
//! counterexample's distance is a radius never tried again, a proof is
//! never repeated below it).

use crate::error::{Error, ErrorKind, Result};
use crate::model::Network;
use crate::settings::Settings;
use crate::spec::{robustness, Dnf, Property, Region};
use crate::verdict::{UnknownReason, Verdict, Witness};

use super::{Deadline, Probe, Stopped};

/// Default stopping tolerance on `eps_hi - eps_lo`, in input units: a
/// hundredth of the smallest L-infinity radius VNN-COMP's MNIST and CIFAR
/// benchmarks ask about (1/255 ~ 0.004 is the smallest common image step).
pub const DEFAULT_TOLERANCE: f64 = 1e-4;

/// Without a valid input range the search grows the radius from this much
/// times `max(1, max |centre_i|)`.
pub const FIRST_RADIUS: f64 = 1e-2;

/// Without a valid input range the growth stops at this many times
/// `max(1, max |centre_i|)`, reporting the property proved up to it.
pub const MAX_RADIUS: f64 = 1e6;

/// A point, the valid range balls around it are clipped to, and the
/// property required on them.
#[derive(Debug, Clone)]
pub struct Ball<'a> {
    /// The centre.
    pub center: &'a [f64],
    /// Lower end of the valid input range: one value for every input, or
    /// one per input; `None`: unbounded.
    pub lower: Option<&'a [f64]>,
    /// Upper end of the valid input range, as `lower`.
    pub upper: Option<&'a [f64]>,
    /// Which outputs are unsafe.
    pub unsafe_set: Dnf,
}

/// The bracket `[proved, distance of counterexample]` of the radius.
#[derive(Debug, Clone, PartialEq)]
pub struct Radius {
    /// The property holds on the ball of this radius (`None`: not even at
    /// the centre, or nothing was proved in time).
    pub proved: Option<f64>,
    /// A validated counterexample and its L-infinity distance from the
    /// centre, the smallest found (`None`: none found; then the property
    /// holds on the whole valid range when `proved` reaches
    /// [`Radius::covers`]).
    pub counterexample: Option<(f64, Witness)>,
    /// The radius at which the ball covers the whole valid range
    /// (`None` without one).
    pub covers: Option<f64>,
    /// `verify` runs made.
    pub probes: usize,
    /// Why the search stopped before the tolerance was reached (`None`: it
    /// was, or the property holds on the whole range).
    pub stopped: Stopped,
}

/// The largest radius around `ball.center` on which `ball.unsafe_set` is
/// never reached, bracketed to within `tolerance` (default
/// [`DEFAULT_TOLERANCE`]) or until `settings.timeout` (see the module doc).
///
/// Errors when the centre or range do not fit the network or each other
/// ([`robustness::ball`]), or the tolerance is not a positive number; a
/// `Disagreement` if a counterexample ever lay within a proved radius (a
/// bug to report).
pub fn radius(net: &Network, ball: &Ball<'_>, tolerance: Option<f64>, settings: &Settings) -> Result<Radius> {
    let tolerance = tolerance.unwrap_or(DEFAULT_TOLERANCE);
    if !(tolerance.is_finite() && tolerance > 0.0) {
        return Err(Error::new(ErrorKind::Usage, format!("--tolerance must be a positive number, got {tolerance}")));
    }
    let property = |eps: f64| -> Result<Property> {
        let input = robustness::ball(ball.center, eps, ball.lower, ball.upper)?;
        let prop = Property::new(vec![Region::boxed(input, ball.unsafe_set.clone())]);
        prop.check_dims(net.input_dim(), net.output_dim())?;
        Ok(prop)
    };
    property(0.0)?;
    // The radius at which the ball is the whole valid range.
    let covers = match (ball.lower, ball.upper) {
        (Some(_), Some(_)) => {
            let whole = robustness::ball(ball.center, f64::MAX, ball.lower, ball.upper)?;
            let reach = |i: usize| (ball.center[i] - whole.lower[i]).max(whole.upper[i] - ball.center[i]);
            Some((0..ball.center.len()).map(reach).fold(0.0, f64::max))
        }
        _ => None,
    };
    let scale = ball.center.iter().fold(1f64, |m, v| m.max(v.abs()));
    let deadline = Deadline::new(settings);
    let mut r = Radius { proved: None, counterexample: None, covers, probes: 0, stopped: None };
    let distance = |w: &Witness| w.input().iter().zip(ball.center).fold(0f64, |m, (x, c)| m.max((x - c).abs()));
    // One `verify` at radius `eps`, recording what it settles in `r`.
    let probe = |r: &mut Radius, eps: f64| -> Result<Probe> {
        let Some(outcome) = deadline.verify(net, &property(eps)?, settings)? else {
            return Ok(Probe::OutOfTime);
        };
        r.probes += 1;
        Ok(match outcome.verdict {
            Verdict::Holds { .. } => {
                r.proved = Some(eps);
                Probe::Proved
            }
            Verdict::Violated { witness } => {
                let d = distance(&witness);
                if let Some(p) = r.proved.filter(|&p| d <= p) {
                    return Err(Error::new(
                        ErrorKind::Disagreement,
                        format!("radius: a counterexample at distance {d} lies within the proved radius {p}"),
                    ));
                }
                if r.counterexample.as_ref().is_none_or(|(best, _)| d < *best) {
                    r.counterexample = Some((d, witness));
                }
                Probe::Found(d)
            }
            Verdict::Unknown { reason } => deadline.unknown(reason),
        })
    };
    // Grow from the centre until a counterexample (or the whole range).
    let mut eps = 0.0;
    while r.counterexample.is_none() {
        match probe(&mut r, eps)? {
            Probe::Proved => {}
            Probe::Found(_) => break,
            Probe::OutOfTime => {
                r.stopped = Some(UnknownReason::TimeLimit);
                return Ok(r);
            }
            Probe::Undecided(reason) => {
                // Undecided while growing: bisect below this radius, with
                // no counterexample yet (so the answer stays incomplete).
                let Some(lo) = r.proved else {
                    r.stopped = Some(reason);
                    return Ok(r);
                };
                let (_, _, stopped) = super::bisect(lo, eps, |lo, hi| hi - lo <= tolerance, |eps| probe(&mut r, eps))?;
                r.stopped = stopped.or(r.counterexample.is_none().then_some(reason));
                return Ok(r);
            }
        }
        if covers.is_some_and(|c| eps >= c) || eps >= MAX_RADIUS * scale {
            return Ok(r); // holds on the whole range, or as far as we look
        }
        let grown = if eps == 0.0 { FIRST_RADIUS * scale } else { 2.0 * eps };
        eps = covers.map_or(grown, |c| grown.min(c));
    }
    let (Some(lo), Some((hi, _))) = (r.proved, r.counterexample.as_ref()) else {
        return Ok(r); // unsafe at the centre: the radius is 0
    };
    let hi = *hi;
    let (_, _, stopped) = super::bisect(lo, hi, |lo, hi| hi - lo <= tolerance, |eps| probe(&mut r, eps))?;
    r.stopped = stopped;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::testutil::{random_network, reference};

    /// The exact radius by bisection with the exhaustive reference: the
    /// largest `eps` whose ball's least margin (over the argmax-changes
    /// disjuncts) is positive, to within `1e-7`.
    fn reference_radius(net: &Network, ball: &Ball<'_>, hi: f64) -> f64 {
        let margin = |eps: f64| {
            let input = robustness::ball(ball.center, eps, ball.lower, ball.upper).unwrap();
            reference(net, &Property::new(vec![Region::boxed(input, ball.unsafe_set.clone())])).margin
        };
        let (mut lo, mut hi) = (0.0, hi);
        if margin(hi) > 0.0 {
            return hi;
        }
        while hi - lo > 1e-7 {
            let mid = (lo + hi) / 2.0;
            if margin(mid) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// On random small classifiers around random points with a valid range
    /// `[-1, 1]`, the bracket contains the reference radius, is within the
    /// tolerance, and its counterexample is valid at its distance.
    #[test]
    fn brackets_the_reference_radius() {
        let mut rng = Rng::new(31);
        let mut bracketed = 0;
        for case in 0..25 {
            let net = random_network(&mut rng, 5);
            if net.output_dim() < 2 {
                continue;
            }
            let center: Vec<f64> = (0..net.input_dim()).map(|_| rng.range(-0.8, 0.8)).collect();
            let y = net.forward(&center);
            let label = (0..y.len()).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap();
            let ball = Ball {
                center: &center,
                lower: Some(&[-1.0]),
                upper: Some(&[1.0]),
                unsafe_set: robustness::argmax_changes(label, y.len()).unwrap(),
            };
            let tol = 1e-3;
            let r = radius(&net, &ball, Some(tol), &Settings::default()).unwrap();
            assert_eq!(r.stopped, None, "case {case}");
            let exact = reference_radius(&net, &ball, 2.0);
            let lo = r.proved.expect("proved at the centre at least");
            match &r.counterexample {
                Some((hi, w)) => {
                    assert!(lo <= exact + 1e-6 && exact <= hi + 1e-6, "case {case}: {exact} not in [{lo}, {hi}]");
                    assert!(hi - lo <= tol, "case {case}");
                    let d = w.input().iter().zip(&center).fold(0f64, |m, (x, c)| m.max((x - c).abs()));
                    assert_eq!(d, *hi);
                    let out = net.forward(w.input());
                    assert!((0..out.len()).any(|j| j != label && out[j] >= out[label]), "case {case}");
                    bracketed += 1;
                }
                None => {
                    assert_eq!(Some(lo), r.covers, "case {case}");
                    assert!(exact >= r.covers.unwrap() - 1e-6, "case {case}: holds everywhere, reference {exact}");
                }
            }
        }
        assert!(bracketed >= 5, "only {bracketed} cases had a finite radius");
    }

    /// A centre whose argmax is not the label has radius 0 with the centre
    /// as counterexample; no valid range grows the radius by doubling.
    #[test]
    fn unsafe_centre_and_unbounded_growth() {
        // y = (x, -x): argmax 0 for x > 0, 1 below.
        let net = Network::new(vec![crate::testutil::layer(
            2,
            1,
            &[1.0, -1.0],
            &[0.0, 0.0],
            crate::model::Activation::Identity,
        )])
        .unwrap();
        let unsafe_set = robustness::argmax_changes(0, 2).unwrap();
        let at = |c: f64| {
            let center = [c];
            let ball = Ball { center: &center, lower: None, upper: None, unsafe_set: unsafe_set.clone() };
            radius(&net, &ball, Some(1e-6), &Settings::default()).unwrap()
        };
        let r = at(-0.5);
        assert_eq!((r.proved, r.counterexample.map(|c| c.0)), (None, Some(0.0)));
        // The radius of 0.3 is 0.3 (the tie at 0 counts as unsafe).
        let r = at(0.3);
        let (lo, hi) = (r.proved.unwrap(), r.counterexample.unwrap().0);
        assert!(lo <= 0.3 && 0.3 <= hi && hi - lo <= 1e-6, "[{lo}, {hi}]");
    }
}
