//! Shared by the test binaries: a `TestCluster` on its own runtime, and the built `mogile` pointed
//! at it.
//!
//! The cluster serves from the runtime's worker threads while each test runs the tool as a child
//! process, so the tests use real time; the child's `--timeout` bounds every wait.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use mogile_testkit::TestCluster;

/// The domain the cluster creates.
pub const DOMAIN: &str = "testdom";

/// A running local cluster and a private `HOME` for the tool.
pub struct Env {
    rt: tokio::runtime::Runtime,
    cluster: Option<TestCluster>,
    /// Tracker addresses, comma-separated.
    pub trackers: String,
    /// `HOME` of every child process, so no user configuration file is read.
    pub home: tempfile::TempDir,
}

impl Env {
    /// Starts 1 tracker and 2 storage nodes with 2 devices each.
    pub fn start() -> Self {
        Self::start_with(1, 2)
    }

    /// Starts `trackers` trackers and `nodes` storage nodes with 2 devices each.
    pub fn start_with(trackers: usize, nodes: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let cluster = rt
            .block_on(
                TestCluster::builder()
                    .trackers(trackers)
                    .storage_nodes(nodes)
                    .devices_per_node(2)
                    .domain(DOMAIN)
                    .start(),
            )
            .unwrap();
        let trackers = cluster.tracker_addrs().join(",");
        Self {
            rt,
            cluster: Some(cluster),
            trackers,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// The cluster.
    pub fn cluster(&self) -> &TestCluster {
        self.cluster.as_ref().unwrap()
    }

    /// Runs `f` on the cluster's runtime (for the async switches of the cluster).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Copies every file to its class's `mindevcount` devices.
    pub fn replicate(&self) {
        self.rt.block_on(self.cluster().replicate_all()).unwrap();
    }

    /// `mogile` with `HOME` private, `MOGUTILSCONF` unset, and no tracker or domain configured.
    pub fn bare(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mogile"));
        cmd.env("HOME", self.home.path())
            .env_remove("MOGUTILSCONF")
            .env_remove("MOGILE_TRACKERS")
            .env_remove("MOGILE_DOMAIN")
            .env_remove("MOGILE_QUOTING")
            .stdin(Stdio::null());
        cmd
    }

    /// `mogile` pointed at the cluster through the environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("MOGILE_TRACKERS", &self.trackers)
            .env("MOGILE_DOMAIN", DOMAIN)
            .args(["--timeout", "20"]);
        cmd
    }

    /// Runs `mogile ARGS` against the cluster.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs `mogile ARGS` as if stdout were a terminal (`MOGILE_QUOTING=shell`: keys are quoted
    /// for a shell), and asserts it succeeded; returns stdout.
    pub fn ok_tty<I, S>(&self, args: I) -> Vec<u8>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self
            .cmd()
            .env("MOGILE_QUOTING", "shell")
            .args(args)
            .output()
            .unwrap();
        assert_success(&out);
        out.stdout
    }

    /// Runs `mogile ARGS` and asserts it succeeded; returns stdout.
    pub fn ok<I, S>(&self, args: I) -> Vec<u8>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args);
        assert_success(&out);
        out.stdout
    }

    /// Stores `data` under `key` from a file.
    pub fn put(&self, key: &str, data: &[u8]) {
        let path = self.home.path().join("upload.tmp");
        std::fs::write(&path, data).unwrap();
        self.ok([OsStr::new("put"), OsStr::new(key), path.as_os_str()]);
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(cluster) = self.cluster.take() {
            self.rt.block_on(cluster.shutdown());
        }
    }
}

/// Asserts a zero exit status, showing stderr otherwise.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "mogile failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts exit status `code` and exactly one line on stderr, returned.
pub fn assert_code(out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    stderr
}

/// Stdout as text.
pub fn text(out: &[u8]) -> String {
    String::from_utf8(out.to_vec()).unwrap()
}

/// Writes a configuration file.
pub fn write_conf(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}
