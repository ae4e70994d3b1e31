//! Loom models of the entry state machine: every interleaving of a handle
//! operation with the driver's collect-and-deliver step (and the callback
//! thread's run step) is explored, and the core's guarantees asserted.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --lib loom`
//!
//! The production code is the code under test: its locks and atomics come
//! from `crate::sync`, which is loom's under `--cfg loom`. What is not
//! modelled: the driver thread's timed sleep (the "driver" here is a loom
//! thread calling [`step`] once, or twice in one model) and
//! crossbeam-channel's internals (its non-blocking `try_send`/`try_recv` are
//! single steps to loom).

use crate::driver::Handle;
use crate::driver::callbacks::{Job, run_job, run_one};
use crate::entry::Kind;
use crate::sites::{Site, SiteFn};
use crate::wheel::NEVER;
use crate::{ManualClock, Stats, Ticker, Timer};
use crossbeam_channel::{Receiver, TryRecvError};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::thread;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A pass at which every zero-duration timer made so far is due, but
/// nothing an hour away (the models run in microseconds of real time).
fn fire_all(h: &Handle) {
    h.step_at(60 * 1_000_000_000);
}

/// A loom thread playing the driver: one pass with zero-duration timers due.
fn spawn_driver(h: &Handle) -> thread::JoinHandle<()> {
    let h = h.clone();
    thread::spawn(move || fire_all(&h))
}

/// The callback thread's work for whatever the driver queued.
fn run_queued(h: &Handle, jobs: &Receiver<Job>) {
    while let Ok(job) = jobs.try_recv() {
        if let Job::Run { key, f } = job {
            run_one(&h.inner, key, f);
        }
    }
}

/// stop() racing delivery and a receiver: stop returns true if and only if
/// the value is never received by anyone; no value after stop returns.
#[test]
fn loom_stop_vs_fire_vs_receive() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let timer = Arc::new(h.timer(Duration::ZERO));
        let d = spawn_driver(&h);
        let r = {
            let timer = timer.clone();
            thread::spawn(move || timer.try_recv().is_ok())
        };
        let stopped = timer.stop();
        let after_stop = timer.try_recv();
        d.join().unwrap();
        let received_by_r = r.join().unwrap();
        assert_eq!(
            after_stop,
            Err(TryRecvError::Empty),
            "a value from before stop()"
        );
        assert_eq!(
            timer.try_recv(),
            Err(TryRecvError::Empty),
            "a stale value arrived later"
        );
        assert_eq!(
            stopped, !received_by_r,
            "stop() = {stopped}, received = {received_by_r}"
        );
    });
}

/// Two stop() calls racing delivery: exactly one of them prevents it.
#[test]
fn loom_two_stops_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let timer = Arc::new(h.timer(Duration::ZERO));
        let d = spawn_driver(&h);
        let other = {
            let timer = timer.clone();
            thread::spawn(move || timer.stop())
        };
        let mine = timer.stop();
        let theirs = other.join().unwrap();
        d.join().unwrap();
        assert!(mine ^ theirs, "stop() results {mine} and {theirs}");
        assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
    });
}

/// stop() racing reset() on a timer that has fired, its value unread
/// (found by review 4): in either order the stop prevents a delivery (the
/// unread value, or the reset's new arming), so it returns true. It returned
/// false when it released W before draining: the reset withdrew the value
/// in between and re-armed, and the timer was left armed by a stop that
/// prevented nothing.
#[test]
fn loom_stop_vs_reset_of_a_fired_timer() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let timer = Arc::new(h.timer(Duration::ZERO));
        fire_all(&h);
        let other = {
            let timer = timer.clone();
            thread::spawn(move || timer.stop())
        };
        let reset = timer.reset(Duration::from_secs(3600));
        let stopped = other.join().unwrap();
        let armed = h.stats().pending == 1;
        assert!(
            stopped,
            "stop() = false, reset() = {reset}, armed after both: {armed}"
        );
        // stop then reset: the reset found nothing to prevent, and re-armed;
        // reset then stop: both prevented something, and the stop disarmed.
        assert_eq!(reset, !armed, "reset() = {reset}, armed = {armed}");
    });
}

/// A step of [`loom_stop_vs_reset_vs_fire_vs_receive`], for its sequential
/// reference: the driver's pass, `stop()`, `reset(1 h)`, a receive.
#[derive(Clone, Copy, PartialEq)]
enum TimerOp {
    Fire,
    Stop,
    Reset,
    Receive,
}

/// What one run of [`loom_stop_vs_reset_vs_fire_vs_receive`] saw: whether
/// the receive got the value, what `stop()` and `reset()` returned, whether
/// the timer is armed once all return, whether the pass sent the value.
type TimerOutcome = (bool, bool, bool, bool, bool);

/// The outcome of the four steps run one after another in `order`, by Go
/// 1.23's rules: `stop` and `reset` return true iff the timer was armed or
/// its value was in the channel (withdrawn), and `reset` arms it an hour
/// away (not due in the pass); the pass sends the value iff the first
/// arming is still armed.
fn timer_sequentially(order: &[TimerOp]) -> TimerOutcome {
    let (mut first_armed, mut reset_armed, mut in_channel) = (true, false, false);
    let (mut received, mut stopped, mut reset, mut sent) = (false, false, false, false);
    for op in order {
        let prevented = first_armed || reset_armed || in_channel;
        match op {
            TimerOp::Fire => {
                sent = first_armed;
                in_channel |= first_armed;
                first_armed = false;
            }
            TimerOp::Stop => {
                stopped = prevented;
                (first_armed, reset_armed, in_channel) = (false, false, false);
            }
            TimerOp::Reset => {
                reset = prevented;
                (first_armed, reset_armed, in_channel) = (false, true, false);
            }
            TimerOp::Receive => {
                received = in_channel;
                in_channel = false;
            }
        }
    }
    (received, stopped, reset, first_armed || reset_armed, sent)
}

/// Every order of `ops`.
fn permutations<T: Copy>(ops: &[T]) -> Vec<Vec<T>> {
    let mut all = vec![Vec::new()];
    for &op in ops {
        all = all
            .iter()
            .flat_map(|o: &Vec<T>| {
                (0..=o.len()).map(move |i| {
                    let mut o = o.clone();
                    o.insert(i, op);
                    o
                })
            })
            .collect();
    }
    all
}

/// `Timer::stop` racing `Timer::reset` (to an hour away) on two threads,
/// while the driver delivers the first arming's value (due in its pass)
/// and a third thread receives (one `try_recv` at any point, as in
/// [`loom_stop_vs_fire_vs_receive`]: a receive blocked from the start takes
/// the value at the point it is sent, which is one of those points).
/// Asserted: no deadlock; the results of `stop()` and `reset()`, what the
/// receive got, whether the pass sent the value and whether the timer is
/// armed once all return are those of some order of the four steps run one
/// at a time ([`timer_sequentially`]) that puts the receive after each call
/// that had returned when it began: so the receiver never gets the value
/// once the stop or reset that withdrew it (or disarmed the timer before
/// the pass) has returned. Nothing is left in the channel.
#[test]
fn loom_stop_vs_reset_vs_fire_vs_receive() {
    use TimerOp::{Fire, Receive, Reset, Stop};
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let timer = Arc::new(h.timer(Duration::ZERO));
        let (stop_returned, reset_returned) = (Mark::default(), Mark::default());
        let d = spawn_driver(&h);
        let r = {
            let (h, timer) = (h.clone(), timer.clone());
            let (stop_returned, reset_returned) = (stop_returned.clone(), reset_returned.clone());
            thread::spawn(move || {
                // Read in the same loom step as the receive.
                h.inner.chan_point();
                let after = (stop_returned.is_set(), reset_returned.is_set());
                (timer.receiver().try_recv().is_ok(), after)
            })
        };
        let s = {
            let timer = timer.clone();
            thread::spawn(move || {
                let stopped = timer.stop();
                stop_returned.set();
                stopped
            })
        };
        let reset = timer.reset(Duration::from_secs(3600));
        reset_returned.set();
        let stopped = s.join().unwrap();
        let (received, (after_stop, after_reset)) = r.join().unwrap();
        d.join().unwrap();
        let seen = (
            received,
            stopped,
            reset,
            h.stats().pending == 1,
            h.stats().fired == 1,
        );
        // The orders that put the receive after each call that had returned.
        let pos = |order: &[TimerOp], op| order.iter().position(|&o| o == op);
        let mut possible = permutations(&[Fire, Stop, Reset, Receive])
            .into_iter()
            .filter(|o| {
                (!after_stop || pos(o, Stop) < pos(o, Receive))
                    && (!after_reset || pos(o, Reset) < pos(o, Receive))
            })
            .map(|o| timer_sequentially(&o));
        assert!(
            possible.any(|o| o == seen),
            "(received, stop(), reset(), armed, sent) = {seen:?} in no order of the \
             steps (receive after stop: {after_stop}, after reset: {after_reset})"
        );
        assert_eq!(
            timer.try_recv(),
            Err(TryRecvError::Empty),
            "a stale value later"
        );
    });
}

/// reset() racing delivery: the old value is withdrawn or never sent; only
/// the new arming's value is ever received, exactly once.
#[test]
fn loom_reset_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let timer = Arc::new(h.timer(Duration::ZERO));
        let d = spawn_driver(&h);
        let far = Duration::from_secs(3600);
        let prevented = timer.reset(far);
        d.join().unwrap();
        assert!(
            prevented,
            "nobody received the first value, so reset prevented it"
        );
        // The driver's pass may have run after the reset: the new arming is
        // not due in its pass (or it was already re-armed), so nothing yet.
        assert_eq!(
            timer.try_recv(),
            Err(TryRecvError::Empty),
            "stale value after reset"
        );
        assert_eq!(h.stats().pending, 1);
        h.step_at(NEVER - 1);
        assert!(timer.try_recv().is_ok(), "the new arming's value");
        assert_eq!(timer.try_recv(), Err(TryRecvError::Empty), "fired twice");
    });
}

