//! `ManualClock`, virtual time for tests (issue 3, semantics 1–6): a driver
//! on it never fires on its own; `advance` returns only once everything due
//! has been handled, in deadline order; delivered instants are virtual and
//! exact; durations are measured from the virtual now; several threads may
//! advance at once; callbacks' own timers fire within the same advance.

use crossbeam_channel::{RecvTimeoutError, TryRecvError, bounded, unbounded};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use tickwheel::{Driver, Handle, ManualClock};

mod common;
use common::{HANG, NS, advance_in_background, manual, ms, real_driver, us};

// Issue 3, semantics 1
#[test]
fn manual_driver_never_fires_on_its_own() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let timer = driver.handle().timer(NS);
    let (tx, rx) = bounded(1);
    driver
        .handle()
        .after_func(Duration::ZERO, move || tx.send(()).unwrap())
        .detach();
    // Real time passes (this is the one place where it must); virtual time
    // does not, and nothing fires.
    assert_eq!(timer.recv_timeout(ms(30)), Err(RecvTimeoutError::Timeout));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(clock.now(), t0);
    assert_eq!(clock.elapsed(), Duration::ZERO);
    assert_eq!(
        driver.handle().now(),
        t0,
        "the handle reads the virtual clock"
    );

    clock.advance(NS);
    assert_eq!(timer.try_recv(), Ok(t0 + NS));
    assert_eq!(rx.try_recv(), Ok(()));
}

// Issue 3, semantics 1 and 3
#[test]
fn now_is_the_base_plus_virtual_elapsed_time() {
    let clock = ManualClock::new();
    let base = clock.now();
    clock.advance(ms(1500));
    clock.advance(NS);
    assert_eq!(clock.elapsed(), ms(1500) + NS);
    assert_eq!(clock.now(), base + ms(1500) + NS);
    // advance_to into the past is a no-op: time never goes back.
    clock.advance_to(base + ms(3));
    assert_eq!(clock.now(), base + ms(1500) + NS);
    clock.advance_to(base + ms(2000));
    assert_eq!(clock.elapsed(), ms(2000));
    // Clones share the time.
    assert_eq!(clock.clone().now(), clock.now());
}

// Issue 3: `advance_to` a past instant moves no time, but, like
// `advance(Duration::ZERO)`, handles what is already due.
#[test]
fn advance_to_the_past_still_fires_what_is_due() {
    let (clock, driver) = manual();
    clock.advance(ms(10));
    let now = clock.now();
    let timer = driver.handle().timer(Duration::ZERO);
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
    clock.advance_to(now - ms(5));
    assert_eq!(clock.now(), now, "time never goes back");
    assert_eq!(timer.try_recv(), Ok(now));
}

// Issue 3, semantics 2
#[test]
fn advance_returns_after_values_are_in_their_channels() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let timers: Vec<_> = (1..=50).map(|i| h.timer(us(i * 7))).collect();
    let ticker = h.ticker(us(20));
    clock.advance(us(350));
    for t in &timers {
        assert!(t.try_recv().is_ok(), "a due value was not in its channel");
    }
    assert!(ticker.try_recv().is_ok());
}

// Issue 3, semantics 2
#[test]
fn advance_returns_after_due_callbacks_finished() {
    let (clock, driver) = manual();
    let finished = Arc::new(AtomicUsize::new(0));
    for i in 1..=3 {
        let f = finished.clone();
        driver
            .handle()
            .after_func(ms(i), move || {
                // Slow work, so that an advance that did not wait for the
                // callback would return before this is done.
                thread::sleep(ms(5));
                f.fetch_add(1, SeqCst);
            })
            .detach();
    }
    clock.advance(ms(3));
    assert_eq!(finished.load(SeqCst), 3);
}

