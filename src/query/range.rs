//! The exact range of a linear objective `c·y` of the outputs over a
//! property's input regions, as two certified intervals.
//!
//! The maximum is bracketed by a *found* value (`c·y` at an input the f64
//! forward pass evaluated, so the maximum is at least that) and a *proved*
//! one (the maximum is below it). The bracket starts from the symbolic
//! bounds of `c·y` on each region's box and the value at each region's
//! centre, then narrows by bisection on a threshold `t` strictly inside it:
//! [`verify`](crate::verify) on the property "unsafe if `c·y >= t`" over
//! the same regions either
//!
//! * holds: no input reaches `t - UNSAFE_RELAX` (the search relaxes the
//!   unsafe row by [`UNSAFE_RELAX`]), so `t` becomes the proved side; or
//! * is violated: its witness is an input of some region where the f64
//!   forward pass gives `c·y >= t`, which becomes the found side (with that
//!   f64 value, often well above `t`); or
//! * is unknown (time limit, solver trouble): the bisection stops with the
//!   bracket it has.
//!
//! It stops once `proved - found <= gap`. The minimum is the maximum of
//! `-c·y`, negated. Every stage of the search (input splitting on few
//! inputs, phase splitting or the MILP on many, falsification throughout)
//! serves both sides, and several regions are covered at once: the extreme
//! over all of them.
//!
//! The objective is over the network's outputs before any output
//! activation (the logits): a softmax or sigmoid is not linear, and `c·y`
//! of probabilities has no exact form on the logits.
//!
//! Why bisection rather than one MILP with the objective: the searches
//! that settle `verify` fast (input splitting with symbolic bounds on ACAS
//! Xu, phase splitting on MNIST) decide thresholds, not optima, and a
//! threshold far from the optimum is decided in a fraction of the time a
//! near-tight one takes. The witnesses' values make the found side jump
//! past the midpoint, so the bracket usually shrinks faster than halving.

use crate::bounds::symbolic;
use crate::error::{Error, ErrorKind, Result};
use crate::margins::UNSAFE_RELAX;
use crate::model::Network;
use crate::settings::Settings;
use crate::spec::{Conjunction, Dnf, LinearConstraint, Property};
use crate::verdict::{UnknownReason, Verdict};

use super::{with_unsafe, Deadline, Probe, Stopped};

/// Default stopping gap, relative to `max(1, |found|, |proved|)`: a proof
/// at threshold `t` needs the extreme to stay [`UNSAFE_RELAX`] (1e-6) below
/// `t`, so the bracket cannot close much below twice that; ten times it
/// leaves the last bisection steps room to prove.
pub const DEFAULT_GAP: f64 = 1e-5;

/// An input the range search evaluated, and `c·y` there.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// `c·y` at `input`, by the f64 forward pass.
    pub value: f64,
    /// The input, in region `region`'s box and input constraints.
    pub input: Vec<f64>,
    /// Index of the region the input belongs to.
    pub region: usize,
}

/// One side of the range (the maximum or the minimum) as a certified
/// interval: the true extreme lies between `found.value` and `proved`.
#[derive(Debug, Clone, PartialEq)]
pub struct Extreme {
    /// Proved: for the maximum, every input gives `c·y < proved`; for the
    /// minimum, `c·y > proved`.
    pub proved: f64,
    /// The best input found (`None` only when no region has an input the
    /// search could evaluate, as when every polytope is empty).
    pub found: Option<Found>,
    /// `verify` runs made.
    pub probes: usize,
    /// Why the search stopped before the gap was reached (`None`: it was).
    pub stopped: Stopped,
}

impl Extreme {
    /// `|proved - found|` (infinite without a found value).
    pub fn gap(&self) -> f64 {
        self.found.as_ref().map_or(f64::INFINITY, |f| (self.proved - f.value).abs())
    }
}

/// The range of `c·y` over a property's regions.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// The minimum.
    pub min: Extreme,
    /// The maximum.
    pub max: Extreme,
}

