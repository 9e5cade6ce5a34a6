//! Families whose series carry their own label names: what the `metrics`
//! facade needs, since one metric name may be used with different label
//! sets at different call sites (the text formats allow it).

use crate::core::index::{Series, SeriesIndex};
use crate::core::sync::{Arc, StdArc, SwapCell};
use crate::family::family::{Collect, Desc, Inner};
use crate::family::metric::{Metric, Visitor};
use crate::family::opts::{Opts, RegisterError};
use crate::family::Registry;

/// A family's help text and unit, replaceable after registration.
struct Text {
    help: Box<str>,
    unit: Option<Box<str>>,
}

struct Dynamic<M> {
    inner: Inner<M>,
    text: SwapCell<Text>,
}

impl<M: Metric> Collect for Dynamic<M> {
    fn desc(&self) -> &Desc {
        &self.inner.desc
    }

    fn visit(&self, visitor: &mut dyn Visitor) {
        self.inner.visit(visitor)
    }

    fn describe(&self, f: &mut dyn FnMut(&str, Option<&str>)) {
        let text = self.text.load();
        f(&text.help, text.unit.as_deref());
    }
}

/// A registered family of `M` whose series are keyed by
/// `name, value, name, value, …` tuples (label names sorted, checked by the
/// caller), and whose description can change after registration.
pub(crate) struct DynamicFamily<M>(StdArc<Dynamic<M>>);

impl<M> Clone for DynamicFamily<M> {
    fn clone(&self) -> Self {
        DynamicFamily(StdArc::clone(&self.0))
    }
}

impl<M: Metric> DynamicFamily<M> {
    /// Registers the family in `registry` (`opts`' help and unit are the
    /// first description).
    pub(crate) fn register(
        registry: &Registry,
        opts: &Opts<'_>,
        bounds: &[f64],
    ) -> Result<Self, RegisterError> {
        let mut family = None;
        registry.add(M::KIND, opts, &[], bounds, |mut desc| {
            desc.pairs = true;
            let text = Text {
                help: desc.help.clone(),
                unit: desc.unit.clone(),
            };
            let dynamic = StdArc::new(Dynamic {
                inner: Inner {
                    desc,
                    index: SeriesIndex::with_pairs(opts.max_series),
                },
                text: SwapCell::new(text),
            });
            family = Some(StdArc::clone(&dynamic));
            dynamic
        })?;
        // `add` succeeded, so it made the family.
        Ok(DynamicFamily(family.expect("registered")))
    }

    /// The series of `pairs`, added if new (past the limit: the overflow
    /// series of these label names).
    pub(crate) fn resolve(&self, pairs: &[&str]) -> Arc<Series<M>> {
        let desc = &self.0.inner.desc;
        self.0.inner.index.resolve(pairs, || M::make(desc))
    }

    /// The family's series, as of one state of it.
    pub(crate) fn series(&self) -> Vec<Arc<Series<M>>> {
        self.0.inner.index.sorted().series.clone()
    }

    /// Removes `series` (those still the family's); returns how many.
    pub(crate) fn remove(&self, series: Vec<Arc<Series<M>>>) -> usize {
        self.0.inner.index.remove_series(series)
    }

    /// Replaces the help text and unit (checked by the caller).
    pub(crate) fn describe(&self, help: &str, unit: Option<&str>) {
        self.0.text.store(Arc::new(Text {
            help: help.into(),
            unit: unit.map(Box::from),
        }));
    }
}
