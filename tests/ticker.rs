//! `Ticker`, the periodic ticker, on a manual clock: ticks phase-locked to
//! `start + k·period`, a full channel drops ticks (counted) without moving
//! the grid or replaying them, capacity 1 and a driver that never blocks,
//! and `stop` / `reset` (issue 2, semantics 3, 4 and 7).
//!
//! Timelines are drawn as in tokio's interval tests: `|` a tick delivered
//! into the channel, `x` a tick dropped because the channel was full, `R` a
//! reset, `S` a stop, `^` a read.
//!
//! The "driver wakes several periods late" case of semantics 3 cannot happen
//! on a manual clock (it steps through every deadline); `real_time.rs`
//! checks the grid and the drop accounting on a real driver.

use crossbeam_channel::{TryRecvError, bounded, select};
use std::thread;
use std::time::{Duration, Instant};
use tickwheel::Ticker;

mod common;
use common::{HANG, manual, ms};

#[track_caller]
fn assert_silent(ticker: &Ticker) {
    assert_eq!(ticker.try_recv(), Err(TryRecvError::Empty));
}

/// The tick read now, as an offset from `t0`.
#[track_caller]
fn read(ticker: &Ticker, t0: Instant) -> Duration {
    ticker.try_recv().expect("a tick is waiting") - t0
}

// Issue 2, semantics 3
#[test]
fn ticker_ticks_on_its_grid_without_drift() {
    // Period 10 ms; the consumer reads after every 7 ms advance, so it reads
    // at times that are never on the grid:
    //
    // time:   0      7     14     21     28     35     42     49 ...
    // grid:   |---------|---------|---------|---------|
    //                   10        20        30        40
    // reads:         -      ^10    ^20     -     ^30    ^40     -
    //
    // Values stay exactly t0 + 10·k: the read times never shift the grid.
    let (clock, driver) = manual();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(ms(10));
    let mut got = Vec::new();
    for _ in 0..100 {
        clock.advance(ms(7));
        if let Ok(v) = ticker.try_recv() {
            got.push(v - t0);
        }
    }
    let expected: Vec<Duration> = (1..=70).map(|k| ms(10) * k).collect();
    assert_eq!(got, expected);
    assert_eq!(ticker.dropped(), 0);
}

// Issue 2, semantics 3
#[test]
fn full_channel_drops_ticks_and_keeps_the_grid() {
    // Period 10 ms; reads at 35, 47 and 75:
    //
    // time:    0    10   20   30 35 40   47 50   60   70 75 80
    // ticks:        |    x    x     |       |    x    x     |
    // reads:                   ^10     ^40          ^50       ^80
    //
    // 10 waits in the channel, so 20 and 30 are dropped; reading at 35 gets
    // 10 and nothing else (missed ticks are not replayed); 40 lands on the
    // same grid. 50 is delivered, 60 and 70 dropped.
    let (clock, driver) = manual();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(ms(10));

    clock.advance_to(t0 + ms(35));
    assert_eq!(read(&ticker, t0), ms(10));
    assert_silent(&ticker);
    assert_eq!(ticker.dropped(), 2);

    clock.advance_to(t0 + ms(47));
    assert_eq!(read(&ticker, t0), ms(40));
    assert_eq!(ticker.dropped(), 2);

    clock.advance_to(t0 + ms(75));
    assert_eq!(read(&ticker, t0), ms(50));
    assert_silent(&ticker);
    assert_eq!(ticker.dropped(), 4);

    clock.advance_to(t0 + ms(80));
    assert_eq!(read(&ticker, t0), ms(80));
    assert_eq!(driver.handle().stats().dropped_ticks, 4);
}

// Issue 2, semantics 3
// Ported from Go's time/tick_test.go TestTickTimes: a ticker read long after
// it started yields its first scheduled tick.
#[test]
fn late_reader_gets_the_first_scheduled_tick() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(ms(10));
    clock.advance(ms(500));
    assert_eq!(read(&ticker, t0), ms(10));
    assert_eq!(ticker.dropped(), 49);
}

