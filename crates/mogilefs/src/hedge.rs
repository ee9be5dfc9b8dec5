//! Hedged opening requests: when a replica has not answered with its response headers within the
//! hedge delay, the next replica is asked too and the first answer wins ("The Tail at Scale",
//! Dean and Barroso, CACM 2013).
//!
//! What lives here: the delay ([`HedgeAfter`]: adaptive p95 of healthy first-byte times, fixed, or
//! off), the budget that caps hedges at a fraction of reads, the counters behind
//! [`Client::read_stats`](crate::Client::read_stats), and [`open`], the race itself. Who asks
//! which replica is the caller's business (the single-stream fetch in `fetch.rs`, the stripes in
//! `stripe.rs`); this module never looks at an answer's content.

use std::collections::VecDeque;
use std::fmt;
use std::pin::pin;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use mogile_storage::{GetResponse, StorageError, StorageGetOptions};
use tokio::time::Instant;

use crate::client::Client;

/// When a read asks a second replica ([`ClientConfig::hedge_after`](crate::ClientConfig::hedge_after)).
///
/// With the `serde` feature it is the string `"adaptive"`, `"off"`, or a humantime duration
/// (`"150ms"`) for a fixed delay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
#[non_exhaustive]
pub enum HedgeAfter {
    /// The running p95 of this client's recent first-byte times on healthy replies, clamped to
    /// 20 ms ..= 1 s; 200 ms until 20 such replies were seen (so a fresh process, such as each
    /// `mogile` run, hedges too).
    #[default]
    Adaptive,
    /// Always this delay.
    Fixed(Duration),
    /// Never hedge.
    Off,
}

impl fmt::Display for HedgeAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Adaptive => f.write_str("adaptive"),
            Self::Off => f.write_str("off"),
            Self::Fixed(d) => write!(f, "{}ms", d.as_millis()),
        }
    }
}

/// A [`HedgeAfter`] that does not parse.
#[derive(Debug, Clone, thiserror::Error)]
#[error("hedge delay must be \"adaptive\", \"off\" or a duration such as \"150ms\"")]
#[non_exhaustive]
pub struct HedgeAfterParseError;

impl FromStr for HedgeAfter {
    type Err = HedgeAfterParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "adaptive" => Ok(Self::Adaptive),
            "off" => Ok(Self::Off),
            other => parse_millis(other)
                .map(Self::Fixed)
                .ok_or(HedgeAfterParseError),
        }
    }
}

/// `"150ms"`, `"1s"`, `"2.5s"`, or a bare number of milliseconds.
fn parse_millis(s: &str) -> Option<Duration> {
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0 && v * scale <= 3_600_000.0)
        .then(|| Duration::from_micros((v * scale * 1000.0) as u64))
}

impl TryFrom<String> for HedgeAfter {
    type Error = HedgeAfterParseError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<HedgeAfter> for String {
    fn from(h: HedgeAfter) -> Self {
        h.to_string()
    }
}

/// The adaptive delay before enough samples exist.
pub(crate) const START_DELAY: Duration = Duration::from_millis(200);
/// Samples needed before the adaptive delay is used.
const MIN_SAMPLES: usize = 20;
/// Samples kept (the most recent ones).
const WINDOW: usize = 512;
const FLOOR: Duration = Duration::from_millis(20);
const CEILING: Duration = Duration::from_secs(1);
/// The budget's counts are halved every this many reads, so it follows recent traffic and a long
/// quiet stretch cannot bank a burst of hedges.
const BUDGET_DECAY_READS: u64 = 1000;

/// Counters of how reads used the replicas, from [`Client::read_stats`](crate::Client::read_stats).
///
/// Every counter covers the client's lifetime (all its handles) and only grows, except
/// `buffered_bytes`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadStats {
    /// Opening requests sent to a first replica: one per fetch, per resume, and per stripe
    /// (hedges not included).
    pub opening_requests: u64,
    /// Hedge requests sent (a second replica asked because the first was slow).
    pub hedges: u64,
    /// Hedges that answered first (the first replica's request was cancelled).
    pub hedges_won: u64,
    /// Hedges not sent because the budget was spent.
    pub hedges_over_budget: u64,
    /// Fetches that were read as stripes.
    pub striped_fetches: u64,
    /// Stripes requested (each stripe once; its resumes are counted apart).
    pub stripes: u64,
    /// Stripes that failed part-way and were continued on another replica.
    pub stripe_resumes: u64,
    /// Replicas dropped from striping because they answered a range request with the whole file.
    pub range_refusals: u64,
    /// Bytes of striped fetches received but not yet handed to their consumers, now.
    pub buffered_bytes: u64,
    /// The largest `buffered_bytes` one striped fetch has held.
    pub peak_buffered_bytes: u64,
    /// The hedge delay the next read would use (zero when hedging is off).
    pub hedge_after: Duration,
}

