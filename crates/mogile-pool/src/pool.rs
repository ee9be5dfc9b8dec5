//! The pool handle: checkout, endpoint selection, health marks, status and shutdown.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deadpool::Runtime;
use deadpool::managed::{self, QueueMode, TimeoutType, Timeouts};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tokio::runtime::Handle;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::config::PoolSettings;
use crate::health::{self, Counted, EndpointState};
use crate::idle::{self, IdleStack};
use crate::manager::{EndpointPool, Manager, Object};
use crate::status::{EndpointStatus, PoolStatus};
use crate::{BuildError, Connector, Endpoint, PoolBuilder, PoolError, Pooled, reaper};

/// A set of endpoints, each with its own LIFO pool of connections, plus their health.
///
/// Cloning is cheap and shares the pool. The background reaper and prober stop when the last
/// clone is dropped (or on [`close`](Self::close)). See the [crate docs](crate) for the
/// semantics.
pub struct Pool<C: Connector> {
    inner: Arc<Inner<C>>,
}

impl<C: Connector> Clone for Pool<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: Connector> std::fmt::Debug for Pool<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("settings", &self.inner.config)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner<C: Connector> {
    pub(crate) connector: Arc<C>,
    pub(crate) config: PoolSettings,
    pub(crate) endpoints: Vec<EndpointEntry<C>>,
    rng: Mutex<StdRng>,
    runtime: Handle,
    tasks: Mutex<Vec<AbortHandle>>,
    closed: AtomicBool,
}

pub(crate) struct EndpointEntry<C: Connector> {
    pub(crate) pool: EndpointPool<C>,
    /// The idle connections, which checkout takes before asking `deadpool`; it holds the
    /// endpoint's state, which its checked-out connections share.
    pub(crate) idle: Arc<IdleStack<C>>,
}

impl<C: Connector> EndpointEntry<C> {
    /// The endpoint's health and counters.
    pub(crate) fn state(&self) -> &Arc<EndpointState> {
        &self.idle.state
    }
}

impl<C: Connector> Inner<C> {
    fn abort_tasks(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            task.abort();
        }
    }
}

impl<C: Connector> Drop for Inner<C> {
    fn drop(&mut self) {
        // The tasks hold only a `Weak`, so they would stop at their next tick anyway; aborting
        // stops them now, including any probe still waiting on a slow endpoint.
        self.abort_tasks();
        // The idle stacks are shared with checked-out connections, which may outlive the pool:
        // close what is idle now, as dropping `deadpool`'s queue does. (A connection released
        // later finds the pool gone and is closed.)
        for entry in &self.endpoints {
            idle::close_all(entry.idle.drain());
        }
    }
}

impl<C: Connector> Pool<C> {
    /// Starts building a pool over `endpoints` (host:port strings), opening connections with
    /// `connector`.
    pub fn builder<E: Into<Endpoint>>(
        connector: C,
        endpoints: impl IntoIterator<Item = E>,
    ) -> PoolBuilder<C> {
        PoolBuilder::new(connector, endpoints.into_iter().map(Into::into).collect())
    }

