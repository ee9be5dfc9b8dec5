//! Transfers against the testkit storage node: the HTTP/1.0 trap, 64 MiB streaming both ways,
//! ranges, downloads into files, observers and body reclaiming.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http::Method;
use mogile_storage::{
    ByteRange, Extent, OneShotBody, Payload, StorageClient, StorageConfig, StorageError,
    StorageGetOptions, StoragePutOptions, TransferObserver,
};
use mogile_testkit::storage::{Fault, FaultRule, StorageNode};
use tokio::io::AsyncReadExt;

fn client() -> StorageClient {
    StorageClient::builder()
        .config(StorageConfig {
            idle_timeout: Duration::from_secs(10),
            headers_timeout: Duration::from_secs(10),
            ..StorageConfig::default()
        })
        .build()
        .unwrap()
}

async fn node() -> (tempfile::TempDir, StorageNode) {
    let dir = tempfile::tempdir().unwrap();
    let node = StorageNode::start(dir.path()).await.unwrap();
    node.add_device(1).await.unwrap();
    (dir, node)
}

/// `len` bytes of the deterministic test pattern from `offset` (period 251, so chunk boundaries
/// never line up with it). A slice of one shared buffer: cheap even in debug builds.
fn pattern_chunk(offset: u64, len: usize) -> Bytes {
    static BASE: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        (0..251 + (2 << 20))
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>()
            .into()
    });
    let start = (offset % 251) as usize;
    base.slice(start..start + len)
}

fn pattern_stream(
    total: u64,
    chunk: usize,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    stream::unfold(0u64, move |off| async move {
        (off < total).then(|| {
            let len = chunk.min((total - off) as usize);
            (Ok(pattern_chunk(off, len)), off + len as u64)
        })
    })
}

#[derive(Default)]
struct Counter(AtomicU64);

impl TransferObserver for Counter {
    fn on_bytes(&self, chunk: &[u8]) {
        self.0.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
}

#[tokio::test]
async fn http10_trap_unknown_length_after_pooled_put_stores_every_byte() {
    let (_dir, node) = node().await;
    let client = client();
    let first = node.url("/dev1/0/000/999/0000999001.fid");
    let second = node.url("/dev1/0/000/999/0000999002.fid");
    client
        .put(
            &first,
            &Payload::from("hello world"),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    // The node answered HTTP/1.0 with keep-alive: the pooled connection would now send 1.0.
    let chunks =
        ["chunk0;", "chunk1;", "chunk2;", "chunk3;"].map(|s| Ok(Bytes::from_static(s.as_bytes())));
    let out = client
        .put_stream(
            &second,
            OneShotBody::from_stream(stream::iter(chunks), None),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.bytes_sent, 28);
    let on_disk = |p: &str| std::fs::read(node.file_path(p)).unwrap();
    assert_eq!(on_disk("/dev1/0/000/999/0000999001.fid"), b"hello world");
    assert_eq!(
        on_disk("/dev1/0/000/999/0000999002.fid"),
        b"chunk0;chunk1;chunk2;chunk3;"
    );
    let reqs = node.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].is_chunked());
    assert_eq!(reqs[1].version, http::Version::HTTP_11);
    assert_ne!(
        reqs[0].connection, reqs[1].connection,
        "unknown length went on a fresh connection"
    );
    // A further known-length PUT still works on the pooled connection (sent as HTTP/1.0).
    client
        .put(
            &first,
            &Payload::from("again"),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(on_disk("/dev1/0/000/999/0000999001.fid"), b"again");
    let reqs = node.requests();
    assert_eq!(
        reqs[2].connection, reqs[0].connection,
        "known lengths reuse the pool"
    );
}

/// The control for the test above: hyper-util's pooled client, used naively, falls into the trap
/// against the testkit node exactly as against mogstored (`mogstored_hyper_http10.txt`).
#[tokio::test]
async fn the_node_reproduces_the_http10_trap_for_a_naive_pooled_client() {
    use http_body_util::{BodyExt, Full, StreamBody};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

    let (_dir, node) = node().await;
    let naive: Client<_, Body> = Client::builder(TokioExecutor::new()).build_http();
    let put = |path: &str, body: Body| http::Request::put(node.url(path)).body(body).unwrap();
    let known = Full::new(Bytes::from_static(b"hello world"))
        .map_err(|e| match e {})
        .boxed();
    let resp = naive.request(put("/dev1/known.fid", known)).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_10);
    assert!(resp.into_body().collect().await.is_ok());
    let chunks = stream::iter(
        ["chunk0;", "chunk1;"]
            .map(|s| Ok(http_body::Frame::data(Bytes::from_static(s.as_bytes())))),
    );
    let unknown = BodyExt::boxed(StreamBody::new(chunks));
    let resp = naive
        .request(put("/dev1/unknown.fid", unknown))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the node says OK...");
    let stored = std::fs::read(node.file_path("/dev1/unknown.fid")).unwrap();
    assert!(stored.is_empty(), "...and stored {} bytes", stored.len());
    let reqs = node.requests();
    assert_eq!(reqs[1].version, http::Version::HTTP_10);
    assert_eq!(reqs[1].connection, reqs[0].connection);
}

