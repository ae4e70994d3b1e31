//! Driver shutdown, on a manual clock: afterwards every receiver of the
//! driver reports `Disconnected` (blocked `recv`s return `Err`), `shutdown`
//! waits for the callback running at that moment, callbacks not yet started
//! are dropped unrun, and timers made later from a `Handle` are born
//! disconnected (issue 2, semantics 11). Dropping the `Driver` does the same.
//! Shutdown waking 32 blocked threads on a real driver is in `real_time.rs`.

use crossbeam_channel::{RecvError, TryRecvError, bounded, unbounded};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};
use tickwheel::{Driver, Handle, ManualClock};

mod common;
use common::{Blocker, HANG, PanicOnDrop, manual, ms};

/// Spins until a shutdown running on another thread has begun: it disarms
/// every entry under the wheel lock, so `pending` drops to 0. Callers keep
/// a far-away sentinel timer armed so that `pending` is non-zero before.
fn wait_until_shutdown_began(h: &Handle) {
    let begun = Instant::now();
    while h.stats().pending != 0 {
        assert!(begun.elapsed() < HANG, "shutdown never began");
        thread::yield_now();
    }
}

// Issue 2, semantics 11
#[test]
fn shutdown_disconnects_every_timer_and_ticker_receiver() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let armed = h.timer(ms(5));
    let stopped = h.timer(ms(5));
    stopped.stop();
    let ticker = h.ticker(ms(5));
    let clone = armed.receiver().clone();

    driver.shutdown();
    for (name, result) in [
        ("armed timer", armed.try_recv()),
        ("stopped timer", stopped.try_recv()),
        ("ticker", ticker.try_recv()),
        ("receiver clone", clone.try_recv()),
    ] {
        assert_eq!(result, Err(TryRecvError::Disconnected), "{name}");
    }
    assert_eq!(armed.recv(), Err(RecvError), "recv returns, never hangs");
    clock.advance(ms(10)); // a no-op now, and it must not hang
    assert_eq!(ticker.try_recv(), Err(TryRecvError::Disconnected));
}

// Issue 2, semantics 11
#[test]
fn value_delivered_before_shutdown_is_followed_by_disconnected() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let timer = driver.handle().timer(ms(5));
    clock.advance(ms(5));
    driver.shutdown();
    // The value was delivered before the shutdown (as with any crossbeam
    // channel, buffered values outlive the senders); after it, the channel
    // reports Disconnected rather than blocking.
    assert_eq!(timer.try_recv(), Ok(t0 + ms(5)));
    assert_eq!(timer.recv(), Err(RecvError));
}

// Issue 2, semantics 11
#[test]
fn shutdown_wakes_receivers_blocked_in_other_threads() {
    let (_clock, driver) = manual();
    let h = driver.handle();
    let ready = Arc::new(Barrier::new(5));
    let (res_tx, res) = bounded(4);
    for i in 0..4 {
        let (h, ready, res_tx) = (h.clone(), ready.clone(), res_tx.clone());
        thread::spawn(move || {
            let result = if i % 2 == 0 {
                let t = h.timer(Duration::from_secs(3600));
                ready.wait();
                t.recv().map(|_| "timer")
            } else {
                let t = h.ticker(Duration::from_secs(3600));
                ready.wait();
                t.recv().map(|_| "ticker")
            };
            res_tx.send(result).unwrap();
        });
    }
    ready.wait();
    driver.shutdown();
    for _ in 0..4 {
        let r = res
            .recv_timeout(HANG)
            .expect("a blocked recv hung after shutdown");
        assert_eq!(r, Err(RecvError));
    }
}

