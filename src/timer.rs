//! [`Timer`]: a one-shot timer that delivers its deadline on a channel
//! (Go's `time.Timer`, `time.After`).

use crate::clock::add_ns;
use crate::driver::Handle;
use crate::entry::{EntryKind, Kind};
use crate::manual_clock::recv_checked;
use crate::wheel::Key;
use crossbeam_channel::{Receiver, RecvError, RecvTimeoutError, Sender, TryRecvError, bounded};
use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

/// A one-shot timer: once its deadline passes, the deadline (an `Instant`)
/// arrives on [`receiver`](Self::receiver).
///
/// Semantics follow Go 1.23's `time.Timer`:
/// - Never early: the value arrives only once the clock reached the
///   deadline, and the value *is* the scheduled deadline. (One exception: a
///   deadline earlier than the driver's time zero, given to [`at`](Self::at)
///   or [`reset_at`](Self::reset_at), is due at once and delivers time zero,
///   the earliest instant the driver can name. Time zero is a day before a
///   real-clock driver started, where the platform's monotonic clock
///   reaches back that far (else the start), and the creation of a
///   [`ManualClock`](crate::ManualClock).)
/// - One value per arming. The channel has capacity 1 and the driver never
///   blocks on it.
/// - [`stop`](Self::stop) and [`reset`](Self::reset) return whether they
///   prevented a delivery; once they return, no value from before the call
///   can be received (not even one the driver was sending at that moment).
/// - Dropping the timer removes it from the wheel before `drop` returns;
///   clones of its receiver then report `Disconnected`. So a timer cannot
///   outlive its owner: `select!` on `tickwheel::after(..)` in a loop leaks
///   nothing.
/// - `Duration::MAX` (or any deadline too far to represent) never fires; such
///   a timer still counts as armed. A zero duration or a past deadline fires
///   promptly.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let timer = tickwheel::after(Duration::from_millis(2));
/// let deadline = timer.recv().unwrap();
/// assert!(deadline >= start + Duration::from_millis(2));
/// assert!(Instant::now() >= deadline); // never early
/// ```
#[must_use = "dropping a Timer cancels it"]
pub struct Timer {
    /// The driver it lives on.
    handle: Handle,
    /// Its wheel entry, owned for the timer's whole life.
    key: Key,
    /// The receiving side of its channel.
    rx: Receiver<Instant>,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// A timer on this driver that fires after `d`.
    #[track_caller]
    pub fn timer(&self, d: Duration) -> Timer {
        let (tx, rx) = bounded(1);
        let (_, now) = self.inner.clock.now();
        self.new_timer(tx, rx, now, add_ns(now, d), Location::caller())
    }

    /// A timer on this driver that fires at `deadline`.
    #[track_caller]
    pub fn timer_at(&self, deadline: Instant) -> Timer {
        let (tx, rx) = bounded(1);
        let (_, now) = self.inner.clock.now();
        let at = self.inner.clock.ns_of(deadline);
        self.new_timer(tx, rx, now, at, Location::caller())
    }

    /// Files a new timer with its channel. The callers make the channel
    /// before they read the clock, not after: the clock read gives the
    /// channel's initialising stores time to drain before the wheel lock's
    /// atomic instruction has to wait for them (about 1.5 % of a timer's
    /// create + drop, measured A/B).
    #[inline]
    fn new_timer(
        &self,
        tx: Sender<Instant>,
        rx: Receiver<Instant>,
        now: u64,
        deadline: u64,
        site: &'static Location<'static>,
    ) -> Timer {
        let key = self
            .inner
            .insert(EntryKind::Timer { tx: Some(tx) }, site, now, deadline);
        Timer {
            handle: self.clone(),
            key,
            rx,
        }
    }
}

impl Timer {
    /// A timer on the global driver that fires after `d`. Same as
    /// [`after`](crate::after).
    #[track_caller]
    pub fn new(d: Duration) -> Timer {
        crate::handle_ref().timer(d)
    }

    /// A timer on the global driver that fires at `deadline`. Same as
    /// [`at`](crate::at).
    #[track_caller]
    pub fn at(deadline: Instant) -> Timer {
        crate::handle_ref().timer_at(deadline)
    }

