//! Raw command-line arguments (clap derive); validated into [`Settings`] in
//! [`SearchArgs::settings`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::bounds::BoundMethod;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::LoadLimits;
use crate::settings::{Settings, Strategy};

/// Prove properties of piecewise-linear neural networks, or find the input that breaks them.
#[derive(Debug, Parser)]
#[command(name = "reluverify", version = crate::cli::VERSION, about)]
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
    /// Check that the argmax stays K on an L-infinity ball around a point
    /// (no property file); exit codes as for check.
    Robustness(RobustnessArgs),
    /// Print per-layer neuron bounds statistics for each bounding method.
    Bounds(BoundsArgs),
    /// Run a VNN-COMP instance list (onnx,vnnlib,timeout per line) and summarise.
    Bench(BenchArgs),
    /// Write the MILP of each property region as a CPLEX LP or MPS file for any MILP solver.
    Encode(EncodeArgs),
    /// Certified minimum and maximum of an output (or c.y) over a property's input region:
    /// exit 0 within the gap, 3 cut short (best interval printed), 2 error.
    Range(RangeArgs),
    /// Largest L-infinity radius around a point on which the argmax stays K (or a property
    /// holds): exit 0 within the tolerance, 3 cut short (best bracket printed), 2 error.
    Radius(RadiusArgs),
    /// Do two networks agree over a property's input region? Exit 0 equivalent, 1 a validated
    /// input where they differ, 2 error, 3 unknown.
    Equiv(EquivArgs),
    /// VNN-LIB 2.0 solver interface: answer a query `sat` (a counterexample,
    /// exit 1), `unsat` (exit 0), `unknown` or `timed-out` (exit 3).
    Verify(VerifyArgs),
    /// VNN-LIB 2.0 solver interface: report one capability.
    Supports(SupportsArgs),
    /// Merge the `--out` files of `bench --shard` runs into one summary.
    BenchMerge(BenchMergeArgs),
    /// Cut one instance into parts that cover it exactly, to run as a job array.
    Split(SplitArgs),
    /// The verdict of a split instance from its parts' results.
    Join(JoinArgs),
}

/// Arguments of `verify` (VNN-LIB 2.0 solver interface).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The VNN-LIB 2.0 query.
    pub query: PathBuf,
    /// Bind a network the query declares to its model (.onnx or .nnet);
    /// once for each network not declared `equal-to` another.
    #[arg(long = "network", value_name = "NAME=FILE")]
    pub networks: Vec<String>,
    /// Time limit in seconds; past it the answer is `timed-out`.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Accepted as the standard defines it; assignments are not serialised
    /// (`supports --serialise-assignments` is false), so they are printed.
    #[arg(long, visible_alias = "assignments", value_name = "DIR")]
    pub serialise_assignments: Option<PathBuf>,
    /// Read floating-point element types (float32, ...) as `real`: consent to
    /// analysis in real arithmetic (without it such a query is an error).
    #[arg(long)]
    pub assume_real: bool,
    /// Print one JSON object (as `check --json`, with `result` and
    /// `assignment`) instead of the standard's output.
    #[arg(long)]
    pub json: bool,
    /// Search options, as for `check`.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Limits on the input files.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Arguments of `supports`: exactly one capability of the VNN-LIB 2.0
/// standard.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SupportsArgs {
    /// Minimum and maximum ONNX opset.
    #[arg(long)]
    pub onnx_opset_versions: bool,
    /// Element types analysed soundly.
    #[arg(long)]
    pub onnx_element_types: bool,
    /// ONNX operators, one a line.
    #[arg(long)]
    pub onnx_operators: bool,
    /// Minimum and maximum VNN-LIB version of `verify`.
    #[arg(long)]
    pub vnnlib_versions: bool,
    /// Hidden-node theories (NH, H).
    #[arg(long)]
    pub hidden_node_theories: bool,
    /// Multiple input/output theories (SIO, MIO).
    #[arg(long, alias = "multiple-inputs-output-theories")]
    pub multiple_input_output_theories: bool,
    /// Multiple-network theories (SNET, MNET, MENET, MINET).
    #[arg(long)]
    pub multiple_network_theories: bool,
    /// Multi-node comparison theories (SNC, MNC).
    #[arg(long)]
    pub multiple_node_comparison_theories: bool,
    /// Arithmetic complexity theories (BND, OUTC, LIN, POLY).
    #[arg(long)]
    pub arithmetic_complexity_theories: bool,
    /// Whether disjunctions are handled other than by expansion to DNF.
    #[arg(long)]
    pub optimised_disjunctive_reasoning: bool,
    /// Whether `verify --serialise-assignments` writes files.
    #[arg(long)]
    pub serialise_assignments: bool,
    /// Whether proofs of unsatisfiability are produced.
    #[arg(long)]
    pub unsat_proofs: bool,
}

