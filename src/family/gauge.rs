//! A gauge: one `f64` that goes up and down.

use crate::core::sync::{AtomicU64, Ordering};

/// A gauge's value, one `f64` in one atomic word.
///
/// [`set`](Gauge::set) is one store; [`add`](Gauge::add) a compare-exchange
/// loop. Not sharded: the value of a set must be the one value, so every
/// writer writes the same word. 8 bytes per series.
///
/// ```
/// use rm_metrics::{Opts, Registry};
///
/// let registry = Registry::new();
/// let depth = registry.gauge(Opts::new("queue_depth", "Jobs waiting."), ["queue"])?;
/// depth.set(["mail"], 4.0);
/// depth.add(["mail"], -1.5);
/// assert_eq!(depth.with(["mail"]).get(), 2.5);
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
pub struct Gauge {
    bits: AtomicU64,
}

impl Gauge {
    pub(crate) fn new() -> Self {
        Gauge {
            bits: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        // Relaxed: the value is all there is; nothing is published with it.
        self.bits.store(v.to_bits(), Ordering::Relaxed);
    }

    /// Adds `v` (which may be negative).
    #[inline]
    pub fn add(&self, v: f64) {
        // Relaxed throughout, as in `set`; the loop retries only when
        // another writer changed the value in between.
        let mut old = self.bits.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(old) + v).to_bits();
            match self
                .bits
                .compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => old = now,
            }
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        // Relaxed: as in `set`.
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}
