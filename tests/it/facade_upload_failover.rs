//! Upload failover: destinations that refuse, fail or stall; restarts with a new `create_open`;
//! never a `create_close` for a failed attempt; a lost close reconciled with `file_info`.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use mogile_testkit::storage::{Fault as NodeFault, FaultRule};
use mogile_testkit::tracker::{Fault, FaultAction};
use mogile_tests::{DOMAIN, Harness, pattern};
use mogilefs::{ClientConfig, Error, PutOptions};

/// Stores with the first destination (device 1) failing as `h` was set up to.
async fn first_destination_fails(h: Harness) {
    let client = h.client();
    let data = pattern(300_000);
    let r = client.put("k", data.clone()).await.unwrap();
    // The file landed on the next destination, and only there.
    assert_eq!(r.devid.0, 2);
    assert_eq!(r.attempts, 1);
    assert_eq!(h.replicas("k").1, vec![2]);
    let on_disk = std::fs::read(h.cluster.replica_file("k", 2).unwrap()).unwrap();
    assert!(on_disk == data);
    assert_eq!(h.tracker().requests("create_open"), 1);
    assert_eq!(h.tracker().requests("create_close"), 1);
    assert_eq!(client.get_bytes("k").await.unwrap(), data);
}

/// A client that makes a single store attempt: nothing is left to store a body again with.
fn one_attempt(h: &Harness) -> mogilefs::Client {
    h.builder()
        .config(ClientConfig {
            upload_attempts: 1,
            ..Harness::config()
        })
        .build()
        .unwrap()
}

/// Injects `fault` on the next `create_close` only.
fn next_close(h: &Harness, fault: Fault) {
    h.tracker().inject(fault.command("create_close").times(1));
}

#[tokio::test]
async fn refused_destination_fails_over() {
    let h = Harness::start(3).await;
    h.node(1).set_refusing(true);
    first_destination_fails(h).await;
}

#[tokio::test]
async fn destination_answering_500_fails_over() {
    let h = Harness::start(3).await;
    h.fault(1, Method::PUT, NodeFault::Status(500));
    first_destination_fails(h).await;
}

#[tokio::test]
async fn stalled_destination_fails_over() {
    // The stall is detected by the storage response timeout (2 s in the harness): real time.
    let h = Harness::start(3).await;
    h.fault(1, Method::PUT, NodeFault::StallBeforeHeaders);
    first_destination_fails(h).await;
}

#[tokio::test]
async fn one_shot_body_fails_over_before_its_first_byte() {
    let h = Harness::start(2).await;
    let client = h.client();
    // The first destination's node is down: the connection is refused before the stream was read, so the stream can go to the next destination. (A node that accepts and then
    // resets may already have taken the first chunk: that case is `one_shot_body_with_spooling...`.)
    h.cluster.kill_node(0).unwrap();
    let data = pattern(10_000);
    let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(data.clone())]);
    let r = client
        .put_stream("s", stream, Some(10_000), &PutOptions::new())
        .await
        .unwrap();
    assert_eq!(r.devid.0, 2);
    assert_eq!(client.get_bytes("s").await.unwrap(), data);
}

