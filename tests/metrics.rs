//! The `metrics` feature: stats published through the `metrics` facade
//! (run with `cargo test --features metrics --test metrics`).
#![cfg(feature = "metrics")]

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tickwheel::{Driver, ManualClock};

/// The driver name whose gauges panic when set (a recorder is user code).
const PANICKING: &str = "driver=panicking-recorder";

/// The process's recorder, installed by whichever test comes first.
fn store() -> Arc<Store> {
    static STORE: std::sync::OnceLock<Arc<Store>> = std::sync::OnceLock::new();
    STORE
        .get_or_init(|| {
            let store = Arc::new(Store::default());
            metrics::set_global_recorder(Rec(store.clone())).unwrap();
            store
        })
        .clone()
}

/// The last value of every metric, by name and labels.
#[derive(Default)]
struct Store(Mutex<HashMap<String, f64>>, Mutex<HashMap<String, usize>>);

struct Handle(Arc<Store>, String);

impl CounterFn for Handle {
    fn increment(&self, v: u64) {
        *self.0.0.lock().entry(self.1.clone()).or_default() += v as f64;
    }
    fn absolute(&self, v: u64) {
        self.0.0.lock().insert(self.1.clone(), v as f64);
    }
}
impl GaugeFn for Handle {
    fn increment(&self, v: f64) {
        *self.0.0.lock().entry(self.1.clone()).or_default() += v;
    }
    fn decrement(&self, v: f64) {
        *self.0.0.lock().entry(self.1.clone()).or_default() -= v;
    }
    fn set(&self, v: f64) {
        assert!(
            !self.1.contains(PANICKING),
            "the recorder panics (on purpose)"
        );
        self.0.0.lock().insert(self.1.clone(), v);
    }
}
impl HistogramFn for Handle {
    fn record(&self, _v: f64) {
        *self.0.1.lock().entry(self.1.clone()).or_default() += 1;
    }
}

struct Rec(Arc<Store>);

fn name(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Rec {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Handle(self.0.clone(), name(key))))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(Handle(self.0.clone(), name(key))))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Handle(self.0.clone(), name(key))))
    }
}

#[test]
fn stats_are_published_with_tickwheel_names() {
    let store = store();

    let clock = ManualClock::new();
    let driver = Driver::builder()
        .thread_name("metrics-test")
        .clock(clock.clone())
        .build()
        .unwrap();
    let h = driver.handle();
    let timers: Vec<_> = (1..=5).map(|i| h.timer(Duration::from_millis(i))).collect();
    let _ticker = h.ticker(Duration::from_millis(1));
    // The only token of this test binary (the count is process-wide).
    let _token = h.cancel_token_with_timeout(Duration::from_secs(60));
    clock.advance(Duration::from_millis(10));

    let values = store.0.lock().clone();
    let get = |k: &str| {
        *values
            .get(k)
            .unwrap_or_else(|| panic!("no {k} in {values:?}"))
    };
    assert_eq!(
        get("tickwheel_fired{driver=metrics-test}"),
        h.stats().fired as f64
    );
    assert_eq!(get("tickwheel_dropped_ticks{driver=metrics-test}"), 9.0);
    // A manual clock steps the driver at every tick: none skipped.
    assert_eq!(get("tickwheel_skipped_ticks{driver=metrics-test}"), 0.0);
    assert_eq!(get("tickwheel_pending{driver=metrics-test}"), 2.0);
    assert_eq!(get("tickwheel_live{driver=metrics-test,kind=timer}"), 5.0);
    assert_eq!(get("tickwheel_live{driver=metrics-test,kind=ticker}"), 1.0);
    assert_eq!(
        get("tickwheel_live{driver=metrics-test,kind=callback}"),
        0.0
    );
    assert_eq!(get("tickwheel_live{driver=metrics-test,kind=token}"), 1.0);
    let samples = store.1.lock()["tickwheel_lateness_seconds{driver=metrics-test}"];
    // One sample per value handed to a channel or callback, including the
    // ticks a full channel then dropped.
    let s = h.stats();
    assert_eq!(samples as u64, s.fired + s.dropped_ticks - s.skipped_ticks);

    // Gauges exact on demand.
    drop(timers);
    h.publish_metrics();
    assert_eq!(
        store.0.lock()["tickwheel_live{driver=metrics-test,kind=timer}"],
        0.0
    );
}

/// Regression: publishing read the stats (taking the wheel lock) while the
/// driver still held its delivery lock, inverting the lock order against a
/// `reset` that waits for deliveries under the wheel lock: a deadlock.
#[test]
fn publishing_does_not_deadlock_against_reset() {
    let driver = Driver::builder()
        .thread_name("metrics-reset")
        .build()
        .unwrap();
    let h = driver.handle();
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        // Zero-duration re-arms keep the driver delivering (and publishing)
        // while `reset` waits for deliveries: the window the bug needed.
        let ticker = h.ticker(Duration::from_micros(1));
        let timer = h.timer(Duration::ZERO);
        let start = std::time::Instant::now();
        let mut rounds = 0;
        while rounds < 1_000_000 && start.elapsed() < Duration::from_millis(500) {
            timer.reset(Duration::ZERO);
            ticker.reset(Duration::from_micros(1));
            rounds += 1;
        }
        done_tx.send(rounds).unwrap();
    });
    match done_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(rounds) => assert!(rounds > 0),
        Err(_) => {
            // Dropping the driver would join its deadlocked thread and hang
            // the test run instead of failing it.
            std::mem::forget(driver);
            panic!("reset loop deadlocked against metrics publishing");
        }
    }
}

// Found by review: the driver thread publishes after each batch, calling the
// recorder (user code) without catching its panics: one panic killed the
// driver thread, so no timer of that driver fired again, and dropping the
// driver re-raised the panic from its join.
#[test]
fn a_panicking_recorder_kills_no_driver_thread() {
    let _store = store();
    let driver = Driver::builder()
        .thread_name("panicking-recorder")
        .build()
        .unwrap();
    let h = driver.handle();
    for round in 0..2 {
        let timer = h.timer(Duration::from_millis(1));
        assert!(
            timer.recv_timeout(Duration::from_secs(10)).is_ok(),
            "round {round}: the driver thread died"
        );
    }
    // Each publish panicked and was counted; the last one may still be
    // running, so only a lower bound is certain.
    assert!(h.stats().callback_panics >= 1);
    drop(driver); // joins the driver thread: must not re-raise
}
