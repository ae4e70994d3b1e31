//! Fault tests: what happens when user code misbehaves around the timers —
//! callbacks that panic, block, or create/stop/drop timers (even shut the
//! driver down); receivers that outlive their timer; a driver shut down
//! under blocked receivers or before its handles; and extreme deadlines
//! (`Duration::MAX`, zero, past) mixed with normal timers.

use crossbeam_channel::{Receiver, RecvError, RecvTimeoutError, TryRecvError};
use std::panic;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use tickwheel::{Callback, Driver, Handle, ManualClock, Ticker, Timer};

mod common;
use common::{HANG, real_driver, settled_stats};

fn manual_driver(name: &str) -> (ManualClock, Driver) {
    let clock = ManualClock::new();
    let driver = Driver::builder()
        .thread_name(name)
        .clock(clock.clone())
        .build()
        .expect("start driver");
    (clock, driver)
}

/// Runs `f` in a thread and fails (instead of hanging) if it does not finish
/// within [`HANG`]: for the tests whose failure mode is a deadlock.
fn within_hang_bound(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let worker = thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(HANG) {
        Ok(()) => worker.join().expect("worker panicked"),
        // The worker panicked (its sender dropped): surface its panic.
        Err(RecvTimeoutError::Disconnected) => {
            if let Err(e) = worker.join() {
                panic::resume_unwind(e);
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!("{what}: deadlock (no progress in {HANG:?})"),
    }
}

/// Serialises the tests that replace the (process-wide) panic hook.
static HOOK: Mutex<()> = Mutex::new(());

/// Runs `f` with the panic messages of threads named `thread` silenced:
/// every other thread's panics (including a failing assertion of another
/// test running in parallel) still reach the previous hook.
fn with_quiet_panics_on(thread: &'static str, f: impl FnOnce()) {
    let _serial = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let previous: Arc<dyn Fn(&panic::PanicHookInfo<'_>) + Send + Sync> = panic::take_hook().into();
    let forward = previous.clone();
    panic::set_hook(Box::new(move |info| {
        if thread::current().name() != Some(thread) {
            forward(info);
        }
    }));
    let result = panic::catch_unwind(panic::AssertUnwindSafe(f));
    panic::set_hook(Box::new(move |info| previous(info)));
    if let Err(e) = result {
        panic::resume_unwind(e);
    }
}

/// One panicking callback among 1,000 normal ones, on a manual clock: all the
/// others run, in order, the panic is counted once, and the driver goes on
/// delivering.
#[test]
fn panicking_callback_among_a_thousand() {
    with_quiet_panics_on("faults-panic-callbacks", || {
        let (clock, driver) = manual_driver("faults-panic");
        let h = driver.handle();
        let ran = Arc::new(AtomicUsize::new(0));
        let order_ok = Arc::new(AtomicBool::new(true));
        let callbacks: Vec<Callback> = (0..1000u64)
            .map(|i| {
                let (ran, order_ok) = (ran.clone(), order_ok.clone());
                h.after_func(Duration::from_micros(2 * i + 2), move || {
                    // Deadline order: callback i is the i-th to run.
                    if ran.fetch_add(1, SeqCst) != i as usize {
                        order_ok.store(false, SeqCst);
                    }
                })
            })
            .collect();
        // Due between callbacks 499 and 500.
        let bomb = h.after_func(Duration::from_micros(1001), || panic!("callback bomb"));
        clock.advance(Duration::from_millis(3));
        assert_eq!(ran.load(SeqCst), 1000, "every normal callback ran");
        assert!(order_ok.load(SeqCst), "callbacks ran out of deadline order");
        let stats = h.stats();
        assert_eq!(stats.callback_panics, 1, "{stats}");
        assert_eq!(stats.fired, 1001, "{stats}");
        assert!(!bomb.stop(), "the panicking callback did run");
        // The driver is unaffected.
        let t = h.timer(Duration::from_millis(1));
        clock.advance(Duration::from_millis(1));
        assert!(t.try_recv().is_ok());
        drop(callbacks);
    });
}

/// The same on the real clock, with detached callbacks and random small
/// delays: the panic does not kill the callback thread.
#[test]
fn panicking_callback_on_the_real_clock() {
    with_quiet_panics_on("faults-panic-rt-callbacks", || {
        let driver = real_driver("faults-panic-rt");
        let h = driver.handle();
        let (tx, rx) = crossbeam_channel::unbounded();
        h.after_func(Duration::from_millis(1), || panic!("callback bomb"))
            .detach();
        for i in 0..1000u64 {
            let tx = tx.clone();
            // Created after the bomb; the last is due well after it, and
            // callbacks run one at a time in deadline order, so the bomb has
            // gone off (and been counted) before the last one runs.
            let d = Duration::from_micros(if i == 999 { 5000 } else { i * 2 });
            h.after_func(d, move || tx.send(i).unwrap()).detach();
        }
        let mut got: Vec<u64> = (0..1000)
            .map(|_| rx.recv_timeout(HANG).expect("a normal callback ran"))
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
        let stats = h.stats();
        assert_eq!(stats.callback_panics, 1, "{stats}");
        assert_eq!(stats.callbacks, 0, "detached callbacks cleaned up: {stats}");
    });
}

/// A callback that blocks does not delay channel deliveries: timers and a
/// ticker keep arriving while it is blocked (it is held by a gate until they
/// have all arrived, so no time bound is involved), and a later callback
/// waits for it (they run one at a time).
#[test]
fn blocking_callback_does_not_delay_deliveries() {
    let driver = real_driver("faults-block");
    let h = driver.handle();
    let finished = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = crossbeam_channel::bounded(1);
    let (gate_tx, gate) = crossbeam_channel::bounded::<()>(0);
    let (done_tx, done_rx) = crossbeam_channel::bounded(2);
    let f = finished.clone();
    let blocker = h.after_func(Duration::ZERO, move || {
        started_tx.send(()).unwrap();
        let _ = gate.recv(); // the fault under test: blocked until released
        f.store(true, SeqCst);
    });
    let f = finished.clone();
    let done = done_tx.clone();
    let behind = h.after_func(Duration::from_millis(1), move || {
        // Due during the block: runs after it, never alongside it.
        done.send(f.load(SeqCst)).unwrap();
    });
    started_rx.recv_timeout(HANG).expect("blocker started");

    // Were deliveries waiting for the callback, these would hang (HANG).
    for _ in 0..10 {
        let t = h.timer(Duration::from_millis(10));
        t.recv_timeout(HANG).expect("timer fired during the block");
    }
    let ticker = h.ticker(Duration::from_millis(5));
    for _ in 0..10 {
        ticker.recv_timeout(HANG).expect("tick during the block");
    }
    assert!(!finished.load(SeqCst), "the blocker is still blocked");
    assert_eq!(
        done_rx.try_recv(),
        Err(TryRecvError::Empty),
        "the callback due during the block ran alongside it"
    );
    drop(gate_tx);
    assert_eq!(
        done_rx.recv_timeout(HANG),
        Ok(true),
        "the callback due during the block ran after it"
    );
    drop((blocker, behind, done_tx));
}

/// Go's TestAfterFunc chain: each callback schedules the next from inside
/// the callback thread, 1,000 deep, then signals.
///
/// Ported from Go's time/sleep_test.go TestAfterFunc.
#[test]
fn callback_chain_schedules_from_inside_callbacks() {
    fn link(h: Handle, left: usize, done: crossbeam_channel::Sender<()>) {
        if left == 0 {
            done.send(()).unwrap();
            return;
        }
        let next = h.clone();
        h.after_func(Duration::ZERO, move || link(next, left - 1, done))
            .detach();
    }
    let driver = real_driver("faults-chain");
    let (tx, rx) = crossbeam_channel::bounded(1);
    link(driver.handle(), 1000, tx);
    rx.recv_timeout(HANG)
        .expect("chain of 1000 callbacks completed");
    let stats = settled_stats(&driver.handle(), |s| s.callbacks == 0);
    assert_eq!(stats.fired, 1000, "{stats}");
    assert_eq!(stats.callbacks, 0, "{stats}");
}

/// A callback that creates, receives, stops and drops timers, tickers and
/// callbacks of its own driver, and stops itself and a sibling: no deadlock,
/// and every return value is right.
#[test]
fn callback_uses_its_own_driver() {
    let driver = real_driver("faults-reentrant");
    let h = driver.handle();
    let sibling = Arc::new(h.after_func(Duration::from_secs(3600), || {
        panic!("the sibling was stopped and must not run")
    }));
    let me: Arc<Mutex<Option<Callback>>> = Arc::new(Mutex::new(None));
    let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
    let (report_tx, report_rx) = crossbeam_channel::bounded(1);
    let (h2, sib, me2) = (h.clone(), sibling.clone(), me.clone());
    let cb = h.after_func(Duration::ZERO, move || {
        go_rx.recv().unwrap();
        let mut report = Vec::new();
        // A timer of the same driver, received on the callback thread.
        let t = h2.timer(Duration::from_millis(1));
        report.push(("own timer fires", t.recv_timeout(HANG).is_ok()));
        report.push(("stop after receive", !t.stop()));
        // A long timer, stopped.
        let long = h2.timer(Duration::from_secs(3600));
        report.push(("stop armed timer", long.stop()));
        // A ticker: two ticks, then dropped.
        let ticker = h2.ticker(Duration::from_millis(1));
        report.push(("ticks", ticker.iter().take(2).count() == 2));
        drop(ticker);
        // Stop the sibling (armed), and itself (running).
        report.push(("stop sibling", sib.stop()));
        let me = me2.lock().unwrap();
        report.push(("stop self while running", !me.as_ref().unwrap().stop()));
        drop((t, long, me));
        report_tx.send(report).unwrap();
    });
    *me.lock().unwrap() = Some(cb);
    go_tx.send(()).unwrap();
    let report = report_rx.recv_timeout(HANG).expect("callback finished");
    for (what, ok) in report {
        assert!(ok, "inside a callback: {what}");
    }
    // The entry of the callback that ran must be removable.
    me.lock().unwrap().take();
    assert!(!sibling.stop(), "already stopped");
    drop(sibling);
    let stats = settled_stats(&h, |s| s.callbacks == 0);
    assert_eq!(
        (stats.pending, stats.timers, stats.tickers, stats.callbacks),
        (0, 0, 0, 0),
        "{stats}"
    );
}

/// Closures own handles of the same driver; stopping, dropping and
/// shutting down drop those closures, whose captured handles then take the
/// wheel lock in their own `Drop`. Nothing deadlocks (ground rule 4 of
/// src/entry.rs), on either clock.
#[test]
fn dropping_closures_that_own_handles_does_not_deadlock() {
    within_hang_bound("closures owning handles", || {
        for manual in [false, true] {
            let (clock, driver) = if manual {
                let (c, d) = manual_driver("faults-owning-m");
                (Some(c), d)
            } else {
                (None, real_driver("faults-owning"))
            };
            let h = driver.handle();
            let owning = |h: &Handle| {
                let timer = h.timer(Duration::from_secs(1));
                let ticker = h.ticker(Duration::from_secs(1));
                let inner_cb = h.after_func(Duration::from_secs(1), || {});
                h.after_func(Duration::from_secs(3600), move || {
                    drop((timer, ticker, inner_cb));
                })
            };
            // 1. stop() drops the closure.
            let a = owning(&h);
            assert!(a.stop());
            // 2. Drop of an armed callback drops it.
            drop(owning(&h));
            // 3. A closure that runs and drops its handles on the callback
            // thread.
            let timer = h.timer(Duration::from_secs(1));
            let ran = h.after_func(Duration::ZERO, move || drop(timer));
            if let Some(c) = &clock {
                c.advance(Duration::ZERO);
            }
            // 4. Shutdown drops whatever is still armed.
            let _armed = owning(&h);
            let stats = h.stats();
            assert!(stats.callbacks >= 2, "{stats}");
            drop(driver);
            drop((a, ran));
        }
    });
}

/// A callback that shuts down its own driver (it owns the `Driver`): the
/// shutdown completes from the callback thread, afterwards timers are born
/// disconnected.
#[test]
fn callback_shuts_down_its_own_driver() {
    within_hang_bound("shutdown from a callback", || {
        let driver = real_driver("faults-suicide");
        let h = driver.handle();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let waiting = h.timer(Duration::from_secs(3600));
        let cb = h.after_func(Duration::from_millis(1), move || {
            driver.shutdown();
            tx.send(()).unwrap();
        });
        rx.recv_timeout(HANG).expect("callback ran to the end");
        assert_eq!(waiting.recv(), Err(RecvError), "armed timer disconnected");
        assert_eq!(
            h.timer(Duration::ZERO).try_recv(),
            Err(TryRecvError::Disconnected),
            "born disconnected"
        );
        assert!(!cb.stop());
    });
}

/// Receiver clones outlive their timer or ticker: they report
/// `Disconnected` once the handle is dropped (a value delivered but not yet
/// received is withdrawn with the handle), and the wheel is empty again.
#[test]
fn receivers_outlive_dropped_handles() {
    let (clock, driver) = manual_driver("faults-orphans");
    let h = driver.handle();

    let armed = h.timer(Duration::from_millis(5));
    let fired = h.timer(Duration::from_millis(1));
    let ticker = h.ticker(Duration::from_millis(1));
    let (rx_armed, rx_fired, rx_ticker) = (
        armed.receiver().clone(),
        fired.receiver().clone(),
        ticker.receiver().clone(),
    );
    assert_eq!(h.stats().pending, 3);
    clock.advance(Duration::from_millis(1));
    drop((armed, fired, ticker));
    let stats = h.stats();
    assert_eq!(
        (stats.pending, stats.timers, stats.tickers),
        (0, 0, 0),
        "{stats}"
    );
    assert_eq!(rx_armed.try_recv(), Err(TryRecvError::Disconnected));
    // A value delivered but not received before the drop is withdrawn with
    // the handle: the clones get no value of a dropped timer or ticker.
    assert_eq!(rx_fired.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx_ticker.recv(), Err(RecvError));
    // Time moving on fires nothing into the orphans.
    clock.advance(Duration::from_secs(1));
    assert_eq!(rx_armed.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(h.stats().fired, 2);
}

/// The same under races on the real clock: thousands of short timers
/// dropped at random moments around their deadline while another thread
/// holds a clone of the receiver. Each clone yields at most one value and
/// then `Disconnected`; the wheel ends empty.
#[test]
fn timers_dropped_while_firing_leave_clean_receivers() {
    let driver = real_driver("faults-drop-race");
    let h = driver.handle();
    let n = 4000u64;
    let (clones_tx, clones_rx) = crossbeam_channel::unbounded::<Receiver<Instant>>();
    let checker = thread::spawn(move || {
        let mut values = 0;
        for rx in clones_rx {
            let mut got = 0;
            loop {
                match rx.recv_timeout(HANG) {
                    Ok(_) => got += 1,
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => {
                        panic!("clone neither got a value nor saw the drop")
                    }
                }
            }
            assert!(got <= 1, "a dropped timer delivered {got} values");
            values += got;
        }
        values
    });
    for i in 0..n {
        let t = h.timer(Duration::from_micros(i % 50));
        clones_tx.send(t.receiver().clone()).unwrap();
        // Drop at a scattered point around the deadline (a busy wait: a
        // yield can cost a whole time slice on a loaded machine).
        let until = Instant::now() + Duration::from_micros((i * 7919) % 80);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        drop(t);
    }
    drop(clones_tx);
    let values = checker.join().expect("checker");
    let stats = h.stats();
    assert_eq!((stats.pending, stats.timers), (0, 0), "{stats}");
    eprintln!("{n} timers dropped around their deadline: {values} had delivered");
}

/// Shutdown while 32 threads are blocked in `recv` (own timers, own tickers,
/// clones of one shared receiver): every one of them returns `Err`.
#[test]
fn shutdown_wakes_32_blocked_receivers() {
    let driver = real_driver("faults-shutdown");
    let h = driver.handle();
    let shared = h.timer(Duration::from_secs(3600));
    let ready = Arc::new(Barrier::new(33));
    let (res_tx, res_rx) = crossbeam_channel::unbounded();
    for i in 0..32 {
        let (h, ready, res_tx) = (h.clone(), ready.clone(), res_tx.clone());
        let shared_rx = shared.receiver().clone();
        thread::spawn(move || {
            let result = match i % 4 {
                0 | 1 => {
                    let t = h.timer(Duration::from_secs(3600));
                    ready.wait();
                    t.recv().map(drop)
                }
                2 => {
                    let t = h.ticker(Duration::from_secs(3600));
                    ready.wait();
                    t.recv().map(drop)
                }
                _ => {
                    ready.wait();
                    shared_rx.recv().map(drop)
                }
            };
            res_tx.send((i, result)).unwrap();
        });
    }
    ready.wait();
    driver.shutdown();
    for _ in 0..32 {
        let (i, result) = res_rx
            .recv_timeout(HANG)
            .expect("a receiver stayed blocked after shutdown");
        assert_eq!(result, Err(RecvError), "receiver {i}");
    }
    drop(shared);
}

/// Handles used after their driver is gone: existing timers report
/// `Disconnected`, new ones are born disconnected, callbacks never run,
/// `stop` returns false, and nothing panics — on both clocks.
#[test]
fn handles_outlive_their_driver() {
    for manual in [false, true] {
        let (clock, driver) = if manual {
            let (c, d) = manual_driver("faults-orphan-handles-m");
            (Some(c), d)
        } else {
            (None, real_driver("faults-orphan-handles"))
        };
        let h = driver.handle();
        let timer = h.timer(Duration::from_secs(3600));
        let ticker = h.ticker(Duration::from_secs(3600));
        let (alive_tx, alive_rx) = crossbeam_channel::bounded::<()>(1);
        let callback = h.after_func(Duration::from_secs(3600), move || {
            let _keep = alive_tx;
            panic!("callback of a dead driver ran");
        });
        drop(driver);

        // Made before the shutdown.
        assert_eq!(timer.recv(), Err(RecvError));
        assert!(!timer.stop());
        assert!(!timer.reset(Duration::ZERO));
        assert_eq!(timer.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(ticker.recv(), Err(RecvError));
        ticker.stop();
        ticker.reset(Duration::from_millis(1));
        assert_eq!(ticker.try_recv(), Err(TryRecvError::Disconnected));
        assert!(!callback.stop());
        // The closure was dropped unrun at shutdown.
        assert_eq!(alive_rx.try_recv(), Err(TryRecvError::Disconnected));

        // Made after the shutdown: nothing fires or runs, nothing panics
        // (and they are born disconnected: see
        // `handles_made_after_shutdown_are_born_disconnected`).
        let t = h.timer(Duration::ZERO);
        let at = h.timer_at(h.now());
        let tk = h.ticker(Duration::from_millis(1));
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let cb = h.after_func(Duration::ZERO, move || r.store(true, SeqCst));
        if let Some(c) = &clock {
            c.advance(Duration::from_secs(3600 * 2));
        }
        assert!(
            t.recv_timeout(Duration::from_millis(20)).is_err(),
            "timer of a dead driver fired"
        );
        assert!(!t.stop());
        assert!(!t.reset(Duration::ZERO));
        assert!(at.try_recv().is_err());
        assert!(tk.try_recv().is_err());
        assert!(!ran.load(SeqCst), "callback made after shutdown ran");
        drop(cb);
        // Observability still works.
        let stats = h.stats();
        assert_eq!(stats.pending, 0, "{stats}");
        assert_eq!((stats.timers, stats.tickers), (3, 2), "{stats}");
        assert!(!h.live_sites().is_empty());
        let _ = h.now();
        drop((timer, ticker, callback, t, at, tk));
        assert_eq!(h.stats().timers, 0);
    }
}

/// Handles made after their driver shut down are born disconnected, as the
/// docs of `Handle` and `Driver::shutdown` promise: `recv` returns `Err` at
/// once instead of blocking forever, and `stop` of such a callback returns
/// false (it prevented nothing: the callback could never run).
///
/// Regression test: before ac2937a the sender stayed in entries made after
/// shutdown, so `recv` blocked forever and `Callback::stop` returned true.
#[test]
fn handles_made_after_shutdown_are_born_disconnected() {
    let driver = real_driver("faults-dead-born");
    let h = driver.handle();
    driver.shutdown();
    let t = h.timer(Duration::ZERO);
    assert_eq!(t.try_recv(), Err(TryRecvError::Disconnected), "timer");
    // Bounded, so that the bug fails the test instead of hanging it.
    assert_eq!(
        t.recv_timeout(HANG),
        Err(RecvTimeoutError::Disconnected),
        "timer recv"
    );
    let at = h.timer_at(h.now());
    assert_eq!(at.try_recv(), Err(TryRecvError::Disconnected), "timer_at");
    let tk = h.ticker(Duration::from_millis(1));
    assert_eq!(tk.try_recv(), Err(TryRecvError::Disconnected), "ticker");
    let cb = h.after_func(Duration::ZERO, || {});
    assert!(!cb.stop(), "stop prevented a run that could never happen");
}

/// `Duration::MAX`, zero and past deadlines (and a beyond-the-horizon one)
/// mixed with normal timers, on a manual clock: the normal ones fire at
/// exactly their deadlines, the zero and past ones at once, the MAX ones
/// never.
#[test]
fn extreme_deadlines_mixed_with_normal_timers() {
    let (clock, driver) = manual_driver("faults-extremes");
    let h = driver.handle();
    let t0 = clock.now();
    let mut normal = Vec::new();
    let mut never = Vec::new();
    let mut now_ones = Vec::new();
    for k in 1..=100u32 {
        normal.push((k, h.timer(Duration::from_millis(u64::from(k)))));
        match k % 4 {
            0 => never.push(h.timer(Duration::MAX)),
            1 => now_ones.push(h.timer(Duration::ZERO)),
            2 => now_ones.push(h.timer_at(t0.checked_sub(Duration::from_secs(60)).unwrap_or(t0))),
            _ => {
                let t = h.timer(Duration::from_millis(1));
                t.reset(Duration::MAX);
                never.push(t);
            }
        }
    }
    let never_ticker = h.ticker(Duration::MAX);
    let never_cb = h.after_func(Duration::MAX, || panic!("a Duration::MAX callback ran"));
    let three_years = Duration::from_secs(3 * 365 * 24 * 3600);
    let far = h.timer(three_years);
    assert_eq!(h.stats().pending, 100 + 100 + 2 + 1);

    clock.advance(Duration::ZERO);
    for t in &now_ones {
        let v = t
            .try_recv()
            .expect("zero/past timer fires at the first advance");
        assert!(v <= clock.now());
    }
    for k in 1..=100u32 {
        clock.advance(Duration::from_millis(1));
        for (j, t) in &normal {
            let got = t.try_recv();
            if *j == k {
                assert_eq!(
                    got,
                    Ok(t0 + Duration::from_millis(u64::from(k))),
                    "timer {j}"
                );
            } else {
                assert_eq!(got, Err(TryRecvError::Empty), "timer {j} at {k} ms");
            }
        }
    }
    clock.advance(three_years);
    assert_eq!(
        far.try_recv(),
        Ok(t0 + three_years),
        "beyond the horizon, exact"
    );
    clock.advance(Duration::from_secs(100 * 365 * 24 * 3600));
    for t in &never {
        assert_eq!(t.try_recv(), Err(TryRecvError::Empty));
    }
    assert_eq!(never_ticker.try_recv(), Err(TryRecvError::Empty));
    let stats = h.stats();
    assert_eq!(stats.pending, 50 + 2, "MAX entries stay armed: {stats}");
    assert_eq!(stats.callback_panics, 0);
    assert!(never_cb.stop());
    assert!(never.iter().all(Timer::stop));
}

/// The same mix on the real clock: `Duration::MAX` timers do not make the
/// driver spin or stall, normal timers fire exactly at their deadline and
/// never early.
#[test]
fn extreme_deadlines_do_not_disturb_the_real_clock() {
    let driver = real_driver("faults-extremes-rt");
    let h = driver.handle();
    let mut keep: Vec<Timer> = Vec::new();
    let mut tickers: Vec<Ticker> = Vec::new();
    let normal: Vec<(Instant, Timer)> = (1..=20u64)
        .map(|k| {
            keep.push(h.timer(Duration::MAX));
            keep.push(h.timer(Duration::ZERO));
            tickers.push(h.ticker(Duration::MAX));
            let at = h.now() + Duration::from_millis(k);
            (at, h.timer_at(at))
        })
        .collect();
    let wakeups_before = h.stats().wakeups;
    for (at, t) in &normal {
        let v = t.recv_timeout(HANG).expect("normal timer fired");
        assert_eq!(v, *at, "value is the scheduled deadline");
        assert!(Instant::now() >= v, "never early");
    }
    let stats = h.stats();
    // 20 distinct deadlines need about 20 wake-ups; a driver spinning on the
    // MAX entries would show thousands.
    assert!(
        stats.wakeups - wakeups_before < 2000,
        "driver spun: {stats}"
    );
    for t in &tickers {
        assert_eq!(t.try_recv(), Err(TryRecvError::Empty));
    }
    assert_eq!(stats.pending, 40, "{stats}");
}

/// A value whose `Drop` panics, to be a panic payload (`panic_any`).
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("a panic payload's Drop panicked");
        }
    }
}

/// A captured value whose `Drop` panics with a [`PanicsOnDrop`] payload.
struct PanicsWithPanickingPayload;

impl Drop for PanicsWithPanickingPayload {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic::panic_any(PanicsOnDrop);
        }
    }
}

