//! Live handles grouped by the source line that created them: the answer to
//! "which line of my code created these 40,000 live tickers?".
//!
//! Every public constructor is `#[track_caller]`, so each wheel entry keeps
//! the `&'static Location` of its creator (8 bytes) and the driver
//! nanosecond it was created at.

use crate::driver::Handle;
use crate::entry::Kind;
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::time::Duration;

/// Live handles of one kind created at one source location.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Site {
    /// Where the handles were created.
    pub location: &'static Location<'static>,
    /// Which kind of handle.
    pub kind: Kind,
    /// How many are alive.
    pub count: usize,
    /// Age of the oldest of them.
    pub oldest: Duration,
}

impl Handle {
    /// Live handles grouped by creation site and kind, largest count first
    /// (ties: oldest first, then by location).
    ///
    /// Reads the wheel under its lock once: O(live entries).
    pub fn live_sites(&self) -> Vec<Site> {
        let (_, now) = self.inner.clock.now();
        let mut by_site: HashMap<(&'static Location<'static>, Kind), (usize, u64)> = HashMap::new();
        {
            let st = self.inner.state.lock();
            for e in st.wheel.values() {
                let slot = by_site
                    .entry((e.site, e.kind.kind()))
                    .or_insert((0, u64::MAX));
                slot.0 += 1;
                slot.1 = slot.1.min(e.created);
            }
        }
        let mut sites: Vec<Site> = by_site
            .into_iter()
            .map(|((location, kind), (count, created))| Site {
                location,
                kind,
                count,
                oldest: Duration::from_nanos(now.saturating_sub(created)),
            })
            .collect();
        sites.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(b.oldest.cmp(&a.oldest))
                .then_with(|| {
                    (a.location.file(), a.location.line(), a.kind).cmp(&(
                        b.location.file(),
                        b.location.line(),
                        b.kind,
                    ))
                })
        });
        sites
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>8} {:<8} {}:{}:{} (oldest {:.1?})",
            self.count,
            format!("{:?}", self.kind),
            self.location.file(),
            self.location.line(),
            self.location.column(),
            self.oldest
        )
    }
}
