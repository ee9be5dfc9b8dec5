//! Where copies live: storage URLs and the weighted random device orders the tracker uses.

use rand::Rng;

use super::model::State;
use super::spec::DeviceState;

/// `min_free_space`: devices with less known free space take no new files.
const MIN_FREE_MB: u64 = 100;

/// Which port and address a URL uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UrlKind {
    /// `get_paths`-style URL: the host's `http_get_port` when it has one.
    pub(crate) read: bool,
    /// `zone=alt`: the host's `altip` when it has one.
    pub(crate) alt: bool,
}

/// The path of the replica of `fid` on device `devid`, as the tracker puts it in storage URLs and a
/// storage node serves it from its docroot: `/dev<devid>/<d1>/<d3a>/<d3b>/<fid10>.fid`, where `fid10`
/// is the fid zero-padded to 10 digits, `d3a`/`d3b` its 3-digit groups after the leading digit(s)
/// `d1` and `fid10` itself (the Perl regex `(\d+)(\d{3})(\d{3})(\d{3})`, so a fid of more than 10
/// digits puts the extra digits in `d1`).
///
/// ```
/// use mogile_testkit::tracker::fid_path;
///
/// assert_eq!(fid_path(2, 148_056), "/dev2/0/000/148/0000148056.fid");
/// ```
pub fn fid_path(devid: u64, fid: u64) -> String {
    let n = format!("{fid:010}");
    let len = n.len();
    format!(
        "/dev{devid}/{}/{}/{}/{n}.fid",
        &n[..len - 9],
        &n[len - 9..len - 6],
        &n[len - 6..len - 3]
    )
}

impl State {
    /// Devices that should get new files, in the tracker's weighted random order (by free space).
    pub(crate) fn writable_devices(&mut self, size: Option<i64>) -> Vec<u64> {
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for (&devid, dev) in &self.devices {
            let host_alive = self
                .hosts
                .get(&dev.hostid)
                .is_some_and(|h| h.status == b"alive");
            if dev.state != DeviceState::Alive || !host_alive {
                continue;
            }
            match dev.mb_free() {
                None => unknown.push((devid, 100.0)),
                Some(free) if free < MIN_FREE_MB => {}
                Some(free) => {
                    let fits =
                        size.is_none_or(|s| u128::from(free) * 1024 * 1024 >= s.max(0) as u128);
                    if fits {
                        known.push((devid, free as f64));
                    }
                }
            }
        }
        // A size hint filters known devices; devices of unknown size are the fallback.
        let pool = if size.is_some() && known.is_empty() {
            unknown
        } else {
            known.extend(unknown);
            known
        };
        self.weighted_shuffle(&pool)
    }

    /// The URL of `fid` on device `devid`, or `None` when the device or its host is unknown.
    pub(crate) fn url(&self, devid: u64, fid: u64, kind: UrlKind) -> Option<String> {
        let dev = self.devices.get(&devid)?;
        let host = self.hosts.get(&dev.hostid)?;
        let ip = if kind.alt && !host.altip.is_empty() {
            &host.altip
        } else {
            &host.ip
        };
        let port = if kind.read && !host.http_get_port.is_empty() {
            &host.http_get_port
        } else {
            &host.http_port
        };
        Some(format!(
            "http://{}:{}{}",
            String::from_utf8_lossy(ip),
            String::from_utf8_lossy(port),
            fid_path(devid, fid)
        ))
    }

    /// Orders `items` by a weighted random draw without replacement (Efraimidis-Spirakis); items with a
    /// weight of 0 or less come last, in their original order.
    pub(crate) fn weighted_shuffle<T: Copy>(&mut self, items: &[(T, f64)]) -> Vec<T> {
        let mut keyed: Vec<(f64, T)> = items
            .iter()
            .map(|&(item, w)| {
                let key = if w > 0.0 {
                    self.rng.random::<f64>().powf(1.0 / w)
                } else {
                    -1.0
                };
                (key, item)
            })
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        keyed.into_iter().map(|(_, item)| item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fid_path;

    #[test]
    fn fid_paths_match_the_tracker() {
        assert_eq!(fid_path(2, 148_056), "/dev2/0/000/148/0000148056.fid");
        assert_eq!(fid_path(2, 90_014), "/dev2/0/000/090/0000090014.fid");
        assert_eq!(fid_path(11, 1), "/dev11/0/000/000/0000000001.fid");
        assert_eq!(fid_path(1, 1_234_567_890), "/dev1/1/234/567/1234567890.fid");
        assert_eq!(
            fid_path(3, 12_345_678_901),
            "/dev3/12/345/678/12345678901.fid"
        );
    }
}
