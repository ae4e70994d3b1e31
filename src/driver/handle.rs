//! [`Handle`]: the shared state of one driver, and the operations that every
//! timer, ticker and callback performs on it.
//!
//! # Locks
//!
//! - `W` = [`Inner::state`]: the wheel and the driver's bookkeeping. Held
//!   only for O(1) work (plus O(due) in the driver's collect step).
//! - `D` = [`Inner::deliver`]: held by the driver from just before it
//!   releases `W` until every value it collected is in its channel.
//!
//! Order: `W` then `D`, never the other way (see the ground rules in
//! [`entry`](crate::entry)). Nothing user-provided runs, and nothing that can
//! wake another thread is dropped, while `W` is held.
//!
//! # Why every create and every drop takes `W`
//!
//! A handle's life costs two `W` round trips, four atomic read-modify-write
//! instructions: most of what a `Timer` adds to its channel (compare the
//! floor, the "floor + one mutex-guarded slab insert and remove" reference
//! and the `Timer` rows of the `core` bench in `docs/benchmarks.md`). The
//! cheaper designs each give up part of the contract:
//!
//! - *Lazy removal* (Go's runtime marks a stopped timer deleted and sweeps
//!   its heap once a quarter of it is deleted): drop would be one atomic
//!   instruction, but the entry would outlive its handle until its slot
//!   comes round or a sweep runs. `stats().pending` would not go down at
//!   drop, a loop making and dropping 1 s timers would hold a second's worth
//!   of dead entries, and a sweep under `W` would delay every delivery by
//!   its length.
//! - *Lock-free filing and unlinking* while the driver walks the same slot
//!   lists: O(1) removal from a shared doubly-linked list needs deferred
//!   reclamation of its nodes, which means `unsafe` code (and Miri in CI).
//!   The crate forbids `unsafe` until a benchmark shows the need outweighs
//!   that risk; the `core` bench's `Timer` rows are that measurement.
//!   Nor would it remove all four instructions: publishing a new entry to
//!   the driver thread takes one, so does claiming an armed entry at drop
//!   against a driver that may be firing it, and a shared `pending` count
//!   takes one more at each end unless it is kept per thread. So it saves
//!   at most two of the four; with the arena's free list shared too, none.
//!
//! Contention on `W` (many threads creating and dropping at once) is a
//! separate matter, with a remedy that keeps the contract: a
//! [`Driver`](crate::Driver) per group of threads.

use crate::clock::Clock;
use crate::driver::callbacks::Jobs;
use crate::entry::{CallbackState, Entry, EntryKind, Func, Kind};
use crate::sites::{Site, SiteTracker};
use crate::stats::{Counters, Stats};
use crate::sync::{Condvar, Mutex, MutexGuard};
use crate::wheel::{Key, NEVER, Wheel};
use crossbeam_channel::Sender;
use std::fmt;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// A cheap, cloneable reference to a driver, used to create timers on it.
///
/// Handles keep the driver's shared state alive, not its thread: after the
/// [`Driver`](crate::Driver) is shut down, timers made from a handle are born
/// disconnected (their receiver reports `Disconnected` at once) and callbacks
/// never run.
#[derive(Clone)]
pub struct Handle {
    /// The driver's shared state.
    pub(crate) inner: InnerRef,
}

