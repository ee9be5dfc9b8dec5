//! [`FaultPeer`]: a scripted raw-TCP peer for HTTP behaviour no real server shows.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::node::lock;

/// Largest request head [`PeerConn::read_head`] accepts.
const MAX_HEAD: usize = 1024 * 1024;

/// A TCP peer on `127.0.0.1`, port 0, that runs a script for every connection it accepts.
///
/// The script is an async function of a [`PeerConn`]: read what it wants, write exactly the bytes
/// it wants (wrong lengths, endless bodies, huge headers, HTTP/1.0 replies), stall, close or
/// reset. Every byte read from each connection is recorded ([`received`](Self::received)), so
/// tests can assert the exact request bytes. Dropping the peer stops it and its connections.
#[derive(Debug)]
pub struct FaultPeer {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl FaultPeer {
    /// Starts the peer on the current Tokio runtime; `script` runs once per accepted connection.
    ///
    /// # Errors
    /// Binding the listener failed.
    pub async fn start<F, Fut>(script: F) -> io::Result<Self>
    where
        F: Fn(PeerConn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<()>> + Send + 'static,
    {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(accept_loop(listener, log.clone(), script));
        Ok(Self { addr, log, task })
    }

    /// A well-behaved uploader's peer: reads each whole request (body included, framed by
    /// `Content-Length` or chunked) and answers `201 Created`, keeping the connection open. The
    /// baseline that fault tests compare a misbehaving peer with.
    ///
    /// # Errors
    /// Binding the listener failed.
    pub async fn accepting_uploads() -> io::Result<Self> {
        Self::start(|mut conn| async move {
            loop {
                conn.read_request().await?;
                conn.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
                    .await?;
            }
        })
        .await
    }

    /// The address the peer listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of `path` (which starts with `/`) on this peer.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Number of connections accepted so far.
    pub fn connection_count(&self) -> usize {
        lock(&self.log).len()
    }

    /// The bytes read so far from connection `index` (0 = first accepted); empty if none.
    pub fn received(&self, index: usize) -> Vec<u8> {
        lock(&self.log).get(index).cloned().unwrap_or_default()
    }
}

impl Drop for FaultPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop<F, Fut>(listener: TcpListener, log: Arc<Mutex<Vec<Vec<u8>>>>, script: F)
where
    F: Fn(PeerConn) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let mut conns = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while conns.try_join_next().is_some() {}
        let index = {
            let mut l = lock(&log);
            l.push(Vec::new());
            l.len() - 1
        };
        let conn = PeerConn {
            stream,
            buf: BytesMut::new(),
            log: log.clone(),
            index,
        };
        let fut = script(conn);
        conns.spawn(async move {
            if let Err(e) = fut.await {
                tracing::debug!(error = %e, "fault peer script ended with an error");
            }
        });
    }
}

/// One accepted connection of a [`FaultPeer`], with helpers for scripts.
#[derive(Debug)]
pub struct PeerConn {
    stream: TcpStream,
    buf: BytesMut,
    log: Arc<Mutex<Vec<Vec<u8>>>>,
    index: usize,
}

impl PeerConn {
    /// Reads more bytes into the buffer; `UnexpectedEof` if the client closed.
    async fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        if let Some(l) = lock(&self.log).get_mut(self.index) {
            l.extend_from_slice(&chunk[..n]);
        }
        Ok(())
    }

    /// Reads a request head, up to and including the blank line.
    ///
    /// # Errors
    /// The client closed first, or the head exceeds 1 MiB.
    pub async fn read_head(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                return Ok(self.buf.split_to(pos + 4).to_vec());
            }
            if self.buf.len() > MAX_HEAD {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request head too long",
                ));
            }
            self.fill().await?;
        }
    }

    /// Reads exactly `n` bytes.
    ///
    /// # Errors
    /// The client closed first.
    pub async fn read_exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            self.fill().await?;
        }
        Ok(self.buf.split_to(n).to_vec())
    }

    /// Reads a request: its head and its body, framed by `Content-Length` or chunked encoding
    /// (decoded), or no body.
    ///
    /// # Errors
    /// The client closed first, or the framing is malformed.
    pub async fn read_request(&mut self) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let head = self.read_head().await?;
        let body = self.read_body(&head).await?;
        Ok((head, body))
    }

    /// Reads the body of the request whose head [`read_head`](Self::read_head) returned: framed by
    /// `Content-Length` or chunked encoding (decoded), or none.
    ///
    /// # Errors
    /// The client closed first, or the framing is malformed.
    pub async fn read_body(&mut self, head: &[u8]) -> io::Result<Vec<u8>> {
        let text = String::from_utf8_lossy(head).to_ascii_lowercase();
        let header = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
            return self.read_chunked().await;
        }
        let len = header("content-length:").and_then(|v| v.parse::<usize>().ok());
        match len {
            Some(n) => self.read_exact(n).await,
            None => Ok(Vec::new()),
        }
    }

    async fn read_line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.split_to(pos).to_vec();
                self.buf.advance(2);
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    async fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad chunk size");
        let mut body = Vec::new();
        loop {
            let line = self.read_line().await?;
            let size = String::from_utf8_lossy(&line);
            let size = size.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16).map_err(|_| bad())?;
            if size == 0 {
                // Trailers, then the final blank line.
                while !self.read_line().await?.is_empty() {}
                return Ok(body);
            }
            body.extend(self.read_exact(size).await?);
            if !self.read_line().await?.is_empty() {
                return Err(bad());
            }
        }
    }

    /// Writes `bytes` exactly as given.
    ///
    /// # Errors
    /// The connection failed.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Writes `chunk` over and over until the client goes away (an endless body).
    ///
    /// # Errors
    /// Always, eventually: the error that ended the writing.
    pub async fn write_endless(&mut self, chunk: &[u8]) -> io::Result<()> {
        loop {
            self.stream.write_all(chunk).await?;
        }
    }

    /// Reads and discards until the client closes (or the connection fails).
    pub async fn drain_until_closed(&mut self) {
        while self.fill().await.is_ok() {}
    }

    /// Never returns and reads nothing: the client's writes stall once buffers fill, and its
    /// reads see nothing. The connection ends when the peer is dropped.
    pub async fn stall(&mut self) -> io::Result<()> {
        std::future::pending().await
    }

    /// Resets the connection (`RST`) instead of closing it.
    pub fn reset(self) {
        let _ = self.stream.set_zero_linger();
    }
}
