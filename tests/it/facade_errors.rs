//! Semantic errors from the facade: missing keys, existing targets, unknown domains and classes.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use mogile_testkit::storage::{Fault as NodeFault, FaultRule};
use mogile_testkit::tracker::{DeviceState, Fault, FaultAction};
use mogile_tests::{DOMAIN, Harness, pattern};
use mogilefs::{ClientConfig, DeleteOptions, Error, ErrorCode, PutOptions};

#[tokio::test]
async fn rename_onto_an_existing_key_is_already_exists_and_changes_nothing() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("a", &b"content a"[..]).await.unwrap();
    client.put("b", &b"content b"[..]).await.unwrap();
    let err = client.rename("a", "b").await.unwrap_err();
    assert!(
        matches!(&err, Error::AlreadyExists { name, .. } if name == "b"),
        "{err:?}"
    );
    assert!(err.is_already_exists());
    assert_eq!(client.get_bytes("a").await.unwrap(), &b"content a"[..]);
    assert_eq!(client.get_bytes("b").await.unwrap(), &b"content b"[..]);

    client.rename("a", "c").await.unwrap();
    assert!(!client.exists("a").await.unwrap());
    assert_eq!(client.get_bytes("c").await.unwrap(), &b"content a"[..]);

    // Unlike the Perl client, renaming a missing key is an error.
    let err = client.rename("nope", "d").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn delete_of_a_missing_key_is_not_found_unless_asked_otherwise() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"x"[..]).await.unwrap();
    client.delete("k").await.unwrap();
    let err = client.delete("k").await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { key, .. } if key == "k"),
        "{err:?}"
    );
    // The tracker's answer stays reachable (it used to be dropped).
    assert_eq!(err.code(), Some(&ErrorCode::UnknownKey));
    assert!(std::error::Error::source(&err).is_some());
    client
        .delete_opts("k", &DeleteOptions::new().missing_ok(true))
        .await
        .unwrap();
    assert!(client.get_bytes("k").await.unwrap_err().is_not_found());
    assert!(client.file_info("k").await.unwrap_err().is_not_found());
    assert!(!client.exists("k").await.unwrap());
}

#[tokio::test]
async fn unknown_domain() {
    let h = Harness::start(1).await;
    let client = h.builder().domain("nosuchdomain").build().unwrap();
    for err in [
        client.put("k", &b"x"[..]).await.unwrap_err(),
        client.get_bytes("k").await.unwrap_err(),
        client.delete("k").await.unwrap_err(),
        client.list_keys(&Default::default()).await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::UnknownDomain { domain, .. } if domain == "nosuchdomain"),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn unknown_class() {
    let h = Harness::start(1).await;
    let client = h.client();
    let err = client
        .put_opts("k", &b"x"[..], &PutOptions::new().class("nosuchclass"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownClass { class, .. } if class == "nosuchclass"),
        "{err:?}"
    );
    assert_eq!(h.tracker().requests("create_close"), 0);

    client.put("k", &b"x"[..]).await.unwrap();
    let err = client.update_class("k", "nosuchclass").await.unwrap_err();
    assert!(matches!(err, Error::UnknownClass { .. }), "{err:?}");
    client.update_class("k", "c2").await.unwrap();
    assert_eq!(client.file_info("k").await.unwrap().class, "c2");
    let err = client.update_class("nope", "c2").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn paths_zero_is_no_usable_path_not_not_found() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"x"[..]).await.unwrap();
    let (fid, _) = h.replicas("k");
    h.model().remove_replica(fid, 1).unwrap();
    let err = client.get_bytes("k").await.unwrap_err();
    assert!(
        matches!(&err, Error::NoUsablePath { attempts, .. } if attempts.is_empty()),
        "{err:?}"
    );
    assert!(!err.is_not_found());
}

#[tokio::test]
async fn builder_validates() {
    let h = Harness::start(1).await;
    for b in [
        mogilefs::Client::builder().domain(DOMAIN),
        h.builder().domain(""),
        h.builder().config(ClientConfig {
            upload_attempts: 0,
            ..Harness::config()
        }),
        h.builder().config(ClientConfig {
            pathcount: 0,
            ..Harness::config()
        }),
        h.builder().config(ClientConfig {
            zone: Some(String::new()),
            ..Harness::config()
        }),
        mogilefs::Client::builder()
            .trackers(["not an address:x"])
            .domain(DOMAIN),
    ] {
        let err = b.build().unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
    }
    // A lower-level builder's refusal is the source, not repeated in the message.
    let err = mogilefs::Client::builder()
        .trackers(["not an address:x"])
        .domain(DOMAIN)
        .build()
        .unwrap_err();
    let source = std::error::Error::source(&err).expect("the tracker builder's error");
    assert!(!err.to_string().contains(&source.to_string()), "{err}");
}

