//! Unit tests of the typed commands: exact request bytes and replies taken from the captures.

use bytes::BytesMut;

use super::*;
use crate::error_code::ErrorCode;
use crate::response::ErrLine;
use crate::types::{Checksum, ChecksumState, DevId, Fid, HashType, StoragePath};

fn wire<C: Command>(cmd: &C) -> String {
    let mut out = BytesMut::new();
    cmd.request().encode(&mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

fn ok<C: Command>(line: &str) -> C::Output {
    C::parse_reply(Response::decode_line(line.as_bytes()).unwrap()).unwrap()
}

/// The output re-encoded, as a sorted pair list, equals the line's pairs sorted.
fn reencodes<C: Command>(line: &str) {
    let Response::Ok(args) = Response::decode_line(line.as_bytes()).unwrap() else {
        panic!()
    };
    let out = C::parse_ok(&args).unwrap();
    let mut again = Args::new();
    C::encode_output(&out, &mut again);
    let mut a: Vec<_> = args.iter().collect();
    let mut b: Vec<_> = again.iter().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "{line}");
}

#[test]
fn create_open_encodes_and_parses_both_forms() {
    let cmd = CreateOpen::new("testdom")
        .key("wire/create 1")
        .class("c2")
        .multi_dest(true)
        .size(11);
    assert_eq!(
        wire(&cmd),
        "create_open domain=testdom&key=wire/create+1&class=c2&multi_dest=1&size=11\r\n"
    );
    assert_eq!(wire(&CreateOpen::new("d")), "create_open domain=d\r\n");
    let single = "OK devid=2&fid=1&path=http://127.0.0.1:7500/dev2/0/000/000/0000000001.fid\r\n";
    let out = ok::<CreateOpen>(single);
    assert_eq!(out.fid, Fid(1));
    assert_eq!(out.destinations.len(), 1);
    assert_eq!(out.destinations[0].devid, DevId(2));
    reencodes::<CreateOpen>(single);
    let multi = "OK dev_count=3&path_1=http://127.0.0.2:7600/dev3/0/000/000/0000000002.fid&path_2=http://127.0.0.2:7600/dev4/0/000/000/0000000002.fid&fid=2&devid_3=1&devid_1=3&path_3=http://127.0.0.1:7500/dev1/0/000/000/0000000002.fid&devid_2=4\r\n";
    let out = ok::<CreateOpen>(multi);
    let devids: Vec<_> = out.destinations.iter().map(|d| d.devid.0).collect();
    assert_eq!(devids, [3, 4, 1]);
    assert_eq!(
        out.destinations[1].path.as_str(),
        "http://127.0.0.2:7600/dev4/0/000/000/0000000002.fid"
    );
    reencodes::<CreateOpen>(multi);
    let missing =
        Response::decode_line(b"OK dev_count=2&fid=2&devid_1=3&path_1=x&devid_2=4").unwrap();
    assert_eq!(
        CreateOpen::parse_reply(missing),
        Err(ReplyError::Decode(DecodeError::MissingField(
            "path_2".into()
        )))
    );
    let huge = Response::decode_line(b"OK dev_count=99999999999&fid=2").unwrap();
    assert!(CreateOpen::parse_reply(huge).is_err());
}

#[test]
fn create_close_encodes_every_option_and_keeps_path_verbatim() {
    let path = StoragePath::from("http://127.0.0.1:80/dev2/0/000/000/0000000001.fid");
    let md5: Checksum = "MD5:1a47375d6f1dc45dc5e64446f51bb50c".parse().unwrap();
    let cmd = CreateClose::new("testdom", Fid(1), DevId(2), path)
        .key("k+1")
        .size(11)
        .checksum(md5)
        .checksum_verify(true);
    assert_eq!(
        wire(&cmd),
        "create_close domain=testdom&key=k%2B1&fid=1&devid=2&path=http://127.0.0.1:80/dev2/0/000/000/0000000001.fid&size=11&checksum=MD5:1a47375d6f1dc45dc5e64446f51bb50c&checksumverify=1\r\n"
    );
    let abandon = CreateClose::new("d", Fid(3), DevId(4), "u".into());
    assert_eq!(
        wire(&abandon),
        "create_close domain=d&fid=3&devid=4&path=u\r\n"
    );
    ok::<CreateClose>("OK \r\n");
    let err = CreateClose::parse_reply(
        Response::decode_line(b"ERR no_temp_file No+tempfile+or+file+already+closed").unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.err_line().unwrap().code, ErrorCode::NoTempFile);
}

#[test]
fn get_paths_ordered_and_possibly_empty() {
    let cmd = GetPaths::new("testdom", "wire/gp-1")
        .noverify(true)
        .pathcount(5)
        .zone("alt");
    assert_eq!(
        wire(&cmd),
        "get_paths domain=testdom&key=wire/gp-1&noverify=1&pathcount=5&zone=alt\r\n"
    );
    let line = "OK path2=http://127.0.0.2:7600/dev4/0/000/090/0000090014.fid&path1=http://127.0.0.1:7500/dev1/0/000/090/0000090014.fid&paths=2\r\n";
    let paths = ok::<GetPaths>(line);
    assert_eq!(
        paths[0].as_str(),
        "http://127.0.0.1:7500/dev1/0/000/090/0000090014.fid"
    );
    assert_eq!(
        paths[1].as_str(),
        "http://127.0.0.2:7600/dev4/0/000/090/0000090014.fid"
    );
    reencodes::<GetPaths>(line);
    assert!(ok::<GetPaths>("OK paths=0\r\n").is_empty());
    let unknown = Response::decode_line(b"ERR unknown_key unknown_key").unwrap();
    let code = GetPaths::parse_reply(unknown)
        .unwrap_err()
        .err_line()
        .unwrap()
        .code
        .clone();
    assert_eq!(code, ErrorCode::UnknownKey);
    assert_eq!(GetPaths::error_meaning(&code), ErrorMeaning::UnknownKey);
    let short = Response::decode_line(b"OK paths=2&path1=a").unwrap();
    assert!(GetPaths::parse_reply(short).is_err());
}

#[test]
fn simple_file_commands() {
    assert_eq!(
        wire(&Delete::new("d", "a b")),
        "delete domain=d&key=a+b\r\n"
    );
    assert_eq!(
        wire(&Rename::new("d", "x/1", "x&2")),
        "rename domain=d&from_key=x/1&to_key=x%262\r\n"
    );
    assert_eq!(
        wire(&UpdateFileClass::new("d", "k", "c2")),
        "updateclass domain=d&key=k&class=c2\r\n"
    );
    assert_eq!(wire(&Noop::new()), "noop \r\n");
    ok::<Delete>("OK \r\n");
    ok::<Rename>("OK \r\n");
    ok::<UpdateFileClass>("OK \r\n");
    ok::<Noop>("OK callid=1\r\n");
    let err = Rename::parse_reply(
        Response::decode_line(
            b"ERR key_exists Target+key+name+already+exists%3B+can%27t+overwrite.",
        )
        .unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        ReplyError::Tracker(ErrLine::new(ErrorCode::KeyExists)),
        "canned text matches the capture"
    );
}

#[test]
fn file_info_with_devids_and_checksum() {
    assert_eq!(
        wire(&FileInfo::new("d", "k").devices(true)),
        "file_info domain=d&key=k&devices=1\r\n"
    );
    let line =
        "OK length=14&devids=2,3&key=wire/fi-1&domain=testdom&fid=90028&devcount=2&class=c2\r\n";
    let info = ok::<FileInfo>(line);
    assert_eq!(info.devids, Some(vec![DevId(2), DevId(3)]));
    assert_eq!(info.checksum, None);
    assert_eq!(info.key, Key::from("wire/fi-1"));
    reencodes::<FileInfo>(line);
    let hashed =
        "OK fid=90051&domain=tmpdom&devcount=1&class=k2&length=14&checksum=MISSING&key=hashed\r\n";
    assert_eq!(
        ok::<FileInfo>(hashed).checksum,
        Some(ChecksumState::Missing)
    );
    reencodes::<FileInfo>(hashed);
    let present = "OK fid=1&domain=d&devcount=1&class=k2&length=0&checksum=MD5:d41d8cd98f00b204e9800998ecf8427e&key=k\r\n";
    assert!(
        matches!(ok::<FileInfo>(present).checksum, Some(ChecksumState::Present(c)) if c.hash == HashType::Md5)
    );
    reencodes::<FileInfo>(present);
    let nul = "OK key=enc/nul%00here&length=1&devcount=1&class=default&domain=testdom&fid=9\r\n";
    assert_eq!(ok::<FileInfo>(nul).key.as_bytes(), b"enc/nul\0here");
    reencodes::<FileInfo>(nul);
}

/// `file_info` reads its fields in one pass (`Args::first_of`), with the meaning of reading them
/// one by one with `Args::get`: a repeated name gives its first value, and of several missing or
/// bad fields the first in declaration order is reported.
#[test]
fn file_info_reads_first_values_and_reports_the_first_bad_field() {
    let parse = |line: &str| {
        let Response::Ok(args) = Response::decode_line(line.as_bytes()).unwrap() else {
            panic!()
        };
        FileInfo::parse_ok(&args)
    };
    let info =
        parse("OK fid=1&domain=d&class=c&key=k&length=2&devcount=3&fid=9&key=z&callid=4").unwrap();
    assert_eq!(
        (info.fid, info.key, info.length),
        (Fid(1), Key::from("k"), 2)
    );
    assert_eq!(
        parse("OK length=2&class=c").unwrap_err(),
        DecodeError::MissingField("fid".into())
    );
    assert_eq!(
        parse("OK fid=1&domain=d&length=2").unwrap_err(),
        DecodeError::MissingField("class".into())
    );
    assert!(matches!(
        parse("OK fid=x&domain=d&class=c&key=k&length=y&devcount=3"),
        Err(DecodeError::BadField { field, .. }) if field == "fid"
    ));
    assert!(matches!(
        parse("OK fid=1&domain=%FF&class=c&key=k&length=2&devcount=3"),
        Err(DecodeError::BadField { field, .. }) if field == "domain"
    ));
    assert!(matches!(
        parse("OK fid=1&domain=d&class=c&key=k&length=2&devcount=3&devids=1,x"),
        Err(DecodeError::BadField { field, .. }) if field == "devids"
    ));
}

#[test]
fn file_debug_by_key_or_fid() {
    assert_eq!(
        wire(&FileDebug::by_fid(Fid(90028))),
        "file_debug fid=90028\r\n"
    );
    assert_eq!(
        wire(&FileDebug::by_key("d", "k")),
        "file_debug domain=d&key=k\r\n"
    );
    let line = "OK fid_fid=90028&devpath_3=http://127.0.0.2:7600/dev3/0/000/090/0000090028.fid&devpath_2=http://127.0.0.1:7500/dev2/0/000/090/0000090028.fid&fid_domain=testdom&fid_classid=1&fid_length=14&checksum=NONE&fid_devcount=2&fid_class=c2&fid_dkey=wire/fi-1&fid_dmid=1&devids=2,3\r\n";
    let info = ok::<FileDebug>(line);
    assert_eq!(info.fid(), Ok(Some(Fid(90028))));
    assert_eq!(info.devids(), Ok(vec![DevId(2), DevId(3)]));
    assert_eq!(info.devpaths().unwrap()[0].0, DevId(3));
    assert!(!info.has_open_upload());
    reencodes::<FileDebug>(line);
    let temp = ok::<FileDebug>(
        "OK checksum=NONE&tempfile_dmid=1&tempfile_dkey=wire/fi-temp&tempfile_devids=2&tempfile_classid=0\r\n",
    );
    assert!(temp.has_open_upload());
    assert_eq!(temp.fid(), Ok(None));
}

#[test]
fn list_keys_pages_and_none_match_is_empty() {
    let cmd = ListKeys::new("testdom")
        .prefix("lk/")
        .after("lk/b")
        .limit(2);
    assert_eq!(
        wire(&cmd),
        "list_keys domain=testdom&prefix=lk/&after=lk/b&limit=2\r\n"
    );
    let line = "OK key_3=lk/b&key_5=lk/d&next_after=lk/e&key_2=lk/a&key_1=LK/upper&key_4=lk/c&key_count=6&key_6=lk/e\r\n";
    let page = ok::<ListKeys>(line);
    let keys: Vec<_> = page.keys.iter().map(|k| k.to_string()).collect();
    assert_eq!(keys, ["LK/upper", "lk/a", "lk/b", "lk/c", "lk/d", "lk/e"]);
    assert_eq!(page.next_after, Some(Key::from("lk/e")));
    reencodes::<ListKeys>(line);
    let none = "ERR none_match No+keys+match+that+pattern+and+after-value+%28if+any%29.\r\n";
    assert_eq!(ok::<ListKeys>(none), KeyPage::default());
    let mismatch =
        Response::decode_line(b"ERR after_mismatch Pattern+does+not+match+the+after-value%3F")
            .unwrap();
    assert!(ListKeys::parse_reply(mismatch).is_err());
}

#[test]
fn list_fids_rows() {
    assert_eq!(
        wire(&ListFids::new().from(Fid(0)).count(2)),
        "list_fids from=0&to=2\r\n"
    );
    let line = "OK fid_1_domain=testdom&fid_1_class=c2&fid_1_fid=2&fid_1_key=wire/create-multi&fid_2_devcount=2&fid_2_length=3&fid_2_class=default&fid_2_domain=testdom&fid_2_fid=90001&fid_1_devcount=2&fid_2_key=wire/create-fid&fid_1_length=5&fid_count=2\r\n";
    let rows = ok::<ListFids>(line);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].fid, Fid(90001));
    assert_eq!(rows[0].key, Key::from("wire/create-multi"));
    reencodes::<ListFids>(line);
    assert!(ok::<ListFids>("OK fid_count=0\r\n").is_empty());
}

