//! Label sets known at compile time: a dense array of series, indexed
//! without hashing or lookup.

use crate::core::sync::OnceLock;
use crate::family::{Family, Handle, Metric, OVERFLOW_LABEL};
use std::marker::PhantomData;

/// A label set whose values come from a fixed, small set (enums), mapped
/// to a dense index: what measured calls a fixed-cardinality label group.
///
/// `CARDINALITY` is the number of distinct label sets; `index` maps each to
/// a distinct number below it, and `values` back to its `N` label values.
///
/// ```
/// use rm_metrics::{FixedLabels, Opts, Registry};
///
/// #[derive(Clone, Copy)]
/// enum Method { Get, Post }
/// #[derive(Clone, Copy)]
/// enum Code { Ok, NotFound, Error }
///
/// #[derive(Clone, Copy)]
/// struct Request(Method, Code);
///
/// impl FixedLabels<2> for Request {
///     const CARDINALITY: usize = 2 * 3;
///     fn index(self) -> usize {
///         self.0 as usize * 3 + self.1 as usize
///     }
///     fn values(index: usize) -> [&'static str; 2] {
///         [["GET", "POST"][index / 3], ["200", "404", "500"][index % 3]]
///     }
/// }
///
/// let registry = Registry::new();
/// let requests = registry
///     .counter(Opts::new("requests", "Requests."), ["method", "code"])?
///     .fixed::<Request>();
/// requests.get(Request(Method::Post, Code::NotFound)).inc(); // no hashing
/// assert_eq!(requests.get(Request(Method::Post, Code::NotFound)).get(), 1);
/// # Ok::<(), rm_metrics::RegisterError>(())
/// ```
pub trait FixedLabels<const N: usize>: Copy {
    /// Number of distinct label sets.
    const CARDINALITY: usize;
    /// This label set's number, below `CARDINALITY`, distinct for distinct
    /// label sets.
    fn index(self) -> usize;
    /// The label values of label set number `index`.
    fn values(index: usize) -> [&'static str; N];
}

/// A family seen through a [`FixedLabels`] type: every label set's series
/// made up front, found by its index. See [`Family::fixed`].
pub struct Fixed<M, L, const N: usize> {
    dense: Box<[Handle<M>]>,
    family: Family<M, N>,
    /// The overflow series, made on first need: for an index at or past
    /// `CARDINALITY` (a wrong `index`), so nothing is lost and nothing panics.
    fallback: OnceLock<Handle<M>>,
    labels: PhantomData<fn(L)>,
}

impl<M: Metric, const N: usize> Family<M, N> {
    /// This family with its series indexed by `L`: each of the
    /// `L::CARDINALITY` series is created now (so all of them are exported,
    /// from zero), and [`Fixed::get`] finds one by `L::index` with no
    /// hashing. If the family's series limit is below the cardinality, the
    /// label sets past it share the overflow series.
    pub fn fixed<L: FixedLabels<N>>(&self) -> Fixed<M, L, N> {
        Fixed {
            dense: (0..L::CARDINALITY)
                .map(|i| self.with(L::values(i)))
                .collect(),
            family: self.clone(),
            fallback: OnceLock::new(),
            labels: PhantomData,
        }
    }
}

impl<M: Metric, L: FixedLabels<N>, const N: usize> Fixed<M, L, N> {
    /// The metric of `labels`.
    #[inline]
    pub fn get(&self, labels: L) -> &M {
        match self.dense.get(labels.index()) {
            Some(handle) => handle,
            None => self.fallback(),
        }
    }

    #[cold]
    fn fallback(&self) -> &M {
        self.fallback
            .get_or_init(|| self.family.with([OVERFLOW_LABEL; N]))
    }

    /// The family underneath.
    pub fn family(&self) -> &Family<M, N> {
        &self.family
    }
}
