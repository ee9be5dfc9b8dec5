//! The processes of parts 6 and 7: each storage node in its own process (with its bandwidth cap
//! and first-byte delay), a fake tracker that lists the nodes' replicas in a fixed order, and the
//! measuring process of the hedged gets.
//!
//! - `bench storage-node DIR DEVID CAP_BYTES_PER_SEC DELAY_MS ONE_IN`: a `StorageNode` over DIR
//!   with device DEVID; a cap of 0 is none; with DELAY_MS > 0, one request in ONE_IN waits that
//!   long before its headers. Prints `addr=IP:PORT`, serves until stdin closes.
//! - `bench replica-tracker DOMAIN ADDR:DEVID,... KEY:LEN...`: a fake tracker whose model has one
//!   host per node and every file on every device, `get_paths` in devid order. Prints
//!   `fid KEY FID` per file, then `tracker=ADDR domain=DOMAIN`, then `ready`; serves until stdin
//!   closes.
//! - `bench hedge-gets TRACKER DOMAIN PREFIX KEYS COUNT RATE on|off`: COUNT gets of
//!   `PREFIX<i % KEYS>` through the facade (hedging adaptive or off), started at RATE per second
//!   (open loop), after 200 unmeasured ones;
//!   prints `p50_us= p99_us= gets= hedges= won= over_budget=`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mogile_testkit::storage::{Fault, FaultRule, StorageNode};
use mogile_testkit::tracker::{DeviceSpec, FakeTracker, HostSpec, Model};
use mogilefs::{Client, ClientConfig, HedgeAfter};
use tokio::io::AsyncReadExt;

fn current_thread() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{what}: not a number: {s:?}"))
}

/// Runs `tick` every 500 ms until stdin closes.
async fn until_stdin_closes(mut tick: impl FnMut()) {
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    let mut every = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            read = stdin.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            },
            _ = every.tick() => tick(),
        }
    }
}

/// `bench storage-node ...`.
pub(crate) fn storage_node(args: &[String]) -> ExitCode {
    let result = (|| {
        let [dir, devid, cap, delay_ms, one_in] = args else {
            return Err("usage: storage-node DIR DEVID CAP DELAY_MS ONE_IN".to_owned());
        };
        let devid: u32 = num(devid, "devid")?;
        let cap: u64 = num(cap, "cap")?;
        let delay_ms: u64 = num(delay_ms, "delay")?;
        let one_in: u32 = num(one_in, "one_in")?;
        // One thread: each node is one process on one core at most, as a host is.
        current_thread()?.block_on(async {
            let node = StorageNode::start(dir.as_str())
                .await
                .map_err(|e| format!("node: {e}"))?;
            node.add_device(devid)
                .await
                .map_err(|e| format!("device: {e}"))?;
            if cap > 0 {
                node.set_bandwidth_limit(Some(cap));
            }
            if delay_ms > 0 {
                node.inject(
                    FaultRule::new(Fault::DelayHeaders(Duration::from_millis(delay_ms)))
                        .one_in(one_in),
                );
            }
            println!("addr={}", node.addr());
            until_stdin_closes(|| node.clear_requests()).await;
            node.shutdown().await;
            Ok(())
        })
    })();
    super::client::finish(result, "storage-node")
}

