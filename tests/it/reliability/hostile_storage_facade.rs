//! A hostile storage node through the facade, which knows the file's length from the tracker:
//! HTML pages, wrong lengths and endless bodies are caught by the length check and never stitched
//! onto another replica; an early `200` never commits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use mogile_testkit::storage::FaultPeer;
use mogile_testkit::tracker::{DeviceSpec, FakeTracker, HostSpec, Model};
use mogilefs::lower::storage::{Payload, StorageError, StoragePutOptions};
use mogilefs::{AttemptError, Client, Error, StorageConfig};

use super::hostile_storage::{TIMEOUT, answering, storage};
use super::support::{assert_no_library_panics, watch_panics};

/// A fake tracker whose only device lives on `node`, and key `k` of `length` bytes on it.
async fn tracker_over(node: SocketAddr, length: u64) -> (FakeTracker, Client) {
    let model = Arc::new(Model::new());
    model.create_domain("d").unwrap();
    let hostid = model
        .add_host(HostSpec::new("hostile", "127.0.0.1", node.port()))
        .unwrap();
    model.add_device(DeviceSpec::new(1, hostid)).unwrap();
    model.insert_file("d", "k", None, length, &[1]).unwrap();
    let tracker = FakeTracker::start(model).await.unwrap();
    let client = Client::builder()
        .trackers([tracker.addr().to_string()])
        .domain("d")
        .storage(StorageConfig {
            connect_timeout: TIMEOUT,
            idle_timeout: TIMEOUT,
            headers_timeout: TIMEOUT,
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    (tracker, client)
}

fn length_error(err: &Error) -> bool {
    match err {
        Error::NoUsablePath { attempts, .. } => attempts.iter().all(|a| {
            matches!(
                a.error,
                AttemptError::Length { .. }
                    | AttemptError::Storage(StorageError::LengthMismatch { .. })
            )
        }),
        _ => false,
    }
}

/// What mogstored answers for a directory path: a `200` with an HTML index page (57 bytes).
const HTML: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 57\r\n\r\n<html><body><h1>Index of /dev1/</h1><hr></body></html>\n\n\n";

#[tokio::test]
async fn a_200_html_page_is_caught_by_the_length_check() {
    watch_panics();
    for length in [3u64, 56, 58, 1000] {
        let peer = answering(HTML).await;
        let (_tracker, client) = tracker_over(peer.addr(), length).await;
        let err = client.get_bytes("k").await.unwrap_err();
        assert!(length_error(&err), "length {length}: {err:?}");
        // Streamed: no byte of the page is handed out before the error.
        let mut stream = client.get("k").await.unwrap();
        let first = stream.next().await.expect("an item");
        assert!(
            first.is_err(),
            "length {length}: the HTML page was streamed out"
        );
    }
    assert_no_library_panics();
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_known_length() {
    watch_panics();
    // No Content-Length: the body runs until the node closes, which it never does.
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_request().await?;
        conn.write(b"HTTP/1.0 200 OK\r\n\r\n").await?;
        conn.write_endless(&[b'e'; 8192]).await
    })
    .await
    .unwrap();
    let (_tracker, client) = tracker_over(peer.addr(), 100_000).await;
    let err = tokio::time::timeout(Duration::from_secs(30), client.get_bytes("k"))
        .await
        .expect("the fetch stops at the known length")
        .unwrap_err();
    assert!(length_error(&err), "{err:?}");
    assert_no_library_panics();
}

#[tokio::test]
async fn wrong_lengths_from_the_node_are_caught_by_the_facade() {
    watch_panics();
    // The node's Content-Length agrees with its body, but not with the file's length.
    for reply in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab"[..],
        &b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd"[..],
        // Shorter than promised, then closed.
        &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab"[..],
    ] {
        let peer = FaultPeer::start(move |mut conn| async move {
            conn.read_request().await?;
            conn.write(reply).await
        })
        .await
        .unwrap();
        let (_tracker, client) = tracker_over(peer.addr(), 3).await;
        let err = client.get_bytes("k").await.unwrap_err();
        assert!(
            length_error(&err),
            "{:?}: {err:?}",
            String::from_utf8_lossy(reply)
        );
    }
    assert_no_library_panics();
}

/// Invariant 3 with a healthy second replica: the HTML page of the first replica must not be
/// stitched together with the rest of the file from the second one.
#[tokio::test]
async fn a_short_html_page_is_never_stitched_to_another_replica() {
    watch_panics();
    for framed in [true, false] {
        html_then_healthy_replica(framed, "200 OK").await;
    }
    assert_no_library_panics();
}

/// Any 2xx but `206` is the whole file, and is held to the file's length like a `200`. The length
/// check used to look at `200` only: a `203` page shorter than the file was handed out as the
/// file's first bytes, and the fetch then failed without trying the healthy replica.
#[tokio::test]
async fn any_whole_file_answer_is_held_to_the_files_length() {
    watch_panics();
    html_then_healthy_replica(true, "203 Non-Authoritative Information").await;
    assert_no_library_panics();
}

