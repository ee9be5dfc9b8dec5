//! [`StorageNode`]: a mogstored-like HTTP storage node over a local directory.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::bandwidth::Bucket;
use super::fault::{Fault, FaultRule, RecordedRequest, take_fault};
use super::handler;

/// A storage node that serves `root` the way Perlbal-mogstored does, on `127.0.0.1`, port 0.
///
/// - `PUT` writes in place (creating missing directories below an existing `/devN`), from
///   `Content-Length` or chunked bodies, streamed to disk; answers `200` (configurable: 201,
///   204), `404 Base directory does not exist`, `400` for bad names and top-level files.
/// - `GET`/`HEAD` stream from disk, with one `Range` (`206`, `416` with `Content-Range: bytes
///   */N`, multi-range ignored), `Last-Modified`/`If-Modified-Since` (`304`), and the suffix-range
///   bug unless switched off. `/devN/usage` is synthesised when no such file exists, as
///   mogstored writes it (`protocol.md` 11.5): `used` is the size of the files under the device's
///   directory (or fixed with [`set_usage`](Self::set_usage)), `total` 100 GiB
///   ([`set_capacity`](Self::set_capacity)).
/// - `DELETE`: `204`/`404`; `MKCOL` and other methods: `400`.
/// - Every answer has an `HTTP/1.0` status line with `Connection: keep-alive` and `Keep-Alive:
///   timeout=30, max=100` (or `Connection: close`), like mogstored.
///
/// Faults are switched per node ([`inject`](Self::inject), [`set_refusing`](Self::set_refusing)),
/// so a cluster of nodes can fail one node at a time. Dropping the node stops it and every
/// connection it has.
#[derive(Debug)]
pub struct StorageNode {
    addr: SocketAddr,
    state: Arc<NodeState>,
    task: JoinHandle<()>,
}

/// State shared by the node handle and its connection tasks.
#[derive(Debug)]
pub(crate) struct NodeState {
    pub(crate) root: PathBuf,
    pub(crate) faults: Mutex<Vec<FaultRule>>,
    pub(crate) refusing: AtomicBool,
    pub(crate) put_status: AtomicU16,
    pub(crate) suffix_range_bug: AtomicBool,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    pub(crate) connections: AtomicU64,
    pub(crate) usage: Mutex<Usage>,
    pub(crate) bandwidth: Mutex<Option<Arc<Bucket>>>,
}

/// What a synthesised `/devN/usage` file reports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    /// `total`, in KiB.
    pub(crate) total_kib: u64,
    /// `used`, in KiB: fixed by [`StorageNode::set_usage`], else measured from the device's
    /// directory on each request.
    pub(crate) used_kib: Option<u64>,
}

/// The size a node reports for each device unless told otherwise: 100 GiB.
const DEFAULT_TOTAL_KIB: u64 = 100 * 1024 * 1024;

impl NodeState {
    pub(crate) fn take_fault(&self, method: &http::Method, path: &str) -> Option<Fault> {
        take_fault(&mut lock(&self.faults), method, path)
    }

    pub(crate) fn bandwidth(&self) -> Option<Arc<Bucket>> {
        lock(&self.bandwidth).clone()
    }

    pub(crate) fn record(&self, req: RecordedRequest) -> usize {
        let mut all = lock(&self.requests);
        all.push(req);
        all.len() - 1
    }

    pub(crate) fn add_body_bytes(&self, idx: usize, n: u64) {
        if let Some(r) = lock(&self.requests).get_mut(idx) {
            r.body_bytes += n;
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StorageNode {
    /// Starts a node serving the existing directory `root` on the current Tokio runtime.
    ///
    /// # Errors
    /// `root` is not a directory, or binding the listener failed.
    pub async fn start(root: impl Into<PathBuf>) -> io::Result<Self> {
        Self::start_at(root, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Like [`start`](Self::start) but on `addr`: to bring a stopped node back on the port it had
    /// ([`addr`](Self::addr)), so a cluster sees it return. Use port 0 for a first start.
    ///
    /// # Errors
    /// `root` is not a directory, `addr` is not a loopback address, or binding failed.
    pub async fn start_at(root: impl Into<PathBuf>, addr: SocketAddr) -> io::Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "test storage nodes listen on loopback only",
            ));
        }
        let root = root.into();
        if !tokio::fs::metadata(&root).await?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "root is not a directory",
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(NodeState {
            root,
            faults: Mutex::new(Vec::new()),
            refusing: AtomicBool::new(false),
            put_status: AtomicU16::new(200),
            suffix_range_bug: AtomicBool::new(true),
            requests: Mutex::new(Vec::new()),
            connections: AtomicU64::new(0),
            usage: Mutex::new(Usage {
                total_kib: DEFAULT_TOTAL_KIB,
                used_kib: None,
            }),
            bandwidth: Mutex::new(None),
        });
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(Self { addr, state, task })
    }

    /// The address the node listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of `path` (which starts with `/`) on this node.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The directory served.
    pub fn root(&self) -> &Path {
        &self.state.root
    }

    /// Where the file for URL path `path` (e.g. `/dev1/0/000/000/0000000001.fid`) lives on disk.
    pub fn file_path(&self, path: &str) -> PathBuf {
        self.state.root.join(path.trim_start_matches('/'))
    }

    /// Creates the device directory `/dev<devid>` and returns its path.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub async fn add_device(&self, devid: u32) -> io::Result<PathBuf> {
        let dir = self.state.root.join(format!("dev{devid}"));
        tokio::fs::create_dir_all(&dir).await?;
        Ok(dir)
    }

