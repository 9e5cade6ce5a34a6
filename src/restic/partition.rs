//! Splitting one exposition across several scrape targets.

use std::hash::Hasher;

/// One of `count` parts of the exposition, so that `count` Prometheus
/// servers can share one large fleet (hashmod-style sharding by the
/// exporter itself).
///
/// Part `i` holds the per-host families of the hosts whose id hashes to `i`
/// ([`of_host`](Self::of_host): FNV-1a, stable across processes, versions
/// and platforms), and part 0 also every server-wide family (host totals,
/// alerts, build info, job histograms). The parts are disjoint and their
/// union is exactly the whole exposition.
///
/// ```
/// use rm_metrics::{HostRow, Partition, JobRegistry, Renderer, Snapshot};
///
/// let hosts = [HostRow { id: "h1", name: "a", ..HostRow::default() },
///              HostRow { id: "h2", name: "b", ..HostRow::default() }];
/// let snapshot = Snapshot { hosts: &hosts, ..Snapshot::default() };
/// let (registry, mut renderer) = (JobRegistry::new(), Renderer::new());
/// for i in 0..4 {
///     let part = Partition::new(i, 4).expect("index below count");
///     let text = String::from_utf8(
///         renderer.render_partition(&registry, &snapshot, part).to_vec()).unwrap();
///     // The fleet totals are in part 0 only, and each host is in its own part.
///     assert_eq!(text.contains("rm_hosts_total 2\n"), i == 0);
///     assert_eq!(text.contains("host_id=\"h1\""), Partition::of_host("h1", 4) == i);
/// }
/// assert!(Partition::new(4, 4).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Partition {
    index: u32,
    count: u32,
}

impl Partition {
    /// The whole exposition: part 0 of 1.
    pub const ALL: Partition = Partition { index: 0, count: 1 };

    /// Part `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Partition> {
        (index < count).then_some(Partition { index, count })
    }

    /// This part's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many parts there are.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The part, of `count`, that a host id belongs to: the 64-bit FNV-1a
    /// hash of its UTF-8 bytes, modulo `count` (0 when `count` is 0 or 1).
    pub fn of_host(id: &str, count: u32) -> u32 {
        if count <= 1 {
            return 0;
        }
        let mut h = fnv::FnvHasher::default();
        h.write(id.as_bytes());
        (h.finish() % u64::from(count)) as u32
    }

    /// Whether this part holds the server-wide families.
    pub(crate) fn has_server_families(&self) -> bool {
        self.index == 0
    }

    /// Whether this part holds the host with this id.
    pub(crate) fn holds(&self, id: &str) -> bool {
        self.count <= 1 || Self::of_host(id, self.count) == self.index
    }
}

impl Default for Partition {
    fn default() -> Self {
        Partition::ALL
    }
}

#[cfg(test)]
mod tests {
    use super::Partition;

    /// The hash is part of the contract (operators may compute it): pinned.
    #[test]
    fn the_host_hash_is_stable() {
        // FNV-1a 64 of "" is its offset basis, 0xcbf29ce484222325.
        assert_eq!(
            Partition::of_host("", 1 << 31),
            (0xcbf2_9ce4_8422_2325u64 % (1 << 31)) as u32
        );
        assert_eq!(
            Partition::of_host("a", u32::MAX),
            (0xaf63_dc4c_8601_ec8cu64 % u64::from(u32::MAX)) as u32
        );
        assert_eq!(Partition::of_host("anything", 1), 0);
    }
}