// Issue 2, semantics 3 and 7
// Ported from Go's time/tick_test.go TestTicker: count/2 ticks at delta,
// reset to 2·delta, count/2 more; on virtual time the total is exact.
#[test]
fn go_ticker() {
    let (count, delta) = (10u32, ms(20));
    let (clock, driver) = manual();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(delta);
    for _ in 0..count / 2 {
        clock.advance(delta);
        ticker.try_recv().expect("tick");
    }
    ticker.reset(delta * 2);
    assert_eq!(ticker.period(), delta * 2);
    let mut last = t0;
    for _ in 0..count - count / 2 {
        clock.advance(delta * 2);
        last = ticker.try_recv().expect("tick");
    }
    ticker.stop();
    assert_eq!(last - t0, 3 * delta * (count / 2));

    // Now test that the ticker stopped.
    clock.advance(delta * 2);
    assert_silent(&ticker);
}

// Issue 2, semantics 4
#[test]
fn ticker_channel_has_capacity_one() {
    let (_clock, driver) = manual();
    let ticker = driver.handle().ticker(ms(1));
    assert_eq!(ticker.receiver().capacity(), Some(1));
}

// Issue 2, semantics 4
#[test]
fn unread_ticker_never_blocks_the_driver() {
    // A ticker nobody reads, and a timer due after 1000 of its periods:
    //
    // time:   0   1   2   3  ...  999 1000
    // ticker:     |   x   x  ...   x   x
    // timer:                           |
    //
    // The advance returns (the driver dropped ticks instead of waiting for
    // room) and the timer was delivered on time.
    let (clock, driver) = manual();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(ms(1));
    let timer = driver.handle().timer(ms(1000));
    clock.advance(ms(1000));
    assert_eq!(timer.try_recv(), Ok(t0 + ms(1000)));
    assert_eq!(read(&ticker, t0), ms(1));
    assert_eq!(ticker.dropped(), 999);
}

// Issue 2, semantics 7
#[test]
fn stop_withdraws_the_waiting_tick_and_silences_the_ticker() {
    // time:    0    10   15   20   30 ... 100
    // ticks:        |    S    -    -  ...  -
    let (clock, driver) = manual();
    let ticker = driver.handle().ticker(ms(10));
    clock.advance(ms(15));
    assert!(!ticker.receiver().is_empty(), "tick 10 is waiting");

    ticker.stop();
    assert_silent(&ticker);
    clock.advance(ms(100));
    assert_silent(&ticker);
    assert_eq!(ticker.dropped(), 0, "a stopped ticker has no ticks to drop");
    assert_eq!(driver.handle().stats().pending, 0);
}

// Issue 2, semantics 7
#[test]
fn reset_restarts_the_grid_from_now() {
    // Period 10 ms, reset to 4 ms at 25 while tick 20 is unread:
    //
    // time:   0    10   20 25  29  33  37
    // ticks:       |    x  R   |   |   |
    //                   (10 unread, 20 dropped; R withdraws 10)
    // values after the reset: 29, 33, 37 — the old grid (30, 40) is gone.
    let (clock, driver) = manual();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(ms(10));
    clock.advance_to(t0 + ms(25));

    ticker.reset(ms(4));
    assert_silent(&ticker);
    assert_eq!(ticker.period(), ms(4));
    let mut got = Vec::new();
    for _ in 0..3 {
        clock.advance(ms(4));
        got.push(read(&ticker, t0));
    }
    assert_eq!(got, [ms(29), ms(33), ms(37)]);
}

// Issue 2, semantics 7
#[test]
fn reset_after_stop_starts_a_new_grid() {
    // Period 10 ms, stopped at 12, reset to 7 ms at 17:
    //
    // time:   0    10 12   17   20   24   31
    // ticks:       |  S    R    -    |    |
    //
    // 20 (old grid) never comes; the new grid is 17 + 7·k.
    let (clock, driver) = manual();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(ms(10));
    clock.advance(ms(10));
    assert_eq!(read(&ticker, t0), ms(10));
    clock.advance(ms(2));
    ticker.stop();
    clock.advance(ms(5));
    assert_silent(&ticker);

    ticker.reset(ms(7));
    clock.advance(ms(6));
    assert_silent(&ticker); // 20 of the old grid never comes
    clock.advance(ms(1));
    assert_eq!(read(&ticker, t0), ms(24));
    clock.advance(ms(7));
    assert_eq!(read(&ticker, t0), ms(31));
}

