//! [`Ticker`]: a periodic, phase-locked ticker (Go's `time.Ticker`).

use crate::clock::{add_ns, to_ns};
use crate::driver::Handle;
use crate::entry::{EntryKind, Kind, TickerShared};
use crate::manual_clock::recv_checked;
use crate::sync::AtomicU64;
use crate::wheel::Key;
use crossbeam_channel::{Receiver, RecvError, RecvTimeoutError, TryRecvError, bounded};
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// A periodic ticker: ticks at `start + k·period` for k = 1, 2, … and
/// delivers each tick's scheduled instant on [`receiver`](Self::receiver).
///
/// ```text
/// period 10 ms, created at 0, consumer keeps up:
///   time:   0    10   20   30   40
///   ticks:       |    |    |    |       values 10, 20, 30, 40
///
/// consumer busy from 12 to 37 (channel capacity 1):
///   time:   0    10   20   30   40
///   ticks:       |    |    x    |       20 waits in the channel, 30 is dropped,
///   recv:        10        20   40      40 arrives on the same grid
///                                       (dropped() == 1)
/// ```
///
/// - Phase-locked: no cumulative drift; a late wake-up does not move the
///   grid.
/// - The channel holds one tick. When it is full, the tick is dropped and
///   counted by [`dropped`](Self::dropped); the driver never blocks and
///   missed ticks are not replayed in a burst. If the driver itself wakes
///   several periods late, it delivers the earliest missed tick and counts
///   the others as dropped.
/// - A period shorter than the driver's resolution works (deadlines are
///   exact); ticks the driver cannot keep up with are dropped and counted.
/// - A thread kept off its CPU for over a period, the driver's or the
///   consumer's, costs ticks the same way. With periods near a millisecond,
///   expect a few on a machine whose CPUs are shared: on the 2-vCPU VM of
///   `docs/benchmarks.md`, kernel threads holding a CPU for milliseconds cost
///   a 1 ms ticker 0 to 11 ticks per 2 s, nearly all of them skipped by a
///   driver thread that woke late rather than dropped on a full channel.
///   Read [`dropped`](Self::dropped) rather than assuming none;
///   [`Stats::skipped_ticks`](crate::Stats::skipped_ticks) tells which side
///   was late. Where the driver is the one held up, a driver built with
///   [`Builder::hedge_threads`](crate::Builder::hedge_threads) keeps
///   delivering from another CPU.
/// - Dropping the ticker removes it from the wheel: a forgotten
///   `Ticker.Stop()` cannot leak. A thread that loops over a ticker forever
///   still keeps it (and itself) alive, as a goroutine does in Go: give such
///   a loop a way out, e.g. [`iter_until`](Self::iter_until) with a
///   [`CancelToken`](crate::CancelToken).
///
/// ```
/// use std::time::Duration;
/// let ticker = tickwheel::tick(Duration::from_millis(1));
/// for (i, _tick) in ticker.iter().take(3).enumerate() {
///     assert!(i < 3);
/// }
/// ```
#[must_use = "dropping a Ticker stops it"]
pub struct Ticker {
    /// The driver it lives on.
    handle: Handle,
    /// Its wheel entry.
    key: Key,
    /// Receiving side of its channel.
    rx: Receiver<Instant>,
    /// Counters shared with the driver.
    shared: Arc<TickerShared>,
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker")
            .field("period", &self.period())
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

#[track_caller]
fn check_period(period: Duration) -> u64 {
    assert!(
        !period.is_zero(),
        "tickwheel: ticker period must be non-zero, got {period:?}"
    );
    to_ns(period)
}

impl Handle {
    /// A ticker on this driver.
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    #[track_caller]
    pub fn ticker(&self, period: Duration) -> Ticker {
        let period_ns = check_period(period);
        let (tx, rx) = bounded(1);
        let shared = Arc::new(TickerShared {
            period: AtomicU64::new(period_ns),
            dropped: AtomicU64::new(0),
        });
        let (_, now) = self.inner.clock.now();
        let kind = EntryKind::Ticker {
            tx: Some(tx),
            shared: shared.clone(),
        };
        let key = self
            .inner
            .insert(kind, Location::caller(), now, add_ns(now, period));
        Ticker {
            handle: self.clone(),
            key,
            rx,
            shared,
        }
    }
}

impl Ticker {
    /// A ticker on the global driver. Same as [`tick`](crate::tick).
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    #[track_caller]
    pub fn new(period: Duration) -> Ticker {
        crate::handle_ref().ticker(period)
    }

