//! Upload rows: the node lies to a `PUT` (or to the tracker's `HEAD` about what a `PUT` stored).

use bytes::Bytes;
use futures::StreamExt;
use mogilefs::{Error, PutOptions, PutResult};
use tokio::io::AsyncWriteExt;

use super::{DOMAIN, Dev, KEY, Lie, World, describe, print_row};
use crate::reliability::support::{assert_no_library_panics, content, watch_panics};

/// Body length. Large enough (beyond any socket buffer) that a node answering early is seen
/// before the whole body could be handed over: the early answers come at byte 0, [`K`] and
/// `N - 1`.
const N: usize = 8 << 20;
const K: usize = 65_536;

/// mogstored's answer to a PUT (`conformance/mogstored_http.txt`).
const MOGSTORED_200: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 18\r\nServer: Perlbal\r\nConnection: keep-alive\r\nKeep-Alive: timeout=30, max=100\r\n\r\n<h1>200 - OK</h1>\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Put,
    PutFile,
    StreamKnown,
    StreamUnknown,
    Reader,
    Writer,
}

const OPS: [(Op, &str); 6] = [
    (Op::Put, "put (bytes)"),
    (Op::PutFile, "put_file"),
    (Op::StreamKnown, "put_stream (len)"),
    (Op::StreamUnknown, "put_stream (no len)"),
    (Op::Reader, "put_reader"),
    (Op::Writer, "Writer"),
];

async fn run(w: &World, op: Op, body: &Bytes, opts: &PutOptions) -> Result<PutResult, Error> {
    let c = &w.client;
    let chunks = || {
        let parts: Vec<std::io::Result<Bytes>> = body
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(parts).boxed()
    };
    let len = Some(body.len() as u64);
    match op {
        Op::Put => c.put_opts(KEY, body.clone(), opts).await,
        Op::PutFile => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("body");
            std::fs::write(&path, body).unwrap();
            c.put_file(KEY, &path, opts).await
        }
        Op::StreamKnown => c.put_stream(KEY, chunks(), len, opts).await,
        Op::StreamUnknown => c.put_stream(KEY, chunks(), None, opts).await,
        Op::Reader => {
            c.put_reader(KEY, std::io::Cursor::new(body.to_vec()), len, opts)
                .await
        }
        Op::Writer => {
            let mut writer = c.writer(KEY, len, opts.clone())?;
            let wrote = writer.write_all(body).await;
            let res = writer.finish().await;
            if wrote.is_err() {
                assert!(res.is_err(), "a write failed but finish() committed");
            }
            res
        }
    }
}

/// One cell: returns its outcome for the table, after checking the invariants.
async fn cell(lie: Lie, op: Op, verify: bool, n: usize) -> String {
    let w = World::start(&[Dev::Liar, Dev::Honest]).await;
    let old = content(KEY, 0, 50_000);
    let old_fid = w.seed(&old, &[2]);
    let body = content(KEY, 1, n);
    let opts = PutOptions::new().checksum_verify(verify);
    w.liar.set_lie(lie);
    let result = run(&w, op, &body, &opts).await;
    w.liar.set_lie(Lie::Honest);
    let ctx = format!("{lie:?} x {op:?} (checksumverify {verify})");
    // The one lie the client cannot see: the node kept a prefix and told the tracker's HEAD the
    // full size. Only `checksumverify` catches it at store time.
    let head_lie_unverified = lie == Lie::HeadClaimsFullSize && !verify;
    let committed = w.committed();
    let outcome = match &result {
        Ok(r) => {
            assert_eq!(r.size, n as u64, "{ctx}");
            let (fid, copies) = committed.clone().expect("Ok means committed");
            assert_eq!(fid, r.fid.0, "{ctx}");
            for copy in &copies {
                if head_lie_unverified {
                    assert_eq!(copy.as_deref(), Some(&body[..n / 2]), "{ctx}");
                } else {
                    assert_eq!(
                        copy.as_deref(),
                        Some(&body[..]),
                        "{ctx}: committed bytes differ"
                    );
                }
            }
            if r.devid.0 == 1 {
                "Ok".to_owned()
            } else {
                "Ok (next node)".to_owned()
            }
        }
        Err(e) if e.is_outcome_unknown() => {
            if let Some((_, copies)) = &committed {
                for copy in copies {
                    let c = copy.as_deref();
                    assert!(c == Some(&old[..]) || c == Some(&body[..]), "{ctx}");
                }
            }
            describe(e)
        }
        Err(e) => {
            let (fid, copies) = committed
                .clone()
                .expect("a failed store keeps the old content");
            assert_eq!(fid, old_fid, "{ctx}: {e:?}");
            for copy in &copies {
                assert_eq!(copy.as_deref(), Some(&old[..]), "{ctx}");
            }
            describe(e)
        }
    };
    // Read back through the client: what the tracker committed, exactly, or (for the unverified
    // HEAD lie, whose copy is short) a typed error, never the short bytes.
    let read = w.client.get_bytes(KEY).await;
    match (read, &committed) {
        (Ok(got), Some((_, copies))) if !head_lie_unverified => {
            assert_eq!(Some(&got[..]), copies[0].as_deref(), "{ctx}: read back");
        }
        (Err(e), Some(_)) if head_lie_unverified && result.is_ok() => {
            assert!(matches!(e, Error::NoUsablePath { .. }), "{ctx}: {e:?}");
        }
        (Err(e), None) => assert!(e.is_not_found(), "{ctx}: {e:?}"),
        (read, _) => panic!("{ctx}: read back {read:?} with {committed:?}"),
    }
    // (A node that answers early and keeps reading is never seen lying: it is not counted.)
    assert!(!w.liar.reused(), "{ctx}: a connection that lied was reused");
    let _ = DOMAIN;
    outcome
}