#[test]
fn command_metadata() {
    assert_eq!(UpdateFileClass::NAME, "updateclass");
    assert_eq!(UpdateClass::NAME, "update_class");
    assert_eq!(GetPaths::KIND, CommandKind::File);
    assert_eq!(GetDomains::KIND, CommandKind::Admin);
    const { assert!(!CreateOpen::IDEMPOTENT && !CreateClose::IDEMPOTENT && GetPaths::IDEMPOTENT) };
    // Issue 4: only reads are resent after a lost reply; every state change (setters
    // included) is "outcome unknown".
    let resendable = [
        GetPaths::IDEMPOTENT,
        FileInfo::IDEMPOTENT,
        FileDebug::IDEMPOTENT,
        ListKeys::IDEMPOTENT,
        ListFids::IDEMPOTENT,
        Noop::IDEMPOTENT,
        GetDomains::IDEMPOTENT,
        GetHosts::IDEMPOTENT,
        GetDevices::IDEMPOTENT,
        ServerSettings::IDEMPOTENT,
        ServerSetting::IDEMPOTENT,
        FsckStatus::IDEMPOTENT,
        FsckGetLog::IDEMPOTENT,
        RebalanceStatus::IDEMPOTENT,
    ];
    assert!(resendable.iter().all(|&i| i));
    let mutating = [
        CreateClose::IDEMPOTENT,
        Delete::IDEMPOTENT,
        Rename::IDEMPOTENT,
        UpdateFileClass::IDEMPOTENT,
        CreateDomain::IDEMPOTENT,
        DeleteDomain::IDEMPOTENT,
        CreateClass::IDEMPOTENT,
        UpdateClass::IDEMPOTENT,
        DeleteClass::IDEMPOTENT,
        CreateHost::IDEMPOTENT,
        UpdateHost::IDEMPOTENT,
        DeleteHost::IDEMPOTENT,
        CreateDevice::IDEMPOTENT,
        SetState::IDEMPOTENT,
        SetWeight::IDEMPOTENT,
        SetServerSetting::IDEMPOTENT,
        FsckStart::IDEMPOTENT,
        FsckStop::IDEMPOTENT,
        FsckReset::IDEMPOTENT,
        FsckClearLog::IDEMPOTENT,
        RebalanceStart::IDEMPOTENT,
        RebalanceStop::IDEMPOTENT,
        RebalanceReset::IDEMPOTENT,
        RebalanceSetPolicy::IDEMPOTENT,
    ];
    assert!(mutating.iter().all(|&i| !i));
}

