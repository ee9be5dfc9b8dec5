//! Download failover: replicas that are missing, fail, refuse, die mid-body, ignore `Range` or are
//! truncated; the caller always gets the exact bytes, or a typed error listing every attempt.

use futures::StreamExt;
use mogile_tests::{Behaviour, Harness, fid_path, pattern};
use mogilefs::{AttemptError, Error, GetOptions, PathsOptions};

/// A 3-replica file (devids 1, 2, 3, read in that order).
async fn replicated(h: &Harness, len: usize) -> bytes::Bytes {
    let data = pattern(len);
    h.client().put("k", data.clone()).await.unwrap();
    h.replicate("k");
    assert_eq!(h.replicas("k").1, vec![1, 2, 3]);
    data
}

async fn first_path_fails(setup: impl FnOnce(&Harness, u64)) {
    let h = Harness::start(3).await;
    let data = replicated(&h, 100_000).await;
    setup(&h, h.replicas("k").0);
    let client = h.client();
    assert_eq!(client.get_bytes("k").await.unwrap(), data);
    assert_eq!(h.node(1).gets(), 1);
    assert_eq!(h.node(2).gets(), 1);
    assert_eq!(h.node(3).gets(), 0);
}

#[tokio::test]
async fn missing_replica_404_moves_to_the_next_path() {
    // The file is gone from the first device behind the tracker's back.
    first_path_fails(|h, fid| assert!(h.node(1).remove(&fid_path(1, fid)))).await;
}

#[tokio::test]
async fn replica_answering_500_moves_to_the_next_path() {
    first_path_fails(|h, _| h.node(1).set_get(Behaviour::Error500)).await;
}

#[tokio::test]
async fn refused_replica_moves_to_the_next_path() {
    first_path_fails(|h, _| h.node(1).set_get(Behaviour::Refuse)).await;
}

#[tokio::test]
async fn replica_dying_mid_body_resumes_with_range_on_the_next() {
    let h = Harness::start(3).await;
    let data = replicated(&h, 1 << 20).await;
    h.node(1).set_get(Behaviour::DieMidBody);
    let client = h.client();
    let mut stream = client.get("k").await.unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert!(
        got == data,
        "{} bytes, identical: {}",
        got.len(),
        got == data
    );
    // The next replica was asked for the rest only, from the byte reached.
    let ranges = h.node(2).get_ranges();
    assert_eq!(ranges.len(), 1);
    let range = ranges[0].clone().expect("a Range header");
    let start: u64 = range
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("open range from the byte reached, got {range}"));
    assert!(start > 0 && start <= (1 << 19), "resumed at {start}");
}

#[tokio::test]
async fn replica_ignoring_range_does_not_duplicate_bytes() {
    let h = Harness::start(3).await;
    let data = replicated(&h, 1 << 20).await;
    h.node(1).set_get(Behaviour::DieMidBody);
    h.node(2).set_get(Behaviour::IgnoreRange);
    let got = h.client().get_bytes("k").await.unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data);
    assert!(h.node(2).get_ranges()[0].is_some());
    assert_eq!(h.node(3).gets(), 0);
}

#[tokio::test]
async fn truncated_replica_is_caught_by_the_length_check() {
    let h = Harness::start(3).await;
    let data = replicated(&h, 10_000).await;
    h.node(1).set_get(Behaviour::Truncated);
    assert_eq!(h.client().get_bytes("k").await.unwrap(), data);
    // The short replica was continued from where it ended, not re-read.
    assert_eq!(h.node(2).get_ranges(), vec![Some("bytes=5000-".to_owned())]);

    // With every replica truncated, the fetch fails and says why for each one.
    for n in &h.nodes {
        n.set_get(Behaviour::Truncated);
    }
    let err = h.client().get_bytes("k").await.unwrap_err();
    let Error::NoUsablePath { attempts, .. } = &err else {
        panic!("expected NoUsablePath, got {err:?}");
    };
    assert!(matches!(
        attempts[0].error,
        AttemptError::Length {
            expected: 10_000,
            actual: 5000
        }
    ));
    assert_eq!(attempts.len(), 3);

    // Without the length check the truncation goes unnoticed: that is what the check is for.
    let short = h
        .client()
        .get_opts("k", &GetOptions::new().verify_length(false))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(short.len(), 5000);
}

#[tokio::test]
async fn every_path_failing_lists_every_attempt() {
    let h = Harness::start(3).await;
    replicated(&h, 1000).await;
    for n in &h.nodes {
        n.set_get(Behaviour::Error500);
    }
    let err = h.client().get_bytes("k").await.unwrap_err();
    let Error::NoUsablePath { attempts, .. } = &err else {
        panic!("expected NoUsablePath, got {err:?}");
    };
    let urls: Vec<&str> = attempts.iter().map(|a| a.url.as_str()).collect();
    assert_eq!(urls.len(), 3);
    assert!(urls[0].contains("/dev1/") && urls[1].contains("/dev2/") && urls[2].contains("/dev3/"));
}

#[tokio::test]
async fn paths_and_pathcount() {
    let h = Harness::start(3).await;
    replicated(&h, 10).await;
    let client = h.client();
    assert_eq!(client.paths("k").await.unwrap().len(), 3);
    let two = client
        .paths_opts("k", &PathsOptions::new().pathcount(2))
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
    assert!(two[0].as_str().contains("/dev1/"));
    // The facade asks with noverify=1 and pathcount=3 by default.
    let log = h.tracker.wire_log();
    let line = log
        .iter()
        .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
        .find(|l| l.starts_with("get_paths "))
        .unwrap();
    assert!(
        line.contains("noverify=1") && line.contains("pathcount=3"),
        "{line}"
    );
}
