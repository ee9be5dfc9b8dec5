//! Bad caller input through the facade: clear typed errors or correct behaviour, nothing sent
//! for a refused key, nothing half-written for a body that lies about its length.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use mogile_testkit::TestCluster;
use mogilefs::lower::protocol::KeyError;
use mogilefs::{
    Client, ClientBuilder, ClientConfig, Error, KeyPolicy, Payload, PutOptions, StorageConfig,
};

use super::support::{assert_no_library_panics, content, watch_panics};

async fn cluster() -> TestCluster {
    TestCluster::builder()
        .trackers(1)
        .storage_nodes(2)
        .devices_per_node(1)
        .start()
        .await
        .unwrap()
}

fn builder(cluster: &TestCluster) -> ClientBuilder {
    Client::builder()
        .trackers(cluster.tracker_addrs())
        .domain(cluster.domain())
        .storage(StorageConfig {
            idle_timeout: Duration::from_secs(5),
            headers_timeout: Duration::from_secs(5),
            ..StorageConfig::default()
        })
}

fn requests(cluster: &TestCluster) -> u64 {
    cluster.tracker(0).unwrap().total_requests()
}

fn closes(cluster: &TestCluster) -> u64 {
    cluster.tracker(0).unwrap().requests("create_close")
}

fn key_error(err: &Error) -> Option<&KeyError> {
    match err {
        Error::KeyPolicy { source } => Some(source),
        _ => None,
    }
}

#[tokio::test]
async fn an_empty_key_is_refused_before_anything_is_sent() {
    watch_panics();
    let c = cluster().await;
    for policy in [KeyPolicy::Strict, KeyPolicy::Lenient] {
        let client = builder(&c)
            .config(ClientConfig {
                key_policy: policy,
                ..ClientConfig::default()
            })
            .build()
            .unwrap();
        let before = requests(&c);
        let errors = [
            client.put("", &b"x"[..]).await.unwrap_err(),
            client.get_bytes("").await.unwrap_err(),
            client.delete("").await.unwrap_err(),
            client.rename("", "b").await.unwrap_err(),
            client.rename("a", "").await.unwrap_err(),
            client.file_info("").await.unwrap_err(),
            client.paths("").await.unwrap_err(),
        ];
        for err in errors {
            assert_eq!(key_error(&err), Some(&KeyError::Empty), "{err:?}");
        }
        assert_eq!(requests(&c), before, "a request went out for an empty key");
    }
    assert_no_library_panics();
}

#[tokio::test]
async fn long_and_nul_keys_are_refused_under_strict_and_work_under_lenient() {
    watch_panics();
    let c = cluster().await;
    let long = "k".repeat(256);
    let max = "m".repeat(255);
    let nul = "nul\0key";
    let strict = builder(&c).build().unwrap();
    let before = requests(&c);
    let err = strict.put(long.as_str(), &b"x"[..]).await.unwrap_err();
    assert!(
        matches!(
            key_error(&err),
            Some(KeyError::TooLong { len: 256, max: 255 })
        ),
        "{err:?}"
    );
    let err = strict.put(nul, &b"x"[..]).await.unwrap_err();
    assert_eq!(key_error(&err), Some(&KeyError::ContainsNul), "{err:?}");
    let err = strict.rename("a", nul).await.unwrap_err();
    assert_eq!(key_error(&err), Some(&KeyError::ContainsNul), "{err:?}");
    assert_eq!(requests(&c), before, "a refused key reached the tracker");
    // 255 bytes is the most the strict policy allows.
    strict.put(max.as_str(), &b"max"[..]).await.unwrap();
    assert_eq!(&strict.get_bytes(max.as_str()).await.unwrap()[..], b"max");

    let lenient = builder(&c)
        .config(ClientConfig {
            key_policy: KeyPolicy::Lenient,
            ..ClientConfig::default()
        })
        .build()
        .unwrap();
    for key in [long.as_str(), nul] {
        let data = content(key, 1, 100);
        lenient.put(key, data.clone()).await.unwrap();
        assert_eq!(lenient.get_bytes(key).await.unwrap(), data, "{key:?}");
    }
    assert_no_library_panics();
}

#[tokio::test]
async fn an_empty_or_missing_domain_is_a_config_error() {
    watch_panics();
    let c = cluster().await;
    let err = builder(&c).domain("").build().unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    let err = Client::builder()
        .trackers(c.tracker_addrs())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    let client = builder(&c).build().unwrap();
    let err = client.with_domain("").unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    let other = client.with_domain("nosuchdomain").unwrap();
    let err = other.put("k", &b"x"[..]).await.unwrap_err();
    assert!(matches!(err, Error::UnknownDomain { .. }), "{err:?}");
    assert_no_library_panics();
}

#[tokio::test]
async fn an_unknown_class_changes_nothing() {
    watch_panics();
    let c = cluster().await;
    let client = builder(&c).build().unwrap();
    client.put("k", &b"old"[..]).await.unwrap();
    let closes_before = closes(&c);
    let err = client
        .put_opts("k", &b"new"[..], &PutOptions::new().class("nosuchclass"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownClass { class, .. } if class == "nosuchclass"),
        "{err:?}"
    );
    assert_eq!(closes(&c), closes_before);
    assert_eq!(&client.get_bytes("k").await.unwrap()[..], b"old");
    assert_no_library_panics();
}

