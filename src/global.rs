//! The global driver and the free functions that use it.

use crate::{Callback, Driver, Handle, Stats, Ticker, Timer};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The global driver: started on first use, thread `tickwheel`, never shut
/// down (statics are not dropped).
static GLOBAL: OnceLock<Driver> = OnceLock::new();

/// Its handle, borrowing the driver's state for `'static`.
static GLOBAL_HANDLE: OnceLock<Handle> = OnceLock::new();

/// The global driver's handle, without cloning it.
#[track_caller]
pub(crate) fn handle_ref() -> &'static Handle {
    GLOBAL_HANDLE.get_or_init(|| {
        GLOBAL
            .get_or_init(|| {
                Driver::builder().build().unwrap_or_else(|e| {
                    panic!("tickwheel: cannot start the global driver thread: {e}")
                })
            })
            .static_handle()
    })
}

/// The global driver's handle.
///
/// # Panics
///
/// If the global driver's threads cannot be spawned (first use only).
#[track_caller]
pub fn handle() -> Handle {
    handle_ref().clone()
}

/// A [`Timer`] on the global driver that fires after `d` (Go's
/// `time.NewTimer` / `time.After`).
#[track_caller]
pub fn after(d: Duration) -> Timer {
    handle_ref().timer(d)
}

/// A [`Timer`] on the global driver that fires at `deadline`.
#[track_caller]
pub fn at(deadline: Instant) -> Timer {
    handle_ref().timer_at(deadline)
}

/// A [`Ticker`] on the global driver (Go's `time.NewTicker` /
/// `time.Tick`, without the leak).
///
/// # Panics
///
/// If `period` is zero.
#[track_caller]
pub fn tick(period: Duration) -> Ticker {
    handle_ref().ticker(period)
}

/// Runs `f` on the global driver's callback thread after `d` (Go's
/// `time.AfterFunc`). Keep the [`Callback`] to be able to stop it, or
/// [`detach`](Callback::detach) it.
#[track_caller]
pub fn after_func(d: Duration, f: impl FnOnce() + Send + 'static) -> Callback {
    handle_ref().after_func(d, f)
}

/// The global driver's statistics.
pub fn stats() -> Stats {
    handle_ref().stats()
}

/// The global driver's live handles grouped by creation site; see
/// [`Handle::live_sites`].
pub fn live_sites() -> Vec<crate::Site> {
    handle_ref().live_sites()
}

/// A [`Report`](crate::Report) of the global driver: its stats and its live
/// handles grouped by the line that created them.
pub fn report() -> crate::Report {
    handle_ref().report()
}
