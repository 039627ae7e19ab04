//! Questions beyond "does this property hold", answered by the same engine.
//!
//! * [`range`]: the exact minimum and maximum of a linear objective of the
//!   outputs over a property's input regions, as certified intervals.
//! * [`radius`]: the largest L-infinity radius around a point on which a
//!   property (by default: the argmax stays the label) holds, bracketed by a
//!   proved radius and a validated counterexample.
//! * [`equiv`]: whether two networks agree (within a tolerance, or on the
//!   argmax) over a property's input regions.
//!
//! Each is a sequence of ordinary [`verify`] runs on properties built for
//! the question, so each inherits its guarantees unchanged: a proved side
//! is a `holds` (the unsafe set relaxed by
//! [`UNSAFE_RELAX`](crate::margins::UNSAFE_RELAX) shown empty), and a
//! found side is a [`Witness`](crate::verdict::Witness) the f64 forward
//! pass accepted, its reported value computed again in f64 from that
//! input (never a solver's number). [`Settings::timeout`] is one deadline
//! for the whole question: each run gets the time left ([`Deadline`]), and
//! a question cut short reports the best certified answer so far.

pub mod equiv;
pub mod radius;
pub mod range;

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::model::Network;
use crate::search::verify;
use crate::settings::Settings;
use crate::spec::{Dnf, Property, Region};
use crate::verdict::{Outcome, UnknownReason};

/// One deadline shared by the [`verify`] runs of a question.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    start: Instant,
    end: Option<Instant>,
}

impl Deadline {
    /// The deadline `settings.timeout` from now (none without a timeout).
    pub(crate) fn new(settings: &Settings) -> Deadline {
        let start = Instant::now();
        Deadline { start, end: settings.timeout.map(|t| start + t) }
    }

    /// Time since the question started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Run [`verify`] with the time left as its timeout; `Ok(None)` when no
    /// time is left.
    pub(crate) fn verify(&self, net: &Network, prop: &Property, settings: &Settings) -> Result<Option<Outcome>> {
        let mut s = settings.clone();
        if let Some(end) = self.end {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            s.timeout = Some(left);
        }
        verify(net, prop, &s).map(Some)
    }
}

/// Why a question stopped before its stopping rule was met: the time limit,
/// or a [`verify`] run that answered unknown (with its reason).
pub type Stopped = Option<UnknownReason>;

/// `prop`'s regions (boxes and input constraints) with every unsafe set
/// replaced by `unsafe_set`; the names and declared counts are kept.
pub(crate) fn with_unsafe(prop: &Property, unsafe_set: &Dnf) -> Property {
    let regions = prop
        .regions
        .iter()
        .map(|r| Region {
            input: r.input.clone(),
            input_constraints: r.input_constraints.clone(),
            unsafe_set: unsafe_set.clone(),
        })
        .collect();
    Property { regions, argmax: None, ..prop.clone() }
}

/// What one [`verify`] run at a threshold said, for [`bisect`].
pub(crate) enum Probe {
    /// `holds`: the threshold becomes the proved end.
    Proved,
    /// A validated witness whose value (on the found end's scale) is this.
    Found(f64),
    /// `unknown` for another reason than time: near the true value the
    /// relaxed proof and the exact witness check can both fail (a value
    /// within [`UNSAFE_RELAX`](crate::margins::UNSAFE_RELAX) of the
    /// threshold), so the search probes nearer the proved end instead.
    Undecided(UnknownReason),
    /// The time limit: stop with the bracket so far.
    OutOfTime,
}

/// Bisection between a `proved` end and a `found` end (either order on
/// the line), each probe at the midpoint between `proved` and the nearer of
/// `found` and the last undecided threshold, until `done(proved, found)`.
///
/// A [`Probe::Found`] value moves the found end when it is nearer `proved`
/// than the current one; [`Probe::Undecided`] keeps later probes between
/// `proved` and that threshold, and the search stops (with that reason) once
/// `done(proved, undecided)` holds although `done(proved, found)` does not.
/// Returns the final ends and why the search stopped early, if it did.
pub(crate) fn bisect(
    mut proved: f64,
    mut found: f64,
    done: impl Fn(f64, f64) -> bool,
    mut probe: impl FnMut(f64) -> Result<Probe>,
) -> Result<(f64, f64, Stopped)> {
    let mut undecided: Option<(f64, UnknownReason)> = None;
    let nearer = |a: f64, b: f64, proved: f64| if (a - proved).abs() <= (b - proved).abs() { a } else { b };
    loop {
        if done(proved, found) {
            return Ok((proved, found, None));
        }
        let near = undecided.as_ref().map_or(found, |(u, _)| nearer(*u, found, proved));
        if let Some((u, reason)) = &undecided {
            if *u == near && done(proved, *u) {
                return Ok((proved, found, Some(reason.clone())));
            }
        }
        let t = proved + (near - proved) / 2.0;
        if t == proved || t == near {
            // No f64 strictly between: as exact as it gets.
            return Ok((proved, found, undecided.map(|(_, r)| r)));
        }
        match probe(t)? {
            Probe::Proved => proved = t,
            Probe::Found(v) => found = nearer(v, found, proved),
            Probe::Undecided(reason) => undecided = Some((t, reason)),
            Probe::OutOfTime => return Ok((proved, found, Some(UnknownReason::TimeLimit))),
        }
        if undecided.as_ref().is_some_and(|(u, _)| (u - proved).abs() >= (found - proved).abs()) {
            undecided = None; // the found end has passed it
        }
    }
}
