//! The raw baselines' plumbing: a tracker socket that writes bytes and reads a line, and a
//! hand-written keep-alive HTTP/1.1 connection. Deliberately minimal: no timeouts, no pooling, no
//! failover, no checks beyond what is needed to know the exchange succeeded.

use bytes::BytesMut;
use mogile_protocol::{Command, RequestLine, Response, ResponseDecoder};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A tracker socket with Nagle off, as the client's connections are.
async fn tracker_socket(addr: &str) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(stream)
}

/// One tracker connection.
#[derive(Debug)]
pub(crate) struct LineConn {
    conn: BufReader<TcpStream>,
    line: Vec<u8>,
}

impl LineConn {
    pub(crate) async fn connect(addr: &str) -> Result<Self, String> {
        let stream = tracker_socket(addr).await?;
        Ok(Self {
            conn: BufReader::new(stream),
            line: Vec::with_capacity(512),
        })
    }

    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.conn
            .get_mut()
            .write_all(bytes)
            .await
            .map_err(|e| format!("tracker write: {e}"))
    }

    /// Reads one reply line (kept until the next call).
    pub(crate) async fn read_line(&mut self) -> Result<&[u8], String> {
        self.line.clear();
        let n = self
            .conn
            .read_until(b'\n', &mut self.line)
            .await
            .map_err(|e| format!("tracker read: {e}"))?;
        if n == 0 {
            return Err("tracker closed the connection".to_owned());
        }
        Ok(&self.line)
    }

    /// Reads one reply line and decodes it as `C`'s answer.
    pub(crate) async fn read_reply<C: Command>(&mut self) -> Result<C::Output, String> {
        let line = self.read_line().await?;
        let reply = Response::decode_line(line).map_err(|e| format!("{}: {e}", C::NAME))?;
        C::parse_reply(reply).map_err(|e| format!("{}: {e}", C::NAME))
    }
}

/// Part 1's third side, the typed floor: a tracker socket of its own, as the raw loop's, that does
/// per request exactly the protocol's work the client does (the command encoded with its
/// `callid`, the reply decoded into reused arguments, its `callid` checked, the typed output
/// parsed) and nothing of the client's machinery: no pool, no timeout, no failover, no span.
/// What it costs over the raw loop is the floor for any typed, checked client of this protocol.
#[derive(Debug)]
pub(crate) struct TypedConn {
    stream: TcpStream,
    buf: BytesMut,
    decoder: ResponseDecoder,
    /// Whether a reply on this connection echoed its `callid`: after one has, every reply must
    /// (the client's rule; trackers before 2.61 never echo).
    echoes: bool,
}

/// Free space reserved before each read, as the client's connections do.
const TYPED_READ_CHUNK: usize = 8 * 1024;

impl TypedConn {
    pub(crate) async fn connect(addr: &str) -> Result<Self, String> {
        let stream = tracker_socket(addr).await?;
        Ok(Self {
            stream,
            buf: BytesMut::with_capacity(4096),
            decoder: ResponseDecoder::new(),
            echoes: false,
        })
    }

    /// Sends `cmd` with `callid`, reads its reply, checks the echo and parses the output.
    pub(crate) async fn exchange<C: Command>(
        &mut self,
        cmd: &C,
        callid: u64,
    ) -> Result<(), String> {
        let mut line = RequestLine::of(cmd);
        line.set_callid(callid);
        self.stream
            .write_all(line.bytes())
            .await
            .map_err(|e| format!("tracker write: {e}"))?;
        let reply = loop {
            if let Some(reply) = self
                .decoder
                .decode(&mut self.buf)
                .map_err(|e| e.to_string())?
            {
                break reply;
            }
            self.buf.reserve(TYPED_READ_CHUNK);
            let n = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| format!("tracker read: {e}"))?;
            if n == 0 {
                return Err("tracker closed the connection".to_owned());
            }
        };
        let in_step = match reply.callid() {
            Some(echoed) => echoed == line.callid(),
            None => !self.echoes,
        };
        if !in_step {
            return Err(format!("{}: the reply answers another request", C::NAME));
        }
        self.echoes |= reply.callid().is_some();
        match reply {
            Response::Ok(args) => {
                let output = C::parse_ok(&args).map_err(|e| format!("{}: {e}", C::NAME))?;
                self.decoder.recycle(args);
                drop(output);
                Ok(())
            }
            Response::Err(e) => Err(format!("{}: {e:?}", C::NAME)),
        }
    }
}

/// The first `callid` of the raw baselines' requests: six digits, the length the client's own
/// (a counter from 1 for each figure's client) reaches within the rounds of a tracker figure.
pub(crate) const RAW_CALLID_BASE: u64 = 100_000;

