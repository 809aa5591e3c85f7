use std::process::ExitCode;

use clap::Parser;
use rampart::cli::{Cli, EXIT_ERROR};

fn main() -> ExitCode {
    let cli = Cli::parse();
    rampart::cli::init_logging(cli.verbose);
    match rampart::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("rampart: error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
