//! The command line, as clap derives it. The names here are an interface: scripts depend on them.

mod admin;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) use admin::{
    Admin, ClassCmd, ClassProps, DeviceCmd, DomainCmd, HostCmd, HostProps, SettingsCmd,
};

/// One command-line tool for MogileFS.
///
/// Settings come from flags, then the environment, then configuration files (`--conf`,
/// `$MOGUTILSCONF`, `~/.mogilefs.conf`, `/etc/mogilefs/mogilefs.conf`; `key = value` lines with the
/// keys `trackers`, `domain` and `class`).
///
/// Exit status: 0 success, 1 an operation failed, 2 usage error, 3 key not found.
#[derive(Debug, Parser)]
// A repeated option takes its last value, so wrappers and scripts can append flags.
#[command(
    name = "mogile",
    version,
    max_term_width = 100,
    args_override_self = true
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct Global {
    /// Trackers to use, comma-separated; a missing port means 7001
    #[arg(
        long,
        global = true,
        env = "MOGILE_TRACKERS",
        value_name = "HOST[:PORT][,HOST[:PORT]...]"
    )]
    pub(crate) trackers: Option<String>,
    /// Domain of the keys
    #[arg(long, global = true, env = "MOGILE_DOMAIN", value_name = "NAME")]
    pub(crate) domain: Option<String>,
    /// Timeout of each tracker command and storage transfer step, in seconds
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_timeout)]
    pub(crate) timeout: Option<Duration>,
    /// Print one JSON document per command (NDJSON for `ls`)
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// No progress bars and no messages but errors
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Configuration file read before the usual ones
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) conf: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Store FILE (`-` for stdin) under KEY
    Put {
        /// Key to store under
        key: OsString,
        /// File to read, `-` for stdin (streamed)
        file: PathBuf,
        /// Storage class (default: `class` from the configuration, else the domain's default)
        #[arg(long, value_name = "C")]
        class: Option<String>,
        /// Compute a checksum while streaming and have the tracker record it
        #[arg(long, value_enum, value_name = "ALGO")]
        checksum: Option<ChecksumAlgo>,
    },
    /// Fetch KEY into FILE (none or `-` for stdout)
    Get {
        /// Key to fetch
        key: OsString,
        /// File to write (written beside it and renamed on success); none or `-` for stdout
        file: Option<PathBuf>,
        /// Verify the checksum the tracker recorded (whole files only)
        #[arg(long)]
        verify: bool,
        /// Fetch bytes START to END inclusive (END omitted: to the end of the file)
        #[arg(long, value_name = "START[-END]", value_parser = parse_range)]
        range: Option<ByteRange>,
    },
    /// Delete KEY
    Rm {
        /// Key to delete
        key: OsString,
    },
    /// Rename OLD to NEW (fails if NEW exists)
    Mv {
        /// Current key
        old: OsString,
        /// New key
        new: OsString,
    },
    /// List keys starting with PREFIX (all keys without one)
    Ls {
        /// Only keys whose bytes start with this
        prefix: Option<OsString>,
        /// Also show size, class, fid and device count (tab-separated, key last)
        #[arg(short = 'l')]
        long: bool,
        /// Write raw keys, each followed by a NUL byte, instead of escaped lines
        #[arg(short = '0')]
        null: bool,
        /// Keys per tracker page (tests and debugging)
        #[arg(long, hide = true, value_name = "N")]
        page_size: Option<u32>,
    },
    /// Show what the tracker knows of KEY (file_info)
    Info {
        /// Key to describe
        key: OsString,
    },
    /// Dump the tracker's internal records of KEY (file_debug)
    Debug {
        /// Key to describe
        key: OsString,
    },
    /// Show the URLs KEY can be read from
    Paths {
        /// Skip the tracker's HEAD check of the first path
        #[arg(long)]
        noverify: bool,
        /// How many paths to ask for
        #[arg(long, value_name = "N")]
        pathcount: Option<u32>,
        /// Key to locate
        key: OsString,
    },
    /// Administer domains, classes, hosts, devices and server settings
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
}

/// Checksum algorithms `put --checksum` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChecksumAlgo {
    /// MD5, the only one MogileFS 2.73 verifies on upload
    Md5,
}