// Issue 2, semantics 11
#[test]
fn shutdown_waits_for_the_running_callback() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let (started_tx, started) = bounded(1);
    let (gate_tx, gate) = bounded::<()>(0);
    let finished = Arc::new(AtomicBool::new(false));
    let _sentinel = h.timer(Duration::from_secs(3600));
    let f = finished.clone();
    h.after_func(ms(1), move || {
        started_tx.send(()).unwrap();
        let _ = gate.recv(); // held until the shutdown is under way
        f.store(true, SeqCst);
    })
    .detach();

    let c = clock.clone();
    let advancer = thread::spawn(move || c.advance(ms(1)));
    started.recv_timeout(HANG).expect("callback started");

    let f = finished.clone();
    let stopper = thread::spawn(move || {
        driver.shutdown();
        // Read right after shutdown returned.
        f.load(SeqCst)
    });
    // Only once the shutdown has begun, let the callback finish.
    wait_until_shutdown_began(&h);
    drop(gate_tx);
    assert!(
        stopper.join().unwrap(),
        "shutdown returned before the running callback finished"
    );
    advancer.join().unwrap();
}

// Issue 2, semantics 11
#[test]
fn callbacks_not_yet_started_are_dropped_unrun() {
    // Two identical callbacks due at the same instant are both queued when it
    // comes. Whichever starts first reports its id and blocks until the
    // shutdown is under way; the other is queued behind it and must be
    // dropped without running. A third one, due later, is still armed.
    let (clock, driver) = manual();
    let h = driver.handle();
    let (started_tx, started) = bounded(2);
    let (gate_tx, gate) = bounded::<()>(0);
    let token = Arc::new(());
    let pair: Vec<_> = (0..2)
        .map(|id| {
            let (started_tx, gate, t) = (started_tx.clone(), gate.clone(), token.clone());
            h.after_func(ms(1), move || {
                let _t = &t;
                started_tx.send(id).unwrap();
                let _ = gate.recv();
            })
        })
        .collect();
    let t = token.clone();
    let armed = h.after_func(ms(5), move || {
        let _t = &t;
        panic!("an armed callback ran after shutdown");
    });
    drop((started_tx, gate));

    let c = clock.clone();
    let advancer = thread::spawn(move || c.advance(ms(5)));
    let first = started.recv_timeout(HANG).expect("one callback started");

    let stopper = thread::spawn(move || driver.shutdown());
    wait_until_shutdown_began(&h);
    drop(gate_tx);
    stopper.join().unwrap();
    advancer.join().unwrap();

    // No second start message, and every closure (and its sender) is gone.
    assert_eq!(
        started.try_recv(),
        Err(TryRecvError::Disconnected),
        "callback {} was queued behind {first} and ran after shutdown",
        1 - first
    );
    assert!(
        !pair[1 - first].stop(),
        "the shutdown, not this call, prevented it"
    );
    drop((pair, armed));
    assert_eq!(Arc::strong_count(&token), 1, "closures dropped");
    assert_eq!(h.stats().callback_panics, 0);
}

// Issue 2, semantics 11
#[test]
fn timers_made_after_shutdown_are_born_disconnected() {
    let (clock, driver) = manual();
    let h = driver.handle();
    driver.shutdown();

    let timer = h.timer(ms(1));
    let ticker = h.ticker(ms(1));
    let token = Arc::new(());
    let t = token.clone();
    let cb = h.after_func(ms(1), move || {
        let _t = &t;
        panic!("a callback made after shutdown ran");
    });
    clock.advance(ms(10));
    assert_eq!(timer.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(ticker.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(timer.recv(), Err(RecvError));
    assert_eq!(h.stats().pending, 0, "nothing is armed on a dead driver");
    drop(cb);
    assert_eq!(Arc::strong_count(&token), 1, "its closure was dropped");
}

// Issue 2, semantics 11
#[test]
fn detached_callback_made_after_shutdown_is_dropped_not_kept() {
    let (_clock, driver) = manual();
    let h = driver.handle();
    driver.shutdown();
    let token = Arc::new(());
    let t = token.clone();
    h.after_func(ms(1), move || {
        let _t = &t;
    })
    .detach();
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "a detached callback of a dead driver keeps its closure alive"
    );
}

// Issue 2, semantics 11
#[test]
fn handle_methods_after_shutdown_neither_panic_nor_hang() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let timer = h.timer(ms(5));
    let ticker = h.ticker(ms(5));
    let cb = h.after_func(ms(5), || {});
    driver.shutdown();

    // Nothing can be delivered any more, so no call prevents a delivery.
    assert!(!timer.stop());
    assert!(!timer.reset(ms(1)));
    assert!(!timer.reset_at(clock.now()));
    assert!(!cb.stop());
    ticker.stop();
    ticker.reset(ms(2));
    assert_eq!(ticker.period(), ms(2));
    assert_eq!(ticker.dropped(), 0);
    clock.advance(ms(10));
    assert_eq!(timer.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(ticker.iter().count(), 0, "iter ends on a dead driver");
    assert_eq!(h.stats().pending, 0);
}

// Issue 2, semantics 11
#[test]
fn dropping_the_driver_shuts_it_down() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let timer = h.timer(ms(5));
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let cb = h.after_func(ms(5), move || r.store(true, SeqCst));
    drop(driver);
    clock.advance(ms(10));
    assert_eq!(timer.recv(), Err(RecvError));
    assert!(!ran.load(SeqCst));
    assert_eq!(h.stats().pending, 0);
    drop(cb);
}

