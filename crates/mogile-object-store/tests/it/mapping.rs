//! Each row of the mapping table (crate docs), on the embedded cluster.

use std::sync::Arc;

use futures::TryStreamExt;
use mogile_object_store::{LAST_MODIFIED, MogileStore, TEMP_PREFIX};
use mogile_testkit::tracker::{Fault, FaultAction};
use object_store::path::Path;
use object_store::{
    Error, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, RenameOptions,
    RenameTargetMode,
};

use crate::support::Embedded;

async fn listed(store: &MogileStore, prefix: Option<&str>) -> Vec<String> {
    let prefix = prefix.map(Path::from);
    store
        .list(prefix.as_ref())
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap()
}

/// Keys written by other clients that are not valid `Path`s are skipped (and counted) by every
/// listing; temporary keys are hidden and not counted.
#[tokio::test]
async fn keys_that_are_not_paths_are_skipped_and_counted() {
    let e = Embedded::start().await;
    let client = e.store.client();
    for key in [
        &b"/lead"[..],
        b"trail/",
        b"a//b",
        b"x/./y",
        b"x/../y",
        b"ctl\x01",
        b"bad\xffutf8",
    ] {
        client.put(key, &b"x"[..]).await.unwrap();
    }
    client
        .put(format!("{TEMP_PREFIX}0123"), &b"t"[..])
        .await
        .unwrap();
    e.store.put(&Path::from("ok/1"), "1".into()).await.unwrap();

    assert_eq!(listed(&e.store, None).await, ["ok/1"]);
    assert_eq!(e.store.skipped_keys(), 7);

    let r = e.store.list_with_delimiter(None).await.unwrap();
    assert_eq!(r.common_prefixes, [Path::from("ok")]);
    assert!(r.objects.is_empty());
    assert_eq!(e.store.skipped_keys(), 14);
    e.shutdown().await;
}

/// The acceptance race: 8 tasks `put_opts(Create)` one path; exactly one wins, the others get
/// `AlreadyExists`, the object holds the winner's bytes, and no temporary key is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_creates_have_exactly_one_winner() {
    let e = Embedded::start().await;
    let store = Arc::new(e.store.clone());
    let path = Path::from("race/target");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, path) = (Arc::clone(&store), path.clone());
            tokio::spawn(async move {
                let body = format!("writer {i}");
                let r = store
                    .put_opts(&path, body.clone().into(), PutMode::Create.into())
                    .await;
                (body, r)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (body, Ok(_)) => winners.push(body),
            (_, Err(Error::AlreadyExists { .. })) => {}
            (_, Err(e)) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let got = store.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(got, winners[0].as_bytes());
    let temps: Vec<_> = e
        .cluster
        .model()
        .files()
        .into_iter()
        .filter(|f| f.key.starts_with(TEMP_PREFIX.as_bytes()))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
    e.shutdown().await;
}

/// A create whose `rename` reply is lost is reconciled with `file_info(target)`.
#[tokio::test]
async fn create_with_a_lost_rename_reply_is_reconciled() {
    let e = Embedded::start().await;
    let tracker = e.cluster.tracker(0).unwrap();
    tracker.inject(
        Fault::new(FaultAction::Drop)
            .command("rename")
            .times(1)
            .execute(true),
    );
    let path = Path::from("lost/reply");
    let put = e
        .store
        .put_opts(&path, "data".into(), PutMode::Create.into())
        .await
        .unwrap();
    let head = e.store.head(&path).await.unwrap();
    assert_eq!(head.e_tag, put.e_tag);
    assert_eq!(tracker.requests("rename"), 1);
    e.shutdown().await;
}

/// e-tag `"{fid}-{length}"`; the constant `last_modified`; `if_match` / `if_none_match` compare the
/// tag; date preconditions and versions are `NotSupported`; `Update`, tags and attributes are
/// `NotImplemented`.
#[tokio::test]
async fn etag_last_modified_and_preconditions() {
    let e = Embedded::start().await;
    let path = Path::from("meta/one");
    let put = e.store.put(&path, "12345".into()).await.unwrap();
    let fid = e.cluster.model().file("testdom", "meta/one").unwrap().fid;
    assert_eq!(put.e_tag.as_deref(), Some(format!("{fid}-5").as_str()));
    let head = e.store.head(&path).await.unwrap();
    assert_eq!(head.e_tag, put.e_tag);
    assert_eq!(head.last_modified, LAST_MODIFIED);
    assert_eq!(head.last_modified.timestamp(), 0);
    let listed: Vec<_> = e.store.list(None).try_collect().await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&head));

    let tag = put.e_tag.unwrap();
    let r = e.store.get_opts(
        &path,
        GetOptions::new().with_if_match(Some(format!("x, {tag}"))),
    );
    assert_eq!(r.await.unwrap().bytes().await.unwrap(), "12345");
    let r = e
        .store
        .get_opts(&path, GetOptions::new().with_if_none_match(Some(tag)));
    assert!(matches!(r.await, Err(Error::NotModified { .. })));
    let when = Some(LAST_MODIFIED);
    let r = e
        .store
        .get_opts(&path, GetOptions::new().with_if_modified_since(when));
    assert!(matches!(r.await, Err(Error::NotSupported { .. })));
    let r = e
        .store
        .get_opts(&path, GetOptions::new().with_if_unmodified_since(when));
    assert!(matches!(r.await, Err(Error::NotSupported { .. })));
    let r = e
        .store
        .get_opts(&path, GetOptions::new().with_version(Some("1")));
    assert!(matches!(r.await, Err(Error::NotSupported { .. })));

    let tags = object_store::TagSet::default();
    let mut with_tags = tags.clone();
    with_tags.push("k", "v");
    let r = e.store.put_opts(&path, "x".into(), with_tags.into()).await;
    assert!(matches!(r, Err(Error::NotImplemented { .. })));
    // Nothing was stored by the refused put.
    assert_eq!(
        e.store.get(&path).await.unwrap().bytes().await.unwrap(),
        "12345"
    );
    e.shutdown().await;
}

