use std::time::{Duration, Instant};

#[test]
fn timer_fires_not_early() {
    let start = Instant::now();
    let t = tickwheel::after(Duration::from_millis(5));
    let v = t.recv().unwrap();
    let now = Instant::now();
    assert!(v >= start + Duration::from_millis(5));
    assert!(now >= v);
}

#[test]
fn ticker_ticks() {
    let t = tickwheel::tick(Duration::from_millis(2));
    let a = t.recv().unwrap();
    let b = t.recv().unwrap();
    assert_eq!(b - a, Duration::from_millis(2));
}

#[test]
fn callback_runs() {
    let (tx, rx) = crossbeam_channel::bounded(1);
    tickwheel::after_func(Duration::from_millis(1), move || tx.send(1).unwrap()).detach();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
}

#[test]
fn manual() {
    let clock = tickwheel::ManualClock::new();
    let d = tickwheel::Driver::builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    let t0 = clock.now();
    let t = d.handle().timer(Duration::from_millis(5));
    let tk = d.handle().ticker(Duration::from_millis(1));
    clock.advance(Duration::from_millis(4));
    assert!(t.try_recv().is_err());
    clock.advance(Duration::from_millis(1));
    assert_eq!(t.try_recv().unwrap() - t0, Duration::from_millis(5));
    assert_eq!(tk.try_recv().unwrap() - t0, Duration::from_millis(1));
    assert_eq!(tk.dropped(), 4);
}
