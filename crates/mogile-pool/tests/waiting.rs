//! Bounded waiting: with `max_size` connections in use, checkouts wait for one to come back,
//! up to `wait_timeout`; a connect is bounded by `connect_timeout`. Each limit is a typed error
//! naming the endpoint.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use mogile_pool::{Connector, Endpoint, EndpointStatus, Pool, PoolError, PoolSettings, Pooled};
use tokio::time::Instant;

#[derive(Debug)]
struct Conn {
    id: usize,
    live: Arc<AtomicUsize>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Opens numbered connections, or never answers a connect while `stalled`.
#[derive(Default)]
struct Toy {
    opened: AtomicUsize,
    live: Arc<AtomicUsize>,
    most_live: AtomicUsize,
    stalled: AtomicBool,
}

impl Connector for Toy {
    type Connection = Conn;
    type Error = Infallible;

    async fn connect(&self, _: &Endpoint) -> Result<Conn, Infallible> {
        if self.stalled.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let live = self.live.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_live.fetch_max(live, Ordering::SeqCst);
        Ok(Conn {
            id: self.opened.fetch_add(1, Ordering::SeqCst),
            live: Arc::clone(&self.live),
        })
    }

    fn is_open(&self, _: &Conn) -> bool {
        true
    }

    async fn probe(&self, _: &mut Conn) -> Result<(), Infallible> {
        Ok(())
    }
}

const A: &str = "127.0.0.1:7001";
const B: &str = "127.0.0.1:7002";

fn pool(toy: &Arc<Toy>, max_size: usize) -> Pool<Arc<Toy>> {
    Pool::builder(Arc::clone(toy), [A, B])
        .settings(PoolSettings {
            max_size,
            wait_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            probe_interval: Duration::from_secs(3600),
            ..PoolSettings::default()
        })
        .build()
        .unwrap()
}

/// Yields to the spawned tasks until the endpoint's status satisfies `done`.
async fn settle(pool: &Pool<Arc<Toy>>, ep: &Endpoint, done: impl Fn(&EndpointStatus) -> bool) {
    while !done(pool.status().endpoint(ep).unwrap()) {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn more_tasks_than_max_size_wait_and_then_succeed() {
    let toy = Arc::new(Toy::default());
    let pool = pool(&toy, 2);
    let ep = Endpoint::from(A);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let pool = pool.clone();
            let ep = ep.clone();
            tokio::spawn(async move {
                let conn = pool.get(&ep).await?;
                // One second of work on the paused clock.
                tokio::time::sleep(Duration::from_secs(1)).await;
                Pooled::release(conn);
                Ok::<_, PoolError<Infallible>>(())
            })
        })
        .collect();
    // Let every task reach the pool: two hold connections, four wait.
    settle(&pool, &ep, |s| s.in_use + s.waiters == 6).await;
    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert_eq!((s.open, s.in_use, s.waiters), (2, 2, 4));

    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // Six checkouts were served by two connections, never more open at once.
    assert_eq!(toy.opened.load(Ordering::SeqCst), 2);
    assert_eq!(toy.most_live.load(Ordering::SeqCst), 2);
    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert_eq!((s.open, s.idle, s.in_use, s.waiters), (2, 2, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_waiter_gets_the_connection_released_to_it() {
    let toy = Arc::new(Toy::default());
    let pool = pool(&toy, 1);
    let ep = Endpoint::from(A);
    let held = pool.get(&ep).await.unwrap();
    let waiter = tokio::spawn({
        let pool = pool.clone();
        let ep = ep.clone();
        async move { pool.get(&ep).await.map(|conn| conn.id) }
    });
    settle(&pool, &ep, |s| s.waiters == 1).await;
    Pooled::release(held);
    assert_eq!(waiter.await.unwrap().unwrap(), 0);
}

/// Released connections go on the pool's own idle stack, which `deadpool` (where checkouts
/// wait) does not see; a release and a checkout that starts waiting meet in a handshake so that
/// no checkout waits while a connection sits idle. On two worker threads, many more checkouts
/// than connections, each released at once: with the handshake broken, a checkout would wait
/// out `wait_timeout` (the fault here; real time, other threads) and fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_checkout_waits_while_a_released_connection_is_idle() {
    let toy = Arc::new(Toy::default());
    let pool = Pool::builder(Arc::clone(&toy), [A])
        .settings(PoolSettings {
            max_size: 2,
            wait_timeout: Duration::from_secs(60),
            probe_interval: Duration::from_secs(3600),
            ..PoolSettings::default()
        })
        .build()
        .unwrap();
    let ep = Endpoint::from(A);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (pool, ep) = (pool.clone(), ep.clone());
            tokio::spawn(async move {
                for _ in 0..2_000 {
                    let conn = pool.get(&ep).await?;
                    tokio::task::yield_now().await;
                    Pooled::release(conn);
                }
                Ok::<_, PoolError<Infallible>>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert!(toy.opened.load(Ordering::SeqCst) <= 2);
    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert_eq!((s.in_use, s.waiters), (0, 0));
    assert_eq!(s.idle, s.open);
}

#[tokio::test(start_paused = true)]
async fn past_wait_timeout_a_typed_error_names_the_endpoint() {
    let toy = Arc::new(Toy::default());
    let pool = pool(&toy, 1);
    let ep = Endpoint::from(A);
    let _held = pool.get(&ep).await.unwrap();

    let started = Instant::now();
    let err = pool.get(&ep).await.unwrap_err();
    assert!(matches!(&err, PoolError::WaitTimeout { endpoint } if *endpoint == ep));
    assert!(err.is_timeout() && !err.is_connect());
    assert_eq!(
        err.to_string(),
        "timed out waiting for a free connection to 127.0.0.1:7001"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    // A full pool says nothing about the endpoint's health.
    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert!(s.active);
    assert_eq!((s.open, s.in_use, s.waiters), (1, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_connect_past_connect_timeout_is_a_typed_error() {
    let toy = Arc::new(Toy::default());
    let pool = pool(&toy, 1);
    let ep = Endpoint::from(B);
    toy.stalled.store(true, Ordering::SeqCst);

    let started = Instant::now();
    let err = pool.get(&ep).await.unwrap_err();
    assert!(matches!(&err, PoolError::ConnectTimeout { endpoint } if *endpoint == ep));
    assert!(err.is_timeout() && err.is_connect());
    assert_eq!(err.to_string(), "timed out connecting to 127.0.0.1:7002");
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    // The slot is free again, and the unreachable endpoint is marked inactive.
    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert_eq!((s.active, s.open, s.waiters), (false, 0, 0));
    toy.stalled.store(false, Ordering::SeqCst);
    assert!(pool.get(&ep).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn close_fails_waiters_and_later_checkouts() {
    let toy = Arc::new(Toy::default());
    let pool = pool(&toy, 1);
    let ep = Endpoint::from(A);
    let held = pool.get(&ep).await.unwrap();
    let waiter = tokio::spawn({
        let pool = pool.clone();
        let ep = ep.clone();
        async move { pool.get(&ep).await.map(|_| ()) }
    });
    settle(&pool, &ep, |s| s.waiters == 1).await;

    pool.close();
    assert!(matches!(waiter.await.unwrap(), Err(PoolError::Closed)));
    assert!(matches!(pool.get(&ep).await, Err(PoolError::Closed)));
    // A connection returned after close is discarded, not kept.
    Pooled::release(held);
    assert_eq!(toy.live.load(Ordering::SeqCst), 0);
    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert_eq!((s.open, s.idle, s.in_use), (0, 0, 0));
}
