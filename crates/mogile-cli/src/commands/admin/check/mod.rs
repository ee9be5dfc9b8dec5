//! `mogile admin check`: the successor of `mogadm check`.
//!
//! - Trackers: reachable or not, with the latency of a `noop` on a connection of its own, from
//!   the facade's `Client::tracker_status()` (a client whose pool probes every tracker at once).
//! - Hosts and devices, sorted by id, with their state; each device's `/dev<N>/usage` is fetched
//!   from its storage node (`Admin::device_usage`) for its space and to see that the node answers,
//!   unless the device or its host is `dead` or `down`.
//! - The space used and free per device and in total; the classes of each domain.
//!
//! Problems (exit status 1): a tracker unreachable; a device or host meant to be up (state
//! `alive`, `readonly` or `drain`, on a host that is not `dead` or `down`) whose usage file
//! cannot be fetched; a device more used than `--max-used` percent; a tracker command failing.
//! `dead` devices (retired for good) and `down` ones (taken out on purpose) are reported, never
//! a problem.

use std::collections::BTreeMap;
use std::time::Duration;

mod render;

use mogilefs::admin::{DeviceInfo, DeviceUsage, HostInfo};
use mogilefs::{Client, TrackerStatus};

use crate::commands::{Ctx, client_with, configs};
use crate::exit::{Failure, chain};
use crate::key_text::display;

/// How often the pool probes each tracker while `check` runs: at once, in effect.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// How often `check` looks at the probes' results while it waits for them.
const POLL: Duration = Duration::from_millis(20);

/// States in which a device or host is not expected to answer.
fn resting(state: &str) -> bool {
    matches!(state, "dead" | "down")
}

/// `mogile admin check [--max-used PERCENT]`.
pub(crate) async fn check(ctx: &mut Ctx, max_used: u8) -> Result<(), Failure> {
    // A client of its own, whose pool probes every tracker right away: a new pool has probed
    // none, and probes a healthy one only every 30 s by default.
    let (mut tracker, storage) = configs(&ctx.settings);
    tracker.pool.probe_interval = PROBE_INTERVAL;
    tracker.pool.probe_interval_active = PROBE_INTERVAL;
    if let Some(t) = ctx.settings.timeout {
        tracker.pool.probe_timeout = t;
    }
    // Saturating: a `--timeout` or configured timeout may be as large as `Duration::MAX`.
    let wait = tracker
        .pool
        .connect_timeout
        .saturating_add(tracker.pool.probe_timeout)
        .saturating_add(4 * PROBE_INTERVAL);
    let client = client_with(
        &ctx.settings,
        ctx.client.domain().to_owned(),
        tracker,
        storage,
    )?;
    let report = gather(&client, wait, max_used).await;
    client.close().await;
    report.render(ctx)?;
    match report.problems.len() {
        0 => Ok(()),
        1 => Err(Failure::failed(format!(
            "admin check: {}",
            report.problems[0]
        ))),
        n => Err(Failure::failed(format!(
            "admin check: {n} problems, the first: {}",
            report.problems[0]
        ))),
    }
}

/// What `check` found.
#[derive(Debug, Default)]
struct Report {
    max_used: u8,
    trackers: Vec<TrackerRow>,
    hosts: Vec<(HostInfo, Observed)>,
    devices: Vec<DeviceRow>,
    /// (domain, class, mindevcount).
    classes: Vec<(String, String, u32)>,
    problems: Vec<String>,
}

#[derive(Debug)]
struct TrackerRow {
    address: String,
    latency: Option<Duration>,
    error: Option<String>,
}

#[derive(Debug)]
struct DeviceRow {
    info: DeviceInfo,
    host: Option<String>,
    observed: Observed,
    usage: Option<DeviceUsage>,
    error: Option<String>,
}

/// What was seen of a device or host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Observed {
    Reachable,
    Unreachable,
    /// Not asked: dead or down, or a host with no device to ask.
    NotChecked,
}

impl Observed {
    fn as_str(self) -> &'static str {
        match self {
            Self::Reachable => "reachable",
            Self::Unreachable => "unreachable",
            Self::NotChecked => "skipped",
        }
    }
}

