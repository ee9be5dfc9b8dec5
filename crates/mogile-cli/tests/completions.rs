//! `mogile completions SHELL`: the scripts are generated from the command line's definition, so
//! every subcommand is completed; checked by running bash's completion function on every level.

use std::process::Command;

/// Every command that has subcommands, as its path of names from `mogile`, with the names of its
/// visible subcommands.
fn levels(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Vec<String>)>) {
    let children: Vec<&clap::Command> =
        cmd.get_subcommands().filter(|c| !c.is_hide_set()).collect();
    if children.is_empty() {
        return;
    }
    out.push((
        path.clone(),
        children.iter().map(|c| c.get_name().to_owned()).collect(),
    ));
    for child in children {
        path.push(child.get_name().to_owned());
        levels(child, path, out);
        path.pop();
    }
}

fn script(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mogile"))
        .args(["completions", shell])
        .env_remove("MOGILE_TRACKERS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_bash_script_completes_every_subcommand() {
    let mut all = Vec::new();
    levels(&mogile_cli::command(), &mut Vec::new(), &mut all);
    let names: usize = all.iter().map(|(_, c)| c.len()).sum();
    // The top level, `admin` and its five groups at least.
    assert!(all.len() >= 7 && names >= 30, "{all:?}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mogile.bash");
    std::fs::write(&file, script("bash")).unwrap();
    // For each level: complete an empty word after its path, and print what bash offers.
    let mut probe = format!("source '{}'\n", file.display());
    for (path, _) in &all {
        let words: Vec<String> = path.iter().map(|w| format!("'{w}'")).collect();
        let prev = path.last().map_or("mogile", String::as_str);
        probe.push_str(&format!(
            "COMP_WORDS=(mogile {} ''); COMP_CWORD={}; COMPREPLY=(); _mogile mogile '' '{prev}'; \
             echo \"## {}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            words.join(" "),
            path.len() + 1,
            path.join(" "),
        ));
    }
    let out = Command::new("bash").arg("-c").arg(&probe).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offered = String::from_utf8(out.stdout).unwrap();
    let mut sections = offered.split("## ").skip(1);
    for (path, children) in &all {
        let section = sections.next().expect("one section per level");
        let (head, words) = section.split_once('\n').unwrap();
        assert_eq!(head, path.join(" "));
        let words: Vec<&str> = words.lines().collect();
        for child in children {
            assert!(
                words.contains(&child.as_str()),
                "`mogile {} <TAB>` does not offer {child}: {words:?}",
                path.join(" ")
            );
        }
    }
}

#[test]
fn zsh_and_fish_scripts_are_printed_and_other_shells_are_usage_errors() {
    assert!(script("zsh").starts_with("#compdef mogile"));
    let fish = script("fish");
    assert!(fish.contains("complete -c mogile"), "{fish}");
    let out = Command::new(env!("CARGO_BIN_EXE_mogile"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
