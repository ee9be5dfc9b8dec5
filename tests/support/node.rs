//! [`FaultNode`]: a small in-memory storage node whose PUT and GET answers can be switched to the
//! failures the facade must survive (refused, 500, stalled, dying mid-body, ignoring `Range`,
//! truncated). It speaks just enough HTTP/1.1 for `mogile-storage`: `Content-Length` and chunked
//! request bodies, `Range: bytes=a-[b]`, one request per connection (`Connection: close`).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// What the node does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// Serve it.
    #[default]
    Normal,
    /// Reset the connection at once (the nearest a bound listener gets to "refused").
    Refuse,
    /// Read the request, answer `500`.
    Error500,
    /// Read the request head and never answer.
    Stall,
    /// GET: promise the whole body, send half of it, reset the connection.
    DieMidBody,
    /// GET: answer `200` with the whole file whatever the `Range`.
    IgnoreRange,
    /// GET: serve only the first half of the file, as if that were all of it; PUT: keep only the
    /// first half of the body and answer `200`.
    Truncated,
}

/// A behaviour, for the next `times` requests (`None`: until switched again).
#[derive(Debug, Clone, Copy, Default)]
struct Switch {
    behaviour: Behaviour,
    times: Option<u64>,
}

impl Switch {
    /// The behaviour for one request, counting it down.
    fn take(&mut self) -> Behaviour {
        match &mut self.times {
            None => self.behaviour,
            Some(0) => Behaviour::Normal,
            Some(n) => {
                *n -= 1;
                self.behaviour
            }
        }
    }
}

#[derive(Debug, Default)]
struct State {
    files: Mutex<HashMap<String, Bytes>>,
    put: Mutex<Switch>,
    get: Mutex<Switch>,
    ranges: Mutex<Vec<Option<String>>>,
    puts: AtomicU64,
    gets: AtomicU64,
}

