//! The model-based soak: 2 trackers, 3 storage nodes, 32 concurrent tasks doing seeded mixes of
//! put/get/rename/delete/list while a seeded schedule injects faults; invariants 1-6 checked
//! throughout and once more with every fault cleared.
//!
//! CI runs [`soak_ci`] (1536 operations, at most 30 s of them). [`soak_long`] is `#[ignore]`d and sized
//! by `RELIABILITY_SOAK_OPS` (default 20 000): `RELIABILITY_SOAK_OPS=50000 cargo test -p
//! mogile-tests soak_long -- --ignored --nocapture`. `RELIABILITY_SEED` replays a schedule.

mod faults;
pub(super) mod model;
pub(super) mod worker;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mogile_testkit::TestCluster;
use mogilefs::{Client, ClientConfig, KeyPolicy, PoolSettings, StorageConfig, TrackerConfig};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::watch;
use tokio::time::Instant;

use super::support::{library_panics, seed, watch_panics};

/// Concurrent tasks.
const TASKS: usize = 32;
/// Open connections per tracker the client may have (invariant 5 checks it).
const POOL_SIZE: usize = 8;
/// Reads of at least this many bytes are striped.
const STRIPE_THRESHOLD: u64 = 128 * 1024;

/// Counters and findings shared by the tasks.
pub(super) struct Shared {
    pub(super) ops: watch::Sender<u64>,
    pub(super) ok: AtomicU64,
    pub(super) typed_errors: AtomicU64,
    violations: Mutex<Vec<String>>,
}

impl Shared {
    pub(super) fn violation(&self, v: String) {
        eprintln!("VIOLATION: {v}");
        self.violations.lock().unwrap().push(v);
    }

    /// Invariant 5: request connections per tracker stay within the pool size.
    pub(super) fn check_pools(&self, client: &Client) {
        for ep in client.tracker().status().endpoints {
            if ep.open > ep.max_size || ep.in_use > ep.max_size {
                self.violation(format!("pool over its size: {ep:?}"));
            }
        }
    }
}

/// What one soak run did.
#[derive(Debug)]
struct Report {
    seed: u64,
    operations: u64,
    succeeded: u64,
    typed_errors: u64,
    faults_injected: usize,
    replication_rounds: usize,
    elapsed: Duration,
    violations: Vec<String>,
    /// Fetches read as stripes, and hedges sent.
    striped_fetches: u64,
    hedges: u64,
}