/// `get --range`: an inclusive byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteRange {
    /// First byte.
    pub(crate) start: u64,
    /// Last byte, inclusive (`None`: the end of the file).
    pub(crate) end: Option<u64>,
}

impl ByteRange {
    /// The number of bytes, if bounded.
    pub(crate) fn len(self) -> Option<u64> {
        // parse_range guarantees end >= start, so this cannot overflow below zero.
        self.end.map(|end| end - self.start + 1)
    }
}

/// Parses `--timeout`: positive seconds, fractions allowed.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "`{s}`: the timeout must be above 0 and at most 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `--range START[-END]`.
pub(crate) fn parse_range(s: &str) -> Result<ByteRange, String> {
    let num = |part: &str| {
        part.parse::<u64>()
            .map_err(|_| format!("`{s}` is not START[-END] with byte offsets"))
    };
    let (start, end) = match s.split_once('-') {
        None => (num(s)?, None),
        Some((start, "")) => (num(start)?, None),
        Some((start, end)) => (num(start)?, Some(num(end)?)),
    };
    if end.is_some_and(|end| end < start) {
        return Err(format!("`{s}`: END is before START"));
    }
    Ok(ByteRange { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range("0").unwrap(),
            ByteRange {
                start: 0,
                end: None
            }
        );
        assert_eq!(
            parse_range("10-").unwrap(),
            ByteRange {
                start: 10,
                end: None
            }
        );
        let r = parse_range("10-19").unwrap();
        assert_eq!((r.start, r.end, r.len()), (10, Some(19), Some(10)));
        assert_eq!(parse_range("5-5").unwrap().len(), Some(1));
        for bad in ["", "-", "-5", "a-b", "5-4", "1-2-3", " 1"] {
            assert!(parse_range(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("2.5").unwrap(), Duration::from_millis(2500));
        for bad in ["0", "-1", "nan", "inf", "x", "100000"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn names_scripts_depend_on() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|c| c.command);
        assert!(matches!(
            parse(&["mogile", "ls", "p/", "-l", "-0"]).unwrap(),
            Command::Ls {
                long: true,
                null: true,
                ..
            }
        ));
        assert!(matches!(
            parse(&[
                "mogile",
                "put",
                "k",
                "-",
                "--class",
                "c",
                "--checksum",
                "md5"
            ])
            .unwrap(),
            Command::Put {
                checksum: Some(ChecksumAlgo::Md5),
                ..
            }
        ));
        assert!(matches!(
            parse(&["mogile", "get", "k", "--verify", "--range", "1-2"]).unwrap(),
            Command::Get {
                verify: true,
                range: Some(_),
                file: None,
                ..
            }
        ));
        assert!(matches!(
            parse(&["mogile", "paths", "k", "--noverify", "--pathcount", "2"]).unwrap(),
            Command::Paths {
                noverify: true,
                pathcount: Some(2),
                ..
            }
        ));
        assert!(matches!(
            parse(&[
                "mogile",
                "admin",
                "device",
                "set-state",
                "3",
                "down",
                "--host",
                "h"
            ])
            .unwrap(),
            Command::Admin {
                command: Admin::Device {
                    command: DeviceCmd::SetState { .. }
                }
            }
        ));
        assert!(matches!(
            parse(&[
                "mogile",
                "admin",
                "class",
                "update",
                "d",
                "c",
                "--replpolicy",
                "P"
            ])
            .unwrap(),
            Command::Admin {
                command: Admin::Class {
                    command: ClassCmd::Update { .. }
                }
            }
        ));
        assert!(parse(&["mogile", "admin", "settings", "set", "k", "v"]).is_ok());
        assert!(
            parse(&[
                "mogile", "admin", "host", "add", "h", "--ip", "1.2.3.4", "--port", "7500"
            ])
            .is_ok()
        );
        // Global options go anywhere.
        let cli =
            Cli::try_parse_from(["mogile", "rm", "k", "--json", "-q", "--timeout", "3"]).unwrap();
        assert!(cli.global.json && cli.global.quiet);
        assert!(
            parse(&[
                "mogile",
                "admin",
                "class",
                "create",
                "d",
                "c",
                "--mindevcount",
                "0"
            ])
            .is_err()
        );
        assert!(parse(&["mogile", "frobnicate"]).is_err());
    }
}