    pub(crate) fn start(
        connector: C,
        endpoints: Vec<Endpoint>,
        config: PoolSettings,
        rng_seed: Option<u64>,
        runtime: Handle,
    ) -> Result<Self, BuildError> {
        let connector = Arc::new(connector);
        let can_deactivate = endpoints.len() > 1;
        let mut entries = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let manager = Manager {
                connector: Arc::clone(&connector),
                endpoint: endpoint.clone(),
                config,
            };
            let pool = managed::Pool::builder(manager)
                .max_size(config.max_size)
                .queue_mode(QueueMode::Lifo)
                .wait_timeout(Some(config.wait_timeout))
                .create_timeout(Some(config.connect_timeout))
                .runtime(Runtime::Tokio1)
                .build()
                // Only fails for timeouts without a runtime, and the runtime is set above.
                .map_err(|_| BuildError::NoRuntime)?;
            let state = Arc::new(EndpointState::new(endpoint, can_deactivate));
            let idle = Arc::new(IdleStack::new(state));
            entries.push(EndpointEntry { pool, idle });
        }
        let rng = match rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let inner = Arc::new(Inner {
            connector,
            config,
            endpoints: entries,
            rng: Mutex::new(rng),
            runtime,
            tasks: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&inner);
        let tasks = vec![
            inner
                .runtime
                .spawn(reaper::run(weak.clone(), config.reap_interval))
                .abort_handle(),
            inner
                .runtime
                .spawn(health::run_prober(
                    weak,
                    config.probe_interval,
                    config.probe_interval_active,
                ))
                .abort_handle(),
        ];
        *inner.tasks.lock().unwrap_or_else(PoisonError::into_inner) = tasks;
        Ok(Self { inner })
    }

    fn entry(&self, endpoint: &Endpoint) -> Option<&EndpointEntry<C>> {
        self.inner
            .endpoints
            .iter()
            .find(|entry| &entry.state().endpoint == endpoint)
    }

    /// The order a request should try endpoints in: the active ones in random order; if none
    /// is active, all of them in random order. Never empty.
    pub fn candidates(&self) -> Vec<Endpoint> {
        let mut list: Vec<Endpoint> = self
            .inner
            .endpoints
            .iter()
            .filter(|entry| entry.state().is_active())
            .map(|entry| entry.state().endpoint.clone())
            .collect();
        if list.is_empty() {
            // Failing without trying would turn a blip on every endpoint into an outage.
            list = self.endpoints();
        }
        list.shuffle(&mut *self.rng());
        list
    }

    /// The same order as [`candidates`](Self::candidates), drawn lazily: each step picks a
    /// uniformly random endpoint among those not yet given, which is a uniformly random
    /// permutation, as a shuffle gives. Which endpoints it covers is decided now (the active
    /// ones, or all if none is active).
    ///
    /// Nothing is allocated and, while one endpoint is left to choose from, the random number
    /// generator is not touched: a request that succeeds on its first endpoint pays only for an
    /// atomic load per endpoint. Failover draws the next endpoint only when it needs one.
    pub fn candidate_order(&self) -> CandidateOrder<'_, C> {
        let endpoints = &self.inner.endpoints;
        let left = if endpoints.len() <= u64::BITS as usize {
            let mut active = 0u64;
            for (i, entry) in endpoints.iter().enumerate() {
                if entry.state().is_active() {
                    active |= 1 << i;
                }
            }
            if active == 0 && !endpoints.is_empty() {
                // Failing without trying would turn a blip on every endpoint into an outage.
                // 1..=64 endpoints: the shift is 0..=63.
                active = u64::MAX >> (u64::BITS as usize - endpoints.len());
            }
            Left::Mask(active)
        } else {
            // More endpoints than bits: the list, as `candidates` builds it.
            let mut list: Vec<usize> = (0..endpoints.len())
                .filter(|&i| endpoints[i].state().is_active())
                .collect();
            if list.is_empty() {
                list = (0..endpoints.len()).collect();
            }
            list.shuffle(&mut *self.rng());
            Left::List(list.into_iter())
        };
        CandidateOrder { pool: self, left }
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, StdRng> {
        // A poisoned lock only means another request panicked mid-draw; the RNG is still valid.
        self.inner
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every configured endpoint, in the order the pool was built with.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.inner
            .endpoints
            .iter()
            .map(|entry| entry.state().endpoint.clone())
            .collect()
    }