/// How a handle reaches its driver's state: the global driver's lives in a
/// static and is borrowed for free; any other driver's is reference counted.
/// (The global case skips an atomic increment and decrement per timer, which
/// is a tenth of a timer's cost.)
#[derive(Clone, Debug)]
pub(crate) enum InnerRef {
    /// The global driver's state.
    Static(&'static Inner),
    /// Any other driver's state.
    Shared(Arc<Inner>),
}

impl std::ops::Deref for InnerRef {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        match self {
            InnerRef::Static(inner) => inner,
            InnerRef::Shared(inner) => inner,
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        let (pending, shutdown) = (st.wheel.armed(), st.shutdown);
        // Release W before writing to the caller's formatter: a writer may
        // be slow, or make a timer on this driver (W is not re-entrant).
        drop(st);
        f.debug_struct("Handle")
            .field("thread", &self.inner.name)
            .field("pending", &pending)
            .field("shutdown", &shutdown)
            .finish()
    }
}

/// State shared by a driver's thread, its callback thread and its handles.
#[derive(Debug)]
pub(crate) struct Inner {
    /// `W`: the wheel and bookkeeping.
    pub(crate) state: Mutex<State>,
    /// Wakes the driver thread when `next_wake` is lowered or on shutdown.
    pub(crate) wake: Condvar,
    /// `D`: see the module doc.
    pub(crate) deliver: Mutex<()>,
    /// Where time comes from.
    pub(crate) clock: Clock,
    /// The callback queue.
    pub(crate) jobs: Jobs,
    /// Counters updated outside `W`.
    pub(crate) counters: Counters,
    /// Name of the driver thread.
    pub(crate) name: String,
    /// How many threads run the driver loop (1, plus any hedge threads):
    /// with more than one, every wake-up of the driver wakes all of them.
    pub(crate) driver_threads: usize,
    /// Loom only: touched before every channel operation, see
    /// [`Inner::chan_point`].
    #[cfg(loom)]
    chan: loom::sync::atomic::AtomicUsize,
}

/// What `W` protects.
#[derive(Debug)]
pub(crate) struct State {
    /// The timing wheel.
    pub(crate) wheel: Wheel<Entry>,
    /// When the driver thread will next wake by itself (driver ns, or
    /// [`NEVER`]). Inserters lower it and notify; only the driver raises it,
    /// when it reaches it (any of its threads, if it has hedge threads: each
    /// sleeps to this value as it was when it began to wait). A cancelled
    /// earliest timer thus costs at most one early wake-up per driver
    /// thread, and creating timers later than it costs none.
    pub(crate) next_wake: u64,
    /// Set once by `shutdown`.
    pub(crate) shutdown: bool,
    /// Live handles by kind, indexed by [`Kind`]: incremented when a handle
    /// is created, decremented when it is dropped (or detached). The `Token`
    /// count (tokens' deadline timers on this driver) is kept for symmetry;
    /// [`Stats::tokens`] counts every live token of the process.
    pub(crate) live: [usize; 4],
    /// Per-site live counts, kept only when a site threshold is configured
    /// (so the default create/drop path pays nothing for it).
    pub(crate) sites: Option<SiteTracker>,
}

impl State {
    /// Lowers `next_wake` to `deadline` if that is earlier; returns whether
    /// the driver must be woken (by the caller, after releasing `W`).
    fn lower_wake(&mut self, deadline: u64) -> bool {
        if deadline < self.next_wake {
            self.next_wake = deadline;
            true
        } else {
            false
        }
    }
}

/// What [`disconnect`] took out of an entry, to drop without `W`.
type Disconnected = (Option<Sender<Instant>>, Option<Func>);

/// Cuts an entry off for good (shutdown): takes its sender, so receivers
/// disconnect, and an unstarted closure, which will never run.
fn disconnect(kind: &mut EntryKind) -> Disconnected {
    match kind {
        EntryKind::Timer { tx } | EntryKind::Ticker { tx, .. } => (tx.take(), None),
        EntryKind::Callback { f, state, .. } => {
            if *state == CallbackState::Armed {
                *state = CallbackState::Done;
            }
            (None, f.take())
        }
    }
}

/// The live handles of one site and kind, counted by a scan of the wheel
/// (for a threshold notification, which is rare).
fn site_now(st: &State, location: &'static Location<'static>, kind: Kind, now: u64) -> Site {
    let (count, oldest) = st
        .wheel
        .values()
        // By value, as the tracker counts (one line may have several
        // `Location` statics).
        .filter(|e| *e.site == *location && e.kind.kind() == kind)
        .fold((0, now), |(n, oldest), e| (n + 1, oldest.min(e.created)));
    Site {
        location,
        kind,
        count,
        oldest: std::time::Duration::from_nanos(now - oldest),
    }
}

impl Inner {
    pub(crate) fn new(
        clock: Clock,
        resolution_ns: u64,
        name: String,
        jobs: Jobs,
        sites: Option<SiteTracker>,
        driver_threads: usize,
    ) -> Self {
        // Start the wheel's time at the clock's (a real clock's time zero is
        // a day back), so the first deadlines are filed relative to now.
        let mut wheel = Wheel::new(resolution_ns);
        wheel.poll(clock.now().1, &mut Vec::new());
        Inner {
            state: Mutex::new(State {
                wheel,
                next_wake: NEVER,
                shutdown: false,
                live: [0; 4],
                sites,
            }),
            wake: Condvar::new(),
            deliver: Mutex::new(()),
            clock,
            jobs,
            counters: Counters::default(),
            name,
            driver_threads,
            #[cfg(loom)]
            chan: loom::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Adds an entry for a new handle and arms it at `deadline` (driver ns)
    /// unless the driver has shut down.
    #[inline]
    pub(crate) fn insert(
        &self,
        kind: EntryKind,
        site: &'static Location<'static>,
        now: u64,
        deadline: u64,
    ) -> Key {
        let kind_of = kind.kind();
        let mut st = self.state.lock();
        st.live[kind_of as usize] += 1;
        let entry = Entry {
            kind,
            site,
            created: now,
        };
        if st.shutdown || st.sites.is_some() {
            let key = st.wheel.insert(entry);
            return self.insert_rare(st, key, site, now, deadline);
        }
        let key = st.wheel.insert_armed(entry, deadline);
        let wake = st.lower_wake(deadline);
        // Release W before waking the driver, so it does not block on it.
        drop(st);
        if wake {
            self.wake_driver();
        }
        key
    }

    /// The rest of [`insert`](Self::insert) when the driver has shut down or
    /// counts sites: kept out of line, off the common path.
    #[cold]
    #[inline(never)]
    fn insert_rare(
        &self,
        mut st: MutexGuard<'_, State>,
        key: Key,
        site: &'static Location<'static>,
        now: u64,
        deadline: u64,
    ) -> Key {
        let kind_of = st.wheel.get(key).kind.kind();
        let crossed = st.sites.as_mut().and_then(|t| t.added(site, kind_of, now));
        let mut stillborn = None;
        let wake = if st.shutdown {
            // Born after shutdown: no sender (the receiver is disconnected at
            // once) and no closure (it never runs).
            stillborn = Some(disconnect(&mut st.wheel.get_mut(key).kind));
            false
        } else {
            st.wheel.arm(key, deadline);
            st.lower_wake(deadline)
        };
        // No notification for a handle born after shutdown: the callback
        // thread that would run it is gone, or about to be.
        let note = crossed
            .filter(|_| !st.shutdown)
            .map(|f| (f, site_now(&st, site, kind_of, now)));
        // Release W before dropping the sender or closure and before waking
        // anyone (the driver, the callback thread).
        drop(st);
        // Caught: the handle does not exist yet, so a panic here would
        // leave its entry and live count behind.
        self.drop_caught(stillborn);
        if wake {
            self.wake_driver();
        }
        if let Some((f, site)) = note {
            // Refused only if a shutdown began after W was released.
            if let Err(unrun) = self.jobs.push_notify(Box::new(move || f(&site))) {
                self.drop_caught(unrun);
            }
        }
        key
    }

    /// Wakes the driver thread, or every driver thread when it has hedge
    /// threads: each must see the new `next_wake` (or the shutdown), since
    /// the point of a hedge thread is that any one of them may be the one
    /// that gets a CPU first. Called with `W` released.
    pub(crate) fn wake_driver(&self) {
        if self.driver_threads > 1 {
            self.wake.notify_all();
        } else {
            self.wake.notify_one();
        }
    }

    /// Removes an entry and returns it (and whether it was armed), to be
    /// dropped by the caller after `W` is released. (Live-handle counts are
    /// the handles' business: a callback's entry may outlive its handle.)
    #[inline]
    pub(crate) fn remove(&self, st: &mut State, key: Key) -> (Entry, bool) {
        let (entry, was_armed) = st.wheel.remove(key);
        if let Some(t) = st.sites.as_mut() {
            t.removed(entry.site, entry.kind.kind());
        }
        (entry, was_armed)
    }

    /// Arms (or re-arms) `key` at `deadline` and wakes the driver if that is
    /// earlier than it planned to wake. Consumes the guard: the notify
    /// happens after `W` is released.
    pub(crate) fn arm(&self, mut st: MutexGuard<'_, State>, key: Key, deadline: u64) {
        if st.shutdown {
            return;
        }
        st.wheel.arm(key, deadline);
        if st.lower_wake(deadline) {
            // Release W first, so the woken driver does not block on it.
            drop(st);
            self.wake_driver();
        }
    }

    /// Marks the driver shut down, disarms everything and drops every sender
    /// and unstarted closure, so receivers disconnect (once any delivery in
    /// flight, which holds sender clones until `D` is free, is over: the
    /// senders are dropped under `D`, so that is waited for too).
    /// Returns false if it was already shut down.
    pub(crate) fn shut_down(&self) -> bool {
        let mut st = self.state.lock();
        if st.shutdown {
            return false;
        }
        st.shutdown = true;
        st.wheel.disarm_all();
        let (senders, closures): (Vec<_>, Vec<_>) = st
            .wheel
            .values_mut()
            .map(|e| disconnect(&mut e.kind))
            .unzip();
        // A detached callback that was still armed is `Done` now, with no
        // handle left to remove its entry and no job for the callback thread
        // to remove it after: it goes here (ground rule 1). No other entry
        // is both detached and `Done` under W: whoever makes one `Done`
        // removes it in the same hold, and a detached `Queued`, `Cancelled`
        // or `Running` one still has its job, which removes it.
        let orphans: Vec<Entry> = st
            .wheel
            .keys_where(|e| {
                matches!(
                    e.kind,
                    EntryKind::Callback {
                        detached: true,
                        state: CallbackState::Done,
                        ..
                    }
                )
            })
            .into_iter()
            .map(|key| self.remove(&mut st, key).0)
            .collect();
        // Take D before releasing W, as the driver does (ground rule 2), and
        // drop the senders under it, after W (ground rule 4): dropping the
        // last sender is what disconnects receivers and wakes them. A handle
        // that finds its sender taken here and then waits on D (a dropped
        // timer or ticker) so finds it dropped: its receiver clones report
        // Disconnected once its drop returns, not only once this shutdown
        // does. Dropping a sender runs no user code and takes no lock of
        // ours, like the driver's sender clones dropped under D.
        let d = self.deliver.lock();
        drop(st);
        self.chan_point();
        drop(senders);
        drop(d);
        drop(orphans);
        self.wake_driver();
        // Last, and one at a time: the drop of what an unrun closure captured
        // may panic, and must neither skip the rest of the shutdown nor the
        // other drops.
        for f in closures.into_iter().flatten() {
            self.drop_caught(f);
        }
        true
    }

    /// Drops something that may hold user values (a closure that will never
    /// run), catching a panic of their `Drop` and counting it as a callback
    /// panic ([`Stats::callback_panics`](crate::Stats)): such a panic must
    /// kill no thread of the driver and cut short none of its work.
    pub(crate) fn drop_caught<T>(&self, garbage: T) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(garbage))) {
            self.caught_panic(payload);
        }
    }