/// Dropping a timer racing delivery: when drop returns the entry is gone,
/// and a receiver clone sees Disconnected at once: a value delivered before
/// the drop was withdrawn by it (the `Timer` docs promise no value of a
/// dropped timer).
#[test]
fn loom_drop_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let timer = h.timer(Duration::ZERO);
        let rx = timer.receiver().clone();
        let d = spawn_driver(&h);
        drop(timer);
        assert_eq!(h.stats().pending, 0);
        assert_eq!(h.stats().timers, 0);
        h.inner.chan_point();
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Disconnected),
            "a value of a dropped timer, or its sender outlived drop()"
        );
        d.join().unwrap();
    });
}

/// Callback stop() racing the driver and the callback thread: exactly one
/// of "the closure ran" and "stop() returned true".
#[test]
fn loom_callback_stop_vs_run() {
    loom::model(|| {
        let (h, jobs) = Handle::without_threads();
        let ran = Arc::new(AtomicUsize::new(0));
        let cb = {
            let ran = ran.clone();
            h.after_func(Duration::ZERO, move || {
                ran.fetch_add(1, SeqCst);
            })
        };
        let d = {
            let h = h.clone();
            thread::spawn(move || {
                fire_all(&h);
                run_queued(&h, &jobs);
            })
        };
        let stopped = cb.stop();
        d.join().unwrap();
        let ran = ran.load(SeqCst);
        assert!(ran <= 1, "ran {ran} times");
        assert_eq!(stopped, ran == 0, "stop() = {stopped}, ran = {ran}");
        drop(cb);
        assert_eq!(h.stats().callbacks, 0);
    });
}

/// Dropping a callback handle racing its run: the entry is removed exactly
/// once, by whichever side is last (no leak, no double free).
#[test]
fn loom_callback_drop_vs_run() {
    loom::model(|| {
        let (h, jobs) = Handle::without_threads();
        let cb = h.after_func(Duration::ZERO, || ());
        let d = {
            let h = h.clone();
            thread::spawn(move || {
                fire_all(&h);
                run_queued(&h, &jobs);
            })
        };
        drop(cb);
        d.join().unwrap();
        let left = h.inner.state.lock().wheel.values().count();
        assert_eq!(left, 0, "callback entry leaked");
    });
}

/// Shutdown racing delivery: when shutdown (and its wait for deliveries in
/// flight) returns, the receiver never reports Empty again: it yields the
/// value at most once, then Disconnected.
#[test]
fn loom_shutdown_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let timer = h.timer(Duration::ZERO);
        let d = spawn_driver(&h);
        assert!(h.inner.shut_down());
        h.inner.wait_for_delivery();
        let first = timer.try_recv();
        assert_ne!(
            first,
            Err(TryRecvError::Empty),
            "a receiver still connected"
        );
        if first.is_ok() {
            assert_eq!(timer.try_recv(), Err(TryRecvError::Disconnected));
        }
        d.join().unwrap();
        assert_eq!(h.stats().pending, 0);
    });
}

/// Ground rule 4: a closure that owns a handle of the same driver, stopped
/// while racing its run. Were the closure dropped under `W`, the handle's
/// `Drop` would take `W` again: loom reports that as a deadlock.
#[test]
fn loom_stop_of_a_callback_owning_a_handle_vs_run() {
    loom::model(|| {
        let (h, jobs) = Handle::without_threads();
        let owned = h.timer(Duration::from_secs(3600));
        let cb = h.after_func(Duration::ZERO, move || drop(owned));
        let d = {
            let h = h.clone();
            thread::spawn(move || {
                fire_all(&h);
                run_queued(&h, &jobs);
            })
        };
        let _ = cb.stop();
        d.join().unwrap();
        drop(cb);
        assert_eq!(h.stats().timers, 0, "the owned timer was dropped");
    });
}

/// A ticker's stop racing its delivery: once stop returns, no tick from
/// before it is received, then or later.
#[test]
fn loom_ticker_stop_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let ticker = h.ticker(Duration::from_nanos(1));
        let d = spawn_driver(&h);
        ticker.stop();
        h.inner.chan_point();
        assert_eq!(
            ticker.try_recv(),
            Err(TryRecvError::Empty),
            "tick after stop()"
        );
        d.join().unwrap();
        h.inner.chan_point();
        assert_eq!(
            ticker.try_recv(),
            Err(TryRecvError::Empty),
            "stale tick later"
        );
    });
}

/// A ticker's reset racing the delivery of a tick of its old grid: once
/// reset returns, no tick from before it is received, then or later; the
/// ticker is armed once, on the new grid (its first point is the reset's
/// clock reading plus the new period), and that point is the next tick.
#[test]
fn loom_ticker_reset_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let ticker = h.ticker(Duration::from_nanos(1));
        let d = spawn_driver(&h);
        let period = Duration::from_secs(3600);
        let (_, before) = h.inner.clock.now();
        ticker.reset(period);
        let (_, after) = h.inner.clock.now();
        assert_eq!(
            ticker.try_recv(),
            Err(TryRecvError::Empty),
            "a tick of the old grid after reset()"
        );
        d.join().unwrap();
        assert_eq!(
            ticker.try_recv(),
            Err(TryRecvError::Empty),
            "a stale tick later"
        );
        assert_eq!(h.stats().pending, 1);
        let first = h.inner.state.lock().wheel.next_deadline();
        let p = 3_600_000_000_000;
        assert!(
            first.is_some_and(|t| (before + p..=after + p).contains(&t)),
            "armed at {first:?}, not on the new grid ({before} + {p} ..= {after} + {p})"
        );
        let first = first.unwrap();
        h.step_at(first);
        assert_eq!(
            ticker.try_recv(),
            Ok(h.inner.clock.instant_of(first)),
            "the new grid's first tick"
        );
        assert_eq!(ticker.try_recv(), Err(TryRecvError::Empty), "ticked twice");
    });
}

/// A ticker's stop racing its reset to a new grid whose first tick the
/// driver delivers meanwhile (found by review 4): if the ticker is left
/// running (the stop came first), that tick of the new grid is received,
/// never withdrawn by the stop. It was withdrawn, and not counted in
/// `dropped()`, when the stop drained the channel after releasing W.
#[test]
fn loom_ticker_stop_vs_reset_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let ticker = Arc::new(h.ticker(Duration::from_secs(3600)));
        let other = {
            let ticker = ticker.clone();
            thread::spawn(move || ticker.stop())
        };
        let d = spawn_driver(&h);
        // The new grid's first point (40 s) is due in the driver's pass
        // (60 s), its second is not.
        ticker.reset(Duration::from_secs(40));
        other.join().unwrap();
        d.join().unwrap();
        let running = h.stats().pending == 1;
        let fired = h.stats().fired;
        let received = u64::from(ticker.try_recv().is_ok());
        assert!(
            !running || received + ticker.dropped() == fired,
            "running, {fired} tick(s) of the new grid delivered, {received} received, {} dropped",
            ticker.dropped()
        );
    });
}

/// Two `Ticker::stop`s racing each other and the driver's delivery of a
/// tick to a full channel. A first pass leaves the tick of the first grid
/// point unread; the racing pass finds the second grid point due (and not
/// the third). Asserted: no deadlock; once either stop returns, no tick from
/// before it is received, by its own thread then or by anyone later; nothing
/// is armed. `dropped()` is consistent: a tick the pass collected met the
/// unread one (a stop drains only once the pass's sends are over, ground
/// rule 2), so it is counted dropped, once: `dropped()` equals
/// `Stats::dropped_ticks` and the pass's lateness samples (one per tick it
/// collected, sent or not), and `fired` does not move.
#[test]
fn loom_ticker_two_stops_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        // Grid points at 40, 80, 120 s (plus the few ns to creation).
        let ticker = Arc::new(h.ticker(Duration::from_secs(40)));
        h.step_at(60 * 1_000_000_000);
        let before = h.stats();
        assert_eq!((before.fired, before.lateness.samples), (1, 1));
        let d = {
            let h = h.clone();
            thread::spawn(move || h.step_at(100 * 1_000_000_000))
        };
        let other = {
            let ticker = ticker.clone();
            thread::spawn(move || {
                ticker.stop();
                ticker.try_recv()
            })
        };
        ticker.stop();
        let mine = ticker.try_recv();
        let theirs = other.join().unwrap();
        d.join().unwrap();
        assert_eq!(mine, Err(TryRecvError::Empty), "a tick after stop()");
        assert_eq!(theirs, Err(TryRecvError::Empty), "a tick after stop()");
        assert_eq!(
            ticker.try_recv(),
            Err(TryRecvError::Empty),
            "a stale tick later"
        );
        let after = h.stats();
        assert_eq!(after.pending, 0, "armed after two stops");
        let collected = (after.lateness.samples - before.lateness.samples) as u64;
        assert!(collected <= 1, "{collected} ticks collected in one pass");
        assert_eq!(
            after.fired, before.fired,
            "a tick of the pass was sent: the channel was drained before the pass's sends were over"
        );
        assert_eq!(
            (ticker.dropped(), after.dropped_ticks),
            (collected, collected),
            "dropped() and Stats::dropped_ticks against {collected} tick(s) collected"
        );
    });
}

