//! Download failover: replicas that are missing, fail, refuse, die mid-body, ignore `Range` or are
//! truncated; the caller always gets the exact bytes, or a typed error listing every attempt.

use futures::StreamExt;
use http::Method;
use mogile_testkit::storage::Fault;
use mogile_tests::{Harness, PLAIN_CLASS, pattern};
use mogilefs::{AttemptError, Error, GetOptions, PathsOptions, PutOptions};

/// A cluster of 3 with key `k` on devids 1, 2, 3 (read in that order).
async fn replicated(len: usize) -> (Harness, bytes::Bytes) {
    let h = Harness::start(3).await;
    let data = pattern(len);
    // The plain class replicates to every node (the default class stops at 2).
    let opts = PutOptions::new().class(PLAIN_CLASS);
    h.client().put_opts("k", data.clone(), &opts).await.unwrap();
    h.replicate().await;
    assert_eq!(h.replicas("k").1, vec![1, 2, 3]);
    (h, data)
}

/// The first path was broken by the caller: the fetch is served by the second.
async fn served_by_the_second_path(h: &Harness, data: &bytes::Bytes) {
    assert_eq!(&h.client().get_bytes("k").await.unwrap(), data);
    assert_eq!(h.requests(2, Method::GET).len(), 1);
    assert_eq!(h.requests(3, Method::GET).len(), 0);
}

#[tokio::test]
async fn missing_replica_404_moves_to_the_next_path() {
    let (h, data) = replicated(100_000).await;
    // Gone from the first device behind the tracker's back: that node answers 404.
    h.cluster.remove_replica("k", 1).await.unwrap();
    served_by_the_second_path(&h, &data).await;
    assert_eq!(h.requests(1, Method::GET).len(), 1);
}

#[tokio::test]
async fn replica_answering_500_moves_to_the_next_path() {
    let (h, data) = replicated(100_000).await;
    h.fault(1, Method::GET, Fault::Status(500));
    served_by_the_second_path(&h, &data).await;
}

#[tokio::test]
async fn refused_replica_moves_to_the_next_path() {
    let (h, data) = replicated(100_000).await;
    h.cluster.kill_node(0).unwrap();
    served_by_the_second_path(&h, &data).await;
}

#[tokio::test]
async fn replica_dying_mid_body_resumes_with_range_on_the_next() {
    let (h, data) = replicated(1 << 20).await;
    h.fault(
        1,
        Method::GET,
        Fault::ResetAfter {
            body_bytes: 1 << 19,
        },
    );
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
    let ranges = h.get_ranges(2);
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
    let (h, data) = replicated(1 << 20).await;
    h.fault(
        1,
        Method::GET,
        Fault::ResetAfter {
            body_bytes: 1 << 19,
        },
    );
    h.fault(2, Method::GET, Fault::IgnoreRange);
    let got = h.client().get_bytes("k").await.unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data);
    assert!(h.get_ranges(2)[0].is_some());
    assert_eq!(h.requests(3, Method::GET).len(), 0);
}

#[tokio::test]
async fn truncated_replica_is_caught_by_the_length_check() {
    let (h, data) = replicated(10_000).await;
    h.truncate_replica("k", 1, 5000);
    assert_eq!(h.client().get_bytes("k").await.unwrap(), data);
    // The short replica's Content-Length gave it away before any byte was used: the next one
    // is read whole, never stitched onto it (a short 200 may be another content altogether).
    assert_eq!(h.get_ranges(2), vec![None]);

    // With every replica truncated, the fetch fails and says why for each one.
    for devid in 2..=3 {
        h.truncate_replica("k", devid, 5000);
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
    let (h, _) = replicated(1000).await;
    for devid in 1..=3 {
        h.fault(devid, Method::GET, Fault::Status(500));
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
    let (h, _) = replicated(10).await;
    let client = h.client();
    assert_eq!(client.paths("k").await.unwrap().len(), 3);
    let two = client
        .paths_opts("k", &PathsOptions::new().pathcount(2))
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
    assert!(two[0].as_str().contains("/dev1/"));
    // The facade asks with noverify=1 and pathcount=3 by default.
    let log = h.tracker().wire_log();
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

#[tokio::test]
async fn replica_stalling_mid_body_resumes_on_the_next() {
    // Detected by the storage I/O idle timeout (2 s in the harness): real time.
    let (h, data) = replicated(1 << 20).await;
    h.fault(1, Method::GET, Fault::StallResponseBody { after: 300_000 });
    assert!(h.client().get_bytes("k").await.unwrap() == data);
    assert_eq!(h.get_ranges(2), vec![Some("bytes=300000-".to_owned())]);
}

#[tokio::test]
async fn a_416_moves_on_to_the_next_replica() {
    let (h, data) = replicated(1 << 20).await;
    // The first replica dies mid-body; the second holds a single byte, so the rest is past its end
    // (416); the third completes the file.
    h.fault(
        1,
        Method::GET,
        Fault::ResetAfter {
            body_bytes: 600_000,
        },
    );
    h.truncate_replica("k", 2, 1);
    let got = h.client().get_bytes("k").await.unwrap();
    assert!(got == data);
    let start = |devid| {
        h.get_ranges(devid)[0]
            .clone()
            .unwrap()
            .strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap()
    };
    // Both were asked for the same byte: the 416 delivered nothing.
    assert!(start(2) >= 1);
    assert_eq!(start(2), start(3));
}
