//! The built `xtask` binary: `--help` of every command exits 0 with its usage, a wrong argument
//! exits 2 (the commands are read from the top-level help, so a new one is covered too).

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_exits_0_and_a_wrong_argument_exits_2() {
    let top = xtask(&["--help"]);
    assert_eq!(top.status.code(), Some(0));
    let help = String::from_utf8(top.stdout).unwrap();
    // The lines of the "Commands:" section: two spaces, then the name.
    let commands: Vec<&str> = help
        .split_once("Commands:\n")
        .unwrap()
        .1
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    for want in ["ci", "demo", "test-cluster", "bench", "man"] {
        assert!(commands.contains(&want), "{want} in {commands:?}");
    }
    for cmd in &commands {
        let out = xtask(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd} --help");
        let usage = String::from_utf8(out.stdout).unwrap();
        assert!(
            usage.contains(&format!("Usage: cargo xtask {cmd}")),
            "{usage}"
        );

        let out = xtask(&[cmd, "--no-such-option"]);
        assert_eq!(out.status.code(), Some(2), "{cmd} --no-such-option");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Usage:"));
    }
    assert_eq!(xtask(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(xtask(&[]).status.code(), Some(2));
    assert_eq!(
        xtask(&["bench", "--only", "no-such-part"]).status.code(),
        Some(2)
    );
}
