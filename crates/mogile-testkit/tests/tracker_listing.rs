//! `list_keys`, `list_fids` and key encoding, with the request lines of `tracker_list_keys.txt` and
//! `tracker_keys_encoding.txt`.

#[path = "tracker_common.rs"]
mod common;

use common::{Cluster, pairs};

const NONE_MATCH: &str =
    "ERR none_match No+keys+match+that+pattern+and+after-value+%28if+any%29.\r\n";

#[tokio::test]
async fn list_keys_follows_the_capture() {
    let c = Cluster::start(&[1]).await;
    let mut t = c.conn().await;
    for key in [
        "0",
        "lk%2Fa",
        "lk%2Fb",
        "lk%2Fc",
        "lk%2Fd",
        "lk%2Fe",
        "LK%2Fupper",
        "lk_x",
        "lk%25y",
        "wire%2Fcreate-1",
    ] {
        c.store(&mut t, key, None, b"x").await;
    }
    let all6 = "OK key_1=LK/upper&key_2=lk/a&key_3=lk/b&key_4=lk/c&key_5=lk/d&key_6=lk/e&key_count=6&next_after=lk/e\r\n";
    t.expect("list_keys domain=testdom&prefix=lk%2F", all6)
        .await;
    t.expect(
        "list_keys domain=testdom&prefix=lk%2F&limit=2",
        "OK key_count=2&key_1=LK/upper&key_2=lk/a&next_after=lk/a\r\n",
    )
    .await;
    t.expect(
        "list_keys domain=testdom&prefix=lk%2F&after=lk%2Fb&limit=2",
        "OK key_2=lk/d&key_1=lk/c&key_count=2&next_after=lk/d\r\n",
    )
    .await;
    t.expect(
        "list_keys domain=testdom&prefix=lk%2F&after=lk%2Fe",
        NONE_MATCH,
    )
    .await;
    t.expect(
        "list_keys domain=testdom&prefix=lk%2F&after=zz",
        "ERR after_mismatch Pattern+does+not+match+the+after-value%3F\r\n",
    )
    .await;
    t.expect(
        "list_keys domain=testdom&after=lk%2Fd&limit=3",
        "OK key_1=lk/e&key_3=wire/create-1&key_count=3&key_2=lk_x&next_after=wire/create-1\r\n",
    )
    .await;
    t.expect(
        "list_keys domain=testdom&limit=3",
        "OK key_2=LK/upper&key_3=lk%25y&key_1=0&key_count=3&next_after=lk%25y\r\n",
    )
    .await;
    for limit in ["0", "5000", "-1"] {
        t.expect(
            &format!("list_keys domain=testdom&prefix=lk%2F&limit={limit}"),
            all6,
        )
        .await;
    }
    t.expect(
        "list_keys domain=testdom&prefix=lk%2F&limit=abc",
        NONE_MATCH,
    )
    .await;
    t.expect(
        "list_keys domain=testdom&prefix=nothing-here%2F",
        NONE_MATCH,
    )
    .await;
    t.expect("list_keys domain=testdom&prefix=LK%2F", all6)
        .await;
    t.expect(
        "list_keys domain=testdom&prefix=lk_",
        "OK next_after=lk_x&key_count=1&key_1=lk_x\r\n",
    )
    .await;
    t.expect(
        "list_keys domain=testdom&prefix=lk%25",
        "OK next_after=lk%25y&key_1=lk%25y&key_count=1\r\n",
    )
    .await;
    t.expect(
        "list_keys domain=testdom&prefix=lk%28&after=lk%28a",
        "ERR failure Operation+failed\r\n",
    )
    .await;
    t.expect(
        "list_keys domain=testdom&prefix=l.&after=lk%2Fb",
        NONE_MATCH,
    )
    .await;
    t.expect(
        "list_keys prefix=lk%2F",
        "ERR no_domain No+domain+provided\r\n",
    )
    .await;
    t.expect(
        "list_keys domain=nosuchdomain&prefix=lk%2F",
        "ERR unreg_domain Domain+name+invalid/not+found\r\n",
    )
    .await;

    // the server setting makes the prefix match case-sensitive
    t.expect(
        "set_server_setting key=case_sensitive_list_keys&value=1",
        "OK \r\n",
    )
    .await;
    t.expect(
        "list_keys domain=testdom&prefix=lk%2F",
        "OK key_1=lk/a&key_2=lk/b&key_3=lk/c&key_4=lk/d&key_5=lk/e&key_count=5&next_after=lk/e\r\n",
    )
    .await;

    // list_fids: from is exclusive, to is a count
    let p = pairs(&t.req("list_fids from=0&to=2").await);
    assert_eq!(p["fid_count"], "2");
    assert_eq!(
        (
            p["fid_1_fid"].as_str(),
            p["fid_1_key"].as_str(),
            p["fid_1_class"].as_str()
        ),
        ("1", "0", "default")
    );
    assert_eq!(
        (
            p["fid_2_fid"].as_str(),
            p["fid_2_key"].as_str(),
            p["fid_2_devcount"].as_str()
        ),
        ("2", "lk/a", "1")
    );
    assert_eq!(p.len(), 13);
    t.expect("list_fids from=999999&to=2", "OK fid_count=0\r\n")
        .await;
}

