//! What a fake tracker counts and records.

use std::collections::BTreeMap;

use tokio::time::Instant;

/// One request line as received, with its terminator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WireLine {
    /// The connection it came on (1-based, in accept order).
    pub connection: u64,
    /// The exact bytes, including the `\n` (and `\r`, if any).
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Stats {
    pub(crate) accepted: u64,
    pub(crate) open: u64,
    pub(crate) requests: BTreeMap<String, u64>,
    pub(crate) log: Vec<WireLine>,
    pub(crate) started: Instant,
}

/// What `!stats` reports.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) uptime_secs: u64,
    pub(crate) queries: u64,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Self {
            accepted: 0,
            open: 0,
            requests: BTreeMap::new(),
            log: Vec::new(),
            started: Instant::now(),
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            uptime_secs: self.started.elapsed().as_secs(),
            queries: self
                .requests
                .iter()
                .filter(|(c, _)| !c.starts_with('!'))
                .map(|(_, n)| n)
                .sum(),
        }
    }
}