// ---- range, radius, equiv (issue 25): the `query` module's subcommands ----

/// Options of `range`, `radius` and `equiv` shared with `check`.
#[derive(Debug, Args)]
pub struct QueryRunArgs {
    /// Time limit in seconds for the whole question; past it the best certified answer so far is printed (exit 3).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Search options, as for `check`.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Limits on the input files.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Arguments of `range`.
#[derive(Debug, Args)]
pub struct RangeArgs {
    /// The network (.onnx or .nnet).
    pub model: PathBuf,
    /// The property (.json or .vnnlib): its input regions; its output constraints are ignored.
    pub spec: PathBuf,
    /// The output whose range to compute (0-based; default: every output, one after another).
    #[arg(long, value_name = "K", conflicts_with = "objective")]
    pub output: Option<usize>,
    /// A linear objective of the outputs instead, such as "y0 - 0.5*y3 + 2 y1".
    #[arg(long, value_name = "C.Y", allow_hyphen_values = true)]
    pub objective: Option<String>,
    /// Stop once proved and found values are this close (default: 1e-5 relative to max(1, |value|)).
    #[arg(long, value_name = "G")]
    pub gap: Option<f64>,
    /// How to run and report.
    #[command(flatten)]
    pub run: QueryRunArgs,
}

/// Arguments of `radius`.
#[derive(Debug, Args)]
pub struct RadiusArgs {
    /// The network (.onnx or .nnet).
    pub model: PathBuf,
    /// The centre: a .npy array, a JSON array or a CSV/text file of numbers (as for `robustness`).
    #[arg(long, value_name = "FILE", required_unless_present = "spec", conflicts_with = "spec")]
    pub center: Option<PathBuf>,
    /// The output that must stay the largest (0-based).
    #[arg(long, value_name = "K", required_unless_present = "spec")]
    pub label: Option<usize>,
    /// Instead of --center/--label: a property of one box around a centre (clipped to --lower/--upper,
    /// as VNN-LIB robustness files are); its box's centre and its unsafe set are used.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// The valid input range's lower end, where balls are clipped (one number for every input).
    #[arg(long, value_name = "L", allow_hyphen_values = true)]
    pub lower: Option<f64>,
    /// The valid input range's upper end (one number for every input).
    #[arg(long, value_name = "U", allow_hyphen_values = true)]
    pub upper: Option<f64>,
    /// Stop once the proved radius and the counterexample's distance are this close (default 1e-4).
    #[arg(long, value_name = "T")]
    pub tolerance: Option<f64>,
    /// How to run and report.
    #[command(flatten)]
    pub run: QueryRunArgs,
}

/// Arguments of `equiv`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("agreement").required(true).args(["tolerance", "same_argmax"])))]
pub struct EquivArgs {
    /// The first network (.onnx or .nnet); for --same-argmax, the reference.
    pub model_a: PathBuf,
    /// The second network, with the same inputs and outputs.
    pub model_b: PathBuf,
    /// The property (.json or .vnnlib): its input regions; its output constraints are ignored.
    pub spec: PathBuf,
    /// Agree when every output differs by less than T.
    #[arg(long, value_name = "T")]
    pub tolerance: Option<f64>,
    /// Agree when B's argmax is A's wherever A's top output leads by --argmax-margin.
    #[arg(long)]
    pub same_argmax: bool,
    /// The lead A's top output needs for --same-argmax to judge an input (default 1e-4).
    #[arg(long, value_name = "D", requires = "same_argmax")]
    pub argmax_margin: Option<f64>,
    /// How to run and report.
    #[command(flatten)]
    pub run: QueryRunArgs,
}

// ---- end of range, radius, equiv ----

/// Arguments of `encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// The network (.onnx or .nnet).
    pub model: PathBuf,
    /// The property (.json or .vnnlib).
    pub spec: PathBuf,
    /// The file to write, `.lp` (CPLEX LP) or `.mps` (free MPS); with several
    /// regions, region K goes to `NAME.rK.lp` / `NAME.rK.mps`.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Neuron bounds for the variable bounds and big-M constants.
    #[arg(long, value_enum, default_value_t = BoundsArg::Lp)]
    pub bounds: BoundsArg,
    /// Threads for the LP solver of `--bounds lp`.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Limits on the input files.
    #[command(flatten)]
    pub limits: LimitArgs,
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
    /// Limits on the input files.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `--strategy` values of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyArg {
    /// Input splitting for few inputs; else MILP with one hidden layer, phase splitting deeper.
    Auto,
    /// Branch and bound over the input box.
    InputSplit,
    /// One MILP per unsafe disjunct over tight bounds.
    Milp,
    /// Branch and bound over the phases of unstable neurons.
    PhaseSplit,
}

