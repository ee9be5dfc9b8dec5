//! The file commands, driven over raw TCP with the request lines of the captures
//! (`tracker_create.txt`, `tracker_get_paths.txt`, `tracker_delete.txt`, `tracker_rename.txt`,
//! `tracker_updateclass.txt`, `tracker_file_info.txt`).

#[path = "tracker_common.rs"]
mod common;

use common::{Cluster, pairs};

#[tokio::test]
async fn create_open_and_close_follow_the_capture() {
    let c = Cluster::start(&[2]).await;
    let mut t = c.conn().await;
    let port = c.storage.addr.port();
    t.expect(
        "create_open domain=testdom&key=wire%2Fcreate-1&class=c2",
        &format!("OK devid=2&fid=1&path=http://127.0.0.1:{port}/dev2/0/000/000/0000000001.fid\r\n"),
    )
    .await;
    c.storage.put(&c.url(2, 1), b"hello world");
    let close = format!(
        "create_close domain=testdom&key=wire%2Fcreate-1&fid=1&devid=2&path={}&size=11",
        c.url_arg(2, 1)
    );
    t.expect(&close, "OK \r\n").await;
    t.expect(
        &close,
        "ERR no_temp_file No+tempfile+or+file+already+closed\r\n",
    )
    .await;
    t.expect(
        "file_info domain=testdom&key=wire%2Fcreate-1",
        "OK devcount=1&class=c2&domain=testdom&fid=1&key=wire/create-1&length=11\r\n",
    )
    .await;

    // explicit fid, then the same fid again; later fids continue above it
    t.expect(
        "create_open domain=testdom&key=wire%2Fcreate-fid&fid=90001",
        &format!(
            "OK path=http://127.0.0.1:{port}/dev2/0/000/090/0000090001.fid&fid=90001&devid=2\r\n"
        ),
    )
    .await;
    t.expect(
        "create_open domain=testdom&key=wire%2Fcreate-fid2&fid=90001",
        "ERR fid_in_use fid_in_use\r\n",
    )
    .await;
    t.expect(
        "create_open domain=testdom&key=wire%2Fcreate-default",
        &format!(
            "OK devid=2&path=http://127.0.0.1:{port}/dev2/0/000/090/0000090002.fid&fid=90002\r\n"
        ),
    )
    .await;
    t.expect(
        "create_open domain=testdom&key=wire%2Fx&class=nope",
        "ERR unreg_class unreg_class\r\n",
    )
    .await;
    t.expect(
        "create_open domain=nosuchdomain&key=wire%2Fx",
        "ERR unreg_domain Domain+name+invalid/not+found\r\n",
    )
    .await;
    t.expect(
        "create_open key=wire%2Fx",
        "ERR no_domain No+domain+provided\r\n",
    )
    .await;
    t.expect("create_open", "ERR no_domain No+domain+provided\r\n")
        .await;
    t.expect(
        "create_open domain=testdom&key=wire%2Fhuge&size=1000000000000000",
        "ERR no_devices No+devices+found+to+store+file\r\n",
    )
    .await;

    // no key at close: the temp file is abandoned, OK, nothing stored
    let open = pairs(&t.req("create_open domain=testdom").await);
    let fid: u64 = open["fid"].parse().unwrap();
    let close = format!(
        "create_close domain=testdom&fid={fid}&devid=2&path={}&size=2",
        c.url_arg(2, fid)
    );
    t.expect(&close, "OK \r\n").await;
    assert_eq!(
        c.model.temp_file_count(),
        2,
        "only the never-closed 90001 and 90002 are left open"
    );
    assert!(
        c.model.take_deleted().iter().any(|d| d.fid == fid),
        "the abandoned fid is queued for deletion"
    );

    let prof = pairs(
        &t.req("create_open domain=testdom&key=wire%2Fprof&debug_profile=1")
            .await,
    );
    assert_eq!(prof["profpoints"], "5");
    assert_eq!(prof["prof_4_name"], "vivify_dir_on_all_devs");
    assert_eq!(prof["prof_5_name"], "vivify_dir_on_dev2");
}

