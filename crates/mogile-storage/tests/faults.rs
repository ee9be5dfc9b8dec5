//! Faults no well-behaved server shows: stalls, resets, short and long bodies, huge headers,
//! endless bodies, chunked refusals; and the exact bytes we put on the wire.
//!
//! Real time with small timeouts as fault parameters; assertions are on the error kind, never on
//! elapsed time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use mogile_storage::{
    OneShotBody, Payload, StorageClient, StorageConfig, StorageError, StorageGetOptions,
    StoragePutOptions, TimeoutPhase,
};
use mogile_testkit::storage::{Fault, FaultPeer, FaultRule, StorageNode};

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(20);

fn client(idle: Duration, headers: Duration) -> StorageClient {
    StorageClient::builder()
        .config(StorageConfig {
            idle_timeout: idle,
            headers_timeout: headers,
            ..StorageConfig::default()
        })
        .build()
        .unwrap()
}

async fn node_with_file(len: usize) -> (tempfile::TempDir, StorageNode, String) {
    let dir = tempfile::tempdir().unwrap();
    let node = StorageNode::start(dir.path()).await.unwrap();
    node.add_device(1).await.unwrap();
    std::fs::write(node.file_path("/dev1/f.fid"), vec![b'x'; len]).unwrap();
    let url = node.url("/dev1/f.fid");
    (dir, node, url)
}

fn is_timeout(err: &StorageError, phase: TimeoutPhase) -> bool {
    matches!(err, StorageError::Timeout { phase: p, .. } if *p == phase)
}

#[tokio::test]
async fn stall_before_headers_trips_the_headers_timeout() {
    let (_dir, node, url) = node_with_file(10).await;
    node.inject(FaultRule::new(Fault::StallBeforeHeaders));
    let client = client(LONG, SHORT);
    let err = client
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap_err();
    assert!(is_timeout(&err, TimeoutPhase::Headers), "{err:?}");
    assert!(err.try_another_replica());
    // An upload: the node reads the whole body, then says nothing.
    let err = client
        .put(&url, &Payload::from("abc"), &StoragePutOptions::default())
        .await
        .unwrap_err();
    assert!(is_timeout(&err, TimeoutPhase::Headers), "{err:?}");
    assert_eq!(node.requests()[1].body_bytes, 3);
    // With a long headers timeout, the I/O idle timeout catches the same silence.
    let idle_client = self::client(SHORT, LONG);
    let err = idle_client
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap_err();
    assert!(is_timeout(&err, TimeoutPhase::Idle), "{err:?}");
}

#[tokio::test]
async fn silent_node_trips_the_idle_timeout_too() {
    // Accepts the connection, reads nothing, says nothing.
    let peer = FaultPeer::start(|mut conn| async move { conn.stall().await })
        .await
        .unwrap();
    let client = client(SHORT, LONG);
    let err = client.head(&peer.url("/dev1/x.fid")).await.unwrap_err();
    assert!(is_timeout(&err, TimeoutPhase::Idle), "{err:?}");
}

#[tokio::test]
async fn stall_mid_download_trips_the_idle_timeout() {
    let (_dir, node, url) = node_with_file(1 << 20).await;
    node.inject(FaultRule::new(Fault::StallResponseBody { after: 100_000 }));
    let client = client(SHORT, LONG);
    let resp = client
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap();
    let mut stream = resp.into_stream();
    let mut got = 0u64;
    let err = loop {
        match stream.next().await.expect("an error ends the stream") {
            Ok(chunk) => got += chunk.len() as u64,
            Err(e) => break e,
        }
    };
    assert!(is_timeout(&err, TimeoutPhase::Idle), "{err:?}");
    assert_eq!(got, 100_000);
    assert!(
        stream.next().await.is_none(),
        "the stream ends after its error"
    );
}