    /// Counts a caught user panic ([`Stats::callback_panics`](crate::Stats))
    /// and disposes of its payload. The payload is a user value too
    /// (`panic_any`), whose `Drop` may panic in turn: that panic is caught
    /// as well and its own payload leaked, not dropped, so that no user
    /// `Drop` can unwind out of a driver's thread (or out of `shutdown`).
    pub(crate) fn caught_panic(&self, payload: Box<dyn std::any::Any + Send>) {
        self.counters.callback_panics.fetch_add(1, Relaxed);
        if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            std::mem::forget(again);
        }
    }

    /// Marks a channel operation (send, receive, disconnect) for loom.
    ///
    /// crossbeam-channel's atomics are invisible to loom, so loom would not
    /// explore the orders of a send and a receive. Under `--cfg loom` this
    /// is an RMW on one loom atomic, placed right before each channel
    /// operation of the driver and the handles: loom then explores both
    /// orders of any two of them, treating each channel operation as one
    /// atomic step (which it is: crossbeam-channel is linearizable). In
    /// normal builds it compiles to nothing.
    #[inline(always)]
    pub(crate) fn chan_point(&self) {
        #[cfg(loom)]
        self.chan.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits until the driver has finished sending everything it collected
    /// before this call (see the ground rules in [`entry`](crate::entry)).
    pub(crate) fn wait_for_delivery(&self) {
        drop(self.deliver.lock());
    }

    /// Live sites, stats and so on read `W` only briefly.
    pub(crate) fn stats(&self) -> Stats {
        let st = self.state.lock();
        let pending = st.wheel.armed();
        let live = st.live;
        // Release W before the snapshot: it copies up to `LATENESS_WINDOW`
        // samples under the lateness ring's own lock (and sorts the copy
        // after releasing it).
        drop(st);
        self.counters.snapshot(pending, live)
    }
}

