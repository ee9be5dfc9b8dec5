//! Part 2: small-file store and fetch through the `mogilefs` facade, against a raw baseline that
//! does the same wire work by hand: `create_open` / PUT / `create_close`, and `get_paths` and
//! `file_info` / GET. Like the facade, the raw fetch writes `get_paths` and `file_info` back to
//! back on one tracker socket and reads the two replies (the pipelined pair a 2.73 tracker
//! answers one after the other); each worker has one tracker socket and one keep-alive HTTP
//! connection. `--raw-pair two` instead sends the two requests at the same time on two sockets
//! (how the facade fetched before issue 14), to compare the two wire shapes.
//!
//! A diagnostic, not on the page: `--raw-layers tracker|storage|both` has the baseline do its
//! tracker half, its HTTP half or both through the library's own lower layers
//! (`TrackerClient`, `StorageClient`, configured as the facade's) instead of by hand. Each
//! layer's share of the facade's CPU over the raw baseline is then the baseline's rise, and
//! what the facade adds on top of both layers is the ratio with `both`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mogile_protocol::{CreateClose, CreateOpen, FileInfo, GetPaths, StoragePath};
use mogilefs::lower::storage::{Payload, StorageClient, StorageGetOptions, StoragePutOptions};
use mogilefs::lower::tracker::TrackerClient;
use mogilefs::{Client, PoolSettings, StorageConfig, TrackerConfig};
use tokio::sync::Mutex;

use super::client::Plan;
use super::measure::{Round, Summary, run_round, timed};
use super::raw::{HttpConn, LineConn, RAW_CALLID_BASE, request_line, split_url};
use super::report::{Figure, Section, cpu_ratio, rate, ratio_at_most, us};

/// Issue 14's target: the facade's CPU per operation at most this multiple of the raw
/// baseline's, for every size, operation and concurrency measured.
const CPU_TARGET: f64 = 1.5;

/// Keys per worker that puts cycle over (overwriting), and keys fetched.
const KEYS_PER_WORKER: usize = 8;
const GET_KEYS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Put,
    Get,
}

/// One raw worker's connections, kept across rounds like the client's pools.
#[derive(Debug)]
struct RawWorker {
    tracker: LineConn,
    /// The second tracker socket, for `file_info` while `get_paths` is on the first
    /// (`--raw-pair two` only).
    info: Option<LineConn>,
    http: Option<HttpConn>,
    body: Vec<u8>,
    /// The next `callid` (the facade sends one with every request, as the raw lines do).
    callid: u64,
}

impl RawWorker {
    fn next_callid(&mut self) -> u64 {
        self.callid += 1;
        self.callid
    }
}

