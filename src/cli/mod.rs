//! The command-line front end: argument parsing (`args.rs`), output
//! formatting (`report.rs`) and the exit-code table (`exit.rs`).
//!
//! Nothing in the library depends on this module. Errors are printed once,
//! here, with their full context.

mod args;
mod bench;
mod bounds;
mod encode;
mod exit;
mod output;
mod point;
mod query;
mod report;
mod solver;
mod split;

pub use report::outcome_json;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use crate::error::Result;
use crate::model::{self, Network};
use crate::spec::{self, Property, SpecFormat};
pub use exit::Exit;

/// The version `--version` and every `--json` object report: the package
/// version, followed by the git commit when built from a checkout (set by
/// `build.rs`).
pub const VERSION: &str = env!("RELUVERIFY_VERSION");

/// Run the CLI with the process arguments and return the exit code.
///
/// With `--json`, an error is also printed as one JSON object on standard
/// output (the `error` object of the README's schema), so a script reading stdout always gets
/// an object; the message goes to standard error either way.
pub fn main() -> ExitCode {
    let json = std::env::args_os().skip(1).any(|a| a == "--json");
    let args = match args::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.use_stderr() {
                // --help and --version: print and succeed.
                let _ = e.print();
                return Exit::Holds.into();
            }
            if json {
                let err = crate::Error::new(crate::ErrorKind::Usage, e.kind().to_string());
                output::stdout(&format!("{}\n", report::error_json(&err)));
            }
            let _ = e.print();
            return Exit::Error.into();
        }
    };
    match run(args) {
        Ok(code) => code.into(),
        Err(e) => {
            if json {
                output::stdout(&format!("{}\n", report::error_json(&e)));
            }
            output::stderr(&format!("error: {e}\n"));
            Exit::Error.into()
        }
    }
}

fn run(cli: args::Cli) -> Result<Exit> {
    match cli.command {
        args::Command::Check(a) => report::check(&a),
        args::Command::Robustness(a) => report::robustness(&a),
        args::Command::Bench(a) => bench::bench(&a),
        args::Command::Bounds(a) => bounds::bounds(&a),
        args::Command::Encode(a) => encode::encode(&a),
        args::Command::Range(a) => query::range(&a),
        args::Command::Radius(a) => query::radius(&a),
        args::Command::Equiv(a) => query::equiv(&a),
        args::Command::Verify(a) => solver::verify(&a),
        args::Command::Supports(a) => solver::supports(&a),
        args::Command::BenchMerge(a) => bench::bench_merge(&a),
        args::Command::Split(a) => split::split(&a),
        args::Command::Join(a) => split::join(&a),
    }
}

/// Load the model and property named on the command line within the
/// `--max-*` limits and check that the property fits the network
/// ([`Property::fit`]; errors name the property file).
fn load_problem(
    model_path: &Path,
    spec_path: &Path,
    limits: &args::LimitArgs,
) -> Result<(Network, Property, SpecFormat)> {
    let limits = limits.limits()?;
    let net = model::load_with(model_path, &limits)?;
    let (prop, format) = spec::load_with(spec_path, &limits)?;
    let prop = prop.fit(&net).map_err(|e| e.with_path(spec_path))?;
    Ok((net, prop, format))
}
