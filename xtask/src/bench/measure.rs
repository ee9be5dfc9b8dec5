//! Timed rounds of concurrent workers, CPU time, and the statistics the report prints.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// CPU time (user + system) used so far by this whole process, every thread included.
pub(crate) fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// The cluster process, whose CPU time each round also reads (from `/proc`), so that the report
/// can say when the fake, not the client, is the bottleneck.
pub(crate) static SERVER_PID: OnceLock<u32> = OnceLock::new();

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux).
const CLK_TCK: f64 = 100.0;

/// CPU time (user + system) used so far by the cluster process, at 10 ms resolution.
fn server_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", SERVER_PID.get()?)).ok()?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / CLK_TCK))
}

/// What one timed round of workers did.
#[derive(Debug, Clone)]
pub(crate) struct Round {
    /// Completed operations.
    pub(crate) ops: u64,
    /// Wall time from the start to the last worker's end.
    pub(crate) wall: Duration,
    /// CPU time the process used meanwhile.
    pub(crate) cpu: Duration,
    /// CPU time the cluster process used meanwhile, when known.
    pub(crate) server_cpu: Option<Duration>,
    /// Latency of every operation, in nanoseconds.
    pub(crate) latencies: Vec<u64>,
}

impl Round {
    pub(crate) fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// CPU microseconds per operation.
    pub(crate) fn cpu_us_per_op(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.ops.max(1) as f64
    }

    /// The cluster's CPU microseconds per operation.
    fn server_cpu_us_per_op(&self) -> Option<f64> {
        Some(self.server_cpu?.as_secs_f64() * 1e6 / self.ops.max(1) as f64)
    }
}

/// A flag the workers poll between operations: the round is over once it is set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stop(Arc<AtomicBool>);

impl Stop {
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Times one operation and records its latency.
pub(crate) async fn timed<F, T, E>(latencies: &mut Vec<u64>, op: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let start = Instant::now();
    let out = op.await?;
    latencies.push(start.elapsed().as_nanos() as u64);
    Ok(out)
}

/// Runs `workers` tasks made by `make(index, stop)` for `duration`, then stops them and collects
/// their latencies. Each task loops on its operation until `stop` is set and returns the latency of
/// each operation it completed.
pub(crate) async fn run_round<F, Fut>(
    workers: usize,
    duration: Duration,
    make: F,
) -> Result<Round, String>
where
    F: Fn(usize, Stop) -> Fut,
    Fut: Future<Output = Result<Vec<u64>, String>> + Send + 'static,
{
    let stop = Stop::default();
    let cpu0 = process_cpu();
    let server0 = server_cpu();
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|i| tokio::spawn(make(i, stop.clone())))
        .collect();
    tokio::time::sleep(duration).await;
    stop.0.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        let mut lat = task.await.map_err(|e| format!("worker panicked: {e}"))??;
        latencies.append(&mut lat);
    }
    let wall = start.elapsed();
    let cpu = process_cpu().saturating_sub(cpu0);
    let server_cpu = server_cpu()
        .zip(server0)
        .map(|(now, then)| now.saturating_sub(then));
    Ok(Round {
        ops: latencies.len() as u64,
        wall,
        cpu,
        server_cpu,
        latencies,
    })
}

/// The median of some values (the mean of the middle two for an even count).
pub(crate) fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `q` quantile (0..=1) of latencies in nanoseconds, in microseconds (nearest rank).
pub(crate) fn percentile_us(sorted_ns: &[u64], q: f64) -> f64 {
    if sorted_ns.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted_ns.len() as f64).ceil() as usize).clamp(1, sorted_ns.len());
    sorted_ns[rank - 1] as f64 / 1000.0
}

/// The figures of several alternated rounds of one side (the client or its baseline).
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    /// Median over rounds of operations per second.
    pub(crate) ops_per_sec: f64,
    /// Median over rounds of CPU microseconds per operation.
    pub(crate) cpu_us_per_op: f64,
    /// Latency percentiles over every operation of every round, in microseconds.
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    /// Median over rounds of the cluster's CPU microseconds per operation (NaN if unknown).
    pub(crate) server_cpu_us_per_op: f64,
}

impl Summary {
    pub(crate) fn of(rounds: &[Round]) -> Self {
        let ops: Vec<f64> = rounds.iter().map(Round::ops_per_sec).collect();
        let cpu: Vec<f64> = rounds.iter().map(Round::cpu_us_per_op).collect();
        let server: Vec<f64> = rounds
            .iter()
            .filter_map(Round::server_cpu_us_per_op)
            .collect();
        let mut all: Vec<u64> = rounds
            .iter()
            .flat_map(|r| r.latencies.iter().copied())
            .collect();
        all.sort_unstable();
        Self {
            ops_per_sec: median(&ops),
            cpu_us_per_op: median(&cpu),
            p50_us: percentile_us(&all, 0.50),
            p99_us: percentile_us(&all, 0.99),
            server_cpu_us_per_op: median(&server),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let lat: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_us(&lat, 0.5), 50.0);
        assert_eq!(percentile_us(&lat, 0.99), 99.0);
        assert_eq!(percentile_us(&lat, 1.0), 100.0);
    }

    #[tokio::test]
    async fn a_round_counts_every_operation_and_cpu() {
        let round = run_round(3, Duration::from_millis(30), |_, stop| async move {
            let mut lat = Vec::new();
            while !stop.is_set() {
                timed(&mut lat, async {
                    tokio::task::yield_now().await;
                    Ok::<_, String>(())
                })
                .await?;
            }
            Ok(lat)
        })
        .await
        .unwrap();
        assert!(round.ops > 0);
        assert_eq!(round.ops as usize, round.latencies.len());
        assert!(round.wall >= Duration::from_millis(30));
    }
}
