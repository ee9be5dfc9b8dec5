//! `mogile admin check` against a local cluster, in text and JSON: healthy (status 0), a dead
//! device (reported, status 0), a tracker down, a node unreachable and a full device (status 1);
//! and the admin lists sorted by id whatever order the tracker answers in.

mod common;

use common::{Env, assert_code, assert_success, text};
use mogile_testkit::tracker::{Fault, FaultAction};
use serde_json::Value;

fn check_json(env: &Env, extra: &[&str]) -> (Option<i32>, Value, String) {
    let out = env
        .cmd()
        .args(["--json", "admin", "check"])
        .args(extra)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    });
    (
        out.status.code(),
        doc,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn device(doc: &Value, devid: u64) -> &Value {
    doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["devid"] == devid)
        .unwrap_or_else(|| panic!("device {devid} in {doc}"))
}

#[test]
fn a_healthy_cluster_passes_and_shows_everything() {
    let env = Env::start_with(2, 2);
    env.put("k", &vec![7; 300 * 1024]);
    let (code, doc, stderr) = check_json(&env, &[]);
    assert_eq!(code, Some(0), "{doc} {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["problems"], serde_json::json!([]));
    assert_eq!(doc["max_used_percent"], 95);

    let trackers = doc["trackers"].as_array().unwrap();
    let addrs: Vec<&str> = env.trackers.split(',').collect();
    assert_eq!(trackers.len(), 2);
    for (t, addr) in trackers.iter().zip(addrs) {
        assert_eq!(t["address"], addr);
        assert_eq!(t["reachable"], true, "{t}");
        assert!(t["latency_ms"].as_f64().unwrap() >= 0.0, "{t}");
    }

    let hosts = doc["hosts"].as_array().unwrap();
    let ids: Vec<u64> = hosts
        .iter()
        .map(|h| h["hostid"].as_u64().unwrap())
        .collect();
    assert!(ids.is_sorted() && ids.len() == 2, "{ids:?}");
    assert!(
        hosts.iter().all(|h| h["observed"] == "reachable"),
        "{hosts:?}"
    );

    let devices = doc["devices"].as_array().unwrap();
    let ids: Vec<u64> = devices
        .iter()
        .map(|d| d["devid"].as_u64().unwrap())
        .collect();
    assert!(ids.is_sorted() && ids.len() == 4, "{ids:?}");
    // Every device's usage file was read: 100 GiB each, and the stored file counted where it is.
    for d in devices {
        assert_eq!(d["observed"], "reachable", "{d}");
        assert_eq!(d["total_kib"], 100 * 1024 * 1024, "{d}");
        let (used, free) = (
            d["used_kib"].as_u64().unwrap(),
            d["free_kib"].as_u64().unwrap(),
        );
        assert_eq!(used + free, 100 * 1024 * 1024, "{d}");
    }
    let used: u64 = devices
        .iter()
        .map(|d| d["used_kib"].as_u64().unwrap())
        .sum();
    assert!(used >= 300, "the file's replica counts: {used}");
    assert_eq!(doc["total"]["total_kib"], 4 * 100 * 1024 * 1024);
    assert_eq!(doc["total"]["used_kib"], used);

    let classes = doc["classes"].as_array().unwrap();
    let c2 = classes
        .iter()
        .find(|c| c["domain"] == common::DOMAIN && c["class"] == "c2")
        .unwrap();
    assert_eq!(c2["mindevcount"], 2);

    // Text: the same, in sections, and the verdict.
    let out = text(&env.ok(["admin", "check"]));
    for want in [
        "tracker",
        "latency_ms",
        "hostid",
        "devid",
        "size_gib",
        "total",
        "mindevcount",
        "c2",
        "ok: nothing needs attention",
    ] {
        assert!(out.contains(want), "{want} in {out}");
    }
}

#[test]
fn dead_and_down_devices_are_reported_without_failing() {
    let env = Env::start();
    env.ok(["admin", "device", "set-state", "1", "dead"]);
    env.ok(["admin", "device", "set-state", "2", "down"]);
    // Their node could be gone: they are not asked.
    let node = env.cluster().node_for_device(1).unwrap();
    assert_eq!(
        node.addr(),
        env.cluster().node_for_device(2).unwrap().addr()
    );
    node.set_refusing(true);
    let (code, doc, stderr) = check_json(&env, &[]);
    assert_eq!(code, Some(0), "{doc} {stderr}");
    assert_eq!(device(&doc, 1)["status"], "dead");
    assert_eq!(device(&doc, 1)["observed"], "skipped");
    assert_eq!(device(&doc, 2)["status"], "down");
    assert_eq!(device(&doc, 3)["observed"], "reachable");
    let out = text(&env.ok(["admin", "check"]));
    assert!(out.contains("dead") && out.contains("skipped"), "{out}");
}

#[test]
fn a_tracker_down_fails() {
    let env = Env::start_with(2, 1);
    env.cluster().kill_tracker(0).unwrap();
    let (code, doc, stderr) = check_json(&env, &[]);
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["trackers"][0]["reachable"], false);
    assert!(doc["trackers"][0]["error"].is_string());
    assert_eq!(doc["trackers"][1]["reachable"], true);
    // The rest came through the other tracker.
    assert_eq!(doc["devices"].as_array().unwrap().len(), 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");

    let out = env.run(["admin", "check"]);
    assert_code(&out, 1);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("UNREACHABLE") && shown.contains("PROBLEM: tracker"),
        "{shown}"
    );
}

