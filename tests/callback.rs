//! `Callback` (Go's `AfterFunc`) on a manual clock: the closure runs at most
//! once, off the thread that drives the wheel, in deadline order; `stop`
//! returns true exactly when it prevented the run; drop cancels and
//! `detach` lets it run; a panic is caught; a callback may create, stop and
//! reset timers (issue 2, semantics 9). That a slow callback does not delay
//! deliveries on a real driver is checked in `real_time.rs`.

use crossbeam_channel::{TryRecvError, bounded, unbounded};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use tickwheel::{Callback, Driver, Handle, ManualClock};

mod common;
use common::{Blocker, HANG, NS, PanicOnDrop, manual, ms};

// Issue 2, semantics 9
#[test]
fn callback_runs_once_at_its_deadline() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let (tx, rx) = unbounded();
    let c = clock.clone();
    let cb = driver
        .handle()
        .after_func(ms(5), move || tx.send(c.now()).unwrap());

    clock.advance(ms(5) - NS);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    clock.advance(NS);
    // advance() returned after the callback finished; it saw its deadline.
    assert_eq!(rx.try_recv(), Ok(t0 + ms(5)));
    clock.advance(Duration::from_secs(10));
    // At most once: the closure is gone (its sender dropped), nothing more.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert!(!cb.stop(), "it ran: nothing to prevent");
}

// Issue 2, semantics 9
#[test]
fn callback_runs_off_the_driving_thread() {
    let clock = ManualClock::new();
    let driver = Driver::builder()
        .clock(clock.clone())
        .thread_name("cb-test-driver")
        .build()
        .unwrap();
    let (tx, rx) = bounded(1);
    driver
        .handle()
        .after_func(ms(1), move || {
            let me = thread::current();
            tx.send((me.id(), me.name().map(str::to_owned))).unwrap();
        })
        .detach();
    clock.advance(ms(1));
    let (id, name) = rx.try_recv().expect("ran within advance");
    assert_ne!(id, thread::current().id(), "ran on the advancing thread");
    // A manual-clock driver has no wheel thread: callbacks run on its
    // callback thread, named after the driver.
    assert_eq!(
        name.as_deref(),
        Some("cb-test-driver-callbacks"),
        "ran on the callback thread"
    );
}

// Issue 2, semantics 9
#[test]
fn callbacks_start_in_deadline_order() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let log = Arc::new(Mutex::new(Vec::new()));
    let order = [7u64, 3, 9, 1, 5, 2, 8, 4, 6];
    let handles: Vec<Callback> = order
        .iter()
        .map(|&n| {
            let (log, c) = (log.clone(), clock.clone());
            driver
                .handle()
                .after_func(ms(n), move || log.lock().push((n, c.now() - t0)))
        })
        .collect();

    clock.advance(ms(10));
    let expected: Vec<(u64, Duration)> = (1..=9).map(|n| (n, ms(n))).collect();
    assert_eq!(*log.lock(), expected);
    drop(handles);
}

// Issue 2, semantics 9
#[test]
fn stop_before_the_deadline_prevents_the_run() {
    let (clock, driver) = manual();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let cb = driver.handle().after_func(ms(5), move || {
        r.fetch_add(1, SeqCst);
    });
    clock.advance(ms(4));
    assert!(cb.stop());
    assert!(!cb.stop(), "second stop prevents nothing");
    clock.advance(ms(10));
    assert_eq!(runs.load(SeqCst), 0);
    assert_eq!(Arc::strong_count(&runs), 1, "the closure was dropped");
}

// Issue 2, semantics 9
#[test]
fn stop_of_a_callback_due_at_the_same_deadline_prevents_it() {
    // Two callbacks due at the same instant; whichever starts first stops
    // the other, which is then queued but not started: the stop returns
    // true and the other never runs.
    let (clock, driver) = manual();
    let ran = Arc::new(Mutex::new(Vec::new()));
    let slots: [Arc<Mutex<Option<Callback>>>; 2] = Default::default();
    for me in 0..2 {
        let other = slots[1 - me].clone();
        let ran = ran.clone();
        let cb = driver.handle().after_func(ms(3), move || {
            let stopped = other.lock().as_ref().expect("set before advance").stop();
            ran.lock().push((me, stopped));
        });
        *slots[me].lock() = Some(cb);
    }
    clock.advance(ms(3));
    let ran = ran.lock().clone();
    assert_eq!(ran.len(), 1, "exactly one ran: {ran:?}");
    assert!(
        ran[0].1,
        "stopping a due but unstarted callback prevents it"
    );
    let loser = 1 - ran[0].0;
    assert!(
        !slots[loser].lock().as_ref().unwrap().stop(),
        "already stopped"
    );
    // Break the cycle slot -> handle -> closure -> slot.
    for s in &slots {
        s.lock().take();
    }
}