#[tokio::test]
async fn create_close_errors_follow_the_capture() {
    let c = Cluster::start(&[2]).await;
    let mut t = c.conn().await;
    let fid: u64 = pairs(
        &t.req("create_open domain=testdom&key=wire%2Fcreate-err&fid=90005")
            .await,
    )["fid"]
        .parse()
        .unwrap();
    let path = c.url_arg(2, fid);
    t.expect(
        &format!("create_close domain=testdom&key=wire%2Fcreate-err&devid=2&path={path}"),
        "ERR no_fid no_fid\r\n",
    )
    .await;
    t.expect(
        &format!("create_close domain=testdom&key=wire%2Fcreate-err&fid={fid}&path={path}"),
        "ERR no_devid no_devid\r\n",
    )
    .await;
    t.expect(
        &format!("create_close domain=testdom&key=wire%2Fcreate-err&fid={fid}&devid=2"),
        "ERR no_path no_path\r\n",
    )
    .await;
    let bogus = path.replace(".fid", "x.fid");
    t.expect(
        &format!(
            "create_close domain=testdom&key=wire%2Fcreate-err&fid={fid}&devid=2&path={bogus}"
        ),
        "ERR bogus_args bogus_args\r\n",
    )
    .await;
    t.expect(
        &format!("create_close domain=testdom&key=wire%2Fcreate-err&fid={fid}&devid=2&path={path}&size=11&checksum=bogus"),
        "ERR invalid_checksum_format invalid_checksum_format\r\n",
    )
    .await;
    // nothing uploaded: size_verify_error, and the failed close consumed the temp file
    let close = format!(
        "create_close domain=testdom&key=wire%2Fcreate-err&fid={fid}&devid=2&path={path}&size=11"
    );
    let url = c.url(2, fid);
    t.expect(
        &close,
        &format!(
            "ERR size_verify_error Expected:+11%3B+actual:+0+%28missing%29%3B+path:+{}%3B+error:+\r\n",
            url
        ),
    )
    .await;
    c.storage.put(&url, b"hello world");
    t.expect(
        &close,
        "ERR no_temp_file No+tempfile+or+file+already+closed\r\n",
    )
    .await;

    // wrong size
    let fid = 90006;
    t.req(&format!(
        "create_open domain=testdom&key=wire%2Fcreate-size&fid={fid}"
    ))
    .await;
    c.storage.put(&c.url(2, fid), b"hello world");
    t.expect(
        &format!(
            "create_close domain=testdom&key=wire%2Fcreate-size&fid={fid}&devid=2&path={}&size=12",
            c.url_arg(2, fid)
        ),
        &format!(
            "ERR size_mismatch Expected:+12%3B+actual:+11%3B+path:+{}\r\n",
            c.url(2, fid)
        ),
    )
    .await;
    assert!(c.model.file("testdom", "wire/create-size").is_none());

    // no size: no check; size=0 with a 0-byte file
    for (fid, body, size) in [
        (90007u64, &b"hello world"[..], ""),
        (90008, &b""[..], "&size=0"),
    ] {
        t.req(&format!("create_open domain=testdom&key=k{fid}&fid={fid}"))
            .await;
        c.storage.put(&c.url(2, fid), body);
        t.expect(
            &format!(
                "create_close domain=testdom&key=k{fid}&fid={fid}&devid=2&path={}{size}",
                c.url_arg(2, fid)
            ),
            "OK \r\n",
        )
        .await;
        assert_eq!(
            c.model.file("testdom", format!("k{fid}")).unwrap().length,
            body.len() as u64
        );
    }
}