/// Dropping a ticker racing its delivery: when drop returns the entry is
/// gone, and a receiver clone sees Disconnected at once and after the
/// driver's pass, never a tick of the dropped ticker.
#[test]
fn loom_ticker_drop_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let ticker = h.ticker(Duration::from_nanos(1));
        let rx = ticker.receiver().clone();
        let d = spawn_driver(&h);
        drop(ticker);
        assert_eq!(h.stats().pending, 0);
        assert_eq!(h.stats().tickers, 0);
        h.inner.chan_point();
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Disconnected),
            "a tick of a dropped ticker, or its sender outlived drop()"
        );
        d.join().unwrap();
        h.inner.chan_point();
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Disconnected),
            "a tick of a dropped ticker after the driver's pass"
        );
    });
}

/// The callback thread's work, in queue order, for a model with a shutdown:
/// a `Run` job queued after the shutdown's `Stop` would run after
/// `Driver::stop` returned (or, the thread gone, panic the driver).
fn run_queued_until_stop(h: &Handle, jobs: &Receiver<Job>, stop_seen: &mut bool) {
    while let Ok(job) = jobs.try_recv() {
        match job {
            Job::Run { key, f } => {
                assert!(!*stop_seen, "a callback queued after Stop");
                run_one(&h.inner, key, f);
            }
            Job::Stop => *stop_seen = true,
            Job::Notify(_) => unreachable!("no site threshold in the model"),
        }
    }
}

/// The rest of a shutdown in `Driver::stop`'s order for a manual clock,
/// after `shut_down`: wait for deliveries in flight, send `Stop` to the
/// callback thread, join the driver's loom thread `d` (its pass, then the
/// jobs queued by then) and do the jobs queued after it. Asserts that the
/// callback thread met `Stop`; returns what `d` returned beside its job
/// queue and whether it had met `Stop`.
fn finish_stop<R>(h: &Handle, d: thread::JoinHandle<(Receiver<Job>, bool, R)>) -> R {
    h.inner.wait_for_delivery();
    h.inner.chan_point();
    h.inner.jobs.stop();
    let (jobs, mut stop_seen, rest) = d.join().unwrap();
    run_queued_until_stop(h, &jobs, &mut stop_seen);
    assert!(stop_seen);
    rest
}

/// A detached callback racing its delivery, its run and a shutdown in
/// `Driver::stop`'s order for a manual clock (mark shut down, wait for
/// deliveries in flight, `Stop` to the callback thread, join it); the
/// handle is detached while the driver may be collecting or running it.
/// The closure owns a timer of the same driver, so dropping it under `W`
/// (ground rule 4) is a deadlock loom reports, as is any other. Asserted:
/// no `Run` job is queued after `Stop` (so a closure that runs has finished
/// when shutdown's join of the callback thread returns); when shutdown
/// returns, the closure has run or was dropped unrun (either way the timer
/// it owned is gone), its entry is gone, and no live callback is counted.
/// The driver and the callback thread are one loom thread (`step`, then
/// the queued jobs), as in the models above: a loom thread cannot block on
/// the crossbeam job queue, and one that polls it hides deadlocks from loom
/// (they show as loom's branch limit instead).
#[test]
fn loom_detached_callback_vs_shutdown() {
    loom::model(|| {
        let (h, jobs) = Handle::without_threads();
        let owned = h.timer(Duration::MAX);
        let cb = h.after_func(Duration::ZERO, move || drop(owned));
        let d = {
            let h = h.clone();
            thread::spawn(move || {
                fire_all(&h);
                let mut stop_seen = false;
                run_queued_until_stop(&h, &jobs, &mut stop_seen);
                (jobs, stop_seen, ())
            })
        };
        cb.detach();
        assert!(h.inner.shut_down());
        finish_stop(&h, d);
        let stats = h.stats();
        assert_eq!(stats.timers, 0, "the closure was neither run nor dropped");
        assert_eq!(stats.callbacks, 0, "a detached callback counted as live");
        let left = h.inner.state.lock().wheel.values().count();
        assert_eq!(left, 0, "the callback's entry outlived shutdown");
    });
}

/// A timer's stop() racing shutdown and the timer's delivery: no deadlock;
/// once shutdown (and its wait for deliveries in flight) returns, the
/// receiver never reports Empty: at most one value, then Disconnected. If
/// the driver sent the value, exactly one of "stop() returned true" and
/// "the value was received" holds; if it did not, nothing is received.
#[test]
fn loom_stop_vs_shutdown_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let timer = Arc::new(h.timer(Duration::ZERO));
        let d = spawn_driver(&h);
        let s = {
            let timer = timer.clone();
            thread::spawn(move || timer.stop())
        };
        assert!(h.inner.shut_down());
        h.inner.wait_for_delivery();
        let first = timer.try_recv();
        let stopped = s.join().unwrap();
        d.join().unwrap();
        assert_ne!(
            first,
            Err(TryRecvError::Empty),
            "a receiver still connected after shutdown"
        );
        assert_eq!(
            timer.try_recv(),
            Err(TryRecvError::Disconnected),
            "a second value, or a receiver still connected"
        );
        let sent = h.stats().fired;
        assert!(sent <= 1, "sent {sent} values");
        if sent == 1 {
            assert_eq!(
                stopped,
                first.is_err(),
                "stop() = {stopped}, received = {}",
                first.is_ok()
            );
        } else {
            assert!(first.is_err(), "received a value never sent");
        }
        assert_eq!(h.stats().pending, 0);
    });
}

/// A timer's reset() racing shutdown and the delivery of its first arming
/// (the reset re-arms it one second on, so the two armings' values differ):
/// no deadlock; once shutdown (and its wait for deliveries in flight)
/// returns, the receiver never reports Empty again: at most one value, then
/// Disconnected. reset() returns what it prevented: once it returns, the
/// first arming's value is never received; if that value was received (by
/// the receiver, before reset() drained the channel), reset() returned
/// false; if the second arming fired, or a value was sent that nobody but
/// reset() received, it returned true. After shutdown nothing is armed (a
/// reset that comes later does not re-arm) and the timer keeps its one
/// entry until dropped.
#[test]
fn loom_reset_vs_shutdown_vs_fire() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let timer = Arc::new(h.timer(Duration::ZERO));
        let first_deadline = h.inner.state.lock().wheel.next_deadline();
        let old = h.inner.clock.instant_of(first_deadline.unwrap());
        let d = spawn_driver(&h);
        let r = {
            let timer = timer.clone();
            thread::spawn(move || {
                let prevented = timer.reset(Duration::from_secs(1));
                (prevented, timer.try_recv())
            })
        };
        assert!(h.inner.shut_down());
        h.inner.wait_for_delivery();
        let first = timer.try_recv();
        let (prevented, after_reset) = r.join().unwrap();
        d.join().unwrap();
        assert_ne!(
            first,
            Err(TryRecvError::Empty),
            "a receiver still connected after shutdown"
        );
        assert_eq!(
            timer.try_recv(),
            Err(TryRecvError::Disconnected),
            "a second value, or a receiver still connected"
        );
        assert_ne!(
            after_reset,
            Ok(old),
            "the first arming's value after reset()"
        );
        let sent = h.stats().fired;
        assert!(sent <= 1, "sent {sent} values");
        let received = [first, after_reset].into_iter().filter_map(Result::ok);
        let received: Vec<_> = received.collect();
        assert!(
            received.len() as u64 <= sent,
            "received {received:?}, sent {sent}"
        );
        if received.contains(&old) {
            assert!(
                !prevented,
                "reset() = true, yet the first value was received"
            );
        } else if received.is_empty() && sent == 1 {
            assert!(
                prevented,
                "a value was sent and nobody received it but reset()"
            );
        }
        if received.iter().any(|&v| v != old) {
            assert!(
                prevented,
                "the second arming fired: reset() disarmed the first"
            );
        }
        assert_eq!(h.stats().pending, 0, "armed after shutdown");
        assert_eq!(h.stats().timers, 1);
        assert_eq!(h.inner.state.lock().wheel.values().count(), 1);
        drop(timer);
        assert_eq!(h.inner.state.lock().wheel.values().count(), 0);
        assert_eq!(h.stats().timers, 0);
    });
}

/// Dropping a handle racing shutdown and the handle's delivery, for
/// `loom_drop_vs_shutdown_vs_fire` and `loom_ticker_drop_vs_shutdown_vs_fire`:
/// `make` makes the handle and a clone of its receiver, `live` reads its
/// kind's live count.
fn drop_vs_shutdown_vs_fire<T: Send + 'static>(
    make: fn(&Handle) -> (T, Receiver<Instant>),
    live: fn(&Stats) -> usize,
) {
    loom::model(move || {
        let (h, _jobs) = Handle::without_threads();
        let (handle, rx) = make(&h);
        let began = Arc::new(AtomicBool::new(false));
        let d = spawn_driver(&h);
        let dropper = {
            let (h, rx, began) = (h.clone(), rx.clone(), began.clone());
            thread::spawn(move || {
                began.store(true, SeqCst);
                drop(handle);
                h.inner.chan_point();
                rx.try_recv()
            })
        };
        assert!(h.inner.shut_down());
        h.inner.wait_for_delivery();
        h.inner.chan_point();
        let after_shutdown = rx.try_recv();
        let drop_began = began.load(SeqCst);
        let after_drop = dropper.join().unwrap();
        d.join().unwrap();
        assert_eq!(
            after_drop,
            Err(TryRecvError::Disconnected),
            "a value of a dropped handle, or its sender outlived drop()"
        );
        assert!(
            after_shutdown != Err(TryRecvError::Empty) || drop_began,
            "a receiver still connected after shutdown"
        );
        h.inner.chan_point();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        let stats = h.stats();
        assert_eq!((stats.pending, live(&stats)), (0, 0));
        assert_eq!(h.inner.state.lock().wheel.values().count(), 0);
    });
}

