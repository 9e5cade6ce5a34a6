//! # Why sharded, and what a series costs
//!
//! A histogram observation increments a bucket counter and adds to a sum.
//! If every thread did that on the same two atomics, each `fetch_add` would
//! have to pull the cache line away from the core that wrote it last: on a
//! 2-core machine one shared Prometheus-client histogram handle runs at about
//! a ninth of its single-thread throughput when two threads use it (see
//! `BENCHMARKS.md`).
//!
//! So each series holds several **shards**, each a full set of counters
//! (ten buckets, two words of sum) in its own [`CachePadded`] slot. A thread
//! picks its shard once, round-robin on its first observation
//! (a thread-local number `& (shards - 1)`), so as long as there are no more
//! busy threads than shards, no two threads write the same cache line. More
//! threads than shards still work: they share a shard, and the `fetch_add`s
//! stay exact, merely contended. There is no lock and no CAS retry loop on
//! the observe path.
//!
//! The number of shards is the number of available cores rounded up to a
//! power of two, at most 64; it is fixed when the registry is built.
//!
//! A scrape adds up all shards of a series; that is the price of sharding,
//! paid once per scrape rather than once per observation.
//!
//! ## Memory per series
//!
//! | part | bytes |
//! | --- | --- |
//! | one shard: 10 bucket counters + 2 sum words = 96 bytes, padded to [`CachePadded`]'s 128 (x86_64, aarch64) | 128 × shards |
//! | the series header in its `Arc` (counts, two boxed labels, the shard slice) | 64 |
//! | the label bytes | `kind.len() + status.len()` |
//! | its entries in the label index (hash table slot + sorted list) | ≈ 17 |
//!
//! On a 2-core machine that is **≈ 340 bytes** per series plus its label
//! bytes; on 8 cores ≈ 1.1 KiB; at the 64-shard cap ≈ 8.3 KiB. With the
//! default limit of [`DEFAULT_MAX_SERIES`] series, the worst case on 8 cores
//! is about 1.1 MiB. The `memory_per_series_is_as_documented` test checks
//! the shard and header sizes.
//!
//! [`CachePadded`]: crossbeam_utils::CachePadded
//! [`DEFAULT_MAX_SERIES`]: crate::DEFAULT_MAX_SERIES
