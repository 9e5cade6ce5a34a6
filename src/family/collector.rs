//! Families written at scrape time from the caller's own data.

use std::marker::PhantomData;

use crate::family::family::{Collect, Desc};
use crate::family::metric::{Values, Visitor};

/// Where a scrape-time collector writes its samples: one call of
/// [`sample`](Emit::sample) per series, in the order they should appear
/// (the exposition writes them as given).
///
/// `T` is `u64` for a counter family, `f64` for a gauge family.
pub struct Emit<'a, const N: usize, T> {
    visitor: &'a mut dyn Visitor,
    value: PhantomData<T>,
}

impl<const N: usize> Emit<'_, N, f64> {
    /// Writes the gauge sample of `values`.
    pub fn sample(&mut self, values: [&str; N], value: f64) {
        self.visitor.gauge(Values::Passed(&values), value);
    }
}

impl<const N: usize> Emit<'_, N, u64> {
    /// Writes the counter sample of `values`.
    pub fn sample(&mut self, values: [&str; N], value: u64) {
        self.visitor.counter(Values::Passed(&values), value, None);
    }
}

/// A family whose samples a closure writes at each scrape.
pub(crate) struct Collected<F, const N: usize, T> {
    pub(crate) desc: Desc,
    pub(crate) collect: F,
    pub(crate) value: PhantomData<fn(T)>,
}

impl<F, const N: usize, T> Collect for Collected<F, N, T>
where
    F: Fn(&mut Emit<'_, N, T>) + Send + Sync,
{
    fn desc(&self) -> &Desc {
        &self.desc
    }

    fn visit(&self, visitor: &mut dyn Visitor) {
        (self.collect)(&mut Emit {
            visitor,
            value: PhantomData,
        });
    }
}
