//! The lying node: a raw-TCP storage node (over [`FaultPeer`]) that keeps what it is sent, answers
//! the tracker's `HEAD`, and tells one [`Lie`] to the client's `PUT`s or `GET`s.
//!
//! A connection on which the node lied is watched: another request on it sets
//! [`LiarNode::reused`], which every cell asserts is never set.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use mogile_testkit::storage::{FaultPeer, PeerConn};

/// What the node does instead of answering honestly. Upload lies apply to `PUT` (and, for
/// [`HeadClaimsFullSize`](Self::HeadClaimsFullSize), to the tracker's `HEAD`); download lies to
/// `GET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lie {
    /// Behaves like mogstored.
    Honest,
    // ---- uploads
    /// Reads this many raw body bytes (at most the declared length), keeps them as the file,
    /// answers `200`, and closes.
    EarlyAt(usize),
    /// Reads this many raw body bytes, keeps them as the file, answers `200` keep-alive, then
    /// reads (and drops) the rest of a `Content-Length` body and serves on. The client cannot
    /// tell this from an answer after the whole body once the rest fits in the socket buffers:
    /// the tracker's size check is the defence.
    EarlyThenKeepReading(usize),
    /// Keeps only the first half of the body, answers `201`, and tells the tracker's `HEAD` the
    /// full size.
    HeadClaimsFullSize,
    /// Reads (and keeps) the whole body, then resets the connection before any status line.
    ResetBeforeStatus,
    /// Reads and keeps the whole body, then writes these bytes (an honest answer: the control rows).
    Answer(&'static [u8]),
    // ---- downloads
    /// A correct framed answer followed by more bytes on the wire: a whole second response.
    LongerThanContentLength,
    /// Promises the full length, sends half, closes.
    ShortThenClose,
    /// `HTTP/1.0 200` with no length: half the body of the wrong content, then close.
    UnframedShort,
    /// `HTTP/1.0 200` with no length: the exact file, then close (honest).
    UnframedExact,
    /// `HTTP/1.0 200` with no length: 37 bytes more than the file, of the wrong content.
    UnframedLong,
    /// Chunked: the whole file as one chunk, then a malformed last-chunk line.
    ChunkedBadFinal,
    /// A `206` to a request without `Range` (from byte 100).
    Partial206Unasked,
    /// A `206` to a `Range` request, starting one byte later than asked.
    Partial206WrongStart,
    /// A `206` to a `Range` request with the asked bytes but a total one byte too long.
    Partial206WrongTotal,
    /// The whole file with `200` to a `Range` request (legal HTTP: the facade must skip).
    WholeToRange,
    /// `HTTP/1.0` with `Content-Length`, then close (honest).
    Http10Close,
}

/// The node and what it holds.
#[derive(Debug)]
pub(crate) struct LiarNode {
    pub(crate) peer: FaultPeer,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    lie: Mutex<Lie>,
    files: Mutex<HashMap<String, Bytes>>,
    /// Sizes the node claims to the tracker's `HEAD` instead of the real ones.
    claimed: Mutex<HashMap<String, u64>>,
    reused: AtomicBool,
}

impl LiarNode {
    pub(crate) async fn start() -> Self {
        let state = Arc::new(State {
            lie: Mutex::new(Lie::Honest),
            files: Mutex::new(HashMap::new()),
            claimed: Mutex::new(HashMap::new()),
            reused: AtomicBool::new(false),
        });
        let shared = state.clone();
        let peer = FaultPeer::start(move |conn| serve(conn, shared.clone()))
            .await
            .unwrap();
        Self { peer, state }
    }

    pub(crate) fn set_lie(&self, lie: Lie) {
        *self.state.lie.lock().unwrap() = lie;
    }

    pub(crate) fn put_file(&self, path: &str, data: Bytes) {
        self.state
            .files
            .lock()
            .unwrap()
            .insert(path.to_owned(), data);
    }

    pub(crate) fn file(&self, path: &str) -> Option<Bytes> {
        self.state.files.lock().unwrap().get(path).cloned()
    }

    /// Whether a connection on which the node lied carried another request.
    pub(crate) fn reused(&self) -> bool {
        self.state.reused.load(Ordering::SeqCst)
    }
}

