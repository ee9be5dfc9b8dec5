//! Part 1: `get_paths` and `file_info` round trips through `mogile-tracker`, against raw sockets
//! (as many as the client's pool opened) that write the same request bytes, a `callid` included,
//! and read a line; and against the typed floor, as many sockets again that do the protocol's
//! work per request and nothing else ([`TypedConn`]).

use std::sync::Arc;
use std::time::Duration;

use mogile_protocol::{FileInfo, GetPaths};
use mogile_tracker::{PoolSettings, TrackerClient};
use tokio::sync::Mutex;

use super::client::Plan;
use super::measure::{Round, Summary, run_round, timed};
use super::raw::{LineConn, RAW_CALLID_BASE, TypedConn, request_line};
use super::report::{Figure, Section, cpu_ratio, rate, ratio_at_most, ratio_target, us};

/// The target of this part: the client reaches this fraction of the raw baseline's ops/s.
const TARGET: f64 = 0.95;
/// Issue 14's target: the client's CPU per request at most this multiple of the raw loop's, at
/// concurrency 16 and up (at 1, kernel wake-ups dominate: reported without a target).
const CPU_TARGET: f64 = 1.15;
const CPU_TARGET_FROM: usize = 16;

/// The six orders of part 1's three sides (0 the client, 1 the raw loop, 2 the typed floor).
const ORDERS: [[u8; 3]; 6] = [
    [0, 1, 2],
    [1, 2, 0],
    [2, 0, 1],
    [0, 2, 1],
    [2, 1, 0],
    [1, 0, 2],
];

#[derive(Debug, Clone, Copy)]
enum Op {
    GetPaths,
    FileInfo,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Self::GetPaths => "get_paths",
            Self::FileInfo => "file_info",
        }
    }
}

/// Measures both commands at every concurrency of the plan.
pub(crate) async fn run(plan: &Plan, keys: &[String]) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    for op in [Op::GetPaths, Op::FileInfo] {
        for &conc in &plan.tracker_concurrency {
            let f = one(plan, keys, op, conc).await?;
            eprintln!("{}", f.line);
            figures.push(f);
        }
    }
    Ok(figures)
}