    /// Checks out a connection to `endpoint`.
    ///
    /// Takes the most recently returned idle connection (LIFO), probing it first if it sat
    /// idle longer than `probe_idle_after`; an expired, closed or unanswering one is discarded
    /// and the next tried. With none idle it opens one, within `connect_timeout`. With
    /// `max_size` connections in use it waits up to `wait_timeout` for one to be released or
    /// discarded. Dropping the future at any point leaks nothing.
    ///
    /// # Errors
    ///
    /// [`PoolError::WaitTimeout`], [`PoolError::ConnectTimeout`], [`PoolError::Connect`] (the
    /// two connect errors also mark the endpoint inactive when more than one is configured),
    /// [`PoolError::Closed`] and [`PoolError::UnknownEndpoint`].
    pub async fn get(&self, endpoint: &Endpoint) -> Result<Pooled<C>, PoolError<C::Error>> {
        if self.is_closed() {
            return Err(PoolError::Closed);
        }
        let entry = self
            .entry(endpoint)
            .ok_or_else(|| PoolError::UnknownEndpoint {
                endpoint: endpoint.clone(),
            })?;
        // The common case, which builds no future of its own: an idle connection on the
        // endpoint's own stack, vetted in place.
        let next = pop_idle(entry);
        if let Idle::Ready(obj) = next {
            return Ok(Pooled::new(obj, Arc::clone(&entry.idle)));
        }
        // Boxed: probing, opening a connection and waiting are the rare paths, and inline they
        // would make every checkout's future (and its callers') several hundred bytes larger.
        Box::pin(self.get_slow(entry, next)).await
    }

    /// [`get`](Self::get) past the common case: probes `next` if it must be, then tries the
    /// rest of the stack, then `deadpool`.
    async fn get_slow(
        &self,
        entry: &EndpointEntry<C>,
        mut next: Idle<C>,
    ) -> Result<Pooled<C>, PoolError<C::Error>> {
        let state = &entry.state();
        loop {
            match next {
                Idle::Ready(obj) => return Ok(Pooled::new(obj, Arc::clone(&entry.idle))),
                Idle::Probe(obj) => {
                    // A probe writes and reads: the connection is held by a guard that closes
                    // it if the probe fails or this checkout is dropped halfway, so it is never
                    // put back with half an exchange in it. Counted as waiting, as a probe in
                    // `deadpool`'s checkout is.
                    let mut vetting = Vetting(Some(obj));
                    let manager = entry.pool.manager();
                    if counted(&state.waiters, vetting.probe(manager), || ()).await
                        && let Some(obj) = vetting.0.take()
                    {
                        return Ok(Pooled::new(obj, Arc::clone(&entry.idle)));
                    }
                    // `probe` logged why; dropping the guard closes the connection.
                }
                Idle::Empty => break,
            }
            next = pop_idle(entry);
        }
        // Then `deadpool`: an idle connection handed to its queue, or a new one. First without
        // waiting: with a slot free this skips building the wait timeout (a clock read and a
        // timer entry) that deadpool would put around an acquire that completes at once. With
        // none free, the checkout waits as configured, and on starting to wait hands over any
        // connection released onto the stack meanwhile (see `idle`). The connect timeout and
        // the (absent) recycle timeout are the pool's own.
        let now = Timeouts {
            wait: Some(Duration::ZERO),
            create: Some(self.inner.config.connect_timeout),
            recycle: None,
        };
        let result = match counted(&state.waiters, entry.pool.timeout_get(&now), || ()).await {
            Err(managed::PoolError::Timeout(TimeoutType::Wait)) => {
                let wait = entry.pool.get();
                // Counted as blocked from when it waits, and hands over a connection released
                // onto the stack meanwhile (see `idle`).
                let blocked = || {
                    let blocked = Counted::enter(&state.blocked);
                    entry.idle.hand_over();
                    blocked
                };
                counted(&state.waiters, wait, blocked).await
            }
            other => other,
        };
        match result {
            Ok(obj) => Ok(Pooled::new(obj, Arc::clone(&entry.idle))),
            Err(error) => Err(checkout_failed(state, error)),
        }
    }