#[tokio::test]
async fn one_shot_body_with_spooling_survives_a_mid_body_failure() {
    let h = Harness::start(2).await;
    let client = h.client();
    // The first node reads the whole body and then fails: a plain one-shot body would be lost.
    h.fault(1, Method::PUT, NodeFault::Status(500));
    let data = pattern(200_000);
    let chunks = || {
        let v: Vec<std::io::Result<Bytes>> = data
            .chunks(1000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(v)
    };
    let err = client
        .put_stream("plain", chunks(), None, &PutOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err:?}");
    assert_eq!(h.tracker().requests("create_close"), 0);
    assert!(h.model().file(DOMAIN, "plain").is_none());

    let r = client
        .put_stream("spooled", chunks(), None, &PutOptions::new().spool(true))
        .await
        .unwrap();
    assert_eq!(r.devid.0, 2);
    assert_eq!(client.get_bytes("spooled").await.unwrap(), data);
}

#[tokio::test]
async fn every_destination_failing_restarts_then_gives_a_typed_error_and_never_closes() {
    let h = Harness::start(3).await;
    let client = h.client();
    client.put("k", &b"old content"[..]).await.unwrap();
    let closes_before = h.tracker().requests("create_close");
    for devid in 1..=3 {
        h.fault(devid, Method::PUT, NodeFault::Status(500));
    }
    let err = client.put("k", pattern(5000)).await.unwrap_err();
    let Error::NoUsablePath { attempts, .. } = &err else {
        panic!("expected NoUsablePath, got {err:?}");
    };
    // Two attempts (the default upload_attempts), three destinations each.
    assert_eq!(attempts.len(), 6);
    assert_eq!(h.tracker().requests("create_open"), 1 + 2);
    assert_eq!(h.tracker().requests("create_close"), closes_before);
    // Nothing half-written became visible: the key keeps its previous content.
    assert_eq!(client.get_bytes("k").await.unwrap(), &b"old content"[..]);
}

#[tokio::test]
async fn close_rejected_for_size_verification_restarts_with_a_new_create_open() {
    let h = Harness::start(2).await;
    let client = h.client();
    // The tracker's size check (a HEAD on the stored file) fails once: it answers
    // size_verify_error and deletes the upload, so the client starts over with a new create_open.
    h.node(1).inject(
        FaultRule::new(NodeFault::Status(404))
            .method(Method::HEAD)
            .times(1),
    );
    let data = pattern(4096);
    let r = client.put("k", data.clone()).await.unwrap();
    assert_eq!(r.attempts, 2);
    assert_eq!(h.tracker().requests("create_open"), 2);
    assert_eq!(h.tracker().requests("create_close"), 2);
    assert_eq!(client.get_bytes("k").await.unwrap(), data);
}

#[tokio::test]
async fn upload_attempts_is_a_budget() {
    let h = Harness::start(1).await;
    let client = one_attempt(&h);
    h.node(1)
        .inject(FaultRule::new(NodeFault::Status(404)).method(Method::HEAD));
    let err = client.put("k", pattern(100)).await.unwrap_err();
    assert!(matches!(err, Error::UploadRejected { .. }), "{err:?}");
    assert_eq!(err.code().map(|c| c.as_str()), Some("size_verify_error"));
    assert_eq!(h.tracker().requests("create_open"), 1);
}

#[tokio::test]
async fn lost_close_reply_is_reconciled_to_ok_when_it_committed() {
    let h = Harness::start(1).await;
    let client = h.client();
    next_close(&h, Fault::new(FaultAction::Drop).execute(true));
    let r = client.put("k", &b"committed"[..]).await.unwrap();
    assert_eq!(h.replicas("k").0, r.fid.0);
    assert_eq!(h.tracker().requests("file_info"), 1);
    assert_eq!(client.get_bytes("k").await.unwrap(), &b"committed"[..]);
}

#[tokio::test]
async fn lost_close_reply_that_did_not_commit_is_stored_again() {
    let h = Harness::start(1).await;
    let client = h.client();
    next_close(&h, Fault::new(FaultAction::Drop).execute(false));
    // The key is missing after the close in doubt: the replayable body is stored again.
    let r = client.put("k", &b"lost"[..]).await.unwrap();
    assert_eq!(r.attempts, 2);
    assert_eq!(h.replicas("k").0, r.fid.0);
    assert_eq!(h.tracker().requests("create_close"), 2);
    assert_eq!(client.get_bytes("k").await.unwrap(), &b"lost"[..]);
}

#[tokio::test]
async fn lost_close_reply_is_outcome_unknown_when_it_did_not_commit_and_no_attempt_is_left() {
    let h = Harness::start(1).await;
    let client = one_attempt(&h);
    next_close(&h, Fault::new(FaultAction::Drop).execute(false));
    let err = client.put("k", &b"lost"[..]).await.unwrap_err();
    let Error::OutcomeUnknown { fid, .. } = &err else {
        panic!("expected OutcomeUnknown, got {err:?}");
    };
    assert!(fid.0 > 0);
    assert!(err.is_outcome_unknown());
    assert!(h.model().file(DOMAIN, "k").is_none());
}

/// `ERR no_temp_file` as the tracker writes it, echoing callid 2: a fresh client's second request
/// (create_open is 1, create_close is 2).
const NO_TEMP_FILE: &[u8] = b"ERR no_temp_file No+tempfile+or+file+already+closed 2\r\n";

#[tokio::test]
async fn no_temp_file_after_a_committed_close_is_reconciled() {
    let h = Harness::start(1).await;
    let client = h.client();
    // The tracker re-ran the close after a worker died: it committed, then answered no_temp_file.
    next_close(
        &h,
        Fault::new(FaultAction::Garbage(NO_TEMP_FILE.to_vec())).execute(true),
    );
    let r = client.put("k", &b"twice"[..]).await.unwrap();
    assert_eq!(h.replicas("k").0, r.fid.0);
    assert_eq!(h.tracker().requests("file_info"), 1);
}

#[tokio::test]
async fn no_temp_file_without_a_commit_is_outcome_unknown_even_on_the_first_attempt() {
    let h = Harness::start(1).await;
    // One attempt: nothing left to store the body again with.
    let client = one_attempt(&h);
    next_close(&h, Fault::new(FaultAction::Garbage(NO_TEMP_FILE.to_vec())));
    let err = client.put("k", &b"lost"[..]).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.code().map(|c| c.as_str()), Some("no_temp_file"));
    // Never a definite failure, and never a second close.
    assert_eq!(h.tracker().requests("create_close"), 1);
}

