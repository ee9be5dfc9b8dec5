//! Admin commands and the line protocol basics, with the request lines of `tracker_admin.txt`,
//! `tracker_bootstrap.txt`, `tracker_basic.txt`, `tracker_edit_file.txt` and `tracker_line_limits.txt`.

#[path = "tracker_common.rs"]
mod common;

use std::sync::Arc;

use common::{Conn, Storage, pairs};
use mogile_testkit::tracker::{FakeTracker, Model};

#[tokio::test]
async fn bootstrap_and_admin_follow_the_capture() {
    let tracker = FakeTracker::start(Arc::new(Model::new())).await.unwrap();
    let mut t = Conn::open(tracker.addr()).await;
    // tracker_bootstrap.txt (loopback addresses only)
    t.expect(
        "create_host host=storeA&ip=127.0.0.1&port=7500&status=alive",
        "OK hostid=1&hostname=storeA\r\n",
    )
    .await;
    t.expect(
        "create_device hostname=storeA&devid=1&state=alive",
        "OK \r\n",
    )
    .await;
    t.expect(
        "create_device hostname=storeA&devid=2&state=alive",
        "OK \r\n",
    )
    .await;
    t.expect(
        "create_host host=storeB&ip=127.0.0.2&port=7600&status=alive",
        "OK hostid=2&hostname=storeB\r\n",
    )
    .await;
    t.expect(
        "create_device hostname=storeB&devid=3&state=alive",
        "OK \r\n",
    )
    .await;
    t.expect("create_domain domain=testdom", "OK domain=testdom\r\n")
        .await;
    t.expect(
        "create_class domain=testdom&class=c2&mindevcount=2",
        "OK mindevcount=2&class=c2&domain=testdom\r\n",
    )
    .await;

    t.expect(
        "get_domains",
        "OK domains=1&domain1class2hashtype=NONE&domain1class2mindevcount=2&domain1class2name=c2&domain1=testdom&domain1class2replpolicy=MultipleHosts%28%29&domain1class1mindevcount=2&domain1class1hashtype=NONE&domain1class1replpolicy=MultipleHosts%28%29&domain1class1name=default&domain1classes=2\r\n",
    )
    .await;
    t.expect(
        "get_hosts hostid=2",
        "OK host1_http_get_port=&host1_http_port=7600&host1_altip=&host1_hostname=storeB&hosts=1&host1_hostid=2&host1_status=alive&host1_altmask=&host1_hostip=127.0.0.2\r\n",
    )
    .await;
    // a device the monitor has not seen: empty figures; the index is not the id
    t.expect(
        "get_devices devid=3",
        "OK dev1_status=alive&dev1_mb_total=&dev1_mb_free=&dev1_mb_asof=&dev1_weight=100&dev1_reject_bad_md5=&dev1_observed_state=&dev1_mb_used=&dev1_utilization=&dev1_hostid=2&devices=1&dev1_devid=3\r\n",
    )
    .await;
    assert_eq!(pairs(&t.req("get_devices").await)["devices"], "3");

    // domains
    t.expect("create_domain domain=tmpdom", "OK domain=tmpdom\r\n")
        .await;
    t.expect(
        "create_domain domain=tmpdom",
        "ERR domain_exists That+domain+already+exists\r\n",
    )
    .await;
    t.expect("create_domain ", "ERR no_domain No+domain+provided\r\n")
        .await;
    // classes
    t.expect(
        "create_class domain=tmpdom&class=k1&mindevcount=1",
        "OK class=k1&mindevcount=1&domain=tmpdom\r\n",
    )
    .await;
    t.expect(
        "create_class domain=tmpdom&class=k1&mindevcount=1",
        "ERR class_exists That+class+already+exists+in+that+domain\r\n",
    )
    .await;
    t.expect(
        "create_class domain=tmpdom&class=k2&mindevcount=2&replpolicy=MultipleHosts%282%29&hashtype=MD5",
        "OK class=k2&mindevcount=2&domain=tmpdom\r\n",
    )
    .await;
    let invalid_mdc = "ERR invalid_mindevcount The+mindevcount+must+be+at+least+1\r\n";
    t.expect(
        "create_class domain=tmpdom&class=k3&mindevcount=0",
        invalid_mdc,
    )
    .await;
    t.expect("create_class domain=tmpdom&class=k3", invalid_mdc)
        .await;
    t.expect(
        "create_class domain=tmpdom&class=k3&mindevcount=1&replpolicy=Bogus%28%29",
        "ERR invalid_replpolicy Failed+to+load+replication+policy+class+MogileFS::ReplicationPolicy::Bogus:+Can%27t+locate+MogileFS/ReplicationPolicy/Bogus.pm+in+%40INC+%28you+may+need+to+install+the+MogileFS::ReplicationPolicy::Bogus+module%29+%28%40INC+contains:+...%29+at+%28eval+26%29+line+1,+%3CGEN8%3E+line+2.%0ABEGIN+failed--compilation+aborted+at+%28eval+26%29+line+1,+%3CGEN8%3E+line+2.%0A%0A\r\n",
    )
    .await;
    t.expect(
        "create_class domain=tmpdom&class=k3&mindevcount=1&hashtype=SHA1",
        "ERR invalid_hashtype invalid_hashtype\r\n",
    )
    .await;
    t.expect(
        "create_class domain=nosuchdomain&class=k3&mindevcount=1",
        "ERR domain_not_found Domain+not+found\r\n",
    )
    .await;
    t.expect(
        "create_class domain=tmpdom&mindevcount=1",
        "ERR no_class No+class+provided\r\n",
    )
    .await;
    t.expect(
        "update_class domain=tmpdom&class=k1&mindevcount=3",
        "OK class=k1&mindevcount=3&domain=tmpdom\r\n",
    )
    .await;
    t.expect(
        "update_class domain=tmpdom&class=nope&mindevcount=3",
        "ERR class_not_found Class+not+found\r\n",
    )
    .await;
    t.expect(
        "update_class domain=tmpdom&class=default&mindevcount=1",
        "OK mindevcount=1&class=default&domain=tmpdom\r\n",
    )
    .await;
    let domains = pairs(&t.req("get_domains").await);
    assert_eq!(
        (
            domains["domains"].as_str(),
            domains["domain2"].as_str(),
            domains["domain2classes"].as_str()
        ),
        ("2", "tmpdom", "3")
    );
    assert!(
        domains
            .iter()
            .any(|(k, v)| k.ends_with("hashtype") && v == "MD5")
    );
    assert!(
        domains
            .iter()
            .any(|(k, v)| k.ends_with("replpolicy") && v == "MultipleHosts%282%29")
    );

    t.expect(
        "delete_class domain=tmpdom&class=k1",
        "OK domain=tmpdom&class=k1\r\n",
    )
    .await;
    t.expect(
        "delete_class domain=tmpdom&class=k1",
        "ERR class_not_found Class+not+found\r\n",
    )
    .await;
    t.expect(
        "delete_class domain=tmpdom",
        "ERR class_not_found Class+not+found\r\n",
    )
    .await;
    t.expect(
        "delete_class domain=tmpdom&class=default",
        "ERR nodel_default_class Cannot+delete+the+default+class\r\n",
    )
    .await;
    t.expect(
        "delete_domain domain=tmpdom",
        "ERR domain_has_classes domain_has_classes\r\n",
    )
    .await;
    t.expect(
        "delete_class domain=tmpdom&class=k2",
        "OK domain=tmpdom&class=k2\r\n",
    )
    .await;
    t.expect("delete_domain domain=tmpdom", "OK domain=tmpdom\r\n")
        .await;
    t.expect(
        "delete_domain domain=tmpdom",
        "ERR domain_not_found Domain+not+found\r\n",
    )
    .await;

    // hosts
    t.expect(
        "create_host host=storeC&ip=127.0.0.1&port=7700",
        "ERR dup Duplicate+name/number+used.\r\n",
    )
    .await;
    t.expect(
        "create_host host=storeC&ip=127.0.0.3&port=7700",
        "OK hostid=3&hostname=storeC\r\n",
    )
    .await;
    t.expect(
        "create_host host=storeC&ip=127.0.0.3&port=7700",
        "ERR host_exists That+host+already+exists\r\n",
    )
    .await;
    t.expect(
        "create_host host=storeD&port=7700",
        "ERR no_ip IP+required+to+create+host\r\n",
    )
    .await;
    t.expect(
        "create_host host=storeD&ip=127.0.0.4",
        "ERR no_port Port+required+to+create+host\r\n",
    )
    .await;
    t.expect(
        "create_host ip=127.0.0.4&port=7700",
        "ERR no_host No+host+provided\r\n",
    )
    .await;
    t.expect(
        "create_host host=storeD&ip=127.0.0.4&port=7700&status=bogus",
        "ERR unknown_state Invalid/unknown+state\r\n",
    )
    .await;
    t.expect(
        "update_host host=storeC&status=alive&getport=7701&altip=127.0.0.5&altmask=127.0.0.0%2F8",
        "OK hostid=3&hostname=storeC\r\n",
    )
    .await;
    t.expect(
        "update_host host=nosuchhost&status=down",
        "ERR host_not_found Host+not+found\r\n",
    )
    .await;
    t.expect(
        "get_hosts hostid=3",
        "OK host1_http_port=7700&host1_http_get_port=7701&host1_hostname=storeC&host1_altip=127.0.0.5&host1_hostid=3&host1_status=alive&hosts=1&host1_hostip=127.0.0.3&host1_altmask=127.0.0.0/8\r\n",
    )
    .await;
    // devices
    t.expect("create_device hostname=storeC&devid=9", "OK \r\n")
        .await;
    t.expect(
        "create_device hostname=storeC&devid=9",
        "ERR existing_devid existing_devid\r\n",
    )
    .await;
    t.expect(
        "create_device hostname=nosuchhost&devid=10",
        "ERR unknown_host Host+not+found\r\n",
    )
    .await;
    t.expect(
        "create_device hostid=77&devid=10",
        "ERR unknown_hostid unknown_hostid\r\n",
    )
    .await;
    t.expect(
        "create_device devid=10",
        "ERR bad_args No+hostid/hostname+parameter\r\n",
    )
    .await;
    t.expect(
        "create_device hostname=storeC&devid=abc",
        "ERR invalid_devid invalid_devid\r\n",
    )
    .await;
    t.expect(
        "create_device hostname=storeC&devid=10&state=bogus",
        "ERR invalid_state invalid_state\r\n",
    )
    .await;
    t.expect(
        "delete_host host=storeC",
        "ERR host_not_empty Unable+to+delete+host%3B+it+contains+devices+still\r\n",
    )
    .await;
    for state in ["readonly", "drain", "down", "dead"] {
        t.expect(
            &format!("set_state host=storeC&device=9&state={state}"),
            "OK \r\n",
        )
        .await;
    }
    let bad_params = "ERR bad_params Invalid+parameters+to+command%3B+please+see+documentation\r\n";
    let mismatch =
        "ERR host_mismatch The+device+specified+doesn%27t+belong+to+the+host+specified\r\n";
    t.expect(
        "set_state host=storeC&device=9&state=alive",
        "ERR state_too_high Status+cannot+go+from+dead+to+alive%3B+must+use+down\r\n",
    )
    .await;
    t.expect("set_state host=storeC&device=9&state=bogus", bad_params)
        .await;
    t.expect("set_state host=storeA&device=9&state=down", mismatch)
        .await;
    t.expect(
        "set_state host=storeC&device=99&state=down",
        "ERR no_device Device+not+found\r\n",
    )
    .await;
    t.expect("set_state device=9&state=down", bad_params).await;
    t.expect("set_weight host=storeA&device=1&weight=50", "OK \r\n")
        .await;
    assert_eq!(
        pairs(&t.req("get_devices devid=1").await)["dev1_weight"],
        "50"
    );
    t.expect("set_weight host=storeA&device=1&weight=-5", bad_params)
        .await;
    t.expect("set_weight host=storeB&device=1&weight=10", mismatch)
        .await;
    t.expect("set_weight host=storeA&device=1", "OK \r\n").await;
    assert_eq!(
        pairs(&t.req("get_devices devid=1").await)["dev1_weight"],
        "0",
        "a missing weight sets 0"
    );
    t.expect(
        "update_host host=storeC&status=dead",
        "OK hostid=3&hostname=storeC\r\n",
    )
    .await;
    assert_eq!(
        pairs(&t.req("get_hosts hostid=3").await)["host1_status"],
        "dead"
    );

    // server settings
    t.expect(
        "server_settings",
        "OK key_count=1&key_1=schema_version&value_1=17\r\n",
    )
    .await;
    t.expect(
        "server_setting key=schema_version",
        "OK value=17&key=schema_version\r\n",
    )
    .await;
    t.expect("server_setting key=nope", "OK key=nope&value=\r\n")
        .await;
    t.expect("server_setting ", bad_params).await;
    t.expect(
        "set_server_setting key=schema_version&value=1",
        "ERR not_writable not_writable\r\n",
    )
    .await;
    t.expect("set_server_setting key=memcache_servers&value=", "OK \r\n")
        .await;
    t.expect(
        "set_server_setting key=case_sensitive_list_keys&value=maybe",
        "ERR invalid_format Unknown+format+at+lib/MogileFS/Config.pm+line+344,+%3CGEN8%3E+line+2.%0A\r\n",
    )
    .await;
    t.expect(
        "set_server_setting key=enable_rebalance&value=1",
        "ERR not_writable not_writable\r\n",
    )
    .await;
    t.expect(
        "server_settings",
        "OK key_2=schema_version&key_count=2&key_1=memcache_servers&value_2=17&value_1=\r\n",
    )
    .await;

    // fsck / rebalance / maintenance
    let fsck = pairs(&t.req("fsck_status").await);
    assert_eq!(
        (
            fsck["running"].as_str(),
            fsck["max_logid"].as_str(),
            fsck.len()
        ),
        ("0", "0", 9)
    );
    t.expect("fsck_getlog", "OK row_count=0\r\n").await;
    t.expect(
        "rebalance_status",
        "ERR no_rebal_state No+available+rebalance+status\r\n",
    )
    .await;
    t.expect(
        "rebalance_test",
        "ERR no_rebal_policy No+rebalance+policy+available\r\n",
    )
    .await;
    t.expect(
        "rebalance_stop",
        "ERR rebal_not_started Rebalance+not+running\r\n",
    )
    .await;
    t.expect(
        "edit_file domain=testdom&key=wire%2Fef-1",
        "ERR failure Operation+failed\r\n",
    )
    .await;
    t.expect(
        "httpcopy sdevid=1&ddevid=3&fid=1",
        "ERR failure Operation+failed\r\n",
    )
    .await;
    t.expect("replicate_now", "OK count=0\r\n").await;
    t.expect("test", "OK \r\n").await;
    t.expect("test crash=1", "ERR failure Operation+failed\r\n")
        .await;
    t.expect("clear_cache", "OK \r\n").await;
    t.expect("do_monitor_round", "OK \r\n").await;
}

