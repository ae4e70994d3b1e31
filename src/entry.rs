//! What the wheel carries for each handle, and the rules that make stop,
//! reset and drop exact while the driver delivers without the wheel lock.
//!
//! # Ground rules
//!
//! 1. **One owner.** Every entry is inserted by exactly one handle (`Timer`,
//!    `Ticker`, `Callback`) and removed only by that handle's `Drop` (or, for
//!    a detached or dropped callback, by the callback thread once it is done
//!    with it, or by shutdown if it was still armed). Firing only disarms an entry, so a handle's [`Key`] is valid
//!    for the handle's whole life and no stale key exists.
//! 2. **Two locks, one order.** `W` (the driver state mutex, holding the
//!    wheel) and `D` (the delivery mutex). The driver takes `D` *while still
//!    holding* `W`, then releases `W` and sends what it collected
//!    (shutdown, likewise, drops the senders it took out under `D`). Nobody
//!    takes `W` while holding `D`. So whoever takes `W` after the driver
//!    collected an entry, and then takes `D`, finds that entry's value already
//!    in its channel.
//! 3. **Armed means silent.** While a `Timer` entry is armed, its channel is
//!    empty and no value of it is in flight: arming (`reset`) first waits on
//!    `D` and drains the channel, under `W`. `stop` of a timer or ticker that
//!    was not armed waits and drains under the same hold of `W` as its
//!    disarm, so `stop` and `reset` of one handle on two threads take effect
//!    one after the other: a `reset` cannot re-arm between a `stop`'s disarm
//!    and its drain (which would withdraw the new arming's value).
//! 4. **Nothing user-owned is dropped under `W`.** Closures, and senders whose
//!    drop may disconnect and wake a receiver, are moved out of the wheel and
//!    dropped after `W` is released: a closure's captured values may own
//!    handles whose `Drop` takes `W`.
//!
//! # Callback states
//!
//! | state       | closure is          | `stop()` does                 | handle dropped               |
//! |-------------|---------------------|-------------------------------|------------------------------|
//! | `Armed`     | in the entry        | disarm, drop `f`: **true**    | entry removed; by `detach`: marked detached, runs later |
//! | `Queued`    | in the callback queue | → `Cancelled`: **true**     | → `Cancelled`, marked detached; by `detach`: marked detached, runs later |
//! | `Cancelled` | in the queue, will be dropped unrun | false         | marked detached              |
//! | `Running`   | running             | false                         | marked detached              |
//! | `Done`      | gone                | false                         | entry removed                |
//!
//! The callback thread moves `Queued` → `Running` → `Done` (or `Cancelled` →
//! `Done`), and removes the entry itself when it reaches `Done` on a detached
//! entry. Shutdown moves `Armed` → `Done`, dropping `f`, and removes the
//! entry if it is detached; after shutdown, `stop()` of a `Queued` callback
//! returns false (the callback thread drops `f` unrun anyway).

use crate::sync::AtomicU64;
use crate::wheel::Key;
use crossbeam_channel::Sender;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// A closure to run later.
pub(crate) type Func = Box<dyn FnOnce() + Send + 'static>;

/// One wheel entry.
#[derive(Debug)]
pub(crate) struct Entry {
    /// What to do when it fires.
    pub(crate) kind: EntryKind,
    /// The line that created the handle.
    pub(crate) site: &'static Location<'static>,
    /// When the handle was created, in driver nanoseconds.
    pub(crate) created: u64,
}

/// The three kinds of handle, as seen by the driver.
pub(crate) enum EntryKind {
    /// A one-shot timer.
    Timer {
        /// Delivery side of the handle's channel; `None` once the driver has
        /// shut down (the receiver then reports `Disconnected`).
        tx: Option<Sender<Instant>>,
    },
    /// A periodic ticker.
    Ticker {
        /// Delivery side of the handle's channel; `None` after shutdown.
        tx: Option<Sender<Instant>>,
        /// Period and counters, shared with the handle (which reads them
        /// without taking `W`).
        shared: Arc<TickerShared>,
    },
    /// A closure to run on the callback thread.
    Callback {
        /// The closure while `Armed`.
        f: Option<Func>,
        /// See the table in the module doc.
        state: CallbackState,
        /// The handle is gone (dropped while queued or running, or detached).
        detached: bool,
        /// A [`CancelToken`](crate::CancelToken)'s deadline, counted and
        /// reported as [`Kind::Token`] rather than as a `Callback`.
        token: bool,
    },
}

impl std::fmt::Debug for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryKind::Timer { .. } => f.write_str("Timer"),
            EntryKind::Ticker { shared, .. } => {
                write!(f, "Ticker({} ns)", shared.period.load(Relaxed))
            }
            EntryKind::Callback { state, .. } => write!(f, "Callback({state:?})"),
        }
    }
}

/// Where a callback is in its life (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallbackState {
    /// In the wheel, closure in the entry.
    Armed,
    /// Fired; the closure waits in the callback queue.
    Queued,
    /// Stopped while queued; the callback thread will drop it unrun.
    Cancelled,
    /// Running on the callback thread.
    Running,
    /// Ran, or was stopped, or the driver shut down.
    Done,
}

/// Ticker state shared between the handle and the driver.
#[derive(Debug, Default)]
pub(crate) struct TickerShared {
    /// The period in nanoseconds (never 0). Written only under `W` (by
    /// `reset`), read by the driver under `W` and by `period()` without it.
    pub(crate) period: AtomicU64,
    /// Ticks dropped because the channel was full, or skipped because the
    /// driver woke late.
    pub(crate) dropped: AtomicU64,
}

/// Which kind of handle an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A [`Timer`](crate::Timer).
    Timer,
    /// A [`Ticker`](crate::Ticker).
    Ticker,
    /// A [`Callback`](crate::Callback).
    Callback,
    /// The deadline of a [`CancelToken`](crate::CancelToken) (a token
    /// without a deadline has no wheel entry, so it is not listed by site).
    Token,
}

impl EntryKind {
    /// The handle kind.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            EntryKind::Timer { .. } => Kind::Timer,
            EntryKind::Ticker { .. } => Kind::Ticker,
            EntryKind::Callback { token: false, .. } => Kind::Callback,
            EntryKind::Callback { token: true, .. } => Kind::Token,
        }
    }
}

/// Something the driver collected under `W` and hands over after releasing
/// it.
pub(crate) enum Delivery {
    /// Send `at` on a channel (timer or ticker).
    Send {
        /// The scheduled deadline, for ordering.
        deadline: u64,
        /// A clone of the entry's sender.
        tx: Sender<Instant>,
        /// The instant to send: the scheduled deadline.
        at: Instant,
        /// For a ticker: where to count a tick lost to a full channel.
        ticker: Option<Arc<TickerShared>>,
    },
    /// Run a callback.
    Run {
        /// The scheduled deadline, for ordering.
        deadline: u64,
        /// Its entry.
        key: Key,
        /// The closure.
        f: Func,
    },
}

impl Delivery {
    /// The scheduled deadline.
    pub(crate) fn deadline(&self) -> u64 {
        match self {
            Delivery::Send { deadline, .. } | Delivery::Run { deadline, .. } => *deadline,
        }
    }
}