#[test]
fn an_unreachable_node_fails() {
    let env = Env::start_with(1, 2);
    env.cluster().kill_node(1).unwrap();
    let (code, doc, stderr) = check_json(&env, &[]);
    assert_eq!(code, Some(1), "{doc}");
    let down: Vec<&Value> = doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["observed"] == "unreachable")
        .collect();
    assert_eq!(down.len(), 2, "{doc}");
    assert!(
        down.iter()
            .all(|d| d["error"].is_string() && d["total_kib"].is_null())
    );
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(
        hosts
            .iter()
            .filter(|h| h["observed"] == "unreachable")
            .count(),
        1,
        "{hosts:?}"
    );
    let problems = doc["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("host ")),
        "{problems:?}"
    );
    assert!(stderr.contains("problems"), "{stderr}");

    // Once the host is marked down, it is deliberate: reported, not a problem.
    let host = down[0]["host"].as_str().unwrap().to_owned();
    env.ok(["admin", "host", "modify", &host, "--status", "down"]);
    let (code, doc, _) = check_json(&env, &[]);
    assert_eq!(code, Some(0), "{doc}");
}

#[test]
fn a_device_fuller_than_max_used_fails() {
    let env = Env::start();
    env.cluster().node(0).unwrap().set_usage(1000, 960);
    let (code, doc, stderr) = check_json(&env, &[]);
    assert_eq!(code, Some(1), "{doc}");
    assert!(stderr.contains("96.0% used"), "{stderr}");
    assert_eq!(doc["total"]["total_kib"], 2 * 1000 + 2 * 100 * 1024 * 1024);
    let (code, doc, _) = check_json(&env, &["--max-used", "97"]);
    assert_eq!(code, Some(0), "{doc}");
    assert_code(&env.run(["admin", "check", "--max-used", "101"]), 2);
}

/// The tracker answers in any order (a real one in its hash order): the lists come sorted.
#[test]
fn host_and_device_lists_are_sorted_by_id() {
    let env = Env::start();
    let tracker = &env.cluster().trackers()[0];
    let answer = |command: &str, line: &[u8]| {
        tracker.inject(
            Fault::new(FaultAction::Garbage(line.to_vec()))
                .command(command)
                .times(1),
        );
    };
    answer(
        "get_hosts",
        b"OK hosts=3&host1_hostid=12&host1_status=alive&host1_hostname=c&host1_hostip=127.0.0.1\
&host2_hostid=2&host2_status=alive&host2_hostname=a&host2_hostip=127.0.0.1\
&host3_hostid=7&host3_status=down&host3_hostname=b&host3_hostip=127.0.0.1\r\n",
    );
    let out = env.ok(["--json", "admin", "host", "list"]);
    let doc: Value = serde_json::from_slice(&out).unwrap();
    let ids: Vec<u64> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostid"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [2, 7, 12]);

    answer(
        "get_devices",
        b"OK devices=3&dev1_devid=30&dev1_hostid=1&dev1_status=alive\
&dev2_devid=4&dev2_hostid=1&dev2_status=alive&dev3_devid=11&dev3_hostid=1&dev3_status=dead\r\n",
    );
    let out = env.run(["admin", "device", "list"]);
    assert_success(&out);
    let shown = text(&out.stdout);
    let ids: Vec<&str> = shown
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ids, ["4", "11", "30"], "{shown}");
}