#[tokio::test]
async fn streams_64_mib_up_and_down_with_identical_bytes() {
    const TOTAL: u64 = 64 * 1024 * 1024;
    let (_dir, node) = node().await;
    let client = client();
    let url = node.url("/dev1/big/file.fid");
    let sent = Arc::new(Counter::default());
    let opts = StoragePutOptions::default().observer(sent.clone());
    let body = OneShotBody::from_stream(pattern_stream(TOTAL, 200_000), None);
    let out = client.put_stream(&url, body, &opts).await.unwrap();
    assert_eq!(out.bytes_sent, TOTAL);
    assert_eq!(sent.0.load(Ordering::Relaxed), TOTAL);

    // On disk: every byte as sent.
    let mut file = tokio::fs::File::open(node.file_path("/dev1/big/file.fid"))
        .await
        .unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let n = file.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        assert_eq!(&buf[..n], &pattern_chunk(off, n)[..], "at offset {off}");
        off += n as u64;
    }
    assert_eq!(off, TOTAL);

    // Down again as a stream, compared chunk by chunk (never held whole).
    let got = Arc::new(Counter::default());
    let opts = StorageGetOptions::default().observer(got.clone());
    let resp = client.get(&url, &opts).await.unwrap();
    assert_eq!(resp.content_length(), Some(TOTAL));
    let mut stream = resp.into_stream();
    let mut off = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        assert_eq!(chunk, pattern_chunk(off, chunk.len()), "at offset {off}");
        off += chunk.len() as u64;
    }
    assert_eq!(off, TOTAL);
    assert_eq!(got.0.load(Ordering::Relaxed), TOTAL);

    // And up once more from the file with a known length (Payload::file).
    let copy = node.url("/dev1/big/copy.fid");
    let payload = Payload::file(node.file_path("/dev1/big/file.fid"))
        .await
        .unwrap();
    assert_eq!(payload.len(), TOTAL);
    let out = client
        .put(&copy, &payload, &StoragePutOptions::default())
        .await
        .unwrap();
    assert_eq!(out.bytes_sent, TOTAL);
    assert_eq!(
        node.requests().last().unwrap().content_length(),
        Some(TOTAL)
    );
    let copy_len = std::fs::metadata(node.file_path("/dev1/big/copy.fid"))
        .unwrap()
        .len();
    assert_eq!(copy_len, TOTAL);
}

