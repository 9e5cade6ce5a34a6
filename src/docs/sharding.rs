//! # Why sharded, and what a series costs
//!
//! A histogram observation increments a bucket counter and adds to a sum.
//! If every thread did that with `fetch_add` on the same two atomics, each
//! one would pull the cache line away from the core that wrote it last: on a
//! 2-core machine two threads on one shared prometheus histogram handle
//! make about a quarter of one thread's throughput (`contended/prometheus/2`:
//! 0.17 to 0.91 ×, a median of 0.27 ×, in the 33 full runs of
//! `BENCHMARKS.md` and `benches/HISTORY.md`). And even uncontended, every locked read-modify-write
//! instruction costs about as much as the whole rest of an observation.
//!
//! So each series holds several **shards**, each a full set of counters
//! (its buckets, two words of sum) on [`CachePadded`] lines of its own:
//!
//! * **owned shards**, one per *slot* that writes the series. The process
//!   has `4 × available cores` slots, rounded up to a power of two, at
//!   most 64, unless [`set_shard_slots`](crate::set_shard_slots) set
//!   another count (1 to 64) before the first series was made; a counter
//!   keeps words for the first half of them (see
//!   [`families`](super::families)). A thread claims a free slot on its
//!   first observation (one compare-exchange per slot tried, once per
//!   thread lifetime) and releases
//!   it when it exits. While it holds slot `i` it is the only thread writing
//!   slot `i`'s shard of *any* histogram, so it updates that shard with
//!   plain atomic loads and stores, read exactly by a count check: no
//!   locked instruction, no contention, no retry. A series is made with one
//!   owned shard, which the first slot to record into it claims (one
//!   compare-exchange in the series' lifetime); each other slot's shard is
//!   made on its owner's first record there, in a table of the slots'
//!   shards made when a second slot records. Most series of a family of
//!   many are written by one thread or few, so they hold one shard or few,
//!   not one per slot of the process;
//! * **one shared shard**, for threads that found every slot taken (and for
//!   an owner while a scrape is reading its shard). It is updated with
//!   `fetch_add`s into the hot one of two halves, exact for any number of
//!   writers, only slower when many of them contend. It too is made on its
//!   first record: a series whose writers all own slots never holds one.
//!
//! Why four slots a core (two before 4663d9a): a service often runs more
//! observing threads than cores (a worker pool and a blocking pool), and
//! an observation into the shared shard costs three or more `fetch_add`s
//! where an owner's costs none. With two a core, 8 threads observing one
//! series on 2 cores left 4 of them on the shared shard:
//! `contended/rm_metrics/8` took 1.41 to 1.59 ms a round, against 0.75 to
//! 0.77 ms with four (builds alternated, two rounds each; 81 and 97 M
//! observations/s in the full runs at a5282be, 101 and 166 M in those at
//! cad9d97 and 4f45cb7, 39 and 40 M in those at 9a6a48e with two,
//! `BENCHMARKS.md`). Unused slots cost a series nothing but
//! their places in its table of shards, made when a second slot writes it
//! (24 bytes a slot); a counter keeps words for only the first half of
//! the slots (two a core, at most 32; its shared word then takes one
//! `fetch_add`), so that a counter's size does not double. A service with many more
//! observing threads than that, or one that would rather keep its series
//! small on a large machine, sets the count with
//! [`set_shard_slots`](crate::set_shard_slots) first thing in `main`.
//!
//! A scrape adds up the shards of a series, each read exactly (see
//! [`consistency`](super::consistency)): the price of sharding, paid once per
//! scrape rather than once per observation. It reads only the owned shards
//! some owner ever recorded into (a mask in the series, whose bit an owner
//! sets on its first record there), and the shared shard if one was made:
//! a series that one thread observes costs a scrape one shard, not one per
//! slot of the process. (With 64 slots, an encode of 4,000 histogram series each
//! written by one thread took 5.1 to 5.6 ms when it read every slot's
//! shard, 1.3 to 2.1 ms reading the written ones; with 4 slots, 1.12 to
//! 1.15 ms before, 1.02 to 1.03 ms after.)
//!
//! The owner of the first shard finds it in as many dependent loads as
//! when every slot's shard was made with the series, with one more load
//! (the claim, in the series' header) and a compare. The owners of the other slots load the table and
//! their place in it first. Measured (builds alternated, criterion,
//! three rounds each; 2 vCPUs, 4 slots) against a build that made every
//! shard with the series, with only the owned shards made on first record:
//! one thread observing one `Histogram` series 6.12–6.20 → 6.54–6.84 ns,
//! `rm_metrics_handle` 6.68–6.71 → 6.85–6.95 ns, `rm_metrics_native`
//! 9.70–9.78 → 9.36–9.41 ns; two threads on one series
//! (`contended/rm_metrics/2`, the second through the table) 108.8–111.9
//! → 116.7–125.3 µs a round; eight threads, and the `histograms_*` shapes
//! of `measured_workloads`, unchanged within the noise. Then the shared
//! shard made on first record too, against that build: `family_handle`
//! unchanged (6.52–6.53 → 6.52–6.55 ns), `rm_metrics_handle` 6.82–6.89 →
//! 6.49–6.58 ns, `contended/rm_metrics/8` (four threads through the
//! shared shard) unchanged, `histograms_high` 4.39–4.64 → 3.82–4.15 ms
//! an iteration (our reading: its encode no longer loads a line of each
//! series' shared shard, and its series take fewer lines).
//!
//! Slot hand-over is ordered by the slot flag (the owner's Release store on
//! exit, the next owner's Acquire compare-exchange), so a new owner continues
//! from the previous owner's counts. The loom model `slot_hand_over` checks
//! this.
//!
//! ## Memory per series
//!
//! A job series is a series of a [`DurationHistogram`](crate::DurationHistogram)
//! family (see [`families`](super::families) for every kind). On the job
//! ladder (9 bounds):
//!
//! | part | bytes |
//! | --- | --- |
//! | an owned shard: observation count, reader hint, 2 sum words, 10 bucket counters = 112 bytes, in one [`CachePadded`] line of 128 (x86_64, aarch64) | 128 × the slots that write it (at least one: the first shard is made with the series) |
//! | the table of the other slots' shards, once a second slot writes the series: a one-time cell (24 bytes) per slot | 0, or 24 × slots |
//! | the shared shard, once a thread without a slot (or an owner a scrape sends aside) writes the series: two halves of 13 words (one line each), its header (start counter, the readers' lock) and the last read | 0, or 256 + 96 + 80 |
//! | the series header in its `Arc` (shard pointers, the first shard's slot, the mask of written slots, the bounds' pointer and length, a pointer to the family's native part or none, hash, the label values: inline up to 52 bytes); the bounds in nanoseconds and the native part are the family's, shared by its series | 232 |
//! | its entries in the family's index (hash table slot + its place in the scrape's order) | ≈ 17 |
//!
//! So a series that one slot writes takes **≈ 380 bytes** (382 counted by
//! the allocator; 462 while each series kept a copy of the family's
//! native part, 88 bytes, used or not), its label values included,
//! whatever the number of slots; one that `w ≥ 2` slots write, 380 + 128
//! (w − 1) + 24 × slots, and 432 more once the shared shard is made: on a
//! 2-core machine (8 slots) at most ≈ 1,900 bytes, on 8 cores (32 slots)
//! at most ≈ 5.5 kB, at the 64-slot cap (16 cores and more) at most ≈
//! 10.4 kB (with 64 slots set on 2 cores and 64 threads writing each
//! series, the allocator counted 9,600 to 9,634 bytes a series for the
//! 63 other slots' shards and the table: `tests/slots.rs`). (When every
//! shard was made with the series: 1,230 bytes with 4 slots, 2.8 kB with
//! 16 and 8.9 kB with 64, whoever wrote it, with the header of then.)
//! With the
//! default limit of [`DEFAULT_MAX_SERIES`] series each written by one
//! thread, that is about 0.39 MB (1,024 × 382 bytes), on any machine. The
//! `family_memory_is_as_documented` test checks the struct sizes.
//!
//! Each thread also keeps a memo of 40 KiB per metric kind it observes
//! through labels, holding `Arc`s of up to 512 series, and copies of the
//! current index of up to 8 families per kind, which keep those indexes
//! (and their series) alive until the thread looks that family up again,
//! another family takes the copy's place, or the thread exits (see
//! [`families`](super::families)).
//!
//! [`CachePadded`]: crossbeam_utils::CachePadded
//! [`DEFAULT_MAX_SERIES`]: crate::DEFAULT_MAX_SERIES
