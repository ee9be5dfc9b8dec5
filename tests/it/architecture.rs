//! The dependency rules of `docs/architecture.md`, checked against `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Normal (non-dev, non-build) dependencies of every workspace package, by package name.
fn normal_deps() -> BTreeMap<String, BTreeSet<String>> {
    deps_where(|_| true)
}

/// The normal dependencies `keep` accepts (it sees each one's `cargo metadata` entry).
fn deps_where(keep: impl Fn(&serde_json::Value) -> bool) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut map = BTreeMap::new();
    for pkg in meta["packages"].as_array().unwrap() {
        let name = pkg["name"].as_str().unwrap().to_string();
        let deps = pkg["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null() && keep(d))
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect();
        map.insert(name, deps);
    }
    map
}

fn ours(deps: &BTreeSet<String>) -> BTreeSet<&str> {
    deps.iter()
        .map(String::as_str)
        .filter(|d| d.starts_with("mogile"))
        .collect()
}

#[test]
fn workspace_has_the_fixed_crates() {
    let deps = normal_deps();
    for name in [
        "mogile-protocol",
        "mogile-pool",
        "mogile-tracker",
        "mogile-storage",
        "mogilefs",
        "mogile-testkit",
    ] {
        assert!(deps.contains_key(name), "missing workspace crate {name}");
    }
}

#[test]
fn protocol_is_sans_io() {
    let deps = normal_deps();
    // itoa: the `callid`'s digits; pure formatting, no I/O. memchr: byte search in a slice
    // (the replies' separators and line ends); pure computation, no I/O.
    let allowed: BTreeSet<&str> = [
        "bytes",
        "thiserror",
        "percent-encoding",
        "serde",
        "itoa",
        "memchr",
    ]
    .into();
    let got: BTreeSet<&str> = deps["mogile-protocol"].iter().map(String::as_str).collect();
    assert!(
        got.is_subset(&allowed),
        "mogile-protocol may only use {allowed:?}, has {got:?}"
    );
    // serde (for `KeyPolicy` in configuration files) only behind the optional `serde` feature.
    let required = deps_where(|d| d["optional"] != serde_json::Value::Bool(true));
    assert!(
        !required["mogile-protocol"].contains("serde"),
        "mogile-protocol's serde must stay optional"
    );
}

#[test]
fn dependencies_flow_one_way() {
    let deps = normal_deps();
    let expect = |krate: &str, allowed: &[&str]| {
        let got = ours(&deps[krate]);
        let allowed: BTreeSet<&str> = allowed.iter().copied().collect();
        assert!(
            got.is_subset(&allowed),
            "{krate} may depend on {allowed:?} only, has {got:?}"
        );
    };
    expect("mogile-protocol", &[]);
    expect("mogile-pool", &[]);
    expect("mogile-storage", &[]);
    expect("mogile-tracker", &["mogile-protocol", "mogile-pool"]);
    expect(
        "mogilefs",
        &["mogile-protocol", "mogile-tracker", "mogile-storage"],
    );
    expect("mogile-testkit", &["mogile-protocol"]);
    expect("mogile-object-store", &["mogilefs"]);
}

#[test]
fn only_the_pool_names_deadpool_and_only_storage_names_hyper() {
    let deps = normal_deps();
    for (krate, d) in &deps {
        if krate != "mogile-pool" {
            assert!(
                !d.contains("deadpool"),
                "{krate} must not depend on deadpool"
            );
        }
        let client_crate = [
            "mogile-protocol",
            "mogile-pool",
            "mogile-tracker",
            "mogilefs",
        ]
        .contains(&krate.as_str());
        if client_crate {
            assert!(
                !d.contains("hyper") && !d.contains("hyper-util"),
                "{krate}: among the client crates only mogile-storage uses hyper"
            );
        }
    }
}
