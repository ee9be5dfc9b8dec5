//! The pool bounds connections per tracker under load.

mod common;

use std::time::Duration;

use mogile_protocol::{ListKeys, Noop};
use mogile_testkit::tracker::{Fault, FaultAction};
use mogile_tracker::PoolSettings;
use tokio::task::JoinSet;

#[tokio::test(start_paused = true)]
async fn five_hundred_concurrent_requests_use_at_most_eight_connections_per_tracker() {
    let model = common::model();
    let ts = common::trackers(&model, 2).await;
    for t in &ts {
        // Slow enough that requests pile up behind the pool limit.
        t.inject(Fault::new(FaultAction::Delay(Duration::from_millis(20))));
    }
    let client = common::builder(&[&ts[0], &ts[1]])
        .pool(PoolSettings {
            max_size: 8,
            wait_timeout: Duration::from_secs(20),
            ..common::config().pool
        })
        .build()
        .unwrap();
    let mut set = JoinSet::new();
    for i in 0..500 {
        let client = client.clone();
        set.spawn(async move {
            if i % 2 == 0 {
                client.noop(Noop::new()).await.map(|_| ())
            } else {
                client
                    .list_keys(ListKeys::new("testdom"))
                    .await
                    .map(|page| assert!(page.keys.is_empty()))
            }
        });
    }
    let mut ok = 0;
    while let Some(result) = set.join_next().await {
        result.unwrap().unwrap();
        ok += 1;
    }
    assert_eq!(ok, 500);
    let mut total = 0;
    for t in &ts {
        let conns = common::request_connections(t);
        assert!(conns.len() <= 8, "{} request connections", conns.len());
        total += common::requests(t).len();
    }
    assert_eq!(total, 500, "each request sent once");
    // The pool was actually saturated: both trackers used all eight.
    for t in &ts {
        assert_eq!(common::request_connections(t).len(), 8);
    }
    for ep in client.status().endpoints {
        assert!(ep.open <= 8 && ep.active, "{ep:?}");
    }
}
