//! The clock seam: every read of time by a driver goes through [`Clock`], so
//! the same driver code runs on the real clock or on a
//! [`ManualClock`](crate::ManualClock).
//!
//! Drivers count time as nanoseconds (`u64`) since their clock's `base`
//! instant; that is the wheel's unit. `u64::MAX` ns (584 years) is the
//! wheel's [`NEVER`]: a deadline that far or further is never reached.

use crate::manual_clock::ManualClock;
use crate::wheel::NEVER;
use std::time::{Duration, Instant};

/// Where a driver reads the time.
#[derive(Clone, Debug)]
pub(crate) enum Clock {
    /// `Instant::now()`, counted from `base`.
    Real {
        /// The driver's time zero.
        base: Instant,
    },
    /// Virtual time that only moves when the test says so.
    Manual(ManualClock),
}

/// How far before its start a real-clock driver puts its time zero. A
/// deadline between time zero and the start (an `Instant` a program took
/// before the global driver started lazily, say) is delivered exactly; one
/// before time zero is due at once and delivered as time zero. A day costs
/// nothing: driver time still runs 584 years from there.
const BASE_BEFORE_START: Duration = Duration::from_secs(24 * 3600);

impl Clock {
    /// Time zero of a real-clock driver started at `start`.
    pub(crate) fn real_base(start: Instant) -> Instant {
        start.checked_sub(BASE_BEFORE_START).unwrap_or(start)
    }

    /// The identity of the manual clock, if this is one.
    pub(crate) fn manual_id(&self) -> Option<usize> {
        match self {
            Clock::Real { .. } => None,
            Clock::Manual(m) => Some(m.id()),
        }
    }

    /// The instant that is nanosecond 0 for the driver.
    pub(crate) fn base(&self) -> Instant {
        match self {
            Clock::Real { base } => *base,
            Clock::Manual(m) => m.base(),
        }
    }

    /// The current time, as an instant and as driver nanoseconds.
    #[inline]
    pub(crate) fn now(&self) -> (Instant, u64) {
        match self {
            Clock::Real { base } => {
                let now = Instant::now();
                (now, to_ns(now.saturating_duration_since(*base)))
            }
            Clock::Manual(m) => {
                let ns = m.now_ns();
                (m.base() + Duration::from_nanos(ns), ns)
            }
        }
    }

    /// The driver nanosecond of `deadline`: a deadline before `base` is 0
    /// (due at once); one past the wheel's range is [`NEVER`].
    pub(crate) fn ns_of(&self, deadline: Instant) -> u64 {
        to_ns(deadline.saturating_duration_since(self.base()))
    }

    /// The instant of driver nanosecond `ns` (not [`NEVER`]).
    pub(crate) fn instant_of(&self, ns: u64) -> Instant {
        self.base() + Duration::from_nanos(ns)
    }
}

/// `d` in nanoseconds, saturating to [`NEVER`].
#[inline]
pub(crate) fn to_ns(d: Duration) -> u64 {
    // Plain u64 arithmetic (not `as_nanos`, a u128): this is on the path of
    // every timer creation.
    d.as_secs()
        .checked_mul(1_000_000_000)
        .and_then(|ns| ns.checked_add(u64::from(d.subsec_nanos())))
        .unwrap_or(NEVER)
}

/// `now + d` in driver nanoseconds, saturating to [`NEVER`] (`Duration::MAX`
/// never fires).
#[inline]
pub(crate) fn add_ns(now: u64, d: Duration) -> u64 {
    now.saturating_add(to_ns(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_saturate_to_never() {
        assert_eq!(to_ns(Duration::MAX), NEVER);
        assert_eq!(add_ns(5, Duration::MAX), NEVER);
        assert_eq!(add_ns(5, Duration::from_nanos(7)), 12);
        let c = Clock::Real {
            base: Instant::now(),
        };
        assert_eq!(c.ns_of(c.base() - Duration::from_secs(1)), 0);
        assert_eq!(
            c.instant_of(c.ns_of(c.base() + Duration::from_nanos(123))),
            c.base() + Duration::from_nanos(123)
        );
    }
}