async fn row(name: &str, lie: Lie, verify: bool) {
    row_sized(name, lie, verify, N).await;
}

async fn row_sized(name: &str, lie: Lie, verify: bool, len: usize) {
    watch_panics();
    let mut cells = Vec::new();
    for (op, label) in OPS {
        cells.push((label, cell(lie, op, verify, len).await));
    }
    print_row(name, &cells);
    assert_no_library_panics();
}

#[tokio::test]
async fn early_2xx_at_byte_0() {
    row("early 2xx at byte 0", Lie::EarlyAt(0), false).await;
}

#[tokio::test]
async fn early_2xx_at_byte_k() {
    row("early 2xx at byte 65536", Lie::EarlyAt(K), false).await;
}

#[tokio::test]
async fn early_2xx_at_the_last_byte() {
    row("early 2xx at length-1", Lie::EarlyAt(N - 1), false).await;
}

#[tokio::test]
async fn early_2xx_at_byte_k_then_reading_on() {
    // 64 KiB of a 256 KiB body: the rest fits in the socket buffers, so the answer reaches the
    // client after the whole body was handed over. The tracker's HEAD (64 KiB) refuses it.
    row_sized(
        "early 2xx at byte 65536, then reads the rest (keep-alive)",
        Lie::EarlyThenKeepReading(K),
        false,
        256 * 1024,
    )
    .await;
}

#[tokio::test]
async fn a_node_that_tells_the_trackers_head_the_full_size_is_caught_by_checksumverify() {
    row(
        "keeps a prefix, HEAD says full size (checksumverify on)",
        Lie::HeadClaimsFullSize,
        true,
    )
    .await;
}

#[tokio::test]
async fn a_node_that_tells_the_trackers_head_the_full_size_is_what_checksums_are_for() {
    row(
        "keeps a prefix, HEAD says full size (checksumverify off)",
        Lie::HeadClaimsFullSize,
        false,
    )
    .await;
}

#[tokio::test]
async fn a_reset_after_the_last_byte_before_the_status_line() {
    row(
        "reset after the last byte, before the status line",
        Lie::ResetBeforeStatus,
        false,
    )
    .await;
}

#[tokio::test]
async fn control_mogstored_200_with_its_html_body() {
    row(
        "control: mogstored's 200 with its HTML body",
        Lie::Answer(MOGSTORED_200),
        false,
    )
    .await;
}

#[tokio::test]
async fn control_201() {
    row(
        "control: 201",
        Lie::Answer(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
        false,
    )
    .await;
}

#[tokio::test]
async fn control_204() {
    row(
        "control: 204",
        Lie::Answer(b"HTTP/1.1 204 No Content\r\n\r\n"),
        false,
    )
    .await;
}

#[tokio::test]
async fn control_http10_closing_after_a_framed_body() {
    row(
        "control: HTTP/1.0, framed, then close",
        Lie::Answer(b"HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"),
        false,
    )
    .await;
}