impl Handle {
    /// The current time on this driver's clock (virtual for a manual clock).
    pub fn now(&self) -> std::time::Instant {
        self.inner.clock.now().0
    }

    /// A snapshot of this driver's statistics.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }
}

#[cfg(test)]
impl Handle {
    /// A driver's shared state with no threads, on the real clock at 1 ms
    /// resolution, and its callback queue: the test plays the driver thread
    /// (with [`step_at`](Self::step_at)) and the callback thread.
    pub(crate) fn without_threads() -> (Handle, crossbeam_channel::Receiver<super::callbacks::Job>)
    {
        let (jobs, rx) = Jobs::new();
        let clock = Clock::Real {
            base: Instant::now(),
        };
        (Self::threadless(clock, jobs, None), rx)
    }

    /// As [`without_threads`](Self::without_threads), counting live handles
    /// by site: a site that comes to hold more than `threshold` handles of
    /// one kind queues a notification calling `f` (as
    /// [`Builder::on_site_threshold`](crate::Builder::on_site_threshold)
    /// does).
    #[cfg(loom)]
    pub(crate) fn without_threads_counting_sites(
        threshold: usize,
        f: crate::sites::SiteFn,
    ) -> (Handle, crossbeam_channel::Receiver<super::callbacks::Job>) {
        let (jobs, rx) = Jobs::new();
        let clock = Clock::Real {
            base: Instant::now(),
        };
        let sites = SiteTracker::new(threshold, f);
        (Self::threadless(clock, jobs, Some(sites)), rx)
    }

