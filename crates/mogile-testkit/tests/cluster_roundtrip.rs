//! The cluster starts, and a raw create_open -> PUT -> create_close -> get_paths round trip goes
//! through its trackers and nodes.

mod cluster_support;

use cluster_support::{Tracker, http};
use mogile_testkit::TestCluster;

#[tokio::test]
async fn default_cluster_registers_hosts_devices_domain_and_classes() {
    let cluster = TestCluster::start().await.unwrap();
    let addrs = cluster.tracker_addrs();
    assert_eq!(addrs.len(), 2);
    assert_eq!(cluster.nodes().len(), 3);
    assert_eq!(cluster.devices().len(), 6);
    assert_eq!(cluster.domain(), "testdom");
    for addr in &addrs {
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Tracker::connect(addr).await.ok("noop", &[]).await;
    }

    let mut t = Tracker::connect(&addrs[0]).await;
    let hosts = t.ok("get_hosts", &[]).await;
    assert_eq!(hosts["hosts"], "3");
    let mut ports: Vec<String> = (1..=3)
        .map(|i| {
            format!(
                "{}:{}",
                hosts[&format!("host{i}_hostip")],
                hosts[&format!("host{i}_http_port")]
            )
        })
        .collect();
    ports.sort();
    let mut expected: Vec<String> = cluster
        .devices()
        .iter()
        .map(|d| d.http_addr.to_string())
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(ports, expected);

    let devices = t.ok("get_devices", &[]).await;
    assert_eq!(devices["devices"], "6");

    let domains = t.ok("get_domains", &[]).await;
    let d = (1..=domains["domains"].parse::<usize>().unwrap())
        .find(|i| domains[&format!("domain{i}")] == "testdom")
        .expect("testdom listed");
    let classes: usize = domains[&format!("domain{d}classes")].parse().unwrap();
    let class = |name: &str| {
        (1..=classes)
            .find(|c| domains[&format!("domain{d}class{c}name")] == name)
            .unwrap_or_else(|| panic!("class {name} listed"))
    };
    let c2 = class(cluster.plain_class());
    assert_eq!(domains[&format!("domain{d}class{c2}mindevcount")], "2");
    assert_eq!(domains[&format!("domain{d}class{c2}hashtype")], "NONE");
    let md5 = class(cluster.md5_class());
    assert_eq!(domains[&format!("domain{d}class{md5}mindevcount")], "2");
    assert_eq!(domains[&format!("domain{d}class{md5}hashtype")], "MD5");
    class("default");

    for dev in cluster.devices() {
        assert!(dev.dir.is_dir(), "{}", dev.dir.display());
    }
    cluster.shutdown().await;
}

#[tokio::test]
async fn raw_round_trip_through_tracker_and_node() {
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(2)
        .devices_per_node(1)
        .start()
        .await
        .unwrap();
    let dom = cluster.domain().to_owned();
    let mut t = Tracker::connect(&cluster.tracker_addrs()[0]).await;

    let open = t
        .ok(
            "create_open",
            &[
                ("domain", dom.as_bytes()),
                ("key", b"round trip"),
                ("class", b"c2"),
            ],
        )
        .await;
    let fid: u64 = open["fid"].parse().unwrap();
    let devid: u64 = open["devid"].parse().unwrap();
    let path = &open["path"];
    let dev = cluster
        .devices()
        .iter()
        .find(|d| d.devid == devid)
        .expect("devid is a cluster device");
    let fid10 = format!("{fid:010}");
    assert_eq!(
        *path,
        format!(
            "http://{}/dev{devid}/{}/{}/{}/{fid10}.fid",
            dev.http_addr,
            &fid10[..1],
            &fid10[1..4],
            &fid10[4..7]
        )
    );

    let body = b"hello, cluster".to_vec();
    assert_eq!(http("PUT", path, &body).await.0, 200);
    let size = body.len().to_string();
    t.ok(
        "create_close",
        &[
            ("domain", dom.as_bytes()),
            ("key", b"round trip"),
            ("fid", open["fid"].as_bytes()),
            ("devid", open["devid"].as_bytes()),
            ("path", path.as_bytes()),
            ("size", size.as_bytes()),
        ],
    )
    .await;

    // As on 2.73: right after create_close there is exactly the written path.
    let paths = t.paths(&dom, "round trip").await;
    assert_eq!(paths, vec![path.clone()]);
    assert_eq!(http("GET", &paths[0], b"").await, (200, body.clone()));
    // The bytes are in the node's directory, under the real layout.
    let on_disk = cluster.replica_file("round trip", devid).unwrap();
    assert!(on_disk.starts_with(&dev.dir));
    assert_eq!(std::fs::read(on_disk).unwrap(), body);
    cluster.shutdown().await;
}

