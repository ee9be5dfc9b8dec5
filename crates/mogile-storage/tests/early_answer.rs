//! Issue 12, defect 1: a node that answers an upload before the whole body was handed over.
//!
//! A 2xx counts only once the source reached its end and, where the length is known, the count
//! equals it; anything earlier is [`StorageError::EarlyResponse`], and that connection is never
//! reused. The honest answers (mogstored's `200` with an HTML body, `201`, `204`, an HTTP/1.0
//! reply that closes) still succeed once the whole body was sent.
//!
//! Real time; the peers are ordered with explicit signals, never sleeps.

use std::io;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use mogile_storage::{OneShotBody, Payload, StorageClient, StorageError, StoragePutOptions};
use mogile_testkit::storage::FaultPeer;

const OK_EMPTY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

/// A body stream that yields `first` and then never again: the body cannot end, so an answer
/// can only come before the whole body was handed over.
fn held(first: Option<Bytes>) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send {
    stream::iter(first.map(Ok)).chain(stream::pending())
}

fn client() -> StorageClient {
    StorageClient::builder().build().unwrap()
}

/// A peer that reads the request head and `after` body bytes, answers `200`, then reads on
/// until the client goes away.
async fn early_peer(after: usize) -> FaultPeer {
    FaultPeer::start(move |mut conn| async move {
        conn.read_head().await?;
        conn.read_exact(after).await?;
        conn.write(OK_EMPTY).await?;
        conn.drain_until_closed().await;
        Ok(())
    })
    .await
    .unwrap()
}

fn early(err: &StorageError) -> (u64, Option<u64>) {
    match err {
        StorageError::EarlyResponse {
            status: 200,
            sent,
            expected,
            ..
        } => (*sent, *expected),
        other => panic!("expected an early-answer error, got {other:?}"),
    }
}

/// The first reproduction: a declared 196,608-byte stream, a `200` after 64 KiB. Today's
/// `main` returned `Ok` with `bytes_sent` = 65,536.
#[tokio::test]
async fn an_early_200_to_a_stream_of_known_length_is_an_error() {
    let peer = early_peer(64 * 1024).await;
    let body = OneShotBody::from_stream(held(Some(Bytes::from(vec![7u8; 65_536]))), Some(196_608));
    let err = client()
        .put_stream(
            &peer.url("/dev1/f.fid"),
            body,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(early(&err.error), (65_536, Some(196_608)));
    assert!(err.error.try_another_replica());
    assert!(err.body.is_none(), "the body was consumed");
}

/// The second reproduction: the node answers before the first chunk was polled.
/// Today's `main` returned `Ok` with `bytes_sent` = 0 (and the facade committed an empty file).
#[tokio::test]
async fn an_early_200_before_the_first_chunk_is_an_error() {
    let peer = early_peer(0).await;
    for len in [Some(11), None] {
        let body = OneShotBody::from_stream(held(None), len);
        let err = client()
            .put_stream(
                &peer.url("/dev1/f.fid"),
                body,
                &StoragePutOptions::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(early(&err.error), (0, len), "{len:?}");
    }
}

/// The third reproduction: a file against a node that answers right after the request
/// head, then reads no more. Today's `main` returned `Ok(size 0)` in about 4 runs of 10 (with
/// 4 MiB); the file here is larger than any socket buffer, so the body can never complete.
#[tokio::test]
async fn an_early_200_to_a_file_upload_is_always_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    let len: u64 = 32 << 20;
    std::fs::write(&path, vec![5u8; len as usize]).unwrap();
    let payload = Payload::file(&path).await.unwrap();
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_head().await?;
        conn.write(OK_EMPTY).await?;
        conn.stall().await
    })
    .await
    .unwrap();
    let client = client();
    for run in 0..10 {
        let err = client
            .put(
                &peer.url("/dev1/f.fid"),
                &payload,
                &StoragePutOptions::default(),
            )
            .await
            .unwrap_err();
        let (sent, expected) = early(&err);
        assert!(sent < len, "run {run}: {sent}");
        assert_eq!(expected, Some(len));
    }
}

