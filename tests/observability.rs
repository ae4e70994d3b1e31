//! Stats, live sites, reports and site thresholds (issue 5).

use crossbeam_channel::TryRecvError;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tickwheel::{Driver, Handle, Kind, ManualClock};

fn manual() -> (ManualClock, Driver) {
    let clock = ManualClock::new();
    let driver = Driver::builder().clock(clock.clone()).build().unwrap();
    (clock, driver)
}

#[test]
fn counts_are_exact_per_kind_and_go_back_down() {
    let (_clock, driver) = manual();
    let h = driver.handle();
    let timers: Vec<_> = (0..7).map(|_| h.timer(Duration::from_secs(1))).collect();
    let tickers: Vec<_> = (0..3).map(|_| h.ticker(Duration::from_secs(1))).collect();
    let callbacks: Vec<_> = (0..5)
        .map(|_| h.after_func(Duration::from_secs(1), || ()))
        .collect();
    let s = h.stats();
    assert_eq!((s.timers, s.tickers, s.callbacks, s.pending), (7, 3, 5, 15));
    // A stopped timer is still a live handle, but not pending.
    assert!(timers[0].stop());
    let s = h.stats();
    assert_eq!((s.timers, s.pending), (7, 14));
    drop(timers);
    drop(tickers);
    drop(callbacks);
    let s = h.stats();
    assert_eq!((s.timers, s.tickers, s.callbacks, s.pending), (0, 0, 0, 0));
}

#[test]
fn live_sites_name_the_creating_lines() {
    let (_clock, driver) = manual();
    let h = driver.handle();
    let line_a = line!() + 1;
    let make_a = || h.ticker(Duration::from_millis(5));
    let line_b = line!() + 1;
    let make_b = || h.timer(Duration::from_millis(5));
    let a: Vec<_> = (0..40).map(|_| make_a()).collect();
    let b: Vec<_> = (0..3).map(|_| make_b()).collect();
    let sites = h.live_sites();
    assert_eq!(sites.len(), 2, "{sites:?}");
    // Largest count first.
    assert_eq!((sites[0].kind, sites[0].count), (Kind::Ticker, 40));
    assert_eq!(sites[0].location.file(), file!());
    assert_eq!(sites[0].location.line(), line_a);
    assert_eq!((sites[1].kind, sites[1].count), (Kind::Timer, 3));
    assert_eq!(sites[1].location.line(), line_b);
    // The report prints the guilty line.
    let report = h.report().to_string();
    assert!(
        report.contains(&format!("{}:{}", file!(), line_a)),
        "{report}"
    );
    assert!(report.contains("43 live handles at 2 sites"), "{report}");
    drop((a, b));
    assert!(h.live_sites().is_empty());
}

#[test]
fn oldest_follows_virtual_time() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let _old = h.timer(Duration::from_secs(3600));
    clock.advance(Duration::from_secs(10));
    let site = &h.live_sites()[0];
    assert_eq!(site.oldest, Duration::from_secs(10));
}

/// Returns once every job queued so far on the callback thread
/// (notifications included) has run: a zero callback queued behind them,
/// and an `advance`, which waits for it.
fn flush(clock: &ManualClock, h: &Handle) {
    h.after_func(Duration::ZERO, || {}).detach();
    clock.advance(Duration::ZERO);
}

#[test]
fn threshold_fires_once_per_crossing() {
    let clock = ManualClock::new();
    let seen = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = crossbeam_channel::unbounded();
    let seen2 = seen.clone();
    let driver = Driver::builder()
        .clock(clock.clone())
        .on_site_threshold(10, move |site| {
            seen2.fetch_add(1, Ordering::SeqCst);
            let thread = std::thread::current().name().map(str::to_owned);
            tx.send((site.kind, site.count, thread)).unwrap();
        })
        .build()
        .unwrap();
    let h = driver.handle();
    let make = |n| -> Vec<_> { (0..n).map(|_| h.timer(Duration::from_secs(1))).collect() };
    let mut v = make(10);
    flush(&clock, &h);
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "ten is not more than ten"
    );
    v.extend(make(5)); // crosses once, at the 11th
    flush(&clock, &h);
    let (kind, count, thread) = rx.try_recv().expect("notified");
    assert_eq!((kind, count), (Kind::Timer, 11));
    assert_eq!(
        thread.as_deref(),
        Some("tickwheel-callbacks"),
        "runs on the callback thread"
    );
    // Falling back to ten and rising again is a new crossing.
    v.truncate(10);
    v.extend(make(1));
    flush(&clock, &h);
    assert!(rx.try_recv().is_ok(), "a new crossing notifies");
    // Staying above does not notify again.
    v.extend(make(20));
    flush(&clock, &h);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "no new crossing");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    drop(v);
}

