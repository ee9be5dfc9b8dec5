//! The engine against `TestCluster`, temporary directories and object_store's `InMemory`.
//!
//! Every peer is a task of the test's own runtime; nothing waits on time.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use mogile_testkit::TestCluster;
use mogile_testkit::data::bytes;
use mogilefs::Client;
use object_store::memory::InMemory;
use object_store::path::Path as StorePath;

use super::engine::{self, Options, Summary};
use super::filter::Filter;
use super::local::LocalSide;
use super::mogile::MogileSide;
use super::report::Reporter;
use super::side::Side;
use super::store::StoreSide;

type Tree = BTreeMap<Vec<u8>, Vec<u8>>;

async fn cluster() -> TestCluster {
    TestCluster::builder()
        .trackers(1)
        .storage_nodes(2)
        .devices_per_node(2)
        .start()
        .await
        .unwrap()
}

fn client(cluster: &TestCluster, domain: &str) -> Client {
    Client::builder()
        .trackers(cluster.tracker_addrs())
        .domain(domain)
        .build()
        .unwrap()
}

fn mogile(cluster: &TestCluster, domain: &str, prefix: &str) -> Side {
    Side::Mogile(MogileSide::new(
        client(cluster, domain),
        prefix.as_bytes().to_vec(),
    ))
}

fn local(dir: &Path) -> Side {
    Side::Local(LocalSide::new(dir.to_path_buf()))
}

/// The tree of the issue: nested folders, empty files, awkward names, 1,000 small files and a
/// few large ones (one above the size gathered in memory, so it is spooled).
fn awkward_tree() -> Tree {
    let mut t = Tree::new();
    for (i, name) in [
        "with space.txt",
        "50%.bin",
        "a+b&c=d.txt",
        "caf\u{e9}/\u{1f408} cat.jpg",
        "deep/er/and/deeper/leaf",
        "empty",
        "dir/empty too",
        "UPPER/lower",
    ]
    .iter()
    .enumerate()
    {
        let len = if name.contains("empty") { 0 } else { 100 + i };
        t.insert(name.as_bytes().to_vec(), bytes(len, i as u64));
    }
    for i in 0..1_000u64 {
        t.insert(
            format!("small/{:02}/{i}", i % 17).into_bytes(),
            bytes(64 + (i as usize % 200), i),
        );
    }
    t.insert(b"large/a".to_vec(), bytes(3 << 20, 7));
    t.insert(b"large/b".to_vec(), bytes(9 << 20, 8));
    t
}

fn write_tree(dir: &Path, tree: &Tree) {
    use std::os::unix::ffi::OsStrExt;
    for (k, v) in tree {
        let p = dir.join(std::ffi::OsStr::from_bytes(k));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, v).unwrap();
    }
}

/// Every file under `dir`; fails on any leftover temporary file of the atomic writer.
fn read_tree(dir: &Path) -> Tree {
    use std::os::unix::ffi::OsStrExt;
    let mut t = Tree::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().as_bytes();
            assert!(
                !(name.starts_with(b".") && name.ends_with(b".part")),
                "a temporary file was left behind: {}",
                p.display()
            );
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().as_os_str().as_bytes().to_vec();
                t.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    t
}

async fn read_domain(c: &Client, prefix: &str) -> Tree {
    let keys: Vec<_> = c.keys(prefix).try_collect().await.unwrap();
    let mut t = Tree::new();
    for k in keys {
        let body = c.get_bytes(k.clone()).await.unwrap();
        t.insert(k.as_bytes()[prefix.len()..].to_vec(), body.to_vec());
    }
    t
}

async fn run(src: &Side, dst: &Side, opts: &Options) -> (Summary, Reporter<'static>) {
    let mut r = Reporter::recording();
    let s = engine::run(src, dst, opts, &mut r).await;
    (s, r)
}

fn ok(s: &Summary, r: &Reporter<'_>) {
    assert!(
        s.failed == 0 && s.aborted.is_none() && s.deletes_refused.is_none(),
        "{s:?} {:?}",
        r.failures
    );
}

