//! Replication: copying under-replicated files to their class's `mindevcount` devices, on request
//! ([`TestCluster::replicate_all`]) or in a background task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::error::ClusterError;
use super::placement::{self, Candidate};
use super::{Inner, TestCluster, disk, setup};

/// What one replication round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplicationReport {
    /// Copies made (and recorded in the model).
    pub copies: usize,
    /// Files still below their `mindevcount` after the round: no readable source replica, or not
    /// enough writable devices. Sorted by fid.
    pub short: Vec<u64>,
}

impl TestCluster {
    /// Copies every under-replicated file until it has its class's `mindevcount` replicas, on
    /// distinct devices and, where possible, distinct hosts, and records each copy in the model.
    ///
    /// Deterministic: when it returns, `get_paths` lists the new replicas. Devices whose node is
    /// refusing connections or whose state is not `alive` receive no copies.
    ///
    /// # Errors
    /// An i/o error while copying a replica between node directories.
    pub async fn replicate_all(&self) -> Result<ReplicationReport, ClusterError> {
        self.inner.replicate_all().await
    }

    /// Waits until the background replication task has finished a round that started after this
    /// call and found nothing left to copy. Without background replication, replicates now.
    ///
    /// This is the hook tests wait on instead of sleeping.
    ///
    /// # Errors
    /// The error of the failed round (without background replication, of [`Self::replicate_all`]).
    pub async fn replication_settled(&self) -> Result<(), ClusterError> {
        let Some(bg) = &self.background else {
            return self.replicate_all().await.map(drop);
        };
        let floor = bg.started.load(Ordering::SeqCst);
        let mut rx = bg.rounds.clone();
        loop {
            let round = *rx.borrow_and_update();
            if round.index > floor {
                match round.copies {
                    Some(0) => return Ok(()),
                    Some(_) => {}
                    // The round failed: run one here so the caller gets the error itself.
                    None => return self.replicate_all().await.map(drop),
                }
            }
            if rx.changed().await.is_err() {
                // The task is gone (the cluster is shutting down): finish the work here.
                return self.replicate_all().await.map(drop);
            }
        }
    }
}

impl Inner {
    pub(super) async fn replicate_all(&self) -> Result<ReplicationReport, ClusterError> {
        let _round = self.replication.lock().await;
        let mut report = ReplicationReport::default();
        let candidates = self.candidates();
        'files: for file in setup::committed_files(&self.model) {
            let want = file.mindevcount as usize;
            if file.devids.len() >= want {
                continue;
            }
            let Some(source) = self.readable_replica(&file).await else {
                tracing::debug!(fid = file.fid, "no readable replica to copy from");
                report.short.push(file.fid);
                continue;
            };
            let targets = placement::destinations(&candidates, &file.devids, want);
            let mut have = file.devids.len();
            for devid in targets {
                let Some(dst) = self.replica_path(devid, file.fid) else {
                    continue;
                };
                disk::copy_replica(&source, &dst).await?;
                if !setup::add_replica(&self.model, file.fid, devid) {
                    // Deleted while we copied: the copy is an orphan nobody will ever ask for.
                    disk::remove(&dst).await?;
                    continue 'files;
                }
                tracing::debug!(fid = file.fid, devid, "replicated");
                report.copies += 1;
                have += 1;
            }
            if have < want {
                report.short.push(file.fid);
            }
        }
        report.short.sort_unstable();
        Ok(report)
    }

    /// Every device, with whether it may receive copies now (model state and node alive).
    pub(super) fn candidates(&self) -> Vec<Candidate> {
        self.devices
            .iter()
            .map(|d| Candidate {
                devid: d.devid,
                hostid: d.hostid,
                writable: setup::device_writable(&self.model, d.devid, d.hostid)
                    && self.node_up(d.node),
            })
            .collect()
    }

    /// Whether the node at `index` is serving (not killed through the cluster).
    fn node_up(&self, index: usize) -> bool {
        self.nodes
            .get(index)
            .is_some_and(|n| !n.down.load(Ordering::SeqCst))
    }

    /// The on-disk path of the first replica of `file` on a serving node whose length matches the
    /// model's and, when the file has an MD5 checksum, whose content matches it (as the real
    /// replicator checks, so a corrupted replica is never spread).
    async fn readable_replica(&self, file: &setup::FileView) -> Option<std::path::PathBuf> {
        let md5 = file
            .checksum
            .as_deref()
            .and_then(|c| c.strip_prefix("MD5:"));
        for devid in &file.devids {
            let on_live_node = self
                .devices
                .iter()
                .find(|d| d.devid == *devid)
                .is_some_and(|d| self.node_up(d.node));
            if !on_live_node {
                continue;
            }
            let Some(path) = self.replica_path(*devid, file.fid) else {
                continue;
            };
            if disk::len(&path).await != Some(file.length) {
                continue;
            }
            match md5 {
                Some(want) if disk::md5_hex(&path).await.as_deref() != Some(want) => {
                    tracing::debug!(fid = file.fid, devid, "replica fails its checksum");
                }
                _ => return Some(path),
            }
        }
        None
    }

    /// Where the replica of `fid` on `devid` lives, if `devid` is one of the cluster's devices.
    pub(super) fn replica_path(&self, devid: u64, fid: u64) -> Option<std::path::PathBuf> {
        let dev = self.devices.iter().find(|d| d.devid == devid)?;
        let node = self.nodes.get(dev.node)?;
        Some(setup::replica_path(node.dir.path(), devid, fid))
    }
}

/// The last finished background round: its index (1-based, in start order) and its copy count
/// (`None` when it failed).
#[derive(Debug, Clone, Copy, Default)]
struct Round {
    index: u64,
    copies: Option<usize>,
}

/// The background replication task; aborted when dropped.
#[derive(Debug)]
pub(super) struct Background {
    task: JoinHandle<()>,
    started: Arc<AtomicU64>,
    rounds: watch::Receiver<Round>,
}

impl Background {
    pub(super) fn spawn(inner: Arc<Inner>, delay: Duration) -> Self {
        let started = Arc::new(AtomicU64::new(0));
        let (tx, rounds) = watch::channel(Round::default());
        let counter = Arc::clone(&started);
        let task = tokio::spawn(async move {
            loop {
                // The delay is the simulated replication worker's pace, not synchronisation: tests
                // wait on `replication_settled`, which watches the rounds.
                tokio::time::sleep(delay).await;
                let index = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let copies = match inner.background_round().await {
                    Ok(copies) => Some(copies),
                    Err(e) => {
                        tracing::warn!(error = %e, "background replication round failed");
                        None
                    }
                };
                if tx.send(Round { index, copies }).is_err() {
                    return;
                }
            }
        });
        Self {
            task,
            started,
            rounds,
        }
    }

    pub(super) async fn stop(mut self) {
        self.task.abort();
        // Cancelled or finished: either way the task no longer touches the nodes' directories.
        let _ = (&mut self.task).await;
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.task.abort();
    }
}
