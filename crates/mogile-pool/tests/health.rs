//! Endpoint health: connection failures mark an endpoint inactive (only when there is another
//! to fail over to), the background prober checks every endpoint (inactive ones every round,
//! active ones on a longer period) and restores or demotes it, and `candidates()` prefers the
//! active ones but never returns an empty list.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use mogile_pool::{Connector, Endpoint, Pool, PoolError, PoolSettings, Pooled, ProbeError};

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection refused")
    }
}

impl std::error::Error for Refused {}

/// One toy server's behaviour, switchable by the test.
#[derive(Default)]
struct Server {
    /// Connections are refused.
    down: AtomicBool,
    /// Connections open but probes never answer.
    silent: AtomicBool,
    /// Probes answer after this many milliseconds.
    probe_delay_ms: AtomicU64,
    connects: AtomicUsize,
}

#[derive(Default)]
struct Toy {
    servers: HashMap<Endpoint, Server>,
}

impl Toy {
    fn new(endpoints: &[&str]) -> Arc<Self> {
        Arc::new(Self {
            servers: endpoints
                .iter()
                .map(|e| (Endpoint::from(*e), Server::default()))
                .collect(),
        })
    }

    fn server(&self, ep: &str) -> &Server {
        &self.servers[&Endpoint::from(ep)]
    }
}

impl Connector for Toy {
    type Connection = Endpoint;
    type Error = Refused;

    async fn connect(&self, ep: &Endpoint) -> Result<Endpoint, Refused> {
        let server = &self.servers[ep];
        server.connects.fetch_add(1, Ordering::SeqCst);
        if server.down.load(Ordering::SeqCst) {
            Err(Refused)
        } else {
            Ok(ep.clone())
        }
    }

    fn is_open(&self, _: &Endpoint) -> bool {
        true
    }

    async fn probe(&self, ep: &mut Endpoint) -> Result<(), Refused> {
        let server = &self.servers[&*ep];
        if server.silent.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let delay = server.probe_delay_ms.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        Ok(())
    }
}

const A: &str = "127.0.0.1:7001";
const B: &str = "127.0.0.1:7002";
const C: &str = "127.0.0.1:7003";

/// A pool probing inactive endpoints every 5 s and active ones every 10 s, with a 1 s probe
/// timeout.
fn pool(toy: &Arc<Toy>, endpoints: &[&str]) -> Pool<Arc<Toy>> {
    Pool::builder(Arc::clone(toy), endpoints.iter().copied())
        .settings(PoolSettings {
            probe_interval: Duration::from_secs(5),
            probe_interval_active: Duration::from_secs(10),
            probe_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            ..PoolSettings::default()
        })
        .rng_seed(7)
        .build()
        .unwrap()
}

fn active(pool: &Pool<Arc<Toy>>, ep: &str) -> bool {
    pool.status().endpoint(&Endpoint::from(ep)).unwrap().active
}

/// Jumps the paused clock, running every timer due on the way; no real time passes.
async fn advance(secs: f64) {
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
}

#[tokio::test(start_paused = true)]
async fn a_connection_failure_marks_the_endpoint_inactive() {
    let toy = Toy::new(&[A, B, C]);
    let pool = pool(&toy, &[A, B, C]);
    toy.server(B).down.store(true, Ordering::SeqCst);

    let err = pool.get(&Endpoint::from(B)).await.unwrap_err();
    assert!(err.is_connect());
    assert!(matches!(&err, PoolError::Connect { endpoint, .. } if endpoint.as_str() == B));
    assert_eq!(err.to_string(), format!("cannot connect to {B}"));
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "connection refused"
    );
    assert!(!active(&pool, B));
    assert!(active(&pool, A) && active(&pool, C));
}

#[tokio::test(start_paused = true)]
async fn a_reported_failure_marks_the_endpoint_inactive() {
    let toy = Toy::new(&[A, B]);
    let pool = pool(&toy, &[A, B]);
    pool.mark_failed(&Endpoint::from(A));
    assert!(!active(&pool, A));
    assert!(active(&pool, B));
}

