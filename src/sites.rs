//! Live handles grouped by the source line that created them: the answer to
//! "which line of my code created these 40,000 live tickers?".
//!
//! Every public constructor is `#[track_caller]`, so each wheel entry keeps
//! the `&'static Location` of its creator (8 bytes) and the driver
//! nanosecond it was created at.

use crate::driver::Handle;
use crate::entry::Kind;
use crate::stats::Stats;
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
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
    /// (ties: oldest first, then by location). Detached callbacks that have
    /// not finished yet are included: thousands of them are a leak too.
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
                // The column too: several sites can share a line, and the
                // map's order is random, so without it ties would be too.
                .then_with(|| {
                    (
                        a.location.file(),
                        a.location.line(),
                        a.location.column(),
                        a.kind,
                    )
                        .cmp(&(
                            b.location.file(),
                            b.location.line(),
                            b.location.column(),
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

/// What [`Builder::on_site_threshold`](crate::Builder::on_site_threshold)
/// calls.
pub(crate) type SiteFn = Arc<dyn Fn(&Site) + Send + Sync + 'static>;

/// Live counts per (site, kind), kept under `W` when a threshold is set.
pub(crate) struct SiteTracker {
    /// A site "crosses" when its count goes from `threshold` to
    /// `threshold + 1`.
    threshold: usize,
    /// The user's function.
    f: SiteFn,
    /// Live count per (location address, kind).
    counts: HashMap<(usize, Kind), usize>,
}

impl fmt::Debug for SiteTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteTracker")
            .field("threshold", &self.threshold)
            .field("sites", &self.counts.len())
            .finish()
    }
}

impl SiteTracker {
    pub(crate) fn new(threshold: usize, f: SiteFn) -> Self {
        SiteTracker {
            threshold,
            f,
            counts: HashMap::new(),
        }
    }

    /// Counts a new handle; returns the function to call if this one made
    /// the site cross the threshold.
    pub(crate) fn added(
        &mut self,
        site: &'static Location<'static>,
        kind: Kind,
        _now: u64,
    ) -> Option<SiteFn> {
        let n = self
            .counts
            .entry((std::ptr::from_ref(site) as usize, kind))
            .or_insert(0);
        *n += 1;
        // `n - 1 == threshold`, not `n == threshold + 1`: that overflows for
        // a threshold of `usize::MAX` (which no count can cross), and this
        // runs under `W` while a handle is being made.
        (*n - 1 == self.threshold).then(|| self.f.clone())
    }

    /// Counts a handle gone.
    pub(crate) fn removed(&mut self, site: &'static Location<'static>, kind: Kind) {
        let k = (std::ptr::from_ref(site) as usize, kind);
        if let Some(n) = self.counts.get_mut(&k) {
            *n -= 1;
            if *n == 0 {
                self.counts.remove(&k);
            }
        }
    }
}

#[cfg(all(test, loom))]
impl SiteTracker {
    /// The live handles counted, over all sites and kinds (for the loom
    /// models: zero once every handle is gone).
    pub(crate) fn counted(&self) -> usize {
        self.counts.values().sum()
    }
}

/// A goroutine-dump-like report: the driver's stats and its live handles
/// grouped by creation site. `Display` prints a readable table.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Report {
    /// The driver's stats at the time of the report.
    pub stats: Stats,
    /// Live sites, largest count first.
    pub sites: Vec<Site>,
}

impl Handle {
    /// A [`Report`] of this driver: stats plus live sites.
    pub fn report(&self) -> Report {
        Report {
            stats: self.stats(),
            sites: self.live_sites(),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tickwheel: {}", self.stats)?;
        let total: usize = self.sites.iter().map(|s| s.count).sum();
        writeln!(f, "{total} live handles at {} sites:", self.sites.len())?;
        writeln!(f, "{:>8} {:<8} created at (oldest)", "count", "kind")?;
        for s in &self.sites {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}
