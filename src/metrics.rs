//! Publishing stats through the [`metrics`] facade (cargo feature
//! `metrics`).
//!
//! Names, each with a `driver` label (the driver thread's name):
//!
//! | name                          | type      | what                                   |
//! |-------------------------------|-----------|----------------------------------------|
//! | `tickwheel_pending`           | gauge     | [`Stats::pending`]                     |
//! | `tickwheel_live`              | gauge     | live handles, label `kind` (`timer`, `ticker`, `callback`, `token`; tokens are process-wide) |
//! | `tickwheel_fired`             | counter   | [`Stats::fired`]                       |
//! | `tickwheel_dropped_ticks`     | counter   | [`Stats::dropped_ticks`]               |
//! | `tickwheel_skipped_ticks`     | counter   | [`Stats::skipped_ticks`]               |
//! | `tickwheel_callback_panics`   | counter   | [`Stats::callback_panics`]             |
//! | `tickwheel_wakeups`           | counter   | [`Stats::wakeups`]                     |
//! | `tickwheel_lateness_seconds`  | histogram | one sample per item of each batch the driver hands over (the samples of [`LatenessSummary`](crate::LatenessSummary), of every batch in full) |
//!
//! The driver publishes after every batch it delivers; gauges change on
//! every create and drop, so exporters that want them exact at scrape time
//! call [`Handle::publish_metrics`] first. A panic of the recorder while the
//! driver publishes is caught and counted in
//! [`Stats::callback_panics`]; one in `publish_metrics` reaches its caller.

use crate::driver::Handle;
use crate::driver::handle::Inner;
use crate::stats::Stats;

impl Handle {
    /// Publishes this driver's [`Stats`] through the `metrics` facade now.
    pub fn publish_metrics(&self) {
        publish(&self.inner, None);
    }
}

/// Publishes `inner`'s stats, plus lateness samples (ns) if given.
pub(crate) fn publish(inner: &Inner, lateness: Option<&mut dyn Iterator<Item = u64>>) {
    let s: Stats = inner.stats();
    let driver = inner.name.clone();
    metrics::gauge!("tickwheel_pending", "driver" => driver.clone()).set(s.pending as f64);
    for (kind, n) in [
        ("timer", s.timers),
        ("ticker", s.tickers),
        ("callback", s.callbacks),
        ("token", s.tokens),
    ] {
        metrics::gauge!("tickwheel_live", "driver" => driver.clone(), "kind" => kind).set(n as f64);
    }
    metrics::counter!("tickwheel_fired", "driver" => driver.clone()).absolute(s.fired);
    metrics::counter!("tickwheel_dropped_ticks", "driver" => driver.clone())
        .absolute(s.dropped_ticks);
    metrics::counter!("tickwheel_skipped_ticks", "driver" => driver.clone())
        .absolute(s.skipped_ticks);
    metrics::counter!("tickwheel_callback_panics", "driver" => driver.clone())
        .absolute(s.callback_panics);
    metrics::counter!("tickwheel_wakeups", "driver" => driver.clone()).absolute(s.wakeups);
    if let Some(samples) = lateness {
        let h = metrics::histogram!("tickwheel_lateness_seconds", "driver" => driver);
        for ns in samples {
            h.record(ns as f64 / 1e9);
        }
    }
}