#[tokio::test]
async fn line_protocol_basics_follow_the_capture() {
    let tracker = FakeTracker::start(Arc::new(Model::new())).await.unwrap();
    let mut t = Conn::open(tracker.addr()).await;
    for req in [
        "noop",
        "NOOP",
        "NoOp",
        "noop foo=bar&baz",
        "   noop",
        "noop\tfoo=bar",
        "noop a=\u{0}",
    ] {
        t.expect(req, "OK \r\n").await;
    }
    t.expect("noop callid=abc%20123", "OK callid=abc+123\r\n")
        .await;
    t.expect(
        "get_paths domain=nosuchdom&key=x&callid=abc+123",
        "ERR unreg_domain Domain+name+invalid/not+found abc+123\r\n",
    )
    .await;
    t.send(b"noop\n").await;
    assert_eq!(t.line().await.unwrap(), b"OK \r\n");
    t.send(b"noop\r\r\n").await;
    assert_eq!(t.line().await.unwrap(), b"OK \r\n");
    // blank lines get no reply
    t.send(b"\r\n\r\n\nnoop\r\n").await;
    assert_eq!(t.line().await.unwrap(), b"OK \r\n");
    let unknown = "ERR unknown_command Unknown+server+command\r\n";
    t.expect("   ", unknown).await;
    // pipelining: replies in order
    t.send(b"noop callid=1\r\nnoop callid=2\r\n").await;
    assert_eq!(t.line().await.unwrap(), b"OK callid=1\r\n");
    assert_eq!(t.line().await.unwrap(), b"OK callid=2\r\n");
    // a request split over two writes; a bare CR does not end a line
    t.send(b"no").await;
    t.send(b"op\r").await;
    t.send(b"\n").await;
    assert_eq!(t.line().await.unwrap(), b"OK \r\n");
    for req in [
        "frobnicate",
        "get-paths domain=testdom&key=x",
        "get_file_data domain=testdom&key=x",
        "stats",
        "get_classes",
        "store_file domain=testdom&key=x",
        "no\u{0}op",
    ] {
        t.expect(req, unknown).await;
    }
    // ! commands: multi-line, ended by a "." line
    t.send(b"!version\r\n").await;
    assert_eq!(t.line().await.unwrap(), b"2.73\r\n");
    assert_eq!(t.line().await.unwrap(), b".\r\n");
    t.send(b"!stats\r\n").await;
    let mut stats = Vec::new();
    loop {
        let line = t.line().await.unwrap();
        if line == b".\r\n" {
            break;
        }
        stats.push(String::from_utf8(line).unwrap());
    }
    assert_eq!(stats.len(), 6);
    assert!(stats[0].starts_with("uptime "));
    assert!(stats.iter().any(|l| l.starts_with("queries ")));
    t.send(b"!help\r\n").await;
    assert_eq!(t.line().await.unwrap(), b"Mogilefsd admin commands:\n");
    let mut rest = Vec::new();
    loop {
        let line = t.line().await.unwrap();
        if line == b".\r\n" {
            break;
        }
        rest.push(line);
    }
    assert_eq!(rest.len(), 18);
    assert!(
        rest.iter()
            .all(|l| l.ends_with(b"\n") && !l.ends_with(b"\r\n"))
    );
    // a long line is fine
    let long = format!("noop junk={}", "x".repeat(1 << 20));
    t.expect(&long, "OK \r\n").await;
    assert_eq!(tracker.requests("noop"), 15);
    assert_eq!(tracker.requests("!version"), 1);
}