/// A connection that carried an early answer is never reused: the next upload opens a new one,
/// and the lying connection never sees a second request.
#[tokio::test]
async fn a_connection_that_answered_early_is_not_reused() {
    let peer = early_peer(10).await;
    let client = client();
    for _ in 0..2 {
        let body = OneShotBody::from_stream(held(Some(Bytes::from(vec![1u8; 10]))), Some(300_000));
        let err = client
            .put_stream(
                &peer.url("/dev1/f.fid"),
                body,
                &StoragePutOptions::default(),
            )
            .await
            .unwrap_err();
        early(&err.error);
    }
    assert_eq!(peer.connection_count(), 2);
    let first = peer.received(0);
    let requests = first.windows(4).filter(|w| w == b"PUT ").count();
    assert_eq!(requests, 1, "the first connection was reused");
}

/// An early answer on the chunked path (a stream of unknown length, on a fresh connection).
#[tokio::test]
async fn an_early_200_to_a_chunked_stream_is_an_error() {
    let peer = early_peer(100).await;
    let body = OneShotBody::from_stream(held(Some(Bytes::from(vec![3u8; 100]))), None);
    let err = client()
        .put_stream(
            &peer.url("/dev1/f.fid"),
            body,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(early(&err.error), (100, None));
}

/// Honest answers after the whole body succeed: mogstored's `200` with its HTML page, `201`,
/// `204`, and an HTTP/1.0 reply that closes the connection.
#[tokio::test]
async fn honest_answers_after_the_whole_body_succeed() {
    for answer in [
        &b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 18\r\n\r\n<h1>200 - OK</h1>\n"[..],
        &b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"[..],
        &b"HTTP/1.1 204 No Content\r\n\r\n"[..],
        &b"HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"[..],
    ] {
        let peer = FaultPeer::start(move |mut conn| async move {
            let (_, body) = conn.read_request().await?;
            assert_eq!(body.len(), 300_000);
            conn.write(answer).await
        })
        .await
        .unwrap();
        let url = peer.url("/dev1/f.fid");
        let client = client();
        let out = client
            .put(&url, &Payload::from(vec![9u8; 300_000]), &StoragePutOptions::default())
            .await
            .unwrap();
        assert_eq!(out.bytes_sent, 300_000);
        for len in [Some(300_000), None] {
            let chunks = vec![Ok::<_, io::Error>(Bytes::from(vec![9u8; 300_000]))];
            let body = OneShotBody::from_stream(stream::iter(chunks), len);
            let out = client
                .put_stream(&url, body, &StoragePutOptions::default())
                .await
                .unwrap();
            assert_eq!(out.bytes_sent, 300_000, "{len:?}");
        }
    }
}

/// Found by review: hyper never polls a body declared empty, so a stream declared as 0 bytes
/// that yields some was reported as `Ok(bytes_sent 0)`, and the facade sent `size=0`, which
/// turns the tracker's size check off.
#[tokio::test]
async fn a_stream_declared_empty_that_yields_bytes_is_an_error() {
    let peer = FaultPeer::accepting_uploads().await.unwrap();
    let abc = stream::iter(vec![Ok::<_, io::Error>(Bytes::from_static(b"abc"))]);
    let err = client()
        .put_stream(
            &peer.url("/dev1/f.fid"),
            OneShotBody::from_stream(abc, Some(0)),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err.error, StorageError::Body { .. }), "{err:?}");
    assert_eq!(peer.connection_count(), 0, "nothing may be sent");
    // A stream that is empty, as declared, is stored.
    let empty = stream::iter(Vec::<io::Result<Bytes>>::new());
    let out = client()
        .put_stream(
            &peer.url("/dev1/f.fid"),
            OneShotBody::from_stream(empty, Some(0)),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.bytes_sent, 0);
}

/// Found by review: a file that grew after its length was taken was cut to that length and
/// reported as a success; the docs promise a body error.
#[tokio::test]
async fn a_file_that_grew_since_its_length_was_taken_is_an_error() {
    let peer = FaultPeer::accepting_uploads().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grows");
    std::fs::write(&path, b"0123456789").unwrap();
    let payload = Payload::file(&path).await.unwrap();
    std::fs::write(&path, b"0123456789abcde").unwrap();
    let err = client()
        .put(
            &peer.url("/dev1/f.fid"),
            &payload,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Body { .. }), "{err:?}");
    // Back to its length: stored whole.
    std::fs::write(&path, b"0123456789").unwrap();
    let out = client()
        .put(
            &peer.url("/dev1/f.fid"),
            &payload,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.bytes_sent, 10);
}
