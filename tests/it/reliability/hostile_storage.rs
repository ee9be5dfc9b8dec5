//! A hostile storage node (a raw [`FaultPeer`]) against `mogile-storage`: wrong lengths, endless
//! bodies, redirects, huge headers and malformed framing are typed errors or are cut at the right
//! length; no bytes leak from one response into another; nothing panics. The facade over the same
//! peers is in `hostile_storage_facade`.

use std::time::Duration;

use futures::StreamExt;
use mogile_testkit::storage::FaultPeer;
use mogilefs::lower::storage::{
    Payload, StorageClient, StorageConfig, StorageError, StorageGetOptions, StoragePutOptions,
};

use super::support::{assert_no_library_panics, chain, watch_panics};

/// Short enough that a stall ends a test quickly, long enough for a loaded machine.
pub(super) const TIMEOUT: Duration = Duration::from_secs(3);

pub(super) fn storage() -> StorageClient {
    StorageClient::builder()
        .config(StorageConfig {
            connect_timeout: TIMEOUT,
            idle_timeout: TIMEOUT,
            headers_timeout: TIMEOUT,
            ..StorageConfig::default()
        })
        .build()
        .unwrap()
}

/// A peer that answers every request on every connection with `reply`, then keeps the
/// connection for the next request.
pub(super) async fn answering(reply: &'static [u8]) -> FaultPeer {
    FaultPeer::start(move |mut conn| async move {
        loop {
            conn.read_request().await?;
            conn.write(reply).await?;
        }
    })
    .await
    .unwrap()
}

const GOOD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nGOOD";

#[tokio::test]
async fn content_length_larger_than_the_body_is_a_length_mismatch() {
    watch_panics();
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_request().await?;
        conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            .await?;
        conn.write(&[b'x'; 50]).await?;
        Ok(()) // closes the connection 50 bytes short
    })
    .await
    .unwrap();
    let client = storage();
    let url = peer.url("/dev1/0/000/000/0000000001.fid");
    let err = client
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::LengthMismatch {
                expected: 100,
                actual: 50,
                ..
            }
        ),
        "{err:?}"
    );
    // Streamed, the short body is never a clean end either.
    let mut stream = client
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap()
        .into_stream();
    let mut last = None;
    while let Some(item) = stream.next().await {
        last = Some(item);
    }
    assert!(
        matches!(last, Some(Err(StorageError::LengthMismatch { .. }))),
        "{last:?}"
    );
    assert_no_library_panics();
}

/// The bytes after a `Content-Length` are not part of the response, and above all never the
/// answer to the next request on that connection (HTTP response smuggling).
#[tokio::test]
async fn bytes_after_the_content_length_never_answer_the_next_request() {
    watch_panics();
    for split in [false, true] {
        let peer = FaultPeer::start(move |mut conn| async move {
            conn.read_request().await?;
            let evil: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL";
            if split {
                conn.write(GOOD).await?;
                conn.write(evil).await?;
            } else {
                conn.write(&[GOOD, evil].concat()).await?;
            }
            loop {
                conn.read_request().await?;
                conn.write(GOOD).await?;
            }
        })
        .await
        .unwrap();
        let client = storage();
        let url = peer.url("/dev1/x.fid");
        for i in 0..5 {
            let body = client
                .get(&url, &StorageGetOptions::default())
                .await
                .unwrap();
            let bytes = body.bytes().await.unwrap();
            assert_eq!(&bytes[..], b"GOOD", "request {i} (split {split})");
        }
    }
    assert_no_library_panics();
}

#[tokio::test]
async fn an_endless_body_after_a_known_length_is_not_read() {
    watch_panics();
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_request().await?;
        conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            .await?;
        conn.write_endless(&[b'z'; 8192]).await
    })
    .await
    .unwrap();
    let client = storage();
    let url = peer.url("/dev1/x.fid");
    for _ in 0..3 {
        let bytes = client
            .get(&url, &StorageGetOptions::default())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(bytes.len(), 100);
    }
    // The connection with the endless tail was never reused.
    assert_eq!(peer.connection_count(), 3);
    assert_no_library_panics();
}

