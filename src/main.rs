#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;
use rampart::cli::{Cli, Exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    rampart::cli::init_logging(cli.verbose);
    match rampart::cli::run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("rampart: error: {err:#}");
            Exit::Error.into()
        }
    }
}
