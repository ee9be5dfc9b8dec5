//! Striped reads (issue 15): files and ranges at least `stripe_threshold` long are read as stripes
//! from several replicas at once, and the caller still gets exactly the file's bytes, in order,
//! with bounded memory, whatever the replicas do.
//!
//! Thresholds and stripes are a few KiB here, so nothing moves hundreds of MiB.

use futures::StreamExt;
use http::Method;
use mogile_testkit::storage::{Fault, FaultRule};
use mogile_tests::{Harness, MD5_CLASS, PLAIN_CLASS, pattern};
use mogilefs::{Client, ClientConfig, Error, GetOptions, HedgeAfter, PutOptions};

const THRESHOLD: u64 = 64 << 10;
const STRIPE: u64 = 16 << 10;

/// Harness settings with small stripes; hedging off unless a test turns it on, so that request
/// counts are exact.
fn config() -> ClientConfig {
    ClientConfig {
        stripe_threshold: THRESHOLD,
        stripe_size: STRIPE,
        hedge_after: HedgeAfter::Off,
        ..Harness::config()
    }
}

fn client(h: &Harness, config: ClientConfig) -> Client {
    h.builder().config(config).build().unwrap()
}

/// A cluster of `n` with `key` holding `len` bytes on every node (read in devid order).
async fn stored(n: usize, key: &str, len: usize, class: &str) -> (Harness, bytes::Bytes) {
    let h = Harness::start(n).await;
    let data = pattern(len);
    let opts = PutOptions::new().class(class).md5(true);
    h.client().put_opts(key, data.clone(), &opts).await.unwrap();
    h.replicate().await;
    assert_eq!(h.replicas(key).1.len(), n);
    (h, data)
}

async fn collect(client: &Client, key: &str, opts: &GetOptions) -> Result<Vec<u8>, Error> {
    let mut stream = client.get_opts(key, opts).await?;
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk?);
    }
    Ok(got)
}

fn gets(h: &Harness, n: usize) -> Vec<usize> {
    (1..=n as u64)
        .map(|d| h.requests(d, Method::GET).len())
        .collect()
}

#[tokio::test]
async fn striped_fetches_around_every_boundary_give_identical_bytes() {
    for nodes in [2usize, 3] {
        let h = Harness::start(nodes).await;
        let client = client(&h, config());
        let s = STRIPE as usize;
        let t = THRESHOLD as usize;
        let sizes = [
            t - 1,
            t,
            t + 1,
            5 * s - 1,
            5 * s,
            5 * s + 1,
            7 * s - 1,
            7 * s + 1,
            9 * s,
        ];
        for (i, len) in sizes.into_iter().enumerate() {
            let key = format!("b{i}");
            let data = pattern(len);
            let opts = PutOptions::new().class(PLAIN_CLASS);
            client.put_opts(&key, data.clone(), &opts).await.unwrap();
            h.replicate().await;
            let before = client.read_stats();
            let ctx = format!("{nodes} nodes, {len} bytes");
            assert!(
                client.get_bytes(&key).await.unwrap() == data,
                "{ctx}: get_bytes"
            );
            let streamed = collect(&client, &key, &GetOptions::new()).await.unwrap();
            assert!(streamed == data, "{ctx}: get");
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("out");
            let n = client
                .get_to_file(&key, &file, &GetOptions::new())
                .await
                .unwrap();
            assert_eq!(n, len as u64, "{ctx}");
            assert!(std::fs::read(&file).unwrap() == data, "{ctx}: get_to_file");
            let after = client.read_stats();
            let striped = after.striped_fetches - before.striped_fetches;
            assert_eq!(striped, if len >= t { 3 } else { 0 }, "{ctx}");
            let stripes = len.div_ceil(s) as u64;
            if len >= t {
                assert_eq!(after.stripes - before.stripes, 3 * stripes, "{ctx}");
            }
        }
        // Every node served stripes.
        assert!(
            gets(&h, nodes).iter().all(|&g| g > 0),
            "{:?}",
            gets(&h, nodes)
        );
        let stats = client.read_stats();
        assert_eq!(stats.stripe_resumes, 0);
        assert!(stats.peak_buffered_bytes <= nodes as u64 * STRIPE);
        assert_eq!(stats.buffered_bytes, 0);
    }
}

#[tokio::test]
async fn every_stripe_asks_for_its_own_range_and_each_path_serves_one_at_a_time() {
    let len = 8 * STRIPE as usize + 100;
    let (h, data) = stored(2, "k", len, PLAIN_CLASS).await;
    let client = client(&h, config());
    assert!(client.get_bytes("k").await.unwrap() == data);
    let mut ranges: Vec<String> = [1, 2]
        .iter()
        .flat_map(|&d| h.get_ranges(d))
        .map(|r| r.expect("every stripe sends a Range"))
        .collect();
    ranges.sort_by_key(|r| {
        r.trim_start_matches("bytes=")
            .split('-')
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    });
    let expected: Vec<String> = (0..9u64)
        .map(|i| {
            let start = i * STRIPE;
            let end = ((i + 1) * STRIPE).min(len as u64) - 1;
            format!("bytes={start}-{end}")
        })
        .collect();
    assert_eq!(ranges, expected);
    // The first stripe went to the tracker's first path.
    assert_eq!(
        h.get_ranges(1)[0].as_deref(),
        Some(format!("bytes=0-{}", STRIPE - 1).as_str())
    );
}

