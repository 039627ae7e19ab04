//! Stopping running checks from outside the search: the Python package's
//! Ctrl-C. A leaf module, so that every stage's deadline poll can read it.
//!
//! A check stops at deadlines it polls (`bounds::past`, and the searches'
//! own loops); a cancellation makes every poll of a deadline see it as
//! passed, so a cancelled check ends as a time-limited one would
//! (`unknown`), at the next poll (a MILP solve already under way runs to its
//! own limit). Only a check with a deadline can be cancelled: an embedding
//! that runs without a time limit gives it a deadline far away.
//!
//! The flag is process-wide on purpose: a signal handler has no handle on
//! the check it interrupts. An embedding clears it before it starts a
//! check and sets it to stop one; the command-line tool never sets it.

use std::sync::atomic::{AtomicBool, Ordering};

static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Ask every running check to stop at its next poll.
pub fn request() {
    CANCELLED.store(true, Ordering::Relaxed);
}

/// Let checks run again (before starting one).
pub fn clear() {
    CANCELLED.store(false, Ordering::Relaxed);
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    CANCELLED.load(Ordering::Relaxed)
}
