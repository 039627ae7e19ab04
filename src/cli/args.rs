//! Raw command-line arguments (clap derive); validated into [`Settings`] in
//! [`SearchArgs::settings`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::bounds::BoundMethod;
use crate::error::{Error, ErrorKind, Result};
use crate::settings::{Settings, Strategy};

/// Prove properties of piecewise-linear neural networks, or find the input that breaks them.
#[derive(Debug, Parser)]
#[command(name = "reluverify", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a property: exit 0 holds, 1 violated, 2 error, 3 unknown.
    Check(CheckArgs),
    /// Print per-layer neuron bounds statistics for each bounding method.
    Bounds(BoundsArgs),
    /// Run a VNN-COMP instance list (onnx,vnnlib,timeout per line) and summarise.
    Bench(BenchArgs),
}

/// Arguments of `bounds`.
#[derive(Debug, Args)]
pub struct BoundsArgs {
    /// The network (.onnx or .nnet).
    pub model: PathBuf,
    /// The property (.json or .vnnlib); its input region is bounded.
    pub spec: PathBuf,
    /// Which bounding method to report.
    #[arg(long, value_enum, default_value_t = MethodArg::All)]
    pub method: MethodArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Threads for the LP solver.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
}

/// `--strategy` values of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyArg {
    /// Input splitting for few inputs, MILP otherwise.
    Auto,
    /// Branch and bound over the input box.
    InputSplit,
    /// One MILP per unsafe disjunct over tight bounds.
    Milp,
}

/// `--bounds` values of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BoundsArg {
    /// Interval arithmetic.
    Interval,
    /// Symbolic back-substitution.
    Symbolic,
    /// Symbolic bounds tightened by LP within the LP budget.
    Lp,
}

/// `--method` values of `bounds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// Interval arithmetic.
    Interval,
    /// Symbolic back-substitution.
    Symbolic,
    /// LP tightening.
    Lp,
    /// All three, in that order.
    All,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The instance list: `onnx,vnnlib,timeout` per line.
    pub instances: PathBuf,
    /// Folder the file names are relative to (default: the list's folder).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Cap every instance's timeout at this many seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout_cap: Option<f64>,
    /// Write one CSV row per instance to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Compare with `onnx,vnnlib,expected,...` rows; wrong answers exit 1.
    #[arg(long, value_name = "FILE")]
    pub expected: Option<PathBuf>,
    /// Instead of checking, compute each instance's neuron bounds with every
    /// method and tabulate unstable neurons and bound times.
    #[arg(long)]
    pub bounds_table: bool,
    /// Search options, as for `check`.
    #[command(flatten)]
    pub search: SearchArgs,
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The network (.onnx).
    pub model: PathBuf,
    /// The property (.json or .vnnlib).
    pub spec: PathBuf,
    /// Time limit in seconds for the whole check; past it the answer is unknown.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write the counterexample (if any) as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub witness: Option<PathBuf>,
    /// Write a VNN-COMP result file: `sat`/`unsat`/`timeout`/`unknown`/`error`,
    /// then the counterexample for `sat`.
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Print which parsers and bounds were used.
    #[arg(long, short)]
    pub verbose: bool,
    /// Search options.
    #[command(flatten)]
    pub search: SearchArgs,
}

/// Options shared by `check` and `bench`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Threads for the search and the solver.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Proof search: input splitting (few inputs), MILP, or chosen from the problem.
    #[arg(long, value_enum, default_value_t = StrategyArg::Auto)]
    pub strategy: StrategyArg,
    /// Neuron bounds for the MILP strategy's big-M constants.
    #[arg(long, value_enum, default_value_t = BoundsArg::Lp)]
    pub bounds: BoundsArg,
    /// Neuron bounds of every box of the input-splitting search (lp: LP on the whole region, symbolic per box inside it).
    #[arg(long, value_enum, default_value_t = BoundsArg::Symbolic)]
    pub split_bounds: BoundsArg,
    /// Input splitting sends a box to the MILP once at most this many neurons are unstable.
    #[arg(long, value_name = "N", default_value_t = Settings::default().split_milp_unstable)]
    pub split_milp_unstable: usize,
}

impl SearchArgs {
    /// The validated settings these options ask for, with a time limit in
    /// seconds (`None`: no limit).
    pub fn settings(&self, timeout: Option<f64>) -> Result<Settings> {
        let timeout = match timeout {
            None => None,
            Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t)),
            Some(t) => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("--timeout must be a positive number of seconds, got {t}"),
                ))
            }
        };
        let strategy = match self.strategy {
            StrategyArg::Auto => Strategy::Auto,
            StrategyArg::InputSplit => Strategy::InputSplit,
            StrategyArg::Milp => Strategy::Milp,
        };
        let s = Settings {
            timeout,
            threads: self.threads,
            strategy,
            bounds: self.bounds.method(),
            split_bounds: self.split_bounds.method(),
            split_milp_unstable: self.split_milp_unstable,
            ..Settings::default()
        };
        s.validate()?;
        Ok(s)
    }
}

impl BoundsArg {
    /// The bounding method.
    pub fn method(self) -> BoundMethod {
        match self {
            BoundsArg::Interval => BoundMethod::Interval,
            BoundsArg::Symbolic => BoundMethod::Symbolic,
            BoundsArg::Lp => BoundMethod::Lp,
        }
    }
}
