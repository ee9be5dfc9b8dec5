//! Checkout is LIFO: the most recently released connection is handed out first; dropping a
//! checked-out connection discards it.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mogile_pool::{Connector, Endpoint, Pool, PoolSettings, Pooled};

/// A toy connection numbered in opening order; counts itself while alive.
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
    opened: AtomicUsize,
    live: Arc<AtomicUsize>,
    /// How long a probe takes (paused clock), so that a checkout can be caught probing.
    probe_time: std::time::Duration,
}

impl Connector for Toy {
    type Connection = Conn;
    type Error = Infallible;

    async fn connect(&self, _: &Endpoint) -> Result<Conn, Infallible> {
        self.live.fetch_add(1, Ordering::SeqCst);
        let id = self.opened.fetch_add(1, Ordering::SeqCst);
        Ok(Conn {
            id,
            live: Arc::clone(&self.live),
        })
    }

    fn is_open(&self, _: &Conn) -> bool {
        true
    }

    async fn probe(&self, _: &mut Conn) -> Result<(), Infallible> {
        tokio::time::sleep(self.probe_time).await;
        Ok(())
    }
}

fn pool(max_size: usize) -> (Pool<Toy>, Arc<AtomicUsize>, Endpoint) {
    let toy = Toy::default();
    let live = Arc::clone(&toy.live);
    let pool = Pool::builder(toy, ["127.0.0.1:7001"])
        .settings(PoolSettings {
            max_size,
            ..PoolSettings::default()
        })
        .build()
        .unwrap();
    (pool, live, Endpoint::from("127.0.0.1:7001"))
}

#[tokio::test(start_paused = true)]
async fn most_recently_released_is_handed_out_first() {
    let (pool, _, ep) = pool(4);
    let a = pool.get(&ep).await.unwrap();
    let b = pool.get(&ep).await.unwrap();
    let c = pool.get(&ep).await.unwrap();
    assert_eq!((a.id, b.id, c.id), (0, 1, 2));

    // Released in the order b, c, a: the stack top is a, then c, then b.
    Pooled::release(b);
    Pooled::release(c);
    Pooled::release(a);

    let first = pool.get(&ep).await.unwrap();
    let second = pool.get(&ep).await.unwrap();
    let third = pool.get(&ep).await.unwrap();
    assert_eq!((first.id, second.id, third.id), (0, 2, 1));
    // All three were reused: nothing new was opened.
    let fourth = pool.get(&ep).await.unwrap();
    assert_eq!(fourth.id, 3);
}

#[tokio::test(start_paused = true)]
async fn a_busy_client_keeps_one_socket_warm() {
    let (pool, live, ep) = pool(4);
    for _ in 0..10 {
        let conn = pool.get(&ep).await.unwrap();
        assert_eq!(conn.id, 0);
        Pooled::release(conn);
    }
    assert_eq!(live.load(Ordering::SeqCst), 1);
    let status = pool.status();
    let s = status.endpoint(&ep).unwrap();
    assert_eq!((s.open, s.idle, s.in_use), (1, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn dropping_a_checked_out_connection_discards_it() {
    let (pool, live, ep) = pool(2);
    let a = pool.get(&ep).await.unwrap();
    let b = pool.get(&ep).await.unwrap();
    assert_eq!(pool.status().endpoint(&ep).unwrap().in_use, 2);

    drop(a);
    assert_eq!(
        live.load(Ordering::SeqCst),
        1,
        "the dropped connection is closed"
    );
    let status = pool.status();
    let s = status.endpoint(&ep).unwrap();
    assert_eq!((s.open, s.idle, s.in_use), (1, 0, 1));

    // Its slot is free again, and the next checkout opens a fresh connection.
    let c = pool.get(&ep).await.unwrap();
    assert_eq!(c.id, 2);
    Pooled::release(b);
    drop(c);
    let status = pool.status();
    let s = status.endpoint(&ep).unwrap();
    assert_eq!((s.open, s.idle, s.in_use), (1, 1, 0));
    assert_eq!(live.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn detach_frees_the_slot_and_keeps_the_connection() {
    let (pool, live, ep) = pool(1);
    let a = pool.get(&ep).await.unwrap();
    let conn = Pooled::detach(a);
    assert_eq!(conn.id, 0);
    let s = pool.status().endpoint(&ep).unwrap().clone();
    assert_eq!((s.open, s.in_use), (0, 0));
    // The single slot is free although the detached connection is still alive.
    let b = pool.get(&ep).await.unwrap();
    assert_eq!(b.id, 1);
    assert_eq!(live.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn unknown_endpoint_is_a_typed_error() {
    let (pool, _, _) = pool(1);
    let other = Endpoint::from("127.0.0.1:7999");
    let err = pool.get(&other).await.unwrap_err();
    assert!(
        matches!(err, mogile_pool::PoolError::UnknownEndpoint { ref endpoint } if *endpoint == other)
    );
    assert_eq!(
        err.to_string(),
        "endpoint 127.0.0.1:7999 is not configured in this pool"
    );
}

/// A checkout that is probing (or connecting) is not waiting for a connection to come back: a
/// connection released meanwhile goes on top of the idle stack as usual, and the next checkout
/// gets it first, not an older one.
#[tokio::test(start_paused = true)]
async fn a_release_during_another_checkouts_probe_stays_on_top() {
    use std::time::Duration;
    let ep = Endpoint::from("127.0.0.1:7001");
    let toy = Toy {
        probe_time: Duration::from_secs(5),
        ..Toy::default()
    };
    let pool = Pool::builder(toy, [ep.as_str()])
        .settings(PoolSettings {
            max_size: 4,
            probe_idle_after: Duration::from_secs(10),
            probe_timeout: Duration::from_secs(60),
            ..PoolSettings::default()
        })
        .build()
        .unwrap();
    let a = pool.get(&ep).await.unwrap();
    let b = pool.get(&ep).await.unwrap();
    let c = pool.get(&ep).await.unwrap();
    Pooled::release(a);
    Pooled::release(b);
    // Both sit idle past `probe_idle_after`; `c` stays checked out.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let probing = tokio::spawn({
        let (pool, ep) = (pool.clone(), ep.clone());
        async move { pool.get(&ep).await.map(|conn| conn.id) }
    });
    while pool.status().endpoint(&ep).unwrap().waiters == 0 {
        tokio::task::yield_now().await;
    }
    Pooled::release(c);
    // `c` was returned just now: it needs no probe and is on top of the stack, above `a`.
    let next = pool.get(&ep).await.unwrap();
    assert_eq!(next.id, 2);
    // The probing checkout got `b`, the top of the stack when it started.
    assert_eq!(probing.await.unwrap().unwrap(), 1);
}

/// Dropping the pool closes its idle connections even while another connection is still
/// checked out (the idle stack is shared with it).
#[tokio::test(start_paused = true)]
async fn dropping_the_pool_closes_idle_connections_while_others_are_out() {
    let (pool, live, ep) = pool(4);
    let a = pool.get(&ep).await.unwrap();
    let b = pool.get(&ep).await.unwrap();
    Pooled::release(b);
    assert_eq!(live.load(Ordering::SeqCst), 2);
    drop(pool);
    assert_eq!(live.load(Ordering::SeqCst), 1, "the idle one is closed");
    // Released after the pool is gone, `a` is closed too.
    Pooled::release(a);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}
