//! The command line, as clap derives it. The names here are an interface: scripts depend on them.

mod admin;

use std::ffi::OsString;
use std::fmt;
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
    /// Log to stderr what the client does: -v warnings (failovers), -vv each operation, -vvv
    /// every request to trackers and storage nodes (RUST_LOG, when set, decides instead)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Format of the log lines on stderr
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// One line of text per event, and one per operation as it ends
    Text,
    /// One JSON object per line
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Store FILE (`-` for stdin) under KEY; with -r, every file under DIR under PREFIX
    Put {
        /// Key to store under (with -r: the directory to store)
        #[arg(value_name = "KEY|DIR")]
        key: OsString,
        /// File to read, `-` for stdin (streamed) (with -r: the key prefix)
        #[arg(value_name = "FILE|PREFIX")]
        file: PathBuf,
        /// Store every file under the directory DIR, each under PREFIX plus its path, copying
        /// every one and overwriting (`mogile put -r DIR PREFIX`)
        #[arg(short = 'r', long, conflicts_with = "checksum")]
        recursive: bool,
        /// Storage class (default: `class` from the configuration, else the domain's default)
        #[arg(long, value_name = "C")]
        class: Option<String>,
        /// Compute a checksum while streaming and have the tracker record it
        #[arg(long, value_enum, value_name = "ALGO")]
        checksum: Option<ChecksumAlgo>,
    },
    /// Fetch KEY into FILE (none or `-` for stdout); with -r, every key under PREFIX into DIR
    Get {
        /// Key to fetch (with -r: the key prefix)
        #[arg(value_name = "KEY|PREFIX")]
        key: OsString,
        /// File to write (written beside it and renamed on success); none or `-` for stdout
        /// (with -r: the directory)
        #[arg(value_name = "FILE|DIR")]
        file: Option<PathBuf>,
        /// Fetch every key under PREFIX into the directory DIR, copying every one and
        /// overwriting (`mogile get -r PREFIX DIR`)
        #[arg(short = 'r', long, requires = "file", conflicts_with_all = ["verify", "range"])]
        recursive: bool,
        /// Verify the checksum the tracker recorded (whole files only)
        #[arg(long)]
        verify: bool,
        /// Fetch bytes START to END inclusive (END omitted, or 18446744073709551615: to the end
        /// of the file)
        #[arg(long, value_name = "START[-END]", value_parser = parse_range)]
        range: Option<ByteRange>,
        /// Read a large file as N stripes at once, each from its own replica (default: one per
        /// replica, at most 4, none with a zone configured); 1 reads one replica at a time
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        streams: Option<u32>,
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
    /// Copy what DST lacks or has different from SRC: MogileFS, local directories, object
    /// stores (see docs/cli.md)
    Sync(SyncArgs),
    /// Administer domains, classes, hosts, devices and server settings
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
    /// Print a shell completion script to stdout (see `docs/cli.md` to install it)
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `mogile sync`'s arguments.
///
/// SRC and DST are each `mogile://DOMAIN/PREFIX` (the global trackers),
/// `mogilefs://DOMAIN/PREFIX?trackers=...`, a local directory (or `file:///path`), or, with the
/// cloud features, an object store URL (`s3://bucket/path`, ...). A key is copied when DST lacks
/// it or its size differs (a same-size change needs `--checksum`). Exit status 1 when anything
/// failed; each failure is listed with its reason.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Where to copy from
    pub(crate) src: OsString,
    /// Where to copy to
    pub(crate) dst: OsString,
    /// Delete keys of DST that SRC lacks (only after every copy succeeded)
    #[arg(long)]
    pub(crate) delete: bool,
    /// Most keys to delete; more refuses every deletion (default 1000, none with --force)
    #[arg(long, value_name = "N", requires = "delete")]
    pub(crate) max_delete: Option<u64>,
    /// Allow --delete after an empty source listing, and lift the default --max-delete
    #[arg(long, requires = "delete")]
    pub(crate) force: bool,
    /// Show what would be copied and deleted; change nothing
    #[arg(short = 'n', long)]
    pub(crate) dry_run: bool,
    /// Also copy when the content differs at the same size (MD5 where stored, else hashing)
    #[arg(short = 'c', long)]
    pub(crate) checksum: bool,
    /// Transfers at once
    #[arg(short = 'j', long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) jobs: u16,
    /// Sync only keys matching GLOB (relative to the prefix; repeatable)
    #[arg(long, value_name = "GLOB")]
    pub(crate) include: Vec<String>,
    /// Leave keys matching GLOB alone on both sides: never copied, never deleted (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
    /// Class of the files stored in MogileFS (default: the source's class between two MogileFS
    /// locations, else the domain's default)
    #[arg(long, value_name = "C")]
    pub(crate) class: Option<String>,
    /// Stop after N failures
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_errors: u64,
    /// Bytes of listing each side holds in memory before spilling to temporary files
    #[arg(long, hide = true, value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    pub(crate) memory_bound: usize,
}

/// Checksum algorithms `put --checksum` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChecksumAlgo {
    /// MD5, the only one MogileFS 2.73 verifies on upload
    Md5,
}

/// `get --range`: the bytes to fetch, as the facade takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteRange {
    /// First byte.
    pub(crate) start: u64,
    /// How many bytes (`None`: to the end of the file).
    pub(crate) len: Option<u64>,
}

