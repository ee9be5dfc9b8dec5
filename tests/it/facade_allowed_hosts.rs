//! The storage host allow-list through the facade: a tracker naming hosts outside the list (an
//! unknown address, a name) cannot make the client contact them. A read fails over to the
//! allowed replica; a store never sends a byte to a refused destination and never closes.
//!
//! Loopback only. The refused paths name `127.0.0.2` (nothing listens there) and `localhost` at
//! the port of a decoy peer on 127.0.0.1, whose connection count proves it was never contacted.

use std::sync::Arc;
use std::time::Duration;

use mogile_testkit::storage::FaultPeer;
use mogile_testkit::tracker::{DeviceSpec, FakeTracker, HostSpec, Model};
use mogilefs::lower::storage::{BuildError, StorageError};
use mogilefs::{AttemptError, Client, Error, LowSpeed, StorageConfig};

const DATA: &[u8] = b"the replica on the allowed host";

/// Answers every GET with [`DATA`] (and anything else with `201`), on kept-alive connections.
async fn good_node() -> FaultPeer {
    FaultPeer::start(|mut conn| async move {
        loop {
            let (head, _) = conn.read_request().await?;
            if head.starts_with(b"GET ") {
                let mut reply =
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", DATA.len())
                        .into_bytes();
                reply.extend_from_slice(DATA);
                conn.write(&reply).await?;
            } else {
                conn.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
                    .await?;
            }
        }
    })
    .await
    .unwrap()
}

/// A peer no request may reach; it would answer `500`.
async fn decoy() -> FaultPeer {
    FaultPeer::start(|mut conn| async move {
        conn.read_request().await?;
        conn.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
            .await
    })
    .await
    .unwrap()
}

/// Devices 1 and 2 on refused hosts (`127.0.0.2`, and `localhost` at the decoy's port), device 3
/// (if `with_allowed`) on the good node; every device weight 0, so `get_paths` lists them in devid
/// order.
fn model(decoy: &FaultPeer, good: &FaultPeer, with_allowed: bool) -> Arc<Model> {
    let model = Arc::new(Model::new());
    model.create_domain("d").unwrap();
    let port = decoy.addr().port();
    let mut hosts = vec![
        HostSpec::new("refused-ip", "127.0.0.2", port),
        HostSpec::new("refused-name", "localhost", port),
    ];
    if with_allowed {
        hosts.push(HostSpec::new("allowed", "127.0.0.1", good.addr().port()));
    }
    for (devid, host) in (1..).zip(hosts) {
        let hostid = model.add_host(host).unwrap();
        model
            .add_device(DeviceSpec::new(devid, hostid).weight(0))
            .unwrap();
    }
    model
}

fn client(tracker: &FakeTracker) -> Client {
    Client::builder()
        .trackers([tracker.addr().to_string()])
        .domain("d")
        .storage(StorageConfig {
            allowed_hosts: Some(vec!["127.0.0.1".into()]),
            ..StorageConfig::default()
        })
        .build()
        .unwrap()
}

/// Every attempt was refused by the allow-list, for the refused URLs only.
fn all_refused(err: &Error) -> Vec<String> {
    let Error::NoUsablePath { attempts, .. } = err else {
        panic!("expected NoUsablePath, got {err:?}");
    };
    attempts
        .iter()
        .map(|a| {
            assert!(
                matches!(&a.error, AttemptError::Storage(StorageError::HostNotAllowed { url, .. }) if *url == a.url),
                "{a:?}"
            );
            a.url.clone()
        })
        .collect()
}

#[tokio::test]
async fn a_read_fails_over_from_refused_hosts_to_the_allowed_one() {
    let (decoy, good) = (decoy().await, good_node().await);
    let model = model(&decoy, &good, true);
    model
        .insert_file("d", "k", None, DATA.len() as u64, &[1, 2, 3])
        .unwrap();
    let tracker = FakeTracker::start(model).await.unwrap();
    let client = client(&tracker);

    // The tracker lists the refused hosts first.
    let paths = client.paths("k").await.unwrap();
    let hosts: Vec<&str> = paths
        .iter()
        .map(|p| {
            p.as_str()
                .split('/')
                .nth(2)
                .unwrap()
                .split(':')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(hosts, ["127.0.0.2", "localhost", "127.0.0.1"]);

    assert_eq!(&client.get_bytes("k").await.unwrap()[..], DATA);
    assert_eq!(good.connection_count(), 1);
    assert_eq!(decoy.connection_count(), 0, "a refused host was contacted");

    // With only refused replicas the read fails, and says why for each one.
    let model = tracker.model();
    model
        .insert_file("d", "k2", None, DATA.len() as u64, &[1, 2])
        .unwrap();
    let err = client.get_bytes("k2").await.unwrap_err();
    let urls = all_refused(&err);
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert!(urls[0].starts_with("http://127.0.0.2:") && urls[1].starts_with("http://localhost:"));
    assert_eq!(decoy.connection_count(), 0, "a refused host was contacted");
}

#[tokio::test]
async fn a_store_never_sends_data_to_a_refused_destination() {
    let (decoy, good) = (decoy().await, good_node().await);
    // Only refused destinations to hand out.
    let tracker = FakeTracker::start(model(&decoy, &good, false))
        .await
        .unwrap();
    let client = client(&tracker);
    let err = client.put("k", "the user's data").await.unwrap_err();
    assert!(!all_refused(&err).is_empty());
    assert_eq!(decoy.connection_count(), 0, "a refused host was contacted");
    assert_eq!(good.connection_count(), 0);
    assert_eq!(tracker.requests("create_close"), 0, "nothing to commit");
    assert!(tracker.model().file("d", "k").is_none());
}

#[tokio::test]
async fn bad_storage_settings_are_config_errors() {
    let builder = |storage| {
        Client::builder()
            .trackers(["127.0.0.1:7001"])
            .domain("d")
            .storage(storage)
    };
    let d = StorageConfig::default;
    for bad in [
        StorageConfig {
            allowed_hosts: Some(vec!["10.0.0.0/33".into()]),
            ..d()
        },
        StorageConfig {
            allowed_hosts: Some(Vec::new()),
            ..d()
        },
        StorageConfig {
            low_speed_limit: Some(LowSpeed::new(0, Duration::from_secs(30))),
            ..d()
        },
        StorageConfig {
            low_speed_limit: Some(LowSpeed::new(1024, Duration::ZERO)),
            ..d()
        },
    ] {
        let err = builder(bad).build().unwrap_err();
        let Error::Config {
            source: Some(source),
            ..
        } = &err
        else {
            panic!("expected a config error, got {err:?}");
        };
        // The storage builder's refusal, not the tracker's.
        assert!(source.downcast_ref::<BuildError>().is_some(), "{err:?}");
    }
    // Off, or stricter than the default: both fine.
    builder(StorageConfig {
        low_speed_limit: None,
        ..d()
    })
    .build()
    .unwrap();
    builder(StorageConfig {
        low_speed_limit: Some(LowSpeed::new(1 << 20, Duration::from_secs(5))),
        allowed_hosts: Some(vec![
            "10.0.0.0/8".into(),
            "fd00::/8".into(),
            "node1.example".into(),
        ]),
        ..d()
    })
    .build()
    .unwrap();
}