// Issue 2, semantics 3
#[test]
fn iter_and_into_iter_yield_ticks() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(ms(3));
    clock.advance(ms(3));
    assert_eq!(ticker.iter().next().map(|v| v - t0), Some(ms(3)));
    clock.advance(ms(3));
    assert_eq!((&ticker).into_iter().next().map(|v| v - t0), Some(ms(6)));
}

// Issue 2, semantics 3, 7 and 12
// Ported from Go's time/tick_test.go TestChan (testTimerChan, Ticker case,
// the synchronous-channel variant of Go 1.23), on virtual time. Go's
// "imminent" 1 ns period becomes 1 ms here: on a manual clock every tick is
// a step, and only the order of events matters.
#[test]
fn go_chan_ticker() {
    let (clock, driver) = manual();
    let far = Duration::from_secs(10_000);
    let soon = ms(1);
    let tim = driver.handle().ticker(far);

    tim.stop();
    assert_silent(&tim);
    tim.reset(far);
    assert_silent(&tim);

    // Modify while armed.
    tim.reset(soon);
    clock.advance(soon);
    tim.try_recv().expect("missing tick");
    // A second tick is due by now; reset must not leave it behind.
    clock.advance(soon);
    tim.reset(far);
    assert_silent(&tim);

    // Reset while another thread is blocked receiving.
    let (done_tx, done) = bounded::<()>(1);
    let rx = tim.receiver().clone();
    let reader = thread::spawn(move || {
        rx.recv().unwrap();
        done_tx.send(()).unwrap();
    });
    assert!(done.try_recv().is_err(), "early done");
    tim.reset(2 * far);
    clock.advance(ms(10));
    assert!(done.try_recv().is_err(), "early done");
    tim.reset(soon);
    clock.advance(soon);
    done.recv_timeout(HANG).expect("never got done");
    reader.join().unwrap();
    // A ticker: the next tick comes one period later.
    clock.advance(soon);
    tim.try_recv().expect("missing tick");

    tim.stop();
    assert_silent(&tim);

    // Waiters in select! on a stopped ticker get nothing.
    let (stop_tx, stop) = bounded::<()>(0);
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let (rx, stop) = (tim.receiver().clone(), stop.clone());
            thread::spawn(move || {
                select! {
                    recv(rx) -> v => panic!("unexpected data {v:?}"),
                    recv(stop) -> _ => {}
                }
            })
        })
        .collect();
    clock.advance(ms(10));
    drop(stop_tx);
    for w in waiters {
        w.join().unwrap();
    }

    // Stop and reset block old values from being received.
    tim.reset(soon);
    clock.advance(ms(10));
    tim.stop();
    assert_silent(&tim);
    tim.reset(Duration::from_secs(3600));
    assert_silent(&tim);
    tim.reset(soon);
    clock.advance(soon);
    tim.try_recv().expect("missing tick");
    clock.advance(ms(10));
    tim.try_recv().expect("a ticker keeps ticking");
    tim.reset(Duration::from_secs(3600));
    assert_silent(&tim);
}

// Issue 2, semantics 10 (added by test review): a period the driver cannot
// count (584 years or more) reads back as the longest it can, and such a
// ticker never ticks, but it is armed (as in Go) until stopped.
#[test]
fn a_period_beyond_the_drivers_range_reads_as_its_longest_and_never_ticks() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let ticker = h.ticker(Duration::MAX);
    assert_eq!(ticker.period(), Duration::from_nanos(u64::MAX));
    assert_eq!(h.stats().pending, 1);
    clock.advance(Duration::from_secs(1000 * 365 * 24 * 3600));
    assert_eq!(ticker.try_recv(), Err(TryRecvError::Empty));
    ticker.stop();
    assert_eq!(h.stats().pending, 0);
}

