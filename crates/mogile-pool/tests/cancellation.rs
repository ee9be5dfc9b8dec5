//! Cancellation: dropping checkout futures and checked-out connections at arbitrary points
//! leaks no connection and keeps `status()` consistent.
//!
//! A proptest drives random operation sequences against a simple model (which checkouts are
//! pending, which connections are held) on a paused-clock runtime. Checkout futures are
//! polled by hand, so one can be dropped while it waits for a slot, while it connects, or
//! while it probes an idle connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use mogile_pool::{Connector, Endpoint, Pool, PoolError, PoolSettings, Pooled};
use proptest::prelude::*;

#[derive(Debug)]
struct Gone;

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("peer gone")
    }
}

impl std::error::Error for Gone {}

#[derive(Debug)]
struct Conn {
    /// Probes fail.
    dead: Arc<AtomicBool>,
    /// `is_open` says no.
    closed: Arc<AtomicBool>,
    live: Arc<AtomicUsize>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Connects and probes in 2 ms of (paused) time each, so futures can be caught halfway.
#[derive(Default)]
struct Toy {
    live: Arc<AtomicUsize>,
    refuse: AtomicBool,
    /// Every connection ever opened, so a checkout can be checked for staleness.
    opened: Mutex<Vec<(Arc<AtomicBool>, Arc<AtomicBool>)>>,
}

impl Connector for Toy {
    type Connection = Conn;
    type Error = Gone;

    async fn connect(&self, _: &Endpoint) -> Result<Conn, Gone> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        if self.refuse.load(Ordering::SeqCst) {
            return Err(Gone);
        }
        let conn = Conn {
            dead: Arc::default(),
            closed: Arc::default(),
            live: Arc::clone(&self.live),
        };
        self.opened
            .lock()
            .unwrap()
            .push((Arc::clone(&conn.dead), Arc::clone(&conn.closed)));
        self.live.fetch_add(1, Ordering::SeqCst);
        Ok(conn)
    }

    fn is_open(&self, conn: &Conn) -> bool {
        !conn.closed.load(Ordering::SeqCst)
    }

    async fn probe(&self, conn: &mut Conn) -> Result<(), Gone> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        if conn.dead.load(Ordering::SeqCst) {
            Err(Gone)
        } else {
            Ok(())
        }
    }
}

const ENDPOINTS: [&str; 2] = ["127.0.0.1:7001", "127.0.0.1:7002"];
const MAX_SIZE: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    /// Start a checkout and poll it once.
    Start(usize),
    /// Let time pass (paused clock), then poll every pending checkout.
    Advance(u64),
    /// Drop a pending checkout future (cancellation at whatever point it reached).
    DropPending(usize),
    /// Release a held connection after a "successful exchange".
    Release(usize),
    /// Drop a held connection (an error or a cancelled request).
    DropHeld(usize),
    /// Break a held connection: probes fail, and perhaps `is_open` says no.
    Break(usize, bool),
    /// Make connects fail or succeed.
    Refuse(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..ENDPOINTS.len()).prop_map(Op::Start),
        3 => (0u64..30).prop_map(Op::Advance),
        2 => any::<usize>().prop_map(Op::DropPending),
        3 => any::<usize>().prop_map(Op::Release),
        2 => any::<usize>().prop_map(Op::DropHeld),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, c)| Op::Break(i, c)),
        1 => any::<bool>().prop_map(Op::Refuse),
    ]
}

type Outcome = Result<Pooled<Arc<Toy>>, PoolError<Gone>>;
type Checkout = Pin<Box<dyn Future<Output = Outcome>>>;

/// The model: which checkouts are pending and which connections are held, per endpoint.
struct Model {
    pending: Vec<(usize, Checkout)>,
    held: Vec<(usize, Pooled<Arc<Toy>>)>,
}

impl Model {
    /// Polls every pending checkout once; finished ones become held connections or errors.
    async fn poll_pending(&mut self) -> Result<(), TestCaseError> {
        let mut still = Vec::new();
        for (ep, mut fut) in self.pending.drain(..) {
            match std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await {
                Poll::Pending => still.push((ep, fut)),
                Poll::Ready(Ok(conn)) => {
                    // Never hand out a connection known to be unusable.
                    prop_assert!(!conn.closed.load(Ordering::SeqCst));
                    self.held.push((ep, conn));
                }
                Poll::Ready(Err(err)) => {
                    prop_assert!(err.is_timeout() || err.is_connect(), "{err}");
                    prop_assert_eq!(err.endpoint().map(Endpoint::as_str), Some(ENDPOINTS[ep]));
                }
            }
        }
        self.pending = still;
        Ok(())
    }
}

