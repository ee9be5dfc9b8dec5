//! The TCP side: accept loop, per-connection line loop, fault application.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

use super::dispatch;
use super::faults::{self, ConnectionMode, Fault, FaultAction};
use super::model::Model;
use super::stats::{Stats, WireLine};
use super::wire::{Reply, ReqArgs};

use bytes::BytesMut;
use mogile_protocol::Request;

/// State shared by the accept loop, the connections and the [`FakeTracker`] handle.
#[derive(Debug)]
struct Inner {
    model: Arc<Model>,
    mode: watch::Sender<ConnectionMode>,
    faults: Mutex<Vec<Fault>>,
    stats: Mutex<Stats>,
    conns: Mutex<HashMap<u64, AbortHandle>>,
    next_conn: AtomicU64,
    http_timeout: Duration,
    max_line_len: usize,
}

/// Locks a mutex of this module; a panicking holder cannot leave counters or rules inconsistent in a
/// way that matters, so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

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

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "fake tracker: accept failed");
                continue;
            }
        };
        let id = inner.next_conn.fetch_add(1, Ordering::Relaxed);
        lock(&inner.stats).accepted += 1;
        if *inner.mode.borrow() == ConnectionMode::Refuse {
            reset(stream);
            continue;
        }
        lock(&inner.stats).open += 1;
        let conn_inner = Arc::clone(&inner);
        let task = tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            serve(&conn_inner, stream, id).await;
            lock(&conn_inner.stats).open -= 1;
            lock(&conn_inner.conns).remove(&id);
        });
        lock(&inner.conns).insert(id, task.abort_handle());
        if task.is_finished() {
            lock(&inner.conns).remove(&id);
        }
    }
}

/// Closes with RST instead of FIN.
fn reset(stream: TcpStream) {
    if let Err(e) = stream.set_zero_linger() {
        tracing::debug!(error = %e, "fake tracker: SO_LINGER failed");
    }
    drop(stream);
}

/// What to do with the connection after a line.
enum Flow {
    Continue,
    Close,
    Reset,
    /// Read and record, never answer again.
    Mute,
}

async fn serve(inner: &Inner, mut stream: TcpStream, id: u64) {
    let mut mode = inner.mode.subscribe();
    let mut buf: Vec<u8> = Vec::new();
    let mut scanned = 0;
    let mut muted = false;
    loop {
        while let Some(pos) = buf[scanned..].iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..scanned + pos + 1).collect();
            scanned = 0;
            let flow = if muted || *mode.borrow() == ConnectionMode::Hang {
                record(inner, id, &line);
                Flow::Continue
            } else {
                tokio::select! {
                    flow = handle_line(inner, &mut stream, id, &line) => flow,
                    _ = killed(&mut mode) => Flow::Reset,
                }
            };
            match flow {
                Flow::Continue => {}
                Flow::Mute => muted = true,
                Flow::Close => return,
                Flow::Reset => return reset(stream),
            }
        }
        scanned = buf.len();
        if buf.len() > inner.max_line_len {
            tracing::debug!(
                connection = id,
                "fake tracker: request line too long, closing"
            );
            return;
        }
        let mut chunk = [0u8; 16 * 1024];
        tokio::select! {
            read = stream.read(&mut chunk) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            },
            _ = killed(&mut mode) => return reset(stream),
        }
    }
}

/// Resolves when the tracker is switched to [`ConnectionMode::Refuse`] (or dropped).
async fn killed(mode: &mut watch::Receiver<ConnectionMode>) {
    if mode
        .wait_for(|m| *m == ConnectionMode::Refuse)
        .await
        .is_err()
    {
        std::future::pending::<()>().await;
    }
}

/// Logs a received line; returns the line without its terminator.
fn record<'a>(inner: &Inner, id: u64, line: &'a [u8]) -> &'a [u8] {
    lock(&inner.stats).log.push(WireLine {
        connection: id,
        bytes: line.to_vec(),
    });
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn count(inner: &Inner, command: &str) {
    *lock(&inner.stats)
        .requests
        .entry(command.to_owned())
        .or_insert(0) += 1;
}