#[test]
fn get_domains_from_capture() {
    let line = "OK domains=1&domain1class2hashtype=NONE&domain1class2mindevcount=2&domain1class2name=c2&domain1=testdom&domain1class2replpolicy=MultipleHosts%28%29&domain1class1mindevcount=2&domain1class1hashtype=NONE&domain1class1replpolicy=MultipleHosts%28%29&domain1class1name=default&domain1classes=2\r\n";
    let domains = ok::<GetDomains>(line);
    assert_eq!(
        domains,
        vec![DomainInfo {
            name: "testdom".into(),
            classes: vec![
                ClassInfo {
                    name: "default".into(),
                    mindevcount: 2,
                    replpolicy: "MultipleHosts()".into(),
                    hashtype: None
                },
                ClassInfo {
                    name: "c2".into(),
                    mindevcount: 2,
                    replpolicy: "MultipleHosts()".into(),
                    hashtype: None
                },
            ],
        }]
    );
    reencodes::<GetDomains>(line);
    let md5 = "OK domains=1&domain1=d&domain1classes=1&domain1class1name=k2&domain1class1mindevcount=2&domain1class1replpolicy=MultipleHosts%282%29&domain1class1hashtype=MD5\r\n";
    assert_eq!(
        ok::<GetDomains>(md5)[0].classes[0].hashtype,
        Some(HashType::Md5)
    );
    let broken =
        Response::decode_line(b"OK domains=1&domain1=d&domain1classes=1&domain1class1name=k")
            .unwrap();
    assert_eq!(
        GetDomains::parse_reply(broken),
        Err(ReplyError::Decode(DecodeError::MissingField(
            "domain1class1mindevcount".into()
        )))
    );
    assert_eq!(
        wire(
            &CreateClass::new("tmpdom", "k2", 2)
                .replpolicy("MultipleHosts(2)")
                .hashtype(Some(HashType::Md5))
        ),
        "create_class domain=tmpdom&class=k2&mindevcount=2&replpolicy=MultipleHosts%282%29&hashtype=MD5\r\n"
    );
    assert_eq!(
        ok::<UpdateClass>("OK mindevcount=1&class=default&domain=tmpdom\r\n"),
        ClassOutput {
            domain: "tmpdom".into(),
            class: "default".into(),
            mindevcount: 1
        }
    );
    assert_eq!(ok::<CreateDomain>("OK domain=tmpdom\r\n"), "tmpdom");
}