/// Found by review: a callback that panics with a payload whose own `Drop`
/// panics. Catching the first panic is not enough: dropping its payload
/// panicked again, outside any `catch_unwind`, and killed the callback
/// thread; the `advance` waiting for that callback then hung, and on the real
/// clock the next callback made the driver thread panic too. Now the second
/// panic is caught as well, the callback is counted once, and the next
/// callback still runs.
#[test]
fn callback_panic_payload_that_panics_on_drop() {
    with_quiet_panics_on("faults-payload-callbacks", || {
        within_hang_bound("a panic payload's drop", || {
            let (clock, driver) = manual_driver("faults-payload");
            let h = driver.handle();
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            h.after_func(Duration::from_millis(1), || panic::panic_any(PanicsOnDrop))
                .detach();
            h.after_func(Duration::from_millis(2), move || r.store(true, SeqCst))
                .detach();
            clock.advance(Duration::from_millis(2));
            assert!(ran.load(SeqCst), "the next callback ran");
            assert_eq!(h.stats().callback_panics, 1);
            drop(driver);
        });
    });
}

/// Found by review: the same for a closure dropped unrun at shutdown whose
/// capture panics with such a payload: `shutdown` itself panicked (its
/// threads left unjoined). Now it returns and counts the panic.
#[test]
fn shutdown_drops_a_capture_whose_panic_payload_panics_on_drop() {
    with_quiet_panics_on("faults-payload-shutdown", || {
        let worker = thread::Builder::new()
            .name("faults-payload-shutdown".into())
            .spawn(|| {
                let (_clock, driver) = manual_driver("faults-payload-shutdown-driver");
                let h = driver.handle();
                let grenade = PanicsWithPanickingPayload;
                h.after_func(Duration::from_secs(1), move || drop(grenade))
                    .detach();
                driver.shutdown();
                h.stats().callback_panics
            })
            .unwrap();
        assert_eq!(
            worker.join().ok(),
            Some(1),
            "shutdown returned, one panic counted"
        );
    });
}