    /// Adds a fault rule (checked after the ones already there).
    pub fn inject(&self, rule: FaultRule) {
        lock(&self.state.faults).push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
    }

    /// While true, new connections are accepted and immediately reset, as by a dead node.
    pub fn set_refusing(&self, refusing: bool) {
        self.state.refusing.store(refusing, Ordering::SeqCst);
    }

    /// The status a successful `PUT` answers: 200 (mogstored, the default), 201 (cmogstored,
    /// nginx) or 204 (nginx/Apache overwrite).
    pub fn set_put_status(&self, status: u16) {
        self.state.put_status.store(status, Ordering::SeqCst);
    }

    /// Whether `Range: bytes=-N` is misread as `bytes=0-N`, as mogstored does (default true).
    pub fn set_suffix_range_bug(&self, on: bool) {
        self.state.suffix_range_bug.store(on, Ordering::SeqCst);
    }

    /// Caps the bytes per second of every response body the node sends, together (a token
    /// bucket shared by all its connections); `None` removes the cap. Bodies already being sent
    /// keep the cap they started with.
    pub fn set_bandwidth_limit(&self, bytes_per_sec: Option<u64>) {
        *lock(&self.state.bandwidth) = bytes_per_sec.map(|b| Arc::new(Bucket::new(b)));
    }

    /// Fixes the `total` and `used` KiB that synthesised `/devN/usage` files report, for every
    /// device of the node (a full disk, say).
    pub fn set_usage(&self, total_kib: u64, used_kib: u64) {
        *lock(&self.state.usage) = Usage {
            total_kib,
            used_kib: Some(used_kib),
        };
    }

    /// Sets the `total` KiB of each device (100 GiB by default) and goes back to measuring `used`
    /// from the files in the device's directory.
    pub fn set_capacity(&self, total_kib: u64) {
        *lock(&self.state.usage) = Usage {
            total_kib,
            used_kib: None,
        };
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        lock(&self.state.requests).len()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.state.requests).clear();
    }

    /// Number of TCP connections accepted so far (refused ones included).
    pub fn connection_count(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Stops the node: the listener and every open connection close.
    pub async fn shutdown(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for StorageNode {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<NodeState>) {
    let mut conns = JoinSet::new();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "storage node accept failed");
                continue;
            }
        };
        while conns.try_join_next().is_some() {}
        let conn = state.connections.fetch_add(1, Ordering::SeqCst);
        if state.refusing.load(Ordering::SeqCst) {
            let _ = stream.set_zero_linger();
            continue;
        }
        // Without TCP_NODELAY a small response (head, then a body write) waits for the client's
        // delayed ACK: ~40 ms per small GET, which would make every small-file figure measure the
        // node instead of the client.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "storage node: TCP_NODELAY failed");
        }
        let reset = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(ResettableStream {
            stream,
            reset: reset.clone(),
        });
        let ctx = Arc::new(handler::Ctx {
            state: state.clone(),
            conn,
            reset,
        });
        conns.spawn(async move {
            let svc = service_fn(move |req| handler::handle(ctx.clone(), req));
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.title_case_headers(true).auto_date_header(false);
            if let Err(e) = builder.serve_connection(io, svc).await {
                tracing::debug!(error = %e, "storage node connection ended with an error");
            }
        });
    }
}

/// A TCP stream that is reset (`SO_LINGER` 0, so closing sends `RST`) instead of closed when its
/// flag was set by a [`Fault::ResetAfter`].
struct ResettableStream {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
