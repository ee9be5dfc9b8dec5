//! `mogile admin ...` against a local cluster, checked through the JSON listings.

mod common;

use common::{DOMAIN, Env, assert_code, text};
use serde_json::Value;

fn list(env: &Env, args: &[&str]) -> Vec<Value> {
    let mut full = vec!["--json", "admin"];
    full.extend_from_slice(args);
    let out = text(&env.ok(&full));
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn find<'a>(rows: &'a [Value], field: &str, value: &Value) -> Option<&'a Value> {
    rows.iter().find(|r| &r[field] == value)
}

#[test]
fn domains_and_classes() {
    let env = Env::start();
    assert!(text(&env.ok(["admin", "domain", "list"])).contains(DOMAIN));
    // Admin commands need no domain configured.
    let out = env
        .bare()
        .args(["admin", "domain", "list", "--trackers", &env.trackers])
        .output()
        .unwrap();
    common::assert_success(&out);
    assert!(text(&out.stdout).contains(DOMAIN));
    env.ok(["admin", "domain", "create", "extra"]);
    assert!(find(&list(&env, &["domain", "list"]), "domain", &"extra".into()).is_some());
    assert_code(&env.run(["admin", "domain", "create", "extra"]), 1);

    env.ok([
        "admin",
        "class",
        "create",
        "extra",
        "pics",
        "--mindevcount",
        "2",
        "--hashtype",
        "MD5",
    ]);
    let classes = list(&env, &["class", "list", "extra"]);
    let pics = find(&classes, "class", &"pics".into()).unwrap();
    assert_eq!(
        (pics["mindevcount"].clone(), pics["hashtype"].clone()),
        (2.into(), "MD5".into())
    );
    assert!(classes.iter().all(|c| c["domain"] == "extra"));

    // Update without --mindevcount keeps the current value.
    env.ok([
        "admin",
        "class",
        "update",
        "extra",
        "pics",
        "--replpolicy",
        "MultipleDevices()",
    ]);
    let classes = list(&env, &["class", "list", "extra"]);
    let pics = find(&classes, "class", &"pics".into()).unwrap();
    assert_eq!(pics["mindevcount"], 2);
    assert_eq!(pics["replpolicy"], "MultipleDevices()");
    env.ok([
        "admin",
        "class",
        "update",
        "extra",
        "pics",
        "--mindevcount",
        "3",
    ]);
    let classes = list(&env, &["class", "list"]);
    assert_eq!(
        find(&classes, "class", &"pics".into()).unwrap()["mindevcount"],
        3
    );
    assert_code(
        &env.run([
            "admin",
            "class",
            "update",
            "extra",
            "nosuch",
            "--mindevcount",
            "1",
        ]),
        1,
    );

    env.ok(["admin", "class", "delete", "extra", "pics"]);
    assert!(
        find(
            &list(&env, &["class", "list", "extra"]),
            "class",
            &"pics".into()
        )
        .is_none()
    );
    env.ok(["admin", "domain", "delete", "extra"]);
    assert!(find(&list(&env, &["domain", "list"]), "domain", &"extra".into()).is_none());
}

#[test]
fn hosts_devices_and_settings() {
    let env = Env::start();
    let hosts = list(&env, &["host", "list"]);
    assert!(
        find(&hosts, "hostname", &"node0".into()).is_some(),
        "{hosts:?}"
    );

    env.ok([
        "admin",
        "host",
        "add",
        "spare",
        "--ip",
        "127.0.0.5",
        "--port",
        "7500",
        "--status",
        "alive",
    ]);
    env.ok([
        "admin",
        "host",
        "modify",
        "spare",
        "--status",
        "down",
        "--getport",
        "7600",
    ]);
    let hosts = list(&env, &["host", "list"]);
    let spare = find(&hosts, "hostname", &"spare".into()).unwrap();
    assert_eq!(
        (spare["status"].clone(), spare["http_get_port"].clone()),
        ("down".into(), 7600.into())
    );

    env.ok(["admin", "device", "add", "spare", "90"]);
    env.ok(["admin", "device", "set-weight", "90", "40"]);
    env.ok([
        "admin",
        "device",
        "set-state",
        "90",
        "down",
        "--host",
        "spare",
    ]);
    env.ok(["admin", "device", "set-state", "90", "drain"]);
    let devices = list(&env, &["device", "list"]);
    let dev = find(&devices, "devid", &90.into()).unwrap();
    assert_eq!(
        (dev["status"].clone(), dev["weight"].clone()),
        ("drain".into(), 40.into())
    );
    assert_eq!(dev["host"], "spare");
    assert_code(
        &env.run([
            "admin",
            "device",
            "set-state",
            "90",
            "alive",
            "--host",
            "node0",
        ]),
        1,
    );
    assert_code(
        &env.run(["admin", "device", "set-state", "12345", "down"]),
        1,
    );
    assert!(text(&env.ok(["admin", "device", "list"])).contains("drain"));
    // A host with devices cannot go; an empty one can.
    assert_code(&env.run(["admin", "host", "delete", "spare"]), 1);
    env.ok([
        "admin",
        "host",
        "add",
        "gone",
        "--ip",
        "127.0.0.6",
        "--port",
        "7500",
    ]);
    env.ok(["admin", "host", "delete", "gone"]);
    assert!(find(&list(&env, &["host", "list"]), "hostname", &"gone".into()).is_none());

    env.ok(["admin", "settings", "set", "case_sensitive_list_keys", "1"]);
    let settings = list(&env, &["settings", "list"]);
    let s = find(&settings, "key", &"case_sensitive_list_keys".into()).unwrap();
    assert_eq!(s["value"], "1");
    assert!(text(&env.ok(["admin", "settings", "list"])).contains("case_sensitive_list_keys"));
}
