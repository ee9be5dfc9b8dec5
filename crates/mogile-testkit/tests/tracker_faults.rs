//! Fault switches, counters and the wire log of the fake tracker.

#[path = "tracker_common.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Cluster, Conn};
use mogile_testkit::tracker::{ConnectionMode, FakeTracker, Fault, FaultAction, Model};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until EOF or error; the bytes read and whether it ended in an error (a reset).
async fn read_to_end(stream: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the tracker closes")
        {
            Ok(0) => return (out, false),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, true),
        }
    }
}

async fn tracker() -> FakeTracker {
    let model = Arc::new(Model::new());
    model.create_domain("testdom").unwrap();
    FakeTracker::start(model).await.unwrap()
}

#[tokio::test]
async fn killed_tracker_resets_connections_and_restarts_on_the_same_port() {
    let t = tracker().await;
    let mut open = Conn::open(t.addr()).await;
    open.expect("noop", "OK \r\n").await;
    t.kill();
    assert_eq!(t.mode(), ConnectionMode::Refuse);
    // the open connection is reset
    let mut raw = open;
    raw.send(b"noop\r\n").await;
    assert_eq!(raw.line().await, None);
    // new connections are accepted and reset without a byte
    let mut s = TcpStream::connect(t.addr()).await.unwrap();
    let _ = s.write_all(b"noop\r\n").await;
    let (bytes, _) = read_to_end(&mut s).await;
    assert!(bytes.is_empty());
    assert_eq!(t.connections_accepted(), 2);
    t.restart();
    let mut again = Conn::open(t.addr()).await;
    again.expect("noop", "OK \r\n").await;
    assert_eq!(t.connections_accepted(), 3);
    assert_eq!(t.connections_open(), 1);
}

// Every peer is a task on this runtime: paused time makes the "no reply yet" windows exact.
#[tokio::test(start_paused = true)]
async fn hanging_tracker_reads_but_never_answers() {
    let t = tracker().await;
    let mut c = Conn::open(t.addr()).await;
    t.set_mode(ConnectionMode::Hang);
    c.send(b"noop callid=1\r\n").await;
    let quiet = tokio::time::timeout(Duration::from_millis(200), c.line()).await;
    assert!(quiet.is_err(), "no reply while hanging");
    // the request was still received and recorded
    let log = t.wire_log();
    assert_eq!(log.last().unwrap().bytes, b"noop callid=1\r\n");
    assert_eq!(t.requests("noop"), 1);
    assert_eq!(t.requests("noop"), 1);
    t.set_mode(ConnectionMode::Normal);
    c.expect("noop callid=2", "OK callid=2\r\n").await;
}

// Every peer is a task on this runtime: paused time makes the "no reply yet" windows exact.
#[tokio::test(start_paused = true)]
async fn delayed_reply_arrives_late_and_in_order() {
    let t = tracker().await;
    t.inject(
        Fault::new(FaultAction::Delay(Duration::from_millis(300)))
            .command("noop")
            .times(1),
    );
    let mut c = Conn::open(t.addr()).await;
    c.send(b"noop callid=1\r\n").await;
    let early = tokio::time::timeout(Duration::from_millis(50), c.line()).await;
    assert!(early.is_err(), "the reply is delayed");
    assert_eq!(c.line().await.unwrap(), b"OK callid=1\r\n");
    // the rule was used up
    c.expect("noop callid=2", "OK callid=2\r\n").await;
}

#[tokio::test]
async fn dropped_reply_after_a_mutating_command() {
    let c = Cluster::start(&[1]).await;
    let mut t = c.conn().await;
    c.store(&mut t, "a", None, b"x").await;
    c.store(&mut t, "b", None, b"x").await;
    // executed, then the connection closes without a reply
    c.tracker.inject(
        Fault::new(FaultAction::Drop)
            .command("delete")
            .times(1)
            .execute(true),
    );
    t.send(b"delete domain=testdom&key=a\r\n").await;
    assert_eq!(t.line().await, None);
    assert!(
        c.model.file("testdom", "a").is_none(),
        "the delete happened"
    );
    // not executed
    c.tracker
        .inject(Fault::new(FaultAction::Reset).command("delete").times(1));
    let mut t = c.conn().await;
    t.send(b"delete domain=testdom&key=b\r\n").await;
    assert_eq!(t.line().await, None);
    assert!(
        c.model.file("testdom", "b").is_some(),
        "the delete did not happen"
    );
    assert_eq!(c.tracker.requests("delete"), 2);
}

#[tokio::test]
async fn corrupted_replies() {
    let t = tracker().await;
    t.inject(
        Fault::new(FaultAction::Garbage(b"HELLO\r\n".to_vec()))
            .command("noop")
            .times(1),
    );
    t.inject(
        Fault::new(FaultAction::LongLine(100_000))
            .command("noop")
            .times(1),
    );
    t.inject(
        Fault::new(FaultAction::StrayLine(b"OK \r\n".to_vec()))
            .command("rename")
            .times(1),
    );
    t.inject(
        Fault::new(FaultAction::CloseMidReply)
            .command("get_paths")
            .times(1),
    );
    let mut c = Conn::open(t.addr()).await;
    assert_eq!(c.req("noop").await, "HELLO\r\n");
    let long = c.req("noop").await;
    assert!(long.starts_with("OK x=xxx") && long.ends_with("xx\r\n"));
    assert_eq!(long.len(), 100_002);
    c.expect(
        "rename domain=testdom&from_key=a&to_key=b",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    assert_eq!(c.line().await.unwrap(), b"OK \r\n", "the stray line");
    let mut s = TcpStream::connect(t.addr()).await.unwrap();
    s.write_all(b"get_paths domain=testdom&key=x\r\n")
        .await
        .unwrap();
    let (bytes, _) = read_to_end(&mut s).await;
    let full = b"ERR unknown_key unknown_key\r\n";
    assert_eq!(bytes, &full[..full.len() / 2]);
}

// Every peer is a task on this runtime: paused time makes the "no reply yet" windows exact.
#[tokio::test(start_paused = true)]
async fn hang_fault_mutes_one_connection_only() {
    let t = tracker().await;
    t.inject(Fault::new(FaultAction::Hang).command("list_keys").times(1));
    let mut hung = Conn::open(t.addr()).await;
    hung.send(b"list_keys domain=testdom\r\nnoop\r\n").await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), hung.line())
            .await
            .is_err()
    );
    let mut other = Conn::open(t.addr()).await;
    other
        .expect(
            "list_keys domain=testdom",
            "ERR none_match No+keys+match+that+pattern+and+after-value+%28if+any%29.\r\n",
        )
        .await;
    assert_eq!(t.requests("list_keys"), 2);
}

