//! Bad input (issue 2, semantics 10): zero durations and past deadlines fire
//! promptly; `Duration::MAX` and deadlines beyond what the driver can
//! represent never fire, never panic, and count as armed; a zero ticker
//! period panics with a message naming the period, in every constructor and
//! in `reset`; a period shorter than the driver's resolution still ticks on
//! its exact grid. Everything but the global-driver panics runs on a manual
//! clock; "zero fires promptly" on the real clock is in `real_time.rs`.

use crossbeam_channel::TryRecvError;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickwheel::{Driver, ManualClock, Ticker};

mod common;
use common::{HANG, manual, ms};

/// A thousand years: far beyond the 584 years of nanoseconds a driver can
/// count, yet still representable as an `Instant` offset.
const MILLENNIUM: Duration = Duration::from_secs(1000 * 365 * 24 * 3600);

/// The panic message of a zero period, as far as the tests pin it down: it
/// must name the period it got.
const ZERO_PERIOD: &str = "period must be non-zero, got 0ns";

// Issue 2, semantics 10
#[test]
fn zero_duration_fires_at_the_next_advance() {
    let (clock, driver) = manual();
    clock.advance(ms(7));
    let t0 = clock.now();
    let timer = driver.handle().timer(Duration::ZERO);
    let (tx, rx) = crossbeam_channel::bounded(1);
    driver
        .handle()
        .after_func(Duration::ZERO, move || tx.send(()).unwrap())
        .detach();
    clock.advance(Duration::ZERO);
    assert_eq!(timer.try_recv(), Ok(t0), "the value is its (zero) deadline");
    assert_eq!(rx.try_recv(), Ok(()));
}

// Issue 2, semantics 10
#[test]
fn past_deadline_fires_at_the_next_advance_with_its_deadline() {
    let (clock, driver) = manual();
    clock.advance(ms(10));
    let past = clock.now() - ms(3);
    let timer = driver.handle().timer_at(past);
    let reset = driver.handle().timer(ms(100));
    assert!(reset.reset_at(past));
    clock.advance(Duration::ZERO);
    assert_eq!(timer.try_recv(), Ok(past));
    assert_eq!(reset.try_recv(), Ok(past));
}

// Issue 2, semantics 10
#[test]
fn deadline_before_the_clock_started_fires_as_time_zero() {
    let (clock, driver) = manual();
    let time_zero = clock.now(); // a manual clock's time zero: its creation
    clock.advance(ms(7));
    let long_ago = time_zero
        .checked_sub(Duration::from_secs(60))
        .expect("an instant a minute back");
    let timer = driver.handle().timer_at(long_ago);
    clock.advance(Duration::ZERO);
    assert_eq!(
        timer.try_recv(),
        Ok(time_zero),
        "due at once, delivered as the earliest instant the driver can name"
    );
}

