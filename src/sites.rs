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
use std::hash::{Hash, Hasher};
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
    /// Live count per (location, kind).
    counts: HashMap<(SiteKey, Kind), usize>,
}

/// A creation site as a key of [`SiteTracker`]: equal by the location's
/// value (file, line, column), as `live_sites` groups, not by its address.
/// One source line can have several `Location` statics (a generic function
/// codegenned in several crates or codegen units gets a copy in each); by
/// address each copy counted as a site of its own, so a line could hold
/// more live handles than the threshold without ever crossing it.
///
/// Hashed by line and column only, not the file name: one word, cheap under
/// `W` on every create and drop (a timer's create and drop with a threshold
/// measured about 12 ns slower than keyed by address, 20 ns with the file
/// name hashed too); sites on the same line and column of different files
/// are told apart by `Eq`, which compares addresses first.
#[derive(Clone, Copy, Debug)]
struct SiteKey(&'static Location<'static>);

impl PartialEq for SiteKey {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0) || *self.0 == *other.0
    }
}

impl Eq for SiteKey {}

impl Hash for SiteKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.0.line()) << 32 | u64::from(self.0.column()));
    }
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
        let n = self.counts.entry((SiteKey(site), kind)).or_insert(0);
        *n += 1;
        // `n - 1 == threshold`, not `n == threshold + 1`: that overflows for
        // a threshold of `usize::MAX` (which no count can cross), and this
        // runs under `W` while a handle is being made.
        (*n - 1 == self.threshold).then(|| self.f.clone())
    }

    /// Counts a handle gone.
    pub(crate) fn removed(&mut self, site: &'static Location<'static>, kind: Kind) {
        let k = (SiteKey(site), kind);
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

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::entry::{EntryKind, Kind};
    use crate::{Driver, ManualClock};
    use std::panic::Location;
    use std::time::Duration;

    // Found by review 5: the threshold tracker counted by `Location`
    // address. A generic function that makes a timer, instantiated in two
    // crates, has a `Location` static of the line in each (seen with
    // `codegen-units = 16` in release), so its four live timers at one line
    // never crossed a threshold of 1, though `live_sites` listed one site
    // with 4. A leaked copy of a `Location` is such a second address.
    #[test]
    fn one_line_with_two_location_statics_is_one_site() {
        let line: &'static Location<'static> = Location::caller();
        let copy: &'static Location<'static> = Box::leak(Box::new(*line));
        assert!(!std::ptr::eq(line, copy));
        let (tx, rx) = crossbeam_channel::unbounded();
        let driver = Driver::builder()
            .clock(ManualClock::new())
            .on_site_threshold(1, move |site| tx.send(site.clone()).unwrap())
            .build()
            .unwrap();
        let h = driver.handle();
        let inner = &h.inner;
        let (_, now) = inner.clock.now();
        let far = now + 3_600_000_000_000;
        let make = |site| {
            let (tx, _rx) = crossbeam_channel::bounded(1);
            inner.insert(EntryKind::Timer { tx: Some(tx) }, site, now, far)
        };
        let keys = [make(line), make(copy)];
        let site = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("two live timers at one line cross a threshold of 1");
        assert_eq!(
            (*site.location, site.kind, site.count),
            (*line, Kind::Timer, 2)
        );
        let listed = h.live_sites();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].count, 2);
        let mut st = inner.state.lock();
        let entries: Vec<_> = keys
            .into_iter()
            .map(|key| inner.remove(&mut st, key).0)
            .collect();
        st.live[Kind::Timer as usize] -= 2;
        assert!(st.sites.as_ref().unwrap().counts.is_empty());
        drop(st);
        drop(entries);
    }
}
