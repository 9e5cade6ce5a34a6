//! The recorder: `metrics` keys → rm-metrics series, through a sharded map
//! of immutable tables behind atomic pointers (lock-free reads; copy and
//! publish under one lock on the first use of a key).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use hashbrown::hash_table::HashTable;
use metrics::{Key, KeyName, Metadata, SetRecorderError, SharedString, Unit};

use crate::core::retired::Retired;
use crate::core::sync::{Arc, StdArc, SwapCell};
use crate::facade::builder::Builder;
use crate::facade::idle::{Kinds, Tracker};
use crate::family::{DynamicFamily, Kind, Series};
use crate::{Counter, Gauge, Histogram, Metric, Opts, RegisterError, Registry};

/// A [`metrics::Recorder`] whose counters, gauges and histograms are
/// rm-metrics families in a [`Registry`]: what the `metrics` macros of
/// any crate record is counted by the lock-free core, and written by the
/// registry's encoders (or the exporter) next to the registry's other
/// families.
///
/// Each metric name is one family; each distinct label set one series,
/// whatever the order of its labels. A handle that a macro returns is the
/// series itself, so `let h = metrics::histogram!("x", "k" => "v");` then
/// `h.record(v)` skips every lookup. The macro calls themselves find the
/// series in a lock-free map by the key's own hash; only a key's first use
/// takes a lock.
///
/// ```
/// use rm_metrics::{facade::Recorder, Registry, TextEncoder};
///
/// let registry = Registry::new();
/// let recorder = Recorder::new(&registry);
/// metrics::with_local_recorder(&recorder, || {
///     metrics::describe_counter!("jobs", "Jobs run.");
///     metrics::counter!("jobs", "queue" => "mail").increment(2);
///     metrics::histogram!("job.seconds").record(0.25);
/// });
/// let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
/// assert!(text.contains("# HELP jobs_total Jobs run.\n"));
/// assert!(text.contains("jobs_total{queue=\"mail\"} 2\n"));
/// assert!(text.contains("job_seconds_count 1\n"));
/// assert!(recorder.errors().is_empty());
/// ```
///
/// What the facade cannot express maps as follows:
/// - A counter named `x_total` is the family `x` (its sample is
///   `x_total`, not `x_total_total`).
/// - A name that is not a valid Prometheus name has each invalid character
///   replaced by `_` (see [`Builder::strict_names`]).
/// - A unit shows as OpenMetrics' `# UNIT` when the family name ends with
///   `_` and the unit's name (`Unit::Seconds` on `x_seconds`); otherwise it
///   is left out.
/// - A key that cannot be registered (a reserved or repeated label name, a
///   name used for two kinds) records nothing; its error is listed once by
///   [`errors`](Recorder::errors). A macro call never panics.
/// - A series is kept until idle expiry removes it, if configured
///   ([`Builder::idle_timeout`], [`expire_idle`](Recorder::expire_idle)).
///
/// Memory: a series costs what a family's series costs (see
/// [`docs::families`](crate::docs::families)), its label names stored with
/// its values, plus one 64-byte entry in the recorder's map holding a copy
/// of the key: 48 bytes a label, and the bytes of owned names and values.
/// Overflow series are not in the map (any number of keys may reach
/// them): a key past the series limit is looked up in its family's index
/// on every call, without a lock. A new key copies one of the map's 16
/// shards (and keeps the copy it replaced until the next new key). With idle expiry, each series of the expiring kinds also has
/// a 40-byte entry (and its share of the map's slack) in what the sweeps
/// remember.
#[derive(Clone)]
pub struct Recorder(StdArc<Shared>);

/// The first this many distinct registration errors are kept.
const MAX_ERRORS: usize = 100;