// Issue 3, semantics 2
#[test]
fn ticker_advanced_by_ten_periods_delivers_one_and_drops_nine() {
    // time:   0  1  2  3  4  5  6  7  8  9  10
    // ticks:     |  x  x  x  x  x  x  x  x  x
    let (clock, driver) = manual();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(ms(1));
    clock.advance(ms(10));
    assert_eq!(ticker.try_recv(), Ok(t0 + ms(1)));
    assert_eq!(ticker.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(ticker.dropped(), 9);
}

// Issue 3, semantics 2
#[test]
fn deadlines_are_handled_in_order_and_callbacks_see_their_moment() {
    // One advance of 10 ms; each callback looks at the world at its own
    // deadline:
    //
    // time:       0   1    2  2.5  3  3.5   4 ... 10
    // ticker 1ms:     |    x       x        x ...  x
    // timer 3ms:                   |
    // callbacks:           ^2.5       ^3.5
    let (clock, driver) = manual();
    let h = driver.handle();
    let t0 = clock.now();
    let ticker = Arc::new(h.ticker(ms(1)));
    let timer = Arc::new(h.timer(ms(3)));
    let seen = Arc::new(Mutex::new(Vec::new()));
    for at in [us(3500), us(2500)] {
        let (ticker, timer, seen, c) = (ticker.clone(), timer.clone(), seen.clone(), clock.clone());
        h.after_func(at, move || {
            seen.lock()
                .push((c.now() - t0, ticker.dropped(), timer.receiver().len()));
        })
        .detach();
    }
    clock.advance(ms(10));
    assert_eq!(*seen.lock(), [(us(2500), 1, 0), (us(3500), 2, 1)]);
    assert_eq!(ticker.dropped(), 9);
    assert_eq!(timer.try_recv(), Ok(t0 + ms(3)));
}

// Issue 3, semantics 2
#[test]
fn one_clock_drives_several_drivers_in_deadline_order() {
    let clock = ManualClock::new();
    let a = Driver::builder().clock(clock.clone()).build().unwrap();
    let b = Driver::builder().clock(clock.clone()).build().unwrap();
    let t0 = clock.now();
    let log = Arc::new(Mutex::new(Vec::new()));
    for (name, driver, at) in [("a", &a, 1), ("b", &b, 2), ("a", &a, 3), ("b", &b, 4)] {
        let (log, c) = (log.clone(), clock.clone());
        driver
            .handle()
            .after_func(ms(at), move || log.lock().push((name, c.now() - t0)))
            .detach();
    }
    clock.advance(ms(5));
    assert_eq!(
        *log.lock(),
        [("a", ms(1)), ("b", ms(2)), ("a", ms(3)), ("b", ms(4))]
    );
}

// Issue 3, semantics 3
#[test]
fn delivered_instants_are_virtual_and_exact() {
    let (clock, driver) = manual();
    clock.advance(us(3_700));
    let start = clock.now();
    let timer = driver.handle().timer(ms(5));
    let ticker = driver.handle().ticker(ms(2));
    clock.advance(ms(5));
    assert_eq!(timer.recv().unwrap() - start, ms(5));
    assert_eq!(ticker.recv().unwrap() - start, ms(2));
}

// Issue 3, semantics 4
#[test]
fn durations_are_measured_from_the_virtual_now() {
    let (clock, driver) = manual();
    let h: Handle = driver.handle();
    clock.advance(Duration::from_secs(1));
    let t1 = clock.now();
    assert_eq!(h.now(), t1);
    let timer = h.timer(ms(10));
    let ticker = h.ticker(ms(10));
    clock.advance(ms(10) - NS);
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(ticker.try_recv(), Err(TryRecvError::Empty));
    clock.advance(NS);
    assert_eq!(timer.try_recv(), Ok(t1 + ms(10)));
    assert_eq!(ticker.try_recv(), Ok(t1 + ms(10)));
}

// Issue 3, semantics 5
#[test]
fn concurrent_advances_add_up_and_each_call_sees_its_own_deadlines_handled() {
    const THREADS: u32 = 4;
    const STEPS: u32 = 50;
    let d = us(100);
    let total = (THREADS * STEPS) as usize;
    let (clock, driver) = manual();
    let t0 = clock.now();

    // One callback per step of virtual time; each records that it ran and
    // whether it ran exactly at its deadline.
    let ran: Arc<Vec<AtomicBool>> = Arc::new((0..=total).map(|_| AtomicBool::new(false)).collect());
    let late = Arc::new(AtomicUsize::new(0));
    for k in 1..=total {
        let (ran, late, c) = (ran.clone(), late.clone(), clock.clone());
        let at = d * k as u32;
        driver
            .handle()
            .after_func(at, move || {
                if c.now() != t0 + at {
                    late.fetch_add(1, SeqCst);
                }
                ran[k].store(true, SeqCst);
            })
            .detach();
    }

    let completed = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(THREADS as usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (clock, ran, completed, start) =
                (clock.clone(), ran.clone(), completed.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for _ in 0..STEPS {
                    // `c` calls returned before this one began, so this
                    // call's target is at least (c + 1)·d, and everything
                    // due by then has been handled when it returns.
                    let c = completed.load(SeqCst);
                    clock.advance(d);
                    for (k, flag) in ran.iter().enumerate().take(c + 2).skip(1) {
                        assert!(flag.load(SeqCst), "callback {k} not run after advance");
                    }
                    completed.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(clock.elapsed(), d * THREADS * STEPS, "n·d exactly");
    assert!(ran.iter().skip(1).all(|f| f.load(SeqCst)));
    assert_eq!(
        late.load(SeqCst),
        0,
        "a callback saw a time other than its deadline"
    );
}

// Issue 3, semantics 6
#[test]
fn timers_created_by_a_callback_fire_within_the_same_advance() {
    // One advance of 5 ms:
    //
    // time:   0    1    2    3    4    5   |  6    7
    // cb A:        ^ creates timer T (3), callback B (2), timer L (7)
    // cb B:             ^ creates timer U (3)
    // T, U:                  |
    // L:                                   |       | (next advance)
    let (clock, driver) = manual();
    let h = driver.handle();
    let t0 = clock.now();
    let (tx, rx) = unbounded();
    let hh = h.clone();
    h.after_func(ms(1), move || {
        tx.send(("T", hh.timer(ms(2)))).unwrap();
        tx.send(("L", hh.timer(ms(6)))).unwrap();
        let (h2, tx2) = (hh.clone(), tx.clone());
        hh.after_func(ms(1), move || tx2.send(("U", h2.timer(ms(1)))).unwrap())
            .detach();
    })
    .detach();

    clock.advance(ms(5));
    let timers: Vec<_> = rx.try_iter().collect();
    let names: Vec<&str> = timers.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["T", "L", "U"]);
    assert_eq!(timers[0].1.try_recv(), Ok(t0 + ms(3)));
    assert_eq!(timers[2].1.try_recv(), Ok(t0 + ms(3)));
    assert_eq!(
        timers[1].1.try_recv(),
        Err(TryRecvError::Empty),
        "L is not due yet"
    );
    clock.advance(ms(2));
    assert_eq!(timers[1].1.try_recv(), Ok(t0 + ms(7)));
}

// Issue 3, semantics 2
#[test]
fn advance_from_inside_a_callback_panics_instead_of_deadlocking() {
    let (clock, driver) = manual();
    let (tx, rx) = bounded(1);
    let c = clock.clone();
    driver
        .handle()
        .after_func(ms(1), move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.advance(ms(1))));
            let msg = r.err().and_then(|e| {
                e.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| e.downcast_ref::<String>().cloned())
            });
            tx.send(msg).unwrap();
        })
        .detach();
    clock.advance(ms(1));
    let msg = rx.try_recv().unwrap().expect("advance panicked");
    assert!(msg.contains("advance"), "message {msg:?}");
    assert_eq!(clock.elapsed(), ms(1));
}

