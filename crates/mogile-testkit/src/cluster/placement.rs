//! Where replication puts a file's next copies: a pure, deterministic choice.
//!
//! The real tracker's `MultipleHosts()` policy wants copies on distinct hosts and settles for
//! distinct devices when there are not enough hosts. The cluster follows it, deterministically
//! (least-used host first, then the lowest devid), so that tests can predict where replicas land.

use std::collections::HashMap;

/// A device as the replication planner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) devid: u64,
    pub(crate) hostid: u64,
    /// Whether the device may receive new copies (device and host alive, node serving).
    pub(crate) writable: bool,
}

/// Picks devices for the copies a file lacks.
///
/// `have` are the devices holding the file already; the result has at most `want - have.len()`
/// devices, all writable, none in `have`, each on the host with the fewest copies so far (ties:
/// lowest devid). Fewer are returned when the cluster has too few writable devices.
pub(crate) fn destinations(devices: &[Candidate], have: &[u64], want: usize) -> Vec<u64> {
    let mut per_host: HashMap<u64, usize> = HashMap::new();
    for devid in have {
        if let Some(dev) = devices.iter().find(|d| d.devid == *devid) {
            *per_host.entry(dev.hostid).or_default() += 1;
        }
    }
    let mut pool: Vec<Candidate> = devices
        .iter()
        .filter(|d| d.writable && !have.contains(&d.devid))
        .copied()
        .collect();
    let mut chosen = Vec::new();
    let mut count = have.len();
    while count < want {
        let Some(idx) = pool
            .iter()
            .enumerate()
            .min_by_key(|(_, d)| (per_host.get(&d.hostid).copied().unwrap_or(0), d.devid))
            .map(|(i, _)| i)
        else {
            break;
        };
        let dev = pool.swap_remove(idx);
        *per_host.entry(dev.hostid).or_default() += 1;
        chosen.push(dev.devid);
        count += 1;
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(devid: u64, hostid: u64) -> Candidate {
        Candidate {
            devid,
            hostid,
            writable: true,
        }
    }

    #[test]
    fn prefers_another_host() {
        // host 1: devs 1, 2; host 2: devs 3, 4
        let devs = [dev(1, 1), dev(2, 1), dev(3, 2), dev(4, 2)];
        assert_eq!(destinations(&devs, &[1], 2), vec![3]);
        assert_eq!(destinations(&devs, &[3], 2), vec![1]);
        assert_eq!(destinations(&devs, &[1], 3), vec![3, 2]);
    }

    #[test]
    fn falls_back_to_distinct_devices_on_one_host() {
        let devs = [dev(1, 1), dev(2, 1)];
        assert_eq!(destinations(&devs, &[2], 2), vec![1]);
        assert_eq!(destinations(&devs, &[2], 5), vec![1]);
    }

    #[test]
    fn skips_unwritable_and_satisfied_files() {
        let mut devs = vec![dev(1, 1), dev(2, 2), dev(3, 3)];
        devs[1].writable = false;
        assert_eq!(destinations(&devs, &[1], 2), vec![3]);
        assert!(destinations(&devs, &[1, 3], 2).is_empty());
        assert!(destinations(&devs, &[], 0).is_empty());
    }
}
