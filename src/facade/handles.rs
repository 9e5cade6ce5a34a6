//! The facade's handle traits on rm-metrics series: a `metrics::Counter`,
//! `Gauge` or `Histogram` that the recorder returns is one of the core's
//! resolved series, so recording through it costs what a
//! [`Handle`](crate::Handle) does (plus the facade's dynamic call).

use std::sync::{Mutex, PoisonError};

use metrics::{CounterFn, GaugeFn, HistogramFn};

use crate::family::Series;
use crate::{Counter, Gauge, Histogram};

impl CounterFn for Series<Counter> {
    #[inline]
    fn increment(&self, value: u64) {
        self.metric.inc_by(value);
    }

    /// Raises the counter to `value` if it is below (a counter never goes
    /// down). Absolute updates of one series are serialized by a striped
    /// lock, so each sees the others' effect; increments racing with one
    /// stay lock-free and are never lost (they land before or after it).
    fn absolute(&self, value: u64) {
        static STRIPES: [Mutex<()>; 16] = [const { Mutex::new(()) }; 16];
        let stripe = (self as *const Self as usize >> 7) % STRIPES.len();
        // Poisoning is moot: the lock guards no data of its own.
        let _serial = STRIPES[stripe]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = self.metric.get();
        if value > now {
            self.metric.inc_by(value - now);
        }
    }
}

impl GaugeFn for Series<Gauge> {
    #[inline]
    fn increment(&self, value: f64) {
        self.metric.add(value);
    }

    #[inline]
    fn decrement(&self, value: f64) {
        self.metric.add(-value);
    }

    #[inline]
    fn set(&self, value: f64) {
        self.metric.set(value);
    }
}

impl HistogramFn for Series<Histogram> {
    #[inline]
    fn record(&self, value: f64) {
        self.metric.observe(value);
    }
}