/// `bench replica-tracker ...`.
pub(crate) fn replica_tracker(args: &[String]) -> ExitCode {
    let result = (|| {
        let [domain, nodes, files @ ..] = args else {
            return Err("usage: replica-tracker DOMAIN ADDR:DEVID,... KEY:LEN...".to_owned());
        };
        let model = Arc::new(Model::new());
        model.create_domain(domain).map_err(|e| e.to_string())?;
        let mut devids = Vec::new();
        for spec in nodes.split(',') {
            let (addr, devid) = spec.rsplit_once(':').ok_or("ADDR:DEVID")?;
            let devid: u64 = num(devid, "devid")?;
            let addr: std::net::SocketAddr = addr.parse().map_err(|_| "node address")?;
            let hostid = model
                .add_host(
                    HostSpec::new(format!("n{devid}"), addr.ip().to_string(), addr.port())
                        .allow_shared_ip(true),
                )
                .map_err(|e| e.to_string())?;
            model
                .add_device(DeviceSpec::new(devid, hostid))
                .map_err(|e| e.to_string())?;
            devids.push(devid);
        }
        model.set_fixed_path_order(true);
        for f in files {
            let (key, len) = f.rsplit_once(':').ok_or("KEY:LEN")?;
            let fid = model
                .insert_file(domain, key, None, num(len, "len")?, &devids)
                .map_err(|e| e.to_string())?;
            println!("fid {key} {fid}");
        }
        current_thread()?.block_on(async {
            let tracker = FakeTracker::start(model)
                .await
                .map_err(|e| format!("tracker: {e}"))?;
            println!("tracker={} domain={domain}", tracker.addr());
            println!("ready");
            until_stdin_closes(|| tracker.clear_log()).await;
            Ok(())
        })
    })();
    super::client::finish(result, "replica-tracker")
}

/// `bench hedge-gets ...`.
pub(crate) fn hedge_gets(args: &[String]) -> ExitCode {
    let result = (|| {
        let [tracker, domain, prefix, keys, count, rate, mode] = args else {
            return Err(
                "usage: hedge-gets TRACKER DOMAIN PREFIX KEYS COUNT RATE on|off".to_owned(),
            );
        };
        let keys: usize = num(keys, "keys")?;
        let count: usize = num(count, "count")?;
        let rate: usize = num(rate, "rate")?;
        let hedge_after = match mode.as_str() {
            "on" => HedgeAfter::Adaptive,
            "off" => HedgeAfter::Off,
            _ => return Err("on or off".to_owned()),
        };
        let rt = super::client::runtime()?;
        rt.block_on(async {
            let client = Client::builder()
                .trackers([tracker.as_str()])
                .domain(domain.as_str())
                .config(ClientConfig {
                    hedge_after,
                    ..ClientConfig::default()
                })
                .build()
                .map_err(|e| format!("client: {e}"))?;
            // Open loop: gets start at a fixed rate whatever the earlier ones do, so both modes
            // carry the same load and a slow reply holds up nothing but itself (a closed loop of
            // workers would sit in the slow replies with hedging off and measure an idle
            // machine, and a busy one with hedging on).
            let warmup = 200;
            let per_tick = rate.div_ceil(1000).max(1);
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut tasks = tokio::task::JoinSet::new();
            let mut i = 0;
            while i < warmup + count {
                tick.tick().await;
                for _ in 0..per_tick {
                    if i >= warmup + count {
                        break;
                    }
                    let (client, key) = (client.clone(), format!("{prefix}{}", i % keys));
                    let measured = i >= warmup;
                    tasks.spawn(async move {
                        let start = Instant::now();
                        let mut stream =
                            client.get(key.as_str()).await.map_err(|e| e.to_string())?;
                        while let Some(chunk) = stream.next().await {
                            chunk.map_err(|e| e.to_string())?;
                        }
                        Ok::<_, String>(measured.then(|| start.elapsed()))
                    });
                    i += 1;
                }
            }
            let mut all = Vec::with_capacity(count);
            while let Some(t) = tasks.join_next().await {
                all.extend(t.map_err(|e| e.to_string())??);
            }
            all.sort_unstable();
            let pct = |p: f64| {
                let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
                all[i].as_micros()
            };
            let s = client.read_stats();
            println!(
                "p50_us={} p99_us={} gets={} opening={} hedges={} won={} over_budget={} hedge_after_ms={}",
                pct(0.50),
                pct(0.99),
                all.len() + warmup,
                s.opening_requests,
                s.hedges,
                s.hedges_won,
                s.hedges_over_budget,
                s.hedge_after.as_millis()
            );
            client.close().await;
            Ok(())
        })
    })();
    super::client::finish(result, "hedge-gets")
}