/// Dropping a timer racing shutdown and the timer's delivery: no deadlock,
/// no panic; when drop returns, a receiver clone reports Disconnected at
/// once (never a value of the dropped timer, and not Empty: a sender that
/// the shutdown took out of the entry is dropped by then); once shutdown
/// (and its wait for deliveries in flight) returns, the clone never reports
/// Empty unless the drop had begun (a timer being dropped may have left the
/// wheel before the shutdown, with its sender still in its drop's hands,
/// which disconnects it); once both return, the entry is gone and nothing
/// is armed or counted live.
#[test]
fn loom_drop_vs_shutdown_vs_fire() {
    drop_vs_shutdown_vs_fire(timer_with_clone, |s| s.timers);
}

/// Dropping a ticker racing shutdown and its delivery: as for a timer
/// (`loom_drop_vs_shutdown_vs_fire`): no deadlock, no panic; a receiver
/// clone reports Disconnected once drop returns, is never Empty once
/// shutdown returns unless the drop had begun, and once both return the
/// entry is gone and nothing is armed (a ticker re-arms itself when it
/// fires) or counted live.
#[test]
fn loom_ticker_drop_vs_shutdown_vs_fire() {
    drop_vs_shutdown_vs_fire(ticker_with_clone, |s| s.tickers);
}

/// A callback's stop() racing a shutdown in `Driver::stop`'s order for a
/// manual clock (as in `loom_detached_callback_vs_shutdown`), the driver's
/// pass and the callback thread's run. The closure owns a timer of the same
/// driver, so dropping it under `W` (ground rule 4) is a deadlock loom
/// reports, as is any other. Asserted: the closure runs at most once; if
/// stop() returned true it never runs; if stop() returned false before
/// shutdown began, it runs (after shutdown began, stop() returns false for
/// a closure that shutdown drops unrun: the state table); when shutdown
/// returns, the closure has run or been dropped unless a stop() that
/// returns true holds it; once both return, it has. The entry stays with
/// the handle and goes with it.
#[test]
fn loom_callback_stop_vs_shutdown_vs_run() {
    loom::model(|| {
        let (h, jobs) = Handle::without_threads();
        let ran = Arc::new(AtomicUsize::new(0));
        let owned = h.timer(Duration::MAX);
        let cb = {
            let ran = ran.clone();
            Arc::new(h.after_func(Duration::ZERO, move || {
                ran.fetch_add(1, SeqCst);
                drop(owned);
            }))
        };
        let d = {
            let h = h.clone();
            thread::spawn(move || {
                fire_all(&h);
                let mut stop_seen = false;
                run_queued_until_stop(&h, &jobs, &mut stop_seen);
                (jobs, stop_seen, ())
            })
        };
        let s = {
            let (h, cb) = (h.clone(), cb.clone());
            thread::spawn(move || {
                let stopped = cb.stop();
                (stopped, h.inner.state.lock().shutdown)
            })
        };
        assert!(h.inner.shut_down());
        finish_stop(&h, d);
        let gone_at_shutdown = h.stats().timers == 0;
        let (stopped, shut_down_after_stop) = s.join().unwrap();
        let ran = ran.load(SeqCst);
        assert!(ran <= 1, "ran {ran} times");
        if stopped {
            assert_eq!(ran, 0, "stop() returned true, yet the closure ran");
        } else if !shut_down_after_stop {
            assert_eq!(ran, 1, "stop() = false before shutdown, yet it never ran");
        }
        assert!(
            gone_at_shutdown || stopped,
            "shutdown returned with the closure neither run nor dropped"
        );
        assert_eq!(
            h.stats().timers,
            0,
            "the closure was neither run nor dropped"
        );
        assert_eq!(h.stats().callbacks, 1);
        assert_eq!(h.inner.state.lock().wheel.values().count(), 1);
        drop(cb);
        assert_eq!(h.stats().callbacks, 0);
        let left = h.inner.state.lock().wheel.values().count();
        assert_eq!(left, 0, "the callback's entry outlived its handle");
    });
}

/// A flag an assertion reads to learn where loom put a step of another
/// thread. A `std` atomic, not a loom one: it adds no interleavings of its
/// own (loom runs one thread at a time and switches only at its own
/// operations, so a flag set after a step is set before any other thread's
/// next step, and reads the order of the execution being explored), which
/// keeps the models with several of them to seconds.
#[derive(Clone, Default)]
struct Mark(Arc<std::sync::atomic::AtomicBool>);

impl Mark {
    fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Sets its mark when dropped: captured by a closure, it tells when the
/// closure was run or dropped unrun, without a loom operation.
struct SetOnDrop(Mark);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// A ticker's `stop` or `reset` racing shutdown and the delivery of the
/// first tick of its old grid, for `loom_ticker_stop_vs_shutdown_vs_fire`
/// and `loom_ticker_reset_vs_shutdown_vs_fire`: `op` is the call, made on
/// a thread of its own, and `period` the ticker's period once it returned.
/// The old grid's first tick is the only value of the old grid a single
/// pass can deliver; any other value is a tick of the grid `op` started.
fn ticker_op_vs_shutdown_vs_fire(op: fn(&Ticker), period: Duration) {
    loom::model(move || {
        let (h, _jobs) = Handle::without_threads();
        let ticker = Arc::new(h.ticker(Duration::from_nanos(1)));
        let first_deadline = h.inner.state.lock().wheel.next_deadline();
        let old = h.inner.clock.instant_of(first_deadline.unwrap());
        let op_returned = Mark::default();
        let d = spawn_driver(&h);
        let o = {
            let (ticker, op_returned) = (ticker.clone(), op_returned.clone());
            thread::spawn(move || {
                op(&ticker);
                op_returned.set();
                ticker.try_recv()
            })
        };
        assert!(h.inner.shut_down());
        h.inner.wait_for_delivery();
        // Read in the same loom step as the receive (the channel point is
        // the step's start): if `op` had returned, the receive comes after.
        h.inner.chan_point();
        let op_had_returned = op_returned.is_set();
        let first = ticker.receiver().try_recv();
        let after_op = o.join().unwrap();
        d.join().unwrap();
        assert_ne!(
            first,
            Err(TryRecvError::Empty),
            "a receiver still connected after shutdown"
        );
        assert_ne!(
            after_op,
            Ok(old),
            "a tick of the old grid once the call returned"
        );
        if op_had_returned {
            assert_ne!(
                first,
                Ok(old),
                "a tick of the old grid after the call returned"
            );
        }
        assert_eq!(
            ticker.try_recv(),
            Err(TryRecvError::Disconnected),
            "a second tick, or a receiver still connected"
        );
        let sent = h.stats().fired;
        assert!(sent <= 1, "sent {sent} ticks");
        let received = [first, after_op].into_iter().filter(Result::is_ok).count();
        assert!(received as u64 <= sent, "received {received}, sent {sent}");
        assert_eq!(ticker.period(), period);
        kept_until_dropped(&h, ticker, |s| s.tickers);
    });
}

/// `Ticker::stop()` racing shutdown and a tick's delivery: no deadlock;
/// once stop() returns, no tick from before it is received (by the thread
/// that stopped it, or by one that receives after that); once shutdown (and
/// its wait for deliveries in flight) returns, the receiver never reports
/// Empty: at most one tick, then Disconnected; nothing is armed after
/// shutdown, and the ticker keeps its one entry until dropped.
#[test]
fn loom_ticker_stop_vs_shutdown_vs_fire() {
    ticker_op_vs_shutdown_vs_fire(Ticker::stop, Duration::from_nanos(1));
}

/// `Ticker::reset()` racing shutdown and the delivery of a tick of the old
/// grid. The new period (one second) is due in the driver's pass, so a
/// reset before the pass has its new grid tick in it: no deadlock; once
/// reset() returns, no tick of the old grid is received; once shutdown
/// returns, the receiver never reports Empty (at most one tick, of either
/// grid, then Disconnected); a reset after shutdown does not re-arm (but
/// still sets the period), so nothing is armed once both return.
#[test]
fn loom_ticker_reset_vs_shutdown_vs_fire() {
    ticker_op_vs_shutdown_vs_fire(|t| t.reset(Duration::from_secs(1)), Duration::from_secs(1));
}

/// Dropping a callback handle (not detached) racing a shutdown in
/// `Driver::stop`'s order (as in `loom_detached_callback_vs_shutdown`), the
/// driver's pass and the callback thread's run. The closure owns a timer of
/// the same driver, so dropping it under `W` (ground rule 4) is a deadlock
/// loom reports, as is any other. Asserted: the closure runs at most once;
/// it never runs if the drop had returned before the callback thread's run
/// step (dropping the handle stops the callback); it runs if neither the
/// drop nor the shutdown had begun when that step was over; when shutdown
/// returns, the closure has run or been dropped unless the drop holds it;
/// once both return, the entry is gone (removed exactly once, by the drop
/// or by the callback thread), and nothing is armed or counted live.
#[test]
fn loom_callback_drop_vs_shutdown_vs_run() {
    loom::model(|| {
        let (h, jobs) = Handle::without_threads();
        let ran = Arc::new(AtomicUsize::new(0));
        let owned = h.timer(Duration::MAX);
        let cb = {
            let ran = ran.clone();
            h.after_func(Duration::ZERO, move || {
                ran.fetch_add(1, SeqCst);
                drop(owned);
            })
        };
        let (drop_began, drop_returned) = (Mark::default(), Mark::default());
        let d = {
            let h = h.clone();
            let (drop_began, drop_returned) = (drop_began.clone(), drop_returned.clone());
            thread::spawn(move || {
                fire_all(&h);
                // Before the run step decides (under W) whether to run it.
                let dropped_before_run = drop_returned.is_set();
                let mut stop_seen = false;
                run_queued_until_stop(&h, &jobs, &mut stop_seen);
                // After that decision: if neither the drop nor the shutdown
                // had begun by now, neither had when it was made.
                let untouched = !drop_began.is_set() && !h.inner.state.lock().shutdown;
                (jobs, stop_seen, (dropped_before_run, untouched))
            })
        };
        let dropper = {
            let (drop_began, drop_returned) = (drop_began.clone(), drop_returned.clone());
            thread::spawn(move || {
                drop_began.set();
                drop(cb);
                drop_returned.set();
            })
        };
        assert!(h.inner.shut_down());
        let (dropped_before_run, untouched) = finish_stop(&h, d);
        let gone_at_shutdown = h.stats().timers == 0;
        let drop_had_begun = drop_began.is_set();
        dropper.join().unwrap();
        let ran = ran.load(SeqCst);
        assert!(ran <= 1, "ran {ran} times");
        if dropped_before_run {
            assert_eq!(ran, 0, "the closure ran after its handle's drop returned");
        }
        if untouched {
            assert_eq!(ran, 1, "neither dropped nor shut down, yet it never ran");
        }
        assert!(
            gone_at_shutdown || drop_had_begun,
            "shutdown returned with the closure neither run nor dropped"
        );
        let stats = h.stats();
        assert_eq!(stats.timers, 0, "the closure was neither run nor dropped");
        assert_eq!((stats.pending, stats.callbacks), (0, 0));
        assert_eq!(stats.callback_panics, 0);
        let left = h.inner.state.lock().wheel.values().count();
        assert_eq!(left, 0, "the callback's entry outlived its handle");
    });
}

/// Making a handle from a `Handle` racing shutdown and the driver's pass,
/// for `loom_make_timer_vs_shutdown_vs_fire` and
/// `loom_make_ticker_vs_shutdown_vs_fire`: `make` makes the handle (due in
/// the pass) and a clone of its receiver, `live` reads its kind's live
/// count.
fn make_vs_shutdown_vs_fire<T: Send + 'static>(
    make: fn(&Handle) -> (T, Receiver<Instant>),
    live: fn(&Stats) -> usize,
) {
    loom::model(move || {
        let (h, _jobs) = Handle::without_threads();
        let shut_down = Mark::default();
        let d = spawn_driver(&h);
        let maker = {
            let (h, shut_down) = (h.clone(), shut_down.clone());
            thread::spawn(move || {
                let born_after = shut_down.is_set();
                let (handle, rx) = make(&h);
                h.inner.chan_point();
                let at_once = rx.try_recv();
                (handle, rx, born_after, at_once)
            })
        };
        assert!(h.inner.shut_down());
        shut_down.set();
        h.inner.wait_for_delivery();
        let (handle, rx, born_after, at_once) = maker.join().unwrap();
        d.join().unwrap();
        if born_after {
            assert_eq!(
                at_once,
                Err(TryRecvError::Disconnected),
                "a handle made after shutdown is not born disconnected"
            );
        }
        h.inner.chan_point();
        let first = rx.try_recv();
        assert!(
            at_once.is_ok() || first != Err(TryRecvError::Empty),
            "a handle neither disconnected by the shutdown nor born disconnected"
        );
        h.inner.chan_point();
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Disconnected),
            "a second value, or a receiver still connected"
        );
        let stats = h.stats();
        let received = [at_once, first].into_iter().filter(Result::is_ok).count();
        assert!(
            received as u64 <= stats.fired && stats.fired <= 1,
            "received {received}, sent {}",
            stats.fired
        );
        kept_until_dropped(&h, handle, live);
    });
}

