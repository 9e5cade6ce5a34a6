//! # Why sharded, and what a series costs
//!
//! A histogram observation increments a bucket counter and adds to a sum.
//! If every thread did that with `fetch_add` on the same two atomics, each
//! one would pull the cache line away from the core that wrote it last: on a
//! 2-core machine one shared prometheus histogram handle runs at about a
//! ninth of its single-thread throughput when two threads use it (see
//! `BENCHMARKS.md`). And even uncontended, every locked read-modify-write
//! instruction costs about as much as the whole rest of an observation.
//!
//! So each series holds several **shards**, each a full set of counters (ten
//! buckets, two words of sum) in its own [`CachePadded`] slot:
//!
//! * **owned shards**, one per *slot*. The process has
//!   `2 × available cores` slots, rounded up to a power of two, at most 64. A
//!   thread claims a free slot on its first observation (one
//!   compare-exchange per slot tried, once per thread lifetime) and releases
//!   it when it exits. While it holds slot `i` it is the only thread writing
//!   shard `i` of *any* histogram, so it updates that shard with plain atomic
//!   loads and stores: no locked instruction, no contention, no retry;
//! * **one shared shard**, for threads that found every slot taken. It is
//!   updated with `fetch_add`, exact for any number of writers, only slower
//!   when many of them contend.
//!
//! A scrape adds up all shards of a series: the price of sharding, paid once
//! per scrape rather than once per observation.
//!
//! Slot hand-over is ordered by the slot flag (the owner's Release store on
//! exit, the next owner's Acquire compare-exchange), so a new owner continues
//! from the previous owner's counts. The loom model `slot_hand_over` checks
//! this.
//!
//! ## Memory per series
//!
//! | part | bytes |
//! | --- | --- |
//! | one shard: 10 bucket counters + 2 sum words = 96 bytes, padded to [`CachePadded`]'s 128 (x86_64, aarch64) | 128 × (slots + 1) |
//! | the series header in its `Arc` (counts, two boxed labels, the shard slice) | 64 |
//! | the label bytes | `kind.len() + status.len()` |
//! | its entries in the label index (hash table slot + sorted list) | ≈ 17 |
//!
//! On a 2-core machine (4 slots) that is **≈ 720 bytes** per series plus its
//! label bytes; on 8 cores (16 slots) ≈ 2.3 KiB; at the 64-slot cap
//! ≈ 8.4 KiB. With the default limit of [`DEFAULT_MAX_SERIES`] series the
//! worst case on 8 cores is about 2.3 MiB. The
//! `memory_per_series_is_as_documented` test checks the shard and header
//! sizes.
//!
//! Each thread also keeps a cache of the label index of the registry it
//! observed into last ([`arc_swap::Cache`]); it holds that index (not the
//! registry) alive until the thread observes into another registry or exits,
//! and a memo of about 4 KiB in front of it (see [`lookup`](super::lookup)).
//!
//! [`CachePadded`]: crossbeam_utils::CachePadded
//! [`DEFAULT_MAX_SERIES`]: crate::DEFAULT_MAX_SERIES