#[tokio::test]
async fn no_devices_is_retried_with_backoff_then_reported() {
    let h = Harness::start(1).await;
    let client = h
        .builder()
        .config(ClientConfig {
            no_devices_retries: 2,
            no_devices_backoff: Duration::from_millis(5),
            ..Harness::config()
        })
        .build()
        .unwrap();
    h.model()
        .set_device_state(1, mogile_testkit::tracker::DeviceState::Readonly)
        .unwrap();
    let err = client.put("k", &b"x"[..]).await.unwrap_err();
    assert!(matches!(err, Error::NoWritableDevices { .. }), "{err:?}");
    assert_eq!(h.tracker().requests("create_open"), 3);
}

#[tokio::test]
async fn dropped_writer_commits_nothing() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"previous"[..]).await.unwrap();
    let mut w = client.writer("k", None, PutOptions::new()).unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut w, b"partial")
        .await
        .unwrap();
    w.abort();
    // The body ended without finish(): the upload can only fail, so no close is ever sent.
    assert_eq!(client.get_bytes("k").await.unwrap(), &b"previous"[..]);
    assert_eq!(h.tracker().requests("create_close"), 1);
}

#[tokio::test]
async fn writer_of_known_length_commits_only_on_finish() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"previous"[..]).await.unwrap();
    let data = pattern(1000);
    for finish in [false, true] {
        let mut w = client.writer("k", Some(1000), PutOptions::new()).unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut w, &data)
            .await
            .unwrap();
        // Every declared byte is written. (The body's last chunk is held back until the writer's
        // stream ends, which only `finish` does, so the PUT cannot even complete before it.)
        // Every task (node, tracker, upload) on this runtime gets plenty of turns.
        for _ in 0..2000 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            h.tracker().requests("create_close"),
            1,
            "closed before finish"
        );
        if finish {
            assert_eq!(w.finish().await.unwrap().size, 1000);
        } else {
            drop(w);
            assert_eq!(client.get_bytes("k").await.unwrap(), &b"previous"[..]);
        }
    }
    assert_eq!(h.tracker().requests("create_close"), 2);
    assert!(client.get_bytes("k").await.unwrap() == data);
}

