//! Every command against the fake tracker: the typed result and the exact bytes it received.

mod common;

use mogile_protocol::{
    ClearCache, CreateClass, CreateClose, CreateDevice, CreateDomain, CreateHost, CreateOpen,
    Delete, DeleteClass, DeleteDomain, DeleteHost, DevId, DoMonitorRound, ErrorCode, FileDebug,
    FileInfo, FsckClearLog, FsckGetLog, FsckReset, FsckStart, FsckStatus, FsckStop, GetDevices,
    GetDomains, GetHosts, GetPaths, ListFids, ListKeys, Noop, RebalanceReset, RebalanceSetPolicy,
    RebalanceStart, RebalanceStatus, RebalanceStop, RebalanceTest, Rename, ReplicateNow, Request,
    ServerSetting, ServerSettings, SetServerSetting, SetState, SetWeight, Sleep, Test, UpdateClass,
    UpdateFileClass, UpdateHost,
};
use mogile_testkit::tracker::{FakeTracker, Model};
use std::sync::Arc;

/// Checks the request lines a tracker received, one command at a time, with the callid the
/// client's counter gave it.
struct Wire<'a> {
    tracker: &'a FakeTracker,
    seen: usize,
    callid: u64,
}

impl Wire<'_> {
    /// The next line must be `line` plus the next callid.
    #[track_caller]
    fn next(&mut self, line: &str) {
        let got = common::requests(self.tracker);
        let sep = if line.contains(' ') { '&' } else { ' ' };
        let want = format!("{line}{sep}callid={}\r\n", self.callid);
        assert_eq!(got.get(self.seen), Some(&want), "all lines: {got:#?}");
        assert_eq!(got.len(), self.seen + 1, "one line per request: {got:#?}");
        self.seen += 1;
        self.callid += 1;
    }
}