/// What the hedging and striping code shares across fetches: delay samples, the budget, counters.
#[derive(Debug)]
pub(crate) struct ReadState {
    mode: HedgeAfter,
    budget_percent: u64,
    samples: Mutex<Samples>,
    budget: Mutex<Budget>,
    exhausted: AtomicBool,
    pub(crate) opening_requests: AtomicU64,
    pub(crate) hedges: AtomicU64,
    pub(crate) hedges_won: AtomicU64,
    pub(crate) hedges_over_budget: AtomicU64,
    pub(crate) striped_fetches: AtomicU64,
    pub(crate) stripes: AtomicU64,
    pub(crate) stripe_resumes: AtomicU64,
    pub(crate) range_refusals: AtomicU64,
    pub(crate) buffered: AtomicU64,
    pub(crate) peak_buffered: AtomicU64,
}

/// The most recent first-byte times and their p95, recomputed every few samples (not on every
/// read: selecting from the window costs tens of thousands of instructions, which the small-file
/// fast path would notice; every 64 reads it is about 450 per read).
#[derive(Debug)]
struct Samples {
    recent: VecDeque<Duration>,
    /// Samples since the p95 was last computed.
    fresh: usize,
    p95: Duration,
    /// The window's copy the p95 is selected from, kept to be reused.
    scratch: Vec<Duration>,
}

impl Default for Samples {
    fn default() -> Self {
        Self {
            recent: VecDeque::with_capacity(WINDOW),
            fresh: 0,
            p95: START_DELAY,
            scratch: Vec::new(),
        }
    }
}

/// How many new samples trigger a new p95: an eighth of the window.
const RECOMPUTE_EVERY: usize = 64;

impl Samples {
    fn push(&mut self, d: Duration) {
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(d);
        self.fresh += 1;
        let n = self.recent.len();
        if n < MIN_SAMPLES || (self.fresh < RECOMPUTE_EVERY && n != MIN_SAMPLES) {
            return;
        }
        self.fresh = 0;
        let window = &mut self.scratch;
        window.clear();
        window.extend(self.recent.iter().copied());
        // The 95th percentile, nearest rank: a selection, not a sort.
        let rank = (n * 95).div_ceil(100).saturating_sub(1);
        let p95 = if rank < window.len() {
            *window.select_nth_unstable(rank).1
        } else {
            START_DELAY
        };
        self.p95 = p95.clamp(FLOOR, CEILING);
    }
}

#[derive(Debug, Default)]
struct Budget {
    reads: u64,
    hedges: u64,
}

