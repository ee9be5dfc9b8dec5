//! `bench serve`: the local cluster in its own process (release build), so that the measuring
//! process's CPU time and memory are the client's alone.
//!
//! One fake tracker, one storage node with one device (so every transfer, the client's and curl's,
//! goes to the same node), `mindevcount` 1 and no replication. It preloads the round-trip keys,
//! prints `tracker=ADDR domain=NAME` on stdout, and serves until its stdin closes.

use std::process::ExitCode;
use std::time::Duration;

use mogile_testkit::TestCluster;
use tokio::io::AsyncReadExt;

use super::{ROUND_TRIP_KEYS, round_trip_key};

pub(crate) fn run() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("xtask bench serve: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask bench serve: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), String> {
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(1)
        .devices_per_node(1)
        .mindevcount(1)
        .domain("bench")
        .start()
        .await
        .map_err(|e| format!("cannot start the cluster: {e}"))?;
    let devid = cluster
        .devices()
        .first()
        .map(|d| d.devid)
        .ok_or("no device")?;
    for i in 0..ROUND_TRIP_KEYS {
        cluster
            .model()
            .insert_file(cluster.domain(), round_trip_key(i), None, 1024, &[devid])
            .map_err(|e| format!("preloading keys: {e}"))?;
    }
    let tracker = cluster.tracker_addrs().join(",");
    println!("tracker={tracker} domain={}", cluster.domain());

    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            read = stdin.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            },
            _ = tick.tick() => {
                // The fakes keep every request for tests to inspect; a benchmark sends millions,
                // so drop them as it goes rather than measure a growing vector (and the node's
                // records reached a gigabyte in one run).
                for t in cluster.trackers() {
                    t.clear_log();
                }
                for n in cluster.nodes() {
                    n.clear_requests();
                }
            }
        }
    }
    cluster.shutdown().await;
    Ok(())
}