#[tokio::test]
async fn two_trackers_see_the_same_model() {
    let cluster = TestCluster::builder()
        .trackers(2)
        .storage_nodes(2)
        .devices_per_node(1)
        .start()
        .await
        .unwrap();
    let dom = cluster.domain().to_owned();
    let addrs = cluster.tracker_addrs();
    let mut first = Tracker::connect(&addrs[0]).await;
    let mut second = Tracker::connect(&addrs[1]).await;

    let (fid, path) = first.store(&dom, "c2", "shared", b"seen by both").await;
    assert_eq!(second.paths(&dom, "shared").await, vec![path]);
    let info = second
        .ok(
            "file_info",
            &[("domain", dom.as_bytes()), ("key", b"shared")],
        )
        .await;
    assert_eq!(info["fid"], fid.to_string());
    assert_eq!(info["length"], "12");

    // A change through the second tracker is visible through the first.
    second
        .ok("delete", &[("domain", dom.as_bytes()), ("key", b"shared")])
        .await;
    let gone = first
        .call(
            "get_paths",
            &[("domain", dom.as_bytes()), ("key", b"shared")],
        )
        .await;
    assert_eq!(gone.unwrap_err().0, "unknown_key");
    cluster.shutdown().await;
}

#[tokio::test]
async fn dropping_the_cluster_removes_its_directories() {
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(2)
        .start()
        .await
        .unwrap();
    let dirs: Vec<_> = (0..2)
        .map(|i| cluster.node_dir(i).unwrap().to_path_buf())
        .collect();
    assert!(dirs.iter().all(|d| d.is_dir()));
    drop(cluster);
    assert!(dirs.iter().all(|d| !d.exists()));
}

#[tokio::test]
async fn seeded_files_are_listed_and_readable_with_all_replicas() {
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(2)
        .start()
        .await
        .unwrap();
    let dom = cluster.domain().to_owned();
    for i in 0..150 {
        cluster
            .seed(format!("seed/{i:04}"), Some("c2"), format!("body {i}"))
            .await
            .unwrap();
    }
    let mut t = Tracker::connect(&cluster.tracker_addrs()[0]).await;
    let page = t
        .ok(
            "list_keys",
            &[
                ("domain", dom.as_bytes()),
                ("prefix", b"seed/"),
                ("limit", b"1000"),
            ],
        )
        .await;
    assert_eq!(page["key_count"], "150");
    assert_eq!(page["next_after"], "seed/0149");

    let paths = t.paths(&dom, "seed/0042").await;
    assert_eq!(paths.len(), 2);
    for p in &paths {
        assert_eq!(http("GET", p, b"").await, (200, b"body 42".to_vec()));
    }
    // Already at mindevcount: replication has nothing to do.
    assert_eq!(cluster.replicate_all().await.unwrap().copies, 0);

    let err = cluster.seed("x", Some("nope"), b"").await.unwrap_err();
    assert!(err.to_string().contains("unreg_class"), "{err}");
    cluster.shutdown().await;
}