#[tokio::test]
async fn counts_connections_and_requests_and_records_bytes() {
    let t = tracker().await;
    let mut a = Conn::open(t.addr()).await;
    a.send(b"noop callid=1\r\nNOOP\n").await;
    assert_eq!(a.line().await.unwrap(), b"OK callid=1\r\n");
    assert_eq!(a.line().await.unwrap(), b"OK \r\n");
    let mut b = Conn::open(t.addr()).await;
    b.expect(
        "get_paths domain=testdom&key=k%2Bx",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    assert_eq!(t.connections_accepted(), 2);
    assert_eq!(t.connections_open(), 2);
    assert_eq!(t.requests("noop"), 2);
    assert_eq!(t.requests("get_paths"), 1);
    assert_eq!(t.total_requests(), 3);
    assert_eq!(t.received(1), b"noop callid=1\r\nNOOP\n");
    assert_eq!(t.received(2), b"get_paths domain=testdom&key=k%2Bx\r\n");
    let log = t.wire_log();
    assert_eq!(log.len(), 3);
    assert_eq!(
        (log[2].connection, log[2].bytes.as_slice()),
        (2, &b"get_paths domain=testdom&key=k%2Bx\r\n"[..])
    );
    drop(a);
    // the close is noticed by the connection task; wait for it through the tracker itself
    b.expect("noop", "OK \r\n").await;
    for _ in 0..100 {
        if t.connections_open() == 1 {
            break;
        }
        tokio::task::yield_now().await;
        b.expect("noop", "OK \r\n").await;
    }
    assert_eq!(t.connections_open(), 1);
    t.clear_log();
    assert_eq!(t.total_requests(), 0);
}

#[tokio::test]
async fn trackers_share_one_model() {
    let model = Arc::new(Model::new());
    let one = FakeTracker::start(Arc::clone(&model)).await.unwrap();
    let two = FakeTracker::builder()
        .model(Arc::clone(&model))
        .start()
        .await
        .unwrap();
    assert_ne!(one.addr(), two.addr());
    Conn::open(one.addr())
        .await
        .expect("create_domain domain=shared", "OK domain=shared\r\n")
        .await;
    Conn::open(two.addr())
        .await
        .expect(
            "create_domain domain=shared",
            "ERR domain_exists That+domain+already+exists\r\n",
        )
        .await;
    assert_eq!(one.requests("create_domain"), 1);
    assert_eq!(two.requests("create_domain"), 1);
}

#[tokio::test(start_paused = true)]
async fn temp_files_are_reaped_after_the_ttl() {
    let storage = common::Storage::start("127.0.0.1").await;
    let model = Arc::new(
        Model::builder()
            .temp_file_ttl(Duration::from_secs(60))
            .build(),
    );
    let host = model
        .add_host(mogile_testkit::tracker::HostSpec::new(
            "s",
            "127.0.0.1",
            storage.addr.port(),
        ))
        .unwrap();
    model
        .add_device(mogile_testkit::tracker::DeviceSpec::new(1, host))
        .unwrap();
    model.create_domain("d").unwrap();
    let t = FakeTracker::start(Arc::clone(&model)).await.unwrap();
    let mut c = Conn::open(t.addr()).await;
    let open = common::pairs(&c.req("create_open domain=d&key=k").await);
    tokio::time::advance(Duration::from_secs(61)).await;
    c.expect(
        &format!(
            "create_close domain=d&key=k&fid={}&devid=1&path={}",
            open["fid"], open["path"]
        ),
        "ERR no_temp_file No+tempfile+or+file+already+closed\r\n",
    )
    .await;
}

#[tokio::test]
async fn rerun_answers_with_the_second_outcome() {
    let c = Cluster::start(&[1]).await;
    let mut t = c.conn().await;
    let open = common::pairs(&t.req("create_open domain=testdom&key=r").await);
    let (fid, dev): (u64, u64) = (open["fid"].parse().unwrap(), open["devid"].parse().unwrap());
    c.storage.put(&open["path"], b"abc");
    c.tracker.inject(
        Fault::new(FaultAction::Rerun)
            .command("create_close")
            .times(1),
    );
    // the first run committed the file; the client only sees the second run's no_temp_file
    t.expect(
        &format!(
            "create_close domain=testdom&key=r&fid={fid}&devid={dev}&path={}&size=3",
            c.url_arg(dev, fid)
        ),
        "ERR no_temp_file No+tempfile+or+file+already+closed\r\n",
    )
    .await;
    assert_eq!(c.model.file("testdom", "r").unwrap().fid, fid);
}
