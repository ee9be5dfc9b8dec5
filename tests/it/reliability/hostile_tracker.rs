//! A hostile tracker against `mogile-tracker`: every bad reply is a typed error, the connection it
//! came on is dropped, nothing panics, memory stays bounded, and the next request gets its own
//! answer. The facade against the same tracker is in `hostile_tracker_facade`.

use std::time::Duration;

use mogilefs::lower::protocol::{CreateOpen, Delete, FileInfo, GetPaths};
use mogilefs::lower::tracker::{PoolSettings, TrackerClient, TrackerConfig, TrackerError};

use super::support::{Act, HostileTracker, Req, assert_no_library_panics, chain, watch_panics};

/// Reply lines longer than this are refused by the clients built here.
const LINE_LIMIT: usize = 4096;

/// A normal answer, for the requests after the hostile one.
fn honest(req: &Req) -> Vec<Act> {
    match req.command.as_str() {
        "get_paths" => {
            vec![req.ok("paths=1&path1=http://127.0.0.1:1/dev1/0/000/000/0000000001.fid")]
        }
        "create_open" => {
            vec![req.ok("fid=5&devid=1&path=http://127.0.0.1:1/dev1/0/000/000/0000000005.fid")]
        }
        "file_info" => vec![req.ok("fid=5&domain=d&key=k&class=default&devcount=1&length=3")],
        "delete" | "noop" => vec![req.ok("")],
        _ => vec![Act::Send(
            b"ERR unknown_command unknown+command\r\n".to_vec(),
        )],
    }
}

/// A tracker that answers request 0 with `hostile` and every later one honestly.
async fn tracker_with(hostile: Vec<Act>) -> HostileTracker {
    HostileTracker::start(move |req| {
        if req.command != "noop" && req.index == 0 {
            hostile.clone()
        } else {
            honest(req)
        }
    })
    .await
}

/// One attempt per request, so the hostile reply is what the caller sees.
fn tracker_client(t: &HostileTracker) -> TrackerClient {
    TrackerClient::builder()
        .trackers([t.addr()])
        .config(TrackerConfig {
            file_timeout: Duration::from_secs(5),
            max_reply_line: LINE_LIMIT,
            retry_budget: Some(1),
            ..TrackerConfig::default()
        })
        .build()
        .unwrap()
}

