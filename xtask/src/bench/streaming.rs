//! Part 3: streaming upload and download through the facade, each transfer in its own process
//! (`xtask bench stream-put` / `stream-get` under `/usr/bin/time -v` for the peak RSS), against
//! `curl` to the same storage node and the same file, alternating.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use mogile_protocol::GetPaths;
use mogile_tracker::TrackerClient;

use super::measure::median;
use super::report::{Figure, Section, cpu_ratio, ratio_at_most, ratio_target};

const TARGET: f64 = 0.9;
/// Issue 14's target for a 1 GiB transfer: the client's CPU seconds at most this multiple of
/// curl's, both ways.
const CPU_TARGET: f64 = 1.25;
/// The peak RSS target for a 1 GiB transfer, in MiB.
const RSS_TARGET_MIB: f64 = 64.0;
const TIME: &str = "/usr/bin/time";

/// Where the transfers go and what runs them.
#[derive(Debug)]
pub(crate) struct Setup<'a> {
    pub(crate) exe: &'a Path,
    pub(crate) tracker: &'a str,
    pub(crate) domain: &'a str,
    pub(crate) sizes: &'a [u64],
    /// Rounds, at every size: a 1 GiB transfer's CPU seconds swing by a third from round to
    /// round with the machine's load (for curl as for the client), so it gets as many as the
    /// small ones.
    pub(crate) rounds: usize,
}

/// One finished transfer.
#[derive(Debug)]
pub(super) struct Transfer {
    pub(super) secs: f64,
    pub(super) rss_mib: Option<f64>,
    /// User + system CPU seconds of the process.
    cpu_secs: Option<f64>,
}

pub(crate) fn run(s: &Setup<'_>) -> Result<Vec<Figure>, String> {
    if Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("stream: curl is not installed; the streaming part is skipped");
        return Ok(Vec::new());
    }
    let dir = tempfile::Builder::new()
        .prefix("mogile-bench-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let mut figures = Vec::new();
    for &size in s.sizes {
        let file = dir.path().join(format!("source-{size}"));
        write_source(&file, size)?;
        let key = format!("stream/{size}");
        let (mut up, mut up_curl, mut down, mut down_curl) = (vec![], vec![], vec![], vec![]);
        let mut url = String::new();
        for r in 0..s.rounds {
            // Alternate the order (after the first store, which curl's URL comes from).
            let ours_first = r % 2 == 0;
            if ours_first {
                up.push(put_ours(s, &key, &file)?);
                replace_url(&mut url, first_path(s, &key)?)?;
                up_curl.push(put_curl(&url, &file)?);
            } else {
                up_curl.push(put_curl(&url, &file)?);
                up.push(put_ours(s, &key, &file)?);
                replace_url(&mut url, first_path(s, &key)?)?;
            }
            if ours_first {
                down.push(get_ours(s, &key, size)?);
                down_curl.push(get_curl(&url)?);
            } else {
                down_curl.push(get_curl(&url)?);
                down.push(get_ours(s, &key, size)?);
            }
        }
        std::fs::remove_file(&file).map_err(|e| format!("removing {}: {e}", file.display()))?;
        figures.push(figure("upload", size, &up, &up_curl));
        figures.push(figure("download", size, &down, &down_curl));
    }
    drop(dir);
    Ok(figures)
}

fn size_name(size: u64) -> String {
    if size >= 1 << 30 {
        format!("{} GiB", size >> 30)
    } else {
        format!("{} MiB", size >> 20)
    }
}

