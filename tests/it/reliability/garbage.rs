//! Invariant 6 with seeded random input: structure-aware garbage tracker replies through every
//! reply decoder, and through a real socket into `TrackerClient`; random HTTP answers from a raw
//! peer into `StorageClient`. Nothing may panic; every failure is a typed error.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use mogile_testkit::storage::FaultPeer;
use mogilefs::lower::protocol::{
    AdminReplyDecoder, Command, CreateOpen, FileDebug, FileInfo, FsckGetLog, FsckStatus,
    GetDevices, GetDomains, GetHosts, GetPaths, ListFids, ListKeys, RebalanceTest, Response,
    ResponseDecoder, ServerSettings,
};
use mogilefs::lower::storage::{
    Payload, StorageClient, StorageConfig, StorageGetOptions, StoragePutOptions,
};
use mogilefs::lower::tracker::{TrackerClient, TrackerConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::support::{Act, HostileTracker, assert_no_library_panics, seed, watch_panics};

/// Pieces real replies are made of, and pieces that break them.
const TOKENS: &[&str] = &[
    "OK ",
    "ERR ",
    "OK",
    "ERR",
    " ",
    "&",
    "=",
    "%",
    "%2",
    "%zz",
    "%00",
    "+",
    "\r",
    "\0",
    "paths",
    "path1",
    "path2",
    "dev_count",
    "devid_1",
    "path_1",
    "fid",
    "devid",
    "path",
    "length",
    "devcount",
    "key",
    "key_1",
    "key_count",
    "next_after",
    "domains",
    "domain1",
    "domain1classes",
    "domain1class1name",
    "domain1class1mindevcount",
    "hosts",
    "host1_hostid",
    "devices",
    "dev1_devid",
    "fid_1",
    "fid_count",
    "checksum",
    "MD5:",
    "0",
    "1",
    "2",
    "-1",
    "1000000",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "http://",
    "ftp://",
    "127.0.0.1:1",
    "/dev1/0/000/000/0000000001.fid",
    "unknown_key",
    "é",
    "\u{7f}",
    "\u{fffd}",
    "callid",
    "NONE",
    "MD5",
    "1.5",
    "0x10",
    " 7",
    "7 ",
];

fn garbage_line(rng: &mut StdRng) -> Vec<u8> {
    let mut line = Vec::new();
    for _ in 0..rng.random_range(0..40) {
        if rng.random_range(0..8) == 0 {
            line.push(rng.random());
        } else {
            line.extend_from_slice(TOKENS[rng.random_range(0..TOKENS.len())].as_bytes());
        }
    }
    line
}

/// Runs every reply parser on `resp`; errors are fine, panics are not.
fn parse_all(resp: &Response) {
    fn one<C: Command>(resp: &Response) {
        let _ = C::parse_reply(resp.clone());
    }
    one::<GetPaths>(resp);
    one::<CreateOpen>(resp);
    one::<FileInfo>(resp);
    one::<FileDebug>(resp);
    one::<ListKeys>(resp);
    one::<ListFids>(resp);
    one::<GetDomains>(resp);
    one::<GetHosts>(resp);
    one::<GetDevices>(resp);
    one::<ServerSettings>(resp);
    one::<FsckStatus>(resp);
    one::<FsckGetLog>(resp);
    one::<RebalanceTest>(resp);
}

#[test]
fn garbage_replies_through_every_decoder_never_panic() {
    watch_panics();
    let (seed, _guard) = seed("garbage_replies_through_every_decoder_never_panic");
    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..20_000 {
        let mut line = garbage_line(&mut rng);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(resp) = Response::decode_line(&line) {
                parse_all(&resp);
            }
            line.extend_from_slice(b"\r\n");
            let mut buf = BytesMut::from(&line[..]);
            let _ = ResponseDecoder::new().max_line_len(4096).decode(&mut buf);
            let mut buf = BytesMut::from(&line[..]);
            let _ = AdminReplyDecoder::new().decode(&mut buf);
        }));
        assert!(
            outcome.is_ok(),
            "input {i} panicked: {:?}",
            String::from_utf8_lossy(&line)
        );
    }
    assert_no_library_panics();
}