#[test]
fn hosts_and_devices_from_capture() {
    let hosts = "OK host1_http_port=7700&host1_http_get_port=7701&host1_hostname=storeC&host1_altip=127.0.0.5&host1_hostid=3&host1_status=alive&hosts=1&host1_hostip=127.0.0.3&host1_altmask=127.0.0.0/8\r\n";
    assert_eq!(
        ok::<GetHosts>(hosts),
        vec![HostInfo {
            hostid: 3,
            status: "alive".into(),
            hostname: "storeC".into(),
            hostip: "127.0.0.3".into(),
            http_port: Some(7700),
            http_get_port: Some(7701),
            altip: Some("127.0.0.5".into()),
            altmask: Some("127.0.0.0/8".into()),
        }]
    );
    let unset = ok::<GetHosts>(
        "OK host1_http_get_port=&host1_http_port=7600&host1_altip=&host1_hostname=storeB&hosts=1&host1_hostid=2&host1_status=alive&host1_altmask=&host1_hostip=127.0.0.2\r\n",
    );
    assert_eq!(
        (unset[0].http_get_port, unset[0].altip.as_deref()),
        (None, None)
    );
    assert_eq!(
        wire(&CreateHost::new("storeA", "127.0.0.1", 7500).status("alive")),
        "create_host host=storeA&ip=127.0.0.1&port=7500&status=alive\r\n"
    );
    assert_eq!(
        ok::<CreateHost>("OK hostid=1&hostname=storeA\r\n"),
        HostRef {
            hostid: 1,
            hostname: "storeA".into()
        }
    );
    let devices = "OK dev1_status=alive&dev1_mb_total=&dev1_mb_free=&dev1_mb_asof=&dev1_weight=100&dev1_reject_bad_md5=&dev1_observed_state=&dev1_mb_used=&dev1_utilization=&dev1_hostid=3&devices=1&dev1_devid=9\r\n";
    let dev = &ok::<GetDevices>(devices)[0];
    assert_eq!(
        (dev.devid, dev.hostid, dev.weight, dev.mb_total),
        (DevId(9), 3, Some(100), None)
    );
    reencodes::<GetDevices>(devices);
    let measured = "OK devices=1&dev1_devid=1&dev1_utilization=&dev1_hostid=1&dev1_mb_used=12135&dev1_observed_state=writeable&dev1_reject_bad_md5=1&dev1_mb_total=93052&dev1_mb_free=80917&dev1_mb_asof=&dev1_weight=50&dev1_status=alive\r\n";
    let dev = &ok::<GetDevices>(measured)[0];
    assert_eq!(dev.mb_free, Some(80917));
    assert_eq!(dev.observed_state.as_deref(), Some("writeable"));
    assert_eq!(dev.reject_bad_md5, Some(true));
    assert_eq!(
        wire(&CreateDevice::new(DevId(1), "storeA").state("alive")),
        "create_device hostname=storeA&devid=1&state=alive\r\n"
    );
    assert_eq!(
        wire(&SetWeight::new("storeA", DevId(1), 50)),
        "set_weight host=storeA&device=1&weight=50\r\n"
    );
    assert_eq!(
        wire(&SetState::new("storeC", DevId(9), "readonly")),
        "set_state host=storeC&device=9&state=readonly\r\n"
    );
}