/// The attempt's own error under `RetriesExhausted` / `OutcomeUnknown`.
fn innermost(err: &TrackerError) -> &TrackerError {
    match err {
        TrackerError::RetriesExhausted { last, .. } => innermost(last),
        TrackerError::OutcomeUnknown { source, .. } => innermost(source),
        other => other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The line is not a tracker reply.
    Protocol,
    /// An `OK` line the command cannot use.
    Decode,
    /// A reply for another request.
    Desync,
}

fn kind(err: &TrackerError) -> Option<Expect> {
    match innermost(err) {
        TrackerError::Protocol { .. } => Some(Expect::Protocol),
        TrackerError::Decode { .. } => Some(Expect::Decode),
        TrackerError::Desync { .. } => Some(Expect::Desync),
        _ => None,
    }
}

pub(super) fn line(s: &str) -> Vec<Act> {
    vec![Act::Send(s.as_bytes().to_vec())]
}

/// Replies that are not tracker reply lines, whatever the command.
pub(super) fn garbage_lines() -> Vec<(&'static str, Vec<Act>)> {
    let long = format!("OK a={}\r\n", "x".repeat(LINE_LIMIT * 4));
    vec![
        ("line over the limit", vec![Act::Send(long.into_bytes())]),
        (
            "endless line",
            vec![Act::SendEndless(
                b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".repeat(256),
            )],
        ),
        ("not OK or ERR", line("HELLO there\r\n")),
        ("empty line", line("\r\n")),
        (
            "binary",
            vec![Act::Send(b"\x00\xff\xfe\x80 OK\r\n".to_vec())],
        ),
        ("OKAY", line("OKAY paths=0\r\n")),
    ]
}

/// Checks one hostile reply to `get_paths`: a typed error of the expected kind, the connection
/// it came on closed by the client, and the next request answered correctly.
async fn check_get_paths(name: &str, hostile: Vec<Act>, expect: Expect) {
    let t = tracker_with(hostile).await;
    let client = tracker_client(&t);
    let err = client
        .get_paths(GetPaths::new("d", "k"))
        .await
        .expect_err(name);
    assert_eq!(kind(&err), Some(expect), "{name}: {}", chain(&err));
    t.request_conn_closed(0).await;
    // The pool is consistent and the next request reads its own reply.
    let paths = client.get_paths(GetPaths::new("d", "k")).await.unwrap();
    assert_eq!(paths.len(), 1, "{name}");
    assert!(paths[0].as_str().ends_with("0000000001.fid"), "{name}");
    let status = client.status();
    for ep in &status.endpoints {
        assert!(ep.open <= ep.max_size, "{name}: {ep:?}");
    }
}

#[tokio::test]
async fn garbage_lines_are_protocol_errors_and_the_connection_is_dropped() {
    watch_panics();
    for (name, hostile) in garbage_lines() {
        check_get_paths(name, hostile, Expect::Protocol).await;
    }
    assert_no_library_panics();
}

#[tokio::test]
async fn an_endless_reply_line_is_cut_at_the_limit() {
    watch_panics();
    let t = tracker_with(vec![Act::SendEndless(vec![b'y'; 64 * 1024])]).await;
    let client = tracker_client(&t);
    let err = client.get_paths(GetPaths::new("d", "k")).await.unwrap_err();
    assert_eq!(kind(&err), Some(Expect::Protocol), "{}", chain(&err));
    t.request_conn_closed(0).await;
    // The client stopped reading near the limit: what the peer got rid of is the client's
    // buffer plus the kernel's socket buffers, nowhere near "without limit".
    let written = t.bytes_written();
    assert!(written < 64 * 1024 * 1024, "peer wrote {written} bytes");
    assert_no_library_panics();
}

#[tokio::test]
async fn ok_lines_with_missing_or_absurd_fields_are_decode_errors() {
    watch_panics();
    for (name, reply) in [
        ("no paths field", "OK foo=bar\r\n"),
        ("no fields at all", "OK\r\n"),
        ("non-numeric count", "OK paths=abc\r\n"),
        ("negative count", "OK paths=-1\r\n"),
        ("count overflows u64", "OK paths=18446744073709551616\r\n"),
        ("a million paths, none given", "OK paths=1000000\r\n"),
        (
            "a million paths, one given",
            "OK paths=1000000&path1=http://127.0.0.1:1/dev1/x.fid\r\n",
        ),
        (
            "a path missing",
            "OK paths=2&path1=http://127.0.0.1:1/dev1/x.fid\r\n",
        ),
    ] {
        check_get_paths(name, line(reply), Expect::Decode).await;
    }
    assert_no_library_panics();
}

#[tokio::test]
async fn replies_for_another_callid_are_desyncs() {
    watch_panics();
    check_get_paths(
        "foreign callid",
        line("OK paths=0&callid=987654321\r\n"),
        Expect::Desync,
    )
    .await;
    check_get_paths(
        "empty callid",
        line("OK paths=0&callid=\r\n"),
        Expect::Desync,
    )
    .await;
    assert_no_library_panics();
}

/// A stale reply: the tracker answers request 1 with request 0's `callid`, as a tracker that
/// answered late would.
#[tokio::test]
async fn a_stale_reply_for_the_previous_request_is_a_desync() {
    watch_panics();
    let previous = std::sync::Mutex::new(None::<String>);
    let t = HostileTracker::start(move |req| {
        if req.command == "noop" {
            return vec![];
        }
        let mut prev = previous.lock().unwrap();
        let acts = match (req.index, prev.as_deref()) {
            (1, Some(old)) => line(&format!("OK paths=0&callid={old}\r\n")),
            _ => honest(req),
        };
        *prev = req.callid.clone();
        acts
    })
    .await;
    let client = tracker_client(&t);
    client.get_paths(GetPaths::new("d", "k")).await.unwrap();
    let err = client.get_paths(GetPaths::new("d", "k")).await.unwrap_err();
    assert_eq!(kind(&err), Some(Expect::Desync), "{}", chain(&err));
    t.request_conn_closed(1).await;
    assert_eq!(
        client
            .get_paths(GetPaths::new("d", "k"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_no_library_panics();
}

/// Invariant 4 on the tracker connection: an extra line after a reply (the 2.73 rename bug's
/// stray `OK`, or a smuggled answer) is never read as the answer to the next request.
#[tokio::test]
async fn a_stray_line_after_a_reply_never_answers_the_next_request() {
    watch_panics();
    let t = HostileTracker::start(|req| match (req.command.as_str(), req.index) {
        ("noop", _) => vec![],
        (_, 0) => {
            let mut acts = honest(req);
            // What the next request would expect, had it been sent on this connection.
            let next: u64 = req.callid.as_deref().unwrap().parse::<u64>().unwrap() + 1;
            acts.push(Act::Send(
                format!("OK paths=1&path1=http://evil.invalid/x&callid={next}\r\n").into_bytes(),
            ));
            acts
        }
        _ => honest(req),
    })
    .await;
    let client = tracker_client(&t);
    client.get_paths(GetPaths::new("d", "k")).await.unwrap();
    for _ in 0..5 {
        let paths = client.get_paths(GetPaths::new("d", "k")).await.unwrap();
        assert!(
            paths.iter().all(|p| !p.as_str().contains("evil")),
            "smuggled reply read: {paths:?}"
        );
    }
    t.request_conn_closed(0).await;
    assert_no_library_panics();
}

#[tokio::test]
async fn bad_create_open_and_file_info_replies_are_decode_errors() {
    watch_panics();
    for (name, reply) in [
        ("no devid or path", "OK fid=5\r\n"),
        (
            "non-numeric fid",
            "OK fid=abc&devid=1&path=http://127.0.0.1:1/x.fid\r\n",
        ),
        (
            "non-numeric devid",
            "OK fid=5&devid=one&path=http://127.0.0.1:1/x.fid\r\n",
        ),
        ("a million destinations", "OK dev_count=1000000&fid=5\r\n"),
        (
            "dev_count with a garbled devid",
            "OK dev_count=1&fid=5&devid_1=x&path_1=http://127.0.0.1:1/x.fid\r\n",
        ),
        (
            "dev_count overflow",
            "OK dev_count=99999999999999999999&fid=5\r\n",
        ),
    ] {
        let t = tracker_with(line(reply)).await;
        let client = tracker_client(&t);
        let err = client
            .create_open(CreateOpen::new("d").key("k"))
            .await
            .unwrap_err();
        assert_eq!(kind(&err), Some(Expect::Decode), "{name}: {}", chain(&err));
        t.request_conn_closed(0).await;
    }
    for (name, reply) in [
        (
            "no length",
            "OK fid=5&domain=d&key=k&class=default&devcount=1\r\n",
        ),
        (
            "non-numeric length",
            "OK fid=5&domain=d&key=k&class=default&devcount=1&length=12a\r\n",
        ),
        (
            "negative length",
            "OK fid=5&domain=d&key=k&class=default&devcount=1&length=-3\r\n",
        ),
        (
            "garbled devids",
            "OK fid=5&domain=d&key=k&class=default&devcount=1&length=3&devids=1,x\r\n",
        ),
    ] {
        let t = tracker_with(line(reply)).await;
        let client = tracker_client(&t);
        let err = client.file_info(FileInfo::new("d", "k")).await.unwrap_err();
        assert_eq!(kind(&err), Some(Expect::Decode), "{name}: {}", chain(&err));
        t.request_conn_closed(0).await;
        let info = client.file_info(FileInfo::new("d", "k")).await.unwrap();
        assert_eq!(info.length, 3, "{name}");
    }
    assert_no_library_panics();
}

/// A mutating command that gets garbage does not know whether it ran: outcome unknown, not
/// retried, and the connection is dropped.
#[tokio::test]
async fn garbage_after_a_mutation_is_outcome_unknown_and_not_retried() {
    watch_panics();
    for (name, hostile) in garbage_lines() {
        let t = tracker_with(hostile).await;
        let client = TrackerClient::builder()
            .trackers([t.addr()])
            .config(TrackerConfig {
                file_timeout: Duration::from_secs(5),
                max_reply_line: LINE_LIMIT,
                ..TrackerConfig::default()
            })
            .build()
            .unwrap();
        let err = client.delete(Delete::new("d", "k")).await.unwrap_err();
        assert!(err.outcome_unknown(), "{name}: {}", chain(&err));
        assert_eq!(
            kind(&err),
            Some(Expect::Protocol),
            "{name}: {}",
            chain(&err)
        );
        t.request_conn_closed(0).await;
        let deletes = t
            .lines()
            .iter()
            .filter(|l| l.starts_with(b"delete "))
            .count();
        assert_eq!(deletes, 1, "{name}: a mutation was retried");
        client.delete(Delete::new("d", "k")).await.unwrap();
    }
    assert_no_library_panics();
}

/// A tracker that reads the request and then closes, or never answers: a read is retried on
/// another attempt, a mutation is outcome unknown; either way the connection is gone and the
/// client keeps working.
#[tokio::test]
async fn a_tracker_that_closes_or_hangs_after_the_request() {
    watch_panics();
    for hostile in [Act::Close, Act::Hang] {
        let t = tracker_with(vec![hostile.clone()]).await;
        let client = TrackerClient::builder()
            .trackers([t.addr()])
            .config(TrackerConfig {
                file_timeout: Duration::from_millis(500),
                retry_budget: Some(1),
                ..TrackerConfig::default()
            })
            .build()
            .unwrap();
        let err = client.delete(Delete::new("d", "k")).await.unwrap_err();
        assert!(err.outcome_unknown(), "{hostile:?}: {}", chain(&err));
        t.request_conn_closed(0).await;
        client.delete(Delete::new("d", "k")).await.unwrap();
    }
    assert_no_library_panics();
}

/// Invariant 5: a burst of requests against a tracker that never answers keeps the client within
/// its pool size (sampled while the burst runs), and the tracker never sees more than that plus
/// the one probe and the closes still in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_tracker_cannot_grow_the_connection_count() {
    watch_panics();
    const POOL: usize = 3;
    let t = HostileTracker::start(|req| match req.command.as_str() {
        "noop" => vec![],
        _ => vec![Act::Hang],
    })
    .await;
    let client = TrackerClient::builder()
        .trackers([t.addr()])
        .config(TrackerConfig {
            file_timeout: Duration::from_millis(200),
            retry_budget: Some(1),
            pool: PoolSettings {
                max_size: POOL,
                wait_timeout: Duration::from_secs(20),
                ..PoolSettings::default()
            },
            ..TrackerConfig::default()
        })
        .build()
        .unwrap();
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..18 {
        let client = client.clone();
        burst.spawn(async move { client.get_paths(GetPaths::new("d", format!("k{i}"))).await });
    }
    let mut samples = 0;
    while !burst.is_empty() {
        tokio::select! {
            done = burst.join_next() => {
                let err = done.unwrap().unwrap().unwrap_err();
                assert!(err.is_timeout(), "{}", chain(&err));
            }
            () = tokio::task::yield_now() => {
                for ep in client.status().endpoints {
                    assert!(ep.open <= POOL && ep.in_use <= POOL, "{ep:?}");
                }
                samples += 1;
            }
        }
    }
    assert!(samples > 0);
    let seen = t.counts();
    assert!(seen.accepted >= 18 / POOL as u64, "{seen:?}");
    assert!(seen.max_open <= 2 * POOL as u64 + 1, "{seen:?}");
    assert_no_library_panics();
}

/// Once a tracker has echoed a `callid` on a connection, a reply without one on that connection
/// is out of step (it may be a stray line meant for nobody).
#[tokio::test]
async fn a_missing_echo_after_an_echo_is_a_desync() {
    watch_panics();
    let t = HostileTracker::start(|req| match (req.command.as_str(), req.index) {
        ("noop", _) => vec![],
        (_, 1) => line("OK paths=0\r\n"),
        _ => honest(req),
    })
    .await;
    let client = tracker_client(&t);
    client.get_paths(GetPaths::new("d", "k")).await.unwrap();
    let err = client.get_paths(GetPaths::new("d", "k")).await.unwrap_err();
    assert_eq!(kind(&err), Some(Expect::Desync), "{}", chain(&err));
    t.request_conn_closed(1).await;
    assert_eq!(
        client
            .get_paths(GetPaths::new("d", "k"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_no_library_panics();
}