fn check(pool: &Pool<Arc<Toy>>, toy: &Toy, model: &Model) -> Result<(), TestCaseError> {
    let status = pool.status();
    let mut open = 0;
    for (i, s) in status.endpoints.iter().enumerate() {
        let pending = model.pending.iter().filter(|(ep, _)| *ep == i).count();
        let held = model.held.iter().filter(|(ep, _)| *ep == i).count();
        prop_assert_eq!(s.in_use, held);
        prop_assert_eq!(s.waiters, pending);
        prop_assert!(s.open <= MAX_SIZE);
        prop_assert!(s.idle + s.in_use <= s.open);
        // Anything else open is being vetted for a pending checkout.
        prop_assert!(s.open - s.idle - s.in_use <= pending);
        prop_assert_eq!(s.probes_in_flight, 0);
        open += s.open;
    }
    // No leak: every live connection is one the pool counts.
    prop_assert_eq!(toy.live.load(Ordering::SeqCst), open);
    Ok(())
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let toy = Arc::new(Toy::default());
    let pool = Pool::builder(Arc::clone(&toy), ENDPOINTS)
        .settings(PoolSettings {
            max_size: MAX_SIZE,
            max_idle: Some(2),
            idle_timeout: Duration::from_millis(40),
            reap_interval: Duration::from_millis(15),
            probe_idle_after: Duration::from_millis(5),
            probe_timeout: Duration::from_millis(10),
            wait_timeout: Duration::from_millis(25),
            connect_timeout: Duration::from_millis(10),
            // Out of the way: probe connections would be live but outside the pool's count.
            probe_interval: Duration::from_secs(3600),
            ..PoolSettings::default()
        })
        .build()
        .unwrap();
    let endpoints: Vec<Endpoint> = ENDPOINTS.iter().map(|e| Endpoint::from(*e)).collect();
    let mut model = Model {
        pending: Vec::new(),
        held: Vec::new(),
    };

    for op in ops {
        match op {
            Op::Start(ep) => {
                let pool = pool.clone();
                let endpoint = endpoints[ep].clone();
                let fut: Checkout = Box::pin(async move { pool.get(&endpoint).await });
                model.pending.push((ep, fut));
                model.poll_pending().await?;
            }
            Op::Advance(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                model.poll_pending().await?;
            }
            Op::DropPending(i) if !model.pending.is_empty() => {
                let len = model.pending.len();
                drop(model.pending.remove(i % len));
            }
            Op::Release(i) if !model.held.is_empty() => {
                let len = model.held.len();
                Pooled::release(model.held.remove(i % len).1);
            }
            Op::DropHeld(i) if !model.held.is_empty() => {
                let len = model.held.len();
                drop(model.held.remove(i % len));
            }
            Op::Break(i, closed) if !model.held.is_empty() => {
                let len = model.held.len();
                let conn = &model.held[i % len].1;
                conn.dead.store(true, Ordering::SeqCst);
                conn.closed.store(closed, Ordering::SeqCst);
            }
            Op::Refuse(refuse) => toy.refuse.store(refuse, Ordering::SeqCst),
            _ => {}
        }
        check(&pool, &toy, &model)?;
    }

    // Wind down: cancel what is pending, return what is held.
    model.pending.clear();
    for (_, conn) in model.held.drain(..) {
        Pooled::release(conn);
    }
    check(&pool, &toy, &model)?;
    for s in pool.status().endpoints {
        prop_assert_eq!(s.open, s.idle);
    }
    // Nothing stale survives: a connection reported closed never stays in the pool (the
    // registry holds one reference; a live connection holds the other).
    let closed_alive = toy
        .opened
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, closed)| closed.load(Ordering::SeqCst) && Arc::strong_count(closed) > 1)
        .count();
    prop_assert_eq!(closed_alive, 0, "a closed connection was kept");

    // Dropping the last handle closes every idle connection.
    drop(pool);
    tokio::task::yield_now().await;
    prop_assert_eq!(toy.live.load(Ordering::SeqCst), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cancellation_leaks_nothing_and_keeps_status_consistent(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(run(ops))?;
    }
}
