//! Part 5: a 256 MiB `get` through `MogileStore` (`ObjectStore::get`, then the body streamed)
//! against the facade itself (`Client::get`, streamed), each `get` in its own process
//! (`xtask bench object-store-get`), alternating. The figure is the client process's CPU time
//! spent on the `get` (from `CLOCK_PROCESS_CPUTIME_ID`, read in that process around the `get`),
//! the median over rounds: the adapter should cost nothing measurable.

use std::path::Path;
use std::process::{Command, Stdio};

use super::measure::median;
use super::report::{Figure, Section, ratio_at_most};

/// `MogileStore`'s CPU time may be at most this multiple of the facade's.
const TARGET: f64 = 1.05;

/// The size of the object fetched.
pub(crate) const SIZE: u64 = 256 << 20;

/// Where the `get`s go and what runs them.
#[derive(Debug)]
pub(crate) struct Setup<'a> {
    pub(crate) exe: &'a Path,
    pub(crate) tracker: &'a str,
    pub(crate) domain: &'a str,
    pub(crate) rounds: usize,
}

/// Which side a measuring process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// `object_store::ObjectStore::get` on a `MogileStore`, then `GetResult::into_stream`.
    Store,
    /// `mogilefs::Client::get`.
    Facade,
}

impl Via {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Store => "store",
            Self::Facade => "facade",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Self::Store, Self::Facade]
            .into_iter()
            .find(|v| v.name() == s)
    }
}

/// One measured `get`, as its process reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    pub(crate) bytes: u64,
    pub(crate) secs: f64,
    pub(crate) cpu_secs: f64,
}

impl Sample {
    /// The line the measuring process prints.
    pub(crate) fn encode(&self) -> String {
        format!(
            "bytes={} seconds={} cpu={}",
            self.bytes, self.secs, self.cpu_secs
        )
    }

    /// Reads a line written by [`encode`](Self::encode).
    pub(crate) fn decode(line: &str) -> Option<Self> {
        let field = |name: &str| line.split_whitespace().find_map(|w| w.strip_prefix(name));
        Some(Self {
            bytes: field("bytes=")?.parse().ok()?,
            secs: field("seconds=")?.parse().ok()?,
            cpu_secs: field("cpu=")?.parse().ok()?,
        })
    }
}

pub(crate) fn run(s: &Setup<'_>) -> Result<Vec<Figure>, String> {
    let dir = tempfile::Builder::new()
        .prefix("mogile-bench-os-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let file = dir.path().join("source");
    super::streaming::write_source(&file, SIZE)?;
    let key = format!("object-store/{SIZE}");
    let stored = Command::new(s.exe)
        .args(["bench", "stream-put", s.tracker, s.domain, &key])
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("stream-put: {e}"))?;
    if !stored.success() {
        return Err(format!("storing {key} failed ({stored})"));
    }
    std::fs::remove_file(&file).map_err(|e| format!("removing {}: {e}", file.display()))?;
    drop(dir);

    // One untimed get of each first, so that both sides find the file in the page cache.
    get(s, &key, Via::Facade)?;
    get(s, &key, Via::Store)?;
    let (mut store, mut facade) = (Vec::new(), Vec::new());
    for r in 0..s.rounds {
        if r % 2 == 0 {
            store.push(get(s, &key, Via::Store)?);
            facade.push(get(s, &key, Via::Facade)?);
        } else {
            facade.push(get(s, &key, Via::Facade)?);
            store.push(get(s, &key, Via::Store)?);
        }
    }
    Ok(vec![figure(&store, &facade)])
}

fn get(s: &Setup<'_>, key: &str, via: Via) -> Result<Sample, String> {
    let out = Command::new(s.exe)
        .args([
            "bench",
            "object-store-get",
            s.tracker,
            s.domain,
            key,
            via.name(),
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("object-store-get: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "object-store-get {} failed: {}",
            via.name(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let sample = stdout
        .lines()
        .find_map(Sample::decode)
        .ok_or_else(|| format!("object-store-get printed {stdout:?}"))?;
    if sample.bytes != SIZE {
        return Err(format!(
            "object-store-get {} fetched {} bytes, not {SIZE}",
            via.name(),
            sample.bytes
        ));
    }
    Ok(sample)
}

fn figure(store: &[Sample], facade: &[Sample]) -> Figure {
    let cpu = |t: &[Sample]| median(&t.iter().map(|t| t.cpu_secs).collect::<Vec<_>>());
    let mbps = |t: &[Sample]| {
        median(
            &t.iter()
                .map(|t| t.bytes as f64 / t.secs / 1e6)
                .collect::<Vec<_>>(),
        )
    };
    let each = |t: &[Sample]| {
        t.iter()
            .map(|t| format!("{:.3}", t.cpu_secs))
            .collect::<Vec<_>>()
            .join("/")
    };
    let (cs, cf) = (cpu(store), cpu(facade));
    let ratio = cs / cf;
    let (target, met) = ratio_at_most(ratio, TARGET);
    let size = format!("{} MiB", SIZE >> 20);
    let f = Figure {
        section: Section::Adapter,
        line: format!(
            "object_store get {size}  MogileStore CPU {cs:.3} s  facade CPU {cf:.3} s  ratio {ratio:.3}x  MogileStore {:.1} MB/s  facade {:.1} MB/s  ({target})  CPU rounds: MogileStore {} facade {}",
            mbps(store),
            mbps(facade),
            each(store),
            each(facade),
        ),
        cells: vec![
            "get, body streamed".to_owned(),
            size,
            format!("{cs:.3}"),
            format!("{cf:.3}"),
            format!("**{ratio:.3}x**"),
            format!("{:.1}", mbps(store)),
            format!("{:.1}", mbps(facade)),
            target,
        ],
        met: Some(met),
    };
    eprintln!("{}", f.line);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_survives_the_pipe() {
        let s = Sample {
            bytes: SIZE,
            secs: 0.25,
            cpu_secs: 0.125,
        };
        assert_eq!(Sample::decode(&s.encode()), Some(s));
        assert_eq!(Sample::decode("bytes=1 seconds=x cpu=1"), None);
        assert_eq!(Via::parse(Via::Store.name()), Some(Via::Store));
        assert_eq!(Via::parse(Via::Facade.name()), Some(Via::Facade));
        assert_eq!(Via::parse("curl"), None);
    }

    #[test]
    fn the_figure_holds_the_cpu_ratio_against_its_target() {
        let at = |cpu_secs| Sample {
            bytes: SIZE,
            secs: 1.0,
            cpu_secs,
        };
        let f = figure(
            &[at(0.52), at(0.50), at(0.9)],
            &[at(0.50), at(0.49), at(0.51)],
        );
        assert_eq!(f.section, Section::Adapter);
        assert_eq!(f.cells.len(), Section::Adapter.table().1.len());
        assert_eq!(f.cells[4], "**1.040x**");
        assert_eq!(f.met, Some(true));
        let f = figure(&[at(0.6)], &[at(0.5)]);
        assert_eq!(f.met, Some(false));
    }
}