/// What to do with the connection after an answer.
enum Next {
    /// Serve the next request.
    Continue,
    /// A lie was told: any further request on this connection is a reuse.
    Lied,
    /// Close it.
    Close,
    /// Reset it.
    Reset,
}

/// The parts of a request head the node looks at.
struct Head {
    method: String,
    path: String,
    content_length: Option<usize>,
    range: Option<(usize, Option<usize>)>,
}

impl Head {
    fn parse(raw: &[u8]) -> Self {
        let text = String::from_utf8_lossy(raw);
        let mut lines = text.split("\r\n");
        let mut first = lines.next().unwrap_or("").split(' ');
        let method = first.next().unwrap_or("").to_owned();
        let path = first.next().unwrap_or("").to_owned();
        let mut content_length = None;
        let mut range = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => content_length = value.parse().ok(),
                "range" => {
                    let spec = value.strip_prefix("bytes=").unwrap_or("");
                    if let Some((Ok(a), b)) = spec.split_once('-').map(|(a, b)| (a.parse(), b)) {
                        range = Some((a, b.parse().ok()));
                    }
                }
                _ => {}
            }
        }
        Self {
            method,
            path,
            content_length,
            range,
        }
    }
}

async fn serve(mut conn: PeerConn, st: Arc<State>) -> io::Result<()> {
    let mut lied = false;
    loop {
        let Ok(raw) = conn.read_head().await else {
            return Ok(());
        };
        if lied {
            st.reused.store(true, Ordering::SeqCst);
            return Ok(());
        }
        let head = Head::parse(&raw);
        let lie = *st.lie.lock().unwrap();
        let next = match head.method.as_str() {
            "PUT" => put(&mut conn, &st, &head, &raw, lie).await?,
            "HEAD" => head_answer(&mut conn, &st, &head).await?,
            "GET" => get(&mut conn, &st, &head, lie).await?,
            _ => {
                conn.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                    .await?;
                Next::Continue
            }
        };
        match next {
            Next::Continue => {}
            Next::Lied => lied = true,
            Next::Close => return Ok(()),
            Next::Reset => {
                conn.reset();
                return Ok(());
            }
        }
    }
}

const CREATED: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";

async fn put(
    conn: &mut PeerConn,
    st: &State,
    head: &Head,
    raw: &[u8],
    lie: Lie,
) -> io::Result<Next> {
    let store = |data: Vec<u8>| {
        st.files
            .lock()
            .unwrap()
            .insert(head.path.clone(), Bytes::from(data));
    };
    match lie {
        Lie::EarlyAt(at) => {
            // For a chunked body these are raw bytes, framing included: still a prefix the node
            // read before answering.
            let n = head.content_length.map_or(at, |len| at.min(len));
            store(conn.read_exact(n).await?);
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await?;
            Ok(Next::Close)
        }
        Lie::EarlyThenKeepReading(at) => {
            let Some(len) = head.content_length else {
                // A chunked body: no length to read to; behave as the closing early answer.
                store(conn.read_exact(at).await?);
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    .await?;
                return Ok(Next::Close);
            };
            let n = at.min(len);
            store(conn.read_exact(n).await?);
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await?;
            conn.read_exact(len - n).await?;
            Ok(Next::Continue)
        }
        Lie::HeadClaimsFullSize => {
            let body = conn.read_body(raw).await?;
            let full = body.len() as u64;
            store(body[..body.len() / 2].to_vec());
            st.claimed.lock().unwrap().insert(head.path.clone(), full);
            conn.write(CREATED).await?;
            Ok(Next::Continue)
        }
        Lie::ResetBeforeStatus => {
            store(conn.read_body(raw).await?);
            Ok(Next::Reset)
        }
        Lie::Answer(answer) => {
            store(conn.read_body(raw).await?);
            conn.write(answer).await?;
            let closes = answer.windows(17).any(|w| w == b"Connection: close");
            Ok(if closes { Next::Close } else { Next::Continue })
        }
        _ => {
            store(conn.read_body(raw).await?);
            conn.write(CREATED).await?;
            Ok(Next::Continue)
        }
    }
}