#[tokio::test]
async fn file_debug_and_admin() {
    let h = Harness::start(2).await;
    let client = h.client();
    client.put("k", &b"x"[..]).await.unwrap();
    let dbg = client.file_debug("k").await.unwrap();
    assert_eq!(dbg.fid().unwrap().map(|f| f.0), Some(h.replicas("k").0));

    let admin = client.admin();
    admin.create_domain("d2").await.unwrap();
    assert!(
        admin
            .create_domain("d2")
            .await
            .unwrap_err()
            .is_already_exists()
    );
    admin
        .create_class(
            mogilefs::admin::CreateClass::new("d2", "hashed", 2)
                .hashtype(Some(mogilefs::HashType::Md5)),
        )
        .await
        .unwrap();
    let classes = admin.classes("d2").await.unwrap();
    assert!(
        classes
            .iter()
            .any(|c| c.name == "hashed" && c.hashtype == Some(mogilefs::HashType::Md5))
    );
    // `mindevcount` is required even on update.
    admin
        .update_class(mogilefs::admin::UpdateClass::new("d2", "hashed", 1))
        .await
        .unwrap();
    let class = admin
        .classes("d2")
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "hashed")
        .unwrap();
    assert_eq!(class.mindevcount, 1);
    assert!(matches!(
        admin.classes("nope").await,
        Err(Error::UnknownDomain { .. })
    ));
    assert_eq!(admin.hosts().await.unwrap().len(), 2);
    assert_eq!(admin.devices().await.unwrap().len(), 2);
    admin
        .set_server_setting("memcache_servers", "127.0.0.1:1")
        .await
        .unwrap();
    assert_eq!(
        admin
            .server_setting("memcache_servers")
            .await
            .unwrap()
            .as_deref(),
        Some("127.0.0.1:1")
    );
    let settings = admin.server_settings().await.unwrap();
    assert!(
        settings
            .iter()
            .any(|(k, v)| k == "memcache_servers" && v == "127.0.0.1:1"),
        "{settings:?}"
    );
    admin.delete_class("d2", "hashed").await.unwrap();
    admin.delete_domain("d2").await.unwrap();

    // Hosts and devices (2.73 has no device update or delete: state and weight instead).
    use mogilefs::admin::{CreateDevice, CreateHost, UpdateHost};
    let host = admin
        .create_host(CreateHost::new("node9", "127.0.0.9", 7500))
        .await
        .unwrap();
    assert_eq!(host.hostname, "node9");
    let err = admin
        .create_host(CreateHost::new("node9", "127.0.0.10", 7500))
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    admin
        .update_host(UpdateHost::new("node9").status("down"))
        .await
        .unwrap();
    admin
        .create_device(CreateDevice::new(mogilefs::DevId(99), "node9"))
        .await
        .unwrap();
    admin
        .set_device_state("node9", mogilefs::DevId(99), "down")
        .await
        .unwrap();
    admin
        .set_device_weight("node9", mogilefs::DevId(99), 50)
        .await
        .unwrap();
    let dev = admin
        .devices()
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.devid.0 == 99)
        .unwrap();
    assert_eq!((dev.status.as_str(), dev.weight), ("down", Some(50)));
    let err = admin.delete_host("node9").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.as_str()), Some("host_not_empty"));
    assert!(matches!(
        admin.delete_domain("d2").await,
        Err(Error::UnknownDomain { .. })
    ));
}

/// `updateclass` answers `no_devices` when the file has no replica at all: that is not the
/// cluster being full (as from `create_open`), and waiting does not change it.
#[tokio::test]
async fn update_class_of_a_file_without_replicas_is_a_tracker_error_not_no_writable_devices() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"x"[..]).await.unwrap();
    let (fid, _) = h.replicas("k");
    h.model().remove_replica(fid, 1).unwrap();
    let err = client.update_class("k", "c2").await.unwrap_err();
    assert!(matches!(err, Error::Tracker { .. }), "{err:?}");
    assert_eq!(err.code(), Some(&ErrorCode::NoDevices));
    assert!(!err.is_retryable());
}

