//! `-v`, `-vv`, `-vvv`, `RUST_LOG` and `--log-format json`: what the client did, on stderr.

mod common;

use std::process::Output;

use common::{Env, assert_success, text};
use mogile_testkit::data::bytes;
use mogile_testkit::storage::{Fault, FaultRule};
use mogile_testkit::tracker::{Fault as TrackerFault, FaultAction};

const SIZE: usize = 256 * 1024;

/// Stores a file with two replicas; returns it with its two URLs in the order `get` reads them.
fn replicated(env: &Env, key: &str) -> (Vec<u8>, String, String) {
    let data = bytes(SIZE, 11);
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
    // Weight 0 everywhere: the tracker lists replicas in devid order, the same for `paths` and
    // `get`, so the test knows which one `get` reads first.
    for devid in 1..=4 {
        env.ok(["admin", "device", "set-weight", &devid.to_string(), "0"]);
    }
    let paths = text(&env.ok(["paths", key, "--noverify"]));
    let mut lines = paths.lines().map(str::to_owned);
    let (first, second) = (lines.next().unwrap(), lines.next().unwrap());
    (data, first, second)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Lines at `level`.
fn at<'a>(log: &'a str, level: &str) -> Vec<&'a str> {
    log.lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(level))
        .collect()
}

#[test]
fn v_shows_the_failovers_naming_the_tracker_that_answered_and_the_replica_that_served() {
    let env = Env::start();
    let (data, first, second) = replicated(&env, "v/get");
    let tracker = env.trackers.clone();
    // The first get_paths loses its reply, and the first replica answers 500.
    env.cluster().trackers()[0].inject(
        TrackerFault::new(FaultAction::Drop)
            .command("get_paths")
            .times(1),
    );
    let port: u16 = first
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let node = env
        .cluster()
        .nodes()
        .into_iter()
        .find(|n| n.addr().port() == port)
        .unwrap();
    node.inject(
        FaultRule::new(Fault::Status(500))
            .method(http::Method::GET)
            .times(1),
    );

    let out = env.run(["-v", "get", "v/get", "-"]);
    assert_success(&out);
    assert!(out.stdout == data, "identical bytes");
    let log = stderr(&out);
    let warnings = at(&log, "WARN");
    assert_eq!(
        warnings.len(),
        log.lines().count(),
        "only warnings at -v:\n{log}"
    );
    let line = |needle: &str| {
        warnings
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{log}"))
            .to_string()
    };
    // Which tracker failed and why, then which one answered.
    let failed = line("tracker failed; trying another");
    assert!(failed.contains(&format!("tracker={tracker}")), "{failed}");
    assert!(failed.contains("get_paths"), "{failed}");
    let answered = line("answered after failover");
    assert!(
        answered.contains(&format!("tracker={tracker}")),
        "{answered}"
    );
    assert!(answered.contains("attempt=2"), "{answered}");
    // Which replica failed and why, and which one served the file.
    let resumed = line("replica failed; resuming on the next");
    assert!(resumed.contains(&format!("failed={first}")), "{resumed}");
    assert!(resumed.contains(&format!("next={second}")), "{resumed}");
    assert!(resumed.contains("500"), "{resumed}");
    assert!(resumed.contains("offset=0"), "{resumed}");
}

#[test]
fn vv_shows_each_operation_as_it_ends_and_vvv_every_request() {
    let env = Env::start();
    let (data, first, _) = replicated(&env, "v/ops");
    let tracker = env.trackers.clone();

    let out = env.run(["-vv", "get", "v/ops", "-"]);
    assert_success(&out);
    assert!(out.stdout == data);
    let log = stderr(&out);
    let info = at(&log, "INFO");
    assert!(!info.is_empty(), "{log}");
    assert!(at(&log, "DEBUG").is_empty(), "{log}");
    // The get's line as it closes: the key, its length and the replica that served it.
    let get = info
        .iter()
        .find(|l| l.contains("get{") && l.contains("close"))
        .unwrap_or_else(|| panic!("no get span in:\n{log}"));
    assert!(get.contains("key=v/ops"), "{get}");
    assert!(get.contains(&format!("length={SIZE}")), "{get}");
    assert!(get.contains(&format!("replica={first}")), "{get}");

    // `-v -v` counts as `-vv`.
    let again = env.run(["-v", "-v", "get", "v/ops", "-"]);
    assert_success(&again);
    assert!(stderr(&again).contains("get{"), "{}", stderr(&again));

    // -vvv: every tracker request (which tracker answered) and storage transfer.
    let out = env.run(["-vvv", "get", "v/ops", "-"]);
    assert_success(&out);
    let log = stderr(&out);
    let debug = at(&log, "DEBUG");
    let request = debug
        .iter()
        .find(|l| l.contains("tracker_request{") && l.contains("get_paths") && l.contains("close"))
        .unwrap_or_else(|| panic!("no tracker_request in:\n{log}"));
    assert!(
        request.contains(&format!("tracker=\"{tracker}\"")),
        "{request}"
    );
    assert!(request.contains("outcome=\"ok\""), "{request}");
    let transfer = debug
        .iter()
        .find(|l| l.contains("storage_transfer{") && l.contains("close"))
        .unwrap_or_else(|| panic!("no storage_transfer in:\n{log}"));
    assert!(transfer.contains(&format!("url={first}")), "{transfer}");
    assert!(transfer.contains("status=200"), "{transfer}");
    assert!(transfer.contains(&format!("bytes={SIZE}")), "{transfer}");
}

#[test]
fn rust_log_overrides_the_v_flags() {
    let env = Env::start();
    let (_, _, _) = replicated(&env, "v/env");
    // Without -v, nothing.
    let quiet = env.run(["get", "v/env", "-"]);
    assert_success(&quiet);
    assert_eq!(stderr(&quiet), "");
    // RUST_LOG alone turns logging on, with its own directives.
    let out = env
        .cmd()
        .env("RUST_LOG", "mogile_tracker=debug")
        .args(["get", "v/env", "-"])
        .output()
        .unwrap();
    assert_success(&out);
    let log = stderr(&out);
    assert!(log.contains("tracker_request{"), "{log}");
    assert!(!log.contains("get{"), "only mogile_tracker: {log}");
    // And it wins over -v.
    let out = env
        .cmd()
        .env("RUST_LOG", "off")
        .args(["-vvv", "get", "v/env", "-"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stderr(&out), "");
    // A RUST_LOG that cannot be parsed is a usage error.
    let out = env
        .cmd()
        .env("RUST_LOG", "mogilefs=loud")
        .args(["get", "v/env", "-"])
        .output()
        .unwrap();
    let log = common::assert_code(&out, 2);
    assert!(log.contains("RUST_LOG"), "{log}");
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let env = Env::start();
    let (data, first, _) = replicated(&env, "v/json");
    let out = env.run(["-vv", "--log-format", "json", "get", "v/json", "-"]);
    assert_success(&out);
    assert!(out.stdout == data);
    let log = stderr(&out);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let get = lines
        .iter()
        .find(|v| v["span"]["name"] == "get" && v["fields"]["message"] == "close")
        .unwrap_or_else(|| panic!("no get span in:\n{log}"));
    assert_eq!(get["level"], "INFO");
    assert_eq!(get["span"]["key"], "v/json");
    assert_eq!(get["span"]["replica"], first.as_str());
    assert!(get["timestamp"].is_string());
}
