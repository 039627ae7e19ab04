//! The command-line front end: argument parsing (`args.rs`), output
//! formatting (`report.rs`) and the exit-code table (`exit.rs`).
//!
//! Nothing in the library depends on this module. Errors are printed once,
//! here, with their full context.

mod args;
mod bench;
mod bounds;
mod exit;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::error::Result;
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
    }
}
