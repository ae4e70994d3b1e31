//! [`ManualClock`]: virtual time for deterministic tests.

use crate::clock::Clock;
use crate::clock::to_ns;
use crate::driver::callbacks::{callback_clock, on_callback_thread};
use crate::driver::handle::Inner;
use crate::driver::run::{Buffers, step};
use crate::sync::{AtomicU64, Mutex};
use crate::wheel::NEVER;
use crossbeam_channel::{Receiver, RecvError, TryRecvError};
use std::fmt;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Virtual time that moves only when told to: drive a [`Driver`](crate::Driver)
/// with it (through [`Builder::clock`](crate::Builder::clock)) and test
/// timer-based code in microseconds of real time, deterministically.
///
/// ```
/// use std::time::Duration;
/// use tickwheel::{Driver, ManualClock};
///
/// let clock = ManualClock::new();
/// let driver = Driver::builder().clock(clock.clone()).build()?;
/// let start = clock.now();
/// let timer = driver.handle().timer(Duration::from_secs(5));
/// clock.advance(Duration::from_secs(4));
/// assert!(timer.try_recv().is_err()); // not yet
/// clock.advance(Duration::from_secs(1));
/// // `advance` returned only after the timer delivered; the value is exact.
/// assert_eq!(timer.try_recv().unwrap() - start, Duration::from_secs(5));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Semantics:
/// - A driver on a manual clock never reads the real clock and has no wheel
///   thread; [`advance`](Self::advance) does its work on the calling thread
///   (callbacks still run on the driver's callback thread).
/// - `advance` returns only once everything due up to the new time has been
///   handled: values are in their channels and callbacks have finished.
///   Deadlines are handled in order, with [`now`](Self::now) stepping to each
///   one, so a callback that creates a timer due before the new time sees it
///   fire within the same `advance`.
/// - A timer that is already due when created (zero duration, past
///   deadline) fires at the next `advance`, which may be of
///   `Duration::ZERO`.
/// - Calls from several threads are serialised; n calls of `advance(d)` move
///   time by exactly n·d.
/// - Because `advance` waits for each step's callbacks before it moves time
///   on, a callback must not block waiting for a later deadline of any
///   driver on the same clock (say, `recv` on a timer it just made): it
///   would wait for an `advance` that waits for it, and both hang. On the
///   real clock the same callback only delays later callbacks. Let such a
///   callback spawn a thread, or send to a channel the test reads.
///   [`Timer::recv`](crate::Timer::recv) and
///   [`Ticker::recv`](crate::Ticker::recv) detect the simple case (called in
///   such a callback, on a timer or ticker of this clock with nothing to
///   receive yet) and panic with a message instead of hanging (even though
///   another thread shutting that driver down would end the wait); a
///   callback that blocks another way (on `receiver()`, in `select!`, on
///   `Ticker::iter`, on a `CancelToken`) still hangs.
/// - Cost: `advance` visits every deadline on its way (about 150 ns each in
///   a release build), so a 1 µs ticker advanced by one second is a million
///   steps. Drop or stop fast tickers before advancing over long spans.
#[derive(Clone)]
pub struct ManualClock {
    /// State shared by all clones.
    shared: Arc<Shared>,
}