#[tokio::test]
async fn range_reads() {
    let (_dir, node) = node().await;
    let client = client();
    let url = node.url("/dev1/r.fid");
    client
        .put(
            &url,
            &Payload::from("hello world v2"),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    let get = |range| {
        let client = client.clone();
        let url = url.clone();
        async move {
            client
                .get(&url, &StorageGetOptions::default().range(range))
                .await
        }
    };
    let resp = get(ByteRange::new(0, 5)).await.unwrap();
    assert_eq!(resp.status(), 206);
    assert!(resp.range_honoured());
    let cr = resp.content_range().unwrap();
    assert_eq!((cr.start, cr.end, cr.total), (0, 4, Some(14)));
    assert_eq!(resp.extent(), Extent::Part(cr));
    assert_eq!(&resp.bytes().await.unwrap()[..], b"hello");

    let resp = get(ByteRange::from_offset(6)).await.unwrap();
    assert_eq!(&resp.bytes().await.unwrap()[..], b"world v2");
    // The request never used a suffix range.
    let sent: Vec<String> = node
        .requests()
        .iter()
        .filter_map(|r| {
            r.headers
                .get("range")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(sent, ["bytes=0-4", "bytes=6-"]);

    // Past the end: 416, typed. Another replica may be longer (this one may be truncated), so
    // it is worth asking.
    let err = get(ByteRange::from_offset(100)).await.unwrap_err();
    assert_eq!(err.status(), Some(416));
    assert!(err.try_another_replica());
    // An empty range is refused locally.
    assert!(matches!(
        get(ByteRange::new(3, 0)).await.unwrap_err(),
        StorageError::InvalidRange { .. }
    ));

    // A node that ignores Range: 200 and the whole file, flagged.
    node.inject(FaultRule::new(Fault::IgnoreRange).times(1));
    let resp = get(ByteRange::from_offset(6)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(!resp.range_honoured());
    assert_eq!(resp.extent(), Extent::Whole { len: Some(14) });
    assert_eq!(&resp.bytes().await.unwrap()[..], b"hello world v2");
}

#[tokio::test]
async fn get_to_file_renames_only_when_complete() {
    let (dir, node) = node().await;
    let client = client();
    let url = node.url("/dev1/f.fid");
    let data = pattern_chunk(0, 300_000);
    client
        .put(
            &url,
            &Payload::from(data.clone()),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("f.bin");
    let n = client
        .get_to_file(&url, &target, &StorageGetOptions::default())
        .await
        .unwrap();
    assert_eq!(n, 300_000);
    assert_eq!(std::fs::read(&target).unwrap(), data);
    let listing = || {
        std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(listing(), ["f.bin"], "no temporary file left");

    // A short body: error, no new file, no temporary left, the old file untouched.
    node.inject(FaultRule::new(Fault::ShortBody { missing: 1000 }).times(1));
    let other = out_dir.join("g.bin");
    let err = client
        .get_to_file(&url, &other, &StorageGetOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::LengthMismatch {
                expected: 300_000,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.try_another_replica());
    assert_eq!(listing(), ["f.bin"]);

    // Overwriting an existing file fails the same way: the old content stays.
    node.inject(FaultRule::new(Fault::ResetAfter { body_bytes: 70_000 }).times(1));
    assert!(
        client
            .get_to_file(&url, &target, &StorageGetOptions::default())
            .await
            .is_err()
    );
    assert_eq!(std::fs::read(&target).unwrap(), data);
    assert_eq!(listing(), ["f.bin"]);

    // Missing file, and a range the node ignores: errors, nothing written.
    let err = client
        .get_to_file(
            &node.url("/dev1/nope.fid"),
            &other,
            &StorageGetOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    node.inject(FaultRule::new(Fault::IgnoreRange).times(1));
    let opts = StorageGetOptions::default().range(ByteRange::from_offset(10));
    let err = client.get_to_file(&url, &other, &opts).await.unwrap_err();
    assert!(
        matches!(err, StorageError::RangeNotHonoured { start: 10, .. }),
        "{err:?}"
    );
    assert_eq!(listing(), ["f.bin"]);
}

#[tokio::test]
async fn node_statuses_and_delete_head() {
    let (_dir, node) = node().await;
    let client = client();
    let err = client
        .put(
            &node.url("/dev99/x.fid"),
            &Payload::from("abc"),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    let StorageError::Status {
        status: 404,
        body_snippet,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(body_snippet.contains("Base directory does not exist"));

    node.inject(
        FaultRule::new(Fault::Status(507))
            .method(Method::PUT)
            .times(1),
    );
    let err = client
        .put(
            &node.url("/dev1/x.fid"),
            &Payload::from("abc"),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(507));
    assert!(err.try_another_replica());

    let url = node.url("/dev1/x.fid");
    client
        .put(&url, &Payload::from("abc"), &StoragePutOptions::default())
        .await
        .unwrap();
    assert_eq!(client.head(&url).await.unwrap().content_length, Some(3));
    client.delete(&url).await.unwrap();
    assert!(client.delete(&url).await.unwrap_err().is_not_found());
    assert!(client.head(&url).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn put_stream_hands_back_an_untouched_body_only() {
    let (_dir, node) = node().await;
    let client = client();
    // Refused connection: the body was never polled, so it comes back.
    node.set_refusing(true);
    let body = OneShotBody::from_stream(pattern_stream(1000, 100), Some(1000));
    let err = client
        .put_stream(
            &node.url("/dev1/a.fid"),
            body,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.error.try_another_replica(), "{:?}", err.error);
    let body = err.body.expect("untouched body handed back");
    assert!(body.is_untouched());
    node.set_refusing(false);
    // ... and can go to the next destination in full.
    let out = client
        .put_stream(
            &node.url("/dev1/a.fid"),
            body,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.bytes_sent, 1000);

    // A consumed body does not come back.
    node.inject(FaultRule::new(Fault::Status(500)).times(1));
    let body = OneShotBody::from_stream(pattern_stream(1000, 100), None);
    let err = client
        .put_stream(
            &node.url("/dev1/b.fid"),
            body,
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.error.status(), Some(500));
    assert!(err.body.is_none());

    // A body stream that fails is the caller's problem, not the node's.
    let failing = stream::iter([
        Ok(Bytes::from_static(b"abc")),
        Err(std::io::Error::other("disk on fire")),
    ]);
    let err = client
        .put_stream(
            &node.url("/dev1/c.fid"),
            OneShotBody::from_stream(failing, Some(10)),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err.error, StorageError::Body { .. }),
        "{:?}",
        err.error
    );
    assert!(!err.error.try_another_replica());
}

#[tokio::test]
async fn a_stream_longer_than_declared_is_an_error_even_on_a_chunk_boundary() {
    let (_dir, node) = node().await;
    let client = client();
    // Declared 200 bytes; the stream has 300, and byte 200 ends a chunk exactly.
    for (declared, chunk) in [(200u64, 100usize), (200, 50), (250, 100)] {
        let url = node.url(&format!("/dev1/long-{declared}-{chunk}.fid"));
        let body = OneShotBody::from_stream(pattern_stream(300, chunk), Some(declared));
        let err = client
            .put_stream(&url, body, &StoragePutOptions::default())
            .await
            .unwrap_err();
        assert!(!err.error.try_another_replica(), "{:?}", err.error);
    }
    // Exactly the declared length still goes through, ending on a chunk boundary.
    let url = node.url("/dev1/exact.fid");
    let body = OneShotBody::from_stream(pattern_stream(300, 100), Some(300));
    let out = client
        .put_stream(&url, body, &StoragePutOptions::default())
        .await
        .unwrap();
    assert_eq!(out.bytes_sent, 300);
    assert_eq!(
        std::fs::read(node.file_path("/dev1/exact.fid"))
            .unwrap()
            .len(),
        300
    );
}

/// A timeout of `Duration::MAX` means no timeout, never a panic: every timer that runs from it
/// (headers, idle on the socket and on the body, the low-speed window) saturates.
#[tokio::test]
async fn timeouts_of_duration_max_mean_no_timeout() {
    let (_dir, node) = node().await;
    let client = StorageClient::builder()
        .config(StorageConfig {
            connect_timeout: Duration::MAX,
            idle_timeout: Duration::MAX,
            headers_timeout: Duration::MAX,
            pool_idle_timeout: Duration::MAX,
            low_speed_limit: Some(mogile_storage::LowSpeed::new(1, Duration::MAX)),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    let url = node.url("/dev1/max.fid");
    let body = pattern_chunk(0, 300_000);
    let out = client
        .put(
            &url,
            &Payload::from(body.clone()),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.bytes_sent, body.len() as u64);
    for _ in 0..2 {
        let got = client
            .get(&url, &StorageGetOptions::default())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(got, body);
    }
}