/// The panic message of `f`, if it panics.
fn panic_message(f: impl FnOnce()) -> Option<String> {
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).err()?;
    e.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
}

/// Runs `recv` in a callback of `on` due 1 ms ahead, advances `clock` in
/// the background (so that a hang fails the test instead of hanging it),
/// and returns what `recv` panicked with.
fn panic_of_recv_in_a_callback(
    clock: &ManualClock,
    on: &Handle,
    recv: impl FnOnce() + Send + 'static,
) -> String {
    let (tx, rx) = bounded(1);
    on.after_func(ms(1), move || tx.send(panic_message(recv)).unwrap())
        .detach();
    let done = advance_in_background(clock, ms(1));
    let msg = rx
        .recv_timeout(HANG)
        .expect("the callback hung in recv")
        .expect("recv panicked");
    done.recv_timeout(HANG).expect("advance returned");
    msg
}

// ManualClock docs: a callback that blocks on a later virtual deadline would
// hang `advance`; `Timer::recv` sees that case and panics instead.
#[test]
fn timer_recv_in_a_callback_of_the_same_clock_panics_instead_of_deadlocking() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let h2 = h.clone();
    let msg = panic_of_recv_in_a_callback(&clock, &h, move || {
        let later = h2.timer(ms(1));
        let _ = later.recv();
    });
    assert!(
        msg.contains("Timer::recv") && msg.contains("deadlock"),
        "message {msg:?}"
    );
    assert_eq!(driver.handle().stats().callback_panics, 0, "caught inside");
}