/// A tree into a domain and back out: equal byte for byte; a second run copies nothing.
#[tokio::test]
async fn directory_to_mogilefs_and_back() {
    let cluster = cluster().await;
    let tree = awkward_tree();
    let (a, b_parent) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The destination directory does not exist yet.
    let b = b_parent.path().join("new/backup");
    write_tree(a.path(), &tree);
    let opts = Options::default();
    let up = mogile(&cluster, "testdom", "backup/");

    let (s, r) = run(&local(a.path()), &up, &opts).await;
    ok(&s, &r);
    assert_eq!(
        (s.copied, s.listed_source),
        (tree.len() as u64, tree.len() as u64)
    );
    let total: usize = tree.values().map(Vec::len).sum();
    assert_eq!(s.bytes, total as u64);
    assert_eq!(
        read_domain(&client(&cluster, "testdom"), "backup/").await,
        tree
    );

    let (s, r) = run(&up, &local(&b), &opts).await;
    ok(&s, &r);
    assert_eq!(s.copied, tree.len() as u64);
    assert_eq!(read_tree(&b), tree);

    // Idempotence, both ways: nothing copied, everything identical.
    for (src, dst) in [(local(a.path()), &up), (up_clone(&cluster), &local(&b))] {
        let (s, r) = run(&src, dst, &opts).await;
        ok(&s, &r);
        assert_eq!((s.copied, s.identical, s.bytes), (0, tree.len() as u64, 0));
    }
    cluster.shutdown().await;
}

fn up_clone(cluster: &TestCluster) -> Side {
    mogile(cluster, "testdom", "backup/")
}

/// Between two domains of one cluster, and between two clusters, classes are kept (and
/// `--class` overrides them).
#[tokio::test]
async fn mogilefs_to_mogilefs_keeps_classes() {
    let one = cluster().await;
    let two = cluster().await;
    let c1 = client(&one, "testdom");
    let admin = c1.admin();
    admin.create_domain("other").await.unwrap();
    for class in ["c2", "md5"] {
        admin
            .create_class(mogilefs::admin::CreateClass::new("other", class, 1))
            .await
            .unwrap();
    }
    let md5 = mogilefs::PutOptions::new().class("md5").md5(true);
    c1.put_opts(
        "k/plain",
        bytes(1000, 1),
        &mogilefs::PutOptions::new().class("c2"),
    )
    .await
    .unwrap();
    c1.put_opts("k/hashed", bytes(2000, 2), &md5).await.unwrap();
    c1.put("k/default", bytes(10, 3)).await.unwrap();

    let src = mogile(&one, "testdom", "k/");
    for (dst_cluster, domain) in [(&one, "other"), (&two, "testdom")] {
        let dst = mogile(dst_cluster, domain, "copy/");
        let (s, r) = run(&src, &dst, &Options::default()).await;
        ok(&s, &r);
        assert_eq!(s.copied, 3);
        let dc = client(dst_cluster, domain);
        for (key, class) in [("plain", "c2"), ("hashed", "md5"), ("default", "default")] {
            let info = dc.file_info(format!("copy/{key}")).await.unwrap();
            assert_eq!(info.class, class, "{domain}: {key}");
        }
        assert_eq!(
            read_domain(&dc, "copy/").await,
            read_domain(&c1, "k/").await
        );
        // `--checksum` compares the stored MD5 of `hashed` and hashes the others: all equal.
        let checksum = Options {
            checksum: true,
            ..Options::default()
        };
        let (s, r) = run(&src, &dst, &checksum).await;
        ok(&s, &r);
        assert_eq!((s.copied, s.identical), (0, 3));
    }
    // `--class` wins over the source's class.
    let dst = mogile(&two, "testdom", "forced/");
    let opts = Options {
        class: Some("md5".into()),
        ..Options::default()
    };
    let (s, r) = run(&src, &dst, &opts).await;
    ok(&s, &r);
    let info = client(&two, "testdom")
        .file_info("forced/plain")
        .await
        .unwrap();
    assert_eq!(info.class, "md5");
    one.shutdown().await;
    two.shutdown().await;
}

