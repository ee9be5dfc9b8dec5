//! Per-call options, one type per operation. New options go here, never into a new positional
//! argument. Every field left at its default falls back to the client's setting.

use std::fmt;
use std::sync::Arc;

/// A callback that sees every body byte actually sent or received, in order (for progress bars).
///
/// A retried transfer is fed again from its first byte, so an implementation that sums the
/// bytes should take [`on_restart`](Progress::on_restart) into account.
///
/// Why this is not the storage layer's
/// [`TransferObserver`](mogile_storage::TransferObserver), which has the same two methods: that
/// one watches one HTTP request, and the facade plugs its own observer into it (to compute the
/// MD5 for `create_close`). `Progress` watches a whole operation across nodes and attempts, which
/// only the facade sees: a store tells it to start over when it fails over to another destination
/// or runs `create_open` again, as well as when storage resends a body; a fetch that fails over
/// mid-stream resumes where it was, so it only ever sees each byte once.
pub trait Progress: Send + Sync {
    /// Called with each chunk handed to (or taken from) the connection.
    fn on_bytes(&self, chunk: &[u8]);
    /// Called when a transfer starts over from its first byte (on another node, or resent to
    /// the same one). The default does nothing.
    fn on_restart(&self) {}
}

/// How the client uses checksums by default ([`ClientConfig::checksum`](crate::ClientConfig::checksum)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum ChecksumPolicy {
    /// No checksum is computed or verified unless an operation asks for it.
    #[default]
    Off,
    /// Stores compute an MD5 while streaming and pass it to `create_close`.
    Store,
    /// As `Store`, and fetches of whole files verify the MD5 the tracker has (files without one
    /// are fetched unverified).
    StoreAndVerify,
}

impl ChecksumPolicy {
    pub(crate) fn store(self) -> bool {
        matches!(self, Self::Store | Self::StoreAndVerify)
    }

    pub(crate) fn verify(self) -> bool {
        matches!(self, Self::StoreAndVerify)
    }
}

/// Options of [`Client::put_opts`](crate::Client::put_opts) and the other store methods.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct PutOptions {
    /// Storage class (`None`: the domain's `default` class).
    pub class: Option<String>,
    /// Compute an MD5 while streaming and send it with `create_close` (`None`: the client's
    /// [`ChecksumPolicy`]).
    pub md5: Option<bool>,
    /// Ask the tracker to re-read the stored file and compare the checksum before committing
    /// (`checksumverify=1`; slow: the tracker hashes the whole file). Implies `md5`.
    pub checksum_verify: bool,
    /// For one-shot bodies (streams, readers, writers): spool the body to a temporary file first,
    /// so it can fail over to another destination and restart like a replayable body.
    pub spool: bool,
    /// Sees every byte sent.
    pub progress: Option<Arc<dyn Progress>>,
}

impl PutOptions {
    /// Options with every field at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the storage class.
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(class.into());
        self
    }

    /// Computes an MD5 while streaming and sends it with `create_close`.
    pub fn md5(mut self, on: bool) -> Self {
        self.md5 = Some(on);
        self
    }

    /// Asks the tracker to verify the checksum before committing (implies `md5`).
    pub fn checksum_verify(mut self, on: bool) -> Self {
        self.checksum_verify = on;
        self
    }

    /// Spools a one-shot body to a temporary file so that it can fail over and restart.
    pub fn spool(mut self, on: bool) -> Self {
        self.spool = on;
        self
    }

    /// Sets a progress callback.
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = Some(progress);
        self
    }
}

impl fmt::Debug for PutOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutOptions")
            .field("class", &self.class)
            .field("md5", &self.md5)
            .field("checksum_verify", &self.checksum_verify)
            .field("spool", &self.spool)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Options of [`Client::paths_opts`](crate::Client::paths_opts) (`get_paths`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PathsOptions {
    /// Skip the tracker's HEAD check of the first path (`None`: the client's setting, `true`
    /// unless changed).
    pub noverify: Option<bool>,
    /// How many paths to ask for (`None`: the client's setting, 3 unless changed).
    pub pathcount: Option<u32>,
    /// Network zone (`None`: the client's setting).
    pub zone: Option<String>,
}

impl PathsOptions {
    /// Options with every field at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `noverify`.
    pub fn noverify(mut self, on: bool) -> Self {
        self.noverify = Some(on);
        self
    }

    /// Sets `pathcount`.
    pub fn pathcount(mut self, n: u32) -> Self {
        self.pathcount = Some(n);
        self
    }

    /// Sets the zone.
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = Some(zone.into());
        self
    }
}

