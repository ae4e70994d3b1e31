//! Dropping a handle, on a manual clock: dropping a `Timer`, `Ticker` or
//! `Callback` removes its wheel entry before `drop` returns (`pending` goes
//! down), and clones of its receiver then report `Disconnected`, also when
//! blocked in another thread (issue 2, semantics 8). Includes the two Go
//! leak patterns the crate exists to prevent: `time.After` in a `select`
//! loop and a forgotten `Ticker.Stop`.

use crossbeam_channel::{RecvError, TryRecvError, bounded, select};
use parking_lot::Mutex;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use tickwheel::{Callback, Handle, Ticker};

mod common;
use common::{HANG, manual, ms};

// Issue 2, semantics 8
#[test]
fn dropping_a_timer_removes_its_entry() {
    let (_clock, driver) = manual();
    let h = driver.handle();
    let keep = h.timer(ms(5));
    let gone = h.timer(ms(5));
    assert_eq!(h.stats().pending, 2);
    drop(gone);
    assert_eq!(h.stats().pending, 1);
    assert_eq!(h.stats().timers, 1);
    drop(keep);
    assert_eq!((h.stats().pending, h.stats().timers), (0, 0));
}

// Issue 2, semantics 8
#[test]
fn dropping_a_ticker_removes_its_entry() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let ticker = h.ticker(ms(1));
    clock.advance(ms(3)); // it has ticked and re-armed itself
    assert_eq!(h.stats().pending, 1);
    drop(ticker);
    assert_eq!((h.stats().pending, h.stats().tickers), (0, 0));
}

// Issue 2, semantics 8
#[test]
fn dropping_a_callback_removes_its_entry_and_its_closure() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let token = Arc::new(());
    let t = token.clone();
    let cb = h.after_func(ms(5), move || {
        let _t = &t;
        panic!("a dropped callback ran");
    });
    assert_eq!(h.stats().pending, 1);
    drop(cb);
    assert_eq!((h.stats().pending, h.stats().callbacks), (0, 0));
    assert_eq!(Arc::strong_count(&token), 1);
    clock.advance(ms(10));
    assert_eq!(h.stats().callback_panics, 0);
}

// Issue 2, semantics 8
#[test]
fn receiver_clone_of_a_dropped_timer_is_disconnected() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let armed = h.timer(ms(5));
    let stopped = h.timer(ms(5));
    stopped.stop();
    let received = h.timer(ms(1));
    clock.advance(ms(1));
    received.try_recv().unwrap();

    for timer in [armed, stopped, received] {
        let clone = timer.receiver().clone();
        drop(timer);
        assert_eq!(clone.try_recv(), Err(TryRecvError::Disconnected));
    }
    clock.advance(ms(10));
}

// Issue 2, semantics 8
#[test]
fn receiver_clone_of_a_dropped_fired_timer_gets_no_stale_value() {
    let (clock, driver) = manual();
    let timer = driver.handle().timer(ms(1));
    clock.advance(ms(1));
    let clone = timer.receiver().clone();
    drop(timer);
    assert_eq!(clone.try_recv(), Err(TryRecvError::Disconnected));
}

// Issue 2, semantics 8
#[test]
fn receiver_clone_of_a_dropped_ticker_is_disconnected() {
    let (_clock, driver) = manual();
    let ticker = driver.handle().ticker(ms(1));
    let clone = ticker.receiver().clone();
    drop(ticker);
    assert_eq!(clone.try_recv(), Err(TryRecvError::Disconnected));
}

// Issue 2, semantics 8
#[test]
fn receiver_clone_of_a_dropped_ticker_gets_no_stale_tick() {
    let (clock, driver) = manual();
    let ticker = driver.handle().ticker(ms(1));
    clock.advance(ms(1));
    let clone = ticker.receiver().clone();
    drop(ticker);
    assert_eq!(clone.try_recv(), Err(TryRecvError::Disconnected));
}

// Issue 2, semantics 8 and 12
#[test]
fn dropping_wakes_a_receiver_clone_blocked_in_another_thread() {
    let (_clock, driver) = manual();
    let h = driver.handle();
    let timer = h.timer(Duration::from_secs(3600));
    let ticker = h.ticker(Duration::from_secs(3600));
    let ready = Arc::new(Barrier::new(3));
    let (res_tx, res) = bounded(2);
    for rx in [timer.receiver().clone(), ticker.receiver().clone()] {
        let (ready, res_tx) = (ready.clone(), res_tx.clone());
        thread::spawn(move || {
            ready.wait();
            res_tx.send(rx.recv()).unwrap();
        });
    }
    ready.wait();
    drop(timer);
    drop(ticker);
    for _ in 0..2 {
        let r = res
            .recv_timeout(HANG)
            .expect("a blocked recv hung after drop");
        assert_eq!(r, Err(RecvError));
    }
    assert_eq!(h.stats().pending, 0);
}

