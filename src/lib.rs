//! Leak-free timers and tickers for threaded Rust.
//!
//! One driver thread advances a hierarchical hashed timing wheel; [`Timer`]
//! (one-shot), [`Ticker`] (periodic, phase-locked) and [`Callback`] (run a
//! closure later) are handles whose `Drop` removes their wheel entry, so a
//! timer cannot outlive its owner. Values arrive on bounded
//! [`crossbeam_channel`] receivers and compose with any `select!`.
//!
//! ```
//! use crossbeam_channel::select;
//! use std::time::{Duration, Instant};
//!
//! let start = Instant::now();
//! let ticker = tickwheel::tick(Duration::from_millis(1));
//! let deadline = tickwheel::after(Duration::from_millis(5));
//! let mut ticks = 0;
//! loop {
//!     select! {
//!         // A tick carries its point on the ticker's grid: never a future one.
//!         recv(ticker.receiver()) -> tick => {
//!             assert!(tick.unwrap() <= Instant::now());
//!             ticks += 1;
//!         }
//!         recv(deadline.receiver()) -> _ => break,
//!     }
//! }
//! assert!(start.elapsed() >= Duration::from_millis(5)); // never early
//! println!("{ticks} ticks before the deadline"); // about 5: fewer, or a
//! // late one more, when this thread loses the CPU for a while
//! // Both handles drop here and leave nothing behind in the wheel.
//! ```
//!
//! Semantics follow Go 1.23's `time` package; see `docs/go-idioms.md` for a
//! map from Go idioms to this crate, and the type docs for the details.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod callback;
mod cancel;
mod clock;
pub(crate) mod driver;
pub(crate) mod entry;
mod global;
#[cfg(all(test, loom))]
mod loom_tests;
mod manual_clock;
#[cfg(feature = "metrics")]
mod metrics;
mod sites;
mod stats;
pub(crate) mod sync;
mod ticker;
mod timer;
pub(crate) mod wheel;

pub(crate) use global::handle_ref;

pub use crate::callback::Callback;
pub use crate::cancel::{CancelReason, CancelToken};
pub use crate::driver::{Builder, Driver, Handle};
pub use crate::entry::Kind;
pub use crate::global::{after, after_func, at, handle, live_sites, report, stats, tick};
pub use crate::manual_clock::ManualClock;
pub use crate::sites::{Report, Site};
pub use crate::stats::{LATENESS_WINDOW, LatenessSummary, Stats};
pub use crate::ticker::Ticker;
pub use crate::timer::Timer;
pub use crossbeam_channel::{RecvError, RecvTimeoutError, TryRecvError};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The Go idioms page's example, compiled and run as a doctest.
#[doc = include_str!("../docs/go-idioms.md")]
#[cfg(doctest)]
pub struct GoIdiomsDoctests;
