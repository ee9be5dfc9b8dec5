//! `put -` from stdin and `get` to stdout stream a 32 MiB file with identical bytes.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{Env, assert_success};
use mogile_testkit::data::bytes;

#[test]
fn thirty_two_mib_through_stdin_and_stdout() {
    let env = Env::start();
    let data = bytes(32 * 1024 * 1024, 32);

    let mut put = env
        .cmd()
        .args([
            "put",
            "big/stream",
            "-",
            "--checksum",
            "md5",
            "--class",
            "md5",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = put.stdin.take().unwrap();
    // Feed stdin from another thread so a full pipe cannot deadlock the test.
    let feed = {
        let data = data.clone();
        std::thread::spawn(move || {
            for chunk in data.chunks(1 << 20) {
                stdin.write_all(chunk).unwrap();
            }
        })
    };
    let out = put.wait_with_output().unwrap();
    feed.join().unwrap();
    assert_success(&out);
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );

    let info = common::text(&env.ok(["info", "big/stream", "--json"]));
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["length"], 32 * 1024 * 1024);
    assert!(
        info["checksum"].as_str().unwrap().starts_with("MD5:"),
        "{info}"
    );

    let out = env
        .cmd()
        .args(["get", "big/stream", "-", "--verify"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_success(&out);
    assert!(
        out.stdout.len() == data.len() && out.stdout == data,
        "the bytes are identical"
    );
}