    /// As [`without_threads`](Self::without_threads), on `clock` (registered
    /// with it, so that its `advance` steps this driver).
    #[cfg(loom)]
    pub(crate) fn without_threads_on(
        clock: &crate::ManualClock,
    ) -> (Handle, crossbeam_channel::Receiver<super::callbacks::Job>) {
        let (jobs, rx) = Jobs::new();
        let handle = Self::threadless(Clock::Manual(clock.clone()), jobs, None);
        if let InnerRef::Shared(inner) = &handle.inner {
            clock.register(inner);
        }
        (handle, rx)
    }

    /// A threadless driver's handle, at 1 ms resolution, counting sites
    /// with `sites` if given.
    fn threadless(clock: Clock, jobs: Jobs, sites: Option<SiteTracker>) -> Handle {
        let inner = Inner::new(clock, 1_000_000, "test".into(), jobs, sites, 1);
        Handle {
            inner: InnerRef::Shared(Arc::new(inner)),
        }
    }

    /// One collect-and-deliver pass of the driver at driver time `now` (ns).
    pub(crate) fn step_at(&self, now: u64) {
        let st = self.inner.state.lock();
        drop(super::run::step(
            &self.inner,
            st,
            now,
            &mut super::run::Buffers::default(),
        ));
    }
}