    /// Reports a connection failure the caller saw on `endpoint` (refused, reset, or closed
    /// before any reply byte). Marks it inactive when more than one endpoint is configured.
    /// A slow reply is not a connection failure: use [`probe_now`](Self::probe_now).
    pub fn mark_failed(&self, endpoint: &Endpoint) {
        if let Some(entry) = self.entry(endpoint) {
            entry.state().mark_inactive("connection failure reported");
        }
    }

    /// Probes `endpoint` now, in the background, as the periodic prober would: only a failed
    /// probe marks it inactive, and a successful one marks it active. Does nothing if a probe
    /// of it is already running or the pool is closed.
    pub fn probe_now(&self, endpoint: &Endpoint) {
        let Some(entry) = self.entry(endpoint) else {
            return;
        };
        if self.is_closed() {
            return;
        }
        let connector = Arc::clone(&self.inner.connector);
        let state = Arc::clone(entry.state());
        let config = self.inner.config;
        // Bounded by `connect_timeout + probe_timeout`, so it cannot keep a process alive.
        drop(self.inner.runtime.spawn(async move {
            health::probe(&*connector, &state, &config).await;
        }));
    }

    /// A snapshot of every endpoint's state.
    pub fn status(&self) -> PoolStatus {
        let endpoints = self
            .inner
            .endpoints
            .iter()
            .map(|entry| {
                let state = &entry.state();
                let pool = entry.pool.status();
                EndpointStatus {
                    endpoint: state.endpoint.clone(),
                    active: state.is_active(),
                    max_size: self.inner.config.max_size,
                    open: pool.size,
                    // `retain` keeping everything is the one exact count of deadpool's queue.
                    idle: entry.pool.retain(|_, _| true).retained + entry.idle.len(),
                    in_use: state.in_use.load(Ordering::Acquire),
                    waiters: state.waiters.load(Ordering::Acquire),
                    probes_in_flight: state.probes_in_flight.load(Ordering::Acquire),
                    probe_failures: state.probe_failures.load(Ordering::Relaxed),
                    last_probe: state.last_probe(),
                }
            })
            .collect();
        PoolStatus { endpoints }
    }

    /// Closes the pool: idle connections are closed, waiting and future checkouts fail with
    /// [`PoolError::Closed`], checked-out connections are discarded when released, and the
    /// background tasks stop.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        for entry in &self.inner.endpoints {
            entry.pool.close();
            idle::close_all(entry.idle.drain());
        }
        self.inner.abort_tasks();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }
}

/// What the top of an idle stack gave.
enum Idle<C: Connector> {
    /// A connection that passed every check but the probe, and needs none.
    Ready(Object<C>),
    /// A connection that passed every check but the probe, and must be probed.
    Probe(Object<C>),
    /// None left.
    Empty,
}

/// Pops `entry`'s idle connections, closing those that fail the checks without a round trip
/// ([`Manager::vet`]), until one passes or none is left.
fn pop_idle<C: Connector>(entry: &EndpointEntry<C>) -> Idle<C> {
    let manager = entry.pool.manager();
    while let Some(obj) = entry.idle.pop() {
        match manager.vet(&obj, Instant::now()) {
            Ok(false) => return Idle::Ready(obj),
            Ok(true) => return Idle::Probe(obj),
            // `vet` logged why.
            Err(_) => idle::close(obj),
        }
    }
    Idle::Empty
}

/// An idle connection being probed at checkout: closed, not put back, if dropped.
struct Vetting<C: Connector>(Option<Object<C>>);

impl<C: Connector> Vetting<C> {
    /// Probes the connection; `true` if it answered.
    async fn probe(&mut self, manager: &Manager<C>) -> bool {
        match &mut self.0 {
            Some(obj) => manager.probe(&mut obj.conn).await.is_ok(),
            None => false,
        }
    }
}

impl<C: Connector> Drop for Vetting<C> {
    fn drop(&mut self) {
        if let Some(obj) = self.0.take() {
            idle::close(obj);
        }
    }
}

