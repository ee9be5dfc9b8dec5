//! The definition of the `mogile` command line, for tools that generate from it: the man page
//! (`cargo xtask man`) and tests that check the shell completions cover every subcommand.
//!
//! The tool itself is the `mogile` binary of this package; see `docs/cli.md`.
//!
//! ```
//! let cmd = mogile_cli::command();
//! assert_eq!(cmd.get_name(), "mogile");
//! assert!(cmd.get_subcommands().any(|c| c.get_name() == "ls"));
//! ```

// The same definitions the binary parses with; here only their `clap::Command` is used, so the
// parsed fields are never read.
#[allow(dead_code, unused_imports)]
mod cli;

/// The `mogile` command line as a [`clap::Command`]: every subcommand, option and help text.
pub fn command() -> clap::Command {
    <cli::Cli as clap::CommandFactory>::command()
}