    /// The channel ticks arrive on, for `select!`.
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Blocks until the next tick.
    ///
    /// # Errors
    ///
    /// `RecvError` if the driver shut down.
    ///
    /// # Panics
    ///
    /// In a callback of a driver on a [`ManualClock`](crate::ManualClock),
    /// on a ticker of a driver on the same clock with no tick waiting: only
    /// an `advance` can deliver one, and the `advance` that ran the callback
    /// waits for it to finish, so this would deadlock. (Another thread
    /// shutting that driver down would end the wait with `RecvError`; a
    /// callback waiting for that is treated as the bug it almost always is.)
    #[track_caller]
    pub fn recv(&self) -> Result<Instant, RecvError> {
        recv_checked(&self.handle.inner.clock, &self.rx, "Ticker")
    }

    /// Takes a tick if one is waiting.
    ///
    /// # Errors
    ///
    /// `Empty`, or `Disconnected` if the driver shut down.
    pub fn try_recv(&self) -> Result<Instant, TryRecvError> {
        self.handle.inner.chan_point();
        self.rx.try_recv()
    }

    /// Waits at most `timeout` for a tick.
    ///
    /// # Errors
    ///
    /// `Timeout`, or `Disconnected` if the driver shut down.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Instant, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// An endless iterator of ticks (it ends only if the driver shuts down).
    pub fn iter(&self) -> crossbeam_channel::Iter<'_, Instant> {
        self.rx.iter()
    }

    /// Stops the ticker. After it returns, no tick from before the call is
    /// received. [`reset`](Self::reset) starts it again.
    pub fn stop(&self) {
        let inner = &self.handle.inner;
        let mut st = inner.state.lock();
        st.wheel.disarm(self.key);
        // Keep W until the channel is drained, as `reset` does (W then D is
        // the lock order; whoever holds D never waits for W). Released
        // before, a `reset` from another thread could re-arm in between and
        // the driver deliver the new grid's first tick, which this drain
        // then withdrew from a running ticker, uncounted.
        inner.wait_for_delivery();
        // A tick may sit in the channel even while the ticker was armed.
        inner.chan_point();
        let _ = self.rx.try_recv();
        drop(st);
    }

    /// Restarts the ticker with a new period: the first tick comes at
    /// now + `period`. After it returns, no tick from before the call is
    /// received.
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    #[track_caller]
    pub fn reset(&self, period: Duration) {
        let period_ns = check_period(period);
        let inner = &self.handle.inner;
        let mut st = inner.state.lock();
        st.wheel.disarm(self.key);
        // Keep W so the new grid cannot tick before the old tick is drained;
        // W then D is the lock order.
        inner.wait_for_delivery();
        inner.chan_point();
        let _ = self.rx.try_recv();
        // Under W, so the driver never re-arms on a half-updated grid.
        self.shared.period.store(period_ns, Relaxed);
        let (_, now) = inner.clock.now();
        inner.arm(st, self.key, add_ns(now, period));
    }

    /// The current period. A period of 2^64 ns (584 years) or more reads as
    /// 2^64 − 1 ns, the longest the driver counts; such a ticker never ticks.
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.shared.period.load(Relaxed))
    }

    /// Ticks lost so far: dropped because the channel was full, or skipped
    /// because the driver woke more than a period late.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Relaxed)
    }
}

impl<'a> IntoIterator for &'a Ticker {
    type Item = Instant;
    type IntoIter = crossbeam_channel::Iter<'a, Instant>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        let inner = &self.handle.inner;
        let mut st = inner.state.lock();
        let (entry, _) = inner.remove(&mut st, self.key);
        st.live[Kind::Ticker as usize] -= 1;
        // Release W before dropping the sender (ground rule 4).
        drop(st);
        inner.chan_point();
        drop(entry);
        // A delivery in flight holds a sender clone until D is free; then
        // the tick left in the channel (if any) is withdrawn, so receiver
        // clones see Disconnected.
        inner.wait_for_delivery();
        inner.chan_point();
        let _ = self.rx.try_recv();
    }
}