#[test]
fn settings_fsck_rebalance_and_maintenance_from_capture() {
    let settings =
        "OK key_2=schema_version&key_count=2&key_1=memcache_servers&value_2=17&value_1=\r\n";
    assert_eq!(
        ok::<ServerSettings>(settings),
        vec![
            ("memcache_servers".into(), String::new()),
            ("schema_version".into(), "17".into())
        ]
    );
    reencodes::<ServerSettings>(settings);
    assert_eq!(
        ok::<ServerSetting>("OK key=nope&value=\r\n"),
        ("nope".to_owned(), String::new())
    );
    let fsck = "OK end_fid=0&start_time=0&policy_only=0&max_logid=0&max_fid_checked=0&running=0&host=&stop_time=0&current_time=1795620982\r\n";
    let status = ok::<FsckStatus>(fsck);
    assert!(!status.running);
    assert_eq!(status.current_time, 1_795_620_982);
    assert!(status.counters.is_empty());
    reencodes::<FsckStatus>(fsck);
    let counted = "OK end_fid=9&start_time=1&policy_only=1&max_logid=3&max_fid_checked=9&running=1&host=t1&stop_time=0&current_time=2&num_NOPA=2&num_REPL=1\r\n";
    assert_eq!(
        ok::<FsckStatus>(counted).counters,
        vec![("NOPA".to_owned(), 2), ("REPL".to_owned(), 1)]
    );
    reencodes::<FsckStatus>(counted);
    assert!(ok::<FsckGetLog>("OK row_count=0\r\n").is_empty());
    let log = "OK row_count=1&row_1_logid=5&row_1_utime=100&row_1_fid=7&row_1_evcode=NOPA&row_1_devid=\r\n";
    assert_eq!(ok::<FsckGetLog>(log)[0].devid, None);
    reencodes::<FsckGetLog>(log);
    let rebal = ok::<RebalanceTest>("OK sdevs=1,2&ddevs=3\r\n");
    assert_eq!(rebal.ddevs, vec![DevId(3)]);
    assert_eq!(ok::<ReplicateNow>("OK count=0\r\n"), 0);
    assert_eq!(wire(&Sleep::new(1)), "sleep duration=1\r\n");
    assert_eq!(wire(&Test::new().crash(true)), "test crash=1\r\n");
    assert_eq!(
        wire(&FsckReset::new().policy_only(true).startpos(Fid(5))),
        "fsck_reset policy_only=1&startpos=5\r\n"
    );
    assert_eq!(wire(&ClearCache::new()), "clear_cache \r\n");
    let err = Test::parse_reply(Response::decode_line(b"ERR failure Operation+failed").unwrap());
    assert_eq!(
        err,
        Err(ReplyError::Tracker(ErrLine::new(ErrorCode::Failure)))
    );
}