#[tokio::test]
async fn invalid_destdev_and_checksums() {
    let c = Cluster::start(&[1, 3]).await;
    let mut t = c.conn().await;
    let open = pairs(
        &t.req("create_open domain=testdom&key=wire%2Fcreate-wrongdev")
            .await,
    );
    let fid: u64 = open["fid"].parse().unwrap();
    let given: u64 = open["devid"].parse().unwrap();
    let other = if given == 1 { 3 } else { 1 };
    c.storage.put(&c.url(other, fid), b"abc");
    t.expect(
        &format!("create_close domain=testdom&key=wire%2Fcreate-wrongdev&fid={fid}&devid={other}&path={}&size=3", c.url_arg(other, fid)),
        &format!("ERR invalid_destdev File+uploaded+to+invalid+dest+{other}.+Valid+devices+were:+{given}\r\n"),
    )
    .await;

    // MD5 verified against a GET of the stored copy
    let body = b"hello world";
    let md5 = "5eb63bbbe01eeed093cb22bb8f5acdc3";
    for (key, sum, expect_ok) in [
        ("md5-ok", md5, true),
        ("md5-bad", "00000000000000000000000000000000", false),
    ] {
        let open = pairs(
            &t.req(&format!("create_open domain=testdom&key={key}"))
                .await,
        );
        let (fid, dev): (u64, u64) = (open["fid"].parse().unwrap(), open["devid"].parse().unwrap());
        c.storage.put(&c.url(dev, fid), body);
        let req = format!(
            "create_close domain=testdom&key={key}&fid={fid}&devid={dev}&path={}&size=11&checksum=MD5%3A{sum}&checksumverify=1",
            c.url_arg(dev, fid)
        );
        let expected = if expect_ok {
            "OK \r\n".to_owned()
        } else {
            format!(
                "ERR checksum_mismatch Expected:+Checksum%5Bf%3D{fid}%3BMD5%3D{sum}%5D%3B+actual:+MD5:{md5}%3B+path:+{}\r\n",
                c.url(dev, fid)
            )
        };
        t.expect(&req, &expected).await;
    }
    // class c2 has no hashtype: the checksum is not stored
    assert_eq!(c.model.file("testdom", "md5-ok").unwrap().checksum, None);

    // a class with hashtype MD5 stores a matching checksum; file_info says MISSING without one
    c.model
        .create_class("testdom", "hashed", 1, Some("MD5"))
        .unwrap();
    let fid = c.store(&mut t, "h-none", Some("hashed"), body).await;
    t.expect(
        "file_info domain=testdom&key=h-none",
        &format!("OK fid={fid}&domain=testdom&devcount=1&class=hashed&length=11&checksum=MISSING&key=h-none\r\n"),
    )
    .await;
    let open = pairs(
        &t.req("create_open domain=testdom&key=h-md5&class=hashed")
            .await,
    );
    let (fid, dev): (u64, u64) = (open["fid"].parse().unwrap(), open["devid"].parse().unwrap());
    c.storage.put(&c.url(dev, fid), body);
    t.expect(
        &format!("create_close domain=testdom&key=h-md5&fid={fid}&devid={dev}&path={}&checksum=MD5:{md5}", c.url_arg(dev, fid)),
        "OK \r\n",
    )
    .await;
    t.expect(
        "file_info domain=testdom&key=h-md5",
        &format!("OK fid={fid}&domain=testdom&devcount=1&class=hashed&length=11&checksum=MD5:{md5}&key=h-md5\r\n"),
    )
    .await;
    let debug = pairs(&t.req(&format!("file_debug fid={fid}")).await);
    assert_eq!(debug["checksum"], format!("MD5:{md5}"));
}

#[tokio::test]
async fn closing_onto_an_existing_key_replaces_it() {
    let c = Cluster::start(&[2]).await;
    let mut t = c.conn().await;
    let old = c
        .store(&mut t, "wire%2Fcreate-1", Some("c2"), b"hello world")
        .await;
    let new = c
        .store(&mut t, "wire%2Fcreate-1", None, b"hello world!!!")
        .await;
    t.expect(
        "file_info domain=testdom&key=wire%2Fcreate-1",
        &format!(
            "OK key=wire/create-1&length=14&devcount=1&class=default&fid={new}&domain=testdom\r\n"
        ),
    )
    .await;
    assert!(c.model.take_deleted().iter().any(|d| d.fid == old));
    t.expect(&format!("file_debug fid={old}"), "OK checksum=NONE\r\n")
        .await;
}