impl ReadState {
    pub(crate) fn new(mode: HedgeAfter, budget_percent: u32) -> Self {
        Self {
            mode,
            budget_percent: u64::from(budget_percent),
            samples: Mutex::new(Samples::default()),
            budget: Mutex::new(Budget::default()),
            exhausted: AtomicBool::new(false),
            opening_requests: AtomicU64::new(0),
            hedges: AtomicU64::new(0),
            hedges_won: AtomicU64::new(0),
            hedges_over_budget: AtomicU64::new(0),
            striped_fetches: AtomicU64::new(0),
            stripes: AtomicU64::new(0),
            stripe_resumes: AtomicU64::new(0),
            range_refusals: AtomicU64::new(0),
            buffered: AtomicU64::new(0),
            peak_buffered: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> ReadStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ReadStats {
            opening_requests: get(&self.opening_requests),
            hedges: get(&self.hedges),
            hedges_won: get(&self.hedges_won),
            hedges_over_budget: get(&self.hedges_over_budget),
            striped_fetches: get(&self.striped_fetches),
            stripes: get(&self.stripes),
            stripe_resumes: get(&self.stripe_resumes),
            range_refusals: get(&self.range_refusals),
            buffered_bytes: get(&self.buffered),
            peak_buffered_bytes: get(&self.peak_buffered),
            hedge_after: self.delay().unwrap_or_default(),
        }
    }

    /// The hedge delay for the next opening request, `None` when hedging is off.
    pub(crate) fn delay(&self) -> Option<Duration> {
        if self.budget_percent == 0 {
            return None;
        }
        match self.mode {
            HedgeAfter::Off => None,
            HedgeAfter::Fixed(d) => Some(d),
            HedgeAfter::Adaptive => Some(lock(&self.samples).p95),
        }
    }

    /// Records a first-byte time. A reply that was hedged counts as arriving at the delay (a
    /// lower bound of its real time): it can hold the threshold where it is, never raise it, so
    /// one slow node cannot drag the delay up to its own.
    fn sample(&self, first_byte: Duration) {
        if self.mode != HedgeAfter::Adaptive {
            return;
        }
        let mut samples = lock(&self.samples);
        samples.push(first_byte);
    }

    fn count_read(&self) {
        self.opening_requests.fetch_add(1, Ordering::Relaxed);
        let mut b = lock(&self.budget);
        b.reads += 1;
        if b.reads >= 2 * BUDGET_DECAY_READS {
            b.reads /= 2;
            b.hedges /= 2;
        }
    }

    /// Takes one hedge from the budget: one hedge, plus `budget_percent` of recent reads (none at
    /// all with a budget of 0).
    fn try_hedge(&self) -> bool {
        let mut b = lock(&self.budget);
        let allowed =
            self.budget_percent > 0 && b.hedges * 100 < 100 + b.reads * self.budget_percent;
        if allowed {
            b.hedges += 1;
            if self.exhausted.swap(false, Ordering::Relaxed) {
                tracing::info!(
                    reads = b.reads,
                    hedges = b.hedges,
                    budget_percent = self.budget_percent,
                    "hedge budget available again"
                );
            }
        } else {
            self.hedges_over_budget.fetch_add(1, Ordering::Relaxed);
            if !self.exhausted.swap(true, Ordering::Relaxed) {
                tracing::info!(
                    reads = b.reads,
                    hedges = b.hedges,
                    budget_percent = self.budget_percent,
                    "hedge budget spent; slow replicas are not hedged until reads catch up"
                );
            }
        }
        allowed
    }

    /// Gives back a hedge taken by [`try_hedge`](Self::try_hedge) that was not sent.
    fn untake(&self) {
        let mut b = lock(&self.budget);
        b.hedges = b.hedges.saturating_sub(1);
    }

    /// Counts `n` more bytes held for a consumer, and the peak.
    pub(crate) fn buffer(&self, n: u64, fetch_total: u64) {
        self.buffered.fetch_add(n, Ordering::Relaxed);
        self.peak_buffered.fetch_max(fetch_total, Ordering::Relaxed);
    }

    /// Counts `n` bytes handed out (or dropped) from a buffer.
    pub(crate) fn unbuffer(&self, n: u64) {
        self.buffered.fetch_sub(n, Ordering::Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values are plain counters and samples, valid whatever a panicking holder did.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The answers of one hedged opening, in the order they came. At most one is `Ok`, and it is
/// the last; a request still running when it arrived was cancelled (its connection dropped with
/// it) and is named in `cancelled`.
pub(crate) struct Race<T> {
    pub(crate) outcomes: Vec<(T, String, Result<GetResponse, StorageError>)>,
    pub(crate) cancelled: Option<T>,
}

/// Opens `first` (`(tag, url)`); if it has not answered within the hedge delay and the budget
/// allows, asks `hedge()` for a second replica and asks it too. `hedge` is `None` when no other
/// replica can exist (a file with one path): then no hedge timer is set at all.
pub(crate) async fn open<T>(
    client: &Client,
    first: (T, String),
    opts: &StorageGetOptions,
    hedge: Option<impl FnOnce() -> Option<(T, String)>>,
) -> Race<T> {
    let reads = &client.inner.reads;
    let storage = &client.inner.storage;
    reads.count_read();
    let started = Instant::now();
    let (tag, url) = first;
    let mut primary = pin!(storage.get(&url, opts));
    // With nothing to hedge to, a timer would only cost a timer-wheel entry (and, being the
    // earliest timer, a wake-up of the thread parked on the I/O driver).
    let delay = hedge.as_ref().and_then(|_| reads.delay());
    let early = match delay {
        None => Some(primary.as_mut().await),
        Some(d) => tokio::time::timeout(d, primary.as_mut()).await.ok(),
    };
    if let Some(result) = early {
        if result.is_ok() {
            reads.sample(started.elapsed());
        }
        return Race {
            outcomes: vec![(tag, url.clone(), result)],
            cancelled: None,
        };
    }
    let delay = delay.unwrap_or_default();
    let second = if let Some(hedge) = hedge.filter(|_| reads.try_hedge()) {
        let second = hedge();
        if second.is_none() {
            reads.untake();
        }
        second
    } else {
        None
    };
    let Some((htag, hurl)) = second else {
        let result = primary.await;
        if result.is_ok() {
            // Not hedged: its real time counts, so a delay set too low rises again.
            reads.sample(started.elapsed());
        }
        return Race {
            outcomes: vec![(tag, url.clone(), result)],
            cancelled: None,
        };
    };
    reads.hedges.fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        slow = %mogile_protocol::printable(&url),
        hedge = %mogile_protocol::printable(&hurl),
        after_ms = delay.as_millis() as u64,
        "replica slow to answer; hedging"
    );
    // Boxed: a hedge is the rare path, and inline its GET would double this future's size.
    let mut hedged = Box::pin(storage.get(&hurl, opts));
    let mut outcomes = Vec::with_capacity(2);
    tokio::select! {
        result = primary.as_mut() => {
            let ok = result.is_ok();
            outcomes.push((tag, url.clone(), result));
            if ok {
                reads.sample(delay);
                return Race { outcomes, cancelled: Some(htag) };
            }
            let result = hedged.await;
            outcomes.push((htag, hurl.clone(), result));
            Race { outcomes, cancelled: None }
        }
        result = hedged.as_mut() => {
            let ok = result.is_ok();
            outcomes.push((htag, hurl.clone(), result));
            if ok {
                reads.hedges_won.fetch_add(1, Ordering::Relaxed);
                reads.sample(delay);
                return Race { outcomes, cancelled: Some(tag) };
            }
            let result = primary.await;
            if result.is_ok() {
                reads.sample(delay);
            }
            outcomes.push((tag, url.clone(), result));
            Race { outcomes, cancelled: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hedge_after_parses_and_prints() {
        assert_eq!(
            "adaptive".parse::<HedgeAfter>().unwrap(),
            HedgeAfter::Adaptive
        );
        assert_eq!("off".parse::<HedgeAfter>().unwrap(), HedgeAfter::Off);
        assert_eq!(
            "150ms".parse::<HedgeAfter>().unwrap(),
            HedgeAfter::Fixed(Duration::from_millis(150))
        );
        assert_eq!(
            "1.5s".parse::<HedgeAfter>().unwrap(),
            HedgeAfter::Fixed(Duration::from_millis(1500))
        );
        assert!("soon".parse::<HedgeAfter>().is_err());
        assert!("-1ms".parse::<HedgeAfter>().is_err());
        assert_eq!(
            HedgeAfter::Fixed(Duration::from_millis(150)).to_string(),
            "150ms"
        );
    }

    #[test]
    fn adaptive_delay_starts_fixed_then_follows_the_p95_within_bounds() {
        let r = ReadState::new(HedgeAfter::Adaptive, 10);
        assert_eq!(r.delay(), Some(START_DELAY));
        // Computed at the 20th sample (the first time there are enough), then every 64th: the
        // 84th is the p95 of 1..=84 ms, the 80th of them.
        for i in 1..=84u64 {
            r.sample(Duration::from_millis(i));
        }
        assert_eq!(r.delay(), Some(Duration::from_millis(80)));
        // Not yet recomputed 63 samples later.
        for i in 85..=147u64 {
            r.sample(Duration::from_millis(i));
        }
        assert_eq!(r.delay(), Some(Duration::from_millis(80)));
        r.sample(Duration::from_millis(148));
        assert_eq!(r.delay(), Some(Duration::from_millis(141)));
        for _ in 0..WINDOW {
            r.sample(Duration::from_millis(1));
        }
        assert_eq!(r.delay(), Some(FLOOR));
        for _ in 0..WINDOW {
            r.sample(Duration::from_secs(5));
        }
        assert_eq!(r.delay(), Some(CEILING));
        assert_eq!(ReadState::new(HedgeAfter::Off, 10).delay(), None);
    }

    #[test]
    fn the_budget_allows_one_hedge_plus_its_share_of_reads() {
        let r = ReadState::new(HedgeAfter::Adaptive, 10);
        assert!(r.try_hedge());
        assert!(!r.try_hedge());
        for _ in 0..20 {
            r.count_read();
        }
        assert!(r.try_hedge());
        assert!(r.try_hedge());
        assert!(!r.try_hedge());
        r.untake();
        assert!(r.try_hedge());
        assert_eq!(r.stats().hedges_over_budget, 2);
        let none = ReadState::new(HedgeAfter::Adaptive, 0);
        for _ in 0..100 {
            none.count_read();
        }
        assert!(!none.try_hedge());
    }
}