/// The certified range of `objective` (`c` as `(output, coefficient)`
/// pairs) over the input regions of `prop` (their unsafe sets are ignored),
/// each side narrowed until its gap is at most `gap` (default
/// [`DEFAULT_GAP`] relative) or `settings.timeout` (one deadline for both
/// sides: the minimum gets the first half of it, the maximum the rest).
///
/// Errors on an objective naming no output or a missing output, a gap
/// that is not a positive number, or a region that does not fit the
/// network; a `Disagreement` if a found value ever passed a proved bound
/// (a bug to report).
pub fn range(
    net: &Network,
    prop: &Property,
    objective: &[(usize, f64)],
    gap: Option<f64>,
    settings: &Settings,
) -> Result<Range> {
    let usage = |m: String| Err(Error::new(ErrorKind::Usage, m));
    if objective.is_empty() || objective.iter().all(|&(_, c)| c == 0.0) {
        return usage("the objective has no nonzero coefficient".into());
    }
    if let Some(&(k, _)) = objective.iter().find(|&&(k, _)| k >= net.output_dim()) {
        return usage(format!("the objective names output {k}, the network has {} (0-based)", net.output_dim()));
    }
    if objective.iter().any(|&(_, c)| !c.is_finite()) {
        return usage("the objective's coefficients must be finite".into());
    }
    if gap.is_some_and(|g| !(g.is_finite() && g > 0.0)) {
        return usage(format!("--gap must be a positive number, got {}", gap.unwrap_or_default()));
    }
    let net = net.clone().with_output_activation(None);
    prop.check_dims(net.input_dim(), net.output_dim())?;
    let deadline = Deadline::new(settings);
    // The minimum gets half the time, so that a hard minimum cannot starve
    // the maximum.
    let mut first = settings.clone();
    first.timeout = settings.timeout.map(|t| t / 2);
    let neg: Vec<(usize, f64)> = objective.iter().map(|&(k, c)| (k, -c)).collect();
    let min = maximise(&net, prop, &neg, gap, &first)?;
    let min = Extreme { proved: -min.proved, found: min.found.map(|f| Found { value: -f.value, ..f }), ..min };
    let mut rest = settings.clone();
    rest.timeout = settings.timeout.map(|t| t.saturating_sub(deadline.elapsed()));
    if rest.timeout.is_some_and(|t| t.is_zero()) {
        let max = Extreme { proved: f64::INFINITY, found: None, probes: 0, stopped: Some(UnknownReason::TimeLimit) };
        return Ok(Range { min, max });
    }
    let max = maximise(&net, prop, objective, gap, &rest)?;
    Ok(Range { min, max })
}

