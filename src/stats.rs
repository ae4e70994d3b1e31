//! [`Stats`]: a snapshot of what a driver holds and has done.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
    /// Live [`Callback`](crate::Callback) entries: handles, plus detached
    /// callbacks that have not run yet.
    pub callbacks: usize,
    /// Values delivered into channels, plus callbacks started.
    pub fired: u64,
    /// Ticks lost: dropped on a full channel or skipped because the driver
    /// woke more than a period late.
    pub dropped_ticks: u64,
    /// Callbacks that panicked (the panic was caught).
    pub callback_panics: u64,
    /// Times the driver thread woke up (by its deadline or by a new earlier
    /// timer).
    pub wakeups: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pending {} | live: {} timers, {} tickers, {} callbacks | fired {} | dropped ticks {} | callback panics {} | wakeups {}",
            self.pending,
            self.timers,
            self.tickers,
            self.callbacks,
            self.fired,
            self.dropped_ticks,
            self.callback_panics,
            self.wakeups
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
}

impl Counters {
    pub(crate) fn snapshot(&self, pending: usize, live: [usize; 3]) -> Stats {
        Stats {
            pending,
            timers: live[0],
            tickers: live[1],
            callbacks: live[2],
            fired: self.fired.load(Relaxed),
            dropped_ticks: self.dropped_ticks.load(Relaxed),
            callback_panics: self.callback_panics.load(Relaxed),
            wakeups: self.wakeups.load(Relaxed),
        }
    }
}