#[tokio::test]
async fn writer_never_commits_a_body_that_differs_from_its_declared_length() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"previous"[..]).await.unwrap();

    // More than declared: the write that would pass the length is refused, and finish does
    // not commit the declared prefix.
    let mut w = client.writer("k", Some(4), PutOptions::new()).unwrap();
    let err = tokio::io::AsyncWriteExt::write_all(&mut w, b"too long")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(matches!(w.finish().await.unwrap_err(), Error::Io { .. }));

    // Fewer than declared: finish refuses and nothing is committed.
    let mut w = client.writer("k", Some(100), PutOptions::new()).unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut w, b"short")
        .await
        .unwrap();
    assert!(matches!(w.finish().await.unwrap_err(), Error::Io { .. }));

    assert_eq!(h.tracker().requests("create_close"), 1);
    assert_eq!(client.get_bytes("k").await.unwrap(), &b"previous"[..]);
}

#[tokio::test]
async fn md5_is_computed_while_streaming_and_sent_with_the_close() {
    let h = Harness::start(1).await;
    let client = h.client();
    let r = client
        .put_opts(
            "m",
            &b"hello world"[..],
            &PutOptions::new().class("md5").md5(true),
        )
        .await
        .unwrap();
    assert_eq!(
        r.checksum.unwrap().to_string(),
        "MD5:5eb63bbbe01eeed093cb22bb8f5acdc3"
    );
    let rec = h.model().file(DOMAIN, "m").unwrap();
    assert_eq!(
        rec.checksum.as_deref(),
        Some("MD5:5eb63bbbe01eeed093cb22bb8f5acdc3")
    );
}

#[derive(Default)]
struct Seen {
    bytes: std::sync::atomic::AtomicU64,
    restarts: std::sync::atomic::AtomicU64,
}

impl mogilefs::Progress for Seen {
    fn on_bytes(&self, chunk: &[u8]) {
        self.bytes
            .fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::SeqCst);
    }
    fn on_restart(&self) {
        self.restarts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn md5_covers_only_the_resend_when_a_node_refuses_a_chunked_body() {
    let h = Harness::start(1).await;
    let client = h.client();
    // Like old nginx: 411 to a chunked body. The storage client resends it from a spool with a
    // length, on the same destination; the MD5 and the progress must start over with it.
    h.node(1).inject(
        FaultRule::new(NodeFault::Status(411))
            .method(Method::PUT)
            .times(1),
    );
    let data = pattern(100_000);
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(4096)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let seen = std::sync::Arc::new(Seen::default());
    let opts = PutOptions::new()
        .class(mogile_tests::MD5_CLASS)
        .md5(true)
        .progress(seen.clone());
    let r = client
        .put_stream("m", futures::stream::iter(chunks), None, &opts)
        .await
        .unwrap();
    let puts = h.requests(1, Method::PUT);
    assert_eq!(puts.len(), 2);
    assert!(puts[0].is_chunked() && puts[1].content_length() == Some(100_000));
    let reference = client
        .put_opts("ref", data.clone(), &PutOptions::new().md5(true))
        .await
        .unwrap();
    assert_eq!(r.checksum, reference.checksum);
    assert_eq!(seen.restarts.load(std::sync::atomic::Ordering::SeqCst), 1);
    // What the resend sent (the first, refused try may have sent any part of it before).
    assert!(seen.bytes.load(std::sync::atomic::Ordering::SeqCst) >= 100_000);
    let got = client
        .get_opts("m", &mogilefs::GetOptions::new().verify_checksum(true))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got == data);
}

#[tokio::test]
async fn uploads_outliving_the_restart_deadline_restart_instead_of_closing() {
    let h = Harness::start(1).await;
    // Every upload takes longer than a nanosecond: each attempt restarts, none is closed.
    let client = h
        .builder()
        .config(ClientConfig {
            restart_after: Duration::from_nanos(1),
            ..Harness::config()
        })
        .build()
        .unwrap();
    let err = client.put("k", &b"slow"[..]).await.unwrap_err();
    assert!(matches!(err, Error::UploadTooSlow { .. }), "{err:?}");
    assert_eq!(h.tracker().requests("create_open"), 2);
    assert_eq!(h.tracker().requests("create_close"), 0);
}