/// `framed`: the page has a `Content-Length`; otherwise it is an HTTP/1.0 body that ends when the
/// node closes the connection. `status`: the page's status, `200 OK` as mogstored sends it.
async fn html_then_healthy_replica(framed: bool, status: &'static str) {
    const LEN: usize = 100;
    let data = super::support::content("k", 1, LEN);
    let served = data.clone();
    // One host (the model wants distinct IPs per host, and everything is on 127.0.0.1), two
    // devices: /dev1/ answers mogstored's directory page, /dev2/ is a healthy replica with ranges.
    let peer = FaultPeer::start(move |mut conn| {
        let data = served.clone();
        async move {
            loop {
                let (head, _) = conn.read_request().await?;
                let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                if head.contains(" /dev1/") {
                    if framed {
                        let page = String::from_utf8_lossy(HTML).replacen("200 OK", status, 1);
                        conn.write(page.as_bytes()).await?;
                        continue;
                    }
                    let page = &HTML[HTML.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
                    conn.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n")
                        .await?;
                    return conn.write(page).await;
                }
                let start = head
                    .lines()
                    .find_map(|l| l.strip_prefix("range: bytes="))
                    .and_then(|r| r.trim().strip_suffix('-'))
                    .and_then(|s| s.parse::<usize>().ok());
                let reply = match start {
                    Some(s) if s < LEN => {
                        let mut r = format!(
                            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s}-{}/{LEN}\r\nContent-Length: {}\r\n\r\n",
                            LEN - 1,
                            LEN - s
                        )
                        .into_bytes();
                        r.extend_from_slice(&data[s..]);
                        r
                    }
                    _ => {
                        let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {LEN}\r\n\r\n")
                            .into_bytes();
                        r.extend_from_slice(&data);
                        r
                    }
                };
                conn.write(&reply).await?;
            }
        }
    })
    .await
    .unwrap();
    let model = Arc::new(Model::new());
    model.create_domain("d").unwrap();
    let host = model
        .add_host(HostSpec::new("hostile", "127.0.0.1", peer.addr().port()))
        .unwrap();
    // Weight 0 on both: get_paths lists the replicas in devid order, the hostile one first.
    for devid in [1, 2] {
        model
            .add_device(DeviceSpec::new(devid, host).weight(0))
            .unwrap();
    }
    model
        .insert_file("d", "k", None, LEN as u64, &[1, 2])
        .unwrap();
    let tracker = FakeTracker::start(model).await.unwrap();
    let client = Client::builder()
        .trackers([tracker.addr().to_string()])
        .domain("d")
        .storage(StorageConfig {
            idle_timeout: TIMEOUT,
            headers_timeout: TIMEOUT,
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    let paths = client.paths("k").await.unwrap();
    assert!(paths[0].as_str().contains("/dev1/"), "{paths:?}");
    match client.get_bytes("k").await {
        Ok(got) => assert!(
            got == data,
            "wrong bytes returned as success (framed {framed}): {got:?}"
        ),
        // Unframed, the page's bytes were streamed before the short end showed: the fetch must
        // fail rather than continue them from the healthy replica. Framed, the length check
        // refuses the page before any byte, and the healthy replica serves the file.
        Err(e) => assert!(!framed && length_error(&e), "framed {framed}: {e:?}"),
    }
}

/// A node that answers `200` before it has read the body. At the storage layer "bytes sent" only
/// means "handed to the connection", so a 2xx is no proof of storage; the defence is the
/// tracker's size check at `create_close`. Through the facade the store must therefore not be
/// `Ok`, and nothing may become visible.
#[tokio::test]
async fn an_early_200_to_an_unfinished_put_never_commits() {
    watch_panics();
    // Answers every request (the PUT, and the tracker's size HEAD) with an empty 200, reading
    // nothing of any body.
    let peer = FaultPeer::start(|mut conn| async move {
        conn.read_head().await?;
        conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await?;
        conn.stall().await
    })
    .await
    .unwrap();
    let len = 4 << 20;
    let payload = Payload::from(bytes::Bytes::from(vec![b'p'; len]));
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        storage().put(
            &peer.url("/dev1/x.fid"),
            &payload,
            &StoragePutOptions::default(),
        ),
    )
    .await
    .expect("the put ends");
    if let Err(e) = &out {
        assert!(!matches!(e, StorageError::LengthMismatch { .. }), "{e:?}");
    }

    let (tracker, client) = tracker_over(peer.addr(), 1).await;
    let err = tokio::time::timeout(Duration::from_secs(60), client.put("new", vec![b'p'; len]))
        .await
        .expect("the store ends")
        .expect_err("a store the node never received was reported Ok");
    assert!(matches!(err, Error::UploadRejected { .. }), "{err:?}");
    assert!(tracker.model().file("d", "new").is_none(), "{err:?}");
    assert_no_library_panics();
}
