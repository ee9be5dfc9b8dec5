//! [`DeviceUsage`]: the `/dev<N>/usage` file a storage node serves for each device.
//!
//! mogstored writes it every few seconds and serves it on its GET port (`protocol.md` 11.5):
//! `key: value` lines, sorted by key, with at least `total` and `used` in KiB (the tracker's
//! monitor refuses a device without them), and `available` (KiB), `device`, `disk` (the device's
//! directory), `time` (Unix seconds) and `use` (percent, as `df` rounds it: up).

use crate::printable;

/// One device's space, as its `/dev<N>/usage` file gives it. Sizes are in KiB.
///
/// ```
/// use mogile_protocol::DeviceUsage;
///
/// let body = b"available: 82859052\ndevice: /dev/sdX        \ndisk: /data/dev1\n\
///              time: 1795620985\ntotal: 95285888\nuse: 14%\nused: 12426836\n";
/// let usage = DeviceUsage::parse(body)?;
/// assert_eq!((usage.total_kib, usage.used_kib), (95_285_888, 12_426_836));
/// assert_eq!(usage.available_kib(), 82_859_052);
/// assert_eq!(usage.device.as_deref(), Some("/dev/sdX"));
/// assert_eq!(usage.use_percent, Some(14));
/// # Ok::<(), mogile_protocol::UsageError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceUsage {
    /// `total`: the device's size.
    pub total_kib: u64,
    /// `used`: space in use.
    pub used_kib: u64,
    /// `available`: space a writer can still use (below `total - used` on file systems that
    /// reserve blocks); `None` when the file has no such line.
    pub available_kib: Option<u64>,
    /// `device`: the block device, as the node names it.
    pub device: Option<String>,
    /// `disk`: the device's directory on the node.
    pub disk: Option<String>,
    /// `time`: when the node measured, in Unix seconds.
    pub time: Option<u64>,
    /// `use`: percent in use, as the node rounded it.
    pub use_percent: Option<u32>,
}

/// Why a `/dev<N>/usage` body cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// A line the monitor needs is missing (`total` or `used`).
    #[error("no `{0}` line in the usage file")]
    Missing(&'static str),
    /// A number is not a number.
    #[error("`{field}` in the usage file is not a number: {}", printable(value))]
    BadNumber {
        /// The line's key.
        field: &'static str,
        /// Its value.
        value: String,
    },
}

impl DeviceUsage {
    /// Parses a usage file's body. Lines without `: `-separated key and value, and unknown keys,
    /// are skipped, as the tracker's monitor skips them; values are trimmed. `total` and `used`
    /// are required.
    ///
    /// # Errors
    /// [`UsageError`]: `total` or `used` missing, or a number that does not parse.
    pub fn parse(body: &[u8]) -> Result<Self, UsageError> {
        let text = String::from_utf8_lossy(body);
        let value = |key: &str| {
            text.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == key).then(|| v.trim().to_owned())
            })
        };
        let number = |field: &'static str| -> Result<Option<u64>, UsageError> {
            value(field)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| UsageError::BadNumber { field, value: v })
                })
                .transpose()
        };
        let use_percent = match value("use") {
            None => None,
            Some(v) => Some(v.trim_end_matches('%').trim().parse::<u32>().map_err(|_| {
                UsageError::BadNumber {
                    field: "use",
                    value: v,
                }
            })?),
        };
        Ok(Self {
            total_kib: number("total")?.ok_or(UsageError::Missing("total"))?,
            used_kib: number("used")?.ok_or(UsageError::Missing("used"))?,
            available_kib: number("available")?,
            device: value("device"),
            disk: value("disk"),
            time: number("time")?,
            use_percent,
        })
    }

    /// `available`, or `total - used` when the file has no `available` line.
    pub fn available_kib(&self) -> u64 {
        self.available_kib
            .unwrap_or_else(|| self.total_kib.saturating_sub(self.used_kib))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body of the capture in `conformance/mogstored_http.txt` ("the usage file the
    /// tracker's monitor reads").
    const CAPTURED: &[u8] = b"available: 82859052\ndevice: /dev/sdX        \n\
disk: ROOT/data/storeA/dev1\ntime: 1795620985\ntotal: 95285888\nuse: 14%\nused: 12426836\n";

    #[test]
    fn the_captured_file() {
        let u = DeviceUsage::parse(CAPTURED).unwrap();
        assert_eq!(
            u,
            DeviceUsage {
                total_kib: 95_285_888,
                used_kib: 12_426_836,
                available_kib: Some(82_859_052),
                device: Some("/dev/sdX".into()),
                disk: Some("ROOT/data/storeA/dev1".into()),
                time: Some(1_795_620_985),
                use_percent: Some(14),
            }
        );
    }

    #[test]
    fn only_total_and_used_are_required() {
        let u = DeviceUsage::parse(b"used: 10\ntotal: 100\n").unwrap();
        assert_eq!((u.total_kib, u.used_kib, u.available_kib()), (100, 10, 90));
        assert_eq!(u.use_percent, None);
        // Junk lines are skipped; a used figure above the total does not underflow.
        let u = DeviceUsage::parse(b"<html>\nused:200\ntotal:100\r\n").unwrap();
        assert_eq!(u.available_kib(), 0);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            DeviceUsage::parse(b"used: 1\n"),
            Err(UsageError::Missing("total"))
        );
        assert_eq!(
            DeviceUsage::parse(b"<h1>404 - Not Found</h1>\n"),
            Err(UsageError::Missing("total"))
        );
        let err = DeviceUsage::parse(b"total: 1\nused: \x1b[2J\n").unwrap_err();
        assert!(matches!(err, UsageError::BadNumber { field: "used", .. }));
        assert!(!err.to_string().contains('\u{1b}'), "{err}");
        assert!(DeviceUsage::parse(b"total: 1\nused: 0\nuse: lots\n").is_err());
    }
}
