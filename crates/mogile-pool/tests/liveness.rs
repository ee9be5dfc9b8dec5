//! Liveness: a connection idle past `probe_idle_after` is probed before hand-out and replaced
//! transparently when the probe fails; a connection that erred or was abandoned while checked
//! out is never reused.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mogile_pool::{Connector, Endpoint, Pool, PoolSettings, Pooled};

#[derive(Debug)]
struct Gone;

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("peer gone")
    }
}

impl std::error::Error for Gone {}

/// The far side of one toy connection, which the test can break.
#[derive(Default)]
struct Peer {
    /// Probes fail.
    dead: AtomicBool,
    /// Probes never answer.
    hung: AtomicBool,
    /// `is_open` reports the connection closed.
    closed: AtomicBool,
}

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

#[derive(Default)]
struct Toy {
    peers: Mutex<Vec<Arc<Peer>>>,
    live: Arc<AtomicUsize>,
    probes: AtomicUsize,
}

impl Toy {
    fn peer(&self, id: usize) -> Arc<Peer> {
        Arc::clone(&self.peers.lock().unwrap()[id])
    }
}

impl Connector for Toy {
    type Connection = Conn;
    type Error = Gone;

    async fn connect(&self, _: &Endpoint) -> Result<Conn, Gone> {
        let mut peers = self.peers.lock().unwrap();
        peers.push(Arc::default());
        self.live.fetch_add(1, Ordering::SeqCst);
        Ok(Conn {
            id: peers.len() - 1,
            live: Arc::clone(&self.live),
        })
    }

    fn is_open(&self, conn: &Conn) -> bool {
        !self.peer(conn.id).closed.load(Ordering::SeqCst)
    }

    async fn probe(&self, conn: &mut Conn) -> Result<(), Gone> {
        self.probes.fetch_add(1, Ordering::SeqCst);
        let peer = self.peer(conn.id);
        if peer.hung.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if peer.dead.load(Ordering::SeqCst) {
            Err(Gone)
        } else {
            Ok(())
        }
    }
}

const EP: &str = "127.0.0.1:7001";

fn pool() -> (Pool<Arc<Toy>>, Arc<Toy>, Endpoint) {
    let toy = Arc::new(Toy::default());
    let pool = Pool::builder(Arc::clone(&toy), [EP])
        .settings(PoolSettings {
            probe_idle_after: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(3600),
            probe_interval: Duration::from_secs(3600),
            ..PoolSettings::default()
        })
        .build()
        .unwrap();
    (pool, toy, Endpoint::from(EP))
}

/// Jumps the paused clock; no real time passes.
async fn advance(d: Duration) {
    tokio::time::sleep(d).await;
}

#[tokio::test(start_paused = true)]
async fn a_connection_whose_probe_fails_is_replaced_transparently() {
    let (pool, toy, ep) = pool();
    let a = pool.get(&ep).await.unwrap();
    Pooled::release(a);
    toy.peer(0).dead.store(true, Ordering::SeqCst);

    advance(Duration::from_secs(6)).await;
    let b = pool.get(&ep).await.unwrap();
    assert_eq!(b.id, 1, "the dead connection was replaced");
    assert_eq!(toy.probes.load(Ordering::SeqCst), 1);
    assert_eq!(
        toy.live.load(Ordering::SeqCst),
        1,
        "the dead one was closed"
    );
    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert_eq!((s.open, s.idle, s.in_use), (1, 0, 1));
}

