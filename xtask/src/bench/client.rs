//! The measuring processes, started by the orchestrator from the release build:
//!
//! - `bench client --tracker ADDR --domain D [--server-pid PID] [--quick] [--only tracker|small] [--side client|raw] [--raw-pair one|two] [--raw-layers tracker|storage|both] [--conc N] [--size BYTES] [--op put|get]`: parts 1 and 2, the
//!   client and its raw baseline alternating in this process, figures on stdout;
//! - `bench stream-put TRACKER DOMAIN KEY FILE [block-on]` / `bench stream-get TRACKER DOMAIN KEY [block-on]`: one streaming transfer through the
//!   facade, alone in its process so that its peak RSS is the client's;
//! - `bench object-store-get TRACKER DOMAIN KEY store|facade`: one `get` through `MogileStore` or
//!   the facade, alone in its process, printing the CPU time it cost.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mogilefs::{Client, PutOptions};

use super::measure::process_cpu;
use super::object_store_get::{Sample, Via};
use super::{ROUND_TRIP_KEYS, round_trip_key, small_files, tracker_rt};

/// What the measuring process runs.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) tracker: String,
    pub(crate) domain: String,
    pub(crate) rounds: usize,
    pub(crate) round: Duration,
    pub(crate) tracker_concurrency: Vec<usize>,
    pub(crate) small_concurrency: Vec<usize>,
    pub(crate) small_sizes: Vec<usize>,
    /// For profiling: run only the client's rounds (`Some(true)`) or only the baseline's.
    pub(crate) only_client: Option<bool>,
    /// The raw small-file fetch writes `get_paths` and `file_info` back to back on one socket
    /// as the facade does (the default), or concurrently on two (`--raw-pair two`).
    pub(crate) raw_pair_pipelined: bool,
    /// For profiling: only puts (`Some(true)`) or only gets (`Some(false)`) in part 2.
    pub(crate) small_put_only: Option<bool>,
    /// A diagnostic (`--raw-layers`): part 2's baseline does its tracker half, its HTTP half or
    /// both through the library's lower layers instead of by hand (see small_files.rs).
    pub(crate) raw_layers: Option<RawLayers>,
}

/// Which halves of the small-file baseline go through the library's own lower layers
/// (`mogile-tracker`'s `TrackerClient`, `mogile-storage`'s `StorageClient`) instead of the
/// hand-written loops: with the facade on the other side, this splits the facade's CPU over the
/// raw baseline between the tracker layer, the storage layer and the facade itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawLayers {
    /// `TrackerClient` for the tracker requests, the hand-written HTTP loop for the transfer.
    Tracker,
    /// The hand-written tracker loop, `StorageClient` for the transfer.
    Storage,
    /// Both lower layers: everything the facade does minus the facade itself.
    Both,
}

impl RawLayers {
    fn parse(s: Option<&String>) -> Result<Self, String> {
        match s.map(String::as_str) {
            Some("tracker") => Ok(Self::Tracker),
            Some("storage") => Ok(Self::Storage),
            Some("both") => Ok(Self::Both),
            _ => Err("--raw-layers tracker|storage|both".to_owned()),
        }
    }

    /// Whether the tracker half goes through `TrackerClient`.
    pub(crate) fn tracker(self) -> bool {
        matches!(self, Self::Tracker | Self::Both)
    }

    /// Whether the HTTP half goes through `StorageClient`.
    pub(crate) fn storage(self) -> bool {
        matches!(self, Self::Storage | Self::Both)
    }
}