/// What clones of one clock share.
struct Shared {
    /// Virtual time zero.
    base: Instant,
    /// The virtual now, in ns since `base`.
    now: AtomicU64,
    /// The sum of all advances asked for, in ns since `base`.
    goal: Mutex<u64>,
    /// Serialises the driving of the drivers.
    drive: Mutex<()>,
    /// The drivers running on this clock.
    drivers: Mutex<Vec<Weak<Inner>>>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .finish()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A clock at virtual time zero, whose base is the real `Instant::now()`
    /// at creation.
    pub fn new() -> ManualClock {
        ManualClock {
            shared: Arc::new(Shared {
                base: Instant::now(),
                now: AtomicU64::new(0),
                goal: Mutex::new(0),
                drive: Mutex::new(()),
                drivers: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The virtual now: the base instant plus the virtual time elapsed.
    pub fn now(&self) -> Instant {
        self.shared.base + Duration::from_nanos(self.now_ns())
    }

    /// Virtual time elapsed since the clock was created.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.now_ns())
    }

    /// Moves virtual time forward by `d` and handles everything that
    /// becomes due (see the type's documentation).
    ///
    /// # Panics
    ///
    /// When called from a callback of a tickwheel driver: `advance` waits for
    /// callbacks to finish, so it would wait for itself. (A callback that
    /// blocks on a later virtual deadline hangs `advance` the same way, but
    /// cannot be told apart from a slow one: see the type's documentation.)
    #[track_caller]
    pub fn advance(&self, d: Duration) {
        Self::check_thread();
        let goal = {
            let mut g = self.shared.goal.lock();
            *g = g.saturating_add(to_ns(d)).min(NEVER - 1);
            *g
        };
        self.drive_to(goal);
    }

    /// Moves virtual time forward to `t`. A `t` at or before
    /// [`now`](Self::now) moves no time (time never goes back) but, like
    /// `advance(Duration::ZERO)`, still handles what is already due (say, a
    /// zero-duration timer made since the last advance).
    ///
    /// # Panics
    ///
    /// As [`advance`](Self::advance).
    #[track_caller]
    pub fn advance_to(&self, t: Instant) {
        Self::check_thread();
        let target = to_ns(t.saturating_duration_since(self.shared.base)).min(NEVER - 1);
        let goal = {
            let mut g = self.shared.goal.lock();
            *g = (*g).max(target);
            *g
        };
        self.drive_to(goal);
    }

    #[track_caller]
    fn check_thread() {
        assert!(
            !on_callback_thread(),
            "tickwheel: ManualClock::advance called from a timer callback; it waits for callbacks to finish, so it would deadlock"
        );
    }

    /// Identifies the clock (clones share it): the address of the shared
    /// state, never 0.
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    pub(crate) fn base(&self) -> Instant {
        self.shared.base
    }

    pub(crate) fn now_ns(&self) -> u64 {
        self.shared.now.load(SeqCst)
    }

    pub(crate) fn register(&self, inner: &Arc<Inner>) {
        self.shared.drivers.lock().push(Arc::downgrade(inner));
    }

    /// Steps through every deadline of every driver up to `goal`.
    fn drive_to(&self, goal: u64) {
        let _serial = self.shared.drive.lock();
        let mut buf = Buffers::default();
        loop {
            let drivers: Vec<Arc<Inner>> = {
                let mut list = self.shared.drivers.lock();
                list.retain(|w| w.strong_count() > 0);
                list.iter().filter_map(Weak::upgrade).collect()
            };
            let next = drivers.iter().filter_map(|d| next_deadline(d)).min();
            let Some(t) = next.filter(|&t| t <= goal) else {
                break;
            };
            let t = t.max(self.now_ns());
            self.shared.now.fetch_max(t, SeqCst);
            for d in &drivers {
                let st = d.state.lock();
                if st.shutdown || st.wheel.next_deadline().is_none_or(|n| n > t) {
                    continue;
                }
                // `step` releases W (it consumes the guard) and delivers;
                // W must be free before the wait below, since the callback
                // thread takes W to run and finish each callback.
                drop(step(d, st, t, &mut buf));
                // Callbacks due at `t` finish before time moves on.
                d.jobs.wait_idle();
            }
        }
        self.shared.now.fetch_max(goal, SeqCst);
    }
}

/// `rx.recv()` for [`Timer::recv`](crate::Timer::recv) and
/// [`Ticker::recv`](crate::Ticker::recv) (`what` names the type), except
/// where it would deadlock for certain: on the callback thread of a driver on
/// the same manual clock as the channel's driver, the `advance` that would
/// deliver a value is the one waiting for this callback to finish. There it
/// takes what is waiting, or panics if nothing is. (Only a shutdown of the
/// channel's driver by another thread could end that wait, with an error;
/// the panic treats waiting for one as the bug it almost always is.)
#[track_caller]
pub(crate) fn recv_checked(
    clock: &Clock,
    rx: &Receiver<Instant>,
    what: &str,
) -> Result<Instant, RecvError> {
    if clock.manual_id().is_some_and(|id| callback_clock() == id) {
        return match rx.try_recv() {
            Ok(v) => Ok(v),
            Err(TryRecvError::Disconnected) => Err(RecvError),
            Err(TryRecvError::Empty) => panic!(
                "tickwheel: {what}::recv() in a callback of a ManualClock driver, with nothing to receive yet: \
                 only an advance of the same clock can deliver it, and that advance waits for this callback \
                 to finish, so it would deadlock. Let the callback spawn a thread, or send to a channel the test reads"
            ),
        };
    }
    rx.recv()
}

fn next_deadline(d: &Inner) -> Option<u64> {
    let st = d.state.lock();
    if st.shutdown {
        None
    } else {
        st.wheel.next_deadline()
    }
}