pub(crate) async fn run(plan: &Plan) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    for &size in &plan.small_sizes {
        let payload = Bytes::from((0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        for op in [Op::Put, Op::Get] {
            if plan
                .small_put_only
                .is_some_and(|put| put != (op == Op::Put))
            {
                continue;
            }
            for &conc in &plan.small_concurrency {
                let f = one(plan, op, &payload, conc).await?;
                eprintln!("{}", f.line);
                figures.push(f);
            }
        }
    }
    Ok(figures)
}

fn size_name(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

async fn one(plan: &Plan, op: Op, payload: &Bytes, conc: usize) -> Result<Figure, String> {
    let tracker_config = TrackerConfig {
        // Room for two per worker, as the raw baseline's `--raw-pair two` shape has. The
        // facade's fetch takes one (its `get_paths` and `file_info` are one pipelined pair);
        // before that, a pool of `conc` made half of each fetch wait for the other half's
        // connection.
        pool: PoolSettings {
            max_size: 2 * conc,
            ..PoolSettings::default()
        },
        ..TrackerConfig::default()
    };
    // One kept HTTP connection per worker, as the raw baseline has: with the default limit of
    // 16 idle per node, 32 workers closed and reopened connections all the time.
    let storage_config = StorageConfig {
        pool_max_idle_per_host: conc.max(StorageConfig::default().pool_max_idle_per_host),
        ..StorageConfig::default()
    };
    let client = Client::builder()
        .trackers([plan.tracker.as_str()])
        .domain(plan.domain.as_str())
        .tracker(tracker_config.clone())
        .storage(storage_config.clone())
        .build()
        .map_err(|e| format!("facade client: {e}"))?;
    let lower = Lower::new(plan, tracker_config, storage_config)?;
    let size = payload.len();
    let prefix: Arc<str> = Arc::from(format!("small/{size}"));
    if op == Op::Get {
        for j in 0..GET_KEYS {
            client
                .put(format!("{prefix}/get/{j}"), payload.clone())
                .await
                .map_err(|e| format!("preparing the files to fetch: {e}"))?;
        }
    }
    let key = move |prefix: &str, worker: usize, n: usize| match op {
        Op::Put => format!("{prefix}/put/{worker}/{}", n % KEYS_PER_WORKER),
        Op::Get => format!("{prefix}/get/{}", (worker + n * conc) % GET_KEYS),
    };

    let client_round = |d: Duration| {
        let (client, prefix, payload) = (client.clone(), Arc::clone(&prefix), payload.clone());
        run_round(conc, d, move |i, stop| {
            let (client, prefix, payload) = (client.clone(), Arc::clone(&prefix), payload.clone());
            async move {
                let mut lat = Vec::new();
                let mut n = 0;
                while !stop.is_set() {
                    let k = key(&prefix, i, n);
                    n += 1;
                    timed(&mut lat, async {
                        match op {
                            Op::Put => client
                                .put(k, payload.clone())
                                .await
                                .map(drop)
                                .map_err(|e| format!("facade put: {e}")),
                            Op::Get => {
                                let got = client
                                    .get_bytes(k)
                                    .await
                                    .map_err(|e| format!("facade get: {e}"))?;
                                if got.len() == size {
                                    Ok(())
                                } else {
                                    Err(format!("fetched {} bytes, expected {size}", got.len()))
                                }
                            }
                        }
                    })
                    .await?;
                }
                Ok(lat)
            }
        })
    };

    let mut workers = Vec::with_capacity(conc);
    for _ in 0..conc {
        workers.push(Mutex::new(RawWorker {
            tracker: LineConn::connect(&plan.tracker).await?,
            info: if plan.raw_pair_pipelined {
                None
            } else {
                Some(LineConn::connect(&plan.tracker).await?)
            },
            http: None,
            body: Vec::new(),
            callid: RAW_CALLID_BASE,
        }));
    }
    let workers = Arc::new(workers);
    let pipelined = plan.raw_pair_pipelined;
    let domain: Arc<str> = Arc::from(plan.domain.as_str());
    let raw_round = |d: Duration| {
        let (workers, prefix, payload, domain, lower) = (
            Arc::clone(&workers),
            Arc::clone(&prefix),
            payload.clone(),
            Arc::clone(&domain),
            lower.clone(),
        );
        run_round(conc, d, move |i, stop| {
            let (workers, prefix, payload, domain, lower) = (
                Arc::clone(&workers),
                Arc::clone(&prefix),
                payload.clone(),
                Arc::clone(&domain),
                lower.clone(),
            );
            async move {
                let mut w = workers[i].lock().await;
                let mut lat = Vec::new();
                let mut n = 0;
                while !stop.is_set() {
                    let k = key(&prefix, i, n);
                    n += 1;
                    match op {
                        Op::Put => {
                            timed(&mut lat, raw_put(&mut w, &lower, &domain, &k, &payload)).await?
                        }
                        Op::Get => {
                            let get = raw_get(&mut w, &lower, &domain, &k, size, pipelined);
                            timed(&mut lat, get).await?
                        }
                    }
                }
                Ok(lat)
            }
        })
    };

    client_round(plan.round / 4).await?;
    raw_round(plan.round / 4).await?;
    let (mut ours, mut raw): (Vec<Round>, Vec<Round>) = (Vec::new(), Vec::new());
    for r in 0..plan.rounds {
        if let Some(client_side) = plan.only_client {
            if client_side {
                ours.push(client_round(plan.round).await?);
            } else {
                raw.push(raw_round(plan.round).await?);
            }
        } else if r % 2 == 0 {
            ours.push(client_round(plan.round).await?);
            raw.push(raw_round(plan.round).await?);
        } else {
            raw.push(raw_round(plan.round).await?);
            ours.push(client_round(plan.round).await?);
        }
    }
    client.close().await;
    lower.close();
    let (o, b) = (Summary::of(&ours), Summary::of(&raw));
    let ratio = o.ops_per_sec / b.ops_per_sec;
    let cpu = o.cpu_us_per_op / b.cpu_us_per_op;
    let (target, met) = ratio_at_most(cpu, CPU_TARGET);
    let name = if op == Op::Put { "put" } else { "get" };
    Ok(Figure {
        section: Section::Small,
        line: format!(
            "small   {name} {:>6} c={conc:<3} client {:>7} ops/s  raw {:>7} ops/s  ratio {ratio:.2}x  CPU/op {} vs {} µs = {} (cluster {} vs {})  p50 {} vs {} µs  (CPU {target})",
            size_name(size),
            rate(o.ops_per_sec),
            rate(b.ops_per_sec),
            us(o.cpu_us_per_op),
            us(b.cpu_us_per_op),
            cpu_ratio(cpu, Some(CPU_TARGET)),
            us(o.server_cpu_us_per_op),
            us(b.server_cpu_us_per_op),
            us(o.p50_us),
            us(b.p50_us),
        ),
        cells: vec![
            format!("`{name}`"),
            size_name(size),
            conc.to_string(),
            rate(o.ops_per_sec),
            rate(b.ops_per_sec),
            format!("**{ratio:.2}x**"),
            format!("{} / {}", us(o.p50_us), us(o.p99_us)),
            format!("{} / {}", us(b.p50_us), us(b.p99_us)),
            us(o.cpu_us_per_op),
            us(b.cpu_us_per_op),
            format!("**{}**", cpu_ratio(cpu, Some(CPU_TARGET))),
            format!(
                "{} / {}",
                us(o.server_cpu_us_per_op),
                us(b.server_cpu_us_per_op)
            ),
            format!("CPU {target}"),
        ],
        met: Some(met),
    })
}

async fn raw_put(
    w: &mut RawWorker,
    lower: &Lower,
    domain: &str,
    key: &str,
    body: &Bytes,
) -> Result<(), String> {
    let open = match &lower.tracker {
        Some(t) => Box::pin(t.request(open_cmd(domain, key)))
            .await
            .map_err(|e| e.to_string())?,
        None => {
            let callid = w.next_callid();
            w.tracker
                .write(&request_line(&open_cmd(domain, key), callid))
                .await?;
            w.tracker.read_reply::<CreateOpen>().await?
        }
    };
    let dest = open
        .destinations
        .into_iter()
        .next()
        .ok_or("create_open gave no destination")?;
    match &lower.storage {
        Some(s) => {
            let payload = Payload::from(body.clone());
            Box::pin(s.put(dest.path.as_str(), &payload, &StoragePutOptions::default()))
                .await
                .map_err(|e| e.to_string())?;
        }
        None => {
            let (host, path) = split_url(dest.path.as_str())?;
            HttpConn::to(&mut w.http, host)
                .await?
                .put(path, body)
                .await?;
        }
    }
    let close = CreateClose::new(domain, open.fid, dest.devid, dest.path.clone())
        .key(key)
        .size(body.len() as u64);
    match &lower.tracker {
        Some(t) => Box::pin(t.request(close)).await.map_err(|e| e.to_string()),
        None => {
            let callid = w.next_callid();
            w.tracker.write(&request_line(&close, callid)).await?;
            w.tracker.read_reply::<CreateClose>().await.map(drop)
        }
    }
}

/// The facade's `create_open` for `key`: `multi_dest`, as it asks.
fn open_cmd(domain: &str, key: &str) -> CreateOpen {
    CreateOpen::new(domain).key(key).multi_dest(true)
}

/// What the facade's fetch sends: its default pathcount (3), noverify, and `devices=1`.
fn fetch_cmds(domain: &str, key: &str) -> (GetPaths, FileInfo) {
    (
        GetPaths::new(domain, key).noverify(true).pathcount(3),
        FileInfo::new(domain, key).devices(true),
    )
}

async fn raw_get(
    w: &mut RawWorker,
    lower: &Lower,
    domain: &str,
    key: &str,
    size: usize,
    pipelined: bool,
) -> Result<(), String> {
    // What the facade sends (`fetch_cmds`), with a `callid` each.
    let (paths, info): (Vec<StoragePath>, _) = if let Some(t) = &lower.tracker {
        let (paths_cmd, info_cmd) = fetch_cmds(domain, key);
        let (paths, info) = Box::pin(t.request_pair(paths_cmd, info_cmd))
            .await
            .map_err(|e| e.to_string())?;
        (
            paths.map_err(|e| e.to_string())?,
            info.map_err(|e| e.to_string())?,
        )
    } else {
        let (paths_callid, info_callid) = (w.next_callid(), w.next_callid());
        let (paths_line, info_line) = {
            let (paths_cmd, info_cmd) = fetch_cmds(domain, key);
            (
                request_line(&paths_cmd, paths_callid),
                request_line(&info_cmd, info_callid),
            )
        };
        if pipelined {
            let mut lines = paths_line;
            lines.extend_from_slice(&info_line);
            w.tracker.write(&lines).await?;
            let paths = w.tracker.read_reply::<GetPaths>().await?;
            (paths, w.tracker.read_reply::<FileInfo>().await?)
        } else {
            let second = w.info.as_mut().ok_or("no second tracker socket")?;
            let first = &mut w.tracker;
            tokio::try_join!(
                async move {
                    first.write(&paths_line).await?;
                    first.read_reply::<GetPaths>().await
                },
                async move {
                    second.write(&info_line).await?;
                    second.read_reply::<FileInfo>().await
                },
            )?
        }
    };
    let first = paths.first().ok_or("get_paths gave no path")?;
    let fetched = match &lower.storage {
        Some(s) => Box::pin(async {
            let response = s.get(first.as_str(), &StorageGetOptions::default()).await?;
            response.bytes().await
        })
        .await
        .map_err(|e| e.to_string())?
        .len(),
        None => {
            let (host, path) = split_url(first.as_str())?;
            HttpConn::to(&mut w.http, host)
                .await?
                .get(path, &mut w.body)
                .await?;
            w.body.len()
        }
    };
    if fetched as u64 != info.length || fetched != size {
        return Err(format!("fetched {fetched} bytes, expected {}", info.length));
    }
    Ok(())
}

/// The library's lower layers for the baseline's halves that `--raw-layers` hands to them
/// (`None`: that half is hand-written), configured as the facade's own. Their calls in
/// `raw_get` / `raw_put` are boxed, so that the hand-written baseline's futures (the page's)
/// do not grow by the size of theirs.
#[derive(Clone, Default)]
struct Lower {
    tracker: Option<TrackerClient>,
    storage: Option<StorageClient>,
}

impl Lower {
    /// Closes the tracker client's pool (its idle connections, and with them its background
    /// tasks), as the facade's client is closed.
    fn close(&self) {
        if let Some(t) = &self.tracker {
            t.close();
        }
    }

    fn new(plan: &Plan, tracker: TrackerConfig, storage: StorageConfig) -> Result<Self, String> {
        let Some(layers) = plan.raw_layers else {
            return Ok(Self::default());
        };
        let tracker = layers.tracker().then(|| {
            TrackerClient::builder()
                .trackers([plan.tracker.as_str()])
                .config(tracker)
                .build()
                .map_err(|e| format!("tracker client: {e}"))
        });
        let storage = layers.storage().then(|| {
            StorageClient::builder()
                .config(storage)
                .build()
                .map_err(|e| format!("storage client: {e}"))
        });
        Ok(Self {
            tracker: tracker.transpose()?,
            storage: storage.transpose()?,
        })
    }
}
