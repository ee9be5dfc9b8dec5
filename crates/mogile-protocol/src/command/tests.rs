//! Unit tests of the typed commands: exact request bytes and replies taken from the captures.

use bytes::BytesMut;

use super::*;
use crate::error_code::ErrorCode;
use crate::response::TrackerErr;
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
    assert_eq!(err.tracker_err().unwrap().code, ErrorCode::NoTempFile);
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
    assert!(
        GetPaths::parse_reply(unknown)
            .unwrap_err()
            .tracker_err()
            .unwrap()
            .code
            .is_not_found()
    );
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
        ReplyError::Tracker(TrackerErr::new(ErrorCode::KeyExists)),
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
}