#[tokio::test]
async fn get_range_stripes_when_the_range_reaches_the_threshold() {
    let (h, data) = stored(3, "k", 10 * STRIPE as usize, PLAIN_CLASS).await;
    let client = client(&h, config());
    for (offset, len) in [
        (1000u64, THRESHOLD),
        (1000, THRESHOLD - 1),
        (STRIPE, 5 * STRIPE + 7),
        (0, 10 * STRIPE),
        (3, 100 * STRIPE),
    ] {
        let before = client.read_stats().striped_fetches;
        let got = client.get_range("k", offset, Some(len)).await.unwrap();
        let end = (offset + len).min(data.len() as u64) as usize;
        assert!(got == data[offset as usize..end], "{offset}+{len}");
        let striped = client.read_stats().striped_fetches - before;
        let wanted = end as u64 - offset;
        assert_eq!(striped, u64::from(wanted >= THRESHOLD), "{offset}+{len}");
    }
}

#[tokio::test]
async fn a_stripe_that_fails_midway_resumes_on_another_path_at_the_byte_reached() {
    let (h, data) = stored(3, "k", 8 * STRIPE as usize, PLAIN_CLASS).await;
    // streams = 2: node 3 is free to take over.
    let client = client(
        &h,
        ClientConfig {
            stripe_streams: Some(2),
            ..config()
        },
    );
    let half = STRIPE / 2;
    h.node(1).inject(
        FaultRule::new(Fault::ResetAfter { body_bytes: half })
            .method(Method::GET)
            .times(1),
    );
    let got = collect(&client, "k", &GetOptions::new()).await.unwrap();
    assert!(got == data);
    let stats = client.read_stats();
    assert_eq!(stats.stripe_resumes, 1);
    let resumed = format!("bytes={half}-{}", STRIPE - 1);
    let asked: Vec<Option<String>> = [2, 3].iter().flat_map(|&d| h.get_ranges(d)).collect();
    assert!(
        asked.contains(&Some(resumed.clone())),
        "{resumed} not in {asked:?}"
    );
    // The failed path serves no more stripes of this fetch.
    assert_eq!(h.requests(1, Method::GET).len(), 1);
}

#[tokio::test]
async fn a_node_that_ignores_range_is_dropped_from_striping_at_once() {
    let (h, data) = stored(3, "k", 8 * STRIPE as usize, PLAIN_CLASS).await;
    let client = client(&h, config());
    h.fault(2, Method::GET, Fault::IgnoreRange);
    let got = collect(&client, "k", &GetOptions::new()).await.unwrap();
    assert!(got == data);
    let stats = client.read_stats();
    assert_eq!(stats.range_refusals, 1);
    assert_eq!(
        h.requests(2, Method::GET).len(),
        1,
        "asked once, then dropped"
    );
    // Its connection was dropped, not skipped through: the next request opens a new one.
    let conns = h.node(2).connection_count();
    h.node(2).clear_faults();
    assert!(client.get_bytes("k").await.unwrap() == data);
    assert!(h.node(2).connection_count() > conns);
}

#[tokio::test]
async fn with_no_node_serving_ranges_the_fetch_falls_back_to_one_stream() {
    let (h, data) = stored(2, "k", 8 * STRIPE as usize, PLAIN_CLASS).await;
    let client = client(&h, config());
    h.fault(1, Method::GET, Fault::IgnoreRange);
    h.fault(2, Method::GET, Fault::IgnoreRange);
    let got = collect(&client, "k", &GetOptions::new()).await.unwrap();
    assert!(got == data);
    assert_eq!(client.read_stats().range_refusals, 2);
    // The range too: the one stream skips to it in the whole body.
    let got = client
        .get_range("k", 100, Some(THRESHOLD + 5))
        .await
        .unwrap();
    assert!(got == data[100..100 + THRESHOLD as usize + 5]);
}