/// Options of [`Client::get_opts`](crate::Client::get_opts) and the other fetch methods.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct GetOptions {
    /// First byte to fetch (default 0).
    pub offset: u64,
    /// How many bytes to fetch (`None`: to the end of the file).
    pub len: Option<u64>,
    /// Check the number of bytes against `file_info`'s length (default on).
    pub verify_length: Option<bool>,
    /// Verify the file's checksum against `file_info`. `Some(true)` fails with
    /// [`Error::ChecksumUnavailable`](crate::Error::ChecksumUnavailable) when there is nothing to
    /// verify against (class without hashtype, `MISSING`, or a range fetch); `None` follows the
    /// client's [`ChecksumPolicy`], which verifies whole files that have an MD5 and skips the rest.
    pub verify_checksum: Option<bool>,
    /// How `get_paths` is asked.
    pub paths: PathsOptions,
    /// Sees every byte delivered.
    pub progress: Option<Arc<dyn Progress>>,
    /// How many stripes to read at once for a file (or range) long enough to stripe (`None`:
    /// the client's [`stripe_streams`](crate::ClientConfig::stripe_streams); `Some(1)` reads
    /// one replica at a time).
    pub streams: Option<u32>,
}

impl GetOptions {
    /// Options with every field at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fetches `len` bytes (`None`: to the end) starting at `offset`.
    pub fn range(mut self, offset: u64, len: Option<u64>) -> Self {
        self.offset = offset;
        self.len = len;
        self
    }

    /// Turns the length check against `file_info` on or off.
    pub fn verify_length(mut self, on: bool) -> Self {
        self.verify_length = Some(on);
        self
    }

    /// Turns checksum verification on or off.
    pub fn verify_checksum(mut self, on: bool) -> Self {
        self.verify_checksum = Some(on);
        self
    }

    /// Sets how `get_paths` is asked.
    pub fn paths(mut self, paths: PathsOptions) -> Self {
        self.paths = paths;
        self
    }

    /// Sets a progress callback.
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Sets how many stripes are read at once (`1`: no striping).
    pub fn streams(mut self, n: u32) -> Self {
        self.streams = Some(n);
        self
    }
}

impl fmt::Debug for GetOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetOptions")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .field("verify_length", &self.verify_length)
            .field("verify_checksum", &self.verify_checksum)
            .field("paths", &self.paths)
            .field("progress", &self.progress.is_some())
            .field("streams", &self.streams)
            .finish()
    }
}

/// Options of [`Client::delete_opts`](crate::Client::delete_opts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// Treat a missing key as success, as the Perl client does (default: `NotFound`).
    pub missing_ok: bool,
}

impl DeleteOptions {
    /// Options with every field at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Treats a missing key as success.
    pub fn missing_ok(mut self, on: bool) -> Self {
        self.missing_ok = on;
        self
    }
}

/// One `list_keys` page request ([`Client::list_keys`](crate::Client::list_keys)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// Only keys starting with this (matched by the tracker's database, case-insensitively on
    /// most backends).
    pub prefix: Option<Vec<u8>>,
    /// Only keys sorting strictly after this one. On a real tracker it must start with `prefix`.
    pub after: Option<Vec<u8>>,
    /// Keys per page, clamped to `1..=1000` (`None`: 1000).
    pub limit: Option<u32>,
}

impl ListOptions {
    /// Options with every field at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the prefix.
    pub fn prefix(mut self, prefix: impl AsRef<[u8]>) -> Self {
        self.prefix = Some(prefix.as_ref().to_vec());
        self
    }

    /// Sets the exclusive start key.
    pub fn after(mut self, after: impl AsRef<[u8]>) -> Self {
        self.after = Some(after.as_ref().to_vec());
        self
    }

    /// Sets the page size (clamped to `1..=1000`).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The page size actually sent.
    pub(crate) fn clamped_limit(&self) -> u32 {
        self.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE)
    }
}

/// The tracker's largest page.
pub(crate) const MAX_PAGE: u32 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_clamped() {
        assert_eq!(ListOptions::new().clamped_limit(), 1000);
        assert_eq!(ListOptions::new().limit(0).clamped_limit(), 1);
        assert_eq!(ListOptions::new().limit(5000).clamped_limit(), 1000);
        assert_eq!(ListOptions::new().limit(7).clamped_limit(), 7);
    }

    #[test]
    fn checksum_policy() {
        assert!(!ChecksumPolicy::Off.store());
        assert!(ChecksumPolicy::Store.store() && !ChecksumPolicy::Store.verify());
        assert!(ChecksumPolicy::StoreAndVerify.verify());
    }
}