async fn handle_line(inner: &Inner, stream: &mut TcpStream, id: u64, raw: &[u8]) -> Flow {
    let line = record(inner, id, raw);
    if line.is_empty() {
        return Flow::Continue; // blank lines are skipped without a reply
    }
    if line.trim_ascii_start().first() == Some(&b'!') {
        return admin_line(inner, stream, line.trim_ascii_start()).await;
    }
    // `^\s*(\w+)\s*(.*)`, command lower-cased; no command word (a whitespace-only line) gives an
    // empty command, answered with `unknown_command`.
    let (cmd, args) = match Request::decode_line(line) {
        Ok(Some(req)) => {
            let (cmd, args) = req.into_parts();
            (cmd, ReqArgs::from(args))
        }
        Ok(None) | Err(_) => (String::new(), ReqArgs::default()),
    };
    count(inner, &cmd);
    let fault = faults::take(&mut lock(&inner.faults), &cmd);
    let callid = args.get("callid").map(<[u8]>::to_vec);
    let run = || async {
        let reply = if cmd.is_empty() {
            Reply::err("unknown_command")
        } else {
            dispatch::execute(&inner.model, &cmd, &args, inner.http_timeout).await
        };
        let mut out = BytesMut::new();
        reply.encode(callid.as_deref(), &mut out);
        out.to_vec()
    };
    let Some((action, execute)) = fault else {
        return write(stream, &run().await).await;
    };
    tracing::debug!(connection = id, command = %cmd, ?action, execute, "fake tracker: fault");
    let reply = if execute { run().await } else { Vec::new() };
    match action {
        FaultAction::Delay(d) => {
            tokio::time::sleep(d).await;
            write(stream, &reply).await
        }
        FaultAction::Hang => Flow::Mute,
        FaultAction::Drop => Flow::Close,
        FaultAction::Reset => Flow::Reset,
        FaultAction::CloseMidReply => {
            let half = reply.len() / 2;
            let _ = stream
                .write_all(&reply[..half.max(1).min(reply.len())])
                .await;
            Flow::Close
        }
        FaultAction::Garbage(bytes) => write(stream, &bytes).await,
        FaultAction::LongLine(n) => {
            let mut line = Vec::with_capacity(n + 2);
            line.extend_from_slice(b"OK x=");
            line.resize(n.max(5), b'x');
            line.extend_from_slice(b"\r\n");
            write(stream, &line).await
        }
        FaultAction::StrayLine(extra) => {
            let mut out = reply;
            out.extend_from_slice(&extra);
            write(stream, &out).await
        }
    }
}

async fn admin_line(inner: &Inner, stream: &mut TcpStream, line: &[u8]) -> Flow {
    let word = line
        .split(|b| b.is_ascii_whitespace())
        .next()
        .unwrap_or_default();
    let word = String::from_utf8_lossy(word).to_ascii_lowercase();
    count(inner, &word);
    if let Some((action, _)) = faults::take(&mut lock(&inner.faults), &word) {
        match action {
            FaultAction::Drop => return Flow::Close,
            FaultAction::Reset => return Flow::Reset,
            FaultAction::Hang => return Flow::Mute,
            _ => {}
        }
    }
    if word == "!shutdown" {
        inner.mode.send_replace(ConnectionMode::Refuse);
        return Flow::Reset;
    }
    let snapshot = lock(&inner.stats).snapshot();
    let mut out = dispatch::admin_lines(line, &snapshot);
    out.extend_from_slice(b".\r\n");
    write(stream, &out).await
}

async fn write(stream: &mut TcpStream, bytes: &[u8]) -> Flow {
    match stream.write_all(bytes).await {
        Ok(()) => Flow::Continue,
        Err(_) => Flow::Close,
    }
}
