//! `--json`: one document per command, parsed back; NDJSON for `ls`.

mod common;

use std::ffi::OsStr;

use common::{Env, text};
use serde_json::{Value, json};

fn doc(out: &[u8]) -> Value {
    let s = text(out);
    assert_eq!(s.lines().count(), 1, "one document on one line: {s}");
    serde_json::from_str(&s).unwrap()
}

#[test]
fn every_command_prints_one_document() {
    let env = Env::start();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::write(&src, b"hello json").unwrap();

    let put = doc(&env.ok([
        OsStr::new("--json"),
        OsStr::new("put"),
        OsStr::new("j/a"),
        src.as_os_str(),
    ]));
    assert_eq!(put["key"], "j/a");
    assert_eq!(put["bytes"], 10);

    let info = doc(&env.ok(["--json", "info", "j/a"]));
    assert_eq!(info["key"], "j/a");
    assert_eq!(info["length"], 10);
    assert_eq!(info["class"], "default");
    assert!(info["fid"].as_u64().unwrap() > 0);
    assert_eq!(info["devcount"], 1);

    let paths = doc(&env.ok(["--json", "paths", "j/a"]));
    assert_eq!(paths["key"], "j/a");
    assert_eq!(paths["paths"].as_array().unwrap().len(), 1);

    let debug = doc(&env.ok(["--json", "debug", "j/a"]));
    assert_eq!(debug["fid_length"], "10");

    let dst = dir.path().join("dst");
    let get = doc(&env.ok([
        OsStr::new("get"),
        OsStr::new("j/a"),
        dst.as_os_str(),
        OsStr::new("--json"),
    ]));
    assert_eq!(
        (get["key"].clone(), get["bytes"].clone()),
        (json!("j/a"), json!(10))
    );

    let mv = doc(&env.ok(["--json", "mv", "j/a", "j/b"]));
    assert_eq!(mv, json!({"from": "j/a", "to": "j/b"}));

    env.put("j/c", b"cc");
    let ls = text(&env.ok(["--json", "ls", "j/", "-l"]));
    let rows: Vec<Value> = ls
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "NDJSON, a key per line: {ls}");
    assert_eq!(rows[0]["key"], "j/b");
    assert_eq!(rows[0]["size"], 10);
    assert_eq!(rows[1]["key"], "j/c");
    assert_eq!(rows[1]["class"], "default");

    let rm = doc(&env.ok(["--json", "rm", "j/b"]));
    assert_eq!(rm, json!({"key": "j/b", "deleted": true}));

    let domains = doc(&env.ok(["--json", "admin", "domain", "list"]));
    assert!(
        domains
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["domain"] == common::DOMAIN),
        "{domains}"
    );
}