/// The end of a model in which a handle raced a shutdown, once all have
/// returned: nothing is armed, and the handle is counted live (by `live`)
/// with its one entry until it is dropped, then neither.
fn kept_until_dropped<T>(h: &Handle, handle: T, live: fn(&Stats) -> usize) {
    let stats = h.stats();
    assert_eq!(
        (stats.pending, live(&stats)),
        (0, 1),
        "armed after shutdown"
    );
    let left = h.inner.state.lock().wheel.values().count();
    assert_eq!(left, 1, "the entry went before its handle");
    drop(handle);
    let stats = h.stats();
    assert_eq!((stats.pending, live(&stats)), (0, 0));
    assert_eq!(h.inner.state.lock().wheel.values().count(), 0);
}

/// A timer due at once and a clone of its receiver, for the models generic
/// over the handle.
fn timer_with_clone(h: &Handle) -> (Timer, Receiver<Instant>) {
    let timer = h.timer(Duration::ZERO);
    let rx = timer.receiver().clone();
    (timer, rx)
}

/// A 1 ns ticker and a clone of its receiver, for the models generic over
/// the handle.
fn ticker_with_clone(h: &Handle) -> (Ticker, Receiver<Instant>) {
    let ticker = h.ticker(Duration::from_nanos(1));
    let rx = ticker.receiver().clone();
    (ticker, rx)
}

/// Making a timer racing shutdown and the driver's pass (the timer is due
/// in it): no deadlock; the timer is either filed before the shutdown
/// (and may fire in the pass) and then disconnected by it, or born
/// disconnected (its receiver reports Disconnected as soon as the timer is
/// made, as it must if `shut_down` had returned before it was made); never
/// in between: once both return the receiver never reports Empty (at most
/// one value, then Disconnected), nothing is armed, and the timer is
/// counted live with its one entry until dropped, then neither.
#[test]
fn loom_make_timer_vs_shutdown_vs_fire() {
    make_vs_shutdown_vs_fire(timer_with_clone, |s| s.timers);
}

/// Making a ticker racing shutdown and the driver's pass: as for a timer
/// (`loom_make_timer_vs_shutdown_vs_fire`); a ticker filed before the pass
/// re-arms itself when it ticks, and the shutdown disarms it.
#[test]
fn loom_make_ticker_vs_shutdown_vs_fire() {
    make_vs_shutdown_vs_fire(ticker_with_clone, |s| s.tickers);
}

/// Making a callback racing a shutdown in `Driver::stop`'s order, the
/// driver's pass (the callback is due in it) and the callback thread's run.
/// The closure owns a timer of the same driver, so dropping it under `W`
/// (ground rule 4; a callback born after shutdown drops its closure at
/// once) is a deadlock loom reports, as is any other. Asserted: the
/// closure runs at most once, and never if `shut_down` had returned before
/// the callback was made: then it was born disconnected, its closure
/// dropped before `after_func` returned; it runs if it was made before the
/// pass and the shutdown had not begun when the run step was over; once
/// all return, it has run or been dropped (never kept in an entry nobody
/// will fire), nothing is armed, `stop()` prevents nothing (the shutdown
/// did, or the run), and the callback keeps its one entry until dropped.
#[test]
fn loom_make_callback_vs_shutdown_vs_run() {
    loom::model(|| {
        let (h, jobs) = Handle::without_threads();
        let ran = Arc::new(AtomicUsize::new(0));
        let owned = h.timer(Duration::MAX);
        let (made, shut_down, gone) = (Mark::default(), Mark::default(), Mark::default());
        let maker = {
            let (h, ran, made, shut_down) =
                (h.clone(), ran.clone(), made.clone(), shut_down.clone());
            let (gone_seen, gone) = (gone.clone(), SetOnDrop(gone.clone()));
            thread::spawn(move || {
                let born_after = shut_down.is_set();
                let cb = h.after_func(Duration::ZERO, move || {
                    ran.fetch_add(1, SeqCst);
                    drop((owned, gone));
                });
                made.set();
                (cb, born_after, gone_seen.is_set())
            })
        };
        let d = {
            let (h, made) = (h.clone(), made.clone());
            thread::spawn(move || {
                let made_before_pass = made.is_set();
                fire_all(&h);
                let mut stop_seen = false;
                run_queued_until_stop(&h, &jobs, &mut stop_seen);
                // After the run step's decision: if the shutdown had not
                // begun by now, it had not then.
                let untouched = made_before_pass && !h.inner.state.lock().shutdown;
                (jobs, stop_seen, untouched)
            })
        };
        assert!(h.inner.shut_down());
        shut_down.set();
        let untouched = finish_stop(&h, d);
        let (cb, born_after, dropped_at_once) = maker.join().unwrap();
        let ran = ran.load(SeqCst);
        assert!(ran <= 1, "ran {ran} times");
        if born_after {
            assert_eq!(ran, 0, "a callback made after shutdown ran");
            assert!(
                dropped_at_once,
                "a callback made after shutdown kept its closure"
            );
        }
        if untouched {
            assert_eq!(
                ran, 1,
                "made before the pass and not shut down, yet it never ran"
            );
        }
        assert!(gone.is_set(), "the closure was neither run nor dropped");
        let stats = h.stats();
        assert_eq!(stats.timers, 0, "the closure's timer outlived it");
        assert_eq!(
            (stats.pending, stats.callbacks),
            (0, 1),
            "armed after shutdown"
        );
        let left = h.inner.state.lock().wheel.values().count();
        assert_eq!(left, 1, "the callback's entry went before its handle");
        assert!(!cb.stop(), "stop() after shutdown prevented something");
        drop(cb);
        assert_eq!(h.stats().callbacks, 0);
        let left = h.inner.state.lock().wheel.values().count();
        assert_eq!(left, 0, "the callback's entry outlived its handle");
    });
}

