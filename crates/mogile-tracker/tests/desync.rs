//! A late or foreign reply is never taken as the answer to another request.

mod common;

use std::time::Duration;

use mogile_protocol::{ServerSetting, SetServerSetting};
use mogile_testkit::tracker::{Fault, FaultAction};
use mogile_tracker::{TrackerConfig, TrackerError};

/// One attempt per request, so the fault is what the caller sees.
fn one_attempt() -> TrackerConfig {
    TrackerConfig {
        retry_budget: Some(1),
        ..common::config()
    }
}

#[tokio::test(start_paused = true)]
async fn a_reply_delayed_past_the_timeout_is_never_handed_to_the_next_request() {
    let model = common::model();
    let ts = common::trackers(&model, 1).await;
    let t = &ts[0];
    let client = common::builder(&[t])
        .config(TrackerConfig {
            admin_timeout: Duration::from_secs(1),
            ..one_attempt()
        })
        .build()
        .unwrap();
    let admin = client.admin();
    admin
        .set_server_setting(SetServerSetting::new("memcache_servers", "first"))
        .await
        .unwrap();

    t.inject(
        Fault::new(FaultAction::Delay(Duration::from_secs(2)))
            .command("server_setting")
            .times(1),
    );
    let late = admin
        .server_setting(ServerSetting::new("memcache_servers"))
        .await
        .unwrap_err();
    assert!(late.is_timeout(), "{late}");
    let TrackerError::RetriesExhausted { last, .. } = &late else {
        panic!("{late:?}")
    };
    assert!(matches!(
        **last,
        TrackerError::Timeout {
            request_sent: true,
            ..
        }
    ));

    // The next request, issued while the late reply is on its way, gets its own answer.
    let (key, value) = admin
        .server_setting(ServerSetting::new("schema_version"))
        .await
        .unwrap();
    assert_eq!((key.as_str(), value.as_str()), ("schema_version", "17"));
    // And after the late reply was written (to the dropped connection), still its own.
    // Paused clock: moves virtual time past the 2 s delay, so the late reply has been written.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (key, value) = admin
        .server_setting(ServerSetting::new("memcache_servers"))
        .await
        .unwrap();
    assert_eq!(
        (key.as_str(), value.as_str()),
        ("memcache_servers", "first")
    );

    let log = t.wire_log();
    let line = |callid: u64| {
        log.iter()
            .find(|l| l.bytes.ends_with(format!("callid={callid}\r\n").as_bytes()))
            .unwrap()
    };
    assert_eq!(
        line(2).bytes,
        b"server_setting key=memcache_servers&callid=2\r\n"
    );
    assert_eq!(
        line(3).bytes,
        b"server_setting key=schema_version&callid=3\r\n"
    );
    assert_ne!(
        line(2).connection,
        line(3).connection,
        "the timed-out connection was dropped"
    );
}

#[tokio::test(start_paused = true)]
async fn a_reply_with_another_callid_is_refused_and_the_connection_dropped() {
    let model = common::model();
    let ts = common::trackers(&model, 1).await;
    let t = &ts[0];
    let client = common::builder(&[t]).config(one_attempt()).build().unwrap();
    t.inject(
        Fault::new(FaultAction::Garbage(
            b"OK key=a&value=x&callid=999\r\n".to_vec(),
        ))
        .command("server_setting")
        .times(1),
    );
    let err = client
        .admin()
        .server_setting(ServerSetting::new("a"))
        .await
        .unwrap_err();
    let TrackerError::RetriesExhausted { last, .. } = &err else {
        panic!("{err:?}")
    };
    let TrackerError::Desync {
        expected, received, ..
    } = &**last
    else {
        panic!("{last:?}")
    };
    assert_eq!((expected.as_str(), received.as_deref()), ("1", Some("999")));
    // The next request runs on a new connection and gets its own answer.
    let (key, _) = client
        .admin()
        .server_setting(ServerSetting::new("schema_version"))
        .await
        .unwrap();
    assert_eq!(key, "schema_version");
    assert_eq!(common::request_connections(t).len(), 2, "probes aside");
}

#[tokio::test(start_paused = true)]
async fn garbage_and_over_long_replies_are_protocol_errors() {
    let model = common::model();
    let ts = common::trackers(&model, 1).await;
    let t = &ts[0];
    let client = common::builder(&[t])
        .config(TrackerConfig {
            max_reply_line: 1024,
            ..one_attempt()
        })
        .build()
        .unwrap();
    t.inject(
        Fault::new(FaultAction::Garbage(b"HELLO\r\n".to_vec()))
            .command("noop")
            .times(1),
    );
    t.inject(
        Fault::new(FaultAction::LongLine(64 * 1024))
            .command("noop")
            .times(1),
    );
    for _ in 0..2 {
        let err = client.noop(mogile_protocol::Noop::new()).await.unwrap_err();
        let TrackerError::RetriesExhausted { last, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(matches!(**last, TrackerError::Protocol { .. }), "{last:?}");
    }
    client.noop(mogile_protocol::Noop::new()).await.unwrap();
    assert_eq!(
        common::request_connections(t).len(),
        3,
        "each bad reply cost its connection"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stray_line_after_a_reply_is_never_read_as_the_next_reply() {
    let model = common::model();
    let ts = common::trackers(&model, 1).await;
    let t = &ts[0];
    let client = common::builder(&[t]).build().unwrap();
    // What the real tracker's rename bug produces: a correct reply, then an extra `OK`.
    t.inject(
        Fault::new(FaultAction::StrayLine(b"OK \r\n".to_vec()))
            .command("server_setting")
            .times(1),
    );
    let admin = client.admin();
    let (key, _) = admin
        .server_setting(ServerSetting::new("schema_version"))
        .await
        .unwrap();
    assert_eq!(key, "schema_version");
    // The stray `OK` would parse as an answer to this request: it must not be taken as one.
    let (key, value) = admin
        .server_setting(ServerSetting::new("schema_version"))
        .await
        .unwrap();
    assert_eq!((key.as_str(), value.as_str()), ("schema_version", "17"));
    assert_eq!(
        common::request_connections(t).len(),
        2,
        "the connection with the stray line was dropped"
    );
}

#[tokio::test(start_paused = true)]
async fn a_reply_without_callid_after_echoes_on_the_connection_is_out_of_step() {
    let model = common::model();
    let ts = common::trackers(&model, 1).await;
    let t = &ts[0];
    let client = common::builder(&[t]).config(one_attempt()).build().unwrap();
    client.noop(mogile_protocol::Noop::new()).await.unwrap();
    t.inject(
        Fault::new(FaultAction::Garbage(b"OK \r\n".to_vec()))
            .command("noop")
            .times(1),
    );
    let err = client.noop(mogile_protocol::Noop::new()).await.unwrap_err();
    let TrackerError::RetriesExhausted { last, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(&**last, TrackerError::Desync { received: None, expected, .. } if expected == "2"),
        "{last:?}"
    );
}
