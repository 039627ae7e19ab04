//! The exit codes, in one table (the README repeats it).

use std::process::ExitCode;

use crate::verdict::Verdict;

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the property holds (or a command other than `check` succeeded).
    Holds = 0,
    /// 1: the property is violated; a validated counterexample was printed.
    Violated = 1,
    /// 2: bad usage or unusable input (file, model, property, options).
    Error = 2,
    /// 3: unknown (time limit or inconclusive solver result).
    Unknown = 3,
}

impl Exit {
    /// The exit code for a verdict.
    pub fn of(verdict: &Verdict) -> Exit {
        match verdict {
            Verdict::Holds { .. } => Exit::Holds,
            Verdict::Violated { .. } => Exit::Violated,
            Verdict::Unknown { .. } => Exit::Unknown,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}