/// `--bounds` values of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BoundsArg {
    /// Interval arithmetic.
    Interval,
    /// Symbolic back-substitution.
    Symbolic,
    /// Symbolic with relaxation lines optimised per neuron (alpha-CROWN).
    Optimised,
    /// Optimised bounds tightened by LP within the LP budget.
    Lp,
}

/// `--method` values of `bounds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// Interval arithmetic.
    Interval,
    /// Symbolic back-substitution.
    Symbolic,
    /// Symbolic with relaxation lines optimised per neuron.
    Optimised,
    /// LP tightening.
    Lp,
    /// All four, in that order.
    All,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
#[command(after_help = "\
Exit codes: 0 every instance answered (holds, violated or unknown) and none
contradicts --expected; 1 some answer contradicts --expected (this takes
precedence over errors); 2 some instance is an error (a file that does not
load, a property that does not fit its network) or the list or options are
unusable.")]
pub struct BenchArgs {
    /// The instance list: `onnx,vnnlib,timeout` per line (a first line
    /// `onnx,vnnlib,timeout` is a header and skipped).
    pub instances: PathBuf,
    /// Folder the file names are relative to (default: the list's folder).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Cap every instance's timeout at this many seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout_cap: Option<f64>,
    /// Write one CSV row per instance to this file (created or replaced), each
    /// appended as its instance ends, so a killed run keeps its finished rows.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Continue a killed run: keep the rows already in `--out`, run only the
    /// instances without one and append their rows; the summary covers all.
    #[arg(long, requires = "out", conflicts_with = "bounds_table")]
    pub resume: bool,
    /// Compare with `onnx,vnnlib,expected,...` rows; wrong answers exit 1.
    #[arg(long, value_name = "FILE")]
    pub expected: Option<PathBuf>,
    /// Instead of checking, compute each instance's neuron bounds with every
    /// method and tabulate unstable neurons and bound times (`--out` is then
    /// written whole at the end, atomically).
    #[arg(long)]
    pub bounds_table: bool,
    /// Run only part I of N (0-based: 0/4 .. 3/4) of the list, balanced by
    /// the cost estimate input dimension x weights; merge the parts' `--out`
    /// files with `bench-merge`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, conflicts_with = "bounds_table")]
    pub shard: Option<Shard>,
    /// Search options, as for `check`.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Limits on the input files.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The network (.onnx or .nnet).
    pub model: PathBuf,
    /// The property (.json or .vnnlib).
    pub spec: PathBuf,
    /// Check only the inputs where the neuron phases of this part file hold
    /// (written by `reluverify split`; it names the model and property it
    /// was cut from, by hash).
    #[arg(long, value_name = "FILE")]
    pub phases: Option<PathBuf>,
    /// How to run the check and report it.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Arguments of `robustness`.
#[derive(Debug, Args)]
pub struct RobustnessArgs {
    /// The network (.onnx or .nnet).
    pub model: PathBuf,
    /// The point: a .npy array (float or uint8), a JSON array of numbers, or
    /// a CSV/text file of numbers (commas, spaces or newlines between them);
    /// read flat, row-major, as the network's inputs.
    #[arg(long, value_name = "FILE")]
    pub center: PathBuf,
    /// The radius: every input within EPS of the center (L-infinity).
    #[arg(long, value_name = "EPS")]
    pub eps: f64,
    /// The output that must stay the largest (0-based).
    #[arg(long, value_name = "K")]
    pub label: usize,
    /// The valid input range's lower end, where the ball is clipped: one
    /// number for every input.
    #[arg(long, value_name = "L", allow_hyphen_values = true)]
    pub lower: Option<f64>,
    /// The valid input range's upper end (one number for every input).
    #[arg(long, value_name = "U", allow_hyphen_values = true)]
    pub upper: Option<f64>,
    /// How to run the check and report it.
    #[command(flatten)]
    pub run: RunArgs,
}

/// How `check` and `robustness` run and report.
#[derive(Debug, Args)]
pub struct RunArgs {
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
    /// Print which parsers and bounds were used, and the time of each phase.
    #[arg(long, short)]
    pub verbose: bool,
    /// Write the search statistics (verdict, seconds, counts, phase times) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
    /// Re-verify a `holds` answer independently: input splitting with
    /// symbolic bounds and f64 forward passes only, no MILP (inputs of at
    /// most 16 dimensions). A counterexample it finds is an error (exit 2);
    /// a `violated` answer's witness is checked again.
    #[arg(long)]
    pub cross_check: bool,
    /// Time limit in seconds for `--cross-check` (default: the time left of
    /// `--timeout`, or 60 s without one).
    #[arg(long, value_name = "SECS", requires = "cross_check")]
    pub cross_check_timeout: Option<f64>,
    /// Search options.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Limits on the input files.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Limits on what model and property files may declare ([`LoadLimits`];
/// the defaults are its defaults). Files beyond them are refused before
/// anything is allocated for them.
#[derive(Debug, Args)]
#[command(next_help_heading = "Input limits")]
pub struct LimitArgs {
    /// Largest model file read (bytes; suffixes K, M, G for KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1G")]
    pub max_model_size: u64,
    /// Largest property file read (bytes; suffixes K, M, G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64M")]
    pub max_spec_size: u64,
    /// Most elements of one tensor, neurons of one layer, and inputs or
    /// outputs a property declares.
    #[arg(long, value_name = "N", default_value_t = LoadLimits::default().max_elements)]
    pub max_elements: usize,
    /// Most weights a model may need in all (every layer and intermediate map of the loader).
    #[arg(long, value_name = "N", default_value_t = LoadLimits::default().max_weights)]
    pub max_weights: usize,
    /// Deepest list nesting of a VNN-LIB property (at most 1024).
    #[arg(long, value_name = "N", default_value_t = LoadLimits::default().max_nesting)]
    pub max_nesting: usize,
    /// Most disjuncts that DNF expansion may add beyond those the property writes out.
    #[arg(long, value_name = "N", default_value_t = LoadLimits::default().max_dnf_terms)]
    pub max_dnf_terms: usize,
}

impl LimitArgs {
    /// The validated limits these options ask for.
    pub fn limits(&self) -> Result<LoadLimits> {
        let limits = LoadLimits {
            max_model_bytes: self.max_model_size,
            max_spec_bytes: self.max_spec_size,
            max_elements: self.max_elements,
            max_weights: self.max_weights,
            max_nesting: self.max_nesting,
            max_dnf_terms: self.max_dnf_terms,
        };
        limits.validate()?;
        Ok(limits)
    }
}

/// A byte count such as `1048576`, `512K`, `64M` or `1G` (binary units).
fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let (digits, shift) = match s.trim().to_ascii_uppercase() {
        t if t.ends_with('K') => (t[..t.len() - 1].to_string(), 10),
        t if t.ends_with('M') => (t[..t.len() - 1].to_string(), 20),
        t if t.ends_with('G') => (t[..t.len() - 1].to_string(), 30),
        t => (t, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("expected a byte count such as 1048576, 512K, 64M or 1G, got `{s}`"))
}

/// Options shared by `check` and `bench`: the thread count, then the knobs
/// of the search, listed under their own heading in `--help` (the defaults
/// are what the README's measurements use).
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Threads for the search and the solver.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Proof search: input splitting (few inputs), MILP, phase splitting, or chosen from the problem.
    #[arg(long, value_enum, default_value_t = StrategyArg::Auto, help_heading = "Search tuning")]
    pub strategy: StrategyArg,
    /// Neuron bounds for the MILP strategy's big-M constants.
    #[arg(long, value_enum, default_value_t = BoundsArg::Lp, help_heading = "Search tuning")]
    pub bounds: BoundsArg,
    /// Neuron bounds of every box of the input-splitting search (lp: LP on the whole region, symbolic per box inside it).
    #[arg(long, value_enum, default_value_t = BoundsArg::Symbolic, help_heading = "Search tuning")]
    pub split_bounds: BoundsArg,
    /// Neuron bounds of the whole region at the root of the phase-splitting search.
    #[arg(long, value_enum, default_value_t = BoundsArg::Optimised, help_heading = "Search tuning")]
    pub phase_bounds: BoundsArg,
    /// Input splitting sends a box to the MILP once at most this many neurons are unstable.
    #[arg(long, value_name = "N", default_value_t = Settings::default().split_milp_unstable, help_heading = "Search tuning")]
    pub split_milp_unstable: usize,
    /// Phase splitting sends a domain to the MILP once at most this many neurons are unstable.
    #[arg(long, value_name = "N", default_value_t = Settings::default().phase_milp_unstable, help_heading = "Search tuning")]
    pub phase_milp_unstable: usize,
    /// Phase splitting bounds the children of this many candidate splits per domain and keeps the best.
    #[arg(long, value_name = "N", default_value_t = Settings::default().phase_candidates, help_heading = "Search tuning")]
    pub phase_candidates: usize,
    /// Phase splitting refines a domain's bounds from the clamped bounds alone, without its split constraints.
    #[arg(long, help_heading = "Search tuning")]
    pub phase_plain_refinement: bool,
    /// Phase splitting solves a disjunct by one MILP over the whole region once its tree has this many domains
    /// (regions with few unstable neurons only).
    #[arg(long, value_name = "N", default_value_t = Settings::default().phase_tree_domains, help_heading = "Search tuning")]
    pub phase_tree_domains: usize,
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
            StrategyArg::PhaseSplit => Strategy::PhaseSplit,
        };
        let s = Settings {
            timeout,
            threads: self.threads,
            strategy,
            bounds: self.bounds.method(),
            split_bounds: self.split_bounds.method(),
            phase_bounds: self.phase_bounds.method(),
            split_milp_unstable: self.split_milp_unstable,
            phase_milp_unstable: self.phase_milp_unstable,
            phase_candidates: self.phase_candidates,
            phase_constrained: !self.phase_plain_refinement,
            phase_tree_domains: self.phase_tree_domains,
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
            BoundsArg::Optimised => BoundMethod::Optimised,
            BoundsArg::Lp => BoundMethod::Lp,
        }
    }
}