// Issue 2, semantics 8
// The Go leak of `select { case <-ch: case <-time.After(d): }` in a loop:
// each iteration's timer here is dropped at the end of the iteration.
#[test]
fn after_in_a_select_loop_leaves_nothing_behind() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let (work_tx, work) = bounded(1);
    let mut handled = 0;
    for i in 0..1000 {
        work_tx.send(i).unwrap();
        select! {
            recv(work) -> _ => handled += 1,
            recv(h.timer(Duration::from_secs(60)).receiver()) -> _ => unreachable!(),
        }
    }
    assert_eq!(handled, 1000);
    let stats = h.stats();
    assert_eq!((stats.pending, stats.timers), (0, 0));
    clock.advance(Duration::from_secs(120));
    assert_eq!(h.stats().fired, 0, "no orphan timer fired");
}

// Issue 2, semantics 8
// The Go leak of a ticker whose `Stop` is forgotten: here the ticker is
// gone with its owner.
#[test]
fn forgotten_ticker_stop_cannot_leak() {
    fn heartbeat(h: &Handle) -> usize {
        let ticker: Ticker = h.ticker(ms(10));
        // ... returns early without any stop()
        ticker.receiver().len()
    }
    let (clock, driver) = manual();
    let h = driver.handle();
    for _ in 0..100 {
        heartbeat(&h);
    }
    let stats = h.stats();
    assert_eq!((stats.pending, stats.tickers), (0, 0));
    clock.advance(ms(100));
    assert_eq!(h.stats().fired, 0);
}

// Issue 2, semantics 8
#[test]
fn detached_callback_entry_goes_away_after_it_runs() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let token = Arc::new(());
    let t = token.clone();
    h.after_func(ms(5), move || {
        let _t = &t;
    })
    .detach();
    assert_eq!(h.stats().pending, 1, "a detached callback stays scheduled");
    clock.advance(ms(5));
    assert_eq!(h.stats().pending, 0);
    assert_eq!(Arc::strong_count(&token), 1, "its closure is gone");
    assert!(h.live_sites().is_empty(), "and so is its entry");
}

// Issue 2, semantics 8 and 9
#[test]
fn callback_dropping_its_own_handle_while_running() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let slot: Arc<Mutex<Option<Callback>>> = Arc::default();
    let (tx, rx) = bounded(1);
    let s = slot.clone();
    let cb = h.after_func(ms(1), move || {
        drop(s.lock().take());
        tx.send(()).unwrap();
    });
    *slot.lock() = Some(cb);
    clock.advance(ms(1));
    assert_eq!(rx.try_recv(), Ok(()));
    let stats = h.stats();
    assert_eq!((stats.pending, stats.callbacks), (0, 0));
    assert!(
        h.live_sites().is_empty(),
        "the entry was removed when it finished"
    );
}

// Issue 2, semantics 8
// Ported from Go's `TestTimerGC` in src/time/tick_test.go, BSD-style
// license: Go 1.23 collects timers and tickers nobody references, stopped
// or not; Go counts live allocations after 10,000 of each. Here the owner
// drops them: after 10,000 of each of Go's six kinds (`After(Hour)`,
// `Tick(Hour)`, `NewTimer(Hour)`, `NewTicker(Hour)`, and the last two
// stopped first), the wheel holds nothing, no handle is counted live, no
// creation site is left, and none of them ever fires. (The heap itself is
// watched by the soak test, `tests/soak.rs`.)
#[test]
fn go_timer_gc() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let hour = Duration::from_secs(3600);
    type Make = fn(&Handle, Duration);
    let kinds: [(&str, Make); 6] = [
        ("After", |h, d| drop(h.timer(d))),
        ("Tick", |h, d| drop(h.ticker(d))),
        ("NewTimer", |h, d| {
            let _t = h.timer(d);
        }),
        ("NewTicker", |h, d| {
            let _t = h.ticker(d);
        }),
        ("NewTimerStop", |h, d| {
            h.timer(d).stop();
        }),
        ("NewTickerStop", |h, d| h.ticker(d).stop()),
    ];
    for (what, make) in kinds {
        for _ in 0..10_000 {
            make(&h, hour);
        }
        let s = h.stats();
        assert_eq!(
            (s.pending, s.timers, s.tickers),
            (0, 0, 0),
            "{what} did not get dropped: {s}"
        );
        assert!(h.live_sites().is_empty(), "{what}: a creation site is left");
    }
    clock.advance(hour * 2);
    assert_eq!(h.stats().fired, 0, "a dropped timer or ticker fired");
}