async fn soak(name: &'static str, ops_per_task: u64, budget: Duration) -> Report {
    watch_panics();
    let (seed, _guard) = seed(name);
    let started = Instant::now();
    let cluster = TestCluster::builder()
        .trackers(2)
        .storage_nodes(3)
        .devices_per_node(1)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .trackers(cluster.tracker_addrs())
        .domain(cluster.domain())
        .config(ClientConfig {
            key_policy: KeyPolicy::Strict,
            no_devices_retries: 1,
            no_devices_backoff: Duration::from_millis(10),
            // Striping and hedging on, at sizes the soak really reaches: files from 128 KiB
            // up (about 5% of them) are read as 32 KiB stripes from every replica, and opening
            // requests are hedged (adaptive delay, default budget).
            stripe_threshold: STRIPE_THRESHOLD,
            stripe_size: 32 * 1024,
            hedge_after: mogilefs::HedgeAfter::Adaptive,
            ..ClientConfig::default()
        })
        .tracker(TrackerConfig {
            file_timeout: Duration::from_secs(1),
            pool: PoolSettings {
                connect_timeout: Duration::from_secs(1),
                max_size: POOL_SIZE,
                ..PoolSettings::default()
            },
            ..TrackerConfig::default()
        })
        .storage(StorageConfig {
            connect_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            headers_timeout: Duration::from_secs(1),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();

    let mut rng = StdRng::seed_from_u64(seed);
    let striped_before = client.read_stats().striped_fetches;
    let total = ops_per_task * TASKS as u64;
    let steps = faults::schedule(&mut rng, total, 2, 3);
    let (ops_tx, ops_rx) = watch::channel(0u64);
    let shared = Arc::new(Shared {
        ops: ops_tx,
        ok: AtomicU64::new(0),
        typed_errors: AtomicU64::new(0),
        violations: Mutex::new(Vec::new()),
    });
    let deadline = started + budget;

    let cluster = Arc::new(cluster);
    let controller = tokio::spawn(run_schedule(cluster.clone(), steps.clone(), ops_rx));
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let task_rng = StdRng::seed_from_u64(seed ^ ((task as u64 + 1) * 0x9e37_79b9));
        tasks.spawn(worker::run(
            task,
            client.clone(),
            task_rng,
            ops_per_task,
            deadline,
            shared.clone(),
        ));
    }
    let mut models = Vec::new();
    while let Some(model) = tasks.join_next().await {
        models.push(model.expect("a soak task panicked"));
    }
    controller.abort();
    let operations = *shared.ops.borrow();

    // Every fault off, every file replicated: now everything stored must be readable.
    faults::clear_all(&cluster);
    cluster.replicate_all().await.unwrap();
    for model in &mut models {
        for v in worker::verify(&client, model).await {
            shared.violation(v);
        }
    }
    shared.check_pools(&client);
    for p in library_panics() {
        shared.violation(format!("panic in library code: {p}"));
    }
    client.close().await;

    let faults_injected = steps
        .iter()
        .filter(|s| s.at < operations && !matches!(s.kind, faults::FaultKind::Replicate))
        .count();
    let replication_rounds = steps
        .iter()
        .filter(|s| s.at < operations && matches!(s.kind, faults::FaultKind::Replicate))
        .count();
    let report = Report {
        seed,
        operations,
        succeeded: shared.ok.load(Ordering::Relaxed),
        typed_errors: shared.typed_errors.load(Ordering::Relaxed),
        faults_injected,
        replication_rounds,
        elapsed: started.elapsed(),
        violations: shared.violations.lock().unwrap().clone(),
        striped_fetches: client.read_stats().striped_fetches - striped_before,
        hedges: client.read_stats().hedges,
    };
    eprintln!(
        "{name}: seed {}, {} operations ({} ok, {} typed errors), {} faults injected, \
         {} replication rounds, {} striped fetches, {} hedges, {} violations, {:?}",
        report.seed,
        report.operations,
        report.succeeded,
        report.typed_errors,
        report.faults_injected,
        report.replication_rounds,
        report.striped_fetches,
        report.hedges,
        report.violations.len(),
        report.elapsed
    );
    report
}

/// Applies each step when the operation count reaches it, and undoes it at its end.
async fn run_schedule(
    cluster: Arc<TestCluster>,
    steps: Vec<faults::Step>,
    mut ops: watch::Receiver<u64>,
) {
    let mut events: Vec<(u64, bool, faults::FaultKind)> = Vec::new();
    for s in steps {
        events.push((s.until, false, s.kind.clone()));
        events.push((s.at, true, s.kind));
    }
    events.sort_by_key(|e| e.0);
    for (at, apply, kind) in events {
        if ops.wait_for(|n| *n >= at).await.is_err() {
            return;
        }
        if apply {
            faults::apply(&cluster, &kind).await;
        } else {
            faults::undo(&cluster, &kind);
        }
    }
}

fn assert_clean(report: &Report) {
    assert!(
        report.violations.is_empty(),
        "seed {}: {} violation(s): {:#?}",
        report.seed,
        report.violations.len(),
        report.violations
    );
    // Even on a loaded machine the budget allows many times this; fewer means the soak stalled.
    assert!(
        report.operations >= 300,
        "only {} operations ran",
        report.operations
    );
    // The reads that stripe are a few percent of the operations: some ran.
    assert!(report.striped_fetches > 0, "no read was striped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_ci() {
    let report = soak("soak_ci", 48, Duration::from_secs(30)).await;
    assert_clean(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long soak: RELIABILITY_SOAK_OPS=20000 cargo test -p mogile-tests soak_long -- --ignored"]
async fn soak_long() {
    let total: u64 = std::env::var("RELIABILITY_SOAK_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let report = soak(
        "soak_long",
        total.div_ceil(TASKS as u64),
        Duration::from_secs(1800),
    )
    .await;
    assert_clean(&report);
}
