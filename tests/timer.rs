//! `Timer`, the one-shot timer, on a manual clock: never early, the value is
//! the scheduled deadline, exactly one value per arming, capacity 1, and the
//! exact return values and no-stale-value guarantees of `stop` and `reset`
//! (issue 2, semantics 1, 2, 4, 5 and 6). The few checks that need the real
//! clock are in `real_time.rs`; races with other threads are in
//! `concurrency.rs`.

use crossbeam_channel::{TryRecvError, bounded, select};
use std::thread;
use std::time::Duration;
use tickwheel::Timer;

mod common;
use common::{HANG, NS, SLOTS, XorShift, manual, ms};

/// Asserts that nothing is waiting on the timer's channel right now, and
/// that the channel is still open.
#[track_caller]
fn assert_silent(timer: &Timer) {
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
}

// Issue 2, semantics 1
#[test]
fn timer_is_never_early_and_delivers_its_deadline() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let timer = driver.handle().timer(ms(5));

    clock.advance(ms(5) - NS);
    assert_silent(&timer);
    clock.advance(NS);
    assert_eq!(timer.try_recv(), Ok(t0 + ms(5)));
}

// Issue 2, semantics 1 (added by test review): "never early" at the
// driver, not only at the wheel. On a manual clock the driver steps exactly
// to each deadline, so a timer alone cannot tell a step that collects
// `now + 1` from one that collects `now`: a second entry 1 ns later can.
// Timers, a ticker and a callback, each 1 ns after a timer that fires.
#[test]
fn an_entry_one_ns_after_a_due_one_is_not_delivered_with_it() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let t0 = clock.now();
    let first = h.timer(ms(5));
    let next = h.timer(ms(5) + NS);
    let ticker = h.ticker(ms(5) + NS);
    let (tx, rx) = bounded(1);
    let cb = h.after_func(ms(5) + NS, move || tx.send(()).unwrap());

    clock.advance(ms(5));
    assert_eq!(first.try_recv(), Ok(t0 + ms(5)));
    assert_silent(&next);
    assert_eq!(
        ticker.try_recv(),
        Err(TryRecvError::Empty),
        "ticker 1 ns early"
    );
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "callback 1 ns early"
    );
    assert_eq!(h.stats().fired, 1);

    clock.advance(NS);
    assert_eq!(next.try_recv(), Ok(t0 + ms(5) + NS));
    assert_eq!(ticker.try_recv(), Ok(t0 + ms(5) + NS));
    assert_eq!(rx.try_recv(), Ok(()));
    drop(cb);
}

// Issue 2, semantics 1
// Ported from Go's time/tick_test.go TestAfterTimes: a value read long after
// the deadline is still the deadline, not the time it was read.
#[test]
fn value_read_late_is_the_deadline_not_the_read_time() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let timer = driver.handle().timer(ms(10));
    clock.advance(ms(500));
    assert_eq!(timer.recv(), Ok(t0 + ms(10)));
}

// Issue 2, semantics 1
#[test]
fn timer_at_delivers_exactly_the_requested_instant() {
    let (clock, driver) = manual();
    clock.advance(Duration::from_nanos(3_141_593));
    let deadline = clock.now() + Duration::from_nanos(1_234_567);
    let timer = driver.handle().timer_at(deadline);

    clock.advance_to(deadline - NS);
    assert_silent(&timer);
    clock.advance_to(deadline);
    assert_eq!(timer.try_recv(), Ok(deadline));
}

// Issue 2, semantics 1
// Ported from Go's time/sleep_test.go TestAfterQueuing: timers created in a
// scrambled order fire slot by slot, each with its exact deadline.
#[test]
fn timers_fire_in_deadline_order_with_exact_values() {
    let delta = ms(20);
    let (clock, driver) = manual();
    let t0 = clock.now();
    let timers: Vec<(u32, Timer)> = SLOTS
        .iter()
        .map(|&slot| (slot, driver.handle().timer(delta * slot)))
        .collect();

    // Slot 0 is due at creation: it fires at the next advance, even of zero.
    clock.advance(Duration::ZERO);
    for step in 0..=9u32 {
        if step > 0 {
            clock.advance(delta);
        }
        for (slot, timer) in &timers {
            if *slot == step {
                assert_eq!(timer.try_recv(), Ok(t0 + delta * step), "slot {slot}");
            } else {
                // Earlier slots were received already; later ones not due.
                assert_silent(timer);
            }
        }
    }
}