// ---- Running on a cluster: `bench --shard`, `bench-merge`, `split`, `join` ----

/// Part `index` of `count` (0-based), as `--shard I/N` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, `0 .. count`.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

/// `I/N` with `0 <= I < N`.
fn parse_shard(s: &str) -> std::result::Result<Shard, String> {
    let bad = || format!("expected I/N with 0 <= I < N (0-based, as job-array indices), such as 0/4, got `{s}`");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// Arguments of `bench-merge`.
#[derive(Debug, Args)]
#[command(after_help = "\
Exit codes as for bench: 0 every instance answered once and none contradicts
--expected; 1 some answer contradicts --expected; 2 an instance is missing,
answered twice or an error, or a file is unusable.")]
pub struct BenchMergeArgs {
    /// The `--out` files of the shards.
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// The instance list the shards ran: every instance must have exactly
    /// one row (without it, the instances of `--expected` are).
    #[arg(long, value_name = "FILE")]
    pub instances: Option<PathBuf>,
    /// Compare with `onnx,vnnlib,expected,...` rows; wrong answers exit 1.
    #[arg(long, value_name = "FILE")]
    pub expected: Option<PathBuf>,
    /// Write the merged rows to this file (the format of `bench --out`).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// How `split` cuts an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitBy {
    /// Input boxes for at most 16 inputs (as `--strategy auto` splits inputs), else phase sets.
    Auto,
    /// Halve the input box (VNN-LIB parts).
    Input,
    /// Fix the phases of unstable neurons (phase part files for `check --phases`).
    Phases,
}

/// Arguments of `split`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// The network (.onnx or .nnet).
    pub model: PathBuf,
    /// The property (.json or .vnnlib).
    pub spec: PathBuf,
    /// How many parts (phase sets: at most 2 to the number of unstable neurons).
    #[arg(long, value_name = "N")]
    pub parts: usize,
    /// The folder to write (created; it must not hold an earlier split).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// How to cut.
    #[arg(long, value_enum, default_value_t = SplitBy::Auto)]
    pub by: SplitBy,
    /// `--timeout` of each part's `check` in `commands.txt`.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Seconds of the whole check to run before cutting (0: none). An
    /// instance settled in that time is not cut (no parts; `join` reports
    /// the result). Default 1.
    #[arg(long, value_name = "SECS")]
    pub search: Option<f64>,
    /// `--threads` of each part's `check` in `commands.txt`, and of the
    /// short search.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Limits on the input files.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Arguments of `join`.
#[derive(Debug, Args)]
#[command(after_help = "\
Exit codes: 0 every part holds; 1 a part's counterexample passes the check on
the original model and property; 2 the folder does not match its manifest, or
a part ended in an error; 3 some parts are still open (named).")]
pub struct JoinArgs {
    /// The folder `split --out` wrote, with the parts' results.
    pub dir: PathBuf,
    /// Limits on the input files.
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_zero_based_parts() {
        assert_eq!(parse_shard("0/4"), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(parse_shard("3/4"), Ok(Shard { index: 3, count: 4 }));
        for bad in ["4/4", "1/0", "1", "a/2", "-1/2", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_with_binary_suffixes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        for bad in ["", "G", "-1", "1.5M", "1T", "99999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
