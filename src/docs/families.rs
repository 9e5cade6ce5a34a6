//! # Families: how a service's own metrics are stored and found
//!
//! A [`Registry`](crate::Registry) holds families in registration order
//! behind an arc-swapped list (a scrape never takes a lock to list them).
//! Each [`Family`](crate::Family) has its own index of label-value tuples
//! to series (`core/index.rs`): two tables behind one
//! [`ArcSwap`](arc_swap::ArcSwap), changed only under the family's
//! writers' lock. The *main* table, an immutable hash table, holds the
//! series as of the last merge; the *recent* one, an array of cells each
//! set once (`std`'s `OnceLock`), the series added since, filled in place.
//! An add sets one cell, and merges both tables into a new main table
//! (with fresh cells, published as a new index) when the recent series
//! reach an eighth of the main table's size (at least four times its
//! square root, and 32): the main table grows geometrically, so adding
//! `n` series one by one copies at most about nine entries an add, where
//! merging at four times the square root copied `√n / 4` on average
//! (`add/*` in the `compare` bench). A scrape that finds a family
//! unchanged since the previous scrape merges its recent series (when they
//! are at least a quarter of what an add merges at), so that the lookups
//! of a family that stopped changing find its series in the main table. A
//! removal marks the series removed (no lookup or scrape takes it again) and leaves it in its table until
//! a merge leaves it out; once removed series are a sixteenth of the
//! main table (at least 32), the removal merges (1,000 of 10,000
//! series removed one by one: 0.13 to 0.44 ms in the seventeen latest full runs,
//! where copying the main table on each removal took 100 ms; `remove/*`). The index a merge
//! replaces is dropped by the writers, under their lock, once no one else
//! holds it: dropping it releases every series of its table, and when an
//! observing thread's copy held the last reference, that thread did it on
//! its observe path (0.7 to 0.8 ms for the first observation after a
//! merge in a family of 20,000 series; 4.4 to 4.7 µs now). A scrape sees each family's series
//! whole, as of one state of the family, in byte order of their tuples:
//! the first scrape after a change collects and sorts them (taking no
//! lock; it collects again if the family changed meanwhile, and after
//! three tries under the writers' lock), and later scrapes reuse that
//! order until the family changes again.
//!
//! ## Finding a series
//!
//! 1. **This thread's memo** (`core/memo.rs`): one table of 512 entries
//!    per thread and metric kind. An entry is found from the family's id
//!    and a fingerprint of the values (their lengths and first and last
//!    eight bytes, no pass over whole strings), and hits only if the
//!    family's removal generation is unchanged and the values are equal:
//!    the first two values by their keys when they have up to 16 bytes,
//!    every other value compared with the series' own. A hit costs no
//!    atomic read-modify-write. A thread whose lookups mostly miss (a
//!    working set of thousands of label sets) consults its memo on only one
//!    lookup in 16 until the sampled hits are half or more again: a miss
//!    costs a probe and a cache miss for nothing.
//! 2. **The family's main table**, with a seeded hash of the values, read
//!    through this thread's copy of it (`core/index_cache.rs`, arc-swap's
//!    `Cache`): one plain load checks that the copy is current, where an
//!    arc-swap guard costs two locked instructions, and the copy is
//!    reloaded after a merge or a clear replaced the index (an add leaves
//!    it current); then, if the main table lacks the tuple (or holds it
//!    only marked removed), the recent cells of the same copy, probed from
//!    the hash until an empty cell. The series is then
//!    remembered if the lookup consulted the memo and it has a free place
//!    (when all four of a tuple's places are taken, one miss in 16
//!    evicts).
//! 3. **A new series**, added under the lock, or, with the family at its
//!    series limit, the overflow series.
//!
//! Every removal and clear bumps the family's generation after marking
//! and publishing (Release; lookups load it with Acquire before the index),
//! so no memo entry made before a removal is used after it: a removed
//! series is never found again, and a tuple that went to the overflow
//! series gets a series of its own once a removal makes room. A
//! [`Handle`](crate::Handle) skips all three steps.
//!
//! ## What a read guarantees
//!
//! * counters: a read adds the slot words; each only grows, so a later read
//!   never has less, and every increment that returned before the read is
//!   in it;
//! * histograms: exactly consistent, as the job histograms
//!   ([`consistency`](super::consistency)), with the protocol over shards
//!   of any width (`core/owned.rs`, `core/shared.rs`) and an `f64` sum: a
//!   read's sum is the sum of exactly the observations its counts hold
//!   (added in a different order than they were observed, so equal up to
//!   `f64` rounding; exactly equal for values whose partial sums are exact,
//!   as `tests/family_exact.rs` uses), and counts never go down;
//! * gauges: the last value set, or the result of the adds in some order.
//!
//! ## Memory per series
//!
//! With `s` shard slots (four per core, rounded up to a power of two; 8
//! on a 2-core machine, at most 64; or as many as
//! [`set_shard_slots`](crate::set_shard_slots) set, 1 to 64), `c` of them
//! with a word in every counter (the first half, rounded up: 4 on a
//! 2-core machine, at most 32) and 128-byte padded lines:
//!
//! | kind | storage | on 2 cores |
//! | --- | --- | --- |
//! | counter | `c + 1` words, in a block of `c + 1` padded lines shared by 16 counters of the family (see `core::columns`) | 40 B (the family's first counter allocates a block: 640 B) |
//! | gauge | one word, in the series header | 0 B |
//! | histogram, `b` bounds | an owned shard of `⌈(5 + b) / 16⌉` lines for each slot that writes it (the first made with the series, the others on their first record; see [`sharding`](super::sharding)), a table of 24 bytes a slot once a second slot writes it; once a thread without a slot (or an owner a scrape sends aside) writes it, the shared shard: two halves of `⌈(4 + b) / 16⌉` lines, a header (72 bytes; 96 for a duration histogram) and the last read (`8 (b + 1)` bytes) | one slot writing it: 128 B for `b` ≤ 11, on any number of slots; each other slot writing it adds 128 B, and the second 24 `s` B more; the shared shard 328 + 8 (b + 1) B (352 + 8 (b + 1) for durations) |
//! | native histogram, `b` bounds, `n` native counters | as a histogram of `b + n` bounds: `n` is 2 + the buckets [`Native::buckets`](crate::Native::buckets) keeps (twice those with negative buckets) | one slot writing it: 2,048 B for the restic ladder (`b` = 9) and `Native::new(0.001, 2^20)` at schema 3 (`n` = 242), on any number of slots (when every shard was made with the series: 14,376 B with 4 slots, 137 KB with 64); each other slot writing it adds 2,048 B, the shared shard 6,184 B |
//!
//! plus, for every series, its header in an `Arc` (the hash, the label
//! values, the metric struct: 128 bytes for a counter, 104 for a gauge,
//! 224 for a histogram, 280 for a native histogram, 232 for a duration
//! histogram, with native buckets or not: its native part is the
//! family's, shared), which holds the label values
//! themselves when there are at most six of at most 52 bytes in all (else
//! they take a separate buffer, and, past six values or 64 KiB, their
//! ends a `usize` each), and its
//! entries in the family's index (≈ 17 bytes; the recent cells add 16
//! bytes a cell, twice an eighth of the main table's size, rounded up to
//! a power of two: 64 KiB at 10,000 series, at most 8 bytes a series). So
//! on 2 cores a counter series costs about 210 bytes (the allocator
//! counted 209 a series for 4,000 counters with two 6-byte values, 290
//! with three values of 27 to 35 bytes, which take a buffer of their
//! own), a gauge about 130, a histogram of 9 bounds that one thread
//! writes about 370 (the allocator counted 374 a series for 4,000 series
//! with two values, and 320 more a series when a second thread wrote each
//! of them: its shard and the table of 8 slots' places; 224 with 4
//! slots) and a duration histogram of 9 bounds, as the restic-manager
//! job series, about 380 (382 counted), label values of up to 52 bytes
//! included; a native histogram as above about 2,350 (2,349 counted).
//! (When every shard was made with the series: 1,118, 1,230 and 14,629
//! counted with 4 slots; with 64 about 8,800, 8,900 and 137,500; with
//! the headers of then.)
//!
//! With 64 slots (set so on 2 cores, `tests/slots.rs`) the allocator
//! counted 420 to 421 bytes a counter series (its 33 words take 264 of
//! them; 394 in one run of twenty), 374 a 9-bound histogram series that one thread
//! writes and 382 a duration histogram series, as with 8 slots, 1,664
//! more a series when a second thread wrote each (its shard and the table
//! of 64 places), and 9,600 to 9,634 bytes more a duration histogram
//! series when 64 threads wrote each (63 shards and the table).
//!
//! A histogram family's bounds (and, for durations,
//! their nanoseconds) are allocated once and shared by its series. The test
//! `family_memory_is_as_documented` checks the struct sizes. Removed
//! series the main table still holds (marked, until the next merge) are
//! kept too: fewer than 32 or a sixteenth of the main table's entries
//! (the removed ones included), whichever is more (the unit test
//! `removed_series_held_stay_bounded` checks it through 6,667 removals).
//! An index a merge replaced (its table, and the removed series only it
//! held) stays allocated until the writers next take their lock after
//! its other holders let go: the writers, not an observer, drop it (see
//! below).
//!
//! Native histograms of a positive schema also share, per process, one
//! 8 KiB lookup table per schema in use (made on first use), and native
//! duration histograms one per schema from 0 (their bounds in
//! nanoseconds). Each native family also keeps one map, shared by its
//! series, of the classic bucket of each native counter: 4 bytes a
//! counter (968 bytes for the 242 above).
//!
//! Exemplars cost nothing until a series gets its first: then a counter
//! allocates one 128-byte cell, a histogram one per bucket (`128 (b + 1)`
//! bytes); a cell that ever takes an exemplar longer than 96 bytes as
//! written (`name="value"` pairs; for values with a `\`, `"` or line feed,
//! counted with every value byte escaped) allocates 640 more, once.
//!
//! Counters are sharded for the contended case (many threads on one
//! series). Their words are packed: sixteen counters of a family share one
//! line per slot, which only that slot's owner writes, so a thread that
//! increments thousands of counters touches one line per sixteen of them.
//! 4,000 counter series take about 0.7 MiB on 2 cores, their words 160 KB
//! of it; with a padded line per word they took 2.9 MiB (see the
//! `measured_workloads` rows of `BENCHMARKS.md`).