// Issue 2, semantics 7 and 8
// Ported from Go's `TestTeardown` in src/time/tick_test.go, BSD-style
// license: make a ticker, take one tick, stop it, three times over; Go's
// check is that tearing a ticker down does not deadlock. Here also: the
// tick is the one a period after the ticker was made, each stop empties the
// wheel and silences the ticker, and nothing is left live afterwards. On
// virtual time, then on a real driver (Go's 20 ms period; the receive is
// bounded by the hang guard only, and the value must not be early).
#[test]
fn go_teardown() {
    let (clock, driver) = manual();
    let h = driver.handle();
    for _ in 0..3 {
        let t0 = clock.now();
        let ticker = h.ticker(ms(20));
        clock.advance(ms(20));
        assert_eq!(ticker.recv_timeout(HANG), Ok(t0 + ms(20)));
        ticker.stop();
        assert_eq!(h.stats().pending, 0, "stop left the entry armed");
        clock.advance(ms(40));
        assert_silent(&ticker);
    }
    assert_eq!(h.stats().tickers, 0);

    let driver = common::real_driver("go-teardown");
    let h = driver.handle();
    for _ in 0..3 {
        let made = Instant::now();
        let ticker = h.ticker(ms(20));
        let tick = ticker.recv_timeout(HANG).expect("a tick, no deadlock");
        assert!(tick >= made + ms(20), "early tick: {:?}", tick - made);
        ticker.stop();
        assert_eq!(h.stats().pending, 0, "stop left the entry armed");
        assert_silent(&ticker);
    }
    assert_eq!(h.stats().tickers, 0);
}

// Issue 2, semantics 3 and 12
// Ported from Go's `TestTickerStress` in src/time/sleep_test.go, BSD-style
// license: one thread takes 100 ticks of a 1 ns ticker while another keeps
// the runtime busy (Go: `runtime.GC` and `Sleep(1ns)` in a loop; here:
// making, advancing past and dropping timers of the same driver, which
// takes the wheel lock the ticker needs). On a manual clock advanced 1 ns at
// a time by a third thread, so the tick accounting can be exact: every grid
// point the clock passed was received, dropped, or is still waiting.
#[test]
fn go_ticker_stress() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let ns = Duration::from_nanos(1);
    let (clock, driver) = manual();
    let h = driver.handle();
    let t0 = clock.now();
    let ticker = h.ticker(ns);
    let stop = Arc::new(AtomicBool::new(false));
    let advancer = {
        let (clock, stop) = (clock.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(SeqCst) {
                clock.advance(ns);
            }
        })
    };
    let churn = {
        let (h, stop) = (h.clone(), stop.clone());
        thread::spawn(move || {
            let mut made = 0u64;
            while !stop.load(SeqCst) {
                let t = h.timer(ns);
                let _ = t.try_recv();
                drop(h.after_func(ns, || {}));
                made += 1;
                thread::yield_now();
            }
            made
        })
    };
    let mut values = Vec::with_capacity(100);
    for _ in 0..100 {
        values.push(ticker.recv_timeout(HANG).expect("a tick"));
    }
    stop.store(true, SeqCst);
    advancer.join().unwrap();
    let made = churn.join().unwrap();

    let passed = clock.elapsed().as_nanos() as u64;
    let waiting = ticker.receiver().len() as u64;
    assert_eq!(
        values.len() as u64 + ticker.dropped() + waiting,
        passed,
        "ticks lost or invented"
    );
    assert_eq!(values[0], t0 + ns, "the first grid point is delivered");
    assert!(
        values.windows(2).all(|w| w[0] < w[1]),
        "ticks out of order or delivered twice"
    );
    ticker.stop();
    assert_silent(&ticker);
    let stats = h.stats();
    assert_eq!((stats.pending, stats.timers, stats.callbacks), (0, 0, 0));
    eprintln!("{passed} grid points, {made} churn rounds");
}