#[tokio::test]
async fn zone_alt_and_get_port_shape_urls() {
    let storage = Storage::start("127.0.0.1").await;
    let model = Arc::new(Model::new());
    let spec = mogile_testkit::tracker::HostSpec::new("storeA", "127.0.0.1", storage.addr.port())
        .http_get_port(storage.addr.port())
        .altip("127.0.0.9", "127.0.0.0/8");
    let host = model.add_host(spec).unwrap();
    model
        .add_device(mogile_testkit::tracker::DeviceSpec::new(1, host))
        .unwrap();
    model.create_domain("d").unwrap();
    let tracker = FakeTracker::start(Arc::clone(&model)).await.unwrap();
    let mut t = Conn::open(tracker.addr()).await;
    let port = storage.addr.port();
    t.expect(
        "create_open domain=d&key=k&zone=alt",
        &format!("OK devid=1&fid=1&path=http://127.0.0.9:{port}/dev1/0/000/000/0000000001.fid\r\n"),
    )
    .await;
    storage.put(
        &format!("http://127.0.0.1:{port}/dev1/0/000/000/0000000001.fid"),
        b"abc",
    );
    t.expect(&format!("create_close domain=d&key=k&fid=1&devid=1&path=http://127.0.0.1:{port}/dev1/0/000/000/0000000001.fid"), "OK \r\n")
        .await;
    t.expect(
        "get_paths domain=d&key=k&noverify=1&zone=alt",
        &format!("OK paths=1&path1=http://127.0.0.9:{port}/dev1/0/000/000/0000000001.fid\r\n"),
    )
    .await;
}