/// A running node; stops when dropped.
#[derive(Debug)]
pub struct FaultNode {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl FaultNode {
    /// Starts a node on a loopback address (`127.0.0.1`, `127.0.0.2`, ...), port 0.
    pub async fn start(ip: &str) -> io::Result<Self> {
        let listener = TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let shared = state.clone();
        let task = tokio::spawn(async move {
            // Owning the connections here means dropping the node stops them all.
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        conns.spawn(serve(stream, shared.clone()));
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Ok(Self { addr, state, task })
    }

    /// The node's address.
    pub fn ip(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The node's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Switches how PUTs are answered.
    pub fn set_put(&self, behaviour: Behaviour) {
        *self.state.put.lock().unwrap() = Switch {
            behaviour,
            times: None,
        };
    }

    /// Answers the next `times` PUTs so, then normally.
    pub fn set_put_times(&self, behaviour: Behaviour, times: u64) {
        *self.state.put.lock().unwrap() = Switch {
            behaviour,
            times: Some(times),
        };
    }

    /// Switches how GETs are answered.
    pub fn set_get(&self, behaviour: Behaviour) {
        *self.state.get.lock().unwrap() = Switch {
            behaviour,
            times: None,
        };
    }

    /// The `Range` header of every GET received, in order.
    pub fn get_ranges(&self) -> Vec<Option<String>> {
        self.state.ranges.lock().unwrap().clone()
    }

    /// Flips the first byte of the file at a URL path (same length: only a checksum tells).
    pub fn corrupt(&self, path: &str) {
        let mut files = self.state.files.lock().unwrap();
        if let Some(f) = files.get_mut(path) {
            let mut v = f.to_vec();
            if let Some(b) = v.first_mut() {
                *b ^= 0xff;
            }
            *f = Bytes::from(v);
        }
    }

    /// Places a file at a URL path (`/dev1/0/000/000/0000000001.fid`).
    pub fn insert(&self, path: &str, data: Bytes) {
        self.state
            .files
            .lock()
            .unwrap()
            .insert(path.to_owned(), data);
    }

    /// The file at a URL path.
    pub fn file(&self, path: &str) -> Option<Bytes> {
        self.state.files.lock().unwrap().get(path).cloned()
    }

    /// Deletes the file at a URL path; whether it existed.
    pub fn remove(&self, path: &str) -> bool {
        self.state.files.lock().unwrap().remove(path).is_some()
    }

    /// How many files the node holds.
    pub fn file_count(&self) -> usize {
        self.state.files.lock().unwrap().len()
    }

    /// PUT requests received (any outcome).
    pub fn puts(&self) -> u64 {
        self.state.puts.load(Ordering::SeqCst)
    }

    /// GET requests received (any outcome).
    pub fn gets(&self) -> u64 {
        self.state.gets.load(Ordering::SeqCst)
    }
}

impl Drop for FaultNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The path part of an absolute URL or a request target.
pub fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

async fn serve(stream: TcpStream, state: Arc<State>) {
    let _ = serve_one(stream, &state).await;
}

async fn serve_one(stream: TcpStream, state: &State) -> io::Result<()> {
    let mut conn = BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let n = conn.read_until(b'\n', &mut head).await?;
        if n == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        first.next().unwrap_or_default().to_owned(),
        first.next().unwrap_or_default(),
    );
    let path = url_path(target).to_owned();
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let behaviour = match method.as_str() {
        "PUT" => {
            state.puts.fetch_add(1, Ordering::SeqCst);
            state.put.lock().unwrap().take()
        }
        "GET" => {
            state.gets.fetch_add(1, Ordering::SeqCst);
            state.ranges.lock().unwrap().push(header("range"));
            state.get.lock().unwrap().take()
        }
        _ => Behaviour::Normal,
    };
    match behaviour {
        Behaviour::Refuse => return reset(conn.into_inner()),
        Behaviour::Stall => return std::future::pending().await,
        _ => {}
    }
    match method.as_str() {
        "PUT" => {
            let body =
                if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
                    read_chunked(&mut conn).await?
                } else {
                    let len: usize = header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let mut buf = vec![0; len];
                    conn.read_exact(&mut buf).await?;
                    buf
                };
            if behaviour == Behaviour::Error500 {
                return respond(conn.into_inner(), "500 Internal Server Error", &[], b"boom").await;
            }
            // A truncated PUT: the node keeps half and says 200 (the tracker's size check catches it).
            let body = if behaviour == Behaviour::Truncated {
                body[..body.len() / 2].to_vec()
            } else {
                body
            };
            state.files.lock().unwrap().insert(path, Bytes::from(body));
            respond(conn.into_inner(), "200 OK", &[], b"<h1>200 - OK</h1>\n").await
        }
        "HEAD" | "GET" => {
            let Some(file) = state.files.lock().unwrap().get(&path).cloned() else {
                return respond(conn.into_inner(), "404 Not Found", &[], b"not found").await;
            };
            let head_only = method == "HEAD";
            let mut stream = conn.into_inner();
            match behaviour {
                Behaviour::Error500 => {
                    respond(stream, "500 Internal Server Error", &[], b"boom").await
                }
                Behaviour::DieMidBody => {
                    let h = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        file.len()
                    );
                    stream.write_all(h.as_bytes()).await?;
                    stream.write_all(&file[..file.len() / 2]).await?;
                    stream.flush().await?;
                    reset(stream)
                }
                Behaviour::Truncated => {
                    let half = file.slice(..file.len() / 2);
                    send(stream, "200 OK", &[], &half, head_only).await
                }
                Behaviour::IgnoreRange => send(stream, "200 OK", &[], &file, head_only).await,
                _ => match header("range")
                    .as_deref()
                    .and_then(|r| parse_range(r, file.len() as u64))
                {
                    None => send(stream, "200 OK", &[], &file, head_only).await,
                    Some(Err(())) => {
                        let cr = format!("bytes */{}", file.len());
                        send(
                            stream,
                            "416 Range Not Satisfiable",
                            &[("Content-Range", &cr)],
                            b"",
                            head_only,
                        )
                        .await
                    }
                    Some(Ok((a, b))) => {
                        let cr = format!("bytes {a}-{b}/{}", file.len());
                        let part = file.slice(a as usize..=b as usize);
                        send(
                            stream,
                            "206 Partial Content",
                            &[("Content-Range", &cr)],
                            &part,
                            head_only,
                        )
                        .await
                    }
                },
            }
        }
        "DELETE" => {
            let existed = state.files.lock().unwrap().remove(&path).is_some();
            let status = if existed {
                "204 No Content"
            } else {
                "404 Not Found"
            };
            respond(conn.into_inner(), status, &[], b"").await
        }
        _ => respond(conn.into_inner(), "400 Bad Request", &[], b"").await,
    }
}

/// `bytes=a-` or `bytes=a-b` against a file of `total` bytes: `Some(Ok((first, last)))`,
/// `Some(Err(()))` for an unsatisfiable range, `None` for anything else (served whole, as mogstored).
fn parse_range(value: &str, total: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let a: u64 = a.parse().ok()?;
    let b: u64 = if b.is_empty() {
        total.saturating_sub(1)
    } else {
        b.parse().ok()?
    };
    if a >= total || b < a {
        return Some(Err(()));
    }
    Some(Ok((a, b.min(total - 1))))
}

async fn read_chunked(conn: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).await?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                conn.read_line(&mut line).await?;
                if line == "\r\n" || line.is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        conn.read_exact(&mut body[start..]).await?;
        let mut crlf = [0; 2];
        conn.read_exact(&mut crlf).await?;
    }
}

async fn send(
    stream: TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let mut h = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        h.push_str(&format!("{n}: {v}\r\n"));
    }
    h.push_str("\r\n");
    let mut stream = stream;
    stream.write_all(h.as_bytes()).await?;
    if !head_only {
        stream.write_all(body).await?;
    }
    stream.shutdown().await
}

async fn respond(
    stream: TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    send(stream, status, headers, body, false).await
}

/// Closes with RST rather than FIN.
fn reset(stream: TcpStream) -> io::Result<()> {
    // A zero linger sends RST at once; it cannot block the thread (the deprecation is about
    // non-zero lingers).
    #[allow(deprecated)]
    stream.set_linger(Some(std::time::Duration::ZERO))?;
    drop(stream);
    Ok(())
}