async fn one(plan: &Plan, keys: &[String], op: Op, conc: usize) -> Result<Figure, String> {
    let client = TrackerClient::builder()
        .trackers([plan.tracker.as_str()])
        .pool(PoolSettings {
            max_size: conc,
            ..PoolSettings::default()
        })
        .build()
        .map_err(|e| format!("tracker client: {e}"))?;
    let keys: Arc<Vec<String>> = Arc::new(keys.to_vec());
    let domain: Arc<str> = Arc::from(plan.domain.as_str());
    let lines: Arc<Vec<Vec<u8>>> = Arc::new(
        keys.iter()
            .zip(RAW_CALLID_BASE..)
            .map(|(k, callid)| match op {
                Op::GetPaths => {
                    request_line(&GetPaths::new(&*domain, k.as_str()).noverify(true), callid)
                }
                Op::FileInfo => request_line(&FileInfo::new(&*domain, k.as_str()), callid),
            })
            .collect(),
    );

    let client_round = |d: Duration| {
        let (client, keys, domain) = (client.clone(), Arc::clone(&keys), Arc::clone(&domain));
        run_round(conc, d, move |i, stop| {
            let (client, keys, domain) = (client.clone(), Arc::clone(&keys), Arc::clone(&domain));
            async move {
                let mut lat = Vec::new();
                let mut k = i;
                while !stop.is_set() {
                    let key = keys[k % keys.len()].as_str();
                    k += conc;
                    let done = match op {
                        Op::GetPaths => timed(
                            &mut lat,
                            client.get_paths(GetPaths::new(&*domain, key).noverify(true)),
                        )
                        .await
                        .map(drop),
                        Op::FileInfo => {
                            timed(&mut lat, client.file_info(FileInfo::new(&*domain, key)))
                                .await
                                .map(drop)
                        }
                    };
                    done.map_err(|e| format!("{}: {e}", op.name()))?;
                }
                Ok(lat)
            }
        })
    };

    // Warm up the client: its pool opens its connections, which fixes the raw socket count.
    client_round(plan.round / 4).await?;
    let sockets = client
        .status()
        .endpoints
        .first()
        .map_or(conc, |s| s.open)
        .max(1);
    let mut conns = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        conns.push(Mutex::new(LineConn::connect(&plan.tracker).await?));
    }
    let conns = Arc::new(conns);
    let raw_round = |d: Duration| {
        let (conns, lines) = (Arc::clone(&conns), Arc::clone(&lines));
        run_round(sockets, d, move |i, stop| {
            let (conns, lines) = (Arc::clone(&conns), Arc::clone(&lines));
            async move {
                let mut conn = conns[i].lock().await;
                let mut lat = Vec::new();
                let mut k = i;
                while !stop.is_set() {
                    let line = &lines[k % lines.len()];
                    k += sockets;
                    timed(&mut lat, async {
                        conn.write(line).await?;
                        conn.read_line().await.map(drop)
                    })
                    .await?;
                }
                Ok(lat)
            }
        })
    };
    raw_round(plan.round / 4).await?;
    // The typed floor: sockets of its own, as many, each doing the protocol's work per request.
    // Not with `--side`, which profiles one side alone.
    let typed_sockets = if plan.only_client.is_none() {
        sockets
    } else {
        0
    };
    let mut typed_conns = Vec::with_capacity(typed_sockets);
    for _ in 0..typed_sockets {
        typed_conns.push(Mutex::new(TypedConn::connect(&plan.tracker).await?));
    }
    let typed_conns = Arc::new(typed_conns);
    let typed_round = |d: Duration| {
        let (conns, keys, domain) = (
            Arc::clone(&typed_conns),
            Arc::clone(&keys),
            Arc::clone(&domain),
        );
        run_round(sockets, d, move |i, stop| {
            let (conns, keys, domain) =
                (Arc::clone(&conns), Arc::clone(&keys), Arc::clone(&domain));
            async move {
                let mut conn = conns[i].lock().await;
                let mut lat = Vec::new();
                let mut k = i;
                while !stop.is_set() {
                    let at = k;
                    k += sockets;
                    timed(&mut lat, typed_request(&mut conn, op, &domain, &keys, at)).await?;
                }
                Ok(lat)
            }
        })
    };
    if typed_sockets > 0 {
        typed_round(plan.round / 4).await?;
    }

    let (mut ours, mut raw, mut typed): (Vec<Round>, Vec<Round>, Vec<Round>) =
        (Vec::new(), Vec::new(), Vec::new());
    for r in 0..plan.rounds {
        if let Some(client_side) = plan.only_client {
            if client_side {
                ours.push(client_round(plan.round).await?);
            } else {
                raw.push(raw_round(plan.round).await?);
            }
            continue;
        }
        // Each round takes the next of the six orders of the three sides, so that drift in
        // machine load hits all three alike, and each side follows each other as often.
        for side in ORDERS[r % ORDERS.len()] {
            match side {
                0 => ours.push(client_round(plan.round).await?),
                1 => raw.push(raw_round(plan.round).await?),
                _ => typed.push(typed_round(plan.round).await?),
            }
        }
    }
    client.close();
    let (o, b) = (Summary::of(&ours), Summary::of(&raw));
    let ratio = o.ops_per_sec / b.ops_per_sec;
    let (ops_target, ops_met) = ratio_target(ratio, TARGET);
    let cpu = o.cpu_us_per_op / b.cpu_us_per_op;
    let cpu_target = (conc >= CPU_TARGET_FROM).then_some(CPU_TARGET);
    // With `--side`, the typed floor is not run: its cells say so.
    let t = (!typed.is_empty()).then(|| Summary::of(&typed));
    let (typed_cpu, typed_ratio) = match &t {
        Some(t) => (
            us(t.cpu_us_per_op),
            cpu_ratio(t.cpu_us_per_op / b.cpu_us_per_op, None),
        ),
        None => ("-".to_owned(), "-".to_owned()),
    };
    let (target, met) = if cpu_target.is_some() {
        let (cpu_verdict, cpu_met) = ratio_at_most(cpu, CPU_TARGET);
        (
            format!("CPU {cpu_verdict}; ops/s {ops_target}"),
            cpu_met && ops_met,
        )
    } else {
        (format!("CPU: no target; ops/s {ops_target}"), ops_met)
    };
    Ok(Figure {
        section: Section::Tracker,
        line: format!(
            "tracker {:<9} c={conc:<3} sockets={sockets:<3} client {:>9} ops/s  raw {:>9} ops/s  ratio {ratio:.2}x  CPU/op {} vs {} µs = {} (typed floor {typed_cpu} µs = {typed_ratio}; cluster {} vs {})  p50 {} vs {} µs  ({target})",
            op.name(),
            rate(o.ops_per_sec),
            rate(b.ops_per_sec),
            us(o.cpu_us_per_op),
            us(b.cpu_us_per_op),
            cpu_ratio(cpu, cpu_target),
            us(o.server_cpu_us_per_op),
            us(b.server_cpu_us_per_op),
            us(o.p50_us),
            us(b.p50_us),
        ),
        cells: vec![
            format!("`{}`", op.name()),
            conc.to_string(),
            sockets.to_string(),
            rate(o.ops_per_sec),
            rate(b.ops_per_sec),
            format!("**{ratio:.2}x**"),
            format!("{} / {}", us(o.p50_us), us(o.p99_us)),
            format!("{} / {}", us(b.p50_us), us(b.p99_us)),
            us(o.cpu_us_per_op),
            us(b.cpu_us_per_op),
            format!("**{}**", cpu_ratio(cpu, cpu_target)),
            typed_cpu,
            typed_ratio,
            format!(
                "{} / {}",
                us(o.server_cpu_us_per_op),
                us(b.server_cpu_us_per_op)
            ),
            target,
        ],
        met: Some(met),
    })
}