#[tokio::test]
async fn a_zero_byte_file_round_trips() {
    watch_panics();
    let c = cluster().await;
    let client = builder(&c).build().unwrap();
    let res = client.put("empty", Bytes::new()).await.unwrap();
    assert_eq!(res.size, 0);
    assert!(client.get_bytes("empty").await.unwrap().is_empty());
    assert_eq!(client.file_info("empty").await.unwrap().length, 0);
    for len in [Some(0), None] {
        let stream = futures::stream::empty::<io::Result<Bytes>>();
        let res = client
            .put_stream("empty-stream", stream, len, &PutOptions::new())
            .await
            .unwrap();
        assert_eq!(res.size, 0, "{len:?}");
        assert!(client.get_bytes("empty-stream").await.unwrap().is_empty());
    }
    assert_no_library_panics();
}

/// A body that produces fewer or more bytes than it declared, or fails half-way: a typed error,
/// no `create_close`, and the key keeps its previous content (invariant 2).
#[tokio::test]
async fn a_body_that_shrinks_grows_or_fails_while_uploading_writes_nothing() {
    watch_panics();
    let c = cluster().await;
    let client = builder(&c).build().unwrap();
    let old = content("k", 0, 5000);
    client.put("k", old.clone()).await.unwrap();
    let chunks = |n: usize| {
        futures::stream::iter(
            (0..n).map(|i| Ok::<_, io::Error>(Bytes::from(vec![b'0' + (i % 10) as u8; 100]))),
        )
    };
    let closes_before = closes(&c);
    // Declared 1000, gives 500 (the source shrank); declared 950, gives 1000 (it grew past the
    // declared length inside a chunk).
    for (declared, chunks_given) in [(1000, 5), (950, 10)] {
        let err = client
            .put_stream(
                "k",
                chunks(chunks_given),
                Some(declared),
                &PutOptions::new(),
            )
            .await
            .unwrap_err();
        assert!(!err.is_outcome_unknown(), "{err:?}");
    }
    // A stream that fails half-way, with and without a declared length.
    for len in [Some(1000), None] {
        let failing = futures::stream::iter([
            Ok(Bytes::from(vec![b'a'; 500])),
            Err(io::Error::other("source failed")),
        ]);
        let err = client
            .put_stream("k", failing, len, &PutOptions::new())
            .await
            .unwrap_err();
        assert!(!err.is_outcome_unknown(), "{err:?}");
    }
    assert_eq!(closes(&c), closes_before, "a failed body was closed");
    assert!(client.get_bytes("k").await.unwrap() == old);
    // Declared 1000, gives 1500 in 100-byte chunks: the declared length ends on a chunk
    // boundary, and the completing chunk is held back until the stream confirms its end, so the
    // extra bytes are seen: an error, nothing closed, the old content kept.
    let closes_before = closes(&c);
    let err = client
        .put_stream("k", chunks(15), Some(1000), &PutOptions::new())
        .await
        .unwrap_err();
    assert!(!err.is_outcome_unknown(), "{err:?}");
    assert_eq!(closes(&c), closes_before, "a too-long body was closed");
    assert!(client.get_bytes("k").await.unwrap() == old);
    let closes_before = closes(&c);

    // A file that shrinks after it was opened for upload.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, vec![b'f'; 10_000]).unwrap();
    let payload = Payload::file(&path).await.unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4000)
        .unwrap();
    let err = client.put("k", payload).await.unwrap_err();
    assert!(!err.is_outcome_unknown(), "{err:?}");
    assert_eq!(closes(&c), closes_before, "a shrunken file was closed");
    assert!(client.get_bytes("k").await.unwrap() == old);

    // A file that grows after it was opened: an error too, never a silent prefix of it.
    std::fs::write(&path, vec![b'g'; 3000]).unwrap();
    let payload = Payload::file(&path).await.unwrap();
    std::fs::write(&path, vec![b'g'; 6000]).unwrap();
    let err = client.put("k", payload).await.unwrap_err();
    assert!(matches!(err, mogilefs::Error::Storage { .. }), "{err:?}");
    assert_eq!(closes(&c), closes_before, "a grown file was closed");
    assert!(client.get_bytes("k").await.unwrap() == old);
    assert_no_library_panics();
}

/// A `Writer` dropped or aborted before `finish` commits nothing, even after every declared byte
/// was written: the key keeps its previous content.
#[tokio::test]
async fn a_writer_abandoned_before_finish_commits_nothing() {
    use tokio::io::AsyncWriteExt;
    watch_panics();
    let c = cluster().await;
    let client = builder(&c).build().unwrap();
    let old = content("w", 0, 1000);
    client.put("w", old.clone()).await.unwrap();
    let new = content("w", 1, 300_000);
    let closes_before = closes(&c);
    for (len, written, abort) in [
        (Some(new.len() as u64), new.len(), false),
        (Some(new.len() as u64), new.len(), true),
        (Some(new.len() as u64), 1000, false),
        (None, new.len(), false),
        (None, 1000, true),
    ] {
        let mut w = client.writer("w", len, PutOptions::new()).unwrap();
        w.write_all(&new[..written]).await.unwrap();
        if abort {
            w.abort();
        } else {
            drop(w);
        }
        assert!(
            client.get_bytes("w").await.unwrap() == old,
            "{len:?} {written}"
        );
    }
    assert_eq!(closes(&c), closes_before, "an abandoned writer was closed");
    // The same writer, finished, commits.
    let mut w = client
        .writer("w", Some(new.len() as u64), PutOptions::new())
        .unwrap();
    w.write_all(&new).await.unwrap();
    w.finish().await.unwrap();
    assert!(client.get_bytes("w").await.unwrap() == new);
    assert_no_library_panics();
}
