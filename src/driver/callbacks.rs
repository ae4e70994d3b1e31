//! The callback thread: runs [`Callback`](crate::Callback) closures in
//! deadline order, off the driver thread, so a slow callback never delays a
//! channel delivery.
//!
//! The driver queues a closure when its deadline passes (entry state
//! `Queued`); this thread re-checks the entry under `W` before running it,
//! because `stop()` may have cancelled it in between (see the state table in
//! [`entry`](crate::entry)).

use crate::driver::handle::Inner;
use crate::entry::{CallbackState, EntryKind, Func};
use crate::sync::{Condvar, Mutex};
use crate::wheel::Key;
use crossbeam_channel::{Receiver, SendError, Sender, unbounded};
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Work for the callback thread.
pub(crate) enum Job {
    /// Run the closure of this entry, unless it was cancelled.
    Run {
        /// The entry.
        key: Key,
        /// Its closure.
        f: Func,
    },
    /// Run a notification (a site threshold crossing).
    Notify(Func),
    /// Exit (sent by shutdown after the driver thread has stopped).
    Stop,
}

/// The queue to the callback thread, and a count of the `Run` jobs not
/// finished yet (a manual clock waits for it to reach zero).
#[derive(Debug)]
pub(crate) struct Jobs {
    /// Sending side of the queue (unbounded: the driver never blocks).
    tx: Sender<Job>,
    /// `Run` jobs not finished, and whether the queue still takes
    /// notifications.
    outstanding: Mutex<Outstanding>,
    /// Notified when the count of `outstanding` drops to zero.
    idle: Condvar,
}

/// What [`Jobs::outstanding`] guards.
#[derive(Debug, Default)]
struct Outstanding {
    /// `Run` jobs queued or running. Not notifications: no `advance` waits
    /// for one (see `CALLBACK_CLOCK`), so one that blocks until a later step
    /// of an `advance` delivers (a `recv` on a timer of that clock) is
    /// answered by that step instead of hanging the `advance` at an earlier
    /// one. (A callback queued behind such a notification still waits for
    /// it, like one behind a slow callback.)
    count: usize,
    /// Set by the callback thread when it takes `Stop`: from then on a
    /// notification is handed back instead of queued.
    closed: bool,
}

thread_local! {
    /// Set on callback threads, to refuse what would deadlock there.
    static ON_CALLBACK_THREAD: Cell<bool> = const { Cell::new(false) };
    /// While a callback thread runs a callback of a driver on a manual clock
    /// (which the `advance` that queued it waits for), that clock's
    /// [`id`](crate::ManualClock::id); 0 otherwise. Not during a
    /// notification: no `advance` waits for one before delivering.
    static CALLBACK_CLOCK: Cell<usize> = const { Cell::new(0) };
}

/// Whether the current thread is some driver's callback thread.
pub(crate) fn on_callback_thread() -> bool {
    ON_CALLBACK_THREAD.with(Cell::get)
}

/// The [`id`](crate::ManualClock::id) of the manual clock whose `advance`
/// waits for the callback the current thread is running, or 0.
pub(crate) fn callback_clock() -> usize {
    CALLBACK_CLOCK.with(Cell::get)
}

impl Jobs {
    pub(crate) fn new() -> (Jobs, Receiver<Job>) {
        let (tx, rx) = unbounded();
        (
            Jobs {
                tx,
                outstanding: Mutex::new(Outstanding::default()),
                idle: Condvar::new(),
            },
            rx,
        )
    }

    /// Queues `Run` jobs; never blocks.
    pub(crate) fn push(&self, jobs: impl ExactSizeIterator<Item = Job>) {
        self.outstanding.lock().count += jobs.len();
        for job in jobs {
            // Only the driver queues `Run` jobs, and only before shutdown has
            // stopped it (joined its thread, or waited out a manual-clock
            // step); the callback thread exits only on the `Stop` sent after
            // that, and catches every user panic: this cannot fail.
            self.tx
                .send(job)
                .expect("tickwheel: callback thread gone while the driver runs");
        }
    }

    /// Queues a notification to run on the callback thread. Hands `f` back if
    /// that thread has exited: a shutdown raced the notification (it is sent
    /// by whichever thread made the handle, with no lock held).
    pub(crate) fn push_notify(&self, f: Func) -> Result<(), Func> {
        let o = self.outstanding.lock();
        if o.closed {
            return Err(f);
        }
        // Sent with the lock held: the callback thread closes the queue
        // under it and then drains what was sent before, so a notification
        // is run, dropped by that drain, or handed back here; never lost.
        // Not counted in `count` (see there).
        match self.tx.send(Job::Notify(f)) {
            Ok(()) => Ok(()),
            Err(SendError(Job::Notify(f))) => Err(f),
            Err(SendError(_)) => unreachable!("sent a notification, got another job back"),
        }
    }

    /// Takes no more notifications (the callback thread, on `Stop`).
    fn close(&self) {
        self.outstanding.lock().closed = true;
    }

    /// Asks the callback thread to exit.
    pub(crate) fn stop(&self) {
        // Err only if the thread has already exited, which is the goal.
        let _ = self.tx.send(Job::Stop);
    }