/// `bench tracker-loop TRACKER DOMAIN REQUESTS CONCURRENCY [client|raw|typed] [get_paths|file_info]`:
/// a diagnostic, never on the page.
///
/// Sends exactly REQUESTS requests of part 1's command (`get_paths` with `noverify=1`, the
/// default, or `file_info`; the bench's keys), CONCURRENCY at
/// a time on the bench's two-worker runtime, through one `TrackerClient` (`client`, the
/// default) or as part 1's raw loop does (`raw`: precomputed lines, one socket per worker, a
/// line read back; or `typed`: the raw loop plus the protocol's own work, see [`typed_loop`]),
/// and reads no clock and no CPU counter. Run under `valgrind --tool=callgrind`
/// with two request counts, the difference of the instruction totals divided by the difference
/// of the counts is the user-space instructions per request: unlike CPU time on a shared
/// machine, it is the same from run to run, so it can tell changes of a few per cent apart.
pub(crate) fn tracker_loop(args: &[String]) -> std::process::ExitCode {
    let result = (|| {
        let usage = || {
            "usage: tracker-loop TRACKER DOMAIN REQUESTS CONCURRENCY [client|raw|typed] \
             [get_paths|file_info]"
                .to_owned()
        };
        let (tracker, domain, requests, conc, rest) = match args {
            [t, d, n, c, rest @ ..] if rest.len() <= 2 => (t, d, n, c, rest),
            _ => return Err(usage()),
        };
        let side = match rest.first().map(String::as_str) {
            None | Some("client") => Side::Client,
            Some("raw") => Side::Raw,
            Some("typed") => Side::Typed,
            Some(_) => return Err(usage()),
        };
        let op = match rest.get(1).map(String::as_str) {
            None | Some("get_paths") => Op::GetPaths,
            Some("file_info") => Op::FileInfo,
            Some(_) => return Err(usage()),
        };
        let requests: usize = requests.parse().map_err(|_| "REQUESTS: a number")?;
        let conc: usize = conc.parse().map_err(|_| "CONCURRENCY: a number")?;
        // Built before any request, as part 1 does: the keys for the client, the whole lines
        // (with their `callid`) for the raw loop.
        let keys: Arc<Vec<String>> = Arc::new(
            (0..super::ROUND_TRIP_KEYS)
                .map(super::round_trip_key)
                .collect(),
        );
        let domain: Arc<str> = Arc::from(domain.as_str());
        let rt = super::client::runtime()?;
        rt.block_on(async {
            if let Side::Typed = side {
                return typed_loop(tracker, &domain, &keys, requests, conc, op).await;
            }
            if let Side::Raw = side {
                let lines: Arc<Vec<Vec<u8>>> = Arc::new(
                    keys.iter()
                        .zip(RAW_CALLID_BASE..)
                        .map(|(k, callid)| match op {
                            Op::GetPaths => request_line(
                                &GetPaths::new(&*domain, k.as_str()).noverify(true),
                                callid,
                            ),
                            Op::FileInfo => {
                                request_line(&FileInfo::new(&*domain, k.as_str()), callid)
                            }
                        })
                        .collect(),
                );
                let mut tasks = Vec::with_capacity(conc);
                for i in 0..conc {
                    let mut conn = LineConn::connect(tracker).await?;
                    let lines = Arc::clone(&lines);
                    tasks.push(tokio::spawn(async move {
                        for k in (i..requests).step_by(conc) {
                            conn.write(&lines[k % lines.len()]).await?;
                            conn.read_line().await?;
                        }
                        Ok::<(), String>(())
                    }));
                }
                for task in tasks {
                    task.await.map_err(|e| format!("worker: {e}"))??;
                }
                return Ok(());
            }
            let client = TrackerClient::builder()
                .trackers([tracker.as_str()])
                .pool(PoolSettings {
                    max_size: conc,
                    ..PoolSettings::default()
                })
                .build()
                .map_err(|e| format!("tracker client: {e}"))?;
            let tasks: Vec<_> = (0..conc)
                .map(|i| {
                    let (client, keys, domain) =
                        (client.clone(), Arc::clone(&keys), Arc::clone(&domain));
                    tokio::spawn(async move {
                        for k in (i..requests).step_by(conc) {
                            let key = keys[k % keys.len()].as_str();
                            let done = match op {
                                Op::GetPaths => client
                                    .get_paths(GetPaths::new(&*domain, key).noverify(true))
                                    .await
                                    .map(drop),
                                Op::FileInfo => client
                                    .file_info(FileInfo::new(&*domain, key))
                                    .await
                                    .map(drop),
                            };
                            done.map_err(|e| format!("{}: {e}", op.name()))?;
                        }
                        Ok::<(), String>(())
                    })
                })
                .collect();
            for task in tasks {
                task.await.map_err(|e| format!("worker: {e}"))??;
            }
            client.close();
            Ok(())
        })
    })();
    super::client::finish(result, "tracker-loop")
}

