//! [`Stats`]: a snapshot of what a driver holds and has done.

use crate::sync::{AtomicU64, Mutex};
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// A snapshot of one driver's state and counters, from
/// [`Handle::stats`](crate::Handle::stats) or [`stats`](crate::stats()).
///
/// `pending` and the counts of live timers, tickers and callbacks are read
/// together under the wheel lock, so they are exact at one moment; `tokens`
/// is read just after (it is process-wide). The event counters are
/// monotonic and may lag a delivery in progress: `fired` is added once the
/// driver has handed over a whole batch, after its last send.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Armed entries in the wheel: timers and tickers that will deliver,
    /// callbacks that will run, and [`CancelToken`](crate::CancelToken)
    /// deadlines on this driver not yet reached (including `Duration::MAX`
    /// ones, which are armed but never due). A detached callback counts until
    /// it falls due. Zero after shutdown.
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
    /// Values delivered into channels, plus callbacks (and
    /// [`CancelToken`](crate::CancelToken) deadlines) handed to the callback
    /// thread once due (including one stopped after that, or dropped unrun
    /// at shutdown: handed over is not started). A value counts once it is
    /// in the channel, received or not: also one withdrawn later by `stop`,
    /// `reset` or the drop of its timer or ticker (a drop that had begun
    /// waits for a send in flight, then withdraws it). A tick offered to a
    /// full channel is not counted here but in `dropped_ticks`.
    pub fired: u64,
    /// Ticks lost: dropped on a full channel or skipped because the driver
    /// woke more than a period late.
    pub dropped_ticks: u64,
    /// The part of `dropped_ticks` skipped because the driver thread handled
    /// a ticker a period or more after its tick was due, rather than offered
    /// to a full channel. It tells who was late: a consumer that did not
    /// read in time loses ticks on a full channel; these were lost by a
    /// driver thread that was late itself (kept off a CPU, or busy with a
    /// long batch). On a [`ManualClock`](crate::ManualClock) driver, which
    /// is stepped at every deadline it passes, it stays 0 unless a ticker is
    /// made or reset while another thread is advancing the clock.
    pub skipped_ticks: u64,
    /// Callbacks that panicked, plus closures whose drop panicked when the
    /// driver dropped them unrun (stopped once due, cut off by shutdown, or
    /// made after it), plus panics of the
    /// [`on_site_threshold`](crate::Builder::on_site_threshold) function,
    /// plus (feature `metrics`) panics of the metrics recorder while the
    /// driver published after a batch. Each panic was caught. (A panic in the
    /// drop of a closure your own thread drops, by `Callback::stop` or the
    /// handle's drop before it was due, reaches you instead.)
    pub callback_panics: u64,
    /// Times the driver thread woke from its sleep, for any reason: at the
    /// time it planned (also when the entry due then has since been stopped
    /// or dropped, so the wake-up finds nothing to deliver); when a handle
    /// made or re-armed with an earlier deadline woke it (it then sleeps
    /// again until that deadline unless it is already reached, so such a
    /// timer usually costs two); and when shutdown woke it. Passes the driver
    /// makes one after another without sleeping (the next deadline was
    /// reached during a pass) add nothing. With
    /// [`hedge_threads`](crate::Builder::hedge_threads), each driver thread's
    /// wake-ups count: `n + 1` per deadline. Always 0 on a
    /// [`ManualClock`](crate::ManualClock) driver, which has no driver
    /// thread.
    pub wakeups: u64,
    /// Live [`CancelToken`](crate::CancelToken)s, process-wide (tokens are
    /// not tied to one driver): one per token made by `new`, a `with_*`
    /// constructor or a `child*` call (its clones are the same token), until
    /// its last clone and the last clone of each of its descendants are
    /// dropped.
    pub tokens: usize,
    /// How late deliveries were, over the last [`LATENESS_WINDOW`]
    /// samples of this driver (see [`LatenessSummary`] for what is a
    /// sample).
    pub lateness: LatenessSummary,
}

/// How many recent samples [`Stats::lateness`] summarises.
pub const LATENESS_WINDOW: usize = 1024;

/// Percentiles of delivery lateness: the driver's clock reading as it
/// starts handing over a batch of due values and callbacks, minus each
/// one's scheduled deadline. (One reading per batch: a value late in a long
/// batch is sent somewhat after it.)
///
/// One sample per item the driver collected as due, whatever became of it:
/// a value sent to its channel; a tick offered to a full channel (and so
/// dropped, counted in [`Stats::dropped_ticks`], not in [`Stats::fired`]),
/// so `samples` can exceed `fired`; a value sent to a timer or ticker whose
/// drop had begun (the drop waits for that send, then withdraws the value:
/// nobody receives it, yet it is a sample and counted in `fired`); a
/// callback or [`CancelToken`](crate::CancelToken) deadline handed to the
/// callback thread (also one stopped or cut off by shutdown before it
/// started). Of a batch of more than [`LATENESS_WINDOW`] items only the
/// last that many are recorded.
///
/// All zero before the first delivery. Lateness of the *receiving* thread's
/// wake-up, and a callback's wait for the callback thread (which runs them
/// one at a time), come on top and are not included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatenessSummary {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest in the window.
    pub max: Duration,
    /// Number of samples summarised (at most [`LATENESS_WINDOW`]).
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
            "pending {} | live: {} timers, {} tickers, {} callbacks, {} tokens | fired {} | dropped ticks {} ({} skipped) | callback panics {} | wakeups {} | lateness {}",
            self.pending,
            self.timers,
            self.tickers,
            self.callbacks,
            self.tokens,
            self.fired,
            self.dropped_ticks,
            self.skipped_ticks,
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
    /// See [`Stats::skipped_ticks`].
    pub(crate) skipped_ticks: AtomicU64,
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
            skipped_ticks: self.skipped_ticks.load(Relaxed),
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