/// Shutdown racing a 1 ns ticker that the driver delivers over two passes
/// ([`fire_all`]'s, then one a minute later: each finds it billions of grid
/// points late, sends the earliest and counts the others dropped) while a
/// receiver clone takes a tick on a thread of its own, so the second pass
/// may find the channel empty or still full. No deadlock; once shutdown
/// (and its wait for deliveries in flight) returns, no tick is delivered
/// (`fired` no longer moves) and the receiver never reports Empty: at most
/// the one tick waiting, then every clone reports Disconnected. The ticks
/// received are the two passes' first grid points, each at most once, and
/// no more than were sent. `dropped()` (which `Stats::dropped_ticks`
/// matches) accounts for every other grid point up to the last pass that
/// collected the ticker: each was sent or counted dropped (skipped by a
/// late pass, or lost to a full channel), never both, never neither.
/// Nothing is armed after shutdown; the entry stays until the ticker is
/// dropped.
#[test]
fn loom_ticker_two_passes_vs_shutdown() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let (ticker, rx) = ticker_with_clone(&h);
        // The passes' times (`fire_all`'s, then a minute later); the first
        // grid point and the first after the first pass: the two ticks the
        // passes can send.
        let (t1, t2) = (60 * 1_000_000_000, 120 * 1_000_000_000);
        let first = h.inner.state.lock().wheel.next_deadline().unwrap();
        let ticks = [first, t1 + 1].map(|t| h.inner.clock.instant_of(t));
        let d = {
            let h = h.clone();
            thread::spawn(move || {
                fire_all(&h);
                h.step_at(t2);
            })
        };
        let r = {
            let (h, rx) = (h.clone(), rx.clone());
            thread::spawn(move || {
                h.inner.chan_point();
                let taken = rx.try_recv();
                (rx, taken)
            })
        };
        assert!(h.inner.shut_down());
        h.inner.wait_for_delivery();
        let fired_at_shutdown = h.stats().fired;
        let after_shutdown = ticker.try_recv();
        let (r_rx, taken) = r.join().unwrap();
        d.join().unwrap();
        assert_ne!(
            after_shutdown,
            Err(TryRecvError::Empty),
            "a receiver still connected after shutdown"
        );
        h.inner.chan_point();
        for (clone, what) in [
            (ticker.receiver(), "own"),
            (&rx, "clone"),
            (&r_rx, "other thread's clone"),
        ] {
            assert_eq!(
                clone.try_recv(),
                Err(TryRecvError::Disconnected),
                "{what} receiver: a second tick, or still connected"
            );
        }
        let stats = h.stats();
        assert_eq!(
            stats.fired, fired_at_shutdown,
            "a tick delivered after shutdown returned"
        );
        let received: Vec<_> = [taken, after_shutdown]
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        assert!(
            received.iter().all(|t| ticks.contains(t)),
            "received {received:?}, not a pass's first grid point {ticks:?}"
        );
        assert!(
            received.len() < 2 || received[0] != received[1],
            "received {received:?}: a tick twice"
        );
        assert!(
            received.len() as u64 <= stats.fired && stats.fired <= 2,
            "received {received:?}, sent {}",
            stats.fired
        );
        let dropped = ticker.dropped();
        assert_eq!(stats.dropped_ticks, dropped, "dropped() and Stats disagree");
        // Grid points up to the last pass that collected the ticker: no
        // pass, the first, the second.
        let points = [0, t1 + 1 - first, t2 + 1 - first];
        assert!(
            points.contains(&(stats.fired + dropped)),
            "sent {} + dropped {dropped} is no pass's count of grid points {points:?}",
            stats.fired
        );
        kept_until_dropped(&h, ticker, |s| s.tickers);
    });
}

/// Making a timer on a driver that counts sites racing a shutdown in
/// `Driver::stop`'s order for a manual clock (mark shut down, wait for
/// deliveries in flight, `Stop` to the callback thread, join it). The
/// threshold is 0, so the timer crosses it and `insert_rare` hands a
/// notification to the callback thread, unless the timer is born after
/// shutdown. The callback thread is this thread once it has sent `Stop`,
/// running the production per-job code (`run_job`, which on `Stop` closes
/// the queue to notifications and drops those sent before that): a thread
/// that is slow to start, which is one order the real one may take.
/// Asserted: no deadlock; the notification runs at most once, and never
/// once the callback thread has finished `Stop` (where shutdown ends);
/// never for a timer made after `shut_down` returned; and it runs if the
/// timer was filed before the shutdown (its receiver was connected once
/// made) and made before `Stop` was sent. Otherwise it is dropped unrun:
/// once all return no job is left in the queue, and nothing holds the
/// notification's function but the driver. The site's count and the live count are 1
/// while the timer lives (a timer born after shutdown is counted too, as
/// `live_sites` lists it), and both go back to 0 when it is dropped.
#[test]
fn loom_make_with_site_threshold_vs_shutdown() {
    loom::model(|| {
        let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (shut_down, made, finished, late) = <(Mark, Mark, Mark, Mark)>::default();
        let f: SiteFn = {
            let (ran, finished, late) = (ran.clone(), finished.clone(), late.clone());
            Arc::new(move |site: &Site| {
                // A panic here is caught and counted: asserted below.
                assert_eq!((site.kind, site.count), (Kind::Timer, 1));
                ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if finished.is_set() {
                    late.set();
                }
            })
        };
        let (h, jobs) = Handle::without_threads_counting_sites(0, f.clone());
        let maker = {
            let (h, shut_down, made) = (h.clone(), shut_down.clone(), made.clone());
            thread::spawn(move || {
                let born_after = shut_down.is_set();
                let timer = h.timer(Duration::from_secs(3600));
                let filed_before = timer.try_recv() == Err(TryRecvError::Empty);
                made.set();
                (timer, born_after, filed_before)
            })
        };
        assert!(h.inner.shut_down());
        shut_down.set();
        h.inner.wait_for_delivery();
        // Read in the same loom step as `Stop` is sent.
        h.inner.chan_point();
        let made_before_stop = made.is_set();
        h.inner.jobs.stop();
        while let Ok(job) = jobs.try_recv() {
            if !run_job(&h.inner, &jobs, job, 0) {
                break;
            }
        }
        finished.set();
        let (timer, born_after, filed_before) = maker.join().unwrap();
        let ran = ran.load(std::sync::atomic::Ordering::SeqCst);
        assert!(ran <= 1, "the notification ran {ran} times");
        assert!(!late.is_set(), "the notification ran after shutdown");
        if born_after {
            assert_eq!(ran, 0, "a timer made after shutdown notified");
        }
        if made_before_stop && filed_before {
            assert_eq!(ran, 1, "queued before Stop, yet it never ran");
        }
        assert!(jobs.try_recv().is_err(), "a job left in the queue");
        assert_eq!(
            Arc::strong_count(&f),
            2,
            "a notification neither run nor dropped"
        );
        assert_eq!(h.stats().callback_panics, 0, "a wrong site notified");
        let counted = || h.inner.state.lock().sites.as_ref().unwrap().counted();
        assert_eq!(counted(), 1, "the timer's site count");
        kept_until_dropped(&h, timer, |s| s.timers);
        assert_eq!(counted(), 0, "the site count outlived the timer");
    });
}

/// The callback thread for [`loom_advance_waits_for_its_callbacks`]: takes
/// `n` jobs off the queue and does each with the callback thread's own
/// per-job code (`run_job`, which ends with `Jobs::finished_one`). It polls
/// the queue (`try_recv` behind a channel point, `yield_now` while it is
/// empty) where the real thread blocks in `recv`: a loom thread cannot block
/// on the crossbeam queue.
fn callback_thread(h: &Handle, jobs: &Receiver<Job>, n: usize) {
    let clock = h.inner.clock.manual_id().expect("a manual clock");
    for _ in 0..n {
        let job = loop {
            h.inner.chan_point();
            match jobs.try_recv() {
                Ok(job) => break job,
                Err(_) => thread::yield_now(),
            }
        };
        assert!(run_job(&h.inner, jobs, job, clock), "a Stop job");
    }
}

/// A manual clock's `advance` against the callback thread: `advance`
/// returns only after the callbacks due in its step have finished. Two
/// callbacks are due in one step: the driver's delivery counts them
/// (`Jobs::push`, before it queues them), the callback thread counts each
/// off once it has run (`Jobs::finished_one`, which wakes `Jobs::wait_idle`
/// at zero), and `advance` waits in `wait_idle` after the step. The
/// advancing thread is this one, running the production `advance`; the
/// callback thread is a loom thread polling the queue (see
/// [`callback_thread`]). A lost wake-up leaves `advance` blocked in
/// `wait_idle` once the callback thread is done: loom reports that as a
/// deadlock. (If `advance` never queued the jobs, the polling thread would
/// show it as loom's branch limit instead.)
#[test]
fn loom_advance_waits_for_its_callbacks() {
    loom::model(|| {
        let clock = ManualClock::new();
        let (h, jobs) = Handle::without_threads_on(&clock);
        let ran = Arc::new(AtomicUsize::new(0));
        let callbacks: Vec<_> = (0..2)
            .map(|_| {
                let ran = ran.clone();
                h.after_func(Duration::ZERO, move || {
                    ran.fetch_add(1, SeqCst);
                })
            })
            .collect();
        let t = {
            let h = h.clone();
            thread::spawn(move || callback_thread(&h, &jobs, 2))
        };
        clock.advance(Duration::ZERO);
        assert_eq!(
            ran.load(SeqCst),
            2,
            "advance returned before the callbacks due in its step finished"
        );
        t.join().unwrap();
        drop(callbacks);
        assert_eq!(h.stats().callbacks, 0);
    });
}

