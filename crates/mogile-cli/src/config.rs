//! Settings: flags beat the environment (clap reads `MOGILE_TRACKERS` and `MOGILE_DOMAIN` into
//! the same fields as the flags), the environment beats configuration files.
//!
//! The files are read as MogileFS-Utils' `MogileFS::Utils::_load_config_files` reads them: every
//! file that exists among `--conf`, `$MOGUTILSCONF`, `~/.mogilefs.conf` and
//! `/etc/mogilefs/mogilefs.conf`, in that order, with the first file to set a key winning;
//! `#` starts a comment, and a line counts only if it looks like `word = value`. One difference:
//! a `--conf` file that cannot be read is a usage error (the Perl tools skip it silently), since
//! naming a file on the command line means it is wanted.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::Global;
use crate::exit::Failure;

/// The port a tracker listens on when none is given.
pub(crate) const DEFAULT_TRACKER_PORT: u16 = 7001;

/// The system-wide configuration file.
const SYSTEM_CONF: &str = "/etc/mogilefs/mogilefs.conf";

/// Everything the commands need to know, after every source was consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// Tracker addresses, `host:port` each.
    pub(crate) trackers: Vec<String>,
    /// Domain of the keys.
    pub(crate) domain: Option<String>,
    /// Default class of `put`.
    pub(crate) class: Option<String>,
    /// `--timeout`.
    pub(crate) timeout: Option<Duration>,
}

impl Settings {
    /// The domain, or a usage error naming the ways to set one.
    pub(crate) fn domain(&self) -> Result<&str, Failure> {
        self.domain.as_deref().ok_or_else(|| {
            Failure::usage(
                "no domain: use --domain, MOGILE_DOMAIN or `domain = ...` in a configuration file",
            )
        })
    }
}

/// Where configuration files are looked for, in order of precedence, and whether each must exist.
pub(crate) fn conf_paths(
    conf: Option<&Path>,
    mogutilsconf: Option<OsString>,
    home: Option<OsString>,
) -> Vec<(PathBuf, bool)> {
    let mut paths = Vec::new();
    if let Some(conf) = conf {
        paths.push((conf.to_path_buf(), true));
    }
    if let Some(env) = mogutilsconf.filter(|v| !v.is_empty()) {
        paths.push((PathBuf::from(env), false));
    }
    if let Some(home) = home.filter(|v| !v.is_empty()) {
        paths.push((PathBuf::from(home).join(".mogilefs.conf"), false));
    }
    paths.push((PathBuf::from(SYSTEM_CONF), false));
    paths
}

/// Reads the files (see the module docs) and merges them: the first file to set a key wins.
pub(crate) fn load_files(paths: &[(PathBuf, bool)]) -> Result<BTreeMap<String, String>, Failure> {
    let mut merged = BTreeMap::new();
    for (path, required) in paths {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if *required => {
                return Err(Failure::usage(format!(
                    "cannot read configuration file {}: {e}",
                    path.display()
                )));
            }
            // As the Perl tools do: a file that is not there (or not readable) is skipped.
            Err(_) => continue,
        };
        for (key, value) in parse_conf(&text) {
            merged.entry(key).or_insert(value);
        }
    }
    Ok(merged)
}

/// Parses one file: `key = value` lines, `#` comments; other lines are ignored.
pub(crate) fn parse_conf(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        // Perl's `^\s*(\w+)\s*=\s*(.+?)\s*$`: a word, then a non-empty value.
        let is_word = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_');
        if is_word && !value.is_empty() {
            out.push((key.to_string(), value.to_string()));
        }
    }
    out
}

/// Combines the flags (and the environment clap folded into them) with the files.
///
/// `trackers_required`: false for `sync`, whose locations may name their trackers.
pub(crate) fn resolve(
    global: &Global,
    files: &BTreeMap<String, String>,
    trackers_required: bool,
) -> Result<Settings, Failure> {
    let pick = |flag: &Option<String>, key: &str| {
        flag.clone()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| files.get(key).cloned())
    };
    let trackers = match pick(&global.trackers, "trackers") {
        Some(t) => parse_trackers(&t)?,
        None if !trackers_required => Vec::new(),
        None => {
            return Err(Failure::usage(
                "no trackers: use --trackers, MOGILE_TRACKERS or `trackers = ...` in a configuration file",
            ));
        }
    };
    Ok(Settings {
        trackers,
        domain: pick(&global.domain, "domain"),
        class: files.get("class").cloned(),
        timeout: global.timeout,
    })
}