struct Shared {
    config: Builder,
    registry: Registry,
    counters: Map<Counter>,
    gauges: Map<Gauge>,
    histograms: Map<Histogram>,
    /// Descriptions by family name, read lock-free by a `describe_*` that
    /// changes nothing (the macros' inline `description:` repeats it on
    /// every call).
    described: SwapCell<HashMap<String, Description>>,
    /// Families by name, read lock-free on a key's first use (and on every
    /// use of a key past its family's series limit).
    families: SwapCell<HashMap<String, Named>>,
    /// Serializes what changes the maps: a new family, a key added to a
    /// key map, a description.
    writer: Mutex<()>,
    errors: Mutex<Vec<RegisterError>>,
    /// What idle expiry remembers of each kind's series; the lock also
    /// serializes sweeps.
    idle: Mutex<Trackers>,
}

struct Trackers {
    counters: Tracker<Counter>,
    gauges: Tracker<Gauge>,
    histograms: Tracker<Histogram>,
}

#[derive(Clone, PartialEq)]
struct Description {
    help: String,
    unit: Option<&'static str>,
}

/// What a name is in the recorder: a family of one kind, or refused.
#[derive(Clone)]
enum Named {
    Counter(DynamicFamily<Counter>),
    Gauge(DynamicFamily<Gauge>),
    Histogram(DynamicFamily<Histogram>),
    /// The name could not be registered (its error is listed once).
    Refused,
}

impl Named {
    fn describe(&self, d: &Description) {
        match self {
            Named::Counter(f) => f.describe(&d.help, d.unit),
            Named::Gauge(f) => f.describe(&d.help, d.unit),
            Named::Histogram(f) => f.describe(&d.help, d.unit),
            Named::Refused => {}
        }
    }
}

/// The three kinds, as the recorder handles them.
trait Facade: Metric + Sized {
    const FACADE_KIND: Kind;
    /// This kind, for idle expiry.
    const KINDS: Kinds;
    fn map(shared: &Shared) -> &Map<Self>;
    fn family(named: &Named) -> Option<&DynamicFamily<Self>>;
    fn named(family: DynamicFamily<Self>) -> Named;
    fn tracker(trackers: &mut Trackers) -> &mut Tracker<Self>;
    /// What idle expiry compares between sweeps: the same number means no
    /// update changed the metric.
    fn state(&self) -> u64;
}

macro_rules! facade {
    ($m:ident, $kind:ident, $map:ident, $kinds:ident, $state:expr) => {
        impl Facade for $m {
            const FACADE_KIND: Kind = Kind::$kind;
            const KINDS: Kinds = Kinds::$kinds;
            fn map(shared: &Shared) -> &Map<Self> {
                &shared.$map
            }
            fn tracker(trackers: &mut Trackers) -> &mut Tracker<Self> {
                &mut trackers.$map
            }
            fn state(&self) -> u64 {
                $state(self)
            }
            fn family(named: &Named) -> Option<&DynamicFamily<Self>> {
                match named {
                    Named::$m(f) => Some(f),
                    _ => None,
                }
            }
            fn named(family: DynamicFamily<Self>) -> Named {
                Named::$m(family)
            }
        }
    };
}
facade!(Counter, Counter, counters, COUNTERS, Counter::get);
facade!(Gauge, Gauge, gauges, GAUGES, |g: &Gauge| g.get().to_bits());
facade!(
    Histogram,
    Histogram,
    histograms,
    HISTOGRAMS,
    Histogram::activity
);

/// Keys → series, in shards by the key's hash so that adding a key copies
/// one shard's table, not all of them.
struct Map<M> {
    shards: [SwapCell<Table<M>>; SHARDS],
    /// Tables replaced by adds, kept until no lookup holds them, so that
    /// the writers drop them (a drop frees each key's labels), not a macro
    /// call whose lookup held the last reference. Only touched under the
    /// writer's lock.
    retired: Mutex<Retired<Table<M>>>,
}

/// One shard: each key with its series.
type Table<M> = HashTable<(Key, Arc<Series<M>>)>;

const SHARDS: usize = 16;

impl<M> Map<M> {
    fn new() -> Self {
        Map {
            shards: std::array::from_fn(|_| SwapCell::new(HashTable::new())),
            retired: Mutex::new(Retired::new()),
        }
    }

