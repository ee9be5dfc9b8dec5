//! `mogile`: one command-line tool for MogileFS, built on the `mogilefs` facade.
//!
//! See `docs/cli.md` for the commands, the configuration, the exit statuses and how keys are
//! shown.

mod cli;
mod commands;
mod config;
mod exit;
mod key_text;
mod logging;
mod output;
mod progress;
mod sync;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::Failure;

fn main() -> ExitCode {
    // Clap prints usage errors itself and exits with status 2 (0 for --help and --version).
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    // Needs no cluster, so no settings either.
    if let Command::Completions { shell } = cli.command {
        return commands::completions(shell);
    }
    logging::init(&cli.global)?;
    let settings = settings(&cli)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(commands::run(cli.command, &cli.global, settings))
}

/// Reads the configuration files and combines them with the flags and the environment.
fn settings(cli: &Cli) -> Result<config::Settings, Failure> {
    let paths = config::conf_paths(
        cli.global.conf.as_deref(),
        std::env::var_os("MOGUTILSCONF"),
        std::env::var_os("HOME"),
    );
    let files = config::load_files(&paths)?;
    let trackers_required = !matches!(cli.command, cli::Command::Sync(_));
    config::resolve(&cli.global, &files, trackers_required)
}