#[tokio::test]
async fn the_zone_goes_on_create_open_create_close_and_get_paths() {
    let h = Harness::start(1).await;
    let client = h
        .builder()
        .config(ClientConfig {
            zone: Some("alt".into()),
            ..Harness::config()
        })
        .build()
        .unwrap();
    client.put("z", &b"zoned"[..]).await.unwrap();
    assert_eq!(client.get_bytes("z").await.unwrap(), &b"zoned"[..]);
    let lines: Vec<String> = h
        .tracker()
        .wire_log()
        .iter()
        .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
        .collect();
    for cmd in ["create_open ", "create_close ", "get_paths "] {
        let line = lines.iter().find(|l| l.starts_with(cmd)).unwrap();
        assert!(line.contains("zone=alt"), "{line}");
    }
}

/// A tracker that dies inside `create_close` after deleting the key's old fid and before writing
/// the new row leaves the key with no content (issue 12, defect 3). A replayable body is stored
/// again: the old content is gone anyway, and the caller asked for the new one.
#[tokio::test]
async fn a_close_that_dies_mid_commit_is_stored_again() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"old content"[..]).await.unwrap();
    next_close(&h, Fault::new(FaultAction::DieMidClose));
    let r = client.put("k", &b"new content"[..]).await.unwrap();
    assert_eq!(r.attempts, 2);
    assert_eq!(h.replicas("k").0, r.fid.0);
    assert_eq!(client.get_bytes("k").await.unwrap(), &b"new content"[..]);
    // The reconcile saw the key missing before the second attempt.
    assert_eq!(h.tracker().requests("file_info"), 2);
}

/// The same death, with a one-shot body that was spooled: it is replayable, so it is repaired.
#[tokio::test]
async fn a_close_that_dies_mid_commit_is_repaired_for_a_spooled_stream() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"old content"[..]).await.unwrap();
    next_close(&h, Fault::new(FaultAction::DieMidClose));
    let data = pattern(100_000);
    let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(data.clone())]);
    let r = client
        .put_stream("k", stream, None, &PutOptions::new().spool(true))
        .await
        .unwrap();
    assert_eq!(r.attempts, 2);
    assert_eq!(client.get_bytes("k").await.unwrap(), data);
}

/// A one-shot body that was not spooled cannot be sent again: the store ends in
/// `OutcomeUnknown`, and, as its docs say, the key may then hold nothing at all.
#[tokio::test]
async fn a_close_that_dies_mid_commit_with_a_one_shot_body_is_outcome_unknown_and_the_key_is_gone()
{
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"old content"[..]).await.unwrap();
    let closes = h.tracker().requests("create_close");
    next_close(&h, Fault::new(FaultAction::DieMidClose));
    let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(
        b"new content",
    ))]);
    let err = client
        .put_stream("k", stream, None, &PutOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(client.file_info("k").await.unwrap_err().is_not_found());
    assert!(!h.committed("k"));
    assert_eq!(h.tracker().requests("create_close"), closes + 1);
}

/// With no attempt left, a replayable body ends the same way: `OutcomeUnknown`, key gone.
#[tokio::test]
async fn a_close_that_dies_mid_commit_on_the_last_attempt_is_outcome_unknown() {
    let h = Harness::start(1).await;
    let client = one_attempt(&h);
    client.put("k", &b"old content"[..]).await.unwrap();
    next_close(&h, Fault::new(FaultAction::DieMidClose));
    let err = client.put("k", &b"new content"[..]).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(!h.committed("k"));
}

/// Codes from the stretch after the commit point are reconciled, not reported as a definite
/// failure: `fid_exists` means the key already points at our fid (issue 12, defect 3).
#[tokio::test]
async fn a_close_answered_with_a_late_code_is_reconciled() {
    for code in ["fid_exists", "failure", "dup", "plugin_aborted"] {
        let h = Harness::start(1).await;
        let client = h.client();
        // The close commits, then the answer is the late code (callid 2: create_open was 1).
        let reply = format!("ERR {code} {code} 2\r\n").into_bytes();
        next_close(&h, Fault::new(FaultAction::Garbage(reply)).execute(true));
        let r = client.put("k", &b"committed"[..]).await.unwrap();
        assert_eq!(r.attempts, 1, "{code}");
        assert_eq!(h.replicas("k").0, r.fid.0, "{code}");
        assert_eq!(h.tracker().requests("file_info"), 1, "{code}");
    }
}