    /// Publishes `next` in `shard` (callers hold the writer's lock),
    /// keeping the table it replaces and dropping those no lookup holds
    /// any more (see `core/retired.rs`).
    fn publish(&self, shard: &SwapCell<Table<M>>, next: Table<M>) {
        let mut retired = lock(&self.retired);
        retired.sweep();
        retired.replace(shard, Arc::new(next));
    }

    #[inline]
    fn shard(&self, hash: u64) -> &SwapCell<Table<M>> {
        // Bits the table itself uses least: it indexes by the low bits and
        // tags by the top seven.
        &self.shards[(hash >> 32) as usize % SHARDS]
    }

    /// The series of `key`, if it has one.
    #[inline]
    fn get(&self, key: &Key) -> Option<Arc<Series<M>>> {
        let hash = key.get_hash();
        let table = self.shard(hash).load();
        table
            .find(hash, |(k, _)| same_key(k, key))
            .map(|(_, s)| Arc::clone(s))
    }

    /// Adds `key` (callers hold the writer's lock, which serializes adds:
    /// none is lost between the copy and the publish).
    fn insert(&self, key: &Key, series: &Arc<Series<M>>) {
        let hash = key.get_hash();
        let shard = self.shard(hash);
        let current = shard.load();
        if current.find(hash, |(k, _)| same_key(k, key)).is_some() {
            return;
        }
        let mut next = HashTable::clone(&current);
        drop(current);
        next.insert_unique(hash, (key.clone(), Arc::clone(series)), |(k, _)| {
            k.get_hash()
        });
        self.publish(shard, next);
    }

    /// Forgets every key whose series `gone` picks (callers hold the
    /// writer's lock).
    fn forget(&self, gone: impl Fn(&Series<M>) -> bool) {
        for shard in &self.shards {
            let current = shard.load();
            if !current.iter().any(|(_, s)| gone(s)) {
                continue;
            }
            let mut next = HashTable::clone(&current);
            drop(current);
            next.retain(|(_, s)| !gone(s));
            self.publish(shard, next);
        }
    }
}

/// A series' address, which identifies it while it is held.
fn address<M>(series: &Series<M>) -> usize {
    series as *const Series<M> as usize
}