/// A mutation whose reply was lost may have been applied: not blindly retryable.
#[tokio::test]
async fn a_rename_or_delete_whose_reply_was_lost_is_not_retryable() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("a", &b"content"[..]).await.unwrap();
    for command in ["rename", "delete"] {
        h.tracker().inject(
            Fault::new(FaultAction::Drop)
                .command(command)
                .execute(true)
                .times(1),
        );
    }
    let err = client.rename("a", "b").await.unwrap_err();
    assert!(
        matches!(&err, Error::Tracker { source } if source.outcome_unknown()),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    // It was applied: a blind retry would have answered "not found".
    assert!(client.exists("b").await.unwrap() && !client.exists("a").await.unwrap());

    let err = client.delete("b").await.unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    assert!(!client.exists("b").await.unwrap());
    // Sent once each: the client never resends a mutation whose outcome is unknown.
    assert_eq!(h.tracker().requests("rename"), 1);
    assert_eq!(h.tracker().requests("delete"), 1);
}

/// A read whose reply was lost is retried by the client itself (the command is safe to repeat);
/// when every attempt fails that way, the caller may retry too.
#[tokio::test]
async fn a_read_whose_replies_were_lost_is_retryable() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("k", &b"x"[..]).await.unwrap();
    h.tracker()
        .inject(Fault::new(FaultAction::Drop).command("file_info"));
    let err = client.file_info("k").await.unwrap_err();
    assert!(matches!(err, Error::Tracker { .. }), "{err:?}");
    assert!(err.is_retryable(), "{err:?}");
}

/// `no_devices` after the backoff: nothing was created, and devices may come back.
#[tokio::test]
async fn no_writable_devices_is_retryable() {
    let h = Harness::start(1).await;
    let client = h
        .builder()
        .config(ClientConfig {
            no_devices_retries: 0,
            no_devices_backoff: Duration::from_millis(1),
            ..Harness::config()
        })
        .build()
        .unwrap();
    h.model()
        .set_device_state(1, DeviceState::Readonly)
        .unwrap();
    let err = client.put("k", &b"x"[..]).await.unwrap_err();
    assert!(matches!(err, Error::NoWritableDevices { .. }), "{err:?}");
    assert_eq!(err.code(), Some(&ErrorCode::NoDevices));
    assert!(err.is_retryable());
    h.model().set_device_state(1, DeviceState::Alive).unwrap();
    client.put("k", &b"x"[..]).await.unwrap();
}

/// A one-shot body read by a node that then failed cannot fail over, but nothing was committed:
/// the same call with a fresh body is safe, and here succeeds. The caller's own body failing is
/// not retryable.
#[tokio::test]
async fn a_store_that_consumed_its_one_shot_body_is_retryable_with_a_fresh_body() {
    let h = Harness::start(2).await;
    let client = h.client();
    h.node(1).inject(
        FaultRule::new(NodeFault::Status(500))
            .method(Method::PUT)
            .times(1),
    );
    let data = pattern(100_000);
    let body = || {
        let chunks: Vec<std::io::Result<Bytes>> = data
            .chunks(1000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(chunks)
    };
    let err = client
        .put_stream("k", body(), None, &PutOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err:?}");
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(h.tracker().requests("create_close"), 0);
    client
        .put_stream("k", body(), None, &PutOptions::new())
        .await
        .unwrap();
    assert_eq!(client.get_bytes("k").await.unwrap(), data);

    let failing = futures::stream::iter(vec![
        Ok(Bytes::from_static(b"start")),
        Err(std::io::Error::other("the caller's reader failed")),
    ]);
    let err = client
        .put_stream("other", failing, None, &PutOptions::new())
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
}

/// A close the client never sent cannot have committed. It used to be reconciled like a lost
/// reply, which (with the client closed) ended in `OutcomeUnknown`.
#[tokio::test]
async fn a_store_whose_client_closed_before_the_close_is_closed_not_outcome_unknown() {
    let h = Harness::start(1).await;
    let client = h.client();
    let data = pattern(1 << 20);
    let mut w = client
        .writer("k", Some(data.len() as u64), PutOptions::new())
        .unwrap();
    // More than the writer's pipe holds: the upload is under way (create_open answered, the PUT
    // reading) once this returns. Its last chunk waits for `finish`.
    tokio::io::AsyncWriteExt::write_all(&mut w, &data)
        .await
        .unwrap();
    assert_eq!(h.tracker().requests("create_open"), 1);
    client.close().await;
    let err = w.finish().await.unwrap_err();
    assert!(matches!(err, Error::Closed), "{err:?}");
    assert!(!err.is_outcome_unknown() && !err.is_retryable());
    assert_eq!(h.tracker().requests("create_close"), 0);
    assert!(!h.committed("k"));
}