/// Splits `HOST[:PORT][,HOST[:PORT]...]` into `host:port` addresses (a missing port is 7001;
/// IPv6 addresses go in brackets when they carry a port).
pub(crate) fn parse_trackers(list: &str) -> Result<Vec<String>, Failure> {
    let bad = |item: &str, why: &str| Failure::usage(format!("bad tracker `{item}`: {why}"));
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (host, port) = if let Some(rest) = item.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| bad(item, "unclosed `[`"))?;
            match after {
                "" => (format!("[{host}]"), None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (format!("[{host}]"), Some(port)),
                    None => return Err(bad(item, "expected `:PORT` after `]`")),
                },
            }
        } else if item.matches(':').count() > 1 {
            // A bare IPv6 address: it cannot carry a port without brackets.
            (format!("[{item}]"), None)
        } else {
            match item.split_once(':') {
                Some((host, port)) => (host.to_string(), Some(port)),
                None => (item.to_string(), None),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(bad(item, "no host"));
        }
        let port = match port {
            None => DEFAULT_TRACKER_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(bad(item, "the port must be a number from 1 to 65535")),
            },
        };
        out.push(format!("{host}:{port}"));
    }
    if out.is_empty() {
        return Err(Failure::usage("no trackers given"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(trackers: Option<&str>, domain: Option<&str>) -> Global {
        Global {
            trackers: trackers.map(String::from),
            domain: domain.map(String::from),
            timeout: None,
            json: false,
            quiet: false,
            conf: None,
            verbose: 0,
            log_format: crate::cli::LogFormat::Text,
        }
    }

    #[test]
    fn conf_lines_as_perl_reads_them() {
        let text = "# comment\n trackers = a:1, b \ndomain=media # trailing\n\
                    class =\nbad key = x\n  = y\nlib=/x=y\n";
        assert_eq!(
            parse_conf(text),
            vec![
                ("trackers".into(), "a:1, b".into()),
                ("domain".into(), "media".into()),
                ("lib".into(), "/x=y".into()),
            ]
        );
    }

    #[test]
    fn paths_in_order() {
        let p = conf_paths(
            Some(Path::new("/c")),
            Some("/env".into()),
            Some("/home/u".into()),
        );
        let names: Vec<_> = p.iter().map(|(p, r)| (p.to_str().unwrap(), *r)).collect();
        assert_eq!(
            names,
            [
                ("/c", true),
                ("/env", false),
                ("/home/u/.mogilefs.conf", false),
                (SYSTEM_CONF, false)
            ]
        );
        assert_eq!(conf_paths(None, Some("".into()), None).len(), 1);
    }

    #[test]
    fn first_file_wins_per_key_and_missing_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, "domain = from_a\n").unwrap();
        std::fs::write(&b, "domain = from_b\ntrackers = t:1\nclass = big\n").unwrap();
        let paths = [(a, true), (dir.path().join("missing"), false), (b, false)];
        let merged = load_files(&paths).unwrap();
        assert_eq!(merged["domain"], "from_a");
        assert_eq!(merged["trackers"], "t:1");
        assert_eq!(merged["class"], "big");

        let err = load_files(&[(dir.path().join("missing"), true)]).unwrap_err();
        assert_eq!(err.code(), 2);
    }

    #[test]
    fn flags_and_env_beat_files() {
        let files: BTreeMap<String, String> = [
            ("trackers".to_string(), "file:1".to_string()),
            ("domain".to_string(), "filedom".to_string()),
            ("class".to_string(), "fileclass".to_string()),
        ]
        .into();
        let s = resolve(&global(Some("flag"), None), &files, true).unwrap();
        assert_eq!(s.trackers, ["flag:7001"]);
        assert_eq!(s.domain.as_deref(), Some("filedom"));
        assert_eq!(s.class.as_deref(), Some("fileclass"));
        let s = resolve(&global(None, Some("flagdom")), &files, true).unwrap();
        assert_eq!(s.trackers, ["file:1"]);
        assert_eq!(s.domain(), Ok("flagdom"));
        // An empty flag or variable counts as unset.
        let s = resolve(&global(Some(" "), Some("")), &files, true).unwrap();
        assert_eq!(
            (s.trackers[0].as_str(), s.domain.as_deref()),
            ("file:1", Some("filedom"))
        );

        let err = resolve(&global(None, None), &BTreeMap::new(), true).unwrap_err();
        assert_eq!(err.code(), 2);
        let s = resolve(&global(Some("t"), None), &BTreeMap::new(), true).unwrap();
        assert_eq!(s.domain().unwrap_err().code(), 2);
        // `sync` may name its trackers in its locations.
        let s = resolve(&global(None, None), &BTreeMap::new(), false).unwrap();
        assert!(s.trackers.is_empty());
    }

    #[test]
    fn tracker_lists() {
        assert_eq!(
            parse_trackers("a, b:7002,,10.0.0.1:1 ,[::1]:9,[::1],::1").unwrap(),
            [
                "a:7001",
                "b:7002",
                "10.0.0.1:1",
                "[::1]:9",
                "[::1]:7001",
                "[::1]:7001"
            ]
        );
        for bad in [
            "", " , ", "a:", "a:0", "a:x", "a:70000", ":1", "[::1", "[::1]x", "[]:1",
        ] {
            assert!(parse_trackers(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
