//! Project automation for mogilefs-rs: `cargo xtask <command>`.
//!
//! Commands: `ci` (the checks `.ci/run` runs), `demo` (a `mogile` round trip on a local cluster),
//! `test-cluster` (a local cluster on loopback; see `docs/testing.md`), `bench` (the client against
//! raw baselines; regenerates `docs/benchmarks.md`), `man` (the `mogile` man pages). `cargo xtask
//! <command> --help` shows each one's options; a wrong argument exits with status 2.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

mod bench;
mod demo;
mod man;
mod test_cluster;

/// Project automation for mogilefs-rs.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", max_term_width = 100)]
struct Xtask {
    #[command(subcommand)]
    command: Task,
}

/// The commands.
#[derive(Debug, Subcommand)]
enum Task {
    /// Run the checks `.ci/run` runs: format, clippy, tests, docs
    Ci,
    /// Run a `mogile` round trip (put, ls, paths, get, mv, rm) against a local cluster
    Demo,
    /// Start a local cluster on loopback and print its address (see docs/testing.md)
    TestCluster(test_cluster::Options),
    /// Measure the client against raw baselines and regenerate docs/benchmarks.md
    Bench(bench::Args),
    /// Write the man pages of `mogile` (mogile.1 and one per subcommand)
    Man {
        /// Directory to write the pages into [default: target/man in the workspace]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // Clap prints usage errors itself and exits with status 2 (0 for --help).
    match Xtask::parse().command {
        Task::Ci => ci(),
        Task::Demo => demo::run(),
        Task::TestCluster(opts) => test_cluster::run(opts),
        Task::Bench(args) => bench::run(args),
        Task::Man { out } => man::run(&out.unwrap_or_else(man::default_dir)),
    }
}

/// Runs the same steps as `.ci/run`: format check, clippy, tests, docs.
fn ci() -> ExitCode {
    let steps: &[(&str, &[&str])] = &[
        ("cargo", &["fmt", "--all", "--", "--check"]),
        (
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        ("cargo", &["test", "--workspace"]),
        ("cargo", &["doc", "--workspace", "--no-deps"]),
    ];
    for (prog, args) in steps {
        eprintln!("+ {prog} {}", args.join(" "));
        let mut cmd = Command::new(prog);
        cmd.args(*args);
        if args.first() == Some(&"doc") {
            cmd.env("RUSTDOCFLAGS", "-D warnings");
        }
        match cmd.status() {
            Ok(s) if s.success() => {}
            _ => return ExitCode::FAILURE,
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    #[test]
    fn the_command_line_is_consistent() {
        Xtask::command().debug_assert();
    }

    /// `--help` of every command, hidden ones included, is a help display with status 0, and
    /// an unknown argument to any of them is a usage error with status 2.
    #[test]
    fn every_command_has_help_and_refuses_unknown_arguments() {
        let cmd = Xtask::command();
        let mut paths = vec![vec![]];
        for sub in cmd.get_subcommands() {
            paths.push(vec![sub.get_name().to_owned()]);
            for inner in sub.get_subcommands() {
                paths.push(vec![sub.get_name().to_owned(), inner.get_name().to_owned()]);
            }
        }
        assert!(paths.len() >= 6, "{paths:?}");
        for path in paths {
            let mut args = vec!["xtask".to_owned()];
            args.extend(path.iter().cloned());
            let mut help = args.clone();
            help.push("--help".to_owned());
            let err = Xtask::try_parse_from(&help).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DisplayHelp, "{help:?}");
            assert_eq!(err.exit_code(), 0, "{help:?}");
            assert!(err.to_string().contains("Usage: cargo xtask"), "{help:?}");
        }
        for bad in [
            &["xtask", "frobnicate"][..],
            &["xtask", "ci", "--bogus"],
            &["xtask", "demo", "extra"],
            &["xtask", "test-cluster", "--bogus"],
            &["xtask", "test-cluster", "--nodes", "0"],
            &["xtask", "bench", "--bogus"],
            &["xtask", "man", "--bogus"],
        ] {
            let err = Xtask::try_parse_from(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}: {err}");
        }
    }
}
