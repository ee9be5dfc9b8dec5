//! Each row of the mapping table (crate docs), on the embedded cluster.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use mogile_object_store::{LAST_MODIFIED, LIST_CONCURRENCY, MogileStore, TEMP_PREFIX};
use mogile_testkit::TestCluster;
use mogile_testkit::storage::{Fault as NodeFault, FaultRule};
use mogile_testkit::tracker::{Fault, FaultAction, FileRecord};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, Error, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode,
    RenameOptions, RenameTargetMode,
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

/// The race the 8-task test can only hit by chance, made certain: another client renames a file
/// onto the target after `Create`'s existence check and just before its rename (the fake
/// tracker's `Interleave` fault). The rename meets `key_exists`: the create is `AlreadyExists`,
/// the target holds the other client's bytes, and the temporary upload is deleted.
#[tokio::test]
async fn create_whose_target_appears_after_the_check_is_already_exists() {
    let e = Embedded::start().await;
    let tracker = e.cluster.tracker(0).unwrap();
    let path = Path::from("race/late");
    e.store
        .put(&Path::from("race/other"), "first".into())
        .await
        .unwrap();
    let domain = e.cluster.domain();
    tracker.inject(
        Fault::new(FaultAction::Interleave(
            format!("rename domain={domain}&from_key=race/other&to_key=race/late").into_bytes(),
        ))
        .command("rename")
        .times(1),
    );
    let r = e
        .store
        .put_opts(&path, "second".into(), PutMode::Create.into())
        .await;
    assert!(matches!(r, Err(Error::AlreadyExists { .. })), "{r:?}");
    // Two renames reached the tracker: the other client's, then the create's own.
    assert_eq!(tracker.requests("rename"), 2);
    assert_eq!(body(&e.store, &path).await, "first");
    assert_eq!(temp_files(&e.cluster), []);
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

/// A store over its own client on `cluster`: `checksum` is the client's checksum policy, `pool`
/// its connections per tracker, `class` the store's class.
fn store_on(
    cluster: &TestCluster,
    checksum: mogilefs::ChecksumPolicy,
    pool: usize,
    class: Option<&str>,
) -> MogileStore {
    let config = mogilefs::ClientConfig {
        checksum,
        ..Default::default()
    };
    let mut tracker = mogilefs::TrackerConfig::default();
    tracker.pool.max_size = pool;
    let client = mogilefs::Client::builder()
        .trackers(cluster.tracker_addrs())
        .domain(cluster.domain())
        .config(config)
        .tracker(tracker)
        .build()
        .unwrap();
    MogileStore::with_class(client, class.map(str::to_owned))
}

/// The files whose key is one of the store's temporary keys.
fn temp_files(cluster: &TestCluster) -> Vec<FileRecord> {
    cluster
        .model()
        .files()
        .into_iter()
        .filter(|f| f.key.starts_with(TEMP_PREFIX.as_bytes()))
        .collect()
}

async fn body(store: &MogileStore, path: &Path) -> bytes::Bytes {
    store.get(path).await.unwrap().bytes().await.unwrap()
}

/// In a class with `hashtype=MD5`, a file stored with its MD5 gets the e-tag
/// `"{fid}-{length}-MD5:{hex}"` from `put`, `head` and `list` alike, and `if_match` /
/// `if_none_match` compare the whole tag (the tag without its checksum does not match). Without
/// an MD5 from the client the tracker has none (`MISSING`) and the tag has no suffix.
#[tokio::test]
async fn md5_class_etag_carries_the_checksum_and_preconditions_compare_it() {
    let e = Embedded::start().await;
    let md5 = e.cluster.md5_class().to_owned();
    assert_eq!(md5, TestCluster::MD5_CLASS);
    let store = store_on(&e.cluster, mogilefs::ChecksumPolicy::Store, 8, Some(&md5));
    let path = Path::from("sum/hello");
    let put = store.put(&path, "hello".into()).await.unwrap();
    let rec = e.cluster.model().file("testdom", "sum/hello").unwrap();
    assert_eq!(rec.class, md5.as_bytes());
    assert_eq!(
        rec.checksum.as_deref(),
        Some("MD5:5d41402abc4b2a76b9719d911017c592")
    );
    let tag = format!("{}-5-MD5:5d41402abc4b2a76b9719d911017c592", rec.fid);
    assert_eq!(put.e_tag.as_deref(), Some(tag.as_str()));
    assert_eq!(
        store.head(&path).await.unwrap().e_tag.as_deref(),
        Some(&*tag)
    );
    let listed: Vec<_> = store
        .list(Some(&Path::from("sum")))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].e_tag.as_deref(), Some(&*tag));

    let bare = format!("{}-5", rec.fid);
    let get = |opts: GetOptions| store.get_opts(&path, opts);
    let r = get(GetOptions::new().with_if_match(Some(tag.clone())));
    assert_eq!(r.await.unwrap().bytes().await.unwrap(), "hello");
    let r = get(GetOptions::new().with_if_match(Some(bare.clone())));
    assert!(matches!(r.await, Err(Error::Precondition { .. })));
    let r = get(GetOptions::new().with_if_none_match(Some(tag.clone())));
    assert!(matches!(r.await, Err(Error::NotModified { .. })));
    let r = get(GetOptions::new().with_if_none_match(Some(bare)));
    assert_eq!(r.await.unwrap().bytes().await.unwrap(), "hello");

    // `Create` goes through a temporary key and a rename: same tag shape, same as `head`.
    let created = Path::from("sum/created");
    let put = store
        .put_opts(&created, "hello".into(), PutMode::Create.into())
        .await
        .unwrap();
    let fid = e
        .cluster
        .model()
        .file("testdom", "sum/created")
        .unwrap()
        .fid;
    let tag = format!("{fid}-5-MD5:5d41402abc4b2a76b9719d911017c592");
    assert_eq!(put.e_tag.as_deref(), Some(tag.as_str()));
    assert_eq!(store.head(&created).await.unwrap().e_tag, put.e_tag);

    // A multipart upload streams through the same MD5: `complete` reports `head`'s tag.
    let streamed = Path::from("sum/streamed");
    let mut up = store.put_multipart(&streamed).await.unwrap();
    up.put_part("hel".into()).await.unwrap();
    up.put_part("lo".into()).await.unwrap();
    let put = up.complete().await.unwrap();
    let fid = e
        .cluster
        .model()
        .file("testdom", "sum/streamed")
        .unwrap()
        .fid;
    let tag = format!("{fid}-5-MD5:5d41402abc4b2a76b9719d911017c592");
    assert_eq!(put.e_tag.as_deref(), Some(tag.as_str()));
    assert_eq!(store.head(&streamed).await.unwrap().e_tag, put.e_tag);

    // The same class without an MD5 from the client: the tracker's checksum is MISSING.
    let plain = store_on(&e.cluster, mogilefs::ChecksumPolicy::Off, 8, Some(&md5));
    let path = Path::from("sum/unsummed");
    let put = plain.put(&path, "hello".into()).await.unwrap();
    let rec = e.cluster.model().file("testdom", "sum/unsummed").unwrap();
    assert_eq!(rec.checksum, None);
    let tag = format!("{}-5", rec.fid);
    assert_eq!(put.e_tag.as_deref(), Some(tag.as_str()));
    assert_eq!(plain.head(&path).await.unwrap().e_tag, put.e_tag);
    plain.client().close().await;
    store.client().close().await;
    e.shutdown().await;
}

