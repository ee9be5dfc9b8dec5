//! Every file subcommand against a local cluster, and their exit statuses.

mod common;

use std::ffi::OsStr;

use common::{Env, assert_code, assert_success, text};
use mogile_testkit::data::bytes;

#[test]
fn put_ls_info_paths_get_mv_rm() {
    let env = Env::start();
    let data = bytes(100_000, 1);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();

    env.ok([
        OsStr::new("put"),
        OsStr::new("f/one"),
        src.as_os_str(),
        OsStr::new("--class"),
        OsStr::new("c2"),
    ]);
    env.put("f/two", b"2");
    env.put("other", b"x");

    assert_eq!(text(&env.ok(["ls", "f/"])), "f/one\nf/two\n");
    assert_eq!(text(&env.ok(["ls"])), "f/one\nf/two\nother\n");
    let long = text(&env.ok(["ls", "-l", "f/one"]));
    let cols: Vec<&str> = long.trim_end().split('\t').collect();
    assert_eq!(cols.len(), 5, "{long}");
    assert_eq!((cols[0], cols[1], cols[4]), ("100000", "c2", "f/one"));
    assert_eq!(cols[3], "1", "one device before replication");

    let info = text(&env.ok(["info", "f/one"]));
    assert!(info.contains("length") && info.contains("100000"), "{info}");
    assert!(info.contains("c2"), "{info}");

    env.replicate();
    let paths = text(&env.ok(["paths", "f/one"]));
    let urls: Vec<&str> = paths.lines().collect();
    assert_eq!(urls.len(), 2, "{paths}");
    assert!(
        urls.iter()
            .all(|u| u.starts_with("http://127.0.0.1:") && u.ends_with(".fid"))
    );
    // A 2.73 tracker never returns fewer than 2 paths when it has them (pathcount < 2 is 2).
    assert_eq!(
        text(&env.ok(["paths", "f/one", "--pathcount", "2", "--noverify"]))
            .lines()
            .count(),
        2
    );

    let debug = text(&env.ok(["debug", "f/one"]));
    assert!(
        debug.contains("fid_length") && debug.contains("100000"),
        "{debug}"
    );

    let dst = dir.path().join("dst.bin");
    env.ok([OsStr::new("get"), OsStr::new("f/one"), dst.as_os_str()]);
    assert_eq!(std::fs::read(&dst).unwrap(), data);
    // c2 has no hashtype: nothing to verify against is neither success nor corruption.
    let stderr = assert_code(&env.run(["get", "f/one", "--verify"]), 1);
    assert!(stderr.contains("no checksum"), "{stderr}");

    let part = env.ok(["get", "f/one", "-", "--range", "10-19"]);
    assert_eq!(part, &data[10..20]);
    let tail = env.ok(["get", "f/one", "--range", "99990"]);
    assert_eq!(tail, &data[99_990..]);

    env.ok(["mv", "f/one", "f/uno"]);
    assert_eq!(text(&env.ok(["ls", "f/"])), "f/two\nf/uno\n");
    assert_eq!(env.ok(["rm", "f/uno"]), b"deleted f/uno\n");
    assert!(
        env.ok(["-q", "put", "f/three", "-"]).is_empty(),
        "-q: no summary line"
    );
    env.ok(["rm", "f/two"]);
    let long = text(&env.ok(["ls", "f/", "-l"]));
    let cols: Vec<&str> = long.trim_end().split('\t').collect();
    assert_eq!(
        (cols[0], cols[1], cols[3], cols[4]),
        ("0", "default", "1", "f/three"),
        "{long}"
    );
}

