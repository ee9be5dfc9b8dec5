//! The low-speed limit: a node that crawls, in either direction, is failed (for the caller to
//! fail over); the caller's own slowness (a body source that is not ready, a download stream that
//! is not polled) never trips it.
//!
//! Paused clock: every peer is a `FaultPeer` task on the test's own current-thread runtime, so the
//! clock only jumps when everything waits.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use mogile_storage::{
    LowSpeed, OneShotBody, Payload, StorageClient, StorageConfig, StorageError, StorageGetOptions,
    StoragePutOptions, TimeoutPhase,
};
use mogile_testkit::storage::FaultPeer;
use tokio::sync::Notify;

const SEC: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

fn is_low_speed(err: &StorageError) -> bool {
    matches!(
        err,
        StorageError::Timeout {
            phase: TimeoutPhase::LowSpeed,
            ..
        }
    )
}

/// A node that answers a GET with `len` bytes, one byte every 25 s: each byte arrives inside
/// the 30 s idle timeout, so only the low-speed limit can end the transfer early.
async fn trickling_node(len: usize) -> FaultPeer {
    FaultPeer::start(move |mut conn| async move {
        loop {
            conn.read_head().await?;
            conn.write(format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").as_bytes())
                .await?;
            for _ in 0..len {
                tokio::time::sleep(25 * SEC).await;
                conn.write(b"x").await?;
            }
        }
    })
    .await
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_trickling_download_trips_the_low_speed_limit() {
    let peer = trickling_node(40).await;
    let url = peer.url("/dev1/slow.fid");
    // The defaults: idle 30 s, 1 KiB/s over 30 s of waiting.
    let client = StorageClient::builder().build().unwrap();
    let mut body = client
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap()
        .into_stream();
    let mut got = 0;
    let err = loop {
        match body.next().await.expect("an error ends the stream") {
            Ok(chunk) => got += chunk.len(),
            Err(e) => break e,
        }
    };
    assert!(is_low_speed(&err), "{err:?}");
    assert!(err.is_timeout() && err.try_another_replica());
    assert_eq!(err.url(), url);
    assert!(got < 5, "failed within two windows, after {got} bytes");
    assert!(
        body.next().await.is_none(),
        "the stream ends after its error"
    );

    // The same node without the limit: the idle timer alone lets it run to the end.
    let unlimited = StorageClient::builder()
        .config(StorageConfig {
            low_speed_limit: None,
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    let whole = unlimited
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(whole.len(), 40);
}

#[tokio::test(start_paused = true)]
async fn a_node_reading_an_upload_slowly_trips_the_low_speed_limit() {
    // Reads the head, then consumes 1 KiB per second (taking at most 16 KiB at a time from the
    // socket): far below 256 KiB/s.
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_head().await?;
        loop {
            tokio::time::sleep(SEC).await;
            conn.read_exact(1024).await?;
        }
    })
    .await
    .unwrap();
    // Idle and headers timeouts that never fire: the low-speed limit is what ends the upload.
    let client = StorageClient::builder()
        .config(StorageConfig {
            idle_timeout: HOUR,
            headers_timeout: HOUR,
            low_speed_limit: Some(LowSpeed::new(256 * 1024, 10 * SEC)),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    // Larger than every socket buffer between us and the node.
    let big = Payload::from(vec![7u8; 48 << 20]);
    let err = client
        .put(
            &peer.url("/dev1/up.fid"),
            &big,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(is_low_speed(&err), "{err:?}");
    assert!(err.try_another_replica());

    // The same on the fresh-connection path for bodies of unknown length.
    let chunk = Bytes::from(vec![7u8; 1 << 20]);
    let endless = stream::repeat_with(move || Ok(chunk.clone())).take(48);
    let err = client
        .put_stream(
            &peer.url("/dev1/up2.fid"),
            OneShotBody::from_stream(endless, None),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(is_low_speed(&err.error), "{:?}", err.error);
    assert!(err.body.is_none(), "bytes were sent: the body is gone");
}

/// Ten chunks of 100 bytes, 20 s apart: 5 bytes per second of wall-clock time, below the limit
/// under test, but each pause below the 30 s idle timeout.
fn slow_source() -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    stream::iter(0..10u8).then(|i| async move {
        tokio::time::sleep(20 * SEC).await;
        Ok(Bytes::from(vec![i; 100]))
    })
}

#[tokio::test(start_paused = true)]
async fn a_slow_body_source_never_trips_the_low_speed_limit() {
    let peer = FaultPeer::accepting_uploads().await.unwrap();
    let client = StorageClient::builder()
        .config(StorageConfig {
            low_speed_limit: Some(LowSpeed::new(1024, 10 * SEC)),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    // Known length (pooled connection) and unknown length (chunked, fresh connection).
    for declared in [Some(1000), None] {
        let body = OneShotBody::from_stream(slow_source(), declared);
        let out = client
            .put_stream(
                &peer.url("/dev1/slow.fid"),
                body,
                &StoragePutOptions::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("declared {declared:?}: {:?}", e.error));
        assert_eq!((out.status, out.bytes_sent), (201, 1000));
    }
    // The chunked upload's own connection carried every byte, in order.
    let wire = peer.received(1);
    let body: Vec<u8> = (0..10u8).flat_map(|i| [i; 100]).collect();
    let mut framed = Vec::new();
    for chunk in body.chunks(100) {
        framed.extend_from_slice(b"64\r\n");
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
    }
    framed.extend_from_slice(b"0\r\n\r\n");
    assert!(
        wire.ends_with(&framed),
        "{}",
        String::from_utf8_lossy(&wire)
    );
}

/// 640 KiB per 10 s of waiting: no body in the tests below could satisfy one window, so any
/// stretch of the consumer's absence charged to the node as waiting would trip the limit.
fn strict_client() -> StorageClient {
    StorageClient::builder()
        .config(StorageConfig {
            low_speed_limit: Some(LowSpeed::new(64 * 1024, 10 * SEC)),
            ..StorageConfig::default()
        })
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_paused_consumer_never_trips_the_low_speed_limit() {
    const LEN: usize = 256 * 1024;
    // Sends the whole body at once: the node is fast, the reader is the slow one.
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_head().await?;
        let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {LEN}\r\n\r\n").into_bytes();
        reply.extend((0..LEN).map(|i| (i % 251) as u8));
        conn.write(&reply).await?;
        conn.drain_until_closed().await;
        Ok(())
    })
    .await
    .unwrap();
    let mut body = strict_client()
        .get(&peer.url("/dev1/f.fid"), &StorageGetOptions::default())
        .await
        .unwrap()
        .into_stream();
    let mut got = body.next().await.unwrap().unwrap().to_vec();
    // An hour without polling, far past the window and the idle timeout, and long pauses between
    // the remaining chunks: not a second of it is spent waiting on the node.
    tokio::time::sleep(HOUR).await;
    while let Some(chunk) = body.next().await {
        got.extend_from_slice(&chunk.unwrap());
        tokio::time::sleep(10 * 60 * SEC).await;
    }
    assert_eq!(got.len(), LEN);
    assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
}

#[tokio::test(start_paused = true)]
async fn a_consumer_away_while_a_poll_waits_is_not_charged_for_its_absence() {
    const PART: usize = 1024;
    // The body in three parts: the first at once, the second as soon as the test says so, the
    // third a second later.
    let go = Arc::new(Notify::new());
    let peer = {
        let go = go.clone();
        FaultPeer::start(move |mut conn| {
            let go = go.clone();
            async move {
                conn.read_head().await?;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 3 * PART);
                conn.write(head.as_bytes()).await?;
                conn.write(&[1; PART]).await?;
                go.notified().await;
                conn.write(&[2; PART]).await?;
                tokio::time::sleep(SEC).await;
                conn.write(&[3; PART]).await?;
                conn.drain_until_closed().await;
                Ok(())
            }
        })
        .await
        .unwrap()
    };
    let mut body = strict_client()
        .get(&peer.url("/dev1/f.fid"), &StorageGetOptions::default())
        .await
        .unwrap()
        .into_stream();
    let mut got = Vec::new();
    while got.len() < PART {
        got.extend_from_slice(&body.next().await.unwrap().unwrap());
    }
    // Poll once and find nothing yet: the stream now waits on the node. The node answers at once,
    // but the consumer is away for an hour (as after losing a `select!`) before it polls again.
    // The wait ended when the node's bytes woke the task; the hour is the consumer's.
    let polled = futures_util::poll!(body.next());
    assert!(polled.is_pending(), "{polled:?}");
    go.notify_one();
    tokio::time::sleep(HOUR).await;
    while let Some(chunk) = body.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    let expected: Vec<u8> = [1u8, 2, 3].iter().flat_map(|&b| [b; PART]).collect();
    assert!(got == expected, "{} bytes", got.len());
}