/// `--checksum` catches a same-size change that the size comparison misses.
#[tokio::test]
async fn checksum_catches_a_same_size_change() {
    let cluster = cluster().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(a.path().join("f"), b"version 1").unwrap();
    let (src, dst) = (local(a.path()), local(b.path()));
    let (s, _) = run(&src, &dst, &Options::default()).await;
    assert_eq!(s.copied, 1);
    std::fs::write(a.path().join("f"), b"version 2").unwrap();
    let (s, _) = run(&src, &dst, &Options::default()).await;
    assert_eq!(
        (s.copied, s.identical),
        (0, 1),
        "same size: missed without --checksum"
    );
    let opts = Options {
        checksum: true,
        ..Options::default()
    };
    let (s, r) = run(&src, &dst, &opts).await;
    ok(&s, &r);
    assert_eq!(s.copied, 1);
    assert_eq!(std::fs::read(b.path().join("f")).unwrap(), b"version 2");
    cluster.shutdown().await;
}

/// A sync cancelled in the middle (the future dropped with transfers in flight), then rerun,
/// ends identical with no temporary file and no partial key anywhere.
#[tokio::test]
async fn a_cancelled_sync_resumes() {
    let cluster = cluster().await;
    let mut tree = Tree::new();
    for i in 0..60u64 {
        tree.insert(
            format!("f/{i}").into_bytes(),
            bytes(200_000 + i as usize, i),
        );
    }
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(a.path(), &tree);
    let up = mogile(&cluster, "testdom", "r/");
    for (src, dst, back) in [
        (local(a.path()), &up, false),
        (mogile(&cluster, "testdom", "r/"), &local(b.path()), true),
    ] {
        let notify = Arc::new(tokio::sync::Notify::new());
        let mut opts = Options::default();
        opts.hooks.cancel_after = Some((20, Arc::clone(&notify)));
        tokio::select! {
            _ = run(&src, dst, &opts) => panic!("the sync ended before it was cancelled"),
            () = notify.notified() => {}
        }
        // Partway: some copied, not all.
        let partial = if back {
            read_tree(b.path())
        } else {
            read_domain(&client(&cluster, "testdom"), "r/").await
        };
        assert!(
            partial.len() >= 20 && partial.len() < tree.len(),
            "{}",
            partial.len()
        );
        for (k, v) in &partial {
            assert_eq!(
                tree.get(k),
                Some(v),
                "a partial file: {}",
                String::from_utf8_lossy(k)
            );
        }
        let (s, r) = run(&src, dst, &Options::default()).await;
        ok(&s, &r);
        assert_eq!(s.copied + s.identical, tree.len() as u64);
        assert!(s.identical >= 20);
    }
    assert_eq!(read_tree(b.path()), tree);
    cluster.shutdown().await;
}

/// Into an empty MogileFS prefix, copies start while the source is still being listed: the
/// listing holds after handing one entry to the copies until a copy is done (without early
/// copies it would never resume, and the timeout fails the test). Into a destination that has
/// keys, or a local directory, everything goes through the sorted merge.
#[tokio::test]
async fn into_an_empty_destination_copies_start_while_listing() {
    let cluster = cluster().await;
    let mut tree = Tree::new();
    for i in 0..50u64 {
        tree.insert(
            format!("e/{i:02}").into_bytes(),
            bytes(1000 + i as usize, i),
        );
    }
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(a.path(), &tree);
    let up = mogile(&cluster, "testdom", "early/");
    let mut opts = Options::default();
    opts.hooks.source_waits_for_destination = true;
    opts.hooks.hold_listing_after_early = Some(1);
    let (s, r) = tokio::time::timeout(Duration::from_secs(60), run(&local(a.path()), &up, &opts))
        .await
        .expect("the listing never resumed: no copy ran while it was held");
    ok(&s, &r);
    assert_eq!(s.listed_source, 50);
    assert_eq!(s.copied, 50);
    assert_eq!(s.copied_while_listing, 50, "{s:?}");
    assert_eq!(
        read_domain(&client(&cluster, "testdom"), "early/").await,
        tree
    );

    // The destination now has every key: sorted merge, nothing copied.
    let mut again = Options::default();
    again.hooks.source_waits_for_destination = true;
    let (s, r) = run(&local(a.path()), &up, &again).await;
    ok(&s, &r);
    assert_eq!((s.copied, s.identical, s.copied_while_listing), (0, 50, 0));

    // A local destination needs the sorted listing for its name checks, even when empty.
    let (s, r) = run(&up, &local(b.path()), &again).await;
    ok(&s, &r);
    assert_eq!((s.copied, s.copied_while_listing), (50, 0));
    assert_eq!(read_tree(b.path()), tree);
    cluster.shutdown().await;
}

