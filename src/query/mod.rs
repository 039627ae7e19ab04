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

/// The share of a question's time left that one [`verify`] run may use:
/// a threshold near the true value can take far longer than the rest
/// together, and with a share the bisection probes elsewhere instead of
/// spending the whole budget on it.
pub const PROBE_SHARE: f64 = 1.0 / 3.0;

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

    /// Run [`verify`] with [`PROBE_SHARE`] of the time left as its timeout;
    /// `Ok(None)` when no time is left. A run that reaches its share answers
    /// unknown (time limit) while the question still has time: see
    /// [`Deadline::out_of_time`].
    pub(crate) fn verify(&self, net: &Network, prop: &Property, settings: &Settings) -> Result<Option<Outcome>> {
        let mut s = settings.clone();
        if let Some(end) = self.end {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            s.timeout = Some(left.mul_f64(PROBE_SHARE).max(Duration::from_millis(1)));
        }
        verify(net, prop, &s).map(Some)
    }

    /// `true` once the question's deadline has passed.
    pub(crate) fn out_of_time(&self) -> bool {
        self.end.is_some_and(|end| Instant::now() >= end)
    }

    /// What an `unknown` verdict means for a bisection: the end of the
    /// question when its deadline has passed, otherwise an undecided probe
    /// (a run that used up its share, or one the proof margin left open).
    pub(crate) fn unknown(&self, reason: UnknownReason) -> Probe {
        if self.out_of_time() {
            Probe::OutOfTime
        } else {
            Probe::Undecided(reason)
        }
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

/// Undecided probes a bisection makes before it stops with the bracket it
/// has: each may cost a whole search (and the MILP repairs of a witness that
/// failed the f64 check), and each says the value is within a proof margin
/// of where it was, so a few locate it as well as the margin allows.
pub(crate) const MAX_UNDECIDED: usize = 3;

/// Bisection between a `proved` end and a `found` end (either order on
/// the line) until `done(proved, found)`.
///
/// Each probe is at the midpoint of the bracket, or, once a probe was
/// undecided at `u`, at the midpoint of the longer of `[found, u]` and
/// `[u, proved]`: the true value is then near `u`, so a witness is sought
/// below it and a proof above it rather than at `u` again. A
/// [`Probe::Found`] value moves the found end when it is nearer `proved`
/// than the current one. The search stops with the undecided reason after
/// [`MAX_UNDECIDED`] undecided probes.
/// Returns the final ends and why the search stopped early, if it did.
pub(crate) fn bisect(
    mut proved: f64,
    mut found: f64,
    done: impl Fn(f64, f64) -> bool,
    mut probe: impl FnMut(f64) -> Result<Probe>,
) -> Result<(f64, f64, Stopped)> {
    let mut undecided: Option<(f64, UnknownReason)> = None;
    let mut undecided_probes = 0;
    let between = |x: f64, a: f64, b: f64| a.min(b) < x && x < a.max(b);
    loop {
        if done(proved, found) {
            return Ok((proved, found, None));
        }
        let t = match &undecided {
            None => proved + (found - proved) / 2.0,
            Some((u, reason)) => {
                if undecided_probes >= MAX_UNDECIDED {
                    return Ok((proved, found, Some(reason.clone())));
                }
                if (u - found).abs() >= (proved - u).abs() {
                    found + (u - found) / 2.0
                } else {
                    u + (proved - u) / 2.0
                }
            }
        };
        if !between(t, proved, found) {
            // No f64 strictly between: as exact as it gets.
            return Ok((proved, found, undecided.map(|(_, r)| r)));
        }
        match probe(t)? {
            Probe::Proved => proved = t,
            Probe::Found(v) => {
                if (v - proved).abs() < (found - proved).abs() {
                    found = v;
                }
            }
            Probe::Undecided(reason) => {
                undecided = Some((t, reason));
                undecided_probes += 1;
            }
            Probe::OutOfTime => return Ok((proved, found, Some(UnknownReason::TimeLimit))),
        }
        if undecided.as_ref().is_some_and(|(u, _)| !between(*u, proved, found)) {
            undecided = None; // an end has passed it
        }
    }
}
