//! `TrackerClient::request_pair`: two requests written back to back on one connection, both
//! replies read in order, failing over as a whole.

mod common;

use std::time::Duration;

use mogile_protocol::{ErrorCode, FileInfo, GetPaths, Rename};
use mogile_testkit::tracker::{FakeTracker, Fault, FaultAction};
use mogile_tracker::TrackerError;

fn pair(key: &str) -> (GetPaths, FileInfo) {
    (
        GetPaths::new("testdom", key).noverify(true),
        FileInfo::new("testdom", key).devices(true),
    )
}

/// Both lines go out on one connection, with their own `callid`s, one after the other; both
/// answers come back; the next pair reuses the connection.
#[tokio::test(start_paused = true)]
async fn a_pair_shares_one_connection_and_gets_both_answers() {
    let (ts, _storage) = common::cluster(1).await;
    let client = common::builder(&[&ts[0]]).build().unwrap();
    common::store(&client, "k1").await;
    let before = common::requests(&ts[0]).len();
    for round in 0..2 {
        let (paths, info) = pair("k1");
        let (paths, info) = client.request_pair(paths, info).await.unwrap();
        assert_eq!(paths.unwrap().len(), 1, "round {round}");
        let info = info.unwrap();
        assert_eq!(info.key.to_string(), "k1");
        assert_eq!(info.length, 0);
    }
    let lines = common::requests(&ts[0]);
    let lines = &lines[before..];
    // create_open and create_close took callids 1 and 2.
    assert_eq!(
        lines,
        [
            "get_paths domain=testdom&key=k1&noverify=1&callid=3\r\n",
            "file_info domain=testdom&key=k1&devices=1&callid=4\r\n",
            "get_paths domain=testdom&key=k1&noverify=1&callid=5\r\n",
            "file_info domain=testdom&key=k1&devices=1&callid=6\r\n",
        ]
    );
    assert_eq!(common::request_connections(&ts[0]).len(), 1);
    assert_eq!(ts[0].connections_accepted(), 1);
}

/// An `ERR` answers its own request only: the other reply is still read and returned, and the
/// connection stays in service.
#[tokio::test(start_paused = true)]
async fn an_err_answers_one_request_of_the_pair() {
    let (ts, _storage) = common::cluster(1).await;
    let client = common::builder(&[&ts[0]]).build().unwrap();
    common::store(&client, "k1").await;
    let (paths, info) = (
        GetPaths::new("testdom", "missing"),
        FileInfo::new("testdom", "k1"),
    );
    let (paths, info) = client.request_pair(paths, info).await.unwrap();
    let err = paths.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::UnknownKey), "{err:?}");
    assert_eq!(info.unwrap().key.to_string(), "k1");
    let (paths, info) = pair("k1");
    let (paths, info) = client.request_pair(paths, info).await.unwrap();
    assert!(paths.is_ok() && info.is_ok());
    assert_eq!(ts[0].connections_accepted(), 1);
}

/// The second reply is lost after the first arrived: the pair is repeated whole on the other
/// tracker (both are reads), and the broken connection is not reused.
#[tokio::test(start_paused = true)]
async fn a_pair_whose_second_reply_is_lost_fails_over_whole() {
    let (ts, _storage) = common::cluster(2).await;
    let client = common::builder(&[&ts[0], &ts[1]]).build().unwrap();
    common::store(&client, "k1").await;
    for t in &ts {
        t.inject(Fault::new(FaultAction::Drop).command("file_info").times(1));
    }
    let (paths, info) = pair("k1");
    let outcome = client.request_pair(paths, info).await;
    // The default budget is two attempts for two trackers: both drop their first file_info.
    let err = outcome.unwrap_err();
    assert!(
        matches!(err, TrackerError::RetriesExhausted { attempts: 2, .. }),
        "{err:?}"
    );
    for t in &ts {
        assert_eq!(t.requests("get_paths"), 1);
        assert_eq!(t.requests("file_info"), 1);
    }
    // Each tracker's fault is spent: the next pair is answered, on a new connection.
    let (paths, info) = pair("k1");
    let (paths, info) = client.request_pair(paths, info).await.unwrap();
    assert!(paths.is_ok() && info.is_ok());
    let accepted: u64 = ts.iter().map(FakeTracker::connections_accepted).sum();
    assert!(accepted >= 3, "{accepted}");
}

/// A second reply that never comes times out after both commands' timeouts: the tracker runs
/// the two one after the other.
#[tokio::test(start_paused = true)]
async fn a_pair_times_out_after_the_sum_of_its_timeouts() {
    let (ts, _storage) = common::cluster(1).await;
    let client = common::builder(&[&ts[0]])
        .config(mogile_tracker::TrackerConfig {
            file_timeout: Duration::from_secs(2),
            retry_budget: Some(1),
            ..common::config()
        })
        .build()
        .unwrap();
    common::store(&client, "k1").await;
    ts[0].inject(Fault::new(FaultAction::Hang).command("file_info"));
    let (paths, info) = pair("k1");
    let start = tokio::time::Instant::now();
    let err = client.request_pair(paths, info).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(4));
    let TrackerError::RetriesExhausted { last, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(
            **last,
            TrackerError::Timeout {
                timeout,
                request_sent: true,
                ..
            } if timeout == Duration::from_secs(4)
        ),
        "{last:?}"
    );
}

/// A pair with a command that is not safe to repeat is sent as two requests, in order.
#[tokio::test(start_paused = true)]
async fn a_pair_with_a_mutation_goes_as_two_requests() {
    let (ts, _storage) = common::cluster(1).await;
    let client = common::builder(&[&ts[0]]).build().unwrap();
    common::store(&client, "k1").await;
    let (renamed, info) = client
        .request_pair(
            Rename::new("testdom", "k1", "k2"),
            FileInfo::new("testdom", "k2"),
        )
        .await
        .unwrap();
    renamed.unwrap();
    assert_eq!(info.unwrap().key.to_string(), "k2");
    let lines = common::requests(&ts[0]);
    let n = lines.len();
    assert!(lines[n - 2].starts_with("rename "), "{lines:?}");
    assert!(lines[n - 1].starts_with("file_info "), "{lines:?}");
}
