//! `cargo xtask test-cluster`: a local MogileFS cluster on loopback, for trying the client by hand or
//! for running the cluster test-suite against it.
//!
//! The cluster is `mogile_testkit::TestCluster`: fake trackers sharing one model and directory-backed
//! storage nodes, every server on `127.0.0.1` port 0. In this mode replication runs in the background
//! (after a short delay, like a real tracker's replication worker), since nobody outside this process
//! can call `TestCluster::replicate_all`.

use std::process::ExitCode;
use std::time::Duration;

use mogile_testkit::TestCluster;

/// Environment variables that point a client at the cluster (the CLI and examples read these).
const ENV_TRACKERS: &str = "MOGILE_TRACKERS";
const ENV_DOMAIN: &str = "MOGILE_DOMAIN";
/// Environment variables the integration tests in `tests/` (package `mogile-tests`) honour.
const ENV_TEST_TRACKERS: &str = "MOGILE_TEST_TRACKERS";
const ENV_TEST_DOMAIN: &str = "MOGILE_TEST_DOMAIN";

/// Options of the `test-cluster` command.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Number of trackers (sharing one model)
    #[arg(long, value_name = "N", default_value = "2", value_parser = positive)]
    trackers: usize,
    /// Number of storage nodes
    #[arg(long, value_name = "M", default_value = "3", value_parser = positive)]
    nodes: usize,
    /// Devices on each storage node
    #[arg(long, value_name = "K", default_value = "2", value_parser = positive)]
    devices_per_node: usize,
    /// Domain to create (with the classes the tests use)
    #[arg(long, value_name = "NAME", default_value = "testdom")]
    domain: String,
    /// Delay before a new file is replicated in the background, in milliseconds
    #[arg(
        long = "replicate-after-ms",
        value_name = "MS",
        default_value = "500",
        value_parser = millis
    )]
    replicate_after: Duration,
    /// Run the external-cluster test suites against the cluster, then stop it
    #[arg(long)]
    run_tests: bool,
    /// Extra arguments for `cargo test` (after `--`)
    #[arg(last = true, value_name = "CARGO TEST ARGS")]
    test_args: Vec<String>,
}

fn positive(v: &str) -> Result<usize, String> {
    v.parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("expected a positive number, got {v:?}"))
}

fn millis(v: &str) -> Result<Duration, String> {
    v.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("expected milliseconds, got {v:?}"))
}

/// Entry point of `cargo xtask test-cluster`.
pub(crate) fn run(opts: Options) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("xtask test-cluster: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(opts))
}