// The same for a ticker of another driver on the same clock.
#[test]
fn ticker_recv_in_a_callback_on_another_driver_of_the_same_clock_panics() {
    let (clock, a) = manual();
    let b = Driver::builder().clock(clock.clone()).build().unwrap();
    let ticker = b.handle().ticker(ms(5));
    let msg = panic_of_recv_in_a_callback(&clock, &a.handle(), move || {
        let _ = ticker.recv();
    });
    assert!(
        msg.contains("Ticker::recv") && msg.contains("deadlock"),
        "message {msg:?}"
    );
}

// No false alarm: a value already delivered (the timer is due at the same
// step as the callback, and values are in their channels before callbacks
// start) is received.
#[test]
fn recv_in_a_callback_takes_a_value_already_delivered() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let timer = h.timer(ms(1));
    let (tx, rx) = bounded(1);
    h.after_func(ms(1), move || tx.send(timer.recv()).unwrap())
        .detach();
    clock.advance(ms(1));
    assert_eq!(rx.try_recv().unwrap(), Ok(clock.now()));
}

// No false alarm on the callback thread of a real-clock driver: nothing
// there waits for the manual clock's advance, so `recv` blocks until the
// test advances. (The gate makes it likely that the callback is already in
// `recv`, with nothing to receive, when the advance comes.)
#[test]
fn recv_in_a_callback_of_a_real_clock_driver_waits_for_the_manual_clock() {
    let (clock, driver) = manual();
    let real = real_driver("tw-real-callback");
    let timer = driver.handle().timer(ms(1));
    let (started_tx, started) = bounded(1);
    let (tx, rx) = bounded(1);
    real.handle()
        .after_func(Duration::ZERO, move || {
            started_tx.send(()).unwrap();
            tx.send(timer.recv()).unwrap();
        })
        .detach();
    started.recv_timeout(HANG).expect("callback started");
    clock.advance(ms(1));
    assert_eq!(
        rx.recv_timeout(HANG)
            .expect("the callback panicked or hung"),
        Ok(clock.now())
    );
}

/// What a blocking notification's `recv` returned.
type Received = Result<std::time::Instant, crossbeam_channel::RecvError>;

