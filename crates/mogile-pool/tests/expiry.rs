//! LRU expiry: `idle_timeout`, `max_idle` (least recently returned first) and `max_lifetime`,
//! applied by the background reaper and at checkout, never to a connection in use.
//!
//! The clock is paused: `advance` jumps it forward, running every timer due on the way (the
//! reaper's ticks included), so no real time passes.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mogile_pool::{Connector, Endpoint, Pool, PoolSettings, Pooled};

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

/// Opens numbered connections at once and counts the live ones.
#[derive(Default)]
struct Toy {
    opened: AtomicUsize,
    live: Arc<AtomicUsize>,
}

impl Connector for Toy {
    type Connection = Conn;
    type Error = Infallible;

    async fn connect(&self, _: &Endpoint) -> Result<Conn, Infallible> {
        self.live.fetch_add(1, Ordering::SeqCst);
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

const EP: &str = "127.0.0.1:7001";

/// Settings with the reaper running every second and the prober kept out of the way.
fn settings() -> PoolSettings {
    PoolSettings {
        max_size: 8,
        reap_interval: Duration::from_secs(1),
        probe_interval: Duration::from_secs(3600),
        probe_idle_after: Duration::from_secs(3600),
        ..PoolSettings::default()
    }
}

/// A pool with `settings`, and the count of its live connections.
fn pool(settings: PoolSettings) -> (Pool<Toy>, Arc<AtomicUsize>) {
    let toy = Toy::default();
    let live = Arc::clone(&toy.live);
    let pool = Pool::builder(toy, [EP]).settings(settings).build().unwrap();
    (pool, live)
}

/// Jumps the paused clock; lands between reaper ticks so each due tick has already run.
async fn advance(d: Duration) {
    tokio::time::sleep(d).await;
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn counts(pool: &Pool<Toy>) -> (usize, usize, usize) {
    let status = pool.status();
    let s = status.endpoint(&Endpoint::from(EP)).unwrap();
    (s.open, s.idle, s.in_use)
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_closes_connections_left_idle_too_long() {
    let (pool, live) = pool(PoolSettings {
        idle_timeout: secs(10.0),
        ..settings()
    });
    let ep = Endpoint::from(EP);
    let a = pool.get(&ep).await.unwrap();
    let b = pool.get(&ep).await.unwrap();
    Pooled::release(a);
    Pooled::release(b);

    // At 6 s, reuse the top of the stack (b) and return it: its idle time restarts.
    advance(secs(6.5)).await;
    let b = pool.get(&ep).await.unwrap();
    assert_eq!(b.id, 1);
    Pooled::release(b);
    assert_eq!(counts(&pool), (2, 2, 0));

    // At 11.5 s, a has been idle 11.5 s (> 10 s): reaped. b only 5 s: kept.
    advance(secs(5.0)).await;
    assert_eq!(counts(&pool), (1, 1, 0));
    assert_eq!(live.load(Ordering::SeqCst), 1);
    let b = pool.get(&ep).await.unwrap();
    assert_eq!(b.id, 1);
    Pooled::release(b);

    // Left alone, b goes too.
    advance(secs(11.0)).await;
    assert_eq!(counts(&pool), (0, 0, 0));
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn max_idle_closes_the_least_recently_returned_first() {
    let (pool, live) = pool(PoolSettings {
        max_idle: Some(2),
        ..settings()
    });
    let ep = Endpoint::from(EP);
    let mut conns = Vec::new();
    for _ in 0..4 {
        conns.push(Some(pool.get(&ep).await.unwrap()));
    }
    // Return in the order 2, 0, 3, 1: the least recently returned are 2 and then 0.
    for i in [2, 0, 3, 1] {
        Pooled::release(conns[i].take().unwrap());
    }
    assert_eq!(counts(&pool), (4, 4, 0));

    advance(secs(1.5)).await;
    assert_eq!(counts(&pool), (2, 2, 0));
    assert_eq!(live.load(Ordering::SeqCst), 2);
    // The survivors are 1 (top of the stack) and 3.
    let first = pool.get(&ep).await.unwrap();
    let second = pool.get(&ep).await.unwrap();
    assert_eq!((first.id, second.id), (1, 3));
}

#[tokio::test(start_paused = true)]
async fn max_idle_zero_keeps_nothing_idle() {
    let (pool, live) = pool(PoolSettings {
        max_idle: Some(0),
        ..settings()
    });
    let ep = Endpoint::from(EP);
    let a = pool.get(&ep).await.unwrap();
    let b = pool.get(&ep).await.unwrap();
    Pooled::release(a);
    Pooled::release(b);
    advance(secs(1.5)).await;
    assert_eq!(counts(&pool), (0, 0, 0));
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_connection_in_use_is_never_expired() {
    let (pool, live) = pool(PoolSettings {
        idle_timeout: secs(2.0),
        max_idle: Some(0),
        max_lifetime: Some(secs(3.0)),
        ..settings()
    });
    let ep = Endpoint::from(EP);
    let held = pool.get(&ep).await.unwrap();

    // Well past every limit, with the reaper ticking each second.
    advance(secs(20.5)).await;
    assert_eq!(counts(&pool), (1, 0, 1));
    assert_eq!(live.load(Ordering::SeqCst), 1);
    assert_eq!(held.id, 0);

    // Once returned it is idle, and the limits apply to it.
    Pooled::release(held);
    advance(secs(1.0)).await;
    assert_eq!(counts(&pool), (0, 0, 0));
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn max_lifetime_closes_old_connections_however_busy() {
    let (pool, live) = pool(PoolSettings {
        max_lifetime: Some(secs(29.0)),
        idle_timeout: secs(3600.0),
        ..settings()
    });
    let ep = Endpoint::from(EP);
    advance(secs(0.5)).await;
    // Busy: used every 10 s, so never idle long; still closed once 29 s old.
    for _ in 0..3 {
        let conn = pool.get(&ep).await.unwrap();
        assert_eq!(conn.id, 0);
        Pooled::release(conn);
        advance(secs(10.0)).await;
    }
    // Opened at 0.5 s, it turned 29 s old at 29.5 s; the reaper closed it at 30 s.
    assert_eq!(counts(&pool), (0, 0, 0));
    assert_eq!(live.load(Ordering::SeqCst), 0);
    let conn = pool.get(&ep).await.unwrap();
    assert_eq!(conn.id, 1);
}

#[tokio::test(start_paused = true)]
async fn checkout_enforces_the_limits_before_the_reaper_runs() {
    let (pool, live) = pool(PoolSettings {
        reap_interval: secs(3600.0),
        probe_interval: secs(3600.0),
        idle_timeout: secs(10.0),
        max_lifetime: Some(secs(25.0)),
        ..PoolSettings::default()
    });
    let ep = Endpoint::from(EP);

    let a = pool.get(&ep).await.unwrap();
    Pooled::release(a);
    advance(secs(11.0)).await;
    // Idle 11 s > 10 s: discarded at checkout, a new one opened.
    let b = pool.get(&ep).await.unwrap();
    assert_eq!(b.id, 1);
    assert_eq!(live.load(Ordering::SeqCst), 1);
    Pooled::release(b);

    // b was opened at 11 s; at 36.5 s it is 25.5 s old, though idle only 5 s.
    advance(secs(20.5)).await;
    let c = pool.get(&ep).await.unwrap();
    Pooled::release(c);
    advance(secs(5.0)).await;
    let d = pool.get(&ep).await.unwrap();
    assert_eq!(d.id, 2);
    assert_eq!(live.load(Ordering::SeqCst), 1);
}