#[tokio::test(start_paused = true)]
async fn after_a_failed_probe_the_next_idle_connection_is_tried() {
    let (pool, toy, ep) = pool();
    let a = pool.get(&ep).await.unwrap();
    let b = pool.get(&ep).await.unwrap();
    Pooled::release(a);
    Pooled::release(b);
    toy.peer(1).dead.store(true, Ordering::SeqCst);

    advance(Duration::from_secs(6)).await;
    // b is on top and fails its probe; a answers.
    let conn = pool.get(&ep).await.unwrap();
    assert_eq!(conn.id, 0);
    assert_eq!(toy.probes.load(Ordering::SeqCst), 2);
    assert_eq!(toy.live.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_recently_returned_connection_is_not_probed() {
    let (pool, toy, ep) = pool();
    let a = pool.get(&ep).await.unwrap();
    Pooled::release(a);
    advance(Duration::from_secs(4)).await;
    let a = pool.get(&ep).await.unwrap();
    assert_eq!(a.id, 0);
    assert_eq!(toy.probes.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_never_answers_times_out_and_is_replaced() {
    let (pool, toy, ep) = pool();
    let a = pool.get(&ep).await.unwrap();
    Pooled::release(a);
    toy.peer(0).hung.store(true, Ordering::SeqCst);
    advance(Duration::from_secs(6)).await;

    let started = tokio::time::Instant::now();
    let b = pool.get(&ep).await.unwrap();
    assert_eq!(b.id, 1);
    // On the paused clock the only wait was the 2 s probe timeout.
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(toy.live.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_connection_reported_closed_is_discarded_without_a_probe() {
    let (pool, toy, ep) = pool();
    let a = pool.get(&ep).await.unwrap();
    Pooled::release(a);
    toy.peer(0).closed.store(true, Ordering::SeqCst);
    let b = pool.get(&ep).await.unwrap();
    assert_eq!(b.id, 1);
    assert_eq!(toy.probes.load(Ordering::SeqCst), 0);
    assert_eq!(toy.live.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn the_reaper_drops_idle_connections_the_peer_closed() {
    let (pool, toy, ep) = pool();
    let a = pool.get(&ep).await.unwrap();
    Pooled::release(a);
    toy.peer(0).closed.store(true, Ordering::SeqCst);
    // The reaper runs every 5 s (the default), long before the idle timeout.
    advance(Duration::from_secs_f64(5.5)).await;
    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert_eq!((s.open, s.idle), (0, 0));
    assert_eq!(toy.live.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_connection_closed_during_use_is_not_returned_by_release() {
    let (pool, toy, ep) = pool();
    let a = pool.get(&ep).await.unwrap();
    toy.peer(0).closed.store(true, Ordering::SeqCst);
    Pooled::release(a);
    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert_eq!((s.open, s.idle, s.in_use), (0, 0, 0));
    assert_eq!(toy.live.load(Ordering::SeqCst), 0);
}

/// A request on a pooled connection that fails with an I/O error halfway.
async fn failing_exchange(_conn: &mut Conn) -> Result<(), Gone> {
    Err(Gone)
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_erred_while_checked_out_is_not_reused() {
    let (pool, toy, ep) = pool();
    let mut a = pool.get(&ep).await.unwrap();
    // The caller's error path simply drops the connection: that discards it.
    match failing_exchange(&mut a).await {
        Ok(()) => Pooled::release(a),
        Err(_) => drop(a),
    }
    assert_eq!(toy.live.load(Ordering::SeqCst), 0);
    let b = pool.get(&ep).await.unwrap();
    assert_eq!(b.id, 1);
}

#[tokio::test(start_paused = true)]
async fn a_connection_abandoned_by_a_cancelled_request_is_not_reused() {
    let (pool, toy, ep) = pool();
    let request = tokio::spawn({
        let pool = pool.clone();
        let ep = ep.clone();
        async move {
            let conn = pool.get(&ep).await.unwrap();
            // The reply never comes; the request is cancelled while waiting.
            std::future::pending::<()>().await;
            Pooled::release(conn);
        }
    });
    // Let the request check out its connection.
    while pool.status().endpoint(&ep).unwrap().in_use == 0 {
        tokio::task::yield_now().await;
    }
    request.abort();
    assert!(request.await.unwrap_err().is_cancelled());

    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert_eq!((s.open, s.idle, s.in_use), (0, 0, 0));
    assert_eq!(toy.live.load(Ordering::SeqCst), 0);
    let b = pool.get(&ep).await.unwrap();
    assert_eq!(b.id, 1);
}