/// The encoded request line of a command, with `callid` as its last argument. The client adds
/// one to every request and the tracker echoes it, so a raw request without one would cost the
/// tracker less (no argument to keep and echo) and get a shorter answer than the client's.
pub(crate) fn request_line<C: Command>(cmd: &C, callid: u64) -> Vec<u8> {
    let mut line = RequestLine::new(&cmd.request());
    line.set_callid(callid);
    line.bytes().to_vec()
}

/// `http://host:port/path` -> (`host:port`, `/path`).
pub(crate) fn split_url(url: &str) -> Result<(&str, &str), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let slash = rest.find('/').ok_or_else(|| format!("no path in {url}"))?;
    Ok(rest.split_at(slash))
}

/// One keep-alive HTTP/1.1 connection to a storage node.
#[derive(Debug)]
pub(crate) struct HttpConn {
    host: String,
    conn: BufReader<TcpStream>,
    head: String,
    line: String,
}

impl HttpConn {
    async fn connect(host: &str) -> Result<Self, String> {
        let stream = TcpStream::connect(host)
            .await
            .map_err(|e| format!("connect {host}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Self {
            host: host.to_owned(),
            conn: BufReader::with_capacity(64 * 1024, stream),
            head: String::with_capacity(256),
            line: String::with_capacity(128),
        })
    }

    /// Reuses `slot` when it is connected to `host`, otherwise connects.
    pub(crate) async fn to<'a>(
        slot: &'a mut Option<Self>,
        host: &str,
    ) -> Result<&'a mut Self, String> {
        if slot.as_ref().is_none_or(|c| c.host != host) {
            *slot = Some(Self::connect(host).await?);
        }
        slot.as_mut().ok_or_else(|| "no connection".to_owned())
    }

    /// `PUT path` with `body`; the status must be 2xx.
    pub(crate) async fn put(&mut self, path: &str, body: &[u8]) -> Result<(), String> {
        self.head.clear();
        self.head.push_str("PUT ");
        self.head.push_str(path);
        self.head.push_str(" HTTP/1.1\r\nHost: ");
        self.head.push_str(&self.host);
        self.head.push_str("\r\nContent-Length: ");
        self.head.push_str(&body.len().to_string());
        self.head.push_str("\r\n\r\n");
        // One write for head and body, as hyper's vectored write does: two writes would cost the
        // node an extra read and wake-up per request.
        let mut out = Vec::with_capacity(self.head.len() + body.len());
        out.extend_from_slice(self.head.as_bytes());
        out.extend_from_slice(body);
        self.conn
            .get_mut()
            .write_all(&out)
            .await
            .map_err(|e| e.to_string())?;
        let len = self.read_head().await?;
        let mut sink = vec![0u8; len];
        self.conn
            .read_exact(&mut sink)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// `GET path` into `body` (cleared first); the status must be 2xx.
    pub(crate) async fn get(&mut self, path: &str, body: &mut Vec<u8>) -> Result<(), String> {
        self.head.clear();
        self.head.push_str("GET ");
        self.head.push_str(path);
        self.head.push_str(" HTTP/1.1\r\nHost: ");
        self.head.push_str(&self.host);
        self.head.push_str("\r\n\r\n");
        self.conn
            .get_mut()
            .write_all(self.head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let len = self.read_head().await?;
        body.clear();
        body.resize(len, 0);
        self.conn
            .read_exact(body)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Reads a response head; returns the `Content-Length`.
    async fn read_head(&mut self) -> Result<usize, String> {
        let mut len = None;
        let mut first = true;
        loop {
            self.line.clear();
            let n = self
                .conn
                .read_line(&mut self.line)
                .await
                .map_err(|e| format!("HTTP read: {e}"))?;
            if n == 0 {
                return Err("storage node closed the connection".to_owned());
            }
            let line = self.line.trim_end();
            if first {
                first = false;
                let status = line.split(' ').nth(1).unwrap_or_default();
                if !status.starts_with('2') {
                    return Err(format!("storage node answered {line:?}"));
                }
                continue;
            }
            if line.is_empty() {
                return len.ok_or_else(|| "response without Content-Length".to_owned());
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                len = Some(
                    value
                        .trim()
                        .parse()
                        .map_err(|_| "bad Content-Length".to_owned())?,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:7500/dev1/0/000/000/0000000001.fid").unwrap(),
            ("127.0.0.1:7500", "/dev1/0/000/000/0000000001.fid")
        );
        assert!(split_url("https://x/y").is_err());
        assert!(split_url("http://x").is_err());
    }

    #[test]
    fn raw_request_lines_carry_a_callid_as_the_clients_do() {
        let line = request_line(&mogile_protocol::FileInfo::new("d", "a b"), 100_001);
        assert_eq!(line, b"file_info domain=d&key=a+b&callid=100001\r\n");
    }
}