/// A `rename_opts` whose reply is lost after the tracker executed it is reconciled with
/// `file_info(target)` (the source's fid there means success), in overwrite mode (over an
/// existing target) and in create mode.
#[tokio::test]
async fn rename_with_a_lost_reply_is_reconciled_in_both_modes() {
    let e = Embedded::start().await;
    let tracker = e.cluster.tracker(0).unwrap();
    let (a, b, c) = (Path::from("lr/a"), Path::from("lr/b"), Path::from("lr/c"));
    e.store.put(&a, "source".into()).await.unwrap();
    e.store.put(&b, "old target".into()).await.unwrap();
    let fid = e.cluster.model().file("testdom", "lr/a").unwrap().fid;

    let lose_one_reply = || {
        tracker.inject(
            Fault::new(FaultAction::Drop)
                .command("rename")
                .times(1)
                .execute(true),
        );
    };
    lose_one_reply();
    e.store.rename(&a, &b).await.unwrap();
    assert_eq!(body(&e.store, &b).await, "source");
    assert_eq!(e.cluster.model().file("testdom", "lr/b").unwrap().fid, fid);
    assert!(matches!(
        e.store.head(&a).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(tracker.requests("rename"), 1);

    lose_one_reply();
    e.store.rename_if_not_exists(&b, &c).await.unwrap();
    assert_eq!(body(&e.store, &c).await, "source");
    assert_eq!(e.cluster.model().file("testdom", "lr/c").unwrap().fid, fid);
    assert!(matches!(
        e.store.head(&b).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(tracker.requests("rename"), 2);
    e.shutdown().await;
}

/// A lost `rename` reply for a rename the tracker never ran is not taken for success: the error
/// is reported, the source keeps its bytes and the target stays absent.
#[tokio::test]
async fn rename_whose_lost_reply_hides_no_rename_fails() {
    let e = Embedded::start().await;
    let tracker = e.cluster.tracker(0).unwrap();
    let (a, b) = (Path::from("nr/a"), Path::from("nr/b"));
    e.store.put(&a, "source".into()).await.unwrap();
    tracker.inject(
        Fault::new(FaultAction::Drop)
            .command("rename")
            .times(1)
            .execute(false),
    );
    let r = e.store.rename_if_not_exists(&a, &b).await;
    assert!(r.is_err(), "{r:?}");
    assert!(!matches!(r, Err(Error::AlreadyExists { .. })), "{r:?}");
    assert_eq!(body(&e.store, &a).await, "source");
    assert!(matches!(
        e.store.head(&b).await,
        Err(Error::NotFound { .. })
    ));
    e.shutdown().await;
}

/// A `Create` whose temporary upload fails (every storage `PUT` answers 500) reports the error,
/// leaves no temporary key and no target.
#[tokio::test]
async fn create_whose_upload_fails_leaves_no_temporary_key() {
    let e = Embedded::start().await;
    e.cluster.nodes()[0].inject(FaultRule::new(NodeFault::Status(500)));
    let path = Path::from("fail/upload");
    let r = e
        .store
        .put_opts(&path, "data".into(), PutMode::Create.into())
        .await;
    assert!(r.is_err(), "{r:?}");
    e.cluster.nodes()[0].clear_faults();
    assert_eq!(temp_files(&e.cluster), []);
    assert!(e.cluster.model().files().is_empty());
    assert!(matches!(
        e.store.head(&path).await,
        Err(Error::NotFound { .. })
    ));
    e.shutdown().await;
}

/// A `Create` whose rename fails after the temporary upload committed (the reply lost unrun, or
/// an error other than `key_exists`) deletes its temporary key and leaves the target absent.
#[tokio::test]
async fn create_whose_rename_fails_deletes_its_temporary_key() {
    let e = Embedded::start().await;
    let tracker = e.cluster.tracker(0).unwrap();
    let path = Path::from("fail/rename");
    for action in [
        FaultAction::Drop,
        FaultAction::Garbage(b"ERR db_error database+gone\r\n".to_vec()),
    ] {
        tracker.inject(
            Fault::new(action.clone())
                .command("rename")
                .times(1)
                .execute(false),
        );
        let r = e
            .store
            .put_opts(&path, "data".into(), PutMode::Create.into())
            .await;
        assert!(r.is_err(), "{action:?}: {r:?}");
        assert!(!matches!(r, Err(Error::AlreadyExists { .. })), "{r:?}");
        assert_eq!(temp_files(&e.cluster), [], "{action:?}");
        assert!(e.cluster.model().files().is_empty(), "{action:?}");
        assert!(matches!(
            e.store.head(&path).await,
            Err(Error::NotFound { .. })
        ));
    }
    assert_eq!(tracker.requests("rename"), 2);
    // A later create goes through.
    e.store
        .put_opts(&path, "data".into(), PutMode::Create.into())
        .await
        .unwrap();
    assert_eq!(body(&e.store, &path).await, "data");
    assert_eq!(temp_files(&e.cluster), []);
    e.shutdown().await;
}

/// A listing of 100 keys sends 100 `file_info` requests, concurrently but never more than
/// [`LIST_CONCURRENCY`] at once. The fake tracker has no in-flight counter; the proxy used is the
/// number of distinct connections that carried a `file_info`: with a pool far larger than the
/// bound, the client opens a new connection only when every open one is busy, so the number of
/// connections is the highest concurrency reached. Each `file_info` is delayed (a fault
/// parameter, not a synchronisation) so that the requests overlap.
#[tokio::test]
async fn listing_runs_file_info_concurrently_within_the_bound() {
    let e = Embedded::start().await;
    let model = e.cluster.model();
    let devid = e.cluster.devices()[0].devid;
    for i in 0..100 {
        model
            .insert_file("testdom", format!("many/{i:03}"), None, 7, &[devid])
            .unwrap();
    }
    let store = store_on(&e.cluster, mogilefs::ChecksumPolicy::Off, 64, None);
    let tracker = e.cluster.tracker(0).unwrap();
    tracker.inject(Fault::new(FaultAction::Delay(Duration::from_millis(20))).command("file_info"));
    tracker.clear_log();
    let metas: Vec<_> = store
        .list(Some(&Path::from("many")))
        .try_collect()
        .await
        .unwrap();
    tracker.clear_faults();
    let names: Vec<_> = metas.iter().map(|m| m.location.to_string()).collect();
    let want: Vec<_> = (0..100).map(|i| format!("many/{i:03}")).collect();
    assert_eq!(names, want, "in key order");
    assert!(metas.iter().all(|m| m.size == 7));
    assert_eq!(tracker.requests("file_info"), 100);
    let conns: BTreeSet<u64> = tracker
        .wire_log()
        .iter()
        .filter(|l| l.bytes.starts_with(b"file_info "))
        .map(|l| l.connection)
        .collect();
    assert!(
        (2..=LIST_CONCURRENCY).contains(&conns.len()),
        "{} connections carried file_info",
        conns.len()
    );
    store.client().close().await;
    e.shutdown().await;
}

/// `copy_opts` in create mode: onto an existing target it is `AlreadyExists` and changes nothing
/// (no upload starts); onto an absent target it copies the bytes under a new fid.
#[tokio::test]
async fn copy_in_create_mode() {
    let e = Embedded::start().await;
    let tracker = e.cluster.tracker(0).unwrap();
    let (a, b, c) = (Path::from("cp/a"), Path::from("cp/b"), Path::from("cp/c"));
    e.store.put(&a, "source bytes".into()).await.unwrap();
    e.store.put(&b, "target".into()).await.unwrap();
    let before = e.cluster.model().files();
    let opens = tracker.requests("create_open");
    let create = || CopyOptions::new().with_mode(CopyMode::Create);

    let r = e.store.copy_opts(&a, &b, create()).await;
    assert!(matches!(r, Err(Error::AlreadyExists { .. })), "{r:?}");
    assert_eq!(e.cluster.model().files(), before);
    assert_eq!(tracker.requests("create_open"), opens);
    assert_eq!(body(&e.store, &b).await, "target");

    e.store.copy_opts(&a, &c, create()).await.unwrap();
    assert_eq!(body(&e.store, &c).await, "source bytes");
    assert_eq!(body(&e.store, &a).await, "source bytes");
    let model = e.cluster.model();
    let (fa, fc) = (
        model.file("testdom", "cp/a").unwrap(),
        model.file("testdom", "cp/c").unwrap(),
    );
    assert_ne!(fa.fid, fc.fid);
    assert_eq!(fc.length, 12);
    assert_eq!(temp_files(&e.cluster), []);
    e.shutdown().await;
}

/// Multipart: the parts are written in the order `put_part` was called even when their futures
/// are awaited in another order, and `complete` commits them (with the e-tag `head` reports).
#[tokio::test]
async fn multipart_parts_keep_call_order_and_complete_commits() {
    let e = Embedded::start().await;
    let path = Path::from("mp/ordered");
    let mut up = e.store.put_multipart(&path).await.unwrap();
    let p1 = up.put_part("first-".into());
    let p2 = up.put_part("second-".into());
    let p3 = up.put_part("third".into());
    p3.await.unwrap();
    p1.await.unwrap();
    p2.await.unwrap();
    // Nothing is visible before `complete`.
    assert!(matches!(
        e.store.head(&path).await,
        Err(Error::NotFound { .. })
    ));
    let put = up.complete().await.unwrap();
    assert_eq!(body(&e.store, &path).await, "first-second-third");
    assert_eq!(e.store.head(&path).await.unwrap().e_tag, put.e_tag);
    e.shutdown().await;
}

/// Multipart: `abort` after parts were written commits nothing; the key keeps its old content
/// and fid, and no other file appears.
#[tokio::test]
async fn multipart_abort_commits_nothing() {
    let e = Embedded::start().await;
    let path = Path::from("mp/kept");
    let old = e.store.put(&path, "old content".into()).await.unwrap();
    let before = e.cluster.model().files();
    let mut up = e.store.put_multipart(&path).await.unwrap();
    up.put_part("new ".into()).await.unwrap();
    up.put_part("content".into()).await.unwrap();
    up.abort().await.unwrap();
    assert_eq!(body(&e.store, &path).await, "old content");
    assert_eq!(e.store.head(&path).await.unwrap().e_tag, old.e_tag);
    assert_eq!(e.cluster.model().files(), before);
    assert_eq!(e.cluster.tracker(0).unwrap().requests("create_close"), 1);
    e.shutdown().await;
}