// Issue 2, semantics 10
#[test]
fn duration_max_never_fires_and_counts_as_armed() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let timer = h.timer(Duration::MAX);
    let ticker = h.ticker(Duration::MAX);
    let token = Arc::new(());
    let t = token.clone();
    let cb = h.after_func(Duration::MAX, move || {
        let _t = &t;
        panic!("a Duration::MAX callback ran");
    });
    let reset = h.timer(ms(1));
    assert!(reset.reset(Duration::MAX), "was armed");
    assert_eq!(h.stats().pending, 4);

    clock.advance(MILLENNIUM);
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(ticker.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(reset.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(h.stats().pending, 4, "still armed");
    assert_eq!(h.stats().callback_panics, 0);

    assert!(timer.stop(), "armed, as in Go: stop prevents a delivery");
    assert!(reset.stop());
    assert!(cb.stop());
    assert_eq!(h.stats().pending, 1, "the ticker is left");
    assert_eq!(Arc::strong_count(&token), 1);
}

// Issue 2, semantics 10
#[test]
fn unrepresentable_deadline_never_fires() {
    let (clock, driver) = manual();
    // The farthest instant the platform can represent, or at least one far
    // beyond the driver's range.
    let now = clock.now();
    let far = [u64::MAX, 1 << 62, 1 << 40, MILLENNIUM.as_secs()]
        .into_iter()
        .find_map(|s| now.checked_add(Duration::from_secs(s)))
        .expect("some far instant");
    let timer = driver.handle().timer_at(far);
    let reset = driver.handle().timer(ms(1));
    assert!(reset.reset_at(far));
    clock.advance(MILLENNIUM);
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(reset.try_recv(), Err(TryRecvError::Empty));
    assert!(timer.stop());
}

// Issue 2, semantics 10
// Ported from Go's time/sleep_test.go TestOverflowSleep (first half), on the
// global driver: an overflowing timeout does not fire, nor disturb others.
#[test]
fn duration_max_on_the_global_driver_does_not_panic_or_fire() {
    let big = tickwheel::after(Duration::MAX);
    let far = tickwheel::at(Instant::now() + MILLENNIUM);
    let soon = tickwheel::after(ms(1));
    crossbeam_channel::select! {
        recv(big.receiver()) -> _ => panic!("big timeout fired"),
        recv(far.receiver()) -> _ => panic!("far deadline fired"),
        recv(soon.receiver()) -> v => assert!(v.is_ok()),
    }
    assert!(big.stop() && far.stop());
    let cb = tickwheel::after_func(Duration::MAX, || panic!("ran"));
    assert!(cb.stop());
}

// Issue 2, semantics 10
// After Go's time/tick_test.go TestNewTickerLtZeroDuration.
#[test]
#[should_panic(expected = "period must be non-zero, got 0ns")]
fn zero_period_panics_in_ticker_new() {
    let _ = Ticker::new(Duration::ZERO);
}

// Issue 2, semantics 10
#[test]
#[should_panic(expected = "period must be non-zero, got 0ns")]
fn zero_period_panics_in_tick() {
    let _ = tickwheel::tick(Duration::ZERO);
}

// Issue 2, semantics 10
#[test]
#[should_panic(expected = "period must be non-zero, got 0ns")]
fn zero_period_panics_in_handle_ticker() {
    let (_clock, driver) = manual();
    let _ = driver.handle().ticker(Duration::ZERO);
}

// Issue 2, semantics 10
// After Go's time/tick_test.go TestTickerResetLtZeroDuration.
#[test]
#[should_panic(expected = "period must be non-zero, got 0ns")]
fn zero_period_panics_in_ticker_reset() {
    let (_clock, driver) = manual();
    let ticker = driver.handle().ticker(Duration::from_secs(1));
    ticker.reset(Duration::ZERO);
}

// Issue 2, semantics 10
#[test]
fn rejected_reset_leaves_the_ticker_on_its_old_grid() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(ms(10));
    let err = catch_unwind(AssertUnwindSafe(|| ticker.reset(Duration::ZERO)))
        .expect_err("reset(0) panics");
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(msg.contains(ZERO_PERIOD), "panic message {msg:?}");
    assert_eq!(ticker.period(), ms(10));
    clock.advance(ms(10));
    assert_eq!(ticker.try_recv(), Ok(t0 + ms(10)));
    assert_eq!(driver.handle().stats().pending, 1);
}

// Issue 2, semantics 10
#[test]
#[should_panic(expected = "resolution must be at least 1 ns, got 0ns")]
fn zero_resolution_panics_naming_it() {
    let _ = Driver::builder().resolution(Duration::ZERO);
}

