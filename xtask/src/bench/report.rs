//! One figure of the benchmark: its console line, its table row, and how it travels from the
//! measuring process to the one writing `docs/benchmarks.md`.

use std::fmt::Write as _;

/// The four parts of the benchmark, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Section {
    Tracker,
    Small,
    Stream,
    Codec,
    Adapter,
    Stripes,
    Hedge,
    Sync,
}

impl Section {
    pub(crate) const ALL: [Self; 8] = [
        Self::Tracker,
        Self::Small,
        Self::Stream,
        Self::Codec,
        Self::Adapter,
        Self::Stripes,
        Self::Hedge,
        Self::Sync,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Tracker => "tracker",
            Self::Small => "small",
            Self::Stream => "stream",
            Self::Codec => "codec",
            Self::Adapter => "adapter",
            Self::Stripes => "stripes",
            Self::Hedge => "hedge",
            Self::Sync => "sync",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }

    /// The heading and the table's column names.
    pub(crate) fn table(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Self::Tracker => (
                "1. Tracker round trips (`mogile-tracker` vs raw sockets)",
                &[
                    "command",
                    "concurrency",
                    "sockets",
                    "client ops/s",
                    "raw ops/s",
                    "ratio",
                    "client p50 / p99 µs",
                    "raw p50 / p99 µs",
                    "client CPU µs/op",
                    "raw CPU µs/op",
                    "CPU ratio",
                    "typed floor CPU µs/op",
                    "typed floor CPU ratio",
                    "cluster CPU µs/op (client / raw rounds)",
                    "target",
                ],
            ),
            Self::Small => (
                "2. Small files (`mogilefs` facade vs raw tracker lines + hand-written HTTP/1.1)",
                &[
                    "operation",
                    "size",
                    "concurrency",
                    "client ops/s",
                    "raw ops/s",
                    "ratio",
                    "client p50 / p99 µs",
                    "raw p50 / p99 µs",
                    "client CPU µs/op",
                    "raw CPU µs/op",
                    "CPU ratio",
                    "cluster CPU µs/op (client / raw rounds)",
                    "target",
                ],
            ),
            Self::Stream => (
                "3. Streaming (`mogilefs` facade in its own process vs `curl`, same node, same file)",
                &[
                    "direction",
                    "size",
                    "client MB/s",
                    "curl MB/s",
                    "ratio",
                    "client peak RSS",
                    "curl peak RSS",
                    "client / curl CPU s",
                    "CPU ratio",
                    "target",
                ],
            ),
            Self::Codec => (
                "4. Codec (`mogile-protocol` criterion bench, `cargo bench -p mogile-protocol`)",
                &[
                    "benchmark",
                    "operations/s",
                    "time per operation",
                    "CPU ratio",
                    "target",
                ],
            ),
            Self::Adapter => (
                "5. object_store adapter (`MogileStore` vs the `mogilefs` facade, each `get` in its own process)",
                &[
                    "operation",
                    "size",
                    "MogileStore CPU s",
                    "facade CPU s",
                    "CPU ratio",
                    "MogileStore MB/s",
                    "facade MB/s",
                    "target",
                ],
            ),
            Self::Stripes => (
                "6. Striped reads (facade, one process per fetch, vs `curl` of one node; each node its own process)",
                &[
                    "nodes",
                    "bandwidth cap",
                    "size",
                    "striped MB/s",
                    "curl MB/s",
                    "ratio",
                    "client peak RSS",
                    "target",
                ],
            ),
            Self::Hedge => (
                "7. Hedged tail (small gets, 2 nodes, the first path 500 ms slow on 3% of requests)",
                &[
                    "hedging",
                    "gets per run",
                    "p50 ms",
                    "p99 ms",
                    "extra requests",
                    "target",
                ],
            ),
            Self::Sync => (
                "8. `mogile sync` (a local directory into the cluster, `--jobs 8`, vs a sequential `mogile put` loop)",
                &[
                    "workload",
                    "files",
                    "`mogile put` loop files/s",
                    "sync files/s",
                    "sync MB/s",
                    "speed-up",
                    "no-op run / first run",
                    "facade put files/s (8 at once)",
                    "sync / facade",
                    "target",
                ],
            ),
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    pub(crate) section: Section,
    /// The one line printed while the benchmark runs.
    pub(crate) line: String,
    /// The table row, in the order of [`Section::table`].
    pub(crate) cells: Vec<String>,
    /// Whether the figure meets its target (`None`: it has none).
    pub(crate) met: Option<bool>,
}

const TAG: &str = "BENCH-FIGURE";

impl Figure {
    /// One line of text, for the pipe from a measuring process; no field holds a tab or newline.
    pub(crate) fn encode(&self) -> String {
        let met = match self.met {
            None => "-",
            Some(true) => "met",
            Some(false) => "missed",
        };
        let mut out = format!(
            "{TAG}\t{}\t{met}\t{}",
            self.section.name(),
            clean(&self.line)
        );
        for c in &self.cells {
            let _ = write!(out, "\t{}", clean(c));
        }
        out
    }