/// Why a `--range` is refused; clap reports it as a usage error (exit status 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeError {
    /// Not `START`, `START-` or `START-END` with decimal byte offsets that fit in 64 bits.
    Syntax,
    /// `END` is before `START`.
    EndBeforeStart {
        /// The first byte asked for.
        start: u64,
        /// The last byte asked for.
        end: u64,
    },
    /// `START` is `u64::MAX`: no file has a byte there (its length would have to be above the
    /// largest 64-bit number).
    StartTooLarge,
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax => f.write_str("expected START[-END] with byte offsets"),
            Self::EndBeforeStart { start, end } => {
                write!(f, "END ({end}) is before START ({start})")
            }
            Self::StartTooLarge => write!(f, "START must be below {}", u64::MAX),
        }
    }
}

impl std::error::Error for RangeError {}

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

/// Parses `--range START[-END]`: bytes START to END inclusive; END omitted, or `u64::MAX`, means
/// to the end of the file. Every step is checked arithmetic.
pub(crate) fn parse_range(s: &str) -> Result<ByteRange, RangeError> {
    // `u64::from_str` takes a leading `+`; an offset is digits only.
    let num = |part: &str| match part.bytes().all(|b| b.is_ascii_digit()) {
        true => part.parse::<u64>().map_err(|_| RangeError::Syntax),
        false => Err(RangeError::Syntax),
    };
    let (start, end) = match s.split_once('-') {
        None => (num(s)?, None),
        Some((start, "")) => (num(start)?, None),
        Some((start, end)) => (num(start)?, Some(num(end)?)),
    };
    if start == u64::MAX {
        return Err(RangeError::StartTooLarge);
    }
    let len = match end {
        None | Some(u64::MAX) => None,
        Some(end) => {
            let span = end
                .checked_sub(start)
                .ok_or(RangeError::EndBeforeStart { start, end })?;
            // `end < u64::MAX` here, so `span + 1` fits; were it not, "to the end" is right.
            span.checked_add(1)
        }
    };
    Ok(ByteRange { start, len })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    fn range(start: u64, len: Option<u64>) -> ByteRange {
        ByteRange { start, len }
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0"), Ok(range(0, None)));
        assert_eq!(parse_range("10-"), Ok(range(10, None)));
        assert_eq!(parse_range("10-19"), Ok(range(10, Some(10))));
        assert_eq!(parse_range("5-5"), Ok(range(5, Some(1))));
        for bad in ["", "-", "-5", "a-b", "1-2-3", " 1", "+1", "1-+2", "0x10"] {
            assert_eq!(parse_range(bad), Err(RangeError::Syntax), "{bad:?}");
        }
    }

    /// Offsets at the edges of 64 bits: no arithmetic overflows, and `END` at `u64::MAX` is the
    /// end of the file.
    #[test]
    fn range_edges() {
        let max = u64::MAX;
        assert_eq!(parse_range(&format!("0-{max}")), Ok(range(0, None)));
        assert_eq!(parse_range(&format!("7-{max}")), Ok(range(7, None)));
        assert_eq!(
            parse_range(&format!("{}-{}", max - 1, max)),
            Ok(range(max - 1, None))
        );
        assert_eq!(
            parse_range(&format!("0-{}", max - 1)),
            Ok(range(0, Some(max)))
        );
        assert_eq!(
            parse_range(&format!("{0}-{0}", max - 1)),
            Ok(range(max - 1, Some(1)))
        );
        assert_eq!(
            parse_range(&format!("{}", max - 1)),
            Ok(range(max - 1, None))
        );
        for start_at_max in [format!("{max}"), format!("{max}-"), format!("{max}-{max}")] {
            assert_eq!(
                parse_range(&start_at_max),
                Err(RangeError::StartTooLarge),
                "{start_at_max}"
            );
        }
        assert_eq!(
            parse_range("5-4"),
            Err(RangeError::EndBeforeStart { start: 5, end: 4 })
        );
        assert_eq!(
            parse_range(&format!("{}-0", max - 1)),
            Err(RangeError::EndBeforeStart {
                start: max - 1,
                end: 0
            })
        );
        // One past u64::MAX does not parse at all.
        assert_eq!(
            parse_range("0-18446744073709551616"),
            Err(RangeError::Syntax)
        );
        assert_eq!(parse_range("18446744073709551616"), Err(RangeError::Syntax));
    }

    /// A refused `--range` is a usage error (exit status 2) that carries the typed reason.
    #[test]
    fn a_bad_range_is_a_usage_error() {
        let max = u64::MAX.to_string();
        for (arg, want) in [
            ("5-4", RangeError::EndBeforeStart { start: 5, end: 4 }),
            (max.as_str(), RangeError::StartTooLarge),
            ("1-x", RangeError::Syntax),
        ] {
            let err = Cli::try_parse_from(["mogile", "get", "k", "--range", arg]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{arg}");
            assert_eq!(err.exit_code(), 2, "{arg}");
            let reason = std::error::Error::source(&err)
                .and_then(|e| e.downcast_ref::<RangeError>())
                .copied();
            assert_eq!(reason, Some(want), "{arg}");
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
            parse(&["mogile", "get", "k", "--streams", "1"]).unwrap(),
            Command::Get {
                streams: Some(1),
                ..
            }
        ));
        assert!(parse(&["mogile", "get", "k", "--streams", "0"]).is_err());
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