#[tokio::test(start_paused = true)]
async fn every_command_gives_its_typed_result_and_sends_the_expected_bytes() {
    let model = Arc::new(Model::new());
    let t = FakeTracker::start(Arc::clone(&model)).await.unwrap();
    let storage = common::StorageStub::start().await;
    let c = common::builder(&[&t]).build().unwrap();
    let admin = c.admin();
    let mut w = Wire {
        tracker: &t,
        seen: 0,
        callid: 1,
    };

    // Domains and classes.
    let domain = admin
        .create_domain(CreateDomain::new("testdom"))
        .await
        .unwrap();
    assert_eq!(domain, "testdom");
    w.next("create_domain domain=testdom");
    let class = admin
        .create_class(CreateClass::new("testdom", "c2", 2))
        .await
        .unwrap();
    assert_eq!((class.class.as_str(), class.mindevcount), ("c2", 2));
    w.next("create_class domain=testdom&class=c2&mindevcount=2");
    let class = admin
        .update_class(UpdateClass::new("testdom", "c2", 1))
        .await
        .unwrap();
    assert_eq!(class.mindevcount, 1);
    w.next("update_class domain=testdom&class=c2&mindevcount=1");
    admin
        .create_class(CreateClass::new("testdom", "tmp", 1))
        .await
        .unwrap();
    w.next("create_class domain=testdom&class=tmp&mindevcount=1");
    let domains = admin.get_domains(GetDomains::new()).await.unwrap();
    let d = domains.iter().find(|d| d.name == "testdom").unwrap();
    let mut classes: Vec<_> = d.classes.iter().map(|c| c.name.as_str()).collect();
    classes.sort_unstable();
    assert_eq!(classes, ["c2", "default", "tmp"]);
    w.next("get_domains");

    // Hosts and devices.
    let host = admin
        .create_host(CreateHost::new("storeA", "127.0.0.1", storage.port))
        .await
        .unwrap();
    assert_eq!(host.hostname, "storeA");
    w.next(&format!(
        "create_host host=storeA&ip=127.0.0.1&port={}",
        storage.port
    ));
    let host = admin
        .update_host(UpdateHost::new("storeA").status("alive"))
        .await
        .unwrap();
    assert_eq!(host.hostname, "storeA");
    w.next("update_host host=storeA&status=alive");
    let hosts = admin.get_hosts(GetHosts::new()).await.unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].hostip, "127.0.0.1");
    w.next("get_hosts");
    admin
        .create_device(CreateDevice::new(DevId(1), "storeA").state("alive"))
        .await
        .unwrap();
    w.next("create_device hostname=storeA&devid=1&state=alive");
    admin
        .set_weight(SetWeight::new("storeA", DevId(1), 50))
        .await
        .unwrap();
    w.next("set_weight host=storeA&device=1&weight=50");
    admin
        .set_state(SetState::new("storeA", DevId(1), "alive"))
        .await
        .unwrap();
    w.next("set_state host=storeA&device=1&state=alive");
    let devices = admin.get_devices(GetDevices::new()).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].devid, DevId(1));
    w.next("get_devices");

    // Settings.
    admin
        .set_server_setting(SetServerSetting::new("memcache_servers", "127.0.0.1:11211"))
        .await
        .unwrap();
    w.next("set_server_setting key=memcache_servers&value=127.0.0.1:11211");
    let (key, value) = admin
        .server_setting(ServerSetting::new("memcache_servers"))
        .await
        .unwrap();
    assert_eq!(
        (key.as_str(), value.as_str()),
        ("memcache_servers", "127.0.0.1:11211")
    );
    w.next("server_setting key=memcache_servers");
    let all = admin.server_settings(ServerSettings::new()).await.unwrap();
    assert!(all.iter().any(|(k, _)| k == "memcache_servers"), "{all:?}");
    w.next("server_settings");

    // Maintenance.
    admin.clear_cache(ClearCache::new()).await.unwrap();
    w.next("clear_cache");
    admin.do_monitor_round(DoMonitorRound::new()).await.unwrap();
    w.next("do_monitor_round");
    let count = admin.replicate_now(ReplicateNow::new()).await.unwrap();
    assert_eq!(count, 0);
    w.next("replicate_now");
    admin.sleep(Sleep::new(1)).await.unwrap();
    w.next("sleep duration=1");
    admin.test(Test::new()).await.unwrap();
    w.next("test");
    let crash = admin.test(Test::new().crash(true)).await.unwrap_err();
    assert_eq!(crash.code(), Some(&ErrorCode::Failure));
    w.next("test crash=1");

    // Files.
    let open = c
        .create_open(CreateOpen::new("testdom").key("k1").class("c2"))
        .await
        .unwrap();
    assert_eq!(open.destinations.len(), 1);
    let dest = open.destinations[0].clone();
    assert_eq!(dest.devid, DevId(1));
    w.next("create_open domain=testdom&key=k1&class=c2");
    c.create_close(CreateClose::new("testdom", open.fid, dest.devid, dest.path.clone()).key("k1"))
        .await
        .unwrap();
    w.next(&format!(
        "create_close domain=testdom&key=k1&fid={}&devid=1&path={}",
        open.fid.0,
        dest.path.as_str()
    ));
    let paths = c
        .get_paths(GetPaths::new("testdom", "k1").noverify(true))
        .await
        .unwrap();
    assert_eq!(paths, vec![dest.path.clone()]);
    w.next("get_paths domain=testdom&key=k1&noverify=1");
    let info = c
        .file_info(FileInfo::new("testdom", "k1").devices(true))
        .await
        .unwrap();
    assert_eq!(
        (info.fid, info.class.as_str(), info.length),
        (open.fid, "c2", 0)
    );
    assert_eq!(info.devids, Some(vec![DevId(1)]));
    w.next("file_info domain=testdom&key=k1&devices=1");
    let debug = c
        .file_debug(FileDebug::by_key("testdom", "k1"))
        .await
        .unwrap();
    assert_eq!(debug.fid().unwrap(), Some(open.fid));
    w.next("file_debug domain=testdom&key=k1");
    let page = c
        .list_keys(ListKeys::new("testdom").prefix("k").limit(10))
        .await
        .unwrap();
    assert_eq!(page.keys.len(), 1);
    assert_eq!(page.keys[0].as_bytes(), b"k1");
    w.next("list_keys domain=testdom&prefix=k&limit=10");
    let empty = c
        .list_keys(ListKeys::new("testdom").prefix("zz"))
        .await
        .unwrap();
    assert!(empty.keys.is_empty(), "none_match is an empty page");
    w.next("list_keys domain=testdom&prefix=zz");
    let fids = c.list_fids(ListFids::new().count(10)).await.unwrap();
    assert_eq!(fids.len(), 1);
    w.next("list_fids to=10");
    c.rename(Rename::new("testdom", "k1", "k 2+&"))
        .await
        .unwrap();
    w.next("rename domain=testdom&from_key=k1&to_key=k+2%2B%26");
    c.update_file_class(UpdateFileClass::new("testdom", "k 2+&", "default"))
        .await
        .unwrap();
    w.next("updateclass domain=testdom&key=k+2%2B%26&class=default");
    let missing = c
        .get_paths(GetPaths::new("testdom", "k1"))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some(&ErrorCode::UnknownKey), "{missing}");
    assert_eq!(missing.tracker().unwrap().as_str(), t.addr().to_string());
    w.next("get_paths domain=testdom&key=k1");
    c.delete(Delete::new("testdom", "k 2+&")).await.unwrap();
    w.next("delete domain=testdom&key=k+2%2B%26");
    c.noop(Noop::new()).await.unwrap();
    w.next("noop");

    // fsck and rebalance.
    admin.fsck_reset(FsckReset::new()).await.unwrap();
    w.next("fsck_reset");
    admin.fsck_start(FsckStart::new()).await.unwrap();
    w.next("fsck_start");
    let status = admin.fsck_status(FsckStatus::new()).await.unwrap();
    w.next("fsck_status");
    assert_eq!(status.max_logid, 0, "{status:?}");
    admin.fsck_stop(FsckStop::new()).await.unwrap();
    w.next("fsck_stop");
    let log = admin.fsck_get_log(FsckGetLog::new()).await.unwrap();
    assert!(log.is_empty());
    w.next("fsck_getlog");
    admin.fsck_clear_log(FsckClearLog::new()).await.unwrap();
    w.next("fsck_clearlog");
    let no_policy = admin
        .rebalance_start(RebalanceStart::new())
        .await
        .unwrap_err();
    assert_eq!(no_policy.code(), Some(&ErrorCode::NoRebalPolicy));
    w.next("rebalance_start");
    // The fake, like a tracker without a rebalance policy, refuses these with typed errors.
    let bad = admin
        .rebalance_set_policy(RebalanceSetPolicy::new("from_devices=1"))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some(&ErrorCode::BadRebalPol));
    w.next("rebalance_set_policy policy=from_devices%3D1");
    let tested = admin
        .rebalance_test(RebalanceTest::new())
        .await
        .unwrap_err();
    assert_eq!(tested.code(), Some(&ErrorCode::NoRebalPolicy));
    w.next("rebalance_test");
    let status = admin
        .rebalance_status(RebalanceStatus::new())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Some(&ErrorCode::NoRebalState));
    w.next("rebalance_status");
    let stopped = admin
        .rebalance_stop(RebalanceStop::new())
        .await
        .unwrap_err();
    assert_eq!(stopped.code(), Some(&ErrorCode::RebalNotStarted));
    w.next("rebalance_stop");
    admin.rebalance_reset(RebalanceReset::new()).await.unwrap();
    w.next("rebalance_reset");

    // Tear down.
    admin
        .delete_class(DeleteClass::new("testdom", "tmp"))
        .await
        .unwrap();
    w.next("delete_class domain=testdom&class=tmp");
    let in_use = admin
        .delete_host(DeleteHost::new("storeA"))
        .await
        .unwrap_err();
    assert_eq!(in_use.code(), Some(&ErrorCode::HostNotEmpty));
    w.next("delete_host host=storeA");
    let gone = admin
        .delete_domain(DeleteDomain::new("nope"))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some(&ErrorCode::DomainNotFound));
    w.next("delete_domain domain=nope");

    // Raw requests.
    let args = c
        .raw(
            Request::new("server_setting")
                .unwrap()
                .arg("key", "memcache_servers"),
        )
        .await
        .unwrap();
    assert_eq!(args.get("value"), Some(&b"127.0.0.1:11211"[..]));
    assert_eq!(args.get("callid"), None, "the echo is stripped");
    w.next("server_setting key=memcache_servers");
    let err = c
        .raw(Request::new("no_such_command").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::UnknownCommand));
    w.next("no_such_command");
    let refused = c
        .raw(Request::new("noop").unwrap().arg("callid", "9"))
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        mogile_tracker::TrackerError::InvalidRequest { .. }
    ));
    assert_eq!(common::requests(&t).len(), w.seen, "nothing sent");

    // One connection served everything.
    assert_eq!(t.connections_accepted(), 1);
}