#[tokio::test]
async fn redirects_are_never_followed() {
    watch_panics();
    let target = answering(GOOD).await;
    for status in [301u16, 302, 303, 307, 308] {
        let location = target.url("/dev1/x.fid");
        let peer = FaultPeer::start(move |mut conn| {
            let location = location.clone();
            async move {
                loop {
                    conn.read_request().await?;
                    let reply = format!(
                        "HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
                    );
                    conn.write(reply.as_bytes()).await?;
                }
            }
        })
        .await
        .unwrap();
        let client = storage();
        let url = peer.url("/dev1/x.fid");
        let err = client
            .get(&url, &StorageGetOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StorageError::Redirect { status: s, location: Some(l), .. } if *s == status && l.contains("/dev1/x.fid")),
            "{err:?}"
        );
        let err = client
            .put(&url, &Payload::from("abc"), &StoragePutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(status), "{err:?}");
        assert!(matches!(err, StorageError::Redirect { .. }), "{err:?}");
    }
    assert_eq!(target.connection_count(), 0, "a redirect was followed");
    assert_no_library_panics();
}

#[tokio::test]
async fn huge_headers_are_refused_without_unbounded_buffering() {
    watch_panics();
    // Header lines forever.
    let endless = FaultPeer::start(|mut conn| async move {
        conn.read_request().await?;
        conn.write(b"HTTP/1.1 200 OK\r\n").await?;
        conn.write_endless(
            b"X-Junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        )
        .await
    })
    .await
    .unwrap();
    // One header value of 4 MiB.
    let one_huge = FaultPeer::start(|mut conn| async move {
        conn.read_request().await?;
        conn.write(b"HTTP/1.1 200 OK\r\nX-Huge: ").await?;
        conn.write(&vec![b'h'; 4 << 20]).await?;
        conn.write(b"\r\nContent-Length: 4\r\n\r\nGOOD").await
    })
    .await
    .unwrap();
    // Ten thousand short headers, properly ended.
    let many = FaultPeer::start(|mut conn| async move {
        conn.read_request().await?;
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..10_000 {
            head.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"Content-Length: 4\r\n\r\nGOOD");
        conn.write(&head).await
    })
    .await
    .unwrap();
    let client = storage();
    for peer in [&endless, &one_huge, &many] {
        let url = peer.url("/dev1/x.fid");
        let err = tokio::time::timeout(
            Duration::from_secs(30),
            client.get(&url, &StorageGetOptions::default()),
        )
        .await
        .expect("a hostile head ends the request in bounded time")
        .unwrap_err();
        assert!(
            matches!(err, StorageError::Transport { .. }),
            "{}",
            chain(&err)
        );
    }
    assert_no_library_panics();
}

#[tokio::test]
async fn malformed_framing_is_a_transport_error() {
    watch_panics();
    let cases: [&'static [u8]; 7] = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"FOO/1.1 200 OK\r\nContent-Length: 4\r\n\r\nGOOD",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 4\r\n\r\nGOOD",
        b"\r\n\r\n\r\n",
    ];
    let client = storage();
    for reply in cases {
        let peer = answering(reply).await;
        let url = peer.url("/dev1/x.fid");
        let result = match client.get(&url, &StorageGetOptions::default()).await {
            Ok(resp) => resp.bytes().await.map(|_| ()),
            Err(e) => Err(e),
        };
        let err = result.expect_err(&String::from_utf8_lossy(reply));
        // Blank lines before a status line are skipped (RFC 9112 2.2): that one ends in the
        // headers timeout.
        assert!(
            matches!(
                err,
                StorageError::Transport { .. }
                    | StorageError::LengthMismatch { .. }
                    | StorageError::Timeout { .. }
            ),
            "{:?}: {}",
            String::from_utf8_lossy(reply),
            chain(&err)
        );
    }
    // An empty answer: the node closed without a status line.
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_request().await?;
        Ok(())
    })
    .await
    .unwrap();
    let err = client
        .get(&peer.url("/dev1/x.fid"), &StorageGetOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Transport { .. }), "{err:?}");
    assert_no_library_panics();
}

#[tokio::test]
async fn a_slow_body_within_the_idle_timeout_arrives_whole() {
    watch_panics();
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_request().await?;
        conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            .await?;
        for chunk in [b'a'; 1000].chunks(100) {
            // Pacing, not synchronisation: each pause is far below the idle timeout.
            tokio::time::sleep(Duration::from_millis(20)).await;
            conn.write(chunk).await?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let bytes = storage()
        .get(&peer.url("/dev1/x.fid"), &StorageGetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], &[b'a'; 1000][..]);
    assert_no_library_panics();
}