// Issue 2, semantics 9
#[test]
fn stop_from_inside_its_own_callback_returns_false() {
    let (clock, driver) = manual();
    let me: Arc<Mutex<Option<Callback>>> = Arc::default();
    let (tx, rx) = bounded(1);
    let slot = me.clone();
    let cb = driver.handle().after_func(ms(1), move || {
        tx.send(slot.lock().as_ref().unwrap().stop()).unwrap();
    });
    *me.lock() = Some(cb);
    clock.advance(ms(1));
    assert_eq!(rx.try_recv(), Ok(false), "running: too late to prevent");
    me.lock().take();
}

// Issue 2, semantics 8 and 9
#[test]
fn dropping_the_handle_cancels_the_callback() {
    let (clock, driver) = manual();
    let token = Arc::new(());
    let t = token.clone();
    let cb = driver.handle().after_func(ms(5), move || {
        let _t = &t;
        panic!("a dropped callback ran");
    });
    drop(cb);
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "closure dropped with the handle"
    );
    clock.advance(ms(10));
    assert_eq!(driver.handle().stats().callback_panics, 0);
}

// Issue 2, semantics 9
#[test]
fn detached_callback_runs_without_its_handle() {
    let (clock, driver) = manual();
    let (tx, rx) = bounded(1);
    driver
        .handle()
        .after_func(ms(5), move || tx.send("ran").unwrap())
        .detach();
    assert_eq!(driver.handle().stats().pending, 1);
    clock.advance(ms(5));
    assert_eq!(rx.try_recv(), Ok("ran"));
    let stats = driver.handle().stats();
    assert_eq!(
        (stats.pending, stats.callbacks),
        (0, 0),
        "entry removed after the run"
    );
}

// Issue 2, semantics 9
#[test]
fn panicking_callback_is_caught_and_later_callbacks_still_run() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let (tx, rx) = unbounded();
    h.after_func(ms(1), || panic!("boom (expected by the test)"))
        .detach();
    let tx2 = tx.clone();
    h.after_func(ms(2), move || tx2.send(2).unwrap()).detach();
    clock.advance(ms(2));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(h.stats().callback_panics, 1);

    // The callback thread survived: a callback made after the panic runs.
    h.after_func(ms(1), move || tx.send(3).unwrap()).detach();
    clock.advance(ms(1));
    assert_eq!(rx.try_recv(), Ok(3));
}

// Issue 2, semantics 9
// Ported from Go's time/sleep_test.go TestAfterFunc: a callback that
// schedules the next one with a zero delay, ten times. On a manual clock the
// whole chain runs within one advance (issue 3, semantics 6).
#[test]
fn go_after_func_chain() {
    fn link(h: Handle, left: usize, done: crossbeam_channel::Sender<()>) {
        if left == 0 {
            done.send(()).unwrap();
        } else {
            let h2 = h.clone();
            h.after_func(Duration::ZERO, move || link(h2, left - 1, done))
                .detach();
        }
    }
    let (clock, driver) = manual();
    let (done_tx, done) = bounded(1);
    let h = driver.handle();
    driver
        .handle()
        .after_func(Duration::ZERO, move || link(h, 10, done_tx))
        .detach();
    clock.advance(Duration::ZERO);
    assert_eq!(done.try_recv(), Ok(()));
    assert_eq!(driver.handle().stats().fired, 11);
}

// Issue 2, semantics 9
#[test]
fn callback_can_create_stop_and_reset_timers_of_its_driver() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let t0 = clock.now();
    let armed = Arc::new(h.timer(ms(50)));
    let fired = Arc::new(h.timer(ms(1)));
    let ticker = h.ticker(ms(1));
    let (tx, rx) = unbounded();

    let (a, f, hh) = (armed.clone(), fired.clone(), h.clone());
    h.after_func(ms(2), move || {
        let stopped = a.stop(); // armed: true
        let reset = f.reset(ms(3)); // fired, unread: true; due at 5
        drop(ticker); // removes the ticker's entry
        let created = hh.timer(ms(1)); // due at 3, within the advance
        let (t2, hh2) = (tx.clone(), hh.clone());
        hh.after_func(ms(2), move || {
            // due at 4: creates and drops another timer
            drop(hh2.timer(ms(1)));
            t2.send(None).unwrap();
        })
        .detach();
        tx.send(Some((stopped, reset, created))).unwrap();
    })
    .detach();

    clock.advance(ms(10));
    let (stopped, reset, created) = rx.try_recv().unwrap().expect("first message");
    assert!(stopped && reset);
    assert!(matches!(rx.try_recv(), Ok(None)), "the nested callback ran");
    assert_eq!(created.try_recv(), Ok(t0 + ms(3)));
    assert_eq!(
        fired.try_recv(),
        Ok(t0 + ms(5)),
        "only the new arming's value"
    );
    assert_eq!(armed.try_recv(), Err(TryRecvError::Empty));
    let stats = h.stats();
    assert_eq!((stats.pending, stats.tickers), (0, 0));
}

