//! Hedged reads (issue 15): when the first replica has not answered within the hedge delay, the
//! next one is asked too and the first answer wins, within a budget.
//!
//! The slow node delays its response headers ([`Fault::DelayHeaders`]) by far more than the hedge
//! delay: both are fault parameters with wide margins, and nothing asserts on elapsed time.

use std::time::Duration;

use futures::StreamExt;
use http::Method;
use mogile_testkit::storage::{Fault, FaultRule};
use mogile_tests::{Harness, PLAIN_CLASS, pattern};
use mogilefs::{Client, ClientConfig, HedgeAfter, PutOptions};

/// How long the slow node sits on its headers: below the harness's 2 s headers timeout, far
/// above every hedge delay used here.
const SLOW: Duration = Duration::from_millis(1500);

fn client(h: &Harness, config: ClientConfig) -> Client {
    h.builder().config(config).build().unwrap()
}

fn fixed(ms: u64) -> ClientConfig {
    ClientConfig {
        hedge_after: HedgeAfter::Fixed(Duration::from_millis(ms)),
        ..Harness::config()
    }
}

async fn stored(n: usize, keys: &[&str], len: usize) -> (Harness, bytes::Bytes) {
    let h = Harness::start(n).await;
    let data = pattern(len);
    for key in keys {
        let opts = PutOptions::new().class(PLAIN_CLASS);
        h.client()
            .put_opts(*key, data.clone(), &opts)
            .await
            .unwrap();
    }
    h.replicate().await;
    (h, data)
}

fn slow_gets(h: &Harness, devid: u64) {
    h.node(devid)
        .inject(FaultRule::new(Fault::DelayHeaders(SLOW)).method(Method::GET));
}

#[tokio::test]
async fn a_slow_first_replica_is_hedged_and_the_read_completes_through_the_other() {
    let (h, data) = stored(2, &["k"], 100_000).await;
    let client = client(&h, fixed(50));
    slow_gets(&h, 1);
    assert!(client.get_bytes("k").await.unwrap() == data);
    let stats = client.read_stats();
    assert_eq!((stats.hedges, stats.hedges_won), (1, 1));
    assert_eq!(stats.opening_requests, 1);
    assert_eq!(h.requests(1, Method::GET).len(), 1);
    assert_eq!(h.requests(2, Method::GET).len(), 1);
}

#[tokio::test]
async fn a_fast_replica_is_never_hedged() {
    let (h, data) = stored(2, &["k"], 100_000).await;
    // Far above a local answer's first-byte time.
    let client = client(&h, fixed(1000));
    for _ in 0..5 {
        assert!(client.get_bytes("k").await.unwrap() == data);
    }
    let stats = client.read_stats();
    assert_eq!(stats.hedges, 0);
    assert_eq!(h.requests(2, Method::GET).len(), 0);
}

#[tokio::test]
async fn a_fresh_client_hedges_after_the_fixed_starting_delay() {
    let (h, data) = stored(2, &["k"], 1000).await;
    // Adaptive, the default: no samples yet, so the 200 ms starting delay applies.
    let client = client(&h, Harness::config());
    assert_eq!(client.read_stats().hedge_after, Duration::from_millis(200));
    slow_gets(&h, 1);
    assert!(client.get_bytes("k").await.unwrap() == data);
    assert_eq!(client.read_stats().hedges_won, 1);
}

#[tokio::test]
async fn the_adaptive_delay_follows_healthy_replies_only() {
    let (h, data) = stored(2, &["k"], 1000).await;
    let client = client(&h, Harness::config());
    for _ in 0..30 {
        assert!(client.get_bytes("k").await.unwrap() == data);
    }
    // Local replies: the p95 left the 200 ms start (on an idle machine it sits at the 20 ms
    // floor).
    let healthy = client.read_stats().hedge_after;
    assert!(healthy < SLOW / 3, "{healthy:?}");
    // Now the first node is slow on every read: those reads are hedged, and their slow replies
    // do not drag the delay up towards the node's own.
    slow_gets(&h, 1);
    for _ in 0..3 {
        assert!(client.get_bytes("k").await.unwrap() == data);
    }
    let stats = client.read_stats();
    assert_eq!(stats.hedges_won, 3);
    assert!(stats.hedge_after <= healthy, "{:?}", stats.hedge_after);
}

