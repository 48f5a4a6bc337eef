//! `cargo asupersync`: the command line. It parses arguments and prints; the work
//! is done by the library half of this crate and by `asupersync-lints`.

use std::process::ExitCode;

use cargo_asupersync::cli::{Cli, Command};
use clap::Parser;

fn main() -> ExitCode {
    // Cargo runs `cargo-asupersync asupersync <args>`; a direct run has no extra word.
    let args = std::env::args_os().enumerate().filter_map(|(i, arg)| {
        if i == 1 && arg == "asupersync" {
            None
        } else {
            Some(arg)
        }
    });
    let cli = Cli::parse_from(args);
    let result = match cli.command {
        Command::Audit(args) => cargo_asupersync::audit::run(&cli.global, &args),
        Command::Migrate(args) => cargo_asupersync::migrate::run(&cli.global, &args),
        Command::Lint(args) => cargo_asupersync::lint::run(&cli.global, &args),
        Command::Explain(args) => cargo_asupersync::explain::run(&cli.global, &args),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            cargo_asupersync::cli::Exit::Usage.into()
        }
    }
}