// Issue 2, semantics 2
#[test]
fn timer_delivers_exactly_one_value_per_arming() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let timer = driver.handle().timer(ms(5));

    // Left unread while time goes on: still just one value.
    for _ in 0..10 {
        clock.advance(ms(5));
    }
    assert_eq!(timer.try_recv(), Ok(t0 + ms(5)));
    clock.advance(ms(50));
    assert_silent(&timer);

    // A second arming: one more value, and only one.
    let t1 = clock.now();
    assert!(!timer.reset(ms(5)), "the first value was received");
    for _ in 0..10 {
        clock.advance(ms(5));
    }
    assert_eq!(timer.try_recv(), Ok(t1 + ms(5)));
    assert_silent(&timer);
    assert_eq!(driver.handle().stats().fired, 2);
}

// Issue 2, semantics 4
#[test]
fn timer_channel_has_capacity_one() {
    let (_clock, driver) = manual();
    let timer = driver.handle().timer(ms(5));
    assert_eq!(timer.receiver().capacity(), Some(1));
}

// Issue 2, semantics 5
#[test]
fn stop_of_an_armed_timer_returns_true_and_it_never_fires() {
    let (clock, driver) = manual();
    let timer = driver.handle().timer(ms(5));
    clock.advance(ms(4));
    assert!(timer.stop());
    clock.advance(ms(100));
    assert_silent(&timer);
    assert_eq!(driver.handle().stats().pending, 0);
}

// Issue 2, semantics 5
#[test]
fn stop_of_a_fired_unread_timer_returns_true_and_withdraws_the_value() {
    let (clock, driver) = manual();
    let timer = driver.handle().timer(ms(5));
    clock.advance(ms(5));
    assert!(!timer.receiver().is_empty(), "the value is in the channel");

    assert!(
        timer.stop(),
        "stop withdrew the value, so it prevented a delivery"
    );
    assert_silent(&timer);
    clock.advance(ms(100));
    assert_silent(&timer);
}

// Issue 2, semantics 5
#[test]
fn stop_after_the_value_was_received_returns_false() {
    let (clock, driver) = manual();
    let timer = driver.handle().timer(ms(5));
    clock.advance(ms(5));
    timer.try_recv().expect("fired");
    assert!(!timer.stop());
}

// Issue 2, semantics 5
#[test]
fn second_stop_returns_false() {
    let (clock, driver) = manual();
    let armed = driver.handle().timer(ms(5));
    assert!(armed.stop());
    assert!(!armed.stop());

    let fired = driver.handle().timer(ms(5));
    clock.advance(ms(5));
    assert!(fired.stop());
    assert!(!fired.stop());
}

// Issue 2, semantics 5
#[test]
fn stopped_timer_channel_stays_open_and_silent_in_select() {
    let (clock, driver) = manual();
    let timer = driver.handle().timer(ms(5));
    let other = driver.handle().timer(ms(10));
    assert!(timer.stop());
    clock.advance(ms(10));

    // Open: Empty, not Disconnected.
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
    // Silent: a select! over both picks the other timer every time.
    select! {
        recv(timer.receiver()) -> v => panic!("stopped timer fired: {v:?}"),
        recv(other.receiver()) -> v => assert!(v.is_ok()),
    }
    select! {
        recv(timer.receiver()) -> v => panic!("stopped timer fired: {v:?}"),
        default => {}
    }
}