async fn head_answer(conn: &mut PeerConn, st: &State, head: &Head) -> io::Result<Next> {
    let real = st.files.lock().unwrap().get(&head.path).map(Bytes::len);
    let claimed = st.claimed.lock().unwrap().get(&head.path).copied();
    match (claimed, real) {
        (Some(n), _) => conn.write(ok_head(n as usize).as_bytes()).await?,
        (None, Some(n)) => conn.write(ok_head(n).as_bytes()).await?,
        (None, None) => conn.write(NOT_FOUND).await?,
    }
    Ok(Next::Continue)
}

const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

fn ok_head(len: usize) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n")
}

/// The honest answer to `head` for `file`: `(status line + headers, body)`.
fn honest(file: &Bytes, head: &Head) -> (String, Bytes) {
    let n = file.len();
    match head.range {
        Some((a, b)) if a < n => {
            let end = b.unwrap_or(n - 1).min(n - 1);
            let body = file.slice(a..=end);
            let h = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {a}-{end}/{n}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            (h, body)
        }
        Some(_) => (
            format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{n}\r\nContent-Length: 0\r\n\r\n"
            ),
            Bytes::new(),
        ),
        None => (ok_head(n), file.clone()),
    }
}

async fn get(conn: &mut PeerConn, st: &State, head: &Head, lie: Lie) -> io::Result<Next> {
    let Some(file) = st.files.lock().unwrap().get(&head.path).cloned() else {
        conn.write(NOT_FOUND).await?;
        return Ok(Next::Continue);
    };
    let n = file.len();
    let (h, body) = honest(&file, head);
    let wrong = |len: usize| Bytes::from(vec![b'H'; len]);
    match lie {
        Lie::LongerThanContentLength => {
            let smuggled = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            let mut out = h.into_bytes();
            out.extend_from_slice(&body);
            out.extend_from_slice(smuggled.as_bytes());
            out.extend_from_slice(&wrong(body.len()));
            conn.write(&out).await?;
            Ok(Next::Lied)
        }
        Lie::ShortThenClose => {
            conn.write(h.as_bytes()).await?;
            conn.write(&body[..body.len() / 2]).await?;
            Ok(Next::Close)
        }
        Lie::UnframedShort | Lie::UnframedExact | Lie::UnframedLong => {
            let data = match lie {
                Lie::UnframedShort => wrong(n / 2),
                Lie::UnframedExact => file,
                _ => wrong(n + 37),
            };
            conn.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
                .await?;
            conn.write(&data).await?;
            Ok(Next::Close)
        }
        Lie::ChunkedBadFinal => {
            let mut out = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{n:x}\r\n")
                .into_bytes();
            out.extend_from_slice(&file);
            out.extend_from_slice(b"\r\nzz\r\n\r\n");
            conn.write(&out).await?;
            Ok(Next::Close)
        }
        Lie::Partial206Unasked if head.range.is_none() => {
            let from = 100.min(n - 1);
            let body = file.slice(from..);
            let h = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {from}-{}/{n}\r\nContent-Length: {}\r\n\r\n",
                n - 1,
                body.len()
            );
            conn.write(h.as_bytes()).await?;
            conn.write(&body).await?;
            Ok(Next::Lied)
        }
        Lie::Partial206WrongStart | Lie::Partial206WrongTotal if head.range.is_some() => {
            let (a, b) = head.range.unwrap_or((0, None));
            let end = b.unwrap_or(n - 1).min(n - 1);
            let (start, total) = if lie == Lie::Partial206WrongStart {
                ((a + 1).min(end), n)
            } else {
                (a, n + 1)
            };
            let body = file.slice(start..=end);
            let h = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{end}/{total}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            conn.write(h.as_bytes()).await?;
            conn.write(&body).await?;
            Ok(Next::Lied)
        }
        Lie::WholeToRange if head.range.is_some() => {
            conn.write(ok_head(n).as_bytes()).await?;
            conn.write(&file).await?;
            Ok(Next::Continue)
        }
        Lie::Http10Close => {
            let h = h.replacen("HTTP/1.1", "HTTP/1.0", 1);
            conn.write(h.as_bytes()).await?;
            conn.write(&body).await?;
            Ok(Next::Close)
        }
        _ => {
            conn.write(h.as_bytes()).await?;
            conn.write(&body).await?;
            Ok(Next::Continue)
        }
    }
}
