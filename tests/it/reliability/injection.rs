//! Injection: keys, classes, domains, argument names and values, and raw command names carrying
//! `&`, `=`, `%`, `+`, spaces, CR, LF or NUL cannot alter a request. Every request stays one line
//! whose decoded arguments are exactly the ones given.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use mogile_testkit::TestCluster;
use mogile_testkit::tracker::{FakeTracker, Model};
use mogilefs::lower::protocol::{CreateClass, CreateDomain, GetDomains, ListKeys, Request};
use mogilefs::lower::tracker::TrackerClient;
use mogilefs::{Client, ClientConfig, KeyPolicy, PutOptions, StorageConfig};

use super::support::{assert_no_library_panics, content, watch_panics};

/// Strings that would split or extend a request line if they were not escaped.
const HOSTILE: [&str; 10] = [
    "a&key=victim",
    "a=b",
    "100%",
    "%26key%3Dvictim",
    "a+b c",
    "line\r\ndelete domain=d&key=victim",
    "line\ndelete domain=d&key=victim",
    "cr\rcr",
    "nul\0nul",
    "&=%+\r\n &&==",
];

/// No line the tracker read holds a raw CR or LF before its end: every request was one line.
fn assert_one_line_each(tracker: &FakeTracker) {
    for line in tracker.wire_log() {
        let body = line.bytes.strip_suffix(b"\n").unwrap_or(&line.bytes);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        assert!(
            !body.contains(&b'\n') && !body.contains(&b'\r'),
            "a raw line break went out: {:?}",
            String::from_utf8_lossy(&line.bytes)
        );
    }
}

#[tokio::test]
async fn hostile_names_round_trip_through_the_tracker_client() {
    watch_panics();
    let model = Arc::new(Model::new());
    let tracker = FakeTracker::start(model.clone()).await.unwrap();
    let client = TrackerClient::builder()
        .trackers([tracker.addr().to_string()])
        .build()
        .unwrap();
    for name in HOSTILE {
        client
            .admin()
            .create_domain(CreateDomain::new(name))
            .await
            .unwrap();
        client
            .admin()
            .create_class(CreateClass::new(name, name, 1))
            .await
            .unwrap();
    }
    // Exactly the domains asked for, with exactly their names: nothing split, nothing extra.
    let domains: BTreeSet<String> = client
        .admin()
        .get_domains(GetDomains::new())
        .await
        .unwrap()
        .into_iter()
        .map(|d| {
            assert!(d.classes.iter().any(|c| c.name == d.name), "{d:?}");
            d.name
        })
        .collect();
    let expected: BTreeSet<String> = HOSTILE.iter().map(ToString::to_string).collect();
    assert_eq!(domains, expected);
    // Listing with a hostile prefix asks for exactly that prefix.
    for name in HOSTILE {
        let page = client
            .list_keys(ListKeys::new(name).prefix(name))
            .await
            .unwrap();
        assert!(page.keys.is_empty());
    }
    assert_one_line_each(&tracker);
    assert_no_library_panics();
}

#[tokio::test]
async fn raw_requests_cannot_smuggle_a_command() {
    watch_panics();
    for bad in [
        "get_paths\r\ndelete",
        "get_paths\ndelete",
        "get_paths delete",
        "get_paths&key=x",
        "get_paths=1",
        "get%20paths",
        "get+paths",
        "GET_PATHS",
        "!version",
        "",
    ] {
        assert!(
            Request::new(bad).is_err(),
            "{bad:?} accepted as a command name"
        );
    }
    let model = Arc::new(Model::new());
    model.create_domain("d").unwrap();
    let tracker = FakeTracker::start(model.clone()).await.unwrap();
    let client = TrackerClient::builder()
        .trackers([tracker.addr().to_string()])
        .build()
        .unwrap();
    // Hostile argument names and values in a raw request reach the tracker as themselves.
    for value in HOSTILE {
        let req = Request::new("create_domain").unwrap().arg("domain", value);
        client.raw(req).await.unwrap();
        let req = Request::new("noop").unwrap().arg(value, value);
        client.raw(req).await.unwrap();
    }
    // A raw request may not carry its own callid (the client's desync check relies on it).
    let err = client
        .raw(Request::new("noop").unwrap().arg("callid", "1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            mogilefs::lower::tracker::TrackerError::InvalidRequest { .. }
        ),
        "{err:?}"
    );
    let domains: BTreeSet<String> = client
        .admin()
        .get_domains(GetDomains::new())
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    let mut expected: BTreeSet<String> = HOSTILE.iter().map(ToString::to_string).collect();
    expected.insert("d".into());
    assert_eq!(domains, expected);
    assert_one_line_each(&tracker);
    assert_no_library_panics();
}

/// Keys with separators and line breaks through the facade: each is stored, read, listed and
/// deleted as itself, and a key that spells out another command never runs it.
#[tokio::test]
async fn hostile_keys_and_classes_through_the_facade() {
    watch_panics();
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(2)
        .devices_per_node(1)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .trackers(cluster.tracker_addrs())
        .domain(cluster.domain())
        .config(ClientConfig {
            key_policy: KeyPolicy::Lenient,
            ..ClientConfig::default()
        })
        .storage(StorageConfig {
            idle_timeout: Duration::from_secs(5),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    let victim = content("victim", 0, 64);
    client.put("victim", victim.clone()).await.unwrap();
    for (i, key) in HOSTILE.iter().enumerate() {
        let data = content(key, i as u64 + 1, 300);
        client.put(*key, data.clone()).await.unwrap();
        assert_eq!(client.get_bytes(*key).await.unwrap(), data, "{key:?}");
        assert_eq!(
            client.file_info(*key).await.unwrap().key.as_bytes(),
            key.as_bytes()
        );
    }
    let listed: BTreeSet<Vec<u8>> = client
        .keys("")
        .map_ok(|k| k.as_bytes().to_vec())
        .try_collect()
        .await
        .unwrap();
    let mut expected: BTreeSet<Vec<u8>> = HOSTILE.iter().map(|k| k.as_bytes().to_vec()).collect();
    expected.insert(b"victim".to_vec());
    assert_eq!(listed, expected);
    // A hostile class name is a class name, not extra arguments.
    let err = client
        .put_opts("k", &b"x"[..], &PutOptions::new().class("c2&class=md5"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, mogilefs::Error::UnknownClass { .. }),
        "{err:?}"
    );
    // Renames and deletes of hostile keys touch only those keys.
    client.rename(HOSTILE[0], "renamed").await.unwrap();
    for key in &HOSTILE[1..] {
        client.delete(*key).await.unwrap();
    }
    client.delete("renamed").await.unwrap();
    assert_eq!(client.get_bytes("victim").await.unwrap(), victim);
    let left: Vec<_> = client.keys("").try_collect().await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_one_line_each(cluster.tracker(0).unwrap());
    cluster.shutdown().await;
    assert_no_library_panics();
}