// Issue 2, semantics 5 and 9
// Ported from Go's time/sleep_test.go TestAfterStop, on virtual time (no
// retries needed: nothing here can be late).
#[test]
fn go_after_stop() {
    let (clock, driver) = manual();
    let h = driver.handle();
    h.after_func(ms(100), || {}).detach();
    let t0 = h.timer(ms(50));
    let (c1_tx, c1) = bounded(1);
    let t1 = h.after_func(ms(150), move || c1_tx.send(true).unwrap());
    let c2 = h.timer(ms(200));

    assert!(t0.stop(), "failed to stop event 0");
    assert!(t1.stop(), "failed to stop event 1");
    clock.advance(ms(200));
    c2.try_recv().expect("the 200 ms timer fired");
    assert_silent(&t0);
    // Stopped: its closure was dropped unrun, so its sender is gone.
    assert_eq!(
        c1.try_recv(),
        Err(TryRecvError::Disconnected),
        "event 1 ran"
    );
    assert!(!t1.stop(), "Stop returned true twice");
}

// Issue 2, semantics 6
// Ported from Go's time/sleep_test.go TestReset (testReset), on virtual time.
#[test]
fn go_reset() {
    let d = ms(25);
    let (clock, driver) = manual();
    let t0 = clock.now();
    let timer = driver.handle().timer(2 * d);

    clock.advance(d);
    assert!(timer.reset(3 * d), "resetting unfired timer returned false");
    clock.advance(2 * d);
    assert_silent(&timer); // the old deadline (2d) passed: it must not fire
    clock.advance(2 * d);
    assert_eq!(
        timer.try_recv(),
        Ok(t0 + d + 3 * d),
        "reset timer did not fire"
    );
    assert!(
        !timer.reset(ms(50)),
        "resetting expired timer returned true"
    );
}

// Issue 2, semantics 6
#[test]
fn reset_of_a_fired_unread_timer_returns_true_and_only_the_new_value_arrives() {
    let (clock, driver) = manual();
    let timer = driver.handle().timer(ms(5));
    clock.advance(ms(7));
    let t_reset = clock.now();

    assert!(timer.reset(ms(10)), "the unread value was withdrawn");
    assert_silent(&timer);
    clock.advance(ms(10) - NS);
    assert_silent(&timer);
    clock.advance(NS);
    assert_eq!(timer.try_recv(), Ok(t_reset + ms(10)));
    assert_silent(&timer);
}

// Issue 2, semantics 6
#[test]
fn reset_of_a_stopped_timer_returns_false_and_rearms() {
    let (clock, driver) = manual();
    let t0 = clock.now();
    let timer = driver.handle().timer(ms(5));
    assert!(timer.stop());
    assert!(!timer.reset(ms(8)));
    assert_eq!(driver.handle().stats().pending, 1);
    clock.advance(ms(8));
    assert_eq!(timer.try_recv(), Ok(t0 + ms(8)));
}

// Issue 2, semantics 6
#[test]
fn reset_at_returns_what_stop_would_have_and_fires_at_the_instant() {
    let (clock, driver) = manual();
    let timer = driver.handle().timer(ms(5));
    let target = clock.now() + ms(3);
    assert!(timer.reset_at(target), "was armed");
    clock.advance(ms(3));
    assert_eq!(timer.try_recv(), Ok(target));
    let target = clock.now() + ms(1);
    assert!(!timer.reset_at(target), "was received");
    clock.advance(ms(1));
    assert_eq!(timer.try_recv(), Ok(target));
}

// Issue 2, semantics 6
// Ported from Go's time/sleep_test.go TestTimerModifiedEarlier: moving a
// timer from far away into the past, repeatedly, does not lose it.
#[test]
fn go_timer_modified_earlier() {
    let (clock, driver) = manual();
    clock.advance(ms(10));
    let past = clock.now() - ms(5);
    for _ in 0..100 {
        let timer = driver.handle().timer(Duration::from_secs(3600));
        for _ in 0..10 {
            // Time has not moved: the timer is armed each time round.
            assert!(timer.stop());
            timer.reset_at(past);
        }
        clock.advance(Duration::ZERO);
        assert_eq!(timer.try_recv(), Ok(past));
    }
}

