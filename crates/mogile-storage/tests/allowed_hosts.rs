//! The storage host allow-list: a URL outside it fails with a typed error before any connection.
//!
//! Loopback only: the peer listens on 127.0.0.1; refused URLs name 127.0.0.2 (where nothing
//! listens, so a connection attempt would surface as a `Connect` error, not `HostNotAllowed`) or
//! spellings that resolve to the peer itself (`localhost`, `2130706433`), whose connection count
//! shows that they were never contacted.

use bytes::Bytes;
use futures_util::stream;
use mogile_storage::{
    BuildError, OneShotBody, Payload, StorageClient, StorageConfig, StorageError,
    StorageGetOptions, StoragePutOptions,
};
use mogile_testkit::storage::FaultPeer;

/// Answers every request with `200` and a 5-byte body (none for `HEAD`), on kept-alive
/// connections.
async fn peer() -> FaultPeer {
    FaultPeer::start(|mut conn| async move {
        loop {
            let (head, _) = conn.read_request().await?;
            let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
            let reply = if head.starts_with(b"HEAD ") {
                &reply[..reply.len() - 5]
            } else {
                &reply[..]
            };
            conn.write(reply).await?;
        }
    })
    .await
    .unwrap()
}

fn refused(err: &StorageError, url: &str, host: &str) -> bool {
    matches!(err, StorageError::HostNotAllowed { url: u, host: h } if u == url && h == host)
        && err.try_another_replica()
}

/// Every operation on `url` fails with `HostNotAllowed` naming `host`.
async fn every_operation_is_refused(client: &StorageClient, url: &str, host: &str) {
    let err = client
        .get(url, &StorageGetOptions::default())
        .await
        .unwrap_err();
    assert!(refused(&err, url, host), "GET {url}: {err:?}");
    let err = client.head(url).await.unwrap_err();
    assert!(refused(&err, url, host), "HEAD {url}: {err:?}");
    let err = client.delete(url).await.unwrap_err();
    assert!(refused(&err, url, host), "DELETE {url}: {err:?}");
    let dir = tempfile::tempdir().unwrap();
    let err = client
        .get_to_file(url, dir.path().join("f"), &StorageGetOptions::default())
        .await
        .unwrap_err();
    assert!(refused(&err, url, host), "GET to file {url}: {err:?}");
    let err = client
        .put(url, &Payload::from("secret"), &StoragePutOptions::default())
        .await
        .unwrap_err();
    assert!(refused(&err, url, host), "PUT {url}: {err:?}");
    // One-shot bodies, known length (pooled) and unknown (fresh connection): nothing was read
    // from them, so they come back for the next destination.
    for declared in [Some(6), None] {
        let body =
            OneShotBody::from_stream(stream::iter([Ok(Bytes::from_static(b"secret"))]), declared);
        let err = client
            .put_stream(url, body, &StoragePutOptions::default())
            .await
            .unwrap_err();
        assert!(
            refused(&err.error, url, host),
            "PUT stream {declared:?} {url}: {:?}",
            err.error
        );
        assert!(err.body.is_some(), "the untouched body is handed back");
    }
}

#[tokio::test]
async fn hosts_outside_the_allow_list_are_never_contacted() {
    let peer = peer().await;
    let port = peer.addr().port();
    let client = StorageClient::builder()
        .config(StorageConfig {
            allowed_hosts: Some(vec!["127.0.0.1".into()]),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    for host in [
        "127.0.0.2",
        "localhost",
        "2130706433",
        "127.1",
        "[::ffff:127.0.0.2]",
    ] {
        let url = format!("http://{host}:{port}/dev1/0/000/000/0000000001.fid");
        every_operation_is_refused(&client, &url, host).await;
    }
    assert_eq!(
        peer.connection_count(),
        0,
        "no refused spelling reached the peer"
    );

    // The allowed host works, with the same client.
    let url = peer.url("/dev1/0/000/000/0000000001.fid");
    let got = client
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], b"hello");
    client
        .put(&url, &Payload::from("data"), &StoragePutOptions::default())
        .await
        .unwrap();
    assert_eq!(peer.connection_count(), 1);
}

#[tokio::test]
async fn networks_and_names_in_the_allow_list() {
    let peer = peer().await;
    let port = peer.addr().port();
    // 127.0.0.0/31 is 127.0.0.0 and 127.0.0.1: the peer is in, 127.0.0.2 is out.
    let by_net = StorageClient::builder()
        .config(StorageConfig {
            allowed_hosts: Some(vec!["127.0.0.0/31".into()]),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    assert_eq!(by_net.head(&peer.url("/x")).await.unwrap().status, 200);
    let url = format!("http://127.0.0.2:{port}/x");
    every_operation_is_refused(&by_net, &url, "127.0.0.2").await;
    // A name in the list admits that name only (the peer, through `localhost`), never the
    // addresses it resolves to.
    let by_name = StorageClient::builder()
        .config(StorageConfig {
            allowed_hosts: Some(vec!["LOCALHOST".into()]),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    let refused_ip = peer.url("/x");
    every_operation_is_refused(&by_name, &refused_ip, "127.0.0.1").await;
    assert_eq!(
        peer.connection_count(),
        1,
        "only the allowed HEAD connected"
    );
}

#[tokio::test]
async fn without_an_allow_list_every_host_is_contacted() {
    let peer = peer().await;
    let client = StorageClient::builder().build().unwrap();
    assert_eq!(client.head(&peer.url("/x")).await.unwrap().status, 200);
    assert_eq!(peer.connection_count(), 1);
}

#[test]
fn bad_allow_lists_are_build_errors() {
    let err = StorageClient::builder()
        .config(StorageConfig {
            allowed_hosts: Some(vec!["127.0.0.1".into(), "10.0.0.0/40".into()]),
            ..StorageConfig::default()
        })
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, BuildError::InvalidAllowedHost { entry, .. } if entry == "10.0.0.0/40"),
        "{err:?}"
    );
    let err = StorageClient::builder()
        .config(StorageConfig {
            allowed_hosts: Some(vec!["http://node1:7500".into()]),
            ..StorageConfig::default()
        })
        .build()
        .unwrap_err();
    assert!(
        matches!(err, BuildError::InvalidAllowedHost { .. }),
        "{err:?}"
    );
    let err = StorageClient::builder()
        .config(StorageConfig {
            allowed_hosts: Some(Vec::new()),
            ..StorageConfig::default()
        })
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::InvalidSetting {
                name: "allowed_hosts",
                ..
            }
        ),
        "{err:?}"
    );
}