/// Maps a failed checkout, marking the endpoint inactive when connecting to it failed. Out of
/// line, so that the checkout's common path stays compact code.
#[cold]
#[inline(never)]
fn checkout_failed<E>(state: &EndpointState, error: managed::PoolError<E>) -> PoolError<E> {
    match error {
        managed::PoolError::Timeout(TimeoutType::Wait) => {
            let endpoint = state.endpoint.clone();
            tracing::debug!(%endpoint, "wait timeout");
            PoolError::WaitTimeout { endpoint }
        }
        managed::PoolError::Timeout(TimeoutType::Create) => {
            state.mark_inactive("connect timed out");
            PoolError::ConnectTimeout {
                endpoint: state.endpoint.clone(),
            }
        }
        managed::PoolError::Backend(source) => {
            state.mark_inactive("connect failed");
            PoolError::Connect {
                endpoint: state.endpoint.clone(),
                source,
            }
        }
        // `Closed` after `close()`. The rest cannot happen: no recycle timeout or hooks are
        // configured and the runtime is always set; treat them as a pool out of service.
        _ => PoolError::Closed,
    }
}

/// Awaits `fut`, counting it in `counter` from the first time it is pending, until it completes
/// or is dropped; `on_wait` runs once, just after the count went up, and what it returns (a
/// guard) is kept as long as the count. A checkout that completes at once (a connection opened
/// or vetted without waiting) does not count, and it costs no updates of a counter every request
/// shares.
async fn counted<F: Future, G>(
    counter: &AtomicUsize,
    fut: F,
    on_wait: impl FnOnce() -> G,
) -> F::Output {
    let mut fut = pin!(fut);
    let mut waiting = None;
    let mut on_wait = Some(on_wait);
    poll_fn(|cx| {
        let poll = fut.as_mut().poll(cx);
        if poll.is_pending()
            && waiting.is_none()
            && let Some(on_wait) = on_wait.take()
        {
            let counted = Counted::enter(counter);
            waiting = Some((counted, on_wait()));
        }
        poll
    })
    .await
}

/// The endpoints one request may try, in the order it should try them: see
/// [`Pool::candidate_order`].
pub struct CandidateOrder<'a, C: Connector> {
    pool: &'a Pool<C>,
    left: Left,
}

/// The endpoints not yet given, by index.
enum Left {
    /// Bit `i` set: endpoint `i` is still to come (at most 64 endpoints).
    Mask(u64),
    /// Already shuffled (more than 64 endpoints).
    List(std::vec::IntoIter<usize>),
}

impl<'a, C: Connector> Iterator for CandidateOrder<'a, C> {
    type Item = &'a Endpoint;

    fn next(&mut self) -> Option<&'a Endpoint> {
        let index = match &mut self.left {
            Left::Mask(mask) => {
                let count = mask.count_ones();
                if count == 0 {
                    return None;
                }
                // One left: no draw (and no lock), which is every request with one endpoint
                // and every first attempt while only one is active.
                let mut skip = if count == 1 {
                    0
                } else {
                    self.pool.rng().random_range(0..count)
                };
                let mut bits = *mask;
                loop {
                    let i = bits.trailing_zeros();
                    if skip == 0 {
                        *mask &= !(1u64 << i);
                        break i as usize;
                    }
                    skip -= 1;
                    bits &= bits - 1;
                }
            }
            Left::List(list) => list.next()?,
        };
        self.pool
            .inner
            .endpoints
            .get(index)
            .map(|entry| &entry.state().endpoint)
    }
}

impl<C: Connector> std::fmt::Debug for CandidateOrder<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let left = match &self.left {
            Left::Mask(mask) => mask.count_ones() as usize,
            Left::List(list) => list.len(),
        };
        f.debug_struct("CandidateOrder")
            .field("left", &left)
            .finish_non_exhaustive()
    }
}
