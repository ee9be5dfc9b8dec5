//! `get` to stdout when replicas fail mid-stream: resumed on the next replica with identical
//! bytes, or, when nothing can continue, a non-zero exit with only a prefix of the file written.

mod common;

use common::{Env, assert_code, assert_success, text};
use mogile_testkit::data::bytes;
use mogile_testkit::storage::{Fault, FaultRule, StorageNode};

const SIZE: usize = 4 * 1024 * 1024;

/// Stores a replicated file and returns it with the node serving its first path.
fn replicated(env: &Env, key: &str) -> (Vec<u8>, u16) {
    let data = bytes(SIZE, 7);
    let src = env.home.path().join("src");
    std::fs::write(&src, &data).unwrap();
    env.ok([
        "put".as_ref(),
        key.as_ref(),
        src.as_os_str(),
        "--class".as_ref(),
        "c2".as_ref(),
    ]);
    env.replicate();
    let paths = text(&env.ok(["paths", key, "--noverify"]));
    assert_eq!(paths.lines().count(), 2, "{paths}");
    let first = paths.lines().next().unwrap();
    let port = first.split(':').nth(2).unwrap().split('/').next().unwrap();
    (data, port.parse().unwrap())
}

fn node(env: &Env, port: u16) -> &StorageNode {
    env.cluster()
        .nodes()
        .into_iter()
        .find(|n| n.addr().port() == port)
        .unwrap()
}

fn reset_gets() -> FaultRule {
    FaultRule::new(Fault::ResetAfter {
        body_bytes: 1024 * 1024,
    })
    .method(http::Method::GET)
}

#[test]
fn a_replica_dying_mid_stream_is_resumed_on_the_next() {
    let env = Env::start();
    let (data, port) = replicated(&env, "fo/resume");
    node(&env, port).inject(reset_gets().times(1));
    for n in env.cluster().nodes() {
        n.clear_requests();
    }
    let out = env.cmd().args(["get", "fo/resume"]).output().unwrap();
    assert_success(&out);
    assert!(
        out.stdout == data,
        "identical bytes ({} of {})",
        out.stdout.len(),
        data.len()
    );
    // The fault did fire: the other replica was asked to continue with a Range request.
    let resumed = env
        .cluster()
        .nodes()
        .into_iter()
        .filter(|n| n.addr().port() != port)
        .flat_map(|n| n.requests())
        .any(|r| r.method == http::Method::GET && r.headers.contains_key(http::header::RANGE));
    assert!(
        resumed,
        "the next replica was asked for the rest with Range"
    );
}

#[test]
fn when_nothing_can_continue_only_a_prefix_is_written_and_the_exit_is_1() {
    let env = Env::start();
    let (data, _) = replicated(&env, "fo/broken");
    for n in env.cluster().nodes() {
        n.inject(reset_gets());
    }
    let out = env.cmd().args(["get", "fo/broken", "-"]).output().unwrap();
    let stderr = assert_code(&out, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("fo/broken"), "{stderr}");
    assert!(out.stdout.len() < data.len());
    assert!(
        data.starts_with(&out.stdout),
        "stdout is a prefix of the file, never a second copy"
    );
}
