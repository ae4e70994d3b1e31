//! [`Stats`]: a snapshot of what a driver holds and has done.

use crate::sync::{AtomicU64, Mutex};
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// A snapshot of one driver's state and counters, from
/// [`Handle::stats`](crate::Handle::stats) or [`stats`](crate::stats()).
///
/// Counts of live handles and `pending` are exact at the moment of the
/// snapshot (read under the wheel lock); the event counters are monotonic
/// and may be a few events behind a delivery in progress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Armed entries in the wheel: timers and tickers that will deliver,
    /// callbacks that will run (including `Duration::MAX` ones, which are
    /// armed but never due).
    pub pending: usize,
    /// Live [`Timer`](crate::Timer) handles, armed or not.
    pub timers: usize,
    /// Live [`Ticker`](crate::Ticker) handles, running or stopped.
    pub tickers: usize,
    /// Live [`Callback`](crate::Callback) handles (a detached callback is
    /// not a handle: it counts in `pending` until it falls due). A
    /// [`CancelToken`](crate::CancelToken)'s deadline is not counted here,
    /// though it is pending: it is listed as [`Kind::Token`](crate::Kind).
    pub callbacks: usize,
    /// Values delivered into channels, plus callbacks handed to the callback
    /// thread once due (including one stopped after that, or dropped unrun
    /// at shutdown: handed over is not started).
    pub fired: u64,
    /// Ticks lost: dropped on a full channel or skipped because the driver
    /// woke more than a period late.
    pub dropped_ticks: u64,
    /// Callbacks that panicked, plus closures whose drop panicked when the
    /// driver dropped them unrun (stopped once due, or at shutdown), plus
    /// (feature `metrics`) panics of the metrics recorder while the driver
    /// published after a batch. Each panic was caught.
    pub callback_panics: u64,
    /// Times the driver thread woke up (by its deadline or by a new earlier
    /// timer).
    pub wakeups: u64,
    /// Live [`CancelToken`](crate::CancelToken)s, process-wide (tokens are
    /// not tied to one driver).
    pub tokens: usize,
    /// How late deliveries were, over the last [`LATENESS_WINDOW`]
    /// deliveries of this driver.
    pub lateness: LatenessSummary,
}

/// How many recent deliveries [`Stats::lateness`] summarises.
pub const LATENESS_WINDOW: usize = 1024;

/// Percentiles of delivery lateness: the time the driver handed a value to
/// its channel (or a callback to its thread) minus the scheduled deadline.
/// A tick the driver offered to a full channel (and so dropped, counted in
/// [`Stats::dropped_ticks`]) is a sample too: the driver was that late for
/// it. So `samples` can exceed [`Stats::fired`].
/// All zero before the first delivery. Lateness of the *receiving* thread's
/// wake-up comes on top and is not included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatenessSummary {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest in the window.
    pub max: Duration,
    /// Number of deliveries summarised (at most [`LATENESS_WINDOW`]).
    pub samples: usize,
}

impl fmt::Display for LatenessSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {:?} p99 {:?} max {:?} (n={})",
            self.p50, self.p99, self.max, self.samples
        )
    }
}

/// A ring of the last [`LATENESS_WINDOW`] lateness samples (ns).
#[derive(Debug, Default)]
pub(crate) struct LatenessWindow {
    /// The samples, and where the next one goes.
    ring: Mutex<(Vec<u64>, usize)>,
}

impl LatenessWindow {
    /// Records a batch of samples (one lock per batch).
    pub(crate) fn record(&self, samples: impl Iterator<Item = u64>) {
        let mut g = self.ring.lock();
        let (ring, next) = &mut *g;
        for s in samples {
            if ring.len() < LATENESS_WINDOW {
                ring.push(s);
            } else {
                ring[*next] = s;
            }
            *next = (*next + 1) % LATENESS_WINDOW;
        }
    }

    /// The percentiles of the current window.
    pub(crate) fn summary(&self) -> LatenessSummary {
        let mut v = self.ring.lock().0.clone();
        if v.is_empty() {
            return LatenessSummary::default();
        }
        v.sort_unstable();
        // Nearest-rank percentile.
        let pct = |p: usize| v[((v.len() * p).div_ceil(100)).clamp(1, v.len()) - 1];
        LatenessSummary {
            p50: Duration::from_nanos(pct(50)),
            p99: Duration::from_nanos(pct(99)),
            max: Duration::from_nanos(v[v.len() - 1]),
            samples: v.len(),
        }
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pending {} | live: {} timers, {} tickers, {} callbacks, {} tokens | fired {} | dropped ticks {} | callback panics {} | wakeups {} | lateness {}",
            self.pending,
            self.timers,
            self.tickers,
            self.callbacks,
            self.tokens,
            self.fired,
            self.dropped_ticks,
            self.callback_panics,
            self.wakeups,
            self.lateness
        )
    }
}

/// Event counters updated by the driver and callback threads without `W`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// See [`Stats::fired`].
    pub(crate) fired: AtomicU64,
    /// See [`Stats::dropped_ticks`].
    pub(crate) dropped_ticks: AtomicU64,
    /// See [`Stats::callback_panics`].
    pub(crate) callback_panics: AtomicU64,
    /// See [`Stats::wakeups`].
    pub(crate) wakeups: AtomicU64,
    /// See [`Stats::lateness`].
    pub(crate) lateness: LatenessWindow,
}

impl Counters {
    pub(crate) fn snapshot(&self, pending: usize, live: [usize; 4]) -> Stats {
        Stats {
            pending,
            timers: live[0],
            tickers: live[1],
            callbacks: live[2],
            fired: self.fired.load(Relaxed),
            dropped_ticks: self.dropped_ticks.load(Relaxed),
            callback_panics: self.callback_panics.load(Relaxed),
            wakeups: self.wakeups.load(Relaxed),
            tokens: crate::cancel::live_tokens(),
            lateness: self.lateness.summary(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_percentiles_nearest_rank() {
        let w = LatenessWindow::default();
        assert_eq!(w.summary(), LatenessSummary::default());
        w.record(1..=100u64);
        let s = w.summary();
        assert_eq!(
            (s.p50, s.p99, s.max, s.samples),
            (
                Duration::from_nanos(50),
                Duration::from_nanos(99),
                Duration::from_nanos(100),
                100
            )
        );
    }

    #[test]
    fn lateness_window_keeps_the_most_recent() {
        let w = LatenessWindow::default();
        w.record(std::iter::repeat_n(1_000_000u64, LATENESS_WINDOW));
        w.record(std::iter::repeat_n(5u64, LATENESS_WINDOW));
        let s = w.summary();
        assert_eq!(s.max, Duration::from_nanos(5));
        assert_eq!(s.samples, LATENESS_WINDOW);
    }
}
