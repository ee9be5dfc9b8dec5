//! `-v`, `RUST_LOG` and `--log-format`: the client's `tracing` spans and events on stderr.
//!
//! The level comes from `-v` (warnings), `-vv` (info: one line per operation as it ends, with its
//! fields) or `-vvv` (debug: every tracker request and storage transfer too); `RUST_LOG`, when set,
//! replaces it with its own directives. Without either nothing is installed, and the client's
//! spans and events cost nothing.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::cli::{Global, LogFormat};
use crate::exit::Failure;

/// Installs the subscriber `global` and `RUST_LOG` ask for, if any.
pub(crate) fn init(global: &Global) -> Result<(), Failure> {
    let Some(filter) = filter(global.verbose, std::env::var("RUST_LOG").ok())? else {
        return Ok(());
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A span's line when it closes carries every field it was given: the key, the fid, the
        // replica that served it, the bytes moved.
        .with_span_events(FmtSpan::CLOSE);
    let installed = match global.log_format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    installed.map_err(|e| Failure::failed(format!("cannot set up logging: {e}")))
}

/// The filter: `RUST_LOG` when set and not empty, else the level of `-v`s; `None` for no logging.
fn filter(verbose: u8, rust_log: Option<String>) -> Result<Option<EnvFilter>, Failure> {
    if let Some(directives) = rust_log.filter(|d| !d.trim().is_empty()) {
        return EnvFilter::try_new(&directives)
            .map(Some)
            .map_err(|e| Failure::usage(format!("invalid RUST_LOG {directives:?}: {e}")));
    }
    let level = match verbose {
        0 => return Ok(None),
        1 => "warn",
        2 => "info",
        3 => "debug",
        _ => "trace",
    };
    Ok(Some(EnvFilter::new(level)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_and_rust_log() {
        let shown = |v, env: Option<&str>| {
            filter(v, env.map(str::to_owned))
                .map(|f| f.map(|f| f.to_string()))
                .map_err(|e| format!("{e:?}"))
        };
        assert_eq!(shown(0, None), Ok(None));
        assert_eq!(shown(1, None), Ok(Some("warn".into())));
        assert_eq!(shown(2, None), Ok(Some("info".into())));
        assert_eq!(shown(3, None), Ok(Some("debug".into())));
        assert_eq!(shown(9, None), Ok(Some("trace".into())));
        assert_eq!(shown(0, Some("")), Ok(None));
        assert_eq!(
            shown(1, Some("mogilefs=debug")),
            Ok(Some("mogilefs=debug".into()))
        );
        assert!(shown(0, Some("mogilefs=loud")).is_err());
    }
}
