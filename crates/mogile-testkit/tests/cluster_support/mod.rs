//! Minimal raw clients for the cluster tests: one tracker line exchange and one HTTP request per
//! connection, written here on plain tokio sockets so the testkit does not depend on the client
//! crates it exists to test.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Generous bound on every exchange, so a broken server fails a test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(10);

/// Escapes a value the way the Perl client does (`protocol.md` 2.3), with the codec's own escaper.
pub fn escape(src: &[u8]) -> String {
    let mut out = bytes::BytesMut::new();
    mogile_protocol::escape(src, &mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

/// Undoes the tracker's escaping, with the codec's own unescaper.
pub fn unescape(src: &str) -> String {
    String::from_utf8(mogile_protocol::unescape(src.as_bytes())).unwrap()
}

/// A tracker reply: `Ok(pairs)` or `Err((code, text))`.
pub type Reply = Result<HashMap<String, String>, (String, String)>;

/// One connection to a tracker.
pub struct Tracker {
    stream: BufReader<TcpStream>,
}

impl Tracker {
    pub async fn connect(addr: &str) -> Self {
        let stream = tokio::time::timeout(LIMIT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect to tracker");
        Self {
            stream: BufReader::new(stream),
        }
    }

    /// Sends `cmd` with the (unescaped) arguments and reads one reply line.
    pub async fn call(&mut self, cmd: &str, args: &[(&str, &[u8])]) -> Reply {
        let args: Vec<String> = args
            .iter()
            .map(|(k, v)| format!("{}={}", escape(k.as_bytes()), escape(v)))
            .collect();
        let line = format!("{cmd} {}\r\n", args.join("&"));
        let mut reply = String::new();
        tokio::time::timeout(LIMIT, async {
            self.stream.get_mut().write_all(line.as_bytes()).await?;
            self.stream.read_line(&mut reply).await
        })
        .await
        .expect("tracker reply timed out")
        .expect("tracker i/o");
        let reply = reply.trim_end_matches(['\r', '\n']);
        if let Some(rest) = reply.strip_prefix("OK ") {
            Ok(rest
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (unescape(k), unescape(v))
                })
                .collect())
        } else if let Some(rest) = reply.strip_prefix("ERR ") {
            let (code, text) = rest.split_once(' ').unwrap_or((rest, ""));
            Err((code.to_owned(), unescape(text)))
        } else {
            panic!("not a tracker reply: {reply:?}");
        }
    }

    /// Like [`call`](Self::call), panicking on `ERR`.
    pub async fn ok(&mut self, cmd: &str, args: &[(&str, &[u8])]) -> HashMap<String, String> {
        match self.call(cmd, args).await {
            Ok(pairs) => pairs,
            Err((code, text)) => panic!("{cmd}: ERR {code} {text}"),
        }
    }

    /// The paths `get_paths` lists for `key`, in order.
    pub async fn paths(&mut self, domain: &str, key: &str) -> Vec<String> {
        let r = self
            .ok(
                "get_paths",
                &[
                    ("domain", domain.as_bytes()),
                    ("key", key.as_bytes()),
                    ("noverify", b"1"),
                    ("pathcount", b"10"),
                ],
            )
            .await;
        let n: usize = r["paths"].parse().unwrap();
        (1..=n).map(|i| r[&format!("path{i}")].clone()).collect()
    }

    /// Stores `body` under `key` the way a client does: create_open, PUT to the first
    /// destination, create_close with the size. Returns the fid and the URL written.
    pub async fn store(
        &mut self,
        domain: &str,
        class: &str,
        key: &str,
        body: &[u8],
    ) -> (u64, String) {
        let open = self
            .ok(
                "create_open",
                &[
                    ("domain", domain.as_bytes()),
                    ("key", key.as_bytes()),
                    ("class", class.as_bytes()),
                ],
            )
            .await;
        let (fid, devid, path) = (&open["fid"], &open["devid"], &open["path"]);
        assert_eq!(http("PUT", path, body).await.0, 200, "PUT {path}");
        let size = body.len().to_string();
        self.ok(
            "create_close",
            &[
                ("domain", domain.as_bytes()),
                ("key", key.as_bytes()),
                ("fid", fid.as_bytes()),
                ("devid", devid.as_bytes()),
                ("path", path.as_bytes()),
                ("size", size.as_bytes()),
            ],
        )
        .await;
        (fid.parse().unwrap(), path.clone())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`); returns the status and body.
pub async fn http(method: &str, url: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = rest.split_at(rest.find('/').expect("URL path"));
    tokio::time::timeout(LIMIT, async {
        let mut stream = TcpStream::connect(authority).await.expect("connect to node");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of response head");
        let head = std::str::from_utf8(&raw[..split]).unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, raw[split + 4..].to_vec())
    })
    .await
    .expect("HTTP exchange timed out")
}