/// `Key`'s own equality (name, and the set of labels whatever their
/// order), first tried label by label in order with each string compared by
/// address before bytes: a macro's literal names and values, and the
/// `&'static str`s a service passes, are then equal without a `memcmp`.
#[inline]
fn same_key(stored: &Key, key: &Key) -> bool {
    #[inline]
    fn same(a: &str, b: &str) -> bool {
        (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
    }
    if stored.get_hash() != key.get_hash() {
        return false;
    }
    let in_order = same(stored.name(), key.name())
        && stored.labels().len() == key.labels().len()
        && stored
            .labels()
            .zip(key.labels())
            .all(|(a, b)| same(a.key(), b.key()) && same(a.value(), b.value()));
    in_order || stored == key
}

impl Recorder {
    /// A recorder with the default configuration (see [`Builder`]),
    /// registering its families in `registry`.
    pub fn new(registry: &Registry) -> Self {
        Builder::default().build(registry)
    }

    /// Configuration: bucket ladders, series limit, name checks.
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub(crate) fn new_with(config: Builder, registry: Registry) -> Self {
        Recorder(StdArc::new(Shared {
            config,
            registry,
            counters: Map::new(),
            gauges: Map::new(),
            histograms: Map::new(),
            described: SwapCell::new(HashMap::new()),
            families: SwapCell::new(HashMap::new()),
            writer: Mutex::new(()),
            errors: Mutex::new(Vec::new()),
            idle: Mutex::new(Trackers {
                counters: Tracker::new(),
                gauges: Tracker::new(),
                histograms: Tracker::new(),
            }),
        }))
    }

    /// Installs this recorder as the process' global `metrics` recorder.
    /// Fails if one is installed already.
    pub fn install(self) -> Result<(), SetRecorderError<Recorder>> {
        metrics::set_global_recorder(self)
    }

    /// The registry holding the recorder's families.
    pub fn registry(&self) -> &Registry {
        &self.0.registry
    }

    /// The distinct registration errors so far (the first 100), each once:
    /// the keys they name record nothing.
    pub fn errors(&self) -> Vec<RegisterError> {
        lock(&self.0.errors).clone()
    }

    /// Removes the series that [`Builder::idle_timeout`] calls idle: those
    /// of its kinds whose value stayed the same over the calls of this
    /// method spanning its timeout (so a series expires at the first call
    /// at least the timeout after the first call that saw its current
    /// value). Returns how many it removed; none without an idle timeout.
    /// Call it before each scrape, or on a timer.
    ///
    /// It reads every series of the expiring kinds, and takes the
    /// recorder's lock only to remove: macro calls of known keys never
    /// wait for it. An update through a handle (or a lookup) taken before
    /// the removal, and made within the microseconds between the last
    /// check of the series' value and its removal, lands in the removed
    /// series and is not exported.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rm_metrics::facade::{Kinds, Recorder};
    /// use rm_metrics::{Registry, TextEncoder};
    ///
    /// let registry = Registry::new();
    /// let recorder = Recorder::builder()
    ///     .idle_timeout(Kinds::COUNTERS, Duration::from_millis(10))
    ///     .build(&registry);
    /// metrics::with_local_recorder(&recorder, || {
    ///     metrics::counter!("requests", "route" => "/old").increment(1);
    ///     metrics::counter!("requests", "route" => "/new").increment(1);
    /// });
    /// assert_eq!(recorder.expire_idle(), 0); // both just seen
    /// std::thread::sleep(Duration::from_millis(20));
    /// metrics::with_local_recorder(&recorder, || {
    ///     metrics::counter!("requests", "route" => "/new").increment(1);
    /// });
    /// assert_eq!(recorder.expire_idle(), 1); // `/old`: idle for 20 ms
    /// let text = String::from_utf8(TextEncoder::new().encode(&registry).to_vec()).unwrap();
    /// assert!(!text.contains("/old") && text.contains("requests_total{route=\"/new\"} 2"));
    /// ```
    pub fn expire_idle(&self) -> usize {
        let Some((kinds, timeout)) = self.0.config.idle else {
            return 0;
        };
        let shared = &*self.0;
        let mut trackers = lock(&shared.idle);
        let now = Instant::now();
        shared.expire::<Counter>(&mut trackers, kinds, now, timeout)
            + shared.expire::<Gauge>(&mut trackers, kinds, now, timeout)
            + shared.expire::<Histogram>(&mut trackers, kinds, now, timeout)
    }
}

/// Poisoning is moot for these locks: each guards data that is only ever
/// replaced whole or appended to.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// One kind's part of [`Recorder::expire_idle`] (callers hold the
    /// trackers' lock).
    fn expire<M: Facade>(
        &self,
        trackers: &mut Trackers,
        kinds: Kinds,
        now: Instant,
        timeout: std::time::Duration,
    ) -> usize {
        if !kinds.contains(M::KINDS) {
            return 0;
        }
        let families: Vec<DynamicFamily<M>> = self
            .families
            .load()
            .values()
            .filter_map(|named| M::family(named).cloned())
            .collect();
        let states = families.iter().enumerate().flat_map(|(f, family)| {
            family.series().into_iter().map(move |s| {
                let state = s.metric.state();
                (f, s, state)
            })
        });
        let idle = M::tracker(trackers).sweep(states, now, timeout);
        if idle.is_empty() {
            return 0;
        }
        // Under the writer's lock, so that no key added meanwhile keeps a
        // series removed here (`add` checks under it). The map forgets the
        // keys first, so a macro call from then on waits for the lock and
        // finds its series afresh; then each state is read once more, so
        // that an update that came through a lookup made before keeps its
        // series (its key returns to the map on its next call).
        let _writer = lock(&self.writer);
        let candidates: HashSet<usize> = idle.iter().map(|(_, s, _)| address(s)).collect();
        M::map(self).forget(|s| candidates.contains(&address(s)));
        let mut by_family = vec![Vec::new(); families.len()];
        for (f, s, state) in idle {
            if s.metric.state() == state {
                by_family[f].push(s);
            }
        }
        families
            .iter()
            .zip(by_family)
            .map(|(family, series)| family.remove(series))
            .sum()
    }

    #[inline]
    fn series<M: Facade>(&self, key: &Key) -> Option<Arc<Series<M>>> {
        match M::map(self).get(key) {
            Some(series) => Some(series),
            None => self.add::<M>(key),
        }
    }

    /// The series of a key not in the map yet: its family (made if new),
    /// its series (made if new), remembered in the map unless it is an
    /// overflow series (which any number of keys may reach).
    #[cold]
    #[inline(never)]
    fn add<M: Facade>(&self, key: &Key) -> Option<Arc<Series<M>>> {
        let names = self.config.names;
        let checked = names.metric(key.name()).and_then(|name| {
            let pairs = names.pairs(key, M::FACADE_KIND == Kind::Histogram)?;
            Ok((family_name(M::FACADE_KIND, name), pairs))
        });
        let (name, pairs) = match checked {
            Ok(checked) => checked,
            Err(e) => return self.refuse(e),
        };
        let family = self.family::<M>(name)?;
        let pairs: Vec<&str> = pairs.iter().map(|p| &**p).collect();
        let mut series = family.resolve(&pairs);
        if !series.is_overflow() {
            // Counted series are bounded by the limit: so are these adds.
            let _writer = lock(&self.writer);
            // Idle expiry removes under this lock: a series it removed
            // since `resolve` is not remembered (its key gets a new one).
            if series.is_removed() {
                series = family.resolve(&pairs);
            }
            if !series.is_overflow() {
                M::map(self).insert(key, &series);
            }
        }
        Some(series)
    }

    /// The family `name` of kind `M`: found lock-free, else registered;
    /// `None` (its error listed) if the name cannot be one.
    fn family<M: Facade>(&self, name: Cow<'_, str>) -> Option<DynamicFamily<M>> {
        let named = match self.families.load().get(&*name) {
            Some(named) => named.clone(),
            None => self.add_family::<M>(&name),
        };
        match (M::family(&named), &named) {
            (Some(family), _) => Some(family.clone()),
            // Its registration failed, and was listed then.
            (None, Named::Refused) => None,
            // One name, two kinds: the second is refused.
            (None, _) => self.refuse(RegisterError::DuplicateName(name.into_owned())),
        }
    }

    /// What `name` names, registered as a family of kind `M` (or refused,
    /// its error listed) under the writer's lock, unless another thread
    /// added it meanwhile.
    fn add_family<M: Facade>(&self, name: &str) -> Named {
        let _writer = lock(&self.writer);
        let current = self.families.load();
        if let Some(named) = current.get(name) {
            return named.clone();
        }
        let named = match self.register::<M>(name) {
            Ok(family) => M::named(family),
            Err(e) => self.refuse(e).unwrap_or(Named::Refused),
        };
        let mut next = HashMap::clone(&current);
        next.insert(name.to_owned(), named.clone());
        self.families.store(Arc::new(next));
        named
    }

    fn register<M: Facade>(&self, name: &str) -> Result<DynamicFamily<M>, RegisterError> {
        let described = self.described.load();
        let description = described.get(name);
        let mut opts =
            Opts::new(name, description.map_or("", |d| &d.help)).max_series(self.config.max_series);
        if let Some(unit) = description.and_then(|d| d.unit) {
            opts = opts.unit(unit);
        }
        let bounds = match M::FACADE_KIND {
            Kind::Histogram => self.config.ladder(name),
            _ => &[],
        };
        DynamicFamily::register(&self.registry, &opts, bounds)
    }

    fn refuse<T>(&self, e: RegisterError) -> Option<T> {
        let mut errors = lock(&self.errors);
        if errors.len() < MAX_ERRORS && !errors.contains(&e) {
            errors.push(e);
        }
        None
    }

    fn describe(&self, kind: Kind, name: KeyName, unit: Option<Unit>, help: SharedString) {
        let name = match self.config.names.metric(name.as_str()) {
            Ok(name) => family_name(kind, name),
            Err(e) => return self.refuse(e).unwrap_or(()),
        };
        let unit = unit.map(|u| u.as_str()).filter(|u| unit_fits(&name, u));
        if let Some(d) = self.described.load().get(&*name) {
            if d.help == *help && d.unit == unit {
                return;
            }
        }
        let _writer = lock(&self.writer);
        let description = Description {
            help: help.into_owned(),
            unit,
        };
        if let Some(named) = self.families.load().get(&*name) {
            named.describe(&description);
        }
        let mut next = HashMap::clone(&self.described.load());
        next.insert(name.into_owned(), description);
        self.described.store(Arc::new(next));
    }
}

