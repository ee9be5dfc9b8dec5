//! Shared helpers of the `tracker_*` tests: a raw line client, reply comparison with pairs as a set,
//! a minimal in-memory storage node answering HEAD/GET, and a cluster like the captures'.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mogile_testkit::tracker::{DeviceSpec, FakeTracker, HostSpec, Model};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A raw tracker connection.
#[derive(Debug)]
pub struct Conn {
    io: BufReader<TcpStream>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Self {
        Self {
            io: BufReader::new(TcpStream::connect(addr).await.expect("connect")),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.io.get_mut().write_all(bytes).await.expect("write");
    }

    /// One reply line, `None` at EOF.
    pub async fn line(&mut self) -> Option<Vec<u8>> {
        let mut line = Vec::new();
        let n = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            self.io.read_until(b'\n', &mut line),
        )
        .await
        .expect("reply within 10 s")
        .ok()?;
        (n > 0).then_some(line)
    }

    /// Sends `request` + `\r\n` and returns the reply line as text.
    pub async fn req(&mut self, request: &str) -> String {
        self.send(format!("{request}\r\n").as_bytes()).await;
        String::from_utf8(self.line().await.expect("a reply")).expect("utf-8 reply")
    }

    /// Sends `request` and asserts the reply equals `expected` (`OK` pairs compared as a set).
    pub async fn expect(&mut self, request: &str, expected: &str) {
        let got = self.req(request).await;
        assert_reply(&got, expected, request);
    }
}

/// Sorted pairs of an `OK` line; any other line as is.
pub fn canonical(line: &str) -> Vec<String> {
    let line = line.trim_end_matches("\r\n");
    match line.strip_prefix("OK ") {
        Some(args) => {
            let mut pairs: Vec<String> = args
                .split('&')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            pairs.sort();
            pairs.insert(0, "OK".to_owned());
            pairs
        }
        None => vec![line.to_owned()],
    }
}

pub fn assert_reply(got: &str, expected: &str, request: &str) {
    assert!(
        got.ends_with("\r\n"),
        "reply to {request:?} must end in CRLF: {got:?}"
    );
    assert_eq!(canonical(got), canonical(expected), "reply to {request:?}");
}

/// Parses the pairs of an `OK` line (escaped values) into a map.
pub fn pairs(line: &str) -> HashMap<String, String> {
    let args = line
        .trim_end_matches("\r\n")
        .strip_prefix("OK ")
        .unwrap_or_else(|| panic!("not OK: {line}"));
    args.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// A minimal storage node: an in-memory map of path -> body, answering HEAD and GET (404 otherwise).
#[derive(Debug)]
pub struct Storage {
    pub addr: SocketAddr,
    pub files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl Drop for Storage {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Storage {
    pub async fn start(ip: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind storage");
        let addr = listener.local_addr().expect("addr");
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let served = Arc::clone(&files);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let files = Arc::clone(&served);
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let body = files.lock().unwrap().get(req.uri().path()).cloned();
                        async move {
                            let resp = match body {
                                Some(b) if req.method() == hyper::Method::HEAD => {
                                    hyper::Response::builder()
                                        .header("content-length", b.len())
                                        .body(Full::new(Bytes::new()))
                                }
                                Some(b) => {
                                    hyper::Response::builder().body(Full::new(Bytes::from(b)))
                                }
                                None => hyper::Response::builder()
                                    .status(404)
                                    .body(Full::new(Bytes::new())),
                            };
                            Ok::<_, Infallible>(resp.unwrap())
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self { addr, files, task }
    }

    /// Stores `body` under the path of `url`.
    pub fn put(&self, url: &str, body: &[u8]) {
        let path = url
            .splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{p}"))
            .expect("url path");
        self.files.lock().unwrap().insert(path, body.to_vec());
    }

    pub fn remove(&self, url: &str) {
        let path = url
            .splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{p}"))
            .expect("url path");
        self.files.lock().unwrap().remove(&path);
    }
}

/// The captures' cluster, one host: storeA on a fake storage node with devices 1 and 2 (or only 1),
/// domain `testdom`, class `c2` (mindevcount 2).
#[derive(Debug)]
pub struct Cluster {
    pub model: Arc<Model>,
    pub tracker: FakeTracker,
    pub storage: Storage,
}

impl Cluster {
    pub async fn start(devices: &[u64]) -> Self {
        let storage = Storage::start("127.0.0.1").await;
        let model = Arc::new(Model::new());
        let host = model
            .add_host(HostSpec::new("storeA", "127.0.0.1", storage.addr.port()))
            .unwrap();
        for &d in devices {
            model.add_device(DeviceSpec::new(d, host)).unwrap();
        }
        model.create_domain("testdom").unwrap();
        model.create_class("testdom", "c2", 2, None).unwrap();
        let tracker = FakeTracker::start(Arc::clone(&model)).await.unwrap();
        Self {
            model,
            tracker,
            storage,
        }
    }

    pub async fn conn(&self) -> Conn {
        Conn::open(self.tracker.addr()).await
    }

    /// `http://127.0.0.1:<port>/dev<devid>/<fid path>`.
    pub fn url(&self, devid: u64, fid: u64) -> String {
        let n = format!("{fid:010}");
        format!(
            "http://127.0.0.1:{}/dev{devid}/{}/{}/{}/{n}.fid",
            self.storage.addr.port(),
            &n[..1],
            &n[1..4],
            &n[4..7]
        )
    }

    /// Escaped the way the capture tool sent paths.
    pub fn url_arg(&self, devid: u64, fid: u64) -> String {
        self.url(devid, fid).replace(':', "%3A").replace('/', "%2F")
    }

    /// create_open + PUT + create_close; returns the fid.
    pub async fn store(&self, conn: &mut Conn, key: &str, class: Option<&str>, body: &[u8]) -> u64 {
        let class = class.map(|c| format!("&class={c}")).unwrap_or_default();
        let open = conn
            .req(&format!("create_open domain=testdom&key={key}{class}"))
            .await;
        let p = pairs(&open);
        let (fid, devid): (u64, u64) = (p["fid"].parse().unwrap(), p["devid"].parse().unwrap());
        self.storage.put(&p["path"], body);
        let close = conn
            .req(&format!(
                "create_close domain=testdom&key={key}&fid={fid}&devid={devid}&path={}&size={}",
                self.url_arg(devid, fid),
                body.len()
            ))
            .await;
        assert_eq!(close, "OK \r\n", "close of {key}");
        fid
    }
}