// Issue 2, semantics 9 and 12
// Ported from Go's time/sleep_test.go TestTimerStopStress: 100 threads each
// stop their own callback halfway to its deadline; none runs.
#[test]
fn go_timer_stop_stress() {
    let (clock, driver) = manual();
    let runs = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(Barrier::new(101));
    let halfway = Arc::new(Barrier::new(101));
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let (h, runs) = (driver.handle(), runs.clone());
            let (created, halfway) = (created.clone(), halfway.clone());
            thread::spawn(move || {
                let cb = h.after_func(Duration::from_secs(2), move || {
                    runs.fetch_add(1, SeqCst);
                });
                created.wait();
                halfway.wait();
                cb.stop()
            })
        })
        .collect();
    created.wait();
    clock.advance(Duration::from_secs(1));
    halfway.wait();
    for t in threads {
        assert!(t.join().unwrap(), "stopped before its deadline");
    }
    clock.advance(Duration::from_secs(2));
    assert_eq!(runs.load(SeqCst), 0);
}

// Issue 2, semantics 9 (found by review): the callback thread drops the
// closure of a callback stopped while queued; a panic in the drop of what
// it captured used to kill that thread, and with it every later callback
// and then the driver (and a manual clock's `advance` hung).
#[test]
fn a_panic_dropping_a_stopped_queued_closure_is_caught() {
    let (clock, driver) = manual();
    let h = driver.handle();
    // Due together: the first holds the callback thread, so the second
    // waits in the queue.
    let Blocker {
        callback: blocker,
        started,
        release,
    } = common::blocker(&h, ms(5));
    let bomb = PanicOnDrop;
    let queued = h.after_func(ms(5), move || {
        let _b = &bomb;
        panic!("a stopped callback ran");
    });
    let done = common::advance_in_background(&clock, ms(5));
    started
        .recv_timeout(HANG)
        .expect("the first callback started");
    assert!(
        queued.stop(),
        "stopped while queued: this call prevented it"
    );
    drop(release);
    done.recv_timeout(HANG)
        .expect("advance returned: the callback thread finished its jobs");
    assert_eq!(
        h.stats().callback_panics,
        1,
        "the panicking drop was caught and counted"
    );

    // The callback thread still runs callbacks, and timers still fire.
    let (ran_tx, ran) = bounded(1);
    let later = h.after_func(ms(1), move || ran_tx.send(()).unwrap());
    let timer = h.timer(ms(1));
    clock.advance(ms(1));
    assert_eq!(ran.recv_timeout(HANG), Ok(()));
    assert!(timer.try_recv().is_ok(), "a later timer fired");
    drop((blocker, queued, later));
}

// Issue 2, semantics 8 and 9 (added by test review): dropping the handle of
// a callback that is due but not started yet (queued behind a running one)
// stops it, as dropping an armed one does: it never runs, its closure is
// dropped, and its entry goes away.
#[test]
fn dropping_the_handle_of_a_queued_callback_prevents_the_run() {
    let (clock, driver) = manual();
    let h = driver.handle();
    // Due together: the first holds the callback thread, so the second
    // waits in the queue.
    let Blocker {
        callback: blocker,
        started,
        release,
    } = common::blocker(&h, ms(5));
    let (ran_tx, ran) = bounded::<()>(1);
    let queued = h.after_func(ms(5), move || ran_tx.send(()).unwrap());
    let done = common::advance_in_background(&clock, ms(5));
    started
        .recv_timeout(HANG)
        .expect("the first callback started");
    drop(queued);
    drop(release);
    done.recv_timeout(HANG).expect("advance returned");
    assert_eq!(
        ran.try_recv(),
        Err(TryRecvError::Disconnected),
        "a callback whose handle was dropped while queued ran"
    );
    drop(blocker);
    let stats = h.stats();
    assert_eq!((stats.pending, stats.callbacks), (0, 0), "{stats}");
    assert!(
        h.live_sites().is_empty(),
        "the queued callback's entry leaked"
    );
}