#[tokio::test]
async fn with_the_budget_spent_no_more_hedges_are_sent() {
    let (h, data) = stored(2, &["k"], 1000).await;
    let client = client(&h, fixed(20));
    // Every unhedged read waits for this: shorter than elsewhere, still 20 times the delay.
    h.node(1).inject(
        FaultRule::new(Fault::DelayHeaders(Duration::from_millis(400))).method(Method::GET),
    );
    let reads = 10;
    for _ in 0..reads {
        assert!(client.get_bytes("k").await.unwrap() == data);
    }
    // Budget: one hedge, plus 10% of the reads so far.
    let stats = client.read_stats();
    assert_eq!(stats.opening_requests, reads);
    assert_eq!(stats.hedges, 2);
    assert_eq!(stats.hedges_over_budget, reads - 2);
    assert_eq!(h.requests(2, Method::GET).len(), 2);
    assert_eq!(h.requests(1, Method::GET).len(), reads as usize);
}

#[tokio::test]
async fn hedging_off_or_a_zero_budget_never_sends_a_second_request() {
    let (h, data) = stored(2, &["k"], 1000).await;
    slow_gets(&h, 1);
    for config in [
        ClientConfig {
            hedge_after: HedgeAfter::Off,
            ..Harness::config()
        },
        ClientConfig {
            hedge_budget_percent: 0,
            ..fixed(20)
        },
    ] {
        let client = client(&h, config);
        assert!(client.get_bytes("k").await.unwrap() == data);
        assert_eq!(client.read_stats().hedges, 0);
    }
    assert_eq!(h.requests(2, Method::GET).len(), 0);
}

#[tokio::test]
async fn a_hedge_that_fails_leaves_the_slow_replica_to_answer() {
    let (h, data) = stored(2, &["k"], 1000).await;
    let client = client(&h, fixed(20));
    slow_gets(&h, 1);
    h.fault(2, Method::GET, Fault::Status(500));
    assert!(client.get_bytes("k").await.unwrap() == data);
    let stats = client.read_stats();
    assert_eq!((stats.hedges, stats.hedges_won), (1, 0));
}

#[tokio::test]
async fn a_stripe_opening_on_a_slow_replica_is_hedged_to_a_free_one() {
    let stripe = 16u64 << 10;
    let (h, data) = stored(3, &["k"], 8 * stripe as usize).await;
    let client = client(
        &h,
        ClientConfig {
            stripe_threshold: 4 * stripe,
            stripe_size: stripe,
            stripe_streams: Some(2),
            ..fixed(50)
        },
    );
    // Only the first stripe's request to node 1 is slow.
    h.node(1).inject(
        FaultRule::new(Fault::DelayHeaders(SLOW))
            .method(Method::GET)
            .times(1),
    );
    let mut stream = client.get("k").await.unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert!(got == data);
    let stats = client.read_stats();
    assert_eq!(stats.striped_fetches, 1);
    assert_eq!((stats.hedges, stats.hedges_won), (1, 1));
    // The hedge went to a path with no stripe in flight (node 2 once its stripe was in, or 3).
    let first = Some(format!("bytes=0-{}", stripe - 1));
    assert!(h.get_ranges(2).contains(&first) || h.get_ranges(3).contains(&first));
}

#[tokio::test]
async fn one_in_n_delays_hit_a_fraction_of_reads_and_only_those_are_hedged() {
    let (h, data) = stored(2, &["k"], 1000).await;
    let client = client(&h, fixed(100));
    h.node(1).inject(
        FaultRule::new(Fault::DelayHeaders(SLOW))
            .method(Method::GET)
            .one_in(5),
    );
    for _ in 0..10 {
        assert!(client.get_bytes("k").await.unwrap() == data);
    }
    let stats = client.read_stats();
    assert_eq!((stats.hedges, stats.hedges_won), (2, 2));
}

/// Uploads are never hedged: a destination that sits on its headers far beyond the hedge delay
/// gets the one `PUT`, no other node is asked, and no hedge is counted.
#[tokio::test]
async fn a_slow_upload_destination_is_never_hedged() {
    let h = Harness::start(2).await;
    let client = client(&h, fixed(50));
    for devid in [1, 2] {
        h.node(devid)
            .inject(FaultRule::new(Fault::DelayHeaders(SLOW)).method(Method::PUT));
    }
    let data = pattern(10_000);
    let opts = PutOptions::new().class(PLAIN_CLASS);
    client.put_opts("up", data.clone(), &opts).await.unwrap();
    let puts = h.requests(1, Method::PUT).len() + h.requests(2, Method::PUT).len();
    assert_eq!(puts, 1);
    assert_eq!(client.read_stats().hedges, 0);
    assert!(client.get_bytes("up").await.unwrap() == data);
}