#[tokio::test]
async fn stall_mid_upload_trips_the_idle_timeout() {
    // The node stops reading after 64 KiB: our writes stall once the socket buffers are full.
    // Nothing inside the request body notices (hyper stops polling it); the I/O layer must.
    let (_dir, node, _) = node_with_file(0).await;
    node.inject(FaultRule::new(Fault::StallRequestBody { after: 64 * 1024 }));
    let client = client(SHORT, LONG);
    let big = Payload::from(vec![0u8; 48 << 20]);
    let err = client
        .put(
            &node.url("/dev1/up.fid"),
            &big,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(is_timeout(&err, TimeoutPhase::Idle), "{err:?}");

    // The same on the fresh-connection path for bodies of unknown length.
    let chunk = Bytes::from(vec![0u8; 1 << 20]);
    let endless = stream::repeat_with(move || Ok(chunk.clone())).take(48);
    let body = OneShotBody::from_stream(endless, None);
    let err = client
        .put_stream(
            &node.url("/dev1/up2.fid"),
            body,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        is_timeout(&err.error, TimeoutPhase::Idle),
        "{:?}",
        err.error
    );
    assert!(err.body.is_none());
}

#[tokio::test]
async fn short_and_reset_bodies_are_errors() {
    let (_dir, node, url) = node_with_file(200_000).await;
    let client = client(LONG, LONG);
    node.inject(FaultRule::new(Fault::ShortBody { missing: 1 }).times(1));
    let err = client
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::LengthMismatch { expected: 200_000, actual, .. } if actual < 200_000),
        "{err:?}"
    );

    // A reset may overtake the head in the client's receive queue, so the error can come from
    // `get` or from the body; either way it is an error, never a short success.
    node.inject(FaultRule::new(Fault::ResetAfter { body_bytes: 50_000 }).times(1));
    let fetched = match client.get(&url, &StorageGetOptions::default()).await {
        Ok(resp) => resp.bytes().await,
        Err(e) => Err(e),
    };
    let err = fetched.unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::LengthMismatch { .. } | StorageError::Transport { .. }
        ),
        "{err:?}"
    );
    assert!(err.try_another_replica());

    // A node that closes without answering.
    node.inject(FaultRule::new(Fault::Close).times(1));
    let err = client.head(&url).await.unwrap_err();
    assert!(matches!(err, StorageError::Transport { .. }), "{err:?}");
    // And the client is fine afterwards.
    assert_eq!(
        client.head(&url).await.unwrap().content_length,
        Some(200_000)
    );
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(LONG, LONG)
        .head(&format!("http://{addr}/dev1/x.fid"))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Connect { .. }), "{err:?}");
    assert!(err.try_another_replica());
}