#[tokio::test(start_paused = true)]
async fn with_a_single_endpoint_nothing_is_marked_inactive() {
    let toy = Toy::new(&[A]);
    let pool = pool(&toy, &[A]);
    toy.server(A).down.store(true, Ordering::SeqCst);
    assert!(pool.get(&Endpoint::from(A)).await.is_err());
    pool.mark_failed(&Endpoint::from(A));
    assert!(active(&pool, A));
    // The prober (an active endpoint's, at 10 s) fails too, and still leaves the only
    // endpoint in place.
    advance(10.5).await;
    let status = pool.status();
    let s = status.endpoint(&Endpoint::from(A)).unwrap();
    assert!(s.active);
    assert_eq!(s.probe_failures, 1);
    assert_eq!(pool.candidates(), vec![Endpoint::from(A)]);
}

#[tokio::test(start_paused = true)]
async fn the_probe_restores_an_endpoint_that_recovered() {
    let toy = Toy::new(&[A, B]);
    let pool = pool(&toy, &[A, B]);
    toy.server(B).down.store(true, Ordering::SeqCst);
    assert!(pool.get(&Endpoint::from(B)).await.is_err());
    assert!(!active(&pool, B));

    // Still down at the 5 s probe: stays inactive.
    advance(5.5).await;
    assert!(!active(&pool, B));
    let failures = pool
        .status()
        .endpoint(&Endpoint::from(B))
        .unwrap()
        .probe_failures;
    assert_eq!(failures, 1);

    // Back up before the 10 s probe: active again.
    toy.server(B).down.store(false, Ordering::SeqCst);
    advance(5.0).await;
    assert!(active(&pool, B));
    assert!(pool.candidates().contains(&Endpoint::from(B)));
}

#[tokio::test(start_paused = true)]
async fn the_probe_catches_an_active_endpoint_that_stopped_answering() {
    let toy = Toy::new(&[A, B]);
    let pool = pool(&toy, &[A, B]);
    assert!(active(&pool, B));
    // Connections still open, but nothing answers.
    toy.server(B).silent.store(true, Ordering::SeqCst);

    // Active endpoints are probed every 10 s: the probe starts at 10 s and times out at 11 s.
    advance(10.5).await;
    assert!(active(&pool, B));
    assert_eq!(
        pool.status()
            .endpoint(&Endpoint::from(B))
            .unwrap()
            .probes_in_flight,
        1
    );
    advance(1.0).await;
    let status = pool.status();
    let s = status.endpoint(&Endpoint::from(B)).unwrap();
    assert!(!s.active);
    assert_eq!((s.probes_in_flight, s.probe_failures), (0, 1));
    // A, probed at the same time, answered.
    assert!(active(&pool, A));
}

#[tokio::test(start_paused = true)]
async fn status_reports_the_last_probe_latency_or_error() {
    let toy = Toy::new(&[A, B, C]);
    let pool = pool(&toy, &[A, B, C]);
    let last = |ep: &str| {
        pool.status()
            .endpoint(&Endpoint::from(ep))
            .unwrap()
            .last_probe
            .clone()
    };
    assert!(last(A).is_none(), "no probe has run yet");
    toy.server(A).probe_delay_ms.store(300, Ordering::SeqCst);
    toy.server(B).down.store(true, Ordering::SeqCst);
    toy.server(C).silent.store(true, Ordering::SeqCst);

    // The 10 s round probes every active endpoint: A answers in 300 ms, B refuses the
    // connection, C's probe times out after 1 s.
    advance(11.5).await;
    let a = last(A).unwrap();
    assert_eq!(a.result.unwrap(), Duration::from_millis(300));
    assert!(active(&pool, A));

    let b = last(B).unwrap();
    let err = b.result.unwrap_err();
    assert!(matches!(err, ProbeError::Connect(_)), "{err:?}");
    assert_eq!(err.to_string(), "connect failed");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "connection refused"
    );
    assert!(!active(&pool, B));

    let c = last(C).unwrap();
    assert!(matches!(c.result, Err(ProbeError::ProbeTimeout)), "{c:?}");
    assert!(c.at > b.at, "C's probe finished a second after B's");
    assert!(!active(&pool, C));

    // B recovers: the next round (inactive endpoints every 5 s) records a success.
    toy.server(B).down.store(false, Ordering::SeqCst);
    advance(5.0).await;
    assert_eq!(last(B).unwrap().result.unwrap(), Duration::ZERO);
    assert!(active(&pool, B));
}