#[tokio::test]
async fn garbage_replies_over_a_socket_are_typed_errors() {
    watch_panics();
    let (seed, _guard) = seed("garbage_replies_over_a_socket_are_typed_errors");
    let rng = Arc::new(std::sync::Mutex::new(StdRng::seed_from_u64(seed)));
    let script_rng = rng.clone();
    let t = HostileTracker::start(move |req| {
        if req.command == "noop" {
            return vec![];
        }
        let mut rng = script_rng.lock().unwrap();
        let mut line = garbage_line(&mut rng);
        let echo = rng.random_range(0..2) == 0;
        if let (true, Some(callid)) = (echo, &req.callid) {
            line.extend_from_slice(format!("&callid={callid}").as_bytes());
        }
        line.extend_from_slice(b"\r\n");
        vec![Act::Send(line)]
    })
    .await;
    let client = TrackerClient::builder()
        .trackers([t.addr()])
        .config(TrackerConfig {
            file_timeout: Duration::from_millis(500),
            retry_budget: Some(1),
            ..TrackerConfig::default()
        })
        .build()
        .unwrap();
    for i in 0..300 {
        // A garbage line may happen to be a valid reply; it must never panic.
        let _ = match i % 4 {
            0 => client.get_paths(GetPaths::new("d", "k")).await.map(|_| ()),
            1 => client.file_info(FileInfo::new("d", "k")).await.map(|_| ()),
            2 => client.list_keys(ListKeys::new("d")).await.map(|_| ()),
            _ => client.create_open(CreateOpen::new("d")).await.map(|_| ()),
        };
    }
    for ep in client.status().endpoints {
        assert!(ep.open <= ep.max_size && ep.in_use == 0, "{ep:?}");
    }
    assert_no_library_panics();
}

#[tokio::test]
async fn random_http_answers_are_typed_errors() {
    watch_panics();
    let (seed, _guard) = seed("random_http_answers_are_typed_errors");
    let rng = Arc::new(std::sync::Mutex::new(StdRng::seed_from_u64(seed)));
    const PARTS: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.0 206 Partial Content\r\n",
        b"HTTP/1.1 302 Found\r\n",
        b"HTTP/1.1 500 Oops\r\n",
        b"HTTP/1.1 99 X\r\n",
        b"Content-Length: 5\r\n",
        b"Content-Length: 18446744073709551616\r\n",
        b"Content-Length: -3\r\n",
        b"Content-Range: bytes 0-4/5\r\n",
        b"Content-Range: bytes 9-2/1\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"Location: \r\n",
        b"Connection: close\r\n",
        b"\r\n",
        b"hello",
        b"5\r\nhello\r\n0\r\n\r\n",
        b"ffffffffffffffffff\r\n",
        b"\x00\xff",
    ];
    let script_rng = rng.clone();
    let peer = FaultPeer::start(move |mut conn| {
        let reply: Vec<u8> = {
            let mut rng = script_rng.lock().unwrap();
            (0..rng.random_range(1..10))
                .flat_map(|_| PARTS[rng.random_range(0..PARTS.len())].to_vec())
                .collect()
        };
        async move {
            conn.read_head().await?;
            conn.write(&reply).await
        }
    })
    .await
    .unwrap();
    let client = StorageClient::builder()
        .config(StorageConfig {
            idle_timeout: Duration::from_millis(500),
            headers_timeout: Duration::from_millis(500),
            pool_max_idle_per_host: 0,
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    let url = peer.url("/dev1/0/000/000/0000000001.fid");
    for i in 0..120 {
        let _ = match i % 3 {
            0 => match client.get(&url, &StorageGetOptions::default()).await {
                Ok(resp) => resp.bytes().await.map(|_| ()),
                Err(e) => Err(e),
            },
            1 => client.head(&url).await.map(|_| ()),
            _ => client
                .put(&url, &Payload::from("abc"), &StoragePutOptions::default())
                .await
                .map(|_| ()),
        };
    }
    assert_no_library_panics();
}
