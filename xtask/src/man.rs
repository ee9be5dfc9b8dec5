//! `cargo xtask man`: the man pages of `mogile`, generated from its clap definitions
//! (`mogile_cli::command()`) with `clap_mangen`: `mogile.1`, and one page per subcommand
//! (`mogile-ls.1`, `mogile-admin-device-list.1`, ...).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `target/man` in the workspace, wherever `cargo xtask man` is run from.
pub(crate) fn default_dir() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).join("target").join("man")
}

/// Writes the pages into `out` (created if missing) and names the main one on stderr.
pub(crate) fn run(out: &Path) -> ExitCode {
    match write(out) {
        Ok(()) => {
            eprintln!("wrote {}", out.join("mogile.1").display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask man: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn write(out: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    clap_mangen::generate_to(mogile_cli::command(), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_for_mogile_and_every_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("man");
        assert_eq!(run(&out), ExitCode::SUCCESS);
        let page = std::fs::read_to_string(out.join("mogile.1")).unwrap();
        assert!(page.contains(".TH mogile 1"), "{page}");
        for sub in mogile_cli::command().get_subcommands() {
            assert!(
                page.contains(sub.get_name()),
                "{} in mogile.1",
                sub.get_name()
            );
        }
        assert!(out.join("mogile-ls.1").is_file());
        assert!(out.join("mogile-admin-device-list.1").is_file());
    }
}
