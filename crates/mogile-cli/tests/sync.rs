//! `mogile sync`, `put -r` and `get -r` as a user runs them: exit statuses, the summary, the
//! NDJSON output, and trees compared byte for byte.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Env, assert_code, assert_success, text};
use mogile_testkit::data::bytes;

fn write(dir: &Path, files: &[(&str, Vec<u8>)]) {
    for (name, data) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn sample() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a.txt", bytes(1000, 1)),
        ("nested/dir/b c.bin", bytes(70_000, 2)),
        ("50% & more+=.txt", bytes(10, 3)),
        ("caf\u{e9}/\u{1f408}", bytes(5, 4)),
        ("empty", Vec::new()),
    ]
}

#[test]
fn sync_a_tree_in_and_back_out() {
    let env = Env::start();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(a.path(), &sample());
    let out = env.ok([
        "sync".as_ref(),
        a.path().as_os_str(),
        "mogile://testdom/backup".as_ref(),
    ]);
    let summary = text(&out);
    assert!(summary.contains("copied 5"), "{summary}");
    // The trackers inline, no global ones.
    let url = format!("mogilefs://testdom/backup/?trackers={}", env.trackers);
    let out = env
        .bare()
        .args(["sync", &url])
        .arg(b.path())
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(tree(b.path()), tree(a.path()));
    // A second run copies nothing and says so.
    let out = env.ok([
        "sync".as_ref(),
        a.path().as_os_str(),
        "mogile://testdom/backup/".as_ref(),
    ]);
    let summary = text(&out);
    assert!(
        summary.contains("copied 0") && summary.contains("nothing to do"),
        "{summary}"
    );
}

#[test]
fn json_lines_and_exit_status_for_failures() {
    let env = Env::start();
    env.put("j/ok", b"fine");
    env.put("j/a//b", b"no file name");
    let dir = tempfile::tempdir().unwrap();
    let out = env.run([
        "--json".as_ref(),
        "sync".as_ref(),
        "mogile://testdom/j".as_ref(),
        dir.path().as_os_str(),
    ]);
    let stderr = assert_code(&out, 1);
    assert!(stderr.contains("1 keys failed"), "{stderr}");
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["type"], "failure");
    assert_eq!(lines[0]["key"], "a//b");
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("empty path segment")
    );
    let summary = &lines[1];
    assert_eq!(summary["type"], "summary");
    assert_eq!(
        (summary["copied"].as_u64(), summary["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(std::fs::read(dir.path().join("ok")).unwrap(), b"fine");
}

#[test]
fn dry_run_delete_and_guards_from_the_command_line() {
    let env = Env::start();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(a.path(), &[("keep", b"1".to_vec())]);
    write(
        b.path(),
        &[("keep", b"1".to_vec()), ("stale", b"2".to_vec())],
    );
    let out = env.ok([
        "sync".as_ref(),
        "--delete".as_ref(),
        "--dry-run".as_ref(),
        a.path().as_os_str(),
        b.path().as_os_str(),
    ]);
    assert!(text(&out).contains("would delete stale"), "{}", text(&out));
    assert!(b.path().join("stale").exists());
    // More deletions than --max-delete: none, exit 1.
    let out = env.run([
        "sync".as_ref(),
        "--delete".as_ref(),
        "--max-delete".as_ref(),
        "0".as_ref(),
        a.path().as_os_str(),
        b.path().as_os_str(),
    ]);
    assert!(assert_code(&out, 1).contains("max-delete"));
    assert!(b.path().join("stale").exists());
    env.ok([
        "sync".as_ref(),
        "--delete".as_ref(),
        a.path().as_os_str(),
        b.path().as_os_str(),
    ]);
    assert!(!b.path().join("stale").exists());
    // Overlapping locations are a usage error.
    let inner = a.path().join("inner");
    let out = env.run(["sync".as_ref(), a.path().as_os_str(), inner.as_os_str()]);
    assert!(assert_code(&out, 2).contains("overlap"));
    let out = env.run(["sync", "mogile://testdom/x", "mogile://testdom/x/y"]);
    assert!(assert_code(&out, 2).contains("overlap"));
}

#[test]
fn put_and_get_recursive() {
    let env = Env::start();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(a.path(), &sample());
    // Without -r, a directory is refused with what to do instead.
    let out = env.run(["put".as_ref(), "k".as_ref(), a.path().as_os_str()]);
    let stderr = assert_code(&out, 1);
    assert!(
        stderr.contains("is a directory") && stderr.contains("put -r"),
        "{stderr}"
    );

    for _ in 0..2 {
        // Every file is copied each time, as `cp -r` does.
        let out = env.ok([
            "put".as_ref(),
            "-r".as_ref(),
            a.path().as_os_str(),
            "tree".as_ref(),
        ]);
        assert!(text(&out).contains("copied 5"), "{}", text(&out));
    }
    let keys = text(&env.ok(["ls", "tree/"]));
    assert!(keys.contains("tree/nested/dir/b c.bin"), "{keys}");
    write(b.path(), &[("a.txt", b"old content, overwritten".to_vec())]);
    let out = env.ok([
        "get".as_ref(),
        "-r".as_ref(),
        "tree".as_ref(),
        b.path().as_os_str(),
    ]);
    assert!(text(&out).contains("copied 5"), "{}", text(&out));
    assert_eq!(tree(b.path()), tree(a.path()));
    // Into a directory that does not exist yet.
    let new = b.path().join("new/dir");
    env.ok([
        "get".as_ref(),
        "-r".as_ref(),
        "tree/".as_ref(),
        new.as_os_str(),
    ]);
    assert_eq!(tree(&new), tree(a.path()));
}