impl Plan {
    fn new(tracker: String, domain: String, quick: bool) -> Self {
        Self {
            tracker,
            domain,
            // Many short alternating rounds: on a shared machine, load comes and goes within
            // seconds, and the median of many short rounds shrugs it off better. 21 of 200 ms
            // against the 7 of 400 ms before: in runs of part 1 (11 and 6, 2026-12-07 13:38-13:53
            // UTC), `get_paths`' CPU ratio at c=128 spread 1.05-1.18 against 1.03-1.21,
            // `file_info`'s 1.04-1.12 against 1.02-1.22 (`--rounds`, `--round-ms`).
            rounds: if quick { 5 } else { 21 },
            round: Duration::from_millis(if quick { 150 } else { 200 }),
            tracker_concurrency: vec![1, 16, 128],
            small_concurrency: vec![1, 32],
            small_sizes: vec![1024, 64 * 1024],
            only_client: None,
            raw_pair_pipelined: true,
            small_put_only: None,
            raw_layers: None,
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    // Two workers: the machine has two cores, as a service using the client would.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

fn current_thread_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

/// The exit status of an internal bench process: the error, if any, on stderr as `xtask bench
/// WHAT: error`.
pub(crate) fn finish(result: Result<(), String>, what: &str) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask bench {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `bench client ...`.
pub(crate) fn run(args: &[String]) -> ExitCode {
    let result = (|| {
        let mut it = args.iter();
        let (mut tracker, mut domain, mut quick, mut only, mut side) =
            (None, None, false, None, None);
        let mut pipelined = true;
        let mut layers = None;
        let (mut conc, mut size, mut op) = (None, None, None);
        let (mut rounds, mut round_ms) = (None, None);
        while let Some(a) = it.next() {
            match a.as_str() {
                "--tracker" => tracker = it.next().cloned(),
                "--domain" => domain = it.next().cloned(),
                "--only" => only = it.next().cloned(),
                "--quick" => quick = true,
                // For `perf record`: one side only, so that a profile holds nothing else.
                "--side" => side = it.next().map(|s| s == "client"),
                // To compare the two wire shapes of the small-file fetch (see small_files.rs).
                "--raw-pair" => pipelined = it.next().is_none_or(|s| s != "two"),
                // To split the facade's cost between its layers (see small_files.rs).
                "--raw-layers" => layers = Some(RawLayers::parse(it.next())?),
                // For profiling one figure: `--conc N`, `--size BYTES`, `--op put|get`.
                "--conc" => conc = Some(number(it.next(), "--conc N")?),
                "--size" => size = Some(number(it.next(), "--size BYTES")?),
                "--op" => op = it.next().map(|s| s == "put"),
                // To study the figures' spread: `--rounds N` per side, each `--round-ms MS` long.
                "--rounds" => rounds = Some(number(it.next(), "--rounds N")?),
                "--round-ms" => round_ms = Some(number(it.next(), "--round-ms MS")?),
                "--server-pid" => {
                    let pid = it
                        .next()
                        .and_then(|p| p.parse().ok())
                        .ok_or("--server-pid PID")?;
                    let _ = super::measure::SERVER_PID.set(pid);
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        let mut plan = Plan::new(
            tracker.ok_or("--tracker is required")?,
            domain.ok_or("--domain is required")?,
            quick,
        );
        plan.only_client = side;
        plan.raw_pair_pipelined = pipelined;
        plan.small_put_only = op;
        plan.raw_layers = layers;
        if let Some(c) = conc {
            plan.tracker_concurrency = vec![c];
            plan.small_concurrency = vec![c];
        }
        if let Some(s) = size {
            plan.small_sizes = vec![s];
        }
        if let Some(n) = rounds {
            plan.rounds = n.max(1);
        }
        if let Some(ms) = round_ms {
            plan.round = Duration::from_millis(ms.max(1) as u64);
        }
        runtime()?.block_on(async {
            let keys: Vec<String> = (0..ROUND_TRIP_KEYS).map(round_trip_key).collect();
            let mut figures = Vec::new();
            if only.as_deref().is_none_or(|o| o == "tracker") {
                figures.extend(tracker_rt::run(&plan, &keys).await?);
            }
            if only.as_deref().is_none_or(|o| o == "small") {
                figures.extend(small_files::run(&plan).await?);
            }
            for f in figures {
                println!("{}", f.encode());
            }
            Ok(())
        })
    })();
    finish(result, "client")
}

fn number(arg: Option<&String>, usage: &str) -> Result<usize, String> {
    arg.and_then(|a| a.parse().ok())
        .ok_or_else(|| usage.to_owned())
}

fn facade(tracker: &str, domain: &str) -> Result<Client, String> {
    Client::builder()
        .trackers([tracker])
        .domain(domain)
        .build()
        .map_err(|e| format!("facade client: {e}"))
}

/// Runs one transfer the way a service runs its requests: in a task on the runtime's workers,
/// where hyper's connection task also runs, so that handing a chunk between the two is a local
/// wake-up. With `block-on` as the last argument the transfer runs on the `block_on` thread
/// instead, outside the workers: every chunk then crosses threads (a futex wake-up each way),
/// which doubled the download's CPU time; kept to reproduce that figure.
fn run_transfer<F>(args: &[String], work: F) -> Result<(), String>
where
    F: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let rt = runtime()?;
    if args.last().is_some_and(|a| a == "block-on") {
        rt.block_on(work)
    } else {
        rt.block_on(async {
            tokio::spawn(work)
                .await
                .map_err(|e| format!("transfer task: {e}"))?
        })
    }
}

/// `bench stream-put TRACKER DOMAIN KEY FILE [block-on]`: stores FILE, prints the seconds it took.
pub(crate) fn stream_put(args: &[String]) -> ExitCode {
    let result = (|| {
        let ([tracker, domain, key, file] | [tracker, domain, key, file, _]) = args else {
            return Err("usage: stream-put TRACKER DOMAIN KEY FILE [block-on]".to_owned());
        };
        let (tracker, domain, key, file) =
            (tracker.clone(), domain.clone(), key.clone(), file.clone());
        run_transfer(args, async move {
            let client = facade(&tracker, &domain)?;
            let start = Instant::now();
            client
                .put_file(key.as_str(), &file, &PutOptions::new())
                .await
                .map_err(|e| format!("put: {e}"))?;
            println!("seconds={}", start.elapsed().as_secs_f64());
            client.close().await;
            Ok(())
        })
    })();
    finish(result, "stream-put")
}

/// `bench stream-get TRACKER DOMAIN KEY [block-on]`: fetches KEY, discarding the bytes as
/// `curl -o /dev/null` does; prints the byte count and the seconds it took.
pub(crate) fn stream_get(args: &[String]) -> ExitCode {
    let result = (|| {
        let ([tracker, domain, key] | [tracker, domain, key, _]) = args else {
            return Err("usage: stream-get TRACKER DOMAIN KEY [block-on]".to_owned());
        };
        let (tracker, domain, key) = (tracker.clone(), domain.clone(), key.clone());
        run_transfer(args, async move {
            let client = facade(&tracker, &domain)?;
            let start = Instant::now();
            let mut stream = client
                .get(key.as_str())
                .await
                .map_err(|e| format!("get: {e}"))?;
            let mut total = 0u64;
            while let Some(chunk) = stream.next().await {
                total += chunk.map_err(|e| format!("get: {e}"))?.len() as u64;
            }
            println!("bytes={total} seconds={}", start.elapsed().as_secs_f64());
            client.close().await;
            Ok(())
        })
    })();
    finish(result, "stream-get")
}

/// `bench object-store-get TRACKER DOMAIN KEY store|facade`: fetches KEY through
/// `MogileStore` (`ObjectStore::get`, then the body streamed) or the facade (`Client::get`),
/// discarding the bytes; prints the byte count, the seconds and this process's CPU seconds spent
/// from the `get` call to the last chunk (the client is built before, and closed after).
pub(crate) fn object_store_get(args: &[String]) -> ExitCode {
    let result = (|| {
        let [tracker, domain, key, via] = args else {
            return Err("usage: object-store-get TRACKER DOMAIN KEY store|facade".to_owned());
        };
        let via = Via::parse(via).ok_or_else(|| format!("store or facade, not {via:?}"))?;
        // One thread: this part compares two ways into the same client, and on a two-core machine
        // shared with the cluster, hand-offs between worker threads (futex wake-ups that vary
        // from run to run) dominate the variance of a single 256 MiB get's CPU time.
        current_thread_runtime()?.block_on(async {
            let client = facade(tracker, domain)?;
            let store = mogile_object_store::MogileStore::new(client.clone());
            let path = object_store::path::Path::from(key.as_str());
            let (start, cpu) = (Instant::now(), process_cpu());
            let mut bytes = 0u64;
            match via {
                Via::Store => {
                    let mut stream = object_store::ObjectStoreExt::get(&store, &path)
                        .await
                        .map_err(|e| format!("get: {e}"))?
                        .into_stream();
                    while let Some(chunk) = stream.next().await {
                        bytes += chunk.map_err(|e| format!("get: {e}"))?.len() as u64;
                    }
                }
                Via::Facade => {
                    let mut stream = client
                        .get(key.as_str())
                        .await
                        .map_err(|e| format!("get: {e}"))?;
                    while let Some(chunk) = stream.next().await {
                        bytes += chunk.map_err(|e| format!("get: {e}"))?.len() as u64;
                    }
                }
            }
            let sample = Sample {
                bytes,
                secs: start.elapsed().as_secs_f64(),
                cpu_secs: (process_cpu() - cpu).as_secs_f64(),
            };
            println!("{}", sample.encode());
            client.close().await;
            Ok(())
        })
    })();
    finish(result, "object-store-get")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_layers_name_the_halves_they_hand_to_the_library() {
        let parse = |s: &str| RawLayers::parse(Some(&s.to_owned()));
        let halves = |l: RawLayers| (l.tracker(), l.storage());
        assert_eq!(parse("tracker").map(halves), Ok((true, false)));
        assert_eq!(parse("storage").map(halves), Ok((false, true)));
        assert_eq!(parse("both").map(halves), Ok((true, true)));
        assert!(parse("hyper").is_err());
        assert!(RawLayers::parse(None).is_err());
    }
}