async fn gather(client: &Client, wait: Duration, max_used: u8) -> Report {
    let mut report = Report {
        max_used,
        ..Report::default()
    };
    for t in probed(client, wait).await {
        let (latency, error) = match t.last_probe.as_ref().map(|p| &p.result) {
            Some(Ok(latency)) => (Some(*latency), None),
            Some(Err(e)) => (None, Some(chain(e))),
            None => (None, Some(format!("no answer within {wait:?}"))),
        };
        if let Some(e) = &error {
            report
                .problems
                .push(format!("tracker {} unreachable: {e}", display(&t.address)));
        }
        report.trackers.push(TrackerRow {
            address: t.address,
            latency,
            error,
        });
    }

    let admin = client.admin();
    let (hosts, devices, domains) = futures::join!(admin.hosts(), admin.devices(), admin.domains());
    let mut failed = |what: &str, e: &mogilefs::Error| {
        report.problems.push(format!("{what} failed: {}", chain(e)));
    };
    let mut hosts = hosts.unwrap_or_else(|e| {
        failed("get_hosts", &e);
        Vec::new()
    });
    let mut devices = devices.unwrap_or_else(|e| {
        failed("get_devices", &e);
        Vec::new()
    });
    let domains = domains.unwrap_or_else(|e| {
        failed("get_domains", &e);
        Vec::new()
    });
    hosts.sort_by_key(|h| h.hostid);
    devices.sort_by_key(|d| d.devid.0);

    let host_of: BTreeMap<u64, &HostInfo> = hosts.iter().map(|h| (h.hostid, h)).collect();
    let fetches = devices.iter().map(|d| {
        let host = host_of.get(&d.hostid).copied();
        let admin = &admin;
        async move {
            match host {
                Some(h) if !resting(&d.status) && !resting(&h.status) => {
                    Some(admin.device_usage(h, d.devid).await)
                }
                _ => None,
            }
        }
    });
    let fetched = futures::future::join_all(fetches).await;

    // Per host: whether any of its devices answered, and whether any was asked.
    let mut answered: BTreeMap<u64, (bool, bool)> = BTreeMap::new();
    for (d, result) in devices.iter().zip(fetched) {
        let host = host_of.get(&d.hostid).map(|h| h.hostname.clone());
        let (observed, usage, error) = match result {
            None => (Observed::NotChecked, None, None),
            Some(Ok(u)) => (Observed::Reachable, Some(u), None),
            Some(Err(e)) => (Observed::Unreachable, None, Some(e)),
        };
        if let Some(e) = &error {
            let seen = answered.entry(d.hostid).or_default();
            seen.1 = true;
            seen.0 |= reached_the_node(e);
            report.problems.push(format!(
                "device {} on {} ({}) unreachable: {}",
                d.devid.0,
                display(host.as_deref().unwrap_or("?")),
                display(&d.status),
                chain(e)
            ));
        }
        if let Some(u) = &usage {
            let seen = answered.entry(d.hostid).or_default();
            *seen = (true, true);
            let pct = percent(u.used_kib, u.total_kib);
            if pct > f64::from(max_used) {
                report.problems.push(format!(
                    "device {} on {} is {pct:.1}% used (above {max_used}%)",
                    d.devid.0,
                    display(host.as_deref().unwrap_or("?")),
                ));
            }
        }
        report.devices.push(DeviceRow {
            info: d.clone(),
            host,
            observed,
            usage,
            error: error.as_ref().map(|e| chain(e)),
        });
    }
    for h in hosts {
        let observed = match answered.get(&h.hostid) {
            Some((true, _)) => Observed::Reachable,
            Some((false, true)) => Observed::Unreachable,
            _ => Observed::NotChecked,
        };
        if observed == Observed::Unreachable && !resting(&h.status) {
            report.problems.push(format!(
                "host {} ({}) unreachable",
                display(&h.hostname),
                display(&h.status)
            ));
        }
        report.hosts.push((h, observed));
    }
    for d in domains {
        for c in d.classes {
            report.classes.push((d.name.clone(), c.name, c.mindevcount));
        }
    }
    report
}

/// Every tracker's status once each has been probed, or `wait` has passed.
async fn probed(client: &Client, wait: Duration) -> Vec<TrackerStatus> {
    let now = tokio::time::Instant::now();
    // No deadline if it would overflow: a timeout of `Duration::MAX` asks for none.
    let until = now.checked_add(wait);
    loop {
        let status = client.tracker_status();
        if status.iter().all(|t| t.last_probe.is_some())
            || until.is_some_and(|u| tokio::time::Instant::now() >= u)
        {
            return status;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the failure came from the node's answer (so the host is up), not from reaching it.
fn reached_the_node(e: &mogilefs::Error) -> bool {
    match e {
        mogilefs::Error::Storage { source, .. } => source.status().is_some(),
        mogilefs::Error::DeviceUsage { .. } => true,
        _ => false,
    }
}

fn percent(used: u64, total: u64) -> f64 {
    match total {
        0 => 0.0,
        // Sizes in KiB: far below 2^53, exact as f64.
        t => used as f64 * 100.0 / t as f64,
    }
}