/// `indexed_map` reads the count and the first rows in one pass, and more rows than it keeps
/// on the stack in a second: both give what the two-step reading (`count`, then each
/// `<prefix><index>`) gives, errors included.
#[test]
fn indexed_rows_read_in_one_pass_as_in_two() {
    fn two_step(args: &Args) -> Result<Vec<Vec<u8>>, DecodeError> {
        let count = super::count(args, "paths")?;
        (1..=count)
            .map(|i| {
                let name = format!("path{i}");
                // The last value of a repeated name, as the one-pass reader keeps it.
                args.iter()
                    .filter(|(n, _)| *n == name.as_bytes())
                    .last()
                    .map(|(_, v)| v.to_vec())
                    .ok_or_else(|| DecodeError::missing(&name))
            })
            .collect()
    }
    let one_pass = |args: &Args| super::indexed_map(args, "paths", "path", |_, v| Ok(v.to_vec()));
    let mut cases: Vec<String> = vec![
        "paths=2&path1=a&path2=b".into(),
        "path2=b&paths=2&path1=a&callid=9".into(),
        // The first count counts; a repeated row's last value wins; rows past the count and
        // malformed indexes are ignored.
        "paths=1&paths=2&path1=a&path1=c&path2=b".into(),
        "paths=1&path1=a&path2=b&path01=x&path0=y&pathx=z".into(),
        "paths=0".into(),
        "path1=a".into(),
        "paths=x&path1=a".into(),
        "paths=3&path1=a&path2=b".into(),
        "paths=9&path1=a".into(),
        "paths=-1".into(),
    ];
    // Past the rows kept on the stack (16), in and out of order.
    for n in [16, 17, 40] {
        let mut pairs: Vec<String> = (1..=n).map(|i| format!("path{i}=u{i}")).collect();
        pairs.push(format!("paths={n}"));
        cases.push(pairs.join("&"));
        pairs.reverse();
        cases.push(pairs.join("&"));
        pairs.retain(|p| p != "path17=u17");
        cases.push(pairs.join("&"));
    }
    for case in cases {
        let args = Args::decode(case.as_bytes());
        assert_eq!(one_pass(&args), two_step(&args), "{case}");
    }
}
