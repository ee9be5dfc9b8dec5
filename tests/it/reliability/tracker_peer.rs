//! [`HostileTracker`]: a raw TCP "tracker" that answers each request line with what a test's
//! script says, and reports which connections the client closed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mogilefs::lower::protocol::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Wide margin for anything a peer on another task must do (close, answer).
const PEER_MARGIN: Duration = Duration::from_secs(10);

/// One request line a [`HostileTracker`] read.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    /// The command name (`noop` for the pool's probe).
    pub(crate) command: String,
    /// The `callid` argument, if any.
    pub(crate) callid: Option<String>,
    /// How many requests (probes excluded) this tracker read before this one.
    pub(crate) index: u64,
}

impl Req {
    /// `OK <args>` with the request's `callid` echoed, as a 2.61+ tracker answers.
    pub(crate) fn ok(&self, args: &str) -> Act {
        let mut line = format!("OK {args}");
        if let Some(callid) = &self.callid {
            if !args.is_empty() {
                line.push('&');
            }
            line.push_str("callid=");
            line.push_str(callid);
        }
        line.push_str("\r\n");
        Act::Send(line.into_bytes())
    }
}

/// What a [`HostileTracker`] does in answer to a request.
#[derive(Debug, Clone)]
pub(crate) enum Act {
    /// Write these bytes.
    Send(Vec<u8>),
    /// Write these bytes over and over until the client goes away.
    SendEndless(Vec<u8>),
    /// Close the connection.
    Close,
    /// Answer nothing, ever; keep reading until the client closes.
    Hang,
}

/// What a [`HostileTracker`] saw, for tests to wait on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PeerCounts {
    /// Connections accepted.
    pub(crate) accepted: u64,
    /// Connections that ended (the client closed them, or the script did).
    pub(crate) closed: BTreeSet<u64>,
    /// Requests read, probes included.
    pub(crate) lines: u64,
    /// For each request index (probes excluded), the connection it came on.
    pub(crate) conn_of_request: BTreeMap<u64, u64>,
    /// The most connections open at once, as this side saw them (a close is seen when the read
    /// returns, so this may exceed the client's own count by the closes in flight).
    pub(crate) max_open: u64,
}

type Responder = dyn Fn(&Req) -> Vec<Act> + Send + Sync;

/// A raw TCP "tracker" on 127.0.0.1 that answers each request line with what a script says:
/// over-long lines, garbage, wrong `callid`s, absurd counts. The pool's `noop` probe gets a
/// plain `OK` unless the script handles it. Dropping it stops it.
pub(crate) struct HostileTracker {
    addr: SocketAddr,
    counts: watch::Receiver<PeerCounts>,
    bytes_written: Arc<AtomicU64>,
    lines: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

/// Longest request line the hostile tracker reads.
const MAX_REQUEST: usize = 1024 * 1024;

impl HostileTracker {
    /// Starts the tracker with `script` deciding every answer.
    pub(crate) async fn start(script: impl Fn(&Req) -> Vec<Act> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, counts) = watch::channel(PeerCounts::default());
        let tx = Arc::new(tx);
        let bytes_written = Arc::new(AtomicU64::new(0));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Responder> = Arc::new(script);
        let index = Arc::new(AtomicU64::new(0));
        let (written, log) = (bytes_written.clone(), lines.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mut id = 0;
                tx.send_modify(|c| {
                    id = c.accepted;
                    c.accepted += 1;
                    c.max_open = c.max_open.max(c.accepted - c.closed.len() as u64);
                });
                let conn = Conn {
                    id,
                    stream,
                    tx: tx.clone(),
                    script: script.clone(),
                    index: index.clone(),
                    written: written.clone(),
                    log: log.clone(),
                };
                tokio::spawn(conn.run());
            }
        });
        Self {
            addr,
            counts,
            bytes_written,
            lines,
            task,
        }
    }

    /// `127.0.0.1:port`.
    pub(crate) fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The counters now.
    pub(crate) fn counts(&self) -> PeerCounts {
        self.counts.borrow().clone()
    }

    /// Bytes written to clients so far.
    pub(crate) fn bytes_written(&self) -> u64 {
        self.bytes_written.load(Ordering::SeqCst)
    }

    /// The request lines read so far (probes included).
    pub(crate) fn lines(&self) -> Vec<Vec<u8>> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until the connection that carried request `index` has ended: the client dropped
    /// the connection a hostile reply arrived on. Panics after [`PEER_MARGIN`].
    pub(crate) async fn request_conn_closed(&self, index: u64) {
        let mut rx = self.counts.clone();
        let waited = tokio::time::timeout(
            PEER_MARGIN,
            rx.wait_for(|c| {
                c.conn_of_request
                    .get(&index)
                    .is_some_and(|conn| c.closed.contains(conn))
            }),
        )
        .await;
        assert!(
            waited.is_ok(),
            "the client kept the connection of request {index} open: {:?}",
            self.counts()
        );
    }
}

impl Drop for HostileTracker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One accepted connection of a [`HostileTracker`].
struct Conn {
    id: u64,
    stream: TcpStream,
    tx: Arc<watch::Sender<PeerCounts>>,
    script: Arc<Responder>,
    index: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
    log: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Conn {
    async fn run(mut self) {
        let mut buf = Vec::new();
        loop {
            let Some(line) = self.read_line(&mut buf).await else {
                return self.ended();
            };
            self.tx.send_modify(|c| c.lines += 1);
            self.log.lock().unwrap().push(line.clone());
            let parsed = Request::decode_line(&line).ok().flatten();
            let command = parsed
                .as_ref()
                .map(|r| r.command().to_owned())
                .unwrap_or_default();
            let callid = parsed.as_ref().and_then(|r| {
                r.args()
                    .get("callid")
                    .map(|c| String::from_utf8_lossy(c).into_owned())
            });
            let index = if command == "noop" {
                0
            } else {
                let index = self.index.fetch_add(1, Ordering::SeqCst);
                let id = self.id;
                self.tx.send_modify(|c| {
                    c.conn_of_request.insert(index, id);
                });
                index
            };
            let req = Req {
                command,
                callid,
                index,
            };
            let mut acts = (self.script)(&req);
            if acts.is_empty() && req.command == "noop" {
                acts.push(Act::Send(b"OK\r\n".to_vec()));
            }
            for act in acts {
                match act {
                    Act::Send(bytes) => {
                        if self.stream.write_all(&bytes).await.is_err() {
                            return self.ended();
                        }
                        self.written.fetch_add(bytes.len() as u64, Ordering::SeqCst);
                    }
                    Act::SendEndless(bytes) => loop {
                        if self.stream.write_all(&bytes).await.is_err() {
                            return self.ended();
                        }
                        self.written.fetch_add(bytes.len() as u64, Ordering::SeqCst);
                    },
                    // Closed by us: counted as closed so waits on "all closed" still end.
                    Act::Close => {
                        return self.ended();
                    }
                    Act::Hang => {
                        let mut sink = [0u8; 4096];
                        while matches!(self.stream.read(&mut sink).await, Ok(n) if n > 0) {}
                        return self.ended();
                    }
                }
            }
        }
    }

    /// Records that this connection ended.
    fn ended(&self) {
        let id = self.id;
        self.tx.send_modify(|c| {
            c.closed.insert(id);
        });
    }

    /// The next line without its line ending; `None` when the client closed (or sent a line
    /// longer than any client should).
    async fn read_line(&mut self, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
        loop {
            if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(line);
            }
            if buf.len() > MAX_REQUEST {
                return None;
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk).await {
                Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => return None,
            }
        }
    }
}