/// Models of the cancel tree (`src/cancel.rs`): its tree lock `T`, node
/// locks `N` and `reason` atomic come from `crate::sync`, so loom explores
/// every order of their operations. Not modelled here: the nodes' `Arc` and
/// `Weak` counts (std atomics; loom switches threads only at its own
/// operations, so an upgrade or a last drop happens next to the loom step
/// that follows it: the models that drop a last handle take a lock just
/// before, a probe that lets loom put the drop on either side of the other
/// threads' steps on that lock) and the `done()` channel's internals (its
/// sender is dropped under `N`, so the channel is ordered by that loom
/// lock).
mod cancel_models {
    use super::{Mark, run_queued};
    use crate::driver::Handle;
    use crate::entry::Kind;
    use crate::wheel::NEVER;
    use crate::{CancelReason, CancelToken};
    use crossbeam_channel::TryRecvError;
    use loom::thread;
    use std::time::Duration;

    /// Far enough that no pass of a model reaches it, except the
    /// `step_at(NEVER - 1)` that a model uses to fire it.
    const HOUR: Duration = Duration::from_secs(3600);

    /// Wheel entries left on `h`, and its live count of token deadlines.
    fn token_entries(h: &Handle) -> (usize, usize) {
        let st = h.inner.state.lock();
        (st.wheel.values().count(), st.live[Kind::Token as usize])
    }

    /// Asserts that a subtree under `root` whose last handles are gone left
    /// nothing behind: its `nodes` are freed, `root` has no child
    /// registered, and no wheel entry or token deadline is left on `h`.
    fn assert_subtree_freed<T>(h: &Handle, root: &CancelToken, nodes: &[std::sync::Weak<T>]) {
        assert!(
            nodes.iter().all(|n| n.strong_count() == 0),
            "a node outlived its last handle"
        );
        assert_eq!(root.children(), 0, "the dropped parent is registered");
        assert_eq!(token_entries(h), (0, 0), "a deadline's entry leaked");
    }

    /// Asserts that `token` is cancelled with `reason` and its `done()`
    /// reports it (disconnected, never a value).
    fn assert_cancelled(token: &CancelToken, reason: CancelReason, what: &str) {
        assert_eq!(token.reason(), Some(reason), "{what}: reason");
        assert_eq!(
            token.done().try_recv(),
            Err(TryRecvError::Disconnected),
            "{what}: done() still connected"
        );
    }

    /// A parent's `cancel()` racing `child()`: once both return, the child
    /// is cancelled with the parent's reason and its `done()` is
    /// disconnected (Go: a child of a cancelled context is cancelled),
    /// whether it was registered before the propagation (which then
    /// reached it) or after (born cancelled).
    #[test]
    fn loom_cancel_vs_child() {
        loom::model(|| {
            let parent = CancelToken::new();
            let canceller = {
                let parent = parent.clone();
                thread::spawn(move || parent.cancel())
            };
            let child = parent.child();
            canceller.join().unwrap();
            assert_cancelled(&parent, CancelReason::Cancelled, "parent");
            assert_cancelled(&child, CancelReason::Cancelled, "child");
            assert_eq!(parent.children(), 1);
        });
    }

    /// A parent's `cancel()` racing the creation of a child with a deadline
    /// of its own (which arms a wheel entry after the child is registered):
    /// once both return, the child is cancelled and its wheel entry is gone
    /// (cancelling removes the descendants' entries; a child cancelled
    /// while its timer was being made drops that timer).
    #[test]
    fn loom_cancel_vs_child_with_deadline() {
        loom::model(|| {
            let (h, _jobs) = Handle::without_threads();
            // No deadline of its own, but made from `h`: children's deadlines
            // run there.
            let parent = h.cancel_token_with_timeout(Duration::MAX);
            let canceller = {
                let parent = parent.clone();
                thread::spawn(move || parent.cancel())
            };
            let child = parent.child_with_timeout(HOUR);
            canceller.join().unwrap();
            assert_cancelled(&child, CancelReason::Cancelled, "child");
            assert_eq!(token_entries(&h), (0, 0), "the child's deadline leaked");
        });
    }

    /// `cancel()` racing the token's own deadline firing (the driver's pass
    /// and the callback thread's run): the first reason wins and is never
    /// overwritten: each side, once its action returns, sees a reason, the
    /// two agree, and the token keeps it. The deadline's entry is gone
    /// either way.
    #[test]
    fn loom_cancel_vs_deadline() {
        loom::model(|| {
            let (h, jobs) = Handle::without_threads();
            let token = h.cancel_token_with_timeout(HOUR);
            let driver = {
                let (h, token) = (h.clone(), token.clone());
                thread::spawn(move || {
                    h.step_at(NEVER - 1);
                    run_queued(&h, &jobs);
                    token.reason()
                })
            };
            token.cancel();
            let seen_by_canceller = token.reason();
            let seen_by_driver = driver.join().unwrap();
            assert!(seen_by_canceller.is_some(), "not cancelled after cancel()");
            assert_eq!(
                seen_by_canceller, seen_by_driver,
                "the two sides saw different reasons"
            );
            assert_cancelled(&token, seen_by_canceller.unwrap(), "final");
            assert_eq!(token_entries(&h), (0, 0), "the deadline's entry leaked");
        });
    }

    /// Two `cancel()`s of one token racing: whichever returns second may
    /// have found the token already cancelled by a propagation still in
    /// progress, yet when each returns the whole subtree (here a child and
    /// a grandchild) is cancelled and its `done()` disconnected (`T` is
    /// held for a whole propagation).
    #[test]
    fn loom_two_cancels_of_one_tree() {
        loom::model(|| {
            let root = CancelToken::new();
            let child = root.child();
            let grandchild = child.child();
            let other = {
                let (root, child, grandchild) = (root.clone(), child.clone(), grandchild.clone());
                thread::spawn(move || {
                    root.cancel();
                    assert_cancelled(&child, CancelReason::Cancelled, "child, other thread");
                    assert_cancelled(&grandchild, CancelReason::Cancelled, "grandchild, other");
                })
            };
            root.cancel();
            assert_cancelled(&child, CancelReason::Cancelled, "child, this thread");
            assert_cancelled(&grandchild, CancelReason::Cancelled, "grandchild, this");
            other.join().unwrap();
        });
    }

    /// Overlapping cancellations: a child's `cancel()` racing its parent's
    /// deadline firing (so the two propagations carry different reasons).
    /// When either returns, the whole subtree it started from is cancelled
    /// (`T` is held for a whole propagation, so a propagation in progress
    /// through it is complete); the child and the grandchild agree on one
    /// reason (the first propagation to reach the child did both), which
    /// is the child's own `Cancelled` or the parent's `DeadlineExceeded`;
    /// the parent has `DeadlineExceeded`.
    #[test]
    fn loom_child_cancel_vs_parent_deadline() {
        loom::model(|| {
            let (h, jobs) = Handle::without_threads();
            let parent = h.cancel_token_with_timeout(HOUR);
            let child = parent.child();
            let grandchild = child.child();
            let driver = {
                let (h, parent, grandchild) = (h.clone(), parent.clone(), grandchild.clone());
                thread::spawn(move || {
                    h.step_at(NEVER - 1);
                    run_queued(&h, &jobs);
                    // The deadline ran (nothing else removes the parent's
                    // entry), and its propagation returned.
                    assert_eq!(parent.reason(), Some(CancelReason::DeadlineExceeded));
                    grandchild.reason()
                })
            };
            child.cancel();
            let child_reason = child.reason();
            let seen_by_canceller = grandchild.reason();
            let seen_by_driver = driver.join().unwrap();
            assert!(child_reason.is_some(), "child not cancelled by cancel()");
            assert_eq!(seen_by_canceller, child_reason, "grandchild after cancel()");
            assert_eq!(
                seen_by_driver, child_reason,
                "grandchild after the deadline"
            );
            assert_cancelled(&parent, CancelReason::DeadlineExceeded, "parent");
            assert_cancelled(&child, child_reason.unwrap(), "child");
            assert_cancelled(&grandchild, child_reason.unwrap(), "grandchild");
            assert_eq!(token_entries(&h), (0, 0), "the deadline's entry leaked");
        });
    }

    /// A child's last clone dropped while its parent is being cancelled
    /// (the propagation may hold the last strong reference and so run the
    /// child's `Drop`, which takes the parent's `N`, on its own thread):
    /// no deadlock (loom reports one), no panic, and once both return the
    /// parent is cancelled with no child registered, and the child's own
    /// deadline entry is gone.
    ///
    /// The `children()` call before the drop is a probe, not part of the
    /// promise: the nodes' `Arc` counts are std atomics, invisible to loom,
    /// so without a loom operation that conflicts with the propagation's
    /// `upgrade` (which runs under the parent's `N`), loom would place the
    /// drop at one point only. With it, the drop runs right after the probe
    /// releases the parent's `N`, which loom orders before or after the
    /// propagation's visit of the parent.
    #[test]
    fn loom_child_drop_vs_parent_cancel() {
        loom::model(|| {
            let (h, _jobs) = Handle::without_threads();
            let parent = h.cancel_token_with_timeout(Duration::MAX);
            let child = parent.child_with_timeout(HOUR);
            let canceller = {
                let parent = parent.clone();
                thread::spawn(move || parent.cancel())
            };
            assert_eq!(parent.children(), 1, "the child is registered");
            drop(child);
            canceller.join().unwrap();
            assert_cancelled(&parent, CancelReason::Cancelled, "parent");
            assert_eq!(parent.children(), 0, "the dropped child is registered");
            assert_eq!(token_entries(&h), (0, 0), "the child's deadline leaked");
        });
    }