#[tokio::test]
async fn a_node_reporting_another_total_ends_the_fetch_with_a_typed_error() {
    let len = 8 * STRIPE as usize;
    let (h, _data) = stored(2, "k", len, PLAIN_CLASS).await;
    let client = client(&h, config());
    // Node 2's copy is one byte short: its Content-Range says `/<len - 1>`.
    h.truncate_replica("k", 2, len as u64 - 1);
    let err = collect(&client, "k", &GetOptions::new())
        .await
        .expect_err("a replica of another length");
    match err {
        Error::ReplicaLength {
            expected, actual, ..
        } => assert_eq!((expected, actual), (len as u64, len as u64 - 1)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_node_that_dies_between_stripes_leaves_the_rest_to_the_others() {
    let (h, data) = stored(2, "k", 16 * STRIPE as usize, PLAIN_CLASS).await;
    let client = client(&h, config());
    let mut stream = client.get("k").await.unwrap();
    let mut got = stream.next().await.unwrap().unwrap().to_vec();
    // Node 2 dies: every request it gets from now on is closed unanswered.
    h.node(2)
        .inject(FaultRule::new(Fault::Close).method(Method::GET));
    h.cluster.kill_node(1).unwrap();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert!(got == data);
    assert!(h.requests(1, Method::GET).len() > 8);
}

#[tokio::test]
async fn a_consumer_that_stops_reading_stops_the_fetch_and_memory_stays_bounded() {
    let stripes = 64u64;
    let (h, data) = stored(2, "k", (stripes * STRIPE) as usize, PLAIN_CLASS).await;
    let client = client(&h, config());
    let bound = 2 * STRIPE;
    let mut stream = client.get("k").await.unwrap();
    let mut got = stream.next().await.unwrap().unwrap().to_vec();
    // The consumer stops: let everything else on this runtime run.
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    let asked = gets(&h, 2).iter().sum::<usize>() as u64;
    assert!(
        asked <= 2,
        "{asked} stripe requests while the consumer held one chunk"
    );
    assert!(stream.buffered_bytes() <= bound);
    // Read slowly; never more than the window is fetched ahead.
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
        assert!(
            stream.buffered_bytes() <= bound,
            "{} buffered",
            stream.buffered_bytes()
        );
        let asked = gets(&h, 2).iter().sum::<usize>() as u64;
        let handed_stripes = got.len() as u64 / STRIPE;
        assert!(
            asked <= handed_stripes + 2,
            "{asked} stripes asked with {} bytes handed out",
            got.len()
        );
        tokio::task::yield_now().await;
    }
    assert!(got == data);
    let stats = client.read_stats();
    assert!(stats.peak_buffered_bytes <= bound);
    assert_eq!(stats.buffered_bytes, 0);
    assert_eq!(stats.stripes, stripes);
}

#[tokio::test]
async fn dropping_a_striped_stream_releases_its_buffers() {
    let (h, _data) = stored(3, "k", 32 * STRIPE as usize, PLAIN_CLASS).await;
    let client = client(&h, config());
    let mut stream = client.get("k").await.unwrap();
    for _ in 0..5 {
        stream.next().await.unwrap().unwrap();
    }
    drop(stream);
    assert_eq!(client.read_stats().buffered_bytes, 0);
    assert!(client.get_range("k", 0, Some(10)).await.is_ok());
}

#[tokio::test]
async fn a_striped_read_verifies_the_checksum_by_default_when_the_tracker_has_one() {
    let (h, data) = stored(2, "k", 8 * STRIPE as usize, MD5_CLASS).await;
    let client = client(&h, config());
    // Intact: verified, Ok.
    assert!(client.get_bytes("k").await.unwrap() == data);
    // Same length, other bytes on the first path (which serves stripe 0).
    h.cluster.corrupt_replica("k", 1).await.unwrap();
    let err = client.get_bytes("k").await.unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err:?}");
    // Asked not to verify, the read cannot tell (the exposure the docs describe).
    let got = collect(&client, "k", &GetOptions::new().verify_checksum(false))
        .await
        .unwrap();
    assert_eq!(got.len(), data.len());
    // Not striped (one stream): the policy (off) decides, as before.
    let one = GetOptions::new().streams(1);
    assert!(collect(&client, "k", &one).await.is_ok());
}

#[tokio::test]
async fn streams_one_or_a_zone_turn_striping_off() {
    let (h, data) = stored(2, "k", 8 * STRIPE as usize, PLAIN_CLASS).await;
    let plain = client(&h, config());
    let got = collect(&plain, "k", &GetOptions::new().streams(1))
        .await
        .unwrap();
    assert!(got == data);
    assert_eq!(plain.read_stats().striped_fetches, 0);
    let off = client(
        &h,
        ClientConfig {
            stripe_streams: Some(1),
            ..config()
        },
    );
    assert!(off.get_bytes("k").await.unwrap() == data);
    assert_eq!(off.read_stats().striped_fetches, 0);
    // A zone: off by default, on when asked for.
    let zoned = ClientConfig {
        zone: Some("alt".into()),
        ..config()
    };
    let z = client(&h, zoned.clone());
    assert!(z.get_bytes("k").await.unwrap() == data);
    assert_eq!(z.read_stats().striped_fetches, 0);
    let z = client(
        &h,
        ClientConfig {
            stripe_streams: Some(2),
            ..zoned
        },
    );
    assert!(z.get_bytes("k").await.unwrap() == data);
    assert_eq!(z.read_stats().striped_fetches, 1);
}
