//! `cargo xtask demo`: a round trip through the `mogile` tool against an in-process local cluster.
//!
//! Builds `mogile` with `cargo build -p mogile-cli` (the debug build, reused when it is up to
//! date), starts a `mogile_testkit::TestCluster` on loopback, generates a test file, and runs
//! `put`, `ls -l`, `paths`, `get` (checking the bytes are identical), `mv` and `rm`, printing each
//! command and its output, then a small `sync`: a directory tree in, the same command again (nothing
//! to do), and the tree back out into another directory, compared equal. The cluster serves from this process's tokio runtime while the tool runs
//! as a child process, exactly as it would against a real cluster.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use mogile_testkit::TestCluster;

/// The size of the generated test file: big enough to show streaming, small enough to be quick.
const DEMO_FILE_SIZE: usize = 3 * 1024 * 1024 + 17;

type Error = Box<dyn std::error::Error>;

/// Runs the demo; any failure is printed and makes the exit status non-zero.
pub(crate) fn run() -> ExitCode {
    match demo() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn demo() -> Result<(), Error> {
    let mogile = build_mogile()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let cluster = runtime.block_on(
        TestCluster::builder()
            .trackers(2)
            .storage_nodes(2)
            .devices_per_node(2)
            .domain("demo")
            .start(),
    )?;
    let trackers = cluster.tracker_addrs().join(",");
    println!(
        "local cluster: trackers {trackers}, domain demo, 2 storage nodes with 2 devices each"
    );

    // The cluster serves on the runtime's worker threads while the tool runs as a child process.
    let tool = Tool::new(mogile, &trackers)?;
    let result = round_trip(&tool, &runtime, &cluster).and_then(|()| sync_round_trip(&tool));
    runtime.block_on(cluster.shutdown());
    result?;
    println!("\ndemo finished: the round trip and the sync returned identical bytes");
    Ok(())
}

fn round_trip(
    tool: &Tool,
    runtime: &tokio::runtime::Runtime,
    cluster: &TestCluster,
) -> Result<(), Error> {
    let input = tool.dir.path().join("hello.bin");
    let output = tool.dir.path().join("hello.copy");
    let data = mogile_testkit::data::bytes(DEMO_FILE_SIZE, 1);
    std::fs::write(&input, &data)?;
    println!("generated {} ({} bytes)", input.display(), data.len());

    let os = OsStr::new;
    tool.run([
        os("put"),
        os("demo/hello.bin"),
        input.as_os_str(),
        os("--class"),
        os(TestCluster::PLAIN_CLASS),
    ])?;
    tool.run(["ls", "-l", "demo/"])?;
    println!("\n(the cluster replicates the file to its class's 2 devices)");
    runtime.block_on(cluster.replicate_all())?;
    tool.run(["paths", "demo/hello.bin"])?;
    tool.run([os("get"), os("demo/hello.bin"), output.as_os_str()])?;
    let copy = std::fs::read(&output)?;
    if copy != data {
        return Err(format!("{} differs from {}", output.display(), input.display()).into());
    }
    println!("  -> {} bytes, identical to the original", copy.len());
    tool.run(["mv", "demo/hello.bin", "demo/renamed.bin"])?;
    tool.run(["ls", "demo/"])?;
    tool.run(["rm", "demo/renamed.bin"])?;
    tool.run(["ls", "demo/"])?;

    // The same cluster through the library the tool is built on.
    let exists = runtime.block_on(async {
        let client = mogilefs::Client::builder()
            .trackers(cluster.tracker_addrs())
            .domain("demo")
            .build()?;
        let exists = client.exists("demo/renamed.bin").await;
        client.close().await;
        exists
    });
    if exists? {
        return Err("demo/renamed.bin still exists after `mogile rm`".into());
    }
    println!("\n(checked through the mogilefs library: demo/renamed.bin is gone)");
    Ok(())
}

/// `mogile sync`: a small tree into the domain, again (nothing to do), and back out, compared.
fn sync_round_trip(tool: &Tool) -> Result<(), Error> {
    let tree = tool.dir.path().join("tree");
    let back = tool.dir.path().join("tree.back");
    let files: [(&str, usize); 5] = [
        ("README.txt", 120),
        ("photos/2026/cat 1.jpg", 200_000),
        ("photos/2026/50% off.png", 4096),
        ("docs/caf\u{e9}.md", 10),
        ("empty", 0),
    ];
    for (name, len) in files {
        let path = tree.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, mogile_testkit::data::bytes(len, 1))?;
    }
    println!(
        "\ngenerated a tree of {} files in {}",
        files.len(),
        tree.display()
    );
    let os = OsStr::new;
    tool.run([os("sync"), tree.as_os_str(), os("mogile://demo/tree")])?;
    tool.run(["ls", "tree/"])?;
    println!("\n(the same sync again: nothing to copy)");
    tool.run([os("sync"), tree.as_os_str(), os("mogile://demo/tree")])?;
    tool.run([os("sync"), os("mogile://demo/tree"), back.as_os_str()])?;
    for (name, _) in files {
        let (a, b) = (
            std::fs::read(tree.join(name))?,
            std::fs::read(back.join(name))?,
        );
        if a != b {
            return Err(format!("{name} differs after the sync round trip").into());
        }
    }
    println!(
        "  -> {} equals {}, file for file",
        back.display(),
        tree.display()
    );
    Ok(())
}