    /// Blocks until every queued job has finished.
    pub(crate) fn wait_idle(&self) {
        let mut o = self.outstanding.lock();
        while o.count > 0 {
            self.idle.wait(&mut o);
        }
    }

    fn finished_one(&self) {
        let mut o = self.outstanding.lock();
        o.count -= 1;
        if o.count == 0 {
            self.idle.notify_all();
        }
    }
}

/// The callback thread's body.
pub(crate) fn run(inner: &Inner, rx: Receiver<Job>) {
    ON_CALLBACK_THREAD.with(|c| c.set(true));
    let clock = inner.clock.manual_id().unwrap_or(0);
    while let Ok(job) = rx.recv() {
        if !run_job(inner, &rx, job, clock) {
            break;
        }
    }
}

/// Does one job of the callback thread, taken from `rx`; `clock` is the
/// [`id`](crate::ManualClock::id) of the driver's manual clock, or 0.
/// Returns false on `Stop`: the thread then exits. (Its own function so that
/// the loom model of a manual clock's wait runs this code.)
pub(crate) fn run_job(inner: &Inner, rx: &Receiver<Job>, job: Job, clock: usize) -> bool {
    match job {
        Job::Stop => {
            inner.jobs.close();
            // What was sent before the close: only notifications can
            // follow `Stop` (every run is queued before it). Shutdown
            // drops them unrun, as it does unstarted callbacks.
            for job in rx.try_iter() {
                inner.drop_caught(job);
            }
            return false;
        }
        Job::Run { key, f } => {
            // `run_one` catches the closure's panic, so the reset runs.
            CALLBACK_CLOCK.with(|c| c.set(clock));
            run_one(inner, key, f);
            CALLBACK_CLOCK.with(|c| c.set(0));
            inner.jobs.finished_one();
        }
        Job::Notify(f) => {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
                inner.caught_panic(payload);
            }
        }
    }
    true
}

pub(crate) fn run_one(inner: &Inner, key: Key, f: Func) {
    let mut st = inner.state.lock();
    let shutdown = st.shutdown;
    let EntryKind::Callback { state, .. } = &mut st.wheel.get_mut(key).kind else {
        unreachable!("callback job for a non-callback entry");
    };
    let go = *state == CallbackState::Queued && !shutdown;
    *state = if go {
        CallbackState::Running
    } else {
        CallbackState::Done
    };
    let garbage = if go {
        None
    } else {
        finish(inner, &mut st, key)
    };
    // Release W: the closure (and anything it captured) runs or is dropped
    // without it, since it may create, stop or drop timers of this driver.
    drop(st);
    drop(garbage);
    if !go {
        // Dropped unrun: what it captured may panic in its `Drop`, which
        // must not kill this thread any more than a panic of `f` may.
        inner.drop_caught(f);
        return;
    }
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        inner.caught_panic(payload);
    }
    let mut st = inner.state.lock();
    if let EntryKind::Callback { state, .. } = &mut st.wheel.get_mut(key).kind {
        *state = CallbackState::Done;
    }
    let garbage = finish(inner, &mut st, key);
    // Release W before dropping the removed entry (ground rule 4; its
    // closure is gone already, so this is only the rule kept uniformly).
    drop(st);
    drop(garbage);
}

/// Removes a `Done` callback entry whose handle is gone.
fn finish(
    inner: &Inner,
    st: &mut crate::driver::handle::State,
    key: Key,
) -> Option<crate::entry::Entry> {
    match st.wheel.get(key).kind {
        EntryKind::Callback { detached: true, .. } => Some(inner.remove(st, key).0),
        _ => None,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::run;
    use crate::driver::Handle;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

    /// A notification that records whether it ran.
    fn flag() -> (Arc<AtomicBool>, crate::entry::Func) {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        (ran, Box::new(move || r.store(true, SeqCst)))
    }

    // Found by review: a notification queued after `Stop` (a shutdown racing
    // the handle that crossed a threshold) was accepted, then lost with the
    // queue, and its count kept a manual clock's `advance` waiting for good.
    // The callback thread now closes the queue on `Stop` and drains it.
    #[test]
    fn a_notification_racing_stop_is_dropped_with_its_count_or_handed_back() {
        let (h, rx) = Handle::without_threads();
        let jobs = &h.inner.jobs;
        let (before_ran, before) = flag();
        assert!(jobs.push_notify(before).is_ok());
        jobs.stop();
        let (raced_ran, raced) = flag();
        assert!(jobs.push_notify(raced).is_ok(), "not closed yet: queued");
        run(&h.inner, rx); // plays the callback thread, returns on `Stop`
        assert!(before_ran.load(SeqCst), "queued before `Stop`: ran");
        assert!(
            !raced_ran.load(SeqCst),
            "queued after `Stop`: dropped unrun"
        );
        assert_eq!(jobs.outstanding.lock().count, 0, "a count left behind");
        let (late_ran, late) = flag();
        assert!(jobs.push_notify(late).is_err(), "closed: handed back");
        assert!(!late_ran.load(SeqCst));
    }
}
