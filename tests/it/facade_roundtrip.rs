//! Store/fetch round trips through the facade: every body kind, sizes from empty to 64 MiB, and
//! keys with bytes that need escaping.

use bytes::Bytes;
use futures::StreamExt;
use mogile_tests::{Harness, pattern};
use mogilefs::{ClientConfig, GetOptions, PutOptions};
use tokio::io::AsyncWriteExt;

const SIZES: [usize; 4] = [0, 1, 1 << 20, 64 << 20];

#[tokio::test]
async fn every_body_kind_round_trips_every_size() {
    let h = Harness::start(2).await;
    let client = h.client();
    let dir = tempfile::tempdir().unwrap();
    for size in SIZES {
        let data = pattern(size);
        let opts = PutOptions::new();

        let key = format!("bytes/{size}");
        let r = client.put(key.as_str(), data.clone()).await.unwrap();
        assert_eq!(r.size, size as u64);

        let key = format!("file/{size}");
        let path = dir.path().join(format!("in-{size}"));
        std::fs::write(&path, &data).unwrap();
        client.put_file(key.as_str(), &path, &opts).await.unwrap();

        // A stream of odd-sized chunks, of unknown length (chunked upload).
        let key = format!("stream/{size}");
        let chunks: Vec<std::io::Result<Bytes>> = data
            .chunks(7919)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        client
            .put_stream(key.as_str(), futures::stream::iter(chunks), None, &opts)
            .await
            .unwrap();

        // A reader of known length.
        let key = format!("reader/{size}");
        let reader = std::io::Cursor::new(data.clone());
        client
            .put_reader(key.as_str(), reader, Some(size as u64), &opts)
            .await
            .unwrap();

        let key = format!("writer/{size}");
        let mut w = client
            .writer(key.as_str(), None, PutOptions::new())
            .unwrap();
        for c in data.chunks(65_537) {
            w.write_all(c).await.unwrap();
        }
        let r = w.finish().await.unwrap();
        assert_eq!(r.size, size as u64);

        for kind in ["bytes", "file", "stream", "reader", "writer"] {
            let key = format!("{kind}/{size}");
            let got = client.get_bytes(key.as_str()).await.unwrap();
            assert!(got == data, "{key}: {} bytes back", got.len());
            assert_eq!(
                client.file_info(key.as_str()).await.unwrap().length,
                size as u64
            );
        }
        // Into a file: written whole, then renamed into place.
        let out = dir.path().join(format!("out-{size}"));
        let n = client
            .get_to_file(format!("file/{size}"), &out, &GetOptions::new())
            .await
            .unwrap();
        assert_eq!(n, size as u64);
        assert!(std::fs::read(&out).unwrap() == data);
        std::fs::remove_file(&path).unwrap();
    }
}

#[tokio::test]
async fn streamed_fetch_and_ranges() {
    let h = Harness::start(1).await;
    let client = h.client();
    let data = pattern(100_000);
    client.put("r", data.clone()).await.unwrap();

    let mut stream = client.get("r").await.unwrap();
    assert_eq!(stream.len(), Some(100_000));
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert!(got == data);

    assert_eq!(
        client.get_range("r", 10, Some(5)).await.unwrap(),
        data.slice(10..15)
    );
    assert_eq!(
        client.get_range("r", 99_990, None).await.unwrap(),
        data.slice(99_990..)
    );
    assert_eq!(
        client.get_range("r", 0, Some(0)).await.unwrap(),
        Bytes::new()
    );
}

#[tokio::test]
async fn keys_that_need_escaping_round_trip() {
    let h = Harness::start(1).await;
    let client = h.client();
    let keys: Vec<Vec<u8>> = vec![
        b"with space".to_vec(),
        b"plus+sign".to_vec(),
        b"amp&er=sand".to_vec(),
        b"100%25 literal %".to_vec(),
        "unicode/\u{e9}\u{4e2d}\u{1f600}".as_bytes().to_vec(),
        b"nul\0inside".to_vec(),
        b"bytes\xff\xfe\x80".to_vec(),
        b"0".to_vec(),
    ];
    for (i, key) in keys.iter().enumerate() {
        let body = format!("body {i}");
        client
            .put(key.clone(), body.clone().into_bytes())
            .await
            .unwrap();
        assert_eq!(
            client.get_bytes(key.clone()).await.unwrap(),
            body.as_bytes()
        );
        let info = client.file_info(key.clone()).await.unwrap();
        assert_eq!(info.key.as_bytes(), &key[..]);
        assert!(h.model().file(mogile_tests::DOMAIN, key).is_some());
    }
    let mut listed: Vec<Vec<u8>> = client
        .keys("")
        .map(|k| k.unwrap().as_bytes().to_vec())
        .collect()
        .await;
    let mut expected = keys.clone();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn strict_policy_refuses_nul_before_sending_anything() {
    let h = Harness::start(1).await;
    let client = h
        .builder()
        .config(ClientConfig {
            key_policy: mogilefs::KeyPolicy::Strict,
            ..Harness::config()
        })
        .build()
        .unwrap();
    let err = client.put(&b"a\0b"[..], &b"x"[..]).await.unwrap_err();
    assert!(matches!(err, mogilefs::Error::KeyPolicy { .. }), "{err:?}");
    assert_eq!(h.tracker().requests("create_open"), 0);
}

#[tokio::test]
async fn overwrite_replaces_content_and_with_domain_shares_pools() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"one"[..]).await.unwrap();
    client.put("k", &b"two two"[..]).await.unwrap();
    assert_eq!(client.get_bytes("k").await.unwrap(), &b"two two"[..]);

    h.model().create_domain("other").unwrap();
    let other = client.with_domain("other").unwrap();
    other.put("k", &b"elsewhere"[..]).await.unwrap();
    assert_eq!(other.get_bytes("k").await.unwrap(), &b"elsewhere"[..]);
    assert_eq!(client.get_bytes("k").await.unwrap(), &b"two two"[..]);
    assert_eq!(other.domain(), "other");

    client.close().await;
    assert!(matches!(
        other.exists("k").await,
        Err(mogilefs::Error::Closed)
    ));
}

#[derive(Default)]
struct Counter(std::sync::atomic::AtomicU64, std::sync::atomic::AtomicU64);

impl mogilefs::Progress for Counter {
    fn on_bytes(&self, chunk: &[u8]) {
        self.0
            .fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::SeqCst);
    }
    fn on_restart(&self) {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn progress_sees_every_byte_and_every_restart() {
    let h = Harness::start(2).await;
    let client = h.client();
    h.fault(
        1,
        http::Method::PUT,
        mogile_testkit::storage::Fault::Status(500),
    );
    let up = std::sync::Arc::new(Counter::default());
    let data = pattern(100_000);
    client
        .put_opts("p", data.clone(), &PutOptions::new().progress(up.clone()))
        .await
        .unwrap();
    // Sent in full twice (the first destination failed after reading it), one restart.
    assert_eq!(up.0.load(std::sync::atomic::Ordering::SeqCst), 200_000);
    assert_eq!(up.1.load(std::sync::atomic::Ordering::SeqCst), 1);

    let down = std::sync::Arc::new(Counter::default());
    let got = client
        .get_opts("p", &GetOptions::new().progress(down.clone()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got, data);
    assert_eq!(down.0.load(std::sync::atomic::Ordering::SeqCst), 100_000);
}