/// The built tool, with the environment pointing it at the cluster.
struct Tool {
    exe: PathBuf,
    trackers: String,
    /// Holds the test files, and serves as `HOME` so no user configuration file interferes.
    dir: tempfile::TempDir,
}

impl Tool {
    fn new(exe: PathBuf, trackers: &str) -> Result<Self, Error> {
        Ok(Self {
            exe,
            trackers: trackers.to_string(),
            dir: tempfile::tempdir()?,
        })
    }

    /// Runs `mogile ARGS`, echoing the command line and its output; fails on a non-zero status.
    fn run<I, S>(&self, args: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        let shown: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        println!("\n$ mogile {}", shown.join(" "));
        let out = Command::new(&self.exe)
            .args(&args)
            .env("MOGILE_TRACKERS", &self.trackers)
            .env("MOGILE_DOMAIN", "demo")
            .env("HOME", self.dir.path())
            .env_remove("MOGUTILSCONF")
            .stdin(Stdio::null())
            .output()?;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            println!("  {line}");
        }
        if out.stdout.is_empty() && out.stderr.is_empty() {
            println!("  (no output)");
        }
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            println!("  (stderr) {line}");
        }
        if !out.status.success() {
            return Err(format!("`mogile {}` failed: {}", shown.join(" "), out.status).into());
        }
        Ok(())
    }
}

/// Builds `mogile` (debug profile, reusing what is already built) and returns its path.
fn build_mogile() -> Result<PathBuf, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building mogile (cargo build -p mogile-cli -p xtask) ...");
    // `-p xtask` too, so that cargo unifies the features of the shared dependencies (tokio, hyper,
    // futures, ...) exactly as for the `cargo xtask` build that just ran, and reuses those
    // artifacts: built alone, mogile-cli's smaller feature sets would compile them all again. That
    // is also why xtask depends on `mogilefs` and on tokio's `io-std`.
    let out = Command::new(cargo)
        .args([
            "build",
            "-p",
            "mogile-cli",
            "-p",
            "xtask",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err("cargo build -p mogile-cli failed".into());
    }
    // Cargo names the binary it built in its JSON messages, wherever the target directory is.
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_mogile = msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "mogile";
        if let Some(exe) = msg["executable"].as_str().filter(|_| is_mogile) {
            return Ok(PathBuf::from(exe));
        }
    }
    Err("cargo did not report the mogile executable".into())
}

fn workspace_root() -> &'static Path {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
}