    /// A parent's last handle dropped while its child cancels itself and
    /// then drops its own last handle on another thread: whichever of the
    /// two drops comes last drops the parent's node (the child's `Drop`
    /// unlinks each ancestor it was the last owner of; the parent's own
    /// `Drop` unlinks it otherwise). The tree hangs from a root the model
    /// keeps; the parent and the child each have a deadline of their own
    /// (the child's earlier, so each has a wheel entry), out of reach. No
    /// deadlock, no panic; the child's `cancel()` leaves it `Cancelled` and
    /// its parent not; once both return, both nodes are gone, the root has
    /// no child registered, and no wheel entry or token deadline is left.
    ///
    /// The `children()` call before the parent's drop is a probe, as in
    /// `loom_child_drop_vs_parent_cancel`: it takes the parent's `N`, as
    /// the child's `Drop` does to unregister before it looks at the
    /// parent's count, so loom puts the parent's drop before that and
    /// after it.
    #[test]
    fn loom_parent_drop_vs_child_cancel() {
        loom::model(|| {
            let (h, _jobs) = Handle::without_threads();
            let root = h.cancel_token_with_timeout(Duration::MAX);
            let parent = root.child_with_timeout(HOUR);
            let child = parent.child_with_timeout(HOUR / 2);
            let nodes = [parent.node_weak(), child.node_weak()];
            assert_eq!(token_entries(&h), (2, 2), "a deadline of each");
            let canceller = thread::spawn(move || {
                child.cancel();
                let reason = child.reason();
                drop(child);
                reason
            });
            assert_eq!(
                parent.reason(),
                None,
                "the child's cancel() reached its parent"
            );
            let _ = parent.children();
            drop(parent);
            let child_reason = canceller.join().unwrap();
            assert_eq!(child_reason, Some(CancelReason::Cancelled), "child");
            assert_subtree_freed(&h, &root, &nodes);
        });
    }

    /// A parent's last handle dropped while its deadline fires (the
    /// driver's pass, then the callback thread's run of a closure that
    /// holds only a `Weak` of the node), and its one child's last handle
    /// dropped on a third thread, which looks at the child's reason first.
    /// The child (no deadline of its own) keeps the parent's node alive
    /// while it lives, so the deadline still applies to it; whichever
    /// thread lets go of the node last drops it: this one, the child's, or
    /// the callback thread, when the closure's upgrade came first (the
    /// node's `Drop` then runs inside the closure, whose timer the
    /// cancellation has taken out of the node: marked detached while it
    /// runs, removed by the callback thread once it returns). No deadlock,
    /// no panic; the child, if it was cancelled when it looked, has
    /// `DeadlineExceeded`, and it has if the run had returned by then;
    /// once both handles are gone the deadline is not armed (had the pass
    /// not collected it, it went with the node, which nothing else keeps);
    /// once all return both nodes are gone, the root has no child
    /// registered, and no wheel entry or token deadline is left.
    ///
    /// The `token_entries` call before the parent's drop is a probe: it
    /// takes the driver's `W`, as the callback thread does just before the
    /// closure's upgrade, so loom puts the parent's drop before that
    /// upgrade and after it. The child's thread takes the child's `N`
    /// (`children()`) before it reads the reason: a probe too, and what
    /// orders that read after a propagation's store (made under that `N`)
    /// in loom's memory model, for which a `Mark` orders nothing.
    #[test]
    fn loom_parent_drop_vs_its_deadline() {
        loom::model(|| {
            let (h, jobs) = Handle::without_threads();
            let root = h.cancel_token_with_timeout(Duration::MAX);
            let parent = root.child_with_timeout(HOUR);
            let child = parent.child();
            let nodes = [parent.node_weak(), child.node_weak()];
            let ran = Mark::default();
            let driver = {
                let (h, ran) = (h.clone(), ran.clone());
                thread::spawn(move || {
                    h.step_at(NEVER - 1);
                    run_queued(&h, &jobs);
                    ran.set();
                })
            };
            let other = {
                let ran = ran.clone();
                thread::spawn(move || {
                    let ran_before = ran.is_set();
                    let _ = child.children();
                    let reason = child.reason();
                    drop(child);
                    (ran_before, reason)
                })
            };
            let _ = token_entries(&h);
            drop(parent);
            let (ran_before, child_reason) = other.join().unwrap();
            assert_eq!(
                h.stats().pending,
                0,
                "the deadline still armed once both tokens were gone"
            );
            driver.join().unwrap();
            if ran_before {
                assert_eq!(
                    child_reason,
                    Some(CancelReason::DeadlineExceeded),
                    "the parent's deadline ran, its child not cancelled"
                );
            }
            assert!(
                matches!(child_reason, None | Some(CancelReason::DeadlineExceeded)),
                "child: {child_reason:?}"
            );
            assert_subtree_freed(&h, &root, &nodes);
        });
    }
}

/// Hedge threads (`Builder::hedge_threads`): two driver threads that woke
/// for the same deadline both step, racing a stop(). Whichever steps first
/// collects the value; the other finds nothing due. Asserted: the value is
/// delivered at most once (`fired` ≤ 1); nobody reads it, so stop() always
/// prevents a delivery (the arming, or the unread value it withdraws) and
/// returns true; no value is received after it returns.
#[test]
fn loom_two_driver_threads_vs_stop() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let timer = h.timer(Duration::ZERO);
        let d1 = spawn_driver(&h);
        let d2 = spawn_driver(&h);
        let stopped = timer.stop();
        h.inner.chan_point();
        assert_eq!(
            timer.try_recv(),
            Err(TryRecvError::Empty),
            "a value from before stop()"
        );
        d1.join().unwrap();
        d2.join().unwrap();
        h.inner.chan_point();
        assert_eq!(
            timer.try_recv(),
            Err(TryRecvError::Empty),
            "a stale value arrived later"
        );
        assert!(
            stopped,
            "stop() prevented nothing, yet nobody read the value"
        );
        assert!(h.stats().fired <= 1, "fired {} times", h.stats().fired);
    });
}

/// Hedge threads on a ticker: two driver threads step for the same
/// deadline while a receiver takes ticks. The tick due is delivered once
/// (the second step finds the ticker re-armed on its grid, not due), so at
/// most one tick is received, `dropped()` agrees with `Stats`, and the
/// ticker stays armed once.
#[test]
fn loom_two_driver_threads_vs_ticker_receive() {
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let ticker = Arc::new(h.ticker(Duration::from_secs(40)));
        let d1 = spawn_driver(&h);
        let d2 = spawn_driver(&h);
        let first = ticker.try_recv().is_ok();
        d1.join().unwrap();
        d2.join().unwrap();
        h.inner.chan_point();
        let later = ticker.try_recv().is_ok();
        let s = h.stats();
        assert!(!(first && later), "the tick due was received twice");
        assert_eq!(s.fired, 1, "the tick due was not delivered exactly once");
        assert_eq!(ticker.dropped(), s.dropped_ticks);
        assert_eq!(s.pending, 1, "the ticker is not armed once");
    });
}

/// Hedge threads, each with work of its own: two timers due 10 s apart and
/// two driver threads stepping one after the other (the clock read under
/// `W`, so the later step sees the later time: 15 s, then 25 s), racing a
/// stop() of the first timer. The first step to run may collect both, or
/// the first timer only, and a step may wait on `D` for the other's
/// delivery while holding `W`, with the stop queued on `W`. Asserted: no
/// deadlock; the first timer yields nothing once stop() returns, which
/// returns true (nobody reads it); the second is delivered exactly once.
#[test]
fn loom_two_driver_threads_with_work_each_vs_stop() {
    use crate::driver::run::{Buffers, step};
    const S: u64 = 1_000_000_000;
    loom::model(|| {
        let (h, _jobs) = Handle::without_threads();
        let first = h.timer(Duration::from_secs(10));
        let second = h.timer(Duration::from_secs(20));
        let turn = Arc::new(AtomicUsize::new(0));
        let drivers: Vec<_> = (0..2)
            .map(|_| {
                let (h, turn) = (h.clone(), turn.clone());
                thread::spawn(move || {
                    let st = h.inner.state.lock();
                    let now = [15 * S, 25 * S][turn.fetch_add(1, SeqCst)];
                    drop(step(&h.inner, st, now, &mut Buffers::default()));
                })
            })
            .collect();
        let stopped = first.stop();
        h.inner.chan_point();
        assert_eq!(
            first.try_recv(),
            Err(TryRecvError::Empty),
            "a value after stop()"
        );
        for d in drivers {
            d.join().unwrap();
        }
        h.inner.chan_point();
        assert!(
            stopped,
            "stop() prevented nothing, yet nobody read the value"
        );
        assert_eq!(
            first.try_recv(),
            Err(TryRecvError::Empty),
            "a stale value later"
        );
        assert!(
            second.try_recv().is_ok(),
            "the second timer was not delivered"
        );
        assert_eq!(
            second.try_recv(),
            Err(TryRecvError::Empty),
            "delivered twice"
        );
    });
}
