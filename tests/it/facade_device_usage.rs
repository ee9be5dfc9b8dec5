//! `Admin::device_usage`: each device's `/dev<N>/usage` from its storage node, as the tracker's
//! monitor and `mogadm check` read it, with the failures typed: a node that cannot be reached or
//! answers an error status (`Error::Storage`), a body that is not a usage file
//! (`Error::DeviceUsage`), a host outside the allow-list (never contacted).

use mogile_testkit::TestCluster;
use mogilefs::admin::UsageError;
use mogilefs::{Client, DevId, Error, StorageConfig};

fn client_of(cluster: &TestCluster, storage: StorageConfig) -> Client {
    Client::builder()
        .trackers(cluster.tracker_addrs())
        .domain(cluster.domain())
        .storage(storage)
        .build()
        .unwrap()
}

#[tokio::test]
async fn usage_files_are_read_and_failures_typed() {
    let cluster = TestCluster::builder()
        .storage_nodes(2)
        .devices_per_node(1)
        .start()
        .await
        .unwrap();
    let client = client_of(&cluster, StorageConfig::default());
    let admin = client.admin();
    let hosts = admin.hosts().await.unwrap();
    let host_of = |devid: u64| {
        let dev = cluster.devices().iter().find(|d| d.devid == devid).unwrap();
        hosts
            .iter()
            .find(|h| h.hostid == dev.hostid)
            .unwrap()
            .clone()
    };

    // The node measures `used` from the device's directory: empty, then one 10 KiB file.
    let usage = admin.device_usage(&host_of(1), DevId(1)).await.unwrap();
    assert_eq!((usage.total_kib, usage.used_kib), (100 * 1024 * 1024, 0));
    assert_eq!(usage.available_kib(), 100 * 1024 * 1024);
    let dir = &cluster.devices()[0].dir;
    std::fs::write(dir.join("x.fid"), vec![0; 10 * 1024]).unwrap();
    let usage = admin.device_usage(&host_of(1), DevId(1)).await.unwrap();
    assert_eq!(usage.used_kib, 10);
    assert!(usage.disk.unwrap().ends_with("dev1"));

    // Figures fixed on the node, as a full disk.
    cluster.node(1).unwrap().set_usage(1000, 990);
    let usage = admin.device_usage(&host_of(2), DevId(2)).await.unwrap();
    assert_eq!(
        (usage.total_kib, usage.used_kib, usage.use_percent),
        (1000, 990, Some(99))
    );

    // No such device directory: the node's 404.
    let err = admin.device_usage(&host_of(2), DevId(9)).await.unwrap_err();
    match &err {
        Error::Storage { source, .. } => assert_eq!(source.status(), Some(404), "{err:?}"),
        other => panic!("{other:?}"),
    }

    // A usage file on disk wins over the synthesised one; here it is not one.
    std::fs::write(dir.join("usage"), "<h1>hello</h1>\n").unwrap();
    let err = admin.device_usage(&host_of(1), DevId(1)).await.unwrap_err();
    assert!(
        matches!(&err, Error::DeviceUsage { source: UsageError::Missing("total"), url, .. }
            if url.ends_with("/dev1/usage")),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    client.close().await;

    // A node that resets every new connection (a fresh client: the old one keeps its idle
    // connections): a storage failure without a status.
    cluster.kill_node(1).unwrap();
    let fresh = client_of(&cluster, StorageConfig::default());
    let err = fresh
        .admin()
        .device_usage(&host_of(2), DevId(2))
        .await
        .unwrap_err();
    match &err {
        Error::Storage { source, .. } => assert_eq!(source.status(), None, "{err:?}"),
        other => panic!("{other:?}"),
    }
    fresh.close().await;

    // The storage allow-list applies: a host outside it is never contacted.
    let allowed = StorageConfig {
        allowed_hosts: Some(vec!["10.0.0.0/8".to_owned()]),
        ..StorageConfig::default()
    };
    let fenced = client_of(&cluster, allowed);
    let before = cluster.node(0).unwrap().connection_count();
    let err = fenced
        .admin()
        .device_usage(&host_of(1), DevId(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err:?}");
    assert_eq!(cluster.node(0).unwrap().connection_count(), before);
    fenced.close().await;
    cluster.shutdown().await;
}