#[tokio::test]
async fn a_full_accept_queue_trips_the_connect_timeout() {
    // A loopback listener that never accepts, with a backlog of 1. Once its accept queue is full
    // the kernel drops further SYNs, so a connect hangs in SYN retransmission: the connect
    // timeout, on a real socket, is all that ends it.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fill the queue: on loopback a handshake completes at once while there is room, so the first
    // connect that does not complete within a generous probe time found the queue full.
    let mut queued = Vec::new();
    loop {
        assert!(queued.len() < 64, "the accept queue never filled");
        let probe = tokio::net::TcpStream::connect(addr);
        match tokio::time::timeout(Duration::from_secs(1), probe).await {
            Ok(stream) => queued.push(stream.expect("a queued connection")),
            Err(_) => break,
        }
    }
    let client = StorageClient::builder()
        .config(StorageConfig {
            connect_timeout: SHORT,
            idle_timeout: LONG,
            headers_timeout: LONG,
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    let url = format!("http://{addr}/dev1/x.fid");
    let err = client.head(&url).await.unwrap_err();
    assert!(is_timeout(&err, TimeoutPhase::Connect), "{err:?}");
    assert!(err.try_another_replica());
    // The fresh-connection path (a body of unknown length) has the same timeout.
    let body = OneShotBody::from_stream(stream::iter([Ok(Bytes::from_static(b"abc"))]), None);
    let err = client
        .put_stream(&url, body, &StoragePutOptions::default())
        .await
        .unwrap_err();
    assert!(
        is_timeout(&err.error, TimeoutPhase::Connect),
        "{:?}",
        err.error
    );
    assert!(err.body.is_some(), "nothing was sent: the body comes back");
    drop((queued, listener));
}

#[tokio::test]
async fn exact_request_bytes() {
    let peer = FaultPeer::start(|mut conn| async move {
        loop {
            conn.read_request().await?;
            conn.write(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
                .await?;
        }
    })
    .await
    .unwrap();
    let client = client(LONG, LONG);
    let url = peer.url("/dev1/0/000/000/0000000001.fid");
    let host = peer.addr().to_string();
    client
        .put(&url, &Payload::from("hello"), &StoragePutOptions::default())
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(peer.received(0)).unwrap(),
        format!(
            "PUT /dev1/0/000/000/0000000001.fid HTTP/1.1\r\ncontent-length: 5\r\nhost: {host}\r\n\r\nhello"
        )
    );
    let body = OneShotBody::from_stream(
        stream::iter([
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"de")),
        ]),
        None,
    );
    client
        .put_stream(&url, body, &StoragePutOptions::default())
        .await
        .unwrap();
    assert_eq!(
        peer.connection_count(),
        2,
        "unknown length: a fresh connection"
    );
    assert_eq!(
        String::from_utf8(peer.received(1)).unwrap(),
        format!(
            "PUT /dev1/0/000/000/0000000001.fid HTTP/1.1\r\nhost: {host}\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
    );
}

#[tokio::test]
async fn refused_chunked_bodies_are_spooled_and_resent_with_a_length() {
    for refusal in [411u16, 501] {
        let seen = Arc::new(AtomicUsize::new(0));
        let peer = {
            let seen = seen.clone();
            FaultPeer::start(move |mut conn| {
                let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
                async move {
                    if first {
                        conn.read_head().await?;
                        let resp = format!(
                            "HTTP/1.1 {refusal} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        );
                        return conn.write(resp.as_bytes()).await;
                    }
                    conn.read_request().await?;
                    conn.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
                        .await?;
                    conn.drain_until_closed().await;
                    Ok(())
                }
            })
            .await
            .unwrap()
        };
        let client = client(LONG, LONG);
        let chunks = (0..50u8).map(|i| Ok(Bytes::from(vec![i; 10_000])));
        let body = OneShotBody::from_stream(stream::iter(chunks), None);
        let out = client
            .put_stream(
                &peer.url("/dev1/x.fid"),
                body,
                &StoragePutOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!((out.status, out.bytes_sent), (201, 500_000));
        let resend = peer.received(1);
        let head_end = resend.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&resend[..head_end]);
        assert!(head.contains("content-length: 500000\r\n"), "{head}");
        assert!(!head.contains("chunked"), "{head}");
        let body = &resend[head_end..];
        assert_eq!(body.len(), 500_000);
        assert!(
            body.chunks(10_000)
                .enumerate()
                .all(|(i, c)| c.iter().all(|&b| b == i as u8))
        );
    }
}

#[tokio::test]
async fn without_a_spool_a_chunked_refusal_is_an_error() {
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_head().await?;
        conn.write(
            b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await
    })
    .await
    .unwrap();
    let client = StorageClient::builder()
        .config(StorageConfig {
            spool_limit: 0,
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    let body = OneShotBody::from_stream(stream::iter([Ok(Bytes::from_static(b"abc"))]), None);
    let err = client
        .put_stream(
            &peer.url("/dev1/x.fid"),
            body,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.error.status(), Some(411));
}

#[tokio::test]
async fn body_longer_than_content_length_is_cut_at_the_promise() {
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_head().await?;
        conn.write(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA-BYTES")
            .await?;
        conn.drain_until_closed().await;
        Ok(())
    })
    .await
    .unwrap();
    let body = client(LONG, LONG)
        .get(&peer.url("/dev1/x.fid"), &StorageGetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"hello");
}

#[tokio::test]
async fn huge_headers_fail_without_hanging() {
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_head().await?;
        conn.write(b"HTTP/1.0 200 OK\r\nX-Huge: ").await?;
        conn.write_endless(&[b'h'; 64 * 1024]).await
    })
    .await
    .unwrap();
    let err = client(LONG, LONG)
        .get(&peer.url("/dev1/x.fid"), &StorageGetOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn endless_body_streams_with_back_pressure_until_dropped() {
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_head().await?;
        // HTTP/1.0 without a length: the body runs until the connection closes, i.e. forever.
        conn.write(b"HTTP/1.0 200 OK\r\n\r\n").await?;
        conn.write_endless(&[b'e'; 64 * 1024]).await
    })
    .await
    .unwrap();
    let resp = client(LONG, LONG)
        .get(&peer.url("/dev1/x.fid"), &StorageGetOptions::default())
        .await
        .unwrap();
    assert_eq!(resp.content_length(), None);
    let mut stream = resp.into_stream();
    let mut got = 0usize;
    while got < 8 << 20 {
        got += stream.next().await.unwrap().unwrap().len();
    }
    drop(stream);
}

/// The start asked for and the `Content-Range` of a [`StorageError::RangeNotHonoured`].
fn refused_range(err: StorageError) -> (u64, Option<String>) {
    match err {
        StorageError::RangeNotHonoured {
            start,
            content_range,
            ..
        } => (start, content_range),
        other => panic!("expected RangeNotHonoured, got {other:?}"),
    }
}