// Issue 2, semantics 10
// The documented choice: deadlines are exact whatever the resolution, so a
// period shorter than the resolution ticks on its exact grid (and ticks a
// busy consumer cannot take are dropped and counted, as always).
#[test]
fn period_shorter_than_the_resolution_ticks_on_its_exact_grid() {
    let clock = ManualClock::new();
    let driver = Driver::builder()
        .clock(clock.clone())
        .resolution(ms(10))
        .build()
        .unwrap();
    let t0 = clock.now();
    let ticker = driver.handle().ticker(Duration::from_micros(250));
    let timer = driver.handle().timer(Duration::from_micros(3_500));
    let mut got = Vec::new();
    for _ in 0..20 {
        clock.advance(Duration::from_micros(250));
        got.push(ticker.try_recv().expect("a tick every period") - t0);
    }
    let expected: Vec<Duration> = (1..=20).map(|k| Duration::from_micros(250) * k).collect();
    assert_eq!(got, expected);
    assert_eq!(timer.try_recv(), Ok(t0 + Duration::from_micros(3_500)));

    // Unread for one resolution tick: one delivered, the rest counted.
    clock.advance(ms(10));
    assert_eq!(ticker.try_recv(), Ok(t0 + Duration::from_micros(5_250)));
    assert_eq!(ticker.dropped(), 39);
}

// Issue 2, semantics 10 (found by review): at 1 ns resolution, after 584
// years of virtual time the wheel's own time came within its horizon of
// `u64::MAX` ticks, and filing any new deadline overflowed (a panic).
#[test]
fn one_ns_resolution_near_the_end_of_its_range_still_fires() {
    let clock = ManualClock::new();
    let driver = Driver::builder()
        .resolution(Duration::from_nanos(1))
        .clock(clock.clone())
        .build()
        .expect("a manual-clock driver");
    let h = driver.handle();
    clock.advance(Duration::from_nanos(u64::MAX - 1000));
    for _ in 0..2 {
        // The first moves the wheel's time to the clock's; the second is
        // filed from there.
        let t = h.timer(Duration::ZERO);
        clock.advance(Duration::ZERO);
        assert!(t.try_recv().is_ok(), "a zero timer fires promptly");
    }
    let t = h.timer(Duration::from_nanos(500));
    clock.advance(Duration::from_nanos(499));
    assert_eq!(t.try_recv(), Err(TryRecvError::Empty), "never early");
    clock.advance(Duration::from_nanos(1));
    assert!(t.try_recv().is_ok(), "fires at its deadline");
}

