//! The public handle of a fake tracker: start, fault switches, counters, wire log.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::faults::{ConnectionMode, Fault};
use super::model::Model;
use super::server::{Inner, accept_loop, lock};
use super::stats::{Stats, WireLine};

/// Builds and starts a [`FakeTracker`].
#[derive(Debug, Clone)]
#[must_use]
pub struct FakeTrackerBuilder {
    model: Option<Arc<Model>>,
    http_timeout: Duration,
    max_line_len: usize,
}

impl FakeTrackerBuilder {
    /// The model to serve (default: a new empty one). Several trackers may share one model.
    pub fn model(mut self, model: Arc<Model>) -> Self {
        self.model = Some(model);
        self
    }

    /// The timeout of the tracker's own HTTP requests to storage nodes (default 5 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// The longest request line buffered before the connection is closed (default 64 MiB; the real
    /// tracker has no limit, a test double needs one to bound memory).
    pub fn max_line_len(mut self, len: usize) -> Self {
        self.max_line_len = len;
        self
    }

    /// Binds `127.0.0.1:0` and starts serving on the current tokio runtime.
    pub async fn start(self) -> io::Result<FakeTracker> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            model: self.model.unwrap_or_default(),
            mode: watch::Sender::new(ConnectionMode::Normal),
            faults: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::new()),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            http_timeout: self.http_timeout,
            max_line_len: self.max_line_len,
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&inner)));
        Ok(FakeTracker {
            addr,
            inner,
            accept,
        })
    }
}

/// A fake MogileFS 2.73 tracker on `127.0.0.1:<random port>`, serving a [`Model`] with the real
/// server's replies and quirks, with fault switches, counters and a log of the received bytes.
///
/// Dropping it stops the listener and closes every connection.
#[derive(Debug)]
pub struct FakeTracker {
    addr: SocketAddr,
    inner: Arc<Inner>,
    accept: JoinHandle<()>,
}

impl Drop for FakeTracker {
    fn drop(&mut self) {
        self.accept.abort();
        for (_, conn) in lock(&self.inner.conns).drain() {
            conn.abort();
        }
    }
}

impl FakeTracker {
    /// Starts a tracker serving `model` with default settings.
    pub async fn start(model: Arc<Model>) -> io::Result<Self> {
        Self::builder().model(model).start().await
    }

    /// A builder for non-default settings.
    pub fn builder() -> FakeTrackerBuilder {
        FakeTrackerBuilder {
            model: None,
            http_timeout: Duration::from_secs(5),
            max_line_len: 64 << 20,
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The served model.
    pub fn model(&self) -> &Arc<Model> {
        &self.inner.model
    }

    /// Switches the connection mode; open connections follow at once.
    pub fn set_mode(&self, mode: ConnectionMode) {
        self.inner.mode.send_replace(mode);
    }

    /// The current connection mode.
    pub fn mode(&self) -> ConnectionMode {
        *self.inner.mode.borrow()
    }

    /// "Kills" the tracker: [`ConnectionMode::Refuse`].
    pub fn kill(&self) {
        self.set_mode(ConnectionMode::Refuse);
    }

    /// "Restarts" it on the same port: [`ConnectionMode::Normal`].
    pub fn restart(&self) {
        self.set_mode(ConnectionMode::Normal);
    }

    /// Adds a fault rule (after the existing ones).
    pub fn inject(&self, fault: Fault) {
        lock(&self.inner.faults).push(fault);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Connections accepted so far (including refused ones).
    pub fn connections_accepted(&self) -> u64 {
        lock(&self.inner.stats).accepted
    }

    /// Connections currently open.
    pub fn connections_open(&self) -> u64 {
        lock(&self.inner.stats).open
    }

    /// Requests received for `command` (lower case; `!` lines by their first word, e.g. `!version`).
    pub fn requests(&self, command: &str) -> u64 {
        lock(&self.inner.stats)
            .requests
            .get(command)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received in total (blank lines are not requests).
    pub fn total_requests(&self) -> u64 {
        lock(&self.inner.stats).requests.values().sum()
    }

    /// Every line received so far, in arrival order.
    pub fn wire_log(&self) -> Vec<WireLine> {
        lock(&self.inner.stats).log.clone()
    }

    /// The bytes of every complete line received on `connection`, concatenated.
    pub fn received(&self, connection: u64) -> Vec<u8> {
        let stats = lock(&self.inner.stats);
        stats
            .log
            .iter()
            .filter(|l| l.connection == connection)
            .flat_map(|l| l.bytes.iter().copied())
            .collect()
    }

    /// Forgets the wire log and the request counters (connection counters stay).
    pub fn clear_log(&self) {
        let mut stats = lock(&self.inner.stats);
        stats.log.clear();
        stats.requests.clear();
    }
}
