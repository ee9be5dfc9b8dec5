//! Project automation for mogilefs-rs: `cargo xtask <command>`.
//!
//! Commands: `ci` (the checks `.ci/run` runs), `demo` (a `mogile` round trip on a local cluster),
//! `test-cluster` (a local cluster on loopback; see `docs/testing.md`), `bench` (the client against
//! raw baselines; regenerates `docs/benchmarks.md`).

use std::process::{Command, ExitCode};

mod bench;
mod demo;
mod test_cluster;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("test-cluster") => test_cluster::run(&args[1..]),
        Some("demo") => demo::run(),
        Some("bench") => bench::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <ci|demo|test-cluster|bench>");
            ExitCode::from(2)
        }
    }
}

/// Runs the same steps as `.ci/run`: format check, clippy, tests, docs.
fn ci() -> ExitCode {
    let steps: &[(&str, &[&str])] = &[
        ("cargo", &["fmt", "--all", "--", "--check"]),
        (
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        ("cargo", &["test", "--workspace"]),
        ("cargo", &["doc", "--workspace", "--no-deps"]),
    ];
    for (prog, args) in steps {
        eprintln!("+ {prog} {}", args.join(" "));
        let mut cmd = Command::new(prog);
        cmd.args(*args);
        if args.first() == Some(&"doc") {
            cmd.env("RUSTDOCFLAGS", "-D warnings");
        }
        match cmd.status() {
            Ok(s) if s.success() => {}
            _ => return ExitCode::FAILURE,
        }
    }
    ExitCode::SUCCESS
}
