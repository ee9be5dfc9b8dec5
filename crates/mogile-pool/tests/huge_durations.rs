//! Settings of `Duration::MAX` mean "never", not an overflow: no background task panics on them.
//! (Its own test binary: the panic hook it installs sees every thread of the process.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::Toy;
use mogile_pool::{Endpoint, Pool, PoolSettings, Pooled};

static PANICS: AtomicUsize = AtomicUsize::new(0);

#[tokio::test(start_paused = true)]
async fn durations_of_duration_max_never_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let max = Duration::MAX;
    let pool = Pool::builder(Toy, ["a:1", "b:2"])
        .settings(PoolSettings {
            idle_timeout: max,
            max_lifetime: Some(max),
            reap_interval: max,
            probe_interval: max,
            probe_interval_active: max,
            probe_idle_after: max,
            probe_timeout: max,
            wait_timeout: max,
            connect_timeout: max,
            ..PoolSettings::default()
        })
        .build()
        .unwrap();
    let a = Endpoint::from("a:1");
    for _ in 0..3 {
        let conn = pool.get(&a).await.unwrap();
        Pooled::release(conn);
        // The reaper and the prober run (the paused clock jumps ahead while all tasks wait).
        tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    }
    assert_eq!(pool.status().endpoints[0].open, 1, "never reaped");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}
