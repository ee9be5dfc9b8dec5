//! A tracker that puts terminal control sequences in its answers (`ERR` texts, error codes, URLs,
//! keys, fields): nothing of them reaches the terminal raw, on stdout or stderr, in text or JSON
//! (`ls` to a pipe writes keys as they are, as GNU `ls` does; on a terminal it quotes them).

mod common;

use std::process::Output;

use common::{Env, assert_code, assert_success, text};
use mogile_testkit::tracker::{Fault, FaultAction};

/// Makes the tracker answer the next `command` with `line` instead of the real reply.
fn answer_next(env: &Env, command: &str, line: &[u8]) {
    env.cluster().trackers()[0].inject(
        Fault::new(FaultAction::Garbage(line.to_vec()))
            .command(command)
            .times(1),
    );
}

/// Asserts that neither stream holds ESC, CR, BEL, DEL or a C1 control (U+0080..U+009F in UTF-8).
fn assert_clean(out: &Output, what: &str) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let shown = String::from_utf8_lossy(bytes);
        assert!(
            !bytes
                .iter()
                .any(|&b| matches!(b, 0x1b | b'\r' | 0x07 | 0x7f)),
            "{what}: a control byte on {name}: {shown:?}"
        );
        assert!(
            !shown.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
            "{what}: a C1 control on {name}: {shown:?}"
        );
    }
}

/// `ERR` lines: the text (escaped on the wire as the tracker does, and raw), and the code.
#[test]
fn err_texts_and_codes_are_escaped_on_stderr() {
    let env = Env::start();
    env.put("k", b"data");

    // The brief's case: an unknown key whose text carries colour codes and a new line.
    answer_next(&env, "file_info", b"ERR unknown_key %1B[31mred%0Aline\r\n");
    let out = env.run(["info", "k"]);
    assert_clean(&out, "unknown_key");
    let stderr = assert_code(&out, 3);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // A code with no special meaning: its text is part of the report.
    answer_next(
        &env,
        "file_info",
        b"ERR db %1B[31mred%0D%0Aline\x1b[2J\rover\xc2\x9b\r\n",
    );
    let out = env.run(["info", "k"]);
    assert_clean(&out, "db");
    let stderr = assert_code(&out, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("answered db: %1B[31mred%0D%0Aline%1B[2J%0Dover%C2%9B"),
        "{stderr}"
    );

    // The code itself is the tracker's text.
    answer_next(&env, "file_info", b"ERR \x1b]0;title\x07 text\r\n");
    let out = env.run(["info", "k"]);
    assert_clean(&out, "code");
    let stderr = assert_code(&out, 1);
    assert!(stderr.contains("answered %1B]0;title%07: text"), "{stderr}");

    // The same through a command that prints JSON on success.
    answer_next(&env, "get_paths", b"ERR db \x1b[2J\r\n");
    let out = env.run(["--json", "paths", "k"]);
    assert_clean(&out, "paths --json");
    assert_code(&out, 1);
}

/// `get_paths` URLs holding ESC and CR: `paths` prints them escaped (text and JSON), and `get`
/// reports the unusable replica without echoing them.
#[test]
fn urls_with_control_characters_are_escaped() {
    let env = Env::start();
    env.put("k", b"data");
    // The third passes `http::Uri` parsing (which takes non-ASCII, C1 controls included): its
    // storage errors name it as it is.
    let reply = b"OK paths=3&path1=http://127.0.0.1:1/dev1/%1B[31mred%0D%0A.fid\
                  &path2=http://127.0.0.1:1/dev2/\x1b]0;x\x07.fid\
                  &path3=http://127.0.0.1:1/dev3/%C2%9B2J.fid\r\n";

    answer_next(&env, "get_paths", reply);
    let out = env.run(["paths", "k"]);
    assert_clean(&out, "paths");
    assert_success(&out);
    assert_eq!(
        text(&out.stdout),
        "$'http://127.0.0.1:1/dev1/\\x1b[31mred\\r\\n.fid'\n\
         $'http://127.0.0.1:1/dev2/\\x1b]0;x\\x07.fid'\n\
         $'http://127.0.0.1:1/dev3/\\xc2\\x9b2J.fid'\n"
    );

    answer_next(&env, "get_paths", reply);
    let out = env.run(["--json", "paths", "k"]);
    assert_clean(&out, "paths --json");
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["paths"][0], "http://127.0.0.1:1/dev1/\u{1b}[31mred\r\n.fid",
        "JSON keeps the text, escaped by JSON"
    );

    answer_next(&env, "get_paths", reply);
    let out = env.run(["get", "k"]);
    assert_clean(&out, "get");
    let stderr = assert_code(&out, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
}

/// Keys and fields of `ls`, `info`, `debug` and `admin settings list` replies.
#[test]
fn keys_and_fields_from_the_tracker_are_escaped() {
    let env = Env::start();
    env.put("k", b"data");

    answer_next(
        &env,
        "list_keys",
        b"OK key_count=1&key_1=a%1B[2Jb%0D&next_after=a%1B[2Jb%0D\r\n",
    );
    // On a terminal the key is quoted, escapes and all.
    let out = env
        .cmd()
        .env("MOGILE_QUOTING", "shell")
        .arg("ls")
        .output()
        .unwrap();
    assert_clean(&out, "ls");
    assert_success(&out);
    // The next page is the real one, after the hostile key.
    assert_eq!(text(&out.stdout), "$'a\\x1b[2Jb\\r'\nk\n");
    // To a pipe, as GNU `ls` does, the key's bytes are written as they are.
    answer_next(
        &env,
        "list_keys",
        b"OK key_count=1&key_1=a%1B[2Jb%0D&next_after=a%1B[2Jb%0D\r\n",
    );
    assert_eq!(env.ok(["ls"]), b"a\x1b[2Jb\r\nk\n");

    let info = b"OK fid=1&domain=d%1B[1m&class=c%0D%C2%9B&key=k%1B&length=4&devcount=1\r\n";
    answer_next(&env, "file_info", info);
    let out = env.run(["info", "k"]);
    assert_clean(&out, "info");
    assert_success(&out);
    let shown = text(&out.stdout);
    for want in [r"$'d\x1b[1m'", r"$'c\r\xc2\x9b'", r"$'k\x1b'"] {
        assert!(shown.contains(want), "{want} in {shown}");
    }
    answer_next(&env, "file_info", info);
    let out = env.run(["--json", "info", "k"]);
    assert_clean(&out, "info --json");
    assert_success(&out);

    answer_next(
        &env,
        "file_debug",
        b"OK fid_\x1b[2J=1&fid_dkey=k%1B%0D&devpath_1=http://h/%1B]0;x%07\r\n",
    );
    let out = env.run(["debug", "k"]);
    assert_clean(&out, "debug");
    assert_success(&out);
    let shown = text(&out.stdout);
    assert!(shown.contains(r"$'fid_\x1b[2J'"), "{shown}");
    assert!(shown.contains(r"$'k\x1b\r'"), "{shown}");

    answer_next(
        &env,
        "server_settings",
        b"OK key_count=1&key_1=s%1B[2J&value_1=v%0D%0A%1B[31m\r\n",
    );
    let out = env.run(["admin", "settings", "list"]);
    assert_clean(&out, "admin settings list");
    assert_success(&out);
    assert!(
        text(&out.stdout).contains(r"$'s\x1b[2J'  $'v\r\n\x1b[31m'"),
        "{}",
        text(&out.stdout)
    );
}