    /// The channel the deadline arrives on, for `select!`.
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Blocks until the timer fires.
    ///
    /// # Errors
    ///
    /// `RecvError` if the driver shut down first. A stopped timer's `recv`
    /// blocks until it is reset (as in Go), so don't `recv` on a timer you
    /// stopped.
    ///
    /// # Panics
    ///
    /// In a callback of a driver on a [`ManualClock`](crate::ManualClock),
    /// on a timer of a driver on the same clock with nothing to receive: only
    /// an `advance` can make it fire, and the `advance` that ran the callback
    /// waits for it to finish, so this would deadlock. (Another thread
    /// shutting that driver down would end the wait with `RecvError`; a
    /// callback waiting for that is treated as the bug it almost always is.)
    #[track_caller]
    pub fn recv(&self) -> Result<Instant, RecvError> {
        recv_checked(&self.handle.inner.clock, &self.rx, "Timer")
    }

    /// Takes the value if the timer has fired.
    ///
    /// # Errors
    ///
    /// `Empty` if not fired (or already received), `Disconnected` if the
    /// driver shut down.
    pub fn try_recv(&self) -> Result<Instant, TryRecvError> {
        self.handle.inner.chan_point();
        self.rx.try_recv()
    }

    /// Waits at most `timeout` for the timer to fire.
    ///
    /// # Errors
    ///
    /// `Timeout`, or `Disconnected` if the driver shut down.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Instant, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// Stops the timer. Returns true if and only if this call prevented a
    /// delivery: the timer was armed, or it had fired but its value had not
    /// been received (that value is withdrawn). After it returns, no value
    /// from before the call is ever received; the channel stays open and
    /// silent until a `reset`.
    pub fn stop(&self) -> bool {
        let inner = &self.handle.inner;
        let mut st = inner.state.lock();
        if st.wheel.disarm(self.key) {
            // Armed means nothing is in the channel or in flight (ground
            // rule 3).
            return true;
        }
        // Keep W until the channel is drained, as `reset` does (W then D is
        // the lock order; whoever holds D never waits for W). Released
        // before, a `reset` from another thread could withdraw the value
        // and re-arm in between: this stop then returned false and left the
        // timer armed, a result of neither order of the two calls.
        inner.wait_for_delivery();
        inner.chan_point();
        let withdrawn = self.rx.try_recv().is_ok();
        drop(st);
        withdrawn
    }

    /// Re-arms the timer to fire `d` from now, whether it was armed, fired
    /// or stopped. Returns what [`stop`](Self::stop) would have returned;
    /// after it returns, only the new arming's value can be received.
    pub fn reset(&self, d: Duration) -> bool {
        let (_, now) = self.handle.inner.clock.now();
        self.rearm(add_ns(now, d))
    }

    /// Re-arms the timer to fire at `deadline`; see [`reset`](Self::reset).
    pub fn reset_at(&self, deadline: Instant) -> bool {
        self.rearm(self.handle.inner.clock.ns_of(deadline))
    }

    fn rearm(&self, deadline: u64) -> bool {
        let inner = &self.handle.inner;
        let mut st = inner.state.lock();
        let prevented = if st.wheel.disarm(self.key) {
            true
        } else {
            // Keep W so the new arming cannot fire before the old value is
            // drained; taking D under W follows the lock order (W then D).
            inner.wait_for_delivery();
            inner.chan_point();
            self.rx.try_recv().is_ok()
        };
        inner.arm(st, self.key, deadline);
        prevented
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let inner = &self.handle.inner;
        let mut st = inner.state.lock();
        let (entry, was_armed) = inner.remove(&mut st, self.key);
        st.live[Kind::Timer as usize] -= 1;
        // Release W before dropping the sender (ground rule 4).
        drop(st);
        inner.chan_point();
        // Only the sender needs dropping (the rest of the entry is plain
        // data): no match over every kind of entry.
        let EntryKind::Timer { tx } = entry.kind else {
            unreachable!("timer key names a non-timer entry")
        };
        drop(tx);
        if !was_armed {
            // The driver may hold a clone of the sender for a delivery in
            // flight; once D is free, it has dropped it. A value already in
            // the channel is withdrawn, as `stop` would: receiver clones see
            // Disconnected, not a value of a dropped timer.
            inner.wait_for_delivery();
            inner.chan_point();
            let _ = self.rx.try_recv();
        }
    }
}