// Issue 2, semantics 9 (added by test review): where the caller's own thread
// drops a closure that never ran (stop before it was due, or dropping the
// handle), a panic in the drop of what it captured reaches the caller, as
// any drop's would; the driver counts no callback panic.
#[test]
fn a_panic_dropping_a_closure_stopped_before_its_deadline_reaches_the_caller() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let (_clock, driver) = manual();
    let h = driver.handle();
    let bomb = PanicOnDrop;
    let stopped = h.after_func(ms(5), move || {
        let _b = &bomb;
    });
    assert!(catch_unwind(AssertUnwindSafe(|| stopped.stop())).is_err());
    let bomb = PanicOnDrop;
    let dropped = h.after_func(ms(5), move || {
        let _b = &bomb;
    });
    assert!(catch_unwind(AssertUnwindSafe(move || drop(dropped))).is_err());
    let s = h.stats();
    assert_eq!(
        (s.callback_panics, s.pending, s.callbacks),
        (0, 0, 1),
        "{s}"
    );
    drop(stopped);
    assert_eq!(h.stats().callbacks, 0);
}

// Issue 2, semantics 9
// Ported from Go's `TestIssue5745` in src/time/sleep_test.go, BSD-style
// license: a panic from inside a timer operation must not leave the timer
// lock held, or stopping a ticker in a deferred function (here: in a `Drop`
// guard, while the panic unwinds) deadlocks. Go panics with a nil `*Timer`,
// which Rust cannot express; the panics here come from inside the
// library's calls instead: `Callback::stop` and `Callback`'s drop, whose
// closure's captures panic when dropped, and `Ticker::reset(0)`. In Rust a
// lock guard is released by the unwinding itself, so what could still be
// left held is a lock taken around the panicking drop: the closure also
// owns a timer of the same driver, whose own drop, run during the unwinding,
// takes the wheel lock (it deadlocks if the closure is dropped with that
// lock held, ground rule 4 in src/entry.rs). Each case runs on a thread of
// its own, so a deadlock shows as a missed `HANG` bound, not a hung test;
// afterwards the wheel is empty and the driver still works.
#[test]
fn go_issue_5745() {
    use tickwheel::Ticker;
    struct StopOnUnwind(Arc<Ticker>, crossbeam_channel::Sender<bool>);
    impl Drop for StopOnUnwind {
        fn drop(&mut self) {
            self.0.stop(); // Go: `defer ticker.Stop()`
            let _ = self.1.send(thread::panicking());
        }
    }
    let (clock, driver) = manual();
    let h = driver.handle();
    let t0 = clock.now();
    type Panicky = fn(&Handle, &Ticker);
    let cases: [(&str, Panicky); 3] = [
        ("Callback::stop", |h, _| {
            let (bomb, owned) = (PanicOnDrop, h.timer(ms(5)));
            let cb = h.after_func(ms(5), move || {
                let _b = (&bomb, &owned);
            });
            cb.stop();
        }),
        ("Callback drop", |h, _| {
            let (bomb, owned) = (PanicOnDrop, h.timer(ms(5)));
            drop(h.after_func(ms(5), move || {
                let _b = (&bomb, &owned);
            }));
        }),
        ("Ticker::reset(0)", |_, ticker| ticker.reset(Duration::ZERO)),
    ];
    for (name, panicky) in cases {
        let ticker = Arc::new(h.ticker(Duration::from_secs(3600)));
        let (stopped_tx, stopped) = bounded(1);
        let (th, tk) = (h.clone(), ticker.clone());
        let worker = thread::spawn(move || {
            let _guard = StopOnUnwind(tk.clone(), stopped_tx);
            panicky(&th, &tk);
        });
        let got = stopped.recv_timeout(HANG);
        if got != Ok(true) {
            // The worker holds the wheel lock for good: leak whatever takes
            // it when dropped, so that the failure is reported, not hung.
            std::mem::forget((ticker, h, driver));
            panic!("{name}: the ticker's stop while unwinding did not return ({got:?})");
        }
        assert!(worker.join().is_err(), "{name}: expected a panic");
        let stats = h.stats();
        assert_eq!(
            (stats.pending, stats.timers, stats.tickers, stats.callbacks),
            (0, 0, 1, 0),
            "{name}: only the ticker is left, stopped: {stats}"
        );
        assert_eq!(ticker.try_recv(), Err(TryRecvError::Empty), "{name}");
    }
    // The wheel is not left locked: timers and tickers still work.
    let ticker = h.ticker(ms(1));
    let timer = h.timer(ms(2));
    clock.advance(ms(2));
    assert_eq!(ticker.try_recv(), Ok(t0 + ms(1)));
    assert_eq!(timer.try_recv(), Ok(t0 + ms(2)));
    assert_eq!(h.stats().callback_panics, 0, "no callback ran");
}
