//! The fake tracker's replies read back through `mogile-protocol`'s typed commands, with the exact
//! request bytes the tracker received.

#[path = "tracker_common.rs"]
mod common;

use bytes::BytesMut;
use common::{Cluster, Conn};
use mogile_protocol::{
    ChecksumState, Command, CreateClose, CreateOpen, Delete, DevId, Fid, FileDebug, FileInfo,
    GetDevices, GetDomains, GetHosts, GetPaths, ListFids, ListKeys, Noop, Rename, ReplyError,
    Response, ServerSettings, UpdateFileClass,
};

/// Sends a typed command and parses the reply; returns the exact bytes sent too.
async fn call<C: Command>(conn: &mut Conn, cmd: &C) -> (Result<C::Output, ReplyError>, Vec<u8>) {
    let mut buf = BytesMut::new();
    cmd.request().encode(&mut buf);
    conn.send(&buf).await;
    let line = conn.line().await.expect("a reply");
    let reply = Response::decode_line(&line).expect("a well-formed reply");
    (C::parse_reply(reply), buf.to_vec())
}

#[tokio::test]
async fn typed_file_commands_round_trip() {
    // devices 2 and 3: with device 1 on host 1 the upstream `not_on_hosts` bug could drop it
    let c = Cluster::start(&[2, 3]).await;
    let mut t = c.conn().await;
    let (open, sent) = call(
        &mut t,
        &CreateOpen::new("testdom")
            .key("typed/a")
            .class("c2")
            .multi_dest(true),
    )
    .await;
    let open = open.unwrap();
    assert_eq!(
        sent,
        b"create_open domain=testdom&key=typed/a&class=c2&multi_dest=1\r\n"
    );
    assert_eq!(open.destinations.len(), 2, "one per alive device");
    let dest = &open.destinations[0];
    c.storage.put(dest.path.as_str(), b"typed body");
    let close = CreateClose::new("testdom", open.fid, dest.devid, dest.path.clone())
        .key("typed/a")
        .size(10);
    let (closed, sent) = call(&mut t, &close).await;
    closed.unwrap();
    assert_eq!(c.tracker.wire_log().last().unwrap().bytes, sent);

    let (paths, _) = call(&mut t, &GetPaths::new("testdom", "typed/a")).await;
    assert_eq!(paths.unwrap(), vec![dest.path.clone()]);
    let (info, _) = call(&mut t, &FileInfo::new("testdom", "typed/a").devices(true)).await;
    let info = info.unwrap();
    assert_eq!(
        (info.fid, info.length, info.class.as_str(), info.devcount),
        (open.fid, 10, "c2", 1)
    );
    assert_eq!(info.devids, Some(vec![dest.devid]));
    assert_eq!(info.checksum, None::<ChecksumState>);
    let (debug, _) = call(&mut t, &FileDebug::by_fid(open.fid)).await;
    assert_eq!(debug.unwrap().devids().unwrap(), vec![dest.devid]);

    let (page, _) = call(&mut t, &ListKeys::new("testdom").prefix("typed/")).await;
    let page = page.unwrap();
    assert_eq!(page.keys.len(), 1);
    let (empty, _) = call(&mut t, &ListKeys::new("testdom").prefix("nothing/")).await;
    assert!(
        empty.unwrap().keys.is_empty(),
        "none_match is an empty page"
    );
    let (fids, _) = call(&mut t, &ListFids::new().from(Fid(0)).count(10)).await;
    assert_eq!(fids.unwrap().len(), 1);

    call(
        &mut t,
        &UpdateFileClass::new("testdom", "typed/a", "default"),
    )
    .await
    .0
    .unwrap();
    call(&mut t, &Rename::new("testdom", "typed/a", "typed/b"))
        .await
        .0
        .unwrap();
    call(&mut t, &Delete::new("testdom", "typed/b"))
        .await
        .0
        .unwrap();
    let (gone, _) = call(&mut t, &Delete::new("testdom", "typed/b")).await;
    match gone {
        Err(ReplyError::Tracker(e)) => assert_eq!(e.code.as_str(), "unknown_key"),
        other => panic!("expected unknown_key, got {other:?}"),
    }
    call(&mut t, &Noop::new()).await.0.unwrap();
}

#[tokio::test]
async fn typed_admin_listings_parse() {
    let c = Cluster::start(&[1, 2]).await;
    c.model
        .create_class("testdom", "hashed", 1, Some("MD5"))
        .unwrap();
    let mut t = c.conn().await;
    let (domains, sent) = call(&mut t, &GetDomains::new()).await;
    assert_eq!(c.tracker.received(1), sent);
    let domains = domains.unwrap();
    assert_eq!(domains.len(), 1);
    let mut classes: Vec<(&str, u32)> = domains[0]
        .classes
        .iter()
        .map(|c| (c.name.as_str(), c.mindevcount))
        .collect();
    classes.sort_unstable();
    assert_eq!(classes, [("c2", 2), ("default", 2), ("hashed", 1)]);
    let (hosts, _) = call(&mut t, &GetHosts::new()).await;
    let hosts = hosts.unwrap();
    assert_eq!(
        (hosts.len(), hosts[0].hostname.as_str(), hosts[0].http_port),
        (1, "storeA", Some(c.storage.addr.port()))
    );
    let (devices, _) = call(&mut t, &GetDevices::new()).await;
    let mut ids: Vec<DevId> = devices.unwrap().iter().map(|d| d.devid).collect();
    ids.sort_unstable();
    assert_eq!(ids, [DevId(1), DevId(2)]);
    let (settings, _) = call(&mut t, &ServerSettings::new()).await;
    assert_eq!(
        settings.unwrap(),
        vec![("schema_version".to_owned(), "17".to_owned())]
    );
}

#[tokio::test]
async fn multi_dest_copies_the_not_on_hosts_bug() {
    // Device 1 sits on host 1: once another device of host 1 is chosen, device 1 is rejected because
    // its DEVID equals a chosen host id; device 2 is never rejected (no host 2).
    let c = Cluster::start(&[1, 2]).await;
    let mut t = c.conn().await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let (open, _) = call(&mut t, &CreateOpen::new("testdom").multi_dest(true)).await;
        let devs: Vec<DevId> = open.unwrap().destinations.iter().map(|d| d.devid).collect();
        seen.insert(devs);
    }
    assert!(
        seen.iter()
            .all(|d| d == &[DevId(2)] || d == &[DevId(1), DevId(2)]),
        "{seen:?}"
    );
}

#[tokio::test]
async fn files_inserted_into_the_model_are_served() {
    let c = Cluster::start(&[1, 2]).await;
    let fid = c
        .model
        .insert_file("testdom", "direct", Some("c2"), 42, &[2, 1])
        .unwrap();
    let mut t = c.conn().await;
    let (paths, _) = call(&mut t, &GetPaths::new("testdom", "direct").noverify(true)).await;
    let mut paths: Vec<String> = paths
        .unwrap()
        .into_iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    paths.sort();
    assert_eq!(paths, vec![c.url(1, fid), c.url(2, fid)]);
    let (info, _) = call(&mut t, &FileInfo::new("testdom", "direct")).await;
    assert_eq!(info.unwrap().length, 42);
    assert!(c.model.insert_file("nope", "k", None, 1, &[1]).is_err());
    assert!(c.model.insert_file("testdom", "k", None, 1, &[9]).is_err());
}