/// `--delete` removes what the source lacks, and each guard holds.
#[tokio::test]
async fn delete_and_its_guards() {
    let cluster = cluster().await;
    let (a, b, empty) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut tree = Tree::new();
    for i in 0..5u64 {
        tree.insert(format!("keep/{i}").into_bytes(), bytes(10, i));
    }
    write_tree(a.path(), &tree);
    let dst = mogile(&cluster, "testdom", "d/");
    let dc = client(&cluster, "testdom");
    let extra = |n: u64| {
        let dc = dc.clone();
        async move {
            for i in 0..n {
                dc.put(format!("d/extra/{i}"), bytes(5, i)).await.unwrap();
            }
            dc.put("d/extra.tmp", &b"x"[..]).await.unwrap();
        }
    };
    run(&local(a.path()), &dst, &Options::default()).await;
    extra(3).await;
    let delete = Options {
        delete: true,
        ..Options::default()
    };

    // --dry-run: planned, nothing changed.
    let dry = Options {
        dry_run: true,
        ..delete.clone()
    };
    let (s, r) = run(&local(a.path()), &dst, &dry).await;
    ok(&s, &r);
    assert_eq!((s.copied, s.deleted), (0, 4));
    assert!(
        r.planned.contains(&"delete extra/0".to_string()),
        "{:?}",
        r.planned
    );
    assert_eq!(read_domain(&dc, "d/").await.len(), 9);

    // --max-delete below the count: nothing deleted, and the sync fails.
    let capped = Options {
        max_delete: Some(3),
        ..delete.clone()
    };
    let (s, _) = run(&local(a.path()), &dst, &capped).await;
    assert!(
        s.deletes_refused.as_deref().unwrap().contains("max-delete"),
        "{s:?}"
    );
    assert_eq!((s.deleted, read_domain(&dc, "d/").await.len()), (0, 9));

    // Excluded keys are never deleted.
    let filtered = Options {
        filter: Filter::new(&[], &["*.tmp".into()]).unwrap(),
        ..delete.clone()
    };
    let (s, r) = run(&local(a.path()), &dst, &filtered).await;
    ok(&s, &r);
    assert_eq!(s.deleted, 3);
    let left = read_domain(&dc, "d/").await;
    assert_eq!(left.len(), 6);
    assert!(left.contains_key(b"extra.tmp".as_slice()));

    // An empty source refuses --delete without --force.
    let (s, _) = run(&local(empty.path()), &dst, &delete).await;
    assert!(
        s.deletes_refused.as_deref().unwrap().contains("--force"),
        "{s:?}"
    );
    assert_eq!(read_domain(&dc, "d/").await.len(), 6);

    // A failed copy refuses every deletion.
    extra(2).await;
    std::fs::write(a.path().join("bad\\name"), b"x").unwrap();
    let (s, _) = run(&local(a.path()), &local(b.path()), &Options::default()).await;
    assert_eq!(s.failed, 0, "a backslash is a fine file name");
    let (s, r) = run(
        &mogile(&cluster, "testdom", "d/"),
        &local(b.path()),
        &Options::default(),
    )
    .await;
    ok(&s, &r);
    // A local destination with an unwritable key: the copy fails, the deletion does not run.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("x"), b"1").unwrap();
    std::fs::create_dir(bad.path().join("d")).unwrap();
    std::fs::write(bad.path().join("d/only-here"), b"4").unwrap();
    let src_bad = mogile(&cluster, "testdom", "d/");
    dc.put("d/x", &b"22"[..]).await.unwrap();
    // `x` is a file on the destination and `x/...` cannot be written; make one such key.
    dc.put("d/x/y", &b"3"[..]).await.unwrap();
    let (s, r) = run(&src_bad, &local(bad.path()), &delete).await;
    assert!(s.failed >= 1, "{s:?}");
    assert!(
        r.failures.iter().any(|(k, _)| k == b"x/y"),
        "{:?}",
        r.failures
    );
    assert!(s.deletes_refused.is_some());
    assert!(
        bad.path().join("d/only-here").exists(),
        "nothing deleted after a failure"
    );

    // With --force an empty source empties the destination.
    let force = Options {
        force: true,
        max_delete: None,
        ..delete.clone()
    };
    let (s, r) = run(&local(empty.path()), &local(b.path()), &force).await;
    ok(&s, &r);
    assert!(s.deleted > 0);
    assert!(read_tree(b.path()).is_empty());
    cluster.shutdown().await;
}

