//! Shared helpers: fake trackers and clients with deterministic callids.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use mogile_protocol::{CreateClose, CreateOpen};
use mogile_testkit::tracker::{DeviceSpec, FakeTracker, HostSpec, Model};
use mogile_tracker::{PoolSettings, TrackerClient, TrackerClientBuilder, TrackerConfig};

/// A model with domain `testdom`.
pub fn model() -> Arc<Model> {
    let model = Arc::new(Model::new());
    model.create_domain("testdom").unwrap();
    model
}

/// `n` fake trackers sharing one model.
pub async fn trackers(model: &Arc<Model>, n: usize) -> Vec<FakeTracker> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(FakeTracker::start(Arc::clone(model)).await.unwrap());
    }
    out
}

/// The settings of [`builder`]: defaults, but no idle probes (so the wire log holds only the
/// test's requests). Tests change fields on top of it.
pub fn config() -> TrackerConfig {
    TrackerConfig {
        pool: PoolSettings {
            probe_idle_after: Duration::from_secs(3600),
            ..PoolSettings::default()
        },
        ..TrackerConfig::default()
    }
}

/// A client builder for `trackers` with callids from 1, a fixed seed, and [`config`].
pub fn builder(trackers: &[&FakeTracker]) -> TrackerClientBuilder {
    TrackerClient::builder()
        .trackers(trackers.iter().map(|t| t.addr().to_string()))
        .callid_start(1)
        .rng_seed(7)
        .config(config())
}

/// The request lines a tracker received, as text, without probes (`noop` without a callid).
pub fn requests(t: &FakeTracker) -> Vec<String> {
    t.wire_log()
        .into_iter()
        .map(|l| String::from_utf8(l.bytes).unwrap())
        .filter(|l| l != "noop\r\n" && l != "noop \r\n")
        .collect()
}

/// Connections that carried at least one request (probe-only connections excluded).
pub fn request_connections(t: &FakeTracker) -> std::collections::BTreeSet<u64> {
    t.wire_log()
        .into_iter()
        .filter(|l| l.bytes != b"noop\r\n")
        .map(|l| l.connection)
        .collect()
}

/// Whether the client currently sees `t` as active.
pub fn is_active(client: &TrackerClient, t: &FakeTracker) -> bool {
    let addr = t.addr().to_string();
    client
        .status()
        .endpoints
        .iter()
        .find(|e| e.endpoint.as_str() == addr)
        .map(|e| e.active)
        .unwrap()
}

/// A stand-in storage node on `127.0.0.1:0` that answers every HTTP request `200` with an empty
/// body (what the fake tracker's HEAD in `create_close` needs). Aborted on drop.
#[derive(Debug)]
pub struct StorageStub {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StorageStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StorageStub {
    pub async fn start() -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let reply =
                        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    let _ = s.write_all(reply).await;
                });
            }
        });
        Self { port, task }
    }
}

/// `n` fake trackers over one model with a host (a [`StorageStub`]) and device 1, so that files
/// can be stored ([`store`]).
pub async fn cluster(n: usize) -> (Vec<FakeTracker>, StorageStub) {
    let model = model();
    let storage = StorageStub::start().await;
    let host = model
        .add_host(HostSpec::new("storeA", "127.0.0.1", storage.port))
        .unwrap();
    model.add_device(DeviceSpec::new(1, host)).unwrap();
    (trackers(&model, n).await, storage)
}

/// Stores `key` (empty) in `testdom` through `client`; needs a [`cluster`].
pub async fn store(client: &TrackerClient, key: &str) {
    let open = client
        .create_open(CreateOpen::new("testdom").key(key))
        .await
        .unwrap();
    let dest = &open.destinations[0];
    client
        .create_close(
            CreateClose::new("testdom", open.fid, dest.devid, dest.path.clone())
                .key(key)
                .size(0),
        )
        .await
        .unwrap();
}