#[tokio::test(start_paused = true)]
async fn probe_now_demotes_only_on_a_failed_probe() {
    let toy = Toy::new(&[A, B]);
    let pool = pool(&toy, &[A, B]);
    let b = Endpoint::from(B);

    // A slow reply prompts a probe; the probe answers, so B stays active.
    pool.probe_now(&b);
    advance(0.5).await;
    assert!(active(&pool, B));
    assert_eq!(toy.server(B).connects.load(Ordering::SeqCst), 1);

    toy.server(B).silent.store(true, Ordering::SeqCst);
    pool.probe_now(&b);
    advance(1.5).await;
    assert!(!active(&pool, B));
}

#[tokio::test(start_paused = true)]
async fn probes_use_their_own_connection_outside_max_size() {
    let toy = Toy::new(&[A, B]);
    let pool = Pool::builder(Arc::clone(&toy), [A, B])
        .settings(PoolSettings {
            max_size: 1,
            probe_interval: Duration::from_secs(5),
            probe_interval_active: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(1),
            ..PoolSettings::default()
        })
        .build()
        .unwrap();
    let a = Endpoint::from(A);
    let held = pool.get(&a).await.unwrap();
    toy.server(A).silent.store(true, Ordering::SeqCst);

    advance(5.5).await;
    let status = pool.status();
    let s = status.endpoint(&a).unwrap();
    // The probe opened a second connection although the pool's only slot is taken, and it
    // is not counted among the pool's connections.
    assert_eq!(toy.server(A).connects.load(Ordering::SeqCst), 2);
    assert_eq!((s.open, s.in_use, s.probes_in_flight), (1, 1, 1));
    Pooled::release(held);
}