#[tokio::test]
async fn a_206_must_start_where_asked() {
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_head().await?;
        // Asked for bytes=6-, answers from 0 (what a suffix-range bug would look like).
        conn.write(b"HTTP/1.0 206 Partial Content\r\nContent-Range: bytes 0-3/14\r\nContent-Length: 4\r\n\r\nhell")
            .await?;
        conn.drain_until_closed().await;
        Ok(())
    })
    .await
    .unwrap();
    let opts = StorageGetOptions::default().range(mogile_storage::ByteRange::from_offset(6));
    let err = client(LONG, LONG)
        .get(&peer.url("/dev1/x.fid"), &opts)
        .await
        .unwrap_err();
    let (start, content_range) = refused_range(err);
    assert_eq!(start, 6);
    assert_eq!(content_range.as_deref(), Some("bytes 0-3/14"));
    let received = String::from_utf8(peer.received(0)).unwrap();
    assert!(received.contains("range: bytes=6-\r\n"), "{received}");
}

/// A request without a range asks for the file from byte 0, so a `206` to it must start there:
/// a part from byte 100 would otherwise pass for the file's first bytes (written whole by
/// `get_to_file`, say). A `206` that does start at byte 0 is a part of the file, as it says.
#[tokio::test]
async fn a_206_to_a_request_without_range_must_start_at_byte_0() {
    for (content_range, body) in [("bytes 100-103/200", "tail"), ("bytes 0-3/200", "head")] {
        let answer = format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: {content_range}\r\nContent-Length: 4\r\n\r\n{body}"
        );
        let peer = FaultPeer::start(move |mut conn| {
            let answer = answer.clone();
            async move {
                conn.read_head().await?;
                conn.write(answer.as_bytes()).await?;
                conn.drain_until_closed().await;
                Ok(())
            }
        })
        .await
        .unwrap();
        let got = client(LONG, LONG)
            .get(&peer.url("/dev1/x.fid"), &StorageGetOptions::default())
            .await;
        let received = String::from_utf8(peer.received(0)).unwrap();
        assert!(!received.contains("range:"), "{received}");
        if body == "tail" {
            let (start, content_range) = refused_range(got.unwrap_err());
            assert_eq!(start, 0);
            assert_eq!(content_range.as_deref(), Some("bytes 100-103/200"));
        } else {
            let resp = got.unwrap();
            assert!(resp.range_honoured());
            let part = mogile_storage::ContentRange::parse(content_range).unwrap();
            assert_eq!(resp.extent(), mogile_storage::Extent::Part(part));
            assert_eq!(&resp.bytes().await.unwrap()[..], b"head");
        }
    }
}

#[derive(Default)]
struct Restarts {
    bytes: AtomicUsize,
    restarts: AtomicUsize,
}

impl mogile_storage::TransferObserver for Restarts {
    fn on_bytes(&self, chunk: &[u8]) {
        self.bytes.fetch_add(chunk.len(), Ordering::SeqCst);
    }
    fn on_restart(&self) {
        self.restarts.fetch_add(1, Ordering::SeqCst);
        self.bytes.store(0, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn reader_bodies_and_the_observer_across_a_resend() {
    let seen = Arc::new(AtomicUsize::new(0));
    let peer = {
        let seen = seen.clone();
        FaultPeer::start(move |mut conn| {
            let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    let (_, body) = conn.read_request().await?;
                    assert_eq!(body.len(), 100_000, "the chunked attempt sent everything");
                    return conn
                        .write(b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                }
                conn.read_request().await?;
                conn.write(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").await?;
                conn.drain_until_closed().await;
                Ok(())
            }
        })
        .await
        .unwrap()
    };
    let observer = Arc::new(Restarts::default());
    let opts = StoragePutOptions::default().observer(observer.clone());
    let reader = std::io::Cursor::new(vec![9u8; 100_000]);
    let body = OneShotBody::from_reader(reader, None);
    let out = client(LONG, LONG)
        .put_stream(&peer.url("/dev1/r.fid"), body, &opts)
        .await
        .unwrap();
    assert_eq!(out.bytes_sent, 100_000);
    assert_eq!(observer.restarts.load(Ordering::SeqCst), 1);
    assert_eq!(
        observer.bytes.load(Ordering::SeqCst),
        100_000,
        "fed again from the start"
    );
    let resend = peer.received(1);
    assert!(String::from_utf8_lossy(&resend).contains("content-length: 100000\r\n"));
}
