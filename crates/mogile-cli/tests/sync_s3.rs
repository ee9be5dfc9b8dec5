//! `mogile sync` to and from S3, against a local S3-compatible server (Python's `moto_server`)
//! that the test starts on 127.0.0.1, port 0. Built only with the `aws` feature
//! (`cargo test -p mogile-cli --features aws --test sync_s3`), which `.ci/run` does not build;
//! skipped, saying why, when `moto_server` is not installed.

#![cfg(feature = "aws")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{Env, assert_success, bytes, text};

/// A `moto_server` child, killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts it on port 0 and reads the port it chose from its banner; `None` when absent.
    fn start() -> Option<Self> {
        let mut child = match Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "SKIPPED: moto_server is not available ({e}); install it with `pip install 'moto[server]'`"
                );
                return None;
            }
        };
        // Werkzeug prints `Running on http://127.0.0.1:PORT` on stderr once it listens.
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let port = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("moto_server ended before it said where it listens");
            };
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                break digits.parse().unwrap();
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Some(Self { child, port })
    }

    /// Creates a bucket (moto does not check signatures).
    fn create_bucket(&self, name: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sync_through_s3() {
    let Some(moto) = Moto::start() else {
        return;
    };
    moto.create_bucket("mogile-test");
    let env = Env::start();
    let s3 = |cmd: &mut Command| {
        cmd.env("AWS_ENDPOINT", format!("http://127.0.0.1:{}", moto.port))
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "false");
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (name, len, seed) in [
        ("a b/c%d+e.txt", 1000, 1),
        ("caf\u{e9}/x", 10, 2),
        ("big", 12 << 20, 3),
        ("empty", 0, 4),
    ] {
        let p = a.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes(len, seed)).unwrap();
    }
    let url = "s3://mogile-test/pre";
    // Directory -> S3 -> MogileFS -> directory, equal; then a no-op run with --checksum (the
    // ETag of a single-part upload is compared as the MD5).
    for (src, dst) in [
        (a.path().to_str().unwrap(), url),
        (url, "mogile://testdom/from-s3"),
    ] {
        let mut cmd = env.cmd();
        s3(&mut cmd);
        let out = cmd.args(["sync", src, dst]).output().unwrap();
        assert_success(&out);
        assert!(
            text(&out.stdout).contains("copied 4"),
            "{}",
            text(&out.stdout)
        );
    }
    let out = env.run([
        "sync".as_ref(),
        "mogile://testdom/from-s3".as_ref(),
        b.path().as_os_str(),
    ]);
    assert_success(&out);
    assert_eq!(tree(b.path()), tree(a.path()));
    let mut cmd = env.cmd();
    s3(&mut cmd);
    let out = cmd
        .args(["sync", "--checksum", a.path().to_str().unwrap(), url])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(
        text(&out.stdout).contains("copied 0"),
        "{}",
        text(&out.stdout)
    );
}