#[tokio::test]
async fn keys_are_bytes_and_arguments_decode_like_the_server() {
    let c = Cluster::start(&[1]).await;
    let mut t = c.conn().await;
    let names = [
        "enc%2Fwith+space",
        "enc%2Famp%26ersand",
        "enc%2Fequals%3Dsign",
        "enc%2Fpercent%25",
        "enc%2Fplus%2Bsign",
        "enc%2Funicode-%C3%A9-%C3%BC-%E2%82%AC-%E2%98%83",
        "enc%2Fnul%00here",
        "enc%2Fslash%2Fand%5Cbackslash",
        "enc%2Fpunct+%21%22%23%24%27%28%29%2A%2C-.%3A%3B%3C%3E%3F%40%5B%5D%5E_%60%7B%7C%7D~",
    ];
    for name in names {
        c.store(&mut t, name, None, b"x").await;
    }
    let listed = pairs(&t.req("list_keys domain=testdom&prefix=enc%2F").await);
    let mut keys: Vec<&str> = listed
        .iter()
        .filter(|(k, _)| k.starts_with("key_") && *k != "key_count")
        .map(|(_, v)| v.as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "enc/amp%26ersand",
            "enc/equals%3Dsign",
            "enc/nul%00here",
            "enc/percent%25",
            "enc/plus%2Bsign",
            "enc/punct+%21%22%23%24%27%28%29%2A,-.:%3B%3C%3E%3F%40%5B%5D%5E_%60%7B%7C%7D%7E",
            "enc/slash/and\\backslash",
            "enc/unicode-%C3%A9-%C3%BC-%E2%82%AC-%E2%98%83",
            "enc/with+space",
        ]
    );
    let fid = |key: &str| c.model.file("testdom", key).unwrap().fid;
    let uni = fid("enc/unicode-\u{e9}-\u{fc}-\u{20ac}-\u{2603}");
    let space = fid("enc/with space");
    let ok_space = format!(
        "OK devcount=1&class=default&domain=testdom&fid={space}&key=enc/with+space&length=1\r\n"
    );
    let ok_uni = format!(
        "OK key=enc/unicode-%C3%A9-%C3%BC-%E2%82%AC-%E2%98%83&length=1&devcount=1&class=default&domain=testdom&fid={uni}\r\n"
    );
    // raw UTF-8 bytes and lower-case escapes are the same key
    t.send(
        b"file_info domain=testdom&key=enc/unicode-\xc3\xa9-\xc3\xbc-\xe2\x82\xac-\xe2\x98\x83\r\n",
    )
    .await;
    common::assert_reply(
        &String::from_utf8(t.line().await.unwrap()).unwrap(),
        &ok_uni,
        "raw utf-8",
    );
    t.expect(
        "file_info domain=testdom&key=enc/unicode-%c3%a9-%c3%bc-%e2%82%ac-%e2%98%83",
        &ok_uni,
    )
    .await;
    t.expect("file_info domain=testdom&key=enc/with+space", &ok_space)
        .await;
    t.expect(
        "file_info domain=testdom&key=enc/plus+sign",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect("file_info domain=testdom&key=enc/with space", &ok_space)
        .await;
    t.expect(
        "file_info domain=testdom&key=enc/equals=sign",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect(
        "file_info domain=testdom&key=enc/amp&ersand",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    let pct = fid("enc/percent%");
    t.expect(
        "file_info domain=testdom&key=enc/percent%",
        &format!(
            "OK devcount=1&class=default&fid={pct}&domain=testdom&key=enc/percent%25&length=1\r\n"
        ),
    )
    .await;
    t.expect(
        "file_info domain=testdom&key=enc/%zz",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect("file_info dom%61in=testdom&k%65y=enc/with+space", &ok_space)
        .await;
    t.expect(
        "file_info domain=testdom&key=enc/with+space&key=other",
        "ERR unknown_key unknown_key\r\n",
    )
    .await;
    t.expect(
        "file_info domain=testdom&domain=testdom&key=enc/with+space",
        "ERR unreg_domain Domain+name+invalid/not+found\r\n",
    )
    .await;
    t.expect(
        "file_info &&domain=testdom&&key=enc/with+space&&",
        &ok_space,
    )
    .await;
    t.expect("file_info domain=testdom&key", "ERR no_key no_key\r\n")
        .await;
    t.expect(
        "list_keys domain=testdom&prefix=enc%2Fnul",
        "OK key_1=enc/nul%00here&key_count=1&next_after=enc/nul%00here\r\n",
    )
    .await;
}