fn figure(direction: &str, size: u64, ours: &[Transfer], curl: &[Transfer]) -> Figure {
    let mbps = |t: &[Transfer]| {
        median(
            &t.iter()
                .map(|t| size as f64 / t.secs / 1e6)
                .collect::<Vec<_>>(),
        )
    };
    let peak = |t: &[Transfer]| t.iter().filter_map(|t| t.rss_mib).reduce(f64::max);
    let (o, c) = (mbps(ours), mbps(curl));
    let ratio = o / c;
    let (ops_target, mut met) = ratio_target(ratio, TARGET);
    let mut target = format!("MB/s {ops_target}");
    let rss = peak(ours);
    if size >= 1 << 30 {
        let rss_ok = rss.is_some_and(|r| r < RSS_TARGET_MIB);
        met &= rss_ok;
        target.push_str(&format!(
            "; RSS {} < {RSS_TARGET_MIB:.0} MiB",
            if rss_ok { "met:" } else { "MISSED:" }
        ));
    }
    let each = |t: &[Transfer]| {
        t.iter()
            .map(|t| format!("{:.0}", size as f64 / t.secs / 1e6))
            .collect::<Vec<_>>()
            .join("/")
    };
    let cpu_median = |t: &[Transfer]| {
        let v: Vec<f64> = t.iter().filter_map(|t| t.cpu_secs).collect();
        (!v.is_empty()).then(|| median(&v))
    };
    let cpu =
        |t: &[Transfer]| cpu_median(t).map_or_else(|| "n/a".to_owned(), |c| format!("{c:.2}"));
    let cpu_each = |t: &[Transfer]| {
        t.iter()
            .filter_map(|t| t.cpu_secs)
            .map(|c| format!("{c:.2}"))
            .collect::<Vec<_>>()
            .join("/")
    };
    let cpu_ratio_value = cpu_median(ours)
        .zip(cpu_median(curl))
        .map_or(f64::NAN, |(o, c)| o / c);
    let cpu_target = (size >= 1 << 30).then_some(CPU_TARGET);
    if cpu_target.is_some() {
        let (cpu_verdict, cpu_met) = ratio_at_most(cpu_ratio_value, CPU_TARGET);
        met &= cpu_met;
        target.push_str(&format!("; CPU {cpu_verdict}"));
    }
    let mib = |r: Option<f64>| r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.1} MiB"));
    let f = Figure {
        section: Section::Stream,
        line: format!(
            "stream  {direction:<8} {:>6}  client {o:>7.1} MB/s  curl {c:>7.1} MB/s  ratio {ratio:.2}x  client peak RSS {}  CPU s {} vs {} = {}  ({target})  rounds: client {} curl {}, CPU s client {} curl {}",
            size_name(size),
            mib(rss),
            cpu(ours),
            cpu(curl),
            cpu_ratio(cpu_ratio_value, cpu_target),
            each(ours),
            each(curl),
            cpu_each(ours),
            cpu_each(curl),
        ),
        cells: vec![
            direction.to_owned(),
            size_name(size),
            format!("{o:.1}"),
            format!("{c:.1}"),
            format!("**{ratio:.2}x**"),
            mib(rss),
            mib(peak(curl)),
            format!("{} / {}", cpu(ours), cpu(curl)),
            format!("**{}**", cpu_ratio(cpu_ratio_value, cpu_target)),
            target,
        ],
        met: Some(met),
    };
    eprintln!("{}", f.line);
    f
}

/// Writes `size` bytes of a cheap non-repeating pattern (incompressible enough for a transfer).
pub(crate) fn write_source(path: &Path, size: u64) -> Result<(), String> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for w in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n]).map_err(|e| e.to_string())?;
        left -= n as u64;
    }
    f.flush().map_err(|e| e.to_string())
}

/// Runs a command under `/usr/bin/time -v` when present; returns its wall time, peak RSS and
/// stdout. The wall time is the whole process's, for the client and curl alike.
pub(super) fn timed(program: &Path, args: &[&str]) -> Result<(Transfer, String), String> {
    let have_time = Path::new(TIME).exists();
    let mut cmd = if have_time {
        let mut c = Command::new(TIME);
        c.arg("-v").arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args).stdin(Stdio::null());
    let start = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("running {}: {e}", program.display()))?;
    let secs = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{} failed: {stderr}", program.display()));
    }
    let rss_mib = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0);
    let seconds = |label: &str| {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let cpu_secs = seconds("User time (seconds):")
        .zip(seconds("System time (seconds):"))
        .map(|(u, s)| u + s);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Ok((
        Transfer {
            secs,
            rss_mib,
            cpu_secs,
        },
        stdout,
    ))
}

