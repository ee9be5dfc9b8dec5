//! Stripe rows: the liar holds one of three replicas of a file long enough to be read as stripes,
//! and lies to every stripe request it gets (every one carries a `Range`). Striping takes part
//! of the file from every replica, so each lie meets every read, not only the reads that pick
//! the liar first.
//!
//! Every cell must end `Ok` with exactly the file's bytes, or in a typed error; a lie that cannot
//! be told from the truth by its framing (a `206` of the file's bytes with another total) ends
//! the fetch with [`Error::ReplicaLength`](mogilefs::Error::ReplicaLength) rather than mix two
//! copies. Checked as in the download rows: the next read is right, and no connection the liar
//! lied on is used again.

use mogilefs::{ClientConfig, KeyPolicy};

use super::downloads::{N, OPS, Op, run};
use super::{Dev, KEY, Lie, World, print_row};
use crate::reliability::support::{assert_no_library_panics, content, watch_panics};

/// Stripes small enough that the matrix's 5,000-byte range stripes too.
fn striped() -> ClientConfig {
    ClientConfig {
        key_policy: KeyPolicy::Lenient,
        stripe_threshold: 4096,
        stripe_size: 2048,
        ..ClientConfig::default()
    }
}

async fn cell(lie: Lie, op: Op) -> String {
    let mut w = World::start(&[Dev::Honest, Dev::Liar, Dev::Honest]).await;
    w.client = w.client_with(striped());
    let data = content(KEY, 1, N);
    w.seed(&data, &[1, 2, 3]);
    w.liar.set_lie(lie);
    let ctx = format!("{lie:?} x {op:?} (striped, liar second)");
    let outcome = run(&w, op, &data, &ctx).await;
    let stats = w.client.read_stats();
    assert!(stats.striped_fetches >= 1, "{ctx}: not striped");
    assert_eq!(stats.buffered_bytes, 0, "{ctx}: buffers left behind");
    w.liar.set_lie(Lie::Honest);
    match w.client.get_bytes(KEY).await {
        Ok(b) => assert!(b == data, "{ctx}: the next read got wrong bytes"),
        Err(e) => panic!("{ctx}: the next read failed: {e:?}"),
    }
    assert!(!w.liar.reused(), "{ctx}: a connection that lied was reused");
    outcome
}

async fn row(name: &str, lie: Lie) {
    watch_panics();
    let mut cells = Vec::new();
    for (op, label) in OPS {
        cells.push((label, cell(lie, op).await));
    }
    print_row(name, &cells);
    assert_no_library_panics();
}

#[tokio::test]
async fn stripe_short_body_then_close() {
    row("stripes: short body, then close", Lie::ShortThenClose).await;
}

#[tokio::test]
async fn stripe_more_bytes_than_content_length() {
    row(
        "stripes: more bytes than Content-Length on the wire",
        Lie::LongerThanContentLength,
    )
    .await;
}

#[tokio::test]
async fn stripe_unframed_answers() {
    row("stripes: unframed 200, short", Lie::UnframedShort).await;
    row("stripes: unframed 200, exact", Lie::UnframedExact).await;
    row("stripes: unframed 200, long", Lie::UnframedLong).await;
    row("stripes: chunked, bad final chunk", Lie::ChunkedBadFinal).await;
}

#[tokio::test]
async fn stripe_206_at_the_wrong_start() {
    row("stripes: 206 at the wrong start", Lie::Partial206WrongStart).await;
}

#[tokio::test]
async fn stripe_206_with_the_wrong_total() {
    row(
        "stripes: 206 with the wrong total",
        Lie::Partial206WrongTotal,
    )
    .await;
}

#[tokio::test]
async fn stripe_200_to_a_range_request() {
    row(
        "stripes: 200 (whole file) to a stripe's Range",
        Lie::WholeToRange,
    )
    .await;
}

#[tokio::test]
async fn stripe_control_http10_closing_after_a_framed_body() {
    row(
        "stripes: control: HTTP/1.0, framed, then close",
        Lie::Http10Close,
    )
    .await;
}
