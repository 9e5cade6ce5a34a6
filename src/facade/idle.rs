//! Idle expiry: the facade's series that no update touched for a while are
//! removed, as metrics-exporter-prometheus' `idle_timeout` removes them
//! (the `metrics` macros give a service no other way to drop a label set
//! it stopped using).
//!
//! Nothing on the record path changes: a sweep
//! ([`Recorder::expire_idle`](crate::facade::Recorder::expire_idle)) reads
//! each series' state (a counter's value, a gauge's bits, a histogram's
//! count) and remembers since which sweep it has been the same. A series
//! whose state stayed the same across sweeps spanning the timeout is idle:
//! its family removes it, and the recorder's map forgets its key, so the
//! key's next macro call starts a new series from zero.
//!
//! So the timeout is measured in sweeps: a series expires at the first
//! sweep at least the timeout after the first sweep that saw its current
//! state. A counter or histogram changes state on every update (an
//! increment by 0 aside); a gauge set again to the value it had does not,
//! and counts as idle.

use std::collections::HashMap;
use std::ops::BitOr;
use std::time::{Duration, Instant};

use crate::core::sync::Arc;
use crate::family::Series;

/// Which kinds of metric [`Builder::idle_timeout`](crate::facade::Builder::idle_timeout)
/// applies to, combined with `|`.
///
/// ```
/// use rm_metrics::facade::Kinds;
///
/// let kinds = Kinds::COUNTERS | Kinds::HISTOGRAMS;
/// assert!(kinds.contains(Kinds::COUNTERS) && !kinds.contains(Kinds::GAUGES));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kinds(u8);

impl Kinds {
    /// No kind.
    pub const NONE: Kinds = Kinds(0);
    /// Counters.
    pub const COUNTERS: Kinds = Kinds(1);
    /// Gauges (idle when their value stays the same, even if set again).
    pub const GAUGES: Kinds = Kinds(2);
    /// Histograms.
    pub const HISTOGRAMS: Kinds = Kinds(4);
    /// Every kind.
    pub const ALL: Kinds = Kinds(7);

    /// Whether every kind of `other` is one of these.
    pub fn contains(self, other: Kinds) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Kinds {
    type Output = Kinds;

    fn bitor(self, other: Kinds) -> Kinds {
        Kinds(self.0 | other.0)
    }
}

/// What a sweep remembers of a series: its state, and since when.
struct Seen<M> {
    /// Keeps the series' address (the map's key) from being reused while
    /// it is remembered.
    _series: Arc<Series<M>>,
    state: u64,
    since: Instant,
}

/// Bytes of one remembered series (its address and what is kept of it),
/// for the recorder's memory note.
#[cfg(test)]
pub(crate) const ENTRY: usize = std::mem::size_of::<(usize, Seen<crate::Counter>)>();

/// The series of one kind as the last sweep saw them, by address.
pub(crate) struct Tracker<M> {
    seen: HashMap<usize, Seen<M>>,
}

impl<M> Tracker<M> {
    pub(crate) fn new() -> Self {
        Tracker {
            seen: HashMap::new(),
        }
    }

    /// Sweeps `series` (each with a tag of the caller's and its state) at
    /// `now`: the ones whose state has stayed the same for `timeout` are
    /// returned, and forgotten; the others are remembered for the next
    /// sweep, and any series not among `series` is forgotten.
    pub(crate) fn sweep<T>(
        &mut self,
        series: impl IntoIterator<Item = (T, Arc<Series<M>>, u64)>,
        now: Instant,
        timeout: Duration,
    ) -> Vec<(T, Arc<Series<M>>, u64)> {
        let mut next = HashMap::with_capacity(self.seen.len());
        let mut idle = Vec::new();
        for (tag, s, state) in series {
            let at = Arc::as_ptr(&s) as usize;
            let since = match self.seen.get(&at) {
                Some(seen) if seen.state == state => seen.since,
                _ => now,
            };
            if now.saturating_duration_since(since) >= timeout {
                idle.push((tag, s, state));
            } else {
                next.insert(
                    at,
                    Seen {
                        _series: s,
                        state,
                        since,
                    },
                );
            }
        }
        self.seen = next;
        idle
    }
}