/// Keys that cannot be file names are failures, reported with the reason; the others are
/// copied.
#[tokio::test]
async fn unrepresentable_keys_are_reported() {
    let cluster = cluster().await;
    let c = client(&cluster, "testdom");
    for key in [
        "u/ok",
        "u/a//b",
        "u/a/./b",
        "u/../evil",
        "u/trailing/",
        "u/file",
        "u/file/inside",
    ] {
        c.put(key, &b"data"[..]).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let (s, r) = run(
        &mogile(&cluster, "testdom", "u/"),
        &local(dir.path()),
        &Options::default(),
    )
    .await;
    let failed: Vec<String> = r
        .failures
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(s.failed, 5, "{failed:?}");
    for k in ["a//b", "a/./b", "../evil", "trailing/", "file/inside"] {
        assert!(
            failed.iter().any(|f| f == k),
            "{k} not reported: {failed:?}"
        );
    }
    assert_eq!(
        read_tree(dir.path()).keys().cloned().collect::<Vec<_>>(),
        [b"file".to_vec(), b"ok".to_vec()]
    );
    assert!(!dir.path().parent().unwrap().join("evil").exists());
    // To an object store, `a//b` and `trailing/` cannot be paths either.
    let store = Side::Store(StoreSide::new(
        Arc::new(InMemory::new()),
        StorePath::default(),
        false,
    ));
    let (s, r) = run(
        &mogile(&cluster, "testdom", "u/"),
        &store,
        &Options::default(),
    )
    .await;
    assert!(s.failed >= 3, "{s:?} {:?}", r.failures);
    cluster.shutdown().await;
}

/// One key whose replicas are all gone fails; the others are copied; deletions do not run.
#[tokio::test]
async fn one_failing_key_does_not_stop_the_others() {
    let cluster = cluster().await;
    let c = client(&cluster, "testdom");
    for i in 0..20 {
        c.put(format!("n/{i}"), bytes(1000, i)).await.unwrap();
    }
    for devid in cluster.replica_devids("n/7").unwrap() {
        cluster.remove_replica("n/7", devid).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let (s, r) = run(
        &mogile(&cluster, "testdom", "n/"),
        &local(dir.path()),
        &Options::default(),
    )
    .await;
    assert_eq!((s.copied, s.failed), (19, 1), "{:?}", r.failures);
    assert_eq!(r.failures[0].0, b"7");
    assert_eq!(read_tree(dir.path()).len(), 19);
    cluster.shutdown().await;
}

/// An order inversion in a sorted listing aborts the sync before any delete.
#[tokio::test]
async fn an_order_inversion_aborts_before_deletes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut tree = Tree::new();
    for i in 0..50u64 {
        tree.insert(format!("k{i:03}").into_bytes(), bytes(10, i));
    }
    write_tree(a.path(), &tree);
    std::fs::write(b.path().join("only-on-destination"), b"keep me").unwrap();
    let mut opts = Options {
        delete: true,
        ..Options::default()
    };
    opts.hooks.invert_source_at = Some(25);
    let (s, _) = run(&local(a.path()), &local(b.path()), &opts).await;
    let reason = s.aborted.as_deref().unwrap();
    assert!(
        reason.contains("out of order") && reason.contains("nothing was deleted"),
        "{reason}"
    );
    assert_eq!(s.deleted, 0);
    assert!(b.path().join("only-on-destination").exists());
}

/// A listing far larger than the memory bound syncs correctly (the sort's own test checks the
/// peak against the bound).
#[tokio::test]
async fn a_listing_larger_than_the_memory_bound() {
    let cluster = cluster().await;
    let c = client(&cluster, "testdom");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut tree = Tree::new();
    for i in 0..400u64 {
        tree.insert(format!("m/{}", 400 - i).into_bytes(), bytes(8, i));
    }
    write_tree(a.path(), &tree);
    let opts = Options {
        memory_bound: 1024,
        delete: true,
        ..Options::default()
    };
    let dst = mogile(&cluster, "testdom", "mb/");
    c.put("mb/zzz-extra", &b"x"[..]).await.unwrap();
    let (s, r) = run(&local(a.path()), &dst, &opts).await;
    ok(&s, &r);
    assert_eq!((s.copied, s.deleted), (400, 1));
    let (s, r) = run(&dst, &local(b.path()), &opts).await;
    ok(&s, &r);
    assert_eq!(read_tree(b.path()), tree);
    cluster.shutdown().await;
}

/// The generic path: a tree into object_store's `InMemory` under a prefix, then from there
/// into MogileFS, and out to a directory, equal throughout.
#[tokio::test]
async fn object_store_in_memory_round_trip() {
    let cluster = cluster().await;
    let store: Arc<dyn object_store::ObjectStore> = Arc::new(InMemory::new());
    let mem = Side::Store(StoreSide::new(store, StorePath::from("bucket/pre"), false));
    let mut tree = Tree::new();
    for (i, name) in ["a b/c%d+e&f=g", "caf\u{e9}/\u{1f408}", "x/y/z", "empty"]
        .iter()
        .enumerate()
    {
        tree.insert(
            name.as_bytes().to_vec(),
            bytes(if *name == "empty" { 0 } else { 5000 + i }, i as u64),
        );
    }
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(a.path(), &tree);
    let (s, r) = run(&local(a.path()), &mem, &Options::default()).await;
    ok(&s, &r);
    assert_eq!(s.copied, 4);
    let up = mogile(&cluster, "testdom", "os/");
    let (s, r) = run(&mem, &up, &Options::default()).await;
    ok(&s, &r);
    assert_eq!(s.copied, 4);
    let (s, r) = run(&up, &local(b.path()), &Options::default()).await;
    ok(&s, &r);
    assert_eq!(read_tree(b.path()), tree);
    let (s, r) = run(&local(a.path()), &mem, &Options::default()).await;
    ok(&s, &r);
    assert_eq!((s.copied, s.identical), (0, 4));
    cluster.shutdown().await;
}

/// On a case-insensitive destination, keys that differ only in case fail instead of
/// overwriting each other.
#[tokio::test]
async fn case_conflicts_on_a_case_insensitive_destination() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(a.path().join("Readme"), b"1").unwrap();
    std::fs::write(a.path().join("README"), b"2").unwrap();
    std::fs::write(a.path().join("other"), b"3").unwrap();
    // A folder whose name differs only in case: `docs/b` would land in `Docs/`.
    std::fs::create_dir_all(a.path().join("Docs")).unwrap();
    std::fs::create_dir_all(a.path().join("docs")).unwrap();
    std::fs::write(a.path().join("Docs/a"), b"4").unwrap();
    std::fs::write(a.path().join("docs/b"), b"5").unwrap();
    let mut opts = Options::default();
    opts.hooks.case_insensitive = true;
    // A bound small enough that the folded names spill to disk too.
    opts.memory_bound = 64;
    let (s, r) = run(&local(a.path()), &local(b.path()), &opts).await;
    assert_eq!((s.copied, s.failed), (3, 2), "{:?}", r.failures);
    let mut failed = r.failures.clone();
    failed.sort();
    assert_eq!(failed[0].0, b"Readme", "{failed:?}");
    assert_eq!(failed[1].0, b"docs/b", "{failed:?}");
    assert!(failed[1].1.contains("its folder"), "{failed:?}");
}

/// `overwrite` (`put -r`, `get -r`) copies every key even when it is the same.
#[tokio::test]
async fn overwrite_copies_everything() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(a.path().join("f"), b"same").unwrap();
    let opts = Options {
        overwrite: true,
        ..Options::default()
    };
    for _ in 0..2 {
        let (s, r) = run(&local(a.path()), &local(b.path()), &opts).await;
        ok(&s, &r);
        assert_eq!(s.copied, 1);
    }
}