/// Which loop `tracker-loop` runs.
#[derive(Debug, Clone, Copy)]
enum Side {
    Client,
    Raw,
    Typed,
}

/// `tracker-loop`'s `typed` side: the raw loop's sockets, with the protocol's work per request
/// ([`TypedConn`]), the command built from its key as the client side builds it.
async fn typed_loop(
    tracker: &str,
    domain: &Arc<str>,
    keys: &Arc<Vec<String>>,
    requests: usize,
    conc: usize,
    op: Op,
) -> Result<(), String> {
    let mut tasks = Vec::with_capacity(conc);
    for i in 0..conc {
        let mut conn = TypedConn::connect(tracker).await?;
        let (keys, domain) = (Arc::clone(keys), Arc::clone(domain));
        tasks.push(tokio::spawn(async move {
            for k in (i..requests).step_by(conc) {
                typed_request(&mut conn, op, &domain, &keys, k).await?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| format!("worker: {e}"))??;
    }
    Ok(())
}

/// One request of the typed floor: the command built from key `k` as the client side builds it,
/// with the `callid` its raw line carries.
async fn typed_request(
    conn: &mut TypedConn,
    op: Op,
    domain: &str,
    keys: &[String],
    k: usize,
) -> Result<(), String> {
    let at = k % keys.len();
    let (key, callid) = (keys[at].as_str(), RAW_CALLID_BASE + at as u64);
    match op {
        Op::GetPaths => {
            let cmd = GetPaths::new(domain, key).noverify(true);
            conn.exchange(&cmd, callid).await
        }
        Op::FileInfo => conn.exchange(&FileInfo::new(domain, key), callid).await,
    }
}