#[test]
fn missing_keys_exit_3() {
    let env = Env::start();
    env.put("exists", b"e");
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("never");
    for args in [
        vec!["get", "nope"],
        vec!["rm", "nope"],
        vec!["mv", "nope", "other"],
        vec!["info", "nope"],
        vec!["debug", "nope"],
        vec!["paths", "nope"],
    ] {
        let out = env.run(&args);
        let stderr = assert_code(&out, 3);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("nope"), "{args:?} names the key: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = env.run([OsStr::new("get"), OsStr::new("nope"), dst.as_os_str()]);
    assert_code(&out, 3);
    assert!(!dst.exists(), "a failed get leaves no file behind");
}

#[test]
fn failures_exit_1_with_one_line() {
    let env = Env::start();
    env.put("a", b"a");
    env.put("b", b"b");
    // Renaming onto an existing key fails and changes nothing.
    let stderr = assert_code(&env.run(["mv", "a", "b"]), 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains('a') && stderr.contains('b'), "{stderr}");
    assert_eq!(env.ok(["get", "a"]), b"a");
    assert_eq!(env.ok(["get", "b"]), b"b");

    // An unknown class, an unknown domain.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("f");
    std::fs::write(&src, b"x").unwrap();
    let out = env.run([
        OsStr::new("put"),
        OsStr::new("k"),
        src.as_os_str(),
        OsStr::new("--class"),
        OsStr::new("nosuch"),
    ]);
    let stderr = assert_code(&out, 1);
    assert!(
        stderr.contains("nosuch") || stderr.contains("class"),
        "{stderr}"
    );
    let stderr = assert_code(&env.run(["ls", "--domain", "nodomain"]), 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // A source file that does not exist.
    let stderr = assert_code(&env.run(["put", "k", "/nonexistent/file"]), 1);
    assert!(stderr.contains("/nonexistent/file"), "{stderr}");

    // A directory is not a file.
    let stderr = assert_code(
        &env.run([OsStr::new("put"), OsStr::new("k"), dir.path().as_os_str()]),
        1,
    );
    assert!(stderr.contains(&*dir.path().to_string_lossy()), "{stderr}");

    // No tracker answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = listener.local_addr().unwrap().to_string();
    drop(listener);
    let out = env
        .cmd()
        .args(["--trackers", &dead, "--timeout", "5", "info", "a"])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// `END` at `u64::MAX` means "to the end of the file" (computing its length once overflowed: a
/// panic in a debug build, an empty answer with status 0 in a release build).
#[test]
fn a_range_ending_at_u64_max_runs_to_the_end() {
    let env = Env::start();
    let data = bytes(10_000, 3);
    env.put("r/k", &data);
    let max = u64::MAX;
    let whole = env.run(["get", "r/k", "--range", &format!("0-{max}")]);
    assert_success(&whole);
    assert!(whole.stdout == data, "{} bytes", whole.stdout.len());
    let tail = env.ok(["get", "r/k", "--range", &format!("9000-{max}")]);
    assert_eq!(tail, &data[9000..]);
    let dst = env.home.path().join("whole");
    let range = format!("0-{max}");
    env.ok([
        OsStr::new("get"),
        OsStr::new("r/k"),
        dst.as_os_str(),
        OsStr::new("--range"),
        OsStr::new(&range),
    ]);
    assert!(std::fs::read(&dst).unwrap() == data);
    // Past the end of the file: nothing, like a read at the end of a file.
    assert!(
        env.ok(["get", "r/k", "--range", &format!("{}", max - 1)])
            .is_empty()
    );
    // START at u64::MAX, END before START: usage errors, nothing fetched.
    for bad in [
        format!("{max}"),
        format!("{max}-{max}"),
        format!("{}-0", max - 1),
        "5-4".to_string(),
    ] {
        let out = env.run(["get", "r/k", "--range", &bad]);
        let stderr = assert_code(&out, 2);
        assert!(stderr.contains("--range"), "{bad}: {stderr}");
        assert!(out.stdout.is_empty(), "{bad}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::start();
    for args in [
        vec!["frobnicate"],
        vec!["get"],
        vec!["get", "k", "--range", "9-1"],
        vec!["ls", "--timeout", "0"],
        vec!["admin", "class", "create", "d", "c", "--mindevcount", "0"],
    ] {
        assert_code(&env.run(&args), 2);
    }
    // Nothing configured: no trackers, then no domain.
    assert_code(&env.bare().args(["ls"]).output().unwrap(), 2);
    let stderr = assert_code(
        &env.bare()
            .args(["ls", "--trackers", &env.trackers])
            .output()
            .unwrap(),
        2,
    );
    assert!(stderr.contains("domain"), "{stderr}");
    // `class create` without --mindevcount.
    assert_code(
        &env.run(["admin", "class", "create", common::DOMAIN, "x"]),
        2,
    );
    // An explicit --conf that cannot be read.
    assert_code(&env.run(["--conf", "/nonexistent/mogilefs.conf", "ls"]), 2);
    // Help is not an error.
    assert_success(&env.run(["--help"]));
}

/// `ls` to a pipe writes keys as they are, one per line; on a terminal (`MOGILE_QUOTING=shell`)
/// it quotes them for a shell, and each line pasted into `bash` names the key again.
#[test]
fn ls_keys_can_be_used_as_arguments() {
    let env = Env::start();
    env.put("odd/a\nb", b"1");
    env.put("odd/50%", b"2");
    env.put("odd/caf\u{e9} x", b"3");
    env.put("odd/it's", b"4");
    let mut keys: Vec<Vec<u8>> = vec![
        b"odd/50%".to_vec(),
        b"odd/a\nb".to_vec(),
        "odd/caf\u{e9} x".as_bytes().to_vec(),
        b"odd/it's".to_vec(),
    ];
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let raw = OsStr::from_bytes(b"odd/\xff\xfe");
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f");
        std::fs::write(&src, b"5").unwrap();
        env.ok([OsStr::new("put"), raw, src.as_os_str()]);
        keys.push(b"odd/\xff\xfe".to_vec());
        assert_eq!(env.ok([OsStr::new("get"), raw]), b"5");
        let json = text(&env.ok(["ls", "--json", "odd/"]));
        assert!(json.contains(r#"{"key":{"hex":"6f64642ffffe"}}"#), "{json}");
    }
    keys.sort();

    // A pipe: the bytes, one key per line.
    let piped = env.ok(["ls", "odd/"]);
    let mut want = Vec::new();
    for k in &keys {
        want.extend_from_slice(k);
        want.push(b'\n');
    }
    assert_eq!(piped, want);
    assert_eq!(text(&env.ok(["ls", "odd/%"])), "");
    // `-0` stays raw and unambiguous.
    let mut want = Vec::new();
    for k in &keys {
        want.extend_from_slice(k);
        want.push(0);
    }
    assert_eq!(env.ok(["ls", "-0", "odd/"]), want);

    // A terminal: one quoted line per key.
    let shown = text(&env.ok_tty(["ls", "odd/"]));
    let lines: Vec<&str> = shown.lines().collect();
    let mut expected = vec![
        "odd/50%",
        r"$'odd/a\nb'",
        "'odd/caf\u{e9} x'",
        r"'odd/it'\''s'",
    ];
    if cfg!(unix) {
        expected.push(r"$'odd/\xff\xfe'");
    }
    assert_eq!(lines, expected);

    // Each line pasted into a shell after `mogile get --` fetches its key.
    #[cfg(unix)]
    for (line, key) in lines.iter().zip(&keys) {
        let script = format!("exec \"$MOGILE\" get -- {line}");
        let got = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("MOGILE", env!("CARGO_BIN_EXE_mogile"))
            .env("HOME", env.home.path())
            .env("MOGILE_TRACKERS", &env.trackers)
            .env("MOGILE_DOMAIN", common::DOMAIN)
            .env_remove("MOGUTILSCONF")
            .output()
            .unwrap();
        assert_success(&got);
        let want: &[u8] = match &key[..] {
            b"odd/50%" => b"2",
            b"odd/a\nb" => b"1",
            b"odd/it's" => b"4",
            b"odd/\xff\xfe" => b"5",
            _ => b"3",
        };
        assert_eq!(got.stdout, want, "{line}");
    }
}

#[test]
fn ls_pages_through_many_keys() {
    let env = Env::start();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("f");
    std::fs::write(&src, b"k").unwrap();
    // More than one tracker page (1000 keys); stored directly through the cluster's tracker would
    // be faster, but the tool is what is under test, so store a few and let the listing use a
    // small page size through the hidden --page-size.
    for i in 0..25 {
        env.ok([
            OsStr::new("put"),
            OsStr::new(&format!("p/{i:03}")),
            src.as_os_str(),
        ]);
    }
    let listed = text(&env.ok(["ls", "p/", "--page-size", "7"]));
    let want: String = (0..25).map(|i| format!("p/{i:03}\n")).collect();
    assert_eq!(listed, want);
}