    /// Reads a line written by [`encode`](Self::encode); other lines give `None`.
    pub(crate) fn decode(line: &str) -> Option<Self> {
        let mut f = line.trim_end_matches(['\r', '\n']).split('\t');
        if f.next()? != TAG {
            return None;
        }
        let section = Section::parse(f.next()?)?;
        let met = match f.next()? {
            "met" => Some(true),
            "missed" => Some(false),
            _ => None,
        };
        let line = f.next()?.to_owned();
        Some(Self {
            section,
            line,
            cells: f.map(str::to_owned).collect(),
            met,
        })
    }
}

fn clean(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// `0.97x (>= 0.95)` and whether it is met.
pub(crate) fn ratio_target(ratio: f64, min: f64) -> (String, bool) {
    let met = ratio >= min;
    (
        format!("{} >= {min:.2}x", if met { "met:" } else { "MISSED:" }),
        met,
    )
}

/// `<= 1.05x` and whether `ratio` is at most `max` (for costs, where lower is better).
pub(crate) fn ratio_at_most(ratio: f64, max: f64) -> (String, bool) {
    let met = ratio <= max;
    (
        format!("{} <= {max:.2}x", if met { "met:" } else { "MISSED:" }),
        met,
    )
}

/// A CPU ratio (client over baseline), `1.23x`; against an at-most `target`, with as many more
/// decimals (up to six) as it takes not to hide the verdict (`1.154x`, not a missed `1.15x`).
pub(crate) fn cpu_ratio(v: f64, target: Option<f64>) -> String {
    if !v.is_finite() {
        return "-".to_owned();
    }
    let shown = |places: usize| format!("{v:.places$}");
    let hides = |text: &str| {
        target.is_some_and(|t| text.parse::<f64>().is_ok_and(|s| (s <= t) != (v <= t)))
    };
    let places = (2..6).find(|&p| !hides(&shown(p))).unwrap_or(6);
    format!("{}x", shown(places))
}

/// Formats a rate with thousands separators for readability (`123456.7` -> `123,457`).
pub(crate) fn rate(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_owned();
    }
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A microsecond figure with sensible precision.
pub(crate) fn us(v: f64) -> String {
    if !v.is_finite() {
        "-".to_owned()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else if v < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// Renders one section's table in Markdown.
pub(crate) fn table(section: Section, figures: &[Figure]) -> String {
    let (title, cols) = section.table();
    let mut out = format!("## {title}\n\n| {} |\n|", cols.join(" | "));
    for _ in cols.iter() {
        out.push_str(" --- |");
    }
    out.push('\n');
    for f in figures.iter().filter(|f| f.section == section) {
        let _ = writeln!(out, "| {} |", f.cells.join(" | "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpu_ratio_shows_more_decimals_only_when_two_would_hide_the_verdict() {
        assert_eq!(cpu_ratio(1.154, Some(1.15)), "1.154x");
        assert_eq!(cpu_ratio(1.1503, Some(1.15)), "1.1503x");
        assert_eq!(cpu_ratio(1.1496, Some(1.15)), "1.15x");
        assert_eq!(cpu_ratio(1.504, Some(1.5)), "1.504x");
        assert_eq!(cpu_ratio(1.146, Some(1.15)), "1.15x");
        assert_eq!(cpu_ratio(1.154, None), "1.15x");
        assert_eq!(cpu_ratio(1.23, Some(1.15)), "1.23x");
        assert_eq!(cpu_ratio(f64::NAN, Some(1.15)), "-");
    }

    #[test]
    fn a_figure_survives_the_pipe() {
        let f = Figure {
            section: Section::Small,
            line: "put 1 KiB\tc=1".to_owned(),
            cells: vec!["put".into(), "1 KiB".into()],
            met: Some(false),
        };
        let back = Figure::decode(&f.encode()).unwrap();
        assert_eq!(back.section, Section::Small);
        assert_eq!(back.line, "put 1 KiB c=1");
        assert_eq!(back.cells, f.cells);
        assert_eq!(back.met, Some(false));
        assert!(Figure::decode("some other output").is_none());
    }

    #[test]
    fn numbers_format_for_people() {
        assert_eq!(rate(1234567.4), "1,234,567");
        assert_eq!(rate(999.0), "999");
        assert_eq!(us(4.567), "4.57");
        assert_eq!(us(123.45), "123.5");
        assert!(ratio_target(0.96, 0.95).1);
        assert!(!ratio_target(0.9, 0.95).1);
        assert!(ratio_at_most(1.04, 1.05).1);
        assert!(!ratio_at_most(1.06, 1.05).1);
    }
}