async fn serve(opts: Options) -> ExitCode {
    let cluster = match TestCluster::builder()
        .trackers(opts.trackers)
        .storage_nodes(opts.nodes)
        .devices_per_node(opts.devices_per_node)
        .domain(opts.domain.as_str())
        .background_replication(opts.replicate_after)
        .start()
        .await
    {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("xtask test-cluster: cannot start the cluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    let trackers = cluster.tracker_addrs().join(",");
    let domain = cluster.domain().to_owned();
    describe(&cluster, &trackers);

    let code = if opts.run_tests {
        run_tests(&trackers, &domain, &opts.test_args).await
    } else {
        println!("export {ENV_TRACKERS}={trackers}");
        println!("export {ENV_DOMAIN}={domain}");
        println!(
            "# for the conformance suite: cargo test -p mogile-tests --test it -- --ignored --exact {EXTERNAL_SUITE}"
        );
        println!(
            "# for object_store's suite: cargo test -p {OBJECT_STORE_PACKAGE} --test it -- {OBJECT_STORE_SUITE}"
        );
        println!("export {ENV_TEST_TRACKERS}={trackers}");
        println!("export {ENV_TEST_DOMAIN}={domain}");
        eprintln!("serving until Ctrl-C");
        match tokio::signal::ctrl_c().await {
            Ok(()) => {
                eprintln!("stopping the cluster");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("xtask test-cluster: cannot listen for Ctrl-C: {e}");
                ExitCode::FAILURE
            }
        }
    };
    cluster.shutdown().await;
    code
}

/// Prints what was started: trackers, nodes and devices, domain and classes (on stderr, so that
/// stdout holds only the `export` lines and can be `eval`ed).
fn describe(cluster: &TestCluster, trackers: &str) {
    eprintln!(
        "test cluster: {} tracker(s), {} storage node(s), domain {:?}, classes {:?} (mindevcount 2) and {:?} (hashtype MD5)",
        cluster.trackers().len(),
        cluster.nodes().len(),
        cluster.domain(),
        cluster.plain_class(),
        cluster.md5_class(),
    );
    eprintln!("trackers: {trackers}");
    for dev in cluster.devices() {
        eprintln!(
            "  dev{} on host {} ({}) -> {}",
            dev.devid,
            dev.hostname,
            dev.http_addr,
            dev.dir.display()
        );
    }
}

/// The conformance suite against an external cluster (`tests/it/conformance.rs`). It is
/// `#[ignore]`d, so that a plain `cargo test` reports it as not run; `--run-tests` runs it by
/// name with `--ignored`.
const EXTERNAL_SUITE: &str = "conformance::suite_against_external_cluster";

/// The crate whose external-cluster suite `--run-tests` also runs: object_store's own
/// integration suite against a `MogileStore` (`crates/mogile-object-store/tests/it/conformance.rs`).
const OBJECT_STORE_PACKAGE: &str = "mogile-object-store";
/// The filter selecting that suite. Its tests are not `#[ignore]`d: each one runs on an embedded
/// cluster unless `MOGILE_TEST_TRACKERS` and `MOGILE_TEST_DOMAIN` are set, and then on that cluster
/// under a per-run prefix. The crate's race tests that make `rename`s collide live in
/// `mapping.rs`, outside this filter, and always use an embedded cluster (the stray `OK` of a
/// colliding `rename` on 2.73 would drop another client's tracker connection).
const OBJECT_STORE_SUITE: &str = "conformance::";

/// Runs the integration test package against the cluster (with `extra`), then the ignored
/// external-cluster conformance suite, then object_store's suite against a `MogileStore` on the
/// cluster, and returns the first failure or success.
async fn run_tests(trackers: &str, domain: &str, extra: &[String]) -> ExitCode {
    let package: Vec<String> = ["test", "-p", "mogile-tests"]
        .into_iter()
        .map(str::to_owned)
        .chain(extra.iter().cloned())
        .collect();
    if !cargo_test(trackers, domain, &package).await {
        return ExitCode::FAILURE;
    }
    let external = [
        "test",
        "-p",
        "mogile-tests",
        "--test",
        "it",
        "--",
        "--ignored",
        "--exact",
        EXTERNAL_SUITE,
    ]
    .map(str::to_owned);
    if !cargo_test(trackers, domain, &external).await {
        return ExitCode::FAILURE;
    }
    let object_store = [
        "test",
        "-p",
        OBJECT_STORE_PACKAGE,
        "--test",
        "it",
        "--",
        OBJECT_STORE_SUITE,
    ]
    .map(str::to_owned);
    if cargo_test(trackers, domain, &object_store).await {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs `cargo <args>` with the cluster's environment; whether it succeeded.
async fn cargo_test(trackers: &str, domain: &str, args: &[String]) -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = tokio::process::Command::new(cargo);
    cmd.args(args)
        .env(ENV_TEST_TRACKERS, trackers)
        .env(ENV_TEST_DOMAIN, domain)
        .env(ENV_TRACKERS, trackers)
        .env(ENV_DOMAIN, domain)
        .kill_on_drop(true);
    eprintln!(
        "+ {ENV_TEST_TRACKERS}={trackers} {ENV_TEST_DOMAIN}={domain} cargo {}",
        args.join(" ")
    );
    let status = tokio::select! {
        status = cmd.status() => status,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted");
            return false;
        }
    };
    match status {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("xtask test-cluster: the tests failed ({s})");
            false
        }
        Err(e) => {
            eprintln!("xtask test-cluster: cannot run cargo: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cmd {
        #[command(flatten)]
        opts: Options,
    }

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        use clap::Parser;
        Cmd::try_parse_from(std::iter::once("test-cluster").chain(args.iter().copied()))
            .map(|c| c.opts)
    }

    #[test]
    fn defaults_and_overrides_parse() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.domain, "testdom");
        assert_eq!(o.replicate_after, Duration::from_millis(500));
        assert_eq!((o.trackers, o.nodes, o.devices_per_node), (2, 3, 2));
        assert!(!o.run_tests);
        let o = parse(&[
            "--trackers",
            "3",
            "--domain",
            "d",
            "--replicate-after-ms",
            "10",
            "--run-tests",
            "--",
            "--nocapture",
        ])
        .unwrap();
        assert_eq!(o.replicate_after, Duration::from_millis(10));
        assert_eq!(o.trackers, 3);
        assert_eq!(o.domain, "d");
        assert!(o.run_tests);
        assert_eq!(o.test_args, vec!["--nocapture".to_owned()]);
    }

    /// `--run-tests` names the external-cluster suite; a rename must not make it match nothing
    /// (libtest passes a filter that matches no test).
    #[test]
    fn the_external_suite_named_exists_and_is_ignored() {
        let source = include_str!("../../tests/it/conformance.rs");
        let name = EXTERNAL_SUITE.strip_prefix("conformance::").unwrap();
        let at = source
            .find(&format!("async fn {name}()"))
            .expect("the test exists");
        let attributes = &source[..at];
        let last_fn = attributes.rfind("fn ").unwrap_or(0);
        assert!(
            attributes[last_fn..].contains("#[ignore = "),
            "it is #[ignore]d, so `--ignored` is what runs it"
        );
        assert!(include_str!("../../tests/it/main.rs").contains("mod conformance;"));
    }

    /// The object-store suite `--run-tests` selects exists, runs without `--ignored`, honours the
    /// external cluster's variables, and holds no test that makes `rename`s collide.
    #[test]
    fn the_object_store_suite_selected_exists_and_runs_on_the_external_cluster() {
        let dir = "../../crates/mogile-object-store/tests/it/";
        let main = include_str!("../../crates/mogile-object-store/tests/it/main.rs");
        let module = OBJECT_STORE_SUITE.trim_end_matches(':');
        assert!(main.contains(&format!("mod {module};")), "{dir}main.rs");
        let suite = include_str!("../../crates/mogile-object-store/tests/it/conformance.rs");
        assert!(suite.contains("_passes =>"), "the suite's tests are there");
        assert!(!suite.contains("#[ignore"), "a plain filter runs them");
        assert!(suite.contains("Target::start()"), "they honour the target");
        let support = include_str!("../../crates/mogile-object-store/tests/it/support.rs");
        assert!(support.contains(ENV_TEST_TRACKERS) && support.contains(ENV_TEST_DOMAIN));
        let manifest = include_str!("../../crates/mogile-object-store/Cargo.toml");
        assert!(manifest.contains(&format!("name = \"{OBJECT_STORE_PACKAGE}\"")));
        // The 8-way `Create` race (colliding renames) is outside the filter, on an embedded cluster.
        let mapping = include_str!("../../crates/mogile-object-store/tests/it/mapping.rs");
        assert!(!suite.contains("put_opts(&path") && !suite.contains("PutMode::Create"));
        assert!(mapping.contains("PutMode::Create") && !mapping.contains("Target::start"));
    }

    #[test]
    fn bad_arguments_are_rejected() {
        for bad in [
            &["--trackers", "0"][..],
            &["--nodes"],
            &["--bogus"],
            &["--replicate-after-ms", "x"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }
}
