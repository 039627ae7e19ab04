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
mod report;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use crate::error::Result;
use crate::model::{self, Network};
use crate::spec::{self, Property, SpecFormat};
pub use exit::Exit;

/// Run the CLI with the process arguments and return the exit code.
pub fn main() -> ExitCode {
    let args = match args::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { Exit::Error } else { Exit::Holds };
            let _ = e.print();
            return code.into();
        }
    };
    match run(args) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Error.into()
        }
    }
}

fn run(cli: args::Cli) -> Result<Exit> {
    match cli.command {
        args::Command::Check(a) => report::check(&a),
        args::Command::Bench(a) => bench::bench(&a),
        args::Command::Bounds(a) => bounds::bounds(&a),
        args::Command::Encode(a) => encode::encode(&a),
    }
}

/// Load the model and property named on the command line within the
/// `--max-*` limits and check that the property fits the network
/// ([`Property::check_network`]; errors name the property file).
fn load_problem(
    model_path: &Path,
    spec_path: &Path,
    limits: &args::LimitArgs,
) -> Result<(Network, Property, SpecFormat)> {
    let limits = limits.limits()?;
    let net = model::load_with(model_path, &limits)?;
    let (prop, format) = spec::load_with(spec_path, &limits)?;
    prop.check_network(&net).map_err(|e| e.with_path(spec_path))?;
    Ok((net, prop, format))
}