// Issue 2, semantics 11
#[test]
fn shutdown_from_inside_a_callback_does_not_deadlock() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let timer = h.timer(ms(10));
    let (tx, rx) = bounded(1);
    h.after_func(ms(1), move || {
        driver.shutdown();
        tx.send(()).unwrap();
    })
    .detach();
    clock.advance(ms(20));
    assert_eq!(rx.try_recv(), Ok(()));
    assert_eq!(timer.try_recv(), Err(TryRecvError::Disconnected));
}

// Issue 2, semantics 11, with issue 5's site threshold (found by review): a
// handle born after shutdown crossed the threshold and queued a
// notification for the callback thread, which had exited: a panic in the
// caller.
#[test]
fn site_threshold_after_shutdown_neither_panics_nor_notifies() {
    let clock = ManualClock::new();
    let (seen_tx, seen) = unbounded();
    let driver = Driver::builder()
        .clock(clock.clone())
        .on_site_threshold(0, move |site| {
            let _ = seen_tx.send(site.count);
        })
        .build()
        .expect("a manual-clock driver");
    let h = driver.handle();
    driver.shutdown();
    let timer = h.timer(ms(1));
    assert_eq!(timer.try_recv(), Err(TryRecvError::Disconnected));
    clock.advance(ms(1));
    assert_eq!(
        seen.try_recv(),
        Err(TryRecvError::Empty),
        "no notification ran"
    );
}

// Issue 2, semantics 11 (found by review): shutdown drops the closures that
// never ran; a panic in the drop of what one captured used to cut the
// shutdown short, leaking the driver's threads.
#[test]
fn a_panic_dropping_an_unrun_closure_at_shutdown_is_caught() {
    let driver = Driver::builder()
        .thread_name("sd-bomb")
        .build()
        .expect("start driver");
    let h = driver.handle();
    let bomb = PanicOnDrop;
    let cb = h.after_func(Duration::from_secs(3600), move || {
        let _b = &bomb;
    });
    // A thread names itself once it runs: wait for both names.
    let begun = Instant::now();
    while threads_named("sd-bomb") < 2 {
        assert!(begun.elapsed() < HANG, "driver threads never named");
        thread::yield_now();
    }
    driver.shutdown();
    assert_eq!(h.stats().callback_panics, 1, "caught and counted");
    assert_eq!(threads_named("sd-bomb"), 0, "both threads joined");
    assert!(!cb.stop(), "the shutdown, not this call, prevented it");
}

/// How many threads of this process have a name starting with `prefix`
/// (Linux keeps the first 15 bytes of a thread's name).
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task (Linux)")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