/// Found by review: `std::thread::Builder::spawn` panics on a name with a
/// NUL byte, so `build()` panicked instead of returning its documented
/// `io::Error`.
#[test]
fn thread_name_with_a_nul_byte_is_an_error() {
    let built = catch_unwind(|| Driver::builder().thread_name("tick\0wheel").build());
    let err = built.expect("build() must not panic").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

// Issue 2, semantics 10
// Ported from Go's `TestOverflowSleep` (the parts after the first select) in
// src/time/sleep_test.go, BSD-style license, on the global driver. Go also
// sleeps for the overflowing duration in a goroutine that must never wake,
// and checks that a negative timeout fires at once. A `Duration` cannot be
// negative, so the negative case becomes its nearest equivalent: a deadline
// far in the past (before the driver started). Go's 1 s bound for it
// becomes `HANG`, a hang guard: the machine running the tests is shared.
#[test]
fn go_overflow_sleep_never_wakes_a_sleeper_and_a_past_deadline_fires() {
    // A thread "sleeping" for `Duration::MAX` (Go: `Sleep(big)`), on a
    // receiver clone so the test can end its sleep by dropping the timer.
    let big = tickwheel::after(Duration::MAX);
    let (woke_tx, woke) = crossbeam_channel::bounded(1);
    let rx = big.receiver().clone();
    let sleeper = std::thread::spawn(move || woke_tx.send(rx.recv()).unwrap());
    let soon = tickwheel::after(ms(25));
    crossbeam_channel::select! {
        recv(big.receiver()) -> _ => panic!("big timeout fired"),
        recv(woke) -> v => panic!("big sleep returned: {v:?}"),
        recv(soon.receiver()) -> v => assert!(v.is_ok()),
    }
    // Ended by dropping the timer: the sleeper sees `Disconnected`, never
    // a value.
    drop(big);
    assert_eq!(
        woke.recv_timeout(HANG),
        Ok(Err(crossbeam_channel::RecvError)),
        "the sleeper got a value of a Duration::MAX timer"
    );
    sleeper.join().unwrap();

    // Go: `Sleep(neg)` returns at once and `After(neg)` fires before a 1 s
    // timer. Here: a deadline a year back, on a timer and on a sleep.
    let now = Instant::now();
    let year = Duration::from_secs(365 * 24 * 3600);
    let past = now.checked_sub(year).unwrap_or(now);
    let late = tickwheel::after(Duration::from_secs(1));
    let neg = tickwheel::at(past);
    crossbeam_channel::select! {
        recv(neg.receiver()) -> v => {
            let v = v.expect("a value");
            assert!(v <= Instant::now(), "a past deadline delivered as a future instant");
        }
        recv(late.receiver()) -> _ => {
            // Go fails here; on a loaded machine a 1 s bound is not enough
            // to call it a failure, so wait for the hang guard instead.
            assert!(neg.recv_timeout(HANG).is_ok(), "a past deadline never fired");
        }
    }
    assert!(
        tickwheel::at(past).recv_timeout(HANG).is_ok(),
        "a sleep to a past deadline returns"
    );
}

// Issue 2, semantics 3 and 10
// Ported from Go's `TestOverflowPeriodRuntimeTimer` (its helper
// `CheckRuntimeTimerPeriodOverflow`) in src/time/sleep_test.go and
// src/time/internal_test.go, BSD-style license: a periodic timer whose next
// deadline, `when + period`, overflows must neither wrap into the past (and
// fire at once, again and again) nor panic, nor leave other timers stuck.
// Go's timer fires at once with a period of 2^63 − 1 ns; a `Ticker`'s first
// tick is one period after it is made, so here the period is half the
// driver's range: the second grid point is the last nanosecond a manual
// clock can reach, and the third overflows.
#[test]
fn go_overflow_period_runtime_timer() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let t0 = clock.now();
    let period = Duration::from_nanos((u64::MAX - 1) / 2);
    let ticker = h.ticker(period);
    let smoke = h.timer(ms(25));
    clock.advance(ms(25));
    assert_eq!(smoke.try_recv(), Ok(t0 + ms(25)), "other timers still fire");

    clock.advance_to(t0 + period);
    assert_eq!(ticker.try_recv(), Ok(t0 + period), "first tick");
    // A timer made after the re-arm near the end of the range still fires.
    let after = h.timer(ms(25));
    clock.advance(ms(25));
    assert_eq!(after.try_recv(), Ok(t0 + period + ms(25)));
    assert_eq!(
        ticker.try_recv(),
        Err(TryRecvError::Empty),
        "no wrapped tick"
    );

    // As far as the clock goes: the second grid point, then nothing. On
    // another thread: a re-arm that wrapped into the past would make the
    // `advance` deliver the same tick for ever, which fails the bound
    // instead of hanging the test.
    let advanced = common::advance_in_background(&clock, MILLENNIUM);
    assert!(
        advanced.recv_timeout(HANG).is_ok(),
        "advance never returned"
    );
    assert_eq!(clock.now(), t0 + period * 2, "the clock stops at its range");
    assert_eq!(ticker.try_recv(), Ok(t0 + period * 2), "second tick");
    let advanced = common::advance_in_background(&clock, MILLENNIUM);
    assert!(
        advanced.recv_timeout(HANG).is_ok(),
        "advance never returned"
    );
    assert_eq!(ticker.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(ticker.dropped(), 0, "the overflowing tick was not dropped");
    assert_eq!(h.stats().fired, 4);
    // Armed with a deadline it never reaches, as a `Duration::MAX` one.
    assert_eq!(h.stats().pending, 1);
    ticker.stop();
    assert_eq!(h.stats().pending, 0);
}