// Issue 2, semantics 5 and 6
// Ported from Go's time/sleep_test.go TestAdjustTimers: 100 timers walk
// through fire / reset far / stop / reset now in a random interleaving; every
// stop and reset result is the one the semantics prescribe.
#[test]
fn go_adjust_timers() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut timers: Vec<Option<Timer>> = (0..100).map(|_| None).collect();
    let mut states = vec![0u32; timers.len()];
    let mut live: Vec<usize> = (0..timers.len()).collect();
    let minute = Duration::from_secs(60);

    while !live.is_empty() {
        let at = rng.index(live.len());
        let i = live[at];
        let state = states[i];
        states[i] += 1;
        match state {
            0 => timers[i] = Some(h.timer(Duration::ZERO)),
            1 => {
                clock.advance(Duration::ZERO);
                timers[i]
                    .as_ref()
                    .unwrap()
                    .try_recv()
                    .expect("zero timer fired");
            }
            2 | 4 | 6 => {
                let t = timers[i].as_ref().unwrap();
                assert!(!t.reset(minute * state), "timer {i} should be idle");
            }
            3 | 5 | 7 => {
                let t = timers[i].as_ref().unwrap();
                assert!(t.stop(), "timer {i} state {state}: armed, stop must say so");
            }
            8 => assert!(!timers[i].as_ref().unwrap().reset(Duration::ZERO)),
            9 => {
                clock.advance(Duration::ZERO);
                timers[i]
                    .as_ref()
                    .unwrap()
                    .try_recv()
                    .expect("reset(0) fired");
            }
            _ => {
                live.swap_remove(at);
                timers[i] = None;
            }
        }
    }
    assert_eq!(h.stats().pending, 0);
    assert_eq!(h.stats().timers, 0);
}

// Issue 2, semantics 5, 6 and 12
// Ported from Go's time/tick_test.go TestChan (testTimerChan, Timer case,
// the synchronous-channel variant of Go 1.23), on virtual time.
#[test]
fn go_chan_timer() {
    let (clock, driver) = manual();
    let far = Duration::from_secs(10_000);
    let tim = driver.handle().timer(far);

    // Simple stop; modify while not armed.
    tim.stop();
    assert_silent(&tim);
    tim.reset(far);
    assert_silent(&tim);

    // Modify while armed.
    tim.reset(NS);
    clock.advance(NS);
    tim.try_recv().expect("missing tick");

    // Reset does not deliver anything stale.
    clock.advance(ms(10));
    tim.reset(far);
    assert_silent(&tim);

    // Stop/reset while another thread is blocked receiving.
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
    tim.reset(NS);
    clock.advance(NS);
    done.recv_timeout(HANG).expect("never got done");
    reader.join().unwrap();
    assert_silent(&tim); // a timer, not a ticker: nothing more

    // Two threads selecting on it: exactly one gets the value.
    tim.stop();
    tim.reset(far);
    let (got_tx, got) = bounded::<()>(2);
    let (stop_tx, stop) = bounded::<()>(0);
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let (rx, got_tx, stop) = (tim.receiver().clone(), got_tx.clone(), stop.clone());
            thread::spawn(move || {
                select! {
                    recv(rx) -> v => { v.unwrap(); got_tx.send(()).unwrap(); }
                    recv(stop) -> _ => {}
                }
            })
        })
        .collect();
    assert!(got.try_recv().is_err(), "early done");
    tim.reset(ms(5));
    clock.advance(ms(5));
    got.recv_timeout(HANG).expect("never got done");
    tim.stop();
    drop(stop_tx); // wakes the other waiter
    for w in waiters {
        w.join().unwrap();
    }
    assert!(got.try_recv().is_err(), "both waiters got a value");

    // Stop and reset block old values from being received
    // (Go proposal 37196).
    tim.reset(NS);
    clock.advance(ms(10));
    assert!(tim.stop(), "fired but unread: stop must report it");
    assert_silent(&tim);
    tim.reset(Duration::from_secs(3600));
    assert_silent(&tim);
    assert!(tim.reset(NS), "armed: reset must report it");
    clock.advance(NS);
    tim.try_recv().expect("missing tick");
    clock.advance(ms(10));
    assert_silent(&tim);
    assert!(
        !tim.reset(Duration::from_secs(3600)),
        "received: nothing to prevent"
    );
    assert_silent(&tim);
}