/// The certified maximum of `c·y` over `prop`'s regions (see the module
/// doc); `net` has no output activation.
fn maximise(
    net: &Network,
    prop: &Property,
    c: &[(usize, f64)],
    gap: Option<f64>,
    settings: &Settings,
) -> Result<Extreme> {
    let deadline = Deadline::new(settings);
    let value = |y: &[f64]| c.iter().map(|&(k, w)| w * y[k]).sum::<f64>();
    let neg: Vec<(usize, f64)> = c.iter().map(|&(k, w)| (k, -w)).collect();
    // The starting bracket: symbolic bounds of `c·y` on each region's box
    // (sound for the polytope inside it), padded as `bounds_exclude` pads a
    // proof; and the value at each region's centre when it lies in the
    // region.
    let (mut proved, mut floor) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut found: Option<Found> = None;
    for (r, region) in prop.regions.iter().enumerate() {
        let nb = symbolic::compute(net, &region.input);
        proved = proved.max(-symbolic::bound_linear(net, &region.input, &nb, &neg).0 + UNSAFE_RELAX);
        floor = floor.min(symbolic::bound_linear(net, &region.input, &nb, c).0);
        let x = crate::search::falsify::into_region(region, region.input.center());
        if region.contains(&x) {
            let v = value(&net.forward(&x));
            if found.as_ref().is_none_or(|f| v > f.value) {
                found = Some(Found { value: v, input: x, region: r });
            }
        }
    }
    let mut probes = 0;
    let done = |proved: f64, found: f64| {
        let scale = 1f64.max(proved.abs()).max(found.abs());
        proved - found <= gap.unwrap_or(DEFAULT_GAP * scale)
    };
    let start = found.as_ref().map_or(floor, |f| f.value);
    // The proved end as the probes move it, to catch a found value past it.
    let mut ceiling = proved;
    let (proved, _, stopped) = if prop.regions.is_empty() {
        (proved, start, None)
    } else {
        super::bisect(proved, start, done, |t| {
            // Unsafe if `c·y >= t`, written `-c·y <= -t`.
            let row = LinearConstraint { coeffs: neg.clone(), rhs: -t };
            let probe = with_unsafe(prop, &Dnf { disjuncts: vec![Conjunction { constraints: vec![row] }] });
            let Some(outcome) = deadline.verify(net, &probe, settings)? else {
                return Ok(Probe::OutOfTime);
            };
            probes += 1;
            Ok(match outcome.verdict {
                Verdict::Holds { .. } => {
                    ceiling = t;
                    Probe::Proved
                }
                Verdict::Violated { witness } => {
                    let v = value(witness.output());
                    if v >= ceiling {
                        return Err(Error::new(
                            ErrorKind::Disagreement,
                            format!(
                                "range: the input {:?} reaches {v}, past the proved bound {ceiling}",
                                witness.input()
                            ),
                        ));
                    }
                    if found.as_ref().is_none_or(|f| v > f.value) {
                        found = Some(Found { value: v, input: witness.input().to_vec(), region: witness.region() });
                    }
                    Probe::Found(v)
                }
                Verdict::Unknown { reason } => deadline.unknown(reason),
            })
        })?
    };
    Ok(Extreme { proved, found, probes, stopped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::spec::Region;
    use crate::testutil::{random_input_constraints, random_network, random_property, reference};

    /// The exact minimum of `c·y` over `prop`'s regions by activation
    /// pattern enumeration: the reference's least margin of the one row
    /// `c·y <= 0` is `min c·y`.
    fn exact_min(net: &Network, prop: &Property, c: &[(usize, f64)]) -> f64 {
        let row = LinearConstraint { coeffs: c.to_vec(), rhs: 0.0 };
        reference(net, &with_unsafe(prop, &Dnf { disjuncts: vec![Conjunction { constraints: vec![row] }] })).margin
    }

    /// On random small networks and regions (several regions, input
    /// constraints in some), both certified intervals contain the exact
    /// extreme from the reference, the found inputs give the found values
    /// in f64 and lie in their regions, and the default gap is reached.
    #[test]
    fn brackets_the_exact_range() {
        let mut rng = Rng::new(2025);
        for case in 0..40 {
            let net = random_network(&mut rng, 5);
            let mut prop = random_property(&mut rng, &net);
            if case % 3 == 0 {
                let mut second = random_property(&mut rng, &net).regions.remove(0);
                second.input_constraints = random_input_constraints(&mut rng, &second.input);
                prop.regions.push(second);
            }
            let c: Vec<(usize, f64)> = if case % 2 == 0 {
                vec![(rng.below(net.output_dim()), 1.0)]
            } else {
                (0..net.output_dim()).map(|k| (k, rng.range(-1.0, 1.0))).collect()
            };
            let neg: Vec<(usize, f64)> = c.iter().map(|&(k, w)| (k, -w)).collect();
            let (min, max) = (exact_min(&net, &prop, &c), -exact_min(&net, &prop, &neg));
            let r = range(&net, &prop, &c, None, &Settings::default()).unwrap();
            for (side, exact, lower_is_proved) in [(&r.min, min, true), (&r.max, max, false)] {
                assert_eq!(side.stopped, None, "case {case}");
                let f = side.found.as_ref().expect("a found value");
                let (lo, hi) = if lower_is_proved { (side.proved, f.value) } else { (f.value, side.proved) };
                let tol = 1e-7 * (1.0 + exact.abs());
                assert!(lo - tol <= exact && exact <= hi + tol, "case {case}: exact {exact} not in [{lo}, {hi}]");
                assert!(hi - lo <= 2.0 * DEFAULT_GAP * (1.0 + exact.abs()), "case {case}: [{lo}, {hi}] too wide");
                let y = net.forward(&f.input);
                assert_eq!(c.iter().map(|&(k, w)| w * y[k]).sum::<f64>(), f.value, "case {case}");
                assert!(prop.regions[f.region].contains(&f.input), "case {case}");
            }
        }
    }

    /// `--gap` stops early with a wider (still certified) interval, and a
    /// timeout returns the bracket so far.
    #[test]
    fn gap_and_timeout_stop_early() {
        let mut rng = Rng::new(7);
        let net = random_network(&mut rng, 6);
        let prop = random_property(&mut rng, &net);
        let c = [(0, 1.0)];
        let exact = -exact_min(&net, &prop, &[(0, -1.0)]);
        let coarse = range(&net, &prop, &c, Some(0.5), &Settings::default()).unwrap().max;
        let f = coarse.found.unwrap();
        assert!(coarse.proved - f.value <= 0.5 && f.value <= exact + 1e-9 && exact < coarse.proved);
        let settings = Settings { timeout: Some(std::time::Duration::from_nanos(1)), ..Settings::default() };
        let r = range(&net, &prop, &c, None, &settings).unwrap();
        assert_eq!(r.max.stopped, Some(UnknownReason::TimeLimit));
        assert!(r.max.proved >= exact);
    }

    #[test]
    fn refuses_bad_objectives() {
        let mut rng = Rng::new(1);
        let net = random_network(&mut rng, 3);
        let prop = Property::new(vec![Region::boxed(
            random_property(&mut rng, &net).regions[0].input.clone(),
            Dnf { disjuncts: vec![] },
        )]);
        let s = Settings::default();
        for bad in [vec![], vec![(0, 0.0)], vec![(net.output_dim(), 1.0)], vec![(0, f64::NAN)]] {
            assert_eq!(range(&net, &prop, &bad, None, &s).unwrap_err().kind(), ErrorKind::Usage);
        }
        assert_eq!(range(&net, &prop, &[(0, 1.0)], Some(0.0), &s).unwrap_err().kind(), ErrorKind::Usage);
    }
}