#[tokio::test]
async fn get_paths_follows_the_capture() {
    let c = Cluster::start(&[1, 2]).await;
    let mut t = c.conn().await;
    let fid = c
        .store(&mut t, "wire%2Fgp-1", Some("c2"), b"0123456789")
        .await;
    let first = c.model.file("testdom", "wire/gp-1").unwrap().devids[0];
    let second = 3 - first;
    t.expect(
        "get_paths domain=testdom&key=wire%2Fgp-1",
        &format!("OK paths=1&path1={}\r\n", c.url(first, fid)),
    )
    .await;
    // replication is the cluster's job: the hook adds the second copy
    c.model.add_replica(fid, second).unwrap();
    c.storage.put(&c.url(second, fid), b"0123456789");
    for req in [
        "get_paths domain=testdom&key=wire%2Fgp-1&noverify=1",
        "get_paths domain=testdom&key=wire%2Fgp-1&pathcount=5",
    ] {
        let p = pairs(&t.req(req).await);
        assert_eq!(p["paths"], "2");
        let mut got = vec![p["path1"].clone(), p["path2"].clone()];
        got.sort();
        assert_eq!(got, vec![c.url(1, fid), c.url(2, fid)], "{req}");
    }
    // pathcount below 2 is raised to 2
    assert_eq!(
        pairs(
            &t.req("get_paths domain=testdom&key=wire%2Fgp-1&pathcount=1")
                .await
        )["paths"],
        "2"
    );
    t.expect(
        "get_paths domain=testdom&key=wire%2Fdoes-not-exist",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect("get_paths domain=testdom", "ERR no_key no_key\r\n")
        .await;
    t.expect("get_paths domain=testdom&key=", "ERR no_key no_key\r\n")
        .await;
    t.expect(
        "get_paths domain=nosuchdomain&key=wire%2Fgp-1",
        "ERR unreg_domain Domain+name+invalid/not+found\r\n",
    )
    .await;
    t.expect(
        "get_paths key=wire%2Fgp-1",
        "ERR no_domain No+domain+provided\r\n",
    )
    .await;

    // key "0" is a valid key
    let zero = c.store(&mut t, "0", None, b"z").await;
    let dev = c.model.file("testdom", "0").unwrap().devids[0];
    t.expect(
        "get_paths domain=testdom&key=0",
        &format!("OK paths=1&path1={}\r\n", c.url(dev, zero)),
    )
    .await;

    // every copy gone behind the tracker's back: OK paths=0 unless noverify
    c.storage.remove(&c.url(1, fid));
    c.storage.remove(&c.url(2, fid));
    t.expect("get_paths domain=testdom&key=wire%2Fgp-1", "OK paths=0\r\n")
        .await;
    assert_eq!(
        pairs(
            &t.req("get_paths domain=testdom&key=wire%2Fgp-1&noverify=1")
                .await
        )["paths"],
        "2"
    );
}

#[tokio::test]
async fn delete_rename_updateclass() {
    let c = Cluster::start(&[2]).await;
    let mut t = c.conn().await;
    c.store(&mut t, "wire%2Fdel-1", None, b"x").await;
    t.expect("delete domain=testdom&key=wire%2Fdel-1", "OK \r\n")
        .await;
    t.expect(
        "delete domain=testdom&key=wire%2Fdel-1",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect(
        "get_paths domain=testdom&key=wire%2Fdel-1",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect("delete domain=testdom", "ERR no_key no_key\r\n")
        .await;
    t.expect(
        "delete domain=nosuchdomain&key=wire%2Fdel-1",
        "ERR unreg_domain Domain+name+invalid/not+found\r\n",
    )
    .await;
    t.expect(
        "delete key=wire%2Fdel-1",
        "ERR no_domain No+domain+provided\r\n",
    )
    .await;

    let a = c.store(&mut t, "wire%2Fren-a", None, b"a").await;
    c.store(&mut t, "wire%2Fren-b", None, b"b").await;
    t.expect(
        "rename domain=testdom&from_key=wire%2Fren-a&to_key=wire%2Fren-c",
        "OK \r\n",
    )
    .await;
    t.expect(
        "get_paths domain=testdom&key=wire%2Fren-a",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect(
        "file_info domain=testdom&key=wire%2Fren-c",
        &format!("OK length=1&key=wire/ren-c&fid={a}&domain=testdom&devcount=1&class=default\r\n"),
    )
    .await;
    // a single ERR line, then the connection goes on normally
    t.expect(
        "rename domain=testdom&from_key=wire%2Fren-c&to_key=wire%2Fren-b",
        "ERR key_exists Target+key+name+already+exists%3B+can%27t+overwrite.\r\n",
    )
    .await;
    t.expect("noop callid=after-rename-0", "OK callid=after-rename-0\r\n")
        .await;
    t.expect(
        "rename domain=testdom&from_key=wire%2Fren-nope&to_key=wire%2Fren-d",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect(
        "rename domain=testdom&from_key=wire%2Fren-c",
        "ERR no_key no_key\r\n",
    )
    .await;
    t.expect(
        "rename domain=testdom&to_key=wire%2Fren-d",
        "ERR no_key no_key\r\n",
    )
    .await;
    t.expect(
        "rename domain=testdom&from_key=wire%2Fren-c&to_key=wire%2Fren-c",
        "OK \r\n",
    )
    .await;
    t.expect(
        "rename domain=nosuchdomain&from_key=wire%2Fren-c&to_key=wire%2Fren-d",
        "ERR unreg_domain Domain+name+invalid/not+found\r\n",
    )
    .await;

    let uc = c.store(&mut t, "wire%2Fuc-1", None, b"twelve bytes").await;
    t.expect(
        "updateclass domain=testdom&key=wire%2Fuc-1&class=c2",
        "OK \r\n",
    )
    .await;
    t.expect(
        "file_info domain=testdom&key=wire%2Fuc-1",
        &format!("OK fid={uc}&domain=testdom&devcount=1&class=c2&length=12&key=wire/uc-1\r\n"),
    )
    .await;
    t.expect(
        "updateclass domain=testdom&key=wire%2Fuc-1&class=nope",
        "ERR class_not_found Class+not+found\r\n",
    )
    .await;
    t.expect(
        "updateclass domain=testdom&key=wire%2Fnope&class=c2",
        "ERR invalid_key invalid_key\r\n",
    )
    .await;
    t.expect(
        "updateclass domain=testdom&key=wire%2Fuc-1",
        "ERR no_class No+class+provided\r\n",
    )
    .await;
    t.expect(
        "updateclass domain=testdom&class=c2",
        "ERR no_key no_key\r\n",
    )
    .await;
    t.expect(
        "update_class domain=testdom&key=wire%2Fuc-1&class=c2",
        "ERR invalid_mindevcount The+mindevcount+must+be+at+least+1\r\n",
    )
    .await;
}

#[tokio::test]
async fn file_info_and_file_debug() {
    let c = Cluster::start(&[2, 3]).await;
    let mut t = c.conn().await;
    let fid = c
        .store(&mut t, "wire%2Ffi-1", Some("c2"), b"fourteen bytes")
        .await;
    let dev = c.model.file("testdom", "wire/fi-1").unwrap().devids[0];
    t.expect(
        "file_info domain=testdom&key=wire%2Ffi-1&devices=1",
        &format!("OK devcount=1&class=c2&fid={fid}&domain=testdom&key=wire/fi-1&devids={dev}&length=14\r\n"),
    )
    .await;
    c.model.add_replica(fid, 5 - dev).unwrap();
    t.expect(
        "file_info domain=testdom&key=wire%2Ffi-1&devices=1",
        &format!(
            "OK length=14&devids=2,3&key=wire/fi-1&domain=testdom&fid={fid}&devcount=2&class=c2\r\n"
        ),
    )
    .await;
    t.expect(
        "file_info domain=testdom&key=wire%2Fnope",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect("file_info domain=testdom", "ERR no_key no_key\r\n")
        .await;
    t.expect(
        "file_info domain=nosuchdomain&key=wire%2Ffi-1",
        "ERR unreg_domain Domain+name+invalid/not+found\r\n",
    )
    .await;
    let debug = format!(
        "OK fid_fid={fid}&devpath_3={}&devpath_2={}&fid_domain=testdom&fid_classid=1&fid_length=14&checksum=NONE&fid_devcount=2&fid_class=c2&fid_dkey=wire/fi-1&fid_dmid=1&devids=2,3\r\n",
        c.url(3, fid),
        c.url(2, fid)
    );
    t.expect("file_debug domain=testdom&key=wire%2Ffi-1", &debug)
        .await;
    t.expect(&format!("file_debug fid={fid}"), &debug).await;
    let open = pairs(&t.req("create_open domain=testdom&key=wire%2Ffi-temp").await);
    t.expect(
        &format!("file_debug fid={}", open["fid"]),
        &format!("OK checksum=NONE&tempfile_dmid=1&tempfile_dkey=wire/fi-temp&tempfile_devids={}&tempfile_classid=0\r\n", open["devid"]),
    )
    .await;
    t.expect("file_debug fid=987654321", "OK checksum=NONE\r\n")
        .await;
    t.expect(
        "file_debug domain=testdom&key=wire%2Fnope",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect("file_debug ", "ERR no_domain No+domain+provided\r\n")
        .await;
}