/// A suffix range is resolved with the file's length and sent as an explicit range.
#[tokio::test]
async fn suffix_ranges_go_out_as_explicit_ranges() {
    let e = Embedded::start().await;
    let path = Path::from("range/file");
    e.store.put(&path, "0123456789".into()).await.unwrap();
    let opts = GetOptions::new().with_range(Some(GetRange::Suffix(3)));
    let r = e.store.get_opts(&path, opts).await.unwrap();
    assert_eq!(r.range, 7..10);
    assert_eq!(r.bytes().await.unwrap(), "789");
    let ranges: Vec<String> = e.cluster.nodes()[0]
        .requests()
        .iter()
        .filter_map(|r| {
            r.headers
                .get("range")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(ranges, ["bytes=7-9"]);
    e.shutdown().await;
}

/// Overwriting rename of a missing source never deletes the target; an existing target is
/// replaced; a `Create` rename onto an existing target is `AlreadyExists`.
#[tokio::test]
async fn rename_overwrite_and_create() {
    let e = Embedded::start().await;
    let (a, b) = (Path::from("r/a"), Path::from("r/b"));
    e.store.put(&b, "target".into()).await.unwrap();
    let r = e.store.rename(&a, &b).await;
    assert!(matches!(r, Err(Error::NotFound { .. })));
    assert_eq!(
        e.store.get(&b).await.unwrap().bytes().await.unwrap(),
        "target"
    );

    e.store.put(&a, "source".into()).await.unwrap();
    let create = RenameOptions::new().with_target_mode(RenameTargetMode::Create);
    let r = e.store.rename_opts(&a, &b, create).await;
    assert!(matches!(r, Err(Error::AlreadyExists { .. })));
    // The refused create sent no colliding rename.
    assert_eq!(e.cluster.tracker(0).unwrap().requests("rename"), 0);

    let fid = e.cluster.model().file("testdom", "r/a").unwrap().fid;
    e.store.rename(&a, &b).await.unwrap();
    assert_eq!(
        e.store.get(&b).await.unwrap().bytes().await.unwrap(),
        "source"
    );
    // `rename` keeps the fid: the bytes are the same.
    assert_eq!(e.cluster.model().file("testdom", "r/b").unwrap().fid, fid);
    assert!(matches!(
        e.store.head(&a).await,
        Err(Error::NotFound { .. })
    ));
    e.shutdown().await;
}

/// A directory of 10,000 keys is skipped with `after` rather than paged through.
#[tokio::test]
async fn list_with_delimiter_skips_past_a_directory_of_ten_thousand_keys() {
    let e = Embedded::start().await;
    let model = e.cluster.model();
    let devid = e.cluster.devices()[0].devid;
    for i in 0..10_000 {
        model
            .insert_file("testdom", format!("big/{i:05}"), None, 1, &[devid])
            .unwrap();
    }
    for key in ["a", "big0", "z/x"] {
        model
            .insert_file("testdom", key, None, 1, &[devid])
            .unwrap();
    }
    let tracker = e.cluster.tracker(0).unwrap();
    tracker.clear_log();
    let r = e.store.list_with_delimiter(None).await.unwrap();
    assert_eq!(r.common_prefixes, [Path::from("big"), Path::from("z")]);
    let objects: Vec<_> = r.objects.iter().map(|m| m.location.to_string()).collect();
    assert_eq!(objects, ["a", "big0"]);
    // One page into `big/`, then one request past it (paging through would take 11).
    let pages = tracker.requests("list_keys");
    assert!(pages <= 3, "{pages} list_keys requests");
    e.shutdown().await;
}

/// `Display` names the trackers and the domain.
#[tokio::test]
async fn display_names_trackers_and_domain() {
    let e = Embedded::start().await;
    let addr = e.cluster.tracker_addrs().join(",");
    assert_eq!(e.store.to_string(), format!("MogileStore({addr}, testdom)"));
    e.shutdown().await;
}
