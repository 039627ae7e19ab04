//! Every tunable of a verification run in one validated value.
//!
//! No global state and no string-keyed options: the CLI builds one
//! [`Settings`] and passes it down.

use std::time::Duration;

use crate::bounds::BoundMethod;
use crate::error::{Error, ErrorKind, Result};

/// Settings of one verification run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Wall-clock budget for the whole run; `None` runs to completion.
    /// Default: none.
    pub timeout: Option<Duration>,
    /// Threads for the search and the solver. Default: 1.
    pub threads: usize,
    /// Neuron bounds used for stability and big-M constants. Default: interval.
    pub bounds: BoundMethod,
    /// Random samples tried per region before any solver is called. Default: 256.
    pub falsify_samples: usize,
    /// Gradient-descent restarts per unsafe disjunct when looking for a
    /// counterexample (0 turns it off). Default: 4.
    pub falsify_restarts: usize,
    /// Seed of the sampling; runs are reproducible. Default: 0.
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { timeout: None, threads: 1, bounds: BoundMethod::Interval, falsify_samples: 256, falsify_restarts: 4, seed: 0 }
    }
}

impl Settings {
    /// Check the values make sense together.
    pub fn validate(&self) -> Result<()> {
        if self.threads == 0 {
            return Err(Error::new(ErrorKind::Usage, "threads must be at least 1"));
        }
        if self.timeout == Some(Duration::ZERO) {
            return Err(Error::new(ErrorKind::Usage, "timeout must be positive"));
        }
        Ok(())
    }
}