/// Flushes dirty pages before an upload (untimed), so that no upload pays for the writeback of
/// the one before it: with 1 GiB files that throttling decided which side looked faster.
fn settle_disk() {
    if let Err(e) = Command::new("sync").status() {
        eprintln!("stream: sync failed: {e}");
    }
}

fn put_ours(s: &Setup<'_>, key: &str, file: &Path) -> Result<Transfer, String> {
    settle_disk();
    let file = file.to_string_lossy();
    timed(
        s.exe,
        &["bench", "stream-put", s.tracker, s.domain, key, &file],
    )
    .map(|(t, _)| t)
}

fn get_ours(s: &Setup<'_>, key: &str, size: u64) -> Result<Transfer, String> {
    let (t, out) = timed(s.exe, &["bench", "stream-get", s.tracker, s.domain, key])?;
    if !out.contains(&format!("bytes={size} ")) {
        return Err(format!("stream-get fetched the wrong size: {out}"));
    }
    Ok(t)
}

fn curl() -> PathBuf {
    PathBuf::from("curl")
}

/// Moves to the URL of the client's latest upload and deletes the file it replaced (untimed): the
/// local cluster's tracker does not delete a replaced fid's file, and with 1 GiB rounds those
/// files filled the shared disk.
fn replace_url(url: &mut String, new: String) -> Result<(), String> {
    let old = std::mem::replace(url, new);
    if old.is_empty() || old == *url {
        return Ok(());
    }
    delete_url(&old)
}

/// `curl -X DELETE url`, which must succeed.
fn delete_url(url: &str) -> Result<(), String> {
    let deleted = Command::new(curl())
        .args(["-sS", "-f", "-X", "DELETE", "-o", "/dev/null", url])
        .status()
        .map_err(|e| format!("curl DELETE: {e}"))?;
    if deleted.success() {
        Ok(())
    } else {
        Err(format!("curl DELETE {url} failed ({deleted})"))
    }
}

/// curl prints the HTTP status (`-w`), which must be 2xx; the transfer itself is as the issue says.
fn check_status(out: &str) -> Result<(), String> {
    if out.trim().starts_with('2') {
        Ok(())
    } else {
        Err(format!("curl got HTTP status {out:?}"))
    }
}

/// curl's upload goes to a file of its own beside the client's (`URL.curl`), created by the PUT and
/// deleted after it (untimed): each client upload also creates a new file (a new fid) and deletes
/// the old one, and overwriting one file in place would let curl reuse its page cache where the
/// client must reclaim memory, which with a full page cache made the client look 2x slower.
fn put_curl(url: &str, file: &Path) -> Result<Transfer, String> {
    settle_disk();
    let file = file.to_string_lossy();
    let target = format!("{url}.curl");
    let args = [
        "-sS",
        "-H",
        "Expect:",
        "-T",
        &file,
        &target,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
    ];
    let (t, out) = timed(&curl(), &args)?;
    check_status(&out)?;
    delete_url(&target)?;
    Ok(t)
}

pub(super) fn get_curl(url: &str) -> Result<Transfer, String> {
    let (t, out) = timed(
        &curl(),
        &["-sS", "-o", "/dev/null", url, "-w", "%{http_code}"],
    )?;
    check_status(&out)?;
    Ok(t)
}

/// The URL the facade stored `key` at (one replica: the cluster has one device).
fn first_path(s: &Setup<'_>, key: &str) -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let client = TrackerClient::builder()
            .trackers([s.tracker])
            .build()
            .map_err(|e| e.to_string())?;
        let paths = client
            .get_paths(GetPaths::new(s.domain, key).noverify(true))
            .await
            .map_err(|e| format!("get_paths {key}: {e}"))?;
        client.close();
        paths
            .first()
            .map(|p| p.as_str().to_owned())
            .ok_or_else(|| format!("no path for {key}"))
    })
}