// Issue 2, semantics 9 and 11 (found by review): once shutdown has begun,
// the callback thread drops a queued closure unrun, so `stop` prevents
// nothing and returns false, as it does for one that was still armed.
#[test]
fn stop_of_a_queued_callback_during_shutdown_returns_false() {
    let (clock, driver) = manual();
    let h = driver.handle();
    // Due together: the first holds the callback thread, the second stays
    // queued.
    let Blocker {
        callback: _blocker,
        started,
        release,
    } = common::blocker(&h, ms(5));
    let (ran_tx, ran) = bounded::<()>(1);
    let queued = h.after_func(ms(5), move || ran_tx.send(()).unwrap());
    let armed = h.after_func(ms(500), || {});
    let c = clock.clone();
    let advancer = thread::spawn(move || c.advance(ms(5)));
    started
        .recv_timeout(HANG)
        .expect("the first callback started");

    let stopper = thread::spawn(move || driver.shutdown());
    wait_until_shutdown_began(&h); // `armed` kept `pending` above 0
    assert!(
        !armed.stop(),
        "armed at shutdown: the shutdown prevented it"
    );
    assert!(
        !queued.stop(),
        "queued at shutdown: the shutdown prevented it"
    );
    drop(release);
    stopper.join().unwrap();
    advancer.join().unwrap();
    assert_eq!(ran.try_recv(), Err(TryRecvError::Disconnected), "never ran");
}

// Issue 2, semantics 11, and issue 5's live sites (found by review): a
// detached callback still armed at shutdown had no handle and no job left to
// remove its entry, so it was listed as live for good.
#[test]
fn a_detached_callback_armed_at_shutdown_leaves_no_entry() {
    let (_clock, driver) = manual();
    let h = driver.handle();
    h.after_func(Duration::from_secs(3600), || {}).detach();
    assert_eq!(h.live_sites().len(), 1);
    driver.shutdown();
    assert_eq!(h.live_sites(), Vec::new(), "its entry was removed");
}

// Issue 2, semantics 11 (found by review): a callback made after shutdown
// drops its closure at once; a panic in that drop escaped before the
// handle existed, leaving its entry and live count behind.
#[test]
fn a_panicking_drop_of_a_callback_born_after_shutdown_is_caught() {
    let (_clock, driver) = manual();
    let h = driver.handle();
    driver.shutdown();
    let bomb = PanicOnDrop;
    let cb = h.after_func(ms(1), move || {
        let _b = &bomb;
    });
    let s = h.stats();
    assert_eq!((s.callbacks, s.callback_panics), (1, 1), "{s}");
    drop(cb);
    assert_eq!(h.stats().callbacks, 0);
    assert_eq!(h.live_sites(), Vec::new());
}

/// Runs its closure when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

// Issue 2, semantics 11 (found by a loom model, `loom_drop_vs_shutdown_vs_fire`):
// a timer or ticker dropped while a shutdown was still dropping what it had
// taken out of the wheel returned with its sender alive in the shutdown's
// hands, so a receiver clone reported `Empty`, not `Disconnected`, after
// `drop` returned. Here the shutdown is held in the drop of an unrun closure
// whose entry comes before theirs, and they are dropped meanwhile.
#[test]
fn a_timer_or_ticker_dropped_during_shutdown_disconnects_its_receiver_clones() {
    let (_clock, driver) = manual();
    let h = driver.handle();
    let (dropping_tx, dropping) = bounded::<()>(1);
    let (go_tx, go) = bounded::<()>(1);
    let hold = OnDrop(move || {
        dropping_tx.send(()).unwrap();
        let _ = go.recv_timeout(HANG);
    });
    let cb = h.after_func(Duration::from_secs(3600), move || drop(hold));
    let timer = h.timer(Duration::from_secs(3600));
    let ticker = h.ticker(Duration::from_secs(3600));
    let (timer_rx, ticker_rx) = (timer.receiver().clone(), ticker.receiver().clone());
    let stopper = thread::spawn(move || driver.shutdown());
    dropping
        .recv_timeout(HANG)
        .expect("the shutdown drops the unrun closure");
    drop(timer);
    let timer_seen = timer_rx.try_recv();
    drop(ticker);
    let ticker_seen = ticker_rx.try_recv();
    go_tx.send(()).unwrap();
    stopper.join().unwrap();
    assert_eq!(
        timer_seen,
        Err(TryRecvError::Disconnected),
        "the dropped timer's sender outlived its drop"
    );
    assert_eq!(
        ticker_seen,
        Err(TryRecvError::Disconnected),
        "the dropped ticker's sender outlived its drop"
    );
    assert_eq!(h.stats().callback_panics, 0);
    drop(cb);
}