#[test]
fn a_panicking_threshold_function_is_caught_and_counted() {
    let clock = ManualClock::new();
    let driver = Driver::builder()
        .clock(clock.clone())
        .on_site_threshold(2, |_| panic!("threshold function panics (on purpose)"))
        .build()
        .unwrap();
    let h = driver.handle();
    let timers: Vec<_> = (0..3).map(|_| h.timer(Duration::from_secs(1))).collect();
    flush(&clock, &h);
    assert_eq!(h.stats().callback_panics, 1, "caught and counted");
    // The callback thread survived it.
    let (tx, rx) = crossbeam_channel::bounded(1);
    h.after_func(Duration::ZERO, move || tx.send(()).unwrap())
        .detach();
    clock.advance(Duration::ZERO);
    assert_eq!(rx.try_recv(), Ok(()));
    drop(timers);
}

#[test]
fn dropped_ticks_count_a_slow_consumer() {
    // A 1 ms ticker, nobody reading for 10 ms of virtual time:
    //   time:  0  1  2  3  4  5  6  7  8  9  10
    //   ticks:    |  x  x  x  x  x  x  x  x  x     1 waits in the channel, 9 dropped
    let (clock, driver) = manual();
    let h = driver.handle();
    let t = h.ticker(Duration::from_millis(1));
    clock.advance(Duration::from_millis(10));
    assert_eq!(t.dropped(), 9);
    assert_eq!(h.stats().dropped_ticks, 9);
    // All nine were offered to the full channel: a manual clock steps the
    // driver at each tick, so its driver is never late.
    assert_eq!(h.stats().skipped_ticks, 0);
    assert_eq!(h.stats().fired, 1);
}

#[test]
fn lateness_is_zero_on_a_manual_clock() {
    let (clock, driver) = manual();
    let h = driver.handle();
    let timers: Vec<_> = (1..=50)
        .map(|i| h.timer(Duration::from_millis(i)))
        .collect();
    clock.advance(Duration::from_millis(50));
    let s = h.stats();
    assert_eq!(s.fired, 50);
    assert_eq!(s.lateness.samples, 50);
    assert_eq!(s.lateness.max, Duration::ZERO);
    drop(timers);
}

#[test]
fn idle_driver_does_not_wake() {
    // Real time is the point here: 10,000 timers due in an hour, and one
    // second of wall time in which the driver must not wake at all.
    let driver = Driver::builder().thread_name("idle-test").build().unwrap();
    let h = driver.handle();
    let before = h.stats().wakeups;
    let timers: Vec<_> = (0..10_000u64)
        .map(|i| h.timer(Duration::from_secs(3600) + Duration::from_millis(i)))
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    // The first insertion may wake the driver once, to sleep until the hour
    // instead of forever; whenever that wake-up happens, it is the only one.
    let woke = h.stats().wakeups - before;
    assert!(woke <= 1, "the idle driver woke {woke} times");
    assert_eq!(h.stats().pending, 10_000);
    drop(timers);
}

#[test]
fn stats_display_is_one_line() {
    let (_clock, driver) = manual();
    let s = driver.handle().stats().to_string();
    assert!(!s.contains('\n'));
    assert!(s.starts_with("pending 0"), "{s}");
}

#[test]
fn tokens_are_counted_while_alive() {
    // Tokens are process-wide; no other test in this file creates any.
    let before = tickwheel::stats().tokens;
    let root = tickwheel::CancelToken::new();
    let children: Vec<_> = (0..3).map(|_| root.child()).collect();
    assert_eq!(tickwheel::stats().tokens, before + 4);
    drop(children);
    drop(root);
    assert_eq!(tickwheel::stats().tokens, before);
}

// Found by review: `threshold + 1` overflowed for a threshold of
// `usize::MAX` (the natural "never"), so with overflow checks every handle
// made on the driver panicked, leaving its entry and live count behind.
#[test]
fn a_threshold_of_usize_max_never_notifies_and_never_panics() {
    let clock = ManualClock::new();
    let driver = Driver::builder()
        .clock(clock.clone())
        .on_site_threshold(usize::MAX, |_| panic!("no site can cross usize::MAX"))
        .build()
        .unwrap();
    let h = driver.handle();
    let timer = h.timer(Duration::from_secs(1));
    flush(&clock, &h);
    let s = h.stats();
    assert_eq!((s.timers, s.pending, s.callback_panics), (1, 1, 0));
    drop(timer);
    assert_eq!(h.stats().timers, 0);
}

// Found by review: ties of count and age were ordered by file and line
// only, so sites on one line (told apart by their column) came in hash-map
// order, which changes from run to run; the doc promises "by location".
#[test]
fn live_sites_on_one_line_tie_break_by_column() {
    let (_clock, driver) = manual();
    let h = driver.handle();
    #[rustfmt::skip]
    let timers = [h.timer(Duration::from_secs(1)), h.timer(Duration::from_secs(1)), h.timer(Duration::from_secs(1)), h.timer(Duration::from_secs(1)), h.timer(Duration::from_secs(1)), h.timer(Duration::from_secs(1)), h.timer(Duration::from_secs(1)), h.timer(Duration::from_secs(1))];
    let sites = h.live_sites();
    assert_eq!(sites.len(), 8, "{sites:?}");
    // Virtual time did not move: one count and one age for all eight.
    let columns: Vec<u32> = sites.iter().map(|s| s.location.column()).collect();
    let mut sorted = columns.clone();
    sorted.sort_unstable();
    assert_eq!(columns, sorted, "ties are broken by location");
    drop(timers);
}