#[tokio::test(start_paused = true)]
async fn selection_is_random_among_the_active_endpoints() {
    let toy = Toy::new(&[A, B, C]);
    let pool = pool(&toy, &[A, B, C]);
    let mut first = HashMap::new();
    for _ in 0..60 {
        let order = pool.candidates();
        assert_eq!(order.len(), 3);
        *first.entry(order[0].clone()).or_insert(0) += 1;
    }
    assert_eq!(
        first.len(),
        3,
        "every endpoint comes first sometimes: {first:?}"
    );

    pool.mark_failed(&Endpoint::from(B));
    let mut first = HashMap::new();
    for _ in 0..60 {
        let order = pool.candidates();
        assert_eq!(order.len(), 2);
        assert!(!order.contains(&Endpoint::from(B)));
        *first.entry(order[0].clone()).or_insert(0) += 1;
    }
    assert_eq!(first.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_seeded_pool_orders_candidates_reproducibly() {
    let toy = Toy::new(&[A, B, C]);
    let one = pool(&toy, &[A, B, C]);
    let two = pool(&toy, &[A, B, C]);
    for _ in 0..10 {
        assert_eq!(one.candidates(), two.candidates());
    }
}

#[tokio::test(start_paused = true)]
async fn with_every_endpoint_inactive_selection_still_tries_them_all() {
    let toy = Toy::new(&[A, B, C]);
    let pool = pool(&toy, &[A, B, C]);
    for ep in [A, B, C] {
        pool.mark_failed(&Endpoint::from(ep));
    }
    assert!(pool.status().endpoints.iter().all(|s| !s.active));
    let mut first = HashMap::new();
    for _ in 0..60 {
        let mut order = pool.candidates();
        *first.entry(order[0].clone()).or_insert(0) += 1;
        order.sort();
        assert_eq!(
            order,
            vec![Endpoint::from(A), Endpoint::from(B), Endpoint::from(C)]
        );
    }
    assert_eq!(first.len(), 3, "in random order: {first:?}");
    // And a checkout to an inactive endpoint is still attempted.
    assert!(pool.get(&Endpoint::from(A)).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn the_background_tasks_stop_with_the_last_pool_handle() {
    let toy = Toy::new(&[A, B]);
    let pool = pool(&toy, &[A, B]);
    let clone = pool.clone();
    drop(pool);
    advance(10.5).await;
    // A clone keeps the prober running.
    assert_eq!(toy.server(A).connects.load(Ordering::SeqCst), 1);

    drop(clone);
    advance(60.0).await;
    assert_eq!(toy.server(A).connects.load(Ordering::SeqCst), 1);
    // Nothing holds the connector any more: the tasks are gone.
    assert_eq!(Arc::strong_count(&toy), 1);
}

fn connects(toy: &Toy, ep: &str) -> usize {
    toy.server(ep).connects.load(Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn active_endpoints_are_probed_on_the_longer_period_inactive_ones_every_round() {
    let toy = Toy::new(&[A, B]);
    let pool = Pool::builder(Arc::clone(&toy), [A, B])
        .settings(PoolSettings {
            probe_interval: Duration::from_secs(2),
            probe_interval_active: Duration::from_secs(30),
            probe_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            ..PoolSettings::default()
        })
        .build()
        .unwrap();
    // B is down: the failed checkout (one connect) marks it inactive.
    toy.server(B).down.store(true, Ordering::SeqCst);
    assert!(pool.get(&Endpoint::from(B)).await.is_err());
    assert!(!active(&pool, B));
    assert_eq!(connects(&toy, B), 1);

    // Rounds at 2, 4, ..., 28 s probe the inactive B (each probe is one connect) and leave the
    // active A alone.
    advance(29.5).await;
    assert_eq!((connects(&toy, A), connects(&toy, B)), (0, 1 + 14));
    // The 30 s round probes both.
    advance(1.0).await;
    assert_eq!((connects(&toy, A), connects(&toy, B)), (1, 1 + 15));
    assert_eq!(
        pool.status()
            .endpoint(&Endpoint::from(A))
            .unwrap()
            .probe_failures,
        0
    );

    // B recovers: the 32 s round restores it, and from then on it is probed on the active
    // period, 30 s after that probe.
    toy.server(B).down.store(false, Ordering::SeqCst);
    advance(2.0).await;
    assert!(active(&pool, B));
    assert_eq!(connects(&toy, B), 1 + 16);
    advance(29.0).await; // 61.5 s: A's second probe (60 s) is done, B's (62 s) is not.
    assert_eq!((connects(&toy, A), connects(&toy, B)), (2, 1 + 16));
    advance(1.0).await;
    assert_eq!((connects(&toy, A), connects(&toy, B)), (2, 1 + 17));
    // Nothing but probes opened a connection, and no checkout happened: none is pooled.
    assert!(pool.status().endpoints.iter().all(|s| s.open == 0));
}

/// `candidate_order` draws what `candidates` shuffles: the same endpoints, each once, in an order
/// where every one comes first sometimes; all of them when none is active; reproducible by seed.
#[tokio::test(start_paused = true)]
async fn the_lazy_order_covers_what_candidates_covers() {
    let toy = Toy::new(&[A, B, C]);
    let pool = pool(&toy, &[A, B, C]);
    let order =
        |pool: &Pool<Arc<Toy>>| -> Vec<Endpoint> { pool.candidate_order().cloned().collect() };
    let mut first = HashMap::new();
    let mut positions = HashMap::new();
    for _ in 0..90 {
        let got = order(&pool);
        for (i, ep) in got.iter().enumerate() {
            *positions.entry((ep.clone(), i)).or_insert(0) += 1;
        }
        *first.entry(got[0].clone()).or_insert(0) += 1;
        let mut sorted = got;
        sorted.sort();
        assert_eq!(
            sorted,
            vec![Endpoint::from(A), Endpoint::from(B), Endpoint::from(C)]
        );
    }
    assert_eq!(
        first.len(),
        3,
        "every endpoint comes first sometimes: {first:?}"
    );
    assert_eq!(positions.len(), 9, "and at every place: {positions:?}");

    pool.mark_failed(&Endpoint::from(B));
    for _ in 0..30 {
        let got = order(&pool);
        assert_eq!(got.len(), 2);
        assert!(!got.contains(&Endpoint::from(B)));
    }

    for ep in [A, C] {
        pool.mark_failed(&Endpoint::from(ep));
    }
    let mut got = order(&pool);
    got.sort();
    assert_eq!(
        got,
        vec![Endpoint::from(A), Endpoint::from(B), Endpoint::from(C)],
        "none active: all of them"
    );

    let (one, two) = (crate::pool(&toy, &[A, B, C]), crate::pool(&toy, &[A, B, C]));
    for _ in 0..10 {
        assert_eq!(order(&one), order(&two));
    }
}

#[tokio::test(start_paused = true)]
async fn with_one_endpoint_the_lazy_order_gives_it_once() {
    let toy = Toy::new(&[A]);
    let pool = pool(&toy, &[A]);
    let got: Vec<&Endpoint> = pool.candidate_order().collect();
    assert_eq!(got, vec![&Endpoint::from(A)]);
}
