//! Endpoint health: the active flag, the counters `status()` reports, and probing.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::PoolSettings;
use crate::pool::Inner;
use crate::{Connector, Endpoint, LastProbe, ProbeError};

/// Everything one endpoint shares between the pool, its connections and the background tasks.
#[derive(Debug)]
pub(crate) struct EndpointState {
    pub(crate) endpoint: Endpoint,
    active: AtomicBool,
    /// With a single endpoint there is nothing to fail over to, so it is never marked inactive
    /// (the seed's rule).
    can_deactivate: bool,
    pub(crate) in_use: AtomicUsize,
    pub(crate) waiters: AtomicUsize,
    /// Checkouts waiting in `deadpool` for a connection to come back (every one in use): the
    /// idle stack's release/wait handshake (see `idle`). `waiters` also counts checkouts that
    /// are connecting or probing.
    pub(crate) blocked: AtomicUsize,
    pub(crate) probes_in_flight: AtomicUsize,
    pub(crate) probe_failures: AtomicU64,
    last_probe: Mutex<Option<LastProbe>>,
    next_return_seq: AtomicU64,
}

impl EndpointState {
    pub(crate) fn new(endpoint: Endpoint, can_deactivate: bool) -> Self {
        Self {
            endpoint,
            active: AtomicBool::new(true),
            can_deactivate,
            in_use: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            blocked: AtomicUsize::new(0),
            probes_in_flight: AtomicUsize::new(0),
            probe_failures: AtomicU64::new(0),
            last_probe: Mutex::new(None),
            next_return_seq: AtomicU64::new(1),
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Marks the endpoint inactive, unless it is the only one.
    pub(crate) fn mark_inactive(&self, reason: &str) {
        if self.can_deactivate && self.active.swap(false, Ordering::AcqRel) {
            tracing::warn!(endpoint = %self.endpoint, reason, "mark inactive");
        }
    }

    pub(crate) fn mark_active(&self) {
        if !self.active.swap(true, Ordering::AcqRel) {
            tracing::info!(endpoint = %self.endpoint, "mark active");
        }
    }

    /// The last health probe's outcome.
    pub(crate) fn last_probe(&self) -> Option<LastProbe> {
        // A poisoned lock only means a panic elsewhere; the value is whole either way.
        self.last_probe
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record_probe(&self, result: Result<Duration, ProbeError>) {
        let probe = LastProbe {
            at: Instant::now(),
            result,
        };
        *self
            .last_probe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(probe);
    }

    /// The next release sequence number: orders idle connections by return.
    pub(crate) fn next_return_seq(&self) -> u64 {
        self.next_return_seq.fetch_add(1, Ordering::Relaxed)
    }
}

/// Counts an activity (a waiting checkout, a probe) for as long as the guard lives, so a
/// cancelled future cannot leave the count behind.
pub(crate) struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    pub(crate) fn enter(counter: &'a AtomicUsize) -> Self {
        // Sequentially consistent: a blocked checkout's count is one side of the idle stack's
        // release/wait handshake (see `idle`).
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Probes `state`'s endpoint on a connection of its own, outside `max_size`, and marks the
/// endpoint active or inactive by the answer. At most one probe per endpoint runs at a time.
pub(crate) async fn probe<C: Connector>(
    connector: &C,
    state: &EndpointState,
    config: &PoolSettings,
) {
    if state
        .probes_in_flight
        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return;
    }
    struct Done<'a>(&'a AtomicUsize);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(0, Ordering::Release);
        }
    }
    let _done = Done(&state.probes_in_flight);

    let started = Instant::now();
    match probe_once(connector, &state.endpoint, config).await {
        Ok(()) => {
            tracing::trace!(endpoint = %state.endpoint, "probe ok");
            state.record_probe(Ok(started.elapsed()));
            state.mark_active();
        }
        Err(error) => {
            let reason = match std::error::Error::source(&error) {
                Some(source) => format!("{error}: {source}"),
                None => error.to_string(),
            };
            tracing::debug!(endpoint = %state.endpoint, %reason, "probe failed");
            state.probe_failures.fetch_add(1, Ordering::Relaxed);
            state.record_probe(Err(error));
            state.mark_inactive(&reason);
        }
    }
    // The probe connection is dropped here: it never joins the pool.
}

async fn probe_once<C: Connector>(
    connector: &C,
    endpoint: &Endpoint,
    config: &PoolSettings,
) -> Result<(), ProbeError> {
    let mut conn =
        match tokio::time::timeout(config.connect_timeout, connector.connect(endpoint)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(error)) => return Err(ProbeError::Connect(Arc::new(error))),
            Err(_) => return Err(ProbeError::ConnectTimeout),
        };
    match tokio::time::timeout(config.probe_timeout, connector.probe(&mut conn)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(ProbeError::Probe(Arc::new(error))),
        Err(_) => Err(ProbeError::ProbeTimeout),
    }
}

/// Every `period` (a round), probes each inactive endpoint, and each active one whose last
/// background probe was at least `active_period` ago: the seed checks every tracker, but a
/// healthy one need not cost a new connection every round. Stops once the pool is gone. The
/// probes of a round run concurrently in a `JoinSet` owned by this task, so aborting the task
/// aborts them.
pub(crate) async fn run_prober<C: Connector>(
    inner: Weak<Inner<C>>,
    period: Duration,
    active_period: Duration,
) {
    let started = tokio::time::Instant::now();
    let mut ticks = crate::reaper::ticks_from(started, period).await;
    // When this task last probed each endpoint (in `inner.endpoints` order); an endpoint counts
    // as checked when the prober starts, with the pool.
    let mut last_probed = match inner.upgrade() {
        Some(inner) => vec![started; inner.endpoints.len()],
        None => return,
    };
    loop {
        // The tick's scheduled instant, not the moment the task woke: rounds and active periods
        // then line up exactly instead of drifting by scheduling jitter.
        let now = ticks.tick().await;
        let mut probes = tokio::task::JoinSet::new();
        {
            let Some(inner) = inner.upgrade() else { return };
            for (entry, last) in inner.endpoints.iter().zip(&mut last_probed) {
                let due = !entry.state().is_active() || now.duration_since(*last) >= active_period;
                if !due {
                    continue;
                }
                *last = now;
                let connector = Arc::clone(&inner.connector);
                let state = Arc::clone(entry.state());
                let config = inner.config;
                probes.spawn(async move { probe(&*connector, &state, &config).await });
            }
        }
        while probes.join_next().await.is_some() {}
    }
}