/// A counter `x_total` is the family `x`, whose sample is `x_total`.
fn family_name(kind: Kind, name: Cow<'_, str>) -> Cow<'_, str> {
    match name.strip_suffix("_total") {
        Some(head) if kind == Kind::Counter && !head.is_empty() => Cow::Owned(head.into()),
        _ => name,
    }
}

/// Whether `unit` may be the `# UNIT` of the family `name` (OpenMetrics:
/// the name ends with `_` and the unit).
fn unit_fits(name: &str, unit: &str) -> bool {
    name.strip_suffix(unit)
        .is_some_and(|head| head.len() > 1 && head.ends_with('_'))
}

impl metrics::Recorder for Recorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe(Kind::Counter, key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe(Kind::Gauge, key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe(Kind::Histogram, key, unit, description);
    }

    #[inline]
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> metrics::Counter {
        match self.0.series::<Counter>(key) {
            Some(series) => metrics::Counter::from_arc(series),
            None => metrics::Counter::noop(),
        }
    }

    #[inline]
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
        match self.0.series::<Gauge>(key) {
            Some(series) => metrics::Gauge::from_arc(series),
            None => metrics::Gauge::noop(),
        }
    }

    #[inline]
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        match self.0.series::<Histogram>(key) {
            Some(series) => metrics::Histogram::from_arc(series),
            None => metrics::Histogram::noop(),
        }
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("registry", &self.0.registry)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup holding the last reference to a shard table an add
    /// replaced only releases it; the next add drops it.
    #[test]
    fn lookups_never_drop_a_replaced_shard() {
        let registry = Registry::new();
        let family =
            DynamicFamily::<Counter>::register(&registry, &Opts::new("c", "C."), &[]).unwrap();
        let series = family.resolve(&[]);
        let map = Map::<Counter>::new();
        let first = Key::from_name("k0");
        let shard_of = |k: &Key| (k.get_hash() >> 32) as usize % SHARDS;
        // A second key in the same shard.
        let second = (1..)
            .map(|i| Key::from_name(format!("k{i}")))
            .find(|k| shard_of(k) == shard_of(&first))
            .unwrap();
        map.insert(&first, &series);
        let held = map.shard(first.get_hash()).load_full(); // a lookup's
        let table = Arc::downgrade(&held);
        map.insert(&second, &series); // replaces `held`'s table
        drop(held);
        assert!(table.upgrade().is_some(), "the writers still hold it");
        map.insert(&Key::from_name("other"), &series);
        assert!(table.upgrade().is_none(), "dropped by the next add");
        assert!(map.get(&first).is_some() && map.get(&second).is_some());
    }

    /// Keeps the memory note of [`Recorder`] true.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn map_entry_size_is_as_documented() {
        use std::mem::size_of;
        assert_eq!(size_of::<(Key, Arc<Series<Counter>>)>(), 64);
        assert_eq!(crate::facade::idle::ENTRY, 40);
        assert_eq!(size_of::<metrics::Label>(), 48);
    }
}