/// A driver on a new manual clock whose site-threshold notification (a
/// threshold of 0: every creation crosses it) blocks in `recv` on the timer
/// sent on the returned sender, and then sends what it received on the
/// returned receiver; the first crossing waits for that timer, later ones
/// return at once (once the sender is dropped). Also returns a receiver
/// that hears when the notification has its timer.
fn blocking_notification() -> (
    ManualClock,
    Driver,
    crossbeam_channel::Sender<tickwheel::Timer>,
    crossbeam_channel::Receiver<()>,
    crossbeam_channel::Receiver<Received>,
) {
    let clock = ManualClock::new();
    let (timer_tx, timer_rx) = bounded::<tickwheel::Timer>(1);
    let (started_tx, started) = bounded(1);
    let (tx, rx) = bounded(1);
    let driver = Driver::builder()
        .clock(clock.clone())
        .on_site_threshold(0, move |_| {
            // Only the first crossing comes with a timer; the others return.
            let Ok(timer) = timer_rx.recv_timeout(HANG) else {
                return;
            };
            started_tx.send(()).unwrap();
            tx.send(timer.recv()).unwrap();
        })
        .build()
        .unwrap();
    (clock, driver, timer_tx, started, rx)
}

// No false alarm in a site-threshold notification: it runs on the callback
// thread too, but no `advance` waits for it before delivering, so a `recv`
// there is answered by the next advance.
#[test]
fn recv_in_a_site_threshold_notification_waits_for_the_advance() {
    let (clock, driver, timer_tx, started, rx) = blocking_notification();
    timer_tx.send(driver.handle().timer(ms(1))).unwrap();
    started.recv_timeout(HANG).expect("notification started");
    clock.advance(ms(1));
    assert_eq!(
        rx.recv_timeout(HANG)
            .expect("the notification panicked or hung"),
        Ok(clock.now())
    );
}

// Found by review: the test above, with the notification's timer due at the
// second step of the advance instead of the first. Notifications were
// counted with the callbacks, so the first step (a plain timer, no
// callback) waited for the blocked notification before moving on to the
// step that would answer it: `advance` hung until the driver shut down.
#[test]
fn recv_in_a_site_threshold_notification_is_answered_by_a_later_step() {
    let (clock, driver, timer_tx, started, rx) = blocking_notification();
    let h = driver.handle();
    timer_tx.send(h.timer(ms(2))).unwrap();
    started.recv_timeout(HANG).expect("notification started");
    // Made at a line of its own, so its own crossing is notified too, behind
    // the blocked one: it returns at once once it gets to run.
    drop(timer_tx);
    let earlier = h.timer(ms(1));
    let done = advance_in_background(&clock, ms(2));
    assert!(
        done.recv_timeout(HANG).is_ok(),
        "advance waited for the notification at its first step"
    );
    assert_eq!(earlier.try_recv(), Ok(clock.now() - ms(1)));
    assert_eq!(
        rx.recv_timeout(HANG)
            .expect("the notification panicked or hung"),
        Ok(clock.now())
    );
}

// No false alarm for a timer of another manual clock: the advance waiting
// for the callback is not the one that delivers it. (The short sleep lets
// the callback reach `recv` with nothing to receive before the other clock
// moves, which is what a too-broad check would trip on; it bounds nothing.)
#[test]
fn recv_in_a_callback_on_a_timer_of_another_manual_clock_waits_for_that_clock() {
    let (clock, driver) = manual();
    let (other, other_driver) = manual();
    let timer = other_driver.handle().timer(ms(1));
    let (started_tx, started) = bounded(1);
    let (tx, rx) = bounded(1);
    driver
        .handle()
        .after_func(ms(1), move || {
            started_tx.send(()).unwrap();
            tx.send(timer.recv()).unwrap();
        })
        .detach();
    let done = advance_in_background(&clock, ms(1));
    started.recv_timeout(HANG).expect("callback started");
    thread::sleep(ms(20));
    other.advance(ms(1));
    assert_eq!(
        rx.recv_timeout(HANG)
            .expect("the callback panicked or hung"),
        Ok(other.now())
    );
    done.recv_timeout(HANG).expect("advance returned");
}
